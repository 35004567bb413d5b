//! Helpers for the tests that run `kafka-replan apply` against the real cluster: running the
//! binary, plan files, reading the journal, and reading throttle configs with Kafka's own
//! `kafka-configs`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use super::kafka::{reassignment_json, Cluster, Target};

use super::cli::BIN;

/// Serializes the tests of one binary: they measure rates, share brokers' throttles and
/// (in one file) stop brokers. A failed test poisons the lock; the next still runs.
pub fn serial(lock: &'static Mutex<()>) -> MutexGuard<'static, ()> {
    lock.lock().unwrap_or_else(|e| e.into_inner())
}

/// Writes a reassignment JSON file and returns its path as a string.
pub fn write_plan(dir: &Path, name: &str, targets: &[Target]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, reassignment_json(targets)).expect("write plan");
    path.to_string_lossy().into_owned()
}

/// The `apply` arguments every test uses (fast polling), plus `extra`.
pub fn apply_args(
    cluster: &Cluster,
    plan: &str,
    rollback: &str,
    journal: &Path,
    throttle: &str,
) -> Vec<String> {
    [
        "apply",
        "--bootstrap-server",
        &cluster.bootstrap,
        "--plan",
        plan,
        "--rollback",
        rollback,
        "--throttle",
        throttle,
        "--journal",
        &journal.to_string_lossy(),
        "--poll-interval",
        "0.5",
        "--progress",
        "plain",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Spawns `kafka-replan ARGS` with stdout/stderr in files under `dir` (named `name`).
pub fn spawn(args: &[String], dir: &Path, name: &str) -> (Child, PathBuf, PathBuf) {
    let out = dir.join(format!("{name}.stdout"));
    let err = dir.join(format!("{name}.stderr"));
    let child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("stdout file"))
        .stderr(std::fs::File::create(&err).expect("stderr file"))
        .spawn()
        .expect("spawn kafka-replan");
    (child, out, err)
}

/// Kills the child when dropped (a panicking test must not leave `apply` running).
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The journal (`DIR/journal.json`), or None before it exists.
pub fn read_journal(dir: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("journal.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// Polls the journal until its phase is `phase`; panics if the child exits first or after
/// `timeout`.
pub fn wait_for_phase(dir: &Path, phase: &str, child: &mut Child, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        if read_journal(dir).is_some_and(|j| j["phase"] == phase) {
            return;
        }
        if let Some(status) = child.try_wait().expect("wait for apply") {
            panic!(
                "apply exited ({status}) before phase {phase}; journal: {:?}",
                read_journal(dir)
            );
        }
        assert!(
            Instant::now() < deadline,
            "no phase {phase} after {timeout:?}; journal: {:?}",
            read_journal(dir)
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// `key=value` pairs of `kafka-configs --describe` output whose key contains
/// `replication.throttled`.
pub fn throttle_configs(cluster: &Cluster, entity_type: &str, name: &str) -> Vec<(String, String)> {
    let out = cluster.tool_ok(
        "configs",
        &[
            "--bootstrap-server",
            &cluster.bootstrap,
            "--describe",
            "--entity-type",
            entity_type,
            "--entity-name",
            name,
        ],
    );
    out.lines()
        .filter_map(|l| {
            let l = l.trim();
            let (k, rest) = l.split_once('=')?;
            if !k.contains("replication.throttled") {
                return None;
            }
            let v = rest.split(" sensitive=").next().unwrap_or(rest);
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}

/// The `p:b` entries of a throttled-replicas value.
pub fn entries(value: &str) -> BTreeSet<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// No `*.replication.throttled.*` config on the topics or on any broker.
pub fn assert_no_throttles(cluster: &Cluster, topics: &[&str]) {
    for t in topics {
        let c = throttle_configs(cluster, "topics", t);
        assert!(c.is_empty(), "topic {t} still has throttle configs: {c:?}");
    }
    for b in &cluster.broker_ids {
        let c = throttle_configs(cluster, "brokers", &b.to_string());
        assert!(c.is_empty(), "broker {b} still has throttle configs: {c:?}");
    }
}

/// Whether `kafka-reassign-partitions --list` shows a reassignment of `topic`.
pub fn in_flight(cluster: &Cluster, topic: &str) -> bool {
    let out = cluster.tool_ok(
        "reassign-partitions",
        &["--bootstrap-server", &cluster.bootstrap, "--list"],
    );
    out.contains(&format!("{topic}-"))
}

/// (batch, seconds between its "submitted" and "batch complete" events, its bytes).
pub fn batch_copy_times(journal: &serde_json::Value) -> Vec<(usize, f64, u64)> {
    let events = journal["events"].as_array().expect("events");
    let batches = journal["batches"].as_array().expect("batches");
    let mut out = Vec::new();
    for (k, b) in batches.iter().enumerate() {
        let at = |prefix: &str| {
            events
                .iter()
                .filter(|e| e["batch"].as_u64() == Some(k as u64))
                .filter(|e| e["event"].as_str().is_some_and(|s| s.starts_with(prefix)))
                .map(|e| e["unix_ms"].as_u64().expect("unix_ms"))
                .collect::<Vec<_>>()
        };
        let submitted = *at("submitted")
            .first()
            .unwrap_or_else(|| panic!("batch {k}: no submitted event in {journal}"));
        let complete = *at("batch complete")
            .last()
            .unwrap_or_else(|| panic!("batch {k}: no batch complete event in {journal}"));
        let bytes = b["moves"]
            .as_array()
            .expect("moves")
            .iter()
            .map(|m| m["bytes"].as_u64().expect("bytes"))
            .sum();
        out.push((k, (complete - submitted) as f64 / 1000.0, bytes));
    }
    out
}
