//! `kafka-replan generate`: a drop-in for `kafka-reassign-partitions --generate`.
//!
//! Same options, parsing rules and messages as Kafka's tool for these inputs (spec §A2,
//! §A8, §B1), same two-block stdout (§A3), but the proposal comes from the planner: only the
//! listed topics move, only onto the listed brokers, with the fewest moves that reach
//! balance. `--kafka-placement` runs Kafka's own algorithm instead, reproducibly (`--seed`).
//!
//! Kafka compatibility choices:
//! - Runtime errors are printed as Kafka prints them, `Error: <message>` on stdout (scripts
//!   capture stdout), and once more on stderr for people; usage errors go to stderr only.
//! - Exit codes follow this tool's convention (0 ok, 1 cannot be done, 2 bad input or
//!   usage) where Kafka exits 1 for every failure: a script testing for non-zero is served
//!   by both.
//! - Kafka drops `--broker-list` ids unknown to the cluster silently; we drop them too but
//!   say so on stderr.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use kafka_replan::formats::generate::{
    generate_output, parse_kafka_broker_list, parse_topics_to_move,
};
use kafka_replan::formats::reassignment::{ReassignmentEntry, ReassignmentJson, ANY_LOG_DIR};
use kafka_replan::formats::report;
use kafka_replan::model::{BrokerId, Cluster, TopicPartition};
use kafka_replan::plan::kafka_placement::{
    place_topic, JavaRandom, KafkaAlgorithm, PlacementBroker, MIXED_RACKS_MESSAGE,
};
use kafka_replan::plan::scope::effective_excluded;
use kafka_replan::plan::{plan, Infeasible, PlanConfig, PlanError};

use super::files::load_cluster;
use super::live::{read_cluster, LiveArgs};
use super::output::OutputSet;
use super::{read_input, CliError, CliResult, EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK};

/// `kafka-replan generate --help`.
pub const LONG_ABOUT: &str = "\
Drop-in for `kafka-reassign-partitions --generate`: the same topics-to-move JSON and
--broker-list, the same two blocks on stdout (\"Current partition replica assignment\" and
\"Proposed partition reassignment configuration\", each followed by one line of compact JSON),
so scripts that cut the proposal out and feed it to `--execute` keep working.

The proposal is the planner's: only the listed topics change, only onto the listed brokers
(a replica on a broker outside the list moves; brokers outside it receive nothing), with the
rack-spread and capacity rules, replica and leader counts balanced over the listed brokers
(counting the replicas of the topics not listed), and the fewest replica moves. Like Kafka's,
it lists every partition of the listed topics (unchanged ones cost nothing); --only-changes
lists only the changed ones. The plan report goes to stderr (or --report-json), never stdout.

--kafka-placement proposes Kafka's own layout instead (AdminUtils before 4.1, the
StripedReplicaPlacer from 4.1; see --kafka-version), reproducibly from --seed. Brokers are taken
in ascending id order where Kafka takes the cluster's response order, and topics in name order
from one random stream.

Errors are Kafka's messages, printed as Kafka prints them (`Error: <message>` on stdout) and on
stderr; exit codes are this tool's: 1 the plan cannot be made, 2 bad input or usage.

The cluster comes from a snapshot (--snapshot) or, like Kafka's tool, from the brokers
(--bootstrap-server, with --command-config for TLS/SASL); live, every topic is read so that
the unlisted ones count towards broker loads.

Example:
  kafka-replan generate --topics-to-move-json-file topics.json --broker-list 1,2,3 \\
      --bootstrap-server kafka1:9092 > out.txt
  sed -n '/^Proposed partition reassignment configuration$/{n;p;}' out.txt > plan.json";

/// The newest Kafka version whose `--generate` we reproduce (the default of
/// `--kafka-version`).
const NEWEST_KAFKA: &str = "4.2";

