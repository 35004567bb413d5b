//! `snapshot --bootstrap-server` at the size of the largest clusters, against a cluster of
//! in-process test brokers (one listener each) that generate their answers on the fly:
//! DescribeTopicPartitions pages of every topic, DescribeLogDirs of each broker's replicas
//! in two log dirs, no reassignments. The release binary runs as a child process under
//! `/usr/bin/time`, so its wall time and peak RSS are its own. Ignored: a measurement, not
//! a check; `scripts/live-scale.sh` runs it and prints the table.
//!
//! Rows come from `LIVE_SCALE_ROWS`, `brokers:partitions:concurrency:delay_ms` separated by
//! commas (default: 2,700 brokers and 5 M partitions at 32 requests at once with no delay,
//! then with 5 ms per DescribeLogDirs answer at 32 and at 1, the old one-after-another).

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::describe_topic_partitions_request::DescribeTopicPartitionsRequest;
use kafka_protocol::messages::describe_topic_partitions_response::{
    Cursor, DescribeTopicPartitionsResponsePartition, DescribeTopicPartitionsResponseTopic,
};
use kafka_protocol::messages::{
    ApiKey, BrokerId as WireBrokerId, DescribeLogDirsResponse, DescribeTopicPartitionsResponse,
    ListPartitionReassignmentsResponse,
};
use kafka_protocol::protocol::{Decodable, StrBytes};

use super::decode::topic_name;
use crate::kafka::testbroker::{self, FakeBroker, Handler};

const PARTITIONS_PER_TOPIC: i64 = 100;
const RF: i64 = 3;

/// The generated cluster: partition `g` (topic `g / 100`, partition `g % 100`) has its
/// replica k on broker `(g + k * (brokers / 3)) % brokers + 1`.
#[derive(Clone, Copy)]
struct Layout {
    brokers: i64,
    partitions: i64,
}

impl Layout {
    fn topics(self) -> i64 {
        (self.partitions + PARTITIONS_PER_TOPIC - 1) / PARTITIONS_PER_TOPIC
    }

    fn topic(t: i64) -> String {
        format!("topic-{t:06}")
    }

    fn replicas(self, g: i64) -> Vec<WireBrokerId> {
        let stride = (self.brokers / RF).max(1);
        (0..RF)
            .map(|k| WireBrokerId(((g + k * stride) % self.brokers + 1) as i32))
            .collect()
    }

    fn partitions_of(self, t: i64) -> i64 {
        (self.partitions - t * PARTITIONS_PER_TOPIC).clamp(0, PARTITIONS_PER_TOPIC)
    }

    /// One DescribeTopicPartitions page from the request's cursor, as Kafka pages.
    fn page(self, req: &DescribeTopicPartitionsRequest) -> DescribeTopicPartitionsResponse {
        let (mut t, mut p) = req
            .cursor
            .as_ref()
            .map(|c| {
                let t = c.topic_name.0.trim_start_matches("topic-").parse().unwrap();
                (t, i64::from(c.partition_index))
            })
            .unwrap_or((0, 0));
        let mut left = i64::from(req.response_partition_limit);
        let mut resp = DescribeTopicPartitionsResponse::default();
        while t < self.topics() {
            let mut topic = DescribeTopicPartitionsResponseTopic::default()
                .with_name(Some(topic_name(&Layout::topic(t))));
            while p < self.partitions_of(t) {
                if left == 0 {
                    resp.next_cursor = Some(
                        Cursor::default()
                            .with_topic_name(topic_name(&Layout::topic(t)))
                            .with_partition_index(p as i32),
                    );
                    break;
                }
                let replicas = self.replicas(t * PARTITIONS_PER_TOPIC + p);
                topic.partitions.push(
                    DescribeTopicPartitionsResponsePartition::default()
                        .with_partition_index(p as i32)
                        .with_leader_id(replicas[0])
                        .with_leader_epoch(1)
                        .with_isr_nodes(replicas.clone())
                        .with_replica_nodes(replicas),
                );
                left -= 1;
                p += 1;
            }
            resp.topics.push(topic);
            if resp.next_cursor.is_some() {
                break;
            }
            t += 1;
            p = 0;
        }
        resp
    }

