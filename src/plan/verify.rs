//! The independent invariant verifier. It shares no code with the solver: it reads the
//! cluster, the old and new layouts and the emitted plan/rollback, and checks every hard
//! rule from scratch. Every plan is verified before anything is written, and every planner
//! test runs it.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{BrokerId, Cluster, Layout, Plan};

/// What a plan must satisfy.
#[derive(Debug, Clone)]
pub struct VerifyRules<'a> {
    pub excluded: &'a BTreeSet<BrokerId>,
    /// Byte limit factor (capacity × this); `None` disables capacity checks.
    pub max_disk_util: Option<f64>,
    /// A lower bound the plan's moves can never beat (forced moves).
    pub min_moves: usize,
    /// Budgets the plan must stay within (replica moves, bytes copied).
    pub max_moves: Option<usize>,
    pub max_bytes: Option<u64>,
    /// Budget on preferred-leader changes (`replicas[0]` differs).
    pub max_leader_changes: Option<usize>,
}

/// True for the verifier's rack-rule message (`t-0: 2 replicas in rack a (at most 1
/// allowed)`), for callers that report that rule instead of enforcing it.
pub fn is_rack_violation(message: &str) -> bool {
    message.contains(" replicas in rack ") && message.ends_with(" allowed)")
}

/// Checks `after` against the rules and the plan/rollback against both layouts. Returns
/// every violation found (empty = valid).
pub fn verify_plan(
    cluster: &Cluster,
    before: &Layout,
    after: &Layout,
    plan: &Plan,
    rollback: &Plan,
    rules: &VerifyRules<'_>,
) -> Vec<String> {
    let mut v = Vec::new();
    let known: BTreeMap<BrokerId, &crate::model::Broker> =
        cluster.brokers.iter().map(|b| (b.id, b)).collect();
    let racks: BTreeSet<String> = cluster
        .brokers
        .iter()
        .filter(|b| !rules.excluded.contains(&b.id))
        .map(Cluster::rack_key)
        .collect();
    let nracks = racks.len().max(1);
    if after.replicas.len() != cluster.partitions.len() {
        v.push("the new layout does not cover every partition".to_string());
        return v;
    }
    let mut bytes: BTreeMap<BrokerId, u64> = BTreeMap::new();
    for (p, reps) in cluster.partitions.iter().zip(&after.replicas) {
        let tp = &p.tp;
        if reps.len() != p.replicas.len() {
            v.push(format!(
                "{tp}: replication factor changed from {} to {}",
                p.replicas.len(),
                reps.len()
            ));
        }
        let distinct: BTreeSet<_> = reps.iter().collect();
        if distinct.len() != reps.len() {
            v.push(format!("{tp}: a broker appears twice in {reps:?}"));
        }
        let mut per_rack: BTreeMap<String, usize> = BTreeMap::new();
        for b in reps {
            match known.get(b) {
                None => v.push(format!("{tp}: replica on unknown broker {b}")),
                Some(br) => {
                    if rules.excluded.contains(b) {
                        v.push(format!("{tp}: replica left on excluded broker {b}"));
                    }
                    *per_rack.entry(Cluster::rack_key(br)).or_insert(0) += 1;
                    *bytes.entry(*b).or_insert(0) += p.size_bytes;
                }
            }
        }
        let cap = reps.len().div_ceil(nracks);
        for (rack, n) in &per_rack {
            if *n > cap {
                v.push(format!(
                    "{tp}: {n} replicas in rack {} (at most {cap} allowed)",
                    rack.trim_start_matches("r:")
                ));
            }
        }
    }
    if let Some(util) = rules.max_disk_util {
        for (id, b) in &known {
            if let Some(c) = b.capacity_bytes {
                let limit = (c as f64 * util).floor() as u64;
                let used = bytes.get(id).copied().unwrap_or(0);
                if used > limit {
                    v.push(format!(
                        "broker {id}: {used} bytes exceed its limit of {limit} (capacity {c} × {util})"
                    ));
                }
            }
        }
    }
    match before.apply(cluster, plan) {
        Ok(l) if &l == after => {}
        Ok(_) => {
            v.push("applying the plan to the current layout does not give the new layout".into())
        }
        Err(tp) => v.push(format!("the plan names unknown partition {tp}")),
    }
    match after.apply(cluster, rollback) {
        Ok(l) if &l == before => {}
        Ok(_) => v.push(
            "applying the rollback to the new layout does not give the current layout".into(),
        ),
        Err(tp) => v.push(format!("the rollback names unknown partition {tp}")),
    }
    for (tp, reps) in &plan.changes {
        if let Some(i) = cluster.partition_index(tp) {
            if &before.replicas[i] == reps {
                v.push(format!("{tp}: listed in the plan without a change"));
            }
        }
    }
    let moves = count_moves(before, after);
    if moves < rules.min_moves {
        v.push(format!(
            "the plan makes {moves} moves, fewer than the {} that are forced: a bound or the plan is wrong",
            rules.min_moves
        ));
    }
    if let Some(m) = rules.max_moves {
        if moves > m {
            v.push(format!(
                "the plan makes {moves} moves, over the budget of {m}"
            ));
        }
    }
    if let Some(m) = rules.max_leader_changes {
        let changed = before
            .replicas
            .iter()
            .zip(&after.replicas)
            .filter(|(o, n)| o.first() != n.first())
            .count();
        if changed > m {
            v.push(format!(
                "the plan changes {changed} preferred leaders, over the budget of {m}"
            ));
        }
    }
    if let Some(m) = rules.max_bytes {
        let copied: u64 = cluster
            .partitions
            .iter()
            .zip(before.replicas.iter().zip(&after.replicas))
            .map(|(p, (old, new))| {
                new.iter().filter(|b| !old.contains(b)).count() as u64 * p.size_bytes
            })
            .sum();
        if copied > m {
            v.push(format!(
                "the plan copies {copied} bytes, over the budget of {m}"
            ));
        }
    }
    v
}

/// New (partition, broker) pairs between two layouts.
pub fn count_moves(before: &Layout, after: &Layout) -> usize {
    before
        .replicas
        .iter()
        .zip(&after.replicas)
        .map(|(a, b)| b.iter().filter(|x| !a.contains(x)).count())
        .sum()
}
