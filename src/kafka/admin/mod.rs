//! The admin calls kafka-replan needs, in model terms (no wire types in signatures), and
//! `KafkaAdmin`, their implementation over real connections (spec §D2–§D7).
//!
//! - this file: the model-side types and the `Admin` trait;
//! - `client`: `KafkaAdmin`'s connections, routing (any broker, the controller, one broker)
//!   and the one `call` with its retry and resend rules;
//! - `calls`: each `Admin` call, the request it builds and how its answer is read;
//! - `decode`: wire → model conversions, and the one per-item result decoder every batched
//!   call shares;
//! - `topics`: reading topics across a rolling upgrade (pages, else Metadata), and topic
//!   creation and deletion (tests and tooling only).

mod calls;
mod client;
mod decode;
#[cfg(test)]
mod pool_tests;
#[cfg(test)]
mod scale_tests;
#[cfg(test)]
mod tests;
mod topics;

use std::collections::BTreeMap;
use std::future::Future;

use super::error::Error;
use crate::model::{BrokerId, TopicPartition};

pub use calls::{
    metadata_request, DESCRIBE_CONFIGS_RESOURCES_PER_REQUEST, LIST_OFFSETS_PARTITIONS_PER_REQUEST,
    LIST_REASSIGNMENTS_PARTITIONS_PER_REQUEST, OFFSET_FETCH_GROUPS_PER_REQUEST,
};
pub use client::KafkaAdmin;
pub use decode::{
    cluster_from_describe, cluster_from_metadata, election_outcomes, log_dir_move_outcomes,
    log_dirs_from_response, topics_from_metadata,
};
pub use decode::{
    committed_offsets_from_group, committed_offsets_from_single, coordinator_from_single,
    coordinators_from_batch, groups_from_list, offsets_from_list_offsets,
};

/// A broker as the cluster describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerNode {
    pub id: BrokerId,
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
    /// Fenced (KRaft): registered but not serving. Only reported by DescribeCluster v2+.
    pub fenced: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterDescription {
    pub cluster_id: Option<String>,
    /// In KRaft, a live broker that forwards controller requests (§D1 routing).
    pub controller_id: Option<BrokerId>,
    /// Sorted by id.
    pub brokers: Vec<BrokerNode>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionMetadata {
    pub partition: i32,
    /// `None` when the partition has no live leader.
    pub leader: Option<BrokerId>,
    /// Ordered; `[0]` is the preferred leader. May contain ids of dead brokers.
    pub replicas: Vec<BrokerId>,
    pub isr: Vec<BrokerId>,
    pub offline: Vec<BrokerId>,
    /// A partition-level error carried as data (e.g. LEADER_NOT_AVAILABLE, §D5).
    pub error: Option<Error>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMetadata {
    pub name: String,
    pub internal: bool,
    /// Sorted by partition.
    pub partitions: Vec<PartitionMetadata>,
    /// A topic-level error (e.g. UNKNOWN_TOPIC_OR_PARTITION for a named topic).
    pub error: Option<Error>,
}

/// One replica in one log directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogDirReplica {
    pub tp: TopicPartition,
    pub size_bytes: u64,
    pub offset_lag: i64,
    /// The destination copy of an intra-broker move (§D6).
    pub is_future: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogDir {
    pub path: String,
    /// E.g. KAFKA_STORAGE_ERROR for an offline directory.
    pub error: Option<Error>,
    /// Reported by DescribeLogDirs v4+ (Kafka 3.3+); `None` when unknown.
    pub total_bytes: Option<u64>,
    pub usable_bytes: Option<u64>,
    pub replicas: Vec<LogDirReplica>,
}

/// A reassignment in flight (KIP-455).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OngoingReassignment {
    pub replicas: Vec<BrokerId>,
    pub adding: Vec<BrokerId>,
    pub removing: Vec<BrokerId>,
}

/// A config resource. `BrokerDefault` is the cluster-wide dynamic broker default
/// (resource name `""`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConfigResource {
    Topic(String),
    Broker(BrokerId),
    BrokerDefault,
}

impl ConfigResource {
    pub(super) fn wire(&self) -> (i8, String) {
        match self {
            ConfigResource::Topic(t) => (2, t.clone()),
            ConfigResource::Broker(id) => (4, id.to_string()),
            ConfigResource::BrokerDefault => (4, String::new()),
        }
    }

