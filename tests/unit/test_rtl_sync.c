/*
 * test_rtl_sync.c - events, waits with NT timeouts, spin locks, fast
 * mutexes, ERESOURCE and push locks, across real threads.
 *
 * Timing assertions only bound from below (a wait may not return early) and
 * loosely from above, so a loaded machine does not make them flaky.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <fltKernel.h>

#include "rtl/rtl.h"

#define MS(n) ((LONGLONG)(n) * 10000)

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static NTSTATUS wait_for(PKEVENT ev, LONGLONG timeout)
{
	LARGE_INTEGER t = { .QuadPart = timeout };

	return KeWaitForSingleObject(ev, Executive, KernelMode, FALSE, &t);
}

/* ---- Events -------------------------------------------------------------------- */

static void test_notification_event(void **state)
{
	KEVENT ev;

	(void)state;
	KeInitializeEvent(&ev, NotificationEvent, FALSE);
	assert_int_equal(KeReadStateEvent(&ev), 0);
	assert_int_equal(wait_for(&ev, 0), STATUS_TIMEOUT);
	assert_int_equal(KeSetEvent(&ev, IO_NO_INCREMENT, FALSE), 0);
	assert_int_equal(KeSetEvent(&ev, IO_NO_INCREMENT, FALSE), 1);
	assert_int_equal(KeReadStateEvent(&ev), 1);
	/* Stays signalled through any number of waits. */
	assert_int_equal(wait_for(&ev, 0), STATUS_SUCCESS);
	assert_int_equal(wait_for(&ev, -MS(10)), STATUS_SUCCESS);
	assert_int_equal(KeWaitForSingleObject(&ev, Executive, KernelMode,
					       FALSE, NULL),
			 STATUS_SUCCESS);
	assert_int_equal(KeResetEvent(&ev), 1);
	assert_int_equal(KeResetEvent(&ev), 0);
	KeSetEvent(&ev, 0, FALSE);
	KeClearEvent(&ev);
	assert_int_equal(KeReadStateEvent(&ev), 0);

	KeInitializeEvent(&ev, NotificationEvent, TRUE);
	assert_int_equal(KeReadStateEvent(&ev), 1);
}

static void test_synchronization_event(void **state)
{
	KEVENT ev;

	(void)state;
	KeInitializeEvent(&ev, SynchronizationEvent, TRUE);
	assert_int_equal(wait_for(&ev, 0), STATUS_SUCCESS);
	/* The wait consumed the signal. */
	assert_int_equal(KeReadStateEvent(&ev), 0);
	assert_int_equal(wait_for(&ev, 0), STATUS_TIMEOUT);
	assert_int_equal(KeSetEvent(&ev, 0, FALSE), 0);
	assert_int_equal(KeSetEvent(&ev, 0, FALSE), 1);
	assert_int_equal(wait_for(&ev, -MS(10)), STATUS_SUCCESS);
	assert_int_equal(wait_for(&ev, -MS(10)), STATUS_TIMEOUT);
}

static void test_relative_timeout(void **state)
{
	KEVENT ev;
	int64_t t0, dt;

	(void)state;
	KeInitializeEvent(&ev, NotificationEvent, FALSE);
	t0 = mono_ms();
	assert_int_equal(wait_for(&ev, -MS(10)), STATUS_TIMEOUT);
	dt = mono_ms() - t0;
	assert_true(dt >= 10);
	assert_true(dt < 2000);

	t0 = mono_ms();
	assert_int_equal(wait_for(&ev, -1), STATUS_TIMEOUT); /* 100 ns */
	assert_true(mono_ms() - t0 < 2000);

	LARGE_INTEGER d = { .QuadPart = -MS(20) };
	t0 = mono_ms();
	assert_int_equal(KeDelayExecutionThread(KernelMode, FALSE, &d),
			 STATUS_SUCCESS);
	assert_true(mono_ms() - t0 >= 20);
	d.QuadPart = 0;
	assert_int_equal(KeDelayExecutionThread(KernelMode, FALSE, &d),
			 STATUS_SUCCESS);
	assert_int_equal(KeDelayExecutionThread(KernelMode, FALSE, NULL),
			 STATUS_INVALID_PARAMETER);
}

