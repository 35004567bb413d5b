//! Options for reading a live cluster, shared by the subcommands that can work from one
//! (`snapshot`, `plan`): `--bootstrap-server`, `--command-config`, `--topics`,
//! `--exclude-internal`, `--broker-capacity`, turned into a client config and snapshot
//! options in one fallible step, then the cluster read through the admin client.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;

use kafka_replan::kafka::properties::{parse_properties, ClientConfig};
use kafka_replan::kafka::snapshot::{snapshot, LiveSnapshot, SnapshotOptions};
use kafka_replan::kafka::KafkaAdmin;
use kafka_replan::model::BrokerId;

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
    /// Disk capacity of brokers whose size Kafka does not report (before 3.3): one value for
    /// all, or `ID=SIZE,...`. Sizes in bytes or with KB/MB/GB/TB (1000-based) or
    /// KiB/MiB/GiB/TiB (1024-based).
    #[arg(long, value_name = "SIZE|ID=SIZE,...")]
    pub broker_capacity: Option<String>,
}

/// Everything needed to read the cluster, validated.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    pub bootstrap: String,
    pub client: ClientConfig,
    pub options: SnapshotOptions,
}

impl LiveArgs {
    /// True when the cluster is to be read live.
    pub fn is_live(&self) -> bool {
        self.bootstrap_server.is_some() || self.command_config.is_some()
    }

    /// Turns the flags (and the properties file) into a config; errors are bad input.
    pub fn resolve(&self) -> Result<LiveConfig, CliError> {
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
        let (default_capacity_bytes, capacity_bytes) = match &self.broker_capacity {
            Some(s) => parse_broker_capacity(s)?,
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
        })
    }
}

/// Parses a size: `500GB`, `1.5TiB`, `2000000`.
pub fn parse_size(flag: &str, s: &str) -> Result<u64, CliError> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => {
            return Err(CliError::bad_input(format!(
                "{flag}: '{s}' has an unknown unit (use B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)"
            )))
        }
    };
    let bad = || CliError::bad_input(format!("{flag}: '{s}' is not a size"));
    if num.is_empty() {
        return Err(bad());
    }
    if let Ok(n) = num.parse::<u64>() {
        return n.checked_mul(mult).ok_or_else(bad);
    }
    let f: f64 = num.parse().map_err(|_| bad())?;
    let v = f * mult as f64;
    if !v.is_finite() || v < 0.0 || v > u64::MAX as f64 {
        return Err(bad());
    }
    Ok(v.round() as u64)
}

/// `--broker-capacity`: one size for all brokers, or `ID=SIZE` pairs.
pub fn parse_broker_capacity(s: &str) -> Result<(Option<u64>, BTreeMap<BrokerId, u64>), CliError> {
    const FLAG: &str = "--broker-capacity";
    if !s.contains('=') {
        return Ok((Some(parse_size(FLAG, s)?), BTreeMap::new()));
    }
    let mut map = BTreeMap::new();
    for piece in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (id, size) = piece
            .split_once('=')
            .ok_or_else(|| CliError::bad_input(format!("{FLAG}: '{piece}' is not ID=SIZE")))?;
        let id: BrokerId = id.trim().parse().map_err(|_| {
            CliError::bad_input(format!(
                "{FLAG}: '{}' is not a broker id (an int32)",
                id.trim()
            ))
        })?;
        if map.insert(id, parse_size(FLAG, size)?).is_some() {
            return Err(CliError::bad_input(format!(
                "{FLAG}: broker {id} is given more than once"
            )));
        }
    }
    Ok((None, map))
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
    let snap = runtime
        .block_on(snapshot(&admin, &cfg.options))
        .map_err(CliError::failed)?;
    for w in &snap.warnings {
        eprintln!("warning: {w}");
    }
    Ok(snap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("f", "2000").unwrap(), 2000);
        assert_eq!(parse_size("f", "500GB").unwrap(), 500_000_000_000);
        assert_eq!(parse_size("f", "1.5 TiB").unwrap(), 3 << 39);
        assert_eq!(parse_size("f", "4kib").unwrap(), 4096);
        assert!(parse_size("f", "GB").is_err());
        assert!(parse_size("f", "12XB").is_err());
        assert!(parse_size("f", "99999999999999999999TB").is_err());
    }

    #[test]
    fn broker_capacity() {
        let (all, map) = parse_broker_capacity("1TB").unwrap();
        assert_eq!(all, Some(1_000_000_000_000));
        assert!(map.is_empty());
        let (all, map) = parse_broker_capacity("1=1GB, 2=2GB").unwrap();
        assert_eq!(all, None);
        assert_eq!(map[&2], 2_000_000_000);
        assert!(parse_broker_capacity("1=1GB,1=2GB").is_err());
        assert!(parse_broker_capacity("x=1GB").is_err());
    }

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
        let cfg = args.resolve().unwrap();
        assert_eq!(cfg.bootstrap, "b1:9092");
        assert!(cfg.client.sasl.is_some());
        assert!(cfg.options.topics.unwrap().is_match("foo1"));
        let args = LiveArgs {
            bootstrap_server: Some("x:1".into()),
            command_config: Some(path),
            ..Default::default()
        };
        assert_eq!(args.resolve().unwrap().bootstrap, "x:1");
        let e = LiveArgs {
            topics: Some("(".into()),
            bootstrap_server: Some("x:1".into()),
            ..Default::default()
        }
        .resolve()
        .unwrap_err();
        assert!(e.message.contains("--topics"), "{}", e.message);
        assert!(LiveArgs::default().resolve().is_err());
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
        .resolve()
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
