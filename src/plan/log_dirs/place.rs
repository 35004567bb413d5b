//! The dir placement of one broker-level layout, broker by broker.
//!
//! Per broker, the usable dirs are its online dirs not being drained. The replicas it holds
//! after the plan are: staying ones in their current usable dir (moving one costs its
//! size), ones in a drained dir (must move, cost their size), arriving ones (copied from
//! another broker anyway: any dir costs nothing), and ones whose dir is unknown (left as
//! they are, in no dir's figures).
//!
//! Any placement with every dir's usage fraction in `[c, c·(1+t)]` (dir weights: their
//! capacities when all are known, else equal) and under its capacity limit sheds at least
//! `over(c)` bytes from the dirs above their ceiling and brings at least `under(c)` into the
//! dirs below their floor, of which the arriving and drained replicas supply at most their
//! bytes. `over` falls and `under` rises with `c`, so the cheapest `c` is where they cross
//! (bisection); that minimum plus the drained bytes is the bound printed. The placement aims
//! at that `c` with a slightly tighter tolerance (sizes are granular): it sheds from each
//! dir above its ceiling the fewest bytes that bring it down, more from the fullest dirs if
//! the floors need it, puts the free replicas largest first into the emptiest dir that has
//! room, then moves single replicas from the fullest to the emptiest dir (cheapest first)
//! while that lowers the larger of the two.

use std::collections::BTreeMap;

use super::{drained, limit, BrokerDirBalance, DirEntry, DirFigure, LogDirOutcome};
use crate::model::{Broker, Cluster, Layout};
use crate::plan::{Infeasible, PlanConfig, PlanError};

/// Share of the tolerance the placement aims at, leaving room for granular sizes.
const AIM: f64 = 0.8;
/// Most single-replica moves of the last phase, per broker.
const MAX_REFINE_MOVES: usize = 4096;

/// Weight of each of `dirs` for usage fractions: its capacity when every dir has one,
/// else 1 (equal shares).
pub fn dir_weights(dirs: &[&crate::model::BrokerLogDir]) -> Vec<f64> {
    if dirs.iter().all(|d| d.capacity_bytes.is_some_and(|c| c > 0)) {
        dirs.iter()
            .map(|d| d.capacity_bytes.unwrap_or(1) as f64)
            .collect()
    } else {
        vec![1.0; dirs.len()]
    }
}

/// True when the plan may change `tp` (a movable topic, not frozen).
fn may_change(config: &PlanConfig, tp: &crate::model::TopicPartition) -> bool {
    config
        .movable
        .as_ref()
        .is_none_or(|m| m.contains(&tp.topic))
        && !config.frozen.contains(tp)
}

/// A replica to place on one broker.
#[derive(Debug, Clone)]
struct Item {
    part: usize,
    /// Position in the new replica list.
    pos: usize,
    size: u64,
    /// The usable dir it is in now (`None`: arriving, or in a drained dir).
    origin: Option<usize>,
    /// Copied from another broker (its dir costs nothing).
    arriving: bool,
    /// The partition may not change (outside the movable topics, or frozen): it stays in its
    /// dir.
    pinned: bool,
}

impl Item {
    fn cost(&self, dir: usize) -> u64 {
        if self.arriving || self.origin == Some(dir) {
            0
        } else {
            self.size
        }
    }
}

/// Bytes shed and brought in for the band `[c, c·(1+t)]` (per unit of weight).
fn over_under(stay: &[u64], w: &[f64], lim: &[Option<u64>], c: f64, t: f64) -> (f64, f64) {
    let mut over = 0.0;
    let mut under = 0.0;
    for d in 0..stay.len() {
        let mut hi = c * (1.0 + t) * w[d];
        let mut lo = c * w[d];
        if let Some(l) = lim[d] {
            hi = hi.min(l as f64);
            lo = lo.min(l as f64);
        }
        let s = stay[d] as f64;
        over += (s - hi).max(0.0);
        under += (lo - s).max(0.0);
    }
    (over, under)
}

