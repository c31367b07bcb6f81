/*
 * port.c - the backup filter's communication port, \AltitudeBackup, which
 * altbackup (filters/backup/cli) uses to list versions and read them back.
 *
 * Every user may connect (the descriptor grants FLT_PORT_CONNECT to
 * everyone); what each request may see is decided here, per version, with
 * the credentials captured in ConnectNotify (proto.h, "Who sees what").
 * Each connection is served by its own daemon thread, one request at a
 * time, so a connection's cookie needs no lock.
 *
 * A request is checked whole before it is used (access.c); a malformed one
 * gets STATUS_INVALID_PARAMETER and nothing else.  A well-formed request
 * always gets a struct bk_reply, with reply.error saying why it failed.
 *
 * Deliberately absent: writing anything to a volume.  Restoring is the
 * program's job, through the volume like any other program, so a restore
 * is itself a change the filter versions.
 *
 * bk_port_stop() closes the port, disconnects every program and waits for
 * the requests in progress, so the volumes and stores may be torn down
 * right after it returns.
 */
#include "backup.h"
#include "access.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BK_MAX_CONNECTIONS 64
/* Deleted-file candidates examined per catalog query. */
#define BK_DELETED_BATCH 16

/* One connected program: the cookie ConnectNotify returns. */
struct bk_conn {
	PFLT_PORT client;
	FLT_PORT_LX_CREDENTIALS cred;
	struct bk_conn *next; /* under bk_ports.lock */
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t idle;
	struct bk_conn *conns;
	unsigned busy; /* MessageNotify calls in progress */
	bool stopping;
} bk_ports = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0,
	       false };

/* What one request works with. */
struct bk_call {
	const struct bk_conn *conn;
	const struct bk_request *req;
	struct bk_page page;
};

static int64_t bk_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- LIST: the versions of one file ---------------------------------------------- */

struct bk_list_state {
	struct bk_call *call;
	struct bk_volume *vol;
	bool exists;
	bool failed; /* a version's absolute path did not fit */
};

static int bk_list_one(const struct bk_version *v, void *arg)
{
	struct bk_list_state *st = arg;
	struct bk_entry e;

	if (!bk_may_read(&st->call->conn->cred, v))
		return 0;
	if (!bk_entry_fill(&e, v, st->vol->root, st->exists)) {
		st->failed = true;
		return 1;
	}
	/* The first entry that does not fit proves there is more. */
	return bk_page_add(&st->call->page, &e, sizeof(e), e.id) ? 0 : 1;
}

static int32_t bk_op_list(struct bk_call *call)
{
	struct bk_list_state st = { .call = call };
	const char *rel;
	int err;

	st.vol = bk_volume_find(call->req->path, &rel);
	if (!st.vol)
		return ENOENT;
	/* One path: whether it exists is the same for every entry, and is
	 * looked up before the catalog is, not while it is being read. */
	st.exists = bk_path_exists(st.vol, rel);
	err = bk_store_list(st.vol->store, rel, call->req->cursor, 0,
			    bk_list_one, &st);
	bk_volume_put(st.vol);
	if (st.failed)
		return ENAMETOOLONG;
	return err < 0 ? bk_store_errno(err) : 0;
}

/* ---- DELETED: deleted files under a directory ------------------------------------ */

/*
 * The catalog says which paths were deleted last; whether one exists again
 * needs a lookup on the volume, which is not done while the catalog is
 * being read.  So candidates are gathered a batch at a time, then checked.
 */
struct bk_deleted_batch {
	const FLT_PORT_LX_CREDENTIALS *cred;
	struct bk_version *v; /* BK_DELETED_BATCH of them */
	unsigned n; /* readable candidates gathered */
	unsigned seen; /* versions the store handed over */
	int64_t last; /* id of the last one seen */
};

static int bk_deleted_gather(const struct bk_version *v, void *arg)
{
	struct bk_deleted_batch *b = arg;

	b->seen++;
	b->last = v->id;
	if (bk_may_read(b->cred, v))
		b->v[b->n++] = *v;
	return 0;
}

