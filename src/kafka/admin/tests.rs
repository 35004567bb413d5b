//! Unit tests of the admin client: wire → model conversions, request shapes, and the client
//! against the in-process test broker (routing, retries, resend rules).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::alter_partition_reassignments_response::{
    ReassignablePartitionResponse, ReassignableTopicResponse,
};
use kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, ApiKey,
    BrokerId as WireBrokerId, DescribeLogDirsResponse, ElectLeadersResponse, MetadataResponse,
    ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

use super::decode::topic_name;
use super::*;
use crate::kafka::properties::ClientConfig;
use crate::kafka::testbroker::{self, FakeBroker, Handler};

/// A Metadata response with two brokers, one healthy and one leaderless partition.
pub(crate) fn sample_metadata(port: i32) -> MetadataResponse {
    let p = |idx: i32, leader: i32, replicas: &[i32], isr: &[i32], code: i16| {
        MetadataResponsePartition::default()
            .with_partition_index(idx)
            .with_leader_id(WireBrokerId(leader))
            .with_replica_nodes(replicas.iter().map(|b| WireBrokerId(*b)).collect())
            .with_isr_nodes(isr.iter().map(|b| WireBrokerId(*b)).collect())
            .with_error_code(code)
    };
    MetadataResponse::default()
        .with_brokers(vec![
            MetadataResponseBroker::default()
                .with_node_id(WireBrokerId(2))
                .with_host(StrBytes::from_static_str("127.0.0.1"))
                .with_port(port)
                .with_rack(None),
            MetadataResponseBroker::default()
                .with_node_id(WireBrokerId(1))
                .with_host(StrBytes::from_static_str("127.0.0.1"))
                .with_port(port)
                .with_rack(Some(StrBytes::from_static_str("rack-a"))),
        ])
        .with_controller_id(WireBrokerId(1))
        .with_cluster_id(Some(StrBytes::from_static_str("c1")))
        .with_topics(vec![
            MetadataResponseTopic::default()
                .with_name(Some(topic_name("foo")))
                .with_partitions(vec![
                    p(1, -1, &[2, 3], &[], 5),
                    p(0, 1, &[1, 2], &[1, 2], 0),
                ]),
            MetadataResponseTopic::default()
                .with_name(Some(topic_name("__consumer_offsets")))
                .with_is_internal(true)
                .with_partitions(vec![p(0, 1, &[1], &[1], 0)]),
        ])
}

