//! Options for reading a live cluster, shared by the subcommands that can work from one
//! (`snapshot`, `plan`): `--bootstrap-server`, `--command-config`, `--topics`,
//! `--exclude-internal`, `--broker-capacity`, `--sample-rates`, turned into a client config
//! and snapshot options in one fallible step, then the cluster read through the admin client
//! (and, with `--sample-rates`, its partitions' traffic measured).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use kafka_replan::formats::racks::CapacitySpec;
use kafka_replan::kafka::properties::{parse_properties, ClientConfig};
use kafka_replan::kafka::rates::{parse_window, sample_rates, SampleOptions, SystemClock};
use kafka_replan::kafka::snapshot::{snapshot, LiveSnapshot, SnapshotOptions};
use kafka_replan::kafka::KafkaAdmin;

use super::{read_input, CliError};

#[derive(Args, Debug, Clone, Default)]
pub struct LiveArgs {
    /// Kafka brokers to bootstrap from, `host:port[,host:port]`; overrides
    /// `bootstrap.servers` in --command-config.
    #[arg(long, value_name = "HOST:PORT[,HOST:PORT]")]
    pub bootstrap_server: Option<String>,
    /// Client properties file as Kafka's tools take it (`security.protocol`, `sasl.*`,
    /// `ssl.*` with PEM files).
    #[arg(long, value_name = "FILE")]
    pub command_config: Option<PathBuf>,
    /// Only topics whose whole name matches this regular expression.
    #[arg(long, value_name = "REGEX")]
    pub topics: Option<String>,
    /// Leave out internal topics (`__consumer_offsets`, `__transaction_state`, any `__` name).
    #[arg(long)]
    pub exclude_internal: bool,
    /// Measure each partition's produce and consume rate (bytes/s) from two samples of its
    /// log-end offset and of the consumer groups' committed offsets this far apart (`60s`,
    /// `2m`; 1 s to 1 h). Read-only; see docs/snapshot.md for how bytes are estimated.
    #[arg(long, value_name = "DURATION", value_parser = parse_window, requires = "bootstrap_server")]
    pub sample_rates: Option<Duration>,
}

/// Everything needed to read the cluster, validated.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    pub bootstrap: String,
    pub client: ClientConfig,
    pub options: SnapshotOptions,
    /// The rate sampling window (`--sample-rates`), when rates are to be measured.
    pub sample_rates: Option<Duration>,
}

impl LiveArgs {
    /// True when the cluster is to be read live.
    pub fn is_live(&self) -> bool {
        self.bootstrap_server.is_some() || self.command_config.is_some()
    }

    /// Turns the flags (and the properties file) into a config; errors are bad input.
    /// `capacity` (the subcommand's `--broker-capacity`) applies to brokers whose disk size
    /// Kafka does not report (before 3.3).
    pub fn resolve(&self, capacity: Option<&CapacitySpec>) -> Result<LiveConfig, CliError> {
        let client = match &self.command_config {
            Some(path) => {
                let bytes = read_input(path)?;
                let text = String::from_utf8(bytes).map_err(|_| {
                    CliError::bad_input(format!("{}: not UTF-8 text", path.display()))
                })?;
                let props = parse_properties(&text)
                    .map_err(|e| CliError::bad_input(format!("{}: {e}", path.display())))?;
                ClientConfig::from_properties(&props)
                    .map_err(|e| CliError::bad_input(format!("{}: {e}", path.display())))?
            }
            None => ClientConfig::default(),
        };
        let bootstrap = self
            .bootstrap_server
            .clone()
            .or_else(|| client.bootstrap_servers.clone())
            .ok_or_else(|| {
                CliError::bad_input(
                    "--bootstrap-server is required (or bootstrap.servers in --command-config)",
                )
            })?;
        let topics = match &self.topics {
            Some(p) => Some(SnapshotOptions::topic_regex(p).map_err(|e| {
                CliError::bad_input(format!("--topics: not a valid regular expression: {e}"))
            })?),
            None => None,
        };
        let (default_capacity_bytes, capacity_bytes) = match capacity {
            Some(CapacitySpec::Uniform(v)) => (Some(*v), BTreeMap::new()),
            Some(CapacitySpec::PerBroker(m)) => (None, m.clone()),
            None => (None, BTreeMap::new()),
        };
        Ok(LiveConfig {
            bootstrap,
            client,
            options: SnapshotOptions {
                topics,
                exclude_internal: self.exclude_internal,
                capacity_bytes,
                default_capacity_bytes,
            },
            sample_rates: self.sample_rates,
        })
    }
}

