//! Planning a part of the cluster (`kafka-replan generate`): only the partitions of the
//! movable topics may change, and only onto the target brokers. The other partitions are
//! fixed but still weigh on their brokers, so balance is judged on whole broker loads.
//!
//! The solver needs no new node or arc for this: the planner runs on the movable partitions
//! alone, with every broker outside the target set excluded (its replicas must leave, it
//! receives nothing), and the fixed replicas become a base load that shifts each broker's
//! count band down (and its byte limit, for capacity).

use std::collections::BTreeSet;

use super::bounds::MoveBounds;
use super::capacity;
use super::replicas::{self, Bands, Topology};
use super::{stages, PlanConfig, PlanError, PlanOutcome};
use crate::model::{Broker, BrokerId, Cluster};

/// What the fixed partitions put on each broker (indexed like `Cluster::brokers`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseLoad {
    pub counts: Vec<usize>,
    /// Preferred leaders (`replicas[0]`) of the fixed partitions per broker.
    pub leaders: Vec<usize>,
    pub bytes: Vec<u64>,
    /// Byte limit left for movable replicas: capacity × max util minus the fixed bytes.
    pub limits: Vec<Option<u64>>,
}

/// The brokers a scoped run may place on: target brokers (all when `None`) not excluded.
pub fn effective_excluded(cluster: &Cluster, config: &PlanConfig) -> BTreeSet<BrokerId> {
    let mut excluded = config.excluded.clone();
    if let Some(targets) = &config.target_brokers {
        for b in &cluster.brokers {
            if !targets.contains(&b.id) {
                excluded.insert(b.id);
            }
        }
    }
    excluded
}

/// Splits the cluster into the movable part and the base load of the rest, plans the
/// movable part and lifts the outcome back onto the whole cluster.
pub(super) fn plan_scoped(
    cluster: &Cluster,
    config: &PlanConfig,
) -> Result<PlanOutcome, PlanError> {
    let is_movable = |tp: &crate::model::TopicPartition| {
        config
            .movable
            .as_ref()
            .is_none_or(|m| m.contains(&tp.topic))
            && !config.frozen.contains(tp)
    };
    let excluded = effective_excluded(cluster, config);
    let mut base = BaseLoad {
        counts: vec![0; cluster.brokers.len()],
        leaders: vec![0; cluster.brokers.len()],
        bytes: vec![0; cluster.brokers.len()],
        limits: Vec::new(),
    };
    let mut movable_index = Vec::new();
    let mut movable = Vec::new();
    for (i, p) in cluster.partitions.iter().enumerate() {
        if is_movable(&p.tp) {
            movable_index.push(i);
            movable.push(p.clone());
            continue;
        }
        for (pos, id) in p.replicas.iter().enumerate() {
            if let Ok(b) = cluster.brokers.binary_search_by_key(id, |b| b.id) {
                base.counts[b] += 1;
                base.bytes[b] += p.size_bytes;
                if pos == 0 {
                    base.leaders[b] += 1;
                }
            }
        }
    }
    base.limits = capacity::limits(cluster, config.max_disk_util)
        .into_iter()
        .zip(&base.bytes)
        .map(|(l, used)| l.map(|l| l.saturating_sub(*used)))
        .collect();
    // The movable part sees each disk as what the fixed partitions leave of it, so the
    // solver's byte-aware choices steer away from brokers they already fill (never 0, which
    // would read as "unknown"). The hard limits are `base.limits`, exact.
    let has_fixed = base.counts.iter().any(|&c| c > 0);
    let brokers = cluster
        .brokers
        .iter()
        .zip(&base.bytes)
        .map(|(b, used)| Broker {
            capacity_bytes: match b.capacity_bytes {
                Some(c) if has_fixed => Some(c.saturating_sub(*used).max(1)),
                other => other,
            },
            ..b.clone()
        })
        .collect();
    // Partitions keep the cluster's (sorted) order, so the sub-cluster is canonical too.
    let sub = Cluster {
        brokers,
        partitions: movable,
        rates_window_ms: None,
    };
    let sub_config = PlanConfig {
        excluded,
        movable: None,
        target_brokers: None,
        frozen: BTreeSet::new(),
        ..config.clone()
    };
    // Nothing fixed: exactly the whole-cluster planner with the non-targets excluded.
    let base_ref = has_fixed.then_some(&base);
    let outcome = stages::run(&sub, &sub_config, base_ref)?;
    let before = cluster.current_layout();
    let mut after = before.clone();
    for (k, &i) in movable_index.iter().enumerate() {
        if let Some(reps) = outcome.after.replicas.get(k) {
            after.replicas[i] = reps.clone();
        }
    }
    Ok(PlanOutcome {
        before,
        after,
        ..outcome
    })
}

