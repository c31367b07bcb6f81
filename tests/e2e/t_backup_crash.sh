#!/bin/bash
# t_backup_crash: the backup filter under concurrent writers, and fltmgrd
# killed with SIGKILL in the middle of heavy versioning.
#
# Covers: 8 processes rewriting 8 files (every version byte-exact, in
# order), 8 processes appending to one file (every version a prefix of the
# final content: nothing torn), 8 processes replacing one file's content
# (every version one of the contents written); the catalog against the
# store after a clean stop; then kill -9 of the daemon while 4 processes
# rewrite 24 files of 512 KiB in a loop, restart on the same store: the
# leftovers are removed and logged, the store is consistent (every row's
# object there with its size, no object without a row, tmp/ empty), and
# the versions kept before the kill are still restorable.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/helpers/backup.sh"

STORE=$T/store
SV=$STORE/vol
SAVE=$T/save
mkdir -m 755 "$SAVE"

bk_start "$VOL=vol" "$STORE" MaxVersions=dword:1000

# ---- 8 writers, one file each -------------------------------------------------
mkdir "$VOL/many"
for i in $(seq 1 8); do
	for k in $(seq 0 10); do
		{ printf 'writer %d round %d\n' "$i" "$k"; head -c $((20000 + 1000 * k)) /dev/urandom; } \
			>"$SAVE/f$i.r$k"
	done
done
rewrite_own() {
	local k
	for k in $(seq 0 10); do cp "$SAVE/f$1.r$k" "$VOL/many/f$1" || return 1; done
}
all_at_once 8 rewrite_own
check_eq "8 writers rewrote their file 11 times each" 0 "$?"
bad=
for i in $(seq 1 8); do
	versions_json "$VOL/many/f$i"
	[[ $(jq_ '" ".join(str(e["version"]) for e in J)') == "1 2 3 4 5 6 7 8 9 10" ]] ||
		bad+="f$i: $(jq_ '[(e["version"], e["reason"]) for e in J]'); "
done
check_eq "8 writers: 10 versions of each file, numbered 1-10" "" "$bad"
bad=
for i in $(seq 1 8); do
	for n in 1 5 10; do
		ab restore "$VOL/many/f$i" --version "$n" --to "$T/out/f$i.v$n"
		cmp -s "$SAVE/f$i.r$((n - 1))" "$T/out/f$i.v$n" || bad+="f$i v$n; "
	done
done
check_eq "8 writers: versions 1, 5, 10 of each are rounds 0, 4, 9 byte-exact" "" "$bad"

# ---- 8 appenders, one file ----------------------------------------------------------------
append_lines() {
	py '
for k in range(20):
    with open(A[0], "ab") as f:
        f.write(b"appender %s line %02d %s\n" % (A[1].encode(), k, b"." * (k * 7)))' \
		"$VOL/shared.log" "$1"
}
all_at_once 8 append_lines
rc=$?
check_eq "8 appenders wrote 160 lines" "0 160" "$rc $(wc -l <"$VOL/shared.log")"
cp "$VOL/shared.log" "$T/shared.final"
versions_json "$VOL/shared.log"
NV=$(jq_ 'len(J)')
diag "8 appenders x 20 opens: $NV versions"
# Overlapping opens are one cycle: how many versions depends on the timing.
check "appenders: between 1 and 159 versions (160 opens, overlapping)" test "$NV" -ge 1 -a "$NV" -le 159
check_eq "appenders: sizes strictly grow with the version number" True \
	"$(jq_ 'all(a["size"] < b["size"] for a, b in zip(J, J[1:])) and [e["version"] for e in J] == list(range(1, len(J) + 1))')"
bad=
for n in $(seq 1 "$NV"); do
	ab restore "$VOL/shared.log" --version "$n" --to "$T/out/shared.v$n"
	sz=$(stat -c %s "$T/out/shared.v$n" 2>/dev/null || echo 0)
	[[ $RC == 0 ]] && cmp -s -n "$sz" "$T/out/shared.v$n" "$T/shared.final" &&
		[[ $(tail -c 1 "$T/out/shared.v$n" | od -An -c | tr -d ' ') == '\n' ]] ||
		bad+="v$n ($sz bytes) "
done
check_eq "appenders: every version is a prefix of the final file, whole lines" "" "$bad"

# ---- 8 writers replacing one file's content -------------------------------------------------
for i in $(seq 1 8); do
	{ printf 'content %d\n' "$i"; head -c 3000 /dev/urandom; } >"$SAVE/one.$i"
