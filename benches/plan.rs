//! Planner speed: a scale-out (new empty brokers) and a skewed start at 1k, 10k and 100k
//! partitions, generated in-process with a fixed seed so every run measures the same input.

use std::collections::BTreeSet;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use kafka_replan::model::{Broker, Cluster, Partition, TopicPartition};
use kafka_replan::plan::{plan, PlanConfig};

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// `brokers` existing brokers over `racks` racks plus `new` empty ones; RF 3 (12 % RF 2);
/// replicas rack-aware, placed with a bias towards low ids when `skewed`.
fn cluster(partitions: usize, brokers: usize, racks: usize, new: usize, skewed: bool) -> Cluster {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let total = brokers + new;
    let broker_list = (1..=total)
        .map(|id| Broker {
            id: id as i32,
            rack: Some(format!("r{}", (id - 1) % racks)),
            capacity_bytes: Some(4_000_000_000_000),
        })
        .collect();
    let mut parts = Vec::with_capacity(partitions);
    for i in 0..partitions {
        let rf = if rng.below(100) < 12 { 2 } else { 3 };
        let mut reps: Vec<i32> = Vec::new();
        while reps.len() < rf {
            let pick = if skewed && rng.below(3) > 0 {
                rng.below((brokers / 3).max(1) as u64)
            } else {
                rng.below(brokers as u64)
            } as i32
                + 1;
            let rack = (pick - 1) as usize % racks;
            if !reps.contains(&pick) && reps.iter().all(|r| (*r - 1) as usize % racks != rack) {
                reps.push(pick);
            }
        }
        parts.push(Partition {
            tp: TopicPartition::new(format!("topic-{:04}", i / 100), (i % 100) as i32),
            replicas: reps,
            size_bytes: 1_000_000 + rng.below(4_000_000_000),
            leader: None,
            isr: None,
            in_flight: None,
        });
    }
    Cluster::new(broker_list, parts)
}

fn bench_plan(c: &mut Criterion) {
    let mut group = c.benchmark_group("plan");
    group.sample_size(10);
    for &(parts, brokers, racks, new) in
        &[(1_000, 12, 3, 3), (10_000, 30, 3, 6), (100_000, 120, 6, 12)]
    {
        for skewed in [false, true] {
            let cl = cluster(parts, brokers, racks, if skewed { 0 } else { new }, skewed);
            let config = PlanConfig {
                excluded: BTreeSet::new(),
                max_disk_util: 1.0,
                ..PlanConfig::default()
            };
            let name = if skewed { "skewed" } else { "scale-out" };
            group.bench_with_input(BenchmarkId::new(name, parts), &cl, |b, cl| {
                b.iter(|| plan(cl, &config).map(|o| o.moves).unwrap_or(0))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_plan);
criterion_main!(benches);
