//! Replication throttles (KIP-73) as Kafka's `--execute` computes them (spec §C4): the move
//! map of every partition that is moving or about to move, the topic-level
//! `leader/follower.replication.throttled.replicas` values derived from it, and the brokers
//! whose rates are set.
//!
//! Kafka SETs the whole topic value, which replaces whatever was there. [`throttle_entries`]
//! also gives the individual `partition:broker` entries, so a caller that must leave other
//! tools' entries alone can APPEND and later SUBTRACT exactly its own.

use std::collections::{BTreeMap, BTreeSet};

use crate::kafka::admin::{ConfigOp, ConfigResource, OngoingReassignment};
use crate::model::{BrokerId, TopicPartition};

/// Broker config: bytes/s a leader may send to throttled followers.
pub const LEADER_THROTTLED_RATE: &str = "leader.replication.throttled.rate";
/// Broker config: bytes/s a follower may fetch for throttled replicas.
pub const FOLLOWER_THROTTLED_RATE: &str = "follower.replication.throttled.rate";
/// Broker config: bytes/s for moves between log directories of one broker.
pub const LOG_DIR_THROTTLED_RATE: &str = "replica.alter.log.dirs.io.max.bytes.per.second";
/// Topic config: the `partition:broker` replicas throttled on the leader side.
pub const LEADER_THROTTLED_REPLICAS: &str = "leader.replication.throttled.replicas";
/// Topic config: the `partition:broker` replicas throttled on the follower side.
pub const FOLLOWER_THROTTLED_REPLICAS: &str = "follower.replication.throttled.replicas";

/// One partition of the move map.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartitionMove {
    /// Replicas before the move: any of them may lead while data is copied.
    pub sources: BTreeSet<BrokerId>,
    /// Replicas being created, never overlapping `sources`.
    pub destinations: BTreeSet<BrokerId>,
}

/// Kafka's move map (`calculateProposedMoveMap`): every in-flight reassignment
/// (sources = `replicas − adding`, destinations = `adding`), then every proposed partition
/// (sources = the in-flight entry's sources if it is moving, else its current replicas;
/// destinations = `target − sources`).
///
/// Kafka aborts on a proposed partition with neither an in-flight entry nor current replicas;
/// its `--execute` has already refused such a partition ("Unable to find partition") before
/// computing throttles. Here it gets empty sources, so all of its target is throttled as
/// destinations.
pub fn move_map(
    ongoing: &BTreeMap<TopicPartition, OngoingReassignment>,
    proposed: &BTreeMap<TopicPartition, Vec<BrokerId>>,
    current: &BTreeMap<TopicPartition, Vec<BrokerId>>,
) -> BTreeMap<TopicPartition, PartitionMove> {
    let mut moves: BTreeMap<TopicPartition, PartitionMove> = ongoing
        .iter()
        .map(|(tp, r)| {
            let destinations: BTreeSet<BrokerId> = r.adding.iter().copied().collect();
            let sources = r
                .replicas
                .iter()
                .copied()
                .filter(|b| !destinations.contains(b))
                .collect();
            (
                tp.clone(),
                PartitionMove {
                    sources,
                    destinations,
                },
            )
        })
        .collect();
    for (tp, target) in proposed {
        let sources: BTreeSet<BrokerId> = match moves.get(tp) {
            Some(m) => m.sources.clone(),
            None => current
                .get(tp)
                .map(|r| r.iter().copied().collect())
                .unwrap_or_default(),
        };
        let destinations = target
            .iter()
            .copied()
            .filter(|b| !sources.contains(b))
            .collect();
        moves.insert(
            tp.clone(),
            PartitionMove {
                sources,
                destinations,
            },
        );
    }
    moves
}

/// The throttled-replica entries (`partition:broker`) of one topic. `BTreeSet<String>` keeps
/// them in Java `TreeSet<String>` order (`10:1` before `2:1`), the order Kafka writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicThrottleEntries {
    /// One entry per source replica.
    pub leader: BTreeSet<String>,
    /// One entry per destination replica.
    pub follower: BTreeSet<String>,
}

