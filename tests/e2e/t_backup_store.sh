#!/bin/bash
# t_backup_store: the backup filter's store and its configuration.
#
# Covers: altbackup without a daemon and with bad arguments; malformed
# parameters (the filter fails to load, naming the parameter, and the
# daemon goes on serving the volume); a store inside the volume (not
# attached, logged); a path outside every volume; qword values given with
# -p; a full store under WhenFull=evict (oldest evicted, usage under
# MaxStoreSize; a file larger than the store is not kept), skip (no version,
# the write goes through) and deny (the write fails with ENOSPC and the
# file is unchanged); reflinks on an XFS image (loop device, mkfs.xfs -m
# reflink=1) with the volume and the store on it: "method": "clone", the
# version takes no space, restores byte-exact; StoreMethod=copy there.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/helpers/backup.sh"

# ---- altbackup without a daemon, bad command lines -------------------------------
printf 'x\n' >"$VOL/f.txt"
ab list "$VOL/f.txt"
check_eq "no daemon: altbackup list exits 1" 1 "$RC"
check_eq "no daemon: a clear message" \
	'altbackup: the backup filter is not running (no \AltitudeBackup port)' "$ERR"
ab usage
check_eq "no daemon: altbackup usage exits 1" 1 "$RC"
ab
check_eq "no command: exit 2" 2 "$RC"
check_match "no command: prints the usage" '^usage: altbackup \[--json\] list FILE' "$ERR"
ab list
check_eq "list without FILE: exit 2" 2 "$RC"
ab restore "$VOL/f.txt" --id 1 --version 1
check_eq "restore with both --id and --version: exit 2" 2 "$RC"
ab --frob list "$VOL/f.txt"
check_eq "an unknown option: exit 2" 2 "$RC"
ab purge extra
check_eq "purge takes no argument: exit 2" 2 "$RC"

# ---- malformed parameters --------------------------------------------------------------
# bad_param VALUE=DATA MESSAGE
bad_param() {
	local kv=$1 msg=$2 n
	n=$(grep -c 'DriverEntry failed' "$LOG" 2>/dev/null)
	FARGS=()
	bk_args backup "$T/store.bad" "$kv"
	start_daemon -v "$VOL=vol" "${FARGS[@]}" --runtime-dir "$RUN" --services-dir "$SVC"
	check_match "$kv: the filter says which parameter is malformed" \
		"backup: parameter $msg is malformed" "$(cat "$LOG")"
	check_eq "$kv: the filter fails to load (STATUS_INVALID_PARAMETER)" 1 \
		"$(($(grep -c 'filter backup: DriverEntry failed: STATUS_INVALID_PARAMETER' "$LOG") - n))"
	check "$kv: the daemon keeps running" kill -0 "$DAEMON_PID"
	check "$kv: the volume still works" sh -c "echo new >'$VOL/f.txt' && grep -qx new '$VOL/f.txt'"
	ab list "$VOL/f.txt"
	check_eq "$kv: altbackup: not running, exit 1" \
		'1 altbackup: the backup filter is not running (no \AltitudeBackup port)' "$RC $ERR"
	stop_daemon
}
bad_param WhenFull=bogus 'WhenFull \(evict, skip or deny\)'
bad_param MaxVersions=many MaxVersions
bad_param StoreMethod=rsync 'StoreMethod \(auto, clone or copy\)'
bad_param Durability=sometimes 'Durability \(power, flush or process\)'
bad_param StoreDirectory=relative/dir 'StoreDirectory \(an absolute path\)'
bad_param StagingSize=dword:4096 'StagingSize \(0, or 1 MiB to 4 GiB\)'
bad_param StagingSize=qword:8589934592 'StagingSize \(0, or 1 MiB to 4 GiB\)'

