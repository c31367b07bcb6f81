#!/bin/bash
# t_lifecycle: loading, attaching and unloading.  Filters that cannot load
# (DriverEntry fails, image missing, no DriverEntry, bad registration, an
# altitude already taken) are reported and the daemon serves the volumes with
# the others; an instance whose setup declines sees nothing; two volumes work
# at once; SIGTERM and SIGINT unmount, and every filter sees setup, teardown
# start, teardown complete and unload in that order.
. "$(dirname "$0")/lib.sh"

INC=$E2E_DIR/../../include
V2=$(new_volume vol2)
printf 'one\n' >"$VOL/v1.txt"
printf 'two\n' >"$V2/v2.txt"

# A shared object without DriverEntry, and one whose registration is invalid.
printf 'int not_a_driver_entry(void) { return 0; }\n' |
	cc -shared -fPIC -x c - -o "$T/noentry.so" ||
	bail "build noentry.so"
cat >"$T/badreg.c" <<'EOF'
#include <fltKernel.h>
static FLT_PREOP_CALLBACK_STATUS pre(PFLT_CALLBACK_DATA d, PCFLT_RELATED_OBJECTS o, PVOID *c)
{ (void)d; (void)o; (void)c; return FLT_PREOP_SUCCESS_NO_CALLBACK; }
static const FLT_OPERATION_REGISTRATION ops[] = {
	{ 0x55 /* no such major function */, 0, pre, NULL, NULL },
	{ IRP_MJ_OPERATION_END }
};
static const FLT_REGISTRATION reg = {
	sizeof(FLT_REGISTRATION), FLT_REGISTRATION_VERSION, 0, NULL, ops,
};
__attribute__((visibility("default")))
NTSTATUS DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING path)
{
	PFLT_FILTER filter;
	(void)path;
	return FltRegisterFilter(driver, &reg, &filter);
}
EOF
cc -shared -fPIC -fshort-wchar -I"$INC" "$T/badreg.c" -o "$T/badreg.so" ||
	bail "build badreg.so"

# ---- one daemon, two volumes, good and bad filters ----------------------------
add_filter A 300000
add_filter F 310000 FailDriverEntry=dword:0xC0000022 LogFile="$T/F.log"
FARGS+=(-f "/nonexistent/missing.so@320000=M")
FARGS+=(-f "$T/noentry.so@330000=N")
FARGS+=(-f "$T/badreg.so@335000=R")
add_filter C 300000
add_filter D 340000 SetupStatus=dword:0xC01C000F
start_daemon -v "$VOL" -v "$V2" "${FARGS[@]}"
dlog=$(cat "$LOG")

check_match "DriverEntry failure reported with its status name" \
	'filter F:.*STATUS_ACCESS_DENIED' "$dlog"
check_eq "the failed filter never logged (never registered)" "" "$(cat "$T/F.log" 2>/dev/null)"
check_match "missing image reported" 'filter M:' "$dlog"
check_match "image without DriverEntry reported" 'filter N:' "$dlog"
check_match "invalid registration reported (STATUS_INVALID_PARAMETER)" \
	'filter R:.*STATUS_INVALID_PARAMETER' "$dlog"
cline=$(grep 'filter C:' "$LOG")
check_match "altitude collision reported for the second filter" '[Aa][Ll][Tt][Ii][Tt][Uu][Dd][Ee]' "$cline"
check_match "... as a collision" '[Cc][Oo][Ll][Ll][Ii][Ss][Ii][Oo][Nn]' "$cline"
check_nomatch "the first filter at that altitude is not reported" 'filter A:.*[Cc]ollision' "$dlog"

check_eq "volume 1 serves its file" one "$(cat "$VOL/v1.txt" 2>&1)"
check_eq "volume 2 serves its file" two "$(cat "$V2/v2.txt" 2>&1)"
check "volume 1 takes a new file" sh -c "echo new1 >'$VOL/n1.txt'"
check "volume 2 takes a new file" sh -c "echo new2 >'$V2/n2.txt'"
check_eq "volumes are separate" "n1.txt v1.txt | n2.txt v2.txt" \
	"$(ls "$VOL" | xargs) | $(ls "$V2" | xargs)"
check "both volumes are FUSE mounts" is_fuse_mount "$VOL"
check "... the second too" is_fuse_mount "$V2"

