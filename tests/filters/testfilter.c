/*
 * testfilter.c - a configurable minifilter for the end-to-end tests.
 *
 * Built only from the public headers, as a vendor's filter would be.  All of
 * its behaviour comes from the service's Parameters key, read once in
 * DriverEntry through the RegistryPath it is given:
 *
 *   LogFile  (SZ)     append one line per callback: "<Tag> pre <IRP> <name>",
 *                     "<Tag> post <IRP> <name> 0x%08X", for a flush also
 *                     "<Tag> flush <name> minor 0x%02X" (its MinorFunction),
 *                     and setup, teardown and unload lines.  Every line is
 *                     a single write() on an O_APPEND descriptor, so lines
 *                     from several instances and threads never interleave
 *                     inside a line.
 *   Tag      (SZ)     the first word of each line, default "t".
 *   Operations (SZ)   "all" (default) or a comma list of IRP_MJ_* names.
 *   OpFlags  (DWORD)  FLT_OPERATION_REGISTRATION.Flags of every entry.
 *   DenyName, DenyMajor, DenyStatus
 *                     complete the pre-operation of DenyMajor (default
 *                     IRP_MJ_CREATE) with DenyStatus (default
 *                     STATUS_ACCESS_DENIED) when the last name component is
 *                     DenyName.
 *   PostMajor, PostStatus
 *                     replace a successful status with PostStatus in the
 *                     post-operation of PostMajor.
 *   FailDriverEntry (DWORD)  return this status from DriverEntry.
 *   SetupStatus (DWORD)      InstanceSetupCallback's return value.
 *   QueryTeardownStatus (DWORD) InstanceQueryTeardownCallback's return value
 *                            (a failure refuses a manual detach).
 *   UnloadStatus (DWORD)     FilterUnloadCallback refuses a non-mandatory
 *                            unload with this status when it is an error.
 *   CopyOnWrite (SZ)         before a program's first write or truncating
 *                            open of a file, copy it to <name><suffix> with
 *                            filter-initiated I/O.
 *   QueryOnOpen (SZ)         after a successful open of a file with this
 *                            last component, list ListDir (SZ, a volume-
 *                            relative directory, default "\") with
 *                            FltQueryDirectoryFile in class ListClass (DWORD,
 *                            default FileBothDirectoryInformation) through a
 *                            512-byte buffer: "<Tag> dir <name> <size>" per
 *                            entry (size -1 for FileNamesInformation), then
 *                            "<Tag> dir-end <status>"; with ListPattern (SZ)
 *                            also one entry at a time with that pattern:
 *                            "<Tag> match <name>", "<Tag> match-end <status>";
 *                            then FltQueryVolumeInformationFile:
 *                            "<Tag> vol-size <total bytes> <available bytes>",
 *                            "<Tag> vol-full <total> <caller available>",
 *                            "<Tag> vol-attr <fs name> <max name> <attrs>",
 *                            "<Tag> vol-label <label>",
 *                            "<Tag> vol-short <status>" (a buffer one name
 *                            character short), and FltQueryVolumeInformation:
 *                            "<Tag> vol2 <status> <total bytes>".
 *   CancelOpenName (SZ)      after a successful open of a file with this
 *                            last component, FltCancelFileOpen and fail the
 *                            open with CancelStatus (DWORD, default
 *                            STATUS_ACCESS_DENIED): "<Tag> cancelled <name>".
 *   FsctlOnOpen (SZ)         after a successful open of a file with this
 *                            last component, issue the back end's FSCTLs
 *                            with malformed and with valid input on it:
 *                            "<Tag> fsctl <case> 0x%08X" per call (tf_fsctl
 *                            lists the cases); FsctlDir (SZ), a directory
 *                            outside the volume, is the links' target and
 *                            holds the copy's target file.
 *
 * Every pre-operation asks for its post-operation and passes a known
 * completion context; a post-operation that gets anything else logs BADCTX.
 *
 * Deliberately absent: contexts and ports.  Each loaded
 * copy of the image has its own globals, which is why plain statics work.
 */
#include <fltKernel.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TF_TAG 0x74736554u /* "Test" */
#define TF_MAGIC ((PVOID)(ULONG_PTR)0x7e57c0de)
#define TF_NO_MAJOR 0xff
#define TF_STR_MAX 1024

DRIVER_INITIALIZE DriverEntry __attribute__((visibility("default")));

static struct {
	PFLT_FILTER filter;
	int log_fd;
	char tag[64];
	char deny_name[TF_STR_MAX];
	UCHAR deny_major;
	NTSTATUS deny_status;
	UCHAR post_major;
	NTSTATUS post_status;
	NTSTATUS setup_status;
	NTSTATUS query_teardown_status;
	NTSTATUS unload_status;
	char copy_suffix[32]; /* CopyOnWrite: keep <name><suffix> before a write */
	char query_on_open[TF_STR_MAX]; /* QueryOnOpen */
	char list_dir[TF_STR_MAX];
	char list_pattern[TF_STR_MAX];
	ULONG list_class;
	char cancel_name[TF_STR_MAX]; /* CancelOpenName */
	NTSTATUS cancel_status;
	char fsctl_name[TF_STR_MAX]; /* FsctlOnOpen */
	char fsctl_dir[TF_STR_MAX]; /* FsctlDir */
} tf = { .log_fd = -1, .deny_major = TF_NO_MAJOR, .post_major = TF_NO_MAJOR };

/* Every major code plus IRP_MJ_OPERATION_END. */
static FLT_OPERATION_REGISTRATION tf_ops[IRP_MJ_MAXIMUM_FUNCTION + 2];

/* ---- Logging ----------------------------------------------------------- */