static void test_absolute_timeout(void **state)
{
	KEVENT ev;
	LARGE_INTEGER now;
	int64_t t0, dt;

	(void)state;
	KeInitializeEvent(&ev, NotificationEvent, FALSE);
	KeQuerySystemTimePrecise(&now);
	t0 = mono_ms();
	assert_int_equal(wait_for(&ev, now.QuadPart + MS(30)), STATUS_TIMEOUT);
	dt = mono_ms() - t0;
	assert_true(dt >= 25); /* real-time and monotonic clocks differ a bit */
	assert_true(dt < 2000);

	/* A deadline in the past times out at once. */
	t0 = mono_ms();
	assert_int_equal(wait_for(&ev, now.QuadPart - MS(1000)), STATUS_TIMEOUT);
	assert_true(mono_ms() - t0 < 1000);

	LARGE_INTEGER d;
	KeQuerySystemTimePrecise(&d);
	d.QuadPart += MS(20);
	t0 = mono_ms();
	KeDelayExecutionThread(KernelMode, FALSE, &d);
	assert_true(mono_ms() - t0 >= 15);
}

struct waiter {
	PKEVENT ev;
	LONGLONG timeout; /* 0: wait forever */
	NTSTATUS status;
	pthread_t thread;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;

	if (w->timeout)
		w->status = wait_for(w->ev, w->timeout);
	else
		w->status = KeWaitForSingleObject(w->ev, Executive, KernelMode,
						  FALSE, NULL);
	return NULL;
}

static void start_waiter(struct waiter *w, PKEVENT ev, LONGLONG timeout)
{
	w->ev = ev;
	w->timeout = timeout;
	w->status = -1;
	assert_int_equal(pthread_create(&w->thread, NULL, waiter_main, w), 0);
}

static void test_set_from_other_thread(void **state)
{
	KEVENT ev;
	struct waiter w;

	(void)state;
	KeInitializeEvent(&ev, SynchronizationEvent, FALSE);
	start_waiter(&w, &ev, 0);
	usleep(20000);
	assert_int_equal(w.status, -1); /* still waiting */
	KeSetEvent(&ev, 0, FALSE);
	pthread_join(w.thread, NULL);
	assert_int_equal(w.status, STATUS_SUCCESS);
	assert_int_equal(KeReadStateEvent(&ev), 0);
}

static void test_sync_event_wakes_one(void **state)
{
	KEVENT ev;
	struct waiter w[3];
	int ok = 0, timeouts = 0;

	(void)state;
	KeInitializeEvent(&ev, SynchronizationEvent, FALSE);
	for (int i = 0; i < 3; i++)
		start_waiter(&w[i], &ev, -MS(300));
	usleep(30000);
	KeSetEvent(&ev, 0, FALSE);
	for (int i = 0; i < 3; i++) {
		pthread_join(w[i].thread, NULL);
		ok += w[i].status == STATUS_SUCCESS;
		timeouts += w[i].status == STATUS_TIMEOUT;
	}
	assert_int_equal(ok, 1);
	assert_int_equal(timeouts, 2);
}

static void test_notification_event_wakes_all(void **state)
{
	KEVENT ev;
	struct waiter w[4];

	(void)state;
	KeInitializeEvent(&ev, NotificationEvent, FALSE);
	for (int i = 0; i < 4; i++)
		start_waiter(&w[i], &ev, i % 2 ? 0 : -MS(5000));
	usleep(20000);
	KeSetEvent(&ev, 0, FALSE);
	for (int i = 0; i < 4; i++) {
		pthread_join(w[i].thread, NULL);
		assert_int_equal(w[i].status, STATUS_SUCCESS);
	}
}

/* ---- Spin locks and fast mutexes --------------------------------------------- */

#define COUNT_THREADS 4
#define COUNT_ITERS 50000

static KSPIN_LOCK spin;
static FAST_MUTEX fmutex;
static EX_PUSH_LOCK plock;
static volatile long counter;

static void *spin_worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < COUNT_ITERS; i++) {
		KIRQL old = 99;

		KeAcquireSpinLock(&spin, &old);
		counter = counter + 1;
		KeReleaseSpinLock(&spin, old);
		if (old != PASSIVE_LEVEL)
			return (void *)1;
	}
	return NULL;
}

static void *fmutex_worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < COUNT_ITERS; i++) {
		ExAcquireFastMutex(&fmutex);
		counter = counter + 1;
		ExReleaseFastMutex(&fmutex);
	}
	return NULL;
}

static void *pushlock_worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < COUNT_ITERS; i++) {
		FltAcquirePushLockExclusive(&plock);
		counter = counter + 1;
		FltReleasePushLock(&plock);
		FltAcquirePushLockShared(&plock);
		(void)counter;
		FltReleasePushLock(&plock);
	}
	return NULL;
}

static void run_counter(void *(*fn)(void *))
{
	pthread_t t[COUNT_THREADS];
	void *r;

	counter = 0;
	for (int i = 0; i < COUNT_THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, fn, NULL), 0);
	for (int i = 0; i < COUNT_THREADS; i++) {
		pthread_join(t[i], &r);
		assert_null(r);
	}
	assert_int_equal(counter, COUNT_THREADS * COUNT_ITERS);
}

