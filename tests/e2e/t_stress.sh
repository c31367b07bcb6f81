#!/bin/bash
# t_stress: eight processes hammer one directory (atomic replace by rename,
# reads that must never be torn, links, mkdir/rmdir, listing, O_APPEND,
# truncate) through three filters, once uncached and once cached; the
# daemon survives, no completion context goes astray, and what is on disk
# afterwards is whole.
. "$(dirname "$0")/lib.sh"

STRESS=$HELPERS/stress.py
REF=$(new_volume ref)
check_eq "the stress checker passes on a plain directory" ok \
	"$("$PY" "$STRESS" "$REF" 8 2 | cut -d' ' -f1)"

on_disk_intact() {
	py '
import hashlib
bad = []
for n in sorted(os.listdir(A[0])):
    if n.startswith("shared-"):
        head, _, body = read_file(A[0] + "/" + n).partition(b"\n")
        if hashlib.sha256(body).hexdigest().encode() != head: bad.append(n)
print("intact" if not bad else bad)' "$1"
}

for mode in uncached cached; do
	FLOG=$T/filters-$mode.log
	FARGS=()
	if [[ $mode == uncached ]]; then
		add_filter A 385100
		add_filter B 370000 LogFile=
		add_filter C 320000 LogFile=
	else
		add_filter A 385100 Operations=IRP_MJ_CREATE,IRP_MJ_SET_INFORMATION
		add_filter B 370000 LogFile= Operations=IRP_MJ_CREATE
		add_filter C 320000 LogFile= Operations=IRP_MJ_SET_INFORMATION
	fi
	D=$VOL/$mode
	start_daemon "${FARGS[@]}"
	mkdir "$D"
	out=$("$PY" "$STRESS" "$D" 8 8 2>&1)
	check_match "[$mode] 8 processes x 8 s of concurrent traffic, nothing torn or failed" \
		'^ok [0-9]+$' "$out"
	diag "$out"
	check "[$mode] daemon still running after the stress" kill -0 "$DAEMON_PID"
	check_eq "[$mode] the volume still answers" ok \
		"$(py 'write_file(A[0], b"ok"); print(read_file(A[0]).decode())' "$D/after")"
	stop_daemon
	check_eq "[$mode] after stop: shared files on disk are whole" intact "$(on_disk_intact "$D")"
	check_eq "[$mode] after stop: no temporary file left behind" "" \
		"$(ls "$D" | grep -E '^(tmp|link)-')"
	check_nomatch "[$mode] no BADCTX" BADCTX "$(grep -s BADCTX "$FLOG" | head)"
	check "[$mode] filter A saw the traffic" grep -qF "A post IRP_MJ_CREATE \\$mode\\tmp-" "$FLOG"
done
