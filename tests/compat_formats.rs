//! The file-format items of the compatibility checklist (kafka-reassign-compat §F), one test
//! per item, driven by the spec's vectors (copied into `tests/vectors/`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{json, Value};

use kafka_replan::formats::election::{emit_election_json, parse_election_json};
use kafka_replan::formats::log_dirs::{parse_log_dirs, LogDirsReport};
use kafka_replan::formats::reassignment::{
    emit_reassignment_json, parse_reassignment_json, parse_reassignment_json_for_execute,
    ReassignmentJson,
};
use kafka_replan::formats::topics_describe::{parse_topics_describe, TopicsDescribe};
use kafka_replan::formats::FormatError;
use kafka_replan::model::{Plan, TopicPartition};

fn vector_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(name)
}

fn vector_text(name: &str) -> String {
    std::fs::read_to_string(vector_path(name))
        .unwrap_or_else(|e| panic!("cannot read vector {name}: {e}"))
}

fn vector_json(name: &str) -> Value {
    serde_json::from_str(&vector_text(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The reassignment-JSON cases by id.
fn reassignment_cases() -> BTreeMap<String, Value> {
    let v = vector_json("reassignment-json-cases.json");
    v["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| (c["id"].as_str().expect("id").to_string(), c.clone()))
        .collect()
}

/// A case's input text (`DOCS:name` names a vector file).
fn case_input(case: &Value) -> String {
    let input = case["input"].as_str().expect("input");
    match input.strip_prefix("DOCS:") {
        Some(file) => vector_text(file),
        None => input.to_string(),
    }
}

fn only_message(e: &FormatError) -> &str {
    assert_eq!(e.problems.len(), 1, "{e}");
    &e.problems[0].message
}

/// Runs one reassignment case the way `--execute` reads the file (the cases' "parse" stage
/// is Kafka's `parseExecuteAssignmentArgs`, which includes the execute checks). Returns a
/// description of the mismatch, if any.
fn check_reassignment_case(id: &str, case: &Value) -> Result<(), String> {
    let input = case_input(case);
    let expect = &case["expect"];
    let got = parse_reassignment_json_for_execute(id, &input);
    match expect["verdict"].as_str() {
        Some("valid") => {
            let parsed = got.map_err(|e| format!("{id}: expected valid, got {e}"))?;
            let plan = parsed.to_plan(id).map_err(|e| format!("{id}: {e}"))?;
            let partitions: BTreeMap<String, Value> = plan
                .changes
                .iter()
                .map(|(tp, r)| (tp.to_string(), json!(r)))
                .collect();
            let want: BTreeMap<String, Value> = expect["partitions"]
                .as_object()
                .expect("partitions")
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if partitions != want {
                return Err(format!("{id}: partitions {partitions:?} != {want:?}"));
            }
            let dirs: BTreeMap<String, Value> = parsed
                .replica_log_dirs()
                .into_iter()
                .map(|((tp, b), d)| (format!("{tp}-{b}"), json!(d)))
                .collect();
            let want_dirs: BTreeMap<String, Value> = expect["replica_log_dirs"]
                .as_object()
                .expect("replica_log_dirs")
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if dirs != want_dirs {
                return Err(format!("{id}: log dirs {dirs:?} != {want_dirs:?}"));
            }
            Ok(())
        }
        Some("invalid") => {
            let e = match got {
                Ok(p) => return Err(format!("{id}: expected invalid, parsed {p:?}")),
                Err(e) => e,
            };
            let msg = only_message(&e);
            if let Some(want) = expect["message"].as_str() {
                if msg != want {
                    return Err(format!("{id}: message {msg:?} != {want:?}"));
                }
            }
            if let Some(prefix) = expect["message_prefix"].as_str() {
                if !msg.starts_with(prefix) {
                    return Err(format!("{id}: message {msg:?} lacks prefix {prefix:?}"));
                }
            }
            Ok(())
        }
        other => Err(format!("{id}: unknown verdict {other:?}")),
    }
}

fn assert_cases(ids: &[&str]) {
    let cases = reassignment_cases();
    for id in ids {
        let case = cases.get(*id).unwrap_or_else(|| panic!("no case {id}"));
        if let Err(e) = check_reassignment_case(id, case) {
            panic!("{e}");
        }
    }
}

/// Cases that need a cluster (DescribeCluster, topic metadata, ongoing reassignments, the
/// server's replication-factor check): they belong to the execute/cluster tests, not to the
/// file parser.
const CLUSTER_CASES: &[&str] = &["R23", "R24", "R25", "R26", "R27", "R28"];

#[test]
fn every_reassignment_parse_case_matches() {
    let cases = reassignment_cases();
    assert_eq!(cases.len(), 30, "the vector file should hold R01–R30");
    let mut failures = Vec::new();
    let mut checked = 0;
    for (id, case) in &cases {
        if CLUSTER_CASES.contains(&id.as_str()) {
            assert_eq!(
                case["stage"], "execute",
                "{id} is skipped as a cluster case"
            );
            continue;
        }
        // R07 is filed under "execute" but fails in the JSON parser before any cluster
        // check, so it is a parse case here.
        checked += 1;
        if let Err(e) = check_reassignment_case(id, case) {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "failing cases:\n{}",
        failures.join("\n")
    );
    assert_eq!(checked, 24);
}

#[test]
fn f_a1_version_absent_is_1_and_version_2_rejected() {
    assert_cases(&["R11", "R10"]);
}

#[test]
fn f_a2_empty_partition_list_fails_execute() {
    assert_cases(&["R01", "R17"]);
    // `--verify`/`--cancel` parse without the execute checks.
    for id in ["R01", "R17"] {
        let input = case_input(&reassignment_cases()[id]);
        let parsed = parse_reassignment_json(id, &input).expect("plain parse accepts it");
        assert!(parsed.entries.is_empty());
    }
}

#[test]
fn f_a3_partition_listed_twice_fails() {
    assert_cases(&["R02", "R03"]);
}

#[test]
fn f_a4_duplicate_replica_fails() {
    assert_cases(&["R04"]);
}

#[test]
fn f_a5_empty_replicas_fails_before_duplicate_checks() {
    assert_cases(&["R09", "R20"]);
}

#[test]
fn f_a6_log_dirs_shorter_than_replicas_fails() {
    assert_cases(&["R08", "R30"]);
    // Check 1 runs while parsing, so `--verify` refuses it too.
    let input = case_input(&reassignment_cases()["R08"]);
    assert!(parse_reassignment_json("R08", &input).is_err());
}

#[test]
fn f_a7_non_integer_values_fail_without_coercion() {
    assert_cases(&["R12", "R18", "R19"]);
    let too_big = r#"{"partitions":[{"topic":"foo","partition":2147483648,"replicas":[1]}]}"#;
    let e = parse_reassignment_json("big", too_big).unwrap_err();
    assert_eq!(
        only_message(&e),
        "Expected `Integer` value, received 2147483648"
    );
}

#[test]
fn f_a8_missing_replicas_null_log_dirs_and_unknown_fields() {
    assert_cases(&["R13", "R16", "R21"]);
}

#[test]
fn f_a9_any_log_dir_is_no_move_others_map_replica_to_dir() {
    assert_cases(&["R05", "R06", "R22"]);
    // The docs examples are plain plans without log dirs.
    let custom =
        parse_reassignment_json_for_execute("docs", &vector_text("docs-custom-reassignment.json"))
            .unwrap();
    let plan = custom.to_plan("docs").unwrap();
    assert_eq!(plan.changes[&TopicPartition::new("foo1", 0)], vec![5, 6]);
    assert_eq!(plan.changes[&TopicPartition::new("foo2", 1)], vec![2, 3]);
    assert!(custom.replica_log_dirs().is_empty());
    let rf = parse_reassignment_json_for_execute(
        "docs",
        &vector_text("docs-increase-replication-factor.json"),
    )
    .unwrap();
    assert_eq!(
        rf.to_plan("docs").unwrap().changes[&TopicPartition::new("foo", 0)],
        vec![5, 6, 7]
    );
}

#[test]
fn f_a10_invalid_json_and_empty_input() {
    assert_cases(&["R07", "R14"]);
}

/// The JSON lines of a `--generate` output: (current, proposal).
fn generate_jsons(name: &str) -> (String, String) {
    let text = vector_text(name);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "Current partition replica assignment");
    assert_eq!(lines[3], "Proposed partition reassignment configuration");
    (lines[1].to_string(), lines[4].to_string())
}

#[test]
fn f_a11_emitted_plan_is_kafka_compact_form() {
    for name in ["generate-output-4.1.txt", "generate-output-4.2.txt"] {
        let (current, proposal) = generate_jsons(name);
        for json in [&current, &proposal] {
            // Re-emitting what Kafka printed gives the same bytes, known log dirs included.
            let parsed = parse_reassignment_json(name, json).unwrap();
            assert_eq!(&emit_reassignment_json(&parsed), json, "{name}");
        }
        // A plan (no log dirs known) emits with full-length "any" log dirs.
        let plan = parse_reassignment_json(name, &proposal)
            .unwrap()
            .to_plan(name)
            .unwrap();
        assert_eq!(
            kafka_replan::formats::reassignment::emit_plan(&plan),
            proposal
        );
        let bytes = kafka_replan::formats::reassignment::plan_json_bytes(&plan);
        assert_eq!(bytes, format!("{proposal}\n").into_bytes());
    }
    // Unsorted input with short log_dirs is emitted sorted and padded.
    let unsorted = ReassignmentJson::from_plan(
        &parse_reassignment_json("x", &vector_text("execute-input.json"))
            .unwrap()
            .to_plan("x")
            .unwrap(),
    );
    assert_eq!(
        emit_reassignment_json(&unsorted),
        r#"{"version":1,"partitions":[{"topic":"bar","partition":0,"replicas":[3,2,0],"log_dirs":["any","any","any"]},{"topic":"foo","partition":0,"replicas":[0,1,3],"log_dirs":["any","any","any"]}]}"#
    );
}

/// `--execute --throttle 50000000` of execute-input.json. The cluster (current replicas) and
/// the throttle come from throttle-cases.json T03, which describes the same run.
#[test]
fn f_a14_execute_stdout_matches_kafka() {
    use kafka_replan::formats::execute_output::{execute_output, execute_output_json};
    use kafka_replan::formats::reassignment::ReassignmentEntry;

    let plan = parse_reassignment_json_for_execute(
        "execute-input.json",
        &vector_text("execute-input.json"),
    )
    .unwrap()
    .to_plan("execute-input.json")
    .unwrap();
    let throttle_cases = vector_json("throttle-cases.json");
    let t03 = throttle_cases["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "T03")
        .unwrap();
    let mut current = Plan::default();
    for (tp, replicas) in t03["current"].as_object().unwrap() {
        let (topic, p) = tp.rsplit_once('-').unwrap();
        let replicas = replicas
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_i64().unwrap() as i32)
            .collect();
        current
            .changes
            .insert(TopicPartition::new(topic, p.parse().unwrap()), replicas);
    }
    assert_eq!(
        current.changes.keys().collect::<Vec<_>>(),
        plan.changes.keys().collect::<Vec<_>>()
    );
    let throttle = t03["throttle_bytes_per_sec"].as_u64();
    assert_eq!(throttle, Some(50_000_000));
    // Started in file order; the line lists them sorted.
    let started: Vec<TopicPartition> =
        parse_reassignment_json("x", &vector_text("execute-input.json"))
            .unwrap()
            .entries
            .into_iter()
            .map(|e| e.tp)
            .collect();

    assert_eq!(
        execute_output(&current, throttle, &started),
        vector_text("execute-output-4.1.txt")
    );
    // 4.2 prints each replica's current log dir (every broker of that cluster uses
    // /var/lib/kafka/data); a Plan has no log dirs, so this goes through the JSON form.
    let with_dirs = ReassignmentJson {
        entries: current
            .changes
            .iter()
            .map(|(tp, replicas)| ReassignmentEntry {
                tp: tp.clone(),
                replicas: replicas.clone(),
                log_dirs: vec!["/var/lib/kafka/data".to_string(); replicas.len()],
            })
            .collect(),
    };
    assert_eq!(
        execute_output_json(&with_dirs, throttle, None, &started),
        vector_text("execute-output-4.2.txt")
    );
}

#[test]
fn f_a21_leader_election_json_parsing_and_emitting() {
    let v = vector_json("leader-election-cases.json");
    let mut checked = 0;
    for case in v["cases"].as_array().unwrap() {
        let id = case["id"].as_str().unwrap();
        // L07–L15 are command-line options and election results against a cluster; only
        // the JSON file cases (those with "json") belong to the format parser.
        let Some(json) = case["json"].as_str() else {
            continue;
        };
        checked += 1;
        let text = match json.strip_prefix("FILE:") {
            Some(f) => vector_text(f),
            None => json.to_string(),
        };
        let expect = &case["expect"];
        let got = parse_election_json(id, &text);
        match expect["verdict"].as_str().unwrap() {
            "valid" => {
                let set = got.unwrap_or_else(|e| panic!("{id}: {e}"));
                let names: Vec<String> = set.iter().map(|tp| tp.to_string()).collect();
                let want: Vec<String> = expect["partitions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p.as_str().unwrap().to_string())
                    .collect();
                assert_eq!(names, want, "{id}");
                // What we emit parses back to the same set.
                let again = parse_election_json(id, &emit_election_json(&set)).unwrap();
                assert_eq!(again, set, "{id}");
            }
            "invalid" => {
                let e = got
                    .err()
                    .unwrap_or_else(|| panic!("{id}: expected invalid"));
                let msg = only_message(&e);
                if let Some(want) = expect["message"].as_str() {
                    assert_eq!(msg, want, "{id}");
                }
                if let Some(want) = expect["message_contains"].as_str() {
                    assert!(msg.contains(want), "{id}: {msg}");
                }
            }
            other => panic!("{id}: unknown verdict {other}"),
        }
    }
    assert_eq!(checked, 6);
    let example = parse_election_json("ex", &vector_text("leader-election-example.json")).unwrap();
    assert_eq!(
        emit_election_json(&example),
        r#"{"partitions":[{"topic":"foo","partition":1},{"topic":"foobar","partition":2}]}"#
    );
}

/// Our parse in the shape of `topics-describe-parsed.json`.
fn describe_as_json(d: &TopicsDescribe) -> Value {
    let mut topics = serde_json::Map::new();
    for (name, t) in &d.topics {
        let mut parts = serde_json::Map::new();
        for (p, dp) in &t.partitions {
            let mut o = json!({
                "leader": dp.leader,
                "replicas": dp.replicas,
                "isr": dp.isr,
                "elr": dp.elr,
                "last_known_elr": dp.last_known_elr,
                "adding": dp.adding,
                "removing": dp.removing,
            });
            if dp.in_flight().is_some() {
                o["target"] = json!(dp.target());
                o["original_set"] = json!(dp.original_set());
            }
            parts.insert(p.to_string(), o);
        }
        topics.insert(
            name.clone(),
            json!({
                "topic_id": t.topic_id,
                "partition_count": t.partition_count,
                "replication_factor": t.replication_factor,
                "configs": t.configs,
                "partitions": parts,
            }),
        );
    }
    Value::Object(topics)
}

/// Compares every key the expectation states; keys it leaves out must be null in ours
/// (the legacy expectations omit `adding`/`removing`) and `note`s are commentary.
fn assert_matches(path: &str, ours: &Value, want: &Value) {
    match (ours, want) {
        (Value::Object(o), Value::Object(w)) => {
            for (k, wv) in w {
                if k == "note" {
                    continue;
                }
                let ov = o.get(k).unwrap_or(&Value::Null);
                assert_matches(&format!("{path}.{k}"), ov, wv);
            }
            for (k, ov) in o {
                if !w.contains_key(k) {
                    assert!(
                        ov.is_null(),
                        "{path}.{k}: we have {ov}, expectation has none"
                    );
                }
            }
        }
        _ => assert_eq!(ours, want, "at {path}"),
    }
}

#[test]
fn f_a22_topics_describe_all_styles_parse_to_expected() {
    let expected = vector_json("topics-describe-parsed.json");
    for file in ["topics-describe-4x.txt", "topics-describe-legacy.txt"] {
        let parsed = parse_topics_describe(file, &vector_text(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_matches(file, &describe_as_json(&parsed), &expected[file]);
    }
}

/// Our parse in the shape of `log-dirs-describe-parsed.json`'s `brokers`.
fn log_dirs_as_json(r: &LogDirsReport) -> Value {
    let mut brokers = serde_json::Map::new();
    for (b, dirs) in &r.brokers {
        let mut d = serde_json::Map::new();
        for (dir, info) in dirs {
            let replicas: Vec<Value> = info
                .replicas
                .iter()
                .map(|x| {
                    json!({"topic": x.tp.topic, "partition": x.tp.partition, "size": x.size,
                           "offset_lag": x.offset_lag, "is_future": x.is_future})
                })
                .collect();
            d.insert(
                dir.clone(),
                json!({"error": info.error, "replicas": replicas}),
            );
        }
        brokers.insert(b.to_string(), Value::Object(d));
    }
    Value::Object(brokers)
}

#[test]
fn f_a23_log_dirs_both_key_orders_parse_to_expected() {
    let expected = vector_json("log-dirs-describe-parsed.json");
    // The error cases of that file (`--broker-list` naming brokers the cluster lacks,
    // duplicate brokers in `--broker-list`) are checks of the live tool's options, not of
    // its output format; they belong to a live `log-dirs` query.
    for file in ["log-dirs-describe-3.5.txt", "log-dirs-describe-3.6plus.txt"] {
        let text = vector_text(file);
        let whole = parse_log_dirs(file, &text).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(log_dirs_as_json(&whole), expected["brokers"], "{file}");
        // The JSON alone parses the same.
        let json_line = text.lines().find(|l| l.starts_with('{')).unwrap();
        assert_eq!(parse_log_dirs(file, json_line).unwrap(), whole, "{file}");
        let facts = &expected["derived_facts"];
        assert_eq!(
            json!(whole.broker_bytes(false)[&0]),
            facts["total_bytes_on_broker_0_excluding_future"]
        );
        let failed = whole.failed_dirs();
        assert_eq!(
            failed,
            vec![(
                0,
                "/data/kafka-3",
                "org.apache.kafka.common.errors.KafkaStorageException"
            )]
        );
        // Partition size: largest non-future replica (orders-1's future copy is ignored).
        let sizes = whole.partition_sizes();
        assert_eq!(sizes[&TopicPartition::new("orders", 1)], 2_097_152);
        assert_eq!(sizes[&TopicPartition::new("orders", 0)], 1_048_576);
        assert_eq!(sizes[&TopicPartition::new("my-topic-0", 12)], 0);
    }
}
