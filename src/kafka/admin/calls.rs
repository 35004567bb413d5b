//! The `Admin` calls over `KafkaAdmin`: the request each one builds, where it is routed,
//! whether it may be resent, and how its answer becomes model values.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI16, Ordering};
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use kafka_protocol::messages::alter_partition_reassignments_request::{
    ReassignablePartition, ReassignableTopic,
};
use kafka_protocol::messages::alter_replica_log_dirs_request::{
    AlterReplicaLogDir, AlterReplicaLogDirTopic,
};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_topic_partitions_request::{Cursor, TopicRequest};
use kafka_protocol::messages::elect_leaders_request::TopicPartitions;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::list_partition_reassignments_request::ListPartitionReassignmentsTopics;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestGroup;
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterReplicaLogDirsRequest, ApiKey,
    BrokerId as WireBrokerId, DescribeClusterRequest, DescribeConfigsRequest,
    DescribeLogDirsRequest, DescribeTopicPartitionsRequest, ElectLeadersRequest,
    IncrementalAlterConfigsRequest, ListPartitionReassignmentsRequest, MetadataRequest,
};
use kafka_protocol::messages::{
    FindCoordinatorRequest, GroupId, ListGroupsRequest, ListOffsetsRequest, OffsetFetchRequest,
};
use kafka_protocol::protocol::StrBytes;

use super::client::{KafkaAdmin, Resend, Route};
use super::decode::{
    add_topic_page, cluster_from_describe, cluster_from_metadata, code_err, code_result,
    configs_from_response, election_outcomes, group_by_topic, ids, log_dir_move_outcomes,
    log_dirs_at_peer, log_dirs_from_response, outcomes_at_peer, per_item, topic_name,
    topics_from_metadata, topics_from_pages,
};
use super::decode::{
    committed_offsets_from_group, committed_offsets_from_single, coordinator_from_single,
    coordinators_from_batch, groups_from_list, offsets_from_list_offsets,
};
use super::{
    Admin, ClusterDescription, ConfigEntry, ConfigOp, ConfigResource, LogDir, OngoingReassignment,
    Outcomes, TopicMetadata,
};
use super::{GroupListing, GroupOffsets, OffsetSpec};
use crate::kafka::error::Error;
use crate::model::{BrokerId, TopicPartition};

/// A Metadata request: `None` = all topics, `Some(&[])` = none. AllowAutoTopicCreation is
/// false from v4 on (§F D3); older versions cannot carry the flag (and default to true).
pub fn metadata_request(topics: Option<&[String]>, version: i16) -> MetadataRequest {
    MetadataRequest::default()
        .with_topics(topics.map(|ts| {
            ts.iter()
                .map(|t| MetadataRequestTopic::default().with_name(Some(topic_name(t))))
                .collect()
        }))
        .with_allow_auto_topic_creation(version < 4)
}

/// FindCoordinator batches coordinator keys from this version on (KIP-699).
const FIND_COORDINATOR_BATCHED: i16 = 4;
/// OffsetFetch batches groups from this version on (KIP-709).
const OFFSET_FETCH_BATCHED: i16 = 8;
/// Groups per batched OffsetFetch: each answer carries every committed partition of its
/// groups (about 20 bytes each), so it grows with what the groups consume, not with the
/// request. 16 groups keep a real answer under the 8 MiB default frame limit up to about
/// 25,000 committed partitions per group on average, while a coordinator of 10,000 groups
/// takes 625 round trips.
pub const OFFSET_FETCH_GROUPS_PER_REQUEST: usize = 16;
/// Partitions per ListOffsets request: the answer lists each partition asked once (about
/// 30 bytes), so it is held to an echo of the request (`conn::response_limit`); slices of
/// 2,000 keep every answer near 60 KB and a leader of 100,000 partitions at 50 round
/// trips.
pub const LIST_OFFSETS_PARTITIONS_PER_REQUEST: usize = 2_000;
/// Partitions per ListPartitionReassignments request that names partitions: the answer
/// lists at most those, so it is held to an echo of the request; the same slice as a
/// topic page.
pub const LIST_REASSIGNMENTS_PARTITIONS_PER_REQUEST: usize = 2_000;
/// Resources per DescribeConfigs request. Asked for a few keys (the throttle lists,
/// `min.insync.replicas`), a topic's answer is short except for the throttle lists, which
/// name up to every replica of the topic (about 8 bytes each); 20 topics per request keep a
/// real answer under its limit (half the configured one, 4 MiB by default) up to about
/// 25,000 throttled replicas per topic on average, while 10,000 topics take 500 round
/// trips.
pub const DESCRIBE_CONFIGS_RESOURCES_PER_REQUEST: usize = 20;

