//! Simple lower bounds on replica moves, defined exactly as the bench scorer's
//! (`../shared/bench/score.py`, `lower_bounds`), so figures printed by `plan` and `score`
//! match the published tables.

use std::collections::{BTreeMap, BTreeSet};

use super::replicas::Topology;
use crate::model::{BrokerId, Cluster, Layout};

/// The count band and the move bounds of one layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveBounds {
    /// `[floor(avg), ceil(avg)]` replicas per allowed broker; `None` without allowed brokers.
    pub band: Option<(usize, usize)>,
    /// Replicas above `ceil(avg)` on allowed brokers plus every replica on an excluded broker.
    pub excess: Option<usize>,
    /// Replicas missing below `floor(avg)` on allowed brokers.
    pub deficit: Option<usize>,
    /// `max(excess, deficit)`: "LB".
    pub lower_bound_moves: Option<usize>,
    /// Replicas that must move whatever the balance: those on excluded brokers plus, per
    /// partition, replicas above the rack cap `ceil(RF / racks)` among the rest.
    pub forced_moves: usize,
    /// `max(LB, forced)`: "LB*".
    pub combined: usize,
}

/// Number of racks among the allowed brokers (a broker without a rack is a rack of its own).
pub fn allowed_rack_count(cluster: &Cluster, excluded: &BTreeSet<BrokerId>) -> usize {
    cluster
        .brokers
        .iter()
        .filter(|b| !excluded.contains(&b.id))
        .map(Cluster::rack_key)
        .collect::<BTreeSet<_>>()
        .len()
}

/// The bounds of `layout` (usually the current one) for the given exclusions.
pub fn move_bounds(
    cluster: &Cluster,
    layout: &Layout,
    excluded: &BTreeSet<BrokerId>,
) -> MoveBounds {
    let rack_of: BTreeMap<BrokerId, String> = cluster
        .brokers
        .iter()
        .map(|b| (b.id, Cluster::rack_key(b)))
        .collect();
    let racks = allowed_rack_count(cluster, excluded);
    // Brokers by position in id order, their rack as a number and whether excluded: one
    // array access per replica instead of map lookups and string comparisons.
    let ids: Vec<BrokerId> = rack_of.keys().copied().collect();
    let rack_numbers: BTreeMap<&str, usize> = rack_of
        .values()
        .map(String::as_str)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .enumerate()
        .map(|(n, r)| (r, n))
        .collect();
    let rack_num: Vec<usize> = rack_of.values().map(|r| rack_numbers[r.as_str()]).collect();
    let is_excluded: Vec<bool> = ids.iter().map(|b| excluded.contains(b)).collect();
    let mut known_count = vec![0usize; ids.len()];
    // Ids in the layout that are not in the cluster (rare: only hand-made layouts).
    let mut unknown_count: BTreeMap<BrokerId, usize> = BTreeMap::new();
    let mut forced = 0usize;
    let mut partition_racks: Vec<usize> = Vec::new();
    for reps in &layout.replicas {
        partition_racks.clear();
        for b in reps {
            match ids.binary_search(b) {
                Ok(k) => {
                    known_count[k] += 1;
                    if is_excluded[k] {
                        forced += 1;
                    } else {
                        partition_racks.push(rack_num[k]);
                    }
                }
                Err(_) => {
                    *unknown_count.entry(*b).or_insert(0) += 1;
                    if excluded.contains(b) {
                        forced += 1;
                    }
                }
            }
        }
        if !reps.is_empty() && racks > 0 {
            let cap = reps.len().div_ceil(racks);
            partition_racks.sort_unstable();
            forced += partition_racks
                .chunk_by(|a, b| a == b)
                .map(|run| run.len().saturating_sub(cap))
                .sum::<usize>();
        }
    }
    let count = |b: &BrokerId| -> usize {
        match ids.binary_search(b) {
            Ok(k) => known_count[k],
            Err(_) => unknown_count.get(b).copied().unwrap_or(0),
        }
    };
    let allowed: Vec<BrokerId> = cluster
        .brokers
        .iter()
        .map(|b| b.id)
        .filter(|b| !excluded.contains(b))
        .collect();
    if allowed.is_empty() {
        return MoveBounds {
            band: None,
            excess: None,
            deficit: None,
            lower_bound_moves: None,
            forced_moves: forced,
            combined: forced,
        };
    }
    let total: usize = known_count.iter().sum::<usize>() + unknown_count.values().sum::<usize>();
    let n = allowed.len();
    let (lo, hi) = (total / n, total.div_ceil(n));
    let get = count;
    let excess = allowed
        .iter()
        .map(|b| get(b).saturating_sub(hi))
        .sum::<usize>()
        + excluded.iter().map(get).sum::<usize>();
    let deficit = allowed
        .iter()
        .map(|b| lo.saturating_sub(get(b)))
        .sum::<usize>();
    let lb = excess.max(deficit);
    MoveBounds {
        band: Some((lo, hi)),
        excess: Some(excess),
        deficit: Some(deficit),
        lower_bound_moves: Some(lb),
        forced_moves: forced,
        combined: lb.max(forced),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Broker, Partition, TopicPartition};

    fn cluster(racks: &[&str], parts: Vec<Vec<BrokerId>>) -> Cluster {
        let brokers = racks
            .iter()
            .enumerate()
            .map(|(i, r)| Broker {
                id: i as BrokerId + 1,
                rack: Some(r.to_string()),
                capacity_bytes: None,
                log_dirs: Vec::new(),
            })
            .collect();
        let partitions = parts
            .into_iter()
            .enumerate()
            .map(|(i, reps)| Partition {
                tp: TopicPartition::new("t", i as i32),
                replicas: reps,
                size_bytes: 1,
                leader: None,
                isr: None,
                in_flight: None,
                log_dirs: Vec::new(),
                rates: None,
            })
            .collect();
        Cluster::new(brokers, partitions)
    }

    #[test]
    fn deficit_side_can_dominate() {
        // counts 10,10,10,4 over 4 brokers: band [8,9]; excess 3, deficit 4.
        let mut parts = Vec::new();
        for _ in 0..4 {
            parts.push(vec![1, 2, 3, 4]);
        }
        for _ in 0..6 {
            parts.push(vec![1, 2, 3]);
        }
        let c = cluster(&["a", "b", "c", "d"], parts);
        let b = move_bounds(&c, &c.current_layout(), &BTreeSet::new());
        assert_eq!(b.band, Some((8, 9)));
        assert_eq!(b.excess, Some(3));
        assert_eq!(b.deficit, Some(4));
        assert_eq!(b.lower_bound_moves, Some(4));
    }

    #[test]
    fn excluded_and_rack_forced() {
        // racks a,a,b; exclude broker 3 -> 1 allowed rack, cap = RF.
        let c = cluster(&["a", "a", "b"], vec![vec![1, 3], vec![1, 2]]);
        let ex: BTreeSet<BrokerId> = [3].into();
        let b = move_bounds(&c, &c.current_layout(), &ex);
        assert_eq!(b.forced_moves, 1);
        // with broker 3 allowed: racks a,b, cap 1, partition 1 has two replicas in rack a.
        let b = move_bounds(&c, &c.current_layout(), &BTreeSet::new());
        assert_eq!(b.forced_moves, 1);
        assert_eq!(b.combined, 1);
    }
}

