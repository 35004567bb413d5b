//! The network load model (docs/traffic.md), the same as Cruise Control's: per partition with
//! produce rate `in` and consumer fetch rate `out` (bytes/s) and replication factor `rf`,
//!
//! * its leader receives `in` (produce) and sends `out` (consumers) plus `in × (rf − 1)`
//!   (the followers fetch every produced byte from it);
//! * each follower receives `in` (replication) and sends nothing.
//!
//! So a broker's network in is the produce rate summed over every replica it holds (leader
//! or not), and its network out and "leader bytes-in" (produce it takes as leader) depend on
//! which replicas lead. Consumers fetching from followers (KIP-392) are not modelled: with
//! `replica.selector.class` set, real out traffic is spread over the replicas.
//!
//! Partitions without measured rates count as idle. Sums saturate rather than wrap.

pub mod balance;
pub mod bounds;

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{BrokerId, Cluster, Layout, Partition};

/// Network limits per broker: a default and per-broker overrides (bytes/s); `None` where
/// neither is given (unlimited).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkCapacity {
    pub default: Option<u64>,
    pub per_broker: BTreeMap<BrokerId, u64>,
}

impl NetworkCapacity {
    pub fn of(&self, broker: BrokerId) -> Option<u64> {
        self.per_broker.get(&broker).copied().or(self.default)
    }

    pub fn is_set(&self) -> bool {
        self.default.is_some() || !self.per_broker.is_empty()
    }
}

/// What `--balance load` aims at, and the hard network limits.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadConfig {
    /// How far above the mean (over the allowed brokers) a broker's network in, network out
    /// and leader bytes-in may end (0.10 = 10 %).
    pub tolerance: f64,
    pub in_capacity: NetworkCapacity,
    pub out_capacity: NetworkCapacity,
    /// A broker's traffic may not exceed capacity × this.
    pub max_util: f64,
}

/// Default `LoadConfig::tolerance`.
pub const DEFAULT_LOAD_TOLERANCE: f64 = 0.10;
/// Default `LoadConfig::max_util`: headroom for bursts and for the reassignment's own
/// replication traffic.
pub const DEFAULT_MAX_NETWORK_UTIL: f64 = 0.8;

impl Default for LoadConfig {
    fn default() -> Self {
        LoadConfig {
            tolerance: DEFAULT_LOAD_TOLERANCE,
            in_capacity: NetworkCapacity::default(),
            out_capacity: NetworkCapacity::default(),
            max_util: DEFAULT_MAX_NETWORK_UTIL,
        }
    }
}

impl LoadConfig {
    /// The usable limit (capacity × max util) of network in and out for `broker`.
    pub fn limits(&self, broker: BrokerId) -> (Option<u64>, Option<u64>) {
        let scale = |c: Option<u64>| c.map(|c| (c as f64 * self.max_util).floor() as u64);
        (
            scale(self.in_capacity.of(broker)),
            scale(self.out_capacity.of(broker)),
        )
    }
}

/// Produce and consume rate of a partition (0 when unmeasured).
pub fn rates(p: &Partition) -> (u64, u64) {
    p.rates
        .map_or((0, 0), |r| (r.bytes_in_per_sec, r.bytes_out_per_sec))
}

/// What the leader of `p` sends with `rf` replicas: consumer traffic plus replication.
pub fn leader_out(p: &Partition, rf: usize) -> u64 {
    let (bytes_in, bytes_out) = rates(p);
    bytes_out.saturating_add(bytes_in.saturating_mul(rf.saturating_sub(1) as u64))
}

/// Traffic of one broker under the model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    pub net_in: u64,
    pub net_out: u64,
    /// Produce traffic the broker receives as leader.
    pub leader_in: u64,
}

/// Traffic per broker of `layout` (replica lists, `[0]` the preferred leader, which is
/// taken as the leader: the plan's election makes it so).
pub fn traffic(cluster: &Cluster, layout: &Layout) -> BTreeMap<BrokerId, Traffic> {
    let mut out: BTreeMap<BrokerId, Traffic> = cluster
        .brokers
        .iter()
        .map(|b| (b.id, Traffic::default()))
        .collect();
    for (p, reps) in cluster.partitions.iter().zip(&layout.replicas) {
        let (bytes_in, _) = rates(p);
        for (i, b) in reps.iter().enumerate() {
            let t = out.entry(*b).or_default();
            t.net_in = t.net_in.saturating_add(bytes_in);
            if i == 0 {
                t.net_out = t.net_out.saturating_add(leader_out(p, reps.len()));
                t.leader_in = t.leader_in.saturating_add(bytes_in);
            }
        }
    }
    out
}

