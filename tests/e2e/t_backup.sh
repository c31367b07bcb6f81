#!/bin/bash
# t_backup: the backup filter (filters/backup, altitude 285000) keeps each
# file's previous content before every kind of change real programs make,
# and altbackup gives it back byte for byte.
#
# Covers: every trigger with real programs (echo >, append, sed -i, an
# editor's write-temp-and-rename save, rsync --inplace, sqlite3
# transactions, git checkout, rm, mv over a file, truncate -s, mmap
# writes), the reasons and fields altbackup --json shows, restore in place
# and with --to (bytes, mode, times, owner), one version per open/modify
# cycle, empty files, deleted files under a tree and restore-deleted,
# Exclude / MaxFileSize / MaxVersions, Include after a restart on the same
# store (versions survive it), and the store checked against its catalog
# after the daemon stopped.  The store is on the test's /tmp directory
# (ext4 here: copies); t_backup_store covers reflinks on XFS.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/helpers/backup.sh"

STORE=$T/store
SV=$STORE/vol
SAVE=$T/save
mkdir -m 755 "$SAVE"
METHOD=$AUTO_METHOD

# keep REL TAG: a copy of $VOL/REL outside the volume, $SAVE/<REL>.<TAG>.
keep() {
	local s=$SAVE/${1//\//_}.$2
	cp -p "$VOL/$1" "$s" && printf '%s\n' "$s"
}

bk_start "$VOL=vol" "$STORE" "Exclude=multi:*.tmp,/scratch/*" \
	MaxFileSize=dword:2097152 MaxVersions=dword:6

D=$VOL/trig
mkdir "$D"

# ---- new and empty files ---------------------------------------------------
printf 'first line\n' >"$D/echo.txt"
check_eq "a new file has no versions" 0 "$(nver "$D/echo.txt")"
ab list "$D/echo.txt"
check_eq "altbackup list of a file without versions says so" \
	"$D/echo.txt: no versions" "$OUT"
: >"$D/empty.txt"
echo filled >"$D/empty.txt"
check_eq "an empty file is not versioned when it is filled" 0 "$(nver "$D/empty.txt")"

# ---- echo > (O_TRUNC) and append --------------------------------------------------
SECHO=$(keep trig/echo.txt 1)
echo second >"$D/echo.txt"
check_eq "echo >: one version, reason truncate" truncate "$(reasons "$D/echo.txt")"
check_version "echo >: version 1 is the content before" "$D/echo.txt" 1 "$SECHO"
versions_json "$D/echo.txt"
check_eq "JSON: version 1 has the size, method, owner, mode, exists, path" \
	"11 $METHOD 0 0 0644 True $D/echo.txt" \
	"$(jq_ '" ".join(str(J[0][k]) for k in ("size", "method", "owner_uid", "owner_gid", "mode", "exists", "path"))')"
[[ -z $METHOD ]] && METHOD=$(jq_ 'J[0]["method"]')
check_eq "JSON: every documented key is there" \
	"exists,id,method,mode,owner_gid,owner_uid,path,pid,process,reason,sha256,size,time,time_ns,uid,version" \
	"$(jq_ '",".join(sorted(J[0]))')"
check_eq "JSON: the process (bash), its pid and uid 0 are recorded" "bash True 0" \
	"$(jq_ 'J[0]["process"] + " " + str(J[0]["pid"] > 0) + " " + str(J[0]["uid"])')"
check_eq "JSON: time is time_ns in UTC, and recent" True \
	"$(jq_ '__import__("datetime").datetime.utcfromtimestamp(J[0]["time_ns"] // 10**9).strftime("%Y-%m-%dT%H:%M:%S") + ".%09dZ" % (J[0]["time_ns"] % 10**9) == J[0]["time"] and abs(J[0]["time_ns"] / 1e9 - __import__("time").time()) < 120')"
S2=$(keep trig/echo.txt 2)
echo more >>"$D/echo.txt"
check_eq "append (>>): a second version, reason write" truncate,write "$(reasons "$D/echo.txt")"
check_version "append: version 2 is the content before the append" "$D/echo.txt" 2 "$S2"

# ---- sed -i (temporary file renamed over) ------------------------------------------
seq 1 2000 | sed 's/^/line /' >"$D/sed.txt"
S=$(keep trig/sed.txt 1)
sed -i 's/^line 1/LINE 1/' "$D/sed.txt"
check_eq "sed -i: one version, reason replace" replace "$(reasons "$D/sed.txt")"
check_version "sed -i: the version is the file before sed" "$D/sed.txt" 1 "$S"

# ---- an editor's save: write a temporary file, fsync, rename over ----------------
head -c 50000 /dev/urandom >"$D/doc.odt"
S=$(keep trig/doc.odt 1)
py '
with open(A[0] + ".saving", "wb") as f:
    f.write(b"the new document\n" * 1000)
    os.fsync(f.fileno())
os.rename(A[0] + ".saving", A[0])' "$D/doc.odt"
check_eq "editor save (rename over): one version, reason replace" replace "$(reasons "$D/doc.odt")"
check_version "editor save: the version is the old document" "$D/doc.odt" 1 "$S"
check_eq "editor save: the temporary name has no version" 0 "$(nver "$D/doc.odt.saving")"

# ---- rsync --inplace ----------------------------------------------------------------
head -c 300000 /dev/urandom >"$T/rsync.src"
head -c 300000 /dev/urandom >"$D/rs.bin"
S=$(keep trig/rs.bin 1)
check "rsync --inplace -I over the file" rsync --inplace -I "$T/rsync.src" "$D/rs.bin"
check "rsync: the file has the new content" cmp "$T/rsync.src" "$D/rs.bin"
check_eq "rsync --inplace: one version, reason write" write "$(reasons "$D/rs.bin")"
check_version "rsync --inplace: the version is the old content" "$D/rs.bin" 1 "$S"

# ---- sqlite3 transactions ----------------------------------------------------------------
DB=$D/app.db
sqlite3 "$DB" 'CREATE TABLE t (n INTEGER, s TEXT);
	WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10)
	INSERT INTO t SELECT x, hex(randomblob(100)) FROM c;'
