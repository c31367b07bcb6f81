#!/bin/bash
# t_backup_dedupe: the backup filter's ContentHash parameter: every copied
# or cloned version gets the SHA-256 of its content, and a version
# identical to one kept already is stored once (a second name of its file).
#
# Covers: a file rewritten A, B, A, B, A (4 versions): each "sha256" is the
# sha256sum of the content it restores, byte-exact, versions 1 and 3 are one
# file in objects/ and 2 and 4 another, `show` prints the hash; the same
# content under four paths is one file; rm and mv over (method link) are
# not hashed; versions evicted by MaxVersions (purge after a restart with a
# lower limit, then as new versions come): the content stays while one
# version names it and goes with the last; usage counts one file once
# (disk_bytes) and every version in full (bytes); ContentHash off (the
# default, and dword:0): "sha256": null, one file per version; malformed
# values (dword:2, a string) make the filter fail to load; reflinks on an
# XFS loop image (method clone; skipped without a loop device);
# Durability=power; the unload line's count of versions stored once;
# kill -9 right after a burst of identical versions and during a load of
# them: after the restart every version restores byte-exact and its hash,
# when it has one, matches.  The store is checked against its catalog after
# every stop, and each row's hash against its file.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/helpers/backup.sh"

SAVE=$T/save
mkdir -m 755 "$SAVE"
METHOD=${AUTO_METHOD:-clone}

# Contents of the same size (sharing must go by the hash, not the size).
head -c 8192 /dev/urandom >"$SAVE/A"
head -c 8192 /dev/urandom >"$SAVE/B"
head -c 5000 /dev/urandom >"$SAVE/S"
head -c 6000 /dev/urandom >"$SAVE/T"
head -c 7000 /dev/urandom >"$SAVE/U"
head -c 9000 /dev/urandom >"$SAVE/W"
head -c 1048576 /dev/urandom >"$SAVE/M"
for c in A B S T U W M; do declare "SHA_$c=$(sha "$SAVE/$c")"; done

# put CONTENT FILE: FILE's content becomes $SAVE/CONTENT (an O_TRUNC open).
put() { cat "$SAVE/$1" >"$2"; }

# abab FILE: FILE written A, B, A, B, A: versions A, B, A, B.
abab() {
	local c
	for c in A B A B A; do put "$c" "$1"; done
}

# hashes FILE: the "sha256" of FILE's versions, oldest first ("None": null).
hashes() {
	versions_json "$1"
	jq_ '" ".join(str(e.get("sha256", "missing")) for e in J)'
}

# methods FILE
methods() {
	versions_json "$1"
	jq_ '" ".join(e["method"] for e in J)'
}

# restored_hashes FILE: sha256sum of each version of FILE restored with --to.
restored_hashes() {
	local n out=
	versions_json "$1"
	for n in $(jq_ '" ".join(str(e["version"]) for e in J)'); do
		ab restore "$1" --version "$n" --to "$T/out/rh.$n"
		if [[ $RC -ne 0 ]]; then
			out+="ERR($n: $ERR) "
		else
			out+="$(sha "$T/out/rh.$n") "
		fi
		rm -f "$T/out/rh.$n"
	done
	printf '%s\n' "${out% }"
}

# check_restores DESC FILE CONTENT...: version i of FILE restores byte-exact
# to $SAVE/<the i-th CONTENT>, and there are as many versions.
check_restores() {
	local desc=$1 file=$2 n=0 c bad=
	shift 2
	[[ $(nver "$file") == "$#" ]] || bad="$(nver "$file") versions, expected $#; "
	for c in "$@"; do
		n=$((n + 1))
		ab restore "$file" --version "$n" --to "$T/out/cr.$n"
		if [[ $RC -ne 0 ]]; then
			bad+="v$n: exit $RC $ERR; "
		elif ! cmp -s "$SAVE/$c" "$T/out/cr.$n"; then
			bad+="v$n differs from $c; "
		fi
		rm -f "$T/out/cr.$n"
	done
	check_eq "$desc" "" "$bad"
}

