#!/bin/bash
# t_programs: real programs work through a volume with three filters and give
# the same results as on a plain directory: cp -a, tar, git, sqlite3 (rollback
# journal and WAL), rsync, mv of directories.  Afterwards the data on the
# underlying directory is intact.
. "$(dirname "$0")/lib.sh"

SRC=/usr/include/linux
REF=$(new_volume ref)
export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=Altitude GIT_AUTHOR_EMAIL=e2e@altitude \
	GIT_COMMITTER_NAME=Altitude GIT_COMMITTER_EMAIL=e2e@altitude \
	GIT_AUTHOR_DATE='2024-01-01T00:00:00Z' GIT_COMMITTER_DATE='2024-01-01T00:00:00Z'

# name, type, size, mode, mtime (ns) and link target of every entry under
# $1 (no size for directories: it depends on the file system's history)
tree_meta() {
	(cd "$1" && find . \( -type d -printf '%P d - %m %T@\n' \) -o \
		-printf '%P %y %s %m %T@ %l\n' | sort)
}

add_filter A 385100
add_filter B 370000
add_filter C 320000
start_daemon "${FARGS[@]}"

# ---- cp -a ------------------------------------------------------------------
check "cp -a $SRC into the volume" cp -a "$SRC" "$VOL/linux"
check "diff -r against the source" diff -r "$SRC" "$VOL/linux"
check_eq "cp -a kept names, sizes, modes and mtimes" \
	"$(tree_meta "$SRC")" "$(tree_meta "$VOL/linux")"

# ---- large files, odd block sizes, parallel copies ---------------------------------
head -c 64M /dev/urandom >"$T/big"
check "64 MiB file copied in" cp "$T/big" "$VOL/big"
check_eq "read back with 1000003-byte blocks" "$(sha256sum <"$T/big")" \
	"$(dd if="$VOL/big" bs=1000003 2>/dev/null | sha256sum)"
check_eq "read back with 4097-byte blocks from offset 12345" \
	"$(tail -c +12346 "$T/big" | sha256sum)" \
	"$(dd if="$VOL/big" bs=4097 iflag=skip_bytes skip=12345 2>/dev/null | sha256sum)"
par_copy() {
	local i pids=() rc=0
	for i in 1 2 3 4 5 6 7 8; do
		(cp -a "$SRC" "$VOL/par$i" && diff -r "$SRC" "$VOL/par$i" &&
			cmp "$T/big" "$VOL/big") &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || rc=1; done
	return $rc
}
check "8 parallel cp -a + diff -r while reading the big file" par_copy

# ---- tar ----------------------------------------------------------------------
TAR=(tar --sort=name --numeric-owner --format=gnu)
"${TAR[@]}" -C /usr/include -cf "$REF/a.tar" linux
check "tar c into the volume" "${TAR[@]}" -C /usr/include -cf "$VOL/a.tar" linux
check_eq "archive written into the volume is byte-identical" \
	"$(sha256sum <"$REF/a.tar")" "$(sha256sum <"$VOL/a.tar")"
mkdir "$VOL/tarx"
check "tar x inside the volume" tar -xf "$VOL/a.tar" -C "$VOL/tarx"
check "tar c of the extracted tree" "${TAR[@]}" -C "$VOL/tarx" -cf "$T/b.tar" linux
check_eq "tar round trip gives the same archive" \
	"$(sha256sum <"$REF/a.tar")" "$(sha256sum <"$T/b.tar")"

# ---- git --------------------------------------------------------------------------
git_commit() {
	mkdir "$1/repo" && cp -r "$SRC/netfilter" "$SRC/can" "$1/repo/" &&
		cd "$1/repo" && git -c init.defaultBranch=main init -q &&
		git add -A && git commit -q -m "first" &&
		printf 'changed\n' >>can/raw.h && git rm -q -r netfilter/ipset &&
		git commit -q -a -m "second" && git gc -q
}
(git_commit "$REF") >/dev/null 2>&1
check "git init, add, commit, rm, commit, gc in the volume" git_commit "$VOL"
check "git fsck --full --strict" git -C "$VOL/repo" fsck --full --strict
check_eq "git log shows both commits" "second first" \
	"$(git -C "$VOL/repo" log --format=%s | xargs)"
check_eq "same commit id as on a plain directory" \
	"$(git -C "$REF/repo" rev-parse HEAD)" "$(git -C "$VOL/repo" rev-parse HEAD)"
check_eq "git status is clean" "" "$(git -C "$VOL/repo" status --porcelain 2>&1)"

