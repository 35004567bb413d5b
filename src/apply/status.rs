//! What is in flight on the cluster: every ongoing reassignment with its adding and
//! removing replicas.

use std::collections::BTreeMap;

use crate::formats::join_ids;
use crate::kafka::admin::OngoingReassignment;
use crate::kafka::{Admin, Error};
use crate::model::TopicPartition;

/// The in-flight reassignments, sorted by partition.
pub async fn in_flight(
    admin: &impl Admin,
) -> Result<BTreeMap<TopicPartition, OngoingReassignment>, Error> {
    admin.list_reassignments(None).await
}

/// Kafka's `kafka-reassign-partitions --list` lines (spec §A6): a header, then one line per
/// reassignment; ` adding: ….` and ` removing: ….` appear only when non-empty.
pub fn lines(reassignments: &BTreeMap<TopicPartition, OngoingReassignment>) -> Vec<String> {
    if reassignments.is_empty() {
        return vec!["No partition reassignments found.".to_string()];
    }
    let mut out = vec!["Current partition reassignments:".to_string()];
    for (tp, r) in reassignments {
        let mut line = format!("{tp}: replicas: {}.", join_ids(&r.replicas));
        if !r.adding.is_empty() {
            line.push_str(&format!(" adding: {}.", join_ids(&r.adding)));
        }
        if !r.removing.is_empty() {
            line.push_str(&format!(" removing: {}.", join_ids(&r.removing)));
        }
        out.push(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::fake::FakeAdmin;
    use crate::model::BrokerId;

    #[test]
    fn lists_moves_in_flight() {
        let admin = FakeAdmin::new()
            .with_broker(1, None, None)
            .with_broker(2, None, None)
            .with_broker(3, None, None)
            .with_partition("t", 0, &[1, 2], 1);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let none = rt.block_on(in_flight(&admin)).unwrap();
        assert_eq!(lines(&none), vec!["No partition reassignments found."]);
        let mut targets = BTreeMap::new();
        targets.insert(TopicPartition::new("t", 0), Some(vec![3, 2]));
        rt.block_on(admin.alter_reassignments(&targets, false))
            .unwrap();
        let now = rt.block_on(in_flight(&admin)).unwrap();
        let l = lines(&now);
        assert_eq!(l[0], "Current partition reassignments:");
        assert!(l[1].starts_with("t-0: replicas: "), "{l:?}");
        assert!(l[1].contains("adding: 3."), "{l:?}");
        assert!(l[1].contains("removing: 1."), "{l:?}");
    }

    fn ids(v: &serde_json::Value) -> Vec<BrokerId> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_i64().unwrap() as BrokerId)
            .collect()
    }

    fn reassignments(v: &serde_json::Value) -> BTreeMap<TopicPartition, OngoingReassignment> {
        v.as_object()
            .unwrap()
            .iter()
            .map(|(k, r)| {
                let (t, p) = k.rsplit_once('-').unwrap();
                (
                    TopicPartition::new(t, p.parse().unwrap()),
                    OngoingReassignment {
                        replicas: ids(&r["replicas"]),
                        adding: ids(&r["adding"]),
                        removing: ids(&r["removing"]),
                    },
                )
            })
            .collect()
    }

    /// The CLI prints each line followed by a newline.
    fn stdout(lines: &[String]) -> String {
        lines.iter().map(|l| format!("{l}\n")).collect()
    }

    #[tokio::test]
    async fn f_a18_list_lines_match_v07_v09() {
        let doc: serde_json::Value = serde_json::from_str(include_str!(
            "../../fixtures/vectors/verify-output-cases.json"
        ))
        .unwrap();
        let case = |id: &str| {
            doc["cases"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["id"] == id)
                .unwrap()
                .clone()
        };
        let v07 = case("V07");
        assert_eq!(stdout(&lines(&BTreeMap::new())), v07["expected_stdout"]);
        let v08 = case("V08");
        assert_eq!(
            stdout(&lines(&reassignments(&v08["mock_reassignments"]))),
            v08["expected_stdout"]
        );
        let v09 = case("V09");
        let kraft = reassignments(&v09["kraft_reassignments"]);
        assert_eq!(stdout(&lines(&kraft)), v09["expected_stdout"]);

        // The same moves started on the fake: current = replicas − adding, target =
        // replicas − removing. bar-0 is a pure removal, which only lingers while a replica
        // of its target is out of the ISR, so broker 3 is taken out first.
        let without = |r: &[BrokerId], drop: &[BrokerId]| -> Vec<BrokerId> {
            r.iter().copied().filter(|b| !drop.contains(b)).collect()
        };
        let admin = kraft.iter().fold(
            (0..6).fold(FakeAdmin::new(), |f, b| f.with_broker(b, None, None)),
            |f, (tp, r)| {
                f.with_partition(&tp.topic, tp.partition, &without(&r.replicas, &r.adding), 1)
            },
        );
        let targets: BTreeMap<TopicPartition, Option<Vec<BrokerId>>> = kraft
            .iter()
            .map(|(tp, r)| (tp.clone(), Some(without(&r.replicas, &r.removing))))
            .collect();
        admin.modify(|s| {
            s.partitions
                .get_mut(&TopicPartition::new("bar", 0))
                .unwrap()
                .isr
                .retain(|b| *b != 3)
        });
        let out = admin.alter_reassignments(&targets, true).await.unwrap();
        assert!(out.values().all(Result::is_ok), "{out:?}");
        let now = in_flight(&admin).await.unwrap();
        assert_eq!(now, kraft);
        assert_eq!(stdout(&lines(&now)), v09["expected_stdout"]);
    }
}
