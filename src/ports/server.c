/*
 * server.c - the listening socket <runtime dir>/ports and the threads of
 * connections.
 *
 * One acceptor thread accepts connections and starts a detached thread per
 * connection (client.c); at most PT_MAX_THREADS run at once, and a
 * connection beyond that is closed at once (its program sees the port as
 * absent).  The socket is mode 0666: who may connect to which port is
 * decided per port, from the peer's credentials.
 *
 * ports_stop runs after every filter has unloaded (so every port is
 * closed and its connections are gone): it stops accepting, cuts short the
 * handshakes in progress and waits for the last connection thread.
 */
#include "ports/ports.h"
#include "ports/proto.h"
#include "ports/pt.h"
#include "rtl/rtl.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

pthread_mutex_t pt_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t pt_cond = PTHREAD_COND_INITIALIZER;
unsigned pt_threads_running;

static int pt_listen_fd = -1;
static int pt_stop_fd = -1;
static pthread_t pt_acceptor;
static bool pt_started;
static bool pt_stopping;
static char pt_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
/* Descriptors of connections still in their handshake (-1: free slot). */
static int pt_handshaking[PT_MAX_THREADS];
static time_t pt_refused_logged;

static void pt_log_refusal(const char *why)
{
	time_t now = time(NULL);

	/* At most one line a minute: a flood must not flood the log. */
	pthread_mutex_lock(&pt_lock);
	if (now - pt_refused_logged < 60) {
		pthread_mutex_unlock(&pt_lock);
		return;
	}
	pt_refused_logged = now;
	pthread_mutex_unlock(&pt_lock);
	rtl_log(LOG_WARNING, "ports: connection refused: %s", why);
}

bool pt_spawn_connection(int fd)
{
	pthread_attr_t attr;
	pthread_t t;
	unsigned i;
	int err;

	pthread_mutex_lock(&pt_lock);
	if (pt_stopping || pt_threads_running >= PT_MAX_THREADS) {
		pthread_mutex_unlock(&pt_lock);
		pt_log_refusal("too many connections");
		return false;
	}
	for (i = 0; i < PT_MAX_THREADS; i++)
		if (pt_handshaking[i] < 0) {
			pt_handshaking[i] = fd;
			break;
		}
	pt_threads_running++;
	pthread_mutex_unlock(&pt_lock);

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* Filter callbacks run here; Windows gives them far less. */
	pthread_attr_setstacksize(&attr, 1024 * 1024);
	err = pthread_create(&t, &attr, pt_connection_main,
			     (void *)(intptr_t)fd);
	pthread_attr_destroy(&attr);
	if (err) {
		pt_handshake_over(fd);
		pthread_mutex_lock(&pt_lock);
		pt_threads_running--;
		pthread_cond_broadcast(&pt_cond);
		pthread_mutex_unlock(&pt_lock);
		pt_log_refusal(strerror(err));
		return false;
	}
	return true;
}

void pt_handshake_over(int fd)
{
	unsigned i;

	pthread_mutex_lock(&pt_lock);
	for (i = 0; i < PT_MAX_THREADS; i++)
		if (pt_handshaking[i] == fd) {
			pt_handshaking[i] = -1;
			break;
		}
	pthread_mutex_unlock(&pt_lock);
}

static void *pt_accept_main(void *arg)
{
	struct pollfd pfd[2] = { { .fd = pt_listen_fd, .events = POLLIN },
				 { .fd = pt_stop_fd, .events = POLLIN } };

	(void)arg;
	for (;;) {
		int fd;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		if (!(pfd[0].revents & POLLIN))
			continue;
		fd = accept4(pt_listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				pt_log_refusal(strerror(errno));
				/* Give the daemon a moment to free some. */
				poll(NULL, 0, 100);
			}
			continue;
		}
		if (!pt_spawn_connection(fd))
			close(fd);
	}
	return NULL;
}

int ports_start(const char *runtime_dir)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	unsigned i;
	int fd, err;

	if (pt_started)
		return -EBUSY;
	if ((size_t)snprintf(pt_path, sizeof(pt_path), "%s/%s", runtime_dir,
			     PT_SOCKET_NAME) >= sizeof(pt_path))
		return -ENAMETOOLONG;
	/* A socket left by a daemon that died is ours to replace; anything
	 * else under that name is not. */
	if (lstat(pt_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			rtl_log(LOG_ERR, "ports: %s exists and is not a socket",
				pt_path);
			return -EEXIST;
		}
		unlink(pt_path);
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memcpy(sa.sun_path, pt_path, strlen(pt_path) + 1);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(pt_path, 0666) < 0 || listen(fd, 128) < 0) {
		err = -errno;
		rtl_log(LOG_ERR, "ports: cannot listen on %s: %s", pt_path,
			strerror(-err));
		close(fd);
		unlink(pt_path);
		return err;
	}
	pt_stop_fd = eventfd(0, EFD_CLOEXEC);
	if (pt_stop_fd < 0) {
		err = -errno;
		goto out_close;
	}
	for (i = 0; i < PT_MAX_THREADS; i++)
		pt_handshaking[i] = -1;
	pt_listen_fd = fd;
	pt_stopping = false;
	err = -pthread_create(&pt_acceptor, NULL, pt_accept_main, NULL);
	if (err) {
		close(pt_stop_fd);
		pt_stop_fd = -1;
		pt_listen_fd = -1;
		goto out_close;
	}
	pt_started = true;
	rtl_log(LOG_INFO, "ports: listening on %s", pt_path);
	return 0;

out_close:
	close(fd);
	unlink(pt_path);
	return err;
}

void ports_stop(void)
{
	struct timespec deadline;
	uint64_t one = 1;
	unsigned i;

	if (!pt_started)
		return;
	if (write(pt_stop_fd, &one, sizeof(one)) != sizeof(one))
		rtl_log(LOG_ERR, "ports: cannot stop the acceptor");
	pthread_join(pt_acceptor, NULL);
	close(pt_listen_fd);
	close(pt_stop_fd);
	pt_listen_fd = pt_stop_fd = -1;
	unlink(pt_path);

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += 10;
	pthread_mutex_lock(&pt_lock);
	pt_stopping = true;
	for (i = 0; i < PT_MAX_THREADS; i++)
		if (pt_handshaking[i] >= 0)
			shutdown(pt_handshaking[i], SHUT_RDWR);
	pt_kill_all_locked();
	while (pt_threads_running &&
	       pthread_cond_clockwait(&pt_cond, &pt_lock, CLOCK_MONOTONIC,
				      &deadline) != ETIMEDOUT)
		;
	if (pt_threads_running)
		rtl_log(LOG_ERR,
			"ports: %u connection threads still busy in filter callbacks",
			pt_threads_running);
	pt_started = false;
	pthread_mutex_unlock(&pt_lock);
}
