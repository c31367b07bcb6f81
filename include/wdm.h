/*
 * wdm.h - the NT kernel support routines that filters lean on, on POSIX.
 *
 * I/O request codes, the I/O status block, file and device objects as a filter
 * sees them, pool allocation with tags, the synchronisation objects (events,
 * spin locks, fast mutexes, ERESOURCE) implemented on pthreads, the Rtl string
 * and list helpers, Ke/Ps queries, DbgPrint and the Zw registry calls that read
 * a service's Parameters key.
 *
 * Deliberately absent: IRQL enforcement (everything runs at PASSIVE_LEVEL in a
 * daemon thread), real IRPs and device stacks (filters see FLT_CALLBACK_DATA,
 * never an IRP), and memory descriptor lists beyond what buffer swapping needs
 * (an MDL here describes a buffer in the daemon's one address space).
 */
#ifndef ALTITUDE_WDM_H
#define ALTITUDE_WDM_H

#include <ntdef.h>
#include <ntstatus.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- I/O request major and minor function codes -------------------- */

#define IRP_MJ_CREATE 0x00
#define IRP_MJ_CREATE_NAMED_PIPE 0x01
#define IRP_MJ_CLOSE 0x02
#define IRP_MJ_READ 0x03
#define IRP_MJ_WRITE 0x04
#define IRP_MJ_QUERY_INFORMATION 0x05
#define IRP_MJ_SET_INFORMATION 0x06
#define IRP_MJ_QUERY_EA 0x07
#define IRP_MJ_SET_EA 0x08
#define IRP_MJ_FLUSH_BUFFERS 0x09
#define IRP_MJ_QUERY_VOLUME_INFORMATION 0x0a
#define IRP_MJ_SET_VOLUME_INFORMATION 0x0b
#define IRP_MJ_DIRECTORY_CONTROL 0x0c
#define IRP_MJ_FILE_SYSTEM_CONTROL 0x0d
#define IRP_MJ_DEVICE_CONTROL 0x0e
#define IRP_MJ_INTERNAL_DEVICE_CONTROL 0x0f
#define IRP_MJ_SHUTDOWN 0x10
#define IRP_MJ_LOCK_CONTROL 0x11
#define IRP_MJ_CLEANUP 0x12
#define IRP_MJ_CREATE_MAILSLOT 0x13
#define IRP_MJ_QUERY_SECURITY 0x14
#define IRP_MJ_SET_SECURITY 0x15
#define IRP_MJ_POWER 0x16
#define IRP_MJ_SYSTEM_CONTROL 0x17
#define IRP_MJ_DEVICE_CHANGE 0x18
#define IRP_MJ_QUERY_QUOTA 0x19
#define IRP_MJ_SET_QUOTA 0x1a
#define IRP_MJ_PNP 0x1b
#define IRP_MJ_PNP_POWER IRP_MJ_PNP
#define IRP_MJ_MAXIMUM_FUNCTION 0x1b

/* IRP_MJ_DIRECTORY_CONTROL */
#define IRP_MN_QUERY_DIRECTORY 0x01
#define IRP_MN_NOTIFY_CHANGE_DIRECTORY 0x02
#define IRP_MN_NOTIFY_CHANGE_DIRECTORY_EX 0x03
/* IRP_MJ_FILE_SYSTEM_CONTROL */
#define IRP_MN_USER_FS_REQUEST 0x00
#define IRP_MN_MOUNT_VOLUME 0x01
#define IRP_MN_VERIFY_VOLUME 0x02
#define IRP_MN_LOAD_FILE_SYSTEM 0x03
#define IRP_MN_KERNEL_CALL 0x04
/* IRP_MJ_LOCK_CONTROL */
#define IRP_MN_LOCK 0x01
#define IRP_MN_UNLOCK_SINGLE 0x02
#define IRP_MN_UNLOCK_ALL 0x03
#define IRP_MN_UNLOCK_ALL_BY_KEY 0x04
/* IRP_MJ_READ / IRP_MJ_WRITE */
#define IRP_MN_NORMAL 0x00
#define IRP_MN_DPC 0x01
#define IRP_MN_MDL 0x02
#define IRP_MN_COMPLETE 0x04
#define IRP_MN_COMPRESSED 0x08

/* IRP flags visible through FLT_CALLBACK_DATA.Iopb->IrpFlags */
#define IRP_NOCACHE 0x00000001
#define IRP_PAGING_IO 0x00000002
#define IRP_SYNCHRONOUS_API 0x00000004
#define IRP_SYNCHRONOUS_PAGING_IO 0x00000040
#define IRP_CREATE_OPERATION 0x00000080
#define IRP_READ_OPERATION 0x00000100
#define IRP_WRITE_OPERATION 0x00000200
#define IRP_CLOSE_OPERATION 0x00000400

/* ---- I/O status, objects ---------------------------------------------- */

typedef struct _IO_STATUS_BLOCK {
	union {
		NTSTATUS Status;
		PVOID Pointer;
	};
	ULONG_PTR Information;
} IO_STATUS_BLOCK, *PIO_STATUS_BLOCK;

