//! The replica-placement model with disk rows, as an LP relaxation (a lower bound) or a
//! MILP (the exact capacity-constrained optimum), solved through good_lp (docs/exactness.md).
//!
//! Variables `x[p][b] ∈ {0, 1}` (LP: `[0, 1]`) for every partition `p` and allowed broker
//! `b`; excluded brokers get none (they end empty). Rows:
//! - `Σ_b x[p][b] = RF_p` (replication factor kept);
//! - `Σ_{b ∈ rack r} x[p][b] ≤ ⌈RF_p / racks⌉` (rack rule);
//! - `lo_b ≤ Σ_p x[p][b] ≤ hi_b` (count band, when one is given);
//! - `base_b + Σ_p s_p · x[p][b] ≤ C_b` (disk ceiling, when one is known).
//!
//! Objective: replica moves `Σ_{b ∉ cur(p)} x[p][b]`, or bytes copied
//! `Σ_{b ∉ cur(p)} s_p · x[p][b]`. The model has `P × B` variables: the pure-Rust default
//! solver (microlp) is fast only for small models, so callers cap the size and the time and
//! say when a model was skipped; the `highs` cargo feature solves the big ones.

use good_lp::{variable, Expression, ProblemVariables, Solution, SolverModel, Variable};

use super::super::replicas::Topology;
use crate::model::Cluster;

/// What the model minimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objective {
    Moves,
    Bytes,
}

/// The rows of one model.
#[derive(Debug, Clone)]
pub struct ModelRows<'a> {
    /// Per broker index: the count band `[lo, hi]` (`None`: counts are free).
    pub band: Option<(&'a [usize], &'a [usize])>,
    /// Per broker index: the most bytes it may end with (`None`: unchecked).
    pub ceilings: &'a [Option<u64>],
}

/// How a solve ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Solved {
    /// The solver proved this optimum: the objective value, and for a MILP the replica sets
    /// (broker indices per partition, ascending).
    Optimal {
        objective: f64,
        sets: Option<Vec<Vec<usize>>>,
    },
    /// The time limit stopped the MILP with this feasible incumbent, not proven optimal.
    Incumbent {
        objective: f64,
        sets: Vec<Vec<usize>>,
    },
    /// No layout satisfies the rows.
    Infeasible,
    /// Not solved: too many variables for the solver, the time limit before any answer, or a
    /// solver error; the text says which.
    Skipped(String),
}

/// Variables of the model: `P × allowed brokers`.
pub fn variable_count(cluster: &Cluster, topo: &Topology) -> usize {
    cluster.partitions.len() * topo.allowed_count()
}

