//! Preferred-leader choice with replica sets fixed: a bipartite min-cost flow. Each
//! partition sends one unit to one of its replicas (cost 0 for its current preferred
//! leader, 1 otherwise); broker leader counts are held in a band through three sink tiers
//! (−M / 0 / +M), exactly as the replica stage does. The optimum is the fewest leader
//! changes that reach the tightest band.

// Index loops over parallel arrays are the clearest form for graph code.
#![allow(clippy::needless_range_loop)]

use super::mcf::{FlowBuilder, FlowError, Node};
use super::replicas::{Bands, Topology};
use crate::model::Cluster;

/// The leader choice: for each partition, the position (in its new replica list) of the
/// chosen leader, plus solver facts.
#[derive(Debug, Clone)]
pub struct LeaderSolution {
    pub leader_pos: Vec<usize>,
    pub changes: usize,
    pub band_violation: usize,
    pub certified: bool,
    pub phases: usize,
}

pub fn uniform_leader_bands(partitions: usize, topo: &Topology) -> Bands {
    let n = topo.allowed_count().max(1);
    let (lo, hi) = (partitions / n, partitions.div_ceil(n));
    Bands {
        lo: topo
            .allowed
            .iter()
            .map(|a| if *a { lo } else { 0 })
            .collect(),
        hi: topo
            .allowed
            .iter()
            .map(|a| if *a { hi } else { 0 })
            .collect(),
    }
}

/// Chooses leaders among `replicas` (broker indices per partition).
pub fn solve_leaders(
    cluster: &Cluster,
    topo: &Topology,
    replicas: &[Vec<usize>],
    bands: &Bands,
) -> Result<LeaderSolution, FlowError> {
    let nb = topo.ids.len();
    let np = replicas.len();
    let big_m: i64 = (np as i64 + 1) * 2;
    let unbounded = i32::try_from(np + 1).unwrap_or(i32::MAX);
    let mut b = FlowBuilder::with_capacity(np * 4 + nb * 3);
    let sink = b.add_node();
    let broker_node: Vec<Node> = (0..nb).map(|_| b.add_node()).collect();
    let mut tiers = vec![None; nb];
    for bi in 0..nb {
        if !topo.allowed[bi] {
            continue;
        }
        let lo = bands.lo[bi] as i32;
        let hi = bands.hi[bi].max(bands.lo[bi]) as i32;
        let t0 = b.add_arc(broker_node[bi], sink, lo, -big_m, 0);
        b.add_arc(broker_node[bi], sink, hi - lo, 0, 0);
        let t2 = b.add_arc(broker_node[bi], sink, unbounded, big_m, 0);
        tiers[bi] = Some((t0, t2));
    }
    b.add_supply(sink, -(np as i64));
    let mut arc_of: Vec<(usize, usize)> = Vec::with_capacity(np + 1);
    let mut arc_ids: Vec<usize> = Vec::new();
    for (p, reps) in replicas.iter().enumerate() {
        let pn = b.add_node();
        b.add_supply(pn, 1);
        let current = cluster.partitions[p]
            .replicas
            .first()
            .and_then(|id| topo.index_of(*id));
        arc_of.push((arc_ids.len(), reps.len()));
        for &bi in reps {
            let cost = if Some(bi) == current { 0 } else { 1 };
            arc_ids.push(b.add_arc(pn, broker_node[bi], 1, cost, 0));
        }
    }
    let mut net = b.build();
    net.set_potential(sink, -big_m);
    net.solve()?;
    let certified = net.certify().is_ok();
    net.report_counters("leader-flow");
    let mut leader_pos = Vec::with_capacity(np);
    let mut changes = 0;
    for (p, &(start, len)) in arc_of.iter().enumerate() {
        let pos = (0..len)
            .find(|&k| net.flow(arc_ids[start + k]) > 0)
            .unwrap_or(0);
        let chosen = replicas[p].get(pos).map(|&bi| topo.ids[bi]);
        if chosen != cluster.partitions[p].replicas.first().copied() {
            changes += 1;
        }
        leader_pos.push(pos);
    }
    let mut band_violation = 0;
    for bi in 0..nb {
        if let Some((t0, t2)) = tiers[bi] {
            band_violation += (bands.lo[bi] - net.flow(t0) as usize) + net.flow(t2) as usize;
        }
    }
    Ok(LeaderSolution {
        leader_pos,
        changes,
        band_violation,
        certified,
        phases: net.phases,
    })
}
