#!/usr/bin/env bash
# bench/backup.sh - what the backup filter costs: the same workloads on the
# same kind of volume without a filter and with the backup filter, in one
# run on one machine.
#
# Usage: sudo bench/backup.sh [--quick] [--out FILE] [--build DIR]
#                              [--durability D] [--content-hash]
#                              [--workloads LIST] [--filesystems LIST]
#                              [--runs N]
#
#   --quick     2 runs per cell, 500 sqlite3 transactions, untar of
#               /usr/include/linux (~1-2 min); default: 5 runs per cell,
#               2,000 transactions, /usr/include
#   --out FILE  also write the Markdown report to FILE
#   --build DIR meson build directory (default: <repo>/build, or $BUILD)
#   --report RES  only write RES/report.md again from RES's measurements
#   --durability power|flush|process
#               the filter's Durability parameter (default flush, the
#               filter's default: a change waits for its version's capture;
#               the store syncs within a second and before a program's
#               fsync; docs/backup.md)
#   --content-hash
#               the filter's ContentHash=dword:1 (default 0): each copied
#               or cloned version is hashed (SHA-256) as it is committed,
#               and identical content is stored once
#   --workloads LIST
#               comma-separated, of rewrite, sqlite, untar (default: all)
#   --filesystems LIST
#               comma-separated, of ext4, ext4j, xfs (default: all)
#   --runs N    runs per cell (default 5, --quick 2): a cell's spread
#               between runs is as large as 0.1 s on this VM, so a
#               tighter figure for one cell takes more runs
#
# Configurations, two per file system, mounted fresh side by side in one
# private mount namespace per file system (unshare --mount --propagation
# private) and stopped with SIGTERM; each workload's runs alternate between
# the two (unfiltered first in odd runs, filtered first in even runs), so
# that a drift of the machine's load weighs on both alike:
#   ext4-none   fltmgrd -v DIR, no filter; DIR on ext4 under /var/tmp
#   ext4-copy   + backup.so@285000, store on the same ext4 (no reflink:
#               versions are copies); MaxVersions=dword:0 (no limit), so
#               the store's growth is every version the workload made
#   ext4j-none, ext4j-copy
#               the same on a 4 GiB ext4 image made with mkfs.ext4's
#               defaults (a journal; inode tables and journal written at
#               mkfs time, so that no lazy initialisation runs during the
#               runs), loop mount; the ext4 under /var/tmp may have no
#               journal (this VM's root file system has none)
#   xfs-none    fltmgrd -v DIR, no filter; DIR on an XFS image
#               (mkfs.xfs -m reflink=1, loop mount) under /var/tmp
#   xfs-clone   + backup.so@285000 with StoreMethod=clone, volume and store
#               on that XFS (versions are reflinks)
#
# Workloads, timed with bash's EPOCHREALTIME around the command only; the
# median of the runs is reported:
#   rewrite  1,000 files of 100 KiB, each rewritten once (open O_TRUNC,
#            write 100 KiB, close: one open/modify cycle each) by one
#            python3 process; each file gets its own content (random
#            bytes made once, then a prefix of 8 random bytes per run and
#            the file's number), so that no two versions are identical;
#            prepare: the files exist, sync
#   sqlite   N single-row INSERTs, each its own transaction (rollback
#            journal, synchronous=FULL) by one sqlite3 process; prepare: a
#            new database with its table, sync
#   untar    tar xf of a tarball over the tree a first tar xf of the same
#            tarball left (tar unlinks each existing file and writes it
#            again); prepare: rm -rf, first extraction, sync
# Before and after each timed command, `altbackup --json usage` gives the
# versions and bytes the command made the filter keep.  For the copy
# configuration the report compares the filter's extra time with the time
# to copy that many bytes natively: `cp -r` of a directory of as many
# files of the same mean size on the same ext4 (each ext4 its own), then `sync` (timed
# together: a durable copy), under the conditions of a version's copy: the
# source written and synced a second before, each run's copy kept.
#
# Results go to bench/results/backup-<timestamp>/ (gitignored): report.md,
# times.tsv (every run), machine.txt, logs/.  Needs root, python3, sqlite3,
# tar, mkfs.xfs, a loop device, and a built tree (ninja -C build).
set -euo pipefail

SELF=$(readlink -f "$0")
BENCH_DIR=$(dirname "$SELF")
REPO=$(dirname "$BENCH_DIR")

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------------------
# Inner part: one file system, inside its private mount namespace: the
# unfiltered and the filtered volume side by side on it, measured in turn.
# ---------------------------------------------------------------------------

