//! `kafka-replan plan`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use kafka_replan::formats::election::emit_election_json;
use kafka_replan::formats::html_report;
use kafka_replan::formats::join_ids;
use kafka_replan::formats::racks::{parse_byte_size, parse_capacity_spec};
use kafka_replan::formats::reassignment::plan_json_bytes;
use kafka_replan::formats::report;
use kafka_replan::formats::snapshot::write_snapshot;
use kafka_replan::model::{BrokerId, Cluster, TopicPartition};
use kafka_replan::plan::metrics::layout_stats;
use kafka_replan::plan::scenario::{
    add_brokers, parse_replacement, parse_rf_change, rack_brokers, replace_brokers,
    set_replication_factors,
};
use kafka_replan::plan::schedule::schedule;
use kafka_replan::plan::{fixed_outcome, plan, Balance, PlanConfig, PlanError};

use super::files::load_cluster;
use super::live::{read_cluster, LiveArgs};
use super::output::OutputSet;
use super::{parse_broker_list, CliError, CliResult, EXIT_OK};

#[derive(Args, Debug)]
pub struct PlanArgs {
    /// Cluster snapshot (`.json` or `.json.gz`; see `kafka-replan snapshot`). Or read the
    /// cluster live with --bootstrap-server.
    #[arg(long, value_name = "FILE", required_unless_present_any = ["bootstrap_server", "command_config"], conflicts_with_all = ["bootstrap_server", "command_config"])]
    pub snapshot: Option<PathBuf>,
    #[command(flatten)]
    pub live: LiveArgs,
    /// With a live cluster: disk capacity of brokers whose size Kafka does not report (before
    /// 3.3): one size for all (`4TB`) or per broker (`1=4TB,2=2TB`).
    #[arg(long, value_name = "SPEC", requires = "bootstrap_server")]
    pub broker_capacity: Option<String>,
    /// With a live cluster: also write the snapshot the plan was made from.
    #[arg(long, value_name = "FILE")]
    pub save_snapshot: Option<PathBuf>,
    /// Where to write the plan: Kafka's reassignment JSON, accepted by
    /// `kafka-reassign-partitions --execute` unchanged.
    #[arg(long, value_name = "FILE")]
    pub output: PathBuf,
    /// Also write the rollback plan (the changed partitions with their current replicas).
    #[arg(long, value_name = "FILE")]
    pub rollback: Option<PathBuf>,
    /// Also write `kafka-leader-election --path-to-json-file` JSON for the partitions whose
    /// preferred leader changes.
    #[arg(long, value_name = "FILE")]
    pub election: Option<PathBuf>,
    /// Also write the report as JSON.
    #[arg(long, value_name = "FILE")]
    pub report_json: Option<PathBuf>,
    /// Also write the report as one self-contained HTML page (inline CSS and SVG charts, no
    /// scripts, nothing fetched): summary, per-broker and per-rack before/after, moves by topic.
    #[arg(long, value_name = "FILE")]
    pub report_html: Option<PathBuf>,
    /// Brokers to empty (decommission), e.g. `4,5`.
    #[arg(long, value_name = "IDS")]
    pub exclude_brokers: Option<String>,
    /// Bytes on a broker may not exceed capacity × this (0 < U <= 1).
    #[arg(long, value_name = "U", default_value_t = 1.0)]
    pub max_disk_util: f64,
    /// Accepted for reproducibility; the planner is deterministic and uses no randomness,
    /// so the same input gives the same plan for any seed.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,
    /// Also estimate the execution time at this replication throttle (e.g. `50MB/s`), with
    /// the batches `apply`/`simulate` would use.
    #[arg(long, value_name = "RATE")]
    pub throttle: Option<String>,
    /// Batch limit for the estimate: inbound and outbound bytes per broker per batch.
    #[arg(long, value_name = "SIZE", default_value = "20GB")]
    pub max_inflight_bytes_per_broker: String,
    /// Plan around partitions with a reassignment in progress (from `--topics-describe` or a
    /// live snapshot) instead of refusing: they are left exactly as they are, counted at
    /// their target replicas (current minus removing), and listed nowhere in the plan.
    #[arg(long)]
    pub plan_around_in_flight: bool,
    /// What-if: add N hypothetical empty brokers (ids after the largest) before planning.
    #[arg(long, value_name = "N")]
    pub add_brokers: Option<usize>,
    /// Rack of the --add-brokers brokers (default: none).
    #[arg(long, value_name = "RACK", requires = "add_brokers")]
    pub rack: Option<String>,
    /// Disk capacity of the --add-brokers brokers (default: the capacity most brokers have).
    #[arg(long, value_name = "SIZE", requires = "add_brokers")]
    pub capacity: Option<String>,
    /// What-if: empty every broker of this rack (like --exclude-brokers with its brokers).
    #[arg(long, value_name = "RACK")]
    pub drain_rack: Option<String>,
    /// Broker replacement (repeatable): every replica of broker FROM moves to broker TO in
    /// the same position of its replica list; the plan is exactly that mapping and nothing
    /// else is rebalanced. TO may be a hypothetical broker from --add-brokers.
    #[arg(long, value_name = "FROM=TO", conflicts_with_all = ["exclude_brokers", "drain_rack", "plan_around_in_flight", "max_moves", "max_leader_changes", "tradeoff"])]
    pub replace: Vec<String>,
    /// Allow --replace onto a broker in another rack (the rack rule is then reported, not
    /// enforced).
    #[arg(long, requires = "replace")]
    pub force_rack_change: bool,
    /// Budget: at most N replica moves. The plan is re-optimised under the budget (the
    /// tightest balance reachable with that many moves), never a cut-down full plan.
    #[arg(long, value_name = "N")]
    pub max_moves: Option<usize>,
    /// What to balance: `count` (replica and leader counts per broker, exact, fewest moves),
    /// `count+bytes` (the same counts, then disk use evened out by count-preserving replica
    /// swaps, at the cost of extra moves) or `bytes` (disk use first: every broker within
    /// --disk-tolerance of its share, fewest bytes copied; replica counts not balanced).
    #[arg(long, value_enum, default_value = "count")]
    pub balance: BalanceArg,
    /// `--balance bytes`: how far above its share of the bytes a broker may end, as a
    /// fraction or a percentage (0.005 or 0.5%; default 0.5%).
    #[arg(long, value_name = "TOLERANCE", value_parser = parse_tolerance)]
    pub disk_tolerance: Option<f64>,
    /// Budget: at most SIZE bytes copied (e.g. 2TB). With `--balance bytes` the disk
    /// tolerance is loosened to the tightest one whose plan fits; with the count modes the
    /// count band is widened until its move-minimal layout fits.
    #[arg(long, value_name = "SIZE", value_parser = parse_byte_size_arg)]
    pub max_bytes: Option<u64>,
    /// Also spread each topic's replicas evenly over the allowed brokers (lowers the largest
    /// per-topic max − min replicas per broker) by replica swaps that keep every broker's
    /// replica count and the rack and capacity rules. Costs extra moves (4–11 % more on the
    /// bench's medium snapshots; within --max-moves when given) and planning time (8–11 ×
    /// on 40,000–200,000 partitions). `count+bytes` runs after it and does not look at
    /// topics, so it gives back part of the gain.
    #[arg(long)]
    pub topic_spread: bool,
    /// Budget: at most N preferred-leader changes (partitions whose first replica changes);
    /// the leaders are balanced as well as that allows.
    #[arg(long, value_name = "N")]
    pub max_leader_changes: Option<usize>,
    /// With partition rates (`--rates`, `--sample-rates` or a snapshot that has them), the
    /// count modes also even out leader traffic by exchanging leadership at unchanged leader
    /// counts; this keeps leaders by count alone, with the fewest leader changes.
    #[arg(long)]
    pub leaders_by_count: bool,
    /// Also plan under budgets of 0, 10, 25, 50 and 75 % of the full plan's moves and print
    /// (and write to FILE as JSON) what balance each reaches.
    #[arg(long, value_name = "FILE")]
    pub tradeoff: Option<PathBuf>,
    /// Set the replication factor of the topics whose whole name matches TOPIC_REGEX
    /// (repeatable): new replicas are placed rack-aware by the flow with the fewest moves
    /// and the cluster balanced around them; lowering drops out-of-sync replicas first, then
    /// those in a partition's most crowded rack and on the most loaded brokers, never the
    /// leader while another can go.
    #[arg(long, value_name = "TOPIC_REGEX=N", conflicts_with_all = ["replace", "max_moves", "max_leader_changes", "tradeoff", "plan_around_in_flight"])]
    pub set_replication_factor: Vec<String>,
    /// Solve the capacity-constrained plan exactly (a MILP: fewest moves with the count band,
    /// racks, exclusions and disk limits) and use its layout when it proves fewer moves than
    /// the flow + capacity repair; otherwise the plan is kept and the LP bound and gap are
    /// printed. Small clusters only with the default solver (docs/exactness.md).
    #[arg(long)]
    pub exact: bool,
    /// Time limit per LP / MILP solve, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10.0, value_parser = parse_time_limit)]
    pub time_limit: f64,
    /// JBOD (where brokers' log dirs are known): how much fuller, by usage fraction, a
    /// broker's fullest log dir may end than its emptiest, as a fraction or a percentage
    /// (0.05 or 5%: max/min ≤ 1.05; default 5%).
    #[arg(long, value_name = "TOLERANCE", value_parser = parse_tolerance)]
    pub log_dir_tolerance: Option<f64>,
    /// JBOD: empty the log dir PATH of broker BROKER (a failing disk; repeatable): its
    /// replicas move to the broker's other dirs where they fit, the rest to other brokers.
    #[arg(long, value_name = "BROKER:PATH")]
    pub drain_log_dir: Vec<String>,
    /// Partition rates in bytes per second, replacing the snapshot's: CSV with the header
    /// `topic,partition,bytes_in,bytes_out` or JSON `[{"topic", "partition", "bytes_in",
    /// "bytes_out"}]` (docs/traffic.md says how to export them from Prometheus).
    #[arg(long, value_name = "FILE")]
    pub rates: Option<PathBuf>,
    /// `--balance load`: how far above the mean a broker's network in, network out and leader
    /// bytes-in may end, as a fraction or a percentage (default 10%).
    #[arg(long, value_name = "TOLERANCE", value_parser = parse_tolerance)]
    pub load_tolerance: Option<f64>,
    /// `--balance load`: network-in limit of the brokers, a hard rule: one rate for all
    /// (`125MB/s`), per broker (`1=125MB/s,2=250MB/s`) or a default with overrides.
    #[arg(long, value_name = "RATE|ID=RATE,...")]
    pub network_in_capacity: Option<String>,
    /// `--balance load`: network-out limit of the brokers, as --network-in-capacity.
    #[arg(long, value_name = "RATE|ID=RATE,...")]
    pub network_out_capacity: Option<String>,
    /// `--balance load`: a broker's traffic may not exceed its network capacity × this
    /// (0 < U <= 1; default 0.8).
    #[arg(long, value_name = "U")]
    pub max_network_util: Option<f64>,
    /// Do not print the report on stdout.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `BROKER:PATH` of `--drain-log-dir`.
fn parse_drain(s: &str) -> Result<(BrokerId, String), CliError> {
    let (b, path) = s.split_once(':').ok_or_else(|| {
        CliError::bad_input(format!(
            "--drain-log-dir {s:?}: expected BROKER:PATH (e.g. 3:/data/d2)"
        ))
    })?;
    let broker = b.trim().parse::<BrokerId>().map_err(|_| {
        CliError::bad_input(format!("--drain-log-dir {s:?}: {b:?} is not a broker id"))
    })?;
    if path.is_empty() {
        return Err(CliError::bad_input(format!(
            "--drain-log-dir {s:?}: the path is empty"
        )));
    }
    Ok((broker, path.to_string()))
}

/// The reassignment JSON of a log-dir-aware plan (entries with their dirs, `"any"` where the
/// plan does not fix one).
fn dir_plan_json_bytes(
    entries: &BTreeMap<TopicPartition, kafka_replan::plan::log_dirs::DirEntry>,
) -> Vec<u8> {
    use kafka_replan::formats::reassignment::{
        emit_reassignment_json, ReassignmentEntry, ReassignmentJson, ANY_LOG_DIR,
    };
    let json = ReassignmentJson {
        entries: entries
            .iter()
            .map(|(tp, e)| ReassignmentEntry {
                tp: tp.clone(),
                replicas: e.replicas.clone(),
                log_dirs: e
                    .log_dirs
                    .iter()
                    .map(|d| d.clone().unwrap_or_else(|| ANY_LOG_DIR.to_string()))
                    .collect(),
            })
            .collect(),
    };
    let mut s = emit_reassignment_json(&json);
    s.push('\n');
    s.into_bytes()
}

/// A non-negative, finite number of seconds.
fn parse_time_limit(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("{s:?} is not a number of seconds (0 or more)")),
    }
}

