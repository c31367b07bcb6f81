/*
 * loader.c - the filter image loader.
 *
 * A filter is a shared object exporting DriverEntry.  Each loaded filter has
 * its own copy of the image: when an image is already loaded under another
 * name (the same testing filter stacked three times, say) it is copied into
 * an anonymous memory file first, because dlopen of the same file would hand
 * back the same globals.  The DRIVER_OBJECT given to DriverEntry carries the
 * struct fm_filter the registration will fill in.
 */
#include "loader/loader.h"
#include "fltmgr/fm.h"
#include "ports/ports.h"
#include "services/services.h"
#include "rtl/rtl.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

struct fm_image {
	void *handle;
	int memfd; /* -1 unless the image is a private copy */
	dev_t dev;
	ino_t ino;
	DRIVER_OBJECT driver;
	UNICODE_STRING registry_path;
	WCHAR registry_buf[256];
	WCHAR driver_name_buf[FM_NAME_MAX + 16];
	struct fm_filter *filter;
	struct fm_image *next;
};

static pthread_mutex_t loader_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fm_image *loader_images;

struct fm_filter *fm_filter_alloc(const char *name, const char *altitude)
{
	struct fm_filter *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	fm_object_init(&f->obj, FM_OBJ_FILTER);
	snprintf(f->name, sizeof(f->name), "%s", name);
	snprintf(f->altitude, sizeof(f->altitude), "%s", altitude);
	f->state = FM_FILTER_REGISTERED;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->drained, NULL);
	return f;
}

void fm_filter_free(struct fm_filter *f)
{
	if (!f)
		return;
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->drained);
	f->obj.type = 0;
	free(f);
}

static struct fm_image *loader_find(const char *name)
{
	struct fm_image *img;

	for (img = loader_images; img; img = img->next)
		if (!strcasecmp(img->filter->name, name))
			return img;
	return NULL;
}

static bool loader_image_in_use(dev_t dev, ino_t ino)
{
	struct fm_image *img;

	for (img = loader_images; img; img = img->next)
		if (img->dev == dev && img->ino == ino)
			return true;
	return false;
}

/* Opens a private copy of path; returns the memfd or -errno. */
static int loader_copy_image(const char *path, const char *name)
{
	struct stat st;
	off_t off = 0;
	int src, dst;

	src = open(path, O_RDONLY | O_CLOEXEC);
	if (src < 0)
		return -errno;
	dst = memfd_create(name, MFD_CLOEXEC);
	if (dst < 0 || fstat(src, &st) < 0)
		goto out_err;
	while (off < st.st_size)
		if (sendfile(dst, src, &off, (size_t)(st.st_size - off)) <= 0)
			goto out_err;
	close(src);
	return dst;

out_err:
	{
		int err = errno ? errno : EIO;

		if (dst >= 0)
			close(dst);
		close(src);
		return -err;
	}
}

static void loader_set_wide(UNICODE_STRING *us, WCHAR *buf, size_t cap,
			    const char *text)
{
	ssize_t n = rtl_path_to_utf16(text, strlen(text), buf, cap);

	if (n < 0)
		n = 0;
	us->Buffer = buf;
	us->Length = (USHORT)(n * sizeof(WCHAR));
	us->MaximumLength = (USHORT)(cap * sizeof(WCHAR));
}

/* Path conversion maps '/' to '\'; registry and driver names are built
 * with '/' so they come out with backslashes. */
static void loader_names(struct fm_image *img, const char *name)
{
	char text[512];

	snprintf(text, sizeof(text),
		 "/Registry/Machine/System/CurrentControlSet/Services/%s",
		 name);
	loader_set_wide(&img->registry_path, img->registry_buf,
			RTL_NUMBER_OF(img->registry_buf), text);
	snprintf(text, sizeof(text), "/FileSystem/%s", name);
	loader_set_wide(&img->driver.DriverName, img->driver_name_buf,
			RTL_NUMBER_OF(img->driver_name_buf), text);
}

static void loader_close_image(struct fm_image *img)
{
	if (img->filter && atomic_load(&img->filter->obj.refs) > 1) {
		/* Something of the filter is still referenced (a leaked
		 * context): its code may run again, so it stays mapped. */
		rtl_log(LOG_ERR, "filter %s: image kept loaded: %ld references leaked",
			img->filter->name, atomic_load(&img->filter->obj.refs) - 1);
		return;
	}
	if (img->handle)
		dlclose(img->handle);
	if (img->memfd >= 0)
		close(img->memfd);
	fm_filter_free(img->filter);
	free(img);
}

NTSTATUS loader_load(const char *name, const char *image, const char *altitude)
{
	struct fm_instance_def def;

	memset(&def, 0, sizeof(def));
	snprintf(def.name, sizeof(def.name), "%s", name ? name : "");
	snprintf(def.altitude, sizeof(def.altitude), "%s", altitude ? altitude : "");
	return loader_load_defs(name, image, &def, 1, 0);
}