static int32_t bk_op_deleted(struct bk_call *call)
{
	struct bk_deleted_batch b = { .cred = &call->conn->cred };
	int64_t after = call->req->cursor;
	struct bk_volume *vol;
	int32_t error = 0;
	const char *rel;
	struct bk_entry *e;

	b.v = malloc(BK_DELETED_BATCH * sizeof(*b.v));
	e = malloc(sizeof(*e));
	vol = bk_volume_find(call->req->path, &rel);
	if (!b.v || !e) {
		error = ENOMEM;
		goto out;
	}
	if (!vol) {
		error = ENOENT;
		goto out;
	}
	while (!call->page.more) {
		unsigned i;
		int err;

		b.n = b.seen = 0;
		err = bk_store_list_deleted(vol->store, rel, after,
					    BK_DELETED_BATCH,
					    bk_deleted_gather, &b);
		if (err < 0) {
			error = bk_store_errno(err);
			break;
		}
		for (i = 0; i < b.n && !call->page.more; i++) {
			if (bk_path_exists(vol, b.v[i].path))
				continue;
			if (!bk_entry_fill(e, &b.v[i], vol->root, false))
				continue; /* no absolute name: cannot be restored */
			bk_page_add(&call->page, e, sizeof(*e), e->id);
		}
		if (b.seen < BK_DELETED_BATCH)
			break;
		after = b.last;
	}
out:
	if (vol)
		bk_volume_put(vol);
	free(e);
	free(b.v);
	return error;
}

/* ---- INFO and READ: one version -------------------------------------------------- */

/* The volume of the request's path: INFO and READ name the file (or any
 * path on its volume), because version ids are unique per store. */
static int32_t bk_op_info(struct bk_call *call)
{
	struct bk_version *v = malloc(sizeof(*v));
	struct bk_entry *e = malloc(sizeof(*e));
	struct bk_volume *vol;
	int32_t error = 0;
	const char *rel;
	int err;

	vol = bk_volume_find(call->req->path, &rel);
	if (!v || !e) {
		error = ENOMEM;
		goto out;
	}
	if (!vol) {
		error = ENOENT;
		goto out;
	}
	err = bk_store_get(vol->store, call->req->id, v);
	if (err < 0) {
		error = bk_store_errno(err);
		goto out;
	}
	if (!bk_may_read(&call->conn->cred, v)) {
		error = EACCES;
		goto out;
	}
	if (!bk_entry_fill(e, v, vol->root, bk_path_exists(vol, v->path))) {
		error = ENAMETOOLONG;
		goto out;
	}
	/* Does not fit: page.more makes it STATUS_BUFFER_TOO_SMALL. */
	bk_page_add(&call->page, e, sizeof(*e), e->id);
out:
	if (vol)
		bk_volume_put(vol);
	free(e);
	free(v);
	return error;
}

