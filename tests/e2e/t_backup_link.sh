#!/bin/bash
# t_backup_link: the backup filter keeps a file about to be deleted or
# replaced by giving it a second name in its store (FSCTL_LX_LINK_TO_DIRECTORY,
# "method": "link"), not by copying it.
#
# Covers: rm and mv over a small file and a file of several MiB on the test's
# /tmp volume with the store on the same file system (reason delete/replace,
# method link, the object is the file's own inode with 1 link afterwards,
# restore in place, restore-deleted and --to byte-exact with mode and mtime);
# a file held open for writing by another process when it is deleted or
# replaced (a copy; the holder's later write does not reach it, and is
# itself versioned) and one held read-only (a copy too: the holder could
# reopen it for writing through /proc/PID/fd); hard links (no version while
# another name keeps the content, a link for the last name); a delete and a replace refused by a filter below
# (testfilter DenyMajor=IRP_MJ_SET_INFORMATION at 140000): the file stays,
# the version is withdrawn, the unload line counts them; the store on
# another file system (tmpfs: copies, nothing reported failed); StoreMethod=copy;
# swapbuffers below the filter (it refuses the link: a copy of the plaintext);
# an XFS reflink image (loop device; link for rm and mv over, clone for an
# overwrite); a store hard-linked elsewhere by an administrator (cp -al) while
# the daemon is stopped: the next start gives each link version its own copy,
# logs how many, leaves the snapshot's files alone.  Last, a file this shell
# holds open read-only when it is deleted: a write through /proc/self/fd
# does not reach the version, and fstat says it has no link left.  And a
# file held only by an O_PATH descriptor when it is deleted (a link): a
# write, an O_TRUNC reopen or a truncate through /proc/self/fd gives the
# version its own copy first; a read-only reopen leaves it the file's inode.
# Last, a daemon run without CAP_DAC_READ_SEARCH (setpriv) still links a
# deleted and a replaced file.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/helpers/backup.sh"

STORE=$T/store
SV=$STORE/vol
SAVE=$T/save
mkdir -m 755 "$SAVE"
COPYM=$AUTO_METHOD

# save FILE: a copy of FILE (mode, times) in $SAVE, printed.
save() {
	local s
	s=$SAVE/$(basename "$(dirname "$1")").$(basename "$1")
	cp -p "$1" "$s" && printf '%s\n' "$s"
}

# ino FILE: its inode number.
ino() { stat -c %i "$1"; }
# ident FILE: its inode number and birth time: a file made later in the
# inode of one deleted has the number, not the birth time.
ident() { stat -c '%i %w' "$1"; }

# objs_of STOREVOL INO: the store's object files that are inode INO.
objs_of() { find "$1/objects" -type f -inum "$2" 2>/dev/null; }

# check_link_object DESC STOREVOL INO SAVED: exactly one object of the store
# is the file's own inode INO, it has 1 link and SAVED's bytes.
check_link_object() {
	local desc=$1 sv=$2 ino=$3 saved=$4 objs n same
	objs=$(objs_of "$sv" "$ino")
	n=$(grep -c . <<<"$objs")
	if [[ $n -ne 1 ]]; then
		fail "$desc" "objects that are inode $ino: $n (expected 1)" "$objs"
		return 0
	fi
	same="other-bytes"
	cmp -s "$saved" "$objs" && same="same-bytes"
	check_eq "$desc" "links=1 same-bytes" "links=$(stat -c %h "$objs") $same"
}

# check_copy_object DESC STOREVOL IDENT SAVED: exactly one object holds
# SAVED's bytes, with 1 link, and it is not the file's inode (IDENT, from
# ident: once the file is gone, an object made later, as the committer
# makes a staged copy's, may get its inode number, not its birth time).
check_copy_object() {
	local desc=$1 sv=$2 ino=$3 saved=$4 objs same
	objs=$(find "$sv/objects" -type f -size "$(stat -c %s "$saved")c" \
		-exec cmp -s "$saved" {} \; -print 2>/dev/null)
	same=$(grep -c . <<<"$objs")
	if [[ $same -ne 1 ]]; then
		fail "$desc" "objects with the file's bytes: $same (expected 1)" "$objs"
		return 0
	fi
	check_eq "$desc" "links=1 own-inode" \
		"links=$(stat -c %h "$objs") $([[ $(ident "$objs") == "$ino" ]] && echo file-inode || echo own-inode)"
}

# vinfo FILE: "<versions> <reason> <method>" of its newest version.
vinfo() {
	local n
	n=$(nver "$1")
	if [[ $n == 0 || $n == ERR* ]]; then
		echo "$n"
		return
	fi
	versions_json "$1"
	jq_ '"%d %s %s" % (len(J), J[-1]["reason"], J[-1]["method"])'
}

# vall FILE: "reason:method" of each of its versions, oldest first.
vall() {
	versions_json "$1"
	jq_ '",".join(e["reason"] + ":" + e["method"] for e in J)'
}

# unload_line: the last unload line of the backup filter, from "N versions kept".
unload_line() {
	grep -o 'backup: unloaded; .* failed' "$LOG" | tail -n 1 | sed 's/^backup: unloaded; //'
}

