#!/usr/bin/env python3
"""Seeded generator of clusters with skewed traffic, for `plan --balance load`.

    scripts/gen_traffic.py --brokers 12 --racks 3 --partitions 1200 --seed 1 --out snap.json
        [--hot-fraction 0.10] [--hot-share 0.80] [--hot-brokers 3] [--add-brokers K]
        [--total-in 200MB]

Writes the bench snapshot format (/work/shared/bench/README.md section 1: brokers with id,
rack, disk_capacity_bytes; partitions with topic, partition, replicas, size_bytes; a
`scenario`) plus the rate fields of kafka-replan snapshots: `bytes_in_per_sec` and
`bytes_out_per_sec` per partition and `rates_window_ms`.

* Topics: 1-64 partitions each; replication factor 3 (10 % of topics RF 2); replica sizes
  lognormal around 1 GB.
* Layout: rack-aware, each replica on the least loaded of 3 random eligible brokers, leaders
  by leader count: counts are near balanced, as in a real cluster.
* Traffic: a few hot topics hold `--hot-fraction` of the partitions and carry `--hot-share`
  of the produce traffic; the hottest partitions are led by `--hot-brokers` brokers (their
  preferred leader is put there), which is what makes a count-balanced cluster look
  balanced while a few brokers carry most of the load. Consumer traffic is the produce
  rate times a per-topic fan-out of 0-3 consumer groups.
* `--add-brokers K` adds K empty brokers (a scale-out: the count balance moves replicas onto
  them, the load balance only what the load needs).
* Same arguments, same bytes.
"""
import argparse
import json
import random
import sys


def parse_size(s):
    units = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
    t = s.strip().upper().removesuffix("/S")
    num = t.rstrip("KMGTB")
    return int(float(num) * units[t[len(num):]])


def generate(a):
    rng = random.Random(a.seed)
    brokers = [{"id": i + 1, "rack": "r%d" % (i % a.racks + 1)} for i in range(a.brokers)]
    # Topics until the partition count is reached.
    topics = []
    left = a.partitions
    while left > 0:
        n = min(left, rng.choice([1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64]))
        rf = 2 if rng.random() < 0.10 else 3
        topics.append({"name": "t%03d" % len(topics), "n": n, "rf": rf,
                       "size": rng.lognormvariate(0, 1.0) * 1e9})
        left -= n
    # Hot topics: whole topics, largest first among a shuffled order, until the fraction.
    order = list(range(len(topics)))
    rng.shuffle(order)
    hot = set()
    hot_parts = 0
    for i in order:
        if hot_parts >= a.hot_fraction * a.partitions:
            break
        if hot_parts + topics[i]["n"] > a.hot_fraction * a.partitions * 1.5 and hot_parts > 0:
            continue
        hot.add(i)
        hot_parts += topics[i]["n"]
    hot_brokers = [b["id"] for b in brokers[: a.hot_brokers]]
    by_id = {b["id"]: b for b in brokers}
    replicas_on = {b["id"]: 0 for b in brokers}
    leaders_on = {b["id"]: 0 for b in brokers}
    racks = sorted({b["rack"] for b in brokers})
    parts = []
    cold_weight = (1 - a.hot_share) / max(1, a.partitions - hot_parts)
    hot_weight = a.hot_share / max(1, hot_parts)
    hot_round = 0
    for ti, t in enumerate(topics):
        fanout = rng.choice([0, 1, 1, 2, 2, 3])
        for p in range(t["n"]):
            is_hot = ti in hot
            cap = -(-t["rf"] // len(racks))
            chosen = []
            if is_hot:
                lead = hot_brokers[hot_round % len(hot_brokers)]
                hot_round += 1
                chosen.append(lead)
            while len(chosen) < t["rf"]:
                per_rack = {}
                for c in chosen:
                    per_rack[by_id[c]["rack"]] = per_rack.get(by_id[c]["rack"], 0) + 1
                ok = [b["id"] for b in brokers
                      if b["id"] not in chosen and per_rack.get(b["rack"], 0) < cap]
                pick = min(rng.sample(ok, min(3, len(ok))), key=lambda x: (replicas_on[x], x))
                chosen.append(pick)
            if not is_hot:
                # The least-leading replica leads (near-balanced leader counts).
                lead = min(chosen, key=lambda x: (leaders_on[x], x))
                chosen.remove(lead)
                chosen.insert(0, lead)
            for c in chosen:
                replicas_on[c] += 1
            leaders_on[chosen[0]] += 1
            weight = (hot_weight if is_hot else cold_weight) * rng.lognormvariate(0, 0.3)
            parts.append({"topic": t["name"], "partition": p, "replicas": chosen,
                          "size_bytes": int(t["size"] * rng.lognormvariate(0, 0.35)),
                          "w": weight, "fanout": fanout})
    total_w = sum(p["w"] for p in parts)
    for p in parts:
        bytes_in = round(a.total_in * p.pop("w") / total_w)
        p["bytes_in_per_sec"] = bytes_in
        p["bytes_out_per_sec"] = bytes_in * p.pop("fanout")
    used = sum(p["size_bytes"] * len(p["replicas"]) for p in parts)
    allowed = a.brokers + a.add_brokers
    capacity = -(-int(used / allowed / 0.6) // 10**11) * 10**11
    new = []
    for i in range(a.add_brokers):
        bid = a.brokers + i + 1
        brokers.append({"id": bid, "rack": "r%d" % ((bid - 1) % a.racks + 1)})
        new.append(bid)
    for b in brokers:
        b["disk_capacity_bytes"] = capacity
    name = "traffic-b%d-p%d%s-s%d" % (a.brokers, a.partitions,
                                      "-add%d" % a.add_brokers if a.add_brokers else "", a.seed)
    return {"rates_window_ms": 60000, "brokers": brokers, "partitions": parts,
            "scenario": {"name": name, "kind": "traffic", "seed": a.seed,
                         "exclude_brokers": [], "new_brokers": new}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--brokers", type=int, default=12)
    ap.add_argument("--racks", type=int, default=3)
    ap.add_argument("--partitions", type=int, default=1200)
    ap.add_argument("--hot-fraction", type=float, default=0.10)
    ap.add_argument("--hot-share", type=float, default=0.80)
    ap.add_argument("--hot-brokers", type=int, default=3)
    ap.add_argument("--add-brokers", type=int, default=0)
    ap.add_argument("--total-in", type=parse_size, default=parse_size("200MB"),
                    help="cluster produce rate, bytes/s (default 200MB)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="-")
    a = ap.parse_args()
    if a.brokers < a.racks or a.hot_brokers > a.brokers or a.partitions < 1:
        sys.exit("error: need brokers >= racks >= 1, hot brokers <= brokers, partitions >= 1")
    text = json.dumps(generate(a), separators=(",", ":"), sort_keys=True) + "\n"
    if a.out == "-":
        sys.stdout.write(text)
    else:
        with open(a.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
