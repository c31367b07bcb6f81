/*
 * test_fltlib_manage.c - libfltlib's management calls against a fake
 * control server: what each call sends, how the daemon's NTSTATUS comes
 * back as an HRESULT, volume names resolved through the enumeration,
 * arguments refused before anything is sent, and a daemon that is not
 * running.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "fltlib_fake.h"

#define STATUS_ACCESS_DENIED_ ((int32_t)0xC0000022)
#define STATUS_OBJECT_NAME_NOT_FOUND_ ((int32_t)0xC0000034)
#define STATUS_FLT_INSTANCE_ALTITUDE_COLLISION_ ((int32_t)0xC01C0011)
#define STATUS_FLT_DO_NOT_DETACH_ ((int32_t)0xC01C0010)
#define STATUS_INVALID_PARAMETER_ ((int32_t)0xC000000D)

static int setup(void **state)
{
	(void)state;
	fake_start();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(fake_bad_requests(), 0);
	fake_stop();
	return 0;
}

/* The next string of a request body must be `expect`. */
static void expect_str(struct wire *w, const char *expect)
{
	char buf[4096];

	assert_true(wire_get_str(w, buf, sizeof(buf)));
	assert_string_equal(buf, expect);
}

static void expect_end(struct wire *w)
{
	assert_false(w->bad);
	assert_int_equal(w->pos, w->cap);
}

static const struct fake_volume two_volumes[] = {
	{ "\\Device\\data", "/srv/data", "ext4", 0x100, 0 },
	{ "\\Device\\logs", "/var/log/app", "xfs", 0x100, 0 },
};

/* ---- not running ----------------------------------------------------- */

static void test_no_daemon(void **state)
{
	char dir[PATH_MAX];

	(void)state;
	/* A runtime directory without a socket, and none at all. */
	snprintf(dir, sizeof(dir), "%s/empty", fake_dir());
	assert_int_equal(mkdir(dir, 0700), 0);
	setenv("ALTITUDE_RUNTIME_DIR", dir, 1);
	assert_int_equal(FilterLoad(w16("x")),
			 HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND));
	rmdir(dir);
	assert_int_equal(FilterLoad(w16("x")), (HRESULT)0x80070002);
	setenv("ALTITUDE_RUNTIME_DIR", "/nonexistent/file/path", 1);
	assert_int_equal(FilterUnload(w16("x")), (HRESULT)0x80070002);
	setenv("ALTITUDE_RUNTIME_DIR", fake_dir(), 1);
	assert_int_equal(fake_count(), 0);
}

static void test_socket_path_too_long(void **state)
{
	char dir[200];

	(void)state;
	memset(dir, 'a', sizeof(dir) - 1);
	dir[0] = '/';
	dir[sizeof(dir) - 1] = 0;
	setenv("ALTITUDE_RUNTIME_DIR", dir, 1);
	assert_int_equal(FilterLoad(w16("x")),
			 HRESULT_FROM_WIN32(ERROR_INVALID_NAME));
	setenv("ALTITUDE_RUNTIME_DIR", fake_dir(), 1);
}

/* ---- load / unload --------------------------------------------------- */

static void test_load_sends_name(void **state)
{
	/* "päss" in UTF-16: the name travels as UTF-8. */
	static const WCHAR name[] = { 'p', 0xE4, 's', 's', 0 };
	struct wire w;
	const struct fake_request *r;

	(void)state;
	fake_reply(CTL_LOAD, 0);
	assert_int_equal(FilterLoad(name), S_OK);
	assert_int_equal(fake_count(), 1);
	r = fake_req(0, &w);
	assert_int_equal(r->op, CTL_LOAD);
	expect_str(&w, "p\xC3\xA4ss");
	expect_end(&w);
}

static void test_unload_sends_name(void **state)
{
	struct wire w;

	(void)state;
	fake_reply(CTL_UNLOAD, 0);
	assert_int_equal(FilterUnload(w16("passthrough")), S_OK);
	assert_int_equal(fake_req(0, &w)->op, CTL_UNLOAD);
	expect_str(&w, "passthrough");
	expect_end(&w);
}

static void test_status_conversion(void **state)
{
	(void)state;
	fake_reply(CTL_LOAD, STATUS_OBJECT_NAME_NOT_FOUND_);
	assert_int_equal(FilterLoad(w16("nope")), (HRESULT)0x80070002);
	fake_reply(CTL_LOAD, STATUS_ACCESS_DENIED_);
	assert_int_equal(FilterLoad(w16("x")), E_ACCESSDENIED);
	fake_reply(CTL_UNLOAD, (int32_t)0xC01C0013);
	assert_int_equal(FilterUnload(w16("x")), ERROR_FLT_FILTER_NOT_FOUND);
	fake_reply(CTL_LOAD, STATUS_INVALID_PARAMETER_);
	assert_int_equal(FilterLoad(w16("x")), E_INVALIDARG);
	/* No Win32 equivalent: HRESULT_FROM_NT. */
	fake_reply(CTL_LOAD, (int32_t)0xC0000999);
	assert_int_equal(FilterLoad(w16("x")), (HRESULT)0xD0000999);
}

