#!/usr/bin/env python3
"""Generate small EVTX fuzz seeds into fuzz/corpus/evtx/.

Each seed is built from a sample's file header and first chunk, cut down to
its first N records (free-space and last-record offsets patched, header and
data CRCs recomputed) so that it is a small *valid* file, plus mutated
variants (truncated, zeroed ranges, flipped bytes) that exercise the damage
paths; the same for the template-less (forwarded) sample, and one file that
mixes a templated and a template-less record in one chunk. Usage: make_evtx_seeds.py SHARED_DIR OUT_DIR
"""
import os, random, struct, sys, zlib

shared, out = sys.argv[1], sys.argv[2]
samples = [
    "data/evtx-attack-samples/Defense Evasion/Win_4985_T1186_Process_Doppelganging.evtx",
    "data/evtx-attack-samples/Command and Control/bits_openvpn.evtx",
    "data/evtx-attack-samples/Credential Access/etw_rpc_zerologon.evtx",
    "data/evtx-attack-samples/Execution/rogue_msi_url_1040_1042.evtx",
]
os.makedirs(out, exist_ok=True)
rng = random.Random(20240601)


def shrink(b, nrec):
    hdr = bytearray(b[:4096])
    ch = bytearray(b[4096:4096 + 65536])
    pos, last = 512, 512
    for _ in range(nrec):
        if ch[pos:pos + 4] != b"**\0\0":
            break
        size = struct.unpack_from("<I", ch, pos + 4)[0]
        last, pos = pos, pos + size
    ch = ch[:pos]
    struct.pack_into("<I", ch, 44, last)  # last record offset
    struct.pack_into("<I", ch, 48, pos)   # free space offset
    struct.pack_into("<I", ch, 52, zlib.crc32(bytes(ch[512:pos])))
    struct.pack_into("<I", ch, 124, zlib.crc32(bytes(ch[:120]) + bytes(ch[128:512])))
    struct.pack_into("<H", hdr, 42, 1)    # one chunk
    struct.pack_into("<I", hdr, 124, zlib.crc32(bytes(hdr[:120])))
    return bytes(hdr + ch)


n = 0
def write(name, data):
    global n
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
    n += 1

