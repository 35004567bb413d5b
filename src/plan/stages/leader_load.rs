//! Stage 7b, load as a level after counts (count modes, only when the cluster has partition
//! rates): among the preferred-leader choices with the same leader count on every broker,
//! one whose hottest broker carries less leader traffic. Leadership decides where the
//! consumer traffic, the replication traffic to the followers and the produce requests go
//! (docs/traffic.md), and changing it copies no data.
//!
//! The search exchanges leadership between two brokers: partition `p` led by the hottest
//! broker `a` goes to its replica on `b`, and partition `q` led by `b` goes to its replica on
//! `a`. Both keep their replica sets, so replica moves, rack spread, disk use and every
//! broker's leader count stay exactly as the leader flow left them; each exchange costs two
//! preferred-leader changes (fewer when it restores a current leader), and a leader-change
//! budget is never exceeded. An exchange is taken only when it lowers the hotter of the two
//! below the hottest broker's traffic, and only while the hottest broker is above the load
//! default load tolerance (10 %) of the mean, so the run ends (the sorted loads fall
//! lexicographically) and stays deterministic (ties go to the lowest partition indices).

use super::{Draft, Problem};
use crate::plan::load;

/// Partition traffic that follows leadership: what the leader sends (consumers and
/// followers) plus the produce traffic it receives as leader (leader bytes-in).
fn leader_traffic(problem: &Problem, i: usize, rf: usize) -> u128 {
    let p = &problem.cluster.partitions[i];
    let (bytes_in, _) = load::rates(p);
    u128::from(load::leader_out(p, rf)) + u128::from(bytes_in)
}

