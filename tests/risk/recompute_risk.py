#!/usr/bin/env python3
"""Independent recomputation of vigil's risk-based alerting from the findings JSONL alone.

Runs `vigil hunt --incidents --risk-out` over a log set (with the rule corpora given), then
recomputes, without vigil's code and from the first-pass findings only:
  1. the risk events (one per risk object of each finding; Sigma objects from host/user fields),
     compared with --risk-out as a multiset;
  2. the two incident rules (score > 100 per object per 24-hour bucket; >= 3 distinct tactics and
     >= 4 distinct sources per object per 7-day bucket; buckets are floor(_time / span) * span);
  3. ESCU's 13 Correlation rules over Risk.All_Risk, translated by hand from their SPL below
     (Splunk semantics: case-insensitive `=` and `*` wildcards, a multivalue field matches when any
     value does, a multivalue BY field splits an event into one group per value, an event whose BY
     field is null is left out);
and requires exact agreement with the Correlation findings vigil wrote. With --threads-check it
also requires identical output for --threads 1 and --threads 2.

Exit 0 when everything agrees; prints the differences and exits 1 otherwise.
"""
import argparse
import collections
import json
import math
import os
import re
import subprocess
import sys
import tempfile
from datetime import datetime, timezone

NULLS = {"", "-", "null", "NULL"}
USER_TYPES = {"user", "username", "user name", "email address", "email"}
SYSTEM_TYPES = {"system", "hostname", "ip address", "endpoint", "device", "host", "ip"}


def object_type(t):
    t = (t or "").lower()
    return "user" if t in USER_TYPES else "system" if t in SYSTEM_TYPES else "other"


def load_tactics(attack_path):
    """display name -> (TA id, short name), from ATT&CK's STIX bundle or vigil's simple table."""
    with open(attack_path) as f:
        data = json.load(f)
    out = {}
    for o in data.get("objects", []):
        if o.get("type") == "x-mitre-tactic":
            tid = next(r["external_id"] for r in o["external_references"] if r.get("source_name") == "mitre-attack")
            out[o["name"]] = (tid, o["x_mitre_shortname"])
    for t in data.get("tactics", []) if isinstance(data, dict) else []:
        out[t["name"]] = (t["id"], t.get("shortname") or t.get("short_name"))
    if not out:
        sys.exit("no tactics in " + attack_path)
    return out


def epoch(iso):
    if not iso:
        return None
    return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


def texts(v):
    if v is None:
        return []
    return [str(x) for x in v] if isinstance(v, list) else [str(v)]


def sigma_objects(fields, score):
    """The documented Sigma mapping: Computer -> system, User and SubjectUserName -> user, each value."""
    out = []
    for n, typ in (("Computer", "system"), ("User", "user"), ("SubjectUserName", "user")):
        out += [(n, typ, x, score) for x in texts(fields.get(n))]
    return out


def num(x):
    return int(x) if float(x).is_integer() else float(x)


def risk_events(findings, tactics, problems):
    events = []
    for f in findings:
        if f["rule_type"] == "Correlation":
            continue
        ents = [(e["field"], e["type"], e["value"], e["score"]) for e in f["entities"] if e["role"] not in ("threat", "attacker")]
        if f["rule_language"] == "sigma":
            want = sigma_objects(f["fields"], f["risk_score"])
            if sorted(want) != sorted(ents):
                problems.append(f"sigma entities of {f['rule_name']}: vigil {ents}, mapping {want}")
            ents = want
        src = ("Sigma - " if f["rule_language"] == "sigma" else "ESCU - ") + f["rule_name"] + " - Rule"
        tac_ids, tac_names, techs = [], [], []
        for t in f["mitre_attack"]:
            if t["id"] not in techs:
                techs.append(t["id"])
            for name in t["tactics"]:
                # A tactic the table lacks (a Sigma rule's own tag, newer than the table) has the
                # shortname ATT&CK would give it (lower case, hyphens) and no id.
                tid, short = tactics.get(name, (None, name.lower().replace(" ", "-")))
                if tid and tid not in tac_ids:
                    tac_ids.append(tid)
                if short not in tac_names:
                    tac_names.append(short)
        for field, typ, value, score in ents:
            if value in NULLS:
                continue
            events.append({
                "_time": epoch(f["first_time"]), "risk_object": value, "risk_object_type": object_type(typ),
                "risk_score": num(score or f["risk_score"]), "source": src, "tactic_ids": tuple(tac_ids),
                "tactics": tuple(tac_names), "techniques": tuple(techs), "stories": tuple(f["analytic_story"]),
            })
    return events


