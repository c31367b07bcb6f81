/*
 * test_fm_dispatch.c - running operations through an instance stack, and the
 * life of instances: attach, setup flags, teardown and references.
 *
 * Filters here are plain structures in the test (struct tf) registered with
 * a DRIVER_OBJECT bound the way the loader binds one; FltStartFiltering
 * attaches them to the volume "vol" every test starts with.  Callbacks
 * append "<instance>.<event>" to a trace, and "FS" marks the point where
 * the operation reached the file system, so an expected order reads like
 * "A.pre B.pre FS B.post A.post".  Callbacks also count every contract
 * violation they see (wrong related objects, wrong completion context) in
 * tf.bad, which each test checks is zero.
 *
 * Tests that use threads bound every wait; when one gives up, the test
 * marks the process wedged and the teardown leaves the core alone rather
 * than block on a stuck instance.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "fltmgr/fm.h"

#define MAXF 6
#define WAIT_MS 5000

struct tf {
	/* Set by the test before tf_start. */
	const char *name;
	const char *alt;
	UCHAR majors[8];
	unsigned nmajors;
	ULONG op_flags;
	bool no_pre, no_post, no_start;
	FLT_PREOP_CALLBACK_STATUS pre_ret;
	NTSTATUS complete_status; /* with FLT_PREOP_COMPLETE */
	bool post_set;
	NTSTATUS post_status;
	NTSTATUS setup_ret;
	ULONG new_write_length; /* non-zero: pre rewrites Write.Length */
	bool block_pre; /* pre waits for sync.release */
	bool capture_requestor;
	/* With FLT_PREOP_PENDING: 1 completes inside the callback, 2 from
	 * another thread 50 ms later, with pend_verdict. */
	int pend_mode;
	FLT_PREOP_CALLBACK_STATUS pend_verdict;
	/* Post returns FLT_POSTOP_MORE_PROCESSING_REQUIRED; another thread
	 * completes it 50 ms later. */
	bool post_hold;

	/* Observed. */
	int pre_calls, post_calls;
	int setup_calls;
	FLT_INSTANCE_SETUP_FLAGS setup_flags;
	DEVICE_TYPE setup_devtype;
	FLT_FILESYSTEM_TYPE setup_fstype;
	int td_start, td_complete;
	FLT_INSTANCE_TEARDOWN_FLAGS td_start_reason, td_complete_reason;
	long seq_pre, seq_post, seq_td_start, seq_td_complete;
	NTSTATUS post_seen_status;
	ULONG pre_seen_length, post_seen_length;
	int bad;

	struct fm_filter *f;
	DRIVER_OBJECT drv;
	PFLT_FILTER h;
	FLT_REGISTRATION reg;
	FLT_OPERATION_REGISTRATION ops[9];
};

static struct tf pool[MAXF];
static unsigned npool;
static struct fm_volume *vol, *vol2;
static bool wedged;

static pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;
static char trace[4096];
static atomic_long seq;

/* What the requestor callbacks saw. */
static struct {
	ULONG pid, tid_lx, uid, gid;
	HANDLE pid_ex, tid, thread_pid;
	PEPROCESS process, thread_process;
	NTSTATUS ids_status;
} seen;

/* Hand-over between a blocked pre callback, teardown and the test. */
static struct {
	pthread_mutex_t m;
	pthread_cond_t c;
	bool pre_entered, release, td_started, td_completed, detach_done;
} sync_ = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER };

/* ---- Helpers ------------------------------------------------------------- */

static void trace_add(const char *who, const char *what)
{
	size_t n;

	pthread_mutex_lock(&trace_lock);
	n = strlen(trace);
	snprintf(trace + n, sizeof(trace) - n, "%s%s.%s", n ? " " : "", who,
		 what);
	pthread_mutex_unlock(&trace_lock);
}

static void trace_fs(void)
{
	size_t n;

	pthread_mutex_lock(&trace_lock);
	n = strlen(trace);
	snprintf(trace + n, sizeof(trace) - n, "%sFS", n ? " " : "");
	pthread_mutex_unlock(&trace_lock);
}

static void trace_clear(void)
{
	pthread_mutex_lock(&trace_lock);
	trace[0] = 0;
	pthread_mutex_unlock(&trace_lock);
}

static void expect_trace(const char *want)
{
	pthread_mutex_lock(&trace_lock);
	if (strcmp(trace, want)) {
		char got[sizeof(trace)];

		strcpy(got, trace);
		pthread_mutex_unlock(&trace_lock);
		fail_msg("trace\n  got:  '%s'\n  want: '%s'", got, want);
	}
	trace[0] = 0;
	pthread_mutex_unlock(&trace_lock);
}

static void sync_set(bool *flag)
{
	pthread_mutex_lock(&sync_.m);
	*flag = true;
	pthread_cond_broadcast(&sync_.c);
	pthread_mutex_unlock(&sync_.m);
}

static bool sync_get(const bool *flag)
{
	bool v;

	pthread_mutex_lock(&sync_.m);
	v = *flag;
	pthread_mutex_unlock(&sync_.m);
	return v;
}

/* Waits up to ms for *flag; returns its value. */
static bool sync_wait(const bool *flag, int ms)
{
	struct timespec ts;
	bool v;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&sync_.m);
	while (!*flag)
		if (pthread_cond_timedwait(&sync_.c, &sync_.m, &ts) == ETIMEDOUT)
			break;
	v = *flag;
	pthread_mutex_unlock(&sync_.m);
	return v;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static bool join_within(pthread_t t, int ms, void **ret)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000 + 1;
	return pthread_timedjoin_np(t, ret, &ts) == 0;
}

static struct tf *tf_of(PFLT_FILTER filter)
{
	for (unsigned i = 0; i < npool; i++)
		if ((PFLT_FILTER)pool[i].f == filter)
			return &pool[i];
	return NULL;
}

static const char *inst_name(PFLT_INSTANCE instance)
{
	return ((struct fm_instance *)instance)->name;
}

/* Related objects as the filter manager must give them. */
static bool objects_ok(struct tf *t, PFLT_CALLBACK_DATA Data,
		       PCFLT_RELATED_OBJECTS o)
{
	struct fm_instance *inst = (struct fm_instance *)o->Instance;

	return t && o->Size == sizeof(*o) && inst &&
	       inst->obj.type == FM_OBJ_INSTANCE && inst->filter == t->f &&
	       o->Filter == (PFLT_FILTER)t->f &&
	       o->Volume == (PFLT_VOLUME)inst->volume &&
	       o->FileObject == Data->Iopb->TargetFileObject &&
	       Data->Iopb->TargetInstance == o->Instance &&
	       FLT_IS_IRP_OPERATION(Data);
}

/* ---- Callbacks ------------------------------------------------------------- */

static void capture_requestor(PFLT_CALLBACK_DATA Data)
{
	seen.pid = FltGetRequestorProcessId(Data);
	seen.pid_ex = FltGetRequestorProcessIdEx(Data);
	seen.tid = PsGetThreadId(Data->Thread);
	seen.tid_lx = FltGetRequestorThreadIdLx(Data);
	seen.thread_pid = PsGetThreadProcessId(Data->Thread);
	seen.process = FltGetRequestorProcess(Data);
	seen.thread_process = IoThreadToProcess(FltGetRequestorThread(Data));
	seen.ids_status = FltGetRequestorLxIds(Data, &seen.uid, &seen.gid);
}

/* Completes a pended operation from another thread, 50 ms from now. */
struct later_args {
	PFLT_CALLBACK_DATA data;
	FLT_PREOP_CALLBACK_STATUS verdict;
	PVOID ctx;
	bool post;
};

