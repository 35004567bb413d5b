//! The inputs and the output of `kafka-reassign-partitions --generate`, read and written as
//! Kafka's tool does (spec §A2, §A3), so `kafka-replan generate` slots into scripts built on
//! it: the topics-to-move JSON, the `--broker-list` string, and the two-block stdout.
//!
//! Messages are Kafka's text.

use serde_json::Value;

use super::kafka_json;
use super::reassignment::{emit_reassignment_json, ReassignmentJson};
use crate::model::BrokerId;
use crate::plan::kafka_placement::{java_hash_order, java_hashmap_order};

/// Parses `--broker-list` as Kafka does: split on `,` (Java `String.split`, so trailing
/// empty pieces vanish), each piece `Integer.parseInt` without trimming, then refuse
/// duplicates. Order is kept.
pub fn parse_kafka_broker_list(s: &str) -> Result<Vec<BrokerId>, String> {
    let mut pieces: Vec<&str> = s.split(',').collect();
    // Java drops trailing empty strings, unless nothing matched at all ("" stays [""]).
    if s.contains(',') {
        while pieces.last().is_some_and(|p| p.is_empty()) {
            pieces.pop();
        }
    }
    let mut ids = Vec::with_capacity(pieces.len());
    for piece in pieces {
        ids.push(java_parse_int(piece).ok_or_else(|| format!("For input string: \"{piece}\""))?);
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut dups: Vec<BrokerId> = Vec::new();
    for &id in &ids {
        if !seen.insert(id) && !dups.contains(&id) {
            dups.push(id);
        }
    }
    if !dups.is_empty() {
        // Kafka prints a Java `HashSet<Integer>` (an Integer hashes to its value).
        let hashes: Vec<i32> = dups.clone();
        dups = java_hash_order(&hashes)
            .into_iter()
            .map(|i| hashes[i])
            .collect();
        return Err(format!(
            "Broker list contains duplicate entries: {}",
            kafka_json::java_list(&dups)
        ));
    }
    Ok(ids)
}

/// `Integer.parseInt(s)` for ASCII input: optional sign, decimal digits, int32 range.
fn java_parse_int(s: &str) -> Option<i32> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i32>().ok()
}

/// Parses a topics-to-move JSON (`{"topics":[{"topic":"foo"}],"version":1}`): topics in
/// file order. A topic listed twice is refused with Kafka's message.
pub fn parse_topics_to_move(text: &str) -> Result<Vec<String>, String> {
    // Kafka's parseTopicsData uses Json.parseFull and drops Jackson's message.
    let root = kafka_json::parse_full(text)
        .map_err(|_| "The input string is not a valid JSON".to_string())?;
    let topics = topics_from_value(&root)?;
    let mut dups: Vec<String> = Vec::new();
    for (i, t) in topics.iter().enumerate() {
        if topics[..i].contains(t) && !dups.contains(t) {
            dups.push(t.clone());
        }
    }
    if !dups.is_empty() {
        // Kafka prints a Java `HashSet<String>`: hash order.
        let keys: Vec<Option<String>> = dups.iter().cloned().map(Some).collect();
        let ordered: Vec<&String> = java_hashmap_order(&keys)
            .into_iter()
            .map(|i| &dups[i])
            .collect();
        return Err(format!(
            "List of topics to reassign contains duplicate entries: {}",
            kafka_json::java_list(&ordered)
        ));
    }
    Ok(topics)
}

fn topics_from_value(root: &Value) -> Result<Vec<String>, String> {
    let obj = kafka_json::as_object(root)?;
    let version = match obj.get("version") {
        Some(v) => kafka_json::to_int(v)?,
        None => 1,
    };
    if version != 1 {
        return Err(format!("Not supported version field value {version}"));
    }
    let mut out = Vec::new();
    if let Some(list) = obj.get("topics") {
        for entry in kafka_json::as_array(list)? {
            let fields = kafka_json::as_object(entry)?;
            out.push(kafka_json::to_string(kafka_json::field(fields, "topic")?)?.to_string());
        }
    }
    Ok(out)
}

/// The first line of the current-assignment block.
pub const CURRENT_HEADER: &str = "Current partition replica assignment";
/// The first line of the proposal block.
pub const PROPOSED_HEADER: &str = "Proposed partition reassignment configuration";

/// `--generate`'s stdout: both blocks, each JSON in Kafka's emitted form.
pub fn generate_output(current: &ReassignmentJson, proposed: &ReassignmentJson) -> String {
    format!(
        "{CURRENT_HEADER}\n{}\n\n{PROPOSED_HEADER}\n{}\n",
        emit_reassignment_json(current),
        emit_reassignment_json(proposed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_list_follows_java_split_and_parse_int() {
        assert_eq!(parse_kafka_broker_list("5,2,3,4"), Ok(vec![5, 2, 3, 4]));
        assert_eq!(parse_kafka_broker_list("1,2,"), Ok(vec![1, 2]));
        assert_eq!(parse_kafka_broker_list("+7"), Ok(vec![7]));
        assert_eq!(
            parse_kafka_broker_list("1, 2"),
            Err("For input string: \" 2\"".into())
        );
        assert_eq!(
            parse_kafka_broker_list(""),
            Err("For input string: \"\"".into())
        );
        assert_eq!(
            parse_kafka_broker_list("1,,2"),
            Err("For input string: \"\"".into())
        );
        assert_eq!(
            parse_kafka_broker_list("2147483648"),
            Err("For input string: \"2147483648\"".into())
        );
        assert_eq!(parse_kafka_broker_list(","), Ok(vec![]));
        assert_eq!(
            parse_kafka_broker_list("3,1,3,1"),
            Err("Broker list contains duplicate entries: [1, 3]".into())
        );
        // Java HashSet order, as printed by a JDK: [17, 2, 100].
        assert_eq!(
            parse_kafka_broker_list("100,2,17,100,2,17"),
            Err("Broker list contains duplicate entries: [17, 2, 100]".into())
        );
    }

    #[test]
    fn duplicate_topics_print_in_java_hashset_order() {
        // Duplicates are collected in the order they are found (alpha, bar, foo, zeta); a JDK
        // prints that HashSet as [zeta, bar, alpha, foo] (foo and alpha share a bucket).
        let json = r#"{"topics":[{"topic":"zeta"},{"topic":"foo"},{"topic":"bar"},{"topic":"alpha"},
            {"topic":"alpha"},{"topic":"bar"},{"topic":"foo"},{"topic":"zeta"}]}"#;
        assert_eq!(
            parse_topics_to_move(json),
            Err(
                "List of topics to reassign contains duplicate entries: [zeta, bar, alpha, foo]"
                    .into()
            )
        );
    }
}