/* IO_STATUS_BLOCK.Information for IRP_MJ_CREATE */
#define FILE_SUPERSEDED 0x00000000
#define FILE_OPENED 0x00000001
#define FILE_CREATED 0x00000002
#define FILE_OVERWRITTEN 0x00000003
#define FILE_EXISTS 0x00000004
#define FILE_DOES_NOT_EXIST 0x00000005

typedef struct _DRIVER_OBJECT DRIVER_OBJECT, *PDRIVER_OBJECT;
typedef struct _DEVICE_OBJECT DEVICE_OBJECT, *PDEVICE_OBJECT;

typedef void DRIVER_UNLOAD(PDRIVER_OBJECT DriverObject);
typedef DRIVER_UNLOAD *PDRIVER_UNLOAD;
typedef NTSTATUS DRIVER_INITIALIZE(PDRIVER_OBJECT DriverObject,
				   PUNICODE_STRING RegistryPath);
typedef DRIVER_INITIALIZE *PDRIVER_INITIALIZE;

struct _DRIVER_OBJECT {
	CSHORT Type;
	CSHORT Size;
	PDEVICE_OBJECT DeviceObject;
	ULONG Flags;
	PVOID DriverStart;
	ULONG DriverSize;
	PVOID DriverSection;
	PVOID DriverExtension;
	UNICODE_STRING DriverName;
	PUNICODE_STRING HardwareDatabase;
	PVOID FastIoDispatch;
	PDRIVER_INITIALIZE DriverInit;
	PVOID DriverStartIo;
	PDRIVER_UNLOAD DriverUnload;
	PVOID MajorFunction[IRP_MJ_MAXIMUM_FUNCTION + 1];
};

struct _DEVICE_OBJECT {
	CSHORT Type;
	USHORT Size;
	LONG ReferenceCount;
	PDRIVER_OBJECT DriverObject;
	ULONG Flags;
	ULONG Characteristics;
	DEVICE_TYPE DeviceType;
	PVOID DeviceExtension;
};

#define FILE_DEVICE_DISK_FILE_SYSTEM 0x00000008
#define FILE_DEVICE_NETWORK_FILE_SYSTEM 0x00000014

/* The section object pointers of a stream (page-cache presence). */
typedef struct _SECTION_OBJECT_POINTERS {
	PVOID DataSectionObject;
	PVOID SharedCacheMap;
	PVOID ImageSectionObject;
} SECTION_OBJECT_POINTERS, *PSECTION_OBJECT_POINTERS;

/*
 * One open of a file (a Linux open file description), or, for operations a
 * Linux program makes by path (stat, unlink, rename, chmod), a transient file
 * object for the inode that lives as long as the operation.  FsContext is the
 * same for every open of one stream (one inode); FsContext2 is per open.
 */
typedef struct _FILE_OBJECT {
	CSHORT Type;
	CSHORT Size;
	PDEVICE_OBJECT DeviceObject;
	PVOID Vpb;
	PVOID FsContext;
	PVOID FsContext2;
	PSECTION_OBJECT_POINTERS SectionObjectPointer;
	PVOID PrivateCacheMap;
	NTSTATUS FinalStatus;
	struct _FILE_OBJECT *RelatedFileObject;
	BOOLEAN LockOperation;
	BOOLEAN DeletePending;
	BOOLEAN ReadAccess;
	BOOLEAN WriteAccess;
	BOOLEAN DeleteAccess;
	BOOLEAN SharedRead;
	BOOLEAN SharedWrite;
	BOOLEAN SharedDelete;
	ULONG Flags;
	UNICODE_STRING FileName;
	LARGE_INTEGER CurrentByteOffset;
	ULONG Waiters;
	ULONG Busy;
	PVOID LastLock;
	PVOID CompletionContext;
	PVOID FileObjectExtension;
} FILE_OBJECT, *PFILE_OBJECT;

#define FO_FILE_OPEN 0x00000001
#define FO_SYNCHRONOUS_IO 0x00000002
#define FO_ALERTABLE_IO 0x00000004
#define FO_NO_INTERMEDIATE_BUFFERING 0x00000008
#define FO_WRITE_THROUGH 0x00000010
#define FO_SEQUENTIAL_ONLY 0x00000020
#define FO_CACHE_SUPPORTED 0x00000040
#define FO_NAMED_PIPE 0x00000080
#define FO_STREAM_FILE 0x00000100
#define FO_MAILSLOT 0x00000200
#define FO_GENERATE_AUDIT_ON_CLOSE 0x00000400
#define FO_DIRECT_DEVICE_OPEN 0x00000800
#define FO_FILE_MODIFIED 0x00001000
#define FO_FILE_SIZE_CHANGED 0x00002000
#define FO_CLEANUP_COMPLETE 0x00004000
#define FO_TEMPORARY_FILE 0x00008000
#define FO_DELETE_ON_CLOSE 0x00010000
#define FO_OPENED_CASE_SENSITIVE 0x00020000
#define FO_HANDLE_CREATED 0x00040000
#define FO_FILE_FAST_IO_READ 0x00080000
#define FO_RANDOM_ACCESS 0x00100000
#define FO_FILE_OPEN_CANCELLED 0x00200000
#define FO_VOLUME_OPEN 0x00400000

