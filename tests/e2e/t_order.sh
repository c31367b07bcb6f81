#!/bin/bash
# t_order: pre-operation callbacks run from the highest altitude down, post-
# operation callbacks from the lowest up, each post gets its own completion
# context back, names are volume-relative with backslashes, an instance
# sees only the operations it registered, and a flush says whether it is an
# fsync or an fdatasync.
. "$(dirname "$0")/lib.sh"

printf 'hello altitude\n' >"$VOL/file.txt"
mkdir "$VOL/dir"
printf 'nested\n' >"$VOL/dir/a.txt"
DLOG=$T/d.log

add_filter A 385100
add_filter B 370000
add_filter C 320000
# D only asked for CREATE and WRITE: it must never see anything else.
add_filter D 310000 Operations=IRP_MJ_CREATE,IRP_MJ_WRITE LogFile="$DLOG"
start_daemon "${FARGS[@]}"

check_eq "setup called once per instance" "A B C" \
	"$(awk '$2 == "setup" { print $1 }' "$FLOG" | sort | xargs)"

out=$(cat "$VOL/file.txt" 2>&1)
check_eq "cat through three filters returns the data" "hello altitude" "$out"

FULL="A pre,B pre,C pre,C post,B post,A post"
# A program's read(2)/write(2) is cached I/O with the paging I/O that moves
# its data nested inside it (docs/irp-mapping.md): filters registered
# without SKIP flags see both, in altitude order each.
NESTED="A pre,B pre,C pre,$FULL,C post,B post,A post"
check_eq "IRP_MJ_CREATE: A B C pre, then C B A post" "$FULL" \
	"$(ops_seq IRP_MJ_CREATE '\file.txt')"

# Every read reaches the stack (READ registered without SKIP_CACHED_IO);
# cat reads at least once, and each read(2) runs the nested pattern.
reads=$(ops_seq IRP_MJ_READ '\file.txt')
n_reads=$(( $(grep -o 'A pre' <<<"$reads" | wc -l) / 2 ))
expect=
for ((i = 0; i < n_reads; i++)); do expect+=${expect:+,}$NESTED; done
check "IRP_MJ_READ reached the filters" test "$n_reads" -ge 1
check_eq "IRP_MJ_READ: cached then nested paging read, altitude order, per read" "$expect" "$reads"

check_match "post IRP_MJ_CREATE carries STATUS_SUCCESS" \
	'^A post IRP_MJ_CREATE \\file\.txt 0x00000000$' "$(cat "$FLOG")"

# CLEANUP and CLOSE come asynchronously after close() returned.
wait_for 5 grep -qx 'A post IRP_MJ_CLOSE \\file.txt 0x[0-9A-F]*' "$FLOG"
check_eq "IRP_MJ_CLEANUP: A B C pre, then C B A post" "$FULL" \
	"$(ops_seq IRP_MJ_CLEANUP '\file.txt')"
check_eq "IRP_MJ_CLOSE: A B C pre, then C B A post" "$FULL" \
	"$(ops_seq IRP_MJ_CLOSE '\file.txt')"

# Order across operations: CREATE < READ < CLEANUP < CLOSE for this file.
order=$(awk '$1 == "A" && $2 == "pre" && $4 == "\\file.txt" { print $3 }' "$FLOG" |
	grep -E '^IRP_MJ_(CREATE|READ|CLEANUP|CLOSE)$' | uniq | xargs)
check_match "CREATE, READ..., CLEANUP, CLOSE in that order" \
	'^IRP_MJ_CREATE IRP_MJ_READ( IRP_MJ_READ)* IRP_MJ_CLEANUP IRP_MJ_CLOSE$' "$order"

# READ registered without SKIP_CACHED_IO: a second read is not served from
# the page cache, the filters see it again.
before=$(grep -cxF 'A pre IRP_MJ_READ \file.txt' "$FLOG")
cat "$VOL/file.txt" >/dev/null
after=$(grep -cxF 'A pre IRP_MJ_READ \file.txt' "$FLOG")
check "a second cat reaches the filters again (not served from the cache)" \
	test "$after" -gt "$before"

# A name below the root, and a write.
cat "$VOL/dir/a.txt" >/dev/null
check_eq "IRP_MJ_CREATE of \\dir\\a.txt in altitude order" "$FULL" \
	"$(ops_seq IRP_MJ_CREATE '\dir\a.txt')"
printf 'more\n' >>"$VOL/file.txt"
writes=$(ops_seq IRP_MJ_WRITE '\file.txt')
check_eq "IRP_MJ_WRITE: cached then nested paging write, altitude order" "$NESTED" "$writes"
check_eq "appended data is visible" "$(printf 'hello altitude\nmore')" \
	"$(cat "$VOL/file.txt")"

