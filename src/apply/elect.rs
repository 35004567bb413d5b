//! Preferred-leader election for a set of partitions, in batches (one ElectLeaders request
//! per batch, so a large plan never sends one huge request), reporting every partition whose
//! preferred leader could not be elected.

use std::collections::BTreeMap;

use crate::kafka::{Admin, Error};
use crate::model::TopicPartition;

/// Partitions per ElectLeaders request.
pub const DEFAULT_BATCH: usize = 500;

/// What the election did.
#[derive(Debug, Default)]
pub struct ElectionReport {
    /// Elected, or already led by their preferred replica (ELECTION_NOT_NEEDED).
    pub elected: Vec<TopicPartition>,
    /// Partitions whose preferred leader could not be elected, with the broker's reason.
    pub failed: BTreeMap<TopicPartition, Error>,
    pub requests: usize,
}

impl ElectionReport {
    /// Kafka's `kafka-leader-election` lines (§A9): the success line, one error line per
    /// failed partition.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.elected.is_empty() {
            out.push(format!(
                "Successfully completed leader election (PREFERRED) for partitions {}",
                self.elected
                    .iter()
                    .map(|tp| tp.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        for (tp, e) in &self.failed {
            out.push(format!(
                "Error completing leader election (PREFERRED) for partition: {tp}: {e}"
            ));
        }
        out
    }
}

/// Elects the preferred leader of every partition in `partitions`, `batch` at a time. A
/// request that fails as a whole marks its whole batch failed and the next batches still
/// run: an operator gets the complete list of what was not elected.
pub async fn elect_preferred(
    admin: &impl Admin,
    partitions: &[TopicPartition],
    batch: usize,
) -> ElectionReport {
    let mut report = ElectionReport::default();
    for chunk in partitions.chunks(batch.max(1)) {
        report.requests += 1;
        match admin.elect_preferred_leaders(chunk).await {
            Ok(outcomes) => {
                for tp in chunk {
                    match outcomes.get(tp) {
                        Some(Ok(())) => report.elected.push(tp.clone()),
                        Some(Err(e)) => {
                            report.failed.insert(tp.clone(), e.clone());
                        }
                        None => {
                            report.failed.insert(
                                tp.clone(),
                                Error::Protocol {
                                    addr: "the controller".into(),
                                    api: "ElectLeaders",
                                    reason: "the response did not mention this partition".into(),
                                },
                            );
                        }
                    }
                }
            }
            Err(e) => {
                for tp in chunk {
                    report.failed.insert(tp.clone(), e.clone());
                }
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::fake::{FakeAdmin, Fault, Method};

    fn tp(p: i32) -> TopicPartition {
        TopicPartition::new("t", p)
    }

    fn run<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn elects_in_batches_and_reports_failures() {
        let admin = FakeAdmin::new()
            .with_broker(1, Some("a"), None)
            .with_broker(2, Some("b"), None)
            .with_partition("t", 0, &[1, 2], 1)
            .with_partition("t", 1, &[2, 1], 1)
            .with_partition("t", 2, &[1, 2], 1);
        // t-0 led by 2 (not preferred); t-2's preferred replica left the ISR.
        admin.modify(|s| {
            s.partitions.get_mut(&tp(0)).unwrap().leader = Some(2);
            let p2 = s.partitions.get_mut(&tp(2)).unwrap();
            p2.leader = Some(2);
            p2.isr = vec![2];
        });
        let parts = vec![tp(0), tp(1), tp(2)];
        let report = run(elect_preferred(&admin, &parts, 2));
        assert_eq!(report.requests, 2);
        assert_eq!(report.elected, vec![tp(0), tp(1)]);
        assert_eq!(report.failed.len(), 1);
        assert!(report.failed.contains_key(&tp(2)));
        assert_eq!(admin.inspect(|s| s.partitions[&tp(0)].leader), Some(1));
        let lines = report.lines();
        assert_eq!(
            lines[0],
            "Successfully completed leader election (PREFERRED) for partitions t-0, t-1"
        );
        assert!(lines[1]
            .starts_with("Error completing leader election (PREFERRED) for partition: t-2: "));
    }

    #[test]
    fn a_failed_request_fails_its_batch_only() {
        let admin = FakeAdmin::new()
            .with_broker(1, None, None)
            .with_partition("t", 0, &[1], 1)
            .with_partition("t", 1, &[1], 1);
        admin.fail_next(Method::ElectLeaders, Fault::connection_refused());
        let report = run(elect_preferred(&admin, &[tp(0), tp(1)], 1));
        assert_eq!(
            report.failed.keys().cloned().collect::<Vec<_>>(),
            vec![tp(0)]
        );
        assert_eq!(report.elected, vec![tp(1)]);
    }

    fn ids(v: &serde_json::Value) -> Vec<crate::model::BrokerId> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_i64().unwrap() as crate::model::BrokerId)
            .collect()
    }

    /// K16: a completed move keeps a surviving leader, so replicas[0] does not lead until a
    /// preferred election. After elect_preferred every moved partition whose replicas[0] is
    /// in the ISR is led by it; one whose replicas[0] left the ISR is reported, not elected.
    #[tokio::test]
    async fn f_e2_election_after_moves_leads_from_replicas_0_k16() {
        let doc: serde_json::Value = serde_json::from_str(include_str!(
            "../../fixtures/vectors/kraft-reassignment-state-cases.json"
        ))
        .unwrap();
        let k16 = doc["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "K16")
            .unwrap();
        let e = &k16["expected"];
        let admin = (0..10)
            .fold(FakeAdmin::new(), |f, b| f.with_broker(b, None, None))
            .with_partition("t", 0, &ids(&k16["current"]), 1)
            .with_partition("t", 1, &[1, 2], 1)
            .with_partition("t", 2, &[2, 3], 1);
        let leader = k16["leader"].as_i64().map(|l| l as crate::model::BrokerId);
        admin.modify(|s| s.partitions.get_mut(&tp(0)).unwrap().leader = leader);
        let targets = [
            (tp(0), Some(ids(&k16["target"]))),
            (tp(1), Some(vec![5, 1])),
            (tp(2), Some(vec![4, 2])),
        ]
        .into_iter()
        .collect();
        admin.alter_reassignments(&targets, true).await.unwrap();
        let isr = ids(&k16["isr_when_4_joins"]);
        admin.modify(|s| s.partitions.get_mut(&tp(0)).unwrap().isr = isr);
        admin.complete_moves();
        let p0 = admin.inspect(|s| s.partitions[&tp(0)].clone());
        assert_eq!(p0.replicas, ids(&e["replicas"]));
        assert_eq!(p0.isr, ids(&e["isr"]));
        assert_eq!(p0.leader, e["leader"].as_i64().map(|l| l as i32));
        assert!(e["needs_preferred_election"].as_bool().unwrap());
        // t-2's preferred replica drops out of the ISR after its move.
        admin.modify(|s| {
            s.partitions
                .get_mut(&tp(2))
                .unwrap()
                .isr
                .retain(|b| *b != 4)
        });

        let moved = [tp(0), tp(1), tp(2)];
        let report = elect_preferred(&admin, &moved, DEFAULT_BATCH).await;
        assert_eq!(report.elected, vec![tp(0), tp(1)]);
        assert_eq!(report.failed.keys().cloned().collect::<Vec<_>>(), [tp(2)]);
        assert_eq!(
            admin.inspect(|s| s.partitions[&tp(0)].leader),
            e["preferred_leader"].as_i64().map(|l| l as i32)
        );
        admin.inspect(|s| {
            for t in &moved {
                let p = &s.partitions[t];
                if p.isr.contains(&p.replicas[0]) {
                    assert_eq!(p.leader, Some(p.replicas[0]), "{t}");
                }
            }
        });
    }
}
