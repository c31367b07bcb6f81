/*
 * altbackup.c - list and restore the versions the backup filter keeps.
 *
 *   altbackup [--json] list FILE
 *   altbackup [--json] show FILE --id ID
 *   altbackup restore FILE [--id ID | --version N] [--to PATH]
 *   altbackup [--json] deleted [DIR]
 *   altbackup restore-deleted [DIR]
 *   altbackup [--json] usage [PATH]
 *   altbackup [--json] purge
 *
 * It talks to the filter through \AltitudeBackup (proto.h) and works on
 * the volume like any program, with the caller's rights: the filter shows
 * each user the versions the file's mode let them read, and a restore
 * needs the right to create the file.  Paths are resolved here (realpath
 * of the parent plus the final name, so deleted files can be named).
 *
 * Exit status: 0 done, 1 failed (the reason on stderr), 2 bad usage.
 */
#include "altbackup.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The command line, once parsed. */
struct ab_args {
	const char *cmd;
	const char *arg; /* FILE, DIR or PATH */
	const char *to; /* --to */
	int64_t id; /* --id, 0 none */
	int64_t version; /* --version, 0 none */
};

static int ab_usage_error(const char *why)
{
	if (why)
		fprintf(stderr, "altbackup: %s\n", why);
	fputs("usage: altbackup [--json] list FILE\n"
	      "       altbackup [--json] show FILE --id ID\n"
	      "       altbackup restore FILE [--id ID | --version N] [--to PATH]\n"
	      "       altbackup [--json] deleted [DIR]\n"
	      "       altbackup restore-deleted [DIR]\n"
	      "       altbackup [--json] usage [PATH]\n"
	      "       altbackup [--json] purge\n",
	      stderr);
	return 2;
}

static bool ab_parse_id(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v <= 0)
		return false;
	*out = v;
	return true;
}

/* FILE on the command line -> the absolute path the filter knows. */
static int ab_path_of(const char *arg, char *abs)
{
	int err = ab_resolve(arg, abs, BK_PROTO_PATH_MAX);

	if (err) {
		ab_err(arg, "%s", strerror(-err));
		return -1;
	}
	return 0;
}

/* ---- Commands ---------------------------------------------------------------------- */

static int ab_cmd_list(const struct ab_args *a, const char *abs)
{
	struct ab_entries l = { 0 };

	if (ab_fetch(a->arg, BK_OP_LIST, abs, &l) < 0)
		return 1;
	if (!l.n && !ab_json)
		printf("%s: no versions\n", abs);
	else
		ab_print_entries(l.v, l.n, false);
	ab_entries_free(&l);
	return 0;
}

/* INFO, refusing a version of another file. */
static int ab_get_version(const struct ab_args *a, const char *abs,
			  struct bk_entry *e)
{
	if (ab_info(a->arg, abs, a->id, e) < 0)
		return -1;
	if (strcmp(e->path, abs)) {
		ab_err(a->arg, "version id %" PRId64 " is not one of this file's (it is %s's)",
		       a->id, e->path);
		return -1;
	}
	return 0;
}

static int ab_cmd_show(const struct ab_args *a, const char *abs)
{
	struct bk_entry *e = malloc(sizeof(*e));
	int ret = 1;

	if (!e)
		return 1;
	if (ab_get_version(a, abs, e) == 0) {
		ab_print_entry(e);
		ret = 0;
	}
	free(e);
	return ret;
}

/* The version restore picks: --id, --version, or the newest. */
static int ab_pick(const struct ab_args *a, const char *abs, struct bk_entry *e)
{
	struct ab_entries l = { 0 };
	const struct bk_entry *best = NULL;
	size_t i;

	if (a->id)
		return ab_get_version(a, abs, e);
	if (ab_fetch(a->arg, BK_OP_LIST, abs, &l) < 0)
		return -1;
	for (i = 0; i < l.n; i++) {
		if (a->version ? l.v[i].version == a->version
			       : !best || l.v[i].id > best->id)
			best = &l.v[i];
	}
	if (best)
		*e = *best;
	else if (a->version)
		ab_err(a->arg, "no version %" PRId64, a->version);
	else
		ab_err(a->arg, "no versions");
	ab_entries_free(&l);
	return best ? 0 : -1;
}

