#!/bin/bash
# t_postchange: a post-operation callback can turn a successful operation
# into a failure; the caller sees the new status as errno and the instances
# above see the changed status in their post-operation callbacks.
. "$(dirname "$0")/lib.sh"

printf 'content\n' >"$VOL/file.txt"

# ---- CREATE turned into STATUS_ACCESS_DENIED --------------------------------
add_filter A 385100
add_filter B 370000 PostMajor=IRP_MJ_CREATE PostStatus=dword:0xC0000022
add_filter C 320000
start_daemon "${FARGS[@]}"

check_eq "open after post changed CREATE -> EACCES" EACCES \
	"$(py 'os.open(A[0], os.O_RDONLY)' "$VOL/file.txt")"
check_match "cat fails with Permission denied" 'Permission denied' \
	"$(cat "$VOL/file.txt" 2>&1)"
check_eq "open for writing -> EACCES too" EACCES \
	"$(py 'os.open(A[0], os.O_WRONLY | os.O_APPEND)' "$VOL/file.txt")"
seq=$(ops_seq IRP_MJ_CREATE '\file.txt')
check_match "all three see the CREATE (pre A B C, post C B A)" \
	'^A pre,B pre,C pre,C post,B post,A post(,A pre,B pre,C pre,C post,B post,A post)*$' "$seq"
log=$(cat "$FLOG")
check_match "C (below) saw success" '^C post IRP_MJ_CREATE \\file\.txt 0x00000000$' "$log"
check_match "B itself saw success" '^B post IRP_MJ_CREATE \\file\.txt 0x00000000$' "$log"
check_match "A (above) saw the changed status" \
	'^A post IRP_MJ_CREATE \\file\.txt 0xC0000022$' "$log"
check_nomatch "A never saw success" '^A post IRP_MJ_CREATE \\file\.txt 0x00000000$' "$log"
check "stat still works (only CREATE changed)" stat "$VOL/file.txt"
stop_daemon
check_eq "file unchanged on disk" "content" "$(cat "$VOL/file.txt")"

# ---- WRITE turned into STATUS_DISK_FULL ----------------------------------------
FLOG=$T/filters2.log
FARGS=()
add_filter A 385100
add_filter B 370000 PostMajor=IRP_MJ_WRITE PostStatus=dword:0xC000007F
start_daemon "${FARGS[@]}"
check_eq "open works when only WRITE is changed" "content" "$(cat "$VOL/file.txt" 2>&1)"
check_eq "write after post changed WRITE -> ENOSPC" ENOSPC \
	"$(py 'fd = os.open(A[0], os.O_WRONLY | os.O_APPEND)
try:
    os.write(fd, b"more\n")
finally:
    os.close(fd)' "$VOL/file.txt")"
check_match "A's post of the WRITE sees STATUS_DISK_FULL" \
	'^A post IRP_MJ_WRITE \\file\.txt 0xC000007F$' "$(cat "$FLOG")"
check_match "B's post of the WRITE saw success" \
	'^B post IRP_MJ_WRITE \\file\.txt 0x00000000$' "$(cat "$FLOG")"
stop_daemon
check_nomatch "no BADCTX" BADCTX "$(cat "$T"/filters*.log)"