static void test_spin_lock(void **state)
{
	(void)state;
	KeInitializeSpinLock(&spin);
	run_counter(spin_worker);
}

static void test_fast_mutex(void **state)
{
	(void)state;
	ExInitializeFastMutex(&fmutex);
	run_counter(fmutex_worker);
}

/* ---- ERESOURCE ------------------------------------------------------------------ */

struct res_try {
	PERESOURCE res;
	bool exclusive;
	BOOLEAN wait;
	BOOLEAN got;
	ULONG shared_count; /* ExIsResourceAcquiredSharedLite in the thread */
	BOOLEAN excl_owned;
	volatile int done;
	pthread_t thread;
};

static void *res_try_main(void *arg)
{
	struct res_try *t = arg;

	t->shared_count = ExIsResourceAcquiredSharedLite(t->res);
	t->excl_owned = ExIsResourceAcquiredExclusiveLite(t->res);
	t->got = t->exclusive ? ExAcquireResourceExclusiveLite(t->res, t->wait)
			      : ExAcquireResourceSharedLite(t->res, t->wait);
	t->done = 1;
	if (t->got)
		ExReleaseResourceLite(t->res);
	return NULL;
}

static void res_start(struct res_try *t, PERESOURCE r, bool exclusive,
		      BOOLEAN wait)
{
	*t = (struct res_try){ .res = r, .exclusive = exclusive, .wait = wait };
	assert_int_equal(pthread_create(&t->thread, NULL, res_try_main, t), 0);
}

/* Attempts without waiting from another thread; returns whether it got it. */
static BOOLEAN res_try_other(PERESOURCE r, bool exclusive)
{
	struct res_try t;

	res_start(&t, r, exclusive, FALSE);
	pthread_join(t.thread, NULL);
	assert_int_equal(t.shared_count, 0);
	assert_false(t.excl_owned);
	return t.got;
}

static void test_resource_exclusion(void **state)
{
	ERESOURCE r;

	(void)state;
	assert_int_equal(ExInitializeResourceLite(&r), STATUS_SUCCESS);
	assert_false(ExIsResourceAcquiredExclusiveLite(&r));
	assert_int_equal(ExIsResourceAcquiredSharedLite(&r), 0);

	/* Shared admits shared, excludes exclusive. */
	assert_true(ExAcquireResourceSharedLite(&r, TRUE));
	assert_int_equal(ExIsResourceAcquiredSharedLite(&r), 1);
	assert_false(ExIsResourceAcquiredExclusiveLite(&r));
	assert_true(res_try_other(&r, false));
	assert_false(res_try_other(&r, true));
	ExReleaseResourceLite(&r);
	assert_int_equal(ExIsResourceAcquiredSharedLite(&r), 0);

	/* Exclusive excludes both. */
	assert_true(ExAcquireResourceExclusiveLite(&r, TRUE));
	assert_true(ExIsResourceAcquiredExclusiveLite(&r));
	assert_false(res_try_other(&r, false));
	assert_false(res_try_other(&r, true));
	ExReleaseResourceLite(&r);
	assert_false(ExIsResourceAcquiredExclusiveLite(&r));

	/* Free again: both succeed. */
	assert_true(res_try_other(&r, true));
	assert_true(res_try_other(&r, false));
	assert_int_equal(ExDeleteResourceLite(&r), STATUS_SUCCESS);
}

static void test_resource_recursion(void **state)
{
	ERESOURCE r;

	(void)state;
	ExInitializeResourceLite(&r);
	assert_true(ExAcquireResourceExclusiveLite(&r, TRUE));
	assert_true(ExAcquireResourceExclusiveLite(&r, FALSE));
	assert_true(ExAcquireResourceSharedLite(&r, FALSE));
	assert_int_equal(ExIsResourceAcquiredSharedLite(&r), 3);
	ExReleaseResourceLite(&r);
	ExReleaseResourceLite(&r);
	assert_true(ExIsResourceAcquiredExclusiveLite(&r));
	assert_false(res_try_other(&r, false));
	ExReleaseResourceLite(&r);
	assert_false(ExIsResourceAcquiredExclusiveLite(&r));

	assert_true(ExAcquireResourceSharedLite(&r, TRUE));
	assert_true(ExAcquireResourceSharedLite(&r, TRUE));
	assert_int_equal(ExIsResourceAcquiredSharedLite(&r), 2);
	assert_false(ExAcquireResourceExclusiveLite(&r, FALSE));
	ExReleaseResourceLite(&r);
	ExReleaseResourceLite(&r);
	assert_int_equal(ExIsResourceAcquiredSharedLite(&r), 0);
	ExDeleteResourceLite(&r);
}