#[test]
fn metadata_wire_to_model_round_trip() {
    // Encode with kafka-protocol, decode as the client does, convert.
    let resp = sample_metadata(9092);
    let mut buf = bytes::BytesMut::new();
    resp.encode(&mut buf, 12).unwrap();
    let mut bytes = buf.freeze();
    let decoded = MetadataResponse::decode(&mut bytes, 12).unwrap();
    let cluster = cluster_from_metadata(&decoded);
    assert_eq!(cluster.controller_id, Some(1));
    assert_eq!(cluster.cluster_id.as_deref(), Some("c1"));
    assert_eq!(
        cluster.brokers.iter().map(|b| b.id).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(cluster.brokers[0].rack.as_deref(), Some("rack-a"));
    assert_eq!(cluster.brokers[1].rack, None);
    let topics = topics_from_metadata(&decoded);
    assert_eq!(topics[0].name, "__consumer_offsets");
    assert!(topics[0].internal);
    let foo = &topics[1];
    assert_eq!(foo.partitions[0].partition, 0);
    assert_eq!(foo.partitions[0].leader, Some(1));
    assert_eq!(foo.partitions[0].replicas, [1, 2]);
    assert_eq!(foo.partitions[0].isr, [1, 2]);
    assert_eq!(foo.partitions[1].leader, None);
    assert_eq!(foo.partitions[1].replicas, [2, 3], "dead broker 3 kept");
    assert_eq!(
        foo.partitions[1].error.as_ref().and_then(Error::code),
        Some(5)
    );
}

#[test]
fn log_dirs_wire_to_model_v1_and_v4() {
    use kafka_protocol::messages::describe_log_dirs_response::{
        DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
    };
    let part = |p: i32, size: i64, future: bool| {
        DescribeLogDirsPartition::default()
            .with_partition_index(p)
            .with_partition_size(size)
            .with_is_future_key(future)
    };
    let resp = DescribeLogDirsResponse::default().with_results(vec![
        DescribeLogDirsResult::default()
            .with_log_dir(StrBytes::from_static_str("/b"))
            .with_error_code(56),
        DescribeLogDirsResult::default()
            .with_log_dir(StrBytes::from_static_str("/a"))
            .with_total_bytes(1000)
            .with_usable_bytes(400)
            .with_topics(vec![DescribeLogDirsTopic::default()
                .with_name(topic_name("foo"))
                .with_partitions(vec![
                    part(1, 5, true),
                    part(1, 7, false),
                    part(0, 3, false),
                ])]),
    ]);
    for version in [1i16, 4] {
        let mut buf = bytes::BytesMut::new();
        let wire = if version < 4 {
            // v1 cannot carry the sizes: a broker before 3.3 does not report them.
            resp.clone().with_results(
                resp.results
                    .iter()
                    .map(|r| r.clone().with_total_bytes(-1).with_usable_bytes(-1))
                    .collect(),
            )
        } else {
            resp.clone()
        };
        wire.encode(&mut buf, version).unwrap();
        let decoded = DescribeLogDirsResponse::decode(&mut buf.freeze(), version).unwrap();
        let dirs = log_dirs_from_response(&decoded).unwrap();
        assert_eq!(dirs[0].path, "/a");
        assert_eq!(dirs[1].error.as_ref().and_then(Error::code), Some(56));
        let r = &dirs[0].replicas;
        assert_eq!(r.len(), 3);
        assert_eq!((r[0].tp.partition, r[0].size_bytes), (0, 3));
        assert_eq!((r[1].size_bytes, r[1].is_future), (7, false));
        assert_eq!((r[2].size_bytes, r[2].is_future), (5, true));
        if version == 4 {
            assert_eq!(dirs[0].total_bytes, Some(1000));
            assert_eq!(dirs[0].usable_bytes, Some(400));
        } else {
            assert_eq!(dirs[0].total_bytes, None);
        }
    }
    let top = DescribeLogDirsResponse::default().with_error_code(31);
    assert!(log_dirs_from_response(&top)
        .unwrap_err()
        .to_string()
        .contains("CLUSTER_AUTHORIZATION_FAILED"));
}

fn respond_body<T: Encodable>(version: i16, resp: &T) -> Option<Vec<u8>> {
    Some(testbroker::body(version, resp))
}

async fn admin_for(state: testbroker::State) -> (FakeBroker, KafkaAdmin) {
    let broker = FakeBroker::start(state).await;
    let cfg = ClientConfig {
        request_timeout: Duration::from_millis(500),
        default_api_timeout: Duration::from_millis(1500),
        ..ClientConfig::default()
    };
    let admin = KafkaAdmin::new(&broker.addr(), cfg).unwrap();
    (broker, admin)
}

#[tokio::test]
async fn describe_topics_end_to_end_sets_no_auto_create() {
    let (broker, admin) = admin_for(testbroker::State::default()).await;
    // The default fake answers with its own single broker and no topics.
    let topics = admin
        .describe_topics(Some(&["foo".to_string()]))
        .await
        .unwrap();
    assert!(topics.is_empty());
    let cluster = admin.describe_cluster().await.unwrap();
    assert_eq!(cluster.brokers.len(), 1);
    assert!(broker
        .log()
        .iter()
        .any(|r| r.api_key == 3 && r.api_version == 12));
}

#[test]
fn f_d3_metadata_request_never_auto_creates() {
    for v in 4..=13 {
        assert!(!metadata_request(Some(&["t".into()]), v).allow_auto_topic_creation);
    }
    assert!(metadata_request(None, 12).topics.is_none());
    assert_eq!(metadata_request(Some(&[]), 12).topics, Some(vec![]));
}

fn cancel_handler(seen: Arc<std::sync::Mutex<Vec<AlterPartitionReassignmentsRequest>>>) -> Handler {
    Arc::new(move |key, version, mut body: Bytes| {
        if key != 45 {
            return None;
        }
        let req = AlterPartitionReassignmentsRequest::decode(&mut body, version).unwrap();
        let responses = req
            .topics
            .iter()
            .map(|t| {
                ReassignableTopicResponse::default()
                    .with_name(t.name.clone())
                    .with_partitions(
                        t.partitions
                            .iter()
                            .map(|p| {
                                let code = if p.replicas.is_none() { 85 } else { 0 };
                                ReassignablePartitionResponse::default()
                                    .with_partition_index(p.partition_index)
                                    .with_error_code(code)
                            })
                            .collect(),
                    )
            })
            .collect();
        seen.lock().unwrap().push(req);
        respond_body(
            version,
            &AlterPartitionReassignmentsResponse::default().with_responses(responses),
        )
    })
}

#[tokio::test]
async fn f_d4_cancel_sends_null_replicas_and_reports_no_reassignment() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (broker, admin) = admin_for(testbroker::State {
        handler: Some(cancel_handler(seen.clone())),
        ..Default::default()
    })
    .await;
    let mut targets = BTreeMap::new();
    targets.insert(TopicPartition::new("foo", 0), None);
    targets.insert(TopicPartition::new("foo", 1), Some(vec![1, 2]));
    let out = admin.alter_reassignments(&targets, true).await.unwrap();
    assert_eq!(out[&TopicPartition::new("foo", 1)], Ok(()));
    let err = out[&TopicPartition::new("foo", 0)].clone().unwrap_err();
    assert_eq!(err.code(), Some(85));
    assert!(
        err.to_string().contains("NO_REASSIGNMENT_IN_PROGRESS"),
        "{err}"
    );
    // Sent once (not retried), grouped by topic, cancel as null replicas.
    let reqs = seen.lock().unwrap().clone();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].topics.len(), 1);
    assert_eq!(reqs[0].topics[0].partitions[0].replicas, None);
    assert_eq!(broker.log().iter().filter(|r| r.api_key == 45).count(), 1);
}

#[tokio::test]
async fn non_idempotent_timeout_is_outcome_unknown_and_not_resent() {
    // The handler never answers AlterPartitionReassignments.
    let (broker, admin) = admin_for(testbroker::State {
        handler: Some(Arc::new(|_, _, _| None)),
        ..Default::default()
    })
    .await;
    let mut targets = BTreeMap::new();
    targets.insert(TopicPartition::new("foo", 0), Some(vec![1]));
    let err = admin.alter_reassignments(&targets, true).await.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err}");
    assert!(err.to_string().contains("outcome unknown"), "{err}");
    assert_eq!(broker.log().iter().filter(|r| r.api_key == 45).count(), 1);
}

