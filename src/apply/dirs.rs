//! Intra-broker moves (KIP-113): where each replica with a planned log directory is, read
//! from DescribeLogDirs, in the states Kafka's `--verify` names (spec §A5, §C5), and the
//! AlterReplicaLogDirs calls that start and stop such moves.
//!
//! Kafka has no cancel for an intra-broker move. Its `--cancel` re-targets each active move
//! to the directory the replica is in now: the broker then drops the future replica and the
//! copy stops. kafka-replan does the same when a run stops or is cancelled.

use std::collections::{BTreeMap, BTreeSet};

use crate::kafka::admin::LogDir;
use crate::kafka::{Admin, Error};
use crate::model::{BrokerId, TopicPartition};

/// REPLICA_NOT_AVAILABLE: the replica does not exist on the broker yet.
pub const REPLICA_NOT_AVAILABLE: i16 = 9;
/// NOT_LEADER_OR_FOLLOWER: what brokers before KIP-113's follow-up answered instead.
pub const NOT_LEADER_OR_FOLLOWER: i16 = 6;

/// A replica and the directory it should be in.
pub type DirTargets = BTreeMap<(TopicPartition, BrokerId), String>;

/// Where one replica is relative to its planned directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirState {
    /// In the planned directory, no future replica.
    Done,
    /// A future replica in the planned directory is copying; `copied` bytes so far.
    Moving { current: String, copied: u64 },
    /// In another directory and not moving (never started, or stopped).
    NotMoving { current: String },
    /// Moving, but to another directory than planned (someone else's move).
    MovingElsewhere { current: String, future: String },
    /// The broker answered but has no replica of the partition (not created yet).
    Missing,
    /// The broker has an offline directory and the replica is in none of the live ones.
    InOfflineDir,
    /// The broker's log dirs could not be read (broker down, network).
    Unreadable(String),
}

impl DirState {
    pub fn is_done(&self) -> bool {
        *self == DirState::Done
    }
}

/// Kafka's `--verify` line for one replica (spec §A5).
pub fn dir_line(tp: &TopicPartition, broker: BrokerId, dir: &str, state: &DirState) -> String {
    match state {
        DirState::Done => format!("Reassignment of replica {tp}-{broker} completed successfully."),
        DirState::Moving { .. } => {
            format!("Reassignment of replica {tp}-{broker} is still in progress.")
        }
        DirState::MovingElsewhere { future, .. } => format!(
            "Partition {tp} on broker {broker} is being moved to log dir {future} instead of {dir}."
        ),
        DirState::NotMoving { current } => format!(
            "Partition {tp} on broker {broker} is not being moved from log dir {current} to {dir}."
        ),
        DirState::Missing => format!(
            "Partition {tp} cannot be found in any live log directory on broker {broker}."
        ),
        DirState::InOfflineDir => format!(
            "Partition {tp} is not found in any live log dir on broker {broker}. There is likely an offline log directory on the broker."
        ),
        DirState::Unreadable(why) => format!(
            "Partition {tp} on broker {broker}: its log dirs could not be read ({why})."
        ),
    }
}

/// Kafka's log-dir lines for every replica with a planned directory, sorted by replica.
pub fn dir_lines(
    targets: &DirTargets,
    states: &BTreeMap<(TopicPartition, BrokerId), DirState>,
) -> Vec<String> {
    let mut keys: Vec<&(TopicPartition, BrokerId)> = targets.keys().collect();
    // Kafka sorts replicas by broker, then topic and partition.
    keys.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    keys.into_iter()
        .filter_map(|k| Some(dir_line(&k.0, k.1, targets.get(k)?, states.get(k)?)))
        .collect()
}

/// One replica's state from its broker's log dirs.
fn state_in(dirs: &[LogDir], tp: &TopicPartition, target: &str) -> DirState {
    let mut current = None;
    let mut future = None;
    for d in dirs.iter().filter(|d| d.error.is_none()) {
        for r in d.replicas.iter().filter(|r| &r.tp == tp) {
            if r.is_future {
                future = Some((d.path.clone(), r.size_bytes));
            } else {
                current = Some(d.path.clone());
            }
        }
    }
    match (current, future) {
        (None, _) if dirs.iter().any(|d| d.error.is_some()) => DirState::InOfflineDir,
        (None, _) => DirState::Missing,
        (Some(c), None) if c == target => DirState::Done,
        (Some(current), None) => DirState::NotMoving { current },
        (Some(current), Some((f, copied))) if f == target => DirState::Moving { current, copied },
        (Some(current), Some((future, _))) => DirState::MovingElsewhere { current, future },
    }
}

/// The state of every replica of `targets` (one DescribeLogDirs per broker concerned).
pub async fn dir_states(
    admin: &impl Admin,
    targets: &DirTargets,
) -> Result<BTreeMap<(TopicPartition, BrokerId), DirState>, Error> {
    if targets.is_empty() {
        return Ok(BTreeMap::new());
    }
    let brokers: Vec<BrokerId> = targets
        .keys()
        .map(|(_, b)| *b)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let all = admin.describe_log_dirs(&brokers).await?;
    Ok(targets
        .iter()
        .map(|((tp, b), dir)| {
            let state = match all.get(b) {
                Some(Ok(dirs)) => state_in(dirs, tp, dir),
                Some(Err(e)) => DirState::Unreadable(e.to_string()),
                None => DirState::Unreadable("no answer for the broker".into()),
            };
            ((tp.clone(), *b), state)
        })
        .collect())
}

