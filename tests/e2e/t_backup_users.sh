#!/bin/bash
# t_backup_users: who may see and restore which versions.
#
# The rule (filters/backup/access.h): root sees every version; any other
# user sees a version when the mode recorded with it granted them read
# access (owner, group or other bits, as the kernel would have decided at
# version time).  Restores go through the volume with the caller's rights.
# Covers: two users A (1001) and B (1002), 0600 and 0644 files, a 0640
# file of a group B is (not) in, a mode changed after the version, deleted
# files, the recorded uid/process, purge refused to non-root.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/helpers/backup.sh"

UA=(1001 1001)
UB=(1002 1002)
SAVE=$T/save
mkdir -m 755 "$SAVE"

bk_start "$VOL=vol" "$T/store"
mkdir -m 1777 "$VOL/shared"
S=$VOL/shared
as_user "${UA[@]}" sh -c "umask 077; printf 'A private one\n' >'$S/priv.txt'"
as_user "${UA[@]}" sh -c "umask 022; printf 'A public one\n' >'$S/pub.txt'"
as_user "${UA[@]}" sh -c "umask 027; printf 'A group one\n' >'$S/grp.txt'"
chgrp 3000 "$S/grp.txt"
cp "$S/priv.txt" "$SAVE/priv.1"
cp "$S/pub.txt" "$SAVE/pub.1"
cp "$S/grp.txt" "$SAVE/grp.1"
check_eq "A's files: 600, 644, 640 (group 3000)" "600 644 640:3000" \
	"$(stat -c %a "$S/priv.txt") $(stat -c %a "$S/pub.txt") $(stat -c %a:%g "$S/grp.txt")"
for f in priv pub grp; do
	check "A rewrites $f.txt" as_user "${UA[@]}" sh -c "echo 'A changed it' >'$S/$f.txt'"
done

# ---- what each one sees --------------------------------------------------------------
versions_json "$S/priv.txt" "${UA[@]}"
check_eq "A lists the version of its 0600 file" "0 1" "$RC $(jq_ 'len(J)')"
check_eq "... recorded: uid 1001 (who changed it), owner 1001, mode 0600, process sh" \
	"1001 1001 0600 sh" \
	"$(jq_ '" ".join(str(J[0][k]) for k in ("uid", "owner_uid", "mode", "process"))')"
PRIV_ID=$(jq_ 'J[0]["id"]')
versions_json "$S/priv.txt" "${UB[@]}"
check_eq "B lists no version of A's 0600 file" "0 0" "$RC $(jq_ 'len(J)')"
abu "${UB[@]}" list "$S/priv.txt"
check_eq "... (human form: no versions)" "$S/priv.txt: no versions" "$OUT"
abu "${UB[@]}" show "$S/priv.txt" --id "$PRIV_ID"
check_eq "B: show --id of A's 0600 version: exit 1, Permission denied (EACCES)" \
	"1 altbackup: $S/priv.txt: Permission denied" "$RC $ERR"
abu "${UB[@]}" restore "$S/priv.txt" --id "$PRIV_ID" --to "$T/out/b-priv"
check_eq "B: restore --id of A's 0600 version: exit 1, Permission denied (EACCES)" \
	"1 altbackup: $S/priv.txt: Permission denied" "$RC $ERR"
check_eq "... nothing written" "" "$(ls "$T/out/b-priv" 2>/dev/null)"
abu "${UB[@]}" restore "$S/priv.txt" --to "$T/out/b-priv"
check_eq "B: restore of the newest version of A's 0600 file: exit 1, no versions" \
	"1 altbackup: $S/priv.txt: no versions" "$RC $ERR"
versions_json "$S/priv.txt"
check_eq "root lists it" 1 "$(jq_ 'len(J)')"
ab restore "$S/priv.txt" --id "$PRIV_ID" --to "$T/out/root-priv"
check "root restores it byte-exact" cmp "$SAVE/priv.1" "$T/out/root-priv"
abu "${UA[@]}" restore "$S/priv.txt" --to "$T/out/a-priv"
check "A restores its own 0600 version byte-exact (--to)" cmp "$SAVE/priv.1" "$T/out/a-priv"
check_eq "... owned by A, mode 600" "1001 600" "$(stat -c '%u %a' "$T/out/a-priv")"

versions_json "$S/pub.txt" "${UB[@]}"
check_eq "B lists the version of A's 0644 file" "0 1" "$RC $(jq_ 'len(J)')"
abu "${UB[@]}" restore "$S/pub.txt" --to "$T/out/b-pub"
check "B restores A's 0644 version byte-exact (--to)" cmp "$SAVE/pub.1" "$T/out/b-pub"
check_eq "... the copy is B's (B is not root: no chown)" 1002 "$(stat -c %u "$T/out/b-pub")"
abu "${UB[@]}" restore "$S/pub.txt"
check_eq "B cannot restore A's file in place (sticky directory: rename refused)" 1 "$RC"
check_eq "... A's file is unchanged" "A changed it" "$(cat "$S/pub.txt")"
check_eq "... no temporary file left behind" "" "$(ls -A "$S" | grep altbackup)"

