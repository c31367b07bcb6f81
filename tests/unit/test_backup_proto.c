/*
 * test_backup_proto.c - the backup filter's \AltitudeBackup port
 * (filters/backup/port.c, access.c) and altbackup's side of it
 * (filters/backup/cli/client.c).
 *
 * The pure rules first: request checks, paths, the access rule, reply
 * pages.  Then the port itself, created by bk_port_start() in the ports
 * harness (the daemon side of ports in this process, libfltlib over the
 * real sockets), in front of a fake store and fake volumes defined here:
 * malformed requests, cursors across pages, LIST/DELETED/INFO/READ/USAGE/
 * PURGE, the exists flag, volume references given back, other users
 * (forked children with their own uid and groups), and bk_port_stop()
 * with programs connected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "ports_harness.h"

#include "backup.h"
#include "access.h"
#include "cli/altbackup.h"

/* ==== Fakes: the filter's globals, volumes and store ================================= */

struct bk_globals bk;

#define NV 256
static struct bk_version fv[NV];
static int nfv;
static int64_t next_id;
static unsigned char *content[NV];
static const char *existing[16];
static int enforce_calls;

static struct bk_store { int unused; } store_a, store_b;
static struct bk_volume vol_a = { .root = "/srv/data", .name = "\\Device\\data",
				  .store = &store_a };
static struct bk_volume vol_b = { .root = "/srv/other", .name = "\\Device\\other",
				  .store = &store_b };
static pthread_mutex_t refs_lock = PTHREAD_MUTEX_INITIALIZER;

struct bk_volume *bk_volume_find(const char *abs, const char **rel)
{
	struct bk_volume *vols[] = { &vol_a, &vol_b };
	unsigned i;

	for (i = 0; i < 2; i++) {
		size_t n = strlen(vols[i]->root);

		if (strncmp(abs, vols[i]->root, n) ||
		    (abs[n] != '/' && abs[n] != 0))
			continue;
		pthread_mutex_lock(&refs_lock);
		vols[i]->refs++;
		pthread_mutex_unlock(&refs_lock);
		*rel = abs[n] ? abs + n : "/";
		return vols[i];
	}
	return NULL;
}

struct bk_volume *bk_volume_next(struct bk_volume *prev)
{
	struct bk_volume *v = !prev ? &vol_a : prev == &vol_a ? &vol_b : NULL;

	if (prev)
		bk_volume_put(prev);
	if (v) {
		pthread_mutex_lock(&refs_lock);
		v->refs++;
		pthread_mutex_unlock(&refs_lock);
	}
	return v;
}

void bk_volume_put(struct bk_volume *v)
{
	pthread_mutex_lock(&refs_lock);
	assert_true(v->refs > 0);
	v->refs--;
	pthread_mutex_unlock(&refs_lock);
}

bool bk_path_exists(struct bk_volume *v, const char *rel)
{
	unsigned i;

	if (v != &vol_a)
		return false;
	for (i = 0; i < sizeof(existing) / sizeof(existing[0]); i++)
		if (existing[i] && !strcmp(existing[i], rel))
			return true;
	return false;
}

const char *bk_store_dir(const struct bk_store *s)
{
	return s == &store_a ? "/var/lib/test/data" : "/var/lib/test/other";
}

/* Versions live in store_a only. */
static bool in_store(struct bk_store *s)
{
	return s == &store_a;
}

int bk_store_list(struct bk_store *s, const char *path, int64_t after,
		  unsigned max, bk_version_fn fn, void *arg)
{
	unsigned calls = 0;
	int i, r;

	for (i = 0; in_store(s) && i < nfv; i++) {
		if (strcmp(fv[i].path, path) || fv[i].id <= after)
			continue;
		if (max && calls == max)
			break;
		calls++;
		r = fn(&fv[i], arg);
		if (r)
			return r;
	}
	return 0;
}

static bool under(const char *dir, const char *path)
{
	size_t n = strlen(dir);

	if (!strcmp(dir, "/"))
		return strcmp(path, "/") != 0;
	return !strncmp(path, dir, n) && path[n] == '/';
}

static int newest_of(const char *path)
{
	int i, best = -1;

	for (i = 0; i < nfv; i++)
		if (!strcmp(fv[i].path, path) && (best < 0 || fv[i].id > fv[best].id))
			best = i;
	return best;
}

int bk_store_list_deleted(struct bk_store *s, const char *dir, int64_t after,
			  unsigned max, bk_version_fn fn, void *arg)
{
	unsigned calls = 0;
	int i, r;

	/* fv is in id order: the newest version of each path, in order. */
	for (i = 0; in_store(s) && i < nfv; i++) {
		if (newest_of(fv[i].path) != i || fv[i].id <= after ||
		    fv[i].reason != BK_REASON_DELETE || !under(dir, fv[i].path))
			continue;
		if (max && calls == max)
			break;
		calls++;
		r = fn(&fv[i], arg);
		if (r)
			return r;
	}
	return 0;
}

static int find_id(int64_t id)
{
	int i;

	for (i = 0; i < nfv; i++)
		if (fv[i].id == id)
			return i;
	return -1;
}

int bk_store_get(struct bk_store *s, int64_t id, struct bk_version *v)
{
	int i = in_store(s) ? find_id(id) : -1;

	if (i < 0)
		return -ENOENT;
	*v = fv[i];
	return 0;
}

