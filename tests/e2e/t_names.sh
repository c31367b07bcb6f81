#!/bin/bash
# t_names: the name service as filters see it, through the ctx sample
# (samples/ctx, LogOpens and NameCheck).  Names are \Device\<volume>\...,
# parsed as Windows parses them; names Windows forbids come through
# losslessly with no stream; pre-create names are the names being opened;
# rename and link targets.  Then concurrency: once rename(2) has returned,
# the next open never gets the old name, while another program writes to
# the same file (querying its name on every write) and others rename
# directories; and processes renaming parents and files while others write
# and open, every cached name checked against the file system around it.
. "$(dirname "$0")/lib.sh"

CTX=$BUILD/samples/ctx/ctx.so
CLOG=$T/ctx.log
[[ -f $CTX ]] || bail "the ctx sample is built" "no $CTX"
has_line() { grep -aqxF -- "$1" "$CLOG" 2>/dev/null; }
check_line() { wait_for 10 has_line "$2"; check "$1" has_line "$2"; }

start_daemon -v "$VOL=nv" -f "$CTX@385000=ctx" -p "ctx.LogFile=$CLOG" \
	-p ctx.LogOpens=dword:1 -p ctx.NameCheck=dword:1

# ---- names and their parts ----------------------------------------------------
py 'd = A[0]
os.mkdir(d + "/dir one")
fd = os.open(d + "/dir one/file.tar.gz", os.O_CREAT | os.O_WRONLY, 0o644); os.close(fd)
os.listdir(d)' "$VOL"
check_line "pre-create: the name being opened, parsed" \
	'ctx precreate \Device\nv\dir one\file.tar.gz parent=\dir one\ final=file.tar.gz ext=gz stream=-'
check_line "post-create: the same name, from the file system" \
	'ctx open \Device\nv\dir one\file.tar.gz parent=\dir one\ final=file.tar.gz ext=gz stream=-'
check_line "a directory" 'ctx open \Device\nv\dir one parent=\ final=dir one ext=- stream=-'
check_line "the volume's root: \\Device\\nv\\, no final component" \
	'ctx open \Device\nv\ parent=\ final=- ext=- stream=-'

# ':' '*' and a byte that is not UTF-8 are mapped (U+F03A, U+F02A, U+DCFF);
# a ':' is never a stream separator.
py 'fd = os.open(A[0].encode() + b"/we:ird*\xff.txt", os.O_CREAT | os.O_WRONLY, 0o644); os.close(fd)' "$VOL"
# The log is UTF-8: the escaped byte (a lone surrogate) shows as U+FFFD.
weird="we$(printf '\xef\x80\xba')ird$(printf '\xef\x80\xaa')$(printf '\xef\xbf\xbd').txt"
check_line "forbidden characters and raw bytes: mapped, no stream, extension kept" \
	"ctx open \\Device\\nv\\$weird parent=\\ final=$weird ext=txt stream=-"
check_eq "... and the file has its Linux name on disk" 1 \
	"$(py 'print(sum(1 for n in os.listdir(A[0].encode()) if n == b"we:ird*\xff.txt"))' "$VOL")"

# ---- rename and link targets ---------------------------------------------------
py 'd = A[0]
os.rename(d + "/dir one/file.tar.gz", d + "/dir one/renamed.md")
os.close(os.open(d + "/lk.src", os.O_CREAT | os.O_WRONLY, 0o644))
os.link(d + "/lk.src", d + "/linked")' "$VOL"
check_line "rename target from FILE_RENAME_INFORMATION" \
	'ctx rename-target \Device\nv\dir one\renamed.md'
check_line "after the rename the file's name is the target" 'ctx renamed \Device\nv\dir one\renamed.md'
check_line "link target from FILE_LINK_INFORMATION" 'ctx link-target \Device\nv\linked'
py 'os.rename(A[0] + "/dir one", A[0] + "/dir two")
fd = os.open(A[0] + "/dir two/renamed.md", os.O_RDONLY); os.close(fd)' "$VOL"
check_line "a file below a renamed directory is named through the new directory" \
	'ctx open \Device\nv\dir two\renamed.md parent=\dir two\ final=renamed.md ext=md stream=-'

# ---- once rename(2) returns, never the old name ---------------------------------
# W keeps s/seq.* open and writes to it nonstop (its name is queried on every
# write); D renames directories elsewhere (every rename invalidates the
# cache); S renames the file to a new name and opens it by that name, 300
# times.  Each of S's opens must log exactly the name just given.
mkdir -p "$VOL/s" "$VOL/other/d.0"
cat >"$T/seq.py" <<'EOF'
import os, sys, time
role, d, stop = sys.argv[1], sys.argv[2], sys.argv[3]
if role == "W":
    fd = os.open(d + "/s/seq.0", os.O_CREAT | os.O_WRONLY, 0o644)
    open(d + "/../w-ready", "w").close()
    while not os.path.exists(stop):
        os.write(fd, b"w")
    os.close(fd)
elif role == "D":
    k = 0
    while not os.path.exists(stop):
        os.rename("%s/other/d.%d" % (d, k), "%s/other/d.%d" % (d, k + 1))
        k += 1
else:
    for i in range(1, 301):
        os.rename("%s/s/seq.%d" % (d, i - 1), "%s/s/seq.%d" % (d, i))
        fd = os.open("%s/s/seq.%d" % (d, i), os.O_WRONLY | os.O_APPEND)
        os.write(fd, b"s")
        os.close(fd)
    open(stop, "w").close()
