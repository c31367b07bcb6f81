/*
 * ctx.c - a context sample in the manner of the WDK's "ctx" minifilter:
 * every context type, and the file name service, doing something a reader
 * can check.
 *
 *   volume context         one per volume for this filter: the volume's
 *                          name and how many instances attached to it;
 *   instance context       per instance: creates and writes it saw;
 *   stream context         per file (inode; shared by hard links, kept
 *                          across renames): creates, writes, cleanups,
 *                          closes and renames, with the file's latest name;
 *   stream handle context  per open file: the name it was opened under and
 *                          the writes made through it;
 *   file context           per file: its name and how often it was opened.
 *
 * The context registration is seed 003's array exactly as the seed gives
 * it (instance, file, stream and stream handle contexts, one cleanup
 * routine); DriverEntry registers it followed by a volume context entry,
 * or, with the SeedOnly parameter, the seed's array itself, in which case
 * the sample does without volume contexts.
 *
 * Every context's cleanup routine counts its type and logs what the
 * context recorded, so a test can check that each context was cleaned up
 * exactly once and when: stream and file contexts when the inode goes,
 * stream handle contexts when the open file is released, instance
 * contexts at detach, volume contexts at unload.
 *
 * Parameters (the service's Parameters key, read in DriverEntry):
 *   LogFile   (SZ)    append one line per event: "ctx <event> ..."; each
 *                     line is one write(2) on an O_APPEND descriptor;
 *   SeedOnly  (DWORD) register seed 003's array as is (no volume contexts);
 *   LogOpens  (DWORD) also log every create with its parsed name
 *                     ("ctx open"), the name a pre-create sees
 *                     ("ctx precreate") and rename targets;
 *   NameCheck (DWORD) in post-create and pre-write, compare the cached name
 *                     with two file system queries around it, and log
 *                     "ctx STALE" when the file system agreed with itself
 *                     but the cache did not (tests rename with names never
 *                     reused, so the two queries agreeing means nothing was
 *                     renamed in between).
 *
 * Everything the sample reports also goes to DbgPrint (the daemon log),
 * except the per-operation lines.
 */
#include <fltKernel.h>

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

DRIVER_INITIALIZE DriverEntry __attribute__((visibility("default")));

/* ---- Contexts ------------------------------------------------------------ */

#define CTX_INSTANCE_CONTEXT_TAG 'cIxC'
#define CTX_FILE_CONTEXT_TAG 'cFxC'
#define CTX_STREAM_CONTEXT_TAG 'cSxC'
#define CTX_STREAMHANDLE_CONTEXT_TAG 'cHxC'
#define CTX_VOLUME_CONTEXT_TAG 'cVxC'
#define CTX_STRING_TAG 'tSxC'
#define CTX_RESOURCE_TAG 'cRxC'
#define CTX_PARAM_TAG 'cPxC'

typedef struct _CTX_VOLUME_CONTEXT {
	UNICODE_STRING Name; /* \Device\<volume> */
	LONG Instances; /* instances of this filter that attached */
} CTX_VOLUME_CONTEXT, *PCTX_VOLUME_CONTEXT;
#define CTX_VOLUME_CONTEXT_SIZE sizeof(CTX_VOLUME_CONTEXT)

typedef struct _CTX_INSTANCE_CONTEXT {
	PFLT_INSTANCE Instance;
	PFLT_VOLUME Volume;
	UNICODE_STRING VolumeName;
	LONG Creates;
	LONG Writes;
} CTX_INSTANCE_CONTEXT, *PCTX_INSTANCE_CONTEXT;
#define CTX_INSTANCE_CONTEXT_SIZE sizeof(CTX_INSTANCE_CONTEXT)

typedef struct _CTX_FILE_CONTEXT {
	UNICODE_STRING FileName;
	LONG Opens;
} CTX_FILE_CONTEXT, *PCTX_FILE_CONTEXT;
#define CTX_FILE_CONTEXT_SIZE sizeof(CTX_FILE_CONTEXT)

typedef struct _CTX_STREAM_CONTEXT {
	UNICODE_STRING FileName; /* the latest name, under Resource */
	LONG CreateCount;
	LONG CleanupCount;
	LONG CloseCount;
	LONG WriteCount;
	LONG RenameCount;
	PERESOURCE Resource;
} CTX_STREAM_CONTEXT, *PCTX_STREAM_CONTEXT;
#define CTX_STREAM_CONTEXT_SIZE sizeof(CTX_STREAM_CONTEXT)

typedef struct _CTX_STREAMHANDLE_CONTEXT {
	UNICODE_STRING FileName; /* the name it was opened under */
	LONG Writes;
} CTX_STREAMHANDLE_CONTEXT, *PCTX_STREAMHANDLE_CONTEXT;
#define CTX_STREAMHANDLE_CONTEXT_SIZE sizeof(CTX_STREAMHANDLE_CONTEXT)

static VOID FLTAPI CtxContextCleanup(PFLT_CONTEXT Context, FLT_CONTEXT_TYPE ContextType);