int bk_store_open_version(struct bk_store *s, int64_t id, int *fd,
			  struct bk_version *v)
{
	int i = in_store(s) ? find_id(id) : -1;
	int f;

	if (i < 0)
		return -ENOENT;
	f = memfd_create("version", MFD_CLOEXEC);
	if (f < 0)
		return -errno;
	if (fv[i].size &&
	    pwrite(f, content[i], fv[i].size, 0) != (ssize_t)fv[i].size) {
		close(f);
		return -EIO;
	}
	*fd = f;
	if (v)
		*v = fv[i];
	return 0;
}

int bk_store_enforce(struct bk_store *s, const struct bk_policy *p,
		     int64_t now_ns, uint64_t reserve, uint64_t *evicted,
		     uint64_t *freed)
{
	(void)p;
	(void)reserve;
	assert_true(now_ns > 0);
	enforce_calls++;
	*evicted = in_store(s) ? 2 : 0;
	*freed = in_store(s) ? 300 : 0;
	return 0;
}

int bk_store_usage(struct bk_store *s, struct bk_usage *u)
{
	memset(u, 0, sizeof(*u));
	if (in_store(s)) {
		u->versions = (uint64_t)nfv;
		u->bytes = 1234;
		u->disk_bytes = 4096;
		u->paths = 3;
		u->oldest_ns = 1000000000;
		u->newest_ns = 2000000000;
	}
	return 0;
}

/* A version of rel (volume /srv/data) with size bytes of pattern content. */
static int64_t add_version(const char *rel, uint32_t reason, uint64_t size,
			   uint32_t owner, uint32_t group, uint32_t mode)
{
	struct bk_version *v = &fv[nfv];
	int i;

	assert_true(nfv < NV);
	memset(v, 0, sizeof(*v));
	v->id = ++next_id;
	snprintf(v->path, sizeof(v->path), "%s", rel);
	for (i = 0; i < nfv; i++)
		if (!strcmp(fv[i].path, rel) && fv[i].version >= v->version)
			v->version = fv[i].version;
	v->version++;
	v->time_ns = 1700000000123456789LL + v->id;
	v->size = size;
	v->reason = reason;
	v->method = BK_METHOD_COPY;
	v->pid = 4242;
	snprintf(v->comm, sizeof(v->comm), "vim");
	v->uid = owner;
	v->owner_uid = owner;
	v->owner_gid = group;
	v->mode = S_IFREG | mode;
	v->file_id = 77;
	content[nfv] = malloc(size ? size : 1);
	for (uint64_t k = 0; k < size; k++)
		content[nfv][k] = (unsigned char)(k * 31 + (uint64_t)v->id);
	nfv++;
	return v->id;
}

/* ==== Setup ========================================================================== */

static int setup(void **state)
{
	if (ph_setup(state))
		return -1;
	memset(&bk, 0, sizeof(bk));
	pthread_mutex_init(&bk.lock, NULL);
	bk.filter = (PFLT_FILTER)ph.filter;
	bk.policy.max_store_bytes = 1 << 20;
	nfv = 0;
	next_id = 100;
	enforce_calls = 0;
	memset(existing, 0, sizeof(existing));
	return bk_port_start() == STATUS_SUCCESS ? 0 : -1;
}

static int teardown(void **state)
{
	int i;

	ab_disconnect();
	bk_port_stop();
	/* Every request gave its volume back. */
	assert_int_equal(vol_a.refs, 0);
	assert_int_equal(vol_b.refs, 0);
	for (i = 0; i < nfv; i++)
		free(content[i]);
	return ph_teardown(state);
}

/* ==== Pure rules ===================================================================== */

static void test_path_valid(void **state)
{
	static const char *good[] = { "/", "/a", "/srv/data/f.txt", "/a/.b",
				      "/a/..b", "/a/b.", "/...", "/a b/c" };
	static const char *bad[] = { "a", "./a", "/a/../b", "/a/./b", "/a/..",
				     "/a/.", "/..", "/.", "//", "/a//b",
				     "/a/", "//a" };
	char unterminated[8];
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(bk_path_valid(good[i], strlen(good[i]) + 1, false));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(bk_path_valid(bad[i], strlen(bad[i]) + 1, true));
	assert_false(bk_path_valid("", 1, false));
	assert_true(bk_path_valid("", 1, true));
	memset(unterminated, 'a', sizeof(unterminated));
	unterminated[0] = '/';
	assert_false(bk_path_valid(unterminated, sizeof(unterminated), true));
}

static struct bk_request good_request(uint32_t op, const char *path)
{
	struct bk_request r;

	memset(&r, 0, sizeof(r));
	r.magic = BK_PROTO_MAGIC;
	r.version = BK_PROTO_VERSION;
	r.op = op;
	snprintf(r.path, sizeof(r.path), "%s", path);
	return r;
}

