//! The throttle ledger: what kafka-replan changed in the replication-throttle configs
//! (KIP-73, spec §C4) for the batch that is running, and how to undo exactly that.
//!
//! Kafka's tool SETs the throttled-replica lists (overwriting anyone's manual values,
//! including `*`) and on `--verify` DELETEs the rates of every broker. Here the lists are
//! changed with APPEND/SUBTRACT of our own `partition:broker` entries only, and a broker
//! rate is put back to the value it had before (or deleted if it had none) — and only if it
//! still holds the value we set, so a rate someone changed during the move is left alone.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::kafka::admin::{ConfigEntry, ConfigOp, ConfigResource, ConfigSource};
use crate::kafka::Error;
use crate::model::{BrokerId, TopicPartition};

use super::throttle::{
    move_map, throttle_entries, throttled_brokers, FOLLOWER_THROTTLED_RATE as FOLLOWER_RATE,
    FOLLOWER_THROTTLED_REPLICAS as FOLLOWER_REPLICAS, LEADER_THROTTLED_RATE as LEADER_RATE,
    LEADER_THROTTLED_REPLICAS as LEADER_REPLICAS, LOG_DIR_THROTTLED_RATE as LOG_DIR_RATE,
};

/// The broker's own dynamic values of the two rate keys before kafka-replan set them
/// (`None` = no per-broker value; a cluster-wide default stays untouched either way).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PreviousRates {
    pub leader: Option<String>,
    pub follower: Option<String>,
}

/// The `partition:broker` entries kafka-replan added to one topic's throttled-replica lists
/// (entries that were already there, someone else's, are not recorded and never removed).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AddedEntries {
    pub leader: Vec<String>,
    pub follower: Vec<String>,
}

/// Everything needed to put the throttle configs back as they were.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ThrottleLedger {
    /// The rate kafka-replan set, bytes/s.
    pub rate: u64,
    pub brokers: BTreeMap<BrokerId, PreviousRates>,
    pub topics: BTreeMap<String, AddedEntries>,
    /// The log-dir throttle kafka-replan set (`replica.alter.log.dirs.io.max.bytes.per.second`,
    /// bytes/s), on the brokers of `log_dir_brokers` only: those with intra-broker moves.
    /// Absent in journals of runs without any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_dir_rate: Option<u64>,
    /// Each such broker's own dynamic log-dir rate before kafka-replan set it (`None` = none).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub log_dir_brokers: BTreeMap<BrokerId, Option<String>>,
}

/// The throttled-replica entries one set of moves needs, per topic: the leader list holds
/// every pre-move replica (any of them may lead while data copies), the follower list the
/// added replicas only (spec §C4). Entries are `partition:broker`, sorted as strings like
/// Kafka's tool sorts them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WantedThrottles {
    pub leader: BTreeMap<String, BTreeSet<String>>,
    pub follower: BTreeMap<String, BTreeSet<String>>,
    pub brokers: BTreeSet<BrokerId>,
}

/// The throttles for moving each partition from `from` to `to`: Kafka's move map (spec
/// §C4) restricted to moves that copy data — a reorder copies nothing, so unlike Kafka's
/// tool it throttles nothing.
pub fn wanted_throttles<'a>(
    moves: impl IntoIterator<Item = (&'a TopicPartition, &'a [BrokerId], &'a [BrokerId])>,
) -> WantedThrottles {
    let mut current = BTreeMap::new();
    let mut proposed = BTreeMap::new();
    for (tp, from, to) in moves {
        if to.iter().all(|b| from.contains(b)) {
            continue;
        }
        current.insert(tp.clone(), from.to_vec());
        proposed.insert(tp.clone(), to.to_vec());
    }
    let map = move_map(&BTreeMap::new(), &proposed, &current);
    let mut w = WantedThrottles {
        brokers: throttled_brokers(&map),
        ..WantedThrottles::default()
    };
    for (topic, e) in throttle_entries(&map) {
        w.leader.insert(topic.clone(), e.leader);
        w.follower.insert(topic, e.follower);
    }
    w
}