static void tf_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void tf_log(const char *fmt, ...)
{
	char line[TF_STR_MAX * 4];
	va_list ap;
	int n;

	if (tf.log_fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line: O_APPEND makes it atomic with respect to others. */
	if (write(tf.log_fd, line, (size_t)n) != n)
		DbgPrint("testfilter %s: short log write\n", tf.tag);
}

/*
 * The target's name in UTF-8, "-" when there is none.  Long names are
 * truncated: the log is for tests, which use short names.
 */
static void tf_file_name(PFLT_CALLBACK_DATA Data, char *out, ULONG size)
{
	PFILE_OBJECT fo = Data->Iopb->TargetFileObject;
	ULONG len = 0;
	NTSTATUS st;

	if (!fo || !fo->FileName.Buffer || fo->FileName.Length == 0) {
		snprintf(out, size, "-");
		return;
	}
	st = RtlUnicodeToUTF8N(out, size - 1, &len, fo->FileName.Buffer,
			       fo->FileName.Length);
	if (!NT_SUCCESS(st) || len >= size) {
		snprintf(out, size, "?0x%08X", (unsigned)st);
		return;
	}
	out[len] = '\0';
}

static const char *tf_irp_name(UCHAR major)
{
	const char *name = FltGetIrpName(major);

	return name ? name : "IRP_MJ_?";
}

static const char *tf_last_component(const char *name)
{
	const char *slash = strrchr(name, '\\');

	return slash ? slash + 1 : name;
}

/* ---- Filter-initiated I/O: copy a file before its first write ----------------- */

/*
 * Copies the file a write is about to change to <name><suffix> with
 * FltCreateFileEx, FltReadFile and FltWriteFile, unless the copy exists
 * (FILE_CREATE fails).  This I/O is seen by the instances below this one
 * only; this instance never sees it, so it cannot recurse.
 */
static void tf_copy_before_write(PFLT_CALLBACK_DATA Data,
				 PCFLT_RELATED_OBJECTS FltObjects)
{
	PUNICODE_STRING src = &Data->Iopb->TargetFileObject->FileName;
	size_t slen = strlen(tf.copy_suffix), i;
	WCHAR dstbuf[TF_STR_MAX];
	UNICODE_STRING dst = { 0, sizeof(dstbuf), dstbuf };
	OBJECT_ATTRIBUTES oa;
	IO_STATUS_BLOCK iosb;
	HANDLE hs = NULL, hd = NULL;
	PFILE_OBJECT fs = NULL, fd = NULL;
	static char buf[65536];
	LARGE_INTEGER off = { .QuadPart = 0 };
	ULONGLONG total = 0;
	ULONG n = 0;
	NTSTATUS st;

	if (!src->Length || src->Length / sizeof(WCHAR) + slen >= TF_STR_MAX)
		return;
	/* Do not copy the copies. */
	if (src->Length / sizeof(WCHAR) >= slen) {
		const WCHAR *end = src->Buffer + src->Length / sizeof(WCHAR) - slen;

		for (i = 0; i < slen && end[i] == (WCHAR)tf.copy_suffix[i]; i++)
			;
		if (i == slen)
			return;
	}
	RtlCopyUnicodeString(&dst, src);
	for (i = 0; i < slen; i++)
		dst.Buffer[dst.Length / sizeof(WCHAR) + i] = (WCHAR)tf.copy_suffix[i];
	dst.Length += (USHORT)(slen * sizeof(WCHAR));

	/* The original first: nothing to keep if it does not exist. */
	InitializeObjectAttributes(&oa, src, OBJ_KERNEL_HANDLE, NULL, NULL);
	st = FltCreateFileEx(tf.filter, FltObjects->Instance, &hs, &fs,
			     FILE_GENERIC_READ, &oa, &iosb, NULL, 0,
			     FILE_SHARE_READ | FILE_SHARE_WRITE, FILE_OPEN,
			     FILE_NON_DIRECTORY_FILE, NULL, 0, 0);
	if (!NT_SUCCESS(st))
		return;
	InitializeObjectAttributes(&oa, &dst, OBJ_KERNEL_HANDLE, NULL, NULL);
	st = FltCreateFileEx(tf.filter, FltObjects->Instance, &hd, &fd,
			     FILE_GENERIC_WRITE, &oa, &iosb, NULL,
			     FILE_ATTRIBUTE_NORMAL, 0, FILE_CREATE,
			     FILE_NON_DIRECTORY_FILE, NULL, 0, 0);
	if (!NT_SUCCESS(st)) {
		if (st != STATUS_OBJECT_NAME_COLLISION)
			tf_log("%s copy-failed create 0x%08X", tf.tag, (unsigned)st);
		FltClose(hs);
		ObDereferenceObject(fs);
		return;
	}
	while (NT_SUCCESS(st)) {
		st = FltReadFile(FltObjects->Instance, fs, &off, sizeof(buf), buf, 0,
				 &n, NULL, NULL);
		if (st == STATUS_END_OF_FILE || (NT_SUCCESS(st) && !n)) {
			st = STATUS_SUCCESS;
			break;
		}
		if (NT_SUCCESS(st))
			st = FltWriteFile(FltObjects->Instance, fd, &off, n, buf, 0,
					  NULL, NULL, NULL);
		off.QuadPart += n;
		total += n;
	}
	FltClose(hs);
	ObDereferenceObject(fs);
	FltClose(hd);
	ObDereferenceObject(fd);
	tf_log("%s copied %llu 0x%08X", tf.tag, (unsigned long long)total,
	       (unsigned)st);
}

/* ---- Directory and volume queries, cancelled opens ---------------------------- */

static void tf_utf8(const WCHAR *w, ULONG bytes, char *out, ULONG size)
{
	ULONG len = 0;

	if (!NT_SUCCESS(RtlUnicodeToUTF8N(out, size - 1, &len, w, bytes)))
		len = 0;
	out[len] = '\0';
}

/* Logs the entries of one FltQueryDirectoryFile buffer of class cls. */
static void tf_log_entries(const char *what, const UCHAR *buf, ULONG cls)
{
	char name[TF_STR_MAX];

	for (;;) {
		const WCHAR *fname;
		ULONG flen, next;
		LONGLONG size = -1;

		switch (cls) {
		case FileDirectoryInformation: {
			const FILE_DIRECTORY_INFORMATION *e = (const void *)buf;

			fname = e->FileName, flen = e->FileNameLength;
			size = e->EndOfFile.QuadPart, next = e->NextEntryOffset;
			break;
		}
		case FileFullDirectoryInformation: {
			const FILE_FULL_DIR_INFORMATION *e = (const void *)buf;

			fname = e->FileName, flen = e->FileNameLength;
			size = e->EndOfFile.QuadPart, next = e->NextEntryOffset;
			break;
		}
		case FileIdBothDirectoryInformation: {
			const FILE_ID_BOTH_DIR_INFORMATION *e = (const void *)buf;

			fname = e->FileName, flen = e->FileNameLength;
			size = e->EndOfFile.QuadPart, next = e->NextEntryOffset;
			break;
		}
		case FileNamesInformation: {
			const FILE_NAMES_INFORMATION *e = (const void *)buf;

			fname = e->FileName, flen = e->FileNameLength;
			next = e->NextEntryOffset;
			break;
		}
		default: {
			const FILE_BOTH_DIR_INFORMATION *e = (const void *)buf;

			fname = e->FileName, flen = e->FileNameLength;
			size = e->EndOfFile.QuadPart, next = e->NextEntryOffset;
			break;
		}
		}
		tf_utf8(fname, flen, name, sizeof(name));
		if (size >= 0)
			tf_log("%s %s %s %lld", tf.tag, what, name, (long long)size);
		else
			tf_log("%s %s %s -1", tf.tag, what, name);
		if (!next)
			break;
		buf += next;
	}
}

static void tf_query_volume(PCFLT_RELATED_OBJECTS FltObjects, PFILE_OBJECT fo)
{
	union {
		FILE_FS_SIZE_INFORMATION size;
		FILE_FS_FULL_SIZE_INFORMATION full;
		FILE_FS_ATTRIBUTE_INFORMATION attr;
		FILE_FS_VOLUME_INFORMATION vol;
		UCHAR raw[512];
	} u;
	char name[256];
	IO_STATUS_BLOCK iosb;
	ULONG n = 0;
	NTSTATUS st;

	st = FltQueryVolumeInformationFile(FltObjects->Instance, fo, &u, sizeof(u),
					   FileFsSizeInformation, &n);
	if (NT_SUCCESS(st))
		tf_log("%s vol-size %llu %llu", tf.tag,
		       (unsigned long long)u.size.TotalAllocationUnits.QuadPart *
			       u.size.SectorsPerAllocationUnit *
			       u.size.BytesPerSector,
		       (unsigned long long)u.size.AvailableAllocationUnits.QuadPart *
			       u.size.SectorsPerAllocationUnit *
			       u.size.BytesPerSector);
	st = FltQueryVolumeInformationFile(FltObjects->Instance, fo, &u, sizeof(u),
					   FileFsFullSizeInformation, &n);
	if (NT_SUCCESS(st))
		tf_log("%s vol-full %llu %llu", tf.tag,
		       (unsigned long long)u.full.TotalAllocationUnits.QuadPart *
			       u.full.SectorsPerAllocationUnit *
			       u.full.BytesPerSector,
		       (unsigned long long)u.full.CallerAvailableAllocationUnits.QuadPart *
			       u.full.SectorsPerAllocationUnit *
			       u.full.BytesPerSector);
	st = FltQueryVolumeInformationFile(FltObjects->Instance, fo, &u, sizeof(u),
					   FileFsAttributeInformation, &n);
	if (NT_SUCCESS(st)) {
		tf_utf8(u.attr.FileSystemName, u.attr.FileSystemNameLength, name,
			sizeof(name));
		tf_log("%s vol-attr %s %ld 0x%08X", tf.tag, name,
		       (long)u.attr.MaximumComponentNameLength,
		       (unsigned)u.attr.FileSystemAttributes);
		st = FltQueryVolumeInformationFile(
			FltObjects->Instance, fo, &u,
			offsetof(FILE_FS_ATTRIBUTE_INFORMATION, FileSystemName) +
				u.attr.FileSystemNameLength - sizeof(WCHAR),
			FileFsAttributeInformation, &n);
		tf_log("%s vol-short 0x%08X", tf.tag, (unsigned)st);
	}
	st = FltQueryVolumeInformationFile(FltObjects->Instance, fo, &u, sizeof(u),
					   FileFsVolumeInformation, &n);
	if (NT_SUCCESS(st)) {
		tf_utf8(u.vol.VolumeLabel, u.vol.VolumeLabelLength, name,
			sizeof(name));
		tf_log("%s vol-label %s", tf.tag, name);
	}
	st = FltQueryVolumeInformation(FltObjects->Instance, &iosb, &u, sizeof(u),
				       FileFsSizeInformation);
	tf_log("%s vol2 0x%08X %llu", tf.tag, (unsigned)st,
	       NT_SUCCESS(st) ? (unsigned long long)u.size.TotalAllocationUnits.QuadPart *
					u.size.SectorsPerAllocationUnit *
					u.size.BytesPerSector
			      : 0ull);
}

/* QueryOnOpen: list ListDir, then the volume's information. */
static void tf_list(PCFLT_RELATED_OBJECTS FltObjects)
{
	static UCHAR buf[512] __attribute__((aligned(8)));
	WCHAR wdir[TF_STR_MAX], wpat[TF_STR_MAX];
	UNICODE_STRING dir = { 0, sizeof(wdir), wdir };
	UNICODE_STRING pat = { 0, sizeof(wpat), wpat };
	OBJECT_ATTRIBUTES oa;
	IO_STATUS_BLOCK iosb;
	PFILE_OBJECT fo = NULL;
	HANDLE h = NULL;
	BOOLEAN restart = TRUE;
	ULONG n = 0;
	NTSTATUS st;

	RtlUTF8ToUnicodeN(wdir, sizeof(wdir), &n, tf.list_dir, strlen(tf.list_dir));
	dir.Length = (USHORT)n;
	InitializeObjectAttributes(&oa, &dir, OBJ_KERNEL_HANDLE, NULL, NULL);
	st = FltCreateFileEx(tf.filter, FltObjects->Instance, &h, &fo,
			     FILE_LIST_DIRECTORY | SYNCHRONIZE, &oa, &iosb, NULL,
			     0, FILE_SHARE_READ | FILE_SHARE_WRITE, FILE_OPEN,
			     FILE_DIRECTORY_FILE, NULL, 0, 0);
	if (!NT_SUCCESS(st)) {
		tf_log("%s dir-open 0x%08X", tf.tag, (unsigned)st);
		return;
	}
	for (;;) {
		st = FltQueryDirectoryFile(FltObjects->Instance, fo, buf,
					   sizeof(buf), tf.list_class, FALSE,
					   NULL, restart, &n);
		restart = FALSE;
		if (!NT_SUCCESS(st))
			break;
		tf_log_entries("dir", buf, tf.list_class);
	}
	tf_log("%s dir-end 0x%08X", tf.tag, (unsigned)st);
	if (tf.list_pattern[0]) {
		RtlUTF8ToUnicodeN(wpat, sizeof(wpat), &n, tf.list_pattern,
				  strlen(tf.list_pattern));
		pat.Length = (USHORT)n;
		restart = TRUE;
		for (;;) {
			st = FltQueryDirectoryFile(FltObjects->Instance, fo, buf,
						   sizeof(buf), FileNamesInformation,
						   TRUE, &pat, restart, &n);
			restart = FALSE;
			if (!NT_SUCCESS(st))
				break;
			tf_log_entries("match", buf, FileNamesInformation);
		}
		tf_log("%s match-end 0x%08X", tf.tag, (unsigned)st);
	}
	tf_query_volume(FltObjects, fo);
	FltClose(h);
	ObDereferenceObject(fo);
}

/* ---- FsctlOnOpen -------------------------------------------------------- */

static void tf_fsctl_log(const char *name, NTSTATUS st)
{
	tf_log("%s fsctl %s 0x%08X", tf.tag, name, (unsigned)st);
}

/* FSCTL_LX_LINK_TO_DIRECTORY on fo with in (dir and name filled in,
 * unless the case sets them), lengths as given. */
static NTSTATUS tf_link(PCFLT_RELATED_OBJECTS o, const LX_LINK_TO_DIRECTORY_INPUT *in,
			ULONG in_len, ULONG out_len, LX_LINK_TO_DIRECTORY_OUTPUT *out)
{
	return FltFsControlFile(o->Instance, o->FileObject, FSCTL_LX_LINK_TO_DIRECTORY,
				(PVOID)in, in_len, out, out_len, NULL);
}

/* A copy at an offset (LX_COPY_AT_OFFSET) with in_len bytes of input. */
static NTSTATUS tf_copy_at(PCFLT_RELATED_OBJECTS o,
			   const LX_COPY_TO_DESCRIPTOR_INPUT_EX *in, ULONG in_len,
			   LX_COPY_TO_DESCRIPTOR_OUTPUT *out)
{
	return FltFsControlFile(o->Instance, o->FileObject, FSCTL_LX_COPY_TO_DESCRIPTOR,
				(PVOID)in, in_len, out, sizeof(*out), NULL);
}

/* Copies into the filter's memory (LX_COPY_TO_MEMORY): every malformed
 * request refused, one too small for the file refused, a good one reads
 * the content into the buffer and nothing past it. */
static void tf_fsctl_to_memory(PCFLT_RELATED_OBJECTS o, int fd,
			       LX_COPY_TO_DESCRIPTOR_OUTPUT *cout)
{
	char mem[64];
	LX_COPY_TO_DESCRIPTOR_INPUT_EX ex = {
		.TargetDescriptor = -1,
		.Flags = LX_COPY_TO_MEMORY,
		.TargetBuffer = mem,
	};
	NTSTATUS st;

	memset(mem, '#', sizeof(mem));
	ex.MaxLength.QuadPart = 40;
	tf_fsctl_log("copy-to-memory-short-input",
		     tf_copy_at(o, &ex, LX_COPY_AT_OFFSET_INPUT_LENGTH, cout));
	ex.TargetDescriptor = fd;
	tf_fsctl_log("copy-to-memory-with-descriptor",
		     tf_copy_at(o, &ex, sizeof(ex), cout));
	ex.TargetDescriptor = -1;
	ex.TargetBuffer = NULL;
	tf_fsctl_log("copy-to-memory-no-buffer", tf_copy_at(o, &ex, sizeof(ex), cout));
	ex.TargetBuffer = mem;
	ex.Flags = LX_COPY_TO_MEMORY | LX_COPY_AT_OFFSET;
	tf_fsctl_log("copy-to-memory-at-offset", tf_copy_at(o, &ex, sizeof(ex), cout));
	ex.Flags = LX_COPY_TO_MEMORY | LX_COPY_CLONE_ONLY;
	tf_fsctl_log("copy-to-memory-clone-only", tf_copy_at(o, &ex, sizeof(ex), cout));
	ex.Flags = LX_COPY_TO_MEMORY;
	ex.TargetOffset.QuadPart = 4096;
	tf_fsctl_log("copy-to-memory-with-offset", tf_copy_at(o, &ex, sizeof(ex), cout));
	ex.TargetOffset.QuadPart = 0;
	ex.MaxLength.QuadPart = 5;
	tf_fsctl_log("copy-to-memory-too-long", tf_copy_at(o, &ex, sizeof(ex), cout));
	ex.MaxLength.QuadPart = 40;
	memset(cout, 0, sizeof(*cout));
	st = tf_copy_at(o, &ex, sizeof(ex), cout);
	tf_fsctl_log("copy-to-memory", st);
	if (!NT_SUCCESS(st))
		return;
	mem[sizeof(mem) - 1] = '\0';
	mem[strcspn(mem, "\n")] = '|'; /* the file's newline, then the rest */
	tf_log("%s fsctl-copy-to-memory bytes %lld method %u consistent %u buffer %s",
	       tf.tag, (long long)cout->BytesCopied.QuadPart, (unsigned)cout->Method,
	       (unsigned)cout->Consistent, mem);
}

/*
 * The back end's FSCTLs on the program's file object, which the program
 * holds open: every malformed request is refused without touching the
 * file or FsctlDir, a well-formed link is refused because of the
 * program's open (STATUS_SHARING_VIOLATION), the query and the copy work.
 */
static void tf_fsctl(PCFLT_RELATED_OBJECTS o)
{
	static const struct {
		const char *name;
		const char *target;
		ULONG flags;
	} bad_names[] = {
		{ "link-empty-name", "", 0 },
		{ "link-absolute-name", "/etc/altitude-fsctl", 0 },
		{ "link-dotdot-name", "../escaped", 0 },
		{ "link-inner-dotdot-name", "sub/../../escaped", 0 },
		{ "link-dot-name", ".", 0 },
		{ "link-unknown-flags", "fine", 0x80 },
	};
	LX_LINK_TO_DIRECTORY_INPUT in;
	LX_LINK_TO_DIRECTORY_OUTPUT out;
	LX_COPY_TO_DESCRIPTOR_INPUT cin;
	LX_COPY_TO_DESCRIPTOR_OUTPUT cout;
	ULONG got = 0;
	NTSTATUS st;
	int dirfd, tmpfd;

	dirfd = open(tf.fsctl_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		tf_log("%s fsctl-dir %d", tf.tag, errno);
		return;
	}
	memset(&in, 0, sizeof(in));
	in.TargetDirectory = dirfd;
	snprintf(in.TargetName, sizeof(in.TargetName), "linked");

	tf_fsctl_log("link-short-input", tf_link(o, &in, sizeof(in) - 1, sizeof(out), &out));
	tf_fsctl_log("link-short-output", tf_link(o, &in, sizeof(in), sizeof(out) - 1, &out));
	tf_fsctl_log("link-no-input",
		     FltFsControlFile(o->Instance, o->FileObject,
				      FSCTL_LX_LINK_TO_DIRECTORY, NULL, sizeof(in),
				      &out, sizeof(out), NULL));
	tf_fsctl_log("link-no-output",
		     FltFsControlFile(o->Instance, o->FileObject,
				      FSCTL_LX_LINK_TO_DIRECTORY, &in, sizeof(in),
				      NULL, sizeof(out), NULL));
	memset(in.TargetName, 'a', sizeof(in.TargetName));
	tf_fsctl_log("link-unterminated-name", tf_link(o, &in, sizeof(in), sizeof(out), &out));
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		snprintf(in.TargetName, sizeof(in.TargetName), "%s", bad_names[i].target);
		in.Flags = bad_names[i].flags;
		tf_fsctl_log(bad_names[i].name, tf_link(o, &in, sizeof(in), sizeof(out), &out));
	}
	in.Flags = 0;
	snprintf(in.TargetName, sizeof(in.TargetName), "linked");
	in.TargetDirectory = -1;
	tf_fsctl_log("link-no-directory", tf_link(o, &in, sizeof(in), sizeof(out), &out));
	in.TargetDirectory = dirfd;
	tf_fsctl_log("link-held-open", tf_link(o, &in, sizeof(in), sizeof(out), &out));
	in.Flags = LX_LINK_QUERY;
	in.TargetDirectory = -1;
	in.TargetName[0] = '\0';
	memset(&out, 0, sizeof(out));
	st = tf_link(o, &in, sizeof(in), sizeof(out), &out);
	tf_fsctl_log("link-query", st);
	if (NT_SUCCESS(st))
		tf_log("%s fsctl-query links %u writers %u opens %u size %lld method %u",
		       tf.tag, (unsigned)out.NumberOfLinks, (unsigned)out.WriteHandles,
		       (unsigned)out.OpenHandles,
		       (long long)out.Content.BytesCopied.QuadPart,
		       (unsigned)out.Content.Method);

	tmpfd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	memset(&cin, 0, sizeof(cin));
	cin.TargetDescriptor = tmpfd;
	tf_fsctl_log("copy-short-input",
		     FltFsControlFile(o->Instance, o->FileObject, FSCTL_LX_COPY_TO_DESCRIPTOR,
				      &cin, sizeof(cin) - 1, &cout, sizeof(cout), NULL));
	tf_fsctl_log("copy-short-output",
		     FltFsControlFile(o->Instance, o->FileObject, FSCTL_LX_COPY_TO_DESCRIPTOR,
				      &cin, sizeof(cin), &cout, sizeof(cout) - 1, NULL));
	cin.Flags = 0x80;
	tf_fsctl_log("copy-unknown-flags",
		     FltFsControlFile(o->Instance, o->FileObject, FSCTL_LX_COPY_TO_DESCRIPTOR,
				      &cin, sizeof(cin), &cout, sizeof(cout), NULL));
	cin.Flags = LX_COPY_CLONE_ONLY | LX_COPY_NO_CLONE;
	tf_fsctl_log("copy-contradictory-flags",
		     FltFsControlFile(o->Instance, o->FileObject, FSCTL_LX_COPY_TO_DESCRIPTOR,
				      &cin, sizeof(cin), &cout, sizeof(cout), NULL));
	cin.Flags = 0;
	cin.TargetDescriptor = -1;
	tf_fsctl_log("copy-no-descriptor",
		     FltFsControlFile(o->Instance, o->FileObject, FSCTL_LX_COPY_TO_DESCRIPTOR,
				      &cin, sizeof(cin), &cout, sizeof(cout), NULL));
	cin.TargetDescriptor = dirfd;
	tf_fsctl_log("copy-to-directory",
		     FltFsControlFile(o->Instance, o->FileObject, FSCTL_LX_COPY_TO_DESCRIPTOR,
				      &cin, sizeof(cin), &cout, sizeof(cout), NULL));
	tf_fsctl_log("unknown-code",
		     FltFsControlFile(o->Instance, o->FileObject,
				      CTL_CODE(FILE_DEVICE_FILE_SYSTEM, 0x9ff, METHOD_BUFFERED,
					       FILE_READ_ACCESS),
				      &cin, sizeof(cin), &cout, sizeof(cout), NULL));
	if (tmpfd >= 0) {
		cin.TargetDescriptor = tmpfd;
		cin.Flags = LX_COPY_NO_CLONE;
		memset(&cout, 0, sizeof(cout));
		st = FltFsControlFile(o->Instance, o->FileObject, FSCTL_LX_COPY_TO_DESCRIPTOR,
				      &cin, sizeof(cin), &cout, sizeof(cout), &got);
		tf_fsctl_log("copy", st);
		if (NT_SUCCESS(st)) {
			char buf[64];
			ssize_t n = pread(tmpfd, buf, sizeof(buf) - 1, 0);

			buf[n > 0 ? n : 0] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			tf_log("%s fsctl-copy bytes %lld returned %u method %u content %s",
			       tf.tag, (long long)cout.BytesCopied.QuadPart,
			       (unsigned)got, (unsigned)cout.Method, buf);
		}
		/* At an offset of a target that already has bytes: they stay,
		 * the copy goes after them; bad offsets and lengths refused. */
		{
			LX_COPY_TO_DESCRIPTOR_INPUT_EX ex = {
				.TargetDescriptor = tmpfd,
				.Flags = LX_COPY_AT_OFFSET,
			};
			char buf[96];
			ssize_t n;

			ex.TargetOffset.QuadPart = 8192;
			ex.MaxLength.QuadPart = 64;
			tf_fsctl_log("copy-at-offset-short-input",
				     tf_copy_at(o, &ex, sizeof(cin), &cout));
			ex.Flags = LX_COPY_AT_OFFSET | LX_COPY_CLONE_ONLY;
			tf_fsctl_log("copy-at-offset-clone-only",
				     tf_copy_at(o, &ex, sizeof(ex), &cout));
			ex.Flags = LX_COPY_AT_OFFSET;
			ex.TargetOffset.QuadPart = -1;
			tf_fsctl_log("copy-at-negative-offset",
				     tf_copy_at(o, &ex, sizeof(ex), &cout));
			ex.TargetOffset.QuadPart = 8192;
			ex.MaxLength.QuadPart = 5;
			tf_fsctl_log("copy-at-offset-too-long",
				     tf_copy_at(o, &ex, sizeof(ex), &cout));
			ex.MaxLength.QuadPart = 64;
			memset(&cout, 0, sizeof(cout));
			st = tf_copy_at(o, &ex, sizeof(ex), &cout);
			tf_fsctl_log("copy-at-offset", st);
			n = pread(tmpfd, buf, 8, 0);
			buf[n > 0 ? n : 0] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			tf_log("%s fsctl-copy-at-offset head %s", tf.tag, buf);
			n = pread(tmpfd, buf, sizeof(buf) - 1, 8192);
			buf[n > 0 ? n : 0] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			if (NT_SUCCESS(st))
				tf_log("%s fsctl-copy-at-offset bytes %lld method %u content %s",
				       tf.tag, (long long)cout.BytesCopied.QuadPart,
				       (unsigned)cout.Method, buf);
		}
		tf_fsctl_to_memory(o, tmpfd, &cout);
		close(tmpfd);
	}
	close(dirfd);
}

