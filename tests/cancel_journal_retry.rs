//! `cancel --journal` when the cancel itself meets a fault: a transient failure (a dropped
//! connection, a retriable error code, an answer lost after the broker acted) is retried
//! under the executor's rule (`unreachable_grace`), and a failure that does not pass leaves
//! the journal exactly as it was, with a message that names it, so that the same command
//! finishes the job once the cluster answers.

mod support;

use std::time::Duration;

use kafka_replan::apply::cancel::{
    cancel_journal_retrying, cancel_plan, cancel_plan_retrying, CancelOutcome,
};
use kafka_replan::apply::executor::{
    cancel_journal, run, ApplyError, Progress, Reporter, StopFlag,
};
use kafka_replan::apply::journal::{Journal, Phase};
use kafka_replan::kafka::fake::{FakeAdmin, Fault, Method};
use kafka_replan::kafka::Admin;
use kafka_replan::model::{Plan, TopicPartition};

use support::fake_apply::{assert_clean, cluster, opts, replicas, rt, start, Configs};

/// Far above what these runs need with the short graces of `opts()`, far below "hung".
const LIMIT: Duration = Duration::from_secs(20);

/// Once data copies, the network goes for good: the run loses the cluster mid-batch and
/// leaves a journal with the batch in flight and the throttle ledger.
struct CutWhileCopying(FakeAdmin, bool);

impl Reporter for CutWhileCopying {
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
                    Method::ElectLeaders,
                ] {
                    self.0.fail_next(m, Fault::connection_refused());
                }
            }
        }
    }
    fn line(&mut self, _: &str) {}
}

/// The shared test cluster, plus a partition whose KRaft cancel does not keep the replica
/// order (spec §E: [1,2,3] → [3,4,1] cancelled gives [3,1,2]), so that the order restore
/// is part of every cancel here.
fn cluster_with_reorder() -> (FakeAdmin, Plan, Plan, Configs) {
    let (admin, mut plan, mut rollback, before) = cluster();
    let admin = admin.with_partition("v", 0, &[1, 2, 3], 10);
    let v0 = TopicPartition::new("v", 0);
    plan.changes.insert(v0.clone(), vec![3, 4, 1]);
    rollback.changes.insert(v0, vec![1, 2, 3]);
    (admin, plan, rollback, before)
}

/// A run of the plan that lost the cluster while batch 1 copies; the network is back.
fn interrupted_run(dir: &std::path::Path) -> (FakeAdmin, Plan, Configs) {
    let (admin, plan, rollback, before) = cluster_with_reorder();
    let mut j = start(&admin, &plan, &rollback, dir);
    let mut o = opts();
    o.unreachable_grace = Duration::from_millis(20);
    let e = rt()
        .block_on(run(
            &admin,
            &mut j,
            &o,
            &mut CutWhileCopying(admin.clone(), false),
            &StopFlag::default(),
        ))
        .unwrap_err();
    assert!(matches!(e, ApplyError::LostCluster(_)), "{e}");
    admin.clear_faults();
    let j = Journal::open(dir).unwrap();
    assert!(j.state.batch_active(), "{:?}", j.state.phase);
    assert!(j.state.ledger.is_some());
    assert!(in_flight(&admin));
    let v0 = TopicPartition::new("v", 0);
    assert!(
        j.state.batches[j.state.current_batch]
            .moves
            .iter()
            .any(|m| m.tp() == v0),
        "v-0 moves in the interrupted batch"
    );
    (admin, rollback, before)
}

fn in_flight(admin: &FakeAdmin) -> bool {
    admin.inspect(|s| s.partitions.values().any(|p| p.in_flight()))
}

fn cancel(admin: &FakeAdmin, j: &mut Journal) -> Result<Vec<String>, ApplyError> {
    rt().block_on(async {
        tokio::time::timeout(LIMIT, cancel_journal_retrying(admin, j, &opts()))
            .await
            .unwrap_or_else(|_| panic!("cancel did not return within {LIMIT:?}"))
    })
}

