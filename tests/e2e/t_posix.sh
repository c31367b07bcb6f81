#!/bin/bash
# t_posix: POSIX file system semantics through a volume, run twice: with a
# filter that registered every operation (reads and writes uncached, every
# one reaches the stack) and with one that registered only CREATE (the page
# cache serves reads and writes).  Where the answer depends on the file
# system (allocation, holes) the same steps on a plain directory give it.
. "$(dirname "$0")/lib.sh"

REF=$(new_volume ref)

odirect='
buf = mmap.mmap(-1, 1 << 20); buf.write(bytes(range(256)) * 4096)
fd = os.open(A[0], os.O_CREAT | os.O_RDWR | os.O_DIRECT, 0o644)
n = os.pwritev(fd, [buf], 0)
rb = mmap.mmap(-1, 1 << 20)
m = os.preadv(fd, [rb], 0); os.close(fd)
print(n, m, rb[:] == buf[:], read_file(A[0]) == buf[:])'
bigxattr='
write_file(A[0], b"")
for size in (255, 4000, 60000):
    try:
        os.setxattr(A[0], "user.big%d" % size, bytes([size % 251]) * size)
        print(size, os.getxattr(A[0], "user.big%d" % size) == bytes([size % 251]) * size, end=" ")
    except OSError as e:
        print(size, errno.errorcode[e.errno], end=" ")
print(sorted(os.listxattr(A[0])))'

