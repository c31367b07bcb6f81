/*
 * output.c - how altbackup prints: aligned tables for people, JSON (one
 * array per command) for programs.
 *
 * Human times are local, ISO 8601, to the second; JSON times are UTC with
 * nanoseconds, plus the raw nanosecond count.  JSON strings are valid
 * UTF-8: bytes of a file name that are not UTF-8 become U+FFFD there (the
 * table prints names as they are).
 */
#include "altbackup.h"

#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool ab_json;

const char *ab_reason_name(uint32_t reason)
{
	switch (reason) {
	case BK_REASON_WRITE:
		return "write";
	case BK_REASON_TRUNCATE:
		return "truncate";
	case BK_REASON_SETSIZE:
		return "setsize";
	case BK_REASON_DELETE:
		return "delete";
	case BK_REASON_REPLACE:
		return "replace";
	case BK_REASON_MANUAL:
		return "manual";
	}
	return "unknown";
}

static const char *ab_method_name(uint32_t method)
{
	switch (method) {
	case BK_METHOD_CLONE:
		return "clone";
	case BK_METHOD_COPY:
		return "copy";
	case BK_METHOD_LINK:
		return "link";
	}
	return "unknown";
}

/* ---- Times and sizes ------------------------------------------------------------- */

/* "2026-03-01T14:05:09+01:00" */
static void ab_time_local(int64_t ns, char *out, size_t cap)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;
	char z[8];
	size_t n;

	if (!ns || !localtime_r(&t, &tm)) {
		snprintf(out, cap, "-");
		return;
	}
	n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	if (strftime(z, sizeof(z), "%z", &tm) == 5)
		snprintf(out + n, cap - n, "%.3s:%s", z, z + 3);
}

/* "2026-03-01T13:05:09.123456789Z" */
static void ab_time_utc(int64_t ns, char *out, size_t cap)
{
	time_t t = (time_t)(ns / 1000000000);
	long frac = (long)(ns % 1000000000);
	struct tm tm;
	size_t n;

	if (frac < 0) {
		frac += 1000000000;
		t--;
	}
	if (!gmtime_r(&t, &tm)) {
		snprintf(out, cap, "1970-01-01T00:00:00.000000000Z");
		return;
	}
	n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, cap - n, ".%09ldZ", frac);
}

void ab_format_size(uint64_t bytes, char *out, size_t cap)
{
	static const char *units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1024) {
		snprintf(out, cap, "%" PRIu64 " B", bytes);
		return;
	}
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(out, cap, "%.1f %s", v, units[u]);
}

static void ab_user(uint32_t uid, char *out, size_t cap)
{
	struct passwd *pw = getpwuid(uid);

	if (pw)
		snprintf(out, cap, "%s", pw->pw_name);
	else
		snprintf(out, cap, "%u", uid);
}

static void ab_process(const struct bk_entry *e, char *out, size_t cap)
{
	if (!e->pid)
		snprintf(out, cap, "%s", e->comm[0] ? e->comm : "-");
	else
		snprintf(out, cap, "%s[%u]", e->comm[0] ? e->comm : "?",
			 e->pid);
}

/* ---- JSON -------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s, 0 if there is none. */
static size_t ab_utf8_len(const unsigned char *s)
{
	size_t n, i;
	unsigned c = s[0];
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2, cp = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3, cp = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return n;
}

static void ab_json_str(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	putchar('"');
	while (*s) {
		size_t n = ab_utf8_len(s);

		if (n == 0) {
			fputs("\\ufffd", stdout);
			s++;
		} else if (*s == '"' || *s == '\\') {
			printf("\\%c", *s++);
		} else if (*s < 0x20) {
			printf("\\u%04x", *s++);
		} else {
			fwrite(s, 1, n, stdout);
			s += n;
		}
	}
	putchar('"');
}

static void ab_json_time(const char *key, int64_t ns)
{
	char t[64];

	printf("\"%s\": ", key);
	if (!ns) {
		fputs("null", stdout);
		return;
	}
	ab_time_utc(ns, t, sizeof(t));
	ab_json_str(t);
}

