/*
 * pending_micro.c - what pending an operation costs, against the same
 * operation answered synchronously (no FUSE: the filter manager's dispatch
 * alone, as in dispatch_micro.c).
 *
 * One filter on a volume registers IRP_MJ_READ.  Its pre callback:
 *   sync     returns FLT_PREOP_SUCCESS_WITH_CALLBACK;
 *   inline   calls FltCompletePendedPreOperation itself, then returns
 *            FLT_PREOP_PENDING (the cheapest pend: no thread switch);
 *   thread   hands the callback data to a completer thread, which calls
 *            FltCompletePendedPreOperation, and returns FLT_PREOP_PENDING:
 *            the delivering thread parks until the completer wakes it
 *            (what a scanner waiting on a user-mode verdict pays, minus
 *            the verdict).
 * Each mode runs N operations R times; the median ns per operation is
 * printed with its ratio to sync.
 *
 * Usage: pending_micro [--quick] [--iters N] [--reps R]
 */
#include "fltmgr/fm.h"
#include "rtl/rtl.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MODE_SYNC, MODE_INLINE, MODE_THREAD };
static const char *mode_names[] = { "sync", "inline", "thread" };
static int mode;

/* The completer: one slot, handed over under a mutex/condvar. */
static pthread_mutex_t slot_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slot_cond = PTHREAD_COND_INITIALIZER;
static PFLT_CALLBACK_DATA slot;
static int stop;

static void *completer(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&slot_lock);
	for (;;) {
		PFLT_CALLBACK_DATA d;

		while (!slot && !stop)
			pthread_cond_wait(&slot_cond, &slot_lock);
		if (stop)
			break;
		d = slot;
		slot = NULL;
		pthread_mutex_unlock(&slot_lock);
		FltCompletePendedPreOperation(d, FLT_PREOP_SUCCESS_WITH_CALLBACK, NULL);
		pthread_mutex_lock(&slot_lock);
	}
	pthread_mutex_unlock(&slot_lock);
	return NULL;
}

static FLT_PREOP_CALLBACK_STATUS FLTAPI b_pre(PFLT_CALLBACK_DATA Data,
					      PCFLT_RELATED_OBJECTS Objs,
					      PVOID *Ctx)
{
	(void)Objs;
	*Ctx = NULL;
	switch (mode) {
	case MODE_INLINE:
		FltCompletePendedPreOperation(Data, FLT_PREOP_SUCCESS_WITH_CALLBACK,
					      NULL);
		return FLT_PREOP_PENDING;
	case MODE_THREAD:
		pthread_mutex_lock(&slot_lock);
		slot = Data;
		pthread_cond_signal(&slot_cond);
		pthread_mutex_unlock(&slot_lock);
		return FLT_PREOP_PENDING;
	default:
		return FLT_PREOP_SUCCESS_WITH_CALLBACK;
	}
}

static FLT_POSTOP_CALLBACK_STATUS FLTAPI b_post(PFLT_CALLBACK_DATA Data,
						PCFLT_RELATED_OBJECTS Objs,
						PVOID Ctx,
						FLT_POST_OPERATION_FLAGS Flags)
{
	(void)Data;
	(void)Objs;
	(void)Ctx;
	(void)Flags;
	return FLT_POSTOP_FINISHED_PROCESSING;
}

static const FLT_OPERATION_REGISTRATION b_ops[] = {
	{ IRP_MJ_READ, 0, b_pre, b_post, NULL },
	{ IRP_MJ_OPERATION_END, 0, NULL, NULL, NULL },
};

static const FLT_REGISTRATION b_reg = {
	.Size = sizeof(FLT_REGISTRATION),
	.Version = FLT_REGISTRATION_VERSION,
	.OperationRegistration = b_ops,
};

static void log_sink(int priority, const char *message)
{
	if (priority <= LOG_WARNING)
		fprintf(stderr, "%s\n", message);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double run(struct fm_volume *vol, unsigned long n)
{
	FILE_OBJECT fo;
	struct fm_requestor req = { .tid = 1, .pid = 1 };
	struct fm_op_ctx op;
	unsigned long i, ok = 0;
	double t0;

	memset(&fo, 0, sizeof(fo));
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		fm_op_init(&op, vol, IRP_MJ_READ, 0, &fo, &req);
		ok += fm_op_pre(&op);
		fm_op_complete(&op);
	}
	if (ok != n)
		fprintf(stderr, "%lu of %lu operations did not go down\n", n - ok, n);
	return (now_ns() - t0) / (double)n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	unsigned long iters = 1000000;
	unsigned reps = 5, r;
	double med[3], t[51];
	DRIVER_OBJECT drv;
	struct fm_filter *f;
	struct fm_volume *vol;
	PFLT_FILTER h;
	pthread_t th;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick")) {
			iters = 100000;
			reps = 3;
		} else if (!strcmp(argv[i], "--iters") && i + 1 < argc) {
			iters = strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
			reps = (unsigned)strtoul(argv[++i], NULL, 0);
		} else {
			fprintf(stderr, "usage: %s [--quick] [--iters N] [--reps R]\n",
				argv[0]);
			return 2;
		}
	}
	if (!reps || reps > 51 || !iters)
		return 2;
	rtl_set_log_sink(log_sink);
	if (fm_volume_create("pendbench", "/nonexistent", NULL, NULL, &vol))
		return 1;
	f = fm_filter_alloc("pendbench", "370000");
	if (!f)
		return 1;
	fm_filter_bind_driver(&drv, f);
	if (!NT_SUCCESS(FltRegisterFilter(&drv, &b_reg, &h)) ||
	    !NT_SUCCESS(FltStartFiltering(h)))
		return 1;
	if (pthread_create(&th, NULL, completer, NULL))
		return 1;
	printf("mode     ns/op   ratio to sync\n");
	for (mode = MODE_SYNC; mode <= MODE_THREAD; mode++) {
		unsigned long n = mode == MODE_THREAD ? iters / 10 : iters;

		run(vol, n / 10 + 1); /* warm up */
		for (r = 0; r < reps; r++)
			t[r] = run(vol, n);
		qsort(t, reps, sizeof(t[0]), cmp_double);
		med[mode] = t[reps / 2];
		printf("%-7s %7.1f   %6.2fx\n", mode_names[mode], med[mode],
		       med[mode] / med[MODE_SYNC]);
	}
	pthread_mutex_lock(&slot_lock);
	stop = 1;
	pthread_cond_signal(&slot_cond);
	pthread_mutex_unlock(&slot_lock);
	pthread_join(th, NULL);
	return 0;
}
