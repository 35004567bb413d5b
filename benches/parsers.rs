//! Parser throughput on large inputs: a 200,000-partition snapshot and a 200,000-entry
//! reassignment JSON, both generated here so the bench needs no data files.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use kafka_replan::formats::reassignment::{emit_plan, parse_reassignment_json_for_execute};
use kafka_replan::formats::snapshot::{parse_snapshot, write_snapshot};
use kafka_replan::model::{Broker, Cluster, Partition, Plan, TopicPartition};

const PARTITIONS: usize = 200_000;
const BROKERS: i32 = 60;
const PARTITIONS_PER_TOPIC: usize = 100;

/// Replicas of partition `i`: three distinct brokers, spread deterministically.
fn replicas(i: usize) -> Vec<i32> {
    let first = (i % BROKERS as usize) as i32;
    (0..3).map(|k| (first + k * 7) % BROKERS).collect()
}

fn tp(i: usize) -> TopicPartition {
    TopicPartition::new(
        format!("topic-{:05}", i / PARTITIONS_PER_TOPIC),
        (i % PARTITIONS_PER_TOPIC) as i32,
    )
}

fn snapshot_text() -> String {
    let brokers = (0..BROKERS)
        .map(|id| Broker {
            id,
            rack: Some(format!("rack-{}", id % 3)),
            capacity_bytes: Some(4_000_000_000_000),
            log_dirs: Vec::new(),
        })
        .collect();
    let partitions = (0..PARTITIONS)
        .map(|i| Partition {
            tp: tp(i),
            replicas: replicas(i),
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

criterion_group!(benches, parsers);
criterion_main!(benches);
