/*
 * test_fm_loader.c - loading and unloading filter images.
 *
 * The images are the fixtures in tests/unit/fixtures, found through the
 * FIXTURES environment variable meson sets.  fixture_filter.so reads its
 * behaviour from the DWORD "Mode" under its service's Parameters key and
 * reports every callback to fixture_event() below, naming itself by its
 * driver name and passing its own DriverEntry count; both live in the
 * image's globals, so two loads that shared one copy would show.  The
 * program exports fixture_event and the core's routines (export_dynamic),
 * as fltmgrd does.
 *
 * Every test starts with an empty registry and the volume "lvol", and ends
 * with a mandatory unload of everything still loaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "fltmgr/fm.h"
#include "loader/loader.h"
#include "rtl/rtl.h"
#include "fixtures/fixture_modes.h"

#define MAX_EVENTS 256

struct event {
	char name[FM_NAME_MAX];
	char what[32];
	ULONG arg;
	int entries;
};

static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static struct event events[MAX_EVENTS];
static unsigned nevents;

static char filter_path[PATH_MAX], noentry_path[PATH_MAX];
static char tmpdir[64], notelf_path[PATH_MAX], empty_path[PATH_MAX];
static struct fm_volume *lvol;

void fixture_event(const char *name, const char *what, ULONG arg, int entries)
	__attribute__((visibility("default")));

void fixture_event(const char *name, const char *what, ULONG arg, int entries)
{
	pthread_mutex_lock(&ev_lock);
	if (nevents < MAX_EVENTS) {
		struct event *e = &events[nevents++];

		snprintf(e->name, sizeof(e->name), "%s", name);
		snprintf(e->what, sizeof(e->what), "%s", what);
		e->arg = arg;
		e->entries = entries;
	}
	pthread_mutex_unlock(&ev_lock);
}

/* ---- Helpers -------------------------------------------------------------- */

/* Index of the n-th (0-based) event name/what, or -1. */
static int find_event(const char *name, const char *what, int n)
{
	int found = -1;

	pthread_mutex_lock(&ev_lock);
	for (unsigned i = 0; i < nevents; i++)
		if (!strcmp(events[i].name, name) &&
		    !strcmp(events[i].what, what) && n-- == 0) {
			found = (int)i;
			break;
		}
	pthread_mutex_unlock(&ev_lock);
	return found;
}

static int count_events(const char *name, const char *what)
{
	int n = 0;

	while (find_event(name, what, n) >= 0)
		n++;
	return n;
}

static const struct event *event_at(int i)
{
	assert_true(i >= 0 && (unsigned)i < nevents);
	return &events[i];
}

static void set_mode(const char *name, ULONG mode)
{
	char key[256];

	snprintf(key, sizeof(key), LOADER_SERVICES_KEY "\\%s\\Parameters",
		 name);
	assert_int_equal(rtl_registry_set_dword(key, "Mode", mode), 0);
}

static bool on_stack(const char *name)
{
	struct fm_stack *s = fm_stack_get(lvol);
	bool found = false;

	for (unsigned i = 0; i < s->count; i++)
		if (!strcmp(s->inst[i]->name, name))
			found = true;
	fm_stack_put(lvol, s);
	return found;
}

static unsigned stack_count(void)
{
	struct fm_stack *s = fm_stack_get(lvol);
	unsigned n = s->count;

	fm_stack_put(lvol, s);
	return n;
}

/* Runs a write through lvol. */
static void write_op(void)
{
	struct fm_requestor r = { .tid = gettid(), .uid = 0, .gid = 0 };
	struct fm_op_ctx op;
	FILE_OBJECT fo;

	memset(&fo, 0, sizeof(fo));
	fm_op_init(&op, lvol, IRP_MJ_WRITE, 0, &fo, &r);
	if (fm_op_pre(&op))
		op.data.IoStatus.Status = STATUS_SUCCESS;
	fm_op_complete(&op);
}

/* Nothing of the name is left: not loaded, not registered, not attached. */
static void expect_gone(const char *name)
{
	assert_null(fm_filter_find(name));
	assert_false(on_stack(name));
	assert_int_equal(loader_unload(name, true), STATUS_FLT_FILTER_NOT_FOUND);
}

