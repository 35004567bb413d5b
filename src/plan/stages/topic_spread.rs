//! Stage 5 (with `topic_spread`): guarantees each topic's replicas no less even over the
//! allowed brokers than before, by swaps that keep every broker's replica count and the rack
//! and capacity rules, within the move budget; over a bytes budget the layout is kept as it
//! was. Topic spread ranks above bytes, so it runs before the `count+bytes` refinement.

use super::{solution_copies, within_budget, Draft, Problem};
use crate::plan::topic_spread;

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
    let done = topic_spread::spread_topics(cluster, topo, limits, new_sets, left);
    // The swaps follow the move budget but not a bytes budget: over it, keep the
    // layout they started from.
    let (moves, bytes) = solution_copies(cluster, topo, new_sets);
    draft.topic_spread = Some(if within_budget(config, moves, bytes) {
        done
    } else {
        *new_sets = kept;
        topic_spread::TopicSpreadRefinement {
            swaps: 0,
            move_delta: 0,
            spread_before: done.spread_before,
            spread_after: done.spread_before,
        }
    });
}