/// The read-only calls the rate sampler makes (ListOffsets, ListGroups, FindCoordinator,
/// OffsetFetch). A call that batches only from some version on records the version `call`
/// negotiated in its build closure and, below it, asks about one item per request.
impl KafkaAdmin {
    async fn list_offsets_at(
        &self,
        leader: BrokerId,
        partitions: &[TopicPartition],
        spec: OffsetSpec,
    ) -> Result<BTreeMap<TopicPartition, Result<i64, Error>>, Error> {
        let mut out = BTreeMap::new();
        for slice in partitions.chunks(LIST_OFFSETS_PARTITIONS_PER_REQUEST) {
            out.extend(self.list_offsets_slice(leader, slice, spec).await?);
        }
        Ok(out)
    }

    /// One ListOffsets request for at most [`LIST_OFFSETS_PARTITIONS_PER_REQUEST`]
    /// partitions.
    async fn list_offsets_slice(
        &self,
        leader: BrokerId,
        partitions: &[TopicPartition],
        spec: OffsetSpec,
    ) -> Result<BTreeMap<TopicPartition, Result<i64, Error>>, Error> {
        if partitions.is_empty() {
            return Ok(BTreeMap::new());
        }
        let timeout = timeout_ms(self.cfg.default_api_timeout);
        let topics: Vec<ListOffsetsTopic> = group_by_topic(partitions.iter().cloned())
            .into_iter()
            .map(|(t, ps)| {
                ListOffsetsTopic::default()
                    .with_name(topic_name(&t))
                    .with_partitions(
                        ps.into_iter()
                            .map(|p| {
                                ListOffsetsPartition::default()
                                    .with_partition_index(p)
                                    .with_current_leader_epoch(-1)
                                    .with_timestamp(spec.wire_timestamp())
                            })
                            .collect(),
                    )
            })
            .collect();
        let (resp, peer) = self
            .call::<ListOffsetsRequest>(
                Route::Broker(leader),
                Resend::Safe,
                |v| {
                    // replica_id -1: a consumer's view (the high watermark for Latest);
                    // isolation 0 = READ_UNCOMMITTED (v2+); the timeout field exists from v10.
                    let req = ListOffsetsRequest::default()
                        .with_replica_id(WireBrokerId(-1))
                        .with_topics(topics.clone());
                    Ok(if v >= 10 {
                        req.with_timeout_ms(timeout)
                    } else {
                        req
                    })
                },
                |r| (0, r.throttle_time_ms),
            )
            .await?;
        Ok(outcomes_at_peer(
            offsets_from_list_offsets(&resp, partitions),
            &peer,
        ))
    }

    /// One ListPartitionReassignments request: `None` asks about every partition (the
    /// answer lists what is in flight), `Some` about those named.
    async fn list_reassignments_once(
        &self,
        partitions: Option<&[TopicPartition]>,
    ) -> Result<BTreeMap<TopicPartition, OngoingReassignment>, Error> {
        let timeout_ms = timeout_ms(self.cfg.default_api_timeout);
        let topics = partitions.map(|ps| {
            group_by_topic(ps.iter().cloned())
                .into_iter()
                .map(|(t, parts)| {
                    ListPartitionReassignmentsTopics::default()
                        .with_name(topic_name(&t))
                        .with_partition_indexes(parts)
                })
                .collect::<Vec<_>>()
        });
        let (resp, peer) = self
            .call::<ListPartitionReassignmentsRequest>(
                Route::Controller,
                Resend::Safe,
                |_| {
                    Ok(ListPartitionReassignmentsRequest::default()
                        .with_timeout_ms(timeout_ms)
                        .with_topics(topics.clone()))
                },
                |r| (r.error_code, r.throttle_time_ms),
            )
            .await?;
        if let Some(e) = code_err(
            "ListPartitionReassignments",
            resp.error_code,
            &resp.error_message,
        ) {
            return Err(e.with_peer(&peer));
        }
        let mut out = BTreeMap::new();
        for t in &resp.topics {
            for p in &t.partitions {
                out.insert(
                    TopicPartition::new(t.name.0.to_string(), p.partition_index),
                    OngoingReassignment {
                        replicas: ids(&p.replicas),
                        adding: ids(&p.adding_replicas),
                        removing: ids(&p.removing_replicas),
                    },
                );
            }
        }
        Ok(out)
    }

