#!/usr/bin/env bash
# Plan-quality report: runs `kafka-replan plan` on the public bench suite through the suite's
# own harness and scorer, next to the peers' published results. Writes bench-out/results*/.
#   scripts/bench-quality.sh [small,medium] [large] [xlarge]
# Large and xlarge snapshots are generated into bench-out/suite/ with the suite's gen.py.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH=${BENCH_DIR:-$(cd .. && pwd)/shared/bench}
[ -f "$BENCH/harness.py" ] || { echo "bench suite not found at $BENCH (set BENCH_DIR)" >&2; exit 2; }
cargo build --release -q
export REPLAN=$PWD/target/release/kafka-replan
OUT=$PWD/bench-out
mkdir -p "$OUT/suite"
TEMPLATE='"$REPLAN" plan -q --snapshot {snapshot_json} --output {plan} $([ -n "{exclude}" ] && echo --exclude-brokers {exclude})'
tiers=("${@:-small,medium}")
for t in "${tiers[@]}"; do
  case "$t" in
    small,medium|small|medium) suite="$BENCH/suite"; res="$OUT/results"; peers="$BENCH/results/results.json" ;;
    large) suite="$OUT/suite"; res="$OUT/results_large"; peers="$BENCH/results_large/results.json" ;;
    xlarge) suite="$OUT/suite"; res="$OUT/results_xlarge"; peers="$BENCH/results_xlarge/results.json" ;;
    *) echo "unknown tier $t" >&2; exit 2 ;;
  esac
  if [ "$suite" = "$OUT/suite" ] && ! ls "$suite/$t-"* >/dev/null 2>&1; then
    (cd "$BENCH" && python3 gen.py --suite --tiers "$t" --out-dir "$suite")
  fi
  mkdir -p "$res"
  (cd "$BENCH" && python3 harness.py --tiers "$t" --suite-dir "$suite" --results-dir "$res" \
      --import-results "$peers" --no-peers --timeout 600 --tool-named kafka-replan "$TEMPLATE")
done
