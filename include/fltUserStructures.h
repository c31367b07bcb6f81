/*
 * fltUserStructures.h - structures shared by filters and user programs:
 * the information classes of the management API and the headers of
 * communication-port messages.  Layouts and names are the Windows ones.
 */
#ifndef ALTITUDE_FLTUSERSTRUCTURES_H
#define ALTITUDE_FLTUSERSTRUCTURES_H

#include <ntdef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum _FLT_FILESYSTEM_TYPE {
	FLT_FSTYPE_UNKNOWN,
	FLT_FSTYPE_RAW,
	FLT_FSTYPE_NTFS,
	FLT_FSTYPE_FAT,
	FLT_FSTYPE_CDFS,
	FLT_FSTYPE_UDFS,
	FLT_FSTYPE_LANMAN,
	FLT_FSTYPE_WEBDAV,
	FLT_FSTYPE_RDPDR,
	FLT_FSTYPE_NFS,
	FLT_FSTYPE_MS_NETWARE,
	FLT_FSTYPE_NETWARE,
	FLT_FSTYPE_BSUDF,
	FLT_FSTYPE_MUP,
	FLT_FSTYPE_RSFX,
	FLT_FSTYPE_ROXIO_UDF1,
	FLT_FSTYPE_ROXIO_UDF2,
	FLT_FSTYPE_ROXIO_UDF3,
	FLT_FSTYPE_TACIT,
	FLT_FSTYPE_FS_REC,
	FLT_FSTYPE_INCD,
	FLT_FSTYPE_INCD_FAT,
	FLT_FSTYPE_EXFAT,
	FLT_FSTYPE_PSFS,
	FLT_FSTYPE_GPFS,
	FLT_FSTYPE_NPFS,
	FLT_FSTYPE_MSFS,
	FLT_FSTYPE_CSVFS,
	FLT_FSTYPE_REFS,
	FLT_FSTYPE_OPENAFS,
	FLT_FSTYPE_CIMFS,
	/* Altitude: a local Linux file system (ext4, xfs, btrfs, tmpfs ...). */
	FLT_FSTYPE_LINUX = 0x100
} FLT_FILESYSTEM_TYPE, *PFLT_FILESYSTEM_TYPE;

/* ---- Filters ---------------------------------------------------------- */

typedef enum _FILTER_INFORMATION_CLASS {
	FilterFullInformation,
	FilterAggregateBasicInformation,
	FilterAggregateStandardInformation
} FILTER_INFORMATION_CLASS, *PFILTER_INFORMATION_CLASS;

typedef struct _FILTER_FULL_INFORMATION {
	ULONG NextEntryOffset;
	ULONG FrameID;
	ULONG NumberOfInstances;
	USHORT FilterNameLength;
	WCHAR FilterNameBuffer[1];
} FILTER_FULL_INFORMATION, *PFILTER_FULL_INFORMATION;

#define FLTFL_AGGREGATE_INFO_IS_MINIFILTER 0x00000001
#define FLTFL_AGGREGATE_INFO_IS_LEGACYFILTER 0x00000002

typedef struct _FILTER_AGGREGATE_BASIC_INFORMATION {
	ULONG NextEntryOffset;
	ULONG Flags;
	union {
		struct {
			ULONG FrameID;
			ULONG NumberOfInstances;
			USHORT FilterNameLength;
			USHORT FilterNameBufferOffset;
			USHORT FilterAltitudeLength;
			USHORT FilterAltitudeBufferOffset;
		} MiniFilter;
		struct {
			USHORT FilterNameLength;
			USHORT FilterNameBufferOffset;
		} LegacyFilter;
	} Type;
} FILTER_AGGREGATE_BASIC_INFORMATION, *PFILTER_AGGREGATE_BASIC_INFORMATION;

typedef struct _FILTER_AGGREGATE_STANDARD_INFORMATION {
	ULONG NextEntryOffset;
	ULONG Flags;
	union {
		struct {
			ULONG Flags;
			ULONG FrameID;
			ULONG NumberOfInstances;
			USHORT FilterNameLength;
			USHORT FilterNameBufferOffset;
			USHORT FilterAltitudeLength;
			USHORT FilterAltitudeBufferOffset;
		} MiniFilter;
		struct {
			ULONG Flags;
			USHORT FilterNameLength;
			USHORT FilterNameBufferOffset;
			USHORT FilterAltitudeLength;
			USHORT FilterAltitudeBufferOffset;
		} LegacyFilter;
	} Type;
} FILTER_AGGREGATE_STANDARD_INFORMATION,
	*PFILTER_AGGREGATE_STANDARD_INFORMATION;

/* ---- Volumes ---------------------------------------------------------- */

typedef enum _FILTER_VOLUME_INFORMATION_CLASS {
	FilterVolumeBasicInformation,
	FilterVolumeStandardInformation,
	/* Altitude: FILTER_VOLUME_LINUX_INFORMATION. */
	FilterVolumeLinuxInformation = 0x100
} FILTER_VOLUME_INFORMATION_CLASS, *PFILTER_VOLUME_INFORMATION_CLASS;

typedef struct _FILTER_VOLUME_BASIC_INFORMATION {
	USHORT FilterVolumeNameLength;
	WCHAR FilterVolumeName[1];
} FILTER_VOLUME_BASIC_INFORMATION, *PFILTER_VOLUME_BASIC_INFORMATION;

