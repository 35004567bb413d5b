//! Stage 8, verify: guarantees that the independent verifier accepts the plan (RF kept,
//! replicas distinct and known, nothing on excluded brokers, rack spread, capacity, the
//! budgets, at least the forced moves, `apply(before, plan) == after` and the rollback back);
//! a rejection is a bug, reported as an internal error.

use super::{Draft, Problem};
use crate::model::{BrokerId, Layout, Plan};
use crate::plan::{verify, PlanError};

/// The final layout with its plan and rollback, as the verifier accepted them.
pub(super) struct Checked {
    pub after: Layout,
    pub plan: Plan,
    pub rollback: Plan,
}

pub(super) fn run(problem: &Problem, draft: &Draft) -> Result<Checked, PlanError> {
    let (cluster, config, topo, before) = (
        problem.cluster,
        problem.config,
        &problem.topo,
        &problem.before,
    );
    let after = Layout {
        replicas: draft
            .sets
            .iter()
            .zip(&draft.leader_pos)
            .map(|(reps, &pos)| {
                let mut ids: Vec<BrokerId> = reps.iter().map(|&b| topo.ids[b]).collect();
                if pos < ids.len() {
                    let leader = ids.remove(pos);
                    ids.insert(0, leader);
                }
                ids
            })
            .collect(),
    };
    let plan = before.diff(cluster, &after);
    let rollback = plan.rollback(cluster, before);
    let rules = verify::VerifyRules {
        excluded: &config.excluded,
        max_disk_util: problem.capacity_checked.then_some(config.max_disk_util),
        min_moves: problem.bounds.forced_moves,
        max_moves: config.max_moves,
        max_bytes: config.max_bytes,
        max_leader_changes: config.max_leader_changes,
    };
    let mut violations = verify::verify_plan(cluster, before, &after, &plan, &rollback, &rules);
    if config.balance == crate::plan::Balance::Load {
        violations.extend(crate::plan::load::limit_violations(
            cluster,
            &config.excluded,
            &config.load,
            &after,
        ));
    }
    if !violations.is_empty() {
        return Err(PlanError::Internal(format!(
            "the plan failed verification: {}",
            violations.join("; ")
        )));
    }
    Ok(Checked {
        after,
        plan,
        rollback,
    })
}
