#!/usr/bin/env bash
# Runs the whole real-Kafka suite (tests/real_kafka*.rs, tests/kafka_admin_live.rs)
# against every Kafka release and mode of the matrix, one cluster at a time
# (scripts/kafka-cluster.sh), and writes the result table (pass/fail/skip per
# release and test, times) to stdout and into docs/kafka-versions.md.
#
#   scripts/test-kafka-versions.sh                  the whole matrix
#   scripts/test-kafka-versions.sh 3.9.1:zk ...     some entries (VERSION:MODE)
#   scripts/test-kafka-versions.sh --no-doc ...     do not touch docs/kafka-versions.md
#
# Each entry's results are kept in .cache/kafka-versions/VERSION-MODE/; the
# table is built from the latest results of every matrix entry, so running one
# entry updates its column and keeps the others (each column says when it ran).
# Needs what scripts/test.sh needs (Java 17+, Maven, openssl). CI runs only
# scripts/test.sh (the default release); this script is for release checks.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd -P)"

# Newest first; the first entry is the default release that scripts/test.sh runs.
MATRIX=(4.1.2:kraft 3.9.1:kraft 3.9.1:zk 3.6.2:zk)
RESULTS="$ROOT/.cache/kafka-versions"
DOC="$ROOT/docs/kafka-versions.md"

log() { echo "test-kafka-versions: $*" >&2; }

# The suite: every real-Kafka test binary, by file name.
suite() {
    local f
    for f in tests/real_kafka*.rs tests/kafka_admin_live.rs; do
        basename "$f" .rs
    done
}

# --inner OUT: runs inside `kafka-cluster.sh run` (the cluster's env exported);
# one `cargo test` per binary so each gets its own log and time.
if [[ "${1:-}" == "--inner" ]]; then
    out="$2"
    rc=0
    # The API versions the brokers offer: what the differences in
    # docs/kafka-versions.md come from.
    scripts/kafka-tool.sh broker-api-versions --bootstrap-server "$KAFKA_REPLAN_TEST_BOOTSTRAP" \
        >"$out/api-versions.txt" 2>&1 || true
    for bin in $(suite); do
        t0=$SECONDS
        brc=0
        cargo test --release --test "$bin" >"$out/$bin.log" 2>&1 || brc=$?
        printf '%s\t%s\t%s\n' "$bin" "$brc" "$((SECONDS - t0))" >>"$out/binaries.tsv"
        log "$bin: exit $brc in $((SECONDS - t0))s"
        ((brc == 0)) || rc=1
    done
    if [[ -f "$KAFKA_REPLAN_TEST_RUN_DIR/skipped.tsv" ]]; then
        cp "$KAFKA_REPLAN_TEST_RUN_DIR/skipped.tsv" "$out/skipped.tsv"
    fi
    exit "$rc"
fi

write_doc=1
entries=()
for arg in "$@"; do
    case "$arg" in
        --no-doc) write_doc=0 ;;
        *:kraft | *:zk) entries+=("$arg") ;;
        *)
            echo "usage: scripts/test-kafka-versions.sh [--no-doc] [VERSION:kraft|VERSION:zk ...]" >&2
            exit 2
            ;;
    esac
