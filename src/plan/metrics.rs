//! Plan metrics, defined exactly as the bench scorer's (`../shared/bench/score.py`), with the
//! same names, so a plan scored here and by the scorer gives the same figures.
//!
//! * [`layout_stats`]: the balance metrics of one layout (score.py's `_layout_stats`).
//! * [`summarize`]: moves, bytes, leader changes, lower bounds and both layouts' metrics of a
//!   change from one layout to another ([`ScoreSummary`]; the planner's report reuses it).
//! * [`score_plan`]: lenient validation of a reassignment JSON value plus the summary
//!   (score.py's `score`), with the scorer's error strings.
//!
//! Semantics carried over from the scorer on purpose:
//! * balance figures (replicas, leaders, disk, utilisation, topic spread) are over the allowed
//!   brokers (known minus excluded); capacity violations are over *all* brokers;
//! * the rack rule counts the replicas of a partition per rack over all its brokers, excluded
//!   ones included, against the cap `ceil(RF / racks)` where `racks` counts allowed racks only;
//! * `replicas_on_excluded` counts every replica on a broker that is not allowed (an unknown
//!   id in a layout counts too).
//!
//! The model is slightly more general than the scorer's snapshots: a broker without a rack
//! counts as a rack of its own ([`Cluster::rack_key`]), and a broker with an unknown capacity
//! (`None`) never violates capacity and has no utilisation.
//!
//! Pure: no I/O.

use std::collections::{BTreeMap, BTreeSet};

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::Value;

use super::bounds::{allowed_rack_count, move_bounds, MoveBounds};
use crate::model::{BrokerId, Cluster, Layout};

/// Most errors listed by [`score_plan`]; one more line says that the rest were omitted.
pub const MAX_ERRORS: usize = 20;

/// The line that follows the first [`MAX_ERRORS`] errors when there are more.
pub const MORE_ERRORS_OMITTED: &str = "... more errors omitted";

/// Balance metrics of one layout (score.py's `_layout_stats`, same names; the fields are in
/// the scorer's key order, which the derived serialisation keeps).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayoutStats {
    /// Most replicas on one allowed broker.
    pub replicas_max: usize,
    pub replicas_min: usize,
    pub replicas_spread: usize,
    /// Most preferred leaders (`replicas[0]`) on one allowed broker.
    pub leaders_max: usize,
    pub leaders_min: usize,
    pub leaders_spread: usize,
    /// Most bytes on one allowed broker (sums saturate at `u64::MAX`).
    pub disk_max_bytes: u64,
    pub disk_min_bytes: u64,
    /// `disk_max_bytes / mean`, rounded to 4 places; `None` without allowed brokers or bytes.
    pub disk_max_mean_ratio: Option<f64>,
    /// Highest `bytes / capacity` over allowed brokers with a known, non-zero capacity,
    /// rounded to 4 places; `None` when there is none.
    pub disk_util_max: Option<f64>,
    /// Brokers (all, excluded ones included) holding more bytes than their capacity.
    pub capacity_violations: usize,
    /// Their ids, sorted.
    pub capacity_violation_brokers: Vec<BrokerId>,
    /// Partitions with more replicas in one rack than `ceil(RF / allowed racks)`.
    pub rack_violations: usize,
    /// Max over topics of (max - min) replicas of that topic per allowed broker.
    pub topic_spread_max: usize,
    /// Mean of that spread over topics, rounded to 3 places (0 without topics).
    pub topic_spread_mean: f64,
    /// Replicas on brokers that are not allowed.
    pub replicas_on_excluded: usize,
}

/// Size figures of the cluster (score.py's `cluster` block, in its key order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterStats {
    pub brokers: usize,
    pub allowed_brokers: usize,
    /// Racks among the allowed brokers.
    pub racks: usize,
    pub partitions: usize,
    /// Replicas in the starting layout.
    pub replicas: usize,
    /// Bytes of all replicas in the starting layout (saturating).
    pub total_bytes: u64,
}

/// Everything score.py reports about a change of layout except plan validity.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreSummary {
    /// Partitions whose ordered replica list changed.
    pub partitions_changed: usize,
    /// New (partition, broker) pairs.
    pub replica_moves: usize,
    /// Sum of `size_bytes` over the new pairs (saturating).
    pub bytes_moved: u64,
    /// Partitions whose `replicas[0]` changed (both lists non-empty).
    pub leader_changes: usize,
    /// Lower bounds of the starting layout.
    pub bounds: MoveBounds,
    /// `replica_moves / lower_bound_moves`, rounded to 3 places; `None` when the bound is 0 or
    /// undefined.
    pub moves_over_lb: Option<f64>,
    /// `max(lower_bound_moves, lb_forced_moves)`: "LB*".
    pub lb_combined: usize,
    pub after: LayoutStats,
    pub before: LayoutStats,
    pub cluster: ClusterStats,
}

/// The score of a reassignment JSON (score.py's `score`).
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// A label for the snapshot. The scorer takes it from the snapshot's `scenario.name`,
    /// which the model does not keep; callers set it (the CLI uses the file name).
    pub snapshot: Option<String>,
    pub valid: bool,
    /// At most [`MAX_ERRORS`] messages, then [`MORE_ERRORS_OMITTED`].
    pub errors: Vec<String>,
    /// Entries with at least one problem.
    pub invalid_entries: usize,
    /// Entries in the plan's `partitions` list.
    pub plan_entries: usize,
    pub summary: ScoreSummary,
}

// ---------------------------------------------------------------------------------------------
// Layout metrics

/// Broker id -> position in `cluster.brokers`. A direct table when the ids are dense enough
/// (the usual case: ids 0..n or 1..n), a sorted list otherwise; this lookup runs once per
/// replica, so on 200,000-partition layouts it matters.
struct BrokerIndex {
    base: i64,
    table: Vec<u32>,
    sorted: Vec<(BrokerId, usize)>,
}

const NO_BROKER: u32 = u32::MAX;

impl BrokerIndex {
    fn new(cluster: &Cluster) -> Self {
        let mut sorted: Vec<(BrokerId, usize)> = cluster
            .brokers
            .iter()
            .enumerate()
            .map(|(i, b)| (b.id, i))
            .collect();
        sorted.sort_unstable();
        let (base, table) = match (sorted.first(), sorted.last()) {
            (Some(&(lo, _)), Some(&(hi, _)))
                if (hi as i64 - lo as i64) < (4 * sorted.len() as i64 + 1024) =>
            {
                let mut table = vec![NO_BROKER; (hi as i64 - lo as i64 + 1) as usize];
                // Reverse so that, with duplicate ids, the first broker wins, like the sorted
                // lookup below.
                for &(id, i) in sorted.iter().rev() {
                    table[(id as i64 - lo as i64) as usize] = i as u32;
                }
                (lo as i64, table)
            }
            _ => (0, Vec::new()),
        };
        BrokerIndex {
            base,
            table,
            sorted,
        }
    }

    fn get(&self, id: BrokerId) -> Option<usize> {
        if !self.table.is_empty() {
            let off = id as i64 - self.base;
            if off < 0 || off as usize >= self.table.len() {
                return None;
            }
            let i = self.table[off as usize];
            return (i != NO_BROKER).then_some(i as usize);
        }
        let pos = self.sorted.partition_point(|&(b, _)| b < id);
        match self.sorted.get(pos) {
            Some(&(b, i)) if b == id => Some(i),
            _ => None,
        }
    }
}

