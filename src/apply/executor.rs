//! `apply`: runs a plan against a cluster in byte-limited batches, over any `Admin`.
//!
//! Per batch: record the throttle configs in the journal's ledger, set the throttles for the
//! batch's moving replicas only, submit the batch, wait until every move completes
//! (ListPartitionReassignments), restore the throttles exactly, move on. After the last
//! batch: a preferred-leader election for the plan's partitions and a final verify.
//!
//! Every step is written to the journal before and after it happens, so a run killed at any
//! moment can be resumed (`resume`) or rolled back (`cancel`). A run that stops on an error,
//! a lost broker or Ctrl-C cancels the moves of its running batch (KIP-455), restores their
//! replica order and the throttles, and records the stop: the cluster is then as it was
//! before the batch, minus any move that had already completed. A run that loses the
//! cluster altogether cannot clean up: it says so, and the journal has what `--resume` or
//! `cancel` needs.
//!
//! A resumed batch never resubmits a partition whose move is in flight to the batch's
//! target (KRaft would restart it, §E5) nor one that moves anywhere else (someone else's
//! move): the latter stops the run, naming the partition.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cancel::{cancel_plan, lines as cancel_lines};
use super::dirs::{
    dir_states, send_moves, stop_moves, DirState, DirTargets, NOT_LEADER_OR_FOLLOWER,
    REPLICA_NOT_AVAILABLE,
};
use super::elect::{elect_preferred, ElectionReport};
use super::journal::{DirMove, Journal, JournalBatch, JournalError, JournalState, Move, Phase};
use super::ledger::{
    build_ledger, first_read_error, resources_to_read, throttle_keys, wanted_throttles,
    ThrottleLedger,
};
use super::verify::{plan_status, PartitionStatus};
use crate::formats::join_ids;
use crate::kafka::admin::{ConfigResource, OngoingReassignment};
use crate::kafka::snapshot::{snapshot, SnapshotOptions};
use crate::kafka::{Admin, Error};
use crate::model::{BrokerId, Cluster, Plan, TopicPartition};
use crate::plan::schedule::{schedule, BatchLimits, Schedule};

/// How `apply` runs.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Replication throttle, bytes/s per broker and direction.
    pub throttle: u64,
    pub limits: BatchLimits,
    /// Start even if other reassignments are in flight (Kafka's `--additional`).
    pub additional: bool,
    /// Run the preferred-leader election at the end.
    pub elect: bool,
    pub poll_interval: Duration,
    /// How long a broker of the running batch may be missing before the run stops.
    pub broker_down_grace: Duration,
    /// How long the cluster may be unreachable before the run gives up.
    pub unreachable_grace: Duration,
    pub election_batch: usize,
    /// Refuse replication-factor changes (Kafka's `--disallow-replication-factor-change`,
    /// KIP-860): pre-flight names every partition whose target size differs, and the
    /// submission asks the controller to reject them too.
    pub disallow_rf_change: bool,
    /// Log-dir throttle (`replica.alter.log.dirs.io.max.bytes.per.second`), bytes/s, set on
    /// the brokers with intra-broker moves in the running batch; `None` = not set.
    pub log_dir_throttle: Option<u64>,
    /// How long an intra-broker move may answer REPLICA_NOT_AVAILABLE (its replica not yet
    /// created on the broker by the batch's reassignment) before the run stops.
    pub log_dir_start_timeout: Duration,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            throttle: 50_000_000,
            limits: BatchLimits {
                max_bytes_per_broker: 20_000_000_000,
                max_moves_per_broker: None,
            },
            additional: false,
            elect: true,
            poll_interval: Duration::from_secs(2),
            broker_down_grace: Duration::from_secs(300),
            unreachable_grace: Duration::from_secs(120),
            election_batch: super::elect::DEFAULT_BATCH,
            disallow_rf_change: false,
            log_dir_throttle: None,
            log_dir_start_timeout: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// Pre-flight refused to start (or resume); nothing was changed.
    #[error("{}", .0.join("\n"))]
    Refused(Vec<String>),
    /// The run stopped and cleaned up: the running batch is cancelled, throttles restored.
    #[error("{reason}\n{}", .lines.join("\n"))]
    Stopped { reason: String, lines: Vec<String> },
    /// The run could not clean up (the cluster is unreachable): throttles may still be
    /// set and moves in flight; the journal has what `--resume` and `cancel` need.
    #[error("{0}")]
    LostCluster(String),
    /// `cancel --journal` ran, but the broker refused to cancel some partitions (or to
    /// stop some log-dir moves): they still move, the journal is unchanged. `lines` has one
    /// line per partition of the batch; `retriable` when every refusal may pass with time.
    #[error("{}", .lines.join("\n"))]
    CancelIncomplete { lines: Vec<String>, retriable: bool },
    #[error("{0}")]
    Kafka(#[from] Error),
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// Progress of a run, for a progress bar or periodic lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// 1-based.
    pub batch: usize,
    pub batches: usize,
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub partitions_done: usize,
    pub partitions_total: usize,
    /// Intra-broker (log dir) moves: done, and in the whole plan.
    pub dir_moves_done: usize,
    pub dir_moves_total: usize,
    /// Bytes copied inside brokers by intra-broker moves, and their total.
    pub dir_bytes_done: u64,
    pub dir_bytes_total: u64,
}

/// Where a run reports to.
pub trait Reporter {
    fn progress(&mut self, p: &Progress);
    fn line(&mut self, text: &str);
}

/// A reporter that drops everything (tests).
#[derive(Debug, Default)]
pub struct Silent;

impl Reporter for Silent {
    fn progress(&mut self, _: &Progress) {}
    fn line(&mut self, _: &str) {}
}

/// Set by Ctrl-C (or a test): the run stops at its next poll and cleans up.
#[derive(Debug, Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What pre-flight found: the batches to run, and the partitions the plan leaves as they
/// are.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub state: JournalState,
    pub schedule: Schedule,
    pub unchanged: Vec<TopicPartition>,
    pub cluster: Cluster,
}

/// What a finished run did.
#[derive(Debug)]
pub struct Summary {
    pub batches: usize,
    pub bytes: u64,
    pub election: Option<ElectionReport>,
    pub status: BTreeMap<TopicPartition, PartitionStatus>,
    /// Every replica with a planned log directory, and where it is.
    pub dir_status: BTreeMap<(TopicPartition, BrokerId), DirState>,
    pub seconds: f64,
}

impl Summary {
    pub fn complete(&self) -> bool {
        self.status
            .values()
            .all(|s| *s == PartitionStatus::Completed)
            && self.dir_status.values().all(DirState::is_done)
    }
}

/// Turns a schedule into journal batches: each move carries the replicas it starts from
/// (the previous step's target, or the current replicas) and the bytes it copies.
pub fn journal_batches(cluster: &Cluster, schedule: &Schedule) -> Vec<JournalBatch> {
    let mut last: BTreeMap<TopicPartition, Vec<BrokerId>> = BTreeMap::new();
    schedule
        .batches
        .iter()
        .map(|b| {
            let moves = b
                .targets
                .iter()
                .map(|(tp, to)| {
                    let from = last.get(tp).cloned().unwrap_or_else(|| {
                        cluster
                            .partition_index(tp)
                            .map(|i| cluster.partitions[i].replicas.clone())
                            .unwrap_or_default()
                    });
                    last.insert(tp.clone(), to.clone());
                    let bytes = b
                        .copies
                        .iter()
                        .filter(|c| &c.tp == tp)
                        .map(|c| c.size)
                        .sum();
                    Move {
                        topic: tp.topic.clone(),
                        partition: tp.partition,
                        from,
                        to: to.clone(),
                        bytes,
                    }
                })
                .collect();
            JournalBatch { moves }
        })
        .collect()
}

