/*
 * fltobj.c - questions a filter asks about a file object: FltIsDirectory.
 */
#include "iomgr/iomgr.h"

#include <sys/stat.h>

NTSTATUS FLTAPI FltIsDirectory(PFILE_OBJECT FileObject, PFLT_INSTANCE Instance,
			       PBOOLEAN IsDirectory)
{
	const struct fsb_inode *in;

	UNREFERENCED_PARAMETER(Instance);
	if (!FileObject || !IsDirectory)
		return STATUS_INVALID_PARAMETER;
	/* FsContext is the stream's inode once the file object is open. */
	in = FileObject->FsContext;
	if (!in)
		return STATUS_INVALID_PARAMETER;
	*IsDirectory = S_ISDIR(in->type) ? TRUE : FALSE;
	return STATUS_SUCCESS;
}