# check_each_restores DESC N CONTENT: version N of each of c0.bin to c3.bin
# restores byte-exact to $SAVE/CONTENT.
check_each_restores() {
	local i bad=
	for i in 0 1 2 3; do
		ab restore "$VOL/c$i.bin" --version "$2" --to "$T/out/$3$i"
		cmp -s "$SAVE/$3" "$T/out/$3$i" || bad+="c$i: $RC $ERR; "
	done
	check_eq "$1" "" "$bad"
}

# settle: with a daemon running, wait until every version captured has its
# row (altbackup usage waits for the committer; so do list and restore).
settle() {
	[[ -n $DAEMON_PID ]] && "${AB[@]}" usage >/dev/null 2>&1
	return 0
}

# shapes STOREDIR REL...: the files of the versions of each REL (volume
# path) in objects/, in order, as "<letter><links>": the same letter for
# the same inode, st_nlink after it ("a2 b2 a2 b2"; "-" when missing).
# Read from the catalog (read-only) and objects/.
shapes() {
	local sv=$1
	shift
	settle
	"$PY" - "$sv" "$@" <<'EOF' 2>&1
import os, sqlite3, sys
sv = sys.argv[1]
db = sqlite3.connect("file:%s/catalog.db?mode=ro" % sv, uri=True)
seen, out = {}, []
for rel in sys.argv[2:]:
    for (obj,) in db.execute("SELECT object FROM versions WHERE path = ? ORDER BY version", (rel,)):
        try:
            st = os.lstat(os.path.join(sv, "objects", obj))
        except FileNotFoundError:
            out.append("-")
            continue
        letter = seen.setdefault(st.st_ino, "abcdefghijklmnopqrstuvwxyz"[len(seen)])
        out.append("%s%d" % (letter, st.st_nlink))
print(" ".join(out))
EOF
}

# objects STOREDIR [MIN]: "<names> <inodes>" of the regular files in
# objects/ (with MIN=+0c only the non-empty ones: a running store keeps
# empty files ready there).
objects() {
	local names inodes
	settle
	names=$(find "$1/objects" -type f ${2:+-size "$2"} | wc -l)
	inodes=$(find "$1/objects" -type f ${2:+-size "$2"} -printf '%i\n' | sort -u | wc -l)
	echo "$names $inodes"
}

# holding STOREDIR SHA: how many names in objects/ hold content SHA.
holding() {
	local f n=0
	settle
	while IFS= read -r f; do
		[[ $(sha "$f") == "$2" ]] && n=$((n + 1))
	done < <(find "$1/objects" -type f -size +0c)
	echo "$n"
}

# check_hashes DESC STOREDIR: (daemon stopped) every row with a hash names
# a file whose SHA-256 it is, the rows of one hash and size name one file,
# and only copies and clones are hashed.
check_hashes() {
	local out rc
	out=$("$PY" - "$2" <<'EOF2' 2>&1
import hashlib, os, sqlite3, sys
sv = sys.argv[1]
db = sqlite3.connect("file:%s/catalog.db?mode=ro" % sv, uri=True)
bad, files, n = [], {}, 0
for rid, obj, size, method, h in db.execute(
        "SELECT id, object, size, method, hash FROM versions"):
    if h is None:
        continue
    n += 1
    if method not in (1, 2):
        bad.append("row %d: method %d hashed" % (rid, method))
    p = os.path.join(sv, "objects", obj)
    try:
        st = os.lstat(p)
        got = hashlib.sha256(open(p, "rb").read()).digest()
    except OSError as e:
        bad.append("row %d: %s" % (rid, e))
        continue
    if got != h:
        bad.append("row %d: hash %s, its file %s" % (rid, h.hex(), got.hex()))
    files.setdefault((h, size), set()).add(st.st_ino)
for (h, size), inos in files.items():
    if len(inos) != 1:
        bad.append("%s (%d bytes) in %d files" % (h.hex(), size, len(inos)))
print("%d hashed rows, %d contents" % (n, len(files)))
print("\n".join(bad))
sys.exit(1 if bad else 0)
EOF2
)
	rc=$?
	pass_or_fail "$1" "$rc" "$out"
}