/// Reads the cluster. Config warnings and snapshot warnings go to stderr; connection and
/// broker errors are "could not be done" (exit 1).
pub fn read_cluster(cfg: &LiveConfig) -> Result<LiveSnapshot, CliError> {
    for w in &cfg.client.warnings {
        eprintln!("warning: {w}");
    }
    let admin = KafkaAdmin::new(&cfg.bootstrap, cfg.client.clone()).map_err(CliError::bad_input)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failed(format!("cannot start the async runtime: {e}")))?;
    let mut snap = runtime
        .block_on(snapshot(&admin, &cfg.options))
        .map_err(CliError::failed)?;
    for w in &snap.warnings {
        eprintln!("warning: {w}");
    }
    if let Some(window) = cfg.sample_rates {
        let opts = SampleOptions {
            window,
            // Each sample gets what one admin call may take, retries included.
            sample_timeout: cfg.client.default_api_timeout,
        };
        let progress = |line: &str| eprintln!("{line}");
        let clock = SystemClock::new();
        let sample = runtime
            .block_on(sample_rates(
                &admin,
                &clock,
                &snap.cluster,
                &opts,
                &progress,
            ))
            .map_err(CliError::failed)?;
        for w in &sample.warnings {
            eprintln!("warning: {w}");
        }
        sample.apply_to(&mut snap.cluster);
    }
    Ok(snap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_flags_and_properties() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("client.properties");
        std::fs::write(
            &path,
            "bootstrap.servers=b1:9092\nsecurity.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"p\";\n",
        )
        .unwrap();
        let args = LiveArgs {
            command_config: Some(path.clone()),
            topics: Some("foo.*".into()),
            ..Default::default()
        };
        let cfg = args.resolve(None).unwrap();
        assert_eq!(cfg.bootstrap, "b1:9092");
        assert!(cfg.client.sasl.is_some());
        assert!(cfg.options.topics.unwrap().is_match("foo1"));
        let args = LiveArgs {
            bootstrap_server: Some("x:1".into()),
            command_config: Some(path),
            ..Default::default()
        };
        assert_eq!(args.resolve(None).unwrap().bootstrap, "x:1");
        let e = LiveArgs {
            topics: Some("(".into()),
            bootstrap_server: Some("x:1".into()),
            ..Default::default()
        }
        .resolve(None)
        .unwrap_err();
        assert!(e.message.contains("--topics"), "{}", e.message);
        assert!(LiveArgs::default().resolve(None).is_err());
    }

    #[test]
    fn unreachable_cluster_is_exit_1() {
        let addr = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().to_string()
        };
        let cfg = LiveArgs {
            bootstrap_server: Some(addr.clone()),
            ..Default::default()
        }
        .resolve(None)
        .unwrap();
        let e = read_cluster(&cfg).unwrap_err();
        assert_eq!(e.code, super::super::EXIT_FAILED);
        assert!(
            e.message.starts_with(&format!("cannot connect to {addr}")),
            "{}",
            e.message
        );
    }
}

/// Connection options alone, for subcommands that act on the cluster (`elect`, `status`).
#[derive(Args, Debug, Clone, Default)]
pub struct ConnectArgs {
    /// Kafka brokers to bootstrap from, `host:port[,host:port]`; overrides
    /// `bootstrap.servers` in --command-config.
    #[arg(long, value_name = "HOST:PORT[,HOST:PORT]")]
    pub bootstrap_server: Option<String>,
    /// Client properties file as Kafka's tools take it.
    #[arg(long, value_name = "FILE")]
    pub command_config: Option<PathBuf>,
}

/// An admin client and a runtime to drive it.
pub struct Connected {
    pub admin: KafkaAdmin,
    pub runtime: tokio::runtime::Runtime,
}

impl ConnectArgs {
    pub fn connect(&self) -> Result<Connected, CliError> {
        let cfg = LiveArgs {
            bootstrap_server: self.bootstrap_server.clone(),
            command_config: self.command_config.clone(),
            topics: None,
            exclude_internal: false,
            sample_rates: None,
        }
        .resolve(None)?;
        for w in &cfg.client.warnings {
            eprintln!("warning: {w}");
        }
        let admin = KafkaAdmin::new(&cfg.bootstrap, cfg.client).map_err(CliError::bad_input)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CliError::failed(format!("cannot start the async runtime: {e}")))?;
        Ok(Connected { admin, runtime })
    }
}
