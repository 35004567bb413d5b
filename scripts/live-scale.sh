#!/usr/bin/env bash
# `snapshot --bootstrap-server` at scale against in-process test brokers: prints a
# Markdown table of wall time and peak RSS per row (docs/scaling.md, "The live path").
#
#   scripts/live-scale.sh                      2,700 brokers / 5 M partitions: 32 at once
#                                              with no answer delay, then 5 ms per
#                                              DescribeLogDirs answer at 32 and at 1
#   LIVE_SCALE_ROWS=200:1000000:32:0 scripts/live-scale.sh
#                                              rows of brokers:partitions:at-once:delay-ms
#
# Needs about 4 GB of free memory at 5 M partitions (the client's peak is in the table;
# the test brokers generate their answers and hold almost nothing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release --quiet
cargo test --release --lib --quiet kafka::admin::scale_tests::live_snapshot_at_scale \
    -- --ignored --nocapture --test-threads=1 2>&1 | grep '^|'
