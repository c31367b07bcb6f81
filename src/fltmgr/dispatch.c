/*
 * dispatch.c - running an operation through the instance stack.
 *
 * Pre-operation callbacks run from the highest altitude down; an instance is
 * called only if it registered the major function and its SKIP_* flags do
 * not exclude this kind of I/O.  FLT_PREOP_COMPLETE stops the descent: the
 * status the filter set is the operation's, the instances below never see it,
 * and the post callbacks of the instances above that asked for one still run.
 * Post-operation callbacks run from the lowest altitude up, each with the
 * completion context its own pre callback returned and the parameters as
 * that instance received them: a change an instance makes is seen by the
 * instances below it, in pre and post, never by itself or those above.
 *
 * A pre callback may pend the operation (FLT_PREOP_PENDING) and a post
 * callback may hold it (FLT_POSTOP_MORE_PROCESSING_REQUIRED); pending.c
 * waits for the filter's FltCompletePended*Operation, then the walk goes
 * on from that instance as if the callback had returned the verdict.
 *
 * Nothing here allocates; the state is the caller's struct fm_op_ctx.
 */
#include "fltmgr/fm.h"
#include "rtl/rtl.h"

#include <string.h>
#include <syslog.h>

/* Does this instance's registration exclude this I/O? */
static bool fm_skip(const struct fm_op_reg *reg, const FLT_IO_PARAMETER_BLOCK *iopb)
{
	ULONG irp = iopb->IrpFlags;

	if (!reg->flags)
		return false;
	if (iopb->MajorFunction != IRP_MJ_READ &&
	    iopb->MajorFunction != IRP_MJ_WRITE) {
		/* Paging flag also marks paging metadata queries on Windows. */
		return (reg->flags & FLTFL_OPERATION_REGISTRATION_SKIP_PAGING_IO) &&
		       (irp & IRP_PAGING_IO);
	}
	if (irp & IRP_PAGING_IO)
		return reg->flags & FLTFL_OPERATION_REGISTRATION_SKIP_PAGING_IO;
	if (irp & IRP_NOCACHE)
		return reg->flags &
		       FLTFL_OPERATION_REGISTRATION_SKIP_NON_CACHED_NON_PAGING_IO;
	return reg->flags & FLTFL_OPERATION_REGISTRATION_SKIP_CACHED_IO;
}

static void fm_objects(struct fm_op_ctx *op, struct fm_instance *inst,
		       FLT_RELATED_OBJECTS *o)
{
	o->Size = sizeof(*o);
	o->TransactionContext = 0;
	o->Filter = (PFLT_FILTER)inst->filter;
	o->Volume = (PFLT_VOLUME)op->vol;
	o->Instance = (PFLT_INSTANCE)inst;
	o->FileObject = op->iopb.TargetFileObject;
	o->Transaction = NULL;
}

void fm_op_init(struct fm_op_ctx *op, struct fm_volume *vol, UCHAR major,
		UCHAR minor, PFILE_OBJECT file_object, struct fm_requestor *req)
{
	memset(&op->data, 0, sizeof(op->data));
	memset(&op->iopb, 0, sizeof(op->iopb));
	op->data.Flags = FLTFL_CALLBACK_DATA_IRP_OPERATION;
	op->data.Thread = (PETHREAD)req;
	op->data.Iopb = &op->iopb;
	op->data.RequestorMode = UserMode;
	op->iopb.MajorFunction = major;
	op->iopb.MinorFunction = minor;
	op->iopb.TargetFileObject = file_object;
	op->req = req;
	op->vol = vol;
	op->major_idx = fm_major_index(major);
	op->npost = 0;
	op->below = NULL;
	rtl_event_reset(&op->pend);
	atomic_store_explicit(&op->canceled, false, memory_order_relaxed);
	op->cbdq = NULL;
	op->cbdq_ctx = NULL;
	op->cancel_routine = NULL;
	op->on_pend = NULL;
	op->issuer = NULL;
	op->stack = fm_stack_get(vol);
}

