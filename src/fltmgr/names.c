/*
 * names.c - the file name service (FltGetFileNameInformation and friends)
 * and the name cache shared by all filters on a volume.
 *
 * A name is the volume's device name (\Device\<volume>) followed by the
 * volume-relative path.  Where that path comes from:
 *  - a file object not open on a file yet (pre-create, a create that failed,
 *    an operation by path on a name the file system does not know):
 *    FileObject->FileName, which the I/O manager sets to the name being
 *    opened; never cached;
 *  - otherwise the volume's file_name hook (struct fm_volume_ops), which
 *    walks the inode's current parent chain.
 *
 * The cache holds one normalized name per stream (struct fm_stream), with
 * the volume's name generation read before the name was computed.  A
 * rename brackets its change (iomgr/namespace.c): fm_names_change_begin
 * before the file system renames, fm_names_change_end (which bumps the
 * generation) once the inode table shows the new names, before the rename
 * completes; unlink, rmdir and link, which change no name the hook
 * reports, just bump the generation.  A lookup hits only when no rename is
 * in progress and the entry's generation is current, so:
 *  - an entry computed before a rename began carries an older generation
 *    once the rename has ended, and is never a hit again;
 *  - while a rename is in progress nothing is served from the cache, so a
 *    hit never disagrees with the inode table, even for a moment: once a
 *    rename has returned, no query gives the old name.
 * A directory rename changes the names of everything below it; the single
 * per-volume generation covers that without walking the tree.  Streams
 * and their entries change only under vol->ctx_lock.
 *
 * Name information is reference counted: the cache holds one reference on
 * its entry, each caller one on what it got.  The component fields
 * (FinalComponent, ParentDir ...) are filled by the first
 * FltParseFileNameInformation; a small state word makes that fill happen
 * exactly once however many filters parse the same shared structure.
 *
 * Deliberately absent: short (8.3) names, alternate data streams, tunnel
 * caches and name provider filters, none of which Linux file systems have
 * (docs/names.md, "Names for filters").
 */
#include "fltmgr/fm.h"
#include "rtl/rtl.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <wdm.h>

#define FM_NAME_MAGIC 0x6e664d46u /* "FMfn" */
/* Pool tag of name information, shown as "FMfn" as on Windows. */
#define FM_NAME_TAG RTL_POOL_TAG('n', 'f', 'M', 'F')
/* A UNICODE_STRING holds at most this many WCHARs. */
#define FM_NAME_WCHARS_MAX (0xfffe / sizeof(WCHAR))
/* Names up to this many WCHARs are built without a heap buffer. */
#define FM_NAME_SMALL 512

enum { FM_PARSE_NONE, FM_PARSE_BUSY, FM_PARSE_DONE };

struct fm_name {
	FLT_FILE_NAME_INFORMATION info; /* first: all a filter ever sees */
	uint32_t magic;
	atomic_long refs;
	atomic_int parse;
	WCHAR buf[];
};

static struct fm_name *fm_name_of(PFLT_FILE_NAME_INFORMATION info)
{
	struct fm_name *n = (struct fm_name *)info;

	if (!info || n->magic != FM_NAME_MAGIC) {
		if (info)
			rtl_log(LOG_ERR, "a filter passed %p, which is not name information",
				(void *)info);
		return NULL;
	}
	return n;
}

static void fm_name_get(struct fm_name *n)
{
	atomic_fetch_add_explicit(&n->refs, 1, memory_order_relaxed);
}

static void fm_name_put(struct fm_name *n)
{
	if (atomic_fetch_sub_explicit(&n->refs, 1, memory_order_acq_rel) == 1) {
		n->magic = 0;
		ExFreePoolWithTag(n, FM_NAME_TAG);
	}
}

/*
 * New name information: prefix (the volume, or NULL) + rest, in format.
 * Returns NULL with *st set when the name does not fit a UNICODE_STRING
 * or memory runs out.
 */
