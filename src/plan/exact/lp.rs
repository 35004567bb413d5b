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
    let solution = match solve_within(model, time_limit_secs) {
        Ok(s) => s,
        Err(stopped) => return stopped,
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
    /// The group's partition indices, ascending.
    members: Vec<usize>,
}

/// An optimal solution of the grouped bytes LP ([`bytes_grouped_optimum`]).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupedOptimum {
    /// Per broker index: the bytes it ends with, `Σ_g S_g z[g][b]` (0 without variables).
    pub loads: Vec<f64>,
    /// Per group of partitions with one replication factor and one current broker set.
    pub groups: Vec<GroupShare>,
}

/// One group of the grouped bytes LP and its share of each allowed broker.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupShare {
    /// Partition indices, ascending.
    pub members: Vec<usize>,
    /// Current broker indices, ascending.
    pub current: Vec<usize>,
    /// `(broker index, z[g][b])` for every allowed broker.
    pub share: Vec<(usize, f64)>,
}

/// Partitions grouped by replication factor and current broker set, in first-seen order.
fn groups(cluster: &Cluster, topo: &Topology) -> Vec<Group> {
    groups_up_to(cluster, topo, usize::MAX).unwrap_or_default()
}

/// [`groups`], or `None` as soon as there are more than `most` of them (a big cluster is
/// known to be over a model-size cap without grouping all its partitions).
fn groups_up_to(cluster: &Cluster, topo: &Topology, most: usize) -> Option<Vec<Group>> {
    let mut index: std::collections::BTreeMap<(usize, Vec<usize>), usize> =
        std::collections::BTreeMap::new();
    let mut out: Vec<Group> = Vec::new();
    for (index_of_partition, p) in cluster.partitions.iter().enumerate() {
        let mut current: Vec<usize> = p
            .replicas
            .iter()
            .filter_map(|id| topo.index_of(*id))
            .collect();
        current.sort_unstable();
        current.dedup();
        let rf = p.replicas.len();
        match index.get(&(rf, current.clone())) {
            Some(&g) => {
                out[g].bytes += p.size_bytes;
                out[g].members.push(index_of_partition);
            }
            None => {
                if out.len() == most {
                    return None;
                }
                index.insert((rf, current.clone()), out.len());
                out.push(Group {
                    rf,
                    current,
                    bytes: p.size_bytes,
                    members: vec![index_of_partition],
                });
            }
        }
    }
    Some(out)
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
    bytes_grouped(topo, &groups, ceilings, time_limit_secs, max_variables).0
}

/// An optimal solution of the grouped bytes LP ([`solve_bytes_grouped`]): each broker's
/// bytes and each group's share of each broker. `None` when the LP was not solved to its
/// optimum (too big, the time limit, infeasible); a cluster with more groups than the cap
/// allows is rejected as soon as grouping finds one too many.
pub fn bytes_grouped_optimum(
    cluster: &Cluster,
    topo: &Topology,
    ceilings: &[Option<u64>],
    time_limit_secs: f64,
    max_variables: usize,
) -> Option<GroupedOptimum> {
    let most = max_variables / topo.allowed_count().max(1);
    let groups = groups_up_to(cluster, topo, most)?;
    bytes_grouped(topo, &groups, ceilings, time_limit_secs, max_variables).1
}

