/*
 * backup.c - the backup minifilter: every file's previous content kept
 * before it changes, restorable by its users (docs/backup.md).
 *
 * Seed 000's backup design: the filter watches IRP_MJ_CREATE and
 * IRP_MJ_WRITE, plus IRP_MJ_SET_INFORMATION for the changes Linux makes by
 * name; the end of a cycle, IRP_MJ_CLEANUP and IRP_MJ_CLOSE, needs no
 * callback, since the stream handle context that marks the cycle goes
 * with the file object (no callback: no dispatch on every close).  Before the
 * first change of each open/modify cycle it copies the file's current
 * content into the volume's version store (store.h): a reflink when the
 * store shares the file system, a copy otherwise, both done below this
 * filter through FltFsControlFile(FSCTL_LX_COPY_TO_DESCRIPTOR), or read
 * with FltReadFile when a lower filter refuses the raw copy.  A file about
 * to be deleted or replaced is linked into the store instead
 * (FSCTL_LX_LINK_TO_DIRECTORY: no copy at all), and the version confirmed
 * in the post-operation (withdrawn if the change failed).  A cycle is
 * one open file: its stream handle context remembers that the cycle's
 * version is kept, until the file object's CLEANUP and CLOSE.
 *
 * The triggers:
 *   first WRITE (paging writes included: mmap write-back; the filter
 *     registers with SKIP_CACHED_IO, so each write(2) is seen once, as the
 *     paging write that reaches the disk, and the page cache stays on);
 *   a CREATE that truncates or supersedes (O_TRUNC);
 *   SET_INFORMATION FileEndOfFileInformation / FileAllocationInformation
 *     (truncate(2), ftruncate(2));
 *   SET_INFORMATION FileDispositionInformation(Ex) (unlink of the last
 *     link: the content would be gone);
 *   SET_INFORMATION FileRenameInformation(Ex) replacing an existing file
 *     (the editor's "write a temporary file, rename it over" save).
 *
 * A version that cannot be kept never fails the program's operation,
 * except under WhenFull=deny when the store is full.
 *
 * The program waits until its version is captured (store.h: Durability);
 * with Durability=flush, IRP_MJ_FLUSH_BUFFERS (fsync, fdatasync, msync)
 * and the first write through a write-through handle wait until the
 * versions captured so far are durable.
 */
#include <fltKernel.h>

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup.h"

DRIVER_INITIALIZE DriverEntry __attribute__((visibility("default")));

struct bk_globals bk = { .lock = PTHREAD_MUTEX_INITIALIZER };

#define BK_COPY_CHUNK (1u << 20)

/* ---- Contexts -------------------------------------------------------------- */

/* Instance context: the volume it serves (one reference). */
typedef struct _BK_INSTANCE_CONTEXT {
	struct bk_volume *Volume;
} BK_INSTANCE_CONTEXT, *PBK_INSTANCE_CONTEXT;

/* Stream handle context: the open/modify cycle of one open file (file
 * object), from its CREATE to its CLEANUP and CLOSE. */
typedef struct _BK_HANDLE_CONTEXT {
	pthread_mutex_t Lock;
	BOOLEAN Kept; /* this cycle's version is kept (or nothing to keep) */
} BK_HANDLE_CONTEXT, *PBK_HANDLE_CONTEXT;

/* Stream context: a file deleted or replaced whose last content was linked
 * into the store (bk_confirm_link), so that the version is still the
 * file's inode.  A program can reach that inode again without an open the
 * volume saw at the delete: through an O_PATH descriptor (which the kernel
 * does not report) reopened by /proc/PID/fd.  Before such a change the
 * version gets its own copy (bk_deleted_change).  Counted in
 * bk.deleted_streams while it lives, which is until the kernel forgets the
 * file. */
typedef struct _BK_STREAM_CONTEXT {
	pthread_mutex_t Lock;
	BOOLEAN Shared; /* the version still is this file's inode */
	uint64_t Size;
	char Object[BK_OBJECT_MAX];
} BK_STREAM_CONTEXT, *PBK_STREAM_CONTEXT;

static VOID FLTAPI bk_context_cleanup(PFLT_CONTEXT Context,
				      FLT_CONTEXT_TYPE ContextType)
{
	if (ContextType == FLT_INSTANCE_CONTEXT) {
		PBK_INSTANCE_CONTEXT ic = Context;

		if (ic->Volume)
			bk_volume_put(ic->Volume);
	} else if (ContextType == FLT_STREAMHANDLE_CONTEXT) {
		PBK_HANDLE_CONTEXT hc = Context;

		pthread_mutex_destroy(&hc->Lock);
	} else if (ContextType == FLT_STREAM_CONTEXT) {
		PBK_STREAM_CONTEXT sc = Context;

		pthread_mutex_destroy(&sc->Lock);
		atomic_fetch_sub(&bk.deleted_streams, 1);
	}
}

static const FLT_CONTEXT_REGISTRATION bk_contexts[] = {
	{ FLT_INSTANCE_CONTEXT, 0, bk_context_cleanup,
	  sizeof(BK_INSTANCE_CONTEXT), BK_TAG },
	{ FLT_STREAMHANDLE_CONTEXT, 0, bk_context_cleanup,
	  sizeof(BK_HANDLE_CONTEXT), BK_TAG },
	{ FLT_STREAM_CONTEXT, 0, bk_context_cleanup,
	  sizeof(BK_STREAM_CONTEXT), BK_TAG },
	{ FLT_CONTEXT_END }
};

/* The handle context of fo, created if Create and fo has none. */
static PBK_HANDLE_CONTEXT bk_handle(PFLT_INSTANCE Instance, PFILE_OBJECT fo,
				    BOOLEAN Create)
{
	PBK_HANDLE_CONTEXT hc = NULL, old = NULL;
	NTSTATUS st;

	st = FltGetStreamHandleContext(Instance, fo, (PFLT_CONTEXT *)&hc);
	if (NT_SUCCESS(st) || !Create)
		return NT_SUCCESS(st) ? hc : NULL;
	st = FltAllocateContext(bk.filter, FLT_STREAMHANDLE_CONTEXT, sizeof(*hc),
				NonPagedPool, (PFLT_CONTEXT *)&hc);
	if (!NT_SUCCESS(st))
		return NULL;
	memset(hc, 0, sizeof(*hc));
	pthread_mutex_init(&hc->Lock, NULL);
	st = FltSetStreamHandleContext(Instance, fo, FLT_SET_CONTEXT_KEEP_IF_EXISTS,
				       hc, (PFLT_CONTEXT *)&old);
	if (st == STATUS_FLT_CONTEXT_ALREADY_DEFINED) {
		FltReleaseContext(hc);
		return old;
	}
	if (!NT_SUCCESS(st)) {
		FltReleaseContext(hc);
		return NULL;
	}
	return hc; /* the allocation's reference is the caller's */
}

static struct bk_volume *bk_volume_of(PFLT_INSTANCE Instance)
{
	PBK_INSTANCE_CONTEXT ic = NULL;
	struct bk_volume *v = NULL;

	if (!NT_SUCCESS(FltGetInstanceContext(Instance, (PFLT_CONTEXT *)&ic)))
		return NULL;
	pthread_mutex_lock(&bk.lock);
	if (ic->Volume && !ic->Volume->gone) {
		v = ic->Volume;
		v->refs++;
	}
	pthread_mutex_unlock(&bk.lock);
	FltReleaseContext(ic);
	return v;
}

/* ---- The volume list ---------------------------------------------------------- */