#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// JSON of the topics to move, as for Kafka: `{"topics":[{"topic":"foo"}],"version":1}`.
    #[arg(long, value_name = "FILE")]
    pub topics_to_move_json_file: Option<PathBuf>,
    /// Brokers that may hold the listed topics, e.g. `1,2,3` (Kafka's rules: no spaces; ids
    /// unknown to the cluster are ignored with a warning).
    #[arg(long, value_name = "IDS")]
    pub broker_list: Option<String>,
    /// Ignore racks: no rack-spread rule, and no error when only some brokers have a rack.
    #[arg(long)]
    pub disable_rack_aware: bool,
    #[command(flatten)]
    pub source: ClusterSource,
    /// Client properties for --bootstrap-server (`security.protocol`, `sasl.*`, PEM `ssl.*`).
    #[arg(long, value_name = "FILE", requires = "bootstrap_server")]
    pub command_config: Option<PathBuf>,
    /// Propose only the partitions that change (Kafka lists every partition of the topics).
    #[arg(long)]
    pub only_changes: bool,
    /// Write the plan report as JSON to this file (the text report goes to stderr).
    #[arg(long, value_name = "FILE")]
    pub report_json: Option<PathBuf>,
    /// Bytes on a broker may not exceed capacity × this (0 < U <= 1).
    #[arg(long, value_name = "U", default_value_t = 1.0)]
    pub max_disk_util: f64,
    /// Propose Kafka's own layout (its `--generate` algorithm) instead of the planner's:
    /// every listed topic laid out from scratch, reproducibly from `--seed`.
    #[arg(long)]
    pub kafka_placement: bool,
    /// Seed of the `java.util.Random` behind `--kafka-placement` (the planner itself uses no
    /// randomness).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub seed: i64,
    /// Kafka version whose `--generate` algorithm `--kafka-placement` reproduces: before 4.1
    /// AdminUtils, from 4.1 the StripedReplicaPlacer.
    #[arg(long, value_name = "X.Y", default_value = NEWEST_KAFKA, requires = "kafka_placement")]
    pub kafka_version: String,
    /// Do not print the report on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub kafka_only: KafkaOnlyOptions,
}

/// Where the cluster facts come from: exactly one source.
#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub struct ClusterSource {
    /// Cluster snapshot (`.json` or `.json.gz`; see `kafka-replan snapshot`).
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<PathBuf>,
    /// Read the cluster live from these brokers (`host:port[,host:port]`), as Kafka's tool.
    #[arg(long, value_name = "HOST:PORT[,HOST:PORT]")]
    pub bootstrap_server: Option<String>,
}

/// Options of `kafka-reassign-partitions` that Kafka refuses with `--generate`; accepted
/// here only to be refused with Kafka's message (scripts may check it).
#[derive(Args, Debug)]
pub struct KafkaOnlyOptions {
    #[arg(long, hide = true)]
    pub generate: bool,
    #[arg(long, hide = true)]
    pub execute: bool,
    #[arg(long, hide = true)]
    pub verify: bool,
    #[arg(long, hide = true)]
    pub cancel: bool,
    #[arg(long, hide = true)]
    pub list: bool,
    #[arg(long, hide = true, value_name = "FILE")]
    pub reassignment_json_file: Option<String>,
    #[arg(long, hide = true, allow_negative_numbers = true)]
    pub throttle: Option<String>,
    #[arg(long, hide = true, allow_negative_numbers = true)]
    pub replica_alter_log_dirs_throttle: Option<String>,
    #[arg(long, hide = true)]
    pub timeout: Option<String>,
    #[arg(long, hide = true)]
    pub additional: bool,
    #[arg(long, hide = true)]
    pub preserve_throttles: bool,
    #[arg(long, hide = true)]
    pub disallow_replication_factor_change: bool,
}