/// A lower bound on the bytes any plan must copy to reach what this plan reached, and the
/// basis it holds on.
#[derive(Debug, Clone, PartialEq)]
pub struct BytesBound {
    pub bytes: u64,
    /// What every plan the bound covers has in common, in words.
    pub basis: String,
}

/// Bytes that must move whatever the balance: every replica on an excluded broker, and per
/// partition the replicas above the rack cap in a crowded rack (the smallest of them).
fn forced_bytes(cluster: &Cluster, topo: &Topology) -> u64 {
    let mut forced = 0u64;
    for p in &cluster.partitions {
        let cap = topo.rack_cap(p.replicas.len());
        let mut per_rack = vec![0usize; topo.racks.len()];
        for id in &p.replicas {
            match topo.index_of(*id) {
                Some(b) if topo.allowed[b] => per_rack[topo.rack[b]] += 1,
                _ => forced += p.size_bytes,
            }
        }
        let crowded: usize = per_rack.iter().map(|c| c.saturating_sub(cap)).sum();
        forced += crowded as u64 * p.size_bytes;
    }
    forced
}

/// Bytes any layout with every allowed broker inside `[lo, hi]` replicas must copy: each
/// broker above `hi` sheds at least its smallest surplus replicas, each one below `lo`
/// receives at least the smallest partitions it does not hold (moves out of different
/// brokers, resp. into different brokers, are different copies), and the forced moves.
pub fn bytes_bound_for_band(cluster: &Cluster, topo: &Topology, lo: &[usize], hi: &[usize]) -> u64 {
    let nb = topo.ids.len();
    let mut on: Vec<Vec<u64>> = vec![Vec::new(); nb];
    for p in &cluster.partitions {
        for id in &p.replicas {
            if let Some(b) = topo.index_of(*id) {
                on[b].push(p.size_bytes);
            }
        }
    }
    // Sorted as (size, index) pairs: the keys are distinct, so the unstable sort gives the
    // stable one's order without its scratch buffer, and the sort reads no partition.
    let mut keyed: Vec<(u64, usize)> = cluster
        .partitions
        .iter()
        .enumerate()
        .map(|(i, p)| (p.size_bytes, i))
        .collect();
    keyed.sort_unstable();
    let by_size: Vec<usize> = keyed.into_iter().map(|(_, i)| i).collect();
    let mut out = 0u64;
    let mut inn = 0u64;
    for b in 0..nb {
        let count = on[b].len();
        let upper = if topo.allowed[b] { hi[b] } else { 0 };
        if count > upper {
            on[b].sort_unstable();
            out += on[b][..count - upper].iter().sum::<u64>();
        }
        if topo.allowed[b] && lo[b] > count {
            let id = topo.ids[b];
            inn += by_size
                .iter()
                .filter(|&&p| !cluster.partitions[p].replicas.contains(&id))
                .take(lo[b] - count)
                .map(|&p| cluster.partitions[p].size_bytes)
                .sum::<u64>();
        }
    }
    out.max(inn).max(forced_bytes(cluster, topo))
}