SDB1=$(keep trig/app.db 1)
check "sqlite3: 5 rows inserted in 5 transactions" sqlite3 "$DB" \
	"$(for i in 1 2 3 4 5; do printf 'BEGIN; INSERT INTO t VALUES (%d, %s); COMMIT;\n' "$i" "'x'"; done)"
SDB2=$(keep trig/app.db 2)
check "sqlite3: 20 more rows, one transaction" sqlite3 "$DB" \
	"BEGIN; WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20)
	 INSERT INTO t SELECT x, 'y' FROM c; COMMIT;"
check_eq "sqlite3: 35 rows now" 35 "$(sqlite3 "$DB" 'SELECT count(*) FROM t')"
check_eq "sqlite3: one version per sqlite3 process, reason write" write,write "$(reasons "$DB")"
check_version "sqlite3: version 1 is the 10-row database" "$DB" 1 "$SDB1"
ab restore "$DB" --version 1 --to "$T/out/app.v1.db"
check_eq "sqlite3: version 1 restored with --to has 10 rows" 10 \
	"$(sqlite3 "$T/out/app.v1.db" 'SELECT count(*) FROM t' 2>&1)"
ab restore "$DB" --version 2
check_eq "sqlite3: in-place restore of version 2 succeeds" "0 restored $DB: version 2" \
	"$RC $(grep -o "^restored $DB: version 2" <<<"$OUT")"
check_eq "sqlite3: the restored database has 15 rows" 15 "$(sqlite3 "$DB" 'SELECT count(*) FROM t' 2>&1)"
check_eq "sqlite3: the restored database passes integrity_check" ok \
	"$(sqlite3 "$DB" 'PRAGMA integrity_check' 2>&1)"
check "sqlite3: the restored database is byte-exact" cmp "$SDB2" "$DB"
check_eq "sqlite3: the in-place restore was itself versioned (replace)" write,write,replace \
	"$(reasons "$DB")"

# ---- git checkout of another branch --------------------------------------------------------
R=$VOL/repo
mkdir "$R"
git_setup() {
	cd "$R" && git -c init.defaultBranch=main init -q &&
		seq 1 500 >a.txt && printf 'kept\n' >b.txt && git add -A &&
		git commit -q -m main && git checkout -q -b other &&
		seq 1000 1600 >a.txt && git commit -q -a -m other
}
check "git: a repository with branches main and other" git_setup
S=$(keep repo/a.txt other)
n_before=$(nver "$R/a.txt")
check "git checkout main" git -C "$R" checkout -q main
check_eq "git checkout: a.txt has main's content" "$(seq 1 500)" "$(cat "$R/a.txt")"
check_eq "git checkout: one more version of a.txt, reason delete (git unlinks, then writes)" \
	"$((n_before + 1)) delete" "$(nver "$R/a.txt") $(field "$R/a.txt" $((n_before + 1)) reason)"
