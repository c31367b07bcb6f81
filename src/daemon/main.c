/*
 * main.c - fltmgrd, the Altitude filter manager daemon.
 *
 * Start-up order matters: volumes are created (but not mounted), then
 * filters load and attach, and only then is each volume mounted, so no
 * operation ever reaches a volume before the filters configured for it.
 * Shutdown reverses it: volumes are unmounted first (their instances torn
 * down with FLTFL_INSTANCE_TEARDOWN_VOLUME_DISMOUNT), then every filter is
 * unloaded with FLTFL_FILTER_UNLOAD_MANDATORY.
 */
#include "daemon/config.h"
#include "iomgr/iomgr.h"
#include "loader/loader.h"
#include "rtl/rtl.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static FILE *log_fp;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_debug;

static void log_sink(int priority, const char *message)
{
	static const char *const names[] = { "emerg", "alert", "crit", "error",
					     "warning", "notice", "info", "debug" };
	struct timespec ts;
	struct tm tm;

	if (priority == LOG_DEBUG && !log_debug)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	pthread_mutex_lock(&log_lock);
	fprintf(log_fp ? log_fp : stderr, "%02d:%02d:%02d.%03ld %s: %s\n",
		tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
		names[priority & 7], message);
	fflush(log_fp ? log_fp : stderr);
	pthread_mutex_unlock(&log_lock);
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: fltmgrd [OPTIONS]\n"
		"Mounts filtered volumes and runs minifilters over them.\n\n"
		"  -c, --config FILE        read volumes and filters from FILE\n"
		"  -v, --volume DIR[=NAME]  mount a volume over DIR (repeatable)\n"
		"  -f, --filter IMAGE@ALTITUDE[=NAME]\n"
		"                           load a filter image (repeatable)\n"
		"  -p, --param FILTER.VALUE=DATA\n"
		"                           set a Parameters value: dword:N,\n"
		"                           multi:a,b,c or a string\n"
		"      --pidfile FILE       written once every volume is served\n"
		"      --log FILE           log here instead of standard error\n"
		"  -d, --debug              log debug messages\n"
		"  -h, --help               show this help\n");
}

static int parse_args(int argc, char **argv, struct cfg *c)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "volume", required_argument, NULL, 'v' },
		{ "filter", required_argument, NULL, 'f' },
		{ "param", required_argument, NULL, 'p' },
		{ "pidfile", required_argument, NULL, 'P' },
		{ "log", required_argument, NULL, 'L' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char err[512] = "";
	int opt, r = 0;

	while (!r && (opt = getopt_long(argc, argv, "c:v:f:p:dh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			r = cfg_load_file(c, optarg, err, sizeof(err));
			break;
		case 'v':
			r = cfg_add_volume(c, optarg, err, sizeof(err));
			break;
		case 'f':
			r = cfg_add_filter(c, optarg, err, sizeof(err));
			break;
		case 'p':
			r = cfg_add_param(c, optarg, err, sizeof(err));
			break;
		case 'P':
			free(c->pidfile);
			c->pidfile = strdup(optarg);
			break;
		case 'L':
			free(c->logfile);
			c->logfile = strdup(optarg);
			break;
		case 'd':
			c->debug = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (!r && optind < argc) {
		snprintf(err, sizeof(err), "unexpected argument '%s'", argv[optind]);
		r = -EINVAL;
	}
	if (r)
		fprintf(stderr, "fltmgrd: %s\n", err[0] ? err : strerror(-r));
	return r;
}

static int write_pidfile(const char *path)
{
	char tmp[4096];
	FILE *fp;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fp = fopen(tmp, "we");
	if (!fp)
		return -errno;
	fprintf(fp, "%d\n", (int)getpid());
	if (fclose(fp) != 0 || rename(tmp, path) != 0)
		return -errno;
	return 0;
}

int main(int argc, char **argv)
{
	struct cfg c = { 0 };
	struct io_volume **vols = NULL;
	size_t nvols = 0, i;
	char err[512];
	sigset_t set;
	int sig, status = 1;

	if (parse_args(argc, argv, &c) < 0)
		return 2;
	log_debug = c.debug;
	if (c.logfile) {
		log_fp = fopen(c.logfile, "ae");
		if (!log_fp) {
			fprintf(stderr, "fltmgrd: %s: %s\n", c.logfile, strerror(errno));
			return 1;
		}
	}
	rtl_set_log_sink(log_sink);
	if (geteuid() != 0) {
		rtl_log(LOG_ERR, "fltmgrd must run as root (it mounts volumes and acts for every user)");
		goto out;
	}
	if (!c.nvolumes)
		rtl_log(LOG_WARNING, "no volume configured: filters load but see no I/O");
	/* New files get exactly the caller's mode; the kernel sends its umask. */
	umask(0);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (cfg_apply_params(&c, err, sizeof(err)) < 0) {
		rtl_log(LOG_ERR, "%s", err);
		goto out;
	}
	vols = calloc(c.nvolumes + 1, sizeof(*vols));
	if (!vols)
		goto out;
	for (i = 0; i < c.nvolumes; i++) {
		int r = io_volume_create(c.volumes[i].path, c.volumes[i].name,
					 &vols[nvols]);

		if (r < 0) {
			rtl_log(LOG_ERR, "volume %s: cannot use %s: %s",
				c.volumes[i].name, c.volumes[i].path, strerror(-r));
			goto out_volumes;
		}
		nvols++;
	}
	for (i = 0; i < c.nfilters; i++)
		loader_load(c.filters[i].name, c.filters[i].image,
			    c.filters[i].altitude);
	for (i = 0; i < nvols; i++) {
		int r = io_volume_start(vols[i]);

		if (r < 0) {
			rtl_log(LOG_ERR, "volume %s: cannot mount: %s",
				vols[i]->name, strerror(-r));
			goto out_volumes;
		}
	}
	if (c.pidfile && write_pidfile(c.pidfile) < 0)
		rtl_log(LOG_WARNING, "cannot write %s: %m", c.pidfile);
	rtl_log(LOG_INFO, "fltmgrd ready: %zu volume(s), %zu filter(s) configured",
		nvols, c.nfilters);
	do {
		if (sigwait(&set, &sig) != 0)
			break;
	} while (sig == SIGHUP);
	rtl_log(LOG_INFO, "fltmgrd: %s, shutting down", strsignal(sig));
	status = 0;

out_volumes:
	while (nvols)
		io_volume_unmount(vols[--nvols]);
	loader_unload_all();
	if (c.pidfile)
		unlink(c.pidfile);
out:
	free(vols);
	cfg_free(&c);
	rtl_registry_clear();
	rtl_set_log_sink(NULL);
	if (log_fp)
		fclose(log_fp);
	return status;
}