# expect_unload KEPT BYTES CLONED COPIED LINKED WITHDRAWN UNSHARED: the line
# the filter logs at unload, up to its failures (none).
expect_unload() {
	printf '%s versions kept (%s bytes: %s reflinked, %s copied, %s linked as they went; %s withdrawn as their change failed, %s given their own copy), 0 skipped by policy, 0 for a full store, 0 failed' "$@"
}

# sizes FILE...: the sum of their sizes.
sizes() {
	local t=0 s
	for s in $(stat -c %s "$@"); do t=$((t + s)); done
	echo "$t"
}

# hold MODE FILE TAG: a Python process holding FILE open (MODE r+b or rb)
# in the background until $T/TAG.go exists; then with r+b it writes new
# bytes at 0 through its descriptor and prints "wrote", with rb it prints
# the sha256 of what it reads through it.  Output in $T/TAG.out.
hold() {
	rm -f "$T/$3.ready" "$T/$3.go"
	"$PY" -c '
import hashlib, os, sys, time
mode, path, ready, go = sys.argv[1:5]
f = open(path, mode, buffering=0)
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.02)
if mode == "r+b":
    f.seek(0)
    f.write(b"NEW BYTES FROM THE HOLDER\n")
    print("wrote")
else:
    print(hashlib.sha256(f.read()).hexdigest())
f.close()' "$1" "$2" "$T/$3.ready" "$T/$3.go" >"$T/$3.out" 2>&1 &
	HOLDER=$!
	wait_for 10 test -e "$T/$3.ready" || bail "holder of $2 ($1) ready" "$(cat "$T/$3.out")"
}

# release TAG: let the holder go on and wait for it (not in a subshell:
# it must be this shell's child); HOUT = its output.
release() {
	local rc=0
	touch "$T/$1.go"
	wait_pid "$HOLDER" 10 || rc=$?
	HOUT=$(cat "$T/$1.out")
	((rc == 0)) || HOUT+=" (holder exit $rc)"
}

# since N: the daemon log from line N+1.
since() { tail -n +"$(($1 + 1))" "$LOG"; }
loglines() { wc -l <"$LOG" 2>/dev/null || echo 0; }

# ==== 1-3: the test's volume, the store on the same file system ======================
D=$VOL/d
mkdir -p "$D" "$VOL/bigdir"
printf 'a small file\n' >"$D/small.txt"
chmod 640 "$D/small.txt"
touch -d '2021-03-04 05:06:07.123456789 UTC' "$D/small.txt"
head -c 8388608 /dev/urandom >"$VOL/bigdir/big.bin"
printf 'old target\n' >"$D/target.txt"
printf 'the source\n' >"$D/source.txt"
head -c 5242880 /dev/urandom >"$D/bigtgt.bin"
head -c 4096 /dev/urandom >"$D/bigsrc.bin"
head -c 200000 /dev/urandom >"$D/held.bin"
printf 'held target\n' >"$D/heldtgt.txt"
printf 'new content\n' >"$D/heldsrc.txt"
printf 'after the copy\n' >"$D/after.txt"
head -c 300000 /dev/urandom >"$D/ro.bin"
printf 'two names\n' >"$D/hl.txt"
ln "$D/hl.txt" "$D/hl2.txt"
declare -A INO IDENT
for f in small.txt target.txt bigtgt.bin held.bin heldtgt.txt after.txt ro.bin hl.txt; do
	save "$D/$f" >/dev/null
	INO[$f]=$(ino "$D/$f")
	IDENT[$f]=$(ident "$D/$f")
done
S_BIG=$(save "$VOL/bigdir/big.bin")
INO_big=$(ino "$VOL/bigdir/big.bin")
S_SRC=$(save "$D/source.txt")
S_BSRC=$(save "$D/bigsrc.bin")
S_HSRC=$(save "$D/heldsrc.txt")
sync

bk_start "$VOL=vol" "$STORE"

# ---- rm of a small file ------------------------------------------------------------
check "rm small.txt" rm "$D/small.txt"
check_eq "rm: one version, reason delete, method link" "1 delete link" "$(vinfo "$D/small.txt")"
versions_json "$D/small.txt"
check_eq "rm: the version: 13 bytes, mode 0640, does not exist" "13 0640 False" \
	"$(jq_ '"%d %s %s" % (J[0]["size"], J[0]["mode"], J[0]["exists"])')"
check_link_object "rm: the store's object is the file's own inode, now with 1 link" \
	"$SV" "${INO[small.txt]}" "$SAVE/d.small.txt"
ab restore "$D/small.txt"
check_eq "rm: restore in place exits 0" 0 "$RC"
check "rm: the file is back, byte-exact" cmp "$SAVE/d.small.txt" "$D/small.txt"
check_eq "rm: ... with mode 640 and its mtime to the nanosecond" \
	"640 $(mtime_ns "$SAVE/d.small.txt")" "$(stat -c %a "$D/small.txt") $(mtime_ns "$D/small.txt")"
