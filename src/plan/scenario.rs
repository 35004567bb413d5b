//! What-if scenarios applied to a cluster before planning: hypothetical new brokers and
//! draining a whole rack. Pure transformations of the facts; the planner then runs as usual.

use std::collections::BTreeMap;

use crate::model::{Broker, BrokerId, Cluster};

/// Adds `count` empty brokers with ids after the largest existing one, in `rack` (None = no
/// rack) with `capacity`, or, when no capacity is given, the capacity most brokers have (the
/// smallest such value on a tie); returns the new ids.
pub fn add_brokers(
    cluster: &mut Cluster,
    count: usize,
    rack: Option<&str>,
    capacity: Option<u64>,
) -> Vec<BrokerId> {
    let capacity = capacity.or_else(|| {
        let mut freq: BTreeMap<u64, usize> = BTreeMap::new();
        for c in cluster.brokers.iter().filter_map(|b| b.capacity_bytes) {
            *freq.entry(c).or_insert(0) += 1;
        }
        let best = freq.values().copied().max()?;
        freq.into_iter().find(|(_, n)| *n == best).map(|(c, _)| c)
    });
    let mut next = cluster
        .brokers
        .iter()
        .map(|b| b.id)
        .max()
        .unwrap_or(-1)
        .saturating_add(1);
    let mut ids = Vec::with_capacity(count);
    for _ in 0..count {
        cluster.brokers.push(Broker {
            id: next,
            rack: rack.map(str::to_string),
            capacity_bytes: capacity,
        });
        ids.push(next);
        next = next.saturating_add(1);
    }
    ids
}

/// The brokers of `rack`, or an error naming the racks there are.
pub fn rack_brokers(cluster: &Cluster, rack: &str) -> Result<Vec<BrokerId>, String> {
    let ids: Vec<BrokerId> = cluster
        .brokers
        .iter()
        .filter(|b| b.rack.as_deref() == Some(rack))
        .map(|b| b.id)
        .collect();
    if ids.is_empty() {
        let mut racks: Vec<&str> = cluster
            .brokers
            .iter()
            .filter_map(|b| b.rack.as_deref())
            .collect();
        racks.sort_unstable();
        racks.dedup();
        return Err(format!(
            "rack {rack} has no brokers (racks: {})",
            racks.join(", ")
        ));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster() -> Cluster {
        let b = |id, rack: &str, cap| Broker {
            id,
            rack: Some(rack.into()),
            capacity_bytes: Some(cap),
        };
        Cluster::new(vec![b(1, "a", 10), b(2, "b", 20), b(5, "b", 20)], vec![])
    }

    #[test]
    fn new_brokers_follow_the_largest_id_and_common_capacity() {
        let mut c = cluster();
        let ids = add_brokers(&mut c, 2, Some("c"), None);
        assert_eq!(ids, vec![6, 7]);
        assert_eq!(c.brokers.len(), 5);
        assert!(c.brokers[3..]
            .iter()
            .all(|b| b.rack.as_deref() == Some("c") && b.capacity_bytes == Some(20)));
        let ids = add_brokers(&mut c, 1, None, Some(99));
        assert_eq!(ids, vec![8]);
        assert_eq!(c.brokers[5].capacity_bytes, Some(99));
    }

    #[test]
    fn rack_lookup() {
        let c = cluster();
        assert_eq!(rack_brokers(&c, "b").unwrap(), vec![2, 5]);
        let e = rack_brokers(&c, "z").unwrap_err();
        assert!(e.contains("rack z has no brokers (racks: a, b)"), "{e}");
    }
}
