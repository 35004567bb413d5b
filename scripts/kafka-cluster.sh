#!/usr/bin/env bash
# A real Apache Kafka cluster (four brokers and a KRaft controller or a
# ZooKeeper server) on 127.0.0.1 for the integration tests. See
# docs/real-kafka-tests.md and docs/kafka-versions.md.
#
#   scripts/kafka-cluster.sh fetch            download the Kafka jars (once per version)
#   scripts/kafka-cluster.sh start            start a cluster, write .cache/kafka-run/env
#   scripts/kafka-cluster.sh stop             stop the cluster that start started
#   scripts/kafka-cluster.sh status           is a cluster running, and where
#   scripts/kafka-cluster.sh run -- CMD...    start, run CMD with the env exported, stop;
#                                             exits with CMD's exit code
#   scripts/kafka-cluster.sh kill-broker ID   SIGKILL one broker of the running cluster
#   scripts/kafka-cluster.sh stop-broker ID   shut one broker down cleanly
#   scripts/kafka-cluster.sh start-broker ID  start it again (same ports and data),
#                                             wait until it is registered
#
# Which Kafka (environment, for fetch, start and run): KAFKA_VERSION (default:
# the version pinned in tests/kafka/pom.xml; 3.6 or newer), KAFKA_MODE (kraft,
# the default, or zk for ZooKeeper mode, Kafka 3.x only).
# Tunables (environment): KAFKA_CLUSTER_START_TIMEOUT (seconds, default 180),
# KAFKA_CLUSTER_STOP_TIMEOUT (seconds, default 30), KAFKA_CLUSTER_BROKER_HEAP
# (default 320m), KAFKA_CLUSTER_CONTROLLER_HEAP (default 256m, also the
# ZooKeeper server's).
set -euo pipefail
# shellcheck source=scripts/kafka-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/kafka-common.sh"

# A fixed cluster id keeps every run's storage format identical; each run
# still gets fresh, empty storage.
CLUSTER_ID="XXgREat3XO-1WKB5QF-1xw"
CONTROLLER_ID=100
BROKER_IDS=(0 1 2 3)
# Two brokers share r1 so rack rules with fewer racks than brokers are exercised.
BROKER_RACKS=(r1 r2 r3 r1)
PLAIN_USER="admin"
PLAIN_PASSWORD="admin-secret"
SCRAM_USER="scram-user"
SCRAM_PASSWORD="scram-secret"

START_TIMEOUT="${KAFKA_CLUSTER_START_TIMEOUT:-180}"
STOP_TIMEOUT="${KAFKA_CLUSTER_STOP_TIMEOUT:-30}"
BROKER_HEAP="${KAFKA_CLUSTER_BROKER_HEAP:-320m}"
CONTROLLER_HEAP="${KAFKA_CLUSTER_CONTROLLER_HEAP:-256m}"

CURRENT_LINK="$KAFKA_RUN_ROOT/current"
ENV_FILE="$KAFKA_RUN_ROOT/env"

log() { echo "kafka-cluster: $*" >&2; }
die() {
    echo "kafka-cluster: error: $*" >&2
    exit 1
}

usage() {
    sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
}

# ---------------------------------------------------------------- fetch

cmd_fetch() {
    if [[ -f "$KAFKA_LIBS/.complete" ]]; then
        log "Kafka $KAFKA_VERSION jars already in $KAFKA_LIBS"
        return 0
    fi
    command -v mvn >/dev/null || die "mvn (Apache Maven) is not installed; scripts/test.sh installs it when run as root"
    command -v java >/dev/null || die "java (17 or newer) is not installed; scripts/test.sh installs it when run as root"
    log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $KAFKA_LIBS"
    # Copy into a temporary directory and rename, so an interrupted download
    # never leaves a half-filled directory that looks complete.
    local tmp="$KAFKA_LIBS.partial.$$"
    rm -rf "$tmp"
    mkdir -p "$(dirname "$KAFKA_LIBS")"
    # Debian's Maven 3.8 prints bare colour resets even in batch mode; drop them.
    if ! mvn -q -B -f "$KAFKA_POM" \
        -Dmaven.repo.local="$KAFKA_M2" \
        -Dkafka.version="$KAFKA_VERSION" \
        dependency:copy-dependencies \
        -DincludeScope=runtime \
        -DoutputDirectory="$tmp" 2>&1 | sed 's/\x1b\[0m//g' >&2; then
        rm -rf "$tmp"
        die "mvn could not fetch the Kafka jars"
    fi
    touch "$tmp/.complete"
    rm -rf "$KAFKA_LIBS"
    mv "$tmp" "$KAFKA_LIBS"
    log "fetched $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars"
}

