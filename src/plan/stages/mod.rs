//! The planning pipeline: a run is a fixed sequence of stages over one [`Draft`] (the layout
//! being built and what the stages found so far), each stage in its own file:
//!
//! 1. [`forced`]: scope and forced moves — the allowed brokers, the hard rules' feasibility,
//!    the disk limits and the move bounds (the [`Problem`] every later stage reads);
//! 2. [`count_flow`]: the move-minimal layout in the tightest reachable count band;
//! 3. the replica goal: that band as it is, or [`move_budget`] (the tightest band whose
//!    layout fits a moves/bytes budget), or [`disk_first`] (`bytes`: disk use instead);
//! 4. [`capacity_repair`]: every broker under its disk limit;
//! 5. [`topic_spread`] (with `topic_spread`): each topic even over the brokers;
//! 6. [`disk_refine`] (`count+bytes`): disk use even inside the count band;
//! 7. [`leader_flow`]: preferred leaders balanced with the fewest changes, then, when the
//!    cluster has partition rates, [`leader_load`]: leader traffic evened out at the same
//!    leader counts;
//! 8. [`verify`]: the independent verifier accepts the plan;
//! 9. [`report`]: the figures and explanations of the outcome.
//!
//! Which optional stages run, and with which budget, is decided once, in
//! [`StagePlan::from_config`]; the stages themselves do not look at the mode.

pub(super) mod capacity_repair;
pub(super) mod count_flow;
pub(super) mod disk_first;
pub(super) mod disk_refine;
pub(super) mod forced;
pub(super) mod leader_flow;
pub(super) mod leader_load;
pub(super) mod load_balance;
pub(super) mod move_budget;
pub(super) mod report;
pub(super) mod topic_spread;
pub(super) mod verify;

use super::bounds::MoveBounds;
use super::replicas::{Bands, Topology};
use super::{
    bytes, capacity, scope, Balance, BudgetOutcome, LeaderBudgetOutcome, PlanConfig, PlanError,
    PlanOutcome, SolverFacts,
};
use crate::model::{Cluster, Layout};

/// How the replica layout is reached after the count flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ReplicaGoal {
    /// The count flow's layout as it is (count modes without a budget).
    CountBand,
    /// Count modes under `max_moves` / `max_bytes`: the band widened until the layout fits
    /// (nothing changes when the full balance already fits).
    MoveBudget,
    /// `bytes`: only the forced moves, then disk use balanced within the tolerance.
    DiskFirst,
    /// `load`: only the forced moves; the load stage then takes the leaders' place.
    LoadFirst,
}

/// The stages a run takes and their parameters, decided from the `PlanConfig` in one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct StagePlan {
    pub replica_goal: ReplicaGoal,
    /// Spread each topic over the brokers (not with `bytes`: its swaps keep counts, not the
    /// disk balance that mode is for).
    pub topic_spread: bool,
    /// `count+bytes`: even out disk use by count-preserving swaps.
    pub disk_refine: bool,
    /// Budget on preferred-leader changes for the leader stage.
    pub max_leader_changes: Option<usize>,
    /// Even out leader traffic after the leader flow (count modes; acts only with rates).
    pub leader_load: bool,
}

impl StagePlan {
    pub(super) fn from_config(config: &PlanConfig) -> StagePlan {
        let bytes_first = matches!(config.balance, Balance::Bytes | Balance::Load);
        let replica_goal = if config.balance == Balance::Load {
            ReplicaGoal::LoadFirst
        } else if bytes_first {
            ReplicaGoal::DiskFirst
        } else if config.max_moves.is_some() || config.max_bytes.is_some() {
            ReplicaGoal::MoveBudget
        } else {
            ReplicaGoal::CountBand
        };
        StagePlan {
            replica_goal,
            topic_spread: config.topic_spread && !bytes_first,
            disk_refine: config.balance == Balance::CountBytes,
            max_leader_changes: config.max_leader_changes,
            leader_load: config.level_leader_traffic,
        }
    }
}

/// Which replicas a broker sheds when the flow leaves the choice free (the move count is the
/// same either way): by default sizes that even out disk use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct ShedChoice {
    /// Followers before preferred leaders: tried when the plan's leader changes are over a
    /// leader budget (each moved leader replica forces a change).
    pub followers: bool,
    /// The smallest first: tried when the full balance is over a bytes budget.
    pub small: bool,
    /// Under a move budget alone, the greedy-cut candidate searched (with more rounds)
    /// until it fits after the capacity repair, and taken when it does: tried when the
    /// budget stage's layout needs more moves than the budget once the capacity repair has
    /// run, so such a budget is refused only when that candidate does not fit either.
    pub fit_after_capacity: bool,
}

/// What is fixed for a whole run: the input, the allowed brokers, the disk limits and the
/// bounds the plan is measured against (set by the [`forced`] stage).
pub(super) struct Problem<'a> {
    pub cluster: &'a Cluster,
    pub config: &'a PlanConfig,
    /// With `Some`, the cluster is the movable part of a larger one and this is the load the
    /// fixed partitions put on each broker.
    pub base: Option<&'a scope::BaseLoad>,
    pub shed: ShedChoice,
    pub topo: Topology,
    pub before: Layout,
    pub bounds: MoveBounds,
    pub limits: Vec<Option<u64>>,
    /// Some allowed broker has a known disk limit.
    pub capacity_checked: bool,
}

