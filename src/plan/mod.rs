//! The planning core: pure functions from a `Cluster` to a new `Layout`, with bounds, an
//! explanation of any gap, and an independent verifier. No I/O.
//!
//! Priorities, in order: hard rules (RF kept, distinct known brokers, exclusions, rack
//! spread ⌈RF/R⌉, disk capacity × max util); (1) replica counts in the tightest reachable
//! band; (2) fewest replica moves; (3) leader counts in their band with the fewest leader
//! changes; (4) bytes: pool choices are matched to balance disk use. With `topic_spread`,
//! each topic's spread over the brokers comes between (1) and (2) (`topic_spread`).

// Index loops over parallel arrays are the clearest form for graph code.
#![allow(clippy::needless_range_loop)]

pub mod bounds;
pub mod bytes;
pub mod capacity;
pub mod kafka_placement;
pub mod leaders;
pub mod mcf;
pub mod metrics;
pub mod replicas;
pub mod scenario;
pub mod schedule;
pub mod scope;
pub mod timings;
pub mod topic_spread;
pub mod verify;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use bounds::{move_bounds, MoveBounds};
use replicas::{Bands, PlacementError, Topology};

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
    /// What to balance: replica counts (exact), or counts and then disk bytes inside the
    /// count band (local search), or disk bytes first.
    pub balance: Balance,
    /// `bytes` balance: how far above its share of the bytes a broker may end (0.01 = 1 %).
    pub disk_tolerance: f64,
    /// Spread each topic's replicas evenly over the allowed brokers (count-preserving swaps
    /// after the count flow), at the cost of extra moves.
    pub topic_spread: bool,
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
}

/// Default `disk_tolerance`: a broker may end 0.5 % above its share of the bytes.
pub const DEFAULT_DISK_TOLERANCE: f64 = 0.005;

/// A tolerance so loose that a broker's ceiling is its capacity limit alone.
const CAPACITY_ONLY_TOLERANCE: f64 = 1e6;

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
            balance: Balance::Count,
            disk_tolerance: DEFAULT_DISK_TOLERANCE,
            topic_spread: false,
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
    if config.movable.is_none() && config.target_brokers.is_none() && config.frozen.is_empty() {
        return plan_core(cluster, config, None);
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
    let mut moves = 0;
    let mut bytes_moved = 0u64;
    let mut leader_changes = 0;
    let mut election = Vec::new();
    for ((p, old), new) in cluster
        .partitions
        .iter()
        .zip(&before.replicas)
        .zip(&after.replicas)
    {
        let added = new.iter().filter(|b| !old.contains(b)).count();
        moves += added;
        bytes_moved += added as u64 * p.size_bytes;
        if old.first() != new.first() {
            leader_changes += 1;
            election.push(p.tp.clone());
        }
    }
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
    Ok(PlanOutcome {
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
    })
}

/// The planner over every partition of `cluster`. With `base`, the cluster is the movable
/// part of a larger one and `base` holds the load the fixed partitions put on each broker.
fn plan_core(
    cluster: &Cluster,
    config: &PlanConfig,
    base: Option<&scope::BaseLoad>,
) -> Result<PlanOutcome, PlanError> {
    plan_core_with(cluster, config, base, ShedChoice::default())
}

/// Which replicas a broker sheds when the flow leaves the choice free (the move count is the
/// same either way): by default sizes that even out disk use.
#[derive(Debug, Clone, Copy, Default)]
struct ShedChoice {
    /// Followers before preferred leaders: tried when the plan's leader changes are over a
    /// leader budget (each moved leader replica forces a change).
    followers: bool,
    /// The smallest first: tried when the full balance is over a bytes budget.
    small: bool,
}