done
((${#entries[@]})) || entries=("${MATRIX[@]}")

t_build=$SECONDS
cargo test --release --no-run
log "tests built in $((SECONDS - t_build))s"

overall=0
for entry in "${entries[@]}"; do
    version="${entry%%:*}"
    mode="${entry##*:}"
    out="$RESULTS/$version-$mode"
    rm -rf "$out"
    mkdir -p "$out"
    : >"$out/binaries.tsv"
    log "== Kafka $version ($mode)"
    t0=$SECONDS
    rc=0
    KAFKA_VERSION="$version" KAFKA_MODE="$mode" scripts/kafka-cluster.sh fetch || rc=$?
    if ((rc == 0)); then
        KAFKA_VERSION="$version" KAFKA_MODE="$mode" \
            scripts/kafka-cluster.sh run -- "$ROOT/scripts/test-kafka-versions.sh" --inner "$out" \
            2>"$out/cluster.log" || rc=$?
    fi
    {
        echo "version=$version"
        echo "mode=$mode"
        echo "rc=$rc"
        echo "seconds=$((SECONDS - t0))"
        echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
        echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
        # A started cluster says so in its log; without that line no test ran.
        if grep -q 'cluster up in' "$out/cluster.log" 2>/dev/null; then
            echo "started=1"
        else
            echo "started=0"
        fi
    } >"$out/meta"
    log "Kafka $version ($mode): exit $rc in $((SECONDS - t0))s; logs in $out"
    ((rc == 0)) || overall=1
done

table="$(python3 - "$RESULTS" "${MATRIX[@]}" <<'PYEOF'
import os, re, sys

results, matrix = sys.argv[1], sys.argv[2:]
cols = []
for entry in matrix:
    version, mode = entry.split(":")
    d = os.path.join(results, f"{version}-{mode}")
    meta = {}
    if os.path.exists(os.path.join(d, "meta")):
        for line in open(os.path.join(d, "meta")):
            k, _, v = line.rstrip("\n").partition("=")
            meta[k] = v
    tests, binaries, skips = {}, {}, {}
    if os.path.exists(os.path.join(d, "binaries.tsv")):
        for line in open(os.path.join(d, "binaries.tsv")):
            b, rc, secs = line.rstrip("\n").split("\t")
            binaries[b] = (int(rc), int(secs))
            log = os.path.join(d, b + ".log")
            for m in re.finditer(r"^test (\S+) \.\.\. (ok|FAILED|ignored)", open(log, errors="replace").read(), re.M):
                tests[(b, m.group(1))] = {"ok": "pass", "FAILED": "**FAIL**", "ignored": "ignored"}[m.group(2)]
    if os.path.exists(os.path.join(d, "skipped.tsv")):
        for line in open(os.path.join(d, "skipped.tsv")):
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 4:
                skips[(parts[0], parts[1])] = parts[3]
    for key in skips:
        if tests.get(key) == "pass":
            tests[key] = "skip"
    label = f"{version} {'KRaft' if mode == 'kraft' else 'ZooKeeper'}"
    cols.append({"label": label, "meta": meta, "tests": tests, "binaries": binaries, "skips": skips})

rows = sorted({k for c in cols for k in c["tests"]} | {(b, None) for c in cols for b in c["binaries"]},
              key=lambda k: (k[0], k[1] or ""))
out = []
out.append("| | " + " | ".join(c["label"] for c in cols) + " |")
out.append("|---|" + "---|" * len(cols))
def summary(c):
    m = c["meta"]
    if not m:
        return "not run"
    if m.get("started") != "1":
        return f"cluster did not start ({m.get('date', '?')})"
    vals = list(c["tests"].values())
    return (f"{vals.count('pass')} pass, {vals.count('**FAIL**')} fail, {vals.count('skip')} skip; "
            f"{m.get('seconds', '?')} s, {m.get('date', '?')}, {m.get('commit', '?')}")
out.append("| **result** | " + " | ".join(summary(c) for c in cols) + " |")
for b, t in rows:
    if t is None:
        cells = []
        for c in cols:
            if b in c["binaries"]:
                rc, secs = c["binaries"][b]
                cells.append(f"{secs} s" + ("" if rc == 0 else ", exit " + str(rc)))
            else:
                cells.append("")
        out.append(f"| **{b}** | " + " | ".join(cells) + " |")
    else:
        cells = [c["tests"].get((b, t), "") for c in cols]
        out.append(f"| `{t}` | " + " | ".join(cells) + " |")
skip_lines = []
for c in cols:
    for (b, t), reason in sorted(c["skips"].items()):
        skip_lines.append(f"- {c['label']}: `{b}::{t}` skipped: {reason}")
if skip_lines:
    out.append("")
    out.extend(skip_lines)
print("\n".join(out))
PYEOF
)"
echo "$table"

if ((write_doc)) && [[ -f "$DOC" ]]; then
    printf '%s\n' "$table" >"$RESULTS/table.md"
    python3 - "$DOC" "$RESULTS/table.md" <<'PYEOF'
import sys
path, table = sys.argv[1], open(sys.argv[2]).read()
text = open(path).read()
begin, end = "<!-- matrix:begin -->", "<!-- matrix:end -->"
if begin not in text or end not in text:
    sys.exit(f"{path}: no {begin} ... {end} markers for the table")
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
open(path, "w").write(head + begin + "\n" + table + end + tail)
PYEOF
    log "table written to $DOC"
fi
exit "$overall"