/// Builds and solves the model. `integer`: MILP (else the LP relaxation). `max_variables`:
/// above it the model is skipped (the solver would not finish in reasonable time).
pub fn solve(
    cluster: &Cluster,
    topo: &Topology,
    rows: &ModelRows<'_>,
    objective: Objective,
    integer: bool,
    time_limit_secs: f64,
    max_variables: usize,
) -> Solved {
    let count = variable_count(cluster, topo);
    if count > max_variables {
        return Solved::Skipped(format!(
            "{count} variables, more than the {max_variables} the {} solver handles in time",
            solver_name()
        ));
    }
    let nb = topo.ids.len();
    let allowed: Vec<usize> = (0..nb).filter(|&b| topo.allowed[b]).collect();
    // Bytes are scaled to the largest partition so the coefficients stay near 1.
    let scale = cluster
        .partitions
        .iter()
        .map(|p| p.size_bytes)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let mut vars = ProblemVariables::new();
    let mut x: Vec<Vec<(usize, Variable)>> = Vec::with_capacity(cluster.partitions.len());
    for _ in &cluster.partitions {
        x.push(
            allowed
                .iter()
                .map(|&b| {
                    let def = if integer {
                        variable().binary()
                    } else {
                        variable().min(0.0).max(1.0)
                    };
                    (b, vars.add(def))
                })
                .collect(),
        );
    }
    let current = topo.current_sets(cluster);
    let mut obj = Expression::with_capacity(count);
    for (p, part) in cluster.partitions.iter().enumerate() {
        let weight = match objective {
            Objective::Moves => 1.0,
            Objective::Bytes => part.size_bytes as f64 / scale,
        };
        for &(b, v) in &x[p] {
            if !current[p].contains(&b) && weight > 0.0 {
                obj.add_mul(weight, v);
            }
        }
    }
    let mut model = vars.minimise(obj).using(default_solver);
    for (p, part) in cluster.partitions.iter().enumerate() {
        let rf = part.replicas.len();
        let all: Expression = x[p].iter().map(|&(_, v)| v).sum();
        model.add_constraint(all.eq(rf as f64));
        let cap = topo.rack_cap(rf);
        for members in &topo.racks {
            if members.len() <= cap {
                continue;
            }
            let in_rack: Expression = x[p]
                .iter()
                .filter(|(b, _)| topo.rack[*b] == topo.rack[members[0]])
                .map(|&(_, v)| v)
                .sum();
            model.add_constraint(in_rack.leq(cap as f64));
        }
    }
    for (i, &b) in allowed.iter().enumerate() {
        if let Some((lo, hi)) = rows.band {
            let load: Expression = x.iter().map(|row| row[i].1).sum();
            model.add_constraint(load.clone().leq(hi[b] as f64));
            if lo[b] > 0 {
                model.add_constraint(load.geq(lo[b] as f64));
            }
        }
        if let Some(ceiling) = rows.ceilings.get(b).copied().flatten() {
            let mut bytes = Expression::with_capacity(cluster.partitions.len());
            for (p, part) in cluster.partitions.iter().enumerate() {
                bytes.add_mul(part.size_bytes as f64 / scale, x[p][i].1);
            }
            model.add_constraint(bytes.leq(ceiling as f64 / scale));
        }
    }
    let model = with_limit(model, time_limit_secs);
    let solution = match model.solve() {
        Ok(s) => s,
        Err(good_lp::ResolutionError::Infeasible) => return Solved::Infeasible,
        Err(e) => return Solved::Skipped(format!("{} stopped: {e}", solver_name())),
    };
    let unscale = match objective {
        Objective::Moves => 1.0,
        Objective::Bytes => scale,
    };
    let mut value = 0.0;
    for (p, part) in cluster.partitions.iter().enumerate() {
        let weight = match objective {
            Objective::Moves => 1.0,
            Objective::Bytes => part.size_bytes as f64 / scale,
        };
        for &(b, v) in &x[p] {
            if !current[p].contains(&b) {
                value += weight * solution.value(v);
            }
        }
    }
    let value = value * unscale;
    let sets = integer.then(|| {
        x.iter()
            .map(|row| {
                row.iter()
                    .filter(|&&(_, v)| solution.value(v) > 0.5)
                    .map(|&(b, _)| b)
                    .collect::<Vec<usize>>()
            })
            .collect::<Vec<_>>()
    });
    match (solution.status(), sets) {
        (good_lp::SolutionStatus::Optimal, sets) => Solved::Optimal {
            objective: value,
            sets,
        },
        (_, Some(sets)) => Solved::Incumbent {
            objective: value,
            sets,
        },
        (_, None) => Solved::Skipped(format!(
            "{} stopped at the time limit before the LP optimum",
            solver_name()
        )),
    }
}

#[cfg(not(feature = "highs"))]
use good_lp::microlp as default_solver;

#[cfg(feature = "highs")]
use good_lp::highs as default_solver;

/// The solver the build uses, for reports.
pub fn solver_name() -> &'static str {
    if cfg!(feature = "highs") {
        "HiGHS"
    } else {
        "microlp"
    }
}