/// The entries of every topic in the move map. A topic whose moves have no destinations
/// (pure reorder or shrink) is present with an empty follower set: Kafka still SETs its
/// follower value, to the empty string.
pub fn throttle_entries(
    moves: &BTreeMap<TopicPartition, PartitionMove>,
) -> BTreeMap<String, TopicThrottleEntries> {
    let mut out: BTreeMap<String, TopicThrottleEntries> = BTreeMap::new();
    for (tp, m) in moves {
        let e = out.entry(tp.topic.clone()).or_default();
        e.leader
            .extend(m.sources.iter().map(|b| format!("{}:{b}", tp.partition)));
        e.follower.extend(
            m.destinations
                .iter()
                .map(|b| format!("{}:{b}", tp.partition)),
        );
    }
    out
}

/// Every broker of the move map (sources and destinations): the brokers whose leader and
/// follower rates Kafka sets.
pub fn throttled_brokers(moves: &BTreeMap<TopicPartition, PartitionMove>) -> BTreeSet<BrokerId> {
    moves
        .values()
        .flat_map(|m| m.sources.iter().chain(&m.destinations).copied())
        .collect()
}

/// The brokers Kafka sets the log-dir rate on: those owning an explicit (non-`any`)
/// `log_dirs` entry, as given by `ReassignmentJson::replica_log_dirs`.
pub fn log_dir_throttled_brokers(
    replica_log_dirs: &BTreeMap<(TopicPartition, BrokerId), String>,
) -> BTreeSet<BrokerId> {
    replica_log_dirs.keys().map(|(_, b)| *b).collect()
}

/// The values Kafka's `--execute --throttle` writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThrottleValues {
    /// Topic → `leader.replication.throttled.replicas` value.
    pub leader: BTreeMap<String, String>,
    /// Topic → `follower.replication.throttled.replicas` value (possibly empty).
    pub follower: BTreeMap<String, String>,
    /// Brokers whose leader and follower rates are set.
    pub brokers: BTreeSet<BrokerId>,
}

/// Kafka's throttle values for a plan (`proposed`), given the reassignments in flight and the
/// current replicas of the proposed partitions (spec §C4).
pub fn kafka_throttle_values(
    ongoing: &BTreeMap<TopicPartition, OngoingReassignment>,
    proposed: &BTreeMap<TopicPartition, Vec<BrokerId>>,
    current: &BTreeMap<TopicPartition, Vec<BrokerId>>,
) -> ThrottleValues {
    let moves = move_map(ongoing, proposed, current);
    let mut values = ThrottleValues {
        brokers: throttled_brokers(&moves),
        ..ThrottleValues::default()
    };
    for (topic, e) in throttle_entries(&moves) {
        values.leader.insert(topic.clone(), join(&e.leader));
        values.follower.insert(topic, join(&e.follower));
    }
    values
}

