//! What-if scenarios applied to a cluster before planning: hypothetical new brokers and
//! draining a whole rack. Pure transformations of the facts; the planner then runs as usual.

use std::collections::BTreeMap;

use std::collections::BTreeSet;

use crate::model::{Broker, BrokerId, Cluster, Layout, TopicPartition};

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
            log_dirs: Vec::new(),
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

/// Parses `--set-replication-factor REGEX=N` (`orders.*=3`); the regex matches whole topic
/// names.
pub fn parse_rf_change(s: &str) -> Result<(regex::Regex, usize), String> {
    let (re, n) = s.rsplit_once('=').ok_or_else(|| {
        format!("--set-replication-factor {s}: expected TOPIC_REGEX=N, e.g. orders.*=3")
    })?;
    let n: usize = n.trim().parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
        format!(
            "--set-replication-factor {s}: '{}' is not a replication factor (1 or more)",
            n.trim()
        )
    })?;
    let re = regex::Regex::new(&format!("^(?:{re})$")).map_err(|e| {
        format!("--set-replication-factor {s}: not a valid regular expression: {e}")
    })?;
    Ok((re, n))
}

/// A cluster prepared for replication-factor changes, for the planner to finish.
#[derive(Debug, Clone)]
pub struct RfPrepared {
    /// The cluster as the planner sees it: lowered partitions already without their dropped
    /// replicas, raised ones with a stand-in replica per missing one on `stand_ins`.
    pub cluster: Cluster,
    /// Stand-in brokers (excluded when planning, so the flow must place every replica they
    /// hold on a real broker: rack-aware, balanced, fewest moves).
    pub stand_ins: BTreeSet<BrokerId>,
    /// The partitions whose replication factor changes: (from, to).
    pub changed: BTreeMap<TopicPartition, (usize, usize)>,
}