    /// Broker `id`'s DescribeLogDirs: its replicas, even partitions in `/data-0`, odd in
    /// `/data-1`, topics in order.
    fn log_dirs(self, id: i64) -> DescribeLogDirsResponse {
        let stride = (self.brokers / RF).max(1);
        let mut hosted: Vec<i64> = Vec::new();
        for k in 0..RF {
            let first = (id - 1 - k * stride).rem_euclid(self.brokers);
            hosted.extend((first..self.partitions).step_by(self.brokers as usize));
        }
        hosted.sort_unstable();
        let dir = |parity: i64| {
            let mut topics: Vec<DescribeLogDirsTopic> = Vec::new();
            for &g in hosted
                .iter()
                .filter(|g| (*g % PARTITIONS_PER_TOPIC) % 2 == parity)
            {
                let name = Layout::topic(g / PARTITIONS_PER_TOPIC);
                let part = DescribeLogDirsPartition::default()
                    .with_partition_index((g % PARTITIONS_PER_TOPIC) as i32)
                    .with_partition_size((g % 1_000 + 1) * 1_000_000);
                match topics.last_mut() {
                    Some(t) if t.name.0.as_str() == name => t.partitions.push(part),
                    _ => topics.push(
                        DescribeLogDirsTopic::default()
                            .with_name(topic_name(&name))
                            .with_partitions(vec![part]),
                    ),
                }
            }
            DescribeLogDirsResult::default()
                .with_log_dir(StrBytes::from_string(format!("/data-{parity}")))
                .with_total_bytes(10_000_000_000_000)
                .with_usable_bytes(5_000_000_000_000)
                .with_topics(topics)
        };
        DescribeLogDirsResponse::default().with_results(vec![dir(0), dir(1)])
    }

    fn handler(self, id: i64) -> Handler {
        Arc::new(move |key, version, mut body: Bytes| {
            let resp = match ApiKey::try_from(key) {
                Ok(ApiKey::DescribeTopicPartitions) => {
                    let req = DescribeTopicPartitionsRequest::decode(&mut body, version).unwrap();
                    testbroker::body(version, &self.page(&req))
                }
                Ok(ApiKey::DescribeLogDirs) => testbroker::body(version, &self.log_dirs(id)),
                Ok(ApiKey::ListPartitionReassignments) => {
                    testbroker::body(version, &ListPartitionReassignmentsResponse::default())
                }
                _ => return None,
            };
            Some(resp)
        })
    }
}

struct Row {
    layout: Layout,
    concurrency: usize,
    delay_ms: u64,
}

fn rows() -> Vec<Row> {
    let spec = std::env::var("LIVE_SCALE_ROWS")
        .unwrap_or_else(|_| "2700:5000000:32:0,2700:5000000:32:5,2700:5000000:1:5".into());
    spec.split(',')
        .map(|r| {
            let f: Vec<u64> = r.split(':').map(|x| x.trim().parse().unwrap()).collect();
            Row {
                layout: Layout {
                    brokers: f[0] as i64,
                    partitions: f[1] as i64,
                },
                concurrency: f[2] as usize,
                delay_ms: f[3],
            }
        })
        .collect()
}

/// The release binary next to this test binary (`target/release/deps/..`).
fn binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(|d| d.parent())
        .unwrap()
        .join("kafka-replan");
    assert!(
        bin.exists(),
        "{} missing: cargo build --release first",
        bin.display()
    );
    bin
}