static void test_resource_blocking(void **state)
{
	ERESOURCE r;
	struct res_try writer, reader;

	(void)state;
	ExInitializeResourceLite(&r);
	assert_true(ExAcquireResourceSharedLite(&r, TRUE));
	res_start(&writer, &r, true, TRUE);
	usleep(30000);
	assert_int_equal(writer.done, 0); /* blocked behind the reader */

	/* A waiting writer keeps new readers out ... */
	assert_false(res_try_other(&r, false));
	/* ... but not a recursive acquisition by a reader. */
	assert_true(ExAcquireResourceSharedLite(&r, FALSE));
	ExReleaseResourceLite(&r);

	ExReleaseResourceLite(&r);
	pthread_join(writer.thread, NULL);
	assert_true(writer.got);

	/* A reader waiting on a writer gets in once it leaves. */
	assert_true(ExAcquireResourceExclusiveLite(&r, TRUE));
	res_start(&reader, &r, false, TRUE);
	usleep(30000);
	assert_int_equal(reader.done, 0);
	ExReleaseResourceLite(&r);
	pthread_join(reader.thread, NULL);
	assert_true(reader.got);
	ExDeleteResourceLite(&r);
}

static ERESOURCE stress_res;
static volatile int readers_in, writers_in;

static void *resource_stress_worker(void *arg)
{
	int id = (int)(intptr_t)arg;

	for (int i = 0; i < 20000; i++) {
		if ((i + id) % 8 == 0) {
			ExAcquireResourceExclusiveLite(&stress_res, TRUE);
			if (__atomic_add_fetch(&writers_in, 1, __ATOMIC_SEQ_CST) != 1 ||
			    __atomic_load_n(&readers_in, __ATOMIC_SEQ_CST) != 0)
				return (void *)1;
			__atomic_sub_fetch(&writers_in, 1, __ATOMIC_SEQ_CST);
			ExReleaseResourceLite(&stress_res);
		} else {
			ExAcquireResourceSharedLite(&stress_res, TRUE);
			__atomic_add_fetch(&readers_in, 1, __ATOMIC_SEQ_CST);
			if (__atomic_load_n(&writers_in, __ATOMIC_SEQ_CST) != 0)
				return (void *)2;
			__atomic_sub_fetch(&readers_in, 1, __ATOMIC_SEQ_CST);
			ExReleaseResourceLite(&stress_res);
		}
	}
	return NULL;
}

static void test_resource_stress(void **state)
{
	pthread_t t[6];
	void *r;

	(void)state;
	ExInitializeResourceLite(&stress_res);
	for (int i = 0; i < 6; i++)
		pthread_create(&t[i], NULL, resource_stress_worker,
			       (void *)(intptr_t)i);
	for (int i = 0; i < 6; i++) {
		pthread_join(t[i], &r);
		assert_null(r);
	}
	ExDeleteResourceLite(&stress_res);
}

/* ---- Push locks ------------------------------------------------------------------- */

static void *pushlock_try_shared(void *arg)
{
	PEX_PUSH_LOCK l = arg;

	FltAcquirePushLockShared(l);
	FltReleasePushLock(l);
	return (void *)1;
}

static void test_push_lock(void **state)
{
	pthread_t t;
	void *r = NULL;

	(void)state;
	FltInitializePushLock(&plock);
	/* Two readers at once. */
	FltAcquirePushLockShared(&plock);
	pthread_create(&t, NULL, pushlock_try_shared, &plock);
	pthread_join(t, &r);
	assert_true(r == (void *)1);
	FltReleasePushLock(&plock);

	/* A writer excludes a reader until it releases. */
	FltAcquirePushLockExclusive(&plock);
	assert_int_equal(pthread_rwlock_tryrdlock(&plock.Lock), EBUSY);
	FltReleasePushLock(&plock);
	assert_int_equal(pthread_rwlock_tryrdlock(&plock.Lock), 0);
	FltReleasePushLock(&plock);

	run_counter(pushlock_worker);
	FltDeletePushLock(&plock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_notification_event),
		cmocka_unit_test(test_synchronization_event),
		cmocka_unit_test(test_relative_timeout),
		cmocka_unit_test(test_absolute_timeout),
		cmocka_unit_test(test_set_from_other_thread),
		cmocka_unit_test(test_sync_event_wakes_one),
		cmocka_unit_test(test_notification_event_wakes_all),
		cmocka_unit_test(test_spin_lock),
		cmocka_unit_test(test_fast_mutex),
		cmocka_unit_test(test_resource_exclusion),
		cmocka_unit_test(test_resource_recursion),
		cmocka_unit_test(test_resource_blocking),
		cmocka_unit_test(test_resource_stress),
		cmocka_unit_test(test_push_lock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
