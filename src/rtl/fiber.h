/*
 * fiber.h - operations that wait without holding a thread.
 *
 * A thread that serves requests (a FUSE worker) runs its loop on a fiber:
 * a stack of its own that can be set aside.  When an operation must wait
 * for someone else (a filter pended it), its fiber parks on an event and
 * the thread goes on serving the next request on a fresh fiber running the
 * same loop.  Setting the event from any thread hands the parked fiber to
 * a resumer thread, which runs it on until it parks again or finishes its
 * request; the fiber then goes back to the pool.  A parked operation costs
 * its stack and whatever it holds, never a thread.
 *
 * Code that runs on a fiber may continue on another thread after a park:
 * it must not keep thread-local state across one (per-fiber slots are for
 * that, rtl_fiber_local), and errno is read through rtl_fiber_errno in the
 * code whose frames live across a park (the compiler may otherwise reuse
 * the first thread's errno address, glibc declaring it const).
 */
#ifndef ALTITUDE_RTL_FIBER_H
#define ALTITUDE_RTL_FIBER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct rtl_fiber;

/* One waiter, one setter; reusable after rtl_event_reset. */
struct rtl_event {
	_Atomic int word;
	struct rtl_fiber *fiber; /* the parked waiter */
};

static inline void rtl_event_reset(struct rtl_event *e)
{
	atomic_store_explicit(&e->word, 0, memory_order_relaxed);
	e->fiber = NULL;
}

/* Blocks the calling thread until the event is set. */
void rtl_event_wait(struct rtl_event *e);
/* On a fiber: parks it (the thread goes on with other work) and returns,
 * possibly on another thread, once the event is set.  Elsewhere, or when
 * no fiber can be had for the thread, blocks the thread. */
void rtl_event_wait_fiber(struct rtl_event *e);
/* Sets the event and wakes or resumes its waiter; any thread. */
void rtl_event_set(struct rtl_event *e);

/*
 * Runs entry(arg) on a fiber on the calling thread.  Whenever the running
 * loop fiber parks, a new fiber takes over the thread with entry(arg)
 * again; entry therefore loops over requests, checking rtl_fiber_is_loop
 * before taking each (a fiber resumed elsewhere has finished its request
 * and returns).  Returns when the thread's loop fiber returns from entry.
 */
void rtl_fiber_run_thread(void (*entry)(void *arg), void *arg);
/* True unless the caller is a fiber that parked and was resumed off its
 * thread (or runs on a resumer): it must return from entry. */
bool rtl_fiber_is_loop(void);

/* Per-fiber slots: a key for each user, its value destroyed with the
 * fiber (not when the fiber is reused).  NULL when not on a fiber. */
int rtl_fiber_key_create(void (*destroy)(void *value));
void **rtl_fiber_local(int key);

/* errno of the calling thread, through a call the compiler cannot fold. */
int *rtl_fiber_errno(void);

/* Fibers parked right now, and threads resuming them (for tests, fltmc). */
long rtl_fibers_parked(void);
long rtl_fiber_resumers(void);

#endif /* ALTITUDE_RTL_FIBER_H */