# ---- qword values from the command line ---------------------------------------------------
FARGS=()
bk_args backup "$T/store.q" MaxStoreSize=qword:307200 MaxFileSize=qword:1048576
start_daemon -v "$VOL=vol" "${FARGS[@]}" --runtime-dir "$RUN" --services-dir "$SVC"
check_eq "-p MaxStoreSize=qword:N MaxFileSize=qword:N: the filter loads and attaches" 1 \
	"$(grep -c "backup: keeping versions of $VOL in $T/store.q/vol" "$LOG")"
check_nomatch "... no parameter reported malformed" 'parameter MaxStoreSize|parameter MaxFileSize' \
	"$(cat "$LOG")"
stop_daemon

# ---- the store inside the volume -----------------------------------------------------------
FARGS=()
bk_args backup "$VOL/.versions"
start_daemon -v "$VOL=vol" "${FARGS[@]}" --runtime-dir "$RUN" --services-dir "$SVC"
check_match "store inside the volume: not attached, logged" \
	"backup: the store $VOL/\.versions is inside volume .*vol \($VOL\); not attaching" "$(cat "$LOG")"
check_eq "... and never said it keeps versions of it" 0 \
	"$(grep -c "backup: keeping versions of $VOL in $VOL/" "$LOG")"
printf 'one\n' >"$VOL/in.txt"
printf 'two\n' >"$VOL/in.txt"
ab list "$VOL/in.txt"
check_eq "... altbackup list: exit 1, no such volume (ENOENT)" \
	"1 altbackup: $VOL/in.txt: No such file or directory" "$RC $ERR"
ab --json usage
check_eq "... usage lists no volume" "0 []" "$RC $(jq_ 'J')"
check_eq "... no catalog was created" "" "$(find "$VOL/.versions" -name catalog.db 2>/dev/null)"
ab list /etc/passwd
check_eq "a path outside every volume: exit 1, ENOENT" \
	"1 altbackup: /etc/passwd: No such file or directory" "$RC $ERR"
ab list "$T/nodir/x"
check_eq "a file in a directory that does not exist: exit 1" 1 "$RC"
check_match "... naming it" "^altbackup: $T/nodir/x: " "$ERR"
stop_daemon

