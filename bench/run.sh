#!/usr/bin/env bash
# bench/run.sh - Altitude against the native file system and libfuse's
# passthrough_ll, side by side, in one run on one machine.
#
# Usage: sudo bench/run.sh [--quick] [--out FILE] [--build DIR] [--no-micro]
#                          [--pll-perm] [--configs LIST] [--workloads LIST]
#
#   --quick     small sizes, 1 round of 2 runs per workload (~20 s, smoke test)
#   --out FILE  also write the Markdown report to FILE
#   --build DIR meson build directory (default: <repo>/build, or $BUILD)
#   --no-micro  skip the dispatch microbenchmark
#   --pll-perm  also run pllperm: passthrough_ll with the mount semantics
#               Altitude needs (-o default_permissions,allow_other,xattr), to
#               tell FUSE protocol costs from Altitude's own
#   --configs LIST    only these configurations (comma-separated names
#               below; keep pll for the ratios)
#   --workloads LIST  only these workloads (comma-separated names below;
#               find_stat and tar_read read the tree untar leaves, seq_read
#               the file seq_write leaves)
#
# Configurations, each mounted fresh in its own private mount namespace
# (unshare --mount --propagation private) and stopped with SIGTERM at the end:
#   native  a directory on the file system under the work dir (/var/tmp)
#   pll     libfuse's example passthrough_ll, built from
#           /usr/share/doc/libfuse3-dev/examples into the temporary work dir,
#           run with its defaults: passthrough_ll -f -o source=SRC MNT
#   pllperm (--pll-perm only) the same with
#           -o default_permissions,allow_other,xattr
#   alt0    fltmgrd, one volume, no filter
#   null3   fltmgrd, nullfilter.so loaded three times (370030/40/50)
#   pt3     fltmgrd, passthrough.so loaded three times (the no-op filter
#           that registers every major function: the worst case for caching)
#
# The configurations are run in rounds (full: 3, quick: 1): each round mounts
# every configuration afresh and runs every workload on it, so background
# load on a shared machine spreads over all configurations.  Each workload is
# one hyperfine call per round (--runs N --prepare ...; a warm-up run only for
# find_stat and tar_read, which measure a warm cache); the report gives the
# median of all timed runs of all rounds (full: 6 per cell, 3 for untar,
# rm -rf and the sequential I/O).
#
# Workloads:
#   untar       tar xf of a tarball of /usr/include into an empty directory
#   find_stat   find TREE -printf '%s %T@ %m' (an lstat per entry)
#   tar_read    tar cf - TREE | cat >/dev/null (reads every file; a pipe,
#               because GNU tar skips file data when writing to /dev/null)
#   rm_rf       rm -rf TREE (prepare: untar)
#   create_10k  10,000 open(O_CREAT|O_EXCL)+close (bench/fsops)
#   unlink_10k  10,000 unlink (prepare: the creates)
#   write_4k    64 MiB in 4 KiB write(2) calls, no fsync (bench/fsops)
#   seq_write   1 GiB dd bs=1M conv=fsync
#   seq_read    1 GiB dd bs=1M after echo 3 > /proc/sys/vm/drop_caches
# Every prepare step ends with sync so writeback of one run does not land in
# the next.  find_stat and tar_read run on a warm cache (the warm-up run
# fills it); what each configuration lets the kernel cache is the point.
#
# Raw hyperfine JSON, a CSV of all statistics, daemon logs and the report go
# to bench/results/<timestamp>/ (gitignored).  Needs root, hyperfine, cc,
# pkg-config (fuse3), unshare, and a built tree (ninja -C build).
set -euo pipefail

SELF=$(readlink -f "$0")
BENCH_DIR=$(dirname "$SELF")
REPO=$(dirname "$BENCH_DIR")
PLL_SRC_DIR=/usr/share/doc/libfuse3-dev/examples
CONFIGS=(native pll alt0 null3 pt3)

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------------------
# Inner part: one configuration, inside its private mount namespace.
# ---------------------------------------------------------------------------

DAEMON_PID=
DIR=

is_fuse_mount() {
	local t
	t=$(findmnt -n -o FSTYPE --mountpoint "$1" 2>/dev/null | tail -n 1) || return 1
	[[ $t == fuse* ]]
}

note_failure() {
	printf '%s\t%s\t%s\n' "$CFG (round $ROUND)" "$1" "$2" >>"$RES/failures.tsv"
	log "$CFG: $1: $2"
}