declare -A DAEMON_PID=()
DIR=
CFG=

is_fuse_mount() {
	[[ $(findmnt -n -o FSTYPE --mountpoint "$1" 2>/dev/null | tail -n 1) == fuse* ]]
}

note_failure() {
	printf '%s\t%s\n' "$CFG" "$*" >>"$RES/failures.tsv"
	log "$CFG: $*"
}

stop_daemon() { # stop_daemon CFG
	local i rc=0 pid=${DAEMON_PID[$1]:-} CFG=$1
	[[ -n $pid ]] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 600; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && {
		note_failure "daemon still running 60 s after SIGTERM; killed"
		kill -KILL "$pid" 2>/dev/null || true
	}
	wait "$pid" 2>/dev/null || rc=$?
	[[ $rc -eq 0 ]] || note_failure "daemon exit status $rc"
	DAEMON_PID[$1]=
}

usage_of() { # prints "versions bytes" of the volume's store, "0 0" without a filter
	if [[ $CFG == *-none ]]; then
		echo "0 0"
		return
	fi
	ALTITUDE_RUNTIME_DIR=$WORK/run-$CFG "$ALTBACKUP" --json usage "$DIR" 2>/dev/null |
		python3 -c '
import json, sys
J = json.load(sys.stdin)
print(J[0]["versions"], J[0]["bytes"]) if J else print("0 0")'
}

# timed NAME RUN CMD: runs CMD, appends "cfg name run seconds versions bytes"
timed() {
	local name=$1 run=$2 cmd=$3 u0 u1 t0 t1 rc=0
	u0=$(usage_of)
	t0=$EPOCHREALTIME
	bash -c "$cmd" >>"$LOGS/$CFG.out" 2>&1 || rc=$?
	t1=$EPOCHREALTIME
	u1=$(usage_of)
	[[ $rc -eq 0 ]] || note_failure "$name run $run: exit status $rc"
	read -r v0 b0 <<<"$u0"
	read -r v1 b1 <<<"$u1"
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$CFG" "$name" "$run" \
		"$(python3 -c "print(f'{$t1 - $t0:.4f}')")" "$((v1 - v0))" "$((b1 - b0))" >>"$RES/times.tsv"
	log "$CFG: $name run $run: $(python3 -c "print(f'{$t1 - $t0:.3f}')") s, $((v1 - v0)) versions, $((b1 - b0)) bytes"
}

start_volume() { # start_volume CFG BASE
	local cfg=$1 base=$2 dir store f=() i CFG=$1
	dir=$base/$cfg.vol
	store=$base/$cfg.store
	rm -rf "$dir" "$store"
	mkdir -p "$dir"
	case $cfg in
	ext4-copy | ext4j-copy) f=(-f "$BACKUP@285000=backup" -p "backup.StoreDirectory=$store"
		-p backup.MaxVersions=dword:0 -p "backup.Durability=$DURABILITY"
		-p "backup.ContentHash=dword:$CONTENT_HASH") ;;
	xfs-clone) f=(-f "$BACKUP@285000=backup" -p "backup.StoreDirectory=$store"
		-p backup.MaxVersions=dword:0 -p backup.StoreMethod=clone
		-p "backup.Durability=$DURABILITY"
		-p "backup.ContentHash=dword:$CONTENT_HASH") ;;
	esac
	env --default-signal=INT,QUIT "$FLTMGRD" -v "$dir=$cfg" "${f[@]}" \
		--runtime-dir "$WORK/run-$cfg" --services-dir "$WORK/services" \
		--pidfile "$WORK/$cfg.pid" --log "$LOGS/$cfg.log" \
		</dev/null >>"$LOGS/$cfg.out" 2>&1 &
	DAEMON_PID[$cfg]=$!
	for ((i = 0; i < 200; i++)); do
		[[ -s $WORK/$cfg.pid ]] && is_fuse_mount "$dir" && break
		sleep 0.1
	done
	is_fuse_mount "$dir" || { note_failure "did not mount"; return 1; }
	if [[ $cfg != *-none ]] && ! grep -q 'backup: keeping versions of' "$LOGS/$cfg.log"; then
		note_failure "the backup filter did not attach"
		return 1
	fi
}

