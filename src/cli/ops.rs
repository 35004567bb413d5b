//! Subcommands that act on or look at a live cluster: `elect` (preferred-leader election for
//! the partitions of an election JSON or a plan, in batches), `status` (the reassignments in
//! flight) and `verify` (the state of a plan's partitions).

use std::path::PathBuf;

use clap::Args;

use kafka_replan::apply::dirs::{dir_lines, dir_states, DirTargets};
use kafka_replan::apply::executor::{self, ApplyOptions};
use kafka_replan::apply::journal::{plan_digest_with_dirs, Journal};
use kafka_replan::apply::{cancel, elect, status, verify};
use kafka_replan::formats::decode_text;
use kafka_replan::formats::election::parse_election_json;
use kafka_replan::formats::join_ids;
use kafka_replan::model::{Plan, TopicPartition};

use super::apply::{read_plan_with_dirs, rollback_json};
use super::files::{read_plan, DEFAULT_JOURNAL};
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
    /// An apply journal to report on too (default: ./kafka-replan-journal if present).
    #[arg(long, value_name = "DIR")]
    pub journal: Option<PathBuf>,
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
    if let Some(j) = journal_of(args.journal.as_deref(), None)? {
        for l in j.state.summary_lines() {
            out.push_str(&l);
            out.push('\n');
        }
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
    /// The apply journal of this plan (default: ./kafka-replan-journal when it holds this
    /// plan): once complete, the throttles its run left set are removed.
    #[arg(long, value_name = "DIR")]
    pub journal: Option<PathBuf>,
    /// Keep the throttles even when the reassignment is complete.
    #[arg(long)]
    pub preserve_throttles: bool,
}

/// The journal of `plan`: the one named, or the default directory when it holds this plan.
fn journal_of(
    named: Option<&std::path::Path>,
    plan: Option<(&Plan, &DirTargets)>,
) -> Result<Option<Journal>, CliError> {
    match named {
        Some(dir) => Journal::open(dir).map(Some).map_err(CliError::failed),
        None => {
            let dir = std::path::Path::new(DEFAULT_JOURNAL);
            if !Journal::exists(dir) {
                return Ok(None);
            }
            let j = Journal::open(dir).map_err(CliError::failed)?;
            Ok(match plan {
                Some((p, d)) if plan_digest_with_dirs(p, d) != j.state.plan_sha256 => None,
                _ => Some(j),
            })
        }
    }
}

/// Prints Kafka's `--verify` status block; exit 0 when every partition is complete, 1 while
/// any is in progress or differs (scripts can poll on the exit code). On completion the
/// throttles an apply run of this plan left set (its journal's ledger) are removed; values
/// set by anyone else are never touched.
pub fn run_verify(args: VerifyArgs) -> CliResult {
    let (plan, dirs) = read_plan_with_dirs(&args.plan)?;
    if plan.is_empty() {
        return Err(CliError::bad_input(format!(
            "{}: the plan lists no partitions",
            args.plan.display()
        )));
    }
    let journal = journal_of(args.journal.as_deref(), Some((&plan, &dirs)))?;
    let c = args.connect.connect()?;
    let states = c
        .runtime
        .block_on(verify::plan_status(&c.admin, &plan))
        .map_err(CliError::failed)?;
    let mut out = verify::status_block(&plan, &states);
    // Kafka's log-dir lines for the replicas the plan puts in a named directory.
    let dir_status = c
        .runtime
        .block_on(dir_states(&c.admin, &dirs))
        .map_err(CliError::failed)?;
    for l in dir_lines(&dirs, &dir_status) {
        out.push_str(&l);
        out.push('\n');
    }
    let done = states
        .values()
        .all(|s| *s == verify::PartitionStatus::Completed)
        && dir_status.values().all(|s| s.is_done());
    if let Some(mut j) = journal {
        let what = c
            .runtime
            .block_on(executor::clear_leftover_throttles(
                &c.admin,
                &mut j,
                done,
                args.preserve_throttles,
                &ApplyOptions::default(),
            ))
            .map_err(CliError::failed)?;
        let describe = |l: &kafka_replan::apply::ledger::ThrottleLedger| {
            format!(
                "brokers {} and topics {}",
                join_ids(&l.broker_ids().into_iter().collect::<Vec<_>>()),
                l.topic_names().into_iter().collect::<Vec<_>>().join(",")
            )
        };
        match what {
            executor::LeftoverThrottles::None => {}
            executor::LeftoverThrottles::Removed(l) => out.push_str(&format!(
                "Removed the throttles kafka-replan set on {}\n",
                describe(&l)
            )),
            executor::LeftoverThrottles::Kept(l) => out.push_str(&format!(
                "Throttles kafka-replan set stay on {}\n",
                describe(&l)
            )),
        }
    }
    super::print_stdout(&out);
    Ok(if done { EXIT_OK } else { EXIT_FAILED })
}

#[derive(Args, Debug)]
#[command(group = clap::ArgGroup::new("what").required(true).multiple(true))]
pub struct CancelArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The plan whose in-flight moves to cancel (moves of other partitions are left alone).
    #[arg(long, value_name = "FILE", group = "what")]
    pub plan: Option<PathBuf>,
    /// The plan's rollback JSON (`plan --rollback`): cancelled partitions get their original
    /// replica order back (a KRaft cancel keeps the set but not the order).
    #[arg(long, value_name = "FILE")]
    pub rollback: Option<PathBuf>,
    /// The journal of an `apply` run: cancel its running batch, restore the throttles it
    /// set, and write the rollback of the moves that completed to DIR/rollback.json.
    #[arg(long, value_name = "DIR", group = "what")]
    pub journal: Option<PathBuf>,
}