impl KafkaOnlyOptions {
    /// Kafka's usage error for the first refused option, in Kafka's check order.
    fn refusal(&self) -> Option<String> {
        if self.execute || self.verify || self.cancel || self.list {
            return Some(
                "Command must include exactly one action: --generate, --execute, --verify, --cancel, --list"
                    .into(),
            );
        }
        let refused = [
            (
                "reassignment-json-file",
                self.reassignment_json_file.is_some(),
            ),
            ("throttle", self.throttle.is_some()),
            (
                "replica-alter-log-dirs-throttle",
                self.replica_alter_log_dirs_throttle.is_some(),
            ),
            ("timeout", self.timeout.is_some()),
            ("additional", self.additional),
            ("preserve-throttles", self.preserve_throttles),
            (
                "disallow-replication-factor-change",
                self.disallow_replication_factor_change,
            ),
        ];
        refused.iter().find(|(_, given)| *given).map(|(name, _)| {
            format!("Option \"[{name}]\" can't be used with action \"[generate]\"")
        })
    }
}

fn usage(message: String) -> CliError {
    CliError::bad_input(format!(
        "{message}\n(see `kafka-replan generate --help` for the options)"
    ))
}

/// A failure printed the way Kafka's tool prints it: `Error: <message>` on stdout.
fn kafka_error(code: u8, message: impl std::fmt::Display) -> CliError {
    super::print_stdout(&format!("Error: {message}\n"));
    CliError {
        code,
        message: message.to_string(),
    }
}

pub fn run(args: GenerateArgs) -> CliResult {
    let started = Instant::now();
    if let Some(m) = args.kafka_only.refusal() {
        return Err(usage(m));
    }
    // Kafka checks the topics file first, then the broker list (spec §A8).
    let Some(topics_path) = &args.topics_to_move_json_file else {
        return Err(usage(
            "Missing required argument \"[topics-to-move-json-file]\"".into(),
        ));
    };
    let Some(broker_list) = &args.broker_list else {
        return Err(usage("Missing required argument \"[broker-list]\"".into()));
    };
    if !(args.max_disk_util > 0.0 && args.max_disk_util <= 1.0) {
        return Err(CliError::bad_input(format!(
            "--max-disk-util must be in (0, 1], got {}",
            args.max_disk_util
        )));
    }
    let algorithm = if args.kafka_placement {
        Some(parse_kafka_version(&args.kafka_version)?)
    } else {
        None
    };
    // Broker-list checks run before the topics JSON is parsed (spec §A2).
    let requested =
        parse_kafka_broker_list(broker_list).map_err(|m| kafka_error(EXIT_BAD_INPUT, m))?;
    let topics_bytes = read_input(topics_path)?;
    let topics_text = String::from_utf8_lossy(&topics_bytes);
    let topics = parse_topics_to_move(topics_text.trim_start_matches('\u{feff}'))
        .map_err(|m| kafka_error(EXIT_BAD_INPUT, m))?;

    let mut cluster = match (&args.source.snapshot, &args.source.bootstrap_server) {
        (Some(snapshot), _) => load_cluster(snapshot)?,
        (None, Some(bootstrap)) => {
            // The whole cluster is read: unlisted topics count towards broker loads.
            let live = LiveArgs {
                bootstrap_server: Some(bootstrap.clone()),
                command_config: args.command_config.clone(),
                topics: None,
                exclude_internal: false,
                sample_rates: None,
            };
            read_cluster(&live.resolve(None)?)?.cluster
        }
        (None, None) => {
            return Err(usage(
                "a cluster source (--snapshot or --bootstrap-server) is required".into(),
            ))
        }
    };

    // Unknown topics: Kafka's describeTopics failure, first missing topic in file order.
    let known: BTreeSet<&str> = cluster
        .partitions
        .iter()
        .map(|p| p.tp.topic.as_str())
        .collect();
    if let Some(missing) = topics.iter().find(|t| !known.contains(t.as_str())) {
        return Err(kafka_error(
            EXIT_BAD_INPUT,
            format!("Topic {missing} not found."),
        ));
    }
    // Brokers: the cluster's, filtered by the list; unknown ids dropped (spec §B1 step 2).
    let unknown: Vec<String> = requested
        .iter()
        .filter(|id| cluster.broker(**id).is_none())
        .map(|id| id.to_string())
        .collect();
    if !unknown.is_empty() {
        eprintln!(
            "warning: --broker-list: broker(s) {} not in the cluster; ignored, as Kafka does",
            unknown.join(",")
        );
    }
    let targets: BTreeSet<BrokerId> = requested
        .iter()
        .copied()
        .filter(|id| cluster.broker(*id).is_some())
        .collect();
    let with_rack = cluster
        .brokers
        .iter()
        .filter(|b| targets.contains(&b.id) && b.rack.is_some())
        .count();
    if !args.disable_rack_aware && with_rack > 0 && with_rack < targets.len() {
        return Err(kafka_error(EXIT_BAD_INPUT, MIXED_RACKS_MESSAGE));
    }
    if args.disable_rack_aware {
        // Kafka then treats every rack as absent; so does the planner's rack rule.
        for b in &mut cluster.brokers {
            b.rack = None;
        }
    }

    let listed: BTreeSet<String> = topics.iter().cloned().collect();
    let current = current_assignment(&cluster, &listed);
    let (proposed, report_text, report_json) = match algorithm {
        Some(alg) => (
            kafka_proposal(&cluster, &topics, &targets, alg, args.seed)?,
            None,
            None,
        ),
        None if listed.is_empty() => (ReassignmentJson::default(), None, None),
        None => {
            let config = PlanConfig {
                excluded: BTreeSet::new(),
                max_disk_util: args.max_disk_util,
                movable: Some(listed.clone()),
                target_brokers: Some(targets.clone()),
                ..PlanConfig::default()
            };
            let outcome = plan(&cluster, &config)
                .map_err(|e| kafka_error(EXIT_FAILED, describe_plan_error(&e)))?;
            let mut proposed = ReassignmentJson::default();
            for (p, reps) in cluster.partitions.iter().zip(&outcome.after.replicas) {
                if !listed.contains(&p.tp.topic) || (args.only_changes && *reps == p.replicas) {
                    continue;
                }
                proposed.entries.push(entry(p.tp.clone(), reps.clone()));
            }
            // The report marks the brokers outside the list as excluded: nothing may stay there.
            let report_config = PlanConfig {
                excluded: effective_excluded(&cluster, &config),
                ..config
            };
            let rep =
                report::PlanReport::new(&cluster, &report_config, &outcome, started.elapsed());
            (proposed, Some(rep.to_text()), Some(rep.to_json()))
        }
    };
    let proposed = if args.only_changes && algorithm.is_some() {
        only_changed(&cluster, proposed)
    } else {
        proposed
    };

    if let (Some(path), Some(json)) = (&args.report_json, report_json) {
        let mut out = OutputSet::default();
        out.add(path, json);
        out.commit()?;
    }
    super::print_stdout(&generate_output(&current, &proposed));
    if !args.quiet {
        if let Some(text) = report_text {
            eprint!("{text}");
        }
    }
    Ok(EXIT_OK)
}