/* What the opener asked for; Parameters.Create.SecurityContext points here. */
typedef struct _IO_SECURITY_CONTEXT {
	PVOID SecurityQos;
	PACCESS_STATE AccessState;
	ACCESS_MASK DesiredAccess;
	ULONG FullCreateOptions;
} IO_SECURITY_CONTEXT, *PIO_SECURITY_CONTEXT;

/* IRP_MJ_FLUSH_BUFFERS minor codes */
#define IRP_MN_FLUSH_AND_PURGE 0x01
#define IRP_MN_FLUSH_DATA_ONLY 0x02
#define IRP_MN_FLUSH_NO_SYNC 0x03
#define IRP_MN_FLUSH_DATA_SYNC_ONLY 0x04

/* ---- Access rights, create dispositions and options ------------------- */

#define DELETE 0x00010000L
#define READ_CONTROL 0x00020000L
#define WRITE_DAC 0x00040000L
#define WRITE_OWNER 0x00080000L
#define SYNCHRONIZE 0x00100000L
#define STANDARD_RIGHTS_REQUIRED 0x000F0000L
#define STANDARD_RIGHTS_READ READ_CONTROL
#define STANDARD_RIGHTS_WRITE READ_CONTROL
#define STANDARD_RIGHTS_EXECUTE READ_CONTROL
#define STANDARD_RIGHTS_ALL 0x001F0000L
#define ACCESS_SYSTEM_SECURITY 0x01000000L
#define MAXIMUM_ALLOWED 0x02000000L
#define GENERIC_READ 0x80000000L
#define GENERIC_WRITE 0x40000000L
#define GENERIC_EXECUTE 0x20000000L
#define GENERIC_ALL 0x10000000L

#define FILE_READ_DATA 0x0001
#define FILE_LIST_DIRECTORY 0x0001
#define FILE_WRITE_DATA 0x0002
#define FILE_ADD_FILE 0x0002
#define FILE_APPEND_DATA 0x0004
#define FILE_ADD_SUBDIRECTORY 0x0004
#define FILE_READ_EA 0x0008
#define FILE_WRITE_EA 0x0010
#define FILE_EXECUTE 0x0020
#define FILE_TRAVERSE 0x0020
#define FILE_DELETE_CHILD 0x0040
#define FILE_READ_ATTRIBUTES 0x0080
#define FILE_WRITE_ATTRIBUTES 0x0100
#define FILE_ALL_ACCESS (STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | 0x1FF)
#define FILE_GENERIC_READ                                               \
	(STANDARD_RIGHTS_READ | FILE_READ_DATA | FILE_READ_ATTRIBUTES | \
	 FILE_READ_EA | SYNCHRONIZE)
#define FILE_GENERIC_WRITE                                                \
	(STANDARD_RIGHTS_WRITE | FILE_WRITE_DATA | FILE_WRITE_ATTRIBUTES | \
	 FILE_WRITE_EA | FILE_APPEND_DATA | SYNCHRONIZE)
#define FILE_GENERIC_EXECUTE                                   \
	(STANDARD_RIGHTS_EXECUTE | FILE_READ_ATTRIBUTES | FILE_EXECUTE | \
	 SYNCHRONIZE)

#define FILE_SHARE_READ 0x00000001
#define FILE_SHARE_WRITE 0x00000002
#define FILE_SHARE_DELETE 0x00000004
#define FILE_SHARE_VALID_FLAGS 0x00000007

#define FILE_ATTRIBUTE_READONLY 0x00000001
#define FILE_ATTRIBUTE_HIDDEN 0x00000002
#define FILE_ATTRIBUTE_SYSTEM 0x00000004
#define FILE_ATTRIBUTE_DIRECTORY 0x00000010
#define FILE_ATTRIBUTE_ARCHIVE 0x00000020
#define FILE_ATTRIBUTE_DEVICE 0x00000040
#define FILE_ATTRIBUTE_NORMAL 0x00000080
#define FILE_ATTRIBUTE_TEMPORARY 0x00000100
#define FILE_ATTRIBUTE_SPARSE_FILE 0x00000200
#define FILE_ATTRIBUTE_REPARSE_POINT 0x00000400
#define FILE_ATTRIBUTE_COMPRESSED 0x00000800
#define FILE_ATTRIBUTE_OFFLINE 0x00001000
#define FILE_ATTRIBUTE_NOT_CONTENT_INDEXED 0x00002000
#define FILE_ATTRIBUTE_ENCRYPTED 0x00004000

#define FILE_SUPERSEDE 0x00000000
#define FILE_OPEN 0x00000001
#define FILE_CREATE 0x00000002
#define FILE_OPEN_IF 0x00000003
#define FILE_OVERWRITE 0x00000004
#define FILE_OVERWRITE_IF 0x00000005
#define FILE_MAXIMUM_DISPOSITION 0x00000005

