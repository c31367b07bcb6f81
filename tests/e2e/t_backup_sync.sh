#!/bin/bash
# t_backup_sync: how the backup filter's store makes its versions durable
# on each kind of ext4 (filters/backup/sync.c), with the volume and the
# store on one image (loop device), copy mode.
#
# Covers, on ext4 made with mkfs.ext4's defaults (a journal), with
# -O ^has_journal and with -O fast_commit: sqlite3 transactions with
# synchronous=FULL (each writes, syncs and deletes its rollback journal,
# whose last content becomes a version), a rewrite synced by its program
# (dd conv=fsync); the versions restore byte-exact, the store is
# consistent, and the unload line says how the store synced: with a
# journal, only by commits of it (one ordered log, as on XFS); without one
# or with fast commits, never that way (the file-by-file sync or syncfs).
# XFS is covered by t_backup_store.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/helpers/backup.sh"

TXNS=20

# on_ext4 LABEL EXPECT MKFS-ARG...: the workload on an ext4 made by
# mkfs.ext4 -q -F MKFS-ARG..., EXPECT matched against the unload line.
on_ext4() {
	local label=$1 expect=$2 dir v n
	shift 2
	dir=$T/$label
	fs_image "$dir" "$label part" mkfs.ext4 -q -F "$@" || return 0
	v=$dir/vol
	mkdir -m 755 "$v"
	sqlite3 "$v/db" 'CREATE TABLE t (n INTEGER, s TEXT)'
	printf 'the first content\n' >"$v/f.txt"
	cp "$v/db" "$T/$label.db"
	cp "$v/f.txt" "$T/$label.f"
	sync
	bk_start "$v=$label" "$dir/store"
	check "$label: sqlite3, $TXNS transactions with synchronous=FULL" sqlite3 "$v/db" \
		"PRAGMA synchronous=FULL;
		 $(for ((n = 1; n <= TXNS; n++)); do printf "INSERT INTO t VALUES (%d, hex(randomblob(500)));\n" "$n"; done)"
	check_eq "$label: $TXNS rows, integrity ok" "$TXNS ok" \
		"$(sqlite3 "$v/db" 'SELECT count(*) FROM t; PRAGMA integrity_check' 2>&1 | paste -sd' ')"
	check_eq "$label: one version of the database (write, copy)" "1 write copy" \
		"$(nver "$v/db") $(field "$v/db" 1 reason) $(field "$v/db" 1 method)"
	check_version "$label: the database's version is the empty table" "$v/db" 1 "$T/$label.db"
	check_eq "$label: each transaction's deleted journal is a version (delete, link)" \
		"$TXNS delete link" \
		"$(nver "$v/db-journal") $(field "$v/db-journal" "$TXNS" reason) $(field "$v/db-journal" "$TXNS" method)"
	printf 'the second content\n' | dd of="$v/f.txt" conv=fsync status=none
	check_eq "$label: a rewrite synced by dd conv=fsync has its version (truncate, copy)" \
		"truncate copy" "$(field "$v/f.txt" 1 reason) $(field "$v/f.txt" 1 method)"
	check_version "$label: ... byte-exact" "$v/f.txt" 1 "$T/$label.f"
	ab restore "$v/f.txt" --version 1
	check "$label: in-place restore of f.txt" cmp "$T/$label.f" "$v/f.txt"
	stop_daemon
	check_store "$label: the store is consistent" "$dir/store/$label"
	check_match "$label: how the store synced (the unload line)" "$expect" "$(grep 'backup: unloaded;' "$LOG" | tail -n 1)"
	check "$label: the image unmounts" umount "$dir"
}

# With a journal: every sync of the store is one commit of it, before a
# program's sync as on its own.
on_ext4 ext4-journal \
	'synced [1-9][0-9]* times before a program.s sync; its syncs in all: 0 file by file, 0 whole, [1-9][0-9]* by one commit of its log' \
	-E nodiscard
# Without a journal, or with fast commits (an fsync may commit only its
# own inode), the store syncs its files or the whole file system.
on_ext4 ext4-nojournal \
	'synced [1-9][0-9]* times before a program.s sync; its syncs in all: [0-9]+ file by file, [0-9]+ whole, 0 by one commit of its log' \
	-O ^has_journal
on_ext4 ext4-fastcommit \
	'synced [1-9][0-9]* times before a program.s sync; its syncs in all: [0-9]+ file by file, [0-9]+ whole, 0 by one commit of its log' \
	-O fast_commit