static void bk_volume_free(struct bk_volume *v)
{
	struct bk_store_stats st;

	if (v->store) {
		/* For the unload line (the close's own last sync aside). */
		bk_store_stats(v->store, &st);
		atomic_fetch_add(&bk.stats.syncs_files, st.syncs_files);
		atomic_fetch_add(&bk.stats.syncs_full, st.syncs_full);
		atomic_fetch_add(&bk.stats.syncs_ordered, st.syncs_ordered);
		atomic_fetch_add(&bk.stats.deduped, st.deduped);
		atomic_fetch_add(&bk.stats.staged, st.staged);
		atomic_fetch_add(&bk.stats.staging_full, st.staging_full);
		bk_store_close(v->store);
	}
	free(v);
}

void bk_volume_put(struct bk_volume *v)
{
	bool last;

	if (!v)
		return;
	pthread_mutex_lock(&bk.lock);
	last = --v->refs == 0;
	if (last) {
		struct bk_volume **pp;

		for (pp = &bk.volumes; *pp; pp = &(*pp)->next)
			if (*pp == v) {
				*pp = v->next;
				break;
			}
	}
	pthread_mutex_unlock(&bk.lock);
	if (last)
		bk_volume_free(v);
}

struct bk_volume *bk_volume_find(const char *abs, const char **rel)
{
	struct bk_volume *v, *best = NULL;
	size_t best_len = 0;

	pthread_mutex_lock(&bk.lock);
	for (v = bk.volumes; v; v = v->next) {
		size_t n = strlen(v->root);

		if (v->gone || strncmp(abs, v->root, n) ||
		    (abs[n] != '/' && abs[n] != 0 && strcmp(v->root, "/")))
			continue;
		if (!best || n > best_len) {
			best = v;
			best_len = n;
		}
	}
	if (best) {
		best->refs++;
		if (rel) {
			const char *r = abs + (strcmp(best->root, "/") ? best_len : 0);

			*rel = *r ? r : "/";
		}
	}
	pthread_mutex_unlock(&bk.lock);
	return best;
}

struct bk_volume *bk_volume_next(struct bk_volume *prev)
{
	struct bk_volume *v;

	pthread_mutex_lock(&bk.lock);
	v = prev ? prev->next : bk.volumes;
	while (v && v->gone)
		v = v->next;
	if (v)
		v->refs++;
	pthread_mutex_unlock(&bk.lock);
	if (prev)
		bk_volume_put(prev);
	return v;
}

/* ---- Names ----------------------------------------------------------------------- */

/* UTF-16 volume-relative name ("\dir\file") from UTF-8 "/dir/file". */
static NTSTATUS bk_wide_name(const char *rel, UNICODE_STRING *out, WCHAR *buf,
			     ULONG cap_bytes)
{
	ULONG len = 0, i;
	NTSTATUS st;

	st = RtlUTF8ToUnicodeN(buf, cap_bytes, &len, rel, (ULONG)strlen(rel));
	if (!NT_SUCCESS(st))
		return st;
	for (i = 0; i < len / sizeof(WCHAR); i++)
		if (buf[i] == L'/')
			buf[i] = L'\\';
	out->Buffer = buf;
	out->Length = out->MaximumLength = (USHORT)len;
	return STATUS_SUCCESS;
}

/* "/dir/file" from a name "\Device\<volume>\dir\file" (or "\dir\file"). */
static bool bk_rel_from_name(PCUNICODE_STRING name, PCUNICODE_STRING volume,
			     char *out, size_t cap)
{
	const WCHAR *w = name->Buffer;
	ULONG n = name->Length / sizeof(WCHAR), len = 0, i;

	if (volume && volume->Length && name->Length >= volume->Length &&
	    !memcmp(w, volume->Buffer, volume->Length)) {
		w += volume->Length / sizeof(WCHAR);
		n -= volume->Length / sizeof(WCHAR);
	}
	if (!n) {
		snprintf(out, cap, "/");
		return true;
	}
	if (!NT_SUCCESS(RtlUnicodeToUTF8N(out, (ULONG)cap - 1, &len, w,
					  n * sizeof(WCHAR))))
		return false;
	out[len] = 0;
	for (i = 0; i < len; i++)
		if (out[i] == '\\')
			out[i] = '/';
	return out[0] == '/';
}

/* The volume-relative path of Data's target. */
static bool bk_data_path(PFLT_CALLBACK_DATA Data, char *out, size_t cap)
{
	PFLT_FILE_NAME_INFORMATION ni = NULL;
	bool ok;

	if (!NT_SUCCESS(FltGetFileNameInformation(
		    Data, FLT_FILE_NAME_NORMALIZED | FLT_FILE_NAME_QUERY_DEFAULT,
		    &ni)))
		return false;
	ok = bk_rel_from_name(&ni->Name, &ni->Volume, out, cap);
	FltReleaseFileNameInformation(ni);
	return ok;
}

/* ---- Opening a file below the filter ----------------------------------------------- */

struct bk_open {
	HANDLE h;
	PFILE_OBJECT fo;
};

static NTSTATUS bk_open_rel(struct bk_volume *v, const char *rel, ACCESS_MASK access,
			    struct bk_open *o)
{
	WCHAR buf[BK_PATH_MAX];
	UNICODE_STRING name;
	OBJECT_ATTRIBUTES oa;
	IO_STATUS_BLOCK iosb;
	NTSTATUS st;

	o->h = NULL;
	o->fo = NULL;
	st = bk_wide_name(rel, &name, buf, sizeof(buf));
	if (!NT_SUCCESS(st))
		return st;
	InitializeObjectAttributes(&oa, &name, OBJ_KERNEL_HANDLE, NULL, NULL);
	return FltCreateFileEx2(bk.filter, v->instance, &o->h, &o->fo, access,
				&oa, &iosb, NULL, 0,
				FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
				FILE_OPEN, FILE_OPEN_REPARSE_POINT, NULL, 0, 0,
				NULL);
}

static void bk_close(struct bk_open *o)
{
	if (o->h)
		FltClose(o->h);
	if (o->fo)
		ObDereferenceObject(o->fo);
	o->h = NULL;
	o->fo = NULL;
}

bool bk_path_exists(struct bk_volume *v, const char *rel)
{
	struct bk_open o;

	if (!NT_SUCCESS(bk_open_rel(v, rel, FILE_READ_ATTRIBUTES, &o)))
		return false;
	bk_close(&o);
	return true;
}

/* ---- Keeping a version ------------------------------------------------------------ */

static int64_t bk_nt_to_ns(LONGLONG t)
{
	return (t - 116444736000000000LL) * 100;
}

static int64_t bk_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Process names by pid, kept for a second: a program making many
 * versions is looked up in /proc once, not once a version. */
#define BK_COMM_SLOTS 64
static struct {
	pthread_mutex_t lock;
	struct {
		uint32_t pid;
		int64_t when;
		char comm[BK_COMM_MAX];
	} slot[BK_COMM_SLOTS];
} bk_comms = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void bk_comm(uint32_t pid, char *out)
{
	unsigned i = pid % BK_COMM_SLOTS;
	int64_t now = bk_now_ns();
	char p[64];
	ssize_t n;
	int fd;

	out[0] = 0;
	if (!pid)
		return;
	pthread_mutex_lock(&bk_comms.lock);
	if (bk_comms.slot[i].pid == pid &&
	    now - bk_comms.slot[i].when < 1000000000LL) {
		memcpy(out, bk_comms.slot[i].comm, BK_COMM_MAX);
		pthread_mutex_unlock(&bk_comms.lock);
		return;
	}
	pthread_mutex_unlock(&bk_comms.lock);
	snprintf(p, sizeof(p), "/proc/%u/comm", pid);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, out, BK_COMM_MAX - 1);
	close(fd);
	if (n <= 0)
		n = 0;
	out[n] = 0;
	if (n && out[n - 1] == '\n')
		out[n - 1] = 0;
	pthread_mutex_lock(&bk_comms.lock);
	bk_comms.slot[i].pid = pid;
	bk_comms.slot[i].when = now;
	memcpy(bk_comms.slot[i].comm, out, BK_COMM_MAX);
	pthread_mutex_unlock(&bk_comms.lock);
}