static void test_bad_arguments_send_nothing(void **state)
{
	static const WCHAR lone_surrogate[] = { 'a', 0xD800, 'b', 0 };
	WCHAR created[64];

	(void)state;
	assert_int_equal(FilterLoad(NULL), E_INVALIDARG);
	assert_int_equal(FilterLoad(w16("")), E_INVALIDARG);
	assert_int_equal(FilterUnload(NULL), E_INVALIDARG);
	assert_int_equal(FilterLoad(lone_surrogate),
			 HRESULT_FROM_WIN32(ERROR_INVALID_NAME));
	assert_int_equal(FilterAttach(NULL, w16("\\Device\\data"), NULL, 0, NULL),
			 E_INVALIDARG);
	assert_int_equal(FilterAttach(w16("f"), NULL, NULL, 0, NULL),
			 E_INVALIDARG);
	assert_int_equal(FilterAttachAtAltitude(w16("f"), w16("\\Device\\data"),
						NULL, NULL, sizeof(created),
						created),
			 E_INVALIDARG);
	assert_int_equal(FilterDetach(w16("f"), NULL, NULL), E_INVALIDARG);
	assert_int_equal(FilterVolumeAdd(NULL, w16("x")), E_INVALIDARG);
	assert_int_equal(FilterVolumeRemove(NULL), E_INVALIDARG);
	assert_int_equal(FilterServiceInstall(NULL, "x", 1), E_INVALIDARG);
	assert_int_equal(FilterServiceInstall(w16("s"), NULL, 3), E_INVALIDARG);
	assert_int_equal(FilterServiceUninstall(NULL), E_INVALIDARG);
	assert_int_equal(fake_count(), 0);
}

static void test_name_too_long(void **state)
{
	WCHAR *name = malloc(5000 * sizeof(WCHAR));
	int i;

	(void)state;
	for (i = 0; i < 4999; i++)
		name[i] = 'n';
	name[4999] = 0;
	assert_int_equal(FilterLoad(name), HRESULT_FROM_WIN32(ERROR_INVALID_NAME));
	/* Three-byte characters: 1500 of them are 4500 bytes of UTF-8. */
	for (i = 0; i < 1500; i++)
		name[i] = 0x20AC;
	name[1500] = 0;
	assert_int_equal(FilterLoad(name), HRESULT_FROM_WIN32(ERROR_INVALID_NAME));
	free(name);
	assert_int_equal(fake_count(), 0);
}

/* ---- attach / detach ------------------------------------------------- */

static void test_attach_device_name(void **state)
{
	WCHAR created[64];
	struct wire w;

	(void)state;
	wire_put_str(fake_reply(CTL_ATTACH, 0), "passthrough Instance");
	assert_int_equal(FilterAttach(w16("passthrough"), w16("\\Device\\data"),
				      NULL, sizeof(created), created),
			 S_OK);
	assert_true(w16_eq(created, 20 * 2, "passthrough Instance"));
	assert_int_equal(created[20], 0);
	/* A \Device\ name needs no enumeration. */
	assert_int_equal(fake_count(), 1);
	assert_int_equal(fake_req(0, &w)->op, CTL_ATTACH);
	expect_str(&w, "passthrough");
	expect_str(&w, "\\Device\\data");
	expect_str(&w, "");
	expect_str(&w, "");
	expect_end(&w);
}

static void test_attach_at_altitude(void **state)
{
	WCHAR created[64];
	struct wire w;

	(void)state;
	wire_put_str(fake_reply(CTL_ATTACH, 0), "second");
	assert_int_equal(FilterAttachAtAltitude(w16("f"), w16("\\Device\\data"),
						w16("370031.5"), w16("second"),
						sizeof(created), created),
			 S_OK);
	fake_req(0, &w);
	expect_str(&w, "f");
	expect_str(&w, "\\Device\\data");
	expect_str(&w, "second");
	expect_str(&w, "370031.5");
	expect_end(&w);
	assert_true(w16_eq(created, 12, "second"));
}

