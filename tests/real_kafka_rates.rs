//! `snapshot --sample-rates` against the real Kafka that scripts/test.sh starts: a producer
//! at a known rate (librdkafka, paced) and a consumer group reading everything it writes
//! are measured within 10 %, in a bounded time, and the sampling changes nothing in the
//! cluster (same topics, groups and dynamic configs before and after).

mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::cli::{describe, run as replan};
use support::kafka::{unique_topic, Cluster};

/// Messages per second the producer writes, spread evenly over the partitions.
const RATE: u64 = 200;
/// Payload bytes per message (no key).
const SIZE: usize = 1024;
const PARTITIONS: i32 = 3;
/// Producer ticks per second (RATE / TICKS messages each).
const TICKS: u64 = 20;

/// Produces RATE messages/s into `topic` until `stop`; the schedule is absolute, so a late
/// tick is caught up and the average rate holds. `sent` counts the messages handed over.
fn paced_producer(
    bootstrap: String,
    topic: String,
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
        let producer: BaseProducer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("acks", "all")
            .set("compression.type", "none")
            .set("linger.ms", "5")
            .create()
            .expect("producer");
        let value = vec![b'r'; SIZE];
        let start = Instant::now();
        let mut n: u64 = 0;
        let mut tick: u64 = 0;
        while !stop.load(Ordering::Relaxed) {
            for _ in 0..RATE / TICKS {
                let p = (n % PARTITIONS as u64) as i32;
                let record = BaseRecord::<(), [u8]>::to(&topic)
                    .partition(p)
                    .payload(&value[..]);
                if let Err((e, _)) = producer.send(record) {
                    panic!("produce: {e}");
                }
                n += 1;
            }
            sent.store(n, Ordering::Relaxed);
            producer.poll(Duration::ZERO);
            tick += 1;
            let next = start + Duration::from_millis(tick * 1000 / TICKS);
            if let Some(wait) = next.checked_duration_since(Instant::now()) {
                producer.poll(wait);
            }
        }
        producer.flush(Duration::from_secs(30)).expect("flush");
    })
}

/// A consumer group member reading `topic` from the start and committing every 200 ms
/// (auto-commit) until `stop`; counts what it read.
fn consumer(
    bootstrap: String,
    topic: String,
    group: String,
    stop: Arc<AtomicBool>,
    read: Arc<AtomicU64>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        use rdkafka::consumer::{BaseConsumer, Consumer};
        use rdkafka::Message;
        let consumer: BaseConsumer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("group.id", &group)
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "200")
            .set("auto.offset.reset", "earliest")
            .create()
            .expect("consumer");
        consumer.subscribe(&[&topic]).expect("subscribe");
        while !stop.load(Ordering::Relaxed) {
            match consumer.poll(Duration::from_millis(100)) {
                Some(Ok(m)) => {
                    assert_eq!(m.payload().map(<[u8]>::len), Some(SIZE));
                    read.fetch_add(1, Ordering::Relaxed);
                }
                Some(Err(e)) => eprintln!("consumer: {e}"),
                None => {}
            }
        }
    })
}

