#!/usr/bin/python3
"""probe.py DIR - edge cases of POSIX calls, one result per line.

The tests run it on a plain directory and on a volume and compare the two
outputs: whatever the plain file system answers (a value or an errno), the
volume must answer too.  It runs as root and as ordinary users.
"""
import errno
import os
import sys


def r(label, f):
    try:
        v = f()
    except OSError as e:
        v = "ERR " + errno.errorcode[e.errno]
    print(label, v)


def main():
    os.chdir(sys.argv[1])
    with open("f", "w") as f:
        f.write("hello")
    os.mkdir("d")
    os.mkdir("d/s1")
    os.mkdir("d/s2")
    os.symlink("f", "l")
    os.symlink("nowhere", "dl")

    r("dir nlink", lambda: os.stat("d").st_nlink)
    r("symlink size", lambda: os.lstat("l").st_size)
    r("symlink mode", lambda: oct(os.lstat("l").st_mode))
    r("lchown", lambda: (os.lchown("l", os.getuid(), os.getgid()),
                         os.lstat("l").st_uid, os.stat("l").st_uid))
    r("utime nofollow", lambda: (os.utime("l", ns=(5, 7), follow_symlinks=False),
                                 os.lstat("l").st_mtime_ns,
                                 os.stat("l").st_mtime_ns != 7))
    r("xattr on symlink",
      lambda: os.setxattr("l", "user.x", b"1", follow_symlinks=False))
    r("trusted xattr",
      lambda: (os.setxattr("f", "trusted.t", b"1"), os.getxattr("f", "trusted.t")))
    r("xattr list", lambda: sorted(os.listxattr("f")))
    r("missing xattr", lambda: os.getxattr("f", "user.none"))
    r("xattr bad namespace", lambda: os.setxattr("f", "bogus.x", b"1"))
    r("rename to itself", lambda: (os.rename("f", "f"), open("f").read()))
    r("rename into own subdir", lambda: os.rename("d", "d/s1/x"))
    r("rename dir over its parent", lambda: os.rename("d/s1", "d"))
    r("rmdir dot", lambda: os.rmdir("d/."))
    r("O_PATH fstat", lambda: os.fstat(os.open("f", os.O_PATH)).st_size)
    r("dangling stat", lambda: os.stat("dl"))
    r("O_NOFOLLOW on a symlink", lambda: os.open("l", os.O_RDONLY | os.O_NOFOLLOW))
    r("O_CREAT through a dangling symlink",
      lambda: (os.close(os.open("dl", os.O_CREAT | os.O_WRONLY, 0o644)),
               os.path.exists("nowhere")))
    r("O_CREAT|O_EXCL on a symlink",
      lambda: os.open("l", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    r("readlink of a file", lambda: os.readlink("f"))
    r("unlink a directory", lambda: os.unlink("d"))
    r("rmdir a file", lambda: os.rmdir("f"))
    r("mkdir under a file", lambda: os.mkdir("f/x"))
    r("open file/ as a directory", lambda: os.open("f/", os.O_RDONLY))
    r("blocks", lambda: os.stat("f").st_blocks)
    r("chmod through a symlink", lambda: (os.chmod("l", 0o600), oct(os.stat("f").st_mode)))
    r("write on O_RDONLY fd", lambda: os.write(os.open("f", os.O_RDONLY), b"x"))
    r("read on O_WRONLY fd", lambda: os.read(os.open("f", os.O_WRONLY), 1))
    r("pread past EOF", lambda: os.pread(os.open("f", os.O_RDONLY), 10, 1 << 20))
    r("negative truncate", lambda: os.truncate("f", -1))

    fd = os.open("f", os.O_RDWR)
    os.unlink("f")
    r("ftruncate unlinked", lambda: (os.ftruncate(fd, 2), os.fstat(fd).st_size,
                                     os.pread(fd, 10, 0)))
    r("fchmod unlinked", lambda: (os.fchmod(fd, 0o640), oct(os.fstat(fd).st_mode)))
    r("fsetxattr unlinked",
      lambda: (os.setxattr(fd, "user.y", b"2"), os.getxattr(fd, "user.y")))
    r("futimens unlinked", lambda: (os.utime(fd, ns=(1, 2)), os.fstat(fd).st_mtime_ns))
    r("nlink unlinked", lambda: os.fstat(fd).st_nlink)
    os.close(fd)

    r("mkfifo over a directory", lambda: os.mkfifo("d"))
    r("listdir", lambda: sorted(os.listdir(".")))
    r("dotdot", lambda: os.stat("d/s1/..").st_ino == os.stat("d").st_ino)
    r("chdir and getcwd", lambda: (os.chdir("d/s1"), os.getcwd().endswith("/d/s1"),
                                   os.chdir("../..")))
    r("access X_OK", lambda: os.access("nowhere", os.X_OK))
    r("access W_OK", lambda: os.access("nowhere", os.W_OK))
    r("namemax", lambda: os.statvfs(".").f_namemax)


if __name__ == "__main__":
    main()