    async fn list_groups_on(
        &self,
        brokers: &[BrokerId],
    ) -> Result<BTreeMap<BrokerId, Result<Vec<GroupListing>, Error>>, Error> {
        let answers: Vec<(BrokerId, Result<Vec<GroupListing>, Error>)> =
            stream::iter(brokers.to_vec())
                .map(|b| async move {
                    let r = self
                        .call::<ListGroupsRequest>(
                            Route::Broker(b),
                            Resend::Safe,
                            |_| Ok(ListGroupsRequest::default()),
                            |r| (r.error_code, r.throttle_time_ms),
                        )
                        .await
                        .and_then(|(resp, peer)| {
                            groups_from_list(&resp).map_err(|e| e.with_peer(&peer))
                        });
                    (b, r)
                })
                .buffer_unordered(self.concurrency())
                .collect()
                .await;
        Ok(answers.into_iter().collect())
    }

    async fn find_coordinators_of(
        &self,
        groups: &[String],
    ) -> Result<BTreeMap<String, Result<BrokerId, Error>>, Error> {
        let mut out = BTreeMap::new();
        let mut pending: Vec<String> = groups.to_vec();
        pending.sort();
        pending.dedup();
        while let Some(first) = pending.first().cloned() {
            let used = AtomicI16::new(-1);
            let (resp, peer) = self
                .call::<FindCoordinatorRequest>(
                    Route::Any,
                    Resend::Safe,
                    |v| {
                        used.store(v, Ordering::Relaxed);
                        // key_type 0 = group.
                        let req = FindCoordinatorRequest::default();
                        Ok(if v >= FIND_COORDINATOR_BATCHED {
                            req.with_coordinator_keys(
                                pending
                                    .iter()
                                    .map(|g| StrBytes::from_string(g.clone()))
                                    .collect(),
                            )
                        } else {
                            req.with_key(StrBytes::from_string(first.clone()))
                        })
                    },
                    |r| (0, r.throttle_time_ms),
                )
                .await?;
            if used.load(Ordering::Relaxed) >= FIND_COORDINATOR_BATCHED {
                out.extend(outcomes_at_peer(
                    coordinators_from_batch(&resp, &pending),
                    &peer,
                ));
                pending.clear();
            } else {
                out.insert(
                    first.clone(),
                    coordinator_from_single(&resp, &first).map_err(|e| e.with_peer(&peer)),
                );
                pending.remove(0);
            }
        }
        Ok(out)
    }

