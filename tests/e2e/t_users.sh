#!/bin/bash
# t_users: the daemon runs as root but every caller gets exactly the
# ownership and permission checks of the file system underneath: owners of
# new files, mode bits, supplementary groups, the sticky bit, POSIX ACLs,
# chown/chmod rules, setgid directories, umask, exec, and set-id bits and
# file capabilities dropped by writes, truncates and chowns.
. "$(dirname "$0")/lib.sh"

U1=(1001 1001)
U2=(1002 1002)
own() { stat -c '%u:%g' "$1" 2>&1; }
mode() { stat -c '%a' "$1" 2>&1; }

add_filter A 385100
add_filter B 370000 Operations=IRP_MJ_CREATE,IRP_MJ_SET_INFORMATION,IRP_MJ_SET_EA
start_daemon "${FARGS[@]}"

# Directories root prepares through the volume.
mkdir -m 755 "$VOL/u1" && chown 1001:1001 "$VOL/u1"
mkdir "$VOL/grp" && chown 1001:3000 "$VOL/grp" && chmod 0770 "$VOL/grp"
mkdir "$VOL/tmp" && chmod 1777 "$VOL/tmp"
mkdir "$VOL/sg" && chown 1001:4000 "$VOL/sg" && chmod 2775 "$VOL/sg"
check_eq "root's chown and chmod through the volume" "1001:4000 2775" \
	"$(own "$VOL/sg") $(mode "$VOL/sg")"

# ---- ownership of new files ------------------------------------------------
check "uid 1001 creates a file" as_user "${U1[@]}" sh -c "echo mine >'$VOL/u1/f1'"
check "uid 1001 creates a directory" as_user "${U1[@]}" mkdir "$VOL/u1/d1"
check_eq "new file owned by 1001:1001 (seen in the volume)" 1001:1001 "$(own "$VOL/u1/f1")"
check_eq "new directory owned by 1001:1001" 1001:1001 "$(own "$VOL/u1/d1")"
check "uid 1001 creates a symlink" as_user "${U1[@]}" ln -s f1 "$VOL/u1/l1"
check_eq "new symlink owned by 1001:1001" 1001:1001 "$(stat -c %u:%g "$VOL/u1/l1")"

# ---- mode bits ----------------------------------------------------------------
as_user "${U1[@]}" sh -c "umask 077; echo private >'$VOL/u1/private'"
check_eq "0600 file of 1001: 1002 cannot read (EACCES)" EACCES \
	"$(upy "${U2[@]}" 'os.open(A[0], os.O_RDONLY)' "$VOL/u1/private")"
check_eq "0600 file of 1001: 1002 cannot open it for writing (EACCES)" EACCES \
	"$(upy "${U2[@]}" 'os.open(A[0], os.O_WRONLY)' "$VOL/u1/private")"
check_eq "0600 file of 1001: its owner reads it" private \
	"$(as_user "${U1[@]}" cat "$VOL/u1/private" 2>&1)"
check_eq "0600 file of 1001: root reads it" private "$(cat "$VOL/u1/private" 2>&1)"
check_eq "0644 file of 1001: 1002 reads" mine "$(as_user "${U2[@]}" cat "$VOL/u1/f1" 2>&1)"
check_eq "0644 file of 1001: 1002 cannot write (EACCES)" EACCES \
	"$(upy "${U2[@]}" 'os.open(A[0], os.O_WRONLY | os.O_APPEND)' "$VOL/u1/f1")"
check_eq "0644 file of 1001: 1002 cannot truncate (EACCES)" EACCES \
	"$(upy "${U2[@]}" 'os.truncate(A[0], 0)' "$VOL/u1/f1")"
check_eq "0755 dir of 1001: 1002 cannot create in it (EACCES)" EACCES \
	"$(upy "${U2[@]}" 'os.open(A[0], os.O_CREAT | os.O_WRONLY, 0o644)' "$VOL/u1/intruder")"
check_eq "0755 dir of 1001: 1002 cannot mkdir in it (EACCES)" EACCES \
	"$(upy "${U2[@]}" 'os.mkdir(A[0])' "$VOL/u1/intruder.d")"