def event_key(e):
    return (e["risk_object"], e["risk_object_type"], e["risk_score"], e["source"], e["_time"], e["tactic_ids"],
            e["tactics"], e["techniques"], e["stories"])


def vigil_event_key(r):
    return (r["risk_object"], r["risk_object_type"], num(r["calculated_risk_score"]), r["source"], r["_time"],
            tuple(r["annotations.mitre_attack.mitre_tactic_id"]), tuple(r["annotations.mitre_attack.mitre_tactic"]),
            tuple(r["annotations.mitre_attack.mitre_technique_id"]), tuple(r["analyticstories"]))


def wild(pattern):
    rx = re.compile("^" + ".*".join(re.escape(p) for p in pattern.split("*")) + "$", re.I | re.S)
    return lambda values: any(rx.match(v) for v in values)


def any_of(*patterns):
    ms = [wild(p) for p in patterns]
    return lambda values: any(m(values) for m in ms)


# ESCU Correlation rules (security_content/detections, type: Correlation, not deprecated), by hand:
# (name, filter(event), group-by extra ('tactic' | 'hour' | None), keep object_type in BY, having(agg)).
def escu_correlations():
    story = lambda *s: (lambda e: any_of(*s)(e["stories"]))
    system = lambda e: e["risk_object_type"] == "system"
    src = lambda *p: (lambda e: any_of(*p)([e["source"]]))
    return [
        ("ProxyShell ProxyNotShell Behavior Detected",
         lambda e: story("ProxyNotShell", "ProxyShell")(e) and system(e), "hour", True, lambda a: a["source_count"] >= 5),
        ("Okta Risk Threshold Exceeded",
         lambda e: e["risk_object_type"] == "user" and story("Okta Account Takeover", "Suspicious Okta Activity", "Okta MFA Exhaustion")(e),
         None, True, lambda a: a["technique_count"] > 5),
        ("Windows Modify Registry Risk Behavior",
         lambda e: src("*registry*")(e) and any_of("*T1112*")(e["techniques"]), "tactic", True, lambda a: a["source_count"] >= 3),
        ("Windows Post Exploitation Risk Behavior",
         story("*Windows Post-Exploitation*"), "tactic", True, lambda a: a["source_count"] >= 4),
        ("Log4Shell CVE-2021-44228 Exploitation",
         lambda e: story("Log4Shell CVE-2021-44228")(e) and system(e), "tactic", True, lambda a: a["source_count"] >= 2),
        ("Living Off The Land Detection",
         lambda e: story("Living Off The Land")(e) and system(e), "tactic", True, lambda a: a["source_count"] >= 5),
        ("Active Directory Lateral Movement Identified",
         lambda e: story("Active Directory Lateral Movement")(e) and system(e), "tactic", True, lambda a: a["source_count"] >= 4),
        ("Steal or Forge Authentication Certificates Behavior Identified",
         lambda e: story("Windows Certificate Services")(e) and system(e), "tactic", True, lambda a: a["source_count"] >= 5),
        ("Active Directory Privilege Escalation Identified",
         lambda e: story("Active Directory Privilege Escalation")(e) and system(e), "tactic", True, lambda a: a["source_count"] >= 4),
        ("Windows Common Abused Cmd Shell Risk Behavior",
         src("*Cmdline Tool Not Executed In CMD Shell*", "*Windows System Network Config Discovery Display DNS*",
             "*Local Account Discovery With Wmic*", "*Net Localgroup Discovery*", "*Create local admin accounts using net exe*",
             "*Local Account Discovery with Net*", "*Icacls Deny Command*", "*ICACLS Grant Command*", "*Windows Proxy Via Netsh*",
             "*Processes launching netsh*", "*Disabling Firewall with Netsh*", "*Windows System Network Connections Discovery Netsh*",
             "*Network Connection Discovery With Arp*", "*Windows System Discovery Using ldap Nslookup*",
             "*Windows System Shutdown CommandLine*"),
         "tactic", True, lambda a: a["source_count"] >= 4),
        ("Linux Persistence and Privilege Escalation Risk Behavior",
         lambda e: (story("Linux Privilege Escalation", "Linux Persistence Techniques")(e) or src("*Linux*")(e))
         and any_of("persistence", "privilege-escalation")(e["tactics"]) and system(e),
         "tactic", True, lambda a: a["source_count"] >= 4),
        ("AWS S3 Exfiltration Behavior Identified",
         lambda e: any_of("collection", "exfiltration")(e["tactics"]) and src("*AWS*")(e),
         None, False, lambda a: a["source_count"] >= 2 and a["tactic_id_count"] >= 2),
        ("Risk Rule for Dev Sec Ops by Repository",
         lambda e: story("Dev Sec Ops")(e) and e["risk_object_type"] == "other",
         "tactic", True, lambda a: a["source_count"] > 3 and a["risk_score"] > 100),
    ]


