//! `kafka-replan snapshot`: write a cluster snapshot from files Kafka's tools produce.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::Args;

use kafka_replan::formats::kafka_files::{cluster_from_kafka_files, KafkaFiles, SourceText};
use kafka_replan::formats::racks::{parse_capacity_spec, CapacitySpec};
use kafka_replan::formats::snapshot::write_snapshot;
use kafka_replan::formats::{decode_text, maybe_gunzip};
use kafka_replan::model::Cluster;

use super::live::{read_cluster, LiveArgs, LiveConfig};
use super::output::OutputSet;
use super::{read_input, CliError, CliResult, EXIT_OK};

/// The long help of `snapshot` (the variant's doc comment gives the one-line summary).
pub const LONG_ABOUT: &str =
    "Write a cluster snapshot (the input of `plan`) from files Kafka's own tools \
produce. The current assignment comes from --reassignment-json and/or --topics-describe (at \
least one; if both are given their replica lists must agree). --broker-racks defines the \
brokers: a listed broker without replicas is a new, empty broker; a replica on an unlisted \
broker is an error.\n\nPartition size = the largest size reported by --log-dirs for any \
non-future replica of the partition (future replicas are partial copies of an intra-broker \
move). Without --log-dirs every size is 0. Without --broker-capacity capacity checks are off.";

#[derive(Args, Debug)]
pub struct SnapshotArgs {
    /// Current assignment as reassignment JSON (e.g. the "Current partition replica
    /// assignment" JSON of `kafka-reassign-partitions --generate`, or its whole output).
    #[arg(long, value_name = "CURRENT.json")]
    pub reassignment_json: Option<PathBuf>,
    /// Broker/rack list (required): lines `id rack` (a line with only `id` = broker without
    /// rack; `#` comments) or `id:rack,id:rack`. It defines the cluster's brokers.
    #[arg(long, value_name = "RACKS")]
    pub broker_racks: Option<PathBuf>,
    /// `kafka-log-dirs --describe` output (whole stdout or its JSON). Partition size = the
    /// largest size reported for any non-future replica.
    #[arg(long, value_name = "LOGDIRS")]
    pub log_dirs: Option<PathBuf>,
    /// `kafka-topics --describe` output; adds leader, ISR and in-flight reassignments.
    #[arg(long, value_name = "DESCRIBE.txt")]
    pub topics_describe: Option<PathBuf>,
    /// Disk capacity: one size for every broker (`4TB`, `2TiB`, `123456` bytes) or per
    /// broker (`1=4TB,2=2TB`). KB/MB/GB/TB are powers of 1000, KiB/MiB/GiB/TiB of 1024.
    #[arg(long, value_name = "SPEC")]
    pub broker_capacity: Option<String>,
    /// Snapshot file to write (replaced atomically; nothing is written on error).
    #[arg(long, value_name = "cluster.json")]
    pub output: PathBuf,
    #[command(flatten)]
    pub live: LiveArgs,
}

/// Where the snapshot's facts come from. Offline files today; a live-cluster source is a
/// further variant chosen from its own options.
enum SnapshotSource {
    KafkaFiles {
        reassignment_json: Option<PathBuf>,
        topics_describe: Option<PathBuf>,
        broker_racks: PathBuf,
        log_dirs: Option<PathBuf>,
    },
    Live(Box<LiveConfig>),
}

/// The checked configuration of one run.
struct SnapshotConfig {
    source: SnapshotSource,
    capacity: Option<CapacitySpec>,
    output: PathBuf,
}

impl SnapshotConfig {
    fn from_args(args: SnapshotArgs) -> Result<Self, CliError> {
        let capacity = match &args.broker_capacity {
            Some(s) => Some(
                parse_capacity_spec(s)
                    .map_err(|m| CliError::bad_input(format!("--broker-capacity: {m}")))?,
            ),
            None => None,
        };
        if args.live.is_live() {
            let offline = [
                (args.reassignment_json.is_some(), "--reassignment-json"),
                (args.topics_describe.is_some(), "--topics-describe"),
                (args.broker_racks.is_some(), "--broker-racks"),
                (args.log_dirs.is_some(), "--log-dirs"),
            ];
            if let Some((_, flag)) = offline.iter().find(|(given, _)| *given) {
                return Err(CliError::bad_input(format!(
                    "{flag} reads Kafka's files offline; it cannot be combined with --bootstrap-server/--command-config"
                )));
            }
            let live = args.live.resolve(capacity.as_ref())?;
            return Ok(SnapshotConfig {
                source: SnapshotSource::Live(Box::new(live)),
                capacity,
                output: args.output,
            });
        }
        if args.reassignment_json.is_none() && args.topics_describe.is_none() {
            return Err(CliError::bad_input(
                "snapshot needs the current assignment: give --reassignment-json and/or --topics-describe",
            ));
        }
        let Some(broker_racks) = args.broker_racks else {
            return Err(CliError::bad_input(
                "snapshot needs --broker-racks (the brokers of the cluster and their racks)",
            ));
        };
        Ok(SnapshotConfig {
            source: SnapshotSource::KafkaFiles {
                reassignment_json: args.reassignment_json,
                topics_describe: args.topics_describe,
                broker_racks,
                log_dirs: args.log_dirs,
            },
            capacity,
            output: args.output,
        })
    }
}

