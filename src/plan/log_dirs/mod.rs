//! JBOD: which log dir (data disk) of its broker every replica lives in.
//!
//! When some broker's log dirs are known, [`plan`] wraps the broker-level pipeline:
//!
//! 1. the pipeline plans on a cluster whose broker capacities are those of the dirs that may
//!    hold data ([`planning_cluster`]: online dirs not being drained), so a drained dir's
//!    bytes leave the broker only when its other dirs lack room (the capacity repair moves
//!    them), and a broker with no such dir is emptied like an excluded broker;
//! 2. replicas still on a broker whose dir is offline are moved to another broker
//!    ([`evict_offline`]): Kafka cannot copy a replica out of an offline dir (AlterReplicaLogDirs
//!    needs the source log, and the broker serves nothing from that dir), so a new replica
//!    must be copied from the leader to another broker;
//! 3. [`place`] puts every replica of a broker with known dirs into one of its dirs: usage
//!    fractions within the tolerance where sizes allow, each dir's capacity × max disk util a
//!    hard limit, the fewest bytes copied inside brokers (a replica arriving from another
//!    broker is copied anyway, so its dir costs nothing extra);
//! 4. the result is checked by [`verify_dirs`] (independent of the placement code) and
//!    carried in [`LogDirOutcome`]: the reassignment entries with real dirs where the plan
//!    fixes them (`None` = Kafka's `"any"`), the rollback with the current dirs, per-dir
//!    figures and the lower bound on bytes copied inside brokers.
//!
//! A replica whose dir is unknown stays where it is (its entry says `"any"`) and counts in no
//! dir. Without any known dir nothing here runs: plans are exactly those of the pipeline.

mod place;

use std::collections::{BTreeMap, BTreeSet};

use super::replicas::Topology;
use super::{stages, verify, Infeasible, PlanConfig, PlanError, PlanOutcome};
use crate::model::{BrokerId, Cluster, Layout, TopicPartition};

pub use place::dir_weights;

/// Default `log_dir_tolerance`: the fullest dir of a broker at most 5 % fuller (by usage
/// fraction) than its emptiest.
pub const DEFAULT_LOG_DIR_TOLERANCE: f64 = 0.05;

/// One reassignment entry: the replica list and, per replica, the dir the plan fixes
/// (`None` = `"any"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub replicas: Vec<BrokerId>,
    pub log_dirs: Vec<Option<String>>,
}

/// One dir before and after the plan (replicas whose dir is unknown count in no dir).
#[derive(Debug, Clone, PartialEq)]
pub struct DirFigure {
    pub broker: BrokerId,
    pub path: String,
    pub capacity_bytes: Option<u64>,
    pub offline: bool,
    pub drained: bool,
    pub before_bytes: u64,
    pub after_bytes: u64,
    pub before_replicas: usize,
    pub after_replicas: usize,
}

/// The dir balance of one broker: max/min usage fraction over the dirs that may hold data
/// (`None` with fewer than two such dirs; infinite when one is empty and another is not).
#[derive(Debug, Clone, PartialEq)]
pub struct BrokerDirBalance {
    pub broker: BrokerId,
    pub before_ratio: Option<f64>,
    pub after_ratio: Option<f64>,
    /// Bytes this broker's plan copies between its own dirs, and the bound for it.
    pub intra_bytes: u64,
    pub intra_bound: u64,
}