# ---------------------------------------------------------------- helpers

# Sets PORT to a port nobody listens on. Chosen below Linux's ephemeral range
# (32768-60999) so outgoing client connections cannot be holding it. Not
# called in $(...): the subshell would forget TAKEN_PORTS.
declare -A TAKEN_PORTS=()
PORT=""
free_port() {
    local port tries=0
    while ((tries < 500)); do
        tries=$((tries + 1))
        port=$((20000 + RANDOM % 12000))
        [[ -n "${TAKEN_PORTS[$port]:-}" ]] && continue
        # A refused connection means the port is free to listen on.
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            TAKEN_PORTS[$port]=1
            PORT="$port"
            return 0
        fi
    done
    die "no free TCP port found on 127.0.0.1"
}

port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# True when PID is alive and is one of the JVMs of run directory DIR (guards
# against a recycled PID belonging to something else). Matches on the run's
# unique directory name, not the full path, which may be spelled differently.
pid_is_ours() {
    local pid="$1" dir="$2"
    [[ -r "/proc/$pid/cmdline" ]] || return 1
    tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "kafka-run/$(basename "$dir")/"
}

current_run_dir() {
    [[ -L "$CURRENT_LINK" ]] || return 1
    local dir
    dir="$KAFKA_RUN_ROOT/$(readlink "$CURRENT_LINK")"
    [[ -d "$dir" ]] || return 1
    echo "$dir"
}

# Any live JVM recorded for run directory DIR?
run_has_live_nodes() {
    local dir="$1" name pid
    [[ -f "$dir/pids" ]] || return 1
    while read -r name pid; do
        if pid_is_ours "$pid" "$dir"; then
            return 0
        fi
    done <"$dir/pids"
    return 1
}

tail_logs() {
    local dir="$1" f
    for f in "$dir"/zookeeper/stdout.log "$dir"/zookeeper/logs/server.log \
        "$dir"/controller/stdout.log "$dir"/controller/logs/server.log \
        "$dir"/broker-*/stdout.log "$dir"/broker-*/logs/server.log; do
        [[ -s "$f" ]] || continue
        echo "----- last lines of $f" >&2
        tail -n 25 "$f" >&2
    done
}

# ---------------------------------------------------------------- start

