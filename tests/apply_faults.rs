//! `apply` against the in-memory cluster with injected faults: the happy path, a crash
//! (journal replay) between any two steps, dropped connections, retriable and fatal errors
//! on each call, a broker disappearing, Ctrl-C and a lost cluster. After each: the cluster
//! ends at the plan or in a documented safe state, no throttle config is left that was not
//! there before, and the journal says where the run is.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use kafka_replan::apply::executor::{
    cancel_journal, clear_leftover_throttles, prepare, run, ApplyError, LeftoverThrottles,
    Progress, Reporter, Silent, StopFlag,
};
use kafka_replan::apply::journal::{Journal, JournalError, Phase};
use kafka_replan::kafka::admin::ConfigResource;
use kafka_replan::kafka::fake::{FakeAdmin, Fault, Method};
use kafka_replan::kafka::Admin;
use kafka_replan::model::{BrokerId, Plan};

use support::fake_apply::{assert_clean, cluster, opts, replicas, rt, start, tp, Configs};

fn assert_applied(admin: &FakeAdmin, plan: &Plan) {
    let now = replicas(admin);
    for (tp, target) in &plan.changes {
        assert_eq!(&now[tp], target, "{tp}");
        assert_eq!(
            admin.inspect(|s| s.partitions[tp].leader),
            target.first().copied(),
            "{tp} leader"
        );
    }
}

/// Checks, while data copies, that throttles exist only for the moving replicas.
struct ThrottleSpy {
    admin: FakeAdmin,
    seen: Vec<Configs>,
    stop_at_progress: Option<(usize, StopFlag)>,
    progress_calls: usize,
}

impl Reporter for ThrottleSpy {
    fn progress(&mut self, _: &Progress) {
        self.progress_calls += 1;
        let moving = self
            .admin
            .inspect(|s| s.partitions.values().any(|p| p.in_flight()));
        if moving {
            self.seen.push(self.admin.inspect(|s| s.configs.clone()));
        }
        if let Some((n, flag)) = &self.stop_at_progress {
            if self.progress_calls >= *n {
                flag.stop();
            }
        }
    }
    fn line(&mut self, _: &str) {}
}

#[test]
fn f_c5_f_c8_applies_in_batches_throttles_set_before_moves_and_removed_exactly() {
    let (admin, plan, rollback, before) = cluster();
    admin.auto_complete_after(3);
    let dir = tempfile::tempdir().unwrap();
    let mut journal = start(&admin, &plan, &rollback, dir.path());
    assert!(
        journal.state.batches.len() >= 2,
        "{:?}",
        journal.state.batches
    );
    let mut spy = ThrottleSpy {
        admin: admin.clone(),
        seen: Vec::new(),
        stop_at_progress: None,
        progress_calls: 0,
    };
    let summary = rt()
        .block_on(run(
            &admin,
            &mut journal,
            &opts(),
            &mut spy,
            &StopFlag::default(),
        ))
        .unwrap();
    assert!(summary.complete());
    assert_applied(&admin, &plan);
    assert_clean(&admin, &before);
    assert_eq!(journal.state.phase, Phase::Done);
    // C5: every submission comes after a throttle change (each batch sets its own).
    let calls = admin.inspect(|s| s.calls.clone());
    let mut throttled = false;
    for c in &calls {
        match c {
            Method::IncrementalAlterConfigs => throttled = true,
            Method::AlterReassignments => {
                assert!(
                    throttled,
                    "a batch was submitted before its throttles: {calls:?}"
                );
                throttled = false;
            }
            _ => {}
        }
    }
    assert!(journal.state.ledger.is_none());
    // During the copy: manual values kept, our entries appended, `*` left alone.
    assert!(!spy.seen.is_empty());
    for configs in &spy.seen {
        let t = configs.get(&ConfigResource::Topic("t".into()));
        if let Some(t) = t {
            let leader = &t["leader.replication.throttled.replicas"];
            assert!(leader.split(',').any(|e| e == "9:9"), "{leader}");
        }
        if let Some(u) = configs.get(&ConfigResource::Topic("u".into())) {
            assert_eq!(u["follower.replication.throttled.replicas"], "*");
        }
        // Throttled brokers are exactly those of moving replicas: every broker with a
        // rate of ours appears in some move of the running batch.
        for (r, kv) in configs {
            if let ConfigResource::Broker(b) = r {
                if kv
                    .get("follower.replication.throttled.rate")
                    .map(String::as_str)
                    == Some("1000")
                {
                    assert!((1..=4).contains(b));
                }
            }
        }
    }
    // The leader-only change t-2 copies nothing and never gets a follower entry.
    for configs in &spy.seen {
        if let Some(t) = configs.get(&ConfigResource::Topic("t".into())) {
            if let Some(f) = t.get("follower.replication.throttled.replicas") {
                assert!(!f.split(',').any(|e| e.starts_with("2:")), "{f}");
            }
        }
    }
    // A second run of a finished journal changes nothing.
    let again = rt()
        .block_on(run(
            &admin,
            &mut journal,
            &opts(),
            &mut Silent,
            &StopFlag::default(),
        ))
        .unwrap();
    assert!(again.complete());
}

