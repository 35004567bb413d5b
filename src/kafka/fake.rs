//! `FakeAdmin`: an in-memory cluster implementing `Admin`, deterministic, with KIP-455
//! reassignment semantics at the level the executor needs (spec §E1, §E2, §E5, §E6) and
//! fault injection (the next call of a method fails, before or after taking effect).
//!
//! Handles are cheap clones sharing one state, so a test can drive the cluster (complete
//! moves, kill brokers, inject faults) while an executor holds another handle.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use super::admin::{
    Admin, BrokerNode, ClusterDescription, ConfigEntry, ConfigOp, ConfigResource, ConfigSource,
    LogDir, LogDirReplica, OngoingReassignment, Outcomes, PartitionMetadata, TopicMetadata,
};
use super::admin::{GroupListing, GroupOffsets, OffsetSpec};
use super::error::Error;
use super::rates::Clock;
use crate::model::{BrokerId, TopicPartition};

/// The `Admin` methods, for fault injection and the call log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    DescribeCluster,
    DescribeTopics,
    DescribeLogDirs,
    ListReassignments,
    AlterReassignments,
    DescribeConfigs,
    IncrementalAlterConfigs,
    AlterReplicaLogDirs,
    ElectLeaders,
    ListOffsets,
    ListGroups,
    FindCoordinator,
    OffsetFetch,
}

/// An injected failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The call fails without any effect (e.g. connection refused, NOT_CONTROLLER).
    Fail(Error),
    /// The call takes effect, then the answer is lost (a connection drop after the broker
    /// acted): the caller sees the error while the cluster changed.
    ApplyThenFail(Error),
}

impl Fault {
    /// A dropped connection before anything reached the broker.
    pub fn connection_refused() -> Fault {
        Fault::Fail(Error::Connect {
            addr: "fake:9092".into(),
            reason: "Connection refused (os error 111)".into(),
        })
    }

    /// A connection drop after a write took effect: for non-idempotent calls the real client
    /// reports `OutcomeUnknown`.
    pub fn lost_after_apply(api: &'static str) -> Fault {
        Fault::ApplyThenFail(Error::OutcomeUnknown {
            api,
            reason: "connection to fake:9092 lost: closed by the broker".into(),
        })
    }

    /// A Kafka error code as a top-level failure without effect.
    pub fn broker_error(api: &'static str, code: i16) -> Fault {
        Fault::Fail(Error::broker(api, code, None))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeBrokerState {
    pub rack: Option<String>,
    pub alive: bool,
    /// Disk size reported as DescribeLogDirs TotalBytes; `None` = not reported (pre-3.3).
    pub capacity_bytes: Option<u64>,
    /// The broker's log directories (`log.dirs`), first = where new replicas land unless
    /// told otherwise. Empty = the one directory [`DEFAULT_LOG_DIR`].
    pub log_dirs: Vec<String>,
    /// Log directories that are offline (a failed disk): DescribeLogDirs reports them with
    /// KAFKA_STORAGE_ERROR and no replicas, AlterReplicaLogDirs refuses them.
    pub offline_dirs: BTreeSet<String>,
}

impl FakeBrokerState {
    /// The broker's log directories, in `log.dirs` order.
    pub fn dirs(&self) -> Vec<String> {
        if self.log_dirs.is_empty() {
            vec![DEFAULT_LOG_DIR.to_string()]
        } else {
            self.log_dirs.clone()
        }
    }
}

/// The log directory of a broker configured without any (one implicit directory).
pub const DEFAULT_LOG_DIR: &str = "/var/lib/kafka/data";

/// An intra-broker move in flight: the future replica being copied into `dir` (§D6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FutureReplica {
    pub dir: String,
    /// DescribeLogDirs calls that saw it (with `auto_complete_after`, it completes after
    /// that many, like inter-broker moves do on ListPartitionReassignments).
    pub polls: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakePartition {
    /// During a move: target followed by the removing replicas (§E1).
    pub replicas: Vec<BrokerId>,
    pub isr: Vec<BrokerId>,
    pub leader: Option<BrokerId>,
    pub size_bytes: u64,
    pub adding: Vec<BrokerId>,
    pub removing: Vec<BrokerId>,
}

impl FakePartition {
    pub fn in_flight(&self) -> bool {
        !self.adding.is_empty() || !self.removing.is_empty()
    }

    /// The target of the move in flight (`replicas − removing`), or the replicas.
    pub fn target(&self) -> Vec<BrokerId> {
        self.replicas
            .iter()
            .copied()
            .filter(|b| !self.removing.contains(b))
            .collect()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeState {
    pub cluster_id: String,
    pub controller: Option<BrokerId>,
    pub brokers: BTreeMap<BrokerId, FakeBrokerState>,
    pub partitions: BTreeMap<TopicPartition, FakePartition>,
    pub configs: BTreeMap<ConfigResource, BTreeMap<String, String>>,
    /// Every call, in order.
    pub calls: Vec<Method>,
    faults: BTreeMap<Method, VecDeque<Fault>>,
    /// Moves complete on their own after this many ListPartitionReassignments calls that
    /// saw them in flight (`None`: only `complete_move(s)` completes them).
    pub auto_complete_after: Option<usize>,
    /// ListPartitionReassignments calls that saw each move in flight.
    pub polls: BTreeMap<TopicPartition, usize>,
    /// Virtual time in milliseconds: log-end and committed offsets advance with it, and
    /// sleeping on the fake's `Clock` moves it forward at once.
    pub now_ms: u64,
    /// The log of each partition that has traffic (a partition without an entry is empty).
    pub logs: BTreeMap<TopicPartition, FakeLog>,
    /// Consumer groups by id.
    pub groups: BTreeMap<String, FakeGroup>,
    /// Changes that happen when the virtual time reaches them, in order.
    pub scheduled: Vec<(u64, FakeEvent)>,
    /// The log directory of each replica not in its broker's first directory.
    pub replica_dirs: BTreeMap<(TopicPartition, BrokerId), String>,
    /// Intra-broker moves in flight.
    pub future_replicas: BTreeMap<(TopicPartition, BrokerId), FutureReplica>,
    /// Replicas an AlterReplicaLogDirs asked about before they existed on the broker: the
    /// broker creates them in that directory (Kafka's preferred log dir).
    pub preferred_dirs: BTreeMap<(TopicPartition, BrokerId), String>,
    /// Replicas a reassignment added whose broker has not created them yet: the first
    /// AlterReplicaLogDirs for one answers REPLICA_NOT_AVAILABLE and creates it (as a
    /// broker does a moment after the controller adds it), so callers must retry.
    pub not_created: BTreeSet<(TopicPartition, BrokerId)>,
}

/// The offsets of one partition's log: fixed log start, and a log end that advances with
/// the virtual time by `messages_per_sec`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeLog {
    pub log_start: i64,
    /// The log-end offset at virtual time 0.
    pub log_end: i64,
    pub messages_per_sec: u64,
}

impl FakeLog {
    fn end_at(&self, now_ms: u64) -> i64 {
        self.log_end
            .saturating_add(advance(self.messages_per_sec, now_ms))
    }
}

/// A committed offset advancing with the virtual time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeCommit {
    /// The committed offset at virtual time 0.
    pub offset: i64,
    pub messages_per_sec: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeGroup {
    pub coordinator: BrokerId,
    pub protocol_type: String,
    pub committed: BTreeMap<TopicPartition, FakeCommit>,
    /// The next this many OffsetFetch answers for the group are COORDINATOR_LOAD_IN_PROGRESS.
    pub loading_answers: u32,
}

/// A change the fake applies when its virtual time reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FakeEvent {
    /// The partition's leadership moves to another replica.
    MoveLeader { tp: TopicPartition, to: BrokerId },
    /// The group is deleted with its committed offsets.
    DeleteGroup(String),
    /// The group's coordinator moves to another broker.
    MoveCoordinator { group: String, to: BrokerId },
    /// The log is truncated to this end offset (an unclean leader election) and stops.
    TruncateLog { tp: TopicPartition, end: i64 },
    /// The group's committed offset is reset (e.g. `kafka-consumer-groups --reset-offsets`)
    /// and stops.
    ResetCommit {
        group: String,
        tp: TopicPartition,
        offset: i64,
    },
}

/// Offsets gained in `now_ms` at `per_sec`.
fn advance(per_sec: u64, now_ms: u64) -> i64 {
    i64::try_from(u128::from(per_sec) * u128::from(now_ms) / 1000).unwrap_or(i64::MAX)
}

impl FakeState {
    fn apply_event(&mut self, event: FakeEvent) {
        match event {
            FakeEvent::MoveLeader { tp, to } => {
                if let Some(p) = self.partitions.get_mut(&tp) {
                    p.leader = Some(to);
                }
            }
            FakeEvent::DeleteGroup(g) => {
                self.groups.remove(&g);
            }
            FakeEvent::MoveCoordinator { group, to } => {
                if let Some(g) = self.groups.get_mut(&group) {
                    g.coordinator = to;
                }
            }
            FakeEvent::TruncateLog { tp, end } => {
                let log = self.logs.entry(tp).or_default();
                log.log_end = end;
                log.messages_per_sec = 0;
                log.log_start = log.log_start.min(end);
            }
            FakeEvent::ResetCommit { group, tp, offset } => {
                if let Some(g) = self.groups.get_mut(&group) {
                    g.committed.insert(
                        tp,
                        FakeCommit {
                            offset,
                            messages_per_sec: 0,
                        },
                    );
                }
            }
        }
    }

    /// Moves the virtual time forward, applying the events that fall due on the way.
    fn advance_to(&mut self, now_ms: u64) {
        self.now_ms = self.now_ms.max(now_ms);
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.scheduled)
            .into_iter()
            .partition(|(at, _)| *at <= self.now_ms);
        self.scheduled = later;
        for (_, e) in due {
            self.apply_event(e);
        }
    }
}

/// In-memory `Admin`. Clone to share.
#[derive(Debug, Clone, Default)]
pub struct FakeAdmin {
    state: Arc<Mutex<FakeState>>,
}

const INTERNAL_TOPICS: &[&str] = &["__consumer_offsets", "__transaction_state"];

fn broker_err(api: &'static str, code: i16, msg: &str) -> Error {
    Error::broker(api, code, (!msg.is_empty()).then(|| msg.to_string()))
}

impl FakeAdmin {
    pub fn new() -> FakeAdmin {
        let admin = FakeAdmin::default();
        admin.lock().cluster_id = "fake-cluster".into();
        admin
    }