/* n bytes as 2n lowercase hex digits and a NUL. */
static void ab_hex(const uint8_t *b, size_t n, char *out)
{
	static const char dig[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = dig[b[i] >> 4];
		out[2 * i + 1] = dig[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static void ab_json_entry(const struct bk_entry *e)
{
	char t[64];

	ab_time_utc(e->time_ns, t, sizeof(t));
	printf("{\"id\": %" PRId64 ", \"version\": %" PRId64 ", \"time\": ",
	       e->id, e->version);
	ab_json_str(t);
	printf(", \"time_ns\": %" PRId64 ", \"size\": %" PRIu64
	       ", \"reason\": \"%s\", \"method\": \"%s\", \"pid\": %u, \"process\": ",
	       e->time_ns, e->size, ab_reason_name(e->reason),
	       ab_method_name(e->method), e->pid);
	ab_json_str(e->comm);
	printf(", \"uid\": %u, \"owner_uid\": %u, \"owner_gid\": %u, \"mode\": \"%04o\", \"exists\": %s, \"path\": ",
	       e->uid, e->owner_uid, e->owner_gid, e->mode & 07777,
	       e->exists ? "true" : "false");
	ab_json_str(e->path);
	printf(", \"sha256\": ");
	if (e->flags & BK_ENTRY_HASHED) {
		char h[2 * sizeof(e->sha256) + 1];

		ab_hex(e->sha256, sizeof(e->sha256), h);
		printf("\"%s\"", h);
	} else {
		printf("null");
	}
	putchar('}');
}

static void ab_json_entries(const struct bk_entry *v, size_t n)
{
	size_t i;

	putchar('[');
	for (i = 0; i < n; i++) {
		fputs(i ? ",\n " : "\n ", stdout);
		ab_json_entry(&v[i]);
	}
	puts(n ? "\n]" : "]");
}

/* ---- Tables ------------------------------------------------------------------------ */

enum { AB_COL_ID, AB_COL_VERSION, AB_COL_TIME, AB_COL_SIZE, AB_COL_REASON,
       AB_COL_USER, AB_COL_PROCESS, AB_COL_PATH, AB_COLS };

static const char *const ab_titles[AB_COLS] = {
	"ID", "VERSION", "TIME", "SIZE", "REASON", "USER", "PROCESS", "PATH",
};
/* Numbers line up on the right. */
static const bool ab_right[AB_COLS] = { true, true, false, true };

/* Every cell but PATH (the last column, printed from the entry). */
struct ab_row {
	char cell[AB_COL_PATH][64];
};

static void ab_row_fill(struct ab_row *r, const struct bk_entry *e)
{
	snprintf(r->cell[AB_COL_ID], 32, "%" PRId64, e->id);
	snprintf(r->cell[AB_COL_VERSION], 32, "%" PRId64, e->version);
	ab_time_local(e->time_ns, r->cell[AB_COL_TIME], 64);
	snprintf(r->cell[AB_COL_SIZE], 32, "%" PRIu64, e->size);
	snprintf(r->cell[AB_COL_REASON], 32, "%s", ab_reason_name(e->reason));
	ab_user(e->uid, r->cell[AB_COL_USER], 64);
	ab_process(e, r->cell[AB_COL_PROCESS], 64);
}

static void ab_row_print(const char *const *cells, const int *w, int cols)
{
	int c;

	for (c = 0; c < cols; c++) {
		bool last = c == cols - 1;

		if (ab_right[c])
			printf("%*s", w[c], cells[c]);
		else if (last)
			fputs(cells[c], stdout);
		else
			printf("%-*s", w[c], cells[c]);
		fputs(last ? "\n" : "  ", stdout);
	}
}

void ab_print_entries(const struct bk_entry *v, size_t n, bool with_path)
{
	int cols = with_path ? AB_COLS : AB_COLS - 1, w[AB_COLS], c;
	struct ab_row *rows;
	const char *cells[AB_COLS];
	size_t i;

	if (ab_json) {
		ab_json_entries(v, n);
		return;
	}
	rows = calloc(n ? n : 1, sizeof(*rows));
	if (!rows) {
		ab_err(NULL, "out of memory");
		return;
	}
	for (c = 0; c < cols; c++)
		w[c] = (int)strlen(ab_titles[c]);
	for (i = 0; i < n; i++) {
		ab_row_fill(&rows[i], &v[i]);
		for (c = 0; c < AB_COL_PATH; c++) {
			int l = (int)strlen(rows[i].cell[c]);

			if (l > w[c])
				w[c] = l;
		}
	}
	ab_row_print(ab_titles, w, cols);
	for (i = 0; i < n; i++) {
		for (c = 0; c < AB_COL_PATH; c++)
			cells[c] = rows[i].cell[c];
		cells[AB_COL_PATH] = v[i].path;
		ab_row_print(cells, w, cols);
	}
	free(rows);
}

void ab_print_entry(const struct bk_entry *e)
{
	char t[64], u[64], p[64], a[64], m[64], s[32];

	if (ab_json) {
		ab_json_entries(e, 1);
		return;
	}
	ab_time_local(e->time_ns, t, sizeof(t));
	ab_user(e->uid, u, sizeof(u));
	ab_process(e, p, sizeof(p));
	ab_time_local(e->atime_ns, a, sizeof(a));
	ab_time_local(e->mtime_ns, m, sizeof(m));
	ab_format_size(e->size, s, sizeof(s));
	printf("path:     %s%s\n", e->path, e->exists ? "" : " (does not exist)");
	printf("id:       %" PRId64 "\n", e->id);
	printf("version:  %" PRId64 "\n", e->version);
	printf("time:     %s\n", t);
	printf("size:     %" PRIu64 " (%s)\n", e->size, s);
	printf("reason:   %s\n", ab_reason_name(e->reason));
	printf("method:   %s\n", ab_method_name(e->method));
	printf("user:     %s\n", u);
	printf("process:  %s\n", p);
	ab_user(e->owner_uid, u, sizeof(u));
	printf("owner:    %s (uid %u, gid %u)\n", u, e->owner_uid,
	       e->owner_gid);
	printf("mode:     %04o\n", e->mode & 07777);
	printf("modified: %s\n", m);
	printf("accessed: %s\n", a);
	printf("inode:    %" PRIu64 "\n", e->file_id);
	if (e->flags & BK_ENTRY_HASHED) {
		char h[2 * sizeof(e->sha256) + 1];

		ab_hex(e->sha256, sizeof(e->sha256), h);
		printf("sha256:   %s\n", h);
	}
}

/* ---- Usage ------------------------------------------------------------------------- */

static void ab_json_usage(const struct bk_usage_reply *u, size_t n, bool purge)
{
	size_t i;

	putchar('[');
	for (i = 0; i < n; i++) {
		fputs(i ? ",\n {\"volume\": " : "\n {\"volume\": ", stdout);
		ab_json_str(u[i].volume);
		fputs(", \"store\": ", stdout);
		ab_json_str(u[i].store);
		printf(", \"versions\": %" PRIu64 ", \"bytes\": %" PRIu64
		       ", \"disk_bytes\": %" PRIu64 ", \"paths\": %" PRIu64
		       ", ",
		       u[i].versions, u[i].bytes, u[i].disk_bytes,
		       u[i].paths);
		ab_json_time("oldest", u[i].oldest_ns);
		fputs(", ", stdout);
		ab_json_time("newest", u[i].newest_ns);
		printf(", \"max_store_bytes\": %" PRIu64, u[i].max_store_bytes);
		if (purge)
			printf(", \"evicted\": %" PRIu64 ", \"freed\": %" PRIu64,
			       u[i].evicted, u[i].freed);
		putchar('}');
	}
	puts(n ? "\n]" : "]");
}

void ab_print_usage(const struct bk_usage_reply *u, size_t n, bool purge)
{
	char a[32], b[32], t[64];
	size_t i;

	if (ab_json) {
		ab_json_usage(u, n, purge);
		return;
	}
	if (!n)
		puts("no volumes");
	for (i = 0; i < n; i++) {
		if (i)
			putchar('\n');
		printf("%s\n", u[i].volume);
		printf("  store:     %s\n", u[i].store);
		printf("  versions:  %" PRIu64 " of %" PRIu64 " file%s\n",
		       u[i].versions, u[i].paths, u[i].paths == 1 ? "" : "s");
		ab_format_size(u[i].bytes, a, sizeof(a));
		ab_format_size(u[i].disk_bytes, b, sizeof(b));
		printf("  size:      %s (%" PRIu64 " bytes), on disk %s\n", a,
		       u[i].bytes, b);
		if (u[i].max_store_bytes) {
			ab_format_size(u[i].max_store_bytes, a, sizeof(a));
			printf("  limit:     %s\n", a);
		} else {
			printf("  limit:     none\n");
		}
		ab_time_local(u[i].oldest_ns, t, sizeof(t));
		printf("  oldest:    %s\n", t);
		ab_time_local(u[i].newest_ns, t, sizeof(t));
		printf("  newest:    %s\n", t);
		if (purge) {
			ab_format_size(u[i].freed, a, sizeof(a));
			printf("  purged:    %" PRIu64 " version%s, %s\n",
			       u[i].evicted, u[i].evicted == 1 ? "" : "s", a);
		}
	}
}
