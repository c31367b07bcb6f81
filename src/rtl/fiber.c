/*
 * fiber.c - fibers for operations that wait without holding a thread
 * (fiber.h has the model).
 *
 * Switching: on x86-64 a few instructions save the callee-saved registers
 * and the stack pointer (no system call); elsewhere swapcontext.  Every
 * switch says what the context left behind needs, and the context that
 * runs next does it (after_switch): a parking fiber is published as parked
 * only once its registers are saved, so a setter racing the park can
 * never resume a fiber that is still running; a finished fiber is pooled
 * only once nothing runs on its stack.
 *
 * Event word: 0 waiting, 1 set, 2 a thread sleeps on it (futex), 3 a
 * fiber is parked on it (e->fiber).  The setter exchanges in 1 and acts on
 * what it found.
 *
 * AddressSanitizer is told of every stack switch, so its view of the
 * current stack stays right.
 */
#include "rtl/fiber.h"
#include "rtl/rtl.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define RTL_FIBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RTL_FIBER_ASAN 1
#endif
#endif
#ifdef RTL_FIBER_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

#if defined(__GNUC__) && !defined(__clang__)
#define RTL_NOFOLD __attribute__((noinline, noipa))
#else
#define RTL_NOFOLD __attribute__((noinline))
#endif

/* As much stack as a thread gets: callbacks of any filter run on it.  Only
 * the pages a fiber touches are ever backed. */
#define FIBER_STACK (8u << 20)
#define FIBER_GUARD (64u << 10)
#define FIBER_POOL 64	/* idle fibers kept for reuse */
#define FIBER_KEYS 4
#define RESUMERS_MAX 1024
#define RESUMERS_KEEP 2 /* idle resumers that never time out */
#define RESUMER_IDLE_SEC 10
#define RESUMER_STALL_MS 10 /* no progress for this long: one more */
#define RESUMER_BACKLOG 16  /* waiting per resumer before using more CPUs */

enum { EV_WAITING, EV_SET, EV_SLEEPER, EV_PARKED };

/* ---- Contexts --------------------------------------------------------- */

#if defined(__x86_64__)
struct rtl_ctx {
	void *sp;
};

void rtl_ctx_switch(void **save_sp, void *new_sp);
__asm__(".text\n"
	".globl rtl_ctx_switch\n"
	".hidden rtl_ctx_switch\n"
	".type rtl_ctx_switch, @function\n"
	"rtl_ctx_switch:\n"
	"	.cfi_startproc\n"
	"	endbr64\n"
	"	pushq %rbp\n"
	"	pushq %rbx\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	subq $8, %rsp\n"
	"	stmxcsr (%rsp)\n"
	"	fnstcw 4(%rsp)\n"
	"	movq %rsp, (%rdi)\n"
	"	movq %rsi, %rsp\n"
	"	ldmxcsr (%rsp)\n"
	"	fldcw 4(%rsp)\n"
	"	addq $8, %rsp\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbx\n"
	"	popq %rbp\n"
	"	ret\n"
	"	.cfi_endproc\n"
	".size rtl_ctx_switch, .-rtl_ctx_switch\n");

/* A first switch to the context "returns" into fn with the stack aligned
 * as after a call; fn must never return. */
static void ctx_make(struct rtl_ctx *c, void *stack, size_t size, void (*fn)(void))
{
	uintptr_t top = ((uintptr_t)stack + size) & ~(uintptr_t)15;
	uint64_t *sp = (uint64_t *)(top - 72);

	memset(sp, 0, 72);
	sp[0] = 0x1F80u | ((uint64_t)0x037Fu << 32); /* MXCSR, x87 control */
	sp[7] = (uint64_t)(uintptr_t)fn;	      /* sp[1..6]: registers */
	c->sp = sp;				      /* sp[8]: no caller */
}

static void ctx_switch(struct rtl_ctx *from, struct rtl_ctx *to)
{
	rtl_ctx_switch(&from->sp, to->sp);
}
#else
#include <ucontext.h>

struct rtl_ctx {
	ucontext_t uc;
};

