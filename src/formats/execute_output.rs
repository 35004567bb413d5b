//! The stdout of `kafka-reassign-partitions --execute` (spec §A4), so a run of kafka-replan
//! can leave the same record an operator's scripts expect from Kafka's tool: the rollback
//! block, the throttle warning and lines, and the success line.

use std::collections::BTreeSet;

use super::generate::CURRENT_HEADER;
use super::reassignment::{emit_reassignment_json, ReassignmentJson};
use crate::model::{Plan, TopicPartition};

/// The line after the rollback JSON.
pub const ROLLBACK_FOOTER: &str =
    "Save this to use as the --reassignment-json-file option during rollback";

/// Printed when any throttle is given.
pub const VERIFY_WARNING: &str = "Warning: You must run --verify periodically, until the reassignment completes, to ensure the throttle is removed.";

/// `--execute`'s stdout for a run that set `throttle` (bytes/s, if any) and started the
/// reassignment of `started`. `current` is the current assignment of the plan's partitions;
/// its JSON has every `log_dirs` entry `"any"`, as Kafka up to 4.1 prints it.
pub fn execute_output(current: &Plan, throttle: Option<u64>, started: &[TopicPartition]) -> String {
    execute_output_json(
        &ReassignmentJson::from_plan(current),
        throttle,
        None,
        started,
    )
}

/// [`execute_output`] from a reassignment JSON, for output carrying real log dirs (Kafka 4.2
/// prints each replica's current directory) and the log-dir throttle line.
/// The first block of `--execute`'s output: the current assignment to keep for a rollback.
pub fn rollback_block(current: &ReassignmentJson) -> String {
    // Unlike --generate's, this block has an empty line after the title.
    format!(
        "{CURRENT_HEADER}\n\n{}\n\n{ROLLBACK_FOOTER}\n",
        emit_reassignment_json(current)
    )
}

pub fn execute_output_json(
    current: &ReassignmentJson,
    throttle: Option<u64>,
    log_dir_throttle: Option<u64>,
    started: &[TopicPartition],
) -> String {
    let mut out = rollback_block(current);
    if throttle.is_some() || log_dir_throttle.is_some() {
        out.push_str(VERIFY_WARNING);
        out.push('\n');
    }
    if let Some(t) = throttle {
        out.push_str(&format!(
            "The inter-broker throttle limit was set to {t} B/s\n"
        ));
    }
    if let Some(t) = log_dir_throttle {
        out.push_str(&format!(
            "The replica-alter-dir throttle limit was set to {t} B/s\n"
        ));
    }
    let started: BTreeSet<&TopicPartition> = started.iter().collect();
    if !started.is_empty() {
        out.push_str(&format!(
            "Successfully started partition reassignment{} for {}\n",
            if started.len() == 1 { "" } else { "s" },
            started
                .iter()
                .map(|tp| tp.to_string())
                .collect::<Vec<_>>()
                .join(",")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn singular_without_throttle() {
        let mut current = Plan::default();
        current
            .changes
            .insert(TopicPartition::new("foo", 0), vec![1, 2]);
        assert_eq!(
            execute_output(&current, None, &[TopicPartition::new("foo", 0)]),
            "Current partition replica assignment\n\n{\"version\":1,\"partitions\":[{\"topic\":\"foo\",\"partition\":0,\"replicas\":[1,2],\"log_dirs\":[\"any\",\"any\"]}]}\n\nSave this to use as the --reassignment-json-file option during rollback\nSuccessfully started partition reassignment for foo-0\n"
        );
    }

    #[test]
    fn log_dir_throttle_alone_prints_the_warning_and_its_line() {
        let out = execute_output_json(&ReassignmentJson::default(), None, Some(5), &[]);
        assert!(out.ends_with(&format!(
            "{ROLLBACK_FOOTER}\n{VERIFY_WARNING}\nThe replica-alter-dir throttle limit was set to 5 B/s\n"
        )));
    }
}