/* --to: a file, or an existing directory to restore into. */
static char *ab_dest(const char *to, const struct bk_entry *e)
{
	struct stat st;
	const char *name;
	char *d;

	if (!to)
		return strdup(e->path);
	if (stat(to, &st) < 0 || !S_ISDIR(st.st_mode))
		return strdup(to);
	name = strrchr(e->path, '/');
	name = name ? name + 1 : e->path;
	if (asprintf(&d, "%s/%s", to, name) < 0)
		return NULL;
	return d;
}

static int ab_cmd_restore(const struct ab_args *a, const char *abs)
{
	struct bk_entry *e = malloc(sizeof(*e));
	char *dest = NULL, size[32];
	int ret = 1;

	if (!e)
		return 1;
	if (ab_pick(a, abs, e) < 0)
		goto out;
	dest = ab_dest(a->to, e);
	if (!dest) {
		ab_err(a->arg, "%s", strerror(ENOMEM));
		goto out;
	}
	if (ab_restore(e, dest) < 0)
		goto out;
	ab_format_size(e->size, size, sizeof(size));
	printf("restored %s: version %" PRId64 " (id %" PRId64 ", %s)%s%s\n",
	       e->path, e->version, e->id, size, strcmp(dest, e->path) ? " to " : "",
	       strcmp(dest, e->path) ? dest : "");
	ret = 0;
out:
	free(dest);
	free(e);
	return ret;
}

static int ab_cmd_deleted(const struct ab_args *a, const char *abs)
{
	struct ab_entries l = { 0 };

	if (ab_fetch(a->arg, BK_OP_DELETED, abs, &l) < 0)
		return 1;
	if (!l.n && !ab_json)
		printf("%s: no deleted files\n", abs);
	else
		ab_print_entries(l.v, l.n, true);
	ab_entries_free(&l);
	return 0;
}

/* Creates the missing directories above path (a deleted file may have
 * been in a deleted directory). */
static int ab_make_parents(const char *path)
{
	char *p = strdup(path), *s;

	if (!p)
		return -ENOMEM;
	for (s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(p, 0777) < 0 && errno != EEXIST) {
			int err = -errno;

			free(p);
			return err;
		}
		*s = '/';
	}
	free(p);
	return 0;
}

static int ab_cmd_restore_deleted(const struct ab_args *a, const char *abs)
{
	struct ab_entries l = { 0 };
	unsigned restored = 0, failed = 0;
	struct stat st;
	size_t i;

	if (ab_fetch(a->arg, BK_OP_DELETED, abs, &l) < 0)
		return 1;
	for (i = 0; i < l.n; i++) {
		const struct bk_entry *e = &l.v[i];
		int err;

		/* It may have come back since the list was made. */
		if (lstat(e->path, &st) == 0)
			continue;
		err = ab_make_parents(e->path);
		if (err) {
			ab_err(e->path, "%s", strerror(-err));
			failed++;
			continue;
		}
		if (ab_restore(e, e->path) < 0) {
			failed++;
			continue;
		}
		printf("restored %s (version %" PRId64 ")\n", e->path,
		       e->version);
		restored++;
	}
	ab_entries_free(&l);
	if (!restored && !failed)
		printf("%s: no deleted files\n", abs);
	else
		printf("%u restored, %u failed\n", restored, failed);
	return failed ? 1 : 0;
}

static int ab_cmd_usage(const struct ab_args *a, const char *abs, bool purge)
{
	struct bk_usage_reply *u;
	size_t n;

	if (ab_usage(a->arg ? a->arg : a->cmd,
		     purge ? BK_OP_PURGE : BK_OP_USAGE, abs, &u, &n) < 0)
		return 1;
	ab_print_usage(u, n, purge);
	free(u);
	return 0;
}

/* ---- The command line -------------------------------------------------------------- */

struct ab_command {
	const char *name;
	bool needs_arg; /* FILE / DIR required */
	bool takes_arg;
	bool takes_id, takes_version, takes_to;
	const char *default_arg;
};

