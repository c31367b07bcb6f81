/*
 * attr.c - struct stat <-> FILE_STAT_LX_INFORMATION, and the caching policy
 * the current stack implies.
 *
 * NT times count 100 ns; Linux times count nanoseconds.  A time a filter
 * left unchanged keeps the file system's full precision on the way back, so
 * an unfiltered stat is byte-for-byte the underlying one.
 */
#include "iomgr/iomgr.h"
#include "rtl/rtl.h"

#include <string.h>
#include <sys/sysmacros.h>

LONGLONG io_ts_to_nt(const struct timespec *ts)
{
	return rtl_timespec_to_nt(ts);
}

void io_nt_to_ts(LONGLONG nt, struct timespec *ts)
{
	rtl_nt_to_timespec(nt, ts);
}

ULONG io_reparse_tag(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFLNK:
		return IO_REPARSE_TAG_LX_SYMLINK;
	case S_IFIFO:
		return IO_REPARSE_TAG_LX_FIFO;
	case S_IFSOCK:
		return IO_REPARSE_TAG_AF_UNIX;
	case S_IFCHR:
		return IO_REPARSE_TAG_LX_CHR;
	case S_IFBLK:
		return IO_REPARSE_TAG_LX_BLK;
	}
	return 0;
}

void io_stat_to_lx(const struct stat *st, FILE_STAT_LX_INFORMATION *lx)
{
	memset(lx, 0, sizeof(*lx));
	lx->FileId.QuadPart = (LONGLONG)st->st_ino;
	/* Linux keeps no creation time in struct stat; ctime stands in. */
	lx->CreationTime.QuadPart = io_ts_to_nt(&st->st_ctim);
	lx->LastAccessTime.QuadPart = io_ts_to_nt(&st->st_atim);
	lx->LastWriteTime.QuadPart = io_ts_to_nt(&st->st_mtim);
	lx->ChangeTime.QuadPart = io_ts_to_nt(&st->st_ctim);
	lx->AllocationSize.QuadPart = (LONGLONG)st->st_blocks * 512;
	lx->EndOfFile.QuadPart = st->st_size;
	lx->ReparseTag = io_reparse_tag(st->st_mode);
	if (S_ISDIR(st->st_mode))
		lx->FileAttributes |= FILE_ATTRIBUTE_DIRECTORY;
	if (lx->ReparseTag)
		lx->FileAttributes |= FILE_ATTRIBUTE_REPARSE_POINT;
	if (!(st->st_mode & 0222))
		lx->FileAttributes |= FILE_ATTRIBUTE_READONLY;
	if ((LONGLONG)st->st_blocks * 512 < st->st_size)
		lx->FileAttributes |= FILE_ATTRIBUTE_SPARSE_FILE;
	if (!lx->FileAttributes)
		lx->FileAttributes = FILE_ATTRIBUTE_NORMAL;
	lx->NumberOfLinks = (ULONG)st->st_nlink;
	lx->LxFlags = LX_FILE_METADATA_HAS_UID | LX_FILE_METADATA_HAS_GID |
		      LX_FILE_METADATA_HAS_MODE;
	lx->LxUid = st->st_uid;
	lx->LxGid = st->st_gid;
	lx->LxMode = st->st_mode;
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
		lx->LxFlags |= LX_FILE_METADATA_HAS_DEVICE_ID;
		lx->LxDeviceIdMajor = major(st->st_rdev);
		lx->LxDeviceIdMinor = minor(st->st_rdev);
	}
}

static void io_time_back(LONGLONG nt, const struct timespec *orig,
			 struct timespec *out)
{
	if (orig && io_ts_to_nt(orig) == nt)
		*out = *orig;
	else
		io_nt_to_ts(nt, out);
}

void io_lx_to_stat(const FILE_STAT_LX_INFORMATION *lx, const struct stat *orig,
		   struct stat *out)
{
	if (orig)
		*out = *orig;
	else
		memset(out, 0, sizeof(*out));
	out->st_ino = (ino_t)lx->FileId.QuadPart;
	out->st_size = lx->EndOfFile.QuadPart;
	if (!orig || (LONGLONG)orig->st_blocks * 512 != lx->AllocationSize.QuadPart)
		out->st_blocks = (blkcnt_t)((lx->AllocationSize.QuadPart + 511) / 512);
	out->st_nlink = lx->NumberOfLinks;
	out->st_uid = lx->LxUid;
	out->st_gid = lx->LxGid;
	out->st_mode = lx->LxMode;
	if (lx->LxFlags & LX_FILE_METADATA_HAS_DEVICE_ID)
		out->st_rdev = makedev(lx->LxDeviceIdMajor, lx->LxDeviceIdMinor);
	io_time_back(lx->LastAccessTime.QuadPart, orig ? &orig->st_atim : NULL,
		     &out->st_atim);
	io_time_back(lx->LastWriteTime.QuadPart, orig ? &orig->st_mtim : NULL,
		     &out->st_mtim);
	io_time_back(lx->ChangeTime.QuadPart, orig ? &orig->st_ctim : NULL,
		     &out->st_ctim);
	if (!orig)
		out->st_blksize = 4096;
}

/* Caching follows registrations: see docs/caching.md. */
double io_stack_attr_timeout(const struct fm_stack *s)
{
	return s->uncached_query ? 0.0 : 1.0;
}

double io_attr_timeout(struct io_volume *v)
{
	struct fm_stack *s = fm_stack_get(v->fm);
	double t = io_stack_attr_timeout(s);

	fm_stack_put(v->fm, s);
	return t;
}

double io_entry_timeout(struct io_volume *v)
{
	(void)v;
	return 1.0;
}

bool io_uncached_read(struct io_volume *v)
{
	struct fm_stack *s = fm_stack_get(v->fm);
	bool r = s->uncached_read;

	fm_stack_put(v->fm, s);
	return r;
}

int io_make_entry(struct io_volume *v, struct fsb_inode *parent,
		  const char *name, struct fuse_entry_param *e)
{
	struct fsb_inode *in;
	int err;

	memset(e, 0, sizeof(*e));
	err = fsb_lookup(&v->fs, parent, name, &e->attr, &in);
	if (err < 0)
		return err;
	e->ino = (fuse_ino_t)(uintptr_t)in;
	e->attr_timeout = io_attr_timeout(v);
	e->entry_timeout = io_entry_timeout(v);
	return 0;
}
