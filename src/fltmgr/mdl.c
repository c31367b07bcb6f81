/*
 * mdl.c - memory descriptor lists: IoAllocateMdl and the Mm routines that
 * read one, FltLockUserBuffer and FltDecodeParameters.
 *
 * Filters, the filter manager and the I/O manager share the daemon's
 * address space and nothing is paged out, so an MDL is a buffer's address
 * and length and "locking" or "mapping" it pins nothing.  What MDLs are
 * for still holds: a buffer swapped by a filter travels as MdlAddress, and
 * whoever reads an operation's data (the file system step of the I/O
 * manager, fm_data_address) takes the MDL's buffer over the buffer pointer,
 * as Windows file systems do.
 *
 * FltLockUserBuffer's MDL belongs to the operation: it is kept on the
 * operation's state (struct fm_op_ctx) and freed when the operation ends,
 * as the I/O manager frees an IRP's MDL at completion.
 */
#include "fltmgr/fm.h"
#include "rtl/rtl.h"

#include <stdlib.h>

#define FM_MDL_TAG 0x6c644d46u /* "FMdl" */

struct fm_op_mdl {
	MDL mdl;
	struct fm_op_mdl *next;
};

static void fm_mdl_init(PMDL mdl, PVOID va, ULONG length)
{
	uintptr_t a = (uintptr_t)va;

	memset(mdl, 0, sizeof(*mdl));
	mdl->Size = (CSHORT)sizeof(*mdl);
	mdl->StartVa = (PVOID)(a & ~(uintptr_t)(PAGE_SIZE - 1));
	mdl->ByteOffset = (ULONG)(a & (PAGE_SIZE - 1));
	mdl->ByteCount = length;
}

PMDL NTAPI IoAllocateMdl(PVOID VirtualAddress, ULONG Length,
			 BOOLEAN SecondaryBuffer, BOOLEAN ChargeQuota, PIRP Irp)
{
	PMDL mdl;

	(void)SecondaryBuffer;
	(void)ChargeQuota;
	if (!Length || Irp)
		return NULL;
	/* Pool, so the verifier reports an MDL a filter never freed. */
	mdl = ExAllocatePoolWithTag(NonPagedPool, sizeof(*mdl), FM_MDL_TAG);
	if (!mdl)
		return NULL;
	fm_mdl_init(mdl, VirtualAddress, Length);
	mdl->MdlFlags = MDL_ALLOCATED_FIXED_SIZE;
	return mdl;
}

void NTAPI IoFreeMdl(PMDL Mdl)
{
	if (Mdl)
		ExFreePoolWithTag(Mdl, FM_MDL_TAG);
}

void NTAPI MmBuildMdlForNonPagedPool(PMDL MemoryDescriptorList)
{
	MemoryDescriptorList->MappedSystemVa =
		MmGetMdlVirtualAddress(MemoryDescriptorList);
	MemoryDescriptorList->MdlFlags |= MDL_SOURCE_IS_NONPAGED_POOL;
}

void NTAPI MmProbeAndLockPages(PMDL MemoryDescriptorList,
			       KPROCESSOR_MODE AccessMode,
			       LOCK_OPERATION Operation)
{
	(void)AccessMode;
	(void)Operation;
	MemoryDescriptorList->MdlFlags |= MDL_PAGES_LOCKED;
}

void NTAPI MmUnlockPages(PMDL MemoryDescriptorList)
{
	MemoryDescriptorList->MdlFlags &=
		(CSHORT)~(MDL_PAGES_LOCKED | MDL_MAPPED_TO_SYSTEM_VA);
}

PVOID NTAPI MmGetSystemAddressForMdlSafe(PMDL Mdl, ULONG Priority)
{
	(void)Priority;
	if (!Mdl)
		return NULL;
	if (!(Mdl->MdlFlags &
	      (MDL_MAPPED_TO_SYSTEM_VA | MDL_SOURCE_IS_NONPAGED_POOL))) {
		Mdl->MappedSystemVa = MmGetMdlVirtualAddress(Mdl);
		Mdl->MdlFlags |= MDL_MAPPED_TO_SYSTEM_VA;
	}
	return Mdl->MappedSystemVa;
}

PVOID fm_data_address(PVOID buffer, PMDL mdl)
{
	return mdl ? MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority)
		   : buffer;
}