/* Seed 003's registration, as the seed gives it. */
const FLT_CONTEXT_REGISTRATION ContextRegistration[] = {

    { FLT_INSTANCE_CONTEXT,
      0,
      CtxContextCleanup,
      CTX_INSTANCE_CONTEXT_SIZE,
      CTX_INSTANCE_CONTEXT_TAG },

    { FLT_FILE_CONTEXT,
      0,
      CtxContextCleanup,
      CTX_FILE_CONTEXT_SIZE,
      CTX_FILE_CONTEXT_TAG },

    { FLT_STREAM_CONTEXT,
      0,
      CtxContextCleanup,
      CTX_STREAM_CONTEXT_SIZE,
      CTX_STREAM_CONTEXT_TAG },

    { FLT_STREAMHANDLE_CONTEXT,
      0,
      CtxContextCleanup,
      CTX_STREAMHANDLE_CONTEXT_SIZE,
      CTX_STREAMHANDLE_CONTEXT_TAG },

    { FLT_CONTEXT_END }
};

/* The seed's entries followed by a volume context (see DriverEntry). */
static FLT_CONTEXT_REGISTRATION CtxAllContexts[8];

/* The WDK sample places these in paged code; Altitude has no such thing. */
#ifdef ALLOC_PRAGMA
#pragma alloc_text(PAGE, CtxFindOrCreateFileContext)
#pragma alloc_text(PAGE, CtxFindOrCreateStreamContext)
#pragma alloc_text(PAGE, CtxUpdateNameInStreamContext)
#pragma alloc_text(PAGE, CtxCreateOrReplaceStreamHandleContext)
#endif

/* ---- Globals ----------------------------------------------------------------- */

enum { CT_VOLUME, CT_INSTANCE, CT_FILE, CT_STREAM, CT_STREAMHANDLE, CT_COUNT };
static const char *const CtxTypeNames[CT_COUNT] = {
	"volume", "instance", "file", "stream", "streamhandle"
};

static struct {
	PFLT_FILTER Filter;
	int LogFd;
	BOOLEAN SeedOnly;
	BOOLEAN LogOpens;
	BOOLEAN NameCheck;
	LONG Allocated[CT_COUNT];
	LONG Cleaned[CT_COUNT];
	LONG NamesChecked;
	LONG NamesStale;
} Globals = { .LogFd = -1 };

static int CtxTypeIndex(FLT_CONTEXT_TYPE Type)
{
	switch (Type) {
	case FLT_VOLUME_CONTEXT:
		return CT_VOLUME;
	case FLT_INSTANCE_CONTEXT:
		return CT_INSTANCE;
	case FLT_FILE_CONTEXT:
		return CT_FILE;
	case FLT_STREAM_CONTEXT:
		return CT_STREAM;
	default:
		return CT_STREAMHANDLE;
	}
}

/* ---- Reporting ---------------------------------------------------------------- */

static void CtxLog(const char *Format, ...) __attribute__((format(printf, 1, 2)));

static void CtxLog(const char *Format, ...)
{
	char line[4096];
	va_list ap;
	int n;

	if (Globals.LogFd < 0)
		return;
	va_start(ap, Format);
	n = vsnprintf(line, sizeof(line) - 1, Format, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(Globals.LogFd, line, (size_t)n) != n)
		DbgPrint("ctx: short log write\n");
}

/* A name as UTF-8 for the log ("-" for none). */
static const char *CtxUtf8(PCUNICODE_STRING Name, char *Out, ULONG Size)
{
	ULONG len = 0;

	if (!Name || !Name->Length) {
		snprintf(Out, Size, "-");
		return Out;
	}
	if (!NT_SUCCESS(RtlUnicodeToUTF8N(Out, Size - 1, &len, Name->Buffer,
					  Name->Length))) {
		snprintf(Out, Size, "?");
		return Out;
	}
	Out[len] = '\0';
	return Out;
}

/* ---- Strings and resources ---------------------------------------------------- */

static NTSTATUS CtxSetName(PUNICODE_STRING Dest, PCUNICODE_STRING Src)
{
	PWCH buf = NULL;

	if (Src->Length) {
		buf = ExAllocatePoolWithTag(PagedPool, Src->Length, CTX_STRING_TAG);
		if (!buf)
			return STATUS_INSUFFICIENT_RESOURCES;
		RtlCopyMemory(buf, Src->Buffer, Src->Length);
	}
	if (Dest->Buffer)
		ExFreePoolWithTag(Dest->Buffer, CTX_STRING_TAG);
	Dest->Buffer = buf;
	Dest->Length = Dest->MaximumLength = Src->Length;
	return STATUS_SUCCESS;
}

static void CtxFreeName(PUNICODE_STRING Name)
{
	if (Name->Buffer)
		ExFreePoolWithTag(Name->Buffer, CTX_STRING_TAG);
	RtlZeroMemory(Name, sizeof(*Name));
}

static PERESOURCE CtxAllocateResource(void)
{
	PERESOURCE r = ExAllocatePoolWithTag(NonPagedPool, sizeof(ERESOURCE),
					     CTX_RESOURCE_TAG);

	if (r && !NT_SUCCESS(ExInitializeResourceLite(r))) {
		ExFreePoolWithTag(r, CTX_RESOURCE_TAG);
		r = NULL;
	}
	return r;
}

static void CtxFreeResource(PERESOURCE Resource)
{
	ExDeleteResourceLite(Resource);
	ExFreePoolWithTag(Resource, CTX_RESOURCE_TAG);
}

/* ---- Allocation and cleanup ---------------------------------------------------- */

