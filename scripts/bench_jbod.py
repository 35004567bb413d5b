#!/usr/bin/env python3
"""Plans every JBOD snapshot of a directory (scripts/gen_jbod.py --suite) with kafka-replan and
prints one row per cluster, recomputed from the snapshot and the written plan (not taken from
the planner's report): worst dir usage max/min within a broker before and after, brokers left
above the tolerance, dir capacity violations, bytes copied between brokers and inside brokers
against the printed bound (the report's `intra_broker_bytes_lower_bound`), moves, time.

  python3 scripts/bench_jbod.py /tmp/jbod-suite [--bin target/release/kafka-replan] [--markdown]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time


def load(path: str) -> dict:
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".gz"):
        data = gzip.decompress(data)
    return json.loads(data)


def dir_usage(snap: dict, layout: dict) -> tuple[dict, dict]:
    """Bytes per (broker, dir) for a layout {(topic, partition): (replicas, dirs)}."""
    size = {(p["topic"], p["partition"]): p["size_bytes"] for p in snap["partitions"]}
    used: dict = {}
    for tp, (reps, dirs) in layout.items():
        for b, d in zip(reps, dirs):
            if d is not None:
                used[(b, d)] = used.get((b, d), 0) + size[tp]
    caps = {}
    for b in snap["brokers"]:
        for d in b.get("log_dirs", []):
            caps[(b["id"], d["path"])] = (d.get("capacity_bytes"), d.get("offline", False))
    return used, caps


def worst_ratio(snap: dict, used: dict, caps: dict, tol: float) -> tuple[float, int]:
    worst = 1.0
    above = 0
    for b in snap["brokers"]:
        online = [d for d in b.get("log_dirs", []) if not d.get("offline")]
        if len(online) < 2:
            continue
        fr = [used.get((b["id"], d["path"]), 0) / d["capacity_bytes"] for d in online]
        if max(fr) == 0:
            continue
        r = float("inf") if min(fr) == 0 else max(fr) / min(fr)
        worst = max(worst, r)
        above += r > 1 + tol + 1e-9
    return worst, above


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("suite")
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "release", "kafka-replan"))
    ap.add_argument("--tolerance", type=float, default=0.05)
    ap.add_argument("--markdown", action="store_true")
    a = ap.parse_args()
    rows = []
    for name in sorted(os.listdir(a.suite)):
        if not name.endswith((".json", ".json.gz")):
            continue
        path = os.path.join(a.suite, name)
        snap = load(path)
        excl = snap.get("scenario", {}).get("exclude_brokers", [])
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "plan.json")
            rep = os.path.join(tmp, "report.json")
            cmd = [a.bin, "plan", "-q", "--snapshot", path, "--output", out, "--report-json", rep]
            if excl:
                cmd += ["--exclude-brokers", ",".join(map(str, excl))]
            t0 = time.monotonic()
            res = subprocess.run(cmd, capture_output=True, text=True)
            secs = time.monotonic() - t0
            if res.returncode != 0:
                rows.append((name, None, res.stderr.strip().splitlines()[-1:]))
                continue
            plan = json.load(open(out))
            report = json.load(open(rep))
        before = {(p["topic"], p["partition"]): (p["replicas"], p.get("log_dirs") or [None] * len(p["replicas"])) for p in snap["partitions"]}
        after = dict(before)
        inter = 0
        moves = 0
        intra = 0
        size = {(p["topic"], p["partition"]): p["size_bytes"] for p in snap["partitions"]}
        for e in plan["partitions"]:
            tp = (e["topic"], e["partition"])
            old_reps, old_dirs = before[tp]
            dirs = []
            for b, d in zip(e["replicas"], e["log_dirs"]):
                was = b in old_reps
                cur = old_dirs[old_reps.index(b)] if was else None
                if not was:
                    moves += 1
                    inter += size[tp]
                if d != "any":
                    if was and cur is not None and d != cur:
                        intra += size[tp]
                    dirs.append(d)
                else:
                    dirs.append(cur)
            after[tp] = (e["replicas"], dirs)
        ub, caps = dir_usage(snap, before)
        ua, _ = dir_usage(snap, after)
        wb, _ = worst_ratio(snap, ub, caps, a.tolerance)
        wa, above = worst_ratio(snap, ua, caps, a.tolerance)
        violations = sum(1 for k, v in ua.items() if k in caps and caps[k][0] is not None and v > caps[k][0])
        on_offline = sum(v for k, v in ua.items() if k in caps and caps[k][1])
        ld = report["log_dirs"]
        bound = ld["intra_broker_bytes_lower_bound"]
        rows.append((name, dict(
            wb=wb, wa=wa, above=above, viol=violations, offline=on_offline,
            inter=inter, intra=intra, bound=bound, moves=moves,
            intra_moves=ld["intra_broker_moves"], secs=secs,
            reported_intra=ld["intra_broker_bytes"]), None))
    gb = 1e9
    hdr = ["cluster", "dir max/min before", "after", "brokers > tol", "dir cap. violations",
           "bytes on offline dirs", "inter-broker GB", "intra-broker GB", "intra bound GB",
           "intra / bound", "moves", "intra moves", "time s"]
    fmt = (lambda cells: "| " + " | ".join(cells) + " |") if a.markdown else (lambda cells: "  ".join(cells))
    print(fmt(hdr))
    if a.markdown:
        print("|" + "---|" * len(hdr))
    for name, r, err in rows:
        if r is None:
            print(fmt([name, "FAILED"] + [" ".join(err)]))
            continue
        ratio = "-" if r["bound"] == 0 else f"{r['intra'] / r['bound']:.3f}"
        fr = lambda x: "inf" if x == float("inf") else f"{x:.3f}"
        print(fmt([name.replace(".json.gz", ""), fr(r["wb"]), fr(r["wa"]), str(r["above"]), str(r["viol"]),
                   str(r["offline"]), f"{r['inter'] / gb:.1f}", f"{r['intra'] / gb:.1f}", f"{r['bound'] / gb:.1f}",
                   ratio, str(r["moves"]), str(r["intra_moves"]), f"{r['secs']:.2f}"]))
        if r["reported_intra"] != r["intra"]:
            print(f"  note: the report says {r['reported_intra']} intra-broker bytes, the plan file {r['intra']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