/// Per-broker facts shared by both layouts' metrics.
struct Brokers {
    index: BrokerIndex,
    allowed: Vec<bool>,
    n_allowed: usize,
    /// Dense rack number per broker position, over all brokers.
    rack: Vec<usize>,
    /// The rack number of an id that is not in the cluster. The scorer looks racks up with
    /// `rack_of.get(b)`, so every unknown id falls in one shared `None` rack; so here.
    unknown_rack: usize,
    num_racks: usize,
}

impl Brokers {
    fn new(cluster: &Cluster, excluded: &BTreeSet<BrokerId>) -> Self {
        let allowed: Vec<bool> = cluster
            .brokers
            .iter()
            .map(|b| !excluded.contains(&b.id))
            .collect();
        let mut rack_ids: BTreeMap<String, usize> = BTreeMap::new();
        let rack = cluster
            .brokers
            .iter()
            .map(|b| {
                let next = rack_ids.len();
                *rack_ids.entry(Cluster::rack_key(b)).or_insert(next)
            })
            .collect();
        Brokers {
            index: BrokerIndex::new(cluster),
            n_allowed: allowed.iter().filter(|a| **a).count(),
            allowed,
            rack,
            unknown_rack: rack_ids.len(),
            num_racks: allowed_rack_count(cluster, excluded),
        }
    }
}

/// The largest number of equal values in a short list (replica racks of one partition).
fn max_multiplicity(values: &mut [usize]) -> usize {
    if values.len() <= 16 {
        // Replication factors are tiny: a quadratic scan beats sorting and allocates nothing.
        values
            .iter()
            .map(|v| values.iter().filter(|w| *w == v).count())
            .max()
            .unwrap_or(0)
    } else {
        values.sort_unstable();
        values
            .chunk_by(|a, b| a == b)
            .map(<[usize]>::len)
            .max()
            .unwrap_or(0)
    }
}

/// Balance metrics of `layout` (index-aligned with `cluster.partitions`; a missing entry counts
/// as an empty replica list) with `excluded` brokers not allowed. Same definitions as the
/// scorer's `_layout_stats`; see the module documentation.
pub fn layout_stats(
    cluster: &Cluster,
    layout: &Layout,
    excluded: &BTreeSet<BrokerId>,
) -> LayoutStats {
    let br = Brokers::new(cluster, excluded);
    layout_stats_with(cluster, layout, &br)
}

fn layout_stats_with(cluster: &Cluster, layout: &Layout, br: &Brokers) -> LayoutStats {
    let nb = cluster.brokers.len();
    let mut rcount = vec![0usize; nb];
    let mut lcount = vec![0usize; nb];
    let mut disk = vec![0u64; nb];
    let mut unknown_replicas = 0usize;
    let mut rack_violations = 0usize;

    // Topic spread needs per-topic counts per broker. Partitions are grouped by topic (the
    // cluster keeps them sorted), so one count vector is reused topic after topic and only the
    // touched entries are reset: no per-topic allocation, linear in replicas.
    let order: Option<Vec<usize>> = if cluster
        .partitions
        .windows(2)
        .all(|w| w[0].tp.topic <= w[1].tp.topic)
    {
        None
    } else {
        let mut o: Vec<usize> = (0..cluster.partitions.len()).collect();
        o.sort_by(|&a, &b| {
            cluster.partitions[a]
                .tp
                .topic
                .cmp(&cluster.partitions[b].tp.topic)
        });
        Some(o)
    };
    let mut topic_count = vec![0usize; nb];
    let mut touched: Vec<usize> = Vec::new();
    let mut topics = 0usize;
    let mut spread_max = 0usize;
    let mut spread_sum = 0usize;
    let mut finish_topic = |topic_count: &mut [usize], touched: &mut Vec<usize>| {
        let mut max = 0usize;
        let mut min = usize::MAX;
        let mut allowed_touched = 0usize;
        for &i in touched.iter() {
            if br.allowed[i] {
                allowed_touched += 1;
                max = max.max(topic_count[i]);
                min = min.min(topic_count[i]);
            }
            topic_count[i] = 0;
        }
        touched.clear();
        // An allowed broker without a replica of the topic has count 0.
        if allowed_touched < br.n_allowed {
            min = 0;
        }
        let spread = if br.n_allowed == 0 { 0 } else { max - min };
        spread_max = spread_max.max(spread);
        spread_sum += spread;
    };

    let mut racks: Vec<usize> = Vec::new();
    let mut current_topic: Option<&str> = None;
    let n = cluster.partitions.len();
    for k in 0..n {
        let pi = match &order {
            Some(o) => o[k],
            None => k,
        };
        let p = &cluster.partitions[pi];
        if current_topic != Some(p.tp.topic.as_str()) {
            if current_topic.is_some() {
                finish_topic(&mut topic_count, &mut touched);
            }
            current_topic = Some(p.tp.topic.as_str());
            topics += 1;
        }
        let reps: &[BrokerId] = layout.replicas.get(pi).map(Vec::as_slice).unwrap_or(&[]);
        racks.clear();
        for (j, &b) in reps.iter().enumerate() {
            match br.index.get(b) {
                Some(i) => {
                    if j == 0 {
                        lcount[i] += 1;
                    }
                    rcount[i] += 1;
                    disk[i] = disk[i].saturating_add(p.size_bytes);
                    if topic_count[i] == 0 {
                        touched.push(i);
                    }
                    topic_count[i] += 1;
                    if !br.allowed[i] {
                        unknown_replicas += 1;
                    }
                    racks.push(br.rack[i]);
                }
                None => {
                    unknown_replicas += 1;
                    racks.push(br.unknown_rack);
                }
            }
        }
        if !reps.is_empty() && br.num_racks > 0 {
            let cap = reps.len().div_ceil(br.num_racks);
            if max_multiplicity(&mut racks) > cap {
                rack_violations += 1;
            }
        }
    }
    if current_topic.is_some() {
        finish_topic(&mut topic_count, &mut touched);
    }

    let allowed_idx: Vec<usize> = (0..nb).filter(|&i| br.allowed[i]).collect();
    let max_min = |v: &[usize]| -> (usize, usize) {
        let mx = allowed_idx.iter().map(|&i| v[i]).max().unwrap_or(0);
        let mn = allowed_idx.iter().map(|&i| v[i]).min().unwrap_or(0);
        (mx, mn)
    };
    let (replicas_max, replicas_min) = max_min(&rcount);
    let (leaders_max, leaders_min) = max_min(&lcount);
    let disk_max_bytes = allowed_idx.iter().map(|&i| disk[i]).max().unwrap_or(0);
    let disk_min_bytes = allowed_idx.iter().map(|&i| disk[i]).min().unwrap_or(0);
    let disk_sum: u128 = allowed_idx.iter().map(|&i| disk[i] as u128).sum();
    let disk_max_mean_ratio = if allowed_idx.is_empty() || disk_sum == 0 {
        None
    } else {
        // As the scorer: mean = sum / n (exact integer division, rounded once), then
        // float(max) / mean.
        let mean = int_div_f64(disk_sum, allowed_idx.len() as u64);
        Some(py_round(disk_max_bytes as f64 / mean, 4))
    };
    let disk_util_max = allowed_idx
        .iter()
        .filter_map(|&i| match cluster.brokers[i].capacity_bytes {
            Some(c) if c > 0 => Some(int_div_f64(disk[i] as u128, c)),
            _ => None,
        })
        .fold(None, |acc: Option<f64>, u| {
            Some(acc.map_or(u, |a| a.max(u)))
        })
        .map(|u| py_round(u, 4));
    let mut capacity_violation_brokers: Vec<BrokerId> = cluster
        .brokers
        .iter()
        .enumerate()
        .filter(|(i, b)| matches!(b.capacity_bytes, Some(c) if disk[*i] > c))
        .map(|(_, b)| b.id)
        .collect();
    capacity_violation_brokers.sort_unstable();
    let topic_spread_mean = if topics == 0 {
        0.0
    } else {
        py_round(int_div_f64(spread_sum as u128, topics as u64), 3)
    };
    LayoutStats {
        replicas_max,
        replicas_min,
        replicas_spread: replicas_max - replicas_min,
        leaders_max,
        leaders_min,
        leaders_spread: leaders_max - leaders_min,
        disk_max_bytes,
        disk_min_bytes,
        disk_max_mean_ratio,
        disk_util_max,
        capacity_violations: capacity_violation_brokers.len(),
        capacity_violation_brokers,
        rack_violations,
        topic_spread_max: spread_max,
        topic_spread_mean,
        replicas_on_excluded: unknown_replicas,
    }
}

