//! Wire → model conversions (pure, unit-tested) and the per-item result decoder shared by
//! every call that asks about many items at once.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;

use kafka_protocol::messages::{
    AlterReplicaLogDirsResponse, BrokerId as WireBrokerId, DescribeClusterResponse,
    DescribeConfigsResponse, DescribeLogDirsResponse, DescribeTopicPartitionsResponse,
    ElectLeadersResponse, MetadataResponse, TopicName,
};
use kafka_protocol::messages::{
    FindCoordinatorResponse, ListGroupsResponse, ListOffsetsResponse, OffsetFetchResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::{
    BrokerNode, ClusterDescription, ConfigEntry, ConfigResource, ConfigSource, LogDir,
    LogDirReplica, Outcomes, PartitionMetadata, TopicMetadata,
};
use super::{GroupListing, GroupOffsets};
use crate::kafka::error::{one_line, Error};
use crate::model::{BrokerId, TopicPartition};

pub(super) fn ids(v: &[WireBrokerId]) -> Vec<BrokerId> {
    v.iter().map(|b| b.0).collect()
}

pub(super) fn opt_str(s: &Option<StrBytes>) -> Option<String> {
    s.as_ref().map(|s| s.to_string())
}

pub(super) fn code_err(api: &'static str, code: i16, msg: &Option<StrBytes>) -> Option<Error> {
    (code != 0).then(|| Error::broker(api, code, opt_str(msg)))
}

/// One item's answer as a result: success for error code 0, else the broker's error.
pub(super) fn code_result(
    api: &'static str,
    code: i16,
    msg: &Option<StrBytes>,
) -> Result<(), Error> {
    match code_err(api, code, msg) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Names the broker that answered in the broker errors of a log-dirs answer: the
/// top-level one and each directory's (an offline directory's KAFKA_STORAGE_ERROR is only
/// useful with the broker it is on).
pub(super) fn log_dirs_at_peer(
    dirs: Result<Vec<LogDir>, Error>,
    peer: &str,
) -> Result<Vec<LogDir>, Error> {
    let mut dirs = dirs.map_err(|e| e.with_peer(peer))?;
    for d in &mut dirs {
        d.error = d.error.take().map(|e| e.with_peer(peer));
    }
    Ok(dirs)
}

/// Names the broker that answered in each per-item broker error.
pub(super) fn outcomes_at_peer<K: Ord, V>(
    outcomes: BTreeMap<K, Result<V, Error>>,
    peer: &str,
) -> BTreeMap<K, Result<V, Error>> {
    outcomes
        .into_iter()
        .map(|(k, r)| (k, r.map_err(|e| e.with_peer(peer))))
        .collect()
}

/// Cluster description from a Metadata response.
pub fn cluster_from_metadata(resp: &MetadataResponse) -> ClusterDescription {
    let mut brokers: Vec<BrokerNode> = resp
        .brokers
        .iter()
        .map(|b| BrokerNode {
            id: b.node_id.0,
            host: b.host.to_string(),
            port: b.port,
            rack: opt_str(&b.rack),
            fenced: false,
        })
        .collect();
    brokers.sort_by_key(|b| b.id);
    ClusterDescription {
        cluster_id: opt_str(&resp.cluster_id),
        controller_id: (resp.controller_id.0 >= 0).then_some(resp.controller_id.0),
        brokers,
    }
}

/// Cluster description from a DescribeCluster response.
pub fn cluster_from_describe(resp: &DescribeClusterResponse) -> ClusterDescription {
    let mut brokers: Vec<BrokerNode> = resp
        .brokers
        .iter()
        .map(|b| BrokerNode {
            id: b.broker_id.0,
            host: b.host.to_string(),
            port: b.port,
            rack: opt_str(&b.rack),
            fenced: b.is_fenced,
        })
        .collect();
    brokers.sort_by_key(|b| b.id);
    ClusterDescription {
        cluster_id: Some(resp.cluster_id.to_string()),
        controller_id: (resp.controller_id.0 >= 0).then_some(resp.controller_id.0),
        brokers,
    }
}

/// Topics from a Metadata response, sorted by name, partitions sorted by index.
pub fn topics_from_metadata(resp: &MetadataResponse) -> Vec<TopicMetadata> {
    let mut topics: Vec<TopicMetadata> = resp
        .topics
        .iter()
        .filter_map(|t| {
            let name = t.name.as_ref()?.0.to_string();
            let mut partitions: Vec<PartitionMetadata> = t
                .partitions
                .iter()
                .map(|p| PartitionMetadata {
                    partition: p.partition_index,
                    leader: (p.leader_id.0 >= 0).then_some(p.leader_id.0),
                    replicas: ids(&p.replica_nodes),
                    isr: ids(&p.isr_nodes),
                    offline: ids(&p.offline_replicas),
                    error: code_err("Metadata", p.error_code, &None),
                })
                .collect();
            partitions.sort_by_key(|p| p.partition);
            Some(TopicMetadata {
                name,
                internal: t.is_internal,
                partitions,
                error: code_err("Metadata", t.error_code, &None),
            })
        })
        .collect();
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    topics
}

/// One DescribeTopicPartitions page added to the topics read so far (by name; a topic's
/// partitions may span pages). Returns the number of partitions the page carried.
/// Topic-level errors (e.g. UNKNOWN_TOPIC_OR_PARTITION for a named topic) are kept as data,
/// like [`topics_from_metadata`] keeps them.
pub fn add_topic_page(
    topics: &mut BTreeMap<String, TopicMetadata>,
    resp: &DescribeTopicPartitionsResponse,
) -> usize {
    let mut carried = 0;
    for t in &resp.topics {
        let Some(name) = t.name.as_ref() else {
            continue;
        };
        carried += t.partitions.len();
        let entry = topics
            .entry(name.0.to_string())
            .or_insert_with(|| TopicMetadata {
                name: name.0.to_string(),
                internal: t.is_internal,
                partitions: Vec::new(),
                error: None,
            });
        if entry.error.is_none() {
            entry.error = code_err("DescribeTopicPartitions", t.error_code, &None);
        }
        entry
            .partitions
            .extend(t.partitions.iter().map(|p| PartitionMetadata {
                partition: p.partition_index,
                leader: (p.leader_id.0 >= 0).then_some(p.leader_id.0),
                replicas: ids(&p.replica_nodes),
                isr: ids(&p.isr_nodes),
                offline: ids(&p.offline_replicas),
                error: code_err("DescribeTopicPartitions", p.error_code, &None),
            }));
    }
    carried
}

/// The paged topics in name order, each topic's partitions sorted by index; a partition
/// answered on two pages is a broken reply (`Err` names it).
pub fn topics_from_pages(
    topics: BTreeMap<String, TopicMetadata>,
) -> Result<Vec<TopicMetadata>, String> {
    let mut out = Vec::with_capacity(topics.len());
    for (_, mut t) in topics {
        t.partitions.sort_by_key(|p| p.partition);
        if let Some(w) = t
            .partitions
            .windows(2)
            .find(|w| w[0].partition == w[1].partition)
        {
            return Err(format!(
                "partition {}-{} answered on two pages",
                t.name, w[0].partition
            ));
        }
        out.push(t);
    }
    Ok(out)
}

/// Log dirs from a DescribeLogDirs response.
pub fn log_dirs_from_response(resp: &DescribeLogDirsResponse) -> Result<Vec<LogDir>, Error> {
    if resp.error_code != 0 {
        return Err(Error::broker("DescribeLogDirs", resp.error_code, None));
    }
    let mut dirs: Vec<LogDir> = resp
        .results
        .iter()
        .map(|r| {
            let mut replicas = Vec::new();
            for t in &r.topics {
                for p in &t.partitions {
                    replicas.push(LogDirReplica {
                        tp: TopicPartition::new(t.name.0.to_string(), p.partition_index),
                        size_bytes: u64::try_from(p.partition_size).unwrap_or(0),
                        offset_lag: p.offset_lag,
                        is_future: p.is_future_key,
                    });
                }
            }
            replicas.sort_by(|a, b| a.tp.cmp(&b.tp).then(a.is_future.cmp(&b.is_future)));
            LogDir {
                path: r.log_dir.to_string(),
                error: code_err("DescribeLogDirs", r.error_code, &None),
                total_bytes: u64::try_from(r.total_bytes).ok(),
                usable_bytes: u64::try_from(r.usable_bytes).ok(),
                replicas,
            }
        })
        .collect();
    dirs.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(dirs)
}

/// The answered resources of a DescribeConfigs response, in the reply's order (a resource of
/// a type kafka-replan does not know is skipped).
pub(super) fn configs_from_response(
    resp: &DescribeConfigsResponse,
) -> Vec<(ConfigResource, Result<Vec<ConfigEntry>, Error>)> {
    let mut out = Vec::new();
    for r in &resp.results {
        let Some(res) = ConfigResource::from_wire(r.resource_type, &r.resource_name) else {
            continue;
        };
        let entry = match code_err("DescribeConfigs", r.error_code, &r.error_message) {
            Some(e) => Err(e),
            None => {
                let mut entries: Vec<ConfigEntry> = r
                    .configs
                    .iter()
                    .map(|c| ConfigEntry {
                        name: c.name.to_string(),
                        value: opt_str(&c.value),
                        source: ConfigSource::from_wire(c.config_source),
                        read_only: c.read_only,
                        sensitive: c.is_sensitive,
                    })
                    .collect();
                entries.sort_by(|a, b| a.name.cmp(&b.name));
                Ok(entries)
            }
        };
        out.push((res, entry));
    }
    out
}

pub(super) fn group_by_topic(
    tps: impl IntoIterator<Item = TopicPartition>,
) -> BTreeMap<String, Vec<i32>> {
    let mut m: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    for tp in tps {
        m.entry(tp.topic).or_default().push(tp.partition);
    }
    for v in m.values_mut() {
        v.sort_unstable();
        v.dedup();
    }
    m
}

pub(super) fn topic_name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

/// The per-item result decoder of the calls that act on many items at once
/// (AlterPartitionReassignments, IncrementalAlterConfigs, ElectLeaders, DescribeConfigs):
/// the reply's answers keyed by the item they are about (a later answer for the same item
/// wins), then every asked item the reply left out as an error naming it. The caller gets a
/// result for each item it asked about, and a missing answer is never taken for a success.
pub(super) fn per_item<K: Ord + Display, V>(
    api: &'static str,
    answers: impl IntoIterator<Item = (K, Result<V, Error>)>,
    asked: impl IntoIterator<Item = K>,
) -> BTreeMap<K, Result<V, Error>> {
    let mut out: BTreeMap<K, Result<V, Error>> = answers.into_iter().collect();
    for k in asked {
        if let Entry::Vacant(slot) = out.entry(k) {
            let missing = format!("{api}: no result for {} in the broker's answer", slot.key());
            slot.insert(Err(Error::Other(missing)));
        }
    }
    out
}

/// Per-partition results of a PREFERRED election: ELECTION_NOT_NEEDED (84) is success.
pub fn election_outcomes(
    resp: &ElectLeadersResponse,
    asked: &[TopicPartition],
) -> Outcomes<TopicPartition> {
    let answers = resp.replica_election_results.iter().flat_map(|t| {
        t.partition_result.iter().map(|p| {
            let tp = TopicPartition::new(t.topic.0.to_string(), p.partition_id);
            let r = match p.error_code {
                0 | 84 => Ok(()),
                code => Err(Error::broker(
                    "ElectLeaders",
                    code,
                    opt_str(&p.error_message),
                )),
            };
            (tp, r)
        })
    });
    per_item("ElectLeaders", answers, asked.iter().cloned())
}

/// The offsets of a ListOffsets response: for each asked partition its offset or the
/// broker's error for it (NOT_LEADER_OR_FOLLOWER after a leader change). Answers about
/// partitions that were not asked are ignored, a negative offset without an error code is
/// an error naming the partition, and an asked partition the reply left out is an error.
pub fn offsets_from_list_offsets(
    resp: &ListOffsetsResponse,
    asked: &[TopicPartition],
) -> BTreeMap<TopicPartition, Result<i64, Error>> {
    let wanted: BTreeSet<&TopicPartition> = asked.iter().collect();
    let answers = resp.topics.iter().flat_map(|t| {
        t.partitions.iter().filter_map(|p| {
            let tp = TopicPartition::new(t.name.0.to_string(), p.partition_index);
            if !wanted.contains(&tp) {
                return None;
            }
            let r = match code_err("ListOffsets", p.error_code, &None) {
                Some(e) => Err(e),
                None if p.offset < 0 => Err(Error::Other(format!(
                    "ListOffsets: the broker answered offset {} for {tp}",
                    p.offset
                ))),
                None => Ok(p.offset),
            };
            Some((tp, r))
        })
    });
    let answers: Vec<_> = answers.collect();
    per_item("ListOffsets", answers, asked.iter().cloned())
}

/// The groups of a ListGroups response, sorted by id (a repeated id is listed once).
pub fn groups_from_list(resp: &ListGroupsResponse) -> Result<Vec<GroupListing>, Error> {
    if let Some(e) = code_err("ListGroups", resp.error_code, &None) {
        return Err(e);
    }
    let non_empty = |s: &StrBytes| (!s.is_empty()).then(|| s.to_string());
    let mut groups: Vec<GroupListing> = resp
        .groups
        .iter()
        .map(|g| GroupListing {
            group_id: g.group_id.0.to_string(),
            protocol_type: g.protocol_type.to_string(),
            state: non_empty(&g.group_state),
            group_type: non_empty(&g.group_type),
        })
        .collect();
    groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
    groups.dedup_by(|a, b| a.group_id == b.group_id);
    Ok(groups)
}

fn coordinator_result(
    code: i16,
    msg: &Option<StrBytes>,
    node: i32,
    key: &str,
) -> Result<BrokerId, Error> {
    if let Some(e) = code_err("FindCoordinator", code, msg) {
        return Err(e);
    }
    if node < 0 {
        return Err(Error::Other(format!(
            "FindCoordinator: the broker answered node {node} as the coordinator of group '{}'",
            one_line(key)
        )));
    }
    Ok(node)
}

/// The coordinators of a batched FindCoordinator response (v4+), per asked group.
pub fn coordinators_from_batch(
    resp: &FindCoordinatorResponse,
    asked: &[String],
) -> BTreeMap<String, Result<BrokerId, Error>> {
    let wanted: BTreeSet<&str> = asked.iter().map(String::as_str).collect();
    let answers: Vec<_> = resp
        .coordinators
        .iter()
        .filter(|c| wanted.contains(c.key.as_str()))
        .map(|c| {
            let r = coordinator_result(c.error_code, &c.error_message, c.node_id.0, &c.key);
            (c.key.to_string(), r)
        })
        .collect();
    per_item("FindCoordinator", answers, asked.iter().cloned())
}

/// The coordinator of the one group a FindCoordinator request before v4 asked about.
pub fn coordinator_from_single(
    resp: &FindCoordinatorResponse,
    group: &str,
) -> Result<BrokerId, Error> {
    coordinator_result(resp.error_code, &resp.error_message, resp.node_id.0, group)
}

/// One group's committed offsets from an OffsetFetch answer's partitions (topic name,
/// partition, committed offset, error code). No committed offset (-1) is left out.
fn group_offsets<'a>(parts: impl Iterator<Item = (&'a TopicName, i32, i64, i16)>) -> GroupOffsets {
    let mut out = BTreeMap::new();
    for (topic, partition, offset, code) in parts {
        let tp = TopicPartition::new(topic.0.to_string(), partition);
        match code_err("OffsetFetch", code, &None) {
            Some(e) => {
                out.insert(tp, Err(e));
            }
            None if offset >= 0 => {
                out.insert(tp, Ok(offset));
            }
            None => {}
        }
    }
    out
}

