//! Budgets (`--max-moves`; a byte budget in the library): the plan is re-optimised under the budget, is
//! never over it (the independent verifier checks it too), balances no worse as the budget
//! grows, equals the unbudgeted plan once the budget covers it, and a budget below what the
//! hard rules force is refused with both numbers.

mod support;

use std::collections::BTreeSet;

use kafka_replan::model::{BrokerId, Cluster};
use kafka_replan::plan::{plan, Infeasible, PlanConfig, PlanError};
use support::clusters::fixture_cluster as fixture;

fn spread(
    c: &Cluster,
    layout: &kafka_replan::model::Layout,
    excluded: &BTreeSet<BrokerId>,
) -> usize {
    let counts = layout.replica_counts();
    let v: Vec<usize> = c
        .brokers
        .iter()
        .filter(|b| !excluded.contains(&b.id))
        .map(|b| counts.get(&b.id).copied().unwrap_or(0))
        .collect();
    v.iter().max().unwrap() - v.iter().min().unwrap()
}

#[test]
fn move_budgets_are_kept_and_balance_improves_with_the_budget() {
    for case in ["scale-out", "skewed", "mixed-rf", "unequal-racks"] {
        let c = fixture(case);
        let full = plan(&c, &PlanConfig::default()).unwrap();
        let none = BTreeSet::new();
        let mut last_spread = usize::MAX;
        let forced = full.bounds.forced_moves;
        let step = ((full.moves - forced) / 7).max(1);
        for budget in (forced..=full.moves + step).step_by(step) {
            let cfg = PlanConfig {
                max_moves: Some(budget),
                ..PlanConfig::default()
            };
            let out = plan(&c, &cfg).unwrap_or_else(|e| panic!("{case} budget {budget}: {e}"));
            assert!(
                out.moves <= budget,
                "{case}: {} moves over {budget}",
                out.moves
            );
            let s = spread(&c, &out.after, &none);
            assert!(
                s <= last_spread,
                "{case} budget {budget}: spread {s} > {last_spread}"
            );
            last_spread = s;
            if budget >= full.moves {
                assert_eq!(
                    out.plan, full.plan,
                    "{case}: a budget covering the plan changes nothing"
                );
                assert!(out.budget.is_none());
            } else {
                let b = out.budget.as_ref().expect("the budget bound");
                assert_eq!(b.full_moves, full.moves);
            }
            assert_eq!(plan(&c, &cfg).unwrap().plan, out.plan, "deterministic");
        }
    }
}

#[test]
fn byte_budgets_are_kept() {
    let c = fixture("scale-out");
    let full = plan(&c, &PlanConfig::default()).unwrap();
    for frac in [0.2, 0.5, 0.8] {
        let budget = (full.bytes_moved as f64 * frac) as u64;
        let cfg = PlanConfig {
            max_bytes: Some(budget),
            ..PlanConfig::default()
        };
        let out = plan(&c, &cfg).unwrap();
        // Met, not optimised: the flow minimises moves, not bytes.
        assert!(out.bytes_moved <= budget, "{} > {budget}", out.bytes_moved);
    }
}