/* The content of fo into fd: raw copy below the filter, or read/write when
 * a lower filter refuses it. */
static NTSTATUS bk_copy(PFLT_INSTANCE Instance, PFILE_OBJECT fo, int fd,
			LX_COPY_TO_DESCRIPTOR_OUTPUT *outp, uint32_t *method)
{
	LX_COPY_TO_DESCRIPTOR_INPUT in = { .TargetDescriptor = fd };
	LX_COPY_TO_DESCRIPTOR_OUTPUT out = { 0 };
	LARGE_INTEGER off;
	ULONG got = 0;
	char *buf;
	NTSTATUS st;
	bool direct;
	int fl;

	in.Flags = bk.copy_only ? LX_COPY_NO_CLONE : bk.clone_only ? LX_COPY_CLONE_ONLY : 0;
	fl = fcntl(fd, F_GETFL);
	/* A copy goes straight to the disk (O_DIRECT): it does not double
	 * the page cache the file takes, and a sync has no data of it left
	 * to write.  Where the store's file system refuses, as it is. */
	direct = !bk.clone_only && fl >= 0 && fcntl(fd, F_SETFL, fl | O_DIRECT) == 0;
	st = FltFsControlFile(Instance, fo, FSCTL_LX_COPY_TO_DESCRIPTOR, &in,
			      sizeof(in), &out, sizeof(out), NULL);
	if (direct)
		fcntl(fd, F_SETFL, fl);
	if (NT_SUCCESS(st)) {
		*method = out.Method == LX_COPY_METHOD_CLONE ? BK_METHOD_CLONE
							    : BK_METHOD_COPY;
		atomic_fetch_add(out.Method == LX_COPY_METHOD_CLONE ? &bk.stats.cloned
								    : &bk.stats.copied,
				 1);
		*outp = out;
		return STATUS_SUCCESS;
	}
	if (st != STATUS_INVALID_DEVICE_REQUEST || bk.clone_only)
		return st;
	/* A lower filter changes the data: copy what it reads. */
	buf = malloc(BK_COPY_CHUNK);
	if (!buf)
		return STATUS_INSUFFICIENT_RESOURCES;
	{
		struct stat tst;

		/* The target is fresh; empty it only if a raw copy left bytes. */
		if (fstat(fd, &tst) < 0 || (tst.st_size && ftruncate(fd, 0) < 0)) {
			free(buf);
			return STATUS_IO_DEVICE_ERROR;
		}
	}
	off.QuadPart = 0;
	for (;;) {
		st = FltReadFile(Instance, fo, &off, BK_COPY_CHUNK, buf,
				 FLTFL_IO_OPERATION_DO_NOT_UPDATE_BYTE_OFFSET, &got,
				 NULL, NULL);
		if (st == STATUS_END_OF_FILE || (NT_SUCCESS(st) && !got)) {
			st = STATUS_SUCCESS;
			break;
		}
		if (!NT_SUCCESS(st))
			break;
		if (pwrite(fd, buf, got, off.QuadPart) != (ssize_t)got) {
			st = STATUS_DISK_FULL;
			break;
		}
		off.QuadPart += got;
	}
	free(buf);
	outp->Consistent = TRUE; /* as far as the lower filter's reads go */
	outp->BytesCopied = off;
	*method = BK_METHOD_COPY;
	atomic_fetch_add(&bk.stats.copied, 1);
	return st;
}

/*
 * The content of fo into the store's staging area (store.h: bk_store_stage):
 * the program then waits for a memory copy, not for the disk.  Only where
 * versions are copies anyway.  STATUS_SUCCESS with *staged, or
 * STATUS_SUCCESS without it when the copy must go to p->fd (no room, too
 * large, grew past its room, a lower filter that changes data), or the
 * copy's failure.
 */
static NTSTATUS bk_copy_staged(struct bk_volume *v, PFLT_INSTANCE Instance,
			       PFILE_OBJECT fo, struct bk_pending *p, uint64_t size,
			       LX_COPY_TO_DESCRIPTOR_OUTPUT *outp, uint32_t *method,
			       bool *staged)
{
	LX_COPY_TO_DESCRIPTOR_INPUT_EX in = { .TargetDescriptor = -1,
					      .Flags = LX_COPY_TO_MEMORY };
	LX_COPY_TO_DESCRIPTOR_OUTPUT out = { 0 };
	uint64_t cap;
	NTSTATUS st;
	void *mem;

	*staged = false;
	if (bk.clone_only || (!bk.copy_only && !atomic_load(&v->copies)) ||
	    bk_store_begin_staged(v->store, p, size, &mem, &cap))
		return STATUS_SUCCESS;
	/* Read straight into the area's mapping: one copy of the bytes. */
	in.TargetBuffer = mem;
	in.MaxLength.QuadPart = (LONGLONG)cap;
	st = FltFsControlFile(Instance, fo, FSCTL_LX_COPY_TO_DESCRIPTOR, &in,
			      sizeof(in), &out, sizeof(out), NULL);
	if (!NT_SUCCESS(st)) {
		bk_store_abort(v->store, p);
		return st == STATUS_BUFFER_OVERFLOW ||
				       st == STATUS_INVALID_DEVICE_REQUEST
			       ? STATUS_SUCCESS
			       : st;
	}
	p->staged_len = (uint64_t)out.BytesCopied.QuadPart;
	*method = BK_METHOD_COPY;
	atomic_fetch_add(&bk.stats.copied, 1);
	*outp = out;
	*staged = true;
	return STATUS_SUCCESS;
}

/*
 * A file about to be deleted or replaced, linked into the store below the
 * filter instead of copied (store.h: bk_store_begin_link).  The version is
 * then confirmed after the change (bk_post_set_information), through the
 * file object it was linked through: the delete's own (bk_keep_deleted),
 * or the handle the filter opened, which stays open until then.
 */
struct bk_linked {
	struct bk_volume *v; /* the pre-operation's reference */
	HANDLE h; /* NULL when fo is the operation's own (nothing to close) */
	PFILE_OBJECT fo;
	char object[BK_OBJECT_MAX];
	uint64_t size;
	/* For bk_keep: when the file cannot be linked, keep nothing and say
	 * so (BK_NOT_LINKED): the caller copies it through an open of its
	 * own. */
	bool link_only;
};

/* bk_keep's answer when link_only and the file could not be linked. */
#define BK_NOT_LINKED STATUS_MORE_PROCESSING_REQUIRED

/* Whether v's versions of deleted and replaced files may be links. */
static bool bk_may_link(struct bk_volume *v)
{
	return !bk.copy_only && !atomic_load(&v->no_link);
}

/* Links fo's file into the store as p; fills *out as a copy would. */
static bool bk_link(struct bk_volume *v, PFLT_INSTANCE Instance, PFILE_OBJECT fo,
		    struct bk_pending *p, LX_COPY_TO_DESCRIPTOR_OUTPUT *out)
{
	LX_LINK_TO_DIRECTORY_INPUT in = { 0 };
	LX_LINK_TO_DIRECTORY_OUTPUT lo = { 0 };
	NTSTATUS st;
	int dirfd;

	if (!bk_may_link(v) || bk_store_begin_link(v->store, p, &dirfd))
		return false;
	in.TargetDirectory = dirfd;
	snprintf(in.TargetName, sizeof(in.TargetName), "%s", p->object);
	st = FltFsControlFile(Instance, fo, FSCTL_LX_LINK_TO_DIRECTORY, &in,
			      sizeof(in), &lo, sizeof(lo), NULL);
	if (!NT_SUCCESS(st)) {
		/* Another file system, or a filter below changes the data:
		 * never for this volume.  Otherwise (another link, a writer)
		 * for this file only. */
		if (st == STATUS_NOT_SAME_DEVICE ||
		    st == STATUS_INVALID_DEVICE_REQUEST)
			atomic_store(&v->no_link, true);
		bk_store_abort(v->store, p);
		return false;
	}
	*out = lo.Content;
	atomic_fetch_add(&bk.stats.linked, 1);
	return true;
}