/* Is an image mapped whose path contains needle? */
static bool mapped(const char *needle)
{
	char line[1024];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			found = true;
	fclose(f);
	return found;
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* ---- Fixtures ---------------------------------------------------------------- */

static int group_setup(void **state)
{
	const char *dir = getenv("FIXTURES");

	(void)state;
	if (!dir) {
		fprintf(stderr, "FIXTURES is not set (run through meson test)\n");
		return -1;
	}
	snprintf(filter_path, sizeof(filter_path), "%s/fixture_filter.so", dir);
	snprintf(noentry_path, sizeof(noentry_path), "%s/fixture_noentry.so",
		 dir);
	if (access(filter_path, R_OK) || access(noentry_path, R_OK)) {
		fprintf(stderr, "fixtures missing in %s\n", dir);
		return -1;
	}
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/fm_loader_XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(notelf_path, sizeof(notelf_path), "%s/notelf.so", tmpdir);
	snprintf(empty_path, sizeof(empty_path), "%s/empty.so", tmpdir);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	unlink(notelf_path);
	unlink(empty_path);
	rmdir(tmpdir);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	rtl_registry_clear();
	pthread_mutex_lock(&ev_lock);
	nevents = 0;
	pthread_mutex_unlock(&ev_lock);
	return fm_volume_create("lvol", "/tmp", NULL, NULL, &lvol);
}

/*
 * Every name a test loads.  The teardown unloads them one by one rather
 * than with loader_unload_all, which would spin forever on a filter a
 * broken loader cannot unload.
 */
static const char *const test_names[] = {
	"good", "one", "two", "three", "notelf", "failing", "late", "lazy",
	"idle", "dup", "sticky", "stubborn", "sloppy", "u1", "u2", "u3",
};

static int teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(test_names) / sizeof(test_names[0]); i++)
		loader_unload(test_names[i], true);
	fm_volume_destroy(lvol);
	lvol = NULL;
	rtl_registry_clear();
	return 0;
}

/* ---- Loading ------------------------------------------------------------------- */

static void test_load_good(void **state)
{
	struct fm_filter *f;
	int i;

	(void)state;
	assert_int_equal(loader_load("good", filter_path, "370000"),
			 STATUS_SUCCESS);
	/* DriverEntry ran once, with its name and its registry path. */
	i = find_event("good", "entry", 0);
	assert_true(i >= 0);
	assert_int_equal(event_at(i)->entries, 1);
	assert_int_equal(event_at(i)->arg, FIXTURE_MODE_GOOD);
	assert_int_equal(count_events("good", "entry"), 1);
	f = fm_filter_find("good");
	assert_non_null(f);
	assert_int_equal(f->state, FM_FILTER_STARTED);
	assert_string_equal(f->altitude, "370000");
	/* Started, so attached to the volume automatically. */
	i = find_event("good", "setup", 0);
	assert_true(i >= 0);
	assert_int_equal(event_at(i)->arg,
			 FLTFL_INSTANCE_SETUP_AUTOMATIC_ATTACHMENT);
	assert_true(on_stack("good"));
	write_op();
	i = find_event("good", "pre", 0);
	assert_true(i >= 0);
	assert_int_equal(event_at(i)->arg, IRP_MJ_WRITE);
	assert_true(mapped("fixture_filter.so"));

	/* Non-mandatory unload: the callback unregisters, teardown inside it. */
	assert_int_equal(loader_unload("good", false), STATUS_SUCCESS);
	i = find_event("good", "unload", 0);
	assert_true(i >= 0);
	assert_int_equal(event_at(i)->arg, 0);
	assert_true(find_event("good", "teardown-start", 0) > i);
	assert_int_equal(event_at(find_event("good", "teardown-start", 0))->arg,
			 FLTFL_INSTANCE_TEARDOWN_FILTER_UNLOAD);
	assert_true(find_event("good", "teardown-complete", 0) >
		    find_event("good", "teardown-start", 0));
	assert_true(find_event("good", "unregistered", 0) >
		    find_event("good", "teardown-complete", 0));
	assert_int_equal(count_events("good", "teardown-start"), 1);
	assert_int_equal(count_events("good", "teardown-complete"), 1);
	expect_gone("good");
	/* The image is closed. */
	assert_false(mapped("fixture_filter.so"));
}

