/*
 * fltKernel.h - the minifilter API of the Altitude filter manager.
 *
 * A filter is a shared object exporting DriverEntry.  It registers with
 * FltRegisterFilter, starts with FltStartFiltering, and from then on its
 * instances see every operation on the volumes they are attached to through
 * pre- and post-operation callbacks ordered by altitude.  Names, types, field
 * names, constants and status values are those of the Windows Driver Kit.
 *
 * Build a filter with `pkg-config --cflags fltkernel` (adds -fshort-wchar so
 * L"..." literals are UTF-16).  Only what the filter manager implements is
 * declared here: a call the header offers works.
 */
#ifndef ALTITUDE_FLTKERNEL_H
#define ALTITUDE_FLTKERNEL_H

#include <fltUserStructures.h>
#include <ntifs.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FLTAPI
#define FLT_MGR_BASELINE 1

/* ---- Opaque filter manager objects ------------------------------------------ */

typedef struct _FLT_FILTER *PFLT_FILTER;
typedef struct _FLT_VOLUME *PFLT_VOLUME;
typedef struct _FLT_INSTANCE *PFLT_INSTANCE;
typedef struct _FLT_PORT *PFLT_PORT;
typedef PVOID PFLT_CONTEXT;
typedef PVOID PKTRANSACTION;
typedef PVOID PVPB;
#define NULL_CONTEXT ((PFLT_CONTEXT)NULL)

/* ---- Special major codes (FSFilter and fast I/O callbacks) ---------------------- */

#define IRP_MJ_ACQUIRE_FOR_SECTION_SYNCHRONIZATION ((UCHAR)-1)
#define IRP_MJ_RELEASE_FOR_SECTION_SYNCHRONIZATION ((UCHAR)-2)
#define IRP_MJ_ACQUIRE_FOR_MOD_WRITE ((UCHAR)-3)
#define IRP_MJ_RELEASE_FOR_MOD_WRITE ((UCHAR)-4)
#define IRP_MJ_ACQUIRE_FOR_CC_FLUSH ((UCHAR)-5)
#define IRP_MJ_RELEASE_FOR_CC_FLUSH ((UCHAR)-6)
#define IRP_MJ_QUERY_OPEN ((UCHAR)-7)
#define IRP_MJ_FAST_IO_CHECK_IF_POSSIBLE ((UCHAR)-13)
#define IRP_MJ_NETWORK_QUERY_OPEN ((UCHAR)-14)
#define IRP_MJ_MDL_READ ((UCHAR)-15)
#define IRP_MJ_MDL_READ_COMPLETE ((UCHAR)-16)
#define IRP_MJ_PREPARE_MDL_WRITE ((UCHAR)-17)
#define IRP_MJ_MDL_WRITE_COMPLETE ((UCHAR)-18)
#define IRP_MJ_VOLUME_MOUNT ((UCHAR)-19)
#define IRP_MJ_VOLUME_DISMOUNT ((UCHAR)-20)
#define FLT_INTERNAL_OPERATION_COUNT 22
#define IRP_MJ_OPERATION_END ((UCHAR)0x80)

/* IO parameter block OperationFlags (the stack location flags). */
#define SL_PENDING_RETURNED 0x01
#define SL_FORCE_ACCESS_CHECK 0x01
#define SL_OPEN_PAGING_FILE 0x02
#define SL_OPEN_TARGET_DIRECTORY 0x04
#define SL_STOP_ON_SYMLINK 0x08
#define SL_CASE_SENSITIVE 0x80
#define SL_KEY_SPECIFIED 0x01
#define SL_OVERRIDE_VERIFY_VOLUME 0x02
#define SL_WRITE_THROUGH 0x04
#define SL_FT_SEQUENTIAL_WRITE 0x08
#define SL_FORCE_DIRECT_WRITE 0x10
#define SL_RESTART_SCAN 0x01
#define SL_RETURN_SINGLE_ENTRY 0x02
#define SL_INDEX_SPECIFIED 0x04
#define SL_WATCH_TREE 0x01
#define SL_FAIL_IMMEDIATELY 0x01
#define SL_EXCLUSIVE_LOCK 0x02

/* ---- Parameters of each major function --------------------------------------- */

typedef union _FLT_PARAMETERS {
	struct {
		PIO_SECURITY_CONTEXT SecurityContext;
		/* High 8 bits: disposition (FILE_OPEN ...); low 24: options. */
		ULONG Options;
		USHORT FileAttributes;
		USHORT ShareAccess;
		ULONG EaLength;
		PVOID EaBuffer;
		LARGE_INTEGER AllocationSize;
	} Create;

	struct {
		ULONG Length;
		ULONG Key;
		LARGE_INTEGER ByteOffset;
		PVOID ReadBuffer;
		PMDL MdlAddress;
	} Read;

	struct {
		ULONG Length;
		ULONG Key;
		LARGE_INTEGER ByteOffset;
		PVOID WriteBuffer;
		PMDL MdlAddress;
	} Write;

	struct {
		ULONG Length;
		FILE_INFORMATION_CLASS FileInformationClass;
		PVOID InfoBuffer;
	} QueryFileInformation;

	struct {
		ULONG Length;
		FILE_INFORMATION_CLASS FileInformationClass;
		PFILE_OBJECT ParentOfTarget;
		union {
			struct {
				BOOLEAN ReplaceIfExists;
				BOOLEAN AdvanceOnly;
			};
			ULONG ClusterCount;
			HANDLE DeleteHandle;
		};
		PVOID InfoBuffer;
	} SetFileInformation;

	struct {
		ULONG Length;
		PVOID EaList;
		ULONG EaListLength;
		ULONG EaIndex;
		PVOID EaBuffer;
		PMDL MdlAddress;
	} QueryEa;

	struct {
		ULONG Length;
		PVOID EaBuffer;
		PMDL MdlAddress;
	} SetEa;

	struct {
		ULONG Length;
		FS_INFORMATION_CLASS FsInformationClass;
		PVOID VolumeBuffer;
	} QueryVolumeInformation;

	struct {
		ULONG Length;
		FS_INFORMATION_CLASS FsInformationClass;
		PVOID VolumeBuffer;
	} SetVolumeInformation;

	union {
		struct {
			ULONG Length;
			PUNICODE_STRING FileName;
			FILE_INFORMATION_CLASS FileInformationClass;
			ULONG FileIndex;
			PVOID DirectoryBuffer;
			PMDL MdlAddress;
		} QueryDirectory;
		struct {
			ULONG Length;
			ULONG CompletionFilter;
			ULONG Spare1;
			ULONG Spare2;
			PVOID DirectoryBuffer;
			PMDL MdlAddress;
		} NotifyDirectory;
	} DirectoryControl;

	union {
		struct {
			PVPB Vpb;
			PDEVICE_OBJECT DeviceObject;
		} VerifyVolume;
		struct {
			ULONG OutputBufferLength;
			ULONG InputBufferLength;
			ULONG FsControlCode;
		} Common;
		struct {
			ULONG OutputBufferLength;
			ULONG InputBufferLength;
			ULONG FsControlCode;
			PVOID InputBuffer;
			PVOID OutputBuffer;
			PMDL OutputMdlAddress;
		} Neither;
		struct {
			ULONG OutputBufferLength;
			ULONG InputBufferLength;
			ULONG FsControlCode;
			PVOID SystemBuffer;
		} Buffered;
		struct {
			ULONG OutputBufferLength;
			ULONG InputBufferLength;
			ULONG FsControlCode;
			PVOID InputSystemBuffer;
			PVOID OutputBuffer;
			PMDL OutputMdlAddress;
		} Direct;
	} FileSystemControl;

	union {
		struct {
			ULONG OutputBufferLength;
			ULONG InputBufferLength;
			ULONG IoControlCode;
		} Common;
		struct {
			ULONG OutputBufferLength;
			ULONG InputBufferLength;
			ULONG IoControlCode;
			PVOID InputBuffer;
			PVOID OutputBuffer;
			PMDL OutputMdlAddress;
		} Neither;
		struct {
			ULONG OutputBufferLength;
			ULONG InputBufferLength;
			ULONG IoControlCode;
			PVOID SystemBuffer;
		} Buffered;
	} DeviceIoControl;

	struct {
		PLARGE_INTEGER Length;
		ULONG Key;
		LARGE_INTEGER ByteOffset;
		PEPROCESS ProcessId;
		BOOLEAN FailImmediately;
		BOOLEAN ExclusiveLock;
	} LockControl;

	struct {
		SECURITY_INFORMATION SecurityInformation;
		ULONG Length;
		PVOID SecurityBuffer;
		PMDL MdlAddress;
	} QuerySecurity;

	struct {
		SECURITY_INFORMATION SecurityInformation;
		PSECURITY_DESCRIPTOR SecurityDescriptor;
	} SetSecurity;

	struct {
		ULONG_PTR ProviderId;
		PVOID DataPath;
		ULONG BufferSize;
		PVOID Buffer;
	} WMI;

	struct {
		ULONG Length;
		PSID StartSid;
		PVOID SidList;
		ULONG SidListLength;
	} QueryQuota;

	struct {
		ULONG Length;
	} SetQuota;

	struct {
		PVOID Argument1;
		PVOID Argument2;
		PVOID Argument3;
		PVOID Argument4;
		PVOID Argument5;
		LARGE_INTEGER Argument6;
	} Others;
} FLT_PARAMETERS, *PFLT_PARAMETERS;

typedef struct _FLT_IO_PARAMETER_BLOCK {
	ULONG IrpFlags;
	UCHAR MajorFunction;
	UCHAR MinorFunction;
	UCHAR OperationFlags;
	UCHAR Reserved;
	PFILE_OBJECT TargetFileObject;
	PFLT_INSTANCE TargetInstance;
	FLT_PARAMETERS Parameters;
} FLT_IO_PARAMETER_BLOCK, *PFLT_IO_PARAMETER_BLOCK;

/* ---- Callback data ------------------------------------------------------------ */

typedef ULONG FLT_CALLBACK_DATA_FLAGS;
#define FLTFL_CALLBACK_DATA_REISSUE_MASK 0x0000FFFF
#define FLTFL_CALLBACK_DATA_IRP_OPERATION 0x00000001
#define FLTFL_CALLBACK_DATA_FAST_IO_OPERATION 0x00000002
#define FLTFL_CALLBACK_DATA_FS_FILTER_OPERATION 0x00000004
#define FLTFL_CALLBACK_DATA_SYSTEM_BUFFER 0x00000008
#define FLTFL_CALLBACK_DATA_GENERATED_IO 0x00010000
#define FLTFL_CALLBACK_DATA_REISSUED_IO 0x00020000
#define FLTFL_CALLBACK_DATA_DRAINING_IO 0x00040000
#define FLTFL_CALLBACK_DATA_POST_OPERATION 0x00080000
#define FLTFL_CALLBACK_DATA_NEW_SYSTEM_BUFFER 0x00100000
#define FLTFL_CALLBACK_DATA_DIRTY 0x80000000

