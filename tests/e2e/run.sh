#!/bin/bash
# run.sh BUILDDIR [t_name ...] - run the end-to-end tests against a build.
#
# Each t_*.sh runs as root in its own private mount namespace (a crashed
# daemon leaves no mount behind) under a 300 s timeout.  Every "ok - X" /
# "not ok - X" line a test prints becomes "PASS: t_name: X" / "FAIL: t_name:
# X"; its other output is shown indented.  A test that exits non-zero
# without reporting a failure, times out or reports nothing counts as one
# more failure.  The last line is "e2e: N passed, N failed"; the exit status
# is non-zero if anything failed.

set -u
if [[ $# -lt 1 || ! -d $1 ]]; then
	echo "usage: $0 BUILDDIR [t_name ...]" >&2
	exit 2
fi
BUILD=$(cd "$1" && pwd)
shift
HERE=$(cd "$(dirname "$0")" && pwd)
TIMEOUT=${E2E_TIMEOUT:-300}

if [[ $(id -u) -ne 0 ]]; then
	echo "e2e: the tests mount FUSE volumes and switch uids: run as root" >&2
	echo "e2e: 0 passed, 1 failed"
	exit 1
fi

tests=()
if [[ $# -gt 0 ]]; then
	for t in "$@"; do tests+=("$HERE/${t%.sh}.sh"); done
else
	tests=("$HERE"/t_*.sh)
fi

passed=0
failed=0
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	if [[ ! -f $t ]]; then
		echo "FAIL: $name: no such test"
		failed=$((failed + 1))
		continue
	fi
	echo "--- $name"
	start=$SECONDS
	file_pass=0
	file_fail=0
	rc=
	while IFS= read -r line; do
		case $line in
		"ok - "*)
			echo "PASS: $name: ${line#ok - }"
			file_pass=$((file_pass + 1))
			;;
		"not ok - "*)
			echo "FAIL: $name: ${line#not ok - }"
			file_fail=$((file_fail + 1))
			;;
		"__e2e_rc="*) rc=${line#__e2e_rc=} ;;
		*) echo "    $line" ;;
		esac
	done < <(
		timeout -k 10 "$TIMEOUT" \
			unshare --mount --propagation private \
			bash "$t" "$BUILD" </dev/null 2>&1
		echo "__e2e_rc=$?"
	)
	if [[ $rc == 124 || $rc == 137 ]]; then
		echo "FAIL: $name: timed out after ${TIMEOUT}s"
		file_fail=$((file_fail + 1))
	elif [[ $rc != 0 && $file_fail -eq 0 ]]; then
		echo "FAIL: $name: exited with status $rc"
		file_fail=$((file_fail + 1))
	elif [[ $((file_pass + file_fail)) -eq 0 ]]; then
		echo "FAIL: $name: reported no checks"
		file_fail=1
	fi
	echo "--- $name: $file_pass passed, $file_fail failed ($((SECONDS - start)) s)"
	passed=$((passed + file_pass))
	failed=$((failed + file_fail))
done

echo "e2e: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
