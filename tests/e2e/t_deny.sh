#!/bin/bash
# t_deny: a pre-operation callback that completes the operation with an error
# status stops it there: the caller gets the matching errno, the file system
# is not touched, instances below never see the operation, instances above
# see their post-operation with the status.
. "$(dirname "$0")/lib.sh"

printf 'top secret\n' >"$VOL/secret.txt"
printf 'public\n' >"$VOL/other.txt"
for f in priv.txt busy.txt; do printf '%s\n' "$f" >"$VOL/$f"; done
mkdir "$VOL/hidden.d"

# ---- Default DenyStatus: STATUS_ACCESS_DENIED -------------------------------
add_filter A 385100
add_filter B 370000 DenyName=secret.txt
add_filter C 320000
start_daemon "${FARGS[@]}"

err=$(cat "$VOL/secret.txt" 2>&1)
check_match "cat of the denied file fails with Permission denied" \
	'Permission denied' "$err"
check_nomatch "no data leaks from the denied file" 'top secret' "$err"
check_eq "python open -> EACCES" EACCES \
	"$(py 'os.open(A[0], os.O_RDONLY)' "$VOL/secret.txt")"
check_eq "other files still open" "public" "$(cat "$VOL/other.txt" 2>&1)"
check "the denied file is still visible to stat" stat "$VOL/secret.txt"
check_fails "overwriting the denied file fails" \
	sh -c "printf hacked >'$VOL/secret.txt'"
check_eq "O_TRUNC open of the denied file -> EACCES" EACCES \
	"$(py 'os.open(A[0], os.O_WRONLY | os.O_TRUNC)' "$VOL/secret.txt")"

seq=$(ops_seq IRP_MJ_CREATE '\secret.txt')
check_match "denied CREATE: A pre, B pre, A post only (repeated per open)" \
	'^A pre,B pre,A post(,A pre,B pre,A post)*$' "$seq"
log=$(cat "$FLOG")
check_nomatch "C (below B) never saw the denied CREATE" \
	'^C (pre|post) IRP_MJ_CREATE \\secret\.txt' "$log"
check_nomatch "B gets no post for the CREATE it completed" \
	'^B post IRP_MJ_CREATE \\secret\.txt' "$log"
check_match "A's post sees STATUS_ACCESS_DENIED" \
	'^A post IRP_MJ_CREATE \\secret\.txt 0xC0000022$' "$log"
check_nomatch "A's post never sees success for the denied file" \
	'^A post IRP_MJ_CREATE \\secret\.txt 0x00000000$' "$log"
check_eq "allowed CREATE passes all three" \
	"A pre,B pre,C pre,C post,B post,A post" "$(ops_seq IRP_MJ_CREATE '\other.txt')"
stop_daemon
check_eq "denied file untouched on disk" "top secret" "$(cat "$VOL/secret.txt")"

# ---- Other statuses, and denying a WRITE ------------------------------------
FLOG=$T/filters2.log
FARGS=()
add_filter A 385100
add_filter B 370000 DenyName=secret.txt DenyStatus=dword:0xC0000034
add_filter P 360000 DenyName=priv.txt DenyStatus=dword:0xC0000061
add_filter S 350000 DenyName=busy.txt DenyStatus=dword:0xC0000043
add_filter F 340000 DenyName=full.txt DenyMajor=IRP_MJ_WRITE \
	DenyStatus=dword:0xC000007F
add_filter E 330000 DenyName=hidden.d
add_filter C 320000
start_daemon "${FARGS[@]}"

check_match "opendir of a denied directory fails with Permission denied" \
	'Permission denied' "$(ls "$VOL/hidden.d" 2>&1)"
check "the denied directory can still be stat'ed" stat "$VOL/hidden.d"
check "creating inside it still works (only the last component counts)" \
	mkdir "$VOL/hidden.d/inner"
check_eq "denied opendir reached E and stopped there" "A pre,B pre,P pre,S pre,F pre,E pre,F post,S post,P post,B post,A post" \
	"$(ops_seq IRP_MJ_CREATE '\hidden.d' | cut -d, -f1-11)"

err=$(cat "$VOL/secret.txt" 2>&1)
check_match "STATUS_OBJECT_NAME_NOT_FOUND -> No such file or directory" \
	'No such file or directory' "$err"
check_eq "STATUS_OBJECT_NAME_NOT_FOUND -> ENOENT" ENOENT \
	"$(py 'os.open(A[0], os.O_RDONLY)' "$VOL/secret.txt")"
check_match "A's post sees STATUS_OBJECT_NAME_NOT_FOUND" \
	'^A post IRP_MJ_CREATE \\secret\.txt 0xC0000034$' "$(cat "$FLOG")"
check_eq "STATUS_PRIVILEGE_NOT_HELD -> EPERM" EPERM \
	"$(py 'os.open(A[0], os.O_RDONLY)' "$VOL/priv.txt")"
check_eq "STATUS_SHARING_VIOLATION -> ETXTBSY" ETXTBSY \
	"$(py 'os.open(A[0], os.O_RDONLY)' "$VOL/busy.txt")"
check_eq "denied WRITE (STATUS_DISK_FULL) -> ENOSPC" ENOSPC \
	"$(py 'fd = os.open(A[0], os.O_CREAT | os.O_WRONLY, 0o644)
try:
    os.write(fd, b"data")
    os.fsync(fd)
finally:
    os.close(fd)' "$VOL/full.txt")"
log=$(cat "$FLOG")
check_match "the CREATE of full.txt went through" \
	'^A post IRP_MJ_CREATE \\full\.txt 0x00000000$' "$log"
check_eq "denied WRITE: A pre, B, P, S pre, F pre, then S, P, B, A post" \
	"A pre,B pre,P pre,S pre,F pre,S post,P post,B post,A post" \
	"$(ops_seq IRP_MJ_WRITE '\full.txt' | cut -d, -f1-9)"
check_nomatch "C never saw the denied WRITE" '^C (pre|post) IRP_MJ_WRITE \\full\.txt' "$log"
check_match "A's post of the WRITE sees STATUS_DISK_FULL" \
	'^A post IRP_MJ_WRITE \\full\.txt 0xC000007F$' "$log"
stop_daemon

check_eq "denied write left the file empty on disk" 0 "$(stat -c %s "$VOL/full.txt")"
check_eq "secret.txt still intact" "top secret" "$(cat "$VOL/secret.txt")"
check_nomatch "no BADCTX" BADCTX "$(cat "$T"/filters*.log)"