#[tokio::test]
async fn idempotent_not_controller_is_retried() {
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c2 = calls.clone();
    let handler: Handler = Arc::new(move |key, version, _body| {
        if key != 46 {
            return None;
        }
        let n = c2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let code = if n == 0 { 41 } else { 0 };
        respond_body(
            version,
            &kafka_protocol::messages::ListPartitionReassignmentsResponse::default()
                .with_error_code(code),
        )
    });
    let (_broker, admin) = admin_for(testbroker::State {
        handler: Some(handler),
        ..Default::default()
    })
    .await;
    let out = admin.list_reassignments(None).await.unwrap();
    assert!(out.is_empty());
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test]
async fn unreachable_bootstrap_fails_fast_with_one_line() {
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let cfg = ClientConfig::default(); // 60 s API timeout
    let admin = KafkaAdmin::new(&addr, cfg).unwrap();
    let start = Instant::now();
    let e = admin.describe_cluster().await.unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(5));
    let msg = e.to_string();
    assert!(
        msg.starts_with(&format!("cannot connect to {addr}:")),
        "{msg}"
    );
    assert!(!msg.contains('\n'));
    assert!(KafkaAdmin::new("nohostport", ClientConfig::default()).is_err());
    assert!(KafkaAdmin::new(" , ", ClientConfig::default()).is_err());
}

#[test]
fn f_d5_election_not_needed_is_success() {
    let resp = ElectLeadersResponse::default().with_replica_election_results(vec![
        ReplicaElectionResult::default()
            .with_topic(topic_name("foo"))
            .with_partition_result(vec![
                PartitionResult::default().with_partition_id(0),
                PartitionResult::default()
                    .with_partition_id(1)
                    .with_error_code(84),
                PartitionResult::default()
                    .with_partition_id(2)
                    .with_error_code(80),
            ]),
    ]);
    let asked: Vec<TopicPartition> = (0..4).map(|p| TopicPartition::new("foo", p)).collect();
    let out = election_outcomes(&resp, &asked);
    assert_eq!(out[&asked[0]], Ok(()));
    assert_eq!(out[&asked[1]], Ok(()));
    assert!(out[&asked[2]]
        .clone()
        .unwrap_err()
        .to_string()
        .contains("PREFERRED_LEADER_NOT_AVAILABLE"));
    assert!(out[&asked[3]].is_err());
}

#[test]
fn response_header_helper_is_v0_for_non_flexible() {
    // Guard for the fake broker's handler path: AlterPartitionReassignments is flexible
    // from v0 (header v1), ListPartitionReassignments too.
    assert_eq!(
        ApiKey::AlterPartitionReassignments.response_header_version(0),
        1
    );
    let _ = ResponseHeader::default();
}

#[test]
fn per_item_names_every_asked_item_the_reply_left_out() {
    use super::decode::per_item;
    let asked: Vec<TopicPartition> = (0..3).map(|p| TopicPartition::new("foo", p)).collect();
    let answers = vec![
        (
            asked[0].clone(),
            Err(Error::broker("ElectLeaders", 80, None)),
        ),
        (asked[0].clone(), Ok(())),
        (TopicPartition::new("bar", 9), Ok(())),
        (asked[2].clone(), Ok(())),
    ];
    let out = per_item("ElectLeaders", answers, asked.iter().cloned());
    assert_eq!(out[&asked[0]], Ok(()), "the later answer for an item wins");
    assert_eq!(out[&asked[2]], Ok(()));
    assert_eq!(
        out[&TopicPartition::new("bar", 9)],
        Ok(()),
        "an answer nobody asked for is kept"
    );
    let missing = out[&asked[1]].clone().unwrap_err().to_string();
    assert_eq!(
        missing,
        "ElectLeaders: no result for foo-1 in the broker's answer"
    );
    assert_eq!(out.len(), 4);
}

/// A handler answering one API with the given top-level error code, the other APIs never.
fn error_code_handler(api: ApiKey, code: i16) -> Handler {
    Arc::new(move |key, version, _body| {
        if key != api as i16 {
            return None;
        }
        match api {
            ApiKey::DescribeLogDirs => respond_body(
                version,
                &DescribeLogDirsResponse::default().with_error_code(code),
            ),
            ApiKey::ElectLeaders => respond_body(
                version,
                &ElectLeadersResponse::default().with_error_code(code),
            ),
            ApiKey::AlterPartitionReassignments => respond_body(
                version,
                &AlterPartitionReassignmentsResponse::default()
                    .with_error_code(code)
                    .with_error_message(Some(StrBytes::from_static_str("boom"))),
            ),
            _ => None,
        }
    })
}

