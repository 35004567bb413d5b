//! Exact models for what the count flow cannot express (docs/exactness.md): the disk floor
//! the rack rule forces (a parametric max-flow), and the LP / MILP models of the
//! capacity-constrained plan solved through good_lp.

pub mod floor;
pub mod lp;

use std::collections::BTreeSet;

use super::replicas::Topology;
use super::{capacity, Balance, PlanConfig, PlanError, PlanOutcome};
use crate::model::{Cluster, Layout};
use lp::{ModelRows, Objective, Solved};

/// Largest model (variables) the default solver is asked to solve; the `highs` build takes
/// far bigger ones.
pub const MAX_VARIABLES: usize = if cfg!(feature = "highs") {
    2_000_000
} else {
    12_000
};

/// What to try after the plan.
#[derive(Debug, Clone, Copy)]
pub struct ProveOptions {
    /// Solve the MILP of the capacity-constrained plan (`plan --exact`).
    pub exact: bool,
    /// Time limit per LP / MILP solve, seconds.
    pub time_limit_secs: f64,
}

impl Default for ProveOptions {
    fn default() -> Self {
        ProveOptions {
            exact: false,
            time_limit_secs: 10.0,
        }
    }
}

/// What was proven about a plan, for the reports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Proof {
    /// One line: what the plan's move count is proven to be.
    pub statement: Option<String>,
    /// The MILP proved its optimum (`--exact`): the plan is that optimum.
    pub milp_proven: bool,
    /// Moves of the MILP's proven optimum or incumbent, when one was found.
    pub milp_moves: Option<usize>,
    /// Moves the flow + repair plan had (before any MILP replacement).
    pub flow_moves: usize,
    /// The capacity repair's moves beyond the count optimum.
    pub repair_added: usize,
    /// `count+bytes`: replica moves the disk-balancing swaps added (negative: undid).
    /// They are not the capacity repair's: the swaps keep every count and limit.
    pub disk_balance_added: Option<i64>,
    /// LP lower bound on moves (rounded up), when solved.
    pub moves_lp_bound: Option<usize>,
    /// Set when `moves_lp_bound` is the size-class relaxation's (the per-partition model was
    /// too big): how the partitions were classed.
    pub moves_lp_model: Option<String>,
    /// LP lower bound on bytes copied, when solved.
    pub bytes_lp_bound: Option<u64>,
    /// Models not solved and why.
    pub skipped: Vec<String>,
    pub solver: &'static str,
}

/// Per broker index: the count band the final layout is in — the uniform band widened to
/// the plan's own count where it ends outside (the band every MILP/LP row set uses, so the
/// plan is a feasible point of every model).
fn plan_band(topo: &Topology, outcome: &PlanOutcome) -> Option<(Vec<usize>, Vec<usize>)> {
    let (lo, hi) = outcome.bounds.band?;
    let counts = outcome.after.replica_counts();
    let load = |b: usize| counts.get(&topo.ids[b]).copied().unwrap_or(0);
    let n = topo.ids.len();
    let lo = (0..n)
        .map(|b| if topo.allowed[b] { lo.min(load(b)) } else { 0 })
        .collect();
    let hi = (0..n)
        .map(|b| if topo.allowed[b] { hi.max(load(b)) } else { 0 })
        .collect();
    Some((lo, hi))
}

/// A replica list per partition from MILP sets: current replicas that stay keep their
/// position, new ones take the freed positions in broker order.
fn layout_from_sets(cluster: &Cluster, topo: &Topology, sets: &[Vec<usize>]) -> Layout {
    let replicas = cluster
        .partitions
        .iter()
        .zip(sets)
        .map(|(p, set)| {
            let ids: BTreeSet<i32> = set.iter().map(|&b| topo.ids[b]).collect();
            let mut incoming = ids.iter().filter(|id| !p.replicas.contains(id));
            p.replicas
                .iter()
                .map(|id| {
                    if ids.contains(id) {
                        *id
                    } else {
                        incoming.next().copied().unwrap_or(*id)
                    }
                })
                .collect()
        })
        .collect();
    Layout { replicas }
}

