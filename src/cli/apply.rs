//! `kafka-replan apply`: run a plan on a live cluster in byte-limited batches with
//! replication throttles, a crash-safe journal, progress, and a preferred-leader election
//! at the end. `--dry-run` shows the batches and throttles without changing anything;
//! `--resume` continues (or cleans up after) a run that was stopped or killed.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use kafka_replan::apply::dirs::{dir_lines, DirTargets};
use kafka_replan::apply::executor::{
    prepare_with_dirs, run, ApplyError, ApplyOptions, Progress, Reporter, StopFlag, Summary,
};
use kafka_replan::apply::journal::{plan_digest_with_dirs, Journal, JournalState, Phase};
use kafka_replan::apply::ledger::wanted_throttles;
use kafka_replan::apply::verify::{status_block, PartitionStatus};
use kafka_replan::formats::decode_text;
use kafka_replan::formats::execute_output::rollback_block;
use kafka_replan::formats::join_ids;
use kafka_replan::formats::reassignment::{
    parse_reassignment_json, ReassignmentEntry, ReassignmentJson, ANY_LOG_DIR,
};
use kafka_replan::formats::report::human_bytes;
use kafka_replan::model::Plan;

use super::estimate::{estimate_text, limits, parse_rate};
use super::files::{read_plan, DEFAULT_JOURNAL};
use super::live::{ConnectArgs, Connected};
use super::read_input;
use super::{CliError, CliResult, EXIT_FAILED, EXIT_OK};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProgressMode {
    /// A progress bar on a terminal (stderr), plain lines otherwise.
    Auto,
    /// Plain lines on stderr, every --progress-interval seconds and at each batch.
    Plain,
    /// One JSON object per line on stdout.
    Json,
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The plan (Kafka reassignment JSON, accepted unchanged by kafka-reassign-partitions).
    #[arg(long, value_name = "FILE", required_unless_present = "resume")]
    pub plan: Option<PathBuf>,
    /// The plan's rollback JSON (`plan --rollback`): the replicas the plan was made from.
    /// apply refuses to start if the cluster no longer has them.
    #[arg(long, value_name = "FILE")]
    pub rollback: Option<PathBuf>,
    /// Start without checking the cluster against a rollback JSON (e.g. a plan made by
    /// another tool); the current replicas are recorded as the rollback instead.
    #[arg(long, conflicts_with = "rollback")]
    pub no_fingerprint_check: bool,
    /// Replication throttle per broker and direction while data copies, e.g. `50MB/s`.
    #[arg(long, value_name = "RATE", required_unless_present = "resume")]
    pub throttle: Option<String>,
    /// Inbound and outbound bytes per broker per batch.
    #[arg(long, value_name = "SIZE", default_value = "20GB")]
    pub max_inflight_bytes_per_broker: String,
    /// Log-dir throttle for intra-broker moves (the plan's `log_dirs`), e.g. `100MB/s`: set
    /// as `replica.alter.log.dirs.io.max.bytes.per.second` on the brokers with intra-broker
    /// moves in the running batch, restored after it. Not set unless given (as Kafka's
    /// `--replica-alter-log-dirs-throttle`, accepted as an alias).
    #[arg(long, value_name = "RATE", alias = "replica-alter-log-dirs-throttle")]
    pub log_dir_throttle: Option<String>,
    /// Replica moves per broker (in or out) per batch.
    #[arg(long, value_name = "N")]
    pub max_moves_per_broker: Option<usize>,
    /// The journal directory (created; one run at a time per directory).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_JOURNAL)]
    pub journal: PathBuf,
    /// Start even if other reassignments are in flight (they are left alone).
    #[arg(long)]
    pub additional: bool,
    /// Print the batches, throttles and estimated time; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Refuse plans that change a partition's replication factor (KIP-860).
    #[arg(long)]
    pub disallow_replication_factor_change: bool,
    /// Skip the preferred-leader election at the end.
    #[arg(long)]
    pub no_elect: bool,
    /// Continue the run recorded in --journal (after Ctrl-C, an error or a killed process).
    #[arg(long)]
    pub resume: bool,
    /// How progress is shown.
    #[arg(long, value_enum, default_value = "auto")]
    pub progress: ProgressMode,
    /// Seconds between progress lines in plain mode.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub progress_interval: u64,
    /// Seconds between polls of the cluster while data copies.
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0)]
    pub poll_interval: f64,
    /// Seconds a broker of the running batch may be down before the run stops (and rolls
    /// the batch back).
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub broker_down_grace: u64,
}

