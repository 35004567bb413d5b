//! The apply journal: one JSON file (`journal.json` in the journal directory) rewritten
//! atomically (temporary file, fsync, rename, fsync of the directory) before and after every
//! step that changes the cluster, so a process killed at any moment leaves a record from
//! which `apply --resume` finishes the job or `cancel` rolls it back. The file is created
//! with mode 0600 and holds no secrets: broker addresses, partitions, replica lists, the
//! throttle ledger and a timestamped event list.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::ledger::ThrottleLedger;
use crate::formats::report::human_bytes;
use crate::model::{BrokerId, Plan, TopicPartition};

pub const JOURNAL_FILE: &str = "journal.json";
pub const FORMAT_VERSION: u32 = 1;

/// One partition's replica list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub topic: String,
    pub partition: i32,
    pub replicas: Vec<BrokerId>,
}

/// One step of one partition: from the replicas it has to the replicas of this step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Move {
    pub topic: String,
    pub partition: i32,
    pub from: Vec<BrokerId>,
    pub to: Vec<BrokerId>,
    /// Bytes this step copies (partition size × replicas added).
    pub bytes: u64,
}

impl Move {
    pub fn tp(&self) -> TopicPartition {
        TopicPartition::new(self.topic.clone(), self.partition)
    }

    pub fn added(&self) -> Vec<BrokerId> {
        self.to
            .iter()
            .copied()
            .filter(|b| !self.from.contains(b))
            .collect()
    }
}

/// A replica's planned log directory: a `log_dirs` entry of the plan other than `"any"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaDir {
    pub topic: String,
    pub partition: i32,
    pub broker: BrokerId,
    pub dir: String,
}

/// One intra-broker move (AlterReplicaLogDirs) of the run: the replica of the partition on
/// `broker` goes to `dir`. It belongs to batch `batch`: the batch whose reassignment puts
/// the replica on the broker, or (a replica that stays on its broker) a batch of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirMove {
    pub batch: usize,
    pub topic: String,
    pub partition: i32,
    pub broker: BrokerId,
    /// The replica's directory before the run; `None` when it was not on the broker (or the
    /// broker did not say).
    pub from_dir: Option<String>,
    pub dir: String,
    /// Bytes the move copies inside the broker (the replica's size).
    pub bytes: u64,
}

impl DirMove {
    pub fn tp(&self) -> TopicPartition {
        TopicPartition::new(self.topic.clone(), self.partition)
    }

    /// Kafka's name for the replica (`TopicPartitionReplica`): `topic-partition-broker`.
    pub fn replica(&self) -> String {
        format!("{}-{}-{}", self.topic, self.partition, self.broker)
    }
}

