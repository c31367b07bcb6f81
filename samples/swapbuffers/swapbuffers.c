/*
 * swapbuffers.c - a buffer-swapping minifilter in the manner of the WDK's
 * SwapBuffers sample: file data is stored transformed on disk and programs
 * reading and writing through the volume see it as it was written.
 *
 * The transform is an XOR with a ChaCha20 keystream chosen by the byte's
 * offset in the file and a key derived from the Key parameter
 * (keystream.h): any byte range transforms on its own, so random access at
 * any offset works, and the length never changes, so sizes and directory
 * listings stay right without the filter touching them.
 *
 *   IRP_MJ_WRITE  registered with FLTFL_OPERATION_REGISTRATION_SKIP_CACHED_IO:
 *                 the filter sees the paging and non-cached writes that put
 *                 data on disk (a program's write(2), mmap write-back,
 *                 O_DIRECT, a filter's FltWriteFile above this one).  The
 *                 pre callback swaps in a buffer from
 *                 FltAllocatePoolAlignedWithTag holding the transformed data
 *                 (WriteBuffer and an MDL for it in MdlAddress,
 *                 FltSetCallbackDataDirty); the post callback, which sees the
 *                 program's buffer restored, frees it.
 *   IRP_MJ_READ   the same flag; the post callback transforms the data in
 *                 place in the buffer the read filled.
 *   Holes         a region the file system fills with zeros (a write past
 *                 the end, a truncate or fallocate that extends the file)
 *                 would read back as keystream.  Before such a write or
 *                 truncate, and after such an fallocate, the filter writes
 *                 transformed zeros over the new region with FltWriteFile
 *                 (seen by the instances below only).  A per-file push lock
 *                 (stream context) makes this atomic with respect to other
 *                 writes: writes hold it shared, extensions exclusively.
 *   FSCTLs        FSCTL_LX_COPY_TO_DESCRIPTOR and FSCTL_LX_LINK_TO_DIRECTORY
 *                 (a raw copy or link of the file's blocks would bypass the
 *                 transform) are completed with
 *                 STATUS_INVALID_DEVICE_REQUEST, so the issuer falls back to
 *                 FltReadFile and gets plaintext; FSCTL_SET_ZERO_DATA
 *                 (fallocate PUNCH_HOLE / ZERO_RANGE) and
 *                 FSCTL_DUPLICATE_EXTENTS_TO_FILE with STATUS_NOT_SUPPORTED
 *                 (EOPNOTSUPP: programs fall back to writing).
 *
 * Parameters (the service's Parameters key):
 *   Key  (SZ)  the passphrase; the filter refuses to load without one.
 *
 * Build: cc -shared -fPIC $(pkg-config --cflags fltkernel) swapbuffers.c
 * keystream.c -o swapbuffers.so; load with -f swapbuffers.so@ALTITUDE
 * -p swapbuffers.Key=... (an altitude in the encryption range, 140000 to
 * 149999, puts it below most other filters).
 *
 * What it deliberately is not: encryption to rely on.  Every file and
 * every rewrite of an offset uses the same keystream, and nothing is
 * authenticated; the point is the buffer swapping.  Files that existed
 * before the filter was attached are read back transformed (garbage),
 * as with any filter that changes data at rest.  A program's O_DIRECT
 * write that starts past the end of the file at an unaligned end fails
 * (EINVAL): the zeros before it go through the program's O_DIRECT
 * descriptor.
 */
#include <fltKernel.h>

#include "keystream.h"

#include <string.h>

#define SB_TAG 0x66776253u /* "Sbwf" */
#define SB_FILL_CHUNK (64 * 1024)

DRIVER_INITIALIZE DriverEntry __attribute__((visibility("default")));

static struct {
	PFLT_FILTER filter;
	struct ks_key key;
} sb;

/* Per file (stream): orders extensions against other writes. */
struct sb_stream {
	EX_PUSH_LOCK lock;
};

/* What a write's or an extension's post callback undoes. */
struct sb_completion {
	PVOID buffer; /* the swapped-in buffer, or NULL */
	PMDL mdl;
	struct sb_stream *stream; /* referenced, lock held */
	BOOLEAN exclusive;
	LONGLONG size_before; /* FileAllocationInformation: the size before */
};

/* ---- Streams and sizes ------------------------------------------------- */

static VOID FLTAPI sb_stream_cleanup(PFLT_CONTEXT Context,
				     FLT_CONTEXT_TYPE ContextType)
{
	UNREFERENCED_PARAMETER(ContextType);
	FltDeletePushLock(&((struct sb_stream *)Context)->lock);
}

