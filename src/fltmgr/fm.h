/*
 * fm.h - the filter manager's object model: filters, volumes, instances and
 * the per-operation dispatch state.
 *
 * Invariants:
 *  - A volume publishes its instances as an immutable stack snapshot
 *    (struct fm_stack), sorted from the highest altitude down.  An operation
 *    takes a reference on the snapshot current when it starts and uses it
 *    until it ends, so attach and detach never change the order under a
 *    running operation; a detached instance is torn down only after every
 *    snapshot that contains it has drained.
 *  - Altitudes are unique per volume.
 *  - Per-operation state (struct fm_op_ctx) lives on the caller's stack: the
 *    dispatch path allocates nothing and takes only the volume's snapshot
 *    lock for the few instructions it needs to reference the snapshot.
 *  - Objects handed to filters (PFLT_FILTER, PFLT_VOLUME, PFLT_INSTANCE) start
 *    with struct fm_object so FltObjectReference can tell them apart.
 */
#ifndef ALTITUDE_FM_H
#define ALTITUDE_FM_H

#include <fltKernel.h>
#include "rtl/fiber.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#define FM_NAME_MAX 64
#define FM_ALTITUDE_MAX 32
/* The WDK's 0x00..0x1b plus the 20 negative FSFilter/fast I/O codes. */
#define FM_MAJOR_COUNT 48
#define FM_MAJOR_INVALID 0xff
/* Instances a single volume can stack; one more is refused at attach. */
#define FM_MAX_STACK 32

enum fm_object_type {
	FM_OBJ_FILTER = 0x46494c54, /* "FILT" */
	FM_OBJ_VOLUME = 0x564f4c55, /* "VOLU" */
	FM_OBJ_INSTANCE = 0x494e5354, /* "INST" */
};

struct fm_object {
	enum fm_object_type type;
	atomic_long refs;
};

struct fm_op_reg {
	PFLT_PRE_OPERATION_CALLBACK pre;
	PFLT_POST_OPERATION_CALLBACK post;
	ULONG flags;
	bool registered;
};

struct fm_context;
/* Contexts attached to one object (stream, file object, volume, instance). */
struct fm_ctx_list {
	struct fm_context *head;
	bool gone; /* the object is being torn down: no new contexts */
};

enum fm_filter_state {
	FM_FILTER_REGISTERED, /* FltRegisterFilter done, not yet started */
	FM_FILTER_STARTED, /* FltStartFiltering done: instances may attach */
	FM_FILTER_UNREGISTERING,
};

struct fm_image;

/* An instance definition of the filter's service (or the one -f gives). */
struct fm_instance_def {
	char name[FM_NAME_MAX];
	char altitude[FM_ALTITUDE_MAX];
	unsigned flags; /* FM_DEF_NO_AUTOMATIC, FM_DEF_NO_MANUAL */
};
#define FM_DEF_NO_AUTOMATIC 0x1
#define FM_DEF_NO_MANUAL 0x2
#define FM_MAX_DEFS 16

struct fm_filter {
	struct fm_object obj;
	char name[FM_NAME_MAX];
	char altitude[FM_ALTITUDE_MAX]; /* default instance's altitude */
	struct fm_instance_def defs[FM_MAX_DEFS];
	unsigned ndefs;
	unsigned default_def;
	FLT_REGISTRATION reg; /* copy, zero beyond the version's size */
	struct fm_op_reg ops[FM_MAJOR_COUNT];
	PDRIVER_OBJECT driver;
	struct fm_image *image;
	enum fm_filter_state state;
	FLT_FILTER_UNLOAD_FLAGS unload_flags; /* of the unload in progress */
	pthread_mutex_t lock;
	pthread_cond_t drained; /* signalled when obj.refs drops to 1 */
	struct fm_filter *next; /* global filter list, under fm_global_lock */
};

struct fm_volume;

struct fm_instance {
	struct fm_object obj;
	struct fm_filter *filter;
	struct fm_volume *volume;
	char name[FM_NAME_MAX];
	char altitude[FM_ALTITUDE_MAX];
	FLT_INSTANCE_SETUP_FLAGS setup_flags;
	bool detaching;
	struct fm_ctx_list instance_ctx; /* FLT_INSTANCE_CONTEXT */
	/* Every context this instance set anywhere, for teardown. */
	struct fm_context *owned;
};

struct fm_stack {
	atomic_long refs; /* one for the volume while current, one per op */
	unsigned count;
	struct fm_instance *inst[FM_MAX_STACK]; /* highest altitude first */
	/* Instances that registered each major function, highest first. */
	unsigned char n_major[FM_MAJOR_COUNT];
	unsigned char by_major[FM_MAJOR_COUNT][FM_MAX_STACK];
	/* Some instance registered some operation: names are worth building. */
	bool any_ops;
	/* Caching policy derived from the registrations (docs/irp-mapping.md). */
	bool uncached_read;
	bool uncached_query;
};

