/*
 * staging.c - copies staged in shared memory (Durability=flush and
 * process): the program's change waits for its version's bytes to be in
 * memory that outlives the process, not for the disk.
 *
 * A copy written straight to the disk (O_DIRECT) makes the program wait
 * for the disk's write of every version; one written through the page
 * cache costs fresh pages for every version.  A staged copy goes instead
 * into a reserved extent of one file on tmpfs (/dev/shm), mapped by the
 * store: the same pages serve version after version, and the program
 * waits for a memory copy.  The committer then writes the content into
 * the version's file in objects/ (whole 4 KiB blocks O_DIRECT, from the
 * mapping), before it inserts the rows of its batch, and releases the
 * extent.
 *
 * The staging file is what the journal's replay completes a version from
 * when fltmgrd was killed before the committer wrote it: tmpfs keeps the
 * file when the process dies.  Its layout:
 *
 *   page 0       struct bkst_head: magic, slot count, size, the store
 *                directory's device and inode
 *   from 4 KiB   BKST_SLOTS struct bkst_desc: a published extent is the
 *                object it is for, its offset and length, a CRC-32 of
 *                those, and state BKST_FULL, set last
 *   data_off..   the extents, 4 KiB aligned, reserved in order around a
 *                ring
 *
 * A descriptor is published (BKST_FULL) before the version's journal
 * record is written, and released (BKST_FREE) only once its content is in
 * its file.  So a record whose descriptor is still published names
 * content that only the staging file has in full; the replay writes it
 * into the object's file first (bks_stage_restore).  A published
 * descriptor without a record is a copy whose change never went on, and
 * is ignored.  A power failure loses tmpfs: what the replay then finds is
 * what a sync made durable, as without staging (the store syncs its
 * objects only after the committer wrote them).
 *
 * The file is /dev/shm/altitude-backup.<dev>.<ino> of the store directory,
 * 0600, owned by the store's process; one of another owner, or not a
 * regular file, is neither used nor removed.  A version larger than a
 * quarter of the area, or one that finds no room (the committer is behind),
 * is copied into its file directly, as without staging.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <zlib.h>

#include "store_int.h"

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

#define BKST_MAGIC 0x31545342u /* "BST1" */
#define BKST_FULL 0x4c4c5546u /* "FULL" */
#define BKST_FREE 0u
#define BKST_ALIGN 4096u
#define BKST_DIR "/dev/shm"

struct bkst_head {
	uint32_t magic;
	uint32_t slots;
	uint64_t size;
	uint64_t dev, ino;
	uint64_t data_off;
};

struct bkst_desc {
	_Atomic uint32_t state;
	uint32_t crc; /* of off, len, object */
	uint64_t off, len;
	char object[BK_OBJECT_MAX];
};

/* The layout is read by tests/e2e/helpers/backup_fsck.py too. */
_Static_assert(sizeof(struct bkst_head) == 40, "staging head layout");
_Static_assert(sizeof(struct bkst_desc) == 88, "staging descriptor layout");

#define BKST_DESC_OFF BKST_ALIGN
#define BKST_DATA_OFF                                                       \
	((BKST_DESC_OFF + BKST_SLOTS * sizeof(struct bkst_desc) + BKST_ALIGN - 1) & \
	 ~(uint64_t)(BKST_ALIGN - 1))

static uint64_t round_up(uint64_t n)
{
	return (n + BKST_ALIGN - 1) & ~(uint64_t)(BKST_ALIGN - 1);
}

static uint32_t desc_crc(const struct bkst_desc *d)
{
	uLong c = crc32(0L, Z_NULL, 0);

	c = crc32(c, (const Bytef *)&d->off, sizeof(d->off));
	c = crc32(c, (const Bytef *)&d->len, sizeof(d->len));
	c = crc32(c, (const Bytef *)d->object, sizeof(d->object));
	return (uint32_t)c;
}

static struct bkst_desc *desc_at(unsigned char *map, unsigned i)
{
	return (struct bkst_desc *)(map + BKST_DESC_OFF) + i;
}

/* The staging file's path for the store whose directory is s->dirfd. */
static int stage_path(struct bk_store *s, char *out, size_t cap, struct stat *dir)
{
	if (fstat(s->dirfd, dir) < 0)
		return -errno;
	snprintf(out, cap, "%s/altitude-backup.%llu.%llu", BKST_DIR,
		 (unsigned long long)dir->st_dev, (unsigned long long)dir->st_ino);
	return 0;
}

/* Maps an existing staging file for the replay, if it is this store's
 * and sound.  Nothing there, or not usable: 0 and nothing mapped. */
