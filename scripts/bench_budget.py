#!/usr/bin/env python3
"""Budget report: on each bench snapshot, a `--max-moves` budget of 50 % of LB* planned by
kafka-replan (re-optimised under the budget) against the full plan cut to the same budget,
in plan order (what a truncating tool does) and greedily (the partition changes that reduce
the imbalance most first). Imbalance = the moves still needed to reach the band afterwards
(excess over ceil(avg) on allowed brokers plus replicas left on excluded brokers, the
scorer's LB) and the replica spread (max - min over allowed brokers). A truncated plan that
leaves replicas on an excluded broker is marked invalid.

    scripts/bench_budget.py [SNAPSHOT ...]     (default: the public small and medium suite)
Writes bench-out/budget.md and prints it.
"""
import os
import sys
import tempfile

from benchlib import ROOT, excluded_brokers, load, public_snapshots, run_plan


def counts(brokers, layout):
    c = {b: 0 for b in brokers}
    for reps in layout.values():
        for b in reps:
            c[b] = c.get(b, 0) + 1
    return c


def rack_violations(racks, layout, excluded):
    """Partitions with more replicas in one rack than ceil(RF / racks) (rackless brokers
    count as racks of their own, as in the scorer)."""
    keys = {b: (racks.get(b) or "b:%d" % b) for b in racks}
    nracks = len({keys[b] for b in keys if b not in excluded}) or 1
    bad = 0
    for reps in layout.values():
        per = {}
        for b in reps:
            per[keys.get(b, b)] = per.get(keys.get(b, b), 0) + 1
        if max(per.values()) > -(-len(reps) // nracks):
            bad += 1
    return bad


def imbalance(brokers, excluded, layout):
    c = counts(brokers, layout)
    allowed = [b for b in brokers if b not in excluded]
    total = sum(c.values())
    hi = -(-total // len(allowed))
    lo = total // len(allowed)
    excess = sum(max(0, c[b] - hi) for b in allowed) + sum(c.get(b, 0) for b in excluded)
    deficit = sum(max(0, lo - c[b]) for b in allowed)
    spread = max(c[b] for b in allowed) - min(c[b] for b in allowed)
    return max(excess, deficit), spread, sum(c.get(b, 0) for b in excluded)




def apply(before, plan_json):
    after = dict(before)
    for p in plan_json["partitions"]:
        after[(p["topic"], p["partition"])] = p["replicas"]
    return after


def truncate(before, entries, budget):
    """Plan-order truncation: whole partition changes while the moves fit."""
    after = dict(before)
    used = 0
    for key, reps in entries:
        m = len([b for b in reps if b not in before[key]])
        if used + m > budget:
            continue
        used += m
        after[key] = reps
    return after, used


def greedy(before, entries, budget, brokers, excluded):
    """Greedy truncation: repeatedly take the partition change that lowers the imbalance
    (excess over the band plus replicas on excluded brokers) most per move, while it fits."""
    after = dict(before)
    c = counts(brokers, after)
    allowed = [b for b in brokers if b not in excluded]
    total = sum(c.values())
    hi = -(-total // len(allowed))

    def contrib(b, n):
        return n if b in excluded else max(0, n - hi)

    def gain(key, reps):
        delta = {}
        for b in after[key]:
            delta[b] = delta.get(b, 0) - 1
        for b in reps:
            delta[b] = delta.get(b, 0) + 1
        return sum(contrib(b, c[b]) - contrib(b, c[b] + d) for b, d in delta.items() if d)

    left = list(entries)
    used = 0
    while True:
        best = None
        for i, (key, reps) in enumerate(left):
            m = len([b for b in reps if b not in before[key]])
            if used + m > budget:
                continue
            g = gain(key, reps) / max(m, 1)
            if best is None or g > best[0]:
                best = (g, i, m)
        if best is None or best[0] <= 0:
            break
        _, i, m = best
        key, reps = left.pop(i)
        for b in after[key]:
            c[b] -= 1
        for b in reps:
            c[b] += 1
        after[key] = reps
        used += m
    return after, used


def main():
    snaps = sys.argv[1:] or public_snapshots()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for snap in snaps:
            name = os.path.basename(snap).split(".")[0]
            s = load(snap)
            brokers = [b["id"] for b in s["brokers"]]
            racks = {b["id"]: b.get("rack") for b in s["brokers"]}
            excluded = excluded_brokers(s)
            before = {(p["topic"], p["partition"]): p["replicas"] for p in s["partitions"]}
            full, rep, _, err = run_plan(snap, excluded, [], tmp, name + "-full")
            if err:
                rows.append((name, "-", "-", "full plan failed: " + err, "", ""))
                continue
            lbstar = rep["lb_combined"]
            forced = rep["lb_forced_moves"]
            budget = lbstar // 2
            entries = [((p["topic"], p["partition"]), p["replicas"]) for p in full["partitions"]]
            ours_plan, ours_rep, _, err = run_plan(
                snap, excluded, ["--max-moves", str(budget)], tmp, name + "-budget")
            if err:
                ours = "infeasible (forced %d > budget)" % forced
            else:
                after = apply(before, ours_plan)
                imb, spread, left = imbalance(brokers, excluded, after)
                ours = "%d moves: imbalance %d, spread %d" % (ours_rep["replica_moves"], imb, spread)
            def describe(layout, used):
                imb, spread, left = imbalance(brokers, excluded, layout)
                rv = rack_violations(racks, layout, excluded)
                bad = []
                if left:
                    bad.append("%d replicas left on excluded brokers" % left)
                if rv:
                    bad.append("%d partitions break the rack rule" % rv)
                return "%d moves: imbalance %d, spread %d%s" % (
                    used, imb, spread, ", INVALID: " + ", ".join(bad) if bad else "")

            cut, used = truncate(before, entries, budget)
            trunc = describe(cut, used)
            g, used = greedy(before, entries, budget, brokers, excluded)
            gr = describe(g, used)
            rows.append((name, lbstar, budget, ours, trunc, gr))
    lines = [
        "| snapshot | LB* | budget (50 % LB*) | kafka-replan --max-moves | full plan truncated in order | full plan truncated greedily |",
        "|---|---:|---:|---|---|---|",
    ]
    for r in rows:
        lines.append("| " + " | ".join(str(x) for x in r) + " |")
    text = "\n".join(lines) + "\n"
    os.makedirs(os.path.join(ROOT, "bench-out"), exist_ok=True)
    with open(os.path.join(ROOT, "bench-out", "budget.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
