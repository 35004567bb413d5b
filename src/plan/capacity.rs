//! Disk capacity: a hard rule that the exact count flow does not see (capacity rows are
//! knapsack rows and break total unimodularity). After the flow, a deterministic repair
//! moves replicas off brokers above `capacity × max_disk_util`: first by redirecting
//! replicas the plan already moves (no extra move), then by swapping replicas between
//! brokers of one rack (counts unchanged), and only then by extra moves.

use super::replicas::Topology;
use crate::model::Cluster;

/// Per-broker byte limit (`None` = unknown capacity: unchecked).
pub fn limits(cluster: &Cluster, max_util: f64) -> Vec<Option<u64>> {
    cluster
        .brokers
        .iter()
        .map(|b| {
            b.capacity_bytes
                .map(|c| (c as f64 * max_util).floor() as u64)
        })
        .collect()
}

pub fn bytes_per_broker(cluster: &Cluster, nb: usize, replicas: &[Vec<usize>]) -> Vec<u64> {
    let mut bytes = vec![0u64; nb];
    for (p, reps) in replicas.iter().enumerate() {
        for &b in reps {
            bytes[b] += cluster.partitions[p].size_bytes;
        }
    }
    bytes
}

/// Outcome of the repair: extra moves it had to make (beyond the flow's).
#[derive(Debug, Clone, Default)]
pub struct Repair {
    pub redirected: usize,
    pub swaps: usize,
    pub extra_moves: usize,
}

/// Repairs capacity violations in place. Returns what it did; brokers still above their
/// limit afterwards are left for the caller to report.
pub fn repair(
    cluster: &Cluster,
    topo: &Topology,
    limit: &[Option<u64>],
    replicas: &mut [Vec<usize>],
    count_hi: &[usize],
) -> Repair {
    let nb = topo.ids.len();
    let mut rep = Repair::default();
    let mut bytes = bytes_per_broker(cluster, nb, replicas);
    let mut count = vec![0usize; nb];
    for reps in replicas.iter() {
        for &b in reps {
            count[b] += 1;
        }
    }
    let over = |bytes: &[u64], b: usize| limit[b].is_some_and(|l| bytes[b] > l);
    let fits = |bytes: &[u64], b: usize, add: u64| limit[b].is_none_or(|l| bytes[b] + add <= l);
    // Replicas on each broker: (partition, position).
    let mut on_broker: Vec<Vec<usize>> = vec![Vec::new(); nb];
    for (p, reps) in replicas.iter().enumerate() {
        for &b in reps {
            on_broker[b].push(p);
        }
    }
    let is_current = |p: usize, b: usize| cluster.partitions[p].replicas.contains(&topo.ids[b]);
    let rack_ok = |reps: &[usize], from: usize, to: usize| -> bool {
        if topo.rack[from] == topo.rack[to] {
            return true;
        }
        let cap = topo.rack_cap(reps.len());
        let in_rack = reps
            .iter()
            .filter(|&&x| x != from && topo.rack[x] == topo.rack[to])
            .count();
        in_rack < cap
    };
    for pass in 0..3 {
        for b in 0..nb {
            if !over(&bytes, b) {
                continue;
            }
            // Largest first: fewest changes to get under the limit.
            let mut cands = on_broker[b].clone();
            cands.sort_by(|&x, &y| {
                cluster.partitions[y]
                    .size_bytes
                    .cmp(&cluster.partitions[x].size_bytes)
                    .then(x.cmp(&y))
            });
            for p in cands {
                if !over(&bytes, b) {
                    break;
                }
                let size = cluster.partitions[p].size_bytes;
                let moved_in = !is_current(p, b);
                // Pass 0: swap a replica the plan moves onto `b` with a smaller one it moves
                // onto another broker of the rack (no extra move, counts unchanged).
                // Pass 1: swap with any smaller replica in the rack (counts unchanged).
                // Pass 2: any rack-safe target with room, even outside the count band: the
                // capacity rule is hard, the band is not.
                if pass == 0 && !moved_in {
                    continue;
                }
                if pass < 2 {
                    let only_moved = pass == 0;
                    if let Some((t, q)) = find_swap(
                        cluster, topo, replicas, &on_broker, &bytes, limit, p, b, only_moved,
                    ) {
                        let qs = cluster.partitions[q].size_bytes;
                        swap_in(&mut replicas[p], b, t);
                        swap_in(&mut replicas[q], t, b);
                        bytes[b] = bytes[b] - size + qs;
                        bytes[t] = bytes[t] - qs + size;
                        on_broker[b].retain(|&x| x != p);
                        on_broker[t].retain(|&x| x != q);
                        on_broker[b].push(q);
                        on_broker[t].push(p);
                        rep.swaps += 1;
                        if !only_moved {
                            rep.extra_moves +=
                                usize::from(!moved_in) + usize::from(is_current(q, t));
                        }
                    }
                    continue;
                }
                let target = (0..nb)
                    .filter(|&t| {
                        t != b
                            && topo.allowed[t]
                            && !replicas[p].contains(&t)
                            && fits(&bytes, t, size)
                            && (pass == 2 || count[t] < count_hi[t])
                            && rack_ok(&replicas[p], b, t)
                    })
                    .min_by(|&x, &y| {
                        let back = |t: usize| !is_current(p, t);
                        let fx = fill(bytes[x] + size, limit[x]);
                        let fy = fill(bytes[y] + size, limit[y]);
                        back(x)
                            .cmp(&back(y))
                            .then(fx.partial_cmp(&fy).unwrap_or(std::cmp::Ordering::Equal))
                            .then(x.cmp(&y))
                    });
                if let Some(t) = target {
                    swap_in(&mut replicas[p], b, t);
                    bytes[b] -= size;
                    bytes[t] += size;
                    count[b] -= 1;
                    count[t] += 1;
                    on_broker[b].retain(|&x| x != p);
                    on_broker[t].push(p);
                    rep.redirected += 1;
                    if !moved_in {
                        rep.extra_moves += 1;
                    }
                }
            }
        }
    }
    rep
}

#[allow(clippy::too_many_arguments)]
fn find_swap(
    cluster: &Cluster,
    topo: &Topology,
    replicas: &[Vec<usize>],
    on_broker: &[Vec<usize>],
    bytes: &[u64],
    limit: &[Option<u64>],
    p: usize,
    b: usize,
    only_moved: bool,
) -> Option<(usize, usize)> {
    let size = cluster.partitions[p].size_bytes;
    let r = topo.rack[b];
    let mut best: Option<(u64, usize, usize)> = None;
    for &t in &topo.racks[r] {
        if t == b || replicas[p].contains(&t) {
            continue;
        }
        for &q in &on_broker[t] {
            let qs = cluster.partitions[q].size_bytes;
            if qs >= size || replicas[q].contains(&b) {
                continue;
            }
            if only_moved && cluster.partitions[q].replicas.contains(&topo.ids[t]) {
                continue;
            }
            let room_t = limit[t].is_none_or(|l| bytes[t] - qs + size <= l);
            if !room_t {
                continue;
            }
            let gain = size - qs;
            if best.is_none_or(|(g, _, _)| gain > g) {
                best = Some((gain, t, q));
            }
        }
    }
    best.map(|(_, t, q)| (t, q))
}

fn swap_in(reps: &mut [usize], from: usize, to: usize) {
    for x in reps.iter_mut() {
        if *x == from {
            *x = to;
        }
    }
}

fn fill(bytes: u64, limit: Option<u64>) -> f64 {
    match limit {
        Some(l) if l > 0 => bytes as f64 / l as f64,
        _ => 0.0,
    }
}
