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
#include "control/server.h"
#include "daemon/volumes.h"
#include "ports/ports.h"
#include "services/services.h"
#include "rtl/rtl.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
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
		"      --runtime-dir DIR    sockets go here (default /run/altitude)\n"
		"      --services-dir DIR   installed services (default /etc/altitude/services)\n"
		"      --admin-group GROUP  members may use the control socket too\n"
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
		{ "runtime-dir", required_argument, NULL, 'R' },
		{ "services-dir", required_argument, NULL, 'S' },
		{ "admin-group", required_argument, NULL, 'G' },
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
		case 'R':
			free(c->runtime_dir);
			c->runtime_dir = strdup(optarg);
			break;
		case 'S':
			free(c->services_dir);
			c->services_dir = strdup(optarg);
			break;
		case 'G':
			free(c->admin_group);
			c->admin_group = strdup(optarg);
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

static void service_skipped(const char *name, const char *why)
{
	rtl_log(LOG_ERR, "filter %s: not started: %s", name, why);
}

/* Boot, system and auto services, in load order. */
static void load_services(void)
{
	struct svc *order;
	size_t n = svc_start_order(&order, 256, service_skipped), i;

	for (i = 0; i < n; i++) {
		if (!fm_filter_find(order[i].name))
			loader_load_service(order[i].name);
		svc_free(&order[i]);
	}
	free(order);
}

static int resolve_group(const char *name, gid_t *gid)
{
	struct group *g;
	char *end;
	unsigned long v;

	*gid = (gid_t)-1;
	if (!name)
		return 0;
	v = strtoul(name, &end, 10);
	if (*name && !*end) {
		*gid = (gid_t)v;
		return 0;
	}
	g = getgrnam(name);
	if (!g)
		return -ENOENT;
	*gid = g->gr_gid;
	return 0;
}

int main(int argc, char **argv)
{
	struct cfg c = { 0 };
	size_t i;
	char err[512];
	sigset_t set;
	gid_t admin_gid;
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
	if (resolve_group(c.admin_group, &admin_gid) < 0) {
		rtl_log(LOG_ERR, "admin group %s does not exist", c.admin_group);
		goto out;
	}
	if (c.services_dir)
		svc_set_dir(c.services_dir);
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
	if (!c.runtime_dir)
		c.runtime_dir = strdup("/run/altitude");
	if (!c.runtime_dir || (mkdir(c.runtime_dir, 0755) < 0 && errno != EEXIST)) {
		rtl_log(LOG_ERR, "cannot create %s: %m",
			c.runtime_dir ? c.runtime_dir : "the runtime directory");
		goto out;
	}
	if (ports_start(c.runtime_dir) < 0) {
		rtl_log(LOG_ERR, "cannot start the communication port server");
		goto out;
	}
	for (i = 0; i < c.nvolumes; i++) {
		int r = vols_add(c.volumes[i].path, c.volumes[i].name, false);

		if (r < 0) {
			rtl_log(LOG_ERR, "volume %s: cannot use %s: %s",
				c.volumes[i].name, c.volumes[i].path, strerror(-r));
			goto out_volumes;
		}
	}
	load_services();
	for (i = 0; i < c.nfilters; i++)
		loader_load(c.filters[i].name, c.filters[i].image,
			    c.filters[i].altitude);
	if (vols_start_all() < 0)
		goto out_volumes;
	if (control_start(c.runtime_dir, admin_gid) < 0) {
		rtl_log(LOG_ERR, "cannot start the control socket in %s: %m",
			c.runtime_dir);
		goto out_volumes;
	}
	if (c.pidfile && write_pidfile(c.pidfile) < 0)
		rtl_log(LOG_WARNING, "cannot write %s: %m", c.pidfile);
	rtl_log(LOG_INFO, "fltmgrd ready: %zu volume(s), %zu filter(s) configured",
		c.nvolumes, c.nfilters);
	do {
		if (sigwait(&set, &sig) != 0)
			break;
	} while (sig == SIGHUP);
	rtl_log(LOG_INFO, "fltmgrd: %s, shutting down", strsignal(sig));
	status = 0;
	control_stop();

out_volumes:
	vols_remove_all();
	loader_unload_all();
	ports_stop();
	if (c.pidfile)
		unlink(c.pidfile);
out:
	cfg_free(&c);
	rtl_registry_clear();
	rtl_set_log_sink(NULL);
	if (log_fp)
		fclose(log_fp);
	return status;
}
