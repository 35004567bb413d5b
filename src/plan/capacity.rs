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
    repair_passes(cluster, topo, limit, replicas, count_hi, false)
}

/// [`repair`] with a pass of move-neutral exchanges before any that adds moves (the
/// capacity stage's repair): a broker over its limit keeps a replica the plan moves off it
/// and sheds a larger one it keeps instead (to the same receiver), and replicas the plan
/// moves onto it trade receivers with smaller ones moved onto brokers of other racks. Both
/// keep every broker's count and the move count (or lower it), so the band and the flow's
/// optimum survive where the plain repair's swaps and relocations would add moves.
pub fn repair_with_exchanges(
    cluster: &Cluster,
    topo: &Topology,
    limit: &[Option<u64>],
    replicas: &mut [Vec<usize>],
    count_hi: &[usize],
) -> Repair {
    repair_passes(cluster, topo, limit, replicas, count_hi, true)
}

fn repair_passes(
    cluster: &Cluster,
    topo: &Topology,
    limit: &[Option<u64>],
    replicas: &mut [Vec<usize>],
    count_hi: &[usize],
    exchanges: bool,
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
    for step in 0..4 {
        // Step 1 is the move-neutral exchanges; the others are the plain repair's passes.
        let pass = match step {
            0 => 0,
            1 if exchanges => {
                if (0..nb).any(|b| over(&bytes, b)) {
                    // Built once per repair and kept in step by each exchange (rebuilding
                    // them per exchange cost minutes at 5 M partitions).
                    let mut current_on = vec![Vec::new(); nb];
                    for (p, part) in cluster.partitions.iter().enumerate() {
                        for id in &part.replicas {
                            if let Ok(b) = topo.ids.binary_search(id) {
                                current_on[b].push(p);
                            }
                        }
                    }
                    let mut moved_in = vec![Vec::new(); nb];
                    for (t, list) in moved_in.iter_mut().enumerate() {
                        *list = moved_in_by_size(cluster, topo, &on_broker[t], t);
                    }
                    let mut x = Exchange {
                        cluster,
                        topo,
                        limit,
                        replicas,
                        on_broker: &mut on_broker,
                        bytes: &mut bytes,
                        index: &mut index,
                        current_on: &current_on,
                        moved_in: &mut moved_in,
                    };
                    for b in 0..nb {
                        if x.over(b) {
                            rep.swaps += exchange(&mut x, b);
                        }
                    }
                }
                continue;
            }
            1 => continue,
            s => s - 1,
        };
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

/// What the move-neutral exchanges read and change.
struct Exchange<'a> {
    cluster: &'a Cluster,
    topo: &'a Topology,
    limit: &'a [Option<u64>],
    replicas: &'a mut [Vec<usize>],
    on_broker: &'a mut Vec<Vec<usize>>,
    bytes: &'a mut Vec<u64>,
    index: &'a mut SwapIndex,
    /// Per broker, ascending: the partitions that have a replica on it now (before the plan).
    current_on: &'a [Vec<usize>],
    /// Per broker: the replicas the plan moves onto it, as (size, partition) ascending.
    moved_in: &'a mut Vec<Vec<(u64, usize)>>,
}

impl Exchange<'_> {
    fn over(&self, b: usize) -> bool {
        self.limit[b].is_some_and(|l| self.bytes[b] > l)
    }

    /// `t` keeps its limit when it gains `gain` bytes and loses `loss`.
    fn fits(&self, t: usize, gain: u64, loss: u64) -> bool {
        self.limit[t].is_none_or(|l| self.bytes[t] + gain <= l + loss)
    }

    /// `reps` with the replica on `from` moved to `to` keeps the rack rule.
    fn rack_ok(&self, reps: &[usize], from: usize, to: usize) -> bool {
        if self.topo.rack[from] == self.topo.rack[to] {
            return true;
        }
        let cap = self.topo.rack_cap(reps.len());
        reps.iter()
            .filter(|&&x| x != from && self.topo.rack[x] == self.topo.rack[to])
            .count()
            < cap
    }

    fn current(&self, p: usize, b: usize) -> bool {
        is_current(self.cluster, self.topo, p, b)
    }

    fn size(&self, p: usize) -> u64 {
        self.cluster.partitions[p].size_bytes
    }

    /// Replica of `p` on `from` goes to `to` (bytes, lists and index kept in step).
    fn shift(&mut self, p: usize, from: usize, to: usize) {
        let size = self.size(p);
        swap_in(&mut self.replicas[p], from, to);
        self.bytes[from] -= size;
        self.bytes[to] += size;
        self.on_broker[from].retain(|&x| x != p);
        self.on_broker[to].push(p);
        self.index.removed(self.cluster, self.topo, from, p);
        self.index.pushed(self.cluster, self.topo, to, p);
    }
}