static void test_attach_created_name_buffer(void **state)
{
	WCHAR small[4];

	(void)state;
	wire_put_str(fake_reply(CTL_ATTACH, 0), "a long instance name");
	/* Too small: reported, though the instance is attached. */
	assert_int_equal(FilterAttach(w16("f"), w16("\\Device\\data"), NULL,
				      sizeof(small), small),
			 HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER));
	/* No buffer: fine. */
	assert_int_equal(FilterAttach(w16("f"), w16("\\Device\\data"), NULL, 0,
				      NULL),
			 S_OK);
	/* A reply without the name is a broken reply. */
	fake_reply(CTL_ATTACH, 0);
	assert_int_equal(FilterAttach(w16("f"), w16("\\Device\\data"), NULL, 0,
				      NULL),
			 HRESULT_FROM_WIN32(ERROR_INVALID_DATA));
}

static void test_attach_collision(void **state)
{
	(void)state;
	fake_reply(CTL_ATTACH, STATUS_FLT_INSTANCE_ALTITUDE_COLLISION_);
	assert_int_equal(FilterAttach(w16("f"), w16("\\Device\\data"), NULL, 0,
				      NULL),
			 (HRESULT)0x801F0011);
}

static void test_attach_resolves_volume(void **state)
{
	struct wire w;
	static const char *const names[] = {
		"data", "DATA", "/srv/data", "/srv/data/", "\\device\\DATA",
	};
	size_t i;

	(void)state;
	fake_volumes(2, two_volumes);
	wire_put_str(fake_reply(CTL_ATTACH, 0), "i");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		fake_clear();
		assert_int_equal(FilterAttach(w16("f"), w16(names[i]), NULL, 0,
					      NULL),
				 S_OK);
		/* The request carries the daemon's \Device\ name (or the
		 * caller's, when it already was one). */
		fake_req(fake_count() - 1, &w);
		expect_str(&w, "f");
		expect_str(&w, i == 4 ? "\\device\\DATA" : "\\Device\\data");
	}
	fake_clear();
	assert_int_equal(FilterAttach(w16("f"), w16("/var/log/app"), NULL, 0,
				      NULL),
			 S_OK);
	assert_int_equal(fake_count_op(CTL_ENUM_VOLUMES), 1);
	fake_req(1, &w);
	expect_str(&w, "f");
	expect_str(&w, "\\Device\\logs");
}

static void test_attach_unknown_volume(void **state)
{
	(void)state;
	fake_volumes(2, two_volumes);
	assert_int_equal(FilterAttach(w16("f"), w16("nosuch"), NULL, 0, NULL),
			 ERROR_FLT_VOLUME_NOT_FOUND);
	assert_int_equal(FilterAttach(w16("f"), w16("/srv"), NULL, 0, NULL),
			 ERROR_FLT_VOLUME_NOT_FOUND);
	assert_int_equal(fake_count_op(CTL_ATTACH), 0);
}

static void test_attach_resolve_symlink(void **state)
{
	char real[PATH_MAX], link[PATH_MAX];
	struct fake_volume v = { "\\Device\\t", real, "tmpfs", 0x100, 0 };
	struct wire w;

	(void)state;
	snprintf(real, sizeof(real), "%s/vol", fake_dir());
	snprintf(link, sizeof(link), "%s/link", fake_dir());
	assert_int_equal(mkdir(real, 0700), 0);
	assert_int_equal(symlink(real, link), 0);
	fake_volumes(1, &v);
	fake_reply(CTL_DETACH, 0);
	/* The path through the link names the volume's directory. */
	{
		WCHAR wl[PATH_MAX];
		size_t i;

		for (i = 0; link[i]; i++)
			wl[i] = (WCHAR)link[i];
		wl[i] = 0;
		assert_int_equal(FilterDetach(w16("f"), wl, NULL), S_OK);
	}
	fake_req(1, &w);
	expect_str(&w, "f");
	expect_str(&w, "\\Device\\t");
	unlink(link);
	rmdir(real);
}

static void test_detach(void **state)
{
	struct wire w;

	(void)state;
	fake_reply(CTL_DETACH, 0);
	assert_int_equal(FilterDetach(w16("f"), w16("\\Device\\data"),
				      w16("f Instance")),
			 S_OK);
	assert_int_equal(fake_req(0, &w)->op, CTL_DETACH);
	expect_str(&w, "f");
	expect_str(&w, "\\Device\\data");
	expect_str(&w, "f Instance");
	expect_end(&w);
	/* The filter's refusal comes back as its status. */
	fake_reply(CTL_DETACH, STATUS_FLT_DO_NOT_DETACH_);
	assert_int_equal(FilterDetach(w16("f"), w16("\\Device\\data"), NULL),
			 ERROR_FLT_DO_NOT_DETACH);
}

/* ---- volumes --------------------------------------------------------- */