# deduped: the count of the last unload line ("none" if there is none).
deduped() {
	local l
	l=$(grep 'backup: unloaded;' "$LOG" | tail -n 1)
	[[ $l =~ ([0-9]+)\ stored\ once\ as\ identical\ to\ another ]] &&
		echo "${BASH_REMATCH[1]}" || echo none
}

# ---- ContentHash on, ext4 (copy): A, B, A, B, A -----------------------------------
STORE=$T/store
SV=$STORE/vol
bk_start "$VOL=vol" "$STORE" ContentHash=dword:1
abab "$VOL/ab.bin"
check_eq "ContentHash: A,B,A,B,A kept 4 versions, method $METHOD" \
	"4 $METHOD $METHOD $METHOD $METHOD" "$(nver "$VOL/ab.bin") $(methods "$VOL/ab.bin")"
versions_json "$VOL/ab.bin"
check_eq "JSON: every version has the key sha256" \
	"exists,id,method,mode,owner_gid,owner_uid,path,pid,process,reason,sha256,size,time,time_ns,uid,version" \
	"$(jq_ '",".join(sorted(set.intersection(*[set(e) for e in J])))')"
check_eq "sha256 of versions 1-4: sha256sum of A, B, A, B" \
	"$SHA_A $SHA_B $SHA_A $SHA_B" "$(hashes "$VOL/ab.bin")"
check_match "sha256 is 64 lowercase hex digits" '^[0-9a-f]{64}$' \
	"$(jq_ 'J[0]["sha256"]')"
check_eq "each version's sha256 is the sha256sum of what it restores" \
	"$(hashes "$VOL/ab.bin")" "$(restored_hashes "$VOL/ab.bin")"
check_restores "versions 1-4 restore byte-exact: A, B, A, B" "$VOL/ab.bin" A B A B
check_eq "versions 1 and 3 are one file in objects/, 2 and 4 another (2 links each)" \
	"a2 b2 a2 b2" "$(shapes "$SV" /ab.bin)"
check_eq "objects/: 4 names, 2 files (non-empty)" "4 2" "$(objects "$SV" +0c)"
ID3=$(id_of "$VOL/ab.bin" 3)
ab show "$VOL/ab.bin" --id "$ID3"
check_eq "show --id (version 3): a line 'sha256:   <hex>' (A)" "0 sha256:   $SHA_A" \
	"$RC $(grep '^sha256:' <<<"$OUT")"
ab --json show "$VOL/ab.bin" --id "$ID3"
check_eq "show --json --id: sha256 of A" "0 $SHA_A" \
	"$RC $(jq_ '(J[0] if isinstance(J, list) else J)["sha256"]')"

# The same content under four names.
put S "$VOL/c0.bin"
for i in 1 2 3; do cp "$VOL/c0.bin" "$VOL/c$i.bin"; done
for i in 0 1 2 3; do put T "$VOL/c$i.bin"; done
check_eq "4 files of content S, each overwritten: a version each, sha256 of S" \
	"$SHA_S $SHA_S $SHA_S $SHA_S" \
	"$(for i in 0 1 2 3; do hashes "$VOL/c$i.bin"; done | xargs)"
check_eq "the 4 versions of 4 paths are one file (4 links)" "a4 a4 a4 a4" \
	"$(shapes "$SV" /c0.bin /c1.bin /c2.bin /c3.bin)"
check_each_restores "... each restores byte-exact" 1 S

