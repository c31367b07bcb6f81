/*
 * fltio.h - the pieces of filter-initiated I/O (fltio.c) that the other
 * FltXxx I/O routines share: one operation issued by an instance runs
 * fio_begin, fio_pre (the instances below the issuer), the back end's
 * work, fio_done with its result, then fio_end (their post callbacks).
 */
#ifndef ALTITUDE_IOMGR_FLTIO_H
#define ALTITUDE_IOMGR_FLTIO_H

#include "iomgr/iomgr.h"

#include <stdbool.h>

struct fio_op {
	struct fm_op_ctx fm;
	struct fm_requestor req;
};

/* The I/O manager volume an instance is attached to. */
struct io_volume *fio_vol(struct fm_instance *inst);
/* Instance is a live, attached instance. */
bool fio_inst_ok(PFLT_INSTANCE i);
/* Starts an operation issued by inst: requestor the daemon, KernelMode,
 * FLTFL_CALLBACK_DATA_GENERATED_IO, seen by the instances below inst. */
void fio_begin(struct fio_op *op, struct fm_instance *inst, UCHAR major,
	       UCHAR minor, PFILE_OBJECT fo);
/* Pre callbacks below the issuer; false when one completed the operation. */
bool fio_pre(struct fio_op *op);
/* Records the back end's result (err: 0 or -errno). */
void fio_done(struct fio_op *op, int err, ULONG_PTR info);
/* Post callbacks; returns the final status. */
NTSTATUS fio_end(struct fio_op *op);
/* A descriptor for I/O on fo in mode O_RDONLY or O_WRONLY: fo's own, or
 * one opened for the call (*temp: the caller closes it). */
int fio_fd(struct io_volume *v, PFILE_OBJECT fo, int mode, bool *temp);

#endif /* ALTITUDE_IOMGR_FLTIO_H */
