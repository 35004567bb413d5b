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
/// bisection, to (within 1 % of) the tightest one whose plan fits; a budget below the forced
/// moves is refused. Every try is tighter than the loosest one known to fit, so it starts
/// from that one's layout (warm start): its relocations are what the tighter thresholds
/// need on top, and a try costs what it adds instead of a full re-plan.
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
    let run_from = |start: &[Vec<usize>], tolerance: f64| {
        let mut sets = start.to_vec();
        let mut balance = bytes::balance_disk(
            cluster, topo, &limits, base_bytes, &mut sets, tolerance, true,
        );
        balance.requested_tolerance = config.disk_tolerance;
        let (moves, bytes) = solution_copies(cluster, topo, &sets);
        (sets, balance, within_budget(config, moves, bytes))
    };
    let run = |tolerance: f64| run_from(&forced.replicas, tolerance);
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
    // Bisection on ln(ln(1 + tolerance)) between the requested tolerance (over) and one so
    // loose that only the forced moves remain (fits): the tolerances that matter span
    // orders of magnitude (0.5 % to 10^6), and a geometric step reaches 1 % of the
    // tightest fitting one in about a dozen tries.
    let level = |t: f64| (1.0 + t).ln().max(1e-12).ln();
    let tolerance_at = |l: f64| l.exp().exp() - 1.0;
    let (mut over, mut fit) = (level(tolerance), level(LOOSEST));
    let mut best = (loose_sets, with_full(loose_balance));
    while fit - over > 0.01 {
        let mid = (over + fit) / 2.0;
        let (sets, mut balance, fits) = run_from(&best.0, tolerance_at(mid));
        if fits {
            // The layout it started from took these steps already.
            balance.relocations += best.1.relocations;
            balance.swaps += best.1.swaps;
            balance.undone += best.1.undone;
            fit = mid;
            best = (sets, with_full(balance));
        } else {
            over = mid;
        }
    }
    Ok(best)
}
