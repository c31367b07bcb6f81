/*
 * rtl.h - internal interface of the NT runtime support library.
 *
 * The public face of src/rtl is wdm.h (pool, events, locks, time, DbgPrint,
 * Rtl strings, the Zw registry calls) and the push locks of fltKernel.h.  This
 * header declares what the rest of the daemon needs beyond that: the pool
 * accounting the verifier reads at unload, the daemon log every component
 * writes to, the one NTSTATUS <-> errno conversion, the lossless Linux name
 * codec, the helpers that turn NT time into a timespec, and the calls that
 * seed the in-memory registry.
 *
 * Conventions: functions that report failure inside the daemon return 0 or
 * -errno (or a negative ssize_t); only the Windows entry points return
 * NTSTATUS.  Nothing here is exported from a shared object.
 */
#ifndef ALTITUDE_RTL_H
#define ALTITUDE_RTL_H

#include <ntdef.h>
#include <ntstatus.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <syslog.h>
#include <time.h>

/*
 * Success codes Windows returns that ntstatus.h does not list; rtl returns
 * them where Windows does, so they get a name here.
 */
#ifndef STATUS_SOME_NOT_MAPPED
#define STATUS_SOME_NOT_MAPPED ((NTSTATUS)0x00000107L)
#endif

/*
 * A pool tag as the compiler spells 'abcd' (first character in the most
 * significant byte), without the -Wmultichar warning a literal draws.
 */
#define RTL_POOL_TAG(a, b, c, d)                                      \
	((ULONG)(((ULONG)(UCHAR)(a) << 24) | ((ULONG)(UCHAR)(b) << 16) | \
		 ((ULONG)(UCHAR)(c) << 8) | (ULONG)(UCHAR)(d)))

/* Tag of the buffers the Rtl string routines allocate ('RtlS'). */
#define RTL_STRING_TAG RTL_POOL_TAG('R', 't', 'l', 'S')
/* Tag ExAllocatePool (which takes none) charges, as Windows does ('None'). */
#define RTL_UNTAGGED_TAG RTL_POOL_TAG('N', 'o', 'n', 'e')

/* ---- pool.c --------------------------------------------------------- */

/* Outstanding allocations under tag; *bytes_out (optional) gets their size. */
size_t rtl_pool_outstanding(ULONG tag, size_t *bytes_out);
/* Calls fn for every tag with allocations outstanding, under no lock. */
void rtl_pool_foreach_outstanding(void (*fn)(ULONG tag, size_t count,
					     size_t bytes, void *arg),
				  void *arg);
/* Writes the tag as poolmon shows it (low byte first) into out[5]. */
void rtl_pool_tag_string(ULONG tag, char out[5]);

/* ---- debug.c -------------------------------------------------------- */