pub fn run_cancel(args: CancelArgs) -> CliResult {
    if let Some(dir) = &args.journal {
        return cancel_with_journal(&args, dir);
    }
    let Some(plan_path) = &args.plan else {
        return Err(CliError::bad_input("give --plan or --journal"));
    };
    let (plan, dirs) = read_plan_with_dirs(plan_path)?;
    let rollback = args.rollback.as_deref().map(read_plan).transpose()?;
    let c = args.connect.connect()?;
    // As Kafka's --cancel: the plan's intra-broker moves still copying are re-targeted to
    // the dir their replica is in (there is no cancel call for them), then the
    // reassignments are cancelled; failures that may pass are retried within the grace.
    let (dir_lines, outcomes) = c
        .runtime
        .block_on(cancel::cancel_plan_retrying(
            &c.admin,
            &plan,
            rollback.as_ref(),
            &dirs,
            &ApplyOptions::default(),
        ))
        .map_err(CliError::failed)?;
    let mut out = String::new();
    for l in &dir_lines {
        out.push_str(l);
        out.push('\n');
    }
    for l in cancel::lines(&outcomes) {
        out.push_str(&l);
        out.push('\n');
    }
    super::print_stdout(&out);
    let failed = outcomes
        .values()
        .any(|o| matches!(o, cancel::CancelOutcome::Failed(_)))
        || dir_lines.iter().any(|l| l.starts_with("Error"));
    Ok(if failed { EXIT_FAILED } else { EXIT_OK })
}

/// Cancels an apply run from its journal and reports which partitions had already moved,
/// with their rollback JSON.
fn cancel_with_journal(args: &CancelArgs, dir: &std::path::Path) -> CliResult {
    let mut journal = Journal::open(dir).map_err(CliError::failed)?;
    if let Some(p) = args.plan.as_deref() {
        let (plan, dirs) = read_plan_with_dirs(p)?;
        if plan_digest_with_dirs(&plan, &dirs) != journal.state.plan_sha256 {
            return Err(CliError::bad_input(format!(
                "{} is a run of a different plan than {}",
                dir.display(),
                p.display()
            )));
        }
    }
    let c = args.connect.connect()?;
    let lines = c
        .runtime
        .block_on(cancel::cancel_journal_retrying(
            &c.admin,
            &mut journal,
            &ApplyOptions::default(),
        ))
        .map_err(CliError::failed)?;
    let original = journal.state.original_plan();
    let states = c
        .runtime
        .block_on(verify::plan_status(&c.admin, &original))
        .map_err(CliError::failed)?;
    // Kafka cannot undo an intra-broker move that finished: a replica moved to another log
    // dir of its broker stays there, and the rollback moves it back to the dir it was in.
    let back = rollback_json(&journal.state);
    let from_dirs: DirTargets = back.replica_log_dirs();
    let dirs_now = c
        .runtime
        .block_on(dir_states(&c.admin, &from_dirs))
        .map_err(CliError::failed)?;
    let dir_moved: std::collections::BTreeSet<TopicPartition> = dirs_now
        .iter()
        .filter(|(_, s)| !s.is_done())
        .map(|((tp, _), _)| tp.clone())
        .collect();
    let moved: Plan = Plan {
        changes: states
            .iter()
            .filter(|(tp, s)| **s != verify::PartitionStatus::Completed || dir_moved.contains(tp))
            .filter_map(|(tp, _)| original.changes.get(tp).map(|r| (tp.clone(), r.clone())))
            .collect(),
    };
    let rollback = kafka_replan::formats::reassignment::ReassignmentJson {
        entries: back
            .entries
            .into_iter()
            .filter(|e| moved.changes.contains_key(&e.tp))
            .collect(),
    };
    let mut out = String::new();
    for l in lines {
        out.push_str(&l);
        out.push('\n');
    }
    if moved.is_empty() {
        out.push_str("Every partition of the plan has its original replicas.\n");
    } else {
        let path = dir.join("rollback.json");
        let mut set = super::output::OutputSet::default();
        let mut bytes =
            kafka_replan::formats::reassignment::emit_reassignment_json(&rollback).into_bytes();
        bytes.push(b'\n');
        set.add(&path, bytes);
        set.commit()?;
        if !dir_moved.is_empty() {
            out.push_str(&format!(
                "{} partition(s) have a replica in another log dir than before the run (an intra-broker move cannot be undone by Kafka); the rollback names their original dirs\n",
                dir_moved.len()
            ));
        }
        out.push_str(&format!(
            "{} partition(s) had already moved: {}\nTheir original replicas are in {}; to move them back: kafka-replan apply --plan {} --no-fingerprint-check --throttle RATE --journal {}-rollback\n",
            moved.changes.len(),
            moved.changes.keys().map(|tp| tp.to_string()).collect::<Vec<_>>().join(", "),
            path.display(),
            path.display(),
            dir.display()
        ));
    }
    super::print_stdout(&out);
    Ok(EXIT_OK)
}