// ---------------------------------------------------------------------------------------------
// Summary of a change of layout

/// Replicas of `new` on brokers not in `old` (distinct brokers, like the scorer's
/// `len(set(new) - set(old))`).
fn added_replicas(old: &[BrokerId], new: &[BrokerId]) -> usize {
    if old.len() <= 16 && new.len() <= 16 {
        new.iter()
            .enumerate()
            .filter(|&(j, b)| !new[..j].contains(b) && !old.contains(b))
            .count()
    } else {
        let old: BTreeSet<BrokerId> = old.iter().copied().collect();
        let new: BTreeSet<BrokerId> = new.iter().copied().collect();
        new.difference(&old).count()
    }
}

/// The summary of moving from `before` to `after` (both index-aligned with
/// `cluster.partitions`); the bounds are those of `before`.
pub fn summarize(
    cluster: &Cluster,
    excluded: &BTreeSet<BrokerId>,
    before: &Layout,
    after: &Layout,
) -> ScoreSummary {
    let br = Brokers::new(cluster, excluded);
    let mut partitions_changed = 0usize;
    let mut replica_moves = 0usize;
    let mut bytes_moved = 0u64;
    let mut leader_changes = 0usize;
    let empty: &[BrokerId] = &[];
    for (i, p) in cluster.partitions.iter().enumerate() {
        let old = before.replicas.get(i).map(Vec::as_slice).unwrap_or(empty);
        let new = after.replicas.get(i).map(Vec::as_slice).unwrap_or(empty);
        if old != new {
            partitions_changed += 1;
        }
        let added = added_replicas(old, new);
        replica_moves += added;
        bytes_moved = bytes_moved.saturating_add((added as u64).saturating_mul(p.size_bytes));
        if let (Some(a), Some(b)) = (old.first(), new.first()) {
            if a != b {
                leader_changes += 1;
            }
        }
    }
    let bounds = move_bounds(cluster, before, excluded);
    let moves_over_lb = match bounds.lower_bound_moves {
        Some(lb) if lb > 0 => Some(py_round(int_div_f64(replica_moves as u128, lb as u64), 3)),
        _ => None,
    };
    let lb_combined = bounds.combined;
    let cluster_stats = ClusterStats {
        brokers: cluster.brokers.len(),
        allowed_brokers: br.n_allowed,
        racks: br.num_racks,
        partitions: cluster.partitions.len(),
        replicas: before.replicas.iter().map(Vec::len).sum(),
        total_bytes: cluster
            .partitions
            .iter()
            .zip(&before.replicas)
            .fold(0u64, |acc, (p, r)| {
                acc.saturating_add(p.size_bytes.saturating_mul(r.len() as u64))
            }),
    };
    ScoreSummary {
        partitions_changed,
        replica_moves,
        bytes_moved,
        leader_changes,
        bounds,
        moves_over_lb,
        lb_combined,
        after: layout_stats_with(cluster, after, &br),
        before: layout_stats_with(cluster, before, &br),
        cluster: cluster_stats,
    }
}

// ---------------------------------------------------------------------------------------------
// Scoring a reassignment JSON

/// The error list with the scorer's cap.
#[derive(Default)]
struct Errors(Vec<String>);

impl Errors {
    fn push(&mut self, msg: String) {
        if self.0.len() < MAX_ERRORS {
            self.0.push(msg);
        } else if self.0.len() == MAX_ERRORS {
            self.0.push(MORE_ERRORS_OMITTED.to_string());
        }
    }
}

/// A JSON value Python treats as an `int` (`isinstance(v, int)`): integers and booleans
/// (`bool` is an `int` subclass: `True == 1`).
fn py_int(v: &Value) -> Option<i128> {
    match v {
        Value::Bool(b) => Some(i128::from(*b)),
        Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from)),
        _ => None,
    }
}

/// A JSON value equal to an integer under Python's `==` (ints, bools, integral floats), as
/// used when the scorer looks a `(topic, partition)` key up.
fn py_integral(v: &Value) -> Option<i128> {
    if let Some(i) = py_int(v) {
        return Some(i);
    }
    let f = v.as_f64()?;
    // Floats this large are never partition numbers; stay clear of the cast's saturation.
    (f.is_finite() && f.fract() == 0.0 && f.abs() < 1e30).then_some(f as i128)
}

/// True when the value equals Python's `1` (so `"version": 1.0` or `true` are accepted, as
/// the scorer accepts them).
fn py_equals_one(v: &Value) -> bool {
    py_integral(v) == Some(1)
}

