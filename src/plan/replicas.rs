//! Replica placement: the count + rack + exclusion problem as one exact min-cost flow.
//!
//! Network (see `../shared/design/solver.md`):
//! - one node per partition `p` with supply RF(p); one sink `T` with demand ΣRF; one pool
//!   node per rack, shared by all partitions, with `pool[r]→b` for each allowed broker of `r`;
//! - *pool mode* (RF(p) ≤ R, so each rack may hold at most one replica of `p`): a rack where
//!   `p` has one current replica on an allowed broker `b` is entered only through the keep
//!   arc `p→b` (cap 1, cost 0); moving that replica within the rack goes through the
//!   broker's shared arc `b→pool[r]` (cost 1). A rack where `p` has several current replicas
//!   (a rack violation) gets a node `(p,r)` with `p→(p,r)` (cap 1), keep arcs to those
//!   brokers and a move arc `(p,r)→pool[r]` (cost 1). Every other rack: a move arc
//!   `p→pool[r]` (cap 1, cost 1). The graph has O(P·R + B) arcs, not P·B, and is exact: one
//!   unit of `p` per rack means two units of `p` never meet on one broker, and chains
//!   through full brokers stay possible (no candidate pruning);
//! - *broker mode* (RF(p) > R, several replicas of `p` per rack): `p→(p,r)` with cap
//!   ⌈RF/R⌉ and `(p,r)→b` (cap 1) for every allowed broker of the rack, cost 0 when `b`
//!   holds `p` now, else 1. Shared shed arcs are then off (they assume one replica per rack);
//! - broker balance: `b→T` in three tiers: `lo_b` units at −M (filling up to the band is
//!   worth more than any number of moves), `hi_b − lo_b` units at 0, the rest at +M.
//!
//! The initial flow is the current layout (one unit per kept replica), so only changes
//! cost; the initial potentials (0 everywhere, −M at `T`) are dual feasible for it. The
//! final potentials certify the optimum. Decoding then chooses which replicas each broker
//! sheds and which broker of a rack receives each unit; both choices are free for the move
//! count and are used to balance bytes.

// Index loops over parallel arrays are the clearest form for graph code.
#![allow(clippy::needless_range_loop)]

use std::collections::BTreeSet;

use super::mcf::{FlowBuilder, FlowError, FlowNetwork, Node};
use crate::model::{BrokerId, Cluster};

/// Cost of one replica move in the flow.
const MOVE: i64 = 1;

/// Which replicas a broker should shed, by size. The flow fixes how many replicas each broker
/// sheds within its rack; which ones is free for the move count, so a broker holding more
/// bytes than its share sheds replicas near the size that brings it to its share, and a
/// broker under its share sheds its smallest. (A size-dependent tie-break inside the flow
/// was measured too: it multiplied the solver's phases and balanced disks worse.)
struct ShedPreference {
    /// Desired size (ln bytes) of the replicas each broker sheds; `None` = prefer small.
    desired_ln: Vec<Option<f64>>,
    ln_size: Vec<f64>,
}

impl ShedPreference {
    fn new(cluster: &Cluster, topo: &Topology, bands: &Bands) -> Self {
        let nb = topo.ids.len();
        let ln_size: Vec<f64> = cluster
            .partitions
            .iter()
            .map(|p| (p.size_bytes.max(1) as f64).ln())
            .collect();
        let mut bytes = vec![0u64; nb];
        let mut count = vec![0usize; nb];
        for p in &cluster.partitions {
            for id in &p.replicas {
                if let Some(b) = topo.index_of(*id) {
                    bytes[b] += p.size_bytes;
                    count[b] += 1;
                }
            }
        }
        let all_cap = (0..nb)
            .filter(|&b| topo.allowed[b])
            .all(|b| cluster.brokers[b].capacity_bytes.is_some_and(|c| c > 0));
        let weight = |b: usize| -> f64 {
            if all_cap {
                cluster.brokers[b].capacity_bytes.unwrap_or(1) as f64
            } else {
                1.0
            }
        };
        let wsum: f64 = (0..nb).filter(|&b| topo.allowed[b]).map(weight).sum();
        let total_bytes: f64 = bytes.iter().map(|&x| x as f64).sum();
        let desired_ln = (0..nb)
            .map(|b| {
                let target = if topo.allowed[b] {
                    total_bytes * weight(b) / wsum.max(1.0)
                } else {
                    0.0
                };
                let surplus = bytes[b] as f64 - target;
                if surplus <= 0.0 {
                    return None;
                }
                let shed = if topo.allowed[b] {
                    count[b].saturating_sub(bands.hi[b]).max(1)
                } else {
                    count[b].max(1)
                };
                Some((surplus / shed as f64).max(1.0).ln())
            })
            .collect();
        ShedPreference {
            desired_ln,
            ln_size,
        }
    }

