/*
 * pool.c - ExAllocatePool* on the C heap, with per-tag accounting.
 *
 * Every block carries a 32-byte header (magic, tag, size, hash chain link)
 * in front of the caller's memory, which therefore stays 16-byte aligned.
 * The live blocks are also kept in a hash set keyed by address, so a free is
 * checked against the set before its header is read: a double free or a
 * pointer that never came from the pool is reported through rtl_log without
 * touching freed memory (and without tripping AddressSanitizer).  A free with
 * the wrong tag is reported and then honoured, since the block is live and the
 * caller means to give it back; Windows only bugchecks on protected tags.
 *
 * Per-tag counters live in a small array (filters use a handful of tags) so
 * the verifier can list what a filter leaked.  One mutex guards both the set
 * and the counters; the allocation itself happens outside it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <wdm.h>

#include "rtl/rtl.h"

#define POOL_MAGIC_LIVE 0x4C4F4F50u /* "POOL" */
#define POOL_ALIGN 16

struct pool_hdr {
	ULONG magic;
	ULONG tag;
	size_t size;
	struct pool_hdr *next; /* hash chain */
	size_t pad;
};
_Static_assert(sizeof(struct pool_hdr) % POOL_ALIGN == 0,
	       "the header must keep the caller's memory aligned");

struct pool_tag_stat {
	ULONG tag;
	size_t count;
	size_t bytes;
};

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pool_hdr **pool_buckets;
static size_t pool_nbuckets; /* power of two, or 0 before first use */
static size_t pool_nlive;
static struct pool_tag_stat *pool_tags;
static size_t pool_ntags, pool_tags_cap;

static size_t pool_hash(const void *p, size_t nbuckets)
{
	uintptr_t v = (uintptr_t)p >> 4;

	v ^= v >> 17;
	v *= (uintptr_t)0x9E3779B97F4A7C15ull;
	return (size_t)(v >> 7) & (nbuckets - 1);
}

void rtl_pool_tag_string(ULONG tag, char out[5])
{
	for (int i = 0; i < 4; i++) {
		unsigned char c = (unsigned char)(tag >> (8 * i));

		out[i] = (c >= 0x20 && c < 0x7F) ? (char)c : '.';
	}
	out[4] = '\0';
}

/* Grows the bucket array when chains would average more than two. */
static bool pool_grow_locked(void)
{
	size_t n = pool_nbuckets ? pool_nbuckets * 2 : 1024;
	struct pool_hdr **b = calloc(n, sizeof(*b));

	if (!b)
		return pool_nbuckets != 0; /* keep going with long chains */
	for (size_t i = 0; i < pool_nbuckets; i++) {
		struct pool_hdr *h = pool_buckets[i], *next;

		for (; h; h = next) {
			size_t k = pool_hash(h, n);

			next = h->next;
			h->next = b[k];
			b[k] = h;
		}
	}
	free(pool_buckets);
	pool_buckets = b;
	pool_nbuckets = n;
	return true;
}

static struct pool_tag_stat *pool_tag_locked(ULONG tag, bool create)
{
	for (size_t i = 0; i < pool_ntags; i++)
		if (pool_tags[i].tag == tag)
			return &pool_tags[i];
	if (!create)
		return NULL;
	if (pool_ntags == pool_tags_cap) {
		size_t cap = pool_tags_cap ? pool_tags_cap * 2 : 32;
		struct pool_tag_stat *t = realloc(pool_tags, cap * sizeof(*t));

		if (!t)
			return NULL;
		pool_tags = t;
		pool_tags_cap = cap;
	}
	pool_tags[pool_ntags] = (struct pool_tag_stat){ .tag = tag };
	return &pool_tags[pool_ntags++];
}

static bool pool_insert(struct pool_hdr *h)
{
	struct pool_tag_stat *ts;
	bool ok = false;
	size_t k;

	pthread_mutex_lock(&pool_lock);
	if (pool_nlive >= pool_nbuckets * 2 && !pool_grow_locked())
		goto out;
	ts = pool_tag_locked(h->tag, true);
	if (!ts)
		goto out;
	ts->count++;
	ts->bytes += h->size;
	k = pool_hash(h, pool_nbuckets);
	h->next = pool_buckets[k];
	pool_buckets[k] = h;
	pool_nlive++;
	ok = true;
out:
	pthread_mutex_unlock(&pool_lock);
	return ok;
}