static void test_request_valid(void **state)
{
	struct bk_request r, out;
	uint32_t op;

	(void)state;
	for (op = BK_OP_LIST; op <= BK_OP_PURGE; op++) {
		r = good_request(op, "/srv/data/f");
		assert_true(bk_request_valid(&r, sizeof(r), &out));
		assert_memory_equal(&r, &out, sizeof(r));
		r = good_request(op, "");
		assert_int_equal(bk_request_valid(&r, sizeof(r), &out),
				 op == BK_OP_USAGE || op == BK_OP_PURGE);
	}
	r = good_request(BK_OP_LIST, "/srv/data/f");
	assert_false(bk_request_valid(NULL, sizeof(r), &out));
	assert_false(bk_request_valid(&r, sizeof(r) - 1, &out));
	assert_false(bk_request_valid(&r, 0, &out));
	r.magic++;
	assert_false(bk_request_valid(&r, sizeof(r), &out));
	r = good_request(BK_OP_LIST, "/srv/data/f");
	r.version = BK_PROTO_VERSION + 1;
	assert_false(bk_request_valid(&r, sizeof(r), &out));
	r.version = 1; /* entries without a hash: a program of before */
	assert_false(bk_request_valid(&r, sizeof(r), &out));
	r = good_request(0, "/srv/data/f");
	assert_false(bk_request_valid(&r, sizeof(r), &out));
	r = good_request(BK_OP_PURGE + 1, "/srv/data/f");
	assert_false(bk_request_valid(&r, sizeof(r), &out));
	r = good_request(BK_OP_LIST, "/srv/data/f");
	r.flags = 1;
	assert_false(bk_request_valid(&r, sizeof(r), &out));
	r = good_request(BK_OP_LIST, "/srv/data/f");
	r.cursor = -1;
	assert_false(bk_request_valid(&r, sizeof(r), &out));
	r = good_request(BK_OP_LIST, "/srv/data/../etc/shadow");
	assert_false(bk_request_valid(&r, sizeof(r), &out));
	r = good_request(BK_OP_LIST, "srv/data");
	assert_false(bk_request_valid(&r, sizeof(r), &out));
	r = good_request(BK_OP_LIST, "/srv/data/f");
	memset(r.path, 'x', sizeof(r.path));
	r.path[0] = '/';
	assert_false(bk_request_valid(&r, sizeof(r), &out));
}

static FLT_PORT_LX_CREDENTIALS cred(ULONG uid, ULONG gid, ULONG sup)
{
	FLT_PORT_LX_CREDENTIALS c = { .ProcessId = 1, .Uid = uid, .Gid = gid };

	if (sup) {
		c.Groups[0] = 999;
		c.Groups[1] = sup;
		c.GroupCount = 2;
	}
	return c;
}

static struct bk_version owned(uint32_t uid, uint32_t gid, uint32_t mode)
{
	struct bk_version v;

	memset(&v, 0, sizeof(v));
	v.owner_uid = uid;
	v.owner_gid = gid;
	v.mode = S_IFREG | mode;
	return v;
}

static void test_may_read(void **state)
{
	FLT_PORT_LX_CREDENTIALS root = cred(0, 0, 0), owner = cred(1000, 1000, 0),
				member = cred(2000, 500, 0),
				supp = cred(2000, 2000, 500),
				other = cred(3000, 3000, 0);
	struct bk_version v;

	(void)state;
	v = owned(1000, 500, 0000);
	assert_true(bk_may_read(&root, &v));
	assert_false(bk_may_read(&owner, &v));
	assert_false(bk_may_read(&member, &v));
	assert_false(bk_may_read(&other, &v));
	assert_false(bk_may_purge(&owner));
	assert_true(bk_may_purge(&root));

	v = owned(1000, 500, 0600);
	assert_true(bk_may_read(&owner, &v));
	assert_false(bk_may_read(&member, &v));
	assert_false(bk_may_read(&supp, &v));
	assert_false(bk_may_read(&other, &v));

	v = owned(1000, 500, 0640);
	assert_true(bk_may_read(&member, &v));
	assert_true(bk_may_read(&supp, &v));
	assert_false(bk_may_read(&other, &v));

	v = owned(1000, 500, 0644);
	assert_true(bk_may_read(&other, &v));

	/* The class decides, as the kernel's permission check does. */
	v = owned(1000, 500, 0044);
	assert_false(bk_may_read(&owner, &v));
	assert_true(bk_may_read(&member, &v));
	v = owned(1000, 500, 0604);
	assert_false(bk_may_read(&member, &v));
	assert_false(bk_may_read(&supp, &v));
	assert_true(bk_may_read(&other, &v));

	/* A group count beyond the array is not believed. */
	supp.GroupCount = 1000;
	v = owned(1000, 500, 0640);
	assert_true(bk_may_read(&supp, &v));
	v = owned(1000, 12345, 0640);
	assert_false(bk_may_read(&supp, &v));
}