/* The file's stream context, created on first use; referenced. */
static NTSTATUS sb_stream_get(PCFLT_RELATED_OBJECTS FltObjects,
			      struct sb_stream **out)
{
	struct sb_stream *s = NULL;
	PFLT_CONTEXT old = NULL;
	NTSTATUS st;

	st = FltGetStreamContext(FltObjects->Instance, FltObjects->FileObject,
				 (PFLT_CONTEXT *)&s);
	if (NT_SUCCESS(st)) {
		*out = s;
		return st;
	}
	st = FltAllocateContext(sb.filter, FLT_STREAM_CONTEXT, sizeof(*s),
				NonPagedPool, (PFLT_CONTEXT *)&s);
	if (!NT_SUCCESS(st))
		return st;
	FltInitializePushLock(&s->lock);
	st = FltSetStreamContext(FltObjects->Instance, FltObjects->FileObject,
				 FLT_SET_CONTEXT_KEEP_IF_EXISTS, s, &old);
	if (st == STATUS_FLT_CONTEXT_ALREADY_DEFINED) {
		/* Another thread set one first: use that. */
		FltReleaseContext(s);
		*out = old;
		return STATUS_SUCCESS;
	}
	if (!NT_SUCCESS(st)) {
		FltReleaseContext(s);
		return st;
	}
	*out = s;
	return STATUS_SUCCESS;
}

static NTSTATUS sb_size(PCFLT_RELATED_OBJECTS FltObjects, LONGLONG *size)
{
	FILE_STANDARD_INFORMATION std;
	NTSTATUS st;

	st = FltQueryInformationFile(FltObjects->Instance, FltObjects->FileObject,
				     &std, sizeof(std), FileStandardInformation,
				     NULL);
	if (NT_SUCCESS(st))
		*size = std.EndOfFile.QuadPart;
	return st;
}

/* Writes transformed zeros over [from, to): what a hole must read as. */
static NTSTATUS sb_fill(PCFLT_RELATED_OBJECTS FltObjects, LONGLONG from,
			LONGLONG to)
{
	PUCHAR buf;
	NTSTATUS st = STATUS_SUCCESS;

	if (from >= to)
		return STATUS_SUCCESS;
	buf = FltAllocatePoolAlignedWithTag(FltObjects->Instance, NonPagedPool,
					    SB_FILL_CHUNK, SB_TAG);
	if (!buf)
		return STATUS_INSUFFICIENT_RESOURCES;
	while (from < to && NT_SUCCESS(st)) {
		ULONG n = to - from < SB_FILL_CHUNK ? (ULONG)(to - from)
						    : SB_FILL_CHUNK;
		LARGE_INTEGER off = { .QuadPart = from };
		ULONG done = 0;

		RtlZeroMemory(buf, n);
		ks_xor(&sb.key, (uint64_t)from, buf, buf, n);
		st = FltWriteFile(FltObjects->Instance, FltObjects->FileObject,
				  &off, n, buf,
				  FLTFL_IO_OPERATION_NON_CACHED |
					  FLTFL_IO_OPERATION_DO_NOT_UPDATE_BYTE_OFFSET,
				  &done, NULL, NULL);
		if (NT_SUCCESS(st) && done != n)
			st = STATUS_DISK_FULL;
		from += n;
	}
	FltFreePoolAlignedWithTag(FltObjects->Instance, buf, SB_TAG);
	return st;
}

/*
 * Takes the file's lock for a change that may extend the file to end:
 * shared when it starts at or before the current end, exclusive (with the
 * gap from the end to start filled) when it starts beyond.  fill_to is
 * where the gap ends: start for a write, end for a truncate.
 */
static NTSTATUS sb_lock_for(PCFLT_RELATED_OBJECTS FltObjects,
			    struct sb_completion *c, LONGLONG start,
			    LONGLONG fill_to, BOOLEAN always_exclusive)
{
	LONGLONG size = 0;
	NTSTATUS st;

	st = sb_stream_get(FltObjects, &c->stream);
	if (!NT_SUCCESS(st))
		return st;
	if (!always_exclusive) {
		FltAcquirePushLockShared(&c->stream->lock);
		st = sb_size(FltObjects, &size);
		if (NT_SUCCESS(st) && start <= size)
			return STATUS_SUCCESS;
		FltReleasePushLock(&c->stream->lock);
	}
	FltAcquirePushLockExclusive(&c->stream->lock);
	c->exclusive = TRUE;
	st = sb_size(FltObjects, &size);
	c->size_before = size;
	if (NT_SUCCESS(st) && size < fill_to)
		st = sb_fill(FltObjects, size, fill_to);
	return st;
}

