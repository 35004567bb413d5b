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
use super::replicas::{Bands, Topology};
use super::{plan_core, PlanConfig, PlanError, PlanOutcome};
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
    let is_movable = |topic: &str| config.movable.as_ref().is_none_or(|m| m.contains(topic));
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
        if is_movable(&p.tp.topic) {
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
    };
    let sub_config = PlanConfig {
        excluded,
        max_disk_util: config.max_disk_util,
        movable: None,
        target_brokers: None,
    };
    // Nothing fixed: exactly the whole-cluster planner with the non-targets excluded.
    let base_ref = has_fixed.then_some(&base);
    let outcome = plan_core(&sub, &sub_config, base_ref)?;
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
    let base_of = |b: usize| fixed.get(b).copied().unwrap_or(0);
    let allowed: Vec<usize> = (0..nb).filter(|&b| topo.allowed[b]).collect();
    let total = movable + allowed.iter().map(|&b| base_of(b)).sum::<usize>();
    let mut above = vec![false; nb];
    let mut level = None;
    loop {
        let free: Vec<usize> = allowed.iter().copied().filter(|&b| !above[b]).collect();
        if free.is_empty() {
            break;
        }
        let fixed_load: usize = allowed
            .iter()
            .filter(|&&b| above[b])
            .map(|&b| base_of(b))
            .sum();
        let rest = total.saturating_sub(fixed_load);
        let (lo, hi) = (rest / free.len(), rest.div_ceil(free.len()));
        level = Some((lo, hi));
        let mut changed = false;
        for &b in &free {
            if base_of(b) > hi {
                above[b] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let mut bands = Bands {
        lo: vec![0; nb],
        hi: vec![0; nb],
    };
    if let Some((lo, hi)) = level {
        for &b in &allowed {
            if !above[b] {
                bands.lo[b] = lo.saturating_sub(base_of(b));
                bands.hi[b] = hi.saturating_sub(base_of(b));
            }
        }
    }
    (bands, level)
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
