/*
 * test_rtl_fiber.c - fibers (src/rtl/fiber.c): a serving loop whose
 * waiting operations park instead of holding the thread.
 *
 * The loop in these tests takes "requests" (numbers) from a counter; a
 * request waits on its own event, which a setter thread sets later.  The
 * tests check that the thread keeps taking requests while earlier ones are
 * parked, that every request finishes exactly once with its own stack and
 * per-fiber slot intact although it resumes on another thread, that an
 * event set before or during the park is not lost, and that waiting off a
 * fiber blocks the thread as before.
 */
#include "rtl/fiber.h"
#include "rtl/rtl.h"

#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define MAXREQ 2000

struct request {
	struct rtl_event ev;
	_Atomic int waiting; /* published by the request, for the setter */
	_Atomic int done;
	long started_on, finished_on; /* kernel thread ids */
	unsigned long canary;
	int slot_value;
};

static struct request reqs[MAXREQ];
static unsigned long nreq;
static _Atomic unsigned long next_req, finished;
static int key = -1;
static long loop_thread;
static _Atomic int loop_entries; /* fibers that ran the loop entry */

/* The thread a fiber runs on now.  Not pthread_self(): glibc declares it
 * const, so the compiler may reuse the value from before a park. */
static long thread_id(void)
{
	return syscall(SYS_gettid);
}

/* Every request waits; the loop's thread must not be held by any. */
static void serve(void *arg)
{
	(void)arg;
	atomic_fetch_add(&loop_entries, 1);
	while (rtl_fiber_is_loop()) {
		unsigned long i = atomic_fetch_add(&next_req, 1);
		volatile unsigned long canary;
		struct request *r;
		void **slot;

		if (i >= nreq)
			return;
		r = &reqs[i];
		canary = 0xC0FFEE00u + i;
		slot = rtl_fiber_local(key);
		assert_non_null(slot);
		*slot = &r->slot_value;
		r->started_on = thread_id();
		atomic_store(&r->waiting, 1);
		rtl_event_wait_fiber(&r->ev);
		/* Resumed: same stack, same slot, whatever the thread. */
		r->canary = canary;
		slot = rtl_fiber_local(key);
		r->slot_value = (*slot == &r->slot_value) ? 1 : -1;
		r->finished_on = thread_id();
		atomic_store(&r->done, 1);
		atomic_fetch_add(&finished, 1);
	}
}

static void *setter(void *arg)
{
	unsigned long i;

	(void)arg;
	/* Set in reverse order of issue, once each request waits. */
	for (i = nreq; i-- > 0;) {
		while (!atomic_load(&reqs[i].waiting))
			sched_yield();
		rtl_event_set(&reqs[i].ev);
	}
	return NULL;
}

static void reset(unsigned long n)
{
	unsigned long i;

	assert_true(n <= MAXREQ);
	memset(reqs, 0, sizeof(reqs));
	for (i = 0; i < n; i++)
		rtl_event_reset(&reqs[i].ev);
	nreq = n;
	atomic_store(&next_req, 0);
	atomic_store(&finished, 0);
	atomic_store(&loop_entries, 0);
}

static void wait_finished(unsigned long n)
{
	int spins = 0;

	while (atomic_load(&finished) < n) {
		usleep(1000);
		assert_true(++spins < 30000); /* 30 s */
	}
}

static int setup(void **state)
{
	(void)state;
	if (key < 0)
		key = rtl_fiber_key_create(NULL);
	return key < 0 ? -1 : 0;
}

/* 1,000 requests all waiting at once on one thread: the loop returns with
 * all of them taken before any was set. */
static void test_thousand_parked_one_thread(void **state)
{
	pthread_t th;
	unsigned long i;

	(void)state;
	reset(1000);
	loop_thread = thread_id();
	rtl_fiber_run_thread(serve, NULL);
	/* The loop ran out of requests with every one of them parked. */
	assert_int_equal(atomic_load(&finished), 0);
	assert_int_equal(rtl_fibers_parked(), 1000);
	/* Each park handed the thread to a fresh fiber running the loop. */
	assert_int_equal(atomic_load(&loop_entries), 1001);
	assert_int_equal(pthread_create(&th, NULL, setter, NULL), 0);
	wait_finished(1000);
	pthread_join(th, NULL);
	for (i = 0; i < 1000; i++) {
		assert_int_equal(atomic_load(&reqs[i].done), 1);
		assert_int_equal(reqs[i].canary, 0xC0FFEE00u + i);
		assert_int_equal(reqs[i].slot_value, 1);
		assert_int_equal(reqs[i].started_on, loop_thread);
		/* Finished by a resumer, not by the thread that took it. */
		assert_int_not_equal(reqs[i].finished_on, loop_thread);
	}
	assert_int_equal(rtl_fibers_parked(), 0);
	assert_true(rtl_fiber_resumers() >= 1);
}