check_version "git checkout: that version is the other branch's a.txt" "$R/a.txt" $((n_before + 1)) "$S"
check_eq "git checkout: b.txt (same on both branches) untouched, no version" 0 "$(nver "$R/b.txt")"
check_eq "git status is clean" "" "$(git -C "$R" status --porcelain 2>&1)"

# ---- rm --------------------------------------------------------------------------------
head -c 70000 /dev/urandom >"$D/rm.bin"
chmod 640 "$D/rm.bin"
S=$(keep trig/rm.bin 1)
rm "$D/rm.bin"
check_eq "rm: one version, reason delete" delete "$(reasons "$D/rm.bin")"
versions_json "$D/rm.bin"
check_eq "rm: the version says the file does not exist, mode 0640" "False 0640" \
	"$(jq_ 'str(J[0]["exists"]) + " " + J[0]["mode"]')"
ab restore "$D/rm.bin"
check_eq "rm: restore of the newest version exits 0" 0 "$RC"
check "rm: the file is back, byte-exact" cmp "$S" "$D/rm.bin"
check_eq "rm: ... with mode 640 and its mtime (to 100 ns)" "640 $(($(mtime_ns "$S") / 100))" \
	"$(stat -c %a "$D/rm.bin") $(($(mtime_ns "$D/rm.bin") / 100))"
check_eq "rm: ... with its mtime to the nanosecond" "$(mtime_ns "$S")" "$(mtime_ns "$D/rm.bin")"
versions_json "$D/rm.bin"
check_eq "rm: after the restore the version says it exists" True "$(jq_ 'J[0]["exists"]')"

# ---- mv over a file ----------------------------------------------------------------------
printf 'old target\n' >"$D/target.txt"
printf 'the source\n' >"$D/source.txt"
S=$(keep trig/target.txt 1)
mv "$D/source.txt" "$D/target.txt"
check_eq "mv over a file: one version of the target, reason replace" replace \
	"$(reasons "$D/target.txt")"
check_version "mv over: the version is the old target" "$D/target.txt" 1 "$S"
check_eq "mv over: the source name has no version" 0 "$(nver "$D/source.txt")"
mv "$D/target.txt" "$D/moved.txt"
check_eq "mv to a new name: no version of the new name" 0 "$(nver "$D/moved.txt")"

# ---- truncate -s ---------------------------------------------------------------------------
head -c 10000 /dev/urandom >"$D/tr.bin"
S1=$(keep trig/tr.bin 1)
truncate -s 100 "$D/tr.bin"
S2=$(keep trig/tr.bin 2)
truncate -s 20000 "$D/tr.bin"
check_eq "truncate -s (shrink, then extend): two versions, reason setsize" setsize,setsize \
	"$(reasons "$D/tr.bin")"
check_version "truncate: version 1 is the 10000-byte file" "$D/tr.bin" 1 "$S1"
check_version "truncate: version 2 is the 100-byte file" "$D/tr.bin" 2 "$S2"
truncate -s 20000 "$D/tr.bin"
check_eq "truncate -s to the same size: no version" 2 "$(nver "$D/tr.bin")"

# ---- mmap writes (paging I/O) -----------------------------------------------------------------
head -c 200000 /dev/urandom >"$D/mm.bin"
S=$(keep trig/mm.bin 1)
check_eq "mmap: python writes through a shared mapping" done "$(py '
f = open(A[0], "r+b")
m = mmap.mmap(f.fileno(), 0)
m[4096:4096 + 5] = b"MMAPD"
m[150000:150005] = b"MMAPD"
m.flush(); m.close(); f.close(); print("done")' "$D/mm.bin")"
check_eq "mmap: the file has the new bytes" MMAPD "$(dd if="$D/mm.bin" bs=1 skip=150000 count=5 status=none)"
check_eq "mmap write-back: one version, reason write" write "$(reasons "$D/mm.bin")"
check_version "mmap: the version is the content before the mapping wrote" "$D/mm.bin" 1 "$S"

# ---- sizes around the copy's block boundaries ------------------------------------------------
# A copy is written straight to the disk in whole 4 KiB blocks from a
# 256 KiB buffer, and its tail through the page cache: each version must
# be byte-exact whatever its size.
for size in 1 4095 4096 4097 102411 262144 262145 528391 1048579; do
	head -c $size /dev/urandom >"$D/sz$size.bin"
	S=$(keep trig/sz$size.bin 1)
	printf 'new\n' >"$D/sz$size.bin"
	check_version "a version of $size bytes is byte-exact" "$D/sz$size.bin" 1 "$S"