fn join(entries: &BTreeSet<String>) -> String {
    entries
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

/// The IncrementalAlterConfigs changes of Kafka's `--execute`: SET both rates to `rate` on
/// every throttled broker, SET both topic values on every topic, and SET the log-dir rate on
/// `log_dir.1`'s brokers. `None` leaves that kind of throttle alone, as Kafka does for a
/// negative (absent) option.
pub fn kafka_throttle_config_changes(
    values: &ThrottleValues,
    rate: Option<u64>,
    log_dir: Option<(u64, &BTreeSet<BrokerId>)>,
) -> BTreeMap<ConfigResource, Vec<(String, ConfigOp)>> {
    let mut out: BTreeMap<ConfigResource, Vec<(String, ConfigOp)>> = BTreeMap::new();
    if let Some(rate) = rate {
        for &b in &values.brokers {
            out.entry(ConfigResource::Broker(b)).or_default().extend([
                (
                    LEADER_THROTTLED_RATE.to_string(),
                    ConfigOp::Set(rate.to_string()),
                ),
                (
                    FOLLOWER_THROTTLED_RATE.to_string(),
                    ConfigOp::Set(rate.to_string()),
                ),
            ]);
        }
        for (topic, v) in &values.leader {
            out.entry(ConfigResource::Topic(topic.clone()))
                .or_default()
                .push((
                    LEADER_THROTTLED_REPLICAS.to_string(),
                    ConfigOp::Set(v.clone()),
                ));
        }
        for (topic, v) in &values.follower {
            out.entry(ConfigResource::Topic(topic.clone()))
                .or_default()
                .push((
                    FOLLOWER_THROTTLED_REPLICAS.to_string(),
                    ConfigOp::Set(v.clone()),
                ));
        }
    }
    if let Some((rate, brokers)) = log_dir {
        for &b in brokers {
            out.entry(ConfigResource::Broker(b)).or_default().push((
                LOG_DIR_THROTTLED_RATE.to_string(),
                ConfigOp::Set(rate.to_string()),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// `foo-0` → (foo, 0); topic names may contain `-`, the partition is after the last one.
    fn tp_of(s: &str) -> TopicPartition {
        let (t, p) = s.rsplit_once('-').unwrap();
        TopicPartition::new(t, p.parse().unwrap())
    }

    fn ids(v: &Value) -> Vec<BrokerId> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_i64().unwrap() as BrokerId)
            .collect()
    }

    fn replica_map(v: &Value) -> BTreeMap<TopicPartition, Vec<BrokerId>> {
        v.as_object()
            .unwrap()
            .iter()
            .map(|(k, r)| (tp_of(k), ids(r)))
            .collect()
    }

    fn string_map(v: &Value) -> BTreeMap<String, String> {
        v.as_object()
            .unwrap()
            .iter()
            .map(|(k, s)| (k.clone(), s.as_str().unwrap().to_string()))
            .collect()
    }

    /// The vector's request list as (resource type, name) → [(key, op, value)].
    type Requests = BTreeMap<(i8, String), Vec<(String, i8, Option<String>)>>;

    fn expected_requests(v: &Value) -> Requests {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let key = (
                    r["resource_type"].as_i64().unwrap() as i8,
                    r["resource_name"].as_str().unwrap().to_string(),
                );
                let ops = r["configs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| {
                        (
                            c["name"].as_str().unwrap().to_string(),
                            c["op"].as_i64().unwrap() as i8,
                            c["value"].as_str().map(str::to_string),
                        )
                    })
                    .collect();
                (key, ops)
            })
            .collect()
    }

    fn our_requests(changes: &BTreeMap<ConfigResource, Vec<(String, ConfigOp)>>) -> Requests {
        changes
            .iter()
            .map(|(r, ops)| {
                let key = match r {
                    ConfigResource::Topic(t) => (2, t.clone()),
                    ConfigResource::Broker(b) => (4, b.to_string()),
                    ConfigResource::BrokerDefault => (4, String::new()),
                };
                let ops = ops
                    .iter()
                    .map(|(k, op)| match op {
                        ConfigOp::Set(v) => (k.clone(), 0, Some(v.clone())),
                        ConfigOp::Delete => (k.clone(), 1, None),
                        ConfigOp::Append(v) => (k.clone(), 2, Some(v.clone())),
                        ConfigOp::Subtract(v) => (k.clone(), 3, Some(v.clone())),
                    })
                    .collect();
                (key, ops)
            })
            .collect()
    }

    #[test]
    fn f_c4_throttle_values_match_t01_t08() {
        let doc: Value =
            serde_json::from_str(include_str!("../../fixtures/vectors/throttle-cases.json"))
                .unwrap();
        let mut seen = Vec::new();
        for c in doc["cases"].as_array().unwrap() {
            let id = c["id"].as_str().unwrap();
            let ongoing: BTreeMap<TopicPartition, OngoingReassignment> = c["ongoing_reassignments"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, r)| {
                    (
                        tp_of(k),
                        OngoingReassignment {
                            replicas: ids(&r["replicas"]),
                            adding: ids(&r["adding"]),
                            removing: ids(&r["removing"]),
                        },
                    )
                })
                .collect();
            let proposed = replica_map(&c["proposed"]);
            let current = replica_map(&c["current"]);
            let got = kafka_throttle_values(&ongoing, &proposed, &current);
            let e = &c["expected"];
            let mut checked = 0;
            for (field, want) in e.as_object().unwrap() {
                match field.as_str() {
                    LEADER_THROTTLED_REPLICAS => {
                        assert_eq!(got.leader, string_map(want), "{id}")
                    }
                    FOLLOWER_THROTTLED_REPLICAS => {
                        assert_eq!(got.follower, string_map(want), "{id}")
                    }
                    "throttled_brokers" => assert_eq!(
                        got.brokers.iter().copied().collect::<Vec<_>>(),
                        ids(want),
                        "{id}"
                    ),
                    "log_dir_throttled_brokers" => {
                        // The vector names the replicas with explicit log dirs as
                        // topic-partition-broker.
                        let dirs: BTreeMap<(TopicPartition, BrokerId), String> = c
                            ["log_dir_replicas"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|r| {
                                let (tp, b) = r.as_str().unwrap().rsplit_once('-').unwrap();
                                ((tp_of(tp), b.parse().unwrap()), "/some/dir".to_string())
                            })
                            .collect();
                        assert_eq!(
                            log_dir_throttled_brokers(&dirs)
                                .into_iter()
                                .collect::<Vec<_>>(),
                            ids(want),
                            "{id}"
                        );
                    }
                    other => panic!("{id}: unexpected field {other}"),
                }
                checked += 1;
            }
            assert!(checked >= 3, "{id}");
            if let Some(reqs) = c.get("expected_incremental_alter_configs") {
                let rate = c["throttle_bytes_per_sec"].as_u64().unwrap();
                let changes = kafka_throttle_config_changes(&got, Some(rate), None);
                assert_eq!(our_requests(&changes), expected_requests(reqs), "{id}");
            }
            seen.push(id.to_string());
        }
        assert_eq!(
            seen,
            ["T01", "T02", "T03", "T04", "T05", "T06", "T07", "T08"]
        );
    }

    #[test]
    fn entries_allow_appending_and_subtracting_single_replicas() {
        let mut proposed = BTreeMap::new();
        proposed.insert(TopicPartition::new("t", 0), vec![2, 3]);
        let mut current = BTreeMap::new();
        current.insert(TopicPartition::new("t", 0), vec![1, 2]);
        let moves = move_map(&BTreeMap::new(), &proposed, &current);
        let e = &throttle_entries(&moves)["t"];
        assert_eq!(
            e.leader.iter().collect::<Vec<_>>(),
            ["0:1", "0:2"].iter().collect::<Vec<_>>()
        );
        assert_eq!(e.follower.iter().collect::<Vec<_>>(), vec!["0:3"]);
    }

    #[test]
    fn a_partition_without_current_replicas_throttles_its_whole_target() {
        let mut proposed = BTreeMap::new();
        proposed.insert(TopicPartition::new("t", 0), vec![2, 3]);
        let v = kafka_throttle_values(&BTreeMap::new(), &proposed, &BTreeMap::new());
        assert_eq!(v.leader["t"], "");
        assert_eq!(v.follower["t"], "0:2,0:3");
    }

    #[test]
    fn log_dir_rate_goes_to_the_brokers_with_explicit_dirs_only() {
        let values = ThrottleValues::default();
        let brokers: BTreeSet<BrokerId> = [2].into_iter().collect();
        let changes = kafka_throttle_config_changes(&values, Some(10), Some((7, &brokers)));
        assert_eq!(changes.len(), 1);
        assert_eq!(
            changes[&ConfigResource::Broker(2)],
            vec![(
                LOG_DIR_THROTTLED_RATE.to_string(),
                ConfigOp::Set("7".into())
            )]
        );
    }
}
