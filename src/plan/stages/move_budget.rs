//! Stage 3 (count modes under `max_moves` / `max_bytes`): guarantees a layout within the
//! budget, the move-minimal one of the tightest widening of the count band that fits (or,
//! for a move budget alone, the better-balanced of that and a greedy-cut-shaped candidate);
//! refuses a budget that the hard rules' forced moves exceed. A budget the full balance
//! fits changes nothing.

use super::{budget_text, solution_copies, within_budget, Draft, Halt, Problem, ShedChoice};
use crate::model::Cluster;
use crate::plan::replicas::{self, Bands, Topology};
use crate::plan::{capacity, BudgetOutcome, Infeasible, PlanConfig, PlanError, SolverFacts};

pub(super) fn run(problem: &Problem, draft: &mut Draft) -> Result<(), Halt> {
    let (cluster, config, topo, shed) =
        (problem.cluster, problem.config, &problem.topo, problem.shed);
    let (limits, capacity_checked) = (&problem.limits, problem.capacity_checked);
    let nb = topo.ids.len();
    let optimum_moves = draft.optimum_moves;
    let full_bytes = solution_copies(cluster, topo, &draft.sets).1;
    // A budget the full balance fits changes nothing; otherwise the band is widened until
    // the move-minimal layout fits.
    if within_budget(config, optimum_moves, full_bytes) {
        return Ok(());
    }
    if config.max_bytes.is_some() && !shed.small {
        // Small replicas first: more moves, so a tighter band, fit in the bytes.
        return Err(Halt::Retry(ShedChoice {
            small: true,
            ..shed
        }));
    }
    let bands = &draft.bands;
    let uniform = &draft.uniform;
    let facts = &mut draft.facts;
    // The retry after a refusal by the capacity stage: the greedy-cut candidate, searched
    // until it fits once the capacity repair has run, is the layout (the first run's
    // candidate is what the capacity repair took over the budget).
    let retried = match (config.max_moves, config.max_bytes) {
        (Some(max_moves), None) if shed.fit_after_capacity && capacity_checked => {
            water_level_budget(
                cluster,
                topo,
                bands,
                max_moves,
                Some(limits.as_slice()),
                WATER_LEVEL_RETRY_ROUNDS,
                facts,
            )?
        }
        _ => None,
    };
    let (below, above, sol, widened) = match retried {
        Some((level_bands, level_sol)) => {
            let (below, above) = widening_of(topo, bands, &level_bands);
            (below, above, level_sol, level_bands)
        }
        None => {
            let reached = (0..nb).all(|b| {
                !topo.allowed[b]
                    || (bands.lo[b]..=bands.hi[b].max(bands.lo[b])).contains(&draft.loads[b])
            });
            let (mut below, mut above, mut sol, mut widened) =
                fit_budget(cluster, topo, bands, config, reached, facts)?;
            // A second candidate shaped like a greedy cut of the full plan (each move from
            // the fullest brokers to the emptiest); the better-balanced of the two is kept,
            // ties to the uniform widening.
            if let (Some(max_moves), None) = (config.max_moves, config.max_bytes) {
                let capacity = capacity_checked.then_some(limits.as_slice());
                if let Some((level_bands, level_sol)) = water_level_budget(
                    cluster,
                    topo,
                    bands,
                    max_moves,
                    capacity,
                    WATER_LEVEL_ROUNDS,
                    facts,
                )? {
                    let quality = |sets: &[Vec<usize>]| {
                        let loads = replicas::loads(nb, sets);
                        budget_quality(topo, uniform, &loads)
                    };
                    if quality(&level_sol.replicas) < quality(&sol.replicas) {
                        (below, above) = widening_of(topo, bands, &level_bands);
                        sol = level_sol;
                        widened = level_bands;
                    }
                }
            }
            (below, above, sol, widened)
        }
    };
    draft.budget = Some(BudgetOutcome {
        max_moves: config.max_moves,
        max_bytes: config.max_bytes,
        below,
        above,
        full_moves: optimum_moves,
        full_bytes,
    });
    draft.sets = sol.replicas;
    draft.loads = replicas::loads(nb, &draft.sets);
    draft.bands = widened;
    draft.replica_band_reached = false;
    Ok(())
}