    /// Sort key for choosing which of broker `b`'s replicas to move: distance (in ln bytes)
    /// from the size that brings `b` to its byte share; smaller first when `b` is under it.
    fn shed_preference(&self, p: usize, b: usize) -> f64 {
        let ls = self.ln_size[p];
        match self.desired_ln[b] {
            Some(d) => (ls - d).abs(),
            None => ls,
        }
    }
}

/// Index structures shared by the placement stages.
#[derive(Debug, Clone)]
pub struct Topology {
    /// Broker ids in cluster order (sorted).
    pub ids: Vec<BrokerId>,
    /// Allowed (not excluded) per broker index.
    pub allowed: Vec<bool>,
    /// Rack index of each allowed broker; `usize::MAX` for excluded brokers.
    pub rack: Vec<usize>,
    /// Allowed broker indices per rack.
    pub racks: Vec<Vec<usize>>,
    /// Display names of the racks (`rack` or `broker N (no rack)`).
    pub rack_names: Vec<String>,
    /// When a broker sheds replicas, take followers before preferred leaders (set under a
    /// leader-change budget: every moved leader replica forces a leader change).
    pub prefer_follower_moves: bool,
    /// When a broker sheds replicas, take the smallest (set under a bytes budget: more
    /// moves fit in it) instead of sizes that even out disk use.
    pub prefer_small_moves: bool,
}

impl Topology {
    pub fn new(cluster: &Cluster, excluded: &BTreeSet<BrokerId>) -> Self {
        let ids: Vec<BrokerId> = cluster.brokers.iter().map(|b| b.id).collect();
        let allowed: Vec<bool> = ids.iter().map(|id| !excluded.contains(id)).collect();
        let mut keys: Vec<String> = cluster
            .brokers
            .iter()
            .zip(&allowed)
            .filter(|(_, a)| **a)
            .map(|(b, _)| Cluster::rack_key(b))
            .collect();
        keys.sort();
        keys.dedup();
        let mut racks = vec![Vec::new(); keys.len()];
        let mut rack = vec![usize::MAX; ids.len()];
        for (i, b) in cluster.brokers.iter().enumerate() {
            if allowed[i] {
                let k = Cluster::rack_key(b);
                if let Ok(r) = keys.binary_search(&k) {
                    rack[i] = r;
                    racks[r].push(i);
                }
            }
        }
        let rack_names = keys
            .iter()
            .map(|k| match k.strip_prefix("r:") {
                Some(r) => r.to_string(),
                None => format!("broker {} (no rack)", k.trim_start_matches("b:")),
            })
            .collect();
        Topology {
            ids,
            allowed,
            rack,
            racks,
            rack_names,
            prefer_follower_moves: false,
            prefer_small_moves: false,
        }
    }

    pub fn index_of(&self, id: BrokerId) -> Option<usize> {
        self.ids.binary_search(&id).ok()
    }

    pub fn allowed_count(&self) -> usize {
        self.allowed.iter().filter(|a| **a).count()
    }

    /// Each partition's current replicas as broker indices (unknown brokers left out).
    pub fn current_sets(&self, cluster: &Cluster) -> Vec<Vec<usize>> {
        cluster
            .partitions
            .iter()
            .map(|p| {
                p.replicas
                    .iter()
                    .filter_map(|id| self.index_of(*id))
                    .collect()
            })
            .collect()
    }

    /// Most replicas of a partition with replication factor `rf` one rack may hold.
    pub fn rack_cap(&self, rf: usize) -> usize {
        rf.div_ceil(self.racks.len().max(1))
    }
}

