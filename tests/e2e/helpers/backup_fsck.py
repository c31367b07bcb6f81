#!/usr/bin/python3
"""backup_fsck.py STORE [--leftovers | --pending] [--staging FILE] - check
a backup store (daemon stopped).

STORE is one volume's store: catalog.db (SQLite), objects/xx/<name>, tmp/,
journal.0 and journal.1.  The invariant the filter promises after a clean
stop (filters/backup/store.h):
  - PRAGMA integrity_check is "ok";
  - every catalog row names an object file that exists, is a regular file
    and has exactly the row's size;
  - every file in objects/xx/ is named by a row;
  - tmp/ is empty and the journal files are empty;
  - (path, version) is unique and versions count up from 1 per path.
Prints "rows R objects O tmp T bytes B" first, then one line per problem;
exit 0 when there is none, 1 otherwise.

For a copy of a store left by a killed daemon:
--pending: print the number of captured versions the next start completes
  (a valid journal record whose object exists with the recorded size, has
  no row, and whose sequence number is above the catalog's committed_seq:
  a version committed once and evicted since stays gone), exit 0;
  with --staging FILE (the store's staging area in /dev/shm, as the
  killed daemon left it), a record whose content FILE holds (a published
  extent of that object and size) counts too, its object file or not;
--pending-staged: (with --staging) print how many of those the next start
  writes from FILE (those with a published extent), exit 0;
--leftovers: print the number of items the recovery must remove (tmp
  files + objects without a row or a pending record + rows without an
  object), exit 0.
"""
import os
import sqlite3
import struct
import sys
import zlib

# filters/backup/committer.c, struct bkj_rec: magic len crc path_len seq
# file_id time_ns size, 8 x u32, atime mtime, comm[16], object[64], path.
REC = struct.Struct("<IIIIQQqQ8Iqq16s64s")
MAGIC = 0x314A4B42


def journal_records(store):
    """(object, size, seq) of every valid record, both journal files."""
    out = []
    for name in ("journal.0", "journal.1"):
        try:
            data = open(os.path.join(store, name), "rb").read()
        except FileNotFoundError:
            continue
        off = 0
        while off + REC.size <= len(data):
            f = REC.unpack_from(data, off)
            magic, length, crc, plen = f[0], f[1], f[2], f[3]
            if magic != MAGIC or length != REC.size + plen or off + length > len(data):
                break
            if zlib.crc32(data[off + 12:off + length]) & 0xFFFFFFFF != crc:
                break
            out.append((f[19].split(b"\0")[0].decode(), f[7], f[4]))
            off += length
    return out


# filters/backup/staging.c: struct bkst_head at 0, BKST_SLOTS struct
# bkst_desc (state crc off len object[64]) from 4096; crc covers off, len
# and object.
STAGE_HEAD = struct.Struct("<IIQQQQ")
STAGE_DESC = struct.Struct("<IIQQ64s")
STAGE_MAGIC = 0x31545342
STAGE_FULL = 0x4C4C5546


def staged_objects(path):
    """{object: len} of the published extents of a staging file."""
    out = {}
    try:
        data = open(path, "rb").read()
    except FileNotFoundError:
        return out
    if len(data) < STAGE_HEAD.size:
        return out
    magic, slots, size, _dev, _ino, data_off = STAGE_HEAD.unpack_from(data, 0)
    if magic != STAGE_MAGIC or size != len(data):
        return out
    for i in range(slots):
        o = 4096 + i * STAGE_DESC.size
        state, crc, off, length, obj = STAGE_DESC.unpack_from(data, o)
        if state != STAGE_FULL:
            continue
        if zlib.crc32(data[o + 8:o + STAGE_DESC.size]) & 0xFFFFFFFF != crc:
            continue
        if off < data_off or off + length > size:
            continue
        out[obj.split(b"\0")[0].decode()] = length
    return out


def journal_bytes(store):
    n = 0
    for name in ("journal.0", "journal.1"):
        try:
            n += os.path.getsize(os.path.join(store, name))
        except FileNotFoundError:
            pass
    return n


def main():
    store = sys.argv[1]
    leftovers = "--leftovers" in sys.argv[2:]
    pending_only = "--pending" in sys.argv[2:]
    staged = {}
    if "--staging" in sys.argv[2:]:
        staged = staged_objects(sys.argv[sys.argv.index("--staging") + 1])
    problems = []
    db = sqlite3.connect(os.path.join(store, "catalog.db"))
    ic = db.execute("PRAGMA integrity_check").fetchall()
    if ic != [("ok",)]:
        problems.append("integrity_check: %r" % (ic,))
    rows = db.execute(
        "SELECT id, path, version, size, object FROM versions").fetchall()
    try:
        c = db.execute("SELECT value FROM meta WHERE key = 'committed_seq'").fetchall()
    except sqlite3.OperationalError:  # a catalog of before schema 3
        c = []
    committed = c[0][0] if c else -1
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
    pending = set()
    for obj, size, seq in journal_records(store):
        st = files.get(obj)
        complete = (st is not None and st.st_size == size) or staged.get(obj) == size
        if obj not in named and complete and seq > committed:
            pending.add(obj)
    orphans = sorted(set(files) - named - pending)
    for o in orphans:
        problems.append("object %s has no row" % o)
    for o in sorted(pending):
        problems.append("object %s has no row yet (a journal record)" % o)
    for t in tmp:
        problems.append("tmp/%s left over" % t)
    if journal_bytes(store):
        problems.append("the journal holds %d bytes" % journal_bytes(store))
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
    if pending_only:
        print(len(pending))
        return 0
    if "--pending-staged" in sys.argv[2:]:
        print(len([o for o in pending if o in staged]))
        return 0
    if leftovers:
        print(len(tmp) + len(orphans) + missing)
        return 0
    print("rows %d objects %d tmp %d bytes %d" % (len(rows), len(files), len(tmp), total))
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