    async fn fetch_committed_offsets_from(
        &self,
        coordinator: BrokerId,
        groups: &[String],
    ) -> Result<BTreeMap<String, Result<GroupOffsets, Error>>, Error> {
        let mut out = BTreeMap::new();
        let mut pending: Vec<String> = groups.to_vec();
        pending.sort();
        pending.dedup();
        while let Some(first) = pending.first().cloned() {
            let used = AtomicI16::new(-1);
            let slice: Vec<String> = pending
                .iter()
                .take(OFFSET_FETCH_GROUPS_PER_REQUEST)
                .cloned()
                .collect();
            let (resp, peer) = self
                .call::<OffsetFetchRequest>(
                    Route::Broker(coordinator),
                    Resend::Safe,
                    |v| {
                        used.store(v, Ordering::Relaxed);
                        if v >= OFFSET_FETCH_BATCHED {
                            // Topics null = every partition the group committed.
                            Ok(OffsetFetchRequest::default().with_groups(
                                slice
                                    .iter()
                                    .map(|g| {
                                        OffsetFetchRequestGroup::default()
                                            .with_group_id(GroupId(StrBytes::from_string(
                                                g.clone(),
                                            )))
                                            .with_member_id(None)
                                            .with_member_epoch(-1)
                                            .with_topics(None)
                                    })
                                    .collect(),
                            ))
                        } else if v >= 2 {
                            Ok(OffsetFetchRequest::default()
                                .with_group_id(GroupId(StrBytes::from_string(first.clone())))
                                .with_topics(None))
                        } else {
                            // v1 cannot ask for all of a group's partitions; every broker
                            // since 0.10.2 offers v2.
                            Err(Error::Other(format!(
                                "OffsetFetch v{v} cannot list all committed offsets of a group"
                            )))
                        }
                    },
                    |r| (0, r.throttle_time_ms),
                )
                .await?;
            if used.load(Ordering::Relaxed) >= OFFSET_FETCH_BATCHED {
                out.extend(outcomes_at_peer(
                    committed_offsets_from_group(&resp, &slice),
                    &peer,
                ));
                pending.drain(..slice.len());
            } else {
                out.insert(
                    first,
                    committed_offsets_from_single(&resp).map_err(|e| e.with_peer(&peer)),
                );
                pending.remove(0);
            }
        }
        Ok(out)
    }
}

impl Admin for KafkaAdmin {
    async fn describe_cluster(&self) -> Result<ClusterDescription, Error> {
        let supports_describe_cluster = self.any_offers(ApiKey::DescribeCluster).await?;
        let desc = if supports_describe_cluster {
            let (resp, peer) = self
                .call::<DescribeClusterRequest>(
                    Route::Any,
                    Resend::Safe,
                    |_| Ok(DescribeClusterRequest::default()),
                    |r| (r.error_code, r.throttle_time_ms),
                )
                .await?;
            if let Some(e) = code_err("DescribeCluster", resp.error_code, &resp.error_message) {
                return Err(e.with_peer(&peer));
            }
            cluster_from_describe(&resp)
        } else {
            let (resp, _) = self
                .call::<MetadataRequest>(
                    Route::Any,
                    Resend::Safe,
                    |v| Ok(metadata_request(Some(&[]), v)),
                    |r| (r.error_code, r.throttle_time_ms),
                )
                .await?;
            cluster_from_metadata(&resp)
        };
        self.learn(&desc);
        Ok(desc)
    }

    async fn describe_topics(
        &self,
        topics: Option<&[String]>,
    ) -> Result<Vec<TopicMetadata>, Error> {
        if topics.is_some_and(|t| t.is_empty()) {
            return Ok(Vec::new());
        }
        if self.offers(ApiKey::DescribeTopicPartitions).await? {
            if let Some(read) = self.topic_pages_unless_withdrawn(topics).await? {
                return Ok(read);
            }
        }
        // Before Kafka 3.7 (and in clusters that do not offer it): all topics in one
        // Metadata answer, under the configured frame limit.
        let (resp, peer) = self
            .call::<MetadataRequest>(
                Route::Any,
                Resend::Safe,
                |v| Ok(metadata_request(topics, v)),
                |r| (r.error_code, r.throttle_time_ms),
            )
            .await?;
        if resp.error_code != 0 {
            return Err(Error::broker("Metadata", resp.error_code, None).with_peer(&peer));
        }
        Ok(topics_from_metadata(&resp))
    }

    async fn describe_log_dirs(
        &self,
        brokers: &[BrokerId],
    ) -> Result<BTreeMap<BrokerId, Result<Vec<LogDir>, Error>>, Error> {
        // Every broker at once, up to the concurrency bound; each answer becomes model values
        // as it arrives, so at most that many raw answers are held together.
        let answers: Vec<(BrokerId, Result<Vec<LogDir>, Error>)> = stream::iter(brokers.to_vec())
            .map(|b| async move {
                let r = self
                    .call::<DescribeLogDirsRequest>(
                        Route::Broker(b),
                        Resend::Safe,
                        |_| Ok(DescribeLogDirsRequest::default().with_topics(None)),
                        |r| (r.error_code, r.throttle_time_ms),
                    )
                    .await
                    .and_then(|(resp, peer)| {
                        log_dirs_at_peer(log_dirs_from_response(&resp), &peer)
                    });
                (b, r)
            })
            .buffer_unordered(self.concurrency())
            .collect()
            .await;
        Ok(answers.into_iter().collect())
    }

