#!/bin/bash
# t_contexts: the lifetime of every context type against real programs,
# through the ctx sample (samples/ctx), which logs each context's cleanup
# with what it recorded.  Open/write/close; an open file unlinked; hard
# links sharing one stream context; a rename and a directory rename
# keeping it; inodes the kernel forgets (drop_caches); a manual detach and
# an unload with files still open.  Every cleanup is counted exactly: the
# sample's summary at unload must show as many cleanups as allocations for
# every type.  Then the same with seed 003's registration array as is.
. "$(dirname "$0")/lib.sh"

CTX=$BUILD/samples/ctx/ctx.so
CTL=$E2E_DIR/helpers/ctl.py
RUN=$T/run
CLOG=$T/ctx.log
mkdir -p "$RUN"
[[ -f $CTX ]] || bail "the ctx sample is built" "no $CTX"

ctl() { "$PY" "$CTL" "$RUN" "$@"; }
# Lines of the ctx log containing the fixed string S.
count() { grep -cF -- "$1" "$CLOG" 2>/dev/null; }
has_count() { [[ $(count "$1") -ge $2 ]]; }
# The kernel drops unused dentries and inodes, and sends FUSE forgets.
forget() {
	sync
	echo 2 >/proc/sys/vm/drop_caches
}
forget_until() {
	local deadline=$((SECONDS + 15))
	until has_count "$1" "${2:-1}"; do
		((SECONDS >= deadline)) && return 1
		forget
		sleep 0.2
	done
}
# check_line DESC LINE [N]: the log gets LINE exactly N (default 1) times,
# waiting up to 10 s for it (releases and forgets are asynchronous).
check_line() {
	local n=${3:-1}
	wait_for 10 has_count "$2" "$n"
	sleep 0.2
	check_eq "$1" "$n" "$(count "$2")"
}
# check_forgotten DESC LINE: forget inodes until LINE shows, then once.
check_forgotten() {
	forget_until "$2"
	sleep 0.2
	check_eq "$1" 1 "$(count "$2")"
}
summary() { grep '^ctx summary' "$CLOG" | tail -n 1; }
# "ok" when every type's allocated/cleaned counts agree.
balanced() {
	summary | awk '{ bad = ""
		for (i = 3; i <= NF; i++) { split($i, kv, "="); split(kv[2], n, "/")
			if (n[1] != n[2]) bad = bad " " $i }
		print (NF < 3 ? "no summary" : bad == "" ? "ok" : "unbalanced:" bad) }'
}

start_daemon -v "$VOL=cv" -f "$CTX@385000=ctx" -p "ctx.LogFile=$CLOG" \
	--runtime-dir "$RUN"
check_line "the sample registered seed 003's contexts and a volume context" \
	"ctx loaded registration=seed+volume"
check_line "its instance attached to \\Device\\cv" 'ctx setup \Device\cv'

# ---- open, write, close ---------------------------------------------------------
py 'fd = os.open(A[0] + "/one.txt", os.O_CREAT | os.O_WRONLY, 0o644)
for _ in range(3): os.write(fd, b"x")
os.close(fd)' "$VOL"
check_line "closing the file cleans up its stream handle context, with its writes" \
	'ctx cleanup streamhandle \Device\cv\one.txt writes=3'
check_eq "... but not its stream context while the kernel knows the inode" 0 \
	"$(count 'ctx cleanup stream \Device\cv\one.txt')"
check_forgotten "the forgotten inode's stream context: 1 create, cleanup, close, 3 writes" \
	'ctx cleanup stream \Device\cv\one.txt creates=1 cleanups=1 closes=1 writes=3 renames=0'
check_line "... and its file context" 'ctx cleanup file \Device\cv\one.txt opens=1'
check_eq "the data is on disk" xxx "$(cat "$VOL/one.txt")"

# ---- unlink of an open file -----------------------------------------------------
py 'fd = os.open(A[0] + "/gone.txt", os.O_CREAT | os.O_RDWR, 0o644)
os.write(fd, b"1")
os.unlink(A[0] + "/gone.txt")
os.write(fd, b"2"); os.write(fd, b"3")
os.lseek(fd, 0, 0)
assert os.read(fd, 10) == b"123"
os.close(fd)' "$VOL"
check_line "an unlinked file's stream context goes at its last close, with every write" \
	'ctx cleanup stream \Device\cv\gone.txt creates=1 cleanups=1 closes=1 writes=3 renames=0'
check_line "... its file context too" 'ctx cleanup file \Device\cv\gone.txt opens=1'
check_line "... and the handle's" 'ctx cleanup streamhandle \Device\cv\gone.txt writes=3'

# ---- hard links share the stream context ----------------------------------------
py 'd = A[0]
def w(p):
    fd = os.open(p, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644); os.write(fd, b"h"); os.close(fd)
