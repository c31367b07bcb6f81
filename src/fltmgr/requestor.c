/*
 * requestor.c - who asked for an operation: the Linux thread, its process
 * and its user.  FLT_CALLBACK_DATA.Thread points to the struct fm_requestor
 * of the operation, which serves as both PETHREAD and PEPROCESS.  FUSE
 * reports the calling thread; its process id is read from /proc only when a
 * filter asks for it, so operations nobody inspects pay nothing, and kept
 * for a second per thread id: a program making many changes in a row (each
 * of which a filter inspects) is looked up once.  A thread id reused by
 * another process within that second would be misattributed; Linux hands
 * out ids in increasing order and wraps only after pid_max.
 */
#include "fltmgr/fm.h"
#include "rtl/rtl.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct fm_requestor fm_self_requestor;

#define FM_TGID_SLOTS 64
#define FM_TGID_TTL 10000000LL /* 1 s in the performance counter's 100 ns */

static struct {
	pthread_mutex_t lock;
	struct {
		pid_t tid, tgid;
		int64_t when;
	} slot[FM_TGID_SLOTS];
} fm_tgids = { .lock = PTHREAD_MUTEX_INITIALIZER };

static pid_t fm_tgid_cached(pid_t tid, int64_t now)
{
	unsigned i = (unsigned)tid % FM_TGID_SLOTS;
	pid_t tgid = 0;

	pthread_mutex_lock(&fm_tgids.lock);
	if (fm_tgids.slot[i].tid == tid && now - fm_tgids.slot[i].when < FM_TGID_TTL)
		tgid = fm_tgids.slot[i].tgid;
	pthread_mutex_unlock(&fm_tgids.lock);
	return tgid;
}

static void fm_tgid_remember(pid_t tid, pid_t tgid, int64_t now)
{
	unsigned i = (unsigned)tid % FM_TGID_SLOTS;

	pthread_mutex_lock(&fm_tgids.lock);
	fm_tgids.slot[i].tid = tid;
	fm_tgids.slot[i].tgid = tgid;
	fm_tgids.slot[i].when = now;
	pthread_mutex_unlock(&fm_tgids.lock);
}

static pid_t fm_resolve_pid(struct fm_requestor *r)
{
	char path[64], buf[512];
	int64_t now;
	ssize_t n;
	int fd;
	char *p;

	if (r->pid)
		return r->pid;
	if (r == &fm_self_requestor) {
		r->pid = rtl_getpid();
		return r->pid;
	}
	now = KeQueryPerformanceCounter(NULL).QuadPart;
	r->pid = fm_tgid_cached(r->tid, now);
	if (r->pid)
		return r->pid;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)r->tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return r->tid; /* the thread is gone; its id is the best answer */
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return r->tid;
	buf[n] = 0;
	p = strstr(buf, "\nTgid:");
	r->pid = p ? (pid_t)strtol(p + 6, NULL, 10) : r->tid;
	if (p)
		fm_tgid_remember(r->tid, r->pid, now);
	return r->pid;
}

static struct fm_requestor *fm_req(PVOID p)
{
	return p ? (struct fm_requestor *)p : &fm_self_requestor;
}

ULONG FLTAPI FltGetRequestorProcessId(PFLT_CALLBACK_DATA CallbackData)
{
	return CallbackData ? (ULONG)fm_resolve_pid(fm_req(CallbackData->Thread))
			    : 0;
}

HANDLE FLTAPI FltGetRequestorProcessIdEx(PFLT_CALLBACK_DATA CallbackData)
{
	return (HANDLE)(ULONG_PTR)FltGetRequestorProcessId(CallbackData);
}

PEPROCESS FLTAPI FltGetRequestorProcess(PFLT_CALLBACK_DATA CallbackData)
{
	return CallbackData ? (PEPROCESS)CallbackData->Thread : NULL;
}

ULONG FLTAPI FltGetRequestorThreadIdLx(PFLT_CALLBACK_DATA CallbackData)
{
	return CallbackData ? (ULONG)fm_req(CallbackData->Thread)->tid : 0;
}

NTSTATUS FLTAPI FltGetRequestorLxIds(PFLT_CALLBACK_DATA CallbackData,
				     PULONG Uid, PULONG Gid)
{
	struct fm_requestor *r;

	if (!CallbackData || !CallbackData->Thread)
		return STATUS_INVALID_PARAMETER;
	r = CallbackData->Thread;
	if (Uid)
		*Uid = r->uid;
	if (Gid)
		*Gid = r->gid;
	return STATUS_SUCCESS;
}

HANDLE NTAPI PsGetThreadId(PETHREAD Thread)
{
	struct fm_requestor *r = fm_req(Thread);

	if (r == &fm_self_requestor)
		return (HANDLE)(ULONG_PTR)rtl_gettid();
	return (HANDLE)(ULONG_PTR)r->tid;
}

HANDLE NTAPI PsGetThreadProcessId(PETHREAD Thread)
{
	return (HANDLE)(ULONG_PTR)fm_resolve_pid(fm_req(Thread));
}

HANDLE NTAPI PsGetProcessId(PEPROCESS Process)
{
	return (HANDLE)(ULONG_PTR)fm_resolve_pid(fm_req(Process));
}

PEPROCESS NTAPI IoThreadToProcess(PETHREAD Thread)
{
	return (PEPROCESS)fm_req(Thread);
}

PEPROCESS NTAPI PsGetCurrentProcess(void)
{
	return (PEPROCESS)&fm_self_requestor;
}