/// What the sampling must not change: topics, groups, dynamic configs.
fn cluster_state(cluster: &Cluster, topic: &str) -> Vec<String> {
    let b = cluster.bootstrap.as_str();
    let sorted = |text: String| {
        let mut lines: Vec<&str> = text.lines().map(str::trim).collect();
        lines.sort_unstable();
        lines.join("\n")
    };
    vec![
        sorted(cluster.tool_ok("topics", &["--bootstrap-server", b, "--list"])),
        sorted(cluster.tool_ok("consumer-groups", &["--bootstrap-server", b, "--list"])),
        cluster.tool_ok(
            "configs",
            &[
                "--bootstrap-server",
                b,
                "--describe",
                "--entity-type",
                "topics",
                "--entity-name",
                topic,
            ],
        ),
        cluster.tool_ok(
            "configs",
            &[
                "--bootstrap-server",
                b,
                "--describe",
                "--entity-type",
                "brokers",
                "--entity-default",
            ],
        ),
    ]
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

fn within_10_percent(what: &str, measured: f64, expected: f64) {
    let ratio = measured / expected;
    assert!(
        (0.9..=1.1).contains(&ratio),
        "{what}: measured {measured:.0} B/s, expected {expected:.0} B/s (ratio {ratio:.3})"
    );
}

#[test]
fn sampled_rates_match_a_known_producer_and_consumer_and_change_nothing() {
    let cluster = Cluster::from_env();
    let topic = unique_topic("rates");
    let group = format!("{topic}-readers");
    let assignment: &[&[i32]] = &[&[0, 1, 2], &[1, 2, 3], &[2, 3, 0]];
    let _guard = cluster.create_topic_with_assignment(&topic, assignment);
    cluster.wait_for_topic(&topic, Duration::from_secs(30), |d| {
        d.partitions.len() == assignment.len()
            && d.partitions
                .values()
                .all(|p| p.isr.len() == p.replicas.len())
    });

    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let read = Arc::new(AtomicU64::new(0));
    let producer = paced_producer(
        cluster.bootstrap.clone(),
        topic.clone(),
        stop.clone(),
        sent.clone(),
    );
    // A backlog first, so every partition has messages (bytes per message) at the first
    // sample; then the group reads it and keeps up.
    thread::sleep(Duration::from_secs(3));
    let reader = consumer(
        cluster.bootstrap.clone(),
        topic.clone(),
        group.clone(),
        stop.clone(),
        read.clone(),
    );
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (s, r) = (sent.load(Ordering::Relaxed), read.load(Ordering::Relaxed));
        if r > 0 && s.saturating_sub(r) < RATE / 4 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the consumer did not catch up: sent {s}, read {r}"
        );
        thread::sleep(Duration::from_millis(200));
    }
    // Commits (every 200 ms) are flowing at the producer's pace now.
    thread::sleep(Duration::from_secs(2));

    let before = cluster_state(&cluster, &topic);
    let dir = tempfile::tempdir().expect("tempdir");
    let out_path = dir.path().join("cluster.json");
    let out_s = out_path.to_str().expect("utf-8 path");
    let started = Instant::now();
    let out = replan([
        "snapshot",
        "--bootstrap-server",
        &cluster.bootstrap,
        "--topics",
        &regex_escape(&topic),
        "--sample-rates",
        "10s",
        "--output",
        out_s,
    ]);
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    producer.join().expect("producer thread");
    reader.join().expect("consumer thread");
    assert!(out.status.success(), "snapshot failed:\n{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("rates: first sample: 3 partition(s)")
            && stderr.contains("rates: second sample"),
        "{stderr}"
    );
    assert!(!stderr.contains("warning"), "{stderr}");
    // Bounded: the window plus a few seconds of reads (the bound is 10 s + 2 × 60 s).
    assert!(
        elapsed < Duration::from_secs(40),
        "sampling took {elapsed:?}"
    );

    let snap: Value =
        serde_json::from_slice(&std::fs::read(&out_path).expect("read snapshot")).expect("JSON");
    let window = snap["rates_window_ms"].as_u64().expect("rates_window_ms");
    assert!((9_500..=11_000).contains(&window), "window {window} ms");
    let partitions: Vec<&Value> = snap["partitions"]
        .as_array()
        .expect("partitions")
        .iter()
        .filter(|p| p["topic"] == topic.as_str())
        .collect();
    assert_eq!(partitions.len(), PARTITIONS as usize);
    let mut bytes_in = 0.0;
    let mut bytes_out = 0.0;
    for p in &partitions {
        let i = p["bytes_in_per_sec"].as_f64().expect("bytes_in_per_sec");
        let o = p["bytes_out_per_sec"].as_f64().expect("bytes_out_per_sec");
        // Each partition gets a third of the traffic (round robin).
        within_10_percent(
            &format!("partition {} produce", p["partition"]),
            i,
            (RATE * SIZE as u64) as f64 / PARTITIONS as f64,
        );
        bytes_in += i;
        bytes_out += o;
    }
    let expected = (RATE * SIZE as u64) as f64;
    within_10_percent("produce", bytes_in, expected);
    within_10_percent("consume", bytes_out, expected);
    eprintln!(
        "measured produce {bytes_in:.0} B/s, consume {bytes_out:.0} B/s over {window} ms; known {expected:.0} B/s"
    );

    let after = cluster_state(&cluster, &topic);
    assert_eq!(before, after, "the sampling changed the cluster");
}
