#!/usr/bin/env bash
# bench/requests.sh - FUSE requests per operation, per configuration.
#
# Usage: sudo bench/requests.sh [--build DIR] [--out FILE]
#
# Timing on a shared VM moves by 2x between runs; the number of requests the
# kernel sends the daemon for one operation does not, and it is what most of
# the differences in docs/BENCHMARKS.md come from.  For each configuration of
# bench/run.sh (native excluded, plus pllperm), this mounts the file system in
# a private mount namespace, runs each workload once at a small size while
# `strace -f -c -e trace=read` counts the daemon's successful read(2) calls
# (libfuse reads exactly one request per call; the daemons do their file I/O
# with pread/pwrite, not read), and divides by the number of operations.
# Each figure includes what the workload's own open/close or lookups cost;
# FORGET and other requests the kernel sends later are counted when they
# arrive within the workload.  Runs under strace are slow: only the counts
# mean anything.
#
# Where tracefs offers the fuse:fuse_request_send event (recent kernels;
# 6.18 has it), a second table breaks the same runs down by opcode: an
# instance of its own (/sys/kernel/tracing/instances/), filtered on the
# mount's connection, records every request the kernel sends while the
# workload runs.  FORGETs do not pass through that event; the first table
# counts them.
#
# Workloads (on a fresh mount, in this order):
#   create   1000 open(O_CREAT|O_EXCL)+close in one directory   per file
#   stat     find -printf %s over those 1000 files, twice in a
#            row (the second pass finds what the first cached)   per lstat
#   unlink   unlink of the 1000 files                            per file
#   write    4 MiB in 4 KiB write(2) calls                       per write
#   read4k   the same file read back in 4 KiB read(2) calls,
#            after drop_caches                                   per read
#   untar    tar xf of /usr/include/linux (as root: owners,
#            modes and times restored)                           per entry
set -euo pipefail

SELF=$(readlink -f "$0")
REPO=$(dirname "$(dirname "$SELF")")
BUILD=${BUILD:-$REPO/build}
OUT=
N=1000

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---- inner: one configuration in its own mount namespace -------------------

count_reads() { # FILE -> successful read calls in an strace -c summary
	awk '$NF == "read" { calls = $4; errs = ($5 ~ /^[0-9]+$/) ? $5 : 0 }
	     END { print (calls ? calls - errs : 0) }' "$1"
}

# measure NAME OPS CMD...: requests per op for CMD, appended to $W/out.tsv
# (and per opcode to $W/ops.tsv when tracing)
measure() {
	local name=$1 ops=$2 s n
	shift 2
	strace -qq -f -c -e trace=read -o "$W/strace.$name" -p "$DPID" &
	s=$!
	sleep 1 # strace attached to every thread
	[[ -z $TRI ]] || echo 1 >"$TRI/tracing_on"
	"$@" >/dev/null
	sleep 0.3
	[[ -z $TRI ]] || echo 0 >"$TRI/tracing_on"
	kill -INT "$s"
	wait "$s" 2>/dev/null || true
	n=$(count_reads "$W/strace.$name")
	printf '%s\t%s\t%s\t%s\n' "$CFG" "$name" "$n" "$ops" >>"$W/out.tsv"
	[[ -n $TRI ]] || return 0
	grep -o 'opcode [0-9]* ([A-Z_0-9]*)' "$TRI/trace" |
		awk -v c="$CFG" -v w="$name" -v ops="$ops" \
			'{ n[substr($3, 7, length($3) - 7)]++ }
			 END { for (o in n) printf "%s\t%s\t%s\t%s\t%s\n", c, w, o, n[o], ops }' \
			>>"$W/ops.tsv"
	echo >"$TRI/trace"
}

# trace_start MOUNTPOINT: a tracefs instance recording the requests of that
# mount's FUSE connection only; TRI is empty where that is not possible.
trace_start() {
	local ev=/sys/kernel/tracing/events/fuse/fuse_request_send
	TRI=
	[[ -d $ev ]] || return 0
	TRI=/sys/kernel/tracing/instances/altitude-requests-$$
	mkdir "$TRI" 2>/dev/null || { TRI=; return 0; }
	echo 0 >"$TRI/tracing_on"
	echo "connection == $(mountpoint -d "$1" | cut -d: -f2)" \
		>"$TRI/events/fuse/fuse_request_send/filter"
	echo 1 >"$TRI/events/fuse/fuse_request_send/enable"
}

