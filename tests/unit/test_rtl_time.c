/*
 * test_rtl_time.c - NT time conversion and the Ke/Ps queries.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <wdm.h>

#include "rtl/rtl.h"

#define UNIX_EPOCH_NT 116444736000000000LL

static void test_conversion(void **state)
{
	struct timespec ts = { 0, 0 };

	(void)state;
	assert_int_equal(rtl_timespec_to_nt(&ts), UNIX_EPOCH_NT);
	rtl_nt_to_timespec(UNIX_EPOCH_NT, &ts);
	assert_int_equal(ts.tv_sec, 0);
	assert_int_equal(ts.tv_nsec, 0);

	/* NT 0 (1601) is an ordinary time both ways. */
	rtl_nt_to_timespec(0, &ts);
	assert_int_equal(ts.tv_sec, -RTL_NT_EPOCH_DELTA_SECS);
	assert_int_equal(ts.tv_nsec, 0);
	assert_int_equal(rtl_timespec_to_nt(&ts), 0);

	/* Sub-100 ns parts are truncated. */
	ts = (struct timespec){ 0, 199 };
	assert_int_equal(rtl_timespec_to_nt(&ts), UNIX_EPOCH_NT + 1);
	ts = (struct timespec){ 0, 99 };
	assert_int_equal(rtl_timespec_to_nt(&ts), UNIX_EPOCH_NT);
	ts = (struct timespec){ 1700000000, 123456789 };
	assert_int_equal(rtl_timespec_to_nt(&ts),
			 UNIX_EPOCH_NT + 17000000000000000LL + 1234567);
	ts = (struct timespec){ -1, 500000000 };
	assert_int_equal(rtl_timespec_to_nt(&ts), UNIX_EPOCH_NT - 5000000);

	/* Floors before 1970 and before 1601. */
	rtl_nt_to_timespec(UNIX_EPOCH_NT - 1, &ts);
	assert_int_equal(ts.tv_sec, -1);
	assert_int_equal(ts.tv_nsec, 999999900);
	rtl_nt_to_timespec(-1, &ts);
	assert_int_equal(ts.tv_sec, -RTL_NT_EPOCH_DELTA_SECS - 1);
	assert_int_equal(ts.tv_nsec, 999999900);

	/* Saturation. */
	ts = (struct timespec){ INT64_MAX, 999999999 };
	assert_int_equal(rtl_timespec_to_nt(&ts), INT64_MAX);
	ts = (struct timespec){ INT64_MIN, 0 };
	assert_int_equal(rtl_timespec_to_nt(&ts), INT64_MIN);
}

static void test_round_trip(void **state)
{
	static const LONGLONG samples[] = {
		0, 1, -1, 9999999, 10000000, -10000000, UNIX_EPOCH_NT,
		133000000000000000LL, INT64_MAX, INT64_MIN, INT64_MAX - 1,
		INT64_MIN + 1,
	};
	uint64_t x = 88172645463325252ull;

	(void)state;
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		struct timespec ts;

		rtl_nt_to_timespec(samples[i], &ts);
		assert_true(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000);
		assert_int_equal(rtl_timespec_to_nt(&ts), samples[i]);
	}
	for (int i = 0; i < 100000; i++) {
		struct timespec ts;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		rtl_nt_to_timespec((LONGLONG)x, &ts);
		assert_int_equal(rtl_timespec_to_nt(&ts), (LONGLONG)x);
	}
}

static void test_system_time(void **state)
{
	LARGE_INTEGER a, b;
	time_t now = time(NULL);

	(void)state;
	KeQuerySystemTime(&a);
	KeQuerySystemTimePrecise(&b);
	assert_true(llabs(a.QuadPart / 10000000 - RTL_NT_EPOCH_DELTA_SECS -
			  (LONGLONG)now) <= 2);
	assert_true(b.QuadPart >= a.QuadPart - 10 * 10000); /* coarse lags */
	assert_true(b.QuadPart - a.QuadPart < 10000000);
}

static void test_ticks_and_counter(void **state)
{
	LARGE_INTEGER t1, t2, freq = { .QuadPart = 0 }, c1, c2;
	struct timespec mono;

	(void)state;
	assert_int_equal(KeQueryTimeIncrement(), 156250);
	KeQueryTickCount(&t1);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	LONGLONG expect = ((LONGLONG)mono.tv_sec * 1000000000 + mono.tv_nsec) /
			  15625000;
	assert_true(expect - t1.QuadPart >= 0 && expect - t1.QuadPart <= 1);

	c1 = KeQueryPerformanceCounter(&freq);
	assert_int_equal(freq.QuadPart, 10000000);
	usleep(40000);
	KeQueryTickCount(&t2);
	c2 = KeQueryPerformanceCounter(NULL);
	assert_true(t2.QuadPart - t1.QuadPart >= 2); /* 40 ms > 2 ticks */
	assert_true(c2.QuadPart - c1.QuadPart >= 400000);
	assert_true(c2.QuadPart - c1.QuadPart < 20000000);
}

struct ids {
	PKTHREAD thread;
	HANDLE tid, pid;
};

static void *ids_main(void *arg)
{
	struct ids *i = arg;

	i->thread = KeGetCurrentThread();
	i->tid = PsGetCurrentThreadId();
	i->pid = PsGetCurrentProcessId();
	return NULL;
}

static void test_identity(void **state)
{
	struct ids other;
	pthread_t t;

	(void)state;
	assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
	assert_true(PsGetCurrentProcessId() == (HANDLE)(uintptr_t)getpid());
	assert_true(PsGetCurrentThreadId() == (HANDLE)(uintptr_t)gettid());
	assert_true(KeGetCurrentThread() == KeGetCurrentThread());
	assert_true(PsIsSystemThread(KeGetCurrentThread()));
	assert_true(KeGetCurrentProcessorNumber() <
		    (ULONG)sysconf(_SC_NPROCESSORS_CONF));

	pthread_create(&t, NULL, ids_main, &other);
	pthread_join(t, NULL);
	assert_true(other.pid == PsGetCurrentProcessId());
	assert_true(other.tid != PsGetCurrentThreadId());
	assert_true(other.thread != KeGetCurrentThread());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conversion),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_system_time),
		cmocka_unit_test(test_ticks_and_counter),
		cmocka_unit_test(test_identity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
