#!/usr/bin/env bash
# The one test command (README): builds once, starts a real Apache Kafka
# cluster (scripts/kafka-cluster.sh), runs every test against it and always
# stops the cluster again. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "test.sh: $*" >&2; }

java_major() {
    java -version 2>&1 | sed -n 's/.* version "\([0-9]*\).*/\1/p' | head -n 1
}

# Kafka 4.x needs Java 17+, Maven fetches its jars and openssl makes the TLS
# listener's certificates. A fresh CI machine runs this as root, so install
# what is missing there; elsewhere say what to install.
ensure_tools() {
    local missing=()
    if ! command -v java >/dev/null || [[ "$(java_major)" -lt 17 ]]; then
        missing+=(openjdk-17-jre-headless)
    fi
    command -v mvn >/dev/null || missing+=(maven)
    command -v openssl >/dev/null || missing+=(openssl)
    # tests/hostile_peer.rs measures the CLI's peak RSS under hostile replies with GNU time.
    [[ -x /usr/bin/time ]] || missing+=(time)
    # tests/report_html_render.rs renders `plan --report-html` in headless Chromium.
    command -v chromium >/dev/null || command -v chromium-browser >/dev/null || missing+=(chromium)
    ((${#missing[@]})) || return 0
    if [[ "$(id -u)" != 0 ]]; then
        log "error: missing ${missing[*]}: install them (Debian: apt-get install -y ${missing[*]}) and rerun"
        exit 1
    fi
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q "${missing[@]}" </dev/null
    if [[ " ${missing[*]} " == *" openjdk-17-jre-headless "* ]] && [[ "$(java_major)" -lt 17 ]]; then
        # Another, older java may come first on PATH.
        local arch
        arch="$(dpkg --print-architecture)"
        export PATH="/usr/lib/jvm/java-17-openjdk-$arch/bin:$PATH"
    fi
}

ensure_tools

t0=$SECONDS
cargo test --release --no-run
t_build=$((SECONDS - t0))

t0=$SECONDS
scripts/kafka-cluster.sh fetch
t_fetch=$((SECONDS - t0))

# The cluster is started once for the whole run (startup costs seconds on a
# two-core machine); tests share it and use their own uniquely named topics.
t0=$SECONDS
rc=0
scripts/kafka-cluster.sh run -- cargo test --release "$@" || rc=$?
t_run=$((SECONDS - t0))

log "timings: build ${t_build}s, Kafka fetch ${t_fetch}s, cluster start + tests + stop ${t_run}s"
exit "$rc"
