//! Reading a large cluster: decode a Metadata response with 200,000 partitions and build the
//! model snapshot from it (the part of `snapshot` that does not wait on the network).

use std::collections::BTreeMap;
use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion};
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataResponse, TopicName};
use kafka_protocol::protocol::{Encodable, StrBytes};
use kafka_replan::kafka::admin::{cluster_from_metadata, topics_from_metadata};
use kafka_replan::kafka::conn::decode_body;
use kafka_replan::kafka::snapshot::{build_snapshot, SnapshotOptions};

const BROKERS: i32 = 30;
const TOPICS: i32 = 1000;
const PARTITIONS_PER_TOPIC: i32 = 200;
const VERSION: i16 = 12;

fn encoded_metadata() -> Bytes {
    let brokers = (0..BROKERS)
        .map(|id| {
            MetadataResponseBroker::default()
                .with_node_id(BrokerId(id))
                .with_host(StrBytes::from_string(format!("broker-{id}.example.com")))
                .with_port(9092)
                .with_rack(Some(StrBytes::from_string(format!("rack-{}", id % 3))))
        })
        .collect();
    let topics = (0..TOPICS)
        .map(|t| {
            let partitions = (0..PARTITIONS_PER_TOPIC)
                .map(|p| {
                    let replicas: Vec<BrokerId> = (0..3)
                        .map(|k| BrokerId((t * 7 + p + k * 11) % BROKERS))
                        .collect();
                    MetadataResponsePartition::default()
                        .with_partition_index(p)
                        .with_leader_id(replicas[0])
                        .with_leader_epoch(5)
                        .with_isr_nodes(replicas.clone())
                        .with_replica_nodes(replicas)
                })
                .collect();
            MetadataResponseTopic::default()
                .with_name(Some(TopicName(StrBytes::from_string(format!(
                    "topic-{t:05}"
                )))))
                .with_partitions(partitions)
        })
        .collect();
    let resp = MetadataResponse::default()
        .with_brokers(brokers)
        .with_controller_id(BrokerId(0))
        .with_cluster_id(Some(StrBytes::from_static_str("bench")))
        .with_topics(topics);
    let mut buf = BytesMut::new();
    resp.encode(&mut buf, VERSION).expect("encode metadata");
    buf.freeze()
}

fn bench(c: &mut Criterion) {
    let wire = encoded_metadata();
    let mut group = c.benchmark_group("metadata_200k_partitions");
    group.sample_size(10);
    group.bench_function("decode", |b| {
        b.iter(|| {
            let resp: MetadataResponse =
                decode_body(black_box(wire.clone()), VERSION, "Metadata").expect("decode");
            black_box(resp.topics.len())
        })
    });
    let decoded: MetadataResponse = decode_body(wire.clone(), VERSION, "Metadata").expect("decode");
    group.bench_function("decode_and_build_snapshot", |b| {
        b.iter(|| {
            let resp: MetadataResponse =
                decode_body(black_box(wire.clone()), VERSION, "Metadata").expect("decode");
            let desc = cluster_from_metadata(&resp);
            let topics = topics_from_metadata(&resp);
            let snap = build_snapshot(
                &desc,
                &topics,
                &BTreeMap::new(),
                &BTreeMap::new(),
                &SnapshotOptions::default(),
            );
            black_box(snap.cluster.partitions.len())
        })
    });
    group.bench_function("build_snapshot_only", |b| {
        b.iter(|| {
            let desc = cluster_from_metadata(black_box(&decoded));
            let topics = topics_from_metadata(&decoded);
            let snap = build_snapshot(
                &desc,
                &topics,
                &BTreeMap::new(),
                &BTreeMap::new(),
                &SnapshotOptions::default(),
            );
            black_box(snap.cluster.partitions.len())
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
