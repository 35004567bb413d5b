# shellcheck shell=bash
# Shared settings for scripts/kafka-cluster.sh and scripts/kafka-tool.sh.
# Sourced, not executed; the scripts that source it use these variables.
# shellcheck disable=SC2034

KAFKA_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"

# The default version is pinned in exactly one place, the 4.x pom, so the jars
# fetched and the cache directory they land in can never disagree. Other
# versions (KAFKA_VERSION=...) are passed to Maven as -Dkafka.version.
KAFKA_DEFAULT_POM="$KAFKA_REPO_ROOT/tests/kafka/pom.xml"
KAFKA_DEFAULT_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_DEFAULT_POM" | head -n 1)"
if [[ -z "$KAFKA_DEFAULT_VERSION" ]]; then
    echo "error: no <kafka.version> in $KAFKA_DEFAULT_POM" >&2
    exit 1
fi
KAFKA_DEFAULT_MODE=kraft

# Everything downloaded or generated stays in the repo's ignored .cache/.
KAFKA_CACHE="$KAFKA_REPO_ROOT/.cache"
KAFKA_M2="$KAFKA_CACHE/m2"
KAFKA_RUN_ROOT="$KAFKA_CACHE/kafka-run"

# Small heaps and the serial collector: the machine has two cores shared by
# five broker/controller JVMs, the test binaries and other builds. C1-only JIT
# cuts the CPU each short-lived tool JVM burns before it does any work.
KAFKA_TOOL_JAVA_OPTS="${KAFKA_TOOL_JAVA_OPTS:--Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto}"

# kafka_use_version VERSION MODE [LIBS]: selects the Kafka release (and, for a
# cluster, the metadata mode) the scripts work with. Sets KAFKA_VERSION,
# KAFKA_MODE, KAFKA_MAJOR, KAFKA_MINOR, KAFKA_POM, KAFKA_LIBS and the logging
# options of the broker (KAFKA_BROKER_LOG_OPTS) and the tools
# (KAFKA_TOOL_LOG_OPTS). Refuses what the test cluster cannot run.
kafka_use_version() {
    local version="$1" mode="$2" libs="${3:-}"
    if [[ ! "$version" =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]]; then
        echo "error: KAFKA_VERSION '$version' is not a release number like 3.9.1" >&2
        exit 2
    fi
    KAFKA_MAJOR="${BASH_REMATCH[1]}"
    KAFKA_MINOR="${BASH_REMATCH[2]}"
    case "$mode" in
        kraft | zk) ;;
        *)
            echo "error: KAFKA_MODE '$mode' is neither kraft nor zk" >&2
            exit 2
            ;;
    esac
    if ((KAFKA_MAJOR >= 4)); then
        # Kafka 4.0 removed ZooKeeper mode.
        if [[ "$mode" == zk ]]; then
            echo "error: Kafka $version has no ZooKeeper mode (removed in 4.0); use KAFKA_MODE=kraft" >&2
            exit 2
        fi
        KAFKA_POM="$KAFKA_DEFAULT_POM"
        KAFKA_BROKER_LOG_OPTS="-Dlog4j2.configurationFile=$KAFKA_REPO_ROOT/tests/kafka/log4j2-broker.properties"
        KAFKA_TOOL_LOG_OPTS="-Dlog4j2.configurationFile=$KAFKA_REPO_ROOT/tests/kafka/log4j2-tools.properties"
    elif ((KAFKA_MAJOR == 3 && KAFKA_MINOR >= 6)); then
        # Before 3.6 the CLI tools lived in other classes and jars, and SCRAM
        # users cannot be created by the KRaft storage format before 3.5.
        KAFKA_POM="$KAFKA_REPO_ROOT/tests/kafka/pom-3.xml"
        # Kafka 3.x logs through log4j 1 (reload4j), configured by a URL.
        KAFKA_BROKER_LOG_OPTS="-Dlog4j.configuration=file:$KAFKA_REPO_ROOT/tests/kafka/log4j-broker.properties"
        KAFKA_TOOL_LOG_OPTS="-Dlog4j.configuration=file:$KAFKA_REPO_ROOT/tests/kafka/log4j-tools.properties"
    else
        echo "error: Kafka $version is not supported by the test cluster (3.6 or newer)" >&2
        exit 2
    fi
    KAFKA_VERSION="$version"
    KAFKA_MODE="$mode"
    KAFKA_LIBS="${libs:-$KAFKA_CACHE/kafka/$KAFKA_VERSION/libs}"
}