/// Sets the replication factor of the topics matching each regex. Lowering drops, per
/// partition, replicas out of the ISR first (when the ISR is known), then replicas in the
/// partition's most crowded rack, then on the most loaded brokers, never the leader while
/// another can go. Raising adds stand-in replicas on stand-in brokers that the planner must
/// empty, so the new replicas are placed by the exact flow under the rack rule.
pub fn set_replication_factors(
    cluster: &Cluster,
    targets: &[(regex::Regex, usize)],
) -> Result<RfPrepared, String> {
    let mut partitions = cluster.partitions.clone();
    let mut changed = BTreeMap::new();
    let mut load: BTreeMap<BrokerId, usize> = BTreeMap::new();
    for p in &partitions {
        for b in &p.replicas {
            *load.entry(*b).or_insert(0) += 1;
        }
    }
    let rack_of = |b: BrokerId| match cluster.broker(b) {
        Some(x) => Cluster::rack_key(x),
        None => format!("b:{b}"),
    };
    let max_id = cluster.brokers.iter().map(|b| b.id).max().unwrap_or(0);
    let mut extra_needed = 0usize;
    let mut matched_any = vec![false; targets.len()];
    for p in partitions.iter_mut() {
        let Some((i, &(_, n))) = targets
            .iter()
            .enumerate()
            .find(|(_, (re, _))| re.is_match(&p.tp.topic))
        else {
            continue;
        };
        matched_any[i] = true;
        let rf = p.replicas.len();
        if rf == n {
            continue;
        }
        changed.insert(p.tp.clone(), (rf, n));
        if n > rf {
            extra_needed = extra_needed.max(n - rf);
            continue;
        }
        let leader = p.leader.or(p.replicas.first().copied());
        while p.replicas.len() > n {
            let mut per_rack: BTreeMap<String, usize> = BTreeMap::new();
            for b in &p.replicas {
                *per_rack.entry(rack_of(*b)).or_insert(0) += 1;
            }
            let key = |b: &BrokerId| {
                (
                    p.isr.as_ref().is_some_and(|isr| !isr.contains(b)),
                    Some(*b) != leader,
                    per_rack.get(&rack_of(*b)).copied().unwrap_or(0),
                    load.get(b).copied().unwrap_or(0),
                    *b,
                )
            };
            let Some(drop) = p.replicas.iter().copied().max_by_key(key) else {
                break;
            };
            p.replicas.retain(|b| *b != drop);
            if let Some(l) = load.get_mut(&drop) {
                *l = l.saturating_sub(1);
            }
        }
    }
    if let Some(i) = matched_any.iter().position(|m| !m) {
        return Err(format!(
            "--set-replication-factor: {} matches no topic",
            targets[i]
                .0
                .as_str()
                .trim_start_matches("^(?:")
                .trim_end_matches(")$")
        ));
    }
    let mut brokers = cluster.brokers.clone();
    let stand_ins: Vec<BrokerId> = (1..=extra_needed as i64)
        .map(|k| (max_id as i64 + k).min(i32::MAX as i64) as BrokerId)
        .collect();
    for &id in &stand_ins {
        brokers.push(Broker {
            id,
            rack: Some(format!("__stand-in-{id}")),
            capacity_bytes: None,
            log_dirs: Vec::new(),
        });
    }
    for p in partitions.iter_mut() {
        if let Some(&(rf, n)) = changed.get(&p.tp) {
            if n > rf {
                p.replicas.extend(stand_ins.iter().take(n - rf));
            }
        }
    }
    Ok(RfPrepared {
        cluster: Cluster::new(brokers, partitions),
        stand_ins: stand_ins.into_iter().collect(),
        changed,
    })
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
            log_dirs: Vec::new(),
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
            log_dirs: Vec::new(),
        };
        let p = |n, reps: Vec<BrokerId>| Partition {
            tp: TopicPartition::new("t", n),
            replicas: reps,
            size_bytes: 10,
            leader: None,
            isr: None,
            in_flight: None,
            log_dirs: Vec::new(),
            rates: None,
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

    #[test]
    fn lowering_drops_out_of_sync_then_crowded_racks_and_keeps_the_leader() {
        use crate::model::{Partition, TopicPartition};
        let b = |id, rack: &str| Broker {
            id,
            rack: Some(rack.into()),
            capacity_bytes: None,
            log_dirs: Vec::new(),
        };
        let p = |t: &str, reps: Vec<BrokerId>, isr: Option<Vec<BrokerId>>| Partition {
            tp: TopicPartition::new(t, 0),
            replicas: reps,
            size_bytes: 1,
            leader: None,
            isr,
            in_flight: None,
            log_dirs: Vec::new(),
            rates: None,
        };
        let c = Cluster::new(
            vec![b(1, "a"), b(2, "a"), b(3, "b"), b(4, "c")],
            vec![
                // 3 is out of sync: it goes first.
                p("x", vec![1, 3, 4], Some(vec![1, 4])),
                // Two replicas in rack a: one of them goes, not the leader 1.
                p("y", vec![1, 2, 3], None),
                p("z", vec![3], None),
            ],
        );
        let targets = vec![
            parse_rf_change("x|y=2").unwrap(),
            parse_rf_change("z=3").unwrap(),
        ];
        let r = set_replication_factors(&c, &targets).unwrap();
        let reps = |t: &str| {
            r.cluster.partitions[r
                .cluster
                .partition_index(&TopicPartition::new(t, 0))
                .unwrap()]
            .replicas
            .clone()
        };
        assert_eq!(reps("x"), vec![1, 4]);
        assert_eq!(reps("y"), vec![1, 3]);
        // z gets two stand-ins after the largest id, excluded when planning.
        assert_eq!(reps("z"), vec![3, 5, 6]);
        assert_eq!(r.stand_ins.iter().copied().collect::<Vec<_>>(), vec![5, 6]);
        assert_eq!(r.changed[&TopicPartition::new("z", 0)], (1, 3));
        let e = set_replication_factors(&c, &[parse_rf_change("nope=2").unwrap()]).unwrap_err();
        assert!(e.contains("nope matches no topic"), "{e}");
        assert!(parse_rf_change("x=0").unwrap_err().contains("'0'"));
        assert!(parse_rf_change("(=2")
            .unwrap_err()
            .contains("regular expression"));
    }
}