/// Progress to a terminal bar, plain lines or JSON lines.
struct CliReporter {
    mode: ProgressMode,
    bar: Option<ProgressBar>,
    interval: Duration,
    last_line: Option<Instant>,
    last_batch: usize,
    started: Instant,
    first_bytes: Option<u64>,
}

impl CliReporter {
    fn new(mode: ProgressMode, interval: Duration) -> CliReporter {
        let bar = (mode == ProgressMode::Auto && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::new(0);
            if let Ok(style) = ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
            ) {
                b.set_style(style.progress_chars("=> "));
            }
            b
        });
        CliReporter {
            mode,
            bar,
            interval,
            last_line: None,
            last_batch: 0,
            started: Instant::now(),
            first_bytes: None,
        }
    }

    /// Bytes/s copied by this run so far.
    fn rate(&self, p: &Progress) -> f64 {
        let copied = p.bytes_done.saturating_sub(self.first_bytes.unwrap_or(0));
        copied as f64 / self.started.elapsed().as_secs_f64().max(1e-3)
    }
}

impl Reporter for CliReporter {
    fn progress(&mut self, p: &Progress) {
        self.first_bytes.get_or_insert(p.bytes_done);
        let rate = self.rate(p);
        let remaining = p.bytes_total.saturating_sub(p.bytes_done);
        let eta = (rate > 0.0).then(|| remaining as f64 / rate);
        if let Some(bar) = &self.bar {
            bar.set_length(p.bytes_total);
            bar.set_position(p.bytes_done);
            let dirs = if p.dir_moves_total > 0 {
                format!(", {}/{} log-dir moves", p.dir_moves_done, p.dir_moves_total)
            } else {
                String::new()
            };
            bar.set_message(format!(
                "batch {}/{}, {}/{} partitions{dirs}",
                p.batch, p.batches, p.partitions_done, p.partitions_total
            ));
            return;
        }
        match self.mode {
            ProgressMode::Json => {
                let line = serde_json::json!({
                    "event": "progress",
                    "batch": p.batch,
                    "batches": p.batches,
                    "bytes_done": p.bytes_done,
                    "bytes_total": p.bytes_total,
                    "partitions_done": p.partitions_done,
                    "partitions_total": p.partitions_total,
                    "dir_moves_done": p.dir_moves_done,
                    "dir_moves_total": p.dir_moves_total,
                    "dir_bytes_done": p.dir_bytes_done,
                    "dir_bytes_total": p.dir_bytes_total,
                    "bytes_per_second": rate.round() as u64,
                    "eta_seconds": eta.map(|e| e.round() as u64),
                });
                super::print_stdout(&format!("{line}\n"));
            }
            _ => {
                let due = self.last_line.is_none_or(|t| t.elapsed() >= self.interval)
                    || p.batch != self.last_batch
                    || p.bytes_done == p.bytes_total;
                if !due {
                    return;
                }
                self.last_line = Some(Instant::now());
                self.last_batch = p.batch;
                let pct = if p.bytes_total == 0 {
                    100.0
                } else {
                    100.0 * p.bytes_done as f64 / p.bytes_total as f64
                };
                let dirs = if p.dir_moves_total > 0 {
                    format!(
                        ", {}/{} log-dir moves done ({} of {} copied inside brokers)",
                        p.dir_moves_done,
                        p.dir_moves_total,
                        human_bytes(p.dir_bytes_done),
                        human_bytes(p.dir_bytes_total)
                    )
                } else {
                    String::new()
                };
                eprintln!(
                    "batch {}/{}: {} of {} copied ({pct:.0}%), {}/{} partitions done{dirs}, {}/s, ETA {}",
                    p.batch,
                    p.batches,
                    human_bytes(p.bytes_done),
                    human_bytes(p.bytes_total),
                    p.partitions_done,
                    p.partitions_total,
                    human_bytes(rate as u64),
                    eta.map(|e| format!("{e:.0} s"))
                        .unwrap_or_else(|| "-".into())
                );
            }
        }
    }