/* Whether the policy versions rel (counted when it does not). */
static bool bk_wanted(const char *rel)
{
	if (bk_policy_wants(&bk.policy, rel))
		return true;
	atomic_fetch_add(&bk.stats.skipped_policy, 1);
	return false;
}

/*
 * Keeps the current content of fo (path rel on v, which the policy wants)
 * as a version; with last_link_only, not when another link keeps it.  Returns
 * STATUS_SUCCESS when a version was kept or nothing needed keeping, and
 * STATUS_DISK_FULL when the store is full under WhenFull=deny (the caller
 * fails the operation); other failures are logged and reported as success
 * so the program's change goes through.
 */
static NTSTATUS bk_keep(struct bk_volume *v, PFLT_INSTANCE Instance,
			PFILE_OBJECT fo, const char *rel, uint32_t reason,
			PFLT_CALLBACK_DATA Data, bool last_link_only, bool *kept,
			struct bk_linked *link)
{
	FILE_STAT_LX_INFORMATION sx;
	LX_COPY_TO_DESCRIPTOR_OUTPUT out = { 0 };
	struct bk_version *ver;
	struct bk_pending p;
	ULONG uid = 0, gid = 0;
	uint64_t limit = bk.policy.max_store_bytes;
	bool staged = false;
	NTSTATUS st;
	int err;

	st = FltQueryInformationFile(Instance, fo, &sx, sizeof(sx),
				     FileStatLxInformation, NULL);
	if (!NT_SUCCESS(st))
		return STATUS_SUCCESS; /* gone or unreadable: nothing to keep */
	if ((sx.LxMode & S_IFMT) != S_IFREG || sx.EndOfFile.QuadPart <= 0)
		return STATUS_SUCCESS;
	if (last_link_only && sx.NumberOfLinks > 1)
		return STATUS_SUCCESS; /* the content stays under another name */
	if (bk.policy.max_file_size &&
	    (uint64_t)sx.EndOfFile.QuadPart > bk.policy.max_file_size) {
		atomic_fetch_add(&bk.stats.skipped_policy, 1);
		return STATUS_SUCCESS;
	}
	if (limit && bk_store_bytes(v->store) + (uint64_t)sx.EndOfFile.QuadPart > limit) {
		if (bk.when_full == BK_FULL_DENY ||
		    (uint64_t)sx.EndOfFile.QuadPart > limit) {
			atomic_fetch_add(&bk.stats.skipped_full, 1);
			if (bk.when_full == BK_FULL_DENY) {
				DbgPrint("backup: store full, refusing the change of %s\n", rel);
				return STATUS_DISK_FULL;
			}
			DbgPrint("backup: %s is larger than the store; not kept\n", rel);
			return STATUS_SUCCESS;
		}
		if (bk.when_full == BK_FULL_SKIP) {
			atomic_fetch_add(&bk.stats.skipped_full, 1);
			DbgPrint("backup: store full, %s changes unversioned\n", rel);
			return STATUS_SUCCESS;
		}
		bk_store_trim(v->store, &bk.policy, rel, bk_now_ns(),
			      (uint64_t)sx.EndOfFile.QuadPart, NULL, NULL);
	}
	ver = calloc(1, sizeof(*ver));
	if (!ver)
		return STATUS_SUCCESS;
	if (link && bk_link(v, Instance, fo, &p, &out)) {
		ver->method = BK_METHOD_LINK;
		st = STATUS_SUCCESS;
	} else if (link && link->link_only) {
		free(ver);
		return BK_NOT_LINKED;
	} else {
		link = NULL;
		st = bk_copy_staged(v, Instance, fo, &p,
				    (uint64_t)sx.EndOfFile.QuadPart, &out,
				    &ver->method, &staged);
		if (NT_SUCCESS(st) && !staged) {
			/* Not staged: into a file of the store's own. */
			err = bk_store_begin(v->store, &p);
			if (err) {
				DbgPrint("backup: %s: cannot create a version (%s)\n",
					 rel, strerror(-err));
				atomic_fetch_add(&bk.stats.failed, 1);
				free(ver);
				return STATUS_SUCCESS;
			}
			st = bk_copy(Instance, fo, p.fd, &out, &ver->method);
			if (NT_SUCCESS(st) && ver->method == BK_METHOD_COPY &&
			    !bk.copy_only)
				atomic_store(&v->copies, true);
		}
	}
	if (NT_SUCCESS(st) && out.BytesCopied.QuadPart <= 0) {
		/* Emptied meanwhile (another program truncated it): nothing
		 * to keep. */
		bk_store_abort(v->store, &p);
		free(ver);
		return STATUS_SUCCESS;
	}
	if (NT_SUCCESS(st) && !out.Consistent)
		DbgPrint("backup: %s kept changing while it was copied; the version may mix old and new bytes\n",
			 rel);
	if (!NT_SUCCESS(st)) {
		DbgPrint("backup: %s: copying the content failed (0x%08X)\n", rel,
			 (unsigned)st);
		bk_store_abort(v->store, &p);
		atomic_fetch_add(&bk.stats.failed, 1);
		free(ver);
		return STATUS_SUCCESS;
	}
	snprintf(ver->path, sizeof(ver->path), "%s", rel);
	ver->file_id = (uint64_t)sx.FileId.QuadPart;
	ver->time_ns = bk_now_ns();
	ver->size = (uint64_t)out.BytesCopied.QuadPart;
	ver->reason = reason;
	if (Data) {
		ver->pid = FltGetRequestorProcessId(Data);
		if (NT_SUCCESS(FltGetRequestorLxIds(Data, &uid, &gid)))
			ver->uid = uid;
	}
	bk_comm(ver->pid, ver->comm);
	ver->owner_uid = sx.LxUid;
	ver->owner_gid = sx.LxGid;
	ver->mode = sx.LxMode;
	if (out.SourceLastWriteTimeNs.QuadPart) {
		/* Full precision, as the file system had them when copied. */
		ver->atime_ns = out.SourceLastAccessTimeNs.QuadPart;
		ver->mtime_ns = out.SourceLastWriteTimeNs.QuadPart;
		ver->mode = out.SourceMode;
		ver->owner_uid = out.SourceUid;
		ver->owner_gid = out.SourceGid;
	} else {
		ver->atime_ns = bk_nt_to_ns(sx.LastAccessTime.QuadPart);
		ver->mtime_ns = bk_nt_to_ns(sx.LastWriteTime.QuadPart);
	}
	err = bk_store_commit(v->store, &p, ver);
	if (err) {
		DbgPrint("backup: %s: cannot store the version (%s)\n", rel,
			 strerror(-err));
		atomic_fetch_add(&bk.stats.failed, 1);
	} else {
		/* Limits are applied by bk_committed, once the row is in. */
		atomic_fetch_add(&bk.stats.kept, 1);
		atomic_fetch_add(&bk.stats.kept_bytes, ver->size);
		if (kept)
			*kept = true;
		if (link) {
			memcpy(link->object, ver->object, sizeof(link->object));
			link->size = ver->size;
		}
	}
	free(ver);
	return STATUS_SUCCESS;
}

/* Keeps the version of the file named rel (which the policy wants), opened
 * below the filter.  With
 * linked (a delete or a replacement: only the last link's content is kept)
 * the file may be linked into the store; *linked then gets what
 * bk_post_set_information confirms (the handle stays open until then). */
