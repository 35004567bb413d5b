//! The output of `kafka-log-dirs --describe` (spec §A11): two text lines, then one JSON line.
//!
//! ```text
//! Querying brokers for log directories information
//! Received log directory information from brokers 0,1
//! {"brokers":[{"broker":0,"logDirs":[{"partitions":[{"partition":"orders-0","size":1048576,"offsetLag":0,"isFuture":false}],"error":null,"logDir":"/data/kafka-1"}]}],"version":1}
//! ```
//!
//! The whole stdout or the JSON alone is accepted (the JSON starts at the first line that
//! starts with `{`; it may be pretty-printed). Key order does not matter (3.6+ prints Java
//! HashMap order, ≤3.5 insertion order). `partition` is split at its **last** `-`, since topic
//! names may contain `-`.
//!
//! Derived fact used for planning: a partition's size is the largest `size` reported for any
//! of its non-future replicas ([`LogDirsReport::partition_sizes`]). Future replicas (the
//! destination of an intra-broker move) are partial copies and are left out.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{FormatError, Problem};
use crate::model::{BrokerId, TopicPartition};

/// One replica in one log directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogDirReplica {
    pub tp: TopicPartition,
    /// Bytes of local log segments.
    pub size: u64,
    /// Current log: how far its end is behind the high watermark; future log: how far it is
    /// behind the current replica.
    pub offset_lag: i64,
    /// True for the destination of an in-progress intra-broker move.
    pub is_future: bool,
}

/// One log directory of one broker.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogDirInfo {
    /// `None` when healthy; else the Java exception class name (an offline directory has
    /// `org.apache.kafka.common.errors.KafkaStorageException` and no replicas).
    pub error: Option<String>,
    pub replicas: Vec<LogDirReplica>,
    /// `totalBytes` / `usableBytes` when the output carries them (Kafka's tool prints them
    /// from 3.3 where the broker reports them; absent or -1 = unknown).
    pub total_bytes: Option<u64>,
    pub usable_bytes: Option<u64>,
}

/// Parsed output: broker → log directory → contents.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogDirsReport {
    pub brokers: BTreeMap<BrokerId, BTreeMap<String, LogDirInfo>>,
}

impl LogDirsReport {
    /// Partition size: the largest `size` reported for any non-future replica of it. Replicas
    /// of one partition differ slightly (lagging followers, segment timing); the largest is
    /// what a new replica will need.
    pub fn partition_sizes(&self) -> BTreeMap<TopicPartition, u64> {
        let mut out: BTreeMap<TopicPartition, u64> = BTreeMap::new();
        for dirs in self.brokers.values() {
            for info in dirs.values() {
                for r in info.replicas.iter().filter(|r| !r.is_future) {
                    let e = out.entry(r.tp.clone()).or_insert(0);
                    *e = (*e).max(r.size);
                }
            }
        }
        out
    }

    /// Bytes on each broker, optionally counting future (in-move) replicas.
    pub fn broker_bytes(&self, include_future: bool) -> BTreeMap<BrokerId, u64> {
        self.brokers
            .iter()
            .map(|(b, dirs)| {
                let total = dirs
                    .values()
                    .flat_map(|d| &d.replicas)
                    .filter(|r| include_future || !r.is_future)
                    .fold(0u64, |acc, r| acc.saturating_add(r.size));
                (*b, total)
            })
            .collect()
    }

    /// Log directories that report an error: (broker, dir, error).
    pub fn failed_dirs(&self) -> Vec<(BrokerId, &str, &str)> {
        let mut out = Vec::new();
        for (b, dirs) in &self.brokers {
            for (dir, info) in dirs {
                if let Some(e) = &info.error {
                    out.push((*b, dir.as_str(), e.as_str()));
                }
            }
        }
        out
    }
}

#[derive(Deserialize)]
struct RawReport {
    #[serde(default)]
    version: Option<i64>,
    brokers: Vec<RawBroker>,
}

#[derive(Deserialize)]
struct RawBroker {
    broker: BrokerId,
    #[serde(rename = "logDirs")]
    log_dirs: Vec<RawLogDir>,
}

#[derive(Deserialize)]
struct RawLogDir {
    #[serde(rename = "logDir")]
    log_dir: String,
    #[serde(default)]
    error: Option<String>,
    partitions: Vec<RawReplica>,
    #[serde(default, rename = "totalBytes")]
    total_bytes: Option<i64>,
    #[serde(default, rename = "usableBytes")]
    usable_bytes: Option<i64>,
}

#[derive(Deserialize)]
struct RawReplica {
    partition: String,
    size: u64,
    #[serde(rename = "offsetLag")]
    offset_lag: i64,
    #[serde(rename = "isFuture")]
    is_future: bool,
}