static void test_join_and_entry(void **state)
{
	char out[32];
	struct bk_version v;
	struct bk_entry e;

	(void)state;
	assert_true(bk_path_join(out, sizeof(out), "/srv/data", "/a/b"));
	assert_string_equal(out, "/srv/data/a/b");
	assert_true(bk_path_join(out, sizeof(out), "/srv/data", "/"));
	assert_string_equal(out, "/srv/data");
	assert_true(bk_path_join(out, sizeof(out), "/", "/a"));
	assert_string_equal(out, "/a");
	assert_true(bk_path_join(out, sizeof(out), "/", "/"));
	assert_string_equal(out, "/");
	assert_false(bk_path_join(out, 10, "/srv/data", "/a"));
	assert_true(bk_path_join(out, 14, "/srv/data", "/abc"));
	assert_false(bk_path_join(out, 13, "/srv/data", "/abc"));

	v = owned(7, 8, 0640);
	v.id = 5;
	v.version = 2;
	v.size = 99;
	v.reason = BK_REASON_REPLACE;
	snprintf(v.path, sizeof(v.path), "/x/y");
	memset(v.comm, 'c', sizeof(v.comm)); /* not terminated */
	assert_true(bk_entry_fill(&e, &v, "/srv/data", true));
	assert_string_equal(e.path, "/srv/data/x/y");
	assert_int_equal(e.id, 5);
	assert_int_equal(e.version, 2);
	assert_int_equal(e.size, 99);
	assert_int_equal(e.reason, BK_REASON_REPLACE);
	assert_int_equal(e.mode, S_IFREG | 0640);
	assert_int_equal(e.exists, 1);
	assert_int_equal(strlen(e.comm), sizeof(e.comm) - 1);
	/* Unhashed: no flag, no bytes; hashed: the flag and the hash. */
	assert_int_equal(e.flags, 0);
	for (size_t i = 0; i < sizeof(e.sha256); i++)
		assert_int_equal(e.sha256[i], 0);
	v.hashed = true;
	for (size_t i = 0; i < sizeof(v.hash); i++)
		v.hash[i] = (uint8_t)(0xa0 + i);
	assert_true(bk_entry_fill(&e, &v, "/srv/data", true));
	assert_int_equal(e.flags, BK_ENTRY_HASHED);
	assert_memory_equal(e.sha256, v.hash, sizeof(e.sha256));
	memset(v.path, 'p', sizeof(v.path) - 1);
	v.path[0] = '/';
	v.path[sizeof(v.path) - 1] = '\0';
	assert_false(bk_entry_fill(&e, &v, "/srv/data", true));
}

static void test_page(void **state)
{
	unsigned char buf[sizeof(struct bk_reply) + 3 * 8 + 4];
	struct bk_page pg;
	struct bk_reply r;
	uint64_t item = 0x1122334455667788ull;

	(void)state;
	bk_page_init(&pg, buf, sizeof(buf));
	assert_true(bk_page_add(&pg, &item, 8, 10));
	assert_true(bk_page_add(&pg, &item, 8, 11));
	assert_true(bk_page_add(&pg, &item, 8, 12));
	assert_false(bk_page_add(&pg, &item, 8, 13));
	assert_false(bk_page_add(&pg, &item, 1, 14)); /* stays full */
	assert_int_equal(bk_page_finish(&pg, 0, 0), sizeof(r) + 24);
	memcpy(&r, buf, sizeof(r));
	assert_int_equal(r.count, 3);
	assert_int_equal(r.cursor, 12);
	assert_int_equal(r.error, 0);

	bk_page_init(&pg, buf, sizeof(buf));
	assert_true(bk_page_add(&pg, &item, 8, 10));
	assert_int_equal(bk_page_finish(&pg, 0, 0), sizeof(r) + 8);
	memcpy(&r, buf, sizeof(r));
	assert_int_equal(r.count, 1);
	assert_int_equal(r.cursor, 0); /* all there was */

	bk_page_init(&pg, buf, sizeof(buf));
	assert_true(bk_page_add(&pg, &item, 8, 10));
	assert_int_equal(bk_page_finish(&pg, EACCES, 0), sizeof(r));
	memcpy(&r, buf, sizeof(r));
	assert_int_equal(r.error, EACCES);
	assert_int_equal(r.count, 0);
	assert_int_equal(r.cursor, 0);
}

static void test_store_errno(void **state)
{
	(void)state;
	assert_int_equal(bk_store_errno(0), 0);
	assert_int_equal(bk_store_errno(-ENOENT), ENOENT);
	assert_int_equal(bk_store_errno(-EIO), EIO);
	assert_int_equal(bk_store_errno(-ENOSPC), EIO);
}

/* ==== The port ======================================================================= */

static HRESULT raw_send(HANDLE h, const void *in, DWORD in_len, void *out,
			DWORD out_len, DWORD *got)
{
	*got = 12345;
	return FilterSendMessage(h, (LPVOID)in, in_len, out, out_len, got);
}