static void ctx_make(struct rtl_ctx *c, void *stack, size_t size, void (*fn)(void))
{
	getcontext(&c->uc);
	c->uc.uc_stack.ss_sp = stack;
	c->uc.uc_stack.ss_size = size;
	c->uc.uc_link = NULL;
	makecontext(&c->uc, fn, 0);
}

static void ctx_switch(struct rtl_ctx *from, struct rtl_ctx *to)
{
	swapcontext(&from->uc, &to->uc);
}
#endif

/* ---- Fibers and threads ------------------------------------------------- */

struct rtl_fiber {
	struct rtl_ctx ctx;
	void *map; /* guard page(s), then the stack */
	void *stack;
	size_t stack_size;
	struct rtl_fiber *next; /* pool or ready queue */
	void (*entry)(void *);
	void *arg;
	void *local[FIBER_KEYS];
};

enum after { AFTER_NONE, AFTER_PARK, AFTER_EXIT };

/* A thread running fibers: a worker (loop set) or a resumer. */
struct fthread {
	struct rtl_ctx sched; /* the thread's own stack */
	const void *sched_stack;
	size_t sched_size;
	struct rtl_fiber *cur;	/* running fiber, NULL on the own stack */
	struct rtl_fiber *loop; /* the fiber serving the thread's loop */
	void (*entry)(void *);
	void *arg;
	enum after after; /* what the context that switched away left */
	struct rtl_fiber *after_fiber;
	struct rtl_event *after_event;
};

static __thread struct fthread *fth_tls;

/* Never folded: a fiber may have moved to another thread since the last
 * call in the same function. */
static RTL_NOFOLD struct fthread *fth(void)
{
	return fth_tls;
}

static RTL_NOFOLD void fth_set(struct fthread *t)
{
	fth_tls = t;
}

int *rtl_fiber_errno(void)
{
	return __errno_location();
}

static struct {
	pthread_mutex_t lock;
	struct rtl_fiber *free;
	unsigned nfree;
	void (*destroy[FIBER_KEYS])(void *);
	int nkeys;
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct rtl_fiber *head, *tail;
	long nready;
	long threads, idle;
	bool spawning; /* a resumer is starting */
	unsigned long pops; /* fibers taken: progress, for the watchdog */
	pthread_cond_t wd_cond;
	bool wd_started, wd_idle;
} rq = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER,
	 .wd_cond = PTHREAD_COND_INITIALIZER };

static _Atomic long fibers_parked;

long rtl_fibers_parked(void)
{
	return atomic_load(&fibers_parked);
}

long rtl_fiber_resumers(void)
{
	long n;

	pthread_mutex_lock(&rq.lock);
	n = rq.threads;
	pthread_mutex_unlock(&rq.lock);
	return n;
}

int rtl_fiber_key_create(void (*destroy)(void *value))
{
	int key = -1;

	pthread_mutex_lock(&pool.lock);
	if (pool.nkeys < FIBER_KEYS) {
		key = pool.nkeys++;
		pool.destroy[key] = destroy;
	}
	pthread_mutex_unlock(&pool.lock);
	return key;
}

void **rtl_fiber_local(int key)
{
	struct fthread *t = fth();

	if (!t || !t->cur || key < 0 || key >= FIBER_KEYS)
		return NULL;
	return &t->cur->local[key];
}

static void fiber_free(struct rtl_fiber *f)
{
	int i;

	for (i = 0; i < FIBER_KEYS; i++)
		if (f->local[i] && pool.destroy[i])
			pool.destroy[i](f->local[i]);
	munmap(f->map, FIBER_STACK + FIBER_GUARD);
	free(f);
}

static struct rtl_fiber *fiber_get(void)
{
	struct rtl_fiber *f;

