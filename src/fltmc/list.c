/*
 * list.c - fltmc filters, instances, volumes and services: tables in the
 * column layout of Windows' fltmc, from the library's Find calls.
 *
 * Every table is printed by walking one Find enumeration with mc_walk,
 * which grows its buffer when an entry does not fit (the library does not
 * consume that entry, so asking again with the size it reported works).
 * The header goes out once the first call succeeded, so a failure prints
 * only the error, as fltmc does.  Filters are listed highest altitude
 * first, the order of the filter manager's frame; everything else in the
 * daemon's order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fltmc/fltmc.h"

#define MC_NO_MORE HRESULT_FROM_WIN32(ERROR_NO_MORE_ITEMS)
#define MC_TOO_SMALL HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER)

/* A table's header, printed once, before its first row. */
struct mc_table {
	const char *header; /* "\n" + titles + "\n" + dashes */
	bool shown;
};

static void mc_table_show(struct mc_table *t)
{
	if (t && !t->shown) {
		fputs(t->header, stdout);
		t->shown = true;
	}
}

/* One enumeration: how to start and continue it, and what to do with each
 * entry. */
struct mc_walk {
	HRESULT (*first)(struct mc_walk *w, void *buf, DWORD size, DWORD *ret,
			 HANDLE *h);
	HRESULT (*next)(struct mc_walk *w, HANDLE h, void *buf, DWORD size,
			DWORD *ret);
	HRESULT (*close)(HANDLE h);
	void (*each)(struct mc_walk *w, const void *entry);
	struct mc_table *table; /* shown once the first call succeeded */
	const WCHAR *name; /* the filter or volume enumerated, if any */
	void *ctx;
};

/* The first or next entry into *buf, grown to the size the library asks
 * for while the entry does not fit. */
static HRESULT mc_step(struct mc_walk *w, bool first, HANDLE *h, void **buf,
		       DWORD *size)
{
	DWORD ret = 0;
	HRESULT hr;

	for (;;) {
		hr = first ? w->first(w, *buf, *size, &ret, h) :
			     w->next(w, *h, *buf, *size, &ret);
		if (hr != MC_TOO_SMALL || ret <= *size)
			return hr;
		free(*buf);
		*size = ret;
		*buf = malloc(ret);
		if (!*buf)
			return E_OUTOFMEMORY;
	}
}

/* S_OK when the enumeration ran to its end (or was empty). */
static HRESULT mc_walk(struct mc_walk *w)
{
	DWORD size = 1024;
	void *buf = malloc(size);
	HANDLE h = INVALID_HANDLE_VALUE;
	HRESULT hr;

	if (!buf)
		return E_OUTOFMEMORY;
	hr = mc_step(w, true, &h, &buf, &size);
	if (SUCCEEDED(hr) || hr == MC_NO_MORE)
		mc_table_show(w->table);
	while (SUCCEEDED(hr)) {
		w->each(w, buf);
		hr = mc_step(w, false, &h, &buf, &size);
	}
	if (h != INVALID_HANDLE_VALUE)
		w->close(h);
	free(buf);
	return hr == MC_NO_MORE ? S_OK : hr;
}

/* Prints line without trailing blanks (empty last columns). */
static void mc_line(const char *line)
{
	size_t n = strlen(line);

	while (n && line[n - 1] == ' ')
		n--;
	printf("%.*s\n", (int)n, line);
}

/* fltmc lines altitudes up on their integer part: "46000" sits one
 * column right of "409800", "385250.5" starts where "409800" does. */
static int mc_int_part(const char *altitude)
{
	return (int)strcspn(altitude, ".");
}

/* ---- filters --------------------------------------------------------- */

static HRESULT mc_filters_first(struct mc_walk *w, void *buf, DWORD size,
				DWORD *ret, HANDLE *h)
{
	(void)w;
	return FilterFindFirst(FilterAggregateStandardInformation, buf, size,
			       ret, h);
}

static HRESULT mc_filters_next(struct mc_walk *w, HANDLE h, void *buf,
			       DWORD size, DWORD *ret)
{
	(void)w;
	return FilterFindNext(h, FilterAggregateStandardInformation, buf, size,
			      ret);
}

