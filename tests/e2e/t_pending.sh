#!/bin/bash
# t_pending: pended operations.  The pendfilter test filter pends creates
# (FLT_PREOP_PENDING): completed later from a worker thread; 1,000 pending
# at once in a cancel-safe queue while the volume serves others, holding no
# daemon thread; a program
# interrupted by a signal gets EINTR (the queue cancels the operation); a
# denied verdict gives EACCES; a post-operation hold
# (FLT_POSTOP_MORE_PROCESSING_REQUIRED); and detaching the filter with
# operations pending lets them through.
. "$(dirname "$0")/lib.sh"

PEND=$BUILD/tests/filters/pendfilter.so
PLOG=$T/pend.log
# fltmc talks to this test's daemon only.
mkdir -m 755 "$T/run"
export ALTITUDE_RUNTIME_DIR=$T/run

for i in $(seq 1000); do : >"$VOL/q-$i"; done
for i in $(seq 10); do : >"$VOL/slow-p$i"; done
: >"$VOL/slow-1"; : >"$VOL/defer-1"; : >"$VOL/held-1"; : >"$VOL/safe-1"; : >"$VOL/other"
echo data >"$VOL/q-sig"

# ---- Delayed completion from a worker thread ------------------------------------

start_daemon --runtime-dir "$T/run" -f "$PEND@370100=pend" -p pend.Match=slow- -p pend.PostMatch=held- \
	-p pend.SafeMatch=safe- -p pend.DeferredMatch=defer- -p pend.DelayMs=dword:400 \
	-p pend.LogFile="$PLOG"
t0=$(date +%s%N)
check "an open pended for 400 ms succeeds" cat "$VOL/slow-1"
ms=$((($(date +%s%N) - t0) / 1000000))
check "... and took at least the delay (${ms} ms)" test "$ms" -ge 380
check_match "the filter pended it and completed it from its worker" \
	'^completed slow-1 allow$' "$(cat "$PLOG")"
t0=$(date +%s%N)
check "an open pended with a deferred I/O work item succeeds" cat "$VOL/defer-1"
ms=$((($(date +%s%N) - t0) / 1000000))
check "... after the work item's delay (${ms} ms)" test "$ms" -ge 380
check_match "FltQueueDeferredIoWorkItem queued it" '^deferred defer-1$' "$(cat "$PLOG")"
check_match "... and its routine completed it" '^completed defer-1 allow$' "$(cat "$PLOG")"
t0=$(date +%s%N)
check "an open held in post-create for 400 ms succeeds" cat "$VOL/held-1"
ms=$((($(date +%s%N) - t0) / 1000000))
check "... after the hold (${ms} ms)" test "$ms" -ge 380
check_match "FltCompletePendedPostOperation released it" '^post-released held-1$' "$(cat "$PLOG")"
check "FltDoCompletionProcessingWhenSafe runs the safe callback" cat "$VOL/safe-1"
check_match "... which logged" '^safe safe-1$' "$(cat "$PLOG")"
# Ten pended at once (opens of existing files: creates in one directory
# are serialised by the kernel's directory lock), completed by concurrent
# workers: the delays overlap.
t0=$(date +%s%N)
ps=()
for i in $(seq 10); do cat "$VOL/slow-p$i" & ps+=($!); done
wait "${ps[@]}"
ms=$((($(date +%s%N) - t0) / 1000000))
check "ten concurrent pended opens overlap (${ms} ms; one after another: 4000)" test "$ms" -lt 3000
stop_daemon

# ---- 1,000 pending at once; cancellation; release -------------------------------

: >"$PLOG"
start_daemon --runtime-dir "$T/run" -f "$PEND@370100=pend" -p pend.Match=q- -p pend.Release=release \
	-p pend.LogFile="$PLOG"
pids=()
for i in $(seq 1000); do
	cat "$VOL/q-$i" >/dev/null 2>"$T/cat-$i.err" &
	pids+=($!)
done
wait_for 180 bash -c "[ \$(grep -c '^pended q-' '$PLOG') -ge 1000 ]"
check_eq "1,000 opens are pending at once" 1000 "$(grep -c '^pended q-' "$PLOG")"
# A pended operation holds no daemon thread: its fiber is parked.
threads=$(awk '/^Threads:/ { print $2 }' "/proc/$DAEMON_PID/status")
check "the 1,000 pending opens hold no daemon threads ($threads threads in all)" \
	test "$threads" -lt 100