    fn lock(&self) -> MutexGuard<'_, FakeState> {
        // A panicking test thread must not make every later call panic too.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a live broker. The first broker added becomes the controller.
    pub fn with_broker(
        self,
        id: BrokerId,
        rack: Option<&str>,
        capacity_bytes: Option<u64>,
    ) -> Self {
        {
            let mut s = self.lock();
            s.brokers.insert(
                id,
                FakeBrokerState {
                    rack: rack.map(str::to_string),
                    alive: true,
                    capacity_bytes,
                    log_dirs: Vec::new(),
                    offline_dirs: BTreeSet::new(),
                },
            );
            if s.controller.is_none() {
                s.controller = Some(id);
            }
        }
        self
    }

    /// Adds a partition with all replicas in sync and `replicas[0]` leading.
    pub fn with_partition(
        self,
        topic: &str,
        partition: i32,
        replicas: &[BrokerId],
        size_bytes: u64,
    ) -> Self {
        self.lock().partitions.insert(
            TopicPartition::new(topic, partition),
            FakePartition {
                replicas: replicas.to_vec(),
                isr: replicas.to_vec(),
                leader: replicas.first().copied(),
                size_bytes,
                adding: Vec::new(),
                removing: Vec::new(),
            },
        );
        self
    }

    /// Gives a partition a log: offsets `log_start..log_end` at virtual time 0, the end
    /// advancing by `messages_per_sec`.
    pub fn with_log(
        self,
        topic: &str,
        partition: i32,
        log_start: i64,
        log_end: i64,
        messages_per_sec: u64,
    ) -> Self {
        self.lock().logs.insert(
            TopicPartition::new(topic, partition),
            FakeLog {
                log_start,
                log_end,
                messages_per_sec,
            },
        );
        self
    }

    /// Gives a broker its log directories (JBOD); replicas land in the first one.
    pub fn with_log_dirs(self, broker: BrokerId, dirs: &[&str]) -> Self {
        if let Some(b) = self.lock().brokers.get_mut(&broker) {
            b.log_dirs = dirs.iter().map(|d| d.to_string()).collect();
        }
        self
    }

    /// Puts one replica in another log directory of its broker.
    pub fn with_replica_dir(
        self,
        topic: &str,
        partition: i32,
        broker: BrokerId,
        dir: &str,
    ) -> Self {
        self.lock().replica_dirs.insert(
            (TopicPartition::new(topic, partition), broker),
            dir.to_string(),
        );
        self
    }

    /// Adds a consumer group coordinated by `coordinator`, without committed offsets.
    pub fn with_group(self, group: &str, coordinator: BrokerId) -> Self {
        self.lock().groups.insert(
            group.to_string(),
            FakeGroup {
                coordinator,
                protocol_type: "consumer".into(),
                committed: BTreeMap::new(),
                loading_answers: 0,
            },
        );
        self
    }

    /// The group commits `offset` for the partition at virtual time 0, advancing by
    /// `messages_per_sec` (the group must exist).
    pub fn with_commit(
        self,
        group: &str,
        topic: &str,
        partition: i32,
        offset: i64,
        messages_per_sec: u64,
    ) -> Self {
        if let Some(g) = self.lock().groups.get_mut(group) {
            g.committed.insert(
                TopicPartition::new(topic, partition),
                FakeCommit {
                    offset,
                    messages_per_sec,
                },
            );
        }
        self
    }

    /// `event` happens when the virtual time reaches `at_ms`.
    pub fn schedule(&self, at_ms: u64, event: FakeEvent) {
        self.lock().scheduled.push((at_ms, event));
    }

    /// Moves the virtual time forward.
    pub fn advance(&self, by: std::time::Duration) {
        let mut s = self.lock();
        let to = s
            .now_ms
            .saturating_add(u64::try_from(by.as_millis()).unwrap_or(u64::MAX));
        s.advance_to(to);
    }

    /// A log directory of a broker goes offline (or comes back).
    pub fn set_dir_offline(&self, broker: BrokerId, dir: &str, offline: bool) {
        if let Some(b) = self.lock().brokers.get_mut(&broker) {
            if offline {
                b.offline_dirs.insert(dir.to_string());
            } else {
                b.offline_dirs.remove(dir);
            }
        }
    }

    /// The directory a replica lives in (`None` if the broker has no such replica).
    pub fn replica_dir(&self, tp: &TopicPartition, broker: BrokerId) -> Option<String> {
        let s = self.lock();
        dir_of(&s, tp, broker)
    }

    /// The directory an intra-broker move of the replica heads to, if one is in flight.
    pub fn future_dir(&self, tp: &TopicPartition, broker: BrokerId) -> Option<String> {
        self.lock()
            .future_replicas
            .get(&(tp.clone(), broker))
            .map(|f| f.dir.clone())
    }

    /// Every intra-broker move in flight completes: the future replica replaces the current
    /// one.
    pub fn complete_dir_moves(&self) {
        let mut s = self.lock();
        let keys: Vec<(TopicPartition, BrokerId)> = s.future_replicas.keys().cloned().collect();
        for k in keys {
            complete_dir_move(&mut s, &k);
        }
    }

    /// Reads the state.
    pub fn inspect<R>(&self, f: impl FnOnce(&FakeState) -> R) -> R {
        f(&self.lock())
    }

    /// Changes the state directly (ISR, leaders, sizes...).
    pub fn modify<R>(&self, f: impl FnOnce(&mut FakeState) -> R) -> R {
        f(&mut self.lock())
    }

    /// The next call of `method` fails as described; faults queue up in order.
    pub fn fail_next(&self, method: Method, fault: Fault) {
        self.lock()
            .faults
            .entry(method)
            .or_default()
            .push_back(fault);
    }

    /// Drops every fault still queued (the network is back).
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// A broker goes down: it leaves the ISR of every partition and loses leadership.
    pub fn set_broker_alive(&self, id: BrokerId, alive: bool) {
        let mut s = self.lock();
        if let Some(b) = s.brokers.get_mut(&id) {
            b.alive = alive;
        }
        if !alive {
            let alive_set: BTreeSet<BrokerId> = s
                .brokers
                .iter()
                .filter(|(_, b)| b.alive)
                .map(|(id, _)| *id)
                .collect();
            for p in s.partitions.values_mut() {
                p.isr.retain(|b| *b != id);
                if p.leader == Some(id) {
                    p.leader = p.isr.iter().copied().find(|b| alive_set.contains(b));
                }
            }
        }
    }

