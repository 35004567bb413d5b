//! Bounds for `--balance load`: what any plan must change to bring every allowed broker within
//! the tolerance of the mean (and under its network limit), and the best max/mean any layout
//! can reach. Simple and honest, computed on the current layout:
//!
//! * leader changes ≥ Σ over allowed brokers of the fewest partitions it leads (hottest
//!   first) whose leader traffic covers its excess network out and, separately, its excess
//!   leader bytes-in (the larger of the two), plus the partitions led from excluded brokers.
//!   Only a partition leaving a broker's leadership lowers those two figures, and such a
//!   partition changes its preferred leader (by reordering or by moving the leader replica);
//! * replica moves ≥ Σ over allowed brokers of the fewest replicas it holds (hottest first)
//!   whose produce rate covers its excess network in, plus the replicas on excluded brokers
//!   (and at least the moves the hard rules force). Network in depends only on which replicas
//!   a broker holds, so only replicas leaving it lower it.
//! * the floor: a broker holding the hottest partition's replica receives its produce rate,
//!   and the broker leading it sends its leader traffic, so max/mean can go no lower than
//!   those over the mean.

use crate::model::Cluster;
use crate::plan::replicas::Topology;

use super::{fewest_to_cover, leader_out, rates, LoadBalanceFacts, LoadConfig, Ratios};

/// Bounds and floor on the current layout; `forced_moves` is what the hard rules force.
pub fn load_bounds(
    cluster: &Cluster,
    topo: &Topology,
    config: &LoadConfig,
    forced_moves: usize,
) -> LoadBalanceFacts {
    let nb = topo.ids.len();
    let sets = topo.current_sets(cluster);
    let mut held: Vec<Vec<u64>> = vec![Vec::new(); nb];
    let mut led_out: Vec<Vec<u64>> = vec![Vec::new(); nb];
    let mut led_in: Vec<Vec<u64>> = vec![Vec::new(); nb];
    let mut total = [0f64; 3];
    let (mut hottest_in, mut hottest_out) = (None::<(u64, usize)>, None::<(u64, usize)>);
    let mut off_excluded_leaders = 0;
    let mut off_excluded_replicas = 0;
    for (p, (part, set)) in cluster.partitions.iter().zip(&sets).enumerate() {
        let (bytes_in, _) = rates(part);
        let out = leader_out(part, part.replicas.len());
        total[0] += bytes_in as f64 * part.replicas.len() as f64;
        total[1] += out as f64;
        total[2] += bytes_in as f64;
        if hottest_in.is_none_or(|(v, _)| bytes_in > v) {
            hottest_in = Some((bytes_in, p));
        }
        if hottest_out.is_none_or(|(v, _)| out > v) {
            hottest_out = Some((out, p));
        }
        // Replicas on brokers the plan may not use (or unknown ones) must all go.
        off_excluded_replicas +=
            part.replicas.len() - set.iter().filter(|&&b| topo.allowed[b]).count();
        let leader = part.replicas.first().and_then(|id| topo.index_of(*id));
        match leader {
            Some(l) if topo.allowed[l] => {
                led_out[l].push(out);
                led_in[l].push(bytes_in);
            }
            _ => off_excluded_leaders += 1,
        }
        for &b in set {
            if topo.allowed[b] {
                held[b].push(bytes_in);
            }
        }
    }
    let n = topo.allowed_count().max(1) as f64;
    let mean = total.map(|t| t / n);
    let goal = mean.map(|m| (m * (1.0 + config.tolerance)).floor() as u64);
    let rack_forced = super::balance::rack_forced_in(cluster, topo, config.tolerance);
    // The highest level the rack rule forces on a rack's brokers (without the tolerance).
    let rack_level = rack_forced
        .iter()
        .enumerate()
        .max_by_key(|(_, v)| **v)
        .map(|(r, v)| (r, *v as f64 / (1.0 + config.tolerance)));
    let mut leader_changes = off_excluded_leaders;
    let mut moves = off_excluded_replicas;
    for b in 0..nb {
        if !topo.allowed[b] {
            continue;
        }
        let (in_limit, out_limit) = config.limits(topo.ids[b]);
        let goal_in = goal[0].max(rack_forced.get(topo.rack[b]).copied().unwrap_or(0) as u64);
        let t_in = in_limit.map_or(goal_in, |l| l.min(goal_in));
        let t_out = out_limit.map_or(goal[1], |l| l.min(goal[1]));
        let sum = |v: &[u64]| v.iter().fold(0u64, |a, x| a.saturating_add(*x));
        let excess = |have: u64, target: u64| have.saturating_sub(target);
        let k_out = fewest_to_cover(led_out[b].clone(), excess(sum(&led_out[b]), t_out))
            .unwrap_or(led_out[b].len());
        let k_in = fewest_to_cover(led_in[b].clone(), excess(sum(&led_in[b]), goal[2]))
            .unwrap_or(led_in[b].len());
        leader_changes += k_out.max(k_in);
        moves +=
            fewest_to_cover(held[b].clone(), excess(sum(&held[b]), t_in)).unwrap_or(held[b].len());
    }
    let ratio = |v: Option<(u64, usize)>, m: f64| {
        v.and_then(|(x, _)| (m > 0.0).then(|| (x as f64 / m).max(1.0)))
    };
    let rack_ratio = rack_level.and_then(|(_, l)| (mean[0] > 0.0).then(|| l / mean[0]));
    let floor = Ratios {
        net_in: match (ratio(hottest_in, mean[0]), rack_ratio) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        },
        net_out: ratio(hottest_out, mean[1]),
        leader_in: ratio(hottest_in, mean[2]),
    };
    let mut explanations = Vec::new();
    let limit = 1.0 + config.tolerance;
    let name = |v: Option<(u64, usize)>| {
        v.map(|(_, p)| cluster.partitions[p].tp.to_string())
            .unwrap_or_default()
    };
    if let (Some((r, _)), Some(x)) = (rack_level, rack_ratio.filter(|x| *x > limit + 1e-9)) {
        explanations.push(format!(
            "network in: the rack rule makes rack {} take a replica of (nearly) every partition, {x:.2} × the mean broker's network in on each of its brokers; balanced is then within {:.0} % of that level",
            topo.rack_names.get(r).cloned().unwrap_or_default(),
            config.tolerance * 100.0
        ));
    }
    for (what, f, who) in [
        ("network in", ratio(hottest_in, mean[0]), hottest_in),
        ("network out", floor.net_out, hottest_out),
        ("leader bytes-in", floor.leader_in, hottest_in),
    ] {
        if let Some(f) = f.filter(|f| *f > limit + 1e-9) {
            explanations.push(format!(
                "{what}: partition {} alone is {f:.2} × the mean broker's, so no layout brings max/mean within {:.0} % of the mean",
                name(who),
                config.tolerance * 100.0
            ));
        }
    }
    LoadBalanceFacts {
        tolerance: config.tolerance,
        max_util: config.max_util,
        target_reached: false,
        leadership_only: false,
        leadership_steps: 0,
        replica_steps: 0,
        leader_changes_bound: leader_changes,
        moves_bound: moves.max(forced_moves),
        floor,
        explanations,
    }
}
