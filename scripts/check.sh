#!/bin/bash
# Runs every test: the unit tests and the end-to-end suite, in the plain and
# the sanitizer build.  Prints one summary line "N passed, N failed" last.
set -u
builds=("$@")
pass=0
fail=0
log=$(mktemp -d /tmp/altitude-check.XXXXXX)

count_unit() { # build
	local b=$1 out=$log/unit-$(basename "$b").txt
	meson test -C "$b" --suite unit --print-errorlogs >"$out" 2>&1
	local ok nok
	ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$out" | tail -1)
	nok=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' "$out" | tail -1)
	ok=${ok:-0}; nok=${nok:-0}
	# Count the individual cmocka cases too, so a suite is not one test.
	local cases_ok cases_fail
	cases_ok=$(grep -c '^\[       OK \]' "$b/meson-logs/testlog.txt" 2>/dev/null || echo 0)
	cases_fail=$(grep -c '^\[  FAILED  \]' "$b/meson-logs/testlog.txt" 2>/dev/null || echo 0)
	echo "unit ($b): $ok programs ok, $nok failed; $cases_ok cases ok, $cases_fail cases failed"
	[ "$nok" -gt 0 ] && grep -E '^\[  (FAILED|ERROR) ' "$b/meson-logs/testlog.txt" | head -20
	pass=$((pass + cases_ok))
	fail=$((fail + cases_fail + (nok > cases_fail ? nok - cases_fail : 0)))
}

count_e2e() { # build
	local b=$1 out=$log/e2e-$(basename "$b").txt
	tests/e2e/run.sh "$b" >"$out" 2>&1
	local line p f
	line=$(grep -E '^e2e: [0-9]+ passed, [0-9]+ failed' "$out" | tail -1)
	p=$(echo "$line" | sed -n 's/^e2e: \([0-9]*\) passed.*/\1/p')
	f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
	if [ -z "$line" ]; then
		echo "e2e ($b): the suite did not finish; see $out"
		tail -20 "$out"
		p=0; f=1
	fi
	echo "e2e ($b): $p passed, $f failed"
	grep -E '^(FAIL|not ok)' "$out" | head -30
	pass=$((pass + p))
	fail=$((fail + f))
}

for b in "${builds[@]}"; do
	count_unit "$b"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		count_e2e "$b"
done
echo "logs: $log"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
