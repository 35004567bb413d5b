#!/usr/bin/env python3
"""Scaling report: where `kafka-replan plan` spends its time and memory as partitions and
brokers grow.

Generates the snapshots with the bench generator (../shared/bench/gen.py) into the
git-ignored bench-out/scale/ (once; the same arguments give byte-identical files), runs
`plan` on each in each requested mode with KAFKA_REPLAN_TIMINGS=1 (per-stage wall time,
peak RSS and solver work counters on stderr; output files are unchanged by it) and prints
one Markdown table per run plus a summary table: wall and CPU seconds, peak RSS, bytes per
replica, replica moves, the certified optimum, the lower bound, solver phases, and the
fitted growth exponent of time per replica against replicas.

    scripts/scale-report.py                      # 100k and 1M at 200 / 1,000 / 2,700 brokers
    scripts/scale-report.py --cases b2700-p5m    # the 5M target (slow to generate and run)
    scripts/scale-report.py --modes count,count+bytes,bytes --cases b200-p1m
    scripts/scale-report.py --modes all --cases xlarge-scale-out,b200-p1m

Timing on a shared machine is noisy: compare the work counters (phases, rounds, settled
nodes) and CPU seconds alongside wall time.
"""
import argparse
import gzip
import json
import math
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.environ.get("BENCH_DIR", os.path.join(os.path.dirname(ROOT), "shared", "bench"))
OUT = os.path.join(ROOT, "bench-out", "scale")

# name -> gen.py arguments. Brokers: 200 / 1,000 / 2,700 in total (scale-out adds --k).
CASES = {
    "b200-p100k": ["--brokers", "200", "--racks", "5", "--partitions", "100000",
                   "--kind", "skewed", "--seed", "5"],
    "b1000-p100k": ["--brokers", "1000", "--racks", "10", "--partitions", "100000",
                    "--kind", "scale-out", "--k", "40", "--seed", "7"],
    # Few partitions per broker: the derived capacity would be smaller than the largest
    # partition, so the disks get a fixed size.
    "b2700-p100k": ["--brokers", "2600", "--racks", "10", "--partitions", "100000",
                    "--kind", "scale-out", "--k", "100", "--seed", "9",
                    "--capacity-bytes", "30000000000000"],
    "b200-p1m": ["--brokers", "200", "--racks", "5", "--partitions", "1000000",
                 "--kind", "skewed", "--seed", "5"],
    "b1000-p1m": ["--brokers", "1000", "--racks", "10", "--partitions", "1000000",
                  "--kind", "scale-out", "--k", "40", "--seed", "7"],
    "b2700-p1m": ["--brokers", "2600", "--racks", "10", "--partitions", "1000000",
                  "--kind", "scale-out", "--k", "100", "--seed", "9"],
    "b2700-p5m": ["--brokers", "2600", "--racks", "10", "--partitions", "5000000",
                  "--kind", "scale-out", "--k", "100", "--seed", "9"],
}
# The public bench suite's xlarge tier (200 brokers, 200 k partitions), generated with
# `gen.py --suite --tiers xlarge` into bench-out/suite/ (the same files bench-quality.sh uses).
SUITE = os.path.join(ROOT, "bench-out", "suite")
XLARGE = ["xlarge-" + k for k in ("scale-out", "decommission", "skewed", "rack-repair")]
DEFAULT_CASES = ["b200-p100k", "b1000-p100k", "b2700-p100k", "b200-p1m", "b1000-p1m",
                 "b2700-p1m"]
MODES = {
    "count": [],
    "count+bytes": ["--balance", "count+bytes"],
    "bytes": ["--balance", "bytes"],
    "topic-spread": ["--topic-spread"],
    # Budgets below what the uncapped plans need: replica moves of 2 % of the partitions,
    # preferred-leader changes of 0.5 % of the partitions.
    "max-moves": ["--max-moves", "TWO_PERCENT_OF_PARTITIONS"],
    "max-leader-changes": ["--max-leader-changes", "HALF_PERCENT_OF_PARTITIONS"],
    # Decommission 1 % of the brokers (the lowest ids, on top of the scenario's own).
    "exclude-brokers": ["ONE_PERCENT"],
    # What-if: 5 % more brokers, empty.
    "add-brokers": ["--add-brokers", "FIVE_PERCENT"],
}
ALL_MODES = ["count", "count+bytes", "topic-spread", "max-moves", "max-leader-changes",
             "exclude-brokers", "add-brokers"]


def snapshot(name):
    # Every run writes its plan and report into OUT, whichever folder its input is in.
    os.makedirs(OUT, exist_ok=True)
    if name in XLARGE:
        path = os.path.join(SUITE, name + ".json.gz")
        if not os.path.exists(path):
            os.makedirs(SUITE, exist_ok=True)
            subprocess.run([sys.executable, os.path.join(BENCH, "gen.py"), "--suite",
                            "--tiers", "xlarge", "--out-dir", SUITE], check=True,
                           cwd=BENCH, stdout=subprocess.DEVNULL)
        return path
    path = os.path.join(OUT, name + ".json.gz")
    if not os.path.exists(path):
        tmp = path + ".tmp.json.gz"
        subprocess.run([sys.executable, os.path.join(BENCH, "gen.py")] + CASES[name]
                       + ["--out", tmp], check=True, stdout=subprocess.DEVNULL)
        os.rename(tmp, path)
    return path