static void test_port_malformed(void **state)
{
	struct bk_request r = good_request(BK_OP_USAGE, "");
	unsigned char out[BK_PROTO_MAX_REPLY];
	struct bk_reply rep;
	HANDLE h;
	DWORD got;

	(void)state;
	assert_int_equal(FilterConnectCommunicationPort(BK_PORT_NAME, 0, NULL,
							0, NULL, &h),
			 S_OK);
	assert_int_equal(raw_send(h, &r, sizeof(r), out, sizeof(out), &got),
			 S_OK);
	assert_true(got >= sizeof(rep));

	assert_int_equal(raw_send(h, &r, sizeof(r) - 1, out, sizeof(out), &got),
			 E_INVALIDARG);
	assert_int_equal(got, 0);
	assert_int_equal(raw_send(h, NULL, 0, out, sizeof(out), &got),
			 E_INVALIDARG);
	r.magic = 0;
	assert_int_equal(raw_send(h, &r, sizeof(r), out, sizeof(out), &got),
			 E_INVALIDARG);
	r = good_request(BK_OP_LIST, "/srv/data/../x");
	assert_int_equal(raw_send(h, &r, sizeof(r), out, sizeof(out), &got),
			 E_INVALIDARG);
	r = good_request(BK_OP_LIST, "");
	assert_int_equal(raw_send(h, &r, sizeof(r), out, sizeof(out), &got),
			 E_INVALIDARG);
	r = good_request(9, "/srv/data/x");
	assert_int_equal(raw_send(h, &r, sizeof(r), out, sizeof(out), &got),
			 E_INVALIDARG);

	/* Too small for a reply header: no data. */
	r = good_request(BK_OP_USAGE, "");
	assert_true(FAILED(raw_send(h, &r, sizeof(r), out, sizeof(rep) - 1,
				    &got)));
	assert_int_equal(got, 0);
	assert_true(FAILED(raw_send(h, &r, sizeof(r), NULL, 0, &got)));
	/* Room for the header but not for one entry while there is one. */
	add_version("/f", BK_REASON_WRITE, 3, 0, 0, 0644);
	r = good_request(BK_OP_LIST, "/srv/data/f");
	assert_true(FAILED(raw_send(h, &r, sizeof(r), out, sizeof(rep) + 100,
				    &got)));
	r = good_request(BK_OP_INFO, "/srv/data/f");
	r.id = fv[0].id;
	assert_true(FAILED(raw_send(h, &r, sizeof(r), out, sizeof(rep) + 100,
				    &got)));
	assert_int_equal(raw_send(h, &r, sizeof(r), out,
				  sizeof(rep) + sizeof(struct bk_entry), &got),
			 S_OK);
	assert_int_equal(got, sizeof(rep) + sizeof(struct bk_entry));
	/* An empty list fits in the header alone. */
	r = good_request(BK_OP_LIST, "/srv/data/none");
	assert_int_equal(raw_send(h, &r, sizeof(r), out, sizeof(rep), &got),
			 S_OK);
	assert_int_equal(got, sizeof(rep));
	memcpy(&rep, out, sizeof(rep));
	assert_int_equal(rep.error, 0);
	assert_int_equal(rep.count, 0);

	/* The connection survived all of it. */
	r = good_request(BK_OP_USAGE, "");
	assert_int_equal(raw_send(h, &r, sizeof(r), out, sizeof(out), &got),
			 S_OK);
	CloseHandle(h);
}

/* A request through altbackup's client; the reply header. */
static struct bk_reply call(uint32_t op, const char *path, int64_t id,
			    int64_t cursor, uint64_t offset, unsigned char *out)
{
	struct bk_reply r;
	const unsigned char *data;

	memset(&r, 0, sizeof(r));
	assert_int_equal(ab_connect(), 0);
	if (ab_call("test", op, path, id, cursor, offset, out, &r, &data) < 0)
		assert_int_not_equal(r.error, 0);
	return r;
}

static void test_port_list_pages(void **state)
{
	unsigned char *out = malloc(BK_PROTO_MAX_REPLY);
	struct ab_entries l = { 0 };
	struct bk_reply r;
	int64_t first = 0;
	size_t i;

	(void)state;
	/* More versions than one 64 KiB reply holds, with another file's
	 * versions in between. */
	for (i = 0; i < 40; i++) {
		int64_t id = add_version("/dir/f.txt", BK_REASON_WRITE, i, 0, 0,
					 0644);

		if (!first)
			first = id;
		add_version("/dir/g.txt", BK_REASON_WRITE, 1, 0, 0, 0644);
	}
	existing[0] = "/dir/f.txt";

	r = call(BK_OP_LIST, "/srv/data/dir/f.txt", 0, 0, 0, out);
	assert_int_equal(r.error, 0);
	assert_true(r.count > 0 && r.count < 40);
	assert_true(r.cursor > 0);

	assert_int_equal(ab_fetch("t", BK_OP_LIST, "/srv/data/dir/f.txt", &l),
			 0);
	assert_int_equal(l.n, 40);
	for (i = 0; i < l.n; i++) {
		assert_int_equal(l.v[i].id, first + 2 * (int64_t)i);
		assert_int_equal(l.v[i].version, (int64_t)i + 1);
		assert_int_equal(l.v[i].size, i);
		assert_string_equal(l.v[i].path, "/srv/data/dir/f.txt");
		assert_string_equal(l.v[i].comm, "vim");
		assert_int_equal(l.v[i].exists, 1);
	}
	ab_entries_free(&l);

	/* From a cursor on. */
	r = call(BK_OP_LIST, "/srv/data/dir/f.txt", 0, first + 2 * 37, 0, out);
	assert_int_equal(r.count, 2);
	assert_int_equal(r.cursor, 0);

	/* g.txt does not exist now. */
	assert_int_equal(ab_fetch("t", BK_OP_LIST, "/srv/data/dir/g.txt", &l),
			 0);
	assert_int_equal(l.n, 40);
	assert_int_equal(l.v[0].exists, 0);
	ab_entries_free(&l);

	/* No volume there; a volume without versions. */
	r = call(BK_OP_LIST, "/elsewhere/f", 0, 0, 0, out);
	assert_int_equal(r.error, ENOENT);
	r = call(BK_OP_LIST, "/srv/dataX/f", 0, 0, 0, out);
	assert_int_equal(r.error, ENOENT);
	r = call(BK_OP_LIST, "/srv/other/dir/f.txt", 0, 0, 0, out);
	assert_int_equal(r.error, 0);
	assert_int_equal(r.count, 0);
	free(out);
}