/// Every allowed broker of `layout` above a network limit, as the verifier words it.
pub fn limit_violations(
    cluster: &Cluster,
    excluded: &BTreeSet<BrokerId>,
    load: &LoadConfig,
    layout: &Layout,
) -> Vec<String> {
    let mut out = Vec::new();
    for (id, t) in traffic(cluster, layout) {
        if excluded.contains(&id) {
            continue;
        }
        let (in_limit, out_limit) = load.limits(id);
        for (what, have, limit) in [
            ("network in", t.net_in, in_limit),
            ("network out", t.net_out, out_limit),
        ] {
            if let Some(l) = limit.filter(|l| have > *l) {
                out.push(format!(
                    "broker {id}: {what} {have} B/s over its limit {l} B/s (capacity × --max-network-util {}), {} B/s over",
                    load.max_util,
                    have - l
                ));
            }
        }
    }
    out
}

/// Max over mean of `values` (`None` without values or with a zero mean).
pub fn max_mean(values: &[u64]) -> Option<f64> {
    let n = values.len();
    let sum: f64 = values.iter().map(|&v| v as f64).sum();
    let max = values.iter().copied().max()? as f64;
    (n > 0 && sum > 0.0).then(|| max * n as f64 / sum)
}

/// One broker's row of the network report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerNetwork {
    pub id: BrokerId,
    pub excluded: bool,
    pub before: Traffic,
    pub after: Traffic,
    pub in_limit: Option<u64>,
    pub out_limit: Option<u64>,
}

/// Max/mean of the three figures over the allowed brokers.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Ratios {
    pub net_in: Option<f64>,
    pub net_out: Option<f64>,
    pub leader_in: Option<f64>,
}

/// The network figures of a plan, for the report (set whenever the cluster has rates).
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkFigures {
    pub brokers: Vec<BrokerNetwork>,
    pub before: Ratios,
    pub after: Ratios,
    pub partitions_with_rates: usize,
    pub partitions_without_rates: usize,
    pub window_ms: Option<u64>,
    /// Allowed brokers above a network limit after the plan (only other modes can leave one
    /// there: `--balance load` refuses such a plan).
    pub over_limit: Vec<BrokerId>,
}

fn ratios(rows: &[&BrokerNetwork], pick: impl Fn(&BrokerNetwork) -> Traffic) -> Ratios {
    let col = |f: fn(&Traffic) -> u64| rows.iter().map(|r| f(&pick(r))).collect::<Vec<_>>();
    Ratios {
        net_in: max_mean(&col(|t| t.net_in)),
        net_out: max_mean(&col(|t| t.net_out)),
        leader_in: max_mean(&col(|t| t.leader_in)),
    }
}

/// Network in/out and leader bytes-in per broker before and after, with the ratios over the
/// brokers not in `excluded`.
pub fn network_figures(
    cluster: &Cluster,
    excluded: &BTreeSet<BrokerId>,
    load: &LoadConfig,
    before: &Layout,
    after: &Layout,
) -> NetworkFigures {
    let tb = traffic(cluster, before);
    let ta = traffic(cluster, after);
    let brokers: Vec<BrokerNetwork> = cluster
        .brokers
        .iter()
        .map(|b| {
            let (in_limit, out_limit) = load.limits(b.id);
            BrokerNetwork {
                id: b.id,
                excluded: excluded.contains(&b.id),
                before: tb.get(&b.id).copied().unwrap_or_default(),
                after: ta.get(&b.id).copied().unwrap_or_default(),
                in_limit,
                out_limit,
            }
        })
        .collect();
    let allowed: Vec<&BrokerNetwork> = brokers.iter().filter(|b| !b.excluded).collect();
    let over_limit = allowed
        .iter()
        .filter(|b| {
            b.in_limit.is_some_and(|l| b.after.net_in > l)
                || b.out_limit.is_some_and(|l| b.after.net_out > l)
        })
        .map(|b| b.id)
        .collect();
    let with = cluster
        .partitions
        .iter()
        .filter(|p| p.rates.is_some())
        .count();
    NetworkFigures {
        before: ratios(&allowed, |b| b.before),
        after: ratios(&allowed, |b| b.after),
        brokers,
        partitions_with_rates: with,
        partitions_without_rates: cluster.partitions.len() - with,
        window_ms: cluster.rates_window_ms,
        over_limit,
    }
}

