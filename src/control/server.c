/*
 * server.c - the control socket server.
 *
 * One thread accepts; each connection gets a thread that reads one request
 * packet at a time, checks it, carries it out and answers with exactly one
 * packet.  A malformed packet is answered with STATUS_INVALID_PARAMETER
 * (another protocol version: STATUS_REVISION_MISMATCH) and the connection
 * stays usable; a caller without the right is answered with
 * STATUS_ACCESS_DENIED to every request.  Nothing a client sends can stop
 * the daemon.
 */
#include "control/server.h"
#include "control/proto.h"
#include "control/wire.h"
#include "daemon/volumes.h"
#include "fltmgr/fm.h"
#include "loader/loader.h"
#include "rtl/rtl.h"
#include "services/services.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#define CTL_STR_MAX 4096
#define CTL_MAX_CLIENTS 64

static int ctl_listen_fd = -1;
static int ctl_wake[2] = { -1, -1 };
static pthread_t ctl_thread;
static gid_t ctl_admin_gid = (gid_t)-1;
static char ctl_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static pthread_mutex_t ctl_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ctl_cond = PTHREAD_COND_INITIALIZER;
static int ctl_clients[CTL_MAX_CLIENTS];
static unsigned ctl_nclients;

/* ---- authorisation ---- */

static bool ctl_authorised(int fd, uid_t *uid_out)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	gid_t groups[256];
	socklen_t glen = sizeof(groups);
	unsigned i;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	*uid_out = cred.uid;
	if (cred.uid == 0)
		return true;
	if (ctl_admin_gid == (gid_t)-1)
		return false;
	if (cred.gid == ctl_admin_gid)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) < 0)
		return false;
	for (i = 0; i < glen / sizeof(gid_t); i++)
		if (groups[i] == ctl_admin_gid)
			return true;
	return false;
}

/* ---- lookups ---- */

/* "\Device\data", "data" or "/srv/data" -> a referenced volume. */
static struct fm_volume *ctl_volume(const char *spec)
{
	struct fm_volume **vols, *found = NULL;
	size_t n, i;

	if (!strncasecmp(spec, "\\Device\\", 8))
		return fm_volume_get(spec + 8);
	if (spec[0] != '/')
		return fm_volume_get(spec);
	n = fm_volumes_snapshot(&vols);
	for (i = 0; i < n; i++) {
		if (!found && !strcmp(vols[i]->dos_name, spec))
			found = vols[i];
		else
			fm_object_put(&vols[i]->obj);
	}
	free(vols);
	return found;
}

static struct fm_filter *ctl_filter(const char *name)
{
	struct fm_filter *f;

	pthread_mutex_lock(&fm_global_lock);
	f = fm_filter_find_locked(name);
	if (f)
		fm_object_get(&f->obj);
	pthread_mutex_unlock(&fm_global_lock);
	return f;
}

static bool ctl_to_us(const char *s, UNICODE_STRING *us, WCHAR *buf, size_t cap)
{
	ssize_t n = rtl_path_to_utf16(s, strlen(s), buf, cap);

	if (n < 0)
		return false;
	us->Buffer = buf;
	us->Length = us->MaximumLength = (USHORT)(n * sizeof(WCHAR));
	return true;
}

static void ctl_device_name(const struct fm_volume *v, char *out, size_t cap)
{
	snprintf(out, cap, "\\Device\\%s", v->name);
}

/* ---- requests ---- */

static NTSTATUS ctl_attach(struct wire *in, struct wire *out)
{
	char filter[CTL_STR_MAX], volume[CTL_STR_MAX], inst[CTL_STR_MAX],
		alt[CTL_STR_MAX];
	WCHAR ibuf[CTL_STR_MAX], abuf[CTL_STR_MAX];
	UNICODE_STRING ius, aus;
	PFLT_INSTANCE ret = NULL;
	struct fm_filter *f;
	struct fm_volume *v;
	NTSTATUS st;

	wire_get_str(in, filter, sizeof(filter));
	wire_get_str(in, volume, sizeof(volume));
	wire_get_str(in, inst, sizeof(inst));
	wire_get_str(in, alt, sizeof(alt));
	if (in->bad || !filter[0] || !volume[0])
		return STATUS_INVALID_PARAMETER;
	if ((inst[0] && !ctl_to_us(inst, &ius, ibuf, CTL_STR_MAX)) ||
	    (alt[0] && !ctl_to_us(alt, &aus, abuf, CTL_STR_MAX)))
		return STATUS_INVALID_PARAMETER;
	f = ctl_filter(filter);
	if (!f)
		return STATUS_FLT_FILTER_NOT_FOUND;
	v = ctl_volume(volume);
	if (!v) {
		FltObjectDereference(f);
		return STATUS_FLT_VOLUME_NOT_FOUND;
	}
	if (alt[0])
		st = FltAttachVolumeAtAltitude((PFLT_FILTER)f, (PFLT_VOLUME)v, &aus,
					       inst[0] ? &ius : NULL, &ret);
	else
		st = FltAttachVolume((PFLT_FILTER)f, (PFLT_VOLUME)v,
				     inst[0] ? &ius : NULL, &ret);
	if (NT_SUCCESS(st)) {
		wire_put_str(out, ((struct fm_instance *)ret)->name);
		FltObjectDereference(ret);
	}
	FltObjectDereference(v);
	FltObjectDereference(f);
	return st;
}

