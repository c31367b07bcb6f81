/*
 * ops.c - the fltmc commands that change something: load, unload, attach,
 * detach, and the Linux additions volume add/remove, install, uninstall.
 * Each converts its arguments, makes one library call and reports a
 * failure as fltmc does; success prints nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fltmc/fltmc.h"

/* Up to four converted arguments, freed together. */
struct mc_args {
	WCHAR *w[4];
};

/* Converts s (NULL stays NULL) into slot i; false if s is not UTF-8. */
static bool mc_arg(struct mc_args *a, int i, const char *s)
{
	if (!s)
		return true;
	a->w[i] = mc_wide(s);
	return a->w[i] != NULL;
}

static void mc_args_free(struct mc_args *a)
{
	size_t i;

	for (i = 0; i < sizeof(a->w) / sizeof(a->w[0]); i++)
		free(a->w[i]);
}

/* A call on one name: load, unload, volume remove, uninstall. */
static int mc_one(const char *what, HRESULT (*call)(LPCWSTR), const char *name)
{
	struct mc_args a = { { 0 } };
	HRESULT hr;

	if (!mc_arg(&a, 0, name))
		return MC_EXIT_USAGE;
	hr = call(a.w[0]);
	mc_args_free(&a);
	return FAILED(hr) ? mc_fail(what, hr) : MC_EXIT_OK;
}

int mc_load(int argc, char **argv)
{
	if (argc != 2)
		return mc_usage("load");
	return mc_one("Load", FilterLoad, argv[1]);
}

int mc_unload(int argc, char **argv)
{
	if (argc != 2)
		return mc_usage("unload");
	return mc_one("Unload", FilterUnload, argv[1]);
}

/*
 * `<filter> <volume> [[-i] <instance>] [-a <altitude>]`: the positional
 * arguments and the values of -i and -a (NULL when not given).
 */
struct mc_target {
	const char *filter, *volume, *instance, *altitude;
};

static bool mc_parse_target(int argc, char **argv, bool altitude_ok,
			    struct mc_target *t)
{
	int i, pos = 0;

	memset(t, 0, sizeof(*t));
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-i") && i + 1 < argc && !t->instance)
			t->instance = argv[++i];
		else if (!strcmp(a, "-a") && altitude_ok && i + 1 < argc &&
			 !t->altitude)
			t->altitude = argv[++i];
		else if (a[0] == '-' && a[1])
			return false;
		else if (pos == 0)
			t->filter = argv[i], pos++;
		else if (pos == 1)
			t->volume = argv[i], pos++;
		else if (pos == 2 && !t->instance)
			t->instance = argv[i], pos++;
		else
			return false;
	}
	return t->filter && t->volume;
}

int mc_attach(int argc, char **argv)
{
	struct mc_args a = { { 0 } };
	struct mc_target t;
	WCHAR created[256];
	HRESULT hr;

	if (!mc_parse_target(argc, argv, true, &t))
		return mc_usage("attach");
	if (!mc_arg(&a, 0, t.filter) || !mc_arg(&a, 1, t.volume) ||
	    !mc_arg(&a, 2, t.instance) || !mc_arg(&a, 3, t.altitude)) {
		mc_args_free(&a);
		return MC_EXIT_USAGE;
	}
	if (t.altitude)
		hr = FilterAttachAtAltitude(a.w[0], a.w[1], a.w[3], a.w[2],
					    sizeof(created), created);
	else
		hr = FilterAttach(a.w[0], a.w[1], a.w[2], sizeof(created),
				  created);
	mc_args_free(&a);
	/* A name longer than the buffer still attached: not a failure. */
	if (hr == HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER))
		hr = S_OK;
	return FAILED(hr) ? mc_fail("Attach", hr) : MC_EXIT_OK;
}

int mc_detach(int argc, char **argv)
{
	struct mc_args a = { { 0 } };
	struct mc_target t;
	HRESULT hr;

	if (!mc_parse_target(argc, argv, false, &t))
		return mc_usage("detach");
	if (!mc_arg(&a, 0, t.filter) || !mc_arg(&a, 1, t.volume) ||
	    !mc_arg(&a, 2, t.instance)) {
		mc_args_free(&a);
		return MC_EXIT_USAGE;
	}
	hr = FilterDetach(a.w[0], a.w[1], a.w[2]);
	mc_args_free(&a);
	return FAILED(hr) ? mc_fail("Detach", hr) : MC_EXIT_OK;
}

