//! The one builder for the small clusters planner tests write by hand, the bundled fixture
//! snapshots as clusters, and the disk figures several tests compare.

use std::collections::BTreeSet;

use kafka_replan::formats::snapshot::parse_snapshot;
use kafka_replan::model::{Broker, BrokerId, Cluster, Layout, Partition, TopicPartition};

/// A cluster assembled broker by broker and partition by partition; `build` sorts both as
/// `Cluster::new` does.
#[derive(Debug, Default, Clone)]
pub struct SmallCluster {
    brokers: Vec<Broker>,
    partitions: Vec<Partition>,
}

impl SmallCluster {
    pub fn new() -> SmallCluster {
        SmallCluster::default()
    }

    /// Adds a broker (`rack` `None` = no `broker.rack`; `capacity` `None` = unknown).
    pub fn broker(mut self, id: BrokerId, rack: Option<&str>, capacity: Option<u64>) -> Self {
        self.add_broker(id, rack, capacity);
        self
    }

    pub fn add_broker(&mut self, id: BrokerId, rack: Option<&str>, capacity: Option<u64>) {
        self.brokers.push(Broker {
            id,
            rack: rack.map(str::to_string),
            capacity_bytes: capacity,
            log_dirs: Vec::new(),
        });
    }

    /// Adds a partition with its replicas (`[0]` the preferred leader) and size; no leader,
    /// ISR or reassignment in flight is known.
    pub fn partition(mut self, topic: &str, p: i32, replicas: Vec<BrokerId>, size: u64) -> Self {
        self.add_partition(topic, p, replicas, size);
        self
    }

    pub fn add_partition(&mut self, topic: &str, p: i32, replicas: Vec<BrokerId>, size: u64) {
        self.partitions.push(Partition {
            tp: TopicPartition::new(topic, p),
            replicas,
            size_bytes: size,
            leader: None,
            isr: None,
            in_flight: None,
            log_dirs: Vec::new(),
            rates: None,
        });
    }

    pub fn build(self) -> Cluster {
        Cluster::new(self.brokers, self.partitions)
    }
}

/// The snapshot of `fixtures/<case>/` as a cluster.
pub fn fixture_cluster(case: &str) -> Cluster {
    let path = format!(
        "{}/fixtures/{case}/snapshot.json",
        env!("CARGO_MANIFEST_DIR")
    );
    parse_snapshot(&path, std::fs::read(&path).unwrap()).unwrap()
}

/// Largest broker utilisation (bytes / capacity) over the mean, over the brokers with a
/// capacity that are not excluded.
pub fn disk_max_mean(c: &Cluster, l: &Layout, excluded: &BTreeSet<BrokerId>) -> f64 {
    let bytes = l.bytes_per_broker(c);
    let utils: Vec<f64> = c
        .brokers
        .iter()
        .filter(|b| !excluded.contains(&b.id))
        .filter_map(|b| {
            b.capacity_bytes
                .map(|cap| bytes.get(&b.id).copied().unwrap_or(0) as f64 / cap as f64)
        })
        .collect();
    let mean = utils.iter().sum::<f64>() / utils.len() as f64;
    utils.iter().cloned().fold(0.0, f64::max) / mean
}