pub fn excluded_set(cluster: &Cluster, flag: Option<&str>) -> Result<BTreeSet<BrokerId>, CliError> {
    let ids = match flag {
        Some(s) => parse_broker_list("--exclude-brokers", s)?,
        None => Vec::new(),
    };
    let mut set = BTreeSet::new();
    let mut unknown = Vec::new();
    for id in ids {
        if cluster.broker(id).is_none() {
            unknown.push(id);
        }
        set.insert(id);
    }
    if !unknown.is_empty() {
        return Err(CliError::bad_input(format!(
            "--exclude-brokers: broker(s) {} not in the cluster (known: {})",
            join_ids(&unknown),
            join_ids(&cluster.broker_ids())
        )));
    }
    Ok(set)
}

/// Partitions with a reassignment in progress. Without `plan_around`, their presence is an
/// error (a new target would replace the running move and drop half-copied replicas, see
/// KIP-455): the message lists them. With it, each is set to its target replicas (current
/// minus removing) and returned, to be frozen.
pub fn in_flight_partitions(
    cluster: &mut Cluster,
    plan_around: bool,
) -> Result<BTreeSet<TopicPartition>, CliError> {
    let mut found = BTreeSet::new();
    let mut listed = Vec::new();
    for p in cluster.partitions.iter_mut() {
        let Some(f) = &p.in_flight else { continue };
        if f.adding.is_empty() && f.removing.is_empty() {
            continue;
        }
        listed.push(format!(
            "{} (adding {}, removing {})",
            p.tp,
            join_ids(&f.adding),
            join_ids(&f.removing)
        ));
        found.insert(p.tp.clone());
        if plan_around {
            let removing = f.removing.clone();
            if !p.log_dirs.is_empty() {
                // Keep the dirs index-aligned with the replicas that stay.
                p.log_dirs = p
                    .replicas
                    .iter()
                    .zip(std::mem::take(&mut p.log_dirs))
                    .filter(|(b, _)| !removing.contains(b))
                    .map(|(_, d)| d)
                    .collect();
            }
            p.replicas.retain(|b| !removing.contains(b));
        }
    }
    if !found.is_empty() && !plan_around {
        let shown: Vec<&String> = listed.iter().take(20).collect();
        return Err(CliError::failed(format!(
            "{} partition(s) have a reassignment in progress: {}{}; wait for it to finish \
             (kafka-reassign-partitions --verify), cancel it, or pass --plan-around-in-flight \
             to leave them as they are",
            found.len(),
            shown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            if listed.len() > 20 { ", ..." } else { "" }
        )));
    }
    if !found.is_empty() {
        eprintln!(
            "note: {} partition(s) with a reassignment in progress are left as they are (counted at their target replicas)",
            found.len()
        );
    }
    Ok(found)
}

