/*
 * names.c - the file name service (FltGetFileNameInformation and friends)
 * and the name cache shared by all filters on a volume.
 */
#include "fltmgr/fm.h"

void fm_names_stream_gone(struct fm_stream *stream)
{
	/* No name is cached yet. */
	stream->name = NULL;
}