/// Starts the brokers on a runtime of their own (the client is another process), returns
/// the bootstrap address and a sender that stops them.
fn start_brokers(row: &Row) -> (String, std::sync::mpsc::Sender<()>) {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let layout = row.layout;
    let delay = (row.delay_ms > 0).then(|| Duration::from_millis(row.delay_ms));
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let brokers = FakeBroker::start_cluster(layout.brokers as i32, Vec::new(), |id| {
                testbroker::State {
                    ranges: Some({
                        let mut r = testbroker::default_ranges(4);
                        r.push((ApiKey::DescribeTopicPartitions as i16, 0, 0));
                        r
                    }),
                    handler: Some(layout.handler(i64::from(id))),
                    delay,
                    ..Default::default()
                }
            })
            .await;
            addr_tx.send(brokers[0].addr()).unwrap();
            // Serve until told to stop, polling so the brokers' tasks keep running.
            while stop_rx.try_recv().is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            drop(brokers);
        });
    });
    (addr_rx.recv().unwrap(), stop_tx)
}

#[test]
#[ignore = "a measurement of minutes: scripts/live-scale.sh"]
fn live_snapshot_at_scale() {
    let bin = binary();
    let dir = tempfile::tempdir().unwrap();
    println!(
        "| brokers | partitions | replicas | at once | answer delay | wall | peak RSS | RSS per partition | snapshot file |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in rows() {
        let (addr, stop) = start_brokers(&row);
        let props = dir.path().join("client.properties");
        let mut f = std::fs::File::create(&props).unwrap();
        writeln!(
            f,
            "kafka-replan.max.concurrent.requests={}\nrequest.timeout.ms=120000\ndefault.api.timeout.ms=300000",
            row.concurrency
        )
        .unwrap();
        let out = dir.path().join("cluster.json");
        let run = std::process::Command::new("/usr/bin/time")
            .args(["-f", "%e %M"])
            .arg(&bin)
            .args(["snapshot", "--bootstrap-server", &addr, "--command-config"])
            .arg(&props)
            .arg("--output")
            .arg(&out)
            .output()
            .unwrap();
        stop.send(()).unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(run.status.success(), "{stderr}");
        let last = stderr.lines().last().unwrap();
        let mut it = last.split_whitespace();
        let wall: f64 = it.next().unwrap().parse().unwrap();
        let rss_kb: f64 = it.next().unwrap().parse().unwrap();
        let file_mb = std::fs::metadata(&out).unwrap().len() as f64 / 1e6;
        let p = row.layout.partitions;
        println!(
            "| {} | {} | {} | {} | {} ms | {wall:.1} s | {:.0} MB | {:.0} B | {file_mb:.0} MB |",
            row.layout.brokers,
            p,
            p * RF,
            row.concurrency,
            row.delay_ms,
            rss_kb / 1e3,
            rss_kb * 1e3 / p as f64,
        );
    }
}

#[test]
fn the_generated_cluster_pages_and_log_dirs_agree() {
    // Small enough to check by hand: every partition appears once in the pages and RF
    // times in the log dirs, on the brokers its replica list names.
    let layout = Layout {
        brokers: 7,
        partitions: 250,
    };
    let mut req = DescribeTopicPartitionsRequest::default().with_response_partition_limit(60);
    let mut seen = Vec::new();
    loop {
        let page = layout.page(&req);
        for t in &page.topics {
            for p in &t.partitions {
                seen.push((t.name.as_ref().unwrap().0.to_string(), p.partition_index));
            }
        }
        let Some(c) = page.next_cursor else { break };
        req = req.with_cursor(Some(
            kafka_protocol::messages::describe_topic_partitions_request::Cursor::default()
                .with_topic_name(c.topic_name)
                .with_partition_index(c.partition_index),
        ));
    }
    assert_eq!(seen.len(), 250);
    let mut sorted = seen.clone();
    sorted.dedup();
    assert_eq!(sorted.len(), 250);
    let mut hosted = 0;
    for id in 1..=7 {
        for dir in layout.log_dirs(id).results {
            for t in dir.topics {
                let topic: i64 = t.name.0.trim_start_matches("topic-").parse().unwrap();
                for p in t.partitions {
                    let g = topic * PARTITIONS_PER_TOPIC + i64::from(p.partition_index);
                    assert!(layout.replicas(g).contains(&WireBrokerId(id as i32)));
                    hosted += 1;
                }
            }
        }
    }
    assert_eq!(hosted, 250 * RF);
}
