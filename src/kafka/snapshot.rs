//! A `model::Cluster` read from a live cluster through any `Admin`: brokers with racks,
//! replicas in preferred order, leader, ISR, sizes and capacities from DescribeLogDirs, and
//! the reassignments in flight.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use regex::Regex;

use super::admin::{Admin, ClusterDescription, LogDir, OngoingReassignment, TopicMetadata};
use super::error::Error;
use crate::model::{Broker, BrokerId, BrokerLogDir, Cluster, InFlight, Partition, TopicPartition};

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct SnapshotOptions {
    /// Only topics whose whole name matches (`--topics REGEX`); `None` = all.
    pub topics: Option<Regex>,
    /// Skip internal topics (`__consumer_offsets`, `__transaction_state`, any `__` name).
    pub exclude_internal: bool,
    /// Capacity in bytes per broker where DescribeLogDirs does not report TotalBytes
    /// (brokers before Kafka 3.3) (`--broker-capacity`).
    pub capacity_bytes: BTreeMap<BrokerId, u64>,
    /// Capacity for every other broker without a reported or per-broker value.
    pub default_capacity_bytes: Option<u64>,
}

impl SnapshotOptions {
    /// Compiles a `--topics` regex anchored to the whole topic name, as Kafka's tools match.
    pub fn topic_regex(pattern: &str) -> Result<Regex, regex::Error> {
        Regex::new(&format!("^(?:{pattern})$"))
    }
}

/// A cluster read from Kafka, with what the reader should know about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSnapshot {
    pub cluster: Cluster,
    pub cluster_id: Option<String>,
    pub controller_id: Option<BrokerId>,
    /// Brokers that hold replicas but are not live; included without rack or capacity.
    pub offline_brokers: Vec<BrokerId>,
    pub warnings: Vec<String>,
}

/// True for Kafka's internal topics: flagged by the broker, or named with a `__` prefix.
pub fn is_internal_topic(name: &str, flagged: bool) -> bool {
    flagged || name.starts_with("__")
}

/// Reads the cluster through `admin`.
pub async fn snapshot(admin: &impl Admin, opts: &SnapshotOptions) -> Result<LiveSnapshot, Error> {
    let desc = admin.describe_cluster().await?;
    let topics = admin.describe_topics(None).await?;
    // Brokers (or stand-ins such as librdkafka's mock cluster) without an API: the snapshot
    // still has brokers, racks and replicas, and says what it lacks.
    let mut lacking = Vec::new();
    let reassignments = match admin.list_reassignments(None).await {
        Ok(r) => r,
        Err(Error::UnsupportedApi { api, .. }) => {
            lacking.push(format!(
                "the brokers do not support {api}: in-flight reassignments are unknown"
            ));
            BTreeMap::new()
        }
        Err(e) => return Err(e),
    };
    let ids: Vec<BrokerId> = desc.brokers.iter().map(|b| b.id).collect();
    let log_dirs = match admin.describe_log_dirs(&ids).await {
        Ok(l) => l,
        Err(Error::UnsupportedApi { api, .. }) => {
            lacking.push(format!(
                "the brokers do not support {api}: partition sizes and disk capacity are unknown (0)"
            ));
            BTreeMap::new()
        }
        Err(e) => return Err(e),
    };
    let mut snap = build_snapshot(&desc, &topics, &log_dirs, &reassignments, opts);
    lacking.extend(admin.take_notices());
    snap.warnings.splice(0..0, lacking);
    Ok(snap)
}

