#!/bin/bash
# run.sh [RUNS] - builds the ports wire-format fuzz target
# (tests/fuzz/fuzz_ports.c) with clang -fsanitize=fuzzer,address,undefined
# and runs it RUNS times (default 200000, at most 120 s) from a small seed
# corpus of valid frames.  Exits 77 (meson's "skipped") when clang or
# libFuzzer (Debian: libclang-rt-14-dev) is missing; non-zero on a finding,
# whose reproducer is left in $FUZZ_OUT (default a temporary directory).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
RUNS=${1:-200000}
OUT=${FUZZ_OUT:-$(mktemp -d /tmp/altitude-fuzz.XXXXXX)}
mkdir -p "$OUT" || exit 1
CLANG=${CLANG:-$(command -v clang || command -v clang-14)}

if [[ -z $CLANG ]]; then
	echo "fuzz_ports: no clang; skipped"
	exit 77
fi
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' \
	>"$OUT/probe.c"
if ! "$CLANG" -fsanitize=fuzzer "$OUT/probe.c" -o "$OUT/probe" 2>/dev/null; then
	echo "fuzz_ports: $CLANG cannot link -fsanitize=fuzzer (libclang-rt-14-dev?); skipped"
	exit 77
fi

"$CLANG" -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -fshort-wchar -D_GNU_SOURCE \
	-I"$SRC/include" -I"$SRC/src" \
	"$HERE/fuzz_ports.c" "$SRC/src/ports/frame.c" "$SRC/src/control/wire.c" \
	-o "$OUT/fuzz_ports" || exit 1

# Seeds: valid frames of each kind, so the fuzzer starts past the magic.
mkdir -p "$OUT/corpus"
python3 - "$OUT/corpus" <<'PY'
import struct, sys
d = sys.argv[1]
def hdr(op, body, status=0, id=1, arg=0, flags=0, deadline=0):
    return struct.pack("<IHHIiQIIQ", 0x50544c41, 1, op, 40 + len(body),
                       status, id, arg, flags, deadline) + body
name = b"\\AltitudeScanPort"
connect = struct.pack("<H", len(name)) + name + struct.pack("<I", 3) + b"ctx"
seeds = {
    "connect": hdr(1, connect),
    "connect_body": connect,
    "connect_done": hdr(2, struct.pack("<QI", 123456, 65536)),
    "send": hdr(3, b"Ehello", arg=64),
    "message": hdr(5, b"file", arg=1, flags=1, deadline=99),
    "reply": hdr(6, b"\x01" + b"\0" * 7, flags=1),
    "rule": struct.pack("<II", 1, 8),
}
for k, v in seeds.items():
    open(f"{d}/{k}", "wb").write(v)
PY

cd "$OUT" || exit 1
"$OUT/fuzz_ports" -runs="$RUNS" -max_total_time=120 -max_len=4096 \
	-print_final_stats=1 "$OUT/corpus" >"$OUT/fuzz.log" 2>&1
rc=$?
tail -n 12 "$OUT/fuzz.log"
if [[ $rc -ne 0 ]]; then
	echo "fuzz_ports: FAILED (exit $rc); reproducer and log in $OUT"
	exit 1
fi
echo "fuzz_ports: $RUNS runs, no finding"
[[ -z ${FUZZ_OUT:-} ]] && rm -rf "$OUT"
exit 0