/// The planner's refusal in this command's terms: the allowed brokers are those of
/// `--broker-list`, not the cluster minus exclusions.
fn describe_plan_error(e: &PlanError) -> String {
    let PlanError::Infeasible(list) = e else {
        return e.to_string();
    };
    let mut out = String::from("no plan satisfies the hard rules:");
    for (i, item) in list.iter().enumerate() {
        if i == 20 {
            out.push_str(&format!("\n  ... and {} more", list.len() - 20));
            break;
        }
        let line = match item {
            Infeasible::NoAllowedBrokers => {
                "no broker of --broker-list is in the cluster: nothing can hold the replicas"
                    .to_string()
            }
            Infeasible::NotEnoughBrokers { tp, rf, allowed } => format!(
                "{tp}: replication factor {rf} needs {rf} distinct brokers but --broker-list names only {allowed} broker(s) of the cluster"
            ),
            other => other.to_string(),
        };
        out.push_str("\n  ");
        out.push_str(&line);
    }
    out
}

fn parse_kafka_version(v: &str) -> Result<KafkaAlgorithm, CliError> {
    let mut parts = v.split('.');
    let major = parts.next().and_then(|s| s.parse::<u32>().ok());
    let minor = parts.next().and_then(|s| s.parse::<u32>().ok());
    let patch_ok = parts.all(|s| s.parse::<u32>().is_ok());
    match (major, minor, patch_ok) {
        (Some(major), Some(minor), true) => Ok(KafkaAlgorithm::for_version(major, minor)),
        _ => Err(CliError::bad_input(format!(
            "--kafka-version: '{v}' is not a version like 4.1 or 3.9.0"
        ))),
    }
}