/// The partitions of the running batch have their original replicas in their original
/// order (a KRaft cancel keeps the set, not the order), nothing moves, and the throttles
/// are as before the run.
fn assert_cancelled(admin: &FakeAdmin, j: &Journal, rollback: &Plan, before: &Configs) {
    assert_clean(admin, before);
    let now = replicas(admin);
    let batch = &j.state.batches[j.state.current_batch];
    for m in &batch.moves {
        let tp = m.tp();
        let mut from = m.from.clone();
        let mut to = m.to.clone();
        from.sort_unstable();
        to.sort_unstable();
        // A pure reorder copies nothing and is done at once; it stays done.
        if from == to && now[&tp] == m.to {
            continue;
        }
        assert_eq!(now[&tp], rollback.changes[&tp], "{tp}");
    }
    assert_eq!(j.state.phase, Phase::Cancelled);
    assert!(j.state.ledger.is_none());
}

#[test]
fn transient_failures_of_the_cancel_are_retried() {
    let dir = tempfile::tempdir().unwrap();
    let (admin, rollback, before) = interrupted_run(dir.path());
    let mut j = Journal::open(dir.path()).unwrap();
    // The reads fail twice (connection refused, NOT_CONTROLLER), then the cancel reaches
    // the controller but its answer is lost after it acted: the KRaft cancel happened and
    // left the original set in another order, which the next attempt must still restore.
    admin.fail_next(Method::ListReassignments, Fault::connection_refused());
    admin.fail_next(
        Method::ListReassignments,
        Fault::broker_error("ListPartitionReassignments", 41),
    );
    admin.fail_next(
        Method::AlterReassignments,
        Fault::lost_after_apply("AlterPartitionReassignments"),
    );
    let lines = cancel(&admin, &mut j).unwrap();
    let reopened = Journal::open(dir.path()).unwrap();
    assert_cancelled(&admin, &reopened, &rollback, &before);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("throttles set by kafka-replan restored")),
        "{lines:?}"
    );
    // Without the retry, the same faults fail the command.
    let dir2 = tempfile::tempdir().unwrap();
    let (admin2, _, _) = interrupted_run(dir2.path());
    let mut j2 = Journal::open(dir2.path()).unwrap();
    admin2.fail_next(Method::ListReassignments, Fault::connection_refused());
    assert!(rt()
        .block_on(cancel_journal(&admin2, &mut j2, &opts()))
        .is_err());
}

#[test]
fn an_answer_lost_after_the_cancel_still_restores_the_replica_order() {
    // The first cancel attempt takes effect and its answer is lost; the order restore of
    // the next attempt is itself refused once (NOT_CONTROLLER) and retried.
    let dir = tempfile::tempdir().unwrap();
    let (admin, rollback, before) = interrupted_run(dir.path());
    let mut j = Journal::open(dir.path()).unwrap();
    admin.fail_next(
        Method::AlterReassignments,
        Fault::lost_after_apply("AlterPartitionReassignments"),
    );
    admin.fail_next(
        Method::AlterReassignments,
        Fault::broker_error("AlterPartitionReassignments", 41),
    );
    cancel(&admin, &mut j).unwrap();
    assert_cancelled(
        &admin,
        &Journal::open(dir.path()).unwrap(),
        &rollback,
        &before,
    );
}