/// The pure part of `snapshot`: wire results (already in model terms) to a `Cluster`.
pub fn build_snapshot(
    desc: &ClusterDescription,
    topics: &[TopicMetadata],
    log_dirs: &BTreeMap<BrokerId, Result<Vec<LogDir>, Error>>,
    reassignments: &BTreeMap<TopicPartition, OngoingReassignment>,
    opts: &SnapshotOptions,
) -> LiveSnapshot {
    let mut warnings = Vec::new();

    let mut capacity: BTreeMap<BrokerId, u64> = BTreeMap::new();
    // JBOD: every broker's dirs.
    let mut broker_dirs: BTreeMap<BrokerId, Vec<BrokerLogDir>> = BTreeMap::new();
    for (&broker, result) in log_dirs {
        let dirs = match result {
            Ok(d) => d,
            Err(e) => {
                warnings.push(format!(
                    "broker {broker}: log dirs unavailable ({e}); its replica sizes are unknown"
                ));
                continue;
            }
        };
        let mut total = Some(0u64);
        let mut listed: Vec<BrokerLogDir> = dirs
            .iter()
            .map(|d| BrokerLogDir {
                path: d.path.clone(),
                capacity_bytes: d.total_bytes,
                usable_bytes: d.usable_bytes,
                offline: d.error.is_some(),
            })
            .collect();
        listed.sort_by(|a, b| a.path.cmp(&b.path));
        listed.dedup_by(|a, b| a.path == b.path);
        broker_dirs.insert(broker, listed);
        for dir in dirs {
            if let Some(e) = &dir.error {
                warnings.push(format!(
                    "broker {broker}: log dir {} is offline ({e})",
                    dir.path
                ));
                continue;
            }
            total = match (total, dir.total_bytes) {
                (Some(t), Some(d)) => Some(t.saturating_add(d)),
                _ => None,
            };
        }
        if let Some(t) = total.filter(|t| *t > 0) {
            capacity.insert(broker, t);
        }
    }
    // Replica sizes and dirs per (topic, partition, broker), current (non-future) copies only.
    let reports = ReplicaReports::new(topics, log_dirs);
    for (b, c) in &opts.capacity_bytes {
        capacity.entry(*b).or_insert(*c);
    }
    if let Some(c) = opts.default_capacity_bytes {
        for b in &desc.brokers {
            capacity.entry(b.id).or_insert(c);
        }
    }

    let mut brokers: Vec<Broker> = desc
        .brokers
        .iter()
        .map(|b| Broker {
            id: b.id,
            rack: b.rack.clone(),
            capacity_bytes: capacity.get(&b.id).copied(),
            log_dirs: broker_dirs.remove(&b.id).unwrap_or_default(),
        })
        .collect();
    let live: BTreeSet<BrokerId> = brokers.iter().map(|b| b.id).collect();
    let mut offline: BTreeSet<BrokerId> = BTreeSet::new();

    let mut partitions = Vec::new();
    let mut unsized_count = 0usize;
    for t in topics {
        if let Some(e) = &t.error {
            warnings.push(format!("topic {}: skipped ({e})", t.name));
            continue;
        }
        if opts.exclude_internal && is_internal_topic(&t.name, t.internal) {
            continue;
        }
        if opts.topics.as_ref().is_some_and(|re| !re.is_match(&t.name)) {
            continue;
        }
        for p in &t.partitions {
            let tp = TopicPartition::new(t.name.clone(), p.partition);
            if p.replicas.is_empty() {
                warnings.push(format!("partition {tp}: no replicas reported; skipped"));
                continue;
            }
            for r in &p.replicas {
                if !live.contains(r) {
                    offline.insert(*r);
                }
            }
            let reported = reports.of(&t.name, p.partition);
            let size_of = |b: &BrokerId| ReplicaReports::size(reported, *b);
            // The largest in-sync copy is the partition's size; lagging copies are smaller.
            let in_sync = p
                .replicas
                .iter()
                .filter(|b| p.isr.contains(b))
                .filter_map(size_of)
                .max();
            let size = match in_sync.or_else(|| p.replicas.iter().filter_map(size_of).max()) {
                Some(s) => s,
                None => {
                    unsized_count += 1;
                    0
                }
            };
            let in_flight = reassignments.get(&tp).map(|r| InFlight {
                adding: r.adding.clone(),
                removing: r.removing.clone(),
            });
            let dirs: Vec<Option<String>> = p
                .replicas
                .iter()
                .map(|b| reports.dir(reported, *b).map(str::to_string))
                .collect();
            partitions.push(Partition {
                tp,
                replicas: p.replicas.clone(),
                size_bytes: size,
                leader: p.leader,
                isr: Some(p.isr.clone()),
                in_flight,
                log_dirs: if dirs.iter().any(Option::is_some) {
                    dirs
                } else {
                    Vec::new()
                },
                rates: None,
            });
        }
    }
    if unsized_count > 0 {
        warnings.push(format!(
            "{unsized_count} partitions have no size in any log dir report; counted as 0 bytes"
        ));
    }
    for id in &offline {
        warnings.push(format!(
            "broker {id} holds replicas but is not live; included without rack or capacity"
        ));
        brokers.push(Broker {
            id: *id,
            rack: None,
            capacity_bytes: opts
                .capacity_bytes
                .get(id)
                .copied()
                .or(opts.default_capacity_bytes),
            log_dirs: Vec::new(),
        });
    }
    let mut cluster = Cluster::new(brokers, partitions);
    let in_offline = cluster.place_unlisted_in_offline_dirs();
    if in_offline > 0 {
        warnings.push(format!(
            "{in_offline} replica(s) are listed in no log dir of their broker, whose only offline dir is taken to hold them"
        ));
    }
    LiveSnapshot {
        cluster,
        cluster_id: desc.cluster_id.clone(),
        controller_id: desc.controller_id,
        offline_brokers: offline.into_iter().collect(),
        warnings,
    }
}