check "meanwhile the volume serves others: stat" stat "$VOL/other"
check "... ls" ls "$VOL/q-999"
check "... a write" bash -c "echo x >'$VOL/other'"
alive=0
for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
check_eq "all 1,000 programs are still waiting" 1000 "$alive"

# A program interrupted by a signal while its open is pended gets EINTR.
res=$(py '
import ctypes, os, signal, time
libc = ctypes.CDLL(None, use_errno=True)
signal.signal(signal.SIGALRM, lambda *a: None)
signal.siginterrupt(signal.SIGALRM, True)
signal.setitimer(signal.ITIMER_REAL, 0.5)
t = time.time()
fd = libc.open(A[0].encode(), os.O_RDONLY)
e = ctypes.get_errno()
print("fd" if fd >= 0 else os.strerror(e), round(time.time() - t, 1))
' "$VOL/q-sig")
check_match "an interrupted pended open fails with EINTR soon after the signal ($res)" \
	'^Interrupted system call (0\.[5-9]|1\.[0-9])$' "$res"
check_match "the cancel-safe queue canceled it (FltIsIoCanceled true)" '^canceled q-sig$' "$(cat "$PLOG")"

: >"$VOL/release-now"
# Stragglers pended after the release (a slow machine) are let go too.
for r in 1 2 3 4 5; do
	left=0
	for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && left=$((left + 1)); done
	((left == 0)) && break
	sleep 1
	: >"$VOL/release-again-$r"
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
check_eq "releasing the queue completes all 1,000 opens successfully" 0 "$failed"
check_match "the filter released 1,000" '^released 1000$' "$(cat "$PLOG")"
stop_daemon

# ---- Deny verdict; detach with operations pending ----------------------------------

: >"$PLOG"
start_daemon --runtime-dir "$T/run" -f "$PEND@370100=pend" -p pend.Match=q- -p pend.Release=release \
	-p pend.Verdict=deny -p pend.LogFile="$PLOG"
res=$(py '
import os
try:
    os.open(A[0], os.O_RDONLY); print("opened")
except OSError as e:
    print(os.strerror(e.errno))
' "$VOL/q-1" &
sleep 0.5; : >"$VOL/release-1"; wait $!)
check_eq "a pended open completed FLT_PREOP_COMPLETE/STATUS_ACCESS_DENIED fails EACCES" \
	"Permission denied" "$res"
ps=()
for i in 1 2 3; do cat "$VOL/q-$i" >/dev/null 2>"$T/det-$i.err" & ps+=($!); done
wait_for 10 bash -c "[ \$(grep -c '^pended q-' '$PLOG') -ge 4 ]"
check "fltmc detach while three opens are pended" "$BUILD/src/fltmc/fltmc" detach pend "$VOL"
wait "${ps[@]}"
check_match "teardown let the three through (denied: the verdict)" '^teardown 3$' "$(cat "$PLOG")"
check "the volume works after the detach" cat "$VOL/q-5"
check_eq "... and each of them got the verdict, EACCES" 3 \
	"$(cat "$T"/det-*.err | grep -c 'Permission denied')"
check "the volume works after the detach" cat "$VOL/q-5"

# Unloading the filter with operations pending: its teardown completes
# them before the filter goes (allowed this time).
: >"$PLOG"
check "fltmc attach pend again" "$BUILD/src/fltmc/fltmc" attach pend "$VOL"
ps=()
for i in 6 7; do cat "$VOL/q-$i" >/dev/null 2>"$T/unl-$i.err" & ps+=($!); done
wait_for 10 bash -c "[ \$(grep -c '^pended q-' '$PLOG') -ge 2 ]"
check "fltmc unload while two opens are pended" "$BUILD/src/fltmc/fltmc" unload pend
wait "${ps[@]}"
check_match "the unload's teardown completed both" '^teardown 2$' "$(cat "$PLOG")"
check_match "the daemon logged the unload" 'filter pend: unloaded' "$(cat "$LOG")"
check "the volume works without the filter" cat "$VOL/q-8"
stop_daemon