#[test]
fn a_permanent_failure_leaves_the_journal_as_it_was_and_the_cancel_can_be_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let (admin, rollback, before) = interrupted_run(dir.path());
    let journal_text = || std::fs::read(Journal::path_in(dir.path())).unwrap();
    let written = journal_text();
    let mut j = Journal::open(dir.path()).unwrap();
    // CLUSTER_AUTHORIZATION_FAILED does not pass with time: no retry, no change.
    admin.fail_next(
        Method::AlterReassignments,
        Fault::broker_error("AlterPartitionReassignments", 31),
    );
    let calls_before = admin.inspect(|s| s.calls.len());
    let e = cancel(&admin, &mut j).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("CLUSTER_AUTHORIZATION_FAILED"), "{text}");
    assert!(
        text.contains(&format!(
            "the journal {} is unchanged",
            dir.path().display()
        )),
        "{text}"
    );
    assert!(text.contains("batch 1 of"), "{text}");
    assert!(text.contains("cancel --journal"), "{text}");
    assert!(text.contains("once the cause is fixed"), "{text}");
    let alters = admin.inspect(|s| {
        s.calls[calls_before..]
            .iter()
            .filter(|m| **m == Method::AlterReassignments)
            .count()
    });
    assert_eq!(alters, 1, "a permanent failure is not retried");
    assert_eq!(journal_text(), written, "the journal is not touched");
    assert!(in_flight(&admin), "the refused cancel changed nothing");
    // Fixed: the same command finishes the job.
    let mut j = Journal::open(dir.path()).unwrap();
    cancel(&admin, &mut j).unwrap();
    assert_cancelled(
        &admin,
        &Journal::open(dir.path()).unwrap(),
        &rollback,
        &before,
    );
}

#[test]
fn a_cluster_that_stays_unreachable_ends_the_cancel_within_the_grace() {
    let dir = tempfile::tempdir().unwrap();
    let (admin, rollback, before) = interrupted_run(dir.path());
    let written = std::fs::read(Journal::path_in(dir.path())).unwrap();
    let mut j = Journal::open(dir.path()).unwrap();
    for _ in 0..100_000 {
        admin.fail_next(Method::ListReassignments, Fault::connection_refused());
    }
    let started = std::time::Instant::now();
    let e = cancel(&admin, &mut j).unwrap_err();
    // opts() gives 50 ms of grace; the bound is loose for a loaded machine.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let text = e.to_string();
    assert!(text.contains("cannot connect to fake:9092"), "{text}");
    assert!(text.contains("once the cluster can be reached"), "{text}");
    assert!(text.contains("may still be set"), "{text}");
    assert_eq!(
        std::fs::read(Journal::path_in(dir.path())).unwrap(),
        written
    );
    admin.clear_faults();
    let mut j = Journal::open(dir.path()).unwrap();
    cancel(&admin, &mut j).unwrap();
    assert_cancelled(
        &admin,
        &Journal::open(dir.path()).unwrap(),
        &rollback,
        &before,
    );
}

/// A partition of the running batch that would need an unclean leader election to be
/// cancelled (its in-sync replicas are all new ones): the broker refuses that one.
fn refuse_cancel_of_one_partition(admin: &FakeAdmin) -> (TopicPartition, Vec<i32>) {
    admin.modify(|s| {
        let (tp, p) = s
            .partitions
            .iter_mut()
            .find(|(_, p)| !p.adding.is_empty())
            .expect("a partition of the batch adds replicas");
        let isr = p.isr.clone();
        p.isr = p.adding.clone();
        (tp.clone(), isr)
    })
}

#[test]
fn a_partition_the_broker_refuses_to_cancel_keeps_the_journal_and_its_throttles() {
    let dir = tempfile::tempdir().unwrap();
    let (admin, rollback, before) = interrupted_run(dir.path());
    let written = std::fs::read(Journal::path_in(dir.path())).unwrap();
    let (refused, isr) = refuse_cancel_of_one_partition(&admin);
    let mut j = Journal::open(dir.path()).unwrap();
    let e = cancel(&admin, &mut j).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains(&format!("{refused}: could not be cancelled")),
        "{text}"
    );
    assert!(text.contains("unclean leader election"), "{text}");
    assert!(text.contains("is unchanged"), "{text}");
    assert!(text.contains("verify --journal"), "{text}");
    // The refused partition still copies and needs its throttles: the journal keeps the
    // batch and the ledger, the throttles stay.
    assert_eq!(
        std::fs::read(Journal::path_in(dir.path())).unwrap(),
        written,
        "the journal is not marked cancelled"
    );
    assert!(admin.inspect(|s| s.partitions[&refused].in_flight()));
    assert_ne!(
        admin.inspect(|s| s.configs.clone()),
        before,
        "the throttles the refused move needs stay set"
    );
    // The cause fixed (its old replicas back in sync), the same command finishes.
    admin.modify(|s| s.partitions.get_mut(&refused).unwrap().isr = isr);
    let mut j = Journal::open(dir.path()).unwrap();
    cancel(&admin, &mut j).unwrap();
    assert_cancelled(
        &admin,
        &Journal::open(dir.path()).unwrap(),
        &rollback,
        &before,
    );
}