/// Scores a reassignment JSON value (`{"version":1,"partitions":[...]}`) against the cluster
/// with `excluded` brokers to empty, like the scorer: entries that cannot be applied (unknown
/// partition, unknown brokers, malformed) are skipped and reported; every other entry is
/// applied even when invalid, so an invalid plan can still be inspected. Never panics.
pub fn score_plan(cluster: &Cluster, excluded: &BTreeSet<BrokerId>, plan: &Value) -> Score {
    let mut errors = Errors::default();
    let before = cluster.current_layout();
    let mut after = before.clone();
    let entries: &[Value] = match plan.as_object() {
        Some(obj) if obj.get("partitions").is_some_and(Value::is_array) => {
            if let Some(v) = obj.get("version") {
                if !py_equals_one(v) {
                    errors.push(format!("plan version {} is not 1", py_repr(v)));
                }
            }
            obj.get("partitions")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[])
        }
        _ => {
            errors.push(
                "plan is not a reassignment JSON object with a 'partitions' list".to_string(),
            );
            &[]
        }
    };

    let mut seen = vec![false; cluster.partitions.len()];
    let mut invalid_entries = 0usize;
    for (i, e) in entries.iter().enumerate() {
        let fields = e
            .as_object()
            .and_then(|o| Some((o.get("topic")?, o.get("partition")?, o.get("replicas")?)));
        let Some((topic, partition, reps)) = fields else {
            errors.push(format!("entry {i} lacks topic/partition/replicas"));
            invalid_entries += 1;
            continue;
        };
        let name = format!("{}-{}", py_str(topic), py_str(partition));
        let index = match (topic.as_str(), py_integral(partition)) {
            (Some(t), Some(p)) => i32::try_from(p).ok().and_then(|p| {
                cluster
                    .partitions
                    .binary_search_by(|x| (x.tp.topic.as_str(), x.tp.partition).cmp(&(t, p)))
                    .ok()
            }),
            _ => None,
        };
        let Some(pi) = index else {
            errors.push(format!("{name}: no such partition in the snapshot"));
            invalid_entries += 1;
            continue;
        };
        let mut bad = false;
        if seen[pi] {
            errors.push(format!("{name}: listed more than once"));
            bad = true;
        }
        seen[pi] = true;
        let ints: Option<Vec<i128>> = reps.as_array().and_then(|a| a.iter().map(py_int).collect());
        let (Some(ints), Some(items)) = (ints, reps.as_array()) else {
            errors.push(format!("{name}: replicas must be a list of broker ids"));
            invalid_entries += 1;
            continue;
        };
        let old_rf = before.replicas[pi].len();
        if ints.len() != old_rf {
            errors.push(format!(
                "{name}: replication factor {old_rf} -> {}",
                ints.len()
            ));
            bad = true;
        }
        let mut distinct = ints.clone();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() != ints.len() {
            errors.push(format!("{name}: duplicate brokers in {}", py_repr(reps)));
            bad = true;
        }
        let as_broker = |r: i128| BrokerId::try_from(r).ok();
        let known = |r: i128| as_broker(r).is_some_and(|b| cluster.broker(b).is_some());
        let unknown: Vec<&Value> = items
            .iter()
            .zip(&ints)
            .filter(|(_, r)| !known(**r))
            .map(|(v, _)| v)
            .collect();
        if !unknown.is_empty() {
            errors.push(format!(
                "{name}: unknown brokers {}",
                py_list_repr(&unknown)
            ));
            bad = true;
        }
        let on_excluded: Vec<&Value> = items
            .iter()
            .zip(&ints)
            .filter(|(_, r)| as_broker(**r).is_some_and(|b| excluded.contains(&b)))
            .map(|(v, _)| v)
            .collect();
        if !on_excluded.is_empty() {
            errors.push(format!(
                "{name}: uses excluded brokers {}",
                py_list_repr(&on_excluded)
            ));
            bad = true;
        }
        if bad {
            invalid_entries += 1;
        }
        if unknown.is_empty() {
            // Every id is a known broker, hence an i32.
            after.replicas[pi] = ints.iter().filter_map(|&r| as_broker(r)).collect();
        }
    }
    let left = after
        .replicas
        .iter()
        .flatten()
        .filter(|b| excluded.contains(b))
        .count();
    if left > 0 {
        let ids: Vec<String> = excluded.iter().map(|b| b.to_string()).collect();
        errors.push(format!(
            "{left} replicas remain on excluded brokers [{}]",
            ids.join(", ")
        ));
    }
    let summary = summarize(cluster, excluded, &before, &after);
    let errors = errors.0;
    Score {
        snapshot: None,
        valid: errors.is_empty(),
        errors,
        invalid_entries,
        plan_entries: entries.len(),
        summary,
    }
}

// ---------------------------------------------------------------------------------------------
// JSON output, with the scorer's keys in the scorer's order
//
// The types serialise their keys in the scorer's order (so `score --json` and `score.py
// --pretty` can be diffed line by line), whatever serde_json's `preserve_order` feature says;
// `to_json` gives a `Value`, whose key order is serde_json's (sorted by default).

/// The `after` metrics the scorer repeats at the top level.
const HEADLINE_KEYS: [&str; 10] = [
    "replicas_max",
    "replicas_min",
    "replicas_spread",
    "leaders_spread",
    "disk_max_bytes",
    "disk_min_bytes",
    "disk_max_mean_ratio",
    "capacity_violations",
    "rack_violations",
    "topic_spread_max",
];

impl LayoutStats {
    /// The scorer's `after`/`before` object.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// One headline metric by its scorer name.
    fn headline(&self, key: &str) -> Value {
        match key {
            "replicas_max" => self.replicas_max.into(),
            "replicas_min" => self.replicas_min.into(),
            "replicas_spread" => self.replicas_spread.into(),
            "leaders_spread" => self.leaders_spread.into(),
            "disk_max_bytes" => self.disk_max_bytes.into(),
            "disk_min_bytes" => self.disk_min_bytes.into(),
            "disk_max_mean_ratio" => self.disk_max_mean_ratio.into(),
            "capacity_violations" => self.capacity_violations.into(),
            "rack_violations" => self.rack_violations.into(),
            "topic_spread_max" => self.topic_spread_max.into(),
            _ => Value::Null,
        }
    }
}

impl ClusterStats {
    /// The scorer's `cluster` object.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl ScoreSummary {
    /// The scorer's keys from `partitions_changed` on: moves, bounds, `after`, `before`,
    /// `cluster` and the flattened headline metrics.
    fn serialize_entries<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        let b = &self.bounds;
        m.serialize_entry("partitions_changed", &self.partitions_changed)?;
        m.serialize_entry("replica_moves", &self.replica_moves)?;
        m.serialize_entry("bytes_moved", &self.bytes_moved)?;
        m.serialize_entry("leader_changes", &self.leader_changes)?;
        m.serialize_entry("lower_bound_moves", &b.lower_bound_moves)?;
        m.serialize_entry("lb_excess", &b.excess)?;
        m.serialize_entry("lb_deficit", &b.deficit)?;
        m.serialize_entry("lb_forced_moves", &b.forced_moves)?;
        m.serialize_entry("band", &b.band.map(|(lo, hi)| [lo, hi]))?;
        m.serialize_entry("moves_over_lb", &self.moves_over_lb)?;
        m.serialize_entry("lb_combined", &self.lb_combined)?;
        m.serialize_entry("after", &self.after)?;
        m.serialize_entry("before", &self.before)?;
        m.serialize_entry("cluster", &self.cluster)?;
        for k in HEADLINE_KEYS {
            m.serialize_entry(k, &self.after.headline(k))?;
        }
        Ok(())
    }

    /// The summary's part of the scorer's object (no validity keys).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl Serialize for ScoreSummary {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        self.serialize_entries(&mut m)?;
        m.end()
    }
}

impl Score {
    /// The scorer's output object: same keys, same values (`snapshot` is this score's label).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl Serialize for Score {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("snapshot", &self.snapshot)?;
        m.serialize_entry("valid", &self.valid)?;
        m.serialize_entry("errors", &self.errors)?;
        m.serialize_entry("invalid_entries", &self.invalid_entries)?;
        m.serialize_entry("plan_entries", &self.plan_entries)?;
        self.summary.serialize_entries(&mut m)?;
        m.end()
    }
}

// ---------------------------------------------------------------------------------------------
// Python number semantics, so figures and messages match the scorer's byte for byte