bool fm_op_pre(struct fm_op_ctx *op)
{
	struct fm_stack *s = op->stack;
	unsigned idx = op->major_idx, n = s->n_major[idx], i;
	FLT_RELATED_OBJECTS objs;

	for (i = 0; i < n; i++) {
		struct fm_instance *inst = s->inst[s->by_major[idx][i]];
		const struct fm_op_reg *reg = &inst->filter->ops[idx];
		FLT_PREOP_CALLBACK_STATUS st;
		PVOID ctx = NULL;

		if (fm_skip(reg, &op->iopb))
			continue;
		/* I/O an instance issues reaches only the instances below it. */
		if (op->below &&
		    fm_altitude_compare(inst->altitude, op->below->altitude) >= 0)
			continue;
		if (!reg->pre) {
			op->post[op->npost].inst = inst;
			op->post[op->npost].params = op->iopb.Parameters;
			op->post[op->npost++].context = NULL;
			continue;
		}
		op->iopb.TargetInstance = (PFLT_INSTANCE)inst;
		fm_objects(op, inst, &objs);
		op->post[op->npost].params = op->iopb.Parameters;
		st = reg->pre(&op->data, &objs, &ctx);
		if (st == FLT_PREOP_PENDING)
			st = fm_op_wait_pre(op, inst, &ctx);
		switch (st) {
		case FLT_PREOP_SUCCESS_WITH_CALLBACK:
		case FLT_PREOP_SYNCHRONIZE:
			if (reg->post) {
				op->post[op->npost].inst = inst;
				op->post[op->npost++].context = ctx;
			}
			break;
		case FLT_PREOP_SUCCESS_NO_CALLBACK:
		case FLT_PREOP_DISALLOW_FASTIO:
		case FLT_PREOP_DISALLOW_FSFILTER_IO:
			break;
		case FLT_PREOP_COMPLETE:
			if (op->data.IoStatus.Status == STATUS_PENDING) {
				rtl_log(LOG_ERR,
					"filter %s: completed %s with STATUS_PENDING",
					inst->filter->name,
					FltGetIrpName(op->iopb.MajorFunction));
				op->data.IoStatus.Status =
					STATUS_INVALID_DEVICE_STATE;
			}
			return false;
		default:
			rtl_log(LOG_ERR,
				"filter %s: pre-operation %s returned unsupported status %d",
				inst->filter->name,
				FltGetIrpName(op->iopb.MajorFunction), (int)st);
			op->data.IoStatus.Status = STATUS_INVALID_DEVICE_STATE;
			op->data.IoStatus.Information = 0;
			return false;
		}
	}
	op->iopb.TargetInstance = NULL;
	return true;
}

void fm_op_complete(struct fm_op_ctx *op)
{
	FLT_RELATED_OBJECTS objs;

	op->data.Flags |= FLTFL_CALLBACK_DATA_POST_OPERATION;
	while (op->npost) {
		struct fm_instance *inst = op->post[--op->npost].inst;
		const struct fm_op_reg *reg = &inst->filter->ops[op->major_idx];
		FLT_POSTOP_CALLBACK_STATUS st;

		op->iopb.TargetInstance = (PFLT_INSTANCE)inst;
		op->iopb.Parameters = op->post[op->npost].params;
		fm_objects(op, inst, &objs);
		st = reg->post(&op->data, &objs, op->post[op->npost].context, 0);
		if (st == FLT_POSTOP_MORE_PROCESSING_REQUIRED)
			fm_op_wait_post(op, inst);
		else if (st != FLT_POSTOP_FINISHED_PROCESSING)
			rtl_log(LOG_ERR,
				"filter %s: post-operation %s returned unsupported status %d",
				inst->filter->name,
				FltGetIrpName(op->iopb.MajorFunction), (int)st);
	}
	fm_stack_put(op->vol, op->stack);
	op->stack = NULL;
}

BOOLEAN FLTAPI FltIsOperationSynchronous(PFLT_CALLBACK_DATA CallbackData)
{
	/* The program waits for every operation Altitude delivers. */
	return CallbackData != NULL;
}

VOID FLTAPI FltSetCallbackDataDirty(PFLT_CALLBACK_DATA Data)
{
	Data->Flags |= FLTFL_CALLBACK_DATA_DIRTY;
}

VOID FLTAPI FltClearCallbackDataDirty(PFLT_CALLBACK_DATA Data)
{
	Data->Flags &= ~FLTFL_CALLBACK_DATA_DIRTY;
}

BOOLEAN FLTAPI FltIsCallbackDataDirty(PFLT_CALLBACK_DATA Data)
{
	return (Data->Flags & FLTFL_CALLBACK_DATA_DIRTY) != 0;
}
