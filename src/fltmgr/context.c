/*
 * context.c - filter contexts: per-object state a filter attaches to a
 * volume, an instance, a stream (one per inode), a file, or a stream handle
 * (one per open file), as seed 003 describes.
 *
 * Invariants:
 *  - A context carries a reference for every holder: the filter from
 *    FltAllocateContext, each Get, and one for being linked to an object.
 *    When the count reaches zero the registration's cleanup callback runs,
 *    once, with no lock held, and the memory is freed.
 *  - A linked context is on exactly one object's list and on its owning
 *    instance's list of contexts; both lists change only under the
 *    volume's ctx_lock.  Tearing an object, an instance or a volume down
 *    unlinks its contexts and drops their link references after the lock
 *    is released, so cleanup callbacks may call back into the filter
 *    manager.
 *  - An object being torn down accepts no new context
 *    (STATUS_FLT_DELETING_OBJECT).
 */
#include "fltmgr/fm.h"
#include "rtl/rtl.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#define FM_CTX_MAGIC 0x43545854u /* "CTXT" */

struct fm_context {
	uint32_t magic;
	FLT_CONTEXT_TYPE type;
	atomic_long refs;
	struct fm_filter *filter;
	const FLT_CONTEXT_REGISTRATION *reg;
	struct fm_instance *owner; /* who set it (NULL for volume contexts) */
	struct fm_ctx_list *list; /* where it is linked, NULL if not */
	struct fm_volume *vol; /* whose ctx_lock guards list; set when linked */
	struct fm_context *next; /* on list */
	/* On owner->owned, doubly linked: an instance may own thousands of
	 * contexts and each one leaves the list on its own. */
	struct fm_context *owned_next, **owned_pprev;
	size_t size;
	alignas(16) unsigned char payload[];
};

static struct fm_context *fm_ctx(PFLT_CONTEXT p)
{
	struct fm_context *c;

	if (!p)
		return NULL;
	c = (struct fm_context *)((unsigned char *)p -
				  offsetof(struct fm_context, payload));
	if (c->magic != FM_CTX_MAGIC) {
		rtl_log(LOG_ERR, "a filter passed %p, which is not a context", p);
		return NULL;
	}
	return c;
}

/* The registration entry for type and size, or NULL. */
static const FLT_CONTEXT_REGISTRATION *fm_ctx_reg(struct fm_filter *f,
						  FLT_CONTEXT_TYPE type,
						  SIZE_T size)
{
	const FLT_CONTEXT_REGISTRATION *r = f->reg.ContextRegistration;

	for (; r && r->ContextType != FLT_CONTEXT_END; r++) {
		if (r->ContextType != type)
			continue;
		if (r->ContextAllocateCallback || r->Size == FLT_VARIABLE_SIZED_CONTEXTS)
			return r;
		if (r->Size == size ||
		    ((r->Flags & FLTFL_CONTEXT_REGISTRATION_NO_EXACT_SIZE_MATCH) &&
		     size <= r->Size))
			return r;
	}
	return NULL;
}

NTSTATUS FLTAPI FltAllocateContext(PFLT_FILTER Filter, FLT_CONTEXT_TYPE ContextType,
				   SIZE_T ContextSize, POOL_TYPE PoolType,
				   PFLT_CONTEXT *ReturnedContext)
{
	struct fm_filter *f = (struct fm_filter *)Filter;
	const FLT_CONTEXT_REGISTRATION *r;
	struct fm_context *c;
	size_t total;

	if (!f || f->obj.type != FM_OBJ_FILTER || !ReturnedContext)
		return STATUS_INVALID_PARAMETER;
	*ReturnedContext = NULL;
	if (ContextType == FLT_VOLUME_CONTEXT && PoolType == PagedPool)
		return STATUS_FLT_MUST_BE_NONPAGED_POOL;
	if (f->state == FM_FILTER_UNREGISTERING)
		return STATUS_FLT_DELETING_OBJECT;
	r = fm_ctx_reg(f, ContextType, ContextSize);
	if (!r)
		return STATUS_FLT_CONTEXT_ALLOCATION_NOT_FOUND;
	if (ContextSize > ((size_t)1 << 30))
		return STATUS_INSUFFICIENT_RESOURCES;
	total = offsetof(struct fm_context, payload) +
		(r->Size != FLT_VARIABLE_SIZED_CONTEXTS && !r->ContextAllocateCallback &&
				 r->Size > ContextSize
			 ? r->Size
			 : ContextSize);
	if (r->ContextAllocateCallback)
		c = r->ContextAllocateCallback(PoolType, total, ContextType);
	else
		c = ExAllocatePoolWithTag(PoolType, total, r->PoolTag);
	if (!c)
		return STATUS_INSUFFICIENT_RESOURCES;
	memset(c, 0, offsetof(struct fm_context, payload));
	c->magic = FM_CTX_MAGIC;
	c->type = ContextType;
	atomic_init(&c->refs, 1);
	c->filter = f;
	c->reg = r;
	c->size = ContextSize;
	fm_object_get(&f->obj);
	*ReturnedContext = c->payload;
	return STATUS_SUCCESS;
}