fn plan_core_with(
    cluster: &Cluster,
    config: &PlanConfig,
    base: Option<&scope::BaseLoad>,
    shed: ShedChoice,
) -> Result<PlanOutcome, PlanError> {
    let mut clock = timings::StageClock::start();
    let mut topo = Topology::new(cluster, &config.excluded);
    topo.prefer_follower_moves = shed.followers;
    topo.prefer_small_moves = shed.small;
    if topo.allowed_count() == 0 {
        return Err(PlanError::Infeasible(vec![Infeasible::NoAllowedBrokers]));
    }
    let before = cluster.current_layout();
    let bounds = match base {
        None => move_bounds(cluster, &before, &config.excluded),
        Some(b) => scope::scoped_bounds(cluster, &topo, b),
    };
    let mut problems = Vec::new();
    for e in replicas::check_feasible(cluster, &topo) {
        problems.push(match e {
            PlacementError::NotEnoughBrokers {
                partition,
                rf,
                allowed,
            } => Infeasible::NotEnoughBrokers {
                tp: cluster.partitions[partition].tp.clone(),
                rf,
                allowed,
            },
            PlacementError::RackSpreadImpossible {
                partition,
                rf,
                cap,
                slots,
            } => Infeasible::RackSpread {
                tp: cluster.partitions[partition].tp.clone(),
                rf,
                cap,
                slots,
                racks: topo.racks.len(),
            },
            PlacementError::Flow(f) => return Err(PlanError::Internal(f.to_string())),
        });
    }
    let limits = match base {
        Some(b) => b.limits.clone(),
        None => capacity::limits(cluster, config.max_disk_util),
    };
    let capacity_checked = limits.iter().any(|l| l.is_some());
    if capacity_checked {
        problems.extend(capacity_precheck(cluster, &topo, &limits));
    }
    if !problems.is_empty() {
        return Err(PlanError::Infeasible(problems));
    }
    clock.lap("plan.bounds+checks");

    // Replica stage with band tightening: when the uniform band is out of reach, pin the
    // brokers the rack rule forces outside it and rebalance the rest among themselves.
    let nb = topo.ids.len();
    let uniform = match base {
        None => replicas::uniform_bands(cluster, &topo),
        Some(b) => scope::base_aware_bands(cluster, &topo, b),
    };
    // The uniform band first: when it is reachable, its optimum is the answer. Otherwise the
    // rack-aware band (water-filling over what each rack can hold), then pinning.
    let mut bands = uniform.clone();
    let mut facts = SolverFacts::default();
    let mut solution;
    let mut explanations = Vec::new();
    loop {
        facts.rounds += 1;
        let sol = replicas::solve_flow(cluster, &topo, &bands).map_err(|e| match e {
            PlacementError::Flow(f) => PlanError::Internal(f.to_string()),
            other => PlanError::Internal(format!("{other:?}")),
        })?;
        facts.phases += sol.phases;
        facts.nodes = sol.nodes;
        facts.arcs = sol.arcs;
        facts.certified = sol.certified;
        solution = sol;
        if solution.band_violation == 0 || facts.rounds >= 6 {
            break;
        }
        if facts.rounds == 1 {
            let rack_aware = match base {
                None => replicas::rack_aware_bands(cluster, &topo),
                Some(b) => scope::rack_aware_base_bands(cluster, &topo, b),
            };
            if rack_aware != bands {
                bands = rack_aware;
                continue;
            }
        }
        let loads = replicas::loads(nb, &solution.replicas);
        match tighten(&topo, &bands, &loads, base.map(|b| b.counts.as_slice())) {
            Some(next) => bands = next,
            None => break,
        }
    }
    clock.lap("plan.replica-flow");
    let mut replica_band_reached = facts.rounds == 1 && solution.band_violation == 0;
    let optimum_moves = solution.moves;
    let bytes_first = config.balance == Balance::Bytes;
    let has_budget = !bytes_first && (config.max_moves.is_some() || config.max_bytes.is_some());
    let full_bytes = if has_budget {
        solution_copies(cluster, &topo, &solution.replicas).1
    } else {
        0
    };
    let mut new_sets = solution.replicas;
    let mut final_loads = replicas::loads(nb, &new_sets);
    let mut disk_balance = None;
    if bytes_first {
        // Counts are not the goal: start from the layout with only the moves the hard rules
        // force (no band pressure at all) and balance bytes from there.
        let total = cluster.total_replicas();
        bands = widen_bands(&bands, &topo, total, total);
        let (sets, balance) = fit_disk_balance(cluster, &topo, &bands, base, config, &mut facts)?;
        new_sets = sets;
        disk_balance = Some(balance);
        final_loads = replicas::loads(nb, &new_sets);
        replica_band_reached = false;
    } else if !replica_band_reached {
        match base {
            None => explanations.extend(explain_band(cluster, &topo, &uniform, &final_loads)),
            Some(b) => {
                explanations.push(scope::explain_scoped_band(&topo, &uniform, &final_loads, b))
            }
        }
    }

    let mut budget = None;
    // A budget the full balance fits changes nothing; otherwise the band is widened until
    // the move-minimal layout fits.
    if has_budget && !within_budget(config, optimum_moves, full_bytes) {
        if config.max_bytes.is_some() && !shed.small {
            // Small replicas first: more moves, so a tighter band, fit in the bytes.
            let shed = ShedChoice {
                small: true,
                ..shed
            };
            return plan_core_with(cluster, config, base, shed);
        }
        let (mut below, mut above, mut sol, mut widened) =
            fit_budget(cluster, &topo, &bands, config, &mut facts)?;
        // A second candidate shaped like a greedy cut of the full plan (each move from the
        // fullest brokers to the emptiest); the better-balanced of the two is kept, ties to
        // the uniform widening.
        if let (Some(max_moves), None) = (config.max_moves, config.max_bytes) {
            let capacity = capacity_checked.then_some(limits.as_slice());
            if let Some((level_bands, level_sol)) =
                water_level_budget(cluster, &topo, &bands, max_moves, capacity, &mut facts)?
            {
                let quality = |sets: &[Vec<usize>]| {
                    let loads = replicas::loads(nb, sets);
                    budget_quality(&topo, &uniform, &loads)
                };
                if quality(&level_sol.replicas) < quality(&sol.replicas) {
                    below = (0..nb)
                        .filter(|&b| topo.allowed[b])
                        .map(|b| bands.lo[b].saturating_sub(level_bands.lo[b]))
                        .max()
                        .unwrap_or(0);
                    above = (0..nb)
                        .filter(|&b| topo.allowed[b])
                        .map(|b| level_bands.hi[b].saturating_sub(bands.hi[b]))
                        .max()
                        .unwrap_or(0);
                    sol = level_sol;
                    widened = level_bands;
                }
            }
        }
        budget = Some(BudgetOutcome {
            max_moves: config.max_moves,
            max_bytes: config.max_bytes,
            below,
            above,
            full_moves: optimum_moves,
            full_bytes,
        });
        new_sets = sol.replicas;
        final_loads = replicas::loads(nb, &new_sets);
        bands = widened;
        replica_band_reached = false;
    }
    clock.lap("plan.bytes-first+budget");
    // Capacity: repair, then fail with the broker and the shortfall if still over.
    let mut repair = capacity::Repair::default();
    if capacity_checked {
        let hi: Vec<usize> = (0..nb).map(|b| bands.hi[b].max(final_loads[b])).collect();
        repair = capacity::repair(cluster, &topo, &limits, &mut new_sets, &hi);
        let over_limit = |sets: &[Vec<usize>]| {
            let bytes = capacity::bytes_per_broker(cluster, nb, sets);
            (0..nb).any(|b| limits[b].is_some_and(|l| bytes[b] > l))
        };
        if over_limit(&new_sets) {
            // The repair keeps the count band; when it cannot, relocate replicas off the
            // brokers over their limit onto any with room (the bytes mode's relocation with
            // the capacity limits as ceilings) before declaring the layout impossible.
            let full_limits = capacity::limits(cluster, config.max_disk_util);
            let mut trial = new_sets.clone();
            let relocated = bytes::balance_disk(
                cluster,
                &topo,
                &full_limits,
                base.map(|b| b.bytes.as_slice()),
                &mut trial,
                CAPACITY_ONLY_TOLERANCE,
            );
            if !over_limit(&trial) {
                new_sets = trial;
                repair.redirected += relocated.relocations;
                repair.swaps += relocated.swaps;
                explanations.push(
                    "the replica-count band was given up where disk capacity left no room for it"
                        .to_string(),
                );
            }
        }
        // Counts may have changed: the band figures describe the layout as it ends.
        final_loads = replicas::loads(nb, &new_sets);
        let bytes = capacity::bytes_per_broker(cluster, nb, &new_sets);
        let over: Vec<Infeasible> = (0..nb)
            .filter_map(|b| match limits[b] {
                Some(l) if bytes[b] > l => Some(Infeasible::BrokerOverCapacity {
                    broker: topo.ids[b],
                    bytes: bytes[b],
                    limit: l,
                }),
                _ => None,
            })
            .collect();
        if !over.is_empty() {
            if config.max_moves.is_some() || config.max_bytes.is_some() {
                // Under a budget the layout the budget allowed may be what leaves no room:
                // when the unbudgeted plan keeps every broker under its limit, the budget is
                // the problem, and saying so is what the operator can act on.
                let unbudgeted = PlanConfig {
                    max_moves: None,
                    max_bytes: None,
                    ..config.clone()
                };
                if let Ok(full) = plan_core_with(cluster, &unbudgeted, base, shed) {
                    return Err(PlanError::Infeasible(vec![Infeasible::OverBudget {
                        budget: budget_text(config),
                        needed: format!(
                            "keeping every broker under its capacity takes more than the budget allows (the full plan: {} moves, {} bytes)",
                            full.moves, full.bytes_moved
                        ),
                    }]));
                }
            }
            return Err(PlanError::Infeasible(over));
        }
        let (moved, bytes) = solution_copies(cluster, &topo, &new_sets);
        if !within_budget(config, moved, bytes) {
            return Err(PlanError::Infeasible(vec![Infeasible::OverBudget {
                budget: budget_text(config),
                needed: format!(
                    "keeping every broker under its capacity needs {moved} moves, {bytes} bytes"
                ),
            }]));
        }
    }

    clock.lap("plan.capacity-repair");
    if replica_band_reached
        && base.is_none()
        && (0..nb).any(|b| {
            topo.allowed[b] && (final_loads[b] < uniform.lo[b] || final_loads[b] > uniform.hi[b])
        })
    {
        replica_band_reached = false;
    }
    let bytes_bound = match base {
        Some(_) => None,
        None if bytes_first => {
            // The ceilings this plan keeps (its own load where it could not).
            let after_bytes = capacity::bytes_per_broker(cluster, nb, &new_sets);
            let ceilings: Vec<u64> = disk_balance
                .as_ref()
                .map(|d| {
                    (0..nb)
                        .map(|b| {
                            d.thresholds
                                .get(b)
                                .copied()
                                .unwrap_or(0)
                                .max(after_bytes[b])
                        })
                        .collect()
                })
                .unwrap_or(after_bytes);
            let tolerance = disk_balance.as_ref().map_or(0.0, |d| d.tolerance);
            Some(bounds::BytesBound {
                bytes: bounds::bytes_bound_for_ceilings(cluster, &topo, &ceilings),
                basis: format!(
                    "any rack-safe plan leaving no broker above this plan's ceiling for it (its share + {:.2} %, + {:.3} % where the rack rule forces the share)",
                    tolerance * 100.0,
                    tolerance * 10.0
                ),
            })
        }
        None => {
            // The band this plan's counts are in (its own counts where it is outside).
            let lo: Vec<usize> = (0..nb).map(|b| bands.lo[b].min(final_loads[b])).collect();
            let hi: Vec<usize> = (0..nb).map(|b| bands.hi[b].max(final_loads[b])).collect();
            Some(bounds::BytesBound {
                bytes: bounds::bytes_bound_for_band(cluster, &topo, &lo, &hi),
                basis: "any plan putting every broker's replica count in this plan's band"
                    .to_string(),
            })
        }
    };
    // Topic spread ranks above bytes, so it goes first; both keep every broker's count.
    // Not with `bytes`: its swaps keep counts, not the disk balance that mode is for.
    let topic_spread = (config.topic_spread && !bytes_first).then(|| {
        let left = config
            .max_moves
            .map(|m| m.saturating_sub(solution_copies(cluster, &topo, &new_sets).0));
        let kept = new_sets.clone();
        let done = topic_spread::spread_topics(cluster, &topo, &limits, &mut new_sets, left);
        // The swaps follow the move budget but not a bytes budget: over it, keep the
        // layout they started from.
        let (moves, bytes) = solution_copies(cluster, &topo, &new_sets);
        if within_budget(config, moves, bytes) {
            done
        } else {
            new_sets = kept;
            topic_spread::TopicSpreadRefinement {
                swaps: 0,
                move_delta: 0,
                spread_before: done.spread_before,
                spread_after: done.spread_before,
            }
        }
    });
    let bytes_refinement = (config.balance == Balance::CountBytes).then(|| {
        let left = config
            .max_moves
            .map(|m| m.saturating_sub(solution_copies(cluster, &topo, &new_sets).0));
        let kept = new_sets.clone();
        let done = bytes::refine(cluster, &topo, &limits, &mut new_sets, left);
        // The swaps follow the move budget but not a bytes budget: over it, keep the
        // layout they started from.
        let (moves, bytes) = solution_copies(cluster, &topo, &new_sets);
        if within_budget(config, moves, bytes) {
            done
        } else {
            new_sets = kept;
            bytes::BytesRefinement::default()
        }
    });

    clock.lap("plan.bytes-bound+refinements");
    // Leader stage.
    let mut lbands = match base {
        None => leaders::uniform_leader_bands(cluster.partitions.len(), &topo),
        Some(b) => scope::base_aware_leader_bands(&topo, b, cluster.partitions.len()),
    };
    let mut lsol;
    let mut lrounds = 0;
    loop {
        lrounds += 1;
        lsol = leaders::solve_leaders(cluster, &topo, &new_sets, &lbands)
            .map_err(|e| PlanError::Internal(e.to_string()))?;
        facts.phases += lsol.phases;
        facts.certified &= lsol.certified;
        if lsol.band_violation == 0 || lrounds >= 6 {
            break;
        }
        let mut lload = vec![0usize; nb];
        for (reps, &pos) in new_sets.iter().zip(&lsol.leader_pos) {
            if let Some(&b) = reps.get(pos) {
                lload[b] += 1;
            }
        }
        match tighten(&topo, &lbands, &lload, base.map(|b| b.leaders.as_slice())) {
            Some(next) => lbands = next,
            None => break,
        }
    }
    let mut leader_band_reached = lrounds == 1 && lsol.band_violation == 0;
    let mut leader_budget = None;
    if let Some(max_changes) = config.max_leader_changes {
        if lsol.changes > max_changes {
            if !shed.followers {
                // Replica moves that take fewer preferred leaders along leave more of the
                // budget to the leader balance: same move count, other replicas moved.
                let shed = ShedChoice {
                    followers: true,
                    ..shed
                };
                return plan_core_with(cluster, config, base, shed);
            }
            let full_changes = lsol.changes;
            let (below, above, sol) =
                fit_leader_budget(cluster, &topo, &new_sets, &lbands, max_changes, &mut facts)?;
            lsol = sol;
            leader_band_reached = false;
            leader_budget = Some(LeaderBudgetOutcome {
                max_changes,
                below,
                above,
                full_changes,
            });
        }
    }

    clock.lap("plan.leader-flow");
    let after = Layout {
        replicas: new_sets
            .iter()
            .zip(&lsol.leader_pos)
            .map(|(reps, &pos)| {
                let mut ids: Vec<BrokerId> = reps.iter().map(|&b| topo.ids[b]).collect();
                if pos < ids.len() {
                    let leader = ids.remove(pos);
                    ids.insert(0, leader);
                }
                ids
            })
            .collect(),
    };
    let plan = before.diff(cluster, &after);
    let rollback = plan.rollback(cluster, &before);
    let mut moves = 0;
    let mut bytes_moved = 0u64;
    let mut leader_changes = 0;
    let mut election = Vec::new();
    for ((p, old), new) in cluster
        .partitions
        .iter()
        .zip(&before.replicas)
        .zip(&after.replicas)
    {
        let added = new.iter().filter(|b| !old.contains(b)).count();
        moves += added;
        bytes_moved += added as u64 * p.size_bytes;
        if old.first() != new.first() {
            leader_changes += 1;
            election.push(p.tp.clone());
        }
    }
    if replica_band_reached && optimum_moves > bounds.combined && base.is_none() {
        explanations.extend(explain_gap(
            cluster,
            &topo,
            &config.excluded,
            &bounds,
            optimum_moves,
        ));
    }

    let rules = verify::VerifyRules {
        excluded: &config.excluded,
        max_disk_util: capacity_checked.then_some(config.max_disk_util),
        min_moves: bounds.forced_moves,
        max_moves: config.max_moves,
        max_bytes: config.max_bytes,
        max_leader_changes: config.max_leader_changes,
    };
    clock.lap("plan.diff+explain");
    let violations = verify::verify_plan(cluster, &before, &after, &plan, &rollback, &rules);
    if !violations.is_empty() {
        return Err(PlanError::Internal(format!(
            "the plan failed verification: {}",
            violations.join("; ")
        )));
    }
    clock.lap("plan.verify");
    Ok(PlanOutcome {
        before,
        after,
        plan,
        rollback,
        election,
        bounds,
        optimum_moves,
        moves,
        bytes_moved,
        leader_changes,
        replica_band_reached,
        leader_band_reached,
        explanations,
        capacity_checked,
        capacity_repair: repair,
        facts,
        budget,
        leader_budget,
        bytes_refinement,
        disk_balance,
        bytes_bound,
        topic_spread,
    })
}

