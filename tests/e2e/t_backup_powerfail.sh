#!/bin/bash
# t_backup_powerfail: with Durability=flush (the default), a version is on
# the disk before the sync of the program whose change made it returns:
# a power failure right after that sync loses none of them.
#
# The power failure is the file system's shutdown ioctl without a flush of
# its log (xfs_io -x -c shutdown, XFS_IOC_GOINGDOWN with NOLOGFLUSH; ext4
# takes it as EXT4_IOC_SHUTDOWN): from then on nothing more reaches the
# image, so what the image holds is what was on the disk at that moment.
# fltmgrd is then killed with SIGKILL and the staging area in /dev/shm
# removed (tmpfs does not survive a power failure); the image is mounted
# again (XFS and ext4 with a journal replay their logs; ext4 without a
# journal gets e2fsck -fy first) and the filter started on the same store.
#
# Covers, on XFS with reflink (versions are clones), on ext4 made with
# mkfs.ext4's defaults (a journal; copies, staged) and on ext4 without a
# journal (copies): 20 files of 100 KiB rewritten by dd conv=fsync, with
# a pause half-way for the store's sync once a second (the first half's
# rows are then in the catalog and their journal records gone); a file
# deleted, then another file synced; 5 sqlite3 transactions with
# synchronous=EXTRA (each deletes its rollback journal, a linked version,
# and syncs the directory: with FULL, SQLite leaves the deletion, its
# commit, unsynced, and a power failure may roll the last one back).
# After the power failure every rewritten file's version restores byte for
# byte, so does the deleted file's, the database has its 5 rows, each
# transaction's journal has its version, and the store is consistent.
# And on XFS, with Durability=process (no sync promised), the same
# sequence loses versions: the shutdown does cut off what was not on the
# disk yet, so the checks above are not met by chance.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/helpers/backup.sh"

FILES=20
TXNS=5

# power_fail LABEL METHOD MKFS-ARG...: the sequence on an image made with
# MKFS-ARG..., whose rewrites' versions are made by METHOD (clone, copy);
# DUR is the Durability (empty: the default).  Sets KEPT to the number of
# rewritten files whose version survived.
power_fail() {
	local label=$1 method=$2 dir v st img staging kept=0 i bad= fsck_out
	shift 2
	dir=$T/$label
	KEPT=
	fs_image "$dir" "$label part" "$@" || return 0
	img=$(findmnt -n -o SOURCE --mountpoint "$dir")
	img=$(losetup -n -O BACK-FILE "$img" 2>/dev/null | sed 's/[[:space:]]*$//')
	v=$dir/vol
	st=$dir/store
	mkdir -m 755 "$v" "$T/$label.save"
	for ((i = 1; i <= FILES; i++)); do
		head -c 102400 /dev/urandom >"$v/f$i"
		cp "$v/f$i" "$T/$label.save/f$i"
	done
	head -c 50000 /dev/urandom >"$v/gone"
	cp "$v/gone" "$T/$label.save/gone"
	sqlite3 "$v/db" 'CREATE TABLE t (n INTEGER, s TEXT)'
	sync
	if [[ -n ${DUR:-} ]]; then
		bk_start "$v=$label" "$st" "Durability=$DUR"
	else
		bk_start "$v=$label" "$st"
	fi
	staging=$(staging_of "$st/$label")

	for ((i = 1; i <= FILES; i++)); do
		head -c 102400 /dev/urandom | dd of="$v/f$i" conv=fsync status=none
		# Half-way, time for the store's sync once a second: the first
		# half's rows are then in the catalog and their journal records
		# released, so they survive only if that sync wrote the WAL.
		((i == FILES / 2)) && sleep 1.5
	done
	rm "$v/gone"
	printf 'synced after the delete\n' | dd of="$v/after" conv=fsync status=none
	sqlite3 "$v/db" "PRAGMA synchronous=EXTRA;
		$(for ((i = 1; i <= TXNS; i++)); do printf "INSERT INTO t VALUES (%d, hex(randomblob(300)));\n" "$i"; done)"

	# The power fails.
	if ! xfs_io -x -c shutdown "$dir" >"$T/shutdown.out" 2>&1; then
		pass "$label SKIPPED: the file system cannot be shut down ($(tail -n 1 "$T/shutdown.out"))"
		kill -KILL "$DAEMON_PID"
		wait_pid "$DAEMON_PID" 10
		DAEMON_PID=
		umount -l "$v"
		umount -l "$dir"
		return 0
	fi
	kill -KILL "$DAEMON_PID"
	wait_pid "$DAEMON_PID" 10
	DAEMON_PID=
	umount -l "$v"
	rm -f "$staging"
	check "$label: the image unmounts after the power failure" umount "$dir"
	if [[ $label == *nojournal* ]]; then
		fsck_out=$(e2fsck -fy "$img" 2>&1)
		check "$label: e2fsck -fy repairs the image (exit 0 or 1)" test $? -le 1
		diag "$(tail -n 2 <<<"$fsck_out")"
	fi
	check "$label: the image mounts again" mount -o loop "$img" "$dir"

	bk_start "$v=$label" "$st"
	for ((i = 1; i <= FILES; i++)); do
		ab restore "$v/f$i" --version 1 --to "$T/out/$label.f$i"
		if [[ $RC -eq 0 ]] && cmp -s "$T/out/$label.f$i" "$T/$label.save/f$i"; then
			kept=$((kept + 1))
		else
			bad+="f$i: ${ERR:-restored bytes differ}; "
		fi
		rm -f "$T/out/$label.f$i"
	done
	KEPT=$kept
	if [[ ${DUR:-flush} != flush ]]; then
		diag "$label, Durability=$DUR: $kept of $FILES rewritten files' versions survived"
		stop_daemon
		check "$label: the image unmounts" umount "$dir"
		return 0
	fi
	check_eq "$label: each of the $FILES rewrites synced by dd has its version, byte-exact" "" "$bad"
	check_eq "$label: the rewrites' versions are made by $method" "truncate $method" \
		"$(field "$v/f1" 1 reason) $(field "$v/f1" 1 method)"
	check_version "$label: the deleted file's version (a program synced after the delete)" \
		"$v/gone" 1 "$T/$label.save/gone"
	check_eq "$label: the database has its $TXNS rows, integrity ok" "$TXNS ok" \
		"$(sqlite3 "$v/db" 'SELECT count(*) FROM t; PRAGMA integrity_check' 2>&1 | paste -sd' ')"
	check_eq "$label: each transaction's deleted journal has its version (delete)" \
		"$TXNS delete" "$(nver "$v/db-journal") $(field "$v/db-journal" "$TXNS" reason)"
	stop_daemon
	check_store "$label: the store is consistent" "$st/$label"
	check "$label: the image unmounts" umount "$dir"
}

DUR= power_fail xfs-reflink clone mkfs.xfs -q -m reflink=1
DUR= power_fail ext4-journal copy mkfs.ext4 -q -F -E nodiscard
DUR= power_fail ext4-nojournal copy mkfs.ext4 -q -F -O ^has_journal

# The control: without the syncs, the shutdown loses what was not written.
DUR=process power_fail xfs-process clone mkfs.xfs -q -m reflink=1
if [[ -n $KEPT ]]; then
	check "xfs, Durability=process: the power failure loses versions ($KEPT of $FILES kept): the shutdown is real" \
		test "$KEPT" -lt "$FILES"
fi

