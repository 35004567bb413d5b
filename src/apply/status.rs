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

/// One line per reassignment, in the style of `kafka-reassign-partitions --list`.
pub fn lines(reassignments: &BTreeMap<TopicPartition, OngoingReassignment>) -> Vec<String> {
    if reassignments.is_empty() {
        return vec!["No partition reassignments found.".to_string()];
    }
    let mut out = vec!["Current partition reassignments:".to_string()];
    for (tp, r) in reassignments {
        out.push(format!(
            "{tp}: replicas: {}. adding: {}. removing: {}.",
            join_ids(&r.replicas),
            join_ids(&r.adding),
            join_ids(&r.removing)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::fake::FakeAdmin;

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
}