w(d + "/hl-a")
os.link(d + "/hl-a", d + "/hl-b")
w(d + "/hl-b")
w(d + "/hl-a")' "$VOL"
check_line "each open of either name has its own stream handle context" \
	'ctx cleanup streamhandle \Device\cv\hl-' 3
forget_until 'ctx cleanup stream \Device\cv\hl-'
sleep 0.3
check_eq "both names share one stream context: 3 creates, 3 writes, one cleanup" \
	"1 creates=3 cleanups=3 closes=3 writes=3 renames=0" \
	"$(grep -F 'ctx cleanup stream \Device\cv\hl-' "$CLOG" | awk '{ n++; l = $5 " " $6 " " $7 " " $8 " " $9 } END { print n " " l }')"
check_eq "... and one file context" "1 opens=3" \
	"$(grep -F 'ctx cleanup file \Device\cv\hl-' "$CLOG" | awk '{ n++; l = $5 } END { print n " " l }')"

# ---- a rename keeps the stream context -----------------------------------------
py 'd = A[0]
fd = os.open(d + "/r1", os.O_CREAT | os.O_WRONLY, 0o644); os.write(fd, b"r"); os.close(fd)
os.rename(d + "/r1", d + "/r2")
fd = os.open(d + "/r2", os.O_WRONLY | os.O_APPEND); os.write(fd, b"r"); os.close(fd)' "$VOL"
check_line "the file's handles were cleaned up under the names they were opened by" \
	'ctx cleanup streamhandle \Device\cv\r' 2
check_forgotten "one stream context across the rename, under its new name" \
	'ctx cleanup stream \Device\cv\r2 creates=2 cleanups=2 closes=2 writes=2 renames=1'
check_eq "... never under the old one" 0 "$(count 'ctx cleanup stream \Device\cv\r1')"

# ---- a directory rename ---------------------------------------------------------
py 'd = A[0]
os.mkdir(d + "/dd")
fd = os.open(d + "/dd/x", os.O_CREAT | os.O_WRONLY, 0o644); os.write(fd, b"1"); os.close(fd)
os.rename(d + "/dd", d + "/ee")
fd = os.open(d + "/ee/x", os.O_WRONLY); os.write(fd, b"2"); os.close(fd)' "$VOL"
check_forgotten "a file below a renamed directory keeps its stream context, named anew" \
	'ctx cleanup stream \Device\cv\ee\x creates=2 cleanups=2 closes=2 writes=2 renames=0'
check_forgotten "the directory's own stream context follows its rename" \
	'ctx cleanup stream \Device\cv\ee creates=1 cleanups=1 closes=1 writes=0 renames=1'

# ---- many forgotten inodes ------------------------------------------------------
py 'd = A[0] + "/many"; os.mkdir(d)
for i in range(40):
    fd = os.open("%s/f%d" % (d, i), os.O_CREAT | os.O_WRONLY, 0o644); os.write(fd, b"m"); os.close(fd)' "$VOL"
deadline=$((SECONDS + 20))
until [[ $(grep -cE '^ctx cleanup stream \\Device\\cv\\many\\f[0-9]+ creates=1 cleanups=1 closes=1 writes=1 renames=0$' "$CLOG") -ge 40 ]] ||
	((SECONDS >= deadline)); do
	forget
	sleep 0.3
done
check_eq "40 forgotten files: 40 stream context cleanups, each once" 40 \
	"$(grep -cE '^ctx cleanup stream \\Device\\cv\\many\\f[0-9]+ ' "$CLOG")"
check_eq "... and 40 file context cleanups" 40 \
	"$(grep -cE '^ctx cleanup file \\Device\\cv\\many\\f[0-9]+ opens=1$' "$CLOG")"

# ---- detach with a file open ----------------------------------------------------
# A program holds held.txt open across the detach and writes again after it.
py 'd = A[0]
fd = os.open(d + "/held.txt", os.O_CREAT | os.O_WRONLY, 0o644); os.write(fd, b"a")
open(A[1], "w").close()
while not os.path.exists(A[2]): time.sleep(0.05)
os.write(fd, b"b"); os.close(fd)
open(A[3], "w").close()' "$VOL" "$T/held-open" "$T/held-go" "$T/held-done" &
holder=$!
wait_for 10 test -e "$T/held-open"
before_sh=$(count 'ctx cleanup streamhandle \Device\cv\held.txt')
check_eq "the held file's handle context lives while the file is open" 0 "$before_sh"
check_eq "manual detach of the ctx instance" 0x00000000 "$(ctl detach ctx "$VOL" | head -1)"
check_line "detach: the instance's teardown is logged" 'ctx teardown \Device\cv reason=0x1 '
check_line "detach cleans up the open file's stream handle context" \
	'ctx cleanup streamhandle \Device\cv\held.txt writes=1'
check_line "... its stream context" \
	'ctx cleanup stream \Device\cv\held.txt creates=1 cleanups=0 closes=0 writes=1 renames=0'
