/*
 * names_bench.c - what the name service and contexts cost a filter, in ns
 * per call, without FUSE.
 *
 * The volume's file_name hook is the one fltmgrd uses (fsb_path over the
 * real inode table of src/fsback, then the lossless UTF-16 codec), over a
 * temporary directory tree, so an uncached name costs what it costs in the
 * daemon: the file is /bench-dir-1/bench-dir-2/bench-dir-3/file-NN.txt.
 * One filter is attached through the same calls the loader makes.
 *
 *   name, cached      FltGetFileNameInformation(NORMALIZED|DEFAULT) that
 *                     hits the cache, plus FltReleaseFileNameInformation
 *   name, miss        the same after every rename (fm_names_changed): the
 *                     hook, an allocation and the cache fill
 *   name, uncached    NORMALIZED|FILESYSTEM_ONLY: the hook and an
 *                     allocation, the cache untouched
 *   name + parse      a cached name and FltParseFileNameInformation: the
 *                     shared structure was parsed by the first caller, so
 *                     this is what every later filter pays
 *   stream ctx get    FltGetStreamContext + FltReleaseContext
 *   stream ctx set    FltAllocateContext + FltSetStreamContext (REPLACE) +
 *                     FltReleaseContext of both (the old one is cleaned up)
 *   handle ctx get    FltGetStreamHandleContext + FltReleaseContext
 *   FltGetContexts    instance + stream + stream handle, then
 *                     FltReleaseContexts
 *
 * Each case runs single-threaded on one file and then on T threads at
 * once, each on its own file of the same volume (the volume's context lock
 * is what they share).  Each case is timed R times; the median is shown.
 *
 * Usage: names_bench [--quick] [--iters N] [--reps R] [--threads T]
 */
#include "bench.h"
#include "fltmgr/fm.h"
#include "fsback/fsback.h"
#include "rtl/rtl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 16
#define MAX_REPS 51

static struct fsb_fs fs;
static struct fm_volume *vol;
static PFLT_INSTANCE inst;
static PFLT_FILTER filter;
static unsigned long iters = 1000000;
static unsigned reps = 5, nthreads = 2;

struct file {
	struct fsb_inode *in;
	FILE_OBJECT fo;
	FLT_CALLBACK_DATA data;
	FLT_IO_PARAMETER_BLOCK iopb;
	FLT_RELATED_OBJECTS objs;
};
static struct file files[MAX_THREADS];

/* ---- the daemon's hook and a filter ---- */

static long bench_file_name(struct fm_volume *v, void *owner, PFILE_OBJECT fo,
			    WCHAR *buf, size_t cap)
{
	char path[PATH_MAX * 2];
	ssize_t n;

	(void)v;
	(void)owner;
	n = fsb_path(&fs, fo->FsContext, NULL, path, sizeof(path));
	if (n < 0)
		return (long)n;
	return (long)rtl_path_to_utf16(path, (size_t)n, buf, cap);
}

static const struct fm_volume_ops bench_volume_ops = { .file_name = bench_file_name };

static VOID FLTAPI bench_cleanup(PFLT_CONTEXT c, FLT_CONTEXT_TYPE t)
{
	(void)c;
	(void)t;
}

static const FLT_CONTEXT_REGISTRATION bench_contexts[] = {
	{ FLT_INSTANCE_CONTEXT, 0, bench_cleanup, 64, 'ibnB' },
	{ FLT_STREAM_CONTEXT, 0, bench_cleanup, 64, 'sbnB' },
	{ FLT_STREAMHANDLE_CONTEXT, 0, bench_cleanup, 64, 'hbnB' },
	{ FLT_CONTEXT_END }
};

static FLT_PREOP_CALLBACK_STATUS FLTAPI bench_pre(PFLT_CALLBACK_DATA d,
						  PCFLT_RELATED_OBJECTS o, PVOID *c)
{
	(void)d;
	(void)o;
	*c = NULL;
	return FLT_PREOP_SUCCESS_NO_CALLBACK;
}

static const FLT_OPERATION_REGISTRATION bench_ops[] = {
	{ IRP_MJ_READ, 0, bench_pre, NULL, NULL },
	{ IRP_MJ_OPERATION_END, 0, NULL, NULL, NULL },
};

