//! `--balance bytes`: disk use first (every broker within the tolerance of its share, or of
//! the share the rack rule forces), fewest bytes copied, with a lower bound the plan never
//! beats; `max_bytes` budgets loosen the tolerance and are never exceeded; deterministic.

mod support;

use std::collections::BTreeSet;

use kafka_replan::plan::{plan, Balance, Infeasible, PlanConfig, PlanError};
use support::clusters::{disk_max_mean, fixture_cluster as fixture, SmallCluster};

fn bytes_first() -> PlanConfig {
    PlanConfig {
        balance: Balance::Bytes,
        ..PlanConfig::default()
    }
}

#[test]
fn disks_end_within_the_tolerance_and_never_below_the_bound() {
    for case in [
        "scale-out",
        "skewed",
        "mixed-rf",
        "capacity-bound",
        "unequal-racks",
        "rack-repair",
    ] {
        let c = fixture(case);
        let out = plan(&c, &bytes_first()).unwrap_or_else(|e| panic!("{case}: {e}"));
        let balance = out.disk_balance.clone().expect("disk balance reported");
        let ratio = disk_max_mean(&c, &out.after, &BTreeSet::new());
        let target = balance.ratio_floor * (1.0 + balance.tolerance) + 1e-6;
        if balance.over_threshold.is_empty() {
            assert!(ratio <= target, "{case}: {ratio} > {target}");
        }
        let bound = out.bytes_bound.clone().expect("bytes bound reported");
        assert!(
            bound.bytes <= out.bytes_moved,
            "{case}: bound {} above the plan's {}",
            bound.bytes,
            out.bytes_moved
        );
        assert_eq!(plan(&c, &bytes_first()).unwrap().plan, out.plan, "{case}");
    }
    // The scale-out fixture has sizes to work with: the disks come out within 0.5 %.
    let c = fixture("scale-out");
    let out = plan(&c, &bytes_first()).unwrap();
    assert!(out.disk_balance.unwrap().over_threshold.is_empty());
    assert!(disk_max_mean(&c, &out.after, &BTreeSet::new()) <= 1.005 + 1e-6);
}

/// Copying fewer bytes than the count flow for a better disk balance: bytes first on the
/// scale-out fixture beats the count plan on both.
#[test]
fn bytes_first_copies_less_than_counts_for_a_better_balance() {
    let c = fixture("scale-out");
    let count = plan(&c, &PlanConfig::default()).unwrap();
    let bytes = plan(&c, &bytes_first()).unwrap();
    let none = BTreeSet::new();
    assert!(disk_max_mean(&c, &bytes.after, &none) < disk_max_mean(&c, &count.after, &none));
    assert!(bytes.bytes_moved <= count.bytes_moved);
}

/// A lone broker in its rack must hold a replica of every RF-3 partition: the floor is
/// reported and reached, not blamed on the plan, and the other brokers are balanced.
#[test]
fn the_rack_rule_floor_is_reported_and_reached() {
    let mut c = SmallCluster::new();
    for (id, rack) in [(1, "a"), (2, "a"), (3, "b"), (4, "b"), (5, "c")] {
        c.add_broker(id, Some(rack), Some(1_000_000));
    }
    for i in 0..40 {
        let replicas = match i % 4 {
            0 => vec![1, 3, 5],
            1 => vec![2, 3, 5],
            2 => vec![1, 4, 5],
            _ => vec![1, 3, 5],
        };
        c.add_partition("t", i, replicas, 1_000 + 37 * i as u64);
    }
    let c = c.build();
    let out = plan(&c, &bytes_first()).unwrap();
    let balance = out.disk_balance.clone().unwrap();
    // Broker 5 holds every partition: a third of all bytes on one of five brokers.
    assert!(
        (balance.ratio_floor - 5.0 / 3.0).abs() < 1e-9,
        "{}",
        balance.ratio_floor
    );
    let bytes = out.after.bytes_per_broker(&c);
    let (a, b) = (bytes[&1] + bytes[&2], bytes[&3] + bytes[&4]);
    assert_eq!(a, b, "racks a and b share the rest evenly");
    let most = bytes[&1].max(bytes[&2]).max(bytes[&3]).max(bytes[&4]) as f64;
    let least = bytes[&1].min(bytes[&2]).min(bytes[&3]).min(bytes[&4]) as f64;
    assert!(most / least < 1.05, "{bytes:?}");
}