    async fn list_reassignments(
        &self,
        partitions: Option<&[TopicPartition]>,
    ) -> Result<BTreeMap<TopicPartition, OngoingReassignment>, Error> {
        let Some(ps) = partitions else {
            return self.list_reassignments_once(None).await;
        };
        if ps.is_empty() {
            return self.list_reassignments_once(Some(ps)).await;
        }
        // Slices keep each answer an echo of its request (see `conn::response_limit`).
        let mut out = BTreeMap::new();
        for slice in ps.chunks(LIST_REASSIGNMENTS_PARTITIONS_PER_REQUEST) {
            out.extend(self.list_reassignments_once(Some(slice)).await?);
        }
        Ok(out)
    }

    async fn alter_reassignments(
        &self,
        targets: &BTreeMap<TopicPartition, Option<Vec<BrokerId>>>,
        allow_replication_factor_change: bool,
    ) -> Result<Outcomes<TopicPartition>, Error> {
        if targets.is_empty() {
            return Ok(BTreeMap::new());
        }
        let timeout_ms = timeout_ms(self.cfg.default_api_timeout);
        let mut by_topic: BTreeMap<&str, Vec<ReassignablePartition>> = BTreeMap::new();
        for (tp, replicas) in targets {
            by_topic.entry(&tp.topic).or_default().push(
                ReassignablePartition::default()
                    .with_partition_index(tp.partition)
                    .with_replicas(
                        replicas
                            .as_ref()
                            .map(|r| r.iter().map(|b| WireBrokerId(*b)).collect()),
                    ),
            );
        }
        let topics: Vec<ReassignableTopic> = by_topic
            .into_iter()
            .map(|(t, ps)| {
                ReassignableTopic::default()
                    .with_name(topic_name(t))
                    .with_partitions(ps)
            })
            .collect();
        let (resp, peer) = self
            .call::<AlterPartitionReassignmentsRequest>(
                Route::Controller,
                Resend::Never,
                |v| {
                    // Brokers before 4.1 (v0) cannot be asked to refuse a replication factor
                    // change. Callers that ask for the refusal have already compared every
                    // target with the replica list they read, so v0 goes out without it (the
                    // field does not exist there) instead of making apply and cancel
                    // impossible on every 3.x cluster.
                    let allow = allow_replication_factor_change || v < 1;
                    Ok(AlterPartitionReassignmentsRequest::default()
                        .with_timeout_ms(timeout_ms)
                        .with_allow_replication_factor_change(allow)
                        .with_topics(topics.clone()))
                },
                |r| (r.error_code, r.throttle_time_ms),
            )
            .await?;
        if let Some(e) = code_err(
            "AlterPartitionReassignments",
            resp.error_code,
            &resp.error_message,
        ) {
            return Err(e.with_peer(&peer));
        }
        let answers = resp.responses.iter().flat_map(|t| {
            t.partitions.iter().map(|p| {
                let tp = TopicPartition::new(t.name.0.to_string(), p.partition_index);
                let r = code_result(
                    "AlterPartitionReassignments",
                    p.error_code,
                    &p.error_message,
                )
                .map_err(|e| e.with_peer(&peer));
                (tp, r)
            })
        });
        Ok(per_item(
            "AlterPartitionReassignments",
            answers,
            targets.keys().cloned(),
        ))
    }

