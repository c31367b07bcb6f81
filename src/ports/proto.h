/*
 * proto.h - the wire protocol of communication ports, shared by fltmgrd
 * (src/ports) and libfltlib (src/fltlib/port.c).  docs/ports.md is the
 * prose version; this header is the contract.
 *
 * Transport: a SOCK_SEQPACKET Unix socket <runtime dir>/ports (mode 0666;
 * who may connect is decided per port from the peer's credentials).  One
 * FilterConnectCommunicationPort makes one connection and sends CONNECT; the
 * daemon answers CONNECT_DONE and, on success, passes two more sockets with
 * SCM_RIGHTS.  A port handle therefore owns three channels:
 *
 *   req  the connection itself: FilterSendMessage.  SEND -> SEND_DONE, one
 *        request at a time per handle; the daemon runs MessageNotify on the
 *        connection's own thread.  A request it cannot parse gets ERROR.
 *   msg  daemon -> client only: one MESSAGE per FltSendMessage.  Several
 *        threads may block in FilterGetMessage on it; the kernel hands each
 *        datagram to exactly one of them.  FilterGetPortFd returns it, so it
 *        polls readable exactly when a message waits.
 *   rep  client -> daemon REPLY; daemon -> client REPLY_ACK, only for a
 *        REPLY that asked for one.  The daemon has no reader on it: the
 *        FltSendMessage callers waiting for replies read it themselves
 *        (one leader at a time), so a reply wakes its waiter directly.
 *
 * Every frame is one datagram: struct pt_hdr, then the body.  Fields are in
 * host byte order (both ends run on the same machine).  length is the whole
 * datagram; a frame whose length, magic or version does not match, or that
 * was truncated, is malformed.
 */
#ifndef ALTITUDE_PORTS_PROTO_H
#define ALTITUDE_PORTS_PROTO_H

#include <stdint.h>

#define PT_SOCKET_NAME "ports"
#define PT_MAGIC 0x50544c41u /* "ALTP" */
#define PT_VERSION 1

/* Largest message, reply, FilterSendMessage input and output (bytes). */
#define PT_MAX_DATA (64u * 1024u)
/* Largest port name in UTF-8, NUL excluded. */
#define PT_MAX_NAME 255u
/* Largest connection context (wSizeOfContext is a WORD). */
#define PT_MAX_CONTEXT 0xffffu
/* A reply that needs no acknowledgement is one whose waiter has more than
 * this left (ns); see FilterReplyMessage in docs/ports.md. */
#define PT_ACK_WINDOW_NS 1000000000LL
/* FilterReplyMessage does not send a reply this close to the deadline (ns). */
#define PT_REPLY_MARGIN_NS 2000000LL
/* How long after the deadline a client waits for an acknowledgement (ns). */
#define PT_ACK_GRACE_NS 2000000000LL

enum pt_op {
	PT_OP_CONNECT = 1, /* c->d: arg options; body: name, context */
	PT_OP_CONNECT_DONE = 2, /* d->c: status; body: clock, max data; fds */
	PT_OP_SEND = 3, /* c->d req: id seq, arg output size; body: input */
	PT_OP_SEND_DONE = 4, /* d->c req: id seq, status, arg bytes; body: output */
	PT_OP_MESSAGE = 5, /* d->c msg: id, arg reply length, flags, deadline */
	PT_OP_REPLY = 6, /* c->d rep: id, status (the reply header's), flags */
	PT_OP_REPLY_ACK = 7, /* d->c rep: id, status */
	PT_OP_ERROR = 8, /* d->c req: id (if readable), status */
};

/* MESSAGE flags */
#define PT_MSG_WANTS_REPLY 0x1u /* FltSendMessage has a ReplyBuffer */
/* REPLY flags */
#define PT_REPLY_WANT_ACK 0x1u /* answer with REPLY_ACK */
#define PT_REPLY_OVERFLOW 0x2u /* the client cut a reply longer than allowed */

struct pt_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t op;
	uint32_t length; /* the whole datagram, header included */
	int32_t status; /* an NTSTATUS */
	uint64_t id; /* MessageId, or a request's sequence number */
	uint32_t arg; /* see enum pt_op */
	uint32_t flags;
	/* MESSAGE: CLOCK_MONOTONIC ns (daemon) when FltSendMessage stops
	 * waiting; 0 = never. */
	uint64_t deadline;
};

_Static_assert(sizeof(struct pt_hdr) == 40, "pt_hdr has no padding");

/* Largest datagram either side sends or accepts. */
#define PT_MAX_FRAME (sizeof(struct pt_hdr) + PT_MAX_DATA + 2 * 4096u)

#endif /* ALTITUDE_PORTS_PROTO_H */