    fn line(&mut self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None if self.mode == ProgressMode::Json => {
                let line = serde_json::json!({"event": "message", "text": text});
                super::print_stdout(&format!("{line}\n"));
            }
            None => eprintln!("{text}"),
        }
    }
}

impl Drop for CliReporter {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// A plan file with its explicit log directories (`log_dirs` entries other than `"any"`).
pub fn read_plan_with_dirs(path: &Path) -> Result<(Plan, DirTargets), CliError> {
    let name = path.display().to_string();
    let bytes = read_input(path)?;
    let text = decode_text(&name, &bytes).map_err(CliError::bad_input)?;
    let json = parse_reassignment_json(&name, text).map_err(CliError::bad_input)?;
    let plan = json.to_plan(&name).map_err(CliError::bad_input)?;
    Ok((plan, json.replica_log_dirs()))
}

/// Kafka's rollback JSON of a run: the replicas before it, and where the run moves a
/// replica between log dirs of a broker that had it, the directory it was in (so applying
/// the rollback also moves it back).
pub fn rollback_json(state: &JournalState) -> ReassignmentJson {
    let from: DirTargets = state
        .dir_moves
        .iter()
        .filter_map(|m| Some(((m.tp(), m.broker), m.from_dir.clone()?)))
        .collect();
    ReassignmentJson {
        entries: state
            .original_plan()
            .changes
            .into_iter()
            .map(|(tp, replicas)| ReassignmentEntry {
                log_dirs: replicas
                    .iter()
                    .map(|b| {
                        from.get(&(tp.clone(), *b))
                            .cloned()
                            .unwrap_or_else(|| ANY_LOG_DIR.to_string())
                    })
                    .collect(),
                tp,
                replicas,
            })
            .collect(),
    }
}

fn options(args: &ApplyArgs, throttle: u64) -> Result<ApplyOptions, CliError> {
    if !(args.poll_interval > 0.0 && args.poll_interval <= 3600.0) {
        return Err(CliError::bad_input(
            "--poll-interval must be above 0 and at most 3600 seconds",
        ));
    }
    Ok(ApplyOptions {
        throttle,
        limits: limits(
            &args.max_inflight_bytes_per_broker,
            args.max_moves_per_broker,
        )?,
        additional: args.additional,
        elect: !args.no_elect,
        poll_interval: Duration::from_secs_f64(args.poll_interval),
        broker_down_grace: Duration::from_secs(args.broker_down_grace),
        disallow_rf_change: args.disallow_replication_factor_change,
        log_dir_throttle: args
            .log_dir_throttle
            .as_deref()
            .map(|r| parse_rate("--log-dir-throttle", r))
            .transpose()?,
        ..ApplyOptions::default()
    })
}

fn failed(e: ApplyError) -> CliError {
    CliError::failed(e)
}

/// Moves an old, finished journal aside so a new run can start in the same directory.
fn archive_finished(dir: &Path) -> Result<(), CliError> {
    if !Journal::exists(dir) {
        return Ok(());
    }
    let old = Journal::open(dir).map_err(CliError::failed)?;
    match old.state.phase {
        Phase::Done | Phase::Cancelled => {
            let stamp = old.state.events.last().map(|e| e.unix_ms).unwrap_or(0);
            let to = dir.join(format!("journal-{stamp}.json"));
            std::fs::rename(Journal::path_in(dir), &to).map_err(|e| {
                CliError::failed(format!("{}: cannot archive: {e}", dir.display()))
            })
        }
        _ => Err(CliError::failed(format!(
            "{} holds an unfinished run ({}); continue it with `apply --resume --journal {0}`, roll it back with `cancel --journal {0}`, or use another --journal",
            dir.display(),
            old.state.summary_lines().get(1).cloned().unwrap_or_default()
        ))),
    }
}

/// Ctrl-C and SIGTERM set the stop flag (the run rolls its batch back and restores the
/// throttles); a second one exits at once, leaving the journal for `--resume`/`cancel`.
fn install_signal_handlers(runtime: &tokio::runtime::Runtime, stop: &StopFlag) {
    let flag = stop.clone();
    runtime.spawn(async move {
        #[cfg(unix)]
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        loop {
            #[cfg(unix)]
            {
                let term_recv = async {
                    match term.as_mut() {
                        Some(t) => {
                            t.recv().await;
                        }
                        None => std::future::pending::<()>().await,
                    }
                };
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term_recv => {}
                }
            }
            #[cfg(not(unix))]
            {
                let _ = tokio::signal::ctrl_c().await;
            }
            if flag.is_set() {
                eprintln!("second interrupt: exiting now; the journal has the run for `apply --resume` or `cancel`");
                std::process::exit(130);
            }
            eprintln!("interrupt: rolling back the running batch and restoring throttles (again to exit at once)");
            flag.stop();
        }
    });
}