/// The band over the target brokers counting the fixed load: whole loads `[floor, ceil]` of
/// the average, where a broker whose fixed load alone is above the band is left at that
/// load (it gets no movable replica) and the others share the rest (water-filling). The
/// returned bands are for the movable replicas (whole band minus fixed load), with the
/// whole-load band of the sharing brokers.
pub fn base_aware_band_levels(
    cluster: &Cluster,
    topo: &Topology,
    base: &BaseLoad,
) -> (Bands, Option<(usize, usize)>) {
    water_fill(topo, &base.counts, cluster.total_replicas())
}

/// The leader band counting the fixed partitions' preferred leaders, as
/// [`base_aware_band_levels`] does for replicas (`partitions` = movable partitions).
pub fn base_aware_leader_bands(topo: &Topology, base: &BaseLoad, partitions: usize) -> Bands {
    water_fill(topo, &base.leaders, partitions).0
}

/// Water-filling of `movable` units over the allowed brokers on top of `fixed` per broker.
fn water_fill(topo: &Topology, fixed: &[usize], movable: usize) -> (Bands, Option<(usize, usize)>) {
    let nb = topo.ids.len();
    let allowed: Vec<usize> = (0..nb).filter(|&b| topo.allowed[b]).collect();
    let total = movable + allowed.iter().map(|&b| base_at(fixed, b)).sum::<usize>();
    let mut bands = Bands {
        lo: vec![0; nb],
        hi: vec![0; nb],
    };
    let level = fill_members(&allowed, fixed, total, &mut bands);
    (bands, level)
}

fn base_at(fixed: &[usize], b: usize) -> usize {
    fixed.get(b).copied().unwrap_or(0)
}

/// Shares a whole load of `total` among `members`: each gets `[floor, ceil]` of the average,
/// except a member whose fixed load alone is above that, which keeps its fixed load (and is
/// left out of the average). Writes the movable part (whole minus fixed) into `bands` and
/// returns the whole-load band of the sharing members.
fn fill_members(
    members: &[usize],
    fixed: &[usize],
    total: usize,
    bands: &mut Bands,
) -> Option<(usize, usize)> {
    let mut above: Vec<usize> = Vec::new();
    let mut level = None;
    loop {
        let free: Vec<usize> = members
            .iter()
            .copied()
            .filter(|b| !above.contains(b))
            .collect();
        if free.is_empty() {
            break;
        }
        let fixed_load: usize = above.iter().map(|&b| base_at(fixed, b)).sum();
        let rest = total.saturating_sub(fixed_load);
        let (lo, hi) = (rest / free.len(), rest.div_ceil(free.len()));
        level = Some((lo, hi));
        let newly: Vec<usize> = free
            .iter()
            .copied()
            .filter(|&b| base_at(fixed, b) > hi)
            .collect();
        if newly.is_empty() {
            break;
        }
        above.extend(newly);
    }
    for &b in members {
        let (lo, hi) = match level {
            Some(l) if !above.contains(&b) => l,
            _ => (0, 0),
        };
        bands.lo[b] = lo.saturating_sub(base_at(fixed, b));
        bands.hi[b] = hi.saturating_sub(base_at(fixed, b));
    }
    level
}

/// The rack-aware band counting the fixed load (the counterpart of
/// `replicas::rack_aware_bands`): racks whose share of the whole average is below what the
/// rack rule makes them hold (or above what it lets them hold) are fixed at that limit, the
/// others share the rest; inside each, brokers share their rack's load over their fixed load.
pub fn rack_aware_base_bands(cluster: &Cluster, topo: &Topology, base: &BaseLoad) -> Bands {
    let nb = topo.ids.len();
    let nr = topo.racks.len();
    let (rack_min, rack_max) = replicas::rack_limits(cluster, topo);
    let rack_base: Vec<usize> = topo
        .racks
        .iter()
        .map(|m| m.iter().map(|&b| base_at(&base.counts, b)).sum())
        .collect();
    let total = cluster.total_replicas() + rack_base.iter().sum::<usize>();
    let sizes: Vec<usize> = topo.racks.iter().map(|m| m.len()).collect();
    let lo: Vec<usize> = (0..nr).map(|r| rack_min[r] + rack_base[r]).collect();
    let hi: Vec<usize> = (0..nr).map(|r| rack_max[r] + rack_base[r]).collect();
    let fixed_rack = replicas::water_fill(total, &sizes, &lo, &hi);
    let mut bands = Bands {
        lo: vec![0; nb],
        hi: vec![0; nb],
    };
    let mut free_members = Vec::new();
    for r in 0..nr {
        match fixed_rack[r] {
            Some(load) => {
                fill_members(&topo.racks[r], &base.counts, load, &mut bands);
            }
            None => free_members.extend(topo.racks[r].iter().copied()),
        }
    }
    let fixed_load: usize = fixed_rack.iter().flatten().sum();
    fill_members(
        &free_members,
        &base.counts,
        total.saturating_sub(fixed_load),
        &mut bands,
    );
    bands
}

