/*
 * dispatch_micro.c - cost of the filter manager's dispatch alone (no FUSE).
 *
 * Builds a volume with no I/O manager behind it (fm_volume_create with NULL
 * ops) and stacks 0, 1, 3 and 10 instances of in-process filters, each
 * registering IRP_MJ_READ with no-op pre/post callbacks (pre returns
 * FLT_PREOP_SUCCESS_WITH_CALLBACK, post FLT_POSTOP_FINISHED_PROCESSING).
 * The filters are built the way src/loader/loader.c builds them for an
 * image (fm_filter_alloc, fm_filter_bind_driver, then the filter's own
 * FltRegisterFilter + FltStartFiltering, which attaches it to every volume),
 * without a .so.  One operation is what the I/O manager does per request:
 *
 *	fm_op_init(&op, vol, IRP_MJ_READ, 0, &file_object, &requestor);
 *	fm_op_pre(&op);
 *	fm_op_complete(&op);
 *
 * For every stack size the loop runs single-threaded, then on T threads at
 * once (default 2) all on the same volume (they share its stack lock and
 * snapshot reference count), then on T threads each on its own volume with
 * the same filters attached (nothing shared but the read-only filter
 * objects).  Each case is timed R times and the median is reported, in ns
 * per operation as seen by one thread.  The per-instance cost is the least-squares slope of ns/op
 * over the instance counts.
 *
 * Usage: dispatch_micro [--quick] [--iters N] [--reps R] [--threads T]
 *                       [--csv FILE]
 */
#include "bench.h"
#include "fltmgr/fm.h"
#include "rtl/rtl.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_FILTERS 10
#define MAX_THREADS 64
#define MAX_REPS 51

static const unsigned counts[] = { 0, 1, 3, 10 };
#define NCOUNTS (sizeof(counts) / sizeof(counts[0]))

static volatile unsigned long sink;

static FLT_PREOP_CALLBACK_STATUS FLTAPI bench_pre(PFLT_CALLBACK_DATA Data,
						  PCFLT_RELATED_OBJECTS Objs,
						  PVOID *Ctx)
{
	(void)Data;
	(void)Objs;
	*Ctx = NULL;
	return FLT_PREOP_SUCCESS_WITH_CALLBACK;
}