/// Every current (non-future) replica copy the log-dir reports list, grouped by partition:
/// for each (topic, partition) of the metadata, its copies' (broker, size, dir) in report
/// order (brokers in id order, dirs and replicas as each broker listed them). Flat and
/// filled in two passes rather than two hash maps keyed by (topic name, partition,
/// broker): at 5 M partitions those maps held 15 M string-keyed entries each, and hashing
/// and rehashing them was most of the snapshot's CPU time and over a GB of its memory.
struct ReplicaReports<'a> {
    slots: PartitionSlots<'a>,
    /// `entries[start[s]..start[s + 1]]` are slot `s`'s copies.
    start: Vec<usize>,
    entries: Vec<ReportedCopy>,
    /// The dirs the entries name, by index.
    dirs: Vec<&'a str>,
}

#[derive(Debug, Clone, Copy)]
struct ReportedCopy {
    broker: BrokerId,
    dir: u32,
    size_bytes: u64,
}

impl<'a> ReplicaReports<'a> {
    fn new(
        topics: &'a [TopicMetadata],
        log_dirs: &'a BTreeMap<BrokerId, Result<Vec<LogDir>, Error>>,
    ) -> Self {
        let slots = PartitionSlots::new(topics);
        // The copies to index, in report order, with the slot of each (None: a partition
        // the metadata does not list, which nothing looks up).
        let copies = || {
            log_dirs
                .iter()
                .filter_map(|(&broker, result)| result.as_ref().ok().map(|dirs| (broker, dirs)))
                .flat_map(|(broker, dirs)| {
                    dirs.iter()
                        .filter(|d| d.error.is_none())
                        .flat_map(move |d| d.replicas.iter().map(move |r| (broker, d, r)))
                })
                .filter(|(_, _, r)| !r.is_future)
        };
        let mut count = vec![0usize; slots.len];
        let mut cache = SlotCache::default();
        for (_, _, r) in copies() {
            if let Some(s) = cache.slot(&slots, &r.tp.topic, r.tp.partition) {
                count[s] += 1;
            }
        }
        let mut start = Vec::with_capacity(slots.len + 1);
        let mut total = 0usize;
        start.push(0);
        for c in &count {
            total += c;
            start.push(total);
        }
        // `count` becomes each slot's fill cursor.
        count.copy_from_slice(&start[..slots.len]);
        let mut entries = vec![
            ReportedCopy {
                broker: 0,
                dir: 0,
                size_bytes: 0,
            };
            total
        ];
        let mut dirs: Vec<&str> = Vec::new();
        let mut last_dir: Option<&LogDir> = None;
        let mut cache = SlotCache::default();
        for (broker, d, r) in copies() {
            if !last_dir.is_some_and(|last| std::ptr::eq(last, d)) {
                last_dir = Some(d);
                dirs.push(d.path.as_str());
            }
            let Some(s) = cache.slot(&slots, &r.tp.topic, r.tp.partition) else {
                continue;
            };
            // Fewer than u32::MAX dirs: each holds at least one of the copies counted above,
            // which fit in memory; saturating keeps an impossible overflow from panicking.
            let dir = u32::try_from(dirs.len() - 1).unwrap_or(u32::MAX);
            entries[count[s]] = ReportedCopy {
                broker,
                dir,
                size_bytes: r.size_bytes,
            };
            count[s] += 1;
        }
        ReplicaReports {
            slots,
            start,
            entries,
            dirs,
        }
    }

