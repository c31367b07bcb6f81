/*
 * access.c - request checks, the access rule and reply pages of the
 * \AltitudeBackup port (access.h).  Every function is pure: the port
 * (port.c) calls them with what it looked up.
 *
 * A request is judged on its bytes alone, before anything in it is used:
 * a program may send anything, and a wrong request must cost nothing but
 * STATUS_INVALID_PARAMETER.
 */
#include "access.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

bool bk_path_valid(const char *path, size_t cap, bool empty_ok)
{
	const char *end = memchr(path, '\0', cap), *p, *c;

	if (!end)
		return false;
	if (path == end)
		return empty_ok;
	if (path[0] != '/')
		return false;
	if (end - path == 1)
		return true; /* "/" */
	/* Each component: after a '/', up to the next '/' or the end. */
	for (p = path; p < end; p = c) {
		size_t n;

		c = memchr(p + 1, '/', (size_t)(end - p - 1));
		if (!c)
			c = end;
		n = (size_t)(c - p - 1);
		if (n == 0)
			return false; /* "//" or a trailing '/' */
		if ((n == 1 && p[1] == '.') ||
		    (n == 2 && p[1] == '.' && p[2] == '.'))
			return false;
	}
	return true;
}

static bool bk_op_needs_path(uint32_t op)
{
	return op != BK_OP_USAGE && op != BK_OP_PURGE;
}

bool bk_request_valid(const void *in, size_t len, struct bk_request *out)
{
	if (!in || len != sizeof(*out))
		return false;
	memcpy(out, in, sizeof(*out));
	if (out->magic != BK_PROTO_MAGIC || out->version != BK_PROTO_VERSION ||
	    out->flags != 0 || out->cursor < 0)
		return false;
	if (out->op < BK_OP_LIST || out->op > BK_OP_PURGE)
		return false;
	return bk_path_valid(out->path, sizeof(out->path),
			     !bk_op_needs_path(out->op));
}

static bool bk_in_group(const FLT_PORT_LX_CREDENTIALS *c, uint32_t gid)
{
	ULONG i, n = c->GroupCount;

	if (c->Gid == gid)
		return true;
	if (n > FLT_PORT_LX_MAX_GROUPS)
		n = FLT_PORT_LX_MAX_GROUPS;
	for (i = 0; i < n; i++)
		if (c->Groups[i] == gid)
			return true;
	return false;
}

bool bk_may_read(const FLT_PORT_LX_CREDENTIALS *c, const struct bk_version *v)
{
	if (c->Uid == 0)
		return true;
	/* The class decides, as for open(2): an owner without S_IRUSR is
	 * refused even if others may read. */
	if (c->Uid == v->owner_uid)
		return v->mode & S_IRUSR;
	if (bk_in_group(c, v->owner_gid))
		return v->mode & S_IRGRP;
	return v->mode & S_IROTH;
}

bool bk_may_purge(const FLT_PORT_LX_CREDENTIALS *c)
{
	return c->Uid == 0;
}

int32_t bk_store_errno(int err)
{
	if (err == 0)
		return 0;
	if (err == -ENOENT)
		return ENOENT;
	return EIO;
}

bool bk_path_join(char *out, size_t cap, const char *root, const char *rel)
{
	size_t r = strlen(root), n;

	/* A volume over "/" itself: its paths are already absolute. */
	if (r == 1 && root[0] == '/')
		r = 0;
	if (!strcmp(rel, "/"))
		rel = r ? "" : "/";
	n = strlen(rel);
	if (r + n + 1 > cap)
		return false;
	memcpy(out, root, r);
	memcpy(out + r, rel, n + 1);
	return true;
}

bool bk_entry_fill(struct bk_entry *e, const struct bk_version *v,
		   const char *root, bool exists)
{
	memset(e, 0, sizeof(*e));
	if (!bk_path_join(e->path, sizeof(e->path), root, v->path))
		return false;
	e->id = v->id;
	e->version = v->version;
	e->time_ns = v->time_ns;
	e->size = v->size;
	e->file_id = v->file_id;
	e->reason = v->reason;
	e->method = v->method;
	e->pid = v->pid;
	e->uid = v->uid;
	e->owner_uid = v->owner_uid;
	e->owner_gid = v->owner_gid;
	e->mode = v->mode;
	e->exists = exists;
	e->atime_ns = v->atime_ns;
	e->mtime_ns = v->mtime_ns;
	if (v->hashed) {
		e->flags |= BK_ENTRY_HASHED;
		_Static_assert(sizeof(e->sha256) == sizeof(v->hash), "hash sizes");
		memcpy(e->sha256, v->hash, sizeof(e->sha256));
	}
	_Static_assert(sizeof(e->comm) == sizeof(v->comm), "comm sizes");
	memcpy(e->comm, v->comm, sizeof(e->comm));
	e->comm[sizeof(e->comm) - 1] = '\0';
	return true;
}

void bk_page_init(struct bk_page *pg, void *buf, size_t cap)
{
	memset(pg, 0, sizeof(*pg));
	pg->buf = buf;
	pg->cap = cap;
	pg->used = sizeof(struct bk_reply);
}

bool bk_page_add(struct bk_page *pg, const void *item, size_t size,
		 int64_t id)
{
	if (pg->more || pg->cap - pg->used < size) {
		pg->more = true;
		return false;
	}
	memcpy(pg->buf + pg->used, item, size);
	pg->used += size;
	pg->count++;
	pg->last = id;
	return true;
}

size_t bk_page_finish(struct bk_page *pg, int32_t error, uint64_t total)
{
	struct bk_reply r = { .error = error, .total = total };

	if (error) {
		pg->used = sizeof(r);
	} else {
		r.count = pg->count;
		r.cursor = pg->more ? pg->last : 0;
	}
	memcpy(pg->buf, &r, sizeof(r));
	return pg->used;
}
