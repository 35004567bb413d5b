//! Stage 6 (`count+bytes`): guarantees disk use no less even than before, by swaps that keep
//! every broker's replica count (so the count band) and the rack and capacity rules, within
//! the move budget; over a bytes budget the layout is kept as it was.

use super::{swaps_within_budget, Draft, Problem};
use crate::plan::bytes;

pub(super) fn run(problem: &Problem, draft: &mut Draft) {
    let (cluster, topo, limits) = (problem.cluster, &problem.topo, &problem.limits);
    let done = swaps_within_budget(problem, draft, |sets, left| {
        bytes::refine(cluster, topo, limits, sets, left)
    });
    draft.bytes_refinement = Some(done.unwrap_or_default());
}