/// Bytes any rack-safe plan that leaves no allowed broker above `ceiling[b]` bytes must
/// copy, the largest of three bounds. A partition of `s` bytes can only end on the allowed
/// brokers whose ceiling is at least `s` (its eligible brokers); for a partition no larger
/// than the smallest ceiling that is every allowed broker. A partition with as many
/// eligible brokers as replicas, at most the rack cap in each rack, is pinned: it must end
/// on exactly those, so the room it takes there is gone for every other partition, which is
/// eligible for a broker only where its ceiling less the pinned bytes is at least its size
/// (a broker whose ceiling is one giant partition must give up everything else).
/// - what leaves the brokers. Bytes copied = bytes that leave their broker (every replica
///   that leaves a broker lands on one that did not hold it). An excluded broker sheds
///   everything, and a broker sheds every replica it is not eligible for. Per rack `r`: a
///   broker ends at `load + arrive - leave <= ceiling`, and the rack rule forces arrivals
///   `A_r` into `r` (per partition, the replicas `r` must hold because the other racks'
///   eligible slots `min(eligible brokers, ceil(RF / racks))` cannot take them, less the
///   eligible brokers of `r` that hold it). Those arrivals land somewhere in `r`: what fits
///   under the ceilings (the rack's room) costs nothing there, the rest must be matched by
///   bytes leaving, so `sum over b in r of leave_b >= over_r + A_r - room_r`, `over_r` /
///   `room_r` the sums of `max(0, load - ceiling)` / `max(0, ceiling - load)` over the
///   rack's brokers; and each broker sheds at least `max(load - ceiling, its ineligible
///   bytes)`. Racks hold disjoint brokers, so the per-rack bounds add up. (With RF 3 over 3
///   racks, a rack that must take a drained broker's replicas sheds everything else it holds
///   above its ceilings, though none of its brokers is above its own ceiling before the
///   plan.)
/// - what arrives: per partition, the larger of its forced arrivals over the racks and the
///   replicas its eligible holders lack (`RF - eligible holders`: a partition only two
///   brokers have room for must end on those two); and a rack the rule makes hold more than
///   it has receives the difference;
/// - the forced moves.
pub fn bytes_bound_for_ceilings(cluster: &Cluster, topo: &Topology, ceiling: &[u64]) -> u64 {
    let nb = topo.ids.len();
    let nr = topo.racks.len();
    let ceiling_of = |b: usize| ceiling.get(b).copied().unwrap_or(u64::MAX);
    // Per rack, its brokers' ceilings in ascending order: the eligible brokers of a size
    // are a suffix.
    let sorted_per_rack = |room: &dyn Fn(usize) -> u64| -> Vec<Vec<u64>> {
        topo.racks
            .iter()
            .map(|members| {
                let mut c: Vec<u64> = members.iter().map(|&b| room(b)).collect();
                c.sort_unstable();
                c
            })
            .collect()
    };
    let smallest = |per_rack: &[Vec<u64>]| per_rack.iter().filter_map(|c| c.first()).min().copied();
    let rack_ceilings = sorted_per_rack(&ceiling_of);
    let smallest_ceiling = smallest(&rack_ceilings);
    // The pinned partitions and the bytes they take on each broker.
    let mut pinned = vec![false; cluster.partitions.len()];
    let mut pinned_bytes = vec![0u64; nb];
    for (i, p) in cluster.partitions.iter().enumerate() {
        let s = p.size_bytes;
        if smallest_ceiling.is_none_or(|c| s <= c) {
            continue;
        }
        let cap = topo.rack_cap(p.replicas.len());
        let counts = rack_ceilings
            .iter()
            .map(|c| c.len() - c.partition_point(|&x| x < s));
        if counts.clone().all(|n| n <= cap) && counts.sum::<usize>() == p.replicas.len() {
            pinned[i] = true;
            for b in (0..nb).filter(|&b| topo.allowed[b] && ceiling_of(b) >= s) {
                pinned_bytes[b] += s;
            }
        }
    }
    let room_of = |b: usize| ceiling_of(b).saturating_sub(pinned_bytes[b]);
    let rack_rooms = sorted_per_rack(&room_of);
    let smallest_room = smallest(&rack_rooms);
    let mut load = vec![0u64; nb];
    let mut ineligible = vec![0u64; nb];
    let mut lost = 0u64;
    // Per replication factor: the replicas each rack must hold when every broker is
    // eligible.
    let mut must_hold: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let mut need_of_size = vec![0usize; nr];
    let mut forced_in = vec![0u64; nr];
    let mut arrivals = 0u64;
    let mut in_rack = vec![0usize; nr];
    for (i, p) in cluster.partitions.iter().enumerate() {
        let s = p.size_bytes;
        // What a broker may hold of this partition: its ceiling for a pinned one, what the
        // pinned ones leave for the rest.
        let (limit_of, per_rack, least): (&dyn Fn(usize) -> u64, _, _) = if pinned[i] {
            (&ceiling_of, &rack_ceilings, smallest_ceiling)
        } else {
            (&room_of, &rack_rooms, smallest_room)
        };
        in_rack.iter_mut().for_each(|c| *c = 0);
        let mut eligible_holders = 0usize;
        for id in &p.replicas {
            match topo.index_of(*id) {
                Some(b) => {
                    load[b] += s;
                    if topo.allowed[b] {
                        if limit_of(b) >= s {
                            in_rack[topo.rack[b]] += 1;
                            eligible_holders += 1;
                        } else {
                            ineligible[b] += s;
                        }
                    }
                }
                None => lost += s,
            }
        }
        let rf = p.replicas.len();
        let cap = topo.rack_cap(rf);
        let need: &[usize] = if least.is_none_or(|c| s <= c) {
            must_hold.entry(rf).or_insert_with(|| {
                let slots: Vec<usize> = topo.racks.iter().map(|m| m.len().min(cap)).collect();
                let all: usize = slots.iter().sum();
                slots.iter().map(|&x| rf.saturating_sub(all - x)).collect()
            })
        } else {
            let slots = per_rack
                .iter()
                .map(|c| (c.len() - c.partition_point(|&x| x < s)).min(cap));
            let all: usize = slots.clone().sum();
            for (n, x) in need_of_size.iter_mut().zip(slots) {
                *n = rf.saturating_sub(all - x);
            }
            &need_of_size
        };
        let mut forced = 0usize;
        for r in 0..nr {
            let f = need[r].saturating_sub(in_rack[r]);
            forced_in[r] += f as u64 * s;
            forced += f;
        }
        arrivals += forced.max(rf.saturating_sub(eligible_holders)) as u64 * s;
    }
    let excluded_load: u64 = (0..nb).filter(|&b| !topo.allowed[b]).map(|b| load[b]).sum();
    let rack_leave: u64 = (0..nr)
        .map(|r| {
            let members = &topo.racks[r];
            let over: u64 = members
                .iter()
                .map(|&b| load[b].saturating_sub(ceiling_of(b)))
                .sum();
            let room: u64 = members
                .iter()
                .map(|&b| ceiling_of(b).saturating_sub(load[b]))
                .sum();
            let each_sheds: u64 = members
                .iter()
                .map(|&b| load[b].saturating_sub(ceiling_of(b)).max(ineligible[b]))
                .sum();
            each_sheds.max((over + forced_in[r]).saturating_sub(room))
        })
        .sum();
    let shed = lost + excluded_load + rack_leave;
    let floor_received: u64 = super::bytes::rack_floor_bytes(cluster, topo)
        .iter()
        .zip(&topo.racks)
        .map(|(floor, members)| floor.saturating_sub(members.iter().map(|&b| load[b]).sum()))
        .sum();
    let received = floor_received.max(arrivals);
    shed.max(received).max(forced_bytes(cluster, topo))
}