static NTSTATUS CtxAllocate(FLT_CONTEXT_TYPE Type, SIZE_T Size, PFLT_CONTEXT *Context)
{
	NTSTATUS st = FltAllocateContext(Globals.Filter, Type, Size,
					 Type == FLT_VOLUME_CONTEXT ? NonPagedPool
								    : PagedPool,
					 Context);

	if (NT_SUCCESS(st)) {
		RtlZeroMemory(*Context, Size);
		InterlockedIncrement(&Globals.Allocated[CtxTypeIndex(Type)]);
	}
	return st;
}

static VOID FLTAPI CtxContextCleanup(PFLT_CONTEXT Context, FLT_CONTEXT_TYPE ContextType)
{
	char name[2048];

	switch (ContextType) {
	case FLT_VOLUME_CONTEXT: {
		PCTX_VOLUME_CONTEXT v = Context;

		CtxLog("ctx cleanup volume %s instances=%d",
		       CtxUtf8(&v->Name, name, sizeof(name)), (int)v->Instances);
		DbgPrint("ctx: volume context of %wZ cleaned up\n", &v->Name);
		CtxFreeName(&v->Name);
		break;
	}
	case FLT_INSTANCE_CONTEXT: {
		PCTX_INSTANCE_CONTEXT i = Context;

		CtxLog("ctx cleanup instance %s creates=%d writes=%d",
		       CtxUtf8(&i->VolumeName, name, sizeof(name)), (int)i->Creates,
		       (int)i->Writes);
		CtxFreeName(&i->VolumeName);
		break;
	}
	case FLT_FILE_CONTEXT: {
		PCTX_FILE_CONTEXT f = Context;

		CtxLog("ctx cleanup file %s opens=%d",
		       CtxUtf8(&f->FileName, name, sizeof(name)), (int)f->Opens);
		CtxFreeName(&f->FileName);
		break;
	}
	case FLT_STREAM_CONTEXT: {
		PCTX_STREAM_CONTEXT s = Context;

		CtxLog("ctx cleanup stream %s creates=%d cleanups=%d closes=%d writes=%d renames=%d",
		       CtxUtf8(&s->FileName, name, sizeof(name)), (int)s->CreateCount,
		       (int)s->CleanupCount, (int)s->CloseCount, (int)s->WriteCount,
		       (int)s->RenameCount);
		CtxFreeName(&s->FileName);
		if (s->Resource)
			CtxFreeResource(s->Resource);
		break;
	}
	case FLT_STREAMHANDLE_CONTEXT: {
		PCTX_STREAMHANDLE_CONTEXT h = Context;

		CtxLog("ctx cleanup streamhandle %s writes=%d",
		       CtxUtf8(&h->FileName, name, sizeof(name)), (int)h->Writes);
		CtxFreeName(&h->FileName);
		break;
	}
	default:
		DbgPrint("ctx: cleanup of unexpected context type 0x%x\n", ContextType);
		return;
	}
	InterlockedIncrement(&Globals.Cleaned[CtxTypeIndex(ContextType)]);
}

/* ---- Find or create, as the WDK sample does ------------------------------------- */