inner() {
	local d=$W/$CFG i
	mkdir -p "$d/src" "$d/mnt"
	case $CFG in
	pll) "$PLL" -f -o source="$d/src" "$d/mnt" 2>/dev/null & ;;
	pllperm) "$PLL" -f -o "source=$d/src,default_permissions,allow_other,xattr" \
		"$d/mnt" 2>/dev/null & ;;
	alt0) "$FLTMGRD" -v "$d/mnt=bench" --pidfile "$d/pid" --log "$d/log" & ;;
	null3 | pt3)
		local img=$BUILD/filters/nullfilter.so
		[[ $CFG == pt3 ]] && img=$BUILD/filters/passthrough.so
		"$FLTMGRD" -v "$d/mnt=bench" -f "$img@370030=f1" -f "$img@370040=f2" \
			-f "$img@370050=f3" --pidfile "$d/pid" --log "$d/log" & ;;
	esac
	DPID=$!
	TRI=
	trap 'kill -TERM $DPID 2>/dev/null; wait $DPID 2>/dev/null || true
	      [[ -z $TRI ]] || rmdir "$TRI"' EXIT
	for ((i = 0; i < 100; i++)); do
		[[ $(findmnt -n -o FSTYPE --mountpoint "$d/mnt" 2>/dev/null) == fuse* ]] && break
		sleep 0.1
	done
	[[ $CFG == pll* ]] || for ((i = 0; i < 100; i++)); do
		[[ -s $d/pid ]] && break
		sleep 0.1
	done
	sleep 0.5
	local m=$d/mnt
	trace_start "$m"
	mkdir "$m/c"
	measure create "$N" "$FSOPS" create "$m/c" "$N"
	# shellcheck disable=SC2016 # expanded by the inner sh
	measure stat $((2 * N)) sh -c 'find "$1" -printf "%s\n"; find "$1" -printf "%s\n"' sh "$m/c"
	measure unlink "$N" "$FSOPS" unlink "$m/c" "$N"
	measure write 1024 "$FSOPS" write "$m/w" 4M 4K
	sync
	echo 3 >/proc/sys/vm/drop_caches
	measure read4k 1024 dd if="$m/w" of=/dev/null bs=4k status=none
	mkdir "$m/t"
	measure untar "$(tar tf "$TARBALL" | wc -l)" tar xf "$TARBALL" -C "$m/t"
}

if [[ ${1:-} == --inner ]]; then
	CFG=$2
	inner
	exit 0
fi

# ---- outer -----------------------------------------------------------------

while [[ $# -gt 0 ]]; do
	case $1 in
	--build) BUILD=${2:?}; shift ;;
	--out) OUT=${2:?}; shift ;;
	-h | --help) sed -n '2,/^set -e/p' "$SELF" | sed 's/^# \{0,1\}//;$d'; exit 0 ;;
	*) die "unknown argument $1" ;;
	esac
	shift
done
[[ $(id -u) -eq 0 ]] || die "must run as root"
for t in strace unshare cc pkg-config findmnt; do
	command -v "$t" >/dev/null || die "$t not found"
done
BUILD=$(readlink -f "$BUILD")
FLTMGRD=$BUILD/src/daemon/fltmgrd
FSOPS=$BUILD/bench/fsops
[[ -x $FLTMGRD && -x $FSOPS ]] || die "build first (ninja -C $BUILD)"

W=$(mktemp -d /var/tmp/altitude-requests.XXXXXX)
trap 'rm -rf "$W"' EXIT
TARBALL=$W/linux.tar
tar cf "$TARBALL" -C /usr/include linux
PLL=$W/passthrough_ll
# shellcheck disable=SC2046
cc -O2 -o "$PLL" /usr/share/doc/libfuse3-dev/examples/passthrough_ll.c \
	-I/usr/share/doc/libfuse3-dev/examples $(pkg-config --cflags --libs fuse3) ||
	die "cannot build passthrough_ll"
export W PLL FLTMGRD FSOPS BUILD N TARBALL
for cfg in pll pllperm alt0 null3 pt3; do
	log "$cfg"
	unshare --mount --propagation private -- bash "$SELF" --inner "$cfg" ||
		log "$cfg: exit status $?"
done

touch "$W/ops.tsv"
python3 - "$W/out.tsv" "$W/ops.tsv" <<'PY' | tee ${OUT:+"$OUT"}
import sys
cfgs = ["pll", "pllperm", "alt0", "null3", "pt3"]
label = {"pll": "passthrough_ll", "pllperm": "passthrough_ll +perm,xattr",
         "alt0": "Altitude 0 filters", "null3": "Altitude 3 nullfilter",
         "pt3": "Altitude 3 passthrough"}
wl = [("create", "create (open O_CREAT + close)"),
      ("stat", "lstat (find -printf %s, two passes)"),
      ("unlink", "unlink"),
      ("write", "4 KiB write(2)"),
      ("read4k", "4 KiB read(2), cold cache"),
      ("untar", "untar of /usr/include/linux")]
v = {}
for line in open(sys.argv[1]):
    c, w, n, ops = line.split("\t")
    v[(c, w)] = int(n) / int(ops)
print("| FUSE requests per operation | " +
      " | ".join(label[c] for c in cfgs) + " |")
print("|---|" + "---:|" * len(cfgs))
for w, d in wl:
    print(f"| {d} | " + " | ".join(
        f"{v[(c, w)]:.2f}" if (c, w) in v else "–" for c in cfgs) + " |")
ops = {}
for line in open(sys.argv[2]):
    c, w, o, n, k = line.rstrip("\n").split("\t")
    ops.setdefault(w, {}).setdefault(o, {})[c] = int(n) / int(k)
if ops:
    print("\nBy opcode (fuse_request_send; FORGETs not included):\n")
    print("| workload | opcode | " + " | ".join(label[c] for c in cfgs) + " |")
    print("|---|---|" + "---:|" * len(cfgs))
    for w, d in wl:
        for o in sorted(ops.get(w, {}), key=lambda o: -max(ops[w][o].values())):
            if max(ops[w][o].values()) < 0.01:
                continue
            print(f"| {d} | {o} | " + " | ".join(
                f"{ops[w][o].get(c, 0):.2f}" for c in cfgs) + " |")
PY