# prepare WORKLOAD DIR: the state a timed run starts from.
prepare() {
	local d=$2
	case $1 in
	rewrite)
		[[ -d $d/rw ]] || python3 - "$d/rw" <<'PY'
import os, sys
os.makedirs(sys.argv[1])
for i in range(1000):
    with open("%s/f%04d" % (sys.argv[1], i), "wb") as f:
        f.write(os.urandom(102400))
PY
		;;
	sqlite)
		rm -f "$d/db" "$d/db-journal"
		sqlite3 "$d/db" 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)'
		;;
	untar)
		rm -rf "$d/tree"
		mkdir "$d/tree"
		tar xf "$TARBALL" -C "$d/tree"
		;;
	esac
	sync
	sleep 1
}

command_of() { # command_of WORKLOAD DIR
	local d=$2
	case $1 in
	rewrite) echo "python3 -c '
import os, sys
d = sys.argv[1]
data = bytearray(os.urandom(102400))
data[:8] = os.urandom(8)
for i in range(1000):
    data[8:12] = i.to_bytes(4, \"little\")
    with open(\"%s/f%04d\" % (d, i), \"wb\") as f:
        f.write(data)
' $d/rw" ;;
	sqlite) echo "sqlite3 $d/db <$WORK/inserts.sql" ;;
	untar) echo "tar xf $TARBALL -C $d/tree" ;;
	esac
}

run_inner() {
	local fs=$1 base cfgs w r c
	trap 'for c in "${!DAEMON_PID[@]}"; do stop_daemon "$c"; done; umount "$WORK/$fs" 2>/dev/null || true' EXIT
	base=$WORK/$fs
	case $fs in
	ext4) cfgs=(ext4-none ext4-copy) ;;
	ext4j | xfs)
		cfgs=("$fs-none" "$fs-copy")
		[[ $fs == xfs ]] && cfgs=(xfs-none xfs-clone)
		mkdir -p "$base"
		mount -o loop "$WORK/$fs.img" "$base" || { CFG=$fs note_failure "cannot mount the $fs image"; exit 1; }
		;;
	esac
	for c in "${cfgs[@]}"; do
		start_volume "$c" "$base" || exit 1
	done
	cd /
	for w in ${WORKLOADS//,/ }; do
		for ((r = 1; r <= RUNS; r++)); do
			# Alternate which goes first, so that a drift of the
			# machine's load weighs on both alike.
			local order=("${cfgs[@]}")
			((r % 2)) || order=("${cfgs[1]}" "${cfgs[0]}")
			for CFG in "${order[@]}"; do
				DIR=$base/$CFG.vol
				prepare "$w" "$DIR"
				timed "$w" "$r" "$(command_of "$w" "$DIR")"
			done
		done
	done
	for c in "${cfgs[@]}"; do
		stop_daemon "$c"
	done
	[[ $fs == xfs ]] || native_copies "$fs" "$base"
}

# native_copies FS BASE: for each workload, the bytes FS-copy versioned
# copied natively on the same file system: as many files of the same
# mean size, cp -r then sync, timed as config native-cp (ext4) or
# native-cp-FS.
native_copies() {
	local fs=$1 base=$2 out=native-cp w v b r src t0 t1
	[[ $fs == ext4 ]] || out=native-cp-$fs
	python3 - "$RES/times.tsv" "$fs-copy" >"$WORK/copyplan.$fs.tsv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
for w in ("rewrite", "sqlite", "untar"):
    r = [x for x in rows if x["config"] == sys.argv[2] and x["workload"] == w]
    if not r:
        continue
    v = statistics.median(int(x["versions"]) for x in r)
    b = statistics.median(int(x["bytes"]) for x in r)
    print("%s\t%d\t%d" % (w, v, b))
PY
	while IFS=$'\t' read -r w v b; do
		[[ $v -gt 0 ]] || continue
		src=$base/copysrc.$w
		python3 - "$src" "$v" "$b" <<'PY'
import os, sys
d, n, b = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(d)
size, extra = divmod(b, n)
for i in range(n):
    with open("%s/%06d" % (d, i), "wb") as f:
        f.write(os.urandom(size + (1 if i < extra else 0)))
PY
		# As a version's copy: the source was written a moment ago (in
		# the page cache), and the copies accumulate (nothing freed in
		# between whose memory the next copy would reuse).
		for ((r = 1; r <= RUNS; r++)); do
			sync
			sleep 1
			t0=$EPOCHREALTIME
			cp -r "$src" "$src.copy$r"
			sync
			t1=$EPOCHREALTIME
			printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$out" "$w" "$r" \
				"$(python3 -c "print(f'{$t1 - $t0:.4f}')")" "$v" "$b" >>"$RES/times.tsv"
			log "$out: $w run $r: $(python3 -c "print(f'{$t1 - $t0:.3f}')") s"
		done
		rm -rf "$src" "$src".copy*
	done <"$WORK/copyplan.$fs.tsv"
}