#define FILE_DIRECTORY_FILE 0x00000001
#define FILE_WRITE_THROUGH 0x00000002
#define FILE_SEQUENTIAL_ONLY 0x00000004
#define FILE_NO_INTERMEDIATE_BUFFERING 0x00000008
#define FILE_SYNCHRONOUS_IO_ALERT 0x00000010
#define FILE_SYNCHRONOUS_IO_NONALERT 0x00000020
#define FILE_NON_DIRECTORY_FILE 0x00000040
#define FILE_CREATE_TREE_CONNECTION 0x00000080
#define FILE_COMPLETE_IF_OPLOCKED 0x00000100
#define FILE_NO_EA_KNOWLEDGE 0x00000200
#define FILE_OPEN_REMOTE_INSTANCE 0x00000400
#define FILE_RANDOM_ACCESS 0x00000800
#define FILE_DELETE_ON_CLOSE 0x00001000
#define FILE_OPEN_BY_FILE_ID 0x00002000
#define FILE_OPEN_FOR_BACKUP_INTENT 0x00004000
#define FILE_NO_COMPRESSION 0x00008000
#define FILE_OPEN_REQUIRING_OPLOCK 0x00010000
#define FILE_RESERVE_OPFILTER 0x00100000
#define FILE_OPEN_REPARSE_POINT 0x00200000
#define FILE_OPEN_NO_RECALL 0x00400000
#define FILE_OPEN_FOR_FREE_SPACE_QUERY 0x00800000
#define FILE_VALID_OPTION_FLAGS 0x00ffffff

/* Security information bits for IRP_MJ_QUERY/SET_SECURITY */
#define OWNER_SECURITY_INFORMATION 0x00000001L
#define GROUP_SECURITY_INFORMATION 0x00000002L
#define DACL_SECURITY_INFORMATION 0x00000004L
#define SACL_SECURITY_INFORMATION 0x00000008L

/* ---- Pool ---------------------------------------------------------------- */

typedef enum _POOL_TYPE {
	NonPagedPool = 0,
	NonPagedPoolExecute = 0,
	PagedPool = 1,
	NonPagedPoolMustSucceed = 2,
	NonPagedPoolCacheAligned = 4,
	PagedPoolCacheAligned = 5,
	NonPagedPoolNx = 512,
	NonPagedPoolNxCacheAligned = 516,
} POOL_TYPE;

typedef ULONG64 POOL_FLAGS;
#define POOL_FLAG_REQUIRED_START 0x0000000000000001ULL
#define POOL_FLAG_USE_QUOTA 0x0000000000000001ULL
#define POOL_FLAG_UNINITIALIZED 0x0000000000000002ULL
#define POOL_FLAG_CACHE_ALIGNED 0x0000000000000008ULL
#define POOL_FLAG_RAISE_ON_FAILURE 0x0000000000000020ULL
#define POOL_FLAG_NON_PAGED 0x0000000000000040ULL
#define POOL_FLAG_NON_PAGED_EXECUTE 0x0000000000000080ULL
#define POOL_FLAG_PAGED 0x0000000000000100ULL

/* Allocations are tracked per tag: the verifier reports what a filter leaked. */
NTSYSAPI PVOID NTAPI ExAllocatePoolWithTag(POOL_TYPE PoolType,
					   SIZE_T NumberOfBytes, ULONG Tag);
NTSYSAPI PVOID NTAPI ExAllocatePoolZero(POOL_TYPE PoolType,
					SIZE_T NumberOfBytes, ULONG Tag);
NTSYSAPI PVOID NTAPI ExAllocatePool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes,
				     ULONG Tag);
NTSYSAPI PVOID NTAPI ExAllocatePool(POOL_TYPE PoolType, SIZE_T NumberOfBytes);
NTSYSAPI void NTAPI ExFreePoolWithTag(PVOID P, ULONG Tag);
NTSYSAPI void NTAPI ExFreePool(PVOID P);

/* ---- Memory descriptor lists ------------------------------------------------ */
/*
 * An MDL describes a buffer so that code running later or on another thread
 * can reach it (FltLockUserBuffer, buffer swapping).  Filters and the I/O
 * manager share one address space, so every buffer is resident and mapped
 * already: an MDL is its address and length, MmGetSystemAddressForMdlSafe
 * returns that address, and probing and locking pin nothing.  As on Windows
 * the buffer must stay allocated for as long as the MDL is used.  Chained
 * MDLs (Next) and partial MDLs are not supported.
 */
#ifndef PAGE_SIZE
#define PAGE_SIZE 4096
#endif
typedef struct _IRP *PIRP; /* never a real IRP: pass NULL */

typedef struct _MDL {
	struct _MDL *Next;
	CSHORT Size;
	CSHORT MdlFlags;
	PEPROCESS Process;
	PVOID MappedSystemVa;
	PVOID StartVa; /* the first byte's page */
	ULONG ByteCount;
	ULONG ByteOffset; /* of the first byte in that page */
} MDL, *PMDL;

#define MDL_MAPPED_TO_SYSTEM_VA 0x0001
#define MDL_PAGES_LOCKED 0x0002
#define MDL_SOURCE_IS_NONPAGED_POOL 0x0004
#define MDL_ALLOCATED_FIXED_SIZE 0x0008

typedef enum _LOCK_OPERATION {
	IoReadAccess,
	IoWriteAccess,
	IoModifyAccess
} LOCK_OPERATION;

