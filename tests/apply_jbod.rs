//! `apply` of plans with explicit log directories (JBOD) against the in-memory cluster:
//! intra-broker moves (AlterReplicaLogDirs) alone and together with inter-broker moves, the
//! log-dir throttle set on the brokers with intra-broker moves only and restored exactly,
//! progress, and the faults: a connection dropped around AlterReplicaLogDirs, a storage
//! error, Ctrl-C during an intra-broker batch and between batches, `cancel` of a journal.

mod support;

use kafka_replan::apply::dirs::{DirState, DirTargets};
use kafka_replan::apply::executor::{
    cancel_journal, prepare_with_dirs, run, ApplyError, ApplyOptions, Progress, Reporter, StopFlag,
};
use kafka_replan::apply::journal::{Journal, Phase};
use kafka_replan::kafka::admin::ConfigResource;
use kafka_replan::kafka::fake::{FakeAdmin, Fault, Method};
use kafka_replan::model::Plan;
use kafka_replan::plan::schedule::BatchLimits;

use support::fake_apply::{assert_clean, replicas, rt, tp, Configs};

const LOG_DIR_RATE: &str = "replica.alter.log.dirs.io.max.bytes.per.second";

/// Four brokers with two log dirs each; a manual log-dir rate on broker 1 that must come
/// back. The plan: t-0 stays on [1,2] with broker 1's replica moving to /d1 (intra-broker
/// only); t-1 moves [2,1] → [2,4] with the new replica on broker 4 in /d1 (inter-broker
/// into a named dir); t-2 stays on [1,3] with both replicas moving to /d1; u-0 moves
/// [3,4] → [3,1] with every dir "any".
fn cluster() -> (FakeAdmin, Plan, Plan, DirTargets, Configs) {
    let mut admin = FakeAdmin::new();
    for b in 1..=4 {
        admin = admin
            .with_broker(b, None, None)
            .with_log_dirs(b, &["/d0", "/d1"]);
    }
    let admin = admin
        .with_partition("t", 0, &[1, 2], 100)
        .with_partition("t", 1, &[2, 1], 80)
        .with_partition("t", 2, &[1, 3], 60)
        .with_partition("u", 0, &[3, 4], 50);
    admin.modify(|s| {
        s.configs
            .entry(ConfigResource::Broker(1))
            .or_default()
            .insert(LOG_DIR_RATE.into(), "123".into());
    });
    let mut plan = Plan::default();
    plan.changes.insert(tp("t", 0), vec![1, 2]);
    plan.changes.insert(tp("t", 1), vec![2, 4]);
    plan.changes.insert(tp("t", 2), vec![1, 3]);
    plan.changes.insert(tp("u", 0), vec![3, 1]);
    let mut rollback = Plan::default();
    rollback.changes.insert(tp("t", 0), vec![1, 2]);
    rollback.changes.insert(tp("t", 1), vec![2, 1]);
    rollback.changes.insert(tp("t", 2), vec![1, 3]);
    rollback.changes.insert(tp("u", 0), vec![3, 4]);
    let mut dirs = DirTargets::new();
    dirs.insert((tp("t", 0), 1), "/d1".into());
    dirs.insert((tp("t", 1), 4), "/d1".into());
    dirs.insert((tp("t", 2), 1), "/d1".into());
    dirs.insert((tp("t", 2), 3), "/d1".into());
    let before = admin.inspect(|s| s.configs.clone());
    (admin, plan, rollback, dirs, before)
}

fn opts() -> ApplyOptions {
    ApplyOptions {
        log_dir_throttle: Some(500),
        limits: BatchLimits {
            max_bytes_per_broker: 1000,
            max_moves_per_broker: None,
        },
        ..support::fake_apply::opts()
    }
}

fn start(
    admin: &FakeAdmin,
    plan: &Plan,
    rollback: &Plan,
    dirs: &DirTargets,
) -> (Journal, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let prepared = rt()
        .block_on(prepare_with_dirs(
            admin,
            plan,
            dirs,
            Some(rollback),
            &opts(),
            "fake:9092",
        ))
        .unwrap();
    let j = Journal::create(tmp.path(), prepared.state).unwrap();
    (j, tmp)
}

/// Every planned replica in its planned dir, no future replica left, no move in flight,
/// the replicas as planned.
fn assert_placed(admin: &FakeAdmin, plan: &Plan, dirs: &DirTargets) {
    for ((tp, b), dir) in dirs {
        assert_eq!(
            admin.replica_dir(tp, *b).as_deref(),
            Some(dir.as_str()),
            "{tp} on {b}"
        );
    }
    assert_no_future(admin);
    let now = replicas(admin);
    for (tp, target) in &plan.changes {
        assert_eq!(&now[tp], target, "{tp}");
    }
}

