/*
 * fltmc.c - the filter manager control program: Windows' fltmc syntax and
 * output over libfltlib, plus the commands a Linux administrator needs
 * that Windows covers with other tools (volumes are directories here, and
 * `sc create` / INF installs become fltmc install).
 *
 * Commands are matched without regard to case, as on Windows.  Exit
 * status: 0 done, 1 the operation failed (the HRESULT and its meaning are
 * on stderr), 2 the command line was wrong (the command's help is on
 * stderr).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "fltmc/fltmc.h"

static int mc_help(int argc, char **argv);

static const struct mc_command mc_commands[] = {
	{ "load", mc_load, "Loads a Filter driver",
	  "Loads a Filter driver\n\n"
	  "    fltmc load <filterName>\n\n"
	  "    <filterName> is an installed service (see fltmc services).\n" },
	{ "unload", mc_unload, "Unloads a Filter driver",
	  "Unloads a Filter driver\n\n"
	  "    fltmc unload <filterName>\n" },
	{ "filters", mc_filters, "Lists the Filters currently registered in the system",
	  "Lists the Filters currently registered in the system\n\n"
	  "    fltmc filters\n" },
	{ "instances", mc_instances,
	  "Lists the Instances for a Filter or Volume currently\n"
	  "                registered in the system",
	  "Lists the Instances for a Filter or Volume currently registered in the system\n\n"
	  "    fltmc instances [-f <filterName>] [-v <volumeName>]\n\n"
	  "    <volumeName> is a volume's \\Device\\ name, its short name or its\n"
	  "    directory.\n" },
	{ "volumes", mc_volumes, "Lists all volumes in the system",
	  "Lists all volumes in the system\n\n"
	  "    fltmc volumes\n" },
	{ "attach", mc_attach, "Creates a Filter Instance to a Volume",
	  "Creates a Filter Instance to a Volume\n\n"
	  "    fltmc attach <filterName> <volumeName> [[-i] <instanceName>]\n"
	  "                 [-a <altitude>]\n\n"
	  "    Without -i the filter's default instance is attached; with -a it\n"
	  "    is attached at that altitude instead of its own.\n" },
	{ "detach", mc_detach, "Removes a Filter Instance from a Volume",
	  "Removes a Filter Instance from a Volume\n\n"
	  "    fltmc detach <filterName> <volumeName> [[-i] <instanceName>]\n" },
	{ "volume", mc_volume, "Adds or removes a volume (a directory)",
	  "Adds or removes a volume (a directory)\n\n"
	  "    fltmc volume add <directory> [<name>]\n"
	  "    fltmc volume remove <volumeName>\n\n"
	  "    add mounts the filter stack over <directory> in place; its device\n"
	  "    name is \\Device\\<name>.  remove unmounts it; its instances are torn\n"
	  "    down and cannot refuse.\n" },
	{ "install", mc_install, "Installs a Filter service from a service file",
	  "Installs a Filter service from a service file\n\n"
	  "    fltmc install <serviceFile> [<serviceName>]\n\n"
	  "    The service is named after the file without its extension\n"
	  "    (backup.service installs backup) unless <serviceName> is given;\n"
	  "    fltmgrd checks the definition (see docs/services.md).\n" },
	{ "uninstall", mc_uninstall, "Removes a Filter service",
	  "Removes a Filter service\n\n"
	  "    fltmc uninstall <serviceName>\n" },
	{ "services", mc_services, "Lists the installed Filter services",
	  "Lists the installed Filter services\n\n"
	  "    fltmc services\n" },
	{ "help", mc_help, NULL,
	  "Shows the commands, or help on one\n\n"
	  "    fltmc help [<command>]\n" },
};

#define MC_NCOMMANDS (sizeof(mc_commands) / sizeof(mc_commands[0]))

static const struct mc_command *mc_lookup(const char *name)
{
	size_t i;

	for (i = 0; i < MC_NCOMMANDS; i++)
		if (!strcasecmp(mc_commands[i].name, name))
			return &mc_commands[i];
	return NULL;
}

static void mc_list(FILE *out)
{
	size_t i;

	fputs("\nValid commands:\n", out);
	for (i = 0; i < MC_NCOMMANDS; i++)
		if (mc_commands[i].summary)
			fprintf(out, "    %-11s %s\n", mc_commands[i].name,
				mc_commands[i].summary);
	fputs("\n    Use fltmc help [ command ] for help on a specific command\n",
	      out);
}

int mc_usage(const char *cmd)
{
	const struct mc_command *c = mc_lookup(cmd);

	fprintf(stderr, "\n%s", c ? c->usage : "");
	return MC_EXIT_USAGE;
}

static int mc_help(int argc, char **argv)
{
	const struct mc_command *c;

	if (argc == 1) {
		mc_list(stdout);
		return MC_EXIT_OK;
	}
	c = argc == 2 ? mc_lookup(argv[1]) : NULL;
	if (!c) {
		fprintf(stderr, "\nfltmc: no such command: %s\n", argv[1]);
		mc_list(stderr);
		return MC_EXIT_USAGE;
	}
	printf("\n%s", c->usage);
	return MC_EXIT_OK;
}

int main(int argc, char **argv)
{
	const struct mc_command *c;

	/* (Windows' fltmc lists the filters here; `fltmc filters` does.) */
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-?") || !strcmp(argv[1], "/?"))
		return mc_help(1, argv + 1);
	c = mc_lookup(argv[1]);
	if (!c) {
		fprintf(stderr, "\nfltmc: no such command: %s\n", argv[1]);
		mc_list(stderr);
		return MC_EXIT_USAGE;
	}
	return c->run(argc - 1, argv + 1);
}
