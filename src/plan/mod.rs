//! The planning core: pure functions from a `Cluster` to a new `Layout`, with bounds, an
//! explanation of any gap, and an independent verifier. No I/O.
//!
//! Priorities, in order: hard rules (RF kept, distinct known brokers, exclusions, rack
//! spread ⌈RF/R⌉, disk capacity × max util); (1) replica counts in the tightest reachable
//! band; (2) fewest replica moves; (3) leader counts in their band with the fewest leader
//! changes; (4) bytes: pool choices are matched to balance disk use. With `topic_spread`,
//! each topic's spread over the brokers comes between (1) and (2) (`topic_spread`).
//!
//! [`plan`] runs the pipeline of `stages` (scope and forced moves, count flow, the budget or
//! disk-first goal, capacity, topic spread, disk refinement, leaders, verify, report); which
//! stages a run takes is decided from the `PlanConfig` in one place, `stages::StagePlan`.
//! The stage internals (flows, bounds, swaps) are in the other modules of `plan`.

// Index loops over parallel arrays are the clearest form for graph code.
#![allow(clippy::needless_range_loop)]

pub mod bounds;
pub mod bytes;
pub mod capacity;
pub mod exact;
pub mod kafka_placement;
pub mod leaders;
pub mod load;
pub mod log_dirs;
pub mod mcf;
pub mod metrics;
pub mod replicas;
pub mod scenario;
pub mod schedule;
pub mod scope;
mod stages;
pub mod timings;
pub mod topic_spread;
pub mod verify;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use bounds::{move_bounds, MoveBounds};

use crate::model::{BrokerId, Cluster, Layout, Plan, TopicPartition};

/// What the user asked for.
#[derive(Debug, Clone)]
pub struct PlanConfig {
    pub excluded: BTreeSet<BrokerId>,
    /// Bytes on a broker may not exceed capacity × this (default 1.0).
    pub max_disk_util: f64,
    /// Topics whose partitions may change (`None` = every topic). The partitions of other
    /// topics stay as they are, but their replicas count towards broker loads and bytes.
    pub movable: Option<BTreeSet<String>>,
    /// Brokers that may receive replicas of movable partitions (`None` = every broker not
    /// excluded). A movable partition's replica on a broker outside the set must move.
    pub target_brokers: Option<BTreeSet<BrokerId>>,
    /// Partitions that must stay exactly as they are (e.g. with a reassignment in flight);
    /// like unlisted topics, their replicas still count towards broker loads and bytes.
    pub frozen: BTreeSet<TopicPartition>,
    /// Budget: the best-balanced layout with at most this many replica moves, re-optimised
    /// under the budget (never a truncated full plan).
    pub max_moves: Option<usize>,
    /// Budget on bytes copied, always met and verified. With `Balance::Bytes` the disk
    /// tolerance is loosened to the tightest that fits; with the count modes the count band
    /// is widened (the flow minimises moves, not bytes, so that is a weak use of bytes).
    pub max_bytes: Option<u64>,
    /// Budget on preferred-leader changes: the best leader balance with at most this many.
    pub max_leader_changes: Option<usize>,
    /// Count modes with partition rates: also even out leader traffic by exchanging
    /// leadership at unchanged leader counts (stage `leader_load`). Off: leaders by count
    /// alone, with the fewest leader changes, as without rates.
    pub level_leader_traffic: bool,
    /// What to balance: replica counts (exact), or counts and then disk bytes inside the
    /// count band (local search), or disk bytes first.
    pub balance: Balance,
    /// `bytes` balance: how far above its share of the bytes a broker may end (0.01 = 1 %).
    pub disk_tolerance: f64,
    /// Spread each topic's replicas evenly over the allowed brokers (count-preserving swaps
    /// after the count flow), at the cost of extra moves.
    pub topic_spread: bool,
    /// JBOD: how much fuller (by usage fraction) a broker's fullest log dir may end than its
    /// emptiest (0.05: max/min ≤ 1.05). Used only where log dirs are known.
    pub log_dir_tolerance: f64,
    /// JBOD: log dirs to empty, as (broker, path).
    pub drain_log_dirs: BTreeSet<(BrokerId, String)>,
    /// `load` balance: the tolerance and the network limits (docs/traffic.md).
    pub load: load::LoadConfig,
}