/// Per-broker target band `[lo, hi]` of replica counts (allowed brokers only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bands {
    pub lo: Vec<usize>,
    pub hi: Vec<usize>,
}

/// The result of one exact flow solve.
#[derive(Debug, Clone)]
pub struct FlowSolution {
    /// New replica sets (broker indices), ordered: kept replicas keep their positions,
    /// new ones take the freed positions.
    pub replicas: Vec<Vec<usize>>,
    /// Replica moves of the flow optimum.
    pub moves: usize,
    /// Units outside the bands (Σ over brokers of distance to its band).
    pub band_violation: usize,
    /// Dual feasibility of the final potentials was checked.
    pub certified: bool,
    pub phases: usize,
    pub nodes: usize,
    pub arcs: usize,
}

/// A partition that cannot be placed under the hard rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlacementError {
    NotEnoughBrokers {
        partition: usize,
        rf: usize,
        allowed: usize,
    },
    RackSpreadImpossible {
        partition: usize,
        rf: usize,
        cap: usize,
        slots: usize,
    },
    Flow(FlowError),
}

/// Checks the per-partition rules that make the flow infeasible, listing every partition.
pub fn check_feasible(cluster: &Cluster, topo: &Topology) -> Vec<PlacementError> {
    let allowed = topo.allowed_count();
    let mut out = Vec::new();
    for (i, p) in cluster.partitions.iter().enumerate() {
        let rf = p.replicas.len();
        if rf > allowed {
            out.push(PlacementError::NotEnoughBrokers {
                partition: i,
                rf,
                allowed,
            });
            continue;
        }
        let cap = topo.rack_cap(rf);
        let slots: usize = topo.racks.iter().map(|r| r.len().min(cap)).sum();
        if slots < rf {
            out.push(PlacementError::RackSpreadImpossible {
                partition: i,
                rf,
                cap,
                slots,
            });
        }
    }
    out
}

/// The default band: `[floor(avg), ceil(avg)]` for every allowed broker.
pub fn uniform_bands(cluster: &Cluster, topo: &Topology) -> Bands {
    let n = topo.allowed_count().max(1);
    let total = cluster.total_replicas();
    let (lo, hi) = (total / n, total.div_ceil(n));
    let lo_v = topo
        .allowed
        .iter()
        .map(|a| if *a { lo } else { 0 })
        .collect();
    let hi_v = topo
        .allowed
        .iter()
        .map(|a| if *a { hi } else { 0 })
        .collect();
    Bands { lo: lo_v, hi: hi_v }
}

/// The fewest and the most replicas each rack can hold under the rack rule: a rack must
/// take what the other racks' slots cannot, and holds at most `min(cap, brokers)` per
/// partition.
pub fn rack_limits(cluster: &Cluster, topo: &Topology) -> (Vec<usize>, Vec<usize>) {
    let (rack_min, rack_max) = rack_slot_limits(cluster, topo, |_| 1);
    let to_counts = |v: Vec<u64>| v.into_iter().map(|x| x as usize).collect();
    (to_counts(rack_min), to_counts(rack_max))
}

/// Per rack, the least and the most each partition must / may put there under the rack
/// rule, weighted: per partition, `weight(p)` times the replicas the other racks' slots
/// (`min(brokers, ⌈RF/racks⌉)` each) cannot take, resp. times the rack's own slots. With
/// weight 1 these are replica counts, with the partition size they are bytes.
pub fn rack_slot_limits(
    cluster: &Cluster,
    topo: &Topology,
    weight: impl Fn(&crate::model::Partition) -> u64,
) -> (Vec<u64>, Vec<u64>) {
    let nr = topo.racks.len();
    let mut rack_min = vec![0u64; nr];
    let mut rack_max = vec![0u64; nr];
    let mut slots = vec![0usize; nr];
    for p in &cluster.partitions {
        let rf = p.replicas.len();
        let cap = topo.rack_cap(rf);
        for (r, m) in topo.racks.iter().enumerate() {
            slots[r] = m.len().min(cap);
        }
        let all: usize = slots.iter().sum();
        let w = weight(p);
        for r in 0..nr {
            rack_min[r] += rf.saturating_sub(all - slots[r]) as u64 * w;
            rack_max[r] += slots[r] as u64 * w;
        }
    }
    (rack_min, rack_max)
}

