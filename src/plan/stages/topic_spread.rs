//! Stage 5 (with `topic_spread`): guarantees each topic's replicas no less even over the
//! allowed brokers than before, by swaps that keep every broker's replica count and the rack
//! and capacity rules, within the move budget; over a bytes budget the layout is kept as it
//! was. Topic spread ranks above bytes, so it runs before the `count+bytes` refinement.

use super::{swaps_within_budget, Draft, Problem};
use crate::plan::topic_spread;

pub(super) fn run(problem: &Problem, draft: &mut Draft) {
    let (cluster, topo, limits) = (problem.cluster, &problem.topo, &problem.limits);
    let mut spread_before = 0;
    let done = swaps_within_budget(problem, draft, |sets, left| {
        let done = topic_spread::spread_topics(cluster, topo, limits, sets, left);
        spread_before = done.spread_before;
        done
    });
    draft.topic_spread = Some(done.unwrap_or(topic_spread::TopicSpreadRefinement {
        swaps: 0,
        move_delta: 0,
        spread_before,
        spread_after: spread_before,
    }));
}