stop_daemon() {
	local i
	[[ -n $DAEMON_PID ]] || return 0
	if kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -TERM "$DAEMON_PID" 2>/dev/null || true
		for ((i = 0; i < 300; i++)); do
			kill -0 "$DAEMON_PID" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$DAEMON_PID" 2>/dev/null; then
			note_failure daemon "still running 30 s after SIGTERM; killed"
			kill -KILL "$DAEMON_PID" 2>/dev/null || true
		fi
	else
		note_failure daemon "had exited before the end of the run"
	fi
	local rc=0
	wait "$DAEMON_PID" 2>/dev/null || rc=$?
	# passthrough_ll returns 1 when its loop ends on a signal: normal.
	if [[ $rc -ne 0 ]] && ! [[ $CFG == pll* && $rc -eq 1 ]]; then
		note_failure daemon "exit status $rc"
	fi
	if is_fuse_mount "$DIR"; then
		note_failure daemon "$DIR still mounted after the daemon exited"
		umount -l "$DIR" 2>/dev/null || true
	fi
	DAEMON_PID=
	rm -f "$WORK/$CFG.daemon.pid"
}

start_daemon() {
	local base=$WORK/$CFG pidfile=$WORK/$CFG/fltmgrd.pid i
	case $CFG in
	native)
		DIR=$base/dir
		mkdir -p "$DIR"
		return 0
		;;
	pll | pllperm)
		local o=source=$base/src
		[[ $CFG == pll ]] || o+=,default_permissions,allow_other,xattr
		DIR=$base/mnt
		mkdir -p "$base/src" "$DIR"
		env --default-signal=INT,QUIT "$PLL" -f -o "$o" "$DIR" \
			</dev/null >>"$LOGS/$CFG.log" 2>&1 &
		DAEMON_PID=$!
		;;
	alt0 | null3 | pt3)
		local f=() img
		DIR=$base/dir
		mkdir -p "$DIR"
		case $CFG in
		null3) img=$FILTERS/nullfilter.so ;;
		pt3) img=$FILTERS/passthrough.so ;;
		esac
		if [[ $CFG != alt0 ]]; then
			f=(-f "$img@370030=f1" -f "$img@370040=f2" -f "$img@370050=f3")
		fi
		env --default-signal=INT,QUIT "$FLTMGRD" -v "$DIR=bench" "${f[@]}" \
			--pidfile "$pidfile" --log "$LOGS/$CFG.log" \
			</dev/null >>"$LOGS/$CFG.out" 2>&1 &
		DAEMON_PID=$!
		;;
	esac
	echo "$DAEMON_PID" >"$WORK/$CFG.daemon.pid"
	for ((i = 0; i < 200; i++)); do
		if [[ $CFG == pll* ]] || [[ -s $pidfile ]]; then
			is_fuse_mount "$DIR" && return 0
		fi
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	note_failure mount "$CFG did not mount $DIR within 20 s"
	return 1
}

# bench_one NAME WARMUP RUNS PREPARE COMMAND (unless --workloads left NAME out)
bench_one() {
	local name=$1 warm=$2 runs=$3 prep=$4 cmd=$5 rc=0
	local json=$RES/raw/$CFG.$name.r$ROUND.json
	[[ -z $WORKLOADS || ,$WORKLOADS, == *,$name,* ]] || return 0
	if [[ -n $DAEMON_PID ]] && ! is_fuse_mount "$DIR"; then
		note_failure "$name" "skipped: $DIR is no longer a FUSE mount"
		return 0
	fi
	log "round $ROUND: $CFG: $name"
	printf '=== round %s: %s: %s\n--- prepare: %s\n' "$ROUND" "$name" "$cmd" \
		"$prep" >>"$LOGS/$CFG.hyperfine.log"
	timeout -k 10 "$WL_TIMEOUT" hyperfine --style basic -w "$warm" \
		-r "$runs" -p "$prep" -n "$name" --export-json "$json" "$cmd" \
		>>"$LOGS/$CFG.hyperfine.log" 2>&1 || rc=$?
	if [[ $rc -eq 124 || $rc -eq 137 ]]; then
		note_failure "$name" "timed out after ${WL_TIMEOUT}s: $cmd"
		rm -f "$json"
	elif [[ $rc -ne 0 ]]; then
		note_failure "$name" "hyperfine exit $rc (see logs/$CFG.hyperfine.log): $cmd"
		rm -f "$json"
	fi
	if [[ -n $DAEMON_PID ]] && ! kill -0 "$DAEMON_PID" 2>/dev/null; then
		note_failure "$name" "daemon died during this workload"
	fi
}

