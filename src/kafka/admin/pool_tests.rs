//! The client against clusters of in-process test brokers: requests to different brokers
//! run at once within the concurrency bound, results keep their order and name the broker
//! that failed, the pool stays within its bound of open connections, and a topic read
//! survives the brokers withdrawing DescribeTopicPartitions part-way.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::describe_topic_partitions_response::{
    Cursor, DescribeTopicPartitionsResponsePartition, DescribeTopicPartitionsResponseTopic,
};
use kafka_protocol::messages::{
    ApiKey, BrokerId as WireBrokerId, DescribeLogDirsResponse, DescribeTopicPartitionsResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::client::MAX_OPEN_CONNECTIONS;
use super::decode::topic_name;
use super::tests::sample_metadata;
use super::*;
use crate::kafka::properties::ClientConfig;
use crate::kafka::testbroker::{self, FakeBroker, Handler, InFlight};

/// Broker `id` answers DescribeLogDirs with one dir `/data-{id}` holding `t-{id}` of
/// `id` bytes, or with `code` as the top-level error when it is `failing`.
fn log_dirs_handler(id: i32, failing: Option<(i32, i16)>) -> Handler {
    Arc::new(move |key, version, _body: Bytes| {
        if key != ApiKey::DescribeLogDirs as i16 {
            return None;
        }
        let resp = match failing {
            Some((bad, code)) if bad == id => {
                DescribeLogDirsResponse::default().with_error_code(code)
            }
            _ => DescribeLogDirsResponse::default().with_results(vec![
                DescribeLogDirsResult::default()
                    .with_log_dir(StrBytes::from_string(format!("/data-{id}")))
                    .with_topics(vec![DescribeLogDirsTopic::default()
                        .with_name(topic_name(&format!("t-{id}")))
                        .with_partitions(vec![DescribeLogDirsPartition::default()
                            .with_partition_index(0)
                            .with_partition_size(i64::from(id))])]),
            ]),
        };
        Some(testbroker::body(version, &resp))
    })
}

fn client(brokers: &[FakeBroker], concurrency: usize) -> KafkaAdmin {
    let cfg = ClientConfig {
        request_timeout: Duration::from_millis(2_000),
        default_api_timeout: Duration::from_millis(4_000),
        max_concurrent_requests: concurrency,
        ..ClientConfig::default()
    };
    KafkaAdmin::new(&brokers[0].addr(), cfg).unwrap()
}

#[tokio::test]
async fn describe_log_dirs_asks_brokers_at_once_within_the_bound() {
    for (concurrency, most) in [(1, 1), (3, 3), (32, 8)] {
        let in_flight = Arc::new(InFlight::default());
        let brokers = FakeBroker::start_cluster(8, Vec::new(), |id| testbroker::State {
            handler: Some(log_dirs_handler(id, None)),
            delay: Some(Duration::from_millis(150)),
            in_flight: Some(in_flight.clone()),
            ..Default::default()
        })
        .await;
        let admin = client(&brokers, concurrency);
        admin.describe_cluster().await.unwrap();
        // Asked in another order than the answer lists them.
        let ids = [8, 3, 1, 7, 2, 6, 4, 5];
        let dirs = admin.describe_log_dirs(&ids).await.unwrap();
        assert_eq!(
            dirs.keys().copied().collect::<Vec<_>>(),
            [1, 2, 3, 4, 5, 6, 7, 8]
        );
        for (id, r) in &dirs {
            let d = r.as_ref().unwrap();
            assert_eq!(d[0].path, format!("/data-{id}"));
            assert_eq!(d[0].replicas[0].size_bytes, u64::try_from(*id).unwrap());
        }
        let seen = in_flight.max();
        assert!(seen <= most, "{seen} at once, bound {concurrency}");
        if concurrency > 1 {
            // Each answer waits 150 ms: requests sent one after another never overlap.
            assert!(seen >= 2, "{seen} at once with bound {concurrency}");
        }
    }
}

#[tokio::test]
async fn a_failing_broker_is_named_and_the_others_still_answer() {
    let brokers = FakeBroker::start_cluster(6, Vec::new(), |id| testbroker::State {
        handler: Some(log_dirs_handler(id, Some((4, 31)))),
        ..Default::default()
    })
    .await;
    let admin = client(&brokers, 32);
    admin.describe_cluster().await.unwrap();
    let dirs = admin.describe_log_dirs(&[1, 2, 3, 4, 5, 6]).await.unwrap();
    for (id, r) in &dirs {
        if *id == 4 {
            let e = r.as_ref().unwrap_err().to_string();
            assert_eq!(
                e,
                format!(
                    "DescribeLogDirs to {} (broker 4) failed: CLUSTER_AUTHORIZATION_FAILED (31)",
                    brokers[3].addr()
                )
            );
        } else {
            assert!(r.is_ok(), "broker {id}: {r:?}");
        }
    }
    // A broker the metadata does not list: that broker's entry says so.
    let dirs = admin.describe_log_dirs(&[2, 99]).await.unwrap();
    assert!(dirs[&2].is_ok());
    assert!(matches!(dirs[&99], Err(Error::UnknownBroker(99))));
}

#[tokio::test]
async fn the_pool_closes_idle_connections_beyond_its_bound() {
    let n = i32::try_from(MAX_OPEN_CONNECTIONS).unwrap() + 44;
    let brokers = FakeBroker::start_cluster(n, Vec::new(), |id| testbroker::State {
        handler: Some(log_dirs_handler(id, None)),
        ..Default::default()
    })
    .await;
    let admin = client(&brokers, 32);
    admin.describe_cluster().await.unwrap();
    let ids: Vec<BrokerId> = (1..=n).collect();
    let dirs = admin.describe_log_dirs(&ids).await.unwrap();
    assert_eq!(dirs.len(), ids.len());
    assert!(dirs.values().all(Result::is_ok));
    let open = admin.open_connections();
    assert!(open <= MAX_OPEN_CONNECTIONS, "{open} connections open");
    // A broker whose connection was closed is reconnected when asked again.
    let again = admin.describe_log_dirs(&[1, 2]).await.unwrap();
    assert!(again.values().all(Result::is_ok));
}

/// A 3.7+ broker's version table.
fn ranges_with_topic_pages() -> Vec<(i16, i16, i16)> {
    let mut r = testbroker::default_ranges(4);
    r.push((ApiKey::DescribeTopicPartitions as i16, 0, 0));
    r
}

/// The first page of topic `a` (2,000 partitions of 3,000), then a next cursor.
fn first_page(version: i16) -> Option<Vec<u8>> {
    let resp = DescribeTopicPartitionsResponse::default()
        .with_topics(vec![DescribeTopicPartitionsResponseTopic::default()
            .with_name(Some(topic_name("a")))
            .with_partitions(
                (0..2_000)
                    .map(|p| {
                        DescribeTopicPartitionsResponsePartition::default()
                            .with_partition_index(p)
                            .with_leader_id(WireBrokerId(1))
                            .with_replica_nodes(vec![WireBrokerId(1)])
                    })
                    .collect(),
            )])
        .with_next_cursor(Some(
            Cursor::default()
                .with_topic_name(topic_name("a"))
                .with_partition_index(2_000),
        ));
    Some(testbroker::body(version, &resp))
}

/// A one-broker cluster whose broker serves the first topic page, then (on the second)
/// restarts onto a version without DescribeTopicPartitions: the connection drops, and
/// ApiVersions no longer lists the API. Metadata answers with the topics of
/// [`sample_metadata`]; no reassignments, no log dirs.
async fn broker_downgraded_mid_read() -> (FakeBroker, KafkaAdmin) {
    let pages = Arc::new(AtomicUsize::new(0));
    let live = Arc::new(Mutex::new(ranges_with_topic_pages()));
    let (p, l) = (pages.clone(), live.clone());
    let handler: Handler = Arc::new(move |key, version, _body| match ApiKey::try_from(key) {
        Ok(ApiKey::DescribeTopicPartitions) => {
            if p.fetch_add(1, Ordering::SeqCst) == 0 {
                return first_page(version);
            }
            *l.lock().unwrap() = testbroker::default_ranges(4);
            None
        }
        Ok(ApiKey::ListPartitionReassignments) => Some(testbroker::body(
            version,
            &kafka_protocol::messages::ListPartitionReassignmentsResponse::default(),
        )),
        Ok(ApiKey::DescribeLogDirs) => Some(testbroker::body(
            version,
            &DescribeLogDirsResponse::default(),
        )),
        _ => None,
    });
    let p = pages.clone();
    let mut brokers =
        FakeBroker::start_cluster(1, sample_metadata(0).topics, |_| testbroker::State {
            live_ranges: Some(live.clone()),
            handler: Some(handler.clone()),
            close_after: Some(Arc::new({
                let p = p.clone();
                move |key| {
                    key == ApiKey::DescribeTopicPartitions as i16 && p.load(Ordering::SeqCst) >= 2
                }
            })),
            ..Default::default()
        })
        .await;
    let broker = brokers.remove(0);
    let cfg = ClientConfig {
        request_timeout: Duration::from_millis(1_000),
        default_api_timeout: Duration::from_millis(3_000),
        ..ClientConfig::default()
    };
    let admin = KafkaAdmin::new(&broker.addr(), cfg).unwrap();
    (broker, admin)
}

#[tokio::test]
async fn topics_are_read_again_with_metadata_when_pages_are_withdrawn_mid_read() {
    let (broker, admin) = broker_downgraded_mid_read().await;
    let topics = admin.describe_topics(None).await.unwrap();
    // Metadata's answer only: none of the 2,000 partitions of `a` from the first page.
    assert_eq!(
        topics.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["__consumer_offsets", "foo"]
    );
    let log = broker.log();
    let pages = log
        .iter()
        .filter(|r| r.api_key == ApiKey::DescribeTopicPartitions as i16)
        .count();
    assert_eq!(pages, 2);
    assert!(log.iter().any(|r| r.api_key == ApiKey::Metadata as i16));
    let notices = admin.take_notices();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0].starts_with("DescribeTopicPartitions stopped being offered during the read")
            && notices[0].contains(&format!(
                "broker {} does not support DescribeTopicPartitions",
                broker.addr()
            ))
            && notices[0].ends_with("all topics were read again with Metadata"),
        "{}",
        notices[0]
    );
    assert!(admin.take_notices().is_empty(), "handed out once");
}

