#!/usr/bin/env python3
"""Independent count of records left in EVTX chunk slack (oracle for
tests/evtx/evtx_recover_test.cpp; shares no code with vigil).

For every chunk (signature "ElfChnk\\0"), the live records are walked from
offset 512 up to the header's free-space offset (u32 at 48); after them, every
occurrence of the record signature 2a2a0000 whose size (u32 at +4) fits the
chunk and is repeated in the record's last 4 bytes is an intact slack record.
Prints one line per slack record:
  <path> TAB <file offset> TAB <record id> TAB <same|other>
where "same" means a live record of the same file has the same record id and
byte-identical contents after the 8-byte signature/size (a copy, not a new
event).

usage: slack_scan.py FILE_OR_DIR...
"""
import os
import struct
import sys


def u32(b, o):
    return struct.unpack_from("<I", b, o)[0]


def u64(b, o):
    return struct.unpack_from("<Q", b, o)[0]


def scan(path):
    d = open(path, "rb").read()
    live, slack = {}, []
    for ci in range((len(d) - 4096 + 65535) // 65536):
        base = 4096 + ci * 65536
        c = d[base:base + 65536]
        if c[:8] != b"ElfChnk\0":
            continue
        free, pos = u32(c, 48), 512
        while pos + 28 <= free and c[pos:pos + 4] == b"**\0\0":
            s = u32(c, pos + 4)
            if s < 28 or pos + s > free or u32(c, pos + s - 4) != s:
                break
            live.setdefault(u64(c, pos + 8), set()).add(c[pos + 8:pos + s])
            pos += s
        p = pos
        while True:
            p = c.find(b"**\0\0", p)
            if p < 0 or p + 28 > len(c):
                break
            s = u32(c, p + 4)
            if s >= 28 and p + s <= len(c) and u32(c, p + s - 4) == s:
                slack.append((base + p, u64(c, p + 8), c[p + 8:p + s]))
                p += s
            else:
                p += 1
    for off, rid, body in slack:
        print("%s\t%d\t%d\t%s" % (path, off, rid, "same" if body in live.get(rid, ()) else "other"))


def main():
    for arg in sys.argv[1:]:
        if os.path.isdir(arg):
            for root, _, files in sorted(os.walk(arg)):
                for f in sorted(files):
                    if f.endswith(".evtx"):
                        scan(os.path.join(root, f))
        else:
            scan(arg)


if __name__ == "__main__":
    main()
