//! Planner speed: a scale-out (new empty brokers) and a skewed start at 1k, 10k and 100k
//! partitions, generated in-process with a fixed seed so every run measures the same input.
//! The `plan` group runs the default (`count`) balance; `plan-bytes` runs `--balance bytes`
//! and `--balance count+bytes` on the same inputs. `plan-1m` plans a 1,000,000-partition
//! scale-out (200 brokers over 10 racks plus 10 empty ones) in the default balance: one short
//! group, the size where Cruise Control reports 18-95 minutes.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use kafka_replan::model::{Broker, Cluster, Partition, TopicPartition};
use kafka_replan::plan::{plan, Balance, PlanConfig};

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
            log_dirs: Vec::new(),
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
            log_dirs: Vec::new(),
            rates: None,
        });
    }
    Cluster::new(broker_list, parts)
}

/// A generated input with every broker's capacity raised, where needed, so that
/// the brokers can hold all replicas with a quarter to spare: at 100k partitions the 4 TB
/// brokers hold less than the replicas need, so a plan would stop at the capacity
/// pre-check and measure nothing (replica sizes average 2 GB, RF 2.88).
fn with_room(mut cl: Cluster) -> Cluster {
    let total: u64 = cl
        .partitions
        .iter()
        .map(|p| p.size_bytes * p.replicas.len() as u64)
        .sum();
    let room = (total / cl.brokers.len() as u64) * 5 / 4;
    for b in &mut cl.brokers {
        b.capacity_bytes = b.capacity_bytes.map(|c| c.max(room));
    }
    cl
}

/// The measured inputs: a scale-out and a skewed start at each size, with room on disk.
fn inputs() -> Vec<(&'static str, usize, Cluster)> {
    let mut out = Vec::new();
    for &(parts, brokers, racks, new) in
        &[(1_000, 12, 3, 3), (10_000, 30, 3, 6), (100_000, 120, 6, 12)]
    {
        for skewed in [false, true] {
            let new = if skewed { 0 } else { new };
            let cl = with_room(cluster(parts, brokers, racks, new, skewed));
            out.push((if skewed { "skewed" } else { "scale-out" }, parts, cl));
        }
    }
    out
}

/// One group: every input planned with each labelled config. Each input is planned once
/// before it is measured, so a benchmark never times a refusal.
fn bench_group(c: &mut Criterion, group_name: &str, configs: &[(&str, PlanConfig)]) {
    let mut group = c.benchmark_group(group_name);
    group.sample_size(10);
    for (start, parts, cl) in inputs() {
        for (label, config) in configs {
            let id = if label.is_empty() {
                start.to_string()
            } else {
                format!("{label}/{start}")
            };
            if let Err(e) = plan(&cl, config) {
                panic!("{group_name}/{id}/{parts}: the input must be plannable: {e}");
            }
            group.bench_with_input(BenchmarkId::new(id, parts), &cl, |b, cl| {
                b.iter(|| plan(cl, config).map(|o| o.moves).unwrap_or(0))
            });
        }
    }
    group.finish();
}

/// The default `count` balance.
fn bench_plan(c: &mut Criterion) {
    bench_group(c, "plan", &[("", PlanConfig::default())]);
}

/// `--balance bytes` (disk use first) and `--balance count+bytes` (counts, then swaps that
/// even out disk use).
fn bench_plan_bytes(c: &mut Criterion) {
    let config = |balance| PlanConfig {
        balance,
        ..PlanConfig::default()
    };
    bench_group(
        c,
        "plan-bytes",
        &[
            ("bytes", config(Balance::Bytes)),
            ("count-bytes", config(Balance::CountBytes)),
        ],
    );
}

/// The whole `count` plan of 1 M partitions (parse excluded: see the `parsers` bench).
fn bench_plan_1m(c: &mut Criterion) {
    let cl = with_room(cluster(1_000_000, 200, 10, 10, false));
    let config = PlanConfig::default();
    if let Err(e) = plan(&cl, &config) {
        panic!("plan-1m: the input must be plannable: {e}");
    }
    let mut group = c.benchmark_group("plan-1m");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(30));
    group.bench_with_input(BenchmarkId::new("scale-out", 1_000_000), &cl, |b, cl| {
        b.iter(|| plan(cl, &config).map(|o| o.moves).unwrap_or(0))
    });
    group.finish();
}

criterion_group!(benches, bench_plan, bench_plan_bytes, bench_plan_1m);
criterion_main!(benches);