#[test]
fn killed_after_any_journal_write_then_resumed_or_cancelled() {
    // Count the writes of a full run.
    let total = {
        let (admin, plan, rollback, _) = cluster();
        admin.auto_complete_after(2);
        let dir = tempfile::tempdir().unwrap();
        let mut j = start(&admin, &plan, &rollback, dir.path());
        rt().block_on(run(
            &admin,
            &mut j,
            &opts(),
            &mut Silent,
            &StopFlag::default(),
        ))
        .unwrap();
        j.state.events.len()
    };
    assert!(total > 8);
    for n in 1..total {
        for then_cancel in [false, true] {
            let (admin, plan, rollback, before) = cluster();
            admin.auto_complete_after(2);
            let dir = tempfile::tempdir().unwrap();
            let mut j = start(&admin, &plan, &rollback, dir.path());
            j.crash_after_writes(n);
            let r = rt().block_on(run(
                &admin,
                &mut j,
                &opts(),
                &mut Silent,
                &StopFlag::default(),
            ));
            assert!(
                matches!(r, Err(ApplyError::Journal(JournalError::SimulatedCrash(_)))),
                "write {n}: {r:?}"
            );
            drop(j);
            // A new process reads the journal.
            let mut j = Journal::open(dir.path()).unwrap();
            if then_cancel {
                rt().block_on(cancel_journal(&admin, &mut j, &opts()))
                    .unwrap();
                assert_clean(&admin, &before);
                assert_eq!(
                    Journal::open(dir.path()).unwrap().state.phase,
                    Phase::Cancelled
                );
                // Every partition is at its original replicas or at a finished step.
                let now = replicas(&admin);
                for (tp, orig) in &rollback.changes {
                    let steps: Vec<Vec<BrokerId>> = j
                        .state
                        .batches
                        .iter()
                        .flat_map(|b| b.moves.iter())
                        .filter(|m| &m.tp() == tp)
                        .map(|m| m.to.clone())
                        .collect();
                    assert!(
                        &now[tp] == orig || steps.contains(&now[tp]),
                        "write {n}: {tp} at {:?}",
                        now[tp]
                    );
                }
            } else {
                let s = rt()
                    .block_on(run(
                        &admin,
                        &mut j,
                        &opts(),
                        &mut Silent,
                        &StopFlag::default(),
                    ))
                    .unwrap_or_else(|e| panic!("resume after write {n}: {e}"));
                assert!(s.complete(), "write {n}");
                assert_applied(&admin, &plan);
                assert_clean(&admin, &before);
            }
        }
    }
}

#[test]
fn dropped_connections_and_retriable_errors_on_each_call_are_survived() {
    for method in [
        Method::DescribeCluster,
        Method::DescribeTopics,
        Method::DescribeLogDirs,
        Method::ListReassignments,
        Method::DescribeConfigs,
        Method::IncrementalAlterConfigs,
        Method::AlterReassignments,
    ] {
        let mut faults = vec![
            Fault::connection_refused(),
            Fault::broker_error("any", 41), // NOT_CONTROLLER
        ];
        // The client resends reads itself; only writes can end with an unknown outcome.
        if matches!(
            method,
            Method::AlterReassignments | Method::IncrementalAlterConfigs
        ) {
            faults.push(Fault::lost_after_apply("any"));
        }
        for fault in faults {
            let (admin, plan, rollback, before) = cluster();
            admin.auto_complete_after(2);
            let dir = tempfile::tempdir().unwrap();
            let mut j = start(&admin, &plan, &rollback, dir.path());
            // The run's first call of the method fails.
            admin.fail_next(method, fault.clone());
            let r = rt().block_on(run(
                &admin,
                &mut j,
                &opts(),
                &mut Silent,
                &StopFlag::default(),
            ));
            match r {
                Ok(s) => {
                    assert!(s.complete(), "{method:?} {fault:?}");
                    assert_applied(&admin, &plan);
                    assert_clean(&admin, &before);
                }
                Err(ApplyError::Stopped { .. }) => {
                    // A fault the run cannot retry stops it cleanly; resume finishes.
                    assert_clean(&admin, &before);
                    let s = rt()
                        .block_on(run(
                            &admin,
                            &mut j,
                            &opts(),
                            &mut Silent,
                            &StopFlag::default(),
                        ))
                        .unwrap();
                    assert!(s.complete());
                    assert_applied(&admin, &plan);
                    assert_clean(&admin, &before);
                }
                Err(e) => panic!("{method:?} {fault:?}: {e}"),
            }
        }
    }
}

