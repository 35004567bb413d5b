# shellcheck shell=bash
# Shared settings for scripts/kafka-cluster.sh and scripts/kafka-tool.sh.
# Sourced, not executed; the scripts that source it use these variables.
# shellcheck disable=SC2034

KAFKA_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
KAFKA_POM="$KAFKA_REPO_ROOT/tests/kafka/pom.xml"

# The version is pinned in exactly one place, the pom, so the jars fetched and
# the cache directory they land in can never disagree.
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_POM" | head -n 1)"
if [[ -z "$KAFKA_VERSION" ]]; then
    echo "error: no <kafka.version> in $KAFKA_POM" >&2
    exit 1
fi

# Everything downloaded or generated stays in the repo's ignored .cache/.
KAFKA_CACHE="$KAFKA_REPO_ROOT/.cache"
KAFKA_M2="$KAFKA_CACHE/m2"
KAFKA_LIBS="${KAFKA_REPLAN_TEST_LIBS:-$KAFKA_CACHE/kafka/$KAFKA_VERSION/libs}"
KAFKA_RUN_ROOT="$KAFKA_CACHE/kafka-run"

# Small heaps and the serial collector: the machine has two cores shared by
# five broker/controller JVMs, the test binaries and other builds. C1-only JIT
# cuts the CPU each short-lived tool JVM burns before it does any work.
KAFKA_TOOL_JAVA_OPTS="${KAFKA_TOOL_JAVA_OPTS:--Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto}"

kafka_require_libs() {
    if [[ ! -f "$KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar" ]]; then
        echo "error: Kafka $KAFKA_VERSION jars not found in $KAFKA_LIBS; run scripts/kafka-cluster.sh fetch" >&2
        exit 1
    fi
}

# Runs one of Kafka's main classes with the tools' logging (stderr, WARN).
kafka_java_tool() {
    local class="$1"
    shift
    # shellcheck disable=SC2086 # the options string is deliberately word-split
    java $KAFKA_TOOL_JAVA_OPTS \
        -Dlog4j2.configurationFile="$KAFKA_REPO_ROOT/tests/kafka/log4j2-tools.properties" \
        -cp "$KAFKA_LIBS/*" "$class" "$@"
}