done
printf 'initial\n' >"$VOL/one.bin"
cp "$VOL/one.bin" "$SAVE/one.0"
replace_shared() {
	local k
	for k in $(seq 1 15); do cp "$SAVE/one.$1" "$VOL/one.bin" || return 1; done
}
all_at_once 8 replace_shared
check_eq "8 writers replaced one file's content 15 times each" 0 "$?"
SUMS=" $(for i in 0 1 2 3 4 5 6 7 8; do sha "$SAVE/one.$i"; done | xargs) "
versions_json "$VOL/one.bin"
NV=$(jq_ 'len(J)')
diag "8 writers x 15 replaces of one file: $NV versions"
bad=
for n in $(seq 1 "$NV"); do
	ab restore "$VOL/one.bin" --version "$n" --to "$T/out/one.v$n"
	[[ $RC == 0 && $SUMS == *" $(sha "$T/out/one.v$n") "* ]] || bad+="v$n "
done
check "replacers: there are versions" test "$NV" -ge 2
check_eq "replacers: every version is one of the contents written (never empty, never torn)" "" "$bad"

ab --json usage "$VOL"
ROWS=$(jq_ 'J[0]["versions"]')
check_eq "the daemon survived the writers" 0 "$(kill -0 "$DAEMON_PID" 2>&1; echo $?)"
stop_daemon
check_store "after the concurrent writers: catalog and objects agree, tmp empty" "$SV"
check_eq "... the catalog holds every version usage counted" "$ROWS" \
	"$(sqlite3 "$SV/catalog.db" 'SELECT count(*) FROM versions' 2>&1)"

# ---- kill -9 during heavy versioning ----------------------------------------------------------
mkdir -p "$SAVE/heavy"
for k in 0 1 2 3; do
	head -c 524288 /dev/urandom >"$SAVE/heavy/src$k"
done
HSUMS=" $(for k in 0 1 2 3; do sha "$SAVE/heavy/src$k"; done | xargs) "

# crash_round N: start the daemon on the store, rewrite files in a loop,
# kill -9 the daemon; leaves the snapshot's leftover count in LEFT.
crash_round() {
	local r=$1 p w
	bk_start "$VOL=vol" "$STORE" MaxVersions=dword:4
	mkdir -p "$VOL/heavy"
	for w in $(seq 0 23); do cp "$SAVE/heavy/src$((w % 4))" "$VOL/heavy/f$w"; done
	pids=()
	for w in 0 1 2 3; do
		(
			k=$w
			while :; do
				for f in $(seq "$w" 4 23); do
					cp "$SAVE/heavy/src$((k % 4))" "$VOL/heavy/f$f" 2>/dev/null || exit 0
				done
				k=$((k + 1))
			done
		) &
		pids+=($!)
	done
	sleep 2.5
	check_eq "round $r: the daemon is alive under the load" 0 "$(kill -0 "$DAEMON_PID" 2>&1; echo $?)"
	kill -KILL "$DAEMON_PID"
	wait_pid "$DAEMON_PID" 10
	check_eq "round $r: kill -9 ends fltmgrd (killed by the signal, at once)" \
		"137 no" "$? $WAIT_TIMED_OUT"
	DAEMON_PID=
	for p in "${pids[@]}"; do
		wait_pid "$p" 10 || true
	done
	check_match "round $r: the dead volume answers ENOTCONN" ENOTCONN \
		"$(py 'os.open(A[0], os.O_CREAT | os.O_WRONLY, 0o644)' "$VOL/heavy/new.$r")"
	check "round $r: the dead mount is lazily unmounted" umount -l "$VOL"
	check "round $r: the plain directory is back under the volume's path" \
		test -f "$VOL/heavy/f0" -a ! -d "$VOL/heavy/f0"
	rm -rf "$T/snap"
	cp -a "$SV" "$T/snap"
	LEFT=$(store_fsck "$T/snap" --leftovers --staging "$(staging_of "$SV")" 2>&1)
	PENDING=$(store_fsck "$T/snap" --pending --staging "$(staging_of "$SV")" 2>&1)
	STAGED=$(store_fsck "$T/snap" --pending-staged --staging "$(staging_of "$SV")" 2>&1)
	diag "round $r: $(ls "$SV/tmp" | wc -l) file(s) in tmp/, $LEFT leftover(s) in all, $PENDING captured version(s) to complete after kill -9"
}