static struct fm_name *fm_name_new(const UNICODE_STRING *prefix, const WCHAR *rest,
				   size_t nrest, FLT_FILE_NAME_OPTIONS format,
				   NTSTATUS *st)
{
	size_t npre = prefix ? prefix->Length / sizeof(WCHAR) : 0;
	struct fm_name *n;

	if (npre + nrest > FM_NAME_WCHARS_MAX) {
		*st = STATUS_NAME_TOO_LONG;
		return NULL;
	}
	n = ExAllocatePoolWithTag(PagedPool,
				  sizeof(*n) + (npre + nrest + 1) * sizeof(WCHAR),
				  FM_NAME_TAG);
	if (!n) {
		*st = STATUS_INSUFFICIENT_RESOURCES;
		return NULL;
	}
	memset(n, 0, sizeof(*n));
	n->magic = FM_NAME_MAGIC;
	atomic_init(&n->refs, 1);
	atomic_init(&n->parse, FM_PARSE_NONE);
	if (npre)
		memcpy(n->buf, prefix->Buffer, npre * sizeof(WCHAR));
	if (nrest)
		memcpy(n->buf + npre, rest, nrest * sizeof(WCHAR));
	n->buf[npre + nrest] = UNICODE_NULL;
	n->info.Size = sizeof(n->info);
	n->info.Format = format;
	n->info.Name.Buffer = n->buf;
	n->info.Name.Length = (USHORT)((npre + nrest) * sizeof(WCHAR));
	n->info.Name.MaximumLength = n->info.Name.Length;
	n->info.Volume.Buffer = npre ? n->buf : NULL;
	n->info.Volume.Length = (USHORT)(npre * sizeof(WCHAR));
	n->info.Volume.MaximumLength = n->info.Volume.Length;
	*st = STATUS_SUCCESS;
	return n;
}

/* ---- parsing ---- */

static void fm_us_set(UNICODE_STRING *us, const WCHAR *p, size_t n)
{
	us->Buffer = n ? (PWCH)p : NULL;
	us->Length = (USHORT)(n * sizeof(WCHAR));
	us->MaximumLength = us->Length;
}

/*
 * Splits the path p[0..n) as Windows does: ParentDir up to and including
 * the last backslash, FinalComponent after it (stream included), Stream
 * from the first ':' of the final component, Extension after the last '.'
 * before the stream.  Any output may be NULL.
 */
static void fm_split(const WCHAR *p, size_t n, UNICODE_STRING *parent,
		     UNICODE_STRING *final, UNICODE_STRING *ext,
		     UNICODE_STRING *stream)
{
	size_t start = 0, i, colon, dot;

	for (i = n; i > 0; i--)
		if (p[i - 1] == L'\\') {
			start = i;
			break;
		}
	for (colon = start; colon < n && p[colon] != L':'; colon++)
		;
	for (dot = colon; dot > start && p[dot - 1] != L'.'; dot--)
		;
	if (parent)
		fm_us_set(parent, p, start);
	if (final)
		fm_us_set(final, p + start, n - start);
	if (stream)
		fm_us_set(stream, p + colon, n - colon);
	if (ext)
		fm_us_set(ext, p + dot, dot > start ? colon - dot : 0);
}

