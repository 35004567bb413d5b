//! The traffic options of `plan`: `--rates FILE` and the `--balance load` settings
//! (`--load-tolerance`, `--network-in-capacity`, `--network-out-capacity`,
//! `--max-network-util`), turned into the cluster's rates and a `LoadConfig` in one step.

use std::path::Path;

use kafka_replan::formats::rates::{apply_rates, parse_rates};
use kafka_replan::model::Cluster;
use kafka_replan::plan::load::{LoadConfig, NetworkCapacity, DEFAULT_LOAD_TOLERANCE};

use super::{read_input, CliError};

/// Reads `path` and sets the rates it lists on `cluster`.
pub fn apply_rates_file(path: &Path, cluster: &mut Cluster) -> Result<(), CliError> {
    let name = path.display().to_string();
    let bytes = read_input(path)?;
    let rows = parse_rates(&name, &bytes).map_err(CliError::bad_input)?;
    apply_rates(&name, cluster, &rows).map_err(CliError::bad_input)
}

/// `50MB/s` (every broker), `1=50MB/s,2=100MB/s` (per broker, the others unlimited) or
/// `100MB/s,3=50MB/s` (a default and overrides). Brokers must be in the cluster.
pub fn parse_network_capacity(
    flag: &str,
    spec: &str,
    cluster: &Cluster,
) -> Result<NetworkCapacity, CliError> {
    let mut cap = NetworkCapacity::default();
    for piece in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match piece.split_once('=') {
            None => {
                if cap.default.is_some() {
                    return Err(CliError::bad_input(format!(
                        "{flag}: more than one default rate in `{spec}` (give the others as broker=rate)"
                    )));
                }
                cap.default = Some(super::estimate::parse_rate(flag, piece)?);
            }
            Some((id, rate)) => {
                let id: i32 = id.trim().parse().map_err(|_| {
                    CliError::bad_input(format!(
                        "{flag}: `{}` is not a broker id (an int32) in `{piece}`",
                        id.trim()
                    ))
                })?;
                if cluster.broker(id).is_none() {
                    return Err(CliError::bad_input(format!(
                        "{flag}: broker {id} is not in the cluster (known: {})",
                        kafka_replan::formats::join_ids(&cluster.broker_ids())
                    )));
                }
                let rate = super::estimate::parse_rate(&format!("{flag} (broker {id})"), rate)?;
                if cap.per_broker.insert(id, rate).is_some() {
                    return Err(CliError::bad_input(format!(
                        "{flag}: broker {id} is given more than once"
                    )));
                }
            }
        }
    }
    if !cap.is_set() {
        return Err(CliError::bad_input(format!(
            "{flag}: `{spec}` gives no rate"
        )));
    }
    Ok(cap)
}

/// The raw traffic options as clap read them.
pub struct LoadOptions<'a> {
    pub load_mode: bool,
    pub tolerance: Option<f64>,
    pub network_in_capacity: Option<&'a str>,
    pub network_out_capacity: Option<&'a str>,
    pub max_network_util: Option<f64>,
}

/// Checks the traffic options against the mode and the cluster and builds the `LoadConfig`.
pub fn load_config(opts: &LoadOptions, cluster: &Cluster) -> Result<LoadConfig, CliError> {
    let given = opts.tolerance.is_some()
        || opts.network_in_capacity.is_some()
        || opts.network_out_capacity.is_some()
        || opts.max_network_util.is_some();
    if !opts.load_mode {
        if given {
            return Err(CliError::bad_input(
                "--load-tolerance, --network-in-capacity, --network-out-capacity and --max-network-util apply to --balance load only",
            ));
        }
        return Ok(LoadConfig::default());
    }
    if !cluster.has_rates() {
        return Err(CliError::bad_input(
            "--balance load needs partition rates, and the snapshot has none: pass --rates FILE (topic,partition,bytes_in,bytes_out; docs/traffic.md) or take the snapshot with `snapshot --sample-rates`",
        ));
    }
    let mut config = LoadConfig {
        tolerance: opts.tolerance.unwrap_or(DEFAULT_LOAD_TOLERANCE),
        ..LoadConfig::default()
    };
    if let Some(u) = opts.max_network_util {
        if !(u > 0.0 && u <= 1.0) {
            return Err(CliError::bad_input(format!(
                "--max-network-util must be in (0, 1], got {u}"
            )));
        }
        config.max_util = u;
    }
    if let Some(s) = opts.network_in_capacity {
        config.in_capacity = parse_network_capacity("--network-in-capacity", s, cluster)?;
    }
    if let Some(s) = opts.network_out_capacity {
        config.out_capacity = parse_network_capacity("--network-out-capacity", s, cluster)?;
    }
    Ok(config)
}
