/*
 * ports_bench.c - cost of a communication-port round trip, next to a raw
 * socket ping-pong measured in the same run on the same machine.
 *
 * The daemon side of ports runs in this process (as in the unit tests) on
 * a private runtime directory, with a filter object made as the loader
 * makes one; the program side is libfltlib over the real sockets.
 *
 *   raw       two threads, socketpair(SOCK_SEQPACKET), 64-byte ping,
 *             24-byte pong: the floor any design over sockets pays
 *   rtt       one filter thread: FltSendMessage(64 bytes, reply buffer,
 *             no timeout) -> FilterGetMessage -> FilterReplyMessage (the
 *             scanner's padded 24-byte reply) -> FltSendMessage returns
 *   rtt-ack   the same with a 500 ms timeout: within PT_ACK_WINDOW_NS,
 *             so every reply waits for the daemon's acknowledgement
 *   send      FilterSendMessage -> MessageNotify -> back (program -> filter)
 *   msgs/s    4 filter threads sending, 1 or 4 program threads answering
 *
 * Usage: ports_bench [-n ROUNDS] [-r REPEATS] [-1]   (defaults 50000, 3)
 * -1 pins every thread (the daemon's too: they inherit it) to one CPU, which
 * measures the software path without cross-CPU wake-ups; without it the
 * scheduler places threads freely.  Prints a Markdown table; each figure is
 * the median of the repeats.
 */
#include <fltKernel.h>
#include <fltUser.h>

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "fltmgr/fm.h"
#include "ports/ports.h"
#include "rtl/rtl.h"

#define MSG_SIZE 64

static struct fm_filter *filter;
static PFLT_PORT server, client;
static HANDLE port;
static long rounds = 50000;

static double now_s(void)
{
	return bench_now_ns() / 1e9;
}

/* ---- Raw ping-pong ----------------------------------------------------------------- */

static int sv[2];

static void *raw_echo(void *arg)
{
	char buf[256];
	long i;

	(void)arg;
	for (i = 0; i < rounds; i++) {
		if (recv(sv[1], buf, sizeof(buf), 0) <= 0 ||
		    send(sv[1], buf, 24, 0) != 24)
			break;
	}
	return NULL;
}

static double bench_raw(void)
{
	char buf[256] = { 0 };
	pthread_t t;
	double t0, dt;
	long i;

	socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
	pthread_create(&t, NULL, raw_echo, NULL);
	t0 = now_s();
	for (i = 0; i < rounds; i++) {
		send(sv[0], buf, MSG_SIZE, 0);
		recv(sv[0], buf, sizeof(buf), 0);
	}
	dt = now_s() - t0;
	pthread_join(t, NULL);
	close(sv[0]);
	close(sv[1]);
	return dt / rounds * 1e6;
}

/* ---- The filter side ----------------------------------------------------------------- */

static NTSTATUS FLTAPI on_connect(PFLT_PORT ClientPort, PVOID Cookie,
				  PVOID Ctx, ULONG CtxLen, PVOID *ConnCookie)
{
	(void)Cookie;
	(void)Ctx;
	(void)CtxLen;
	(void)ConnCookie;
	__atomic_store_n(&client, ClientPort, __ATOMIC_RELEASE);
	return STATUS_SUCCESS;
}

static VOID FLTAPI on_disconnect(PVOID ConnCookie)
{
	(void)ConnCookie;
	FltCloseClientPort((PFLT_FILTER)filter, &client);
}

static NTSTATUS FLTAPI on_message(PVOID Cookie, PVOID In, ULONG InLen,
				  PVOID Out, ULONG OutLen, PULONG Ret)
{
	(void)Cookie;
	*Ret = InLen < OutLen ? InLen : OutLen;
	memcpy(Out, In, *Ret);
	return STATUS_SUCCESS;
}

struct sender {
	long n;
	LONGLONG timeout; /* 0: none */
	long bad;
};

static void *filter_sender(void *arg)
{
	struct sender *s = arg;
	char msg[MSG_SIZE] = "scan \\dir\\file.txt";
	LARGE_INTEGER t = { .QuadPart = s->timeout };
	long i;

	for (i = 0; i < s->n; i++) {
		BOOLEAN safe = 0;
		ULONG len = sizeof(safe);

		if (FltSendMessage((PFLT_FILTER)filter, &client, msg, sizeof(msg),
				   &safe, &len, s->timeout ? &t : NULL) !=
			    STATUS_SUCCESS ||
		    !safe)
			s->bad++;
	}
	return NULL;
}

/* ---- The program side ------------------------------------------------------------------ */

/* Each exchange releases its answerers with one message apiece carrying its
 * generation; one left over from an earlier exchange is ignored. */
static volatile int generation;

static void *program_answerer(void *arg)
{
	struct {
		FILTER_MESSAGE_HEADER h;
		char body[MSG_SIZE];
	} m;
	struct {
		FILTER_REPLY_HEADER h;
		BOOLEAN safe;
	} r;

	(void)arg;
	for (;;) {
		if (FilterGetMessage(port, &m.h, sizeof(m), NULL) != S_OK)
			break;
		if (!m.h.ReplyLength) {
			if (m.body[0] == (char)generation)
				break;
			continue;
		}
		memset(&r, 0, sizeof(r));
		r.h.MessageId = m.h.MessageId;
		r.safe = 1;
		if (FilterReplyMessage(port, &r.h, sizeof(r)) != S_OK)
			break;
	}
	return NULL;
}

/* n filter threads send rounds messages in all; `answerers` threads reply.
 * Returns the wall time. */