done

# ---- restore: in place and --to, mode, times, owner -------------------------------------------------
printf 'version one\n' >"$D/meta.txt"
chmod 640 "$D/meta.txt"
chown 1001:1002 "$D/meta.txt"
touch -d '2020-01-02 03:04:05.123456789 UTC' "$D/meta.txt"
S=$(keep trig/meta.txt 1)
echo 'version two' >"$D/meta.txt"
chmod 600 "$D/meta.txt"
chown 0:0 "$D/meta.txt"
check_eq "meta: the version recorded mode 0640 and owner 1001:1002" "0640 1001 1002" \
	"$(field "$D/meta.txt" 1 mode) $(field "$D/meta.txt" 1 owner_uid) $(field "$D/meta.txt" 1 owner_gid)"
ab restore "$D/meta.txt" --version 1 --to "$T/out/meta.copy"
check_eq "restore --to: exit 0, says where" "0 restored $D/meta.txt: version 1 (id $(id_of "$D/meta.txt" 1), 12 B) to $T/out/meta.copy" \
	"$RC $OUT"
check "restore --to: byte-exact" cmp "$S" "$T/out/meta.copy"
check_eq "restore --to: mode 640, mtime 2020-01-02 03:04:05.1234567 (100 ns)" "640 15779342451234567" \
	"$(stat -c %a "$T/out/meta.copy") $(($(mtime_ns "$T/out/meta.copy") / 100))"
mkdir "$T/out/dir"
ab restore "$D/meta.txt" --version 1 --to "$T/out/dir"
check "restore --to an existing directory puts the file inside it" cmp "$S" "$T/out/dir/meta.txt"
ab restore "$D/meta.txt" --version 1
check_eq "restore in place: exit 0" 0 "$RC"
check "restore in place: byte-exact" cmp "$S" "$D/meta.txt"
check_eq "restore in place: mode 640, owner 1001:1002 (as root), mtime restored (100 ns)" \
	"640 1001:1002 15779342451234567" \
	"$(stat -c '%a %u:%g' "$D/meta.txt") $(($(mtime_ns "$D/meta.txt") / 100))"
check_eq "restore in place is itself versioned: version 2 is the replaced content" "truncate,replace" \
	"$(reasons "$D/meta.txt")"
ab restore "$D/meta.txt" --version 2
check_eq "... and can be undone: restoring version 2 gives 'version two' back" "0 version two" \
	"$RC $(cat "$D/meta.txt")"
check_eq "no temporary file of the restores left in the directory" "" \
	"$(ls -A "$D" | grep -i altbackup)"
ab restore "$D/meta.txt" --version 99
check_eq "restore --version 99: exit 1" 1 "$RC"
check_eq "... with a message naming the file" "altbackup: $D/meta.txt: no version 99" "$ERR"
ab restore "$D/meta.txt" --id "$(id_of "$D/echo.txt" 1)"
check_eq "restore --id of another file's version: exit 1" 1 "$RC"
check_match "... says whose version it is" "is not one of this file's" "$ERR"
ab restore "$D/meta.txt" --id 999999
check_eq "restore --id of no version: exit 1" 1 "$RC"
ab restore "$D/meta.txt" --id abc
check_eq "restore --id abc: usage error, exit 2" 2 "$RC"
ab restore
check_eq "restore without a file: usage error, exit 2" 2 "$RC"
ab frobnicate x
check_eq "an unknown command: exit 2" 2 "$RC"

# ---- one version per open/modify cycle --------------------------------------------------------------
head -c 100000 /dev/urandom >"$D/cyc.bin"
sleep 0.3
S=$(keep trig/cyc.bin 1)
check_eq "one open: 200 writes, a seek, ftruncate, 200 more writes" done "$(py '
with open(A[0], "r+b", buffering=0) as f:
    for i in range(200):
        f.write(b"%05d" % i * 100)
    f.seek(5000); os.ftruncate(f.fileno(), 50000)
    for i in range(200):
        os.pwrite(f.fileno(), b"z" * 300, i * 250)
