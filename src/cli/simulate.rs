//! `kafka-replan simulate`: the execution scheduler run against a model of the cluster.

use std::path::PathBuf;

use clap::Args;

use kafka_replan::formats::decode_text;
use kafka_replan::formats::reassignment::parse_reassignment_json;
use kafka_replan::formats::report::human_bytes;
use kafka_replan::plan::schedule::schedule;

use super::estimate::{estimate_text, limits, parse_rate};
use super::files::load_cluster;
use super::{read_input, CliError, CliResult, EXIT_OK};

#[derive(Args, Debug)]
pub struct SimulateArgs {
    /// The plan (Kafka reassignment JSON).
    #[arg(long, value_name = "FILE")]
    pub plan: PathBuf,
    /// The snapshot the plan was made from (sizes, leaders).
    #[arg(long, value_name = "FILE")]
    pub snapshot: PathBuf,
    /// Replication throttle per broker and direction, e.g. `50MB/s` (or bytes per second).
    #[arg(long, value_name = "RATE")]
    pub throttle: String,
    /// Inbound and outbound bytes per broker per batch (default: 20GB).
    #[arg(long, value_name = "SIZE", default_value = "20GB")]
    pub max_inflight_bytes_per_broker: String,
    /// Replica moves per broker per batch.
    #[arg(long, value_name = "N")]
    pub max_moves_per_broker: Option<usize>,
    /// Print every batch's partitions too.
    #[arg(long)]
    pub verbose: bool,
}

pub fn run(args: SimulateArgs) -> CliResult {
    let throttle = parse_rate("--throttle", &args.throttle)?;
    let limits = limits(
        &args.max_inflight_bytes_per_broker,
        args.max_moves_per_broker,
    )?;
    let cluster = load_cluster(&args.snapshot)?;
    let name = args.plan.display().to_string();
    let bytes = read_input(&args.plan)?;
    let text = decode_text(&name, &bytes).map_err(CliError::bad_input)?;
    let plan = parse_reassignment_json(&name, text)
        .and_then(|j| j.to_plan(&name))
        .map_err(CliError::bad_input)?;
    let unknown: Vec<String> = plan
        .changes
        .keys()
        .filter(|tp| cluster.partition_index(tp).is_none())
        .map(|tp| tp.to_string())
        .collect();
    if !unknown.is_empty() {
        return Err(CliError::bad_input(format!(
            "{name}: partition(s) not in the snapshot: {}",
            unknown.join(", ")
        )));
    }
    let s = schedule(&cluster, &plan, &limits);
    let mut out = String::new();
    for (i, b) in s.batches.iter().enumerate() {
        let worst_in = b.inbound.iter().max_by_key(|(id, v)| (**v, -**id));
        let worst_out = b.outbound.iter().max_by_key(|(id, v)| (**v, -**id));
        out.push_str(&format!(
            "batch {:>3}: {:>4} partitions, {:>4} copies, {:>10}, {:>6.0} s; busiest in: {}, out: {}\n",
            i + 1,
            b.targets.len(),
            b.copies.len(),
            human_bytes(b.bytes()),
            b.seconds(throttle),
            worst_in.map(|(id, v)| format!("broker {id} {}", human_bytes(*v))).unwrap_or_else(|| "-".into()),
            worst_out.map(|(id, v)| format!("broker {id} {}", human_bytes(*v))).unwrap_or_else(|| "-".into()),
        ));
        if args.verbose {
            for (tp, reps) in &b.targets {
                out.push_str(&format!(
                    "           {tp} -> {}\n",
                    reps.iter()
                        .map(|r| r.to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                ));
            }
        }
    }
    out.push_str(&estimate_text(&s, throttle));
    super::print_stdout(&out);
    Ok(EXIT_OK)
}
