//! `snapshot` and `plan` from a live cluster (the real Kafka that scripts/test.sh starts):
//! the live snapshot equals what the topics were created with and what Kafka's own tools
//! report offline; TLS + SASL (PLAIN, SCRAM-SHA-512) from client.properties files; clear,
//! quick errors for a wrong password, an unreachable address and an untrusted certificate.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::cli::{run as replan, run_ok as replan_ok};
use support::kafka::{unique_topic, Cluster};

fn read_json(path: &str) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("JSON")
}

/// `topic-partition` → (replicas, size) of a snapshot, for the given topics.
fn partitions(snapshot: &Value, topics: &[&str]) -> Vec<(String, i64, Vec<i64>, u64)> {
    let mut out: Vec<_> = snapshot["partitions"]
        .as_array()
        .expect("partitions")
        .iter()
        .filter(|p| topics.contains(&p["topic"].as_str().unwrap_or("")))
        .map(|p| {
            (
                p["topic"].as_str().unwrap_or("").to_string(),
                p["partition"].as_i64().unwrap_or(-1),
                p["replicas"]
                    .as_array()
                    .expect("replicas")
                    .iter()
                    .map(|r| r.as_i64().unwrap_or(-1))
                    .collect(),
                p["size_bytes"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn live_snapshot_matches_created_topics_and_kafka_tools_output() {
    let cluster = Cluster::from_env();
    let topic = unique_topic("live");
    let assignment: &[&[i32]] = &[&[0, 1, 2], &[1, 2, 3], &[2, 3, 0]];
    let _guard = cluster.create_topic_with_assignment(&topic, assignment);
    let produced = produce_with_rdkafka(
        &cluster.bootstrap,
        &topic,
        assignment.len() as i32,
        2_000,
        500,
    );
    let described = cluster.wait_for_topic(&topic, Duration::from_secs(30), |d| {
        d.partitions.len() == assignment.len()
            && d.partitions
                .values()
                .all(|p| p.isr.len() == p.replicas.len())
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let pattern = regex_escape(&topic);

    // Live.
    replan_ok(&[
        "snapshot",
        "--bootstrap-server",
        &cluster.bootstrap,
        "--topics",
        &pattern,
        "--output",
        &path("live.json"),
    ]);
    let live = read_json(&path("live.json"));
    let brokers: Vec<(i64, String)> = live["brokers"]
        .as_array()
        .expect("brokers")
        .iter()
        .map(|b| {
            (
                b["id"].as_i64().unwrap_or(-1),
                b["rack"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let want_brokers: Vec<(i64, String)> = cluster
        .racks
        .iter()
        .map(|(id, r)| (*id as i64, r.clone()))
        .collect();
    assert_eq!(brokers, want_brokers);
    let live_parts = partitions(&live, &[&topic]);
    assert_eq!(live_parts.len(), assignment.len());
    for (p, replicas) in assignment.iter().enumerate() {
        let got = &live_parts[p];
        assert_eq!(
            got.2,
            replicas.iter().map(|&r| r as i64).collect::<Vec<_>>(),
            "{topic}-{p}"
        );
        // The log holds every produced byte plus record-batch framing (no compression).
        let payload = produced[p];
        assert!(
            got.3 >= payload && got.3 < payload * 2 + 4096,
            "{topic}-{p}: size {} for {payload} payload bytes produced",
            got.3
        );
    }
    for p in live["partitions"].as_array().expect("partitions") {
        if p["topic"] == Value::String(topic.clone()) {
            assert_eq!(
                p["leader"], p["replicas"][0],
                "leader is the preferred replica: {p}"
            );
            assert_eq!(p["isr"].as_array().map(|a| a.len()), Some(3), "{p}");
        }
    }

    // Offline, from Kafka's own tools' output: the same replicas and sizes.
    std::fs::write(path("describe.txt"), &described.text).expect("write");
    std::fs::write(
        path("log-dirs.txt"),
        cluster.describe_log_dirs(&[&topic], &[]),
    )
    .expect("write");
    let racks: String = cluster
        .racks
        .iter()
        .map(|(id, r)| format!("{id} {r}\n"))
        .collect();
    std::fs::write(path("racks.txt"), racks).expect("write");
    replan_ok(&[
        "snapshot",
        "--topics-describe",
        &path("describe.txt"),
        "--log-dirs",
        &path("log-dirs.txt"),
        "--broker-racks",
        &path("racks.txt"),
        "--output",
        &path("offline.json"),
    ]);
    let offline = read_json(&path("offline.json"));
    assert_eq!(
        partitions(&offline, &[&topic]),
        live_parts,
        "live and offline snapshots differ"
    );

    // plan straight from the live cluster.
    let report = replan_ok(&[
        "plan",
        "--bootstrap-server",
        &cluster.bootstrap,
        "--topics",
        &pattern,
        "--exclude-brokers",
        "3",
        "--output",
        &path("plan.json"),
        "--save-snapshot",
        &path("saved.json"),
    ]);
    assert!(report.contains("replica moves:"), "{report}");
    let plan = read_json(&path("plan.json"));
    for e in plan["partitions"].as_array().expect("plan") {
        assert!(
            !e["replicas"]
                .as_array()
                .expect("replicas")
                .contains(&Value::from(3)),
            "{e}"
        );
    }
    assert_eq!(
        partitions(&read_json(&path("saved.json")), &[&topic]),
        live_parts
    );
}

#[test]
fn tls_and_sasl_from_client_properties_and_clear_errors() {
    let cluster = Cluster::from_env();
    let dir = tempfile::tempdir().expect("temp dir");
    let out_path = dir.path().join("s.json").to_string_lossy().into_owned();
    for props in [
        &cluster.plain_client_properties,
        &cluster.scram_client_properties,
    ] {
        let props = props.to_string_lossy().into_owned();
        replan_ok(&[
            "snapshot",
            "--bootstrap-server",
            &cluster.sasl_bootstrap,
            "--command-config",
            &props,
            "--output",
            &out_path,
        ]);
        let snap = read_json(&out_path);
        assert_eq!(
            snap["brokers"].as_array().map(|b| b.len()),
            Some(cluster.broker_ids.len())
        );

        // The same file with a wrong password: exit 1, a one-line reason, no secret, no file.
        let text = std::fs::read_to_string(&props).expect("read properties");
        let bad = dir.path().join("bad.properties");
        std::fs::write(&bad, text.replace("password=\"", "password=\"wrong-")).expect("write");
        let bad_out = dir.path().join("bad.json");
        let started = Instant::now();
        let out = replan([
            "snapshot",
            "--bootstrap-server",
            &cluster.sasl_bootstrap,
            "--command-config",
            &bad.to_string_lossy(),
            "--output",
            &bad_out.to_string_lossy(),
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.to_lowercase().contains("auth"), "{err}");
        assert!(!err.contains("wrong-"), "the password leaked: {err}");
        assert!(!bad_out.exists());
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "took {:?}",
            started.elapsed()
        );

        // An untrusted certificate: the CA left out.
        let untrusted = dir.path().join("untrusted.properties");
        let no_ca: String = text
            .lines()
            .filter(|l| !l.starts_with("ssl.truststore"))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&untrusted, no_ca).expect("write");
        let out = replan([
            "snapshot",
            "--bootstrap-server",
            &cluster.sasl_bootstrap,
            "--command-config",
            &untrusted.to_string_lossy(),
            "--output",
            &bad_out.to_string_lossy(),
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.to_lowercase().contains("certificate"), "{err}");
    }

    // Unreachable: a closed port on loopback.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let started = Instant::now();
    let out = replan([
        "snapshot",
        "--bootstrap-server",
        &addr,
        "--output",
        &out_path.replace("s.json", "u.json"),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&addr), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one-line reason: {err}");
    assert!(started.elapsed() < Duration::from_secs(60));
}

/// Fills `partitions` partitions of `topic` with `records` records of `size` bytes each (round
/// robin) through librdkafka's producer, waits for every ack (acks=all), and returns the
/// payload bytes written per partition.
fn produce_with_rdkafka(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    records: usize,
    size: usize,
) -> Vec<u64> {
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let producer: BaseProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("acks", "all")
        .set("compression.type", "none")
        .set("linger.ms", "5")
        .create()
        .expect("producer");
    let value = vec![b'x'; size];
    let mut bytes = vec![0u64; partitions as usize];
    for i in 0..records {
        let p = (i % partitions as usize) as i32;
        let key = i.to_string();
        loop {
            match producer.send(BaseRecord::to(topic).partition(p).key(&key).payload(&value)) {
                Ok(()) => break,
                Err((e, _)) => {
                    assert!(
                        matches!(
                            e.rdkafka_error_code(),
                            Some(rdkafka::types::RDKafkaErrorCode::QueueFull)
                        ),
                        "produce: {e}"
                    );
                    producer.poll(Duration::from_millis(50));
                }
            }
        }
        bytes[p as usize] += (size + key.len()) as u64;
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(60)).expect("flush");
    bytes
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

#[test]
fn elect_moves_leadership_to_the_preferred_replica_and_status_lists_moves() {
    let cluster = Cluster::from_env();
    let topic = unique_topic("elect");
    let _guard = cluster.create_topic_with_assignment(&topic, &[&[0, 1], &[2, 3]]);
    cluster.wait_for_topic(&topic, Duration::from_secs(30), |d| {
        d.partitions.values().all(|p| p.isr.len() == 2)
    });
    // Reorder the replicas with Kafka's own tool: the leader stays where it is (automatic
    // leader rebalancing is off on the test cluster), so the preferred leader is not leading.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    std::fs::write(
        path("reorder.json"),
        format!(
            "{{\"version\":1,\"partitions\":[{{\"topic\":\"{topic}\",\"partition\":0,\"replicas\":[1,0]}},{{\"topic\":\"{topic}\",\"partition\":1,\"replicas\":[3,2]}}]}}"
        ),
    )
    .expect("write");
    cluster.execute_and_verify_reassignment(
        std::path::Path::new(&path("reorder.json")),
        Duration::from_secs(60),
    );
    let before = cluster.describe_topic(&topic);
    assert_eq!(before.partitions[&0].leader, Some(0), "{}", before.text);

    // The plan file is accepted as the list of partitions.
    let out = replan_ok(&[
        "elect",
        "--bootstrap-server",
        &cluster.bootstrap,
        "--plan",
        &path("reorder.json"),
        "--batch-size",
        "1",
    ]);
    assert_eq!(
        out.trim(),
        format!("Successfully completed leader election (PREFERRED) for partitions {topic}-0, {topic}-1")
    );
    let after = cluster.wait_for_topic(&topic, Duration::from_secs(30), |d| {
        d.partitions[&0].leader == Some(1) && d.partitions[&1].leader == Some(3)
    });
    assert_eq!(after.partitions[&0].leader, Some(1), "{}", after.text);
    assert_eq!(after.partitions[&1].leader, Some(3), "{}", after.text);

    // A partition that does not exist: reported, exit 1.
    std::fs::write(
        path("missing.json"),
        format!("{{\"partitions\":[{{\"topic\":\"{topic}\",\"partition\":7}}]}}"),
    )
    .expect("write");
    let out = replan([
        "elect",
        "--bootstrap-server",
        &cluster.bootstrap,
        "--partitions",
        &path("missing.json"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with(&format!(
            "Error completing leader election (PREFERRED) for partition: {topic}-7: "
        )),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 replica(s) could not be elected"));

    let status = replan_ok(&["status", "--bootstrap-server", &cluster.bootstrap]);
    let first = status.lines().next().unwrap_or("");
    assert!(
        first == "No partition reassignments found." || first == "Current partition reassignments:",
        "{status}"
    );
}

/// Capacity-planning scenarios on a live cluster: a replication-factor change planned with
/// `--balance bytes` straight from the cluster is executed and verified by Kafka's own
/// `kafka-reassign-partitions` (every partition ends with 3 replicas spread over the
/// cluster's racks), and `--add-brokers` plans onto a hypothetical broker.
#[test]
fn scenarios_plan_from_a_live_cluster_and_kafka_executes_them() {
    let cluster = Cluster::from_env();
    let topic = unique_topic("scenario");
    let assignment: &[&[i32]] = &[&[0, 1], &[1, 0], &[0, 1]];
    let _guard = cluster.create_topic_with_assignment(&topic, assignment);
    cluster.produce(&topic, 2_000, 300);
    cluster.wait_for_topic(&topic, Duration::from_secs(30), |d| {
        d.partitions.len() == assignment.len()
            && d.partitions
                .values()
                .all(|p| p.isr.len() == p.replicas.len())
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let pattern = regex_escape(&topic);

    let report = replan_ok(&[
        "plan",
        "--bootstrap-server",
        &cluster.bootstrap,
        "--topics",
        &pattern,
        "--set-replication-factor",
        &format!("{pattern}=3"),
        "--balance",
        "bytes",
        "--output",
        &path("rf.json"),
    ]);
    assert!(
        report.contains("replication factor changed for 3 partitions"),
        "{report}"
    );
    cluster.execute_and_verify_reassignment(
        std::path::Path::new(&path("rf.json")),
        Duration::from_secs(120),
    );
    let described = cluster.describe_topic(&topic);
    let racks: std::collections::BTreeSet<&String> = cluster.racks.values().collect();
    for (p, state) in &described.partitions {
        assert_eq!(
            state.replicas.len(),
            3,
            "partition {p}: {:?}",
            state.replicas
        );
        let used: std::collections::BTreeSet<&String> = state
            .replicas
            .iter()
            .filter_map(|b| cluster.racks.get(b))
            .collect();
        assert_eq!(
            used.len(),
            racks.len().min(3),
            "partition {p} is not spread over the racks: {:?}",
            state.replicas
        );
    }

    // A hypothetical broker: planned onto, not executable until it exists. Count mode,
    // because it must give the new broker replicas whatever the partition sizes: the
    // producer's partitioner spreads the bytes unevenly, and with one large partition
    // `--balance bytes` may rightly find the disk floor reached without using the new
    // broker (seen on 3.6.2 in ZooKeeper mode).
    let new_id = cluster.broker_ids.iter().max().copied().unwrap_or(0) + 1;
    let rack = cluster.racks.values().next().cloned().unwrap_or_default();
    let report = replan_ok(&[
        "plan",
        "--bootstrap-server",
        &cluster.bootstrap,
        "--topics",
        &pattern,
        "--add-brokers",
        "1",
        "--rack",
        &rack,
        "--output",
        &path("scale-out.json"),
    ]);
    assert!(report.contains("hypothetical brokers"), "{report}");
    let plan = read_json(&path("scale-out.json"));
    assert!(
        plan["partitions"]
            .as_array()
            .expect("plan")
            .iter()
            .any(|e| e["replicas"]
                .as_array()
                .expect("replicas")
                .contains(&Value::from(new_id))),
        "broker {new_id} gets replicas: {plan}"
    );
}
