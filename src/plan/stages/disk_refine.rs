//! Stage 6 (`count+bytes`): guarantees disk use no less even than before, by swaps that keep
//! every broker's replica count (so the count band) and the rack and capacity rules, within
//! the move budget; over a bytes budget the layout is kept as it was.

use super::{solution_copies, within_budget, Draft, Problem};
use crate::plan::bytes;

pub(super) fn run(problem: &Problem, draft: &mut Draft) {
    let (cluster, config, topo, limits) = (
        problem.cluster,
        problem.config,
        &problem.topo,
        &problem.limits,
    );
    let new_sets = &mut draft.sets;
    let left = config
        .max_moves
        .map(|m| m.saturating_sub(solution_copies(cluster, topo, new_sets).0));
    let kept = new_sets.clone();
    let done = bytes::refine(cluster, topo, limits, new_sets, left);
    // The swaps follow the move budget but not a bytes budget: over it, keep the
    // layout they started from.
    let (moves, bytes) = solution_copies(cluster, topo, new_sets);
    draft.bytes_refinement = Some(if within_budget(config, moves, bytes) {
        done
    } else {
        *new_sets = kept;
        bytes::BytesRefinement::default()
    });
}
