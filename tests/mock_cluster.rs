//! `snapshot --bootstrap-server` against librdkafka's mock cluster: a second, independent
//! implementation of the Kafka protocol (it speaks Metadata with racks but none of the admin
//! APIs), so only the read path is checked. Brokers, racks and replicas must equal what the
//! mock reports to librdkafka's own client.

use std::process::Command;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::ClientConfig;
use serde_json::Value;

#[test]
fn snapshot_reads_brokers_racks_and_replicas_from_librdkafka_mock() {
    let mock = MockCluster::new(4).expect("mock cluster");
    let racks = [(1, "r1"), (2, "r2"), (3, "r3"), (4, "r1")];
    for (id, rack) in racks {
        mock.broker_rack(id, rack).expect("rack");
    }
    mock.create_topic("orders", 6, 3).expect("topic");
    mock.create_topic("clicks", 4, 2).expect("topic");
    let bootstrap = mock.bootstrap_servers();

    let dir = tempfile::tempdir().expect("temp dir");
    let out_path = dir.path().join("mock.json");
    let out = Command::new(env!("CARGO_BIN_EXE_kafka-replan"))
        .args(["snapshot", "--bootstrap-server", &bootstrap, "--output"])
        .arg(&out_path)
        .output()
        .expect("run kafka-replan");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let snap: Value =
        serde_json::from_slice(&std::fs::read(&out_path).expect("read")).expect("JSON");

    let brokers: Vec<(i64, String)> = snap["brokers"]
        .as_array()
        .expect("brokers")
        .iter()
        .map(|b| {
            (
                b["id"].as_i64().unwrap_or(-1),
                b["rack"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect();
    let want: Vec<(i64, String)> = racks
        .iter()
        .map(|(id, r)| (*id as i64, r.to_string()))
        .collect();
    assert_eq!(brokers, want);

    // librdkafka's own client reads the same cluster.
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .expect("consumer");
    let metadata = consumer
        .fetch_metadata(None, Duration::from_secs(10))
        .expect("metadata");
    let mut expected = Vec::new();
    for t in metadata.topics() {
        for p in t.partitions() {
            expected.push((
                t.name().to_string(),
                p.id() as i64,
                p.replicas().iter().map(|&r| r as i64).collect::<Vec<_>>(),
            ));
        }
    }
    expected.sort();
    let mut got: Vec<(String, i64, Vec<i64>)> = snap["partitions"]
        .as_array()
        .expect("partitions")
        .iter()
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
            )
        })
        .collect();
    got.sort();
    assert_eq!(got.len(), 10);
    assert_eq!(got, expected);
}
