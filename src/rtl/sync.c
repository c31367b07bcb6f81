/*
 * sync.c - NT synchronisation objects on pthreads.
 *
 * KEVENT: a mutex, a condition variable and a state.  A notification event
 * stays signalled and releases every waiter; a synchronization event releases
 * one waiter and resets itself as that waiter returns.  Waits take the NT
 * timeout: NULL waits forever, 0 polls, a negative value is relative (in 100
 * ns units, measured on CLOCK_MONOTONIC so a clock step cannot stretch it) and
 * a positive one is an absolute system time (CLOCK_REALTIME, as on Windows).
 *
 * ERESOURCE: a reader/writer lock its exclusive owner may re-acquire, in
 * either mode.  Shared acquisitions are counted per thread in a small
 * thread-local table, because ExIsResourceAcquiredSharedLite must answer for
 * the calling thread and a thread that holds a resource shared may acquire it
 * shared again even while a writer waits (a writer that arrives first keeps
 * new readers out, so writers do not starve).
 *
 * Spin locks, fast mutexes and push locks map directly to pthread objects.
 * IRQLs do not exist here: every "old IRQL" is PASSIVE_LEVEL.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <fltKernel.h>

#include "rtl/rtl.h"

#define NT_UNITS_PER_SEC 10000000LL

/* ---- Threads ---------------------------------------------------------- */

int rtl_thread_start(void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	sigset_t set, old;
	pthread_t th;
	int err;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&th, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}

/* ---- Timeouts --------------------------------------------------------- */

/*
 * Turns an NT timeout into a deadline on *clock.  Returns false when the
 * deadline is too far away to represent, which callers treat as "forever".
 */
static bool sync_deadline(LONGLONG timeout, clockid_t *clock,
			  struct timespec *deadline)
{
	if (timeout > 0) {
		*clock = CLOCK_REALTIME;
		rtl_nt_to_timespec(timeout, deadline);
		return true;
	}

	/* -INT64_MIN overflows: count in unsigned. */
	ULONGLONG rel = 0 - (ULONGLONG)timeout;
	ULONGLONG secs = rel / NT_UNITS_PER_SEC;
	struct timespec now;

	*clock = CLOCK_MONOTONIC;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (secs > (ULONGLONG)(INT64_MAX / 2))
		return false;
	deadline->tv_sec = now.tv_sec + (time_t)secs;
	deadline->tv_nsec = now.tv_nsec + (long)(rel % NT_UNITS_PER_SEC) * 100;
	if (deadline->tv_nsec >= 1000000000L) {
		deadline->tv_sec++;
		deadline->tv_nsec -= 1000000000L;
	}
	return true;
}

/* ---- Events ------------------------------------------------------------ */

void NTAPI KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State)
{
	pthread_mutex_init(&Event->Lock, NULL);
	pthread_cond_init(&Event->Cond, NULL);
	Event->Type = Type;
	Event->State = State ? 1 : 0;
}

LONG NTAPI KeSetEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait)
{
	LONG prev;

	(void)Increment;
	(void)Wait;
	pthread_mutex_lock(&Event->Lock);
	prev = Event->State;
	Event->State = 1;
	if (Event->Type == NotificationEvent)
		pthread_cond_broadcast(&Event->Cond);
	else
		pthread_cond_signal(&Event->Cond);
	pthread_mutex_unlock(&Event->Lock);
	return prev;
}

LONG NTAPI KeResetEvent(PRKEVENT Event)
{
	LONG prev;

	pthread_mutex_lock(&Event->Lock);
	prev = Event->State;
	Event->State = 0;
	pthread_mutex_unlock(&Event->Lock);
	return prev;
}

void NTAPI KeClearEvent(PRKEVENT Event)
{
	(void)KeResetEvent(Event);
}

LONG NTAPI KeReadStateEvent(PRKEVENT Event)
{
	LONG state;

	pthread_mutex_lock(&Event->Lock);
	state = Event->State;
	pthread_mutex_unlock(&Event->Lock);
	return state;
}

/* Only KEVENTs can be waited on: nothing else waitable is declared. */
NTSTATUS NTAPI KeWaitForSingleObject(PVOID Object, KWAIT_REASON WaitReason,
				     KPROCESSOR_MODE WaitMode,
				     BOOLEAN Alertable, PLARGE_INTEGER Timeout)
{
	PRKEVENT ev = Object;
	NTSTATUS status = STATUS_SUCCESS;
	struct timespec deadline;
	clockid_t clock = CLOCK_MONOTONIC;
	bool timed = false;

	(void)WaitReason;
	(void)WaitMode;
	(void)Alertable;
	if (!ev)
		return STATUS_INVALID_PARAMETER;
	if (Timeout && Timeout->QuadPart != 0)
		timed = sync_deadline(Timeout->QuadPart, &clock, &deadline);

	pthread_mutex_lock(&ev->Lock);
	while (!ev->State) {
		if (Timeout && Timeout->QuadPart == 0) {
			status = STATUS_TIMEOUT;
			break;
		}
		if (!timed) {
			pthread_cond_wait(&ev->Cond, &ev->Lock);
			continue;
		}
		if (pthread_cond_clockwait(&ev->Cond, &ev->Lock, clock,
					   &deadline) == ETIMEDOUT &&
		    !ev->State) {
			status = STATUS_TIMEOUT;
			break;
		}
	}
	if (status == STATUS_SUCCESS && ev->Type == SynchronizationEvent)
		ev->State = 0;
	pthread_mutex_unlock(&ev->Lock);
	return status;
}

