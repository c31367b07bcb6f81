#!/bin/bash
# t_ports: communication ports end to end, with the scanlike sample pair
# (samples/ports): a filter that asks a user-mode scanner about every open
# and denies what it refuses, and answers the program's commands.
#
# Covers: the ports socket, request/reply both ways (FltSendMessage ->
# FilterGetMessage -> FilterReplyMessage with the scanner's padded reply;
# FilterSendMessage -> MessageNotify), the port's security descriptor
# against other uids and groups, MaxConnections, several scanner threads on
# one handle under parallel opens, OVERLAPPED FilterGetMessage, a scanner
# that dies, one that answers after the filter's timeout
# (ERROR_FLT_NO_WAITER_FOR_REPLY), and an unload while the scanner waits.
. "$(dirname "$0")/lib.sh"

SAMPLES=$BUILD/samples/ports
FLTMC=$BUILD/src/fltmc/fltmc
RUN=$T/run
mkdir -m 755 "$RUN" "$T/bin"
export ALTITUDE_RUNTIME_DIR=$RUN
# Other uids run the program too; the build tree may not be theirs to read.
cp "$SAMPLES/scanlike_user" "$T/bin/" || bail "copy scanlike_user"
cp -L "$BUILD/src/fltlib/libfltlib.so.0" "$T/bin/" || bail "copy libfltlib"
SCAN=(env LD_LIBRARY_PATH="$T/bin" ALTITUDE_RUNTIME_DIR="$RUN" "$T/bin/scanlike_user")
SCANNER=

# scan ARG...: run the program once; OUT gets its output, RC its status.
# A program that just went away holds its connection (MaxConnections 1)
# until its DisconnectNotify has returned: meanwhile the daemon answers
# 0x800704D6, and scan tries again for up to 10 s.
scan() {
	local deadline=$((SECONDS + 10))
	while :; do
		OUT=$("${SCAN[@]}" "$@" 2>&1)
		RC=$?
		[[ $RC == 1 && $OUT == *"HRESULT 0x800704D6"* && $SECONDS -lt $deadline ]] ||
			break
		sleep 0.1
	done
}

# scan_once ARG...: the same, without waiting for a free connection.
scan_once() {
	OUT=$("${SCAN[@]}" "$@" 2>&1)
	RC=$?
}

# start_scanner ARG...: the scanner in the background, output in
# $T/scan.out; waits until it is connected.
start_scanner() {
	local try
	for try in $(seq 1 50); do
		: >"$T/scan.out"
		"${SCAN[@]}" "$@" >"$T/scan.out" 2>&1 &
		SCANNER=$!
		wait_for 10 grep -q -e '^ready$' -e 'HRESULT' "$T/scan.out"
		grep -q '^ready$' "$T/scan.out" && return 0
		wait "$SCANNER" 2>/dev/null
		grep -q 'HRESULT 0x800704D6' "$T/scan.out" || break
		sleep 0.2
	done
	bail "scanner $* did not connect" "$(cat "$T/scan.out")"
}

stop_scanner() {
	[[ -n $SCANNER ]] || return 0
	kill -KILL "$SCANNER" 2>/dev/null
	wait "$SCANNER" 2>/dev/null
	SCANNER=
}

scanned_line() { # PATTERN: the scanner printed a line matching PATTERN
	grep -Eq -- "$1" "$T/scan.out"
}

start_daemon -f "$SAMPLES/scanlike_filter.so@385100=scanlike" \
	-p scanlike.TimeoutMs=dword:4000 -p scanlike.AllowGid=dword:4242 \
	--runtime-dir "$RUN"

check_eq "the ports socket is a socket, mode 666" "socket 666" \
	"$(stat -c '%F %a' "$RUN/ports" 2>&1)"

# ---- No program connected: nothing is scanned ----------------------------------
check "no scanner: virus.txt can be created" sh -c "echo x >'$VOL/virus.txt'"

# ---- Program -> filter: commands -------------------------------------------------
scan --stats
check_eq "--stats: FilterSendMessage -> MessageNotify answers" \
	"scanned 0 denied 0 timedout 0 timeout_ms 4000" "$OUT"
scan --timeout 3000
check_eq "--timeout: the filter answers with the old value" "timeout_ms was 4000" "$OUT"

# ---- Who may connect ------------------------------------------------------------------
OUT=$(as_user 4001 4001 "${SCAN[@]}" --stats 2>&1)
RC=$?
check_eq "uid 4001 outside group 4242 is refused" 1 "$RC"
check_match "... with E_ACCESSDENIED" "HRESULT 0x80070005" "$OUT"
OUT=$(as_user 4001 4001,4242 "${SCAN[@]}" --stats 2>&1)
check_match "uid 4001 in group 4242 (AllowGid) may connect" \
	"^scanned 0 denied 0 timedout 0 timeout_ms 3000$" "$OUT"