#[test]
fn fatal_error_on_submission_stops_cleanly_and_resumes() {
    let (admin, plan, rollback, before) = cluster();
    admin.auto_complete_after(2);
    let dir = tempfile::tempdir().unwrap();
    let mut j = start(&admin, &plan, &rollback, dir.path());
    // CLUSTER_AUTHORIZATION_FAILED on the first submission.
    admin.fail_next(
        Method::AlterReassignments,
        Fault::broker_error("AlterPartitionReassignments", 31),
    );
    let e = rt()
        .block_on(run(
            &admin,
            &mut j,
            &opts(),
            &mut Silent,
            &StopFlag::default(),
        ))
        .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("CLUSTER_AUTHORIZATION_FAILED"), "{text}");
    assert!(matches!(e, ApplyError::Stopped { .. }));
    assert_clean(&admin, &before);
    assert_eq!(replicas(&admin), rollback.changes);
    assert_eq!(j.state.phase, Phase::Stopped);
    let s = rt()
        .block_on(run(
            &admin,
            &mut j,
            &opts(),
            &mut Silent,
            &StopFlag::default(),
        ))
        .unwrap();
    assert!(s.complete());
    assert_applied(&admin, &plan);
    assert_clean(&admin, &before);
}

#[test]
fn a_broker_going_down_mid_batch_stops_cleanly_and_resumes_after_restart() {
    let (admin, plan, rollback, before) = cluster();
    // Moves never complete by themselves: broker 4 goes down while they copy.
    let dir = tempfile::tempdir().unwrap();
    let mut j = start(&admin, &plan, &rollback, dir.path());
    struct KillOnProgress(FakeAdmin, bool);
    impl Reporter for KillOnProgress {
        fn progress(&mut self, _: &Progress) {
            let moving = self
                .0
                .inspect(|s| s.partitions.values().any(|p| p.in_flight()));
            if moving && !self.1 {
                self.1 = true;
                self.0.set_broker_alive(4, false);
            }
        }
        fn line(&mut self, _: &str) {}
    }
    let e = rt()
        .block_on(run(
            &admin,
            &mut j,
            &opts(),
            &mut KillOnProgress(admin.clone(), false),
            &StopFlag::default(),
        ))
        .unwrap_err();
    assert!(e.to_string().contains("broker 4 has been down"), "{e}");
    assert_eq!(j.state.phase, Phase::Stopped);
    // Broker 4's own configs cannot be reached while it is down: only its rates stay
    // recorded (and set); everything else is restored.
    let ledger = j.state.ledger.clone().expect("broker 4's rates recorded");
    assert_eq!(ledger.broker_ids(), [4].into());
    assert!(ledger.topics.is_empty());
    let mut now = admin.inspect(|s| s.configs.clone());
    now.retain(|r, _| *r != ConfigResource::Broker(4));
    let mut want = before.clone();
    want.retain(|r, _| *r != ConfigResource::Broker(4));
    assert_eq!(now, want);
    admin.set_broker_alive(4, true);
    admin.auto_complete_after(2);
    let s = rt()
        .block_on(run(
            &admin,
            &mut j,
            &opts(),
            &mut Silent,
            &StopFlag::default(),
        ))
        .unwrap();
    assert!(s.complete());
    assert_applied(&admin, &plan);
    assert_clean(&admin, &before);
}

