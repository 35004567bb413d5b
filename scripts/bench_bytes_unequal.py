#!/usr/bin/env python3
"""`--balance bytes` on the 70 generated unequal-rack clusters of docs/exactness.md.

Ten rack shapes (4/3/3, 4/3/3 with rack 1, 2 or both losing a broker; 5/6/5, -dec0, -dec02;
1/2/5, -dec1, -dec2) times seven seeds, made with `bench_exact.make_unequal` into the
git-ignored bench-out/unequal/. For each: disk max/mean against the target max(1.005,
floor + 0.5 %), bytes copied against the best printed bound (combinatorial or LP), and the
gap. Prints one line per cluster and a summary.

    scripts/bench_bytes_unequal.py [--binary target/release/kafka-replan] [NAME ...]
"""
import argparse
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "kafka-replan"))
    ap.add_argument("names", nargs="*", help="only these clusters")
    args = ap.parse_args()
    out = os.path.join(ROOT, "bench-out", "unequal")
    os.makedirs(out, exist_ok=True)
    reached = within = total = 0
    worst = 0.0
    for seed in SEEDS:
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
            reached += ok
            within += gap <= 5.0
            worst = max(worst, gap)
            print(f"{name:26} disk {ratio:.4f} target {target:.4f} {'ok  ' if ok else 'MISS'} "
                  f"copied {moved / 1e9:.1f} GB bound {bound / 1e9:.1f} GB gap {gap:.1f} %")
    print(f"target reached on {reached} of {total}; within 5 % of the bound on {within} of "
          f"{total}; largest gap {worst:.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