/// The balance objective (`--balance`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Balance {
    /// Replica and leader counts per broker, exactly (min-cost flow), fewest moves.
    #[default]
    Count,
    /// Counts as above, then disk use evened out by count-preserving swaps.
    CountBytes,
    /// Disk use first (every broker within the tolerance of its share, fewest bytes
    /// copied); replica counts are not balanced, leaders are.
    Bytes,
    /// Network traffic first (`load`): every broker's network in, network out and leader
    /// bytes-in within the tolerance of the mean and under its network limits, leadership
    /// changes before replica moves; replica and leader counts are not balanced.
    Load,
}

/// Default `disk_tolerance`: a broker may end 0.5 % above its share of the bytes.
pub const DEFAULT_DISK_TOLERANCE: f64 = 0.005;

impl Default for PlanConfig {
    fn default() -> Self {
        PlanConfig {
            excluded: BTreeSet::new(),
            max_disk_util: 1.0,
            movable: None,
            target_brokers: None,
            frozen: BTreeSet::new(),
            max_moves: None,
            max_bytes: None,
            max_leader_changes: None,
            level_leader_traffic: true,
            balance: Balance::Count,
            disk_tolerance: DEFAULT_DISK_TOLERANCE,
            topic_spread: false,
            log_dir_tolerance: log_dirs::DEFAULT_LOG_DIR_TOLERANCE,
            drain_log_dirs: BTreeSet::new(),
            load: load::LoadConfig::default(),
        }
    }
}

/// Why a plan cannot be made. Each names the subject and the rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Infeasible {
    NoAllowedBrokers,
    NotEnoughBrokers {
        tp: TopicPartition,
        rf: usize,
        allowed: usize,
    },
    RackSpread {
        tp: TopicPartition,
        rf: usize,
        cap: usize,
        slots: usize,
        racks: usize,
    },
    PartitionTooLarge {
        tp: TopicPartition,
        size: u64,
        largest_limit: u64,
    },
    TotalCapacity {
        need: u64,
        have: u64,
    },
    BrokerOverCapacity {
        broker: BrokerId,
        bytes: u64,
        limit: u64,
    },
    /// A given (not optimised) layout breaks a hard rule, as the verifier words it.
    Rule(String),
    /// The moves the hard rules force (replicas off excluded brokers, rack repairs, capacity)
    /// do not fit in the budget.
    OverBudget {
        budget: String,
        needed: String,
    },
}

impl fmt::Display for Infeasible {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Infeasible::NoAllowedBrokers => write!(f, "every broker is excluded: nothing can hold the replicas"),
            Infeasible::Rule(rule) => f.write_str(rule),
            Infeasible::OverBudget { budget, needed } => write!(
                f,
                "the budget of {budget} is too small: {needed}; raise the budget"
            ),
            Infeasible::NotEnoughBrokers { tp, rf, allowed } => write!(
                f,
                "{tp}: replication factor {rf} needs {rf} distinct brokers but only {allowed} are allowed (exclude {} fewer)",
                rf - allowed
            ),
            Infeasible::RackSpread { tp, rf, cap, slots, racks } => write!(
                f,
                "{tp}: replication factor {rf} cannot be spread over {racks} racks with at most {cap} per rack: the racks' brokers offer only {slots} slots (add {} broker(s) to the smallest racks)",
                rf - slots
            ),
            Infeasible::PartitionTooLarge { tp, size, largest_limit } => write!(
                f,
                "{tp}: one replica is {size} bytes, more than any allowed broker may hold ({largest_limit} bytes at most; raise --max-disk-util or capacity by {} bytes)",
                size - largest_limit
            ),
            Infeasible::TotalCapacity { need, have } => write!(
                f,
                "the replicas need {need} bytes but the allowed brokers may hold {have} (capacity × max disk util): {} bytes short",
                need - have
            ),
            Infeasible::BrokerOverCapacity { broker, bytes, limit } => write!(
                f,
                "broker {broker}: no rack-safe layout found that keeps it under its limit ({bytes} bytes > {limit}, {} bytes over)",
                bytes - limit
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum PlanError {
    Infeasible(Vec<Infeasible>),
    /// A bug: the solver or the verifier disagreed with the model. Never expected.
    Internal(String),
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::Infeasible(list) => {
                write!(f, "no plan satisfies the hard rules:")?;
                for (i, item) in list.iter().enumerate() {
                    if i == 20 {
                        write!(f, "\n  ... and {} more", list.len() - 20)?;
                        break;
                    }
                    write!(f, "\n  {item}")?;
                }
                Ok(())
            }
            PlanError::Internal(m) => write!(f, "internal error (please report): {m}"),
        }
    }
}

