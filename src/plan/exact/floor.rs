//! The disk-balance floor the rack rule forces, computed exactly (docs/exactness.md).
//!
//! Relaxation: partitions are grouped by replication factor (every partition of one RF has
//! the same rack cap `⌈RF / racks⌉`, so one class per RF); a class of total size `S` puts
//! `y[c][r]` bytes in rack `r` with `0 ≤ y[c][r] ≤ min(cap, |r|)·S` and `Σ_r y[c][r] = RF·S`
//! (the per-partition polytope `{0 ≤ n_r ≤ min(cap, |r|), Σ n_r = RF}` is integral, so the
//! class's feasible byte vectors are exactly `S` times it); a rack spreads its bytes over its
//! brokers in proportion to their divisors (capacities). Any rack-safe layout is a point of
//! this relaxation, so its levels bound every layout from below.
//!
//! The least maximum rack level is `t* = max_A (f(A) + base(A)) / D(A)` over sets of racks,
//! where `f(A) = Σ_c S_c · max(0, RF_c − Σ_{r∉A} u_cr)` is what the other racks cannot take
//! (Gale's condition on the class → rack transportation network). It is found by Dinkelbach
//! iterations with a max-flow on that network (a few classes × racks arcs): at a level `t`
//! below `t*` the flow falls short, the minimum cut names a set of racks that must hold more,
//! and `t` rises to that set's own ratio. The racks at `t*` in every optimum (those the
//! residual network cannot relieve) are fixed there and the rest solved again, which gives
//! the lexicographically least vector of rack levels: each broker's least possible share.

/// One class of partitions: bytes it must place and the most of them each rack can take.
#[derive(Debug, Clone)]
pub struct FloorClass {
    /// `RF · S`: replica bytes of the class.
    pub demand: f64,
    /// Per rack: `min(cap, |rack|) · S`.
    pub rack_cap: Vec<f64>,
}

/// The rack levels: per rack, the least utilisation (bytes / divisor) it can end with given
/// that no rack ends higher than it must.
#[derive(Debug, Clone, PartialEq)]
pub struct RackLevels {
    pub levels: Vec<f64>,
    /// Mean utilisation over all racks (all bytes / all divisors).
    pub mean: f64,
}

impl RackLevels {
    /// `max level / mean` (1.0 when there is nothing to place).
    pub fn ratio(&self) -> f64 {
        if self.mean > 0.0 {
            self.levels.iter().copied().fold(self.mean, f64::max) / self.mean
        } else {
            1.0
        }
    }
}

/// Dense max-flow on the small class → rack network (Dinic with f64 capacities).
struct Net {
    /// (to, capacity left, index of the reverse edge in `adj[to]`)
    adj: Vec<Vec<(usize, f64, usize)>>,
}

impl Net {
    fn new(n: usize) -> Self {
        Net {
            adj: vec![Vec::new(); n],
        }
    }

    fn add(&mut self, a: usize, b: usize, cap: f64) {
        let ra = self.adj[b].len();
        let rb = self.adj[a].len();
        self.adj[a].push((b, cap, ra));
        self.adj[b].push((a, 0.0, rb));
    }

    fn bfs(&self, s: usize, eps: f64) -> Vec<usize> {
        let mut level = vec![usize::MAX; self.adj.len()];
        level[s] = 0;
        let mut queue = std::collections::VecDeque::from([s]);
        while let Some(v) = queue.pop_front() {
            for &(w, cap, _) in &self.adj[v] {
                if cap > eps && level[w] == usize::MAX {
                    level[w] = level[v] + 1;
                    queue.push_back(w);
                }
            }
        }
        level
    }

    fn push(
        &mut self,
        v: usize,
        t: usize,
        limit: f64,
        level: &[usize],
        next: &mut [usize],
        eps: f64,
    ) -> f64 {
        if v == t {
            return limit;
        }
        while next[v] < self.adj[v].len() {
            let (w, cap, rev) = self.adj[v][next[v]];
            if cap > eps && level[w] == level[v].wrapping_add(1) {
                let got = self.push(w, t, limit.min(cap), level, next, eps);
                if got > 0.0 {
                    self.adj[v][next[v]].1 -= got;
                    self.adj[w][rev].1 += got;
                    return got;
                }
            }
            next[v] += 1;
        }
        0.0
    }

    fn max_flow(&mut self, s: usize, t: usize, eps: f64) -> f64 {
        let mut flow = 0.0;
        loop {
            let level = self.bfs(s, eps);
            if level[t] == usize::MAX {
                return flow;
            }
            let mut next = vec![0usize; self.adj.len()];
            loop {
                let got = self.push(s, t, f64::INFINITY, &level, &mut next, eps);
                if got <= eps {
                    break;
                }
                flow += got;
            }
        }
    }

    /// Nodes that can still send flow to `t` in the residual network.
    fn reaching(&self, t: usize, eps: f64) -> Vec<bool> {
        let mut seen = vec![false; self.adj.len()];
        seen[t] = true;
        let mut stack = vec![t];
        while let Some(v) = stack.pop() {
            // u reaches v when the edge u→v has residual capacity: the reverse entry stored
            // at v is (u, residual of v→u, index of u→v in adj[u]).
            for &(u, _, rev) in &self.adj[v] {
                if !seen[u] && self.adj[u][rev].1 > eps {
                    seen[u] = true;
                    stack.push(u);
                }
            }
        }
        seen
    }
}