check_eq "0755 dir of 1001: 1002 cannot unlink in it (EACCES)" EACCES \
	"$(upy "${U2[@]}" 'os.unlink(A[0])' "$VOL/u1/f1")"
check_eq "0755 dir of 1001: 1002 cannot rename in it (EACCES)" EACCES \
	"$(upy "${U2[@]}" 'os.rename(A[0], A[1])' "$VOL/u1/f1" "$VOL/u1/f1.moved")"
check_eq "nothing was created by the refused calls" "d1 f1 l1 private" \
	"$(ls "$VOL/u1" | xargs)"
as_user "${U1[@]}" mkdir -m 700 "$VOL/u1/closed"
check_eq "0700 dir of 1001: 1002 cannot list it (EACCES)" EACCES \
	"$(upy "${U2[@]}" 'os.listdir(A[0])' "$VOL/u1/closed")"
check_eq "0700 dir of 1001: 1002 cannot stat inside it (EACCES)" EACCES \
	"$(upy "${U2[@]}" 'os.stat(A[0])' "$VOL/u1/closed/x")"

# ---- times ---------------------------------------------------------------------
check_eq "utime to now by a non-owner without write access -> EACCES" EACCES \
	"$(upy "${U2[@]}" 'os.utime(A[0], None)' "$VOL/u1/f1")"
check_eq "utime to a given time by a non-owner -> EPERM" EPERM \
	"$(upy "${U2[@]}" 'os.utime(A[0], (1, 1))' "$VOL/u1/f1")"
check_eq "utime to a given time by the owner" 1 \
	"$(upy "${U1[@]}" 'os.utime(A[0], (1, 1)); print(int(os.stat(A[0]).st_mtime))' "$VOL/u1/f1")"

# ---- supplementary groups --------------------------------------------------------
check "a member of group 3000 creates in the 0770 group dir" \
	as_user 1002 1002,3000 sh -c "echo shared >'$VOL/grp/g1'"
check_eq "... and lists it" g1 "$(as_user 1002 1002,3000 ls "$VOL/grp" 2>&1)"
check_eq "... the new file gets the creator's primary group" 1002:1002 "$(own "$VOL/grp/g1")"
check_eq "without group 3000: listing the group dir -> EACCES" EACCES \
	"$(upy "${U2[@]}" 'os.listdir(A[0])' "$VOL/grp")"
check_eq "without group 3000: reading inside it -> EACCES" EACCES \
	"$(upy "${U2[@]}" 'os.open(A[0], os.O_RDONLY)' "$VOL/grp/g1")"

# ---- sticky directory ----------------------------------------------------------------
as_user "${U1[@]}" sh -c "echo one >'$VOL/tmp/f1'"
as_user "${U2[@]}" sh -c "echo two >'$VOL/tmp/f2'"
check_eq "sticky dir: 1002 cannot delete 1001's file (EPERM)" EPERM \
	"$(upy "${U2[@]}" 'os.unlink(A[0])' "$VOL/tmp/f1")"
check_eq "sticky dir: 1002 cannot rename 1001's file (EPERM)" EPERM \
	"$(upy "${U2[@]}" 'os.rename(A[0], A[1])' "$VOL/tmp/f1" "$VOL/tmp/f1.x")"
check_eq "sticky dir: 1002 cannot replace 1001's file by rename (EPERM)" EPERM \
	"$(upy "${U2[@]}" 'os.rename(A[0], A[1])' "$VOL/tmp/f2" "$VOL/tmp/f1")"
check "sticky dir: 1002 deletes its own file" as_user "${U2[@]}" rm "$VOL/tmp/f2"
check_eq "sticky dir: 1001's file still there, 1002's gone" "f1" "$(ls "$VOL/tmp" | xargs)"
check "sticky dir: 1001 deletes its own file" as_user "${U1[@]}" rm "$VOL/tmp/f1"

# ---- POSIX ACLs ---------------------------------------------------------------------------
as_user "${U1[@]}" sh -c "umask 077; echo acl-data >'$VOL/u1/acl.txt'"
check_eq "before the ACL: 1002 cannot read (EACCES)" EACCES \
	"$(upy "${U2[@]}" 'os.open(A[0], os.O_RDONLY)' "$VOL/u1/acl.txt")"