/* `volume add <directory> [<name>]`, `volume remove <volume>` */
int mc_volume(int argc, char **argv)
{
	struct mc_args a = { { 0 } };
	HRESULT hr;

	if (argc == 3 && !strcmp(argv[1], "remove"))
		return mc_one("Volume remove", FilterVolumeRemove, argv[2]);
	if ((argc != 3 && argc != 4) || strcmp(argv[1], "add"))
		return mc_usage("volume");
	if (!mc_arg(&a, 0, argv[2]) || !mc_arg(&a, 1, argc == 4 ? argv[3] : NULL)) {
		mc_args_free(&a);
		return MC_EXIT_USAGE;
	}
	hr = FilterVolumeAdd(a.w[0], a.w[1]);
	mc_args_free(&a);
	return FAILED(hr) ? mc_fail("Volume add", hr) : MC_EXIT_OK;
}

/* ---- services -------------------------------------------------------- */

/* The HRESULT Windows would give for failing to read a file. */
static HRESULT mc_file_error(int err)
{
	switch (err) {
	case ENOENT:
		return HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
	case ENOTDIR:
		return HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND);
	case EACCES:
	case EPERM:
		return E_ACCESSDENIED;
	case EISDIR:
	case EFBIG:
		return HRESULT_FROM_WIN32(ERROR_INVALID_DATA);
	}
	return E_FAIL;
}

/* The whole file (at most 64 KiB - 1, a wire string's limit) into *text. */
static HRESULT mc_read_file(const char *path, char **text, size_t *len)
{
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return mc_file_error(errno);
	if (fstat(fd, &st) < 0) {
		int err = errno;

		close(fd);
		return mc_file_error(err);
	}
	if (!S_ISREG(st.st_mode) || st.st_size > 0xffff) {
		close(fd);
		return mc_file_error(S_ISDIR(st.st_mode) ? EISDIR : EFBIG);
	}
	*text = malloc((size_t)st.st_size + 1);
	if (!*text) {
		close(fd);
		return E_OUTOFMEMORY;
	}
	n = read(fd, *text, (size_t)st.st_size + 1);
	close(fd);
	if (n < 0 || n > st.st_size) {
		free(*text);
		return n < 0 ? mc_file_error(errno) : mc_file_error(EFBIG);
	}
	*len = (size_t)n;
	return S_OK;
}

/* The service a file installs by default: its file name without the
 * extension ("./backup.service" -> "backup"). */
static char *mc_service_name(const char *path)
{
	const char *base = strrchr(path, '/');
	char *name = strdup(base ? base + 1 : path), *dot;

	if (name && (dot = strrchr(name, '.')) && dot != name)
		*dot = 0;
	return name;
}

/* `install <service-file> [<name>]` */
int mc_install(int argc, char **argv)
{
	struct mc_args a = { { 0 } };
	char *text = NULL, *name;
	size_t len = 0;
	HRESULT hr;

	if (argc != 2 && argc != 3)
		return mc_usage("install");
	name = argc == 3 ? strdup(argv[2]) : mc_service_name(argv[1]);
	if (!name || !*name) {
		free(name);
		return mc_usage("install");
	}
	if (!mc_arg(&a, 0, name)) {
		free(name);
		return MC_EXIT_USAGE;
	}
	free(name);
	hr = mc_read_file(argv[1], &text, &len);
	if (SUCCEEDED(hr))
		hr = FilterServiceInstall(a.w[0], text, (DWORD)len);
	free(text);
	mc_args_free(&a);
	return FAILED(hr) ? mc_fail("Install", hr) : MC_EXIT_OK;
}

int mc_uninstall(int argc, char **argv)
{
	if (argc != 2)
		return mc_usage("uninstall");
	return mc_one("Uninstall", FilterServiceUninstall, argv[1]);
}