run_inner() {
	trap 'stop_daemon' EXIT
	trap 'exit 130' INT TERM
	start_daemon || exit 1
	cd /

	local d tb fs
	d=$(printf %q "$DIR")
	tb=$(printf %q "$TARBALL")
	fs=$(printf %q "$FSOPS")

	bench_one untar 0 "$RUNS_BIG" \
		"rm -rf $d/tree && mkdir $d/tree && sync" \
		"tar xf $tb -C $d/tree"
	bench_one find_stat "$WARMUP" "$RUNS" "sync" \
		"find $d/tree -printf '%s %T@ %m\n' >/dev/null"
	bench_one tar_read "$WARMUP" "$RUNS" "sync" \
		"tar cf - -C $d tree | cat >/dev/null"
	bench_one rm_rf 0 "$RUNS_BIG" \
		"rm -rf $d/tree && mkdir $d/tree && tar xf $tb -C $d/tree && sync" \
		"rm -rf $d/tree"
	bench_one create_files 0 "$RUNS" \
		"rm -rf $d/c && mkdir $d/c && sync" \
		"$fs create $d/c $NFILES"
	bench_one unlink_files 0 "$RUNS" \
		"rm -rf $d/c && mkdir $d/c && $fs create $d/c $NFILES && sync" \
		"$fs unlink $d/c $NFILES"
	rm -rf "$DIR/c"
	bench_one write_4k 0 "$RUNS" "rm -f $d/w4k && sync" \
		"$fs write $d/w4k $W4K_SIZE 4K"
	rm -f "$DIR/w4k"
	bench_one seq_write 0 "$RUNS_BIG" "rm -f $d/big && sync" \
		"dd if=/dev/zero of=$d/big bs=1M count=$SEQ_MB conv=fsync status=none"
	bench_one seq_read 0 "$RUNS_BIG" \
		"sync && echo 3 >/proc/sys/vm/drop_caches" \
		"dd if=$d/big of=/dev/null bs=1M status=none"
	rm -rf "$DIR/tree" "$DIR/big"
	stop_daemon
}

if [[ ${1:-} == --inner ]]; then
	CFG=$2
	ROUND=$3
	run_inner
	exit 0
fi

# ---------------------------------------------------------------------------
# Outer part: set up, run each configuration, report, clean up.
# ---------------------------------------------------------------------------

QUICK=0
OUT=
MICRO=1
WORKLOADS=
BUILD=${BUILD:-$REPO/build}
while [[ $# -gt 0 ]]; do
	case $1 in
	--quick) QUICK=1 ;;
	--out) OUT=${2:?--out needs a file}; shift ;;
	--build) BUILD=${2:?--build needs a directory}; shift ;;
	--no-micro) MICRO=0 ;;
	--pll-perm) CONFIGS=(native pll pllperm alt0 null3 pt3) ;;
	--configs) IFS=, read -r -a CONFIGS <<<"${2:?--configs needs a list}"; shift ;;
	--workloads) WORKLOADS=${2:?--workloads needs a list}; shift ;;
	-h | --help) sed -n '2,/^set -e/p' "$SELF" | sed 's/^# \{0,1\}//;$d'; exit 0 ;;
	*) die "unknown argument $1 (try --help)" ;;
	esac
	shift
done
for cfg in "${CONFIGS[@]}"; do
	[[ $cfg =~ ^(native|pll|pllperm|alt0|null3|pt3)$ ]] ||
		die "unknown configuration $cfg (try --help)"
done
BUILD=$(readlink -f "$BUILD")
# The source tree the build was configured from: its commit is what is measured.
BUILD_SRC=$(jq -r .directories.source "$BUILD/meson-info/meson-info.json" 2>/dev/null) ||
	BUILD_SRC=$REPO

[[ $(id -u) -eq 0 ]] || die "must run as root (mounts, drop_caches)"
for t in hyperfine cc pkg-config unshare findmnt timeout tar dd python3 jq; do
	command -v "$t" >/dev/null || die "$t not found"
done
FLTMGRD=$BUILD/src/daemon/fltmgrd
FSOPS=$BUILD/bench/fsops
MICRO_BIN=$BUILD/bench/dispatch_micro
for f in "$FLTMGRD" "$FSOPS" "$MICRO_BIN" "$BUILD/filters/nullfilter.so" \
	"$BUILD/filters/passthrough.so"; do
	[[ -e $f ]] || die "$f missing: build first (ninja -C $BUILD)"