static const struct ab_command ab_commands[] = {
	{ "list", true, true, false, false, false, NULL },
	{ "show", true, true, true, false, false, NULL },
	{ "restore", true, true, true, true, true, NULL },
	{ "deleted", false, true, false, false, false, "." },
	{ "restore-deleted", false, true, false, false, false, "." },
	{ "usage", false, true, false, false, false, NULL },
	{ "purge", false, false, false, false, false, NULL },
};

static int ab_parse(int argc, char **argv, struct ab_args *a,
		    const struct ab_command **cmdp)
{
	const struct ab_command *cmd = NULL;
	int i;
	size_t k;

	for (i = 1; i < argc; i++) {
		const char *s = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(s, "--json")) {
			ab_json = true;
		} else if (!strcmp(s, "-h") || !strcmp(s, "--help") ||
			   !strcmp(s, "help")) {
			ab_usage_error(NULL);
			exit(0);
		} else if (!strcmp(s, "--id") || !strcmp(s, "--version") ||
			   !strcmp(s, "--to")) {
			if (!v)
				return ab_usage_error("an option lacks its value");
			if (!strcmp(s, "--to"))
				a->to = v;
			else if (!ab_parse_id(v, s[2] == 'i' ? &a->id
							      : &a->version))
				return ab_usage_error("ids and versions are positive numbers");
			i++;
		} else if (s[0] == '-' && s[1]) {
			fprintf(stderr, "altbackup: unknown option %s\n", s);
			return ab_usage_error(NULL);
		} else if (!a->cmd) {
			a->cmd = s;
		} else if (!a->arg) {
			a->arg = s;
		} else {
			return ab_usage_error("too many arguments");
		}
	}
	if (!a->cmd)
		return ab_usage_error(NULL);
	for (k = 0; k < sizeof(ab_commands) / sizeof(ab_commands[0]); k++)
		if (!strcmp(a->cmd, ab_commands[k].name))
			cmd = &ab_commands[k];
	if (!cmd) {
		fprintf(stderr, "altbackup: unknown command %s\n", a->cmd);
		return ab_usage_error(NULL);
	}
	if ((cmd->needs_arg && !a->arg) || (!cmd->takes_arg && a->arg))
		return ab_usage_error(NULL);
	if ((a->id && !cmd->takes_id) || (a->version && !cmd->takes_version) ||
	    (a->to && !cmd->takes_to) || (a->id && a->version))
		return ab_usage_error(NULL);
	if (!strcmp(cmd->name, "show") && !a->id)
		return ab_usage_error("show needs --id");
	if (!a->arg)
		a->arg = cmd->default_arg;
	*cmdp = cmd;
	return 0;
}

int main(int argc, char **argv)
{
	const struct ab_command *cmd = NULL;
	struct ab_args a = { 0 };
	char *abs;
	int ret;

	ret = ab_parse(argc, argv, &a, &cmd);
	if (ret)
		return ret;
	abs = calloc(1, BK_PROTO_PATH_MAX);
	if (!abs)
		return 1;
	if (a.arg && ab_path_of(a.arg, abs) < 0) {
		free(abs);
		return 1;
	}
	if (ab_connect() < 0) {
		free(abs);
		return 1;
	}
	if (!strcmp(cmd->name, "list"))
		ret = ab_cmd_list(&a, abs);
	else if (!strcmp(cmd->name, "show"))
		ret = ab_cmd_show(&a, abs);
	else if (!strcmp(cmd->name, "restore"))
		ret = ab_cmd_restore(&a, abs);
	else if (!strcmp(cmd->name, "deleted"))
		ret = ab_cmd_deleted(&a, abs);
	else if (!strcmp(cmd->name, "restore-deleted"))
		ret = ab_cmd_restore_deleted(&a, abs);
	else
		ret = ab_cmd_usage(&a, abs, !strcmp(cmd->name, "purge"));
	ab_disconnect();
	free(abs);
	if (fflush(stdout) == EOF && !ret) {
		ab_err(NULL, "writing the output: %s", strerror(errno));
		ret = 1;
	}
	return ret;
}
