#!/usr/bin/env python3
"""Topic-spread report: `plan` without and with `--topic-spread` on bench snapshots: largest
topic spread before and after, replica moves, bytes moved, rack violations and wall time.

    scripts/bench_topic_spread.py [SNAPSHOT ...]   (default: the public small and medium suite)
Writes bench-out/topic-spread.md and prints it. Uses target/release/kafka-replan.
"""
import os
import sys
import tempfile

from benchlib import ROOT, excluded_brokers, load, public_snapshots, run_plan


def run(snapshot, excluded, flags, tmp):
    _, report, dt, err = run_plan(snapshot, excluded, flags, tmp)
    return None if err else (report, dt)


def main():
    snaps = sys.argv[1:] or public_snapshots()
    lines = [
        "| snapshot | mode | topic spread max (before -> after) | replica moves | bytes moved | rack violations after | wall s |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for snap in snaps:
            name = os.path.basename(snap).split(".")[0]
            s = load(snap)
            excluded = excluded_brokers(s)
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