typedef struct _FLT_TAG_DATA_BUFFER *PFLT_TAG_DATA_BUFFER;

typedef struct _FLT_CALLBACK_DATA {
	FLT_CALLBACK_DATA_FLAGS Flags;
	/* The requesting thread: PsGetThreadId / PsGetThreadProcessId work on it. */
	PETHREAD Thread;
	PFLT_IO_PARAMETER_BLOCK Iopb;
	IO_STATUS_BLOCK IoStatus;
	PFLT_TAG_DATA_BUFFER TagData;
	union {
		struct {
			LIST_ENTRY QueueLinks;
			PVOID QueueContext[2];
		};
		PVOID FilterContext[4];
	};
	KPROCESSOR_MODE RequestorMode;
} FLT_CALLBACK_DATA, *PFLT_CALLBACK_DATA;

#define FLT_IS_IRP_OPERATION(Data) \
	(FlagOn((Data)->Flags, FLTFL_CALLBACK_DATA_IRP_OPERATION))
#define FLT_IS_FASTIO_OPERATION(Data) \
	(FlagOn((Data)->Flags, FLTFL_CALLBACK_DATA_FAST_IO_OPERATION))
#define FLT_IS_FS_FILTER_OPERATION(Data) \
	(FlagOn((Data)->Flags, FLTFL_CALLBACK_DATA_FS_FILTER_OPERATION))
#define FLT_IS_REISSUED_IO(Data) \
	(FlagOn((Data)->Flags, FLTFL_CALLBACK_DATA_REISSUED_IO))
#define FLT_IS_SYSTEM_BUFFER(Data) \
	(FlagOn((Data)->Flags, FLTFL_CALLBACK_DATA_SYSTEM_BUFFER))

#define FlagOn(_F, _SF) ((_F) & (_SF))
#define BooleanFlagOn(F, SF) ((BOOLEAN)(((F) & (SF)) != 0))
#define SetFlag(_F, _SF) ((_F) |= (_SF))
#define ClearFlag(_F, _SF) ((_F) &= ~(_SF))

typedef struct _FLT_RELATED_OBJECTS {
	USHORT Size;
	USHORT TransactionContext;
	PFLT_FILTER Filter;
	PFLT_VOLUME Volume;
	PFLT_INSTANCE Instance;
	PFILE_OBJECT FileObject;
	PKTRANSACTION Transaction;
} FLT_RELATED_OBJECTS, *PFLT_RELATED_OBJECTS;
typedef const FLT_RELATED_OBJECTS *PCFLT_RELATED_OBJECTS;

/* ---- Callback return values and flags ------------------------------------------ */

typedef enum _FLT_PREOP_CALLBACK_STATUS {
	FLT_PREOP_SUCCESS_WITH_CALLBACK,
	FLT_PREOP_SUCCESS_NO_CALLBACK,
	FLT_PREOP_PENDING,
	FLT_PREOP_DISALLOW_FASTIO,
	FLT_PREOP_COMPLETE,
	FLT_PREOP_SYNCHRONIZE,
	FLT_PREOP_DISALLOW_FSFILTER_IO
} FLT_PREOP_CALLBACK_STATUS, *PFLT_PREOP_CALLBACK_STATUS;

typedef enum _FLT_POSTOP_CALLBACK_STATUS {
	FLT_POSTOP_FINISHED_PROCESSING,
	FLT_POSTOP_MORE_PROCESSING_REQUIRED,
	FLT_POSTOP_DISALLOW_FSFILTER_IO
} FLT_POSTOP_CALLBACK_STATUS, *PFLT_POSTOP_CALLBACK_STATUS;

typedef ULONG FLT_POST_OPERATION_FLAGS;
#define FLTFL_POST_OPERATION_DRAINING 0x00000001

typedef ULONG FLT_FILTER_UNLOAD_FLAGS;
#define FLTFL_FILTER_UNLOAD_MANDATORY 0x00000001

typedef ULONG FLT_INSTANCE_SETUP_FLAGS;
#define FLTFL_INSTANCE_SETUP_AUTOMATIC_ATTACHMENT 0x00000001
#define FLTFL_INSTANCE_SETUP_MANUAL_ATTACHMENT 0x00000002
#define FLTFL_INSTANCE_SETUP_NEWLY_MOUNTED_VOLUME 0x00000004
#define FLTFL_INSTANCE_SETUP_DETACHED_VOLUME 0x00000008

typedef ULONG FLT_INSTANCE_QUERY_TEARDOWN_FLAGS;

typedef ULONG FLT_INSTANCE_TEARDOWN_FLAGS;
#define FLTFL_INSTANCE_TEARDOWN_MANUAL 0x00000001
#define FLTFL_INSTANCE_TEARDOWN_FILTER_UNLOAD 0x00000002
#define FLTFL_INSTANCE_TEARDOWN_MANDATORY_FILTER_UNLOAD 0x00000004
#define FLTFL_INSTANCE_TEARDOWN_VOLUME_DISMOUNT 0x00000008
#define FLTFL_INSTANCE_TEARDOWN_INTERNAL_ERROR 0x00000010

/* FLT_FILESYSTEM_TYPE is in fltUserStructures.h, shared with user mode. */

/* ---- Callback routine types --------------------------------------------------------- */

typedef FLT_PREOP_CALLBACK_STATUS FLTAPI
FLT_PRE_OPERATION_CALLBACK(PFLT_CALLBACK_DATA Data,
			   PCFLT_RELATED_OBJECTS FltObjects,
			   PVOID *CompletionContext);
typedef FLT_PRE_OPERATION_CALLBACK *PFLT_PRE_OPERATION_CALLBACK;

typedef FLT_POSTOP_CALLBACK_STATUS FLTAPI
FLT_POST_OPERATION_CALLBACK(PFLT_CALLBACK_DATA Data,
			    PCFLT_RELATED_OBJECTS FltObjects,
			    PVOID CompletionContext,
			    FLT_POST_OPERATION_FLAGS Flags);
typedef FLT_POST_OPERATION_CALLBACK *PFLT_POST_OPERATION_CALLBACK;

typedef NTSTATUS FLTAPI FLT_FILTER_UNLOAD_CALLBACK(FLT_FILTER_UNLOAD_FLAGS Flags);
typedef FLT_FILTER_UNLOAD_CALLBACK *PFLT_FILTER_UNLOAD_CALLBACK;

typedef NTSTATUS FLTAPI FLT_INSTANCE_SETUP_CALLBACK(
	PCFLT_RELATED_OBJECTS FltObjects, FLT_INSTANCE_SETUP_FLAGS Flags,
	DEVICE_TYPE VolumeDeviceType, FLT_FILESYSTEM_TYPE VolumeFilesystemType);
typedef FLT_INSTANCE_SETUP_CALLBACK *PFLT_INSTANCE_SETUP_CALLBACK;

typedef NTSTATUS FLTAPI FLT_INSTANCE_QUERY_TEARDOWN_CALLBACK(
	PCFLT_RELATED_OBJECTS FltObjects, FLT_INSTANCE_QUERY_TEARDOWN_FLAGS Flags);
typedef FLT_INSTANCE_QUERY_TEARDOWN_CALLBACK
	*PFLT_INSTANCE_QUERY_TEARDOWN_CALLBACK;

typedef VOID FLTAPI FLT_INSTANCE_TEARDOWN_CALLBACK(
	PCFLT_RELATED_OBJECTS FltObjects, FLT_INSTANCE_TEARDOWN_FLAGS Reason);
typedef FLT_INSTANCE_TEARDOWN_CALLBACK *PFLT_INSTANCE_TEARDOWN_CALLBACK;

/* ---- Context registration (seed 003) ------------------------------------------------- */

typedef USHORT FLT_CONTEXT_TYPE;
#define FLT_VOLUME_CONTEXT 0x0001
#define FLT_INSTANCE_CONTEXT 0x0002
#define FLT_FILE_CONTEXT 0x0004
#define FLT_STREAM_CONTEXT 0x0008
#define FLT_STREAMHANDLE_CONTEXT 0x0010
#define FLT_TRANSACTION_CONTEXT 0x0020
#define FLT_SECTION_CONTEXT 0x0040
#define FLT_CONTEXT_END 0xffff
#define FLT_ALL_CONTEXTS                                                  \
	(FLT_VOLUME_CONTEXT | FLT_INSTANCE_CONTEXT | FLT_FILE_CONTEXT |   \
	 FLT_STREAM_CONTEXT | FLT_STREAMHANDLE_CONTEXT |                  \
	 FLT_TRANSACTION_CONTEXT | FLT_SECTION_CONTEXT)
#define FLT_VARIABLE_SIZED_CONTEXTS ((SIZE_T)-1)

typedef USHORT FLT_CONTEXT_REGISTRATION_FLAGS;
#define FLTFL_CONTEXT_REGISTRATION_NO_EXACT_SIZE_MATCH 0x0001

typedef VOID FLTAPI FLT_CONTEXT_CLEANUP_CALLBACK(PFLT_CONTEXT Context,
						 FLT_CONTEXT_TYPE ContextType);
typedef FLT_CONTEXT_CLEANUP_CALLBACK *PFLT_CONTEXT_CLEANUP_CALLBACK;
typedef PVOID FLTAPI FLT_CONTEXT_ALLOCATE_CALLBACK(POOL_TYPE PoolType,
						   SIZE_T Size,
						   FLT_CONTEXT_TYPE ContextType);
typedef FLT_CONTEXT_ALLOCATE_CALLBACK *PFLT_CONTEXT_ALLOCATE_CALLBACK;
typedef VOID FLTAPI FLT_CONTEXT_FREE_CALLBACK(PVOID Pool,
					      FLT_CONTEXT_TYPE ContextType);
typedef FLT_CONTEXT_FREE_CALLBACK *PFLT_CONTEXT_FREE_CALLBACK;

typedef struct _FLT_CONTEXT_REGISTRATION {
	FLT_CONTEXT_TYPE ContextType;
	FLT_CONTEXT_REGISTRATION_FLAGS Flags;
	PFLT_CONTEXT_CLEANUP_CALLBACK ContextCleanupCallback;
	SIZE_T Size;
	ULONG PoolTag;
	PFLT_CONTEXT_ALLOCATE_CALLBACK ContextAllocateCallback;
	PFLT_CONTEXT_FREE_CALLBACK ContextFreeCallback;
	PVOID Reserved1;
} FLT_CONTEXT_REGISTRATION, *PFLT_CONTEXT_REGISTRATION;
typedef const FLT_CONTEXT_REGISTRATION *PCFLT_CONTEXT_REGISTRATION;