/// What `--balance load` aimed at and did, with the bounds of what any plan must change.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadBalanceFacts {
    pub tolerance: f64,
    pub max_util: f64,
    /// Every allowed broker ends within the tolerance of the mean on all three figures.
    pub target_reached: bool,
    /// The plan only reorders replica lists (no data copied).
    pub leadership_only: bool,
    /// Greedy steps taken: leadership changes and replica moves.
    pub leadership_steps: usize,
    pub replica_steps: usize,
    /// Lower bound on preferred-leader changes any plan reaching the tolerance needs.
    pub leader_changes_bound: usize,
    /// Lower bound on replica moves any plan reaching the tolerance needs.
    pub moves_bound: usize,
    /// The least max/mean any layout can reach, from the hottest single partition (network
    /// in, network out, leader bytes-in).
    pub floor: Ratios,
    /// Why the tolerance is out of reach, when it is.
    pub explanations: Vec<String>,
}

/// The smallest number of `items` (largest first) whose sum reaches `excess`; `None` when
/// even all of them do not.
pub fn fewest_to_cover(mut items: Vec<u64>, excess: u64) -> Option<usize> {
    if excess == 0 {
        return Some(0);
    }
    items.sort_unstable_by(|a, b| b.cmp(a));
    let mut sum = 0u64;
    for (i, v) in items.iter().enumerate() {
        sum = sum.saturating_add(*v);
        if sum >= excess {
            return Some(i + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Broker, PartitionRates, TopicPartition};

    fn cluster() -> Cluster {
        let broker = |id| Broker {
            id,
            rack: None,
            capacity_bytes: None,
            log_dirs: Vec::new(),
        };
        let part = |n, replicas: Vec<BrokerId>, i, o| Partition {
            tp: TopicPartition::new("t", n),
            replicas,
            size_bytes: 1,
            leader: None,
            isr: None,
            in_flight: None,
            log_dirs: Vec::new(),
            rates: Some(PartitionRates {
                bytes_in_per_sec: i,
                bytes_out_per_sec: o,
            }),
        };
        Cluster::new(
            vec![broker(1), broker(2), broker(3)],
            vec![part(0, vec![1, 2, 3], 10, 30), part(1, vec![2, 3], 5, 0)],
        )
    }

    #[test]
    fn leaders_send_consumer_and_replication_traffic_followers_receive_produce() {
        let c = cluster();
        let t = traffic(&c, &c.current_layout());
        assert_eq!(
            t[&1],
            Traffic {
                net_in: 10,
                net_out: 30 + 10 * 2,
                leader_in: 10
            }
        );
        assert_eq!(
            t[&2],
            Traffic {
                net_in: 15,
                net_out: 5,
                leader_in: 5
            }
        );
        assert_eq!(
            t[&3],
            Traffic {
                net_in: 15,
                net_out: 0,
                leader_in: 0
            }
        );
    }

    #[test]
    fn limits_apply_the_utilisation_and_per_broker_overrides() {
        let load = LoadConfig {
            in_capacity: NetworkCapacity {
                default: Some(100),
                per_broker: [(2, 50)].into_iter().collect(),
            },
            max_util: 0.8,
            ..LoadConfig::default()
        };
        assert_eq!(load.limits(1), (Some(80), None));
        assert_eq!(load.limits(2), (Some(40), None));
    }

    #[test]
    fn fewest_to_cover_takes_the_largest_first() {
        assert_eq!(fewest_to_cover(vec![1, 5, 3], 0), Some(0));
        assert_eq!(fewest_to_cover(vec![1, 5, 3], 6), Some(2));
        assert_eq!(fewest_to_cover(vec![1, 5, 3], 10), None);
        assert_eq!(max_mean(&[1, 1, 4]), Some(2.0));
        assert_eq!(max_mean(&[0, 0]), None);
    }
}