#[test]
fn a_budget_below_the_forced_moves_is_refused() {
    let c = fixture("decommission");
    let excluded: BTreeSet<BrokerId> = [9].into_iter().collect();
    let cfg = PlanConfig {
        excluded: excluded.clone(),
        max_moves: Some(3),
        ..PlanConfig::default()
    };
    match plan(&c, &cfg) {
        Err(PlanError::Infeasible(list)) => {
            assert!(matches!(list[0], Infeasible::OverBudget { .. }), "{list:?}");
            let text = list[0].to_string();
            assert!(text.contains("budget of 3 moves"), "{text}");
            assert!(text.contains("24 moves"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    // Exactly the forced moves: broker 9 emptied, nothing else.
    let cfg = PlanConfig {
        excluded,
        max_moves: Some(24),
        ..PlanConfig::default()
    };
    let out = plan(&c, &cfg).unwrap();
    assert_eq!(out.moves, 24);
    assert!(out.after.replica_counts().get(&9).copied().unwrap_or(0) == 0);
}

#[test]
fn leader_change_budgets_are_kept_or_refused_with_the_reason() {
    let c = fixture("rack-repair");
    let full = plan(&c, &PlanConfig::default()).unwrap();
    for budget in 0..=full.leader_changes + 1 {
        let cfg = PlanConfig {
            max_leader_changes: Some(budget),
            ..PlanConfig::default()
        };
        match plan(&c, &cfg) {
            Ok(out) => {
                assert!(
                    out.leader_changes <= budget,
                    "{} > {budget}",
                    out.leader_changes
                );
                assert_eq!(
                    out.moves, full.moves,
                    "replica moves are not what this budget limits"
                );
                if budget >= full.leader_changes {
                    assert_eq!(out.plan, full.plan);
                }
            }
            Err(PlanError::Infeasible(list)) => {
                let text = list[0].to_string();
                assert!(text.contains("take the preferred leader away"), "{text}");
            }
            Err(e) => panic!("{e}"),
        }
    }
}

/// Every budgeted move counts where nothing forces a detour: on the scale-out fixture
/// (loaded brokers above the band, empty new ones below it) each of the N moves takes a
/// replica off a broker above the band, as a greedy cut of the full plan would — so what
/// is left above the band is exactly LB − N — and the spread is no worse than such a cut's.
#[test]
fn a_move_budget_is_spent_where_it_reduces_the_imbalance() {
    let c = fixture("scale-out");
    let none = BTreeSet::new();
    let full = plan(&c, &PlanConfig::default()).unwrap();
    let lb = full.bounds.combined;
    let (lo, hi) = full.bounds.band.unwrap();
    for budget in [6, 15, 30, 45] {
        let out = plan(
            &c,
            &PlanConfig {
                max_moves: Some(budget),
                ..PlanConfig::default()
            },
        )
        .unwrap();
        let counts = out.after.replica_counts();
        let above: usize = c
            .brokers
            .iter()
            .map(|b| counts.get(&b.id).copied().unwrap_or(0).saturating_sub(hi))
            .sum();
        assert_eq!(above, lb - budget, "budget {budget}");
        // A greedy cut moves from the fullest to the emptiest broker: its spread is at best
        // (most loaded after) − (least loaded after) with the moves shared evenly.
        let before = c.current_layout().replica_counts();
        let mut loads: Vec<usize> = c
            .brokers
            .iter()
            .map(|b| before.get(&b.id).copied().unwrap_or(0))
            .collect();
        for _ in 0..budget {
            let (imax, _) = loads
                .iter()
                .enumerate()
                .max_by_key(|(i, l)| (**l, std::cmp::Reverse(*i)))
                .unwrap();
            loads[imax] -= 1;
            let (imin, _) = loads
                .iter()
                .enumerate()
                .min_by_key(|(i, l)| (**l, *i))
                .unwrap();
            loads[imin] += 1;
        }
        let greedy = loads.iter().max().unwrap() - loads.iter().min().unwrap();
        assert!(
            spread(&c, &out.after, &none) <= greedy.max(hi - lo),
            "budget {budget}: spread {} vs an ideal greedy cut's {greedy}",
            spread(&c, &out.after, &none)
        );
    }
}

/// Under a leader-change budget the replica stage moves followers before preferred leaders:
/// on the scale-out fixture the full plan takes the preferred leader from 20 partitions,
/// yet a budget of 5 leader changes is met with the same number of replica moves.
#[test]
fn a_small_leader_budget_moves_followers_instead_of_leaders() {
    let c = fixture("scale-out");
    let full = plan(&c, &PlanConfig::default()).unwrap();
    assert!(full.leader_changes > 5);
    let out = plan(
        &c,
        &PlanConfig {
            max_leader_changes: Some(5),
            ..PlanConfig::default()
        },
    )
    .unwrap();
    assert!(out.leader_changes <= 5, "{}", out.leader_changes);
    assert_eq!(out.moves, full.moves);
    assert!(out.leader_budget.is_some());
}

/// Under a bytes budget the count modes shed the smallest replicas: on the scale-out fixture
/// the full count balance copies 122 GB with sizes chosen for disk balance, but fits in
/// 60 GB when brokers shed their smallest replicas — the band is reached within the budget.
#[test]
fn a_bytes_budget_in_count_mode_moves_small_replicas() {
    let c = fixture("scale-out");
    let none = BTreeSet::new();
    let full = plan(&c, &PlanConfig::default()).unwrap();
    let budget = 60_000_000_000;
    assert!(full.bytes_moved > budget);
    let out = plan(
        &c,
        &PlanConfig {
            max_bytes: Some(budget),
            ..PlanConfig::default()
        },
    )
    .unwrap();
    assert!(out.bytes_moved <= budget);
    assert_eq!(spread(&c, &out.after, &none), 0);
    assert_eq!(out.moves, full.moves);
}

#[test]
fn a_move_budget_that_the_capacity_repair_overruns_is_met_by_the_candidate_that_fits_after_it() {
    // The public small-scale-out snapshot with disk limits at 57 % of capacity: the tightest
    // widening within 100 moves leaves brokers over their limits, and the capacity repair
    // then needs 107 moves. The greedy-cut candidate searched until it fits after the
    // repair is within 100, so the budget must be met, not refused; every budget from the
    // smallest that fits up to the full plan must be met, so a bigger budget is never
    // refused where a smaller one fits.
    let path = format!(
        "{}/fixtures/capacity-tight/small-scale-out.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let c = kafka_replan::formats::snapshot::parse_snapshot(&path, std::fs::read(&path).unwrap())
        .unwrap();
    let limits = kafka_replan::plan::capacity::limits(&c, 0.57);
    let mut fitted_once = false;
    for budget in [40, 60, 80, 100, 130, 160, 200, 240, 280] {
        let cfg = PlanConfig {
            max_disk_util: 0.57,
            max_moves: Some(budget),
            ..PlanConfig::default()
        };
        match plan(&c, &cfg) {
            Ok(out) => {
                assert!(out.moves <= budget, "{} moves over {budget}", out.moves);
                let ids: Vec<BrokerId> = c.brokers.iter().map(|b| b.id).collect();
                for (b, id) in ids.iter().enumerate() {
                    let bytes: u64 = c
                        .partitions
                        .iter()
                        .zip(&out.after.replicas)
                        .filter(|(_, set)| set.contains(id))
                        .map(|(p, _)| p.size_bytes)
                        .sum();
                    if let Some(l) = limits[b] {
                        assert!(bytes <= l, "broker {id}: {bytes} over its limit {l}");
                    }
                }
                fitted_once = true;
            }
            Err(e) => assert!(
                !fitted_once,
                "budget {budget} refused after a smaller one fit: {e}"
            ),
        }
    }
    assert!(
        plan(
            &c,
            &PlanConfig {
                max_disk_util: 0.57,
                max_moves: Some(100),
                ..PlanConfig::default()
            }
        )
        .is_ok(),
        "100 moves fit after the capacity repair"
    );
}
