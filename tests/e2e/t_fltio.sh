#!/bin/bash
# t_fltio: filter-initiated I/O (FltCreateFileEx, FltReadFile, FltWriteFile,
# FltClose) is seen by the instances below the issuing one only, never by
# the issuer or those above: a copy-before-change filter in the middle of
# three keeps the original content, without recursing into itself.
. "$(dirname "$0")/lib.sh"

printf 'original content\n' >"$VOL/doc.txt"
head -c 300000 /dev/urandom >"$VOL/big.bin"
cp "$VOL/big.bin" "$T/big.orig"

add_filter A 385100
add_filter M 370000 CopyOnWrite=.orig
add_filter Z 320000
start_daemon "${FARGS[@]}"

printf 'new content\n' >"$VOL/doc.txt"
# What the filters saw of M's own I/O, before this test reads the copy
# through the volume (which every filter then sees, rightly).
wait_for 5 grep -q '^Z post IRP_MJ_CLOSE \\doc.txt.orig' "$FLOG"
SEEN=$(cat "$FLOG")
check_eq "the program's truncating write took effect" "new content" "$(cat "$VOL/doc.txt")"
check_match "M copied 17 bytes with STATUS_SUCCESS" '^M copied 17 0x00000000$' "$SEEN"
check_match "Z (below M) saw the copy's create" '^Z pre IRP_MJ_CREATE \\doc\.txt\.orig$' "$SEEN"
check_match "Z saw the copy's write" '^Z post IRP_MJ_WRITE \\doc\.txt\.orig 0x00000000$' "$SEEN"
check_match "Z saw the read of the original" '^Z post IRP_MJ_READ \\doc\.txt 0x00000000$' "$SEEN"
check_match "Z saw the copy closed" '^Z post IRP_MJ_CLOSE \\doc\.txt\.orig 0x00000000$' "$SEEN"
check_nomatch "M never saw its own I/O" '^M (pre|post) [A-Z_]+ \\doc\.txt\.orig' "$SEEN"
check_nomatch "A (above M) never saw M's I/O" '^A (pre|post) [A-Z_]+ \\doc\.txt\.orig' "$SEEN"
check_eq "the filter kept the original in doc.txt.orig" "original content" \
	"$(cat "$VOL/doc.txt.orig" 2>&1)"
printf 'third\n' >>"$VOL/doc.txt"
check_eq "a later write keeps the first copy" "original content" "$(cat "$VOL/doc.txt.orig")"
check_eq "M copied once" 1 "$(grep -c '^M copied' "$FLOG")"

dd if=/dev/zero of="$VOL/big.bin" bs=4096 count=1 conv=notrunc status=none
check "a 300 KB file is copied byte-exact before it is changed" cmp "$T/big.orig" "$VOL/big.bin.orig"
check_nomatch "no failed copy" 'copy-failed' "$(cat "$FLOG")"
check_nomatch "no BADCTX" BADCTX "$(cat "$FLOG")"
stop_daemon
check "after stop: the copy is on disk" cmp "$T/big.orig" "$VOL/big.bin.orig"
