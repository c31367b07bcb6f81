/*
 * fltmc.h - the parts of fltmc shared between its files.  fltmc is built
 * on libfltlib alone: it never talks to the daemon itself.
 */
#ifndef ALTITUDE_FLTMC_H
#define ALTITUDE_FLTMC_H

#include <fltUser.h>
#include <stdbool.h>
#include <stddef.h>

/* Exit statuses. */
#define MC_EXIT_OK 0
#define MC_EXIT_FAILED 1 /* the operation failed; the error was printed */
#define MC_EXIT_USAGE 2 /* bad command line; the command's help was printed */

struct mc_command {
	const char *name;
	int (*run)(int argc, char **argv); /* argv[0] is the command */
	const char *summary; /* the line in the command list */
	const char *usage; /* `fltmc help <name>` */
};

/* In fltmc.c: prints cmd's help to stderr and returns MC_EXIT_USAGE. */
int mc_usage(const char *cmd);

/* list.c */
int mc_filters(int argc, char **argv);
int mc_instances(int argc, char **argv);
int mc_volumes(int argc, char **argv);
int mc_services(int argc, char **argv);

/* ops.c */
int mc_load(int argc, char **argv);
int mc_unload(int argc, char **argv);
int mc_attach(int argc, char **argv);
int mc_detach(int argc, char **argv);
int mc_volume(int argc, char **argv);
int mc_install(int argc, char **argv);
int mc_uninstall(int argc, char **argv);

/*
 * text.c: strings between the terminal (UTF-8) and the library (UTF-16).
 * mc_wide returns a new NUL-terminated string, or NULL (and prints why)
 * for an argument that is not UTF-8; mc_narrow converts cb bytes of
 * UTF-16 (not necessarily terminated) into a new string, never NULL.
 */
WCHAR *mc_wide(const char *s);
char *mc_narrow(const WCHAR *w, size_t cb);
/* A name at an offset from the start of an information structure. */
char *mc_field(const void *base, unsigned short offset, unsigned short cb);

/* messages.c: what an HRESULT means, as FormatMessage would say it. */
const char *mc_message(HRESULT hr);
/* Prints "<what> failed with error: 0x%08x" and the meaning to stderr;
 * returns MC_EXIT_FAILED. */
int mc_fail(const char *what, HRESULT hr);

#endif /* ALTITUDE_FLTMC_H */
