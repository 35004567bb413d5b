//! Kafka's reassignment JSON (`kafka-reassign-partitions --reassignment-json-file`), read and
//! written exactly as Kafka does (spec §A1):
//!
//! ```json
//! {"version":1,"partitions":[{"topic":"foo","partition":1,"replicas":[1,2,3],"log_dirs":["any","/data/d2","any"]}]}
//! ```
//!
//! Two ways to read it, as in Kafka: [`parse_reassignment_json`] (what `--verify`/`--cancel`
//! do: the JSON rules plus the replicas/log-dirs length check) and
//! [`parse_reassignment_json_for_execute`] (what `--execute` does: also refuses an empty list,
//! an empty replica list, a partition listed twice and a broker listed twice, in that order).
//! Error messages are Kafka's text, so operators see what they would see from Kafka's tool.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::kafka_json::{self, JsonParseFailure};
use super::FormatError;
use crate::model::{BrokerId, Plan, TopicPartition};

/// The `log_dirs` entry that means "wherever the broker likes" (no intra-broker move).
pub const ANY_LOG_DIR: &str = "any";

/// One entry of the `partitions` array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReassignmentEntry {
    pub tp: TopicPartition,
    /// Ordered; `replicas[0]` is the preferred leader.
    pub replicas: Vec<BrokerId>,
    /// One entry per replica (`"any"` when the file leaves `log_dirs` out).
    pub log_dirs: Vec<String>,
}

/// A parsed reassignment file: entries in file order (duplicates kept, so the execute checks
/// can report them).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReassignmentJson {
    pub entries: Vec<ReassignmentEntry>,
}

impl ReassignmentJson {
    /// The requested intra-broker moves: (partition, broker) → absolute directory, for every
    /// `log_dirs` entry other than `"any"` (Kafka's `TopicPartitionReplica` map).
    pub fn replica_log_dirs(&self) -> BTreeMap<(TopicPartition, BrokerId), String> {
        let mut out = BTreeMap::new();
        for e in &self.entries {
            for (b, dir) in e.replicas.iter().zip(&e.log_dirs) {
                if dir != ANY_LOG_DIR {
                    out.insert((e.tp.clone(), *b), dir.clone());
                }
            }
        }
        out
    }

    /// The plan this file asks for. A partition listed twice is an error (Kafka's message),
    /// since which of the two lists is meant cannot be known.
    pub fn to_plan(&self, source_name: &str) -> Result<Plan, FormatError> {
        let dups = duplicate_partitions(&self.entries);
        if !dups.is_empty() {
            return Err(FormatError::one(
                source_name,
                None,
                duplicate_partitions_message(&dups),
            ));
        }
        Ok(Plan {
            changes: self
                .entries
                .iter()
                .map(|e| (e.tp.clone(), e.replicas.clone()))
                .collect(),
        })
    }

    /// The file that requests `plan`, with every `log_dirs` entry `"any"`.
    pub fn from_plan(plan: &Plan) -> Self {
        ReassignmentJson {
            entries: plan
                .changes
                .iter()
                .map(|(tp, replicas)| ReassignmentEntry {
                    tp: tp.clone(),
                    replicas: replicas.clone(),
                    log_dirs: vec![ANY_LOG_DIR.to_string(); replicas.len()],
                })
                .collect(),
        }
    }

    /// Kafka's `--execute` checks 2–5 (spec §A1), first failure wins.
    pub fn check_for_execute(&self, source_name: &str) -> Result<(), FormatError> {
        let fail = |m: String| Err(FormatError::one(source_name, None, m));
        if self.entries.is_empty() {
            return fail("Partition reassignment list cannot be empty".to_string());
        }
        if self.entries.iter().any(|e| e.replicas.is_empty()) {
            return fail("Partition replica list cannot be empty".to_string());
        }
        let dups = duplicate_partitions(&self.entries);
        if !dups.is_empty() {
            return fail(duplicate_partitions_message(&dups));
        }
        // Kafka joins the offending partitions with ". " and, within one, the ids with ",".
        // It prints them in hash-set order; ascending order is used here (deterministic).
        let mut listed = Vec::new();
        for e in &self.entries {
            let mut seen = BTreeSet::new();
            let mut twice = BTreeSet::new();
            for &b in &e.replicas {
                if !seen.insert(b) {
                    twice.insert(b);
                }
            }
            if !twice.is_empty() {
                let ids: Vec<BrokerId> = twice.into_iter().collect();
                listed.push(format!(
                    "{} contains multiple entries for {}",
                    e.tp,
                    super::join_ids(&ids)
                ));
            }
        }
        if !listed.is_empty() {
            return fail(format!(
                "Partition replica lists may not contain duplicate entries: {}",
                listed.join(". ")
            ));
        }
        Ok(())
    }
}