/* ---- Operation callbacks ------------------------------------------------- */

static FLT_PREOP_CALLBACK_STATUS FLTAPI
tf_pre(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects,
       PVOID *CompletionContext)
{
	UCHAR major = Data->Iopb->MajorFunction;
	char name[TF_STR_MAX];

	UNREFERENCED_PARAMETER(FltObjects);
	tf_file_name(Data, name, sizeof(name));
	tf_log("%s pre %s %s", tf.tag, tf_irp_name(major), name);
	if (major == IRP_MJ_FLUSH_BUFFERS)
		tf_log("%s flush %s minor 0x%02X", tf.tag, name,
		       (unsigned)Data->Iopb->MinorFunction);

	if (major == tf.deny_major && tf.deny_name[0] &&
	    strcmp(tf_last_component(name), tf.deny_name) == 0) {
		Data->IoStatus.Status = tf.deny_status;
		Data->IoStatus.Information = 0;
		return FLT_PREOP_COMPLETE;
	}
	if (tf.copy_suffix[0] &&
	    ((major == IRP_MJ_WRITE && !(Data->Iopb->IrpFlags & IRP_PAGING_IO)) ||
	     (major == IRP_MJ_CREATE &&
	      ((Data->Iopb->Parameters.Create.Options >> 24) == FILE_OVERWRITE ||
	       (Data->Iopb->Parameters.Create.Options >> 24) == FILE_OVERWRITE_IF ||
	       (Data->Iopb->Parameters.Create.Options >> 24) == FILE_SUPERSEDE))))
		tf_copy_before_write(Data, FltObjects);
	*CompletionContext = TF_MAGIC;
	return FLT_PREOP_SUCCESS_WITH_CALLBACK;
}