fn assert_no_future(admin: &FakeAdmin) {
    let futures = admin.inspect(|s| s.future_replicas.clone());
    assert!(futures.is_empty(), "future replicas left: {futures:?}");
}

/// When a spy stops the run, and the flag it sets.
type StopWhen = (fn(&Progress) -> bool, StopFlag);

/// Records the configs and progress while data copies; stops the run on a condition.
struct Spy {
    admin: FakeAdmin,
    seen: Vec<Configs>,
    last: Option<Progress>,
    stop_when: Option<StopWhen>,
}

impl Spy {
    fn new(admin: &FakeAdmin) -> Spy {
        Spy {
            admin: admin.clone(),
            seen: Vec::new(),
            last: None,
            stop_when: None,
        }
    }
}

impl Reporter for Spy {
    fn progress(&mut self, p: &Progress) {
        self.seen.push(self.admin.inspect(|s| s.configs.clone()));
        self.last = Some(p.clone());
        if let Some((when, flag)) = &self.stop_when {
            if when(p) {
                flag.stop();
            }
        }
    }
    fn line(&mut self, _: &str) {}
}

#[test]
fn intra_and_inter_broker_moves_land_in_their_dirs_with_the_log_dir_throttle_restored() {
    let (admin, plan, rollback, dirs, before) = cluster();
    admin.auto_complete_after(3);
    let (mut j, _tmp) = start(&admin, &plan, &rollback, &dirs);
    // t-1 and u-0 move between brokers (batch 1, with the dir of t-1's new replica); the
    // intra-broker moves of t-0 and t-2 get a batch of their own.
    assert_eq!(j.state.batches.len(), 2, "{:?}", j.state.batches);
    let by_batch: Vec<(usize, String)> = j
        .state
        .dir_moves
        .iter()
        .map(|m| (m.batch, m.replica()))
        .collect();
    assert_eq!(
        by_batch,
        [
            (0, "t-1-4".to_string()),
            (1, "t-0-1".to_string()),
            (1, "t-2-1".to_string()),
            (1, "t-2-3".to_string()),
        ]
    );
    assert_eq!(j.state.dir_moves[0].from_dir, None);
    assert_eq!(j.state.dir_moves[1].from_dir.as_deref(), Some("/d0"));
    let mut spy = Spy::new(&admin);
    let summary = rt()
        .block_on(run(&admin, &mut j, &opts(), &mut spy, &StopFlag::default()))
        .unwrap();
    assert!(summary.complete(), "{:?}", summary.dir_status);
    assert!(summary.dir_status.values().all(|s| *s == DirState::Done));
    assert_placed(&admin, &plan, &dirs);
    assert_clean(&admin, &before);
    assert_eq!(j.state.phase, Phase::Done);
    assert!(j.state.ledger.is_none());
    // The log-dir throttle was ours (500) only on brokers with a log-dir move in the
    // running batch: 4 in batch 1, 1 and 3 in batch 2; never on broker 2.
    let mut ours_on = std::collections::BTreeSet::new();
    for configs in &spy.seen {
        for (r, kv) in configs {
            if let ConfigResource::Broker(b) = r {
                if kv.get(LOG_DIR_RATE).map(String::as_str) == Some("500") {
                    ours_on.insert(*b);
                }
            }
        }
    }
    assert_eq!(ours_on, [1, 3, 4].into());
    // Progress counts the intra-broker moves.
    let last = spy.last.unwrap();
    assert_eq!((last.dir_moves_done, last.dir_moves_total), (4, 4));
    assert_eq!(last.dir_bytes_done, last.dir_bytes_total);
    assert_eq!(last.dir_bytes_total, 100 + 80 + 60 + 60);
    // The new replica on broker 4 was asked for before it existed: the run retried.
    let alters = admin.inspect(|s| {
        s.calls
            .iter()
            .filter(|c| **c == Method::AlterReplicaLogDirs)
            .count()
    });
    assert!(alters >= 3, "{alters} AlterReplicaLogDirs calls");
}