check_line "... and the instance context, once" 'ctx cleanup instance \Device\cv creates='
check_eq "the volume context stays (it belongs to the filter, not the instance)" 0 \
	"$(count 'ctx cleanup volume')"
touch "$T/held-go"
wait_pid "$holder" 10
check "the program writes and closes after the detach" test -e "$T/held-done"
check_eq "... and the data is whole" ab "$(cat "$VOL/held.txt")"
sleep 0.3
check_eq "nothing of the detached instance is cleaned up twice" 1 \
	"$(count 'ctx cleanup streamhandle \Device\cv\held.txt')"

# ---- attach again, unload with a file open -------------------------------------
check_eq "attach the ctx filter again" 0x00000000 "$(ctl attach ctx "$VOL" | head -1)"
check_line "a second setup on the volume" 'ctx setup \Device\cv' 2
py 'd = A[0]
fd = os.open(d + "/held2.txt", os.O_CREAT | os.O_WRONLY, 0o644); os.write(fd, b"a")
open(A[1], "w").close()
while not os.path.exists(A[2]): time.sleep(0.05)
os.write(fd, b"b"); os.close(fd)
open(A[3], "w").close()' "$VOL" "$T/h2-open" "$T/h2-go" "$T/h2-done" &
holder=$!
wait_for 10 test -e "$T/h2-open"
check_eq "unload of the ctx filter" 0x00000000 "$(ctl unload ctx | head -1)"
check_line "unload cleans up the open file's handle context" \
	'ctx cleanup streamhandle \Device\cv\held2.txt writes=1'
check_line "... the volume context, after both instances" \
	'ctx cleanup volume \Device\cv instances=2'
check_line "... and both instance contexts, in all" 'ctx cleanup instance \Device\cv' 2
check_eq "the summary after unload: every context cleaned up exactly once" ok "$(balanced)"
check_match "... of every type" \
	'^ctx summary volume=1/1 instance=2/2 file=[0-9]+/[0-9]+ stream=[0-9]+/[0-9]+ streamhandle=[0-9]+/[0-9]+$' \
	"$(summary)"
check_eq "... with as many stream context cleanups as the log shows" \
	"$(count 'ctx cleanup stream ')" \
	"$(summary | sed -E 's/.* stream=([0-9]+)\/.*/\1/')"
check_eq "... and stream handle context cleanups" \
	"$(count 'ctx cleanup streamhandle ')" \
	"$(summary | sed -E 's/.* streamhandle=([0-9]+)\/.*/\1/')"
touch "$T/h2-go"
wait_pid "$holder" 10
check "the program goes on after the unload" test -e "$T/h2-done"
check_eq "... with its data whole" ab "$(cat "$VOL/held2.txt")"
check_nomatch "no stale name and no rename mismatch" 'STALE|RENAME-MISMATCH' "$(cat "$CLOG")"
check_eq "the unload line comes last" "ctx unload" "$(tail -n 1 "$CLOG")"
stop_daemon TERM
check_match "the daemon logged the volume's name cache hit rate at teardown" \
	'volume cv: name cache [0-9]+ hits, [0-9]+ misses \([0-9.]+% hit rate\)' "$(cat "$LOG")"

# ---- seed 003's array, as is ------------------------------------------------------
CLOG=$T/ctx-seed.log
rm -rf "$VOL"/*
start_daemon -v "$VOL=cv" -f "$CTX@385000=ctx" -p "ctx.LogFile=$CLOG" \
	-p ctx.SeedOnly=dword:1 --runtime-dir "$RUN"
check_line "registered with seed 003's array itself" "ctx loaded registration=seed"
py 'd = A[0]
fd = os.open(d + "/s.txt", os.O_CREAT | os.O_WRONLY, 0o644); os.write(fd, b"s"); os.close(fd)
os.link(d + "/s.txt", d + "/s2.txt")
fd = os.open(d + "/s2.txt", os.O_WRONLY); os.write(fd, b"t"); os.close(fd)' "$VOL"
check_line "its stream handle contexts work" 'ctx cleanup streamhandle \Device\cv\s' 2
forget_until 'ctx cleanup stream \Device\cv\s'
sleep 0.3
check_eq "its stream context is shared by the links" \
	"1 creates=2 cleanups=2 closes=2 writes=2 renames=0" \
	"$(grep -F 'ctx cleanup stream \Device\cv\s' "$CLOG" | awk '{ n++; l = $5 " " $6 " " $7 " " $8 " " $9 } END { print n " " l }')"
check_line "its file context too" 'ctx cleanup file \Device\cv\s' 1
stop_daemon TERM
check_match "at shutdown: instance, file, stream and stream handle contexts, all cleaned up" \
	'^ctx summary volume=0/0 instance=1/1 file=[0-9]+/[0-9]+ stream=[0-9]+/[0-9]+ streamhandle=[0-9]+/[0-9]+$' \
	"$(summary)"
check_eq "... exactly once each" ok "$(balanced)"