/// A read input: its display name and text.
struct LoadedText {
    name: String,
    text: String,
}

impl LoadedText {
    fn load(path: &Path) -> Result<Self, CliError> {
        let name = path.display().to_string();
        let bytes = read_input(path)?;
        let bytes = maybe_gunzip(&name, bytes).map_err(CliError::bad_input)?;
        let text = decode_text(&name, &bytes)
            .map_err(CliError::bad_input)?
            .to_string();
        Ok(LoadedText { name, text })
    }

    fn source(&self) -> SourceText<'_> {
        SourceText {
            name: &self.name,
            text: &self.text,
        }
    }
}

fn load_optional(path: &Option<PathBuf>) -> Result<Option<LoadedText>, CliError> {
    path.as_deref().map(LoadedText::load).transpose()
}

pub fn run(args: SnapshotArgs) -> CliResult {
    let config = SnapshotConfig::from_args(args)?;
    let (cluster, warnings) = match &config.source {
        SnapshotSource::KafkaFiles {
            reassignment_json,
            topics_describe,
            broker_racks,
            log_dirs,
        } => {
            let json = load_optional(reassignment_json)?;
            let describe = load_optional(topics_describe)?;
            let racks = LoadedText::load(broker_racks)?;
            let dirs = load_optional(log_dirs)?;
            let files = KafkaFiles {
                reassignment_json: json.as_ref().map(LoadedText::source),
                topics_describe: describe.as_ref().map(LoadedText::source),
                broker_racks: racks.source(),
                log_dirs: dirs.as_ref().map(LoadedText::source),
                capacity: config.capacity.as_ref(),
                capacity_source: "--broker-capacity",
            };
            let built = cluster_from_kafka_files(&files).map_err(CliError::bad_input)?;
            (built.cluster, built.warnings)
        }
        SnapshotSource::Live(live) => {
            let snap = read_cluster(live)?;
            let mut warnings = Vec::new();
            let in_flight = snap
                .cluster
                .partitions
                .iter()
                .filter(|p| {
                    p.in_flight
                        .as_ref()
                        .is_some_and(|f| !f.adding.is_empty() || !f.removing.is_empty())
                })
                .count();
            if in_flight > 0 {
                warnings.push(format!(
                    "{in_flight} partition(s) have a reassignment in progress (recorded as adding_replicas/removing_replicas; plan refuses them unless --plan-around-in-flight)"
                ));
            }
            if !snap.cluster.has_capacity() {
                warnings.push(
                    "no disk capacity known: capacity checks are off (give --broker-capacity)"
                        .into(),
                );
            }
            (snap.cluster, warnings)
        }
    };
    let mut out = OutputSet::default();
    out.add(&config.output, write_snapshot(&cluster));
    out.commit()?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    print!("{}", summary(&cluster, &config.output));
    Ok(EXIT_OK)
}

/// A few lines for the operator to sanity-check the snapshot against what they know.
fn summary(cluster: &Cluster, output: &Path) -> String {
    let racks: BTreeSet<&str> = cluster
        .brokers
        .iter()
        .filter_map(|b| b.rack.as_deref())
        .collect();
    let without_rack = cluster.brokers.iter().filter(|b| b.rack.is_none()).count();
    let counts = cluster.current_layout().replica_counts();
    let empty = cluster
        .brokers
        .iter()
        .filter(|b| !counts.contains_key(&b.id))
        .count();
    let total_bytes: u64 = cluster.partitions.iter().fold(0u64, |acc, p| {
        acc.saturating_add(p.size_bytes.saturating_mul(p.replicas.len() as u64))
    });
    let mut out = format!(
        "wrote {}\nbrokers: {} ({} without replicas, {} without rack)\nracks: {}\npartitions: {}\nreplicas: {}\ntotal bytes: {} (all replicas)\n",
        output.display(),
        cluster.brokers.len(),
        empty,
        without_rack,
        racks.len(),
        cluster.partitions.len(),
        cluster.total_replicas(),
        total_bytes,
    );
    if let Some(window_ms) = cluster.rates_window_ms {
        let measured: Vec<_> = cluster.partitions.iter().filter_map(|p| p.rates).collect();
        let bytes_in = measured
            .iter()
            .fold(0u64, |a, r| a.saturating_add(r.bytes_in_per_sec));
        let bytes_out = measured
            .iter()
            .fold(0u64, |a, r| a.saturating_add(r.bytes_out_per_sec));
        out.push_str(&format!(
            "rates: {} of {} partitions measured over {:.1} s; produce {bytes_in} B/s, consume {bytes_out} B/s (leaders, all partitions)\n",
            measured.len(),
            cluster.partitions.len(),
            window_ms as f64 / 1000.0,
        ));
    }
    out
}
