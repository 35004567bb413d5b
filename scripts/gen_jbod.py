#!/usr/bin/env python3
"""Seeded generator of JBOD cluster snapshots: the bench suite's shapes (gen.py's
make_snapshot, the format of ../shared/bench/README.md section 1) plus log dirs.

  python3 scripts/gen_jbod.py --brokers 24 --racks 3 --partitions 5000 --kind skewed \
          --seed 1 --out /tmp/jbod-medium-skewed.json.gz
  python3 scripts/gen_jbod.py --suite --out-dir /tmp/jbod-suite [--tiers small,medium]

On top of gen.py's layout, every broker gets 2-4 log dirs (one broker gets a single dir) of
unequal sizes (weights 0.5-1.5 of an even split of the broker's capacity, plus 20 % headroom
so every dir holds what it is given). Replicas are put in dirs the way Kafka does for new
replicas (the dir with the fewest partitions), except that the last dir of every other broker
was added recently and received only a tenth of its share: skewed fill by bytes. One broker
has a dir offline (its replicas stay listed in it; they must leave the broker). About 2 % of
the replicas have an unknown dir (null). Extra keys are ignored by the bench scorer, so the
files stay usable by everything that reads the bench format.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import sys

BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "bench")
sys.path.insert(0, os.environ.get("BENCH_DIR", BENCH))

import gen  # noqa: E402  (the bench generator; read-only, imported by path)

TIERS = {
    "small": (6, 3, 300),
    "medium": (24, 3, 5000),
    "large": (60, 6, 40000),
}
KINDS = ["scale-out", "decommission", "skewed", "rack-repair"]
DEFAULT_K = {"small": (3, 1), "medium": (6, 3), "large": (12, 6)}


def add_log_dirs(snap: dict, seed: int) -> dict:
    rng = random.Random(f"jbod:{seed}:{len(snap['brokers'])}:{len(snap['partitions'])}")
    brokers = snap["brokers"]
    ids = [b["id"] for b in brokers]
    excluded = set(snap.get("scenario", {}).get("exclude_brokers", []))
    # The broker with one dir and the one with an offline dir: existing, not excluded brokers.
    candidates = [b for b in ids if b not in excluded]
    single = candidates[len(candidates) // 3] if len(candidates) > 2 else None
    offline_broker = candidates[(2 * len(candidates)) // 3] if len(candidates) > 2 else None
    use = {b: 0 for b in ids}
    for p in snap["partitions"]:
        for r in p["replicas"]:
            use[r] += p["size_bytes"]
    dirs: dict[int, list[dict]] = {}
    for b in brokers:
        n = 1 if b["id"] == single else rng.randint(2, 4)
        weights = [rng.uniform(0.5, 1.5) for _ in range(n)]
        cap = b.get("disk_capacity_bytes") or max(use[b["id"]] * 2, 1)
        total = sum(weights)
        dirs[b["id"]] = [
            {"path": f"/data/d{k}", "capacity_bytes": int(cap * w / total * 1.2)}
            for k, w in enumerate(weights)
        ]
    # Kafka's rule for new replicas: the dir with the fewest partitions; a recently added dir
    # (the last one of every other broker) took part only for a tenth of the replicas.
    count = {b: [0] * len(dirs[b]) for b in ids}
    used = {b: [0] * len(dirs[b]) for b in ids}
    for p in snap["partitions"]:
        placed = []
        for r in p["replicas"]:
            if rng.random() < 0.02:
                placed.append(None)
                continue
            ds = dirs[r]
            late = len(ds) > 1 and r % 2 == 0 and rng.random() > 0.1
            choices = [k for k in range(len(ds)) if not (late and k == len(ds) - 1)]
            fits = [k for k in choices if used[r][k] + p["size_bytes"] <= ds[k]["capacity_bytes"]]
            if not fits:
                fits = [k for k in range(len(ds)) if used[r][k] + p["size_bytes"] <= ds[k]["capacity_bytes"]]
            if not fits:
                placed.append(None)
                continue
            k = min(fits, key=lambda k: (count[r][k], k))
            count[r][k] += 1
            used[r][k] += p["size_bytes"]
            placed.append(ds[k]["path"])
        p["log_dirs"] = placed
    if offline_broker is not None and len(dirs[offline_broker]) > 1:
        dirs[offline_broker][0]["offline"] = True
    for b in brokers:
        b["log_dirs"] = dirs[b["id"]]
        # The broker's capacity is that of its dirs.
        b["disk_capacity_bytes"] = sum(d["capacity_bytes"] for d in dirs[b["id"]])
    snap.setdefault("scenario", {})["jbod"] = {
        "seed": seed,
        "single_dir_broker": single,
        "offline_dir": [offline_broker, "/data/d0"] if offline_broker is not None else None,
    }
    return snap


def write(snap: dict, out: str | None) -> None:
    text = json.dumps(snap, separators=(",", ":")).encode()
    if out is None:
        sys.stdout.write(text.decode() + "\n")
    elif out.endswith(".gz"):
        with open(out, "wb") as f:
            with gzip.GzipFile(fileobj=f, mode="wb", mtime=0) as g:
                g.write(text)
    else:
        with open(out, "wb") as f:
            f.write(text)


def one(brokers: int, racks: int, partitions: int, kind: str, k: int, seed: int) -> dict:
    snap = gen.make_snapshot(brokers, racks, partitions, kind, k, seed,
                             name=f"jbod-{kind}-{brokers}b-{partitions}p")
    return add_log_dirs(snap, seed)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", action="store_true")
    ap.add_argument("--tiers", default="small,medium")
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--out-dir", default=None)
    ap.add_argument("--brokers", type=int, default=6)
    ap.add_argument("--racks", type=int, default=3)
    ap.add_argument("--partitions", type=int, default=300)
    ap.add_argument("--kind", choices=KINDS, default="skewed")
    ap.add_argument("--k", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    if a.suite:
        if not a.out_dir:
            ap.error("--suite needs --out-dir")
        os.makedirs(a.out_dir, exist_ok=True)
        for tier in a.tiers.split(","):
            nb, nr, np_ = TIERS[tier]
            for kind in a.kinds.split(","):
                k = DEFAULT_K[tier][0] if kind == "scale-out" else DEFAULT_K[tier][1]
                snap = one(nb, nr, np_, kind, k, a.seed)
                write(snap, os.path.join(a.out_dir, f"jbod-{tier}-{kind}.json.gz"))
        return 0
    write(one(a.brokers, a.racks, a.partitions, a.kind, a.k, a.seed), a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
