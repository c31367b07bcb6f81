# lib.sh - shared helpers of the end-to-end tests; each t_*.sh sources it.
#
# A test runs as root inside its own private mount namespace (run.sh does the
# `unshare`), gets a fresh temporary directory $T that every uid can traverse,
# and reports each check as one "ok - <what>" or "not ok - <what>" line, with
# diagnostics on lines starting with "# ".  run.sh counts those lines.
#
# The daemon under test is $BUILD/src/daemon/fltmgrd.  start_daemon mounts
# $VOL (or the -v directories given) and refuses to let a test go on if the
# volume is not a FUSE mount afterwards: a test must never pass by running on
# the plain directory.  E2E_NO_DAEMON=1 does exactly that on purpose, to check
# the POSIX and program expectations themselves against the file system under
# /tmp (filter-log checks then fail).  E2E_KEEP=1 keeps $T.

set -u

BUILD=$(cd "${1:?usage: $0 BUILDDIR}" && pwd) || exit 2
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FLTMGRD=${FLTMGRD:-$BUILD/src/daemon/fltmgrd}
TESTFILTER=$BUILD/tests/filters/testfilter.so
PY=/usr/bin/python3

T=$(mktemp -d /tmp/altitude-e2e.XXXXXX) || exit 2
chmod 755 "$T"
VOL=$T/vol
mkdir -m 755 "$VOL"
LOG=$T/fltmgrd.log
PIDFILE=$T/fltmgrd.pid
FLOG=$T/filters.log
export HOME=$T LC_ALL=C
umask 022
# Other uids run the Python helper too; the checkout may not be readable.
cp -r "$E2E_DIR/helpers" "$T/helpers"
HELPERS=$T/helpers

DAEMON_PID=
DAEMON_VOLS=()
DAEMON_STARTS=0
DAEMON_WRAP=()
FARGS=()
E2E_FAILED=0

# ---- Reporting ------------------------------------------------------------

diag() {
	local line
	while IFS= read -r line; do
		printf '# %s\n' "$line"
	done <<<"$*"
}

pass() { printf 'ok - %s\n' "$1"; }

fail() {
	printf 'not ok - %s\n' "$1"
	E2E_FAILED=$((E2E_FAILED + 1))
	shift
	local a
	for a in "$@"; do diag "$a"; done
	return 0
}

# check DESC CMD...: CMD must exit 0.
check() {
	local desc=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [[ $rc -eq 0 ]]; then
		pass "$desc"
	else
		fail "$desc" "command: $*" "exit status $rc" "$(head -c 3000 <<<"$out")"
	fi
}

# check_fails DESC CMD...: CMD must exit non-zero.
check_fails() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		fail "$desc" "command unexpectedly succeeded: $*" "$(head -c 2000 <<<"$out")"
	else
		pass "$desc"
	fi
}

# check_eq DESC EXPECTED ACTUAL
check_eq() {
	if [[ "$2" == "$3" ]]; then
		pass "$1"
	else
		fail "$1" "expected: $(head -c 3000 <<<"$2")" "actual:   $(head -c 3000 <<<"$3")"
	fi
}

# check_match DESC EXTENDED-REGEX ACTUAL
check_match() {
	if grep -Eq -- "$2" <<<"$3"; then
		pass "$1"
	else
		fail "$1" "expected to match: $2" "actual: $(head -c 3000 <<<"$3")"
	fi
}

# check_nomatch DESC EXTENDED-REGEX ACTUAL
check_nomatch() {
	if grep -Eq -- "$2" <<<"$3"; then
		fail "$1" "must not match: $2" "$(grep -E -- "$2" <<<"$3" | head -20)"
	else
		pass "$1"
	fi
}

# bail DESC [DIAG...]: a failure after which the test cannot go on.
bail() {
	fail "$@"
	exit 1
}

# ---- Running things ----------------------------------------------------------

# py CODE [ARG...]: run Python CODE with A = [ARG...]; an OSError prints its
# errno name (EACCES ...) instead of a traceback.  helpers/run.py has the rest.
py() {
	"$PY" "$HELPERS/run.py" "$@"
}