    /// The copies reported for a partition (empty when none or not in the metadata).
    fn of(&self, topic: &str, partition: i32) -> &[ReportedCopy] {
        match self.slots.slot(topic, partition) {
            Some(s) => &self.entries[self.start[s]..self.start[s + 1]],
            None => &[],
        }
    }

    /// The size of `broker`'s copy: the largest it reported, if more than one.
    fn size(copies: &[ReportedCopy], broker: BrokerId) -> Option<u64> {
        copies
            .iter()
            .filter(|c| c.broker == broker)
            .map(|c| c.size_bytes)
            .max()
    }

    /// The dir of `broker`'s copy: the last one it reported it in.
    fn dir(&self, copies: &[ReportedCopy], broker: BrokerId) -> Option<&'a str> {
        copies
            .iter()
            .rev()
            .find(|c| c.broker == broker)
            .and_then(|c| self.dirs.get(c.dir as usize).copied())
    }
}

/// A dense index for every (topic, partition) the metadata lists: one slot per distinct
/// pair, even when a topic or a partition is listed twice.
struct PartitionSlots<'a> {
    by_topic: HashMap<&'a str, TopicSlots>,
    len: usize,
}

struct TopicSlots {
    base: usize,
    /// The topic's distinct partition numbers, sorted; `None` when they are exactly
    /// 0..count (the usual case), so a slot is `base + partition`.
    numbers: Option<Vec<i32>>,
    count: usize,
}

impl<'a> PartitionSlots<'a> {
    fn new(topics: &'a [TopicMetadata]) -> Self {
        let mut numbers: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for t in topics {
            numbers
                .entry(t.name.as_str())
                .or_default()
                .extend(t.partitions.iter().map(|p| p.partition));
        }
        let mut by_topic = HashMap::with_capacity(numbers.len());
        let mut len = 0usize;
        for (name, mut list) in numbers {
            list.sort_unstable();
            list.dedup();
            let count = list.len();
            let dense = list
                .iter()
                .enumerate()
                .all(|(i, &p)| usize::try_from(p) == Ok(i));
            by_topic.insert(
                name,
                TopicSlots {
                    base: len,
                    numbers: (!dense).then_some(list),
                    count,
                },
            );
            len += count;
        }
        PartitionSlots { by_topic, len }
    }

    fn slot(&self, topic: &str, partition: i32) -> Option<usize> {
        self.by_topic.get(topic)?.slot(partition)
    }
}

impl TopicSlots {
    fn slot(&self, partition: i32) -> Option<usize> {
        let i = match &self.numbers {
            None => usize::try_from(partition)
                .ok()
                .filter(|&i| i < self.count)?,
            Some(list) => list.binary_search(&partition).ok()?,
        };
        Some(self.base + i)
    }
}

/// The last topic looked up: a log dir lists a topic's replicas together, so most lookups
/// compare one name instead of hashing it.
#[derive(Default)]
struct SlotCache<'t> {
    last: Option<(&'t str, Option<&'t TopicSlots>)>,
}