/* Reads up to cap bytes at off; the byte count, or -errno. */
static ssize_t bk_pread_full(int fd, unsigned char *buf, size_t cap,
			     uint64_t off)
{
	size_t done = 0;

	while (done < cap) {
		ssize_t n = pread(fd, buf + done, cap - done,
				  (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static int32_t bk_op_read(struct bk_call *call, uint64_t *total)
{
	struct bk_version *v = malloc(sizeof(*v));
	struct bk_page *pg = &call->page;
	struct bk_volume *vol;
	int32_t error = 0;
	const char *rel;
	int fd = -1, err;
	ssize_t n;

	vol = bk_volume_find(call->req->path, &rel);
	if (!v) {
		error = ENOMEM;
		goto out;
	}
	if (!vol) {
		error = ENOENT;
		goto out;
	}
	err = bk_store_open_version(vol->store, call->req->id, &fd, v);
	if (err < 0) {
		error = bk_store_errno(err);
		goto out;
	}
	if (!bk_may_read(&call->conn->cred, v)) {
		error = EACCES;
		goto out;
	}
	*total = v->size;
	if (call->req->offset >= v->size)
		goto out; /* end of the content: no bytes */
	n = bk_pread_full(fd, pg->buf + pg->used,
			  (size_t)min((uint64_t)(pg->cap - pg->used),
				      v->size - call->req->offset),
			  call->req->offset);
	if (n < 0) {
		DbgPrint("backup: reading version %lld of %s: %s\n",
			 (long long)v->id, v->path, strerror((int)-n));
		error = EIO;
		goto out;
	}
	pg->used += (size_t)n;
	pg->count = (uint32_t)n;
out:
	if (fd >= 0)
		close(fd);
	if (vol)
		bk_volume_put(vol);
	free(v);
	return error;
}

/* ---- USAGE and PURGE: store totals ----------------------------------------------- */

static void bk_copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Enforces the policy on vol (PURGE), then adds its totals to the page. */
static int32_t bk_usage_one(struct bk_call *call, struct bk_volume *vol,
			    bool purge)
{
	struct bk_usage_reply *r = calloc(1, sizeof(*r));
	struct bk_usage u;
	int32_t error = 0;
	int err;

	if (!r)
		return ENOMEM;
	if (purge) {
		err = bk_store_enforce(vol->store, &bk.policy, bk_now_ns(), 0,
				       &r->evicted, &r->freed);
		if (err < 0) {
			DbgPrint("backup: purging %s: %s\n", vol->root,
				 strerror(-err));
			error = EIO;
			goto out;
		}
	}
	err = bk_store_usage(vol->store, &u);
	if (err < 0) {
		error = EIO;
		goto out;
	}
	bk_copy_str(r->volume, sizeof(r->volume), vol->root);
	bk_copy_str(r->store, sizeof(r->store), bk_store_dir(vol->store));
	r->versions = u.versions;
	r->bytes = u.bytes;
	r->disk_bytes = u.disk_bytes;
	r->paths = u.paths;
	r->oldest_ns = u.oldest_ns;
	r->newest_ns = u.newest_ns;
	r->max_store_bytes = bk.policy.max_store_bytes;
	/* Volumes beyond the buffer are still purged; the reply says
	 * STATUS_BUFFER_OVERFLOW. */
	bk_page_add(&call->page, r, sizeof(*r), 0);
out:
	free(r);
	return error;
}

static int32_t bk_op_usage(struct bk_call *call, bool purge)
{
	struct bk_volume *vol;
	const char *rel;
	int32_t error;

	if (purge && !bk_may_purge(&call->conn->cred))
		return EPERM;
	if (call->req->path[0]) {
		vol = bk_volume_find(call->req->path, &rel);
		if (!vol)
			return ENOENT;
		error = bk_usage_one(call, vol, purge);
		bk_volume_put(vol);
		return error;
	}
	/* Every volume; bk_volume_next releases the one before. */
	for (vol = bk_volume_next(NULL); vol; vol = bk_volume_next(vol)) {
		error = bk_usage_one(call, vol, purge);
		if (error) {
			bk_volume_put(vol);
			return error;
		}
	}
	return 0;
}

/* ---- The port's callbacks -------------------------------------------------------- */

static NTSTATUS FLTAPI bk_connect(PFLT_PORT ClientPort, PVOID ServerPortCookie,
				  PVOID ConnectionContext, ULONG SizeOfContext,
				  PVOID *ConnectionPortCookie)
{
	struct bk_conn *c;
	NTSTATUS status;

	UNREFERENCED_PARAMETER(ServerPortCookie);
	UNREFERENCED_PARAMETER(ConnectionContext);
	UNREFERENCED_PARAMETER(SizeOfContext);
	c = ExAllocatePoolZero(NonPagedPool, sizeof(*c), BK_TAG);
	if (!c)
		return STATUS_INSUFFICIENT_RESOURCES;
	status = FltGetClientPortLxCredentials(ClientPort, &c->cred);
	if (!NT_SUCCESS(status)) {
		ExFreePoolWithTag(c, BK_TAG);
		return status;
	}
	c->client = ClientPort;
	pthread_mutex_lock(&bk_ports.lock);
	if (bk_ports.stopping) {
		pthread_mutex_unlock(&bk_ports.lock);
		ExFreePoolWithTag(c, BK_TAG);
		return STATUS_FLT_DELETING_OBJECT;
	}
	c->next = bk_ports.conns;
	bk_ports.conns = c;
	pthread_mutex_unlock(&bk_ports.lock);
	*ConnectionPortCookie = c;
	return STATUS_SUCCESS;
}

static VOID FLTAPI bk_disconnect(PVOID ConnectionCookie)
{
	struct bk_conn *c = ConnectionCookie, **pp;

	if (!c)
		return;
	pthread_mutex_lock(&bk_ports.lock);
	for (pp = &bk_ports.conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	pthread_mutex_unlock(&bk_ports.lock);
	/* Does nothing if bk_port_stop closed it already. */
	FltCloseClientPort(bk.filter, &c->client);
	ExFreePoolWithTag(c, BK_TAG);
}

static NTSTATUS bk_dispatch(const struct bk_conn *conn, PVOID InputBuffer,
			    ULONG InputBufferLength, PVOID OutputBuffer,
			    ULONG OutputBufferLength,
			    PULONG ReturnOutputBufferLength)
{
	struct bk_request *req = malloc(sizeof(*req));
	struct bk_call call = { .conn = conn, .req = req };
	uint64_t total = 0;
	NTSTATUS status = STATUS_SUCCESS;
	int32_t error = 0;

	if (!req)
		return STATUS_INSUFFICIENT_RESOURCES;
	if (!bk_request_valid(InputBuffer, InputBufferLength, req)) {
		status = STATUS_INVALID_PARAMETER;
		goto out;
	}
	if (!OutputBuffer || OutputBufferLength < sizeof(struct bk_reply)) {
		status = STATUS_BUFFER_TOO_SMALL;
		goto out;
	}
	bk_page_init(&call.page, OutputBuffer, OutputBufferLength);
	switch (req->op) {
	case BK_OP_LIST:
		error = bk_op_list(&call);
		break;
	case BK_OP_DELETED:
		error = bk_op_deleted(&call);
		break;
	case BK_OP_INFO:
		error = bk_op_info(&call);
		break;
	case BK_OP_READ:
		error = bk_op_read(&call, &total);
		break;
	case BK_OP_USAGE:
		error = bk_op_usage(&call, false);
		break;
	case BK_OP_PURGE:
		error = bk_op_usage(&call, true);
		break;
	}
	/* An entry list with more to come but no entry at all: the buffer
	 * cannot hold even one, and a cursor could not move on. */
	if (!error && call.page.more && call.page.count == 0) {
		status = STATUS_BUFFER_TOO_SMALL;
		goto out;
	}
	if (!error && call.page.more &&
	    (req->op == BK_OP_USAGE || req->op == BK_OP_PURGE))
		status = STATUS_BUFFER_OVERFLOW;
	*ReturnOutputBufferLength = (ULONG)bk_page_finish(&call.page, error,
							  total);
out:
	free(req);
	return status;
}

static NTSTATUS FLTAPI bk_message(PVOID PortCookie, PVOID InputBuffer,
				  ULONG InputBufferLength, PVOID OutputBuffer,
				  ULONG OutputBufferLength,
				  PULONG ReturnOutputBufferLength)
{
	NTSTATUS status;

	*ReturnOutputBufferLength = 0;
	if (!PortCookie)
		return STATUS_INVALID_PARAMETER;
	pthread_mutex_lock(&bk_ports.lock);
	if (bk_ports.stopping) {
		pthread_mutex_unlock(&bk_ports.lock);
		return STATUS_PORT_DISCONNECTED;
	}
	bk_ports.busy++;
	pthread_mutex_unlock(&bk_ports.lock);

	status = bk_dispatch(PortCookie, InputBuffer, InputBufferLength,
			     OutputBuffer, OutputBufferLength,
			     ReturnOutputBufferLength);

	pthread_mutex_lock(&bk_ports.lock);
	if (--bk_ports.busy == 0)
		pthread_cond_broadcast(&bk_ports.idle);
	pthread_mutex_unlock(&bk_ports.lock);
	return status;
}

/* ---- Start and stop -------------------------------------------------------------- */

NTSTATUS bk_port_start(void)
{
	UNICODE_STRING name = RTL_CONSTANT_STRING(BK_PORT_NAME);
	PSECURITY_DESCRIPTOR sd;
	OBJECT_ATTRIBUTES oa;
	NTSTATUS status;

	pthread_mutex_lock(&bk_ports.lock);
	bk_ports.stopping = false;
	pthread_mutex_unlock(&bk_ports.lock);

	/* Everyone may connect; each request is judged by who sent it. */
	status = FltBuildDefaultSecurityDescriptor(&sd, FLT_PORT_ALL_ACCESS);
	if (!NT_SUCCESS(status))
		return status;
	status = FltSetSecurityDescriptorLxAccess(sd, FLT_LX_EVERYONE,
						  FLT_LX_NO_ID,
						  FLT_PORT_CONNECT);
	if (NT_SUCCESS(status)) {
		InitializeObjectAttributes(&oa, &name,
					   OBJ_KERNEL_HANDLE |
						   OBJ_CASE_INSENSITIVE,
					   NULL, sd);
		status = FltCreateCommunicationPort(bk.filter, &bk.server_port,
						    &oa, NULL, bk_connect,
						    bk_disconnect, bk_message,
						    BK_MAX_CONNECTIONS);
	}
	FltFreeSecurityDescriptor(sd);
	if (!NT_SUCCESS(status)) {
		DbgPrint("backup: cannot create the \\AltitudeBackup port: 0x%08x\n",
			 (unsigned)status);
		bk.server_port = NULL;
	}
	return status;
}

void bk_port_stop(void)
{
	struct bk_conn *c;

	if (bk.server_port) {
		FltCloseCommunicationPort(bk.server_port);
		bk.server_port = NULL;
	}
	/* Programs still connected are cut off (their calls fail with
	 * 0x80070006); their DisconnectNotify frees the cookies later.  The
	 * requests already running finish first. */
	pthread_mutex_lock(&bk_ports.lock);
	bk_ports.stopping = true;
	for (c = bk_ports.conns; c; c = c->next)
		FltCloseClientPort(bk.filter, &c->client);
	while (bk_ports.busy)
		pthread_cond_wait(&bk_ports.idle, &bk_ports.lock);
	pthread_mutex_unlock(&bk_ports.lock);
}