/// Sends AlterReplicaLogDirs for `moves`, one request per broker. Returns each replica's
/// outcome; a broker that cannot be reached gives every replica of it that error.
pub async fn send_moves(
    admin: &impl Admin,
    moves: &DirTargets,
) -> BTreeMap<(TopicPartition, BrokerId), Result<(), Error>> {
    let mut by_broker: BTreeMap<BrokerId, BTreeMap<TopicPartition, String>> = BTreeMap::new();
    for ((tp, b), dir) in moves {
        by_broker
            .entry(*b)
            .or_default()
            .insert(tp.clone(), dir.clone());
    }
    let mut out = BTreeMap::new();
    for (b, m) in by_broker {
        match admin.alter_replica_log_dirs(b, &m).await {
            Ok(outcomes) => {
                // Only the replicas asked about: a reply may name others, which are not
                // ours to act on.
                for (tp, r) in outcomes.into_iter().filter(|(tp, _)| m.contains_key(tp)) {
                    out.insert((tp, b), r);
                }
            }
            Err(e) => {
                for tp in m.keys() {
                    out.insert((tp.clone(), b), Err(e.clone()));
                }
            }
        }
    }
    out
}

/// Stops the intra-broker moves of `targets` that are copying (to the planned directory)
/// by re-targeting each to the directory its replica is in now, as Kafka's `--cancel`
/// does: the broker drops the future replica. Moves that finished stay finished. Returns
/// one line per replica acted on.
pub async fn stop_moves(admin: &impl Admin, targets: &DirTargets) -> Result<Vec<String>, Error> {
    let states = dir_states(admin, targets).await?;
    let back: DirTargets = states
        .iter()
        .filter_map(|(k, s)| match s {
            DirState::Moving { current, .. } => Some((k.clone(), current.clone())),
            _ => None,
        })
        .collect();
    let mut lines = Vec::new();
    for ((tp, b), r) in send_moves(admin, &back).await {
        let key = (tp.clone(), b);
        let (Some(stays), Some(target)) = (back.get(&key), targets.get(&key)) else {
            continue;
        };
        match r {
            Ok(()) => lines.push(format!(
                "Stopped the log-dir move of replica {tp}-{b} to {target}; it stays in {stays}"
            )),
            Err(e) => lines.push(format!(
                "Error: could not stop the log-dir move of replica {tp}-{b} (re-targeting it to {stays}): {e}"
            )),
        }
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::fake::FakeAdmin;

    fn tp(p: i32) -> TopicPartition {
        TopicPartition::new("t", p)
    }

    #[tokio::test]
    async fn states_and_kafkas_lines() {
        let f = FakeAdmin::new()
            .with_broker(1, None, None)
            .with_broker(2, None, None)
            .with_log_dirs(1, &["/a", "/b"])
            .with_log_dirs(2, &["/c", "/d"])
            .with_partition("t", 0, &[1, 2], 10)
            .with_partition("t", 1, &[1], 10)
            .with_partition("t", 2, &[1], 10)
            .with_replica_dir("t", 2, 1, "/b");
        let mut targets = DirTargets::new();
        targets.insert((tp(0), 1), "/b".to_string());
        targets.insert((tp(0), 2), "/c".to_string());
        targets.insert((tp(1), 1), "/b".to_string());
        targets.insert((tp(2), 1), "/a".to_string());
        targets.insert((tp(1), 2), "/d".to_string());
        // t-0 on broker 1 starts moving to /b.
        let mut start = DirTargets::new();
        start.insert((tp(0), 1), "/b".to_string());
        for r in send_moves(&f, &start).await.into_values() {
            r.unwrap();
        }
        let states = dir_states(&f, &targets).await.unwrap();
        assert_eq!(states[&(tp(0), 2)], DirState::Done);
        assert!(matches!(states[&(tp(0), 1)], DirState::Moving { .. }));
        assert_eq!(
            states[&(tp(1), 1)],
            DirState::NotMoving {
                current: "/a".into()
            }
        );
        assert_eq!(states[&(tp(1), 2)], DirState::Missing);
        assert_eq!(
            dir_lines(&targets, &states),
            [
                "Reassignment of replica t-0-1 is still in progress.",
                "Partition t-1 on broker 1 is not being moved from log dir /a to /b.",
                "Partition t-2 on broker 1 is not being moved from log dir /b to /a.",
                "Reassignment of replica t-0-2 completed successfully.",
                "Partition t-1 cannot be found in any live log directory on broker 2.",
            ]
        );
        // Stopping re-targets the copying one to where it is; nothing else is touched.
        let lines = stop_moves(&f, &targets).await.unwrap();
        assert_eq!(
            lines,
            ["Stopped the log-dir move of replica t-0-1 to /b; it stays in /a"]
        );
        assert_eq!(f.future_dir(&tp(0), 1), None);
        assert_eq!(f.replica_dir(&tp(0), 1).as_deref(), Some("/a"));
        // An offline dir holding the replica.
        f.set_dir_offline(1, "/b", true);
        let states = dir_states(&f, &targets).await.unwrap();
        assert_eq!(states[&(tp(2), 1)], DirState::InOfflineDir);
        f.set_broker_alive(2, false);
        let states = dir_states(&f, &targets).await.unwrap();
        assert!(matches!(states[&(tp(0), 2)], DirState::Unreadable(_)));
    }
}
