/*
 * time.c - Ke/Ps queries: time, ticks, performance counter, who and where.
 *
 * NT system time counts 100 ns intervals since 1601-01-01 UTC.  The
 * conversion to and from a Unix timespec is plain arithmetic with no special
 * values: NT time 0 is tv_sec = -11644473600 and back, the Unix epoch is
 * 116444736000000000 and back.  NT's "0 means not specified" in the file
 * information classes is for the caller to test before converting.  Going to
 * NT the nanoseconds are truncated to whole 100 ns units (toward the past,
 * since tv_nsec is never negative); going to Unix the result is exact.
 * Times beyond what a LONGLONG can hold saturate.
 *
 * The tick count and the performance counter run on CLOCK_MONOTONIC, so
 * they never go backwards; KeQuerySystemTime uses the coarse real-time clock,
 * which ticks like Windows' (a few ms), and KeQuerySystemTimePrecise the
 * fine one.  Everything runs at PASSIVE_LEVEL in a thread of the daemon,
 * which is what the process, thread and IRQL queries report.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>
#include <wdm.h>

#include "rtl/rtl.h"

#define NT_UNITS_PER_SEC 10000000LL
#define NT_TIME_INCREMENT 156250 /* 15.625 ms in 100 ns units */
#define NT_PERF_FREQUENCY 10000000LL

LONGLONG rtl_timespec_to_nt(const struct timespec *ts)
{
	/* 128 bits hold any timespec; only the result needs clamping. */
	__int128 v = ((__int128)ts->tv_sec + RTL_NT_EPOCH_DELTA_SECS) *
			     NT_UNITS_PER_SEC +
		     ts->tv_nsec / 100;

	if (v > MAXLONGLONG)
		return MAXLONGLONG;
	if (v < -MAXLONGLONG - 1)
		return -MAXLONGLONG - 1;
	return (LONGLONG)v;
}

void rtl_nt_to_timespec(LONGLONG nt, struct timespec *ts)
{
	LONGLONG secs = nt / NT_UNITS_PER_SEC;
	LONGLONG rem = nt % NT_UNITS_PER_SEC;

	/* Floor, so tv_nsec stays in [0, 10^9) for times before 1601. */
	if (rem < 0) {
		rem += NT_UNITS_PER_SEC;
		secs--;
	}
	ts->tv_sec = (time_t)(secs - RTL_NT_EPOCH_DELTA_SECS);
	ts->tv_nsec = (long)(rem * 100);
}

static LONGLONG time_now_nt(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return rtl_timespec_to_nt(&ts);
}

/* CLOCK_MONOTONIC in 100 ns units. */
static LONGLONG time_monotonic_units(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (LONGLONG)ts.tv_sec * NT_UNITS_PER_SEC + ts.tv_nsec / 100;
}

void NTAPI KeQuerySystemTime(PLARGE_INTEGER CurrentTime)
{
	CurrentTime->QuadPart = time_now_nt(CLOCK_REALTIME_COARSE);
}

void NTAPI KeQuerySystemTimePrecise(PLARGE_INTEGER CurrentTime)
{
	CurrentTime->QuadPart = time_now_nt(CLOCK_REALTIME);
}

ULONG NTAPI KeQueryTimeIncrement(void)
{
	return NT_TIME_INCREMENT;
}

void NTAPI KeQueryTickCount(PLARGE_INTEGER TickCount)
{
	TickCount->QuadPart = time_monotonic_units() / NT_TIME_INCREMENT;
}

LARGE_INTEGER NTAPI KeQueryPerformanceCounter(PLARGE_INTEGER PerformanceFrequency)
{
	LARGE_INTEGER now;

	if (PerformanceFrequency)
		PerformanceFrequency->QuadPart = NT_PERF_FREQUENCY;
	now.QuadPart = time_monotonic_units();
	return now;
}

KIRQL NTAPI KeGetCurrentIrql(void)
{
	return PASSIVE_LEVEL;
}

/* The thread object is opaque to filters; pthread_self is unique per thread. */
PKTHREAD NTAPI KeGetCurrentThread(void)
{
	return (PKTHREAD)(uintptr_t)pthread_self();
}

ULONG NTAPI KeGetCurrentProcessorNumber(void)
{
	int cpu = sched_getcpu();

	return cpu < 0 ? 0 : (ULONG)cpu;
}

/*
 * The daemon's own ids, asked of the kernel once (the thread's once per
 * thread): a filter's I/O carries them on every call.  A fork forgets them
 * in the child.
 */
static _Atomic pid_t rtl_pid;
static __thread pid_t rtl_tid;
static pthread_once_t rtl_ids_once = PTHREAD_ONCE_INIT;

static void rtl_ids_forked(void)
{
	rtl_pid = 0;
	rtl_tid = 0;
}

static void rtl_ids_init(void)
{
	pthread_atfork(NULL, NULL, rtl_ids_forked);
}

pid_t rtl_getpid(void)
{
	pthread_once(&rtl_ids_once, rtl_ids_init);
	if (!rtl_pid)
		rtl_pid = getpid();
	return rtl_pid;
}

pid_t rtl_gettid(void)
{
	pthread_once(&rtl_ids_once, rtl_ids_init);
	if (!rtl_tid)
		rtl_tid = gettid();
	return rtl_tid;
}

HANDLE NTAPI PsGetCurrentProcessId(void)
{
	return (HANDLE)(uintptr_t)rtl_getpid();
}

HANDLE NTAPI PsGetCurrentThreadId(void)
{
	return (HANDLE)(uintptr_t)rtl_gettid();
}

/* Every thread a filter runs on is one of the daemon's own. */
BOOLEAN NTAPI PsIsSystemThread(PETHREAD Thread)
{
	(void)Thread;
	return TRUE;
}

void rtl_deadline_ms(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}