static void *later_main(void *arg)
{
	struct later_args *a = arg;
	struct timespec ts = { 0, 50000000 };

	nanosleep(&ts, NULL);
	if (a->post)
		FltCompletePendedPostOperation(a->data);
	else
		FltCompletePendedPreOperation(a->data, a->verdict, a->ctx);
	free(a);
	return NULL;
}

static void later(PFLT_CALLBACK_DATA data, FLT_PREOP_CALLBACK_STATUS verdict,
		  PVOID ctx, bool post)
{
	struct later_args *a = malloc(sizeof(*a));
	pthread_t th;

	assert_non_null(a);
	a->data = data;
	a->verdict = verdict;
	a->ctx = ctx;
	a->post = post;
	assert_int_equal(pthread_create(&th, NULL, later_main, a), 0);
	pthread_detach(th);
}

static FLT_PREOP_CALLBACK_STATUS FLTAPI t_pre(PFLT_CALLBACK_DATA Data,
					      PCFLT_RELATED_OBJECTS o,
					      PVOID *CompletionContext)
{
	struct tf *t = tf_of(o->Filter);

	if (!t)
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	trace_add(inst_name(o->Instance), "pre");
	t->pre_calls++;
	t->seq_pre = atomic_fetch_add(&seq, 1);
	if (!objects_ok(t, Data, o) ||
	    (Data->Flags & FLTFL_CALLBACK_DATA_POST_OPERATION) ||
	    *CompletionContext != NULL)
		t->bad++;
	t->pre_seen_length = Data->Iopb->Parameters.Write.Length;
	if (t->capture_requestor)
		capture_requestor(Data);
	if (t->block_pre) {
		sync_set(&sync_.pre_entered);
		if (!sync_wait(&sync_.release, WAIT_MS))
			t->bad++;
	}
	if (t->new_write_length) {
		Data->Iopb->Parameters.Write.Length = t->new_write_length;
		FltSetCallbackDataDirty(Data);
	}
	/* Each instance's own context: its instance pointer. */
	*CompletionContext = o->Instance;
	if (t->pre_ret == FLT_PREOP_COMPLETE ||
	    t->pre_ret == FLT_PREOP_PENDING) {
		Data->IoStatus.Status = t->complete_status;
		Data->IoStatus.Information = 0;
	}
	if (t->pre_ret == FLT_PREOP_PENDING) {
		if (t->pend_mode == 1)
			FltCompletePendedPreOperation(Data, t->pend_verdict,
						      o->Instance);
		else
			later(Data, t->pend_verdict, o->Instance, false);
	}
	return t->pre_ret;
}

static FLT_POSTOP_CALLBACK_STATUS FLTAPI t_post(PFLT_CALLBACK_DATA Data,
						PCFLT_RELATED_OBJECTS o,
						PVOID CompletionContext,
						FLT_POST_OPERATION_FLAGS Flags)
{
	struct tf *t = tf_of(o->Filter);
	PVOID want = t && t->no_pre ? NULL : o->Instance;

	(void)Flags;
	if (!t)
		return FLT_POSTOP_FINISHED_PROCESSING;
	trace_add(inst_name(o->Instance), "post");
	t->post_calls++;
	t->seq_post = atomic_fetch_add(&seq, 1);
	if (!objects_ok(t, Data, o) ||
	    !(Data->Flags & FLTFL_CALLBACK_DATA_POST_OPERATION) ||
	    CompletionContext != want)
		t->bad++;
	t->post_seen_status = Data->IoStatus.Status;
	t->post_seen_length = Data->Iopb->Parameters.Write.Length;
	if (t->post_set)
		Data->IoStatus.Status = t->post_status;
	if (t->post_hold) {
		later(Data, 0, NULL, true);
		return FLT_POSTOP_MORE_PROCESSING_REQUIRED;
	}
	return FLT_POSTOP_FINISHED_PROCESSING;
}

static NTSTATUS FLTAPI t_setup(PCFLT_RELATED_OBJECTS o,
			       FLT_INSTANCE_SETUP_FLAGS Flags,
			       DEVICE_TYPE VolumeDeviceType,
			       FLT_FILESYSTEM_TYPE VolumeFilesystemType)
{
	struct tf *t = tf_of(o->Filter);

	if (!t)
		return STATUS_FLT_DO_NOT_ATTACH;
	trace_add(inst_name(o->Instance), "setup");
	t->setup_calls++;
	t->setup_flags = Flags;
	t->setup_devtype = VolumeDeviceType;
	t->setup_fstype = VolumeFilesystemType;
	if (o->Size != sizeof(*o) || !o->Volume ||
	    ((struct fm_instance *)o->Instance)->filter != t->f)
		t->bad++;
	return t->setup_ret;
}

static VOID FLTAPI t_teardown_start(PCFLT_RELATED_OBJECTS o,
				    FLT_INSTANCE_TEARDOWN_FLAGS Reason)
{
	struct tf *t = tf_of(o->Filter);

	trace_add(inst_name(o->Instance), "tdstart");
	t->td_start++;
	t->td_start_reason = Reason;
	t->seq_td_start = atomic_fetch_add(&seq, 1);
	sync_set(&sync_.td_started);
}

static VOID FLTAPI t_teardown_complete(PCFLT_RELATED_OBJECTS o,
				       FLT_INSTANCE_TEARDOWN_FLAGS Reason)
{
	struct tf *t = tf_of(o->Filter);

	trace_add(inst_name(o->Instance), "tdcomplete");
	t->td_complete++;
	t->td_complete_reason = Reason;
	t->seq_td_complete = atomic_fetch_add(&seq, 1);
	sync_set(&sync_.td_completed);
}

/* ---- Filters and operations ------------------------------------------------ */

static struct tf *tf_new(const char *name, const char *alt)
{
	struct tf *t;

	assert_true(npool < MAXF);
	t = &pool[npool++];
	memset(t, 0, sizeof(*t));
	t->name = name;
	t->alt = alt;
	t->majors[0] = IRP_MJ_WRITE;
	t->majors[1] = IRP_MJ_READ;
	t->nmajors = 2;
	t->pre_ret = FLT_PREOP_SUCCESS_WITH_CALLBACK;
	t->setup_ret = STATUS_SUCCESS;
	return t;
}

static void tf_start(struct tf *t)
{
	unsigned i;

	for (i = 0; i < t->nmajors; i++) {
		t->ops[i].MajorFunction = t->majors[i];
		t->ops[i].Flags = t->op_flags;
		t->ops[i].PreOperation = t->no_pre ? NULL : t_pre;
		t->ops[i].PostOperation = t->no_post ? NULL : t_post;
	}
	t->ops[i].MajorFunction = IRP_MJ_OPERATION_END;
	t->reg.Size = sizeof(t->reg);
	t->reg.Version = FLT_REGISTRATION_VERSION;
	t->reg.OperationRegistration = t->ops;
	t->reg.InstanceSetupCallback = t_setup;
	t->reg.InstanceTeardownStartCallback = t_teardown_start;
	t->reg.InstanceTeardownCompleteCallback = t_teardown_complete;

	t->f = fm_filter_alloc(t->name, t->alt);
	assert_non_null(t->f);
	fm_filter_bind_driver(&t->drv, t->f);
	assert_int_equal(FltRegisterFilter(&t->drv, &t->reg, &t->h),
			 STATUS_SUCCESS);
	if (!t->no_start)
		assert_int_equal(FltStartFiltering(t->h), STATUS_SUCCESS);
}

/* Three filters, registered out of altitude order. */
static void three(struct tf **a, struct tf **b, struct tf **c)
{
	*b = tf_new("B", "200000");
	*c = tf_new("C", "100000");
	*a = tf_new("A", "300000");
}