def aggregate(events, match, extra, by_type, span=None):
    groups = collections.OrderedDict()
    for e in events:
        if not match(e):
            continue
        if extra == "tactic":
            extras = list(e["tactics"])
        elif extra in ("hour", "span"):
            if e["_time"] is None:
                continue
            s = 3600 if extra == "hour" else span
            extras = [math.floor(e["_time"] / s) * s]
        else:
            extras = [None]
        for x in extras:  # a null BY value (no tactic) leaves the event out
            k = (e["risk_object"], e["risk_object_type"] if by_type else None, x)
            g = groups.setdefault(k, {"risk_score": 0, "count": 0, "sources": set(), "tactic_ids": set(), "techniques": set()})
            g["risk_score"] += e["risk_score"]
            g["count"] += 1
            g["sources"].add(e["source"])
            g["tactic_ids"].update(e["tactic_ids"])
            g["techniques"].update(e["techniques"])
    for g in groups.values():
        g["source_count"] = len(g["sources"])
        g["tactic_id_count"] = len(g["tactic_ids"])
        g["technique_count"] = len(g["techniques"])
    return groups


def expected_correlations(events):
    out = collections.Counter()
    for name, match, extra, by_type, having in escu_correlations():
        for (obj, typ, x), g in aggregate(events, match, extra, by_type).items():
            if having(g):
                out[(name, obj, typ, x, num(g["risk_score"]), g["source_count"])] += 1
    incident = [("Risk Threshold Exceeded For Object Over 24 Hours", 86400, lambda g: g["risk_score"] > 100),
                ("ATT&CK Tactic Threshold Exceeded For Object Over 7 Days", 604800,
                 lambda g: g["tactic_id_count"] >= 3 and g["source_count"] >= 4)]
    for name, span, having in incident:
        for (obj, typ, x), g in aggregate(events, lambda e: True, "span", True, span).items():
            if having(g):
                out[(name, obj, typ, x, num(g["risk_score"]), g["source_count"])] += 1
    return out