static void test_same_image_twice(void **state)
{
	int i;

	(void)state;
	assert_int_equal(loader_load("one", filter_path, "370000"),
			 STATUS_SUCCESS);
	assert_int_equal(loader_load("two", filter_path, "370010"),
			 STATUS_SUCCESS);
	/* Each copy counted its own DriverEntry and kept its own name. */
	i = find_event("one", "entry", 0);
	assert_true(i >= 0);
	assert_int_equal(event_at(i)->entries, 1);
	i = find_event("two", "entry", 0);
	assert_true(i >= 0);
	assert_int_equal(event_at(i)->entries, 1);
	assert_int_equal(count_events("one", "setup"), 1);
	assert_int_equal(count_events("two", "setup"), 1);
	assert_int_equal(stack_count(), 2);
	write_op();
	assert_int_equal(count_events("one", "pre"), 1);
	assert_int_equal(count_events("two", "pre"), 1);

	/* Unloading one unregisters its own filter handle, not the other's. */
	assert_int_equal(loader_unload("one", false), STATUS_SUCCESS);
	expect_gone("one");
	assert_non_null(fm_filter_find("two"));
	assert_true(on_stack("two"));
	assert_int_equal(count_events("two", "teardown-start"), 0);

	/* A third copy while the second is loaded. */
	assert_int_equal(loader_load("three", filter_path, "370020"),
			 STATUS_SUCCESS);
	i = find_event("three", "entry", 0);
	assert_true(i >= 0);
	assert_int_equal(event_at(i)->entries, 1);
	write_op();
	assert_int_equal(count_events("two", "pre"), 2);
	assert_int_equal(count_events("three", "pre"), 1);
	assert_int_equal(count_events("one", "pre"), 1);
}

static void test_missing_image(void **state)
{
	char path[PATH_MAX + 32];

	(void)state;
	snprintf(path, sizeof(path), "%s/no-such-filter.so", tmpdir);
	assert_int_equal(loader_load("missing", path, "370000"),
			 STATUS_OBJECT_NAME_NOT_FOUND);
	expect_gone("missing");
	/* A directory is not an image either, nor is no path at all. */
	assert_int_equal(loader_load("missing", tmpdir, "370000"),
			 STATUS_OBJECT_NAME_NOT_FOUND);
	assert_int_equal(loader_load("missing", NULL, "370000"),
			 STATUS_OBJECT_NAME_NOT_FOUND);
	expect_gone("missing");
	assert_int_equal(nevents, 0);
}

static void test_not_an_elf_image(void **state)
{
	(void)state;
	write_file(notelf_path, "this is not a shared object\n");
	write_file(empty_path, "");
	assert_int_equal(loader_load("notelf", notelf_path, "370000"),
			 STATUS_INVALID_IMAGE_FORMAT);
	expect_gone("notelf");
	assert_int_equal(loader_load("notelf", empty_path, "370000"),
			 STATUS_INVALID_IMAGE_FORMAT);
	expect_gone("notelf");
	/* The name is free for a good image. */
	assert_int_equal(loader_load("notelf", filter_path, "370000"),
			 STATUS_SUCCESS);
	assert_true(on_stack("notelf"));
}

static void test_no_driver_entry(void **state)
{
	(void)state;
	assert_int_equal(loader_load("noentry", noentry_path, "370000"),
			 STATUS_ENTRYPOINT_NOT_FOUND);
	expect_gone("noentry");
	assert_false(mapped("fixture_noentry.so"));
}

static void test_driver_entry_fails(void **state)
{
	(void)state;
	set_mode("failing", FIXTURE_MODE_FAIL_ENTRY);
	assert_int_equal(loader_load("failing", filter_path, "370000"),
			 STATUS_ACCESS_DENIED);
	assert_int_equal(count_events("failing", "entry"), 1);
	expect_gone("failing");
	assert_false(mapped("fixture_filter.so"));

	set_mode("failing", FIXTURE_MODE_GOOD);
	assert_int_equal(loader_load("failing", filter_path, "370000"),
			 STATUS_SUCCESS);
	assert_int_equal(count_events("failing", "entry"), 2);
	/* A fresh image: its DriverEntry count starts again. */
	assert_int_equal(event_at(find_event("failing", "entry", 1))->entries,
			 1);
	assert_true(on_stack("failing"));
}

/* A DriverEntry that registered and started, then failed, is cleaned up. */
static void test_driver_entry_fails_after_start(void **state)
{
	int s, c;

	(void)state;
	set_mode("late", FIXTURE_MODE_FAIL_AFTER_START);
	assert_int_equal(loader_load("late", filter_path, "370000"),
			 STATUS_ACCESS_DENIED);
	assert_int_equal(count_events("late", "setup"), 1);
	s = find_event("late", "teardown-start", 0);
	c = find_event("late", "teardown-complete", 0);
	assert_true(s >= 0);
	assert_true(c > s);
	assert_int_equal(event_at(s)->arg,
			 FLTFL_INSTANCE_TEARDOWN_FILTER_UNLOAD |
				 FLTFL_INSTANCE_TEARDOWN_MANDATORY_FILTER_UNLOAD);
	assert_int_equal(count_events("late", "unload"), 0);
	expect_gone("late");

	set_mode("late", FIXTURE_MODE_GOOD);
	assert_int_equal(loader_load("late", filter_path, "370000"),
			 STATUS_SUCCESS);
	assert_true(on_stack("late"));
}