static void start3(struct tf *a, struct tf *b, struct tf *c)
{
	tf_start(b);
	tf_start(c);
	tf_start(a);
	trace_clear();
}

struct op_result {
	bool went_down;
	NTSTATUS status;
	ULONG fs_length;
};

static struct op_result run_op_on(struct fm_volume *v, UCHAR major,
				  ULONG irp_flags, ULONG write_length)
{
	struct fm_requestor r = { .tid = gettid(), .uid = 1000, .gid = 1000 };
	struct op_result res = { 0 };
	struct fm_op_ctx op;
	FILE_OBJECT fo;

	memset(&fo, 0, sizeof(fo));
	fm_op_init(&op, v, major, 0, &fo, &r);
	op.iopb.IrpFlags = irp_flags;
	op.iopb.Parameters.Write.Length = write_length;
	res.went_down = fm_op_pre(&op);
	if (res.went_down) {
		trace_fs();
		res.fs_length = op.iopb.Parameters.Write.Length;
		op.data.IoStatus.Status = STATUS_SUCCESS;
	}
	fm_op_complete(&op);
	assert_null(op.stack);
	res.status = op.data.IoStatus.Status;
	return res;
}

static struct op_result run_op(UCHAR major, ULONG irp_flags)
{
	return run_op_on(vol, major, irp_flags, 0);
}

/* Instance names of a volume's stack, top first, space separated. */
static const char *stack_names(struct fm_volume *v)
{
	static char buf[256];
	struct fm_stack *s = fm_stack_get(v);

	buf[0] = 0;
	for (unsigned i = 0; i < s->count; i++) {
		size_t n = strlen(buf);

		snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? " " : "",
			 s->inst[i]->name);
	}
	fm_stack_put(v, s);
	return buf;
}

static struct fm_instance *find_inst(struct fm_volume *v, const char *name)
{
	struct fm_instance *found = NULL;
	struct fm_stack *s = fm_stack_get(v);

	for (unsigned i = 0; i < s->count; i++)
		if (!strcmp(s->inst[i]->name, name))
			found = s->inst[i];
	fm_stack_put(v, s);
	return found;
}

static void expect_no_violations(void)
{
	for (unsigned i = 0; i < npool; i++)
		if (pool[i].bad)
			fail_msg("filter %s saw %d contract violations",
				 pool[i].name, pool[i].bad);
}

/* ---- Fixture ------------------------------------------------------------------ */

static int setup(void **state)
{
	(void)state;
	npool = 0;
	memset(pool, 0, sizeof(pool));
	memset(&seen, 0, sizeof(seen));
	trace_clear();
	atomic_store(&seq, 1);
	sync_.pre_entered = sync_.release = sync_.td_started = false;
	sync_.td_completed = sync_.detach_done = false;
	vol2 = NULL;
	if (wedged)
		return -1;
	return fm_volume_create("vol", "/tmp", NULL, NULL, &vol);
}

static int teardown(void **state)
{
	(void)state;
	if (wedged)
		return 0; /* leave stuck objects alone */
	for (unsigned i = 0; i < npool; i++) {
		if (!pool[i].f)
			continue;
		if (pool[i].f->reg.Size)
			FltUnregisterFilter((PFLT_FILTER)pool[i].f);
		fm_filter_free(pool[i].f);
		pool[i].f = NULL;
	}
	if (vol2)
		fm_volume_destroy(vol2);
	fm_volume_destroy(vol);
	vol = vol2 = NULL;
	return 0;
}

/* ---- Order ----------------------------------------------------------------------- */

static void test_order(void **state)
{
	struct tf *a, *b, *c;
	struct op_result r;

	(void)state;
	three(&a, &b, &c);
	start3(a, b, c);
	assert_string_equal(stack_names(vol), "A B C");
	r = run_op(IRP_MJ_WRITE, 0);
	assert_true(r.went_down);
	assert_int_equal(r.status, STATUS_SUCCESS);
	expect_trace("A.pre B.pre C.pre FS C.post B.post A.post");
	r = run_op(IRP_MJ_READ, 0);
	expect_trace("A.pre B.pre C.pre FS C.post B.post A.post");
	expect_no_violations();
}

/* Fractional altitudes sort numerically, between their neighbours. */
static void test_order_fractional_altitudes(void **state)
{
	struct tf *a, *b, *c, *d, *e;

	(void)state;
	three(&a, &b, &c);
	d = tf_new("D", "200000.5");
	e = tf_new("E", "99999.99");
	start3(a, b, c);
	tf_start(e);
	tf_start(d);
	trace_clear();
	assert_string_equal(stack_names(vol), "A D B C E");
	run_op(IRP_MJ_WRITE, 0);
	expect_trace("A.pre D.pre B.pre C.pre E.pre FS "
		     "E.post C.post B.post D.post A.post");
	expect_no_violations();
}

static void test_only_registered_majors(void **state)
{
	struct tf *a, *b, *c;
	struct op_result r;

	(void)state;
	three(&a, &b, &c);
	b->majors[0] = IRP_MJ_READ;
	b->nmajors = 1;
	c->majors[0] = IRP_MJ_WRITE;
	c->nmajors = 1;
	start3(a, b, c);
	run_op(IRP_MJ_WRITE, 0);
	expect_trace("A.pre C.pre FS C.post A.post");
	run_op(IRP_MJ_READ, 0);
	expect_trace("A.pre B.pre FS B.post A.post");
	r = run_op(IRP_MJ_QUERY_INFORMATION, 0);
	assert_true(r.went_down);
	expect_trace("FS");
	expect_no_violations();
}

/* A negative (FSFilter) major code dispatches like any other. */
static void test_negative_major_dispatch(void **state)
{
	struct tf *a, *b, *c;

	(void)state;
	three(&a, &b, &c);
	a->majors[0] = IRP_MJ_ACQUIRE_FOR_SECTION_SYNCHRONIZATION;
	a->nmajors = 1;
	c->majors[0] = IRP_MJ_ACQUIRE_FOR_SECTION_SYNCHRONIZATION;
	c->majors[1] = IRP_MJ_VOLUME_DISMOUNT;
	start3(a, b, c);
	run_op(IRP_MJ_ACQUIRE_FOR_SECTION_SYNCHRONIZATION, 0);
	expect_trace("A.pre C.pre FS C.post A.post");
	run_op(IRP_MJ_VOLUME_DISMOUNT, 0);
	expect_trace("C.pre FS C.post");
	run_op(IRP_MJ_RELEASE_FOR_SECTION_SYNCHRONIZATION, 0);
	expect_trace("FS");
	expect_no_violations();
}

/* ---- Pre-operation status -------------------------------------------------------- */

static void test_success_no_callback(void **state)
{
	struct tf *a, *b, *c;
	struct op_result r;

	(void)state;
	three(&a, &b, &c);
	b->pre_ret = FLT_PREOP_SUCCESS_NO_CALLBACK;
	start3(a, b, c);
	r = run_op(IRP_MJ_WRITE, 0);
	assert_true(r.went_down);
	expect_trace("A.pre B.pre C.pre FS C.post A.post");
	assert_int_equal(b->post_calls, 0);
	expect_no_violations();
}

static void test_synchronize_gets_post(void **state)
{
	struct tf *a, *b, *c;

	(void)state;
	three(&a, &b, &c);
	b->pre_ret = FLT_PREOP_SYNCHRONIZE;
	start3(a, b, c);
	run_op(IRP_MJ_WRITE, 0);
	expect_trace("A.pre B.pre C.pre FS C.post B.post A.post");
	expect_no_violations();
}

