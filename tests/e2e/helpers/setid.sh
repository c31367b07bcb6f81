#!/bin/bash
# setid.sh DIR - what becomes of set-user-ID, set-group-ID and file
# capabilities when files are written, truncated, extended or given away,
# by their owner, by another user, by a member of their group and by root.
# Prints one line per case: its name, the mode after the step (octal) and
# the file's capability, if any.  The tests run it as root on a plain
# directory and on a volume and compare the outputs: the volume must drop
# exactly the bits the file system underneath drops for the same caller.
#
# Files belong to 1001:1001 in a 1777 directory; 1002 is nobody to them,
# 1003 is in group 1001.
set -u
D=$1/setid
PY=/usr/bin/python3
mkdir -m 1777 "$D" || exit 2

# as WHO CMD...: run CMD as root, or as UID:GID[,SUPPLEMENTARY...].
as() {
	local who=$1 gids
	shift
	[[ $who == root ]] && { "$@"; return; }
	gids=${who#*:}
	if [[ $gids == *,* ]]; then
		setpriv --reuid="${who%%:*}" --regid="${gids%%,*}" \
			--groups="${gids#*,}" -- "$@"
	else
		setpriv --reuid="${who%%:*}" --regid="$gids" --clear-groups -- "$@"
	fi
}

# one NAME MODE WHO CODE: a fresh file F of 1001:1001 with MODE, then the
# Python CODE run by WHO on it (A[0] = F, A[1] = a readable F.src), then
# the result.  CODE "sh:CMD" runs the shell command CMD instead ($F set).
one() {
	local name=$1 m=$2 who=$3 code=$4
	F=$D/$name
	printf 'data\n' >"$F"
	printf 'source\n' >"$F.src"
	chmod 644 "$F.src"
	chown 1001:1001 "$F"
	chmod "$m" "$F"
	if [[ $code == sh:* ]]; then
		F=$F as "$who" sh -c "${code#sh:}"
	else
		as "$who" "$PY" -c "import os, sys, mmap; A = sys.argv[1:]
$code" "$F" "$F.src"
	fi >/dev/null 2>&1 || echo "$name: step failed"
	printf '%s %s %s\n' "$name" "$(stat -c %a "$F")" \
		"$(getcap "$F" 2>/dev/null | awk '{print $2}')"
	rm -f "$F" "$F".*
}

append='with open(A[0], "a") as f: f.write("more\n")'
one w_other 4777 1002:1002 "$append"
one w_owner 4777 1001:1001 "$append"
one w_root 4777 root "$append"
one w_sgid_x_other 2777 1002:1002 "$append"
one w_sgid_x_member 2777 1003:1003,1001 "$append"
one w_sgid_nox_other 2767 1002:1002 "$append"
one w_sgid_nox_member 2767 1003:1003,1001 "$append"
one w_both_other 6777 1002:1002 "$append"
one w_plain_other 0777 1002:1002 "$append"
one pwrite_other 4777 1002:1002 '
fd = os.open(A[0], os.O_WRONLY); os.pwrite(fd, b"x", 100); os.close(fd)'
# Set-user-ID again (by root) while another user has the file open for
# writing: the next write drops it again.
one twice_other 4777 root 'sh:setpriv --reuid=1002 --regid=1002 --clear-groups \
	/usr/bin/python3 -c "import os, sys, time; F = sys.argv[1]
fd = os.open(F, os.O_WRONLY); os.write(fd, b\"x\"); open(F + \".w1\", \"w\").close()
while not os.path.exists(F + \".go\"): time.sleep(0.02)
os.write(fd, b\"y\"); os.close(fd)" "$F" &
	while [ ! -e "$F.w1" ]; do sleep 0.02; done
	chmod 4777 "$F"; touch "$F.go"; wait $!'
one odirect_other 4777 1002:1002 '
buf = mmap.mmap(-1, 4096); buf.write(b"d" * 4096)
fd = os.open(A[0], os.O_WRONLY | os.O_DIRECT); os.pwritev(fd, [buf], 0); os.close(fd)'
one mmap_other 4777 1002:1002 '
fd = os.open(A[0], os.O_RDWR); m = mmap.mmap(fd, 4)
m[0:1] = b"M"; m.flush(); m.close(); os.close(fd)'
one trunc_other 4777 1002:1002 'os.truncate(A[0], 2)'
one trunc_root 4777 root 'os.truncate(A[0], 2)'
one ftrunc_other 2777 1002:1002 '
fd = os.open(A[0], os.O_WRONLY); os.ftruncate(fd, 1); os.close(fd)'
one otrunc_other 4777 1002:1002 'os.close(os.open(A[0], os.O_WRONLY | os.O_TRUNC))'
one otrunc_owner 6777 1001:1001 'os.close(os.open(A[0], os.O_WRONLY | os.O_TRUNC))'
one otrunc_root 4777 root 'os.close(os.open(A[0], os.O_WRONLY | os.O_TRUNC))'
one ocreat_trunc_other 4777 1002:1002 '
os.close(os.open(A[0], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))'
one fallocate_other 4777 1002:1002 '
fd = os.open(A[0], os.O_WRONLY); os.posix_fallocate(fd, 0, 65536); os.close(fd)'
one copy_range_other 4777 1002:1002 '
s = os.open(A[1], os.O_RDONLY); d = os.open(A[0], os.O_WRONLY)
os.copy_file_range(s, d, 7, 0, 0); os.close(s); os.close(d)'
one chown_root 6755 root 'sh:chown 1002:1002 "$F"'
one chown_root_nox 6745 root 'sh:chown 1002 "$F"'
one chgrp_owner 2775 1001:1001,3000 'sh:chgrp 3000 "$F"'
one chgrp_owner_nox 2765 1001:1001,3000 'sh:chgrp 3000 "$F"'
one chown_noop_root 4755 root 'os.chown(A[0], -1, -1)'
# File capabilities (security.capability), set by root.
one cap_w_other 0777 root 'sh:setcap cap_net_raw+ep "$F" &&
	setpriv --reuid=1002 --regid=1002 --clear-groups sh -c "echo more >>$F"'
one cap_w_root 0755 root 'sh:setcap cap_net_raw+ep "$F" && echo more >>"$F"'
one cap_trunc_root 0755 root 'sh:setcap cap_net_raw+ep "$F" && truncate -s 1 "$F"'
one cap_chown_root 4755 root 'sh:setcap cap_net_raw+ep "$F" && chown 1002 "$F"'
one cap_kept_read 0755 root 'sh:setcap cap_net_raw+ep "$F" && cat "$F"'
rmdir "$D"