impl std::error::Error for PlanError {}

/// Facts about the solve, for the report.
#[derive(Debug, Clone, Default)]
pub struct SolverFacts {
    pub rounds: usize,
    pub phases: usize,
    pub nodes: usize,
    pub arcs: usize,
    pub certified: bool,
    /// Set when the layout was not optimised but given (a broker replacement): what it is.
    pub fixed_plan: Option<String>,
}

/// A computed plan with everything the report needs.
#[derive(Debug, Clone)]
pub struct PlanOutcome {
    pub before: Layout,
    pub after: Layout,
    pub plan: Plan,
    pub rollback: Plan,
    /// Partitions whose preferred leader changes (for `kafka-leader-election`).
    pub election: Vec<TopicPartition>,
    /// Bounds of the current layout (LB, LB*), as the bench scorer defines them.
    pub bounds: MoveBounds,
    /// Moves of the exact flow optimum (before any capacity repair).
    pub optimum_moves: usize,
    pub moves: usize,
    pub bytes_moved: u64,
    pub leader_changes: usize,
    /// Every allowed broker ends inside the uniform band `[floor(avg), ceil(avg)]` (of
    /// replicas, resp. preferred leaders); false when the rack rule puts it out of reach.
    pub replica_band_reached: bool,
    pub leader_band_reached: bool,
    /// Why the optimum is above LB*, or why the band is out of reach.
    pub explanations: Vec<String>,
    pub capacity_checked: bool,
    pub capacity_repair: capacity::Repair,
    pub facts: SolverFacts,
    /// Set when a budget bound the plan.
    pub budget: Option<BudgetOutcome>,
    /// Set when the leader-change budget bound the leader balance.
    pub leader_budget: Option<LeaderBudgetOutcome>,
    /// Set in `count+bytes` mode: the swaps that evened out disk use.
    pub bytes_refinement: Option<bytes::BytesRefinement>,
    /// Set in `bytes` mode: what the disk balance aimed at and did.
    pub disk_balance: Option<bytes::DiskBalance>,
    /// Lower bound on the bytes copied by any plan reaching what this one reached.
    pub bytes_bound: Option<bounds::BytesBound>,
    /// Set with `topic_spread`: the swaps that evened out each topic over the brokers.
    pub topic_spread: Option<topic_spread::TopicSpreadRefinement>,
    /// Set when some broker's log dirs are known: the dir of every replica.
    pub log_dirs: Option<log_dirs::LogDirOutcome>,
    /// Set in `load` mode: what the load balance aimed at, did and the bounds it is measured
    /// against.
    pub load_balance: Option<load::LoadBalanceFacts>,
    /// Set whenever the cluster has partition rates: network traffic per broker.
    pub network: Option<load::NetworkFigures>,
}

/// How `max_leader_changes` shaped the leaders: the leader band widened by `below`/`above`
/// is the tightest within it; the full leader balance would change `full_changes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderBudgetOutcome {
    pub max_changes: usize,
    pub below: usize,
    pub above: usize,
    pub full_changes: usize,
}

/// How a budget shaped the plan: the uniform band widened by `below`/`above` replicas per
/// broker is the tightest the budget reaches; the full balance would need `full_moves`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetOutcome {
    pub max_moves: Option<usize>,
    pub max_bytes: Option<u64>,
    pub below: usize,
    pub above: usize,
    pub full_moves: usize,
    pub full_bytes: u64,
}

/// Plans a balanced, minimal, rack- and capacity-safe layout.
pub fn plan(cluster: &Cluster, config: &PlanConfig) -> Result<PlanOutcome, PlanError> {
    let mut outcome = if cluster.has_log_dirs() {
        log_dirs::plan(cluster, config, broker_level_plan)?
    } else {
        broker_level_plan(cluster, config)?
    };
    outcome.network = network_figures(cluster, config, &outcome);
    Ok(outcome)
}

