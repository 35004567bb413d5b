#!/usr/bin/env bash
# Runs one of Apache Kafka's own command-line tools from the pinned jars, the
# way bin/kafka-*.sh would, without needing a Kafka distribution tarball.
#
#   scripts/kafka-tool.sh TOOL [ARGS...]
#
# TOOL is the bin/ script name without "kafka-" and ".sh", e.g.
#   scripts/kafka-tool.sh topics --bootstrap-server 127.0.0.1:9092 --list
#   scripts/kafka-tool.sh reassign-partitions --bootstrap-server ... --verify --reassignment-json-file plan.json
# Exit code and stdout are the tool's own; client warnings go to stderr.
set -euo pipefail
# shellcheck source=scripts/kafka-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/kafka-common.sh"

usage() {
    cat >&2 <<'EOF'
usage: scripts/kafka-tool.sh TOOL [ARGS...]
tools: reassign-partitions topics log-dirs leader-election configs
       broker-api-versions metadata-quorum storage console-producer
       console-consumer producer-perf-test consumer-groups features
EOF
}

if [[ $# -lt 1 ]]; then
    usage
    exit 2
fi

tool="$1"
shift
case "$tool" in
    reassign-partitions) class=org.apache.kafka.tools.reassign.ReassignPartitionsCommand ;;
    topics) class=org.apache.kafka.tools.TopicCommand ;;
    log-dirs) class=org.apache.kafka.tools.LogDirsCommand ;;
    leader-election) class=org.apache.kafka.tools.LeaderElectionCommand ;;
    # ConfigCommand is still Scala in 4.1 and lives in the server jar.
    configs) class=kafka.admin.ConfigCommand ;;
    broker-api-versions) class=org.apache.kafka.tools.BrokerApiVersionsCommand ;;
    metadata-quorum) class=org.apache.kafka.tools.MetadataQuorumCommand ;;
    storage) class=kafka.tools.StorageTool ;;
    console-producer) class=org.apache.kafka.tools.ConsoleProducer ;;
    console-consumer) class=org.apache.kafka.tools.consumer.ConsoleConsumer ;;
    producer-perf-test) class=org.apache.kafka.tools.ProducerPerformance ;;
    consumer-groups) class=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
    features) class=org.apache.kafka.tools.FeatureCommand ;;
    -h | --help | help)
        usage
        exit 0
        ;;
    *)
        echo "error: unknown Kafka tool '$tool'" >&2
        usage
        exit 2
        ;;
esac

kafka_require_libs
kafka_java_tool "$class" "$@"
