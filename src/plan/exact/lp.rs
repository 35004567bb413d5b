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

/// Partitions of one replication factor on one current broker set, merged: in a model
/// without a count band they are interchangeable (see [`solve_bytes_grouped`]).
struct Group {
    rf: usize,
    /// Current broker indices (ascending; unknown brokers left out).
    current: Vec<usize>,
    /// Total size of the group's partitions.
    bytes: u64,
}

/// Partitions grouped by replication factor and current broker set, in first-seen order.
fn groups(cluster: &Cluster, topo: &Topology) -> Vec<Group> {
    let mut index: std::collections::BTreeMap<(usize, Vec<usize>), usize> =
        std::collections::BTreeMap::new();
    let mut out: Vec<Group> = Vec::new();
    for (p, mut current) in cluster.partitions.iter().zip(topo.current_sets(cluster)) {
        current.sort_unstable();
        current.dedup();
        let rf = p.replicas.len();
        match index.get(&(rf, current.clone())) {
            Some(&g) => out[g].bytes += p.size_bytes,
            None => {
                index.insert((rf, current.clone()), out.len());
                out.push(Group {
                    rf,
                    current,
                    bytes: p.size_bytes,
                });
            }
        }
    }
    out
}

/// Variables of the grouped bytes LP: `groups × allowed brokers`.
pub fn grouped_variable_count(cluster: &Cluster, topo: &Topology) -> usize {
    groups(cluster, topo).len() * topo.allowed_count()
}