check_eq "rm: ... the restored file is not the store's object (its own inode)" 0 \
	"$(objs_of "$SV" "$(ino "$D/small.txt")" | grep -c .)"

# ---- rm of an 8 MiB file, restore-deleted ---------------------------------------------
check "rm bigdir/big.bin (8 MiB)" rm "$VOL/bigdir/big.bin"
check_eq "rm 8 MiB: one version, reason delete, method link" "1 delete link" \
	"$(vinfo "$VOL/bigdir/big.bin")"
check_link_object "rm 8 MiB: the object is the file's inode, 1 link" "$SV" "$INO_big" "$S_BIG"
ab restore-deleted "$VOL/bigdir"
check_eq "rm 8 MiB: restore-deleted: exit 0, 1 restored" "0 1 restored, 0 failed" \
	"$RC $(tail -n 1 <<<"$OUT")"
check "rm 8 MiB: restored byte-exact" cmp "$S_BIG" "$VOL/bigdir/big.bin"
check_eq "rm 8 MiB: ... with its mtime" "$(mtime_ns "$S_BIG")" "$(mtime_ns "$VOL/bigdir/big.bin")"

# ---- mv over a file -------------------------------------------------------------------------
check "mv source.txt over target.txt" mv "$D/source.txt" "$D/target.txt"
check_eq "mv over: one version of the target, reason replace, method link" "1 replace link" \
	"$(vinfo "$D/target.txt")"
check_eq "mv over: no version of the source name" 0 "$(nver "$D/source.txt")"
check "mv over: the target has the source's content" cmp "$S_SRC" "$D/target.txt"
check_link_object "mv over: the object is the old target's inode, 1 link" \
	"$SV" "${INO[target.txt]}" "$SAVE/d.target.txt"
check_version "mv over: the version restores the old target byte-exact" \
	"$D/target.txt" 1 "$SAVE/d.target.txt"
check "mv bigsrc.bin over bigtgt.bin (5 MiB)" mv "$D/bigsrc.bin" "$D/bigtgt.bin"
check_eq "mv over 5 MiB: reason replace, method link" "1 replace link" "$(vinfo "$D/bigtgt.bin")"
check_link_object "mv over 5 MiB: the object is the old target's inode, 1 link" \
	"$SV" "${INO[bigtgt.bin]}" "$SAVE/d.bigtgt.bin"
check_version "mv over 5 MiB: restores byte-exact" "$D/bigtgt.bin" 1 "$SAVE/d.bigtgt.bin"
check "mv over 5 MiB: the target is the source" cmp "$S_BSRC" "$D/bigtgt.bin"

# ---- a file held open for writing ---------------------------------------------------------
hold r+b "$D/held.bin" held
check "rm held.bin while another process holds it open r+b" rm "$D/held.bin"
if [[ -n $COPYM ]]; then
	check_eq "held for writing: one version, reason delete, method $COPYM (not link)" \
		"1 delete $COPYM" "$(vinfo "$D/held.bin")"
else
	check_match "held for writing: one version, reason delete, method copy or clone (not link)" \
		'^1 delete (copy|clone)$' "$(vinfo "$D/held.bin")"
fi
# Not ext4: whichever of the two the file system allows, from here on.
[[ -n $COPYM ]] || COPYM=$(field "$D/held.bin" 1 method)
check_copy_object "held for writing: the store has its own copy, not the file's inode" \
	"$SV" "${IDENT[held.bin]}" "$SAVE/d.held.bin"
release held
check_eq "held for writing: the holder writes through its descriptor and closes" wrote "$HOUT"
# The holder's first write to the deleted file is a change like any other:
# one more version (of the same, original bytes).
check_eq "held for writing: its write to the deleted file kept one more version" \
	"delete:$COPYM,write:$COPYM" "$(vall "$D/held.bin")"
check_version "held for writing: version 1 is still the original bytes" \
	"$D/held.bin" 1 "$SAVE/d.held.bin"
hold r+b "$D/heldtgt.txt" heldtgt
check "mv over heldtgt.txt while another process holds it open r+b" \
	mv "$D/heldsrc.txt" "$D/heldtgt.txt"
check_eq "held target of mv: reason replace, method $COPYM (not link)" "1 replace $COPYM" \
	"$(vinfo "$D/heldtgt.txt")"
check_copy_object "held target of mv: its own copy in the store" \
	"$SV" "${IDENT[heldtgt.txt]}" "$SAVE/d.heldtgt.txt"
release heldtgt
check_eq "held target of mv: the holder writes and closes" wrote "$HOUT"
check_eq "held target of mv: its write to the replaced file kept one more version" \
	"replace:$COPYM,write:$COPYM" "$(vall "$D/heldtgt.txt")"
check_version "held target of mv: version 1 is still the old target" \
	"$D/heldtgt.txt" 1 "$SAVE/d.heldtgt.txt"
check "held target of mv: the new file is untouched by the holder's write" \
	cmp "$S_HSRC" "$D/heldtgt.txt"
check "rm after.txt (nothing holds it)" rm "$D/after.txt"
check_eq "after a writer made a copy, the next delete is a link again" "1 delete link" \
	"$(vinfo "$D/after.txt")"