static FLT_POSTOP_CALLBACK_STATUS FLTAPI
tf_post(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects,
	PVOID CompletionContext, FLT_POST_OPERATION_FLAGS Flags)
{
	UCHAR major = Data->Iopb->MajorFunction;
	char name[TF_STR_MAX];

	UNREFERENCED_PARAMETER(Flags);
	tf_file_name(Data, name, sizeof(name));
	if (major == IRP_MJ_CREATE && NT_SUCCESS(Data->IoStatus.Status)) {
		const char *last = tf_last_component(name);

		if (tf.query_on_open[0] && !strcmp(last, tf.query_on_open))
			tf_list(FltObjects);
		if (tf.fsctl_name[0] && !strcmp(last, tf.fsctl_name))
			tf_fsctl(FltObjects);
		if (tf.cancel_name[0] && !strcmp(last, tf.cancel_name)) {
			FltCancelFileOpen(FltObjects->Instance,
					  FltObjects->FileObject);
			Data->IoStatus.Status = tf.cancel_status;
			Data->IoStatus.Information = 0;
			tf_log("%s cancelled %s", tf.tag, name);
		}
	}
	tf_log("%s post %s %s 0x%08X", tf.tag, tf_irp_name(major), name,
	       (unsigned)Data->IoStatus.Status);
	if (CompletionContext != TF_MAGIC)
		tf_log("%s BADCTX %s %s %p", tf.tag, tf_irp_name(major), name,
		       CompletionContext);

	if (major == tf.post_major && NT_SUCCESS(Data->IoStatus.Status)) {
		Data->IoStatus.Status = tf.post_status;
		Data->IoStatus.Information = 0;
	}
	return FLT_POSTOP_FINISHED_PROCESSING;
}