pub fn base_aware_bands(cluster: &Cluster, topo: &Topology, base: &BaseLoad) -> Bands {
    base_aware_band_levels(cluster, topo, base).0
}

/// Move bounds of the movable partitions, counting the fixed load: LB is the larger of the
/// movable replicas above the band (a broker can shed only its movable replicas; every
/// replica on a non-target broker must leave) and the replicas missing below it; the forced
/// moves are the replicas on non-target brokers plus, per partition, those above the rack cap.
pub fn scoped_bounds(cluster: &Cluster, topo: &Topology, base: &BaseLoad) -> MoveBounds {
    let nb = topo.ids.len();
    let nr = topo.racks.len();
    let (bands, level) = base_aware_band_levels(cluster, topo, base);
    let mut load = vec![0usize; nb];
    let mut off_target = 0usize;
    let mut rack_excess = 0usize;
    let mut per_rack = vec![0usize; nr];
    for p in &cluster.partitions {
        per_rack.iter_mut().for_each(|c| *c = 0);
        for id in &p.replicas {
            match topo.index_of(*id) {
                Some(b) if topo.allowed[b] && topo.rack[b] < nr => {
                    load[b] += 1;
                    per_rack[topo.rack[b]] += 1;
                }
                _ => off_target += 1,
            }
        }
        let cap = topo.rack_cap(p.replicas.len());
        rack_excess += per_rack
            .iter()
            .map(|c| c.saturating_sub(cap))
            .sum::<usize>();
    }
    if topo.allowed_count() == 0 {
        return MoveBounds {
            band: None,
            excess: None,
            deficit: None,
            lower_bound_moves: None,
            forced_moves: off_target + rack_excess,
            combined: off_target + rack_excess,
        };
    }
    let mut excess = off_target;
    let mut deficit = 0usize;
    for b in 0..nb {
        if topo.allowed[b] {
            excess += load[b].saturating_sub(bands.hi[b]);
            deficit += bands.lo[b].saturating_sub(load[b]);
        }
    }
    let lb = excess.max(deficit);
    let forced = off_target + rack_excess;
    MoveBounds {
        band: level,
        excess: Some(excess),
        deficit: Some(deficit),
        lower_bound_moves: Some(lb),
        forced_moves: forced,
        combined: lb.max(forced),
    }
}

/// Why a scoped run ends outside its band: which brokers, with their whole loads.
pub fn explain_scoped_band(
    topo: &Topology,
    bands: &Bands,
    loads: &[usize],
    base: &BaseLoad,
) -> String {
    let base_of = |b: usize| base.counts.get(b).copied().unwrap_or(0);
    let outside: Vec<String> = (0..topo.ids.len())
        .filter(|&b| topo.allowed[b] && (loads[b] < bands.lo[b] || loads[b] > bands.hi[b]))
        .map(|b| format!("{}:{}", topo.ids[b], loads[b] + base_of(b)))
        .collect();
    let above: Vec<String> = (0..topo.ids.len())
        .filter(|&b| topo.allowed[b] && bands.hi[b] == 0 && base_of(b) > 0 && loads[b] == 0)
        .map(|b| format!("{}:{}", topo.ids[b], base_of(b)))
        .collect();
    let mut msg = String::from(
        "the band over the target brokers (counting the replicas of the topics not planned) cannot be reached under the rack rule",
    );
    if !outside.is_empty() {
        msg.push_str(&format!(
            "; brokers outside it (id:replicas): {}",
            outside.join(" ")
        ));
    }
    if !above.is_empty() {
        msg.push_str(&format!(
            "; brokers above it with fixed replicas only (id:replicas): {}",
            above.join(" ")
        ));
    }
    msg
}