OUT=$(as_user 4001 4242 "${SCAN[@]}" --stats 2>&1)
check_match "... so may one whose primary group it is" "^scanned 0 " "$OUT"

# ---- Filter -> program: a scanner judging opens -------------------------------------
start_scanner -t 4 -d virus
check "with the scanner: clean.txt can be created" sh -c "echo hi >'$VOL/clean.txt'"
check_eq "virus2.txt is refused with EACCES" EACCES \
	"$(py 'open(A[0], "w")' "$VOL/virus2.txt")"
check_fails "... and was not created" test -e "$VOL/virus2.txt"
check_eq "the existing virus.txt cannot be opened now" EACCES \
	"$(py 'open(A[0])' "$VOL/virus.txt")"
check "clean.txt reads back" test "$(cat "$VOL/clean.txt")" = hi
check "the scanner allowed \\clean.txt" scanned_line '^allow \\clean\.txt$'
check "the scanner denied \\virus2.txt" scanned_line '^deny \\virus2\.txt$'

# Many opens at once, spread over the four threads waiting on one handle.
par_create() {
	local i pids=() rc=0
	for i in $(seq 1 40); do
		(echo "$i" >"$VOL/par$i.txt") &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || rc=1; done
	return $rc
}
check "40 parallel creates with four scanner threads" par_create
check_eq "... each was scanned and allowed" 40 \
	"$(grep -Ec '^allow \\par[0-9]+\.txt$' "$T/scan.out")"

scan_once --stats
check_eq "a second program is refused: MaxConnections is 1" 1 "$RC"
check_match "... with ERROR_CONNECTION_COUNT_LIMIT" "HRESULT 0x800704D6" "$OUT"

# ---- The scanner dies --------------------------------------------------------------------
stop_scanner
check "after the scanner died, virus3.txt can be created (DisconnectNotify ran)" \
	wait_for 5 sh -c "echo x >'$VOL/virus3.txt'"
scan --stats
check_match "the filter counted the scans and denials" \
	"^scanned ([4-9][0-9]|[1-9][0-9][0-9]+) denied [2-9] timedout 0 timeout_ms 3000$" "$OUT"

# ---- A scanner slower than the filter's timeout ------------------------------------------------
scan --timeout 1000
start_scanner -t 1 -d virus -w 2500
t0=$(date +%s%N)
check "a verdict later than the timeout lets the open through" \
	sh -c "echo x >'$VOL/virus4.txt'"
ms=$((($(date +%s%N) - t0) / 1000000))
if ((ms >= 950 && ms < 2450)); then
	pass "... after the 1000 ms timeout, not the scanner's 2500 ms ($ms ms)"
else
	fail "... after the 1000 ms timeout, not the scanner's 2500 ms" "took $ms ms"
fi
check "the late reply got ERROR_FLT_NO_WAITER_FOR_REPLY" \
	wait_for 5 scanned_line '^late \\virus4\.txt$'
stop_scanner
scan --stats
check_match "the filter counted the timeout" " timedout [1-9][0-9]* timeout_ms 1000$" "$OUT"
scan --timeout 3000

# ---- OVERLAPPED FilterGetMessage, then an unload while the program waits ------------------------
start_scanner -a -t 2 -d virus
check_eq "asynchronous scanner: virus5.txt is refused" EACCES \
	"$(py 'open(A[0], "w")' "$VOL/virus5.txt")"
check "asynchronous scanner: clean5.txt is allowed" sh -c "echo x >'$VOL/clean5.txt'"
check "... both verdicts printed" scanned_line '^allow \\clean5\.txt$'
OUT=$("$FLTMC" unload scanlike 2>&1)
check_eq "fltmc unload scanlike while the scanner waits" 0 "$?"
wait_pid "$SCANNER" 10
RC=$?
SCANNER=
check_eq "the scanner's waits end: it exits with 3" 3 "$RC"
check "... reporting the port disconnected" scanned_line 'port disconnected$'
scan_once --stats
check_eq "the port is gone with the filter" 1 "$RC"
check_match "... ERROR_FILE_NOT_FOUND" "HRESULT 0x80070002" "$OUT"
check "files open normally afterwards" sh -c "echo x >'$VOL/virus6.txt'"
check "fltmgrd is still running" kill -0 "$DAEMON_PID"

stop_daemon
check_nomatch "no errors, port warnings or sanitizer reports in the daemon's log" \
	" (emerg|alert|crit|err): |warning: ports|AddressSanitizer|runtime error|LeakSanitizer" \
	"$(cat "$LOG" "$T/fltmgrd.out")"
