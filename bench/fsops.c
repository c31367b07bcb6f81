/*
 * fsops.c - small file system workloads for bench/run.sh.
 *
 *   fsops create DIR N        create N empty files DIR/f<i> (open O_CREAT|
 *                             O_EXCL|O_WRONLY, close)
 *   fsops unlink DIR N        unlink DIR/f<i> for i < N
 *   fsops write FILE SIZE BS  write SIZE bytes to FILE in BS-byte write(2)
 *                             calls (O_CREAT|O_TRUNC, no fsync), then close
 *
 * SIZE and BS take a K, M or G suffix (powers of 1024).  Every failure is
 * fatal (exit 1, with the path and errno), so a benchmark never times a
 * workload that did not happen.  Plain C with no project headers: it is a
 * client of the mounted file system, not of the filter manager.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned long long parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end || end == s || !v) {
		fprintf(stderr, "fsops: bad size '%s'\n", s);
		exit(2);
	}
	return v;
}

static int do_create(const char *dir, unsigned long n)
{
	char path[4096];
	unsigned long i;
	int fd;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%lu", dir, i);
		fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
		if (fd < 0 || close(fd) < 0) {
			fprintf(stderr, "fsops: create %s: %s\n", path,
				strerror(errno));
			return 1;
		}
	}
	return 0;
}

static int do_unlink(const char *dir, unsigned long n)
{
	char path[4096];
	unsigned long i;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%lu", dir, i);
		if (unlink(path) < 0) {
			fprintf(stderr, "fsops: unlink %s: %s\n", path,
				strerror(errno));
			return 1;
		}
	}
	return 0;
}

static int do_write(const char *file, unsigned long long size,
		    unsigned long long bs)
{
	unsigned long long done = 0;
	char *buf;
	int fd;

	buf = malloc(bs);
	if (!buf) {
		perror("fsops: malloc");
		return 1;
	}
	memset(buf, 0xa5, bs);
	fd = open(file, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "fsops: open %s: %s\n", file, strerror(errno));
		return 1;
	}
	while (done < size) {
		size_t want = size - done < bs ? size - done : bs;
		ssize_t n = write(fd, buf, want);

		if (n <= 0) {
			fprintf(stderr, "fsops: write %s at %llu: %s\n", file,
				done, n < 0 ? strerror(errno) : "short write");
			return 1;
		}
		done += (unsigned long long)n;
	}
	if (close(fd) < 0) {
		fprintf(stderr, "fsops: close %s: %s\n", file, strerror(errno));
		return 1;
	}
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "create"))
		return do_create(argv[2], parse_size(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "unlink"))
		return do_unlink(argv[2], parse_size(argv[3]));
	if (argc == 5 && !strcmp(argv[1], "write"))
		return do_write(argv[2], parse_size(argv[3]),
				parse_size(argv[4]));
	fprintf(stderr,
		"usage: fsops create DIR N | unlink DIR N | write FILE SIZE BS\n");
	return 2;
}
