#!/usr/bin/env python3
"""Exactness report: `--balance bytes` against the exact disk floor of the rack rule, and
the LP/MILP proofs of the capacity-constrained plan (docs/exactness.md).

    scripts/bench_exact.py [--baseline BINARY] [--binary BINARY] [--exact-only]

--binary: the kafka-replan to measure (default target/release/kafka-replan; the HiGHS build
is target/highs/release/kafka-replan). --exact-only: only the capacity-tight table.

Tables (written to bench-out/exactness.md and printed):
1. `--balance bytes` on the public small/medium suite and on generated clusters with unequal
   racks (4/3/3, 5/6/5, 1/2/5) with and without decommissions that leave small racks: the
   floor printed, disk max/mean reached, the target max(1.005, floor + 0.5 %), bytes moved
   against the best printed bound; with --baseline, the older binary's ratio and floor.
2. Capacity-tight plans (`--max-disk-util` just above what the layout needs) with
   `--exact`: what was proven, MILP / flow moves, LP bounds and gaps, wall time.
"""
import os
import random
import subprocess
import sys
import tempfile

import benchlib
from benchlib import BENCH, ROOT, excluded_brokers, load, public_snapshots, run_plan

sys.path.insert(0, BENCH)
import gen  # noqa: E402  (the bench suite's own generator: topics, sizes, placement)
from snapshot import dump_json, validate_snapshot  # noqa: E402

UNEQUAL = [  # (rack sizes, racks losing one broker, partitions, topic seed)
    ([4, 3, 3], [], 1500, 8),
    ([4, 3, 3], [1, 2], 1500, 8),
    ([4, 3, 3], [1, 2], 1500, 23),
    ([5, 6, 5], [], 3000, 3),
    ([5, 6, 5], [0, 2], 3000, 3),
    ([1, 2, 5], [], 1500, 5),
    ([1, 2, 5], [2], 1500, 5),
    ([1, 2, 5], [1], 1500, 7),
]