fn within_budget(config: &PlanConfig, moves: usize, bytes: u64) -> bool {
    config.max_moves.is_none_or(|m| moves <= m) && config.max_bytes.is_none_or(|m| bytes <= m)
}

fn budget_text(config: &PlanConfig) -> String {
    let mut parts = Vec::new();
    if let Some(m) = config.max_moves {
        parts.push(format!("{m} moves"));
    }
    if let Some(b) = config.max_bytes {
        parts.push(format!("{b} bytes"));
    }
    parts.join(" and ")
}

/// Replicas a layout (broker indices) adds — every replica not on its broker now — and the
/// bytes they copy.
fn solution_copies(cluster: &Cluster, topo: &Topology, sets: &[Vec<usize>]) -> (usize, u64) {
    cluster
        .partitions
        .iter()
        .zip(sets)
        .fold((0, 0), |(moves, bytes), (p, set)| {
            let added = set
                .iter()
                .filter(|&&b| !p.replicas.contains(&topo.ids[b]))
                .count();
            (moves + added, bytes + added as u64 * p.size_bytes)
        })
}

/// `bands` widened by `below` under each allowed broker's lower limit and `above` over its
/// upper one.
fn widen_bands(bands: &Bands, topo: &Topology, below: usize, above: usize) -> Bands {
    Bands {
        lo: bands
            .lo
            .iter()
            .zip(&topo.allowed)
            .map(|(l, a)| if *a { l.saturating_sub(below) } else { *l })
            .collect(),
        hi: bands
            .hi
            .iter()
            .zip(&topo.allowed)
            .map(|(h, a)| if *a { h + above } else { *h })
            .collect(),
    }
}