versions_json "$S/grp.txt" 1002 1002,3000
check_eq "B in group 3000 sees A's 0640 version" 1 "$(jq_ 'len(J)')"
versions_json "$S/grp.txt" "${UB[@]}"
check_eq "B outside group 3000 does not" 0 "$(jq_ 'len(J)')"
abu 1002 1002,3000 restore "$S/grp.txt" --to "$T/out/b-grp"
check "B in group 3000 restores it byte-exact" cmp "$SAVE/grp.1" "$T/out/b-grp"

# ---- the mode at version time decides -------------------------------------------------------
as_user "${UA[@]}" chmod 644 "$S/priv.txt"
versions_json "$S/priv.txt" "${UB[@]}"
check_eq "A's file made 0644 later: B still cannot see the version kept when it was 0600" \
	0 "$(jq_ 'len(J)')"
as_user "${UA[@]}" sh -c "echo 'A changed it again' >'$S/priv.txt'"
versions_json "$S/priv.txt" "${UB[@]}"
check_eq "... but sees the version kept while it was 0644" "1 0644" \
	"$(jq_ 'str(len(J)) + " " + J[0]["mode"]')"
as_user "${UA[@]}" chmod 600 "$S/pub.txt"
versions_json "$S/pub.txt" "${UB[@]}"
check_eq "A's 0644 file made 0600 later: B still sees the version kept when it was 0644" \
	1 "$(jq_ 'len(J)')"

# ---- B's own changes ---------------------------------------------------------------------------
as_user "${UB[@]}" sh -c "echo 'B one' >'$S/b.txt'; echo 'B two' >'$S/b.txt'"
versions_json "$S/b.txt" "${UB[@]}"
check_eq "B's own file: B sees its version, uid 1002" "1 1002" "$(jq_ 'str(len(J)) + " " + str(J[0]["uid"])')"
ab restore "$S/b.txt" --version 1
check_eq "root restores B's file in place: B keeps the ownership" "B one 1002:1002" \
	"$(cat "$S/b.txt") $(stat -c %u:%g "$S/b.txt")"

# ---- deleted files ---------------------------------------------------------------------------------
mkdir -m 1777 "$VOL/gone"
as_user "${UA[@]}" sh -c "umask 077; echo secret >'$VOL/gone/secret.txt'"
as_user "${UA[@]}" sh -c "umask 022; echo open >'$VOL/gone/open.txt'"
as_user "${UA[@]}" rm "$VOL/gone/secret.txt" "$VOL/gone/open.txt"
abu "${UB[@]}" --json deleted "$VOL/gone"
check_eq "B: deleted lists only A's deleted 0644 file" "$VOL/gone/open.txt" \
	"$(jq_ '" ".join(sorted(e["path"] for e in J))')"
abu "${UA[@]}" --json deleted "$VOL/gone"
check_eq "A: deleted lists both" "$VOL/gone/open.txt $VOL/gone/secret.txt" \
	"$(jq_ '" ".join(sorted(e["path"] for e in J))')"
abu "${UB[@]}" restore-deleted "$VOL/gone"
check_eq "B: restore-deleted brings back only what B may read" "0 open.txt" \
	"$RC $(ls "$VOL/gone" | xargs)"
check_eq "... as B's file (B restored it)" 1002 "$(stat -c %u "$VOL/gone/open.txt")"
ab restore-deleted "$VOL/gone"
check_eq "root: restore-deleted brings back the rest, with A as owner" "secret 1001 600" \
	"$(cat "$VOL/gone/secret.txt") $(stat -c '%u %a' "$VOL/gone/secret.txt")"

# ---- usage and purge ----------------------------------------------------------------------------------
abu "${UB[@]}" purge
check_eq "purge as B: exit 1, Operation not permitted (EPERM)" "1 altbackup: purge: Operation not permitted" \
	"$RC $ERR"
abu "${UB[@]}" --json usage
check_eq "usage as B: allowed" 0 "$RC"
ab --json purge
check_eq "purge as root: exit 0, reports what it evicted" "0 True" \
	"$RC $(jq_ '"evicted" in J[0] and "freed" in J[0]')"

stop_daemon
check_store "after stop: the store is consistent" "$T/store/vol"
check_eq "the store is root's, mode 700" "0 700" "$(stat -c '%u %a' "$T/store/vol")"