EOF
rm -f "$T/stop" "$T/w-ready"
"$PY" "$T/seq.py" W "$VOL" "$T/stop" &
wpid=$!
wait_for 10 test -e "$T/w-ready" || fail "the writer started"
"$PY" "$T/seq.py" D "$VOL" "$T/stop" &
dpid=$!
"$PY" "$T/seq.py" S "$VOL" "$T/stop"
check_eq "the renaming program ran to the end" 0 $?
wait_pid "$wpid" 20
wait_pid "$dpid" 20
want=$(for i in $(seq 0 300); do printf '\\Device\\nv\\s\\seq.%d\n' "$i"; done)
got=$(awk '$1 == "ctx" && $2 == "open" && index($3, "\\Device\\nv\\s\\seq.") == 1 { print $3 }' "$CLOG")
check_eq "each open right after a rename got the new name (300 renames)" "$want" "$got"
check_eq "... and every post-rename query agreed with the target" 0 \
	"$(grep -ac 'RENAME-MISMATCH' "$CLOG")"
check_match "the directories were renamed meanwhile" '^d\.[1-9][0-9]*$' "$(ls "$VOL/other")"

# ---- renames of parents and files under load ----------------------------------
# Per tree j: P renames c<j>.* (the parent) and F renames the files in it
# (through a descriptor of the directory, which follows it), with names
# never reused; W keeps the files open and writes; O lists and opens them.
# In post-create and pre-write the sample compares the cached name with the
# file system's answer just before and after: equal answers with a
# different cached name would be a stale name.
cat >"$T/load.py" <<'EOF'
import os, sys, time
role, d, j, stop = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
NF = 4
def dirfd():
    while True:
        for n in os.listdir(d):
            if n.startswith("c%d." % j):
                try:
                    return os.open(d + "/" + n, os.O_RDONLY | os.O_DIRECTORY)
                except FileNotFoundError:
                    pass
if role == "P":
    k = 0
    while not os.path.exists(stop):
        os.rename("%s/c%d.%d" % (d, j, k), "%s/c%d.%d" % (d, j, k + 1))
        k += 1
    print(k)
elif role == "F":
    dfd = dirfd()
    gen = [0] * NF
    n = 0
    while not os.path.exists(stop):
        i = n % NF
        os.rename("f%d.%d" % (i, gen[i]), "f%d.%d" % (i, gen[i] + 1),
                  src_dir_fd=dfd, dst_dir_fd=dfd)
        gen[i] += 1
        n += 1
    print(n)
elif role == "W":
    dfd = dirfd()
    fds = [os.open("f%d.0" % i, os.O_WRONLY, dir_fd=dfd) for i in range(NF)]
    open(stop + ".w%d" % j, "w").close()
    n = 0
    while not os.path.exists(stop):
        os.write(fds[n % NF], b"x")
        n += 1
    print(n)
else:
    dfd = dirfd()
    n = 0
    while not os.path.exists(stop):
        for name in os.listdir(dfd):
            try:
                fd = os.open(name, os.O_WRONLY, dir_fd=dfd)
            except FileNotFoundError:
                continue
            os.write(fd, b"o")
            os.close(fd)
            n += 1
    print(n)
EOF
rm -f "$T/stop2"*
for j in 0 1; do
	mkdir "$VOL/c$j.0"
	for i in 0 1 2 3; do : >"$VOL/c$j.0/f$i.0"; done
done
pids=()
for j in 0 1; do
	"$PY" "$T/load.py" W "$VOL" $j "$T/stop2" >"$T/load-W$j.out" 2>&1 &
	pids+=($!)
	wait_for 10 test -e "$T/stop2.w$j" || fail "writer $j started"
done
for j in 0 1; do
	for r in P F O; do
		"$PY" "$T/load.py" $r "$VOL" $j "$T/stop2" >"$T/load-$r$j.out" 2>&1 &
		pids+=($!)
	done
done
sleep "${E2E_NAMES_SECONDS:-8}"
touch "$T/stop2"
rc=0
for p in "${pids[@]}"; do wait_pid "$p" 30 || rc=1; done
check_eq "every load process finished cleanly" 0 "$rc"
for f in "$T"/load-*.out; do
	[[ $(cat "$f") =~ ^[0-9]+$ ]] || fail "load process $(basename "$f" .out) output" "$(cat "$f")"
done
diag "parent renames: $(cat "$T"/load-P*.out | xargs), file renames: $(cat "$T"/load-F*.out | xargs), writes: $(cat "$T"/load-W*.out | xargs), opens: $(cat "$T"/load-O*.out | xargs)"
check_eq "no process saw an error" 0 "$(cat "$T"/load-*.out | grep -vcE '^[0-9]+$')"

stop_daemon TERM
check_nomatch "no stale name was ever served from the cache" 'STALE' "$(tr -d "\200-\377" <"$CLOG")"
check_match "... out of many checked" '^ctx namecheck checked=[0-9]{4,} stale=0$' \
	"$(grep -a '^ctx namecheck' "$CLOG")"
diag "$(grep -a '^ctx namecheck' "$CLOG")"
diag "$(grep -E 'name cache' "$LOG")"
check_match "the name cache hit rate is logged" 'volume nv: name cache [0-9]+ hits' "$(cat "$LOG")"