static NTSTATUS FLTAPI bench_setup(PCFLT_RELATED_OBJECTS o, FLT_INSTANCE_SETUP_FLAGS f,
				   DEVICE_TYPE d, FLT_FILESYSTEM_TYPE t)
{
	(void)f;
	(void)d;
	(void)t;
	if ((struct fm_volume *)o->Volume == vol)
		inst = o->Instance;
	return STATUS_SUCCESS;
}

static const FLT_REGISTRATION bench_reg = {
	.Size = sizeof(FLT_REGISTRATION),
	.Version = FLT_REGISTRATION_VERSION,
	.ContextRegistration = bench_contexts,
	.OperationRegistration = bench_ops,
	.InstanceSetupCallback = bench_setup,
};

static void quiet(int priority, const char *message)
{
	if (priority <= LOG_WARNING)
		fprintf(stderr, "%s\n", message);
}

static void die(const char *what, long v)
{
	fprintf(stderr, "names_bench: %s: %ld\n", what, v);
	exit(1);
}

/* ---- the cases ---- */

typedef void (*bench_fn)(struct file *f, unsigned long n);

static void b_name_cached(struct file *f, unsigned long n)
{
	PFLT_FILE_NAME_INFORMATION ni;

	for (unsigned long i = 0; i < n; i++) {
		if (FltGetFileNameInformation(&f->data, FLT_FILE_NAME_NORMALIZED |
							       FLT_FILE_NAME_QUERY_DEFAULT,
					      &ni))
			die("cached name", (long)i);
		FltReleaseFileNameInformation(ni);
	}
}

static void b_name_miss(struct file *f, unsigned long n)
{
	PFLT_FILE_NAME_INFORMATION ni;

	for (unsigned long i = 0; i < n; i++) {
		fm_names_changed(vol);
		if (FltGetFileNameInformation(&f->data, FLT_FILE_NAME_NORMALIZED |
							       FLT_FILE_NAME_QUERY_DEFAULT,
					      &ni))
			die("name after a change", (long)i);
		FltReleaseFileNameInformation(ni);
	}
}

static void b_name_uncached(struct file *f, unsigned long n)
{
	PFLT_FILE_NAME_INFORMATION ni;

	for (unsigned long i = 0; i < n; i++) {
		if (FltGetFileNameInformation(&f->data, FLT_FILE_NAME_NORMALIZED |
							       FLT_FILE_NAME_QUERY_FILESYSTEM_ONLY,
					      &ni))
			die("uncached name", (long)i);
		FltReleaseFileNameInformation(ni);
	}
}

static void b_name_parse(struct file *f, unsigned long n)
{
	PFLT_FILE_NAME_INFORMATION ni;

	for (unsigned long i = 0; i < n; i++) {
		if (FltGetFileNameInformation(&f->data, FLT_FILE_NAME_NORMALIZED |
							       FLT_FILE_NAME_QUERY_DEFAULT,
					      &ni) ||
		    FltParseFileNameInformation(ni))
			die("parse", (long)i);
		FltReleaseFileNameInformation(ni);
	}
}

static void b_ctx_get(struct file *f, unsigned long n)
{
	PFLT_CONTEXT c;

	for (unsigned long i = 0; i < n; i++) {
		if (FltGetStreamContext(inst, &f->fo, &c))
			die("stream context get", (long)i);
		FltReleaseContext(c);
	}
}

static void b_ctx_set(struct file *f, unsigned long n)
{
	PFLT_CONTEXT c, old;

	for (unsigned long i = 0; i < n; i++) {
		if (FltAllocateContext(filter, FLT_STREAM_CONTEXT, 64, PagedPool, &c) ||
		    FltSetStreamContext(inst, &f->fo, FLT_SET_CONTEXT_REPLACE_IF_EXISTS, c,
					&old))
			die("stream context set", (long)i);
		if (old)
			FltReleaseContext(old);
		FltReleaseContext(c);
	}
}

static void b_sh_get(struct file *f, unsigned long n)
{
	PFLT_CONTEXT c;

	for (unsigned long i = 0; i < n; i++) {
		if (FltGetStreamHandleContext(inst, &f->fo, &c))
			die("stream handle context get", (long)i);
		FltReleaseContext(c);
	}
}

static void b_get_contexts(struct file *f, unsigned long n)
{
	FLT_RELATED_CONTEXTS rc;

	for (unsigned long i = 0; i < n; i++) {
		FltGetContexts(&f->objs,
			       FLT_INSTANCE_CONTEXT | FLT_STREAM_CONTEXT |
				       FLT_STREAMHANDLE_CONTEXT,
			       &rc);
		if (!rc.StreamContext)
			die("FltGetContexts", (long)i);
		FltReleaseContexts(&rc);
	}
}