check_link_object "... its object is its inode, 1 link" "$SV" "${INO[after.txt]}" "$SAVE/d.after.txt"

# ---- a file held open read-only --------------------------------------------------------------
hold rb "$D/ro.bin" ro
check "rm ro.bin while another process holds it open rb" rm "$D/ro.bin"
check_eq "held read-only: reason delete, method $COPYM (not link)" "1 delete $COPYM" \
	"$(vinfo "$D/ro.bin")"
release ro
check_eq "held read-only: the holder still reads the original through its descriptor" \
	"$(sha "$SAVE/d.ro.bin")" "$HOUT"
check_copy_object "held read-only: the store has its own copy, not the file's inode" \
	"$SV" "${IDENT[ro.bin]}" "$SAVE/d.ro.bin"
check_version "held read-only: restores byte-exact" "$D/ro.bin" 1 "$SAVE/d.ro.bin"

# ---- hard links ---------------------------------------------------------------------------------
check "rm hl.txt (hl2.txt is another name of it)" rm "$D/hl.txt"
check_eq "hard link: no version of the removed name (the content stays under the other)" 0 \
	"$(nver "$D/hl.txt")"
check_eq "hard link: nothing of it in the store" 0 "$(objs_of "$SV" "${INO[hl.txt]}" | grep -c .)"
check_eq "hard link: hl2.txt has the content, 1 link now" "links=1 same" \
	"links=$(stat -c %h "$D/hl2.txt") $(cmp -s "$SAVE/d.hl.txt" "$D/hl2.txt" && echo same)"
check "rm hl2.txt (the last name)" rm "$D/hl2.txt"
check_eq "hard link: the last name's delete is a link version" "1 delete link" "$(vinfo "$D/hl2.txt")"
check_link_object "hard link: the object is that inode, 1 link" "$SV" "${INO[hl.txt]}" "$SAVE/d.hl.txt"
check_version "hard link: restores byte-exact" "$D/hl2.txt" 1 "$SAVE/d.hl.txt"

stop_daemon
# small, big, target, bigtgt, after, hl2 linked; ro copied; held and
# heldtgt copied twice each (the delete or replace, then the holder's write).
BYTES=$(sizes "$SAVE"/d.{small.txt,target.txt,bigtgt.bin,held.bin,held.bin,heldtgt.txt,heldtgt.txt,after.txt,ro.bin,hl.txt} "$S_BIG")
if [[ $COPYM == clone ]]; then exp=(11 "$BYTES" 5 0 6 0 0); else exp=(11 "$BYTES" 0 5 6 0 0); fi
check_eq "unload: 11 kept, 6 linked, 5 copied, nothing withdrawn or unshared, nothing failed" \
	"$(expect_unload "${exp[@]}")" "$(unload_line)"
check_store "the store is consistent" "$SV"

# ==== 8: the store hard-linked elsewhere by an administrator (cp -al) ==================
mapfile -t LOBJ < <(sqlite3 "$SV/catalog.db" 'SELECT object FROM versions WHERE method = 3 ORDER BY id')
mapfile -t COBJ < <(sqlite3 "$SV/catalog.db" 'SELECT object FROM versions WHERE method != 3 ORDER BY id')
check_eq "the catalog has the 6 link versions and 5 others" "6 5" "${#LOBJ[@]} ${#COBJ[@]}"
LINO=()
for o in "${LOBJ[@]}"; do LINO+=("$(ino "$SV/objects/$o")"); done
check "cp -al STORE STORE.snap (daemon stopped)" cp -al "$STORE" "$T/store.snap"
check_eq "every object of the store has 2 links now" 2 \
	"$(find "$SV/objects" -type f -exec stat -c %h {} + | sort -u | xargs)"
n0=$(loglines)
bk_start "$VOL=vol" "$STORE"
check_eq "restart: the log says the 6 link versions got their own copy" \
	"backup: store $SV: 6 versions of deleted or replaced files still shared their file (a stop before the change); each has its own copy now" \
	"$(since "$n0" | grep -o 'backup: store .* still shared their file.*')"
check_eq "restart: the versions still list with their reasons and methods" \
	"delete:link|delete:link|replace:link|replace:link|delete:$COPYM,write:$COPYM|replace:$COPYM,write:$COPYM|delete:link|delete:$COPYM|delete:link" \
	"$(for f in "$D/small.txt" "$VOL/bigdir/big.bin" "$D/target.txt" "$D/bigtgt.bin" "$D/held.bin" \
		"$D/heldtgt.txt" "$D/after.txt" "$D/ro.bin" "$D/hl2.txt"; do vall "$f"; done | paste -sd'|')"
