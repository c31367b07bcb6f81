/*
 * client.c - altbackup's side of the \AltitudeBackup port (proto.h): the
 * connection, one request at a time, following cursors, and turning the
 * user's path into the absolute one the filter expects.
 *
 * Every reply is checked against its header before anything in it is
 * used: a count that does not match the bytes returned is a broken reply,
 * not something to print.
 */
#include "altbackup.h"

#include <fltUser.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static HANDLE ab_port;

void ab_err(const char *path, const char *fmt, ...)
{
	va_list ap;

	fputs("altbackup: ", stderr);
	if (path)
		fprintf(stderr, "%s: ", path);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- Paths ------------------------------------------------------------------------- */

int ab_resolve(const char *arg, char *out, size_t cap)
{
	char *r = realpath(arg, NULL), *buf, *slash, *name;
	const char *parent;
	size_t len, plen;
	int err;

	if (r) {
		len = strlen(r);
		err = len < cap ? 0 : -ENAMETOOLONG;
		if (!err)
			memcpy(out, r, len + 1);
		free(r);
		return err;
	}
	if (errno != ENOENT || !*arg)
		return -errno;
	/* Gone: resolve the parent, then add the final component. */
	buf = strdup(arg);
	if (!buf)
		return -ENOMEM;
	len = strlen(buf);
	while (len > 1 && buf[len - 1] == '/')
		buf[--len] = '\0';
	slash = strrchr(buf, '/');
	if (!slash) {
		parent = ".";
		name = buf;
	} else {
		name = slash + 1;
		*slash = '\0';
		parent = slash == buf ? "/" : buf;
	}
	if (!*name || !strcmp(name, ".") || !strcmp(name, "..")) {
		free(buf);
		return -ENOENT;
	}
	err = ab_resolve(parent, out, cap);
	if (!err) {
		plen = strlen(out);
		if (plen == 1)
			plen = 0; /* the parent is "/" */
		if (plen + 1 + strlen(name) + 1 > cap) {
			err = -ENAMETOOLONG;
		} else {
			out[plen] = '/';
			strcpy(out + plen + 1, name);
		}
	}
	free(buf);
	return err;
}

/* ---- The port ---------------------------------------------------------------------- */

int ab_connect(void)
{
	HRESULT hr;

	if (ab_port)
		return 0;
	hr = FilterConnectCommunicationPort(BK_PORT_NAME, 0, NULL, 0, NULL,
					    &ab_port);
	if (SUCCEEDED(hr))
		return 0;
	ab_port = NULL;
	if (hr == HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND))
		ab_err(NULL, "the backup filter is not running (no \\AltitudeBackup port)");
	else if (hr == E_ACCESSDENIED)
		ab_err(NULL, "access to the \\AltitudeBackup port denied");
	else if (hr == HRESULT_FROM_WIN32(ERROR_CONNECTION_COUNT_LIMIT))
		ab_err(NULL, "too many programs are connected to the backup filter; try again");
	else
		ab_err(NULL, "cannot connect to the backup filter (HRESULT 0x%08X)",
		       (unsigned)hr);
	return -1;
}

void ab_disconnect(void)
{
	if (ab_port)
		CloseHandle(ab_port);
	ab_port = NULL;
}

static void ab_hresult(const char *shown, HRESULT hr)
{
	if (hr == HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE))
		ab_err(shown, "the backup filter went away (port disconnected)");
	else if (hr == E_INVALIDARG)
		ab_err(shown, "the backup filter refused the request as malformed (HRESULT 0x%08X)",
		       (unsigned)hr);
	else
		ab_err(shown, "request failed (HRESULT 0x%08X)", (unsigned)hr);
}

/* Bytes each item of op's reply takes; 1 for READ's content. */
static size_t ab_item_size(uint32_t op)
{
	switch (op) {
	case BK_OP_READ:
		return 1;
	case BK_OP_USAGE:
	case BK_OP_PURGE:
		return sizeof(struct bk_usage_reply);
	default:
		return sizeof(struct bk_entry);
	}
}

int ab_call(const char *shown, uint32_t op, const char *path, int64_t id,
	    int64_t cursor, uint64_t offset, unsigned char *out,
	    struct bk_reply *reply, const unsigned char **data)
{
	struct bk_request *req = calloc(1, sizeof(*req));
	DWORD got = 0;
	HRESULT hr;
	size_t len = strlen(path);