/// The smallest total widening `s <= max_s` (split into `below + above`) for which `solve`
/// finds a layout within the budget: `solve(below, above)` returns the layout and its cost
/// (moves, leader changes), or `None` when it is over the budget. The exact flows give the
/// cheapest layout for each band and a cheaper one with every widening, so a binary search
/// over `s` holds. The best split depends on where the imbalance is (empty new brokers far
/// below, loaded ones a little above), so nine splits are tried per `s`, the cheapest kept;
/// each is monotone in `s`. `None` when even `max_s` does not fit.
fn tightest_widening<S>(
    max_s: usize,
    mut solve: impl FnMut(usize, usize) -> Result<Option<(S, usize)>, PlanError>,
) -> Result<Option<(usize, usize, S)>, PlanError> {
    let mut attempt = |s: usize| -> Result<Option<(usize, usize, S)>, PlanError> {
        let mut splits: Vec<(usize, usize)> = (0..=8).map(|k| (s * k / 8, s - s * k / 8)).collect();
        splits.dedup();
        let mut best: Option<(usize, usize, S, usize)> = None;
        for (below, above) in splits {
            if let Some((sol, cost)) = solve(below, above)? {
                if best.as_ref().is_none_or(|b| cost < b.3) {
                    best = Some((below, above, sol, cost));
                }
            }
        }
        Ok(best.map(|(below, above, sol, _)| (below, above, sol)))
    };
    let Some(mut best) = attempt(max_s)? else {
        return Ok(None);
    };
    // `lo` does not fit (0: the unconstrained optimum did not), `hi` does.
    let (mut lo, mut hi) = (0usize, max_s);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        match attempt(mid)? {
            Some(found) => {
                hi = mid;
                best = found;
            }
            None => lo = mid,
        }
    }
    Ok(Some(best))
}