static void test_port_info_read(void **state)
{
	unsigned char *out = malloc(BK_PROTO_MAX_REPLY), *got;
	const unsigned char *data;
	const uint64_t size = 200000;
	struct bk_entry e;
	struct bk_reply r;
	uint64_t off = 0;
	int64_t id, empty;

	(void)state;
	id = add_version("/big.bin", BK_REASON_TRUNCATE, size, 0, 0, 0600);
	empty = add_version("/empty", BK_REASON_DELETE, 0, 0, 0, 0600);
	got = malloc(size);

	assert_int_equal(ab_connect(), 0);
	assert_int_equal(ab_info("t", "/srv/data/big.bin", id, &e), 0);
	assert_int_equal(e.id, id);
	assert_int_equal(e.size, size);
	assert_int_equal(e.reason, BK_REASON_TRUNCATE);
	assert_int_equal(e.exists, 0);
	assert_string_equal(e.path, "/srv/data/big.bin");
	/* Any path on the volume names it; ids are per volume. */
	assert_int_equal(ab_info("t", "/srv/data", id, &e), 0);
	assert_int_not_equal(ab_info("t", "/srv/other/big.bin", id, &e), 0);
	r = call(BK_OP_INFO, "/srv/data/big.bin", 999999, 0, 0, out);
	assert_int_equal(r.error, ENOENT);

	while (off < size) {
		assert_int_equal(ab_call("t", BK_OP_READ, "/srv/data/big.bin",
					 id, 0, off, out, &r, &data),
				 0);
		assert_int_equal(r.total, size);
		assert_true(r.count > 0);
		assert_true(r.count <= BK_PROTO_MAX_REPLY - sizeof(r));
		memcpy(got + off, data, r.count);
		off += r.count;
	}
	assert_int_equal(off, size);
	assert_memory_equal(got, content[0], size);

	/* At and past the end: nothing, and the size. */
	r = call(BK_OP_READ, "/srv/data/big.bin", id, 0, size, out);
	assert_int_equal(r.error, 0);
	assert_int_equal(r.count, 0);
	assert_int_equal(r.total, size);
	r = call(BK_OP_READ, "/srv/data/big.bin", id, 0, UINT64_MAX, out);
	assert_int_equal(r.count, 0);
	r = call(BK_OP_READ, "/srv/data/empty", empty, 0, 0, out);
	assert_int_equal(r.error, 0);
	assert_int_equal(r.count, 0);
	assert_int_equal(r.total, 0);
	r = call(BK_OP_READ, "/srv/data/big.bin", -5, 0, 0, out);
	assert_int_equal(r.error, ENOENT);
	free(got);
	free(out);
}

static void test_port_deleted(void **state)
{
	struct ab_entries l = { 0 };
	char path[64];
	int i;

	(void)state;
	/* 40 deleted files (more than a catalog batch and a reply page), one
	 * that exists again, one deleted then written again, one outside. */
	for (i = 0; i < 40; i++) {
		snprintf(path, sizeof(path), "/d/sub/f%02d", i);
		add_version(path, BK_REASON_WRITE, 1, 0, 0, 0644);
		add_version(path, BK_REASON_DELETE, 2, 0, 0, 0644);
	}
	existing[0] = "/d/sub/f07";
	add_version("/d/back", BK_REASON_DELETE, 1, 0, 0, 0644);
	add_version("/d/back", BK_REASON_WRITE, 1, 0, 0, 0644);
	add_version("/dx/out", BK_REASON_DELETE, 1, 0, 0, 0644);

	assert_int_equal(ab_connect(), 0);
	assert_int_equal(ab_fetch("t", BK_OP_DELETED, "/srv/data/d", &l), 0);
	assert_int_equal(l.n, 39);
	for (i = 0; i < (int)l.n; i++) {
		assert_int_equal(l.v[i].reason, BK_REASON_DELETE);
		assert_int_equal(l.v[i].version, 2);
		assert_int_equal(l.v[i].exists, 0);
		assert_string_not_equal(l.v[i].path, "/srv/data/d/sub/f07");
		if (i)
			assert_true(l.v[i].id > l.v[i - 1].id);
	}
	ab_entries_free(&l);
	assert_int_equal(ab_fetch("t", BK_OP_DELETED, "/srv/data", &l), 0);
	assert_int_equal(l.n, 40);
	ab_entries_free(&l);
	assert_int_equal(ab_fetch("t", BK_OP_DELETED, "/srv/data/d/sub/f03",
				  &l),
			 0);
	assert_int_equal(l.n, 0);
	ab_entries_free(&l);
}