suite() {
	local L=$1 W=$VOL/$1 R=$REF/$1 out
	mkdir -p "$W" "$R"

	# ---- rename ----------------------------------------------------------
	mkdir "$W/names" "$W/many" "$W/winnames" "$W/deep" "$W/rdunl"
	printf A >"$W/ra"; printf B >"$W/rb"
	check_eq "[$L] rename over a file" "A-gone" "$(py '
os.rename(A[0], A[1]); print(read_file(A[1]).decode() + "-" +
    ("there" if os.path.exists(A[0]) else "gone"))' "$W/ra" "$W/rb")"
	mkdir -p "$W/rd1" "$W/rd2"; printf x >"$W/rd1/f"
	check_eq "[$L] rename a directory over an empty directory" "x-gone" "$(py '
os.rename(A[0], A[1]); print(read_file(A[1] + "/f").decode() + "-" +
    ("there" if os.path.exists(A[0]) else "gone"))' "$W/rd1" "$W/rd2")"
	mkdir -p "$W/rd3/sub" "$W/rd4"; printf y >"$W/rd3/sub/f"
	check_eq "[$L] rename a directory over a non-empty one -> ENOTEMPTY" ENOTEMPTY \
		"$(py 'os.rename(A[0], A[1])' "$W/rd4" "$W/rd3")"
	check_eq "[$L] rename a file over a directory -> EISDIR" EISDIR \
		"$(py 'os.rename(A[0], A[1])' "$W/rb" "$W/rd4")"
	check_eq "[$L] rename a directory over a file -> ENOTDIR" ENOTDIR \
		"$(py 'os.rename(A[0], A[1])' "$W/rd4" "$W/rb")"
	printf 1 >"$W/n1"; printf 2 >"$W/n2"
	check_eq "[$L] renameat2 RENAME_NOREPLACE onto an existing name -> EEXIST" EEXIST \
		"$(py 'renameat2(A[0], A[1], RENAME_NOREPLACE)' "$W/n1" "$W/n2")"
	check_eq "[$L] renameat2 RENAME_NOREPLACE left both files" "1 2" \
		"$(cat "$W/n1"; echo -n ' '; cat "$W/n2")"
	check_eq "[$L] renameat2 RENAME_NOREPLACE onto a new name" "1" \
		"$(py 'renameat2(A[0], A[1], RENAME_NOREPLACE); print(read_file(A[1]).decode())' \
			"$W/n1" "$W/n3")"
	check_eq "[$L] renameat2 RENAME_EXCHANGE swaps two files" "2 1" \
		"$(py 'renameat2(A[0], A[1], RENAME_EXCHANGE)
print(read_file(A[0]).decode(), read_file(A[1]).decode())' "$W/n3" "$W/n2")"
	check_eq "[$L] renameat2 RENAME_EXCHANGE swaps a file and a directory" "dir file" \
		"$(py 'renameat2(A[0], A[1], RENAME_EXCHANGE)
print("dir" if os.path.isdir(A[0]) else "file", "dir" if os.path.isdir(A[1]) else "file")' \
			"$W/n2" "$W/rd4")"

	# ---- unlink while open, hard links --------------------------------------
	check_eq "[$L] unlinked open file stays readable and writable" "gone 0 hello world" "$(py '
fd = os.open(A[0], os.O_CREAT | os.O_RDWR, 0o644)
os.write(fd, b"hello")
os.unlink(A[0])
os.write(fd, b" world")
st = os.fstat(fd)
print("there" if os.path.exists(A[0]) else "gone", st.st_nlink,
      os.pread(fd, 100, 0).decode())
os.close(fd)' "$W/unl")"
	printf old >"$W/rp-target"; printf new >"$W/rp-new"
	check_eq "[$L] rename over a file another process holds open" "old new" "$(py '
fd = os.open(A[1], os.O_RDONLY)
os.rename(A[0], A[1])
print(os.read(fd, 10).decode(), read_file(A[1]).decode()); os.close(fd)' "$W/rp-new" "$W/rp-target")"
	printf linked >"$W/h1"
	check_eq "[$L] hard link: count 2, same inode, same data" "2 2 same linked" "$(py '
os.link(A[0], A[1]); a, b = os.stat(A[0]), os.stat(A[1])
print(a.st_nlink, b.st_nlink, "same" if a.st_ino == b.st_ino else "differ",
      read_file(A[1]).decode())' "$W/h1" "$W/h2")"
	check_eq "[$L] hard link: unlink one keeps the other" "1 linked" "$(py '
os.unlink(A[0]); print(os.stat(A[1]).st_nlink, read_file(A[1]).decode())' "$W/h1" "$W/h2")"
	check_eq "[$L] hard link to a directory -> EPERM" EPERM \
		"$(py 'os.link(A[0], A[1])' "$W/rd3" "$W/rd3link")"

	# ---- open flags ------------------------------------------------------------
	check_eq "[$L] O_APPEND from two descriptors" "aaaa,bbbb,cccc,dddd 19" "$(py '
f1 = os.open(A[0], os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644)
f2 = os.open(A[0], os.O_WRONLY | os.O_APPEND)
os.write(f1, b"aaaa,"); os.write(f2, b"bbbb,"); os.write(f1, b"cccc,"); os.write(f2, b"dddd")
os.close(f1); os.close(f2)
print(read_file(A[0]).decode(), os.stat(A[0]).st_size)' "$W/app")"
	check_eq "[$L] O_CREAT|O_EXCL on an existing file -> EEXIST" EEXIST \
		"$(py 'os.open(A[0], os.O_CREAT | os.O_EXCL | os.O_WRONLY)' "$W/app")"
	check_eq "[$L] O_TRUNC empties the file" 0 \
		"$(py 'os.close(os.open(A[0], os.O_WRONLY | os.O_TRUNC)); print(os.stat(A[0]).st_size)' "$W/app")"
	check_eq "[$L] O_DIRECTORY on a file -> ENOTDIR" ENOTDIR \
		"$(py 'os.open(A[0], os.O_RDONLY | os.O_DIRECTORY)' "$W/app")"
	check_eq "[$L] open a directory for writing -> EISDIR" EISDIR \
		"$(py 'os.open(A[0], os.O_WRONLY)' "$W/rd3")"
	check_eq "[$L] open a missing file -> ENOENT" ENOENT \
		"$(py 'os.open(A[0], os.O_RDONLY)' "$W/missing")"
	check_eq "[$L] mkdir of an existing name -> EEXIST" EEXIST "$(py 'os.mkdir(A[0])' "$W/rd3")"
	check_eq "[$L] rmdir of a non-empty directory -> ENOTEMPTY" ENOTEMPTY \
		"$(py 'os.rmdir(A[0])' "$W/rd3")"
	check_eq "[$L] 255-byte name works, 256 -> ENAMETOOLONG" "ok ENAMETOOLONG" "$(py '
write_file(A[0] + "/" + "n" * 255, b"x"); print("ok", end=" ")
write_file(A[0] + "/" + "n" * 256, b"x")' "$W")"

	# ---- names ---------------------------------------------------------------------
	check_eq "[$L] names with backslash, colon, star, non-UTF-8 bytes round-trip" \
		"a\\b:c*d?.txt 3 ok" "$(py '
d = os.fsencode(A[0])
names = [b"a\\b:c*d?.txt", b"\xff\xfe-latin1-\xe9.bin", "\u00e9t\u00e9-\U0001F600".encode()]
for n in names:
    write_file(d + b"/" + n, n)
got = sorted(os.listdir(d))
ok = got == sorted(names) and all(read_file(d + b"/" + n) == n for n in names)
print(names[0].decode(), len(got), "ok" if ok else got)' "$W/names")"
	check_eq "[$L] names differing only in case are different files" "2 Upper lower" "$(py '
write_file(A[0] + "/Case", b"Upper"); write_file(A[0] + "/case", b"lower")
print(len([n for n in os.listdir(A[0]) if n.lower() == "case"]),
      read_file(A[0] + "/Case").decode(), read_file(A[0] + "/case").decode())' "$W/names")"
	check_eq "[$L] names Windows reserves (CON, aux.txt, trailing dot and space)" "ok" "$(py '
names = ["CON", "aux.txt", "trail.", "space ", " lead", "nul", "a<b>c|d\"e"]
for n in names: write_file(A[0] + "/" + n, n.encode())
print("ok" if all(read_file(A[0] + "/" + n) == n.encode() for n in names) and
      set(names) <= set(os.listdir(A[0])) else sorted(os.listdir(A[0])))' "$W/winnames")"
	check_eq "[$L] a tree deeper than PATH_MAX, walked with dirfds" "ok 10200" "$(py '
d = os.open(A[0], os.O_RDONLY | os.O_DIRECTORY)
for i in range(200):
    name = "%03d" % i + "d" * 47
    os.mkdir(name, dir_fd=d)
    nd = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=d); os.close(d); d = nd