fn bytes_grouped(
    topo: &Topology,
    groups: &[Group],
    ceilings: &[Option<u64>],
    time_limit_secs: f64,
    max_variables: usize,
) -> (Solved, Option<GroupedOptimum>) {
    let nb = topo.ids.len();
    let allowed: Vec<usize> = (0..nb).filter(|&b| topo.allowed[b]).collect();
    let count = groups.len() * allowed.len();
    if count > max_variables {
        let why = format!(
            "{count} variables (partitions grouped by replication factor and current brokers), more than the {max_variables} the {} solver handles in time",
            solver_name()
        );
        return (Solved::Skipped(why), None);
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
    let solution = match solve_within(model, time_limit_secs) {
        Ok(s) => s,
        Err(stopped) => return (stopped, None),
    };
    let mut value = 0.0;
    let mut loads = vec![0.0; nb];
    let mut shares = Vec::with_capacity(groups.len());
    for (g, group) in groups.iter().enumerate() {
        let mut share = Vec::with_capacity(z[g].len());
        for &(b, v) in &z[g] {
            let x = solution.value(v);
            share.push((b, x));
            let bytes = group.bytes as f64 * x;
            loads[b] += bytes;
            if group.current.binary_search(&b).is_err() {
                value += bytes;
            }
        }
        shares.push(GroupShare {
            members: group.members.clone(),
            current: group.current.clone(),
            share,
        });
    }
    match solution.status() {
        good_lp::SolutionStatus::Optimal => (
            Solved::Optimal {
                objective: value,
                sets: None,
            },
            Some(GroupedOptimum {
                loads,
                groups: shares,
            }),
        ),
        _ => (
            Solved::Skipped(format!(
                "{} stopped at the time limit before the LP optimum",
                solver_name()
            )),
            None,
        ),
    }
}

/// Which partitions may share a class of the size-class moves LP ([`solve_moves_classes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassKey {
    /// Same replication factor and the same current broker set: the class's partitions are
    /// interchangeable but for their sizes (with one size per class the LP equals the
    /// per-partition LP).
    CurrentSet,
    /// Same replication factor and the same number of current replicas in each rack (and off
    /// the allowed brokers): far fewer classes, a weaker but still valid relaxation.
    RackProfile,
}

/// How the partitions were aggregated: the key, the geometric size ratio within a class
/// (`None`: one size class) and the resulting model size.
#[derive(Debug, Clone, PartialEq)]
pub struct Classing {
    pub key: ClassKey,
    pub ratio: Option<f64>,
    pub classes: usize,
    pub variables: usize,
}

impl Classing {
    /// For reports: "412 classes (replication factor, current brokers, sizes within ×1.05),
    /// 11,004 variables".
    pub fn describe(&self) -> String {
        let key = match self.key {
            ClassKey::CurrentSet => "current brokers",
            ClassKey::RackProfile => "current replicas per rack",
        };
        let sizes = match self.ratio {
            Some(r) => format!("sizes within ×{r}"),
            None => "any size".to_string(),
        };
        format!(
            "{} classes of partitions (replication factor, {key}, {sizes}), {} variables",
            self.classes, self.variables
        )
    }
}

/// One class of the size-class moves LP.
#[derive(Debug, Clone)]
struct SizeClass {
    rf: usize,
    /// Partitions in the class.
    members: usize,
    /// Per broker index: the class's partitions currently on it.
    on: Vec<usize>,
    /// The smallest partition size in the class: every replica of the class weighs at least
    /// this on its broker.
    smin: u64,
}

/// Geometric size bucket: sizes `s` and `s'` share it when `⌊ln s / ln ratio⌋` agree; size 0
/// has a bucket of its own.
fn size_bucket(size: u64, ratio: Option<f64>) -> i64 {
    match ratio {
        None => 0,
        Some(_) if size == 0 => i64::MIN,
        Some(r) => ((size as f64).ln() / r.ln()).floor() as i64,
    }
}

/// The classes of `key` and `ratio`, in first-seen order (deterministic).
fn size_classes(
    cluster: &Cluster,
    topo: &Topology,
    key: ClassKey,
    ratio: Option<f64>,
) -> Vec<SizeClass> {
    let nb = topo.ids.len();
    let mut index: std::collections::BTreeMap<(usize, Vec<usize>, i64), usize> =
        std::collections::BTreeMap::new();
    let mut out: Vec<SizeClass> = Vec::new();
    for (p, mut current) in cluster.partitions.iter().zip(topo.current_sets(cluster)) {
        current.sort_unstable();
        current.dedup();
        let rf = p.replicas.len();
        let shape = match key {
            ClassKey::CurrentSet => current.clone(),
            ClassKey::RackProfile => {
                // Rack of each current replica on an allowed broker, `usize::MAX` for the
                // rest (excluded or unknown brokers: those replicas must move).
                let mut racks: Vec<usize> = current
                    .iter()
                    .map(|&b| {
                        if topo.allowed[b] {
                            topo.rack[b]
                        } else {
                            usize::MAX
                        }
                    })
                    .collect();
                racks.extend(std::iter::repeat_n(
                    usize::MAX,
                    rf.saturating_sub(current.len()),
                ));
                racks.sort_unstable();
                racks
            }
        };
        let k = (rf, shape, size_bucket(p.size_bytes, ratio));
        let c = match index.get(&k) {
            Some(&c) => c,
            None => {
                index.insert(k, out.len());
                out.push(SizeClass {
                    rf,
                    members: 0,
                    on: vec![0; nb],
                    smin: u64::MAX,
                });
                out.len() - 1
            }
        };
        let class = &mut out[c];
        class.members += 1;
        class.smin = class.smin.min(p.size_bytes);
        for b in current {
            class.on[b] += 1;
        }
    }
    out
}