def facts(path):
    """The scenario's excluded brokers, every broker id and the partition count."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        d = json.load(f)
    excl = sorted(d.get("scenario", {}).get("exclude_brokers", []) or [])
    ids = sorted(b["id"] for b in d.get("brokers", []))
    return excl, ids, len(d.get("partitions", []))


def mode_flags(mode, excl, ids, partitions):
    """The mode's flags with the size-dependent values filled in for this snapshot."""
    flags = []
    for f in MODES[mode]:
        if f == "TWO_PERCENT_OF_PARTITIONS":
            f = str(max(1, partitions // 50))
        elif f == "HALF_PERCENT_OF_PARTITIONS":
            f = str(max(1, partitions // 200))
        elif f == "ONE_PERCENT":
            extra = [i for i in ids if i not in excl][:max(1, len(ids) // 100)]
            excl = sorted(set(excl) | set(extra))
            continue
        elif f == "FIVE_PERCENT":
            f = str(max(1, len(ids) // 20))
        flags.append(f)
    if excl:
        flags += ["--exclude-brokers", ",".join(map(str, excl))]
    return flags


def run(binary, snap, flags, timeout):
    plan = os.path.join(OUT, "plan.json")
    report = os.path.join(OUT, "report.json")
    cmd = [binary, "plan", "-q", "--snapshot", snap, "--output", plan,
           "--report-json", report] + flags
    env = dict(os.environ, KAFKA_REPLAN_TIMINGS="1")
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"error": f"not finished in {timeout} s"}
    wall = time.monotonic() - t0
    # communicate() reaped the child; its rusage is in the children's totals.
    stages, counters = [], {}
    for line in err.splitlines():
        parts = line.split()
        if len(parts) == 6 and parts[0] == "timing":
            stages.append((parts[1], float(parts[2]), int(parts[4])))
        elif len(parts) == 3 and parts[0] == "counter":
            counters[parts[1]] = int(parts[2])
    if proc.returncode != 0:
        return {"error": (err.strip().splitlines() or ["failed"])[-1]}
    with open(report) as f:
        rep = json.load(f)
    return {"wall": wall, "stages": stages, "counters": counters, "report": rep,
            "rss": max((s[2] for s in stages), default=0)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "kafka-replan"))
    ap.add_argument("--cases", default=",".join(DEFAULT_CASES))
    ap.add_argument("--modes", default="count",
                    help="comma-separated: " + ", ".join(MODES) + "; or all (every mode but bytes)")
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()
    rows = []
    for name in args.cases.split(","):
        snap = snapshot(name)
        excl, ids, partitions = facts(snap)
        modes = ALL_MODES if args.modes == "all" else args.modes.split(",")
        for mode in modes:
            flags = mode_flags(mode, excl, ids, partitions)
            cpu0 = os.times()
            r = run(args.binary, snap, flags, args.timeout)
            cpu1 = os.times()
            cpu = (cpu1.children_user - cpu0.children_user) + (cpu1.children_system
                                                               - cpu0.children_system)
            print(f"\n### {name} [{mode}]\n\nflags: {' '.join(flags)[:200]}\n")
            if "error" in r:
                print(f"failed: {r['error']}")
                rows.append((name, mode, None))
                continue
            rep = r["report"]
            print("| stage | seconds | peak RSS MiB |\n|---|---:|---:|")
            for stage, secs, rss in r["stages"]:
                print(f"| {stage} | {secs:.3f} | {rss} |")
            print("\ncounters: " + ", ".join(f"{k}={v}" for k, v in sorted(r["counters"].items())))
            r["cpu"] = cpu
            print(f"\nwall {r['wall']:.1f} s, CPU {cpu:.1f} s, peak RSS {r['rss']} MiB, "
                  f"{r['report']['replica_moves']} moves")
            rows.append((name, mode, r))
            sys.stdout.flush()
    print("\n## Summary\n")
    print("| case | mode | brokers | partitions | replicas | wall s | CPU s | peak RSS MiB "
          "| bytes/replica | moves | optimum | LB* | certified | replica phases | leader phases |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|")
    fit = {}
    for name, mode, r in rows:
        if r is None:
            print(f"| {name} | {mode} | | | | failed | | | | | | | | | |")
            continue
        rep = r["report"]
        c = rep["cluster"]
        reps = c["replicas"]
        bpr = r["rss"] * 1024 * 1024 / max(reps, 1)
        cn = r["counters"]
        print(f"| {name} | {mode} | {c['brokers']} | {c['partitions']} | {reps} | "
              f"{r['wall']:.1f} | {r['cpu']:.1f} | {r['rss']} | {bpr:.0f} | "
              f"{rep['replica_moves']} | {rep['optimum_moves']} | {rep['lb_combined']} | "
              f"{rep['optimum_certified']} | {cn.get('replica-flow.phases', '')} | "
              f"{cn.get('leader-flow.phases', '')} |")
        fit.setdefault((mode, c["brokers"]), []).append((reps, r["cpu"]))
    # Growth: slope of log(CPU s) against log(replicas) at a fixed broker count (1 = linear).
    for (mode, brokers), pts in sorted(fit.items()):
        if len(pts) >= 2:
            (x0, y0), (x1, y1) = min(pts), max(pts)
            if x1 > x0 and y0 > 0 and y1 > 0:
                k = math.log(y1 / y0) / math.log(x1 / x0)
                print(f"\n{mode}, {brokers} brokers: CPU time ~ replicas^{k:.2f} "
                      f"({x0} -> {x1} replicas)")


if __name__ == "__main__":
    main()