#[cfg(test)]
mod ceiling_tests {
    use super::*;
    use crate::model::{Broker, Partition, TopicPartition};

    /// The bound of `c` with `excluded` drained, each broker's ceiling given by its id.
    fn bound_with(
        c: &Cluster,
        excluded: &BTreeSet<BrokerId>,
        ceiling: impl Fn(BrokerId) -> u64,
    ) -> u64 {
        let topo = Topology::new(c, excluded);
        let ceilings: Vec<u64> = topo.ids.iter().map(|&id| ceiling(id)).collect();
        bytes_bound_for_ceilings(c, &topo, &ceilings)
    }

    fn broker(id: BrokerId, rack: &str) -> Broker {
        Broker {
            id,
            rack: Some(rack.to_string()),
            capacity_bytes: None,
            log_dirs: Vec::new(),
        }
    }

    fn part(i: i32, replicas: Vec<BrokerId>, size: u64) -> Partition {
        Partition {
            tp: TopicPartition::new("t", i),
            replicas,
            size_bytes: size,
            leader: None,
            isr: None,
            in_flight: None,
            log_dirs: Vec::new(),
            rates: None,
        }
    }

    /// Racks r1 = {1}, r2 = {2, 3}, r3 = {4}; broker 3 is drained. P1 (RF 3, 10 bytes) on
    /// 1, 3, 4 must put its r2 replica on broker 2; broker 2 already holds P2 (RF 2, 4
    /// bytes) and may end with at most 10 bytes, so P2 must leave it. By hand: 10 + 4 = 14
    /// bytes, which the plan "P1 3 -> 2, P2 2 -> 4" copies. The per-broker bound saw only
    /// the drained broker's 10 (broker 2 starts under its ceiling).
    #[test]
    fn a_rack_that_must_take_forced_replicas_sheds_what_does_not_fit() {
        let c = Cluster::new(
            vec![
                broker(1, "r1"),
                broker(2, "r2"),
                broker(3, "r2"),
                broker(4, "r3"),
            ],
            vec![part(0, vec![1, 3, 4], 10), part(1, vec![1, 2], 4)],
        );
        let excluded: BTreeSet<BrokerId> = [3].into();
        assert_eq!(
            bound_with(&c, &excluded, |id| match id {
                2 => 10,
                3 => 0,
                _ => 100,
            }),
            14
        );
        // With room for both on broker 2, only the drained broker's bytes must move.
        assert_eq!(
            bound_with(&c, &excluded, |id| if id == 3 { 0 } else { 100 }),
            10
        );
    }