static FLT_POSTOP_CALLBACK_STATUS FLTAPI bench_post(PFLT_CALLBACK_DATA Data,
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

static const FLT_OPERATION_REGISTRATION bench_ops[] = {
	{ IRP_MJ_READ, 0, bench_pre, bench_post, NULL },
	{ IRP_MJ_OPERATION_END, 0, NULL, NULL, NULL },
};

static const FLT_REGISTRATION bench_reg = {
	.Size = sizeof(FLT_REGISTRATION),
	.Version = FLT_REGISTRATION_VERSION,
	.OperationRegistration = bench_ops,
};

struct bench_filter {
	DRIVER_OBJECT driver;
	struct fm_filter *filter;
	PFLT_FILTER handle;
};

static struct bench_filter filters[MAX_FILTERS];

/* What loader_load + a minimal DriverEntry do, without dlopen. */
static int add_filter(unsigned i)
{
	char name[32], alt[32];
	NTSTATUS st;

	snprintf(name, sizeof(name), "bench%u", i);
	snprintf(alt, sizeof(alt), "%u", 370000 + 10 * i);
	filters[i].filter = fm_filter_alloc(name, alt);
	if (!filters[i].filter)
		return -ENOMEM;
	fm_filter_bind_driver(&filters[i].driver, filters[i].filter);
	st = FltRegisterFilter(&filters[i].driver, &bench_reg,
			       &filters[i].handle);
	if (!NT_SUCCESS(st)) {
		fprintf(stderr, "FltRegisterFilter(%s): 0x%08X\n", name,
			(unsigned)st);
		return -EINVAL;
	}
	st = FltStartFiltering(filters[i].handle);
	if (!NT_SUCCESS(st)) {
		fprintf(stderr, "FltStartFiltering(%s): 0x%08X\n", name,
			(unsigned)st);
		return -EINVAL;
	}
	return 0;
}

/* vols[0] is shared by every thread in the "same volume" runs; in the
 * "own volume" runs thread i uses vols[i]. */
static struct fm_volume *vols[MAX_THREADS];
static unsigned long iters = 2000000;
static unsigned reps = 5, nthreads = 2;

static double run_loop(struct fm_volume *vol, unsigned long n)
{
	FILE_OBJECT fo;
	struct fm_requestor req = { .tid = 1, .pid = 1 };
	struct fm_op_ctx op;
	unsigned long i, ok = 0;
	double t0, t1;

	memset(&fo, 0, sizeof(fo));
	t0 = bench_now_ns();
	for (i = 0; i < n; i++) {
		fm_op_init(&op, vol, IRP_MJ_READ, 0, &fo, &req);
		ok += fm_op_pre(&op);
		fm_op_complete(&op);
	}
	t1 = bench_now_ns();
	sink += ok;
	return (t1 - t0) / (double)n;
}

struct thread_arg {
	pthread_barrier_t *start;
	struct fm_volume *vol;
	double ns;
};

static void *thread_main(void *p)
{
	struct thread_arg *a = p;

	pthread_barrier_wait(a->start);
	a->ns = run_loop(a->vol, iters);
	return NULL;
}

/* ns/op per thread, averaged over the threads, of one timed run. */
static double run_threads(unsigned t, bool own_volume)
{
	pthread_t tid[MAX_THREADS];
	struct thread_arg arg[MAX_THREADS];
	pthread_barrier_t start;
	double sum = 0;
	unsigned i;

	if (t == 1)
		return run_loop(vols[0], iters);
	pthread_barrier_init(&start, NULL, t);
	for (i = 0; i < t; i++) {
		arg[i].start = &start;
		arg[i].vol = vols[own_volume ? i : 0];
		if (pthread_create(&tid[i], NULL, thread_main, &arg[i])) {
			perror("pthread_create");
			exit(1);
		}
	}
	for (i = 0; i < t; i++) {
		pthread_join(tid[i], NULL);
		sum += arg[i].ns;
	}
	pthread_barrier_destroy(&start);
	return sum / t;
}

static double median_of(unsigned t, bool own_volume)
{
	double v[MAX_REPS];
	unsigned r;

	run_threads(t, own_volume); /* warm-up */
	for (r = 0; r < reps; r++)
		v[r] = run_threads(t, own_volume);
	return bench_median(v, reps);
}

/* Least-squares slope of y over x. */
static double slope(const double *x, const double *y, unsigned n)
{
	double mx = 0, my = 0, sxy = 0, sxx = 0;
	unsigned i;

	for (i = 0; i < n; i++) {
		mx += x[i];
		my += y[i];
	}
	mx /= n;
	my /= n;
	for (i = 0; i < n; i++) {
		sxy += (x[i] - mx) * (y[i] - my);
		sxx += (x[i] - mx) * (x[i] - mx);
	}
	return sxx ? sxy / sxx : 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: dispatch_micro [--quick] [--iters N] [--reps R] "
		"[--threads T] [--csv FILE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	double x[NCOUNTS], st[NCOUNTS], mt[NCOUNTS], ot[NCOUNTS], s1, s2, s3;
	const char *csv = NULL;
	unsigned have = 0, c;
	char vname[32];
	FILE *out;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick")) {
			iters = 200000;
			reps = 3;
		} else if (!strcmp(argv[i], "--iters") && i + 1 < argc) {
			iters = strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
			reps = (unsigned)strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
			nthreads = (unsigned)strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--csv") && i + 1 < argc) {
			csv = argv[++i];
		} else {
			usage();
		}
	}
	if (!iters || !reps || reps > MAX_REPS || nthreads < 2 ||
	    nthreads > MAX_THREADS)
		usage();

	rtl_set_log_sink(bench_log_sink);
	/* Volumes first: FltStartFiltering attaches each filter to all. */
	for (c = 0; c < nthreads; c++) {
		snprintf(vname, sizeof(vname), "bench%u", c);
		if (fm_volume_create(vname, "/nonexistent", NULL, NULL,
				     &vols[c])) {
			fprintf(stderr, "fm_volume_create failed\n");
			return 1;
		}
	}
	for (c = 0; c < NCOUNTS; c++) {
		unsigned v;

		while (have < counts[c])
			if (add_filter(have++))
				return 1;
		for (v = 0; v < nthreads; v++)
			if (vols[v]->stack->count != counts[c] ||
			    vols[v]->stack->n_major[IRP_MJ_READ] != counts[c]) {
				fprintf(stderr,
					"expected %u instances, volume %u has %u\n",
					counts[c], v, vols[v]->stack->count);
				return 1;
			}
		x[c] = counts[c];
		st[c] = median_of(1, false);
		mt[c] = median_of(nthreads, false);
		ot[c] = median_of(nthreads, true);
	}
	s1 = slope(x, st, NCOUNTS);
	s2 = slope(x, mt, NCOUNTS);
	s3 = slope(x, ot, NCOUNTS);

	printf("Dispatch microbenchmark: fm_op_init + fm_op_pre + fm_op_complete "
	       "on IRP_MJ_READ,\nno-op pre+post per instance; ns per operation "
	       "as seen by one thread,\nmedian of %u runs of %lu ops per "
	       "thread.\n\n",
	       reps, iters);
	printf("| instances | 1 thread | %u threads, same volume | "
	       "%u threads, one volume each |\n", nthreads, nthreads);
	printf("|---:|---:|---:|---:|\n");
	for (c = 0; c < NCOUNTS; c++)
		printf("| %u | %.1f | %.1f | %.1f |\n", counts[c], st[c], mt[c],
		       ot[c]);
	printf("| slope (ns per instance) | %.1f | %.1f | %.1f |\n", s1, s2,
	       s3);
	printf("\nTarget <= 50 ns per instance per operation "
	       "(1 thread, and %u threads on their own volumes): %s\n",
	       nthreads, s1 <= 50 && s3 <= 50 ? "met" : "NOT met");
	fflush(stdout);

	if (csv) {
		out = fopen(csv, "w");
		if (!out) {
			perror(csv);
			return 1;
		}
		fprintf(out, "instances,threads,volumes,ns_per_op\n");
		for (c = 0; c < NCOUNTS; c++) {
			fprintf(out, "%u,1,1,%.2f\n", counts[c], st[c]);
			fprintf(out, "%u,%u,1,%.2f\n", counts[c], nthreads, mt[c]);
			fprintf(out, "%u,%u,%u,%.2f\n", counts[c], nthreads,
				nthreads, ot[c]);
		}
		fprintf(out, "slope,1,1,%.2f\nslope,%u,1,%.2f\nslope,%u,%u,%.2f\n",
			s1, nthreads, s2, nthreads, nthreads, s3);
		fclose(out);
	}

	for (c = 0; c < have; c++)
		FltUnregisterFilter(filters[c].handle);
	for (c = 0; c < nthreads; c++)
		fm_volume_destroy(vols[c]);
	return sink == 0xdeadbeef;
}