f = os.open("leaf", os.O_CREAT | os.O_RDWR, 0o644, dir_fd=d)
os.write(f, b"deep"); os.close(f)
f = os.open("leaf", os.O_RDONLY, dir_fd=d)
print("ok" if os.read(f, 10) == b"deep" else "bad", 200 * 51); os.close(f); os.close(d)' "$W/deep")"
	check_eq "[$L] readdir while unlinking each entry still returns every entry once" "2000 0" "$(py '
for i in range(2000): write_file("%s/f%05d" % (A[0], i), b"")
seen = []
with os.scandir(A[0]) as it:
    for e in it:
        seen.append(e.name); os.unlink(e.path)
print(len(set(seen)) if len(seen) == len(set(seen)) else "dup", len(os.listdir(A[0])))' "$W/rdunl")"
	check_eq "[$L] 500 entries list back exactly" 500 "$(py '
for i in range(500): write_file("%s/entry-%04d" % (A[0], i), b"")
names = sorted(os.listdir(A[0]))
print(len(names) if names == ["entry-%04d" % i for i in range(500)] else names[:5])' "$W/many")"

	# ---- concurrency -----------------------------------------------------------------
	check_eq "[$L] O_APPEND from 8 processes: every line whole, none lost" "1600 ok" "$(py '
kids = []
for k in range(8):
    pid = os.fork()
    if pid == 0:
        fd = os.open(A[0], os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644)
        for i in range(200):
            os.write(fd, ("%d:%03d:" % (k, i) + "x" * 90 + "\n").encode())
        os._exit(0)
    kids.append(pid)
for pid in kids: os.waitpid(pid, 0)
lines = read_file(A[0]).decode().splitlines()
seen = sorted(l[:6] for l in lines if len(l) == 96 and l.endswith("x" * 90))
print(len(lines), "ok" if seen == sorted("%d:%03d:" % (k, i) for k in range(8) for i in range(200)) else "torn")' "$W/app8")"
	check_eq "[$L] 8 threads pwrite disjoint blocks of one file" "ok" "$(py '