/* ---- Instance and filter callbacks ----------------------------------------- */

static NTSTATUS FLTAPI tf_instance_setup(PCFLT_RELATED_OBJECTS FltObjects,
					 FLT_INSTANCE_SETUP_FLAGS Flags,
					 DEVICE_TYPE VolumeDeviceType,
					 FLT_FILESYSTEM_TYPE VolumeFilesystemType)
{
	UNREFERENCED_PARAMETER(FltObjects);
	UNREFERENCED_PARAMETER(VolumeDeviceType);
	UNREFERENCED_PARAMETER(VolumeFilesystemType);
	tf_log("%s setup 0x%X", tf.tag, (unsigned)Flags);
	return tf.setup_status;
}

static NTSTATUS FLTAPI tf_query_teardown(PCFLT_RELATED_OBJECTS FltObjects,
					 FLT_INSTANCE_QUERY_TEARDOWN_FLAGS Flags)
{
	UNREFERENCED_PARAMETER(FltObjects);
	tf_log("%s query-teardown 0x%X 0x%08X", tf.tag, (unsigned)Flags,
	       (unsigned)tf.query_teardown_status);
	return tf.query_teardown_status;
}

static VOID FLTAPI tf_teardown_start(PCFLT_RELATED_OBJECTS FltObjects,
				     FLT_INSTANCE_TEARDOWN_FLAGS Reason)
{
	UNREFERENCED_PARAMETER(FltObjects);
	tf_log("%s teardown-start 0x%X", tf.tag, (unsigned)Reason);
}