static NTSTATUS bk_keep_named(struct bk_volume *v, PFLT_INSTANCE Instance,
			      const char *rel, uint32_t reason,
			      PFLT_CALLBACK_DATA Data, struct bk_linked **linked)
{
	struct bk_linked *l = NULL;
	struct bk_open o;
	NTSTATUS st;

	if (linked)
		*linked = NULL;
	if (!NT_SUCCESS(bk_open_rel(v, rel, FILE_GENERIC_READ, &o)))
		return STATUS_SUCCESS; /* nothing there (or not readable) */
	if (linked)
		l = calloc(1, sizeof(*l));
	st = bk_keep(v, Instance, o.fo, rel, reason, Data, linked != NULL, NULL, l);
	if (l && l->object[0]) {
		l->h = o.h;
		l->fo = o.fo;
		*linked = l;
		return st;
	}
	free(l);
	bk_close(&o);
	return st;
}

/*
 * Keeps the last content of the file a delete removes (path rel), fo the
 * delete's own file object.  Where the volume knows the file's inode, it
 * is linked into the store through fo, with no open of the filter's own;
 * *linked then gets what bk_post_set_information confirms, through the
 * same fo.  Otherwise (an inode the volume does not hold, another link,
 * a writer, a store that cannot take links) as any version: the file
 * opened below the filter, then linked or copied (bk_keep_named).
 */
static NTSTATUS bk_keep_deleted(struct bk_volume *v, PFLT_INSTANCE Instance,
				PFILE_OBJECT fo, const char *rel,
				PFLT_CALLBACK_DATA Data, struct bk_linked **linked)
{
	struct bk_linked *l;
	NTSTATUS st;

	*linked = NULL;
	if (!bk_wanted(rel))
		return STATUS_SUCCESS;
	l = fo->FsContext && bk_may_link(v) ? calloc(1, sizeof(*l)) : NULL;
	if (l) {
		l->link_only = true;
		st = bk_keep(v, Instance, fo, rel, BK_REASON_DELETE, Data, true,
			     NULL, l);
		if (l->object[0]) {
			l->fo = fo;
			*linked = l;
			return st;
		}
		free(l);
		if (st != BK_NOT_LINKED)
			return st; /* nothing to keep, or refused (store full) */
	}
	return bk_keep_named(v, Instance, rel, BK_REASON_DELETE, Data, linked);
}

/* The file of fo is gone and its version, object, is its inode: remember
 * that on its stream (BK_STREAM_CONTEXT).  Without memory the file stays
 * unmarked, as it was before the delete. */
static void bk_mark_deleted(PFLT_INSTANCE Instance, PFILE_OBJECT fo,
			    const char *object, uint64_t size)
{
	PBK_STREAM_CONTEXT sc = NULL;

	if (!NT_SUCCESS(FltAllocateContext(bk.filter, FLT_STREAM_CONTEXT,
					   sizeof(*sc), NonPagedPool,
					   (PFLT_CONTEXT *)&sc)))
		return;
	memset(sc, 0, sizeof(*sc));
	pthread_mutex_init(&sc->Lock, NULL);
	atomic_fetch_add(&bk.deleted_streams, 1); /* the cleanup's to undo */
	sc->Shared = TRUE;
	sc->Size = size;
	snprintf(sc->Object, sizeof(sc->Object), "%s", object);
	FltSetStreamContext(Instance, fo, FLT_SET_CONTEXT_REPLACE_IF_EXISTS, sc,
			    NULL);
	FltReleaseContext(sc);
}

/*
 * Before a change of fo's file: if it is a deleted file whose version is
 * its inode (bk_mark_deleted), the version gets its own copy first, and
 * *deleted says so (such a change needs no version: its content before is
 * the delete's version).  STATUS_DISK_FULL when the copy found no room
 * (the change is then refused, as any version's); other failures are
 * logged and let the change through, and the next cycle tries again.
 */
static NTSTATUS bk_deleted_change(PFLT_INSTANCE Instance, PFILE_OBJECT fo,
				  bool *deleted)
{
	PBK_STREAM_CONTEXT sc;
	struct bk_volume *v;
	NTSTATUS st = STATUS_SUCCESS;
	int err;

	*deleted = false;
	if (!atomic_load(&bk.deleted_streams) || !fo || !fo->FsContext ||
	    !NT_SUCCESS(FltGetStreamContext(Instance, fo, (PFLT_CONTEXT *)&sc)))
		return STATUS_SUCCESS;
	*deleted = true;
	pthread_mutex_lock(&sc->Lock);
	if (sc->Shared) {
		v = bk_volume_of(Instance);
		err = v ? bk_store_unshare(v->store, sc->Object, sc->Size) : -ENODEV;
		if (!err)
			atomic_fetch_add(&bk.stats.unshared, 1);
		if (!err || err == -ENOENT) /* or dropped by the limits since */
			sc->Shared = FALSE;
		else if (err == -ENOSPC || err == -EDQUOT)
			st = STATUS_DISK_FULL;
		else
			DbgPrint("backup: cannot give the version kept in %s its own copy (%s); a change of the deleted file reaches it\n",
				 sc->Object, strerror(-err));
		bk_volume_put(v);
	}
	pthread_mutex_unlock(&sc->Lock);
	FltReleaseContext(sc);
	return st;
}

/* After the change a linked version was kept for: the file must have gone
 * (the store's name is its only one) and no program may hold it open;
 * otherwise the version is withdrawn (the change did not happen) or given
 * its own copy.  Frees l. */
static void bk_confirm_link(struct bk_linked *l, PFLT_INSTANCE Instance)
{
	LX_LINK_TO_DIRECTORY_INPUT in = { .TargetDirectory = -1,
					  .Flags = LX_LINK_QUERY };
	LX_LINK_TO_DIRECTORY_OUTPUT lo = { 0 };
	/* The filter's own open, closed here; or the delete's file object. */
	struct bk_open o = { l->h, l->h ? l->fo : NULL };
	NTSTATUS st;
	int err = 0;

	st = FltFsControlFile(Instance, l->fo, FSCTL_LX_LINK_TO_DIRECTORY, &in,
			      sizeof(in), &lo, sizeof(lo), NULL);
	if (NT_SUCCESS(st) && lo.NumberOfLinks > 1) {
		err = bk_store_withdraw(l->v->store, l->object);
		if (!err || err == -ENOENT) {
			atomic_fetch_add(&bk.stats.withdrawn, 1);
			atomic_fetch_sub(&bk.stats.kept, 1);
			atomic_fetch_sub(&bk.stats.kept_bytes, l->size);
			err = 0;
		}
	} else if (!NT_SUCCESS(st) || lo.WriteHandles || lo.OpenHandles) {
		/* Unknown, or a program opened it meanwhile: its descriptor,
		 * even a read-only one, could write the file (reopened through
		 * /proc/PID/fd). */
		err = bk_store_unshare(l->v->store, l->object, l->size);
		if (!err)
			atomic_fetch_add(&bk.stats.unshared, 1);
	}
	if (err)
		DbgPrint("backup: cannot confirm the version kept in %s (%s); it still shares the file's content\n",
			 l->object, strerror(-err));
	else if (NT_SUCCESS(st) && lo.NumberOfLinks <= 1 && !lo.WriteHandles &&
		 !lo.OpenHandles)
		bk_mark_deleted(Instance, l->fo, l->object, l->size);
	bk_close(&o);
	bk_volume_put(l->v);
	free(l);
}

/* ---- Callbacks --------------------------------------------------------------------- */

static FLT_PREOP_CALLBACK_STATUS bk_deny(PFLT_CALLBACK_DATA Data, NTSTATUS st)
{
	Data->IoStatus.Status = st;
	Data->IoStatus.Information = 0;
	return FLT_PREOP_COMPLETE;
}

static bool bk_truncating_create(PFLT_CALLBACK_DATA Data)
{
	ULONG disp = Data->Iopb->Parameters.Create.Options >> 24;

	return disp == FILE_OVERWRITE || disp == FILE_OVERWRITE_IF ||
	       disp == FILE_SUPERSEDE;
}

