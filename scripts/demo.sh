#!/bin/bash
# The demo: a directory becomes a filtered volume in place; real programs
# work in it while two minifilters watch every operation.  Runs in a
# private mount namespace and cleans up after itself.
set -eu
BUILD=${1:-build}
BUILD=$(cd "$BUILD" && pwd)
if [ "${ALTITUDE_DEMO_INNER:-}" != 1 ]; then
	exec env ALTITUDE_DEMO_INNER=1 unshare --mount --propagation private "$0" "$BUILD"
fi
DEMO=$(mktemp -d /tmp/altitude-demo.XXXXXX)
VOL=$DEMO/volume
mkdir -p "$VOL"
echo "original text" >"$VOL/notes.txt"
cleanup() {
	[ -f "$DEMO/pid" ] && kill -TERM "$(cat "$DEMO/pid")" 2>/dev/null && wait 2>/dev/null || true
	rm -rf "$DEMO"
}
trap cleanup EXIT

STORE=$DEMO/backup-store
ALTBACKUP=$BUILD/filters/backup/cli/altbackup

echo "== Mounting $VOL in place: backup filter (285000) + passthrough tracing every IRP (370030)"
"$BUILD/src/daemon/fltmgrd" -v "$VOL=demo" \
	-f "$BUILD/filters/backup/backup.so@285000=backup" \
	-f "$BUILD/filters/passthrough.so@370030=passthrough" \
	-p backup.StoreDirectory="$STORE" \
	-p passthrough.DebugTrace=dword:1 \
	--pidfile "$DEMO/pid" --log "$DEMO/fltmgrd.log" &
for _ in $(seq 100); do [ -f "$DEMO/pid" ] && break; sleep 0.1; done
[ -f "$DEMO/pid" ] || { cat "$DEMO/fltmgrd.log"; exit 1; }
findmnt -n -o TARGET,SOURCE,FSTYPE "$VOL"

echo "== Programs keep their paths"
cat "$VOL/notes.txt"
( cd "$VOL" && git init -q repo && cd repo && echo hi >f && git add f &&
  git -c user.name=demo -c user.email=demo@example.invalid commit -qm first && git log --oneline )
cp -r /usr/include/linux "$VOL/include-copy"
diff -r /usr/include/linux "$VOL/include-copy" && echo "copy of /usr/include/linux is identical"
sqlite3 "$VOL/db.sqlite" "create table t(x); insert into t values (1),(2),(3); select count(*) from t;"

echo "== Nobody loses a file: overwrite, edit in place, delete"
echo "overwritten by mistake" >"$VOL/notes.txt"
sed -i 's/mistake/accident/' "$VOL/notes.txt"
cat "$VOL/notes.txt"
rm "$VOL/include-copy/kernel.h"
"$ALTBACKUP" list "$VOL/notes.txt"
"$ALTBACKUP" restore "$VOL/notes.txt" --version 1
echo -n "notes.txt after restoring version 1: "; cat "$VOL/notes.txt"
"$ALTBACKUP" deleted "$VOL/include-copy"
"$ALTBACKUP" restore-deleted "$VOL/include-copy"
cmp /usr/include/linux/kernel.h "$VOL/include-copy/kernel.h" && echo "kernel.h is back, byte for byte"
"$ALTBACKUP" usage "$VOL"

echo "== What the filters saw for notes.txt"
grep -E 'notes\.txt' "$DEMO/fltmgrd.log" | sed 's/^[^ ]* info: //' | head -12
echo "== IRPs seen, by major function"
grep -oE 'PtPreOperationPassThrough: IRP_MJ_[A-Z_]+' "$DEMO/fltmgrd.log" |
	sed 's/.*: //' | sort | uniq -c | sort -rn

kill -TERM "$(cat "$DEMO/pid")"
wait
rm -f "$DEMO/pid"
echo "== Unmounted; the files are in the directory underneath:"
ls "$VOL"
grep -E 'detached|unloaded' "$DEMO/fltmgrd.log" | sed 's/^[^ ]* info: //'