fn entry(tp: TopicPartition, replicas: Vec<BrokerId>) -> ReassignmentEntry {
    let log_dirs = vec![ANY_LOG_DIR.to_string(); replicas.len()];
    ReassignmentEntry {
        tp,
        replicas,
        log_dirs,
    }
}

/// Every partition of the listed topics with its current replicas (log dirs `any`, the
/// form of Kafka ≤ 4.1: a snapshot does not know replica directories).
fn current_assignment(cluster: &Cluster, listed: &BTreeSet<String>) -> ReassignmentJson {
    ReassignmentJson {
        entries: cluster
            .partitions
            .iter()
            .filter(|p| listed.contains(&p.tp.topic))
            .map(|p| entry(p.tp.clone(), p.replicas.clone()))
            .collect(),
    }
}

fn only_changed(cluster: &Cluster, proposed: ReassignmentJson) -> ReassignmentJson {
    ReassignmentJson {
        entries: proposed
            .entries
            .into_iter()
            .filter(|e| {
                cluster
                    .partition_index(&e.tp)
                    .is_none_or(|i| cluster.partitions[i].replicas != e.replicas)
            })
            .collect(),
    }
}

/// Kafka's own layout (spec §B1): each topic from scratch over the listed brokers (cluster
/// order, i.e. ascending id), partition ids `0..n-1`, the replication factor of partition 0,
/// one random stream for the run with topics taken in name order.
fn kafka_proposal(
    cluster: &Cluster,
    topics: &[String],
    targets: &BTreeSet<BrokerId>,
    algorithm: KafkaAlgorithm,
    seed: i64,
) -> Result<ReassignmentJson, CliError> {
    let brokers: Vec<PlacementBroker> = cluster
        .brokers
        .iter()
        .filter(|b| targets.contains(&b.id))
        .map(|b| PlacementBroker {
            id: b.id,
            rack: b.rack.clone(),
        })
        .collect();
    let mut rnd = JavaRandom::new(seed);
    let mut sorted: Vec<&String> = topics.iter().collect();
    sorted.sort();
    let mut out = ReassignmentJson::default();
    for topic in sorted {
        let parts: Vec<_> = cluster
            .partitions
            .iter()
            .filter(|p| &p.tp.topic == topic)
            .collect();
        let rf = parts
            .iter()
            .find(|p| p.tp.partition == 0)
            .or(parts.first())
            .map(|p| p.replicas.len())
            .unwrap_or(0);
        if parts.iter().any(|p| p.replicas.len() != rf) {
            eprintln!(
                "warning: topic {topic}: partitions differ in replication factor; using {rf} (partition 0's), as Kafka picks one partition's"
            );
        }
        if parts
            .iter()
            .enumerate()
            .any(|(i, p)| usize::try_from(p.tp.partition).ok() != Some(i))
        {
            eprintln!(
                "warning: topic {topic}: partition ids are not 0..{}; Kafka proposes ids 0..{} anyway",
                parts.len().saturating_sub(1),
                parts.len().saturating_sub(1)
            );
        }
        let layout = place_topic(algorithm, &brokers, parts.len(), rf, &mut rnd)
            .map_err(|e| kafka_error(EXIT_FAILED, e))?;
        for (pid, reps) in layout.into_iter().enumerate() {
            let pid = i32::try_from(pid).map_err(|_| CliError::failed("too many partitions"))?;
            out.entries
                .push(entry(TopicPartition::new(topic.clone(), pid), reps));
        }
    }
    Ok(out)
}