/// Water-filling over racks: a rack whose brokers' share of the common level is below
/// `rack_lo` (or above `rack_hi`) is fixed at that limit and the level is recomputed over the
/// other racks' brokers, until no rack moves. Returns each rack's fixed load (`None` = free,
/// sharing the rest evenly per broker).
pub fn water_fill(
    total: usize,
    rack_sizes: &[usize],
    rack_lo: &[usize],
    rack_hi: &[usize],
) -> Vec<Option<usize>> {
    let nr = rack_sizes.len();
    let mut fixed: Vec<Option<usize>> = vec![None; nr];
    loop {
        let fixed_load: usize = fixed.iter().flatten().sum();
        let free_brokers: usize = (0..nr)
            .filter(|&r| fixed[r].is_none())
            .map(|r| rack_sizes[r])
            .sum();
        if free_brokers == 0 {
            return fixed;
        }
        let level = total.saturating_sub(fixed_load) as f64 / free_brokers as f64;
        let mut changed = false;
        for r in 0..nr {
            if fixed[r].is_some() {
                continue;
            }
            let want = level * rack_sizes[r] as f64;
            if want < rack_lo[r] as f64 {
                fixed[r] = Some(rack_lo[r]);
                changed = true;
            } else if want > rack_hi[r] as f64 {
                fixed[r] = Some(rack_hi[r]);
                changed = true;
            }
        }
        if !changed {
            return fixed;
        }
    }
}

/// Bands that respect what each rack can hold: water-filling over the brokers, where a rack
/// that must hold more (or can hold less) than its brokers' share of the average is fixed
/// at that limit and the other brokers share the rest evenly. Equals the uniform band when
/// no rack limit binds.
pub fn rack_aware_bands(cluster: &Cluster, topo: &Topology) -> Bands {
    let nb = topo.ids.len();
    let nr = topo.racks.len();
    let (rack_min, rack_max) = rack_limits(cluster, topo);
    let total = cluster.total_replicas();
    let sizes: Vec<usize> = topo.racks.iter().map(|m| m.len()).collect();
    let fixed = water_fill(total, &sizes, &rack_min, &rack_max);
    let fixed_load: usize = fixed.iter().flatten().sum();
    let free_brokers: usize = (0..nr)
        .filter(|&r| fixed[r].is_none())
        .map(|r| topo.racks[r].len())
        .sum();
    let rest = total.saturating_sub(fixed_load);
    let (flo, fhi) = match rest.checked_div(free_brokers) {
        Some(l) => (l, rest.div_ceil(free_brokers)),
        None => (0, 0),
    };
    let mut lo = vec![0usize; nb];
    let mut hi = vec![0usize; nb];
    for (r, members) in topo.racks.iter().enumerate() {
        let (l, h) = match fixed[r] {
            Some(load) => (load / members.len(), load.div_ceil(members.len())),
            None => (flo, fhi),
        };
        for &b in members {
            lo[b] = l;
            hi[b] = h;
        }
    }
    Bands { lo, hi }
}

struct Arcs {
    /// Per partition: range into `direct` (arcs to a broker): (arc, broker, sheddable).
    /// Sheddable keep arcs are the partition's only way into that rack, so the shared
    /// `b→pool[r]` arc may move that replica within the rack.
    direct_start: Vec<u32>,
    direct: Vec<(u32, u32, bool)>,
    /// `b -> pool[rack(b)]` per broker index: "one replica kept on b moves within its rack".
    shed: Vec<Option<u32>>,
    /// Per partition: range into `pool` (arcs into a rack pool).
    pool_start: Vec<u32>,
    pool: Vec<(u32, u32)>,
    /// `pool[r] -> b` arc per (rack, broker index).
    pool_out: Vec<(u32, u32, u32)>,
    /// `b -> T` tier arcs per broker index: (below lo, band, above hi).
    tiers: Vec<Option<[u32; 3]>>,
}