# D registered CREATE and WRITE only.
wait_for 5 grep -q 'IRP_MJ_CLOSE \\dir\\a.txt' "$FLOG"
check_match "D saw the CREATE of \\file.txt" '^D pre IRP_MJ_CREATE \\file\.txt$' \
	"$(cat "$DLOG")"
check_match "D saw the WRITE of \\file.txt" '^D post IRP_MJ_WRITE \\file\.txt 0x00000000$' \
	"$(cat "$DLOG")"
check_nomatch "D saw nothing it did not register" \
	'^D (pre|post) IRP_MJ_(READ|CLEANUP|CLOSE|QUERY_INFORMATION|DIRECTORY_CONTROL)' \
	"$(cat "$DLOG")"
check_eq "D's log is not in the shared log" "" "$(log_of D)"

# ls and stat: directory control and query information follow the same order.
ls "$VOL" >/dev/null
check_eq "IRP_MJ_DIRECTORY_CONTROL on the root: A B C pre, C B A post" \
	"$FULL" "$(ops_seq IRP_MJ_DIRECTORY_CONTROL '\' | cut -d, -f1-6)"

stop_daemon
check_nomatch "no post callback got a wrong completion context" 'BADCTX' \
	"$(cat "$FLOG" "$DLOG")"
check_eq "data on the underlying directory after stop" \
	"$(printf 'hello altitude\nmore')" "$(cat "$VOL/file.txt")"

# ---- SKIP_CACHED_IO: the page cache may serve, but paging I/O reaches -------
FLOG=$T/filters2.log
FARGS=()
add_filter P 385100 Operations=IRP_MJ_READ,IRP_MJ_WRITE OpFlags=dword:2
start_daemon "${FARGS[@]}"
check_eq "cached read returns the data" "$(printf 'hello altitude\nmore')" \
	"$(cat "$VOL/file.txt" 2>&1)"
check_match "the read that filled the cache reached the filter" \
	'^P post IRP_MJ_READ \\file\.txt 0x00000000$' "$(cat "$FLOG")"
printf 'cached write\n' >"$VOL/cw.txt"
check "fsync of a cached write" py 'fd = os.open(A[0], os.O_WRONLY); os.fsync(fd); os.close(fd)' "$VOL/cw.txt"
wait_for 5 grep -q '^P post IRP_MJ_WRITE \\cw\.txt 0x00000000$' "$FLOG"
check_match "a SKIP_CACHED_IO filter sees the data of write(2) reach the disk (as paging I/O)" \
	'^P post IRP_MJ_WRITE \\cw\.txt 0x00000000$' "$(cat "$FLOG")"
stop_daemon
check_eq "after stop: cached write on disk" "cached write" "$(cat "$VOL/cw.txt")"
check_nomatch "no BADCTX in the cached run" BADCTX "$(cat "$FLOG")"

# ---- IRP_MJ_FLUSH_BUFFERS: fsync and fdatasync tell their kind -------------
# fsync is a full flush (MinorFunction 0); fdatasync and msync(MS_SYNC) ask
# for the data and what is needed to read it back, the storage flushed too:
# IRP_MN_FLUSH_DATA_SYNC_ONLY (0x04), never IRP_MN_FLUSH_DATA_ONLY (0x02),
# which would tell a filter that nothing need reach the disk.
FLOG=$T/filters3.log
FARGS=()
add_filter S 385100 Operations=IRP_MJ_FLUSH_BUFFERS
start_daemon "${FARGS[@]}"
check_eq "fsync, fdatasync, msync(MS_SYNC), then fsync of a directory" "synced" "$(py '
import mmap
fd = os.open(A[0], os.O_CREAT | os.O_RDWR, 0o644); os.write(fd, b"0123456789")
os.fsync(fd)
os.write(fd, b"x"); os.fdatasync(fd)
m = mmap.mmap(fd, 10); m[0:1] = b"m"; m.flush(); m.close()
os.close(fd)
d = os.open(A[1], os.O_RDONLY); os.fsync(d); os.close(d)
print("synced")' "$VOL/fl.txt" "$VOL/dir")"
check_eq "the filter saw each flush with its kind, in order" \
	"0x00 0x04 0x04" \
	"$(awk '$2 == "flush" && $3 == "\\fl.txt" { print $5 }' "$FLOG" | xargs)"
check_eq "the directory's fsync is a full flush" "0x00" \
	"$(awk '$2 == "flush" && $3 == "\\dir" { print $5 }' "$FLOG" | xargs)"
check_eq "every flush completed" "" \
	"$(grep ' post IRP_MJ_FLUSH_BUFFERS ' "$FLOG" | grep -v ' 0x00000000$')"
stop_daemon
check_eq "the data written between the flushes is on disk" "m123456789x" \
	"$(cat "$VOL/fl.txt")"