static FLT_PREOP_CALLBACK_STATUS FLTAPI
bk_pre_create(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects,
	      PVOID *CompletionContext)
{
	struct bk_volume *v;
	char *rel;
	NTSTATUS st = STATUS_SUCCESS;
	bool deleted;

	*CompletionContext = NULL;
	if (Data->Iopb->Parameters.Create.Options & FILE_DIRECTORY_FILE)
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	if (!bk_truncating_create(Data))
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	/* A deleted file reopened by its inode (/proc/PID/fd): its name is
	 * gone, its last content is a version already. */
	st = bk_deleted_change(FltObjects->Instance, FltObjects->FileObject,
			       &deleted);
	if (st == STATUS_DISK_FULL)
		return bk_deny(Data, st);
	if (deleted)
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	v = bk_volume_of(FltObjects->Instance);
	rel = malloc(BK_PATH_MAX);
	if (v && rel && bk_data_path(Data, rel, BK_PATH_MAX) && bk_wanted(rel))
		st = bk_keep_named(v, FltObjects->Instance, rel,
				   BK_REASON_TRUNCATE, Data, NULL);
	free(rel);
	bk_volume_put(v);
	if (st == STATUS_DISK_FULL)
		return bk_deny(Data, st);
	*CompletionContext = (PVOID)1; /* this open's cycle changed the file */
	return FLT_PREOP_SUCCESS_WITH_CALLBACK;
}

static FLT_POSTOP_CALLBACK_STATUS FLTAPI
bk_post_create(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects,
	       PVOID CompletionContext, FLT_POST_OPERATION_FLAGS Flags)
{
	PBK_HANDLE_CONTEXT hc;
	BOOLEAN dir = FALSE;

	/* Only a truncating open needs its cycle marked: its version was kept
	 * in pre-create.  Other opens get their context at the first change. */
	if (!CompletionContext || (Flags & FLTFL_POST_OPERATION_DRAINING) ||
	    !NT_SUCCESS(Data->IoStatus.Status))
		return FLT_POSTOP_FINISHED_PROCESSING;
	if (NT_SUCCESS(FltIsDirectory(FltObjects->FileObject, FltObjects->Instance,
				      &dir)) && dir)
		return FLT_POSTOP_FINISHED_PROCESSING;
	hc = bk_handle(FltObjects->Instance, FltObjects->FileObject, TRUE);
	if (!hc)
		return FLT_POSTOP_FINISHED_PROCESSING;
	pthread_mutex_lock(&hc->Lock);
	hc->Kept = TRUE;
	pthread_mutex_unlock(&hc->Lock);
	FltReleaseContext(hc);
	return FLT_POSTOP_FINISHED_PROCESSING;
}

/* The version of the file's content before a cycle's first change.  A
 * file opened for write-through (O_SYNC, O_DSYNC) gets its change on the
 * disk as soon as it is made: its version is made durable first. */
static NTSTATUS bk_keep_change(PFLT_CALLBACK_DATA Data,
			       PCFLT_RELATED_OBJECTS FltObjects, uint32_t reason)
{
	FILE_STANDARD_INFORMATION si;
	struct bk_volume *v;
	char *rel;
	NTSTATUS st = STATUS_SUCCESS;
	bool kept = false;

	/* An empty file (one its program has just created, say) has nothing
	 * to keep: no name to look up (bk_keep decides the same). */
	if (NT_SUCCESS(FltQueryInformationFile(FltObjects->Instance,
					       FltObjects->FileObject, &si,
					       sizeof(si), FileStandardInformation,
					       NULL)) &&
	    !si.Directory && si.EndOfFile.QuadPart <= 0)
		return STATUS_SUCCESS;
	v = bk_volume_of(FltObjects->Instance);
	rel = malloc(BK_PATH_MAX);
	if (v && rel && bk_data_path(Data, rel, BK_PATH_MAX) && bk_wanted(rel))
		st = bk_keep(v, FltObjects->Instance, FltObjects->FileObject,
			     rel, reason, Data, false, &kept, NULL);
	if (kept && (FltObjects->FileObject->Flags & FO_WRITE_THROUGH) &&
	    bk_store_flush(v->store) > 0)
		atomic_fetch_add(&bk.stats.synced, 1);
	free(rel);
	bk_volume_put(v);
	return st;
}

/* The first change of a cycle: the version of the file's content before
 * it, or for a deleted file reopened by its inode, the delete's version
 * given its own copy (bk_deleted_change). */
static NTSTATUS bk_first_change(PFLT_CALLBACK_DATA Data,
				PCFLT_RELATED_OBJECTS FltObjects, uint32_t reason)
{
	PBK_HANDLE_CONTEXT hc;
	NTSTATUS st = STATUS_SUCCESS;
	bool deleted;

	hc = bk_handle(FltObjects->Instance, FltObjects->FileObject, TRUE);
	if (!hc)
		return STATUS_SUCCESS;
	pthread_mutex_lock(&hc->Lock);
	if (!hc->Kept) {
		st = bk_deleted_change(FltObjects->Instance,
				       FltObjects->FileObject, &deleted);
		if (!deleted)
			st = bk_keep_change(Data, FltObjects, reason);
		if (st != STATUS_DISK_FULL)
			hc->Kept = TRUE;
	}
	pthread_mutex_unlock(&hc->Lock);
	FltReleaseContext(hc);
	return st;
}

static FLT_PREOP_CALLBACK_STATUS FLTAPI
bk_pre_write(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects,
	     PVOID *CompletionContext)
{
	*CompletionContext = NULL;
	if (!Data->Iopb->Parameters.Write.Length)
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	if (bk_first_change(Data, FltObjects, BK_REASON_WRITE) == STATUS_DISK_FULL)
		return bk_deny(Data, STATUS_DISK_FULL);
	return FLT_PREOP_SUCCESS_NO_CALLBACK;
}

static FLT_PREOP_CALLBACK_STATUS FLTAPI
bk_pre_set_information(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects,
		       PVOID *CompletionContext)
{
	PFLT_PARAMETERS p = &Data->Iopb->Parameters;
	struct bk_volume *v = NULL;
	struct bk_linked *linked = NULL;
	NTSTATUS st = STATUS_SUCCESS;
	char *rel = NULL;

	*CompletionContext = NULL;
	switch (p->SetFileInformation.FileInformationClass) {
	case FileEndOfFileInformation:
	case FileAllocationInformation: {
		FILE_STAT_LX_INFORMATION sx;
		LONGLONG want = ((PLARGE_INTEGER)p->SetFileInformation.InfoBuffer)->QuadPart;

		/* Only a change of size changes the content; a larger
		 * allocation changes nothing a program reads. */
		if (NT_SUCCESS(FltQueryInformationFile(FltObjects->Instance,
						       FltObjects->FileObject, &sx,
						       sizeof(sx), FileStatLxInformation,
						       NULL)) &&
		    (want == sx.EndOfFile.QuadPart ||
		     (p->SetFileInformation.FileInformationClass ==
			      FileAllocationInformation &&
		      want >= sx.EndOfFile.QuadPart)))
			break;
		st = bk_first_change(Data, FltObjects, BK_REASON_SETSIZE);
		break;
	}
	case FileDispositionInformation:
	case FileDispositionInformationEx: {
		ULONG flags;

		if (p->SetFileInformation.FileInformationClass ==
		    FileDispositionInformation)
			flags = ((PFILE_DISPOSITION_INFORMATION)p->SetFileInformation
					 .InfoBuffer)->DeleteFile
					? FILE_DISPOSITION_DELETE
					: 0;
		else
			flags = ((PFILE_DISPOSITION_INFORMATION_EX)p->SetFileInformation
					 .InfoBuffer)->Flags;
		if (!(flags & FILE_DISPOSITION_DELETE))
			break;
		v = bk_volume_of(FltObjects->Instance);
		rel = malloc(BK_PATH_MAX);
		if (v && rel && bk_data_path(Data, rel, BK_PATH_MAX))
			st = bk_keep_deleted(v, FltObjects->Instance,
					     FltObjects->FileObject, rel, Data,
					     &linked);
		break;
	}
	case FileRenameInformation:
	case FileRenameInformationEx: {
		PFILE_RENAME_INFORMATION ri = p->SetFileInformation.InfoBuffer;
		PFLT_FILE_NAME_INFORMATION ni = NULL;

		if (!(ri->Flags & FILE_RENAME_REPLACE_IF_EXISTS) ||
		    (ri->Flags & FILE_RENAME_EXCHANGE_LX))
			break;
		if (!NT_SUCCESS(FltGetDestinationFileNameInformation(
			    FltObjects->Instance, FltObjects->FileObject,
			    ri->RootDirectory, ri->FileName, ri->FileNameLength,
			    FLT_FILE_NAME_NORMALIZED | FLT_FILE_NAME_QUERY_DEFAULT,
			    &ni)))
			break;
		v = bk_volume_of(FltObjects->Instance);
		rel = malloc(BK_PATH_MAX);
		if (v && rel && bk_rel_from_name(&ni->Name, &ni->Volume, rel,
						 BK_PATH_MAX) && bk_wanted(rel))
			st = bk_keep_named(v, FltObjects->Instance, rel,
					   BK_REASON_REPLACE, Data, &linked);
		FltReleaseFileNameInformation(ni);
		break;
	}
	default:
		break;
	}
	free(rel);
	if (linked) {
		linked->v = v; /* the reference goes with it */
		*CompletionContext = linked;
		return FLT_PREOP_SUCCESS_WITH_CALLBACK;
	}
	bk_volume_put(v);
	if (st == STATUS_DISK_FULL)
		return bk_deny(Data, st);
	return FLT_PREOP_SUCCESS_NO_CALLBACK;
}