#[tokio::test]
async fn broker_error_codes_name_the_peer_and_its_id() {
    for (api, code, want) in [
        (
            ApiKey::DescribeLogDirs,
            -1,
            "DescribeLogDirs to {addr} (broker 1) failed: UNKNOWN_SERVER_ERROR (-1)",
        ),
        (
            ApiKey::AlterPartitionReassignments,
            31,
            "AlterPartitionReassignments to {addr} (broker 1) failed: CLUSTER_AUTHORIZATION_FAILED (31): boom",
        ),
        // Retried until the API timeout, then reported with the broker that kept saying it.
        (
            ApiKey::ElectLeaders,
            41,
            "ElectLeaders to {addr} (broker 1) failed: NOT_CONTROLLER (41)",
        ),
    ] {
        let (broker, admin) = admin_for(testbroker::State {
            handler: Some(error_code_handler(api, code)),
            ..Default::default()
        })
        .await;
        let tp = TopicPartition::new("foo", 0);
        let err = match api {
            ApiKey::DescribeLogDirs => admin.describe_log_dirs(&[1]).await.unwrap()[&1]
                .clone()
                .unwrap_err(),
            ApiKey::ElectLeaders => admin
                .elect_preferred_leaders(std::slice::from_ref(&tp))
                .await
                .unwrap_err(),
            _ => admin
                .alter_reassignments(&[(tp, None)].into_iter().collect(), false)
                .await
                .unwrap_err(),
        };
        assert_eq!(err.code(), Some(code), "{err}");
        assert_eq!(
            err.to_string(),
            want.replace("{addr}", &broker.addr()),
            "{api:?}"
        );
    }
}

#[tokio::test]
async fn per_partition_broker_errors_name_the_peer() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (broker, admin) = admin_for(testbroker::State {
        handler: Some(cancel_handler(seen)),
        ..Default::default()
    })
    .await;
    let tp = TopicPartition::new("foo", 0);
    let out = admin
        .alter_reassignments(&[(tp.clone(), None)].into_iter().collect(), false)
        .await
        .unwrap();
    let err = out[&tp].clone().unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "AlterPartitionReassignments to {} (broker 1) failed: NO_REASSIGNMENT_IN_PROGRESS (85)",
            broker.addr()
        )
    );
}

/// The version table for the rate sampler's calls: Metadata and ApiVersions as Kafka 4.1
/// offers them, and the given FindCoordinator and OffsetFetch maxima.
fn rate_ranges(find_coordinator_max: i16, offset_fetch_max: i16) -> Vec<(i16, i16, i16)> {
    vec![
        (ApiKey::Metadata as i16, 0, 12),
        (ApiKey::ApiVersions as i16, 0, 4),
        (ApiKey::ListOffsets as i16, 1, 10),
        (ApiKey::ListGroups as i16, 0, 5),
        (ApiKey::FindCoordinator as i16, 0, find_coordinator_max),
        (ApiKey::OffsetFetch as i16, 1, offset_fetch_max),
    ]
}

/// Answers FindCoordinator (every group: broker 1) and OffsetFetch (every group: offset 7
/// for foo-0), batched or per group as the request's version asks, and records how many
/// groups each request carried.
fn group_handler(seen: Arc<std::sync::Mutex<Vec<(i16, i16, usize)>>>) -> Handler {
    use kafka_protocol::messages::find_coordinator_response::Coordinator;
    use kafka_protocol::messages::offset_fetch_response::{
        OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
        OffsetFetchResponseTopic, OffsetFetchResponseTopics,
    };
    use kafka_protocol::messages::{
        FindCoordinatorRequest, FindCoordinatorResponse, OffsetFetchRequest, OffsetFetchResponse,
    };
    Arc::new(move |key, version, mut body: Bytes| match key {
        10 => {
            let req = FindCoordinatorRequest::decode(&mut body, version).unwrap();
            let resp = if version >= 4 {
                seen.lock()
                    .unwrap()
                    .push((key, version, req.coordinator_keys.len()));
                FindCoordinatorResponse::default().with_coordinators(
                    req.coordinator_keys
                        .iter()
                        .map(|k| {
                            Coordinator::default()
                                .with_key(k.clone())
                                .with_node_id(WireBrokerId(1))
                        })
                        .collect(),
                )
            } else {
                assert_eq!(req.key_type, 0, "group key");
                seen.lock().unwrap().push((key, version, 1));
                FindCoordinatorResponse::default().with_node_id(WireBrokerId(1))
            };
            respond_body(version, &resp)
        }
        9 => {
            let req = OffsetFetchRequest::decode(&mut body, version).unwrap();
            let resp = if version >= 8 {
                seen.lock().unwrap().push((key, version, req.groups.len()));
                assert!(req.groups.iter().all(|g| g.topics.is_none()), "all topics");
                OffsetFetchResponse::default().with_groups(
                    req.groups
                        .iter()
                        .map(|g| {
                            OffsetFetchResponseGroup::default()
                                .with_group_id(g.group_id.clone())
                                .with_topics(vec![OffsetFetchResponseTopics::default()
                                    .with_name(topic_name("foo"))
                                    .with_partitions(vec![
                                        OffsetFetchResponsePartitions::default()
                                            .with_committed_offset(7),
                                    ])])
                        })
                        .collect(),
                )
            } else {
                seen.lock().unwrap().push((key, version, 1));
                assert!(req.topics.is_none(), "all topics");
                OffsetFetchResponse::default().with_topics(vec![OffsetFetchResponseTopic::default(
                )
                .with_name(topic_name("foo"))
                .with_partitions(vec![
                    OffsetFetchResponsePartition::default().with_committed_offset(7)
                ])])
            };
            respond_body(version, &resp)
        }
        _ => None,
    })
}