NTSTATUS NTAPI KeDelayExecutionThread(KPROCESSOR_MODE WaitMode,
				      BOOLEAN Alertable,
				      PLARGE_INTEGER Interval)
{
	struct timespec deadline;
	clockid_t clock;

	(void)WaitMode;
	(void)Alertable;
	if (!Interval)
		return STATUS_INVALID_PARAMETER;
	if (Interval->QuadPart == 0) {
		sched_yield();
		return STATUS_SUCCESS;
	}
	if (!sync_deadline(Interval->QuadPart, &clock, &deadline)) {
		for (;;)
			pause();
	}
	/* An absolute deadline makes a signal-interrupted sleep resumable. */
	while (clock_nanosleep(clock, TIMER_ABSTIME, &deadline, NULL) == EINTR)
		;
	return STATUS_SUCCESS;
}

/* ---- Spin locks and fast mutexes ------------------------------------ */

void NTAPI KeInitializeSpinLock(PKSPIN_LOCK SpinLock)
{
	pthread_spin_init(&SpinLock->Lock, PTHREAD_PROCESS_PRIVATE);
}

void NTAPI KeAcquireSpinLock(PKSPIN_LOCK SpinLock, PKIRQL OldIrql)
{
	pthread_spin_lock(&SpinLock->Lock);
	if (OldIrql)
		*OldIrql = PASSIVE_LEVEL;
}

void NTAPI KeReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql)
{
	(void)NewIrql;
	pthread_spin_unlock(&SpinLock->Lock);
}

/*
 * Error-checking mutexes: a filter that re-acquires a fast mutex would hang
 * on Windows; here it is told why before the daemon stops.
 */
void NTAPI ExInitializeFastMutex(PFAST_MUTEX FastMutex)
{
	pthread_mutexattr_t attr;

	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&FastMutex->Lock, &attr);
	pthread_mutexattr_destroy(&attr);
}

void NTAPI ExAcquireFastMutex(PFAST_MUTEX FastMutex)
{
	int err = pthread_mutex_lock(&FastMutex->Lock);

	if (err) {
		rtl_log(LOG_CRIT, "ExAcquireFastMutex(%p): %s (recursive "
			"acquisition deadlocks on Windows)",
			(void *)FastMutex, strerrorname_np(err));
		abort();
	}
}

void NTAPI ExReleaseFastMutex(PFAST_MUTEX FastMutex)
{
	int err = pthread_mutex_unlock(&FastMutex->Lock);

	if (err)
		rtl_log(LOG_ERR, "ExReleaseFastMutex(%p) by a thread that "
			"does not own it: %s", (void *)FastMutex,
			strerrorname_np(err));
}

/* ---- ERESOURCE ---------------------------------------------------------- */

/* Shared holds of the calling thread: resources are held briefly and few. */
#define RES_TLS_SLOTS 32
struct res_hold {
	PERESOURCE res;
	ULONG count;
};
static __thread struct res_hold res_held[RES_TLS_SLOTS];

static struct res_hold *res_find(PERESOURCE r, bool create)
{
	struct res_hold *free_slot = NULL;

	for (int i = 0; i < RES_TLS_SLOTS; i++) {
		if (res_held[i].res == r && res_held[i].count)
			return &res_held[i];
		if (!free_slot && !res_held[i].count)
			free_slot = &res_held[i];
	}
	if (!create)
		return NULL;
	if (!free_slot) {
		rtl_log(LOG_WARNING, "ERESOURCE %p: thread holds more than %d "
			"resources shared; ownership not tracked", (void *)r,
			RES_TLS_SLOTS);
		return NULL;
	}
	free_slot->res = r;
	free_slot->count = 0;
	return free_slot;
}

static bool res_owned_exclusive_locked(PERESOURCE r)
{
	return r->ExclusiveCount > 0 && pthread_equal(r->Owner, pthread_self());
}

NTSTATUS NTAPI ExInitializeResourceLite(PERESOURCE Resource)
{
	pthread_mutex_init(&Resource->Lock, NULL);
	pthread_cond_init(&Resource->Cond, NULL);
	Resource->SharedCount = 0;
	Resource->ExclusiveCount = 0;
	Resource->Waiters = 0;
	return STATUS_SUCCESS;
}

NTSTATUS NTAPI ExDeleteResourceLite(PERESOURCE Resource)
{
	if (Resource->SharedCount || Resource->ExclusiveCount)
		rtl_log(LOG_ERR, "ExDeleteResourceLite(%p) while held "
			"(%d shared, %d exclusive)", (void *)Resource,
			(int)Resource->SharedCount,
			(int)Resource->ExclusiveCount);
	pthread_cond_destroy(&Resource->Cond);
	pthread_mutex_destroy(&Resource->Lock);
	return STATUS_SUCCESS;
}