import threading
fd = os.open(A[0], os.O_CREAT | os.O_RDWR, 0o644)
def work(k):
    for i in range(64):
        os.pwrite(fd, bytes([k * 16 + i % 16]) * 4096, (i * 8 + k) * 4096)
ts = [threading.Thread(target=work, args=(k,)) for k in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]; os.close(fd)
d = read_file(A[0])
ok = len(d) == 512 * 4096 and all(d[(i * 8 + k) * 4096:(i * 8 + k + 1) * 4096] ==
     bytes([k * 16 + i % 16]) * 4096 for k in range(8) for i in range(64))
print("ok" if ok else "corrupt")' "$W/pw8")"

	# ---- sparse files, fallocate ------------------------------------------------------
	local sparse='
fd = os.open(A[0], os.O_CREAT | os.O_RDWR, 0o644)
os.lseek(fd, 1 << 30, os.SEEK_SET); os.write(fd, b"end")
st = os.fstat(fd)
print(st.st_size, "small" if st.st_blocks * 512 < (1 << 20) else st.st_blocks,
      "zeros" if os.pread(fd, 65536, 0) == bytes(65536) and
                 os.pread(fd, 4096, 1 << 29) == bytes(4096) else "data",
      os.pread(fd, 10, 1 << 30).decode(),
      os.lseek(fd, 0, os.SEEK_DATA), os.lseek(fd, 0, os.SEEK_HOLE))
os.close(fd)'
	check_eq "[$L] sparse 1 GiB file: size, blocks, holes read as zeros, SEEK_DATA/SEEK_HOLE" \
		"$(py "$sparse" "$R/sparse")" "$(py "$sparse" "$W/sparse")"
	check "[$L] du of the sparse file is small" test "$(du -k "$W/sparse" | cut -f1)" -lt 1024
	local falloc='
fd = os.open(A[0], os.O_CREAT | os.O_RDWR, 0o644)
fallocate(fd, 0, 0, 1 << 20)
st = os.fstat(fd); a = (st.st_size, st.st_blocks * 512 >= (1 << 20))
fallocate(fd, 1, 1 << 20, 1 << 20)          # FALLOC_FL_KEEP_SIZE
st = os.fstat(fd); b = (st.st_size, st.st_blocks * 512 >= (2 << 20))
os.pwrite(fd, b"\x55" * (1 << 20), 0)
fallocate(fd, 3, 65536, 65536)              # PUNCH_HOLE | KEEP_SIZE
c = (os.fstat(fd).st_size, os.pread(fd, 65536, 65536) == bytes(65536),
     os.pread(fd, 4, 65536 - 4) == b"\x55" * 4, os.pread(fd, 4, 131072) == b"\x55" * 4)
print(a, b, c); os.close(fd)'
	check_eq "[$L] fallocate: allocate, KEEP_SIZE, PUNCH_HOLE" \
		"$(py "$falloc" "$R/falloc")" "$(py "$falloc" "$W/falloc")"

	# ---- mmap ----------------------------------------------------------------------------
	check_eq "[$L] mmap MAP_SHARED store, msync, read back with read()" "ok" "$(py '