    /// Brokers 1 and 2 in rack r1, 3 and 4 in r2.
    fn two_racks_of_two(partitions: Vec<Partition>) -> Cluster {
        let racks = [(1, "r1"), (2, "r1"), (3, "r2"), (4, "r2")];
        Cluster::new(racks.map(|(id, r)| broker(id, r)).to_vec(), partitions)
    }

    /// Racks r1 = {1, 2}, r2 = {3, 4}; P0 (RF 2, 10 bytes) on brokers 1 and 3. Brokers 1
    /// and 4 may end with at most 5 bytes, so only 2 and 3 have room for P0, one per rack:
    /// it must end on them, and its replica on broker 1 must be copied to broker 2. By hand:
    /// 10 bytes (the plan "P0 1 -> 2"). Without the eligibility the bound saw only broker
    /// 1's 5 bytes over its ceiling.
    #[test]
    fn a_partition_only_as_many_brokers_have_room_for_as_it_has_replicas_is_pinned() {
        let c = two_racks_of_two(vec![part(0, vec![1, 3], 10)]);
        let excluded = BTreeSet::new();
        assert_eq!(
            bound_with(&c, &excluded, |id| if id == 1 || id == 4 { 5 } else { 20 }),
            10
        );
        // With room on broker 1 too, P0 may stay where it is.
        assert_eq!(
            bound_with(&c, &excluded, |id| if id == 4 { 5 } else { 20 }),
            0
        );
    }

    /// As above, with broker 2's ceiling exactly P0's 10 bytes and P1 (RF 1, 3 bytes) on
    /// broker 2: P0 is pinned to brokers 2 and 3 and fills broker 2, so P1 must leave it.
    /// By hand: 10 + 3 = 13 bytes (the plan "P0 1 -> 2, P1 2 -> 3").
    #[test]
    fn a_broker_a_pinned_partition_fills_gives_up_the_rest() {
        let c = two_racks_of_two(vec![part(0, vec![1, 3], 10), part(1, vec![2], 3)]);
        let excluded = BTreeSet::new();
        assert_eq!(
            bound_with(&c, &excluded, |id| match id {
                2 => 10,
                3 => 20,
                _ => 5,
            }),
            13
        );
    }
}
