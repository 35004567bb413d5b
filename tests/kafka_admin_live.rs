//! The admin client against a real Apache Kafka cluster. Runs only when
//! `KAFKA_REPLAN_TEST_BOOTSTRAP` names one (as `scripts/kafka-cluster.sh start` exports);
//! otherwise each test returns at once. SASL checks run when
//! `KAFKA_REPLAN_TEST_SASL_BOOTSTRAP` and the client property files are set too.
//!
//! Everything here reads, or works on topics it creates and deletes (named
//! `kafka-replan-live-*`); no broker config is touched, so the tests can share a cluster.

use std::collections::BTreeMap;
use std::time::Duration;

use kafka_replan::kafka::admin::{Admin, ConfigOp, ConfigResource};
use kafka_replan::kafka::properties::ClientConfig;
use kafka_replan::kafka::snapshot::{snapshot, SnapshotOptions};
use kafka_replan::kafka::{Error, KafkaAdmin};
use kafka_replan::model::{validate_cluster, TopicPartition};

/// Topics these tests create (and delete) start with this.
const OWN_PREFIX: &str = "kafka-replan-live-";

/// The tests change cluster state (topics, moves): one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The test cluster's address. These tests must never pass without talking to Kafka, so a
/// missing environment fails them (run them through scripts/test.sh).
fn env(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v.trim_end_matches(',').to_string(),
        _ => panic!("{name} is not set: these tests need the cluster that scripts/test.sh starts"),
    }
}

fn bootstrap() -> String {
    env("KAFKA_REPLAN_TEST_BOOTSTRAP")
}

fn plain_admin(bootstrap: &str) -> KafkaAdmin {
    let cfg = ClientConfig {
        request_timeout: Duration::from_secs(20),
        default_api_timeout: Duration::from_secs(30),
        ..ClientConfig::default()
    };
    KafkaAdmin::new(bootstrap, cfg).unwrap()
}

#[tokio::test]
async fn live_read_calls_and_snapshot() {
    let bs = bootstrap();
    let _serial = SERIAL.lock().await;
    let admin = plain_admin(&bs);
    let cluster = admin.describe_cluster().await.unwrap();
    assert!(!cluster.brokers.is_empty());
    assert!(cluster.controller_id.is_some());
    let ids: Vec<i32> = cluster.brokers.iter().map(|b| b.id).collect();

    let topics = admin.describe_topics(None).await.unwrap();
    // Naming a missing topic must not create it (§F D3).
    let missing = "kafka-replan-no-such-topic-7f3a".to_string();
    let got = admin
        .describe_topics(Some(std::slice::from_ref(&missing)))
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].error.as_ref().and_then(Error::code),
        Some(3),
        "{got:?}"
    );
    let again = admin.describe_topics(None).await.unwrap();
    assert!(
        !again.iter().any(|t| t.name == missing),
        "topic was auto-created"
    );

    let dirs = admin.describe_log_dirs(&ids).await.unwrap();
    for id in &ids {
        let d = dirs[id].as_ref().unwrap();
        assert!(!d.is_empty(), "broker {id} reports no log dir");
        // Kafka 3.3+ reports the disk size (DescribeLogDirs v4).
        assert!(d.iter().all(|x| x.total_bytes.is_some()), "{d:?}");
    }

    admin.list_reassignments(None).await.unwrap();
    let res = ConfigResource::Broker(ids[0]);
    let configs = admin
        .describe_configs(std::slice::from_ref(&res), None)
        .await
        .unwrap();
    assert!(!configs[&res].as_ref().unwrap().is_empty());

    // An existing partition: cancel without a move is reported (85), and a PREFERRED
    // election where the preferred replica leads is a success (§F D4, D5).
    if let Some(p) = topics
        .iter()
        .filter(|t| !t.name.starts_with("__") && !t.name.starts_with(OWN_PREFIX))
        .flat_map(|t| t.partitions.iter().map(move |p| (t, p)))
        .find(|(_, p)| p.leader.is_some() && p.leader == p.replicas.first().copied())
    {
        let tp = TopicPartition::new(p.0.name.clone(), p.1.partition);
        let busy = admin.list_reassignments(None).await.unwrap();
        if !busy.contains_key(&tp) {
            let cancel = [(tp.clone(), None)].into_iter().collect();
            let out = admin.alter_reassignments(&cancel, true).await.unwrap();
            assert_eq!(out[&tp].clone().unwrap_err().code(), Some(85), "{out:?}");
        }
        // Same replicas: nothing to move, accepted. An unregistered broker: refused.
        let same = [(tp.clone(), Some(p.1.replicas.clone()))]
            .into_iter()
            .collect();
        let out = admin.alter_reassignments(&same, false).await.unwrap();
        assert_eq!(out[&tp], Ok(()), "{out:?}");
        let bad = [(tp.clone(), Some(vec![i32::MAX]))].into_iter().collect();
        let out = admin.alter_reassignments(&bad, true).await.unwrap();
        let e = out[&tp].clone().unwrap_err();
        assert_eq!(e.code(), Some(39), "{e}");
        let out = admin
            .elect_preferred_leaders(std::slice::from_ref(&tp))
            .await
            .unwrap();
        assert_eq!(out[&tp], Ok(()));
    }

    let snap = snapshot(&admin, &SnapshotOptions::default()).await.unwrap();
    assert!(validate_cluster(&snap.cluster).is_empty());
}

