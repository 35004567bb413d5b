//! `kafka-replan simulate`: the execution scheduler run against a model of the cluster.

use std::path::PathBuf;

use clap::Args;

use kafka_replan::formats::decode_text;
use kafka_replan::formats::racks::parse_byte_size;
use kafka_replan::formats::reassignment::parse_reassignment_json;
use kafka_replan::formats::report::human_bytes;
use kafka_replan::plan::schedule::{schedule, BatchLimits, Schedule};

use super::plan::load_cluster;
use super::{read_input, CliError, CliResult, EXIT_OK};

/// Seconds added per batch for submitting it, polling and changing throttles.
pub const BATCH_OVERHEAD_S: f64 = 5.0;

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

/// Parses `50MB/s`, `50MB` or `50000000` as bytes per second.
pub fn parse_rate(flag: &str, s: &str) -> Result<u64, CliError> {
    let t = s.trim();
    let t = t.strip_suffix("/s").unwrap_or(t);
    match parse_byte_size(t) {
        Ok(0) => Err(CliError::bad_input(format!(
            "{flag}: the rate must be above 0"
        ))),
        Ok(v) => Ok(v),
        Err(e) => Err(CliError::bad_input(format!("{flag}: {e}"))),
    }
}

pub fn limits(max_bytes: &str, max_moves: Option<usize>) -> Result<BatchLimits, CliError> {
    let max_bytes_per_broker = parse_byte_size(max_bytes)
        .map_err(|e| CliError::bad_input(format!("--max-inflight-bytes-per-broker: {e}")))?;
    if max_moves == Some(0) {
        return Err(CliError::bad_input(
            "--max-moves-per-broker must be at least 1",
        ));
    }
    Ok(BatchLimits {
        max_bytes_per_broker,
        max_moves_per_broker: max_moves,
    })
}

/// The one-paragraph estimate `plan --throttle` and `simulate` print.
pub fn estimate_text(s: &Schedule, throttle: u64) -> String {
    let secs = s.estimated_seconds(throttle, BATCH_OVERHEAD_S);
    format!(
        "estimate:          {} batches, {} to copy at {}/s per broker: about {} ({:.0} s, incl. {BATCH_OVERHEAD_S:.0} s per batch)\n",
        s.batches.len(),
        human_bytes(s.total_bytes()),
        human_bytes(throttle),
        human_duration(secs),
        secs
    )
}

fn human_duration(secs: f64) -> String {
    let s = secs.round() as u64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
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