static NTSTATUS CtxFindOrCreateStreamContext(PFLT_CALLBACK_DATA Data,
					     BOOLEAN CreateIfNotFound,
					     PCTX_STREAM_CONTEXT *StreamContext,
					     PBOOLEAN ContextCreated)
{
	PFLT_CONTEXT old = NULL;
	PCTX_STREAM_CONTEXT s;
	NTSTATUS st;

	*StreamContext = NULL;
	if (ContextCreated)
		*ContextCreated = FALSE;
	st = FltGetStreamContext(Data->Iopb->TargetInstance,
				 Data->Iopb->TargetFileObject, (PFLT_CONTEXT *)&s);
	if (NT_SUCCESS(st)) {
		*StreamContext = s;
		return st;
	}
	if (st != STATUS_NOT_FOUND || !CreateIfNotFound)
		return st;
	st = CtxAllocate(FLT_STREAM_CONTEXT, CTX_STREAM_CONTEXT_SIZE, (PFLT_CONTEXT *)&s);
	if (!NT_SUCCESS(st))
		return st;
	s->Resource = CtxAllocateResource();
	if (!s->Resource) {
		FltReleaseContext(s);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	/* Another thread may have set one meanwhile: keep the first. */
	st = FltSetStreamContext(Data->Iopb->TargetInstance, Data->Iopb->TargetFileObject,
				 FLT_SET_CONTEXT_KEEP_IF_EXISTS, s, &old);
	if (!NT_SUCCESS(st)) {
		FltReleaseContext(s);
		if (st != STATUS_FLT_CONTEXT_ALREADY_DEFINED)
			return st;
		*StreamContext = old;
		return STATUS_SUCCESS;
	}
	*StreamContext = s;
	if (ContextCreated)
		*ContextCreated = TRUE;
	return STATUS_SUCCESS;
}

static NTSTATUS CtxFindOrCreateFileContext(PFLT_CALLBACK_DATA Data,
					   PCUNICODE_STRING Name,
					   PCTX_FILE_CONTEXT *FileContext)
{
	PFLT_CONTEXT old = NULL;
	PCTX_FILE_CONTEXT f;
	NTSTATUS st;

	st = FltGetFileContext(Data->Iopb->TargetInstance, Data->Iopb->TargetFileObject,
			       (PFLT_CONTEXT *)&f);
	if (NT_SUCCESS(st)) {
		*FileContext = f;
		return st;
	}
	st = CtxAllocate(FLT_FILE_CONTEXT, CTX_FILE_CONTEXT_SIZE, (PFLT_CONTEXT *)&f);
	if (!NT_SUCCESS(st))
		return st;
	st = CtxSetName(&f->FileName, Name);
	if (NT_SUCCESS(st))
		st = FltSetFileContext(Data->Iopb->TargetInstance,
				       Data->Iopb->TargetFileObject,
				       FLT_SET_CONTEXT_KEEP_IF_EXISTS, f, &old);
	if (!NT_SUCCESS(st)) {
		FltReleaseContext(f);
		if (st != STATUS_FLT_CONTEXT_ALREADY_DEFINED)
			return st;
		f = old;
	}
	*FileContext = f;
	return STATUS_SUCCESS;
}

static NTSTATUS CtxUpdateNameInStreamContext(PCUNICODE_STRING Name,
					     PCTX_STREAM_CONTEXT StreamContext)
{
	NTSTATUS st;

	KeEnterCriticalRegion();
	ExAcquireResourceExclusiveLite(StreamContext->Resource, TRUE);
	st = CtxSetName(&StreamContext->FileName, Name);
	ExReleaseResourceLite(StreamContext->Resource);
	KeLeaveCriticalRegion();
	return st;
}

static NTSTATUS CtxCreateOrReplaceStreamHandleContext(PFLT_CALLBACK_DATA Data,
						      PCUNICODE_STRING Name)
{
	PCTX_STREAMHANDLE_CONTEXT h;
	PFLT_CONTEXT old = NULL;
	NTSTATUS st;

	st = CtxAllocate(FLT_STREAMHANDLE_CONTEXT, CTX_STREAMHANDLE_CONTEXT_SIZE,
			 (PFLT_CONTEXT *)&h);
	if (!NT_SUCCESS(st))
		return st;
	st = CtxSetName(&h->FileName, Name);
	if (NT_SUCCESS(st))
		st = FltSetStreamHandleContext(Data->Iopb->TargetInstance,
					       Data->Iopb->TargetFileObject,
					       FLT_SET_CONTEXT_REPLACE_IF_EXISTS, h, &old);
	if (old)
		FltReleaseContext(old);
	FltReleaseContext(h);
	return st;
}

/* ---- Names ------------------------------------------------------------------------ */

/*
 * The cached name against two file system queries around it: with names
 * never reused, fs1 == fs2 means nothing was renamed in between, so the
 * cache must have answered the same.
 */
static void CtxCheckName(PFLT_CALLBACK_DATA Data)
{
	PFLT_FILE_NAME_INFORMATION fs1 = NULL, cached = NULL, fs2 = NULL;
	char a[2048], b[2048];

	if (!NT_SUCCESS(FltGetFileNameInformation(Data, FLT_FILE_NAME_NORMALIZED |
							  FLT_FILE_NAME_QUERY_FILESYSTEM_ONLY,
						  &fs1)))
		goto out;
	if (!NT_SUCCESS(FltGetFileNameInformation(Data, FLT_FILE_NAME_NORMALIZED |
							  FLT_FILE_NAME_QUERY_DEFAULT,
						  &cached)))
		goto out;
	if (!NT_SUCCESS(FltGetFileNameInformation(Data, FLT_FILE_NAME_NORMALIZED |
							  FLT_FILE_NAME_QUERY_FILESYSTEM_ONLY,
						  &fs2)))
		goto out;
	if (!RtlEqualUnicodeString(&fs1->Name, &fs2->Name, FALSE))
		goto out; /* renamed meanwhile: nothing to compare */
	InterlockedIncrement(&Globals.NamesChecked);
	if (!RtlEqualUnicodeString(&fs1->Name, &cached->Name, FALSE)) {
		InterlockedIncrement(&Globals.NamesStale);
		CtxLog("ctx STALE %s cached=%s fs=%s",
		       FltGetIrpName(Data->Iopb->MajorFunction),
		       CtxUtf8(&cached->Name, a, sizeof(a)),
		       CtxUtf8(&fs1->Name, b, sizeof(b)));
		DbgPrint("ctx: stale name %wZ, the file is %wZ\n", &cached->Name,
			 &fs1->Name);
	}
out:
	if (fs1)
		FltReleaseFileNameInformation(fs1);
	if (cached)
		FltReleaseFileNameInformation(cached);
	if (fs2)
		FltReleaseFileNameInformation(fs2);
}

static void CtxLogParsedName(const char *Event, PFLT_FILE_NAME_INFORMATION Info)
{
	char n[2048], p[2048], f[1024], e[256], s[256];

	FltParseFileNameInformation(Info);
	CtxLog("ctx %s %s parent=%s final=%s ext=%s stream=%s", Event,
	       CtxUtf8(&Info->Name, n, sizeof(n)), CtxUtf8(&Info->ParentDir, p, sizeof(p)),
	       CtxUtf8(&Info->FinalComponent, f, sizeof(f)),
	       CtxUtf8(&Info->Extension, e, sizeof(e)), CtxUtf8(&Info->Stream, s, sizeof(s)));
}

/* ---- Operation callbacks ---------------------------------------------------------- */

static FLT_PREOP_CALLBACK_STATUS FLTAPI CtxPreCreate(PFLT_CALLBACK_DATA Data,
						     PCFLT_RELATED_OBJECTS FltObjects,
						     PVOID *CompletionContext)
{
	PFLT_FILE_NAME_INFORMATION info;

	UNREFERENCED_PARAMETER(FltObjects);
	*CompletionContext = NULL;
	if (Globals.LogOpens &&
	    NT_SUCCESS(FltGetFileNameInformation(Data, FLT_FILE_NAME_NORMALIZED |
								 FLT_FILE_NAME_QUERY_DEFAULT,
						 &info))) {
		CtxLogParsedName("precreate", info);
		FltReleaseFileNameInformation(info);
	}
	return FLT_PREOP_SUCCESS_WITH_CALLBACK;
}

static FLT_POSTOP_CALLBACK_STATUS FLTAPI CtxPostCreate(PFLT_CALLBACK_DATA Data,
						       PCFLT_RELATED_OBJECTS FltObjects,
						       PVOID CompletionContext,
						       FLT_POST_OPERATION_FLAGS Flags)
{
	PFLT_FILE_NAME_INFORMATION info = NULL;
	PCTX_INSTANCE_CONTEXT ic = NULL;
	PCTX_STREAM_CONTEXT sc = NULL;
	PCTX_FILE_CONTEXT fc = NULL;
	NTSTATUS st;

	UNREFERENCED_PARAMETER(CompletionContext);
	if (!NT_SUCCESS(Data->IoStatus.Status) || (Flags & FLTFL_POST_OPERATION_DRAINING))
		return FLT_POSTOP_FINISHED_PROCESSING;
	if (NT_SUCCESS(FltGetInstanceContext(FltObjects->Instance, (PFLT_CONTEXT *)&ic))) {
		InterlockedIncrement(&ic->Creates);
		FltReleaseContext(ic);
	}
	st = FltGetFileNameInformation(Data, FLT_FILE_NAME_NORMALIZED |
						     FLT_FILE_NAME_QUERY_DEFAULT,
				       &info);
	if (!NT_SUCCESS(st)) {
		DbgPrint("ctx: no name in post-create: 0x%08x\n", (unsigned)st);
		return FLT_POSTOP_FINISHED_PROCESSING;
	}
	if (Globals.LogOpens)
		CtxLogParsedName("open", info);
	if (Globals.NameCheck)
		CtxCheckName(Data);

	st = CtxFindOrCreateStreamContext(Data, TRUE, &sc, NULL);
	if (NT_SUCCESS(st)) {
		InterlockedIncrement(&sc->CreateCount);
		CtxUpdateNameInStreamContext(&info->Name, sc);
		FltReleaseContext(sc);
	}
	if (NT_SUCCESS(CtxFindOrCreateFileContext(Data, &info->Name, &fc))) {
		InterlockedIncrement(&fc->Opens);
		FltReleaseContext(fc);
	}
	CtxCreateOrReplaceStreamHandleContext(Data, &info->Name);
	FltReleaseFileNameInformation(info);
	return FLT_POSTOP_FINISHED_PROCESSING;
}

static FLT_PREOP_CALLBACK_STATUS FLTAPI CtxPreWrite(PFLT_CALLBACK_DATA Data,
						    PCFLT_RELATED_OBJECTS FltObjects,
						    PVOID *CompletionContext)
{
	FLT_RELATED_CONTEXTS rc;
	PCTX_STREAM_CONTEXT sc;
	PCTX_STREAMHANDLE_CONTEXT hc;
	PCTX_INSTANCE_CONTEXT ic;

	*CompletionContext = NULL;
	/* Paging I/O is the page cache's, not a program's write. */
	if (Data->Iopb->IrpFlags & IRP_PAGING_IO)
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	FltGetContexts(FltObjects,
		       FLT_INSTANCE_CONTEXT | FLT_STREAM_CONTEXT | FLT_STREAMHANDLE_CONTEXT,
		       &rc);
	ic = rc.InstanceContext;
	sc = rc.StreamContext;
	hc = rc.StreamHandleContext;
	if (ic)
		InterlockedIncrement(&ic->Writes);
	if (sc)
		InterlockedIncrement(&sc->WriteCount);
	if (hc)
		InterlockedIncrement(&hc->Writes);
	FltReleaseContexts(&rc);
	if (Globals.NameCheck)
		CtxCheckName(Data);
	return FLT_PREOP_SUCCESS_NO_CALLBACK;
}

static FLT_PREOP_CALLBACK_STATUS FLTAPI CtxPreCleanupClose(PFLT_CALLBACK_DATA Data,
							   PCFLT_RELATED_OBJECTS FltObjects,
							   PVOID *CompletionContext)
{
	PCTX_STREAM_CONTEXT sc;

	UNREFERENCED_PARAMETER(FltObjects);
	*CompletionContext = NULL;
	if (NT_SUCCESS(CtxFindOrCreateStreamContext(Data, FALSE, &sc, NULL))) {
		if (Data->Iopb->MajorFunction == IRP_MJ_CLEANUP)
			InterlockedIncrement(&sc->CleanupCount);
		else
			InterlockedIncrement(&sc->CloseCount);
		FltReleaseContext(sc);
	}
	return FLT_PREOP_SUCCESS_NO_CALLBACK;
}

static BOOLEAN CtxIsRenameOrLink(FILE_INFORMATION_CLASS Class)
{
	return Class == FileRenameInformation || Class == FileRenameInformationEx ||
	       Class == FileLinkInformation || Class == FileLinkInformationEx;
}

static FLT_PREOP_CALLBACK_STATUS FLTAPI CtxPreSetInformation(PFLT_CALLBACK_DATA Data,
							     PCFLT_RELATED_OBJECTS FltObjects,
							     PVOID *CompletionContext)
{
	PFILE_RENAME_INFORMATION ri = Data->Iopb->Parameters.SetFileInformation.InfoBuffer;
	FILE_INFORMATION_CLASS cls =
		Data->Iopb->Parameters.SetFileInformation.FileInformationClass;
	PFLT_FILE_NAME_INFORMATION dest = NULL;
	NTSTATUS st;

	*CompletionContext = NULL;
	if (!CtxIsRenameOrLink(cls) || !ri)
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	/* FILE_LINK_INFORMATION has the same layout where it matters. */
	st = FltGetDestinationFileNameInformation(
		FltObjects->Instance, FltObjects->FileObject, ri->RootDirectory,
		ri->FileName, ri->FileNameLength,
		FLT_FILE_NAME_NORMALIZED | FLT_FILE_NAME_QUERY_DEFAULT, &dest);
	if (!NT_SUCCESS(st)) {
		DbgPrint("ctx: no destination name: 0x%08x\n", (unsigned)st);
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	}
	if (Globals.LogOpens) {
		char n[2048];

		CtxLog("ctx %s-target %s",
		       cls == FileLinkInformation || cls == FileLinkInformationEx ? "link"
										  : "rename",
		       CtxUtf8(&dest->Name, n, sizeof(n)));
	}
	*CompletionContext = dest;
	return FLT_PREOP_SUCCESS_WITH_CALLBACK;
}

static FLT_POSTOP_CALLBACK_STATUS FLTAPI CtxPostSetInformation(PFLT_CALLBACK_DATA Data,
							       PCFLT_RELATED_OBJECTS FltObjects,
							       PVOID CompletionContext,
							       FLT_POST_OPERATION_FLAGS Flags)
{
	PFLT_FILE_NAME_INFORMATION dest = CompletionContext, now = NULL;
	FILE_INFORMATION_CLASS cls =
		Data->Iopb->Parameters.SetFileInformation.FileInformationClass;
	PCTX_STREAM_CONTEXT sc;
	char a[2048], b[2048];

	UNREFERENCED_PARAMETER(FltObjects);
	UNREFERENCED_PARAMETER(Flags);
	if (!NT_SUCCESS(Data->IoStatus.Status) ||
	    (cls != FileRenameInformation && cls != FileRenameInformationEx) ||
	    !Data->Iopb->TargetFileObject->FsContext)
		goto out;
	/* The rename is done: the name service must give the new name. */
	if (!NT_SUCCESS(FltGetFileNameInformation(Data, FLT_FILE_NAME_NORMALIZED |
								FLT_FILE_NAME_QUERY_DEFAULT,
						  &now)))
		goto out;
	if (!RtlEqualUnicodeString(&now->Name, &dest->Name, FALSE))
		CtxLog("ctx RENAME-MISMATCH now=%s target=%s",
		       CtxUtf8(&now->Name, a, sizeof(a)), CtxUtf8(&dest->Name, b, sizeof(b)));
	else if (Globals.LogOpens)
		CtxLog("ctx renamed %s", CtxUtf8(&now->Name, a, sizeof(a)));
	if (NT_SUCCESS(CtxFindOrCreateStreamContext(Data, FALSE, &sc, NULL))) {
		InterlockedIncrement(&sc->RenameCount);
		CtxUpdateNameInStreamContext(&now->Name, sc);
		FltReleaseContext(sc);
	}
out:
	if (now)
		FltReleaseFileNameInformation(now);
	FltReleaseFileNameInformation(dest);
	return FLT_POSTOP_FINISHED_PROCESSING;
}

static const FLT_OPERATION_REGISTRATION Callbacks[] = {
	{ IRP_MJ_CREATE, 0, CtxPreCreate, CtxPostCreate },
	{ IRP_MJ_WRITE, 0, CtxPreWrite, NULL },
	{ IRP_MJ_CLEANUP, 0, CtxPreCleanupClose, NULL },
	{ IRP_MJ_CLOSE, 0, CtxPreCleanupClose, NULL },
	{ IRP_MJ_SET_INFORMATION, 0, CtxPreSetInformation, CtxPostSetInformation },
	{ IRP_MJ_OPERATION_END }
};

/* ---- Instances ---------------------------------------------------------------------- */

static NTSTATUS FLTAPI CtxInstanceSetup(PCFLT_RELATED_OBJECTS FltObjects,
					FLT_INSTANCE_SETUP_FLAGS Flags,
					DEVICE_TYPE VolumeDeviceType,
					FLT_FILESYSTEM_TYPE VolumeFilesystemType)
{
	PCTX_INSTANCE_CONTEXT ic = NULL;
	PCTX_VOLUME_CONTEXT vc = NULL;
	PFLT_CONTEXT old = NULL;
	UNICODE_STRING name;
	WCHAR buf[128];
	char u8[512];
	NTSTATUS st;

	UNREFERENCED_PARAMETER(Flags);
	UNREFERENCED_PARAMETER(VolumeDeviceType);
	UNREFERENCED_PARAMETER(VolumeFilesystemType);
	name.Buffer = buf;
	name.Length = 0;
	name.MaximumLength = sizeof(buf);
	st = FltGetVolumeName(FltObjects->Volume, &name, NULL);
	if (!NT_SUCCESS(st))
		return st;

	st = CtxAllocate(FLT_INSTANCE_CONTEXT, CTX_INSTANCE_CONTEXT_SIZE, (PFLT_CONTEXT *)&ic);
	if (!NT_SUCCESS(st))
		return st;
	ic->Instance = FltObjects->Instance;
	ic->Volume = FltObjects->Volume;
	st = CtxSetName(&ic->VolumeName, &name);
	if (NT_SUCCESS(st))
		st = FltSetInstanceContext(FltObjects->Instance,
					   FLT_SET_CONTEXT_KEEP_IF_EXISTS, ic, NULL);
	FltReleaseContext(ic);
	if (!NT_SUCCESS(st))
		return st;

	/* One volume context per volume for the filter, whichever instance
	 * comes first; it outlives the instances. */
	if (!Globals.SeedOnly &&
	    !NT_SUCCESS(FltGetVolumeContext(Globals.Filter, FltObjects->Volume,
					    (PFLT_CONTEXT *)&vc))) {
		st = CtxAllocate(FLT_VOLUME_CONTEXT, CTX_VOLUME_CONTEXT_SIZE,
				 (PFLT_CONTEXT *)&vc);
		if (!NT_SUCCESS(st))
			return st;
		st = CtxSetName(&vc->Name, &name);
		if (NT_SUCCESS(st))
			st = FltSetVolumeContext(FltObjects->Volume,
						 FLT_SET_CONTEXT_KEEP_IF_EXISTS, vc, &old);
		if (st == STATUS_FLT_CONTEXT_ALREADY_DEFINED) {
			FltReleaseContext(vc);
			vc = old;
		} else if (!NT_SUCCESS(st)) {
			FltReleaseContext(vc);
			return st;
		}
	}
	if (vc) {
		InterlockedIncrement(&vc->Instances);
		FltReleaseContext(vc);
	}
	CtxLog("ctx setup %s", CtxUtf8(&name, u8, sizeof(u8)));
	DbgPrint("ctx: instance attached to %wZ\n", &name);
	return STATUS_SUCCESS;
}

static NTSTATUS FLTAPI CtxInstanceQueryTeardown(PCFLT_RELATED_OBJECTS FltObjects,
						FLT_INSTANCE_QUERY_TEARDOWN_FLAGS Flags)
{
	UNREFERENCED_PARAMETER(FltObjects);
	UNREFERENCED_PARAMETER(Flags);
	return STATUS_SUCCESS;
}

static VOID FLTAPI CtxInstanceTeardownComplete(PCFLT_RELATED_OBJECTS FltObjects,
					       FLT_INSTANCE_TEARDOWN_FLAGS Reason)
{
	PCTX_INSTANCE_CONTEXT ic;
	ULONGLONG hits = 0, misses = 0;
	char u8[512];

	if (!NT_SUCCESS(FltGetInstanceContext(FltObjects->Instance, (PFLT_CONTEXT *)&ic)))
		return;
	FltGetFileNameCacheStatisticsLx(FltObjects->Volume, &hits, &misses);
	CtxLog("ctx teardown %s reason=0x%x creates=%d writes=%d namecache-hits=%llu namecache-misses=%llu",
	       CtxUtf8(&ic->VolumeName, u8, sizeof(u8)), (unsigned)Reason, (int)ic->Creates,
	       (int)ic->Writes, (unsigned long long)hits, (unsigned long long)misses);
	DbgPrint("ctx: instance on %wZ torn down: %d creates, %d writes; name cache %llu hits, %llu misses\n",
		 &ic->VolumeName, (int)ic->Creates, (int)ic->Writes,
		 (unsigned long long)hits, (unsigned long long)misses);
	FltReleaseContext(ic);
}

/* ---- Loading and unloading ------------------------------------------------------------ */

static void CtxSummary(void)
{
	char line[512];
	int n = 0;

	n += snprintf(line + n, sizeof(line) - (size_t)n, "ctx summary");
	for (int t = 0; t < CT_COUNT; t++)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " %s=%d/%d",
			      CtxTypeNames[t], (int)Globals.Allocated[t],
			      (int)Globals.Cleaned[t]);
	CtxLog("%s", line);
	CtxLog("ctx namecheck checked=%d stale=%d", (int)Globals.NamesChecked,
	       (int)Globals.NamesStale);
	DbgPrint("ctx: contexts allocated/cleaned up:%s\n", line + strlen("ctx summary"));
}