BOOLEAN NTAPI ExAcquireResourceExclusiveLite(PERESOURCE Resource,
					     BOOLEAN Wait)
{
	PERESOURCE r = Resource;
	BOOLEAN got = TRUE;

	pthread_mutex_lock(&r->Lock);
	if (res_owned_exclusive_locked(r)) {
		r->ExclusiveCount++;
		goto out;
	}
	if (r->SharedCount || r->ExclusiveCount) {
		if (!Wait) {
			got = FALSE;
			goto out;
		}
		if (res_find(r, false))
			rtl_log(LOG_ERR, "ERESOURCE %p: exclusive acquisition "
				"by a shared owner deadlocks", (void *)r);
		r->Waiters++;
		while (r->SharedCount || r->ExclusiveCount)
			pthread_cond_wait(&r->Cond, &r->Lock);
		r->Waiters--;
	}
	r->ExclusiveCount = 1;
	r->Owner = pthread_self();
out:
	pthread_mutex_unlock(&r->Lock);
	return got;
}

BOOLEAN NTAPI ExAcquireResourceSharedLite(PERESOURCE Resource, BOOLEAN Wait)
{
	PERESOURCE r = Resource;
	struct res_hold *hold;
	BOOLEAN got = TRUE;

	pthread_mutex_lock(&r->Lock);
	/* The exclusive owner gets "shared" as one more exclusive hold. */
	if (res_owned_exclusive_locked(r)) {
		r->ExclusiveCount++;
		goto out;
	}
	hold = res_find(r, false);
	if (!hold && (r->ExclusiveCount || r->Waiters)) {
		if (!Wait) {
			got = FALSE;
			goto out;
		}
		while (r->ExclusiveCount || r->Waiters)
			pthread_cond_wait(&r->Cond, &r->Lock);
	}
	/* A recursive shared hold never waits, even behind a writer. */
	r->SharedCount++;
	if (!hold)
		hold = res_find(r, true);
	if (hold)
		hold->count++;
out:
	pthread_mutex_unlock(&r->Lock);
	return got;
}

void NTAPI ExReleaseResourceLite(PERESOURCE Resource)
{
	PERESOURCE r = Resource;
	struct res_hold *hold;

	pthread_mutex_lock(&r->Lock);
	if (res_owned_exclusive_locked(r)) {
		if (--r->ExclusiveCount == 0)
			pthread_cond_broadcast(&r->Cond);
		goto out;
	}
	if (r->SharedCount <= 0) {
		rtl_log(LOG_ERR, "ExReleaseResourceLite(%p) by a thread that "
			"does not hold it", (void *)r);
		goto out;
	}
	hold = res_find(r, false);
	if (hold)
		hold->count--;
	if (--r->SharedCount == 0)
		pthread_cond_broadcast(&r->Cond);
out:
	pthread_mutex_unlock(&r->Lock);
}

BOOLEAN NTAPI ExIsResourceAcquiredExclusiveLite(PERESOURCE Resource)
{
	BOOLEAN owned;

	pthread_mutex_lock(&Resource->Lock);
	owned = res_owned_exclusive_locked(Resource);
	pthread_mutex_unlock(&Resource->Lock);
	return owned;
}

/* Number of holds of the calling thread; an exclusive hold counts too. */
ULONG NTAPI ExIsResourceAcquiredSharedLite(PERESOURCE Resource)
{
	struct res_hold *hold;
	ULONG n = 0;

	pthread_mutex_lock(&Resource->Lock);
	if (res_owned_exclusive_locked(Resource)) {
		n = (ULONG)Resource->ExclusiveCount;
	} else {
		hold = res_find(Resource, false);
		if (hold)
			n = hold->count;
	}
	pthread_mutex_unlock(&Resource->Lock);
	return n;
}

/* ---- Push locks --------------------------------------------------------- */

/* Writer preference: a steady stream of readers must not starve a writer. */
VOID FLTAPI FltInitializePushLock(PEX_PUSH_LOCK PushLock)
{
	pthread_rwlockattr_t attr;

	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
		PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&PushLock->Lock, &attr);
	pthread_rwlockattr_destroy(&attr);
}

VOID FLTAPI FltDeletePushLock(PEX_PUSH_LOCK PushLock)
{
	pthread_rwlock_destroy(&PushLock->Lock);
}

VOID FLTAPI FltAcquirePushLockExclusive(PEX_PUSH_LOCK PushLock)
{
	pthread_rwlock_wrlock(&PushLock->Lock);
}

VOID FLTAPI FltAcquirePushLockShared(PEX_PUSH_LOCK PushLock)
{
	pthread_rwlock_rdlock(&PushLock->Lock);
}

VOID FLTAPI FltReleasePushLock(PEX_PUSH_LOCK PushLock)
{
	pthread_rwlock_unlock(&PushLock->Lock);
}
