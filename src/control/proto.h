/*
 * proto.h - the control protocol between fltmgrd and libfltlib's
 * management calls (FilterLoad, FilterAttach, FilterFindFirst ...).
 *
 * Transport: a SOCK_SEQPACKET Unix socket, <runtime dir>/control (default
 * /run/altitude/control, overridden by fltmgrd --runtime-dir and by the
 * ALTITUDE_RUNTIME_DIR environment variable on the client side).  The
 * daemon checks the caller's credentials (SO_PEERCRED): root, or a member
 * of the group the configuration names, else STATUS_ACCESS_DENIED.
 *
 * One request, one reply, each a single packet of at most CTL_MAX_PACKET
 * bytes.  Every packet starts with struct ctl_hdr (little endian, packed);
 * the body is a sequence of fields written with wire.h.  Strings are UTF-8
 * without a terminator.  Replies carry the NTSTATUS of the operation; the
 * library turns it into an HRESULT.  A malformed request gets
 * STATUS_INVALID_PARAMETER (or STATUS_REVISION_MISMATCH for another
 * version) and the connection stays usable.
 */
#ifndef ALTITUDE_CONTROL_PROTO_H
#define ALTITUDE_CONTROL_PROTO_H

#include <stdint.h>

#define CTL_MAGIC 0x434c5441u /* "ALTC" */
#define CTL_VERSION 1
#define CTL_MAX_PACKET (64 * 1024)
#define CTL_SOCKET_NAME "control"
#define CTL_DEFAULT_RUNTIME_DIR "/run/altitude"

struct ctl_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t op;
	uint32_t length; /* whole packet, header included */
	uint32_t seq; /* echoed in the reply */
	int32_t status; /* replies: NTSTATUS; requests: 0 */
} __attribute__((packed));

/*
 * Requests and their bodies (reply bodies after "->").  "str?" is an
 * optional string: present with length 0 when absent.
 */
enum ctl_op {
	/* str filter -> (none) */
	CTL_LOAD = 1,
	/* str filter -> (none) */
	CTL_UNLOAD = 2,
	/* str filter, str volume, str? instance, str? altitude
	 * -> str created instance name */
	CTL_ATTACH = 3,
	/* str filter, str volume, str? instance -> (none) */
	CTL_DETACH = 4,
	/* (none) -> u32 count, then per filter:
	 *    str name, str altitude, u32 instances, u32 frame, u32 flags */
	CTL_ENUM_FILTERS = 5,
	/* str? filter, str? volume -> u32 count, then per instance:
	 *    str filter, str volume (\Device\x), str instance, str altitude,
	 *    u32 frame, u32 flags, u32 fs type */
	CTL_ENUM_INSTANCES = 6,
	/* (none) -> u32 count, then per volume:
	 *    str name (\Device\x), str dos name (directory), u32 fs type,
	 *    u32 flags, str fs name (ext4 ...) */
	CTL_ENUM_VOLUMES = 7,
	/* str directory, str name -> (none) */
	CTL_VOLUME_ADD = 8,
	/* str name -> (none) */
	CTL_VOLUME_REMOVE = 9,
	/* str service name, str definition (the service file's text)
	 * -> (none) */
	CTL_SERVICE_INSTALL = 10,
	/* str service name -> (none) */
	CTL_SERVICE_UNINSTALL = 11,
	/* (none) -> u32 count, then per service:
	 *    str name, str image, u32 start type, str group, str altitude */
	CTL_ENUM_SERVICES = 12,
};

#endif /* ALTITUDE_CONTROL_PROTO_H */