struct mc_filter_row {
	char *name, *altitude;
	unsigned instances, frame;
};

struct mc_filter_rows {
	struct mc_filter_row *v;
	size_t n;
};

static void mc_filters_collect_row(struct mc_walk *w, const void *entry)
{
	const FILTER_AGGREGATE_STANDARD_INFORMATION *fi = entry;
	struct mc_filter_rows *rows = w->ctx;
	struct mc_filter_row *v;

	if (!(fi->Flags & FLTFL_AGGREGATE_INFO_IS_MINIFILTER))
		return;
	v = realloc(rows->v, (rows->n + 1) * sizeof(*v));
	if (!v)
		return;
	rows->v = v;
	v += rows->n++;
	v->name = mc_field(fi, fi->Type.MiniFilter.FilterNameBufferOffset,
			   fi->Type.MiniFilter.FilterNameLength);
	v->altitude = mc_field(fi, fi->Type.MiniFilter.FilterAltitudeBufferOffset,
			       fi->Type.MiniFilter.FilterAltitudeLength);
	v->instances = (unsigned)fi->Type.MiniFilter.NumberOfInstances;
	v->frame = (unsigned)fi->Type.MiniFilter.FrameID;
}

/* Highest altitude first, as the filter manager orders its frame. */
static int mc_by_altitude(const void *a, const void *b)
{
	double x = strtod(((const struct mc_filter_row *)a)->altitude, NULL);
	double y = strtod(((const struct mc_filter_row *)b)->altitude, NULL);

	return (x < y) - (x > y);
}

static void mc_filters_print(struct mc_filter_rows *rows)
{
	char line[3 * 4096];
	size_t i;

	if (rows->n)
		qsort(rows->v, rows->n, sizeof(*rows->v), mc_by_altitude);
	for (i = 0; i < rows->n; i++) {
		const struct mc_filter_row *r = &rows->v[i];
		int ip = mc_int_part(r->altitude);

		snprintf(line, sizeof(line), "%-30s  %9u%13.*s%-5s%5u", r->name,
			 r->instances, ip, r->altitude, r->altitude + ip,
			 r->frame);
		mc_line(line);
	}
}

static void mc_filters_free(struct mc_filter_rows *rows)
{
	size_t i;

	for (i = 0; i < rows->n; i++) {
		free(rows->v[i].name);
		free(rows->v[i].altitude);
	}
	free(rows->v);
}

static struct mc_table mc_filters_table = {
	"\n"
	"Filter Name                     Num Instances    Altitude    Frame\n"
	"------------------------------  -------------  ------------  -----\n"
};

int mc_filters(int argc, char **argv)
{
	struct mc_filter_rows rows = { 0 };
	struct mc_walk w = {
		.first = mc_filters_first,
		.next = mc_filters_next,
		.close = FilterFindClose,
		.each = mc_filters_collect_row,
		.table = &mc_filters_table,
		.ctx = &rows,
	};
	HRESULT hr;

	(void)argv;
	if (argc != 1)
		return mc_usage("filters");
	hr = mc_walk(&w);
	mc_filters_print(&rows);
	mc_filters_free(&rows);
	if (FAILED(hr))
		return mc_fail("Filter listing", hr);
	return MC_EXIT_OK;
}

/* ---- volumes --------------------------------------------------------- */

struct mc_volume {
	char *device; /* \Device\name */
	char *dos; /* the directory */
};

struct mc_volumes {
	struct mc_volume *v;
	size_t n;
};

static HRESULT mc_volumes_first(struct mc_walk *w, void *buf, DWORD size,
				DWORD *ret, HANDLE *h)
{
	(void)w;
	return FilterVolumeFindFirst(FilterVolumeLinuxInformation, buf, size,
				     ret, h);
}

static HRESULT mc_volumes_next(struct mc_walk *w, HANDLE h, void *buf,
			       DWORD size, DWORD *ret)
{
	(void)w;
	return FilterVolumeFindNext(h, FilterVolumeLinuxInformation, buf, size,
				    ret);
}

