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
