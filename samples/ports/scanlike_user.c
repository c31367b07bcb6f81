/*
 * scanlike_user.c - the user-mode half of the scanlike sample: a scanner
 * service that connects to \AltitudeScanPort, judges every open the filter
 * reports by the file's name, and replies; and a command-line client for
 * the filter's commands.  Written against fltUser.h as a Windows program
 * would be, in the manner of the WDK scanner's scanuser.c.
 *
 *   scanlike_user [-t THREADS] [-d SUBSTRING]... [-w MS] [-n COUNT] [-a]
 *       serve: THREADS threads (default 2) each wait in FilterGetMessage
 *       on the one handle; a name containing any SUBSTRING is denied;
 *       -w waits MS before each verdict; -n exits after COUNT verdicts;
 *       -a uses OVERLAPPED FilterGetMessage and events instead.
 *       Prints "ready", then one line per verdict: "allow NAME" or
 *       "deny NAME", and "late NAME" when the filter stopped waiting.
 *   scanlike_user --stats           print the filter's statistics
 *   scanlike_user --timeout MS      set the filter's timeout
 *
 * Exit status: 0 done, 2 usage, 3 the port went away (the filter was
 * unloaded or closed the connection), 1 any other error (its HRESULT is
 * printed).
 */
#include <fltUser.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scanlike.h"

typedef struct _SCANLIKE_MESSAGE {
	FILTER_MESSAGE_HEADER MessageHeader;
	SCANLIKE_NOTIFICATION Notification;
} SCANLIKE_MESSAGE;

/* The WDK scanner's reply: sizeof() includes the padding after Reply,
 * which the filter side ignores (docs/ports.md, "Reply sizes"). */
typedef struct _SCANLIKE_REPLY_MESSAGE {
	FILTER_REPLY_HEADER ReplyHeader;
	SCANLIKE_REPLY Reply;
} SCANLIKE_REPLY_MESSAGE;

static HANDLE port;
static const char *deny[16];
static int ndeny;
static unsigned wait_ms;
static long limit = -1;
static long done;
static int use_async;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void say(const char *fmt, const char *arg)
{
	pthread_mutex_lock(&out_lock);
	printf(fmt, arg);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

static int fail(const char *what, HRESULT hr)
{
	if (hr == HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE)) {
		say("%s: port disconnected\n", what);
		exit(3);
	}
	fprintf(stderr, "scanlike_user: %s: HRESULT 0x%08X\n", what,
		(unsigned)hr);
	exit(1);
}

