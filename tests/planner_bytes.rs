//! `--balance count+bytes`: the count-preserving swaps keep every broker's replica count
//! (so the count band the flow reached), keep the rack rule and capacity (the planner's
//! verifier runs on every plan), never make disk balance worse, and are deterministic.

use kafka_replan::formats::snapshot::parse_snapshot;
use kafka_replan::model::{Cluster, Layout};
use kafka_replan::plan::{plan, Balance, PlanConfig};

fn fixture(case: &str) -> Cluster {
    let path = format!(
        "{}/fixtures/{case}/snapshot.json",
        env!("CARGO_MANIFEST_DIR")
    );
    parse_snapshot(&path, std::fs::read(&path).unwrap()).unwrap()
}

/// Largest broker utilisation (bytes / capacity) over the mean, brokers with capacity.
fn disk_max_mean(c: &Cluster, l: &Layout) -> f64 {
    let bytes = l.bytes_per_broker(c);
    let utils: Vec<f64> = c
        .brokers
        .iter()
        .filter_map(|b| {
            b.capacity_bytes
                .map(|cap| bytes.get(&b.id).copied().unwrap_or(0) as f64 / cap as f64)
        })
        .collect();
    let mean = utils.iter().sum::<f64>() / utils.len() as f64;
    utils.iter().cloned().fold(0.0, f64::max) / mean
}

#[test]
fn swaps_keep_counts_and_racks_and_even_out_disks() {
    for case in [
        "scale-out",
        "skewed",
        "mixed-rf",
        "capacity-bound",
        "unequal-racks",
        "rack-repair",
    ] {
        let c = fixture(case);
        let count = plan(&c, &PlanConfig::default()).unwrap();
        let cfg = PlanConfig {
            balance: Balance::CountBytes,
            ..PlanConfig::default()
        };
        let bytes = plan(&c, &cfg).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(
            bytes.after.replica_counts(),
            count.after.replica_counts(),
            "{case}: replica counts per broker unchanged"
        );
        let (before, after) = (
            disk_max_mean(&c, &count.after),
            disk_max_mean(&c, &bytes.after),
        );
        assert!(after <= before + 1e-9, "{case}: {after} > {before}");
        assert!(bytes.bytes_refinement.is_some());
        assert_eq!(
            plan(&c, &cfg).unwrap().plan,
            bytes.plan,
            "{case}: deterministic"
        );
    }
    // Where sizes differ, the disks come out even.
    let c = fixture("scale-out");
    let cfg = PlanConfig {
        balance: Balance::CountBytes,
        ..PlanConfig::default()
    };
    let out = plan(&c, &cfg).unwrap();
    assert!(
        disk_max_mean(&c, &out.after) < 1.01,
        "{}",
        disk_max_mean(&c, &out.after)
    );
}

#[test]
fn swaps_respect_a_move_budget() {
    let c = fixture("scale-out");
    let count = plan(&c, &PlanConfig::default()).unwrap();
    let cfg = PlanConfig {
        balance: Balance::CountBytes,
        max_moves: Some(count.moves + 4),
        ..PlanConfig::default()
    };
    let out = plan(&c, &cfg).unwrap();
    assert!(out.moves <= count.moves + 4, "{}", out.moves);
}