typedef enum _MM_PAGE_PRIORITY {
	LowPagePriority,
	NormalPagePriority = 16,
	HighPagePriority = 32
} MM_PAGE_PRIORITY;
#define MdlMappingNoWrite 0x80000000
#define MdlMappingNoExecute 0x40000000

/* Length > 0; SecondaryBuffer, ChargeQuota and Irp (must be NULL) are
 * accepted for source compatibility.  NULL when out of memory. */
NTSYSAPI PMDL NTAPI IoAllocateMdl(PVOID VirtualAddress, ULONG Length,
				  BOOLEAN SecondaryBuffer, BOOLEAN ChargeQuota,
				  PIRP Irp);
NTSYSAPI void NTAPI IoFreeMdl(PMDL Mdl);
NTSYSAPI void NTAPI MmBuildMdlForNonPagedPool(PMDL MemoryDescriptorList);
NTSYSAPI void NTAPI MmProbeAndLockPages(PMDL MemoryDescriptorList,
					KPROCESSOR_MODE AccessMode,
					LOCK_OPERATION Operation);
NTSYSAPI void NTAPI MmUnlockPages(PMDL MemoryDescriptorList);
/* The buffer's address (NULL only for a NULL Mdl); Priority is ignored. */
NTSYSAPI PVOID NTAPI MmGetSystemAddressForMdlSafe(PMDL Mdl, ULONG Priority);
#define MmGetMdlVirtualAddress(Mdl) \
	((PVOID)((PCHAR)(Mdl)->StartVa + (Mdl)->ByteOffset))
#define MmGetMdlByteCount(Mdl) ((Mdl)->ByteCount)
#define MmGetMdlByteOffset(Mdl) ((Mdl)->ByteOffset)

/* ---- Memory and lists ------------------------------------------------------ */

#define RtlZeroMemory(d, l) memset((d), 0, (l))
#define RtlFillMemory(d, l, f) memset((d), (f), (l))
#define RtlCopyMemory(d, s, l) memcpy((d), (s), (l))
#define RtlMoveMemory(d, s, l) memmove((d), (s), (l))
#define RtlEqualMemory(a, b, l) (!memcmp((a), (b), (l)))
#define RtlSecureZeroMemory(d, l) explicit_bzero((d), (l))
NTSYSAPI SIZE_T NTAPI RtlCompareMemory(const void *Source1,
				       const void *Source2, SIZE_T Length);

FORCEINLINE void InitializeListHead(PLIST_ENTRY ListHead)
{
	ListHead->Flink = ListHead->Blink = ListHead;
}
FORCEINLINE BOOLEAN IsListEmpty(const LIST_ENTRY *ListHead)
{
	return (BOOLEAN)(ListHead->Flink == ListHead);
}
FORCEINLINE BOOLEAN RemoveEntryList(PLIST_ENTRY Entry)
{
	PLIST_ENTRY Blink = Entry->Blink, Flink = Entry->Flink;
	Blink->Flink = Flink;
	Flink->Blink = Blink;
	return (BOOLEAN)(Flink == Blink);
}
FORCEINLINE PLIST_ENTRY RemoveHeadList(PLIST_ENTRY ListHead)
{
	PLIST_ENTRY Entry = ListHead->Flink;
	RemoveEntryList(Entry);
	return Entry;
}
FORCEINLINE PLIST_ENTRY RemoveTailList(PLIST_ENTRY ListHead)
{
	PLIST_ENTRY Entry = ListHead->Blink;
	RemoveEntryList(Entry);
	return Entry;
}
FORCEINLINE void InsertTailList(PLIST_ENTRY ListHead, PLIST_ENTRY Entry)
{
	PLIST_ENTRY Blink = ListHead->Blink;
	Entry->Flink = ListHead;
	Entry->Blink = Blink;
	Blink->Flink = Entry;
	ListHead->Blink = Entry;
}
FORCEINLINE void InsertHeadList(PLIST_ENTRY ListHead, PLIST_ENTRY Entry)
{
	PLIST_ENTRY Flink = ListHead->Flink;
	Entry->Flink = Flink;
	Entry->Blink = ListHead;
	Flink->Blink = Entry;
	ListHead->Flink = Entry;
}

/* ---- Interlocked operations ------------------------------------------------- */

#define InterlockedIncrement(p) __atomic_add_fetch((p), 1, __ATOMIC_SEQ_CST)
#define InterlockedDecrement(p) __atomic_sub_fetch((p), 1, __ATOMIC_SEQ_CST)
#define InterlockedAdd(p, v) __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)
#define InterlockedExchangeAdd(p, v) \
	__atomic_fetch_add((p), (v), __ATOMIC_SEQ_CST)
#define InterlockedExchange(p, v) __atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
#define InterlockedExchangePointer(p, v) \
	__atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