/// Solves the exact flow for the given bands.
pub fn solve_flow(
    cluster: &Cluster,
    topo: &Topology,
    bands: &Bands,
) -> Result<FlowSolution, PlacementError> {
    let mut clock = super::timings::StageClock::start();
    let nb = topo.ids.len();
    let nr = topo.racks.len();
    let total: usize = cluster.total_replicas();
    // Big M: more than any possible sum of move costs along a path or in total.
    let shed_pref = ShedPreference::new(cluster, topo, bands);
    let big_m: i64 = (total as i64 + 1) * MOVE * 2;
    let unbounded: i32 = i32::try_from(total + 1).unwrap_or(i32::MAX);

    let mut b = FlowBuilder::with_capacity(cluster.partitions.len() * (nr + 6) + nb * 4);
    let sink = b.add_node();
    let broker_node: Vec<Node> = (0..nb).map(|_| b.add_node()).collect();
    let pool_node: Vec<Node> = (0..nr).map(|_| b.add_node()).collect();
    let mut arcs = Arcs {
        direct_start: Vec::with_capacity(cluster.partitions.len() + 1),
        direct: Vec::new(),
        pool_start: Vec::with_capacity(cluster.partitions.len() + 1),
        pool: Vec::new(),
        pool_out: Vec::new(),
        tiers: vec![None; nb],
        shed: vec![None; nb],
    };
    // Within-rack moves of a partition's single replica in a rack go through one shared arc
    // per broker instead of a per-partition node: the flow then only fixes how many
    // replicas each broker sheds, and the decoding picks which ones (by size). That is exact
    // only when a rack holds at most one replica of every partition, so partitions with
    // RF > R (several replicas per rack) switch it off.
    let shared_shed = cluster
        .partitions
        .iter()
        .all(|p| topo.rack_cap(p.replicas.len()) <= 1);
    if shared_shed {
        for (r, members) in topo.racks.iter().enumerate() {
            for &bi in members {
                let a = b.add_arc(broker_node[bi], pool_node[r], unbounded, MOVE, 0);
                arcs.shed[bi] = Some(a as u32);
            }
        }
    }
    for (r, members) in topo.racks.iter().enumerate() {
        for &bi in members {
            let a = b.add_arc(pool_node[r], broker_node[bi], unbounded, 0, 0);
            arcs.pool_out.push((r as u32, bi as u32, a as u32));
        }
    }
    for bi in 0..nb {
        if !topo.allowed[bi] {
            continue;
        }
        let lo = bands.lo[bi] as i32;
        let hi = bands.hi[bi].max(bands.lo[bi]) as i32;
        let t0 = b.add_arc(broker_node[bi], sink, lo, -big_m, 0);
        let t1 = b.add_arc(broker_node[bi], sink, hi - lo, 0, 0);
        let t2 = b.add_arc(broker_node[bi], sink, unbounded, big_m, 0);
        arcs.tiers[bi] = Some([t0 as u32, t1 as u32, t2 as u32]);
    }
    b.add_supply(sink, -(total as i64));

    let mut cur_idx: Vec<usize> = Vec::new();
    let mut by_rack: Vec<Vec<usize>> = vec![Vec::new(); nr];
    for p in &cluster.partitions {
        arcs.direct_start.push(arcs.direct.len() as u32);
        arcs.pool_start.push(arcs.pool.len() as u32);
        let rf = p.replicas.len();
        let pn = b.add_node();
        b.add_supply(pn, rf as i64);
        cur_idx.clear();
        cur_idx.extend(
            p.replicas
                .iter()
                .filter_map(|id| topo.index_of(*id))
                .filter(|&i| topo.allowed[i]),
        );
        for v in by_rack.iter_mut() {
            v.clear();
        }
        for &bi in &cur_idx {
            by_rack[topo.rack[bi]].push(bi);
        }
        let cap = topo.rack_cap(rf);
        if cap <= 1 {
            for (r, here) in by_rack.iter().enumerate() {
                if here.is_empty() {
                    let a = b.add_arc(pn, pool_node[r], 1, MOVE, 0);
                    arcs.pool.push((a as u32, r as u32));
                } else if here.len() == 1 && shared_shed {
                    let a = b.add_arc(pn, broker_node[here[0]], 1, 0, 1);
                    arcs.direct.push((a as u32, here[0] as u32, true));
                } else {
                    let q = b.add_node();
                    b.add_arc(pn, q, 1, 0, 1);
                    for (k, &bi) in here.iter().enumerate() {
                        let flow = i32::from(k == 0);
                        let a = b.add_arc(q, broker_node[bi], 1, 0, flow);
                        arcs.direct.push((a as u32, bi as u32, false));
                    }
                    let a = b.add_arc(q, pool_node[r], 1, MOVE, 0);
                    arcs.pool.push((a as u32, r as u32));
                }
            }
        } else {
            for (r, members) in topo.racks.iter().enumerate() {
                let slots = cap.min(members.len());
                let kept = by_rack[r].len().min(slots);
                let q = b.add_node();
                b.add_arc(pn, q, slots as i32, 0, kept as i32);
                for &bi in members {
                    let pos = by_rack[r].iter().position(|&c| c == bi);
                    let is_current = pos.is_some();
                    let flow = i32::from(pos.is_some_and(|k| k < kept));
                    let cost = if is_current { 0 } else { MOVE };
                    let a = b.add_arc(q, broker_node[bi], 1, cost, flow);
                    arcs.direct.push((a as u32, bi as u32, false));
                }
            }
        }
    }
    arcs.direct_start.push(arcs.direct.len() as u32);
    arcs.pool_start.push(arcs.pool.len() as u32);

    let nodes = b.node_count();
    let mut net = b.build();
    clock.lap("replica-flow.build");
    net.set_potential(sink, -big_m);
    net.solve().map_err(PlacementError::Flow)?;
    let certified = net.certify().is_ok();
    let arcs_n = net.arc_count();
    clock.lap("replica-flow.solve");
    net.report_counters("replica-flow");

    // Broker loads after the flow, and band violation.
    let mut band_violation = 0usize;
    for bi in 0..nb {
        if let Some([t0, _, t2]) = arcs.tiers[bi] {
            band_violation +=
                (bands.lo[bi] - net.flow(t0 as usize) as usize) + net.flow(t2 as usize) as usize;
        }
    }

    let replicas = decode(cluster, topo, &net, &arcs, &shed_pref);
    let mut moves = 0usize;
    for (p, new) in cluster.partitions.iter().zip(&replicas) {
        moves += new
            .iter()
            .filter(|&&bi| !p.replicas.contains(&topo.ids[bi]))
            .count();
    }
    clock.lap("replica-flow.decode");
    Ok(FlowSolution {
        replicas,
        moves,
        band_violation,
        certified,
        phases: net.phases,
        nodes,
        arcs: arcs_n,
    })
}

