//! The partition list of `kafka-leader-election --path-to-json-file` (spec §A9):
//!
//! ```json
//! {"partitions":[{"topic":"foo","partition":1},{"topic":"foobar","partition":2}]}
//! ```
//!
//! No `version`; extra fields are ignored. Messages are those of Kafka's
//! `LeaderElectionCommand`, including its choice to call unparsable JSON "empty".

use std::collections::BTreeSet;

use super::kafka_json;
use super::FormatError;
use crate::model::TopicPartition;

/// Parses an election file into its set of partitions (sorted). An empty `partitions` array
/// is valid (Kafka then elects nothing).
pub fn parse_election_json(
    source_name: &str,
    text: &str,
) -> Result<BTreeSet<TopicPartition>, FormatError> {
    let fail = |m: String| FormatError::one(source_name, None, m);
    // Kafka uses `Json.parseFull`, which turns every syntax error (and empty input) into
    // "no value", reported as empty data.
    let root = kafka_json::parse_full(text)
        .map_err(|_| fail("Replica election data is empty".to_string()))?;
    let obj = kafka_json::as_object(&root).map_err(fail)?;
    let Some(parts) = obj.get("partitions") else {
        return Err(fail(
            "Replica election data is missing \"partitions\" field".to_string(),
        ));
    };
    let mut listed = Vec::new();
    for p in kafka_json::as_array(parts).map_err(fail)? {
        let fields = kafka_json::as_object(p).map_err(fail)?;
        let topic = kafka_json::field(fields, "topic")
            .and_then(kafka_json::to_string)
            .map_err(fail)?;
        let partition = kafka_json::field(fields, "partition")
            .and_then(kafka_json::to_int)
            .map_err(fail)?;
        listed.push(TopicPartition::new(topic, partition));
    }
    let mut set = BTreeSet::new();
    let mut twice = BTreeSet::new();
    for tp in listed {
        if set.contains(&tp) {
            twice.insert(tp);
        } else {
            set.insert(tp);
        }
    }
    if !twice.is_empty() {
        // Java's `Set.toString` (`[a-0, b-1]`); ascending here instead of hash order.
        let names: Vec<String> = twice.iter().map(|tp| tp.to_string()).collect();
        return Err(fail(format!(
            "Replica election data contains duplicate partitions: {}",
            kafka_json::java_list(&names)
        )));
    }
    Ok(set)
}

/// Writes an election file for the given partitions: compact, sorted, no duplicates.
pub fn emit_election_json<'a>(partitions: impl IntoIterator<Item = &'a TopicPartition>) -> String {
    let sorted: BTreeSet<&TopicPartition> = partitions.into_iter().collect();
    let mut out = String::from("{\"partitions\":[");
    for (i, tp) in sorted.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"topic\":");
        out.push_str(&kafka_json::string_literal(&tp.topic));
        out.push_str(",\"partition\":");
        out.push_str(&tp.partition.to_string());
        out.push('}');
    }
    out.push_str("]}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_sorted_and_deduplicated() {
        let tps = [
            TopicPartition::new("foobar", 2),
            TopicPartition::new("foo", 1),
            TopicPartition::new("foo", 1),
        ];
        let text = emit_election_json(&tps);
        assert_eq!(
            text,
            r#"{"partitions":[{"topic":"foo","partition":1},{"topic":"foobar","partition":2}]}"#
        );
        let back = parse_election_json("e.json", &text).unwrap();
        assert_eq!(back.len(), 2);
    }

    #[test]
    fn errors() {
        let cases = [
            ("", "Replica election data is empty"),
            ("[]", "Expected JSON object, received []"),
            (
                r#"{"partitions":[{"partition":1}]}"#,
                "No such field exists: `topic`",
            ),
            (
                r#"{"partitions":[{"topic":"a","partition":1},{"topic":"b","partition":0},{"topic":"a","partition":1},{"topic":"b","partition":0}]}"#,
                "Replica election data contains duplicate partitions: [a-1, b-0]",
            ),
        ];
        for (text, want) in cases {
            let e = parse_election_json("e", text).unwrap_err();
            assert_eq!(e.problems[0].message, want, "{text}");
        }
    }
}
