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
    let mut index = SwapIndex::new(nb);
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
                    let found = index.find_swap(
                        &Ctx {
                            cluster,
                            topo,
                            replicas,
                            on_broker: &on_broker,
                            bytes: &bytes,
                            limit,
                        },
                        p,
                        b,
                        only_moved,
                    );
                    if let Some((t, q)) = found {
                        let qs = cluster.partitions[q].size_bytes;
                        swap_in(&mut replicas[p], b, t);
                        swap_in(&mut replicas[q], t, b);
                        bytes[b] = bytes[b] - size + qs;
                        bytes[t] = bytes[t] - qs + size;
                        on_broker[b].retain(|&x| x != p);
                        on_broker[t].retain(|&x| x != q);
                        on_broker[b].push(q);
                        on_broker[t].push(p);
                        index.removed(cluster, topo, b, p);
                        index.removed(cluster, topo, t, q);
                        index.pushed(cluster, topo, b, q);
                        index.pushed(cluster, topo, t, p);
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
                    index.removed(cluster, topo, b, p);
                    index.pushed(cluster, topo, t, p);
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

/// What the swap search reads.
struct Ctx<'a> {
    cluster: &'a Cluster,
    topo: &'a Topology,
    replicas: &'a [Vec<usize>],
    on_broker: &'a [Vec<usize>],
    bytes: &'a [u64],
    limit: &'a [Option<u64>],
}

/// Key of a replica in a broker's size index: (size, place in the broker's list, partition).
/// The place is a stamp that grows with every push, so ascending stamps are the order of
/// the broker's replica list and "smallest size, then first in the list" is the first key.
type Entry = (u64, u64, u32);

/// Per-broker replicas ordered by size, built on first use (only brokers in the rack of an
/// over-limit broker are ever searched), so the swap search looks at the few replicas in
/// the size window that can help instead of every replica of the rack. Two sets per broker:
/// every replica, and the replicas the plan moves onto it (pass 0 swaps only those).
struct SwapIndex {
    all: Vec<Option<std::collections::BTreeSet<Entry>>>,
    moved: Vec<Option<std::collections::BTreeSet<Entry>>>,
    /// Stamp of every (partition, broker) pushed after the start; the initial lists are in
    /// partition order, so a replica never pushed has its partition index as stamp.
    stamp: std::collections::HashMap<(u32, u32), u64>,
    next_stamp: u64,
}

impl SwapIndex {
    fn new(nb: usize) -> Self {
        SwapIndex {
            all: vec![None; nb],
            moved: vec![None; nb],
            stamp: std::collections::HashMap::new(),
            next_stamp: u64::MAX / 2,
        }
    }

    fn entry(&self, cluster: &Cluster, p: usize, t: usize) -> Entry {
        let stamp = self
            .stamp
            .get(&(p as u32, t as u32))
            .copied()
            .unwrap_or(p as u64);
        (cluster.partitions[p].size_bytes, stamp, p as u32)
    }

    fn ensure(&mut self, ctx: &Ctx<'_>, t: usize) {
        if self.all[t].is_some() {
            return;
        }
        let mut all = std::collections::BTreeSet::new();
        let mut moved = std::collections::BTreeSet::new();
        for &q in &ctx.on_broker[t] {
            let e = self.entry(ctx.cluster, q, t);
            all.insert(e);
            if !is_current(ctx.cluster, ctx.topo, q, t) {
                moved.insert(e);
            }
        }
        self.all[t] = Some(all);
        self.moved[t] = Some(moved);
    }

    fn removed(&mut self, cluster: &Cluster, topo: &Topology, t: usize, p: usize) {
        let e = self.entry(cluster, p, t);
        if let Some(set) = self.all[t].as_mut() {
            set.remove(&e);
        }
        if !is_current(cluster, topo, p, t) {
            if let Some(set) = self.moved[t].as_mut() {
                set.remove(&e);
            }
        }
    }

    fn pushed(&mut self, cluster: &Cluster, topo: &Topology, t: usize, p: usize) {
        let stamp = self.next_stamp;
        self.next_stamp += 1;
        self.stamp.insert((p as u32, t as u32), stamp);
        let e = (cluster.partitions[p].size_bytes, stamp, p as u32);
        if let Some(set) = self.all[t].as_mut() {
            set.insert(e);
        }
        if !is_current(cluster, topo, p, t) {
            if let Some(set) = self.moved[t].as_mut() {
                set.insert(e);
            }
        }
    }

    /// The swap for replica `p` on over-limit broker `b`: a smaller replica `q` on another
    /// broker `t` of the rack (not holding `p`; `q` not on `b`; with `only_moved`, one the
    /// plan moves onto `t`) where `t` has room for the exchange, freeing the most bytes on
    /// `b`; ties go to the first broker of the rack, then the first replica of its list.
    fn find_swap(
        &mut self,
        ctx: &Ctx<'_>,
        p: usize,
        b: usize,
        only_moved: bool,
    ) -> Option<(usize, usize)> {
        let size = ctx.cluster.partitions[p].size_bytes;
        let r = ctx.topo.rack[b];
        // Best so far: (size of q, t, q); a later one must be strictly smaller.
        let mut best: Option<(u64, usize, usize)> = None;
        for &t in &ctx.topo.racks[r] {
            if t == b || ctx.replicas[p].contains(&t) {
                continue;
            }
            // Sizes that fit: t keeps room after taking p and giving q.
            let low = match ctx.limit[t] {
                Some(l) => (ctx.bytes[t] + size).saturating_sub(l),
                None => 0,
            };
            let high = best.map_or(size, |(qs, _, _)| qs.min(size));
            if low >= high {
                continue;
            }
            self.ensure(ctx, t);
            let set = if only_moved {
                self.moved[t].as_ref()
            } else {
                self.all[t].as_ref()
            };
            let Some(set) = set else { continue };
            let found = set
                .range((low, 0, 0)..(high, 0, 0))
                .find(|&&(_, _, q)| !ctx.replicas[q as usize].contains(&b));
            if let Some(&(qs, _, q)) = found {
                best = Some((qs, t, q as usize));
            }
        }
        best.map(|(_, t, q)| (t, q))
    }
}

fn is_current(cluster: &Cluster, topo: &Topology, p: usize, b: usize) -> bool {
    cluster.partitions[p].replicas.contains(&topo.ids[b])
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
