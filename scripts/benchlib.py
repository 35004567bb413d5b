"""What the bench report scripts share: paths, snapshot loading, the public suite list and
one `kafka-replan plan` run on a snapshot (its scenario's excluded brokers applied)."""
import gzip
import json
import os
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.environ.get("BENCH_DIR", os.path.join(os.path.dirname(ROOT), "shared", "bench"))
REPLAN = os.path.join(ROOT, "target", "release", "kafka-replan")


def load(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        return json.load(f)


def public_snapshots():
    """The public small and medium suite, sorted."""
    suite = os.path.join(BENCH, "suite")
    return sorted(os.path.join(suite, f) for f in os.listdir(suite)
                  if f.startswith(("small-", "medium-")))


def excluded_brokers(snapshot_json):
    return set(snapshot_json.get("scenario", {}).get("exclude_brokers", []) or [])


def run_plan(snapshot, excluded, flags, out_dir, name="plan"):
    """Runs `plan` and returns (plan JSON, report JSON, wall seconds, error line or None)."""
    plan = os.path.join(out_dir, name + ".json")
    report = os.path.join(out_dir, name + "-report.json")
    cmd = [REPLAN, "plan", "-q", "--snapshot", snapshot, "--output", plan,
           "--report-json", report] + list(flags)
    if excluded:
        cmd += ["--exclude-brokers", ",".join(map(str, sorted(excluded)))]
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.monotonic() - t0
    if r.returncode != 0:
        err = r.stderr.strip().splitlines()
        return None, None, dt, err[-1] if err else "failed"
    return load(plan), load(report), dt, None