static void test_port_usage_purge(void **state)
{
	struct bk_usage_reply *u;
	size_t n;

	(void)state;
	add_version("/a", BK_REASON_WRITE, 1, 0, 0, 0644);
	assert_int_equal(ab_connect(), 0);
	assert_int_equal(ab_usage("t", BK_OP_USAGE, "", &u, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(u[0].volume, "/srv/data");
	assert_string_equal(u[0].store, "/var/lib/test/data");
	assert_int_equal(u[0].versions, 1);
	assert_int_equal(u[0].bytes, 1234);
	assert_int_equal(u[0].max_store_bytes, 1 << 20);
	assert_string_equal(u[1].volume, "/srv/other");
	free(u);
	assert_int_equal(ab_usage("t", BK_OP_USAGE, "/srv/other/x", &u, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(u[0].volume, "/srv/other");
	free(u);
	assert_int_not_equal(ab_usage("t", BK_OP_USAGE, "/nowhere", &u, &n), 0);
	free(u);
	assert_int_equal(enforce_calls, 0);

	/* The tests run as root where they can; PURGE is root's. */
	if (geteuid() == 0) {
		assert_int_equal(ab_usage("t", BK_OP_PURGE, "", &u, &n), 0);
		assert_int_equal(n, 2);
		assert_int_equal(u[0].evicted, 2);
		assert_int_equal(u[0].freed, 300);
		assert_int_equal(enforce_calls, 2);
		free(u);
	} else {
		assert_int_not_equal(ab_usage("t", BK_OP_PURGE, "", &u, &n), 0);
		assert_int_equal(enforce_calls, 0);
		free(u);
	}
}

/*
 * In a child with uid / gid / one supplementary group: how many versions
 * of rel LIST shows, then the errors INFO and READ give for id, and
 * PURGE's, packed as count | info << 8 | read << 16 | purge << 24.
 */
static int child_view(uid_t uid, gid_t gid, gid_t sup, const char *path,
		      int64_t id)
{
	int pfd[2], res = -1;
	pid_t pid;

	if (pipe(pfd) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		unsigned char *out = malloc(BK_PROTO_MAX_REPLY);
		struct ab_entries l = { 0 };
		struct bk_reply r;
		const unsigned char *data;
		int v = 0;

		close(pfd[0]);
		if (setgroups(1, &sup) < 0 || setgid(gid) < 0 ||
		    setuid(uid) < 0 || !out)
			_exit(3);
		/* Another process: its own connection, not the parent's. */
		ab_disconnect();
		if (freopen("/dev/null", "w", stderr) == NULL || ab_connect() < 0 ||
		    ab_fetch("t", BK_OP_LIST, path, &l) < 0)
			_exit(4);
		v = (int)l.n;
		memset(&r, 0, sizeof(r));
		ab_call("t", BK_OP_INFO, path, id, 0, 0, out, &r, &data);
		v |= r.error << 8;
		memset(&r, 0, sizeof(r));
		ab_call("t", BK_OP_READ, path, id, 0, 0, out, &r, &data);
		v |= r.error << 16;
		memset(&r, 0, sizeof(r));
		ab_call("t", BK_OP_PURGE, "", 0, 0, 0, out, &r, &data);
		v |= r.error << 24;
		if (write(pfd[1], &v, sizeof(v)) != sizeof(v))
			_exit(5);
		_exit(0);
	}
	close(pfd[1]);
	if (read(pfd[0], &res, sizeof(res)) != sizeof(res))
		res = -1;
	close(pfd[0]);
	waitpid(pid, NULL, 0);
	return res;
}

static void test_port_other_users(void **state)
{
	const char *p = "/srv/data/shared";
	int64_t secret;

	(void)state;
	if (geteuid() != 0)
		skip();
	secret = add_version("/shared", BK_REASON_WRITE, 5, 4001, 4100, 0600);
	add_version("/shared", BK_REASON_WRITE, 5, 4001, 4100, 0640);
	add_version("/shared", BK_REASON_WRITE, 5, 4001, 4100, 0644);

	/* The owner sees all three. */
	assert_int_equal(child_view(4001, 4001, 4001, p, secret),
			 3 | EPERM << 24);
	/* A member of the group (supplementary, or primary): two. */
	assert_int_equal(child_view(4002, 4002, 4100, p, secret),
			 2 | EACCES << 8 | EACCES << 16 | EPERM << 24);
	assert_int_equal(child_view(4002, 4100, 4002, p, secret),
			 2 | EACCES << 8 | EACCES << 16 | EPERM << 24);
	/* Anyone else: one. */
	assert_int_equal(child_view(4003, 4003, 4003, p, secret),
			 1 | EACCES << 8 | EACCES << 16 | EPERM << 24);
	/* Root: everything, and PURGE. */
	assert_int_equal(child_view(0, 0, 0, p, secret), 3);
}

static void test_port_stop_with_programs(void **state)
{
	unsigned char *out = malloc(BK_PROTO_MAX_REPLY);
	struct bk_reply r;
	const unsigned char *data;
	HANDLE h2;

	(void)state;
	add_version("/a", BK_REASON_WRITE, 1, 0, 0, 0644);
	assert_int_equal(ab_connect(), 0);
	assert_int_equal(FilterConnectCommunicationPort(BK_PORT_NAME, 0, NULL,
							0, NULL, &h2),
			 S_OK);
	assert_int_equal(ab_call("t", BK_OP_USAGE, "", 0, 0, 0, out, &r, &data),
			 0);
	bk_port_stop();
	/* Cut off, and no new connections. */
	assert_int_not_equal(ab_call("t", BK_OP_USAGE, "", 0, 0, 0, out, &r,
				     &data),
			     0);
	ab_disconnect();
	assert_int_not_equal(ab_connect(), 0);
	CloseHandle(h2);
	/* Both DisconnectNotify calls come; ASan checks the cookies went. */
	usleep(50000);
	/* Started again, it serves again. */
	assert_int_equal(bk_port_start(), STATUS_SUCCESS);
	assert_int_equal(ab_connect(), 0);
	assert_int_equal(ab_call("t", BK_OP_USAGE, "", 0, 0, 0, out, &r, &data),
			 0);
	free(out);
}

/* Random requests, well-formed headers with random fields, and random
 * bytes: each gets an answer, the connection stays up, nothing leaks. */
static void test_port_random(void **state)
{
	static const char *paths[] = { "/srv/data", "/srv/data/f", "/srv/other/x",
				       "/x", "", "/srv/data/../f", "/srv/data/",
				       "//", "/srv/data/d/sub" };
	unsigned char *out = malloc(BK_PROTO_MAX_REPLY), in[sizeof(struct bk_request) + 8];
	struct bk_request r;
	struct bk_reply rep;
	unsigned seed = 12345, i, k;
	HANDLE h;
	DWORD got;
	HRESULT hr;

	(void)state;
	add_version("/f", BK_REASON_WRITE, 3000, 0, 0, 0644);
	add_version("/d/sub/g", BK_REASON_DELETE, 10, 0, 0, 0644);
	assert_int_equal(FilterConnectCommunicationPort(BK_PORT_NAME, 0, NULL,
							0, NULL, &h),
			 S_OK);
	for (i = 0; i < 3000; i++) {
		DWORD in_len, out_len = (DWORD)(rand_r(&seed) % (BK_PROTO_MAX_REPLY + 1));

		if (i % 3 == 0) {
			in_len = (DWORD)(rand_r(&seed) % sizeof(in));
			for (k = 0; k < in_len; k++)
				in[k] = (unsigned char)rand_r(&seed);
		} else {
			r = good_request((uint32_t)(rand_r(&seed) % 8),
					 paths[rand_r(&seed) % 9]);
			r.id = rand_r(&seed) % 4 ? (int64_t)(rand_r(&seed) % 4) :
						   (int64_t)rand_r(&seed) * -7;
			r.cursor = (int64_t)(rand_r(&seed) % 4) - 1;
			r.offset = rand_r(&seed) % 2 ? (uint64_t)(rand_r(&seed) % 4000) :
						       UINT64_MAX - (uint64_t)rand_r(&seed);
			if (i % 7 == 0)
				r.flags = 1;
			memcpy(in, &r, sizeof(r));
			in_len = sizeof(r);
		}
		hr = raw_send(h, in_len ? in : NULL, in_len, out_len ? out : NULL,
			      out_len, &got);
		if (SUCCEEDED(hr)) {
			assert_true(got >= sizeof(rep) && got <= out_len);
			memcpy(&rep, out, sizeof(rep));
			if (rep.error)
				assert_int_equal(got, sizeof(rep));
		} else {
			assert_int_equal(got, 0);
		}
	}
	/* Still served. */
	r = good_request(BK_OP_USAGE, "");
	assert_int_equal(raw_send(h, &r, sizeof(r), out, BK_PROTO_MAX_REPLY, &got),
			 S_OK);
	CloseHandle(h);
	free(out);
}

/* ==== altbackup's path resolution ===================================================== */

static void test_resolve(void **state)
{
	char dir[64] = "/tmp/altbackup-resolve.XXXXXX", real[PATH_MAX], p[PATH_MAX + 64],
	     out[4096], cwd[4096];

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_non_null(realpath(dir, real));
	snprintf(p, sizeof(p), "%s/sub", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/link", dir);
	assert_int_equal(symlink("sub", p), 0);

	snprintf(p, sizeof(p), "%s/sub", dir);
	assert_int_equal(ab_resolve(p, out, sizeof(out)), 0);
	snprintf(p, sizeof(p), "%s/sub", real);
	assert_string_equal(out, p);
	/* A deleted file under a symlinked directory. */
	snprintf(p, sizeof(p), "%s/link/gone.txt", dir);
	assert_int_equal(ab_resolve(p, out, sizeof(out)), 0);
	snprintf(p, sizeof(p), "%s/sub/gone.txt", real);
	assert_string_equal(out, p);
	/* Under deleted directories, with trailing slashes. */
	snprintf(p, sizeof(p), "%s/sub/x/y/z//", dir);
	assert_int_equal(ab_resolve(p, out, sizeof(out)), 0);
	snprintf(p, sizeof(p), "%s/sub/x/y/z", real);
	assert_string_equal(out, p);
	/* Relative. */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(dir), 0);
	assert_int_equal(ab_resolve("gone", out, sizeof(out)), 0);
	snprintf(p, sizeof(p), "%s/gone", real);
	assert_string_equal(out, p);
	assert_int_equal(ab_resolve(".", out, sizeof(out)), 0);
	assert_string_equal(out, real);
	/* ".." after a missing name cannot be resolved honestly. */
	assert_int_equal(ab_resolve("missing/..", out, sizeof(out)), -ENOENT);
	assert_int_equal(ab_resolve("", out, sizeof(out)), -ENOENT);
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(ab_resolve("/", out, sizeof(out)), 0);
	assert_string_equal(out, "/");
	assert_int_equal(ab_resolve("/gone-at-root-xyz", out, sizeof(out)), 0);
	assert_string_equal(out, "/gone-at-root-xyz");
	assert_int_equal(ab_resolve("/gone-at-root-xyz", out, 5),
			 -ENAMETOOLONG);

	snprintf(p, sizeof(p), "%s/link", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/sub", dir);
	rmdir(p);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_valid),
		cmocka_unit_test(test_request_valid),
		cmocka_unit_test(test_may_read),
		cmocka_unit_test(test_join_and_entry),
		cmocka_unit_test(test_page),
		cmocka_unit_test(test_store_errno),
		cmocka_unit_test(test_resolve),
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_port_malformed),
		T(test_port_list_pages),
		T(test_port_info_read),
		T(test_port_deleted),
		T(test_port_usage_purge),
		T(test_port_other_users),
		T(test_port_random),
		T(test_port_stop_with_programs),
#undef T
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
