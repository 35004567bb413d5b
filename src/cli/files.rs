//! The input files several subcommands read (a snapshot, a plan) and the journal directory's
//! default name, kept apart from any one subcommand so none of them imports another.

use kafka_replan::formats::decode_text;
use kafka_replan::formats::reassignment::parse_reassignment_json;
use kafka_replan::formats::snapshot::parse_snapshot;
use kafka_replan::model::Cluster;

use super::{read_input, CliError};

/// Where the journal goes when `--journal` is not given.
pub const DEFAULT_JOURNAL: &str = "kafka-replan-journal";

/// Reads and parses a snapshot (`.json` or `.json.gz`), naming the file in errors.
pub fn load_cluster(path: &std::path::Path) -> Result<Cluster, CliError> {
    let bytes = read_input(path)?;
    parse_snapshot(&path.display().to_string(), bytes).map_err(CliError::bad_input)
}

/// Reads a reassignment JSON as a plan, naming the file in errors.
pub fn read_plan(path: &std::path::Path) -> Result<kafka_replan::model::Plan, CliError> {
    let name = path.display().to_string();
    let bytes = read_input(path)?;
    let text = decode_text(&name, &bytes).map_err(CliError::bad_input)?;
    parse_reassignment_json(&name, text)
        .and_then(|j| j.to_plan(&name))
        .map_err(CliError::bad_input)
}
