#!/usr/bin/env bash
# Captures real broker replies into tests/fixtures/replies/ (the seeds of
# tests/fuzz_decoders.rs and the cases of tests/kafka_replies_decode.rs): starts the test
# cluster (scripts/kafka-cluster.sh; KAFKA_VERSION picks the Kafka version), makes topic
# `capture` (3 partitions, replication factor 2) with 30 messages and consumer group
# `capture-group` that read them and committed, runs the ignored capture test, checks the
# new fixtures decode, and stops the cluster.
# Usage: scripts/capture-replies.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" != "--inside" ]]; then
    exec scripts/kafka-cluster.sh run -- "$0" --inside
fi
bootstrap="${KAFKA_REPLAN_TEST_BOOTSTRAP%%,*}"
tool=scripts/kafka-tool.sh
"$tool" topics --bootstrap-server "$bootstrap" --create --topic capture \
    --partitions 3 --replication-factor 2
seq 1 30 | "$tool" console-producer --bootstrap-server "$bootstrap" --topic capture
"$tool" console-consumer --bootstrap-server "$bootstrap" --topic capture \
    --group capture-group --from-beginning --max-messages 30 >/dev/null
cargo test --release --test kafka_replies_decode -- --ignored \
    capture_replies_from_the_test_cluster --nocapture
cargo test --release --test kafka_replies_decode
