#!/usr/bin/env python3
"""Write the ESCU endpoint searches as seeds for the search fuzz target (one query per file).

The target compiles with vigil's built-in macros only, so the content macros are stubbed as
tests/fuzz_replay does: `security_content_summariesonly` goes, `security_content_ctime(f)` becomes
`convert ctime(f)`, `drop_dm_object_name(...)` (built in) stays, any other becomes `search *`.
Only the single-quoted `search:` scalars are read (nearly all of them), with the standard library
alone. Usage: make_search_seeds.py SHARED_DIR OUT_DIR (OUT_DIR under build-fuzz/, never the repo).
"""
import glob, os, re, sys

shared, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)


def single_quoted(lines, i, text):
    """The scalar that starts after the opening quote in `text` (line i): '' is a quote, a line
    break folds to a space."""
    pieces = []
    while True:
        cur, k = "", 0
        while k < len(text):
            if text[k] == "'":
                if text[k + 1:k + 2] == "'":
                    cur += "'"
                    k += 2
                    continue
                pieces.append(cur)
                return " ".join(p.strip() for p in pieces)
            cur += text[k]
            k += 1
        pieces.append(cur)
        i += 1
        if i >= len(lines):
            return None
        text = lines[i]


def stub(q):
    def one(m):
        name = m.group(1)
        if name.startswith("security_content_ctime(") and name.endswith(")"):
            return "convert ctime(" + name[len("security_content_ctime("):]
        if name.startswith("drop_dm_object_name"):
            return m.group(0)
        if name.startswith("security_content_summariesonly"):
            return ""
        return "search *"
    return re.sub(r"`([^`]*)`", one, q)


n = 0
for path in sorted(glob.glob(os.path.join(shared, "corpus/security_content/detections/endpoint/*.yml"))):
    lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
    for i, line in enumerate(lines):
        if line.startswith("search: '"):
            q = single_quoted(lines, i, line[len("search: '"):])
            if q and len(q) <= 4096:
                with open(os.path.join(out, "%04d.spl" % n), "w") as f:
                    f.write(stub(q))
                n += 1
            break
print("%d seeds in %s" % (n, out))