def make_unequal(rack_sizes, decommission, partitions, seed):
    """A rack-safe, count-balanced cluster over racks of the given sizes (gen.py's topics,
    sizes and placement), one broker of each listed rack excluded."""
    topic_rng = random.Random(f"topics:{seed}:{partitions}:0.88:{1.0 * gen.GB}:1.5:0.02")
    rng = random.Random(f"unequal:{seed}:{rack_sizes}:{partitions}")
    rack_of, b = {}, 1
    for i, n in enumerate(rack_sizes):
        for _ in range(n):
            rack_of[b] = f"r{i + 1}"
            b += 1
    ids = sorted(rack_of)
    topics = gen.gen_topics(topic_rng, partitions, 0.88, 1.0 * gen.GB, 1.5, 0.02)
    lay = gen.Layout(ids, rack_of)
    parts = [{"topic": t["name"], "partition": p,
              "replicas": gen.place_balanced(rng, lay, t["rf"]), "size_bytes": size}
             for t in topics for p, size in enumerate(t["sizes"])]
    exclude = [rng.choice([x for x in ids if rack_of[x] == f"r{r + 1}"]) for r in decommission]
    total = sum(p["size_bytes"] * len(p["replicas"]) for p in parts)
    step = 100 * gen.GB
    # Room for a lone-broker rack holding a replica of every partition.
    cap = max(step, -(-total // (len(ids) - len(exclude)) // step) * step * 4)
    name = "racks-%s%s-s%d" % ("-".join(map(str, rack_sizes)),
                               "-dec" + "".join(str(r) for r in decommission) if decommission else "",
                               seed)
    snap = {"brokers": [{"id": x, "rack": rack_of[x], "disk_capacity_bytes": cap} for x in ids],
            "partitions": parts,
            "scenario": {"name": name, "kind": "decommission" if exclude else "unequal-racks",
                         "seed": seed, "exclude_brokers": sorted(exclude), "new_brokers": []}}
    validate_snapshot(snap)
    return name, snap


def best_bound(rep):
    b = (rep.get("bytes_lower_bound") or {}).get("bytes") or 0
    lp = (rep.get("proof") or {}).get("bytes_lp_bound") or 0
    return max(b, lp)


def gb(x):
    return "%.1f GB" % (x / 1e9)


def bytes_rows(snaps, baseline, tmp):
    out = ["| cluster | floor (old printed) | disk max/mean | target | reached | old binary | bytes moved | best bound | gap | s |",
           "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|"]
    for name, path in snaps:
        s = load(path)
        ex = excluded_brokers(s)
        _, rep, dt, err = run_plan(path, ex, ["--balance", "bytes"], tmp)
        if err:
            out.append("| %s | failed: %s |" % (name, err))
            continue
        d = rep["disk_balance"]
        ratio = rep["after"]["disk_max_mean_ratio"]
        floor = d["ratio_floor"]
        target = max(1.005, floor * 1.005)
        old = "-"
        old_floor = "-"
        if baseline:
            cmd = [baseline, "plan", "-q", "--snapshot", path, "--output", os.path.join(tmp, "o.json"),
                   "--report-json", os.path.join(tmp, "o-report.json"), "--balance", "bytes"]
            if ex:
                cmd += ["--exclude-brokers", ",".join(map(str, sorted(ex)))]
            if subprocess.run(cmd, capture_output=True).returncode == 0:
                orep = load(os.path.join(tmp, "o-report.json"))
                old = "%.3f" % orep["after"]["disk_max_mean_ratio"]
                old_floor = "%.3f" % orep["disk_balance"]["ratio_floor"]
        bound = best_bound(rep)
        moved = rep["bytes_moved"]
        gap = "%.1f %%" % ((moved - bound) * 100.0 / bound) if bound else "-"
        out.append("| %s | %.3f (%s) | %.3f | %.3f | %s | %s | %s | %s | %s | %.2f |" % (
            name, floor, old_floor, ratio, target, "yes" if ratio <= target + 1e-9 else "**no**",
            old, gb(moved), gb(bound), gap, dt))
    return out


def tight_util(path, ex, tmp):
    """The smallest --max-disk-util (0.01 steps) the default plan still fits under."""
    lo = None
    for u in [x / 100.0 for x in range(99, 40, -1)]:
        _, rep, _, err = run_plan(path, ex, ["--max-disk-util", str(u)], tmp)
        if err:
            break
        lo = u
    return lo


def baseline_moves(baseline, path, ex, util, tmp):
    """Moves of the older binary's default plan at this disk limit ("-" when it refuses)."""
    if not baseline:
        return "-"
    cmd = [baseline, "plan", "-q", "--snapshot", path, "--output", os.path.join(tmp, "b.json"),
           "--report-json", os.path.join(tmp, "b-report.json"), "--max-disk-util", str(util)]
    if ex:
        cmd += ["--exclude-brokers", ",".join(map(str, sorted(ex)))]
    if subprocess.run(cmd, capture_output=True).returncode != 0:
        return "refused"
    return load(os.path.join(tmp, "b-report.json"))["replica_moves"]


def exact_rows(snaps, tmp, baseline=None):
    out = ["| cluster | --max-disk-util | proven | default moves (older binary) | flow+repair moves | repair added | MILP moves | plan moves | leader spread | moves LP bound (gap) | bytes LP bound (gap) | not solved | solver | s |",
           "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|"]
    for name, path in snaps:
        s = load(path)
        ex = excluded_brokers(s)
        u = tight_util(path, ex, tmp)
        if u is None:
            out.append("| %s | - | refused at 0.99 |" % name)
            continue
        _, rep, dt, err = run_plan(path, ex, ["--max-disk-util", str(u), "--exact", "--time-limit", "60"], tmp)
        if err:
            out.append("| %s | %.2f | failed: %s |" % (name, u, err))
            continue
        p = rep.get("proof") or {}
        st = p.get("statement") or "-"
        out.append("| %s | %.2f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %.2f |" % (
            name, u, st.split(":")[0].split(";")[0], baseline_moves(baseline, path, ex, u, tmp),
            p.get("flow_moves"), p.get("capacity_repair_added_moves"),
            p.get("milp_moves") if p.get("milp_moves") is not None else "-",
            rep["replica_moves"], rep["after"]["leaders_spread"],
            "%s (%s %%)" % (p["moves_lp_bound"], p.get("moves_gap_percent")) if p.get("moves_lp_bound") is not None else "-",
            "%s (%s %%)" % (gb(p["bytes_lp_bound"]), p.get("bytes_lp_gap_percent")) if p.get("bytes_lp_bound") is not None else "-",
            "; ".join(p.get("skipped") or []) or "-", p.get("solver"), dt))
    return out


def main():
    args = sys.argv[1:]
    baseline = None
    exact_only = False
    while args:
        if args[0] == "--baseline":
            baseline = args[1]
            args = args[2:]
        elif args[0] == "--binary":
            benchlib.REPLAN = os.path.abspath(args[1])
            args = args[2:]
        elif args[0] == "--exact-only":
            exact_only = True
            args = args[1:]
        else:
            sys.exit("unknown argument: %s" % args[0])
    with tempfile.TemporaryDirectory() as tmp:
        snaps = [(os.path.basename(p).split(".")[0], p) for p in public_snapshots()]
        gen_snaps = []
        for racks, dec, n, seed in UNEQUAL:
            name, snap = make_unequal(racks, dec, n, seed)
            path = os.path.join(tmp, name + ".json")
            dump_json(snap, path)
            gen_snaps.append((name, path))
        text = ""
        if not exact_only:
            text += "## `--balance bytes` against the disk floor\n\n"
            text += "\n".join(bytes_rows(snaps + gen_snaps, baseline, tmp)) + "\n\n"
        text += "## Capacity-tight plans with `--exact`\n\n"
        small = [x for x in snaps if x[0].startswith("small-")] + gen_snaps[:2]
        medium = [x for x in snaps if x[0].startswith("medium-")]
        text += "\n".join(exact_rows(small + medium, tmp, baseline)) + "\n"
    os.makedirs(os.path.join(ROOT, "bench-out"), exist_ok=True)
    out = os.path.join(ROOT, "bench-out", "exactness.md")
    with open(out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
