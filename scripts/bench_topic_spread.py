#!/usr/bin/env python3
"""Topic-spread report: `plan` without and with `--topic-spread` on bench snapshots: largest
topic spread before and after, replica moves, bytes moved, rack violations and wall time.

    scripts/bench_topic_spread.py [SNAPSHOT ...]   (default: the public small and medium suite)
Writes bench-out/topic-spread.md and prints it. Uses target/release/kafka-replan.
"""
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.environ.get("BENCH_DIR", os.path.join(os.path.dirname(ROOT), "shared", "bench"))
REPLAN = os.path.join(ROOT, "target", "release", "kafka-replan")


def load(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        return json.load(f)


def run(snapshot, excluded, flags, tmp):
    plan = os.path.join(tmp, "plan.json")
    report = os.path.join(tmp, "report.json")
    cmd = [REPLAN, "plan", "-q", "--snapshot", snapshot, "--output", plan,
           "--report-json", report] + flags
    if excluded:
        cmd += ["--exclude-brokers", ",".join(map(str, sorted(excluded)))]
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.monotonic() - t0
    if r.returncode != 0:
        return None
    return load(report), dt


def main():
    snaps = sys.argv[1:] or sorted(
        os.path.join(BENCH, "suite", f)
        for f in os.listdir(os.path.join(BENCH, "suite"))
        if f.startswith(("small-", "medium-"))
    )
    lines = [
        "| snapshot | mode | topic spread max (before -> after) | replica moves | bytes moved | rack violations after | wall s |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for snap in snaps:
            name = os.path.basename(snap).split(".")[0]
            s = load(snap)
            excluded = set(s.get("scenario", {}).get("exclude_brokers", []) or [])
            for mode, flags in [("count", []), ("--topic-spread", ["--topic-spread"])]:
                got = run(snap, excluded, flags, tmp)
                if got is None:
                    lines.append("| %s | %s | failed | | | | |" % (name, mode))
                    continue
                rep, dt = got
                lines.append("| %s | %s | %d -> %d | %d | %.2f GB | %d | %.2f |" % (
                    name, mode, rep["before"]["topic_spread_max"],
                    rep["after"]["topic_spread_max"], rep["replica_moves"],
                    rep["bytes_moved"] / 1e9, rep["after"]["rack_violations"], dt))
    text = "\n".join(lines) + "\n"
    os.makedirs(os.path.join(ROOT, "bench-out"), exist_ok=True)
    with open(os.path.join(ROOT, "bench-out", "topic-spread.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
