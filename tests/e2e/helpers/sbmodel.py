#!/usr/bin/python3
"""sbmodel.py VOLFILE MODELFILE SEED OPS - random I/O on a file through the
volume and on a model file outside it, the same operations on both:
unaligned pwrite (some past the end, leaving gaps), pread compared
against the model, appends through an O_APPEND descriptor, truncates
that shrink and extend, and mmap writes.  Prints "ok" or the first
difference; exits 1 on a difference."""
import mmap
import os
import random
import sys

vol_path, model_path, seed, nops = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rnd = random.Random(seed)
fds = [os.open(p, os.O_RDWR | os.O_CREAT, 0o644) for p in (vol_path, model_path)]
apps = [os.open(p, os.O_WRONLY | os.O_APPEND) for p in (vol_path, model_path)]


def size():
    return os.fstat(fds[1]).st_size


def fail(what):
    print("difference after %s" % what)
    sys.exit(1)


for i in range(nops):
    op = rnd.random()
    end = size()
    if op < 0.45:
        off = rnd.randrange(0, end + 20000)
        data = rnd.randbytes(rnd.randrange(1, 9000))
        for fd in fds:
            os.pwrite(fd, data, off)
        what = "pwrite %d+%d" % (off, len(data))
    elif op < 0.75:
        off = rnd.randrange(0, end + 100)
        n = rnd.randrange(1, 12000)
        a, b = (os.pread(fd, n, off) for fd in fds)
        if a != b:
            fail("pread %d+%d (op %d)" % (off, n, i))
        continue
    elif op < 0.85:
        data = rnd.randbytes(rnd.randrange(1, 5000))
        for fd in apps:
            os.write(fd, data)
        what = "append %d" % len(data)
    elif op < 0.95:
        new = rnd.randrange(0, end + 30000)
        for fd in fds:
            os.ftruncate(fd, new)
        what = "truncate %d" % new
    else:
        if end < 2:
            continue
        off = rnd.randrange(0, end - 1)
        n = min(rnd.randrange(1, 6000), end - off)
        data = rnd.randbytes(n)
        for fd in fds:
            m = mmap.mmap(fd, end)
            m[off:off + n] = data
            m.flush()
            m.close()
        what = "mmap write %d+%d" % (off, n)
    if os.fstat(fds[0]).st_size != size():
        fail(what + ": sizes %d %d" % (os.fstat(fds[0]).st_size, size()))
for fd in fds + apps:
    os.close(fd)
print("ok")
