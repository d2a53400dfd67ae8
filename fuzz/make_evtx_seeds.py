#!/usr/bin/env python3
"""Generate small EVTX fuzz seeds into fuzz/corpus/evtx/.

Each seed is built from a sample's file header and first chunk, cut down to
its first N records (free-space and last-record offsets patched, header and
data CRCs recomputed) so that it is a small *valid* file, plus mutated
variants (truncated, zeroed ranges, flipped bytes) that exercise the damage
paths. Usage: make_evtx_seeds.py SHARED_DIR OUT_DIR
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
write("header_only.evtx", shrink(open(os.path.join(shared, samples[0]), "rb").read(), 0)[:4096])
write("signature_only.evtx", b"ElfFile\0")
print(f"{n} seeds in {out}")
