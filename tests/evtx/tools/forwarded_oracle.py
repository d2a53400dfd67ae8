#!/usr/bin/env python3
"""Independent oracle for EVTX records stored without templates (forwarded
events, WEC): walks the bytes of every live record and prints one JSON object
per record with the System fields (vigil's canonical names) and the EventData
name/value pairs, as tab-separated lines (tab, newline, backslash escaped):
  R <file offset> <record id>      a template-less record, then its fields:
  S <name> <value>                 System field
  D <name> <value>                 EventData field, in document order
  T <file offset> <record id>      a templated record (left to evtxexport) Shares no code with vigil: written from the BinXML layout
(libyal's EVTX format notes: token byte, element start = token, u32 data size,
u32 name offset -- no u16 dependency identifier outside templates -- inline
name = u32 next, u16 hash, u16 chars, UTF-16LE, u16 NUL). Only the tokens a
template-less record uses are handled; anything else aborts, so the oracle
never guesses.

TimeCreated is printed the way every vigil reader normalises it (ISO-8601 UTC
with exactly 6 fractional digits, truncated): Windows writes 7.

usage: forwarded_oracle.py FILE.evtx
"""
import struct
import sys

SYS_TEXT = {"EventID", "Version", "Level", "Task", "Opcode", "Keywords", "EventRecordID", "Channel", "Computer"}
SYS_ATTR = {("Provider", "Name"): "Provider", ("Provider", "Guid"): "ProviderGuid",
            ("TimeCreated", "SystemTime"): "TimeCreated", ("Correlation", "ActivityID"): "ActivityID",
            ("Execution", "ProcessID"): "ProcessID", ("Execution", "ThreadID"): "ThreadID",
            ("Security", "UserID"): "UserID"}
ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def u16(b, o):
    return struct.unpack_from("<H", b, o)[0]


def u32(b, o):
    return struct.unpack_from("<I", b, o)[0]


def esc(s):
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def six_digits(t):
    head, frac = t[:19], t[20:-1]
    return head + "." + (frac + "000000")[:6] + "Z"


def walk(c, p, end):
    """Returns a flat event list: ('open', name), ('attr', name), ('content',), ('text', s), ('close',)."""
    ev = []

    def name_at(off, p):
        n = u16(c, off + 6)
        s = c[off + 8:off + 8 + 2 * n].decode("utf-16le")
        return s, (p + 8 + 2 * n + 2 if off == p else p)

    while p < end:
        t = c[p]
        k = t & 0xBF
        if k == 0x00:
            break
        if k == 0x0F:
            p += 4
        elif k == 0x01:
            nm, p = name_at(u32(c, p + 5), p + 9)
            if t & 0x40:
                p += 4
            ev.append(("open", nm))
        elif k == 0x02:
            ev.append(("content",))
            p += 1
        elif k in (0x03, 0x04):
            ev.append(("close",))
            p += 1
        elif k == 0x06:
            nm, p = name_at(u32(c, p + 1), p + 5)
            ev.append(("attr", nm))
        elif k == 0x05:
            if c[p + 1] != 0x01:
                raise SystemExit("value type %#x at %#x: not handled by this oracle" % (c[p + 1], p))
            n = u16(c, p + 2)
            ev.append(("text", c[p + 4:p + 4 + 2 * n].decode("utf-16le")))
            p += 4 + 2 * n
        elif k == 0x09:
            nm, p = name_at(u32(c, p + 1), p + 5)
            ev.append(("text", ENTITIES[nm]))
        else:
            raise SystemExit("token %#x at %#x: not handled by this oracle" % (t, p))
    return ev


def main():
    d = open(sys.argv[1], "rb").read()
    for ci in range((len(d) - 4096 + 65535) // 65536):  # a last partial chunk too
        base = 4096 + ci * 65536
        c = d[base:base + 65536]
        if c[:8] != b"ElfChnk\0":
            continue
        free, pos = u32(c, 48), 512
        while pos + 24 <= free and c[pos:pos + 4] == b"**\0\0":
            size = u32(c, pos + 4)
            rid = struct.unpack_from("<Q", c, pos + 8)[0]
            if c[pos + 24] == 0x0F and c[pos + 28] == 0x0C:
                print("T\t%d\t%d" % (base + pos, rid))
                pos += size
                continue
            ev = walk(c, pos + 24, pos + size - 4)
            system, data = {}, []
            stack, cur_attr, attr_text, elem_text, data_name = [], None, "", [], None

            def end_attr():
                nonlocal cur_attr, attr_text, data_name
                if cur_attr is None:
                    return
                el = stack[-1]
                if len(stack) == 3 and stack[1] == "System" and (el, cur_attr) in SYS_ATTR and attr_text:
                    system[SYS_ATTR[(el, cur_attr)]] = attr_text
                if len(stack) == 3 and stack[1] == "EventData" and el == "Data" and cur_attr == "Name":
                    data_name = attr_text
                cur_attr, attr_text = None, ""

            for e in ev:
                if e[0] == "open":
                    end_attr()
                    stack.append(e[1])
                    elem_text.append("")
                elif e[0] == "attr":
                    end_attr()
                    cur_attr = e[1]
                elif e[0] == "content":
                    end_attr()
                elif e[0] == "text":
                    if cur_attr is not None:
                        attr_text += e[1]
                    else:
                        elem_text[-1] += e[1]
                else:
                    end_attr()
                    el, txt = stack[-1], elem_text[-1]
                    if len(stack) == 3 and stack[1] == "System" and el in SYS_TEXT and txt:
                        system[el] = txt
                    if len(stack) == 3 and stack[1] == "EventData":
                        data.append([data_name if el == "Data" and data_name is not None else el, txt])
                        data_name = None
                    stack.pop()
                    elem_text.pop()
            if "TimeCreated" in system:
                system["TimeCreated"] = six_digits(system["TimeCreated"])
            print("R\t%d\t%d" % (base + pos, rid))
            for k in sorted(system):
                print("S\t%s\t%s" % (esc(k), esc(system[k])))
            for k, v in data:
                print("D\t%s\t%s" % (esc(k), esc(v)))
            pos += size


if __name__ == "__main__":
    main()