flog=$(cat "$FLOG")
check_match "A sees operations on volume 1" '^A post IRP_MJ_CREATE \\v1\.txt 0x00000000$' "$flog"
check_match "A sees operations on volume 2" '^A post IRP_MJ_CREATE \\v2\.txt 0x00000000$' "$flog"
check_eq "A's instance was set up on both volumes" 2 "$(grep -c '^A setup ' <<<"$flog")"
check_nomatch "the colliding filter sees no operations" '^C (pre|post) ' "$flog"
check_eq "D's setup was asked on both volumes" 2 "$(grep -c '^D setup ' <<<"$flog")"
check_nomatch "D declined (STATUS_FLT_DO_NOT_ATTACH) and sees no operations" '^D (pre|post) ' "$flog"
check_nomatch "no BADCTX" BADCTX "$flog"

stop_daemon TERM
check_eq "no FUSE mount left after SIGTERM" "" \
	"$(findmnt -rn -o TARGET,FSTYPE | grep -F "$T/")"

# setup ... teardown-start, teardown-complete ... unload, per instance.
lifecycle() {
	awk -v tag="$1" '
		$1 == tag && $2 ~ /^(setup|teardown-start|teardown-complete|unload)$/ {
			ev[++n] = $2
		}
		END {
			s = 0; ts = 0; tc = 0; u = 0; bad = ""
			for (i = 1; i <= n; i++) {
				if (ev[i] == "setup") s++
				else if (ev[i] == "teardown-start") ts++
				else if (ev[i] == "teardown-complete") tc++
				else u++
				if (u && i < n) bad = bad " event after unload"
				if (ts > s || tc > ts) bad = bad " teardown before setup/start at " i
			}
			if (u != 1) bad = bad " unload x" u
			if (ts != s || tc != s) bad = bad " setup/teardown counts " s "/" ts "/" tc
			print (bad == "" ? "ok " s : bad)
		}' "$FLOG"
}
flog=$(cat "$FLOG")
check_eq "A: setup, teardown-start, teardown-complete, unload on both volumes" "ok 2" "$(lifecycle A)"
check_eq "D: setup on both volumes, no teardown (never attached), unload" \
	"setup setup unload" "$(awk '$1 == "D" && $2 !~ /^(pre|post|unload-start)$/ { print $2 }' "$FLOG" | xargs)"
check_eq "C (loaded, never attached) is unloaded last" "C unload" "$(grep '^C ' "$FLOG" | tail -n 1)"
check_eq "after stop: volume 1 data on disk" new1 "$(cat "$VOL/n1.txt")"
check_eq "after stop: volume 2 data on disk" new2 "$(cat "$V2/n2.txt")"

# ---- SIGINT ------------------------------------------------------------------------
FLOG=$T/filters2.log
FARGS=()
add_filter A 300000
add_filter B 200000
start_daemon "${FARGS[@]}"
check_eq "second daemon serves the volume" one "$(cat "$VOL/v1.txt" 2>&1)"
stop_daemon INT
check_eq "no FUSE mount left after SIGINT" "" \
	"$(findmnt -rn -o TARGET,FSTYPE | grep -F "$T/")"
check_eq "A: setup, teardown, unload after SIGINT" "ok 1" "$(lifecycle A)"
check_eq "B: setup, teardown, unload after SIGINT" "ok 1" "$(lifecycle B)"
check_eq "teardown-start reason is volume dismount or filter unload" "" \
	"$(awk '$2 == "teardown-start" && $3 !~ /^0x(2|4|6|8|A|C|E)$/' "$FLOG")"

# ---- SIGTERM while I/O is running and a file is held open --------------------------
FLOG=$T/filters3.log
FARGS=()
add_filter A 300000
start_daemon "${FARGS[@]}"
py 'fd = os.open(A[0], os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644)
while True:
    os.write(fd, b"x" * 4096)' "$VOL/busy.log" >"$T/writer.out" 2>&1 &
writer=$!
exec 7<"$VOL/v1.txt"
wait_for 5 test -s "$VOL/busy.log"
check "the writer is writing" test -s "$VOL/busy.log"
stop_daemon TERM
wait_pid "$writer" 10
check_eq "the writer was not left hanging (it ended within 10 s)" "ended" \
	"$([[ $? -ne 137 ]] && echo ended || echo hung)"
check_match "the writer got an error once the volume went away" '^E[A-Z]+$' \
	"$(cat "$T/writer.out")"
exec 7<&-
check_eq "A: setup, teardown, unload with I/O in flight" "ok 1" "$(lifecycle A)"
check "after stop: the written data is on disk" test -s "$VOL/busy.log"
check_eq "after stop: only whole 4 KiB writes" 0 $(($(stat -c %s "$VOL/busy.log") % 4096))