static VOID FLTAPI tf_teardown_complete(PCFLT_RELATED_OBJECTS FltObjects,
					FLT_INSTANCE_TEARDOWN_FLAGS Reason)
{
	UNREFERENCED_PARAMETER(FltObjects);
	tf_log("%s teardown-complete 0x%X", tf.tag, (unsigned)Reason);
}

/*
 * FltUnregisterFilter returns once every instance has been torn down, so
 * logging after it puts "unload" after the teardown lines; a filter manager
 * that returned early would show up as teardown lines after "unload".
 */
static NTSTATUS FLTAPI tf_unload(FLT_FILTER_UNLOAD_FLAGS Flags)
{
	if (!NT_SUCCESS(tf.unload_status) &&
	    !(Flags & FLTFL_FILTER_UNLOAD_MANDATORY)) {
		tf_log("%s unload-refused 0x%X", tf.tag, (unsigned)Flags);
		return tf.unload_status;
	}
	tf_log("%s unload-start 0x%X", tf.tag, (unsigned)Flags);
	FltUnregisterFilter(tf.filter);
	tf.filter = NULL;
	tf_log("%s unload", tf.tag);
	if (tf.log_fd >= 0) {
		close(tf.log_fd);
		tf.log_fd = -1;
	}
	return STATUS_SUCCESS;
}