/// Move-neutral exchanges for over-limit broker `b`, largest replica first, until it is
/// under its limit or nothing helps; returns how many were made.
///
/// - `b` keeps a replica `p` (current there) while the plan moves `q` off it to `t`: `q`
///   stays on `b` and `p` goes to `t` instead (one move for one; none when `t` had `p`).
/// - The plan moves `p` onto `b` and `q` onto `t` in another rack: they trade receivers
///   (the same-rack case is the plain repair's first pass).
///
/// Each frees `size(p) − size(q)` on `b` and needs that much room on `t`; the rack rule is
/// checked for both partitions. The most bytes freed wins; ties go to the lowest `t`, `q`.
fn exchange(x: &mut Exchange<'_>, b: usize) -> usize {
    let mut made = 0;
    let mut cands = x.on_broker[b].clone();
    cands.sort_by(|&p, &q| x.size(q).cmp(&x.size(p)).then(p.cmp(&q)));
    // Replicas the plan takes off `b`: current there, not in the new set.
    let mut shed: Vec<usize> = x.current_on[b]
        .iter()
        .copied()
        .filter(|&q| !x.replicas[q].contains(&b))
        .collect();
    for p in cands {
        if !x.over(b) {
            break;
        }
        if !x.replicas[p].contains(&b) {
            continue;
        }
        let size = x.size(p);
        // (freed bytes, t, q, restore): the best exchange for p.
        let mut best: Option<(u64, usize, usize, bool)> = None;
        let mut consider = |x: &Exchange<'_>, t: usize, q: usize, restore: bool| {
            let qs = x.size(q);
            if qs >= size || !x.fits(t, size, qs) {
                return;
            }
            let freed = size - qs;
            let better = match best {
                None => true,
                Some((f, bt, bq, _)) => freed > f || (freed == f && (t, q) < (bt, bq)),
            };
            if better {
                best = Some((freed, t, q, restore));
            }
        };
        if x.current(p, b) {
            for &q in &shed {
                for &t in &x.replicas[q] {
                    if x.current(q, t)
                        || x.replicas[p].contains(&t)
                        || !x.rack_ok(&x.replicas[p], b, t)
                        || !x.rack_ok(&x.replicas[q], t, b)
                    {
                        continue;
                    }
                    consider(x, t, q, true);
                }
            }
        } else {
            for t in 0..x.topo.ids.len() {
                if t == b
                    || x.topo.rack[t] == x.topo.rack[b]
                    || !x.topo.allowed[t]
                    || x.replicas[p].contains(&t)
                    || !x.rack_ok(&x.replicas[p], b, t)
                {
                    continue;
                }
                // The smallest moved-in q that leaves t room is the one freeing the most.
                let low = x.limit[t].map_or(0, |l| (x.bytes[t] + size).saturating_sub(l));
                let list = &x.moved_in[t];
                let start = list.partition_point(|&(qs, _)| qs < low);
                let found =
                    list[start..]
                        .iter()
                        .take_while(|&&(qs, _)| qs < size)
                        .find(|&&(_, q)| {
                            !x.replicas[q].contains(&b) && x.rack_ok(&x.replicas[q], t, b)
                        });
                if let Some(&(_, q)) = found {
                    consider(x, t, q, false);
                }
            }
        }
        if let Some((_, t, q, restore)) = best {
            x.shift(p, b, t);
            x.shift(q, t, b);
            if restore {
                shed.retain(|&s| s != q);
                shed.push(p);
            }
            // Only the two brokers' lists changed.
            for u in [b, t] {
                let list = moved_in_by_size(x.cluster, x.topo, &x.on_broker[u], u);
                x.moved_in[u] = list;
            }
            made += 1;
        }
    }
    made
}

/// The replicas the plan moves onto broker `t` (of those on it, `on_t`), as (size,
/// partition) ascending.
fn moved_in_by_size(
    cluster: &Cluster,
    topo: &Topology,
    on_t: &[usize],
    t: usize,
) -> Vec<(u64, usize)> {
    let mut list: Vec<(u64, usize)> = on_t
        .iter()
        .filter(|&&q| !is_current(cluster, topo, q, t))
        .map(|&q| (cluster.partitions[q].size_bytes, q))
        .collect();
    list.sort_unstable();
    list
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
