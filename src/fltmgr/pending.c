/*
 * pending.c - pended operations: FLT_PREOP_PENDING with
 * FltCompletePendedPreOperation, FLT_POSTOP_MORE_PROCESSING_REQUIRED with
 * FltCompletePendedPostOperation, cancellation (FltIsIoCanceled,
 * FltSetCancelCompletion) and the cancel-safe queues (FltCbdq*).
 *
 * The operation's state is its struct fm_op_ctx, which stays where the
 * issuer put it (a program's operation: on its fiber's stack); the
 * operation waits on the context's event, and the filter's completion,
 * from any thread, stores the verdict and sets it.  A program's operation
 * holds no thread while it waits: its fiber is parked and resumed by a
 * resumer thread (rtl/fiber.c).  The filter may complete before its
 * callback has returned: the event is then already set and the wait
 * returns at once.
 *
 * Cancellation: the issuer's on_pend hook arms a cancel notification (the
 * I/O manager: a FUSE interrupt when the program gets a signal) that calls
 * fm_op_cancel.  All queue bookkeeping and cancel routines are serialised
 * by fm_cancel_lock, taken before a queue's own lock (its Acquire
 * callback), so a canceled operation is removed from its queue exactly
 * once, either by the cancel or by the filter's FltCbdqRemove*.
 */
#include "fltmgr/fm.h"
#include "rtl/rtl.h"

#include <errno.h>
#include <stddef.h>
#include <syslog.h>

static pthread_mutex_t fm_cancel_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic long fm_pending;

static struct fm_op_ctx *fm_op_of(PFLT_CALLBACK_DATA data)
{
	return (struct fm_op_ctx *)((char *)data - offsetof(struct fm_op_ctx, data));
}

long fm_pending_count(void)
{
	return atomic_load(&fm_pending);
}

/*
 * Waits until the filter completes op.  A program's operation (the I/O
 * manager set on_pend) parks its fiber: the thread serves other requests
 * meanwhile and the operation goes on wherever it is resumed.  Filter-
 * initiated I/O blocks the thread that issued it, as synchronous I/O does,
 * so the issuing filter's code never changes threads under it; nothing
 * cancels it either.
 */
static void fm_op_park(struct fm_op_ctx *op)
{
	atomic_fetch_add(&fm_pending, 1);
	if (op->on_pend) {
		op->on_pend(op, true);
		rtl_event_wait_fiber(&op->pend);
		/* Waits for a cancel in progress: none runs after this. */
		op->on_pend(op, false);
	} else {
		rtl_event_wait(&op->pend);
	}
	atomic_fetch_sub(&fm_pending, 1);
	op->cancel_routine = NULL;
	rtl_event_reset(&op->pend);
}

FLT_PREOP_CALLBACK_STATUS fm_op_wait_pre(struct fm_op_ctx *op,
					 struct fm_instance *inst, PVOID *ctx)
{
	FLT_PREOP_CALLBACK_STATUS st;

	fm_op_park(op);
	st = op->pend_status;
	*ctx = op->pend_context;
	switch (st) {
	case FLT_PREOP_SUCCESS_WITH_CALLBACK:
	case FLT_PREOP_SUCCESS_NO_CALLBACK:
	case FLT_PREOP_COMPLETE:
		return st;
	default:
		rtl_log(LOG_ERR,
			"filter %s: completed a pended %s with invalid status %d",
			inst->filter->name, FltGetIrpName(op->iopb.MajorFunction),
			(int)st);
		op->data.IoStatus.Status = STATUS_INVALID_DEVICE_STATE;
		op->data.IoStatus.Information = 0;
		return FLT_PREOP_COMPLETE;
	}
}

void fm_op_wait_post(struct fm_op_ctx *op, struct fm_instance *inst)
{
	(void)inst;
	fm_op_park(op);
}

VOID FLTAPI FltCompletePendedPreOperation(PFLT_CALLBACK_DATA CallbackData,
					  FLT_PREOP_CALLBACK_STATUS CallbackStatus,
					  PVOID Context)
{
	struct fm_op_ctx *op;

	if (!CallbackData)
		return;
	op = fm_op_of(CallbackData);
	op->pend_status = CallbackStatus;
	op->pend_context = Context;
	rtl_event_set(&op->pend);
}

VOID FLTAPI FltCompletePendedPostOperation(PFLT_CALLBACK_DATA CallbackData)
{
	if (CallbackData)
		rtl_event_set(&fm_op_of(CallbackData)->pend);
}