pub fn run(args: PlanArgs) -> CliResult {
    let started = Instant::now();
    let mut clock = kafka_replan::plan::timings::StageClock::start();
    if !(args.max_disk_util > 0.0 && args.max_disk_util <= 1.0) {
        return Err(CliError::bad_input(format!(
            "--max-disk-util must be in (0, 1], got {}",
            args.max_disk_util
        )));
    }
    let throttle = match &args.throttle {
        Some(t) => Some(super::estimate::parse_rate("--throttle", t)?),
        None => None,
    };
    let limits = super::estimate::limits(&args.max_inflight_bytes_per_broker, None)?;
    let mut cluster = match &args.snapshot {
        Some(path) => load_cluster(path)?,
        None => {
            let capacity = match &args.broker_capacity {
                Some(s) => Some(
                    parse_capacity_spec(s)
                        .map_err(|m| CliError::bad_input(format!("--broker-capacity: {m}")))?,
                ),
                None => None,
            };
            let live = args.live.resolve(capacity.as_ref())?;
            read_cluster(&live)?.cluster
        }
    };
    if let Some(path) = &args.rates {
        super::load_args::apply_rates_file(path, &mut cluster)?;
    }
    clock.lap("read+parse+validate");
    if args.balance == BalanceArg::Load {
        reject_with_load(&args)?;
    }
    let load = super::load_args::load_config(
        &super::load_args::LoadOptions {
            load_mode: args.balance == BalanceArg::Load,
            tolerance: args.load_tolerance,
            network_in_capacity: args.network_in_capacity.as_deref(),
            network_out_capacity: args.network_out_capacity.as_deref(),
            max_network_util: args.max_network_util,
        },
        &cluster,
    )?;
    let mut excluded = excluded_set(&cluster, args.exclude_brokers.as_deref())?;
    let mut notes = Vec::new();
    if let Some(rack) = &args.drain_rack {
        let ids = rack_brokers(&cluster, rack)
            .map_err(|m| CliError::bad_input(format!("--drain-rack: {m}")))?;
        notes.push(format!("draining rack {rack}: brokers {}", join_ids(&ids)));
        excluded.extend(ids);
    }
    if let Some(n) = args.add_brokers {
        if n == 0 {
            return Err(CliError::bad_input("--add-brokers must be at least 1"));
        }
        let capacity = match &args.capacity {
            Some(s) => Some(
                parse_byte_size(s).map_err(|m| CliError::bad_input(format!("--capacity: {m}")))?,
            ),
            None => None,
        };
        let ids = add_brokers(&mut cluster, n, args.rack.as_deref(), capacity);
        notes.push(format!(
            "hypothetical brokers {} added{}: the plan can only be executed once they exist",
            join_ids(&ids),
            args.rack
                .as_deref()
                .map(|r| format!(" in rack {r}"))
                .unwrap_or_default()
        ));
    }
    if args.disk_tolerance.is_some() && args.balance != BalanceArg::Bytes {
        return Err(CliError::bad_input(
            "--disk-tolerance applies to --balance bytes only",
        ));
    }
    if args.topic_spread && args.balance == BalanceArg::Bytes {
        return Err(CliError::bad_input(
            "--topic-spread keeps replica counts, not disk use: it cannot be combined with --balance bytes",
        ));
    }
    let drain_log_dirs = args
        .drain_log_dir
        .iter()
        .map(|s| parse_drain(s))
        .collect::<Result<BTreeSet<_>, _>>()?;
    if cluster.has_log_dirs() && args.exact {
        return Err(CliError::bad_input(
            "--exact does not model log dirs (JBOD): plan without --exact, or from a snapshot without log_dirs",
        ));
    }
    if !drain_log_dirs.is_empty()
        && (!args.replace.is_empty() || !args.set_replication_factor.is_empty())
    {
        return Err(CliError::bad_input(
            "--drain-log-dir cannot be combined with --replace or --set-replication-factor",
        ));
    }
    let frozen = in_flight_partitions(&mut cluster, args.plan_around_in_flight)?;
    let mut config = PlanConfig {
        excluded,
        max_disk_util: args.max_disk_util,
        frozen: frozen.clone(),
        max_moves: args.max_moves,
        max_bytes: args.max_bytes,
        max_leader_changes: args.max_leader_changes,
        level_leader_traffic: !args.leaders_by_count,
        balance: match args.balance {
            BalanceArg::Count => Balance::Count,
            BalanceArg::CountBytes => Balance::CountBytes,
            BalanceArg::Bytes => Balance::Bytes,
            BalanceArg::Load => Balance::Load,
        },
        disk_tolerance: args
            .disk_tolerance
            .unwrap_or(kafka_replan::plan::DEFAULT_DISK_TOLERANCE),
        topic_spread: args.topic_spread,
        log_dir_tolerance: args
            .log_dir_tolerance
            .unwrap_or(kafka_replan::plan::log_dirs::DEFAULT_LOG_DIR_TOLERANCE),
        drain_log_dirs,
        load,
        ..PlanConfig::default()
    };
    if let Err(problems) = kafka_replan::plan::log_dirs::check_drains(&cluster, &config) {
        return Err(CliError::bad_input(format!(
            "--drain-log-dir: {}",
            problems.join("; ")
        )));
    }
    let outcome = if !args.set_replication_factor.is_empty() {
        let targets = args
            .set_replication_factor
            .iter()
            .map(|s| parse_rf_change(s))
            .collect::<Result<Vec<_>, _>>()
            .map_err(CliError::bad_input)?;
        let prepared = set_replication_factors(&cluster, &targets).map_err(CliError::bad_input)?;
        let mut with_stand_ins = config.clone();
        with_stand_ins
            .excluded
            .extend(prepared.stand_ins.iter().copied());
        let planned = plan(&prepared.cluster, &with_stand_ins).map_err(CliError::failed)?;
        let raised = prepared.changed.values().filter(|(a, b)| b > a).count();
        let description = format!(
            "replication factor changed for {} partitions ({raised} raised, {} lowered); new replicas placed and the cluster balanced by the flow ({} moves for the new replicas and the balance)",
            prepared.changed.len(),
            prepared.changed.len() - raised,
            planned.moves
        );
        notes.push(description.clone());
        let after = kafka_replan::model::Layout {
            replicas: planned.after.replicas,
        };
        fixed_outcome(
            &cluster,
            after,
            &config.excluded,
            args.max_disk_util,
            false,
            &prepared.changed,
            description,
        )
        .map_err(CliError::failed)?
    } else if args.replace.is_empty() {
        plan(&cluster, &config).map_err(CliError::failed)?
    } else {
        let pairs = args
            .replace
            .iter()
            .map(|s| parse_replacement(s))
            .collect::<Result<Vec<_>, _>>()
            .map_err(CliError::bad_input)?;
        let after = replace_brokers(&cluster, &pairs, args.force_rack_change)
            .map_err(|e| CliError::bad_input(e.join("\n")))?;
        let description = format!(
            "broker replacement {} (given, not optimised)",
            pairs
                .iter()
                .map(|(f, t)| format!("{f} -> {t}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        notes.push(description.clone());
        config.excluded = pairs.iter().map(|(f, _)| *f).collect();
        fixed_outcome(
            &cluster,
            after,
            &config.excluded,
            args.max_disk_util,
            args.force_rack_change,
            &BTreeMap::new(),
            description,
        )
        .map_err(CliError::failed)?
    };
    // What the LP / MILP models prove about the plan (and, with --exact, a proven better
    // layout in its place).
    let (outcome, proof) = kafka_replan::plan::exact::prove(
        &cluster,
        &config,
        outcome,
        &kafka_replan::plan::exact::ProveOptions {
            exact: args.exact,
            time_limit_secs: args.time_limit,
        },
    )
    .map_err(CliError::failed)?;
    let tradeoff = match &args.tradeoff {
        Some(_) => Some(tradeoff_curve(&cluster, &config, &outcome)?),
        None => None,
    };
    clock.lap("plan+tradeoff");
    let mut out = OutputSet::default();
    match &outcome.log_dirs {
        Some(dirs) => out.add(&args.output, dir_plan_json_bytes(&dirs.plan)),
        None => out.add(&args.output, plan_json_bytes(&outcome.plan)),
    }
    if let (Some(p), Some(t)) = (&args.tradeoff, &tradeoff) {
        let mut text = serde_json::to_string_pretty(&t.to_json()).unwrap_or_default();
        text.push('\n');
        out.add(p, text);
    }
    if let Some(p) = &args.save_snapshot {
        out.add(p, write_snapshot(&cluster));
    }
    if let Some(p) = &args.rollback {
        match &outcome.log_dirs {
            Some(dirs) => out.add(p, dir_plan_json_bytes(&dirs.rollback)),
            None => out.add(p, plan_json_bytes(&outcome.rollback)),
        }
    }
    if let Some(p) = &args.election {
        let mut text = emit_election_json(&outcome.election);
        text.push('\n');
        out.add(p, text);
    }
    let mut rep = report::PlanReport::new(&cluster, &config, &outcome, started.elapsed());
    rep.add_proof(&proof, outcome.bytes_moved);
    if let Some(p) = &args.report_json {
        out.add(p, rep.to_json());
    }
    if let Some(p) = &args.report_html {
        let curve = tradeoff.as_ref().map(Tradeoff::to_json);
        out.add(
            p,
            html_report::render_html(&rep, &cluster, &outcome, curve.as_ref()),
        );
    }
    clock.lap("report+render");
    out.commit()?;
    clock.lap("write");
    if !args.quiet {
        let mut text = String::new();
        for n in &notes {
            text.push_str(&format!("scenario: {n}\n"));
        }
        text.push_str(&rep.to_text());
        if let Some(t) = throttle {
            let s = schedule(&cluster, &outcome.plan, &limits);
            text.push_str(&super::estimate::estimate_text(&s, t));
        }
        if let Some(t) = &tradeoff {
            text.push_str(&t.to_text());
        }
        super::print_stdout(&text);
    }
    Ok(EXIT_OK)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BalanceArg {
    Count,
    #[value(name = "count+bytes")]
    CountBytes,
    Bytes,
    Load,
}

/// Options `--balance load` does not take (it plans whole clusters, without budgets).
fn reject_with_load(args: &PlanArgs) -> Result<(), CliError> {
    let given: Vec<&str> = [
        (args.max_moves.is_some(), "--max-moves"),
        (args.max_bytes.is_some(), "--max-bytes"),
        (args.max_leader_changes.is_some(), "--max-leader-changes"),
        (args.topic_spread, "--topic-spread"),
        (args.tradeoff.is_some(), "--tradeoff"),
        (args.exact, "--exact"),
        (args.plan_around_in_flight, "--plan-around-in-flight"),
        (!args.replace.is_empty(), "--replace"),
        (
            !args.set_replication_factor.is_empty(),
            "--set-replication-factor",
        ),
        (args.disk_tolerance.is_some(), "--disk-tolerance"),
        (args.leaders_by_count, "--leaders-by-count"),
    ]
    .into_iter()
    .filter_map(|(on, flag)| on.then_some(flag))
    .collect();
    if given.is_empty() {
        Ok(())
    } else {
        Err(CliError::bad_input(format!(
            "--balance load cannot be combined with {} (it balances network traffic of the whole cluster, without budgets)",
            given.join(", ")
        )))
    }
}

/// `0.005`, `0.5%`: a non-negative fraction below 1.
fn parse_tolerance(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let value = match t.strip_suffix('%') {
        Some(pct) => pct.trim().parse::<f64>().map(|v| v / 100.0),
        None => t.parse::<f64>(),
    }
    .map_err(|_| format!("{s:?} is not a fraction (0.005) or a percentage (0.5%)"))?;
    if !(0.0..1.0).contains(&value) {
        return Err(format!("{s:?} must be at least 0 and below 100%"));
    }
    Ok(value)
}

fn parse_byte_size_arg(s: &str) -> Result<u64, String> {
    parse_byte_size(s)
}

/// One point of the budget trade-off curve.
#[derive(Debug, Clone)]
pub struct TradeoffPoint {
    pub budget: TradeoffBudget,
    /// `None` when the hard rules alone need more than the budget.
    pub result: Option<TradeoffResult>,
}

/// The budget of one point: moves (count modes) or bytes (`--balance bytes`).
#[derive(Debug, Clone, Copy)]
pub enum TradeoffBudget {
    Moves(usize),
    Bytes(u64),
}

#[derive(Debug, Clone)]
pub struct TradeoffResult {
    pub moves: usize,
    pub bytes: u64,
    pub replica_spread: usize,
    pub leader_spread: usize,
    pub disk_max_mean: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct Tradeoff {
    pub full_moves: usize,
    pub full_bytes: u64,
    pub points: Vec<TradeoffPoint>,
}

impl Tradeoff {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "full_balance_moves": self.full_moves,
            "full_balance_bytes": self.full_bytes,
            "points": self.points.iter().map(|p| {
                let mut point = match p.budget {
                    TradeoffBudget::Moves(m) => serde_json::json!({"budget_moves": m}),
                    TradeoffBudget::Bytes(b) => serde_json::json!({"budget_bytes": b}),
                };
                if let Some(obj) = point.as_object_mut() {
                    match &p.result {
                        Some(r) => {
                            obj.insert("moves".into(), r.moves.into());
                            obj.insert("bytes_moved".into(), r.bytes.into());
                            obj.insert("replica_spread".into(), r.replica_spread.into());
                            obj.insert("leader_spread".into(), r.leader_spread.into());
                            obj.insert("disk_max_mean_ratio".into(), r.disk_max_mean.into());
                        }
                        None => {
                            obj.insert("feasible".into(), false.into());
                        }
                    }
                }
                point
            }).collect::<Vec<_>>(),
        })
    }

    pub fn to_text(&self) -> String {
        let mut t = format!(
            "trade-off (budget -> balance; the full balance needs {} moves, {}):\n  {:>10}    moves         bytes  replica spread  leader spread  disk max/mean\n",
            self.full_moves,
            report::human_bytes(self.full_bytes),
            "budget"
        );
        for p in &self.points {
            let budget = match p.budget {
                TradeoffBudget::Moves(m) => m.to_string(),
                TradeoffBudget::Bytes(b) => report::human_bytes(b),
            };
            match &p.result {
                Some(r) => t.push_str(&format!(
                    "  {:>10} {:>8} {:>13} {:>15} {:>14} {:>14}\n",
                    budget,
                    r.moves,
                    report::human_bytes(r.bytes),
                    r.replica_spread,
                    r.leader_spread,
                    r.disk_max_mean
                        .map(|x| format!("{x:.3}"))
                        .unwrap_or_else(|| "-".into())
                )),
                None => t.push_str(&format!(
                    "  {budget:>10}  below what the hard rules force\n"
                )),
            }
        }
        t
    }
}

/// Plans again under budgets of 0, 10, 25, 50, 75 and 100 % of the full plan's moves (count
/// modes) or bytes (`--balance bytes`).
fn tradeoff_curve(
    cluster: &Cluster,
    config: &PlanConfig,
    outcome: &kafka_replan::plan::PlanOutcome,
) -> Result<Tradeoff, CliError> {
    let (full_moves, full_bytes) = match (&outcome.budget, &outcome.disk_balance) {
        (Some(b), _) => (b.full_moves, b.full_bytes),
        (None, Some(d)) => (d.full_moves, d.full_bytes),
        (None, None) => (outcome.moves, outcome.bytes_moved),
    };
    let by_bytes = config.balance == Balance::Bytes;
    let mut budgets: Vec<TradeoffBudget> = Vec::new();
    for f in [0.0, 0.1, 0.25, 0.5, 0.75, 1.0] {
        let b = if by_bytes {
            TradeoffBudget::Bytes((full_bytes as f64 * f).round() as u64)
        } else {
            TradeoffBudget::Moves((full_moves as f64 * f).round() as usize)
        };
        let same = |x: &TradeoffBudget| match (x, &b) {
            (TradeoffBudget::Moves(x), TradeoffBudget::Moves(y)) => x == y,
            (TradeoffBudget::Bytes(x), TradeoffBudget::Bytes(y)) => x == y,
            _ => false,
        };
        if !budgets.last().is_some_and(same) {
            budgets.push(b);
        }
    }
    let mut points = Vec::new();
    for budget in budgets {
        let cfg = match budget {
            TradeoffBudget::Moves(m) => PlanConfig {
                max_moves: Some(m),
                max_bytes: None,
                ..config.clone()
            },
            TradeoffBudget::Bytes(b) => PlanConfig {
                max_moves: None,
                max_bytes: Some(b),
                ..config.clone()
            },
        };
        let result = match plan(cluster, &cfg) {
            Ok(o) => {
                // The scorer's definitions, as in the report.
                let stats = layout_stats(cluster, &o.after, &config.excluded);
                Some(TradeoffResult {
                    moves: o.moves,
                    bytes: o.bytes_moved,
                    replica_spread: stats.replicas_spread,
                    leader_spread: stats.leaders_spread,
                    disk_max_mean: stats.disk_max_mean_ratio,
                })
            }
            Err(PlanError::Infeasible(_)) => None,
            Err(e) => return Err(CliError::failed(e)),
        };
        points.push(TradeoffPoint { budget, result });
    }
    Ok(Tradeoff {
        full_moves,
        full_bytes,
        points,
    })
}