/// Variables of the size-class model: per class and allowed broker one for the class's
/// replicas kept there (when some are there now) and one for new ones (when some of the
/// class are not there now).
fn class_variable_count(classes: &[SizeClass], topo: &Topology) -> usize {
    classes
        .iter()
        .map(|c| {
            (0..topo.ids.len())
                .filter(|&b| topo.allowed[b])
                .map(|b| usize::from(c.on[b] > 0) + usize::from(c.on[b] < c.members))
                .sum::<usize>()
        })
        .sum()
}

/// Size ratios tried, finest first.
const CLASS_RATIOS: [Option<f64>; 9] = [
    Some(1.01),
    Some(1.02),
    Some(1.05),
    Some(1.1),
    Some(1.25),
    Some(1.5),
    Some(2.0),
    Some(4.0),
    None,
];

/// The finest classing that fits `max_variables`: current broker sets with sizes within
/// ×1.1 where that fits, else current rack profiles with the finest ratio that fits, else
/// current broker sets with a coarser one. `None` when even one size class per rack profile
/// is too big.
fn choose_classing(
    cluster: &Cluster,
    topo: &Topology,
    max_variables: usize,
) -> Option<(Classing, Vec<SizeClass>)> {
    let fine = CLASS_RATIOS
        .iter()
        .take_while(|r| r.is_some_and(|r| r <= 1.1));
    let order = fine
        .map(|&r| (ClassKey::CurrentSet, r))
        .chain(CLASS_RATIOS.iter().map(|&r| (ClassKey::RackProfile, r)));
    for (key, ratio) in order {
        let classes = size_classes(cluster, topo, key, ratio);
        let variables = class_variable_count(&classes, topo);
        if variables <= max_variables {
            let classing = Classing {
                key,
                ratio,
                classes: classes.len(),
                variables,
            };
            return Some((classing, classes));
        }
    }
    None
}

/// The moves LP over classes of partitions: a relaxation of the per-partition LP of
/// [`solve`] with `Objective::Moves`, small enough for the default solver where that one is
/// not (docs/exactness.md §2, "size-class moves LP"). Per class `c` and allowed broker `b`,
/// `k[c][b] ∈ [0, on[c][b]]` of the class's partitions keep their replica on `b` and
/// `n[c][b] ∈ [0, |c| − on[c][b]]` gain one there:
///
/// - `Σ_b (k + n)[c][b] = RF_c · |c|`;
/// - `Σ_{b ∈ r} (k + n)[c][b] ≤ ⌈RF_c / racks⌉ · |c|` (racks larger than the cap);
/// - `lo_b ≤ Σ_c (k + n)[c][b] ≤ hi_b` (each partition counts 1: exact);
/// - `Σ_c smin(c) · (k + n)[c][b] ≤ C_b` (every replica of `c` weighs at least `smin(c)`);
/// - minimise `Σ n`.
///
/// A per-partition solution `x` maps to `k[c][b] = Σ_{p ∈ c, b ∈ cur(p)} x[p][b]`,
/// `n[c][b] = Σ_{p ∈ c, b ∉ cur(p)} x[p][b]`, which keeps every row with the same
/// objective, so the optimum is a lower bound on the per-partition LP's and on every plan's
/// moves. Returns the classing used with the result.
pub fn solve_moves_classes(
    cluster: &Cluster,
    topo: &Topology,
    rows: &ModelRows<'_>,
    time_limit_secs: f64,
    max_variables: usize,
) -> (Option<Classing>, Solved) {
    match choose_classing(cluster, topo, max_variables) {
        Some((classing, classes)) => {
            let solved = solve_classes(&classes, topo, rows, time_limit_secs);
            (Some(classing), solved)
        }
        None => (
            None,
            Solved::Skipped(format!(
                "more than {max_variables} variables even with one size class per replication factor and rack profile"
            )),
        ),
    }
}

