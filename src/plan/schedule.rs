//! Batching a plan for execution, and estimating its wall time under a replication throttle.
//!
//! Kafka copies an added replica from the partition's leader, so a move loads the leader's
//! broker with outbound bytes and the new replica's broker with inbound bytes, and a
//! broker-level throttle (`leader/follower.replication.throttled.rate`) caps each side. The
//! scheduler groups moves into batches that keep every broker's inbound and outbound bytes
//! (and optionally its number of moves) under a limit; a batch ends when its slowest broker
//! has copied its bytes. Rules per step:
//! - a partition gains one replica per step (KIP-455 adds the target replicas before it
//!   removes old ones, so the replica set is temporarily `old ∪ new`: adding one at a time
//!   keeps it at RF + 1 and keeps the rack rule broken by at most that one copy);
//! - a move that alone exceeds the limit goes in a batch of its own (it cannot be split);
//! - a partition whose only change is the order of its replicas (a leader change) copies
//!   nothing and goes into the first batch.

use std::collections::BTreeMap;

use crate::model::{BrokerId, Cluster, Plan, TopicPartition};

/// Limits for one batch.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    /// Inbound and outbound bytes per broker per batch.
    pub max_bytes_per_broker: u64,
    /// Replica moves per broker (in or out) per batch; `None` = no limit.
    pub max_moves_per_broker: Option<usize>,
}

/// One replica copy: `size` bytes from the leader `from` to the new replica `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    pub tp: TopicPartition,
    pub from: BrokerId,
    pub to: BrokerId,
    pub size: u64,
}

/// One step of the execution: the partitions reassigned together, with the replica list each
/// is sent to in this step.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub targets: BTreeMap<TopicPartition, Vec<BrokerId>>,
    pub copies: Vec<Copy>,
    pub inbound: BTreeMap<BrokerId, u64>,
    pub outbound: BTreeMap<BrokerId, u64>,
}

impl Batch {
    pub fn bytes(&self) -> u64 {
        self.copies.iter().map(|c| c.size).sum()
    }

    /// Seconds this batch needs at `throttle` bytes/s per broker and direction.
    pub fn seconds(&self, throttle: u64) -> f64 {
        let worst = self
            .inbound
            .values()
            .chain(self.outbound.values())
            .copied()
            .max()
            .unwrap_or(0);
        worst as f64 / throttle.max(1) as f64
    }
}

/// The schedule of a whole plan.
#[derive(Debug, Clone, Default)]
pub struct Schedule {
    pub batches: Vec<Batch>,
}

impl Schedule {
    pub fn total_bytes(&self) -> u64 {
        self.batches.iter().map(Batch::bytes).sum()
    }

    /// Estimated wall time: each batch's slowest broker, plus `overhead` seconds per batch
    /// (submitting, polling, throttle changes).
    pub fn estimated_seconds(&self, throttle: u64, overhead: f64) -> f64 {
        // A fold from +0.0, not `sum()`: the float sum of nothing is -0.0, which printed as
        // "-0 s" for a plan without inter-broker copies (one that only moves log dirs).
        self.batches
            .iter()
            .fold(0.0, |total, b| total + b.seconds(throttle) + overhead)
    }
}

/// Intermediate replica lists of one partition: one added replica per step, the leader of
/// the old list first while data copies, the final list (with its leader) last. Each step
/// swaps an added replica for a leaving one of the same rack where there is one, so every
/// intermediate list has the rack spread of the old or the new list (while a step copies,
/// the partition holds one extra replica, in that rack).
fn steps(
    old: &[BrokerId],
    new: &[BrokerId],
    rack: &dyn Fn(BrokerId) -> String,
) -> Vec<(Vec<BrokerId>, Option<BrokerId>)> {
    let mut adding: Vec<BrokerId> = new.iter().copied().filter(|b| !old.contains(b)).collect();
    if adding.is_empty() {
        return vec![(new.to_vec(), None)];
    }
    let mut out = Vec::new();
    let mut current: Vec<BrokerId> = old.to_vec();
    while !adding.is_empty() {
        if adding.len() == 1 {
            out.push((new.to_vec(), Some(adding[0])));
            break;
        }
        // Replace one replica that leaves with an added one, keeping the old leader first
        // so it stays the copy source and the partition keeps serving; take an added
        // replica that has a leaving one in its rack first (the old leader's rack-mate
        // comes last, when the final list replaces the leader too).
        let leaving = |b: &BrokerId, cur: &[BrokerId]| {
            !new.contains(b) && cur.contains(b) && Some(b) != old.first()
        };
        let pick = adding
            .iter()
            .position(|a| {
                current
                    .iter()
                    .any(|b| leaving(b, &current) && rack(*b) == rack(*a))
            })
            .unwrap_or(0);
        let add = adding.remove(pick);
        let pos = current
            .iter()
            .rposition(|b| leaving(b, &current) && rack(*b) == rack(add))
            .or_else(|| current.iter().rposition(|b| leaving(b, &current)))
            .or_else(|| current.iter().rposition(|b| !new.contains(b)));
        if let Some(pos) = pos {
            current[pos] = add;
        }
        out.push((current.clone(), Some(add)));
    }
    out
}