#define InterlockedIncrement64 InterlockedIncrement
#define InterlockedDecrement64 InterlockedDecrement
#define InterlockedAdd64 InterlockedAdd
#define InterlockedOr(p, v) __atomic_fetch_or((p), (v), __ATOMIC_SEQ_CST)
#define InterlockedAnd(p, v) __atomic_fetch_and((p), (v), __ATOMIC_SEQ_CST)
FORCEINLINE LONG InterlockedCompareExchange(LONG volatile *Destination,
					    LONG Exchange, LONG Comperand)
{
	__atomic_compare_exchange_n(Destination, &Comperand, Exchange, 0,
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	return Comperand;
}
FORCEINLINE PVOID InterlockedCompareExchangePointer(PVOID volatile *Destination,
						    PVOID Exchange,
						    PVOID Comperand)
{
	__atomic_compare_exchange_n(Destination, &Comperand, Exchange, 0,
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	return Comperand;
}

/* ---- Synchronisation objects on pthreads ----------------------------------- */

typedef enum _EVENT_TYPE { NotificationEvent, SynchronizationEvent } EVENT_TYPE;
typedef enum _KWAIT_REASON { Executive = 0, UserRequest = 6 } KWAIT_REASON;

typedef struct _KEVENT {
	pthread_mutex_t Lock;
	pthread_cond_t Cond;
	LONG State;
	EVENT_TYPE Type;
} KEVENT, *PKEVENT, *PRKEVENT;

typedef LONG KPRIORITY;
#define IO_NO_INCREMENT 0
#define EVENT_INCREMENT 1

NTSYSAPI void NTAPI KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type,
				      BOOLEAN State);
NTSYSAPI LONG NTAPI KeSetEvent(PRKEVENT Event, KPRIORITY Increment,
			       BOOLEAN Wait);
NTSYSAPI LONG NTAPI KeResetEvent(PRKEVENT Event);
NTSYSAPI void NTAPI KeClearEvent(PRKEVENT Event);
NTSYSAPI LONG NTAPI KeReadStateEvent(PRKEVENT Event);
/* Timeout: 100 ns units, negative = relative, NULL = forever. */
NTSYSAPI NTSTATUS NTAPI KeWaitForSingleObject(PVOID Object,
					      KWAIT_REASON WaitReason,
					      KPROCESSOR_MODE WaitMode,
					      BOOLEAN Alertable,
					      PLARGE_INTEGER Timeout);
NTSYSAPI NTSTATUS NTAPI KeDelayExecutionThread(KPROCESSOR_MODE WaitMode,
					       BOOLEAN Alertable,
					       PLARGE_INTEGER Interval);

typedef struct _KSPIN_LOCK_IMPL {
	pthread_spinlock_t Lock;
} KSPIN_LOCK, *PKSPIN_LOCK;
NTSYSAPI void NTAPI KeInitializeSpinLock(PKSPIN_LOCK SpinLock);
NTSYSAPI void NTAPI KeAcquireSpinLock(PKSPIN_LOCK SpinLock, PKIRQL OldIrql);
NTSYSAPI void NTAPI KeReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql);

typedef struct _FAST_MUTEX {
	pthread_mutex_t Lock;
} FAST_MUTEX, *PFAST_MUTEX, KGUARDED_MUTEX, *PKGUARDED_MUTEX;
NTSYSAPI void NTAPI ExInitializeFastMutex(PFAST_MUTEX FastMutex);
NTSYSAPI void NTAPI ExAcquireFastMutex(PFAST_MUTEX FastMutex);
NTSYSAPI void NTAPI ExReleaseFastMutex(PFAST_MUTEX FastMutex);

/* ERESOURCE: a reader/writer lock that its exclusive owner may re-acquire. */
typedef struct _ERESOURCE {
	pthread_mutex_t Lock;
	pthread_cond_t Cond;
	LONG SharedCount;
	LONG ExclusiveCount;
	pthread_t Owner;
	LONG Waiters;
} ERESOURCE, *PERESOURCE;
NTSYSAPI NTSTATUS NTAPI ExInitializeResourceLite(PERESOURCE Resource);
NTSYSAPI NTSTATUS NTAPI ExDeleteResourceLite(PERESOURCE Resource);
NTSYSAPI BOOLEAN NTAPI ExAcquireResourceExclusiveLite(PERESOURCE Resource,
						      BOOLEAN Wait);
NTSYSAPI BOOLEAN NTAPI ExAcquireResourceSharedLite(PERESOURCE Resource,
						   BOOLEAN Wait);
NTSYSAPI void NTAPI ExReleaseResourceLite(PERESOURCE Resource);
NTSYSAPI BOOLEAN NTAPI ExIsResourceAcquiredExclusiveLite(PERESOURCE Resource);
NTSYSAPI ULONG NTAPI ExIsResourceAcquiredSharedLite(PERESOURCE Resource);
#define KeEnterCriticalRegion() ((void)0)
#define KeLeaveCriticalRegion() ((void)0)
#define ExEnterCriticalRegionAndAcquireResourceExclusive(r) \
	(ExAcquireResourceExclusiveLite((r), TRUE), (PVOID)0)
#define ExReleaseResourceAndLeaveCriticalRegion(r) ExReleaseResourceLite(r)

/* ---- Time, processes, threads, debug output --------------------------------- */