/// [`solve_moves_classes`] with a given classing (tests compare classings).
pub fn solve_moves_classed(
    cluster: &Cluster,
    topo: &Topology,
    rows: &ModelRows<'_>,
    key: ClassKey,
    ratio: Option<f64>,
    time_limit_secs: f64,
) -> Solved {
    let classes = size_classes(cluster, topo, key, ratio);
    solve_classes(&classes, topo, rows, time_limit_secs)
}

fn solve_classes(
    classes: &[SizeClass],
    topo: &Topology,
    rows: &ModelRows<'_>,
    time_limit_secs: f64,
) -> Solved {
    let nb = topo.ids.len();
    let allowed: Vec<usize> = (0..nb).filter(|&b| topo.allowed[b]).collect();
    let scale = classes.iter().map(|c| c.smin).max().unwrap_or(1).max(1) as f64;
    let mut vars = ProblemVariables::new();
    // Per class, per allowed broker (in `allowed` order): (kept, new) variables.
    let mut kn: Vec<Vec<(Option<Variable>, Option<Variable>)>> = Vec::with_capacity(classes.len());
    let mut obj = Expression::default();
    let mut news: Vec<Variable> = Vec::new();
    for c in classes {
        let row = allowed
            .iter()
            .map(|&b| {
                let kept = (c.on[b] > 0).then(|| vars.add(variable().min(0.0).max(c.on[b] as f64)));
                let new = (c.on[b] < c.members)
                    .then(|| vars.add(variable().min(0.0).max((c.members - c.on[b]) as f64)));
                if let Some(v) = new {
                    obj.add_mul(1.0, v);
                    news.push(v);
                }
                (kept, new)
            })
            .collect();
        kn.push(row);
    }
    let held = |cell: &(Option<Variable>, Option<Variable>)| -> Expression {
        let mut e = Expression::default();
        if let Some(k) = cell.0 {
            e.add_mul(1.0, k);
        }
        if let Some(n) = cell.1 {
            e.add_mul(1.0, n);
        }
        e
    };
    let mut model = vars.minimise(obj).using(default_solver);
    for (c, class) in classes.iter().enumerate() {
        let all: Expression = kn[c].iter().map(held).sum();
        model.add_constraint(all.eq((class.rf * class.members) as f64));
        let cap = topo.rack_cap(class.rf);
        for members in &topo.racks {
            if members.len() <= cap {
                continue;
            }
            let r = topo.rack[members[0]];
            let in_rack: Expression = allowed
                .iter()
                .enumerate()
                .filter(|(_, &b)| topo.rack[b] == r)
                .map(|(i, _)| held(&kn[c][i]))
                .sum();
            model.add_constraint(in_rack.leq((cap * class.members) as f64));
        }
    }
    for (i, &b) in allowed.iter().enumerate() {
        if let Some((lo, hi)) = rows.band {
            let load: Expression = kn.iter().map(|row| held(&row[i])).sum();
            model.add_constraint(load.clone().leq(hi[b] as f64));
            if lo[b] > 0 {
                model.add_constraint(load.geq(lo[b] as f64));
            }
        }
        if let Some(ceiling) = rows.ceilings.get(b).copied().flatten() {
            let mut bytes = Expression::with_capacity(2 * classes.len());
            for (c, class) in classes.iter().enumerate() {
                if class.smin > 0 {
                    let w = class.smin as f64 / scale;
                    if let Some(k) = kn[c][i].0 {
                        bytes.add_mul(w, k);
                    }
                    if let Some(n) = kn[c][i].1 {
                        bytes.add_mul(w, n);
                    }
                }
            }
            model.add_constraint(bytes.leq(ceiling as f64 / scale));
        }
    }
    let solution = match solve_within(model, time_limit_secs) {
        Ok(s) => s,
        Err(stopped) => return stopped,
    };
    let value: f64 = news.iter().map(|&v| solution.value(v)).sum();
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

/// Solves `model` within `secs`; an infeasible model or a solver error is the [`Solved`]
/// the caller returns as it is.
fn solve_within<M>(model: M, secs: f64) -> Result<M::Solution, Solved>
where
    M: good_lp::SolverModel<Error = good_lp::ResolutionError> + good_lp::solvers::WithTimeLimit,
{
    match model.with_time_limit(secs.max(0.0)).solve() {
        Ok(solution) => Ok(solution),
        Err(good_lp::ResolutionError::Infeasible) => Err(Solved::Infeasible),
        Err(e) => Err(Solved::Skipped(format!("{} stopped: {e}", solver_name()))),
    }
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

    fn lp_value(solved: Solved) -> f64 {
        match solved {
            Solved::Optimal { objective, .. } => objective,
            other => panic!("{other:?}"),
        }
    }

    /// By hand, on the 4-broker case (RF 2 on brokers 1 and 3, sizes 10, 20, 30, 40; racks
    /// a = {1, 2}, b = {3, 4}, so every move stays in its rack):
    /// - band [2, 2]: brokers 1 and 3 shed 2 replicas each, 4 moves, whatever the classes
    ///   (the count rows are exact);
    /// - no band, 50-byte ceilings: brokers 1 and 3 hold 100 and shed 50 each. With one size
    ///   per class (ratio 1.01) the LP sheds the 40 and a third of the 30: 2 × 4/3 = 8/3
    ///   moves, the per-partition LP's value. With ratio 2 the classes are {10}, {20, 30}
    ///   (counted as 20 each) and {40}: a broker "holds" 90 and sheds the 40, 2 moves. With one
    ///   class every replica counts as 10: a broker "holds" 40, nothing must move.
    #[test]
    fn size_class_moves_lp_counted_by_hand() {
        let c = four_brokers(Some(50));
        let topo = Topology::new(&c, &BTreeSet::new());
        let band = (vec![2; 4], vec![2; 4]);
        let banded = ModelRows {
            band: Some((&band.0, &band.1)),
            ceilings: &[None; 4],
        };
        let ceilings = [Some(50); 4];
        let ceiled = ModelRows {
            band: None,
            ceilings: &ceilings,
        };
        for key in [ClassKey::CurrentSet, ClassKey::RackProfile] {
            for (ratio, by_hand) in [(Some(1.01), 8.0 / 3.0), (Some(2.0), 2.0), (None, 0.0)] {
                let b = lp_value(solve_moves_classed(&c, &topo, &banded, key, ratio, 10.0));
                assert!((b - 4.0).abs() < 1e-6, "{key:?} {ratio:?}: {b}");
                let v = lp_value(solve_moves_classed(&c, &topo, &ceiled, key, ratio, 10.0));
                assert!((v - by_hand).abs() < 1e-6, "{key:?} {ratio:?}: {v}");
            }
        }
        let per_partition = lp_value(solve(
            &c,
            &topo,
            &ceiled,
            Objective::Moves,
            false,
            10.0,
            1000,
        ));
        assert!((per_partition - 8.0 / 3.0).abs() < 1e-6, "{per_partition}");
        // The chooser takes the finest classing that fits and says what it took.
        let (classing, solved) = solve_moves_classes(&c, &topo, &ceiled, 10.0, 1000);
        let classing = classing.unwrap();
        assert_eq!(classing.key, ClassKey::CurrentSet);
        assert_eq!(classing.ratio, Some(1.01));
        assert_eq!(classing.classes, 4);
        // 4 classes × (kept on 1 and 3, new on 2 and 4).
        assert_eq!(classing.variables, 16);
        assert!((lp_value(solved) - 8.0 / 3.0).abs() < 1e-6);
        // One variable short of even the coarsest classing: skipped, with the reason.
        match solve_moves_classes(&c, &topo, &ceiled, 10.0, 3) {
            (None, Solved::Skipped(why)) => assert!(why.contains("more than 3 variables"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    /// A random rack-safe cluster: 6 to 8 brokers in 3 racks, 12 to 24 partitions of RF 2
    /// or 3, sizes drawn from `sizes`; returns it with a count band and disk ceilings loose
    /// enough that the per-partition LP is usually feasible and tight enough to bind.
    fn random_case(
        seed: u64,
        sizes: &[u64],
    ) -> (Cluster, Vec<usize>, Vec<usize>, Vec<Option<u64>>) {
        let mut state = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut next = |n: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % n
        };
        let nb = 6 + next(3) as usize;
        let brokers: Vec<Broker> = (0..nb)
            .map(|i| Broker {
                id: i as i32 + 1,
                rack: Some(["a", "b", "c"][i % 3].to_string()),
                capacity_bytes: None,
                log_dirs: Vec::new(),
            })
            .collect();
        let np = 12 + next(13) as usize;
        let mut partitions = Vec::new();
        for i in 0..np {
            let rf = 2 + next(2) as usize;
            // One broker per rack, skewed towards the low ids so the band must move some.
            let mut racks = [0usize, 1, 2];
            racks.swap(0, next(3) as usize);
            let replicas = racks[..rf]
                .iter()
                .map(|&r| {
                    let in_rack: Vec<usize> = (0..nb).filter(|b| b % 3 == r).collect();
                    let pick = next(in_rack.len() as u64).min(next(in_rack.len() as u64));
                    in_rack[pick as usize] as i32 + 1
                })
                .collect();
            partitions.push(Partition {
                tp: TopicPartition::new("t", i as i32),
                replicas,
                size_bytes: sizes[next(sizes.len() as u64) as usize],
                leader: None,
                isr: None,
                in_flight: None,
                log_dirs: Vec::new(),
                rates: None,
            });
        }
        let replicas: usize = partitions.iter().map(|p| p.replicas.len()).sum();
        let bytes: u64 = partitions
            .iter()
            .map(|p| p.size_bytes * p.replicas.len() as u64)
            .sum();
        let lo = vec![replicas / nb; nb];
        let hi = vec![replicas.div_ceil(nb); nb];
        let ceiling = Some(bytes / nb as u64 * 5 / 4);
        (Cluster::new(brokers, partitions), lo, hi, vec![ceiling; nb])
    }

    /// The size-class LP is a relaxation: never above the per-partition LP, on either key
    /// and any ratio; with one size per class of current broker sets it is the same LP.
    #[test]
    fn size_class_moves_lp_never_above_the_per_partition_lp() {
        let mut compared = 0;
        for seed in 0..40 {
            // Distinct sizes far apart (×2), so ratio 1.01 gives one size per class.
            let (c, lo, hi, ceilings) = random_case(seed, &[10, 20, 40, 80, 160]);
            let topo = Topology::new(&c, &BTreeSet::new());
            let rows = ModelRows {
                band: Some((&lo, &hi)),
                ceilings: &ceilings,
            };
            let per_partition = match solve(&c, &topo, &rows, Objective::Moves, false, 10.0, 10_000)
            {
                Solved::Optimal { objective, .. } => objective,
                Solved::Infeasible => continue,
                other => panic!("seed {seed}: {other:?}"),
            };
            compared += 1;
            let exact = lp_value(solve_moves_classed(
                &c,
                &topo,
                &rows,
                ClassKey::CurrentSet,
                Some(1.01),
                10.0,
            ));
            assert!(
                (exact - per_partition).abs() < 1e-6,
                "seed {seed}: {exact} against {per_partition}"
            );
            for key in [ClassKey::CurrentSet, ClassKey::RackProfile] {
                for ratio in [Some(1.01), Some(1.5), Some(4.0), None] {
                    let v = match solve_moves_classed(&c, &topo, &rows, key, ratio, 10.0) {
                        Solved::Optimal { objective, .. } => objective,
                        other => panic!("seed {seed} {key:?} {ratio:?}: {other:?}"),
                    };
                    assert!(
                        v <= per_partition + 1e-6,
                        "seed {seed} {key:?} {ratio:?}: {v} above {per_partition}"
                    );
                }
            }
        }
        assert!(compared >= 20, "only {compared} feasible cases");
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