/* Unlinks the block whose header is h; false if h is not a live block. */
static bool pool_remove(struct pool_hdr *h)
{
	struct pool_hdr **pp;
	struct pool_tag_stat *ts;
	bool found = false;

	pthread_mutex_lock(&pool_lock);
	if (!pool_nbuckets)
		goto out;
	for (pp = &pool_buckets[pool_hash(h, pool_nbuckets)]; *pp;
	     pp = &(*pp)->next) {
		if (*pp == h) {
			*pp = h->next;
			found = true;
			break;
		}
	}
	if (!found)
		goto out;
	pool_nlive--;
	ts = pool_tag_locked(h->tag, false);
	if (ts) {
		ts->count--;
		ts->bytes -= h->size;
	}
out:
	pthread_mutex_unlock(&pool_lock);
	return found;
}

static PVOID pool_alloc(SIZE_T size, ULONG tag, bool zero)
{
	struct pool_hdr *h;
	void *mem;

	if (size > SIZE_MAX - sizeof(*h) - POOL_ALIGN)
		return NULL;
	if (posix_memalign(&mem, POOL_ALIGN, sizeof(*h) + size))
		return NULL;
	h = mem;
	*h = (struct pool_hdr){ .magic = POOL_MAGIC_LIVE, .tag = tag,
				.size = size };
	if (!pool_insert(h)) {
		free(h);
		return NULL;
	}
	if (zero)
		memset(h + 1, 0, size);
	return h + 1;
}

static void pool_free(PVOID p, ULONG tag, bool check_tag)
{
	struct pool_hdr *h;
	char want[5], have[5];

	if (!p) {
		rtl_log(LOG_ERR, "pool: free of a NULL pointer");
		return;
	}
	if ((uintptr_t)p % POOL_ALIGN != 0) {
		rtl_log(LOG_ERR, "pool: free of %p, which the pool never "
			"returned", p);
		return;
	}
	h = (struct pool_hdr *)p - 1;
	if (!pool_remove(h)) {
		rtl_log(LOG_ERR, "pool: double free of %p, or a pointer the "
			"pool never returned", p);
		return;
	}
	if (h->magic != POOL_MAGIC_LIVE)
		rtl_log(LOG_ERR, "pool: header of %p overwritten (magic "
			"0x%08X)", p, h->magic);
	if (check_tag && tag != h->tag) {
		rtl_pool_tag_string(tag, want);
		rtl_pool_tag_string(h->tag, have);
		rtl_log(LOG_ERR, "pool: %p allocated with tag '%s' (0x%08X) "
			"freed with tag '%s' (0x%08X)", p, have, h->tag, want,
			tag);
	}
	h->magic = 0;
	free(h);
}

PVOID NTAPI ExAllocatePoolWithTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes,
				  ULONG Tag)
{
	(void)PoolType;
	return pool_alloc(NumberOfBytes, Tag, false);
}

PVOID NTAPI ExAllocatePoolZero(POOL_TYPE PoolType, SIZE_T NumberOfBytes,
			       ULONG Tag)
{
	(void)PoolType;
	return pool_alloc(NumberOfBytes, Tag, true);
}

PVOID NTAPI ExAllocatePool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag)
{
	return pool_alloc(NumberOfBytes, Tag,
			  !(Flags & POOL_FLAG_UNINITIALIZED));
}

PVOID NTAPI ExAllocatePool(POOL_TYPE PoolType, SIZE_T NumberOfBytes)
{
	(void)PoolType;
	return pool_alloc(NumberOfBytes, RTL_UNTAGGED_TAG, false);
}

void NTAPI ExFreePoolWithTag(PVOID P, ULONG Tag)
{
	pool_free(P, Tag, true);
}

void NTAPI ExFreePool(PVOID P)
{
	pool_free(P, 0, false);
}

size_t rtl_pool_outstanding(ULONG tag, size_t *bytes_out)
{
	struct pool_tag_stat *ts;
	size_t count = 0, bytes = 0;

	pthread_mutex_lock(&pool_lock);
	ts = pool_tag_locked(tag, false);
	if (ts) {
		count = ts->count;
		bytes = ts->bytes;
	}
	pthread_mutex_unlock(&pool_lock);
	if (bytes_out)
		*bytes_out = bytes;
	return count;
}

void rtl_pool_foreach_outstanding(void (*fn)(ULONG tag, size_t count,
					     size_t bytes, void *arg),
				  void *arg)
{
	struct pool_tag_stat *snap = NULL;
	size_t n = 0;

	/* Copy first: fn may log, allocate or free, which takes pool_lock. */
	pthread_mutex_lock(&pool_lock);
	if (pool_ntags) {
		snap = malloc(pool_ntags * sizeof(*snap));
		if (snap) {
			for (size_t i = 0; i < pool_ntags; i++)
				if (pool_tags[i].count)
					snap[n++] = pool_tags[i];
		}
	}
	pthread_mutex_unlock(&pool_lock);
	for (size_t i = 0; i < n; i++)
		fn(snap[i].tag, snap[i].count, snap[i].bytes, arg);
	free(snap);
}
