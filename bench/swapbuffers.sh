#!/usr/bin/env bash
# bench/swapbuffers.sh - the cost of the swapbuffers sample: the same
# volume with no filter (alt0) and with samples/swapbuffers loaded (sb),
# in one run on one machine.
#
# Usage: sudo bench/swapbuffers.sh [--quick] [--build DIR] [--rounds N]
#
#   --quick     256 MiB sequential, 4,000 random writes, 1 round (~30 s)
#   --build DIR meson build directory (default: <repo>/build, or $BUILD)
#   --rounds N  rounds (default 3; quick 1)
#
# Workloads, each timed on a fresh mount of each configuration, the two
# configurations alternating round by round:
#   seq_write  dd if=SRC of=FILE bs=1M conv=fsync  (1 GiB; SRC is random
#              data prepared outside the volume and read from the page cache)
#   seq_read   dd if=FILE of=/dev/null bs=1M after echo 3 > drop_caches
#   rand_4k    16,384 pwrite(2) of 4 KiB at random 4 KiB-aligned offsets in
#              a 256 MiB file (created beforehand), then fsync
# Each figure is the median over the rounds, in MiB/s (writes/s for
# rand_4k), and the sb/alt0 ratio.  Work files live under /var/tmp.
set -euo pipefail

SELF=$(readlink -f "$0")
REPO=$(dirname "$(dirname "$SELF")")
BUILD=${BUILD:-$REPO/build}
QUICK=0
ROUNDS=
while [[ $# -gt 0 && $1 != --inner-run ]]; do
	case $1 in
	--quick) QUICK=1 ;;
	--build) BUILD=$(readlink -f "$2"); shift ;;
	--rounds) ROUNDS=$2; shift ;;
	*) echo "usage: $0 [--quick] [--build DIR] [--rounds N]" >&2; exit 2 ;;
	esac
	shift
done

if ((QUICK)); then
	SEQ_MIB=${SEQ_MIB:-256} RAND_N=${RAND_N:-4000} ROUNDS=${ROUNDS:-1}
else
	SEQ_MIB=${SEQ_MIB:-1024} RAND_N=${RAND_N:-16384} ROUNDS=${ROUNDS:-3}
fi
RAND_FILE_MIB=256
FLTMGRD=$BUILD/src/daemon/fltmgrd
SB=$BUILD/samples/swapbuffers/swapbuffers.so

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# ---- inside a private mount namespace: one configuration, one round ----------
if [[ ${1:-} == --inner-run ]]; then
	CFG=$2 WORK=$3 OUT=$4
	DIR=$WORK/$CFG
	rm -rf "$DIR"
	mkdir -p "$DIR"
	f=()
	[[ $CFG == sb ]] && f=(-f "$SB@145000=sb" -p "sb.Key=benchmark key")
	env --default-signal=INT,QUIT "$FLTMGRD" -v "$DIR=bench" "${f[@]}" \
		--pidfile "$WORK/$CFG.pid" --log "$WORK/$CFG.log" </dev/null \
		>>"$WORK/$CFG.out" 2>&1 &
	pid=$!
	trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
	for ((i = 0; i < 200; i++)); do
		[[ -s $WORK/$CFG.pid ]] &&
			[[ $(findmnt -n -o FSTYPE --mountpoint "$DIR" | tail -n1) == fuse* ]] &&
			break
		sleep 0.1
	done
	[[ $(findmnt -n -o FSTYPE --mountpoint "$DIR" | tail -n1) == fuse* ]] ||
		{ echo "$CFG: not mounted" >&2; exit 1; }
	now() { date +%s.%N; }
	# seq_write
	sync; echo 3 >/proc/sys/vm/drop_caches; cat "$WORK/src.bin" >/dev/null
	t0=$(now)
	dd if="$WORK/src.bin" of="$DIR/seq.bin" bs=1M conv=fsync status=none
	t1=$(now)
	echo "seq_write $(echo "$SEQ_MIB / ($t1 - $t0)" | bc -l)" >>"$OUT"
	# seq_read
	sync; echo 3 >/proc/sys/vm/drop_caches
	t0=$(now)
	dd if="$DIR/seq.bin" of=/dev/null bs=1M status=none
	t1=$(now)
	echo "seq_read $(echo "$SEQ_MIB / ($t1 - $t0)" | bc -l)" >>"$OUT"
	# rand_4k
	rm -f "$DIR/seq.bin"
	dd if=/dev/zero of="$DIR/rand.bin" bs=1M count=$RAND_FILE_MIB conv=fsync status=none
	sync
	python3 - "$DIR/rand.bin" "$RAND_N" "$RAND_FILE_MIB" "$OUT" <<'PY'
import os, random, sys, time
path, n, mib, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rnd = random.Random(42)
blocks = mib * 256
buf = os.urandom(4096)
offs = [rnd.randrange(blocks) * 4096 for _ in range(n)]
fd = os.open(path, os.O_WRONLY)
t0 = time.monotonic()
for off in offs:
    os.pwrite(fd, buf, off)
os.fsync(fd)
t1 = time.monotonic()
os.close(fd)
with open(out, "a") as f:
    f.write("rand_4k %f\n" % (n / (t1 - t0)))
PY
	exit 0
fi

# ---- outer part ------------------------------------------------------------------
[[ $(id -u) -eq 0 ]] || { echo "run as root" >&2; exit 1; }
[[ -x $FLTMGRD && -f $SB ]] || { echo "build first: ninja -C $BUILD" >&2; exit 1; }
for t in unshare findmnt bc python3 dd; do
	command -v "$t" >/dev/null || { echo "missing: $t" >&2; exit 1; }
done
WORK=$(mktemp -d /var/tmp/altitude-sbbench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
log "preparing ${SEQ_MIB} MiB of random data"
head -c $((SEQ_MIB << 20)) /dev/urandom >"$WORK/src.bin"
export SEQ_MIB RAND_N RAND_FILE_MIB FLTMGRD SB
for ((r = 1; r <= ROUNDS; r++)); do
	for cfg in alt0 sb; do
		log "round $r: $cfg"
		unshare --mount --propagation private -- \
			bash "$SELF" --inner-run "$cfg" "$WORK" "$WORK/$cfg.results"
	done
done

median() {
	sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
printf '\nswapbuffers vs no filter: %d round(s), %d MiB sequential, %d random 4 KiB writes\n\n' \
	"$ROUNDS" "$SEQ_MIB" "$RAND_N"
printf '| workload | no filter (alt0) | swapbuffers (sb) | sb / alt0 |\n'
printf '|---|---|---|---|\n'
for w in seq_write seq_read rand_4k; do
	a=$(awk -v w=$w '$1 == w { print $2 }' "$WORK/alt0.results" | median)
	b=$(awk -v w=$w '$1 == w { print $2 }' "$WORK/sb.results" | median)
	unit="MiB/s"
	[[ $w == rand_4k ]] && unit="writes/s"
	printf '| %s | %.0f %s | %.0f %s | %.2f |\n' "$w" "$a" "$unit" "$b" "$unit" \
		"$(echo "$b / $a" | bc -l)"
done
