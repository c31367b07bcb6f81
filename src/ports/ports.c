/*
 * ports.c - placeholder until communication ports land: no port server.
 */
#include "ports/ports.h"

int ports_start(const char *runtime_dir)
{
	(void)runtime_dir;
	return 0;
}

void ports_stop(void)
{
}

void ports_filter_unloading(struct fm_filter *filter)
{
	(void)filter;
}