static void test_complete_in_middle(void **state)
{
	struct tf *a, *b, *c;
	struct op_result r;

	(void)state;
	three(&a, &b, &c);
	b->pre_ret = FLT_PREOP_COMPLETE;
	b->complete_status = STATUS_ACCESS_DENIED;
	start3(a, b, c);
	r = run_op(IRP_MJ_WRITE, 0);
	assert_false(r.went_down);
	assert_int_equal(r.status, STATUS_ACCESS_DENIED);
	expect_trace("A.pre B.pre A.post");
	assert_int_equal(c->pre_calls, 0);
	assert_int_equal(b->post_calls, 0);
	assert_int_equal(a->post_seen_status, STATUS_ACCESS_DENIED);
	expect_no_violations();
}

static void test_complete_at_top(void **state)
{
	struct tf *a, *b, *c;
	struct op_result r;

	(void)state;
	three(&a, &b, &c);
	a->pre_ret = FLT_PREOP_COMPLETE;
	a->complete_status = STATUS_SHARING_VIOLATION;
	start3(a, b, c);
	r = run_op(IRP_MJ_WRITE, 0);
	assert_false(r.went_down);
	assert_int_equal(r.status, STATUS_SHARING_VIOLATION);
	expect_trace("A.pre");
	expect_no_violations();
}

/* Completing with a success status is fine; the caller gets it. */
static void test_complete_with_success(void **state)
{
	struct tf *a, *b, *c;
	struct op_result r;

	(void)state;
	three(&a, &b, &c);
	c->pre_ret = FLT_PREOP_COMPLETE;
	c->complete_status = STATUS_SUCCESS;
	start3(a, b, c);
	r = run_op(IRP_MJ_WRITE, 0);
	assert_false(r.went_down);
	assert_int_equal(r.status, STATUS_SUCCESS);
	expect_trace("A.pre B.pre C.pre B.post A.post");
	expect_no_violations();
}

static void test_complete_with_pending_status(void **state)
{
	struct tf *a, *b, *c;
	struct op_result r;

	(void)state;
	three(&a, &b, &c);
	b->pre_ret = FLT_PREOP_COMPLETE;
	b->complete_status = STATUS_PENDING;
	start3(a, b, c);
	r = run_op(IRP_MJ_WRITE, 0);
	assert_false(r.went_down);
	assert_int_equal(r.status, STATUS_INVALID_DEVICE_STATE);
	expect_trace("A.pre B.pre A.post");
	assert_int_equal(a->post_seen_status, STATUS_INVALID_DEVICE_STATE);
	expect_no_violations();
}

/* Pended, completed from another thread: the walk goes on below B. */
static void test_pending_completed_later(void **state)
{
	struct tf *a, *b, *c;
	struct op_result r;

	(void)state;
	three(&a, &b, &c);
	b->pre_ret = FLT_PREOP_PENDING;
	b->pend_mode = 2;
	b->pend_verdict = FLT_PREOP_SUCCESS_WITH_CALLBACK;
	start3(a, b, c);
	r = run_op(IRP_MJ_WRITE, 0);
	assert_true(r.went_down);
	assert_int_equal(r.status, STATUS_SUCCESS);
	expect_trace("A.pre B.pre C.pre FS C.post B.post A.post");
	assert_int_equal(fm_pending_count(), 0);
	expect_no_violations();
}

/* Completed inside the callback before it returned PENDING, with
 * FLT_PREOP_COMPLETE: the status is the filter's, nothing below runs. */
static void test_pending_completed_early_deny(void **state)
{
	struct tf *a, *b, *c;
	struct op_result r;

	(void)state;
	three(&a, &b, &c);
	b->pre_ret = FLT_PREOP_PENDING;
	b->complete_status = STATUS_ACCESS_DENIED;
	b->pend_mode = 1;
	b->pend_verdict = FLT_PREOP_COMPLETE;
	start3(a, b, c);
	r = run_op(IRP_MJ_WRITE, 0);
	assert_false(r.went_down);
	assert_int_equal(r.status, STATUS_ACCESS_DENIED);
	expect_trace("A.pre B.pre A.post");
	assert_int_equal(c->pre_calls, 0);
	expect_no_violations();
}

/* NO_CALLBACK as the verdict: B's post is not called. */
static void test_pending_no_callback(void **state)
{
	struct tf *a, *b, *c;
	struct op_result r;

	(void)state;
	three(&a, &b, &c);
	b->pre_ret = FLT_PREOP_PENDING;
	b->pend_mode = 2;
	b->pend_verdict = FLT_PREOP_SUCCESS_NO_CALLBACK;
	start3(a, b, c);
	r = run_op(IRP_MJ_WRITE, 0);
	assert_true(r.went_down);
	expect_trace("A.pre B.pre C.pre FS C.post A.post");
	expect_no_violations();
}

/* A verdict that cannot end a pend (PENDING again) fails the operation. */
static void test_pending_bad_verdict(void **state)
{
	struct tf *a, *b, *c;
	struct op_result r;

	(void)state;
	three(&a, &b, &c);
	b->pre_ret = FLT_PREOP_PENDING;
	b->complete_status = STATUS_SUCCESS;
	b->pend_mode = 1;
	b->pend_verdict = FLT_PREOP_PENDING;
	start3(a, b, c);
	r = run_op(IRP_MJ_WRITE, 0);
	assert_false(r.went_down);
	assert_int_equal(r.status, STATUS_INVALID_DEVICE_STATE);
	expect_trace("A.pre B.pre A.post");
	assert_int_equal(a->post_seen_status, STATUS_INVALID_DEVICE_STATE);
	expect_no_violations();
}

/* A post callback holds the operation; the ones above run after release. */
static void test_post_more_processing(void **state)
{
	struct tf *a, *b, *c;
	struct op_result r;

	(void)state;
	three(&a, &b, &c);
	b->post_hold = true;
	start3(a, b, c);
	r = run_op(IRP_MJ_WRITE, 0);
	assert_true(r.went_down);
	expect_trace("A.pre B.pre C.pre FS C.post B.post A.post");
	assert_true(a->seq_post > b->seq_post);
	assert_int_equal(fm_pending_count(), 0);
	expect_no_violations();
}

/* ---- Post-operation ------------------------------------------------------------------ */

/* Checked inside t_pre / t_post: each post gets its own pre's context. */
static void test_completion_context_per_instance(void **state)
{
	struct tf *a, *b, *c;
	struct fm_instance *a2;

	(void)state;
	three(&a, &b, &c);
	start3(a, b, c);
	/* A second instance of A: same callbacks, its own context. */
	assert_int_equal(fm_instance_attach(a->f, vol, "A2", "150000", 0, &a2),
			 STATUS_SUCCESS);
	trace_clear();
	run_op(IRP_MJ_WRITE, 0);
	expect_trace("A.pre B.pre A2.pre C.pre FS C.post A2.post B.post A.post");
	expect_no_violations();
	/* And the check can fail: a pre that never ran has no context. */
	assert_int_equal(a->pre_calls, 2);
	assert_int_equal(a->post_calls, 2);
}

static void test_post_only_registration(void **state)
{
	struct tf *a, *b, *c;

	(void)state;
	three(&a, &b, &c);
	b->no_pre = true;
	start3(a, b, c);
	run_op(IRP_MJ_WRITE, 0);
	expect_trace("A.pre C.pre FS C.post B.post A.post");
	assert_int_equal(b->post_calls, 1);
	expect_no_violations();
}