/// `cancel --plan`: the plan's moves started directly (no journal), as after Kafka's own
/// `--execute` of our JSON.
fn plan_in_flight() -> (FakeAdmin, Plan, Plan) {
    let (admin, plan, rollback, _) = cluster_with_reorder();
    let targets = plan
        .changes
        .iter()
        .map(|(tp, r)| (tp.clone(), Some(r.clone())))
        .collect();
    rt().block_on(admin.alter_reassignments(&targets, false))
        .unwrap();
    assert!(in_flight(&admin));
    (admin, plan, rollback)
}

fn cancel_by_plan(
    admin: &FakeAdmin,
    plan: &Plan,
    rollback: &Plan,
) -> Result<std::collections::BTreeMap<TopicPartition, CancelOutcome>, kafka_replan::kafka::Error> {
    rt().block_on(async {
        tokio::time::timeout(
            LIMIT,
            cancel_plan_retrying(admin, plan, Some(rollback), &Default::default(), &opts()),
        )
        .await
        .unwrap_or_else(|_| panic!("cancel did not return within {LIMIT:?}"))
    })
    .map(|(_, outcomes)| outcomes)
}

#[test]
fn cancel_by_plan_retries_transient_failures() {
    let (admin, plan, rollback) = plan_in_flight();
    admin.fail_next(Method::ListReassignments, Fault::connection_refused());
    admin.fail_next(
        Method::AlterReassignments,
        Fault::lost_after_apply("AlterPartitionReassignments"),
    );
    admin.fail_next(
        Method::AlterReassignments,
        Fault::broker_error("AlterPartitionReassignments", 41),
    );
    let outcomes = cancel_by_plan(&admin, &plan, &rollback).unwrap();
    assert!(!in_flight(&admin));
    let now = replicas(&admin);
    for (tp, target) in &plan.changes {
        let mut from = rollback.changes[tp].clone();
        let mut to = target.clone();
        from.sort_unstable();
        to.sort_unstable();
        // A pure reorder copies nothing and is done at once; it stays done.
        if from == to && &now[tp] == target {
            continue;
        }
        assert_eq!(
            now[tp], rollback.changes[tp],
            "{tp}: original replicas and order"
        );
        assert!(
            !matches!(outcomes[tp], CancelOutcome::Failed(_)),
            "{tp}: {:?}",
            outcomes[tp]
        );
    }
    // One attempt alone fails on the first of those faults.
    let (admin2, plan2, rollback2) = plan_in_flight();
    admin2.fail_next(Method::ListReassignments, Fault::connection_refused());
    assert!(rt()
        .block_on(cancel_plan(&admin2, &plan2, Some(&rollback2)))
        .is_err());
}

#[test]
fn cancel_by_plan_does_not_retry_a_permanent_failure() {
    let (admin, plan, rollback) = plan_in_flight();
    admin.fail_next(
        Method::AlterReassignments,
        Fault::broker_error("AlterPartitionReassignments", 31),
    );
    let calls_before = admin.inspect(|s| s.calls.len());
    let e = cancel_by_plan(&admin, &plan, &rollback).unwrap_err();
    assert!(
        e.to_string().contains("CLUSTER_AUTHORIZATION_FAILED"),
        "{e}"
    );
    let alters = admin.inspect(|s| {
        s.calls[calls_before..]
            .iter()
            .filter(|m| **m == Method::AlterReassignments)
            .count()
    });
    assert_eq!(alters, 1);
    assert!(in_flight(&admin), "nothing was cancelled");
}
