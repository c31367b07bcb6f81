/*
 * loop.c - serving a volume's FUSE session: worker threads that read
 * requests from /dev/fuse and run them, each on a fiber (rtl/fiber.h).
 *
 * A worker reads a request into its fiber's buffer and runs it through
 * libfuse to the handler.  When a filter pends the operation, the fiber
 * parks with everything the request needs (the buffer libfuse parsed, the
 * handler's frames with the callback data, the file information libfuse
 * keeps on the stack) and the worker goes on reading on a fresh fiber: a
 * pended operation holds no thread, and thousands can be pending at once.
 * The filter's completion resumes the fiber on a resumer thread, which
 * finishes the operation and replies.
 *
 * Threads: a worker is started whenever the last one waiting for a
 * request takes one (as libfuse's own loop does), up to IO_MAX_WORKERS;
 * threads are then held only by operations that block in the file system
 * or in a filter that waits synchronously.  Workers beyond IO_MAX_IDLE
 * waiting go away.  When the session ends, workers still blocked reading
 * /dev/fuse (the kernel does not always end their reads, e.g. while
 * programs keep files open on the volume) are interrupted with SIGUSR2
 * until all have seen the end.
 */
#include "iomgr/iomgr.h"
#include "rtl/rtl.h"

#include <linux/fuse.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#define IO_MAX_WORKERS 1024
#define IO_MAX_IDLE 16
#define IO_WAKE_SIGNAL SIGUSR2

struct io_worker {
	struct io_volume *v;
	bool first; /* the volume's own thread: it stays to the end */
	pthread_t thread;
	LIST_ENTRY link; /* on v->worker_list, under loop_lock */
};

static void *io_worker_main(void *arg);

static void io_wake_handler(int sig)
{
	(void)sig; /* only to end a blocking read with EINTR */
}

static pthread_once_t io_wake_once = PTHREAD_ONCE_INIT;

static void io_wake_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = io_wake_handler; /* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	sigaction(IO_WAKE_SIGNAL, &sa, NULL);
}

/* The calling thread serves v: listed, and woken by IO_WAKE_SIGNAL. */
static void io_worker_enter(struct io_worker *w)
{
	struct io_volume *v = w->v;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, IO_WAKE_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	w->thread = pthread_self();
	pthread_mutex_lock(&v->loop_lock);
	InsertHeadList(&v->worker_list, &w->link);
	pthread_mutex_unlock(&v->loop_lock);
}

/* Called with loop_lock held; the thread may exit once it is unlocked. */
static void io_worker_leave(struct io_worker *w)
{
	struct io_volume *v = w->v;

	RemoveEntryList(&w->link);
	v->workers--;
	pthread_cond_broadcast(&v->loop_cond);
}

/* Called with loop_lock held. */
static void io_worker_spawn(struct io_volume *v)
{
	struct io_worker *w = malloc(sizeof(*w));
	int err;

	if (!w)
		return;
	w->v = v;
	w->first = false;
	err = rtl_thread_start(io_worker_main, w);
	if (err) {
		free(w);
		rtl_log(LOG_WARNING, "volume %s: cannot start a worker thread: %s",
			v->name, strerror(err));
		return;
	}
	v->workers++;
}

static bool io_is_forget(const struct fuse_buf *buf)
{
	const struct fuse_in_header *in = buf->mem;

	return buf->size >= sizeof(*in) &&
	       (in->opcode == FUSE_FORGET || in->opcode == FUSE_BATCH_FORGET);
}

/* The loop each fiber runs; a fiber whose request was pended and resumed
 * elsewhere returns once the request is done. */
