/*
 * debug.c - the daemon log and DbgPrint on top of it.
 *
 * Every message is formatted into a bounded buffer on the stack (RTL_LOG_MAX
 * bytes; longer ones end in "...", cut on a UTF-8 character boundary), loses
 * its trailing newlines and goes to one sink with a syslog priority.  Nothing
 * allocates, so logging works when memory is short and from any thread.  The
 * default sink writes "priority: message\n" to stderr in one write(2), so
 * lines from concurrent threads do not interleave; the daemon installs a
 * journal sink instead.  Sinks must be thread safe.
 *
 * DbgPrint and DbgPrintEx use the same printf engine as the Rtl string
 * routines, so %wZ works here as in the Windows debugger.  DbgPrint is
 * DPFLTR_INFO_LEVEL; the DPFLTR levels map to LOG_ERR, LOG_WARNING, LOG_INFO
 * (trace and info) and LOG_DEBUG for the custom levels above info.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <wdm.h>

#include "rtl/rtl.h"

static rtl_log_sink_fn log_sink; /* NULL: debug_default_sink */

static const char *debug_priority_name(int priority)
{
	static const char *const names[] = {
		"emerg", "alert", "crit", "err",
		"warning", "notice", "info", "debug",
	};

	return names[LOG_PRI(priority)];
}

static void debug_default_sink(int priority, const char *message)
{
	char line[RTL_LOG_MAX + 16];
	int n;

	n = snprintf(line, sizeof(line) - 1, "%s: %s",
		     debug_priority_name(priority), message);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	/* One message, one line. */
	for (int i = 0; i < n; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[n++] = '\n';
	/* Nothing sensible to do if stderr is gone. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

void rtl_set_log_sink(rtl_log_sink_fn fn)
{
	__atomic_store_n(&log_sink, fn, __ATOMIC_RELEASE);
}

/* Cuts buf (holding a truncated message) so it ends in "...". */
static void debug_mark_truncated(char *buf, size_t cap)
{
	size_t end = cap - 4;

	/* Back up to the start of a UTF-8 character. */
	while (end > 0 && ((unsigned char)buf[end] & 0xC0) == 0x80)
		end--;
	memcpy(buf + end, "...", 4);
}

static void debug_emit(int priority, char *buf, int n)
{
	rtl_log_sink_fn sink = __atomic_load_n(&log_sink, __ATOMIC_ACQUIRE);
	size_t len;

	if (n < 0) {
		snprintf(buf, RTL_LOG_MAX, "(unformattable message)");
	} else if ((size_t)n >= RTL_LOG_MAX) {
		debug_mark_truncated(buf, RTL_LOG_MAX);
	}
	len = strlen(buf);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	(sink ? sink : debug_default_sink)(LOG_PRI(priority), buf);
}

void rtl_vlog(int priority, const char *fmt, va_list ap)
{
	char buf[RTL_LOG_MAX];

	debug_emit(priority, buf, vsnprintf(buf, sizeof(buf), fmt, ap));
}

void rtl_log(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rtl_vlog(priority, fmt, ap);
	va_end(ap);
}

static int debug_level_priority(ULONG level)
{
	/* Levels above 31 are masks; the lowest bit set is the level. */
	if (level > 31)
		level = (ULONG)__builtin_ctz(level);
	switch (level) {
	case DPFLTR_ERROR_LEVEL:
		return LOG_ERR;
	case DPFLTR_WARNING_LEVEL:
		return LOG_WARNING;
	case DPFLTR_TRACE_LEVEL:
	case DPFLTR_INFO_LEVEL:
		return LOG_INFO;
	default:
		return LOG_DEBUG;
	}
}

ULONG vDbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, va_list ap)
{
	char buf[RTL_LOG_MAX];

	(void)ComponentId;
	debug_emit(debug_level_priority(Level), buf,
		   rtl_vformat(buf, sizeof(buf), Format, ap));
	return (ULONG)STATUS_SUCCESS;
}

ULONG DbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, ...)
{
	va_list ap;
	ULONG r;

	va_start(ap, Format);
	r = vDbgPrintEx(ComponentId, Level, Format, ap);
	va_end(ap);
	return r;
}

ULONG DbgPrint(PCSTR Format, ...)
{
	va_list ap;
	ULONG r;

	va_start(ap, Format);
	r = vDbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, Format, ap);
	va_end(ap);
	return r;
}
