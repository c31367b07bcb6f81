/*
 * test_rtl_debug.c - the daemon log, its default sink, and DbgPrint.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <cmocka.h>
#include <wdm.h>

#include "rtl/rtl.h"

static pthread_mutex_t cap_lock = PTHREAD_MUTEX_INITIALIZER;
static int cap_count, cap_priority;
static char cap_msg[RTL_LOG_MAX * 2];

static void capture_sink(int priority, const char *message)
{
	pthread_mutex_lock(&cap_lock);
	cap_count++;
	cap_priority = priority;
	snprintf(cap_msg, sizeof(cap_msg), "%s", message);
	pthread_mutex_unlock(&cap_lock);
}

static int setup(void **state)
{
	(void)state;
	cap_count = 0;
	cap_priority = -1;
	cap_msg[0] = '\0';
	rtl_set_log_sink(capture_sink);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rtl_set_log_sink(NULL);
	return 0;
}

/* vDbgPrintEx without the printf attribute, so %wZ compiles cleanly. */
static ULONG dbg(ULONG level, const char *fmt, ...)
{
	va_list ap;
	ULONG r;

	va_start(ap, fmt);
	r = vDbgPrintEx(DPFLTR_IHVDRIVER_ID, level, fmt, ap);
	va_end(ap);
	return r;
}

static void test_dbgprint(void **state)
{
	UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\dir\\caf\x00E9");

	(void)state;
	assert_int_equal(DbgPrint("hello %d\n", 5), 0);
	assert_int_equal(cap_count, 1);
	assert_int_equal(cap_priority, LOG_INFO);
	assert_string_equal(cap_msg, "hello 5");

	dbg(DPFLTR_INFO_LEVEL, "name=%wZ ws=%ws\r\n", &name, L"w");
	assert_string_equal(cap_msg, "name=\\dir\\caf\xC3\xA9 ws=w");

	DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_ERROR_LEVEL, "e");
	assert_int_equal(cap_priority, LOG_ERR);
	DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_WARNING_LEVEL, "w");
	assert_int_equal(cap_priority, LOG_WARNING);
	DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_TRACE_LEVEL, "t");
	assert_int_equal(cap_priority, LOG_INFO);
	DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, "i");
	assert_int_equal(cap_priority, LOG_INFO);
	DbgPrintEx(DPFLTR_IHVDRIVER_ID, 7, "custom");
	assert_int_equal(cap_priority, LOG_DEBUG);
	DbgPrintEx(DPFLTR_IHVDRIVER_ID, 0x21, "mask with bit 0");
	assert_int_equal(cap_priority, LOG_ERR);
	DbgPrintEx(DPFLTR_IHVDRIVER_ID, 0x40, "mask with bit 6");
	assert_int_equal(cap_priority, LOG_DEBUG);
	assert_int_equal(cap_count, 9);

	/* A format the engine refuses is still reported, not dropped. */
	dbg(DPFLTR_ERROR_LEVEL, "bad %y");
	assert_int_equal(cap_count, 10);
	assert_string_equal(cap_msg, "(unformattable message)");
}

static void test_truncation(void **state)
{
	char big[3000];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	rtl_log(LOG_WARNING, "%s", big);
	assert_int_equal(cap_priority, LOG_WARNING);
	assert_int_equal(strlen(cap_msg), RTL_LOG_MAX - 1);
	assert_string_equal(cap_msg + RTL_LOG_MAX - 4, "...");
	assert_int_equal(cap_msg[RTL_LOG_MAX - 5], 'x');

	/* Two-byte characters are not cut in half. */
	for (size_t i = 0; i + 2 < sizeof(big); i += 2)
		memcpy(big + i, "\xC3\xA9", 2);
	big[sizeof(big) - 2] = '\0';
	DbgPrint("a%s", big); /* the cut falls inside a character */
	size_t n = strlen(cap_msg);
	assert_int_equal(n, RTL_LOG_MAX - 2);
	assert_string_equal(cap_msg + n - 3, "...");
	assert_int_equal((unsigned char)cap_msg[n - 5], 0xC3);
	assert_int_equal((unsigned char)cap_msg[n - 4], 0xA9);

	/* Exactly at the limit: no marker. */
	memset(big, 'y', RTL_LOG_MAX - 1);
	big[RTL_LOG_MAX - 1] = '\0';
	rtl_log(LOG_INFO, "%s", big);
	assert_int_equal(strlen(cap_msg), RTL_LOG_MAX - 1);
	assert_int_equal(cap_msg[RTL_LOG_MAX - 2], 'y');
}

static void *log_worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < 1000; i++)
		rtl_log(LOG_DEBUG, "thread message %d", i);
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t t[4];

	(void)state;
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, log_worker, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(cap_count, 4000);
}

static void test_default_sink(void **state)
{
	char path[] = "/tmp/test_rtl_debug.XXXXXX";
	char out[256];
	int fd = mkstemp(path), saved;
	ssize_t n;

	(void)state;
	assert_true(fd >= 0);
	unlink(path);
	rtl_set_log_sink(NULL);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	rtl_log(LOG_ERR, "first %s", "line\n");
	DbgPrint("two\nlines\n");
	rtl_log(LOG_DEBUG, "last");
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, out, sizeof(out) - 1, 0);
	close(fd);
	assert_true(n > 0);
	out[n] = '\0';
	assert_string_equal(out, "err: first line\ninfo: two lines\n"
				 "debug: last\n");
	assert_int_equal(cap_count, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dbgprint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncation, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_default_sink, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