/// The tightest widening of the replica `bands` whose move-minimal layout fits the budget
/// (`tightest_widening`). Fails when even no band at all (only the hard rules) does not fit.
/// `bytes` balance: the forced-moves-only layout (`free` bands), then the disk balance at
/// the configured tolerance. Under a budget (moves or bytes) the tolerance is loosened, by
/// bisection on its logarithm, to the tightest one whose plan fits — each try is a full
/// re-plan, not a cut-down one; a budget below the forced moves is refused.
fn fit_disk_balance(
    cluster: &Cluster,
    topo: &Topology,
    free: &Bands,
    base: Option<&scope::BaseLoad>,
    config: &PlanConfig,
    facts: &mut SolverFacts,
) -> Result<(Vec<Vec<usize>>, bytes::DiskBalance), PlanError> {
    let forced = replicas::solve_flow(cluster, topo, free)
        .map_err(|e| PlanError::Internal(format!("{e:?}")))?;
    facts.rounds += 1;
    facts.phases += forced.phases;
    let limits = capacity::limits(cluster, config.max_disk_util);
    let base_bytes = base.map(|b| b.bytes.as_slice());
    let run = |tolerance: f64| {
        let mut sets = forced.replicas.clone();
        let mut balance =
            bytes::balance_disk(cluster, topo, &limits, base_bytes, &mut sets, tolerance);
        balance.requested_tolerance = config.disk_tolerance;
        let (moves, bytes) = solution_copies(cluster, topo, &sets);
        (sets, balance, within_budget(config, moves, bytes))
    };
    let tolerance = config.disk_tolerance.max(0.0);
    let (sets, balance, fits) = run(tolerance);
    let (full_moves, full_bytes) = solution_copies(cluster, topo, &sets);
    let with_full = |mut b: bytes::DiskBalance| {
        b.full_moves = full_moves;
        b.full_bytes = full_bytes;
        b
    };
    if fits {
        return Ok((sets, with_full(balance)));
    }
    // A tolerance so loose that only the forced moves (and capacity) shape the plan.
    const LOOSEST: f64 = 1e6;
    let (loose_sets, loose_balance, loose_fits) = run(LOOSEST);
    if !loose_fits {
        let (moves, bytes) = solution_copies(cluster, topo, &loose_sets);
        return Err(PlanError::Infeasible(vec![Infeasible::OverBudget {
            budget: budget_text(config),
            needed: format!(
                "the hard rules (excluded brokers, rack repairs, capacity) force {moves} moves, {bytes} bytes"
            ),
        }]));
    }
    // ln(1 + tolerance) between the requested one (over) and one so loose that only the
    // forced moves remain (fits).
    let (mut over, mut fit) = ((1.0 + tolerance).ln(), (1.0 + LOOSEST).ln());
    let mut best = (loose_sets, with_full(loose_balance));
    for _ in 0..24 {
        let mid = (over + fit) / 2.0;
        let (sets, balance, fits) = run(mid.exp() - 1.0);
        if fits {
            fit = mid;
            best = (sets, with_full(balance));
        } else {
            over = mid;
        }
    }
    Ok(best)
}