# upy UID GID[,SUPPLEMENTARY...] CODE [ARG...]: py as that user.
upy() {
	local uid=$1 gids=$2
	shift 2
	as_user "$uid" "$gids" "$PY" "$HELPERS/run.py" "$@"
}

# as_user UID GID[,SUPPLEMENTARY...] CMD...: run CMD with those ids only.
as_user() {
	local uid=$1 gids=$2 groups
	shift 2
	groups=${gids#*,}
	if [[ $groups == "$gids" ]]; then
		setpriv --reuid="$uid" --regid="$gids" --clear-groups -- "$@"
	else
		setpriv --reuid="$uid" --regid="${gids%%,*}" --groups="$groups" -- "$@"
	fi
}

# new_volume NAME: a fresh empty directory under $T (755), printed.
new_volume() {
	local d=$T/$1
	rm -rf "$d"
	mkdir -m 755 "$d" && printf '%s\n' "$d"
}

is_fuse_mount() {
	[[ $(findmnt -n -o FSTYPE --mountpoint "$1" 2>/dev/null) == fuse* ]]
}

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS >= deadline)) && return 1
		sleep 0.1
	done
}

# ---- Filters -------------------------------------------------------------------

# add_filter NAME ALTITUDE [VALUE=DATA...]: append -f/-p options for one
# testfilter instance named NAME to FARGS.  Tag defaults to NAME and LogFile
# to $FLOG; "LogFile=" (empty) leaves LogFile unset.
add_filter() {
	local name=$1 alt=$2 kv tag=1 log=1
	shift 2
	FARGS+=(-f "$TESTFILTER@$alt=$name")
	for kv in "$@"; do
		case $kv in
		Tag=*) tag=0 ;;
		LogFile=) log=0; continue ;;
		LogFile=*) log=0 ;;
		esac
		FARGS+=(-p "$name.$kv")
	done
	((tag)) && FARGS+=(-p "$name.Tag=$name")
	((log)) && FARGS+=(-p "$name.LogFile=$FLOG")
	return 0
}

# log_of TAG [FILE]: the lines a testfilter instance logged.
log_of() {
	grep -E "^$1 " "${2:-$FLOG}" 2>/dev/null
}

# ops_seq MAJOR NAME [FILE]: "A pre,B pre,...,A post" for the lines about
# operation MAJOR on file NAME, in log order.
ops_seq() {
	# Through the environment: awk -v would expand the backslashes.
	OPS_IRP=$1 OPS_NAME=$2 awk '
		($2 == "pre" || $2 == "post") && $3 == ENVIRON["OPS_IRP"] &&
		$4 == ENVIRON["OPS_NAME"] {
			s = s sep $1 " " $2; sep = ","
		}
		END { print s }' "${3:-$FLOG}" 2>/dev/null
}

# ---- The daemon ------------------------------------------------------------------

