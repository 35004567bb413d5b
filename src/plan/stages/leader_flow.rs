//! Stage 7, leaders: guarantees the preferred leaders (one per partition, among its replicas)
//! in the tightest reachable leader band with the fewest leader changes, or, under a
//! leader-change budget, the tightest widening of that band within the budget (refused when
//! the replica moves alone force more changes).

use super::count_flow::tighten;
use super::move_budget::{tightest_widening, tightest_widening_bounded, widen_bands};
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
            let reached = lsol.band_violation == 0;
            let (below, above, sol) = fit_leader_budget(
                cluster,
                topo,
                new_sets,
                &lbands,
                max_changes,
                reached,
                facts,
            )?;
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
/// `reached`: the leader flow reached `bands`, so every widening holds a leader choice and
/// the fewest changes can only fall as the band widens: the bounded search
/// ([`tightest_widening_bounded`]) then gives the same answer with fewer flows.
fn fit_leader_budget(
    cluster: &Cluster,
    topo: &Topology,
    sets: &[Vec<usize>],
    bands: &Bands,
    max_changes: usize,
    reached: bool,
    facts: &mut SolverFacts,
) -> Result<(usize, usize, leaders::LeaderSolution), PlanError> {
    let mut flow = |below: usize, above: usize| {
        let sol =
            leaders::solve_leaders(cluster, topo, sets, &widen_bands(bands, topo, below, above))
                .map_err(|e| PlanError::Internal(e.to_string()))?;
        facts.phases += sol.phases;
        facts.rounds += 1;
        let changes = sol.changes;
        Ok((sol, changes))
    };
    let total = cluster.partitions.len();
    let found = if reached {
        let keepers = keepable_leaders(cluster, topo, sets);
        tightest_widening_bounded(
            2 * total,
            max_changes,
            |below, above| changes_bound(topo, bands, &keepers, total, below, above),
            &mut flow,
        )?
    } else {
        tightest_widening(2 * total, |below, above| {
            let (sol, changes) = flow(below, above)?;
            Ok((changes <= max_changes).then_some((sol, changes)))
        })?
    };
    match found {
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

/// Per broker (by index), the partitions it leads now and still holds a replica of in
/// `sets`: the leaders a choice can keep without a change.
fn keepable_leaders(cluster: &Cluster, topo: &Topology, sets: &[Vec<usize>]) -> Vec<usize> {
    let mut keepers = vec![0usize; topo.ids.len()];
    for (p, set) in cluster.partitions.iter().zip(sets) {
        if let Some(b) = p.replicas.first().and_then(|id| topo.index_of(*id)) {
            if set.contains(&b) {
                keepers[b] += 1;
            }
        }
    }
    keepers
}

/// The fewest leader changes any choice inside `bands` widened by `below`/`above` can make
/// over `total` partitions: every partition whose current leader cannot keep it (gone from
/// its replicas, or over the leader's upper limit) changes, and so does every leadership an
/// allowed broker lacks to reach its lower limit. Brokers without a band (excluded) are
/// counted as keeping all their leaders, which only weakens the bound.
fn changes_bound(
    topo: &Topology,
    bands: &Bands,
    keepers: &[usize],
    total: usize,
    below: usize,
    above: usize,
) -> usize {
    let (mut kept, mut lacking) = (0usize, 0usize);
    for (b, &k) in keepers.iter().enumerate() {
        if !topo.allowed[b] {
            kept += k;
            continue;
        }
        let lo = bands.lo[b].saturating_sub(below);
        let hi = (bands.hi[b] + above).max(lo);
        kept += k.min(hi);
        lacking += lo.saturating_sub(k);
    }
    (total - kept.min(total)).max(lacking)
}