fd = os.open(A[0], os.O_CREAT | os.O_RDWR, 0o644)
os.ftruncate(fd, 8192)
m = mmap.mmap(fd, 8192, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
m[100:108] = b"mmapdata"; m[4101:4105] = b"page"
m.flush(); m.close(); os.close(fd)
d = read_file(A[0])
print("ok" if len(d) == 8192 and d[100:108] == b"mmapdata" and d[4101:4105] == b"page"
      and d[:100] == bytes(100) else d[96:112])' "$W/mm")"
	check_eq "[$L] mmap MAP_SHARED store is seen by read() before msync" "mapped" "$(py '
fd = os.open(A[0], os.O_CREAT | os.O_RDWR, 0o644)
os.ftruncate(fd, 4096)
m = mmap.mmap(fd, 4096, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
m[0:6] = b"mapped"
fd2 = os.open(A[0], os.O_RDONLY)
print(os.pread(fd2, 6, 0).decode(errors="replace"))
m.close(); os.close(fd); os.close(fd2)' "$W/mm2")"
	check_eq "[$L] write() is seen by an existing MAP_SHARED mapping" "written" "$(py '
fd = os.open(A[0], os.O_CREAT | os.O_RDWR, 0o644)
os.ftruncate(fd, 4096)
m = mmap.mmap(fd, 4096, mmap.MAP_SHARED, mmap.PROT_READ)
m[0:1]
os.pwrite(fd, b"written", 0)
print(m[0:7].decode(errors="replace")); m.close(); os.close(fd)' "$W/mm3")"

	# ---- extended attributes -------------------------------------------------------------------
	: >"$W/xa"
	check_eq "[$L] xattr user.*: set, get, list, create-exists, remove" \
		"value2 ['user.k'] EEXIST ENODATA" "$(py '
os.setxattr(A[0], "user.k", b"value1")
os.setxattr(A[0], "user.k", b"value2", os.XATTR_REPLACE)
print(os.getxattr(A[0], "user.k").decode(), os.listxattr(A[0]), end=" ")
try:
    os.setxattr(A[0], "user.k", b"v", os.XATTR_CREATE)
except OSError as e:
    print(errno.errorcode[e.errno], end=" ")
os.removexattr(A[0], "user.k")
os.getxattr(A[0], "user.k")' "$W/xa")"
	check_eq "[$L] setfattr/getfattr tools" "user.bin=0x000102ff" \
		"$(setfattr -n user.bin -v 0x000102ff "$W/xa" &&
			getfattr --absolute-names -e hex -n user.bin "$W/xa" 2>&1 | grep '^user')"

	# ---- locks -------------------------------------------------------------------------------------
	: >"$W/lk"
	check_eq "[$L] fcntl F_SETLK conflict between processes -> EAGAIN, then granted" \
		"EAGAIN locked-by-parent granted" "$(py '
fd = os.open(A[0], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0)
r, w = os.pipe()      # child -> parent
r2, w2 = os.pipe()    # parent -> child
pid = os.fork()
if pid == 0:
    fd2 = os.open(A[0], os.O_RDWR)
    try:
        fcntl.lockf(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0)
        msg = "granted-early"
    except OSError as e:
        msg = errno.errorcode[e.errno]
    fl = fcntl.fcntl(fd2, fcntl.F_GETLK, struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 10, 0))
    typ, _, _, _, lpid = struct.unpack("hhqqi", fl)
    msg += " locked-by-parent" if typ == fcntl.F_WRLCK and lpid == os.getppid() else " F_GETLK:%d,%d" % (typ, lpid)
    os.write(w, msg.encode()); os.read(r2, 1)
    try:
        fcntl.lockf(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0); msg = " granted"
    except OSError as e:
        msg = " " + errno.errorcode[e.errno]
    os.write(w, msg.encode()); os._exit(0)
print(os.read(r, 100).decode(), end="")
fcntl.lockf(fd, fcntl.LOCK_UN, 10, 0); os.write(w2, b"g")
os.waitpid(pid, 0); print(os.read(r, 100).decode())' "$W/lk")"
	check_eq "[$L] flock conflict between open files -> EWOULDBLOCK, then granted" \
		"EAGAIN granted" "$(py '
a = os.open(A[0], os.O_RDWR); b = os.open(A[0], os.O_RDWR)
fcntl.flock(a, fcntl.LOCK_EX)
try:
    fcntl.flock(b, fcntl.LOCK_EX | fcntl.LOCK_NB); r = "granted-early"
except OSError as e:
    r = errno.errorcode[e.errno]
fcntl.flock(a, fcntl.LOCK_UN)
fcntl.flock(b, fcntl.LOCK_EX | fcntl.LOCK_NB)
print(r, "granted")' "$W/lk")"

	# ---- copy_file_range, truncate -------------------------------------------------------------
	head -c 300000 /dev/urandom >"$W/cfr-src"
	check_eq "[$L] copy_file_range copies the data (with offsets)" "ok" "$(py '