/* ---- Parameters ----------------------------------------------------------------- */

static NTSTATUS tf_open_parameters(PUNICODE_STRING RegistryPath, PHANDLE Key)
{
	UNICODE_STRING params = RTL_CONSTANT_STRING(L"Parameters");
	OBJECT_ATTRIBUTES oa;
	HANDLE service;
	NTSTATUS st;

	InitializeObjectAttributes(&oa, RegistryPath,
				   OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE,
				   NULL, NULL);
	st = ZwOpenKey(&service, KEY_READ, &oa);
	if (!NT_SUCCESS(st))
		return st;
	InitializeObjectAttributes(&oa, &params,
				   OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE,
				   service, NULL);
	st = ZwOpenKey(Key, KEY_READ, &oa);
	ZwClose(service);
	return st;
}

/* The value's partial information in pool the caller frees, or NULL. */
static PKEY_VALUE_PARTIAL_INFORMATION tf_query(HANDLE Key, PCWSTR Name)
{
	PKEY_VALUE_PARTIAL_INFORMATION info;
	UNICODE_STRING name;
	ULONG size = sizeof(*info) + 256, needed = 0;
	NTSTATUS st;

	if (!Key)
		return NULL;
	RtlInitUnicodeString(&name, Name);
	for (int attempt = 0; attempt < 3; attempt++) {
		info = ExAllocatePoolZero(PagedPool, size, TF_TAG);
		if (!info)
			return NULL;
		st = ZwQueryValueKey(Key, &name, KeyValuePartialInformation,
				     info, size, &needed);
		if (NT_SUCCESS(st))
			return info;
		ExFreePoolWithTag(info, TF_TAG);
		if ((st != STATUS_BUFFER_OVERFLOW &&
		     st != STATUS_BUFFER_TOO_SMALL) || needed <= size)
			return NULL;
		size = needed;
	}
	return NULL;
}

/* A REG_SZ value as UTF-8 in out; false (out untouched) if absent. */
static BOOLEAN tf_query_sz(HANDLE Key, PCWSTR Name, char *out, ULONG size)
{
	PKEY_VALUE_PARTIAL_INFORMATION info = tf_query(Key, Name);
	const WCHAR *w;
	ULONG bytes, len = 0;
	BOOLEAN ok = FALSE;

	if (!info)
		return FALSE;
	if (info->Type == REG_SZ || info->Type == REG_EXPAND_SZ) {
		w = (const WCHAR *)info->Data;
		bytes = info->DataLength & ~1u;
		while (bytes >= 2 && w[bytes / 2 - 1] == UNICODE_NULL)
			bytes -= 2;
		if (NT_SUCCESS(RtlUnicodeToUTF8N(out, size - 1, &len, w,
						 bytes))) {
			out[len] = '\0';
			ok = TRUE;
		}
	}
	ExFreePoolWithTag(info, TF_TAG);
	return ok;
}

static BOOLEAN tf_query_dword(HANDLE Key, PCWSTR Name, ULONG *out)
{
	PKEY_VALUE_PARTIAL_INFORMATION info = tf_query(Key, Name);
	BOOLEAN ok = FALSE;

	if (!info)
		return FALSE;
	if (info->Type == REG_DWORD && info->DataLength >= sizeof(ULONG)) {
		memcpy(out, info->Data, sizeof(ULONG));
		ok = TRUE;
	}
	ExFreePoolWithTag(info, TF_TAG);
	return ok;
}

static UCHAR tf_major_from_name(const char *name)
{
	for (UCHAR m = 0; m <= IRP_MJ_MAXIMUM_FUNCTION; m++) {
		const char *irp = FltGetIrpName(m);

		if (irp && strcmp(irp, name) == 0)
			return m;
	}
	return TF_NO_MAJOR;
}

static void tf_add_op(ULONG *count, UCHAR major, ULONG flags)
{
	for (ULONG i = 0; i < *count; i++)
		if (tf_ops[i].MajorFunction == major)
			return;
	tf_ops[*count] = (FLT_OPERATION_REGISTRATION){
		.MajorFunction = major,
		.Flags = flags,
		.PreOperation = tf_pre,
		.PostOperation = tf_post,
	};
	(*count)++;
}

/* Fills tf_ops from "all" or "IRP_MJ_A,IRP_MJ_B"; unknown names fail. */
static NTSTATUS tf_build_ops(const char *list, ULONG flags)
{
	char copy[TF_STR_MAX], *save = NULL, *tok;
	ULONG count = 0;

	if (strcmp(list, "all") == 0) {
		for (UCHAR m = 0; m <= IRP_MJ_MAXIMUM_FUNCTION; m++)
			tf_add_op(&count, m, flags);
	} else {
		snprintf(copy, sizeof(copy), "%s", list);
		for (tok = strtok_r(copy, ", ", &save); tok;
		     tok = strtok_r(NULL, ", ", &save)) {
			UCHAR m = tf_major_from_name(tok);

			if (m == TF_NO_MAJOR) {
				DbgPrint("testfilter %s: unknown operation %s\n",
					 tf.tag, tok);
				return STATUS_INVALID_PARAMETER;
			}
			tf_add_op(&count, m, flags);
		}
	}
	tf_ops[count] = (FLT_OPERATION_REGISTRATION){
		.MajorFunction = IRP_MJ_OPERATION_END
	};
	return STATUS_SUCCESS;
}