fn duplicate_partitions(entries: &[ReassignmentEntry]) -> Vec<TopicPartition> {
    let mut seen = BTreeSet::new();
    let mut twice = BTreeSet::new();
    for e in entries {
        if !seen.insert(&e.tp) {
            twice.insert(e.tp.clone());
        }
    }
    twice.into_iter().collect()
}

fn duplicate_partitions_message(dups: &[TopicPartition]) -> String {
    let names: Vec<String> = dups.iter().map(|tp| tp.to_string()).collect();
    format!(
        "Partition reassignment contains duplicate topic partitions: {}",
        names.join(",")
    )
}

/// Parses a reassignment file as `--verify`/`--cancel` do: Kafka's JSON rules and the
/// replicas/log-dirs length check, nothing more.
pub fn parse_reassignment_json(
    source_name: &str,
    text: &str,
) -> Result<ReassignmentJson, FormatError> {
    let root = kafka_json::parse_full(text).map_err(|f| match f {
        JsonParseFailure::Empty => {
            FormatError::one(source_name, None, "The input string shouldn't be empty")
        }
        JsonParseFailure::Syntax { line, message } => FormatError::one(source_name, line, message),
    })?;
    from_value(&root).map_err(|m| FormatError::one(source_name, None, m))
}

/// Parses a reassignment file as `--execute` does: [`parse_reassignment_json`] followed by
/// [`ReassignmentJson::check_for_execute`].
pub fn parse_reassignment_json_for_execute(
    source_name: &str,
    text: &str,
) -> Result<ReassignmentJson, FormatError> {
    let parsed = parse_reassignment_json(source_name, text)?;
    parsed.check_for_execute(source_name)?;
    Ok(parsed)
}

/// Kafka's `parsePartitionReassignmentData`: fields are read in the order topic, partition,
/// replicas, log_dirs, so the first missing or mistyped one is the one reported.
fn from_value(root: &Value) -> Result<ReassignmentJson, String> {
    let obj = kafka_json::as_object(root)?;
    let version = match obj.get("version") {
        Some(v) => kafka_json::to_int(v)?,
        None => 1,
    };
    if version != 1 {
        return Err(format!("Not supported version field value {version}"));
    }
    let mut entries = Vec::new();
    if let Some(parts) = obj.get("partitions") {
        for p in kafka_json::as_array(parts)? {
            let fields = kafka_json::as_object(p)?;
            let topic = kafka_json::to_string(kafka_json::field(fields, "topic")?)?;
            let partition = kafka_json::to_int(kafka_json::field(fields, "partition")?)?;
            let replicas = kafka_json::to_int_list(kafka_json::field(fields, "replicas")?)?;
            let log_dirs = match fields.get("log_dirs") {
                Some(v) => kafka_json::to_string_list(v)?,
                None => vec![ANY_LOG_DIR.to_string(); replicas.len()],
            };
            let tp = TopicPartition::new(topic, partition);
            if replicas.len() != log_dirs.len() {
                return Err(format!(
                    "Size of replicas list {} is different from size of log dirs list {} for partition {}",
                    kafka_json::java_list(&replicas),
                    kafka_json::java_list(&log_dirs),
                    tp
                ));
            }
            entries.push(ReassignmentEntry {
                tp,
                replicas,
                log_dirs,
            });
        }
    }
    Ok(ReassignmentJson { entries })
}

/// Writes entries in Kafka's emitted form (`formatAsReassignmentJson`): compact, keys
/// `version`,`partitions` and `topic`,`partition`,`replicas`,`log_dirs`, entries sorted by
/// topic-partition, `log_dirs` one per replica (padded with `"any"` if an entry has fewer).
/// No trailing newline (Kafka prints one after it; see [`plan_json_bytes`]).
pub fn emit_reassignment_json(json: &ReassignmentJson) -> String {
    let mut sorted: Vec<&ReassignmentEntry> = json.entries.iter().collect();
    // Stable sort: entries for the same partition keep their file order.
    sorted.sort_by(|a, b| a.tp.cmp(&b.tp));
    let mut out = String::with_capacity(64 + sorted.len() * 64);
    out.push_str("{\"version\":1,\"partitions\":[");
    for (i, e) in sorted.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"topic\":");
        out.push_str(&kafka_json::string_literal(&e.tp.topic));
        out.push_str(",\"partition\":");
        out.push_str(&e.tp.partition.to_string());
        out.push_str(",\"replicas\":[");
        out.push_str(&super::join_ids(&e.replicas));
        out.push_str("],\"log_dirs\":[");
        for j in 0..e.replicas.len() {
            if j > 0 {
                out.push(',');
            }
            let dir = e.log_dirs.get(j).map(String::as_str).unwrap_or(ANY_LOG_DIR);
            out.push_str(&kafka_json::string_literal(dir));
        }
        out.push_str("]}");
    }
    out.push_str("]}");
    out
}

