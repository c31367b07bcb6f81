#!/usr/bin/python3
"""backup_fsck.py STORE [--leftovers] - check a backup store (daemon stopped).

STORE is one volume's store: catalog.db (SQLite), objects/xx/<name>, tmp/.
The invariant the filter promises (filters/backup/store.h):
  - PRAGMA integrity_check is "ok";
  - every catalog row names an object file that exists, is a regular file
    and has exactly the row's size;
  - every file in objects/xx/ is named by a row;
  - tmp/ is empty;
  - (path, version) is unique and versions count up from 1 per path.
Prints "rows R objects O tmp T bytes B" first, then one line per problem;
exit 0 when there is none, 1 otherwise.

--leftovers: instead print the number of items the filter's recovery must
remove (tmp files + objects without a row + rows without an object) and
exit 0; meant for a copy of a store left by a killed daemon.
"""
import os
import sqlite3
import sys


def main():
    store = sys.argv[1]
    leftovers = "--leftovers" in sys.argv[2:]
    problems = []
    db = sqlite3.connect(os.path.join(store, "catalog.db"))
    ic = db.execute("PRAGMA integrity_check").fetchall()
    if ic != [("ok",)]:
        problems.append("integrity_check: %r" % (ic,))
    rows = db.execute(
        "SELECT id, path, version, size, object FROM versions").fetchall()
    db.close()
    objdir = os.path.join(store, "objects")
    files = {}
    for sub in sorted(os.listdir(objdir)):
        d = os.path.join(objdir, sub)
        if not os.path.isdir(d):
            problems.append("stray entry in objects/: %s" % sub)
            continue
        for name in os.listdir(d):
            st = os.lstat(os.path.join(d, name))
            files[sub + "/" + name] = st
    tmp = sorted(os.listdir(os.path.join(store, "tmp")))
    named = set()
    missing = 0
    total = 0
    for rid, path, version, size, obj in rows:
        named.add(obj)
        total += size
        st = files.get(obj)
        if st is None:
            missing += 1
            problems.append("row %d (%s v%d): object %s missing" %
                            (rid, path, version, obj))
        elif not (st.st_mode & 0o170000 == 0o100000):
            problems.append("row %d: object %s is not a regular file" % (rid, obj))
        elif st.st_size != size:
            problems.append("row %d (%s v%d): object %s has %d bytes, row says %d" %
                            (rid, path, version, obj, st.st_size, size))
    orphans = sorted(set(files) - named)
    for o in orphans:
        problems.append("object %s has no row" % o)
    for t in tmp:
        problems.append("tmp/%s left over" % t)
    per_path = {}
    for rid, path, version, size, obj in rows:
        per_path.setdefault(path, []).append((rid, version))
    for path, vs in per_path.items():
        vs.sort()
        nums = [v for _, v in vs]
        if len(set(nums)) != len(nums):
            problems.append("%s: duplicate version numbers %s" % (path, nums))
        if nums != sorted(nums) or min(nums) < 1:
            problems.append("%s: version numbers not increasing with ids: %s" %
                            (path, nums))
    if leftovers:
        print(len(tmp) + len(orphans) + missing)
        return 0
    print("rows %d objects %d tmp %d bytes %d" % (len(rows), len(files), len(tmp), total))
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
