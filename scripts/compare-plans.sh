#!/usr/bin/env bash
# Runs `kafka-replan plan` in every mode on every fixture and public-suite snapshot with two
# binaries and diffs everything they write: plan, rollback and election JSON, the JSON and
# HTML reports, the text report on stdout, stderr, the exit code and the --tradeoff table,
# and what `score` (JSON and text) says of the plan and of its rollback.
# The only thing masked is the solver's wall time (`"seconds": ...` in the JSON, the
# trailing `..., N.NNN s` of the `solver:` line), which differs between any two runs.
#
# A restructuring of the planner must leave every byte of the outputs as it was: run this
# with the binary built before the change as OLD and the one after it as NEW.
#
# Usage: scripts/compare-plans.sh [OLD_BINARY [NEW_BINARY]]
#   OLD_BINARY  default: $OLD, else ../kafka-replan-baseline beside the checkout
#   NEW_BINARY  default: $NEW, else target/release/kafka-replan (build it first)
# Environment: SUITE (snapshot directory, default ../shared/bench/suite), OUT (where the
# outputs are kept, default a new temporary directory), JOBS (runs at a time, default 2),
# ONLY (a substring: only the snapshots whose name contains it).
# Exit: 0 when every output is identical, 1 when any differs (each difference listed).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OLD=$(realpath "${1:-${OLD:-$ROOT/../kafka-replan-baseline}}")
NEW=$(realpath "${2:-${NEW:-$ROOT/target/release/kafka-replan}}")
SUITE=${SUITE:-$ROOT/../shared/bench/suite}
OUT=${OUT:-$(mktemp -d -t compare-plans.XXXXXX)}
JOBS=${JOBS:-2}
ONLY=${ONLY:-}
for bin in "$OLD" "$NEW"; do
    [[ -x $bin ]] || { echo "error: $bin is not an executable" >&2; exit 2; }
done
mkdir -p "$OUT"
# Both binaries run under the same name: usage messages print it.
mkdir -p "$OUT/.bin/old" "$OUT/.bin/new"
ln -sf "$OLD" "$OUT/.bin/old/kafka-replan"
ln -sf "$NEW" "$OUT/.bin/new/kafka-replan"
OLD_BIN=$OUT/.bin/old/kafka-replan
NEW_BIN=$OUT/.bin/new/kafka-replan