# start_daemon [fltmgrd options...]: start fltmgrd in the background with
# --pidfile/--log added, and -v $VOL unless a -v is given.  Waits up to 10 s
# for the pidfile; the test stops here if it does not appear or if a volume
# is not mounted.
start_daemon() {
	local args=("$@") a have_v=0 i
	DAEMON_VOLS=()
	for ((i = 0; i < ${#args[@]}; i++)); do
		if [[ ${args[i]} == -v ]]; then
			have_v=1
			DAEMON_VOLS+=("${args[i + 1]%%=*}")
		fi
	done
	if ((!have_v)); then
		args=(-v "$VOL" "${args[@]}")
		DAEMON_VOLS=("$VOL")
	fi
	DAEMON_STARTS=$((DAEMON_STARTS + 1))
	local what="fltmgrd start #$DAEMON_STARTS"
	if [[ ${E2E_NO_DAEMON:-0} == 1 ]]; then
		pass "$what (E2E_NO_DAEMON: plain directories)"
		return 0
	fi
	[[ -x $FLTMGRD ]] || bail "$what" "no daemon at $FLTMGRD"
	rm -f "$PIDFILE"
	: >>"$LOG"
	echo "=== start #$DAEMON_STARTS: $FLTMGRD ${args[*]}" >>"$T/fltmgrd.out"
	# A background job of a script starts with SIGINT ignored, and a daemon
	# may keep an ignored disposition (libfuse does): give it the default.
	# DAEMON_WRAP (an array, empty by default): a command the daemon is
	# run under, such as setpriv to take a capability away.
	"${DAEMON_WRAP[@]}" env --default-signal=INT,QUIT "$FLTMGRD" "${args[@]}" \
		--pidfile "$PIDFILE" --log "$LOG" </dev/null >>"$T/fltmgrd.out" 2>&1 &
	DAEMON_PID=$!
	if ! wait_for 10 test -s "$PIDFILE"; then
		local alive=dead
		kill -0 "$DAEMON_PID" 2>/dev/null && alive="still running"
		fail "$what" "no pidfile after 10 s (daemon $alive)" \
			"--- log:" "$(tail -n 60 "$LOG")" \
			"--- stdout/stderr:" "$(tail -n 30 "$T/fltmgrd.out")"
		exit 1
	fi
	local pid
	pid=$(tr -d ' \n' <"$PIDFILE")
	[[ $pid == "$DAEMON_PID" ]] ||
		bail "$what" "pidfile holds '$pid', daemon is $DAEMON_PID"
	for a in "${DAEMON_VOLS[@]}"; do
		is_fuse_mount "$a" ||
			bail "$what" "pidfile written but $a is not a FUSE mount" \
				"$(findmnt -n --mountpoint "$a")" "$(tail -n 40 "$LOG")"
	done
	pass "$what"
}

# wait_pid PID SECONDS: reap background job PID, killing it after SECONDS;
# returns its exit status (137 if it had to be killed, and WAIT_TIMED_OUT
# is then "yes", else "no").  Polls: `wait -n` does not see a job that
# ended and was noted before it is called ("no such job"), and would wait
# the whole time for it.
wait_pid() {
	local pid=$1 i n=$(($2 * 20))
	WAIT_TIMED_OUT=no
	for ((i = 0; i < n; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		WAIT_TIMED_OUT=yes
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return 137
	fi
	wait "$pid" 2>/dev/null
}

# stop_daemon [SIGNAL]: signal (default TERM) and wait up to 20 s; checks the
# exit status is 0 and that every volume is unmounted.
stop_daemon() {
	local sig=${1:-TERM} rc v
	local what="fltmgrd stop #$DAEMON_STARTS (SIG$sig)"
	if [[ ${E2E_NO_DAEMON:-0} == 1 ]]; then
		pass "$what exits 0"
		pass "$what unmounts"
		return 0
	fi
	if [[ -z $DAEMON_PID ]]; then
		fail "$what" "no daemon running"
		return 0
	fi
	kill -"$sig" "$DAEMON_PID" 2>/dev/null
	wait_pid "$DAEMON_PID" 20
	rc=$?
	DAEMON_PID=
	if [[ $rc -eq 137 ]]; then
		fail "$what exits 0" "did not exit within 20 s; killed" "$(tail -n 40 "$LOG")"
	else
		check_eq "$what exits 0" 0 "$rc"
	fi
	local left=
	for v in "${DAEMON_VOLS[@]}"; do
		findmnt -n --mountpoint "$v" >/dev/null && left+="$v "
	done
	if [[ -z $left ]]; then
		pass "$what unmounts"
	else
		fail "$what unmounts" "still mounted: $left" "$(findmnt -rn | grep fuse)"
		for v in $left; do umount -l "$v" 2>/dev/null; done
	fi
}

# ---- Cleanup ---------------------------------------------------------------------

e2e_cleanup() {
	local rc=$? m
	trap - EXIT
	# A subshell forked just before a signal may run this trap: only the
	# test's own shell cleans up.
	[[ $BASHPID == "$E2E_SHELL" ]] || exit "$rc"
	if [[ -n $DAEMON_PID ]]; then
		kill -TERM "$DAEMON_PID" 2>/dev/null
		wait_pid "$DAEMON_PID" 5
	fi
	# Only this namespace sees these mounts; lazy unmount cannot hurt others.
	findmnt -rn -o TARGET | grep -F "$T/" | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null
	done
	if [[ ${E2E_KEEP:-0} == 1 ]]; then
		echo "# kept $T"
	else
		rm -rf "$T"
	fi
	((rc == 0 && E2E_FAILED > 0)) && rc=1
	exit "$rc"
}
E2E_SHELL=$BASHPID
trap e2e_cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