static void fm_ctx_free(struct fm_context *c)
{
	const FLT_CONTEXT_REGISTRATION *r = c->reg;
	struct fm_filter *f = c->filter;

	if (r->ContextCleanupCallback)
		r->ContextCleanupCallback(c->payload, c->type);
	c->magic = 0;
	if (r->ContextFreeCallback)
		r->ContextFreeCallback(c, c->type);
	else
		ExFreePoolWithTag(c, r->PoolTag);
	FltObjectDereference(f);
}

static void fm_ctx_put(struct fm_context *c)
{
	if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
		fm_ctx_free(c);
}

VOID FLTAPI FltReferenceContext(PFLT_CONTEXT Context)
{
	struct fm_context *c = fm_ctx(Context);

	if (c)
		atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

VOID FLTAPI FltReleaseContext(PFLT_CONTEXT Context)
{
	struct fm_context *c = fm_ctx(Context);

	if (c)
		fm_ctx_put(c);
}

/* ---- lists, under vol->ctx_lock ---- */

static void fm_owned_remove(struct fm_context *c)
{
	if (!c->owned_pprev)
		return;
	*c->owned_pprev = c->owned_next;
	if (c->owned_next)
		c->owned_next->owned_pprev = c->owned_pprev;
	c->owned_next = NULL;
	c->owned_pprev = NULL;
}

static void fm_owned_add(struct fm_instance *inst, struct fm_context *c)
{
	c->owned_next = inst->owned;
	if (inst->owned)
		inst->owned->owned_pprev = &c->owned_next;
	inst->owned = c;
	c->owned_pprev = &inst->owned;
}

/* Takes c off its object and owner; its link reference is the caller's. */
static void fm_unlink(struct fm_context *c)
{
	struct fm_context **pp;

	for (pp = &c->list->head; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	fm_owned_remove(c);
	c->list = NULL;
	c->next = NULL;
	c->owner = NULL;
}

static struct fm_context *fm_find(struct fm_ctx_list *list,
				  struct fm_instance *inst, struct fm_filter *f)
{
	struct fm_context *c;

	for (c = list->head; c; c = c->next)
		if (inst ? c->owner == inst : c->filter == f)
			return c;
	return NULL;
}

/* The list of a given kind for (vol, inst, fo); creates lazy ones. */
static struct fm_ctx_list *fm_list(struct fm_volume *vol, struct fm_instance *inst,
				   PFILE_OBJECT fo, FLT_CONTEXT_TYPE type)
{
	struct fm_stream *s;

	switch (type) {
	case FLT_VOLUME_CONTEXT:
		return &vol->volume_ctx;
	case FLT_INSTANCE_CONTEXT:
		return &inst->instance_ctx;
	case FLT_STREAM_CONTEXT:
	case FLT_FILE_CONTEXT:
		s = fm_stream_of(vol, fo);
		if (!s)
			return NULL;
		return type == FLT_STREAM_CONTEXT ? &s->stream_ctx : &s->file_ctx;
	case FLT_STREAMHANDLE_CONTEXT:
		if (!fo)
			return NULL;
		if (!fo->FileObjectExtension)
			fo->FileObjectExtension = calloc(1, sizeof(struct fm_ctx_list));
		return fo->FileObjectExtension;
	}
	return NULL;
}

static bool fm_inst_ok(struct fm_instance *inst)
{
	return inst && inst->obj.type == FM_OBJ_INSTANCE;
}

static NTSTATUS fm_set(struct fm_volume *vol, struct fm_instance *inst,
		       struct fm_filter *f, PFILE_OBJECT fo, FLT_CONTEXT_TYPE type,
		       FLT_SET_CONTEXT_OPERATION op, PFLT_CONTEXT newc,
		       PFLT_CONTEXT *oldc)
{
	struct fm_context *c = fm_ctx(newc), *old, *drop = NULL;
	struct fm_ctx_list *list;
	NTSTATUS st = STATUS_SUCCESS;

	if (oldc)
		*oldc = NULL;
	if (!c || c->type != type || c->filter != f ||
	    (op != FLT_SET_CONTEXT_REPLACE_IF_EXISTS &&
	     op != FLT_SET_CONTEXT_KEEP_IF_EXISTS))
		return STATUS_INVALID_PARAMETER;
	pthread_mutex_lock(&vol->ctx_lock);
	list = fm_list(vol, inst, fo, type);
	if (!list) {
		st = fo && !fo->FsContext && type != FLT_STREAMHANDLE_CONTEXT
			     ? STATUS_INVALID_PARAMETER
			     : STATUS_INSUFFICIENT_RESOURCES;
		goto out;
	}
	if (list->gone || (inst && inst->detaching) ||
	    f->state == FM_FILTER_UNREGISTERING) {
		st = STATUS_FLT_DELETING_OBJECT;
		goto out;
	}
	if (c->list) {
		st = STATUS_FLT_CONTEXT_ALREADY_LINKED;
		goto out;
	}
	old = fm_find(list, inst, f);
	if (old) {
		if (op == FLT_SET_CONTEXT_KEEP_IF_EXISTS) {
			if (oldc) {
				atomic_fetch_add(&old->refs, 1);
				*oldc = old->payload;
			}
			st = STATUS_FLT_CONTEXT_ALREADY_DEFINED;
			goto out;
		}
		fm_unlink(old);
		if (oldc)
			*oldc = old->payload; /* the link reference becomes the caller's */
		else
			drop = old;
	}
	atomic_fetch_add(&c->refs, 1);
	c->list = list;
	c->vol = vol;
	c->next = list->head;
	list->head = c;
	c->owner = inst;
	if (inst)
		fm_owned_add(inst, c);
out:
	pthread_mutex_unlock(&vol->ctx_lock);
	if (drop)
		fm_ctx_put(drop);
	return st;
}

static NTSTATUS fm_get(struct fm_volume *vol, struct fm_instance *inst,
		       struct fm_filter *f, PFILE_OBJECT fo, FLT_CONTEXT_TYPE type,
		       PFLT_CONTEXT *ctx)
{
	struct fm_ctx_list *list;
	struct fm_context *c = NULL;

	if (!ctx)
		return STATUS_INVALID_PARAMETER;
	*ctx = NULL;
	pthread_mutex_lock(&vol->ctx_lock);
	if (type == FLT_STREAMHANDLE_CONTEXT)
		list = fo ? fo->FileObjectExtension : NULL;
	else if ((type == FLT_STREAM_CONTEXT || type == FLT_FILE_CONTEXT) &&
		 (!fo || !fo->FsContext ||
		  !atomic_load(&((struct fm_fcb_header *)fo->FsContext)->stream)))
		list = NULL;
	else
		list = fm_list(vol, inst, fo, type);
	if (list)
		c = fm_find(list, inst, f);
	if (c) {
		atomic_fetch_add(&c->refs, 1);
		*ctx = c->payload;
	}
	pthread_mutex_unlock(&vol->ctx_lock);
	return c ? STATUS_SUCCESS : STATUS_NOT_FOUND;
}

static NTSTATUS fm_delete(struct fm_volume *vol, struct fm_instance *inst,
			  struct fm_filter *f, PFILE_OBJECT fo,
			  FLT_CONTEXT_TYPE type, PFLT_CONTEXT *oldc)
{
	struct fm_context *c = NULL;
	struct fm_ctx_list *list;

	if (oldc)
		*oldc = NULL;
	pthread_mutex_lock(&vol->ctx_lock);
	if (type == FLT_STREAMHANDLE_CONTEXT)
		list = fo ? fo->FileObjectExtension : NULL;
	else if ((type == FLT_STREAM_CONTEXT || type == FLT_FILE_CONTEXT) &&
		 (!fo || !fo->FsContext ||
		  !atomic_load(&((struct fm_fcb_header *)fo->FsContext)->stream)))
		list = NULL;
	else
		list = fm_list(vol, inst, fo, type);
	if (list)
		c = fm_find(list, inst, f);
	if (c)
		fm_unlink(c);
	pthread_mutex_unlock(&vol->ctx_lock);
	if (!c)
		return STATUS_NOT_FOUND;
	if (oldc)
		*oldc = c->payload;
	else
		fm_ctx_put(c);
	return STATUS_SUCCESS;
}

/*
 * The context may be unlinked concurrently (its object, instance or volume
 * going away), after which its owner and even its volume may be freed: the
 * volume it was linked on is used only while the volume list shows it
 * alive and referenced, and the link is checked again under its lock.
 */
VOID FLTAPI FltDeleteContext(PFLT_CONTEXT Context)
{
	struct fm_context *c = fm_ctx(Context);
	struct fm_volume **vols, *vol;
	bool unlinked = false;
	size_t n, i;

	if (!c || !c->list)
		return;
	vol = c->vol;
	n = fm_volumes_snapshot(&vols);
	for (i = 0; i < n; i++)
		if (vols[i] == vol)
			break;
	if (i < n) {
		pthread_mutex_lock(&vol->ctx_lock);
		if (c->list) {
			fm_unlink(c);
			unlinked = true;
		}
		pthread_mutex_unlock(&vol->ctx_lock);
	}
	for (i = 0; i < n; i++)
		fm_object_put(&vols[i]->obj);
	free(vols);
	if (unlinked)
		fm_ctx_put(c);
}

/* ---- the typed entry points ---- */

#define FM_INST(i) ((struct fm_instance *)(i))

NTSTATUS FLTAPI FltSetVolumeContext(PFLT_VOLUME Volume,
				    FLT_SET_CONTEXT_OPERATION Operation,
				    PFLT_CONTEXT NewContext, PFLT_CONTEXT *OldContext)
{
	struct fm_volume *vol = (struct fm_volume *)Volume;
	struct fm_context *c = fm_ctx(NewContext);

	if (!vol || vol->obj.type != FM_OBJ_VOLUME || !c)
		return STATUS_INVALID_PARAMETER;
	return fm_set(vol, NULL, c->filter, NULL, FLT_VOLUME_CONTEXT, Operation,
		      NewContext, OldContext);
}

NTSTATUS FLTAPI FltSetInstanceContext(PFLT_INSTANCE Instance,
				      FLT_SET_CONTEXT_OPERATION Operation,
				      PFLT_CONTEXT NewContext, PFLT_CONTEXT *OldContext)
{
	if (!fm_inst_ok(FM_INST(Instance)))
		return STATUS_INVALID_PARAMETER;
	return fm_set(FM_INST(Instance)->volume, FM_INST(Instance),
		      FM_INST(Instance)->filter, NULL, FLT_INSTANCE_CONTEXT,
		      Operation, NewContext, OldContext);
}

#define FM_SET_FO(fn, type)                                                       \
	NTSTATUS FLTAPI fn(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,       \
			   FLT_SET_CONTEXT_OPERATION Operation,                   \
			   PFLT_CONTEXT NewContext, PFLT_CONTEXT *OldContext)     \
	{                                                                         \
		if (!fm_inst_ok(FM_INST(Instance)) || !FileObject)                \
			return STATUS_INVALID_PARAMETER;                          \
		return fm_set(FM_INST(Instance)->volume, FM_INST(Instance),       \
			      FM_INST(Instance)->filter, FileObject, type,        \
			      Operation, NewContext, OldContext);                 \
	}
FM_SET_FO(FltSetStreamContext, FLT_STREAM_CONTEXT)
FM_SET_FO(FltSetStreamHandleContext, FLT_STREAMHANDLE_CONTEXT)
FM_SET_FO(FltSetFileContext, FLT_FILE_CONTEXT)

NTSTATUS FLTAPI FltGetVolumeContext(PFLT_FILTER Filter, PFLT_VOLUME Volume,
				    PFLT_CONTEXT *Context)
{
	struct fm_volume *vol = (struct fm_volume *)Volume;

	if (!Filter || !vol || vol->obj.type != FM_OBJ_VOLUME)
		return STATUS_INVALID_PARAMETER;
	return fm_get(vol, NULL, (struct fm_filter *)Filter, NULL,
		      FLT_VOLUME_CONTEXT, Context);
}

NTSTATUS FLTAPI FltGetInstanceContext(PFLT_INSTANCE Instance, PFLT_CONTEXT *Context)
{
	if (!fm_inst_ok(FM_INST(Instance)))
		return STATUS_INVALID_PARAMETER;
	return fm_get(FM_INST(Instance)->volume, FM_INST(Instance),
		      FM_INST(Instance)->filter, NULL, FLT_INSTANCE_CONTEXT, Context);
}

#define FM_GET_FO(fn, type)                                                     \
	NTSTATUS FLTAPI fn(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,     \
			   PFLT_CONTEXT *Context)                               \
	{                                                                       \
		if (!fm_inst_ok(FM_INST(Instance)) || !FileObject)              \
			return STATUS_INVALID_PARAMETER;                        \
		return fm_get(FM_INST(Instance)->volume, FM_INST(Instance),     \
			      FM_INST(Instance)->filter, FileObject, type,      \
			      Context);                                         \
	}
FM_GET_FO(FltGetStreamContext, FLT_STREAM_CONTEXT)
FM_GET_FO(FltGetStreamHandleContext, FLT_STREAMHANDLE_CONTEXT)
FM_GET_FO(FltGetFileContext, FLT_FILE_CONTEXT)

NTSTATUS FLTAPI FltDeleteVolumeContext(PFLT_FILTER Filter, PFLT_VOLUME Volume,
				       PFLT_CONTEXT *OldContext)
{
	struct fm_volume *vol = (struct fm_volume *)Volume;

	if (!Filter || !vol || vol->obj.type != FM_OBJ_VOLUME)
		return STATUS_INVALID_PARAMETER;
	return fm_delete(vol, NULL, (struct fm_filter *)Filter, NULL,
			 FLT_VOLUME_CONTEXT, OldContext);
}

NTSTATUS FLTAPI FltDeleteInstanceContext(PFLT_INSTANCE Instance,
					 PFLT_CONTEXT *OldContext)
{
	if (!fm_inst_ok(FM_INST(Instance)))
		return STATUS_INVALID_PARAMETER;
	return fm_delete(FM_INST(Instance)->volume, FM_INST(Instance),
			 FM_INST(Instance)->filter, NULL, FLT_INSTANCE_CONTEXT,
			 OldContext);
}

#define FM_DEL_FO(fn, type)                                                      \
	NTSTATUS FLTAPI fn(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,      \
			   PFLT_CONTEXT *OldContext)                             \
	{                                                                        \
		if (!fm_inst_ok(FM_INST(Instance)) || !FileObject)               \
			return STATUS_INVALID_PARAMETER;                         \
		return fm_delete(FM_INST(Instance)->volume, FM_INST(Instance),   \
				 FM_INST(Instance)->filter, FileObject, type,    \
				 OldContext);                                    \
	}
FM_DEL_FO(FltDeleteStreamContext, FLT_STREAM_CONTEXT)
FM_DEL_FO(FltDeleteStreamHandleContext, FLT_STREAMHANDLE_CONTEXT)
FM_DEL_FO(FltDeleteFileContext, FLT_FILE_CONTEXT)

VOID FLTAPI FltGetContexts(PCFLT_RELATED_OBJECTS FltObjects,
			   FLT_CONTEXT_TYPE DesiredContexts,
			   PFLT_RELATED_CONTEXTS Contexts)
{
	PFLT_INSTANCE i;
	PFILE_OBJECT fo;

	if (!Contexts)
		return;
	memset(Contexts, 0, sizeof(*Contexts));
	if (!FltObjects)
		return;
	i = FltObjects->Instance;
	fo = FltObjects->FileObject;
	if (DesiredContexts & FLT_VOLUME_CONTEXT)
		FltGetVolumeContext(FltObjects->Filter, FltObjects->Volume,
				    &Contexts->VolumeContext);
	if (DesiredContexts & FLT_INSTANCE_CONTEXT)
		FltGetInstanceContext(i, &Contexts->InstanceContext);
	if (fo && (DesiredContexts & FLT_FILE_CONTEXT))
		FltGetFileContext(i, fo, &Contexts->FileContext);
	if (fo && (DesiredContexts & FLT_STREAM_CONTEXT))
		FltGetStreamContext(i, fo, &Contexts->StreamContext);
	if (fo && (DesiredContexts & FLT_STREAMHANDLE_CONTEXT))
		FltGetStreamHandleContext(i, fo, &Contexts->StreamHandleContext);
}

VOID FLTAPI FltReleaseContexts(PFLT_RELATED_CONTEXTS Contexts)
{
	PFLT_CONTEXT *all[6];
	unsigned k;

	if (!Contexts)
		return;
	all[0] = &Contexts->VolumeContext;
	all[1] = &Contexts->InstanceContext;
	all[2] = &Contexts->FileContext;
	all[3] = &Contexts->StreamContext;
	all[4] = &Contexts->StreamHandleContext;
	all[5] = &Contexts->TransactionContext;
	for (k = 0; k < RTL_NUMBER_OF(all); k++)
		if (*all[k]) {
			FltReleaseContext(*all[k]);
			*all[k] = NULL;
		}
}

/* ---- object lifetimes ---- */

struct fm_stream *fm_stream_of(struct fm_volume *vol, PFILE_OBJECT fo)
{
	struct fm_fcb_header *hdr;
	struct fm_stream *s, *expected = NULL;

	if (!fo || !fo->FsContext)
		return NULL;
	hdr = fo->FsContext;
	s = atomic_load(&hdr->stream);
	if (s)
		return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->vol = vol;
	if (!atomic_compare_exchange_strong(&hdr->stream, &expected, s)) {
		free(s);
		return expected;
	}
	return s;
}

/* Unlinks every context of list; returns them chained by next. */
static struct fm_context *fm_take_all(struct fm_ctx_list *list)
{
	struct fm_context *out = NULL;

	list->gone = true;
	while (list->head) {
		struct fm_context *c = list->head;

		fm_unlink(c);
		c->next = out;
		out = c;
	}
	return out;
}

static void fm_put_chain(struct fm_context *c)
{
	while (c) {
		struct fm_context *next = c->next;

		c->next = NULL;
		fm_ctx_put(c);
		c = next;
	}
}

void fm_stream_gone(struct fm_volume *vol, struct fm_fcb_header *hdr)
{
	struct fm_stream *s = atomic_exchange(&hdr->stream, NULL);
	struct fm_context *a, *b;

	if (!s)
		return;
	pthread_mutex_lock(&vol->ctx_lock);
	a = fm_take_all(&s->stream_ctx);
	b = fm_take_all(&s->file_ctx);
	fm_names_stream_gone(s);
	pthread_mutex_unlock(&vol->ctx_lock);
	fm_put_chain(a);
	fm_put_chain(b);
	free(s);
}

void fm_file_object_gone(struct fm_volume *vol, PFILE_OBJECT fo)
{
	struct fm_ctx_list *list = fo->FileObjectExtension;
	struct fm_context *a;

	if (!list)
		return;
	pthread_mutex_lock(&vol->ctx_lock);
	a = fm_take_all(list);
	fo->FileObjectExtension = NULL;
	pthread_mutex_unlock(&vol->ctx_lock);
	fm_put_chain(a);
	free(list);
}

void fm_instance_contexts_gone(struct fm_instance *inst)
{
	struct fm_volume *vol = inst->volume;
	struct fm_context *chain = NULL;

	pthread_mutex_lock(&vol->ctx_lock);
	inst->instance_ctx.gone = true;
	while (inst->owned) {
		struct fm_context *c = inst->owned;

		fm_unlink(c);
		c->next = chain;
		chain = c;
	}
	pthread_mutex_unlock(&vol->ctx_lock);
	fm_put_chain(chain);
}

void fm_volume_contexts_gone(struct fm_volume *vol)
{
	struct fm_context *a;

	pthread_mutex_lock(&vol->ctx_lock);
	a = fm_take_all(&vol->volume_ctx);
	pthread_mutex_unlock(&vol->ctx_lock);
	fm_put_chain(a);
	fm_names_volume_gone(vol);
}

/* Volume contexts of a filter that unregisters. */
void fm_filter_volume_contexts_gone(struct fm_filter *f)
{
	struct fm_volume **vols;
	size_t n = fm_volumes_snapshot(&vols), i;

	for (i = 0; i < n; i++) {
		struct fm_context *c;

		pthread_mutex_lock(&vols[i]->ctx_lock);
		c = fm_find(&vols[i]->volume_ctx, NULL, f);
		if (c)
			fm_unlink(c);
		pthread_mutex_unlock(&vols[i]->ctx_lock);
		if (c)
			fm_ctx_put(c);
		fm_object_put(&vols[i]->obj);
	}
	free(vols);
}