# Every snapshot: the fixtures' and the public suite's.
snapshots=()
for f in "$ROOT"/fixtures/*/snapshot.json "$SUITE"/*.json "$SUITE"/*.json.gz; do
    [[ -e $f ]] || continue
    [[ -z $ONLY || $f == *"$ONLY"* ]] && snapshots+=("$f")
done
[[ ${#snapshots[@]} -gt 0 ]] || { echo "error: no snapshots found" >&2; exit 2; }

# Facts of a snapshot that the modes' arguments are made from, one `key=value` a line.
snapshot_facts() {
    python3 - "$1" <<'EOF'
import gzip, json, sys
path = sys.argv[1]
with (gzip.open if path.endswith(".gz") else open)(path, "rt") as f:
    s = json.load(f)
ids = sorted(b["id"] for b in s["brokers"])
racks = sorted({b.get("rack") for b in s["brokers"] if b.get("rack")})
excluded = sorted(s.get("scenario", {}).get("exclude_brokers", []) or [])
topic = min(p["topic"] for p in s["partitions"])
rf = max(len(p["replicas"]) for p in s["partitions"] if p["topic"] == topic)
keep = [b for b in ids if b not in excluded]
print(f"first={keep[0] if keep else ids[0]}")
print(f"max_id={ids[-1]}")
print(f"rack={racks[0] if racks else ''}")
print(f"excluded={','.join(map(str, excluded))}")
print(f"topic={topic}")
print(f"rf={rf}")
EOF
}

# The full count plan's figures (moves, bytes, leader changes) from a report JSON.
report_figures() {
    python3 - "$1" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
print(r["replica_moves"], r["bytes_moved"], r["leader_changes"])
EOF
}

# One run of `plan` with arguments "$3..." in directory $2 by binary $1; every output file
# gets a fixed relative name, so the text the two binaries print is comparable.
run_case() {
    local bin=$1 dir=$2
    shift 2
    mkdir -p "$dir"
    local rc=0
    (cd "$dir" && "$bin" plan --output plan.json --rollback rollback.json \
        --election election.json --report-json report.json --report-html report.html \
        --throttle 50MB/s "$@" >stdout 2>stderr) || rc=$?
    echo "$rc" >"$dir/rc"
    # The scorer's view of the plan and its rollback (the metrics code behind the report):
    # on the snapshot as it is, so not for the plans with hypothetical brokers.
    local snapshot="" exclude=() prev="" arg
    for arg in "$@"; do
        case $prev in
            --snapshot) snapshot=$arg ;;
            --exclude-brokers) exclude=(--exclude-brokers "$arg") ;;
            --add-brokers) snapshot="" ; break ;;
        esac
        prev=$arg
    done
    if [[ $rc == 0 && -n $snapshot ]]; then
        for f in plan rollback; do
            # A rollback leaves replicas on the excluded brokers: `score` says so, exit 1.
            (cd "$dir" && "$bin" score --snapshot "$snapshot" --plan "$f.json" "${exclude[@]}" \
                --json) >"$dir/score-$f.json" 2>&1 || echo "exit $?" >>"$dir/score-$f.json"
            (cd "$dir" && "$bin" score --snapshot "$snapshot" --plan "$f.json" "${exclude[@]}") \
                >"$dir/score-$f.txt" 2>&1 || echo "exit $?" >>"$dir/score-$f.txt"
        done
    fi
    for f in report.json tradeoff.json stdout; do
        [[ -f $dir/$f ]] || continue
        sed -E -i 's/("seconds": )[-0-9.eE+]+/\1"(wall time)"/; s/^(solver: .*, )[0-9.]+ s$/\1(wall time) s/' "$dir/$f"
    done
}

cases=()  # "snapshot-dir|mode|args..." (args separated by the unit separator)
add() {
    local name=$1 mode=$2
    shift 2
    local IFS=$'\x1f'
    cases+=("$name|$mode|$*")
}

for snap in "${snapshots[@]}"; do
    case $snap in
        "$ROOT"/fixtures/*) name=fixture-$(basename "$(dirname "$snap")") ;;
        *) name=suite-$(basename "$snap" | sed -E 's/\.json(\.gz)?$//') ;;
    esac
    eval "$(snapshot_facts "$snap")"
    base=(--snapshot "$snap")
    [[ -n $excluded ]] && base+=(--exclude-brokers "$excluded")
    # The budgets are fractions of the full count plan, so each one binds.
    run_case "$OLD_BIN" "$OUT/$name/.full" "${base[@]}"
    if [[ $(cat "$OUT/$name/.full/rc") == 0 ]]; then
        read -r moves bytes changes < <(report_figures "$OUT/$name/.full/report.json")
    else
        moves=0 bytes=0 changes=0
    fi
    m25=$((moves / 4)) m50=$((moves / 2)) b50=$((bytes / 2)) b25=$((bytes / 4))
    l25=$((changes / 4))
    next=$((max_id + 1))
    drop=$first
    rack_arg=()
    [[ -n $rack ]] && rack_arg=(--rack "$rack")
    [[ -n $excluded ]] && drop="$excluded,$first"

    add "$name" count "${base[@]}"
    add "$name" count+bytes "${base[@]}" --balance count+bytes
    add "$name" bytes "${base[@]}" --balance bytes
    add "$name" bytes-tolerance-2pc "${base[@]}" --balance bytes --disk-tolerance 2%
    add "$name" max-disk-util-0.6 "${base[@]}" --max-disk-util 0.6
    add "$name" max-disk-util-0.6-bytes "${base[@]}" --max-disk-util 0.6 --balance bytes
    add "$name" max-moves-25pc "${base[@]}" --max-moves "$m25"
    add "$name" max-moves-50pc "${base[@]}" --max-moves "$m50"
    add "$name" max-moves-0 "${base[@]}" --max-moves 0
    add "$name" max-moves-50pc-count+bytes "${base[@]}" --max-moves "$m50" --balance count+bytes
    add "$name" max-moves-50pc-bytes "${base[@]}" --max-moves "$m50" --balance bytes
    add "$name" max-bytes-50pc "${base[@]}" --max-bytes "$b50"
    add "$name" max-bytes-25pc-count+bytes "${base[@]}" --max-bytes "$b25" --balance count+bytes
    add "$name" max-bytes-50pc-bytes "${base[@]}" --max-bytes "$b50" --balance bytes
    add "$name" max-moves-max-bytes "${base[@]}" --max-moves "$m50" --max-bytes "$b50"
    add "$name" max-leader-changes-25pc "${base[@]}" --max-leader-changes "$l25"
    add "$name" max-leader-changes-0 "${base[@]}" --max-leader-changes 0
    add "$name" max-leader-changes-bytes "${base[@]}" --max-leader-changes "$l25" --balance bytes
    add "$name" topic-spread "${base[@]}" --topic-spread
    add "$name" topic-spread-max-moves "${base[@]}" --topic-spread --max-moves "$m50"
    add "$name" topic-spread-count+bytes "${base[@]}" --topic-spread --balance count+bytes
    add "$name" topic-spread-bytes "${base[@]}" --topic-spread --balance bytes
    add "$name" tradeoff "${base[@]}" --tradeoff tradeoff.json
    add "$name" tradeoff-bytes "${base[@]}" --tradeoff tradeoff.json --balance bytes
    add "$name" exclude-brokers --snapshot "$snap" --exclude-brokers "$drop"
    add "$name" exclude-brokers-bytes --snapshot "$snap" --exclude-brokers "$drop" --balance bytes
    add "$name" add-brokers "${base[@]}" --add-brokers 2
    add "$name" add-brokers-rack "${base[@]}" --add-brokers 3 "${rack_arg[@]}" --capacity 2TB
    add "$name" add-brokers-bytes "${base[@]}" --add-brokers 2 --balance bytes
    add "$name" replace-new --snapshot "$snap" --add-brokers 1 "${rack_arg[@]}" --replace "$first=$next"
    add "$name" replace-forced --snapshot "$snap" --add-brokers 1 --replace "$first=$next" --force-rack-change
    add "$name" set-rf-up "${base[@]}" --set-replication-factor "$topic=$((rf + 1))"
    add "$name" set-rf-down "${base[@]}" --set-replication-factor "$topic=$((rf > 1 ? rf - 1 : 1))"
    add "$name" set-rf-bytes "${base[@]}" --set-replication-factor "$topic=$((rf + 1))" --balance bytes
    add "$name" topics "${base[@]}" --topics "$topic"
    if [[ -n $rack ]]; then
        add "$name" drain-rack --snapshot "$snap" --drain-rack "$rack"
        add "$name" drain-rack-bytes --snapshot "$snap" --drain-rack "$rack" --balance bytes
    fi
done

echo "comparing ${#cases[@]} runs on ${#snapshots[@]} snapshots: $OLD vs $NEW (outputs in $OUT)"
export OLD_BIN NEW_BIN OUT
export -f run_case
printf '%s\n' "${cases[@]}" | xargs -d '\n' -P "$JOBS" -n 1 bash -c '
    IFS="|" read -r name mode args <<<"$1"
    IFS=$'"'"'\x1f'"'"' read -r -a argv <<<"$args"
    run_case "$OLD_BIN" "$OUT/$name/$mode/old" "${argv[@]}"
    run_case "$NEW_BIN" "$OUT/$name/$mode/new" "${argv[@]}"
' _

differ=0
declare -A exits=()
for c in "${cases[@]}"; do
    IFS='|' read -r name mode _ <<<"$c"
    dir=$OUT/$name/$mode
    rc=$(cat "$dir/old/rc")
    exits[$rc]=$((${exits[$rc]:-0} + 1))
    if ! diff -r "$dir/old" "$dir/new" >"$dir/diff"; then
        differ=$((differ + 1))
        echo "DIFFERS: $name $mode (see $dir/diff)"
        cut -c1-200 "$dir/diff" | head -20
    fi
done
summary=""
for rc in $(printf '%s\n' "${!exits[@]}" | sort -n); do
    summary+=" exit $rc: ${exits[$rc]},"
done
echo "${#cases[@]} runs compared, $((${#cases[@]} - differ)) identical, $differ differ (old binary's${summary%,})"
[[ $differ == 0 ]]