impl<'t> SlotCache<'t> {
    fn slot(
        &mut self,
        slots: &'t PartitionSlots<'_>,
        topic: &'t str,
        partition: i32,
    ) -> Option<usize> {
        let topic_slots = match self.last {
            Some((name, found)) if name == topic => found,
            _ => {
                let found = slots.by_topic.get(topic);
                self.last = Some((topic, found));
                found
            }
        };
        topic_slots?.slot(partition)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::admin::Admin;
    use crate::kafka::fake::FakeAdmin;
    use crate::model::validate_cluster;

    fn fake() -> FakeAdmin {
        FakeAdmin::new()
            .with_broker(1, Some("a"), Some(10_000))
            .with_broker(2, Some("b"), None)
            .with_broker(3, None, None)
            .with_partition("foo", 0, &[1, 2], 100)
            .with_partition("foo", 1, &[2, 3], 50)
            .with_partition("bar", 0, &[3, 1], 7)
            .with_partition("__consumer_offsets", 0, &[1, 2, 3], 1)
    }

    /// The admin futures are `Send`, so a snapshot (or an executor) can run on a
    /// multi-threaded runtime or in a spawned task.
    #[test]
    fn futures_are_send() {
        fn assert_send<T: Send>(_: &T) {}
        let real = crate::kafka::KafkaAdmin::new("127.0.0.1:1", Default::default()).unwrap();
        let opts = SnapshotOptions::default();
        assert_send(&snapshot(&real, &opts));
        let f = fake();
        assert_send(&snapshot(&f, &opts));
    }

    #[tokio::test]
    async fn snapshot_from_fake() {
        let f = fake();
        let opts = SnapshotOptions {
            capacity_bytes: [(1, 5), (2, 20_000)].into_iter().collect(),
            ..Default::default()
        };
        let s = snapshot(&f, &opts).await.unwrap();
        assert!(validate_cluster(&s.cluster).is_empty());
        assert_eq!(s.cluster.broker_ids(), [1, 2, 3]);
        assert_eq!(s.cluster.brokers[0].rack.as_deref(), Some("a"));
        // Reported total wins over the flag; the flag fills the gap.
        assert_eq!(s.cluster.brokers[0].capacity_bytes, Some(10_000));
        assert_eq!(s.cluster.brokers[1].capacity_bytes, Some(20_000));
        assert_eq!(s.cluster.brokers[2].capacity_bytes, None);
        let all = SnapshotOptions {
            default_capacity_bytes: Some(7),
            ..opts.clone()
        };
        let s2 = snapshot(&f, &all).await.unwrap();
        assert_eq!(s2.cluster.brokers[2].capacity_bytes, Some(7));
        assert_eq!(s2.cluster.brokers[1].capacity_bytes, Some(20_000));
        let tps: Vec<String> = s
            .cluster
            .partitions
            .iter()
            .map(|p| p.tp.to_string())
            .collect();
        assert_eq!(tps, ["__consumer_offsets-0", "bar-0", "foo-0", "foo-1"]);
        let foo0 = &s.cluster.partitions[2];
        assert_eq!(foo0.size_bytes, 100);
        assert_eq!(foo0.leader, Some(1));
        assert_eq!(foo0.isr.as_deref(), Some(&[1, 2][..]));
        assert_eq!(s.cluster_id.as_deref(), Some("fake-cluster"));
    }

    #[tokio::test]
    async fn filters_and_in_flight() {
        let f = fake();
        let t = [(TopicPartition::new("foo", 0), Some(vec![3, 2]))]
            .into_iter()
            .collect();
        f.alter_reassignments(&t, true).await.unwrap();
        let opts = SnapshotOptions {
            topics: Some(SnapshotOptions::topic_regex("foo|__.*").unwrap()),
            exclude_internal: true,
            ..Default::default()
        };
        let s = snapshot(&f, &opts).await.unwrap();
        let tps: Vec<String> = s
            .cluster
            .partitions
            .iter()
            .map(|p| p.tp.to_string())
            .collect();
        assert_eq!(tps, ["foo-0", "foo-1"]);
        let p = &s.cluster.partitions[0];
        assert_eq!(p.replicas, [3, 2, 1]);
        assert_eq!(
            p.in_flight,
            Some(InFlight {
                adding: vec![3],
                removing: vec![1]
            })
        );
        // The adding copy on 3 is not in sync: the size comes from the in-sync copies.
        assert_eq!(p.size_bytes, 100);
        // Whole-name match: "foo" does not match "foobar".
        assert!(!SnapshotOptions::topic_regex("foo")
            .unwrap()
            .is_match("foobar"));
    }

    #[tokio::test]
    async fn dead_broker_is_kept_with_warning() {
        let f = fake();
        f.set_broker_alive(3, false);
        let s = snapshot(&f, &SnapshotOptions::default()).await.unwrap();
        assert_eq!(s.offline_brokers, [3]);
        assert!(validate_cluster(&s.cluster).is_empty());
        assert!(s
            .warnings
            .iter()
            .any(|w| w.contains("broker 3 holds replicas")));
        // bar-0 had 3 as leader; its size still comes from broker 1.
        let bar = &s.cluster.partitions[1];
        assert_eq!(bar.tp.to_string(), "bar-0");
        assert_eq!(bar.size_bytes, 7);
    }

    #[test]
    fn future_replicas_and_largest_in_sync() {
        use crate::kafka::admin::{BrokerNode, LogDirReplica, PartitionMetadata};
        let desc = ClusterDescription {
            cluster_id: None,
            controller_id: Some(1),
            brokers: (1..=2)
                .map(|id| BrokerNode {
                    id,
                    host: "h".into(),
                    port: 1,
                    rack: None,
                    fenced: false,
                })
                .collect(),
        };
        let topics = vec![TopicMetadata {
            name: "t".into(),
            internal: false,
            partitions: vec![PartitionMetadata {
                partition: 0,
                leader: Some(1),
                replicas: vec![1, 2],
                isr: vec![1],
                offline: vec![],
                error: None,
            }],
            error: None,
        }];
        let rep = |b: u64, fut: bool| LogDirReplica {
            tp: TopicPartition::new("t", 0),
            size_bytes: b,
            offset_lag: 0,
            is_future: fut,
        };
        let dir = |replicas, total| LogDir {
            path: "/d".into(),
            error: None,
            total_bytes: total,
            usable_bytes: None,
            replicas,
        };
        let mut log_dirs = BTreeMap::new();
        // Broker 1 (in sync): 10 bytes, plus a bigger future copy that must be ignored.
        log_dirs.insert(
            1,
            Ok(vec![dir(vec![rep(10, false), rep(99, true)], Some(1000))]),
        );
        // Broker 2 (out of sync) claims more: ignored because not in the ISR.
        log_dirs.insert(2, Ok(vec![dir(vec![rep(50, false)], None)]));
        let s = build_snapshot(
            &desc,
            &topics,
            &log_dirs,
            &BTreeMap::new(),
            &SnapshotOptions::default(),
        );
        assert_eq!(s.cluster.partitions[0].size_bytes, 10);
        assert_eq!(s.cluster.brokers[0].capacity_bytes, Some(1000));
        assert_eq!(s.cluster.brokers[1].capacity_bytes, None);
    }

    #[test]
    fn log_dirs_and_replica_dirs_are_kept() {
        use crate::kafka::admin::{BrokerNode, LogDirReplica, PartitionMetadata};
        let desc = ClusterDescription {
            cluster_id: None,
            controller_id: Some(1),
            brokers: (1..=2)
                .map(|id| BrokerNode {
                    id,
                    host: "h".into(),
                    port: 1,
                    rack: None,
                    fenced: false,
                })
                .collect(),
        };
        let part = |p: i32| PartitionMetadata {
            partition: p,
            leader: Some(1),
            replicas: vec![1, 2],
            isr: vec![1, 2],
            offline: vec![],
            error: None,
        };
        let topics = vec![TopicMetadata {
            name: "t".into(),
            internal: false,
            partitions: vec![part(0), part(1)],
            error: None,
        }];
        let rep = |p: i32, fut: bool| LogDirReplica {
            tp: TopicPartition::new("t", p),
            size_bytes: 10,
            offset_lag: 0,
            is_future: fut,
        };
        let dir = |path: &str, replicas, error| LogDir {
            path: path.into(),
            error,
            total_bytes: Some(100),
            usable_bytes: Some(80),
            replicas,
        };
        let mut log_dirs = BTreeMap::new();
        // Broker 1: t-0 in /b (its future copy in /a is not where it lives), t-1 in /a.
        log_dirs.insert(
            1,
            Ok(vec![
                dir("/b", vec![rep(0, false)], None),
                dir("/a", vec![rep(1, false), rep(0, true)], None),
            ]),
        );
        // Broker 2: /x offline (Kafka lists nothing in it), t-0 in /y; t-1 must be in /x.
        log_dirs.insert(
            2,
            Ok(vec![
                dir(
                    "/x",
                    vec![],
                    Some(Error::broker("DescribeLogDirs", 56, None)),
                ),
                dir("/y", vec![rep(0, false)], None),
            ]),
        );
        let s = build_snapshot(
            &desc,
            &topics,
            &log_dirs,
            &BTreeMap::new(),
            &SnapshotOptions::default(),
        );
        let b1 = &s.cluster.brokers[0];
        let paths: Vec<&str> = b1.log_dirs.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, ["/a", "/b"]);
        assert_eq!(b1.log_dirs[0].capacity_bytes, Some(100));
        assert_eq!(b1.log_dirs[0].usable_bytes, Some(80));
        assert!(s.cluster.brokers[1].log_dirs[0].offline);
        let dirs = |p: usize| s.cluster.partitions[p].log_dirs.clone();
        assert_eq!(dirs(0), [Some("/b".to_string()), Some("/y".to_string())]);
        assert_eq!(dirs(1), [Some("/a".to_string()), Some("/x".to_string())]);
        assert!(validate_cluster(&s.cluster).is_empty());
        assert!(s.warnings.iter().any(|w| w.contains("only offline dir")));
    }