#[test]
fn a_bytes_budget_is_kept_and_loosens_the_balance() {
    let c = fixture("scale-out");
    let full = plan(&c, &bytes_first()).unwrap();
    let none = BTreeSet::new();
    let mut last_ratio = disk_max_mean(&c, &full.after, &none);
    for fraction in [0.75, 0.5, 0.25, 0.1] {
        let budget = (full.bytes_moved as f64 * fraction) as u64;
        let cfg = PlanConfig {
            max_bytes: Some(budget),
            ..bytes_first()
        };
        let out = plan(&c, &cfg).unwrap_or_else(|e| panic!("{fraction}: {e}"));
        assert!(out.bytes_moved <= budget, "{fraction}");
        let balance = out.disk_balance.unwrap();
        assert!(balance.tolerance > balance.requested_tolerance);
        let ratio = disk_max_mean(&c, &out.after, &none);
        assert!(
            ratio + 1e-9 >= last_ratio - 0.02,
            "{fraction}: {ratio} vs {last_ratio}"
        );
        last_ratio = ratio;
    }
    // Decommissioning needs every byte of the broker copied: a smaller budget is refused.
    let excluded: BTreeSet<i32> = [1].into();
    let on_broker: u64 = c
        .partitions
        .iter()
        .filter(|p| p.replicas.contains(&1))
        .map(|p| p.size_bytes)
        .sum();
    let cfg = PlanConfig {
        excluded: excluded.clone(),
        max_bytes: Some(on_broker - 1),
        ..bytes_first()
    };
    match plan(&c, &cfg) {
        Err(PlanError::Infeasible(list)) => {
            assert!(matches!(list[0], Infeasible::OverBudget { .. }), "{list:?}")
        }
        other => panic!("expected a refused budget, got {other:?}"),
    }
    let cfg = PlanConfig {
        excluded: excluded.clone(),
        ..bytes_first()
    };
    let out = plan(&c, &cfg).unwrap();
    assert!(out.bytes_moved >= on_broker);
    // Rack r1 keeps two brokers of three: they must hold a third of the bytes.
    let balance = out.disk_balance.unwrap();
    assert!(balance.ratio_floor > 1.3, "{}", balance.ratio_floor);
    let ratio = disk_max_mean(&c, &out.after, &excluded);
    assert!(ratio <= balance.ratio_floor * 1.005 + 1e-6, "{ratio}");
}

/// Count mode reports a bytes bound for its band too, never above what it copies.
#[test]
fn count_mode_reports_a_valid_bytes_bound() {
    for case in ["scale-out", "skewed", "mixed-rf", "rack-repair"] {
        let c = fixture(case);
        let out = plan(&c, &PlanConfig::default()).unwrap();
        let bound = out.bytes_bound.expect("bound");
        assert!(bound.bytes <= out.bytes_moved, "{case}");
        assert!(bound.bytes > 0 || out.bytes_moved == 0 || case == "rack-repair");
    }
}

/// Where the count band leaves no room under the disk limits, the count modes give the band
/// up and relocate replicas like the bytes mode instead of declaring the layout impossible
/// (found by tests/planner_scenarios_proptest.rs): brokers 0 and 2 without a rack, 1 and 3
/// in rack r, capacity 10 each, broker 0 excluded.
#[test]
fn count_modes_fall_back_to_relocation_when_capacity_binds() {
    let c = SmallCluster::new()
        .broker(0, None, Some(10))
        .broker(1, Some("r"), Some(10))
        .broker(2, None, Some(10))
        .broker(3, Some("r"), Some(10))
        .partition("t", 0, vec![0], 9)
        .partition("t", 1, vec![0, 2], 2)
        .partition("t", 2, vec![3], 2)
        .partition("t", 3, vec![1], 1)
        .build();
    let excluded: BTreeSet<i32> = [0].into();
    for balance in [Balance::Count, Balance::CountBytes, Balance::Bytes] {
        let out = plan(
            &c,
            &PlanConfig {
                excluded: excluded.clone(),
                balance,
                ..PlanConfig::default()
            },
        )
        .unwrap_or_else(|e| panic!("{balance:?}: {e}"));
        let bytes = out.after.bytes_per_broker(&c);
        assert!(bytes.values().all(|b| *b <= 10), "{balance:?}: {bytes:?}");
        assert_eq!(bytes.get(&0).copied().unwrap_or(0), 0);
    }
}