/// How far a layout is from the uniform count band, as the bench scorer measures what a
/// budget leaves undone: replicas above the band on allowed brokers plus every replica on an
/// excluded one, then the replica spread over allowed brokers.
fn budget_quality(topo: &Topology, uniform: &Bands, loads: &[usize]) -> (usize, usize) {
    let mut imbalance = 0;
    let (mut most, mut least) = (0, usize::MAX);
    for (b, &load) in loads.iter().enumerate() {
        if topo.allowed[b] {
            imbalance += load.saturating_sub(uniform.hi[b]);
            most = most.max(load);
            least = least.min(load);
        } else {
            imbalance += load;
        }
    }
    (imbalance, most.saturating_sub(least.min(most)))
}

/// Per-broker bands that a budget of `k` moves reaches when spent like a greedy cut: the
/// upper limits lowered from the top (the fullest brokers first) until the replicas above
/// them add up to `k`, the lower limits raised from the bottom until the missing ones do;
/// ties go to the lower broker index. Never tighter than `bands`.
fn water_level_bands(bands: &Bands, topo: &Topology, loads: &[usize], k: usize) -> Bands {
    let nb = topo.ids.len();
    let allowed: Vec<usize> = (0..nb).filter(|&b| topo.allowed[b]).collect();
    let excess = |h: usize| -> usize {
        allowed
            .iter()
            .map(|&b| loads[b].saturating_sub(h.max(bands.hi[b])))
            .sum()
    };
    let deficit = |l: usize| -> usize {
        allowed
            .iter()
            .map(|&b| l.min(bands.lo[b]).saturating_sub(loads[b]))
            .sum()
    };
    let top = loads.iter().copied().max().unwrap_or(0);
    // The lowest level whose excess fits in k (excess falls as the level rises).
    let (mut lo_h, mut hi_h) = (0usize, top);
    while lo_h < hi_h {
        let mid = lo_h + (hi_h - lo_h) / 2;
        if excess(mid) <= k {
            hi_h = mid;
        } else {
            lo_h = mid + 1;
        }
    }
    let level_hi = lo_h;
    let mut hi: Vec<usize> = (0..nb)
        .map(|b| {
            if topo.allowed[b] {
                level_hi.max(bands.hi[b])
            } else {
                bands.hi[b]
            }
        })
        .collect();
    let mut spare = k - excess(level_hi);
    let mut tops: Vec<usize> = allowed
        .iter()
        .copied()
        .filter(|&b| hi[b] > bands.hi[b] && loads[b] >= hi[b])
        .collect();
    tops.sort_by_key(|&b| (std::cmp::Reverse(loads[b]), b));
    for b in tops {
        if spare == 0 {
            break;
        }
        hi[b] -= 1;
        spare -= 1;
    }
    // The highest level whose deficit fits in k (deficit grows with the level).
    let (mut lo_l, mut hi_l) = (0usize, top);
    while lo_l < hi_l {
        let mid = lo_l + (hi_l - lo_l).div_ceil(2);
        if deficit(mid) <= k {
            lo_l = mid;
        } else {
            hi_l = mid - 1;
        }
    }
    let level_lo = lo_l;
    let mut lo: Vec<usize> = (0..nb)
        .map(|b| {
            if topo.allowed[b] {
                level_lo.min(bands.lo[b])
            } else {
                bands.lo[b]
            }
        })
        .collect();
    let mut spare = k - deficit(level_lo);
    let mut bottoms: Vec<usize> = allowed
        .iter()
        .copied()
        .filter(|&b| lo[b] < bands.lo[b] && loads[b] <= lo[b])
        .collect();
    bottoms.sort_by_key(|&b| (loads[b], b));
    for b in bottoms {
        if spare == 0 {
            break;
        }
        lo[b] += 1;
        spare -= 1;
    }
    Bands { lo, hi }
}

/// The budget candidate from [`water_level_bands`]: the levels are set for `k` moves and
/// lowered by what the rules add (excluded brokers, rack repairs, rack-bound chains) until
/// the move-minimal layout fits — after the capacity repair that follows the budget, when
/// `limits` are given. `None` when a few rounds do not fit.
fn water_level_budget(
    cluster: &Cluster,
    topo: &Topology,
    bands: &Bands,
    max_moves: usize,
    limits: Option<&[Option<u64>]>,
    facts: &mut SolverFacts,
) -> Result<Option<(Bands, replicas::FlowSolution)>, PlanError> {
    let nb = topo.ids.len();
    let mut loads = vec![0usize; nb];
    for p in &cluster.partitions {
        for id in &p.replicas {
            if let Some(b) = topo.index_of(*id) {
                loads[b] += 1;
            }
        }
    }
    let mut k = max_moves;
    for _ in 0..8 {
        let level = water_level_bands(bands, topo, &loads, k);
        let sol = replicas::solve_flow(cluster, topo, &level)
            .map_err(|e| PlanError::Internal(format!("{e:?}")))?;
        facts.phases += sol.phases;
        facts.rounds += 1;
        let mut moves = solution_copies(cluster, topo, &sol.replicas).0;
        if let Some(limits) = limits {
            let mut trial = sol.replicas.clone();
            let after = replicas::loads(nb, &trial);
            let hi: Vec<usize> = (0..nb).map(|x| level.hi[x].max(after[x])).collect();
            capacity::repair(cluster, topo, limits, &mut trial, &hi);
            let bytes = capacity::bytes_per_broker(cluster, nb, &trial);
            if !(0..nb).all(|x| limits[x].is_none_or(|l| bytes[x] <= l)) {
                return Ok(None);
            }
            moves = solution_copies(cluster, topo, &trial).0;
        }
        if moves <= max_moves {
            return Ok(Some((level, sol)));
        }
        let over = moves - max_moves;
        if over > k {
            return Ok(None);
        }
        k -= over;
    }
    Ok(None)
}