/* ---- Contexts ------------------------------------------------------------------------- */

typedef enum _FLT_SET_CONTEXT_OPERATION {
	FLT_SET_CONTEXT_REPLACE_IF_EXISTS,
	FLT_SET_CONTEXT_KEEP_IF_EXISTS
} FLT_SET_CONTEXT_OPERATION, *PFLT_SET_CONTEXT_OPERATION;

typedef struct _FLT_RELATED_CONTEXTS {
	PFLT_CONTEXT VolumeContext;
	PFLT_CONTEXT InstanceContext;
	PFLT_CONTEXT FileContext;
	PFLT_CONTEXT StreamContext;
	PFLT_CONTEXT StreamHandleContext;
	PFLT_CONTEXT TransactionContext;
} FLT_RELATED_CONTEXTS, *PFLT_RELATED_CONTEXTS;

/* ---- Operation and filter registration --------------------------------------------- */

typedef ULONG FLT_OPERATION_REGISTRATION_FLAGS;
#define FLTFL_OPERATION_REGISTRATION_SKIP_PAGING_IO 0x00000001
#define FLTFL_OPERATION_REGISTRATION_SKIP_CACHED_IO 0x00000002
#define FLTFL_OPERATION_REGISTRATION_SKIP_NON_DASD_IO 0x00000004
#define FLTFL_OPERATION_REGISTRATION_SKIP_NON_CACHED_NON_PAGING_IO 0x00000008

typedef struct _FLT_OPERATION_REGISTRATION {
	UCHAR MajorFunction;
	FLT_OPERATION_REGISTRATION_FLAGS Flags;
	PFLT_PRE_OPERATION_CALLBACK PreOperation;
	PFLT_POST_OPERATION_CALLBACK PostOperation;
	PVOID Reserved1;
} FLT_OPERATION_REGISTRATION, *PFLT_OPERATION_REGISTRATION;

/* Name provider and transaction callbacks: accepted, stored, not called yet. */
typedef PVOID PFLT_GENERATE_FILE_NAME;
typedef PVOID PFLT_NORMALIZE_NAME_COMPONENT;
typedef PVOID PFLT_NORMALIZE_CONTEXT_CLEANUP;
typedef PVOID PFLT_TRANSACTION_NOTIFICATION_CALLBACK;
typedef PVOID PFLT_NORMALIZE_NAME_COMPONENT_EX;
typedef PVOID PFLT_SECTION_CONFLICT_NOTIFICATION_CALLBACK;

typedef ULONG FLT_REGISTRATION_FLAGS;
#define FLTFL_REGISTRATION_DO_NOT_SUPPORT_SERVICE_STOP 0x00000001
#define FLTFL_REGISTRATION_SUPPORT_NPFS_MSFS 0x00000002
#define FLTFL_REGISTRATION_SUPPORT_DAX_VOLUME 0x00000004
#define FLTFL_REGISTRATION_SUPPORT_WCOS 0x00000008

#define FLT_REGISTRATION_VERSION_0200 0x0200
#define FLT_REGISTRATION_VERSION_0201 0x0201
#define FLT_REGISTRATION_VERSION_0202 0x0202
#define FLT_REGISTRATION_VERSION_0203 0x0203
#define FLT_REGISTRATION_VERSION FLT_REGISTRATION_VERSION_0203

typedef struct _FLT_REGISTRATION {
	USHORT Size;
	USHORT Version;
	FLT_REGISTRATION_FLAGS Flags;
	const FLT_CONTEXT_REGISTRATION *ContextRegistration;
	const FLT_OPERATION_REGISTRATION *OperationRegistration;
	PFLT_FILTER_UNLOAD_CALLBACK FilterUnloadCallback;
	PFLT_INSTANCE_SETUP_CALLBACK InstanceSetupCallback;
	PFLT_INSTANCE_QUERY_TEARDOWN_CALLBACK InstanceQueryTeardownCallback;
	PFLT_INSTANCE_TEARDOWN_CALLBACK InstanceTeardownStartCallback;
	PFLT_INSTANCE_TEARDOWN_CALLBACK InstanceTeardownCompleteCallback;
	PFLT_GENERATE_FILE_NAME GenerateFileNameCallback;
	PFLT_NORMALIZE_NAME_COMPONENT NormalizeNameComponentCallback;
	PFLT_NORMALIZE_CONTEXT_CLEANUP NormalizeContextCleanupCallback;
	/* version 0x0201 */
	PFLT_TRANSACTION_NOTIFICATION_CALLBACK TransactionNotificationCallback;
	/* version 0x0202 */
	PFLT_NORMALIZE_NAME_COMPONENT_EX NormalizeNameComponentExCallback;
	/* version 0x0203 */
	PFLT_SECTION_CONFLICT_NOTIFICATION_CALLBACK SectionNotificationCallback;
} FLT_REGISTRATION, *PFLT_REGISTRATION;

/* ---- Filter manager routines ---------------------------------------------------------- */

/*
 * Validates Registration (Size, Version, operation table ending in
 * IRP_MJ_OPERATION_END with known major codes, context table ending in
 * FLT_CONTEXT_END) and returns STATUS_INVALID_PARAMETER for a bad one.
 * Only valid during DriverEntry, with the DRIVER_OBJECT it received.
 */
NTSYSAPI NTSTATUS FLTAPI FltRegisterFilter(PDRIVER_OBJECT Driver,
					   const FLT_REGISTRATION *Registration,
					   PFLT_FILTER *RetFilter);
NTSYSAPI NTSTATUS FLTAPI FltStartFiltering(PFLT_FILTER Filter);
NTSYSAPI VOID FLTAPI FltUnregisterFilter(PFLT_FILTER Filter);

/* "IRP_MJ_CREATE" etc.; for a minor code that names, "IRP_MN_QUERY_DIRECTORY". */
NTSYSAPI PCHAR FLTAPI FltGetIrpName(UCHAR IrpMajorCode);
NTSYSAPI PCHAR FLTAPI FltGetIrpMinorName(UCHAR IrpMajorCode,
					 UCHAR IrpMinorCode);

/* Requestor of an operation: the Linux process, thread and user behind it. */
NTSYSAPI ULONG FLTAPI FltGetRequestorProcessId(PFLT_CALLBACK_DATA CallbackData);
NTSYSAPI HANDLE FLTAPI
FltGetRequestorProcessIdEx(PFLT_CALLBACK_DATA CallbackData);
NTSYSAPI PEPROCESS FLTAPI
FltGetRequestorProcess(PFLT_CALLBACK_DATA CallbackData);
NTSYSAPI ULONG FLTAPI FltGetRequestorThreadIdLx(PFLT_CALLBACK_DATA CallbackData);
/* Altitude: the calling user's Linux uid and primary gid. */
NTSYSAPI NTSTATUS FLTAPI FltGetRequestorLxIds(PFLT_CALLBACK_DATA CallbackData,
					      PULONG Uid, PULONG Gid);
NTSYSAPI HANDLE NTAPI PsGetThreadId(PETHREAD Thread);
NTSYSAPI HANDLE NTAPI PsGetThreadProcessId(PETHREAD Thread);
NTSYSAPI HANDLE NTAPI PsGetProcessId(PEPROCESS Process);
NTSYSAPI PEPROCESS NTAPI IoThreadToProcess(PETHREAD Thread);
NTSYSAPI PEPROCESS NTAPI PsGetCurrentProcess(void);
#define FltGetRequestorThread(Data) ((Data)->Thread)

NTSYSAPI BOOLEAN FLTAPI FltIsOperationSynchronous(PFLT_CALLBACK_DATA CallbackData);
/* Whether an open file object is a directory (STATUS_INVALID_PARAMETER
 * before it is open, e.g. in pre-create). */
NTSYSAPI NTSTATUS FLTAPI FltIsDirectory(PFILE_OBJECT FileObject,
					PFLT_INSTANCE Instance,
					PBOOLEAN IsDirectory);
NTSYSAPI VOID FLTAPI FltSetCallbackDataDirty(PFLT_CALLBACK_DATA Data);
NTSYSAPI VOID FLTAPI FltClearCallbackDataDirty(PFLT_CALLBACK_DATA Data);
NTSYSAPI BOOLEAN FLTAPI FltIsCallbackDataDirty(PFLT_CALLBACK_DATA Data);

/*
 * Buffers and MDLs.  FltLockUserBuffer gives the buffer of a READ, WRITE,
 * QUERY_DIRECTORY, QUERY_EA, SET_EA, QUERY_SECURITY or METHOD_NEITHER
 * FSCTL/IOCTL operation an MDL in the parameters' MdlAddress (if it has
 * none), so a worker thread can reach it with MmGetSystemAddressForMdlSafe
 * while the operation is in progress.  The MDL belongs to the operation:
 * it is seen by the caller's own post callback and the instances below,
 * and freed when the operation completes.  Whoever reads an operation's
 * buffer (the file system, or a filter) uses MdlAddress when it is not
 * NULL and the buffer pointer otherwise, as on Windows: a filter that
 * swaps a buffer sets both (its own MDL, or NULL).
 */
NTSYSAPI NTSTATUS FLTAPI FltLockUserBuffer(PFLT_CALLBACK_DATA CallbackData);
/* Pointers to the MDL, buffer, length and desired access of the operation's
 * data buffer; STATUS_INVALID_PARAMETER for operations without one.  Any
 * of the out pointers may be NULL. */
NTSYSAPI NTSTATUS FLTAPI FltDecodeParameters(PFLT_CALLBACK_DATA CallbackData,
					     PMDL **MdlAddressPointer,
					     PVOID **Buffer, PULONG *Length,
					     LOCK_OPERATION *DesiredAccess);

NTSYSAPI NTSTATUS FLTAPI FltGetFilterFromInstance(PFLT_INSTANCE Instance,
						  PFLT_FILTER *RetFilter);
NTSYSAPI NTSTATUS FLTAPI FltGetVolumeFromInstance(PFLT_INSTANCE Instance,
						  PFLT_VOLUME *RetVolume);
NTSYSAPI NTSTATUS FLTAPI FltObjectReference(PVOID FltObject);
NTSYSAPI VOID FLTAPI FltObjectDereference(PVOID FltObject);
/* \Device\<volume name>; STATUS_BUFFER_TOO_SMALL with *BufferSizeNeeded. */
NTSYSAPI NTSTATUS FLTAPI FltGetVolumeName(PFLT_VOLUME Volume,
					  PUNICODE_STRING VolumeName,
					  PULONG BufferSizeNeeded);
/* Altitude: the Linux directory Volume covers ("/srv/data"), UTF-8 and
 * NUL-terminated; *BufferSizeNeeded (may be NULL) gets its size with the
 * NUL.  STATUS_BUFFER_TOO_SMALL when BufferSize is less. */
