//! `cancel`: stop the in-flight moves of a plan's partitions (KIP-455: target replicas =
//! null), then put each cancelled partition back in its original replica order. A KRaft
//! cancel keeps the original replica *set* but not its order (spec §E: [1,2,3]→[3,4,1]
//! cancelled gives [3,1,2]), which would change preferred leaders; restoring the order is a
//! reassignment to the same set, so it copies no data.
//!
//! A cancel may be run again after a failure (its answer lost, the connection dropped
//! between its steps): it re-reads what is in flight, and also restores the order of the
//! partitions an earlier attempt cancelled, so running it twice ends where running it once
//! would have.

use std::collections::BTreeMap;
use std::time::Instant;

use super::executor::{cancel_journal, ApplyError, ApplyOptions};
use super::journal::Journal;
use crate::formats::join_ids;
use crate::kafka::{Admin, Error};
use crate::model::{BrokerId, Plan, TopicPartition};

/// What happened to each partition of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelOutcome {
    /// The move was in flight and is cancelled; replicas as they are now.
    Cancelled {
        replicas: Vec<BrokerId>,
        order_restored: bool,
    },
    /// No move in flight and the partition already has the plan's replicas: the move
    /// completed before the cancel (roll back with the rollback JSON if needed).
    AlreadyComplete,
    /// No move in flight and not at the plan's target (never started, or changed since).
    NotInFlight { replicas: Vec<BrokerId> },
    /// The broker refused the cancel or the reorder.
    Failed(Error),
}

