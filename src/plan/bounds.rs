//! Simple lower bounds on replica moves, defined exactly as the bench scorer's
//! (`../shared/bench/score.py`, `lower_bounds`), so figures printed by `plan` and `score`
//! match the published tables.

use std::collections::{BTreeMap, BTreeSet};

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
    let mut count: BTreeMap<BrokerId, usize> = BTreeMap::new();
    let mut forced = 0usize;
    let mut per_rack: BTreeMap<&str, usize> = BTreeMap::new();
    for reps in &layout.replicas {
        per_rack.clear();
        for b in reps {
            *count.entry(*b).or_insert(0) += 1;
            if excluded.contains(b) {
                forced += 1;
            } else if let Some(r) = rack_of.get(b) {
                *per_rack.entry(r.as_str()).or_insert(0) += 1;
            }
        }
        if !reps.is_empty() && racks > 0 {
            let cap = reps.len().div_ceil(racks);
            forced += per_rack
                .values()
                .map(|c| c.saturating_sub(cap))
                .sum::<usize>();
        }
    }
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
    let total: usize = count.values().sum();
    let n = allowed.len();
    let (lo, hi) = (total / n, total.div_ceil(n));
    let get = |b: &BrokerId| count.get(b).copied().unwrap_or(0);
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
