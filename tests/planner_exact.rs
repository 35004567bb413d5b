//! Exactness and invariants of the planner on random clusters.
//!
//! - Brute force: on tiny clusters every rack-safe layout is enumerated; whenever one of them
//!   reaches the uniform count band, the planner must reach it too with exactly the minimum
//!   number of moves.
//! - Property test: random clusters (RF 1..4, 1..4 racks, rackless brokers, exclusions,
//!   rack-violating starts) always give a plan that passes the independent verifier and is
//!   deterministic, or a clear infeasibility that is real.

mod support;

use std::collections::BTreeSet;

use kafka_replan::model::{BrokerId, Cluster};
use kafka_replan::plan::verify::{count_moves, verify_plan, VerifyRules};
use kafka_replan::plan::{plan, Infeasible, PlanConfig, PlanError};
use proptest::prelude::*;
use support::clusters::SmallCluster;

/// Brokers 1, 2, ... on `racks`, and partitions `t-0`, `t-1`, ... with `parts` as replicas and
/// sizes spread over 1-1000 bytes.
fn cluster(racks: &[Option<&str>], parts: &[Vec<BrokerId>]) -> Cluster {
    let mut c = SmallCluster::new();
    for (i, r) in racks.iter().enumerate() {
        c.add_broker(i as BrokerId + 1, *r, None);
    }
    for (i, reps) in parts.iter().enumerate() {
        c.add_partition("t", i as i32, reps.clone(), 1 + (i as u64 * 7919) % 1000);
    }
    c.build()
}

fn rack_key(c: &Cluster, b: BrokerId) -> String {
    Cluster::rack_key(c.broker(b).unwrap())
}

/// Every replica set of size `rf` over `allowed` that respects the rack cap.
fn candidate_sets(c: &Cluster, allowed: &[BrokerId], rf: usize, cap: usize) -> Vec<Vec<BrokerId>> {
    let mut out = Vec::new();
    let n = allowed.len();
    for mask in 0u32..(1 << n) {
        if mask.count_ones() as usize != rf {
            continue;
        }
        let set: Vec<BrokerId> = (0..n)
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| allowed[i])
            .collect();
        let mut keys: Vec<String> = set.iter().map(|b| rack_key(c, *b)).collect();
        keys.sort();
        let worst = keys
            .chunk_by(|a, b| a == b)
            .map(|g| g.len())
            .max()
            .unwrap_or(0);
        if worst <= cap {
            out.push(set);
        }
    }
    out
}

/// Minimum moves among rack-safe layouts inside the uniform band; None if none reaches it.
fn brute_force(c: &Cluster, excluded: &BTreeSet<BrokerId>) -> Option<usize> {
    let allowed: Vec<BrokerId> = c
        .broker_ids()
        .into_iter()
        .filter(|b| !excluded.contains(b))
        .collect();
    let racks: BTreeSet<String> = allowed.iter().map(|b| rack_key(c, *b)).collect();
    let total = c.total_replicas();
    let (lo, hi) = (total / allowed.len(), total.div_ceil(allowed.len()));
    let options: Vec<Vec<Vec<BrokerId>>> = c
        .partitions
        .iter()
        .map(|p| {
            candidate_sets(
                c,
                &allowed,
                p.replicas.len(),
                p.replicas.len().div_ceil(racks.len()),
            )
        })
        .collect();
    if options.iter().any(|o| o.is_empty()) {
        return None;
    }
    let mut best: Option<usize> = None;
    let mut choice = vec![0usize; options.len()];
    loop {
        let mut load = std::collections::BTreeMap::new();
        let mut moves = 0;
        for (i, opt) in options.iter().enumerate() {
            let set = &opt[choice[i]];
            for b in set {
                *load.entry(*b).or_insert(0usize) += 1;
                if !c.partitions[i].replicas.contains(b) {
                    moves += 1;
                }
            }
        }
        if allowed.iter().all(|b| {
            let l = load.get(b).copied().unwrap_or(0);
            l >= lo && l <= hi
        }) && best.is_none_or(|x| moves < x)
        {
            best = Some(moves);
        }
        // next combination
        let mut i = 0;
        loop {
            if i == options.len() {
                return best;
            }
            choice[i] += 1;
            if choice[i] < options[i].len() {
                break;
            }
            choice[i] = 0;
            i += 1;
        }
    }
}