/// Parses `kafka-log-dirs --describe` output (whole stdout or the JSON alone).
pub fn parse_log_dirs(source_name: &str, text: &str) -> Result<LogDirsReport, FormatError> {
    // The JSON starts at the first line starting with `{`; lines before it are the tool's
    // progress messages. Their count is added to JSON error lines.
    let mut offset = 0usize;
    let mut skipped = 0usize;
    let mut found = false;
    for line in text.split_inclusive('\n') {
        if line.trim_start_matches('\u{feff}').starts_with('{') {
            found = true;
            break;
        }
        offset += line.len();
        skipped += 1;
    }
    if !found {
        return Err(FormatError::one(
            source_name,
            None,
            "no JSON found (expected the output of `kafka-log-dirs --describe`)",
        ));
    }
    let json = &text[offset..];
    let raw: RawReport = serde_json::from_str(json).map_err(|e| {
        let mut err = FormatError::json(source_name, &e);
        if let Some(p) = err.problems.first_mut() {
            p.line = p.line.map(|l| l + skipped);
        }
        err
    })?;
    if let Some(v) = raw.version {
        if v != 1 {
            return Err(FormatError::one(
                source_name,
                None,
                format!("unsupported version {v} (expected 1)"),
            ));
        }
    }
    let mut problems = Vec::new();
    let mut report = LogDirsReport::default();
    for b in raw.brokers {
        if report.brokers.contains_key(&b.broker) {
            problems.push(format!("broker {} is listed more than once", b.broker));
            continue;
        }
        let mut dirs = BTreeMap::new();
        for d in b.log_dirs {
            let mut replicas = Vec::with_capacity(d.partitions.len());
            for r in d.partitions {
                match split_tp(&r.partition) {
                    Some(tp) => replicas.push(LogDirReplica {
                        tp,
                        size: r.size,
                        offset_lag: r.offset_lag,
                        is_future: r.is_future,
                    }),
                    None => problems.push(format!(
                        "broker {} log dir {}: `{}` is not a topic-partition (expected topic-N)",
                        b.broker, d.log_dir, r.partition
                    )),
                }
            }
            let known = |v: Option<i64>| v.and_then(|v| u64::try_from(v).ok());
            let info = LogDirInfo {
                error: d.error,
                replicas,
                total_bytes: known(d.total_bytes),
                usable_bytes: known(d.usable_bytes),
            };
            if dirs.insert(d.log_dir.clone(), info).is_some() {
                problems.push(format!(
                    "broker {} lists log dir {} more than once",
                    b.broker, d.log_dir
                ));
            }
        }
        report.brokers.insert(b.broker, dirs);
    }
    if !problems.is_empty() {
        let problems = problems
            .into_iter()
            .map(|message| Problem {
                line: None,
                message,
            })
            .collect();
        return Err(FormatError::many(source_name, problems));
    }
    Ok(report)
}

/// `my-topic-0-12` → (`my-topic-0`, 12): split at the last `-`.
fn split_tp(s: &str) -> Option<TopicPartition> {
    let (topic, p) = s.rsplit_once('-')?;
    if topic.is_empty() || p.starts_with('+') {
        return None;
    }
    let partition: i32 = p.parse().ok()?;
    Some(TopicPartition::new(topic, partition))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_last_dash() {
        assert_eq!(
            split_tp("my-topic-0-12"),
            Some(TopicPartition::new("my-topic-0", 12))
        );
        assert_eq!(split_tp("orders"), None);
        assert_eq!(split_tp("-1"), None);
        assert_eq!(split_tp("a-x"), None);
        assert_eq!(split_tp("a-+1"), None);
    }

    #[test]
    fn sizes_ignore_future_replicas() {
        let text = r#"{"brokers":[{"broker":0,"logDirs":[{"logDir":"/a","error":null,"partitions":[{"partition":"t-0","size":10,"offsetLag":0,"isFuture":false},{"partition":"t-1","size":99,"offsetLag":0,"isFuture":true}]}]},{"broker":1,"logDirs":[{"logDir":"/a","error":null,"partitions":[{"partition":"t-0","size":12,"offsetLag":3,"isFuture":false}]}]}],"version":1}"#;
        let r = parse_log_dirs("l", text).unwrap();
        let sizes = r.partition_sizes();
        assert_eq!(sizes[&TopicPartition::new("t", 0)], 12);
        assert!(!sizes.contains_key(&TopicPartition::new("t", 1)));
        assert_eq!(r.broker_bytes(true)[&0], 109);
        assert_eq!(r.broker_bytes(false)[&0], 10);
    }

    #[test]
    fn errors_name_the_problem_and_line() {
        let e = parse_log_dirs("l", "Querying\nReceived\n{\"brokers\":[}\n").unwrap_err();
        assert_eq!(e.problems[0].line, Some(3));
        let e = parse_log_dirs("l", "nothing here\n").unwrap_err();
        assert!(e.to_string().contains("no JSON found"));
        let e = parse_log_dirs("l", r#"{"brokers":[],"version":2}"#).unwrap_err();
        assert!(e.to_string().contains("unsupported version 2"));
        let e = parse_log_dirs(
            "l",
            r#"{"brokers":[{"broker":1,"logDirs":[]},{"broker":1,"logDirs":[]}]}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("broker 1 is listed more than once"));
        let e = parse_log_dirs(
            "l",
            r#"{"brokers":[{"broker":1,"logDirs":[{"logDir":"/a","error":null,"partitions":[{"partition":"t-0","size":-1,"offsetLag":0,"isFuture":false}]}]}]}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("invalid JSON"), "{e}");
    }
}