pub(super) fn run(problem: &Problem, draft: &mut Draft, max_leader_changes: Option<usize>) {
    // Scoped plans: the fixed partitions' traffic is not in view, so a level over the movable
    // part alone could make the whole cluster worse.
    if problem.base.is_some() || !problem.cluster.has_rates() {
        return;
    }
    let nb = problem.topo.ids.len();
    let sets = &draft.sets;
    let weight: Vec<u128> = sets
        .iter()
        .enumerate()
        .map(|(i, s)| leader_traffic(problem, i, s.len()))
        .collect();
    // Brokers (as indices) of each partition's current preferred leader, before the plan.
    let before_leader: Vec<Option<usize>> = problem
        .before
        .replicas
        .iter()
        .map(|r| {
            r.first()
                .and_then(|id| problem.topo.ids.binary_search(id).ok())
        })
        .collect();
    let mut leader: Vec<usize> = sets
        .iter()
        .zip(&draft.leader_pos)
        .map(|(s, &pos)| s.get(pos).copied().unwrap_or(usize::MAX))
        .collect();
    let mut changes = leader
        .iter()
        .zip(&before_leader)
        .filter(|(l, b)| Some(**l) != **b)
        .count();
    let mut hot = vec![0u128; nb];
    for (i, &l) in leader.iter().enumerate() {
        if l < nb {
            hot[l] += weight[i];
        }
    }
    // Partitions with a replica on each broker (fixed: only leadership changes here).
    let mut on: Vec<Vec<usize>> = vec![Vec::new(); nb];
    for (i, s) in sets.iter().enumerate() {
        for &b in s {
            if b < nb {
                on[b].push(i);
            }
        }
    }
    let hottest = |hot: &[u128]| {
        (0..nb)
            .filter(|&b| problem.topo.allowed[b])
            .max_by(|&x, &y| hot[x].cmp(&hot[y]).then(y.cmp(&x)))
    };
    let Some(first) = hottest(&hot) else {
        return;
    };
    let hottest_before = hot[first];
    // Leader changes are cheap but not free (an election each, clients refreshing metadata):
    // stop once the hottest broker is within the load tolerance of the mean.
    let allowed = (0..nb).filter(|&b| problem.topo.allowed[b]).count().max(1);
    let total: u128 = (0..nb)
        .filter(|&b| problem.topo.allowed[b])
        .map(|b| hot[b])
        .sum();
    let target = (total as f64 / allowed as f64) * (1.0 + problem.config.load.tolerance);
    let mut exchanges = 0;
    // Each exchange lowers the sorted load vector; the cap only bounds a pathological run.
    let max_exchanges = sets.len();
    while exchanges < max_exchanges {
        let Some(a) = hottest(&hot) else { break };
        if hot[a] as f64 <= target {
            break;
        }
        // Partitions with a replica on `a` that another broker leads, by leader, lightest first.
        let mut led_elsewhere: Vec<Vec<(u128, usize)>> = vec![Vec::new(); nb];
        for &q in &on[a] {
            if leader[q] != a && leader[q] < nb {
                led_elsewhere[leader[q]].push((weight[q], q));
            }
        }
        for l in &mut led_elsewhere {
            l.sort_unstable();
        }
        // Best exchange: the lowest resulting max(hot[a], hot[b]), then the lowest (p, q).
        let mut best: Option<(u128, usize, usize, usize)> = None;
        for &p in &on[a] {
            if leader[p] != a || weight[p] == 0 {
                continue;
            }
            for &b in &sets[p] {
                if b == a || b >= nb || !problem.topo.allowed[b] || hot[b] >= hot[a] {
                    continue;
                }
                let list = &led_elsewhere[b];
                if list.is_empty() {
                    continue;
                }
                // Moving d = w(p) - w(q) from a to b; the best d is half the gap.
                let gap = hot[a] - hot[b];
                let ideal = weight[p].saturating_sub(gap / 2);
                let at = list.partition_point(|&(w, _)| w < ideal);
                for k in [at.wrapping_sub(1), at] {
                    let Some(&(wq, q)) = list.get(k) else {
                        continue;
                    };
                    if wq >= weight[p] {
                        continue;
                    }
                    let d = weight[p] - wq;
                    let worst = (hot[a] - d).max(hot[b] + d);
                    if worst >= hot[a] {
                        continue;
                    }
                    let delta = change_delta(&before_leader, p, a, b)
                        + change_delta(&before_leader, q, b, a);
                    let after = changes as isize + delta;
                    if max_leader_changes.is_some_and(|m| after > m as isize) {
                        continue;
                    }
                    let key = (worst, p, q, b);
                    if best.is_none_or(|cur| key < cur) {
                        best = Some(key);
                    }
                }
            }
        }
        let Some((_, p, q, b)) = best else { break };
        changes = (changes as isize
            + change_delta(&before_leader, p, a, b)
            + change_delta(&before_leader, q, b, a)) as usize;
        leader[p] = b;
        leader[q] = a;
        hot[a] = hot[a] - weight[p] + weight[q];
        hot[b] = hot[b] + weight[p] - weight[q];
        exchanges += 1;
    }
    if exchanges == 0 {
        return;
    }
    for (i, s) in sets.iter().enumerate() {
        if let Some(pos) = s.iter().position(|&b| b == leader[i]) {
            draft.leader_pos[i] = pos;
        }
    }
    let hottest_after = hottest(&hot).map_or(0, |b| hot[b]);
    draft.explanations.push(format!(
        "load level after counts: {exchanges} leadership exchange(s) between brokers, leader counts unchanged, lowered the hottest broker's leader traffic (consumer and replication out plus produce in) from {} to {} MB/s",
        mb(hottest_before),
        mb(hottest_after)
    ));
}

fn mb(bytes_per_sec: u128) -> String {
    format!("{:.2}", bytes_per_sec as f64 / 1e6)
}

/// How the plan's preferred-leader change count moves when partition `i`'s leader goes from
/// `from` to `to` (counted against the leader before the plan).
fn change_delta(before: &[Option<usize>], i: usize, from: usize, to: usize) -> isize {
    let was = isize::from(before[i] != Some(from));
    let now = isize::from(before[i] != Some(to));
    now - was
}