static double run_exchange(int senders, int answerers, LONGLONG timeout)
{
	pthread_t s[16], a[16];
	struct sender sa[16];
	double t0, dt;
	int i;

	generation++;
	for (i = 0; i < answerers; i++)
		pthread_create(&a[i], NULL, program_answerer, NULL);
	t0 = now_s();
	for (i = 0; i < senders; i++) {
		sa[i] = (struct sender){ rounds / senders, timeout, 0 };
		pthread_create(&s[i], NULL, filter_sender, &sa[i]);
	}
	for (i = 0; i < senders; i++) {
		pthread_join(s[i], NULL);
		if (sa[i].bad)
			fprintf(stderr, "ports_bench: %ld bad round trips\n",
				sa[i].bad);
	}
	dt = now_s() - t0;
	/* Release the answerers: one message each, no reply expected. */
	for (i = 0; i < answerers; i++) {
		char g = (char)generation;

		FltSendMessage((PFLT_FILTER)filter, &client, &g, 1, NULL, NULL,
			       NULL);
	}
	for (i = 0; i < answerers; i++)
		pthread_join(a[i], NULL);
	return dt;
}

static double bench_send_message(void)
{
	char in[MSG_SIZE] = "E", out[MSG_SIZE];
	DWORD got;
	double t0;
	long i;

	t0 = now_s();
	for (i = 0; i < rounds; i++)
		FilterSendMessage(port, in, sizeof(in), out, sizeof(out), &got);
	return (now_s() - t0) / rounds * 1e6;
}

static void quiet(int priority, const char *message)
{
	if (priority <= LOG_WARNING)
		fprintf(stderr, "%s\n", message);
}

int main(int argc, char **argv)
{
	UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\AltitudeBenchPort");
	char dir[] = "/tmp/altitude-bench.XXXXXX", path[64];
	double raw[9], rtt[9], rtt_ack[9], snd[9], tp1[9], tp4[9];
	PSECURITY_DESCRIPTOR sd;
	OBJECT_ATTRIBUTES oa;
	int repeats = 3, r, opt, pinned = 0;

	while ((opt = getopt(argc, argv, "n:r:1")) != -1) {
		if (opt == '1') {
			cpu_set_t one;

			CPU_ZERO(&one);
			CPU_SET(0, &one);
			if (sched_setaffinity(0, sizeof(one), &one) < 0)
				return 1;
			pinned = 1;
		} else if (opt == 'n')
			rounds = atol(optarg);
		else if (opt == 'r')
			repeats = atoi(optarg);
		else
			return 2;
	}
	if (rounds < 100 || repeats < 1 || repeats > 9)
		return 2;
	rtl_set_log_sink(quiet);
	if (!mkdtemp(dir) || chmod(dir, 0755) < 0 || ports_start(dir) < 0)
		return 1;
	setenv("ALTITUDE_RUNTIME_DIR", dir, 1);
	filter = fm_filter_alloc("bench", "1");
	FltBuildDefaultSecurityDescriptor(&sd, FLT_PORT_ALL_ACCESS);
	FltSetSecurityDescriptorLxAccess(sd, (LONG)getuid(), FLT_LX_NO_ID,
					 FLT_PORT_CONNECT);
	InitializeObjectAttributes(&oa, &name, OBJ_KERNEL_HANDLE, NULL, sd);
	if (FltCreateCommunicationPort((PFLT_FILTER)filter, &server, &oa, NULL,
				       on_connect, on_disconnect, on_message,
				       1) != STATUS_SUCCESS ||
	    FilterConnectCommunicationPort(L"\\AltitudeBenchPort", 0, NULL, 0,
					   NULL, &port) != S_OK) {
		fprintf(stderr, "ports_bench: cannot set up the port\n");
		return 1;
	}
	FltFreeSecurityDescriptor(sd);

	for (r = 0; r < repeats; r++) {
		raw[r] = bench_raw();
		rtt[r] = run_exchange(1, 1, 0) / rounds * 1e6;
		rtt_ack[r] = run_exchange(1, 1, -5000000LL) / rounds * 1e6;
		snd[r] = bench_send_message();
		tp1[r] = rounds / run_exchange(4, 1, 0);
		tp4[r] = rounds / run_exchange(4, 4, 0);
	}

	printf("| measure (%s; median of %d runs of %ld) | value | vs raw |\n",
	       pinned ? "all threads on one CPU" : "threads placed freely",
	       repeats, rounds);
	printf("|---|---|---|\n");
	printf("| raw socketpair ping-pong, 64 B / 24 B | %.2f us | 1.00x |\n",
	       bench_median(raw, repeats));
	printf("| FltSendMessage -> FilterGetMessage -> FilterReplyMessage -> return, no timeout | %.2f us | %.2fx |\n",
	       bench_median(rtt, repeats), bench_median(rtt, repeats) / bench_median(raw, repeats));
	printf("| the same, 500 ms timeout (acknowledged replies) | %.2f us | %.2fx |\n",
	       bench_median(rtt_ack, repeats),
	       bench_median(rtt_ack, repeats) / bench_median(raw, repeats));
	printf("| FilterSendMessage -> MessageNotify -> return | %.2f us | %.2fx |\n",
	       bench_median(snd, repeats), bench_median(snd, repeats) / bench_median(raw, repeats));
	printf("| messages/s, 4 filter threads, 1 program thread | %.0f | |\n",
	       bench_median(tp1, repeats));
	printf("| messages/s, 4 filter threads, 4 program threads | %.0f | |\n",
	       bench_median(tp4, repeats));

	CloseHandle(port);
	FltCloseCommunicationPort(server);
	ports_filter_unloading(filter);
	ports_stop();
	fm_filter_free(filter);
	snprintf(path, sizeof(path), "%s/ports", dir);
	unlink(path);
	rmdir(dir);
	return 0;
}