fn summary_text(summary: &Summary, plan: &Plan, dirs: &DirTargets) -> String {
    let mut out = status_block(plan, &summary.status);
    if let Some(e) = &summary.election {
        for l in e.lines() {
            out.push_str(&l);
            out.push('\n');
        }
    }
    if !summary.dir_status.is_empty() {
        let targets: DirTargets = summary
            .dir_status
            .keys()
            .filter_map(|k| Some((k.clone(), dirs.get(k)?.clone())))
            .collect();
        for l in dir_lines(&targets, &summary.dir_status) {
            out.push_str(&l);
            out.push('\n');
        }
    }
    out.push_str(&format!(
        "applied: {} batches, {} copied in {:.1} s\n",
        summary.batches,
        human_bytes(summary.bytes),
        summary.seconds
    ));
    out
}

pub fn run_apply(args: ApplyArgs) -> CliResult {
    let planned = args.plan.as_deref().map(read_plan_with_dirs).transpose()?;
    let (plan, log_dirs) = match planned {
        Some((p, d)) => (Some(p), d),
        None => (None, DirTargets::new()),
    };
    let fingerprint = args.rollback.as_deref().map(read_plan).transpose()?;
    if !args.resume && !args.dry_run && fingerprint.is_none() && !args.no_fingerprint_check {
        return Err(CliError::bad_input(
            "apply checks that the cluster still has the replicas the plan was made from: give the plan's rollback JSON with --rollback FILE (written by `plan --rollback`), or --no-fingerprint-check to skip the check",
        ));
    }
    let c = args.connect.connect()?;
    let bootstrap = args
        .connect
        .bootstrap_server
        .clone()
        .or_else(|| c.admin.config().bootstrap_servers.clone())
        .unwrap_or_default();
    if args.resume {
        let mut journal = Journal::open(&args.journal).map_err(CliError::failed)?;
        if let Some(p) = &plan {
            if plan_digest_with_dirs(p, &log_dirs) != journal.state.plan_sha256 {
                return Err(CliError::bad_input(format!(
                    "{} is a run of a different plan than {}",
                    args.journal.display(),
                    args.plan
                        .as_deref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default()
                )));
            }
        }
        let throttle = match &args.throttle {
            Some(t) => parse_rate("--throttle", t)?,
            None => journal.state.throttle,
        };
        let mut opts = options(&args, throttle)?;
        match opts.log_dir_throttle {
            Some(t) => journal.state.log_dir_throttle = Some(t),
            None => opts.log_dir_throttle = journal.state.log_dir_throttle,
        }
        if journal.state.ledger.is_some()
            && journal.state.batch_active()
            && throttle != journal.state.throttle
        {
            eprintln!("note: the running batch keeps its throttle; --throttle applies from the next batch");
        }
        journal.state.throttle = throttle;
        let intro = journal.state.summary_lines();
        return run_journal(&c, &mut journal, &opts, &args, intro);
    }

    let Some(plan) = plan else {
        return Err(CliError::bad_input("--plan is required"));
    };
    let Some(throttle) = args.throttle.as_deref() else {
        return Err(CliError::bad_input("--throttle is required"));
    };
    let throttle = parse_rate("--throttle", throttle)?;
    let opts = options(&args, throttle)?;
    if !args.dry_run {
        archive_finished(&args.journal)?;
    }
    let prepared = c
        .runtime
        .block_on(prepare_with_dirs(
            &c.admin,
            &plan,
            &log_dirs,
            fingerprint.as_ref(),
            &opts,
            &bootstrap,
        ))
        .map_err(failed)?;
    if args.dry_run {
        super::print_stdout(&dry_run_text(&prepared, throttle, opts.log_dir_throttle));
        return Ok(EXIT_OK);
    }
    if !prepared.state.dir_moves.is_empty() && opts.log_dir_throttle.is_none() {
        eprintln!(
            "note: {} intra-broker (log dir) move(s) run without a log-dir throttle (give --log-dir-throttle RATE to limit the disk bandwidth they use)",
            prepared.state.dir_moves.len()
        );
    }
    // Like Kafka's --execute: the current assignment first, to keep for a rollback.
    let rollback_block = rollback_block(&rollback_json(&prepared.state));
    if args.progress == ProgressMode::Json {
        eprint!("{rollback_block}");
    } else {
        super::print_stdout(&rollback_block);
    }
    if !prepared.unchanged.is_empty() {
        eprintln!(
            "{} partition(s) already have their planned replicas",
            prepared.unchanged.len()
        );
    }
    let mut journal = Journal::create(&args.journal, prepared.state).map_err(CliError::failed)?;
    let intro = vec![format!(
        "journal: {} ({} batches, {} to copy at {}/s)",
        args.journal.display(),
        journal.state.batches.len(),
        human_bytes(journal.state.total_bytes()),
        human_bytes(throttle)
    )];
    run_journal(&c, &mut journal, &opts, &args, intro)
}

