//! The cluster facts and the replica layout, as plain data.
//!
//! Everything here is pure: no I/O, no wire types. `Cluster` holds the facts (brokers, racks,
//! capacities, partitions with their current replicas and sizes); a `Layout` is one replica
//! assignment of those partitions (index-aligned with `Cluster::partitions`); a `Plan` is the
//! set of partitions whose ordered replica list changes.

mod validate;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

pub use validate::{validate_cluster, ClusterViolation};

/// Kafka broker id (an `int32` on the wire).
pub type BrokerId = i32;

/// A topic partition. Orders by topic, then partition number, as Kafka's tools sort them
/// (topic names are ASCII, so byte order equals Java's UTF-16 `compareTo`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// One broker of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broker {
    pub id: BrokerId,
    /// `broker.rack`; `None` when the broker has none. A broker without a rack counts as a
    /// rack of its own for the rack-spread rule (see [`Cluster::rack_key`]).
    pub rack: Option<String>,
    /// Disk capacity in bytes; `None` when unknown (capacity checks are off for it).
    pub capacity_bytes: Option<u64>,
    /// The broker's data directories (`log.dirs`, JBOD) when known, sorted by path. Empty when
    /// unknown: the broker is then one implicit directory, as before log dirs were modelled.
    pub log_dirs: Vec<BrokerLogDir>,
}

/// One data directory of a broker (an entry of its `log.dirs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerLogDir {
    pub path: String,
    /// Size of the file system the directory is on; `None` when unknown.
    pub capacity_bytes: Option<u64>,
    /// Free bytes as the broker reported them (DescribeLogDirs v4+, Kafka 3.3+).
    pub usable_bytes: Option<u64>,
    /// The broker reports the directory offline (e.g. KAFKA_STORAGE_ERROR): nothing can stay
    /// in it or be placed there.
    pub offline: bool,
}

/// Measured traffic of one partition, in bytes per second (sampled from the cluster or read
/// from a rates file). Integers keep plans deterministic and `Partition` comparable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PartitionRates {
    /// Produce traffic into the leader.
    pub bytes_in_per_sec: u64,
    /// Consumer fetch traffic out of the leader (replication traffic is derived from the
    /// replication factor, not stored).
    pub bytes_out_per_sec: u64,
}

/// An in-flight reassignment of a partition (KIP-455), when known.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InFlight {
    pub adding: Vec<BrokerId>,
    pub removing: Vec<BrokerId>,
}

/// One partition with its current state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    pub tp: TopicPartition,
    /// Ordered replica list; `replicas[0]` is the preferred leader.
    pub replicas: Vec<BrokerId>,
    /// Bytes of one replica.
    pub size_bytes: u64,
    /// Current leader, when known (live cluster or `kafka-topics --describe`).
    pub leader: Option<BrokerId>,
    /// In-sync replicas, when known.
    pub isr: Option<Vec<BrokerId>>,
    /// In-flight reassignment, when known.
    pub in_flight: Option<InFlight>,
    /// The log dir of each replica, index-aligned with `replicas` (`None`: that replica's dir
    /// is unknown). Empty when no replica's dir is known.
    pub log_dirs: Vec<Option<String>>,
    /// Measured traffic, when known.
    pub rates: Option<PartitionRates>,
}

/// The facts about a cluster: brokers sorted by id, partitions sorted by topic-partition.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cluster {
    pub brokers: Vec<Broker>,
    pub partitions: Vec<Partition>,
    /// The window over which partition rates were measured, in milliseconds, when known.
    pub rates_window_ms: Option<u64>,
}

impl Cluster {
    /// Builds a cluster, sorting brokers by id and partitions by topic-partition so every
    /// later step sees one canonical order (determinism).
    pub fn new(mut brokers: Vec<Broker>, mut partitions: Vec<Partition>) -> Self {
        brokers.sort_by_key(|b| b.id);
        // Snapshots are written sorted; the stable sort would still allocate a scratch
        // buffer of half the partitions (hundreds of MB at millions of partitions).
        if !partitions.is_sorted_by(|a, b| a.tp <= b.tp) {
            partitions.sort_by(|a, b| a.tp.cmp(&b.tp));
        }
        Cluster {
            brokers,
            partitions,
            rates_window_ms: None,
        }
    }

    pub fn broker(&self, id: BrokerId) -> Option<&Broker> {
        self.brokers
            .binary_search_by_key(&id, |b| b.id)
            .ok()
            .map(|i| &self.brokers[i])
    }

    pub fn broker_ids(&self) -> Vec<BrokerId> {
        self.brokers.iter().map(|b| b.id).collect()
    }

    /// Index of a partition in `partitions`.
    pub fn partition_index(&self, tp: &TopicPartition) -> Option<usize> {
        self.partitions.binary_search_by(|p| p.tp.cmp(tp)).ok()
    }

