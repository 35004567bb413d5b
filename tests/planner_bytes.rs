//! `--balance count+bytes`: the count-preserving swaps keep every broker's replica count
//! (so the count band the flow reached), keep the rack rule and capacity (the planner's
//! verifier runs on every plan), never make disk balance worse, and are deterministic.

mod support;

use std::collections::BTreeSet;

use kafka_replan::plan::{plan, Balance, PlanConfig};
use support::clusters::{disk_max_mean, fixture_cluster as fixture};

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
            disk_max_mean(&c, &count.after, &BTreeSet::new()),
            disk_max_mean(&c, &bytes.after, &BTreeSet::new()),
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
        disk_max_mean(&c, &out.after, &BTreeSet::new()) < 1.01,
        "{}",
        disk_max_mean(&c, &out.after, &BTreeSet::new())
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