/// The planned directories as the map the executor and `verify` use.
pub fn dir_map(dirs: &[ReplicaDir]) -> BTreeMap<(TopicPartition, BrokerId), String> {
    dirs.iter()
        .map(|d| {
            (
                (TopicPartition::new(d.topic.clone(), d.partition), d.broker),
                d.dir.clone(),
            )
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct JournalBatch {
    pub moves: Vec<Move>,
}

impl JournalBatch {
    pub fn bytes(&self) -> u64 {
        self.moves.iter().map(|m| m.bytes).sum()
    }

    pub fn partitions(&self) -> Vec<TopicPartition> {
        self.moves.iter().map(Move::tp).collect()
    }

    /// The batch's targets as a plan (for cancel and verify).
    pub fn targets(&self) -> Plan {
        Plan {
            changes: self.moves.iter().map(|m| (m.tp(), m.to.clone())).collect(),
        }
    }

    /// The replicas before the batch, as a plan (the order a cancel restores).
    pub fn sources(&self) -> Plan {
        Plan {
            changes: self
                .moves
                .iter()
                .map(|m| (m.tp(), m.from.clone()))
                .collect(),
        }
    }
}

/// Where the run is. The batch concerned is `JournalState::current_batch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The batch has not started: no throttle set, nothing submitted.
    Ready,
    /// The ledger is recorded; the throttles may or may not be set.
    SettingThrottles,
    /// Throttles set; the reassignment may or may not have been submitted.
    Submitting,
    /// Submitted; data is copying.
    Copying,
    /// The batch finished; throttles may or may not be restored yet.
    RestoringThrottles,
    /// Every batch done; the preferred-leader election runs.
    Electing,
    Done,
    /// Stopped on an error or Ctrl-C after cancelling the batch and restoring the
    /// throttles; `apply --resume` runs the batch again.
    Stopped,
    /// `cancel` rolled the running batch back.
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub unix_ms: u64,
    pub batch: Option<usize>,
    pub event: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalState {
    pub format: u32,
    /// SHA-256 of the plan's canonical JSON, so `--resume` refuses a different plan.
    pub plan_sha256: String,
    pub bootstrap: String,
    /// Replication throttle, bytes/s per broker and direction.
    pub throttle: u64,
    /// The replicas of every planned partition before the run (the rollback).
    pub original: Vec<Assignment>,
    /// The plan.
    pub targets: Vec<Assignment>,
    pub batches: Vec<JournalBatch>,
    /// The batch running, or the next to run.
    pub current_batch: usize,
    pub phase: Phase,
    /// Throttle configs kafka-replan has set and not yet restored.
    pub ledger: Option<ThrottleLedger>,
    pub stop_reason: Option<String>,
    pub events: Vec<Event>,
    /// The plan's explicit log directories (absent for plans with only `"any"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_dirs: Vec<ReplicaDir>,
    /// The intra-broker moves of the run, each tagged with its batch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dir_moves: Vec<DirMove>,
    /// Log-dir throttle (`replica.alter.log.dirs.io.max.bytes.per.second`) for brokers with
    /// intra-broker moves, bytes/s; `None` = not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_dir_throttle: Option<u64>,
}

fn assignments(plan: &Plan) -> Vec<Assignment> {
    plan.changes
        .iter()
        .map(|(tp, r)| Assignment {
            topic: tp.topic.clone(),
            partition: tp.partition,
            replicas: r.clone(),
        })
        .collect()
}

fn plan_of(a: &[Assignment]) -> Plan {
    Plan {
        changes: a
            .iter()
            .map(|x| {
                (
                    TopicPartition::new(x.topic.clone(), x.partition),
                    x.replicas.clone(),
                )
            })
            .collect(),
    }
}

/// SHA-256 (hex) of the plan in Kafka's compact JSON.
pub fn plan_digest(plan: &Plan) -> String {
    plan_digest_with_dirs(plan, &BTreeMap::new())
}

/// SHA-256 (hex) of the plan with its explicit log directories in Kafka's compact JSON
/// (the same as [`plan_digest`] when there are none, so journals of plans without
/// directories keep their digest).
pub fn plan_digest_with_dirs(
    plan: &Plan,
    dirs: &BTreeMap<(TopicPartition, BrokerId), String>,
) -> String {
    use crate::formats::reassignment::{
        emit_reassignment_json, ReassignmentEntry, ReassignmentJson, ANY_LOG_DIR,
    };
    use sha2::Digest;
    let json = ReassignmentJson {
        entries: plan
            .changes
            .iter()
            .map(|(tp, replicas)| ReassignmentEntry {
                tp: tp.clone(),
                replicas: replicas.clone(),
                log_dirs: replicas
                    .iter()
                    .map(|b| {
                        dirs.get(&(tp.clone(), *b))
                            .cloned()
                            .unwrap_or_else(|| ANY_LOG_DIR.to_string())
                    })
                    .collect(),
            })
            .collect(),
    };
    let json = emit_reassignment_json(&json);
    sha2::Sha256::digest(json.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A replica list as a journal may hold it: non-empty, no broker twice, no negative id.
fn check_replicas(what: &str, tp: &str, replicas: &[BrokerId]) -> Result<(), String> {
    if replicas.is_empty() {
        return Err(format!("{what} of {tp} is empty"));
    }
    let mut seen = std::collections::BTreeSet::new();
    for &b in replicas {
        if b < 0 {
            return Err(format!("{what} of {tp} holds broker id {b}"));
        }
        if !seen.insert(b) {
            return Err(format!("{what} of {tp} lists broker {b} twice"));
        }
    }
    Ok(())
}

impl JournalState {
    /// The rules every journal kafka-replan writes keeps. `apply --resume`, `cancel` and
    /// `verify` act on the cluster from this file, so one that breaks them (a truncated
    /// write, a hand edit) is refused before anything is sent: a batch index past the
    /// batches would otherwise panic, an edited target would move data nobody planned.
    pub fn check(&self) -> Result<(), String> {
        if self.current_batch > self.batches.len() {
            return Err(format!(
                "current batch {} of {} batches",
                self.current_batch + 1,
                self.batches.len()
            ));
        }
        let plan = self.plan();
        if plan.changes.len() != self.targets.len() {
            return Err("a partition is listed twice in the targets".into());
        }
        let dirs = self.log_dir_map();
        if dirs.len() != self.log_dirs.len() {
            return Err("a replica's log dir is listed twice".into());
        }
        for ((tp, b), dir) in &dirs {
            if !plan.changes.get(tp).is_some_and(|r| r.contains(b)) {
                return Err(format!(
                    "log dir {dir} for {tp} on broker {b}, which the plan does not place there"
                ));
            }
        }
        for m in &self.dir_moves {
            if m.batch >= self.batches.len() {
                return Err(format!(
                    "the log-dir move of {} is in batch {} of {}",
                    m.replica(),
                    m.batch + 1,
                    self.batches.len()
                ));
            }
            if dirs.get(&(m.tp(), m.broker)) != Some(&m.dir) {
                return Err(format!(
                    "the log-dir move of {} to {} is not in the plan",
                    m.replica(),
                    m.dir
                ));
            }
        }
        if plan_digest_with_dirs(&plan, &dirs) != self.plan_sha256 {
            return Err("the targets do not match the plan digest".into());
        }
        let original = self.original_plan();
        if original.changes.len() != self.original.len() {
            return Err("a partition is listed twice in the original replicas".into());
        }
        for (tp, replicas) in &plan.changes {
            let name = tp.to_string();
            check_replicas("the target", &name, replicas)?;
            match original.changes.get(tp) {
                Some(before) => check_replicas("the original replicas", &name, before)?,
                None => return Err(format!("{name} has a target but no original replicas")),
            }
        }
        if original.changes.len() != plan.changes.len() {
            return Err("a partition has original replicas but no target".into());
        }
        for (i, batch) in self.batches.iter().enumerate() {
            for m in &batch.moves {
                let tp = m.tp();
                let name = tp.to_string();
                if !plan.changes.contains_key(&tp) {
                    return Err(format!(
                        "batch {} moves {name}, which the plan does not",
                        i + 1
                    ));
                }
                check_replicas(&format!("batch {}'s source", i + 1), &name, &m.from)?;
                check_replicas(&format!("batch {}'s target", i + 1), &name, &m.to)?;
            }
        }
        Ok(())
    }

    pub fn new(
        plan: &Plan,
        original: &Plan,
        bootstrap: &str,
        throttle: u64,
        batches: Vec<JournalBatch>,
    ) -> JournalState {
        JournalState {
            format: FORMAT_VERSION,
            plan_sha256: plan_digest(plan),
            bootstrap: bootstrap.to_string(),
            throttle,
            original: assignments(original),
            targets: assignments(plan),
            batches,
            current_batch: 0,
            phase: Phase::Ready,
            ledger: None,
            stop_reason: None,
            events: Vec::new(),
            log_dirs: Vec::new(),
            dir_moves: Vec::new(),
            log_dir_throttle: None,
        }
    }

    /// Adds the plan's explicit log directories and the intra-broker moves they need (the
    /// digest then covers the directories too).
    pub fn with_log_dirs(
        mut self,
        dirs: &BTreeMap<(TopicPartition, BrokerId), String>,
        dir_moves: Vec<DirMove>,
        log_dir_throttle: Option<u64>,
    ) -> JournalState {
        self.log_dirs = dirs
            .iter()
            .map(|((tp, b), dir)| ReplicaDir {
                topic: tp.topic.clone(),
                partition: tp.partition,
                broker: *b,
                dir: dir.clone(),
            })
            .collect();
        self.plan_sha256 = plan_digest_with_dirs(&self.plan(), dirs);
        self.dir_moves = dir_moves;
        self.log_dir_throttle = log_dir_throttle;
        self
    }

    /// The plan's explicit log directories.
    pub fn log_dir_map(&self) -> BTreeMap<(TopicPartition, BrokerId), String> {
        dir_map(&self.log_dirs)
    }

    /// The intra-broker moves of batch `k`.
    pub fn batch_dir_moves(&self, k: usize) -> Vec<DirMove> {
        self.dir_moves
            .iter()
            .filter(|m| m.batch == k)
            .cloned()
            .collect()
    }

    /// Bytes the intra-broker moves copy, in all batches and in the finished ones.
    pub fn dir_bytes(&self) -> (u64, u64) {
        let total = self.dir_moves.iter().map(|m| m.bytes).sum();
        let done = self
            .dir_moves
            .iter()
            .filter(|m| m.batch < self.current_batch)
            .map(|m| m.bytes)
            .sum();
        (done, total)
    }

    pub fn plan(&self) -> Plan {
        plan_of(&self.targets)
    }

    pub fn original_plan(&self) -> Plan {
        plan_of(&self.original)
    }

    pub fn total_bytes(&self) -> u64 {
        self.batches.iter().map(JournalBatch::bytes).sum()
    }

    pub fn done_bytes(&self) -> u64 {
        self.batches
            .iter()
            .take(self.current_batch)
            .map(JournalBatch::bytes)
            .sum()
    }

    /// True while a batch has changed the cluster and is not finished.
    pub fn batch_active(&self) -> bool {
        matches!(
            self.phase,
            Phase::SettingThrottles
                | Phase::Submitting
                | Phase::Copying
                | Phase::RestoringThrottles
        )
    }

    /// A human summary for `status`.
    pub fn summary_lines(&self) -> Vec<String> {
        let mut out = vec![
            format!(
                "journal: plan of {} partitions in {} batches, {} to copy at {}/s",
                self.targets.len(),
                self.batches.len(),
                human_bytes(self.total_bytes()),
                human_bytes(self.throttle)
            ),
            format!(
                "journal: phase {} at batch {} of {} ({} of {} in finished batches)",
                serde_json::to_value(self.phase)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                (self.current_batch + 1).min(self.batches.len().max(1)),
                self.batches.len(),
                human_bytes(self.done_bytes()),
                human_bytes(self.total_bytes())
            ),
        ];
        match &self.ledger {
            Some(l) => out.push(format!(
                "journal: throttles set by kafka-replan on brokers {} and topics {} (restored by apply --resume, cancel or verify)",
                crate::formats::join_ids(&l.broker_ids().into_iter().collect::<Vec<_>>()),
                l.topic_names().into_iter().collect::<Vec<_>>().join(",")
            )),
            None => out.push("journal: no throttle set by kafka-replan".into()),
        }
        if !self.dir_moves.is_empty() {
            let (done, total) = self.dir_bytes();
            out.push(format!(
                "journal: {} intra-broker (log dir) moves, {} to copy inside brokers ({} in finished batches), log-dir throttle {}",
                self.dir_moves.len(),
                human_bytes(total),
                human_bytes(done),
                self.log_dir_throttle
                    .map(|t| format!("{}/s", human_bytes(t)))
                    .unwrap_or_else(|| "not set".into())
            ));
        }
        if let Some(r) = &self.stop_reason {
            out.push(format!("journal: stopped: {r}"));
        }
        out
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal {path}: {reason}")]
    Io { path: String, reason: String },
    #[error("journal {path}: not a kafka-replan journal: {reason}")]
    Corrupt { path: String, reason: String },
    /// Test hook: the process "dies" right after this many journal writes.
    #[error("simulated crash after journal write {0}")]
    SimulatedCrash(usize),
}

/// The journal on disk.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    pub state: JournalState,
    writes: usize,
    crash_after_writes: Option<usize>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Journal {
    pub fn path_in(dir: &Path) -> PathBuf {
        dir.join(JOURNAL_FILE)
    }

    pub fn exists(dir: &Path) -> bool {
        Self::path_in(dir).exists()
    }

    /// Creates the directory (mode 0700) and writes the first record.
    pub fn create(dir: &Path, state: JournalState) -> Result<Journal, JournalError> {
        let io = |e: std::io::Error| JournalError::Io {
            path: dir.display().to_string(),
            reason: e.to_string(),
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
        }
        let mut j = Journal {
            dir: dir.to_path_buf(),
            state,
            writes: 0,
            crash_after_writes: None,
        };
        j.record(None, "journal created")?;
        Ok(j)
    }

    pub fn open(dir: &Path) -> Result<Journal, JournalError> {
        let path = Self::path_in(dir);
        let text = std::fs::read_to_string(&path).map_err(|e| JournalError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let state: JournalState =
            serde_json::from_str(&text).map_err(|e| JournalError::Corrupt {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
        if state.format != FORMAT_VERSION {
            return Err(JournalError::Corrupt {
                path: path.display().to_string(),
                reason: format!(
                    "format {} (this kafka-replan writes {FORMAT_VERSION})",
                    state.format
                ),
            });
        }
        state.check().map_err(|reason| JournalError::Corrupt {
            path: path.display().to_string(),
            reason: format!("{reason} (edited by hand or damaged: refusing to act on it)"),
        })?;
        Ok(Journal {
            dir: dir.to_path_buf(),
            state,
            writes: 0,
            crash_after_writes: None,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Test hook: after `n` more writes the next one persists and then fails as if the
    /// process died there.
    pub fn crash_after_writes(&mut self, n: usize) {
        self.crash_after_writes = Some(self.writes + n);
    }

    /// Appends an event and writes the whole state atomically.
    pub fn record(&mut self, batch: Option<usize>, event: &str) -> Result<(), JournalError> {
        self.state.events.push(Event {
            unix_ms: now_ms(),
            batch,
            event: event.to_string(),
        });
        self.write()?;
        self.writes += 1;
        if self.crash_after_writes == Some(self.writes) {
            return Err(JournalError::SimulatedCrash(self.writes));
        }
        Ok(())
    }

    fn write(&self) -> Result<(), JournalError> {
        let path = Self::path_in(&self.dir);
        let tmp = self.dir.join(format!("{JOURNAL_FILE}.tmp"));
        let io = |e: std::io::Error| JournalError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let json = serde_json::to_vec_pretty(&self.state).map_err(|e| JournalError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(io)?;
        f.write_all(&json).map_err(io)?;
        f.write_all(b"\n").map_err(io)?;
        f.sync_all().map_err(io)?;
        drop(f);
        std::fs::rename(&tmp, &path).map_err(io)?;
        // The rename is durable only once the directory entry is.
        if let Ok(d) = std::fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_private_writes_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let jdir = dir.path().join("j");
        let mut plan = Plan::default();
        plan.changes.insert(TopicPartition::new("t", 0), vec![2, 3]);
        let mut orig = Plan::default();
        orig.changes.insert(TopicPartition::new("t", 0), vec![1, 2]);
        let batches = vec![JournalBatch {
            moves: vec![Move {
                topic: "t".into(),
                partition: 0,
                from: vec![1, 2],
                to: vec![2, 3],
                bytes: 10,
            }],
        }];
        let mut j =
            Journal::create(&jdir, JournalState::new(&plan, &orig, "b:9092", 5, batches)).unwrap();
        j.state.phase = Phase::Copying;
        j.record(Some(0), "submitted").unwrap();
        let back = Journal::open(&jdir).unwrap();
        assert_eq!(back.state, j.state);
        assert_eq!(back.state.plan(), plan);
        assert_eq!(back.state.original_plan(), orig);
        assert!(!jdir.join("journal.json.tmp").exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(Journal::path_in(&jdir))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        j.crash_after_writes(1);
        assert!(matches!(
            j.record(None, "x"),
            Err(JournalError::SimulatedCrash(_))
        ));
        // The write that "crashed" is on disk.
        assert_eq!(Journal::open(&jdir).unwrap().state.events.len(), 3);
        std::fs::write(Journal::path_in(&jdir), "{").unwrap();
        assert!(matches!(
            Journal::open(&jdir),
            Err(JournalError::Corrupt { .. })
        ));
    }

    #[test]
    fn log_dirs_are_in_the_digest_and_checked() {
        let mut plan = Plan::default();
        plan.changes.insert(TopicPartition::new("t", 0), vec![1, 2]);
        let batches = vec![JournalBatch::default()];
        let plain = JournalState::new(&plan, &plan, "b:9092", 5, batches.clone());
        assert_eq!(plain.check(), Ok(()));
        let mut dirs = BTreeMap::new();
        dirs.insert((TopicPartition::new("t", 0), 1), "/d1".to_string());
        let mv = DirMove {
            batch: 0,
            topic: "t".into(),
            partition: 0,
            broker: 1,
            from_dir: Some("/d0".into()),
            dir: "/d1".into(),
            bytes: 7,
        };
        let state = JournalState::new(&plan, &plan, "b:9092", 5, batches).with_log_dirs(
            &dirs,
            vec![mv.clone()],
            Some(9),
        );
        assert_eq!(state.check(), Ok(()));
        assert_ne!(state.plan_sha256, plain.plan_sha256);
        assert_eq!(state.plan_sha256, plan_digest_with_dirs(&plan, &dirs));
        assert_eq!(state.dir_bytes(), (0, 7));
        // Round trip, and an older journal (no log-dir fields) still reads.
        let json = serde_json::to_string(&state).unwrap();
        assert_eq!(serde_json::from_str::<JournalState>(&json).unwrap(), state);
        let old = serde_json::to_value(&plain).unwrap();
        assert!(old.get("log_dirs").is_none() && old.get("dir_moves").is_none());
        // Hand edits are refused.
        let mut bad = state.clone();
        bad.dir_moves[0].batch = 3;
        assert!(bad.check().unwrap_err().contains("batch 4 of 1"));
        let mut bad = state.clone();
        bad.dir_moves[0].dir = "/elsewhere".into();
        assert!(bad.check().unwrap_err().contains("not in the plan"));
        let mut bad = state.clone();
        bad.log_dirs[0].broker = 3;
        assert!(bad.check().is_err());
        let mut bad = state;
        bad.log_dirs[0].dir = "/d2".into();
        bad.dir_moves.clear();
        assert!(bad.check().unwrap_err().contains("digest"));
    }
}
