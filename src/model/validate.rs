//! Structural checks of a cluster, returning every violation (not only the first).

use std::collections::BTreeSet;
use std::fmt;

use super::{BrokerId, Cluster, TopicPartition};

/// One broken rule in a cluster description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterViolation {
    NoBrokers,
    DuplicateBroker {
        broker: BrokerId,
    },
    DuplicatePartition {
        tp: TopicPartition,
    },
    EmptyReplicas {
        tp: TopicPartition,
    },
    DuplicateReplica {
        tp: TopicPartition,
        broker: BrokerId,
    },
    UnknownBroker {
        tp: TopicPartition,
        broker: BrokerId,
    },
    NegativePartition {
        tp: TopicPartition,
    },
    LogDirsLength {
        tp: TopicPartition,
        dirs: usize,
        replicas: usize,
    },
    /// A broker lists the same log dir twice.
    DuplicateLogDir {
        broker: BrokerId,
        path: String,
    },
    /// A replica is placed in a dir its broker does not list (only checked for brokers whose
    /// dirs are known).
    UnknownLogDir {
        tp: TopicPartition,
        broker: BrokerId,
        path: String,
    },
    /// The replicas known to be in a dir need more bytes than the dir's capacity.
    LogDirOverfull {
        broker: BrokerId,
        path: String,
        used: u64,
        capacity: u64,
    },
}

impl fmt::Display for ClusterViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClusterViolation::NoBrokers => write!(f, "the broker list is empty"),
            ClusterViolation::DuplicateBroker { broker } => {
                write!(f, "broker {broker} is listed more than once")
            }
            ClusterViolation::DuplicatePartition { tp } => {
                write!(f, "partition {tp} is listed more than once")
            }
            ClusterViolation::EmptyReplicas { tp } => {
                write!(f, "partition {tp} has an empty replica list")
            }
            ClusterViolation::DuplicateReplica { tp, broker } => write!(
                f,
                "partition {tp} lists broker {broker} more than once in its replicas"
            ),
            ClusterViolation::UnknownBroker { tp, broker } => write!(
                f,
                "partition {tp} has a replica on broker {broker}, which is not in the broker list"
            ),
            ClusterViolation::NegativePartition { tp } => {
                write!(f, "partition {tp} has a negative partition number")
            }
            ClusterViolation::LogDirsLength { tp, dirs, replicas } => write!(
                f,
                "partition {tp} lists {dirs} log dirs for {replicas} replicas (one per replica, in replica order)"
            ),
            ClusterViolation::DuplicateLogDir { broker, path } => {
                write!(f, "broker {broker} lists log dir {path} more than once")
            }
            ClusterViolation::UnknownLogDir { tp, broker, path } => write!(
                f,
                "partition {tp} has a replica on broker {broker} in log dir {path}, which broker {broker} does not list"
            ),
            ClusterViolation::LogDirOverfull {
                broker,
                path,
                used,
                capacity,
            } => write!(
                f,
                "broker {broker} log dir {path}: its replicas hold {used} bytes, more than its capacity of {capacity} bytes"
            ),
        }
    }
}