	pthread_mutex_lock(&pool.lock);
	f = pool.free;
	if (f) {
		pool.free = f->next;
		pool.nfree--;
	}
	pthread_mutex_unlock(&pool.lock);
	if (f)
		return f;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->map = mmap(NULL, FIBER_STACK + FIBER_GUARD, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
		      -1, 0);
	if (f->map == MAP_FAILED) {
		free(f);
		return NULL;
	}
	if (mprotect(f->map, FIBER_GUARD, PROT_NONE) < 0) {
		munmap(f->map, FIBER_STACK + FIBER_GUARD);
		free(f);
		return NULL;
	}
	f->stack = (char *)f->map + FIBER_GUARD;
	f->stack_size = FIBER_STACK;
	return f;
}

static void fiber_put(struct rtl_fiber *f)
{
	pthread_mutex_lock(&pool.lock);
	if (pool.nfree < FIBER_POOL) {
		f->next = pool.free;
		pool.free = f;
		pool.nfree++;
		f = NULL;
	}
	pthread_mutex_unlock(&pool.lock);
	if (f)
		fiber_free(f);
}

/* Switches from the running context to `to` (whose stack is given for
 * AddressSanitizer); `dying`: the running fiber never runs again. */
static void fiber_switch(struct rtl_ctx *from, struct rtl_ctx *to,
			 const void *to_stack, size_t to_size, bool dying)
{
#ifdef RTL_FIBER_ASAN
	void *fake = NULL;

	__sanitizer_start_switch_fiber(dying ? NULL : &fake, to_stack, to_size);
#else
	(void)to_stack;
	(void)to_size;
	(void)dying;
#endif
	ctx_switch(from, to);
#ifdef RTL_FIBER_ASAN
	__sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
}

static void *resumer_main(void *arg);

/*
 * How many resumers: completed fibers queue, and the resumers take them in
 * turn.  One suffices while the operations it resumes run through; more
 * start when the backlog is long (up to one per CPU), and when nobody has
 * taken a fiber for RESUMER_STALL_MS while some wait (every resumer is
 * blocked, e.g. in a filter waiting for a user-mode reply that itself
 * needs a queued operation): the watchdog thread checks that.
 */
static long cpus(void)
{
	static long n;

	if (!n) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);

		n = c > 0 ? c : 1;
	}
	return n;
}

/* Reserves a start (rq.lock held); the caller calls resumer_spawn after
 * unlocking if it returns true.  One start at a time. */
static bool resumer_wanted(void)
{
	if (rq.spawning || rq.threads >= RESUMERS_MAX)
		return false;
	rq.spawning = true;
	rq.threads++;
	return true;
}

static void resumer_spawn(void)
{
	if (rtl_thread_start(resumer_main, NULL) == 0)
		return;
	pthread_mutex_lock(&rq.lock);
	rq.threads--;
	rq.spawning = false;
	if (rq.threads == 0)
		rtl_log(LOG_ERR, "fibers: cannot start a resumer thread; "
			"%ld completed operations wait", rq.nready);
	pthread_mutex_unlock(&rq.lock);
}

static void *watchdog_main(void *arg)
{
	struct timespec until;
	unsigned long pops;

	(void)arg;
	pthread_mutex_lock(&rq.lock);
	for (;;) {
		while (!rq.head || rq.idle > 0) {
			rq.wd_idle = true;
			pthread_cond_wait(&rq.wd_cond, &rq.lock);
			rq.wd_idle = false;
		}
		pops = rq.pops;
		rtl_deadline_ms(&until, RESUMER_STALL_MS);
		while (pthread_cond_timedwait(&rq.wd_cond, &rq.lock, &until) == 0)
			;
		if (rq.head && rq.idle == 0 && rq.pops == pops && resumer_wanted()) {
			pthread_mutex_unlock(&rq.lock);
			resumer_spawn();
			pthread_mutex_lock(&rq.lock);
		}
	}
	return NULL;
}

/* Fibers wait and no resumer is idle (rq.lock held): the watchdog
 * watches for progress.  Returns true if the caller must start it. */
static bool watchdog_poke(void)
{
	if (!rq.wd_started)
		return rq.wd_started = true;
	if (rq.wd_idle)
		pthread_cond_signal(&rq.wd_cond);
	return false;
}