static void test_pre_only_registration(void **state)
{
	struct tf *a, *b, *c;

	(void)state;
	three(&a, &b, &c);
	b->no_post = true;
	start3(a, b, c);
	run_op(IRP_MJ_WRITE, 0);
	expect_trace("A.pre B.pre C.pre FS C.post A.post");
	expect_no_violations();
}

static void test_post_changes_status(void **state)
{
	struct tf *a, *b, *c;
	struct op_result r;

	(void)state;
	three(&a, &b, &c);
	c->post_set = true;
	c->post_status = STATUS_DISK_FULL;
	start3(a, b, c);
	r = run_op(IRP_MJ_WRITE, 0);
	assert_true(r.went_down);
	assert_int_equal(c->post_seen_status, STATUS_SUCCESS);
	assert_int_equal(b->post_seen_status, STATUS_DISK_FULL);
	assert_int_equal(a->post_seen_status, STATUS_DISK_FULL);
	assert_int_equal(r.status, STATUS_DISK_FULL);

	/* A higher post callback overrides again. */
	b->post_set = true;
	b->post_status = STATUS_ACCESS_DENIED;
	r = run_op(IRP_MJ_WRITE, 0);
	assert_int_equal(a->post_seen_status, STATUS_ACCESS_DENIED);
	assert_int_equal(r.status, STATUS_ACCESS_DENIED);
	expect_no_violations();
}

/*
 * "If a minifilter driver's preoperation callback routine modifies the
 * parameters for an I/O operation, all minifilter drivers below [it] will
 * receive the modified parameters in their preoperation and postoperation
 * callback routines.  The modified parameters are not received by the
 * current minifilter driver's postoperation callback routine or by any
 * minifilter drivers above [it]." (WDK, Modifying the Parameters for an I/O
 * Operation.)
 */
static void test_modified_parameters_scope(void **state)
{
	struct tf *a, *b, *c;
	struct op_result r;

	(void)state;
	three(&a, &b, &c);
	b->new_write_length = 50;
	start3(a, b, c);
	r = run_op_on(vol, IRP_MJ_WRITE, 0, 100);
	assert_int_equal(a->pre_seen_length, 100);
	assert_int_equal(b->pre_seen_length, 100);
	assert_int_equal(c->pre_seen_length, 50);
	assert_int_equal(r.fs_length, 50);
	assert_int_equal(c->post_seen_length, 50);
	assert_int_equal(b->post_seen_length, 100);
	assert_int_equal(a->post_seen_length, 100);
}

/* ---- SKIP_* flags -------------------------------------------------------------------------- */

static void skip_filters(void)
{
	struct tf *a, *b, *c;

	three(&a, &b, &c);
	a->op_flags = FLTFL_OPERATION_REGISTRATION_SKIP_PAGING_IO;
	b->op_flags = FLTFL_OPERATION_REGISTRATION_SKIP_CACHED_IO;
	c->op_flags = FLTFL_OPERATION_REGISTRATION_SKIP_NON_CACHED_NON_PAGING_IO;
	a->majors[2] = c->majors[2] = b->majors[2] = IRP_MJ_QUERY_INFORMATION;
	a->nmajors = b->nmajors = c->nmajors = 3;
	start3(a, b, c);
}

static void test_skip_flags_read_write(void **state)
{
	static const UCHAR majors[] = { IRP_MJ_READ, IRP_MJ_WRITE };

	(void)state;
	skip_filters();
	for (size_t i = 0; i < 2; i++) {
		/* Paging I/O: A skips it (whether or not it is non-cached). */
		run_op(majors[i], IRP_PAGING_IO);
		expect_trace("B.pre C.pre FS C.post B.post");
		run_op(majors[i], IRP_PAGING_IO | IRP_NOCACHE);
		expect_trace("B.pre C.pre FS C.post B.post");
		/* Non-cached, non-paging: C skips it. */
		run_op(majors[i], IRP_NOCACHE);
		expect_trace("A.pre B.pre FS B.post A.post");
		/* Cached: B skips it. */
		run_op(majors[i], 0);
		expect_trace("A.pre C.pre FS C.post A.post");
	}
	expect_no_violations();
}

static void test_skip_flags_other_majors(void **state)
{
	(void)state;
	skip_filters();
	/* Only the paging flag means anything outside read and write. */
	run_op(IRP_MJ_QUERY_INFORMATION, 0);
	expect_trace("A.pre B.pre C.pre FS C.post B.post A.post");
	run_op(IRP_MJ_QUERY_INFORMATION, IRP_NOCACHE);
	expect_trace("A.pre B.pre C.pre FS C.post B.post A.post");
	run_op(IRP_MJ_QUERY_INFORMATION, IRP_PAGING_IO);
	expect_trace("B.pre C.pre FS C.post B.post");
	expect_no_violations();
}

/* ---- Requestor ---------------------------------------------------------------------------- */

struct requestor_run {
	pid_t tid;
	struct fm_requestor r;
	struct op_result res;
};

static void *requestor_thread(void *arg)
{
	struct requestor_run *run = arg;
	struct fm_op_ctx op;
	FILE_OBJECT fo;

	memset(&fo, 0, sizeof(fo));
	run->tid = gettid();
	run->r.tid = run->tid;
	run->r.uid = 1000;
	run->r.gid = 1001;
	fm_op_init(&op, vol, IRP_MJ_WRITE, 0, &fo, &run->r);
	run->res.went_down = fm_op_pre(&op);
	if (run->res.went_down)
		op.data.IoStatus.Status = STATUS_SUCCESS;
	fm_op_complete(&op);
	run->res.status = op.data.IoStatus.Status;
	return NULL;
}

static void test_requestor(void **state)
{
	struct requestor_run run;
	struct tf *a;
	pthread_t th;

	(void)state;
	memset(&run, 0, sizeof(run));
	a = tf_new("A", "300000");
	a->capture_requestor = true;
	tf_start(a);
	assert_int_equal(pthread_create(&th, NULL, requestor_thread, &run), 0);
	assert_true(join_within(th, WAIT_MS, NULL));
	assert_true(run.res.went_down);
	/* A second thread: its id is not the process id. */
	assert_int_not_equal(run.tid, getpid());
	assert_int_equal(seen.pid, (ULONG)getpid());
	assert_int_equal((ULONG_PTR)seen.pid_ex, (ULONG_PTR)getpid());
	assert_int_equal((ULONG_PTR)seen.thread_pid, (ULONG_PTR)getpid());
	assert_int_equal((ULONG_PTR)seen.tid, (ULONG_PTR)run.tid);
	assert_int_equal(seen.tid_lx, (ULONG)run.tid);
	assert_int_equal(seen.ids_status, STATUS_SUCCESS);
	assert_int_equal(seen.uid, 1000);
	assert_int_equal(seen.gid, 1001);
	assert_ptr_equal(seen.process, (PEPROCESS)&run.r);
	assert_ptr_equal(seen.thread_process, (PEPROCESS)&run.r);
	/* Resolved once, remembered. */
	assert_int_equal(run.r.pid, getpid());
	expect_no_violations();
}