/// Turns the flow into replica sets. Pool units are matched to brokers per rack: largest
/// partitions first, each onto the broker (with quota left) whose disk would be the least
/// full, so the free choice the flow leaves balances bytes.
fn decode(
    cluster: &Cluster,
    topo: &Topology,
    net: &FlowNetwork,
    arcs: &Arcs,
    shed_pref: &ShedPreference,
) -> Vec<Vec<usize>> {
    let np = cluster.partitions.len();
    let nb = topo.ids.len();
    let mut chosen: Vec<Vec<usize>> = vec![Vec::new(); np];
    let mut rack_units: Vec<Vec<usize>> = vec![Vec::new(); topo.racks.len()];
    let mut bytes = vec![0u64; nb];
    let mut shed_candidates: Vec<Vec<usize>> = vec![Vec::new(); nb];
    for p in 0..np {
        let size = cluster.partitions[p].size_bytes;
        for &(a, bi, sheddable) in
            &arcs.direct[arcs.direct_start[p] as usize..arcs.direct_start[p + 1] as usize]
        {
            if net.flow(a as usize) > 0 {
                chosen[p].push(bi as usize);
                bytes[bi as usize] += size;
                if sheddable {
                    shed_candidates[bi as usize].push(p);
                }
            }
        }
        for &(a, r) in &arcs.pool[arcs.pool_start[p] as usize..arcs.pool_start[p + 1] as usize] {
            if net.flow(a as usize) > 0 {
                rack_units[r as usize].push(p);
            }
        }
    }
    // Which replicas each broker sheds within its rack: the ones whose size best brings the
    // broker to its byte share (or the smallest, for a broker under its share).
    for bi in 0..nb {
        let Some(a) = arcs.shed[bi] else { continue };
        let k = net.flow(a as usize) as usize;
        if k == 0 {
            continue;
        }
        let cands = &mut shed_candidates[bi];
        let leads = |p: usize| {
            topo.prefer_follower_moves
                && cluster.partitions[p].replicas.first() == Some(&topo.ids[bi])
        };
        let key = |p: usize| {
            if topo.prefer_small_moves {
                cluster.partitions[p].size_bytes as f64
            } else {
                shed_pref.shed_preference(p, bi)
            }
        };
        cands.sort_by(|&x, &y| {
            let kx = key(x);
            let ky = key(y);
            leads(x)
                .cmp(&leads(y))
                .then(kx.partial_cmp(&ky).unwrap_or(std::cmp::Ordering::Equal))
                .then(x.cmp(&y))
        });
        for &p in cands.iter().take(k) {
            chosen[p].retain(|&c| c != bi);
            bytes[bi] -= cluster.partitions[p].size_bytes;
            rack_units[topo.rack[bi]].push(p);
        }
    }
    let mut quota = vec![0usize; nb];
    for &(_, bi, a) in &arcs.pool_out {
        quota[bi as usize] = net.flow(a as usize) as usize;
    }
    let capacity: Vec<Option<u64>> = cluster.brokers.iter().map(|b| b.capacity_bytes).collect();
    for (r, units) in rack_units.iter_mut().enumerate() {
        units.sort_by(|&x, &y| {
            cluster.partitions[y]
                .size_bytes
                .cmp(&cluster.partitions[x].size_bytes)
                .then(x.cmp(&y))
        });
        let members = &topo.racks[r];
        for &p in units.iter() {
            let size = cluster.partitions[p].size_bytes;
            // A unit whose partition used to live on a broker of this rack goes back there
            // when that broker has quota (no data to copy).
            let home = members.iter().copied().find(|&bi| {
                quota[bi] > 0
                    && !chosen[p].contains(&bi)
                    && cluster.partitions[p].replicas.contains(&topo.ids[bi])
            });
            let pick = home.or_else(|| {
                members
                    .iter()
                    .copied()
                    .filter(|&bi| quota[bi] > 0 && !chosen[p].contains(&bi))
                    .min_by(|&x, &y| {
                        fill_key(bytes[x] + size, capacity[x])
                            .partial_cmp(&fill_key(bytes[y] + size, capacity[y]))
                            .unwrap_or(std::cmp::Ordering::Equal)
                            .then(x.cmp(&y))
                    })
            });
            if let Some(bi) = pick {
                quota[bi] -= 1;
                bytes[bi] += size;
                chosen[p].push(bi);
            }
        }
    }
    // Order: kept replicas keep their positions, new ones fill freed slots (by broker id).
    let mut out = Vec::with_capacity(np);
    for (p, set) in chosen.into_iter().enumerate() {
        out.push(order_like_current(
            &cluster.partitions[p].replicas,
            &set,
            topo,
        ));
    }
    out
}