    pub(super) fn from_wire(ty: i8, name: &str) -> Option<ConfigResource> {
        match ty {
            2 => Some(ConfigResource::Topic(name.to_string())),
            4 if name.is_empty() => Some(ConfigResource::BrokerDefault),
            4 => name.parse().ok().map(ConfigResource::Broker),
            _ => None,
        }
    }
}

impl std::fmt::Display for ConfigResource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigResource::Topic(t) => write!(f, "topic {t}"),
            ConfigResource::Broker(b) => write!(f, "broker {b}"),
            ConfigResource::BrokerDefault => f.write_str("broker default"),
        }
    }
}

/// Where a config value comes from (DescribeConfigs ConfigSource).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    Topic,
    DynamicBroker,
    DynamicDefaultBroker,
    StaticBroker,
    Default,
    Other(i8),
}

impl ConfigSource {
    pub(super) fn from_wire(v: i8) -> ConfigSource {
        match v {
            1 => ConfigSource::Topic,
            2 => ConfigSource::DynamicBroker,
            3 => ConfigSource::DynamicDefaultBroker,
            4 => ConfigSource::StaticBroker,
            5 => ConfigSource::Default,
            other => ConfigSource::Other(other),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: String,
    /// `None` for sensitive values and unset keys.
    pub value: Option<String>,
    pub source: ConfigSource,
    pub read_only: bool,
    pub sensitive: bool,
}

/// IncrementalAlterConfigs operations (§D7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigOp {
    Set(String),
    Delete,
    Append(String),
    Subtract(String),
}

impl ConfigOp {
    pub(super) fn wire(&self) -> (i8, Option<&str>) {
        match self {
            ConfigOp::Set(v) => (0, Some(v)),
            ConfigOp::Delete => (1, None),
            ConfigOp::Append(v) => (2, Some(v)),
            ConfigOp::Subtract(v) => (3, Some(v)),
        }
    }
}

/// Which offset of a partition ListOffsets asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OffsetSpec {
    /// The log start offset (wire timestamp -2).
    Earliest,
    /// The log-end offset as consumers see it: the high watermark (wire timestamp -1,
    /// READ_UNCOMMITTED).
    Latest,
}

impl OffsetSpec {
    pub(super) fn wire_timestamp(self) -> i64 {
        match self {
            OffsetSpec::Earliest => -2,
            OffsetSpec::Latest => -1,
        }
    }
}

/// A group as ListGroups lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupListing {
    pub group_id: String,
    /// `consumer` for consumer groups, `connect` for Connect workers, empty for groups that
    /// only commit offsets.
    pub protocol_type: String,
    /// `Stable`, `Empty`, ... (ListGroups v4+); `None` when not reported.
    pub state: Option<String>,
    /// `classic`, `consumer`, `share`, `streams` (ListGroups v5+); `None` when not reported.
    pub group_type: Option<String>,
}

/// The committed offsets of one group: per partition its committed offset, or the error
/// the coordinator reported for that partition. Partitions without a committed offset are
/// left out.
pub type GroupOffsets = BTreeMap<TopicPartition, Result<i64, Error>>;

/// Per-item outcomes of a call that acts on many items.
pub type Outcomes<K> = BTreeMap<K, Result<(), Error>>;

/// The admin calls kafka-replan makes, in model terms. Implemented by `KafkaAdmin` (a real
/// cluster) and `FakeAdmin` (in memory, with fault injection). The futures are `Send`, so
/// callers may drive them on any runtime; implementations write plain `async fn`.
pub trait Admin: Sync {
    /// Brokers (with racks), controller id and cluster id.
    fn describe_cluster(&self) -> impl Future<Output = Result<ClusterDescription, Error>> + Send;

    /// Topic/partition metadata; `None` = every topic. Never creates topics (§F D3).
    fn describe_topics(
        &self,
        topics: Option<&[String]>,
    ) -> impl Future<Output = Result<Vec<TopicMetadata>, Error>> + Send;

    /// Log directories of each broker asked for; a broker that cannot answer gets an `Err`.
    fn describe_log_dirs(
        &self,
        brokers: &[BrokerId],
    ) -> impl Future<Output = Result<BTreeMap<BrokerId, Result<Vec<LogDir>, Error>>, Error>> + Send;

    /// Reassignments in flight; `None` = all.
    fn list_reassignments(
        &self,
        partitions: Option<&[TopicPartition]>,
    ) -> impl Future<Output = Result<BTreeMap<TopicPartition, OngoingReassignment>, Error>> + Send;