print("done")' "$D/cyc.bin")"
check_eq "many writes and a truncate in one open: one version" write "$(reasons "$D/cyc.bin")"
check_version "... which is the content before the first write" "$D/cyc.bin" 1 "$S"
S=$(keep trig/cyc.bin 2)
py '
a = open(A[0], "r+b", buffering=0); b = open(A[0], "r+b", buffering=0)
a.write(b"A" * 1000); b.write(b"B" * 500); os.ftruncate(b.fileno(), 3000)
a.close(); b.close()' "$D/cyc.bin"
# A cycle is one open file (handle) from its CREATE to its CLEANUP: each
# handle keeps the content as it was before that handle's first change.
check_eq "two handles open at once, both writing: one version per handle" 3 "$(nver "$D/cyc.bin")"
check_version "... the first is the content before either wrote" "$D/cyc.bin" 2 "$S"
sleep 0.3
S3=$(keep trig/cyc.bin 3)
py '
f = open(A[0], "r+b"); f.write(b"first cycle"); f.close()
f = open(A[0], "r+b"); f.write(b"second"); f.close()' "$D/cyc.bin"
check_eq "two opens one after the other, each writing: two versions" "5 write,write,write,write,write" \
	"$(nver "$D/cyc.bin") $(reasons "$D/cyc.bin")"
check_version "... the first is the content before the first open" "$D/cyc.bin" 4 "$S3"
# A program that creates a file, closes it and at once opens it again to
# change it: the content it wrote first must be kept.  Eight such programs
# at once, 25 files each: 200 versions expected, one per file.
mkdir "$VOL/quick"
ab --json usage "$VOL"
n0=$(jq_ 'J[0]["versions"]')
pids=()
for w in 1 2 3 4 5 6 7 8; do
	py '
for k in range(25):
    p = "%s/q%s.%02d" % (A[0], A[1], k)
    with open(p, "wb") as f:
        f.write(b"created content\n" * 500)
    with open(p, "r+b") as f:
        f.write(b"changed")' "$VOL/quick" "$w" &
	pids+=($!)
done
wait "${pids[@]}"
ab --json usage "$VOL"
n1=$(jq_ 'J[0]["versions"]')
missed=
if [[ $((n1 - n0)) -ne 200 ]]; then
	for f in "$VOL"/quick/*; do [[ $(nver "$f") == 1 ]] || missed+="${f##*/} "; done
fi
check_eq "create, close, reopen at once and write (8 programs x 25 files): 200 versions" \
	"200" "$((n1 - n0))${missed:+ (no version of: $missed)}"

# ---- deleted files under a tree and restore-deleted ------------------------------------------------
mkdir -p "$VOL/del/a/b" "$VOL/del/keep"
head -c 100000 /dev/urandom >"$VOL/del/a/y.bin"
printf 'x file\n' >"$VOL/del/x.txt"
head -c 5000 /dev/urandom >"$VOL/del/a/b/z.bin"
printf 'w file\n' >"$VOL/del/a/b/w.txt"
printf 'k file\n' >"$VOL/del/keep/k.txt"
chmod 600 "$VOL/del/a/b/w.txt"
for f in x.txt a/b/z.bin a/b/w.txt; do keep "del/$f" del >/dev/null; done
sleep 0.3
rm "$VOL/del/x.txt"
rm -r "$VOL/del/a/b"
ab --json deleted "$VOL/del"
check_eq "deleted DIR: the three deleted files, and only them" \
	"$VOL/del/a/b/w.txt $VOL/del/a/b/z.bin $VOL/del/x.txt" \
	"$(jq_ '" ".join(sorted(e["path"] for e in J))')"
check_eq "deleted DIR: reason delete, exists false" "delete False" \
	"$(jq_ '" ".join(sorted(set(e["reason"] + " " + str(e["exists"]) for e in J)))')"
ab --json deleted "$VOL/del/keep"
check_eq "deleted of a directory where nothing was deleted: none" 0 "$(jq_ 'len(J)')"
ab restore-deleted "$VOL/del"
check_eq "restore-deleted DIR: exit 0, 3 restored" "0 3 restored, 0 failed" "$RC $(tail -n 1 <<<"$OUT")"
for f in x.txt a/b/z.bin a/b/w.txt; do
	check "restore-deleted: del/$f is back byte-exact" cmp "$SAVE/del_${f//\//_}.del" "$VOL/del/$f"
done
check_eq "restore-deleted: w.txt has its mode 600 again" 600 "$(stat -c %a "$VOL/del/a/b/w.txt")"
ab --json deleted "$VOL/del"
check_eq "deleted DIR after restore-deleted: none" 0 "$(jq_ 'len(J)')"
ab deleted "$VOL/del"
check_eq "deleted (human form) says so" "$VOL/del: no deleted files" "$OUT"