/// The layout being built (replica sets as broker indices) and what the stages found.
pub(super) struct Draft {
    /// The uniform count band (the goal) and the band the layout is planned in.
    pub uniform: Bands,
    pub bands: Bands,
    pub sets: Vec<Vec<usize>>,
    /// Replicas per broker of `sets` as the count stages left them (the later swaps keep
    /// every broker's count).
    pub loads: Vec<usize>,
    /// Moves of the exact flow optimum (before any budget or capacity repair).
    pub optimum_moves: usize,
    pub replica_band_reached: bool,
    pub facts: SolverFacts,
    pub explanations: Vec<String>,
    pub budget: Option<BudgetOutcome>,
    pub disk_balance: Option<bytes::DiskBalance>,
    pub capacity_repair: capacity::Repair,
    pub topic_spread: Option<super::topic_spread::TopicSpreadRefinement>,
    pub bytes_refinement: Option<bytes::BytesRefinement>,
    /// Position of the preferred leader in each replica set (set by the leader stage).
    pub leader_pos: Vec<usize>,
    pub leader_band_reached: bool,
    pub leader_budget: Option<LeaderBudgetOutcome>,
    /// Set by the load stage (`load`).
    pub load_balance: Option<super::load::LoadBalanceFacts>,
}

/// Why a stage ended the run early.
pub(super) enum Halt {
    /// No plan (or a bug).
    Failed(PlanError),
    /// Start over with another shed choice: the same move counts, other replicas moved.
    Retry(ShedChoice),
}

impl From<PlanError> for Halt {
    fn from(e: PlanError) -> Halt {
        Halt::Failed(e)
    }
}

/// Runs the pipeline over every partition of `cluster`. With `base`, the cluster is the
/// movable part of a larger one and `base` holds the load the fixed partitions put on each
/// broker.
pub(super) fn run(
    cluster: &Cluster,
    config: &PlanConfig,
    base: Option<&scope::BaseLoad>,
) -> Result<PlanOutcome, PlanError> {
    run_from(cluster, config, base, ShedChoice::default())
}

/// [`run`] starting from the shed choice `shed`, starting over when a stage asks for another.
fn run_from(
    cluster: &Cluster,
    config: &PlanConfig,
    base: Option<&scope::BaseLoad>,
    mut shed: ShedChoice,
) -> Result<PlanOutcome, PlanError> {
    loop {
        match run_once(cluster, config, base, shed) {
            Ok(outcome) => return Ok(outcome),
            Err(Halt::Failed(e)) => return Err(e),
            Err(Halt::Retry(next)) => shed = next,
        }
    }
}

fn run_once(
    cluster: &Cluster,
    config: &PlanConfig,
    base: Option<&scope::BaseLoad>,
    shed: ShedChoice,
) -> Result<PlanOutcome, Halt> {
    // One lap per stage on stderr when KAFKA_REPLAN_TIMINGS is set (scripts/scale-report.py).
    let mut clock = super::timings::StageClock::start();
    let stages = StagePlan::from_config(config);
    let problem = forced::run(cluster, config, base, shed)?;
    clock.lap("plan.forced");
    let mut draft = count_flow::run(&problem)?;
    clock.lap("plan.count-flow");
    match stages.replica_goal {
        ReplicaGoal::CountBand => count_flow::explain(&problem, &mut draft),
        ReplicaGoal::MoveBudget => {
            count_flow::explain(&problem, &mut draft);
            move_budget::run(&problem, &mut draft)?;
        }
        ReplicaGoal::DiskFirst => disk_first::run(&problem, &mut draft)?,
        ReplicaGoal::LoadFirst => load_balance::forced_only(&problem, &mut draft)?,
    }
    clock.lap("plan.explain+budget/disk-first");
    capacity_repair::run(&problem, &mut draft)?;
    clock.lap("plan.capacity-repair");
    if stages.topic_spread {
        topic_spread::run(&problem, &mut draft);
        clock.lap("plan.topic-spread");
    }
    if stages.disk_refine {
        disk_refine::run(&problem, &mut draft);
        clock.lap("plan.disk-refine");
    }
    if stages.replica_goal == ReplicaGoal::LoadFirst {
        load_balance::run(&problem, &mut draft)?;
        clock.lap("plan.load-balance");
    } else {
        leader_flow::run(&problem, &mut draft, stages.max_leader_changes)?;
        clock.lap("plan.leader-flow");
        if stages.leader_load {
            leader_load::run(&problem, &mut draft, stages.max_leader_changes);
            clock.lap("plan.leader-load");
        }
    }
    let checked = verify::run(&problem, &draft)?;
    clock.lap("plan.verify");
    let outcome = report::run(problem, draft, checked);
    clock.lap("plan.report-facts");
    Ok(outcome)
}

