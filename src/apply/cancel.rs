//! `cancel`: stop the in-flight moves of a plan's partitions (KIP-455: target replicas =
//! null), then put each cancelled partition back in its original replica order. A KRaft
//! cancel keeps the original replica *set* but not its order (spec §E: [1,2,3]→[3,4,1]
//! cancelled gives [3,1,2]), which would change preferred leaders; restoring the order is a
//! reassignment to the same set, so it copies no data.

use std::collections::BTreeMap;

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
    let mut current = current_replicas(admin, plan).await?;
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
        current = current_replicas(admin, plan).await?;
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
            None => CancelOutcome::NotInFlight { replicas: now },
        };
        outcomes.insert(tp.clone(), outcome);
    }
    if !reorder.is_empty() {
        let results = admin.alter_reassignments(&reorder, false).await?;
        for (tp, r) in results {
            match r {
                Ok(()) => {
                    if let (
                        Some(CancelOutcome::Cancelled {
                            replicas,
                            order_restored,
                        }),
                        Some(Some(orig)),
                    ) = (outcomes.get_mut(&tp), reorder.get(&tp))
                    {
                        *replicas = orig.clone();
                        *order_restored = true;
                    }
                }
                Err(e) => {
                    outcomes.insert(tp, CancelOutcome::Failed(e));
                }
            }
        }
    }
    Ok(outcomes)
}

fn same_set(a: &[BrokerId], b: &[BrokerId]) -> bool {
    let mut x = a.to_vec();
    let mut y = b.to_vec();
    x.sort_unstable();
    y.sort_unstable();
    x == y
}

async fn current_replicas(
    admin: &impl Admin,
    plan: &Plan,
) -> Result<BTreeMap<TopicPartition, Vec<BrokerId>>, Error> {
    let mut topics: Vec<String> = plan.changes.keys().map(|tp| tp.topic.clone()).collect();
    topics.dedup();
    let mut out = BTreeMap::new();
    for t in admin.describe_topics(Some(&topics)).await? {
        for p in &t.partitions {
            out.insert(
                TopicPartition::new(t.name.clone(), p.partition),
                p.replicas.clone(),
            );
        }
    }
    Ok(out)
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
}