check_version "restart: small.txt's version byte-exact" "$D/small.txt" 1 "$SAVE/d.small.txt"
check_version "restart: big.bin's version byte-exact" "$VOL/bigdir/big.bin" 1 "$S_BIG"
check_version "restart: target.txt's version byte-exact" "$D/target.txt" 1 "$SAVE/d.target.txt"
check_version "restart: bigtgt.bin's version byte-exact" "$D/bigtgt.bin" 1 "$SAVE/d.bigtgt.bin"
check_version "restart: after.txt's version byte-exact" "$D/after.txt" 1 "$SAVE/d.after.txt"
check_version "restart: ro.bin's version byte-exact" "$D/ro.bin" 1 "$SAVE/d.ro.bin"
check_version "restart: hl2.txt's version byte-exact" "$D/hl2.txt" 1 "$SAVE/d.hl.txt"
check_version "restart: held.bin's version (a copy) byte-exact" "$D/held.bin" 1 "$SAVE/d.held.bin"
stop_daemon
check_eq "unload after the restart: nothing kept, nothing unshared during the run" \
	"$(expect_unload 0 0 0 0 0 0 0)" "$(unload_line)"
st_links='' snap_links='' moved='' snap_same='' store_same=''
for i in "${!LOBJ[@]}"; do
	o=${LOBJ[i]}
	st_links+=$(stat -c %h "$SV/objects/$o")
	snap_links+=$(stat -c %h "$T/store.snap/vol/objects/$o")
	[[ $(ino "$SV/objects/$o") != "${LINO[i]}" ]] && moved+=y || moved+=n
	[[ $(ino "$T/store.snap/vol/objects/$o") == "${LINO[i]}" ]] && snap_same+=y || snap_same+=n
	cmp -s "$SV/objects/$o" "$T/store.snap/vol/objects/$o" && store_same+=y || store_same+=n
done
check_eq "each link version's object has 1 link in the store again" 111111 "$st_links"
check_eq "... and is a new file (another inode)" yyyyyy "$moved"
check_eq "the snapshot keeps the original files (same inodes), now with 1 link each" \
	"yyyyyy 111111" "$snap_same $snap_links"
check_eq "the store's copies and the snapshot's files have the same bytes" yyyyyy "$store_same"
check_eq "the 5 other versions' objects were left shared with the snapshot (2 links)" "2 2 2 2 2" \
	"$(for o in "${COBJ[@]}"; do stat -c %h "$SV/objects/$o"; done | xargs)"
check_store "after the restart the store is consistent" "$SV"
n0=$(loglines)
bk_start "$VOL=vol" "$STORE"
stop_daemon
check_nomatch "a second restart finds nothing shared any more" 'still shared their file' "$(since "$n0")"

# ==== 4: a delete and a replace refused below the backup filter ===========================
DV=$(new_volume dvol)
head -c 40000 /dev/urandom >"$DV/keep.txt"
printf 'other file\n' >"$DV/other.txt"
printf 'free file\n' >"$DV/free.txt"
S_KEEP=$(save "$DV/keep.txt")
S_OTHER=$(save "$DV/other.txt")
S_FREE=$(save "$DV/free.txt")
INO_keep=$(ino "$DV/keep.txt")
INO_other=$(ino "$DV/other.txt")
INO_free=$(ino "$DV/free.txt")
FARGS=()
bk_args backup "$T/store-deny"
add_filter low 140000 DenyName=keep.txt DenyMajor=IRP_MJ_SET_INFORMATION
start_daemon -v "$DV=dvol" "${FARGS[@]}" --runtime-dir "$RUN" --services-dir "$SVC"
check_eq "deny: backup attached (store $T/store-deny/dvol)" 1 \
	"$(grep -cF "backup: keeping versions of $DV in $T/store-deny/dvol" "$LOG")"
out=$(rm "$DV/keep.txt" 2>&1)
check_eq "deny: rm keep.txt fails (exit 1, Permission denied)" \
	"1 rm: cannot remove '$DV/keep.txt': Permission denied" "$? $out"
check "deny: keep.txt is still there with its content" cmp "$S_KEEP" "$DV/keep.txt"
check_eq "deny: keep.txt has 1 link (the store's was removed)" 1 "$(stat -c %h "$DV/keep.txt")"
check_eq "deny: no version of keep.txt (withdrawn)" 0 "$(nver "$DV/keep.txt")"
check_eq "deny: nothing of keep.txt in the store" 0 "$(objs_of "$T/store-deny/dvol" "$INO_keep" | grep -c .)"
out=$(mv "$DV/keep.txt" "$DV/other.txt" 2>&1)
check_eq "deny: mv keep.txt over other.txt fails (exit 1)" 1 "$?"
check_match "... Permission denied" 'Permission denied' "$out"
check "deny: other.txt (the target) is unchanged" cmp "$S_OTHER" "$DV/other.txt"
check "deny: keep.txt too" cmp "$S_KEEP" "$DV/keep.txt"
check_eq "deny: no version of other.txt (withdrawn), 1 link" "0 1" \
	"$(nver "$DV/other.txt") $(stat -c %h "$DV/other.txt")"
check_eq "deny: nothing of other.txt in the store" 0 \
	"$(objs_of "$T/store-deny/dvol" "$INO_other" | grep -c .)"
check_eq "deny: the filter below saw the link and the check after it (FSCTLs) on keep.txt" \
	"low pre,low post,low pre,low post" "$(ops_seq IRP_MJ_FILE_SYSTEM_CONTROL '\keep.txt')"
