#!/usr/bin/python3
"""ctl.py - speaks fltmgrd's control protocol (src/control/proto.h) directly,
so tests can drive the daemon independently of libfltlib and fltmc.

    ctl.py RUNTIME_DIR OP [ARGS...]      prints the NTSTATUS (0x%08X) and
                                         any reply fields, one per line
    ctl.py RUNTIME_DIR churn N FILTER VOLUME SERVICE
                                         N cycles of attach-at-altitude,
                                         detach, load SERVICE, unload SERVICE;
                                         prints failures and a summary
"""
import socket
import struct
import sys

OPS = {"load": 1, "unload": 2, "attach": 3, "detach": 4, "filters": 5,
       "instances": 6, "volumes": 7, "volume-add": 8, "volume-remove": 9,
       "install": 10, "uninstall": 11, "services": 12}
MAGIC = 0x434C5441
# Fields each request carries; optional strings are sent empty.
ARITY = {"attach": 4, "detach": 3, "instances": 2}


class Ctl:
    def __init__(self, rundir):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.s.connect(rundir + "/control")
        self.seq = 0

    def raw(self, packet):
        self.s.send(packet)
        r = self.s.recv(65536)
        return struct.unpack("<IHHIIi", r[:20]), r[20:]

    def req(self, op, *strs, body=b""):
        self.seq += 1
        for x in strs:
            b = x.encode()
            body += struct.pack("<H", len(b)) + b
        hdr = struct.pack("<IHHIIi", MAGIC, 1, op, 20 + len(body), self.seq, 0)
        (magic, ver, rop, ln, seq, st), rest = self.raw(hdr + body)
        assert magic == MAGIC and seq == self.seq and ln == 20 + len(rest)
        return st & 0xFFFFFFFF, rest


def fields(body, op):
    """Decodes enumeration replies into printable lines."""
    out, p = [], 0

    def s():
        nonlocal p
        n = struct.unpack_from("<H", body, p)[0]
        v = body[p + 2:p + 2 + n].decode()
        p += 2 + n
        return v

    def u():
        nonlocal p
        v = struct.unpack_from("<I", body, p)[0]
        p += 4
        return v
    if op in (5, 6, 7, 12):
        for _ in range(u()):
            if op == 5:
                out.append("%s %s %d" % (s(), s(), u()) + ("", u(), u())[0])
            elif op == 6:
                out.append("%s %s %s %s frame=%d flags=0x%x fs=%d" %
                           (s(), s(), s(), s(), u(), u(), u()))
            elif op == 7:
                out.append("%s %s fs=%d flags=%d %s" % (s(), s(), u(), u(), s()))
            else:
                out.append("%s %s start=%d group=%s altitude=%s" %
                           (s(), s(), u(), s(), s()))
    elif op == 3 and body:
        out.append(s())
    return out


def main():
    rundir, op = sys.argv[1], sys.argv[2]
    c = Ctl(rundir)
    if op == "churn":
        n, flt, vol, svc = int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
        bad = 0
        for i in range(n):  # noqa: churn sends every field itself
            alt = "39%04d" % (i % 10000)
            for step, args in (("attach", (flt, vol, "churn", alt)),
                               ("detach", (flt, vol, "churn")),
                               ("load", (svc,)), ("unload", (svc,))):
                st, _ = c.req(OPS[step], *args)
                if st:
                    bad += 1
                    print("cycle %d %s: 0x%08X" % (i, step, st))
        print("churn: %d cycles, %d failures" % (n, bad))
        sys.exit(1 if bad else 0)
    if op == "raw":
        (_, _, _, _, _, st), _ = c.raw(bytes.fromhex(sys.argv[3]))
        print("0x%08X" % (st & 0xFFFFFFFF))
        return
    if op == "install":
        text = open(sys.argv[4]).read().encode()
        name = sys.argv[3].encode()
        body = struct.pack("<H", len(name)) + name + struct.pack("<H", len(text)) + text
        st, rest = c.req(10, body=body)
    else:
        args = sys.argv[3:]
        args += [""] * (ARITY.get(op, 0) - len(args))
        st, rest = c.req(OPS[op], *args)
    print("0x%08X" % st)
    for line in fields(rest, OPS[op]):
        print(line)


if __name__ == "__main__":
    main()