NTSYSAPI void NTAPI KeQuerySystemTime(PLARGE_INTEGER CurrentTime);
NTSYSAPI void NTAPI KeQuerySystemTimePrecise(PLARGE_INTEGER CurrentTime);
NTSYSAPI void NTAPI KeQueryTickCount(PLARGE_INTEGER TickCount);
NTSYSAPI ULONG NTAPI KeQueryTimeIncrement(void);
NTSYSAPI LARGE_INTEGER NTAPI
KeQueryPerformanceCounter(PLARGE_INTEGER PerformanceFrequency);
NTSYSAPI KIRQL NTAPI KeGetCurrentIrql(void);
NTSYSAPI PKTHREAD NTAPI KeGetCurrentThread(void);
NTSYSAPI ULONG NTAPI KeGetCurrentProcessorNumber(void);
NTSYSAPI HANDLE NTAPI PsGetCurrentProcessId(void);
NTSYSAPI HANDLE NTAPI PsGetCurrentThreadId(void);
NTSYSAPI BOOLEAN NTAPI PsIsSystemThread(PETHREAD Thread);

#define DPFLTR_IHVDRIVER_ID 77
#define DPFLTR_ERROR_LEVEL 0
#define DPFLTR_WARNING_LEVEL 1
#define DPFLTR_TRACE_LEVEL 2
#define DPFLTR_INFO_LEVEL 3
/* Printed to the daemon's log (the journal under systemd). */
/* printf formats plus %wZ (PCUNICODE_STRING) and %ws (PCWSTR). */
NTSYSAPI ULONG DbgPrint(PCSTR Format, ...);
NTSYSAPI ULONG DbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, ...);
NTSYSAPI ULONG vDbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format,
			   va_list ap);
#define KdPrint(x) DbgPrint x
#define KdPrintEx(x) DbgPrintEx x
#define DbgBreakPoint() ((void)0)
#define ASSERT(e) ((void)0)
#define NT_ASSERT(e) ((void)0)

/* ---- Rtl strings -------------------------------------------------------------- */

NTSYSAPI void NTAPI RtlInitUnicodeString(PUNICODE_STRING DestinationString,
					 PCWSTR SourceString);
NTSYSAPI NTSTATUS NTAPI RtlInitUnicodeStringEx(PUNICODE_STRING DestinationString,
					       PCWSTR SourceString);
NTSYSAPI void NTAPI RtlInitAnsiString(PANSI_STRING DestinationString,
				      PCSZ SourceString);
NTSYSAPI void NTAPI RtlInitString(PSTRING DestinationString, PCSZ SourceString);
NTSYSAPI void NTAPI RtlInitUTF8String(PUTF8_STRING DestinationString,
				      PCSZ SourceString);
NTSYSAPI void NTAPI RtlCopyUnicodeString(PUNICODE_STRING DestinationString,
					 PCUNICODE_STRING SourceString);
NTSYSAPI NTSTATUS NTAPI RtlAppendUnicodeStringToString(
	PUNICODE_STRING Destination, PCUNICODE_STRING Source);
NTSYSAPI NTSTATUS NTAPI RtlAppendUnicodeToString(PUNICODE_STRING Destination,
						 PCWSTR Source);
NTSYSAPI LONG NTAPI RtlCompareUnicodeString(PCUNICODE_STRING String1,
					    PCUNICODE_STRING String2,
					    BOOLEAN CaseInSensitive);
NTSYSAPI BOOLEAN NTAPI RtlEqualUnicodeString(PCUNICODE_STRING String1,
					     PCUNICODE_STRING String2,
					     BOOLEAN CaseInSensitive);
NTSYSAPI BOOLEAN NTAPI RtlPrefixUnicodeString(PCUNICODE_STRING String1,
					      PCUNICODE_STRING String2,
					      BOOLEAN CaseInSensitive);
NTSYSAPI BOOLEAN NTAPI RtlSuffixUnicodeString(PCUNICODE_STRING String1,
					      PCUNICODE_STRING String2,
					      BOOLEAN CaseInSensitive);
NTSYSAPI WCHAR NTAPI RtlUpcaseUnicodeChar(WCHAR SourceCharacter);
NTSYSAPI WCHAR NTAPI RtlDowncaseUnicodeChar(WCHAR SourceCharacter);
NTSYSAPI NTSTATUS NTAPI RtlUpcaseUnicodeString(
	PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString,
	BOOLEAN AllocateDestinationString);
NTSYSAPI NTSTATUS NTAPI RtlDowncaseUnicodeString(
	PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString,
	BOOLEAN AllocateDestinationString);
NTSYSAPI BOOLEAN NTAPI RtlCreateUnicodeString(PUNICODE_STRING DestinationString,
					      PCWSTR SourceString);
NTSYSAPI void NTAPI RtlFreeUnicodeString(PUNICODE_STRING UnicodeString);
NTSYSAPI void NTAPI RtlFreeAnsiString(PANSI_STRING AnsiString);
NTSYSAPI NTSTATUS NTAPI RtlAnsiStringToUnicodeString(
	PUNICODE_STRING DestinationString, PCANSI_STRING SourceString,
	BOOLEAN AllocateDestinationString);
NTSYSAPI NTSTATUS NTAPI RtlUnicodeStringToAnsiString(
	PANSI_STRING DestinationString, PCUNICODE_STRING SourceString,
	BOOLEAN AllocateDestinationString);