static void sb_unlock(struct sb_completion *c)
{
	if (!c->stream)
		return;
	FltReleasePushLock(&c->stream->lock);
	FltReleaseContext(c->stream);
	c->stream = NULL;
}

static FLT_PREOP_CALLBACK_STATUS sb_fail(PFLT_CALLBACK_DATA Data,
					 struct sb_completion *c, NTSTATUS st)
{
	sb_unlock(c);
	ExFreePoolWithTag(c, SB_TAG);
	Data->IoStatus.Status = st;
	Data->IoStatus.Information = 0;
	return FLT_PREOP_COMPLETE;
}

/* ---- Writes ---------------------------------------------------------------- */

static FLT_PREOP_CALLBACK_STATUS FLTAPI
sb_pre_write(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects,
	     PVOID *CompletionContext)
{
	PFLT_PARAMETERS p = &Data->Iopb->Parameters;
	ULONG len = p->Write.Length;
	LONGLONG off = p->Write.ByteOffset.QuadPart;
	struct sb_completion *c;
	PVOID orig;
	NTSTATUS st;

	if (!len)
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	c = ExAllocatePoolZero(NonPagedPool, sizeof(*c), SB_TAG);
	if (!c) {
		Data->IoStatus.Status = STATUS_INSUFFICIENT_RESOURCES;
		Data->IoStatus.Information = 0;
		return FLT_PREOP_COMPLETE;
	}
	st = sb_lock_for(FltObjects, c, off, off, FALSE);
	if (!NT_SUCCESS(st))
		return sb_fail(Data, c, st);

	/* The data as the instance above left it: its MDL's, if it set one. */
	orig = p->Write.MdlAddress
		       ? MmGetSystemAddressForMdlSafe(p->Write.MdlAddress,
						      NormalPagePriority |
							      MdlMappingNoExecute)
		       : p->Write.WriteBuffer;
	c->buffer = FltAllocatePoolAlignedWithTag(FltObjects->Instance,
						  NonPagedPool, len, SB_TAG);
	if (!orig || !c->buffer) {
		if (c->buffer)
			FltFreePoolAlignedWithTag(FltObjects->Instance, c->buffer,
						  SB_TAG);
		return sb_fail(Data, c, STATUS_INSUFFICIENT_RESOURCES);
	}
	c->mdl = IoAllocateMdl(c->buffer, len, FALSE, FALSE, NULL);
	if (!c->mdl) {
		FltFreePoolAlignedWithTag(FltObjects->Instance, c->buffer, SB_TAG);
		return sb_fail(Data, c, STATUS_INSUFFICIENT_RESOURCES);
	}
	MmBuildMdlForNonPagedPool(c->mdl);
	ks_xor(&sb.key, (uint64_t)off, orig, c->buffer, len);

	p->Write.WriteBuffer = c->buffer;
	p->Write.MdlAddress = c->mdl;
	FltSetCallbackDataDirty(Data);
	*CompletionContext = c;
	return FLT_PREOP_SUCCESS_WITH_CALLBACK;
}

static FLT_POSTOP_CALLBACK_STATUS FLTAPI
sb_post_write(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects,
	      PVOID CompletionContext, FLT_POST_OPERATION_FLAGS Flags)
{
	struct sb_completion *c = CompletionContext;

	UNREFERENCED_PARAMETER(Flags);
	/* The filter manager gives the post callback the parameters this
	 * instance received; seeing its own buffer here would be a bug. */
	if (Data->Iopb->Parameters.Write.WriteBuffer == c->buffer)
		DbgPrint("swapbuffers: post-write saw the swapped buffer\n");
	IoFreeMdl(c->mdl);
	FltFreePoolAlignedWithTag(FltObjects->Instance, c->buffer, SB_TAG);
	sb_unlock(c);
	ExFreePoolWithTag(c, SB_TAG);
	return FLT_POSTOP_FINISHED_PROCESSING;
}

/* ---- Reads ------------------------------------------------------------------ */

static FLT_PREOP_CALLBACK_STATUS FLTAPI
sb_pre_read(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects,
	    PVOID *CompletionContext)
{
	UNREFERENCED_PARAMETER(FltObjects);
	*CompletionContext = NULL;
	return Data->Iopb->Parameters.Read.Length
		       ? FLT_PREOP_SUCCESS_WITH_CALLBACK
		       : FLT_PREOP_SUCCESS_NO_CALLBACK;
}