/* Set before the request waits: no park, no thread change. */
static void test_set_before_wait(void **state)
{
	(void)state;
	reset(3);
	rtl_event_set(&reqs[0].ev);
	rtl_event_set(&reqs[1].ev);
	rtl_event_set(&reqs[2].ev);
	loop_thread = thread_id();
	rtl_fiber_run_thread(serve, NULL);
	assert_int_equal(atomic_load(&finished), 3);
	assert_int_equal(atomic_load(&loop_entries), 1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(reqs[i].finished_on, loop_thread);
}

/* A setter racing each park: every request still finishes exactly once. */
static void *racing_setter(void *arg)
{
	unsigned long i;

	(void)arg;
	for (i = 0; i < nreq; i++) {
		while (!atomic_load(&reqs[i].waiting))
			;
		rtl_event_set(&reqs[i].ev);
	}
	return NULL;
}

static void test_set_races_park(void **state)
{
	pthread_t th;
	unsigned long i;

	(void)state;
	reset(MAXREQ);
	assert_int_equal(pthread_create(&th, NULL, racing_setter, NULL), 0);
	rtl_fiber_run_thread(serve, NULL);
	pthread_join(th, NULL);
	wait_finished(MAXREQ);
	for (i = 0; i < MAXREQ; i++) {
		assert_int_equal(atomic_load(&reqs[i].done), 1);
		assert_int_equal(reqs[i].canary, 0xC0FFEE00u + i);
		assert_int_equal(reqs[i].slot_value, 1);
	}
	assert_int_equal(atomic_load(&finished), MAXREQ);
	assert_int_equal(rtl_fibers_parked(), 0);
}

/* Resumed requests that block their resumer (a filter waiting for a
 * user-mode reply) do not stall the others: the last request, which
 * releases the blocked ones, still gets a resumer. */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int gate_open;

static void serve_blocking(void *arg)
{
	(void)arg;
	while (rtl_fiber_is_loop()) {
		unsigned long i = atomic_fetch_add(&next_req, 1);
		struct request *r;

		if (i >= nreq)
			return;
		r = &reqs[i];
		atomic_store(&r->waiting, 1);
		rtl_event_wait_fiber(&r->ev);
		pthread_mutex_lock(&gate_lock);
		if (i == nreq - 1) {
			gate_open = 1;
			pthread_cond_broadcast(&gate_cond);
		}
		while (!gate_open)
			pthread_cond_wait(&gate_cond, &gate_lock);
		pthread_mutex_unlock(&gate_lock);
		atomic_store(&r->done, 1);
		atomic_fetch_add(&finished, 1);
	}
}

static void test_blocked_resumers_do_not_stall(void **state)
{
	unsigned long i, n;

	(void)state;
	/* More blockers than there are resumers, then the releaser. */
	n = (unsigned long)rtl_fiber_resumers() + 3;
	reset(n);
	gate_open = 0;
	rtl_fiber_run_thread(serve_blocking, NULL);
	assert_int_equal(rtl_fibers_parked(), (long)n);
	for (i = 0; i < n; i++)
		rtl_event_set(&reqs[i].ev);
	wait_finished(n);
	assert_true(rtl_fiber_resumers() >= (long)n);
}

/* Off a fiber, waiting blocks the thread until another sets the event. */
static struct rtl_event plain_ev;

static void *plain_setter(void *arg)
{
	(void)arg;
	usleep(50000);
	rtl_event_set(&plain_ev);
	return NULL;
}

static void test_wait_off_fiber_blocks(void **state)
{
	struct timespec a, b;
	pthread_t th;
	long ms;

	(void)state;
	rtl_event_reset(&plain_ev);
	assert_null(rtl_fiber_local(key));
	assert_true(rtl_fiber_is_loop());
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(pthread_create(&th, NULL, plain_setter, NULL), 0);
	rtl_event_wait_fiber(&plain_ev); /* no fiber: the thread waits */
	clock_gettime(CLOCK_MONOTONIC, &b);
	pthread_join(th, NULL);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	assert_true(ms >= 45);
	/* Already set: returns at once. */
	rtl_event_wait(&plain_ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thousand_parked_one_thread),
		cmocka_unit_test(test_set_before_wait),
		cmocka_unit_test(test_set_races_park),
		cmocka_unit_test(test_blocked_resumers_do_not_stall),
		cmocka_unit_test(test_wait_off_fiber_blocks),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