/* The change a linked version was kept for has been made, or refused
 * (below, or by a filter that cleared the delete flag): confirm it.  Also
 * while the instance is draining, since the store and the handle stay. */
static FLT_POSTOP_CALLBACK_STATUS FLTAPI
bk_post_set_information(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects,
			PVOID CompletionContext, FLT_POST_OPERATION_FLAGS Flags)
{
	UNREFERENCED_PARAMETER(Data);
	UNREFERENCED_PARAMETER(Flags);
	if (CompletionContext)
		bk_confirm_link(CompletionContext, FltObjects->Instance);
	return FLT_POSTOP_FINISHED_PROCESSING;
}

/* A program's sync waits for the store's; the halves around it. */
struct bk_flush {
	struct bk_volume *v;
	struct bk_flush_ticket t;
};

static void bk_flush_failed(struct bk_volume *v, int r)
{
	DbgPrint("backup: cannot sync the store of %s (%s): the newest versions may not survive a power failure\n",
		 v->root, strerror(-r));
}

/* fsync(2), fdatasync(2), msync(MS_SYNC): the versions kept before the
 * file's changes are durable before the program's sync returns
 * (Durability=flush); where the store's log is ordered (XFS, ext4 with its
 * journal) the store's sync is finished after the program's, whose force
 * of the log usually carries it (store.h: bk_store_flush_begin). */
static FLT_PREOP_CALLBACK_STATUS FLTAPI
bk_pre_flush(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects,
	     PVOID *CompletionContext)
{
	struct bk_volume *v;

	(void)Data;
	*CompletionContext = NULL;
	if (bk.durability != BK_DURABLE_FLUSH)
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	v = bk_volume_of(FltObjects->Instance);
	if (v) {
		struct bk_flush_ticket t;
		struct bk_flush *f;
		int r = bk_store_flush_begin(v->store, &t);

		if (t.pending) {
			/* The rest after the program's own sync; without
			 * memory for that, now. */
			f = malloc(sizeof(*f));
			if (f) {
				f->v = v; /* the reference goes with it */
				f->t = t;
				*CompletionContext = f;
				return FLT_PREOP_SUCCESS_WITH_CALLBACK;
			}
			r = bk_store_flush_end(v->store, &t);
		}
		if (r > 0)
			atomic_fetch_add(&bk.stats.synced, 1);
		else if (r < 0)
			bk_flush_failed(v, r);
	}
	bk_volume_put(v);
	return FLT_PREOP_SUCCESS_NO_CALLBACK;
}

/* The program's sync is done (or failed, or the instance drains): the
 * store's versions are made durable before it returns. */
static FLT_POSTOP_CALLBACK_STATUS FLTAPI
bk_post_flush(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects,
	      PVOID CompletionContext, FLT_POST_OPERATION_FLAGS Flags)
{
	struct bk_flush *f = CompletionContext;
	int r;

	UNREFERENCED_PARAMETER(Data);
	UNREFERENCED_PARAMETER(FltObjects);
	UNREFERENCED_PARAMETER(Flags);
	if (!f)
		return FLT_POSTOP_FINISHED_PROCESSING;
	r = bk_store_flush_end(f->v->store, &f->t);
	if (r > 0)
		atomic_fetch_add(&bk.stats.synced, 1);
	else if (r < 0)
		bk_flush_failed(f->v, r);
	bk_volume_put(f->v);
	free(f);
	return FLT_POSTOP_FINISHED_PROCESSING;
}

static const FLT_OPERATION_REGISTRATION bk_ops[] = {
	{ IRP_MJ_CREATE, 0, bk_pre_create, bk_post_create },
	{ IRP_MJ_WRITE, FLTFL_OPERATION_REGISTRATION_SKIP_CACHED_IO, bk_pre_write,
	  NULL },
	{ IRP_MJ_SET_INFORMATION, 0, bk_pre_set_information,
	  bk_post_set_information },
	{ IRP_MJ_FLUSH_BUFFERS, 0, bk_pre_flush, bk_post_flush },
	{ IRP_MJ_OPERATION_END }
};

/* ---- Instances --------------------------------------------------------------------- */

/* The store's commit hook: the version's row is in (err 0), so the path's
 * limits apply; or a version accepted earlier could not be committed. */
static void bk_committed(struct bk_store *s, const struct bk_version *ver,
			 int err, void *arg)
{
	(void)arg;
	if (err) {
		DbgPrint("backup: %s: cannot store the version (%s)\n", ver->path,
			 strerror(-err));
		atomic_fetch_sub(&bk.stats.kept, 1);
		atomic_fetch_sub(&bk.stats.kept_bytes, ver->size);
		atomic_fetch_add(&bk.stats.failed, 1);
		return;
	}
	bk_store_trim(s, &bk.policy, ver->path, ver->time_ns, 0, NULL, NULL);
}

static bool bk_inside(const char *dir, const char *root)
{
	size_t n = strlen(root);

	return !strcmp(root, "/") ||
	       (!strncmp(dir, root, n) && (dir[n] == '/' || !dir[n]));
}