kafka_require_libs() {
    if [[ ! -f "$KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar" ]]; then
        echo "error: Kafka $KAFKA_VERSION jars not found in $KAFKA_LIBS; run KAFKA_VERSION=$KAFKA_VERSION scripts/kafka-cluster.sh fetch" >&2
        exit 1
    fi
}

# True when a Kafka jar of the selected version holds CLASS (dotted name).
# Jar entry names are stored uncompressed, so a byte search finds them without
# unzip (not installed on every machine). Only ever asked about org.apache.*
# names, which no other entry name can contain.
kafka_has_class() {
    local entry="${1//.//}.class"
    LC_ALL=C grep -qaF -- "$entry" "$KAFKA_LIBS"/kafka*.jar 2>/dev/null
}

# Prints the main class of a CLI tool (the bin/ name without kafka- and .sh)
# for the selected version: Kafka moved most tools from Scala classes in the
# server jar (kafka.admin.*, kafka.tools.*) to Java classes in kafka-tools
# between 3.5 and 4.0, a few at each release. The candidates are newest first;
# the first one the jars hold wins, the last one is the oldest home.
kafka_tool_class() {
    local candidates=() c
    case "$1" in
        reassign-partitions) candidates=(org.apache.kafka.tools.reassign.ReassignPartitionsCommand kafka.admin.ReassignPartitionsCommand) ;;
        topics) candidates=(org.apache.kafka.tools.TopicCommand kafka.admin.TopicCommand) ;;
        log-dirs) candidates=(org.apache.kafka.tools.LogDirsCommand kafka.admin.LogDirsCommand) ;;
        leader-election) candidates=(org.apache.kafka.tools.LeaderElectionCommand kafka.admin.LeaderElectionCommand) ;;
        # ConfigCommand is still Scala in 4.1 and lives in the server jar.
        configs) candidates=(kafka.admin.ConfigCommand) ;;
        broker-api-versions) candidates=(org.apache.kafka.tools.BrokerApiVersionsCommand kafka.admin.BrokerApiVersionsCommand) ;;
        metadata-quorum) candidates=(org.apache.kafka.tools.MetadataQuorumCommand) ;;
        storage) candidates=(kafka.tools.StorageTool) ;;
        console-producer) candidates=(org.apache.kafka.tools.ConsoleProducer kafka.tools.ConsoleProducer) ;;
        console-consumer) candidates=(org.apache.kafka.tools.consumer.ConsoleConsumer kafka.tools.ConsoleConsumer) ;;
        producer-perf-test) candidates=(org.apache.kafka.tools.ProducerPerformance) ;;
        consumer-groups) candidates=(org.apache.kafka.tools.consumer.group.ConsumerGroupCommand kafka.admin.ConsumerGroupCommand) ;;
        features) candidates=(org.apache.kafka.tools.FeatureCommand kafka.admin.FeatureCommand) ;;
        # Kafka 3.x only (bin/zookeeper-shell.sh), for a ZooKeeper-mode cluster.
        zookeeper-shell) candidates=(org.apache.zookeeper.ZooKeeperMainWithTlsSupportForKafka) ;;
        *) return 1 ;;
    esac
    for c in "${candidates[@]:0:${#candidates[@]}-1}"; do
        if kafka_has_class "$c"; then
            echo "$c"
            return 0
        fi
    done
    echo "${candidates[-1]}"
}

# Runs one of Kafka's main classes with the tools' logging (stderr, WARN).
kafka_java_tool() {
    local class="$1"
    shift
    # shellcheck disable=SC2086 # the options string is deliberately word-split
    java $KAFKA_TOOL_JAVA_OPTS "$KAFKA_TOOL_LOG_OPTS" \
        -cp "$KAFKA_LIBS/*" "$class" "$@"
}