static void mc_volumes_row(struct mc_walk *w, const void *entry)
{
	const FILTER_VOLUME_LINUX_INFORMATION *vi = entry;
	char *dos, *dev, *fs, line[3 * 4096];

	(void)w;
	dos = mc_field(vi, vi->DosNameBufferOffset, vi->DosNameLength);
	dev = mc_field(vi, vi->FilterVolumeNameBufferOffset,
		       vi->FilterVolumeNameLength);
	fs = mc_field(vi, vi->FileSystemNameBufferOffset,
		      vi->FileSystemNameLength);
	snprintf(line, sizeof(line), "%-30s  %-39s  %-10s  %s", dos, dev, fs,
		 (vi->Flags & FLTFL_VSI_DETACHED_VOLUME) ? "Detached" : "");
	mc_line(line);
	free(dos);
	free(dev);
	free(fs);
}

static struct mc_table mc_volumes_table = {
	"\n"
	"Dos Name                        Volume Name                              FileSystem   Status\n"
	"------------------------------  ---------------------------------------  ----------  --------\n"
};

int mc_volumes(int argc, char **argv)
{
	struct mc_walk w = {
		.first = mc_volumes_first,
		.next = mc_volumes_next,
		.close = FilterVolumeFindClose,
		.each = mc_volumes_row,
		.table = &mc_volumes_table,
	};
	HRESULT hr;

	(void)argv;
	if (argc != 1)
		return mc_usage("volumes");
	hr = mc_walk(&w);
	if (FAILED(hr))
		return mc_fail("Volume listing", hr);
	return MC_EXIT_OK;
}

static void mc_volumes_collect(struct mc_walk *w, const void *entry)
{
	const FILTER_VOLUME_LINUX_INFORMATION *vi = entry;
	struct mc_volumes *vols = w->ctx;
	struct mc_volume *v;

	v = realloc(vols->v, (vols->n + 1) * sizeof(*v));
	if (!v)
		return;
	vols->v = v;
	v[vols->n].device = mc_field(vi, vi->FilterVolumeNameBufferOffset,
				     vi->FilterVolumeNameLength);
	v[vols->n].dos = mc_field(vi, vi->DosNameBufferOffset,
				  vi->DosNameLength);
	vols->n++;
}

static void mc_volumes_free(struct mc_volumes *vols)
{
	size_t i;

	for (i = 0; i < vols->n; i++) {
		free(vols->v[i].device);
		free(vols->v[i].dos);
	}
	free(vols->v);
}

/* How fltmc instances shows a volume: its DOS name (the directory) when
 * it has one, as Windows shows C:, else its \Device\ name. */
static const char *mc_volume_label(const struct mc_volumes *vols,
				   const char *device)
{
	size_t i;

	for (i = 0; i < vols->n; i++)
		if (!strcasecmp(vols->v[i].device, device) && *vols->v[i].dos)
			return vols->v[i].dos;
	return device;
}

/* ---- instances ------------------------------------------------------- */

struct mc_instances {
	struct mc_volumes vols;
	const char *filter; /* -f with -v: only this filter's rows */
};

static HRESULT mc_finst_first(struct mc_walk *w, void *buf, DWORD size,
			      DWORD *ret, HANDLE *h)
{
	return FilterInstanceFindFirst(w->name, InstanceAggregateStandardInformation,
				       buf, size, ret, h);
}

static HRESULT mc_finst_next(struct mc_walk *w, HANDLE h, void *buf,
			     DWORD size, DWORD *ret)
{
	(void)w;
	return FilterInstanceFindNext(h, InstanceAggregateStandardInformation,
				      buf, size, ret);
}

static HRESULT mc_vinst_first(struct mc_walk *w, void *buf, DWORD size,
			      DWORD *ret, HANDLE *h)
{
	return FilterVolumeInstanceFindFirst(w->name,
					     InstanceAggregateStandardInformation,
					     buf, size, ret, h);
}