/* UTF-16 -> UTF-8; unpaired surrogates become U+FFFD. */
static void to_utf8(const WCHAR *in, size_t n, char *out, size_t cap)
{
	size_t i, o = 0;

	for (i = 0; i < n && o + 4 < cap; i++) {
		unsigned c = in[i];

		if (c >= 0xD800 && c <= 0xDBFF && i + 1 < n &&
		    in[i + 1] >= 0xDC00 && in[i + 1] <= 0xDFFF)
			c = 0x10000 + ((c - 0xD800) << 10) + (in[++i] - 0xDC00);
		else if (c >= 0xD800 && c <= 0xDFFF)
			c = 0xFFFD;
		if (c < 0x80) {
			out[o++] = (char)c;
		} else if (c < 0x800) {
			out[o++] = (char)(0xC0 | c >> 6);
			out[o++] = (char)(0x80 | (c & 0x3F));
		} else if (c < 0x10000) {
			out[o++] = (char)(0xE0 | c >> 12);
			out[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
			out[o++] = (char)(0x80 | (c & 0x3F));
		} else {
			out[o++] = (char)(0xF0 | c >> 18);
			out[o++] = (char)(0x80 | ((c >> 12) & 0x3F));
			out[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
			out[o++] = (char)(0x80 | (c & 0x3F));
		}
	}
	out[o] = '\0';
}

static void judge(const SCANLIKE_MESSAGE *msg)
{
	SCANLIKE_REPLY_MESSAGE reply;
	char name[SCANLIKE_NAME_CHARS * 4 + 1];
	BOOLEAN safe = TRUE;
	HRESULT hr;
	int i;

	to_utf8(msg->Notification.Name,
		min(msg->Notification.NameLength / sizeof(WCHAR),
		    (ULONG)SCANLIKE_NAME_CHARS),
		name, sizeof(name));
	for (i = 0; i < ndeny; i++)
		if (strstr(name, deny[i]))
			safe = FALSE;
	if (wait_ms)
		usleep(wait_ms * 1000);
	memset(&reply, 0, sizeof(reply));
	reply.ReplyHeader.Status = 0;
	reply.ReplyHeader.MessageId = msg->MessageHeader.MessageId;
	reply.Reply.SafeToOpen = safe;
	hr = FilterReplyMessage(port, &reply.ReplyHeader, sizeof(reply));
	if (hr == ERROR_FLT_NO_WAITER_FOR_REPLY)
		say("late %s\n", name);
	else if (FAILED(hr))
		fail("FilterReplyMessage", hr);
	else
		say(safe ? "allow %s\n" : "deny %s\n", name);
	if (limit >= 0 && __atomic_add_fetch(&done, 1, __ATOMIC_RELAXED) >= limit)
		exit(0);
}

static void *serve(void *arg)
{
	SCANLIKE_MESSAGE *msg = malloc(sizeof(*msg));
	OVERLAPPED ov = { 0 };
	HRESULT hr;

	(void)arg;
	if (use_async)
		ov.hEvent = CreateEventW(NULL, FALSE, FALSE, NULL);
	for (;;) {
		if (!use_async) {
			hr = FilterGetMessage(port, &msg->MessageHeader,
					      sizeof(*msg), NULL);
		} else {
			DWORD bytes;

			hr = FilterGetMessage(port, &msg->MessageHeader,
					      sizeof(*msg), &ov);
			if (hr != HRESULT_FROM_WIN32(ERROR_IO_PENDING))
				fail("FilterGetMessage", hr);
			WaitForSingleObject(ov.hEvent, INFINITE);
			hr = GetOverlappedResult(port, &ov, &bytes, FALSE)
				     ? S_OK
				     : HRESULT_FROM_WIN32(GetLastError());
		}
		if (FAILED(hr))
			fail("FilterGetMessage", hr);
		judge(msg);
	}
	return NULL;
}

static int command(ULONG code, ULONG value)
{
	SCANLIKE_COMMAND cmd = { code, value };
	SCANLIKE_STATS stats;
	DWORD got = 0;
	HRESULT hr;

	hr = FilterSendMessage(port, &cmd, sizeof(cmd), &stats, sizeof(stats),
			       &got);
	if (FAILED(hr))
		fail("FilterSendMessage", hr);
	if (code == ScanlikeGetStats && got == sizeof(stats))
		printf("scanned %llu denied %llu timedout %llu timeout_ms %u\n",
		       (unsigned long long)stats.Scanned,
		       (unsigned long long)stats.Denied,
		       (unsigned long long)stats.TimedOut,
		       (unsigned)stats.TimeoutMs);
	else if (code == ScanlikeSetTimeout && got == sizeof(ULONG))
		printf("timeout_ms was %u\n", (unsigned)*(ULONG *)&stats);
	else
		return fail("unexpected answer", E_UNEXPECTED);
	CloseHandle(port);
	return 0;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: scanlike_user [-t THREADS] [-d SUBSTRING]... [-w MS] [-n COUNT] [-a]\n"
		"       scanlike_user --stats | --timeout MS\n");
	return 2;
}

int main(int argc, char **argv)
{
	int threads = 2, i;
	pthread_t t;
	HRESULT hr;

	setvbuf(stdout, NULL, _IOLBF, 0);
	hr = FilterConnectCommunicationPort(SCANLIKE_PORT_NAME, 0, NULL, 0, NULL,
					    &port);
	if (FAILED(hr)) {
		if (hr == HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND))
			fprintf(stderr, "scanlike_user: the scanlike filter is not loaded\n");
		fail("FilterConnectCommunicationPort", hr);
	}
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--stats"))
			return command(ScanlikeGetStats, 0);
		if (!strcmp(a, "--timeout") && v)
			return command(ScanlikeSetTimeout, (ULONG)atol(v));
		if (!strcmp(a, "-a")) {
			use_async = 1;
			continue;
		}
		if (!v)
			return usage();
		if (!strcmp(a, "-t"))
			threads = atoi(v);
		else if (!strcmp(a, "-d") && ndeny < 16)
			deny[ndeny++] = v;
		else if (!strcmp(a, "-w"))
			wait_ms = (unsigned)atoi(v);
		else if (!strcmp(a, "-n"))
			limit = atol(v);
		else
			return usage();
		i++;
	}
	if (threads < 1 || threads > 64)
		return usage();
	say("%s\n", "ready");
	for (i = 1; i < threads; i++)
		pthread_create(&t, NULL, serve, NULL);
	serve(NULL);
	return 0;
}