static const struct {
	const char *name;
	bench_fn fn;
	unsigned divisor; /* slow cases run iters / divisor times */
} cases[] = {
	{ "name, cached (hit)", b_name_cached, 1 },
	{ "name, miss after a change", b_name_miss, 4 },
	{ "name, uncached (FILESYSTEM_ONLY)", b_name_uncached, 4 },
	{ "name, cached + parse (parsed before)", b_name_parse, 1 },
	{ "stream context get+release", b_ctx_get, 1 },
	{ "stream context allocate+set+release", b_ctx_set, 4 },
	{ "stream handle context get+release", b_sh_get, 1 },
	{ "FltGetContexts (3 types) + release", b_get_contexts, 1 },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

struct job {
	bench_fn fn;
	struct file *f;
	unsigned long n;
	pthread_barrier_t *start;
	double ns;
};

static void *job_run(void *arg)
{
	struct job *j = arg;
	double t0;

	pthread_barrier_wait(j->start);
	t0 = bench_now_ns();
	j->fn(j->f, j->n);
	j->ns = (bench_now_ns() - t0) / (double)j->n;
	return NULL;
}

/* ns per call as one of t threads sees it (the mean over the threads). */
static double run_case(bench_fn fn, unsigned long n, unsigned t)
{
	pthread_t th[MAX_THREADS];
	struct job jobs[MAX_THREADS];
	pthread_barrier_t start;
	double sum = 0;

	pthread_barrier_init(&start, NULL, t);
	for (unsigned i = 0; i < t; i++) {
		jobs[i] = (struct job){ fn, &files[i], n, &start, 0 };
		if (pthread_create(&th[i], NULL, job_run, &jobs[i]))
			die("pthread_create", (long)i);
	}
	for (unsigned i = 0; i < t; i++) {
		pthread_join(th[i], NULL);
		sum += jobs[i].ns;
	}
	pthread_barrier_destroy(&start);
	return sum / t;
}

static double median_case(bench_fn fn, unsigned long n, unsigned t)
{
	double v[MAX_REPS];

	for (unsigned r = 0; r < reps; r++)
		v[r] = run_case(fn, n, t);
	return bench_median(v, reps);
}

/* ---- the fixture: a real tree, inodes, the filter, the contexts ---- */

static char tmpdir[] = "/tmp/names-bench.XXXXXX";

static void make_tree(void)
{
	static const char *dirs[] = { "bench-dir-1", "bench-dir-2", "bench-dir-3" };
	struct fsb_inode *parent;
	struct stat st;
	char path[PATH_MAX];
	int root_fd, r;
	size_t len;

	if (!mkdtemp(tmpdir))
		die("mkdtemp", errno);
	snprintf(path, sizeof(path), "%s", tmpdir);
	for (size_t i = 0; i < 3; i++) {
		len = strlen(path);
		snprintf(path + len, sizeof(path) - len, "/%s", dirs[i]);
		if (mkdir(path, 0755))
			die("mkdir", errno);
	}
	for (unsigned i = 0; i < MAX_THREADS; i++) {
		char f[PATH_MAX + 32];

		snprintf(f, sizeof(f), "%s/file-%02u.txt", path, i);
		r = open(f, O_CREAT | O_WRONLY, 0644);
		if (r < 0)
			die("create", errno);
		close(r);
	}
	root_fd = open(tmpdir, O_PATH | O_DIRECTORY);
	if (root_fd < 0 || fsb_init(&fs, root_fd))
		die("fsb_init", errno);
	parent = &fs.root;
	for (size_t i = 0; i < 3; i++) {
		r = fsb_lookup(&fs, parent, dirs[i], &st, &parent);
		if (r)
			die("lookup", r);
	}
	for (unsigned i = 0; i < MAX_THREADS; i++) {
		char name[32];
		struct file *f = &files[i];

		snprintf(name, sizeof(name), "file-%02u.txt", i);
		r = fsb_lookup(&fs, parent, name, &st, &f->in);
		if (r)
			die("lookup", r);
	}
}

static void remove_tree(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "names_bench: could not remove %s\n", tmpdir);
}