/* Hooks a volume's owner (the I/O manager) gives the core. */
struct fm_volume_ops {
	/* The stack changed: caching policy may need to be re-evaluated. */
	void (*stack_changed)(struct fm_volume *vol, void *owner);
	/*
	 * The current volume-relative name ("\dir\file") of the stream a file
	 * object is open on, into buf (cap WCHARs); returns its length in
	 * WCHARs, or -errno (-ENOENT when the file has no name any more).
	 */
	long (*file_name)(struct fm_volume *vol, void *owner, PFILE_OBJECT fo,
			  WCHAR *buf, size_t cap);
};

/*
 * Per-stream state of the filter manager (contexts, the cached name).
 * A file object's FsContext points to a structure whose first member is
 * struct fm_fcb_header, as FsContext points to an FSRTL_ADVANCED_FCB_HEADER
 * on Windows; the stream is created on first use and torn down by
 * fm_stream_gone when the inode goes away.
 */
struct fm_stream;
struct fm_fcb_header {
	struct fm_stream *_Atomic stream;
};


struct fm_stream {
	struct fm_volume *vol;
	struct fm_ctx_list stream_ctx; /* FLT_STREAM_CONTEXT */
	struct fm_ctx_list file_ctx; /* FLT_FILE_CONTEXT */
	/* Name cache (names.c): the normalized name and the volume's name
	 * generation it was computed at; under vol->ctx_lock. */
	struct _FLT_FILE_NAME_INFORMATION *name;
	uint64_t name_gen;
};

struct fm_volume {
	struct fm_object obj;
	char name[FM_NAME_MAX]; /* short name: \Device\<name> */
	char *dos_name; /* the Linux directory the volume covers */
	UNICODE_STRING device_name; /* L"\\Device\\<name>" */
	FLT_FILESYSTEM_TYPE fs_type;
	char fs_name[16]; /* the Linux file system underneath: ext4, xfs ... */
	pthread_rwlock_t stack_lock; /* guards the stack pointer only */
	struct fm_stack *stack;
	pthread_mutex_t attach_lock; /* serialises attach and detach */
	pthread_mutex_t drain_lock;
	pthread_cond_t drain_cond; /* snapshot drained */
	const struct fm_volume_ops *ops;
	void *owner;
	struct fm_volume *next; /* global volume list */
	/* Contexts of this volume's objects and the name cache. */
	pthread_mutex_t ctx_lock;
	struct fm_ctx_list volume_ctx; /* FLT_VOLUME_CONTEXT, one per filter */
	/* Bumped by every rename, link and delete: cached names older than
	 * this are stale (a directory rename changes names below it). */
	_Atomic uint64_t name_gen;
	/* Renames in progress: while any is, the name cache answers nothing. */
	_Atomic long name_busy;
	_Atomic uint64_t name_hits, name_misses;
};

/* The Linux identity behind an operation; Data->Thread points here. */
struct fm_requestor {
	pid_t tid; /* the calling thread (what FUSE reports) */
	pid_t pid; /* its process, resolved on first use; 0 = not yet */
	uid_t uid;
	gid_t gid;
	mode_t umask;
};

/* Per-operation dispatch state, on the I/O manager's stack. */
struct fm_op_ctx {
	FLT_CALLBACK_DATA data;
	FLT_IO_PARAMETER_BLOCK iopb;
	struct fm_requestor *req;
	struct fm_volume *vol;
	struct fm_stack *stack;
	unsigned major_idx;
	unsigned npost;
	struct {
		struct fm_instance *inst;
		PVOID context;
		/* The parameters this instance saw in its pre callback: a
		 * change made below it is not visible in its post callback. */
		FLT_PARAMETERS params;
	} post[FM_MAX_STACK];
	/* Filter-initiated I/O: only instances below this one see it. */
	struct fm_instance *below;
	/* MDLs FltLockUserBuffer made for this operation (mdl.c); whoever
	 * issues the operation sets this to NULL after fm_op_init and calls
	 * fm_op_mdls_free after fm_op_complete. */
	struct fm_op_mdl *mdls;
	/* Pended operations (pending.c).  The operation that a callback
	 * pended (FLT_PREOP_PENDING, FLT_POSTOP_MORE_PROCESSING_REQUIRED)
	 * waits on pend until FltCompletePended*Operation stores the verdict
	 * and sets it: a program's operation parks its fiber, filter-initiated
	 * I/O blocks its issuing thread (rtl/fiber.h). */
	struct rtl_event pend;
	FLT_PREOP_CALLBACK_STATUS pend_status;
	PVOID pend_context;
	/* The program gave up (a signal): FltIsIoCanceled; under
	 * fm_cancel_lock with cbdq and cancel_routine. */
	_Atomic bool canceled;
	struct _FLT_CALLBACK_DATA_QUEUE *cbdq; /* queued in this cbdq */
	struct _IO_CSQ_IRP_CONTEXT *cbdq_ctx; /* with this context */
	void (*cancel_routine)(PFLT_CALLBACK_DATA); /* FltSetCancelCompletion */
	/* Set by whoever issues the operation (the I/O manager): called when
	 * a callback pends (arm cancellation: a signal to the program calls
	 * fm_op_cancel) and when the operation resumes (disarm; on return no
	 * fm_op_cancel runs any more). */
	void (*on_pend)(struct fm_op_ctx *op, bool pended);
	void *issuer;
};