BOOLEAN FLTAPI FltDoCompletionProcessingWhenSafe(
	PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects,
	PVOID CompletionContext, FLT_POST_OPERATION_FLAGS Flags,
	PFLT_POST_OPERATION_CALLBACK SafePostCallback,
	PFLT_POSTOP_CALLBACK_STATUS RetPostOperationStatus)
{
	FLT_POSTOP_CALLBACK_STATUS st;

	if (!Data || !SafePostCallback || !RetPostOperationStatus)
		return FALSE;
	st = SafePostCallback(Data, FltObjects, CompletionContext, Flags);
	*RetPostOperationStatus = st;
	return TRUE;
}

/* ---- Cancellation -------------------------------------------------------------- */

BOOLEAN FLTAPI FltIsIoCanceled(PFLT_CALLBACK_DATA CallbackData)
{
	return CallbackData && atomic_load(&fm_op_of(CallbackData)->canceled);
}

NTSTATUS FLTAPI FltSetCancelCompletion(PFLT_CALLBACK_DATA CallbackData,
				       PFLT_COMPLETE_CANCELED_CALLBACK CanceledCallback)
{
	struct fm_op_ctx *op;
	NTSTATUS st = STATUS_SUCCESS;

	if (!CallbackData || !CanceledCallback)
		return STATUS_INVALID_PARAMETER;
	op = fm_op_of(CallbackData);
	pthread_mutex_lock(&fm_cancel_lock);
	if (atomic_load(&op->canceled))
		st = STATUS_CANCELLED;
	else
		op->cancel_routine = CanceledCallback;
	pthread_mutex_unlock(&fm_cancel_lock);
	return st;
}

NTSTATUS FLTAPI FltClearCancelCompletion(PFLT_CALLBACK_DATA CallbackData)
{
	if (!CallbackData)
		return STATUS_INVALID_PARAMETER;
	pthread_mutex_lock(&fm_cancel_lock);
	fm_op_of(CallbackData)->cancel_routine = NULL;
	pthread_mutex_unlock(&fm_cancel_lock);
	return STATUS_SUCCESS;
}

/* Takes op out of its queue (fm_cancel_lock and the queue's lock held). */
static void fm_cbdq_unlink(PFLT_CALLBACK_DATA_QUEUE q, struct fm_op_ctx *op)
{
	PFLT_CALLBACK_DATA_QUEUE_IO_CONTEXT ctx = op->cbdq_ctx;

	q->RemoveIo(q, &op->data);
	op->cbdq = NULL;
	op->cbdq_ctx = NULL;
	if (ctx)
		ctx->Irp = NULL;
}

void fm_op_cancel(struct fm_op_ctx *op)
{
	PFLT_CALLBACK_DATA_QUEUE q;
	void (*routine)(PFLT_CALLBACK_DATA) = NULL;
	KIRQL irql = 0;

	pthread_mutex_lock(&fm_cancel_lock);
	atomic_store(&op->canceled, true);
	q = op->cbdq;
	if (q) {
		q->Acquire(q, &irql);
		fm_cbdq_unlink(q, op);
		q->Release(q, irql);
	} else {
		routine = op->cancel_routine;
		op->cancel_routine = NULL;
	}
	pthread_mutex_unlock(&fm_cancel_lock);
	/* Outside the lock: these complete the operation, which may free it. */
	if (q)
		q->CompleteCanceledIo(q, &op->data);
	else if (routine)
		routine(&op->data);
}

/* ---- Cancel-safe queues ------------------------------------------------------------- */

