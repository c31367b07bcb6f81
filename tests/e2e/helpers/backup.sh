# backup.sh - shared helpers of the backup filter's end-to-end tests
# (t_backup.sh, t_backup_crash.sh, t_backup_store.sh, t_backup_users.sh).
# Sourced after lib.sh.
#
# The filter is build/filters/backup/backup.so at 285000 under the name
# "backup"; its CLI, altbackup, is copied with libfltlib into $T/bin so
# that other uids can run it, and reaches the daemon of this test only
# (ALTITUDE_RUNTIME_DIR=$RUN, fltmgrd --runtime-dir $RUN).  fltmgrd gets an
# empty --services-dir, so no installed service is loaded behind the test's
# back.

BACKUP_SO=$BUILD/filters/backup/backup.so
ALTBACKUP=$BUILD/filters/backup/cli/altbackup
RUN=$T/run
SVC=$T/services
mkdir -m 755 "$RUN" "$T/bin" "$T/out"
mkdir -m 700 "$SVC"
chmod 1777 "$T/out"
export ALTITUDE_RUNTIME_DIR=$RUN
[[ -f $BACKUP_SO ]] || bail "backup filter built" "no $BACKUP_SO (ninja -C $BUILD)"
[[ -x $ALTBACKUP ]] || bail "altbackup built" "no $ALTBACKUP (ninja -C $BUILD)"
cp "$ALTBACKUP" "$T/bin/" || bail "copy altbackup"
cp -L "$BUILD/src/fltlib/libfltlib.so.0" "$T/bin/" || bail "copy libfltlib"
chmod 755 "$T/bin"/*
AB=(env LD_LIBRARY_PATH="$T/bin" ALTITUDE_RUNTIME_DIR="$RUN" "$T/bin/altbackup")
# Every process of the test (sqlite3, git, python) must find /usr/bin/python3.
export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=Altitude GIT_AUTHOR_EMAIL=e2e@altitude \
	GIT_COMMITTER_NAME=Altitude GIT_COMMITTER_EMAIL=e2e@altitude

# What StoreMethod=auto makes of a version of written content with the
# store on the test's file system: copy where it cannot reflink (ext4,
# tmpfs); empty where the first version tells (XFS, Btrfs).
case $(findmnt -n -o FSTYPE -T "$T") in
ext4 | ext3 | tmpfs) AUTO_METHOD=copy ;;
*) AUTO_METHOD= ;;
esac

# ab ARG...: altbackup as root.  OUT = stdout, ERR = stderr, RC = status.
ab() {
	OUT=$("${AB[@]}" "$@" 2>"$T/ab.err")
	RC=$?
	ERR=$(<"$T/ab.err")
}

# abu UID GIDS ARG...: altbackup as that user, same outputs.
abu() {
	local uid=$1 gids=$2
	shift 2
	OUT=$(as_user "$uid" "$gids" "${AB[@]}" "$@" 2>"$T/ab.err")
	RC=$?
	ERR=$(<"$T/ab.err")
}

# jq_ EXPR [JSON]: Python EXPR over J, the JSON text (default $OUT); a
# list or dict result is printed as JSON, anything else with print().
jq_() {
	"$PY" -c '
import json, sys
J = json.loads(sys.argv[2])
r = eval(sys.argv[1])
print(json.dumps(r) if isinstance(r, (list, dict)) else r)' "$1" "${2-$OUT}" 2>&1
}

# versions_json FILE [UID GIDS]: `altbackup --json list FILE` into OUT.
versions_json() {
	if [[ $# -gt 1 ]]; then
		abu "$2" "$3" --json list "$1"
	else
		ab --json list "$1"
	fi
}

# nver FILE: how many versions root sees ("ERR ..." when list fails).
nver() {
	versions_json "$1"
	if [[ $RC -ne 0 ]]; then
		echo "ERR rc=$RC $ERR"
		return
	fi
	jq_ 'len(J)'
}

# reasons FILE: the reasons of FILE's versions, oldest first, comma-separated.
reasons() {
	versions_json "$1"
	if [[ $RC -ne 0 ]]; then
		echo "ERR rc=$RC $ERR"
		return
	fi
	jq_ '",".join(e["reason"] for e in J)'
}

# field FILE N KEY: KEY of FILE's version number N (the "version" field).
field() {
	versions_json "$1"
	jq_ "[e['$3'] for e in J if e['version'] == $2][0]"
}

# id_of FILE N: the id of FILE's version N.
id_of() { field "$1" "$2" id; }

# newest_id FILE
newest_id() {
	versions_json "$1"
	jq_ 'max(e["id"] for e in J)'
}

# check_version DESC FILE N SAVED: version N of FILE, restored with --to
# outside the volume, is byte for byte SAVED.
check_version() {
	local desc=$1 file=$2 n=$3 saved=$4 dest
	dest=$(mktemp -u "$T/out/v.XXXXXX")
	ab restore "$file" --version "$n" --to "$dest"
	if [[ $RC -ne 0 ]]; then
		fail "$desc" "altbackup restore $file --version $n --to $dest: exit $RC" "$ERR"
	elif cmp "$saved" "$dest" >"$T/cmp.out" 2>&1; then
		pass "$desc"
	else
		fail "$desc" "$(cat "$T/cmp.out")" "$(ls -l "$saved" "$dest")"
	fi
	rm -f "$dest"
}

# bk_args NAME STORE [VALUE=DATA...]: fltmgrd options for the backup
# filter named NAME with StoreDirectory=STORE and the other values given,
# appended to FARGS.
bk_args() {
	local name=$1 store=$2 kv
	shift 2
	FARGS+=(-f "$BACKUP_SO@285000=$name" -p "$name.StoreDirectory=$store")
	for kv in "$@"; do FARGS+=(-p "$name.$kv"); done
}

# bk_start VOLSPEC STORE [VALUE=DATA...]: fltmgrd with one volume (DIR=NAME)
# and the backup filter; checks the filter attached to it.
bk_start() {
	local vol=$1 store=$2 before
	shift 2
	FARGS=()
	bk_args backup "$store" "$@"
	local line="backup: keeping versions of ${vol%%=*} in $store/${vol#*=}"
	before=$(grep -cF "$line" "$LOG" 2>/dev/null)
	start_daemon -v "$vol" "${FARGS[@]}" --runtime-dir "$RUN" --services-dir "$SVC"
	check_eq "backup attached to ${vol%%=*} (store $store/${vol#*=})" \
		"$((before + 1))" "$(grep -cF "$line" "$LOG")"
}

# staging_of STORE: the store's staging area in /dev/shm, named after the
# store directory's device and inode (filters/backup/staging.c).
staging_of() {
	echo "/dev/shm/altitude-backup.$(stat -c %d "$1").$(stat -c %i "$1")"
}

# store_fsck STOREDIR: the catalog against objects/ and tmp/ (helpers/backup_fsck.py).
store_fsck() {
	"$PY" "$HELPERS/backup_fsck.py" "$@"
}

# pass_or_fail DESC RC OUT: a checker's verdict; its first line as a
# note when it passed, its output when it failed.
pass_or_fail() {
	if [[ $2 -eq 0 ]]; then
		pass "$1"
		diag "$(head -n 1 <<<"$3")"
	else
		fail "$1" "$(head -c 3000 <<<"$3")"
	fi
}

# check_store DESC STOREDIR: the store is consistent (daemon stopped).
check_store() {
	local out rc
	out=$(store_fsck "$2" 2>&1)
	rc=$?
	pass_or_fail "$1" "$rc" "$out"
}

# sha FILE: its sha256 alone.
sha() { sha256sum <"$1" | cut -d' ' -f1; }

# mtime_ns FILE
mtime_ns() { "$PY" -c 'import os, sys; print(os.stat(sys.argv[1]).st_mtime_ns)' "$1" 2>&1; }

# all_at_once N FN: runs FN 1 ... FN N at the same time; fails if one did.
all_at_once() {
	local n=$1 fn=$2 i p rc=0 pids=()
	for i in $(seq 1 "$n"); do
		"$fn" "$i" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	return "$rc"
}

# fs_image DIR LABEL MKFS [ARG...]: a 512 MiB image made by MKFS ARG...
# IMAGE, mounted on DIR through a loop device; 0 when mounted, else 1 after
# a PASS line saying why LABEL is skipped (no such mkfs, no loop device).
fs_image() {
	local dir=$1 label=$2 img=$T/img-$RANDOM.img
	shift 2
	mkdir -p "$dir"
	if ! truncate -s 512M "$img" || ! "$@" "$img" >"$T/mkfs.out" 2>&1; then
		pass "$label SKIPPED: cannot make the image with $1 ($(tail -n 1 "$T/mkfs.out"))"
		return 1
	fi
	if ! mount -o loop "$img" "$dir" >"$T/mount.out" 2>&1; then
		pass "$label SKIPPED: no loop device ($(tail -n 1 "$T/mount.out"))"
		return 1
	fi
}

# xfs_image DIR LABEL: fs_image of an XFS with reflink.
xfs_image() { fs_image "$1" "$2" mkfs.xfs -q -m reflink=1; }