NTSYSAPI NTSTATUS FLTAPI FltGetVolumeLxPath(PFLT_VOLUME Volume, PCHAR Buffer,
					    ULONG BufferSize,
					    PULONG BufferSizeNeeded);

/* ---- Filters, volumes and instances by name; attach and detach ---------- */

typedef struct _FLT_VOLUME_PROPERTIES {
	DEVICE_TYPE DeviceType;
	ULONG DeviceCharacteristics;
	ULONG DeviceObjectFlags;
	ULONG AlignmentRequirement;
	USHORT SectorSize;
	USHORT Flags;
	UNICODE_STRING FileSystemDriverName;
	UNICODE_STRING FileSystemDeviceName;
	UNICODE_STRING RealDeviceName;
} FLT_VOLUME_PROPERTIES, *PFLT_VOLUME_PROPERTIES;

/* Loads a service by name (FltLoadFilter(L"backup")); see docs/services.md. */
NTSYSAPI NTSTATUS FLTAPI FltLoadFilter(PCUNICODE_STRING FilterName);
NTSYSAPI NTSTATUS FLTAPI FltUnloadFilter(PCUNICODE_STRING FilterName);
NTSYSAPI NTSTATUS FLTAPI FltAttachVolume(PFLT_FILTER Filter, PFLT_VOLUME Volume,
					 PCUNICODE_STRING InstanceName,
					 PFLT_INSTANCE *RetInstance);
NTSYSAPI NTSTATUS FLTAPI FltAttachVolumeAtAltitude(PFLT_FILTER Filter,
						   PFLT_VOLUME Volume,
						   PCUNICODE_STRING Altitude,
						   PCUNICODE_STRING InstanceName,
						   PFLT_INSTANCE *RetInstance);
NTSYSAPI NTSTATUS FLTAPI FltDetachVolume(PFLT_FILTER Filter, PFLT_VOLUME Volume,
					 PCUNICODE_STRING InstanceName);
/* Referenced objects; STATUS_BUFFER_TOO_SMALL with the count needed. */
NTSYSAPI NTSTATUS FLTAPI FltEnumerateFilters(PFLT_FILTER *FilterList,
					     ULONG FilterListSize,
					     PULONG NumberFiltersReturned);
NTSYSAPI NTSTATUS FLTAPI FltEnumerateVolumes(PFLT_FILTER Filter,
					     PFLT_VOLUME *VolumeList,
					     ULONG VolumeListSize,
					     PULONG NumberVolumesReturned);
NTSYSAPI NTSTATUS FLTAPI FltEnumerateInstances(PFLT_VOLUME Volume,
					       PFLT_FILTER Filter,
					       PFLT_INSTANCE *InstanceList,
					       ULONG InstanceListSize,
					       PULONG NumberInstancesReturned);
NTSYSAPI NTSTATUS FLTAPI FltGetFilterFromName(PCUNICODE_STRING FilterName,
					      PFLT_FILTER *RetFilter);
/* VolumeName: L"\Device\<name>". */
NTSYSAPI NTSTATUS FLTAPI FltGetVolumeFromName(PFLT_FILTER Filter,
					      PCUNICODE_STRING VolumeName,
					      PFLT_VOLUME *RetVolume);
NTSYSAPI NTSTATUS FLTAPI FltGetVolumeProperties(PFLT_VOLUME Volume,
						PFLT_VOLUME_PROPERTIES VolumeProperties,
						ULONG VolumePropertiesLength,
						PULONG LengthReturned);

/*
 * Contexts (docs/contexts.md).  A context is reference counted; Set and
 * Get return it referenced, FltReleaseContext drops a reference, and the
 * registration's cleanup callback runs once, when the last reference goes
 * after the object it was set on is gone (inode forgotten, open file
 * closed, instance detached, filter unloaded).  One context per filter
 * (volume) or per instance (others) per object.
 */
NTSYSAPI NTSTATUS FLTAPI FltAllocateContext(PFLT_FILTER Filter,
					    FLT_CONTEXT_TYPE ContextType,
					    SIZE_T ContextSize, POOL_TYPE PoolType,
					    PFLT_CONTEXT *ReturnedContext);
NTSYSAPI NTSTATUS FLTAPI FltSetVolumeContext(PFLT_VOLUME Volume,
					     FLT_SET_CONTEXT_OPERATION Operation,
					     PFLT_CONTEXT NewContext,
					     PFLT_CONTEXT *OldContext);
NTSYSAPI NTSTATUS FLTAPI FltSetInstanceContext(PFLT_INSTANCE Instance,
					       FLT_SET_CONTEXT_OPERATION Operation,
					       PFLT_CONTEXT NewContext,
					       PFLT_CONTEXT *OldContext);
NTSYSAPI NTSTATUS FLTAPI FltSetStreamContext(PFLT_INSTANCE Instance,
					     PFILE_OBJECT FileObject,
					     FLT_SET_CONTEXT_OPERATION Operation,
					     PFLT_CONTEXT NewContext,
					     PFLT_CONTEXT *OldContext);
NTSYSAPI NTSTATUS FLTAPI FltSetStreamHandleContext(
	PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
	FLT_SET_CONTEXT_OPERATION Operation, PFLT_CONTEXT NewContext,
	PFLT_CONTEXT *OldContext);
NTSYSAPI NTSTATUS FLTAPI FltSetFileContext(PFLT_INSTANCE Instance,
					   PFILE_OBJECT FileObject,
					   FLT_SET_CONTEXT_OPERATION Operation,
					   PFLT_CONTEXT NewContext,
					   PFLT_CONTEXT *OldContext);
NTSYSAPI NTSTATUS FLTAPI FltGetVolumeContext(PFLT_FILTER Filter,
					     PFLT_VOLUME Volume,
					     PFLT_CONTEXT *Context);
NTSYSAPI NTSTATUS FLTAPI FltGetInstanceContext(PFLT_INSTANCE Instance,
					       PFLT_CONTEXT *Context);
NTSYSAPI NTSTATUS FLTAPI FltGetStreamContext(PFLT_INSTANCE Instance,
					     PFILE_OBJECT FileObject,
					     PFLT_CONTEXT *Context);
NTSYSAPI NTSTATUS FLTAPI FltGetStreamHandleContext(PFLT_INSTANCE Instance,
						   PFILE_OBJECT FileObject,
						   PFLT_CONTEXT *Context);
NTSYSAPI NTSTATUS FLTAPI FltGetFileContext(PFLT_INSTANCE Instance,
					   PFILE_OBJECT FileObject,
					   PFLT_CONTEXT *Context);
NTSYSAPI NTSTATUS FLTAPI FltDeleteVolumeContext(PFLT_FILTER Filter,
						PFLT_VOLUME Volume,
						PFLT_CONTEXT *OldContext);
NTSYSAPI NTSTATUS FLTAPI FltDeleteInstanceContext(PFLT_INSTANCE Instance,
						  PFLT_CONTEXT *OldContext);
NTSYSAPI NTSTATUS FLTAPI FltDeleteStreamContext(PFLT_INSTANCE Instance,
						PFILE_OBJECT FileObject,
						PFLT_CONTEXT *OldContext);
NTSYSAPI NTSTATUS FLTAPI FltDeleteStreamHandleContext(PFLT_INSTANCE Instance,
						      PFILE_OBJECT FileObject,
						      PFLT_CONTEXT *OldContext);
NTSYSAPI NTSTATUS FLTAPI FltDeleteFileContext(PFLT_INSTANCE Instance,
					      PFILE_OBJECT FileObject,
					      PFLT_CONTEXT *OldContext);
NTSYSAPI VOID FLTAPI FltDeleteContext(PFLT_CONTEXT Context);
NTSYSAPI VOID FLTAPI FltReferenceContext(PFLT_CONTEXT Context);
NTSYSAPI VOID FLTAPI FltReleaseContext(PFLT_CONTEXT Context);
NTSYSAPI VOID FLTAPI FltGetContexts(PCFLT_RELATED_OBJECTS FltObjects,
				    FLT_CONTEXT_TYPE DesiredContexts,
				    PFLT_RELATED_CONTEXTS Contexts);
NTSYSAPI VOID FLTAPI FltReleaseContexts(PFLT_RELATED_CONTEXTS Contexts);

/* ---- Work items ------------------------------------------------------------------ */

typedef enum _WORK_QUEUE_TYPE {
	CriticalWorkQueue,
	DelayedWorkQueue,
	HyperCriticalWorkQueue,
	NormalWorkQueue,
	BackgroundWorkQueue,
	RealTimeWorkQueue,
	SuperCriticalWorkQueue,
	MaximumWorkQueue
} WORK_QUEUE_TYPE;

typedef struct _FLT_GENERIC_WORKITEM *PFLT_GENERIC_WORKITEM;
typedef VOID FLTAPI FLT_GENERIC_WORKITEM_ROUTINE(PFLT_GENERIC_WORKITEM FltWorkItem,
						 PVOID FltObject, PVOID Context);
typedef FLT_GENERIC_WORKITEM_ROUTINE *PFLT_GENERIC_WORKITEM_ROUTINE;

NTSYSAPI PFLT_GENERIC_WORKITEM FLTAPI FltAllocateGenericWorkItem(void);
NTSYSAPI VOID FLTAPI FltFreeGenericWorkItem(PFLT_GENERIC_WORKITEM FltWorkItem);
/* FltObject is the filter or an instance; it stays referenced (unload and
 * detach wait) until WorkerRoutine has returned. */
NTSYSAPI NTSTATUS FLTAPI FltQueueGenericWorkItem(
	PFLT_GENERIC_WORKITEM FltWorkItem, PVOID FltObject,
	PFLT_GENERIC_WORKITEM_ROUTINE WorkerRoutine, WORK_QUEUE_TYPE QueueType,
	PVOID Context);
/*
 * Deferred I/O work items: a pre callback queues one and returns
 * FLT_PREOP_PENDING; the routine runs on a worker thread with the callback
 * data and completes the operation with FltCompletePendedPreOperation.
 * Paging I/O cannot be posted: STATUS_FLT_NOT_SAFE_TO_POST_OPERATION, and
 * the filter does the work in its callback.
 */
typedef struct _FLT_DEFERRED_IO_WORKITEM *PFLT_DEFERRED_IO_WORKITEM;
typedef VOID FLTAPI FLT_DEFERRED_IO_WORKITEM_ROUTINE(
	PFLT_DEFERRED_IO_WORKITEM FltWorkItem, PFLT_CALLBACK_DATA CallbackData,
	PVOID Context);