static FLT_POSTOP_CALLBACK_STATUS FLTAPI
sb_post_read(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects,
	     PVOID CompletionContext, FLT_POST_OPERATION_FLAGS Flags)
{
	PFLT_PARAMETERS p = &Data->Iopb->Parameters;
	ULONG_PTR n = Data->IoStatus.Information;
	PVOID buf;

	UNREFERENCED_PARAMETER(FltObjects);
	UNREFERENCED_PARAMETER(CompletionContext);
	if (!NT_SUCCESS(Data->IoStatus.Status) || !n ||
	    (Flags & FLTFL_POST_OPERATION_DRAINING))
		return FLT_POSTOP_FINISHED_PROCESSING;
	buf = p->Read.MdlAddress
		      ? MmGetSystemAddressForMdlSafe(p->Read.MdlAddress,
						     NormalPagePriority |
							     MdlMappingNoExecute)
		      : p->Read.ReadBuffer;
	if (n > p->Read.Length)
		n = p->Read.Length;
	if (buf)
		ks_xor(&sb.key, (uint64_t)p->Read.ByteOffset.QuadPart, buf, buf, n);
	return FLT_POSTOP_FINISHED_PROCESSING;
}

/* ---- Size changes ----------------------------------------------------------- */

static FLT_PREOP_CALLBACK_STATUS FLTAPI
sb_pre_set_information(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects,
		       PVOID *CompletionContext)
{
	PFLT_PARAMETERS p = &Data->Iopb->Parameters;
	FILE_INFORMATION_CLASS cls = p->SetFileInformation.FileInformationClass;
	struct sb_completion *c;
	LONGLONG end = 0;
	NTSTATUS st;

	if (cls == FileEndOfFileInformation &&
	    p->SetFileInformation.Length >= sizeof(FILE_END_OF_FILE_INFORMATION))
		end = ((PFILE_END_OF_FILE_INFORMATION)p->SetFileInformation.InfoBuffer)
			      ->EndOfFile.QuadPart;
	else if (cls != FileAllocationInformation)
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	if (!FltObjects->FileObject || !FltObjects->FileObject->FsContext)
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	c = ExAllocatePoolZero(NonPagedPool, sizeof(*c), SB_TAG);
	if (!c) {
		Data->IoStatus.Status = STATUS_INSUFFICIENT_RESOURCES;
		return FLT_PREOP_COMPLETE;
	}
	/* A truncate that extends: the new region as transformed zeros
	 * first.  An fallocate: its extension is filled after it. */
	st = sb_lock_for(FltObjects, c, 0, end, TRUE);
	if (!NT_SUCCESS(st))
		return sb_fail(Data, c, st);
	*CompletionContext = c;
	return FLT_PREOP_SUCCESS_WITH_CALLBACK;
}

static FLT_POSTOP_CALLBACK_STATUS FLTAPI
sb_post_set_information(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects,
			PVOID CompletionContext, FLT_POST_OPERATION_FLAGS Flags)
{
	struct sb_completion *c = CompletionContext;
	LONGLONG size;

	UNREFERENCED_PARAMETER(Flags);
	if (Data->Iopb->Parameters.SetFileInformation.FileInformationClass ==
		    FileAllocationInformation &&
	    NT_SUCCESS(Data->IoStatus.Status) &&
	    NT_SUCCESS(sb_size(FltObjects, &size)) && size > c->size_before) {
		NTSTATUS st = sb_fill(FltObjects, c->size_before, size);

		if (!NT_SUCCESS(st)) {
			Data->IoStatus.Status = st;
			Data->IoStatus.Information = 0;
		}
	}
	sb_unlock(c);
	ExFreePoolWithTag(c, SB_TAG);
	return FLT_POSTOP_FINISHED_PROCESSING;
}

/* ---- File system controls ---------------------------------------------------- */

static FLT_PREOP_CALLBACK_STATUS FLTAPI
sb_pre_fsctl(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects,
	     PVOID *CompletionContext)
{
	ULONG code = Data->Iopb->Parameters.FileSystemControl.Common.FsControlCode;

	UNREFERENCED_PARAMETER(FltObjects);
	UNREFERENCED_PARAMETER(CompletionContext);
	switch (code) {
	case FSCTL_LX_COPY_TO_DESCRIPTOR:
	case FSCTL_LX_LINK_TO_DIRECTORY:
		/* The issuer falls back to FltReadFile, which we transform
		 * (a link would keep the raw, encoded bytes). */
		Data->IoStatus.Status = STATUS_INVALID_DEVICE_REQUEST;
		break;
	case FSCTL_SET_ZERO_DATA:
	case FSCTL_DUPLICATE_EXTENTS_TO_FILE:
		Data->IoStatus.Status = STATUS_NOT_SUPPORTED;
		break;
	default:
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	}
	Data->IoStatus.Information = 0;
	return FLT_PREOP_COMPLETE;
}