# report RES: RES/report.md from RES/times.tsv and RES/machine.txt.
report() {
python3 - "$1" <<'PY' >"$1/report.md"
import csv, os, statistics, sys
res = sys.argv[1]
m = dict(l.rstrip("\n").split("=", 1) for l in open(os.path.join(res, "machine.txt")) if "=" in l)
rows = list(csv.DictReader(open(os.path.join(res, "times.tsv")), delimiter="\t"))
def med(cfg, w, key="seconds"):
    v = [float(x[key]) for x in rows if x["config"] == cfg and x["workload"] == w]
    return statistics.median(v) if v else None
def runs(cfg, w):
    return {x["run"]: float(x["seconds"]) for x in rows if x["config"] == cfg and x["workload"] == w}
def paired(none, filt, w, op):
    # Run r of both ran back to back: the median over r of op(filt, none)
    # is what a drift of the machine's load between runs leaves alone.
    a, b = runs(none, w), runs(filt, w)
    v = [op(b[r], a[r]) for r in a if r in b and a[r] > 0]
    return statistics.median(v) if v else None
W = [("rewrite", "rewrite 1,000 files of 100 KiB"),
     ("sqlite", "sqlite3: %s one-insert transactions" % m["ntx"]),
     ("untar", "untar over an existing tree (%s)" % m["tarball"])]
f = lambda v: "–" if v is None else ("%.3f" % v)
out = []
P = out.append
P("# Backup filter benchmark, %s (%s run, Durability=%s, ContentHash=%s)\n" % (m["date"], m["mode"], m.get("durability", "?"), m.get("content_hash", "0")))
P("Machine: %s vCPU (%s), %s RAM, Linux %s, %s; Altitude %s; load average at start %s, at end %s. "
  "Median of %s run(s) per cell, wall seconds; each run of a workload times the "
  "unfiltered and the filtered volume back to back (in alternating order), and "
  "*paired* is the median over runs of that pair's ratio or difference.\n" % (m["nproc"], m["cpu"], m["mem"], m["kernel"],
  m["fs"], m["commit"], m["load_start"], m.get("load_end", "?"), m["runs"]))
P("| workload | ext4 no filter | ext4 backup (copy) | ratio | paired | XFS no filter | XFS backup (reflink) | ratio | paired |")
P("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
div = lambda x, y: x / y
sub = lambda x, y: x - y
for w, d in W:
    a, b, c, e = med("ext4-none", w), med("ext4-copy", w), med("xfs-none", w), med("xfs-clone", w)
    r1 = "–" if not a or b is None else "%.2f×" % (b / a)
    r2 = "–" if not c or e is None else "%.2f×" % (e / c)
    p1, p2 = paired("ext4-none", "ext4-copy", w, div), paired("xfs-none", "xfs-clone", w, div)
    p1 = "–" if p1 is None else "%.2f×" % p1
    p2 = "–" if p2 is None else "%.2f×" % p2
    P("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (d, f(a), f(b), r1, p1, f(c), f(e), r2, p2))
if any(x["config"] == "ext4j-none" for x in rows):
    P("\n## ext4 with a journal (an image made with mkfs.ext4's defaults)\n")
    P("| workload | no filter | backup (copy) | ratio | paired |")
    P("|---|---:|---:|---:|---:|")
    for w, d in W:
        a, b = med("ext4j-none", w), med("ext4j-copy", w)
        p1 = paired("ext4j-none", "ext4j-copy", w, div)
        if not a or b is None:
            continue
        P("| %s | %s | %s | %.2f× | %s |" % (d, f(a), f(b), b / a, "–" if p1 is None else "%.2f×" % p1))
P("\n## Copy mode: extra time against copying the versioned bytes natively\n")
P("| file system | workload | versions kept | bytes versioned | extra time (copy − none) | paired | native cp -r + sync of those bytes | paired extra ≤ copy? |")
P("|---|---|---:|---:|---:|---:|---:|---|")
for fs, cp, name in (("ext4", "native-cp", "ext4 (%s)" % m["fs"]), ("ext4j", "native-cp-ext4j", "ext4 image, journal")):
    for w, d in W:
        a, b, n = med(fs + "-none", w), med(fs + "-copy", w), med(cp, w)
        v, by = med(fs + "-copy", w, "versions"), med(fs + "-copy", w, "bytes")
        pe = paired(fs + "-none", fs + "-copy", w, sub)
        if a is None or b is None:
            continue
        ok = "–" if n is None or pe is None else ("yes" if pe <= n else "no")
        P("| %s | %s | %d | %d (%.1f MiB) | %.3f | %s | %s | %s |" % (name, d, v or 0, by or 0, (by or 0) / 1048576, b - a, f(pe), f(n), ok))
P("\n## Reflink mode: target 1.2× the unfiltered time\n")
P("| workload | versions kept | bytes versioned | ratio | paired | paired ≤ 1.2×? |")
P("|---|---:|---:|---:|---:|---|")
for w, d in W:
    c, e = med("xfs-none", w), med("xfs-clone", w)
    v, by = med("xfs-clone", w, "versions"), med("xfs-clone", w, "bytes")
    pr = paired("xfs-none", "xfs-clone", w, div)
    if not c or e is None or pr is None:
        continue
    P("| %s | %d | %d (%.1f MiB) | %.2f× | %.2f× | %s |" % (d, v or 0, by or 0, (by or 0) / 1048576, e / c, pr, "yes" if pr <= 1.2 else "no"))
fl = [l.strip() for l in open(os.path.join(res, "failures.tsv")) if l.strip()]
P("\n## Failures\n")
P("\n".join("- " + l.replace("\t", ": ") for l in fl) if fl else "None.")
print("\n".join(out))
PY
}

if [[ ${1:-} == --inner ]]; then
	run_inner "$2"
	exit 0
fi
if [[ ${1:-} == --report ]]; then
	report "${2:?--report needs a results directory}"
	cat "$2/report.md"
	exit 0
fi

# ---------------------------------------------------------------------------
# Outer part.
# ---------------------------------------------------------------------------

QUICK=0
OUT=
DURABILITY=${DURABILITY:-flush}
CONTENT_HASH=0
WORKLOADS=rewrite,sqlite,untar
FILESYSTEMS=ext4,ext4j,xfs
RUNS_ARG=
BUILD=${BUILD:-$REPO/build}
while [[ $# -gt 0 ]]; do
	case $1 in
	--quick) QUICK=1 ;;
	--out) OUT=${2:?--out needs a file}; shift ;;
	--durability) DURABILITY=${2:?--durability needs power, flush or process}; shift ;;
	--build) BUILD=${2:?--build needs a directory}; shift ;;
	--content-hash) CONTENT_HASH=1 ;;
	--workloads) WORKLOADS=${2:?--workloads needs a list}; shift ;;
	--filesystems) FILESYSTEMS=${2:?--filesystems needs a list}; shift ;;
	--runs) RUNS_ARG=${2:?--runs needs a number}; shift ;;
	-h | --help) sed -n '2,/^set -e/p' "$SELF" | sed 's/^# \{0,1\}//;$d'; exit 0 ;;
	*) die "unknown argument $1 (try --help)" ;;
	esac
	shift
