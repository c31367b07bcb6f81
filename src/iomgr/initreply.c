/*
 * initreply.c - asks the kernel for what libfuse 3.14 cannot request: its
 * INIT reply is built from a 32-bit want mask that has no bit for either.
 *
 * FUSE_DIRECT_IO_ALLOW_MMAP: files are opened with FOPEN_DIRECT_IO while a
 * filter watches cached reads, and without it the kernel refuses shared
 * mappings of such files (ENODEV), so programs that mmap (sqlite's WAL
 * index, editors, linkers) would fail on a filtered volume.
 *
 * FUSE_HANDLE_KILLPRIV_V2: the server drops set-id bits on write, truncate
 * and chown (setid.c does), and the kernel sets SB_NOSEC on the mount.
 * Without it, the kernel asks for security.capability (a GETXATTR round
 * trip) before every cached write(2) to learn whether the write must remove
 * it, because nothing lets it remember the answer; with SB_NOSEC it asks
 * once per inode and remembers that there is nothing to remove until the
 * attributes change.  It also stops refreshing the attributes (a GETATTR)
 * before every chown.
 *
 * The daemon provides writev(), which libfuse uses to send replies, and
 * sets the bits in the one message that matters: the first successful reply
 * on a volume's /dev/fuse descriptor, which is always the INIT reply.  Every
 * other write passes through untouched.  When libfuse learns the
 * capabilities this file goes away.
 */
#include "iomgr/iomgr.h"

#include <linux/fuse.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef FUSE_HANDLE_KILLPRIV_V2
#define FUSE_HANDLE_KILLPRIV_V2 (1 << 28)
#endif
#ifndef FUSE_DIRECT_IO_ALLOW_MMAP
#define FUSE_DIRECT_IO_ALLOW_MMAP (1ULL << 36)
#endif

#define IO_INIT_SLOTS 64

/* Descriptors whose INIT reply has not gone out yet; -1 = free slot. */
static atomic_int io_init_pending[IO_INIT_SLOTS] = {
	[0 ... IO_INIT_SLOTS - 1] = -1
};

void io_initreply_expect(int fd)
{
	unsigned i;

	for (i = 0; i < IO_INIT_SLOTS; i++) {
		int free_slot = -1;

		if (atomic_compare_exchange_strong(&io_init_pending[i], &free_slot, fd))
			return;
	}
}

static bool io_initreply_take(int fd)
{
	unsigned i;

	for (i = 0; i < IO_INIT_SLOTS; i++) {
		int expected = fd;

		if (atomic_load_explicit(&io_init_pending[i], memory_order_relaxed) == fd &&
		    atomic_compare_exchange_strong(&io_init_pending[i], &expected, -1))
			return true;
	}
	return false;
}

__attribute__((visibility("default"))) ssize_t
writev(int fd, const struct iovec *iov, int iovcnt)
{
	if (iovcnt >= 2 && iov[0].iov_len == sizeof(struct fuse_out_header) &&
	    iov[1].iov_len >= offsetof(struct fuse_init_out, flags2) + sizeof(uint32_t) &&
	    ((const struct fuse_out_header *)iov[0].iov_base)->error == 0 &&
	    io_initreply_take(fd)) {
		struct fuse_init_out *out = iov[1].iov_base;

		out->flags |= FUSE_INIT_EXT | FUSE_HANDLE_KILLPRIV_V2;
		out->flags2 |= (uint32_t)(FUSE_DIRECT_IO_ALLOW_MMAP >> 32);
	}
	return syscall(SYS_writev, fd, iov, iovcnt);
}