NTSYSAPI NTSTATUS NTAPI RtlUnicodeToUTF8N(PCHAR UTF8StringDestination,
					  ULONG UTF8StringMaxByteCount,
					  PULONG UTF8StringActualByteCount,
					  PCWCH UnicodeStringSource,
					  ULONG UnicodeStringByteCount);
NTSYSAPI NTSTATUS NTAPI RtlUTF8ToUnicodeN(PWSTR UnicodeStringDestination,
					  ULONG UnicodeStringMaxByteCount,
					  PULONG UnicodeStringActualByteCount,
					  PCCH UTF8StringSource,
					  ULONG UTF8StringByteCount);
NTSYSAPI NTSTATUS NTAPI RtlIntegerToUnicodeString(ULONG Value, ULONG Base,
						  PUNICODE_STRING String);
NTSYSAPI NTSTATUS NTAPI RtlUnicodeStringToInteger(PCUNICODE_STRING String,
						  ULONG Base, PULONG Value);
/* ntstrsafe subset; formats are printf's, %wZ prints a PCUNICODE_STRING. */
NTSYSAPI NTSTATUS NTAPI RtlUnicodeStringPrintf(PUNICODE_STRING DestinationString,
					       PCSTR Format, ...);
NTSYSAPI NTSTATUS NTAPI RtlStringCbPrintfA(PSTR Dest, SIZE_T cbDest,
					   PCSTR Format, ...);
NTSYSAPI NTSTATUS NTAPI RtlStringCbCopyW(PWSTR Dest, SIZE_T cbDest, PCWSTR Src);
NTSYSAPI NTSTATUS NTAPI RtlStringCbLengthW(PCWSTR psz, SIZE_T cbMax,
					   PSIZE_T pcbLength);
NTSYSAPI NTSTATUS NTAPI RtlUnicodeStringCopy(PUNICODE_STRING Dest,
					     PCUNICODE_STRING Src);
NTSYSAPI NTSTATUS NTAPI RtlUnicodeStringCat(PUNICODE_STRING Dest,
					    PCUNICODE_STRING Src);

/* ---- Registry: a service's key, read through its RegistryPath ------------------ */

#define REG_NONE 0
#define REG_SZ 1
#define REG_EXPAND_SZ 2
#define REG_BINARY 3
#define REG_DWORD 4
#define REG_DWORD_LITTLE_ENDIAN 4
#define REG_MULTI_SZ 7
#define REG_QWORD 11

#define KEY_QUERY_VALUE 0x0001
#define KEY_SET_VALUE 0x0002
#define KEY_ENUMERATE_SUB_KEYS 0x0008
#define KEY_READ 0x20019
#define KEY_WRITE 0x20006
#define KEY_ALL_ACCESS 0xF003F

typedef enum _KEY_VALUE_INFORMATION_CLASS {
	KeyValueBasicInformation,
	KeyValueFullInformation,
	KeyValuePartialInformation,
	KeyValueFullInformationAlign64,
	KeyValuePartialInformationAlign64,
	KeyValueLayerInformation,
	MaxKeyValueInfoClass
} KEY_VALUE_INFORMATION_CLASS;

typedef struct _KEY_VALUE_BASIC_INFORMATION {
	ULONG TitleIndex;
	ULONG Type;
	ULONG NameLength;
	WCHAR Name[1];
} KEY_VALUE_BASIC_INFORMATION, *PKEY_VALUE_BASIC_INFORMATION;

typedef struct _KEY_VALUE_FULL_INFORMATION {
	ULONG TitleIndex;
	ULONG Type;
	ULONG DataOffset;
	ULONG DataLength;
	ULONG NameLength;
	WCHAR Name[1];
} KEY_VALUE_FULL_INFORMATION, *PKEY_VALUE_FULL_INFORMATION;

typedef struct _KEY_VALUE_PARTIAL_INFORMATION {
	ULONG TitleIndex;
	ULONG Type;
	ULONG DataLength;
	UCHAR Data[1];
} KEY_VALUE_PARTIAL_INFORMATION, *PKEY_VALUE_PARTIAL_INFORMATION;

/*
 * ZwOpenKey opens the key named by ObjectAttributes->ObjectName (absolute,
 * e.g. the RegistryPath a filter got in DriverEntry, or relative to
 * RootDirectory such as L"Parameters").  ZwQueryValueKey returns
 * STATUS_OBJECT_NAME_NOT_FOUND for a missing value, STATUS_BUFFER_TOO_SMALL
 * when the fixed part does not fit and STATUS_BUFFER_OVERFLOW when only the
 * data does not, with *ResultLength the size needed, as Windows does.
 */
NTSYSAPI NTSTATUS NTAPI ZwOpenKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess,
				  POBJECT_ATTRIBUTES ObjectAttributes);
NTSYSAPI NTSTATUS NTAPI ZwQueryValueKey(
	HANDLE KeyHandle, PUNICODE_STRING ValueName,
	KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass,
	PVOID KeyValueInformation, ULONG Length, PULONG ResultLength);
NTSYSAPI NTSTATUS NTAPI ZwClose(HANDLE Handle);

#ifdef __cplusplus
}
#endif

#endif /* ALTITUDE_WDM_H */