/// What the log-dir placement did.
#[derive(Debug, Clone, PartialEq)]
pub struct LogDirOutcome {
    pub tolerance: f64,
    pub dirs: Vec<DirFigure>,
    pub brokers: Vec<BrokerDirBalance>,
    /// Replicas moved to another dir of the same broker, and their bytes.
    pub intra_moves: usize,
    pub intra_bytes: u64,
    /// Lower bound on `intra_bytes` for any placement of this broker-level layout that keeps
    /// every broker's dirs within the tolerance (or within what this plan reached where sizes
    /// do not allow the tolerance) and under their capacity.
    pub intra_bound: u64,
    /// Replicas on an offline dir moved to another broker after the broker-level balance.
    pub evicted: usize,
    /// Replicas on brokers with known dirs whose own dir is unknown (left where they are).
    pub unknown_dir_replicas: usize,
    /// The reassignment: every partition whose replicas or dirs change.
    pub plan: BTreeMap<TopicPartition, DirEntry>,
    /// Its rollback: the same partitions with their current replicas and known dirs.
    pub rollback: BTreeMap<TopicPartition, DirEntry>,
    /// Partitions in `plan` whose replica list does not change (intra-broker moves only).
    pub intra_only: usize,
}

impl LogDirOutcome {
    /// The largest max/min usage ratio over the brokers, before and after.
    pub fn worst_ratios(&self) -> (Option<f64>, Option<f64>) {
        let worst = |f: fn(&BrokerDirBalance) -> Option<f64>| {
            self.brokers
                .iter()
                .filter_map(f)
                .fold(None, |acc: Option<f64>, r| {
                    Some(acc.map_or(r, |a| a.max(r)))
                })
        };
        (worst(|b| b.before_ratio), worst(|b| b.after_ratio))
    }

    /// Dirs whose bytes after the plan exceed capacity × `max_disk_util`.
    pub fn capacity_violations(&self, max_disk_util: f64) -> usize {
        self.dirs
            .iter()
            .filter(|d| {
                d.capacity_bytes
                    .is_some_and(|c| d.after_bytes > limit(c, max_disk_util))
            })
            .count()
    }
}

fn limit(capacity: u64, max_disk_util: f64) -> u64 {
    (capacity as f64 * max_disk_util).floor() as u64
}

/// True when `config` drains the dir `path` of `broker`.
fn drained(config: &PlanConfig, broker: BrokerId, path: &str) -> bool {
    config.drain_log_dirs.contains(&(broker, path.to_string()))
}