static void setup(void)
{
	static DRIVER_OBJECT drv;
	struct fm_filter *f;
	PFLT_CONTEXT c;

	rtl_set_log_sink(quiet);
	make_tree();
	if (fm_volume_create("bench", tmpdir, &bench_volume_ops, NULL, &vol))
		die("fm_volume_create", 0);
	f = fm_filter_alloc("namesbench", "370000");
	fm_filter_bind_driver(&drv, f);
	if (FltRegisterFilter(&drv, &bench_reg, &filter) || FltStartFiltering(filter) ||
	    !inst)
		die("filter", 0);
	if (FltAllocateContext(filter, FLT_INSTANCE_CONTEXT, 64, PagedPool, &c) ||
	    FltSetInstanceContext(inst, FLT_SET_CONTEXT_KEEP_IF_EXISTS, c, NULL))
		die("instance context", 0);
	FltReleaseContext(c);
	for (unsigned i = 0; i < MAX_THREADS; i++) {
		struct file *fl = &files[i];

		memset(&fl->fo, 0, sizeof(fl->fo));
		fl->fo.Type = 5;
		fl->fo.Size = sizeof(fl->fo);
		fl->fo.FsContext = fl->in;
		memset(&fl->iopb, 0, sizeof(fl->iopb));
		memset(&fl->data, 0, sizeof(fl->data));
		fl->data.Iopb = &fl->iopb;
		fl->data.Flags = FLTFL_CALLBACK_DATA_IRP_OPERATION;
		fl->iopb.MajorFunction = IRP_MJ_READ;
		fl->iopb.TargetFileObject = &fl->fo;
		fl->iopb.TargetInstance = inst;
		fl->objs = (FLT_RELATED_OBJECTS){ sizeof(fl->objs), 0, filter,
						  (PFLT_VOLUME)vol, inst, &fl->fo, NULL };
		if (FltAllocateContext(filter, FLT_STREAM_CONTEXT, 64, PagedPool, &c) ||
		    FltSetStreamContext(inst, &fl->fo, FLT_SET_CONTEXT_KEEP_IF_EXISTS, c,
					NULL))
			die("stream context", (long)i);
		FltReleaseContext(c);
		if (FltAllocateContext(filter, FLT_STREAMHANDLE_CONTEXT, 64, PagedPool, &c) ||
		    FltSetStreamHandleContext(inst, &fl->fo, FLT_SET_CONTEXT_KEEP_IF_EXISTS,
					      c, NULL))
			die("stream handle context", (long)i);
		FltReleaseContext(c);
	}
}

static void teardown(void)
{
	ULONGLONG hits, misses;

	FltGetFileNameCacheStatisticsLx((PFLT_VOLUME)vol, &hits, &misses);
	printf("\nname cache over the run: %llu hits, %llu misses\n",
	       (unsigned long long)hits, (unsigned long long)misses);
	for (unsigned i = 0; i < MAX_THREADS; i++) {
		fm_file_object_gone(vol, &files[i].fo);
		fm_stream_gone(vol, (struct fm_fcb_header *)files[i].in);
	}
	FltUnregisterFilter(filter);
	fm_volume_destroy(vol);
	fsb_destroy(&fs);
	remove_tree();
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick")) {
			iters = 100000;
			reps = 3;
		} else if (!strcmp(argv[i], "--iters") && i + 1 < argc) {
			iters = strtoul(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
			reps = (unsigned)strtoul(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
			nthreads = (unsigned)strtoul(argv[++i], NULL, 10);
		} else {
			fprintf(stderr,
				"usage: names_bench [--quick] [--iters N] [--reps R] [--threads T]\n");
			return 2;
		}
	}
	if (!iters || !reps || reps > MAX_REPS || !nthreads || nthreads > MAX_THREADS) {
		fprintf(stderr, "names_bench: bad arguments\n");
		return 2;
	}
	setup();
	printf("names_bench: %lu iterations (slow cases / 4), median of %u runs, %u threads\n",
	       iters, reps, nthreads);
	printf("name: \\Device\\bench\\bench-dir-1\\bench-dir-2\\bench-dir-3\\file-NN.txt\n\n");
	printf("| case | ns/call, 1 thread | ns/call, %u threads |\n", nthreads);
	printf("|---|---:|---:|\n");
	for (size_t k = 0; k < NCASES; k++) {
		unsigned long n = iters / cases[k].divisor;
		double one = median_case(cases[k].fn, n, 1);
		double many = median_case(cases[k].fn, n, nthreads);

		printf("| %s | %.1f | %.1f |\n", cases[k].name, one, many);
		fflush(stdout);
	}
	teardown();
	return 0;
}