#[tokio::test]
async fn coordinators_and_commits_are_batched_where_the_broker_can_and_per_group_before() {
    let groups: Vec<String> = ["a", "b", "c"].iter().map(|g| g.to_string()).collect();
    for (fc_max, of_max, expect) in [
        (6, 9, vec![(10, 6, 3), (9, 9, 3)]),
        (4, 8, vec![(10, 4, 3), (9, 8, 3)]),
        (
            3,
            7,
            vec![
                (10, 3, 1),
                (10, 3, 1),
                (10, 3, 1),
                (9, 7, 1),
                (9, 7, 1),
                (9, 7, 1),
            ],
        ),
    ] {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (_broker, admin) = admin_for(testbroker::State {
            handler: Some(group_handler(seen.clone())),
            ranges: Some(rate_ranges(fc_max, of_max)),
            ..Default::default()
        })
        .await;
        let coordinators = admin.find_coordinators(&groups).await.unwrap();
        assert_eq!(coordinators.len(), 3);
        assert!(
            coordinators.values().all(|c| *c == Ok(1)),
            "{coordinators:?}"
        );
        let commits = admin.fetch_committed_offsets(1, &groups).await.unwrap();
        assert_eq!(commits.len(), 3);
        for g in &groups {
            let offsets = commits[g].as_ref().unwrap();
            assert_eq!(offsets[&TopicPartition::new("foo", 0)], Ok(7), "{g}");
        }
        assert_eq!(*seen.lock().unwrap(), expect, "FindCoordinator v{fc_max}");
    }
}

#[tokio::test]
async fn list_offsets_asks_as_a_consumer_for_the_given_timestamp() {
    use kafka_protocol::messages::list_offsets_response::{
        ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
    };
    use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let handler: Handler = Arc::new(move |key, version, mut body: Bytes| {
        if key != 2 {
            return None;
        }
        let req = ListOffsetsRequest::decode(&mut body, version).unwrap();
        let topics = req
            .topics
            .iter()
            .map(|t| {
                ListOffsetsTopicResponse::default()
                    .with_name(t.name.clone())
                    .with_partitions(
                        t.partitions
                            .iter()
                            .map(|p| {
                                // Earliest (-2) → 10, latest (-1) → 100 + partition.
                                let offset = if p.timestamp == -2 {
                                    10
                                } else {
                                    100 + i64::from(p.partition_index)
                                };
                                ListOffsetsPartitionResponse::default()
                                    .with_partition_index(p.partition_index)
                                    .with_offset(offset)
                            })
                            .collect(),
                    )
            })
            .collect();
        s2.lock().unwrap().push(req);
        respond_body(version, &ListOffsetsResponse::default().with_topics(topics))
    });
    let (_broker, admin) = admin_for(testbroker::State {
        handler: Some(handler),
        ranges: Some(rate_ranges(6, 9)),
        ..Default::default()
    })
    .await;
    let tps = [TopicPartition::new("foo", 0), TopicPartition::new("foo", 1)];
    let latest = admin
        .list_offsets(1, &tps, OffsetSpec::Latest)
        .await
        .unwrap();
    assert_eq!(latest[&tps[0]], Ok(100));
    assert_eq!(latest[&tps[1]], Ok(101));
    let earliest = admin
        .list_offsets(1, &tps, OffsetSpec::Earliest)
        .await
        .unwrap();
    assert_eq!(earliest[&tps[1]], Ok(10));
    let reqs = seen.lock().unwrap().clone();
    assert_eq!(reqs.len(), 2);
    for r in &reqs {
        assert_eq!(r.replica_id, WireBrokerId(-1));
        assert_eq!(r.isolation_level, 0);
        assert_eq!(r.topics.len(), 1);
        assert_eq!(r.topics[0].partitions.len(), 2);
    }
    // A leader of many partitions is asked in slices, each answer an echo of its request.
    seen.lock().unwrap().clear();
    let many: Vec<TopicPartition> = (0..4_500).map(|p| TopicPartition::new("foo", p)).collect();
    let latest = admin
        .list_offsets(1, &many, OffsetSpec::Latest)
        .await
        .unwrap();
    assert_eq!(latest.len(), 4_500);
    assert_eq!(latest[&many[4_499]], Ok(4_599));
    let slices: Vec<usize> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.topics[0].partitions.len())
        .collect();
    assert_eq!(slices, [2_000, 2_000, 500]);
}

#[tokio::test]
async fn a_coordinator_of_many_groups_is_asked_in_slices() {
    let groups: Vec<String> = (0..150).map(|i| format!("group-{i:03}")).collect();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (_broker, admin) = admin_for(testbroker::State {
        handler: Some(group_handler(seen.clone())),
        ranges: Some(rate_ranges(6, 9)),
        ..Default::default()
    })
    .await;
    let commits = admin.fetch_committed_offsets(1, &groups).await.unwrap();
    assert_eq!(commits.len(), 150);
    assert!(commits.values().all(|r| r.is_ok()));
    let mut expect = vec![(9, 9, 16); 9];
    expect.push((9, 9, 6));
    assert_eq!(*seen.lock().unwrap(), expect);
}