	if (!req) {
		ab_err(shown, "%s", strerror(ENOMEM));
		return -1;
	}
	if (len >= sizeof(req->path)) {
		free(req);
		ab_err(shown, "%s", strerror(ENAMETOOLONG));
		return -1;
	}
	req->magic = BK_PROTO_MAGIC;
	req->version = BK_PROTO_VERSION;
	req->op = op;
	req->id = id;
	req->cursor = cursor;
	req->offset = offset;
	memcpy(req->path, path, len + 1);
	hr = FilterSendMessage(ab_port, req, sizeof(*req), out,
			       BK_PROTO_MAX_REPLY, &got);
	free(req);
	/* USAGE and PURGE say STATUS_BUFFER_OVERFLOW (ERROR_MORE_DATA) when
	 * not every volume fit: what came is still good. */
	if (FAILED(hr) && hr != HRESULT_FROM_WIN32(ERROR_MORE_DATA)) {
		ab_hresult(shown, hr);
		return -1;
	}
	if (got < sizeof(*reply)) {
		ab_err(shown, "short reply from the backup filter (%u bytes)",
		       (unsigned)got);
		return -1;
	}
	memcpy(reply, out, sizeof(*reply));
	if (reply->error) {
		ab_err(shown, "%s", strerror(reply->error));
		return -1;
	}
	if ((uint64_t)reply->count * ab_item_size(op) !=
	    got - sizeof(*reply)) {
		ab_err(shown, "malformed reply from the backup filter");
		return -1;
	}
	*data = out + sizeof(*reply);
	return 0;
}

/* ---- Lists ------------------------------------------------------------------------- */

void ab_entries_free(struct ab_entries *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static int ab_entries_add(struct ab_entries *l, const unsigned char *src,
			  size_t count)
{
	if (!count)
		return 0;
	if (l->n + count > l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct bk_entry *v;

		while (cap < l->n + count)
			cap *= 2;
		v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	/* The reply buffer is not aligned for the entries: copy. */
	memcpy(l->v + l->n, src, count * sizeof(*l->v));
	for (; count; count--, l->n++) {
		l->v[l->n].path[sizeof(l->v->path) - 1] = '\0';
		l->v[l->n].comm[sizeof(l->v->comm) - 1] = '\0';
	}
	return 0;
}

int ab_fetch(const char *shown, uint32_t op, const char *path,
	     struct ab_entries *l)
{
	unsigned char *out = malloc(BK_PROTO_MAX_REPLY);
	const unsigned char *data;
	struct bk_reply r;
	int64_t cursor = 0;
	int ret = -1;

	if (!out) {
		ab_err(shown, "%s", strerror(ENOMEM));
		return -1;
	}
	for (;;) {
		if (ab_call(shown, op, path, 0, cursor, 0, out, &r, &data) < 0)
			goto out;
		if (ab_entries_add(l, data, r.count) < 0) {
			ab_err(shown, "%s", strerror(ENOMEM));
			goto out;
		}
		if (r.cursor == 0)
			break;
		if (r.cursor <= cursor) {
			ab_err(shown, "the backup filter's cursor went backwards");
			goto out;
		}
		cursor = r.cursor;
	}
	ret = 0;
out:
	free(out);
	return ret;
}

int ab_info(const char *shown, const char *path, int64_t id,
	    struct bk_entry *e)
{
	unsigned char *out = malloc(BK_PROTO_MAX_REPLY);
	const unsigned char *data;
	struct bk_reply r;
	int ret = -1;

	if (!out) {
		ab_err(shown, "%s", strerror(ENOMEM));
		return -1;
	}
	if (ab_call(shown, BK_OP_INFO, path, id, 0, 0, out, &r, &data) < 0)
		goto out;
	if (r.count != 1) {
		ab_err(shown, "malformed reply from the backup filter");
		goto out;
	}
	memcpy(e, data, sizeof(*e));
	e->path[sizeof(e->path) - 1] = '\0';
	e->comm[sizeof(e->comm) - 1] = '\0';
	ret = 0;
out:
	free(out);
	return ret;
}

int ab_usage(const char *shown, uint32_t op, const char *path,
	     struct bk_usage_reply **u, size_t *n)
{
	unsigned char *out = malloc(BK_PROTO_MAX_REPLY);
	const unsigned char *data;
	struct bk_reply r;
	size_t i;
	int ret = -1;

	*u = NULL;
	*n = 0;
	if (!out) {
		ab_err(shown, "%s", strerror(ENOMEM));
		return -1;
	}
	if (ab_call(shown, op, path, 0, 0, 0, out, &r, &data) < 0)
		goto out;
	*u = calloc(r.count ? r.count : 1, sizeof(**u));
	if (!*u) {
		ab_err(shown, "%s", strerror(ENOMEM));
		goto out;
	}
	memcpy(*u, data, r.count * sizeof(**u));
	for (i = 0; i < r.count; i++) {
		(*u)[i].volume[sizeof((*u)[i].volume) - 1] = '\0';
		(*u)[i].store[sizeof((*u)[i].store) - 1] = '\0';
	}
	*n = r.count;
	ret = 0;
out:
	free(out);
	return ret;
}
