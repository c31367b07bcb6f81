/*
 * test_rtl_pool.c - pool allocation, per-tag accounting and misuse reports.
 *
 * A capturing log sink checks that a wrong tag, a double free and foreign
 * pointers are reported (and survived) rather than crashing the daemon.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <syslog.h>
#include <cmocka.h>
#include <wdm.h>

#include "rtl/rtl.h"

#define TAG_A RTL_POOL_TAG('T', 's', 't', 'A')
#define TAG_B RTL_POOL_TAG('T', 's', 't', 'B')

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_count;
static int log_last_priority;
static char log_last[RTL_LOG_MAX];

static void capture_sink(int priority, const char *message)
{
	pthread_mutex_lock(&log_lock);
	log_count++;
	log_last_priority = priority;
	strncpy(log_last, message, sizeof(log_last) - 1);
	pthread_mutex_unlock(&log_lock);
}

static int setup(void **state)
{
	(void)state;
	log_count = 0;
	log_last[0] = '\0';
	rtl_set_log_sink(capture_sink);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rtl_set_log_sink(NULL);
	return 0;
}

static void test_alloc_accounting(void **state)
{
	size_t bytes = 1;
	void *p[5];
	static const size_t sizes[] = { 0, 1, 15, 100, 4096 };

	(void)state;
	assert_int_equal(rtl_pool_outstanding(TAG_A, &bytes), 0);
	assert_int_equal(bytes, 0);
	for (int i = 0; i < 5; i++) {
		p[i] = ExAllocatePoolWithTag(NonPagedPoolNx, sizes[i], TAG_A);
		assert_non_null(p[i]);
		assert_int_equal((uintptr_t)p[i] % 16, 0);
		memset(p[i], 0x5A, sizes[i]);
	}
	assert_int_equal(rtl_pool_outstanding(TAG_A, &bytes), 5);
	assert_int_equal(bytes, 0 + 1 + 15 + 100 + 4096);
	assert_int_equal(rtl_pool_outstanding(TAG_B, NULL), 0);
	ExFreePoolWithTag(p[3], TAG_A);
	assert_int_equal(rtl_pool_outstanding(TAG_A, &bytes), 4);
	assert_int_equal(bytes, 0 + 1 + 15 + 4096);
	for (int i = 0; i < 5; i++)
		if (i != 3)
			ExFreePool(p[i]);
	assert_int_equal(rtl_pool_outstanding(TAG_A, &bytes), 0);
	assert_int_equal(bytes, 0);
	assert_int_equal(log_count, 0);
}

static int all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static void test_zeroing(void **state)
{
	const size_t n = 1000;
	unsigned char *p;

	(void)state;
	/* Dirty a block, free it, and ask again: the allocator reuses it. */
	p = ExAllocatePoolWithTag(PagedPool, n, TAG_A);
	memset(p, 0xAB, n);
	ExFreePoolWithTag(p, TAG_A);
	p = ExAllocatePoolZero(PagedPool, n, TAG_A);
	assert_true(all_zero(p, n));
	memset(p, 0xAB, n);
	ExFreePoolWithTag(p, TAG_A);
	p = ExAllocatePool2(POOL_FLAG_NON_PAGED, n, TAG_A);
	assert_true(all_zero(p, n));
	ExFreePoolWithTag(p, TAG_A);

	p = ExAllocatePool2(POOL_FLAG_PAGED | POOL_FLAG_UNINITIALIZED, n, TAG_B);
	assert_non_null(p);
	assert_int_equal(rtl_pool_outstanding(TAG_B, NULL), 1);
	ExFreePoolWithTag(p, TAG_B);

	p = ExAllocatePool(NonPagedPool, 10);
	assert_int_equal(rtl_pool_outstanding(RTL_UNTAGGED_TAG, NULL), 1);
	ExFreePool(p);
	assert_int_equal(rtl_pool_outstanding(RTL_UNTAGGED_TAG, NULL), 0);
	assert_int_equal(log_count, 0);
}

static void test_huge(void **state)
{
	(void)state;
	assert_null(ExAllocatePoolWithTag(PagedPool, SIZE_MAX, TAG_A));
	assert_null(ExAllocatePool2(POOL_FLAG_PAGED, SIZE_MAX - 8, TAG_A));
	assert_int_equal(rtl_pool_outstanding(TAG_A, NULL), 0);
}