# ---- a full store: evict, skip, deny --------------------------------------------------------------
# full_setup MODE: a fresh volume with f1..f5 of 100 KiB and a 400 KiB big.bin
# (created before the daemon: no versions), MaxStoreSize 300 KiB.
full_setup() {
	FV=$(new_volume "full-$1")
	for i in 1 2 3 4 5; do head -c 102400 /dev/urandom >"$FV/f$i"; done
	head -c 409600 /dev/urandom >"$FV/big.bin"
	rm -rf "$SAVE.$1"
	mkdir "$SAVE.$1"
	cp -p "$FV"/* "$SAVE.$1/"
	bk_start "$FV=vol" "$T/store-$1" MaxStoreSize=dword:307200 "WhenFull=$1"
}
SAVE=$T/save
touch1() { printf 'X' | dd of="$1" conv=notrunc status=none 2>&1; }
usage_of() { ab --json usage "$1"; jq_ "str(J[0]['versions']) + ' ' + str(J[0]['bytes'] <= J[0]['max_store_bytes']) + ' ' + str(J[0]['max_store_bytes'])"; }

# evict
full_setup evict
for i in 1 2 3 4 5; do touch1 "$FV/f$i"; done
check_eq "evict: f1, f2 (oldest) evicted; f3, f4, f5 kept" "0 0 1 1 1" \
	"$(for i in 1 2 3 4 5; do nver "$FV/f$i"; done | xargs)"
check_eq "evict: 3 versions, bytes <= MaxStoreSize (307200)" "3 True 307200" "$(usage_of "$FV")"
check_version "evict: the newest version (f5) is byte-exact" "$FV/f5" 1 "$SAVE.evict/f5"
check_eq "evict: a file larger than the whole store: the write succeeds" "" "$(touch1 "$FV/big.bin")"
check_eq "... no version of it, nothing evicted for it" "0 3 True 307200" \
	"$(nver "$FV/big.bin") $(usage_of "$FV")"
check_match "... logged" 'backup: /big.bin is larger than the store; not kept' "$(cat "$LOG")"
stop_daemon
check_store "evict: the store is consistent" "$T/store-evict/vol"

# skip
full_setup skip
for i in 1 2 3; do touch1 "$FV/f$i"; done
check_eq "skip: 3 versions fill the store" "3 True 307200" "$(usage_of "$FV")"
check_eq "skip: writing f4 on a full store succeeds" "" "$(touch1 "$FV/f4")"
check_eq "... the write took effect" X "$(head -c 1 "$FV/f4")"
check_eq "... no version of f4, the older versions untouched" "0 1 3 True 307200" \
	"$(nver "$FV/f4") $(nver "$FV/f1") $(usage_of "$FV")"
check_match "... logged" 'backup: store full, /f4 changes unversioned' "$(cat "$LOG")"
stop_daemon
check_store "skip: the store is consistent" "$T/store-skip/vol"

# deny
full_setup deny
for i in 1 2 3; do touch1 "$FV/f$i"; done
check_eq "deny: 3 versions fill the store" "3 True 307200" "$(usage_of "$FV")"
check_match "deny: writing f4 fails with 'No space left on device'" 'No space left on device' \
	"$(touch1 "$FV/f4")"
check_match "deny: echo > f4 fails with 'No space left on device'" 'No space left on device' \
	"$(sh -c "echo new >'$FV/f4'" 2>&1)"
check_match "deny: truncate -s 0 f4 fails with 'No space left on device'" 'No space left on device' \
	"$(truncate -s 0 "$FV/f4" 2>&1)"
check_match "deny: rm f4 fails with 'No space left on device'" 'No space left on device' \
	"$(rm "$FV/f4" 2>&1)"
check_eq "deny: ENOSPC to the program (errno)" ENOSPC \
	"$(py 'f = os.open(A[0], os.O_WRONLY); os.write(f, b"y")' "$FV/f4")"
check "deny: f4 is unchanged" cmp "$SAVE.deny/f4" "$FV/f4"
check_eq "deny: no version of f4, still 3" "0 3 True 307200" "$(nver "$FV/f4") $(usage_of "$FV")"
check_match "deny: logged" 'backup: store full, refusing the change of /f4' "$(cat "$LOG")"
check "deny: a new file can still be created and written" sh -c "echo new >'$FV/new.txt'"
stop_daemon
check_store "deny: the store is consistent" "$T/store-deny/vol"

# ---- reflinks on XFS ---------------------------------------------------------------------------
XFS=$T/xfs
xfs_ok=0
xfs_image "$XFS" "XFS reflink part" && xfs_ok=1
if ((xfs_ok)); then
	XV=$XFS/vol
	mkdir -m 755 "$XV"
	head -c 33554432 /dev/urandom >"$XV/big.bin"
	printf 'small file\n' >"$XV/small.txt"
	cp "$XV/big.bin" "$T/big.orig"
	cp "$XV/small.txt" "$T/small.orig"
	sync
	bk_start "$XV=xvol" "$XFS/store" StoreMethod=auto
	free_kb() { df --output=avail -k "$XFS" | tail -n 1 | tr -d ' '; }
	sync
	a0=$(free_kb)
	printf 'ZZZZ' | dd of="$XV/big.bin" bs=1 seek=1000000 conv=notrunc status=none
	sync
	a1=$(free_kb)
	check_eq "XFS: a 32 MiB file's version, method clone, reason write" "1 clone write" \
		"$(nver "$XV/big.bin") $(field "$XV/big.bin" 1 method) $(field "$XV/big.bin" 1 reason)"
	used=$((a0 - a1))
	diag "XFS: free space before/after the version: $a0 / $a1 KiB"
	check "XFS: the clone took less than 4 MiB of the file system (a copy takes 32)" \
		test "$used" -lt 4096
	obj=$(find "$XFS/store/xvol/objects" -type f -size +30M | head -n 1)
	check_match "XFS: the object shares its extents (filefrag: shared)" 'shared' \
		"$(filefrag -v "$obj" 2>&1 | head -n 8)"
	check_version "XFS: the clone restores byte-exact (--to, on ext4)" "$XV/big.bin" 1 "$T/big.orig"
	echo changed >"$XV/small.txt"
	check_eq "XFS: O_TRUNC of a small file: clone, truncate" "clone truncate" \
		"$(field "$XV/small.txt" 1 method) $(field "$XV/small.txt" 1 reason)"
	# A program's sync after a change: the store's sync is finished after
	# it, usually carried by its force of the log (sync.c).
	printf 'synced change\n' | dd of="$XV/small.txt" conv=fsync status=none
	check_eq "XFS: a change synced by its program (dd conv=fsync) has its version" \
		"clone truncate" "$(field "$XV/small.txt" 2 method) $(field "$XV/small.txt" 2 reason)"
	ab restore "$XV/big.bin" --version 1
	check_eq "XFS: in-place restore of the 32 MiB file" 0 "$RC"
	check_eq "... byte-exact (sha256)" "$(sha "$T/big.orig")" "$(sha "$XV/big.bin")"
	check_eq "... the content it replaced kept by a link (replace)" "link replace" \
		"$(field "$XV/big.bin" 2 method) $(field "$XV/big.bin" 2 reason)"
	stop_daemon
	check_store "XFS: the store is consistent" "$XFS/store/xvol"
	# On XFS the store's own syncs are one forced commit of the log each,
	# never file by file (sync.c).
	check_match "XFS: the store synced by commits of its log, none file by file" \
		'synced [1-9][0-9]* times before a program.s sync; its syncs in all: 0 file by file, 0 whole, [1-9][0-9]* by one commit of its log' \
		"$(grep 'backup: unloaded;' "$LOG" | tail -n 1)"

	bk_start "$XV=xvol" "$XFS/store" StoreMethod=copy
	cp "$XV/small.txt" "$T/small.changed"
	rm "$XV/small.txt"
	check_eq "XFS, StoreMethod=copy: rm keeps a copy (method copy, reason delete)" "copy delete" \
		"$(field "$XV/small.txt" 3 method) $(field "$XV/small.txt" 3 reason)"
	printf 'Q' | dd of="$XV/big.bin" conv=notrunc status=none
	check_eq "XFS, StoreMethod=copy: big.bin version 3 is a copy" copy "$(field "$XV/big.bin" 3 method)"
	check_version "... byte-exact" "$XV/big.bin" 3 "$T/big.orig"
	ab restore-deleted "$XV"
	check "... restore-deleted brings small.txt back byte-exact" cmp "$T/small.changed" "$XV/small.txt"
	stop_daemon
	check_store "XFS, copy: the store is consistent" "$XFS/store/xvol"
	check "the XFS image unmounts" umount "$XFS"
fi

# ---- Durability=process and recovery of content that never reached the disk
DV=$(new_volume dvol)
head -c 5000 /dev/urandom >"$DV/a.bin"
head -c 7000 /dev/urandom >"$DV/b.bin"
bk_start "$DV=dvol" "$T/store-dur" Durability=process
printf 'x' | dd of="$DV/a.bin" conv=notrunc status=none
printf 'x' | dd of="$DV/b.bin" conv=notrunc status=none
check_eq "Durability=process: versions are kept as usual" "1 1" \
	"$(nver "$DV/a.bin") $(nver "$DV/b.bin")"
stop_daemon
check_store "Durability=process: the store is consistent" "$T/store-dur/dvol"
# What a power failure can leave: an object shorter than its row says.
OBJ=$(sqlite3 "$T/store-dur/dvol/catalog.db" "SELECT object FROM versions WHERE path = '/a.bin'")
truncate -s 100 "$T/store-dur/dvol/objects/$OBJ"
bk_start "$DV=dvol" "$T/store-dur" Durability=process
check_match "the restart drops the row whose content is short and its object (2 leftovers)" \
	'store .*dvol: 2 leftovers of an interrupted run removed' "$(cat "$LOG")"
check_eq "... that version is gone; the other stays" "0 1" \
	"$(nver "$DV/a.bin") $(nver "$DV/b.bin")"
stop_daemon
check_store "... and the store is consistent" "$T/store-dur/dvol"
check "... the short object was removed" test ! -e "$T/store-dur/dvol/objects/$OBJ"

# ---- Durability=power: the change waits for the whole commit ---------------------------
PV=$(new_volume pvol)
printf 'first\n' >"$PV/p.txt"
printf 'keep me\n' >"$T/p.saved"
cp "$T/p.saved" "$PV/q.txt"
bk_start "$PV=pvol" "$T/store-pow" Durability=power
printf 'second\n' >"$PV/p.txt"
printf 'changed\n' >"$PV/q.txt"
check_eq "Durability=power: each overwrite kept a version" "1 1" \
	"$(nver "$PV/p.txt") $(nver "$PV/q.txt")"
check_version "Durability=power: the version is the old content, byte-exact" \
	"$PV/q.txt" 1 "$T/p.saved"
check_eq "Durability=power: nothing went through the journal" "0 0" \
	"$(stat -c %s "$T/store-pow/pvol/journal.0" "$T/store-pow/pvol/journal.1" | xargs)"
# kill -9: the versions were committed before their changes went on.
kill -KILL "$DAEMON_PID"
wait_pid "$DAEMON_PID" 10
DAEMON_PID=
umount -l "$PV"
check_eq "Durability=power: after kill -9 every version already has its row" 2 \
	"$(sqlite3 "$T/store-pow/pvol/catalog.db" 'SELECT count(*) FROM versions')"
bk_start "$PV=pvol" "$T/store-pow" Durability=power
check_nomatch "Durability=power: the restart completes nothing" \
	'store .*pvol: [0-9]+ versions captured before the last stop' "$(cat "$LOG")"
check_version "Durability=power: after the restart the version is still byte-exact" \
	"$PV/q.txt" 1 "$T/p.saved"
stop_daemon
check_store "Durability=power: the store is consistent" "$T/store-pow/pvol"

# ---- Durability=flush: a program's fsync waits for the store's sync ----------------------
# Three overwrites each followed by fsync, one first write through an
# O_SYNC handle: each finds a version captured and not yet durable, and the
# store is synced before the program's sync goes on (the filter counts
# these syncs and logs them when it unloads).  Three fsyncs with no change
# before them find nothing to sync.  With Durability=process, none.
sync_script() {
	py '
import os
p = A[0]
for i in range(3):
    fd = os.open(p, os.O_WRONLY | os.O_TRUNC)
    os.write(fd, b"round %d\n" % i)
    os.fsync(fd)
    os.close(fd)
fd = os.open(p, os.O_WRONLY | os.O_SYNC)
os.write(fd, b"synchronous\n")
os.close(fd)
for i in range(3):
    fd = os.open(p, os.O_RDWR)
    os.fsync(fd)
    os.close(fd)' "$1"
}
for dur in flush process; do
	FV=$(new_volume "fvol$dur")
	printf 'start\n' >"$FV/s.txt"
	bk_start "$FV=fvol$dur" "$T/store-sync" Durability=$dur
	sync_script "$FV/s.txt"
	check_eq "Durability=$dur: the overwrites and the O_SYNC write kept 4 versions" 4 "$(nver "$FV/s.txt")"
	stop_daemon
	n=$(grep -o 'the store synced [0-9]* times before' "$LOG" | tail -n 1 | grep -o '[0-9]*')
	if [[ $dur == flush ]]; then
		# 4 unless the store's own once-a-second sync came first.
		check "Durability=flush: the store synced before the programs' syncs (${n:-none} of 4)" \
			test "${n:-0}" -ge 2 -a "${n:-0}" -le 4
	else
		check_eq "Durability=process: the store never synced for a program" 0 "$n"
	fi
	check_store "Durability=$dur: the store is consistent" "$T/store-sync/fvol$dur"
done

# ---- staged copies: the staging area in /dev/shm -----------------------------------------
# Copies go through the store's staging area (32 MiB by default) once the
# first copy showed the store does not clone; the file is 0600, the
# process's, and removed at stop.  A version larger than a quarter of the
# area is copied straight to the store; StagingSize=dword:0: no area.
staged_of() {
	grep -o '[0-9]* copies staged in memory, [0-9]* found the staging area full' "$LOG" |
		tail -n 1
}
SGV=$(new_volume sgvol)
for i in $(seq 1 12); do
	head -c $((i * 9000 + 1)) /dev/urandom >"$SGV/g$i"
	cp "$SGV/g$i" "$T/g$i.orig"
done
bk_start "$SGV=sgvol" "$T/store-stage"
SG=$(staging_of "$T/store-stage/sgvol")
check_eq "staging: the area is a file of 32 MiB, mode 600, owned by root" "600 33554432 0" \
	"$(stat -c '%a %s %u' "$SG" 2>&1)"
for i in $(seq 1 12); do printf 'new %d\n' "$i" >"$SGV/g$i"; done
bad=
for i in $(seq 1 12); do
	[[ $(field "$SGV/g$i" 1 method) == copy ]] || bad+="g$i: $(field "$SGV/g$i" 1 method) "
	check_version "staging: g$i's version ($((i * 9000 + 1)) bytes) restores byte-exact" \
		"$SGV/g$i" 1 "$T/g$i.orig"
done
check_eq "staging: every version is a copy" "" "$bad"
stop_daemon
check "staging: the area is removed at stop" test ! -e "$SG"
check_eq "staging: 11 copies staged (the first showed the store copies), none found it full" \
	"11 copies staged in memory, 0 found the staging area full" "$(staged_of)"
check_store "staging: the store is consistent" "$T/store-stage/sgvol"

head -c 400000 /dev/urandom >"$SGV/big"
cp "$SGV/big" "$T/big.stage.orig"
bk_start "$SGV=sgvol" "$T/store-stage" StagingSize=dword:1048576
check_eq "StagingSize=dword:1048576: a 1 MiB area" 1048576 "$(stat -c %s "$SG" 2>&1)"
printf 'one\n' >"$SGV/g1"
printf 'big\n' >"$SGV/big"
printf 'two\n' >"$SGV/g1"
check_version "StagingSize 1 MiB: the 400000-byte version, larger than a quarter of the area, is byte-exact" \
	"$SGV/big" 1 "$T/big.stage.orig"
printf 'new 1\n' >"$T/g1.v2"
printf 'one\n' >"$T/g1.v3"
check_version "... g1's version 2 (copied straight: the first of the run)" "$SGV/g1" 2 "$T/g1.v2"
check_version "... g1's version 3 (staged)" "$SGV/g1" 3 "$T/g1.v3"
stop_daemon
check_eq "StagingSize 1 MiB: one copy staged (g1's second), the big one went straight to the store" \
	"1 copies staged in memory, 0 found the staging area full" "$(staged_of)"

bk_start "$SGV=sgvol" "$T/store-stage" StagingSize=dword:0
check "StagingSize=dword:0: no staging area" test ! -e "$SG"
for i in 2 3 4; do printf 'zero %d\n' "$i" >"$SGV/g$i"; done
for i in 2 3 4; do
	printf 'new %d\n' "$i" >"$T/g$i.v2"
	check_version "StagingSize=dword:0: g$i's version is kept all the same" "$SGV/g$i" 2 "$T/g$i.v2"
done
stop_daemon
check_eq "StagingSize=dword:0: no copy staged" \
	"0 copies staged in memory, 0 found the staging area full" "$(staged_of)"
check_store "staging: the store is consistent after all three runs" "$T/store-stage/sgvol"