#[tokio::test]
async fn a_snapshot_across_a_downgrade_says_so_in_its_warnings() {
    let (_broker, admin) = broker_downgraded_mid_read().await;
    let snap = crate::kafka::snapshot::snapshot(&admin, &Default::default())
        .await
        .unwrap();
    assert_eq!(snap.cluster.partitions.len(), 3);
    assert!(
        snap.warnings
            .iter()
            .any(|w| w.starts_with("DescribeTopicPartitions stopped being offered")),
        "{:?}",
        snap.warnings
    );
}

#[tokio::test]
async fn a_page_refused_with_unsupported_version_falls_back_to_metadata() {
    let pages = Arc::new(AtomicUsize::new(0));
    let p = pages.clone();
    let handler: Handler = Arc::new(move |key, version, _body| {
        if key != ApiKey::DescribeTopicPartitions as i16 {
            return None;
        }
        if p.fetch_add(1, Ordering::SeqCst) == 0 {
            return first_page(version);
        }
        // What a broker answers for a version it stopped serving: the error on every topic.
        let resp = DescribeTopicPartitionsResponse::default().with_topics(vec![
            DescribeTopicPartitionsResponseTopic::default()
                .with_name(Some(topic_name("a")))
                .with_error_code(35),
        ]);
        Some(testbroker::body(version, &resp))
    });
    let broker = FakeBroker::start(testbroker::State {
        ranges: Some(ranges_with_topic_pages()),
        metadata: Some(sample_metadata(0)),
        handler: Some(handler),
        ..Default::default()
    })
    .await;
    let admin = KafkaAdmin::new(&broker.addr(), ClientConfig::default()).unwrap();
    let topics = admin.describe_topics(None).await.unwrap();
    assert_eq!(topics.len(), 2);
    assert_eq!(pages.load(Ordering::SeqCst), 2);
    let notices = admin.take_notices();
    assert!(
        notices.len() == 1 && notices[0].contains("topic a: ") && notices[0].contains("(35)"),
        "{notices:?}"
    );
}