make_tls() {
    local tls="$1"
    mkdir -p "$tls"
    command -v openssl >/dev/null || die "openssl is not installed (needed for the TLS listener's certificates)"
    # A throwaway CA and a broker certificate valid for localhost and
    # 127.0.0.1, made fresh for every run so no key is ever committed.
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 7 \
        -keyout "$tls/ca.key" -out "$tls/ca.pem" \
        -subj "/CN=kafka-replan test CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -sha256 \
        -keyout "$tls/broker.key" -out "$tls/broker.csr" \
        -subj "/CN=localhost" 2>/dev/null
    cat >"$tls/broker.ext" <<'EOF'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1
EOF
    openssl x509 -req -sha256 -days 7 -in "$tls/broker.csr" \
        -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
        -extfile "$tls/broker.ext" -out "$tls/broker.crt" 2>/dev/null
    # Kafka's PEM key store: an unencrypted PKCS#8 key followed by the chain.
    openssl pkcs8 -topk8 -nocrypt -in "$tls/broker.key" -out "$tls/broker.p8"
    cat "$tls/broker.p8" "$tls/broker.crt" "$tls/ca.pem" >"$tls/broker-keystore.pem"
    chmod 600 "$tls"/*.key "$tls/broker.p8" "$tls/broker-keystore.pem"
}

write_controller_props() {
    local dir="$1" cport="$2"
    cat >"$dir/server.properties" <<EOF
process.roles=controller
node.id=$CONTROLLER_ID
controller.quorum.voters=$CONTROLLER_ID@127.0.0.1:$cport
controller.listener.names=CONTROLLER
listeners=CONTROLLER://127.0.0.1:$cport
listener.security.protocol.map=CONTROLLER:PLAINTEXT
log.dirs=$dir/meta
num.network.threads=2
num.io.threads=2
background.threads=2
# Leadership changes only when a test asks for them (the KRaft controller is
# the one that would rebalance leaders automatically).
auto.leader.rebalance.enable=false
EOF
}

write_broker_props() {
    local dir="$1" id="$2" rack="$3" cport="$4" pport="$5" sport="$6" tls="$7"
    if [[ "$KAFKA_MODE" == zk ]]; then
        # cport is the ZooKeeper client port here. The broker's ZooKeeper
        # session timeout is KRaft's broker.session.timeout.ms (9 s), so a
        # killed broker leaves the cluster as fast in both modes.
        cat >"$dir/server.properties" <<EOF
broker.id=$id
broker.rack=$rack
zookeeper.connect=127.0.0.1:$cport
zookeeper.session.timeout.ms=9000
listeners=PLAINTEXT://127.0.0.1:$pport,SASL_SSL://127.0.0.1:$sport
advertised.listeners=PLAINTEXT://127.0.0.1:$pport,SASL_SSL://127.0.0.1:$sport
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL
inter.broker.listener.name=PLAINTEXT
EOF
    else
        cat >"$dir/server.properties" <<EOF
process.roles=broker
node.id=$id
broker.rack=$rack
controller.quorum.voters=$CONTROLLER_ID@127.0.0.1:$cport
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$pport,SASL_SSL://127.0.0.1:$sport
advertised.listeners=PLAINTEXT://127.0.0.1:$pport,SASL_SSL://127.0.0.1:$sport
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL
inter.broker.listener.name=PLAINTEXT
metadata.log.dir=$dir/meta
EOF
    fi
    cat >>"$dir/server.properties" <<EOF
# Two log directories per broker so intra-broker (log_dirs) moves can be tested.
log.dirs=$dir/data-0,$dir/data-1

sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-512
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="$PLAIN_USER" password="$PLAIN_PASSWORD" user_$PLAIN_USER="$PLAIN_PASSWORD";
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PEM
ssl.keystore.location=$tls/broker-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$tls/ca.pem
ssl.client.auth=none

# Internal topics must be creatable with four brokers even while one is down.
offsets.topic.replication.factor=3
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
# Tests create every topic they use explicitly.
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=1
# Leadership changes only when a test asks for them (in ZooKeeper mode the
# broker that is controller would rebalance leaders automatically).
auto.leader.rebalance.enable=false

# Small and few: threads, buffers and segments, to fit the machine.
log.segment.bytes=1048576
log.cleaner.dedupe.buffer.size=8388608
num.network.threads=2
num.io.threads=2
num.replica.fetchers=1
background.threads=2
num.recovery.threads.per.data.dir=1
EOF
}

# ZooKeeper mode: one standalone ZooKeeper server (the one bin/
# zookeeper-server-start.sh runs) in place of the KRaft controller.
write_zookeeper_props() {
    local dir="$1" zport="$2"
    cat >"$dir/zookeeper.properties" <<EOF
dataDir=$dir/data
clientPort=$zport
clientPortAddress=127.0.0.1
maxClientCnxns=0
tickTime=2000
# No AdminServer: it would listen on a fixed port (8080).
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr
EOF
}

# ZooKeeper mode keeps SCRAM credentials in ZooKeeper; they must exist before
# the brokers start (the way an operator bootstraps a ZooKeeper cluster's
# inter-broker or admin SCRAM user).
add_scram_user_in_zookeeper() {
    local zport="$1"
    kafka_java_tool kafka.admin.ConfigCommand --zookeeper "127.0.0.1:$zport" \
        --alter --entity-type users --entity-name "$SCRAM_USER" \
        --add-config "SCRAM-SHA-512=[password=$SCRAM_PASSWORD]" \
        >"$RUN_DIR/zookeeper/scram.log" 2>&1
}

format_node() {
    local dir="$1"
    kafka_java_tool kafka.tools.StorageTool format \
        --cluster-id "$CLUSTER_ID" \
        --config "$dir/server.properties" \
        --add-scram "SCRAM-SHA-512=[name=$SCRAM_USER,password=$SCRAM_PASSWORD]" \
        >"$dir/format.log" 2>&1
}

# start_node DIR HEAP [MAIN_CLASS CONFIG]: one JVM of the cluster (a broker or
# controller by default), recorded in the run's pids file.
start_node() {
    local dir="$1" heap="$2" main="${3:-kafka.Kafka}" config="${4:-$1/server.properties}" name
    name="$(basename "$dir")"
    mkdir -p "$dir/logs"
    # setsid: the JVMs must not receive the terminal's Ctrl-C directly; stop
    # shuts them down in order (brokers before the controller).
    # shellcheck disable=SC2016 # expanded by the inner bash, on purpose
    setsid bash -c 'echo "$$" >"$1/pid"; shift; exec "$@"' _ "$dir" \
        java -Xms64m "-Xmx$heap" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
        -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
        -Dkafka.logs.dir="$dir/logs" "$KAFKA_BROKER_LOG_OPTS" \
        -cp "$KAFKA_LIBS/*" "$main" "$config" \
        </dev/null >"$dir/stdout.log" 2>&1 &
    # Not a job of this shell: stop and kill-broker end it, and bash should
    # not report that ("Killed ...") on the console.
    disown "$!"
    local i
    for i in $(seq 1 50); do
        [[ -s "$dir/pid" ]] && break
        sleep 0.1
    done
    [[ -s "$dir/pid" ]] || die "could not start $name"
    echo "$name $(cat "$dir/pid")" >>"$RUN_DIR/pids"
}

# Keeps the logs of the two most recent stopped runs for diagnosis.
prune_old_runs() {
    local dir
    [[ -d "$KAFKA_RUN_ROOT" ]] || return 0
    find "$KAFKA_RUN_ROOT" -mindepth 1 -maxdepth 1 -type d -printf '%T@ %p\n' |
        sort -rn | tail -n +3 | cut -d' ' -f2- |
        while read -r dir; do
            run_has_live_nodes "$dir" || rm -rf "$dir"
        done
}

# Lists the broker ids the cluster currently reports as registered and unfenced.
registered_brokers() {
    kafka_java_tool "$(kafka_tool_class broker-api-versions)" \
        --bootstrap-server "$1" 2>/dev/null |
        sed -n 's/^[^ ]* (id: \([0-9]*\) .*/\1/p' | sort -n | paste -sd, -
}

