//! `count+bytes` balance: after the exact count flow, swap replicas between brokers to even
//! out disk use. A swap exchanges a replica of partition `p` on the fullest broker `a` with
//! a replica of a smaller partition `q` on a lighter broker `b`; each broker keeps its
//! replica count (so the count band the flow reached holds), the rack rule is kept per
//! partition, and no broker goes over its capacity limit. Swaps are taken greedily — the
//! one that lowers the fullest broker's utilisation most, preferring swaps that undo moves
//! over swaps that add them — until none lowers it. Local search: no optimality claimed.

use std::collections::BTreeMap;

use super::replicas::Topology;
use crate::model::Cluster;

/// Partner brokers tried per swap (the lightest ones).
const PARTNERS: usize = 6;
/// Replicas of a partner sampled per swap, spread over its size range.
const SAMPLE: usize = 96;

/// What the refinement did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BytesRefinement {
    pub swaps: usize,
    /// Replica moves added (positive) or undone (negative) by the swaps.
    pub move_delta: i64,
}

/// Per-broker divisor of utilisation: the capacity limit when every allowed broker has one,
/// else 1 (bytes are compared directly).
fn divisors(topo: &Topology, limits: &[Option<u64>]) -> Vec<f64> {
    let all_known = (0..topo.ids.len())
        .filter(|&b| topo.allowed[b])
        .all(|b| limits.get(b).copied().flatten().is_some());
    (0..topo.ids.len())
        .map(|b| match limits.get(b).copied().flatten() {
            Some(l) if all_known && l > 0 => l as f64,
            _ => 1.0,
        })
        .collect()
}

/// Improves disk balance in place. `max_added_moves`: how many extra replica moves the
/// swaps may add in total (`None` = no limit; budgets pass what is left of theirs).
pub fn refine(
    cluster: &Cluster,
    topo: &Topology,
    limits: &[Option<u64>],
    sets: &mut [Vec<usize>],
    max_added_moves: Option<usize>,
) -> BytesRefinement {
    let nb = topo.ids.len();
    let div = divisors(topo, limits);
    let size = |p: usize| cluster.partitions[p].size_bytes;
    let mut bytes = vec![0u64; nb];
    let mut on: Vec<BTreeMap<(u64, usize), ()>> = vec![BTreeMap::new(); nb];
    for (p, set) in sets.iter().enumerate() {
        for &b in set {
            bytes[b] += size(p);
            on[b].insert((size(p), p), ());
        }
    }
    let original: Vec<Vec<usize>> = cluster
        .partitions
        .iter()
        .map(|p| {
            p.replicas
                .iter()
                .filter_map(|id| topo.index_of(*id))
                .collect()
        })
        .collect();
    let util = |b: usize, bytes: &[u64]| bytes[b] as f64 / div[b];
    let fits = |b: usize, new_bytes: u64| {
        limits
            .get(b)
            .copied()
            .flatten()
            .is_none_or(|l| new_bytes <= l)
    };
    // Can broker `to` take `from`'s place in partition `p`'s set under the rack rule?
    let rack_ok = |sets: &[Vec<usize>], p: usize, from: usize, to: usize| -> bool {
        let set = &sets[p];
        if set.contains(&to) {
            return false;
        }
        let cap = topo.rack_cap(set.len());
        let r = topo.rack[to];
        let same = set
            .iter()
            .filter(|&&x| x != from && topo.rack[x] == r)
            .count();
        same < cap
    };
    let move_cost = |p: usize, from: usize, to: usize| -> i64 {
        // Leaving an original broker adds a move, arriving at one undoes one.
        let leaves = original[p].contains(&from) as i64;
        let returns = original[p].contains(&to) as i64;
        leaves - returns
    };
    let mut out = BytesRefinement::default();
    let mut added: i64 = 0;
    let iteration_cap = 4 * cluster.partitions.len() + 100;
    for _ in 0..iteration_cap {
        let Some(a) = (0..nb)
            .filter(|&b| topo.allowed[b])
            .max_by(|&x, &y| util(x, &bytes).total_cmp(&util(y, &bytes)).then(y.cmp(&x)))
        else {
            break;
        };
        let ua = util(a, &bytes);
        // (new max utilisation of the pair, move delta, a-partition, b-partition, b)
        let mut best: Option<(f64, i64, usize, usize, usize)> = None;
        // First the lightest partners and a sample of their replicas across the size range
        // (enough to find a swap near the ideal size difference almost always, and fast on
        // large clusters); only when that finds nothing, every partner and every replica.
        for thorough in [false, true] {
            if best.is_some() {
                break;
            }
            let mut partners: Vec<usize> = (0..nb)
                .filter(|&b| topo.allowed[b] && b != a && util(b, &bytes) < ua)
                .collect();
            partners.sort_by(|&x, &y| util(x, &bytes).total_cmp(&util(y, &bytes)).then(x.cmp(&y)));
            if !thorough {
                partners.truncate(PARTNERS);
            }
            for b in partners {
                let ub = util(b, &bytes);
                // The transfer that would equalise a and b (in bytes), split by their divisors.
                let ideal = ((ua - ub) * div[a] * div[b] / (div[a] + div[b])).max(0.0);
                let stride = if thorough {
                    1
                } else {
                    (on[b].len() / SAMPLE).max(1)
                };
                for (&(sq, q), _) in on[b].iter().step_by(stride) {
                    // Partitions on `a` larger than q by about `ideal`: a few on either side of
                    // the target size.
                    let t = (sq as f64 + ideal) as u64;
                    let below: Vec<(u64, usize)> = on[a]
                        .range(..(t, usize::MAX))
                        .rev()
                        .take(4)
                        .map(|(k, _)| *k)
                        .collect();
                    let above: Vec<(u64, usize)> = on[a]
                        .range((t, usize::MAX)..)
                        .take(4)
                        .map(|(k, _)| *k)
                        .collect();
                    for (sp, p) in below.into_iter().chain(above) {
                        if sp <= sq {
                            continue;
                        }
                        let delta = sp - sq;
                        let new_a = bytes[a] - delta;
                        let new_b = bytes[b] + delta;
                        let worst = (new_a as f64 / div[a]).max(new_b as f64 / div[b]);
                        if worst >= ua - 1e-12 || !fits(b, new_b) {
                            continue;
                        }
                        if !rack_ok(sets, p, a, b) || !rack_ok(sets, q, b, a) {
                            continue;
                        }
                        let mc = move_cost(p, a, b) + move_cost(q, b, a);
                        if let Some(m) = max_added_moves {
                            if added + mc > m as i64 {
                                continue;
                            }
                        }
                        let better = match &best {
                            None => true,
                            Some((w, m, ..)) => {
                                worst < *w - 1e-12 || (worst <= *w + 1e-12 && mc < *m)
                            }
                        };
                        if better {
                            best = Some((worst, mc, p, q, b));
                        }
                    }
                }
            }
        }
        let Some((_, mc, p, q, b)) = best else {
            break;
        };
        let (sp, sq) = (size(p), size(q));
        for x in sets[p].iter_mut() {
            if *x == a {
                *x = b;
            }
        }
        for x in sets[q].iter_mut() {
            if *x == b {
                *x = a;
            }
        }
        on[a].remove(&(sp, p));
        on[b].remove(&(sq, q));
        on[a].insert((sq, q), ());
        on[b].insert((sp, p), ());
        bytes[a] = bytes[a] - sp + sq;
        bytes[b] = bytes[b] - sq + sp;
        added += mc;
        out.swaps += 1;
    }
    out.move_delta = added;
    out
}