/// The cheapest band floor `c` and the bytes any placement in `[c, c·(1+t)]` must shed.
fn cheapest_band(stay: &[u64], w: &[f64], lim: &[Option<u64>], free: u64, t: f64) -> (f64, u64) {
    let total: f64 = stay.iter().sum::<u64>() as f64 + free as f64;
    let wsum: f64 = w.iter().sum();
    if wsum <= 0.0 || total <= 0.0 {
        return (0.0, 0);
    }
    let mean = total / wsum;
    let cost = |c: f64| {
        let (over, under) = over_under(stay, w, lim, c, t);
        over.max(under - free as f64).max(0.0)
    };
    let (mut a, mut b) = (mean / (1.0 + t), mean);
    for _ in 0..64 {
        let m = 0.5 * (a + b);
        let (over, under) = over_under(stay, w, lim, m, t);
        if over > under - free as f64 {
            a = m;
        } else {
            b = m;
        }
    }
    let (c, best) = [a, b, mean / (1.0 + t), mean]
        .into_iter()
        .map(|c| (c, cost(c)))
        .fold(
            (mean, f64::INFINITY),
            |acc, x| if x.1 < acc.1 { x } else { acc },
        );
    // Floor, less a byte of float slack: a bound must never be above the truth.
    let bytes = (best - 1.0).max(0.0).floor() as u64;
    (c, bytes)
}

/// Picks stay items of one dir to shed, at least `need` bytes, the fewest bytes: the largest
/// that do not overshoot, then the smallest that completes the need (within `window` when
/// one does).
fn shed(items: &[Item], members: &[usize], need: u64, window: u64) -> Vec<usize> {
    let mut sorted: Vec<usize> = members
        .iter()
        .copied()
        .filter(|&k| items[k].size > 0 && !items[k].pinned)
        .collect();
    sorted.sort_by_key(|&k| (std::cmp::Reverse(items[k].size), items[k].part));
    let mut taken = 0u64;
    let mut chosen = Vec::new();
    let mut left = Vec::new();
    for k in sorted {
        if taken < need && items[k].size <= need - taken {
            taken += items[k].size;
            chosen.push(k);
        } else {
            left.push(k);
        }
    }
    if taken < need {
        let rest = need - taken;
        let completes = left.iter().copied().filter(|&k| items[k].size >= rest);
        let inside = completes
            .clone()
            .filter(|&k| taken + items[k].size <= window)
            .min_by_key(|&k| (items[k].size, items[k].part));
        if let Some(k) =
            inside.or_else(|| completes.min_by_key(|&k| (items[k].size, items[k].part)))
        {
            chosen.push(k);
        }
    }
    chosen
}

/// max/min usage fraction of `bytes` over dirs with weights `w`.
fn ratio(bytes: &[u64], w: &[f64]) -> Option<f64> {
    if bytes.len() < 2 {
        return None;
    }
    let f: Vec<f64> = bytes.iter().zip(w).map(|(&b, &w)| b as f64 / w).collect();
    let max = f.iter().copied().fold(0.0, f64::max);
    let min = f.iter().copied().fold(f64::INFINITY, f64::min);
    if max <= 0.0 {
        Some(1.0)
    } else if min <= 0.0 {
        Some(f64::INFINITY)
    } else {
        Some(max / min)
    }
}

/// What one broker's placement decided.
struct BrokerPlacement {
    /// (partition, position in the new list) → dir path.
    dirs: Vec<(usize, usize, String)>,
    /// Partitions whose replica moved between this broker's dirs, with its bytes.
    intra: Vec<(usize, u64)>,
    balance: Option<BrokerDirBalance>,
    figures: Vec<DirFigure>,
    unknown: usize,
}