/// Cancels the plan's in-flight moves. `original` (the plan's rollback) gives the order to
/// restore; without it, cancelled partitions keep the order Kafka leaves.
pub async fn cancel_plan(
    admin: &impl Admin,
    plan: &Plan,
    original: Option<&Plan>,
) -> Result<BTreeMap<TopicPartition, CancelOutcome>, Error> {
    let tps: Vec<TopicPartition> = plan.changes.keys().cloned().collect();
    let in_flight = admin.list_reassignments(Some(&tps)).await?;
    let cancels: BTreeMap<TopicPartition, Option<Vec<BrokerId>>> =
        in_flight.keys().map(|tp| (tp.clone(), None)).collect();
    let mut outcomes: BTreeMap<TopicPartition, CancelOutcome> = BTreeMap::new();
    let cancelled = if cancels.is_empty() {
        BTreeMap::new()
    } else {
        admin.alter_reassignments(&cancels, false).await?
    };
    // Brokers learn the revert from the controller a moment later: wait (briefly) until the
    // cancelled partitions show their original set before comparing orders.
    let mut current = super::current_replicas(admin, plan.changes.keys()).await?;
    for _ in 0..20 {
        let settled = cancelled.iter().filter(|(_, r)| r.is_ok()).all(|(tp, _)| {
            match (original.and_then(|o| o.changes.get(tp)), current.get(tp)) {
                (Some(orig), Some(now)) => same_set(orig, now),
                _ => true,
            }
        });
        if settled {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        current = super::current_replicas(admin, plan.changes.keys()).await?;
    }
    let mut reorder: BTreeMap<TopicPartition, Option<Vec<BrokerId>>> = BTreeMap::new();
    for (tp, target) in &plan.changes {
        let now = current.get(tp).cloned().unwrap_or_default();
        let outcome = match cancelled.get(tp) {
            Some(Err(e)) => CancelOutcome::Failed(e.clone()),
            Some(Ok(())) => {
                if let Some(orig) = original.and_then(|o| o.changes.get(tp)) {
                    if orig != &now && same_set(orig, &now) {
                        reorder.insert(tp.clone(), Some(orig.clone()));
                    }
                }
                CancelOutcome::Cancelled {
                    replicas: now,
                    order_restored: false,
                }
            }
            None if &now == target => CancelOutcome::AlreadyComplete,
            None => {
                // Not in flight, the original set in another order: what a KRaft cancel
                // leaves, so an earlier attempt of this cancel whose order restore did not
                // happen (its answer lost, the connection gone). Without this, running the
                // cancel again would leave the preferred leaders changed.
                if let Some(orig) = original.and_then(|o| o.changes.get(tp)) {
                    if orig != &now && same_set(orig, &now) {
                        reorder.insert(tp.clone(), Some(orig.clone()));
                    }
                }
                CancelOutcome::NotInFlight { replicas: now }
            }
        };
        outcomes.insert(tp.clone(), outcome);
    }
    if !reorder.is_empty() {
        let results = admin.alter_reassignments(&reorder, false).await?;
        for (tp, r) in results {
            match r {
                Ok(()) => match (outcomes.get_mut(&tp), reorder.get(&tp)) {
                    (
                        Some(CancelOutcome::Cancelled {
                            replicas,
                            order_restored,
                        }),
                        Some(Some(orig)),
                    ) => {
                        *replicas = orig.clone();
                        *order_restored = true;
                    }
                    (Some(CancelOutcome::NotInFlight { replicas }), Some(Some(orig))) => {
                        *replicas = orig.clone();
                    }
                    _ => {}
                },
                Err(e) => {
                    outcomes.insert(tp, CancelOutcome::Failed(e));
                }
            }
        }
    }
    Ok(outcomes)
}

/// `cancel --journal`: [`cancel_journal`], run again while it fails for a reason that may
/// pass (a dropped connection, a retriable error code such as NOT_CONTROLLER, an answer
/// lost after the broker acted), until `opts.unreachable_grace` has passed since the first
/// attempt: the rule the executor applies to its own cleanup calls. Running it again is
/// safe: the cancel re-reads what is in flight and restores the order an earlier attempt
/// left (see [`cancel_plan`]), the election and the throttle restore are idempotent, and
/// the journal is written only once everything succeeded.
///
/// On a failure that does not pass, the journal is as it was (the running batch, its
/// phase and the throttle ledger), so the same command can be run again; the error says
/// so and names the journal.
pub async fn cancel_journal_retrying(
    admin: &impl Admin,
    journal: &mut Journal,
    opts: &ApplyOptions,
) -> Result<Vec<String>, ApplyError> {
    let start = Instant::now();
    loop {
        let within_grace = start.elapsed() < opts.unreachable_grace;
        match cancel_journal(admin, journal, opts).await {
            Ok(lines) => return Ok(lines),
            Err(ApplyError::Kafka(e)) if is_transient(&e) && within_grace => {}
            Err(ApplyError::CancelIncomplete {
                retriable: true, ..
            }) if within_grace => {}
            Err(ApplyError::Kafka(e)) => {
                return Err(ApplyError::LostCluster(unfinished(
                    journal,
                    &e.to_string(),
                    is_transient(&e),
                )))
            }
            Err(ApplyError::CancelIncomplete { lines, retriable }) => {
                let why = format!(
                    "the broker refused part of it; the partitions it names still move and keep the throttles (let them finish and run `verify --journal {}`, or fix the cause and cancel again)\n{}",
                    journal.dir().display(),
                    lines.join("\n")
                );
                return Err(ApplyError::LostCluster(unfinished(
                    journal, &why, retriable,
                )));
            }
            Err(other) => return Err(other),
        }
        tokio::time::sleep(retry_pause(opts)).await;
    }
}

/// `cancel --plan`: [`cancel_plan`] (after re-targeting the plan's intra-broker moves that
/// still copy, as Kafka's `--cancel` does), run again while it fails for a reason that may
/// pass — the whole call (a dropped connection, NOT_CONTROLLER, an answer lost after the
/// controller acted) or some partitions' cancels with a retriable code — until
/// `opts.unreachable_grace` has passed since the first attempt: the rule of
/// [`cancel_journal_retrying`]. Running it again is safe for the same reasons. Returns the
/// log-dir lines and the outcome per partition of the last attempt; the error of a failure
/// that did not pass within the grace.
pub async fn cancel_plan_retrying(
    admin: &impl Admin,
    plan: &Plan,
    original: Option<&Plan>,
    dirs: &super::dirs::DirTargets,
    opts: &ApplyOptions,
) -> Result<(Vec<String>, BTreeMap<TopicPartition, CancelOutcome>), Error> {
    let start = Instant::now();
    loop {
        let within_grace = start.elapsed() < opts.unreachable_grace;
        let attempt = async {
            let dir_lines = super::dirs::stop_moves(admin, dirs).await?;
            let outcomes = cancel_plan(admin, plan, original).await?;
            Ok::<_, Error>((dir_lines, outcomes))
        }
        .await;
        match attempt {
            Ok((dir_lines, outcomes)) => {
                let transient_refusal = outcomes
                    .values()
                    .any(|o| matches!(o, CancelOutcome::Failed(e) if is_transient(e)));
                if !(transient_refusal && within_grace) {
                    return Ok((dir_lines, outcomes));
                }
            }
            Err(e) if is_transient(&e) && within_grace => {}
            Err(e) => return Err(e),
        }
        tokio::time::sleep(retry_pause(opts)).await;
    }
}

/// The pause between two attempts of a cancel: the poll interval, at most a second (a
/// cancel is what an operator waits on).
fn retry_pause(opts: &ApplyOptions) -> std::time::Duration {
    opts.poll_interval.min(std::time::Duration::from_secs(1))
}

/// A failure the executor's cleanup retries: it may pass, and resending is safe.
pub(crate) fn is_transient(e: &Error) -> bool {
    e.is_retriable() || matches!(e, Error::OutcomeUnknown { .. })
}

/// The message of a cancel that could not finish: why, and what the journal still holds.
fn unfinished(journal: &Journal, why: &str, transient: bool) -> String {
    let s = &journal.state;
    let batch = if s.current_batch < s.batches.len() {
        format!(
            "batch {} of {} may still be in flight",
            s.current_batch + 1,
            s.batches.len()
        )
    } else {
        "no batch was running".to_string()
    };
    let throttles = if s.ledger.is_some() {
        "the throttles kafka-replan set may still be set"
    } else {
        "no throttle of kafka-replan is recorded"
    };
    let when = if transient {
        "once the cluster can be reached"
    } else {
        "once the cause is fixed"
    };
    format!(
        "cancel could not finish: {why}\nthe journal {} is unchanged ({batch}; {throttles}); run `cancel --journal {}` again {when}",
        journal.dir().display(),
        journal.dir().display()
    )
}

fn same_set(a: &[BrokerId], b: &[BrokerId]) -> bool {
    let mut x = a.to_vec();
    let mut y = b.to_vec();
    x.sort_unstable();
    y.sort_unstable();
    x == y
}

/// One line per partition, for the operator.
pub fn lines(outcomes: &BTreeMap<TopicPartition, CancelOutcome>) -> Vec<String> {
    outcomes
        .iter()
        .map(|(tp, o)| match o {
            CancelOutcome::Cancelled { replicas, order_restored: true } => {
                format!("{tp}: cancelled; replicas {} (original order restored)", join_ids(replicas))
            }
            CancelOutcome::Cancelled { replicas, order_restored: false } => {
                format!("{tp}: cancelled; replicas {}", join_ids(replicas))
            }
            CancelOutcome::AlreadyComplete => format!(
                "{tp}: already complete (the move finished before the cancel; use the rollback JSON to undo it)"
            ),
            CancelOutcome::NotInFlight { replicas } => {
                format!("{tp}: no move in flight; replicas {}", join_ids(replicas))
            }
            CancelOutcome::Failed(e) => format!("{tp}: could not be cancelled: {e}"),
        })
        .collect()
}

/// Kafka's `--cancel` summary line (spec §A7): `Successfully cancelled partition
/// reassignment(s) for: a-0,b-1` over the partitions whose move this cancel stopped, or
/// `None of the specified partition reassignments are active.` `None` when any partition
/// failed: Kafka then prints its error block and no summary ([`lines`] names the failures).
pub fn kafka_summary_line(outcomes: &BTreeMap<TopicPartition, CancelOutcome>) -> Option<String> {
    if outcomes
        .values()
        .any(|o| matches!(o, CancelOutcome::Failed(_)))
    {
        return None;
    }
    let cancelled: Vec<String> = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, CancelOutcome::Cancelled { .. }))
        .map(|(tp, _)| tp.to_string())
        .collect();
    Some(if cancelled.is_empty() {
        "None of the specified partition reassignments are active.".to_string()
    } else {
        format!(
            "Successfully cancelled partition reassignment{} for: {}",
            if cancelled.len() == 1 { "" } else { "s" },
            cancelled.join(",")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::fake::FakeAdmin;

    #[test]
    fn cancels_in_flight_moves_restores_order_and_reports_the_rest() {
        let admin = FakeAdmin::new()
            .with_broker(1, None, None)
            .with_broker(2, None, None)
            .with_broker(3, None, None)
            .with_broker(4, None, None)
            .with_partition("t", 0, &[1, 2, 3], 1)
            .with_partition("t", 1, &[1, 2, 3], 1)
            .with_partition("t", 2, &[1, 2, 3], 1);
        let tp = |p| TopicPartition::new("t", p);
        let mut plan = Plan::default();
        plan.changes.insert(tp(0), vec![3, 4, 1]);
        plan.changes.insert(tp(1), vec![4, 2, 3]);
        plan.changes.insert(tp(2), vec![2, 3, 4]);
        let rollback = Plan {
            changes: plan
                .changes
                .keys()
                .map(|t| (t.clone(), vec![1, 2, 3]))
                .collect(),
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        // t-0 and t-1 start; t-1 completes; t-2 never starts.
        let mut start = BTreeMap::new();
        start.insert(tp(0), Some(vec![3, 4, 1]));
        start.insert(tp(1), Some(vec![4, 2, 3]));
        rt.block_on(admin.alter_reassignments(&start, false))
            .unwrap();
        admin.complete_move(&tp(1));
        let out = rt
            .block_on(cancel_plan(&admin, &plan, Some(&rollback)))
            .unwrap();
        assert_eq!(
            out[&tp(0)],
            CancelOutcome::Cancelled {
                replicas: vec![1, 2, 3],
                order_restored: true
            }
        );
        assert_eq!(out[&tp(1)], CancelOutcome::AlreadyComplete);
        assert_eq!(
            out[&tp(2)],
            CancelOutcome::NotInFlight {
                replicas: vec![1, 2, 3]
            }
        );
        assert!(rt
            .block_on(admin.list_reassignments(None))
            .unwrap()
            .is_empty());
        assert_eq!(
            admin.inspect(|s| s.partitions[&tp(0)].replicas.clone()),
            vec![1, 2, 3]
        );
        let l = lines(&out);
        assert_eq!(
            l[0],
            "t-0: cancelled; replicas 1,2,3 (original order restored)"
        );
    }

    #[tokio::test]
    async fn a_cancel_run_again_after_a_lost_answer_restores_the_order() {
        use crate::kafka::fake::{Fault, Method};
        let admin = (1..=4)
            .fold(FakeAdmin::new(), |f, b| f.with_broker(b, None, None))
            .with_partition("t", 0, &[1, 2, 3], 1);
        let tp = TopicPartition::new("t", 0);
        let plan = Plan {
            changes: [(tp.clone(), vec![3, 4, 1])].into_iter().collect(),
        };
        let rollback = Plan {
            changes: [(tp.clone(), vec![1, 2, 3])].into_iter().collect(),
        };
        let start = [(tp.clone(), Some(vec![3, 4, 1]))].into_iter().collect();
        admin.alter_reassignments(&start, false).await.unwrap();
        // The cancel takes effect, its answer is lost: the set is back, not the order.
        admin.fail_next(
            Method::AlterReassignments,
            Fault::lost_after_apply("AlterPartitionReassignments"),
        );
        assert!(cancel_plan(&admin, &plan, Some(&rollback)).await.is_err());
        assert_eq!(
            admin.inspect(|s| s.partitions[&tp].replicas.clone()),
            vec![3, 1, 2]
        );
        let out = cancel_plan(&admin, &plan, Some(&rollback)).await.unwrap();
        assert_eq!(
            out[&tp],
            CancelOutcome::NotInFlight {
                replicas: vec![1, 2, 3]
            }
        );
        assert_eq!(
            admin.inspect(|s| s.partitions[&tp].replicas.clone()),
            vec![1, 2, 3]
        );
        // Without the rollback there is no order to restore.
        let again = cancel_plan(&admin, &plan, None).await.unwrap();
        assert_eq!(
            again[&tp],
            CancelOutcome::NotInFlight {
                replicas: vec![1, 2, 3]
            }
        );
    }

    fn vector_case(id: &str) -> serde_json::Value {
        let doc: serde_json::Value = serde_json::from_str(include_str!(
            "../../fixtures/vectors/verify-output-cases.json"
        ))
        .unwrap();
        doc["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()
            .clone()
    }

    /// Kafka 3.7–4.0 skipped a reassignment that only adds replicas (its filter was
    /// `adding.isEmpty() || !removing.isEmpty()`); cancel_plan cancels every in-flight move
    /// of the plan, so an RF increase is cancelled too.
    #[tokio::test]
    async fn f_a19_cancel_cancels_pure_replica_addition() {
        let admin = (1..=3)
            .fold(FakeAdmin::new(), |f, b| f.with_broker(b, None, None))
            .with_partition("foo", 0, &[1, 2], 1);
        let tp = TopicPartition::new("foo", 0);
        let mut plan = Plan::default();
        plan.changes.insert(tp.clone(), vec![1, 2, 3]);
        let start = [(tp.clone(), Some(vec![1, 2, 3]))].into_iter().collect();
        admin.alter_reassignments(&start, true).await.unwrap()[&tp]
            .clone()
            .unwrap();
        let moving = admin.list_reassignments(None).await.unwrap();
        assert_eq!(moving[&tp].adding, vec![3]);
        assert!(moving[&tp].removing.is_empty(), "a pure addition");

        let out = cancel_plan(&admin, &plan, None).await.unwrap();
        assert_eq!(
            out[&tp],
            CancelOutcome::Cancelled {
                replicas: vec![1, 2],
                order_restored: false
            }
        );
        assert!(admin.list_reassignments(None).await.unwrap().is_empty());
        assert_eq!(
            kafka_summary_line(&out).unwrap(),
            "Successfully cancelled partition reassignment for: foo-0"
        );

        // V11: nothing left to cancel.
        let again = cancel_plan(&admin, &plan, None).await.unwrap();
        assert_eq!(
            Some(kafka_summary_line(&again).unwrap()),
            vector_case("V11")["expected_stdout_first_line"]
                .as_str()
                .map(str::to_string)
        );
    }

    /// V10's first line, on the cluster of execute-input.json: foo-0 moving (adding 3,
    /// removing 2), bar-0 done. The rest of V10 (the log-dir line and the throttle-clearing
    /// lines) comes from steps cancel_plan does not take.
    #[tokio::test]
    async fn kafka_summary_line_matches_v10() {
        let admin = (0..=3)
            .fold(FakeAdmin::new(), |f, b| f.with_broker(b, None, None))
            .with_partition("foo", 0, &[0, 1, 2], 1)
            .with_partition("bar", 0, &[3, 2, 1], 1);
        let plan = crate::formats::reassignment::parse_reassignment_json(
            "execute-input.json",
            include_str!("../../tests/vectors/execute-input.json"),
        )
        .unwrap()
        .to_plan("execute-input.json")
        .unwrap();
        let start = plan
            .changes
            .iter()
            .map(|(tp, r)| (tp.clone(), Some(r.clone())))
            .collect();
        admin.alter_reassignments(&start, true).await.unwrap();
        admin.complete_move(&TopicPartition::new("bar", 0));
        let out = cancel_plan(&admin, &plan, None).await.unwrap();
        let line = kafka_summary_line(&out).unwrap();
        let v10 = vector_case("V10");
        let want = v10["expected_stdout"].as_str().unwrap();
        assert_eq!(want.lines().next(), Some(line.as_str()));
        // Plural when several are cancelled.
        let mut two = out.clone();
        two.insert(
            TopicPartition::new("bar", 0),
            CancelOutcome::Cancelled {
                replicas: vec![3, 2, 1],
                order_restored: false,
            },
        );
        assert_eq!(
            kafka_summary_line(&two).unwrap(),
            "Successfully cancelled partition reassignments for: bar-0,foo-0"
        );
    }
}
