//! Stage 3 (`bytes`): guarantees every broker within the disk tolerance of its share of the
//! bytes where the rules allow, starting from the layout with only the moves the hard rules
//! force (replica counts are not balanced), with the fewest bytes copied; under a budget the
//! tolerance is loosened to the tightest that fits.

use super::move_budget::widen_bands;
use super::{budget_text, solution_copies, within_budget, Draft, Halt, Problem};
use crate::model::Cluster;
use crate::plan::exact::lp;
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

/// The largest grouped bytes LP solved to aim the disk balance (groups × allowed brokers):
/// the size whose LP the pure-Rust solver finishes well within a second on these models.
const GUIDE_MAX_VARIABLES: usize = 12_000;
/// Time limit of that LP, seconds (models at the cap take a fraction of it).
const GUIDE_TIME_LIMIT_SECS: f64 = 10.0;

/// Starts for the disk balance from the bytes LP's optimum under the balance's thresholds,
/// when that LP is small enough to solve: the forced-moves layout relocated with each
/// threshold aimed at the LP's loads ([`bytes::lp_guided_start`]), and the LP rounded
/// ([`bytes::lp_rounded_start`]), each with the relocations it made.
fn lp_starts(
    cluster: &Cluster,
    topo: &Topology,
    limits: &[Option<u64>],
    forced: &[Vec<usize>],
    tolerance: f64,
) -> Vec<(Vec<Vec<usize>>, usize)> {
    let (_, _, thr) = bytes::disk_thresholds(cluster, topo, limits, None, tolerance);
    let ceilings: Vec<Option<u64>> = (0..topo.ids.len())
        .map(|b| topo.allowed[b].then_some(thr[b]))
        .collect();
    let Some(optimum) = lp::bytes_grouped_optimum(
        cluster,
        topo,
        &ceilings,
        GUIDE_TIME_LIMIT_SECS,
        GUIDE_MAX_VARIABLES,
    ) else {
        return Vec::new();
    };
    let mut aimed = forced.to_vec();
    let aimed_moves = bytes::lp_guided_start(cluster, topo, &thr, &mut aimed, &optimum.loads);
    let mut rounded = forced.to_vec();
    let rounded_moves = bytes::lp_rounded_start(cluster, topo, &thr, &mut rounded, &optimum);
    vec![(aimed, aimed_moves), (rounded, rounded_moves)]
}

/// Whether the balance `(sets, balance)` beats `best` (same thresholds: same tolerance): no
/// more brokers over their threshold, no higher peak against them, and fewer bytes copied.
fn copies_less(
    cluster: &Cluster,
    topo: &Topology,
    (g_sets, g_balance): (&[Vec<usize>], &bytes::DiskBalance),
    (p_sets, p_balance): (&[Vec<usize>], &bytes::DiskBalance),
) -> bool {
    let peak = |sets: &[Vec<usize>], balance: &bytes::DiskBalance| {
        let loads = capacity::bytes_per_broker(cluster, topo.ids.len(), sets);
        (0..topo.ids.len())
            .filter(|&b| topo.allowed[b])
            .map(|b| loads[b] as f64 / balance.thresholds[b].max(1) as f64)
            .fold(0.0f64, f64::max)
    };
    g_balance.over_threshold.len() <= p_balance.over_threshold.len()
        && peak(g_sets, g_balance) <= peak(p_sets, p_balance).max(1.0)
        && solution_copies(cluster, topo, g_sets).1 < solution_copies(cluster, topo, p_sets).1
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
    let mut best = (sets, balance, fits);
    // The grouped LP has no rows for the bytes of partitions outside the plan's scope.
    if base_bytes.is_none() {
        for (start, relocations) in lp_starts(cluster, topo, &limits, &forced.replicas, tolerance) {
            let (sets, mut balance, fits) = run_from(&start, tolerance);
            balance.relocations += relocations;
            if copies_less(cluster, topo, (&sets, &balance), (&best.0, &best.1)) {
                best = (sets, balance, fits);
            }
        }
    }
    let (sets, balance, fits) = best;
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