static void watchdog_start(void)
{
	if (rtl_thread_start(watchdog_main, NULL) == 0)
		return;
	rtl_log(LOG_WARNING, "fibers: cannot start the resumer watchdog");
	pthread_mutex_lock(&rq.lock);
	rq.wd_started = false;
	pthread_mutex_unlock(&rq.lock);
}

/* A fiber whose event is set goes to the resumers. */
static void ready_push(struct rtl_fiber *f)
{
	bool spawn = false, watchdog = false;

	pthread_mutex_lock(&rq.lock);
	f->next = NULL;
	if (rq.tail)
		rq.tail->next = f;
	else
		rq.head = f;
	rq.tail = f;
	rq.nready++;
	if (rq.idle > 0) {
		pthread_cond_signal(&rq.cond);
	} else {
		if (rq.threads == 0 ||
		    (rq.threads < cpus() && rq.nready > RESUMER_BACKLOG * rq.threads))
			spawn = resumer_wanted();
		watchdog = watchdog_poke();
	}
	pthread_mutex_unlock(&rq.lock);
	if (watchdog)
		watchdog_start();
	if (spawn)
		resumer_spawn();
}

/* Whatever the context that switched away from this thread left to do. */
static void after_switch(void)
{
	struct fthread *t = fth();
	enum after what = t->after;
	struct rtl_fiber *f = t->after_fiber;
	struct rtl_event *e = t->after_event;

	t->after = AFTER_NONE;
	t->after_fiber = NULL;
	t->after_event = NULL;
	if (what == AFTER_PARK) {
		int expect = EV_WAITING;

		/* Its registers are saved: from now on a setter may resume it. */
		if (!atomic_compare_exchange_strong_explicit(
			    &e->word, &expect, EV_PARKED, memory_order_acq_rel,
			    memory_order_acquire)) {
			atomic_fetch_sub(&fibers_parked, 1);
			ready_push(f); /* set while it was parking */
		}
	} else if (what == AFTER_EXIT) {
		fiber_put(f);
	}
}

static void fiber_main(void)
{
	struct fthread *t;
	struct rtl_fiber *self;

#ifdef RTL_FIBER_ASAN
	__sanitizer_finish_switch_fiber(NULL, NULL, NULL);
#endif
	after_switch();
	t = fth();
	self = t->cur;
	self->entry(self->arg);
	/* Finished: back to the stack of the thread it now runs on. */
	t = fth();
	if (t->loop == self)
		t->loop = NULL;
	t->cur = NULL;
	t->after = AFTER_EXIT;
	t->after_fiber = self;
	fiber_switch(&self->ctx, &t->sched, t->sched_stack, t->sched_size, true);
	abort(); /* a pooled fiber is never switched back to */
}

static void fth_stack(struct fthread *t)
{
	pthread_attr_t attr;
	void *addr = NULL;
	size_t size = 0;

	if (pthread_getattr_np(pthread_self(), &attr) == 0) {
		pthread_attr_getstack(&attr, &addr, &size);
		pthread_attr_destroy(&attr);
	}
	t->sched_stack = addr;
	t->sched_size = size;
}

static void fiber_start(struct rtl_fiber *f, void (*entry)(void *), void *arg)
{
	f->entry = entry;
	f->arg = arg;
#ifdef RTL_FIBER_ASAN
	/* Frames live when the stack was last left behind stay poisoned. */
	ASAN_UNPOISON_MEMORY_REGION(f->stack, f->stack_size);
#endif
	ctx_make(&f->ctx, f->stack, f->stack_size, fiber_main);
}

void rtl_fiber_run_thread(void (*entry)(void *arg), void *arg)
{
	struct fthread th;
	struct rtl_fiber *f = fiber_get();

	if (!f) {
		rtl_log(LOG_WARNING, "fibers: no memory for a fiber; this thread "
			"serves without one (pended operations hold it)");
		entry(arg);
		return;
	}
	memset(&th, 0, sizeof(th));
	fth_stack(&th);
	th.entry = entry;
	th.arg = arg;
	th.loop = f;
	th.cur = f;
	fiber_start(f, entry, arg);
	fth_set(&th);
	fiber_switch(&th.sched, &f->ctx, f->stack, f->stack_size, false);
	after_switch(); /* the last loop fiber finished */
	fth_set(NULL);
}

