#!/usr/bin/python3
"""stress.py DIR WORKERS SECONDS - concurrent file traffic in DIR.

Each worker process loops for SECONDS: writes a self-checking file (a
header with the SHA-256 of its body) and renames it over one of a few
shared names, reads shared names back, hard-links and unlinks, makes and
removes directories, lists the directory, appends to a shared log with
O_APPEND.  Races between workers may legitimately make a name vanish
(ENOENT) or a directory non-empty; anything else is an error, and so is a
file that reads back torn.  Prints "ok <operations>" or the first problems.
"""
import errno
import hashlib
import os
import random
import sys
import time

SHARED = 6
RACY = {errno.ENOENT, errno.ENOTEMPTY, errno.EEXIST}


def payload(rng):
    body = rng.randbytes(rng.choice((0, 1, 100, 4095, 4096, 4097, 70000, 200000)))
    return hashlib.sha256(body).hexdigest().encode() + b"\n" + body


def intact(data):
    head, _, body = data.partition(b"\n")
    return hashlib.sha256(body).hexdigest().encode() == head


def worker(d, k, seconds):
    rng = random.Random(k)
    deadline = time.monotonic() + seconds
    ops, problems = 0, []
    log = os.open(os.path.join(d, "append.log"), os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644)
    while time.monotonic() < deadline and len(problems) < 5:
        ops += 1
        tmp = os.path.join(d, "tmp-%d-%d" % (k, ops))
        shared = os.path.join(d, "shared-%d" % rng.randrange(SHARED))
        try:
            op = rng.randrange(7)
            if op == 0:
                with open(tmp, "wb") as f:
                    f.write(payload(rng))
                os.rename(tmp, shared)
            elif op == 1:
                with open(shared, "rb") as f:
                    data = f.read()
                if not intact(data):
                    problems.append("torn read of %s (%d bytes)" % (shared, len(data)))
            elif op == 2:
                link = os.path.join(d, "link-%d-%d" % (k, ops))
                os.link(shared, link)
                with open(link, "rb") as f:
                    if not intact(f.read()):
                        problems.append("torn read through a new link")
                os.unlink(link)
            elif op == 3:
                sub = os.path.join(d, "dir-%d" % rng.randrange(4))
                os.mkdir(sub)
                with open(os.path.join(sub, "f"), "wb") as f:
                    f.write(b"x")
                os.unlink(os.path.join(sub, "f"))
                os.rmdir(sub)
            elif op == 4:
                names = os.listdir(d)
                if len(names) != len(set(names)):
                    problems.append("duplicate names in listdir")
            elif op == 5:
                line = ("%02d %08d " % (k, ops)).encode() + b"y" * 50 + b"\n"
                os.write(log, line)
            else:
                with open(tmp, "wb") as f:
                    f.write(b"z" * rng.randrange(1, 9000))
                os.truncate(tmp, rng.randrange(0, 9000))
                os.unlink(tmp)
        except OSError as e:
            if e.errno not in RACY:
                problems.append("%s: %s" % (errno.errorcode.get(e.errno, e.errno), e))
        finally:
            if os.path.lexists(tmp):
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
    os.close(log)
    return ops, problems


def main():
    d, workers, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    pipes = []
    for k in range(workers):
        r, w = os.pipe()
        if os.fork() == 0:
            os.close(r)
            ops, problems = worker(d, k, seconds)
            os.write(w, ("%d\n" % ops + "\n".join(problems)).encode())
            os._exit(0)
        os.close(w)
        pipes.append(r)
    total, problems = 0, []
    for r in pipes:
        chunks = []
        while True:
            b = os.read(r, 65536)
            if not b:
                break
            chunks.append(b)
        lines = b"".join(chunks).decode().split("\n")
        total += int(lines[0]) if lines[0] else 0
        problems += [l for l in lines[1:] if l]
        if not lines[0]:
            problems.append("a worker died")
    while True:
        try:
            os.wait()
        except ChildProcessError:
            break
    for name in os.listdir(d):
        if name.startswith("shared-"):
            with open(os.path.join(d, name), "rb") as f:
                if not intact(f.read()):
                    problems.append("torn file %s at the end" % name)
    with open(os.path.join(d, "append.log"), "rb") as f:
        bad = [l for l in f.read().split(b"\n")[:-1] if len(l) != 62]
    if bad:
        problems.append("%d torn lines in append.log" % len(bad))
    print("ok %d" % total if not problems else "\n".join(problems[:10]))


if __name__ == "__main__":
    main()
