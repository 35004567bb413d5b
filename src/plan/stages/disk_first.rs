//! Stage 3 (`bytes`): guarantees every broker within the disk tolerance of its share of the
//! bytes where the rules allow, starting from the layout with only the moves the hard rules
//! force (replica counts are not balanced), with the fewest bytes copied; under a budget the
//! tolerance is loosened to the tightest that fits.

use super::move_budget::widen_bands;
use super::{budget_text, solution_copies, within_budget, Draft, Halt, Problem};
use crate::model::Cluster;
use crate::plan::replicas::{self, Bands, Topology};
use crate::plan::{bytes, capacity, scope, Infeasible, PlanConfig, PlanError, SolverFacts};

pub(super) fn run(problem: &Problem, draft: &mut Draft) -> Result<(), Halt> {
    let (cluster, config, topo, base) =
        (problem.cluster, problem.config, &problem.topo, problem.base);
    let nb = topo.ids.len();
    // Counts are not the goal: start from the layout with only the moves the hard rules
    // force (no band pressure at all) and balance bytes from there.
    let total = cluster.total_replicas();
    draft.bands = widen_bands(&draft.bands, topo, total, total);
    let (sets, balance) =
        fit_disk_balance(cluster, topo, &draft.bands, base, config, &mut draft.facts)?;
    draft.sets = sets;
    draft.disk_balance = Some(balance);
    draft.loads = replicas::loads(nb, &draft.sets);
    draft.replica_band_reached = false;
    Ok(())
}

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