check_eq "... and on other.txt (the target of the mv)" \
	"low pre,low post,low pre,low post" "$(ops_seq IRP_MJ_FILE_SYSTEM_CONTROL '\other.txt')"
check_eq "... and it refused both changes: they never reached the file system" \
	"low pre" "$(ops_seq IRP_MJ_SET_INFORMATION '\keep.txt' | tr , '\n' | sort -u)"
check "deny: rm free.txt succeeds" rm "$DV/free.txt"
check_eq "deny: free.txt: reason delete, method link" "1 delete link" "$(vinfo "$DV/free.txt")"
check_link_object "deny: free.txt's object is its inode, 1 link" "$T/store-deny/dvol" "$INO_free" "$S_FREE"
check_version "deny: free.txt restores byte-exact" "$DV/free.txt" 1 "$S_FREE"
stop_daemon
# "linked as they went" counts the 2 withdrawn links too.
check_eq "deny: unload: 1 kept, 3 linked, 2 of them withdrawn as their change failed" \
	"$(expect_unload 1 10 0 0 3 2 0)" "$(unload_line)"
check_match "deny: the unload line says 2 withdrawn" ' 2 withdrawn as their change failed' "$(unload_line)"
check_store "deny: the store is consistent" "$T/store-deny/dvol"

# ==== 5: the store on another file system (tmpfs) ======================================
mkdir "$T/tmpfs"
check "a tmpfs for the store" mount -t tmpfs -o size=64m,mode=755 tmpfs "$T/tmpfs"
FV=$(new_volume fvol)
head -c 100000 /dev/urandom >"$FV/f.bin"
printf 'replaced\n' >"$FV/tgt.txt"
printf 'replacing\n' >"$FV/src.txt"
S_F=$(save "$FV/f.bin")
S_T=$(save "$FV/tgt.txt")
n0=$(loglines)
bk_start "$FV=fvol" "$T/tmpfs/store"
check "other fs: rm f.bin" rm "$FV/f.bin"
check_eq "other fs: reason delete, method copy" "1 delete copy" "$(vinfo "$FV/f.bin")"
check_version "other fs: restores byte-exact" "$FV/f.bin" 1 "$S_F"
check "other fs: mv over tgt.txt" mv "$FV/src.txt" "$FV/tgt.txt"
check_eq "other fs: reason replace, method copy" "1 replace copy" "$(vinfo "$FV/tgt.txt")"
check_version "other fs: restores byte-exact" "$FV/tgt.txt" 1 "$S_T"
stop_daemon
check_nomatch "other fs: the log reports no failure" 'backup: .*(cannot|failed|error)' \
	"$(since "$n0" | grep -v 'backup: unloaded;')"
check_eq "other fs: unload: 2 copied, 0 linked, 0 failed" \
	"$(expect_unload 2 "$(sizes "$S_F" "$S_T")" 0 2 0 0 0)" "$(unload_line)"
check_store "other fs: the store is consistent" "$T/tmpfs/store/fvol"
check "the tmpfs unmounts" umount "$T/tmpfs"

# ==== 6: StoreMethod=copy ===============================================================
CV=$(new_volume cvol)
head -c 100000 /dev/urandom >"$CV/c.bin"
printf 'replaced\n' >"$CV/tgt.txt"
printf 'replacing\n' >"$CV/src.txt"
S_C=$(save "$CV/c.bin")
S_T=$(save "$CV/tgt.txt")
INO_c=$(ident "$CV/c.bin")
bk_start "$CV=cvol" "$T/store-copy" StoreMethod=copy
check "StoreMethod=copy: rm c.bin" rm "$CV/c.bin"
check_eq "StoreMethod=copy: rm: reason delete, method copy" "1 delete copy" "$(vinfo "$CV/c.bin")"
check_copy_object "StoreMethod=copy: rm: a copy in the store, not the inode" \
	"$T/store-copy/cvol" "$INO_c" "$S_C"
check "StoreMethod=copy: mv over tgt.txt" mv "$CV/src.txt" "$CV/tgt.txt"
check_eq "StoreMethod=copy: mv over: reason replace, method copy" "1 replace copy" \
	"$(vinfo "$CV/tgt.txt")"
check_version "StoreMethod=copy: restores byte-exact" "$CV/tgt.txt" 1 "$S_T"
stop_daemon
check_eq "StoreMethod=copy: unload: 2 copied, 0 linked" \
	"$(expect_unload 2 "$(sizes "$S_C" "$S_T")" 0 2 0 0 0)" "$(unload_line)"
check_store "StoreMethod=copy: the store is consistent" "$T/store-copy/cvol"

# ==== swapbuffers below the filter: it refuses the link, the copy is plaintext =======
SB=$BUILD/samples/swapbuffers/swapbuffers.so
WV=$(new_volume wvol)
head -c 150000 /dev/urandom >"$T/w.plain"
FARGS=()
bk_args backup "$T/store-sb"
start_daemon -v "$WV=wvol" "${FARGS[@]}" -f "$SB@145000=sb" -p "sb.Key=link test key" \
	--runtime-dir "$RUN" --services-dir "$SVC"
