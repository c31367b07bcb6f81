/*
 * security.c - the security descriptors of communication ports.
 *
 * Windows checks a port's DACL against the connecting token.  Altitude
 * keeps the part filters use: FltBuildDefaultSecurityDescriptor grants the
 * requested access to root (the Administrators and SYSTEM of the original),
 * and FltSetSecurityDescriptorLxAccess adds grants for a Linux user, a
 * group (primary or supplementary) or everyone.  The daemon evaluates the
 * copy it took at FltCreateCommunicationPort against the peer's
 * credentials when a program connects.  There are no deny entries, owners
 * or inheritance: a descriptor is a short allow list, and what it does not
 * grant is refused.
 */
#include "ports/pt.h"
#include "rtl/rtl.h"

#include <string.h>

#define PT_SD_TAG RTL_POOL_TAG('F', 'l', 'S', 'd')

static struct pt_sd *pt_sd_from(PSECURITY_DESCRIPTOR p)
{
	struct pt_sd *sd = p;

	return sd && sd->magic == PT_SD_MAGIC && sd->count <= PT_SD_MAX_ACES
		       ? sd
		       : NULL;
}

NTSTATUS FLTAPI FltBuildDefaultSecurityDescriptor(
	PSECURITY_DESCRIPTOR *SecurityDescriptor, ACCESS_MASK DesiredAccess)
{
	struct pt_sd *sd;

	if (!SecurityDescriptor)
		return STATUS_INVALID_PARAMETER;
	*SecurityDescriptor = NULL;
	sd = ExAllocatePoolZero(PagedPool, sizeof(*sd), PT_SD_TAG);
	if (!sd)
		return STATUS_INSUFFICIENT_RESOURCES;
	sd->magic = PT_SD_MAGIC;
	sd->count = 1;
	sd->ace[0] = (struct pt_ace){ PT_ACE_USER, 0, DesiredAccess };
	*SecurityDescriptor = sd;
	return STATUS_SUCCESS;
}

VOID FLTAPI FltFreeSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor)
{
	struct pt_sd *sd = pt_sd_from(SecurityDescriptor);

	if (!sd)
		return;
	sd->magic = 0;
	ExFreePoolWithTag(sd, PT_SD_TAG);
}

static bool pt_sd_add(struct pt_sd *sd, uint32_t kind, uint32_t id,
		      ACCESS_MASK access)
{
	if (sd->count >= PT_SD_MAX_ACES)
		return false;
	sd->ace[sd->count++] = (struct pt_ace){ kind, id, access };
	return true;
}

NTSTATUS FLTAPI FltSetSecurityDescriptorLxAccess(
	PSECURITY_DESCRIPTOR SecurityDescriptor, LONG Uid, LONG Gid,
	ACCESS_MASK Access)
{
	struct pt_sd *sd = pt_sd_from(SecurityDescriptor);
	unsigned need = (Uid != FLT_LX_NO_ID) + (Gid != FLT_LX_NO_ID);

	if (!sd || !need || (Uid < 0 && Uid != FLT_LX_NO_ID &&
			     Uid != FLT_LX_EVERYONE) ||
	    (Gid < 0 && Gid != FLT_LX_NO_ID))
		return STATUS_INVALID_PARAMETER;
	if (sd->count + need > PT_SD_MAX_ACES)
		return STATUS_INSUFFICIENT_RESOURCES;
	if (Uid == FLT_LX_EVERYONE)
		pt_sd_add(sd, PT_ACE_EVERYONE, 0, Access);
	else if (Uid != FLT_LX_NO_ID)
		pt_sd_add(sd, PT_ACE_USER, (uint32_t)Uid, Access);
	if (Gid != FLT_LX_NO_ID)
		pt_sd_add(sd, PT_ACE_GROUP, (uint32_t)Gid, Access);
	return STATUS_SUCCESS;
}

bool pt_sd_copy(struct pt_sd *dst, const void *src)
{
	const struct pt_sd *sd = pt_sd_from((PSECURITY_DESCRIPTOR)src);

	if (!src) {
		memset(dst, 0, sizeof(*dst));
		dst->magic = PT_SD_MAGIC;
		dst->count = 1;
		dst->ace[0] = (struct pt_ace){ PT_ACE_USER, 0,
					       FLT_PORT_ALL_ACCESS };
		return true;
	}
	if (!sd)
		return false;
	*dst = *sd;
	return true;
}

static bool pt_in_groups(uint32_t id, gid_t gid, const gid_t *groups,
			 size_t ngroups)
{
	size_t i;

	if (gid == id)
		return true;
	for (i = 0; i < ngroups; i++)
		if (groups[i] == id)
			return true;
	return false;
}

ACCESS_MASK pt_sd_access(const struct pt_sd *sd, uid_t uid, gid_t gid,
			 const gid_t *groups, size_t ngroups)
{
	ACCESS_MASK granted = 0;
	uint32_t i;

	for (i = 0; i < sd->count && i < PT_SD_MAX_ACES; i++) {
		const struct pt_ace *a = &sd->ace[i];

		if ((a->kind == PT_ACE_USER && a->id == uid) ||
		    (a->kind == PT_ACE_GROUP &&
		     pt_in_groups(a->id, gid, groups, ngroups)) ||
		    a->kind == PT_ACE_EVERYONE)
			granted |= a->access;
	}
	return granted;
}