static void test_wrong_tag(void **state)
{
	void *p = ExAllocatePoolWithTag(PagedPool, 32, TAG_A);

	(void)state;
	ExFreePoolWithTag(p, TAG_B);
	assert_int_equal(log_count, 1);
	assert_int_equal(log_last_priority, LOG_ERR);
	assert_non_null(strstr(log_last, "allocated with tag 'AtsT'"));
	assert_non_null(strstr(log_last, "freed with tag 'BtsT'"));
	/* Reported, and the block is still given back. */
	assert_int_equal(rtl_pool_outstanding(TAG_A, NULL), 0);
	assert_int_equal(rtl_pool_outstanding(TAG_B, NULL), 0);
}

static void test_double_free_and_foreign(void **state)
{
	void *p = ExAllocatePoolWithTag(PagedPool, 32, TAG_A);
	_Alignas(16) unsigned char stack_block[64];

	(void)state;
	ExFreePoolWithTag(p, TAG_A);
	assert_int_equal(log_count, 0);
	ExFreePoolWithTag(p, TAG_A);
	assert_int_equal(log_count, 1);
	assert_non_null(strstr(log_last, "double free"));
	ExFreePool(p);
	assert_int_equal(log_count, 2);

	ExFreePool(NULL);
	assert_int_equal(log_count, 3);
	assert_non_null(strstr(log_last, "NULL"));
	ExFreePool(stack_block + 32);
	assert_int_equal(log_count, 4);
	assert_non_null(strstr(log_last, "never returned"));
	ExFreePool(stack_block + 3);
	assert_int_equal(log_count, 5);
	assert_int_equal(rtl_pool_outstanding(TAG_A, NULL), 0);
}

struct seen {
	size_t a_count, a_bytes, b_count, b_bytes, others;
};

static void collect(ULONG tag, size_t count, size_t bytes, void *arg)
{
	struct seen *s = arg;

	if (tag == TAG_A) {
		s->a_count = count;
		s->a_bytes = bytes;
	} else if (tag == TAG_B) {
		s->b_count = count;
		s->b_bytes = bytes;
	} else {
		s->others++;
	}
	assert_true(count > 0);
}

static void test_foreach(void **state)
{
	struct seen s = { 0 };
	void *a1 = ExAllocatePoolWithTag(PagedPool, 10, TAG_A);
	void *a2 = ExAllocatePoolWithTag(PagedPool, 20, TAG_A);
	void *b1 = ExAllocatePoolWithTag(PagedPool, 7, TAG_B);

	(void)state;
	rtl_pool_foreach_outstanding(collect, &s);
	assert_int_equal(s.a_count, 2);
	assert_int_equal(s.a_bytes, 30);
	assert_int_equal(s.b_count, 1);
	assert_int_equal(s.b_bytes, 7);
	assert_int_equal(s.others, 0);
	ExFreePoolWithTag(a1, TAG_A);
	ExFreePoolWithTag(a2, TAG_A);
	ExFreePoolWithTag(b1, TAG_B);
	s = (struct seen){ 0 };
	rtl_pool_foreach_outstanding(collect, &s);
	assert_int_equal(s.a_count + s.b_count + s.others, 0);
}

static void test_tag_string(void **state)
{
	char s[5];

	(void)state;
	rtl_pool_tag_string(RTL_POOL_TAG('R', 't', 'l', 'S'), s);
	assert_string_equal(s, "SltR");
	rtl_pool_tag_string(0x41000142, s);
	assert_string_equal(s, "B..A");
}

static void *pool_worker(void *arg)
{
	ULONG tag = RTL_POOL_TAG('T', 'h', 'r', (char)('0' + (intptr_t)arg));
	void *blocks[64] = { 0 };

	for (int i = 0; i < 20000; i++) {
		int k = i % 64;

		if (blocks[k])
			ExFreePoolWithTag(blocks[k], tag);
		blocks[k] = ExAllocatePoolWithTag(PagedPool, (size_t)(i % 200),
						  tag);
		if (!blocks[k])
			return (void *)1;
	}
	for (int k = 0; k < 64; k++)
		ExFreePoolWithTag(blocks[k], tag);
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t t[6];
	void *r;

	(void)state;
	for (intptr_t i = 0; i < 6; i++)
		pthread_create(&t[i], NULL, pool_worker, (void *)i);
	for (int i = 0; i < 6; i++) {
		pthread_join(t[i], &r);
		assert_null(r);
	}
	for (int i = 0; i < 6; i++)
		assert_int_equal(rtl_pool_outstanding(RTL_POOL_TAG('T', 'h', 'r',
								  '0' + i),
						      NULL),
				 0);
	assert_int_equal(log_count, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_alloc_accounting, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_zeroing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_huge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_tag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_double_free_and_foreign,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreach, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tag_string, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