check "swapbuffers: write a file through the volume" cp "$T/w.plain" "$WV/w.bin"
check "swapbuffers: rm w.bin" rm "$WV/w.bin"
check_eq "swapbuffers: reason delete, method copy (the link was refused)" "1 delete copy" \
	"$(vinfo "$WV/w.bin")"
check_version "swapbuffers: the version is the plaintext" "$WV/w.bin" 1 "$T/w.plain"
stop_daemon
check_eq "swapbuffers: unload: 1 copied, 0 linked" \
	"$(expect_unload 1 150000 0 1 0 0 0)" "$(unload_line)"

# ==== 7: an XFS reflink image ==============================================================
XFS=$T/xfs
xfs_ok=0
xfs_image "$XFS" "XFS part" && xfs_ok=1
if ((xfs_ok)); then
	XV=$XFS/vol
	XS=$XFS/store/xvol
	mkdir -m 755 "$XV"
	head -c 3145728 /dev/urandom >"$XV/x.bin"
	printf 'small file\n' >"$XV/s.txt"
	printf 'replaced\n' >"$XV/tgt.txt"
	printf 'replacing\n' >"$XV/src.txt"
	S_X=$(save "$XV/x.bin")
	S_S=$(save "$XV/s.txt")
	S_T=$(save "$XV/tgt.txt")
	INO_x=$(ino "$XV/x.bin")
	INO_t=$(ino "$XV/tgt.txt")
	sync
	bk_start "$XV=xvol" "$XFS/store"
	check "XFS: rm x.bin (3 MiB)" rm "$XV/x.bin"
	check_eq "XFS: rm: reason delete, method link" "1 delete link" "$(vinfo "$XV/x.bin")"
	check_link_object "XFS: rm: the object is the file's inode, 1 link" "$XS" "$INO_x" "$S_X"
	check_version "XFS: rm: restores byte-exact" "$XV/x.bin" 1 "$S_X"
	echo changed >"$XV/s.txt"
	check_eq "XFS: echo > s.txt: reason truncate, method clone" "1 truncate clone" "$(vinfo "$XV/s.txt")"
	check_version "XFS: echo >: restores byte-exact" "$XV/s.txt" 1 "$S_S"
	check "XFS: mv over tgt.txt" mv "$XV/src.txt" "$XV/tgt.txt"
	check_eq "XFS: mv over: reason replace, method link" "1 replace link" "$(vinfo "$XV/tgt.txt")"
	check_link_object "XFS: mv over: the object is the old target's inode, 1 link" "$XS" "$INO_t" "$S_T"
	stop_daemon
	check_eq "XFS: unload: 1 reflinked, 2 linked" \
		"$(expect_unload 3 "$(sizes "$S_X" "$S_S" "$S_T")" 1 0 2 0 0)" "$(unload_line)"
	check_store "XFS: the store is consistent" "$XS"
	check "the XFS image unmounts" umount "$XFS"
fi

# ==== a file still open read-only when it is deleted ===========================================
# A program that has the file open read-only when it is deleted still
# reaches its inode: it can open it for writing again through /proc/self/fd
# (bash: echo > /proc/self/fd/N), and fstat tells it how many names the
# inode has.  So the version is a copy, and the file has no name left.
OV=$(new_volume ovol)
head -c 100000 /dev/urandom >"$OV/r1.bin"
head -c 100000 /dev/urandom >"$OV/r2.bin"
S_R1=$(save "$OV/r1.bin")
bk_start "$OV=ovol" "$T/store-open"
exec 3<"$OV/r1.bin"
check "open read-only: rm r1.bin while this shell holds it on fd 3" rm "$OV/r1.bin"
check_eq "open read-only: reason delete, method copy (not link)" "1 delete copy" "$(vinfo "$OV/r1.bin")"
check "open read-only: echo > /proc/self/fd/3 (reopened for writing) succeeds" \
	sh -c "echo overwritten >/proc/self/fd/3"
exec 3<&-
check_version "open read-only: a write through /proc/self/fd after the delete does not change the version" \
	"$OV/r1.bin" 1 "$S_R1"
check_eq "open read-only: fstat of the deleted file says 0 links" 0 \
	"$(py 'f = os.open(A[0], os.O_RDONLY); os.unlink(A[0]); print(os.fstat(f).st_nlink)' "$OV/r2.bin")"
check_eq "open read-only: (that delete was a copy too)" "1 delete copy" "$(vinfo "$OV/r2.bin")"