fn check_invariants(c: &Cluster, excluded: &BTreeSet<BrokerId>) -> Result<usize, PlanError> {
    let config = PlanConfig {
        excluded: excluded.clone(),
        max_disk_util: 1.0,
        ..PlanConfig::default()
    };
    let out = plan(c, &config)?;
    let rules = VerifyRules {
        excluded,
        max_disk_util: Some(1.0),
        min_moves: out.bounds.forced_moves,
        max_moves: None,
        max_bytes: None,
        max_leader_changes: None,
    };
    let v = verify_plan(c, &out.before, &out.after, &out.plan, &out.rollback, &rules);
    assert!(v.is_empty(), "{v:?}");
    assert_eq!(count_moves(&out.before, &out.after), out.moves);
    if out.replica_band_reached {
        assert!(out.moves >= out.bounds.combined);
    }
    let again = plan(c, &config)?;
    assert_eq!(again.plan, out.plan, "not deterministic");
    Ok(out.moves)
}

#[test]
fn exact_against_brute_force() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = |m: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % m
    };
    let rack_names = ["a", "b", "c"];
    let mut checked = 0;
    for _ in 0..1500 {
        let nb = 3 + rnd(3) as usize;
        let nr = 1 + rnd(3) as usize;
        let racks: Vec<Option<&str>> = (0..nb).map(|i| Some(rack_names[i % nr])).collect();
        let np = 1 + rnd(4) as usize;
        let mut parts = Vec::new();
        for _ in 0..np {
            let rf = 1 + rnd(3.min(nb as u64)) as usize;
            let mut reps: Vec<BrokerId> = Vec::new();
            while reps.len() < rf {
                let b = 1 + rnd(nb as u64) as BrokerId;
                if !reps.contains(&b) {
                    reps.push(b);
                }
            }
            parts.push(reps);
        }
        let c = cluster(&racks, &parts);
        let mut excluded = BTreeSet::new();
        if rnd(3) == 0 {
            excluded.insert(1 + rnd(nb as u64) as BrokerId);
        }
        let want = brute_force(&c, &excluded);
        match check_invariants(&c, &excluded) {
            Ok(moves) => {
                if let Some(w) = want {
                    let out = plan(
                        &c,
                        &PlanConfig {
                            excluded: excluded.clone(),
                            max_disk_util: 1.0,
                            ..PlanConfig::default()
                        },
                    )
                    .unwrap();
                    assert!(out.replica_band_reached, "band reachable but not reached: {parts:?} racks {racks:?} excl {excluded:?}");
                    assert_eq!(
                        moves, w,
                        "not minimal: {parts:?} racks {racks:?} excl {excluded:?}"
                    );
                    checked += 1;
                }
            }
            Err(PlanError::Infeasible(list)) => {
                assert!(want.is_none());
                assert!(list.iter().all(|i| matches!(
                    i,
                    Infeasible::NotEnoughBrokers { .. } | Infeasible::RackSpread { .. }
                )));
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(checked > 400, "too few comparable cases: {checked}");
}

fn arb_cluster() -> impl Strategy<Value = (Cluster, BTreeSet<BrokerId>)> {
    (3usize..12, 1usize..5, 1usize..60, any::<u64>()).prop_map(|(nb, nr, np, seed)| {
        let mut s = seed | 1;
        let mut rnd = move |m: u64| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s % m.max(1)
        };
        let names = ["r1", "r2", "r3", "r4"];
        // One broker in five has no rack: it is a rack of its own.
        let racks: Vec<Option<&str>> = (0..nb)
            .map(|i| {
                if rnd(5) == 0 {
                    None
                } else {
                    Some(names[i % nr])
                }
            })
            .collect();
        let mut parts = Vec::new();
        for _ in 0..np {
            let rf = 1 + rnd(4.min(nb as u64)) as usize;
            let mut reps: Vec<BrokerId> = Vec::new();
            while reps.len() < rf {
                let b = 1 + rnd(nb as u64) as BrokerId;
                if !reps.contains(&b) {
                    reps.push(b);
                }
            }
            parts.push(reps);
        }
        let c = cluster(&racks, &parts);
        let mut excluded = BTreeSet::new();
        for _ in 0..rnd(3) {
            excluded.insert(1 + rnd(nb as u64) as BrokerId);
        }
        (c, excluded)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn random_clusters_plan_valid_or_really_infeasible((c, excluded) in arb_cluster()) {
        match check_invariants(&c, &excluded) {
            Ok(_) => {}
            Err(PlanError::Infeasible(list)) => {
                let allowed = c.brokers.len() - excluded.len();
                for item in list {
                    match item {
                        Infeasible::NotEnoughBrokers { rf, .. } => prop_assert!(rf > allowed),
                        Infeasible::RackSpread { rf, slots, .. } => prop_assert!(slots < rf),
                        Infeasible::NoAllowedBrokers => prop_assert_eq!(allowed, 0),
                        other => prop_assert!(false, "unexpected {:?}", other),
                    }
                }
            }
            Err(e) => prop_assert!(false, "{}", e),
        }
    }
}
