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

echo "== Mounting $VOL in place with two filters (passthrough traces every IRP)"
"$BUILD/src/daemon/fltmgrd" -v "$VOL=demo" \
	-f "$BUILD/filters/passthrough.so@370030=passthrough" \
	-f "$BUILD/filters/nullfilter.so@320000=nullfilter" \
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
