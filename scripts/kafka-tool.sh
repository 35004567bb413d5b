#!/usr/bin/env bash
# Runs one of Apache Kafka's own command-line tools from the jars of one Kafka
# version, the way bin/kafka-*.sh would, without needing a Kafka distribution
# tarball. The version: the running test cluster's (KAFKA_REPLAN_TEST_KAFKA_VERSION,
# set by its env file), else KAFKA_VERSION, else the pinned default.
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
       zookeeper-shell (Kafka 3.x)
EOF
}

if [[ $# -lt 1 ]]; then
    usage
    exit 2
fi

# The tests run the tools of the cluster they talk to (the version its env
# file names); by hand KAFKA_VERSION picks one, else the pinned default.
kafka_use_version "${KAFKA_REPLAN_TEST_KAFKA_VERSION:-${KAFKA_VERSION:-$KAFKA_DEFAULT_VERSION}}" kraft \
    "${KAFKA_REPLAN_TEST_LIBS:-}"

tool="$1"
shift
case "$tool" in
    -h | --help | help)
        usage
        exit 0
        ;;
esac
if ! class="$(kafka_tool_class "$tool")"; then
    echo "error: unknown Kafka tool '$tool'" >&2
    usage
    exit 2
fi

kafka_require_libs
kafka_java_tool "$class" "$@"