fn tp_list(tps: &[TopicPartition]) -> String {
    tps.iter()
        .map(|tp| tp.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads the cluster and checks that the plan can start: every partition exists, every
/// target broker is live, the current replicas are the ones the plan was made from
/// (`fingerprint`, the plan's rollback), no other reassignment runs (unless
/// `additional`), none runs on a planned partition, and no target is smaller than the
/// topic's `min.insync.replicas`. Then batches the plan.
pub async fn prepare(
    admin: &impl Admin,
    plan: &Plan,
    fingerprint: Option<&Plan>,
    opts: &ApplyOptions,
    bootstrap: &str,
) -> Result<Prepared, ApplyError> {
    prepare_with_dirs(
        admin,
        plan,
        &DirTargets::new(),
        fingerprint,
        opts,
        bootstrap,
    )
    .await
}

/// [`prepare`] for a plan with explicit log directories (`log_dirs` entries other than
/// `"any"`): also checks that every named directory exists on its broker and is online,
/// and that no intra-broker move of another target runs on those replicas. A replica not
/// yet in its directory gets an intra-broker move: in the batch whose reassignment puts
/// it on the broker, or, for a replica that stays on its broker, in batches of their own
/// after the inter-broker ones (packed by the same per-broker byte limit).
pub async fn prepare_with_dirs(
    admin: &impl Admin,
    plan: &Plan,
    log_dirs: &DirTargets,
    fingerprint: Option<&Plan>,
    opts: &ApplyOptions,
    bootstrap: &str,
) -> Result<Prepared, ApplyError> {
    if plan.is_empty() {
        return Err(ApplyError::Refused(vec![
            "Partition reassignment list cannot be empty".into(),
        ]));
    }
    let snap = snapshot(admin, &SnapshotOptions::default()).await?;
    let cluster = snap.cluster;
    let live: BTreeSet<BrokerId> = admin
        .describe_cluster()
        .await?
        .brokers
        .iter()
        .filter(|b| !b.fenced)
        .map(|b| b.id)
        .collect();
    let mut problems = Vec::new();
    let topics: BTreeSet<&str> = cluster
        .partitions
        .iter()
        .map(|p| p.tp.topic.as_str())
        .collect();
    let mut missing_topics = BTreeSet::new();
    let mut missing_parts = Vec::new();
    let mut current: BTreeMap<TopicPartition, Vec<BrokerId>> = BTreeMap::new();
    for (tp, target) in &plan.changes {
        match cluster.partition_index(tp) {
            Some(i) => {
                current.insert(tp.clone(), cluster.partitions[i].replicas.clone());
            }
            None if !topics.contains(tp.topic.as_str()) => {
                missing_topics.insert(tp.topic.clone());
            }
            None => missing_parts.push(tp.clone()),
        }
        for b in target {
            if !live.contains(b) {
                problems.push(format!(
                    "{tp}: target broker {b} is not a live broker of the cluster (Unknown broker id {b})"
                ));
            }
        }
    }
    for t in &missing_topics {
        problems.push(format!("Topic {t} not found."));
    }
    if !missing_parts.is_empty() {
        problems.push(format!(
            "Unable to find partition: {}",
            tp_list(&missing_parts)
        ));
    }
    let in_flight = admin.list_reassignments(None).await?;
    for (tp, o) in &in_flight {
        if plan.changes.contains_key(tp) {
            problems.push(format!(
                "{tp}: a reassignment is in flight on this partition (replicas {}, adding {}, removing {}); wait for it or cancel it first",
                join_ids(&o.replicas),
                join_ids(&o.adding),
                join_ids(&o.removing)
            ));
        }
    }
    if !in_flight.is_empty() && !opts.additional {
        problems.push(format!(
            "Cannot execute because there is an existing partition assignment.  Use --additional to override this and create a new partition assignment in addition to the existing one. ({} in flight: {})",
            in_flight.len(),
            tp_list(&in_flight.keys().take(10).cloned().collect::<Vec<_>>())
        ));
    }
    if let Some(fp) = fingerprint {
        for (tp, now) in &current {
            match fp.changes.get(tp) {
                Some(expected) if expected != now => problems.push(format!(
                    "{tp}: replicas are {} but the plan was made from {}: the cluster changed since the plan was made; plan again",
                    join_ids(now),
                    join_ids(expected)
                )),
                Some(_) => {}
                None => problems.push(format!(
                    "{tp}: not in the rollback JSON the plan was checked against"
                )),
            }
        }
    }
    if opts.disallow_rf_change {
        for (tp, target) in &plan.changes {
            if let Some(now) = current.get(tp) {
                if now.len() != target.len() {
                    problems.push(format!(
                        "{tp}: The replication factor is changed from {} to {}",
                        now.len(),
                        target.len()
                    ));
                }
            }
        }
    }
    let min_isr = min_insync(admin, plan).await?;
    for (tp, target) in &plan.changes {
        if let Some(&m) = min_isr.get(&tp.topic) {
            if (target.len() as i64) < m {
                problems.push(format!(
                    "{tp}: the target has {} replicas, fewer than the topic's min.insync.replicas={m}",
                    target.len()
                ));
            }
        }
    }
    let from_dirs = check_log_dirs(admin, plan, log_dirs, &mut problems).await?;
    if !problems.is_empty() {
        return Err(ApplyError::Refused(problems));
    }
    let mut changes = Plan::default();
    let mut unchanged = Vec::new();
    for (tp, target) in &plan.changes {
        if current.get(tp) == Some(target) {
            unchanged.push(tp.clone());
        } else {
            changes.changes.insert(tp.clone(), target.clone());
        }
    }
    let schedule = schedule(&cluster, &changes, &opts.limits);
    let original = Plan { changes: current };
    let mut batches = journal_batches(&cluster, &schedule);
    let dir_moves = plan_dir_moves(&cluster, &mut batches, log_dirs, &from_dirs, &opts.limits);
    let state = JournalState::new(plan, &original, bootstrap, opts.throttle, batches)
        .with_log_dirs(log_dirs, dir_moves, opts.log_dir_throttle);
    Ok(Prepared {
        state,
        schedule,
        unchanged,
        cluster,
    })
}

/// Pre-flight of the planned log directories; returns each replica's directory now
/// (`None` for a replica not on its broker yet). Problems name the partition, broker and
/// path.
async fn check_log_dirs(
    admin: &impl Admin,
    plan: &Plan,
    log_dirs: &DirTargets,
    problems: &mut Vec<String>,
) -> Result<BTreeMap<(TopicPartition, BrokerId), Option<String>>, Error> {
    let mut from = BTreeMap::new();
    if log_dirs.is_empty() {
        return Ok(from);
    }
    let brokers: Vec<BrokerId> = log_dirs
        .keys()
        .map(|(_, b)| *b)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let all = admin.describe_log_dirs(&brokers).await?;
    for ((tp, b), dir) in log_dirs {
        if !plan.changes.get(tp).is_some_and(|r| r.contains(b)) {
            problems.push(format!(
                "{tp}: log dir {dir} is given for broker {b}, which is not among the partition's target replicas"
            ));
            continue;
        }
        let dirs = match all.get(b) {
            Some(Ok(d)) => d,
            Some(Err(e)) => {
                problems.push(format!(
                    "{tp}: cannot read the log dirs of broker {b} to check {dir}: {e}"
                ));
                continue;
            }
            None => {
                problems.push(format!("{tp}: broker {b} did not describe its log dirs"));
                continue;
            }
        };
        match dirs.iter().find(|d| &d.path == dir) {
            None => problems.push(format!(
                "{tp}: broker {b} has no log dir {dir} (its log dirs: {})",
                dirs.iter()
                    .map(|d| d.path.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Some(d) if d.error.is_some() => problems.push(format!(
                "{tp}: log dir {dir} of broker {b} is offline ({})",
                d.error.as_ref().map(|e| e.to_string()).unwrap_or_default()
            )),
            Some(_) => {}
        }
        let mut current = None;
        for d in dirs {
            for r in d.replicas.iter().filter(|r| &r.tp == tp) {
                if r.is_future && &d.path != dir {
                    problems.push(format!(
                        "{tp}: an intra-broker move of its replica on broker {b} to {} is in flight (not {dir}); wait for it or cancel it first",
                        d.path
                    ));
                } else if !r.is_future {
                    current = Some(d.path.clone());
                }
            }
        }
        from.insert((tp.clone(), *b), current);
    }
    Ok(from)
}

/// The intra-broker moves of a plan: one per replica not yet in its planned directory,
/// in the batch that last moves its partition (that reassignment creates or keeps the
/// replica on the broker), else in batches of their own appended to `batches`, each
/// holding at most `limits.max_bytes_per_broker` per broker (at least one move).
fn plan_dir_moves(
    cluster: &Cluster,
    batches: &mut Vec<JournalBatch>,
    log_dirs: &DirTargets,
    from_dirs: &BTreeMap<(TopicPartition, BrokerId), Option<String>>,
    limits: &BatchLimits,
) -> Vec<DirMove> {
    let mut last_batch: BTreeMap<TopicPartition, usize> = BTreeMap::new();
    for (i, b) in batches.iter().enumerate() {
        for m in &b.moves {
            last_batch.insert(m.tp(), i);
        }
    }
    let mut out = Vec::new();
    let mut own: Vec<DirMove> = Vec::new();
    for ((tp, b), dir) in log_dirs {
        let from_dir = from_dirs.get(&(tp.clone(), *b)).cloned().flatten();
        if from_dir.as_ref() == Some(dir) {
            continue;
        }
        let bytes = cluster
            .partition_index(tp)
            .map(|i| cluster.partitions[i].size_bytes)
            .unwrap_or(0);
        let m = DirMove {
            batch: 0,
            topic: tp.topic.clone(),
            partition: tp.partition,
            broker: *b,
            from_dir,
            dir: dir.clone(),
            bytes,
        };
        match last_batch.get(tp) {
            Some(&k) => out.push(DirMove { batch: k, ..m }),
            None => own.push(m),
        }
    }
    let mut per_broker: BTreeMap<BrokerId, u64> = BTreeMap::new();
    let mut open_batch: Option<usize> = None;
    for m in own {
        let used = per_broker.get(&m.broker).copied().unwrap_or(0);
        let k = match open_batch {
            Some(k) if used + m.bytes <= limits.max_bytes_per_broker => k,
            _ => {
                batches.push(JournalBatch::default());
                per_broker.clear();
                batches.len() - 1
            }
        };
        open_batch = Some(k);
        *per_broker.entry(m.broker).or_default() += m.bytes;
        out.push(DirMove { batch: k, ..m });
    }
    out.sort_by_key(|m| (m.batch, m.tp(), m.broker));
    out
}

/// `min.insync.replicas` per planned topic (topics whose config cannot be read are left
/// out: the broker enforces it anyway).
async fn min_insync(admin: &impl Admin, plan: &Plan) -> Result<BTreeMap<String, i64>, Error> {
    let topics: BTreeSet<String> = plan.changes.keys().map(|tp| tp.topic.clone()).collect();
    let resources: Vec<ConfigResource> = topics.into_iter().map(ConfigResource::Topic).collect();
    let keys = vec!["min.insync.replicas".to_string()];
    let configs = admin.describe_configs(&resources, Some(&keys)).await?;
    Ok(configs
        .into_iter()
        .filter_map(|(r, entries)| {
            let ConfigResource::Topic(t) = r else {
                return None;
            };
            let v = entries
                .ok()?
                .into_iter()
                .find(|e| e.name == "min.insync.replicas")?
                .value?;
            Some((t, v.parse().ok()?))
        })
        .collect())
}

/// The state of one move of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
enum MoveState {
    NotStarted,
    InFlight,
    Done,
    /// Neither the batch's start nor its target, nor moving to it.
    Elsewhere(String),
}

fn classify(
    m: &Move,
    current: Option<&Vec<BrokerId>>,
    ongoing: Option<&OngoingReassignment>,
) -> MoveState {
    if let Some(o) = ongoing {
        let target: Vec<BrokerId> = o
            .replicas
            .iter()
            .copied()
            .filter(|b| !o.removing.contains(b))
            .collect();
        return if target == m.to {
            MoveState::InFlight
        } else {
            MoveState::Elsewhere(format!(
                "{}: moving to {}, not to {} as the plan's batch says; cancel that move or re-plan",
                m.tp(),
                join_ids(&target),
                join_ids(&m.to)
            ))
        };
    }
    match current {
        Some(c) if *c == m.to => MoveState::Done,
        Some(c) if *c == m.from => MoveState::NotStarted,
        Some(c) => MoveState::Elsewhere(format!(
            "{}: replicas are {}, expected {} (before this batch) or {} (after it); the cluster changed under the plan",
            m.tp(),
            join_ids(c),
            join_ids(&m.from),
            join_ids(&m.to)
        )),
        None => MoveState::Elsewhere(format!("{}: the partition no longer exists", m.tp())),
    }
}

/// The state of every move of a batch.
async fn batch_states(admin: &impl Admin, batch: &JournalBatch) -> Result<Vec<MoveState>, Error> {
    let tps = batch.partitions();
    let ongoing = admin.list_reassignments(Some(&tps)).await?;
    let current = super::current_replicas(admin, &tps).await?;
    Ok(batch
        .moves
        .iter()
        .map(|m| classify(m, current.get(&m.tp()), ongoing.get(&m.tp())))
        .collect())
}

/// Retries a call on retriable errors until `grace` has passed. Only for calls that are
/// idempotent in effect (reads, and the throttle changes: SET to the same value, APPEND of
/// an entry already there, SUBTRACT or DELETE of one gone are no-ops), so an answer lost
/// after the broker acted (`OutcomeUnknown`) is safe to resend too.
async fn patient<T, F, Fut>(grace: Duration, poll: Duration, mut f: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Error>>,
{
    let start = Instant::now();
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e)
                if (e.is_retriable() || matches!(e, Error::OutcomeUnknown { .. }))
                    && start.elapsed() < grace =>
            {
                tokio::time::sleep(poll.min(Duration::from_secs(1))).await;
            }
            Err(e) => return Err(e),
        }
    }
}

struct Runner<'a, A: Admin, R: Reporter> {
    admin: &'a A,
    journal: &'a mut Journal,
    opts: &'a ApplyOptions,
    reporter: &'a mut R,
    stop: &'a StopFlag,
}

/// Why the copy wait ended early.
enum WaitEnd {
    Stop(String),
    Lost(String),
}

impl<A: Admin, R: Reporter> Runner<'_, A, R> {
    fn batch(&self) -> JournalBatch {
        self.journal.state.batches[self.journal.state.current_batch].clone()
    }

    fn k(&self) -> usize {
        self.journal.state.current_batch
    }

    fn record(&mut self, phase: Phase, event: &str) -> Result<(), ApplyError> {
        self.journal.state.phase = phase;
        let k = self.k();
        self.journal.record(Some(k), event)?;
        Ok(())
    }

    /// The intra-broker moves of the running batch: replica → planned directory.
    fn dir_targets(&self) -> DirTargets {
        self.journal
            .state
            .batch_dir_moves(self.k())
            .into_iter()
            .map(|m| ((m.tp(), m.broker), m.dir))
            .collect()
    }

    fn progress(&mut self, in_batch_bytes: u64, in_batch_done: usize, dirs: DirProgress) {
        let s = &self.journal.state;
        let (dir_bytes_before, dir_bytes_total) = s.dir_bytes();
        let dir_done_before = s
            .dir_moves
            .iter()
            .filter(|m| m.batch < s.current_batch)
            .count();
        let done_parts: usize = s
            .batches
            .iter()
            .take(s.current_batch)
            .map(|b| b.moves.len())
            .sum();
        let p = Progress {
            batch: (s.current_batch + 1).min(s.batches.len()),
            batches: s.batches.len(),
            bytes_done: s.done_bytes() + in_batch_bytes,
            bytes_total: s.total_bytes(),
            partitions_done: done_parts + in_batch_done,
            partitions_total: s.batches.iter().map(|b| b.moves.len()).sum(),
            dir_moves_done: dir_done_before + dirs.done,
            dir_moves_total: s.dir_moves.len(),
            dir_bytes_done: dir_bytes_before + dirs.bytes,
            dir_bytes_total,
        };
        self.reporter.progress(&p);
    }

    /// Sets the throttles for the moves still to copy, recording the ledger first.
    async fn set_throttles(
        &mut self,
        batch: &JournalBatch,
        states: &[MoveState],
        pending_dirs: &DirTargets,
    ) -> Result<(), ApplyError> {
        let moves: Vec<(TopicPartition, Vec<BrokerId>, Vec<BrokerId>)> = batch
            .moves
            .iter()
            .zip(states)
            .filter(|(_, s)| matches!(s, MoveState::NotStarted | MoveState::InFlight))
            .map(|(m, _)| (m.tp(), m.from.clone(), m.to.clone()))
            .collect();
        let wanted = wanted_throttles(moves.iter().map(|(tp, f, t)| (tp, &f[..], &t[..])));
        let topics: BTreeSet<String> = wanted
            .leader
            .keys()
            .chain(wanted.follower.keys())
            .cloned()
            .collect();
        // The log-dir throttle goes to the brokers with intra-broker moves to make.
        let dir_brokers: BTreeSet<BrokerId> = match self.opts.log_dir_throttle {
            Some(_) => pending_dirs.keys().map(|(_, b)| *b).collect(),
            None => BTreeSet::new(),
        };
        let read_brokers: BTreeSet<BrokerId> =
            wanted.brokers.union(&dir_brokers).copied().collect();
        let resources = resources_to_read(&read_brokers, &topics);
        let keys = throttle_keys();
        let current = if resources.is_empty() {
            BTreeMap::new()
        } else {
            patient(self.opts.unreachable_grace, self.opts.poll_interval, || {
                self.admin.describe_configs(&resources, Some(&keys))
            })
            .await?
        };
        if let Some((r, e)) = first_read_error(&current) {
            return Err(ApplyError::Refused(vec![format!(
                "cannot read the throttle configs of {r}: {e}"
            )]));
        }
        let mut ledger = build_ledger(self.opts.throttle, &wanted, &current);
        if let Some(rate) = self.opts.log_dir_throttle {
            ledger.record_log_dir_rate(rate, &dir_brokers, &current);
        }
        // A resumed batch keeps what the first run recorded: those are the values from
        // before kafka-replan. The rate is this run's (set again on every broker below).
        match &mut self.journal.state.ledger {
            Some(existing) => {
                existing.merge(ledger);
                existing.rate = self.opts.throttle;
            }
            None => self.journal.state.ledger = Some(ledger),
        }
        self.record(Phase::SettingThrottles, "throttle ledger recorded")?;
        self.send_throttles().await
    }

    async fn send_throttles(&mut self) -> Result<(), ApplyError> {
        let Some(ledger) = self.journal.state.ledger.clone() else {
            return Ok(());
        };
        let ops = ledger.set_ops();
        if !ops.is_empty() {
            let outcomes = patient(self.opts.unreachable_grace, self.opts.poll_interval, || {
                self.admin.incremental_alter_configs(&ops)
            })
            .await?;
            if let Some((r, Err(e))) = outcomes.iter().find(|(_, r)| r.is_err()) {
                return Err(ApplyError::Stopped {
                    reason: format!("could not set the throttle on {r}: {e}"),
                    lines: Vec::new(),
                });
            }
        }
        self.record(Phase::Submitting, "throttles set")?;
        Ok(())
    }

    /// Puts the throttle configs back as the ledger says, then forgets the ledger. The rates
    /// of brokers that are down (their configs can only be read and changed through them)
    /// stay in the ledger, for `apply --resume` or `cancel` once they are back; returns
    /// those brokers.
    async fn restore_throttles(&mut self) -> Result<BTreeSet<BrokerId>, Error> {
        let Some(mut ledger) = self.journal.state.ledger.clone() else {
            return Ok(BTreeSet::new());
        };
        let live: BTreeSet<BrokerId> =
            patient(self.opts.unreachable_grace, self.opts.poll_interval, || {
                self.admin.describe_cluster()
            })
            .await?
            .brokers
            .iter()
            .filter(|b| !b.fenced)
            .map(|b| b.id)
            .collect();
        let later = ledger.split_off_brokers(|b| !live.contains(&b));
        restore(self.admin, &ledger, self.opts).await?;
        let down = later
            .as_ref()
            .map(ThrottleLedger::broker_ids)
            .unwrap_or_default();
        self.journal.state.ledger = later;
        Ok(down)
    }

    /// Submits the moves not started yet. A submission whose answer was lost is checked
    /// against the cluster, and only moves that did not start are sent again.
    async fn submit(&mut self, batch: &JournalBatch) -> Result<(), ApplyError> {
        for _attempt in 0..3 {
            let states = patient(self.opts.unreachable_grace, self.opts.poll_interval, || {
                batch_states(self.admin, batch)
            })
            .await?;
            if let Some(MoveState::Elsewhere(why)) =
                states.iter().find(|s| matches!(s, MoveState::Elsewhere(_)))
            {
                return Err(ApplyError::Stopped {
                    reason: why.clone(),
                    lines: Vec::new(),
                });
            }
            let targets: BTreeMap<TopicPartition, Option<Vec<BrokerId>>> = batch
                .moves
                .iter()
                .zip(&states)
                .filter(|(_, s)| **s == MoveState::NotStarted)
                .map(|(m, _)| (m.tp(), Some(m.to.clone())))
                .collect();
            if targets.is_empty() {
                self.record(Phase::Copying, "submitted")?;
                return Ok(());
            }
            let allow_rf_change = !self.opts.disallow_rf_change
                && batch.moves.iter().any(|m| m.from.len() != m.to.len());
            match self
                .admin
                .alter_reassignments(&targets, allow_rf_change)
                .await
            {
                Ok(outcomes) => {
                    let failed: Vec<String> = outcomes
                        .iter()
                        .filter_map(|(tp, r)| r.as_ref().err().map(|e| format!("{tp}: {e}")))
                        .collect();
                    if !failed.is_empty() {
                        return Err(ApplyError::Stopped {
                            reason: "Error reassigning partition(s):".into(),
                            lines: failed,
                        });
                    }
                    self.record(
                        Phase::Copying,
                        &format!("submitted {} partitions", targets.len()),
                    )?;
                    return Ok(());
                }
                Err(e) if e.is_retriable() || matches!(e, Error::OutcomeUnknown { .. }) => {
                    self.reporter.line(&format!(
                        "submission of batch {}: {e}; checking the cluster",
                        self.k() + 1
                    ));
                    tokio::time::sleep(self.opts.poll_interval.min(Duration::from_secs(1))).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(ApplyError::Stopped {
            reason: format!(
                "batch {}: the submission could not be confirmed after 3 attempts",
                self.k() + 1
            ),
            lines: Vec::new(),
        })
    }

    /// Waits until every move of the batch completes, reporting progress.
    async fn wait(&mut self, batch: &JournalBatch) -> Result<(), WaitEnd> {
        let tps = batch.partitions();
        let brokers: BTreeSet<BrokerId> = batch
            .moves
            .iter()
            .flat_map(|m| m.from.iter().chain(m.to.iter()).copied())
            .chain(self.dir_targets().keys().map(|(_, b)| *b))
            .collect();
        let mut last_ok = Instant::now();
        let mut missing_since: BTreeMap<BrokerId, Instant> = BTreeMap::new();
        // When the controller reports no reassignment left, the broker answering the
        // metadata request may not have caught up yet (e.g. one that just restarted).
        let mut ended_at: Option<Instant> = None;
        // The replica read below has its own clock: the polls above may keep succeeding
        // (resetting `last_ok`) while the broker answering Metadata keeps failing, and
        // without a bound of its own that `continue` would poll forever.
        let mut metadata_failing_since: Option<Instant> = None;
        loop {
            if self.stop.is_set() {
                return Err(WaitEnd::Stop("interrupted".into()));
            }
            let polled = async {
                let ongoing = self.admin.list_reassignments(Some(&tps)).await?;
                let live: BTreeSet<BrokerId> = self
                    .admin
                    .describe_cluster()
                    .await?
                    .brokers
                    .iter()
                    .filter(|b| !b.fenced)
                    .map(|b| b.id)
                    .collect();
                Ok::<_, Error>((ongoing, live))
            }
            .await;
            let (ongoing, live) = match polled {
                Ok(v) => {
                    last_ok = Instant::now();
                    v
                }
                Err(e) if e.is_retriable() => {
                    if last_ok.elapsed() >= self.opts.unreachable_grace {
                        return Err(WaitEnd::Lost(format!(
                            "lost the cluster for {} s: {e}",
                            last_ok.elapsed().as_secs()
                        )));
                    }
                    tokio::time::sleep(self.opts.poll_interval).await;
                    continue;
                }
                Err(e) => return Err(WaitEnd::Stop(e.to_string())),
            };
            let now = Instant::now();
            for b in &brokers {
                if live.contains(b) {
                    if missing_since.remove(b).is_some() {
                        self.reporter.line(&format!("broker {b} is back"));
                    }
                } else if !missing_since.contains_key(b) {
                    missing_since.insert(*b, now);
                    self.reporter.line(&format!(
                        "broker {b} (in batch {}) is down; waiting up to {} s for it",
                        self.k() + 1,
                        self.opts.broker_down_grace.as_secs()
                    ));
                }
            }
            if let Some((b, _)) = missing_since
                .iter()
                .find(|(_, t)| t.elapsed() >= self.opts.broker_down_grace)
            {
                return Err(WaitEnd::Stop(format!(
                    "broker {b} has been down for {} s during batch {}",
                    self.opts.broker_down_grace.as_secs(),
                    self.k() + 1
                )));
            }
            if ongoing.is_empty() {
                let current = match super::current_replicas(self.admin, &tps).await {
                    Ok(c) => {
                        metadata_failing_since = None;
                        c
                    }
                    Err(e) if e.is_retriable() => {
                        let since = *metadata_failing_since.get_or_insert(now);
                        if since.elapsed() >= self.opts.unreachable_grace {
                            return Err(WaitEnd::Lost(format!(
                                "could not read the replicas of batch {} for {} s: {e}",
                                self.k() + 1,
                                since.elapsed().as_secs()
                            )));
                        }
                        tokio::time::sleep(self.opts.poll_interval).await;
                        continue;
                    }
                    Err(e) => return Err(WaitEnd::Stop(e.to_string())),
                };
                let wrong: Vec<String> = batch
                    .moves
                    .iter()
                    .filter_map(|m| match classify(m, current.get(&m.tp()), None) {
                        MoveState::Done => None,
                        MoveState::Elsewhere(why) => Some(why),
                        MoveState::NotStarted | MoveState::InFlight => Some(format!(
                            "{}: the move ended without reaching its target (replicas {})",
                            m.tp(),
                            join_ids(current.get(&m.tp()).map(Vec::as_slice).unwrap_or(&[]))
                        )),
                    })
                    .collect();
                if !wrong.is_empty() {
                    if ended_at.get_or_insert(now).elapsed() < METADATA_SETTLE {
                        tokio::time::sleep(self.opts.poll_interval).await;
                        continue;
                    }
                    return Err(WaitEnd::Stop(wrong.join("\n")));
                }
                match self.dir_progress().await {
                    Ok(d) if d.all_done => {
                        self.progress(batch.bytes(), batch.moves.len(), d);
                        return Ok(());
                    }
                    Ok(d) => self.progress(batch.bytes(), batch.moves.len(), d),
                    Err(why) => return Err(WaitEnd::Stop(why)),
                }
                tokio::time::sleep(self.opts.poll_interval).await;
                continue;
            }
            ended_at = None;
            let copied = self.copied_bytes(batch, &ongoing).await;
            let done = batch.moves.len() - ongoing.len().min(batch.moves.len());
            let dirs = match self.dir_progress().await {
                Ok(d) => d,
                Err(why) => return Err(WaitEnd::Stop(why)),
            };
            self.progress(copied, done, dirs);
            tokio::time::sleep(self.opts.poll_interval).await;
        }
    }

    /// Starts the batch's intra-broker moves (AlterReplicaLogDirs), as Kafka's tool does
    /// after submitting the reassignment: a replica the reassignment adds to a broker does
    /// not exist there at once, so REPLICA_NOT_AVAILABLE is retried every 100 ms for up to
    /// `log_dir_start_timeout` (the broker remembers the directory and creates the replica
    /// in it). Moves already copying or done are not sent again. Safe to run again on
    /// resume: asking for the directory a move heads to changes nothing.
    async fn start_dir_moves(&mut self) -> Result<(), ApplyError> {
        let targets = self.dir_targets();
        if targets.is_empty() {
            return Ok(());
        }
        let states = patient(self.opts.unreachable_grace, self.opts.poll_interval, || {
            dir_states(self.admin, &targets)
        })
        .await?;
        let mut pending = DirTargets::new();
        for (k, dir) in &targets {
            match states.get(k) {
                Some(DirState::Done | DirState::Moving { .. }) => {}
                Some(DirState::MovingElsewhere { future, .. }) => {
                    return Err(ApplyError::Stopped {
                        reason: format!(
                            "Partition {} on broker {} is being moved to log dir {future} instead of {dir}; cancel that move or re-plan",
                            k.0, k.1
                        ),
                        lines: Vec::new(),
                    })
                }
                _ => {
                    pending.insert(k.clone(), dir.clone());
                }
            }
        }
        let started = Instant::now();
        let mut unreachable_since: Option<Instant> = None;
        let mut started_lines = Vec::new();
        while !pending.is_empty() {
            if self.stop.is_set() {
                return Err(ApplyError::Stopped {
                    reason: "interrupted".into(),
                    lines: Vec::new(),
                });
            }
            let mut failed = Vec::new();
            let mut unreachable = None;
            for ((tp, b), r) in send_moves(self.admin, &pending).await {
                let Some(dir) = pending.get(&(tp.clone(), b)).cloned() else {
                    continue;
                };
                match r {
                    Ok(()) => {
                        started_lines.push(format!(
                            "Successfully started moving log directory to {dir} for replica {tp} with broker {b}"
                        ));
                        pending.remove(&(tp, b));
                    }
                    Err(e)
                        if matches!(
                            e.code(),
                            Some(REPLICA_NOT_AVAILABLE | NOT_LEADER_OR_FOLLOWER)
                        ) => {}
                    Err(e) if e.is_retriable() || matches!(e, Error::OutcomeUnknown { .. }) => {
                        unreachable = Some(e);
                    }
                    Err(e) => {
                        failed.push(format!("Failed to alter dir for {tp}-{b} to {dir}: {e}"))
                    }
                }
            }
            for l in started_lines.drain(..) {
                self.reporter.line(&l);
            }
            if !failed.is_empty() {
                return Err(ApplyError::Stopped {
                    reason: "Error moving replica(s) between log dirs:".into(),
                    lines: failed,
                });
            }
            match unreachable {
                Some(e) => {
                    let since = *unreachable_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= self.opts.unreachable_grace {
                        return Err(ApplyError::Kafka(e));
                    }
                }
                None => unreachable_since = None,
            }
            if !pending.is_empty() && started.elapsed() >= self.opts.log_dir_start_timeout {
                let names: Vec<String> =
                    pending.keys().map(|(tp, b)| format!("{tp}-{b}")).collect();
                return Err(ApplyError::Stopped {
                    reason: format!(
                        "Timed out before log directory move{} could be started for: {}",
                        if names.len() == 1 { "" } else { "s" },
                        names.join(",")
                    ),
                    lines: Vec::new(),
                });
            }
            if !pending.is_empty() {
                tokio::time::sleep(
                    LOG_DIR_RETRY.min(self.opts.poll_interval.max(Duration::from_millis(1))),
                )
                .await;
            }
        }
        let k = self.k();
        self.journal.record(Some(k), "log-dir moves started")?;
        Ok(())
    }

    /// The batch's intra-broker moves as DescribeLogDirs shows them. A move that stopped
    /// (the replica is neither in its directory nor copying there, e.g. a broker created it
    /// elsewhere) is asked for again; one heading to another directory or whose replica sits
    /// in an offline directory stops the run. A failed read counts nothing as done.
    async fn dir_progress(&mut self) -> Result<DirProgress, String> {
        let moves = self.journal.state.batch_dir_moves(self.k());
        if moves.is_empty() {
            return Ok(DirProgress {
                all_done: true,
                ..DirProgress::default()
            });
        }
        let targets = self.dir_targets();
        let Ok(states) = dir_states(self.admin, &targets).await else {
            return Ok(DirProgress::default());
        };
        let mut p = DirProgress::default();
        let mut again = DirTargets::new();
        for m in &moves {
            let k = (m.tp(), m.broker);
            match states.get(&k) {
                Some(DirState::Done) => {
                    p.done += 1;
                    p.bytes += m.bytes;
                }
                Some(DirState::Moving { copied, .. }) => p.bytes += (*copied).min(m.bytes),
                Some(DirState::MovingElsewhere { future, .. }) => {
                    return Err(format!(
                        "Partition {} on broker {} is being moved to log dir {future} instead of {}",
                        m.tp(),
                        m.broker,
                        m.dir
                    ))
                }
                Some(DirState::InOfflineDir) => {
                    return Err(format!(
                        "Partition {} is not found in any live log dir on broker {}: a log dir of the broker is offline",
                        m.tp(),
                        m.broker
                    ))
                }
                Some(DirState::NotMoving { .. }) => {
                    again.insert(k, m.dir.clone());
                }
                // Not created yet (its reassignment runs) or the broker is down (the
                // broker-down grace of the wait decides).
                Some(DirState::Missing) | Some(DirState::Unreadable(_)) | None => {}
            }
        }
        for ((tp, b), r) in send_moves(self.admin, &again).await {
            if let Err(e) = r {
                if !(e.is_retriable()
                    || matches!(
                        e.code(),
                        Some(REPLICA_NOT_AVAILABLE | NOT_LEADER_OR_FOLLOWER)
                    ))
                {
                    return Err(format!("Failed to alter dir for {tp}-{b}: {e}"));
                }
            }
        }
        p.all_done = p.done == moves.len();
        Ok(p)
    }

    /// Bytes the batch has copied: finished moves in full, running ones by the size of
    /// their new replicas (DescribeLogDirs). Best effort: a failed read reports finished
    /// moves only.
    async fn copied_bytes(
        &self,
        batch: &JournalBatch,
        ongoing: &BTreeMap<TopicPartition, OngoingReassignment>,
    ) -> u64 {
        let mut done = 0u64;
        let mut running: BTreeMap<(TopicPartition, BrokerId), u64> = BTreeMap::new();
        for m in &batch.moves {
            let tp = m.tp();
            if !ongoing.contains_key(&tp) {
                done += m.bytes;
                continue;
            }
            let added = m.added();
            let per = m.bytes / added.len().max(1) as u64;
            for b in added {
                running.insert((tp.clone(), b), per);
            }
        }
        if running.is_empty() {
            return done;
        }
        let dests: Vec<BrokerId> = running
            .keys()
            .map(|(_, b)| *b)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if let Ok(dirs) = self.admin.describe_log_dirs(&dests).await {
            for (b, r) in dirs {
                let Ok(dirs) = r else { continue };
                for d in dirs {
                    for rep in d.replicas {
                        if rep.is_future {
                            continue;
                        }
                        if let Some(want) = running.get(&(rep.tp.clone(), b)) {
                            done += rep.size_bytes.min(*want);
                        }
                    }
                }
            }
        }
        done
    }

    /// Cancels the running batch's unfinished moves (restoring their order), restores the
    /// throttles and records the stop. If the cluster cannot be reached for that, the
    /// journal keeps the batch as it is for `--resume` or `cancel`.
    async fn stop_batch(&mut self, reason: String, mut lines: Vec<String>) -> ApplyError {
        let batch = self.batch();
        let mut dir_lines = Vec::new();
        let cleanup = async {
            let outcomes = if self.journal.state.phase == Phase::Copying
                || self.journal.state.phase == Phase::Submitting
            {
                // A broken reply often comes with a dropped connection, so the first
                // cleanup call may fail too; the cancel re-reads what is in flight each
                // time (a resend cancels nothing twice), so it gets the same patience as
                // the throttle restore rather than giving the rollback up at once.
                let dirs = self.dir_targets();
                let stopped = patient(self.opts.unreachable_grace, self.opts.poll_interval, || {
                    stop_moves(self.admin, &dirs)
                })
                .await?;
                dir_lines.extend(stopped);
                let (targets, sources) = (batch.targets(), batch.sources());
                let o = patient(self.opts.unreachable_grace, self.opts.poll_interval, || {
                    cancel_plan(self.admin, &targets, Some(&sources))
                })
                .await?;
                reelect_cancelled(self.admin, &o, self.opts).await;
                o
            } else {
                BTreeMap::new()
            };
            let down = self.restore_throttles().await?;
            Ok::<_, Error>((outcomes, down))
        }
        .await;
        match cleanup {
            Ok((outcomes, down)) => {
                lines.extend(dir_lines);
                lines.extend(cancel_lines(&outcomes));
                if !down.is_empty() {
                    lines.push(format!(
                        "the throttle rate of broker(s) {} (down) stays set until `apply --resume` or `cancel` runs with this journal once they are back",
                        join_ids(&down.iter().copied().collect::<Vec<_>>())
                    ));
                }
                self.journal.state.stop_reason = Some(reason.clone());
                if let Err(e) = self.record(Phase::Stopped, &format!("stopped: {reason}")) {
                    return e;
                }
                lines.push(format!(
                    "batch {} was rolled back and the throttles restored; `apply --resume` runs it again, `cancel` leaves the cluster as it is now",
                    self.k() + 1
                ));
                ApplyError::Stopped { reason, lines }
            }
            Err(e) => ApplyError::LostCluster(format!(
                "{reason}\ncould not clean up: {e}\nmoves of batch {} may still be in flight and the throttles set; run `apply --resume` or `cancel` with this journal once the cluster is reachable",
                self.k() + 1
            )),
        }
    }

    async fn run_batches(&mut self) -> Result<(), ApplyError> {
        while self.k() < self.journal.state.batches.len() {
            let batch = self.batch();
            let k = self.k();
            if self.stop.is_set() && !self.journal.state.batch_active() {
                self.journal.state.stop_reason = Some("interrupted".into());
                self.record(Phase::Stopped, "stopped before the batch: interrupted")?;
                return Err(ApplyError::Stopped {
                    reason: "interrupted".into(),
                    lines: vec![format!(
                        "stopped between batches; `apply --resume` continues with batch {}",
                        k + 1
                    )],
                });
            }
            let step: Result<(), ApplyError> = async {
                match self.journal.state.phase {
                    Phase::Ready | Phase::Stopped | Phase::Cancelled => {
                        let states =
                            patient(self.opts.unreachable_grace, self.opts.poll_interval, || {
                                batch_states(self.admin, &batch)
                            })
                            .await?;
                        if let Some(MoveState::Elsewhere(why)) =
                            states.iter().find(|s| matches!(s, MoveState::Elsewhere(_)))
                        {
                            return Err(ApplyError::Refused(vec![why.clone()]));
                        }
                        let dirs = self.dir_targets();
                        let dir_now =
                            patient(self.opts.unreachable_grace, self.opts.poll_interval, || {
                                dir_states(self.admin, &dirs)
                            })
                            .await?;
                        let pending_dirs: DirTargets = dirs
                            .iter()
                            .filter(|(k, _)| !dir_now.get(*k).is_some_and(DirState::is_done))
                            .map(|(k, d)| (k.clone(), d.clone()))
                            .collect();
                        if states.iter().all(|s| *s == MoveState::Done) && pending_dirs.is_empty() {
                            self.record(Phase::RestoringThrottles, "batch already complete")?;
                            return Ok(());
                        }
                        let mut line = format!(
                            "batch {} of {}: {} partitions, {}",
                            k + 1,
                            self.journal.state.batches.len(),
                            batch.moves.len(),
                            crate::formats::report::human_bytes(batch.bytes())
                        );
                        if !dirs.is_empty() {
                            let bytes: u64 = self
                                .journal
                                .state
                                .batch_dir_moves(k)
                                .iter()
                                .map(|m| m.bytes)
                                .sum();
                            line.push_str(&format!(
                                ", {} intra-broker (log dir) moves, {}",
                                dirs.len(),
                                crate::formats::report::human_bytes(bytes)
                            ));
                        }
                        self.reporter.line(&line);
                        self.set_throttles(&batch, &states, &pending_dirs).await?;
                        self.submit(&batch).await?;
                    }
                    Phase::SettingThrottles | Phase::Submitting => {
                        // Killed while setting the throttles or around the submission: set
                        // them again (idempotent), then submit only what did not start.
                        self.send_throttles().await?;
                        self.submit(&batch).await?;
                    }
                    Phase::Copying | Phase::RestoringThrottles => {}
                    Phase::Electing | Phase::Done => return Ok(()),
                }
                if self.journal.state.phase == Phase::Copying {
                    self.start_dir_moves().await?;
                    match self.wait(&batch).await {
                        Ok(()) => self.record(Phase::RestoringThrottles, "batch complete")?,
                        Err(WaitEnd::Stop(reason)) => {
                            return Err(ApplyError::Stopped {
                                reason,
                                lines: Vec::new(),
                            })
                        }
                        Err(WaitEnd::Lost(reason)) => return Err(ApplyError::LostCluster(reason)),
                    }
                }
                Ok(())
            }
            .await;
            match step {
                Ok(()) => {}
                Err(ApplyError::Stopped { reason, lines }) => {
                    return Err(self.stop_batch(reason, lines).await)
                }
                Err(ApplyError::Kafka(e)) if self.journal.state.batch_active() => {
                    return Err(self.stop_batch(e.to_string(), Vec::new()).await)
                }
                Err(ApplyError::LostCluster(reason)) => {
                    return Err(ApplyError::LostCluster(format!(
                        "{reason}\nmoves of batch {} may still be in flight and the throttles set; run `apply --resume` or `cancel` with this journal once the cluster is reachable",
                        k + 1
                    )))
                }
                Err(e) => return Err(e),
            }
            if matches!(self.journal.state.phase, Phase::Electing | Phase::Done) {
                return Ok(());
            }
            // Phase::RestoringThrottles
            if let Err(e) = patient(self.opts.unreachable_grace, self.opts.poll_interval, || {
                restore_once(self.admin, self.journal.state.ledger.as_ref())
            })
            .await
            {
                return Err(ApplyError::LostCluster(format!(
                    "batch {} is complete but its throttles could not be restored: {e}; run `apply --resume` or `verify` with this journal",
                    k + 1
                )));
            }
            self.journal.state.ledger = None;
            self.journal.state.current_batch += 1;
            self.journal.state.stop_reason = None;
            self.journal.state.phase = Phase::Ready;
            self.journal
                .record(Some(k), "throttles restored; batch done")?;
        }
        Ok(())
    }
}

async fn restore_once(admin: &impl Admin, ledger: Option<&ThrottleLedger>) -> Result<(), Error> {
    let Some(ledger) = ledger else {
        return Ok(());
    };
    let resources = resources_to_read(&ledger.broker_ids(), &ledger.topic_names());
    if resources.is_empty() {
        return Ok(());
    }
    let keys = throttle_keys();
    let current = admin.describe_configs(&resources, Some(&keys)).await?;
    let ops = ledger.restore_ops(&current);
    if ops.is_empty() {
        return Ok(());
    }
    let outcomes = admin.incremental_alter_configs(&ops).await?;
    if let Some((r, Err(e))) = outcomes.into_iter().find(|(_, r)| r.is_err()) {
        return Err(Error::Other(format!("restoring the throttle on {r}: {e}")));
    }
    // A ZooKeeper-mode broker acknowledges a config change once it is in ZooKeeper and
    // applies it a moment later; the next batch's ledger, read before then, would record
    // this run's own rate as the value from before kafka-replan and never remove it. So
    // wait until the configs read back restored (bounded: a value someone else sets
    // meanwhile is theirs).
    let deadline = Instant::now() + CONFIG_SETTLE;
    while Instant::now() < deadline {
        let now = admin.describe_configs(&resources, Some(&keys)).await?;
        if ledger.restore_ops(&now).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

/// Kafka's tool retries a log-dir move whose replica does not exist yet every 100 ms.
const LOG_DIR_RETRY: Duration = Duration::from_millis(100);

/// The intra-broker moves of the running batch, as one poll saw them.
#[derive(Debug, Clone, Copy, Default)]
struct DirProgress {
    done: usize,
    bytes: u64,
    all_done: bool,
}

/// How long restored throttle configs may take to read back restored.
const CONFIG_SETTLE: Duration = Duration::from_secs(10);

/// Restores the throttle configs a ledger records, retrying while the cluster is briefly
/// unreachable.
pub async fn restore(
    admin: &impl Admin,
    ledger: &ThrottleLedger,
    opts: &ApplyOptions,
) -> Result<(), Error> {
    patient(opts.unreachable_grace, opts.poll_interval, || {
        restore_once(admin, Some(ledger))
    })
    .await
}

/// How long replica lists may disagree with a batch whose reassignments the controller
/// reports finished before that counts as a failure (metadata reaching the brokers).
const METADATA_SETTLE: Duration = Duration::from_secs(15);

/// Runs (or resumes) the journal's plan to the end.
pub async fn run(
    admin: &impl Admin,
    journal: &mut Journal,
    opts: &ApplyOptions,
    reporter: &mut impl Reporter,
    stop: &StopFlag,
) -> Result<Summary, ApplyError> {
    let started = Instant::now();
    let mut r = Runner {
        admin,
        journal,
        opts,
        reporter,
        stop,
    };
    if r.journal.state.phase == Phase::Done {
        r.reporter.line("the journal's plan is already applied");
    }
    r.progress(0, 0, DirProgress::default());
    r.run_batches().await?;
    let plan = r.journal.state.plan();
    let mut election = None;
    if r.journal.state.phase != Phase::Done {
        if r.journal.state.phase != Phase::Electing {
            r.journal.state.phase = Phase::Electing;
            r.journal.record(None, "all batches done")?;
        }
        if opts.elect {
            let tps: Vec<TopicPartition> = plan.changes.keys().cloned().collect();
            let report = elect_preferred(r.admin, &tps, opts.election_batch).await;
            r.reporter.line(&format!(
                "preferred-leader election: {} partitions led by their preferred replica, {} not",
                report.elected.len(),
                report.failed.len()
            ));
            election = Some(report);
        }
        r.journal.state.phase = Phase::Done;
        r.journal.record(None, "done")?;
    }
    let status = patient(opts.unreachable_grace, opts.poll_interval, || {
        plan_status(r.admin, &plan)
    })
    .await?;
    let dirs = r.journal.state.log_dir_map();
    let dir_status = patient(opts.unreachable_grace, opts.poll_interval, || {
        dir_states(r.admin, &dirs)
    })
    .await?;
    Ok(Summary {
        dir_status,
        batches: r.journal.state.batches.len(),
        bytes: r.journal.state.total_bytes(),
        election,
        status,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Gives the cancelled partitions their original preferred leaders back: their order is
/// restored, and an election makes replicas[0] lead again (ELECTION_NOT_NEEDED when it
/// already does). Best effort: failures are reported, the rollback itself stands.
async fn reelect_cancelled(
    admin: &impl Admin,
    outcomes: &BTreeMap<TopicPartition, super::cancel::CancelOutcome>,
    opts: &ApplyOptions,
) -> ElectionReport {
    let tps: Vec<TopicPartition> = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, super::cancel::CancelOutcome::Cancelled { .. }))
        .map(|(tp, _)| tp.clone())
        .collect();
    if tps.is_empty() {
        return ElectionReport::default();
    }
    elect_preferred(admin, &tps, opts.election_batch).await
}

/// `cancel` with a journal: cancels the in-flight moves of the running batch (restoring
/// their order), restores the throttles the ledger records, and marks the journal
/// cancelled. Moves of finished batches stay; the journal's `original` is their rollback.
pub async fn cancel_journal(
    admin: &impl Admin,
    journal: &mut Journal,
    opts: &ApplyOptions,
) -> Result<Vec<String>, ApplyError> {
    let mut lines = Vec::new();
    if journal.state.current_batch < journal.state.batches.len() {
        let k = journal.state.current_batch;
        let batch = journal.state.batches[k].clone();
        let dirs: DirTargets = journal
            .state
            .batch_dir_moves(k)
            .into_iter()
            .map(|m| ((m.tp(), m.broker), m.dir))
            .collect();
        lines.extend(stop_moves(admin, &dirs).await?);
        let outcomes = cancel_plan(admin, &batch.targets(), Some(&batch.sources())).await?;
        lines.extend(cancel_lines(&outcomes));
        // A partition the broker refused to cancel still moves and still needs the
        // throttles: the journal must not say "cancelled" (nor drop the ledger) while it
        // does, or a rerun would have nothing left to cancel and the throttles would stay.
        let refused: Vec<&Error> = outcomes
            .values()
            .filter_map(|o| match o {
                super::cancel::CancelOutcome::Failed(e) => Some(e),
                _ => None,
            })
            .collect();
        let dir_refused = lines.iter().any(|l| l.starts_with("Error"));
        if !refused.is_empty() || dir_refused {
            return Err(ApplyError::CancelIncomplete {
                retriable: !dir_refused && refused.iter().all(|e| super::cancel::is_transient(e)),
                lines,
            });
        }
        let report = reelect_cancelled(admin, &outcomes, opts).await;
        lines.extend(
            report
                .lines()
                .into_iter()
                .filter(|l| l.starts_with("Error")),
        );
    }
    if let Some(ledger) = journal.state.ledger.clone() {
        restore(admin, &ledger, opts).await?;
        lines.push("throttles set by kafka-replan restored".into());
    }
    journal.state.ledger = None;
    journal.state.phase = Phase::Cancelled;
    let k = journal.state.current_batch;
    journal.record(Some(k), "cancelled")?;
    Ok(lines)
}

/// What `verify` did with the throttles an apply run left set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeftoverThrottles {
    /// The journal records none.
    None,
    /// Removed: the plan is complete.
    Removed(ThrottleLedger),
    /// Kept: the plan is not complete (a move still needs them), or `--preserve-throttles`.
    Kept(ThrottleLedger),
}

/// `verify` with a journal: once every partition of the plan is complete, removes the
/// throttles the journal's ledger records (nobody else's), unless `preserve`. While any
/// partition is still moving they stay, as with Kafka's `--verify` (spec §A5).
pub async fn clear_leftover_throttles(
    admin: &impl Admin,
    journal: &mut Journal,
    complete: bool,
    preserve: bool,
    opts: &ApplyOptions,
) -> Result<LeftoverThrottles, ApplyError> {
    let Some(ledger) = journal.state.ledger.clone() else {
        return Ok(LeftoverThrottles::None);
    };
    if !complete || preserve {
        return Ok(LeftoverThrottles::Kept(ledger));
    }
    restore(admin, &ledger, opts).await?;
    journal.state.ledger = None;
    journal.record(None, "verify: complete; throttles restored")?;
    Ok(LeftoverThrottles::Removed(ledger))
}