# Deleted and replaced files are linked: never hashed.
put U "$VOL/rm.bin"
rm "$VOL/rm.bin"
put W "$VOL/over.bin"
put B "$VOL/src.bin"
mv "$VOL/src.bin" "$VOL/over.bin"
check_eq "rm: method link, sha256 null" "link None" "$(methods "$VOL/rm.bin") $(hashes "$VOL/rm.bin")"
check_eq "mv over a file: method link, sha256 null" "link None" \
	"$(methods "$VOL/over.bin") $(hashes "$VOL/over.bin")"
check_eq "... it is its own file (1 link)" "a1" "$(shapes "$SV" /over.bin)"
ab show "$VOL/rm.bin" --id "$(id_of "$VOL/rm.bin" 1)"
check_eq "show of a link version: no sha256 line" "0 " "$RC $(grep '^sha256' <<<"$OUT")"
check_version "rm: the version restores byte-exact" "$VOL/rm.bin" 1 "$SAVE/U"
check_version "mv over: the version restores byte-exact" "$VOL/over.bin" 1 "$SAVE/W"
stop_daemon
check_eq "unload: '5 stored once as identical to another' (2 of ab.bin, 3 of c1-c3)" 5 "$(deduped)"
check_match "unload: the line's new parts" \
	'failed; [0-9]+ stored once as identical to another; [0-9]+ copies staged in memory, [0-9]+ found the staging area full; the store synced [0-9]+ times before a program.s sync; its syncs in all: [0-9]+ file by file, [0-9]+ whole, [0-9]+ by one commit of its log' \
	"$(grep 'backup: unloaded;' "$LOG" | tail -n 1)"
check_store "after stop: the store is consistent" "$SV"
check_hashes "after stop: every hash is its file's, one file per content" "$SV"
check_eq "after stop: objects/ has 10 names, 5 files (ab 2, c 1, rm 1, over 1)" "10 5" "$(objects "$SV")"

# ---- eviction: the shared content goes with its last version -----------------------
bk_start "$VOL=vol" "$STORE" ContentHash=dword:1 MaxVersions=dword:1
# A version identical to one of the last run shares its file (before the
# purge: MaxVersions applies to y.bin's own versions only as they come).
put B "$VOL/y.bin"
put A "$VOL/y.bin"
check_eq "after a restart: a new version of content B shares the last run's file (3 links)" \
	"$SHA_B a2 b3 a2 b3 b3" "$(hashes "$VOL/y.bin") $(shapes "$SV" /ab.bin /y.bin)"
ab --json purge
check_eq "purge with MaxVersions 1: exit 0" 0 "$RC"
check_eq "ab.bin: only version 4 (B) is left, one file with y.bin's version (2 links)" "4 a2 a2" \
	"$(versions_json "$VOL/ab.bin"; jq_ '" ".join(str(e["version"]) for e in J)') $(shapes "$SV" /ab.bin /y.bin)"
check_version "... version 4 restores byte-exact" "$VOL/ab.bin" 4 "$SAVE/B"
check_version "... y.bin's version 1 too" "$VOL/y.bin" 1 "$SAVE/B"
check_eq "... no file of content A in the store; content B in 2 names" "0 2" \
	"$(holding "$SV" "$SHA_A") $(holding "$SV" "$SHA_B")"
check_eq "c0-c3 (one version each) untouched: one file, 4 links" "a4 a4 a4 a4" \
	"$(shapes "$SV" /c0.bin /c1.bin /c2.bin /c3.bin)"
for i in 0 1 2; do put U "$VOL/c$i.bin"; done
check_eq "c0-c2 overwritten: each keeps version 2 (T), version 1 evicted" "2 2 2" \
	"$(for i in 0 1 2; do versions_json "$VOL/c$i.bin"; jq_ '" ".join(str(e["version"]) for e in J)'; done | xargs)"
check_eq "... their versions share one file (3 links); c3's S has 1 link left" "a3 a3 a3 b1" \
	"$(shapes "$SV" /c0.bin /c1.bin /c2.bin /c3.bin)"
