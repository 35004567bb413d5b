//! Property tests of the Kafka-file formats: emitted files parse back to what was emitted,
//! and no input makes a parser panic.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use kafka_replan::formats::election::{emit_election_json, parse_election_json};
use kafka_replan::formats::kafka_files::{cluster_from_kafka_files, KafkaFiles, SourceText};
use kafka_replan::formats::log_dirs::parse_log_dirs;
use kafka_replan::formats::racks::{parse_broker_racks, parse_byte_size, parse_capacity_spec};
use kafka_replan::formats::reassignment::{
    parse_reassignment_json, parse_reassignment_json_for_execute, plan_json_bytes,
};
use kafka_replan::formats::snapshot::{parse_snapshot, write_snapshot};
use kafka_replan::formats::topics_describe::parse_topics_describe;
use kafka_replan::model::{Plan, TopicPartition};

fn topic_name() -> impl Strategy<Value = String> {
    // Kafka's legal topic characters, including the `-` the log-dirs parser splits on.
    "[a-zA-Z0-9._-]{1,20}"
}

fn plan_strategy() -> impl Strategy<Value = Plan> {
    plan_of_size(0..20)
}

/// Plans of `moves` partitions (a range of sizes).
fn plan_of_size(moves: std::ops::Range<usize>) -> impl Strategy<Value = Plan> {
    prop::collection::btree_map(
        (topic_name(), 0i32..i32::MAX),
        // Distinct ids in any order (order is significant: the first is the leader).
        prop::collection::btree_set(any::<i32>(), 1..6)
            .prop_map(|s| s.into_iter().collect::<Vec<i32>>())
            .prop_shuffle(),
        moves,
    )
    .prop_map(|m| Plan {
        changes: m
            .into_iter()
            .map(|((t, p), reps)| (TopicPartition::new(t, p), reps))
            .collect(),
    })
}

/// Sample inputs of every format, to truncate and mutate.
const SAMPLES: &[&str] = &[
    r#"{"version":1,"partitions":[{"topic":"foo","partition":0,"replicas":[1,2],"log_dirs":["any","/d"]}]}"#,
    r#"{"partitions":[{"topic":"foo","partition":1},{"topic":"foobar","partition":2}]}"#,
    "Topic: orders\tTopicId: x\tPartitionCount: 1\tReplicationFactor: 2\tConfigs: a=1,2\n\tTopic: orders\tPartition: 0\tLeader: 1\tReplicas: 1,2\tIsr: 1\tAdding Replicas: 2\tRemoving Replicas: \n",
    "Querying brokers for log directories information\nReceived log directory information from brokers 0\n{\"brokers\":[{\"broker\":0,\"logDirs\":[{\"partitions\":[{\"partition\":\"t-0\",\"size\":1,\"offsetLag\":0,\"isFuture\":false}],\"error\":null,\"logDir\":\"/d\"}]}],\"version\":1}\n",
    "# racks\n1 r1\n2\n3:r3,4:r4\n",
];

/// Runs every parser on `text`; any result is fine, a panic is not.
fn parse_everything(text: &str) {
    let _ = parse_reassignment_json("x", text);
    let _ = parse_reassignment_json_for_execute("x", text);
    let _ = parse_election_json("x", text);
    let _ = parse_topics_describe("x", text);
    let _ = parse_log_dirs("x", text);
    let _ = parse_broker_racks("x", text);
    let _ = parse_byte_size(text);
    let _ = parse_capacity_spec(text);
    let _ = parse_snapshot("x", text.as_bytes().to_vec());
    let files = KafkaFiles {
        reassignment_json: Some(SourceText { name: "a", text }),
        topics_describe: Some(SourceText { name: "b", text }),
        broker_racks: SourceText { name: "c", text },
        log_dirs: Some(SourceText { name: "d", text }),
        capacity: None,
        capacity_source: "--broker-capacity",
    };
    let _ = cluster_from_kafka_files(&files);
}

/// Cases per property: `PROPTEST_CASES` like the other fuzz tests (`scripts/fuzz.sh` sets
/// it), 256 when unset or unreadable.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn plan_json_round_trips(plan in plan_strategy()) {
        let bytes = plan_json_bytes(&plan);
        let text = String::from_utf8(bytes.clone()).unwrap();
        let parsed = parse_reassignment_json("p", &text).unwrap();
        prop_assert_eq!(parsed.to_plan("p").unwrap(), plan.clone());
        // Emitting again gives the same bytes (deterministic).
        prop_assert_eq!(plan_json_bytes(&parsed.to_plan("p").unwrap()), bytes);
        if !plan.is_empty() {
            prop_assert!(parse_reassignment_json_for_execute("p", &text).is_ok());
        }
    }

    #[test]
    fn election_json_round_trips(tps in prop::collection::btree_set((topic_name(), any::<i32>()), 0..20)) {
        let set: BTreeSet<TopicPartition> = tps.into_iter().map(|(t, p)| TopicPartition::new(t, p)).collect();
        let text = emit_election_json(&set);
        prop_assert_eq!(parse_election_json("e", &text).unwrap(), set);
    }

    #[test]
    fn snapshot_from_files_round_trips(plan in plan_of_size(1..20)) {
        // Any plan whose brokers are all listed becomes a cluster that survives the snapshot
        // writer and reader unchanged. Non-empty plans are generated rather than the empty
        // ones rejected: rejections are capped (1,024), which a large PROPTEST_CASES passes.
        let brokers: BTreeSet<i32> = plan.changes.values().flatten().copied().collect();
        let racks: String = brokers.iter().map(|b| format!("{b} r{}\n", b.rem_euclid(3))).collect();
        let json = String::from_utf8(plan_json_bytes(&plan)).unwrap();
        let files = KafkaFiles {
            reassignment_json: Some(SourceText { name: "cur.json", text: &json }),
            topics_describe: None,
            broker_racks: SourceText { name: "racks", text: &racks },
            log_dirs: None,
            capacity: None,
            capacity_source: "--broker-capacity",
        };
        let built = cluster_from_kafka_files(&files).unwrap();
        let back = parse_snapshot("s", write_snapshot(&built.cluster).into_bytes()).unwrap();
        prop_assert_eq!(&back, &built.cluster);
        let replicas: BTreeMap<TopicPartition, Vec<i32>> =
            back.partitions.iter().map(|p| (p.tp.clone(), p.replicas.clone())).collect();
        prop_assert_eq!(replicas, plan.changes);
    }

    #[test]
    fn random_text_never_panics(text in "\\PC{0,200}") {
        parse_everything(&text);
    }

    #[test]
    fn truncated_and_mutated_samples_never_panic(
        which in 0..SAMPLES.len(),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let sample = SAMPLES[which].as_bytes();
        let mut bytes = sample[..cut.index(sample.len() + 1)].to_vec();
        if !bytes.is_empty() {
            let i = flip.index(bytes.len());
            bytes[i] = byte;
        }
        // Bytes that are not UTF-8 go through the lossy decoding the CLI never does, so the
        // parsers still see every mutation.
        let text = String::from_utf8_lossy(&bytes);
        parse_everything(&text);
        let _ = kafka_replan::formats::decode_text("x", &bytes);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = kafka_replan::formats::decode_text("x", &bytes);
        parse_everything(&String::from_utf8_lossy(&bytes));
    }
}