/// A replica layout found outside the pipeline (the MILP's proven optimum, `plan --exact`)
/// through the stages every plan ends with: preferred leaders balanced with the fewest
/// changes (and leader traffic levelled), the independent verifier and the report. `sets`:
/// broker indices per partition, replicas that stay in their current positions. The count
/// flow runs too, for the bands and the count optimum the report measures the layout by.
pub(super) fn run_on_layout(
    cluster: &Cluster,
    config: &PlanConfig,
    sets: &[Vec<usize>],
    explanation: &str,
) -> Result<PlanOutcome, PlanError> {
    let mut shed = ShedChoice::default();
    loop {
        match layout_tail(cluster, config, sets, explanation, shed) {
            Ok(outcome) => return Ok(outcome),
            Err(Halt::Failed(e)) => return Err(e),
            // The leader stage asks once for followers-first shedding; the layout is given,
            // so the second lap goes straight to the leader budget.
            Err(Halt::Retry(next)) if next != shed => shed = next,
            Err(Halt::Retry(_)) => {
                return Err(PlanError::Internal(
                    "the leader stage asked twice for the same shed choice".to_string(),
                ))
            }
        }
    }
}

fn layout_tail(
    cluster: &Cluster,
    config: &PlanConfig,
    sets: &[Vec<usize>],
    explanation: &str,
    shed: ShedChoice,
) -> Result<PlanOutcome, Halt> {
    let problem = forced::run(cluster, config, None, shed)?;
    let mut draft = count_flow::run(&problem)?;
    count_flow::explain(&problem, &mut draft);
    let nb = problem.topo.ids.len();
    draft.sets = sets.to_vec();
    draft.loads = super::replicas::loads(nb, &draft.sets);
    let inside = |b: usize| {
        !problem.topo.allowed[b]
            || (draft.uniform.lo[b]..=draft.uniform.hi[b]).contains(&draft.loads[b])
    };
    draft.replica_band_reached &= (0..nb).all(inside);
    draft.explanations.push(explanation.to_string());
    leader_flow::run(&problem, &mut draft, config.max_leader_changes)?;
    leader_load::run(&problem, &mut draft, config.max_leader_changes);
    let checked = verify::run(&problem, &draft)?;
    Ok(report::run(problem, draft, checked))
}

/// Runs count-preserving `swaps` on the draft's layout with what is left of the move budget.
/// The swaps follow the move budget but not a bytes budget: when their layout is over it,
/// the layout they started from is put back and `None` returned.
fn swaps_within_budget<T>(
    problem: &Problem,
    draft: &mut Draft,
    swaps: impl FnOnce(&mut Vec<Vec<usize>>, Option<usize>) -> T,
) -> Option<T> {
    let (cluster, config, topo) = (problem.cluster, problem.config, &problem.topo);
    let left = config
        .max_moves
        .map(|m| m.saturating_sub(solution_copies(cluster, topo, &draft.sets).0));
    let kept = draft.sets.clone();
    let done = swaps(&mut draft.sets, left);
    let (moves, bytes) = solution_copies(cluster, topo, &draft.sets);
    if within_budget(config, moves, bytes) {
        Some(done)
    } else {
        draft.sets = kept;
        None
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_mode_takes_only_the_fixed_stages() {
        let stages = StagePlan::from_config(&PlanConfig::default());
        assert_eq!(
            stages,
            StagePlan {
                replica_goal: ReplicaGoal::CountBand,
                topic_spread: false,
                disk_refine: false,
                max_leader_changes: None,
                leader_load: true,
            }
        );
    }

    #[test]
    fn budgets_choose_the_budget_stage_in_count_modes_only() {
        for balance in [Balance::Count, Balance::CountBytes] {
            let config = PlanConfig {
                balance,
                max_bytes: Some(10),
                ..PlanConfig::default()
            };
            assert_eq!(
                StagePlan::from_config(&config).replica_goal,
                ReplicaGoal::MoveBudget
            );
        }
        let bytes = PlanConfig {
            balance: Balance::Bytes,
            max_moves: Some(10),
            ..PlanConfig::default()
        };
        assert_eq!(
            StagePlan::from_config(&bytes).replica_goal,
            ReplicaGoal::DiskFirst
        );
    }

    #[test]
    fn the_bytes_mode_never_spreads_topics() {
        let spread = |balance| {
            StagePlan::from_config(&PlanConfig {
                balance,
                topic_spread: true,
                ..PlanConfig::default()
            })
        };
        assert!(spread(Balance::Count).topic_spread);
        let count_bytes = spread(Balance::CountBytes);
        assert!(count_bytes.topic_spread && count_bytes.disk_refine);
        let bytes = spread(Balance::Bytes);
        assert!(!bytes.topic_spread && !bytes.disk_refine);
    }

    #[test]
    fn the_leader_budget_reaches_the_leader_stage() {
        let config = PlanConfig {
            max_leader_changes: Some(3),
            ..PlanConfig::default()
        };
        assert_eq!(StagePlan::from_config(&config).max_leader_changes, Some(3));
    }
}
