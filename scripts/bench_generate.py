#!/usr/bin/env python3
"""Compare `kafka-replan generate` with `kafka-replan plan` and Kafka's `--generate` baseline
on the public bench suite, scored by the bench scorer.

  python3 scripts/bench_generate.py [--bench ../shared/bench] [--tiers small,medium]
                                    [--bin target/release/kafka-replan]

For each snapshot: `generate` gets every topic and every allowed broker (all brokers minus
`scenario.exclude_brokers`), so it must find the same move count as `plan` (both are the
exact optimum of one problem). The proposal block is cut from stdout the way scripts do it
(the line after "Proposed partition reassignment configuration"). The baseline is the
bench's own re-implementation of Kafka's `--generate` (`baseline_generate.py`, seed 0).
`kafka` is `generate --kafka-placement` (Kafka 4.2's StripedReplicaPlacer, seed 0).

A second table plans every other topic (sorted by name) onto the same brokers: `generate`
against `--kafka-placement` and the baseline restricted to those topics (moves only; the
topics left out stay where they are, so decommission rows keep replicas on the excluded
brokers by design).

Prints the tables; exits 1 if generate and plan disagree or a plan is invalid.
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

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load(path: str) -> dict:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        return json.load(f)


def score(bench: str, snapshot: str, plan: str) -> dict:
    out = subprocess.run(
        [sys.executable, os.path.join(bench, "score.py"), snapshot, plan],
        capture_output=True, text=True,
    )
    # The scorer exits 1 for an invalid plan but still prints its metrics.
    if not out.stdout.strip():
        raise RuntimeError(f"score.py failed on {plan}: {out.stderr}")
    return json.loads(out.stdout)


def cut_proposal(stdout: str) -> str:
    lines = stdout.split("\n")
    i = lines.index("Proposed partition reassignment configuration")
    return lines[i + 1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default=os.path.join(ROOT, "..", "shared", "bench"))
    ap.add_argument("--tiers", default="small,medium")
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "kafka-replan"))
    a = ap.parse_args()
    suite = os.path.join(a.bench, "suite")
    tiers = a.tiers.split(",")
    snaps = sorted(
        os.path.join(suite, f) for f in os.listdir(suite)
        if f.split("-")[0] in tiers and (f.endswith(".json") or f.endswith(".json.gz"))
    )
    print(f"{'snapshot':<28} {'LB*':>6} {'plan':>6} {'generate':>8} {'kafka':>7} {'baseline':>9}"
          f" {'gen s':>6} {'valid':>6}")
    bad = 0
    half_rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for snap in snaps:
            name = os.path.basename(snap).split(".")[0]
            data = load(snap)
            excluded = set(data.get("scenario", {}).get("exclude_brokers", []))
            allowed = [b["id"] for b in data["brokers"] if b["id"] not in excluded]
            topics = sorted({p["topic"] for p in data["partitions"]})
            topics_file = os.path.join(tmp, "topics.json")
            with open(topics_file, "w") as f:
                json.dump({"version": 1, "topics": [{"topic": t} for t in topics]}, f)

            plan_file = os.path.join(tmp, f"{name}-plan.json")
            cmd = [a.bin, "plan", "--snapshot", snap, "--output", plan_file, "-q"]
            if excluded:
                cmd += ["--exclude-brokers", ",".join(map(str, sorted(excluded)))]
            subprocess.run(cmd, check=True)

            gen_file = os.path.join(tmp, f"{name}-generate.json")
            t0 = time.monotonic()
            out = subprocess.run(
                [a.bin, "generate", "--topics-to-move-json-file", topics_file,
                 "--broker-list", ",".join(map(str, allowed)), "--snapshot", snap, "-q"],
                check=True, capture_output=True, text=True,
            )
            gen_secs = time.monotonic() - t0
            with open(gen_file, "w") as f:
                f.write(cut_proposal(out.stdout))

            base_file = os.path.join(tmp, f"{name}-baseline.json")
            subprocess.run(
                [sys.executable, os.path.join(a.bench, "baseline_generate.py"), snap,
                 "--out", base_file, "--seed", "0"],
                check=True, capture_output=True, text=True,
            )
            kafka_file = os.path.join(tmp, f"{name}-kafka.json")
            run_generate(a.bin, snap, topics_file, allowed, kafka_file, ["--kafka-placement"])
            sp, sg, sb, sk = (score(a.bench, snap, f)
                              for f in (plan_file, gen_file, base_file, kafka_file))
            valid = sp["valid"] and sg["valid"]
            same = sp["replica_moves"] == sg["replica_moves"]
            if not (valid and same):
                bad += 1
            print(f"{name:<28} {sp['lb_combined']:>6} {sp['replica_moves']:>6}"
                  f" {sg['replica_moves']:>8} {sk['replica_moves']:>7} {sb['replica_moves']:>9}"
                  f" {gen_secs:>6.2f} {('yes' if valid else 'NO'):>6}"
                  f"{'' if same else '  <- generate != plan'}")

            # Every other topic.
            half = topics[::2]
            with open(topics_file, "w") as f:
                json.dump({"version": 1, "topics": [{"topic": t} for t in half]}, f)
            hg = os.path.join(tmp, f"{name}-half-generate.json")
            hk = os.path.join(tmp, f"{name}-half-kafka.json")
            hb = os.path.join(tmp, f"{name}-half-baseline.json")
            run_generate(a.bin, snap, topics_file, allowed, hg, [])
            run_generate(a.bin, snap, topics_file, allowed, hk, ["--kafka-placement"])
            with open(base_file) as f:
                base = json.load(f)
            keep = set(half)
            base["partitions"] = [e for e in base["partitions"] if e["topic"] in keep]
            with open(hb, "w") as f:
                json.dump(base, f)
            half_rows.append((name, len(half), *(score(a.bench, snap, x)["replica_moves"]
                                                 for x in (hg, hk, hb))))
    print()
    print(f"{'every other topic':<28} {'topics':>6} {'generate':>8} {'kafka':>7} {'baseline':>9}")
    for name, n, g, k, b in half_rows:
        print(f"{name:<28} {n:>6} {g:>8} {k:>7} {b:>9}")
    return 1 if bad else 0


def run_generate(binary: str, snap: str, topics_file: str, allowed: list[int], out_file: str,
                 extra: list[str]) -> None:
    out = subprocess.run(
        [binary, "generate", "--topics-to-move-json-file", topics_file,
         "--broker-list", ",".join(map(str, allowed)), "--snapshot", snap, "-q", *extra],
        check=True, capture_output=True, text=True,
    )
    with open(out_file, "w") as f:
        f.write(cut_proposal(out.stdout))


if __name__ == "__main__":
    sys.exit(main())