    #[test]
    fn replica_reports_find_each_partitions_copies() {
        let storage_error = || Error::Broker {
            api: "DescribeLogDirs",
            code: 56,
            name: "KAFKA_STORAGE_ERROR".into(),
            message: None,
            peer: None,
        };
        use crate::kafka::admin::{LogDirReplica, PartitionMetadata};
        let part = |p: i32| PartitionMetadata {
            partition: p,
            leader: Some(1),
            replicas: vec![1, 2],
            isr: vec![1, 2],
            offline: vec![],
            error: None,
        };
        let topic = |name: &str, parts: &[i32]| TopicMetadata {
            name: name.into(),
            internal: false,
            partitions: parts.iter().map(|&p| part(p)).collect(),
            error: None,
        };
        // "dense" is 0..3; "sparse" skips numbers and is listed twice with new ones.
        let topics = vec![
            topic("dense", &[0, 1, 2]),
            topic("sparse", &[7, 3]),
            topic("sparse", &[3, 11]),
        ];
        let rep = |t: &str, p: i32, size: u64, fut: bool| LogDirReplica {
            tp: TopicPartition::new(t, p),
            size_bytes: size,
            offset_lag: 0,
            is_future: fut,
        };
        let dir = |path: &str, error: Option<Error>, replicas| LogDir {
            path: path.into(),
            error,
            total_bytes: None,
            usable_bytes: None,
            replicas,
        };
        let mut log_dirs = BTreeMap::new();
        log_dirs.insert(
            1,
            Ok(vec![
                dir(
                    "/a",
                    None,
                    vec![
                        rep("dense", 1, 10, false),
                        rep("sparse", 11, 5, false),
                        rep("gone", 0, 1, false),
                        rep("dense", 9, 1, false),
                    ],
                ),
                // The same copy again in another dir: the larger size, the later dir.
                dir(
                    "/b",
                    None,
                    vec![rep("dense", 1, 12, false), rep("sparse", 7, 99, true)],
                ),
                dir(
                    "/c",
                    Some(storage_error()),
                    vec![rep("sparse", 3, 1, false)],
                ),
            ]),
        );
        log_dirs.insert(
            2,
            Ok(vec![dir("/z", None, vec![rep("dense", 1, 8, false)])]),
        );
        log_dirs.insert(3, Err(storage_error()));
        let reports = ReplicaReports::new(&topics, &log_dirs);
        assert_eq!(reports.slots.len, 3 + 3);
        let d1 = reports.of("dense", 1);
        assert_eq!(ReplicaReports::size(d1, 1), Some(12));
        assert_eq!(reports.dir(d1, 1), Some("/b"));
        assert_eq!(ReplicaReports::size(d1, 2), Some(8));
        assert_eq!(reports.dir(d1, 2), Some("/z"));
        assert_eq!(ReplicaReports::size(d1, 3), None);
        let s11 = reports.of("sparse", 11);
        assert_eq!(
            (ReplicaReports::size(s11, 1), reports.dir(s11, 1)),
            (Some(5), Some("/a"))
        );
        // A future copy, a copy in an offline dir, and names the metadata lacks: nothing.
        assert!(reports.of("sparse", 7).is_empty());
        assert!(reports.of("sparse", 3).is_empty());
        assert!(reports.of("gone", 0).is_empty());
        assert!(reports.of("dense", 9).is_empty());
        assert!(reports.of("dense", -1).is_empty());
        assert!(reports.of("dense", 0).is_empty());
    }