# ---- policy: Exclude, MaxFileSize, MaxVersions ---------------------------------------------------
printf 'tmp one\n' >"$D/x.tmp"
printf 'tmp two\n' >"$D/x.tmp"
rm "$D/x.tmp"
check_eq "Exclude *.tmp: no versions of x.tmp (rewritten, deleted)" 0 "$(nver "$D/x.tmp")"
mkdir -p "$VOL/scratch/sub" "$VOL/notscratch"
for f in scratch/s.txt scratch/sub/t.txt notscratch/s.txt; do
	printf 'one\n' >"$VOL/$f"
	printf 'two\n' >"$VOL/$f"
done
check_eq "Exclude /scratch/*: nothing under /scratch is versioned" "0 0" \
	"$(nver "$VOL/scratch/s.txt") $(nver "$VOL/scratch/sub/t.txt")"
check_eq "... a file of the same name elsewhere is" 1 "$(nver "$VOL/notscratch/s.txt")"
head -c 3000000 /dev/urandom >"$D/big.bin"
head -c 2097152 /dev/urandom >"$D/limit.bin"
S=$(keep trig/limit.bin 1)
printf 'x' | dd of="$D/big.bin" conv=notrunc status=none
printf 'x' | dd of="$D/limit.bin" conv=notrunc status=none
check_eq "MaxFileSize 2 MiB: a 3 MB file is not versioned" 0 "$(nver "$D/big.bin")"
check_eq "MaxFileSize 2 MiB: a file of exactly 2 MiB is" 1 "$(nver "$D/limit.bin")"
check_version "... byte-exact" "$D/limit.bin" 1 "$S"
for i in $(seq 0 9); do
	printf 'round %d\n' "$i" >"$D/many.txt"
	cp "$D/many.txt" "$SAVE/many.$i"
done
versions_json "$D/many.txt"
check_eq "MaxVersions 6: 9 versions made, the newest 6 kept (versions 4-9)" "4 5 6 7 8 9" \
	"$(jq_ '" ".join(str(e["version"]) for e in J)')"
check_version "MaxVersions: the oldest kept (4) is round 3" "$D/many.txt" 4 "$SAVE/many.3"
check_version "MaxVersions: the newest (9) is round 8" "$D/many.txt" 9 "$SAVE/many.8"

ab --json usage "$VOL"
USAGE_N=$(jq_ 'J[0]["versions"]')
check_eq "usage: the volume and its store" "$VOL $SV" "$(jq_ 'J[0]["volume"] + " " + J[0]["store"]')"
stop_daemon
check_store "after stop: every catalog row's object exists with its size, no orphan, tmp empty" "$SV"
check_eq "after stop: the catalog has as many rows as usage said" "$USAGE_N" \
	"$(sqlite3 "$SV/catalog.db" 'SELECT count(*) FROM versions' 2>&1)"
check_eq "after stop: the catalog is in WAL mode" wal \
	"$(sqlite3 "$SV/catalog.db" 'PRAGMA journal_mode' 2>&1)"
check_eq "after stop: the store is mode 700" 700 "$(stat -c %a "$SV")"
check_match "the filter reported what it kept at unload" \
	'backup: unloaded; [0-9]+ versions kept .* 0 failed' "$(cat "$LOG")"

# ---- restart on the same store with Include --------------------------------------------------------
bk_start "$VOL=vol" "$STORE" "Include=multi:*.txt,/only/*"
check_eq "after a restart the versions are still there" truncate,write "$(reasons "$D/echo.txt")"
check_version "... and restorable" "$D/echo.txt" 1 "$SECHO"
printf 'bin one\n' >"$D/inc.bin"
printf 'bin two\n' >"$D/inc.bin"
printf 'txt one\n' >"$D/inc.txt"
printf 'txt two\n' >"$D/inc.txt"
mkdir "$VOL/only"
printf 'one\n' >"$VOL/only/data.bin"
printf 'two\n' >"$VOL/only/data.bin"
check_eq "Include *.txt,/only/*: inc.bin not versioned, inc.txt and /only/data.bin are" "0 1 1" \
	"$(nver "$D/inc.bin") $(nver "$D/inc.txt") $(nver "$VOL/only/data.bin")"
stop_daemon
check_store "after the second stop: the store is consistent" "$SV"
check_nomatch "no leftovers were found at the restart (clean stop)" 'leftovers of an interrupted run' "$(cat "$LOG")"