# ---- sqlite3 ------------------------------------------------------------------------
sql_fill() {
	{
		echo "PRAGMA journal_mode=$2;"
		echo "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
		echo "BEGIN;"
		for ((i = 1; i <= 1000; i++)); do
			echo "INSERT INTO t(v) VALUES('row $i $((i * 7919 % 1000))');"
		done
		echo "COMMIT;"
	} | sqlite3 "$1" >/dev/null
}
sql_more() {
	sqlite3 "$1" "CREATE INDEX tv ON t(v); DELETE FROM t WHERE id % 10 = 0;
		INSERT INTO t(v) SELECT v || ' again' FROM t WHERE id <= 100;
		VACUUM;" >/dev/null
}
for mode in DELETE WAL; do
	db=db-$mode.sqlite
	sql_fill "$REF/$db" $mode && sql_more "$REF/$db"
	check "sqlite3 ($mode journal): create, 1000 inserts in a transaction" \
		sql_fill "$VOL/$db" $mode
	check_eq "sqlite3 ($mode): count = 1000" 1000 \
		"$(sqlite3 "$VOL/$db" 'SELECT count(*) FROM t' 2>&1)"
	check_eq "sqlite3 ($mode): journal mode" "${mode,,}" \
		"$(sqlite3 "$VOL/$db" 'PRAGMA journal_mode' 2>&1)"
	check "sqlite3 ($mode): index, delete, insert-select, vacuum" sql_more "$VOL/$db"
	check_eq "sqlite3 ($mode): integrity_check" ok \
		"$(sqlite3 "$VOL/$db" 'PRAGMA integrity_check' 2>&1)"
	check_eq "sqlite3 ($mode): same dump as on a plain directory" \
		"$(sqlite3 "$REF/$db" .dump | sha256sum)" "$(sqlite3 "$VOL/$db" .dump | sha256sum)"
done

# ---- rsync ---------------------------------------------------------------------------
check "rsync -a into the volume" rsync -a "$SRC/" "$VOL/rs/"
check "diff -r after rsync" diff -r "$SRC" "$VOL/rs"
check_eq "second rsync --checksum pass changes nothing" "" \
	"$(rsync -a --checksum --itemize-changes "$SRC/" "$VOL/rs/" 2>&1)"
check_eq "second rsync (size and mtime) pass changes nothing" "" \
	"$(rsync -a --itemize-changes "$SRC/" "$VOL/rs/" 2>&1)"

# ---- mv of directories ---------------------------------------------------------------------
mv_dirs() {
	cd "$1" && mkdir -p mvt/d1/sub/deep mvt/d2 mvt/d4/sub &&
		cp "$SRC/fs.h" mvt/d1/sub/deep/ && cp "$SRC/stat.h" mvt/d1/sub/ &&
		mv mvt/d1/sub mvt/d2/ &&       # across directories
		mv mvt/d2 mvt/d3 &&            # rename a non-empty directory
		mv mvt/d3/sub/deep mvt/d4/ &&  # up and across
		mv -T mvt/d1 mvt/d4/sub        # over an empty directory
}
(mv_dirs "$REF") >/dev/null 2>&1
check "mv of directories across directories" mv_dirs "$VOL"
check_eq "same tree as on a plain directory after the moves" \
	"$(tree_meta "$REF/mvt" | cut -d' ' -f1-4)" \
	"$(tree_meta "$VOL/mvt" | cut -d' ' -f1-4)"
check "moved file contents intact" cmp "$SRC/fs.h" "$VOL/mvt/d4/deep/fs.h"

stop_daemon

# ---- the underlying directory ------------------------------------------------------------
check "after stop: cp -a copy intact" diff -r "$SRC" "$VOL/linux"
check "after stop: big file intact" cmp "$T/big" "$VOL/big"
check "after stop: parallel copies intact" sh -c "for i in 1 2 3 4 5 6 7 8; do diff -r '$SRC' '$VOL/par'\$i || exit 1; done"
check "after stop: tar-extracted copy intact" diff -r "$SRC" "$VOL/tarx/linux"
check "after stop: rsync copy intact" diff -r "$SRC" "$VOL/rs"
check "after stop: git fsck" git -C "$VOL/repo" fsck --full --strict
check_eq "after stop: git HEAD" "$(git -C "$REF/repo" rev-parse HEAD)" \
	"$(git -C "$VOL/repo" rev-parse HEAD 2>&1)"
for mode in DELETE WAL; do
	check_eq "after stop: sqlite3 ($mode) integrity_check" ok \
		"$(sqlite3 "$VOL/db-$mode.sqlite" 'PRAGMA integrity_check' 2>&1)"
	check_eq "after stop: sqlite3 ($mode) same dump" \
		"$(sqlite3 "$REF/db-$mode.sqlite" .dump | sha256sum)" \
		"$(sqlite3 "$VOL/db-$mode.sqlite" .dump | sha256sum)"
done
check "after stop: moved tree identical to the plain-directory one" \
	diff -r "$REF/mvt" "$VOL/mvt"
check_nomatch "no BADCTX" BADCTX "$(grep -s BADCTX "$FLOG" | head)"
check_match "the filters saw the programs' writes" \
	'^C post IRP_MJ_WRITE \\linux\\' "$(grep -s -m1 '^C post IRP_MJ_WRITE \\linux\\' "$FLOG")"
