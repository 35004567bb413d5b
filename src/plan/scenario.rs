//! What-if scenarios applied to a cluster before planning: hypothetical new brokers and
//! draining a whole rack. Pure transformations of the facts; the planner then runs as usual.

use std::collections::BTreeMap;

use crate::model::{Broker, BrokerId, Cluster, Layout};

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

/// Parses `--replace FROM=TO` (`5=12`).
pub fn parse_replacement(s: &str) -> Result<(BrokerId, BrokerId), String> {
    let (a, b) = s
        .split_once('=')
        .ok_or_else(|| format!("--replace {s}: expected FROM=TO, e.g. 5=12"))?;
    let id = |x: &str| {
        x.trim()
            .parse::<BrokerId>()
            .map_err(|_| format!("--replace {s}: '{}' is not a broker id", x.trim()))
    };
    Ok((id(a)?, id(b)?))
}

/// Broker replacement: every replica on `from` moves to `to` in the same position of its
/// replica list (so preferred leaders move with it), nothing else changes. Refused: unknown
/// brokers, a broker replaced twice or both replaced and replacing, a partition that
/// already has a replica on `to`, and — unless `allow_rack_change` — `to` in another rack
/// than `from` (it would change the rack spread of every partition on `from`).
pub fn replace_brokers(
    cluster: &Cluster,
    pairs: &[(BrokerId, BrokerId)],
    allow_rack_change: bool,
) -> Result<Layout, Vec<String>> {
    let mut errors = Vec::new();
    let mut map: BTreeMap<BrokerId, BrokerId> = BTreeMap::new();
    let targets: Vec<BrokerId> = pairs.iter().map(|(_, t)| *t).collect();
    for &(from, to) in pairs {
        let name = format!("--replace {from}={to}");
        let (Some(f), Some(t)) = (cluster.broker(from), cluster.broker(to)) else {
            for id in [from, to] {
                if cluster.broker(id).is_none() {
                    errors.push(format!(
                        "{name}: broker {id} is not in the cluster (a new broker can be added with --add-brokers)"
                    ));
                }
            }
            continue;
        };
        if from == to {
            errors.push(format!("{name}: a broker cannot replace itself"));
        } else if map.contains_key(&from) {
            errors.push(format!("{name}: broker {from} is replaced twice"));
        } else if targets.iter().filter(|x| **x == to).count() > 1 {
            errors.push(format!("{name}: broker {to} replaces two brokers"));
        } else if targets.contains(&from) || pairs.iter().any(|(x, _)| *x == to) {
            errors.push(format!(
                "{name}: a broker cannot be both replaced and a replacement"
            ));
        } else if f.rack != t.rack && !allow_rack_change {
            errors.push(format!(
                "{name}: broker {from} is in rack {} but {to} in rack {} (this would change the rack spread of every partition on {from}; pass --force-rack-change to do it anyway)",
                f.rack.as_deref().unwrap_or("(none)"),
                t.rack.as_deref().unwrap_or("(none)")
            ));
        }
        map.insert(from, to);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut replicas = Vec::with_capacity(cluster.partitions.len());
    for p in &cluster.partitions {
        let new: Vec<BrokerId> = p
            .replicas
            .iter()
            .map(|b| map.get(b).copied().unwrap_or(*b))
            .collect();
        for (from, to) in &map {
            if p.replicas.contains(from) && p.replicas.contains(to) {
                errors.push(format!(
                    "{}: already has a replica on broker {to}, which would replace {from}",
                    p.tp
                ));
            }
        }
        replicas.push(new);
    }
    if !errors.is_empty() {
        let n = errors.len();
        errors.truncate(20);
        if n > 20 {
            errors.push(format!("... and {} more", n - 20));
        }
        return Err(errors);
    }
    Ok(Layout { replicas })
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

    fn with_partitions() -> Cluster {
        use crate::model::{Partition, TopicPartition};
        let b = |id, rack: &str| Broker {
            id,
            rack: Some(rack.into()),
            capacity_bytes: Some(100),
        };
        let p = |n, reps: Vec<BrokerId>| Partition {
            tp: TopicPartition::new("t", n),
            replicas: reps,
            size_bytes: 10,
            leader: None,
            isr: None,
            in_flight: None,
        };
        Cluster::new(
            vec![
                b(1, "a"),
                b(2, "b"),
                b(3, "c"),
                b(5, "a"),
                b(12, "a"),
                b(13, "b"),
            ],
            vec![
                p(0, vec![5, 2, 3]),
                p(1, vec![2, 5, 3]),
                p(2, vec![1, 2, 3]),
            ],
        )
    }

    #[test]
    fn replacement_keeps_positions_and_checks_racks_and_collisions() {
        let c = with_partitions();
        let after = replace_brokers(&c, &[(5, 12)], false).unwrap();
        assert_eq!(
            after.replicas,
            vec![vec![12, 2, 3], vec![2, 12, 3], vec![1, 2, 3]]
        );
        let e = replace_brokers(&c, &[(5, 13)], false).unwrap_err();
        assert!(
            e[0].contains("broker 5 is in rack a but 13 in rack b"),
            "{e:?}"
        );
        assert!(e[0].contains("--force-rack-change"), "{e:?}");
        assert!(replace_brokers(&c, &[(5, 13)], true).is_ok());
        // 1 is in 5's rack and shares no partition with it; 13 is in 2's rack.
        assert!(replace_brokers(&c, &[(5, 1)], false).is_ok());
        let both = replace_brokers(&c, &[(5, 12), (2, 13)], false).unwrap();
        assert_eq!(both.replicas[0], vec![12, 13, 3]);
    }

    #[test]
    fn replacement_errors_name_the_rule() {
        let c = with_partitions();
        let e = replace_brokers(&c, &[(5, 99)], false).unwrap_err();
        assert!(e[0].contains("broker 99 is not in the cluster"), "{e:?}");
        let e = replace_brokers(&c, &[(5, 5)], false).unwrap_err();
        assert!(e[0].contains("cannot replace itself"), "{e:?}");
        let e = replace_brokers(&c, &[(5, 12), (12, 1)], false).unwrap_err();
        assert!(
            e.iter()
                .any(|m| m.contains("both replaced and a replacement")),
            "{e:?}"
        );
        // t-2 has replicas on 1 and 2: 1 cannot take 2's place there.
        let e = replace_brokers(&c, &[(2, 1)], true).unwrap_err();
        assert!(
            e.iter()
                .any(|m| m == "t-2: already has a replica on broker 1, which would replace 2"),
            "{e:?}"
        );
        assert_eq!(parse_replacement("5=12").unwrap(), (5, 12));
        assert!(parse_replacement("5").unwrap_err().contains("FROM=TO"));
        assert!(parse_replacement("5=x").unwrap_err().contains("'x'"));
    }
}