done

if ((QUICK)); then
	ROUNDS=1 WARMUP=0 RUNS=2 RUNS_BIG=2 NFILES=1000 W4K_SIZE=8M SEQ_MB=64
	TAR_FROM=/usr/include TAR_WHAT=linux
else
	ROUNDS=3 WARMUP=1 RUNS=2 RUNS_BIG=1 NFILES=10000 W4K_SIZE=64M SEQ_MB=1024
	TAR_FROM=/usr TAR_WHAT=include
fi
WL_TIMEOUT=${WL_TIMEOUT:-900}

STAMP=$(date +%Y%m%d-%H%M%S)
RES=$BENCH_DIR/results/$STAMP
((QUICK)) && RES=$RES-quick
LOGS=$RES/logs
mkdir -p "$LOGS" "$RES/raw"
WORK=$(mktemp -d /var/tmp/altitude-bench.XXXXXX)
chmod 755 "$WORK"
INNER_PID=

cleanup() {
	local rc=$? f pid i
	trap - EXIT INT TERM
	if [[ -n $INNER_PID ]] && kill -0 "$INNER_PID" 2>/dev/null; then
		kill -TERM "$INNER_PID" 2>/dev/null || true
		for ((i = 0; i < 300; i++)); do
			kill -0 "$INNER_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$INNER_PID" 2>/dev/null || true
		wait "$INNER_PID" 2>/dev/null || true
	fi
	# Daemons an inner part could not stop (it was killed itself).
	for f in "$WORK"/*.daemon.pid; do
		[[ -e $f ]] || continue
		pid=$(<"$f")
		if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
			log "stopping leftover daemon $pid"
			kill -TERM "$pid" 2>/dev/null || true
			sleep 2
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Private copies of what is measured, so a rebuild of $BUILD during the run
# cannot change it halfway.
mkdir -p "$WORK/bin/filters"
cp "$FLTMGRD" "$FSOPS" "$MICRO_BIN" "$WORK/bin/"
cp "$BUILD/filters/nullfilter.so" "$BUILD/filters/passthrough.so" "$WORK/bin/filters/"
FLTMGRD=$WORK/bin/fltmgrd FSOPS=$WORK/bin/fsops MICRO_BIN=$WORK/bin/dispatch_micro
FILTERS=$WORK/bin/filters

# passthrough_ll: built here, never kept.
PLL=$WORK/bin/passthrough_ll
if [[ -f $PLL_SRC_DIR/passthrough_ll.c ]]; then
	cp "$PLL_SRC_DIR/passthrough_ll.c" "$PLL_SRC_DIR/passthrough_helpers.h" "$WORK/bin/"
elif [[ -f $PLL_SRC_DIR/passthrough_ll.c.gz ]]; then
	zcat "$PLL_SRC_DIR/passthrough_ll.c.gz" >"$WORK/bin/passthrough_ll.c"
	cp "$PLL_SRC_DIR/passthrough_helpers.h" "$WORK/bin/" 2>/dev/null ||
		zcat "$PLL_SRC_DIR/passthrough_helpers.h.gz" >"$WORK/bin/passthrough_helpers.h"
else
	die "no $PLL_SRC_DIR/passthrough_ll.c (apt-get install libfuse3-dev)"
fi
# shellcheck disable=SC2046
cc -O2 -o "$PLL" "$WORK/bin/passthrough_ll.c" $(pkg-config --cflags --libs fuse3) ||
	die "cannot build passthrough_ll"

TARBALL=$WORK/tree.tar
tar cf "$TARBALL" -C "$TAR_FROM" "$TAR_WHAT"
TAR_FILES=$(tar tf "$TARBALL" | wc -l)
TAR_BYTES=$(stat -c %s "$TARBALL")

# Machine description.
{
	echo "date=$(date -Iseconds)"
	echo "mode=$( ((QUICK)) && echo quick || echo full)"
	echo "nproc=$(nproc)"
	echo "cpu=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)"
	echo "mem=$(awk '/^MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
	echo "kernel=$(uname -r)"
	echo "fs=$(findmnt -n -o FSTYPE -T "$WORK") on $(findmnt -n -o SOURCE -T "$WORK") ($(findmnt -n -o TARGET -T "$WORK"))"
	echo "libfuse=$(pkg-config --modversion fuse3)"
	echo "hyperfine=$(hyperfine --version | awk '{print $2}')"
	echo "commit=$(git -C "$BUILD_SRC" describe --always --dirty 2>/dev/null || echo unknown)"
	echo "rounds=$ROUNDS"
	echo "warmup=$WARMUP"
	echo "runs=$RUNS"
	echo "runs_big=$RUNS_BIG"
	echo "tarball=$TAR_FROM/$TAR_WHAT: $TAR_FILES entries, $((TAR_BYTES / 1048576)) MiB"
	echo "nfiles=$NFILES"
	echo "w4k_size=$W4K_SIZE"
	echo "seq_mb=$SEQ_MB"
	echo "load_start=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$RES/machine.txt"
log "results in $RES"
# Other work on the machine shows in every figure: say so up front.
if awk '{exit !($1 > 0.5)}' /proc/loadavg; then
	log "warning: load average $(cut -d' ' -f1 /proc/loadavg): the machine is not idle"
fi

export WORK RES LOGS FILTERS FLTMGRD FSOPS PLL TARBALL WARMUP RUNS RUNS_BIG \
	NFILES W4K_SIZE SEQ_MB WL_TIMEOUT WORKLOADS
: >"$RES/failures.tsv"
# Rounds interleave the configurations, so that other work on the machine
# during the run spreads over all of them instead of skewing one.
for ((round = 1; round <= ROUNDS; round++)); do
	for cfg in "${CONFIGS[@]}"; do
		log "== round $round/$ROUNDS: configuration $cfg"
		printf 'load_%s_r%s=%s\n' "$cfg" "$round" \
			"$(cut -d' ' -f1 /proc/loadavg)" >>"$RES/machine.txt"
		unshare --mount --propagation private -- \
			bash "$SELF" --inner "$cfg" "$round" &
		INNER_PID=$!
		wait "$INNER_PID" || log "$cfg: inner run exited with status $?"
		INNER_PID=
	done
done

if ((MICRO)); then
	log "== dispatch microbenchmark"
	m=()
	((QUICK)) && m=(--quick)
	"$MICRO_BIN" "${m[@]}" --csv "$RES/dispatch_micro.csv" \
		>"$RES/dispatch_micro.md" 2>>"$LOGS/dispatch_micro.log" ||
		printf 'micro\tdispatch_micro\texit status %s\n' $? >>"$RES/failures.tsv"
fi

echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$RES/machine.txt"

python3 - "$RES" <<'PY' >"$RES/report.md"
import json, math, os, statistics, sys

res = sys.argv[1]
machine = dict(l.rstrip("\n").split("=", 1)
               for l in open(os.path.join(res, "machine.txt")) if "=" in l)
cfgs = [c for c in ["native", "pll", "pllperm", "alt0", "null3", "pt3"]
        if "load_" + c + "_r1" in machine]
label = {"native": "native", "pll": "passthrough_ll",
         "pllperm": "passthrough_ll +perm,xattr",
         "alt0": "Altitude 0 filters", "null3": "Altitude 3 nullfilter",
         "pt3": "Altitude 3 passthrough"}
mb = int(machine["seq_mb"])
size = f"{mb // 1024} GiB" if mb >= 1024 else f"{mb} MiB"
wl = [("untar", "untar " + machine["tarball"].split(":")[0]),
      ("find_stat", "find + lstat of the tree"),
      ("tar_read", "tar read of the tree"),
      ("rm_rf", "rm -rf of the tree"),
      ("create_files", f"{int(machine['nfiles']):,} creates"),
      ("unlink_files", f"{int(machine['nfiles']):,} unlinks"),
      ("write_4k", f"{machine['w4k_size']}iB in 4 KiB writes"),
      ("seq_write", f"{size} sequential write (fsync)"),
      ("seq_read", f"{size} sequential read (cold)")]

rounds = int(machine["rounds"])
# Workloads --workloads left out have no results: leave them out here too.
wl = [(w, d) for w, d in wl
      if any(os.path.exists(os.path.join(res, "raw", f"{c}.{w}.r{r}.json"))
             for c in cfgs for r in range(1, rounds + 1))]
med, spread, rows = {}, {}, []
for c in cfgs:
    for w, _ in wl:
        times = []
        for r in range(1, rounds + 1):
            p = os.path.join(res, "raw", f"{c}.{w}.r{r}.json")
            if os.path.exists(p):
                times += json.load(open(p))["results"][0]["times"]
        if not times:
            continue
        m = statistics.median(times)
        med[(c, w)] = m
        spread[(c, w)] = max(times) / min(times) if min(times) > 0 else 0
        rows.append([c, w, m, statistics.mean(times),
                     statistics.stdev(times) if len(times) > 1 else 0.0,
                     min(times), max(times), len(times)])
with open(os.path.join(res, "summary.csv"), "w") as f:
    f.write("config,workload,median_s,mean_s,stddev_s,min_s,max_s,runs\n")
    for r in rows:
        f.write(",".join(str(x) if not isinstance(x, float) else f"{x:.6f}"
                         for x in r) + "\n")

def t(c, w):
    v = med.get((c, w))
    if v is None:
        return "FAIL"
    mark = " †" if spread.get((c, w), 0) > 1.5 else ""
    return (f"{v:.3f}" if v >= 0.1 else f"{v:.4f}") + mark

def ratio(a, b, w):
    x, y = med.get((a, w)), med.get((b, w))
    return None if x is None or not y else x / y

def fr(v):
    return "–" if v is None else f"{v:.2f}×"

def geo(vals):
    vals = [v for v in vals if v]
    return math.exp(sum(map(math.log, vals)) / len(vals)) if vals else None

out = []
P = out.append
P(f"# Altitude benchmark, {machine['date']} ({machine['mode']} run)\n")
P(f"Machine: {machine['nproc']} vCPU ({machine['cpu']}), {machine['mem']} RAM, "
  f"Linux {machine['kernel']}, {machine['fs']}; libfuse {machine['libfuse']}, "
  f"hyperfine {machine['hyperfine']}, Altitude {machine['commit']}. "
  f"Load average (1/5/15 min) at start {machine['load_start']}, at end "
  f"{machine.get('load_end', '?')}; 1-minute load when a configuration "
  f"started: " + ", ".join(
      f"{c} " + "/".join(machine[f"load_{c}_r{r}"] for r in range(1, rounds + 1)
                         if f"load_{c}_r{r}" in machine) for c in cfgs) +
  " (per round).\n")
P(f"Method: {rounds} round(s), each mounting every configuration afresh; per "
  f"round {machine['runs']} timed runs of each workload ({machine['runs_big']} "
  f"for untar, rm -rf and sequential I/O; {machine['warmup']} warm-up run for "
  f"find and tar read). Median wall time over all rounds, in seconds; † marks "
  f"a cell whose slowest run took more than 1.5× its fastest. Tarball: "
  f"{machine['tarball']}.\n")
P("## Median time (s)\n")
P("| workload | " + " | ".join(label[c] for c in cfgs) + " |")
P("|---|" + "---:|" * len(cfgs))
for w, d in wl:
    P(f"| {d} | " + " | ".join(t(c, w) for c in cfgs) + " |")
def ratio_table(title, base, cols):
    P(f"\n## {title}\n")
    P("| workload | " + " | ".join(label[c] for c in cols) + " |")
    P("|---|" + "---:|" * len(cols))
    for w, d in wl:
        P(f"| {d} | " + " | ".join(fr(ratio(c, base, w)) for c in cols) + " |")
    P("| **geometric mean** | " + " | ".join(
        fr(geo([ratio(c, base, w) for w, _ in wl])) for c in cols) + " |")
if "native" in cfgs:
    ratio_table("Ratio to native (lower is better, 1.00× = native)", "native",
                [c for c in cfgs if c != "native"])
ratio_table("Altitude / passthrough_ll (1.00× = as fast as passthrough_ll)", "pll",
            [c for c in cfgs if c not in ("native", "pll")])

fail = os.path.join(res, "failures.tsv")
lines = [l.rstrip("\n").split("\t") for l in open(fail) if l.strip()] \
    if os.path.exists(fail) else []
P("\n## Failures\n")
if lines:
    for l in lines:
        P("- " + ": ".join(l))
else:
    P("None: every workload completed and every daemon exited cleanly on SIGTERM.")
micro = os.path.join(res, "dispatch_micro.md")
if os.path.exists(micro):
    P("\n## Dispatch microbenchmark (no FUSE)\n")
    P(open(micro).read().rstrip())
print("\n".join(out))
PY

cat "$RES/report.md"
[[ -z $OUT ]] || cp "$RES/report.md" "$OUT"
log "report: $RES/report.md${OUT:+ (and $OUT)}"