check "owner sets an ACL u:1002:r" as_user "${U1[@]}" setfacl -m u:1002:r "$VOL/u1/acl.txt"
check_match "getfacl through the volume shows the entry" '^user:1002:r--' \
	"$(getfacl -n "$VOL/u1/acl.txt" 2>&1)"
check_eq "ACL grants 1002 read" acl-data "$(as_user "${U2[@]}" cat "$VOL/u1/acl.txt" 2>&1)"
check_eq "ACL does not grant 1002 write (EACCES)" EACCES \
	"$(upy "${U2[@]}" 'os.open(A[0], os.O_WRONLY)' "$VOL/u1/acl.txt")"
check_eq "uid 1003 still cannot read (EACCES)" EACCES \
	"$(upy 1003 1003 'os.open(A[0], os.O_RDONLY)' "$VOL/u1/acl.txt")"
check "owner removes the ACL entry" as_user "${U1[@]}" setfacl -x u:1002 "$VOL/u1/acl.txt"
check_eq "after removing it: 1002 denied again (EACCES)" EACCES \
	"$(upy "${U2[@]}" 'os.open(A[0], os.O_RDONLY)' "$VOL/u1/acl.txt")"
as_user "${U1[@]}" mkdir -m 700 "$VOL/u1/acld"
check "default ACL on a directory" as_user "${U1[@]}" setfacl -d -m u:1002:rwx "$VOL/u1/acld"
check "owner lets 1002 into the directory" as_user "${U1[@]}" setfacl -m u:1002:x "$VOL/u1/acld"
as_user "${U1[@]}" sh -c "umask 077; echo inherited >'$VOL/u1/acld/child'"
check_match "a new file inherits the default ACL" '^user:1002:rwx' \
	"$(getfacl -n "$VOL/u1/acld/child" 2>&1)"
check_eq "with a default ACL the umask is ignored (mode from the ACL mask: 660)" 660 \
	"$(mode "$VOL/u1/acld/child")"
check_eq "the inherited ACL grants 1002 read" inherited \
	"$(as_user "${U2[@]}" cat "$VOL/u1/acld/child" 2>&1)"
check_eq "non-owner cannot set an ACL (EPERM)" EPERM \
	"$(upy "${U2[@]}" '
acl = struct.pack("<I", 2) + b"".join(struct.pack("<HHI", tag, perm, 0xFFFFFFFF)
    for tag, perm in ((0x01, 6), (0x04, 6), (0x20, 6)))   # u::rw- g::rw- o::rw-
os.setxattr(A[0], "system.posix_acl_access", acl)' "$VOL/u1/f1")"

# ---- chown, chgrp, chmod -------------------------------------------------------------------
check_eq "chown by non-root -> EPERM" EPERM \
	"$(upy "${U1[@]}" 'os.chown(A[0], 1002, -1)' "$VOL/u1/f1")"
check_eq "chgrp to a group the owner is not in -> EPERM" EPERM \
	"$(upy "${U1[@]}" 'os.chown(A[0], -1, 2000)' "$VOL/u1/f1")"
check_eq "chgrp to a supplementary group of the owner works" 1001:3000 \
	"$(upy 1001 1001,3000 'os.chown(A[0], -1, 3000)' "$VOL/u1/f1"; own "$VOL/u1/f1")"
check_eq "chmod by the owner works" 640 \
	"$(upy "${U1[@]}" 'os.chmod(A[0], 0o640)' "$VOL/u1/f1"; mode "$VOL/u1/f1")"
check_eq "chmod by another user -> EPERM" EPERM \
	"$(upy "${U2[@]}" 'os.chmod(A[0], 0o666)' "$VOL/u1/f1")"
check_eq "mode unchanged by the refused chmod" 640 "$(mode "$VOL/u1/f1")"
check_eq "root chowns" 1002:1002 "$(chown 1002:1002 "$VOL/u1/f1"; own "$VOL/u1/f1")"