typedef FLT_DEFERRED_IO_WORKITEM_ROUTINE *PFLT_DEFERRED_IO_WORKITEM_ROUTINE;
NTSYSAPI PFLT_DEFERRED_IO_WORKITEM FLTAPI FltAllocateDeferredIoWorkItem(void);
NTSYSAPI VOID FLTAPI FltFreeDeferredIoWorkItem(PFLT_DEFERRED_IO_WORKITEM FltWorkItem);
NTSYSAPI NTSTATUS FLTAPI FltQueueDeferredIoWorkItem(
	PFLT_DEFERRED_IO_WORKITEM FltWorkItem, PFLT_CALLBACK_DATA Data,
	PFLT_DEFERRED_IO_WORKITEM_ROUTINE WorkerRoutine,
	WORK_QUEUE_TYPE QueueType, PVOID Context);
NTSYSAPI PVOID FLTAPI FltAllocatePoolAlignedWithTag(PFLT_INSTANCE Instance,
						    POOL_TYPE PoolType,
						    SIZE_T NumberOfBytes, ULONG Tag);
NTSYSAPI VOID FLTAPI FltFreePoolAlignedWithTag(PFLT_INSTANCE Instance,
					       PVOID Buffer, ULONG Tag);

/* ---- Filter-initiated I/O (seen only by the instances below the issuer) ------------ */

typedef ULONG FLT_IO_OPERATION_FLAGS;
#define FLTFL_IO_OPERATION_NON_CACHED 0x00000001
#define FLTFL_IO_OPERATION_PAGING 0x00000002
#define FLTFL_IO_OPERATION_DO_NOT_UPDATE_BYTE_OFFSET 0x00000004
#define FLTFL_IO_OPERATION_SYNCHRONOUS_PAGING 0x00000008

#define IO_FORCE_ACCESS_CHECK 0x0001
#define IO_NO_PARAMETER_CHECKING 0x0100
#define IO_IGNORE_SHARE_ACCESS_CHECK 0x0800

typedef VOID FLTAPI FLT_COMPLETED_ASYNC_IO_CALLBACK(PFLT_CALLBACK_DATA CallbackData,
						    PFLT_CONTEXT Context);
typedef FLT_COMPLETED_ASYNC_IO_CALLBACK *PFLT_COMPLETED_ASYNC_IO_CALLBACK;
typedef PVOID PIO_DRIVER_CREATE_CONTEXT;

/*
 * ObjectAttributes->ObjectName is \Device\<volume>\dir\file or, relative
 * to the instance's volume, \dir\file; RootDirectory (a handle from
 * FltCreateFile) makes it relative to that directory.  Names never leave
 * the volume (".." and symlinks in the path are refused).
 */
NTSYSAPI NTSTATUS FLTAPI FltCreateFile(
	PFLT_FILTER Filter, PFLT_INSTANCE Instance, PHANDLE FileHandle,
	ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
	PIO_STATUS_BLOCK IoStatusBlock, PLARGE_INTEGER AllocationSize,
	ULONG FileAttributes, ULONG ShareAccess, ULONG CreateDisposition,
	ULONG CreateOptions, PVOID EaBuffer, ULONG EaLength, ULONG Flags);
NTSYSAPI NTSTATUS FLTAPI FltCreateFileEx(
	PFLT_FILTER Filter, PFLT_INSTANCE Instance, PHANDLE FileHandle,
	PFILE_OBJECT *FileObject, ACCESS_MASK DesiredAccess,
	POBJECT_ATTRIBUTES ObjectAttributes, PIO_STATUS_BLOCK IoStatusBlock,
	PLARGE_INTEGER AllocationSize, ULONG FileAttributes, ULONG ShareAccess,
	ULONG CreateDisposition, ULONG CreateOptions, PVOID EaBuffer,
	ULONG EaLength, ULONG Flags);
NTSYSAPI NTSTATUS FLTAPI FltCreateFileEx2(
	PFLT_FILTER Filter, PFLT_INSTANCE Instance, PHANDLE FileHandle,
	PFILE_OBJECT *FileObject, ACCESS_MASK DesiredAccess,
	POBJECT_ATTRIBUTES ObjectAttributes, PIO_STATUS_BLOCK IoStatusBlock,
	PLARGE_INTEGER AllocationSize, ULONG FileAttributes, ULONG ShareAccess,
	ULONG CreateDisposition, ULONG CreateOptions, PVOID EaBuffer,
	ULONG EaLength, ULONG Flags, PIO_DRIVER_CREATE_CONTEXT DriverContext);
/* CLEANUP now; CLOSE when the file object's last reference goes too. */
NTSYSAPI NTSTATUS FLTAPI FltClose(HANDLE FileHandle);
NTSYSAPI VOID NTAPI ObReferenceObject(PVOID Object);
NTSYSAPI VOID NTAPI ObDereferenceObject(PVOID Object);
/* ByteOffset NULL: the file object's CurrentByteOffset.  With a
 * CallbackRoutine the I/O completes on a worker thread, STATUS_PENDING is
 * returned, and the routine gets the callback data. */
NTSYSAPI NTSTATUS FLTAPI FltReadFile(PFLT_INSTANCE InitiatingInstance,
				     PFILE_OBJECT FileObject,
				     PLARGE_INTEGER ByteOffset, ULONG Length,
				     PVOID Buffer, FLT_IO_OPERATION_FLAGS Flags,
				     PULONG BytesRead,
				     PFLT_COMPLETED_ASYNC_IO_CALLBACK CallbackRoutine,
				     PVOID CallbackContext);
NTSYSAPI NTSTATUS FLTAPI FltWriteFile(PFLT_INSTANCE InitiatingInstance,
				      PFILE_OBJECT FileObject,
				      PLARGE_INTEGER ByteOffset, ULONG Length,
				      PVOID Buffer, FLT_IO_OPERATION_FLAGS Flags,
				      PULONG BytesWritten,
				      PFLT_COMPLETED_ASYNC_IO_CALLBACK CallbackRoutine,
				      PVOID CallbackContext);
/* Classes: FileBasicInformation, FileStandardInformation,
 * FileInternalInformation, FilePositionInformation,
 * FileNetworkOpenInformation, FileStatInformation, FileStatLxInformation. */
NTSYSAPI NTSTATUS FLTAPI FltQueryInformationFile(
	PFLT_INSTANCE Instance, PFILE_OBJECT FileObject, PVOID FileInformation,
	ULONG Length, FILE_INFORMATION_CLASS FileInformationClass,
	PULONG LengthReturned);
/* Classes: FileBasicInformation, FileEndOfFileInformation,
 * FileAllocationInformation, FilePositionInformation,
 * FileDispositionInformation(Ex), FileRenameInformation(Ex). */
NTSYSAPI NTSTATUS FLTAPI FltSetInformationFile(
	PFLT_INSTANCE Instance, PFILE_OBJECT FileObject, PVOID FileInformation,
	ULONG Length, FILE_INFORMATION_CLASS FileInformationClass);
NTSYSAPI NTSTATUS FLTAPI FltFlushBuffers(PFLT_INSTANCE Instance,
					 PFILE_OBJECT FileObject);

/*
 * IRP_MJ_DIRECTORY_CONTROL / IRP_MN_QUERY_DIRECTORY on a directory opened
 * by the filter (FltCreateFile with FILE_DIRECTORY_FILE) or one an
 * operation gave it.  Classes FileDirectoryInformation,
 * FileFullDirectoryInformation, FileBothDirectoryInformation,
 * FileNamesInformation, FileIdFullDirectoryInformation,
 * FileIdBothDirectoryInformation, FileIdExtdDirectoryInformation.
 * The scan position belongs to the file object and is the filter's own
 * (a program reading the same open directory is not disturbed).  FileName
 * is a pattern ('*' and '?', case-sensitive as Linux names are) taken on
 * the first call or with RestartScan, ignored otherwise.  Returns
 * STATUS_NO_SUCH_FILE when the first call finds nothing, STATUS_NO_MORE_FILES
 * at the end, STATUS_BUFFER_OVERFLOW when not even one entry fits (a
 * partial entry is returned and the scan does not move).  "." and ".."
 * are listed except at the volume root.
 */
NTSYSAPI NTSTATUS FLTAPI FltQueryDirectoryFile(
	PFLT_INSTANCE Instance, PFILE_OBJECT FileObject, PVOID FileInformation,
	ULONG Length, FILE_INFORMATION_CLASS FileInformationClass,
	BOOLEAN ReturnSingleEntry, PUNICODE_STRING FileName,
	BOOLEAN RestartScan, PULONG LengthReturned);
/*
 * IRP_MJ_QUERY_VOLUME_INFORMATION: FileFsSizeInformation,
 * FileFsFullSizeInformation (statvfs of the directory underneath),
 * FileFsAttributeInformation (FileSystemName is the Linux file system's,
 * "ext4"), FileFsVolumeInformation (the label is the volume's name, the
 * serial number derived from the file system id).  A variable-length name
 * that does not fit gives STATUS_BUFFER_OVERFLOW with what fits.
 */
NTSYSAPI NTSTATUS FLTAPI FltQueryVolumeInformationFile(
	PFLT_INSTANCE Instance, PFILE_OBJECT FileObject, PVOID FsInformation,
	ULONG Length, FS_INFORMATION_CLASS FsInformationClass,
	PULONG LengthReturned);
/* The same for the instance's volume (its root directory). */
NTSYSAPI NTSTATUS FLTAPI FltQueryVolumeInformation(
	PFLT_INSTANCE Instance, PIO_STATUS_BLOCK Iosb, PVOID FsInformation,
	ULONG Length, FS_INFORMATION_CLASS FsInformationClass);
/*
 * Undoes a successful open from the post-create callback: CLEANUP and
 * CLOSE go to the instances below Instance and the file system closes the
 * file; the caller then sets a failure status in Data->IoStatus and
 * returns FLT_POSTOP_FINISHED_PROCESSING, and the program's open(2) fails
 * with that status's errno.  A file the open created stays (delete it
 * first if it must go), as on Windows.  If the filter leaves a success
 * status the program gets a descriptor on which every operation fails
 * (EBADF).
 */
NTSYSAPI VOID FLTAPI FltCancelFileOpen(PFLT_INSTANCE Instance,
				       PFILE_OBJECT FileObject);

/*
 * An IRP_MJ_FILE_SYSTEM_CONTROL (IRP_MN_USER_FS_REQUEST, METHOD_BUFFERED)
 * issued by Instance on FileObject, seen by the instances below it.  The
 * file system answers FSCTL_LX_COPY_TO_DESCRIPTOR and
 * FSCTL_LX_LINK_TO_DIRECTORY; other codes give
 * STATUS_INVALID_DEVICE_REQUEST unless a lower filter completes them.
 */
NTSYSAPI NTSTATUS FLTAPI FltFsControlFile(PFLT_INSTANCE Instance,
					  PFILE_OBJECT FileObject,
					  ULONG FsControlCode, PVOID InputBuffer,
					  ULONG InputBufferLength,
					  PVOID OutputBuffer,
					  ULONG OutputBufferLength,
					  PULONG LengthReturned);