/// `a / b` correctly rounded, as Python's `int / int` (which is exact, then rounded once).
/// Converting both to f64 first would round up to three times on values above 2^53.
fn int_div_f64(a: u128, b: u64) -> f64 {
    if b == 0 {
        return f64::NAN;
    }
    const EXACT: u128 = 1 << 53;
    if a < EXACT && u128::from(b) < EXACT {
        // Both exact as f64; IEEE division rounds once.
        return a as f64 / b as f64;
    }
    if a == 0 {
        return 0.0;
    }
    // Scale so the integer quotient has 64-65 bits, fold the remainder into a sticky bit
    // below them, and let the one u128 -> f64 conversion (round half to even) do the
    // rounding; the power-of-two rescale is exact. With `b` below 2^64 neither shift can
    // overflow: `a << s` has `b_bits + 64` bits, `b << -s` has `a_bits - 64`.
    let b = u128::from(b);
    let a_bits = 128 - a.leading_zeros() as i32;
    let b_bits = 128 - b.leading_zeros() as i32;
    let s = b_bits - a_bits + 64;
    let (num, den) = if s >= 0 { (a << s, b) } else { (a, b << (-s)) };
    let q = num / den;
    let sticky = u128::from(num % den != 0);
    let scaled = ((q << 1) | sticky) as f64;
    scaled * pow2(-s - 1)
}

/// 2^e for the small exponents `int_div_f64` needs (normal range only).
fn pow2(e: i32) -> f64 {
    let e = e.clamp(-1022, 1023);
    f64::from_bits(((1023 + e) as u64) << 52)
}

/// Python's `round(x, nd)`: the decimal rounding of the exact binary value (ties to even),
/// read back as the nearest double. Rust's fixed-precision formatting is exact with the same
/// tie rule, so formatting and parsing gives the same double.
pub fn py_round(x: f64, nd: usize) -> f64 {
    if !x.is_finite() {
        return x;
    }
    format!("{x:.nd$}").parse().unwrap_or(x)
}

/// Python's `repr(float)`: shortest round-trip digits, positional for exponents -4..16,
/// otherwise `d.ddde+XX`.
fn py_float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    // `{:e}` gives the shortest round-trip digits: "-1.2345e-7".
    let sci = format!("{x:e}");
    let (sign, rest) = match sci.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", sci.as_str()),
    };
    let (mant, exp) = rest.split_once('e').unwrap_or((rest, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let nd = digits.len() as i32;
    if (-4..16).contains(&exp) {
        if exp >= 0 {
            let int_len = (exp + 1) as usize;
            if digits.len() <= int_len {
                format!("{sign}{digits}{}.0", "0".repeat(int_len - digits.len()))
            } else {
                format!("{sign}{}.{}", &digits[..int_len], &digits[int_len..])
            }
        } else {
            format!("{sign}0.{}{digits}", "0".repeat((-exp - 1) as usize))
        }
    } else {
        let m = if nd > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits
        };
        let es = if exp < 0 { '-' } else { '+' };
        format!("{sign}{m}e{es}{:02}", exp.abs())
    }
}