fn place_broker(
    cluster: &Cluster,
    config: &PlanConfig,
    broker: &Broker,
    before: &Layout,
    after: &Layout,
) -> Result<BrokerPlacement, Infeasible> {
    let id = broker.id;
    let all = &broker.log_dirs;
    let usable: Vec<usize> = (0..all.len())
        .filter(|&d| !all[d].offline && !drained(config, id, &all[d].path))
        .collect();
    let udirs: Vec<&crate::model::BrokerLogDir> = usable.iter().map(|&d| &all[d]).collect();
    let w = dir_weights(&udirs);
    let lim: Vec<Option<u64>> = udirs
        .iter()
        .map(|d| d.capacity_bytes.map(|c| limit(c, config.max_disk_util)))
        .collect();
    let slot_of = |path: &str| all.iter().position(|d| d.path == path);
    let mut figures: Vec<DirFigure> = all
        .iter()
        .map(|d| DirFigure {
            broker: id,
            path: d.path.clone(),
            capacity_bytes: d.capacity_bytes,
            offline: d.offline,
            drained: drained(config, id, &d.path),
            before_bytes: 0,
            after_bytes: 0,
            before_replicas: 0,
            after_replicas: 0,
        })
        .collect();
    let mut items: Vec<Item> = Vec::new();
    let mut unknown = 0;
    let mut drained_bytes = 0u64;
    for (i, p) in cluster.partitions.iter().enumerate() {
        let old = p.replicas.iter().position(|&r| r == id);
        let old_dir = old.and_then(|k| p.log_dirs.get(k).cloned().flatten());
        if let Some(s) = old_dir.as_deref().and_then(slot_of) {
            figures[s].before_bytes += p.size_bytes;
            figures[s].before_replicas += 1;
        }
        debug_assert_eq!(before.replicas[i], p.replicas);
        let Some(pos) = after.replicas[i].iter().position(|&r| r == id) else {
            continue;
        };
        let item = match (old, old_dir) {
            (None, _) => Item {
                part: i,
                pos,
                size: p.size_bytes,
                origin: None,
                arriving: true,
                pinned: false,
            },
            (Some(_), None) => {
                unknown += 1;
                continue;
            }
            (Some(_), Some(path)) => {
                let Some(s) = slot_of(&path) else {
                    return Err(Infeasible::Rule(format!(
                        "{}: broker {id} has no log dir {path}",
                        p.tp
                    )));
                };
                if all[s].offline {
                    return Err(Infeasible::Rule(format!(
                        "{}: its replica on broker {id} is in offline log dir {path} and stays on the broker",
                        p.tp
                    )));
                }
                let origin = usable.iter().position(|&u| u == s);
                if origin.is_none() {
                    drained_bytes += p.size_bytes;
                }
                Item {
                    part: i,
                    pos,
                    size: p.size_bytes,
                    origin,
                    arriving: false,
                    pinned: origin.is_some() && !may_change(config, &p.tp),
                }
            }
        };
        items.push(item);
    }
    if usable.is_empty() {
        if items.is_empty() {
            return Ok(BrokerPlacement {
                dirs: Vec::new(),
                intra: Vec::new(),
                balance: None,
                figures,
                unknown,
            });
        }
        return Err(Infeasible::Rule(format!(
            "broker {id}: {} replica(s) stay on it but it has no online log dir that is not drained",
            items.len()
        )));
    }
    let nd = usable.len();
    let mut stay = vec![0u64; nd];
    let mut free_bytes = 0u64;
    for it in &items {
        match it.origin {
            Some(d) => stay[d] += it.size,
            None => free_bytes += it.size,
        }
    }
    let before_ratio = ratio(&stay_all(&figures, &usable), &w);
    let tol = config.log_dir_tolerance;
    let (c, _) = cheapest_band(&stay, &w, &lim, free_bytes, tol * AIM);
    // Phase 1: stay items in their dirs; shed from the dirs above the band's ceiling.
    let mut at: Vec<Option<usize>> = items.iter().map(|it| it.origin).collect();
    let mut bytes = stay.clone();
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); nd];
    for (k, it) in items.iter().enumerate() {
        if let Some(d) = it.origin {
            members[d].push(k);
        }
    }
    let band = |d: usize| {
        let mut hi = c * (1.0 + tol * AIM) * w[d];
        let mut lo = c * w[d];
        if let Some(l) = lim[d] {
            hi = hi.min(l as f64);
            lo = lo.min(l as f64);
        }
        (lo.ceil() as u64, hi.floor() as u64)
    };
    let mut free: Vec<usize> = (0..items.len()).filter(|&k| at[k].is_none()).collect();
    let mut take = |d: usize,
                    need: u64,
                    window: u64,
                    at: &mut Vec<Option<usize>>,
                    bytes: &mut Vec<u64>,
                    free: &mut Vec<usize>| {
        let chosen = shed(&items, &members[d], need, window);
        for k in chosen {
            at[k] = None;
            bytes[d] -= items[k].size;
            free.push(k);
        }
        members[d].retain(|&k| at[k] == Some(d));
    };
    for d in 0..nd {
        let (lo, hi) = band(d);
        if bytes[d] > hi {
            take(
                d,
                bytes[d] - hi,
                bytes[d].saturating_sub(lo),
                &mut at,
                &mut bytes,
                &mut free,
            );
        }
    }
    // More from the fullest dirs when the floors need more than is free.
    let free_total: u64 = free.iter().map(|&k| items[k].size).sum();
    let deficit: u64 = (0..nd).map(|d| band(d).0.saturating_sub(bytes[d])).sum();
    if deficit > free_total {
        let mut extra = deficit - free_total;
        let mut order: Vec<usize> = (0..nd).collect();
        order.sort_by(|&a, &b| {
            let fa = bytes[a] as f64 / w[a];
            let fb = bytes[b] as f64 / w[b];
            fb.total_cmp(&fa).then(a.cmp(&b))
        });
        for d in order {
            if extra == 0 {
                break;
            }
            let lo = band(d).0;
            if bytes[d] <= lo {
                continue;
            }
            let room = bytes[d] - lo;
            let before_shed = bytes[d];
            take(d, extra.min(room), room, &mut at, &mut bytes, &mut free);
            extra = extra.saturating_sub(before_shed - bytes[d]);
        }
    }
    // Phase 2: free items, largest first, into the emptiest dir with room.
    free.sort_by_key(|&k| (std::cmp::Reverse(items[k].size), items[k].part));
    for &k in &free {
        let it = &items[k];
        let fits = |d: usize| lim[d].is_none_or(|l| bytes[d] + it.size <= l);
        let pick = (0..nd)
            .filter(|&d| fits(d))
            .min_by(|&a, &b| {
                let fa = (bytes[a] + it.size) as f64 / w[a];
                let fb = (bytes[b] + it.size) as f64 / w[b];
                fa.total_cmp(&fb)
                    .then(it.cost(a).cmp(&it.cost(b)))
                    .then(a.cmp(&b))
            })
            .or_else(|| {
                // Nothing has room: the dir with the most left (the refinement and the
                // verifier see the overflow).
                (0..nd).min_by_key(|&d| {
                    (
                        (bytes[d] + it.size).saturating_sub(lim[d].unwrap_or(u64::MAX)),
                        d,
                    )
                })
            });
        if let Some(d) = pick {
            at[k] = Some(d);
            bytes[d] += it.size;
        }
    }
    let mut in_dir: Vec<Vec<usize>> = vec![Vec::new(); nd];
    for (k, a) in at.iter().enumerate() {
        if let Some(d) = a {
            in_dir[*d].push(k);
        }
    }
    // Phase 3: single moves from the fullest (or an over-limit) dir to the emptiest.
    for _ in 0..MAX_REFINE_MOVES {
        let frac = |d: usize, b: &[u64]| b[d] as f64 / w[d];
        let over_limit = (0..nd).find(|&d| lim[d].is_some_and(|l| bytes[d] > l));
        let a = over_limit.unwrap_or_else(|| {
            (0..nd)
                .max_by(|&x, &y| frac(x, &bytes).total_cmp(&frac(y, &bytes)).then(y.cmp(&x)))
                .unwrap_or(0)
        });
        let z = (0..nd)
            .filter(|&d| d != a)
            .min_by(|&x, &y| frac(x, &bytes).total_cmp(&frac(y, &bytes)).then(x.cmp(&y)));
        let Some(z) = z else { break };
        let fa = frac(a, &bytes);
        let fz = frac(z, &bytes);
        if over_limit.is_none() && (fz > 0.0 && fa / fz <= 1.0 + tol || fa <= 0.0) {
            break;
        }
        let best = in_dir[a]
            .iter()
            .copied()
            .filter(|&k| items[k].size > 0 && !items[k].pinned)
            .filter(|&k| lim[z].is_none_or(|l| bytes[z] + items[k].size <= l))
            .filter_map(|k| {
                let s = items[k].size;
                let na = (bytes[a] - s) as f64 / w[a];
                let nz = (bytes[z] + s) as f64 / w[z];
                let worse = na.max(nz);
                (over_limit.is_some() || worse < fa).then(|| {
                    let delta = items[k].cost(z) as i128 - items[k].cost(a) as i128;
                    (k, delta, worse)
                })
            })
            .min_by(|x, y| x.1.cmp(&y.1).then(x.2.total_cmp(&y.2)).then(x.0.cmp(&y.0)));
        let Some((k, _, _)) = best else { break };
        in_dir[a].retain(|&x| x != k);
        in_dir[z].push(k);
        bytes[a] -= items[k].size;
        bytes[z] += items[k].size;
        at[k] = Some(z);
    }
    for d in 0..nd {
        if let Some(l) = lim[d].filter(|&l| bytes[d] > l) {
            return Err(Infeasible::Rule(format!(
                "broker {id} log dir {}: its replicas need {} bytes, over its limit of {l} bytes (capacity × max disk util); no placement of the broker's replicas over its dirs fits",
                udirs[d].path, bytes[d]
            )));
        }
    }
    let after_ratio = ratio(&bytes, &w);
    // The bound, at the tolerance this broker reached where sizes did not allow the asked one.
    let reached = after_ratio
        .filter(|r| r.is_finite())
        .map_or(tol, |r| (r - 1.0).max(tol));
    let (_, shed_bound) = cheapest_band(&stay, &w, &lim, free_bytes, reached);
    let intra_bound = drained_bytes + shed_bound;
    let mut dirs = Vec::new();
    let mut intra = Vec::new();
    for (k, it) in items.iter().enumerate() {
        let Some(d) = at[k] else { continue };
        let path = udirs[d].path.clone();
        let s = usable[d];
        figures[s].after_bytes += it.size;
        figures[s].after_replicas += 1;
        if !it.arriving && it.origin != Some(d) {
            intra.push((it.part, it.size));
        }
        dirs.push((it.part, it.pos, path));
    }
    let intra_bytes = intra.iter().map(|x| x.1).sum();
    Ok(BrokerPlacement {
        dirs,
        intra,
        balance: Some(BrokerDirBalance {
            broker: id,
            before_ratio,
            after_ratio,
            intra_bytes,
            intra_bound,
        }),
        figures,
        unknown,
    })
}