/* ---- core.c: global lists and object references ---- */
extern pthread_mutex_t fm_global_lock;
void fm_object_init(struct fm_object *obj, enum fm_object_type type);
void fm_object_get(struct fm_object *obj);
/* Returns true when this put dropped the last reference. */
bool fm_object_put(struct fm_object *obj);

/* ---- altitude.c ---- */
/* A valid altitude is decimal digits with an optional fraction ("370030.5"). */
bool fm_altitude_valid(const char *alt);
/* strcmp-like numeric comparison of two valid altitudes. */
int fm_altitude_compare(const char *a, const char *b);

/* ---- major.c ---- */
static inline unsigned fm_major_index(UCHAR major)
{
	if (major <= IRP_MJ_MAXIMUM_FUNCTION)
		return major;
	/* (UCHAR)-8 .. (UCHAR)-12 are not assigned in the WDK. */
	if (major >= (UCHAR)-20 && (major > (UCHAR)-8 || major < (UCHAR)-12))
		return IRP_MJ_MAXIMUM_FUNCTION + 1 + (UCHAR)(0xff - major);
	return FM_MAJOR_INVALID;
}

/* ---- registration.c ---- */
struct fm_filter *fm_filter_from_driver(PDRIVER_OBJECT driver);
void fm_filter_bind_driver(PDRIVER_OBJECT driver, struct fm_filter *pending);
struct fm_filter *fm_filter_find(const char *name);
/* The same with fm_global_lock held by the caller. */
struct fm_filter *fm_filter_find_locked(const char *name);

/* ---- volume.c ---- */
int fm_volume_create(const char *name, const char *dos_name,
		     const struct fm_volume_ops *ops, void *owner,
		     struct fm_volume **out);
/* Tears down every instance (VOLUME_DISMOUNT) and drops the volume. */
void fm_volume_destroy(struct fm_volume *vol);
struct fm_volume *fm_volume_find(const char *name);
/* Finds and references a volume by short name (FltObjectDereference). */
struct fm_volume *fm_volume_get(const char *name);
/* Every volume, each with a reference the caller drops (FltObjectDereference). */
size_t fm_volumes_snapshot(struct fm_volume ***out);
/* Publishes a new snapshot built from the old one +/- one instance. */
int fm_volume_publish(struct fm_volume *vol, struct fm_instance *add,
		      struct fm_instance *remove);
/* Waits until no operation uses a snapshot containing inst. */
void fm_volume_drain(struct fm_volume *vol, struct fm_stack *old);
struct fm_stack *fm_stack_get(struct fm_volume *vol);
void fm_stack_put(struct fm_volume *vol, struct fm_stack *stack);

/* ---- instance.c ---- */
NTSTATUS fm_instance_attach(struct fm_filter *filter, struct fm_volume *vol,
			    const char *instance_name, const char *altitude,
			    FLT_INSTANCE_SETUP_FLAGS flags,
			    struct fm_instance **out);
/* Detach: teardown start, drain, teardown complete, release. */
void fm_instance_detach(struct fm_instance *inst,
			FLT_INSTANCE_TEARDOWN_FLAGS reason);
/* The same when the caller holds a reference, which the call consumes. */
void fm_instance_detach_held(struct fm_instance *inst,
			     FLT_INSTANCE_TEARDOWN_FLAGS reason, bool held);
/* Attach filter to every volume automatically (after FltStartFiltering). */
void fm_filter_attach_all(struct fm_filter *filter);
/* Detaches every instance of filter, on every volume. */
void fm_filter_detach_all(struct fm_filter *filter,
			  FLT_INSTANCE_TEARDOWN_FLAGS reason);
/* Attach every started filter to a new volume. */
void fm_volume_attach_all(struct fm_volume *vol);

