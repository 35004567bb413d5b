//! The independent invariant verifier. It shares no code with the solver: it reads the
//! cluster, the old and new layouts and the emitted plan/rollback, and checks every hard
//! rule from scratch. Every plan is verified before anything is written, and every planner
//! test runs it.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{BrokerId, Cluster, Layout, Plan, TopicPartition};

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
///
/// One pass over the partitions checks every per-partition rule and counts the moves, bytes
/// and leader changes; rack keys are numbered once per broker (in key order, so the rack
/// messages of a partition come in the order of the keys) and the plan and rollback are
/// matched against the layouts without building the layouts they give.
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
    let brokers = BrokerFacts::new(&known, rules.excluded);
    let mut bytes = vec![0u64; brokers.ids.len()];
    // Counted over the partitions both layouts cover, as `count_moves` does.
    let mut moves = 0usize;
    let mut leader_changes = 0usize;
    let mut copied = 0u64;
    // Rack numbers of one partition's replicas, reused partition after partition.
    let mut rack_nums: Vec<usize> = Vec::new();
    for (i, (p, reps)) in cluster.partitions.iter().zip(&after.replicas).enumerate() {
        let tp = &p.tp;
        if reps.len() != p.replicas.len() {
            v.push(format!(
                "{tp}: replication factor changed from {} to {}",
                p.replicas.len(),
                reps.len()
            ));
        }
        if has_repeat(reps) {
            v.push(format!("{tp}: a broker appears twice in {reps:?}"));
        }
        rack_nums.clear();
        for b in reps {
            match brokers.position(*b) {
                None => v.push(format!("{tp}: replica on unknown broker {b}")),
                Some(k) => {
                    if brokers.excluded[k] {
                        v.push(format!("{tp}: replica left on excluded broker {b}"));
                    }
                    rack_nums.push(brokers.rack[k]);
                    bytes[k] += p.size_bytes;
                }
            }
        }
        let cap = reps.len().div_ceil(nracks);
        rack_nums.sort_unstable();
        for run in rack_nums.chunk_by(|a, b| a == b) {
            if run.len() > cap {
                v.push(format!(
                    "{tp}: {} replicas in rack {} (at most {cap} allowed)",
                    run.len(),
                    brokers.rack_keys[run[0]].trim_start_matches("r:")
                ));
            }
        }
        if let Some(old) = before.replicas.get(i) {
            let added = reps.iter().filter(|b| !old.contains(b)).count();
            moves += added;
            copied += added as u64 * p.size_bytes;
            if old.first() != reps.first() {
                leader_changes += 1;
            }
        }
    }
    if let Some(util) = rules.max_disk_util {
        for (k, (id, b)) in known.iter().enumerate() {
            if let Some(c) = b.capacity_bytes {
                let limit = (c as f64 * util).floor() as u64;
                let used = bytes[k];
                if used > limit {
                    v.push(format!(
                        "broker {id}: {used} bytes exceed its limit of {limit} (capacity {c} × {util})"
                    ));
                }
            }
        }
    }
    match gives(cluster, before, plan, after) {
        Ok(true) => {}
        Ok(false) => {
            v.push("applying the plan to the current layout does not give the new layout".into())
        }
        Err(tp) => v.push(format!("the plan names unknown partition {tp}")),
    }
    match gives(cluster, after, rollback, before) {
        Ok(true) => {}
        Ok(false) => v.push(
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
        if leader_changes > m {
            v.push(format!(
                "the plan changes {leader_changes} preferred leaders, over the budget of {m}"
            ));
        }
    }
    if let Some(m) = rules.max_bytes {
        if copied > m {
            v.push(format!(
                "the plan copies {copied} bytes, over the budget of {m}"
            ));
        }
    }
    v
}

/// The verifier's own view of the brokers: position in id order, excluded or not, and the
/// number of the rack key (rack keys numbered in their sorted order).
struct BrokerFacts {
    ids: Vec<BrokerId>,
    excluded: Vec<bool>,
    rack: Vec<usize>,
    rack_keys: Vec<String>,
}

impl BrokerFacts {
    fn new(
        known: &BTreeMap<BrokerId, &crate::model::Broker>,
        excluded: &BTreeSet<BrokerId>,
    ) -> Self {
        let keys: Vec<String> = known.values().map(|b| Cluster::rack_key(b)).collect();
        let rack_keys: Vec<String> = keys
            .iter()
            .cloned()
            .collect::<BTreeSet<String>>()
            .into_iter()
            .collect();
        let rack = keys
            .iter()
            .map(|k| rack_keys.binary_search(k).unwrap_or(0))
            .collect();
        BrokerFacts {
            ids: known.keys().copied().collect(),
            excluded: known.keys().map(|id| excluded.contains(id)).collect(),
            rack,
            rack_keys,
        }
    }

    fn position(&self, id: BrokerId) -> Option<usize> {
        self.ids.binary_search(&id).ok()
    }
}

/// True when a broker appears twice in the list.
fn has_repeat(reps: &[BrokerId]) -> bool {
    if reps.len() <= 16 {
        reps.iter().enumerate().any(|(j, b)| reps[..j].contains(b))
    } else {
        let distinct: BTreeSet<_> = reps.iter().collect();
        distinct.len() != reps.len()
    }
}

/// Whether applying `plan` to `from` gives `to`, partition by partition, without building
/// the layout it gives (`Layout::apply(from, plan) == to`). `Err` names the first
/// partition of the plan that is not in the cluster.
fn gives(
    cluster: &Cluster,
    from: &Layout,
    plan: &Plan,
    to: &Layout,
) -> Result<bool, TopicPartition> {
    // The plan's partitions as indices, in the plan's (topic-partition) order.
    let mut changed: Vec<(usize, &Vec<BrokerId>)> = Vec::with_capacity(plan.changes.len());
    for (tp, reps) in &plan.changes {
        let i = cluster.partition_index(tp).ok_or_else(|| tp.clone())?;
        changed.push((i, reps));
    }
    if changed.iter().any(|&(i, _)| i >= from.replicas.len()) {
        // Applying would fail on the missing entry: this cannot give `to`.
        return Ok(false);
    }
    if from.replicas.len() != to.replicas.len() {
        return Ok(false);
    }
    // Later entries for the same index win, as when applied one after the other.
    changed.sort_by_key(|&(i, _)| i);
    let mut next = changed.iter().peekable();
    for (i, (old, new)) in from.replicas.iter().zip(&to.replicas).enumerate() {
        let mut expected = old;
        while let Some(&&(j, reps)) = next.peek() {
            if j != i {
                break;
            }
            expected = reps;
            next.next();
        }
        if expected != new {
            return Ok(false);
        }
    }
    Ok(true)
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