/// The network figures of an outcome, when the cluster has rates (none otherwise, so plans of
/// clusters without rates are reported exactly as before).
fn network_figures(
    cluster: &Cluster,
    config: &PlanConfig,
    outcome: &PlanOutcome,
) -> Option<load::NetworkFigures> {
    cluster.has_rates().then(|| {
        load::network_figures(
            cluster,
            &config.excluded,
            &config.load,
            &outcome.before,
            &outcome.after,
        )
    })
}

/// The replica layout over brokers (log dirs not looked at).
fn broker_level_plan(cluster: &Cluster, config: &PlanConfig) -> Result<PlanOutcome, PlanError> {
    if config.movable.is_none() && config.target_brokers.is_none() && config.frozen.is_empty() {
        return stages::run(cluster, config, None);
    }
    scope::plan_scoped(cluster, config)
}

/// The outcome of a layout that is given rather than optimised (e.g. a broker
/// replacement): plan, rollback, election and figures, checked by the independent verifier.
/// Rule violations the current layout already has (a rack rule broken before, a broker
/// over capacity before) are carried over, not blamed on the plan; `emptied` brokers must
/// hold nothing afterwards; the partitions of `rf_changes` may change their replication
/// factor exactly as listed. With `allow_rack_violations` (an operator forcing a replacement
/// across racks) the rack rule is reported in the figures but not enforced.
pub fn fixed_outcome(
    cluster: &Cluster,
    after: Layout,
    emptied: &BTreeSet<BrokerId>,
    max_disk_util: f64,
    allow_rack_violations: bool,
    rf_changes: &BTreeMap<TopicPartition, (usize, usize)>,
    description: String,
) -> Result<PlanOutcome, PlanError> {
    let rf_change_messages: BTreeSet<String> = rf_changes
        .iter()
        .map(|(tp, (from, to))| format!("{tp}: replication factor changed from {from} to {to}"))
        .collect();
    let before = cluster.current_layout();
    let bounds = move_bounds(cluster, &before, emptied);
    let plan = before.diff(cluster, &after);
    let rollback = plan.rollback(cluster, &before);
    let stages::report::Figures {
        moves,
        bytes_moved,
        leader_changes,
        election,
    } = stages::report::figures(cluster, &before, &after);
    let capacity_checked = capacity::limits(cluster, max_disk_util)
        .iter()
        .any(|l| l.is_some());
    let no_rules = BTreeSet::new();
    let rules = |excluded| verify::VerifyRules {
        excluded,
        max_disk_util: capacity_checked.then_some(max_disk_util),
        min_moves: 0,
        max_moves: None,
        max_bytes: None,
        max_leader_changes: None,
    };
    let carried: BTreeSet<String> = verify::verify_plan(
        cluster,
        &before,
        &before,
        &Plan::default(),
        &Plan::default(),
        &rules(&no_rules),
    )
    .into_iter()
    .collect();
    let violations: Vec<String> =
        verify::verify_plan(cluster, &before, &after, &plan, &rollback, &rules(emptied))
            .into_iter()
            .filter(|v| !carried.contains(v))
            .filter(|v| !(allow_rack_violations && verify::is_rack_violation(v)))
            .filter(|v| !rf_change_messages.contains(v))
            .collect();
    if !violations.is_empty() {
        return Err(PlanError::Infeasible(
            violations.into_iter().map(Infeasible::Rule).collect(),
        ));
    }
    let network = cluster.has_rates().then(|| {
        load::network_figures(
            cluster,
            emptied,
            &load::LoadConfig::default(),
            &before,
            &after,
        )
    });
    Ok(PlanOutcome {
        network,
        load_balance: None,
        before,
        after,
        plan,
        rollback,
        election,
        bounds,
        optimum_moves: moves,
        moves,
        bytes_moved,
        leader_changes,
        replica_band_reached: false,
        leader_band_reached: false,
        explanations: Vec::new(),
        capacity_checked,
        capacity_repair: capacity::Repair::default(),
        facts: SolverFacts {
            fixed_plan: Some(description),
            ..SolverFacts::default()
        },
        budget: None,
        leader_budget: None,
        bytes_refinement: None,
        disk_balance: None,
        bytes_bound: None,
        topic_spread: None,
        log_dirs: None,
    })
}