    /// Starts (`Some(target)`) or cancels (`None`) reassignments. Per-partition errors such
    /// as NO_REASSIGNMENT_IN_PROGRESS are reported, not retried (§F D4). Not resent after a
    /// timeout: the outcome is then `Error::OutcomeUnknown`.
    fn alter_reassignments(
        &self,
        targets: &BTreeMap<TopicPartition, Option<Vec<BrokerId>>>,
        allow_replication_factor_change: bool,
    ) -> impl Future<Output = Result<Outcomes<TopicPartition>, Error>> + Send;

    /// Config entries per resource; `keys` = `None` for all.
    fn describe_configs(
        &self,
        resources: &[ConfigResource],
        keys: Option<&[String]>,
    ) -> impl Future<Output = Result<BTreeMap<ConfigResource, Result<Vec<ConfigEntry>, Error>>, Error>>
           + Send;

    fn incremental_alter_configs(
        &self,
        changes: &BTreeMap<ConfigResource, Vec<(String, ConfigOp)>>,
    ) -> impl Future<Output = Result<Outcomes<ConfigResource>, Error>> + Send;

    /// Moves replicas of `broker` to another of its log directories (AlterReplicaLogDirs,
    /// spec §C5/§D6), sent to that broker: each partition's replica goes to the absolute
    /// path given. Per-partition errors are reported: REPLICA_NOT_AVAILABLE (9) while the
    /// replica does not exist on the broker yet (the broker remembers the path for when it
    /// is created; ask again), LOG_DIR_NOT_FOUND (57) for a path the broker does not have,
    /// KAFKA_STORAGE_ERROR (56) for an offline directory. Asking again for the directory a
    /// move already heads to changes nothing, and asking for the replica's current
    /// directory stops a move in flight (Kafka's cancel of an intra-broker move).
    fn alter_replica_log_dirs(
        &self,
        broker: BrokerId,
        moves: &BTreeMap<TopicPartition, String>,
    ) -> impl Future<Output = Result<Outcomes<TopicPartition>, Error>> + Send;

    /// PREFERRED election; ELECTION_NOT_NEEDED counts as success (§F D5).
    fn elect_preferred_leaders(
        &self,
        partitions: &[TopicPartition],
    ) -> impl Future<Output = Result<Outcomes<TopicPartition>, Error>> + Send;

    /// The `spec` offset of each partition, asked of `leader` (the partition leader) in one
    /// ListOffsets request. Per-partition errors are data: NOT_LEADER_OR_FOLLOWER means the
    /// leader moved and the caller should re-read metadata. `Err` when the broker cannot be
    /// asked at all.
    fn list_offsets(
        &self,
        leader: BrokerId,
        partitions: &[TopicPartition],
        spec: OffsetSpec,
    ) -> impl Future<Output = Result<BTreeMap<TopicPartition, Result<i64, Error>>, Error>> + Send;

    /// The groups each broker coordinates (ListGroups is answered per broker); a broker
    /// that cannot answer (down, COORDINATOR_LOAD_IN_PROGRESS) gets an `Err`.
    fn list_groups(
        &self,
        brokers: &[BrokerId],
    ) -> impl Future<Output = Result<BTreeMap<BrokerId, Result<Vec<GroupListing>, Error>>, Error>> + Send;

    /// The coordinator of each group (FindCoordinator: one batched request from v4, one
    /// per group before). Per-group errors (COORDINATOR_NOT_AVAILABLE, ...) are data.
    fn find_coordinators(
        &self,
        groups: &[String],
    ) -> impl Future<Output = Result<BTreeMap<String, Result<BrokerId, Error>>, Error>> + Send;

    /// The committed offsets of `groups`, asked of their coordinator (OffsetFetch: one
    /// batched request from v8, one per group before). Per-group errors (NOT_COORDINATOR,
    /// COORDINATOR_LOAD_IN_PROGRESS, GROUP_ID_NOT_FOUND) are data.
    fn fetch_committed_offsets(
        &self,
        coordinator: BrokerId,
        groups: &[String],
    ) -> impl Future<Output = Result<BTreeMap<String, Result<GroupOffsets, Error>>, Error>> + Send;

    /// What the client has to tell the user that is not an error, since the last call
    /// (e.g. that a rolling upgrade made it read topics another way); each is handed out
    /// once.
    fn take_notices(&self) -> Vec<String> {
        Vec::new()
    }
}