/* ---- dispatch.c ---- */
void fm_op_init(struct fm_op_ctx *op, struct fm_volume *vol, UCHAR major,
		UCHAR minor, PFILE_OBJECT file_object,
		struct fm_requestor *req);
/*
 * Runs the pre-operation callbacks.  Returns true when the operation must
 * go on to the file system; false when a filter completed it (the status is
 * in op->data.IoStatus).  Either way fm_op_complete must follow.
 */
bool fm_op_pre(struct fm_op_ctx *op);
/* Runs the post-operation callbacks and releases the snapshot. */
void fm_op_complete(struct fm_op_ctx *op);

static inline PFLT_PARAMETERS fm_op_params(struct fm_op_ctx *op)
{
	return &op->iopb.Parameters;
}

/* Manual detach: InstanceQueryTeardownCallback may refuse (its status is
 * returned; a filter without one cannot be detached manually).  Consumes
 * the caller's reference on inst (from fm_instance_find). */
NTSTATUS fm_instance_detach_manual(struct fm_instance *inst);
/* The instance definition called name (NULL: the default), or NULL. */
const struct fm_instance_def *fm_filter_def(const struct fm_filter *filter,
					    const char *name);
/* Finds an attached instance of filter on vol (by name, or the only /
 * default one when name is NULL) and references it. */
struct fm_instance *fm_instance_find(struct fm_volume *vol,
				     struct fm_filter *filter, const char *name);
/* Every volume or filter, referenced, for enumerations. */
size_t fm_filters_snapshot(struct fm_filter ***out);

/* ---- pending.c ---- */
/* Waits until the pended callback's operation is completed; returns the
 * verdict (pre: FltCompletePendedPreOperation's status and context). */
FLT_PREOP_CALLBACK_STATUS fm_op_wait_pre(struct fm_op_ctx *op,
					 struct fm_instance *inst, PVOID *ctx);
void fm_op_wait_post(struct fm_op_ctx *op, struct fm_instance *inst);
/* The program behind op was interrupted: mark it canceled, and run the
 * cancel-safe queue's or the filter's cancel routine if it has one. */
void fm_op_cancel(struct fm_op_ctx *op);
/* Operations pended right now (every volume). */
long fm_pending_count(void);

/* ---- mdl.c ---- */
/* Frees the MDLs FltLockUserBuffer made for op. */
void fm_op_mdls_free(struct fm_op_ctx *op);
/* Where an operation's data is: the MDL's buffer when the parameters carry
 * one (a filter may have set only that), the buffer pointer otherwise. */
PVOID fm_data_address(PVOID buffer, PMDL mdl);

/* ---- context.c ---- */
/* The stream of a file object (created on first use), or NULL. */
struct fm_stream *fm_stream_of(struct fm_volume *vol, PFILE_OBJECT fo);
/* The inode behind hdr is gone: delete its contexts and cached name. */
void fm_stream_gone(struct fm_volume *vol, struct fm_fcb_header *hdr);
/* A file object is closed: delete its stream handle contexts. */
void fm_file_object_gone(struct fm_volume *vol, PFILE_OBJECT fo);
/* An instance detaches: delete every context it set. vol->ctx_lock free. */
void fm_instance_contexts_gone(struct fm_instance *inst);
/* The volume goes away: delete its volume contexts. */
void fm_volume_contexts_gone(struct fm_volume *vol);
/* A filter unregisters: delete its volume contexts everywhere. */
void fm_filter_volume_contexts_gone(struct fm_filter *filter);

/* ---- names.c ---- */
/* A rename, link or delete happened on vol: cached names may be stale. */
static inline void fm_names_changed(struct fm_volume *vol)
{
	atomic_fetch_add(&vol->name_gen, 1);
}
/*
 * A change of the names the volume's file_name hook reports (a rename) is
 * about to begin / has ended, the hook showing the new names: between the
 * two the cache neither answers nor is trusted (names.c).  Every begin is
 * followed by one end, whether the change succeeded or not.
 */
static inline void fm_names_change_begin(struct fm_volume *vol)
{
	atomic_fetch_add(&vol->name_busy, 1);
}
static inline void fm_names_change_end(struct fm_volume *vol)
{
	atomic_fetch_add(&vol->name_gen, 1);
	atomic_fetch_sub(&vol->name_busy, 1);
}
/* Drops the cached name of a stream (under vol->ctx_lock). */
void fm_names_stream_gone(struct fm_stream *stream);
/* The volume goes away: logs its name cache hit rate. */
void fm_names_volume_gone(struct fm_volume *vol);

/* ---- loader glue (loader/loader.c) ---- */
struct fm_filter *fm_filter_alloc(const char *name, const char *altitude);
void fm_filter_free(struct fm_filter *filter);

#endif /* ALTITUDE_FM_H */
