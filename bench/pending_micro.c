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
 *            the delivering thread blocks until the completer wakes it
 *            (filter-initiated I/O, which keeps its thread);
 *   fiber    the same, with the operations issued as the I/O manager
 *            issues a program's: from a serving loop on fibers
 *            (rtl/fiber.h).  A pended operation parks its fiber and the
 *            thread goes on with the next one; the completion resumes the
 *            fiber on a resumer thread, which finishes the operation (what
 *            a scanner waiting on a user-mode verdict pays, minus the
 *            verdict, with many operations in flight).
 * Each mode runs N operations R times; the median ns per operation is
 * printed with its ratio to sync.
 *
 * Usage: pending_micro [--quick] [--iters N] [--reps R]
 */
#include "bench.h"
#include "fltmgr/fm.h"
#include "rtl/rtl.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MODE_SYNC, MODE_INLINE, MODE_THREAD, MODE_FIBER, MODES };
static const char *mode_names[] = { "sync", "inline", "thread", "fiber" };
static int mode;

/* The completer's queue, under a mutex/condvar. */
#define QCAP 65536
/* Operations in flight at most in the fiber mode, as the programs a
 * volume serves bound them. */
#define INFLIGHT 4096
static pthread_mutex_t slot_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slot_cond = PTHREAD_COND_INITIALIZER;
static PFLT_CALLBACK_DATA queue[QCAP];
static unsigned long qhead, qtail;
static int stop;

static void *completer(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&slot_lock);
	for (;;) {
		PFLT_CALLBACK_DATA d;

		while (qhead == qtail && !stop)
			pthread_cond_wait(&slot_cond, &slot_lock);
		if (stop)
			break;
		d = queue[qhead++ % QCAP];
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
	case MODE_FIBER:
		pthread_mutex_lock(&slot_lock);
		queue[qtail++ % QCAP] = Data;
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

static double run(struct fm_volume *vol, unsigned long n)
{
	FILE_OBJECT fo;
	struct fm_requestor req = { .tid = 1, .pid = 1 };
	struct fm_op_ctx op;
	unsigned long i, ok = 0;
	double t0;

	memset(&fo, 0, sizeof(fo));
	t0 = bench_now_ns();
	for (i = 0; i < n; i++) {
		fm_op_init(&op, vol, IRP_MJ_READ, 0, &fo, &req);
		ok += fm_op_pre(&op);
		fm_op_complete(&op);
	}
	if (ok != n)
		fprintf(stderr, "%lu of %lu operations did not go down\n", n - ok, n);
	return (bench_now_ns() - t0) / (double)n;
}

/* The fiber mode: a serving loop, as the I/O manager's workers run. */
static struct fm_volume *fb_vol;
static unsigned long fb_n;
static _Atomic unsigned long fb_next, fb_done;
static pthread_mutex_t fb_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fb_cond = PTHREAD_COND_INITIALIZER;

/* The issuer's hook: its presence makes a pended operation park its fiber
 * (nothing to arm: no program to interrupt here). */
static void fb_on_pend(struct fm_op_ctx *op, bool pended)
{
	(void)op;
	(void)pended;
}

static void fb_serve(void *arg)
{
	FILE_OBJECT fo;
	struct fm_requestor req = { .tid = 1, .pid = 1 };
	struct fm_op_ctx op;

	(void)arg;
	memset(&fo, 0, sizeof(fo));
	while (rtl_fiber_is_loop() && atomic_fetch_add(&fb_next, 1) < fb_n) {
		while (atomic_load(&fb_next) - atomic_load(&fb_done) > INFLIGHT)
			sched_yield();
		fm_op_init(&op, fb_vol, IRP_MJ_READ, 0, &fo, &req);
		op.on_pend = fb_on_pend;
		fm_op_pre(&op);
		fm_op_complete(&op);
		if (atomic_fetch_add(&fb_done, 1) + 1 == fb_n) {
			pthread_mutex_lock(&fb_lock);
			pthread_cond_signal(&fb_cond);
			pthread_mutex_unlock(&fb_lock);
		}
	}
}

static double run_fibers(struct fm_volume *vol, unsigned long n)
{
	double t0 = bench_now_ns();

	fb_vol = vol;
	fb_n = n;
	atomic_store(&fb_next, 0);
	atomic_store(&fb_done, 0);
	rtl_fiber_run_thread(fb_serve, NULL);
	pthread_mutex_lock(&fb_lock);
	while (atomic_load(&fb_done) < n)
		pthread_cond_wait(&fb_cond, &fb_lock);
	pthread_mutex_unlock(&fb_lock);
	return (bench_now_ns() - t0) / (double)n;
}

int main(int argc, char **argv)
{
	unsigned long iters = 1000000;
	unsigned reps = 5, r;
	double med[MODES], t[51];
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
	rtl_set_log_sink(bench_log_sink);
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

	for (mode = MODE_SYNC; mode < MODES; mode++) {
		unsigned long n = mode >= MODE_THREAD ? iters / 10 : iters;
		double (*fn)(struct fm_volume *, unsigned long) =
			mode == MODE_FIBER ? run_fibers : run;

		fn(vol, n / 10 + 1); /* warm up */
		for (r = 0; r < reps; r++)
			t[r] = fn(vol, n);
		med[mode] = bench_median(t, reps);
		printf("%-7s %7.1f   %6.2fx\n", mode_names[mode], med[mode],
		       med[mode] / med[MODE_SYNC]);
	}
	pthread_mutex_lock(&slot_lock);
	stop = 1;
	pthread_cond_signal(&slot_cond);
	pthread_mutex_unlock(&slot_lock);
	pthread_join(th, NULL);
	printf("fibers parked at the end: %ld; resumer threads: %ld\n",
	       rtl_fibers_parked(), rtl_fiber_resumers());
	return 0;
}
