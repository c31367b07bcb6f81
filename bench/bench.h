/*
 * bench.h - what the microbenchmarks share: a monotonic clock in ns, the
 * median of a set of runs, and a log sink that keeps the daemon's
 * attach/detach chatter out of the figures (warnings and errors still
 * show).
 */
#ifndef ALTITUDE_BENCH_H
#define ALTITUDE_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <time.h>

static inline double bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Sorts v[0..n) and returns its median (n > 0). */
static inline double bench_median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), bench_cmp_double);
	return v[n / 2];
}

static inline void bench_log_sink(int priority, const char *message)
{
	if (priority <= LOG_WARNING)
		fprintf(stderr, "%s\n", message);
}

#endif /* ALTITUDE_BENCH_H */