static NTSTATUS tf_major_param(HANDLE Key, PCWSTR Name, UCHAR *out)
{
	char value[TF_STR_MAX];

	if (!tf_query_sz(Key, Name, value, sizeof(value)))
		return STATUS_SUCCESS;
	*out = tf_major_from_name(value);
	if (*out == TF_NO_MAJOR) {
		DbgPrint("testfilter %s: unknown operation %s\n", tf.tag, value);
		return STATUS_INVALID_PARAMETER;
	}
	return STATUS_SUCCESS;
}

/* Reads everything but LogFile into tf and tf_ops. */
static NTSTATUS tf_read_parameters(HANDLE Key, ULONG *fail)
{
	char ops[TF_STR_MAX] = "all";
	ULONG flags = 0, v;
	NTSTATUS st;

	snprintf(tf.tag, sizeof(tf.tag), "t");
	tf_query_sz(Key, L"Tag", tf.tag, sizeof(tf.tag));
	tf_query_sz(Key, L"CopyOnWrite", tf.copy_suffix, sizeof(tf.copy_suffix));
	tf_query_sz(Key, L"QueryOnOpen", tf.query_on_open, sizeof(tf.query_on_open));
	snprintf(tf.list_dir, sizeof(tf.list_dir), "\\");
	tf_query_sz(Key, L"ListDir", tf.list_dir, sizeof(tf.list_dir));
	tf_query_sz(Key, L"ListPattern", tf.list_pattern, sizeof(tf.list_pattern));
	tf.list_class = FileBothDirectoryInformation;
	tf_query_dword(Key, L"ListClass", &tf.list_class);
	tf_query_sz(Key, L"CancelOpenName", tf.cancel_name, sizeof(tf.cancel_name));
	tf_query_sz(Key, L"FsctlOnOpen", tf.fsctl_name, sizeof(tf.fsctl_name));
	tf_query_sz(Key, L"FsctlDir", tf.fsctl_dir, sizeof(tf.fsctl_dir));
	tf.cancel_status = STATUS_ACCESS_DENIED;
	if (tf_query_dword(Key, L"CancelStatus", &v))
		tf.cancel_status = (NTSTATUS)v;
	tf_query_sz(Key, L"Operations", ops, sizeof(ops));
	tf_query_dword(Key, L"OpFlags", &flags);
	*fail = 0;
	tf_query_dword(Key, L"FailDriverEntry", fail);

	tf.deny_status = STATUS_ACCESS_DENIED;
	if (tf_query_dword(Key, L"DenyStatus", &v))
		tf.deny_status = (NTSTATUS)v;
	if (tf_query_sz(Key, L"DenyName", tf.deny_name, sizeof(tf.deny_name)))
		tf.deny_major = IRP_MJ_CREATE;
	st = tf_major_param(Key, L"DenyMajor", &tf.deny_major);
	if (!NT_SUCCESS(st))
		return st;

	tf.post_status = STATUS_SUCCESS;
	if (tf_query_dword(Key, L"PostStatus", &v))
		tf.post_status = (NTSTATUS)v;
	st = tf_major_param(Key, L"PostMajor", &tf.post_major);
	if (!NT_SUCCESS(st))
		return st;

	tf.setup_status = STATUS_SUCCESS;
	if (tf_query_dword(Key, L"SetupStatus", &v))
		tf.setup_status = (NTSTATUS)v;
	tf.query_teardown_status = STATUS_SUCCESS;
	if (tf_query_dword(Key, L"QueryTeardownStatus", &v))
		tf.query_teardown_status = (NTSTATUS)v;
	tf.unload_status = STATUS_SUCCESS;
	if (tf_query_dword(Key, L"UnloadStatus", &v))
		tf.unload_status = (NTSTATUS)v;

	return tf_build_ops(ops, flags);
}

static const FLT_REGISTRATION tf_registration = {
	.Size = sizeof(FLT_REGISTRATION),
	.Version = FLT_REGISTRATION_VERSION,
	.Flags = 0,
	.ContextRegistration = NULL,
	.OperationRegistration = tf_ops,
	.FilterUnloadCallback = tf_unload,
	.InstanceSetupCallback = tf_instance_setup,
	.InstanceQueryTeardownCallback = tf_query_teardown,
	.InstanceTeardownStartCallback = tf_teardown_start,
	.InstanceTeardownCompleteCallback = tf_teardown_complete,
};

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	char log_path[TF_STR_MAX];
	HANDLE key = NULL;
	ULONG fail = 0;
	NTSTATUS st;

	/* No Parameters key simply means every default. */
	if (!NT_SUCCESS(tf_open_parameters(RegistryPath, &key)))
		key = NULL;
	st = tf_read_parameters(key, &fail);
	if (NT_SUCCESS(st) && fail)
		st = (NTSTATUS)fail;
	if (NT_SUCCESS(st) &&
	    tf_query_sz(key, L"LogFile", log_path, sizeof(log_path))) {
		tf.log_fd = open(log_path,
				 O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
				 0644);
		if (tf.log_fd < 0) {
			DbgPrint("testfilter %s: cannot open %s: %s\n", tf.tag,
				 log_path, strerror(errno));
			st = STATUS_UNSUCCESSFUL;
		}
	}
	if (key)
		ZwClose(key);
	if (!NT_SUCCESS(st))
		goto out;

	st = FltRegisterFilter(DriverObject, &tf_registration, &tf.filter);
	if (!NT_SUCCESS(st))
		goto out_close;
	st = FltStartFiltering(tf.filter);
	if (!NT_SUCCESS(st))
		goto out_unregister;
	return STATUS_SUCCESS;

out_unregister:
	FltUnregisterFilter(tf.filter);
	tf.filter = NULL;
out_close:
	if (tf.log_fd >= 0) {
		close(tf.log_fd);
		tf.log_fd = -1;
	}
out:
	return st;
}