/* ---- Registration ---------------------------------------------------------------- */

static const FLT_CONTEXT_REGISTRATION sb_contexts[] = {
	{ FLT_STREAM_CONTEXT, 0, sb_stream_cleanup, sizeof(struct sb_stream),
	  SB_TAG, NULL, NULL, NULL },
	{ FLT_CONTEXT_END },
};

static const FLT_OPERATION_REGISTRATION sb_operations[] = {
	{ IRP_MJ_READ, FLTFL_OPERATION_REGISTRATION_SKIP_CACHED_IO, sb_pre_read,
	  sb_post_read, NULL },
	{ IRP_MJ_WRITE, FLTFL_OPERATION_REGISTRATION_SKIP_CACHED_IO,
	  sb_pre_write, sb_post_write, NULL },
	{ IRP_MJ_SET_INFORMATION, 0, sb_pre_set_information,
	  sb_post_set_information, NULL },
	{ IRP_MJ_FILE_SYSTEM_CONTROL, 0, sb_pre_fsctl, NULL, NULL },
	{ IRP_MJ_OPERATION_END },
};

static NTSTATUS FLTAPI sb_unload(FLT_FILTER_UNLOAD_FLAGS Flags)
{
	UNREFERENCED_PARAMETER(Flags);
	FltUnregisterFilter(sb.filter);
	RtlSecureZeroMemory(&sb.key, sizeof(sb.key));
	return STATUS_SUCCESS;
}

static const FLT_REGISTRATION sb_registration = {
	.Size = sizeof(FLT_REGISTRATION),
	.Version = FLT_REGISTRATION_VERSION,
	.ContextRegistration = sb_contexts,
	.OperationRegistration = sb_operations,
	.FilterUnloadCallback = sb_unload,
};

/* Reads the Key value (REG_SZ) and derives the key from its UTF-16 text. */
static NTSTATUS sb_read_key(PUNICODE_STRING RegistryPath)
{
	UNICODE_STRING params = RTL_CONSTANT_STRING(L"Parameters");
	UNICODE_STRING name = RTL_CONSTANT_STRING(L"Key");
	UCHAR raw[sizeof(KEY_VALUE_PARTIAL_INFORMATION) + 1024];
	PKEY_VALUE_PARTIAL_INFORMATION info = (PVOID)raw;
	OBJECT_ATTRIBUTES oa;
	HANDLE service, key;
	ULONG got = 0, bytes;
	NTSTATUS st;

	InitializeObjectAttributes(&oa, RegistryPath, OBJ_KERNEL_HANDLE, NULL,
				   NULL);
	st = ZwOpenKey(&service, KEY_READ, &oa);
	if (!NT_SUCCESS(st))
		return st;
	InitializeObjectAttributes(&oa, &params, OBJ_KERNEL_HANDLE, service, NULL);
	st = ZwOpenKey(&key, KEY_READ, &oa);
	ZwClose(service);
	if (!NT_SUCCESS(st))
		return st;
	st = ZwQueryValueKey(key, &name, KeyValuePartialInformation, info,
			     sizeof(raw), &got);
	ZwClose(key);
	if (!NT_SUCCESS(st))
		return st;
	bytes = info->DataLength & ~1u;
	while (bytes >= 2 && ((PWCHAR)info->Data)[bytes / 2 - 1] == UNICODE_NULL)
		bytes -= 2;
	if (info->Type != REG_SZ || !bytes)
		return STATUS_INVALID_PARAMETER;
	ks_derive_key(info->Data, bytes, &sb.key);
	RtlSecureZeroMemory(raw, sizeof(raw));
	return STATUS_SUCCESS;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	NTSTATUS st;

	st = sb_read_key(RegistryPath);
	if (!NT_SUCCESS(st)) {
		DbgPrint("swapbuffers: no usable Key parameter (0x%08X): "
			 "refusing to load\n", (unsigned)st);
		return STATUS_INVALID_PARAMETER;
	}
	st = FltRegisterFilter(DriverObject, &sb_registration, &sb.filter);
	if (!NT_SUCCESS(st))
		return st;
	st = FltStartFiltering(sb.filter);
	if (!NT_SUCCESS(st))
		FltUnregisterFilter(sb.filter);
	return st;
}