#[test]
fn alter_replica_log_dirs_request_groups_by_path_and_topic() {
    let mut moves = BTreeMap::new();
    moves.insert(TopicPartition::new("b", 1), "/d1".to_string());
    moves.insert(TopicPartition::new("a", 2), "/d0".to_string());
    moves.insert(TopicPartition::new("a", 0), "/d1".to_string());
    let dirs = super::calls::alter_replica_log_dirs_request(&moves);
    type Topics = Vec<(String, Vec<i32>)>;
    let shape: Vec<(String, Topics)> = dirs
        .iter()
        .map(|d| {
            (
                d.path.to_string(),
                d.topics
                    .iter()
                    .map(|t| (t.name.0.to_string(), t.partitions.clone()))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        vec![
            ("/d0".to_string(), vec![("a".to_string(), vec![2])]),
            (
                "/d1".to_string(),
                vec![("a".to_string(), vec![0]), ("b".to_string(), vec![1])]
            ),
        ]
    );
}

#[test]
fn alter_replica_log_dirs_outcomes_per_partition_and_missing_answers_fail() {
    use kafka_protocol::messages::alter_replica_log_dirs_response::{
        AlterReplicaLogDirPartitionResult, AlterReplicaLogDirTopicResult,
    };
    use kafka_protocol::messages::AlterReplicaLogDirsResponse;
    let resp = AlterReplicaLogDirsResponse::default().with_results(vec![
        AlterReplicaLogDirTopicResult::default()
            .with_topic_name(topic_name("t"))
            .with_partitions(vec![
                AlterReplicaLogDirPartitionResult::default()
                    .with_partition_index(0)
                    .with_error_code(0),
                AlterReplicaLogDirPartitionResult::default()
                    .with_partition_index(1)
                    .with_error_code(9),
                AlterReplicaLogDirPartitionResult::default()
                    .with_partition_index(2)
                    .with_error_code(57),
            ]),
    ]);
    let asked = (0..4).map(|p| TopicPartition::new("t", p));
    let out = log_dir_move_outcomes(&resp, asked);
    assert_eq!(out[&TopicPartition::new("t", 0)], Ok(()));
    assert_eq!(
        out[&TopicPartition::new("t", 1)]
            .as_ref()
            .unwrap_err()
            .code(),
        Some(9)
    );
    let e = out[&TopicPartition::new("t", 2)].as_ref().unwrap_err();
    assert!(e.to_string().contains("LOG_DIR_NOT_FOUND"), "{e}");
    let missing = out[&TopicPartition::new("t", 3)].as_ref().unwrap_err();
    assert!(
        missing.to_string().contains("no result for t-3"),
        "{missing}"
    );
}

#[tokio::test]
async fn alter_replica_log_dirs_goes_to_the_replicas_broker_at_v2() {
    use kafka_protocol::messages::alter_replica_log_dirs_response::{
        AlterReplicaLogDirPartitionResult, AlterReplicaLogDirTopicResult,
    };
    use kafka_protocol::messages::{AlterReplicaLogDirsRequest, AlterReplicaLogDirsResponse};
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    let handler: Handler = Arc::new(move |key, version, mut body: Bytes| {
        if key != ApiKey::AlterReplicaLogDirs as i16 {
            return None;
        }
        let req = AlterReplicaLogDirsRequest::decode(&mut body, version).unwrap();
        // Partition 1's replica does not exist on the broker yet.
        let results = req
            .dirs
            .iter()
            .flat_map(|d| d.topics.iter())
            .map(|t| {
                AlterReplicaLogDirTopicResult::default()
                    .with_topic_name(t.name.clone())
                    .with_partitions(
                        t.partitions
                            .iter()
                            .map(|p| {
                                AlterReplicaLogDirPartitionResult::default()
                                    .with_partition_index(*p)
                                    .with_error_code(if *p == 1 { 9 } else { 0 })
                            })
                            .collect(),
                    )
            })
            .collect();
        seen2.lock().unwrap().push((version, req));
        respond_body(
            version,
            &AlterReplicaLogDirsResponse::default().with_results(results),
        )
    });
    let (broker, admin) = admin_for(testbroker::State {
        handler: Some(handler),
        ..Default::default()
    })
    .await;
    let id = admin.describe_cluster().await.unwrap().brokers[0].id;
    let mut moves = BTreeMap::new();
    moves.insert(TopicPartition::new("t", 0), "/d1".to_string());
    moves.insert(TopicPartition::new("t", 1), "/d1".to_string());
    let out = admin.alter_replica_log_dirs(id, &moves).await.unwrap();
    assert_eq!(out[&TopicPartition::new("t", 0)], Ok(()));
    let e = out[&TopicPartition::new("t", 1)].clone().unwrap_err();
    assert_eq!(e.code(), Some(9));
    assert!(e.to_string().contains("REPLICA_NOT_AVAILABLE"), "{e}");
    let reqs = seen.lock().unwrap().clone();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].0, 2);
    assert_eq!(reqs[0].1.dirs.len(), 1);
    assert_eq!(reqs[0].1.dirs[0].path.to_string(), "/d1");
    assert_eq!(reqs[0].1.dirs[0].topics[0].partitions, vec![0, 1]);
    assert_eq!(
        broker
            .log()
            .iter()
            .filter(|r| r.api_key == ApiKey::AlterReplicaLogDirs as i16)
            .count(),
        1
    );
    // Nothing to move sends nothing.
    assert!(admin
        .alter_replica_log_dirs(id, &BTreeMap::new())
        .await
        .unwrap()
        .is_empty());
}

/// Version table of a 3.7+ broker: the default one and DescribeTopicPartitions v0.
fn ranges_with_topic_pages() -> Vec<(i16, i16, i16)> {
    let mut r = testbroker::default_ranges(4);
    r.push((ApiKey::DescribeTopicPartitions as i16, 0, 0));
    r
}