ROUNDS_LEFT=0
ROUNDS_PENDING=0
for r in 1 2 3; do
	crash_round "$r"
	before=$(grep -c 'leftovers of an interrupted run removed' "$LOG")
	cbefore=$(grep -c 'captured before the last stop committed' "$LOG")
	bk_start "$VOL=vol" "$STORE" MaxVersions=dword:4
	after=$(grep -c 'leftovers of an interrupted run removed' "$LOG")
	if [[ $PENDING =~ ^[0-9]+$ && $PENDING -gt 0 ]]; then
		ROUNDS_PENDING=$((ROUNDS_PENDING + 1))
		check_match "round $r: the restart commits the $PENDING version(s) captured before the kill, $STAGED from the staging area" \
			"backup: store $SV: $PENDING versions captured before the last stop committed \\($STAGED of them written from the staging area\\)" \
			"$(grep 'captured before the last stop committed' "$LOG" | tail -n 1)"
	else
		check_eq "round $r: no captured version was pending (${PENDING})" "$cbefore" \
			"$(grep -c 'captured before the last stop committed' "$LOG")"
	fi
	if [[ $LEFT =~ ^[0-9]+$ && $LEFT -gt 0 ]]; then
		ROUNDS_LEFT=$((ROUNDS_LEFT + 1))
		check_match "round $r: the restart logs the recovery of the $LEFT leftover(s)" \
			"backup: store $SV: $LEFT leftovers of an interrupted run removed" \
			"$(grep 'leftovers of an interrupted run' "$LOG" | tail -n 1)"
	else
		check_eq "round $r: nothing was left over, nothing recovered (${LEFT})" "$before" "$after"
	fi
	# The versions of a clean run survive the crashes.
	check_version "round $r: a version kept before the crashes is still byte-exact" \
		"$VOL/many/f3" 7 "$SAVE/f3.r6"
	bad=
	for f in 0 5 11 23; do
		id=$(newest_id "$VOL/heavy/f$f")
		ab restore "$VOL/heavy/f$f" --id "$id" --to "$T/out/h$f.$r"
		[[ $RC == 0 && $HSUMS == *" $(sha "$T/out/h$f.$r") "* ]] || bad+="f$f(id $id: $ERR) "
	done
	check_eq "round $r: the newest version of heavy files is one of the contents written" "" "$bad"
	stop_daemon
	check_store "round $r: after the restart the store is consistent" "$SV"
done
diag "kill -9 left something to recover in $ROUNDS_LEFT of 3 rounds, versions to complete in $ROUNDS_PENDING"

# ---- kill -9 right after changes: none of their versions is lost --------------------------
# A change goes on once its version is captured (content and journal
# record); the catalog rows come later, in batches.  Kill the daemon as
# soon as the last of 40 overwrites returns: after the restart each of the
# 40 files has exactly the version of its change, with the old bytes.
for dur in flush process; do
	bk_start "$VOL=vol" "$STORE" MaxVersions=dword:4 Durability=$dur
	mkdir -p "$VOL/quick.$dur"
	for i in $(seq 1 40); do printf 'old %s %d\n' "$dur" "$i" >"$VOL/quick.$dur/q$i"; done
	for i in $(seq 1 40); do printf 'new %d\n' "$i" >"$VOL/quick.$dur/q$i"; done
	kill -KILL "$DAEMON_PID"
	wait_pid "$DAEMON_PID" 10
	DAEMON_PID=
	umount -l "$VOL"
	rm -rf "$T/snap"
	cp -a "$SV" "$T/snap"
	PENDING=$(store_fsck "$T/snap" --pending --staging "$(staging_of "$SV")" 2>&1)
	STAGED=$(store_fsck "$T/snap" --pending-staged --staging "$(staging_of "$SV")" 2>&1)
	diag "Durability=$dur: $PENDING of 40 versions were captured, not yet committed, at the kill ($STAGED of them only in the staging area)"
	cbefore=$(grep -c 'captured before the last stop committed' "$LOG")
	bk_start "$VOL=vol" "$STORE" MaxVersions=dword:4 Durability=$dur
	if [[ $PENDING =~ ^[0-9]+$ && $PENDING -gt 0 ]]; then
		check_match "Durability=$dur: the restart commits the $PENDING version(s), $STAGED from the staging area" \
			"backup: store $SV: $PENDING versions captured before the last stop committed \\($STAGED of them written from the staging area\\)" \
			"$(grep 'captured before the last stop committed' "$LOG" | tail -n 1)"
	else
		check_eq "Durability=$dur: no captured version was pending (${PENDING})" "$cbefore" \
			"$(grep -c 'captured before the last stop committed' "$LOG")"
	fi
	check "Durability=$dur: after the replay a new staging area is made" \
		test -f "$(staging_of "$SV")"
	bad=
	for i in $(seq 1 40); do
		versions_json "$VOL/quick.$dur/q$i"
		[[ $(jq_ 'len(J)') == 1 ]] || { bad+="q$i: $(jq_ 'len(J)') versions; "; continue; }
		ab restore "$VOL/quick.$dur/q$i" --version 1 --to "$T/out/q.$dur.$i"
		[[ $RC == 0 && $(cat "$T/out/q.$dur.$i") == "old $dur $i" ]] || bad+="q$i: $ERR; "
	done
	check_eq "Durability=$dur: kill -9 after 40 changes: each has its version, the old bytes" "" "$bad"
	stop_daemon
	check_store "Durability=$dur: after the restart the store is consistent" "$SV"
done
check_nomatch "no version failed to be kept while the daemon ran" \
	'backup: .*(cannot create a version|copying the content failed|cannot store the version)' \
	"$(cat "$LOG")"