/// Solves the LP / MILP models a plan admits and says what they prove; with `exact` and a
/// proven optimum with fewer moves than the flow + repair plan, returns that layout as the
/// plan instead (checked by the independent verifier through [`fixed_outcome`]). Plans the
/// models do not cover (given layouts, scoped plans, budgets) come back unchanged with no
/// statement.
pub fn prove(
    cluster: &Cluster,
    config: &PlanConfig,
    mut outcome: PlanOutcome,
    options: &ProveOptions,
) -> Result<(PlanOutcome, Proof), PlanError> {
    let mut proof = Proof {
        solver: lp::solver_name(),
        flow_moves: outcome.moves,
        ..Proof::default()
    };
    // `load` plans traffic: the move and bytes models below are about counts and disk.
    let covered = outcome.facts.fixed_plan.is_none()
        && config.balance != Balance::Load
        && config.movable.is_none()
        && config.target_brokers.is_none()
        && config.frozen.is_empty()
        && config.max_moves.is_none()
        && config.max_bytes.is_none();
    if !covered {
        if options.exact {
            proof.skipped.push(
                "MILP: --exact covers whole-cluster plans without budgets (not given layouts, topic or broker scopes, frozen partitions, --max-moves or --max-bytes)"
                    .to_string(),
            );
        }
        return Ok((outcome, proof));
    }
    let topo = Topology::new(cluster, &config.excluded);
    let nb = topo.ids.len();
    let limits = capacity::limits(cluster, config.max_disk_util);
    let repair = &outcome.capacity_repair;
    let repaired =
        outcome.capacity_checked && repair.redirected + repair.swaps + repair.extra_moves > 0;
    // In count+bytes the disk-balancing swaps add moves of their own after the capacity
    // stage; only the rest beyond the count optimum is the capacity repair's.
    let disk_balance_added = outcome.bytes_refinement.as_ref().map(|r| r.move_delta);
    let beyond_optimum = outcome.moves as i64 - outcome.optimum_moves as i64;
    proof.repair_added = (beyond_optimum - disk_balance_added.unwrap_or(0)).max(0) as usize;
    proof.disk_balance_added = disk_balance_added;
    let binds = repaired || (outcome.capacity_checked && proof.repair_added > 0);
    let count_mode = matches!(config.balance, Balance::Count | Balance::CountBytes);
    let band = if count_mode {
        plan_band(&topo, &outcome)
    } else {
        None
    };
    let rows = ModelRows {
        band: band.as_ref().map(|(lo, hi)| (lo.as_slice(), hi.as_slice())),
        ceilings: &limits,
    };
    let t = options.time_limit_secs;
    if options.exact && !count_mode {
        proof.skipped.push(
            "MILP: --exact proves move counts of the count modes; --balance bytes is bounded by its disk floor and the bytes LP".to_string(),
        );
    }
    // Moves: the MILP with --exact, else its LP relaxation where capacity binds (elsewhere
    // the flow's optimum is certified and needs no LP).
    if count_mode && (options.exact || binds) {
        let solved = lp::solve(
            cluster,
            &topo,
            &rows,
            Objective::Moves,
            options.exact,
            t,
            MAX_VARIABLES,
        );
        match solved {
            Solved::Optimal {
                objective,
                sets: Some(sets),
            } => {
                let moves = (objective - 1e-6).ceil().max(0.0) as usize;
                proof.milp_moves = Some(moves);
                proof.milp_proven = true;
                proof.moves_lp_bound = Some(moves);
                if moves < outcome.moves && outcome.log_dirs.is_none() {
                    let after = layout_from_sets(cluster, &topo, &sets);
                    let explanation = format!(
                        "the layout is the MILP's proven optimum ({} moves; the flow + capacity repair plan had {}), its preferred leaders balanced like any plan's",
                        moves, outcome.moves
                    );
                    let mut exact = super::stages::run_on_layout(
                        cluster,
                        config,
                        &topo_sets(&topo, &after),
                        &explanation,
                    )?;
                    exact.network = super::network_figures(cluster, config, &exact);
                    proof.statement = Some(format!(
                        "optimum (MILP, proven): {moves} moves with every broker in the count band and under its disk limit ({} solver)",
                        proof.solver
                    ));
                    outcome = exact;
                } else if moves < outcome.moves {
                    // Log-dir plans place dirs on the flow + repair layout (offline
                    // evictions, per-dir capacity): the MILP's layout is a bound here.
                    proof.skipped.push(format!(
                        "MILP: proven optimum of {moves} moves; a plan with log dirs keeps the flow + capacity repair layout ({} moves) its dirs were placed on",
                        outcome.moves
                    ));
                } else {
                    proof.statement = Some(format!(
                        "optimum (MILP, proven): {moves} moves with every broker in the count band and under its disk limit ({} solver)",
                        proof.solver
                    ));
                }
            }
            Solved::Optimal { objective, .. } => {
                proof.moves_lp_bound = Some((objective - 1e-6).ceil().max(0.0) as usize);
            }
            Solved::Incumbent { objective, .. } => {
                proof.milp_moves = Some(objective.round().max(0.0) as usize);
                proof.skipped.push(format!(
                    "MILP: time limit of {t} s reached with an incumbent of {:.0} moves, not proven",
                    objective
                ));
            }
            Solved::Infeasible => proof
                .skipped
                .push("moves model: infeasible for the solver".to_string()),
            Solved::Skipped(why) => proof.skipped.push(format!("moves model: {why}")),
        }
        if options.exact && !proof.milp_proven {
            // The LP relaxation still gives a bound to print with the gap.
            if let Solved::Optimal { objective, .. } = lp::solve(
                cluster,
                &topo,
                &rows,
                Objective::Moves,
                false,
                t,
                MAX_VARIABLES,
            ) {
                proof.moves_lp_bound = Some((objective - 1e-6).ceil().max(0.0) as usize);
            }
        }
        // Only where the capacity repair changed the layout (or with --exact): `count+bytes`
        // plans above the count optimum for their bytes balance keep their reports.
        if proof.moves_lp_bound.is_none()
            && (options.exact || repaired)
            && lp::variable_count(cluster, &topo) > MAX_VARIABLES
        {
            // The per-partition model is too big for the solver: the size-class relaxation
            // still gives a valid bound (never above the per-partition LP's).
            let (classing, solved) =
                lp::solve_moves_classes(cluster, &topo, &rows, t, MAX_VARIABLES);
            match (solved, classing) {
                (Solved::Optimal { objective, .. }, Some(classing)) => {
                    // Float rounding must not lift the bound above the truth.
                    let bound = (objective * (1.0 - 1e-9) - 1e-6).ceil().max(0.0) as usize;
                    proof.moves_lp_bound = Some(bound);
                    let model = classing.describe();
                    for why in proof.skipped.iter_mut() {
                        if why.starts_with("moves model: ") {
                            why.push_str(&format!(
                                "; the moves LP bound is the size-class relaxation's ({model})"
                            ));
                        }
                    }
                    proof.moves_lp_model = Some(format!("size classes: {model}"));
                }
                (Solved::Infeasible, _) => proof
                    .skipped
                    .push("size-class moves LP: infeasible for the solver".to_string()),
                (Solved::Skipped(why), _) => {
                    proof.skipped.push(format!("size-class moves LP: {why}"))
                }
                _ => {}
            }
        }
    }
    // Bytes: the LP relaxation with this plan's ceilings (bytes mode: its thresholds or its
    // own load; count modes: the disk limits) and band.
    let after_bytes = capacity::bytes_per_broker(cluster, nb, &topo_sets(&topo, &outcome.after));
    let ceilings: Vec<Option<u64>> = match &outcome.disk_balance {
        Some(d) => (0..nb)
            .map(|b| {
                Some(
                    d.thresholds
                        .get(b)
                        .copied()
                        .unwrap_or(0)
                        .max(after_bytes[b]),
                )
            })
            .collect(),
        None => limits.clone(),
    };
    let bytes_rows = ModelRows {
        band: rows.band,
        ceilings: &ceilings,
    };
    // Without a count band (bytes mode) partitions of one RF on one current broker set are
    // interchangeable in the relaxation: the grouped LP has the same value with far fewer
    // variables. The count modes keep the per-partition model their reports were built on.
    let bytes_lp = if bytes_rows.band.is_none() && !count_mode {
        lp::solve_bytes_grouped(cluster, &topo, &ceilings, t, MAX_VARIABLES)
    } else {
        lp::solve(
            cluster,
            &topo,
            &bytes_rows,
            Objective::Bytes,
            false,
            t,
            MAX_VARIABLES,
        )
    };
    match bytes_lp {
        Solved::Optimal { objective, .. } => {
            // Float rounding must not lift the bound above the truth: shave a millionth.
            proof.bytes_lp_bound = Some((objective * (1.0 - 1e-6)).max(0.0) as u64);
        }
        Solved::Skipped(why) => proof.skipped.push(format!("bytes LP: {why}")),
        Solved::Infeasible => proof
            .skipped
            .push("bytes LP: infeasible for the solver".to_string()),
        Solved::Incumbent { .. } => {}
    }
    if proof.statement.is_none() && count_mode && outcome.facts.certified {
        let mut s = "optimum for counts (flow, certified)".to_string();
        if binds {
            s.push_str(&format!(
                "; capacity repair added {} moves",
                proof.repair_added
            ));
        }
        match proof.disk_balance_added {
            Some(n) if n > 0 => s.push_str(&format!("; disk balancing added {n} moves")),
            Some(n) if n < 0 => s.push_str(&format!("; disk balancing undid {} moves", -n)),
            _ => {}
        }
        if binds {
            match proof.moves_lp_bound {
                Some(m) => {
                    s.push_str(&format!(
                        "; LP bound {m}, gap {:.1} %",
                        gap_percent(outcome.moves as f64, m as f64)
                    ));
                    // A feasible plan at a lower bound is optimal: no MILP needed to say so.
                    if outcome.moves <= m {
                        s.push_str(
                            "; the plan meets the bound: proven optimum under the disk limits",
                        );
                    }
                }
                None => s.push_str("; no LP bound (see skipped)"),
            }
        }
        proof.statement = Some(s);
    }
    Ok((outcome, proof))
}

/// `(value − bound) / bound` in percent; 0 when both are 0.
pub fn gap_percent(value: f64, bound: f64) -> f64 {
    if bound > 0.0 {
        (value - bound).max(0.0) * 100.0 / bound
    } else if value > 0.0 {
        f64::INFINITY
    } else {
        0.0
    }
}

fn topo_sets(topo: &Topology, layout: &Layout) -> Vec<Vec<usize>> {
    layout
        .replicas
        .iter()
        .map(|r| r.iter().filter_map(|id| topo.index_of(*id)).collect())
        .collect()
}