    /// The rack key used by the rack-spread rule: the broker's rack, or, for a broker without
    /// a rack, a key of its own (so a cluster without racks degenerates to "distinct brokers").
    pub fn rack_key(broker: &Broker) -> String {
        match &broker.rack {
            Some(r) => format!("r:{r}"),
            None => format!("b:{}", broker.id),
        }
    }

    /// The current layout.
    pub fn current_layout(&self) -> Layout {
        Layout {
            replicas: self.partitions.iter().map(|p| p.replicas.clone()).collect(),
        }
    }

    /// True when at least one broker reports a disk capacity.
    pub fn has_capacity(&self) -> bool {
        self.brokers.iter().any(|b| b.capacity_bytes.is_some())
    }

    /// True when at least one broker's log dirs are known (JBOD-aware planning applies).
    pub fn has_log_dirs(&self) -> bool {
        self.brokers.iter().any(|b| !b.log_dirs.is_empty())
    }

    /// True when at least one partition has measured rates.
    pub fn has_rates(&self) -> bool {
        self.partitions.iter().any(|p| p.rates.is_some())
    }

    /// Kafka lists no replicas for an offline log dir (DescribeLogDirs and `kafka-log-dirs`
    /// report only the error). A replica of a broker with known dirs that no dir lists, on a
    /// broker with exactly one offline dir, is in that dir: this sets it. Returns how many.
    pub fn place_unlisted_in_offline_dirs(&mut self) -> usize {
        let offline: BTreeMap<BrokerId, String> = self
            .brokers
            .iter()
            .filter_map(|b| {
                let mut off = b.log_dirs.iter().filter(|d| d.offline);
                match (off.next(), off.next()) {
                    (Some(d), None) => Some((b.id, d.path.clone())),
                    _ => None,
                }
            })
            .collect();
        if offline.is_empty() {
            return 0;
        }
        let mut placed = 0;
        for p in &mut self.partitions {
            for (k, b) in p.replicas.iter().enumerate() {
                let Some(path) = offline.get(b) else { continue };
                if p.log_dirs.get(k).is_some_and(Option::is_some) {
                    continue;
                }
                if p.log_dirs.is_empty() {
                    p.log_dirs = vec![None; p.replicas.len()];
                }
                if let Some(slot) = p.log_dirs.get_mut(k) {
                    *slot = Some(path.clone());
                    placed += 1;
                }
            }
        }
        placed
    }

    pub fn total_replicas(&self) -> usize {
        self.partitions.iter().map(|p| p.replicas.len()).sum()
    }
}

/// A replica layout: `replicas[i]` is the ordered replica list of `cluster.partitions[i]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub replicas: Vec<Vec<BrokerId>>,
}

impl Layout {
    /// The plan that turns `self` into `target`: every partition whose ordered list changes.
    pub fn diff(&self, cluster: &Cluster, target: &Layout) -> Plan {
        let mut changes = BTreeMap::new();
        for (i, (a, b)) in self.replicas.iter().zip(&target.replicas).enumerate() {
            if a != b {
                changes.insert(cluster.partitions[i].tp.clone(), b.clone());
            }
        }
        Plan { changes }
    }

    /// Applies a plan to this layout. Unknown partitions in the plan are an error.
    pub fn apply(&self, cluster: &Cluster, plan: &Plan) -> Result<Layout, TopicPartition> {
        let mut out = self.clone();
        for (tp, reps) in &plan.changes {
            let i = cluster.partition_index(tp).ok_or_else(|| tp.clone())?;
            out.replicas[i] = reps.clone();
        }
        Ok(out)
    }

    /// Replicas per broker id.
    pub fn replica_counts(&self) -> BTreeMap<BrokerId, usize> {
        per_broker(self.replicas.iter().flatten().map(|&b| (b, 1usize)))
    }

    /// Preferred leaders (`replicas[0]`) per broker id.
    pub fn leader_counts(&self) -> BTreeMap<BrokerId, usize> {
        per_broker(
            self.replicas
                .iter()
                .filter_map(|r| r.first())
                .map(|&b| (b, 1usize)),
        )
    }

    /// Bytes per broker id.
    pub fn bytes_per_broker(&self, cluster: &Cluster) -> BTreeMap<BrokerId, u64> {
        per_broker(
            self.replicas
                .iter()
                .zip(&cluster.partitions)
                .flat_map(|(reps, p)| reps.iter().map(|&b| (b, p.size_bytes))),
        )
    }
}