check_version "... c3's version 1 (S) still restores byte-exact" "$VOL/c3.bin" 1 "$SAVE/S"
check_eq "... S in one name, T in 3" "1 3" "$(holding "$SV" "$SHA_S") $(holding "$SV" "$SHA_T")"
put U "$VOL/c3.bin"
check_eq "c3 overwritten: S's last version evicted, T now 4 links" "a4 a4 a4 a4" \
	"$(shapes "$SV" /c0.bin /c1.bin /c2.bin /c3.bin)"
check_eq "... no file of content S is left in the store" 0 "$(holding "$SV" "$SHA_S")"
check_each_restores "... each version 2 restores byte-exact (T)" 2 T
stop_daemon
check_eq "unload: 4 stored once (y.bin's B, c1-c3's T shared with c0's)" 4 "$(deduped)"
check_store "after the evictions: the store is consistent" "$SV"
check_hashes "after the evictions: every hash is its file's, one file per content" "$SV"
check_eq "after stop: 8 names, 4 files (ab and y B, c T x4, rm, over)" "8 4" "$(objects "$SV")"

# ---- usage: N identical 1 MiB versions -------------------------------------------------
# usage_run NAME [VALUE=DATA...]: a fresh volume, 4 identical versions of
# a 1 MiB file; leaves "versions bytes disk_bytes" in USAGE.
usage_run() {
	local name=$1 v
	shift
	v=$(new_volume "$name")
	bk_start "$v=$name" "$T/store-$name" "$@"
	put M "$v/big.bin"
	for i in 1 2 3 4; do put M "$v/big.bin"; done
	SHAPES=$(shapes "$T/store-$name/$name" /big.bin)
	ab --json usage "$v"
	USAGE=$(jq_ '" ".join(str(J[0][k]) for k in ("versions", "bytes", "disk_bytes"))')
	check_restores "$name: the 4 versions restore byte-exact" "$v/big.bin" M M M M
	stop_daemon
	check_store "$name: the store is consistent" "$T/store-$name/$name"
	check_hashes "$name: every hash is its file's, one file per content" "$T/store-$name/$name"
}
usage_run uvol ContentHash=dword:1
check_eq "ContentHash: 4 identical 1 MiB versions are one file (4 links)" "a4 a4 a4 a4" "$SHAPES"
read -r u_n u_bytes u_disk <<<"$USAGE"
diag "usage, ContentHash on: $USAGE"
check_eq "usage: 4 versions, bytes 4 MiB (each in full)" "4 4194304" "$u_n $u_bytes"
check "usage: disk_bytes counts the file once: >= 1 MiB and < 2 MiB ($u_disk)" \
	test "$u_disk" -ge 1048576 -a "$u_disk" -lt 2097152
check_eq "unload: 3 stored once" 3 "$(deduped)"

# ---- ContentHash off ---------------------------------------------------------------------------
usage_run offvol
check_eq "ContentHash off: 4 identical versions are 4 files" "a1 b1 c1 d1" "$SHAPES"
read -r u_n u_bytes u_disk <<<"$USAGE"
diag "usage, ContentHash off: $USAGE"
check_eq "ContentHash off: usage 4 versions, bytes 4 MiB" "4 4194304" "$u_n $u_bytes"
check "ContentHash off: disk_bytes >= 4 MiB ($u_disk)" test "$u_disk" -ge 4194304
OV=$(new_volume ovol)
bk_start "$OV=ovol" "$T/store-off"
abab "$OV/ab.bin"
check_eq "ContentHash off (default): A,B,A,B,A kept 4 versions, sha256 null" \
	"4 None None None None" "$(nver "$OV/ab.bin") $(hashes "$OV/ab.bin")"