/// Checks broker ids are unique, partitions unique, replica lists non-empty, distinct and on
/// known brokers. Returns all violations in a stable order (empty = valid).
pub fn validate_cluster(cluster: &Cluster) -> Vec<ClusterViolation> {
    let mut out = Vec::new();
    if cluster.brokers.is_empty() {
        out.push(ClusterViolation::NoBrokers);
    }
    let mut ids = BTreeSet::new();
    for b in &cluster.brokers {
        if !ids.insert(b.id) {
            out.push(ClusterViolation::DuplicateBroker { broker: b.id });
        }
    }
    for b in &cluster.brokers {
        let mut paths = BTreeSet::new();
        for d in &b.log_dirs {
            if !paths.insert(d.path.as_str()) {
                out.push(ClusterViolation::DuplicateLogDir {
                    broker: b.id,
                    path: d.path.clone(),
                });
            }
        }
    }
    // Bytes of the replicas known to be in each listed dir, for the capacity check.
    let mut used: std::collections::BTreeMap<(BrokerId, &str), u64> =
        std::collections::BTreeMap::new();
    let mut prev: Option<&TopicPartition> = None;
    for p in &cluster.partitions {
        if prev == Some(&p.tp) {
            out.push(ClusterViolation::DuplicatePartition { tp: p.tp.clone() });
        }
        prev = Some(&p.tp);
        if p.tp.partition < 0 {
            out.push(ClusterViolation::NegativePartition { tp: p.tp.clone() });
        }
        if p.replicas.is_empty() {
            out.push(ClusterViolation::EmptyReplicas { tp: p.tp.clone() });
        }
        if !p.log_dirs.is_empty() && p.log_dirs.len() != p.replicas.len() {
            out.push(ClusterViolation::LogDirsLength {
                tp: p.tp.clone(),
                dirs: p.log_dirs.len(),
                replicas: p.replicas.len(),
            });
        }
        for (r, dir) in p.replicas.iter().zip(&p.log_dirs) {
            let (Some(dir), Some(b)) = (dir, cluster.broker(*r)) else {
                continue;
            };
            if b.log_dirs.is_empty() {
                continue;
            }
            if b.log_dirs.iter().any(|d| &d.path == dir) {
                let e = used.entry((*r, dir.as_str())).or_insert(0);
                *e = e.saturating_add(p.size_bytes);
            } else {
                out.push(ClusterViolation::UnknownLogDir {
                    tp: p.tp.clone(),
                    broker: *r,
                    path: dir.clone(),
                });
            }
        }
        // Replica lists are short: a scan of the earlier entries finds a repeat without a
        // set per partition (long lists, from hostile input, get one).
        let mut seen: Option<BTreeSet<BrokerId>> = (p.replicas.len() > 16).then(BTreeSet::new);
        for (j, &r) in p.replicas.iter().enumerate() {
            let repeat = match &mut seen {
                Some(set) => !set.insert(r),
                None => p.replicas[..j].contains(&r),
            };
            if repeat {
                out.push(ClusterViolation::DuplicateReplica {
                    tp: p.tp.clone(),
                    broker: r,
                });
            }
            if !ids.contains(&r) {
                out.push(ClusterViolation::UnknownBroker {
                    tp: p.tp.clone(),
                    broker: r,
                });
            }
        }
    }
    for ((broker, path), used) in used {
        let capacity = cluster
            .broker(broker)
            .and_then(|b| b.log_dirs.iter().find(|d| d.path == path))
            .and_then(|d| d.capacity_bytes);
        if let Some(capacity) = capacity.filter(|c| used > *c) {
            out.push(ClusterViolation::LogDirOverfull {
                broker,
                path: path.to_string(),
                used,
                capacity,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Broker, Partition};

    fn part(t: &str, p: i32, reps: Vec<BrokerId>) -> Partition {
        Partition {
            tp: TopicPartition::new(t, p),
            replicas: reps,
            size_bytes: 1,
            leader: None,
            isr: None,
            in_flight: None,
            log_dirs: Vec::new(),
            rates: None,
        }
    }

    #[test]
    fn collects_every_violation() {
        let brokers = vec![
            Broker {
                id: 1,
                rack: None,
                capacity_bytes: None,
                log_dirs: Vec::new(),
            },
            Broker {
                id: 1,
                rack: None,
                capacity_bytes: None,
                log_dirs: Vec::new(),
            },
        ];
        let parts = vec![
            part("a", 0, vec![1, 1]),
            part("a", 0, vec![9]),
            part("b", 0, vec![]),
        ];
        let c = Cluster::new(brokers, parts);
        let v = validate_cluster(&c);
        assert!(v.contains(&ClusterViolation::DuplicateBroker { broker: 1 }));
        assert!(v.contains(&ClusterViolation::DuplicatePartition {
            tp: TopicPartition::new("a", 0)
        }));
        assert!(v.contains(&ClusterViolation::DuplicateReplica {
            tp: TopicPartition::new("a", 0),
            broker: 1
        }));
        assert!(v.contains(&ClusterViolation::UnknownBroker {
            tp: TopicPartition::new("a", 0),
            broker: 9
        }));
        assert!(v.contains(&ClusterViolation::EmptyReplicas {
            tp: TopicPartition::new("b", 0)
        }));
    }

    #[test]
    fn empty_broker_list() {
        let v = validate_cluster(&Cluster::default());
        assert_eq!(v, vec![ClusterViolation::NoBrokers]);
    }
}