def vigil_correlations(findings):
    out = collections.Counter()
    extra_of = {n: (x, t) for n, _, x, t, _ in escu_correlations()}
    for f in findings:
        if f["rule_type"] != "Correlation":
            continue
        fl = f["fields"]
        name = f["rule_name"]
        if name in extra_of:
            extra, by_type = extra_of[name]
            x = (fl.get("annotations.mitre_attack.mitre_tactic") if extra == "tactic"
                 else num(fl["_time"]) if extra == "hour" else None)
            score = num(fl["risk_score"])
            typ = fl.get("risk_object_type") if by_type else None
        elif name.endswith("Threshold Exceeded For Object Over 24 Hours") or name.endswith("Over 7 Days"):
            x, score, typ = num(fl["_time"]) if "_time" in fl else None, num(fl["risk_score"]), fl.get("risk_object_type")
        else:
            name = "unknown correlation rule: " + name  # reported as a mismatch
            x, score, typ = None, None, None
        out[(name, fl.get("risk_object"), typ, x, score, int(fl["source_count"]))] += 1
    return out


def run(vigil, rules, logs, out_dir, threads, tag):
    findings = os.path.join(out_dir, f"findings{tag}.jsonl")
    risk = os.path.join(out_dir, f"risk{tag}.jsonl")
    cmd = [vigil, "hunt", "-q", "--threads", str(threads), "--incidents", "--risk-out", risk, "--format", "jsonl", "-o", findings]
    for r in rules:
        cmd += ["--rules", r]
    cmd += logs
    subprocess.run(cmd, check=True)
    with open(findings) as f:
        fl = [json.loads(l) for l in f]
    with open(risk) as f:
        rl = [json.loads(l) for l in f]
    return findings, risk, fl, rl


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vigil", required=True)
    ap.add_argument("--attack", required=True)
    ap.add_argument("--rules", action="append", required=True)
    ap.add_argument("--threads-check", action="store_true")
    ap.add_argument("--min-incidents", type=int, default=0, help="fail when fewer incidents (the test must bite)")
    ap.add_argument("--min-correlations", type=int, default=0)
    ap.add_argument("logs", nargs="+")
    a = ap.parse_args()
    tactics = load_tactics(a.attack)
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        fpath, rpath, findings, risk = run(a.vigil, a.rules, a.logs, tmp, 2, "")
        if a.threads_check:
            fpath1, rpath1, _, _ = run(a.vigil, a.rules, a.logs, tmp, 1, "1")
            for x, y in ((fpath, fpath1), (rpath, rpath1)):
                if open(x, "rb").read() != open(y, "rb").read():
                    problems.append(f"--threads 1 and 2 differ: {os.path.basename(x)}")
        events = risk_events(findings, tactics, problems)
        want, got = collections.Counter(map(event_key, events)), collections.Counter(map(vigil_event_key, risk))
        for k in (want - got):
            problems.append(f"risk event missing from vigil: {k}")
        for k in (got - want):
            problems.append(f"risk event vigil should not have: {k}")
        want_c, got_c = expected_correlations(events), vigil_correlations(findings)
        for k in (want_c - got_c):
            problems.append(f"correlation finding missing from vigil: {k}")
        for k in (got_c - want_c):
            problems.append(f"correlation finding vigil should not have: {k}")
        first = sum(1 for f in findings if f["rule_type"] != "Correlation")
        inc = sum(n for k, n in want_c.items() if "Threshold Exceeded For Object" in k[0])
        corr = sum(want_c.values()) - inc
        by_rule = collections.Counter(k[0] for k in want_c.elements())
        print(f"findings {first}; risk events {len(events)} (vigil {len(risk)}); "
              f"correlation findings {corr}; incidents {inc}")
        for name, n in sorted(by_rule.items()):
            print(f"  {n:6d}  {name}")
        if inc < a.min_incidents:
            problems.append(f"only {inc} incidents, the test expects at least {a.min_incidents}")
        if corr < a.min_correlations:
            problems.append(f"only {corr} correlation findings, the test expects at least {a.min_correlations}")
    for p in problems[:50]:
        print("MISMATCH:", p)
    if problems:
        print(f"{len(problems)} problems")
        return 1
    print("risk events, correlation findings and incidents agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