fn with_limit<M: good_lp::solvers::WithTimeLimit>(model: M, secs: f64) -> M {
    model.with_time_limit(secs.max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Broker, Partition, TopicPartition};
    use std::collections::BTreeSet;

    /// 4 brokers in racks a,a,b,b; 4 partitions of RF 2 all on brokers 1 and 3.
    fn four_brokers(cap: Option<u64>) -> Cluster {
        let brokers = ["a", "a", "b", "b"]
            .iter()
            .enumerate()
            .map(|(i, r)| Broker {
                id: i as i32 + 1,
                rack: Some(r.to_string()),
                capacity_bytes: cap,
                log_dirs: Vec::new(),
            })
            .collect();
        let partitions = (0..4)
            .map(|i| Partition {
                tp: TopicPartition::new("t", i),
                replicas: vec![1, 3],
                size_bytes: 10 * (i as u64 + 1),
                leader: None,
                isr: None,
                in_flight: None,
                log_dirs: Vec::new(),
                rates: None,
            })
            .collect();
        Cluster::new(brokers, partitions)
    }

    #[test]
    fn four_brokers_count_band_needs_four_moves() {
        // 8 replicas, band [2, 2]: brokers 1 and 3 shed 2 each, one replica per rack kept,
        // so 4 moves (each within its rack), 10 + 20 + 10 + 20 = 60 bytes at the least.
        let c = four_brokers(None);
        let topo = Topology::new(&c, &BTreeSet::new());
        let band = (vec![2; 4], vec![2; 4]);
        let rows = ModelRows {
            band: Some((&band.0, &band.1)),
            ceilings: &[None; 4],
        };
        match solve(&c, &topo, &rows, Objective::Moves, true, 10.0, 1000) {
            Solved::Optimal { objective, sets } => {
                assert!((objective - 4.0).abs() < 1e-6);
                let sets = sets.unwrap();
                let mut loads = [0; 4];
                for s in &sets {
                    assert_eq!(s.len(), 2);
                    assert_ne!(topo.rack[s[0]], topo.rack[s[1]]);
                    for &b in s {
                        loads[b] += 1;
                    }
                }
                assert_eq!(loads, [2; 4]);
            }
            other => panic!("{other:?}"),
        }
        match solve(&c, &topo, &rows, Objective::Bytes, false, 10.0, 1000) {
            Solved::Optimal { objective, .. } => assert!((objective - 60.0).abs() < 1e-6),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn four_brokers_disk_ceiling_forces_the_large_ones_to_spread() {
        // No count band, ceiling 50 bytes per broker: brokers 1 and 3 hold 100 each, so
        // each sheds at least 50 to its rack partner: partitions of 10 + 40 or 20 + 30,
        // two moves per broker, 4 moves in all.
        let c = four_brokers(Some(50));
        let topo = Topology::new(&c, &BTreeSet::new());
        let ceilings = [Some(50); 4];
        let rows = ModelRows {
            band: None,
            ceilings: &ceilings,
        };
        match solve(&c, &topo, &rows, Objective::Moves, true, 10.0, 1000) {
            Solved::Optimal { objective, .. } => assert!((objective - 4.0).abs() < 1e-6),
            other => panic!("{other:?}"),
        }
        // The LP relaxation may move fractions of the largest: bytes at least 2 × 50.
        match solve(&c, &topo, &rows, Objective::Bytes, false, 10.0, 1000) {
            Solved::Optimal { objective, .. } => assert!((objective - 100.0).abs() < 1e-6),
            other => panic!("{other:?}"),
        }
        // Ceiling 40: 4 partitions of 100 bytes over 4 brokers need 200 bytes of room per
        // rack, 80 is all there is.
        let ceilings = [Some(40); 4];
        let rows = ModelRows {
            band: None,
            ceilings: &ceilings,
        };
        assert_eq!(
            solve(&c, &topo, &rows, Objective::Moves, true, 10.0, 1000),
            Solved::Infeasible
        );
    }

    #[test]
    fn too_big_is_skipped_with_the_reason() {
        let c = four_brokers(None);
        let topo = Topology::new(&c, &BTreeSet::new());
        let rows = ModelRows {
            band: None,
            ceilings: &[None; 4],
        };
        match solve(&c, &topo, &rows, Objective::Moves, true, 10.0, 15) {
            Solved::Skipped(why) => assert!(why.contains("16 variables"), "{why}"),
            other => panic!("{other:?}"),
        }
    }
}