bool rtl_fiber_is_loop(void)
{
	struct fthread *t = fth();

	return !t || (t->cur && t->cur == t->loop);
}

static void *resumer_main(void *arg)
{
	struct fthread th;
	struct timespec until;
	struct rtl_fiber *f;
	bool watchdog;

	(void)arg;
	memset(&th, 0, sizeof(th));
	fth_stack(&th);
	fth_set(&th);
	pthread_mutex_lock(&rq.lock);
	rq.spawning = false;
	for (;;) {
		while (!rq.head) {
			int rc;

			rtl_deadline_ms(&until, RESUMER_IDLE_SEC * 1000L);
			rq.idle++;
			rc = pthread_cond_timedwait(&rq.cond, &rq.lock, &until);
			rq.idle--;
			if (rc == ETIMEDOUT && !rq.head && rq.threads > RESUMERS_KEEP) {
				rq.threads--;
				pthread_mutex_unlock(&rq.lock);
				fth_set(NULL);
				return NULL;
			}
		}
		f = rq.head;
		rq.head = f->next;
		if (!rq.head)
			rq.tail = NULL;
		rq.nready--;
		rq.pops++;
		watchdog = rq.head && rq.idle == 0 && watchdog_poke();
		pthread_mutex_unlock(&rq.lock);
		if (watchdog)
			watchdog_start();
		th.cur = f;
		fiber_switch(&th.sched, &f->ctx, f->stack, f->stack_size, false);
		after_switch();
		pthread_mutex_lock(&rq.lock);
	}
}

/* ---- Events -------------------------------------------------------------- */

void rtl_event_wait(struct rtl_event *e)
{
	int expect = EV_WAITING;

	if (!atomic_compare_exchange_strong_explicit(&e->word, &expect, EV_SLEEPER,
						     memory_order_acq_rel,
						     memory_order_acquire))
		return; /* already set */
	while (atomic_load_explicit(&e->word, memory_order_acquire) == EV_SLEEPER)
		syscall(SYS_futex, &e->word, FUTEX_WAIT_PRIVATE, EV_SLEEPER, NULL,
			NULL, 0);
}

void rtl_event_wait_fiber(struct rtl_event *e)
{
	struct fthread *t = fth();
	struct rtl_fiber *self = t ? t->cur : NULL, *next = NULL;
	struct rtl_ctx *to;
	const void *to_stack;
	size_t to_size;

	if (atomic_load_explicit(&e->word, memory_order_acquire) == EV_SET)
		return;
	if (!self) {
		rtl_event_wait(e);
		return;
	}
	if (t->loop == self) {
		/* The thread goes on serving on a fresh fiber. */
		next = fiber_get();
		if (!next) {
			rtl_event_wait(e);
			return;
		}
		fiber_start(next, t->entry, t->arg);
		t->loop = next;
		to = &next->ctx;
		to_stack = next->stack;
		to_size = next->stack_size;
	} else {
		to = &t->sched; /* a resumer: back to its queue */
		to_stack = t->sched_stack;
		to_size = t->sched_size;
	}
	e->fiber = self;
	atomic_fetch_add(&fibers_parked, 1);
	t->cur = next;
	t->after = AFTER_PARK;
	t->after_fiber = self;
	t->after_event = e;
	fiber_switch(&self->ctx, to, to_stack, to_size, false);
	/* Resumed, on whichever thread took it from the ready queue. */
	after_switch();
}

void rtl_event_set(struct rtl_event *e)
{
	int old = atomic_exchange_explicit(&e->word, EV_SET, memory_order_acq_rel);

	if (old == EV_SLEEPER) {
		syscall(SYS_futex, &e->word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	} else if (old == EV_PARKED) {
		atomic_fetch_sub(&fibers_parked, 1);
		ready_push(e->fiber);
	}
}