/// Runs the journal's plan with signal handling and progress, then prints the outcome.
fn run_journal(
    c: &Connected,
    journal: &mut Journal,
    opts: &ApplyOptions,
    args: &ApplyArgs,
    intro: Vec<String>,
) -> CliResult {
    let stop = StopFlag::default();
    install_signal_handlers(&c.runtime, &stop);
    let plan = journal.state.plan();
    let dirs = journal.state.log_dir_map();
    let mut reporter = CliReporter::new(args.progress, Duration::from_secs(args.progress_interval));
    for l in &intro {
        reporter.line(l);
    }
    let summary = c
        .runtime
        .block_on(run(&c.admin, journal, opts, &mut reporter, &stop))
        .map_err(failed)?;
    drop(reporter);
    finish(&summary, &plan, &dirs, args.progress)
}

fn finish(summary: &Summary, plan: &Plan, dirs: &DirTargets, mode: ProgressMode) -> CliResult {
    let text = summary_text(summary, plan, dirs);
    if mode == ProgressMode::Json {
        let line = serde_json::json!({
            "event": "done",
            "complete": summary.complete(),
            "batches": summary.batches,
            "bytes": summary.bytes,
            "seconds": summary.seconds,
            "not_elected": summary.election.as_ref().map(|e| e.failed.keys().map(|tp| tp.to_string()).collect::<Vec<_>>()).unwrap_or_default(),
        });
        super::print_stdout(&format!("{line}\n"));
        eprint!("{text}");
    } else {
        super::print_stdout(&text);
    }
    let elected_ok = summary
        .election
        .as_ref()
        .is_none_or(|e| e.failed.is_empty());
    let complete = summary.complete();
    if !complete {
        let not: Vec<String> = summary
            .status
            .iter()
            .filter(|(_, s)| **s != PartitionStatus::Completed)
            .map(|(tp, _)| tp.to_string())
            .chain(
                summary
                    .dir_status
                    .iter()
                    .filter(|(_, s)| !s.is_done())
                    .map(|((tp, b), _)| format!("{tp}-{b} (log dir)")),
            )
            .collect();
        eprintln!("not complete: {}", not.join(", "));
    }
    Ok(if complete && elected_ok {
        EXIT_OK
    } else {
        EXIT_FAILED
    })
}