/// Answers DescribeTopicPartitions like a Kafka broker over `cluster` (topic → partition
/// count): topics in name order (the named ones, or all), from the cursor on, at most the
/// limit asked per page, a next cursor at the first partition left out. Counts the pages.
fn paging_handler(
    cluster: BTreeMap<String, i32>,
    pages: Arc<std::sync::atomic::AtomicUsize>,
) -> Handler {
    use kafka_protocol::messages::describe_topic_partitions_response::{
        Cursor, DescribeTopicPartitionsResponsePartition, DescribeTopicPartitionsResponseTopic,
    };
    use kafka_protocol::messages::{
        DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse,
    };
    Arc::new(move |key, version, mut body: Bytes| {
        if key != ApiKey::DescribeTopicPartitions as i16 {
            return None;
        }
        pages.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let req = DescribeTopicPartitionsRequest::decode(&mut body, version).unwrap();
        let names: Vec<String> = if req.topics.is_empty() {
            cluster.keys().cloned().collect()
        } else {
            let mut n: Vec<String> = req.topics.iter().map(|t| t.name.0.to_string()).collect();
            n.sort();
            n
        };
        let (from_topic, from_part) = req
            .cursor
            .as_ref()
            .map(|c| (c.topic_name.0.to_string(), c.partition_index))
            .unwrap_or_default();
        let mut left = req.response_partition_limit;
        let mut resp = DescribeTopicPartitionsResponse::default();
        for name in names.iter().filter(|n| **n >= from_topic) {
            let Some(&count) = cluster.get(name) else {
                resp.topics.push(
                    DescribeTopicPartitionsResponseTopic::default()
                        .with_name(Some(topic_name(name)))
                        .with_error_code(3),
                );
                continue;
            };
            let start = if *name == from_topic { from_part } else { 0 };
            let mut t =
                DescribeTopicPartitionsResponseTopic::default().with_name(Some(topic_name(name)));
            for p in start..count {
                if left == 0 {
                    resp.next_cursor = Some(
                        Cursor::default()
                            .with_topic_name(topic_name(name))
                            .with_partition_index(p),
                    );
                    break;
                }
                left -= 1;
                t.partitions.push(
                    DescribeTopicPartitionsResponsePartition::default()
                        .with_partition_index(p)
                        .with_leader_id(WireBrokerId(1))
                        .with_replica_nodes(vec![WireBrokerId(1), WireBrokerId(2)])
                        .with_isr_nodes(vec![WireBrokerId(1)]),
                );
            }
            resp.topics.push(t);
            if resp.next_cursor.is_some() {
                break;
            }
        }
        respond_body(version, &resp)
    })
}

