#!/usr/bin/env python3
"""Render the README's plan-quality table from the harness results (bench-out/results*/).

For each snapshot: LB*, kafka-replan's figures, and the best valid, rack-safe peer (fewest
moves among peers whose plan is valid and leaves 0 rack violations), with Kafka's
--generate baseline for scale.
"""
import json
import sys

def tb(b):
    return f"{b / 1e12:.2f} TB"

def main(paths):
    print("| snapshot | LB* | kafka-replan moves | best rack-safe peer as balanced | kafka --generate moves "
          "| replica / leader spread | disk max÷mean | rack / capacity viol. | bytes moved | wall s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for path in paths:
        data = json.load(open(path))
        rows = data["rows"] if isinstance(data, dict) and "rows" in data else data
        if isinstance(rows, dict):
            rows = list(rows.values())
        by_snap = {}
        for r in rows:
            by_snap.setdefault(r["snapshot"], {})[r["tool"]] = r
        for snap in sorted(by_snap, key=lambda s: (["small", "medium", "large", "xlarge"].index(s.split("-")[0]), s)):
            tools = by_snap[snap]
            me = tools.get("kafka-replan")
            if not me or not me.get("score"):
                continue
            s = me["score"]
            safe = [(t["score"]["replicas_spread"], t["score"]["replica_moves"], name)
                    for name, t in tools.items()
                    if name not in ("kafka-replan", "kafka-generate") and t.get("score")
                    and t["score"]["valid"] and t["score"]["rack_violations"] == 0]
            # Fewest moves among rack-safe peers at least as balanced as us; else the most
            # balanced rack-safe peer.
            as_good = [(m, sp, n) for sp, m, n in safe if sp <= s["replicas_spread"]]
            if as_good:
                m, sp, n = min(as_good)
                best = f"{m} ({n}, spread {sp})"
            elif safe:
                sp, m, n = min(safe)
                best = f"none as balanced; closest: {m} ({n}, spread {sp})"
            else:
                best = "–"
            gen = tools.get("kafka-generate", {}).get("score", {}).get("replica_moves", "–")
            print(f"| {snap} | {s['lb_combined']} | {s['replica_moves']} | {best} | {gen} "
                  f"| {s['replicas_spread']} / {s['leaders_spread']} | {s['disk_max_mean_ratio']} "
                  f"| {s['rack_violations']} / {s['capacity_violations']} | {tb(s['bytes_moved'])} | {me['wall_s']:.2f} |")

if __name__ == "__main__":
    main(sys.argv[1:] or ["bench-out/results/results.json", "bench-out/results_large/results.json",
                          "bench-out/results_xlarge/results.json"])