fn fill_key(bytes: u64, capacity: Option<u64>) -> f64 {
    match capacity {
        Some(c) if c > 0 => bytes as f64 / c as f64,
        _ => bytes as f64,
    }
}

/// Orders a new replica set like the current list: a broker that stays keeps its position,
/// new brokers (ascending id) take the positions of the removed ones in order.
pub fn order_like_current(current: &[BrokerId], set: &[usize], topo: &Topology) -> Vec<usize> {
    let mut new_ones: Vec<usize> = set
        .iter()
        .copied()
        .filter(|&bi| !current.contains(&topo.ids[bi]))
        .collect();
    new_ones.sort_unstable();
    let mut new_iter = new_ones.into_iter();
    let mut out = Vec::with_capacity(set.len());
    for id in current {
        match topo.index_of(*id) {
            Some(bi) if set.contains(&bi) => out.push(bi),
            _ => {
                if let Some(n) = new_iter.next() {
                    out.push(n);
                }
            }
        }
    }
    out.extend(new_iter);
    out
}

/// Broker replica counts of a layout given as broker indices.
pub fn loads(nb: usize, replicas: &[Vec<usize>]) -> Vec<usize> {
    let mut l = vec![0usize; nb];
    for reps in replicas {
        for &b in reps {
            l[b] += 1;
        }
    }
    l
}
