//! Stage 2, the count flow: guarantees the move-minimal layout (certified by the flow's dual
//! potentials) in the tightest count band it reaches: the uniform band when the rack rule
//! allows it, else the rack-aware band (water-filling over what each rack can hold), else
//! the brokers the rack rule forces outside pinned and the rest balanced among themselves.
//! The explanations of a band out of reach and of moves above LB* live here too.

use std::collections::BTreeSet;

use super::{Draft, Problem};
use crate::model::{BrokerId, Cluster};
use crate::plan::bounds::MoveBounds;
use crate::plan::replicas::{self, Bands, PlacementError, Topology};
use crate::plan::{capacity, scope, PlanError, SolverFacts};

pub(super) fn run(problem: &Problem) -> Result<Draft, PlanError> {
    let (cluster, topo, base) = (problem.cluster, &problem.topo, problem.base);
    // Replica stage with band tightening: when the uniform band is out of reach, pin the
    // brokers the rack rule forces outside it and rebalance the rest among themselves.
    let nb = topo.ids.len();
    let uniform = match base {
        None => replicas::uniform_bands(cluster, topo),
        Some(b) => scope::base_aware_bands(cluster, topo, b),
    };
    // The uniform band first: when it is reachable, its optimum is the answer. Otherwise the
    // rack-aware band (water-filling over what each rack can hold), then pinning.
    let mut bands = uniform.clone();
    let mut facts = SolverFacts::default();
    let mut solution;
    loop {
        facts.rounds += 1;
        let sol = replicas::solve_flow(cluster, topo, &bands).map_err(|e| match e {
            PlacementError::Flow(f) => PlanError::Internal(f.to_string()),
            other => PlanError::Internal(format!("{other:?}")),
        })?;
        facts.phases += sol.phases;
        facts.nodes = sol.nodes;
        facts.arcs = sol.arcs;
        facts.certified = sol.certified;
        solution = sol;
        if solution.band_violation == 0 || facts.rounds >= 6 {
            break;
        }
        if facts.rounds == 1 {
            let rack_aware = match base {
                None => replicas::rack_aware_bands(cluster, topo),
                Some(b) => scope::rack_aware_base_bands(cluster, topo, b),
            };
            if rack_aware != bands {
                bands = rack_aware;
                continue;
            }
        }
        let loads = replicas::loads(nb, &solution.replicas);
        match tighten(topo, &bands, &loads, base.map(|b| b.counts.as_slice())) {
            Some(next) => bands = next,
            None => break,
        }
    }
    let replica_band_reached = facts.rounds == 1 && solution.band_violation == 0;
    let loads = replicas::loads(nb, &solution.replicas);
    Ok(Draft {
        uniform,
        bands,
        sets: solution.replicas,
        loads,
        optimum_moves: solution.moves,
        replica_band_reached,
        facts,
        explanations: Vec::new(),
        budget: None,
        disk_balance: None,
        capacity_repair: capacity::Repair::default(),
        topic_spread: None,
        bytes_refinement: None,
        leader_pos: Vec::new(),
        leader_band_reached: false,
        leader_budget: None,
        load_balance: None,
    })
}

/// When the uniform band is out of reach: why (the count modes' explanation).
pub(super) fn explain(problem: &Problem, draft: &mut Draft) {
    let (cluster, topo) = (problem.cluster, &problem.topo);
    let (uniform, final_loads) = (&draft.uniform, &draft.loads);
    if !draft.replica_band_reached {
        match problem.base {
            None => draft
                .explanations
                .extend(explain_band(cluster, topo, uniform, final_loads)),
            Some(b) => {
                draft
                    .explanations
                    .push(scope::explain_scoped_band(topo, uniform, final_loads, b))
            }
        }
    }
}

/// Pins the brokers whose load left the band at that load and gives the others the band
/// of their own average. `None` when nothing would change. With `base` (fixed load per
/// broker), the average is over whole loads and the bands returned are for the movable part.
pub(super) fn tighten(
    topo: &Topology,
    bands: &Bands,
    loads: &[usize],
    base: Option<&[usize]>,
) -> Option<Bands> {
    let base_of = |b: usize| base.and_then(|v| v.get(b).copied()).unwrap_or(0);
    let nb = topo.ids.len();
    let mut lo = bands.lo.clone();
    let mut hi = bands.hi.clone();
    let mut pinned_total = 0usize;
    let mut free = Vec::new();
    let mut changed = false;
    for b in 0..nb {
        if !topo.allowed[b] {
            continue;
        }
        let outside = loads[b] < bands.lo[b] || loads[b] > bands.hi[b];
        let already_pinned = bands.lo[b] == bands.hi[b] && bands.lo[b] == loads[b];
        if outside || already_pinned {
            changed |= outside;
            lo[b] = loads[b];
            hi[b] = loads[b];
            pinned_total += loads[b];
        } else {
            free.push(b);
        }
    }
    if !changed || free.is_empty() {
        return None;
    }
    let total: usize = loads.iter().sum::<usize>() - pinned_total
        + free.iter().map(|&b| base_of(b)).sum::<usize>();
    let (flo, fhi) = (total / free.len(), total.div_ceil(free.len()));
    for &b in &free {
        lo[b] = flo.saturating_sub(base_of(b));
        hi[b] = fhi.saturating_sub(base_of(b));
    }
    Some(Bands { lo, hi })
}