static void test_requestor_edge_cases(void **state)
{
	FLT_CALLBACK_DATA data;
	ULONG uid = 7, gid = 7;

	(void)state;
	memset(&data, 0, sizeof(data));
	assert_int_equal(FltGetRequestorProcessId(NULL), 0);
	assert_int_equal(FltGetRequestorLxIds(NULL, &uid, &gid),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(FltGetRequestorLxIds(&data, &uid, &gid),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(uid, 7);
	assert_int_equal(gid, 7);
	/* No thread: the caller itself. */
	assert_int_equal((ULONG_PTR)PsGetThreadId(NULL), (ULONG_PTR)gettid());
	assert_int_equal((ULONG_PTR)PsGetProcessId(PsGetCurrentProcess()),
			 (ULONG_PTR)getpid());
	assert_true(FltIsOperationSynchronous(&data));
	assert_false(FltIsCallbackDataDirty(&data));
	FltSetCallbackDataDirty(&data);
	assert_true(FltIsCallbackDataDirty(&data));
	FltClearCallbackDataDirty(&data);
	assert_false(FltIsCallbackDataDirty(&data));
}

/* ---- Attach ---------------------------------------------------------------------------------- */

static void test_setup_do_not_attach(void **state)
{
	struct tf *a, *b, *c;
	long vol_refs = atomic_load(&vol->obj.refs);

	(void)state;
	three(&a, &b, &c);
	b->setup_ret = STATUS_FLT_DO_NOT_ATTACH;
	start3(a, b, c);
	assert_int_equal(b->setup_calls, 1);
	assert_string_equal(stack_names(vol), "A C");
	/* Only the registration holds B; the volume holds A's and C's. */
	assert_int_equal(atomic_load(&b->f->obj.refs), 2);
	assert_int_equal(atomic_load(&vol->obj.refs), vol_refs + 2);
	run_op(IRP_MJ_WRITE, 0);
	expect_trace("A.pre C.pre FS C.post A.post");
	/* Never attached, so never torn down. */
	FltUnregisterFilter(b->h);
	assert_int_equal(b->td_start, 0);
	assert_int_equal(b->td_complete, 0);
	expect_no_violations();
}

static void test_setup_error_refuses(void **state)
{
	struct tf *a;

	(void)state;
	a = tf_new("A", "300000");
	a->setup_ret = STATUS_ACCESS_DENIED;
	tf_start(a);
	assert_int_equal(a->setup_calls, 1);
	assert_string_equal(stack_names(vol), "");
	a->setup_ret = STATUS_SUCCESS;
	assert_int_equal(fm_instance_attach(a->f, vol, NULL, NULL, 0, NULL),
			 STATUS_SUCCESS);
	assert_string_equal(stack_names(vol), "A");
}

static void test_altitude_collision(void **state)
{
	struct tf *a, *b, *c, *d;
	struct fm_stack *before;
	struct fm_instance *inst = NULL;

	(void)state;
	three(&a, &b, &c);
	start3(a, b, c);
	/* "0200000" is 200000: its automatic attach collides with B. */
	d = tf_new("D", "0200000");
	tf_start(d);
	assert_string_equal(stack_names(vol), "A B C");
	assert_int_equal(d->setup_calls, 0);

	before = vol->stack;
	assert_int_equal(fm_instance_attach(d->f, vol, "D2", "200000.0", 0,
					    &inst),
			 STATUS_FLT_INSTANCE_ALTITUDE_COLLISION);
	assert_null(inst);
	assert_ptr_equal(vol->stack, before);
	assert_string_equal(stack_names(vol), "A B C");
	assert_int_equal(d->setup_calls, 0);
	assert_int_equal(atomic_load(&d->f->obj.refs), 2);

	/* A name already on the volume collides too. */
	assert_int_equal(fm_instance_attach(d->f, vol, "b", "250000", 0, &inst),
			 STATUS_FLT_INSTANCE_NAME_COLLISION);
	assert_ptr_equal(vol->stack, before);
	/* A bad altitude is refused before anything else. */
	assert_int_equal(fm_instance_attach(d->f, vol, "D3", "25x", 0, &inst),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(d->setup_calls, 0);

	/* A free altitude works, with the instance placed by altitude. */
	assert_int_equal(fm_instance_attach(d->f, vol, "D4", "250000",
					    FLTFL_INSTANCE_SETUP_MANUAL_ATTACHMENT,
					    &inst),
			 STATUS_SUCCESS);
	assert_non_null(inst);
	assert_string_equal(inst->altitude, "250000");
	assert_int_equal(d->setup_flags, FLTFL_INSTANCE_SETUP_MANUAL_ATTACHMENT);
	assert_string_equal(stack_names(vol), "A D4 B C");
	trace_clear();
	run_op(IRP_MJ_WRITE, 0);
	expect_trace("A.pre D4.pre B.pre C.pre FS C.post B.post D4.post A.post");
	expect_no_violations();
}

static void test_setup_flags(void **state)
{
	struct tf *a, *b;

	(void)state;
	a = tf_new("A", "300000");
	b = tf_new("B", "200000");
	b->no_start = true;
	tf_start(a);
	tf_start(b);
	assert_int_equal(a->setup_calls, 1);
	assert_int_equal(a->setup_flags, FLTFL_INSTANCE_SETUP_AUTOMATIC_ATTACHMENT);
	assert_int_equal(a->setup_devtype, FILE_DEVICE_DISK_FILE_SYSTEM);
	assert_int_equal(a->setup_fstype, FLT_FSTYPE_LINUX);
	/* Registered but not started: no instance, manual or automatic. */
	assert_int_equal(b->setup_calls, 0);
	assert_int_equal(fm_instance_attach(b->f, vol, NULL, NULL,
					    FLTFL_INSTANCE_SETUP_MANUAL_ATTACHMENT,
					    NULL),
			 STATUS_FLT_FILTER_NOT_READY);
	assert_int_equal(b->setup_calls, 0);

	/* A volume that appears later. */
	assert_int_equal(fm_volume_create("vol2", "/tmp", NULL, NULL, &vol2), 0);
	assert_string_equal(stack_names(vol2), "");
	fm_volume_attach_all(vol2);
	assert_int_equal(a->setup_calls, 2);
	assert_int_equal(a->setup_flags,
			 FLTFL_INSTANCE_SETUP_AUTOMATIC_ATTACHMENT |
				 FLTFL_INSTANCE_SETUP_NEWLY_MOUNTED_VOLUME);
	assert_int_equal(b->setup_calls, 0);
	assert_string_equal(stack_names(vol2), "A");
	assert_ptr_equal(fm_volume_find("VOL2"), vol2);

	/* Dismount: one teardown, with that reason. */
	fm_volume_destroy(vol2);
	vol2 = NULL;
	assert_null(fm_volume_find("vol2"));
	assert_int_equal(a->td_start, 1);
	assert_int_equal(a->td_complete, 1);
	assert_int_equal(a->td_start_reason, FLTFL_INSTANCE_TEARDOWN_VOLUME_DISMOUNT);
	assert_int_equal(a->td_complete_reason,
			 FLTFL_INSTANCE_TEARDOWN_VOLUME_DISMOUNT);
	assert_string_equal(stack_names(vol), "A");
	expect_no_violations();
}

static void test_volume_create_errors(void **state)
{
	struct fm_volume *v = NULL;
	char long_name[FM_NAME_MAX + 1];

	(void)state;
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = 0;
	assert_int_equal(fm_volume_create("vol", "/tmp", NULL, NULL, &v),
			 -EEXIST);
	assert_int_equal(fm_volume_create("VOL", "/tmp", NULL, NULL, &v),
			 -EEXIST);
	assert_int_equal(fm_volume_create("", "/tmp", NULL, NULL, &v), -EINVAL);
	assert_int_equal(fm_volume_create(NULL, "/tmp", NULL, NULL, &v),
			 -EINVAL);
	assert_int_equal(fm_volume_create(long_name, "/tmp", NULL, NULL, &v),
			 -EINVAL);
	assert_null(v);
}

/* ---- Teardown ---------------------------------------------------------------------------------- */

static void test_detach_reason_once(void **state)
{
	struct tf *a, *b, *c;
	struct fm_instance *ib;

	(void)state;
	three(&a, &b, &c);
	start3(a, b, c);
	ib = find_inst(vol, "B");
	assert_non_null(ib);
	fm_instance_detach(ib, FLTFL_INSTANCE_TEARDOWN_MANUAL);
	expect_trace("B.tdstart B.tdcomplete");
	assert_int_equal(b->td_start, 1);
	assert_int_equal(b->td_complete, 1);
	assert_int_equal(b->td_start_reason, FLTFL_INSTANCE_TEARDOWN_MANUAL);
	assert_int_equal(b->td_complete_reason, FLTFL_INSTANCE_TEARDOWN_MANUAL);
	assert_string_equal(stack_names(vol), "A C");
	assert_int_equal(atomic_load(&b->f->obj.refs), 2);
	run_op(IRP_MJ_WRITE, 0);
	expect_trace("A.pre C.pre FS C.post A.post");

	/* Unregistering B later does not tear the instance down again. */
	FltUnregisterFilter(b->h);
	assert_int_equal(b->td_start, 1);
	assert_int_equal(b->td_complete, 1);

	/* Unregistering A: FILTER_UNLOAD; mandatory adds its flag. */
	a->f->unload_flags = FLTFL_FILTER_UNLOAD_MANDATORY;
	FltUnregisterFilter(a->h);
	assert_int_equal(a->td_start, 1);
	assert_int_equal(a->td_complete, 1);
	assert_int_equal(a->td_start_reason,
			 FLTFL_INSTANCE_TEARDOWN_FILTER_UNLOAD |
				 FLTFL_INSTANCE_TEARDOWN_MANDATORY_FILTER_UNLOAD);
	assert_int_equal(a->td_complete_reason, a->td_start_reason);
	FltUnregisterFilter(c->h);
	assert_int_equal(c->td_start_reason, FLTFL_INSTANCE_TEARDOWN_FILTER_UNLOAD);
	assert_int_equal(c->td_complete, 1);
	assert_string_equal(stack_names(vol), "");
	expect_no_violations();
}

/* Unregistering a filter tears down its instances on every volume. */
static void test_unregister_detaches_everywhere(void **state)
{
	struct tf *a, *b, *c;

	(void)state;
	three(&a, &b, &c);
	assert_int_equal(fm_volume_create("vol2", "/tmp", NULL, NULL, &vol2), 0);
	start3(a, b, c);
	assert_string_equal(stack_names(vol2), "A B C");
	FltUnregisterFilter(b->h);
	assert_int_equal(b->td_start, 2);
	assert_int_equal(b->td_complete, 2);
	assert_string_equal(stack_names(vol), "A C");
	assert_string_equal(stack_names(vol2), "A C");
	assert_null(fm_filter_find("B"));
	assert_int_equal(atomic_load(&b->f->obj.refs), 1);
	expect_no_violations();
}

static void *detach_thread(void *arg)
{
	fm_instance_detach(arg, FLTFL_INSTANCE_TEARDOWN_MANUAL);
	sync_set(&sync_.detach_done);
	return NULL;
}

static void *op_thread(void *arg)
{
	struct op_result *res = arg;

	*res = run_op(IRP_MJ_WRITE, 0);
	return NULL;
}

/*
 * An operation already in the instance when the detach starts finishes with
 * its post callback, and teardown completes only after that.
 */
static void test_detach_waits_for_operation(void **state)
{
	struct tf *a, *x, *c;
	struct op_result res = { 0 };
	struct fm_instance *ix;
	pthread_t op_th, det_th;
	int waited;

	(void)state;
	a = tf_new("A", "300000");
	x = tf_new("X", "200000");
	c = tf_new("C", "100000");
	x->block_pre = true;
	start3(a, x, c);
	ix = find_inst(vol, "X");
	assert_non_null(ix);

	wedged = true;
	assert_int_equal(pthread_create(&op_th, NULL, op_thread, &res), 0);
	assert_true(sync_wait(&sync_.pre_entered, WAIT_MS));
	assert_int_equal(pthread_create(&det_th, NULL, detach_thread, ix), 0);
	assert_true(sync_wait(&sync_.td_started, WAIT_MS));

	/* New operations no longer reach X, and do not wait for it. */
	for (waited = 0; find_inst(vol, "X") && waited < WAIT_MS; waited += 5)
		sleep_ms(5);
	assert_null(find_inst(vol, "X"));
	x->block_pre = false;
	trace_clear();
	run_op(IRP_MJ_WRITE, 0);
	expect_trace("A.pre C.pre FS C.post A.post");

	/* The old operation is still inside X: teardown must not complete. */
	sleep_ms(100);
	assert_int_equal(x->td_complete, 0);
	assert_int_equal(x->post_calls, 0);
	assert_false(sync_get(&sync_.detach_done));

	sync_set(&sync_.release);
	assert_true(join_within(op_th, WAIT_MS, NULL));
	assert_true(join_within(det_th, WAIT_MS, NULL));
	wedged = false;

	assert_true(res.went_down);
	assert_int_equal(x->pre_calls, 1);
	assert_int_equal(x->post_calls, 1);
	assert_int_equal(x->td_start, 1);
	assert_int_equal(x->td_complete, 1);
	assert_true(x->seq_pre < x->seq_td_start);
	assert_true(x->seq_td_start < x->seq_post);
	assert_true(x->seq_post < x->seq_td_complete);
	assert_string_equal(stack_names(vol), "A C");
	expect_no_violations();
}

/* A reference on the instance holds the detach until it is dropped. */
static void test_detach_waits_for_reference(void **state)
{
	struct tf *a;
	struct fm_instance *ia;
	pthread_t det_th;

	(void)state;
	a = tf_new("A", "300000");
	tf_start(a);
	ia = find_inst(vol, "A");
	assert_non_null(ia);
	assert_int_equal(FltObjectReference(ia), STATUS_SUCCESS);

	wedged = true;
	assert_int_equal(pthread_create(&det_th, NULL, detach_thread, ia), 0);
	assert_true(sync_wait(&sync_.td_completed, WAIT_MS));
	sleep_ms(100);
	assert_false(sync_get(&sync_.detach_done));
	FltObjectDereference(ia);
	assert_true(join_within(det_th, WAIT_MS, NULL));
	wedged = false;
	assert_true(sync_get(&sync_.detach_done));
	assert_string_equal(stack_names(vol), "");
}

static void *unregister_thread(void *arg)
{
	FltUnregisterFilter(arg);
	sync_set(&sync_.detach_done);
	return NULL;
}

/* A reference on the filter holds FltUnregisterFilter until dropped. */
static void test_unregister_waits_for_reference(void **state)
{
	struct tf *a;
	pthread_t th;

	(void)state;
	a = tf_new("A", "300000");
	tf_start(a);
	assert_int_equal(FltObjectReference(a->h), STATUS_SUCCESS);
	wedged = true;
	assert_int_equal(pthread_create(&th, NULL, unregister_thread, a->h), 0);
	assert_true(sync_wait(&sync_.td_completed, WAIT_MS));
	sleep_ms(100);
	assert_false(sync_get(&sync_.detach_done));
	FltObjectDereference(a->h);
	assert_true(join_within(th, WAIT_MS, NULL));
	wedged = false;
	assert_null(fm_filter_find("A"));
	assert_int_equal(atomic_load(&a->f->obj.refs), 1);
}

/* ---- References and queries --------------------------------------------------------------------- */

static void test_object_references(void **state)
{
	struct tf *a;
	struct fm_instance *ia;
	struct {
		int type;
		long refs;
	} bogus = { 0x12345678, 1 };
	long f0, v0, i0;

	(void)state;
	a = tf_new("A", "300000");
	tf_start(a);
	ia = find_inst(vol, "A");
	assert_non_null(ia);
	f0 = atomic_load(&a->f->obj.refs);
	v0 = atomic_load(&vol->obj.refs);
	i0 = atomic_load(&ia->obj.refs);

	assert_int_equal(FltObjectReference(a->h), STATUS_SUCCESS);
	assert_int_equal(atomic_load(&a->f->obj.refs), f0 + 1);
	assert_int_equal(FltObjectReference(vol), STATUS_SUCCESS);
	assert_int_equal(atomic_load(&vol->obj.refs), v0 + 1);
	assert_int_equal(FltObjectReference(ia), STATUS_SUCCESS);
	assert_int_equal(atomic_load(&ia->obj.refs), i0 + 1);
	FltObjectDereference(a->h);
	FltObjectDereference(vol);
	FltObjectDereference(ia);
	assert_int_equal(atomic_load(&a->f->obj.refs), f0);
	assert_int_equal(atomic_load(&vol->obj.refs), v0);
	assert_int_equal(atomic_load(&ia->obj.refs), i0);

	assert_int_equal(FltObjectReference(NULL), STATUS_INVALID_PARAMETER);
	assert_int_equal(FltObjectReference(&bogus), STATUS_INVALID_PARAMETER);
	FltObjectDereference(NULL);
	FltObjectDereference(&bogus);
	assert_int_equal(bogus.type, 0x12345678);
	assert_int_equal(bogus.refs, 1);
}

static void test_filter_and_volume_from_instance(void **state)
{
	struct tf *a;
	struct fm_instance *ia;
	PFLT_FILTER f = NULL;
	PFLT_VOLUME v = NULL;
	long f0, v0;

	(void)state;
	a = tf_new("A", "300000");
	tf_start(a);
	ia = find_inst(vol, "A");
	assert_non_null(ia);
	f0 = atomic_load(&a->f->obj.refs);
	v0 = atomic_load(&vol->obj.refs);

	assert_int_equal(FltGetFilterFromInstance((PFLT_INSTANCE)ia, &f),
			 STATUS_SUCCESS);
	assert_ptr_equal(f, a->h);
	assert_int_equal(atomic_load(&a->f->obj.refs), f0 + 1);
	assert_int_equal(FltGetVolumeFromInstance((PFLT_INSTANCE)ia, &v),
			 STATUS_SUCCESS);
	assert_ptr_equal(v, (PFLT_VOLUME)vol);
	assert_int_equal(atomic_load(&vol->obj.refs), v0 + 1);
	FltObjectDereference(f);
	FltObjectDereference(v);
	assert_int_equal(atomic_load(&a->f->obj.refs), f0);
	assert_int_equal(atomic_load(&vol->obj.refs), v0);

	f = NULL;
	v = NULL;
	assert_int_equal(FltGetFilterFromInstance(NULL, &f),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(FltGetFilterFromInstance((PFLT_INSTANCE)ia, NULL),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(FltGetFilterFromInstance((PFLT_INSTANCE)a->h, &f),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(FltGetVolumeFromInstance(NULL, &v),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(FltGetVolumeFromInstance((PFLT_INSTANCE)vol, &v),
			 STATUS_INVALID_PARAMETER);
	assert_null(f);
	assert_null(v);
	assert_int_equal(atomic_load(&a->f->obj.refs), f0);
	assert_int_equal(atomic_load(&vol->obj.refs), v0);
}

static void test_volume_name(void **state)
{
	static const WCHAR want[] = L"\\Device\\vol";
	const USHORT want_len = sizeof(want) - sizeof(WCHAR);
	WCHAR buf[32];
	UNICODE_STRING us;
	ULONG needed = 0;

	(void)state;
	assert_int_equal(want_len, 22);
	assert_int_equal(FltGetVolumeName(NULL, &us, &needed),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(FltGetVolumeName((PFLT_VOLUME)&us, &us, &needed),
			 STATUS_INVALID_PARAMETER);

	/* Size query. */
	assert_int_equal(FltGetVolumeName((PFLT_VOLUME)vol, NULL, &needed),
			 STATUS_BUFFER_TOO_SMALL);
	assert_int_equal(needed, want_len);

	/* One WCHAR short. */
	memset(buf, 0x55, sizeof(buf));
	us.Buffer = buf;
	us.Length = 0;
	us.MaximumLength = want_len - sizeof(WCHAR);
	needed = 0;
	assert_int_equal(FltGetVolumeName((PFLT_VOLUME)vol, &us, &needed),
			 STATUS_BUFFER_TOO_SMALL);
	assert_int_equal(needed, want_len);
	assert_int_equal(us.Length, 0);
	assert_int_equal(buf[0], 0x5555);

	/* Exactly enough. */
	us.MaximumLength = want_len;
	needed = 0;
	assert_int_equal(FltGetVolumeName((PFLT_VOLUME)vol, &us, &needed),
			 STATUS_SUCCESS);
	assert_int_equal(us.Length, want_len);
	assert_memory_equal(buf, want, want_len);
	assert_int_equal(buf[want_len / sizeof(WCHAR)], 0x5555);
	assert_int_equal(needed, want_len);

	/* Plenty, no size wanted. */
	memset(buf, 0x55, sizeof(buf));
	us.Length = 0;
	us.MaximumLength = sizeof(buf);
	assert_int_equal(FltGetVolumeName((PFLT_VOLUME)vol, &us, NULL),
			 STATUS_SUCCESS);
	assert_int_equal(us.Length, want_len);
	assert_memory_equal(buf, want, want_len);
	assert_int_equal(buf[want_len / sizeof(WCHAR)], 0x5555);
}

/*
 * The WDK's FltGetVolumeName: STATUS_INVALID_PARAMETER when "VolumeName and
 * BufferSizeNeeded are both NULL"; STATUS_BUFFER_TOO_SMALL when VolumeName's
 * buffer is too small, BufferSizeNeeded being optional.
 */
static void test_volume_name_optional_arguments(void **state)
{
	WCHAR buf[4];
	UNICODE_STRING us = { 0, sizeof(buf), buf };

	(void)state;
	assert_int_equal(FltGetVolumeName((PFLT_VOLUME)vol, NULL, NULL),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(FltGetVolumeName((PFLT_VOLUME)vol, &us, NULL),
			 STATUS_BUFFER_TOO_SMALL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_order),
		T(test_order_fractional_altitudes),
		T(test_only_registered_majors),
		T(test_negative_major_dispatch),
		T(test_success_no_callback),
		T(test_synchronize_gets_post),
		T(test_complete_in_middle),
		T(test_complete_at_top),
		T(test_complete_with_success),
		T(test_complete_with_pending_status),
		T(test_pending_completed_later),
		T(test_pending_completed_early_deny),
		T(test_pending_no_callback),
		T(test_pending_bad_verdict),
		T(test_post_more_processing),
		T(test_completion_context_per_instance),
		T(test_post_only_registration),
		T(test_pre_only_registration),
		T(test_post_changes_status),
		T(test_modified_parameters_scope),
		T(test_skip_flags_read_write),
		T(test_skip_flags_other_majors),
		T(test_requestor),
		T(test_requestor_edge_cases),
		T(test_setup_do_not_attach),
		T(test_setup_error_refuses),
		T(test_altitude_collision),
		T(test_setup_flags),
		T(test_volume_create_errors),
		T(test_detach_reason_once),
		T(test_unregister_detaches_everywhere),
		T(test_detach_waits_for_operation),
		T(test_detach_waits_for_reference),
		T(test_unregister_waits_for_reference),
		T(test_object_references),
		T(test_filter_and_volume_from_instance),
		T(test_volume_name),
		T(test_volume_name_optional_arguments),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