/* A sink receives one message (no trailing newline); it must be thread safe. */
typedef void (*rtl_log_sink_fn)(int priority, const char *message);
/* NULL restores the default sink (stderr, "priority: message\n"). */
void rtl_set_log_sink(rtl_log_sink_fn fn);
/* Priorities are syslog's (LOG_ERR ...); messages over RTL_LOG_MAX end "...". */
void rtl_log(int priority, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void rtl_vlog(int priority, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
#define RTL_LOG_MAX 1024

/* ---- strings.c ------------------------------------------------------ */

/*
 * The printf engine behind RtlUnicodeStringPrintf, RtlStringCbPrintfA and
 * DbgPrint: printf's conversions plus %wZ (PCUNICODE_STRING), %Z
 * (PCANSI_STRING), %ws/%ls/%S (PCWSTR) and %wc/%lc/%C (WCHAR), the wide ones
 * written as UTF-8.  Writes at most cap bytes including the NUL (cap may be
 * 0) and returns the length the whole output needs, or -1 for a format it
 * refuses (%n, an unknown conversion).
 */
int rtl_vformat(char *buf, size_t cap, const char *fmt, va_list ap);

/*
 * Decodes one strict UTF-8 sequence (no overlongs, no surrogates, nothing
 * above U+10FFFF) at s[0..n).  Returns its length 1..4 and stores the code
 * point, or 0 if s does not start with a valid sequence.
 */
size_t rtl_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);
/* Encodes cp (not a surrogate, <= U+10FFFF) into out; returns 1..4. */
size_t rtl_utf8_encode(uint32_t cp, unsigned char out[4]);

/* ---- status.c ------------------------------------------------------- */

/* 0 for success codes; the errno an error or warning stands for, else EIO. */
int rtl_status_to_errno(NTSTATUS status);
/* err > 0 (a negative value is taken as -err); 0 gives STATUS_SUCCESS. */
NTSTATUS rtl_errno_to_status(int err);
/* "STATUS_ACCESS_DENIED"; unknown codes as "0x%08X" in a thread-local buffer. */
const char *rtl_status_name(NTSTATUS status);

/* ---- time.c --------------------------------------------------------- */

/* Unix <-> NT time (100 ns since 1601-01-01 UTC); see time.c on rounding. */
LONGLONG rtl_timespec_to_nt(const struct timespec *ts);
void rtl_nt_to_timespec(LONGLONG nt, struct timespec *ts);
/* Seconds between 1601-01-01 and 1970-01-01. */
#define RTL_NT_EPOCH_DELTA_SECS 11644473600LL
/* *ts = now + ms on CLOCK_REALTIME (pthread_cond_timedwait's clock). */
void rtl_deadline_ms(struct timespec *ts, long ms);
/* getpid() and gettid(), asked of the kernel once (per thread). */
pid_t rtl_getpid(void);
pid_t rtl_gettid(void);

/* ---- sync.c --------------------------------------------------------- */

/* Starts fn(arg) on a detached thread that leaves the termination
 * signals (TERM, INT, HUP, QUIT) to the daemon's own threads; 0 or an
 * errno value. */
int rtl_thread_start(void *(*fn)(void *), void *arg);

/* ---- namecodec.c (docs/names.md) ------------------------------------ */

/*
 * One name component, bytes -> UTF-16.  Returns WCHARs written, -EINVAL for a
 * NUL or '/' in name, -ENAMETOOLONG if out cannot hold it.  out may be NULL
 * with cap 0 to measure.
 */
ssize_t rtl_name_to_utf16(const char *name, size_t len, WCHAR *out,
			  size_t out_cap_wchars);
/*
 * UTF-16 -> bytes, NUL-terminated.  Returns bytes written without the NUL,
 * -EINVAL for U+0000, '/', or a lone surrogate outside U+DC80..U+DCFF, and
 * -ENAMETOOLONG if out (NUL included) is too small.
 */
ssize_t rtl_name_from_utf16(const WCHAR *in, size_t n_wchars, char *out,
			    size_t out_cap);
/* The same for whole paths, '/' <-> '\' between components. */
ssize_t rtl_path_to_utf16(const char *path, size_t len, WCHAR *out,
			  size_t cap);
ssize_t rtl_path_from_utf16(const WCHAR *in, size_t n, char *out, size_t cap);

/* ---- registry.c ----------------------------------------------------- */

/*
 * key_path is UTF-8 with backslashes, absolute ("\\Registry\\Machine\\...");
 * missing keys are created.  value_name NULL or "" is the default value.
 * All return 0 or -errno (-EINVAL bad path, -ENOMEM, -ENAMETOOLONG).
 */
int rtl_registry_set_value(const char *key_path, const char *value_name,
			   ULONG type, const void *data, ULONG len);
int rtl_registry_set_string(const char *key_path, const char *name,
			    const char *utf8);
int rtl_registry_set_dword(const char *key_path, const char *name, ULONG v);
int rtl_registry_set_multi_sz(const char *key_path, const char *name,
			      const char *const *strings, size_t n);
/* Removes the key and everything under it; -ENOENT if it does not exist. */
int rtl_registry_delete_key(const char *key_path);
/* Removes every key; open handles stay valid until ZwClose. */
void rtl_registry_clear(void);

#endif /* ALTITUDE_RTL_H */