static NTSTATUS ctl_detach(struct wire *in)
{
	char filter[CTL_STR_MAX], volume[CTL_STR_MAX], inst[CTL_STR_MAX];
	WCHAR ibuf[CTL_STR_MAX];
	UNICODE_STRING ius;
	struct fm_filter *f;
	struct fm_volume *v;
	NTSTATUS st;

	wire_get_str(in, filter, sizeof(filter));
	wire_get_str(in, volume, sizeof(volume));
	wire_get_str(in, inst, sizeof(inst));
	if (in->bad || !filter[0] || !volume[0])
		return STATUS_INVALID_PARAMETER;
	if (inst[0] && !ctl_to_us(inst, &ius, ibuf, CTL_STR_MAX))
		return STATUS_INVALID_PARAMETER;
	f = ctl_filter(filter);
	if (!f)
		return STATUS_FLT_FILTER_NOT_FOUND;
	v = ctl_volume(volume);
	if (!v) {
		FltObjectDereference(f);
		return STATUS_FLT_VOLUME_NOT_FOUND;
	}
	st = FltDetachVolume((PFLT_FILTER)f, (PFLT_VOLUME)v, inst[0] ? &ius : NULL);
	FltObjectDereference(v);
	FltObjectDereference(f);
	return st;
}

static unsigned ctl_instance_count(struct fm_filter *f)
{
	struct fm_volume **vols;
	size_t n = fm_volumes_snapshot(&vols), i;
	unsigned count = 0, j;

	for (i = 0; i < n; i++) {
		pthread_mutex_lock(&vols[i]->attach_lock);
		for (j = 0; j < vols[i]->stack->count; j++)
			if (vols[i]->stack->inst[j]->filter == f)
				count++;
		pthread_mutex_unlock(&vols[i]->attach_lock);
		fm_object_put(&vols[i]->obj);
	}
	free(vols);
	return count;
}