#[test]
fn ctrl_c_cancels_the_running_batch_restores_throttles_and_resume_finishes() {
    let (admin, plan, rollback, before) = cluster();
    admin.auto_complete_after(1000);
    let dir = tempfile::tempdir().unwrap();
    let mut j = start(&admin, &plan, &rollback, dir.path());
    let flag = StopFlag::default();
    let mut spy = ThrottleSpy {
        admin: admin.clone(),
        seen: Vec::new(),
        stop_at_progress: Some((3, flag.clone())),
        progress_calls: 0,
    };
    let e = rt()
        .block_on(run(&admin, &mut j, &opts(), &mut spy, &flag))
        .unwrap_err();
    assert!(e.to_string().contains("interrupted"), "{e}");
    assert_clean(&admin, &before);
    // Cancelled partitions have their original order back; t-2 (a reorder, done at
    // once) stays done.
    let mut expected = rollback.changes.clone();
    expected.insert(tp("t", 2), vec![2, 1]);
    assert_eq!(replicas(&admin), expected);
    admin.auto_complete_after(2);
    let s = rt()
        .block_on(run(
            &admin,
            &mut j,
            &opts(),
            &mut Silent,
            &StopFlag::default(),
        ))
        .unwrap();
    assert!(s.complete());
    assert_applied(&admin, &plan);
    assert_clean(&admin, &before);
}

#[test]
fn a_lost_cluster_leaves_the_journal_for_resume() {
    let (admin, plan, rollback, before) = cluster();
    let dir = tempfile::tempdir().unwrap();
    let mut j = start(&admin, &plan, &rollback, dir.path());
    // Moves do not complete; once data copies, the network goes: every poll and every
    // cleanup call fails.
    struct CutOnProgress(FakeAdmin, bool);
    impl Reporter for CutOnProgress {
        fn progress(&mut self, _: &Progress) {
            let moving = self
                .0
                .inspect(|s| s.partitions.values().any(|p| p.in_flight()));
            if moving && !self.1 {
                self.1 = true;
                for _ in 0..5000 {
                    for m in [
                        Method::ListReassignments,
                        Method::DescribeCluster,
                        Method::DescribeTopics,
                        Method::DescribeConfigs,
                        Method::IncrementalAlterConfigs,
                        Method::AlterReassignments,
                    ] {
                        self.0.fail_next(m, Fault::connection_refused());
                    }
                }
            }
        }
        fn line(&mut self, _: &str) {}
    }
    let mut o = opts();
    o.unreachable_grace = Duration::from_millis(20);
    let e = rt()
        .block_on(run(
            &admin,
            &mut j,
            &o,
            &mut CutOnProgress(admin.clone(), false),
            &StopFlag::default(),
        ))
        .unwrap_err();
    assert!(matches!(e, ApplyError::LostCluster(_)), "{e}");
    let reopened = Journal::open(dir.path()).unwrap();
    assert!(
        reopened.state.ledger.is_some(),
        "the ledger stays for resume"
    );
    // The cluster comes back.
    admin.clear_faults();
    admin.auto_complete_after(2);
    let mut j = reopened;
    let s = rt()
        .block_on(run(
            &admin,
            &mut j,
            &opts(),
            &mut Silent,
            &StopFlag::default(),
        ))
        .unwrap();
    assert!(s.complete());
    assert_applied(&admin, &plan);
    assert_clean(&admin, &before);
}

#[test]
fn f_c1_f_c2_f_c3_preflight_refuses_changed_cluster_other_moves_and_dead_targets() {
    let (admin, plan, rollback, _) = cluster();
    // Someone moved t-1 since the plan was made.
    admin.modify(|s| s.partitions.get_mut(&tp("t", 1)).unwrap().replicas = vec![1, 2]);
    let e = rt()
        .block_on(prepare(&admin, &plan, Some(&rollback), &opts(), "x"))
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("t-1: replicas are 1,2 but the plan was made from 2,1"),
        "{e}"
    );

    let (admin, plan, rollback, _) = cluster();
    let admin = admin.with_partition("v", 0, &[1, 2], 1);
    let mut other = BTreeMap::new();
    other.insert(tp("v", 0), Some(vec![1, 3]));
    rt().block_on(admin.alter_reassignments(&other, false))
        .unwrap();
    let e = rt()
        .block_on(prepare(&admin, &plan, Some(&rollback), &opts(), "x"))
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("Cannot execute because there is an existing partition assignment."),
        "{e}"
    );
    let mut additional = opts();
    additional.additional = true;
    assert!(rt()
        .block_on(prepare(&admin, &plan, Some(&rollback), &additional, "x"))
        .is_ok());

    let (admin, mut plan, rollback, _) = cluster();
    plan.changes.insert(tp("t", 0), vec![3, 9]);
    let e = rt()
        .block_on(prepare(&admin, &plan, Some(&rollback), &opts(), "x"))
        .unwrap_err();
    assert!(e.to_string().contains("Unknown broker id 9"), "{e}");

    let (admin, mut plan, rollback, _) = cluster();
    plan.changes.insert(tp("w", 0), vec![3, 4]);
    let e = rt()
        .block_on(prepare(&admin, &plan, Some(&rollback), &opts(), "x"))
        .unwrap_err();
    assert!(e.to_string().contains("Topic w not found."), "{e}");

    let (admin, plan, rollback, _) = cluster();
    admin.modify(|s| {
        s.configs
            .entry(ConfigResource::Topic("u".into()))
            .or_default()
            .insert("min.insync.replicas".into(), "3".into());
    });
    let e = rt()
        .block_on(prepare(&admin, &plan, Some(&rollback), &opts(), "x"))
        .unwrap_err();
    assert!(
        e.to_string().contains(
            "u-0: the target has 2 replicas, fewer than the topic's min.insync.replicas=3"
        ),
        "{e}"
    );
}