NTSTATUS loader_load_defs(const char *name, const char *image,
			  const struct fm_instance_def *defs, unsigned ndefs,
			  unsigned default_def)
{
	const char *altitude = ndefs ? defs[default_def].altitude : NULL;
	PDRIVER_INITIALIZE entry;
	struct fm_image *img;
	struct stat st;
	char fdpath[64];
	const char *open_path = image;
	NTSTATUS status;

	if (!name || !*name || strlen(name) >= FM_NAME_MAX ||
	    strpbrk(name, "/\\ \t")) {
		rtl_log(LOG_ERR, "filter %s: invalid filter name", name ? name : "(null)");
		return STATUS_OBJECT_NAME_INVALID;
	}
	if (!fm_altitude_valid(altitude)) {
		rtl_log(LOG_ERR, "filter %s: invalid altitude '%s'", name,
			altitude ? altitude : "");
		return STATUS_INVALID_PARAMETER;
	}
	img = calloc(1, sizeof(*img));
	if (!img)
		return STATUS_INSUFFICIENT_RESOURCES;
	img->memfd = -1;
	img->filter = fm_filter_alloc(name, altitude);
	if (!img->filter) {
		free(img);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	if (ndefs > FM_MAX_DEFS)
		ndefs = FM_MAX_DEFS;
	memcpy(img->filter->defs, defs, ndefs * sizeof(*defs));
	img->filter->ndefs = ndefs;
	img->filter->default_def = default_def < ndefs ? default_def : 0;

	pthread_mutex_lock(&loader_lock);
	if (loader_find(name)) {
		rtl_log(LOG_ERR, "filter %s: already loaded", name);
		status = STATUS_IMAGE_ALREADY_LOADED;
		goto out_fail;
	}
	if (!image || stat(image, &st) < 0 || !S_ISREG(st.st_mode)) {
		rtl_log(LOG_ERR, "filter %s: cannot open image %s: %s", name,
			image ? image : "(none)",
			image ? strerror(errno ? errno : EINVAL) : "no image");
		status = STATUS_OBJECT_NAME_NOT_FOUND;
		goto out_fail;
	}
	img->dev = st.st_dev;
	img->ino = st.st_ino;
	if (loader_image_in_use(st.st_dev, st.st_ino)) {
		img->memfd = loader_copy_image(image, name);
		if (img->memfd < 0) {
			rtl_log(LOG_ERR, "filter %s: cannot copy image %s: %s",
				name, image, strerror(-img->memfd));
			status = STATUS_INSUFFICIENT_RESOURCES;
			goto out_fail;
		}
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", img->memfd);
		open_path = fdpath;
	}
	img->handle = dlopen(open_path, RTLD_NOW | RTLD_LOCAL);
	if (!img->handle) {
		const char *err = dlerror();

		rtl_log(LOG_ERR, "filter %s: cannot load image %s: %s", name,
			image, err ? err : "unknown error");
		status = err && strstr(err, "undefined symbol")
				 ? STATUS_ENTRYPOINT_NOT_FOUND
				 : STATUS_INVALID_IMAGE_FORMAT;
		goto out_fail;
	}
	*(void **)&entry = dlsym(img->handle, "DriverEntry");
	if (!entry) {
		rtl_log(LOG_ERR, "filter %s: image %s has no DriverEntry", name,
			image);
		status = STATUS_ENTRYPOINT_NOT_FOUND;
		goto out_fail;
	}
	loader_names(img, name);
	fm_filter_bind_driver(&img->driver, img->filter);
	img->driver.DriverInit = entry;
	img->filter->image = img;

	status = entry(&img->driver, &img->registry_path);
	if (!NT_SUCCESS(status)) {
		rtl_log(LOG_ERR, "filter %s: DriverEntry failed: %s (0x%08X)",
			name, rtl_status_name(status), (unsigned)status);
		/* Ports it created before failing must not outlive its code. */
		ports_filter_unloading(img->filter);
		/* A well-behaved filter unregisters before failing; clean up
		 * after one that did not. */
		if (img->filter->reg.Size &&
		    img->filter->state != FM_FILTER_UNREGISTERING) {
			img->filter->unload_flags = FLTFL_FILTER_UNLOAD_MANDATORY;
			FltUnregisterFilter((PFLT_FILTER)img->filter);
		}
		goto out_fail;
	}
	if (!img->filter->reg.Size) {
		rtl_log(LOG_ERR,
			"filter %s: DriverEntry returned without calling FltRegisterFilter",
			name);
		status = STATUS_FLT_NOT_INITIALIZED;
		goto out_fail;
	}
	img->next = loader_images;
	loader_images = img;
	pthread_mutex_unlock(&loader_lock);
	rtl_log(LOG_INFO, "filter %s: loaded from %s at altitude %s%s", name,
		image, altitude,
		img->filter->state == FM_FILTER_STARTED ? "" :
		" (not filtering: FltStartFiltering not called)");
	return STATUS_SUCCESS;

out_fail:
	pthread_mutex_unlock(&loader_lock);
	loader_close_image(img);
	return status;
}

NTSTATUS loader_unload(const char *name, bool mandatory)
{
	struct fm_image *img, **pp;
	struct fm_filter *f;
	NTSTATUS status = STATUS_SUCCESS;

	pthread_mutex_lock(&loader_lock);
	img = loader_find(name);
	if (!img) {
		pthread_mutex_unlock(&loader_lock);
		return STATUS_FLT_FILTER_NOT_FOUND;
	}
	f = img->filter;
	if (!f->reg.FilterUnloadCallback && !mandatory) {
		pthread_mutex_unlock(&loader_lock);
		rtl_log(LOG_WARNING,
			"filter %s: has no FilterUnloadCallback and cannot be unloaded",
			name);
		return STATUS_FLT_DO_NOT_DETACH;
	}
	f->unload_flags = mandatory ? FLTFL_FILTER_UNLOAD_MANDATORY : 0;
	if (f->reg.FilterUnloadCallback) {
		status = f->reg.FilterUnloadCallback(f->unload_flags);
		if (!NT_SUCCESS(status) && !mandatory) {
			f->unload_flags = 0;
			pthread_mutex_unlock(&loader_lock);
			rtl_log(LOG_WARNING, "filter %s: refused to unload: %s (0x%08X)",
				name, rtl_status_name(status), (unsigned)status);
			return status;
		}
	}
	/* Ports the filter forgot to close must not outlive its code. */
	ports_filter_unloading(f);
	if (f->state != FM_FILTER_UNREGISTERING) {
		if (f->reg.FilterUnloadCallback)
			rtl_log(LOG_WARNING,
				"filter %s: FilterUnloadCallback did not call FltUnregisterFilter",
				name);
		FltUnregisterFilter((PFLT_FILTER)f);
	}
	for (pp = &loader_images; *pp; pp = &(*pp)->next)
		if (*pp == img) {
			*pp = img->next;
			break;
		}
	pthread_mutex_unlock(&loader_lock);
	rtl_log(LOG_INFO, "filter %s: unloaded", name);
	loader_close_image(img);
	return STATUS_SUCCESS;
}

void loader_unload_all(void)
{
	for (;;) {
		char name[FM_NAME_MAX];

		pthread_mutex_lock(&loader_lock);
		if (!loader_images) {
			pthread_mutex_unlock(&loader_lock);
			return;
		}
		snprintf(name, sizeof(name), "%s", loader_images->filter->name);
		pthread_mutex_unlock(&loader_lock);
		loader_unload(name, true);
	}
}

NTSTATUS loader_load_service(const char *name)
{
	struct fm_instance_def defs[FM_MAX_DEFS];
	char err[512];
	struct svc s;
	unsigned i;
	NTSTATUS status;
	int r;

	r = svc_read(name, &s, err, sizeof(err));
	if (r < 0) {
		rtl_log(LOG_ERR, "filter %s: %s", name, err);
		return r == -ENOENT ? STATUS_OBJECT_NAME_NOT_FOUND
				    : STATUS_INVALID_PARAMETER;
	}
	if (s.start == SVC_START_DISABLED) {
		rtl_log(LOG_ERR, "filter %s: the service is disabled", name);
		svc_free(&s);
		return STATUS_INVALID_DEVICE_STATE;
	}
	r = svc_publish(&s);
	if (r < 0) {
		rtl_log(LOG_ERR, "filter %s: cannot publish its registry key: %s",
			name, strerror(-r));
		svc_free(&s);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	memset(defs, 0, sizeof(defs));
	for (i = 0; i < s.ninstances && i < FM_MAX_DEFS; i++) {
		snprintf(defs[i].name, sizeof(defs[i].name), "%s", s.instances[i].name);
		snprintf(defs[i].altitude, sizeof(defs[i].altitude), "%s",
			 s.instances[i].altitude);
		defs[i].flags = s.instances[i].flags;
	}
	status = loader_load_defs(s.name, s.image, defs, i, s.default_instance);
	svc_free(&s);
	return status;
}

static bool loader_us_name(PCUNICODE_STRING us, char *out, size_t cap)
{
	ssize_t n;

	if (!us || !us->Buffer || !us->Length || us->Length % sizeof(WCHAR))
		return false;
	n = rtl_name_from_utf16(us->Buffer, us->Length / sizeof(WCHAR), out, cap);
	return n > 0;
}

NTSTATUS FLTAPI FltLoadFilter(PCUNICODE_STRING FilterName)
{
	char name[FM_NAME_MAX * 4];

	if (!loader_us_name(FilterName, name, sizeof(name)))
		return STATUS_INVALID_PARAMETER;
	return loader_load_service(name);
}

NTSTATUS FLTAPI FltUnloadFilter(PCUNICODE_STRING FilterName)
{
	char name[FM_NAME_MAX * 4];

	if (!loader_us_name(FilterName, name, sizeof(name)))
		return STATUS_INVALID_PARAMETER;
	return loader_unload(name, false);
}