    /// The index answers what the (topic, partition, broker) maps it replaced answered:
    /// the largest size and the last dir of each copy, on random reports with repeated,
    /// sparse and unknown partitions, future copies and offline dirs.
    #[test]
    fn replica_reports_agree_with_a_map_per_copy() {
        use crate::kafka::admin::{LogDirReplica, PartitionMetadata};
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _ in 0..50 {
            let topics: Vec<TopicMetadata> = (0..6)
                .map(|_| TopicMetadata {
                    name: format!("t{}", next(4)),
                    internal: false,
                    partitions: (0..next(5))
                        .map(|_| PartitionMetadata {
                            partition: next(6) as i32,
                            leader: None,
                            replicas: vec![],
                            isr: vec![],
                            offline: vec![],
                            error: None,
                        })
                        .collect(),
                    error: None,
                })
                .collect();
            let mut log_dirs = BTreeMap::new();
            for broker in 0..4 {
                let dirs: Vec<LogDir> = (0..next(3))
                    .map(|d| LogDir {
                        path: format!("/d{d}"),
                        error: (next(5) == 0).then(|| Error::Broker {
                            api: "DescribeLogDirs",
                            code: 56,
                            name: "KAFKA_STORAGE_ERROR".into(),
                            message: None,
                            peer: None,
                        }),
                        total_bytes: None,
                        usable_bytes: None,
                        replicas: (0..next(8))
                            .map(|_| LogDirReplica {
                                tp: TopicPartition::new(format!("t{}", next(5)), next(7) as i32),
                                size_bytes: next(100),
                                offset_lag: 0,
                                is_future: next(6) == 0,
                            })
                            .collect(),
                    })
                    .collect();
                log_dirs.insert(broker, Ok(dirs));
            }
            let mut sizes: HashMap<(&str, i32, BrokerId), u64> = HashMap::new();
            let mut dirs: HashMap<(&str, i32, BrokerId), &str> = HashMap::new();
            for (&b, result) in &log_dirs {
                let Ok(list) = result else { continue };
                for d in list.iter().filter(|d| d.error.is_none()) {
                    for r in d.replicas.iter().filter(|r| !r.is_future) {
                        let key = (r.tp.topic.as_str(), r.tp.partition, b);
                        dirs.insert(key, d.path.as_str());
                        let e = sizes.entry(key).or_insert(0);
                        *e = (*e).max(r.size_bytes);
                    }
                }
            }
            let reports = ReplicaReports::new(&topics, &log_dirs);
            for t in &topics {
                for p in &t.partitions {
                    let copies = reports.of(&t.name, p.partition);
                    for b in 0..5 {
                        let key = (t.name.as_str(), p.partition, b);
                        assert_eq!(ReplicaReports::size(copies, b), sizes.get(&key).copied());
                        assert_eq!(reports.dir(copies, b), dirs.get(&key).copied());
                    }
                }
            }
        }
    }
}