check_eq "ContentHash off: 4 files of 1 link" "a1 b1 c1 d1" "$(shapes "$T/store-off/ovol" /ab.bin)"
check_restores "ContentHash off: versions restore byte-exact: A, B, A, B" "$OV/ab.bin" A B A B
ab show "$OV/ab.bin" --id "$(id_of "$OV/ab.bin" 1)"
check_eq "ContentHash off: show prints no sha256 line" "0 " "$RC $(grep '^sha256' <<<"$OUT")"
stop_daemon
check_eq "ContentHash off: unload says 0 stored once" 0 "$(deduped)"
check_store "ContentHash off: the store is consistent" "$T/store-off/ovol"
check_eq "ContentHash off: objects/ has 4 names, 4 files" "4 4" "$(objects "$T/store-off/ovol")"

bk_start "$OV=ovol" "$T/store-off" ContentHash=dword:0
put B "$OV/zero.bin"
put B "$OV/zero.bin"
put B "$OV/zero.bin"
check_eq "ContentHash=dword:0: loads, 2 versions, sha256 null" "2 None None" \
	"$(nver "$OV/zero.bin") $(hashes "$OV/zero.bin")"
check_eq "ContentHash=dword:0: identical versions are 2 files" "a1 b1" \
	"$(shapes "$T/store-off/ovol" /zero.bin)"
stop_daemon
check_eq "ContentHash=dword:0: unload says 0 stored once" 0 "$(deduped)"
check_store "ContentHash=dword:0: the store is consistent" "$T/store-off/ovol"

# ---- malformed values ------------------------------------------------------------------------
# bad_param VALUE=DATA (as in t_backup_store)
bad_param() {
	local kv=$1 n m
	n=$(grep -c 'DriverEntry failed' "$LOG" 2>/dev/null)
	m=$(grep -c 'parameter ContentHash (dword:0 or dword:1) is malformed' "$LOG" 2>/dev/null)
	FARGS=()
	bk_args backup "$T/store.bad" "$kv"
	start_daemon -v "$VOL=vol" "${FARGS[@]}" --runtime-dir "$RUN" --services-dir "$SVC"
	check_eq "$kv: 'backup: parameter ContentHash (dword:0 or dword:1) is malformed' logged" 1 \
		"$(($(grep -c 'backup: parameter ContentHash (dword:0 or dword:1) is malformed' "$LOG") - m))"
	check_eq "$kv: the filter fails to load (STATUS_INVALID_PARAMETER)" 1 \
		"$(($(grep -c 'filter backup: DriverEntry failed: STATUS_INVALID_PARAMETER' "$LOG") - n))"
	check "$kv: the daemon keeps running" kill -0 "$DAEMON_PID"
	check "$kv: the volume still works" sh -c "echo new >'$VOL/f.txt' && grep -qx new '$VOL/f.txt'"
	ab list "$VOL/ab.bin"
	check_eq "$kv: altbackup: not running, exit 1" \
		'1 altbackup: the backup filter is not running (no \AltitudeBackup port)' "$RC $ERR"
	stop_daemon
}
bad_param ContentHash=dword:2
bad_param ContentHash=text
check_eq "no store was made for the malformed runs" "" "$(ls -A "$T/store.bad" 2>/dev/null)"

# ---- Durability=power ----------------------------------------------------------------------------
PV=$(new_volume pvol)
PS=$T/store-pow/pvol
bk_start "$PV=pvol" "$T/store-pow" ContentHash=dword:1 Durability=power
abab "$PV/ab.bin"
put S "$PV/s0.bin"
cp "$PV/s0.bin" "$PV/s1.bin"
put T "$PV/s0.bin"
put T "$PV/s1.bin"
check_eq "Durability=power: 4 versions, sha256 of A, B, A, B" "4 $SHA_A $SHA_B $SHA_A $SHA_B" \
	"$(nver "$PV/ab.bin") $(hashes "$PV/ab.bin")"
check_eq "Durability=power: versions 1 and 3 one file, 2 and 4 another; s0, s1 one" \
	"a2 b2 a2 b2 c2 c2" "$(shapes "$PS" /ab.bin /s0.bin /s1.bin)"
