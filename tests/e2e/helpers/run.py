#!/usr/bin/python3
"""run.py CODE [ARG...] - run a Python snippet for a shell test.

The snippet sees A (the arguments), the modules below, and a few helpers.
An OSError ends it and prints the errno's name (EACCES, ENOENT ...) on
stdout, so a test compares one word instead of parsing a traceback; any
other exception is a test bug and exits 2 with the traceback.
"""
import ctypes
import ctypes.util
import errno
import fcntl
import mmap
import os
import stat
import struct
import sys
import time
import traceback

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)

AT_FDCWD = -100
RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2


def _check(ret):
    if ret < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return ret


def renameat2(old, new, flags):
    """renameat2(2), which the os module lacks."""
    return _check(_libc.renameat2(AT_FDCWD, os.fsencode(old), AT_FDCWD,
                                  os.fsencode(new), ctypes.c_uint(flags)))


def fallocate(fd, mode, offset, length):
    """fallocate(2) itself: os.posix_fallocate may silently emulate it."""
    _libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int,
                                ctypes.c_int64, ctypes.c_int64]
    return _check(_libc.fallocate(fd, mode, offset, length))


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def write_file(path, data, mode="wb"):
    with open(path, mode) as f:
        f.write(data)


def main():
    code = sys.argv[1]
    env = dict(globals())
    env["A"] = sys.argv[2:]
    try:
        exec(compile(code, "<snippet>", "exec"), env)
    except OSError as e:
        sys.stdout.flush()
        print(errno.errorcode.get(e.errno, str(e.errno)))
    except Exception:
        traceback.print_exc()
        sys.exit(2)


if __name__ == "__main__":
    main()