static void test_driver_entry_without_registration(void **state)
{
	(void)state;
	set_mode("lazy", FIXTURE_MODE_NO_REGISTER);
	assert_int_equal(loader_load("lazy", filter_path, "370000"),
			 STATUS_FLT_NOT_INITIALIZED);
	assert_int_equal(count_events("lazy", "entry"), 1);
	expect_gone("lazy");
	set_mode("lazy", FIXTURE_MODE_GOOD);
	assert_int_equal(loader_load("lazy", filter_path, "370000"),
			 STATUS_SUCCESS);
}

/* Registered but never started: loaded, and attached nowhere. */
static void test_registered_not_started(void **state)
{
	struct fm_filter *f;

	(void)state;
	set_mode("idle", FIXTURE_MODE_NO_START);
	assert_int_equal(loader_load("idle", filter_path, "370000"),
			 STATUS_SUCCESS);
	f = fm_filter_find("idle");
	assert_non_null(f);
	assert_int_equal(f->state, FM_FILTER_REGISTERED);
	assert_int_equal(count_events("idle", "setup"), 0);
	assert_int_equal(stack_count(), 0);
	assert_int_equal(loader_unload("idle", false), STATUS_SUCCESS);
	expect_gone("idle");
}

static void test_already_loaded(void **state)
{
	(void)state;
	assert_int_equal(loader_load("dup", filter_path, "370000"),
			 STATUS_SUCCESS);
	assert_int_equal(loader_load("dup", filter_path, "370010"),
			 STATUS_IMAGE_ALREADY_LOADED);
	assert_int_equal(loader_load("DUP", noentry_path, "370020"),
			 STATUS_IMAGE_ALREADY_LOADED);
	/* The second DriverEntry never ran; the first filter is intact. */
	assert_int_equal(count_events("dup", "entry"), 1);
	assert_int_equal(stack_count(), 1);
	assert_string_equal(fm_filter_find("dup")->altitude, "370000");
	write_op();
	assert_int_equal(count_events("dup", "pre"), 1);
}

