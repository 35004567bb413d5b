//! Scoring a reassignment JSON (score.py's `score`): lenient validation with the scorer's
//! error strings, then the summary of the layout the valid entries give.

use std::collections::BTreeSet;

use serde_json::Value;

use super::python::{py_equals_one, py_int, py_integral, py_list_repr, py_repr, py_str};
use super::stats::{summarize, ScoreSummary};
use crate::model::{BrokerId, Cluster};

/// Most errors listed by [`score_plan`]; one more line says that the rest were omitted.
pub const MAX_ERRORS: usize = 20;

/// The line that follows the first [`MAX_ERRORS`] errors when there are more.
pub const MORE_ERRORS_OMITTED: &str = "... more errors omitted";

/// The score of a reassignment JSON (score.py's `score`).
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// A label for the snapshot. The scorer takes it from the snapshot's `scenario.name`,
    /// which the model does not keep; callers set it (the CLI uses the file name).
    pub snapshot: Option<String>,
    pub valid: bool,
    /// At most [`MAX_ERRORS`] messages, then [`MORE_ERRORS_OMITTED`].
    pub errors: Vec<String>,
    /// Entries with at least one problem.
    pub invalid_entries: usize,
    /// Entries in the plan's `partitions` list.
    pub plan_entries: usize,
    pub summary: ScoreSummary,
}

/// The error list with the scorer's cap.
#[derive(Default)]
struct Errors(Vec<String>);

impl Errors {
    fn push(&mut self, msg: String) {
        if self.0.len() < MAX_ERRORS {
            self.0.push(msg);
        } else if self.0.len() == MAX_ERRORS {
            self.0.push(MORE_ERRORS_OMITTED.to_string());
        }
    }
}

/// Scores a reassignment JSON value (`{"version":1,"partitions":[...]}`) against the cluster
/// with `excluded` brokers to empty, like the scorer: entries that cannot be applied (unknown
/// partition, unknown brokers, malformed) are skipped and reported; every other entry is
/// applied even when invalid, so an invalid plan can still be inspected. Never panics.
pub fn score_plan(cluster: &Cluster, excluded: &BTreeSet<BrokerId>, plan: &Value) -> Score {
    let mut errors = Errors::default();
    let before = cluster.current_layout();
    let mut after = before.clone();
    let entries: &[Value] = match plan.as_object() {
        Some(obj) if obj.get("partitions").is_some_and(Value::is_array) => {
            if let Some(v) = obj.get("version") {
                if !py_equals_one(v) {
                    errors.push(format!("plan version {} is not 1", py_repr(v)));
                }
            }
            obj.get("partitions")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[])
        }
        _ => {
            errors.push(
                "plan is not a reassignment JSON object with a 'partitions' list".to_string(),
            );
            &[]
        }
    };

    let mut seen = vec![false; cluster.partitions.len()];
    let mut invalid_entries = 0usize;
    for (i, e) in entries.iter().enumerate() {
        let fields = e
            .as_object()
            .and_then(|o| Some((o.get("topic")?, o.get("partition")?, o.get("replicas")?)));
        let Some((topic, partition, reps)) = fields else {
            errors.push(format!("entry {i} lacks topic/partition/replicas"));
            invalid_entries += 1;
            continue;
        };
        let name = format!("{}-{}", py_str(topic), py_str(partition));
        let index = match (topic.as_str(), py_integral(partition)) {
            (Some(t), Some(p)) => i32::try_from(p).ok().and_then(|p| {
                cluster
                    .partitions
                    .binary_search_by(|x| (x.tp.topic.as_str(), x.tp.partition).cmp(&(t, p)))
                    .ok()
            }),
            _ => None,
        };
        let Some(pi) = index else {
            errors.push(format!("{name}: no such partition in the snapshot"));
            invalid_entries += 1;
            continue;
        };
        let mut bad = false;
        if seen[pi] {
            errors.push(format!("{name}: listed more than once"));
            bad = true;
        }
        seen[pi] = true;
        let ints: Option<Vec<i128>> = reps.as_array().and_then(|a| a.iter().map(py_int).collect());
        let (Some(ints), Some(items)) = (ints, reps.as_array()) else {
            errors.push(format!("{name}: replicas must be a list of broker ids"));
            invalid_entries += 1;
            continue;
        };
        let old_rf = before.replicas[pi].len();
        if ints.len() != old_rf {
            errors.push(format!(
                "{name}: replication factor {old_rf} -> {}",
                ints.len()
            ));
            bad = true;
        }
        let mut distinct = ints.clone();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() != ints.len() {
            errors.push(format!("{name}: duplicate brokers in {}", py_repr(reps)));
            bad = true;
        }
        let as_broker = |r: i128| BrokerId::try_from(r).ok();
        let known = |r: i128| as_broker(r).is_some_and(|b| cluster.broker(b).is_some());
        let unknown: Vec<&Value> = items
            .iter()
            .zip(&ints)
            .filter(|(_, r)| !known(**r))
            .map(|(v, _)| v)
            .collect();
        if !unknown.is_empty() {
            errors.push(format!(
                "{name}: unknown brokers {}",
                py_list_repr(&unknown)
            ));
            bad = true;
        }
        let on_excluded: Vec<&Value> = items
            .iter()
            .zip(&ints)
            .filter(|(_, r)| as_broker(**r).is_some_and(|b| excluded.contains(&b)))
            .map(|(v, _)| v)
            .collect();
        if !on_excluded.is_empty() {
            errors.push(format!(
                "{name}: uses excluded brokers {}",
                py_list_repr(&on_excluded)
            ));
            bad = true;
        }
        if bad {
            invalid_entries += 1;
        }
        if unknown.is_empty() {
            // Every id is a known broker, hence an i32.
            after.replicas[pi] = ints.iter().filter_map(|&r| as_broker(r)).collect();
        }
    }
    let left = after
        .replicas
        .iter()
        .flatten()
        .filter(|b| excluded.contains(b))
        .count();
    if left > 0 {
        let ids: Vec<String> = excluded.iter().map(|b| b.to_string()).collect();
        errors.push(format!(
            "{left} replicas remain on excluded brokers [{}]",
            ids.join(", ")
        ));
    }
    let summary = summarize(cluster, excluded, &before, &after);
    let errors = errors.0;
    Score {
        snapshot: None,
        valid: errors.is_empty(),
        errors,
        invalid_entries,
        plan_entries: entries.len(),
        summary,
    }
}