static void io_serve(void *arg)
{
	const struct io_worker *w = arg;
	struct io_volume *v = w->v;
	bool first = w->first;
	struct io_tls *t = io_tls();

	if (!t) {
		rtl_log(LOG_ERR, "volume %s: no memory for a request buffer", v->name);
		fuse_session_exit(v->se);
		return;
	}
	/* Two turns of loop_lock per request, as libfuse's own loop. */
	pthread_mutex_lock(&v->loop_lock);
	for (;;) {
		int res;

		/* A fiber resumed elsewhere is done; enough threads wait
		 * already: this one goes. */
		if (!rtl_fiber_is_loop() || fuse_session_exited(v->se) ||
		    (!first && v->waiting >= IO_MAX_IDLE))
			break;
		v->waiting++;
		pthread_mutex_unlock(&v->loop_lock);
		res = fuse_session_receive_buf(v->se, &t->fbuf);
		pthread_mutex_lock(&v->loop_lock);
		v->waiting--;
		if (res == -EINTR || res == -EAGAIN)
			continue;
		if (res <= 0) {
			if (res < 0)
				v->loop_status = res;
			pthread_mutex_unlock(&v->loop_lock);
			fuse_session_exit(v->se);
			return;
		}
		/* FORGETs have no reply: no thread for them. */
		if (!io_is_forget(&t->fbuf) && v->waiting == 0 &&
		    v->workers < IO_MAX_WORKERS && !fuse_session_exited(v->se))
			io_worker_spawn(v);
		v->busy++;
		pthread_mutex_unlock(&v->loop_lock);
		fuse_session_process_buf(v->se, &t->fbuf);
		pthread_mutex_lock(&v->loop_lock);
		if (--v->busy == 0)
			pthread_cond_broadcast(&v->loop_cond);
	}
	pthread_mutex_unlock(&v->loop_lock);
}

static void *io_worker_main(void *arg)
{
	struct io_worker *w = arg;
	struct io_volume *v = w->v;

	io_worker_enter(w);
	rtl_fiber_run_thread(io_serve, w);
	pthread_mutex_lock(&v->loop_lock);
	io_worker_leave(w);
	pthread_mutex_unlock(&v->loop_lock);
	free(w);
	return NULL;
}

static void io_loop_wake_locked(struct io_volume *v)
{
	PLIST_ENTRY e;

	for (e = v->worker_list.Flink; e != &v->worker_list; e = e->Flink)
		pthread_kill(CONTAINING_RECORD(e, struct io_worker, link)->thread,
			     IO_WAKE_SIGNAL);
}

void io_loop_wake(struct io_volume *v)
{
	pthread_mutex_lock(&v->loop_lock);
	io_loop_wake_locked(v);
	pthread_mutex_unlock(&v->loop_lock);
}

void io_loop_run(struct io_volume *v)
{
	struct io_worker w = { .v = v, .first = true };
	struct timespec until;

	pthread_once(&io_wake_once, io_wake_install);
	pthread_mutex_lock(&v->loop_lock);
	v->workers++;
	pthread_mutex_unlock(&v->loop_lock);
	io_worker_enter(&w);
	rtl_fiber_run_thread(io_serve, &w);
	/* The session ended: interrupt the workers still reading until every
	 * one has seen it (a signal may land just before a read begins). */
	pthread_mutex_lock(&v->loop_lock);
	io_worker_leave(&w);
	while (v->workers > 0) {
		io_loop_wake_locked(v);
		rtl_deadline_ms(&until, 20);
		pthread_cond_timedwait(&v->loop_cond, &v->loop_lock, &until);
	}
	pthread_mutex_unlock(&v->loop_lock);
}

void io_loop_drain(struct io_volume *v)
{
	struct timespec until;

	pthread_mutex_lock(&v->loop_lock);
	while (v->busy > 0) {
		unsigned busy = v->busy;

		rtl_deadline_ms(&until, 5000);
		if (pthread_cond_timedwait(&v->loop_cond, &v->loop_lock, &until) ==
			    ETIMEDOUT &&
		    v->busy == busy)
			rtl_log(LOG_WARNING,
				"volume %s: waiting for %u operations a filter "
				"holds pended", v->name, busy);
	}
	pthread_mutex_unlock(&v->loop_lock);
}