/*
 * Altitude: copies the content of a file on the volume into a Linux file
 * descriptor the filter opened outside the volume (a backup store, a
 * quarantine): by reflink (FICLONE) when both are on one file system that
 * shares blocks, else by copy_file_range (or read/write).  The target is
 * truncated to the source's size first.  Output: how it was done and the
 * bytes.  A target open with O_DIRECT gets a copy written around the page
 * cache (whole 4 KiB blocks from an aligned buffer, the tail buffered) and
 * may be left without O_DIRECT; one whose file system refuses direct I/O
 * is copied as any other.  Flags LX_COPY_CLONE_ONLY: STATUS_NOT_SUPPORTED instead of
 * copying; LX_COPY_NO_CLONE: always copy.  A negative descriptor, an
 * unknown flag or both flags: STATUS_INVALID_PARAMETER; buffers shorter
 * than the structures: STATUS_BUFFER_TOO_SMALL.  A lower filter that changes
 * data (encryption) should complete this FSCTL with
 * STATUS_INVALID_DEVICE_REQUEST so the issuer falls back to FltReadFile.
 */
#define FSCTL_LX_COPY_TO_DESCRIPTOR \
	CTL_CODE(FILE_DEVICE_FILE_SYSTEM, 0x900, METHOD_BUFFERED, FILE_READ_ACCESS)
#define LX_COPY_CLONE_ONLY 0x1
#define LX_COPY_NO_CLONE 0x2
#define LX_COPY_METHOD_CLONE 1
#define LX_COPY_METHOD_COPY 2
typedef struct _LX_COPY_TO_DESCRIPTOR_INPUT {
	LONG TargetDescriptor;
	ULONG Flags;
} LX_COPY_TO_DESCRIPTOR_INPUT, *PLX_COPY_TO_DESCRIPTOR_INPUT;
/*
 * With LX_COPY_AT_OFFSET (and this longer input) the content is copied to
 * TargetOffset of the target, which is neither truncated nor cloned into
 * (a staging area shared by many copies): a source larger than MaxLength
 * gives STATUS_BUFFER_OVERFLOW, and what was written at TargetOffset
 * meanwhile is undefined.  LX_COPY_AT_OFFSET with LX_COPY_CLONE_ONLY, a
 * negative offset or the short input: STATUS_INVALID_PARAMETER.
 */
#define LX_COPY_AT_OFFSET 0x4
/*
 * With LX_COPY_TO_MEMORY (and the whole input, TargetBuffer included) the
 * content is read into TargetBuffer, at most MaxLength bytes of the
 * issuer's own memory, instead of a descriptor: a staging area the filter
 * mapped from /dev/shm then takes the copy directly, one copy of the bytes
 * where writing it through the area's descriptor costs two.
 * TargetDescriptor must be -1 and TargetOffset 0; a source larger than
 * MaxLength gives STATUS_BUFFER_OVERFLOW (the buffer's content is then
 * undefined).  With LX_COPY_CLONE_ONLY or LX_COPY_AT_OFFSET, with a NULL
 * TargetBuffer, or a shorter input: STATUS_INVALID_PARAMETER.
 */
#define LX_COPY_TO_MEMORY 0x8
typedef struct _LX_COPY_TO_DESCRIPTOR_INPUT_EX {
	LONG TargetDescriptor;
	ULONG Flags; /* LX_COPY_AT_OFFSET | ... */
	LARGE_INTEGER TargetOffset;
	LARGE_INTEGER MaxLength;
	PVOID TargetBuffer; /* LX_COPY_TO_MEMORY only */
} LX_COPY_TO_DESCRIPTOR_INPUT_EX, *PLX_COPY_TO_DESCRIPTOR_INPUT_EX;
/* The input LX_COPY_AT_OFFSET needs: up to MaxLength. */
#define LX_COPY_AT_OFFSET_INPUT_LENGTH \
	(offsetof(LX_COPY_TO_DESCRIPTOR_INPUT_EX, MaxLength) + sizeof(LARGE_INTEGER))
typedef struct _LX_COPY_TO_DESCRIPTOR_OUTPUT {
	ULONG Method; /* LX_COPY_METHOD_* */
	/* The source did not change while it was copied (same size, change
	 * and modification times before and after; a copy that raced a
	 * writer is retried up to 5 times before this says FALSE). */
	ULONG Consistent;
	LARGE_INTEGER BytesCopied;
	/* The source as copied, with full precision: times in ns since
	 * 1970-01-01 UTC, mode, owner. */
	LARGE_INTEGER SourceLastAccessTimeNs;
	LARGE_INTEGER SourceLastWriteTimeNs;
	ULONG SourceMode;
	ULONG SourceUid;
	ULONG SourceGid;
	ULONG Reserved;
} LX_COPY_TO_DESCRIPTOR_OUTPUT, *PLX_COPY_TO_DESCRIPTOR_OUTPUT;

/*
 * Altitude: gives the file on the volume a second name outside it, in a
 * directory the filter opened (a backup store keeping the content of a
 * file about to be deleted or replaced, without copying a byte).  Made
 * only when the file is a regular file with one link, no handle open for
 * writing it and no program's open of any kind (a later write through such
 * a handle, or through a read-only descriptor reopened by /proc/PID/fd,
 * would change the content under the new name): else
 * STATUS_SHARING_VIOLATION, and
 * STATUS_NOT_SAME_DEVICE when the directory is on another file system.
 * TargetName is relative to TargetDirectory ("xx/name" allowed, no "."
 * or ".." component), must not exist, and is NUL-terminated; a name that
 * breaks this, a negative directory or an unknown flag gives
 * STATUS_INVALID_PARAMETER.  A program's open counts from the moment the
 * file system opened the file, so a post-create callback cannot link the
 * file the program is being given.  With LX_LINK_QUERY nothing is linked: the
 * output describes the file as it is now (the issuer checks, after the
 * change, that the file went and nothing can write the content).  Output:
 * Content as FSCTL_LX_COPY_TO_DESCRIPTOR's with Method LX_COPY_METHOD_LINK
 * (BytesCopied: the file's size), the link count after the call, the
 * handles open for writing, and the programs' opens (any access; filters'
 * handles not counted).  A lower filter that changes data completes
 * it with STATUS_INVALID_DEVICE_REQUEST, as the copy.
 */
#define FSCTL_LX_LINK_TO_DIRECTORY \
	CTL_CODE(FILE_DEVICE_FILE_SYSTEM, 0x901, METHOD_BUFFERED, FILE_READ_ACCESS)
#define LX_LINK_QUERY 0x1
#define LX_COPY_METHOD_LINK 3
#define LX_LINK_NAME_MAX 128
typedef struct _LX_LINK_TO_DIRECTORY_INPUT {
	LONG TargetDirectory;
	ULONG Flags;
	CHAR TargetName[LX_LINK_NAME_MAX];
} LX_LINK_TO_DIRECTORY_INPUT, *PLX_LINK_TO_DIRECTORY_INPUT;
typedef struct _LX_LINK_TO_DIRECTORY_OUTPUT {
	LX_COPY_TO_DESCRIPTOR_OUTPUT Content;
	ULONG NumberOfLinks;
	ULONG WriteHandles;
	ULONG OpenHandles;
	ULONG Reserved;
} LX_LINK_TO_DIRECTORY_OUTPUT, *PLX_LINK_TO_DIRECTORY_OUTPUT;

/* ==== Pended operations (docs/pending.md) ================================= */
/*
 * A pre callback that returns FLT_PREOP_PENDING owns the operation until it
 * calls FltCompletePendedPreOperation (from any thread, even before the
 * callback has returned) with FLT_PREOP_SUCCESS_WITH_CALLBACK,
 * FLT_PREOP_SUCCESS_NO_CALLBACK or FLT_PREOP_COMPLETE (IoStatus set first);
 * the operation then continues below that instance.  A post callback that
 * returns FLT_POSTOP_MORE_PROCESSING_REQUIRED does the same with
 * FltCompletePendedPostOperation.  The program waits meanwhile; the
 * daemon's thread that delivered the operation is parked (no CPU), others
 * serve the volume.
 *
 * When the program is interrupted by a signal while its operation is
 * pended, the operation is canceled: FltIsIoCanceled says so, the
 * cancel-safe queue it sits in (FltCbdq*) removes it and calls the queue's
 * CompleteCanceledIo, or the routine set with FltSetCancelCompletion runs.
 * Completing it with STATUS_CANCELLED gives the program EINTR.
 */
NTSYSAPI VOID FLTAPI FltCompletePendedPreOperation(
	PFLT_CALLBACK_DATA CallbackData, FLT_PREOP_CALLBACK_STATUS CallbackStatus,
	PVOID Context);
NTSYSAPI VOID FLTAPI FltCompletePendedPostOperation(PFLT_CALLBACK_DATA CallbackData);
/* Altitude has no IRQL: completion processing is always safe, so this
 * calls SafePostCallback at once, stores its status and returns TRUE. */
NTSYSAPI BOOLEAN FLTAPI FltDoCompletionProcessingWhenSafe(
	PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects,
	PVOID CompletionContext, FLT_POST_OPERATION_FLAGS Flags,
	PFLT_POST_OPERATION_CALLBACK SafePostCallback,
	PFLT_POSTOP_CALLBACK_STATUS RetPostOperationStatus);
NTSYSAPI BOOLEAN FLTAPI FltIsIoCanceled(PFLT_CALLBACK_DATA CallbackData);
typedef VOID FLTAPI FLT_COMPLETE_CANCELED_CALLBACK(PFLT_CALLBACK_DATA CallbackData);
typedef FLT_COMPLETE_CANCELED_CALLBACK *PFLT_COMPLETE_CANCELED_CALLBACK;
/* A routine run (once) if the pended operation is canceled; STATUS_CANCELLED
 * if it already was. */
NTSYSAPI NTSTATUS FLTAPI FltSetCancelCompletion(
	PFLT_CALLBACK_DATA CallbackData, PFLT_COMPLETE_CANCELED_CALLBACK CanceledCallback);
NTSYSAPI NTSTATUS FLTAPI FltClearCancelCompletion(PFLT_CALLBACK_DATA CallbackData);

/* Cancel-safe callback data queues: the filter keeps the list and its lock
 * (the callbacks); the queue keeps cancellation safe. */
typedef struct _IO_CSQ {
	ULONG Type;
	ULONG Disabled; /* FltCbdqDisable */
	PVOID ReservePointer;
} IO_CSQ, *PIO_CSQ;
typedef struct _IO_CSQ_IRP_CONTEXT {
	ULONG Type;
	PVOID Irp; /* the callback data while it is queued, else NULL */
	PIO_CSQ Csq;
} IO_CSQ_IRP_CONTEXT, *PIO_CSQ_IRP_CONTEXT;
typedef IO_CSQ_IRP_CONTEXT FLT_CALLBACK_DATA_QUEUE_IO_CONTEXT,
	*PFLT_CALLBACK_DATA_QUEUE_IO_CONTEXT;