static NTSTATUS FLTAPI bk_instance_setup(PCFLT_RELATED_OBJECTS FltObjects,
					 FLT_INSTANCE_SETUP_FLAGS Flags,
					 DEVICE_TYPE VolumeDeviceType,
					 FLT_FILESYSTEM_TYPE VolumeFilesystemType)
{
	PBK_INSTANCE_CONTEXT ic = NULL;
	struct bk_volume *v;
	WCHAR wname[256];
	UNICODE_STRING name = { 0, sizeof(wname) - sizeof(WCHAR), wname };
	char dir[BK_PATH_MAX + 300];
	const char *shortname;
	ULONG len = 0;
	unsigned recovered = 0;
	NTSTATUS st;
	int err;

	UNREFERENCED_PARAMETER(Flags);
	UNREFERENCED_PARAMETER(VolumeDeviceType);
	UNREFERENCED_PARAMETER(VolumeFilesystemType);
	v = calloc(1, sizeof(*v));
	if (!v)
		return STATUS_INSUFFICIENT_RESOURCES;
	v->instance = FltObjects->Instance;
	v->refs = 1; /* the list's, until teardown */
	if (!NT_SUCCESS(FltGetVolumeLxPath(FltObjects->Volume, v->root,
					   sizeof(v->root), NULL)) ||
	    !NT_SUCCESS(FltGetVolumeName(FltObjects->Volume, &name, NULL)) ||
	    !NT_SUCCESS(RtlUnicodeToUTF8N(v->name, sizeof(v->name) - 1, &len,
					  name.Buffer, name.Length))) {
		free(v);
		return STATUS_FLT_DO_NOT_ATTACH;
	}
	v->name[len] = 0;
	shortname = strrchr(v->name, '\\') ? strrchr(v->name, '\\') + 1 : v->name;
	snprintf(dir, sizeof(dir), "%s/%s", bk.store_root, shortname);
	if (bk_inside(bk.store_root, v->root)) {
		DbgPrint("backup: the store %s is inside volume %s (%s); not attaching\n",
			 bk.store_root, v->name, v->root);
		free(v);
		return STATUS_FLT_DO_NOT_ATTACH;
	}
	err = bk_store_open(dir, &v->store, &recovered);
	if (err) {
		DbgPrint("backup: cannot open the store %s for %s: %s; not attaching\n",
			 dir, v->root, strerror(-err));
		free(v);
		return STATUS_FLT_DO_NOT_ATTACH;
	}
	bk_store_set_durability(v->store, (enum bk_durability)bk.durability);
	bk_store_set_dedupe(v->store, bk.content_hash);
	bk_store_set_commit_hook(v->store, bk_committed, NULL);
	err = bk_store_set_staging(v->store, bk.staging_size);
	if (err)
		DbgPrint("backup: store %s: no staging area in /dev/shm (%s); copies are written straight to the store\n",
			 dir, err == -EEXIST ? "a file of its name belongs to another user"
					     : strerror(-err));
	if (bk_store_completed(v->store)) {
		struct bk_store_stats sst;

		bk_store_stats(v->store, &sst);
		DbgPrint("backup: store %s: %u versions captured before the last stop committed (%u of them written from the staging area)\n",
			 dir, bk_store_completed(v->store), sst.staged_restored);
		/* Their paths' limits were never applied. */
		bk_store_enforce(v->store, &bk.policy, bk_now_ns(), 0, NULL, NULL);
	}
	if (recovered)
		DbgPrint("backup: store %s: %u leftovers of an interrupted run removed\n",
			 dir, recovered);
	if (bk_store_unshared(v->store))
		DbgPrint("backup: store %s: %u versions of deleted or replaced files still shared their file (a stop before the change); each has its own copy now\n",
			 dir, bk_store_unshared(v->store));
	st = FltAllocateContext(bk.filter, FLT_INSTANCE_CONTEXT, sizeof(*ic),
				NonPagedPool, (PFLT_CONTEXT *)&ic);
	if (!NT_SUCCESS(st)) {
		bk_volume_free(v);
		return st;
	}
	ic->Volume = v;
	v->refs++; /* the context's */
	pthread_mutex_lock(&bk.lock);
	v->next = bk.volumes;
	bk.volumes = v;
	pthread_mutex_unlock(&bk.lock);
	st = FltSetInstanceContext(FltObjects->Instance, FLT_SET_CONTEXT_KEEP_IF_EXISTS,
				   ic, NULL);
	FltReleaseContext(ic);
	if (!NT_SUCCESS(st)) {
		pthread_mutex_lock(&bk.lock);
		v->gone = true;
		pthread_mutex_unlock(&bk.lock);
		bk_volume_put(v);
		return st;
	}
	DbgPrint("backup: keeping versions of %s in %s\n", v->root, dir);
	return STATUS_SUCCESS;
}

static VOID FLTAPI bk_instance_teardown_complete(PCFLT_RELATED_OBJECTS FltObjects,
						 FLT_INSTANCE_TEARDOWN_FLAGS Reason)
{
	PBK_INSTANCE_CONTEXT ic = NULL;
	struct bk_volume *v = NULL;

	UNREFERENCED_PARAMETER(Reason);
	if (!NT_SUCCESS(FltGetInstanceContext(FltObjects->Instance,
					      (PFLT_CONTEXT *)&ic)))
		return;
	pthread_mutex_lock(&bk.lock);
	if (ic->Volume && !ic->Volume->gone) {
		v = ic->Volume;
		v->gone = true;
	}
	pthread_mutex_unlock(&bk.lock);
	FltReleaseContext(ic);
	bk_volume_put(v); /* the list's */
}

/* ---- Filter ----------------------------------------------------------------------- */

static NTSTATUS FLTAPI bk_unload(FLT_FILTER_UNLOAD_FLAGS Flags)
{
	UNREFERENCED_PARAMETER(Flags);
	bk_port_stop();
	FltUnregisterFilter(bk.filter);
	bk_policy_clear(&bk.policy);
	DbgPrint("backup: unloaded; %llu versions kept (%llu bytes: %llu reflinked, %llu copied, %llu linked as they went; %llu withdrawn as their change failed, %llu given their own copy), %llu skipped by policy, %llu for a full store, %llu failed; %llu stored once as identical to another; %llu copies staged in memory, %llu found the staging area full; the store synced %llu times before a program's sync; its syncs in all: %llu file by file, %llu whole, %llu by one commit of its log\n",
		 (unsigned long long)bk.stats.kept,
		 (unsigned long long)bk.stats.kept_bytes,
		 (unsigned long long)bk.stats.cloned,
		 (unsigned long long)bk.stats.copied,
		 (unsigned long long)bk.stats.linked,
		 (unsigned long long)bk.stats.withdrawn,
		 (unsigned long long)bk.stats.unshared,
		 (unsigned long long)bk.stats.skipped_policy,
		 (unsigned long long)bk.stats.skipped_full,
		 (unsigned long long)bk.stats.failed,
		 (unsigned long long)bk.stats.deduped,
		 (unsigned long long)bk.stats.staged,
		 (unsigned long long)bk.stats.staging_full,
		 (unsigned long long)bk.stats.synced,
		 (unsigned long long)bk.stats.syncs_files,
		 (unsigned long long)bk.stats.syncs_full,
		 (unsigned long long)bk.stats.syncs_ordered);
	return STATUS_SUCCESS;
}

static const FLT_REGISTRATION bk_registration = {
	.Size = sizeof(FLT_REGISTRATION),
	.Version = FLT_REGISTRATION_VERSION,
	.ContextRegistration = bk_contexts,
	.OperationRegistration = bk_ops,
	.FilterUnloadCallback = bk_unload,
	.InstanceSetupCallback = bk_instance_setup,
	.InstanceTeardownCompleteCallback = bk_instance_teardown_complete,
};

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	NTSTATUS st;

	st = bk_read_parameters(RegistryPath);
	if (!NT_SUCCESS(st)) {
		bk_policy_clear(&bk.policy);
		return st;
	}
	if (mkdir(bk.store_root, 0700) < 0 && errno != EEXIST) {
		DbgPrint("backup: cannot create the store directory %s: %s\n",
			 bk.store_root, strerror(errno));
		bk_policy_clear(&bk.policy);
		return STATUS_OBJECT_PATH_NOT_FOUND;
	}
	st = FltRegisterFilter(DriverObject, &bk_registration, &bk.filter);
	if (!NT_SUCCESS(st)) {
		bk_policy_clear(&bk.policy);
		return st;
	}
	st = bk_port_start();
	if (NT_SUCCESS(st))
		st = FltStartFiltering(bk.filter);
	if (!NT_SUCCESS(st)) {
		bk_port_stop();
		FltUnregisterFilter(bk.filter);
		bk_policy_clear(&bk.policy);
	}
	return st;
}
