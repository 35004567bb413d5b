//! Stage 9, report facts: guarantees the outcome's figures are those of the verified plan
//! (moves, bytes copied, leader changes and the partitions to elect, counted from the two
//! layouts), with the bound on the bytes any plan reaching the same balance must copy and
//! the explanation of any moves above LB*.

use super::count_flow::explain_gap;
use super::verify::Checked;
use super::{Draft, Problem};
use crate::model::{Cluster, Layout, TopicPartition};
use crate::plan::{bounds, capacity, PlanOutcome};

/// What a change from `before` to `after` costs, as the report states it.
pub(in crate::plan) struct Figures {
    pub moves: usize,
    pub bytes_moved: u64,
    pub leader_changes: usize,
    /// Partitions whose preferred leader changes.
    pub election: Vec<TopicPartition>,
}

pub(in crate::plan) fn figures(cluster: &Cluster, before: &Layout, after: &Layout) -> Figures {
    let mut moves = 0;
    let mut bytes_moved = 0u64;
    let mut leader_changes = 0;
    let mut election = Vec::new();
    for ((p, old), new) in cluster
        .partitions
        .iter()
        .zip(&before.replicas)
        .zip(&after.replicas)
    {
        let added = new.iter().filter(|b| !old.contains(b)).count();
        moves += added;
        bytes_moved += added as u64 * p.size_bytes;
        if old.first() != new.first() {
            leader_changes += 1;
            election.push(p.tp.clone());
        }
    }
    Figures {
        moves,
        bytes_moved,
        leader_changes,
        election,
    }
}

pub(super) fn run(problem: Problem, mut draft: Draft, checked: Checked) -> PlanOutcome {
    let (cluster, config, topo, base) =
        (problem.cluster, problem.config, &problem.topo, problem.base);
    let nb = topo.ids.len();
    let Figures {
        moves,
        bytes_moved,
        leader_changes,
        election,
    } = figures(cluster, &problem.before, &checked.after);
    let bounds = problem.bounds;
    let optimum_moves = draft.optimum_moves;
    if draft.replica_band_reached && optimum_moves > bounds.combined && base.is_none() {
        draft.explanations.extend(explain_gap(
            cluster,
            topo,
            &config.excluded,
            &bounds,
            optimum_moves,
        ));
    }
    let (new_sets, bands, final_loads) = (&draft.sets, &draft.bands, &draft.loads);
    let disk_balance = &draft.disk_balance;
    let bytes_bound = match base {
        Some(_) => None,
        // `load`: its bounds are on traffic (`load_balance`), not on a count band.
        None if draft.load_balance.is_some() => None,
        None if draft.disk_balance.is_some() => {
            // The ceilings this plan keeps (its own load where it could not).
            let after_bytes = capacity::bytes_per_broker(cluster, nb, new_sets);
            let ceilings: Vec<u64> = disk_balance
                .as_ref()
                .map(|d| {
                    (0..nb)
                        .map(|b| {
                            d.thresholds
                                .get(b)
                                .copied()
                                .unwrap_or(0)
                                .max(after_bytes[b])
                        })
                        .collect()
                })
                .unwrap_or(after_bytes);
            let tolerance = disk_balance.as_ref().map_or(0.0, |d| d.tolerance);
            Some(bounds::BytesBound {
                bytes: bounds::bytes_bound_for_ceilings(cluster, topo, &ceilings),
                basis: format!(
                    "any rack-safe plan leaving no broker above this plan's ceiling for it (its share + {:.2} %, + {:.3} % where the rack rule forces the share)",
                    tolerance * 100.0,
                    tolerance * 50.0
                ),
            })
        }
        None => {
            // The band this plan's counts are in (its own counts where it is outside).
            let lo: Vec<usize> = (0..nb).map(|b| bands.lo[b].min(final_loads[b])).collect();
            let hi: Vec<usize> = (0..nb).map(|b| bands.hi[b].max(final_loads[b])).collect();
            Some(bounds::BytesBound {
                bytes: bounds::bytes_bound_for_band(cluster, topo, &lo, &hi),
                basis: "any plan putting every broker's replica count in this plan's band"
                    .to_string(),
            })
        }
    };
    PlanOutcome {
        before: problem.before,
        after: checked.after,
        plan: checked.plan,
        rollback: checked.rollback,
        election,
        bounds,
        optimum_moves,
        moves,
        bytes_moved,
        leader_changes,
        replica_band_reached: draft.replica_band_reached,
        leader_band_reached: draft.leader_band_reached,
        explanations: draft.explanations,
        capacity_checked: problem.capacity_checked,
        capacity_repair: draft.capacity_repair,
        facts: draft.facts,
        budget: draft.budget,
        leader_budget: draft.leader_budget,
        bytes_refinement: draft.bytes_refinement,
        disk_balance: draft.disk_balance,
        bytes_bound,
        topic_spread: draft.topic_spread,
        log_dirs: None,
        load_balance: draft.load_balance,
        network: None,
    }
}
