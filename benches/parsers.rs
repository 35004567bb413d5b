//! Parser throughput on large inputs: a 200,000-partition snapshot and a 200,000-entry
//! reassignment JSON, and a gzipped 1,000,000-partition snapshot on 200 brokers (the size
//! of the largest clusters Cruise Control reports on), all generated here so the bench needs
//! no data files.

use std::hint::black_box;
use std::io::Write;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use kafka_replan::formats::reassignment::{emit_plan, parse_reassignment_json_for_execute};
use kafka_replan::formats::snapshot::{parse_snapshot, write_snapshot};
use kafka_replan::model::{Broker, Cluster, Partition, Plan, TopicPartition};

const PARTITIONS: usize = 200_000;
const BROKERS: i32 = 60;
const PARTITIONS_PER_TOPIC: usize = 100;

/// The large snapshot: 1 M partitions (RF 3: 3 M replicas) on 200 brokers.
const LARGE_PARTITIONS: usize = 1_000_000;
const LARGE_BROKERS: i32 = 200;

/// Replicas of partition `i`: three distinct brokers of `brokers`, spread deterministically.
fn replicas_among(i: usize, brokers: i32) -> Vec<i32> {
    let first = (i % brokers as usize) as i32;
    (0..3).map(|k| (first + k * 7) % brokers).collect()
}

fn replicas(i: usize) -> Vec<i32> {
    replicas_among(i, BROKERS)
}

fn tp(i: usize) -> TopicPartition {
    TopicPartition::new(
        format!("topic-{:05}", i / PARTITIONS_PER_TOPIC),
        (i % PARTITIONS_PER_TOPIC) as i32,
    )
}

fn snapshot_text() -> String {
    snapshot_of(PARTITIONS, BROKERS)
}

fn snapshot_of(partitions: usize, broker_count: i32) -> String {
    let brokers = (0..broker_count)
        .map(|id| Broker {
            id,
            rack: Some(format!("rack-{}", id % 3)),
            capacity_bytes: Some(4_000_000_000_000),
            log_dirs: Vec::new(),
        })
        .collect();
    let partitions = (0..partitions)
        .map(|i| Partition {
            tp: tp(i),
            replicas: replicas_among(i, broker_count),
            size_bytes: (i as u64 * 7919) % 10_000_000_000,
            leader: None,
            isr: None,
            in_flight: None,
            log_dirs: Vec::new(),
            rates: None,
        })
        .collect();
    write_snapshot(&Cluster::new(brokers, partitions))
}

fn reassignment_text() -> String {
    let plan = Plan {
        changes: (0..PARTITIONS).map(|i| (tp(i), replicas(i + 1))).collect(),
    };
    emit_plan(&plan)
}

fn parsers(c: &mut Criterion) {
    let snapshot = snapshot_text();
    let reassignment = reassignment_text();
    let mut g = c.benchmark_group("parse");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(snapshot.len() as u64));
    g.bench_function("snapshot_200k_partitions", |b| {
        b.iter(|| parse_snapshot("bench.json", black_box(snapshot.as_bytes().to_vec())))
    });
    g.throughput(Throughput::Bytes(reassignment.len() as u64));
    g.bench_function("reassignment_json_200k_entries", |b| {
        b.iter(|| parse_reassignment_json_for_execute("bench.json", black_box(&reassignment)))
    });
    g.finish();
}

/// The gzipped 1 M-partition snapshot: decompressed and parsed as a stream, as `plan
/// --snapshot big.json.gz` reads it. One short group (10 samples).
fn parse_large(c: &mut Criterion) {
    let text = snapshot_of(LARGE_PARTITIONS, LARGE_BROKERS);
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(text.as_bytes()).expect("gzip to memory");
    let gz = enc.finish().expect("gzip to memory");
    let mut g = c.benchmark_group("parse-1m");
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Bytes(text.len() as u64));
    drop(text);
    g.bench_function("snapshot_gz_1m_partitions_200_brokers", |b| {
        b.iter(|| {
            parse_snapshot("bench.json.gz", black_box(gz.clone()))
                .map(|c| c.partitions.len())
                .unwrap_or(0)
        })
    });
    g.finish();
}

criterion_group!(benches, parsers, parse_large);
criterion_main!(benches);
