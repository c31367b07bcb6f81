#!/bin/bash
# t_fsctl: the back end's FSCTLs (FSCTL_LX_LINK_TO_DIRECTORY,
# FSCTL_LX_COPY_TO_DESCRIPTOR) given malformed input by a filter: short
# and missing buffers, an unterminated name, names that leave the target
# directory, unknown and contradictory flags, no descriptor, a copy at an
# offset with the short input, with clone-only, at a negative offset, or
# of a file larger than its MaxLength, a copy to memory with the short
# input, a descriptor, no buffer, an offset or contradictory flags, or
# into a buffer too small.  Each gets
# its status, nothing is linked or changed; a well-formed link of a file
# a program holds open is refused, and the query, the copy, the copy at
# an offset (the target's bytes before it left) and the copy to memory
# (nothing past the file's bytes touched) still work.
. "$(dirname "$0")/lib.sh"

printf 'fsctl probe content\n' >"$VOL/probe.txt"
mkdir "$T/links" "$T/links/sub"
add_filter F 370000 FsctlOnOpen=probe.txt "FsctlDir=$T/links"
start_daemon "${FARGS[@]}"

check_eq "the program reads the probed file" "fsctl probe content" \
	"$(cat "$VOL/probe.txt" 2>&1)"
wait_for 5 grep -q '^F fsctl copy ' "$FLOG"
LOG=$(log_of F)

SMALL=0xC0000023 INVAL=0xC000000D
status_of() { sed -n "s/^F fsctl $1 //p" <<<"$LOG" | head -n 1; }
for c in link-short-input link-short-output copy-short-input copy-short-output; do
	check_eq "$c: STATUS_BUFFER_TOO_SMALL" $SMALL "$(status_of $c)"
done
for c in link-no-input link-no-output link-unterminated-name link-empty-name \
	link-absolute-name link-dotdot-name link-inner-dotdot-name link-dot-name \
	link-unknown-flags link-no-directory copy-unknown-flags \
	copy-contradictory-flags copy-no-descriptor copy-at-offset-short-input \
	copy-at-offset-clone-only copy-at-negative-offset \
	copy-to-memory-short-input copy-to-memory-with-descriptor \
	copy-to-memory-no-buffer copy-to-memory-at-offset \
	copy-to-memory-clone-only copy-to-memory-with-offset; do
	check_eq "$c: STATUS_INVALID_PARAMETER" $INVAL "$(status_of $c)"
done
check_eq "a well-formed link of a file a program holds open: STATUS_SHARING_VIOLATION" \
	0xC0000043 "$(status_of link-held-open)"
st=$(status_of copy-to-directory)
check "a copy into a directory fails" test -n "$st" -a "$st" != 0x00000000
check_eq "an unknown FSCTL code: STATUS_INVALID_DEVICE_REQUEST" 0xC0000010 \
	"$(status_of unknown-code)"
check_eq "the query succeeds" 0x00000000 "$(status_of link-query)"
check_match "the query: one link, no writer, the program's open, 20 bytes, method link" \
	'^F fsctl-query links 1 writers 0 opens 1 size 20 method 3$' "$LOG"
check_eq "the copy succeeds" 0x00000000 "$(status_of copy)"
check_match "the copy: 20 bytes, a copy, the file's content" \
	'^F fsctl-copy bytes 20 returned [0-9]+ method 2 content fsctl probe content$' "$LOG"

check_eq "a copy at an offset of a file larger than MaxLength: STATUS_BUFFER_OVERFLOW" \
	0x80000005 "$(status_of copy-at-offset-too-long)"
check_eq "the copy at an offset succeeds" 0x00000000 "$(status_of copy-at-offset)"
check_match "... 20 bytes copied at offset 8192, a copy" \
	'^F fsctl-copy-at-offset bytes 20 method 2 content fsctl probe content$' "$LOG"
check_match "... what the target held before the offset is left" \
	'^F fsctl-copy-at-offset head fsctl pr$' "$LOG"

check_eq "a copy to memory of a file larger than MaxLength: STATUS_BUFFER_OVERFLOW" \
	0x80000005 "$(status_of copy-to-memory-too-long)"
check_eq "the copy to memory succeeds" 0x00000000 "$(status_of copy-to-memory)"
check_match "... 20 bytes into the buffer, a copy, consistent, nothing written past them" \
	'^F fsctl-copy-to-memory bytes 20 method 2 consistent 1 buffer fsctl probe content\|#{43}$' "$LOG"

check_eq "nothing was linked into the target directory" "sub" \
	"$(ls -A "$T/links")"
check_eq "nothing was linked below it" "" "$(ls -A "$T/links/sub")"
check "no name escaped the target directory" test ! -e "$T/escaped"
check_eq "the file has one link" 1 "$(stat -c %h "$VOL/probe.txt")"
check_eq "the file is unchanged" "fsctl probe content" "$(cat "$VOL/probe.txt")"
check_nomatch "no BADCTX" BADCTX "$LOG"
stop_daemon