/// Groups the plan's moves into batches under `limits`. Deterministic: partitions are taken
/// largest first (ties by name), each step goes into the first batch after its previous
/// step that has room.
pub fn schedule(cluster: &Cluster, plan: &Plan, limits: &BatchLimits) -> Schedule {
    struct Item {
        tp: TopicPartition,
        size: u64,
        leader: BrokerId,
        steps: Vec<(Vec<BrokerId>, Option<BrokerId>)>,
    }
    let rack = |b: BrokerId| match cluster.broker(b) {
        Some(x) => Cluster::rack_key(x),
        None => format!("b:{b}"),
    };
    let mut items: Vec<Item> = plan
        .changes
        .iter()
        .filter_map(|(tp, new)| {
            let i = cluster.partition_index(tp)?;
            let p = &cluster.partitions[i];
            let leader = p.leader.or(p.replicas.first().copied())?;
            Some(Item {
                tp: tp.clone(),
                size: p.size_bytes,
                leader,
                steps: steps(&p.replicas, new, &rack),
            })
        })
        .collect();
    items.sort_by(|a, b| b.size.cmp(&a.size).then(a.tp.cmp(&b.tp)));
    let mut batches: Vec<Batch> = Vec::new();
    let mut moves_in: Vec<BTreeMap<BrokerId, usize>> = Vec::new();
    let fits = |batch: &Batch,
                moves: &BTreeMap<BrokerId, usize>,
                from: BrokerId,
                to: BrokerId,
                size: u64| {
        if batch.copies.is_empty() {
            return true;
        }
        let out_ok =
            batch.outbound.get(&from).copied().unwrap_or(0) + size <= limits.max_bytes_per_broker;
        let in_ok =
            batch.inbound.get(&to).copied().unwrap_or(0) + size <= limits.max_bytes_per_broker;
        let moves_ok = limits.max_moves_per_broker.is_none_or(|m| {
            moves.get(&from).copied().unwrap_or(0) < m && moves.get(&to).copied().unwrap_or(0) < m
        });
        out_ok && in_ok && moves_ok
    };
    for item in items {
        let mut earliest = 0usize;
        for (target, added) in item.steps {
            let idx = match added {
                None => 0,
                Some(to) => (earliest..)
                    .find(|&k| {
                        k >= batches.len()
                            || (!batches[k].targets.contains_key(&item.tp)
                                && fits(&batches[k], &moves_in[k], item.leader, to, item.size))
                    })
                    .unwrap_or(batches.len()),
            };
            while batches.len() <= idx {
                batches.push(Batch::default());
                moves_in.push(BTreeMap::new());
            }
            let batch = &mut batches[idx];
            batch.targets.insert(item.tp.clone(), target);
            if let Some(to) = added {
                batch.copies.push(Copy {
                    tp: item.tp.clone(),
                    from: item.leader,
                    to,
                    size: item.size,
                });
                *batch.outbound.entry(item.leader).or_insert(0) += item.size;
                *batch.inbound.entry(to).or_insert(0) += item.size;
                *moves_in[idx].entry(item.leader).or_insert(0) += 1;
                *moves_in[idx].entry(to).or_insert(0) += 1;
            }
            earliest = idx + 1;
        }
    }
    Schedule { batches }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_schedule_without_copies_takes_zero_seconds_not_minus_zero() {
        let s = Schedule::default();
        let secs = s.estimated_seconds(1_000_000, 5.0);
        assert_eq!(secs, 0.0);
        assert!(secs.is_sign_positive(), "{secs}");
        assert_eq!(format!("{secs:.0}"), "0");
    }

    use super::*;
    use crate::model::{Broker, Partition};

    fn cluster(parts: Vec<(&str, Vec<BrokerId>, u64)>) -> Cluster {
        let brokers = (1..=6)
            .map(|id| Broker {
                id,
                rack: Some(format!("r{}", id % 3)),
                capacity_bytes: None,
                log_dirs: Vec::new(),
            })
            .collect();
        let partitions = parts
            .into_iter()
            .map(|(t, reps, size)| Partition {
                tp: TopicPartition::new(t, 0),
                replicas: reps,
                size_bytes: size,
                leader: None,
                isr: None,
                in_flight: None,
                log_dirs: Vec::new(),
                rates: None,
            })
            .collect();
        Cluster::new(brokers, partitions)
    }

    fn plan(entries: Vec<(&str, Vec<BrokerId>)>) -> Plan {
        let mut p = Plan::default();
        for (t, reps) in entries {
            p.changes.insert(TopicPartition::new(t, 0), reps);
        }
        p
    }

    #[test]
    fn byte_limits_split_batches_per_broker() {
        let c = cluster(vec![
            ("a", vec![1, 2], 10),
            ("b", vec![1, 3], 10),
            ("c", vec![2, 3], 10),
        ]);
        // a and b both copy from leader 1: with 15 bytes per broker they cannot share a batch.
        let p = plan(vec![
            ("a", vec![1, 4]),
            ("b", vec![1, 5]),
            ("c", vec![2, 6]),
        ]);
        let s = schedule(
            &c,
            &p,
            &BatchLimits {
                max_bytes_per_broker: 15,
                max_moves_per_broker: None,
            },
        );
        assert_eq!(s.batches.len(), 2);
        for b in &s.batches {
            assert!(b.outbound.values().all(|&v| v <= 15));
            assert!(b.inbound.values().all(|&v| v <= 15));
        }
        assert_eq!(s.total_bytes(), 30);
        assert!((s.estimated_seconds(5, 0.0) - 4.0).abs() < 1e-9);
    }

    #[test]
    fn oversized_move_gets_its_own_batch() {
        let c = cluster(vec![("big", vec![1, 2], 100)]);
        let p = plan(vec![("big", vec![1, 4])]);
        let s = schedule(
            &c,
            &p,
            &BatchLimits {
                max_bytes_per_broker: 10,
                max_moves_per_broker: None,
            },
        );
        assert_eq!(s.batches.len(), 1);
        assert_eq!(s.batches[0].copies.len(), 1);
    }

    #[test]
    fn one_added_replica_per_step_and_leader_kept_first() {
        let c = cluster(vec![("a", vec![1, 2, 3], 10)]);
        let p = plan(vec![("a", vec![4, 5, 3])]);
        let s = schedule(
            &c,
            &p,
            &BatchLimits {
                max_bytes_per_broker: 1000,
                max_moves_per_broker: None,
            },
        );
        assert_eq!(s.batches.len(), 2);
        let tp = TopicPartition::new("a", 0);
        let first = &s.batches[0].targets[&tp];
        assert_eq!(first[0], 1, "the old leader stays first while data copies");
        assert_eq!(first.iter().filter(|b| ![1, 2, 3].contains(b)).count(), 1);
        assert_eq!(s.batches[1].targets[&tp], vec![4, 5, 3]);
    }

    #[test]
    fn steps_swap_within_a_rack_first() {
        // Racks: id % 3. 1,2,3 -> 4,5,6: 4 shares rack r1 with 1 (the leader, kept while
        // copying), 5 with 2, 6 with 3.
        let c = cluster(vec![("a", vec![1, 2, 3], 10)]);
        let p = plan(vec![("a", vec![4, 5, 6])]);
        let s = schedule(
            &c,
            &p,
            &BatchLimits {
                max_bytes_per_broker: 1000,
                max_moves_per_broker: None,
            },
        );
        let tp = TopicPartition::new("a", 0);
        let lists: Vec<Vec<BrokerId>> = s.batches.iter().map(|b| b.targets[&tp].clone()).collect();
        assert_eq!(
            lists,
            vec![vec![1, 2, 3], vec![1, 5, 3], vec![1, 5, 6], vec![4, 5, 6]][1..]
        );
        for l in &lists {
            let mut racks: Vec<i32> = l.iter().map(|b| b % 3).collect();
            racks.sort_unstable();
            assert_eq!(racks, vec![0, 1, 2], "{l:?} keeps one replica per rack");
        }
    }

    #[test]
    fn leader_only_changes_copy_nothing() {
        let c = cluster(vec![("a", vec![1, 2], 10)]);
        let p = plan(vec![("a", vec![2, 1])]);
        let s = schedule(
            &c,
            &p,
            &BatchLimits {
                max_bytes_per_broker: 1,
                max_moves_per_broker: Some(1),
            },
        );
        assert_eq!(s.batches.len(), 1);
        assert!(s.batches[0].copies.is_empty());
        assert_eq!(s.total_bytes(), 0);
    }

    #[test]
    fn move_count_limit() {
        let c = cluster(vec![("a", vec![1, 2], 1), ("b", vec![1, 3], 1)]);
        let p = plan(vec![("a", vec![1, 4]), ("b", vec![1, 5])]);
        let s = schedule(
            &c,
            &p,
            &BatchLimits {
                max_bytes_per_broker: 1000,
                max_moves_per_broker: Some(1),
            },
        );
        assert_eq!(s.batches.len(), 2);
    }
}