/// The committed offsets of each asked group from a batched OffsetFetch response (v8+).
pub fn committed_offsets_from_group(
    resp: &OffsetFetchResponse,
    asked: &[String],
) -> BTreeMap<String, Result<GroupOffsets, Error>> {
    let wanted: BTreeSet<&str> = asked.iter().map(String::as_str).collect();
    let answers: Vec<_> = resp
        .groups
        .iter()
        .filter(|g| wanted.contains(g.group_id.0.as_str()))
        .map(|g| {
            let r = match code_err("OffsetFetch", g.error_code, &None) {
                Some(e) => Err(e),
                None => Ok(group_offsets(g.topics.iter().flat_map(|t| {
                    t.partitions.iter().map(move |p| {
                        (&t.name, p.partition_index, p.committed_offset, p.error_code)
                    })
                }))),
            };
            (g.group_id.0.to_string(), r)
        })
        .collect();
    per_item("OffsetFetch", answers, asked.iter().cloned())
}

/// The committed offsets of the one group an OffsetFetch request before v8 asked about.
pub fn committed_offsets_from_single(resp: &OffsetFetchResponse) -> Result<GroupOffsets, Error> {
    if let Some(e) = code_err("OffsetFetch", resp.error_code, &None) {
        return Err(e);
    }
    Ok(group_offsets(resp.topics.iter().flat_map(|t| {
        t.partitions
            .iter()
            .map(move |p| (&t.name, p.partition_index, p.committed_offset, p.error_code))
    })))
}

/// Per-partition results of an AlterReplicaLogDirs request to one broker. The response has
/// no top-level error code: every answer is per partition, and one the broker left out is
/// an error naming it (never a success).
pub fn log_dir_move_outcomes(
    resp: &AlterReplicaLogDirsResponse,
    asked: impl IntoIterator<Item = TopicPartition>,
) -> Outcomes<TopicPartition> {
    let answers = resp.results.iter().flat_map(|t| {
        t.partitions.iter().map(|p| {
            let tp = TopicPartition::new(t.topic_name.0.to_string(), p.partition_index);
            (tp, code_result("AlterReplicaLogDirs", p.error_code, &None))
        })
    });
    per_item("AlterReplicaLogDirs", answers, asked)
}