    /// Every move in flight catches up and completes (§E2).
    pub fn complete_moves(&self) {
        let tps: Vec<TopicPartition> = self
            .lock()
            .partitions
            .iter()
            .filter(|(_, p)| p.in_flight())
            .map(|(tp, _)| tp.clone())
            .collect();
        for tp in tps {
            self.complete_move(&tp);
        }
    }

    /// One move catches up and completes: adding replicas join the ISR, then replicas :=
    /// target, ISR := ISR − removing, leader kept unless removed (§E2, §E3).
    pub fn complete_move(&self, tp: &TopicPartition) {
        complete_in(&mut self.lock(), tp);
    }

    /// Moves complete by themselves after `polls` ListPartitionReassignments calls that
    /// saw them (an adding replica on a dead broker never catches up).
    pub fn auto_complete_after(&self, polls: usize) {
        self.lock().auto_complete_after = Some(polls);
    }

    fn take_fault(&self, method: Method) -> Option<Fault> {
        let mut s = self.lock();
        s.calls.push(method);
        s.faults.get_mut(&method).and_then(VecDeque::pop_front)
    }

    /// Runs `apply` under the fault rules of `method`.
    fn run<T>(
        &self,
        method: Method,
        apply: impl FnOnce(&mut FakeState) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let fault = self.take_fault(method);
        let mut s = self.lock();
        forget_removed_replicas(&mut s);
        match fault {
            Some(Fault::Fail(e)) => Err(e),
            Some(Fault::ApplyThenFail(e)) => {
                let _ = apply(&mut s);
                Err(e)
            }
            None => apply(&mut s),
        }
    }
}

/// A replica's directory: where it was put, else where an AlterReplicaLogDirs asked for it
/// before it existed, else the broker's first directory. `None` if the broker does not host
/// the partition.
fn dir_of(s: &FakeState, tp: &TopicPartition, broker: BrokerId) -> Option<String> {
    let p = s.partitions.get(tp)?;
    if !p.replicas.contains(&broker) {
        return None;
    }
    let key = (tp.clone(), broker);
    s.replica_dirs
        .get(&key)
        .or_else(|| s.preferred_dirs.get(&key))
        .cloned()
        .or_else(|| {
            s.brokers
                .get(&broker)
                .and_then(|b| b.dirs().first().cloned())
        })
}

/// A broker that no longer hosts a partition deletes its copy, future replica included; the
/// directory records of those replicas go with it.
fn forget_removed_replicas(s: &mut FakeState) {
    let partitions = &s.partitions;
    let hosted = |k: &(TopicPartition, BrokerId)| {
        partitions
            .get(&k.0)
            .is_some_and(|p| p.replicas.contains(&k.1))
    };
    s.replica_dirs.retain(|k, _| hosted(k));
    s.future_replicas.retain(|k, _| hosted(k));
    s.not_created.retain(|k| hosted(k));
    // A created replica lives in the directory asked for before it existed.
    let created: Vec<((TopicPartition, BrokerId), String)> = s
        .preferred_dirs
        .iter()
        .filter(|(k, _)| hosted(k) && !s.not_created.contains(k))
        .map(|(k, d)| (k.clone(), d.clone()))
        .collect();
    for (k, d) in created {
        s.preferred_dirs.remove(&k);
        s.replica_dirs.entry(k).or_insert(d);
    }
}

/// A broker's log directories as DescribeLogDirs reports them: each replica in its
/// directory, a future replica (intra-broker move) in its destination too, an offline
/// directory with KAFKA_STORAGE_ERROR and nothing in it.
fn broker_log_dirs(s: &FakeState, id: BrokerId, b: &FakeBrokerState) -> Vec<LogDir> {
    // What a copy in progress holds: a share of the size by polls when moves
    // auto-complete, else nothing until done.
    let share = |size: u64, polls: usize| match s.auto_complete_after {
        Some(n) => size * polls as u64 / n.max(1) as u64,
        None => 0,
    };
    let mut by_dir: BTreeMap<String, Vec<LogDirReplica>> =
        b.dirs().into_iter().map(|d| (d, Vec::new())).collect();
    for (tp, p) in s
        .partitions
        .iter()
        .filter(|(_, p)| p.replicas.contains(&id))
    {
        let size_bytes = if p.adding.contains(&id) && !p.isr.contains(&id) {
            share(p.size_bytes, s.polls.get(tp).copied().unwrap_or(0))
        } else {
            p.size_bytes
        };
        if let Some(dir) = dir_of(s, tp, id) {
            by_dir.entry(dir).or_default().push(LogDirReplica {
                tp: tp.clone(),
                size_bytes,
                offset_lag: 0,
                is_future: false,
            });
        }
        if let Some(f) = s.future_replicas.get(&(tp.clone(), id)) {
            by_dir
                .entry(f.dir.clone())
                .or_default()
                .push(LogDirReplica {
                    tp: tp.clone(),
                    size_bytes: share(size_bytes, f.polls),
                    offset_lag: 0,
                    is_future: true,
                });
        }
    }
    let n_dirs = by_dir.len().max(1) as u64;
    by_dir
        .into_iter()
        .map(|(path, mut replicas)| {
            if b.offline_dirs.contains(&path) {
                return LogDir {
                    error: Some(Error::broker("DescribeLogDirs", 56, None)),
                    path,
                    total_bytes: None,
                    usable_bytes: None,
                    replicas: Vec::new(),
                };
            }
            replicas.sort_by(|a, b| a.tp.cmp(&b.tp).then(a.is_future.cmp(&b.is_future)));
            let used: u64 = replicas.iter().map(|r| r.size_bytes).sum();
            // The broker's capacity is split evenly over its directories.
            let total = b.capacity_bytes.map(|c| c / n_dirs);
            LogDir {
                path,
                error: None,
                total_bytes: total,
                usable_bytes: total.map(|c| c.saturating_sub(used)),
                replicas,
            }
        })
        .collect()
}

fn complete_dir_move(s: &mut FakeState, key: &(TopicPartition, BrokerId)) {
    if let Some(f) = s.future_replicas.remove(key) {
        s.replica_dirs.insert(key.clone(), f.dir);
    }
}

const ALTER_DIRS: &str = "AlterReplicaLogDirs";

/// One replica's AlterReplicaLogDirs, as a broker handles it (Kafka's
/// `ReplicaManager.alterReplicaLogDirs`): unknown path ⇒ LOG_DIR_NOT_FOUND; offline
/// destination ⇒ KAFKA_STORAGE_ERROR; no replica yet ⇒ the path is remembered for its
/// creation and REPLICA_NOT_AVAILABLE; a future replica heading elsewhere is dropped; then a
/// move starts unless the replica is already there.
fn alter_dir(
    s: &mut FakeState,
    broker: BrokerId,
    tp: &TopicPartition,
    dir: &str,
) -> Result<(), Error> {
    let Some(b) = s.brokers.get(&broker) else {
        return Err(Error::UnknownBroker(broker));
    };
    if !b.dirs().iter().any(|d| d == dir) {
        return Err(broker_err(
            ALTER_DIRS,
            57,
            &format!("Log dir {dir} does not exist on broker {broker}"),
        ));
    }
    if b.offline_dirs.contains(dir) {
        return Err(broker_err(
            ALTER_DIRS,
            56,
            &format!("Log dir {dir} is offline"),
        ));
    }
    let key = (tp.clone(), broker);
    let hosted = s
        .partitions
        .get(tp)
        .is_some_and(|p| p.replicas.contains(&broker));
    if !hosted || s.not_created.remove(&key) {
        s.preferred_dirs.insert(key, dir.to_string());
        return Err(broker_err(
            ALTER_DIRS,
            9,
            "Replica does not exist on this broker",
        ));
    }
    let current = dir_of(s, tp, broker).unwrap_or_default();
    if b.offline_dirs.contains(&current) {
        return Err(broker_err(
            ALTER_DIRS,
            56,
            &format!("Partition {tp} is offline"),
        ));
    }
    if s.future_replicas.get(&key).is_some_and(|f| f.dir != dir) {
        s.future_replicas.remove(&key);
    }
    if current != dir && !s.future_replicas.contains_key(&key) {
        s.future_replicas.insert(
            key,
            FutureReplica {
                dir: dir.to_string(),
                polls: 0,
            },
        );
    }
    Ok(())
}

fn complete_in(s: &mut FakeState, tp: &TopicPartition) {
    let alive: BTreeSet<BrokerId> = s
        .brokers
        .iter()
        .filter(|(_, b)| b.alive)
        .map(|(id, _)| *id)
        .collect();
    s.polls.remove(tp);
    if let Some(p) = s.partitions.get_mut(tp) {
        if !p.in_flight() {
            return;
        }
        // Every live replica of the target catches up (also ones an earlier, replaced
        // move added, which are no longer listed as adding, §E5).
        for a in p.target() {
            if alive.contains(&a) && !p.isr.contains(&a) {
                p.isr.push(a);
            }
        }
        finish_if_complete(p);
    }
}

/// §E2: complete iff `ISR − removing` is non-empty and holds every replica of the target.
/// Returns whether it completed.
pub fn finish_if_complete(p: &mut FakePartition) -> bool {
    let target = p.target();
    let isr_kept: Vec<BrokerId> = p
        .isr
        .iter()
        .copied()
        .filter(|b| !p.removing.contains(b))
        .collect();
    if isr_kept.is_empty() || !target.iter().all(|b| isr_kept.contains(b)) {
        return false;
    }
    p.replicas = target.clone();
    p.isr = isr_kept;
    p.adding.clear();
    p.removing.clear();
    if p.leader.is_none_or(|l| !p.isr.contains(&l)) {
        p.leader = target.iter().copied().find(|b| p.isr.contains(b));
    }
    true
}

fn sorted_minus(a: &[BrokerId], b: &[BrokerId]) -> Vec<BrokerId> {
    let mut v: Vec<BrokerId> = a.iter().copied().filter(|x| !b.contains(x)).collect();
    v.sort_unstable();
    v
}

/// §E1: the replica lists of a move from `current` (during a move: target ++ removing) to
/// `target`: `adding = sort(T − C)`, `removing = sort(C − T)`, `replicas = T ++ removing`.
pub fn reassignment_replicas(current: &[BrokerId], target: &[BrokerId]) -> OngoingReassignment {
    let adding = sorted_minus(target, current);
    let removing = sorted_minus(current, target);
    let mut replicas = target.to_vec();
    replicas.extend(&removing);
    OngoingReassignment {
        replicas,
        adding,
        removing,
    }
}

const ALTER: &str = "AlterPartitionReassignments";

fn start_move(
    s: &FakeState,
    p: &mut FakePartition,
    target: &[BrokerId],
    allow_rf_change: bool,
) -> Result<(), Error> {
    if target.is_empty() {
        return Err(broker_err(
            ALTER,
            39,
            "Empty replica list specified in partition reassignment.",
        ));
    }
    let distinct: BTreeSet<BrokerId> = target.iter().copied().collect();
    if distinct.len() != target.len() {
        return Err(broker_err(
            ALTER,
            39,
            "Duplicate replica ids in partition reassignment replica list",
        ));
    }
    if let Some(b) = target.iter().find(|b| !s.brokers.contains_key(b)) {
        return Err(broker_err(
            ALTER,
            39,
            &format!("The manual partition assignment includes broker {b}, but no such broker is registered."),
        ));
    }
    if !allow_rf_change && target.len() != p.target().len() {
        return Err(broker_err(
            ALTER,
            38,
            &format!(
                "The replication factor is changed from {} to {}",
                p.target().len(),
                target.len()
            ),
        ));
    }
    // §E5: a new target replaces the old one, computed against the current union.
    let r = reassignment_replicas(&p.replicas, target);
    p.replicas = r.replicas;
    p.adding = r.adding;
    p.removing = r.removing;
    // Replicas an earlier move added but the new target drops leave the ISR.
    p.isr.retain(|b| p.replicas.contains(b));
    if p.adding.is_empty() && p.removing.is_empty() {
        // Pure reorder: done at once, leader unchanged.
        p.replicas = target.to_vec();
        return Ok(());
    }
    if p.adding.is_empty() {
        // Only removing: completes at once when the ISR without the removed covers T.
        finish_if_complete(p);
    }
    Ok(())
}

/// §E6: drop the adding replicas, keep the target order of the survivors. If that empties
/// the ISR the controller refuses unless unclean leader election is enabled for the topic.
fn cancel_move(
    tp: &TopicPartition,
    p: &mut FakePartition,
    unclean_allowed: bool,
) -> Result<(), Error> {
    if !p.in_flight() {
        return Err(broker_err(
            ALTER,
            85,
            "No reassignment is in progress for this partition.",
        ));
    }
    let adding = p.adding.clone();
    let replicas: Vec<BrokerId> = p
        .replicas
        .iter()
        .copied()
        .filter(|b| !adding.contains(b))
        .collect();
    let mut isr: Vec<BrokerId> = p
        .isr
        .iter()
        .copied()
        .filter(|b| !adding.contains(b))
        .collect();
    if isr.is_empty() {
        if !unclean_allowed {
            return Err(broker_err(
                ALTER,
                39,
                &format!(
                    "Unable to revert partition assignment for {}:{} because it would require an unclean leader election.",
                    tp.topic, tp.partition
                ),
            ));
        }
        isr = replicas.first().copied().into_iter().collect();
    }
    p.replicas = replicas;
    p.isr = isr;
    p.adding.clear();
    p.removing.clear();
    if p.leader.is_none_or(|l| !p.isr.contains(&l)) {
        p.leader = p.replicas.iter().copied().find(|b| p.isr.contains(b));
    }
    Ok(())
}

impl Admin for FakeAdmin {
    async fn describe_cluster(&self) -> Result<ClusterDescription, Error> {
        self.run(Method::DescribeCluster, |s| {
            Ok(ClusterDescription {
                cluster_id: Some(s.cluster_id.clone()),
                controller_id: s.controller,
                // Like Kafka, only live brokers are listed.
                brokers: s
                    .brokers
                    .iter()
                    .filter(|(_, b)| b.alive)
                    .map(|(id, b)| BrokerNode {
                        id: *id,
                        host: format!("broker-{id}"),
                        port: 9092,
                        rack: b.rack.clone(),
                        fenced: false,
                    })
                    .collect(),
            })
        })
    }

