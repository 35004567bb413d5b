//! `apply` when a broker's reply cannot be decoded (issue 17: the client turns it into
//! `Error::Protocol`, which is not retriable). Such a reply in the middle of a run must take
//! the normal error path: the running batch is cancelled with its replica order restored,
//! the throttles are put back, the journal says "stopped" with the reason, and the run
//! returns an error. When every reply from some point on is broken, the run still returns
//! (the cluster is lost) and the journal is left for `apply --resume` or `cancel`.
//!
//! Every run is wrapped in a time limit so that a run that never ends fails the test
//! instead of blocking the suite.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use kafka_replan::apply::executor::{
    cancel_journal, run, ApplyError, ApplyOptions, Progress, Reporter, Silent, StopFlag, Summary,
};
use kafka_replan::apply::journal::{Journal, Phase};
use kafka_replan::kafka::fake::{FakeAdmin, Fault, Method};
use kafka_replan::kafka::Error;
use kafka_replan::model::{BrokerId, Plan, TopicPartition};

use support::fake_apply::{assert_clean, cluster, opts, replicas, rt, start};

/// Far above what any of these runs needs with the short graces of `opts()`, far below
/// "hung".
const LIMIT: Duration = Duration::from_secs(20);

const PEER: &str = "10.0.0.5:9092";

/// What the client returns for a reply it could not decode.
fn protocol(api: &'static str) -> Error {
    Error::Protocol {
        addr: PEER.into(),
        api,
        reason: "array of 2147483631 entries in a 30-byte frame".into(),
    }
}

fn leaders(admin: &FakeAdmin) -> BTreeMap<TopicPartition, Option<BrokerId>> {
    admin.inspect(|s| {
        s.partitions
            .iter()
            .map(|(tp, p)| (tp.clone(), p.leader))
            .collect()
    })
}

/// Every partition of the plan is back at its original replicas, in their original order
/// and led by the original first replica, except a pure reorder of the stopped batch,
/// which the cluster carries out at once (nothing to copy) and which stays done (its
/// leader changes with the preferred-leader election at the end of a run).
fn assert_rolled_back(admin: &FakeAdmin, j: &Journal, rollback: &Plan, plan: &Plan) {
    let now = replicas(admin);
    let lead = leaders(admin);
    let reorders: Vec<TopicPartition> = j.state.batches[j.state.current_batch]
        .moves
        .iter()
        .filter(|m| {
            let (mut a, mut b) = (m.from.clone(), m.to.clone());
            a.sort_unstable();
            b.sort_unstable();
            a == b
        })
        .map(|m| m.tp())
        .collect();
    for (tp, orig) in &rollback.changes {
        if reorders.contains(tp) && now[tp] == plan.changes[tp] {
            continue;
        }
        assert_eq!(&now[tp], orig, "{tp}");
        assert_eq!(lead[tp], orig.first().copied(), "{tp} leader");
    }
}

/// Runs the journal under `LIMIT`: a run that does not return in time fails the test.
fn run_limited(
    admin: &FakeAdmin,
    j: &mut Journal,
    o: &ApplyOptions,
    reporter: &mut impl Reporter,
) -> Result<Summary, ApplyError> {
    rt().block_on(async {
        tokio::time::timeout(LIMIT, run(admin, j, o, reporter, &StopFlag::default()))
            .await
            .unwrap_or_else(|_| panic!("apply did not return within {LIMIT:?}"))
    })
}

/// Once data copies (a move in flight and the throttles set), injects faults once.
struct FaultWhileCopying {
    admin: FakeAdmin,
    inject: Box<dyn FnMut(&FakeAdmin)>,
    done: bool,
}

impl FaultWhileCopying {
    fn new(admin: &FakeAdmin, inject: impl FnMut(&FakeAdmin) + 'static) -> Self {
        FaultWhileCopying {
            admin: admin.clone(),
            inject: Box::new(inject),
            done: false,
        }
    }
}

impl Reporter for FaultWhileCopying {
    fn progress(&mut self, _: &Progress) {
        let moving = self
            .admin
            .inspect(|s| s.partitions.values().any(|p| p.in_flight()));
        if moving && !self.done {
            self.done = true;
            (self.inject)(&self.admin);
        }
    }
    fn line(&mut self, _: &str) {}
}

