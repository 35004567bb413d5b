#!/usr/bin/env python3
"""Traffic-balance report: `plan --balance count`, `count+bytes` and `load` on clusters with hot
topics from scripts/gen_traffic.py (10 % of the partitions carry 80 % of the produce traffic,
the hottest led by 3 brokers).

    scripts/bench_load.py [--binary target/release/kafka-replan] [--quick]

Per cluster and mode: network in, network out and leader bytes-in max/mean before and after
(over the allowed brokers, the plan's own report), replica moves, leader changes, bytes
copied, the load bounds (`--balance load`: what any plan reaching the tolerance must change)
and the wall time of the run. Prints a Markdown table (docs/traffic.md has one).
"""
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name, generator arguments
CLUSTERS = [
    ("12 brokers, 1,200 partitions", ["--brokers", "12", "--partitions", "1200", "--seed", "1"]),
    ("12 brokers, 1,200 partitions, +3 new", ["--brokers", "12", "--partitions", "1200",
                                              "--add-brokers", "3", "--seed", "2"]),
    ("24 brokers, 5,000 partitions", ["--brokers", "24", "--partitions", "5000", "--seed", "3"]),
    ("24 brokers, 5,000 partitions, +6 new", ["--brokers", "24", "--partitions", "5000",
                                              "--add-brokers", "6", "--seed", "4"]),
    ("60 brokers, 40,000 partitions", ["--brokers", "60", "--racks", "6", "--partitions", "40000",
                                       "--hot-brokers", "6", "--seed", "5"]),
]
MODES = ["count", "count+bytes", "load"]


def gb(x):
    return "%.1f GB" % (x / 1e9)


def ratio(v):
    return "-" if v is None else "%.2f" % v


def main():
    args = sys.argv[1:]
    binary = os.path.join(ROOT, "target", "release", "kafka-replan")
    if "--binary" in args:
        binary = args[args.index("--binary") + 1]
    clusters = CLUSTERS[:2] if "--quick" in args else CLUSTERS
    lines = [
        "| cluster | mode | net in max/mean | net out max/mean | leader bytes-in max/mean"
        " | replica moves | leader changes | bytes copied | load bounds (moves / leader changes)"
        " | time |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for name, gen_args in clusters:
            snap = os.path.join(tmp, "snap.json")
            subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen_traffic.py"),
                            *gen_args, "--out", snap], check=True)
            for mode in MODES:
                report = os.path.join(tmp, "report.json")
                t0 = time.monotonic()
                r = subprocess.run([binary, "plan", "--snapshot", snap, "--output",
                                    os.path.join(tmp, "plan.json"), "--balance", mode,
                                    "--report-json", report, "-q"],
                                   capture_output=True, text=True)
                dt = time.monotonic() - t0
                if r.returncode != 0:
                    lines.append("| %s | %s | failed: %s |" % (name, mode, r.stderr.strip()))
                    continue
                rep = json.load(open(report))
                n = rep["network"]
                b, a = n["before"], n["after"]
                lb = n.get("load_balance") or {}
                cell = lambda k: "%s -> %s" % (ratio(b[k]), ratio(a[k]))
                bounds = ("%s / %s" % (lb["replica_moves_lower_bound"],
                                       lb["leader_changes_lower_bound"]) if lb else "")
                lines.append("| %s | %s | %s | %s | %s | %d | %d | %s | %s | %.2f s |" % (
                    name, mode, cell("net_in_max_mean"), cell("net_out_max_mean"),
                    cell("leader_bytes_in_max_mean"), rep["replica_moves"],
                    rep["leader_changes"], gb(rep["bytes_moved"]), bounds, dt))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