check_restores "Durability=power: versions restore byte-exact: A, B, A, B" "$PV/ab.bin" A B A B
check_eq "Durability=power: nothing in tmp/, nothing through the journal" "0 0 0" \
	"$(ls -A "$PS/tmp" | wc -l) $(stat -c %s "$PS/journal.0" "$PS/journal.1" | xargs)"
stop_daemon
check_eq "Durability=power: unload says 3 stored once" 3 "$(deduped)"
check_store "Durability=power: the store is consistent" "$PS"
check_hashes "Durability=power: every hash is its file's, one file per content" "$PS"
check_eq "Durability=power: objects/ 6 names, 3 files" "6 3" "$(objects "$PS")"

# ---- reflinks on XFS ----------------------------------------------------------------------------
XFS=$T/xfs
if xfs_image "$XFS" "XFS ContentHash part"; then
	XV=$XFS/vol
	XS=$XFS/store/xvol
	mkdir -m 755 "$XV"
	bk_start "$XV=xvol" "$XFS/store" ContentHash=dword:1
	abab "$XV/ab.bin"
	put M "$XV/m0.bin"
	cp "$XV/m0.bin" "$XV/m1.bin"
	put T "$XV/m0.bin"
	put T "$XV/m1.bin"
	check_eq "XFS: 4 versions, method clone" "4 clone clone clone clone" \
		"$(nver "$XV/ab.bin") $(methods "$XV/ab.bin")"
	check_eq "XFS: sha256 of A, B, A, B" "$SHA_A $SHA_B $SHA_A $SHA_B" "$(hashes "$XV/ab.bin")"
	check_eq "XFS: each sha256 is the sha256sum of what it restores" \
		"$(hashes "$XV/ab.bin")" "$(restored_hashes "$XV/ab.bin")"
	check_restores "XFS: versions restore byte-exact: A, B, A, B" "$XV/ab.bin" A B A B
	check_eq "XFS: 1 MiB content of two files: clone, sha256 of it" "clone $SHA_M clone $SHA_M" \
		"$(methods "$XV/m0.bin") $(hashes "$XV/m0.bin") $(methods "$XV/m1.bin") $(hashes "$XV/m1.bin")"
	check_eq "XFS: versions 1 and 3 one file, 2 and 4 another; m0, m1 one" \
		"a2 b2 a2 b2 c2 c2" "$(shapes "$XS" /ab.bin /m0.bin /m1.bin)"
	rm "$XV/ab.bin"
	check_eq "XFS: rm: version 5, method link, sha256 null" "link None" \
		"$(field "$XV/ab.bin" 5 method) $(field "$XV/ab.bin" 5 sha256)"
	stop_daemon
	check_eq "XFS: unload says 3 stored once" 3 "$(deduped)"
	check_store "XFS: the store is consistent" "$XS"
check_hashes "XFS: every hash is its file's, one file per content" "$XS"
	check_eq "XFS: objects/ 7 names, 4 files" "7 4" "$(objects "$XS")"
	check "the XFS image unmounts" umount "$XFS"
fi