# ==== a file held by an O_PATH descriptor when it is deleted ===================================
# An O_PATH descriptor is no open to the volume (the kernel does not send
# it), so the delete links the file.  Its holder can still reach the inode:
# reopen it for writing or truncating through /proc/self/fd, or truncate it
# by that path.  Each gives the version its own copy before it changes.
for k in 1 2 3 4; do head -c 100000 /dev/urandom >"$OV/p$k.bin"; done
S_P1=$(save "$OV/p1.bin"); S_P2=$(save "$OV/p2.bin")
S_P3=$(save "$OV/p3.bin"); S_P4=$(save "$OV/p4.bin")
INO_P4=$(ino "$OV/p4.bin")
# opath FILE HOW: hold FILE by O_PATH, delete it, then change it as HOW
# says through /proc/self/fd; prints its size as seen through the descriptor.
opath() {
	py '
p, how = A
fd = os.open(p, os.O_PATH)
os.unlink(p)
via = "/proc/self/fd/%d" % fd
if how == "write":
    w = os.open(via, os.O_WRONLY); os.write(w, b"overwritten"); os.close(w)
elif how == "trunc":
    w = os.open(via, os.O_WRONLY | os.O_TRUNC); os.write(w, b"new"); os.close(w)
elif how == "truncate":
    os.truncate(via, 7)
elif how == "read":
    r = os.open(via, os.O_RDONLY); os.read(r, 10); os.close(r)
print(os.stat(via).st_size)' "$@"
}
check_eq "O_PATH: reopened for writing after the delete (the write lands)" 100000 "$(opath "$OV/p1.bin" write)"
check_eq "O_PATH: the delete was a link" "1 delete link" "$(vinfo "$OV/p1.bin")"
check_version "O_PATH: a write through /proc/self/fd after the delete does not change the version" \
	"$OV/p1.bin" 1 "$S_P1"
check_eq "O_PATH: reopened with O_TRUNC after the delete" 3 "$(opath "$OV/p2.bin" trunc)"
check_version "O_PATH: an O_TRUNC reopen after the delete does not change the version" \
	"$OV/p2.bin" 1 "$S_P2"
check_eq "O_PATH: truncate(2) through /proc/self/fd after the delete" 7 "$(opath "$OV/p3.bin" truncate)"
check_version "O_PATH: a truncate after the delete does not change the version" \
	"$OV/p3.bin" 1 "$S_P3"
check_eq "O_PATH: reopened read-only after the delete" 100000 "$(opath "$OV/p4.bin" read)"
check_link_object "O_PATH: a read-only reopen leaves the version the file's inode" \
	"$T/store-open/ovol" "$INO_P4" "$S_P4"
stop_daemon
check_eq "O_PATH: unload: 3 of the 4 links given their own copy" \
	"4 linked 3 unshared" \
	"$(unload_line | sed -n 's/.* \([0-9]*\) linked as they went; [0-9]* withdrawn as their change failed, \([0-9]*\) given their own copy.*/\1 linked \2 unshared/p')"
check_store "O_PATH: the store is consistent" "$T/store-open/ovol"

# ==== a daemon without CAP_DAC_READ_SEARCH ====================================================
# The link is made through /proc/self/fd, which needs no capability
# (linkat with AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH before Linux 6.10):
# a daemon without it links deleted and replaced files all the same.
head -c 300000 /dev/urandom >"$OV/c1.bin"
head -c 5000 /dev/urandom >"$OV/c2.bin"
head -c 5000 /dev/urandom >"$OV/c3.bin"
S_C1=$(save "$OV/c1.bin"); S_C2=$(save "$OV/c2.bin"); S_C3=$(save "$OV/c3.bin")
INO_C1=$(ino "$OV/c1.bin")
DAEMON_WRAP=(setpriv --bounding-set=-dac_read_search)
bk_start "$OV=ovol" "$T/store-open"
DAEMON_WRAP=()
check_eq "no CAP_DAC_READ_SEARCH: the daemon runs without it" 0 \
	"$(( (0x$(awk '/^CapEff:/ {print $2}' "/proc/$(cat "$PIDFILE")/status") >> 2) & 1 ))"
check "no CAP_DAC_READ_SEARCH: rm c1.bin" rm "$OV/c1.bin"
check_eq "no CAP_DAC_READ_SEARCH: the delete was a link" "1 delete link" "$(vinfo "$OV/c1.bin")"
check_link_object "no CAP_DAC_READ_SEARCH: the version is the file's own inode" \
	"$T/store-open/ovol" "$INO_C1" "$S_C1"
check_version "no CAP_DAC_READ_SEARCH: the deleted file restores byte-exact" \
	"$OV/c1.bin" 1 "$S_C1"
check "no CAP_DAC_READ_SEARCH: mv c2.bin over c3.bin" mv "$OV/c2.bin" "$OV/c3.bin"
check_eq "no CAP_DAC_READ_SEARCH: the replace was a link" "1 replace link" "$(vinfo "$OV/c3.bin")"
check_version "no CAP_DAC_READ_SEARCH: the replaced file restores byte-exact" \
	"$OV/c3.bin" 1 "$S_C3"
check_eq "no CAP_DAC_READ_SEARCH: c3.bin now has c2.bin's bytes" "$(sha "$S_C2")" "$(sha "$OV/c3.bin")"
stop_daemon
check_store "no CAP_DAC_READ_SEARCH: the store is consistent" "$T/store-open/ovol"

check_nomatch "no errors, failed confirmations or sanitizer reports in the daemon's log and output" \
	" (emerg|alert|crit|err): |backup: cannot|AddressSanitizer|runtime error|LeakSanitizer" \
	"$(cat "$LOG" "$T/fltmgrd.out")"