s = os.open(A[0], os.O_RDONLY); d = os.open(A[1], os.O_CREAT | os.O_WRONLY, 0o644)
done = 0
while done < 300000:
    n = os.copy_file_range(s, d, 300000 - done, done, done)
    if n == 0: break
    done += n
n = os.copy_file_range(s, d, 1000, 5, 300000)
os.close(s); os.close(d)
a, b = read_file(A[0]), read_file(A[1])
print("ok" if done == 300000 and n == 1000 and b == a + a[5:1005] else (done, n, len(b)))' \
		"$W/cfr-src" "$W/cfr-dst")"
	check_eq "[$L] truncate shrink and grow" "5 hello 10000 zeros" "$(py '
write_file(A[0], b"hello world")
os.truncate(A[0], 5); a = read_file(A[0])
fd = os.open(A[0], os.O_RDWR); os.ftruncate(fd, 10000); os.close(fd)
b = read_file(A[0])
print(len(a), a.decode(), len(b), "zeros" if b[5:] == bytes(9995) and b[:5] == a else "data")' "$W/tr")"

	# ---- special files ---------------------------------------------------------------------------
	check_eq "[$L] symlink and readlink" "../some/where link ok" "$(py '
os.symlink("../some/where", A[0])
os.symlink("app", A[1])
print(os.readlink(A[0]), "link" if stat.S_ISLNK(os.lstat(A[0]).st_mode) else "?",
      "ok" if os.stat(A[1]).st_ino == os.stat(A[2]).st_ino else "?")' \
		"$W/sl" "$W/sl2" "$W/app")"
	check_eq "[$L] mkfifo: a FIFO that carries data" "fifo through-fifo" "$(py '
os.mkfifo(A[0], 0o644)
kind = "fifo" if stat.S_ISFIFO(os.stat(A[0]).st_mode) else "?"
if os.fork() == 0:
    fd = os.open(A[0], os.O_WRONLY); os.write(fd, b"through-fifo"); os._exit(0)
fd = os.open(A[0], os.O_RDONLY); data = os.read(fd, 100); os.wait()
print(kind, data.decode())' "$W/fifo")"
	check_eq "[$L] mknod: character device and regular file" "chr 1 3 reg" "$(py '
os.mknod(A[0], stat.S_IFCHR | 0o600, os.makedev(1, 3))
os.mknod(A[1], stat.S_IFREG | 0o644)
st = os.stat(A[0])
print("chr" if stat.S_ISCHR(st.st_mode) else "?", os.major(st.st_rdev), os.minor(st.st_rdev),
      "reg" if stat.S_ISREG(os.stat(A[1]).st_mode) else "?")' "$W/chr" "$W/regnod")"

	check_eq "[$L] an ELF binary copied into the volume runs" "hello from the volume" \
		"$(cp /bin/echo "$W/echo" && "$W/echo" hello from the volume 2>&1)"
	check_eq "[$L] O_DIRECT write and read" "$(py "$odirect" "$R/odirect")" "$(py "$odirect" "$W/odirect")"
	check_eq "[$L] a large xattr value" "$(py "$bigxattr" "$R/bigx")" "$(py "$bigxattr" "$W/bigx")"

	# ---- times, modes, statfs, sync -------------------------------------------------------------
	: >"$W/tm"
	check_eq "[$L] utimensat with exact nanoseconds" "1234567890123456789 987654321987654321" "$(py '
os.utime(A[0], ns=(1234567890123456789, 987654321987654321))
st = os.stat(A[0]); print(st.st_atime_ns, st.st_mtime_ns)' "$W/tm")"
	touch -m -d @1500000000.5 "$W/tm"
	check_eq "[$L] touch -m leaves atime alone (UTIME_OMIT)" \
		"1234567890123456789 1500000000500000000" "$(py '
st = os.stat(A[0]); print(st.st_atime_ns, st.st_mtime_ns)' "$W/tm")"
	check_eq "[$L] chmod is visible in stat" "640 4750" "$(py '
