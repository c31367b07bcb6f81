/*
 * ea.c - FILE_FULL_EA_INFORMATION lists.  Entries are 4-byte aligned and
 * chained by NextEntryOffset (0 ends the list); the name is NUL-terminated
 * and the value follows it, as on Windows.
 */
#include "iomgr/ea.h"

#include <string.h>

#define IO_EA_HDR offsetof(FILE_FULL_EA_INFORMATION, EaName)

bool io_ea_append(void *buf, size_t cap, size_t *used, const char *name,
		  const void *value, size_t vlen, UCHAR flags)
{
	size_t nlen = strlen(name), start = ALIGN_UP_BY(*used, 4), need;
	FILE_FULL_EA_INFORMATION *e;

	if (nlen > 255 || vlen > 0xffff)
		return false;
	need = IO_EA_HDR + nlen + 1 + vlen;
	if (start + need > cap)
		return false;
	if (*used) {
		/* Link the previous last entry to this one. */
		size_t off = 0;

		for (;;) {
			FILE_FULL_EA_INFORMATION *p =
				(FILE_FULL_EA_INFORMATION *)((char *)buf + off);

			if (!p->NextEntryOffset) {
				p->NextEntryOffset = (ULONG)(start - off);
				break;
			}
			off += p->NextEntryOffset;
		}
	}
	e = (FILE_FULL_EA_INFORMATION *)((char *)buf + start);
	e->NextEntryOffset = 0;
	e->Flags = flags;
	e->EaNameLength = (UCHAR)nlen;
	e->EaValueLength = (USHORT)vlen;
	memcpy(e->EaName, name, nlen + 1);
	if (vlen)
		memcpy(e->EaName + nlen + 1, value, vlen);
	*used = start + need;
	return true;
}

bool io_ea_valid(const void *buf, size_t len)
{
	size_t off = 0;

	if (!buf || !len)
		return false;
	for (;;) {
		const FILE_FULL_EA_INFORMATION *e;

		if (off + IO_EA_HDR > len)
			return false;
		e = (const FILE_FULL_EA_INFORMATION *)((const char *)buf + off);
		if (off + IO_EA_HDR + e->EaNameLength + 1 + e->EaValueLength > len)
			return false;
		if (e->EaName[e->EaNameLength] != 0)
			return false;
		if (!e->NextEntryOffset)
			return true;
		if (e->NextEntryOffset % 4 ||
		    e->NextEntryOffset < IO_EA_HDR + e->EaNameLength + 1u + e->EaValueLength)
			return false;
		off += e->NextEntryOffset;
	}
}

const FILE_FULL_EA_INFORMATION *io_ea_find(const void *buf, size_t len,
					   const char *name)
{
	size_t off = 0, nlen = strlen(name);

	if (!io_ea_valid(buf, len))
		return NULL;
	for (;;) {
		const FILE_FULL_EA_INFORMATION *e =
			(const FILE_FULL_EA_INFORMATION *)((const char *)buf + off);

		if (e->EaNameLength == nlen && !memcmp(e->EaName, name, nlen))
			return e;
		if (!e->NextEntryOffset)
			return NULL;
		off += e->NextEntryOffset;
	}
}

bool io_ea_ulong(const void *buf, size_t len, const char *name, ULONG *out)
{
	const FILE_FULL_EA_INFORMATION *e = io_ea_find(buf, len, name);

	if (!e || e->EaValueLength != sizeof(ULONG))
		return false;
	memcpy(out, io_ea_value(e), sizeof(ULONG));
	return true;
}