static NTSTATUS FLTAPI CtxUnload(FLT_FILTER_UNLOAD_FLAGS Flags)
{
	UNREFERENCED_PARAMETER(Flags);
	/* Returns once every instance is gone and every context cleaned up. */
	FltUnregisterFilter(Globals.Filter);
	Globals.Filter = NULL;
	CtxSummary();
	CtxLog("ctx unload");
	if (Globals.LogFd >= 0) {
		close(Globals.LogFd);
		Globals.LogFd = -1;
	}
	return STATUS_SUCCESS;
}

static FLT_REGISTRATION FilterRegistration = {
	sizeof(FLT_REGISTRATION),
	FLT_REGISTRATION_VERSION,
	0,
	ContextRegistration,
	Callbacks,
	CtxUnload,
	CtxInstanceSetup,
	CtxInstanceQueryTeardown,
	NULL,
	CtxInstanceTeardownComplete,
};

/* The value of a Parameters entry as a pool buffer, or NULL. */
static PKEY_VALUE_PARTIAL_INFORMATION CtxQueryValue(HANDLE Key, PCWSTR Name)
{
	PKEY_VALUE_PARTIAL_INFORMATION info;
	ULONG size = sizeof(*info) + 512, needed = 0;
	UNICODE_STRING name;
	NTSTATUS st;

	RtlInitUnicodeString(&name, Name);
	for (int attempt = 0; attempt < 2; attempt++) {
		info = ExAllocatePoolZero(PagedPool, size, CTX_PARAM_TAG);
		if (!info)
			return NULL;
		st = ZwQueryValueKey(Key, &name, KeyValuePartialInformation, info, size,
				     &needed);
		if (NT_SUCCESS(st))
			return info;
		ExFreePoolWithTag(info, CTX_PARAM_TAG);
		if (st != STATUS_BUFFER_OVERFLOW && st != STATUS_BUFFER_TOO_SMALL)
			return NULL;
		size = needed;
	}
	return NULL;
}