/// Python's `repr(str)`, close enough for messages: single quotes unless the text holds a
/// single quote and no double quote; backslash escapes for the quote, backslash, tab,
/// newline, return and other control characters.
fn py_str_repr(s: &str) -> String {
    let q = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {
                let n = c as u32;
                if n <= 0xff {
                    out.push_str(&format!("\\x{n:02x}"));
                } else {
                    out.push_str(&format!("\\u{n:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

/// Python's `repr` of a value `json.load` returned.
fn py_repr(v: &Value) -> String {
    match v {
        Value::String(s) => py_str_repr(s),
        other => py_str(other),
    }
}

fn py_list_repr(items: &[&Value]) -> String {
    let parts: Vec<String> = items.iter().map(|v| py_repr(v)).collect();
    format!("[{}]", parts.join(", "))
}

/// Python's `str` of a value `json.load` returned (as an f-string formats it).
fn py_str(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.to_string()
            } else if let Some(u) = n.as_u64() {
                u.to_string()
            } else {
                py_float_repr(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => s.clone(),
        Value::Array(a) => {
            let items: Vec<&Value> = a.iter().collect();
            py_list_repr(&items)
        }
        Value::Object(o) => {
            let parts: Vec<String> = o
                .iter()
                .map(|(k, v)| format!("{}: {}", py_str_repr(k), py_repr(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Broker, Partition, TopicPartition};
    use serde_json::json;

    /// Brokers `(id, rack, capacity)`, partitions `(topic, partition, replicas, size)`.
    fn cluster(
        brokers: &[(BrokerId, Option<&str>, Option<u64>)],
        parts: &[(&str, i32, &[BrokerId], u64)],
    ) -> Cluster {
        Cluster::new(
            brokers
                .iter()
                .map(|&(id, rack, cap)| Broker {
                    id,
                    rack: rack.map(str::to_string),
                    capacity_bytes: cap,
                })
                .collect(),
            parts
                .iter()
                .map(|&(t, p, reps, size)| Partition {
                    tp: TopicPartition::new(t, p),
                    replicas: reps.to_vec(),
                    size_bytes: size,
                    leader: None,
                    isr: None,
                    in_flight: None,
                })
                .collect(),
        )
    }

    fn none() -> BTreeSet<BrokerId> {
        BTreeSet::new()
    }

    #[test]
    fn counts_disk_and_leaders() {
        let c = cluster(
            &[
                (1, Some("a"), Some(100)),
                (2, Some("b"), Some(100)),
                (3, Some("c"), Some(50)),
            ],
            &[
                ("t", 0, &[1, 2], 10),
                ("t", 1, &[1, 3], 20),
                ("u", 0, &[2], 60),
            ],
        );
        let s = layout_stats(&c, &c.current_layout(), &none());
        assert_eq!(
            (s.replicas_max, s.replicas_min, s.replicas_spread),
            (2, 1, 1)
        );
        assert_eq!((s.leaders_max, s.leaders_min, s.leaders_spread), (2, 0, 2));
        assert_eq!((s.disk_max_bytes, s.disk_min_bytes), (70, 20));
        // mean = 120 / 3 = 40; 70 / 40.
        assert_eq!(s.disk_max_mean_ratio, Some(1.75));
        assert_eq!(s.disk_util_max, Some(0.7));
        assert_eq!(s.capacity_violations, 0);
        // t: counts 2,1,1 -> 1; u: 0,1,0 -> 1.
        assert_eq!(s.topic_spread_max, 1);
        assert_eq!(s.topic_spread_mean, 1.0);
        assert_eq!(s.rack_violations, 0);
        assert_eq!(s.replicas_on_excluded, 0);
    }

    #[test]
    fn rack_violations_use_allowed_racks_but_count_every_replica() {
        // Racks a,a,b,c; broker 4 (rack c) excluded -> 2 allowed racks, cap for RF 3 is 2.
        let c = cluster(
            &[
                (1, Some("a"), None),
                (2, Some("a"), None),
                (3, Some("b"), None),
                (4, Some("c"), None),
            ],
            &[
                ("t", 0, &[1, 2, 3], 1), // a:2 <= 2
                ("t", 1, &[1, 2], 1),    // RF 2, cap 1, a:2 -> violation
                ("t", 2, &[3, 4], 1),    // b:1, c:1 -> fine
            ],
        );
        let ex: BTreeSet<BrokerId> = [4].into();
        let s = layout_stats(&c, &c.current_layout(), &ex);
        assert_eq!(s.rack_violations, 1);
        assert_eq!(s.replicas_on_excluded, 1);
        // Without exclusions: 3 racks, RF 3 cap 1 -> t-0 violates too.
        let s = layout_stats(&c, &c.current_layout(), &none());
        assert_eq!(s.rack_violations, 2);
    }

    #[test]
    fn rackless_brokers_are_racks_of_their_own() {
        let c = cluster(
            &[(1, None, None), (2, None, None), (3, Some("a"), None)],
            &[("t", 0, &[1, 2], 1), ("t", 1, &[3, 1], 1)],
        );
        let s = layout_stats(&c, &c.current_layout(), &none());
        assert_eq!(s.rack_violations, 0);
        assert_eq!(s.disk_util_max, None);
        assert_eq!(s.capacity_violations, 0);
    }

    #[test]
    fn capacity_counts_excluded_brokers_util_does_not() {
        let c = cluster(
            &[
                (1, Some("a"), Some(10)),
                (2, Some("b"), Some(0)),
                (3, Some("c"), None),
                (4, Some("d"), Some(5)),
            ],
            &[("t", 0, &[1, 2, 3, 4], 8)],
        );
        let ex: BTreeSet<BrokerId> = [4].into();
        let s = layout_stats(&c, &c.current_layout(), &ex);
        // 2 has capacity 0 < 8, 4 is excluded but still over its 5; 3 is unknown.
        assert_eq!(s.capacity_violation_brokers, vec![2, 4]);
        assert_eq!(s.capacity_violations, 2);
        // Only broker 1 has a non-zero known capacity among the allowed: 8 / 10.
        assert_eq!(s.disk_util_max, Some(0.8));
    }

    #[test]
    fn topic_spread_over_allowed_brokers() {
        let c = cluster(
            &[
                (1, Some("a"), None),
                (2, Some("b"), None),
                (3, Some("c"), None),
            ],
            &[
                ("t", 0, &[1, 2], 1),
                ("t", 1, &[1, 2], 1),
                ("t", 2, &[1, 3], 1),
                ("u", 0, &[3], 1),
            ],
        );
        let s = layout_stats(&c, &c.current_layout(), &none());
        // t: 3,2,1 -> 2; u: 0,0,1 -> 1.
        assert_eq!(s.topic_spread_max, 2);
        assert_eq!(s.topic_spread_mean, 1.5);
        let ex: BTreeSet<BrokerId> = [1].into();
        let s = layout_stats(&c, &c.current_layout(), &ex);
        // t over 2,3: 2,1 -> 1; u: 0,1 -> 1.
        assert_eq!(s.topic_spread_max, 1);
        assert_eq!(s.replicas_on_excluded, 3);
        assert_eq!(s.replicas_max, 2);
    }

    #[test]
    fn unsorted_partitions_still_group_topics() {
        let mut c = cluster(
            &[(1, Some("a"), None), (2, Some("b"), None)],
            &[("t", 0, &[1], 1), ("t", 1, &[1], 1), ("u", 0, &[2], 1)],
        );
        c.partitions.swap(1, 2);
        let s = layout_stats(&c, &c.current_layout(), &none());
        assert_eq!(s.topic_spread_max, 2);
        assert_eq!(s.topic_spread_mean, 1.5);
    }

    #[test]
    fn unknown_ids_in_a_layout_count_as_not_allowed() {
        let c = cluster(
            &[(1, Some("a"), None), (2, Some("b"), None)],
            &[("t", 0, &[1, 2], 1)],
        );
        let layout = Layout {
            replicas: vec![vec![1, 7, 8, 9]],
        };
        let s = layout_stats(&c, &layout, &none());
        assert_eq!(s.replicas_on_excluded, 3);
        // 7, 8 and 9 share the scorer's `None` rack: 3 > ceil(4 / 2).
        assert_eq!(s.rack_violations, 1);
        assert_eq!((s.replicas_max, s.replicas_min), (1, 0));
        // A layout shorter than the partition list: the missing entries are empty.
        let s = layout_stats(&c, &Layout { replicas: vec![] }, &none());
        assert_eq!(s.replicas_max, 0);
        assert_eq!(s.topic_spread_mean, 0.0);
    }

    #[test]
    fn no_allowed_brokers() {
        let c = cluster(&[(1, Some("a"), Some(1))], &[("t", 0, &[1], 5)]);
        let ex: BTreeSet<BrokerId> = [1].into();
        let s = layout_stats(&c, &c.current_layout(), &ex);
        assert_eq!(s.replicas_max, 0);
        assert_eq!(s.disk_max_mean_ratio, None);
        assert_eq!(s.disk_util_max, None);
        assert_eq!(s.topic_spread_max, 0);
        assert_eq!(s.capacity_violation_brokers, vec![1]);
        assert_eq!(s.replicas_on_excluded, 1);
        assert_eq!(s.rack_violations, 0);
    }

    fn three_racks() -> Cluster {
        cluster(
            &[
                (1, Some("a"), Some(1000)),
                (2, Some("b"), Some(1000)),
                (3, Some("c"), Some(1000)),
                (4, Some("a"), Some(1000)),
            ],
            &[
                ("t", 0, &[1, 2, 3], 10),
                ("t", 1, &[2, 3, 4], 20),
                ("u", 0, &[3, 4], 30),
            ],
        )
    }

    #[test]
    fn moves_bytes_and_leader_changes() {
        let c = three_racks();
        let plan = json!({"version": 1, "partitions": [
            {"topic": "t", "partition": 0, "replicas": [2, 1, 3]},   // reorder: leader change
            {"topic": "t", "partition": 1, "replicas": [2, 3, 1]},   // 4 -> 1: one move
            {"topic": "u", "partition": 0, "replicas": [1, 2]}       // two moves, leader change
        ]});
        let s = score_plan(&c, &none(), &plan);
        assert!(s.valid, "{:?}", s.errors);
        let m = &s.summary;
        assert_eq!(m.partitions_changed, 3);
        assert_eq!(m.replica_moves, 3);
        assert_eq!(m.bytes_moved, 20 + 2 * 30);
        assert_eq!(m.leader_changes, 2);
        assert_eq!(m.after.replicas_on_excluded, 0);
        assert_eq!(s.plan_entries, 3);
        assert_eq!(s.invalid_entries, 0);
    }

    #[test]
    fn excluded_brokers_must_be_emptied() {
        let c = three_racks();
        let ex: BTreeSet<BrokerId> = [4].into();
        let s = score_plan(&c, &ex, &json!({"version": 1, "partitions": []}));
        assert!(!s.valid);
        assert_eq!(s.errors, vec!["2 replicas remain on excluded brokers [4]"]);
        let plan = json!({"partitions": [
            {"topic": "t", "partition": 1, "replicas": [2, 3, 1]},
            {"topic": "u", "partition": 0, "replicas": [3, 4]}
        ]});
        let s = score_plan(&c, &ex, &plan);
        assert_eq!(
            s.errors,
            vec![
                "u-0: uses excluded brokers [4]",
                "1 replicas remain on excluded brokers [4]"
            ]
        );
        assert_eq!(s.invalid_entries, 1);
        assert_eq!(s.summary.bounds.forced_moves, 2);
        assert_eq!(s.summary.cluster.allowed_brokers, 3);
    }

    #[test]
    fn validation_messages_match_the_scorer() {
        let c = three_racks();
        let plan = json!({"version": 2, "partitions": [
            {"topic": "t", "partition": 0, "replicas": [1, 1, 2]},
            {"topic": "t", "partition": 0, "replicas": [1, 2]},
            {"topic": "t", "partition": 1, "replicas": [2, 3, 99]},
            {"topic": "x", "partition": 0, "replicas": [1]},
            {"topic": "u", "partition": 0.0, "replicas": [1, 2.0]},
            {"topic": "u", "partition": 1.5, "replicas": [1]},
            {"topic": "t"},
            [1, 2]
        ]});
        let s = score_plan(&c, &none(), &plan);
        assert_eq!(
            s.errors,
            vec![
                "plan version 2 is not 1",
                "t-0: duplicate brokers in [1, 1, 2]",
                "t-0: listed more than once",
                "t-0: replication factor 3 -> 2",
                "t-1: unknown brokers [99]",
                "x-0: no such partition in the snapshot",
                "u-0.0: replicas must be a list of broker ids",
                "u-1.5: no such partition in the snapshot",
                "entry 6 lacks topic/partition/replicas",
                "entry 7 lacks topic/partition/replicas",
            ]
        );
        assert_eq!(s.invalid_entries, 8);
        assert_eq!(s.plan_entries, 8);
        // Invalid but applicable entries are applied (t-0 twice: the last wins); t-1 is not.
        assert_eq!(s.summary.after.replicas_max, 2);
        assert_eq!(s.summary.partitions_changed, 1);
    }

    #[test]
    fn not_a_plan_and_version_reprs() {
        let c = three_racks();
        for v in [
            json!([]),
            json!({"version": 1}),
            json!(null),
            json!({"partitions": {}}),
        ] {
            let s = score_plan(&c, &none(), &v);
            assert_eq!(
                s.errors,
                vec!["plan is not a reassignment JSON object with a 'partitions' list"]
            );
            assert_eq!(s.plan_entries, 0);
        }
        let cases = [
            (json!("1"), Some("plan version '1' is not 1")),
            (json!(null), Some("plan version None is not 1")),
            (json!(1.5), Some("plan version 1.5 is not 1")),
            (json!([1]), Some("plan version [1] is not 1")),
            (json!("it's"), Some("plan version \"it's\" is not 1")),
            (json!(1.0), None),
            (json!(true), None),
        ];
        for (v, want) in cases {
            let s = score_plan(&c, &none(), &json!({"version": v, "partitions": []}));
            assert_eq!(s.errors.first().map(String::as_str), want, "{v}");
        }
    }

    #[test]
    fn errors_are_capped() {
        let c = three_racks();
        let entries: Vec<Value> = (0..30)
            .map(|i| json!({"topic": "nope", "partition": i, "replicas": [1]}))
            .collect();
        let s = score_plan(&c, &none(), &json!({"partitions": entries}));
        assert_eq!(s.errors.len(), MAX_ERRORS + 1);
        assert_eq!(s.errors[MAX_ERRORS], MORE_ERRORS_OMITTED);
        assert_eq!(s.invalid_entries, 30);
    }

    #[test]
    fn booleans_are_ints_like_in_python() {
        let c = three_racks();
        let plan = json!({"partitions": [{"topic": "u", "partition": 0, "replicas": [true, 1]}]});
        let s = score_plan(&c, &none(), &plan);
        assert_eq!(s.errors, vec!["u-0: duplicate brokers in [True, 1]"]);
    }

    #[test]
    fn json_has_the_scorer_keys() {
        let c = three_racks();
        let mut s = score_plan(&c, &none(), &json!({"version": 1, "partitions": []}));
        s.snapshot = Some("x".into());
        let v = s.to_json();
        let keys: BTreeSet<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        for k in [
            "snapshot",
            "valid",
            "errors",
            "invalid_entries",
            "plan_entries",
            "partitions_changed",
            "replica_moves",
            "bytes_moved",
            "leader_changes",
            "lower_bound_moves",
            "lb_excess",
            "lb_deficit",
            "lb_forced_moves",
            "band",
            "moves_over_lb",
            "lb_combined",
            "after",
            "before",
            "cluster",
            "replicas_max",
            "replicas_min",
            "replicas_spread",
            "leaders_spread",
            "disk_max_bytes",
            "disk_min_bytes",
            "disk_max_mean_ratio",
            "capacity_violations",
            "rack_violations",
            "topic_spread_max",
        ] {
            assert!(keys.contains(k), "{k}");
        }
        assert_eq!(keys.len(), 29);
        assert_eq!(v["after"].as_object().unwrap().len(), 16);
        assert_eq!(v["cluster"]["racks"], 3);
        assert_eq!(v["valid"], true);
    }

    #[test]
    fn serialises_in_the_scorer_key_order() {
        let c = three_racks();
        let s = score_plan(&c, &none(), &json!({"version": 1, "partitions": []}));
        let text = serde_json::to_string(&s).unwrap();
        let order = [
            "\"snapshot\"",
            "\"valid\"",
            "\"errors\"",
            "\"invalid_entries\"",
            "\"plan_entries\"",
            "\"partitions_changed\"",
            "\"replica_moves\"",
            "\"lower_bound_moves\"",
            "\"band\"",
            "\"moves_over_lb\"",
            "\"lb_combined\"",
            "\"after\":{\"replicas_max\"",
            "\"replicas_on_excluded\"",
            "\"before\"",
            "\"cluster\":{\"brokers\"",
            "\"total_bytes\"",
            "},\"replicas_max\"",
            "\"topic_spread_max\":1}",
        ];
        let pos: Vec<usize> = order
            .iter()
            .map(|k| text.find(k).unwrap_or_else(|| panic!("{k} in {text}")))
            .collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]), "{text}");
    }

    #[test]
    fn python_number_semantics() {
        assert_eq!(py_round(0.125, 2), 0.12);
        assert_eq!(py_round(0.375, 2), 0.38);
        assert_eq!(py_round(2.675, 2), 2.67);
        assert_eq!(py_round(1.00005, 4), 1.0001);
        for (x, want) in [
            (1e16, "1e+16"),
            (1.5e-5, "1.5e-05"),
            (123.456, "123.456"),
            (1e15, "1000000000000000.0"),
            (0.0001, "0.0001"),
            (-2.5, "-2.5"),
            (1.2345678901234568e17, "1.2345678901234568e+17"),
            (5e-324, "5e-324"),
        ] {
            assert_eq!(py_float_repr(x), want);
        }
        // Correct rounding above 2^53, where converting first would round twice.
        let a: u128 = (1 << 60) + 1;
        assert_eq!(int_div_f64(a, 3), 384307168202282325.6666_f64);
        assert_eq!(int_div_f64(u64::MAX as u128 * 7, 7), u64::MAX as f64);
        assert_eq!(int_div_f64(u128::MAX, u64::MAX), 18446744073709551617.0);
        assert_eq!(int_div_f64(1, u64::MAX), 1.0 / u64::MAX as f64);
        assert!(int_div_f64(1, 0).is_nan());
        assert_eq!(int_div_f64(10, 4), 2.5);
        assert_eq!(int_div_f64(1, 1 << 60), 2f64.powi(-60));
        // A pair where converting first differs from Python's exact `int / int`.
        let (a, b) = (133841408858490651857u128, 14046286627791492475u64);
        assert_ne!(a as f64 / b as f64, 9.528597301558458);
        assert_eq!(int_div_f64(a, b), 9.528597301558458);
    }

    /// A line-by-line transliteration of score.py's `_layout_stats` over maps, to check the
    /// indexed implementation against on random inputs.
    fn naive_stats(c: &Cluster, layout: &Layout, excluded: &BTreeSet<BrokerId>) -> LayoutStats {
        use std::collections::BTreeMap as M;
        let allowed: Vec<BrokerId> = allowed_brokers_sorted(c, excluded);
        let rack_of: M<BrokerId, String> = c
            .brokers
            .iter()
            .map(|b| (b.id, Cluster::rack_key(b)))
            .collect();
        let num_racks = allowed
            .iter()
            .map(|b| rack_of[b].clone())
            .collect::<BTreeSet<_>>()
            .len();
        let (mut rc, mut lc, mut dk) = (M::new(), M::new(), M::<BrokerId, u64>::new());
        let mut topic_counts: M<&str, M<BrokerId, usize>> = M::new();
        let mut rack_viol = 0;
        for (p, reps) in c.partitions.iter().zip(&layout.replicas) {
            if let Some(b) = reps.first() {
                *lc.entry(*b).or_insert(0usize) += 1;
            }
            let tc = topic_counts.entry(p.tp.topic.as_str()).or_default();
            let mut racks: M<Option<&String>, usize> = M::new();
            for b in reps {
                *rc.entry(*b).or_insert(0usize) += 1;
                *dk.entry(*b).or_insert(0) += p.size_bytes;
                *tc.entry(*b).or_insert(0) += 1;
                *racks.entry(rack_of.get(b)).or_insert(0) += 1;
            }
            if !reps.is_empty() && num_racks > 0 {
                let cap = reps.len().div_ceil(num_racks);
                if racks.values().max().copied().unwrap_or(0) > cap {
                    rack_viol += 1;
                }
            }
        }
        let get = |m: &M<BrokerId, usize>, b: &BrokerId| m.get(b).copied().unwrap_or(0);
        let r: Vec<usize> = allowed.iter().map(|b| get(&rc, b)).collect();
        let l: Vec<usize> = allowed.iter().map(|b| get(&lc, b)).collect();
        let d: Vec<u64> = allowed
            .iter()
            .map(|b| dk.get(b).copied().unwrap_or(0))
            .collect();
        let sum: u64 = d.iter().sum();
        let mx = |v: &[usize]| v.iter().max().copied().unwrap_or(0);
        let mn = |v: &[usize]| v.iter().min().copied().unwrap_or(0);
        let dmax = d.iter().max().copied().unwrap_or(0);
        let cap_viol: Vec<BrokerId> = c
            .brokers
            .iter()
            .filter(|b| matches!(b.capacity_bytes, Some(cap) if dk.get(&b.id).copied().unwrap_or(0) > cap))
            .map(|b| b.id)
            .collect();
        let util = allowed
            .iter()
            .filter_map(|b| match c.broker(*b).and_then(|x| x.capacity_bytes) {
                Some(cap) if cap > 0 => Some(dk.get(b).copied().unwrap_or(0) as f64 / cap as f64),
                _ => None,
            })
            .fold(None, |a: Option<f64>, u| Some(a.map_or(u, |a| a.max(u))));
        let mut spread_max = 0;
        let mut spread_sum = 0;
        for tc in topic_counts.values() {
            let vals: Vec<usize> = allowed.iter().map(|b| get(tc, b)).collect();
            let sp = mx(&vals) - mn(&vals);
            spread_max = spread_max.max(sp);
            spread_sum += sp;
        }
        LayoutStats {
            replicas_max: mx(&r),
            replicas_min: mn(&r),
            replicas_spread: mx(&r) - mn(&r),
            leaders_max: mx(&l),
            leaders_min: mn(&l),
            leaders_spread: mx(&l) - mn(&l),
            disk_max_bytes: dmax,
            disk_min_bytes: d.iter().min().copied().unwrap_or(0),
            disk_max_mean_ratio: (!d.is_empty() && sum > 0)
                .then(|| py_round(dmax as f64 / (sum as f64 / d.len() as f64), 4)),
            disk_util_max: util.map(|u| py_round(u, 4)),
            capacity_violations: cap_viol.len(),
            capacity_violation_brokers: cap_viol,
            rack_violations: rack_viol,
            topic_spread_max: spread_max,
            topic_spread_mean: if topic_counts.is_empty() {
                0.0
            } else {
                py_round(spread_sum as f64 / topic_counts.len() as f64, 3)
            },
            replicas_on_excluded: rc
                .iter()
                .filter(|(b, _)| !allowed.contains(b))
                .map(|(_, n)| n)
                .sum(),
        }
    }

    fn allowed_brokers_sorted(c: &Cluster, excluded: &BTreeSet<BrokerId>) -> Vec<BrokerId> {
        crate::model::allowed_brokers(c, excluded)
    }

    proptest::proptest! {
        #[test]
        fn indexed_stats_equal_the_transliteration(
            brokers in proptest::collection::vec((0u8..4, proptest::option::of(0u64..3000)), 1..7),
            sparse_ids in proptest::bool::ANY,
            parts in proptest::collection::vec(
                (0u8..3, 1u64..500, proptest::collection::vec(0usize..8, 0..5)),
                0..25,
            ),
            excluded_mask in 0u8..128,
        ) {
            // Rack 0 means "no rack"; ids dense or sparse (both lookup paths); layout entries
            // may repeat a broker or name one that does not exist (index >= broker count).
            let id = |i: usize| if sparse_ids { i as BrokerId * 100_000 } else { i as BrokerId + 1 };
            let bs: Vec<Broker> = brokers
                .iter()
                .enumerate()
                .map(|(i, (r, cap))| Broker {
                    id: id(i),
                    rack: (*r > 0).then(|| format!("r{r}")),
                    capacity_bytes: *cap,
                })
                .collect();
            let ps: Vec<Partition> = parts
                .iter()
                .enumerate()
                .map(|(i, (t, size, _))| Partition {
                    tp: TopicPartition::new(format!("t{t}"), i as i32),
                    replicas: vec![],
                    size_bytes: *size,
                    leader: None,
                    isr: None,
                    in_flight: None,
                })
                .collect();
            let c = Cluster::new(bs, ps);
            let layout = Layout {
                replicas: c
                    .partitions
                    .iter()
                    .map(|p| {
                        let i = p.tp.partition as usize;
                        parts[i].2.iter().map(|&j| id(j)).collect()
                    })
                    .collect(),
            };
            let excluded: BTreeSet<BrokerId> = (0..7)
                .filter(|i| excluded_mask & (1 << i) != 0)
                .map(|i| id(i as usize))
                .collect();
            let fast = layout_stats(&c, &layout, &excluded);
            let slow = naive_stats(&c, &layout, &excluded);
            proptest::prop_assert_eq!(fast, slow);
        }
    }
}