NTSTATUS FLTAPI FltCbdqInitialize(
	PFLT_INSTANCE Instance, PFLT_CALLBACK_DATA_QUEUE Cbdq,
	PFLT_CALLBACK_DATA_QUEUE_INSERT_IO CbdqInsertIo,
	PFLT_CALLBACK_DATA_QUEUE_REMOVE_IO CbdqRemoveIo,
	PFLT_CALLBACK_DATA_QUEUE_PEEK_NEXT_IO CbdqPeekNextIo,
	PFLT_CALLBACK_DATA_QUEUE_ACQUIRE CbdqAcquire,
	PFLT_CALLBACK_DATA_QUEUE_RELEASE CbdqRelease,
	PFLT_CALLBACK_DATA_QUEUE_COMPLETE_CANCELED_IO CbdqCompleteCanceledIo)
{
	if (!Cbdq || !CbdqInsertIo || !CbdqRemoveIo || !CbdqPeekNextIo ||
	    !CbdqAcquire || !CbdqRelease || !CbdqCompleteCanceledIo)
		return STATUS_INVALID_PARAMETER;
	memset(Cbdq, 0, sizeof(*Cbdq));
	Cbdq->Instance = Instance;
	Cbdq->InsertIo = CbdqInsertIo;
	Cbdq->RemoveIo = CbdqRemoveIo;
	Cbdq->PeekNextIo = CbdqPeekNextIo;
	Cbdq->Acquire = CbdqAcquire;
	Cbdq->Release = CbdqRelease;
	Cbdq->CompleteCanceledIo = CbdqCompleteCanceledIo;
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltCbdqInsertIo(PFLT_CALLBACK_DATA_QUEUE Cbdq,
				PFLT_CALLBACK_DATA Cbd,
				PFLT_CALLBACK_DATA_QUEUE_IO_CONTEXT Context,
				PVOID InsertContext)
{
	struct fm_op_ctx *op;
	bool canceled;
	KIRQL irql = 0;
	NTSTATUS st;

	if (!Cbdq || !Cbd)
		return STATUS_INVALID_PARAMETER;
	op = fm_op_of(Cbd);
	pthread_mutex_lock(&fm_cancel_lock);
	Cbdq->Acquire(Cbdq, &irql);
	if (Cbdq->Csq.Disabled) {
		Cbdq->Release(Cbdq, irql);
		pthread_mutex_unlock(&fm_cancel_lock);
		return STATUS_FLT_CBDQ_DISABLED;
	}
	st = Cbdq->InsertIo(Cbdq, Cbd, InsertContext);
	if (!NT_SUCCESS(st)) {
		Cbdq->Release(Cbdq, irql);
		pthread_mutex_unlock(&fm_cancel_lock);
		return st;
	}
	op->cbdq = Cbdq;
	op->cbdq_ctx = Context;
	if (Context) {
		Context->Irp = Cbd;
		Context->Csq = &Cbdq->Csq;
	}
	canceled = atomic_load(&op->canceled);
	if (canceled)
		fm_cbdq_unlink(Cbdq, op);
	Cbdq->Release(Cbdq, irql);
	pthread_mutex_unlock(&fm_cancel_lock);
	if (canceled)
		Cbdq->CompleteCanceledIo(Cbdq, Cbd);
	return STATUS_SUCCESS;
}

PFLT_CALLBACK_DATA FLTAPI FltCbdqRemoveIo(PFLT_CALLBACK_DATA_QUEUE Cbdq,
					  PFLT_CALLBACK_DATA_QUEUE_IO_CONTEXT Context)
{
	PFLT_CALLBACK_DATA data = NULL;
	KIRQL irql = 0;

	if (!Cbdq || !Context)
		return NULL;
	pthread_mutex_lock(&fm_cancel_lock);
	Cbdq->Acquire(Cbdq, &irql);
	if (Context->Irp) {
		struct fm_op_ctx *op = fm_op_of(Context->Irp);

		if (op->cbdq == Cbdq) {
			data = Context->Irp;
			fm_cbdq_unlink(Cbdq, op);
		}
	}
	Cbdq->Release(Cbdq, irql);
	pthread_mutex_unlock(&fm_cancel_lock);
	return data;
}

PFLT_CALLBACK_DATA FLTAPI FltCbdqRemoveNextIo(PFLT_CALLBACK_DATA_QUEUE Cbdq,
					      PVOID PeekContext)
{
	PFLT_CALLBACK_DATA data;
	KIRQL irql = 0;

	if (!Cbdq)
		return NULL;
	pthread_mutex_lock(&fm_cancel_lock);
	Cbdq->Acquire(Cbdq, &irql);
	data = Cbdq->PeekNextIo(Cbdq, NULL, PeekContext);
	if (data)
		fm_cbdq_unlink(Cbdq, fm_op_of(data));
	Cbdq->Release(Cbdq, irql);
	pthread_mutex_unlock(&fm_cancel_lock);
	return data;
}

VOID FLTAPI FltCbdqEnable(PFLT_CALLBACK_DATA_QUEUE Cbdq)
{
	KIRQL irql = 0;

	if (!Cbdq)
		return;
	Cbdq->Acquire(Cbdq, &irql);
	Cbdq->Csq.Disabled = 0;
	Cbdq->Release(Cbdq, irql);
}

VOID FLTAPI FltCbdqDisable(PFLT_CALLBACK_DATA_QUEUE Cbdq)
{
	KIRQL irql = 0;

	if (!Cbdq)
		return;
	Cbdq->Acquire(Cbdq, &irql);
	Cbdq->Csq.Disabled = 1;
	Cbdq->Release(Cbdq, irql);
}
