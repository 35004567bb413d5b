//! The in-memory cluster the `apply` executor tests run against (tests/apply_faults.rs,
//! tests/apply_hostile_reply.rs): four brokers on two racks, two topics, throttle values
//! someone else set, a plan with several batches, and the checks both files make.

use std::collections::BTreeMap;
use std::time::Duration;

use kafka_replan::apply::executor::{prepare, ApplyOptions};
use kafka_replan::apply::journal::Journal;
use kafka_replan::kafka::admin::ConfigResource;
use kafka_replan::kafka::fake::FakeAdmin;
use kafka_replan::model::{BrokerId, Plan, TopicPartition};
use kafka_replan::plan::schedule::BatchLimits;

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

pub fn tp(t: &str, p: i32) -> TopicPartition {
    TopicPartition::new(t, p)
}

pub type Configs = BTreeMap<ConfigResource, BTreeMap<String, String>>;

/// Four brokers on two racks, two topics, manual throttle values someone else set.
pub fn cluster() -> (FakeAdmin, Plan, Plan, Configs) {
    let admin = FakeAdmin::new()
        .with_broker(1, Some("a"), None)
        .with_broker(2, Some("b"), None)
        .with_broker(3, Some("a"), None)
        .with_broker(4, Some("b"), None)
        .with_partition("t", 0, &[1, 2], 100)
        .with_partition("t", 1, &[2, 1], 80)
        .with_partition("t", 2, &[1, 2], 60)
        .with_partition("u", 0, &[1, 2], 50)
        .with_partition("u", 1, &[2, 1], 40);
    admin.modify(|s| {
        let b1 = s.configs.entry(ConfigResource::Broker(1)).or_default();
        b1.insert("leader.replication.throttled.rate".into(), "7".into());
        let t = s
            .configs
            .entry(ConfigResource::Topic("t".into()))
            .or_default();
        t.insert("leader.replication.throttled.replicas".into(), "9:9".into());
        let u = s
            .configs
            .entry(ConfigResource::Topic("u".into()))
            .or_default();
        u.insert("follower.replication.throttled.replicas".into(), "*".into());
    });
    let mut plan = Plan::default();
    plan.changes.insert(tp("t", 0), vec![3, 4]);
    plan.changes.insert(tp("t", 1), vec![4, 1]);
    plan.changes.insert(tp("t", 2), vec![2, 1]); // leader change only
    plan.changes.insert(tp("u", 0), vec![1, 4]);
    plan.changes.insert(tp("u", 1), vec![3, 2]);
    let mut rollback = Plan::default();
    for (t, r) in [
        (tp("t", 0), vec![1, 2]),
        (tp("t", 1), vec![2, 1]),
        (tp("t", 2), vec![1, 2]),
        (tp("u", 0), vec![1, 2]),
        (tp("u", 1), vec![2, 1]),
    ] {
        rollback.changes.insert(t, r);
    }
    let configs = admin.inspect(|s| s.configs.clone());
    (admin, plan, rollback, configs)
}

pub fn opts() -> ApplyOptions {
    ApplyOptions {
        throttle: 1000,
        limits: BatchLimits {
            // Small enough for several batches.
            max_bytes_per_broker: 120,
            max_moves_per_broker: None,
        },
        poll_interval: Duration::from_millis(1),
        broker_down_grace: Duration::from_millis(30),
        unreachable_grace: Duration::from_millis(50),
        ..ApplyOptions::default()
    }
}

pub fn replicas(admin: &FakeAdmin) -> BTreeMap<TopicPartition, Vec<BrokerId>> {
    admin.inspect(|s| {
        s.partitions
            .iter()
            .map(|(tp, p)| (tp.clone(), p.replicas.clone()))
            .collect()
    })
}

/// Nothing in flight and the throttle configs exactly as before the run.
pub fn assert_clean(admin: &FakeAdmin, before: &Configs) {
    let in_flight: Vec<TopicPartition> = admin.inspect(|s| {
        s.partitions
            .iter()
            .filter(|(_, p)| p.in_flight())
            .map(|(tp, _)| tp.clone())
            .collect()
    });
    assert!(in_flight.is_empty(), "still in flight: {in_flight:?}");
    assert_eq!(&admin.inspect(|s| s.configs.clone()), before);
}

pub fn start(admin: &FakeAdmin, plan: &Plan, rollback: &Plan, dir: &std::path::Path) -> Journal {
    let prepared = rt()
        .block_on(prepare(admin, plan, Some(rollback), &opts(), "fake:9092"))
        .unwrap();
    Journal::create(dir, prepared.state).unwrap()
}