/// The journal as a new process (`apply --resume`, `cancel --journal`) would read it.
fn reopen(dir: &std::path::Path) -> Journal {
    Journal::open(dir).unwrap()
}

fn assert_stopped_naming(e: &ApplyError, j: &Journal, dir: &std::path::Path, api: &str) {
    assert!(matches!(e, ApplyError::Stopped { .. }), "{e}");
    let text = e.to_string();
    assert!(text.contains(api) && text.contains(PEER), "{text}");
    for state in [&j.state, &reopen(dir).state] {
        assert_eq!(state.phase, Phase::Stopped);
        let reason = state.stop_reason.clone().unwrap_or_default();
        assert!(
            reason.contains(&format!("{api} response from {PEER}")),
            "{reason}"
        );
        assert!(
            state.ledger.is_none(),
            "throttles restored: {:?}",
            state.ledger
        );
    }
}

#[test]
fn an_undecodable_poll_reply_while_copying_rolls_the_batch_back() {
    for (method, api) in [
        (Method::ListReassignments, "ListPartitionReassignments"),
        (Method::DescribeCluster, "DescribeCluster"),
    ] {
        let (admin, plan, rollback, before) = cluster();
        // Moves keep copying until the broken reply arrives.
        admin.auto_complete_after(1000);
        let dir = tempfile::tempdir().unwrap();
        let mut j = start(&admin, &plan, &rollback, dir.path());
        let mut reporter = FaultWhileCopying::new(&admin, move |a| {
            a.fail_next(method, Fault::Fail(protocol(api)));
        });
        let e = run_limited(&admin, &mut j, &opts(), &mut reporter).unwrap_err();
        assert!(reporter.done, "{method:?}: the fault was never injected");
        assert_stopped_naming(&e, &j, dir.path(), api);
        assert_clean(&admin, &before);
        assert_rolled_back(&admin, &j, &rollback, &plan);
        // The stop is an ordinary one: resume runs the plan to the end.
        admin.auto_complete_after(2);
        let s = run_limited(&admin, &mut j, &opts(), &mut Silent).unwrap();
        assert!(s.complete(), "{method:?}");
        assert_eq!(replicas(&admin), plan.changes);
        assert_clean(&admin, &before);
    }
}

#[test]
fn an_undecodable_submission_reply_rolls_the_batch_back() {
    // Refused before the controller acted, and decoded badly after it acted (the moves
    // started but the answer is garbage): both end with nothing in flight.
    for fault in [
        Fault::Fail(protocol("AlterPartitionReassignments")),
        Fault::ApplyThenFail(protocol("AlterPartitionReassignments")),
    ] {
        let (admin, plan, rollback, before) = cluster();
        admin.auto_complete_after(1000);
        let dir = tempfile::tempdir().unwrap();
        let mut j = start(&admin, &plan, &rollback, dir.path());
        admin.fail_next(Method::AlterReassignments, fault.clone());
        let e = run_limited(&admin, &mut j, &opts(), &mut Silent).unwrap_err();
        assert_stopped_naming(&e, &j, dir.path(), "AlterPartitionReassignments");
        assert_clean(&admin, &before);
        assert_rolled_back(&admin, &j, &rollback, &plan);
        admin.auto_complete_after(2);
        let s = run_limited(&admin, &mut j, &opts(), &mut Silent).unwrap();
        assert!(s.complete(), "{fault:?}");
        assert_eq!(replicas(&admin), plan.changes);
        assert_clean(&admin, &before);
    }
}

/// Every call the run and its cleanup make, each answered with a broken reply for far
/// longer than the run lasts.
const ALL: [(Method, &str); 7] = [
    (Method::ListReassignments, "ListPartitionReassignments"),
    (Method::DescribeCluster, "DescribeCluster"),
    (Method::DescribeTopics, "Metadata"),
    (Method::DescribeConfigs, "DescribeConfigs"),
    (Method::IncrementalAlterConfigs, "IncrementalAlterConfigs"),
    (Method::AlterReassignments, "AlterPartitionReassignments"),
    (Method::ElectLeaders, "ElectLeaders"),
];