int bks_stage_recover_open(struct bk_store *s)
{
	struct bks_stage *g = &s->stage;
	const struct bkst_head *h;
	struct stat dir, st;
	unsigned char *map;
	int fd, err;

	g->old_map = NULL;
	err = stage_path(s, g->path, sizeof(g->path), &dir);
	if (err)
		return err;
	fd = open(g->path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    st.st_nlink != 1 || (uint64_t)st.st_size < BKST_DATA_OFF) {
		close(fd); /* not ours: left alone, and not used */
		g->foreign = true;
		return 0;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return 0;
	h = (const struct bkst_head *)map;
	if (h->magic != BKST_MAGIC || h->slots != BKST_SLOTS ||
	    h->size != (uint64_t)st.st_size || h->dev != (uint64_t)dir.st_dev ||
	    h->ino != (uint64_t)dir.st_ino || h->data_off != BKST_DATA_OFF) {
		munmap(map, (size_t)st.st_size);
		unlink(g->path); /* ours, but of nothing this store wrote */
		return 0;
	}
	g->old_map = map;
	g->old_size = (uint64_t)st.st_size;
	return 0;
}

int bks_stage_restore(struct bk_store *s, const char *object, uint64_t size)
{
	struct bks_stage *g = &s->stage;
	const struct bkst_desc *d;
	uint64_t done = 0;
	int fd, err = 0;

	if (!g->old_map)
		return 0;
	for (unsigned i = 0; i < BKST_SLOTS; i++) {
		d = desc_at(g->old_map, i);
		if (atomic_load(&d->state) != BKST_FULL || d->crc != desc_crc(d) ||
		    strncmp(d->object, object, sizeof(d->object)))
			continue;
		if (d->len != size || d->off < BKST_DATA_OFF ||
		    d->off > g->old_size || d->len > g->old_size - d->off ||
		    !bks_object_valid(d->object))
			return 0;
		fd = openat(s->objfd, object,
			    O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			return -errno;
		while (done < size) {
			ssize_t n = pwrite(fd, g->old_map + d->off + done,
					   (size_t)(size - done), (off_t)done);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				err = n < 0 ? -errno : -EIO;
				break;
			}
			done += (uint64_t)n;
		}
		if (!err && ftruncate(fd, (off_t)size) < 0)
			err = -errno;
		close(fd);
		if (!err)
			s->stage.restored++;
		return err ? err : 1;
	}
	return 0;
}

void bks_stage_recover_close(struct bk_store *s, bool remove)
{
	struct bks_stage *g = &s->stage;

	if (!g->old_map)
		return;
	munmap(g->old_map, (size_t)g->old_size);
	g->old_map = NULL;
	if (remove)
		unlink(g->path);
}

void bks_stage_init(struct bk_store *s)
{
	pthread_mutex_init(&s->stage.lock, NULL);
}

int bk_store_set_staging(struct bk_store *s, uint64_t bytes)
{
	struct bks_stage *g;
	struct bkst_head *h;
	struct statfs fs;
	struct stat dir;
	unsigned char *map;
	int fd, err;

	if (!s)
		return -EINVAL;
	g = &s->stage;
	if (g->map)
		return -EBUSY; /* once, before the store is used */
	if (!bytes || s->durability == BK_DURABLE_POWER)
		return 0;
	bytes = round_up(bytes);
	if (bytes < BKST_DATA_OFF + 4 * BKST_ALIGN)
		return -EINVAL;
	if (g->foreign)
		return -EEXIST;
	err = stage_path(s, g->path, sizeof(g->path), &dir);
	if (err)
		return err;
	if (statfs(BKST_DIR, &fs) < 0)
		return -errno;
	if (fs.f_type != TMPFS_MAGIC)
		return -EOPNOTSUPP; /* it would write every copy twice */
	fd = open(g->path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)bytes) < 0) {
		err = -errno;
		goto fail;
	}
	map = mmap(NULL, (size_t)bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		err = -errno;
		goto fail;
	}
	close(fd); /* the mapping is all that is used of it */
	h = (struct bkst_head *)map;
	h->slots = BKST_SLOTS;
	h->size = bytes;
	h->dev = (uint64_t)dir.st_dev;
	h->ino = (uint64_t)dir.st_ino;
	h->data_off = BKST_DATA_OFF;
	h->magic = BKST_MAGIC;
	g->map = map;
	g->size = bytes;
	g->data_size = bytes - BKST_DATA_OFF;
	return 0;
fail:
	close(fd);
	unlink(g->path);
	return err;
}

bool bk_store_staging(const struct bk_store *s)
{
	return s && s->stage.map;
}

/* Locked.  Frees the reservations at the tail that are done. */
static void advance_tail(struct bks_stage *g)
{
	while (g->tail != g->head && !g->busy[g->tail % BKST_SLOTS]) {
		g->used -= g->alen[g->tail % BKST_SLOTS];
		g->tail++;
	}
	if (g->tail == g->head)
		g->head_off = 0; /* empty: start again at the front */
}