async fn config_entry(
    admin: &KafkaAdmin,
    res: &ConfigResource,
    key: &str,
) -> Option<kafka_replan::kafka::admin::ConfigEntry> {
    let keys = [key.to_string()];
    let got = admin
        .describe_configs(std::slice::from_ref(res), Some(&keys))
        .await
        .unwrap();
    got[res]
        .as_ref()
        .unwrap()
        .iter()
        .find(|c| c.name == key)
        .cloned()
}

#[tokio::test]
async fn live_incremental_alter_configs_set_and_delete() {
    let bs = bootstrap();
    let _serial = SERIAL.lock().await;
    let admin = plain_admin(&bs);
    let id = admin.describe_cluster().await.unwrap().brokers[0].id;
    // A topic of its own, so no other test sees the config change.
    let topic = format!("{OWN_PREFIX}configs-{}", std::process::id());
    admin.create_topic(&topic, &[vec![id]]).await.unwrap();
    let res = ConfigResource::Topic(topic.clone());
    let key = "retention.ms".to_string();
    let set: BTreeMap<_, _> = [(
        res.clone(),
        vec![(key.clone(), ConfigOp::Set("123456789".into()))],
    )]
    .into_iter()
    .collect();
    // A ZooKeeper-mode broker (3.x) may answer "unknown topic" for a moment after the
    // topic was created, until its metadata cache has it: retry that answer only.
    let mut answer = admin.incremental_alter_configs(&set).await.unwrap()[&res].clone();
    for _ in 0..50 {
        // UNKNOWN_TOPIC_OR_PARTITION is Kafka error code 3.
        if !matches!(answer, Err(Error::Broker { code: 3, .. })) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        answer = admin.incremental_alter_configs(&set).await.unwrap()[&res].clone();
    }
    assert_eq!(answer, Ok(()));
    // The controller applies the change; brokers see it once metadata propagates.
    let mut seen = None;
    for _ in 0..50 {
        seen = config_entry(&admin, &res, &key)
            .await
            .filter(|c| c.value.as_deref() == Some("123456789"));
        if seen.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(seen.is_some(), "the SET never became visible");
    let del: BTreeMap<_, _> = [(res.clone(), vec![(key.clone(), ConfigOp::Delete)])]
        .into_iter()
        .collect();
    assert_eq!(
        admin.incremental_alter_configs(&del).await.unwrap()[&res],
        Ok(())
    );
    admin.delete_topic(&topic).await.unwrap();
}

#[tokio::test]
async fn live_sasl_property_files() {
    let sasl_bs = env("KAFKA_REPLAN_TEST_SASL_BOOTSTRAP");
    for var in [
        "KAFKA_REPLAN_TEST_PLAIN_CLIENT_PROPERTIES",
        "KAFKA_REPLAN_TEST_SCRAM_CLIENT_PROPERTIES",
    ] {
        let path = env(var);
        let text = std::fs::read_to_string(&path).unwrap();
        let cfg = ClientConfig::from_properties_text(&text).unwrap();
        let admin = KafkaAdmin::new(&sasl_bs, cfg).unwrap();
        let c = admin
            .describe_cluster()
            .await
            .unwrap_or_else(|e| panic!("{var}: {e}"));
        assert!(!c.brokers.is_empty());
        // The same file with a wrong password: a clear authentication error.
        let bad = text.replace("password=\"", "password=\"wrong-");
        let cfg = ClientConfig::from_properties_text(&bad).unwrap();
        let admin = KafkaAdmin::new(&sasl_bs, cfg).unwrap();
        let e = admin.describe_cluster().await.unwrap_err();
        assert!(matches!(e, Error::SaslAuthentication { .. }), "{var}: {e}");
        assert!(!e.to_string().contains("wrong-"), "{e}");
    }
}

/// A real move: a topic created on one broker moves to another, completes, and the
/// preferred leader is elected. Needs two brokers; the topic is deleted afterwards.
#[tokio::test]
async fn live_move_between_brokers() {
    let bs = bootstrap();
    let _serial = SERIAL.lock().await;
    let admin = plain_admin(&bs);
    let ids: Vec<i32> = admin
        .describe_cluster()
        .await
        .unwrap()
        .brokers
        .iter()
        .map(|b| b.id)
        .collect();
    assert!(
        ids.len() >= 2,
        "the test cluster has fewer than two brokers: {ids:?}"
    );
    let (a, b) = (ids[0], ids[1]);
    let topic = format!("{OWN_PREFIX}move-{}", std::process::id());
    admin
        .create_topic(&topic, &[vec![a], vec![a]])
        .await
        .unwrap();
    let tp0 = TopicPartition::new(topic.clone(), 0);
    // The new topic's metadata reaches every broker shortly after creation.
    for _ in 0..50 {
        let t = admin
            .describe_topics(Some(std::slice::from_ref(&topic)))
            .await
            .unwrap();
        if t[0].error.is_none() && t[0].partitions.iter().all(|p| p.leader.is_some()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let target = [(tp0.clone(), Some(vec![b]))].into_iter().collect();
    let out = admin.alter_reassignments(&target, false).await.unwrap();
    assert_eq!(out[&tp0], Ok(()), "{out:?}");
    let mut done = false;
    for _ in 0..100 {
        let ongoing = admin.list_reassignments(None).await.unwrap();
        let t = admin
            .describe_topics(Some(std::slice::from_ref(&topic)))
            .await
            .unwrap();
        let p0 = t[0].partitions.iter().find(|p| p.partition == 0).unwrap();
        if !ongoing.contains_key(&tp0) && p0.replicas == [b] && p0.leader == Some(b) {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(done, "the move did not complete");
    let out = admin
        .elect_preferred_leaders(std::slice::from_ref(&tp0))
        .await
        .unwrap();
    assert_eq!(out[&tp0], Ok(()), "ELECTION_NOT_NEEDED counts as success");
    let snap = snapshot(
        &admin,
        &SnapshotOptions {
            topics: Some(SnapshotOptions::topic_regex(&regex_escape(&topic)).unwrap()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(snap.cluster.partitions.len(), 2);
    assert_eq!(snap.cluster.partitions[0].replicas, [b]);
    admin.delete_topic(&topic).await.unwrap();
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}