os.chmod(A[0], 0o640); a = os.stat(A[0]).st_mode & 0o7777
os.chmod(A[0], 0o4750); b = os.stat(A[0]).st_mode & 0o7777
print(oct(a)[2:], oct(b)[2:])' "$W/tm")"
	check_eq "[$L] ctime moves on chmod" "later" "$(py '
a = os.stat(A[0]).st_ctime_ns; time.sleep(0.05); os.chmod(A[0], 0o600)
print("later" if os.stat(A[0]).st_ctime_ns > a else "same")' "$W/tm")"
	check_eq "[$L] fsync and fdatasync" "synced" "$(py '
fd = os.open(A[0], os.O_CREAT | os.O_RDWR, 0o644); os.write(fd, b"x"); os.fsync(fd); os.fdatasync(fd); os.close(fd)
d = os.open(os.path.dirname(A[0]), os.O_RDONLY); os.fsync(d); os.close(d); print("synced")' "$W/sync")"
	check_eq "[$L] statfs matches the file system underneath" \
		"$(py 's = os.statvfs(A[0]); print(s.f_frsize * s.f_blocks, s.f_namemax)' "$T")" \
		"$(py 's = os.statvfs(A[0]); print(s.f_frsize * s.f_blocks, s.f_namemax)' "$W")"
	check "[$L] df works on the volume" df "$W"
	check_eq "[$L] set-id bits and file capabilities after writes, truncates and chowns (helpers/setid.sh) as on a plain directory" \
		"$(bash "$HELPERS/setid.sh" "$R" 2>&1)" "$(bash "$HELPERS/setid.sh" "$W" 2>&1)"
	mkdir "$W/probe" "$R/probe"
	check_eq "[$L] edge cases (helpers/probe.py) answer as on a plain directory" \
		"$("$PY" "$HELPERS/probe.py" "$R/probe" 2>&1)" \
		"$("$PY" "$HELPERS/probe.py" "$W/probe" 2>&1)"
}

# ---- every operation registered: uncached I/O -------------------------------
add_filter U 380000
start_daemon "${FARGS[@]}"
suite uncached
check_match "[uncached] the filter saw reads" '^U post IRP_MJ_READ ' "$(grep -s -m1 '^U post IRP_MJ_READ ' "$FLOG")"
stop_daemon

# ---- only CREATE registered: cached I/O --------------------------------------
FLOG=$T/filters2.log
FARGS=()
add_filter K 380000 Operations=IRP_MJ_CREATE
start_daemon "${FARGS[@]}"
suite cached
check_match "[cached] the filter saw creates" '^K post IRP_MJ_CREATE \\cached\\' \
	"$(grep -s -m1 '^K post IRP_MJ_CREATE \\cached\\' "$FLOG")"
check_nomatch "[cached] the filter saw nothing but creates" \
	'^K (pre|post) IRP_MJ_[A-Z_]* ' "$(grep -sv 'IRP_MJ_CREATE ' "$FLOG" | grep -E '^K (pre|post) ')"
stop_daemon

# ---- the underlying directory -----------------------------------------------
for L in uncached cached; do
	check_eq "[$L] after stop: utimensat times on disk" "1234567890123456789 1500000000500000000" \
		"$(py 'st = os.stat(A[0]); print(st.st_atime_ns, st.st_mtime_ns)' "$VOL/$L/tm")"
	check_eq "[$L] after stop: copy_file_range result on disk" \
		"$(sha256sum <"$VOL/$L/cfr-src")" "$(head -c 300000 "$VOL/$L/cfr-dst" | sha256sum)"
	check_eq "[$L] after stop: hard link and symlink on disk" "1 ../some/where" \
		"$(stat -c %h "$VOL/$L/h2") $(readlink "$VOL/$L/sl")"
	check_eq "[$L] after stop: mmap data on disk" "mmapdata" "$(dd if="$VOL/$L/mm" bs=1 skip=100 count=8 2>/dev/null)"
	check_eq "[$L] after stop: non-UTF-8 name stored as the same bytes" "ok" "$(py '
n = b"\xff\xfe-latin1-\xe9.bin"; print("ok" if n in os.listdir(os.fsencode(A[0])) else "missing")' "$VOL/$L/names")"
done