#[test]
fn broken_replies_from_some_point_on_lose_the_cluster_and_cancel_restores_everything() {
    let (admin, plan, rollback, before) = cluster();
    admin.auto_complete_after(1000);
    let dir = tempfile::tempdir().unwrap();
    let mut j = start(&admin, &plan, &rollback, dir.path());
    let mut reporter = FaultWhileCopying::new(&admin, |a| {
        for _ in 0..10_000 {
            for (m, api) in ALL {
                a.fail_next(m, Fault::Fail(protocol(api)));
            }
        }
    });
    let e = run_limited(&admin, &mut j, &opts(), &mut reporter).unwrap_err();
    assert!(reporter.done);
    // The rollback itself cannot reach the cluster: nothing is claimed rolled back.
    assert!(matches!(e, ApplyError::LostCluster(_)), "{e}");
    let text = e.to_string();
    assert!(text.contains(PEER), "{text}");
    assert!(
        text.contains("--resume") && text.contains("cancel"),
        "{text}"
    );
    // The journal keeps the running batch and the ledger of the throttles it set.
    let mut j = reopen(dir.path());
    assert!(j.state.batch_active(), "{:?}", j.state.phase);
    assert!(j.state.ledger.is_some(), "the ledger stays for cancel");
    assert!(admin.inspect(|s| s.partitions.values().any(|p| p.in_flight())));
    assert_ne!(admin.inspect(|s| s.configs.clone()), before);
    // The broker is healthy again: `cancel --journal` restores everything.
    admin.clear_faults();
    let lines = rt()
        .block_on(async {
            tokio::time::timeout(LIMIT, cancel_journal(&admin, &mut j, &opts())).await
        })
        .expect("cancel returns")
        .unwrap();
    assert!(
        lines.iter().any(|l| l.contains(": cancelled; replicas")),
        "{lines:?}"
    );
    assert_clean(&admin, &before);
    assert_rolled_back(&admin, &j, &rollback, &plan);
    assert_eq!(reopen(dir.path()).state.phase, Phase::Cancelled);
}

#[test]
fn broken_replies_from_some_point_on_then_resume_finishes_the_plan() {
    let (admin, plan, rollback, before) = cluster();
    admin.auto_complete_after(1000);
    let dir = tempfile::tempdir().unwrap();
    let mut j = start(&admin, &plan, &rollback, dir.path());
    let mut reporter = FaultWhileCopying::new(&admin, |a| {
        for _ in 0..10_000 {
            for (m, api) in ALL {
                a.fail_next(m, Fault::Fail(protocol(api)));
            }
        }
    });
    let e = run_limited(&admin, &mut j, &opts(), &mut reporter).unwrap_err();
    assert!(matches!(e, ApplyError::LostCluster(_)), "{e}");
    admin.clear_faults();
    admin.auto_complete_after(2);
    let mut j = reopen(dir.path());
    let s = run_limited(&admin, &mut j, &opts(), &mut Silent).unwrap();
    assert!(s.complete());
    assert_eq!(replicas(&admin), plan.changes);
    assert_clean(&admin, &before);
}

#[test]
fn answers_lost_after_every_submission_are_reconciled_without_looping() {
    // The controller acts on each submission but every answer is lost: the run checks
    // the cluster, sees the moves started, and carries on rather than resubmitting.
    let (admin, plan, rollback, before) = cluster();
    admin.auto_complete_after(2);
    let dir = tempfile::tempdir().unwrap();
    let mut j = start(&admin, &plan, &rollback, dir.path());
    for _ in 0..10_000 {
        admin.fail_next(
            Method::AlterReassignments,
            Fault::lost_after_apply("AlterPartitionReassignments"),
        );
    }
    let s = run_limited(&admin, &mut j, &opts(), &mut Silent).unwrap();
    assert!(s.complete());
    assert_eq!(replicas(&admin), plan.changes);
    assert_clean(&admin, &before);
}

