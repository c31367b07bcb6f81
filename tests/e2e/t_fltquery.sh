#!/bin/bash
# t_fltquery: FltQueryDirectoryFile, FltQueryVolumeInformationFile,
# FltQueryVolumeInformation and FltCancelFileOpen, issued by a filter and
# seen by the filter below it only.  The listing through a 512-byte buffer
# (many calls) matches ls; a pattern selects what ls's glob selects; a
# pattern matching nothing gives STATUS_NO_SUCH_FILE; the volume's sizes
# match statfs; a cancelled open fails with EACCES, its CLEANUP and CLOSE
# reach the filter below, and no descriptor is left behind.
. "$(dirname "$0")/lib.sh"

mkdir "$VOL/d"
for i in $(seq 1 40); do
	head -c $((i * 37)) /dev/urandom >"$VOL/d/file-with-a-longer-name-$i.dat"
done
printf 'a\n' >"$VOL/d/one.txt"
printf 'bb\n' >"$VOL/d/two.txt"
mkdir "$VOL/d/sub"
: >"$VOL/go.trigger"
: >"$VOL/none.trigger"
printf 'secret\n' >"$VOL/deny.me"

add_filter Q 300000 QueryOnOpen=go.trigger 'ListDir=\d' 'ListPattern=*.txt' \
	CancelOpenName=deny.me
add_filter N 290000 QueryOnOpen=none.trigger 'ListDir=\d' 'ListPattern=*.none' \
	ListClass=dword:12
add_filter Z 200000
start_daemon -v "$VOL=qvol" "${FARGS[@]}"

cat "$VOL/go.trigger"
cat "$VOL/none.trigger"
SEEN=$(cat "$FLOG")

# ---- directory listing ---------------------------------------------------------------
want=$(cd "$VOL/d" && ls -a | while read -r f; do
	printf '%s %s\n' "$f" "$(stat -c %s "$f")"
done | sort)
got=$(awk '$1 == "Q" && $2 == "dir" { print $3, $4 }' <<<"$SEEN" | sort)
check_eq "Q's listing through a 512-byte buffer is ls -a's, with sizes" "$want" "$got"
check_match "the listing ended with STATUS_NO_MORE_FILES" '^Q dir-end 0x80000006$' "$SEEN"
check_eq "the pattern *.txt matched what the glob matches" "$(cd "$VOL/d" && printf '%s\n' *.txt | sort)" \
	"$(awk '$1 == "Q" && $2 == "match" { print $3 }' <<<"$SEEN" | sort)"
check_match "... then STATUS_NO_MORE_FILES" '^Q match-end 0x80000006$' "$SEEN"
check_eq "FileNamesInformation lists every name" "$(ls -a "$VOL/d" | sort)" \
	"$(awk '$1 == "N" && $2 == "dir" { print $3 }' <<<"$SEEN" | sort)"
check_match "a pattern matching nothing: STATUS_NO_SUCH_FILE" '^N match-end 0xC000000F$' "$SEEN"
check_match "Z (below Q) saw the directory query" \
	'^Z pre IRP_MJ_DIRECTORY_CONTROL \\d$' "$SEEN"
check_nomatch "Q never saw its own directory query" \
	'^Q (pre|post) IRP_MJ_DIRECTORY_CONTROL \\d$' "$SEEN"

# ---- volume information -------------------------------------------------------------------
read -r blocks bsize < <(stat -f -c '%b %S' "$VOL/d")
total=$((blocks * bsize))
check_match "FileFsSizeInformation: the total size statfs gives" "^Q vol-size $total " "$SEEN"
check_match "FileFsFullSizeInformation: the same total" "^Q vol-full $total " "$SEEN"
check_match "FileFsAttributeInformation: a file system name, 255-character names" \
	'^Q vol-attr [a-z0-9]+ 255 0x[0-9A-F]{8}$' "$SEEN"
check_match "a buffer one character short: STATUS_BUFFER_OVERFLOW" '^Q vol-short 0x80000005$' "$SEEN"
check_match "FileFsVolumeInformation: the label is the volume's name" '^Q vol-label qvol$' "$SEEN"
check_match "FltQueryVolumeInformation (no file object) gives the same total" \
	"^Q vol2 0x00000000 $total$" "$SEEN"
check_match "Z saw the volume queries" '^Z pre IRP_MJ_QUERY_VOLUME_INFORMATION \\d$' "$SEEN"
check_nomatch "Q never saw its own volume queries" \
	'^Q (pre|post) IRP_MJ_QUERY_VOLUME_INFORMATION' "$SEEN"

# ---- FltCancelFileOpen -----------------------------------------------------------------------
: >"$FLOG"
out=$(cat "$VOL/deny.me" 2>&1)
check_match "a cancelled open fails with EACCES" 'Permission denied' "$out"
SEEN=$(cat "$FLOG")
check_match "Q cancelled it" '^Q cancelled \\deny\.me$' "$SEEN"
check_match "Z saw the cancel's CLEANUP" '^Z post IRP_MJ_CLEANUP \\deny\.me 0x00000000$' "$SEEN"
check_match "Z saw the cancel's CLOSE" '^Z post IRP_MJ_CLOSE \\deny\.me 0x00000000$' "$SEEN"
check_match "Q's post-create carried the failure" '^Q post IRP_MJ_CREATE \\deny\.me 0xC0000022$' "$SEEN"
fds_before=$(ls /proc/"$DAEMON_PID"/fd | wc -l)
for i in $(seq 1 200); do cat "$VOL/deny.me" 2>/dev/null; done
fds_after=$(ls /proc/"$DAEMON_PID"/fd | wc -l)
check_eq "200 cancelled opens leave no descriptor open in the daemon" "$fds_before" "$fds_after"
mkdir "$VOL/new"
out=$(py 'import os; os.open(A[0], os.O_CREAT | os.O_WRONLY, 0o644)' "$VOL/new/deny.me")
check_eq "a cancelled create fails with EACCES" EACCES "$out"
# Listed, not stat'ed: the kernel keeps the negative entry of the failed create.
check_eq "... and the file it created stays, as on Windows" deny.me "$(ls "$VOL/new")"
check "other files open normally" test "$(cat "$VOL/d/one.txt")" = a
stop_daemon