/* The data buffer fields of parameters p of an operation, if it has one. */
static bool fm_decode(UCHAR major, UCHAR minor, PFLT_PARAMETERS p, PMDL **mdl,
		      PVOID **buf, PULONG *len, LOCK_OPERATION *access)
{
	ULONG code;

	switch (major) {
	case IRP_MJ_READ:
		*mdl = &p->Read.MdlAddress;
		*buf = &p->Read.ReadBuffer;
		*len = &p->Read.Length;
		*access = IoWriteAccess;
		return true;
	case IRP_MJ_WRITE:
		*mdl = &p->Write.MdlAddress;
		*buf = &p->Write.WriteBuffer;
		*len = &p->Write.Length;
		*access = IoReadAccess;
		return true;
	case IRP_MJ_DIRECTORY_CONTROL:
		if (minor == IRP_MN_QUERY_DIRECTORY) {
			*mdl = &p->DirectoryControl.QueryDirectory.MdlAddress;
			*buf = &p->DirectoryControl.QueryDirectory.DirectoryBuffer;
			*len = &p->DirectoryControl.QueryDirectory.Length;
		} else {
			*mdl = &p->DirectoryControl.NotifyDirectory.MdlAddress;
			*buf = &p->DirectoryControl.NotifyDirectory.DirectoryBuffer;
			*len = &p->DirectoryControl.NotifyDirectory.Length;
		}
		*access = IoWriteAccess;
		return true;
	case IRP_MJ_QUERY_EA:
		*mdl = &p->QueryEa.MdlAddress;
		*buf = &p->QueryEa.EaBuffer;
		*len = &p->QueryEa.Length;
		*access = IoWriteAccess;
		return true;
	case IRP_MJ_SET_EA:
		*mdl = &p->SetEa.MdlAddress;
		*buf = &p->SetEa.EaBuffer;
		*len = &p->SetEa.Length;
		*access = IoReadAccess;
		return true;
	case IRP_MJ_QUERY_SECURITY:
		*mdl = &p->QuerySecurity.MdlAddress;
		*buf = &p->QuerySecurity.SecurityBuffer;
		*len = &p->QuerySecurity.Length;
		*access = IoWriteAccess;
		return true;
	case IRP_MJ_FILE_SYSTEM_CONTROL:
		code = p->FileSystemControl.Common.FsControlCode;
		if ((code & 3) == METHOD_BUFFERED)
			return false;
		/* METHOD_IN/OUT_DIRECT and METHOD_NEITHER share the layout
		 * of the output buffer fields. */
		*mdl = &p->FileSystemControl.Neither.OutputMdlAddress;
		*buf = &p->FileSystemControl.Neither.OutputBuffer;
		*len = &p->FileSystemControl.Neither.OutputBufferLength;
		*access = IoWriteAccess;
		return true;
	case IRP_MJ_DEVICE_CONTROL:
	case IRP_MJ_INTERNAL_DEVICE_CONTROL:
		if ((p->DeviceIoControl.Common.IoControlCode & 3) != METHOD_NEITHER)
			return false;
		*mdl = &p->DeviceIoControl.Neither.OutputMdlAddress;
		*buf = &p->DeviceIoControl.Neither.OutputBuffer;
		*len = &p->DeviceIoControl.Common.OutputBufferLength;
		*access = IoWriteAccess;
		return true;
	default:
		return false;
	}
}

NTSTATUS FLTAPI FltDecodeParameters(PFLT_CALLBACK_DATA CallbackData,
				    PMDL **MdlAddressPointer, PVOID **Buffer,
				    PULONG *Length, LOCK_OPERATION *DesiredAccess)
{
	PFLT_IO_PARAMETER_BLOCK iopb;
	LOCK_OPERATION access;
	PVOID *buf;
	PULONG len;
	PMDL *mdl;

	if (!CallbackData || !CallbackData->Iopb)
		return STATUS_INVALID_PARAMETER;
	iopb = CallbackData->Iopb;
	if (!fm_decode(iopb->MajorFunction, iopb->MinorFunction,
		       &iopb->Parameters, &mdl, &buf, &len, &access))
		return STATUS_INVALID_PARAMETER;
	if (MdlAddressPointer)
		*MdlAddressPointer = mdl;
	if (Buffer)
		*Buffer = buf;
	if (Length)
		*Length = len;
	if (DesiredAccess)
		*DesiredAccess = access;
	return STATUS_SUCCESS;
}

/* The operation state Data belongs to, or NULL for callback data the
 * filter manager did not make. */
static struct fm_op_ctx *fm_op_of(PFLT_CALLBACK_DATA Data)
{
	struct fm_op_ctx *op = CONTAINING_RECORD(Data, struct fm_op_ctx, data);

	return Data->Iopb == &op->iopb ? op : NULL;
}

NTSTATUS FLTAPI FltLockUserBuffer(PFLT_CALLBACK_DATA CallbackData)
{
	struct fm_op_ctx *op;
	struct fm_op_mdl *m;
	LOCK_OPERATION access;
	PVOID *buf, *sbuf;
	PULONG len, slen;
	PMDL *mdl, *smdl;
	NTSTATUS st;

	st = FltDecodeParameters(CallbackData, &mdl, &buf, &len, &access);
	if (!NT_SUCCESS(st))
		return st;
	if (*mdl || !*len)
		return STATUS_SUCCESS;
	if (!*buf)
		return STATUS_INVALID_PARAMETER;
	op = fm_op_of(CallbackData);
	if (!op)
		return STATUS_INVALID_PARAMETER;
	m = calloc(1, sizeof(*m));
	if (!m)
		return STATUS_INSUFFICIENT_RESOURCES;
	fm_mdl_init(&m->mdl, *buf, *len);
	m->mdl.MdlFlags = MDL_PAGES_LOCKED;
	m->next = op->mdls;
	op->mdls = m;
	*mdl = &m->mdl;
	/*
	 * In a pre callback, the caller's post callback will get the
	 * parameters as they were when its pre callback started (dispatch.c):
	 * give those the MDL too, as the IRP's MDL is on Windows.
	 */
	if (!(CallbackData->Flags & FLTFL_CALLBACK_DATA_POST_OPERATION) &&
	    op->npost < FM_MAX_STACK &&
	    fm_decode(op->iopb.MajorFunction, op->iopb.MinorFunction,
		      &op->post[op->npost].params, &smdl, &sbuf, &slen,
		      &access) &&
	    !*smdl && *sbuf == MmGetMdlVirtualAddress(&m->mdl))
		*smdl = &m->mdl;
	return STATUS_SUCCESS;
}

void fm_op_mdls_free(struct fm_op_ctx *op)
{
	while (op->mdls) {
		struct fm_op_mdl *m = op->mdls;

		op->mdls = m->next;
		free(m);
	}
}