/// Sums per broker id: every id that occurs gets an entry. Summed in a table indexed by id
/// when the ids are compact (they are broker ids of one cluster: one map update per replica
/// would dominate at millions of replicas), in the map itself otherwise.
fn per_broker<T, I>(items: I) -> BTreeMap<BrokerId, T>
where
    T: Copy + Default + std::ops::AddAssign,
    I: Iterator<Item = (BrokerId, T)> + Clone,
{
    const MAX_TABLE: i64 = 1 << 20;
    let bounds = items.clone().fold(
        None,
        |acc: Option<(BrokerId, BrokerId)>, (b, _)| match acc {
            None => Some((b, b)),
            Some((lo, hi)) => Some((lo.min(b), hi.max(b))),
        },
    );
    let mut out = BTreeMap::new();
    match bounds {
        None => {}
        Some((lo, hi)) if (hi as i64 - lo as i64) < MAX_TABLE => {
            let len = (hi as i64 - lo as i64 + 1) as usize;
            let mut sums = vec![T::default(); len];
            let mut seen = vec![false; len];
            for (b, x) in items {
                let k = (b as i64 - lo as i64) as usize;
                sums[k] += x;
                seen[k] = true;
            }
            for (k, (sum, seen)) in sums.into_iter().zip(seen).enumerate() {
                if seen {
                    out.insert((lo as i64 + k as i64) as BrokerId, sum);
                }
            }
        }
        Some(_) => {
            for (b, x) in items {
                *out.entry(b).or_insert_with(T::default) += x;
            }
        }
    }
    out
}

/// A reassignment: the new ordered replica list of every partition that changes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    pub changes: BTreeMap<TopicPartition, Vec<BrokerId>>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn len(&self) -> usize {
        self.changes.len()
    }

    /// The plan that undoes `self` when applied to the layout `self` produces from `before`:
    /// the same partitions with their replica lists in `before`.
    pub fn rollback(&self, cluster: &Cluster, before: &Layout) -> Plan {
        let mut changes = BTreeMap::new();
        for tp in self.changes.keys() {
            if let Some(i) = cluster.partition_index(tp) {
                changes.insert(tp.clone(), before.replicas[i].clone());
            }
        }
        Plan { changes }
    }
}

/// The set of allowed brokers (known minus excluded), sorted.
pub fn allowed_brokers(cluster: &Cluster, excluded: &BTreeSet<BrokerId>) -> Vec<BrokerId> {
    cluster
        .brokers
        .iter()
        .map(|b| b.id)
        .filter(|id| !excluded.contains(id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster() -> Cluster {
        Cluster::new(
            vec![
                Broker {
                    id: 2,
                    rack: Some("a".into()),
                    capacity_bytes: None,
                    log_dirs: Vec::new(),
                },
                Broker {
                    id: 1,
                    rack: None,
                    capacity_bytes: Some(10),
                    log_dirs: Vec::new(),
                },
            ],
            vec![
                Partition {
                    tp: TopicPartition::new("b", 0),
                    replicas: vec![1],
                    size_bytes: 3,
                    leader: None,
                    isr: None,
                    in_flight: None,
                    log_dirs: Vec::new(),
                    rates: None,
                },
                Partition {
                    tp: TopicPartition::new("a", 10),
                    replicas: vec![2, 1],
                    size_bytes: 5,
                    leader: None,
                    isr: None,
                    in_flight: None,
                    log_dirs: Vec::new(),
                    rates: None,
                },
                Partition {
                    tp: TopicPartition::new("a", 9),
                    replicas: vec![1, 2],
                    size_bytes: 7,
                    leader: None,
                    isr: None,
                    in_flight: None,
                    log_dirs: Vec::new(),
                    rates: None,
                },
            ],
        )
    }

    #[test]
    fn sorts_brokers_and_partitions() {
        let c = cluster();
        assert_eq!(c.broker_ids(), vec![1, 2]);
        let tps: Vec<String> = c.partitions.iter().map(|p| p.tp.to_string()).collect();
        assert_eq!(tps, vec!["a-9", "a-10", "b-0"]);
    }

    #[test]
    fn diff_apply_rollback_round_trip() {
        let c = cluster();
        let before = c.current_layout();
        let mut after = before.clone();
        after.replicas[1] = vec![1, 2];
        let plan = before.diff(&c, &after);
        assert_eq!(plan.len(), 1);
        assert_eq!(before.apply(&c, &plan).unwrap(), after);
        let rb = plan.rollback(&c, &before);
        assert_eq!(after.apply(&c, &rb).unwrap(), before);
    }

    #[test]
    fn counts() {
        let c = cluster();
        let l = c.current_layout();
        assert_eq!(l.replica_counts()[&1], 3);
        assert_eq!(l.leader_counts()[&1], 2);
        assert_eq!(l.bytes_per_broker(&c)[&2], 12);
        assert_eq!(Cluster::rack_key(&c.brokers[0]), "b:1");
    }
}
