//! Stage 7, leaders: guarantees the preferred leaders (one per partition, among its replicas)
//! in the tightest reachable leader band with the fewest leader changes, or, under a
//! leader-change budget, the tightest widening of that band within the budget (refused when
//! the replica moves alone force more changes).

use super::count_flow::tighten;
use super::move_budget::{tightest_widening, widen_bands};
use super::{Draft, Halt, Problem, ShedChoice};
use crate::model::Cluster;
use crate::plan::replicas::{Bands, Topology};
use crate::plan::{leaders, scope, Infeasible, LeaderBudgetOutcome, PlanError, SolverFacts};

pub(super) fn run(
    problem: &Problem,
    draft: &mut Draft,
    max_leader_changes: Option<usize>,
) -> Result<(), Halt> {
    let (cluster, topo, base, shed) = (problem.cluster, &problem.topo, problem.base, problem.shed);
    let nb = topo.ids.len();
    let (new_sets, facts) = (&draft.sets, &mut draft.facts);
    let mut lbands = match base {
        None => leaders::uniform_leader_bands(cluster.partitions.len(), topo),
        Some(b) => scope::base_aware_leader_bands(topo, b, cluster.partitions.len()),
    };
    let mut lsol;
    let mut lrounds = 0;
    loop {
        lrounds += 1;
        lsol = leaders::solve_leaders(cluster, topo, new_sets, &lbands)
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
        match tighten(topo, &lbands, &lload, base.map(|b| b.leaders.as_slice())) {
            Some(next) => lbands = next,
            None => break,
        }
    }
    let mut leader_band_reached = lrounds == 1 && lsol.band_violation == 0;
    let mut leader_budget = None;
    if let Some(max_changes) = max_leader_changes {
        if lsol.changes > max_changes {
            if !shed.followers {
                // Replica moves that take fewer preferred leaders along leave more of the
                // budget to the leader balance: same move count, other replicas moved.
                return Err(Halt::Retry(ShedChoice {
                    followers: true,
                    ..shed
                }));
            }
            let full_changes = lsol.changes;
            let (below, above, sol) =
                fit_leader_budget(cluster, topo, new_sets, &lbands, max_changes, facts)?;
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
    draft.leader_pos = lsol.leader_pos;
    draft.leader_band_reached = leader_band_reached;
    draft.leader_budget = leader_budget;
    Ok(())
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
