#!/usr/bin/env python3
"""Disk-balance report: `plan --balance count`, `count+bytes` and `bytes` on bench snapshots,
scored by the suite's own scorer (score.py), next to the rack-safe peers' published results.

    scripts/bench_bytes.py [--modes count,count+bytes,bytes] [SNAPSHOT ...]
        (default: the public small and medium suite, all three modes)

Per run: disk max/mean after, the bytes lower bound the plan prints, bytes moved and the gap,
replica moves, replica and leader spread, rack and capacity violations, wall time. "Peer"
columns: among the suite's peers whose plan is valid and rack-safe and whose disk max/mean
is the same as ours or worse, the fewest bytes moved (what we must not exceed), and the
most balanced rack-safe peer. Writes bench-out/bytes.md and prints it.
"""
import json
import os
import subprocess
import sys
import tempfile

from benchlib import BENCH, ROOT, excluded_brokers, load, public_snapshots, run_plan


def peers_for(name):
    tier = name.split("-")[0]
    folder = {"small": "results", "medium": "results"}.get(tier, "results_" + tier)
    path = os.path.join(BENCH, folder, "results.json")
    if not os.path.exists(path):
        return []
    out = []
    for row in load(path)["rows"]:
        s = row.get("score") or {}
        a = s.get("after") or {}
        if (row["snapshot"] == name and row.get("status") == "ok" and s.get("valid")
                and a.get("rack_violations") == 0 and a.get("capacity_violations") == 0
                and a.get("disk_max_mean_ratio") is not None):
            out.append((row["tool"], a["disk_max_mean_ratio"], s["bytes_moved"]))
    return out


def score(snapshot, plan):
    r = subprocess.run([sys.executable, os.path.join(BENCH, "score.py"), snapshot, plan, "--json"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return None
    return json.loads(r.stdout)


def run(snapshot, excluded, mode, tmp, max_bytes=None):
    flags = ["--balance", mode]
    if max_bytes is not None:
        flags += ["--max-bytes", str(max_bytes)]
    _, report, dt, err = run_plan(snapshot, excluded, flags, tmp)
    if err:
        sys.stderr.write(err + "\n")
        return None
    return report, score(snapshot, os.path.join(tmp, "plan.json")), dt


def gb(x):
    return "%.2f GB" % (x / 1e9)


def main():
    args = sys.argv[1:]
    modes = ["count", "count+bytes", "bytes"]
    if args[:1] == ["--modes"]:
        modes = args[1].split(",")
        args = args[2:]
    snaps = args or public_snapshots()
    lines = [
        "| snapshot | mode | disk max/mean | bytes bound | bytes moved | gap | replica moves"
        " | replica spread | leader spread | rack / capacity viol. | wall s"
        " | fewest bytes of a rack-safe peer as balanced or worse | most balanced rack-safe peer |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    # `--balance bytes` under each rack-safe peer's own bytes: as balanced or better?
    budget_lines = [
        "| snapshot | rack-safe peer | peer bytes | peer disk max/mean | ours under that budget: bytes | disk max/mean | as balanced or better |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for snap in snaps:
            name = os.path.basename(snap).split(".")[0]
            s = load(snap)
            excluded = excluded_brokers(s)
            peers = peers_for(name)
            for mode in modes:
                got = run(snap, excluded, mode, tmp)
                if got is None:
                    lines.append("| %s | %s | failed |%s" % (name, mode, " |" * 11))
                    continue
                rep, sc, dt = got
                after = sc["after"] if sc else rep["after"]
                ratio = after["disk_max_mean_ratio"]
                moved = sc["bytes_moved"] if sc else rep["bytes_moved"]
                bound = (rep.get("bytes_lower_bound") or {}).get("bytes")
                gap = "%.1f %%" % ((moved - bound) * 100.0 / bound) if bound else "-"
                worse = [p for p in peers if p[1] >= ratio - 1e-9]
                cheapest = min(worse, key=lambda p: p[2]) if worse else None
                best = min(peers, key=lambda p: (p[1], p[2])) if peers else None
                lines.append("| %s | %s | %.3f | %s | %s | %s | %d | %d | %d | %d / %d | %.2f | %s | %s |" % (
                    name, mode, ratio, gb(bound) if bound is not None else "-", gb(moved), gap,
                    sc["replica_moves"] if sc else rep["replica_moves"],
                    after["replicas_spread"], after["leaders_spread"],
                    after["rack_violations"], after["capacity_violations"], dt,
                    "%s %s (%.3f)%s" % (cheapest[0], gb(cheapest[2]), cheapest[1],
                                        "" if moved <= cheapest[2] else " **fewer than ours**")
                    if cheapest else "none",
                    "%s %.3f, %s" % (best[0], best[1], gb(best[2])) if best else "none"))
            if "bytes" in modes:
                for tool, pratio, pbytes in sorted(peers, key=lambda p: p[2]):
                    got = run(snap, excluded, "bytes", tmp, max_bytes=pbytes)
                    if got is None:
                        budget_lines.append("| %s | %s | %s | %.3f | refused | | no |" % (
                            name, tool, gb(pbytes), pratio))
                        continue
                    rep, sc, _ = got
                    ratio = (sc or rep)["after"]["disk_max_mean_ratio"]
                    moved = (sc or rep)["bytes_moved"]
                    budget_lines.append("| %s | %s | %s | %.3f | %s | %.3f | %s |" % (
                        name, tool, gb(pbytes), pratio, gb(moved), ratio,
                        "yes" if ratio <= pratio + 1e-9 and moved <= pbytes else "**no**"))
    text = "\n".join(lines) + "\n"
    if len(budget_lines) > 2:
        text += "\n" + "\n".join(budget_lines) + "\n"
    os.makedirs(os.path.join(ROOT, "bench-out"), exist_ok=True)
    with open(os.path.join(ROOT, "bench-out", "bytes.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