fn fit_budget(
    cluster: &Cluster,
    topo: &Topology,
    bands: &Bands,
    config: &PlanConfig,
    facts: &mut SolverFacts,
) -> Result<(usize, usize, replicas::FlowSolution, Bands), PlanError> {
    let mut solve = |below: usize, above: usize| {
        let sol = replicas::solve_flow(cluster, topo, &widen_bands(bands, topo, below, above))
            .map_err(|e| PlanError::Internal(format!("{e:?}")))?;
        facts.phases += sol.phases;
        facts.rounds += 1;
        let (moves, bytes) = solution_copies(cluster, topo, &sol.replicas);
        Ok(within_budget(config, moves, bytes).then_some((sol, moves)))
    };
    let total = cluster.total_replicas();
    match tightest_widening(2 * total, &mut solve)? {
        Some((below, above, sol)) => {
            Ok((below, above, sol, widen_bands(bands, topo, below, above)))
        }
        None => {
            let sol = replicas::solve_flow(cluster, topo, &widen_bands(bands, topo, total, total))
                .map_err(|e| PlanError::Internal(format!("{e:?}")))?;
            let (moves, bytes) = solution_copies(cluster, topo, &sol.replicas);
            Err(PlanError::Infeasible(vec![Infeasible::OverBudget {
                budget: budget_text(config),
                needed: format!(
                    "the hard rules (excluded brokers, rack repairs) force {moves} moves, {bytes} bytes"
                ),
            }]))
        }
    }
}

/// The tightest widening of the leader bands whose change-minimal leader choice makes at
/// most `max_changes` preferred-leader changes. Fails when the replica moves alone force
/// more changes (a partition whose preferred leader leaves its replica set must change it).
fn fit_leader_budget(
    cluster: &Cluster,
    topo: &Topology,
    sets: &[Vec<usize>],
    bands: &Bands,
    max_changes: usize,
    facts: &mut SolverFacts,
) -> Result<(usize, usize, leaders::LeaderSolution), PlanError> {
    let mut solve = |below: usize, above: usize| {
        let sol =
            leaders::solve_leaders(cluster, topo, sets, &widen_bands(bands, topo, below, above))
                .map_err(|e| PlanError::Internal(e.to_string()))?;
        facts.phases += sol.phases;
        facts.rounds += 1;
        let changes = sol.changes;
        Ok((changes <= max_changes).then_some((sol, changes)))
    };
    let total = cluster.partitions.len();
    match tightest_widening(2 * total, &mut solve)? {
        Some(found) => Ok(found),
        None => {
            let forced = leaders::solve_leaders(
                cluster,
                topo,
                sets,
                &widen_bands(bands, topo, total, total),
            )
            .map_err(|e| PlanError::Internal(e.to_string()))?
            .changes;
            Err(PlanError::Infeasible(vec![Infeasible::OverBudget {
                budget: format!("{max_changes} leader changes"),
                needed: format!(
                    "the plan's replica moves take the preferred leader away from {forced} partitions (a --max-moves budget moves fewer replicas)"
                ),
            }]))
        }
    }
}

/// Pins the brokers whose load left the band at that load and gives the others the band
/// of their own average. `None` when nothing would change. With `base` (fixed load per
/// broker), the average is over whole loads and the bands returned are for the movable part.
fn tighten(
    topo: &Topology,
    bands: &Bands,
    loads: &[usize],
    base: Option<&[usize]>,
) -> Option<Bands> {
    let base_of = |b: usize| base.and_then(|v| v.get(b).copied()).unwrap_or(0);
    let nb = topo.ids.len();
    let mut lo = bands.lo.clone();
    let mut hi = bands.hi.clone();
    let mut pinned_total = 0usize;
    let mut free = Vec::new();
    let mut changed = false;
    for b in 0..nb {
        if !topo.allowed[b] {
            continue;
        }
        let outside = loads[b] < bands.lo[b] || loads[b] > bands.hi[b];
        let already_pinned = bands.lo[b] == bands.hi[b] && bands.lo[b] == loads[b];
        if outside || already_pinned {
            changed |= outside;
            lo[b] = loads[b];
            hi[b] = loads[b];
            pinned_total += loads[b];
        } else {
            free.push(b);
        }
    }
    if !changed || free.is_empty() {
        return None;
    }
    let total: usize = loads.iter().sum::<usize>() - pinned_total
        + free.iter().map(|&b| base_of(b)).sum::<usize>();
    let (flo, fhi) = (total / free.len(), total.div_ceil(free.len()));
    for &b in &free {
        lo[b] = flo.saturating_sub(base_of(b));
        hi[b] = fhi.saturating_sub(base_of(b));
    }
    Some(Bands { lo, hi })
}

