#!/bin/bash
# Runs every test: the unit tests and the end-to-end suite, in each build
# given (the plain one and the sanitizer one).  Prints one summary line
# "N passed, N failed" last and exits non-zero if anything failed or a
# suite could not run: a suite that produced no result counts as a failure.
set -u
builds=("$@")
pass=0
fail=0
log=$(mktemp -d /tmp/altitude-check.XXXXXX)

# count FILE REGEX: number of matching lines (0 when none).
count() {
	local n
	n=$(grep -cE "$2" "$1" 2>/dev/null) || true
	echo "${n:-0}"
}

run_unit() { # build
	local b=$1 out=$log/unit-$(basename "$b").txt ok nok cok cfail
	meson test -C "$b" --suite unit --print-errorlogs >"$out" 2>&1
	ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$out" | tail -1)
	nok=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' "$out" | tail -1)
	if [[ -z $ok || -z $nok ]]; then
		echo "unit ($b): the suite did not run; see $out"
		tail -20 "$out"
		fail=$((fail + 1))
		return
	fi
	# Count the individual cmocka cases, so a program is not one test.
	cok=$(count "$b/meson-logs/testlog.txt" '^\[       OK \]')
	cfail=$(count "$b/meson-logs/testlog.txt" '^\[  (FAILED|ERROR)  \]')
	echo "unit ($b): $ok programs ok, $nok failed; $cok cases ok, $cfail failed"
	if ((nok > 0)); then
		grep -E '^\[  (FAILED|ERROR) ' "$b/meson-logs/testlog.txt" | head -20
		grep -E '^ *[0-9]+/[0-9]+ .* (FAIL|TIMEOUT)' "$out" | head -20
	fi
	pass=$((pass + cok))
	# A program that failed without a failed case (crash, timeout) counts.
	fail=$((fail + (cfail > nok ? cfail : nok)))
}

run_e2e() { # build
	local b=$1 out=$log/e2e-$(basename "$b").txt line p f
	tests/e2e/run.sh "$b" >"$out" 2>&1
	line=$(grep -E '^e2e: [0-9]+ passed, [0-9]+ failed' "$out" | tail -1)
	if [[ -z $line ]]; then
		echo "e2e ($b): the suite did not finish; see $out"
		tail -20 "$out"
		fail=$((fail + 1))
		return
	fi
	p=$(sed -n 's/^e2e: \([0-9]*\) passed.*/\1/p' <<<"$line")
	f=$(sed -n 's/.* \([0-9]*\) failed.*/\1/p' <<<"$line")
	echo "e2e ($b): $p passed, $f failed"
	grep -E '^FAIL' "$out" | head -30
	pass=$((pass + p))
	fail=$((fail + f))
}

if ((${#builds[@]} == 0)); then
	echo "usage: $0 BUILDDIR..." >&2
	echo "0 passed, 1 failed"
	exit 1
fi
for b in "${builds[@]}"; do
	if [[ ! -d $b ]]; then
		echo "$b: no such build"
		fail=$((fail + 1))
		continue
	fi
	run_unit "$b"
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		run_e2e "$b"
done
echo "logs: $log"
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