/// The config resources and keys to read before building a ledger or restoring one.
pub fn resources_to_read(
    brokers: &BTreeSet<BrokerId>,
    topics: &BTreeSet<String>,
) -> Vec<ConfigResource> {
    brokers
        .iter()
        .map(|b| ConfigResource::Broker(*b))
        .chain(topics.iter().map(|t| ConfigResource::Topic(t.clone())))
        .collect()
}

pub fn throttle_keys() -> Vec<String> {
    [
        LEADER_RATE,
        FOLLOWER_RATE,
        LEADER_REPLICAS,
        FOLLOWER_REPLICAS,
        LOG_DIR_RATE,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Current configs as read by `describe_configs`.
pub type CurrentConfigs = BTreeMap<ConfigResource, Result<Vec<ConfigEntry>, Error>>;

fn value_of(current: &CurrentConfigs, r: &ConfigResource, key: &str) -> Option<String> {
    current
        .get(r)
        .and_then(|e| e.as_ref().ok())
        .and_then(|entries| entries.iter().find(|e| e.name == key))
        .filter(|e| match r {
            // Only the broker's own dynamic value is ours to restore; static and default
            // values are not changed by a per-broker SET/DELETE.
            ConfigResource::Broker(_) => e.source == ConfigSource::DynamicBroker,
            _ => e.source == ConfigSource::Topic,
        })
        .and_then(|e| e.value.clone())
}

fn list_items(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// An error reading a resource's configs that must stop the batch before anything changes.
pub fn first_read_error(current: &CurrentConfigs) -> Option<(ConfigResource, Error)> {
    current
        .iter()
        .find_map(|(r, e)| e.as_ref().err().map(|e| (r.clone(), e.clone())))
}

/// Records what the configs are now and what kafka-replan is about to add.
pub fn build_ledger(
    rate: u64,
    wanted: &WantedThrottles,
    current: &CurrentConfigs,
) -> ThrottleLedger {
    let brokers = wanted
        .brokers
        .iter()
        .map(|b| {
            let r = ConfigResource::Broker(*b);
            (
                *b,
                PreviousRates {
                    leader: value_of(current, &r, LEADER_RATE),
                    follower: value_of(current, &r, FOLLOWER_RATE),
                },
            )
        })
        .collect();
    let topics: BTreeSet<&String> = wanted.leader.keys().chain(wanted.follower.keys()).collect();
    let topics = topics
        .into_iter()
        .map(|t| {
            let r = ConfigResource::Topic(t.clone());
            let added = |key: &str, want: Option<&BTreeSet<String>>| -> Vec<String> {
                let existing = list_items(&value_of(current, &r, key).unwrap_or_default());
                if existing.iter().any(|x| x == "*") {
                    // Every replica of the topic is throttled already, and the broker
                    // accepts `*` only on its own.
                    return Vec::new();
                }
                want.into_iter()
                    .flatten()
                    .filter(|e| !existing.contains(e))
                    .cloned()
                    .collect()
            };
            (
                t.clone(),
                AddedEntries {
                    leader: added(LEADER_REPLICAS, wanted.leader.get(t)),
                    follower: added(FOLLOWER_REPLICAS, wanted.follower.get(t)),
                },
            )
        })
        .collect();
    ThrottleLedger {
        rate,
        brokers,
        topics,
        ..ThrottleLedger::default()
    }
}

pub type ConfigChanges = BTreeMap<ConfigResource, Vec<(String, ConfigOp)>>;

impl ThrottleLedger {
    pub fn is_empty(&self) -> bool {
        self.brokers.is_empty() && self.topics.is_empty() && self.log_dir_brokers.is_empty()
    }

    /// Records the log-dir throttle for `brokers` (those with intra-broker moves): the value
    /// each has now, to put back later. A broker recorded already keeps its first record,
    /// which holds the value from before kafka-replan.
    pub fn record_log_dir_rate(
        &mut self,
        rate: u64,
        brokers: &BTreeSet<BrokerId>,
        current: &CurrentConfigs,
    ) {
        if brokers.is_empty() {
            return;
        }
        self.log_dir_rate = Some(rate);
        for b in brokers {
            let before = value_of(current, &ConfigResource::Broker(*b), LOG_DIR_RATE);
            self.log_dir_brokers.entry(*b).or_insert(before);
        }
    }

    pub fn topic_names(&self) -> BTreeSet<String> {
        self.topics.keys().cloned().collect()
    }

    /// Every broker with a rate recorded (replication or log-dir).
    pub fn broker_ids(&self) -> BTreeSet<BrokerId> {
        self.brokers
            .keys()
            .chain(self.log_dir_brokers.keys())
            .copied()
            .collect()
    }

    /// SET both rates on every broker, APPEND our entries to the topic lists. Idempotent, so
    /// a resumed run may send it again.
    pub fn set_ops(&self) -> ConfigChanges {
        let mut out = ConfigChanges::new();
        let rate = self.rate.to_string();
        for b in self.brokers.keys() {
            out.insert(
                ConfigResource::Broker(*b),
                vec![
                    (LEADER_RATE.into(), ConfigOp::Set(rate.clone())),
                    (FOLLOWER_RATE.into(), ConfigOp::Set(rate.clone())),
                ],
            );
        }
        if let Some(rate) = self.log_dir_rate {
            for b in self.log_dir_brokers.keys() {
                out.entry(ConfigResource::Broker(*b))
                    .or_default()
                    .push((LOG_DIR_RATE.into(), ConfigOp::Set(rate.to_string())));
            }
        }
        for (t, added) in &self.topics {
            let mut ops = Vec::new();
            if !added.leader.is_empty() {
                ops.push((
                    LEADER_REPLICAS.to_string(),
                    ConfigOp::Append(added.leader.join(",")),
                ));
            }
            if !added.follower.is_empty() {
                ops.push((
                    FOLLOWER_REPLICAS.to_string(),
                    ConfigOp::Append(added.follower.join(",")),
                ));
            }
            if !ops.is_empty() {
                out.insert(ConfigResource::Topic(t.clone()), ops);
            }
        }
        out
    }

    /// The changes that undo `set_ops`, given the configs as they are now: a rate still at
    /// our value goes back to its previous value (or is deleted); our entries are
    /// subtracted, and a list left empty that did not exist before is deleted.
    pub fn restore_ops(&self, current: &CurrentConfigs) -> ConfigChanges {
        let mut out = ConfigChanges::new();
        let ours = self.rate.to_string();
        for (b, prev) in &self.brokers {
            let r = ConfigResource::Broker(*b);
            let mut ops = Vec::new();
            for (key, before) in [(LEADER_RATE, &prev.leader), (FOLLOWER_RATE, &prev.follower)] {
                let now = value_of(current, &r, key);
                if now.as_deref() != Some(ours.as_str()) || now == *before {
                    // Changed by someone else since, or already restored.
                    continue;
                }
                ops.push((
                    key.to_string(),
                    match before {
                        Some(v) => ConfigOp::Set(v.clone()),
                        None => ConfigOp::Delete,
                    },
                ));
            }
            if !ops.is_empty() {
                out.insert(r, ops);
            }
        }
        if let Some(rate) = self.log_dir_rate {
            let ours = rate.to_string();
            for (b, before) in &self.log_dir_brokers {
                let r = ConfigResource::Broker(*b);
                let now = value_of(current, &r, LOG_DIR_RATE);
                if now.as_deref() != Some(ours.as_str()) || now == *before {
                    continue;
                }
                out.entry(r).or_default().push((
                    LOG_DIR_RATE.to_string(),
                    match before {
                        Some(v) => ConfigOp::Set(v.clone()),
                        None => ConfigOp::Delete,
                    },
                ));
            }
        }
        for (t, added) in &self.topics {
            let r = ConfigResource::Topic(t.clone());
            let mut ops = Vec::new();
            for (key, entries) in [
                (LEADER_REPLICAS, &added.leader),
                (FOLLOWER_REPLICAS, &added.follower),
            ] {
                if entries.is_empty() {
                    continue;
                }
                let Some(now) = value_of(current, &r, key) else {
                    continue;
                };
                let items = list_items(&now);
                if !items.iter().any(|i| entries.contains(i)) {
                    continue;
                }
                let remaining = items.iter().filter(|i| !entries.contains(i)).count();
                ops.push((
                    key.to_string(),
                    if remaining == 0 {
                        ConfigOp::Delete
                    } else {
                        ConfigOp::Subtract(entries.join(","))
                    },
                ));
            }
            if !ops.is_empty() {
                out.insert(r, ops);
            }
        }
        out
    }

    /// Takes the records of the brokers `keep_for_later` selects out of this ledger and
    /// returns them as a ledger of their own (None if there are none). A broker that is
    /// down can neither be read nor changed: its rates are restored once it is back.
    pub fn split_off_brokers(
        &mut self,
        keep_for_later: impl Fn(BrokerId) -> bool,
    ) -> Option<ThrottleLedger> {
        let later: BTreeMap<BrokerId, PreviousRates> = self
            .brokers
            .iter()
            .filter(|(b, _)| keep_for_later(**b))
            .map(|(b, p)| (*b, p.clone()))
            .collect();
        let later_dirs: BTreeMap<BrokerId, Option<String>> = self
            .log_dir_brokers
            .iter()
            .filter(|(b, _)| keep_for_later(**b))
            .map(|(b, p)| (*b, p.clone()))
            .collect();
        if later.is_empty() && later_dirs.is_empty() {
            return None;
        }
        self.brokers.retain(|b, _| !later.contains_key(b));
        self.log_dir_brokers
            .retain(|b, _| !later_dirs.contains_key(b));
        Some(ThrottleLedger {
            rate: self.rate,
            brokers: later,
            topics: BTreeMap::new(),
            log_dir_rate: if later_dirs.is_empty() {
                None
            } else {
                self.log_dir_rate
            },
            log_dir_brokers: later_dirs,
        })
    }

    /// Adds another ledger's records (a resumed batch that adds moves to a running one):
    /// the first record of a key wins, since it holds the value from before kafka-replan.
    pub fn merge(&mut self, other: ThrottleLedger) {
        for (b, prev) in other.brokers {
            self.brokers.entry(b).or_insert(prev);
        }
        for (b, prev) in other.log_dir_brokers {
            self.log_dir_brokers.entry(b).or_insert(prev);
        }
        if other.log_dir_rate.is_some() {
            self.log_dir_rate = other.log_dir_rate;
        }
        for (t, added) in other.topics {
            let e = self.topics.entry(t).or_default();
            for x in added.leader {
                if !e.leader.contains(&x) {
                    e.leader.push(x);
                }
            }
            for x in added.follower {
                if !e.follower.contains(&x) {
                    e.follower.push(x);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_off_brokers_keeps_the_down_brokers_previous_rates() {
        let mut l = ThrottleLedger {
            rate: 5,
            brokers: [
                (0, PreviousRates::default()),
                (
                    3,
                    PreviousRates {
                        leader: Some("7".into()),
                        follower: None,
                    },
                ),
            ]
            .into(),
            topics: [(
                "t".to_string(),
                AddedEntries {
                    leader: vec!["0:0".into()],
                    follower: vec!["0:3".into()],
                },
            )]
            .into(),
            ..ThrottleLedger::default()
        };
        assert_eq!(l.clone().split_off_brokers(|_| false), None);
        let later = l.split_off_brokers(|b| b == 3).expect("broker 3 split off");
        assert_eq!(later.rate, 5);
        assert_eq!(later.broker_ids(), [3].into());
        assert_eq!(later.brokers[&3].leader.as_deref(), Some("7"));
        assert!(later.topics.is_empty());
        assert_eq!(l.broker_ids(), [0].into());
        assert_eq!(l.topic_names(), ["t".to_string()].into());
    }

    fn entry(name: &str, value: &str, source: ConfigSource) -> ConfigEntry {
        ConfigEntry {
            name: name.into(),
            value: Some(value.into()),
            source,
            read_only: false,
            sensitive: false,
        }
    }

    fn tp(t: &str, p: i32) -> TopicPartition {
        TopicPartition::new(t, p)
    }

    #[test]
    fn wanted_follows_kafkas_move_map() {
        // Kafka docs: 101,102 -> 102,103 throttles 101,102 as leaders and 103 as follower.
        let t = tp("my-topic", 0);
        let w = wanted_throttles([(&t, &[101, 102][..], &[102, 103][..])]);
        assert_eq!(
            w.leader["my-topic"].iter().cloned().collect::<Vec<_>>(),
            vec!["0:101", "0:102"]
        );
        assert_eq!(
            w.follower["my-topic"].iter().cloned().collect::<Vec<_>>(),
            vec!["0:103"]
        );
        assert_eq!(
            w.brokers.iter().copied().collect::<Vec<_>>(),
            vec![101, 102, 103]
        );
        // A reorder needs no throttle.
        let w = wanted_throttles([(&t, &[1, 2][..], &[2, 1][..])]);
        assert!(w.brokers.is_empty() && w.leader.is_empty());
    }

    #[test]
    fn f_c6_f_c8_removal_deletes_only_what_kafka_replan_created() {
        let t = tp("t", 0);
        let u = tp("u", 1);
        let w = wanted_throttles([
            (&t, &[1, 2][..], &[2, 3][..]),
            (&u, &[1, 2][..], &[1, 3][..]),
        ]);
        let mut current = CurrentConfigs::new();
        current.insert(
            ConfigResource::Broker(1),
            Ok(vec![entry(LEADER_RATE, "7", ConfigSource::DynamicBroker)]),
        );
        current.insert(
            ConfigResource::Broker(2),
            // A cluster default is not the broker's own value.
            Ok(vec![entry(
                LEADER_RATE,
                "9",
                ConfigSource::DynamicDefaultBroker,
            )]),
        );
        current.insert(ConfigResource::Broker(3), Ok(vec![]));
        current.insert(
            ConfigResource::Topic("t".into()),
            Ok(vec![entry(LEADER_REPLICAS, "0:1,5:5", ConfigSource::Topic)]),
        );
        current.insert(
            ConfigResource::Topic("u".into()),
            Ok(vec![entry(FOLLOWER_REPLICAS, "*", ConfigSource::Topic)]),
        );
        let ledger = build_ledger(1000, &w, &current);
        assert_eq!(ledger.brokers[&1].leader.as_deref(), Some("7"));
        assert_eq!(ledger.brokers[&2].leader, None);
        assert_eq!(ledger.topics["t"].leader, vec!["0:2"]);
        assert_eq!(ledger.topics["t"].follower, vec!["0:3"]);
        assert_eq!(ledger.topics["u"].follower, Vec::<String>::new());
        let set = ledger.set_ops();
        assert_eq!(
            set[&ConfigResource::Topic("t".into())],
            vec![
                (LEADER_REPLICAS.to_string(), ConfigOp::Append("0:2".into())),
                (
                    FOLLOWER_REPLICAS.to_string(),
                    ConfigOp::Append("0:3".into())
                ),
            ]
        );
        // After the batch: configs hold our values; broker 3's follower rate was changed
        // by someone else meanwhile.
        let mut after = CurrentConfigs::new();
        let both = |v: &str| {
            vec![
                entry(LEADER_RATE, v, ConfigSource::DynamicBroker),
                entry(FOLLOWER_RATE, v, ConfigSource::DynamicBroker),
            ]
        };
        after.insert(ConfigResource::Broker(1), Ok(both("1000")));
        after.insert(ConfigResource::Broker(2), Ok(both("1000")));
        after.insert(
            ConfigResource::Broker(3),
            Ok(vec![
                entry(LEADER_RATE, "1000", ConfigSource::DynamicBroker),
                entry(FOLLOWER_RATE, "55", ConfigSource::DynamicBroker),
            ]),
        );
        after.insert(
            ConfigResource::Topic("t".into()),
            Ok(vec![
                entry(LEADER_REPLICAS, "0:1,5:5,0:2", ConfigSource::Topic),
                entry(FOLLOWER_REPLICAS, "0:3", ConfigSource::Topic),
            ]),
        );
        after.insert(
            ConfigResource::Topic("u".into()),
            Ok(vec![
                entry(LEADER_REPLICAS, "1:1,1:2", ConfigSource::Topic),
                entry(FOLLOWER_REPLICAS, "*", ConfigSource::Topic),
            ]),
        );
        let restore = ledger.restore_ops(&after);
        assert_eq!(
            restore[&ConfigResource::Broker(1)],
            vec![
                (LEADER_RATE.to_string(), ConfigOp::Set("7".into())),
                (FOLLOWER_RATE.to_string(), ConfigOp::Delete),
            ]
        );
        assert_eq!(
            restore[&ConfigResource::Broker(3)],
            vec![(LEADER_RATE.to_string(), ConfigOp::Delete)]
        );
        assert_eq!(
            restore[&ConfigResource::Topic("t".into())],
            vec![
                (
                    LEADER_REPLICAS.to_string(),
                    ConfigOp::Subtract("0:2".into())
                ),
                (FOLLOWER_REPLICAS.to_string(), ConfigOp::Delete),
            ]
        );
        assert_eq!(
            restore[&ConfigResource::Topic("u".into())],
            vec![(LEADER_REPLICAS.to_string(), ConfigOp::Delete)]
        );
    }

    #[test]
    fn log_dir_rate_is_set_on_its_brokers_only_and_restored_exactly() {
        let mut before = CurrentConfigs::new();
        before.insert(
            ConfigResource::Broker(1),
            Ok(vec![entry(LOG_DIR_RATE, "9", ConfigSource::DynamicBroker)]),
        );
        before.insert(ConfigResource::Broker(2), Ok(vec![]));
        let mut ledger = ThrottleLedger {
            rate: 1000,
            ..ThrottleLedger::default()
        };
        ledger.record_log_dir_rate(500, &[1, 2].into(), &before);
        // A resumed batch records again: the first record (the value before) wins.
        let mut ours = CurrentConfigs::new();
        for b in [1, 2] {
            ours.insert(
                ConfigResource::Broker(b),
                Ok(vec![entry(
                    LOG_DIR_RATE,
                    "500",
                    ConfigSource::DynamicBroker,
                )]),
            );
        }
        ledger.record_log_dir_rate(500, &[1, 2].into(), &ours);
        assert_eq!(ledger.log_dir_brokers[&1].as_deref(), Some("9"));
        assert_eq!(ledger.log_dir_brokers[&2], None);
        assert_eq!(ledger.broker_ids(), [1, 2].into());
        let set = ledger.set_ops();
        assert_eq!(
            set[&ConfigResource::Broker(1)],
            vec![(LOG_DIR_RATE.to_string(), ConfigOp::Set("500".into()))]
        );
        let restore = ledger.restore_ops(&ours);
        assert_eq!(
            restore[&ConfigResource::Broker(1)],
            vec![(LOG_DIR_RATE.to_string(), ConfigOp::Set("9".into()))]
        );
        assert_eq!(
            restore[&ConfigResource::Broker(2)],
            vec![(LOG_DIR_RATE.to_string(), ConfigOp::Delete)]
        );
        // Someone changed broker 2's value meanwhile: theirs stays.
        ours.insert(
            ConfigResource::Broker(2),
            Ok(vec![entry(LOG_DIR_RATE, "77", ConfigSource::DynamicBroker)]),
        );
        assert!(!ledger
            .restore_ops(&ours)
            .contains_key(&ConfigResource::Broker(2)));
        // A down broker's record is kept for later with the rate.
        let later = ledger
            .split_off_brokers(|b| b == 2)
            .expect("broker 2 split off");
        assert_eq!(later.log_dir_rate, Some(500));
        assert_eq!(later.broker_ids(), [2].into());
        assert_eq!(ledger.broker_ids(), [1].into());
        // Journals without log-dir moves keep their old shape.
        let plain = serde_json::to_value(ThrottleLedger::default()).unwrap();
        assert!(plain.get("log_dir_rate").is_none() && plain.get("log_dir_brokers").is_none());
    }
}