done
BUILD=$(readlink -f "$BUILD")
[[ $DURABILITY =~ ^(power|flush|process)$ ]] || die "--durability: power, flush or process, not $DURABILITY"
for w in ${WORKLOADS//,/ }; do
	[[ $w =~ ^(rewrite|sqlite|untar)$ ]] || die "--workloads: unknown workload $w (rewrite, sqlite, untar)"
done
for f in ${FILESYSTEMS//,/ }; do
	[[ $f =~ ^(ext4|ext4j|xfs)$ ]] || die "--filesystems: unknown file system $f (ext4, ext4j, xfs)"
done
[[ -z $RUNS_ARG || ( $RUNS_ARG =~ ^[0-9]+$ && $RUNS_ARG -ge 1 && $RUNS_ARG -le 99 ) ]] ||
	die "--runs: a number of runs from 1 to 99, not $RUNS_ARG"
[[ $(id -u) -eq 0 ]] || die "must run as root (mounts)"
for t in python3 sqlite3 tar mkfs.xfs mkfs.ext4 unshare findmnt; do
	command -v "$t" >/dev/null || die "$t not found"
done
for f in "$BUILD/src/daemon/fltmgrd" "$BUILD/filters/backup/backup.so" \
	"$BUILD/filters/backup/cli/altbackup"; do
	[[ -e $f ]] || die "$f missing: build first (ninja -C $BUILD)"
done
if ((QUICK)); then
	RUNS=2 NTX=500 TAR_FROM=/usr/include TAR_WHAT=linux
else
	RUNS=5 NTX=2000 TAR_FROM=/usr TAR_WHAT=include
fi
[[ -z $RUNS_ARG ]] || RUNS=$RUNS_ARG

STAMP=$(date +%Y%m%d-%H%M%S)
RES=$BENCH_DIR/results/backup-$STAMP
((QUICK)) && RES=$RES-quick
LOGS=$RES/logs
mkdir -p "$LOGS"
WORK=$(mktemp -d /var/tmp/altitude-bkbench.XXXXXX)
chmod 755 "$WORK"
cleanup() {
	local rc=$?
	trap - EXIT
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Private copies of what is measured.
mkdir -p "$WORK/bin" "$WORK/ext4" "$WORK/services"
cp "$BUILD/src/daemon/fltmgrd" "$BUILD/filters/backup/backup.so" \
	"$BUILD/filters/backup/cli/altbackup" "$WORK/bin/"
cp -L "$BUILD/src/fltlib/libfltlib.so.0" "$WORK/bin/"
FLTMGRD=$WORK/bin/fltmgrd BACKUP=$WORK/bin/backup.so
ALTBACKUP=$WORK/bin/altbackup
export LD_LIBRARY_PATH=$WORK/bin

TARBALL=$WORK/tree.tar
tar cf "$TARBALL" -C "$TAR_FROM" "$TAR_WHAT"
python3 -c '
import sys
for i in range(int(sys.argv[1])):
    print("INSERT INTO t (v) VALUES (%r);" % ("row %d " % i + "x" * 100))' "$NTX" >"$WORK/inserts.sql"
if [[ ,$FILESYSTEMS, == *,xfs,* ]]; then
	truncate -s 4G "$WORK/xfs.img"
	mkfs.xfs -q -m reflink=1 "$WORK/xfs.img" || die "mkfs.xfs failed"
fi
if [[ ,$FILESYSTEMS, == *,ext4j,* ]]; then
	truncate -s 4G "$WORK/ext4j.img"
	mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0,nodiscard \
		"$WORK/ext4j.img" || die "mkfs.ext4 failed"
fi

{
	echo "date=$(date -Iseconds)"
	echo "mode=$( ((QUICK)) && echo quick || echo full)"
	echo "nproc=$(nproc)"
	echo "cpu=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)"
	echo "mem=$(awk '/^MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
	echo "kernel=$(uname -r)"
	src=$(findmnt -n -o SOURCE -T "$WORK")
	jbd="without a journal"
	[[ -d /proc/fs/jbd2/$(basename "$(readlink -f "$src")")-8 ]] && jbd="with a journal"
	echo "fs=$(findmnt -n -o FSTYPE -T "$WORK") on $src, $jbd"
	echo "commit=$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)"
	echo "runs=$RUNS"
	echo "durability=$DURABILITY"
	echo "content_hash=$CONTENT_HASH"
	echo "workloads=$WORKLOADS"
	echo "filesystems=$FILESYSTEMS"
	echo "ntx=$NTX"
	echo "tarball=$TAR_FROM/$TAR_WHAT: $(tar tf "$TARBALL" | wc -l) entries, $(($(stat -c %s "$TARBALL") / 1048576)) MiB"
	echo "load_start=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$RES/machine.txt"
log "results in $RES"

export WORK RES LOGS FLTMGRD BACKUP ALTBACKUP TARBALL RUNS DURABILITY \
	CONTENT_HASH WORKLOADS FILESYSTEMS
: >"$RES/failures.tsv"
printf 'config\tworkload\trun\tseconds\tversions\tbytes\n' >"$RES/times.tsv"
for fs in ${FILESYSTEMS//,/ }; do
	log "== $fs: no filter and backup, run by run"
	unshare --mount --propagation private -- bash "$SELF" --inner "$fs" ||
		log "$fs: inner run exited with status $?"
done

echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$RES/machine.txt"

report "$RES"
cat "$RES/report.md"
[[ -z $OUT ]] || cp "$RES/report.md" "$OUT"
log "report: $RES/report.md"