fn dry_run_text(
    prepared: &kafka_replan::apply::executor::Prepared,
    throttle: u64,
    log_dir_throttle: Option<u64>,
) -> String {
    let mut out = String::new();
    let n = prepared.state.batches.len();
    for (i, b) in prepared.state.batches.iter().enumerate() {
        out.push_str(&format!(
            "batch {}/{n}: {} partitions, {}\n",
            i + 1,
            b.moves.len(),
            human_bytes(b.bytes())
        ));
        for m in &b.moves {
            out.push_str(&format!(
                "  {}: {} -> {} ({})\n",
                m.tp(),
                join_ids(&m.from),
                join_ids(&m.to),
                human_bytes(m.bytes)
            ));
        }
        let moves: Vec<_> = b
            .moves
            .iter()
            .map(|m| (m.tp(), m.from.clone(), m.to.clone()))
            .collect();
        let w = wanted_throttles(moves.iter().map(|(tp, f, t)| (tp, &f[..], &t[..])));
        if !w.brokers.is_empty() {
            out.push_str(&format!(
                "  throttle {}/s on brokers {}\n",
                human_bytes(throttle),
                join_ids(&w.brokers.iter().copied().collect::<Vec<_>>())
            ));
        }
        for (t, entries) in &w.leader {
            out.push_str(&format!(
                "  {t}: leader.replication.throttled.replicas += {}\n",
                entries.iter().cloned().collect::<Vec<_>>().join(",")
            ));
        }
        for (t, entries) in &w.follower {
            out.push_str(&format!(
                "  {t}: follower.replication.throttled.replicas += {}\n",
                entries.iter().cloned().collect::<Vec<_>>().join(",")
            ));
        }
        let dir_moves = prepared.state.batch_dir_moves(i);
        for m in &dir_moves {
            out.push_str(&format!(
                "  {} on broker {}: log dir {} -> {} ({}, inside the broker)\n",
                m.tp(),
                m.broker,
                m.from_dir.as_deref().unwrap_or("(new replica)"),
                m.dir,
                human_bytes(m.bytes)
            ));
        }
        if let Some(rate) = log_dir_throttle.filter(|_| !dir_moves.is_empty()) {
            let brokers: std::collections::BTreeSet<_> =
                dir_moves.iter().map(|m| m.broker).collect();
            out.push_str(&format!(
                "  log-dir throttle {}/s on brokers {}\n",
                human_bytes(rate),
                join_ids(&brokers.into_iter().collect::<Vec<_>>())
            ));
        }
    }
    if !prepared.unchanged.is_empty() {
        out.push_str(&format!(
            "{} partition(s) already have their planned replicas\n",
            prepared.unchanged.len()
        ));
    }
    out.push_str(&estimate_text(&prepared.schedule, throttle));
    if !prepared.state.dir_moves.is_empty() {
        // The estimate covers the inter-broker copies; intra-broker ones use local disk
        // bandwidth, limited by the log-dir throttle when one is given.
        let (_, bytes) = prepared.state.dir_bytes();
        out.push_str(&format!(
            "intra-broker:      {} log-dir moves, {} to copy inside brokers{}\n",
            prepared.state.dir_moves.len(),
            human_bytes(bytes),
            match log_dir_throttle {
                Some(t) => format!(" at {}/s per broker", human_bytes(t)),
                None => " (no log-dir throttle)".to_string(),
            }
        ));
    }
    out
}
