//! Layout statistics (score.py's `_layout_stats`) and the summary of a change from one layout
//! to another: moves, bytes, leader changes, lower bounds and both layouts' statistics.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::python::{int_div_f64, py_round};
use crate::model::{BrokerId, Cluster, Layout};
use crate::plan::bounds::{allowed_rack_count, move_bounds, MoveBounds};

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