    async fn describe_configs(
        &self,
        resources: &[ConfigResource],
        keys: Option<&[String]>,
    ) -> Result<BTreeMap<ConfigResource, Result<Vec<ConfigEntry>, Error>>, Error> {
        let mut groups: BTreeMap<Option<BrokerId>, Vec<&ConfigResource>> = BTreeMap::new();
        for r in resources {
            let target = match r {
                ConfigResource::Broker(id) => Some(*id),
                _ => None,
            };
            groups.entry(target).or_default().push(r);
        }
        // Each broker's own configs and the rest, in slices of at most
        // DESCRIBE_CONFIGS_RESOURCES_PER_REQUEST resources (a bounded answer per request),
        // sent at once up to the concurrency bound. The first failed request in group order
        // fails the call, as when they went one after another.
        let mut requests: Vec<(Route, Vec<DescribeConfigsResource>)> = Vec::new();
        for (target, rs) in &groups {
            let route = target.map(Route::Broker).unwrap_or(Route::Any);
            for slice in rs.chunks(DESCRIBE_CONFIGS_RESOURCES_PER_REQUEST) {
                let wire = slice
                    .iter()
                    .map(|r| {
                        let (ty, name) = r.wire();
                        DescribeConfigsResource::default()
                            .with_resource_type(ty)
                            .with_resource_name(StrBytes::from_string(name))
                            .with_configuration_keys(keys.map(|ks| {
                                ks.iter()
                                    .map(|k| StrBytes::from_string(k.clone()))
                                    .collect()
                            }))
                    })
                    .collect();
                requests.push((route, wire));
            }
        }
        let requests = requests.into_iter().map(|(route, wire)| async move {
            let (resp, peer) = self
                .call::<DescribeConfigsRequest>(
                    route,
                    Resend::Safe,
                    |_| Ok(DescribeConfigsRequest::default().with_resources(wire.clone())),
                    |r| (0, r.throttle_time_ms),
                )
                .await?;
            Ok::<_, Error>(
                configs_from_response(&resp)
                    .into_iter()
                    .map(|(res, r)| (res, r.map_err(|e| e.with_peer(&peer))))
                    .collect::<Vec<_>>(),
            )
        });
        let results: Vec<Result<_, Error>> = stream::iter(requests)
            .buffered(self.concurrency())
            .collect()
            .await;
        let mut answers = Vec::new();
        for r in results {
            answers.extend(r?);
        }
        Ok(per_item(
            "DescribeConfigs",
            answers,
            resources.iter().cloned(),
        ))
    }

    async fn incremental_alter_configs(
        &self,
        changes: &BTreeMap<ConfigResource, Vec<(String, ConfigOp)>>,
    ) -> Result<Outcomes<ConfigResource>, Error> {
        let mut groups: BTreeMap<Option<BrokerId>, Vec<AlterConfigsResource>> = BTreeMap::new();
        for (r, ops) in changes {
            let target = match r {
                ConfigResource::Broker(id) => Some(*id),
                _ => None,
            };
            let (ty, name) = r.wire();
            let configs = ops
                .iter()
                .map(|(k, op)| {
                    let (code, value) = op.wire();
                    AlterableConfig::default()
                        .with_name(StrBytes::from_string(k.clone()))
                        .with_config_operation(code)
                        .with_value(value.map(|v| StrBytes::from_string(v.to_string())))
                })
                .collect();
            groups.entry(target).or_default().push(
                AlterConfigsResource::default()
                    .with_resource_type(ty)
                    .with_resource_name(StrBytes::from_string(name))
                    .with_configs(configs),
            );
        }
        let mut answers = Vec::new();
        for (target, wire) in groups {
            let route = target.map(Route::Broker).unwrap_or(Route::Any);
            let (resp, peer) = self
                .call::<IncrementalAlterConfigsRequest>(
                    route,
                    Resend::Never,
                    |_| Ok(IncrementalAlterConfigsRequest::default().with_resources(wire.clone())),
                    |r| (0, r.throttle_time_ms),
                )
                .await?;
            answers.extend(resp.responses.iter().filter_map(|r| {
                let res = ConfigResource::from_wire(r.resource_type, &r.resource_name)?;
                let result = code_result("IncrementalAlterConfigs", r.error_code, &r.error_message)
                    .map_err(|e| e.with_peer(&peer));
                Some((res, result))
            }));
        }
        Ok(per_item(
            "IncrementalAlterConfigs",
            answers,
            changes.keys().cloned(),
        ))
    }