    async fn describe_topics(
        &self,
        topics: Option<&[String]>,
    ) -> Result<Vec<TopicMetadata>, Error> {
        self.run(Method::DescribeTopics, |s| {
            let mut by_topic: BTreeMap<String, Vec<PartitionMetadata>> = BTreeMap::new();
            for (tp, p) in &s.partitions {
                if topics.is_some_and(|ts| !ts.contains(&tp.topic)) {
                    continue;
                }
                let offline = p
                    .replicas
                    .iter()
                    .copied()
                    .filter(|b| !s.brokers.get(b).is_some_and(|x| x.alive))
                    .collect();
                by_topic
                    .entry(tp.topic.clone())
                    .or_default()
                    .push(PartitionMetadata {
                        partition: tp.partition,
                        leader: p.leader,
                        replicas: p.replicas.clone(),
                        isr: p.isr.clone(),
                        offline,
                        error: p
                            .leader
                            .is_none()
                            .then(|| Error::broker("Metadata", 5, None)),
                    });
            }
            let mut out: Vec<TopicMetadata> = by_topic
                .into_iter()
                .map(|(name, partitions)| TopicMetadata {
                    internal: INTERNAL_TOPICS.contains(&name.as_str()),
                    name,
                    partitions,
                    error: None,
                })
                .collect();
            if let Some(ts) = topics {
                for t in ts {
                    if !out.iter().any(|m| &m.name == t) {
                        out.push(TopicMetadata {
                            name: t.clone(),
                            internal: false,
                            partitions: Vec::new(),
                            error: Some(Error::broker("Metadata", 3, None)),
                        });
                    }
                }
                out.sort_by(|a, b| a.name.cmp(&b.name));
            }
            Ok(out)
        })
    }

