//! `kafka-replan plan`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use clap::Args;

use kafka_replan::formats::snapshot::parse_snapshot;
use kafka_replan::model::{BrokerId, Cluster};
use kafka_replan::plan::bounds::move_bounds;

use super::{parse_broker_list, read_input, CliError, CliResult, EXIT_OK};

#[derive(Args, Debug)]
pub struct PlanArgs {
    /// Cluster snapshot (`.json` or `.json.gz`).
    #[arg(long)]
    pub snapshot: PathBuf,
    /// Brokers to empty (decommission), e.g. `4,5`.
    #[arg(long, value_name = "IDS")]
    pub exclude_brokers: Option<String>,
}

pub fn load_cluster(path: &std::path::Path) -> Result<Cluster, CliError> {
    let bytes = read_input(path)?;
    parse_snapshot(&path.display().to_string(), bytes).map_err(CliError::bad_input)
}

pub fn excluded_set(cluster: &Cluster, flag: Option<&str>) -> Result<BTreeSet<BrokerId>, CliError> {
    let ids = match flag {
        Some(s) => parse_broker_list("--exclude-brokers", s)?,
        None => Vec::new(),
    };
    let mut set = BTreeSet::new();
    for id in ids {
        if cluster.broker(id).is_none() {
            return Err(CliError::bad_input(format!(
                "--exclude-brokers: broker {id} is not in the cluster (known: {})",
                join(&cluster.broker_ids())
            )));
        }
        set.insert(id);
    }
    Ok(set)
}

pub fn join(ids: &[BrokerId]) -> String {
    ids.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

pub fn run(args: PlanArgs) -> CliResult {
    let cluster = load_cluster(&args.snapshot)?;
    let excluded = excluded_set(&cluster, args.exclude_brokers.as_deref())?;
    let b = move_bounds(&cluster, &cluster.current_layout(), &excluded);
    println!("LB* = {}", b.combined);
    Ok(EXIT_OK)
}
