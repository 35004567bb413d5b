//! `--balance load` (replacing stage 3's replica goal and stage 7's leaders): guarantees every
//! allowed broker under its network limits (capacity × max network util) or names the
//! partition or broker that makes that impossible; brings network in, network out and leader
//! bytes-in within the tolerance of the mean where single changes reach it, leadership
//! changes (no data copied) before replica moves. Starts from the layout with only the moves
//! the hard rules force (replica and leader counts are not balanced).

use super::move_budget::widen_bands;
use super::{solution_copies, Draft, Halt, Problem};
use crate::plan::load::balance::descend;
use crate::plan::load::bounds::load_bounds;
use crate::plan::load::{leader_out, limit_violations, rates};
use crate::plan::replicas;
use crate::plan::{Infeasible, PlanError};

/// The forced-moves-only layout (no count band pressure): what the load descent starts from.
pub(super) fn forced_only(problem: &Problem, draft: &mut Draft) -> Result<(), Halt> {
    let (cluster, topo) = (problem.cluster, &problem.topo);
    let config = problem.config;
    if problem.base.is_some() {
        return Err(Halt::Failed(PlanError::Infeasible(vec![Infeasible::Rule(
            "--balance load plans whole clusters: it cannot be combined with topic or broker scopes or frozen partitions".into(),
        )])));
    }
    if config.max_moves.is_some()
        || config.max_bytes.is_some()
        || config.max_leader_changes.is_some()
    {
        return Err(Halt::Failed(PlanError::Infeasible(vec![Infeasible::Rule(
            "--balance load takes no move, bytes or leader-change budget".into(),
        )])));
    }
    precheck(problem)?;
    let total = cluster.total_replicas();
    draft.bands = widen_bands(&draft.bands, topo, total, total);
    let forced = replicas::solve_flow(cluster, topo, &draft.bands)
        .map_err(|e| PlanError::Internal(format!("{e:?}")))?;
    draft.facts.rounds += 1;
    draft.facts.phases += forced.phases;
    draft.sets = forced.replicas;
    draft.loads = replicas::loads(topo.ids.len(), &draft.sets);
    draft.replica_band_reached = false;
    Ok(())
}

/// Network limits no layout can meet: a partition hotter than every allowed broker's limit,
/// or more traffic than the allowed brokers' limits add up to.
fn precheck(problem: &Problem) -> Result<(), PlanError> {
    let (cluster, topo, load) = (problem.cluster, &problem.topo, &problem.config.load);
    let allowed: Vec<usize> = (0..topo.ids.len()).filter(|&b| topo.allowed[b]).collect();
    let limits: Vec<(Option<u64>, Option<u64>)> =
        allowed.iter().map(|&b| load.limits(topo.ids[b])).collect();
    let mut problems = Vec::new();
    for (d, what, flag) in [
        (0, "network in", "--network-in-capacity"),
        (1, "network out", "--network-out-capacity"),
    ] {
        let pick = |l: &(Option<u64>, Option<u64>)| if d == 0 { l.0 } else { l.1 };
        if limits.is_empty() || !limits.iter().all(|l| pick(l).is_some()) {
            continue;
        }
        let largest = limits.iter().filter_map(pick).max().unwrap_or(0);
        let have = limits
            .iter()
            .filter_map(pick)
            .fold(0u64, |a, x| a.saturating_add(x));
        let mut need = 0u64;
        for p in &cluster.partitions {
            let (bytes_in, _) = rates(p);
            let one = if d == 0 {
                bytes_in
            } else {
                leader_out(p, p.replicas.len())
            };
            need = need.saturating_add(if d == 0 {
                bytes_in.saturating_mul(p.replicas.len() as u64)
            } else {
                one
            });
            if one > largest {
                problems.push(Infeasible::Rule(format!(
                    "partition {}: {what} of {} B/s on the broker {} it is more than the largest allowed broker's limit ({largest} B/s = {flag} × --max-network-util {}); raise {flag}",
                    p.tp,
                    one,
                    if d == 0 { "holding a replica of" } else { "leading" },
                    load.max_util
                )));
            }
        }
        if need > have {
            problems.push(Infeasible::Rule(format!(
                "the partitions need {need} B/s of {what} but the allowed brokers' limits add up to {have} B/s ({flag} × --max-network-util {}): {} B/s short",
                load.max_util,
                need - have
            )));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(PlanError::Infeasible(problems))
    }
}

pub(super) fn run(problem: &Problem, draft: &mut Draft) -> Result<(), Halt> {
    let (cluster, config, topo) = (problem.cluster, problem.config, &problem.topo);
    let mut facts = load_bounds(cluster, topo, &config.load, problem.bounds.forced_moves);
    let mut leader_pos = vec![0; draft.sets.len()];
    let descent = descend(
        cluster,
        topo,
        &config.load,
        &problem.limits,
        &mut draft.sets,
        &mut leader_pos,
    );
    let after = crate::model::Layout {
        replicas: draft
            .sets
            .iter()
            .zip(&leader_pos)
            .map(|(set, &pos)| {
                let mut ids: Vec<_> = set.iter().map(|&b| topo.ids[b]).collect();
                if pos < ids.len() {
                    let leader = ids.remove(pos);
                    ids.insert(0, leader);
                }
                ids
            })
            .collect(),
    };
    let over = limit_violations(cluster, &config.excluded, &config.load, &after);
    if !over.is_empty() {
        return Err(Halt::Failed(PlanError::Infeasible(
            over.into_iter()
                .map(|m| {
                    Infeasible::Rule(format!("{m}: no rack- and disk-safe layout found under it"))
                })
                .collect(),
        )));
    }
    facts.target_reached = descent.target_reached;
    facts.leadership_steps = descent.leadership_steps;
    facts.replica_steps = descent.replica_steps;
    facts.leadership_only = solution_copies(cluster, topo, &draft.sets).0 == 0;
    draft.loads = replicas::loads(topo.ids.len(), &draft.sets);
    draft.leader_pos = leader_pos;
    draft.leader_band_reached = false;
    draft.load_balance = Some(facts);
    Ok(())
}