static void test_volume_add(void **state)
{
	char dir[PATH_MAX], dotted[PATH_MAX];
	WCHAR wd[PATH_MAX];
	struct wire w;
	size_t i;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/v", fake_dir());
	snprintf(dotted, sizeof(dotted), "%s/./v/", fake_dir());
	assert_int_equal(mkdir(dir, 0700), 0);
	for (i = 0; dotted[i]; i++)
		wd[i] = (WCHAR)dotted[i];
	wd[i] = 0;
	fake_reply(CTL_VOLUME_ADD, 0);
	assert_int_equal(FilterVolumeAdd(wd, w16("v")), S_OK);
	assert_int_equal(fake_req(0, &w)->op, CTL_VOLUME_ADD);
	expect_str(&w, dir); /* absolute, resolved */
	expect_str(&w, "v");
	expect_end(&w);
	/* No name: the daemon picks one. */
	assert_int_equal(FilterVolumeAdd(wd, NULL), S_OK);
	fake_req(1, &w);
	expect_str(&w, dir);
	expect_str(&w, "");
	/* A directory that does not exist goes as given. */
	fake_reply(CTL_VOLUME_ADD, STATUS_OBJECT_NAME_NOT_FOUND_);
	assert_int_equal(FilterVolumeAdd(w16("/no/such/dir"), NULL),
			 (HRESULT)0x80070002);
	fake_req(2, &w);
	expect_str(&w, "/no/such/dir");
	rmdir(dir);
}

static void test_volume_remove(void **state)
{
	struct wire w;

	(void)state;
	fake_volumes(2, two_volumes);
	fake_reply(CTL_VOLUME_REMOVE, 0);
	assert_int_equal(FilterVolumeRemove(w16("/var/log/app")), S_OK);
	fake_req(1, &w);
	expect_str(&w, "\\Device\\logs");
	expect_end(&w);
	assert_int_equal(FilterVolumeRemove(w16("nosuch")),
			 ERROR_FLT_VOLUME_NOT_FOUND);
	assert_int_equal(fake_count_op(CTL_VOLUME_REMOVE), 1);
}

/* ---- services -------------------------------------------------------- */

static void test_service_install(void **state)
{
	static const char text[] = "[service]\nimage = /x.so\n";
	struct wire w;

	(void)state;
	fake_reply(CTL_SERVICE_INSTALL, 0);
	assert_int_equal(FilterServiceInstall(w16("svc"), text, sizeof(text) - 1),
			 S_OK);
	assert_int_equal(fake_req(0, &w)->op, CTL_SERVICE_INSTALL);
	expect_str(&w, "svc");
	expect_str(&w, text);
	expect_end(&w);
	/* The daemon's verdict on the text comes back. */
	fake_reply(CTL_SERVICE_INSTALL, STATUS_INVALID_PARAMETER_);
	assert_int_equal(FilterServiceInstall(w16("svc"), text, sizeof(text) - 1),
			 E_INVALIDARG);
}

static void test_service_install_limits(void **state)
{
	char *big = malloc(0x10000);

	(void)state;
	memset(big, 'x', 0x10000);
	/* NUL bytes cannot travel; nor can 64 KiB. */
	assert_int_equal(FilterServiceInstall(w16("s"), "a\0b", 3),
			 HRESULT_FROM_WIN32(ERROR_INVALID_DATA));
	assert_int_equal(FilterServiceInstall(w16("s"), big, 0x10000),
			 E_INVALIDARG);
	/* Just under a wire string's limit, but over a packet's. */
	assert_int_equal(FilterServiceInstall(w16("s"), big, 0xffff),
			 E_INVALIDARG);
	assert_int_equal(fake_count(), 0);
	fake_reply(CTL_SERVICE_INSTALL, 0);
	assert_int_equal(FilterServiceInstall(w16("s"), big, 60000), S_OK);
	free(big);
}

static void test_service_uninstall(void **state)
{
	struct wire w;

	(void)state;
	fake_reply(CTL_SERVICE_UNINSTALL, 0);
	assert_int_equal(FilterServiceUninstall(w16("svc")), S_OK);
	assert_int_equal(fake_req(0, &w)->op, CTL_SERVICE_UNINSTALL);
	expect_str(&w, "svc");
	expect_end(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_daemon, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_path_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_sends_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unload_sends_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_conversion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments_send_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_name_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attach_device_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attach_at_altitude, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attach_created_name_buffer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attach_collision, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attach_resolves_volume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attach_unknown_volume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attach_resolve_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_detach, setup, teardown),
		cmocka_unit_test_setup_teardown(test_volume_add, setup, teardown),
		cmocka_unit_test_setup_teardown(test_volume_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_service_install, setup, teardown),
		cmocka_unit_test_setup_teardown(test_service_install_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_service_uninstall, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