/// Says why brokers end outside the uniform band: racks too small or too large for the rack
/// rule (minimum and maximum a rack can hold), otherwise the certified optimum.
fn explain_band(
    cluster: &Cluster,
    topo: &Topology,
    uniform: &Bands,
    loads: &[usize],
) -> Vec<String> {
    let mut out = Vec::new();
    let nr = topo.racks.len();
    let (rack_min, rack_max) = replicas::rack_limits(cluster, topo);
    let (lo, hi) = topo
        .allowed
        .iter()
        .position(|a| *a)
        .map(|b| (uniform.lo[b], uniform.hi[b]))
        .unwrap_or((0, 0));
    for r in 0..nr {
        let n = topo.racks[r].len();
        let name = &topo.rack_names[r];
        if rack_min[r] > hi * n {
            out.push(format!(
                "rack {name} has {n} allowed broker(s); the rack rule makes it hold at least {} replicas ({} per broker), above the band [{lo}, {hi}]",
                rack_min[r],
                rack_min[r].div_ceil(n)
            ));
        } else if rack_max[r] < lo * n {
            out.push(format!(
                "rack {name} has {n} allowed broker(s) but the rack rule lets it hold at most {} replicas ({} per broker), below the band [{lo}, {hi}]",
                rack_max[r],
                rack_max[r] / n.max(1)
            ));
        }
    }
    let outside: Vec<String> = (0..topo.ids.len())
        .filter(|&b| topo.allowed[b] && (loads[b] < lo || loads[b] > hi))
        .map(|b| format!("{}:{}", topo.ids[b], loads[b]))
        .collect();
    if out.is_empty() {
        out.push(format!(
            "the band [{lo}, {hi}] cannot be reached under the rack rule; brokers outside it (id:replicas): {}",
            outside.join(" ")
        ));
    } else {
        out.push(format!(
            "the remaining brokers are balanced among themselves; brokers outside the band (id:replicas): {}",
            outside.join(" ")
        ));
    }
    out
}

/// Says why the optimum is above LB*: the rack-aware bound counts, per rack, the larger of
/// the replicas its brokers must shed for the band and the replicas the rack rule forces out.
fn explain_gap(
    cluster: &Cluster,
    topo: &Topology,
    excluded: &BTreeSet<BrokerId>,
    bounds: &MoveBounds,
    optimum: usize,
) -> Vec<String> {
    let Some((_, hi)) = bounds.band else {
        return Vec::new();
    };
    let nr = topo.racks.len();
    let mut load = vec![0usize; topo.ids.len()];
    let mut forced_rack = vec![0usize; nr];
    let mut excluded_moves = 0usize;
    for p in &cluster.partitions {
        let cap = topo.rack_cap(p.replicas.len());
        let mut per_rack = vec![0usize; nr];
        for id in &p.replicas {
            if let Some(b) = topo.index_of(*id) {
                load[b] += 1;
                if excluded.contains(id) {
                    excluded_moves += 1;
                } else if topo.rack[b] < nr {
                    per_rack[topo.rack[b]] += 1;
                }
            }
        }
        for r in 0..nr {
            forced_rack[r] += per_rack[r].saturating_sub(cap);
        }
    }
    let mut rack_bound = excluded_moves;
    let mut detail = Vec::new();
    for r in 0..nr {
        let excess: usize = topo.racks[r]
            .iter()
            .map(|&b| load[b].saturating_sub(hi))
            .sum();
        if forced_rack[r] > excess {
            detail.push(format!(
                "rack {}: {} replicas must leave for rack spread but its brokers are only {} over the band",
                topo.rack_names[r], forced_rack[r], excess
            ));
        }
        rack_bound += excess.max(forced_rack[r]);
    }
    let rack_bound = rack_bound.max(bounds.deficit.unwrap_or(0));
    let mut out = Vec::new();
    if rack_bound > bounds.combined {
        out.push(format!(
            "rack spread and balance overlap less than LB* assumes: counting per rack the larger of the two gives a bound of {rack_bound} ({} above LB* = {})",
            rack_bound - bounds.combined,
            bounds.combined
        ));
        out.extend(detail);
    }
    if optimum > rack_bound.max(bounds.combined) {
        out.push(format!(
            "the other {} moves above that bound are forced by how the rack rule and the band interact across partitions; the flow's dual potentials certify that no layout reaches the band with fewer than {optimum} moves",
            optimum - rack_bound.max(bounds.combined)
        ));
    }
    out
}

fn capacity_precheck(
    cluster: &Cluster,
    topo: &Topology,
    limits: &[Option<u64>],
) -> Vec<Infeasible> {
    let mut out = Vec::new();
    let allowed_limits: Vec<u64> = (0..topo.ids.len())
        .filter(|&b| topo.allowed[b])
        .filter_map(|b| limits[b])
        .collect();
    // Only meaningful when every allowed broker has a known capacity.
    let all_known = (0..topo.ids.len())
        .filter(|&b| topo.allowed[b])
        .all(|b| limits[b].is_some());
    if !all_known {
        return out;
    }
    let largest = allowed_limits.iter().copied().max().unwrap_or(0);
    let have: u64 = allowed_limits.iter().sum();
    let need: u64 = cluster
        .partitions
        .iter()
        .map(|p| p.size_bytes.saturating_mul(p.replicas.len() as u64))
        .sum();
    for p in &cluster.partitions {
        if p.size_bytes > largest {
            out.push(Infeasible::PartitionTooLarge {
                tp: p.tp.clone(),
                size: p.size_bytes,
                largest_limit: largest,
            });
        }
    }
    if need > have {
        out.push(Infeasible::TotalCapacity { need, have });
    }
    out
}