static void test_bad_name_or_altitude(void **state)
{
	static const char *const bad_names[] = {
		"", "a/b", "a\\b", "a b", "a\tb",
		"x123456789012345678901234567890123456789012345678901234567890123",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
		assert_int_equal(loader_load(bad_names[i], filter_path, "370000"),
				 STATUS_OBJECT_NAME_INVALID);
	assert_int_equal(loader_load(NULL, filter_path, "370000"),
			 STATUS_OBJECT_NAME_INVALID);
	assert_int_equal(loader_load("alt", filter_path, "37x"),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(loader_load("alt", filter_path, ""),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(loader_load("alt", filter_path, NULL),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(nevents, 0);
	expect_gone("alt");
}

/* ---- Unloading ------------------------------------------------------------------- */

static void test_unload_unknown(void **state)
{
	(void)state;
	assert_int_equal(loader_unload("nobody", false),
			 STATUS_FLT_FILTER_NOT_FOUND);
	assert_int_equal(loader_unload("nobody", true),
			 STATUS_FLT_FILTER_NOT_FOUND);
}

static void test_unload_without_callback(void **state)
{
	int s;

	(void)state;
	set_mode("sticky", FIXTURE_MODE_NO_UNLOAD);
	assert_int_equal(loader_load("sticky", filter_path, "370000"),
			 STATUS_SUCCESS);
	assert_int_equal(loader_unload("sticky", false),
			 STATUS_FLT_DO_NOT_DETACH);
	assert_non_null(fm_filter_find("sticky"));
	assert_true(on_stack("sticky"));
	assert_int_equal(count_events("sticky", "teardown-start"), 0);
	write_op();
	assert_int_equal(count_events("sticky", "pre"), 1);

	assert_int_equal(loader_unload("sticky", true), STATUS_SUCCESS);
	s = find_event("sticky", "teardown-start", 0);
	assert_true(s >= 0);
	assert_int_equal(event_at(s)->arg,
			 FLTFL_INSTANCE_TEARDOWN_FILTER_UNLOAD |
				 FLTFL_INSTANCE_TEARDOWN_MANDATORY_FILTER_UNLOAD);
	assert_int_equal(count_events("sticky", "teardown-complete"), 1);
	expect_gone("sticky");
}

static void test_unload_refused(void **state)
{
	int u, s;

	(void)state;
	set_mode("stubborn", FIXTURE_MODE_REFUSE_UNLOAD);
	assert_int_equal(loader_load("stubborn", filter_path, "370000"),
			 STATUS_SUCCESS);
	assert_int_equal(loader_unload("stubborn", false),
			 STATUS_FLT_DO_NOT_DETACH);
	u = find_event("stubborn", "unload", 0);
	assert_true(u >= 0);
	assert_int_equal(event_at(u)->arg, 0);
	assert_non_null(fm_filter_find("stubborn"));
	assert_true(on_stack("stubborn"));
	assert_int_equal(count_events("stubborn", "teardown-start"), 0);
	assert_int_equal(fm_filter_find("stubborn")->state, FM_FILTER_STARTED);
	write_op();
	assert_int_equal(count_events("stubborn", "pre"), 1);

	/* Mandatory: asked with the flag, refusal overridden. */
	assert_int_equal(loader_unload("stubborn", true), STATUS_SUCCESS);
	u = find_event("stubborn", "unload", 1);
	assert_true(u >= 0);
	assert_int_equal(event_at(u)->arg, FLTFL_FILTER_UNLOAD_MANDATORY);
	s = find_event("stubborn", "teardown-start", 0);
	assert_true(s > u);
	assert_int_equal(event_at(s)->arg,
			 FLTFL_INSTANCE_TEARDOWN_FILTER_UNLOAD |
				 FLTFL_INSTANCE_TEARDOWN_MANDATORY_FILTER_UNLOAD);
	expect_gone("stubborn");
	assert_false(mapped("fixture_filter.so"));
}

static void test_unload_forgets_unregister(void **state)
{
	int u, s;

	(void)state;
	set_mode("sloppy", FIXTURE_MODE_FORGET_UNREGISTER);
	assert_int_equal(loader_load("sloppy", filter_path, "370000"),
			 STATUS_SUCCESS);
	assert_int_equal(loader_unload("sloppy", false), STATUS_SUCCESS);
	u = find_event("sloppy", "unload", 0);
	s = find_event("sloppy", "teardown-start", 0);
	assert_true(u >= 0);
	assert_true(s > u);
	assert_int_equal(event_at(s)->arg, FLTFL_INSTANCE_TEARDOWN_FILTER_UNLOAD);
	assert_int_equal(count_events("sloppy", "teardown-complete"), 1);
	assert_int_equal(count_events("sloppy", "unregistered"), 0);
	expect_gone("sloppy");
	assert_false(mapped("fixture_filter.so"));
}

static void *unload_all_thread(void *arg)
{
	(void)arg;
	loader_unload_all();
	return NULL;
}

static void test_unload_all(void **state)
{
	static const char *const names[] = { "u1", "u2", "u3" };
	static const char *const alts[] = { "1000", "2000", "3000" };
	struct timespec deadline;
	pthread_t th;

	(void)state;
	set_mode("u2", FIXTURE_MODE_REFUSE_UNLOAD);
	set_mode("u3", FIXTURE_MODE_NO_UNLOAD);
	for (int i = 0; i < 3; i++)
		assert_int_equal(loader_load(names[i], filter_path, alts[i]),
				 STATUS_SUCCESS);
	assert_int_equal(stack_count(), 3);
	/* On a thread, so a loader that cannot finish fails the test. */
	assert_int_equal(pthread_create(&th, NULL, unload_all_thread, NULL), 0);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	assert_int_equal(pthread_timedjoin_np(th, NULL, &deadline), 0);
	for (int i = 0; i < 3; i++) {
		expect_gone(names[i]);
		assert_int_equal(count_events(names[i], "teardown-complete"), 1);
	}
	assert_int_equal(event_at(find_event("u1", "unload", 0))->arg,
			 FLTFL_FILTER_UNLOAD_MANDATORY);
	assert_int_equal(event_at(find_event("u2", "unload", 0))->arg,
			 FLTFL_FILTER_UNLOAD_MANDATORY);
	assert_int_equal(stack_count(), 0);
	assert_false(mapped("fixture_filter.so"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_load_good),
		T(test_same_image_twice),
		T(test_missing_image),
		T(test_not_an_elf_image),
		T(test_no_driver_entry),
		T(test_driver_entry_fails),
		T(test_driver_entry_fails_after_start),
		T(test_driver_entry_without_registration),
		T(test_registered_not_started),
		T(test_already_loaded),
		T(test_bad_name_or_altitude),
		T(test_unload_unknown),
		T(test_unload_without_callback),
		T(test_unload_refused),
		T(test_unload_forgets_unregister),
		T(test_unload_all),
#undef T
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
