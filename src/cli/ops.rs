//! Subcommands that act on or look at a live cluster: `elect` (preferred-leader election for
//! the partitions of an election JSON or a plan, in batches), `status` (the reassignments in
//! flight) and `verify` (the state of a plan's partitions).

use std::path::PathBuf;

use clap::Args;

use kafka_replan::apply::{cancel, elect, status, verify};
use kafka_replan::formats::decode_text;
use kafka_replan::formats::election::parse_election_json;
use kafka_replan::formats::reassignment::parse_reassignment_json;
use kafka_replan::model::TopicPartition;

use super::live::ConnectArgs;
use super::{read_input, CliError, CliResult, EXIT_FAILED, EXIT_OK};

#[derive(Args, Debug)]
#[command(group = clap::ArgGroup::new("which").required(true).multiple(false))]
pub struct ElectArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// `kafka-leader-election --path-to-json-file` JSON (as `plan --election` writes it).
    #[arg(long, value_name = "FILE", group = "which")]
    pub partitions: Option<PathBuf>,
    /// A reassignment plan: elect the preferred leader of every partition it lists.
    #[arg(long, value_name = "FILE", group = "which")]
    pub plan: Option<PathBuf>,
    /// Partitions per ElectLeaders request.
    #[arg(long, value_name = "N", default_value_t = elect::DEFAULT_BATCH)]
    pub batch_size: usize,
}

fn read_plan(path: &std::path::Path) -> Result<kafka_replan::model::Plan, CliError> {
    let name = path.display().to_string();
    let bytes = read_input(path)?;
    let text = decode_text(&name, &bytes).map_err(CliError::bad_input)?;
    parse_reassignment_json(&name, text)
        .and_then(|j| j.to_plan(&name))
        .map_err(CliError::bad_input)
}

fn partitions_of(args: &ElectArgs) -> Result<Vec<TopicPartition>, CliError> {
    let (path, is_plan) = match (&args.partitions, &args.plan) {
        (Some(p), _) => (p, false),
        (None, Some(p)) => (p, true),
        (None, None) => return Err(CliError::bad_input("give --partitions or --plan")),
    };
    if is_plan {
        return Ok(read_plan(path)?.changes.into_keys().collect());
    }
    let name = path.display().to_string();
    let bytes = read_input(path)?;
    let text = decode_text(&name, &bytes).map_err(CliError::bad_input)?;
    {
        let set = parse_election_json(&name, text).map_err(CliError::bad_input)?;
        Ok(set.into_iter().collect())
    }
}

pub fn run_elect(args: ElectArgs) -> CliResult {
    if args.batch_size == 0 {
        return Err(CliError::bad_input("--batch-size must be at least 1"));
    }
    let partitions = partitions_of(&args)?;
    let c = args.connect.connect()?;
    let report = c.runtime.block_on(elect::elect_preferred(
        &c.admin,
        &partitions,
        args.batch_size,
    ));
    let mut out = String::new();
    for l in report.lines() {
        out.push_str(&l);
        out.push('\n');
    }
    super::print_stdout(&out);
    if report.failed.is_empty() {
        Ok(EXIT_OK)
    } else {
        eprintln!("{} replica(s) could not be elected", report.failed.len());
        Ok(EXIT_FAILED)
    }
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
}

pub fn run_status(args: StatusArgs) -> CliResult {
    let c = args.connect.connect()?;
    let inflight = c
        .runtime
        .block_on(status::in_flight(&c.admin))
        .map_err(CliError::failed)?;
    let mut out = String::new();
    for l in status::lines(&inflight) {
        out.push_str(&l);
        out.push('\n');
    }
    super::print_stdout(&out);
    Ok(EXIT_OK)
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The plan (Kafka reassignment JSON) to check.
    #[arg(long, value_name = "FILE")]
    pub plan: PathBuf,
}

/// Prints Kafka's `--verify` status block; exit 0 when every partition is complete, 1 while
/// any is in progress or differs (scripts can poll on the exit code).
pub fn run_verify(args: VerifyArgs) -> CliResult {
    let plan = read_plan(&args.plan)?;
    if plan.is_empty() {
        return Err(CliError::bad_input(format!(
            "{}: the plan lists no partitions",
            args.plan.display()
        )));
    }
    let c = args.connect.connect()?;
    let states = c
        .runtime
        .block_on(verify::plan_status(&c.admin, &plan))
        .map_err(CliError::failed)?;
    super::print_stdout(&verify::status_block(&plan, &states));
    let done = states
        .values()
        .all(|s| *s == verify::PartitionStatus::Completed);
    Ok(if done { EXIT_OK } else { EXIT_FAILED })
}

#[derive(Args, Debug)]
pub struct CancelArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The plan whose in-flight moves to cancel (moves of other partitions are left alone).
    #[arg(long, value_name = "FILE")]
    pub plan: PathBuf,
    /// The plan's rollback JSON (`plan --rollback`): cancelled partitions get their original
    /// replica order back (a KRaft cancel keeps the set but not the order).
    #[arg(long, value_name = "FILE")]
    pub rollback: Option<PathBuf>,
}

pub fn run_cancel(args: CancelArgs) -> CliResult {
    let plan = read_plan(&args.plan)?;
    let rollback = args.rollback.as_deref().map(read_plan).transpose()?;
    let c = args.connect.connect()?;
    let outcomes = c
        .runtime
        .block_on(cancel::cancel_plan(&c.admin, &plan, rollback.as_ref()))
        .map_err(CliError::failed)?;
    let mut out = String::new();
    for l in cancel::lines(&outcomes) {
        out.push_str(&l);
        out.push('\n');
    }
    super::print_stdout(&out);
    let failed = outcomes
        .values()
        .any(|o| matches!(o, cancel::CancelOutcome::Failed(_)));
    Ok(if failed { EXIT_FAILED } else { EXIT_OK })
}