typedef ULONG FLT_CALLBACK_DATA_QUEUE_FLAGS;
typedef struct _FLT_CALLBACK_DATA_QUEUE FLT_CALLBACK_DATA_QUEUE,
	*PFLT_CALLBACK_DATA_QUEUE;
typedef NTSTATUS FLTAPI FLT_CALLBACK_DATA_QUEUE_INSERT_IO(
	PFLT_CALLBACK_DATA_QUEUE Cbdq, PFLT_CALLBACK_DATA Cbd, PVOID InsertContext);
typedef FLT_CALLBACK_DATA_QUEUE_INSERT_IO *PFLT_CALLBACK_DATA_QUEUE_INSERT_IO;
typedef VOID FLTAPI FLT_CALLBACK_DATA_QUEUE_REMOVE_IO(PFLT_CALLBACK_DATA_QUEUE Cbdq,
						     PFLT_CALLBACK_DATA Cbd);
typedef FLT_CALLBACK_DATA_QUEUE_REMOVE_IO *PFLT_CALLBACK_DATA_QUEUE_REMOVE_IO;
typedef PFLT_CALLBACK_DATA FLTAPI FLT_CALLBACK_DATA_QUEUE_PEEK_NEXT_IO(
	PFLT_CALLBACK_DATA_QUEUE Cbdq, PFLT_CALLBACK_DATA Cbd, PVOID PeekContext);
typedef FLT_CALLBACK_DATA_QUEUE_PEEK_NEXT_IO *PFLT_CALLBACK_DATA_QUEUE_PEEK_NEXT_IO;
typedef VOID FLTAPI FLT_CALLBACK_DATA_QUEUE_ACQUIRE(PFLT_CALLBACK_DATA_QUEUE Cbdq,
						   PKIRQL Irql);
typedef FLT_CALLBACK_DATA_QUEUE_ACQUIRE *PFLT_CALLBACK_DATA_QUEUE_ACQUIRE;
typedef VOID FLTAPI FLT_CALLBACK_DATA_QUEUE_RELEASE(PFLT_CALLBACK_DATA_QUEUE Cbdq,
						   KIRQL Irql);
typedef FLT_CALLBACK_DATA_QUEUE_RELEASE *PFLT_CALLBACK_DATA_QUEUE_RELEASE;
typedef VOID FLTAPI FLT_CALLBACK_DATA_QUEUE_COMPLETE_CANCELED_IO(
	PFLT_CALLBACK_DATA_QUEUE Cbdq, PFLT_CALLBACK_DATA Cbd);
typedef FLT_CALLBACK_DATA_QUEUE_COMPLETE_CANCELED_IO
	*PFLT_CALLBACK_DATA_QUEUE_COMPLETE_CANCELED_IO;
struct _FLT_CALLBACK_DATA_QUEUE {
	IO_CSQ Csq;
	FLT_CALLBACK_DATA_QUEUE_FLAGS Flags;
	PFLT_INSTANCE Instance;
	PFLT_CALLBACK_DATA_QUEUE_INSERT_IO InsertIo;
	PFLT_CALLBACK_DATA_QUEUE_REMOVE_IO RemoveIo;
	PFLT_CALLBACK_DATA_QUEUE_PEEK_NEXT_IO PeekNextIo;
	PFLT_CALLBACK_DATA_QUEUE_ACQUIRE Acquire;
	PFLT_CALLBACK_DATA_QUEUE_RELEASE Release;
	PFLT_CALLBACK_DATA_QUEUE_COMPLETE_CANCELED_IO CompleteCanceledIo;
};
NTSYSAPI NTSTATUS FLTAPI FltCbdqInitialize(
	PFLT_INSTANCE Instance, PFLT_CALLBACK_DATA_QUEUE Cbdq,
	PFLT_CALLBACK_DATA_QUEUE_INSERT_IO CbdqInsertIo,
	PFLT_CALLBACK_DATA_QUEUE_REMOVE_IO CbdqRemoveIo,
	PFLT_CALLBACK_DATA_QUEUE_PEEK_NEXT_IO CbdqPeekNextIo,
	PFLT_CALLBACK_DATA_QUEUE_ACQUIRE CbdqAcquire,
	PFLT_CALLBACK_DATA_QUEUE_RELEASE CbdqRelease,
	PFLT_CALLBACK_DATA_QUEUE_COMPLETE_CANCELED_IO CbdqCompleteCanceledIo);
/* STATUS_FLT_CBDQ_DISABLED when disabled; an operation canceled before it
 * could be queued goes straight to CompleteCanceledIo (STATUS_SUCCESS). */
NTSYSAPI NTSTATUS FLTAPI FltCbdqInsertIo(PFLT_CALLBACK_DATA_QUEUE Cbdq,
					 PFLT_CALLBACK_DATA Cbd,
					 PFLT_CALLBACK_DATA_QUEUE_IO_CONTEXT Context,
					 PVOID InsertContext);
/* The operation Context was queued with, if it still is (else NULL). */
NTSYSAPI PFLT_CALLBACK_DATA FLTAPI FltCbdqRemoveIo(
	PFLT_CALLBACK_DATA_QUEUE Cbdq, PFLT_CALLBACK_DATA_QUEUE_IO_CONTEXT Context);
NTSYSAPI PFLT_CALLBACK_DATA FLTAPI FltCbdqRemoveNextIo(
	PFLT_CALLBACK_DATA_QUEUE Cbdq, PVOID PeekContext);
NTSYSAPI VOID FLTAPI FltCbdqEnable(PFLT_CALLBACK_DATA_QUEUE Cbdq);
NTSYSAPI VOID FLTAPI FltCbdqDisable(PFLT_CALLBACK_DATA_QUEUE Cbdq);

/* ==== End of pended operations ============================================ */

/* Push locks (reader/writer locks). */
typedef struct _EX_PUSH_LOCK_IMPL {
	pthread_rwlock_t Lock;
} EX_PUSH_LOCK, *PEX_PUSH_LOCK;
NTSYSAPI VOID FLTAPI FltInitializePushLock(PEX_PUSH_LOCK PushLock);
NTSYSAPI VOID FLTAPI FltDeletePushLock(PEX_PUSH_LOCK PushLock);
NTSYSAPI VOID FLTAPI FltAcquirePushLockExclusive(PEX_PUSH_LOCK PushLock);
NTSYSAPI VOID FLTAPI FltAcquirePushLockShared(PEX_PUSH_LOCK PushLock);
NTSYSAPI VOID FLTAPI FltReleasePushLock(PEX_PUSH_LOCK PushLock);

/* ==== File names (docs/names.md, "Names for filters") ===================== */
/*
 * A name is \Device\<volume>\dir\file: the volume's device name followed by
 * the volume-relative path, each Linux name component mapped losslessly to
 * UTF-16 (docs/names.md).  Name information is reference counted and shared
 * between filters: release every structure you get with
 * FltReleaseFileNameInformation and never write to it (FltParseFileName-
 * Information fills its component fields, once, for everybody).
 *
 * The filter manager caches each stream's normalized name; every rename,
 * link, unlink and rmdir on the volume invalidates the cache before the
 * operation completes, so once a rename has returned no query returns the
 * old name.  Linux has no short (8.3) names, no alternate data streams and
 * no tunnel cache: FLT_FILE_NAME_SHORT gives the final component of the
 * normalized name, Stream is always empty (a ':' in a Linux name is mapped
 * to U+F03A), FltGetTunneledName never has a tunneled name.
 */
typedef ULONG FLT_FILE_NAME_OPTIONS;
#define FLT_VALID_FILE_NAME_FORMATS 0x000000ff
#define FLT_FILE_NAME_NORMALIZED 0x01
#define FLT_FILE_NAME_OPENED 0x02
#define FLT_FILE_NAME_SHORT 0x03
#define FltGetFileNameFormat(_NameOptions) \
	((_NameOptions) & FLT_VALID_FILE_NAME_FORMATS)
#define FLT_VALID_FILE_NAME_QUERY_METHODS 0x0000ff00
#define FLT_FILE_NAME_QUERY_DEFAULT 0x0100
#define FLT_FILE_NAME_QUERY_CACHE_ONLY 0x0200
#define FLT_FILE_NAME_QUERY_FILESYSTEM_ONLY 0x0300
#define FLT_FILE_NAME_QUERY_ALWAYS_ALLOW_CACHE_LOOKUP 0x0400
#define FltGetFileNameQueryMethod(_NameOptions) \
	((_NameOptions) & FLT_VALID_FILE_NAME_QUERY_METHODS)
#define FLT_VALID_FILE_NAME_FLAGS 0xff000000
/* Accepted; Altitude has no name provider filters, so it changes nothing. */
#define FLT_FILE_NAME_REQUEST_FROM_CURRENT_PROVIDER 0x01000000
/* The name is looked up in the cache but a miss does not fill it. */
#define FLT_FILE_NAME_DO_NOT_CACHE 0x02000000
/* Accepted; there are no reparse points to stop at on Linux. */
#define FLT_FILE_NAME_ALLOW_QUERY_ON_REPARSE 0x04000000

typedef USHORT FLT_FILE_NAME_PARSED_FLAGS;
#define FLTFL_FILE_NAME_PARSED_FINAL_COMPONENT 0x0001
#define FLTFL_FILE_NAME_PARSED_EXTENSION 0x0002
#define FLTFL_FILE_NAME_PARSED_STREAM 0x0004
#define FLTFL_FILE_NAME_PARSED_PARENT_DIR 0x0008

typedef struct _FLT_FILE_NAME_INFORMATION {
	USHORT Size;
	FLT_FILE_NAME_PARSED_FLAGS NamesParsed;
	FLT_FILE_NAME_OPTIONS Format;
	UNICODE_STRING Name;
	UNICODE_STRING Volume; /* \Device\<volume>; empty for short names */
	UNICODE_STRING Share; /* always empty: no network redirectors */
	UNICODE_STRING Extension; /* "txt", after FltParseFileNameInformation */
	UNICODE_STRING Stream; /* always empty (no alternate data streams) */
	UNICODE_STRING FinalComponent; /* "a.txt"; empty for the root */
	UNICODE_STRING ParentDir; /* "\dir\", with the trailing backslash */
} FLT_FILE_NAME_INFORMATION, *PFLT_FILE_NAME_INFORMATION;

/*
 * The name of Data's target.  In pre-create (and whenever the file object is
 * not open on a file yet) the name is the one being opened,
 * FileObject->FileName, and the cache is not used.  Otherwise NORMALIZED
 * names come from the cache or the file system per the query method
 * (CACHE_ONLY: STATUS_FLT_NAME_CACHE_MISS on a miss); OPENED names are the
 * file's current name and are never cached; SHORT is invalid in pre-create
 * (STATUS_INVALID_PARAMETER).  A format and a query method are required.
 */