    async fn describe_log_dirs(
        &self,
        brokers: &[BrokerId],
    ) -> Result<BTreeMap<BrokerId, Result<Vec<LogDir>, Error>>, Error> {
        self.run(Method::DescribeLogDirs, |s| {
            if let Some(n) = s.auto_complete_after {
                let keys: Vec<(TopicPartition, BrokerId)> = s
                    .future_replicas
                    .keys()
                    .filter(|k| brokers.contains(&k.1))
                    .cloned()
                    .collect();
                for k in keys {
                    let done = s.future_replicas.get_mut(&k).is_some_and(|f| {
                        f.polls += 1;
                        f.polls >= n
                    });
                    if done {
                        complete_dir_move(s, &k);
                    }
                }
            }
            let mut out = BTreeMap::new();
            for &id in brokers {
                let r = match s.brokers.get(&id) {
                    None => Err(Error::UnknownBroker(id)),
                    Some(b) if !b.alive => Err(Error::Connect {
                        addr: format!("broker-{id}:9092"),
                        reason: "Connection refused (os error 111)".into(),
                    }),
                    Some(b) => Ok(broker_log_dirs(s, id, b)),
                };
                out.insert(id, r);
            }
            Ok(out)
        })
    }

    async fn list_reassignments(
        &self,
        partitions: Option<&[TopicPartition]>,
    ) -> Result<BTreeMap<TopicPartition, OngoingReassignment>, Error> {
        self.run(Method::ListReassignments, |s| {
            if let Some(n) = s.auto_complete_after {
                let moving: Vec<TopicPartition> = s
                    .partitions
                    .iter()
                    .filter(|(_, p)| p.in_flight())
                    .map(|(tp, _)| tp.clone())
                    .collect();
                for tp in moving {
                    let seen = s.polls.entry(tp.clone()).or_insert(0);
                    *seen += 1;
                    if *seen >= n {
                        complete_in(s, &tp);
                    }
                }
            }
            Ok(s.partitions
                .iter()
                .filter(|(tp, p)| p.in_flight() && partitions.is_none_or(|ps| ps.contains(tp)))
                .map(|(tp, p)| {
                    (
                        tp.clone(),
                        OngoingReassignment {
                            replicas: p.replicas.clone(),
                            adding: p.adding.clone(),
                            removing: p.removing.clone(),
                        },
                    )
                })
                .collect())
        })
    }

    async fn alter_reassignments(
        &self,
        targets: &BTreeMap<TopicPartition, Option<Vec<BrokerId>>>,
        allow_replication_factor_change: bool,
    ) -> Result<Outcomes<TopicPartition>, Error> {
        self.run(Method::AlterReassignments, |s| {
            let mut out = BTreeMap::new();
            for (tp, target) in targets {
                let Some(mut p) = s.partitions.get(tp).cloned() else {
                    out.insert(
                        tp.clone(),
                        Err(broker_err(
                            ALTER,
                            3,
                            "This server does not host this topic-partition.",
                        )),
                    );
                    continue;
                };
                let r = match target {
                    Some(t) => start_move(s, &mut p, t, allow_replication_factor_change),
                    None => {
                        let unclean = s
                            .configs
                            .get(&ConfigResource::Topic(tp.topic.clone()))
                            .and_then(|m| m.get("unclean.leader.election.enable"))
                            .is_some_and(|v| v == "true");
                        cancel_move(tp, &mut p, unclean)
                    }
                };
                if r.is_ok() {
                    let hosted_before: Vec<BrokerId> = s
                        .partitions
                        .get(tp)
                        .map(|p| p.replicas.clone())
                        .unwrap_or_default();
                    for a in p.adding.iter().filter(|a| !hosted_before.contains(a)) {
                        s.not_created.insert((tp.clone(), *a));
                    }
                    s.partitions.insert(tp.clone(), p);
                    // A new or replaced move starts copying from scratch.
                    s.polls.remove(tp);
                }
                out.insert(tp.clone(), r);
            }
            Ok(out)
        })
    }

    async fn alter_replica_log_dirs(
        &self,
        broker: BrokerId,
        moves: &BTreeMap<TopicPartition, String>,
    ) -> Result<Outcomes<TopicPartition>, Error> {
        self.run(Method::AlterReplicaLogDirs, |s| {
            if !s.brokers.get(&broker).is_some_and(|b| b.alive) {
                return Err(Error::Connect {
                    addr: format!("broker-{broker}:9092"),
                    reason: "Connection refused (os error 111)".into(),
                });
            }
            Ok(moves
                .iter()
                .map(|(tp, dir)| (tp.clone(), alter_dir(s, broker, tp, dir)))
                .collect())
        })
    }