/// Checks that every dir to drain exists: the broker is known and lists it.
pub fn check_drains(cluster: &Cluster, config: &PlanConfig) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    for (broker, path) in &config.drain_log_dirs {
        match cluster.broker(*broker) {
            None => problems.push(format!("broker {broker} is not in the cluster")),
            Some(b) if b.log_dirs.is_empty() => problems.push(format!(
                "broker {broker} has no known log dirs, so its log dir {path} cannot be drained"
            )),
            Some(b) if !b.log_dirs.iter().any(|d| &d.path == path) => {
                let known: Vec<&str> = b.log_dirs.iter().map(|d| d.path.as_str()).collect();
                problems.push(format!(
                    "broker {broker} has no log dir {path} (its log dirs: {})",
                    known.join(", ")
                ))
            }
            Some(_) => {}
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Bytes of the replicas known to be in each dir of broker index `b` now.
fn current_dir_bytes(cluster: &Cluster, id: BrokerId) -> BTreeMap<&str, u64> {
    let mut out = BTreeMap::new();
    for p in &cluster.partitions {
        for (r, d) in p.replicas.iter().zip(&p.log_dirs) {
            if let (true, Some(d)) = (*r == id, d) {
                *out.entry(d.as_str()).or_insert(0u64) += p.size_bytes;
            }
        }
    }
    out
}

/// The cluster the broker-level pipeline plans on, the one its result is verified on, and
/// the brokers that can hold nothing (no online dir left that is not drained).
///
/// - `strict`: a broker with known dirs has the capacity of its usable dirs (online, not
///   drained) when all of them report one; otherwise the broker's own capacity is kept;
/// - `relaxed`: as `strict` plus the bytes now in the broker's offline dirs, since those
///   replicas leave afterwards (step 2) and the pipeline must not move others to make room
///   for them.
fn planning_cluster(cluster: &Cluster, config: &PlanConfig) -> (Cluster, Cluster, Vec<BrokerId>) {
    let mut strict = cluster.clone();
    let mut relaxed = cluster.clone();
    let mut empty = Vec::new();
    for (i, b) in cluster.brokers.iter().enumerate() {
        if b.log_dirs.is_empty() {
            continue;
        }
        let usable: Vec<_> = b
            .log_dirs
            .iter()
            .filter(|d| !d.offline && !drained(config, b.id, &d.path))
            .collect();
        if usable.is_empty() {
            empty.push(b.id);
            continue;
        }
        let capacity: Option<u64> = usable
            .iter()
            .map(|d| d.capacity_bytes)
            .try_fold(0u64, |acc, c| c.map(|c| acc.saturating_add(c)));
        if let Some(c) = capacity {
            let bytes = current_dir_bytes(cluster, b.id);
            let offline: u64 = b
                .log_dirs
                .iter()
                .filter(|d| d.offline)
                .map(|d| bytes.get(d.path.as_str()).copied().unwrap_or(0))
                .sum();
            strict.brokers[i].capacity_bytes = Some(c);
            relaxed.brokers[i].capacity_bytes = Some(c.saturating_add(offline));
        }
    }
    (strict, relaxed, empty)
}

/// Plans with log dirs: the broker-level `pipeline` on the planning cluster, then offline
/// evictions and the dir placement, verified.
pub(super) fn plan(
    cluster: &Cluster,
    config: &PlanConfig,
    pipeline: impl Fn(&Cluster, &PlanConfig) -> Result<PlanOutcome, PlanError>,
) -> Result<PlanOutcome, PlanError> {
    if let Err(problems) = check_drains(cluster, config) {
        return Err(PlanError::Infeasible(
            problems.into_iter().map(Infeasible::Rule).collect(),
        ));
    }
    // A scenario that changes replica lists (e.g. a new replication factor) leaves the dirs
    // of those partitions unaligned: they are unknown then.
    let aligned;
    let cluster = if cluster
        .partitions
        .iter()
        .any(|p| !p.log_dirs.is_empty() && p.log_dirs.len() != p.replicas.len())
    {
        let mut c = cluster.clone();
        for p in c.partitions.iter_mut() {
            if p.log_dirs.len() != p.replicas.len() {
                p.log_dirs.clear();
            }
        }
        aligned = c;
        &aligned
    } else {
        cluster
    };
    let (strict, relaxed, empty) = planning_cluster(cluster, config);
    let mut inner = config.clone();
    inner.excluded.extend(empty);
    let mut outcome = pipeline(&relaxed, &inner)?;
    let evicted = evict_offline(&strict, &inner, &mut outcome)?;
    if evicted > 0 {
        outcome.explanations.push(format!(
            "{evicted} replica(s) on offline log dirs moved to other brokers after the balance (Kafka cannot copy out of an offline dir); the count band may be off by as many"
        ));
    }
    let rules = verify::VerifyRules {
        excluded: &inner.excluded,
        max_disk_util: outcome.capacity_checked.then_some(config.max_disk_util),
        min_moves: outcome.bounds.forced_moves,
        max_moves: config.max_moves,
        max_bytes: config.max_bytes,
        max_leader_changes: config.max_leader_changes,
    };
    let violations = verify::verify_plan(
        &strict,
        &outcome.before,
        &outcome.after,
        &outcome.plan,
        &outcome.rollback,
        &rules,
    );
    if !violations.is_empty() {
        return Err(PlanError::Infeasible(
            violations.into_iter().map(Infeasible::Rule).collect(),
        ));
    }
    let mut dirs = place::place(&strict, config, &outcome.before, &outcome.after)?;
    dirs.evicted = evicted;
    let problems = verify_dirs(
        cluster,
        config,
        &outcome.before,
        &outcome.after,
        &dirs.plan,
        &dirs.rollback,
    );
    if !problems.is_empty() {
        return Err(PlanError::Internal(format!(
            "the log-dir placement failed verification: {}",
            problems.join("; ")
        )));
    }
    outcome.log_dirs = Some(dirs);
    Ok(outcome)
}

/// Moves every replica that the broker-level plan leaves on its broker while its dir there
/// is offline to another allowed broker (same position in the replica list): rack-safe,
/// within the broker's capacity, the fewest replicas then bytes, then the lowest id. Returns
/// how many moved; refreshes the plan, rollback and figures of `outcome`.
fn evict_offline(
    cluster: &Cluster,
    config: &PlanConfig,
    outcome: &mut PlanOutcome,
) -> Result<usize, PlanError> {
    let mut stuck = Vec::new();
    for (i, p) in cluster.partitions.iter().enumerate() {
        for (pos, (r, d)) in p.replicas.iter().zip(&p.log_dirs).enumerate() {
            let Some(d) = d else { continue };
            let offline = cluster
                .broker(*r)
                .is_some_and(|b| b.log_dirs.iter().any(|x| &x.path == d && x.offline));
            if offline && outcome.after.replicas[i].contains(r) {
                stuck.push((i, pos, *r));
            }
        }
    }
    if stuck.is_empty() {
        return Ok(0);
    }
    // Partitions with a replica in an offline dir never make room for others: moving one of
    // their replicas could bring it back to the broker whose dir failed.
    let stuck_partitions: std::collections::BTreeSet<usize> = stuck.iter().map(|s| s.0).collect();
    let topo = Topology::new(cluster, &config.excluded);
    let nb = cluster.brokers.len();
    let index = |id: BrokerId| cluster.brokers.binary_search_by_key(&id, |b| b.id).ok();
    let mut counts = vec![0usize; nb];
    let mut bytes = vec![0u64; nb];
    for (p, reps) in cluster.partitions.iter().zip(&outcome.after.replicas) {
        for r in reps {
            if let Some(b) = index(*r) {
                counts[b] += 1;
                bytes[b] += p.size_bytes;
            }
        }
    }
    let limits = super::capacity::limits(cluster, config.max_disk_util);
    let may_change = |tp: &TopicPartition| {
        config
            .movable
            .as_ref()
            .is_none_or(|m| m.contains(&tp.topic))
            && !config.frozen.contains(tp)
    };
    let mut problems = Vec::new();
    let mut moved = 0;
    for (i, _, from) in stuck {
        let p = &cluster.partitions[i];
        if !may_change(&p.tp) {
            problems.push(Infeasible::Rule(format!(
                "{}: its replica on broker {from} is in an offline log dir, but the partition may not change (not a movable topic, or frozen)",
                p.tp
            )));
            continue;
        }
        let reps = outcome.after.replicas[i].clone();
        // Already moved off (to make room for another evicted replica).
        if !reps.contains(&from) {
            continue;
        }
        let Some(fb) = index(from) else { continue };
        // Brokers that may take a replica of partition `reps` (leaving `without`): allowed,
        // a target, not holding it, with an online dir, and within the rack rule.
        let may_take = |c: usize, reps: &[BrokerId], without: BrokerId| {
            let b = &cluster.brokers[c];
            topo.allowed[c]
                && !reps.contains(&topo.ids[c])
                && config
                    .target_brokers
                    .as_ref()
                    .is_none_or(|t| t.contains(&topo.ids[c]))
                && (b.log_dirs.is_empty()
                    || b.log_dirs
                        .iter()
                        .any(|d| !d.offline && !drained(config, b.id, &d.path)))
                && reps
                    .iter()
                    .filter(|&&r| r != without)
                    .filter_map(|&r| index(r))
                    .filter(|&x| topo.rack[x] == topo.rack[c])
                    .count()
                    < topo.rack_cap(reps.len())
        };
        let fits =
            |c: usize, bytes: &[u64], add: u64| limits[c].is_none_or(|l| bytes[c] + add <= l);
        let candidate = (0..nb)
            .filter(|&c| may_take(c, &reps, from) && fits(c, &bytes, p.size_bytes))
            .min_by_key(|&c| (counts[c], bytes[c], topo.ids[c]));
        // No broker has room: make room on one by moving another partition's replica from it
        // to a third broker (the smallest replica that makes enough room), as the capacity
        // repair would have done had it known these bytes were coming.
        let candidate = candidate.map(|c| (c, None)).or_else(|| {
            let mut options: Vec<usize> = (0..nb).filter(|&c| may_take(c, &reps, from)).collect();
            options.sort_by_key(|&c| (counts[c], bytes[c], topo.ids[c]));
            options.into_iter().find_map(|c| {
                let limit = limits[c]?;
                let needed = (bytes[c] + p.size_bytes).saturating_sub(limit);
                let mut room: Option<(u64, usize, usize, usize)> = None;
                for (j, other) in outcome.after.replicas.iter().enumerate() {
                    let q = &cluster.partitions[j];
                    if j == i
                        || stuck_partitions.contains(&j)
                        || q.size_bytes < needed
                        || !may_change(&q.tp)
                    {
                        continue;
                    }
                    let Some(slot) = other.iter().position(|&r| r == topo.ids[c]) else {
                        continue;
                    };
                    if room.is_some_and(|(size, jj, _, _)| (size, jj) <= (q.size_bytes, j)) {
                        continue;
                    }
                    let to = (0..nb)
                        .filter(|&d| d != c)
                        .filter(|&d| may_take(d, other, topo.ids[c]))
                        .filter(|&d| fits(d, &bytes, q.size_bytes))
                        .min_by_key(|&d| (counts[d], bytes[d], topo.ids[d]));
                    if let Some(d) = to {
                        room = Some((q.size_bytes, j, slot, d));
                    }
                }
                room.map(|(_, j, slot, d)| (c, Some((j, slot, d))))
            })
        });
        match candidate {
            Some((c, room)) => {
                if let Some((j, slot, d)) = room {
                    let size = cluster.partitions[j].size_bytes;
                    outcome.after.replicas[j][slot] = topo.ids[d];
                    counts[c] -= 1;
                    bytes[c] -= size;
                    counts[d] += 1;
                    bytes[d] += size;
                }
                let slot = reps.iter().position(|&r| r == from).unwrap_or(0);
                outcome.after.replicas[i][slot] = topo.ids[c];
                counts[c] += 1;
                bytes[c] += p.size_bytes;
                counts[fb] -= 1;
                bytes[fb] -= p.size_bytes;
                moved += 1;
            }
            None => problems.push(Infeasible::Rule(format!(
                "{}: its replica on broker {from} is in an offline log dir and no other allowed broker can take it (rack rule, capacity, or every broker already holds it)",
                p.tp
            ))),
        }
    }
    if !problems.is_empty() {
        return Err(PlanError::Infeasible(problems));
    }
    outcome.plan = outcome.before.diff(cluster, &outcome.after);
    outcome.rollback = outcome.plan.rollback(cluster, &outcome.before);
    let figures = stages::report::figures(cluster, &outcome.before, &outcome.after);
    outcome.moves = figures.moves;
    outcome.bytes_moved = figures.bytes_moved;
    outcome.leader_changes = figures.leader_changes;
    outcome.election = figures.election;
    Ok(moved)
}

/// The independent check of a log-dir plan: replaying `plan` on the current dirs (an entry's
/// dir where it names one, the replica's current dir where it stays on its broker) must give
/// a dir from its broker's list for every replica of a broker with known dirs whose dir is
/// known, never an offline or drained one, each dir at most capacity × max disk util; the
/// entries must match the broker-level layouts and the rollback must restore both.
pub fn verify_dirs(
    cluster: &Cluster,
    config: &PlanConfig,
    before: &Layout,
    after: &Layout,
    plan: &BTreeMap<TopicPartition, DirEntry>,
    rollback: &BTreeMap<TopicPartition, DirEntry>,
) -> Vec<String> {
    let mut v = Vec::new();
    let mut used: BTreeMap<(BrokerId, &str), u64> = BTreeMap::new();
    for (i, p) in cluster.partitions.iter().enumerate() {
        let entry = plan.get(&p.tp);
        let (Some(old), Some(new)) = (before.replicas.get(i), after.replicas.get(i)) else {
            v.push(format!("{}: missing from a layout", p.tp));
            continue;
        };
        match entry {
            Some(e) if &e.replicas != new => v.push(format!(
                "{}: the entry's replicas are not the new layout's",
                p.tp
            )),
            None if old != new => v.push(format!("{}: changes but has no entry", p.tp)),
            _ => {}
        }
        if let Some(e) = entry {
            if e.log_dirs.len() != e.replicas.len() {
                v.push(format!("{}: one log dir per replica needed", p.tp));
            }
            match rollback.get(&p.tp) {
                Some(r) if &r.replicas == old => {
                    for (pos, b) in old.iter().enumerate() {
                        let now = p.log_dirs.get(pos).cloned().flatten();
                        if now.is_some() && r.log_dirs.get(pos).cloned().flatten() != now {
                            v.push(format!(
                                "{}: the rollback does not put broker {b}'s replica back in its dir",
                                p.tp
                            ));
                        }
                    }
                }
                _ => v.push(format!(
                    "{}: the rollback does not restore its replicas",
                    p.tp
                )),
            }
        }
        for (pos, b) in new.iter().enumerate() {
            let Some(broker) = cluster.broker(*b) else {
                continue;
            };
            if broker.log_dirs.is_empty() {
                continue;
            }
            let fixed = entry.and_then(|e| e.log_dirs.get(pos).cloned().flatten());
            let stays = old
                .iter()
                .position(|x| x == b)
                .and_then(|bp| p.log_dirs.get(bp).cloned().flatten());
            let was_on = old.contains(b);
            let dir = match (fixed, stays) {
                (Some(d), _) => d,
                (None, Some(d)) => d,
                (None, None) if was_on => continue, // dir unknown, left as it is
                (None, None) => {
                    v.push(format!(
                        "{}: the replica arriving on broker {b} has no log dir, though broker {b}'s dirs are known",
                        p.tp
                    ));
                    continue;
                }
            };
            match broker.log_dirs.iter().find(|d| d.path == dir) {
                None => v.push(format!("{}: broker {b} has no log dir {dir}", p.tp)),
                Some(d) if d.offline => v.push(format!(
                    "{}: the replica on broker {b} stays in offline log dir {dir}",
                    p.tp
                )),
                Some(d) if drained(config, *b, &d.path) => v.push(format!(
                    "{}: the replica on broker {b} stays in drained log dir {dir}",
                    p.tp
                )),
                Some(d) => {
                    *used.entry((*b, d.path.as_str())).or_insert(0) += p.size_bytes;
                }
            }
        }
    }
    for (tp, e) in plan {
        if cluster.partition_index(tp).is_none() {
            v.push(format!("the log-dir plan names unknown partition {tp}"));
        } else if !rollback.contains_key(tp) || e.replicas.is_empty() {
            v.push(format!("{tp}: no rollback entry"));
        }
    }
    let known: BTreeSet<&TopicPartition> = plan.keys().collect();
    if rollback.keys().any(|tp| !known.contains(tp)) {
        v.push("the rollback lists a partition the plan does not".to_string());
    }
    for ((b, path), bytes) in used {
        let capacity = cluster
            .broker(b)
            .and_then(|x| x.log_dirs.iter().find(|d| d.path == path))
            .and_then(|d| d.capacity_bytes);
        if let Some(c) = capacity {
            if bytes > limit(c, config.max_disk_util) {
                v.push(format!(
                    "broker {b} log dir {path}: {bytes} bytes after the plan, over its limit of {} bytes (capacity {c} × max disk util {})",
                    limit(c, config.max_disk_util),
                    config.max_disk_util
                ));
            }
        }
    }
    v
}
