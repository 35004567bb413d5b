//! Stage 4, capacity: guarantees every broker with a known capacity at or under its limit
//! (capacity × max disk util), by count-keeping repairs and, where the count band leaves no
//! room, relocations that give the band up; otherwise names each broker over its limit (or
//! the budget, when it is the budget that leaves no room).

use super::{budget_text, solution_copies, within_budget, Draft, Halt, Problem, ShedChoice};
use crate::plan::replicas;
use crate::plan::{bytes, capacity, Infeasible, PlanConfig, PlanError};

/// A tolerance so loose that a broker's ceiling is its capacity limit alone.
const CAPACITY_ONLY_TOLERANCE: f64 = 1e6;

pub(super) fn run(problem: &Problem, draft: &mut Draft) -> Result<(), Halt> {
    let (cluster, config, topo, base) =
        (problem.cluster, problem.config, &problem.topo, problem.base);
    let limits = &problem.limits;
    let nb = topo.ids.len();
    let (bands, new_sets, final_loads) = (&draft.bands, &mut draft.sets, &mut draft.loads);
    // Capacity: repair, then fail with the broker and the shortfall if still over.
    if problem.capacity_checked {
        let hi: Vec<usize> = (0..nb).map(|b| bands.hi[b].max(final_loads[b])).collect();
        let mut repair = best_repair(problem, new_sets, &hi);
        let over_limit = |sets: &[Vec<usize>]| {
            let bytes = capacity::bytes_per_broker(cluster, nb, sets);
            (0..nb).any(|b| limits[b].is_some_and(|l| bytes[b] > l))
        };
        if over_limit(new_sets) {
            // The repair keeps the count band; when it cannot, relocate replicas off the
            // brokers over their limit onto any with room (the bytes mode's relocation with
            // the capacity limits as ceilings) before declaring the layout impossible.
            let full_limits = capacity::limits(cluster, config.max_disk_util);
            let mut trial = new_sets.clone();
            let relocated = bytes::balance_disk(
                cluster,
                topo,
                &full_limits,
                base.map(|b| b.bytes.as_slice()),
                &mut trial,
                CAPACITY_ONLY_TOLERANCE,
                // The count modes' fallback keeps its plans as they were.
                false,
            );
            if !over_limit(&trial) {
                *new_sets = trial;
                repair.redirected += relocated.relocations;
                repair.swaps += relocated.swaps;
                draft.explanations.push(
                    "the replica-count band was given up where disk capacity left no room for it"
                        .to_string(),
                );
            }
        }
        draft.capacity_repair = repair;
        // Counts may have changed: the band figures describe the layout as it ends.
        *final_loads = replicas::loads(nb, new_sets);
        let bytes = capacity::bytes_per_broker(cluster, nb, new_sets);
        let over: Vec<Infeasible> = (0..nb)
            .filter_map(|b| match limits[b] {
                Some(l) if bytes[b] > l => Some(Infeasible::BrokerOverCapacity {
                    broker: topo.ids[b],
                    bytes: bytes[b],
                    limit: l,
                }),
                _ => None,
            })
            .collect();
        if !over.is_empty() {
            retry_fitting_after_capacity(problem)?;
            if config.max_moves.is_some() || config.max_bytes.is_some() {
                // Under a budget the layout the budget allowed may be what leaves no room:
                // when the unbudgeted plan keeps every broker under its limit, the budget is
                // the problem, and saying so is what the operator can act on. The unbudgeted
                // plan starts from the default shed choice: the choices made to shed for the
                // budget (smallest first, ...) are not the full plan's and can fail where it
                // does not.
                let unbudgeted = PlanConfig {
                    max_moves: None,
                    max_bytes: None,
                    ..config.clone()
                };
                if let Ok(full) = super::run(cluster, &unbudgeted, base) {
                    return Err(Halt::Failed(PlanError::Infeasible(vec![
                        Infeasible::OverBudget {
                            budget: budget_text(config),
                            needed: format!(
                                "keeping every broker under its capacity takes more than the budget allows (the full plan: {} moves, {} bytes)",
                                full.moves, full.bytes_moved
                            ),
                        },
                    ])));
                }
            }
            return Err(Halt::Failed(PlanError::Infeasible(over)));
        }
        let (moved, bytes) = solution_copies(cluster, topo, new_sets);
        if !within_budget(config, moved, bytes) {
            retry_fitting_after_capacity(problem)?;
            return Err(Halt::Failed(PlanError::Infeasible(vec![
                Infeasible::OverBudget {
                    budget: budget_text(config),
                    needed: format!(
                        "keeping every broker under its capacity needs {moved} moves, {bytes} bytes"
                    ),
                },
            ])));
        }
    }

    if draft.replica_band_reached
        && base.is_none()
        && (0..nb).any(|b| {
            topo.allowed[b]
                && (final_loads[b] < draft.uniform.lo[b] || final_loads[b] > draft.uniform.hi[b])
        })
    {
        draft.replica_band_reached = false;
    }
    Ok(())
}

/// The capacity repair with the move-neutral exchanges first, or the plain one when that
/// leaves a broker over its limit or is not strictly better (fewer moves, then fewer
/// bytes): the default plan never gets worse than the plain repair made it.
/// Under a move budget alone, a layout the capacity repair takes over the budget (or cannot
/// fit) asks once for the run again with the budget candidate that fits after the repair
/// ([`ShedChoice::fit_after_capacity`]); the refusal stands only when that fails too.
/// Plans that fit the first time are not touched.
fn retry_fitting_after_capacity(problem: &Problem) -> Result<(), Halt> {
    let config = problem.config;
    if config.max_moves.is_some() && config.max_bytes.is_none() && !problem.shed.fit_after_capacity
    {
        return Err(Halt::Retry(ShedChoice {
            fit_after_capacity: true,
            ..problem.shed
        }));
    }
    Ok(())
}

fn best_repair(problem: &Problem, sets: &mut [Vec<usize>], hi: &[usize]) -> capacity::Repair {
    let (cluster, topo, limits) = (problem.cluster, &problem.topo, &problem.limits);
    let nb = topo.ids.len();
    let fits = |sets: &[Vec<usize>]| {
        let bytes = capacity::bytes_per_broker(cluster, nb, sets);
        (0..nb).all(|b| limits[b].is_none_or(|l| bytes[b] <= l))
    };
    // Both repairs only act on brokers over their limit: with none, they would return the
    // layout unchanged, and copying it twice costs seconds at millions of partitions.
    if fits(sets) {
        return capacity::Repair::default();
    }
    let mut plain = sets.to_vec();
    let plain_repair = capacity::repair(cluster, topo, limits, &mut plain, hi);
    let mut exchanged = sets.to_vec();
    let exchanged_repair =
        capacity::repair_with_exchanges(cluster, topo, limits, &mut exchanged, hi);
    let cost = |s: &[Vec<usize>]| solution_copies(cluster, topo, s);
    let better = fits(&exchanged) && (!fits(&plain) || cost(&exchanged) < cost(&plain));
    if better {
        sets.clone_from_slice(&exchanged);
        exchanged_repair
    } else {
        sets.clone_from_slice(&plain);
        plain_repair
    }
}