NTSTATUS FLTAPI FltParseFileNameInformation(PFLT_FILE_NAME_INFORMATION NameInfo)
{
	struct fm_name *n = fm_name_of(NameInfo);
	PFLT_FILE_NAME_INFORMATION info = NameInfo;
	int expect = FM_PARSE_NONE;
	size_t vol;

	if (!n)
		return STATUS_INVALID_PARAMETER;
	if (atomic_load_explicit(&n->parse, memory_order_acquire) == FM_PARSE_DONE)
		return STATUS_SUCCESS;
	if (!atomic_compare_exchange_strong(&n->parse, &expect, FM_PARSE_BUSY)) {
		/* Another filter is filling the same structure: a few stores. */
		while (atomic_load_explicit(&n->parse, memory_order_acquire) !=
		       FM_PARSE_DONE)
			sched_yield();
		return STATUS_SUCCESS;
	}
	vol = info->Volume.Length / sizeof(WCHAR);
	fm_split(info->Name.Buffer + vol, info->Name.Length / sizeof(WCHAR) - vol,
		 &info->ParentDir, &info->FinalComponent, &info->Extension,
		 &info->Stream);
	info->NamesParsed |= FLTFL_FILE_NAME_PARSED_FINAL_COMPONENT |
			     FLTFL_FILE_NAME_PARSED_EXTENSION |
			     FLTFL_FILE_NAME_PARSED_STREAM |
			     FLTFL_FILE_NAME_PARSED_PARENT_DIR;
	atomic_store_explicit(&n->parse, FM_PARSE_DONE, memory_order_release);
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltParseFileName(PCUNICODE_STRING FileName, PUNICODE_STRING Extension,
				 PUNICODE_STRING Stream, PUNICODE_STRING FinalComponent)
{
	if (!FileName || (FileName->Length && !FileName->Buffer))
		return STATUS_INVALID_PARAMETER;
	fm_split(FileName->Buffer, FileName->Length / sizeof(WCHAR), NULL,
		 FinalComponent, Extension, Stream);
	return STATUS_SUCCESS;
}

VOID FLTAPI FltReferenceFileNameInformation(PFLT_FILE_NAME_INFORMATION NameInfo)
{
	struct fm_name *n = fm_name_of(NameInfo);

	if (n)
		fm_name_get(n);
}

VOID FLTAPI FltReleaseFileNameInformation(PFLT_FILE_NAME_INFORMATION NameInfo)
{
	struct fm_name *n = fm_name_of(NameInfo);

	if (n)
		fm_name_put(n);
}

/* ---- where names come from ---- */

/* The name being opened (FileObject->FileName), volume-relative. */
static struct fm_name *fm_name_opening(struct fm_volume *vol, PFILE_OBJECT fo,
				       FLT_FILE_NAME_OPTIONS format, NTSTATUS *st)
{
	const UNICODE_STRING *fn = &fo->FileName;

	if (!fn->Length || !fn->Buffer || fn->Buffer[0] != L'\\') {
		*st = STATUS_OBJECT_NAME_INVALID;
		return NULL;
	}
	return fm_name_new(&vol->device_name, fn->Buffer, fn->Length / sizeof(WCHAR),
			   format, st);
}

/* The current name of the stream fo is open on, from the file system. */
static struct fm_name *fm_name_current(struct fm_volume *vol, PFILE_OBJECT fo,
				       FLT_FILE_NAME_OPTIONS format, NTSTATUS *st)
{
	WCHAR small[FM_NAME_SMALL], *buf = small;
	struct fm_name *n = NULL;
	long len;

	if (!vol->ops || !vol->ops->file_name)
		return fm_name_opening(vol, fo, format, st);
	len = vol->ops->file_name(vol, vol->owner, fo, buf, FM_NAME_SMALL);
	if (len == -ENAMETOOLONG) {
		buf = malloc(FM_NAME_WCHARS_MAX * sizeof(WCHAR));
		if (!buf) {
			*st = STATUS_INSUFFICIENT_RESOURCES;
			return NULL;
		}
		len = vol->ops->file_name(vol, vol->owner, fo, buf, FM_NAME_WCHARS_MAX);
	}
	if (len == -ENAMETOOLONG)
		*st = STATUS_NAME_TOO_LONG;
	else if (len < 0)
		*st = rtl_errno_to_status((int)-len);
	else
		n = fm_name_new(&vol->device_name, buf, (size_t)len, format, st);
	if (buf != small)
		free(buf);
	return n;
}

/* The normalized name through the cache (any method but FILESYSTEM_ONLY). */
static struct fm_name *fm_name_cached(struct fm_volume *vol, PFILE_OBJECT fo,
				      FLT_FILE_NAME_OPTIONS options, NTSTATUS *st)
{
	struct fm_fcb_header *hdr = fo->FsContext;
	struct fm_name *n, *old = NULL;
	struct fm_stream *s;
	uint64_t gen;
	long busy;

	/* Under the lock fm_stream_gone cannot free the stream under us. */
	pthread_mutex_lock(&vol->ctx_lock);
	s = fm_stream_of(vol, fo);
	if (!s) {
		pthread_mutex_unlock(&vol->ctx_lock);
		*st = STATUS_INSUFFICIENT_RESOURCES;
		return NULL;
	}
	/* Read before the name is computed: see the comment at the top. */
	busy = atomic_load(&vol->name_busy);
	gen = atomic_load(&vol->name_gen);
	if (!busy && s->name && s->name_gen == gen) {
		n = (struct fm_name *)s->name;
		fm_name_get(n);
		pthread_mutex_unlock(&vol->ctx_lock);
		atomic_fetch_add_explicit(&vol->name_hits, 1, memory_order_relaxed);
		*st = STATUS_SUCCESS;
		return n;
	}
	pthread_mutex_unlock(&vol->ctx_lock);
	atomic_fetch_add_explicit(&vol->name_misses, 1, memory_order_relaxed);
	if (FltGetFileNameQueryMethod(options) == FLT_FILE_NAME_QUERY_CACHE_ONLY) {
		*st = STATUS_FLT_NAME_CACHE_MISS;
		return NULL;
	}
	n = fm_name_current(vol, fo, FLT_FILE_NAME_NORMALIZED, st);
	if (!n || (options & FLT_FILE_NAME_DO_NOT_CACHE))
		return n;
	pthread_mutex_lock(&vol->ctx_lock);
	/* A name computed during a rename is stale once it ends; the stream
	 * may have gone meanwhile (then it is not the header's any more);
	 * never replace a name computed at a later generation. */
	if (!busy && atomic_load(&hdr->stream) == s &&
	    (!s->name || s->name_gen <= gen)) {
		old = (struct fm_name *)s->name;
		fm_name_get(n);
		s->name = &n->info;
		s->name_gen = gen;
	}
	pthread_mutex_unlock(&vol->ctx_lock);
	if (old)
		fm_name_put(old);
	return n;
}

/* The final component of a name, as a short name (no volume, no path). */
static struct fm_name *fm_name_short(struct fm_name *full, NTSTATUS *st)
{
	size_t vol = full->info.Volume.Length / sizeof(WCHAR);
	UNICODE_STRING final;

	fm_split(full->buf + vol, full->info.Name.Length / sizeof(WCHAR) - vol, NULL,
		 &final, NULL, NULL);
	return fm_name_new(NULL, final.Buffer, final.Length / sizeof(WCHAR),
			   FLT_FILE_NAME_SHORT, st);
}

static bool fm_options_valid(FLT_FILE_NAME_OPTIONS o)
{
	ULONG format = FltGetFileNameFormat(o), method = FltGetFileNameQueryMethod(o);

	if (o & ~(FLT_VALID_FILE_NAME_FORMATS | FLT_VALID_FILE_NAME_QUERY_METHODS |
		  FLT_FILE_NAME_REQUEST_FROM_CURRENT_PROVIDER |
		  FLT_FILE_NAME_DO_NOT_CACHE | FLT_FILE_NAME_ALLOW_QUERY_ON_REPARSE))
		return false;
	return format >= FLT_FILE_NAME_NORMALIZED && format <= FLT_FILE_NAME_SHORT &&
	       method >= FLT_FILE_NAME_QUERY_DEFAULT &&
	       method <= FLT_FILE_NAME_QUERY_ALWAYS_ALLOW_CACHE_LOOKUP;
}

/* Every query ends here: opening tells a file object not open yet. */
static NTSTATUS fm_query(struct fm_volume *vol, PFILE_OBJECT fo, bool opening,
			 FLT_FILE_NAME_OPTIONS options,
			 PFLT_FILE_NAME_INFORMATION *out)
{
	ULONG format = FltGetFileNameFormat(options);
	ULONG method = FltGetFileNameQueryMethod(options);
	struct fm_name *n;
	NTSTATUS st;

	if (format == FLT_FILE_NAME_SHORT) {
		struct fm_name *full;

		if (opening)
			return STATUS_INVALID_PARAMETER;
		options = (options & ~FLT_VALID_FILE_NAME_FORMATS) |
			  FLT_FILE_NAME_NORMALIZED;
		st = fm_query(vol, fo, false, options, out);
		if (!NT_SUCCESS(st))
			return st;
		full = (struct fm_name *)*out;
		*out = NULL;
		n = fm_name_short(full, &st);
		fm_name_put(full);
	} else if (opening || !fo->FsContext) {
		if (method == FLT_FILE_NAME_QUERY_CACHE_ONLY)
			return STATUS_FLT_NAME_CACHE_MISS;
		n = fm_name_opening(vol, fo, format, &st);
	} else if (format == FLT_FILE_NAME_OPENED) {
		if (method == FLT_FILE_NAME_QUERY_CACHE_ONLY)
			return STATUS_FLT_NAME_CACHE_MISS;
		n = fm_name_current(vol, fo, FLT_FILE_NAME_OPENED, &st);
	} else if (method == FLT_FILE_NAME_QUERY_FILESYSTEM_ONLY) {
		n = fm_name_current(vol, fo, FLT_FILE_NAME_NORMALIZED, &st);
	} else {
		n = fm_name_cached(vol, fo, options, &st);
	}
	if (n)
		*out = &n->info;
	return st;
}

static struct fm_instance *fm_inst(PFLT_INSTANCE i)
{
	struct fm_instance *inst = (struct fm_instance *)i;

	return inst && inst->obj.type == FM_OBJ_INSTANCE ? inst : NULL;
}

NTSTATUS FLTAPI FltGetFileNameInformation(PFLT_CALLBACK_DATA CallbackData,
					  FLT_FILE_NAME_OPTIONS NameOptions,
					  PFLT_FILE_NAME_INFORMATION *NameInfo)
{
	struct fm_instance *inst;
	PFILE_OBJECT fo;
	bool opening;

	if (!NameInfo)
		return STATUS_INVALID_PARAMETER;
	*NameInfo = NULL;
	if (!CallbackData || !CallbackData->Iopb || !fm_options_valid(NameOptions))
		return STATUS_INVALID_PARAMETER;
	inst = fm_inst(CallbackData->Iopb->TargetInstance);
	fo = CallbackData->Iopb->TargetFileObject;
	if (!inst || !fo)
		return STATUS_INVALID_PARAMETER;
	opening = CallbackData->Iopb->MajorFunction == IRP_MJ_CREATE &&
		  !(CallbackData->Flags & FLTFL_CALLBACK_DATA_POST_OPERATION);
	return fm_query(inst->volume, fo, opening, NameOptions, NameInfo);
}

NTSTATUS FLTAPI FltGetFileNameInformationUnsafe(PFILE_OBJECT FileObject,
						PFLT_INSTANCE Instance,
						FLT_FILE_NAME_OPTIONS NameOptions,
						PFLT_FILE_NAME_INFORMATION *NameInfo)
{
	struct fm_instance *inst = fm_inst(Instance);
	struct fm_volume *vol = inst ? inst->volume : NULL;

	if (!NameInfo)
		return STATUS_INVALID_PARAMETER;
	*NameInfo = NULL;
	if (!FileObject || (Instance && !inst) || !fm_options_valid(NameOptions))
		return STATUS_INVALID_PARAMETER;
	if (!vol && FileObject->FsContext) {
		struct fm_stream *s =
			atomic_load(&((struct fm_fcb_header *)FileObject->FsContext)->stream);

		vol = s ? s->vol : NULL;
	}
	if (!vol)
		return STATUS_INVALID_PARAMETER;
	return fm_query(vol, FileObject, false, NameOptions, NameInfo);
}

/* ---- rename and link targets ---- */

static bool fm_has_prefix(const WCHAR *s, size_t n, const UNICODE_STRING *pre)
{
	size_t np = pre->Length / sizeof(WCHAR);

	return n >= np && !memcmp(s, pre->Buffer, np * sizeof(WCHAR));
}

NTSTATUS FLTAPI FltGetDestinationFileNameInformation(
	PFLT_INSTANCE Instance, PFILE_OBJECT FileObject, HANDLE RootDirectory,
	PWSTR FileName, ULONG FileNameLength, FLT_FILE_NAME_OPTIONS NameOptions,
	PFLT_FILE_NAME_INFORMATION *RetFileNameInformation)
{
	static const WCHAR device[] = { '\\', 'D', 'e', 'v', 'i', 'c', 'e', '\\' };
	static const UNICODE_STRING device_prefix = { sizeof(device), sizeof(device),
						      (PWCH)device };
	struct fm_instance *inst = fm_inst(Instance);
	size_t n = FileNameLength / sizeof(WCHAR);
	ULONG format = FltGetFileNameFormat(NameOptions);
	struct fm_volume *vol;
	struct fm_name *res = NULL;
	NTSTATUS st;

	if (!RetFileNameInformation)
		return STATUS_INVALID_PARAMETER;
	*RetFileNameInformation = NULL;
	if (!inst || !FileObject || !FileName || !n || (FileNameLength & 1) ||
	    !fm_options_valid(NameOptions) || format == FLT_FILE_NAME_SHORT)
		return STATUS_INVALID_PARAMETER;
	if (RootDirectory)
		return STATUS_INVALID_PARAMETER;
	vol = inst->volume;
	if (fm_has_prefix(FileName, n, &vol->device_name) &&
	    (n == vol->device_name.Length / sizeof(WCHAR) ||
	     FileName[vol->device_name.Length / sizeof(WCHAR)] == L'\\')) {
		/* \Device\<this volume>\...: the form the I/O manager passes. */
		res = fm_name_new(NULL, FileName, n, format, &st);
		if (res) {
			res->info.Volume.Buffer = res->buf;
			res->info.Volume.Length = vol->device_name.Length;
			res->info.Volume.MaximumLength = vol->device_name.Length;
		}
	} else if (fm_has_prefix(FileName, n, &device_prefix)) {
		return STATUS_NOT_SAME_DEVICE;
	} else if (FileName[0] == L'\\') {
		res = fm_name_new(&vol->device_name, FileName, n, format, &st);
	} else {
		/* A bare name: the source's directory. */
		PFLT_FILE_NAME_INFORMATION src;
		WCHAR *joined;
		size_t vl, plen;

		st = fm_query(vol, FileObject, false,
			      FLT_FILE_NAME_NORMALIZED | FLT_FILE_NAME_QUERY_DEFAULT,
			      &src);
		if (!NT_SUCCESS(st))
			return st;
		FltParseFileNameInformation(src);
		vl = src->Volume.Length / sizeof(WCHAR);
		plen = src->ParentDir.Length / sizeof(WCHAR);
		joined = malloc((plen + n) * sizeof(WCHAR));
		if (joined) {
			memcpy(joined, src->Name.Buffer + vl, plen * sizeof(WCHAR));
			memcpy(joined + plen, FileName, n * sizeof(WCHAR));
			res = fm_name_new(&vol->device_name, joined, plen + n, format, &st);
			free(joined);
		} else {
			st = STATUS_INSUFFICIENT_RESOURCES;
		}
		FltReleaseFileNameInformation(src);
	}
	if (res)
		*RetFileNameInformation = &res->info;
	return st;
}

NTSTATUS FLTAPI FltGetTunneledName(PFLT_CALLBACK_DATA CallbackData,
				   PFLT_FILE_NAME_INFORMATION NameInfo,
				   PFLT_FILE_NAME_INFORMATION *RetTunneledFileNameInformation)
{
	if (!RetTunneledFileNameInformation)
		return STATUS_INVALID_PARAMETER;
	*RetTunneledFileNameInformation = NULL;
	if (!CallbackData || !fm_name_of(NameInfo))
		return STATUS_INVALID_PARAMETER;
	return STATUS_SUCCESS;
}

/* ---- the cache's housekeeping ---- */

NTSTATUS FLTAPI FltPurgeFileNameInformationCache(PFLT_INSTANCE Instance,
						 PFILE_OBJECT FileObject)
{
	struct fm_instance *inst = fm_inst(Instance);
	struct fm_volume *vol;
	struct fm_stream *s;
	struct fm_name *old = NULL;

	if (!inst)
		return STATUS_INVALID_PARAMETER;
	vol = inst->volume;
	if (!FileObject) {
		fm_names_changed(vol);
		return STATUS_SUCCESS;
	}
	if (!FileObject->FsContext)
		return STATUS_SUCCESS;
	pthread_mutex_lock(&vol->ctx_lock);
	s = atomic_load(&((struct fm_fcb_header *)FileObject->FsContext)->stream);
	if (s) {
		old = (struct fm_name *)s->name;
		s->name = NULL;
	}
	pthread_mutex_unlock(&vol->ctx_lock);
	if (old)
		fm_name_put(old);
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltGetFileNameCacheStatisticsLx(PFLT_VOLUME Volume, PULONGLONG Hits,
						PULONGLONG Misses)
{
	struct fm_volume *vol = (struct fm_volume *)Volume;

	if (!vol || vol->obj.type != FM_OBJ_VOLUME)
		return STATUS_INVALID_PARAMETER;
	if (Hits)
		*Hits = atomic_load_explicit(&vol->name_hits, memory_order_relaxed);
	if (Misses)
		*Misses = atomic_load_explicit(&vol->name_misses, memory_order_relaxed);
	return STATUS_SUCCESS;
}

void fm_names_stream_gone(struct fm_stream *stream)
{
	struct fm_name *n = (struct fm_name *)stream->name;

	stream->name = NULL;
	if (n)
		fm_name_put(n); /* frees nothing but memory: fine under ctx_lock */
}

void fm_names_volume_gone(struct fm_volume *vol)
{
	uint64_t hits = atomic_load(&vol->name_hits);
	uint64_t misses = atomic_load(&vol->name_misses);

	if (!hits && !misses)
		return;
	rtl_log(LOG_INFO,
		"volume %s: name cache %llu hits, %llu misses (%.1f%% hit rate)",
		vol->name, (unsigned long long)hits, (unsigned long long)misses,
		100.0 * (double)hits / (double)(hits + misses));
}