async fn paged_admin(handler: Handler) -> (FakeBroker, KafkaAdmin) {
    admin_for(testbroker::State {
        ranges: Some(ranges_with_topic_pages()),
        handler: Some(handler),
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn describe_topics_pages_through_describe_topic_partitions() {
    let cluster: BTreeMap<String, i32> = [("a", 2_500), ("b", 1), ("c", 3_000)]
        .into_iter()
        .map(|(t, n)| (t.to_string(), n))
        .collect();
    let pages = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (broker, admin) = paged_admin(paging_handler(cluster.clone(), pages.clone())).await;
    let topics = admin.describe_topics(None).await.unwrap();
    // 5,501 partitions at 2,000 a page; no Metadata request for topics.
    assert_eq!(pages.load(std::sync::atomic::Ordering::SeqCst), 3);
    assert!(!broker
        .log()
        .iter()
        .any(|r| r.api_key == ApiKey::Metadata as i16));
    assert_eq!(
        topics.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    for t in &topics {
        assert_eq!(t.error, None);
        let want: Vec<i32> = (0..cluster[&t.name]).collect();
        let got: Vec<i32> = t.partitions.iter().map(|p| p.partition).collect();
        assert_eq!(got, want, "{}", t.name);
    }
    assert_eq!(topics[1].partitions[0].replicas, [1, 2]);
    assert_eq!(topics[1].partitions[0].isr, [1]);
    assert_eq!(topics[1].partitions[0].leader, Some(1));
    // Named topics, one unknown: the unknown one's error is data, as on the Metadata path.
    pages.store(0, std::sync::atomic::Ordering::SeqCst);
    let named = ["c".to_string(), "nope".to_string()];
    let topics = admin.describe_topics(Some(&named)).await.unwrap();
    assert_eq!(pages.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_eq!(topics.len(), 2);
    assert_eq!(topics[0].partitions.len(), 3_000);
    assert!(matches!(
        topics[1].error,
        Some(Error::Broker { code: 3, .. })
    ));
    // None asked: no request.
    assert!(admin.describe_topics(Some(&[])).await.unwrap().is_empty());
}

/// A DescribeTopicPartitions page (v0 body) of `n` partitions of topic `t` from `first`,
/// with `next` as the next cursor.
fn page(version: i16, t: &str, first: i32, n: i32, next: Option<(&str, i32)>) -> Option<Vec<u8>> {
    use kafka_protocol::messages::describe_topic_partitions_response::{
        Cursor, DescribeTopicPartitionsResponsePartition, DescribeTopicPartitionsResponseTopic,
    };
    use kafka_protocol::messages::DescribeTopicPartitionsResponse;
    let resp = DescribeTopicPartitionsResponse::default()
        .with_topics(vec![DescribeTopicPartitionsResponseTopic::default()
            .with_name(Some(topic_name(t)))
            .with_partitions(
                (first..first + n)
                    .map(|p| {
                        DescribeTopicPartitionsResponsePartition::default()
                            .with_partition_index(p)
                            .with_leader_id(WireBrokerId(1))
                            .with_replica_nodes(vec![WireBrokerId(1)])
                    })
                    .collect(),
            )])
        .with_next_cursor(next.map(|(t, p)| {
            Cursor::default()
                .with_topic_name(topic_name(t))
                .with_partition_index(p)
        }));
    respond_body(version, &resp)
}

/// The error a paged read ends with when the broker answers the n-th page (from 0) with
/// `answer(n, version)`; also the number of pages it asked for.
async fn paged_error(
    answer: impl Fn(usize, i16) -> Option<Vec<u8>> + Send + Sync + 'static,
) -> (String, usize) {
    let pages = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let p2 = pages.clone();
    let handler: Handler = Arc::new(move |key, version, _body| {
        if key != ApiKey::DescribeTopicPartitions as i16 {
            return None;
        }
        answer(
            p2.fetch_add(1, std::sync::atomic::Ordering::SeqCst),
            version,
        )
    });
    let (_broker, admin) = paged_admin(handler).await;
    let e = admin.describe_topics(None).await.unwrap_err();
    let n = pages.load(std::sync::atomic::Ordering::SeqCst);
    (e.to_string(), n)
}

#[tokio::test]
async fn hostile_topic_pages_end_with_an_error() {
    // The same cursor again and again: stopped at the second page.
    let (e, n) = paged_error(|_, v| page(v, "t", 0, 1, Some(("t", 1)))).await;
    assert!(
        e.contains("DescribeTopicPartitions response from")
            && e.contains("cursor t-1 does not advance past t-1"),
        "{e}"
    );
    assert_eq!(n, 2);
    // A cursor going back.
    let (e, _) = paged_error(|i, v| page(v, "t", i as i32, 1, Some(("t", 5 - i as i32)))).await;
    assert!(e.contains("cursor t-4 does not advance past t-5"), "{e}");
    // More partitions than asked for.
    let (e, n) = paged_error(|_, v| page(v, "t", 0, 2_001, None)).await;
    assert!(
        e.contains("page of 2001 partitions, 2000 asked at most"),
        "{e}"
    );
    assert_eq!(n, 1);
    // An empty page that still says there is more.
    let (e, _) = paged_error(|_, v| page(v, "t", 0, 0, Some(("t", 0)))).await;
    assert!(
        e.contains("page without partitions, with a next cursor (t-0)"),
        "{e}"
    );
    // A partition on two pages.
    let (e, _) = paged_error(|i, v| match i {
        0 => page(v, "t", 0, 2, Some(("t", 1))),
        _ => page(v, "t", 1, 1, None),
    })
    .await;
    assert!(e.contains("partition t-1 answered on two pages"), "{e}");
    // A huge array count in a small frame: refused by the bounded decoder, unallocated.
    let (e, _) = paged_error(|_, _| {
        let mut body = vec![0u8; 4];
        body.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x07]);
        Some(body)
    })
    .await;
    assert!(
        e.contains("DescribeTopicPartitions response from") && e.contains("2147483"),
        "{e}"
    );
}

/// Named partitions (ListPartitionReassignments) and resources (DescribeConfigs) are asked
/// in slices whose answers stay small; every item is still answered once.
#[tokio::test]
async fn reassignments_and_configs_of_many_items_are_asked_in_slices() {
    use kafka_protocol::messages::describe_configs_response::DescribeConfigsResult;
    use kafka_protocol::messages::{
        DescribeConfigsRequest, DescribeConfigsResponse, ListPartitionReassignmentsRequest,
        ListPartitionReassignmentsResponse,
    };
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let handler: Handler = Arc::new(move |key, version, mut body: Bytes| match key {
        46 => {
            let req = ListPartitionReassignmentsRequest::decode(&mut body, version).unwrap();
            let n: usize = req
                .topics
                .iter()
                .flatten()
                .map(|t| t.partition_indexes.len())
                .sum();
            s2.lock().unwrap().push((key, n));
            respond_body(version, &ListPartitionReassignmentsResponse::default())
        }
        32 => {
            let req = DescribeConfigsRequest::decode(&mut body, version).unwrap();
            s2.lock().unwrap().push((key, req.resources.len()));
            let results = req
                .resources
                .iter()
                .map(|r| {
                    DescribeConfigsResult::default()
                        .with_resource_type(r.resource_type)
                        .with_resource_name(r.resource_name.clone())
                })
                .collect();
            respond_body(
                version,
                &DescribeConfigsResponse::default().with_results(results),
            )
        }
        _ => None,
    });
    let (_broker, admin) = admin_for(testbroker::State {
        handler: Some(handler),
        ..Default::default()
    })
    .await;
    let tps: Vec<TopicPartition> = (0..4_100).map(|p| TopicPartition::new("foo", p)).collect();
    assert!(admin
        .list_reassignments(Some(&tps))
        .await
        .unwrap()
        .is_empty());
    let topics: Vec<ConfigResource> = (0..50)
        .map(|i| ConfigResource::Topic(format!("t{i:03}")))
        .collect();
    let keys = vec!["min.insync.replicas".to_string()];
    let configs = admin.describe_configs(&topics, Some(&keys)).await.unwrap();
    assert_eq!(configs.len(), 50);
    assert!(configs.values().all(|r| r.is_ok()), "{configs:?}");
    assert_eq!(
        *seen.lock().unwrap(),
        [
            (46, 2_000),
            (46, 2_000),
            (46, 100),
            (32, 20),
            (32, 20),
            (32, 10)
        ]
    );
}
