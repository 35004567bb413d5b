#!/usr/bin/env python3
"""Byte-for-byte comparison of `plan` outputs between two kafka-replan binaries.

Runs both binaries on every snapshot of fixtures/, the public bench suite (and the large and
xlarge tiers when they have been generated into bench-out/suite with
`gen.py --suite --tiers large,xlarge --out-dir bench-out/suite`) and on a few generated
10k-100k partition snapshots, in each planning mode, and compares the plan JSON, the
rollback JSON, the election JSON and the report JSON (only the report's wall-clock
`solver.seconds` is masked; `--mask-flow-counts` also masks `solver.rounds` and
`solver.phases`, for a change that solves fewer flows to the same plan), and the exit code
and error text when the plan is refused.

    scripts/compare-outputs.py [--baseline /work/kafka-replan-baseline]
                               [--candidate target/release/kafka-replan] [--quick]
                               [--modes count,max-moves,...] [--mask-flow-counts]

Prints one line per difference and a summary; exits 1 when anything differs.
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.environ.get("BENCH_DIR", os.path.join(os.path.dirname(ROOT), "shared", "bench"))
OUT = os.path.join(ROOT, "bench-out")

# Every planning mode; the budget modes take their figure from the snapshot's size.
MODES = {
    "count": lambda n: [],
    "count+bytes": lambda n: ["--balance", "count+bytes"],
    "bytes": lambda n: ["--balance", "bytes"],
    "topic-spread": lambda n: ["--topic-spread"],
    "max-moves": lambda n: ["--max-moves", str(max(1, n // 20))],
    "max-bytes-count": lambda n: ["--max-bytes", "20TB"],
    "bytes-max-bytes": lambda n: ["--balance", "bytes", "--max-bytes", "50TB"],
    "add-brokers": lambda n: ["--add-brokers", "3"],
    "max-disk-util": lambda n: ["--max-disk-util", "0.8"],
    "leader-budget": lambda n: ["--max-leader-changes", str(max(1, n // 50))],
    "tradeoff": lambda n: ["--tradeoff", "{tmp}/tradeoff.json"],
    # The disk swaps under a move budget, down to its last moves.
    "count+bytes-max-moves": lambda n: ["--balance", "count+bytes",
                                        "--max-moves", str(max(1, n // 20))],
    "count+bytes-max-moves-tight": lambda n: ["--balance", "count+bytes",
                                              "--max-moves", str(max(1, n // 200))],
    "count+bytes-tradeoff": lambda n: ["--balance", "count+bytes", "--max-moves",
                                       str(max(1, n // 20)), "--tradeoff", "{tmp}/tradeoff.json"],
    # Budgets at their edges: none at all, tight, loose, above what the plan needs, both.
    "max-moves-zero": lambda n: ["--max-moves", "0"],
    "max-moves-tight": lambda n: ["--max-moves", str(max(1, n // 200))],
    "max-moves-loose": lambda n: ["--max-moves", str(max(1, n // 4))],
    "max-moves-above": lambda n: ["--max-moves", str(10 * n)],
    "leader-budget-zero": lambda n: ["--max-leader-changes", "0"],
    "leader-budget-loose": lambda n: ["--max-leader-changes", str(max(1, n // 5))],
    "both-budgets": lambda n: ["--max-moves", str(max(1, n // 20)),
                               "--max-leader-changes", str(max(1, n // 50))],
}
# Modes too slow for the biggest snapshots on a shared 2-core machine.
SLOW = {"bytes-max-bytes", "tradeoff", "topic-spread", "leader-budget", "count+bytes-tradeoff"}


def load_json(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        return json.load(f)


def snapshot_facts(path):
    """(partition count, excluded brokers) of a snapshot."""
    d = load_json(path)
    excl = sorted(d.get("scenario", {}).get("exclude_brokers", []) or [])
    return len(d.get("partitions", [])), excl


def generated_cases():
    """A few generated 10k-100k partition snapshots (made on first use)."""
    cases = [
        ("gen-10k-scale-out", ["--brokers", "30", "--racks", "3", "--partitions", "10000",
                               "--kind", "scale-out", "--k", "6", "--seed", "11"]),
        ("gen-30k-skewed", ["--brokers", "48", "--racks", "4", "--partitions", "30000",
                            "--kind", "skewed", "--seed", "12"]),
        ("gen-50k-decommission", ["--brokers", "60", "--racks", "5", "--partitions", "50000",
                                  "--kind", "decommission", "--k", "5", "--seed", "13"]),
        ("gen-100k-rack-repair", ["--brokers", "100", "--racks", "5", "--partitions",
                                  "100000", "--kind", "rack-repair", "--seed", "14"]),
        ("gen-100k-scale-out-300", ["--brokers", "300", "--racks", "10", "--partitions",
                                    "100000", "--kind", "scale-out", "--k", "30",
                                    "--seed", "15"]),
    ]
    os.makedirs(os.path.join(OUT, "cmp"), exist_ok=True)
    out = []
    for name, args in cases:
        path = os.path.join(OUT, "cmp", name + ".json.gz")
        if not os.path.exists(path):
            subprocess.run([sys.executable, os.path.join(BENCH, "gen.py")] + args
                           + ["--out", path], check=True, stdout=subprocess.DEVNULL)
        out.append((name, path, []))
    return out


def snapshots(quick):
    out = []
    fx = os.path.join(ROOT, "fixtures")
    for case in sorted(os.listdir(fx)):
        snap = os.path.join(fx, case, "snapshot.json")
        if not os.path.exists(snap):
            continue
        args_file = os.path.join(fx, case, "args")
        args = open(args_file).read().split() if os.path.exists(args_file) else []
        out.append(("fixture-" + case, snap, args))
    dirs = [os.path.join(BENCH, "suite"), os.path.join(OUT, "suite")]
    for d in dirs:
        if not os.path.isdir(d):
            continue
        for f in sorted(os.listdir(d)):
            if quick and not f.startswith(("small-", "medium-")):
                continue
            out.append(("suite-" + f.split(".")[0], os.path.join(d, f), []))
    if not quick:
        out.extend(generated_cases())
    return out


# Report keys masked in every comparison (wall-clock); --mask-flow-counts adds the
# solver's flow counters, for changes that solve fewer flows to the same plan.
MASKED = ["seconds"]


def run(binary, snap, flags, tmp):
    files = {k: os.path.join(tmp, k + ".json") for k in ("plan", "rollback", "election", "report")}
    cmd = [binary, "plan", "-q", "--snapshot", snap, "--output", files["plan"],
           "--rollback", files["rollback"], "--election", files["election"],
           "--report-json", files["report"]] + [f.replace("{tmp}", tmp) for f in flags]
    r = subprocess.run(cmd, capture_output=True, text=True)
    got = {"rc": r.returncode, "stderr": r.stderr.strip().replace(tmp, "{tmp}")
           .replace(os.path.basename(binary), "kafka-replan")}
    for k, p in files.items():
        if os.path.exists(p):
            data = open(p, "rb").read()
            if k == "report":
                rep = json.loads(data)
                for key in MASKED:
                    rep.get("solver", {}).pop(key, None)
                data = json.dumps(rep, sort_keys=True).encode()
            got[k] = data
    extra = os.path.join(tmp, "tradeoff.json")
    if os.path.exists(extra):
        got["tradeoff"] = open(extra, "rb").read()
    return got


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", default="/work/kafka-replan-baseline")
    ap.add_argument("--candidate", default=os.path.join(ROOT, "target", "release", "kafka-replan"))
    ap.add_argument("--quick", action="store_true", help="fixtures, small and medium only")
    ap.add_argument("--modes", default=",".join(MODES), help="comma-separated subset")
    ap.add_argument("--only", default="", help="only snapshots whose name contains this")
    ap.add_argument("--mask-flow-counts", action="store_true",
                    help="also mask the report's solver.rounds and solver.phases")
    args = ap.parse_args()
    if args.mask_flow_counts:
        MASKED.extend(["rounds", "phases"])
    modes = args.modes.split(",")
    same = differ = 0
    for name, snap, fixed in snapshots(args.quick):
        if args.only not in name:
            continue
        n, excl = snapshot_facts(snap)
        base_flags = list(fixed)
        if excl and "--exclude-brokers" not in base_flags:
            base_flags += ["--exclude-brokers", ",".join(map(str, excl))]
        for mode in modes:
            if n > 150_000 and mode in SLOW:
                continue
            flags = base_flags + MODES[mode](n)
            with tempfile.TemporaryDirectory() as ta, tempfile.TemporaryDirectory() as tb:
                a = run(args.baseline, snap, flags, ta)
                b = run(args.candidate, snap, flags, tb)
            keys = sorted(set(a) | set(b))
            diff = [k for k in keys if a.get(k) != b.get(k)]
            if diff:
                differ += 1
                print(f"DIFF {name} [{mode}]: {', '.join(diff)}", flush=True)
            else:
                same += 1
                print(f"same {name} [{mode}] rc={a['rc']}", flush=True)
    print(f"{same} runs identical, {differ} differ")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