static BOOLEAN CtxQueryDword(HANDLE Key, PCWSTR Name)
{
	PKEY_VALUE_PARTIAL_INFORMATION info = CtxQueryValue(Key, Name);
	ULONG v = 0;

	if (!info)
		return FALSE;
	if (info->Type == REG_DWORD && info->DataLength >= sizeof(ULONG))
		RtlCopyMemory(&v, info->Data, sizeof(v));
	ExFreePoolWithTag(info, CTX_PARAM_TAG);
	return v != 0;
}

static void CtxOpenLog(HANDLE Key)
{
	PKEY_VALUE_PARTIAL_INFORMATION info = CtxQueryValue(Key, L"LogFile");
	UNICODE_STRING w;
	char path[1024];
	ULONG len = 0;

	if (!info)
		return;
	if (info->Type == REG_SZ && info->DataLength >= sizeof(WCHAR)) {
		w.Buffer = (PWCH)info->Data;
		w.Length = (USHORT)(info->DataLength & ~1u);
		while (w.Length && w.Buffer[w.Length / sizeof(WCHAR) - 1] == UNICODE_NULL)
			w.Length -= sizeof(WCHAR);
		if (NT_SUCCESS(RtlUnicodeToUTF8N(path, sizeof(path) - 1, &len, w.Buffer,
						 w.Length))) {
			path[len] = '\0';
			Globals.LogFd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
					     0644);
			if (Globals.LogFd < 0)
				DbgPrint("ctx: cannot open log file %s\n", path);
		}
	}
	ExFreePoolWithTag(info, CTX_PARAM_TAG);
}