    async fn alter_replica_log_dirs(
        &self,
        broker: BrokerId,
        moves: &BTreeMap<TopicPartition, String>,
    ) -> Result<Outcomes<TopicPartition>, Error> {
        if moves.is_empty() {
            return Ok(BTreeMap::new());
        }
        let dirs = alter_replica_log_dirs_request(moves);
        let (resp, peer) = self
            .call::<AlterReplicaLogDirsRequest>(
                Route::Broker(broker),
                // Asking again for the directory a move already heads to is a no-op on the
                // broker, so a request whose answer was lost may be sent again.
                Resend::Safe,
                |_| Ok(AlterReplicaLogDirsRequest::default().with_dirs(dirs.clone())),
                |r| (0, r.throttle_time_ms),
            )
            .await?;
        Ok(outcomes_at_peer(
            log_dir_move_outcomes(&resp, moves.keys().cloned()),
            &peer,
        ))
    }

    async fn elect_preferred_leaders(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<Outcomes<TopicPartition>, Error> {
        if partitions.is_empty() {
            return Ok(BTreeMap::new());
        }
        let timeout_ms = timeout_ms(self.cfg.default_api_timeout);
        let tps: Vec<TopicPartitions> = group_by_topic(partitions.iter().cloned())
            .into_iter()
            .map(|(t, ps)| {
                TopicPartitions::default()
                    .with_topic(topic_name(&t))
                    .with_partitions(ps)
            })
            .collect();
        let (resp, peer) = self
            .call::<ElectLeadersRequest>(
                Route::Controller,
                Resend::Never,
                |_| {
                    // ElectionType 0 = PREFERRED (v0 has no field and means the same).
                    Ok(ElectLeadersRequest::default()
                        .with_election_type(0)
                        .with_topic_partitions(Some(tps.clone()))
                        .with_timeout_ms(timeout_ms))
                },
                |r| (r.error_code, r.throttle_time_ms),
            )
            .await?;
        if let Some(e) = code_err("ElectLeaders", resp.error_code, &None) {
            return Err(e.with_peer(&peer));
        }
        Ok(outcomes_at_peer(
            election_outcomes(&resp, partitions),
            &peer,
        ))
    }

    async fn list_offsets(
        &self,
        leader: BrokerId,
        partitions: &[TopicPartition],
        spec: OffsetSpec,
    ) -> Result<BTreeMap<TopicPartition, Result<i64, Error>>, Error> {
        self.list_offsets_at(leader, partitions, spec).await
    }

    async fn list_groups(
        &self,
        brokers: &[BrokerId],
    ) -> Result<BTreeMap<BrokerId, Result<Vec<GroupListing>, Error>>, Error> {
        self.list_groups_on(brokers).await
    }

    async fn find_coordinators(
        &self,
        groups: &[String],
    ) -> Result<BTreeMap<String, Result<BrokerId, Error>>, Error> {
        self.find_coordinators_of(groups).await
    }

    async fn fetch_committed_offsets(
        &self,
        coordinator: BrokerId,
        groups: &[String],
    ) -> Result<BTreeMap<String, Result<GroupOffsets, Error>>, Error> {
        self.fetch_committed_offsets_from(coordinator, groups).await
    }

    fn take_notices(&self) -> Vec<String> {
        self.drain_notices()
    }
}

/// The `Dirs` of an AlterReplicaLogDirs request: one entry per destination path, its
/// partitions grouped by topic (paths, topics and partitions sorted, none twice).
pub(super) fn alter_replica_log_dirs_request(
    moves: &BTreeMap<TopicPartition, String>,
) -> Vec<AlterReplicaLogDir> {
    let mut by_dir: BTreeMap<&str, Vec<TopicPartition>> = BTreeMap::new();
    for (tp, dir) in moves {
        by_dir.entry(dir).or_default().push(tp.clone());
    }
    by_dir
        .into_iter()
        .map(|(dir, tps)| {
            AlterReplicaLogDir::default()
                .with_path(StrBytes::from_string(dir.to_string()))
                .with_topics(
                    group_by_topic(tps)
                        .into_iter()
                        .map(|(t, ps)| {
                            AlterReplicaLogDirTopic::default()
                                .with_name(topic_name(&t))
                                .with_partitions(ps)
                        })
                        .collect(),
                )
        })
        .collect()
}

/// Partitions asked per DescribeTopicPartitions page: Kafka's own default and ceiling for
/// one page (`max.request.partition.size.limit`, 2,000), so no broker answers more, and a
/// page stays far under the 4 MiB limit of small answers (about 40 bytes per partition at
/// replication factor 3, 400 KB at factor 10) while 5 million partitions take 2,500 round
/// trips.
pub const TOPIC_PAGE_PARTITIONS: i32 = 2_000;

/// Partitions a paged read accepts in all: four times the largest clusters run today, so
/// that a peer paging forever (a cursor that advances by one partition each time) ends with
/// an error instead of filling memory.
pub const MAX_PAGED_PARTITIONS: usize = 20_000_000;

impl KafkaAdmin {
    /// Whether the broker answering `Route::Any` offers `key`.
    async fn offers(&self, key: ApiKey) -> Result<bool, Error> {
        self.any_offers(key).await
    }