    async fn describe_configs(
        &self,
        resources: &[ConfigResource],
        keys: Option<&[String]>,
    ) -> Result<BTreeMap<ConfigResource, Result<Vec<ConfigEntry>, Error>>, Error> {
        self.run(Method::DescribeConfigs, |s| {
            down_broker_resource(s, resources.iter())?;
            let mut out = BTreeMap::new();
            for r in resources {
                if let ConfigResource::Topic(t) = r {
                    if !s.partitions.keys().any(|tp| &tp.topic == t) {
                        out.insert(r.clone(), Err(Error::broker("DescribeConfigs", 3, None)));
                        continue;
                    }
                }
                let source = match r {
                    ConfigResource::Topic(_) => ConfigSource::Topic,
                    ConfigResource::Broker(_) => ConfigSource::DynamicBroker,
                    ConfigResource::BrokerDefault => ConfigSource::DynamicDefaultBroker,
                };
                let entries = s
                    .configs
                    .get(r)
                    .map(|m| {
                        m.iter()
                            .filter(|(k, _)| keys.is_none_or(|ks| ks.contains(k)))
                            .map(|(k, v)| ConfigEntry {
                                name: k.clone(),
                                value: Some(v.clone()),
                                source,
                                read_only: false,
                                sensitive: false,
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                out.insert(r.clone(), Ok(entries));
            }
            Ok(out)
        })
    }

    async fn incremental_alter_configs(
        &self,
        changes: &BTreeMap<ConfigResource, Vec<(String, ConfigOp)>>,
    ) -> Result<Outcomes<ConfigResource>, Error> {
        self.run(Method::IncrementalAlterConfigs, |s| {
            down_broker_resource(s, changes.keys())?;
            let mut out = BTreeMap::new();
            for (r, ops) in changes {
                if let ConfigResource::Topic(t) = r {
                    if !s.partitions.keys().any(|tp| &tp.topic == t) {
                        out.insert(
                            r.clone(),
                            Err(Error::broker("IncrementalAlterConfigs", 3, None)),
                        );
                        continue;
                    }
                }
                let m = s.configs.entry(r.clone()).or_default();
                for (k, op) in ops {
                    match op {
                        ConfigOp::Set(v) => {
                            m.insert(k.clone(), v.clone());
                        }
                        ConfigOp::Delete => {
                            m.remove(k);
                        }
                        ConfigOp::Append(v) => {
                            let mut items: Vec<String> = m
                                .get(k)
                                .map(|cur| {
                                    cur.split(',')
                                        .filter(|x| !x.is_empty())
                                        .map(str::to_string)
                                        .collect()
                                })
                                .unwrap_or_default();
                            for x in v.split(',').filter(|x| !x.is_empty()) {
                                if !items.iter().any(|i| i == x) {
                                    items.push(x.to_string());
                                }
                            }
                            m.insert(k.clone(), items.join(","));
                        }
                        ConfigOp::Subtract(v) => {
                            if let Some(cur) = m.get(k) {
                                let drop: Vec<&str> = v.split(',').collect();
                                let items: Vec<&str> = cur
                                    .split(',')
                                    .filter(|x| !x.is_empty() && !drop.contains(x))
                                    .collect();
                                let joined = items.join(",");
                                m.insert(k.clone(), joined);
                            }
                        }
                    }
                }
                if m.is_empty() {
                    s.configs.remove(r);
                }
                out.insert(r.clone(), Ok(()));
            }
            Ok(out)
        })
    }

    async fn elect_preferred_leaders(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<Outcomes<TopicPartition>, Error> {
        self.run(Method::ElectLeaders, |s| {
            let alive: BTreeSet<BrokerId> = s
                .brokers
                .iter()
                .filter(|(_, b)| b.alive)
                .map(|(id, _)| *id)
                .collect();
            let mut out = BTreeMap::new();
            for tp in partitions {
                let r = match s.partitions.get_mut(tp) {
                    None => Err(Error::broker("ElectLeaders", 3, None)),
                    Some(p) => match p.replicas.first().copied() {
                        // ELECTION_NOT_NEEDED is success (§F D5).
                        Some(pref) if p.leader == Some(pref) => Ok(()),
                        Some(pref) if p.isr.contains(&pref) && alive.contains(&pref) => {
                            p.leader = Some(pref);
                            Ok(())
                        }
                        _ => Err(Error::broker("ElectLeaders", 80, None)),
                    },
                };
                out.insert(tp.clone(), r);
            }
            Ok(out)
        })
    }

    async fn list_offsets(
        &self,
        leader: BrokerId,
        partitions: &[TopicPartition],
        spec: OffsetSpec,
    ) -> Result<BTreeMap<TopicPartition, Result<i64, Error>>, Error> {
        self.run(Method::ListOffsets, |s| {
            reachable(s, leader)?;
            let mut out = BTreeMap::new();
            for tp in partitions {
                let r = match s.partitions.get(tp) {
                    None => Err(Error::broker("ListOffsets", 3, None)),
                    Some(p) if p.leader != Some(leader) => {
                        Err(Error::broker("ListOffsets", 6, None))
                    }
                    Some(_) => {
                        let log = s.logs.get(tp).cloned().unwrap_or_default();
                        Ok(match spec {
                            OffsetSpec::Earliest => log.log_start,
                            OffsetSpec::Latest => log.end_at(s.now_ms),
                        })
                    }
                };
                out.insert(tp.clone(), r);
            }
            Ok(out)
        })
    }

    async fn list_groups(
        &self,
        brokers: &[BrokerId],
    ) -> Result<BTreeMap<BrokerId, Result<Vec<GroupListing>, Error>>, Error> {
        self.run(Method::ListGroups, |s| {
            let mut out = BTreeMap::new();
            for &b in brokers {
                let r = reachable(s, b).map(|()| {
                    s.groups
                        .iter()
                        .filter(|(_, g)| g.coordinator == b)
                        .map(|(id, g)| GroupListing {
                            group_id: id.clone(),
                            protocol_type: g.protocol_type.clone(),
                            state: Some("Stable".into()),
                            group_type: Some("classic".into()),
                        })
                        .collect()
                });
                out.insert(b, r);
            }
            Ok(out)
        })
    }

    async fn find_coordinators(
        &self,
        groups: &[String],
    ) -> Result<BTreeMap<String, Result<BrokerId, Error>>, Error> {
        self.run(Method::FindCoordinator, |s| {
            let alive = |b: &BrokerId| s.brokers.get(b).is_some_and(|x| x.alive);
            let mut out = BTreeMap::new();
            for g in groups {
                // Kafka names a coordinator for any group id (by hash); the fake takes the
                // lowest live broker for groups it does not know.
                let coordinator = match s.groups.get(g) {
                    Some(group) => Some(group.coordinator).filter(alive),
                    None => s.brokers.keys().copied().find(alive),
                };
                let r = coordinator.ok_or_else(|| Error::broker("FindCoordinator", 15, None));
                out.insert(g.clone(), r);
            }
            Ok(out)
        })
    }

    async fn fetch_committed_offsets(
        &self,
        coordinator: BrokerId,
        groups: &[String],
    ) -> Result<BTreeMap<String, Result<GroupOffsets, Error>>, Error> {
        self.run(Method::OffsetFetch, |s| {
            reachable(s, coordinator)?;
            let now = s.now_ms;
            let mut out = BTreeMap::new();
            for g in groups {
                let r = match s.groups.get_mut(g) {
                    // Like Kafka: an unknown group has no committed offsets.
                    None => Ok(BTreeMap::new()),
                    Some(group) if group.coordinator != coordinator => {
                        Err(Error::broker("OffsetFetch", 16, None))
                    }
                    Some(group) if group.loading_answers > 0 => {
                        group.loading_answers -= 1;
                        Err(Error::broker("OffsetFetch", 14, None))
                    }
                    Some(group) => Ok(group
                        .committed
                        .iter()
                        .map(|(tp, c)| {
                            let offset = c.offset.saturating_add(advance(c.messages_per_sec, now));
                            (tp.clone(), Ok(offset))
                        })
                        .collect()),
                };
                out.insert(g.clone(), r);
            }
            Ok(out)
        })
    }
}

/// The fake's clock is its virtual time: sleeping moves it forward at once (applying the
/// scheduled events), so a sampling window costs no real time in tests.
impl Clock for FakeAdmin {
    fn now(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.lock().now_ms)
    }

    async fn sleep(&self, d: std::time::Duration) {
        self.advance(d);
    }
}

/// A request to one broker fails as a whole when the broker is unknown or down.
fn reachable(s: &FakeState, id: BrokerId) -> Result<(), Error> {
    match s.brokers.get(&id) {
        None => Err(Error::UnknownBroker(id)),
        Some(b) if !b.alive => Err(Error::Connect {
            addr: format!("broker-{id}:9092"),
            reason: "Connection refused (os error 111)".into(),
        }),
        Some(_) => Ok(()),
    }
}

/// Like the real client: a broker's configs are read and changed through that broker, so
/// a request for a broker that is down (not in the metadata) fails as a whole.
fn down_broker_resource<'a>(
    s: &FakeState,
    resources: impl IntoIterator<Item = &'a ConfigResource>,
) -> Result<(), Error> {
    for r in resources {
        if let ConfigResource::Broker(id) = r {
            if !s.brokers.get(id).is_some_and(|b| b.alive) {
                return Err(Error::UnknownBroker(*id));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(p: i32) -> TopicPartition {
        TopicPartition::new("foo", p)
    }

    fn fake() -> FakeAdmin {
        FakeAdmin::new()
            .with_broker(1, Some("a"), Some(1000))
            .with_broker(2, Some("b"), Some(1000))
            .with_broker(3, Some("c"), None)
            .with_broker(4, Some("a"), None)
            .with_partition("foo", 0, &[1, 2], 100)
            .with_partition("foo", 1, &[2, 3], 50)
    }

    fn one(
        t: TopicPartition,
        r: Option<Vec<BrokerId>>,
    ) -> BTreeMap<TopicPartition, Option<Vec<BrokerId>>> {
        [(t, r)].into_iter().collect()
    }

    #[tokio::test]
    async fn move_starts_then_completes() {
        let f = fake();
        let out = f
            .alter_reassignments(&one(tp(0), Some(vec![3, 2])), true)
            .await
            .unwrap();
        assert_eq!(out[&tp(0)], Ok(()));
        let ongoing = f.list_reassignments(None).await.unwrap();
        assert_eq!(
            ongoing[&tp(0)],
            OngoingReassignment {
                replicas: vec![3, 2, 1],
                adding: vec![3],
                removing: vec![1]
            }
        );
        f.complete_moves();
        let p = f.inspect(|s| s.partitions[&tp(0)].clone());
        assert_eq!(p.replicas, [3, 2]);
        assert_eq!(p.isr, [2, 3]);
        // Leader 1 was removed: first of the target in the ISR.
        assert_eq!(p.leader, Some(3));
        assert!(f.list_reassignments(None).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn reorder_and_shrink_complete_at_once_and_leader_kept() {
        let f = fake();
        f.alter_reassignments(&one(tp(0), Some(vec![2, 1])), true)
            .await
            .unwrap();
        let p = f.inspect(|s| s.partitions[&tp(0)].clone());
        assert_eq!(p.replicas, [2, 1]);
        assert_eq!(
            p.leader,
            Some(1),
            "§E3: leader kept, so replicas[0] is not leading"
        );
        f.alter_reassignments(&one(tp(0), Some(vec![2])), true)
            .await
            .unwrap();
        let p = f.inspect(|s| s.partitions[&tp(0)].clone());
        assert_eq!(p.replicas, [2]);
        assert!(!p.in_flight());
        let out = f.elect_preferred_leaders(&[tp(0), tp(1)]).await.unwrap();
        assert_eq!(out[&tp(0)], Ok(()));
        assert_eq!(out[&tp(1)], Ok(()), "ELECTION_NOT_NEEDED is success");
        assert_eq!(f.inspect(|s| s.partitions[&tp(0)].leader), Some(2));
    }

    #[tokio::test]
    async fn cancel_and_no_reassignment_in_progress() {
        let f = fake();
        let out = f
            .alter_reassignments(&one(tp(1), None), true)
            .await
            .unwrap();
        assert_eq!(out[&tp(1)].clone().unwrap_err().code(), Some(85));
        f.alter_reassignments(&one(tp(1), Some(vec![4, 3])), true)
            .await
            .unwrap();
        f.alter_reassignments(&one(tp(1), None), true)
            .await
            .unwrap();
        let p = f.inspect(|s| s.partitions[&tp(1)].clone());
        // §E6: survivors keep the target order; removed-side replicas are restored.
        assert_eq!(p.replicas, [3, 2]);
        assert!(!p.in_flight());
    }

    #[tokio::test]
    async fn resubmission_replaces_target() {
        let f = fake();
        f.alter_reassignments(&one(tp(0), Some(vec![3, 4])), true)
            .await
            .unwrap();
        f.alter_reassignments(&one(tp(0), Some(vec![4, 2])), true)
            .await
            .unwrap();
        let r = f.list_reassignments(None).await.unwrap()[&tp(0)].clone();
        // §E5: computed against the union [3,4,1,2], so 4 is no longer "adding" even though
        // it has not caught up; only removals remain.
        assert_eq!(r.adding, Vec::<BrokerId>::new());
        assert_eq!(r.removing, [1, 3]);
        assert_eq!(r.replicas, [4, 2, 1, 3]);
        f.complete_moves();
        let p = f.inspect(|s| s.partitions[&tp(0)].clone());
        assert_eq!(p.replicas, [4, 2]);
        assert!(!p.in_flight());
    }

    #[tokio::test]
    async fn validation_errors() {
        let f = fake();
        let mut t = BTreeMap::new();
        t.insert(tp(0), Some(vec![1, 1]));
        t.insert(tp(1), Some(vec![9]));
        t.insert(TopicPartition::new("nope", 0), Some(vec![1]));
        let out = f.alter_reassignments(&t, true).await.unwrap();
        assert_eq!(out[&tp(0)].clone().unwrap_err().code(), Some(39));
        assert_eq!(out[&tp(1)].clone().unwrap_err().code(), Some(39));
        assert_eq!(
            out[&TopicPartition::new("nope", 0)]
                .clone()
                .unwrap_err()
                .code(),
            Some(3)
        );
        let out = f
            .alter_reassignments(&one(tp(0), Some(vec![1, 2, 3])), false)
            .await
            .unwrap();
        assert_eq!(out[&tp(0)].clone().unwrap_err().code(), Some(38));
    }

    fn v(x: &serde_json::Value) -> Vec<BrokerId> {
        x.as_array()
            .map(|a| a.iter().map(|i| i.as_i64().unwrap() as BrokerId).collect())
            .unwrap_or_default()
    }

    fn partition_from(x: &serde_json::Value) -> FakePartition {
        FakePartition {
            replicas: v(&x["replicas"]),
            isr: v(&x["isr"]),
            leader: x["leader"].as_i64().map(|l| l as BrokerId),
            size_bytes: 0,
            adding: v(&x["adding"]),
            removing: v(&x["removing"]),
        }
    }

    /// §F E1: the fake follows the KRaft controller's reassignment rules (vectors K01–K17).
    #[tokio::test]
    async fn f_e1_fake_follows_k01_k17() {
        let doc: serde_json::Value = serde_json::from_str(include_str!(
            "../../fixtures/vectors/kraft-reassignment-state-cases.json"
        ))
        .unwrap();
        let tp0 = TopicPartition::new("t", 0);
        let mut seen = 0;
        for c in doc["cases"].as_array().unwrap() {
            let id = c["id"].as_str().unwrap();
            let e = &c["expected"];
            match c["op"].as_str().unwrap() {
                "start" => {
                    let r = reassignment_replicas(&v(&c["current"]), &v(&c["target"]));
                    assert_eq!(r.replicas, v(&e["replicas"]), "{id}");
                    assert_eq!(r.adding, v(&e["adding"]), "{id}");
                    assert_eq!(r.removing, v(&e["removing"]), "{id}");
                }
                "maybe_complete" => {
                    let r = reassignment_replicas(&v(&c["current"]), &v(&c["target"]));
                    let mut p = FakePartition {
                        replicas: r.replicas,
                        isr: v(&c["isr"]),
                        leader: None,
                        size_bytes: 0,
                        adding: r.adding,
                        removing: r.removing,
                    };
                    let done = finish_if_complete(&mut p);
                    assert_eq!(done, e["complete"].as_bool().unwrap(), "{id}");
                    if done {
                        assert_eq!(p.replicas, v(&e["replicas"]), "{id}");
                        assert_eq!(p.isr, v(&e["isr"]), "{id}");
                    }
                }
                "cancel" => {
                    let mut p = partition_from(&c["partition"]);
                    let r = cancel_move(&tp0, &mut p, false);
                    if id == "K09" {
                        assert_eq!(r.unwrap_err().code(), Some(85), "{id}");
                        continue;
                    }
                    if e["unclean"].as_bool().unwrap() {
                        assert_eq!(r.unwrap_err().code(), Some(39), "{id}");
                        let mut p = partition_from(&c["partition"]);
                        cancel_move(&tp0, &mut p, true).unwrap();
                        assert_eq!(p.replicas, v(&e["replicas"]), "{id}");
                        assert_eq!(p.isr, v(&e["isr"]), "{id}");
                    } else {
                        r.unwrap();
                        assert_eq!(p.replicas, v(&e["replicas"]), "{id}");
                        assert_eq!(p.isr, v(&e["isr"]), "{id}");
                    }
                }
                op @ ("start+cancel" | "start+complete") => {
                    let f = (0..10).fold(FakeAdmin::new(), |f, b| f.with_broker(b, None, None));
                    let f = f.with_partition("t", 0, &v(&c["current"]), 1);
                    let leader = c["leader"].as_i64().map(|l| l as BrokerId);
                    f.modify(|s| s.partitions.get_mut(&tp0).unwrap().leader = leader);
                    let t = [(tp0.clone(), Some(v(&c["target"])))].into_iter().collect();
                    f.alter_reassignments(&t, true).await.unwrap()[&tp0]
                        .clone()
                        .unwrap();
                    if op == "start+cancel" {
                        let during = f.list_reassignments(None).await.unwrap()[&tp0].clone();
                        assert_eq!(during.replicas, v(&e["during"]["replicas"]), "{id}");
                        assert_eq!(during.adding, v(&e["during"]["adding"]), "{id}");
                        assert_eq!(during.removing, v(&e["during"]["removing"]), "{id}");
                        f.modify(|s| {
                            s.partitions.get_mut(&tp0).unwrap().isr = v(&c["isr_at_cancel"])
                        });
                        let c2 = [(tp0.clone(), None)].into_iter().collect();
                        f.alter_reassignments(&c2, true).await.unwrap()[&tp0]
                            .clone()
                            .unwrap();
                        let p = f.inspect(|s| s.partitions[&tp0].clone());
                        let a = &e["after_cancel"];
                        assert_eq!(p.replicas, v(&a["replicas"]), "{id}");
                        assert_eq!(p.isr, v(&a["isr"]), "{id}");
                        assert_eq!(
                            p.leader,
                            a["leader"].as_i64().map(|l| l as BrokerId),
                            "{id}"
                        );
                    } else {
                        f.modify(|s| {
                            s.partitions.get_mut(&tp0).unwrap().isr = v(&c["isr_when_4_joins"])
                        });
                        f.complete_move(&tp0);
                        let p = f.inspect(|s| s.partitions[&tp0].clone());
                        assert_eq!(p.replicas, v(&e["replicas"]), "{id}");
                        assert_eq!(p.isr, v(&e["isr"]), "{id}");
                        assert_eq!(
                            p.leader,
                            e["leader"].as_i64().map(|l| l as BrokerId),
                            "{id}"
                        );
                    }
                }
                "restart_while_in_flight" => {
                    let f = (0..10).fold(FakeAdmin::new(), |f, b| f.with_broker(b, None, None));
                    let mut p = partition_from(&c["partition"]);
                    p.isr = vec![3, 1, 2];
                    p.leader = Some(3);
                    f.modify(|s| s.partitions.insert(tp0.clone(), p));
                    let t = [(tp0.clone(), Some(v(&c["new_target"])))]
                        .into_iter()
                        .collect();
                    f.alter_reassignments(&t, true).await.unwrap()[&tp0]
                        .clone()
                        .unwrap();
                    let r = f.list_reassignments(None).await.unwrap()[&tp0].clone();
                    assert_eq!(r.replicas, v(&e["replicas"]), "{id}");
                    assert_eq!(r.adding, v(&e["adding"]), "{id}");
                    assert_eq!(r.removing, v(&e["removing"]), "{id}");
                }
                other => panic!("{id}: unknown op {other}"),
            }
            seen += 1;
        }
        assert_eq!(seen, 16, "K01–K17 except K09's rejection path");
    }

    #[tokio::test]
    async fn faults_are_injected_in_order() {
        let f = fake();
        f.fail_next(Method::AlterReassignments, Fault::connection_refused());
        f.fail_next(Method::AlterReassignments, Fault::lost_after_apply(ALTER));
        let t = one(tp(0), Some(vec![3, 2]));
        assert!(matches!(
            f.alter_reassignments(&t, true).await,
            Err(Error::Connect { .. })
        ));
        assert!(
            f.list_reassignments(None).await.unwrap().is_empty(),
            "not applied"
        );
        assert!(matches!(
            f.alter_reassignments(&t, true).await,
            Err(Error::OutcomeUnknown { .. })
        ));
        assert_eq!(
            f.list_reassignments(None).await.unwrap().len(),
            1,
            "applied"
        );
        assert!(f.alter_reassignments(&t, true).await.is_ok());
        let calls = f.inspect(|s| s.calls.clone());
        assert_eq!(
            calls
                .iter()
                .filter(|m| **m == Method::AlterReassignments)
                .count(),
            3
        );
    }

    #[tokio::test]
    async fn configs_set_append_subtract_delete() {
        let f = fake();
        let r = ConfigResource::Broker(1);
        let mut ch = BTreeMap::new();
        ch.insert(
            r.clone(),
            vec![
                ("a".to_string(), ConfigOp::Set("1".into())),
                ("l".to_string(), ConfigOp::Append("x,y".into())),
            ],
        );
        f.incremental_alter_configs(&ch).await.unwrap();
        ch.insert(
            r.clone(),
            vec![
                ("a".to_string(), ConfigOp::Delete),
                ("l".to_string(), ConfigOp::Subtract("x".into())),
            ],
        );
        f.incremental_alter_configs(&ch).await.unwrap();
        let got = f
            .describe_configs(std::slice::from_ref(&r), None)
            .await
            .unwrap();
        let entries = got[&r].clone().unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].name, "l");
        assert_eq!(entries[0].value.as_deref(), Some("y"));
        let t = ConfigResource::Topic("missing".into());
        let mut ch = BTreeMap::new();
        ch.insert(t.clone(), vec![("k".to_string(), ConfigOp::Delete)]);
        assert_eq!(
            f.incremental_alter_configs(&ch).await.unwrap()[&t]
                .clone()
                .unwrap_err()
                .code(),
            Some(3)
        );
    }

    #[tokio::test]
    async fn dead_broker_leaves_isr_and_log_dirs_fail() {
        let f = fake();
        f.set_broker_alive(1, false);
        let p = f.inspect(|s| s.partitions[&tp(0)].clone());
        assert_eq!(p.isr, [2]);
        assert_eq!(p.leader, Some(2));
        let dirs = f.describe_log_dirs(&[1, 2]).await.unwrap();
        assert!(dirs[&1].is_err());
        assert_eq!(dirs[&2].as_ref().unwrap()[0].replicas.len(), 2);
        let c = f.describe_cluster().await.unwrap();
        assert_eq!(
            c.brokers.iter().map(|b| b.id).collect::<Vec<_>>(),
            [2, 3, 4]
        );
        let topics = f
            .describe_topics(Some(&["foo".into(), "bar".into()]))
            .await
            .unwrap();
        assert_eq!(topics[0].name, "bar");
        assert!(topics[0].error.is_some());
        assert_eq!(topics[1].partitions[0].offline, [1]);
    }

    fn dirs_of(f: &FakeAdmin, broker: BrokerId) -> Vec<(String, Vec<(TopicPartition, bool)>)> {
        let all = tokio_block(f.describe_log_dirs(&[broker])).unwrap();
        all[&broker]
            .as_ref()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d.path.clone(),
                    d.replicas
                        .iter()
                        .map(|r| (r.tp.clone(), r.is_future))
                        .collect(),
                )
            })
            .collect()
    }

    fn tokio_block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn to(dir: &str, p: i32) -> BTreeMap<TopicPartition, String> {
        [(tp(p), dir.to_string())].into_iter().collect()
    }

    #[test]
    fn intra_broker_move_shows_a_future_replica_then_completes_after_polls() {
        let f = fake().with_log_dirs(2, &["/d0", "/d1"]);
        f.auto_complete_after(2);
        assert_eq!(f.replica_dir(&tp(0), 2).as_deref(), Some("/d0"));
        let out = tokio_block(f.alter_replica_log_dirs(2, &to("/d1", 0))).unwrap();
        assert_eq!(out[&tp(0)], Ok(()));
        assert_eq!(f.future_dir(&tp(0), 2).as_deref(), Some("/d1"));
        // The first poll sees the replica in both dirs, the future one half copied.
        let d = dirs_of(&f, 2);
        assert_eq!(
            d[0],
            ("/d0".to_string(), vec![(tp(0), false), (tp(1), false)])
        );
        assert_eq!(d[1], ("/d1".to_string(), vec![(tp(0), true)]));
        // The second poll completes it.
        let d = dirs_of(&f, 2);
        assert_eq!(d[0], ("/d0".to_string(), vec![(tp(1), false)]));
        assert_eq!(d[1], ("/d1".to_string(), vec![(tp(0), false)]));
        assert_eq!(f.future_dir(&tp(0), 2), None);
        // Asking for the dir it is in changes nothing.
        let out = tokio_block(f.alter_replica_log_dirs(2, &to("/d1", 0))).unwrap();
        assert_eq!(out[&tp(0)], Ok(()));
        assert_eq!(f.future_dir(&tp(0), 2), None);
    }

    #[test]
    fn retargeting_to_the_current_dir_stops_the_move() {
        let f = fake().with_log_dirs(2, &["/d0", "/d1"]);
        tokio_block(f.alter_replica_log_dirs(2, &to("/d1", 0))).unwrap();
        assert!(f.future_dir(&tp(0), 2).is_some());
        tokio_block(f.alter_replica_log_dirs(2, &to("/d0", 0))).unwrap();
        assert_eq!(f.future_dir(&tp(0), 2), None);
        assert_eq!(f.replica_dir(&tp(0), 2).as_deref(), Some("/d0"));
    }

    #[test]
    fn unknown_and_offline_dirs_and_missing_replicas_are_refused() {
        let f = fake()
            .with_log_dirs(2, &["/d0", "/d1"])
            .with_log_dirs(4, &["/e0", "/e1"]);
        let code = |r: &Outcomes<TopicPartition>, p: i32| r[&tp(p)].as_ref().unwrap_err().code();
        let out = tokio_block(f.alter_replica_log_dirs(2, &to("/nope", 0))).unwrap();
        assert_eq!(code(&out, 0), Some(57));
        f.set_dir_offline(2, "/d1", true);
        let out = tokio_block(f.alter_replica_log_dirs(2, &to("/d1", 0))).unwrap();
        assert_eq!(code(&out, 0), Some(56));
        let d = dirs_of(&f, 2);
        assert_eq!(d[1], ("/d1".to_string(), vec![]));
        // Broker 4 has no replica of foo-0 until a reassignment adds it; the path asked
        // for first is where it is created.
        let out = tokio_block(f.alter_replica_log_dirs(4, &to("/e1", 0))).unwrap();
        assert_eq!(code(&out, 0), Some(9));
        tokio_block(f.alter_reassignments(&one(tp(0), Some(vec![1, 4])), true)).unwrap()[&tp(0)]
            .clone()
            .unwrap();
        let out = tokio_block(f.alter_replica_log_dirs(4, &to("/e1", 0))).unwrap();
        assert_eq!(code(&out, 0), Some(9), "not created yet");
        let out = tokio_block(f.alter_replica_log_dirs(4, &to("/e1", 0))).unwrap();
        assert_eq!(out[&tp(0)], Ok(()));
        assert_eq!(f.replica_dir(&tp(0), 4).as_deref(), Some("/e1"));
        assert_eq!(f.future_dir(&tp(0), 4), None);
        // A dead broker cannot be asked.
        f.set_broker_alive(4, false);
        assert!(tokio_block(f.alter_replica_log_dirs(4, &to("/e0", 0))).is_err());
    }
}