START_OK=0
on_start_exit() {
    if [[ "$START_OK" != 1 && -n "${RUN_DIR:-}" ]]; then
        log "start failed; logs are in $RUN_DIR"
        tail_logs "$RUN_DIR"
        stop_run "$RUN_DIR" || true
        rm -f "$CURRENT_LINK" "$ENV_FILE"
    fi
}

cmd_start() {
    if dir="$(current_run_dir)" && run_has_live_nodes "$dir"; then
        die "a cluster is already running from $dir; run scripts/kafka-cluster.sh stop first"
    fi
    command -v java >/dev/null || die "java (17 or newer) is not installed; scripts/test.sh installs it when run as root"
    command -v setsid >/dev/null || die "setsid (util-linux) is not installed"
    cmd_fetch
    mkdir -p "$KAFKA_RUN_ROOT"
    prune_old_runs

    local t0=$SECONDS
    RUN_DIR="$KAFKA_RUN_ROOT/$(date -u +%Y%m%dT%H%M%SZ)-$$"
    mkdir -p "$RUN_DIR"
    : >"$RUN_DIR/pids"
    trap on_start_exit EXIT
    ln -sfn "$(basename "$RUN_DIR")" "$CURRENT_LINK"
    rm -f "$ENV_FILE"

    local tls="$RUN_DIR/tls"
    make_tls "$tls"

    # cport: the KRaft controller's listener, or in ZooKeeper mode the
    # ZooKeeper client port.
    local cport
    free_port
    cport="$PORT"
    if [[ "$KAFKA_MODE" == zk ]]; then
        mkdir -p "$RUN_DIR/zookeeper"
        write_zookeeper_props "$RUN_DIR/zookeeper" "$cport"
    else
        mkdir -p "$RUN_DIR/controller"
        write_controller_props "$RUN_DIR/controller" "$cport"
    fi

    local i id plain_ports=() sasl_ports=()
    for i in "${!BROKER_IDS[@]}"; do
        id="${BROKER_IDS[$i]}"
        free_port
        plain_ports[i]="$PORT"
        free_port
        sasl_ports[i]="$PORT"
        mkdir -p "$RUN_DIR/broker-$id"
        write_broker_props "$RUN_DIR/broker-$id" "$id" "${BROKER_RACKS[$i]}" "$cport" \
            "${plain_ports[$i]}" "${sasl_ports[$i]}" "$tls"
    done

    if [[ "$KAFKA_MODE" == zk ]]; then
        log "starting ZooKeeper (Kafka $KAFKA_VERSION, ZooKeeper mode)"
        start_node "$RUN_DIR/zookeeper" "$CONTROLLER_HEAP" \
            org.apache.zookeeper.server.quorum.QuorumPeerMain "$RUN_DIR/zookeeper/zookeeper.properties"
        local zdeadline=$((SECONDS + START_TIMEOUT))
        until port_open "$cport"; do
            pid_is_ours "$(cat "$RUN_DIR/zookeeper/pid")" "$RUN_DIR" || die "ZooKeeper exited during startup"
            ((SECONDS < zdeadline)) || die "ZooKeeper not listening after ${START_TIMEOUT}s"
            sleep 0.5
        done
        log "creating SCRAM user $SCRAM_USER in ZooKeeper"
        add_scram_user_in_zookeeper "$cport" || {
            cat "$RUN_DIR/zookeeper/scram.log" >&2 || true
            die "kafka-configs --zookeeper could not create the SCRAM user"
        }
        log "starting brokers ${BROKER_IDS[*]}"
    else
        # Formatting is one short JVM per node; run them side by side.
        log "formatting storage (cluster id $CLUSTER_ID)"
        local fmt_pids=() d
        for d in "$RUN_DIR/controller" "$RUN_DIR"/broker-*; do
            format_node "$d" &
            fmt_pids+=("$!")
        done
        for i in "${!fmt_pids[@]}"; do
            if ! wait "${fmt_pids[$i]}"; then
                cat "$RUN_DIR"/*/format.log >&2 || true
                die "kafka-storage format failed"
            fi
        done

        log "starting controller $CONTROLLER_ID and brokers ${BROKER_IDS[*]} (Kafka $KAFKA_VERSION)"
        start_node "$RUN_DIR/controller" "$CONTROLLER_HEAP"
    fi
    for id in "${BROKER_IDS[@]}"; do
        start_node "$RUN_DIR/broker-$id" "$BROKER_HEAP"
    done

    local bootstrap sasl_bootstrap
    bootstrap="$(for p in "${plain_ports[@]}"; do printf '127.0.0.1:%s,' "$p"; done)"
    bootstrap="${bootstrap%,}"
    sasl_bootstrap="$(for p in "${sasl_ports[@]}"; do printf '127.0.0.1:%s,' "$p"; done)"
    sasl_bootstrap="${sasl_bootstrap%,}"
    local want
    want="$(printf '%s\n' "${BROKER_IDS[@]}" | sort -n | paste -sd, -)"

    # Ready = every broker is registered and unfenced in the cluster metadata.
    local deadline=$((SECONDS + START_TIMEOUT)) name pid got="" all_open
    while :; do
        while read -r name pid; do
            pid_is_ours "$pid" "$RUN_DIR" || die "$name (pid $pid) exited during startup"
        done <"$RUN_DIR/pids"
        all_open=1
        for p in "$cport" "${plain_ports[@]}" "${sasl_ports[@]}"; do
            port_open "$p" || {
                all_open=0
                break
            }
        done
        if ((all_open)); then
            got="$(registered_brokers "$bootstrap" || true)"
            [[ "$got" == "$want" ]] && break
        fi
        ((SECONDS < deadline)) || die "brokers not all registered after ${START_TIMEOUT}s (registered: ${got:-none}, want: $want)"
        sleep 1
    done

    write_client_props "$RUN_DIR" "$tls"
    write_env "$RUN_DIR" "$bootstrap" "$sasl_bootstrap" "$cport" "$tls"
    START_OK=1
    trap - EXIT
    log "cluster up in $((SECONDS - t0))s (Kafka $KAFKA_VERSION, $KAFKA_MODE); logs in $RUN_DIR"
    echo "KAFKA_REPLAN_TEST_BOOTSTRAP=$bootstrap"
    echo "KAFKA_REPLAN_TEST_SASL_BOOTSTRAP=$sasl_bootstrap"
    echo "env file: $ENV_FILE"
}

write_client_props() {
    local dir="$1" tls="$2"
    cat >"$dir/client-plain.properties" <<EOF
security.protocol=SASL_SSL
sasl.mechanism=PLAIN
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="$PLAIN_USER" password="$PLAIN_PASSWORD";
ssl.truststore.type=PEM
ssl.truststore.location=$tls/ca.pem
EOF
    cat >"$dir/client-scram.properties" <<EOF
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$SCRAM_USER" password="$SCRAM_PASSWORD";
ssl.truststore.type=PEM
ssl.truststore.location=$tls/ca.pem
EOF
}

write_env() {
    local dir="$1" bootstrap="$2" sasl_bootstrap="$3" cport="$4" tls="$5"
    local racks ids
    ids="$(
        IFS=,
        echo "${BROKER_IDS[*]}"
    )"
    racks=""
    for i in "${!BROKER_IDS[@]}"; do
        racks+="${BROKER_IDS[$i]}:${BROKER_RACKS[$i]},"
    done
    racks="${racks%,}"
    # ZooKeeper mode has no KRaft controller to bootstrap from: the variable
    # still exists (tests read it) but names none; tests that need it require
    # KRaft mode (tests/support/versions.rs).
    local controller="127.0.0.1:$cport" zookeeper=""
    if [[ "$KAFKA_MODE" == zk ]]; then
        controller="none"
        zookeeper="127.0.0.1:$cport"
    fi
    {
        echo "# Written by scripts/kafka-cluster.sh start; test-only values."
        printf 'export %s=%q\n' \
            KAFKA_REPLAN_TEST_BOOTSTRAP "$bootstrap" \
            KAFKA_REPLAN_TEST_SASL_BOOTSTRAP "$sasl_bootstrap" \
            KAFKA_REPLAN_TEST_CONTROLLER "$controller" \
            KAFKA_REPLAN_TEST_ZOOKEEPER "$zookeeper" \
            KAFKA_REPLAN_TEST_BROKER_IDS "$ids" \
            KAFKA_REPLAN_TEST_BROKER_RACKS "$racks" \
            KAFKA_REPLAN_TEST_CA_FILE "$tls/ca.pem" \
            KAFKA_REPLAN_TEST_PLAIN_USER "$PLAIN_USER" \
            KAFKA_REPLAN_TEST_PLAIN_PASSWORD "$PLAIN_PASSWORD" \
            KAFKA_REPLAN_TEST_SCRAM_USER "$SCRAM_USER" \
            KAFKA_REPLAN_TEST_SCRAM_PASSWORD "$SCRAM_PASSWORD" \
            KAFKA_REPLAN_TEST_PLAIN_CLIENT_PROPERTIES "$dir/client-plain.properties" \
            KAFKA_REPLAN_TEST_SCRAM_CLIENT_PROPERTIES "$dir/client-scram.properties" \
            KAFKA_REPLAN_TEST_LIBS "$KAFKA_LIBS" \
            KAFKA_REPLAN_TEST_KAFKA_VERSION "$KAFKA_VERSION" \
            KAFKA_REPLAN_TEST_KAFKA_MODE "$KAFKA_MODE" \
            KAFKA_REPLAN_TEST_KAFKA_TOOL "$KAFKA_REPO_ROOT/scripts/kafka-tool.sh" \
            KAFKA_REPLAN_TEST_CLUSTER_SCRIPT "$KAFKA_REPO_ROOT/scripts/kafka-cluster.sh" \
            KAFKA_REPLAN_TEST_RUN_DIR "$dir"
    } >"$dir/env"
    cp "$dir/env" "$ENV_FILE"
}

# ---------------------------------------------------------------- stop

# Sends SIGTERM to the named nodes of run DIR and waits for them to exit,
# escalating to SIGKILL after STOP_TIMEOUT seconds.
stop_nodes() {
    stop_nodes_file "$1" "$1/pids" "${2:-*}"
}

# stop_nodes with the node list read from PIDS_FILE.
stop_nodes_file() {
    local dir="$1" pids_file="$2" pattern="${3:-*}" name pid live=() deadline
    while read -r name pid; do
        # shellcheck disable=SC2053 # a glob match is intended
        [[ "$name" == $pattern ]] || continue
        if pid_is_ours "$pid" "$dir"; then
            kill -TERM "$pid" 2>/dev/null || true
            live+=("$pid")
        fi
    done <"$pids_file"
    ((${#live[@]})) || return 0
    deadline=$((SECONDS + STOP_TIMEOUT))
    while :; do
        local still=()
        for pid in "${live[@]}"; do
            pid_is_ours "$pid" "$dir" && still+=("$pid")
        done
        ((${#still[@]})) || return 0
        if ((SECONDS >= deadline)); then
            log "killing unresponsive pid(s) ${still[*]}"
            kill -KILL "${still[@]}" 2>/dev/null || true
            return 0
        fi
        sleep 0.2
    done
}

stop_run() {
    local dir="$1"
    [[ -f "$dir/pids" ]] || return 0
    # Brokers first: their controlled shutdown needs the controller.
    stop_nodes "$dir" 'broker-*'
    stop_nodes "$dir" 'controller'
    stop_nodes "$dir" 'zookeeper'
}

cmd_stop() {
    local dir
    if ! dir="$(current_run_dir)"; then
        log "no cluster recorded in $KAFKA_RUN_ROOT; nothing to stop"
        return 0
    fi
    stop_run "$dir"
    rm -f "$CURRENT_LINK" "$ENV_FILE"
    log "stopped; logs kept in $dir"
}

cmd_status() {
    local dir
    if dir="$(current_run_dir)" && run_has_live_nodes "$dir"; then
        echo "running from $dir"
        cat "$dir/pids"
        [[ -f "$ENV_FILE" ]] && grep -E 'BOOTSTRAP=' "$ENV_FILE"
        return 0
    fi
    echo "not running"
    return 1
}

# ---------------------------------------------------------------- one broker

# For tests of failures mid-move. Other tests share the cluster, so a test
# that stops a broker must not run alongside them and must start it again.
cmd_broker() {
    local action="$1" id="${2:-}" dir bdir pid bootstrap deadline
    [[ "$id" =~ ^[0-9]+$ ]] || die "usage: scripts/kafka-cluster.sh $action BROKER_ID"
    dir="$(current_run_dir)" || die "no cluster is running"
    bdir="$dir/broker-$id"
    [[ -d "$bdir" ]] || die "the cluster has no broker $id"
    pid="$(cat "$bdir/pid" 2>/dev/null || true)"
    case "$action" in
        kill-broker | stop-broker)
            if [[ -z "$pid" ]] || ! pid_is_ours "$pid" "$dir"; then
                die "broker $id is not running"
            fi
            if [[ "$action" == kill-broker ]]; then
                kill -KILL "$pid"
                while pid_is_ours "$pid" "$dir"; do sleep 0.1; done
            else
                stop_nodes_file "$dir" <(printf 'broker-%s %s\n' "$id" "$pid")
            fi
            log "broker $id stopped"
            ;;
        start-broker)
            if [[ -n "$pid" ]] && pid_is_ours "$pid" "$dir"; then
                die "broker $id is already running"
            fi
            RUN_DIR="$dir"
            # The broker runs the jars of the cluster it belongs to, whatever
            # KAFKA_VERSION says now.
            local running
            read -r -a running < <(
                # shellcheck source=/dev/null
                source "$dir/env"
                echo "$KAFKA_REPLAN_TEST_KAFKA_VERSION $KAFKA_REPLAN_TEST_KAFKA_MODE"
            )
            kafka_use_version "${running[@]}"
            rm -f "$bdir/pid"
            start_node "$bdir" "$BROKER_HEAP"
            bootstrap="$(
                # shellcheck source=/dev/null
                source "$dir/env"
                echo "$KAFKA_REPLAN_TEST_BOOTSTRAP"
            )"
            deadline=$((SECONDS + START_TIMEOUT))
            until registered_brokers "$bootstrap" | tr ',' '\n' | grep -qx "$id"; do
                pid_is_ours "$(cat "$bdir/pid")" "$dir" || {
                    tail -n 25 "$bdir/logs/server.log" >&2 || true
                    die "broker $id exited during startup"
                }
                ((SECONDS < deadline)) || die "broker $id not registered after ${START_TIMEOUT}s"
                sleep 1
            done
            log "broker $id registered"
            ;;
    esac
}

# ---------------------------------------------------------------- run

RUN_CHILD=""
on_run_signal() {
    local rc="$1"
    if [[ -n "$RUN_CHILD" ]]; then
        # The command runs in its own process group: this reaches cargo, the
        # test binaries and any tool JVM they started.
        kill -TERM -- "-$RUN_CHILD" 2>/dev/null || true
        wait "$RUN_CHILD" 2>/dev/null || true
    fi
    exit "$rc"
}

cmd_run() {
    [[ "${1:-}" == "--" ]] && shift
    [[ $# -gt 0 ]] || die "usage: scripts/kafka-cluster.sh run -- CMD [ARGS...]"
    cmd_start >&2
    trap cmd_stop EXIT
    trap 'on_run_signal 130' INT
    trap 'on_run_signal 143' TERM
    # In the background, so a TERM/INT to this script is acted on at once
    # (bash defers traps while a foreground child runs), and in a process
    # group of its own (set -m) so the whole command tree can be stopped.
    set -m
    (
        # shellcheck source=/dev/null
        source "$ENV_FILE"
        exec "$@"
    ) &
    RUN_CHILD=$!
    set +m
    local rc=0
    wait "$RUN_CHILD" || rc=$?
    RUN_CHILD=""
    return "$rc"
}

# ---------------------------------------------------------------- main

[[ $# -ge 1 ]] || {
    usage
    exit 2
}
command="$1"
shift
# Stop, status and the one-broker commands act on the cluster that runs; the
# version matters to the commands that fetch or start one.
kafka_use_version "${KAFKA_VERSION:-$KAFKA_DEFAULT_VERSION}" "${KAFKA_MODE:-$KAFKA_DEFAULT_MODE}"
case "$command" in
    fetch) cmd_fetch ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    run) cmd_run "$@" ;;
    kill-broker | stop-broker | start-broker) cmd_broker "$command" "$@" ;;
    -h | --help | help) usage ;;
    *)
        usage
        exit 2
        ;;
esac