NTSYSAPI NTSTATUS FLTAPI FltGetFileNameInformation(
	PFLT_CALLBACK_DATA CallbackData, FLT_FILE_NAME_OPTIONS NameOptions,
	PFLT_FILE_NAME_INFORMATION *FileNameInformation);
/* The same for a file object outside an operation; Instance may be NULL
 * once the file object's stream is known to the filter manager. */
NTSYSAPI NTSTATUS FLTAPI FltGetFileNameInformationUnsafe(
	PFILE_OBJECT FileObject, PFLT_INSTANCE Instance,
	FLT_FILE_NAME_OPTIONS NameOptions,
	PFLT_FILE_NAME_INFORMATION *FileNameInformation);
/* Fills FinalComponent, Extension, Stream, ParentDir and NamesParsed. */
NTSYSAPI NTSTATUS FLTAPI FltParseFileNameInformation(
	PFLT_FILE_NAME_INFORMATION FileNameInformation);
/* The final component, extension and stream of any name string. */
NTSYSAPI NTSTATUS FLTAPI FltParseFileName(PCUNICODE_STRING FileName,
					  PUNICODE_STRING Extension,
					  PUNICODE_STRING Stream,
					  PUNICODE_STRING FinalComponent);
NTSYSAPI VOID FLTAPI FltReferenceFileNameInformation(
	PFLT_FILE_NAME_INFORMATION FileNameInformation);
NTSYSAPI VOID FLTAPI FltReleaseFileNameInformation(
	PFLT_FILE_NAME_INFORMATION FileNameInformation);
/*
 * The full name a rename or link target stands for.  FileName is what
 * FILE_RENAME_INFORMATION / FILE_LINK_INFORMATION hold: \Device\<volume>\...
 * (what the I/O manager passes), a volume-relative \dir\name, or a bare
 * name (the source's directory).  A target on another volume is
 * STATUS_NOT_SAME_DEVICE; RootDirectory must be NULL (no handles on
 * Linux).  Never cached.
 */
NTSYSAPI NTSTATUS FLTAPI FltGetDestinationFileNameInformation(
	PFLT_INSTANCE Instance, PFILE_OBJECT FileObject, HANDLE RootDirectory,
	PWSTR FileName, ULONG FileNameLength, FLT_FILE_NAME_OPTIONS NameOptions,
	PFLT_FILE_NAME_INFORMATION *RetFileNameInformation);
/* STATUS_SUCCESS with *RetTunneledFileNameInformation NULL: Linux file
 * systems keep no tunnel cache, so a name is never tunneled. */
NTSYSAPI NTSTATUS FLTAPI FltGetTunneledName(
	PFLT_CALLBACK_DATA CallbackData,
	PFLT_FILE_NAME_INFORMATION FileNameInformation,
	PFLT_FILE_NAME_INFORMATION *RetTunneledFileNameInformation);
/* Drops the cached name of FileObject's stream, or (NULL) every cached name
 * on Instance's volume. */
NTSYSAPI NTSTATUS FLTAPI FltPurgeFileNameInformationCache(
	PFLT_INSTANCE Instance, PFILE_OBJECT FileObject);
/* Altitude: the volume's name cache hits and misses so far (either
 * pointer may be NULL). */
NTSYSAPI NTSTATUS FLTAPI FltGetFileNameCacheStatisticsLx(PFLT_VOLUME Volume,
							 PULONGLONG Hits,
							 PULONGLONG Misses);

/* ==== End of file names =================================================== */

/* ==== Communication ports (docs/ports.md) ================================== */
/*
 * A filter creates a named server port; user programs connect with
 * FilterConnectCommunicationPort (fltUser.h).  Each connection is a client
 * port the filter receives in ConnectNotify and passes to FltSendMessage and
 * FltCloseClientPort.  Port names (L"\\MyPort") are global across filters.
 * ConnectNotify, DisconnectNotify and MessageNotify run on a daemon thread
 * of the connection; DisconnectNotify is called exactly once for every
 * connection ConnectNotify accepted: when the program closes its handle or
 * dies, after FltCloseClientPort, or when the filter unloads.
 */

#define FLT_PORT_CONNECT 0x0001
#define FLT_PORT_ALL_ACCESS (FLT_PORT_CONNECT | STANDARD_RIGHTS_ALL)

#ifndef STATUS_CONNECTION_COUNT_LIMIT
#define STATUS_CONNECTION_COUNT_LIMIT ((NTSTATUS)0xC0000246L)
#endif

typedef NTSTATUS FLTAPI FLT_CONNECT_NOTIFY(PFLT_PORT ClientPort,
					   PVOID ServerPortCookie,
					   PVOID ConnectionContext,
					   ULONG SizeOfContext,
					   PVOID *ConnectionPortCookie);
typedef FLT_CONNECT_NOTIFY *PFLT_CONNECT_NOTIFY;
typedef VOID FLTAPI FLT_DISCONNECT_NOTIFY(PVOID ConnectionCookie);
typedef FLT_DISCONNECT_NOTIFY *PFLT_DISCONNECT_NOTIFY;
typedef NTSTATUS FLTAPI FLT_MESSAGE_NOTIFY(PVOID PortCookie, PVOID InputBuffer,
					   ULONG InputBufferLength,
					   PVOID OutputBuffer,
					   ULONG OutputBufferLength,
					   PULONG ReturnOutputBufferLength);
typedef FLT_MESSAGE_NOTIFY *PFLT_MESSAGE_NOTIFY;

/*
 * ObjectAttributes->ObjectName is the port name (starting with '\', at most
 * 255 UTF-8 bytes); ObjectAttributes->SecurityDescriptor decides who may
 * connect (NULL: root only).  STATUS_OBJECT_NAME_COLLISION if a port of that
 * name exists (names compare case-insensitively).  MaxConnections > 0.
 */
NTSYSAPI NTSTATUS FLTAPI FltCreateCommunicationPort(
	PFLT_FILTER Filter, PFLT_PORT *ServerPort,
	POBJECT_ATTRIBUTES ObjectAttributes, PVOID ServerPortCookie,
	PFLT_CONNECT_NOTIFY ConnectNotifyCallback,
	PFLT_DISCONNECT_NOTIFY DisconnectNotifyCallback,
	PFLT_MESSAGE_NOTIFY MessageNotifyCallback, LONG MaxConnections);
/* No new connections; existing ones stay until their client port closes. */
NTSYSAPI VOID FLTAPI FltCloseCommunicationPort(PFLT_PORT ServerPort);
/* Disconnects the program and sets *ClientPort to NULL; NULL is a no-op.
 * DisconnectNotify follows on the connection's thread (never inside this
 * call), so calling this from DisconnectNotify is the usual pattern. */
NTSYSAPI VOID FLTAPI FltCloseClientPort(PFLT_FILTER Filter,
					PFLT_PORT *ClientPort);
/*
 * Sends SenderBuffer (at most 64 KiB) to the program; FilterGetMessage
 * returns it.  Without ReplyBuffer: returns once the message is queued on
 * the connection.  With it: waits for FilterReplyMessage and copies the
 * reply's data (after FILTER_REPLY_HEADER) into ReplyBuffer, setting
 * *ReplyLength to the bytes copied; the status is the reply header's Status,
 * or STATUS_BUFFER_OVERFLOW when the reply was cut (docs/ports.md, "Reply
 * sizes").  Timeout in 100 ns units: negative relative, positive absolute
 * system time, 0 do not wait, NULL wait forever; it covers queueing and the
 * reply.  STATUS_TIMEOUT, STATUS_PORT_DISCONNECTED (no program, or it went
 * away), STATUS_INVALID_PARAMETER.  Any number of threads may send at once.
 */
NTSYSAPI NTSTATUS FLTAPI FltSendMessage(PFLT_FILTER Filter,
					PFLT_PORT *ClientPort,
					PVOID SenderBuffer,
					ULONG SenderBufferLength,
					PVOID ReplyBuffer, PULONG ReplyLength,
					PLARGE_INTEGER Timeout);
/* A descriptor granting DesiredAccess to root (uid 0) only; free it with
 * FltFreeSecurityDescriptor once FltCreateCommunicationPort has copied it. */
NTSYSAPI NTSTATUS FLTAPI FltBuildDefaultSecurityDescriptor(
	PSECURITY_DESCRIPTOR *SecurityDescriptor, ACCESS_MASK DesiredAccess);
NTSYSAPI VOID FLTAPI FltFreeSecurityDescriptor(
	PSECURITY_DESCRIPTOR SecurityDescriptor);

/*
 * Altitude: also grant Access (FLT_PORT_CONNECT to let a program connect)
 * to the Linux user Uid and to every process whose primary or
 * supplementary groups include Gid.  FLT_LX_NO_ID skips one of them;
 * FLT_LX_EVERYONE as Uid grants every user.  The descriptor must come from
 * FltBuildDefaultSecurityDescriptor; it holds up to 16 such grants
 * (STATUS_INSUFFICIENT_RESOURCES beyond).  The daemon checks the
 * connecting process's credentials (SO_PEERCRED, SO_PEERGROUPS) at connect
 * time; a refused program gets E_ACCESSDENIED.
 */
#define FLT_LX_NO_ID ((LONG)-1)
#define FLT_LX_EVERYONE ((LONG)-2)
NTSYSAPI NTSTATUS FLTAPI FltSetSecurityDescriptorLxAccess(
	PSECURITY_DESCRIPTOR SecurityDescriptor, LONG Uid, LONG Gid,
	ACCESS_MASK Access);

/*
 * Altitude: who is on the other end of ClientPort, as of its connection
 * (SO_PEERCRED, SO_PEERGROUPS): what a Windows filter learns from the
 * connecting process's token in ConnectNotify.  Valid from ConnectNotify
 * until the connection ends (STATUS_PORT_DISCONNECTED after); the first
 * FLT_PORT_LX_MAX_GROUPS supplementary groups are kept.
 */
#define FLT_PORT_LX_MAX_GROUPS 64
typedef struct _FLT_PORT_LX_CREDENTIALS {
	ULONG ProcessId;
	ULONG Uid;
	ULONG Gid;
	ULONG GroupCount;
	ULONG Groups[FLT_PORT_LX_MAX_GROUPS];
} FLT_PORT_LX_CREDENTIALS, *PFLT_PORT_LX_CREDENTIALS;
NTSYSAPI NTSTATUS FLTAPI FltGetClientPortLxCredentials(
	PFLT_PORT ClientPort, PFLT_PORT_LX_CREDENTIALS Credentials);

/* ==== End of communication ports ========================================== */

#ifdef __cplusplus
}
#endif

#endif /* ALTITUDE_FLTKERNEL_H */