#[test]
fn metadata_failing_after_the_moves_end_loses_the_cluster_instead_of_polling_forever() {
    // The controller reports the batch finished, but the broker answering Metadata keeps
    // failing (retriable) for longer than the unreachable grace: the run gives up with the
    // journal kept, as it does when the other polls fail.
    let (admin, plan, rollback, before) = cluster();
    admin.auto_complete_after(2);
    let dir = tempfile::tempdir().unwrap();
    let mut j = start(&admin, &plan, &rollback, dir.path());
    let mut reporter = FaultWhileCopying::new(&admin, |a| {
        for _ in 0..1_000_000 {
            a.fail_next(Method::DescribeTopics, Fault::connection_refused());
        }
    });
    let e = run_limited(&admin, &mut j, &opts(), &mut reporter).unwrap_err();
    assert!(matches!(e, ApplyError::LostCluster(_)), "{e}");
    assert!(e.to_string().contains("Connection refused"), "{e}");
    let mut j = reopen(dir.path());
    assert!(j.state.batch_active(), "{:?}", j.state.phase);
    admin.clear_faults();
    let s = run_limited(&admin, &mut j, &opts(), &mut Silent).unwrap();
    assert!(s.complete());
    assert_eq!(replicas(&admin), plan.changes);
    assert_clean(&admin, &before);
}

/// What the real client reports for an undecodable answer to a write it must not resend
/// (AlterPartitionReassignments): the outcome is unknown, the reason names the peer.
fn unknown_after_broken_reply() -> Error {
    Error::OutcomeUnknown {
        api: "AlterPartitionReassignments",
        reason: protocol("AlterPartitionReassignments").to_string(),
    }
}

#[test]
fn submissions_whose_answers_never_decode_stop_the_batch_after_checking_the_cluster() {
    // No submission reaches the controller and every answer is unreadable: after its
    // bounded attempts (each checking the cluster first) the run stops cleanly.
    let (admin, plan, rollback, before) = cluster();
    admin.auto_complete_after(1000);
    let dir = tempfile::tempdir().unwrap();
    let mut j = start(&admin, &plan, &rollback, dir.path());
    for _ in 0..10_000 {
        admin.fail_next(
            Method::AlterReassignments,
            Fault::Fail(unknown_after_broken_reply()),
        );
    }
    let e = run_limited(&admin, &mut j, &opts(), &mut Silent).unwrap_err();
    assert!(matches!(e, ApplyError::Stopped { .. }), "{e}");
    assert!(e.to_string().contains("could not be confirmed"), "{e}");
    assert_eq!(j.state.phase, Phase::Stopped);
    assert!(j.state.ledger.is_none());
    assert_clean(&admin, &before);
    assert_eq!(replicas(&admin), rollback.changes);
    // One unreadable answer to a submission that did reach the controller: the run sees
    // the moves started and carries on to the end.
    admin.clear_faults();
    admin.auto_complete_after(2);
    admin.fail_next(
        Method::AlterReassignments,
        Fault::ApplyThenFail(unknown_after_broken_reply()),
    );
    let s = run_limited(&admin, &mut j, &opts(), &mut Silent).unwrap();
    assert!(s.complete());
    assert_eq!(replicas(&admin), plan.changes);
    assert_clean(&admin, &before);
}

#[test]
fn a_broken_reply_followed_by_a_dropped_connection_still_rolls_the_batch_back() {
    // The client drops the connection of a reply it could not decode; the cleanup's first
    // call meets the reconnect failing once, and the rollback goes ahead on the next try.
    let (admin, plan, rollback, before) = cluster();
    admin.auto_complete_after(1000);
    let dir = tempfile::tempdir().unwrap();
    let mut j = start(&admin, &plan, &rollback, dir.path());
    let mut reporter = FaultWhileCopying::new(&admin, |a| {
        a.fail_next(
            Method::ListReassignments,
            Fault::Fail(protocol("ListPartitionReassignments")),
        );
        a.fail_next(Method::ListReassignments, Fault::connection_refused());
    });
    let e = run_limited(&admin, &mut j, &opts(), &mut reporter).unwrap_err();
    assert_stopped_naming(&e, &j, dir.path(), "ListPartitionReassignments");
    assert_clean(&admin, &before);
    assert_rolled_back(&admin, &j, &rollback, &plan);
}