# ---- setgid directory, umask, exec, setuid ---------------------------------------------------
as_user "${U1[@]}" sh -c "echo g >'$VOL/sg/file'; mkdir '$VOL/sg/sub'"
check_eq "setgid dir: new file gets the directory's group" 1001:4000 "$(own "$VOL/sg/file")"
check_eq "setgid dir: new subdirectory gets the group and the setgid bit" "1001:4000 2755" \
	"$(own "$VOL/sg/sub") $(mode "$VOL/sg/sub")"
as_user "${U1[@]}" sh -c "cd '$VOL/u1' && umask 022 && : >m022 && mkdir d022 &&
	umask 077 && : >m077 && mkdir d077"
check_eq "umask 022: file 644, dir 755" "644 755" "$(mode "$VOL/u1/m022") $(mode "$VOL/u1/d022")"
check_eq "umask 077: file 600, dir 700" "600 700" "$(mode "$VOL/u1/m077") $(mode "$VOL/u1/d077")"

printf '#!/bin/sh\necho ran-$(id -u)\n' >"$VOL/u1/script"
chown 1001:1001 "$VOL/u1/script"
chmod 700 "$VOL/u1/script"
check_eq "the owner executes a 0700 script" ran-1001 "$(as_user "${U1[@]}" "$VOL/u1/script" 2>&1)"
check_eq "another user cannot execute it (EACCES)" EACCES \
	"$(upy "${U2[@]}" 'os.execv(A[0], [A[0]])' "$VOL/u1/script")"
as_user "${U1[@]}" sh -c "echo s >'$VOL/tmp/suid' && chmod 4777 '$VOL/tmp/suid'"
check_eq "setuid file is 4777" 4777 "$(mode "$VOL/tmp/suid")"
as_user "${U2[@]}" sh -c "echo more >>'$VOL/tmp/suid'"
check_eq "a write by another user clears the setuid bit" 777 "$(mode "$VOL/tmp/suid")"
SREF=$(new_volume setid-ref)
check_eq "set-id bits and file capabilities after writes, truncates and chowns by each user (helpers/setid.sh) are as on a plain directory" \
	"$(bash "$HELPERS/setid.sh" "$SREF" 2>&1)" "$(bash "$HELPERS/setid.sh" "$VOL" 2>&1)"

# ---- edge cases as an ordinary user, against a plain directory ------------------------
REF=$(new_volume ref)
mkdir "$REF/probe" "$VOL/u1/probe"
chown 1001:1001 "$REF/probe" "$VOL/u1/probe"
check_eq "edge cases (helpers/probe.py) as uid 1001 answer as on a plain directory" \
	"$(as_user "${U1[@]}" "$PY" "$HELPERS/probe.py" "$REF/probe" 2>&1)" \
	"$(as_user "${U1[@]}" "$PY" "$HELPERS/probe.py" "$VOL/u1/probe" 2>&1)"

stop_daemon

# ---- the underlying directory ------------------------------------------------------------------
check_eq "after stop: file of 1001 owned 1001:1001 on disk" 1001:1001 "$(own "$VOL/u1/private")"
check_eq "after stop: directory of 1001 owned 1001:1001 on disk" 1001:1001 "$(own "$VOL/u1/d1")"
check_eq "after stop: group-dir file owned 1002:1002 on disk" 1002:1002 "$(own "$VOL/grp/g1")"
check_eq "after stop: setgid-dir file group on disk" 1001:4000 "$(own "$VOL/sg/file")"
check_eq "after stop: umask modes on disk" "644 600" "$(mode "$VOL/u1/m022") $(mode "$VOL/u1/m077")"
check_nomatch "after stop: removed ACL entry is gone on disk" '^user:1002' \
	"$(getfacl -n "$VOL/u1/acl.txt" 2>&1)"
check_match "after stop: inherited ACL on disk" '^user:1002:rwx' \
	"$(getfacl -n "$VOL/u1/acld/child" 2>&1)"
check_eq "after stop: nothing created by refused calls" "" \
	"$(ls -d "$VOL/u1/intruder" "$VOL/u1/intruder.d" "$VOL/u1/f1.moved" 2>/dev/null)"
check_nomatch "no BADCTX" BADCTX "$(cat "$FLOG" 2>&1)"