    /// Topics by DescribeTopicPartitions (KIP-966, Kafka 3.7+), [`TOPIC_PAGE_PARTITIONS`]
    /// at a time, following the broker's cursor until it has none. Each answer is one
    /// small page under the small-answer frame limit whatever the cluster size. A peer
    /// cannot keep the loop going: every page but the last must carry partitions, at most
    /// the number asked, and a cursor strictly after the previous one; no partition may
    /// come twice; and the total is capped by [`MAX_PAGED_PARTITIONS`].
    pub(super) async fn describe_topics_paged(
        &self,
        topics: Option<&[String]>,
    ) -> Result<Vec<TopicMetadata>, Error> {
        const API: &str = "DescribeTopicPartitions";
        // An empty list asks for all topics.
        let wanted: Vec<TopicRequest> = topics
            .unwrap_or_default()
            .iter()
            .map(|t| TopicRequest::default().with_name(topic_name(t)))
            .collect();
        let mut read: BTreeMap<String, TopicMetadata> = BTreeMap::new();
        let mut cursor: Option<Cursor> = None;
        let mut total = 0usize;
        let last_peer = loop {
            let (resp, peer) = self
                .call::<DescribeTopicPartitionsRequest>(
                    Route::Any,
                    Resend::Safe,
                    |_| {
                        Ok(DescribeTopicPartitionsRequest::default()
                            .with_topics(wanted.clone())
                            .with_response_partition_limit(TOPIC_PAGE_PARTITIONS)
                            .with_cursor(cursor.clone()))
                    },
                    |r| (0, r.throttle_time_ms),
                )
                .await?;
            let broken = |reason: String| Error::Protocol {
                addr: peer.clone(),
                api: API,
                reason,
            };
            let carried = add_topic_page(&mut read, &resp);
            total += carried;
            if carried > TOPIC_PAGE_PARTITIONS as usize {
                return Err(broken(format!(
                    "page of {carried} partitions, {TOPIC_PAGE_PARTITIONS} asked at most"
                )));
            }
            if total > MAX_PAGED_PARTITIONS {
                return Err(broken(format!(
                    "more than {MAX_PAGED_PARTITIONS} partitions in all"
                )));
            }
            let Some(next) = resp.next_cursor else {
                break peer;
            };
            if carried == 0 {
                return Err(broken(format!(
                    "page without partitions, with a next cursor ({}-{})",
                    next.topic_name.0, next.partition_index
                )));
            }
            if let Some(prev) = &cursor {
                if (&next.topic_name.0, next.partition_index)
                    <= (&prev.topic_name.0, prev.partition_index)
                {
                    return Err(broken(format!(
                        "cursor {}-{} does not advance past {}-{}",
                        next.topic_name.0,
                        next.partition_index,
                        prev.topic_name.0,
                        prev.partition_index
                    )));
                }
            }
            cursor = Some(
                Cursor::default()
                    .with_topic_name(next.topic_name)
                    .with_partition_index(next.partition_index),
            );
        };
        topics_from_pages(read).map_err(|reason| Error::Protocol {
            addr: last_peer,
            api: API,
            reason,
        })
    }
}

pub(super) fn timeout_ms(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}