static HRESULT mc_vinst_next(struct mc_walk *w, HANDLE h, void *buf,
			     DWORD size, DWORD *ret)
{
	(void)w;
	return FilterVolumeInstanceFindNext(h, InstanceAggregateStandardInformation,
					    buf, size, ret);
}

static void mc_instances_row(struct mc_walk *w, const void *entry)
{
	const INSTANCE_AGGREGATE_STANDARD_INFORMATION *ii = entry;
	struct mc_instances *ctx = w->ctx;
	char *filter, *volume, *instance, *alt, line[5 * 4096];
	int ip;

	if (!(ii->Flags & FLTFL_IASI_IS_MINIFILTER))
		return;
	filter = mc_field(ii, ii->Type.MiniFilter.FilterNameBufferOffset,
			  ii->Type.MiniFilter.FilterNameLength);
	if (ctx->filter && strcasecmp(filter, ctx->filter)) {
		free(filter);
		return;
	}
	volume = mc_field(ii, ii->Type.MiniFilter.VolumeNameBufferOffset,
			  ii->Type.MiniFilter.VolumeNameLength);
	instance = mc_field(ii, ii->Type.MiniFilter.InstanceNameBufferOffset,
			    ii->Type.MiniFilter.InstanceNameLength);
	alt = mc_field(ii, ii->Type.MiniFilter.AltitudeBufferOffset,
		       ii->Type.MiniFilter.AltitudeLength);
	ip = mc_int_part(alt);
	snprintf(line, sizeof(line),
		 "%-20s  %-37s  %9.*s%-4s %-22s  %3u     %08x  %s", filter,
		 mc_volume_label(&ctx->vols, volume), ip, alt, alt + ip,
		 instance, (unsigned)ii->Type.MiniFilter.FrameID,
		 (unsigned)ii->Type.MiniFilter.SupportedFeatures,
		 (ii->Type.MiniFilter.Flags & FLTFL_IASIM_DETACHED_VOLUME) ?
			 "Detached" : "");
	mc_line(line);
	free(filter);
	free(volume);
	free(instance);
	free(alt);
}

static struct mc_table mc_instances_table = {
	"\n"
	"Filter                Volume Name                              Altitude        Instance Name       Frame   SprtFtrs  VlStatus\n"
	"--------------------  -------------------------------------  ------------  ----------------------  -----   --------  --------\n"
};

/* The instances of one filter (all filters: one walk each). */
static HRESULT mc_instances_of(struct mc_instances *ctx, const char *filter)
{
	struct mc_walk w = {
		.first = mc_finst_first,
		.next = mc_finst_next,
		.close = FilterInstanceFindClose,
		.each = mc_instances_row,
		.table = &mc_instances_table,
		.ctx = ctx,
	};
	WCHAR *wf = mc_wide(filter);
	HRESULT hr;

	if (!wf)
		return E_INVALIDARG;
	w.name = wf;
	hr = mc_walk(&w);
	free(wf);
	return hr;
}

static HRESULT mc_instances_all(struct mc_instances *ctx)
{
	struct mc_filter_rows filters = { 0 };
	struct mc_walk w = {
		.first = mc_filters_first,
		.next = mc_filters_next,
		.close = FilterFindClose,
		.each = mc_filters_collect_row,
		.ctx = &filters,
	};
	HRESULT hr;
	size_t i;

	hr = mc_walk(&w);
	if (SUCCEEDED(hr))
		mc_table_show(&mc_instances_table);
	for (i = 0; SUCCEEDED(hr) && i < filters.n; i++) {
		hr = mc_instances_of(ctx, filters.v[i].name);
		/* Unloaded since the filters were listed. */
		if (hr == ERROR_FLT_FILTER_NOT_FOUND)
			hr = S_OK;
	}
	mc_filters_free(&filters);
	return hr;
}

