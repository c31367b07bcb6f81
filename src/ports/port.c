/*
 * port.c - server ports: FltCreateCommunicationPort,
 * FltCloseCommunicationPort, the global name table, and the clean-up when a
 * filter unloads.
 *
 * Port names are global across filters, as object names are on Windows, and
 * compare case-insensitively (ASCII letters only: names are UTF-8 here).
 * A closed port keeps its existing connections; only its name is released.
 * ports_filter_unloading runs after the filter's FilterUnloadCallback, while
 * its code is still mapped: it closes what the filter left open, disconnects
 * every program (their calls fail with STATUS_PORT_DISCONNECTED, which
 * libfltlib reports as HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE)), waits
 * until every DisconnectNotify has returned, and drops the references of
 * client ports the filter never closed.
 */
#include "ports/ports.h"
#include "ports/pt.h"
#include "fltmgr/fm.h"
#include "rtl/rtl.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static struct pt_port *pt_ports;

struct pt_port *pt_port_find(const char *name)
{
	struct pt_port *p;

	for (p = pt_ports; p; p = p->next)
		if (!p->closed && strcasecmp(p->name, name) == 0)
			return p;
	return NULL;
}

void pt_port_put_locked(struct pt_port *port)
{
	struct pt_port **pp;

	if (--port->refs)
		return;
	for (pp = &pt_ports; *pp; pp = &(*pp)->next)
		if (*pp == port) {
			*pp = port->next;
			break;
		}
	port->magic = 0;
	free(port);
}

/* ObjectName -> UTF-8; STATUS_OBJECT_NAME_INVALID unless it is "\..." and
 * fits. */
static NTSTATUS pt_port_name(const OBJECT_ATTRIBUTES *oa, char *out)
{
	const UNICODE_STRING *us = oa->ObjectName;
	ULONG len = 0;
	NTSTATUS st;

	if (!us || !us->Buffer || !us->Length || (us->Length & 1))
		return STATUS_OBJECT_NAME_INVALID;
	st = RtlUnicodeToUTF8N(out, PT_MAX_NAME, &len, us->Buffer, us->Length);
	/* Lone surrogates (STATUS_SOME_NOT_MAPPED) could never be matched by
	 * a client's name, which libfltlib converts strictly. */
	if (st != STATUS_SUCCESS || len > PT_MAX_NAME)
		return STATUS_OBJECT_NAME_INVALID;
	out[len] = '\0';
	if (out[0] != '\\' || strlen(out) != len)
		return STATUS_OBJECT_NAME_INVALID;
	return STATUS_SUCCESS;
}

static bool pt_is_filter(PFLT_FILTER Filter)
{
	const struct fm_filter *f = (const struct fm_filter *)Filter;

	return f && f->obj.type == FM_OBJ_FILTER;
}

NTSTATUS FLTAPI FltCreateCommunicationPort(
	PFLT_FILTER Filter, PFLT_PORT *ServerPort,
	POBJECT_ATTRIBUTES ObjectAttributes, PVOID ServerPortCookie,
	PFLT_CONNECT_NOTIFY ConnectNotifyCallback,
	PFLT_DISCONNECT_NOTIFY DisconnectNotifyCallback,
	PFLT_MESSAGE_NOTIFY MessageNotifyCallback, LONG MaxConnections)
{
	struct pt_port *port;
	NTSTATUS st;

	if (!ServerPort)
		return STATUS_INVALID_PARAMETER;
	*ServerPort = NULL;
	if (!pt_is_filter(Filter) || !ObjectAttributes ||
	    !ConnectNotifyCallback || !DisconnectNotifyCallback ||
	    MaxConnections <= 0)
		return STATUS_INVALID_PARAMETER;
	port = calloc(1, sizeof(*port));
	if (!port)
		return STATUS_INSUFFICIENT_RESOURCES;
	st = pt_port_name(ObjectAttributes, port->name);
	if (!NT_SUCCESS(st))
		goto out_free;
	if (!pt_sd_copy(&port->sd, ObjectAttributes->SecurityDescriptor)) {
		st = STATUS_INVALID_PARAMETER;
		goto out_free;
	}
	port->magic = PT_PORT_MAGIC;
	port->filter = (struct fm_filter *)Filter;
	port->cookie = ServerPortCookie;
	port->connect_cb = ConnectNotifyCallback;
	port->disconnect_cb = DisconnectNotifyCallback;
	port->message_cb = MessageNotifyCallback;
	port->max_connections = MaxConnections;
	port->refs = 1;

	pthread_mutex_lock(&pt_lock);
	if (pt_port_find(port->name)) {
		pthread_mutex_unlock(&pt_lock);
		st = STATUS_OBJECT_NAME_COLLISION;
		goto out_free;
	}
	port->next = pt_ports;
	pt_ports = port;
	pthread_mutex_unlock(&pt_lock);
	rtl_log(LOG_DEBUG, "ports: %s created %s (max %ld connections)",
		port->filter->name, port->name, (long)MaxConnections);
	*ServerPort = (PFLT_PORT)port;
	return STATUS_SUCCESS;

out_free:
	free(port);
	return st;
}