static NTSTATUS ctl_enum_filters(struct wire *out)
{
	struct fm_filter **arr;
	size_t n = fm_filters_snapshot(&arr), i;

	wire_put_u32(out, (uint32_t)n);
	for (i = 0; i < n; i++) {
		const struct fm_instance_def *def = fm_filter_def(arr[i], NULL);

		wire_put_str(out, arr[i]->name);
		wire_put_str(out, def ? def->altitude : arr[i]->altitude);
		wire_put_u32(out, ctl_instance_count(arr[i]));
		wire_put_u32(out, 0);
		wire_put_u32(out, FLTFL_AGGREGATE_INFO_IS_MINIFILTER);
		FltObjectDereference(arr[i]);
	}
	free(arr);
	return out->bad ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

static NTSTATUS ctl_enum_instances(struct wire *in, struct wire *out)
{
	char filter[CTL_STR_MAX], volume[CTL_STR_MAX], dev[FM_NAME_MAX + 16];
	struct fm_volume **vols, *only = NULL;
	size_t n, i, count_pos;
	uint32_t count = 0;
	unsigned j;

	wire_get_str(in, filter, sizeof(filter));
	wire_get_str(in, volume, sizeof(volume));
	if (in->bad)
		return STATUS_INVALID_PARAMETER;
	if (volume[0]) {
		only = ctl_volume(volume);
		if (!only)
			return STATUS_FLT_VOLUME_NOT_FOUND;
	}
	if (filter[0] && !fm_filter_find(filter)) {
		if (only)
			FltObjectDereference(only);
		return STATUS_FLT_FILTER_NOT_FOUND;
	}
	count_pos = out->pos;
	wire_put_u32(out, 0);
	n = fm_volumes_snapshot(&vols);
	for (i = 0; i < n; i++) {
		if (only && vols[i] != only) {
			fm_object_put(&vols[i]->obj);
			continue;
		}
		ctl_device_name(vols[i], dev, sizeof(dev));
		pthread_mutex_lock(&vols[i]->attach_lock);
		for (j = 0; j < vols[i]->stack->count; j++) {
			struct fm_instance *inst = vols[i]->stack->inst[j];

			if (filter[0] && strcasecmp(inst->filter->name, filter))
				continue;
			wire_put_str(out, inst->filter->name);
			wire_put_str(out, dev);
			wire_put_str(out, inst->name);
			wire_put_str(out, inst->altitude);
			wire_put_u32(out, 0);
			wire_put_u32(out, inst->setup_flags);
			wire_put_u32(out, vols[i]->fs_type);
			count++;
		}
		pthread_mutex_unlock(&vols[i]->attach_lock);
		fm_object_put(&vols[i]->obj);
	}
	free(vols);
	if (only)
		FltObjectDereference(only);
	memcpy(out->buf + count_pos, &count, sizeof(count));
	return out->bad ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

static NTSTATUS ctl_enum_volumes(struct wire *out)
{
	struct fm_volume **vols;
	size_t n = fm_volumes_snapshot(&vols), i;
	char dev[FM_NAME_MAX + 16];

	wire_put_u32(out, (uint32_t)n);
	for (i = 0; i < n; i++) {
		ctl_device_name(vols[i], dev, sizeof(dev));
		wire_put_str(out, dev);
		wire_put_str(out, vols[i]->dos_name);
		wire_put_u32(out, vols[i]->fs_type);
		wire_put_u32(out, 0);
		wire_put_str(out, vols[i]->fs_name);
		fm_object_put(&vols[i]->obj);
	}
	free(vols);
	return out->bad ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

static NTSTATUS ctl_errno_status(int r)
{
	return r < 0 ? rtl_errno_to_status(-r) : STATUS_SUCCESS;
}

static NTSTATUS ctl_volume_add(struct wire *in)
{
	char dir[CTL_STR_MAX], name[CTL_STR_MAX];
	int r;

	wire_get_str(in, dir, sizeof(dir));
	wire_get_str(in, name, sizeof(name));
	if (in->bad || dir[0] != '/' || !name[0] || strlen(name) >= FM_NAME_MAX ||
	    strpbrk(name, "/\\"))
		return STATUS_INVALID_PARAMETER;
	r = vols_add(dir, name, true);
	if (r == -EEXIST)
		return STATUS_FLT_VOLUME_ALREADY_MOUNTED;
	if (r < 0)
		rtl_log(LOG_ERR, "volume %s: cannot add %s: %s", name, dir, strerror(-r));
	return ctl_errno_status(r);
}

static NTSTATUS ctl_volume_remove(struct wire *in)
{
	char spec[CTL_STR_MAX], name[FM_NAME_MAX];
	struct fm_volume *v;

	wire_get_str(in, spec, sizeof(spec));
	if (in->bad || !spec[0])
		return STATUS_INVALID_PARAMETER;
	v = ctl_volume(spec);
	if (!v)
		return STATUS_FLT_VOLUME_NOT_FOUND;
	snprintf(name, sizeof(name), "%s", v->name);
	FltObjectDereference(v);
	return vols_remove(name) == 0 ? STATUS_SUCCESS : STATUS_FLT_VOLUME_NOT_FOUND;
}

static NTSTATUS ctl_service_install(struct wire *in)
{
	char name[CTL_STR_MAX], err[512];
	const void *lenp;
	const char *text;
	uint16_t len = 0;
	char *copy;
	int r;

	wire_get_str(in, name, sizeof(name));
	/* The definition may be long: read it in place. */
	lenp = wire_get_bytes(in, sizeof(uint16_t));
	if (lenp)
		memcpy(&len, lenp, sizeof(len));
	text = wire_get_bytes(in, len);
	if (in->bad || !text || memchr(text, 0, len))
		return STATUS_INVALID_PARAMETER;
	copy = strndup(text, len);
	if (!copy)
		return STATUS_INSUFFICIENT_RESOURCES;
	r = svc_install(name, copy, err, sizeof(err));
	free(copy);
	if (r < 0) {
		rtl_log(LOG_ERR, "install of service %s refused: %s", name, err);
		return r == -ENOENT ? STATUS_OBJECT_NAME_NOT_FOUND
				    : STATUS_INVALID_PARAMETER;
	}
	rtl_log(LOG_INFO, "service %s installed in %s", name, svc_dir());
	return STATUS_SUCCESS;
}

static NTSTATUS ctl_service_uninstall(struct wire *in)
{
	char name[CTL_STR_MAX], err[512];
	int r;

	wire_get_str(in, name, sizeof(name));
	if (in->bad)
		return STATUS_INVALID_PARAMETER;
	r = svc_uninstall(name, err, sizeof(err));
	if (r < 0) {
		rtl_log(LOG_WARNING, "uninstall of service %s: %s", name, err);
		return r == -ENOENT ? STATUS_OBJECT_NAME_NOT_FOUND
				    : STATUS_INVALID_PARAMETER;
	}
	rtl_log(LOG_INFO, "service %s uninstalled", name);
	return STATUS_SUCCESS;
}

static NTSTATUS ctl_enum_services(struct wire *out)
{
	char **names, err[512];
	size_t n = svc_list(&names), i, count_pos = out->pos;
	uint32_t count = 0;

	wire_put_u32(out, 0);
	for (i = 0; i < n; i++) {
		struct svc s;

		if (svc_read(names[i], &s, err, sizeof(err)) < 0)
			continue;
		wire_put_str(out, s.name);
		wire_put_str(out, s.image);
		wire_put_u32(out, (uint32_t)s.start);
		wire_put_str(out, s.group ? s.group : "");
		wire_put_str(out, s.instances[s.default_instance].altitude);
		svc_free(&s);
		count++;
	}
	svc_names_free(names, n);
	memcpy(out->buf + count_pos, &count, sizeof(count));
	return out->bad ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

static NTSTATUS ctl_dispatch(uint16_t op, struct wire *in, struct wire *out)
{
	char name[CTL_STR_MAX];

	switch (op) {
	case CTL_LOAD:
		if (!wire_get_str(in, name, sizeof(name)) || !name[0])
			return STATUS_INVALID_PARAMETER;
		return loader_load_service(name);
	case CTL_UNLOAD:
		if (!wire_get_str(in, name, sizeof(name)) || !name[0])
			return STATUS_INVALID_PARAMETER;
		return loader_unload(name, false);
	case CTL_ATTACH:
		return ctl_attach(in, out);
	case CTL_DETACH:
		return ctl_detach(in);
	case CTL_ENUM_FILTERS:
		return ctl_enum_filters(out);
	case CTL_ENUM_INSTANCES:
		return ctl_enum_instances(in, out);
	case CTL_ENUM_VOLUMES:
		return ctl_enum_volumes(out);
	case CTL_VOLUME_ADD:
		return ctl_volume_add(in);
	case CTL_VOLUME_REMOVE:
		return ctl_volume_remove(in);
	case CTL_SERVICE_INSTALL:
		return ctl_service_install(in);
	case CTL_SERVICE_UNINSTALL:
		return ctl_service_uninstall(in);
	case CTL_ENUM_SERVICES:
		return ctl_enum_services(out);
	}
	return STATUS_INVALID_PARAMETER;
}

/* ---- connections ---- */

static void ctl_reply(int fd, const struct ctl_hdr *req, uint16_t op,
		      NTSTATUS st, const uint8_t *body, size_t len)
{
	uint8_t *pkt = malloc(sizeof(struct ctl_hdr) + len);
	struct ctl_hdr h = { CTL_MAGIC, CTL_VERSION, op,
			     (uint32_t)(sizeof(h) + len), req ? req->seq : 0, st };

	if (!pkt)
		return;
	memcpy(pkt, &h, sizeof(h));
	if (len)
		memcpy(pkt + sizeof(h), body, len);
	if (send(fd, pkt, sizeof(h) + len, MSG_NOSIGNAL) < 0)
		rtl_log(LOG_DEBUG, "control: reply lost: %m");
	free(pkt);
}

static void ctl_serve(int fd)
{
	uint8_t *req = malloc(CTL_MAX_PACKET + 1), *body = malloc(CTL_MAX_PACKET);
	bool allowed;
	uid_t uid = (uid_t)-1;

	if (!req || !body)
		goto out;
	allowed = ctl_authorised(fd, &uid);
	for (;;) {
		struct ctl_hdr h;
		struct wire in, out;
		ssize_t n = recv(fd, req, CTL_MAX_PACKET + 1, 0);
		NTSTATUS st;

		if (n <= 0)
			break;
		if ((size_t)n < sizeof(h)) {
			ctl_reply(fd, NULL, 0, STATUS_INVALID_PARAMETER, NULL, 0);
			continue;
		}
		memcpy(&h, req, sizeof(h));
		if (h.magic != CTL_MAGIC || h.length != (size_t)n ||
		    (size_t)n > CTL_MAX_PACKET) {
			ctl_reply(fd, &h, h.op, STATUS_INVALID_PARAMETER, NULL, 0);
			continue;
		}
		if (h.version != CTL_VERSION) {
			ctl_reply(fd, &h, h.op, STATUS_REVISION_MISMATCH, NULL, 0);
			continue;
		}
		if (!allowed) {
			rtl_log(LOG_WARNING,
				"control: request %u from uid %u refused: not root or in the admin group",
				h.op, (unsigned)uid);
			ctl_reply(fd, &h, h.op, STATUS_ACCESS_DENIED, NULL, 0);
			continue;
		}
		wire_init(&in, req + sizeof(h), (size_t)n - sizeof(h));
		wire_init(&out, body, CTL_MAX_PACKET - sizeof(h));
		st = ctl_dispatch(h.op, &in, &out);
		if (in.bad && NT_SUCCESS(st))
			st = STATUS_INVALID_PARAMETER;
		ctl_reply(fd, &h, h.op, st, body, NT_SUCCESS(st) ? out.pos : 0);
	}
out:
	free(req);
	free(body);
}

static void *ctl_client_thread(void *arg)
{
	int fd = (int)(intptr_t)arg;
	unsigned i;

	ctl_serve(fd);
	pthread_mutex_lock(&ctl_lock);
	for (i = 0; i < ctl_nclients; i++)
		if (ctl_clients[i] == fd) {
			ctl_clients[i] = ctl_clients[--ctl_nclients];
			break;
		}
	close(fd);
	pthread_cond_broadcast(&ctl_cond);
	pthread_mutex_unlock(&ctl_lock);
	return NULL;
}

static void *ctl_accept_thread(void *arg)
{
	struct pollfd p[2] = { { ctl_listen_fd, POLLIN, 0 }, { ctl_wake[0], POLLIN, 0 } };

	(void)arg;
	for (;;) {
		pthread_t t;
		int fd;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		fd = accept4(ctl_listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		pthread_mutex_lock(&ctl_lock);
		if (ctl_nclients == CTL_MAX_CLIENTS) {
			pthread_mutex_unlock(&ctl_lock);
			rtl_log(LOG_WARNING, "control: too many connections, one refused");
			close(fd);
			continue;
		}
		ctl_clients[ctl_nclients++] = fd;
		if (pthread_create(&t, NULL, ctl_client_thread, (void *)(intptr_t)fd)) {
			ctl_nclients--;
			pthread_mutex_unlock(&ctl_lock);
			close(fd);
			continue;
		}
		pthread_detach(t);
		pthread_mutex_unlock(&ctl_lock);
	}
	return NULL;
}

int control_start(const char *runtime_dir, gid_t admin_gid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int r;

	if ((size_t)snprintf(ctl_path, sizeof(ctl_path), "%s/%s", runtime_dir,
			     CTL_SOCKET_NAME) >= sizeof(ctl_path))
		return -ENAMETOOLONG;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", ctl_path);
	ctl_admin_gid = admin_gid;
	ctl_listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (ctl_listen_fd < 0)
		return -errno;
	unlink(ctl_path);
	if (bind(ctl_listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chown(ctl_path, 0, admin_gid == (gid_t)-1 ? 0 : admin_gid) < 0 ||
	    chmod(ctl_path, admin_gid == (gid_t)-1 ? 0600 : 0660) < 0 ||
	    listen(ctl_listen_fd, 16) < 0 || pipe2(ctl_wake, O_CLOEXEC) < 0) {
		r = -errno;
		close(ctl_listen_fd);
		ctl_listen_fd = -1;
		return r;
	}
	r = pthread_create(&ctl_thread, NULL, ctl_accept_thread, NULL);
	if (r) {
		close(ctl_listen_fd);
		ctl_listen_fd = -1;
		return -r;
	}
	rtl_log(LOG_INFO, "control socket %s ready", ctl_path);
	return 0;
}

void control_stop(void)
{
	unsigned i;

	if (ctl_listen_fd < 0)
		return;
	if (write(ctl_wake[1], "x", 1) < 0)
		rtl_log(LOG_WARNING, "control: cannot wake the accept thread: %m");
	pthread_join(ctl_thread, NULL);
	close(ctl_listen_fd);
	ctl_listen_fd = -1;
	unlink(ctl_path);
	pthread_mutex_lock(&ctl_lock);
	for (i = 0; i < ctl_nclients; i++)
		shutdown(ctl_clients[i], SHUT_RDWR);
	while (ctl_nclients)
		pthread_cond_wait(&ctl_cond, &ctl_lock);
	pthread_mutex_unlock(&ctl_lock);
	close(ctl_wake[0]);
	close(ctl_wake[1]);
}
