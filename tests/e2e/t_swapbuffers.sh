#!/bin/bash
# t_swapbuffers: the swapbuffers sample stores file data transformed on
# disk; through the volume every program sees exactly what it wrote: cp,
# random unaligned reads and writes, appends, truncates, mmap writes (paging
# writes), holes, and a filter's own I/O from above (CopyOnWrite).  Sizes stay
# right.  The disk is seen through a bind mount of the directory made
# before the volume is mounted over it.
. "$(dirname "$0")/lib.sh"

SB=$BUILD/samples/swapbuffers/swapbuffers.so
RAW=$T/raw
mkdir "$RAW" && mount --bind "$VOL" "$RAW" || bail "bind mount of the directory underneath"

# Read through the daemon, not the page cache the writes filled.
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

head -c 3000001 /dev/urandom >"$T/rand.bin"

KEY="correct horse battery staple"
start_daemon -f "$SB@145000=sb" -p "sb.Key=$KEY"

# ---- cp, sizes, data at rest ------------------------------------------------
cp "$T/rand.bin" "$VOL/rand.bin"
drop_caches
check "cp of a 3 MB random file reads back byte-exact" cmp "$T/rand.bin" "$VOL/rand.bin"
check_eq "its size through the volume" 3000001 "$(stat -c %s "$VOL/rand.bin")"
check_eq "its size on disk" 3000001 "$(stat -c %s "$RAW/rand.bin")"
check_match "ls -l shows the size" ' 3000001 ' "$(ls -l "$VOL/rand.bin")"
check_fails "the data on disk differs from the plaintext" cmp -s "$T/rand.bin" "$RAW/rand.bin"
head -c 65536 /dev/zero >"$VOL/zeros.bin"
drop_caches
check_eq "zeros read back as zeros" 0 "$(tr -d '\0' <"$VOL/zeros.bin" | wc -c)"
check_match "zeros are not zeros on disk" '^[1-9]' "$(tr -d '\0' <"$RAW/zeros.bin" | wc -c)"
cp "$VOL/rand.bin" "$VOL/copy.bin"
drop_caches
check "cp inside the volume is byte-exact" cmp "$T/rand.bin" "$VOL/copy.bin"
check "the same plaintext at the same offsets is stored the same" cmp "$RAW/rand.bin" "$RAW/copy.bin"

# ---- random I/O against a model outside the volume -------------------------------
for seed in 1 2 3; do
	out=$("$PY" "$HELPERS/sbmodel.py" "$VOL/model$seed.bin" "$T/model$seed.bin" \
		"$seed" 400 2>&1 | tail -n 5)
	check_eq "seed $seed: 400 random pwrite/pread/append/truncate/mmap ops agree with the model" ok "$out"
	drop_caches
	check "seed $seed: after dropping the cache the file equals the model" \
		cmp "$T/model$seed.bin" "$VOL/model$seed.bin"
	check_eq "seed $seed: sizes agree" "$(stat -c %s "$T/model$seed.bin")" "$(stat -c %s "$VOL/model$seed.bin")"
done

# ---- appends, truncates, holes -----------------------------------------------------
: >"$T/app.model"
: >"$VOL/app.txt"
for i in $(seq 1 50); do
	printf 'line %d of the appended file\n' "$i" | tee -a "$T/app.model" >>"$VOL/app.txt"
done
drop_caches
check "50 appends read back exactly" cmp "$T/app.model" "$VOL/app.txt"
truncate -s 1000000 "$VOL/app.txt"
truncate -s 1000000 "$T/app.model"
drop_caches
check "a truncate that extends reads as zeros past the old end" cmp "$T/app.model" "$VOL/app.txt"
truncate -s 777 "$VOL/app.txt"
truncate -s 777 "$T/app.model"
check "a truncate that shrinks keeps the start" cmp "$T/app.model" "$VOL/app.txt"
printf 'tail' | dd of="$VOL/app.txt" bs=1 seek=50000 conv=notrunc status=none
printf 'tail' | dd of="$T/app.model" bs=1 seek=50000 conv=notrunc status=none
drop_caches
check "a write past the end leaves a gap that reads as zeros" cmp "$T/app.model" "$VOL/app.txt"
fallocate -l 200000 "$VOL/app.txt" 2>/dev/null
fallocate -l 200000 "$T/app.model" 2>/dev/null
drop_caches
check "fallocate that extends reads as zeros" cmp "$T/app.model" "$VOL/app.txt"
check_fails "punching a hole is refused (it would read as keystream)" \
	fallocate -p -o 0 -l 4096 "$VOL/app.txt"
check "... and the file is unchanged" cmp "$T/app.model" "$VOL/app.txt"

# ---- mmap: paging writes from write-back -------------------------------------------
out=$(py '
import mmap, os
p, q = A
for path in (p, q):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    os.ftruncate(fd, 1 << 20)
    m = mmap.mmap(fd, 1 << 20)
    for i in range(0, 1 << 20, 4093):
        m[i:i + 7] = b"mmapped"
    m.flush()
    m.close()
    os.close(fd)
print("done")' "$VOL/mm.bin" "$T/mm.model")
check_eq "mmap writes ran" done "$out"
drop_caches
check "mmap writes read back exactly" cmp "$T/mm.model" "$VOL/mm.bin"
check_fails "mmap data is transformed on disk" cmp -s "$T/mm.model" "$RAW/mm.bin"

check_nomatch "post-write always saw the program's buffer restored" \
	'post-write saw the swapped buffer' "$(cat "$LOG")"
stop_daemon

# ---- a filter above: its FltReadFile/FltWriteFile data is transformed too ----------
add_filter A 385100 CopyOnWrite=.orig Operations=IRP_MJ_CREATE,IRP_MJ_WRITE
start_daemon "${FARGS[@]}" -f "$SB@145000=sb" -p "sb.Key=$KEY"
cp "$VOL/rand.bin" "$T/rand.before"
printf 'x' | dd of="$VOL/rand.bin" bs=1 seek=10 conv=notrunc status=none
drop_caches
check "A's copy-before-write of a transformed file reads back as plaintext" \
	cmp "$T/rand.before" "$VOL/rand.bin.orig"
check_fails "... and is transformed on disk" cmp -s "$T/rand.before" "$RAW/rand.bin.orig"
check_match "A copied the whole file" '^A copied 3000001 0x00000000$' "$(cat "$FLOG")"
stop_daemon

# ---- the key matters ------------------------------------------------------------------
start_daemon -f "$SB@145000=sb" -p "sb.Key=another key"
check_fails "with another key the data reads differently" cmp -s "$T/rand.bin" "$VOL/copy.bin"
stop_daemon
start_daemon -f "$SB@145000=sb" -p "sb.Key=$KEY"
check "with the key again the data reads back exactly" cmp "$T/rand.bin" "$VOL/copy.bin"
stop_daemon
check_nomatch "no references leaked at unload" 'references leaked' "$(cat "$LOG")"