#define FLTFL_VSI_DETACHED_VOLUME 0x00000001

typedef struct _FILTER_VOLUME_STANDARD_INFORMATION {
	ULONG NextEntryOffset;
	ULONG Flags;
	ULONG FrameID;
	FLT_FILESYSTEM_TYPE FileSystemType;
	USHORT FilterVolumeNameLength;
	WCHAR FilterVolumeName[1];
} FILTER_VOLUME_STANDARD_INFORMATION, *PFILTER_VOLUME_STANDARD_INFORMATION;

/*
 * Altitude: what FILTER_VOLUME_STANDARD_INFORMATION says plus the volume's
 * Linux side: the directory it covers (its DOS name) and the name of the
 * file system under it ("ext4").  Names are offsets from the start of the
 * structure, lengths in bytes, not NUL-terminated.
 */
typedef struct _FILTER_VOLUME_LINUX_INFORMATION {
	ULONG NextEntryOffset;
	ULONG Flags; /* FLTFL_VSI_xxx */
	ULONG FrameID;
	FLT_FILESYSTEM_TYPE FileSystemType;
	USHORT FilterVolumeNameLength;
	USHORT FilterVolumeNameBufferOffset;
	USHORT DosNameLength;
	USHORT DosNameBufferOffset;
	USHORT FileSystemNameLength;
	USHORT FileSystemNameBufferOffset;
} FILTER_VOLUME_LINUX_INFORMATION, *PFILTER_VOLUME_LINUX_INFORMATION;

/* ---- Instances -------------------------------------------------------- */

typedef enum _INSTANCE_INFORMATION_CLASS {
	InstanceBasicInformation,
	InstancePartialInformation,
	InstanceFullInformation,
	InstanceAggregateStandardInformation
} INSTANCE_INFORMATION_CLASS, *PINSTANCE_INFORMATION_CLASS;

typedef struct _INSTANCE_BASIC_INFORMATION {
	ULONG NextEntryOffset;
	USHORT InstanceNameLength;
	USHORT InstanceNameBufferOffset;
} INSTANCE_BASIC_INFORMATION, *PINSTANCE_BASIC_INFORMATION;

typedef struct _INSTANCE_PARTIAL_INFORMATION {
	ULONG NextEntryOffset;
	USHORT InstanceNameLength;
	USHORT InstanceNameBufferOffset;
	USHORT AltitudeLength;
	USHORT AltitudeBufferOffset;
} INSTANCE_PARTIAL_INFORMATION, *PINSTANCE_PARTIAL_INFORMATION;

typedef struct _INSTANCE_FULL_INFORMATION {
	ULONG NextEntryOffset;
	USHORT InstanceNameLength;
	USHORT InstanceNameBufferOffset;
	USHORT AltitudeLength;
	USHORT AltitudeBufferOffset;
	USHORT VolumeNameLength;
	USHORT VolumeNameBufferOffset;
	USHORT FilterNameLength;
	USHORT FilterNameBufferOffset;
} INSTANCE_FULL_INFORMATION, *PINSTANCE_FULL_INFORMATION;

#define FLTFL_IASI_IS_MINIFILTER 0x00000001
#define FLTFL_IASI_IS_LEGACYFILTER 0x00000002

#define FLTFL_IASIM_DETACHED_VOLUME 0x00000001
#define FLTFL_IASIL_DETACHED_VOLUME 0x00000001

typedef struct _INSTANCE_AGGREGATE_STANDARD_INFORMATION {
	ULONG NextEntryOffset;
	ULONG Flags;
	union {
		struct {
			ULONG Flags;
			ULONG FrameID;
			FLT_FILESYSTEM_TYPE VolumeFileSystemType;
			USHORT InstanceNameLength;
			USHORT InstanceNameBufferOffset;
			USHORT AltitudeLength;
			USHORT AltitudeBufferOffset;
			USHORT VolumeNameLength;
			USHORT VolumeNameBufferOffset;
			USHORT FilterNameLength;
			USHORT FilterNameBufferOffset;
			ULONG SupportedFeatures;
		} MiniFilter;
		struct {
			ULONG Flags;
			USHORT AltitudeLength;
			USHORT AltitudeBufferOffset;
			USHORT VolumeNameLength;
			USHORT VolumeNameBufferOffset;
			USHORT FilterNameLength;
			USHORT FilterNameBufferOffset;
			ULONG SupportedFeatures;
		} LegacyFilter;
	} Type;
} INSTANCE_AGGREGATE_STANDARD_INFORMATION,
	*PINSTANCE_AGGREGATE_STANDARD_INFORMATION;

/* ---- Communication port messages --------------------------------------- */

typedef struct _FILTER_MESSAGE_HEADER {
	ULONG ReplyLength;
	ULONGLONG MessageId;
} FILTER_MESSAGE_HEADER, *PFILTER_MESSAGE_HEADER;

typedef struct _FILTER_REPLY_HEADER {
	NTSTATUS Status;
	ULONGLONG MessageId;
} FILTER_REPLY_HEADER, *PFILTER_REPLY_HEADER;

#define FLT_PORT_FLAG_SYNC_HANDLE 0x00000001

#ifdef __cplusplus
}
#endif

#endif /* ALTITUDE_FLTUSERSTRUCTURES_H */