/// Current bytes of the usable dirs (from the figures).
fn stay_all(figures: &[DirFigure], usable: &[usize]) -> Vec<u64> {
    usable.iter().map(|&s| figures[s].before_bytes).collect()
}

/// Places every replica of the brokers with known dirs and builds the dir-aware plan.
pub(super) fn place(
    cluster: &Cluster,
    config: &PlanConfig,
    before: &Layout,
    after: &Layout,
) -> Result<LogDirOutcome, PlanError> {
    let mut chosen: BTreeMap<(usize, usize), String> = BTreeMap::new();
    let mut intra_parts: BTreeMap<usize, usize> = BTreeMap::new();
    let mut out = LogDirOutcome {
        tolerance: config.log_dir_tolerance,
        dirs: Vec::new(),
        brokers: Vec::new(),
        intra_moves: 0,
        intra_bytes: 0,
        intra_bound: 0,
        evicted: 0,
        unknown_dir_replicas: 0,
        plan: BTreeMap::new(),
        rollback: BTreeMap::new(),
        intra_only: 0,
    };
    let mut problems = Vec::new();
    for b in cluster.brokers.iter().filter(|b| !b.log_dirs.is_empty()) {
        match place_broker(cluster, config, b, before, after) {
            Ok(p) => {
                for (part, pos, path) in p.dirs {
                    chosen.insert((part, pos), path);
                }
                for (part, size) in p.intra {
                    *intra_parts.entry(part).or_insert(0) += 1;
                    out.intra_moves += 1;
                    out.intra_bytes += size;
                }
                if let Some(bal) = p.balance {
                    out.intra_bound += bal.intra_bound;
                    out.brokers.push(bal);
                }
                out.dirs.extend(p.figures);
                out.unknown_dir_replicas += p.unknown;
            }
            Err(e) => problems.push(e),
        }
    }
    if !problems.is_empty() {
        return Err(PlanError::Infeasible(problems));
    }
    for (i, p) in cluster.partitions.iter().enumerate() {
        let (old, new) = (&before.replicas[i], &after.replicas[i]);
        let moved_dirs = intra_parts.contains_key(&i);
        if old == new && !moved_dirs {
            continue;
        }
        if old == new {
            out.intra_only += 1;
        }
        let log_dirs = new
            .iter()
            .enumerate()
            .map(|(pos, b)| {
                let arriving = !old.contains(b);
                let dir = chosen.get(&(i, pos)).cloned();
                let stays_in = old
                    .iter()
                    .position(|x| x == b)
                    .and_then(|k| p.log_dirs.get(k).cloned().flatten());
                // Fixed where the plan decides it: arriving replicas and moved ones.
                if arriving || dir != stays_in {
                    dir
                } else {
                    None
                }
            })
            .collect();
        out.plan.insert(
            p.tp.clone(),
            DirEntry {
                replicas: new.clone(),
                log_dirs,
            },
        );
        let current: Vec<Option<String>> = (0..old.len())
            .map(|k| p.log_dirs.get(k).cloned().flatten())
            .collect();
        out.rollback.insert(
            p.tp.clone(),
            DirEntry {
                replicas: old.clone(),
                log_dirs: current,
            },
        );
    }
    out.dirs
        .sort_by(|a, b| (a.broker, &a.path).cmp(&(b.broker, &b.path)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(part: usize, size: u64) -> Item {
        Item {
            part,
            pos: 0,
            size,
            origin: Some(0),
            arriving: false,
            pinned: false,
        }
    }

    #[test]
    fn shedding_takes_the_fewest_bytes_that_cover_the_need() {
        let items: Vec<Item> = [50, 30, 20, 7, 3]
            .iter()
            .enumerate()
            .map(|(i, &s)| item(i, s))
            .collect();
        let all: Vec<usize> = (0..items.len()).collect();
        let mut got = shed(&items, &all, 33, 40);
        got.sort();
        // 30 + 3 covers 33 exactly.
        assert_eq!(got, vec![1, 4]);
        // Nothing small enough: the smallest that completes it.
        let got = shed(&items, &[0, 1], 10, 100);
        assert_eq!(got, vec![1]);
    }

    #[test]
    fn the_band_bound_is_zero_when_the_dirs_are_even() {
        let (_, bytes) = cheapest_band(&[100, 100], &[1.0, 1.0], &[None, None], 0, 0.05);
        assert_eq!(bytes, 0);
        // 300 vs 100: at least (300 - 100) / 2 less the tolerance's slack must move.
        let (_, bytes) = cheapest_band(&[300, 100], &[1.0, 1.0], &[None, None], 0, 0.0);
        assert!((99..=100).contains(&bytes), "{bytes}");
        // Arriving bytes fill the empty dir for free.
        let (_, bytes) = cheapest_band(&[100, 0], &[1.0, 1.0], &[None, None], 100, 0.0);
        assert_eq!(bytes, 0);
    }

    #[test]
    fn ratios_cover_empty_dirs() {
        assert_eq!(ratio(&[10], &[1.0]), None);
        assert_eq!(ratio(&[0, 0], &[1.0, 1.0]), Some(1.0));
        assert_eq!(ratio(&[10, 0], &[1.0, 1.0]), Some(f64::INFINITY));
        assert_eq!(ratio(&[20, 10], &[2.0, 1.0]), Some(1.0));
    }
}