#[test]
fn a_connection_dropped_around_alter_replica_log_dirs_is_survived() {
    let (admin, plan, rollback, dirs, before) = cluster();
    admin.auto_complete_after(2);
    // The first answer is lost after the broker acted, the second call is refused.
    admin.fail_next(
        Method::AlterReplicaLogDirs,
        Fault::lost_after_apply("AlterReplicaLogDirs"),
    );
    admin.fail_next(Method::AlterReplicaLogDirs, Fault::connection_refused());
    let (mut j, _tmp) = start(&admin, &plan, &rollback, &dirs);
    let summary = rt()
        .block_on(run(
            &admin,
            &mut j,
            &opts(),
            &mut Spy::new(&admin),
            &StopFlag::default(),
        ))
        .unwrap();
    assert!(summary.complete());
    assert_placed(&admin, &plan, &dirs);
    assert_clean(&admin, &before);
}

#[test]
fn a_storage_error_stops_the_batch_restores_throttles_and_resume_finishes() {
    let (admin, plan, rollback, dirs, before) = cluster();
    admin.auto_complete_after(1000);
    let (mut j, _tmp) = start(&admin, &plan, &rollback, &dirs);
    // Broker 3's /d1 fails after the plan was checked.
    admin.set_dir_offline(3, "/d1", true);
    let e = rt()
        .block_on(run(
            &admin,
            &mut j,
            &opts(),
            &mut Spy::new(&admin),
            &StopFlag::default(),
        ))
        .unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, ApplyError::Stopped { .. }), "{text}");
    assert!(
        text.contains("Failed to alter dir for t-2-3 to /d1"),
        "{text}"
    );
    assert!(text.contains("KAFKA_STORAGE_ERROR"), "{text}");
    // The intra-broker moves started on broker 1 were stopped: their replicas stay where
    // they were, and the throttles (the log-dir one included) are as before.
    assert!(
        text.contains("Stopped the log-dir move of replica t-0-1 to /d1"),
        "{text}"
    );
    assert_no_future(&admin);
    assert_eq!(admin.replica_dir(&tp("t", 0), 1).as_deref(), Some("/d0"));
    assert_clean(&admin, &before);
    assert_eq!(j.state.phase, Phase::Stopped);
    assert_eq!(j.state.current_batch, 1);
    // The disk is replaced; the journal resumes from where it stopped.
    admin.set_dir_offline(3, "/d1", false);
    admin.auto_complete_after(2);
    let mut j = Journal::open(j.dir()).unwrap();
    let summary = rt()
        .block_on(run(
            &admin,
            &mut j,
            &opts(),
            &mut Spy::new(&admin),
            &StopFlag::default(),
        ))
        .unwrap();
    assert!(summary.complete());
    assert_placed(&admin, &plan, &dirs);
    assert_clean(&admin, &before);
}

#[test]
fn ctrl_c_during_intra_broker_moves_stops_them_and_resume_finishes() {
    let (admin, plan, rollback, dirs, before) = cluster();
    admin.auto_complete_after(4);
    let (mut j, _tmp) = start(&admin, &plan, &rollback, &dirs);
    let flag = StopFlag::default();
    let mut spy = Spy::new(&admin);
    // Stop at the first poll of batch 2 with a move copying.
    spy.stop_when = Some((
        |p: &Progress| p.batch == 2 && p.dir_bytes_done > p.dir_bytes_total - 220,
        flag.clone(),
    ));
    let e = rt()
        .block_on(run(&admin, &mut j, &opts(), &mut spy, &flag))
        .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("interrupted"), "{text}");
    assert!(
        text.contains("Stopped the log-dir move of replica"),
        "{text}"
    );
    assert_no_future(&admin);
    assert_clean(&admin, &before);
    assert_eq!(j.state.phase, Phase::Stopped);
    // Batch 1 (t-1 with its new replica in /d1) finished and stays.
    assert_eq!(admin.replica_dir(&tp("t", 1), 4).as_deref(), Some("/d1"));
    let mut j = Journal::open(j.dir()).unwrap();
    let summary = rt()
        .block_on(run(
            &admin,
            &mut j,
            &opts(),
            &mut Spy::new(&admin),
            &StopFlag::default(),
        ))
        .unwrap();
    assert!(summary.complete());
    assert_placed(&admin, &plan, &dirs);
    assert_clean(&admin, &before);
}