/// The reassignment JSON of a plan (all `log_dirs` `"any"`), in Kafka's emitted form.
pub fn emit_plan(plan: &Plan) -> String {
    emit_reassignment_json(&ReassignmentJson::from_plan(plan))
}

/// The bytes of a `plan.json` file: [`emit_plan`] plus a newline. Kafka reads the whole file
/// and Jackson ignores whitespace after the value, so the newline is accepted by
/// `--execute`/`--verify`/`--cancel` and keeps the file friendly to `cat` and diff tools.
pub fn plan_json_bytes(plan: &Plan) -> Vec<u8> {
    let mut s = emit_plan(plan);
    s.push('\n');
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(r: Result<ReassignmentJson, FormatError>) -> String {
        r.unwrap_err().problems[0].message.clone()
    }

    #[test]
    fn plain_parse_keeps_order_and_defaults() {
        let j = parse_reassignment_json(
            "p.json",
            r#"{"partitions":[{"topic":"b","partition":0,"replicas":[2,1]},{"topic":"a","partition":3,"replicas":[1],"log_dirs":["/d"]}]}"#,
        )
        .unwrap();
        assert_eq!(j.entries.len(), 2);
        assert_eq!(j.entries[0].tp, TopicPartition::new("b", 0));
        assert_eq!(j.entries[0].log_dirs, vec!["any", "any"]);
        assert_eq!(
            j.replica_log_dirs()
                .get(&(TopicPartition::new("a", 3), 1))
                .map(String::as_str),
            Some("/d")
        );
    }

    #[test]
    fn plain_parse_skips_execute_checks() {
        // --verify accepts what --execute refuses.
        let text = r#"{"version":1,"partitions":[]}"#;
        assert!(parse_reassignment_json("p", text).is_ok());
        assert_eq!(
            msg(parse_reassignment_json_for_execute("p", text)),
            "Partition reassignment list cannot be empty"
        );
    }

    #[test]
    fn several_duplicate_replicas_are_listed() {
        let text = r#"{"partitions":[{"topic":"a","partition":0,"replicas":[1,1,2,2]},{"topic":"b","partition":0,"replicas":[3,3]}]}"#;
        assert_eq!(
            msg(parse_reassignment_json_for_execute("p", text)),
            "Partition replica lists may not contain duplicate entries: a-0 contains multiple entries for 1,2. b-0 contains multiple entries for 3"
        );
    }

    #[test]
    fn type_errors_use_kafka_text() {
        let cases = [
            (
                r#"{"version":"1"}"#,
                "Expected `Integer` value, received \"1\"",
            ),
            (r#"{"partitions":{}}"#, "Expected JSON array, received {}"),
            (r#"{"partitions":[1]}"#, "Expected JSON object, received 1"),
            (
                r#"{"partitions":[{"partition":0}]}"#,
                "No such field exists: `topic`",
            ),
            (
                r#"{"partitions":[{"topic":1,"partition":0}]}"#,
                "Expected `String` value, received 1",
            ),
            (
                r#"{"partitions":[{"topic":"a","partition":0,"replicas":[1],"log_dirs":[1]}]}"#,
                "Expected `String` value, received 1",
            ),
            (
                r#"{"partitions":[{"topic":"a","partition":0,"replicas":7}]}"#,
                "Expected `JSON array` value, received 7",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(msg(parse_reassignment_json("p", text)), want, "{text}");
        }
    }

    #[test]
    fn emits_kafka_form() {
        let mut plan = Plan::default();
        plan.changes
            .insert(TopicPartition::new("foo", 1), vec![3, 0, 1]);
        plan.changes
            .insert(TopicPartition::new("foo", 0), vec![1, 3, 0]);
        assert_eq!(
            emit_plan(&plan),
            r#"{"version":1,"partitions":[{"topic":"foo","partition":0,"replicas":[1,3,0],"log_dirs":["any","any","any"]},{"topic":"foo","partition":1,"replicas":[3,0,1],"log_dirs":["any","any","any"]}]}"#
        );
        let bytes = plan_json_bytes(&plan);
        assert_eq!(bytes.last(), Some(&b'\n'));
        let back = parse_reassignment_json_for_execute("p", std::str::from_utf8(&bytes).unwrap())
            .unwrap()
            .to_plan("p")
            .unwrap();
        assert_eq!(back, plan);
    }

    #[test]
    fn to_plan_refuses_duplicates() {
        let j = parse_reassignment_json(
            "p",
            r#"{"partitions":[{"topic":"a","partition":0,"replicas":[1]},{"topic":"a","partition":0,"replicas":[2]}]}"#,
        )
        .unwrap();
        assert_eq!(
            j.to_plan("p").unwrap_err().problems[0].message,
            "Partition reassignment contains duplicate topic partitions: a-0"
        );
    }
}
