#!/usr/bin/env python3
"""`--balance bytes` on the 70 generated unequal-rack clusters of docs/exactness.md.

Ten rack shapes (4/3/3, 4/3/3 with rack 1, 2 or both losing a broker; 5/6/5, -dec0, -dec02;
1/2/5, -dec1, -dec2) times seven seeds, made with `bench_exact.make_unequal` into the
git-ignored bench-out/unequal/. For each: disk max/mean against the target max(1.005,
floor + 0.5 %), bytes copied against the best printed bound (combinatorial or LP), and the
gap. Prints one line per cluster and a summary.

    scripts/bench_bytes_unequal.py [--binary target/release/kafka-replan] [--seeds 41,43]
                                   [--results FILE.json] [NAME ...]

`--seeds` replaces the seven seeds (other clusters of the same kinds); `--results` writes
each cluster's disk max/mean, bytes copied and moves as JSON, so two binaries' runs can be
compared plan by plan.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys

import bench_exact
from benchlib import ROOT, load
from snapshot import dump_json  # noqa: E402  (bench_exact puts the bench suite on the path)

CONFIGS = [([4, 3, 3], [], 1500), ([4, 3, 3], [1], 1500), ([4, 3, 3], [2], 1500),
           ([4, 3, 3], [1, 2], 1500), ([5, 6, 5], [], 3000), ([5, 6, 5], [0], 3000),
           ([5, 6, 5], [0, 2], 3000), ([1, 2, 5], [], 1500), ([1, 2, 5], [1], 1500),
           ([1, 2, 5], [2], 1500)]
SEEDS = [3, 5, 7, 8, 11, 23, 31]


def sha256_of(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "kafka-replan"))
    ap.add_argument("--seeds", help="comma-separated seeds instead of the seven")
    ap.add_argument("--results", help="write per-cluster results to this JSON file")
    ap.add_argument("names", nargs="*", help="only these clusters")
    args = ap.parse_args()
    seeds = [int(x) for x in args.seeds.split(",")] if args.seeds else SEEDS
    out = os.path.join(ROOT, "bench-out", "unequal")
    os.makedirs(out, exist_ok=True)
    reached = within = total = 0
    worst = 0.0
    results = {}
    for seed in seeds:
        for racks, dec, n in CONFIGS:
            name, snap = bench_exact.make_unequal(racks, dec, n, seed)
            if args.names and name not in args.names:
                continue
            path = os.path.join(out, name + ".json")
            if not os.path.exists(path):
                dump_json(snap, path)
            rep = os.path.join(out, name + ".report.json")
            cmd = [args.binary, "plan", "-q", "--snapshot", path,
                   "--output", os.path.join(out, name + ".plan.json"),
                   "--report-json", rep, "--balance", "bytes"]
            excl = snap["scenario"]["exclude_brokers"]
            if excl:
                cmd += ["--exclude-brokers", ",".join(map(str, sorted(excl)))]
            r = subprocess.run(cmd, capture_output=True, text=True)
            total += 1
            if r.returncode:
                print(f"{name:26} refused: {r.stderr.strip()[-200:]}")
                continue
            report = load(rep)
            comb = (report.get("bytes_lower_bound") or {}).get("bytes") or 0
            lp = (report.get("proof") or {}).get("bytes_lp_bound") or 0
            ratio = report["after"]["disk_max_mean_ratio"]
            target = max(1.005, report["disk_balance"]["ratio_floor"] * 1.005)
            bound, moved = max(comb, lp), report["bytes_moved"]
            gap = (moved - bound) * 100.0 / bound if bound else 0.0
            ok = ratio <= target + 1e-9
            results[name] = {"disk_max_mean": ratio, "target": target, "bytes_moved": moved,
                             "bound": bound, "moves": report.get("replica_moves"),
                             "plan_sha256": sha256_of(os.path.join(out, name + ".plan.json"))}
            reached += ok
            within += gap <= 5.0
            worst = max(worst, gap)
            print(f"{name:26} disk {ratio:.4f} target {target:.4f} {'ok  ' if ok else 'MISS'} "
                  f"copied {moved / 1e9:.1f} GB bound {bound / 1e9:.1f} GB gap {gap:.1f} %")
    print(f"target reached on {reached} of {total}; within 5 % of the bound on {within} of "
          f"{total}; largest gap {worst:.1f} %")
    if args.results:
        with open(args.results, "w") as f:
            json.dump(results, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