#[test]
fn ctrl_c_between_batches_leaves_no_throttle_and_a_resumable_journal() {
    let (admin, plan, rollback, dirs, before) = cluster();
    admin.auto_complete_after(2);
    let (mut j, _tmp) = start(&admin, &plan, &rollback, &dirs);
    let flag = StopFlag::default();
    let mut spy = Spy::new(&admin);
    // Batch 1 reports itself complete: stop before batch 2 starts.
    spy.stop_when = Some((
        |p: &Progress| p.batch == 1 && p.partitions_done == p.partitions_total,
        flag.clone(),
    ));
    let e = rt()
        .block_on(run(&admin, &mut j, &opts(), &mut spy, &flag))
        .unwrap_err();
    assert!(e.to_string().contains("stopped between batches"), "{e}");
    assert_eq!(j.state.current_batch, 1);
    assert!(j.state.ledger.is_none());
    assert_clean(&admin, &before);
    // Nothing of batch 2 started.
    assert_eq!(admin.replica_dir(&tp("t", 0), 1).as_deref(), Some("/d0"));
    let mut j = Journal::open(j.dir()).unwrap();
    let summary = rt()
        .block_on(run(
            &admin,
            &mut j,
            &opts(),
            &mut Spy::new(&admin),
            &StopFlag::default(),
        ))
        .unwrap();
    assert!(summary.complete());
    assert_placed(&admin, &plan, &dirs);
    assert_clean(&admin, &before);
}

#[test]
fn killed_during_intra_broker_moves_then_cancelled_or_resumed() {
    for resume in [false, true] {
        // Find the journal write after which batch 2's log-dir moves have been sent, and
        // "kill" the process right there.
        let mut found = None;
        for writes in 1..100 {
            let (admin, plan, rollback, dirs, before) = cluster();
            admin.auto_complete_after(2);
            let (mut j, tmp) = start(&admin, &plan, &rollback, &dirs);
            j.crash_after_writes(writes);
            let _ = rt().block_on(run(
                &admin,
                &mut j,
                &opts(),
                &mut Spy::new(&admin),
                &StopFlag::default(),
            ));
            let last = j.state.events.last().cloned();
            if last.is_some_and(|e| e.event == "log-dir moves started" && e.batch == Some(1)) {
                found = Some((admin, plan, dirs, before, tmp));
                break;
            }
        }
        let (admin, plan, dirs, before, tmp) =
            found.expect("a run reaches batch 2's log-dir moves");
        // The copies are still running when the journal is picked up again.
        admin.auto_complete_after(1000);
        assert!(admin.inspect(|s| !s.future_replicas.is_empty()));
        let mut j = Journal::open(tmp.path()).unwrap();
        assert_eq!(j.state.phase, Phase::Copying);
        if resume {
            admin.auto_complete_after(2);
            let summary = rt()
                .block_on(run(
                    &admin,
                    &mut j,
                    &opts(),
                    &mut Spy::new(&admin),
                    &StopFlag::default(),
                ))
                .unwrap();
            assert!(summary.complete());
            assert_placed(&admin, &plan, &dirs);
        } else {
            let lines = rt()
                .block_on(cancel_journal(&admin, &mut j, &opts()))
                .unwrap();
            assert!(
                lines
                    .iter()
                    .any(|l| l.starts_with("Stopped the log-dir move of replica")),
                "{lines:?}"
            );
            assert_eq!(j.state.phase, Phase::Cancelled);
            assert_no_future(&admin);
            // The stopped moves leave their replicas where they were.
            assert_eq!(admin.replica_dir(&tp("t", 0), 1).as_deref(), Some("/d0"));
            assert_eq!(admin.replica_dir(&tp("t", 2), 3).as_deref(), Some("/d0"));
        }
        assert_clean(&admin, &before);
    }
}

#[test]
fn preflight_refuses_unknown_and_offline_dirs_naming_broker_and_path() {
    let (admin, plan, rollback, mut dirs, before) = cluster();
    dirs.insert((tp("u", 0), 1), "/nope".into());
    admin.set_dir_offline(3, "/d1", true);
    let e = rt()
        .block_on(prepare_with_dirs(
            &admin,
            &plan,
            &dirs,
            Some(&rollback),
            &opts(),
            "fake:9092",
        ))
        .unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, ApplyError::Refused(_)), "{text}");
    assert!(
        text.contains("u-0: broker 1 has no log dir /nope (its log dirs: /d0, /d1)"),
        "{text}"
    );
    assert!(
        text.contains("t-2: log dir /d1 of broker 3 is offline"),
        "{text}"
    );
    // Nothing was changed.
    assert_eq!(admin.inspect(|s| s.configs.clone()), before);
    assert!(admin.inspect(|s| !s.calls.contains(&Method::AlterReplicaLogDirs)));
}