/* The open server port p, under pt_lock; NULL for anything else. */
static struct pt_port *pt_port_lookup(const void *p)
{
	struct pt_port *port;

	for (port = pt_ports; port; port = port->next)
		if (port == p && !port->closed)
			return port;
	return NULL;
}

static void pt_port_close_locked(struct pt_port *port)
{
	port->closed = true;
	pt_port_put_locked(port);
}

VOID FLTAPI FltCloseCommunicationPort(PFLT_PORT ServerPort)
{
	struct pt_port *port;

	if (!ServerPort)
		return;
	pthread_mutex_lock(&pt_lock);
	port = pt_port_lookup(ServerPort);
	if (port) {
		rtl_log(LOG_DEBUG, "ports: %s closed %s", port->filter->name,
			port->name);
		pt_port_close_locked(port);
	}
	pthread_mutex_unlock(&pt_lock);
	if (!port)
		rtl_log(LOG_WARNING,
			"ports: FltCloseCommunicationPort(%p): not an open server port",
			(void *)ServerPort);
}

void pt_kill_all_locked(void)
{
	struct pt_port *p;
	struct pt_client *c;

	for (p = pt_ports; p; p = p->next)
		for (c = p->clients; c; c = c->next)
			pt_client_kill(c);
}

/* Some port of filter still running a connection thread. */
static bool pt_filter_busy(const struct fm_filter *filter)
{
	const struct pt_port *p;

	for (p = pt_ports; p; p = p->next)
		if (p->filter == filter && p->threads)
			return true;
	return false;
}

/* A client of filter's ports whose filter reference is still held. */
static struct pt_client *pt_filter_unclosed_client(const struct fm_filter *filter)
{
	struct pt_port *p;
	struct pt_client *c;
	bool held;

	for (p = pt_ports; p; p = p->next) {
		if (p->filter != filter)
			continue;
		for (c = p->clients; c; c = c->next) {
			pthread_mutex_lock(&c->lock);
			held = c->filter_ref;
			pthread_mutex_unlock(&c->lock);
			if (held)
				return c;
		}
	}
	return NULL;
}

void ports_filter_unloading(struct fm_filter *filter)
{
	struct pt_port *p, *next;
	struct pt_client *c;

	pthread_mutex_lock(&pt_lock);
	for (p = pt_ports; p; p = p->next) {
		if (p->filter != filter)
			continue;
		p->unloading = true;
		/* Held until the end so the port outlives this loop. */
		p->refs++;
		if (!p->closed) {
			rtl_log(LOG_WARNING,
				"ports: filter %s unloads with port %s open; closing it",
				filter->name, p->name);
			pt_port_close_locked(p);
		}
		for (c = p->clients; c; c = c->next)
			pt_client_kill(c);
	}
	/* Every DisconnectNotify (and any MessageNotify still running) ends
	 * before the filter's code goes away. */
	while (pt_filter_busy(filter))
		pthread_cond_wait(&pt_cond, &pt_lock);
	for (;;) {
		c = pt_filter_unclosed_client(filter);
		if (!c)
			break;
		pthread_mutex_unlock(&pt_lock);
		rtl_log(LOG_WARNING,
			"ports: filter %s never called FltCloseClientPort for a client port of %s",
			filter->name, c->port->name);
		pt_client_drop_filter_ref(c);
		pthread_mutex_lock(&pt_lock);
	}
	for (p = pt_ports; p; p = next) {
		next = p->next;
		if (p->filter == filter)
			pt_port_put_locked(p);
	}
	pthread_mutex_unlock(&pt_lock);
}
