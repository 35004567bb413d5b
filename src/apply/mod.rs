//! Executing plans against a cluster, over any `kafka::Admin` (the real client or the
//! in-memory fake, so every step can be tested with injected faults): `executor` runs a
//! plan in batches with throttles (`ledger`, built on Kafka's move map in `throttle`) and
//! a crash-safe `journal`; the other modules are the single operations (verify, status,
//! cancel, election). Batching itself lives in `plan::schedule`.

pub mod cancel;
pub mod dirs;
pub mod elect;
pub mod executor;
pub mod journal;
pub mod ledger;
pub mod status;
pub mod throttle;
pub mod verify;

use std::collections::{BTreeMap, BTreeSet};

use crate::kafka::{Admin, Error};
use crate::model::{BrokerId, TopicPartition};

/// The current replica lists of every partition of the topics of `tps` (one Metadata call).
/// A partition missing from the answer is missing from the map.
pub(crate) async fn current_replicas<'a>(
    admin: &impl Admin,
    tps: impl IntoIterator<Item = &'a TopicPartition>,
) -> Result<BTreeMap<TopicPartition, Vec<BrokerId>>, Error> {
    let topics: Vec<String> = tps
        .into_iter()
        .map(|tp| tp.topic.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut out = BTreeMap::new();
    for t in admin.describe_topics(Some(&topics)).await? {
        for p in t.partitions {
            out.insert(TopicPartition::new(t.name.clone(), p.partition), p.replicas);
        }
    }
    Ok(out)
}