/// Rounds of the greedy-cut candidate's search in a first run, and in the retry after the
/// capacity stage refused the first run's layout (each round is a flow; the first rounds
/// of both are the same, so the retry only goes on where the first run gave up).
const WATER_LEVEL_ROUNDS: usize = 8;
const WATER_LEVEL_RETRY_ROUNDS: usize = 24;

/// How far `widened` reaches below and above `bands` on the allowed brokers.
fn widening_of(topo: &Topology, bands: &Bands, widened: &Bands) -> (usize, usize) {
    let allowed = || (0..topo.ids.len()).filter(|&b| topo.allowed[b]);
    let below = allowed()
        .map(|b| bands.lo[b].saturating_sub(widened.lo[b]))
        .max()
        .unwrap_or(0);
    let above = allowed()
        .map(|b| widened.hi[b].saturating_sub(bands.hi[b]))
        .max()
        .unwrap_or(0);
    (below, above)
}

/// `bands` widened by `below` under each allowed broker's lower limit and `above` over its
/// upper one.
pub(super) fn widen_bands(bands: &Bands, topo: &Topology, below: usize, above: usize) -> Bands {
    Bands {
        lo: bands
            .lo
            .iter()
            .zip(&topo.allowed)
            .map(|(l, a)| if *a { l.saturating_sub(below) } else { *l })
            .collect(),
        hi: bands
            .hi
            .iter()
            .zip(&topo.allowed)
            .map(|(h, a)| if *a { h + above } else { *h })
            .collect(),
    }
}

/// The smallest total widening `s <= max_s` (split into `below + above`) for which `solve`
/// finds a layout within the budget: `solve(below, above)` returns the layout and its cost
/// (moves, leader changes), or `None` when it is over the budget. The exact flows give the
/// cheapest layout for each band and a cheaper one with every widening, so a binary search
/// over `s` holds. The best split depends on where the imbalance is (empty new brokers far
/// below, loaded ones a little above), so nine splits are tried per `s`, the cheapest kept;
/// each is monotone in `s`. `None` when even `max_s` does not fit.
///
/// Cost: a probe of the search only needs to know whether some split fits, so it stops at
/// the first one that does (the split that fit last is tried first); only the widening the
/// search ends on has all its splits solved, to keep the cheapest. The probes and their
/// answers are those of solving every split of every probe, so the result is the same, at
/// about a third of the flows.
pub(super) fn tightest_widening<S>(
    max_s: usize,
    mut solve: impl FnMut(usize, usize) -> Result<Option<(S, usize)>, PlanError>,
) -> Result<Option<(usize, usize, S)>, PlanError> {
    // The splits of `s` as (below, above), without repeats (small `s` repeats some).
    let splits = |s: usize| -> Vec<(usize, usize)> {
        let mut splits: Vec<(usize, usize)> = (0..=SPLITS)
            .map(|k| (s * k / SPLITS, s - s * k / SPLITS))
            .collect();
        splits.dedup();
        splits
    };
    let Some(at_max) = cheapest_split(&splits(max_s), Vec::new(), &mut solve)? else {
        return Ok(None);
    };
    // `lo` does not fit (0: the unconstrained optimum did not), `hi` does; `at_hi` holds
    // the answers of the splits solved at `hi` when the search moved it below `max_s`.
    let (mut lo, mut hi) = (0usize, max_s);
    let mut at_hi: Option<Vec<Option<Answer<S>>>> = None;
    // The fraction (k of SPLITS) of the split that fit last: the likeliest to fit next.
    let mut likely = 0usize;
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        let candidates = splits(mid);
        let mut tried: Vec<Option<Answer<S>>> = (0..candidates.len()).map(|_| None).collect();
        let first = candidates
            .iter()
            .position(|&(below, _)| below == mid * likely / SPLITS)
            .unwrap_or(0);
        let order = std::iter::once(first).chain((0..candidates.len()).filter(|&i| i != first));
        let mut fit = None;
        for i in order {
            let (below, above) = candidates[i];
            let answer = solve(below, above)?;
            let fits = answer.is_some();
            tried[i] = Some(answer);
            if fits {
                fit = Some(i);
                break;
            }
        }
        match fit {
            Some(i) => {
                hi = mid;
                at_hi = Some(tried);
                likely = (0..=SPLITS)
                    .find(|&k| mid * k / SPLITS == candidates[i].0)
                    .unwrap_or(0);
            }
            None => lo = mid,
        }
    }
    match at_hi {
        Some(tried) => cheapest_split(&splits(hi), tried, &mut solve),
        None => Ok(Some(at_max)),
    }
}