for i, rel in enumerate(samples):
    b = open(os.path.join(shared, rel), "rb").read()
    for nrec in (1, 3):
        s = shrink(b, nrec)
        write(f"seed_{i}_{nrec}rec.evtx", s)
        write(f"trunc_{i}_{nrec}rec.evtx", s[: 4096 + 512 + (len(s) - 4608) // 2])
        z = bytearray(s); z[4608 + 40: 4608 + 140] = bytes(100); write(f"zeroed_{i}_{nrec}rec.evtx", bytes(z))
        for k in range(3):
            m = bytearray(s)
            for _ in range(8):
                m[rng.randrange(4608, len(m))] ^= 1 << rng.randrange(8)
            write(f"flip_{i}_{nrec}rec_{k}.evtx", bytes(m))

# Template-less (forwarded, WEC) records: element starts without the u16
# dependency identifier, names inline, values as typed text tokens.
FWD = "data/evtx-forwarded/defender_1116_1117_forwarded.evtx"


def relocate_bare(rec, old_pos, new_pos):
    """Copy of a template-less record moved from chunk offset old_pos to
    new_pos: every name offset (element, attribute, entity) that points into
    the record itself shifts."""
    r = bytearray(rec)
    delta = new_pos - old_pos
    p, end = 24, len(r) - 4
    def name(field, after):
        off = struct.unpack_from("<I", r, field)[0]
        if old_pos <= off < old_pos + len(r):  # defined in this record (here or earlier)
            struct.pack_into("<I", r, field, off + delta)
        if off == old_pos + after:  # defined inline right here: skip over it
            return after + 8 + 2 * struct.unpack_from("<H", r, after + 6)[0] + 2
        return after
    while p < end:
        t = r[p] & 0xBF
        if t == 0x00: break
        elif t == 0x0F: p += 4
        elif t == 0x01:
            more = r[p] & 0x40
            p = name(p + 5, p + 9) + (4 if more else 0)
        elif t in (0x02, 0x03, 0x04): p += 1
        elif t in (0x06, 0x09): p = name(p + 1, p + 5)
        elif t == 0x05: p += 4 + 2 * struct.unpack_from("<H", r, p + 2)[0]
        else: raise SystemExit("unexpected token %#x" % t)
    return bytes(r)


def append_record(seed, rec, rec_id):
    """A valid one-chunk file: `seed` (a shrink() result) plus `rec` at its end."""
    hdr, ch = bytearray(seed[:4096]), bytearray(seed[4096:])
    pos = len(ch)
    r = bytearray(rec)
    struct.pack_into("<Q", r, 8, rec_id)
    ch += r
    struct.pack_into("<Q", ch, 16, rec_id)   # last record number (file)
    struct.pack_into("<Q", ch, 32, rec_id)   # last record number (log)
    struct.pack_into("<I", ch, 44, pos)
    struct.pack_into("<I", ch, 48, len(ch))
    struct.pack_into("<I", ch, 52, zlib.crc32(bytes(ch[512:])))
    struct.pack_into("<I", ch, 124, zlib.crc32(bytes(ch[:120]) + bytes(ch[128:512])))
    struct.pack_into("<Q", hdr, 24, rec_id + 1)
    struct.pack_into("<I", hdr, 124, zlib.crc32(bytes(hdr[:120])))
    return bytes(hdr + ch)


fb = open(os.path.join(shared, FWD), "rb").read()
for nrec in (1, 2):
    s = shrink(fb, nrec)
    write(f"fwd_{nrec}rec.evtx", s)
    write(f"fwd_trunc_{nrec}rec.evtx", s[: 4096 + 512 + (len(s) - 4608) // 2])
    for k in range(4):
        m = bytearray(s)
        for _ in range(8):
            m[rng.randrange(4608, len(m))] ^= 1 << rng.randrange(8)
        write(f"fwd_flip_{nrec}rec_{k}.evtx", bytes(m))
# Mixed layouts in one chunk: a templated record, then forwarded record 1
# moved behind it (tests/evtx/evtx_forwarded_test.cpp reads this one; padded
# to a whole chunk because evtxexport, its oracle for the templated record,
# ignores a partial chunk).
first_fwd = fb[4608:4608 + struct.unpack_from("<I", fb, 4608 + 4)[0]]
templated = shrink(open(os.path.join(shared, samples[0]), "rb").read(), 1)
tail = len(templated) - 4096
write("mixed_templated_forwarded.evtx",
      append_record(templated, relocate_bare(first_fwd, 512, tail),
                    struct.unpack_from("<Q", templated, 4096 + 512 + 8)[0] + 1).ljust(4096 + 65536, b"\0"))
# Recovery layouts (vigil --recover): records left in slack (the free-space
# offset moved back over the last two), a chunk the clean file header no
# longer counts, and a chunk whose signature is gone.
def fix_crcs(b, free):
    hdr, ch = bytearray(b[:4096]), bytearray(b[4096:])
    struct.pack_into("<I", ch, 48, free)
    struct.pack_into("<I", ch, 52, zlib.crc32(bytes(ch[512:free])))
    struct.pack_into("<I", ch, 124, zlib.crc32(bytes(ch[:120]) + bytes(ch[128:512])))
    struct.pack_into("<I", hdr, 124, zlib.crc32(bytes(hdr[:120])))
    return bytes(hdr + ch)


for i, rel in enumerate(samples[:2]):
    s3 = shrink(open(os.path.join(shared, rel), "rb").read(), 3)
    first_end = 4096 + 512 + struct.unpack_from("<I", s3, 4096 + 512 + 4)[0]
    write(f"slack_{i}.evtx", fix_crcs(s3, first_end - 4096))
    u = bytearray(s3); struct.pack_into("<H", u, 42, 0); struct.pack_into("<I", u, 120, 0)
    write(f"unlisted_{i}.evtx", fix_crcs(bytes(u), struct.unpack_from("<I", s3, 4096 + 48)[0]))
    z = bytearray(s3); z[4096:4104] = bytes(8); write(f"nosig_{i}.evtx", bytes(z))
write("header_only.evtx", shrink(open(os.path.join(shared, samples[0]), "rb").read(), 0)[:4096])
write("signature_only.evtx", b"ElfFile\0")
print(f"{n} seeds in {out}")