/// The lexicographically least rack levels for `classes` over racks with divisor sums `div`
/// (`div[r] > 0`) and fixed bytes `base` already on each rack.
pub fn rack_levels(classes: &[FloorClass], div: &[f64], base: &[f64]) -> RackLevels {
    let nr = div.len();
    let demand: f64 = classes.iter().map(|c| c.demand).sum();
    let total = demand + base.iter().sum::<f64>();
    let all_div: f64 = div.iter().sum();
    let mean = if all_div > 0.0 { total / all_div } else { 0.0 };
    let mut levels = vec![0.0; nr];
    if nr == 0 || total <= 0.0 {
        return RackLevels { levels, mean };
    }
    let eps = 1e-10 * total.max(1.0);
    let nc = classes.len();
    let (s, t) = (nc + nr, nc + nr + 1);
    // Per rack: the level it is fixed at (None = still free).
    let mut fixed: Vec<Option<f64>> = vec![None; nr];
    let build = |level: f64, fixed: &[Option<f64>]| {
        let mut net = Net::new(nc + nr + 2);
        for (c, class) in classes.iter().enumerate() {
            // A class no set of racks can hold in full keeps only what fits (the planner
            // refuses such partitions before; here it must not stall the search).
            let room: f64 = class.rack_cap.iter().sum();
            net.add(s, c, class.demand.min(room));
            for (r, &cap) in class.rack_cap.iter().enumerate() {
                if cap > 0.0 {
                    net.add(c, nc + r, cap);
                }
            }
        }
        for r in 0..nr {
            let l = fixed[r].unwrap_or(level);
            net.add(nc + r, t, (l * div[r] - base[r]).max(0.0));
        }
        net
    };
    let wanted: f64 = classes
        .iter()
        .map(|c| c.demand.min(c.rack_cap.iter().sum()))
        .sum();
    while fixed.iter().any(Option::is_none) {
        // Start where no free rack is below its own fixed bytes; Dinkelbach climbs from there.
        let mut level = (0..nr)
            .filter(|&r| fixed[r].is_none())
            .map(|r| base[r] / div[r])
            .fold(0.0, f64::max);
        let mut net;
        let mut iterations = 0;
        loop {
            iterations += 1;
            net = build(level, &fixed);
            let short = wanted - net.max_flow(s, t, eps);
            if short <= eps * 10.0 || iterations > 4 * nr + 64 {
                break;
            }
            // The minimum cut's source side: racks that must hold more than `level` lets.
            let reach_from_s = net.bfs(s, eps);
            let free_div: f64 = (0..nr)
                .filter(|&r| fixed[r].is_none() && reach_from_s[nc + r] != usize::MAX)
                .map(|r| div[r])
                .sum();
            if free_div <= 0.0 {
                break;
            }
            level += short / free_div;
        }
        // Racks the residual network cannot relieve sit at this level in every optimum.
        let relieved = net.reaching(t, eps * 10.0);
        let mut any = false;
        for r in 0..nr {
            if fixed[r].is_none() && !relieved[nc + r] {
                fixed[r] = Some(level);
                any = true;
            }
        }
        if !any {
            // Rounding left every rack relievable: they all share the level.
            for f in fixed.iter_mut().filter(|f| f.is_none()) {
                *f = Some(level);
            }
        }
    }
    for r in 0..nr {
        levels[r] = fixed[r].unwrap_or(mean);
    }
    RackLevels { levels, mean }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(rf: f64, size: f64, caps: &[f64]) -> FloorClass {
        FloorClass {
            demand: rf * size,
            rack_cap: caps.iter().map(|c| c * size).collect(),
        }
    }

    #[test]
    fn rf3_over_racks_of_4_2_2_with_rf2_compensating() {
        // RF 3 bytes 0.8, RF 2 bytes 0.2; racks 4/2/2, one replica per rack.
        let classes = [class(3.0, 0.8, &[1.0; 3]), class(2.0, 0.2, &[1.0; 3])];
        let got = rack_levels(&classes, &[4.0, 2.0, 2.0], &[0.0; 3]);
        // The two small racks together hold at least 2·0.8 + 0.2 on 4 brokers; the big rack
        // the rest, 0.8 + 0.2, on 4 brokers.
        assert!((got.levels[1] - 1.8 / 4.0).abs() < 1e-9, "{got:?}");
        assert!((got.levels[2] - 1.8 / 4.0).abs() < 1e-9, "{got:?}");
        assert!((got.levels[0] - 1.0 / 4.0).abs() < 1e-9, "{got:?}");
        let mean = 2.8 / 8.0;
        assert!((got.ratio() - (1.8 / 4.0) / mean).abs() < 1e-9);
    }

    #[test]
    fn no_rack_pressure_gives_the_mean() {
        let classes = [class(3.0, 1.0, &[1.0; 3])];
        let got = rack_levels(&classes, &[2.0, 2.0, 2.0], &[0.0; 3]);
        assert!(got.levels.iter().all(|l| (l - 0.5).abs() < 1e-9), "{got:?}");
        assert!((got.ratio() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_lone_broker_rack_holds_every_partition() {
        // RF 2 over racks of 1 and 3 brokers: each rack one replica of everything.
        let classes = [class(2.0, 1.0, &[1.0, 1.0])];
        let got = rack_levels(&classes, &[1.0, 3.0], &[0.0; 2]);
        assert!((got.levels[0] - 1.0).abs() < 1e-9, "{got:?}");
        assert!((got.levels[1] - 1.0 / 3.0).abs() < 1e-9, "{got:?}");
        assert!((got.ratio() - 2.0).abs() < 1e-9);
    }

    #[test]
    fn fixed_bytes_raise_their_rack() {
        let classes = [class(1.0, 2.0, &[1.0, 1.0])];
        let got = rack_levels(&classes, &[1.0, 1.0], &[3.0, 0.0]);
        assert!((got.levels[0] - 3.0).abs() < 1e-9, "{got:?}");
        assert!((got.levels[1] - 2.0).abs() < 1e-9, "{got:?}");
    }
}