static void CtxReadParameters(PUNICODE_STRING RegistryPath)
{
	UNICODE_STRING params = RTL_CONSTANT_STRING(L"Parameters");
	OBJECT_ATTRIBUTES oa;
	HANDLE service, key;

	InitializeObjectAttributes(&oa, RegistryPath,
				   OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, NULL);
	if (!NT_SUCCESS(ZwOpenKey(&service, KEY_READ, &oa)))
		return;
	InitializeObjectAttributes(&oa, &params, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE,
				   service, NULL);
	if (NT_SUCCESS(ZwOpenKey(&key, KEY_READ, &oa))) {
		CtxOpenLog(key);
		Globals.SeedOnly = CtxQueryDword(key, L"SeedOnly");
		Globals.LogOpens = CtxQueryDword(key, L"LogOpens");
		Globals.NameCheck = CtxQueryDword(key, L"NameCheck");
		ZwClose(key);
	}
	ZwClose(service);
}

/* The seed's entries, then a volume context entry, then the end. */
static void CtxBuildContextRegistration(void)
{
	ULONG n = 0;

	for (const FLT_CONTEXT_REGISTRATION *r = ContextRegistration;
	     r->ContextType != FLT_CONTEXT_END; r++)
		CtxAllContexts[n++] = *r;
	CtxAllContexts[n++] = (FLT_CONTEXT_REGISTRATION){
		FLT_VOLUME_CONTEXT, 0, CtxContextCleanup, CTX_VOLUME_CONTEXT_SIZE,
		CTX_VOLUME_CONTEXT_TAG
	};
	CtxAllContexts[n] = (FLT_CONTEXT_REGISTRATION){ FLT_CONTEXT_END };
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	NTSTATUS st;

	CtxReadParameters(RegistryPath);
	if (!Globals.SeedOnly) {
		CtxBuildContextRegistration();
		FilterRegistration.ContextRegistration = CtxAllContexts;
	}
	st = FltRegisterFilter(DriverObject, &FilterRegistration, &Globals.Filter);
	if (!NT_SUCCESS(st))
		goto fail;
	st = FltStartFiltering(Globals.Filter);
	if (!NT_SUCCESS(st)) {
		FltUnregisterFilter(Globals.Filter);
		goto fail;
	}
	CtxLog("ctx loaded registration=%s", Globals.SeedOnly ? "seed" : "seed+volume");
	return STATUS_SUCCESS;

fail:
	DbgPrint("ctx: DriverEntry failed: 0x%08x\n", (unsigned)st);
	if (Globals.LogFd >= 0)
		close(Globals.LogFd);
	Globals.LogFd = -1;
	return st;
}