/// The bytes LP without a count band (`--balance bytes`), solved over groups of partitions
/// with the same replication factor and current broker set: one variable `z[g][b] ∈ [0, 1]`
/// per group and allowed broker, the group's total size `S_g` as its size. Same value as the
/// per-partition LP [`solve`] with `Objective::Bytes` and no band: a per-partition solution
/// `x` gives `z[g][b] = Σ_{p ∈ g} s_p x[p][b] / S_g`, which keeps every row (RF, rack rule
/// and ceiling rows are sums of the group's rows weighted by `s_p / S_g`, the ceiling rows
/// and the objective exactly) and the objective; a grouped solution gives `x[p][b] =
/// z[g][b]` for every `p ∈ g`, the same. The model is far smaller: 1,500 partitions on 10
/// brokers have at most `C(10, 3) + C(10, 2) = 165` current sets of RF 3 and 2.
pub fn solve_bytes_grouped(
    cluster: &Cluster,
    topo: &Topology,
    ceilings: &[Option<u64>],
    time_limit_secs: f64,
    max_variables: usize,
) -> Solved {
    let groups = groups(cluster, topo);
    let nb = topo.ids.len();
    let allowed: Vec<usize> = (0..nb).filter(|&b| topo.allowed[b]).collect();
    let count = groups.len() * allowed.len();
    if count > max_variables {
        return Solved::Skipped(format!(
            "{count} variables (partitions grouped by replication factor and current brokers), more than the {max_variables} the {} solver handles in time",
            solver_name()
        ));
    }
    let scale = groups.iter().map(|g| g.bytes).max().unwrap_or(1).max(1) as f64;
    let mut vars = ProblemVariables::new();
    let z: Vec<Vec<(usize, Variable)>> = groups
        .iter()
        .map(|_| {
            allowed
                .iter()
                .map(|&b| (b, vars.add(variable().min(0.0).max(1.0))))
                .collect()
        })
        .collect();
    let weight = |g: &Group| g.bytes as f64 / scale;
    let mut obj = Expression::with_capacity(count);
    for (g, group) in groups.iter().enumerate() {
        for &(b, v) in &z[g] {
            if group.current.binary_search(&b).is_err() && group.bytes > 0 {
                obj.add_mul(weight(group), v);
            }
        }
    }
    let mut model = vars.minimise(obj).using(default_solver);
    for (g, group) in groups.iter().enumerate() {
        let all: Expression = z[g].iter().map(|&(_, v)| v).sum();
        model.add_constraint(all.eq(group.rf as f64));
        let cap = topo.rack_cap(group.rf);
        for members in &topo.racks {
            if members.len() <= cap {
                continue;
            }
            let in_rack: Expression = z[g]
                .iter()
                .filter(|(b, _)| topo.rack[*b] == topo.rack[members[0]])
                .map(|&(_, v)| v)
                .sum();
            model.add_constraint(in_rack.leq(cap as f64));
        }
    }
    for (i, &b) in allowed.iter().enumerate() {
        if let Some(ceiling) = ceilings.get(b).copied().flatten() {
            let mut bytes = Expression::with_capacity(groups.len());
            for (g, group) in groups.iter().enumerate() {
                bytes.add_mul(weight(group), z[g][i].1);
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
    let mut value = 0.0;
    for (g, group) in groups.iter().enumerate() {
        for &(b, v) in &z[g] {
            if group.current.binary_search(&b).is_err() {
                value += group.bytes as f64 * solution.value(v);
            }
        }
    }
    match solution.status() {
        good_lp::SolutionStatus::Optimal => Solved::Optimal {
            objective: value,
            sets: None,
        },
        _ => Solved::Skipped(format!(
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

    /// By hand: 4 partitions of RF 2 (10, 20, 30, 40 bytes) all on brokers 1 (rack a) and
    /// 3 (rack b), one group. With a 50-byte ceiling brokers 1 and 3 hold 100 each and must
    /// each shed 50 to their rack partner (the rack rule keeps one replica per rack): 100
    /// bytes, as the per-partition LP says. The grouped model has 4 variables instead of 16.
    #[test]
    fn grouped_bytes_lp_equals_the_per_partition_lp() {
        let c = four_brokers(Some(50));
        let topo = Topology::new(&c, &BTreeSet::new());
        assert_eq!(grouped_variable_count(&c, &topo), 4);
        let ceilings = [Some(50); 4];
        match solve_bytes_grouped(&c, &topo, &ceilings, 10.0, 1000) {
            Solved::Optimal { objective, sets } => {
                assert!((objective - 100.0).abs() < 1e-6, "{objective}");
                assert!(sets.is_none());
            }
            other => panic!("{other:?}"),
        }
        // Ceiling 40 per broker: 200 bytes of replicas over 160 bytes of room.
        assert_eq!(
            solve_bytes_grouped(&c, &topo, &[Some(40); 4], 10.0, 1000),
            Solved::Infeasible
        );
        // Over the variable cap it is skipped and says why.
        match solve_bytes_grouped(&c, &topo, &ceilings, 10.0, 3) {
            Solved::Skipped(why) => assert!(why.contains("4 variables"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    /// Groups of different current sets and sizes on 6 brokers in 3 racks: the grouped and
    /// the per-partition LP agree, and neither is above what an actual layout under the same
    /// ceilings copies (a bound never exceeds a plan).
    #[test]
    fn grouped_bytes_lp_is_a_bound_on_a_feasible_layout() {
        let brokers = ["a", "a", "b", "b", "c", "c"]
            .iter()
            .enumerate()
            .map(|(i, r)| Broker {
                id: i as i32 + 1,
                rack: Some(r.to_string()),
                capacity_bytes: None,
                log_dirs: Vec::new(),
            })
            .collect();
        let sets: [&[i32]; 6] = [
            &[1, 3, 5],
            &[1, 3, 5],
            &[1, 3],
            &[1, 3],
            &[2, 4, 6],
            &[1, 4],
        ];
        let sizes = [30u64, 50, 20, 25, 10, 40];
        let partitions = sets
            .iter()
            .zip(sizes)
            .enumerate()
            .map(|(i, (r, size))| Partition {
                tp: TopicPartition::new("t", i as i32),
                replicas: r.to_vec(),
                size_bytes: size,
                leader: None,
                isr: None,
                in_flight: None,
                log_dirs: Vec::new(),
                rates: None,
            })
            .collect();
        let c = Cluster::new(brokers, partitions);
        let topo = Topology::new(&c, &BTreeSet::new());
        // Loads: 1: 30+50+20+25+40 = 165, 3: 125, 5: 80, 2: 10, 4: 50, 6: 10.
        let ceilings = [Some(100); 6];
        let rows = ModelRows {
            band: None,
            ceilings: &ceilings,
        };
        let per_partition = match solve(&c, &topo, &rows, Objective::Bytes, false, 10.0, 1000) {
            Solved::Optimal { objective, .. } => objective,
            other => panic!("{other:?}"),
        };
        let grouped = match solve_bytes_grouped(&c, &topo, &ceilings, 10.0, 1000) {
            Solved::Optimal { objective, .. } => objective,
            other => panic!("{other:?}"),
        };
        assert!(
            (per_partition - grouped).abs() < 1e-6,
            "{per_partition} {grouped}"
        );
        // Broker 1 sheds at least 65, broker 3 at least 25: the LP can do no better.
        assert!(grouped >= 90.0 - 1e-6, "{grouped}");
        // A layout under the ceilings: P1 (50) 1 -> 2, P3 (25) 1 -> 2, P0 (30) 3 -> 4 copies
        // 105 bytes (1: 90, 2: 85, 3: 95, 4: 80), so the bound is at most 105.
        assert!(grouped <= 105.0 + 1e-6, "{grouped}");
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