# ---- kill -9 right after a burst of identical versions -----------------------------------------
KV=$(new_volume kvol)
KS=$T/store-kill/kvol
NF=16
# check_all DESC CONTENTS...: every listed version of every k<i>.bin restores
# to one of CONTENTS (or, with exact=1, to the expected A/B by its number),
# and its sha256, when not null, is that of what it restores.
check_all() {
	local desc=$1 exact=$2 i n c got h bad= nulls=0 total=0
	for i in $(seq 1 "$NF"); do
		versions_json "$KV/k$i.bin"
		local list
		list=$(jq_ '" ".join("%d:%s" % (e["version"], e["sha256"]) for e in J)')
		if ((exact)) && [[ $(jq_ 'len(J)') != 5 ]]; then
			bad+="k$i: $(jq_ 'len(J)') versions; "
		fi
		for e in $list; do
			n=${e%%:*}
			h=${e#*:}
			total=$((total + 1))
			ab restore "$KV/k$i.bin" --version "$n" --to "$T/out/k"
			if [[ $RC -ne 0 ]]; then
				bad+="k$i v$n: $ERR; "
				continue
			fi
			got=$(sha "$T/out/k")
			rm -f "$T/out/k"
			if ((exact)); then
				c=$SHA_A
				((n % 2 == 0)) && c=$SHA_B
				[[ $got == "$c" ]] || bad+="k$i v$n: wrong content; "
			else
				[[ $got == "$SHA_A" || $got == "$SHA_B" ]] || bad+="k$i v$n: neither A nor B; "
			fi
			# Those completed from the journal at the restart are
			# hashed as the filter attaches, like the others.
			if [[ $h == None ]]; then
				nulls=$((nulls + 1))
				bad+="k$i v$n: no sha256; "
			elif [[ $h != "$got" ]]; then
				bad+="k$i v$n: sha256 $h, content $got; "
			fi
		done
	done
	diag "$desc: $total versions, $nulls without a hash"
	check_eq "$desc" "" "$bad"
}
for i in $(seq 1 "$NF"); do put A "$KV/k$i.bin"; done
bk_start "$KV=kvol" "$T/store-kill" ContentHash=dword:1
for c in B A B A B; do
	for i in $(seq 1 "$NF"); do put "$c" "$KV/k$i.bin"; done
done
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID"
check_eq "kill -9 right after the burst ends fltmgrd" 137 "$?"
DAEMON_PID=
umount -l "$KV"
bk_start "$KV=kvol" "$T/store-kill" ContentHash=dword:1
check_all "kill -9 after 80 versions (A, B, A, B, A per file): 5 each, byte-exact, hashes match" 1
stop_daemon
check_store "kill -9 after the burst: after the restart the store is consistent" "$KS"
check_hashes "kill -9 after the burst: every hash is its file's, one file per content" "$KS"

# ---- kill -9 during a load of identical versions -----------------------------------------------
bk_start "$KV=kvol" "$T/store-kill" ContentHash=dword:1 MaxVersions=dword:6
pids=()
for w in 0 1 2 3; do
	(
		k=$w
		while :; do
			for f in $(seq $((w + 1)) 4 "$NF"); do
				if ((k % 2)); then c=A; else c=B; fi
				{ cat "$SAVE/$c" >"$KV/k$f.bin"; } 2>/dev/null || exit 0
			done
			k=$((k + 1))
		done
	) &
	pids+=($!)
done
sleep 2
check_eq "under load: the daemon is alive" 0 "$(kill -0 "$DAEMON_PID" 2>&1; echo $?)"
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID"
check_eq "kill -9 during the load ends fltmgrd" 137 "$?"
DAEMON_PID=
for p in "${pids[@]}"; do wait_pid "$p" 10 || true; done
umount -l "$KV"
bk_start "$KV=kvol" "$T/store-kill" ContentHash=dword:1 MaxVersions=dword:6
check_all "kill -9 during the load: every version is A or B byte-exact, hashes match" 0
ab --json usage "$KV"
diag "after the load: $(jq_ '" ".join("%s=%s" % (k, J[0][k]) for k in ("versions", "bytes", "disk_bytes"))')"
stop_daemon
check_store "kill -9 during the load: after the restart the store is consistent" "$KS"
check_hashes "kill -9 during the load: every hash is its file's, one file per content" "$KS"
check_nomatch "no version failed to be kept" \
	'backup: .*(cannot create a version|copying the content failed|cannot store the version)' \
	"$(cat "$LOG")"
check_nomatch "no errors or sanitizer reports in the daemon's log and output" \
	" (emerg|alert|crit|err): |backup: cannot|AddressSanitizer|runtime error|LeakSanitizer" \
	"$(cat "$LOG" "$T/fltmgrd.out")"