int bk_store_begin_staged(struct bk_store *s, struct bk_pending *p,
			  uint64_t size, void **mem, uint64_t *cap)
{
	struct bks_stage *g;
	uint64_t alen, at, tail_off, waste = 0;
	unsigned i;
	int err;

	if (!p)
		return -EINVAL;
	bks_pending_reset(p);
	if (!s)
		return -EINVAL;
	g = &s->stage;
	if (!g->map || s->durability == BK_DURABLE_POWER)
		return -EOPNOTSUPP;
	err = bks_new_object_name(p->object);
	if (err)
		return err;
	alen = round_up(size ? size : 1);
	if (alen > g->data_size / 4) {
		p->object[0] = '\0';
		return -EFBIG;
	}
	pthread_mutex_lock(&g->lock);
	if (g->head - g->tail == BKST_SLOTS)
		goto full;
	if (g->tail == g->head) {
		at = 0;
	} else {
		tail_off = g->off[g->tail % BKST_SLOTS];
		if (g->head_off >= tail_off) {
			if (g->head_off + alen <= g->data_size)
				at = g->head_off;
			else if (alen <= tail_off)
				at = 0, waste = g->data_size - g->head_off;
			else
				goto full;
		} else if (g->head_off + alen <= tail_off) {
			at = g->head_off;
		} else {
			goto full;
		}
	}
	i = (unsigned)(g->head % BKST_SLOTS);
	g->busy[i] = true;
	g->off[i] = at;
	/* A wrap leaves the end unused: counted with this extent. */
	g->alen[i] = alen + waste;
	g->used += g->alen[i];
	g->head++;
	g->head_off = at + alen;
	pthread_mutex_unlock(&g->lock);
	p->stage = i + 1;
	p->placed = true; /* by the committer, in objects/ */
	*mem = g->map + BKST_DATA_OFF + at;
	*cap = alen;
	return 0;
full:
	pthread_mutex_unlock(&g->lock);
	atomic_fetch_add(&g->no_room, 1);
	p->object[0] = '\0';
	return -ENOSPC;
}

const void *bks_stage_data(struct bk_store *s, unsigned stage)
{
	return s->stage.map + BKST_DATA_OFF + s->stage.off[stage - 1];
}

void bks_stage_release(struct bk_store *s, unsigned stage)
{
	struct bks_stage *g = &s->stage;
	unsigned i = stage - 1;

	if (!stage || !g->map)
		return;
	atomic_store(&desc_at(g->map, i)->state, BKST_FREE);
	pthread_mutex_lock(&g->lock);
	g->busy[i] = false;
	advance_tail(g);
	pthread_mutex_unlock(&g->lock);
}

void bks_stage_publish(struct bk_store *s, unsigned stage, const char *object,
		       uint64_t len)
{
	struct bks_stage *g = &s->stage;
	unsigned i = stage - 1;
	struct bkst_desc *d = desc_at(g->map, i);

	d->off = BKST_DATA_OFF + g->off[i];
	d->len = len;
	memset(d->object, 0, sizeof(d->object));
	snprintf(d->object, sizeof(d->object), "%s", object);
	d->crc = desc_crc(d);
	atomic_store(&d->state, BKST_FULL);
	atomic_fetch_add(&g->staged, 1);
}

bool bks_stage_pressing(struct bk_store *s)
{
	struct bks_stage *g = &s->stage;
	bool yes;

	if (!g->map)
		return false;
	pthread_mutex_lock(&g->lock);
	yes = g->used > g->data_size / 2 || g->head - g->tail > BKST_SLOTS / 2;
	pthread_mutex_unlock(&g->lock);
	return yes;
}

int bks_stage_write(struct bk_store *s, unsigned stage, int fd, uint64_t len)
{
	const unsigned char *src = bks_stage_data(s, stage);
	uint64_t whole = len & ~(uint64_t)(BKST_ALIGN - 1), done = 0;
	int fl = fcntl(fd, F_GETFL);
	bool direct;

	/* Whole blocks around the page cache, from the mapping. */
	direct = whole && fl >= 0 && fcntl(fd, F_SETFL, fl | O_DIRECT) == 0;
	while (done < len) {
		size_t want = (size_t)((direct && done < whole ? whole : len) - done);
		ssize_t n = pwrite(fd, src + done, want, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && direct && errno == EINVAL) {
			direct = false; /* refused here: through the cache */
			fcntl(fd, F_SETFL, fl);
			continue;
		}
		if (n <= 0) {
			int err = n < 0 ? -errno : -EIO;

			if (direct)
				fcntl(fd, F_SETFL, fl);
			return err;
		}
		done += (uint64_t)n;
		if (direct && done >= whole) {
			direct = false;
			fcntl(fd, F_SETFL, fl);
		}
	}
	if (direct)
		fcntl(fd, F_SETFL, fl);
	return 0;
}

void bks_stage_close(struct bk_store *s)
{
	struct bks_stage *g = &s->stage;

	bks_stage_recover_close(s, false); /* an open that failed: kept */
	if (g->map) {
		munmap(g->map, (size_t)g->size);
		g->map = NULL;
		unlink(g->path);
	}
	pthread_mutex_destroy(&g->lock);
}