/// Says why brokers end outside the uniform band: racks too small or too large for the rack
/// rule (minimum and maximum a rack can hold), otherwise the certified optimum.
fn explain_band(
    cluster: &Cluster,
    topo: &Topology,
    uniform: &Bands,
    loads: &[usize],
) -> Vec<String> {
    let mut out = Vec::new();
    let nr = topo.racks.len();
    let (rack_min, rack_max) = replicas::rack_limits(cluster, topo);
    let (lo, hi) = topo
        .allowed
        .iter()
        .position(|a| *a)
        .map(|b| (uniform.lo[b], uniform.hi[b]))
        .unwrap_or((0, 0));
    for r in 0..nr {
        let n = topo.racks[r].len();
        let name = &topo.rack_names[r];
        if rack_min[r] > hi * n {
            out.push(format!(
                "rack {name} has {n} allowed broker(s); the rack rule makes it hold at least {} replicas ({} per broker), above the band [{lo}, {hi}]",
                rack_min[r],
                rack_min[r].div_ceil(n)
            ));
        } else if rack_max[r] < lo * n {
            out.push(format!(
                "rack {name} has {n} allowed broker(s) but the rack rule lets it hold at most {} replicas ({} per broker), below the band [{lo}, {hi}]",
                rack_max[r],
                rack_max[r] / n.max(1)
            ));
        }
    }
    let outside: Vec<String> = (0..topo.ids.len())
        .filter(|&b| topo.allowed[b] && (loads[b] < lo || loads[b] > hi))
        .map(|b| format!("{}:{}", topo.ids[b], loads[b]))
        .collect();
    if out.is_empty() {
        out.push(format!(
            "the band [{lo}, {hi}] cannot be reached under the rack rule; brokers outside it (id:replicas): {}",
            outside.join(" ")
        ));
    } else {
        out.push(format!(
            "the remaining brokers are balanced among themselves; brokers outside the band (id:replicas): {}",
            outside.join(" ")
        ));
    }
    out
}

/// Says why the optimum is above LB*: the rack-aware bound counts, per rack, the larger of
/// the replicas its brokers must shed for the band and the replicas the rack rule forces out.
pub(super) fn explain_gap(
    cluster: &Cluster,
    topo: &Topology,
    excluded: &BTreeSet<BrokerId>,
    bounds: &MoveBounds,
    optimum: usize,
) -> Vec<String> {
    let Some((_, hi)) = bounds.band else {
        return Vec::new();
    };
    let nr = topo.racks.len();
    let mut load = vec![0usize; topo.ids.len()];
    let mut forced_rack = vec![0usize; nr];
    let mut excluded_moves = 0usize;
    for p in &cluster.partitions {
        let cap = topo.rack_cap(p.replicas.len());
        let mut per_rack = vec![0usize; nr];
        for id in &p.replicas {
            if let Some(b) = topo.index_of(*id) {
                load[b] += 1;
                if excluded.contains(id) {
                    excluded_moves += 1;
                } else if topo.rack[b] < nr {
                    per_rack[topo.rack[b]] += 1;
                }
            }
        }
        for r in 0..nr {
            forced_rack[r] += per_rack[r].saturating_sub(cap);
        }
    }
    let mut rack_bound = excluded_moves;
    let mut detail = Vec::new();
    for r in 0..nr {
        let excess: usize = topo.racks[r]
            .iter()
            .map(|&b| load[b].saturating_sub(hi))
            .sum();
        if forced_rack[r] > excess {
            detail.push(format!(
                "rack {}: {} replicas must leave for rack spread but its brokers are only {} over the band",
                topo.rack_names[r], forced_rack[r], excess
            ));
        }
        rack_bound += excess.max(forced_rack[r]);
    }
    let rack_bound = rack_bound.max(bounds.deficit.unwrap_or(0));
    let mut out = Vec::new();
    if rack_bound > bounds.combined {
        out.push(format!(
            "rack spread and balance overlap less than LB* assumes: counting per rack the larger of the two gives a bound of {rack_bound} ({} above LB* = {})",
            rack_bound - bounds.combined,
            bounds.combined
        ));
        out.extend(detail);
    }
    if optimum > rack_bound.max(bounds.combined) {
        out.push(format!(
            "the other {} moves above that bound are forced by how the rack rule and the band interact across partitions; the flow's dual potentials certify that no layout reaches the band with fewer than {optimum} moves",
            optimum - rack_bound.max(bounds.combined)
        ));
    }
    out
}