#[test]
fn f_a17_verify_keeps_throttles_while_moving_and_removes_only_ours_once_complete() {
    let (admin, plan, rollback, before) = cluster();
    let dir = tempfile::tempdir().unwrap();
    let mut j = start(&admin, &plan, &rollback, dir.path());
    // The run is killed while data copies (after its writes "ledger recorded", "throttles
    // set", "submitted"): throttles set, moves in flight.
    j.crash_after_writes(3);
    let r = rt().block_on(run(
        &admin,
        &mut j,
        &opts(),
        &mut Silent,
        &StopFlag::default(),
    ));
    assert!(r.is_err());
    let mut j = Journal::open(dir.path()).unwrap();
    assert_eq!(j.state.phase, Phase::Copying);
    let during = admin.inspect(|s| s.configs.clone());
    assert_ne!(during, before);
    // Still moving: verify keeps them.
    let kept = rt()
        .block_on(clear_leftover_throttles(
            &admin,
            &mut j,
            false,
            false,
            &opts(),
        ))
        .unwrap();
    assert!(matches!(kept, LeftoverThrottles::Kept(_)));
    assert_eq!(admin.inspect(|s| s.configs.clone()), during);
    // Complete (the moves finish without the killed apply) but --preserve-throttles.
    admin.complete_moves();
    let kept = rt()
        .block_on(clear_leftover_throttles(
            &admin,
            &mut j,
            true,
            true,
            &opts(),
        ))
        .unwrap();
    assert!(matches!(kept, LeftoverThrottles::Kept(_)));
    // Complete: exactly ours go; the manual values stay.
    let removed = rt()
        .block_on(clear_leftover_throttles(
            &admin,
            &mut j,
            true,
            false,
            &opts(),
        ))
        .unwrap();
    assert!(matches!(removed, LeftoverThrottles::Removed(_)));
    assert_clean(&admin, &before);
    assert!(Journal::open(dir.path()).unwrap().state.ledger.is_none());
}

#[test]
fn f_c7_disallow_replication_factor_change_names_each_partition_r28() {
    // The cluster and plan of vector R28.
    let admin = FakeAdmin::new()
        .with_broker(0, None, None)
        .with_broker(1, None, None)
        .with_broker(2, None, None)
        .with_broker(3, None, None)
        .with_partition("foo", 0, &[0, 1, 2], 1)
        .with_partition("foo", 1, &[1, 2, 3], 1)
        .with_partition("bar", 0, &[3, 2, 1], 1)
        .with_partition("baz", 0, &[1, 0, 2], 1);
    let mut plan = Plan::default();
    plan.changes.insert(tp("foo", 0), vec![0, 1]);
    plan.changes.insert(tp("foo", 1), vec![0, 1, 2, 3]);
    plan.changes.insert(tp("bar", 0), vec![3]);
    let mut o = opts();
    o.disallow_rf_change = true;
    let e = rt()
        .block_on(prepare(&admin, &plan, None, &o, "x"))
        .unwrap_err();
    let text = e.to_string();
    for line in [
        "bar-0: The replication factor is changed from 3 to 1",
        "foo-0: The replication factor is changed from 3 to 2",
        "foo-1: The replication factor is changed from 3 to 4",
    ] {
        assert!(text.contains(line), "{text}");
    }
    // The controller-side check (the fake follows KRaft's message) for a request sent
    // with AllowReplicationFactorChange=false.
    let mut req = BTreeMap::new();
    req.insert(tp("foo", 0), Some(vec![0, 1]));
    let out = rt()
        .block_on(admin.alter_reassignments(&req, false))
        .unwrap();
    let err = out[&tp("foo", 0)].as_ref().unwrap_err().to_string();
    assert!(err.contains("INVALID_REPLICATION_FACTOR"), "{err}");
    assert!(
        err.contains("The replication factor is changed from 3 to 2"),
        "{err}"
    );
}