/// [`tightest_widening`] for a cost that never grows as either side of the band widens
/// (the move-minimal layout of a band that the unwidened band's layout already reaches:
/// every widening holds that layout, so the optimum can only fall), with `budget` as the
/// fit test (`cost <= budget`) and `bound(below, above)` a lower bound on the cost that
/// needs no flow. Same answer as [`tightest_widening`] on such a cost: the least widening
/// `s` where some split fits, its cheapest fitting split (the first of equal costs), and
/// the layout `solve` gives for it.
///
/// How it needs fewer solves: a split that fails at `s` fails at every smaller widening and
/// one that fits fits at every larger one (each side of a split only grows with `s`), and
/// more generally a failing band proves every band inside it failing, a fitting band every
/// band around it fitting. The bound proves a split failing wherever it exceeds the budget,
/// so each split starts at the least widening the bound allows; each probe of a split then
/// goes where its measured cost says the budget is reached (the bound shifted by the gap
/// measured last, or the line through its last two failing costs, whichever is further;
/// every third probe halves the split's open interval, so the probes stay bracketed). The
/// search ends when one widening fits and every split is proven failing below it, then
/// solves the splits of that widening not proven failing, as [`tightest_widening`] does.
pub(super) fn tightest_widening_bounded<S>(
    max_s: usize,
    budget: usize,
    bound: impl Fn(usize, usize) -> usize,
    mut solve: impl FnMut(usize, usize) -> Result<(S, usize), PlanError>,
) -> Result<Option<(usize, usize, S)>, PlanError> {
    let split = |s: usize, k: usize| (s * k / SPLITS, s - s * k / SPLITS);
    let inside = |p: (usize, usize), q: (usize, usize)| p.0 <= q.0 && p.1 <= q.1;
    let splits = SPLITS + 1;
    // Per split: every widening below `fails_below[k]` fails; `fits_from[k]` fits (max_s + 1:
    // none known); the costs measured at failing widenings, in the order measured.
    let mut fails_below = vec![0usize; splits];
    let mut fits_from = vec![max_s + 1; splits];
    let mut failed: Vec<Vec<(usize, usize)>> = vec![Vec::new(); splits];
    let mut probes = vec![0usize; splits];
    // The least widening whose split `k` the bound does not prove failing (`max_s + 1`: the
    // bound fails it everywhere); the binary search only ever concludes from a bound that
    // was evaluated, so a bound that is not monotone still proves what it proves.
    let least_unbounded = |k: usize, from: usize, to: usize, gap: usize| -> usize {
        let (mut lo, mut hi) = (from, to + 1);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (b, a) = split(mid, k);
            if bound(b, a).saturating_add(gap) <= budget {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        lo
    };
    // Like [`tightest_widening`], the search looks at widenings from 1 on (none at all is
    // the full plan, which did not fit), unless there is nothing else.
    let first = max_s.min(1);
    for k in 0..splits {
        let t = least_unbounded(k, first, max_s, 0);
        // Proven only where the bound was seen over the budget: at t - 1 (or t = 0).
        fails_below[k] = if t == first {
            first
        } else {
            let (b, a) = split(t - 1, k);
            if bound(b, a) > budget {
                t
            } else {
                first
            }
        };
    }
    let mut costs: std::collections::BTreeMap<(usize, usize), usize> = Default::default();
    // Layouts of fitting bands at the least fitting widening found so far.
    let mut layouts: Vec<((usize, usize), S)> = Vec::new();
    loop {
        let best = fits_from.iter().copied().min().unwrap_or(max_s + 1);
        let open = (0..splits)
            .filter(|&k| fails_below[k] < best.min(max_s + 1))
            .min_by_key(|&k| (fails_below[k], k));
        let Some(k) = open else { break };
        let (lo, hi) = (fails_below[k], best.min(max_s + 1) - 1);
        probes[k] += 1;
        let s = if probes[k] % 3 == 0 {
            lo + (hi - lo) / 2
        } else {
            let mut guess = lo;
            if let Some(&(sf, cf)) = failed[k].last() {
                let (b, a) = split(sf, k);
                let gap = cf.saturating_sub(bound(b, a));
                guess = guess.max(least_unbounded(k, lo, hi, gap).min(hi));
                if let Some(&(s0, c0)) = failed[k].len().checked_sub(2).map(|i| &failed[k][i]) {
                    if c0 > cf && sf > s0 {
                        // Where the line through the last two failing costs meets the budget.
                        let step = (cf - budget).saturating_mul(sf - s0).div_ceil(c0 - cf);
                        guess = guess.max(sf.saturating_add(step).min(hi));
                    }
                }
            }
            guess
        };
        let q = split(s, k);
        let cost = match costs.get(&q) {
            Some(&c) => c,
            None => {
                let (sol, c) = solve(q.0, q.1)?;
                costs.insert(q, c);
                if c <= budget && s <= best {
                    layouts.push((q, sol));
                }
                c
            }
        };
        if cost <= budget {
            for j in 0..splits {
                // The least widening whose split j holds the fitting band q.
                let (mut lo_s, mut hi_s) = (0usize, fits_from[j]);
                while lo_s < hi_s {
                    let mid = lo_s + (hi_s - lo_s) / 2;
                    if inside(q, split(mid, j)) {
                        hi_s = mid;
                    } else {
                        lo_s = mid + 1;
                    }
                }
                fits_from[j] = lo_s;
            }
            let best = fits_from.iter().copied().min().unwrap_or(max_s + 1);
            layouts.retain(|&((b, a), _)| b + a <= best);
        } else {
            failed[k].push((s, cost));
            for j in 0..splits {
                // The least widening whose split j is not inside the failing band q.
                let (mut lo_s, mut hi_s) = (fails_below[j], max_s + 1);
                while lo_s < hi_s {
                    let mid = lo_s + (hi_s - lo_s) / 2;
                    if inside(split(mid, j), q) {
                        lo_s = mid + 1;
                    } else {
                        hi_s = mid;
                    }
                }
                fails_below[j] = lo_s;
            }
        }
    }
    let best = fits_from.iter().copied().min().unwrap_or(max_s + 1);
    if best > max_s {
        return Ok(None);
    }
    // The splits of `best` as `tightest_widening` solves them, without repeats.
    let mut candidates: Vec<(usize, (usize, usize))> =
        (0..splits).map(|k| (k, split(best, k))).collect();
    candidates.dedup_by_key(|c| c.1);
    let mut chosen: Option<((usize, usize), usize)> = None;
    for &(k, q) in &candidates {
        if fails_below[k] > best {
            continue;
        }
        let cost = match costs.get(&q) {
            Some(&c) => c,
            None => {
                let (sol, c) = solve(q.0, q.1)?;
                costs.insert(q, c);
                if c <= budget {
                    layouts.push((q, sol));
                }
                c
            }
        };
        if cost <= budget && chosen.is_none_or(|(_, c)| cost < c) {
            chosen = Some((q, cost));
        }
    }
    let Some((q, _)) = chosen else {
        return Err(PlanError::Internal(
            "the budget search lost the band it found fitting".to_string(),
        ));
    };
    let sol = match layouts.iter().position(|(p, _)| *p == q) {
        Some(i) => layouts.swap_remove(i).1,
        None => solve(q.0, q.1)?.0,
    };
    Ok(Some((q.0, q.1, sol)))
}

/// Solves the `splits` not solved yet (`tried[i]` holds split i's answer once solved) and
/// keeps the cheapest fitting one, the first of equal costs.
fn cheapest_split<S>(
    splits: &[(usize, usize)],
    mut tried: Vec<Option<Answer<S>>>,
    solve: &mut impl FnMut(usize, usize) -> Result<Option<(S, usize)>, PlanError>,
) -> Result<Option<(usize, usize, S)>, PlanError> {
    tried.resize_with(splits.len(), || None);
    let mut best: Option<(usize, usize, S, usize)> = None;
    for (&(below, above), answer) in splits.iter().zip(tried) {
        let answer = match answer {
            Some(answer) => answer,
            None => solve(below, above)?,
        };
        if let Some((sol, cost)) = answer {
            if best.as_ref().is_none_or(|b| cost < b.3) {
                best = Some((below, above, sol, cost));
            }
        }
    }
    Ok(best.map(|(below, above, sol, _)| (below, above, sol)))
}

/// What `solve` says of one split: the layout and its cost, or `None` when over the budget.
type Answer<S> = Option<(S, usize)>;

/// The splits of a widening tried by [`tightest_widening`]: `below = s·k/SPLITS` for
/// `k = 0..=SPLITS`.
const SPLITS: usize = 8;

/// How far a layout is from the uniform count band, as the bench scorer measures what a
/// budget leaves undone: replicas above the band on allowed brokers plus every replica on an
/// excluded one, then the replica spread over allowed brokers.
fn budget_quality(topo: &Topology, uniform: &Bands, loads: &[usize]) -> (usize, usize) {
    let mut imbalance = 0;
    let (mut most, mut least) = (0, usize::MAX);
    for (b, &load) in loads.iter().enumerate() {
        if topo.allowed[b] {
            imbalance += load.saturating_sub(uniform.hi[b]);
            most = most.max(load);
            least = least.min(load);
        } else {
            imbalance += load;
        }
    }
    (imbalance, most.saturating_sub(least.min(most)))
}
/// Per-broker bands that a budget of `k` moves reaches when spent like a greedy cut: the
/// upper limits lowered from the top (the fullest brokers first) until the replicas above
/// them add up to `k`, the lower limits raised from the bottom until the missing ones do;
/// ties go to the lower broker index. Never tighter than `bands`.
fn water_level_bands(bands: &Bands, topo: &Topology, loads: &[usize], k: usize) -> Bands {
    let nb = topo.ids.len();
    let allowed: Vec<usize> = (0..nb).filter(|&b| topo.allowed[b]).collect();
    let excess = |h: usize| -> usize {
        allowed
            .iter()
            .map(|&b| loads[b].saturating_sub(h.max(bands.hi[b])))
            .sum()
    };
    let deficit = |l: usize| -> usize {
        allowed
            .iter()
            .map(|&b| l.min(bands.lo[b]).saturating_sub(loads[b]))
            .sum()
    };
    let top = loads.iter().copied().max().unwrap_or(0);
    // The lowest level whose excess fits in k (excess falls as the level rises).
    let (mut lo_h, mut hi_h) = (0usize, top);
    while lo_h < hi_h {
        let mid = lo_h + (hi_h - lo_h) / 2;
        if excess(mid) <= k {
            hi_h = mid;
        } else {
            lo_h = mid + 1;
        }
    }
    let level_hi = lo_h;
    let mut hi: Vec<usize> = (0..nb)
        .map(|b| {
            if topo.allowed[b] {
                level_hi.max(bands.hi[b])
            } else {
                bands.hi[b]
            }
        })
        .collect();
    let mut spare = k - excess(level_hi);
    let mut tops: Vec<usize> = allowed
        .iter()
        .copied()
        .filter(|&b| hi[b] > bands.hi[b] && loads[b] >= hi[b])
        .collect();
    tops.sort_by_key(|&b| (std::cmp::Reverse(loads[b]), b));
    for b in tops {
        if spare == 0 {
            break;
        }
        hi[b] -= 1;
        spare -= 1;
    }
    // The highest level whose deficit fits in k (deficit grows with the level).
    let (mut lo_l, mut hi_l) = (0usize, top);
    while lo_l < hi_l {
        let mid = lo_l + (hi_l - lo_l).div_ceil(2);
        if deficit(mid) <= k {
            lo_l = mid;
        } else {
            hi_l = mid - 1;
        }
    }
    let level_lo = lo_l;
    let mut lo: Vec<usize> = (0..nb)
        .map(|b| {
            if topo.allowed[b] {
                level_lo.min(bands.lo[b])
            } else {
                bands.lo[b]
            }
        })
        .collect();
    let mut spare = k - deficit(level_lo);
    let mut bottoms: Vec<usize> = allowed
        .iter()
        .copied()
        .filter(|&b| lo[b] < bands.lo[b] && loads[b] <= lo[b])
        .collect();
    bottoms.sort_by_key(|&b| (loads[b], b));
    for b in bottoms {
        if spare == 0 {
            break;
        }
        lo[b] += 1;
        spare -= 1;
    }
    Bands { lo, hi }
}

/// The budget candidate from [`water_level_bands`]: the levels are set for `k` moves and
/// lowered by what the rules add (excluded brokers, rack repairs, rack-bound chains) until
/// the move-minimal layout fits — after the capacity repair that follows the budget, when
/// `limits` are given. `None` when `rounds` rounds do not fit.
fn water_level_budget(
    cluster: &Cluster,
    topo: &Topology,
    bands: &Bands,
    max_moves: usize,
    limits: Option<&[Option<u64>]>,
    rounds: usize,
    facts: &mut SolverFacts,
) -> Result<Option<(Bands, replicas::FlowSolution)>, PlanError> {
    let nb = topo.ids.len();
    let mut loads = vec![0usize; nb];
    for p in &cluster.partitions {
        for id in &p.replicas {
            if let Some(b) = topo.index_of(*id) {
                loads[b] += 1;
            }
        }
    }
    let mut k = max_moves;
    for _ in 0..rounds {
        let level = water_level_bands(bands, topo, &loads, k);
        let sol = replicas::solve_flow(cluster, topo, &level)
            .map_err(|e| PlanError::Internal(format!("{e:?}")))?;
        facts.phases += sol.phases;
        facts.rounds += 1;
        let mut moves = solution_copies(cluster, topo, &sol.replicas).0;
        if let Some(limits) = limits {
            let mut trial = sol.replicas.clone();
            let after = replicas::loads(nb, &trial);
            let hi: Vec<usize> = (0..nb).map(|x| level.hi[x].max(after[x])).collect();
            capacity::repair(cluster, topo, limits, &mut trial, &hi);
            let bytes = capacity::bytes_per_broker(cluster, nb, &trial);
            if !(0..nb).all(|x| limits[x].is_none_or(|l| bytes[x] <= l)) {
                return Ok(None);
            }
            moves = solution_copies(cluster, topo, &trial).0;
        }
        if moves <= max_moves {
            return Ok(Some((level, sol)));
        }
        let over = moves - max_moves;
        if over > k {
            return Ok(None);
        }
        k -= over;
    }
    Ok(None)
}

/// The tightest widening of the replica `bands` whose move-minimal layout fits the budget
/// (`tightest_widening`). Fails when even no band at all (only the hard rules) does not fit.
/// `reached`: the count flow's layout lies inside `bands`, so every widening holds a layout
/// and its move optimum can only fall as the band widens; a move budget alone then takes the
/// bounded search ([`tightest_widening_bounded`], the same answer with fewer flows). A bytes
/// budget keeps the plain search: the bytes of the move-minimal layout need not fall.
fn fit_budget(
    cluster: &Cluster,
    topo: &Topology,
    bands: &Bands,
    config: &PlanConfig,
    reached: bool,
    facts: &mut SolverFacts,
) -> Result<(usize, usize, replicas::FlowSolution, Bands), PlanError> {
    let mut flow = |below: usize, above: usize| {
        let sol = replicas::solve_flow(cluster, topo, &widen_bands(bands, topo, below, above))
            .map_err(|e| PlanError::Internal(format!("{e:?}")))?;
        facts.phases += sol.phases;
        facts.rounds += 1;
        let (moves, bytes) = solution_copies(cluster, topo, &sol.replicas);
        Ok((sol, moves, bytes))
    };
    let total = cluster.total_replicas();
    let found = match (config.max_moves, config.max_bytes) {
        (Some(max_moves), None) if reached => {
            let current = current_loads(cluster, topo);
            tightest_widening_bounded(
                2 * total,
                max_moves,
                |below, above| moves_bound(topo, bands, &current, total, below, above),
                |below, above| flow(below, above).map(|(sol, moves, _)| (sol, moves)),
            )?
        }
        _ => tightest_widening(2 * total, |below, above| {
            let (sol, moves, bytes) = flow(below, above)?;
            Ok(within_budget(config, moves, bytes).then_some((sol, moves)))
        })?,
    };
    match found {
        Some((below, above, sol)) => {
            Ok((below, above, sol, widen_bands(bands, topo, below, above)))
        }
        None => {
            let sol = replicas::solve_flow(cluster, topo, &widen_bands(bands, topo, total, total))
                .map_err(|e| PlanError::Internal(format!("{e:?}")))?;
            let (moves, bytes) = solution_copies(cluster, topo, &sol.replicas);
            Err(PlanError::Infeasible(vec![Infeasible::OverBudget {
                budget: budget_text(config),
                needed: format!(
                    "the hard rules (excluded brokers, rack repairs) force {moves} moves, {bytes} bytes"
                ),
            }]))
        }
    }
}

/// Replicas on each broker (by index) now.
fn current_loads(cluster: &Cluster, topo: &Topology) -> Vec<usize> {
    let mut loads = vec![0usize; topo.ids.len()];
    for p in &cluster.partitions {
        for id in &p.replicas {
            if let Some(b) = topo.index_of(*id) {
                loads[b] += 1;
            }
        }
    }
    loads
}

/// The fewest moves any layout inside `bands` widened by `below`/`above` can make, from the
/// current `loads` (`total` replicas in all): every replica the allowed brokers cannot keep
/// (those on excluded or unknown brokers, and those over an upper limit) moves, and so does
/// every replica an allowed broker lacks to reach its lower limit.
fn moves_bound(
    topo: &Topology,
    bands: &Bands,
    loads: &[usize],
    total: usize,
    below: usize,
    above: usize,
) -> usize {
    let (mut kept, mut lacking) = (0usize, 0usize);
    for b in (0..loads.len()).filter(|&b| topo.allowed[b]) {
        let lo = bands.lo[b].saturating_sub(below);
        let hi = (bands.hi[b] + above).max(lo);
        kept += loads[b].min(hi);
        lacking += lo.saturating_sub(loads[b]);
    }
    (total - kept.min(total)).max(lacking)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The search as it was before it stopped at the first fitting split: every split of
    /// every probe solved.
    fn every_split(
        max_s: usize,
        solve: &mut impl FnMut(usize, usize) -> Option<usize>,
    ) -> Option<(usize, usize, usize)> {
        let mut attempt = |s: usize| {
            let mut splits: Vec<(usize, usize)> =
                (0..=8).map(|k| (s * k / 8, s - s * k / 8)).collect();
            splits.dedup();
            let mut best: Option<(usize, usize, usize)> = None;
            for (below, above) in splits {
                if let Some(cost) = solve(below, above) {
                    if best.is_none_or(|b| cost < b.2) {
                        best = Some((below, above, cost));
                    }
                }
            }
            best
        };
        let mut best = attempt(max_s)?;
        let (mut lo, mut hi) = (0, max_s);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            match attempt(mid) {
                Some(found) => {
                    hi = mid;
                    best = found;
                }
                None => lo = mid,
            }
        }
        Some(best)
    }

    #[test]
    fn the_search_ends_where_solving_every_split_ends_with_fewer_solves() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = move |m: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % m
        };
        let (mut lazy_solves, mut full_solves) = (0usize, 0usize);
        let mut bounded_solves = [0usize; 3];
        for case in 0..400 {
            // Cost of a widening: falls as either side widens, at rates and from offsets
            // drawn per case; every fourth case adds noise so that it is not monotone.
            let (wb, wa) = (1 + rnd(5) as usize, 1 + rnd(5) as usize);
            let (need_b, need_a) = (rnd(3000) as usize, rnd(3000) as usize);
            let budget = rnd(4000) as usize;
            let noisy = case % 4 == 0;
            let salt = rnd(1 << 20) as usize;
            let cost = move |below: usize, above: usize| -> usize {
                let base = need_b.saturating_sub(below) * wb + need_a.saturating_sub(above) * wa;
                let noise = if noisy {
                    (below.wrapping_mul(31) ^ above.wrapping_mul(17) ^ salt) % 700
                } else {
                    0
                };
                base + noise
            };
            let max_s = 1 + rnd(20_000) as usize;
            let want = every_split(max_s, &mut |b, a| {
                full_solves += 1;
                Some(cost(b, a)).filter(|&c| c <= budget)
            });
            let got = tightest_widening(max_s, |b, a| {
                lazy_solves += 1;
                let c = cost(b, a);
                Ok((c <= budget).then_some(((b, a), c)))
            })
            .unwrap()
            .map(|(below, above, (b, a))| {
                assert_eq!((below, above), (b, a));
                (below, above, cost(b, a))
            });
            assert_eq!(got, want, "case {case}: max_s {max_s}, budget {budget}");
            if noisy {
                continue;
            }
            // The bounded search, on the monotone cases, with bounds from none to exact.
            let weak = move |below: usize, above: usize| {
                (need_b.saturating_sub(below) * wb).max(need_a.saturating_sub(above) * wa) / 2
            };
            let bounds: [&dyn Fn(usize, usize) -> usize; 3] = [&|_, _| 0, &weak, &cost];
            for (which, bound) in bounds.into_iter().enumerate() {
                let mut solves = 0usize;
                let got = tightest_widening_bounded(max_s, budget, bound, |b, a| {
                    solves += 1;
                    Ok(((b, a), cost(b, a)))
                })
                .unwrap()
                .map(|(below, above, (b, a))| {
                    assert_eq!((below, above), (b, a));
                    (below, above, cost(b, a))
                });
                assert_eq!(
                    got, want,
                    "case {case} bound {which}: max_s {max_s}, budget {budget}"
                );
                bounded_solves[which] += solves;
            }
        }
        assert!(
            lazy_solves < full_solves,
            "{lazy_solves} solves, {full_solves} when every split is solved"
        );
        // The exact bound needs at most the final widening's splits, the others far fewer
        // than the plain search.
        assert!(bounded_solves[2] <= 9 * 300, "{bounded_solves:?}");
        assert!(
            bounded_solves[0] < lazy_solves && bounded_solves[1] < bounded_solves[0],
            "{bounded_solves:?} bounded solves, {lazy_solves} plain"
        );
    }

    #[test]
    fn the_bounded_search_ends_where_solving_every_split_ends_on_staircase_costs() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = move |m: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % m
        };
        for case in 0..300 {
            // Costs that fall in steps and with a kink, as flows over racks do: monotone in
            // each side, neither convex nor a sum.
            let (need_b, need_a) = (rnd(2000) as usize, rnd(2000) as usize);
            let (step, rise, floor) = (
                1 + rnd(40) as usize,
                1 + rnd(90) as usize,
                rnd(500) as usize,
            );
            let cost = move |below: usize, above: usize| -> usize {
                let b = need_b.saturating_sub(below);
                let a = need_a.saturating_sub(above);
                floor + (b / step) * rise + a.max(b / 2)
            };
            let budget = rnd(6000) as usize;
            let max_s = 1 + rnd(8000) as usize;
            let want = every_split(max_s, &mut |b, a| Some(cost(b, a)).filter(|&c| c <= budget));
            let got = tightest_widening_bounded(
                max_s,
                budget,
                |b, a| cost(b, a) / 3,
                |b, a| Ok(((b, a), cost(b, a))),
            )
            .unwrap()
            .map(|(below, above, _)| (below, above, cost(below, above)));
            assert_eq!(got, want, "case {case}: max_s {max_s}, budget {budget}");
        }
    }
}