static HRESULT mc_instances_on(struct mc_instances *ctx, const char *volume)
{
	struct mc_walk w = {
		.first = mc_vinst_first,
		.next = mc_vinst_next,
		.close = FilterVolumeInstanceFindClose,
		.each = mc_instances_row,
		.table = &mc_instances_table,
		.ctx = ctx,
	};
	WCHAR *wv = mc_wide(volume);
	HRESULT hr;

	if (!wv)
		return E_INVALIDARG;
	w.name = wv;
	hr = mc_walk(&w);
	free(wv);
	return hr;
}

int mc_instances(int argc, char **argv)
{
	struct mc_instances ctx = { { 0 } };
	struct mc_walk vw = {
		.first = mc_volumes_first,
		.next = mc_volumes_next,
		.close = FilterVolumeFindClose,
		.each = mc_volumes_collect,
		.ctx = &ctx.vols,
	};
	const char *filter = NULL, *volume = NULL;
	HRESULT hr;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-f") && i + 1 < argc && !filter)
			filter = argv[++i];
		else if (!strcmp(argv[i], "-v") && i + 1 < argc && !volume)
			volume = argv[++i];
		else
			return mc_usage("instances");
	}
	/* Only for the Volume Name column: without it, \Device\ names. */
	(void)mc_walk(&vw);
	if (volume) {
		ctx.filter = filter;
		hr = mc_instances_on(&ctx, volume);
	} else if (filter) {
		hr = mc_instances_of(&ctx, filter);
	} else {
		hr = mc_instances_all(&ctx);
	}
	mc_volumes_free(&ctx.vols);
	if (FAILED(hr))
		return mc_fail("Instance listing", hr);
	return MC_EXIT_OK;
}

/* ---- services -------------------------------------------------------- */

static HRESULT mc_services_first(struct mc_walk *w, void *buf, DWORD size,
				 DWORD *ret, HANDLE *h)
{
	(void)w;
	return FilterServiceFindFirst(buf, size, ret, h);
}

static HRESULT mc_services_next(struct mc_walk *w, HANDLE h, void *buf,
				DWORD size, DWORD *ret)
{
	(void)w;
	return FilterServiceFindNext(h, buf, size, ret);
}

static const char *mc_start_name(ULONG start, char *tmp, size_t cap)
{
	static const char *const names[] = {
		[SERVICE_BOOT_START] = "boot",
		[SERVICE_SYSTEM_START] = "system",
		[SERVICE_AUTO_START] = "auto",
		[SERVICE_DEMAND_START] = "demand",
		[SERVICE_DISABLED] = "disabled",
	};

	if (start < sizeof(names) / sizeof(names[0]))
		return names[start];
	snprintf(tmp, cap, "%lu", (unsigned long)start);
	return tmp;
}

static void mc_services_row(struct mc_walk *w, const void *entry)
{
	const FILTER_SERVICE_INFORMATION *si = entry;
	char *name, *image, *group, *alt, start[16], line[5 * 4096];

	(void)w;
	name = mc_field(si, si->ServiceNameBufferOffset, si->ServiceNameLength);
	image = mc_field(si, si->ImagePathBufferOffset, si->ImagePathLength);
	group = mc_field(si, si->GroupBufferOffset, si->GroupLength);
	alt = mc_field(si, si->AltitudeBufferOffset, si->AltitudeLength);
	snprintf(line, sizeof(line), "%-30s  %-8s  %-12s  %-28s  %s", name,
		 mc_start_name(si->StartType, start, sizeof(start)), alt, group,
		 image);
	mc_line(line);
	free(name);
	free(image);
	free(group);
	free(alt);
}

static struct mc_table mc_services_table = {
	"\n"
	"Service Name                    Start     Altitude      Group                         Image\n"
	"------------------------------  --------  ------------  ----------------------------  ------------------------------\n"
};

int mc_services(int argc, char **argv)
{
	struct mc_walk w = {
		.first = mc_services_first,
		.next = mc_services_next,
		.close = FilterServiceFindClose,
		.each = mc_services_row,
		.table = &mc_services_table,
	};
	HRESULT hr;

	(void)argv;
	if (argc != 1)
		return mc_usage("services");
	hr = mc_walk(&w);
	if (FAILED(hr))
		return mc_fail("Service listing", hr);
	return MC_EXIT_OK;
}
