//! A small exact min-cost flow solver: primal-dual (successive shortest paths with node
//! potentials), where each phase runs one Dijkstra on reduced costs and then pushes a
//! blocking flow (Dinic) through the arcs whose reduced cost is zero.
//!
//! Why hand-written: no maintained, permissively licensed Rust crate offers min-cost flow
//! with warm starts (an initial flow) and dual potentials, and both matter here. The
//! planner starts from the current layout as the initial flow, so only *changes* cost, and
//! the final potentials certify optimality (every residual arc has a non-negative reduced
//! cost, checked by [`FlowNetwork::certify`]).
//!
//! Contract: the caller gives an initial flow and initial potentials under which every
//! residual arc has a non-negative reduced cost (checked), node excesses follow from the
//! supplies and the initial flow, and the solver routes every positive excess to the nodes
//! with negative excess at minimum total cost.

// Index loops over parallel arrays are the clearest form for graph code.
#![allow(clippy::needless_range_loop)]

/// Node index.
pub type Node = u32;
/// Arc index (into the residual arrays; arc `a ^ 1` is its reverse... see `rev`).
pub type Arc = u32;

const INF: i64 = i64::MAX / 4;

/// Errors of the solver: these indicate a modelling bug or an infeasible network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlowError {
    #[error("initial potentials are not dual feasible on arc {arc} (reduced cost {reduced})")]
    BadPotentials { arc: usize, reduced: i64 },
    #[error("{unrouted} units of supply cannot reach any demand")]
    Infeasible { unrouted: i64 },
    #[error("supplies and demands do not balance (sum {0})")]
    Unbalanced(i64),
}

/// Builder: collects arcs, then freezes into a CSR residual graph.
pub struct FlowBuilder {
    nodes: usize,
    from: Vec<Node>,
    to: Vec<Node>,
    cap: Vec<i32>,
    cost: Vec<i64>,
    flow: Vec<i32>,
    supply: Vec<i64>,
}

impl FlowBuilder {
    pub fn new() -> Self {
        FlowBuilder {
            nodes: 0,
            from: Vec::new(),
            to: Vec::new(),
            cap: Vec::new(),
            cost: Vec::new(),
            flow: Vec::new(),
            supply: Vec::new(),
        }
    }

    pub fn with_capacity(arcs: usize) -> Self {
        let mut b = FlowBuilder::new();
        b.from.reserve(arcs);
        b.to.reserve(arcs);
        b.cap.reserve(arcs);
        b.cost.reserve(arcs);
        b.flow.reserve(arcs);
        b
    }

    pub fn add_node(&mut self) -> Node {
        self.nodes += 1;
        self.supply.push(0);
        (self.nodes - 1) as Node
    }

    pub fn node_count(&self) -> usize {
        self.nodes
    }

    /// Adds supply (positive) or demand (negative) at a node.
    pub fn add_supply(&mut self, n: Node, s: i64) {
        self.supply[n as usize] += s;
    }

    /// Adds an arc with capacity, unit cost and an initial flow (`0 <= flow <= cap`).
    /// Returns the arc id (stable: the order of insertion).
    pub fn add_arc(&mut self, from: Node, to: Node, cap: i32, cost: i64, flow: i32) -> usize {
        self.from.push(from);
        self.to.push(to);
        self.cap.push(cap);
        self.cost.push(cost);
        self.flow.push(flow.clamp(0, cap));
        self.from.len() - 1
    }

    /// Freezes the graph. Node excess = supply + inflow − outflow of the initial flow.
    pub fn build(self) -> FlowNetwork {
        let n = self.nodes;
        let m = self.from.len();
        // CSR with both directions: each input arc i gets a forward slot and a reverse slot.
        let mut degree = vec![0u32; n + 1];
        for i in 0..m {
            degree[self.from[i] as usize + 1] += 1;
            degree[self.to[i] as usize + 1] += 1;
        }
        for v in 0..n {
            degree[v + 1] += degree[v];
        }
        let first = degree.clone();
        let mut fill = degree;
        let total = 2 * m;
        let mut slots = vec![
            Slot {
                head: 0,
                residual: 0,
                cost: 0
            };
            total
        ];
        let mut rev = vec![0 as Arc; total];
        let mut forward_slot = vec![0 as Arc; m];
        let mut excess = self.supply.clone();
        for i in 0..m {
            let (u, v) = (self.from[i] as usize, self.to[i] as usize);
            let a = fill[u] as usize;
            fill[u] += 1;
            let b = fill[v] as usize;
            fill[v] += 1;
            slots[a] = Slot {
                head: v as Node,
                residual: self.cap[i] - self.flow[i],
                cost: self.cost[i],
            };
            slots[b] = Slot {
                head: u as Node,
                residual: self.flow[i],
                cost: -self.cost[i],
            };
            rev[a] = b as Arc;
            rev[b] = a as Arc;
            forward_slot[i] = a as Arc;
            excess[u] -= self.flow[i] as i64;
            excess[v] += self.flow[i] as i64;
        }
        FlowNetwork {
            first,
            slots,
            rev,
            forward_slot,
            capacity: self.cap,
            excess,
            potential: vec![0; n],
            phases: 0,
            rounds: 0,
            settled: 0,
        }
    }
}

impl Default for FlowBuilder {
    fn default() -> Self {
        FlowBuilder::new()
    }
}

/// One residual arc: what every scan of a node's arcs reads, kept together so a scan
/// streams one array instead of three.
#[derive(Debug, Clone, Copy)]
struct Slot {
    head: Node,
    residual: i32,
    cost: i64,
}

/// A residual network with potentials.
pub struct FlowNetwork {
    first: Vec<u32>,
    slots: Vec<Slot>,
    rev: Vec<Arc>,
    forward_slot: Vec<Arc>,
    capacity: Vec<i32>,
    excess: Vec<i64>,
    potential: Vec<i64>,
    /// Dijkstra phases run by the last `solve`.
    pub phases: usize,
    /// Blocking-flow rounds (breadth-first level graphs) run by the last `solve`.
    pub rounds: usize,
    /// Nodes settled by the Dijkstra searches of the last `solve` (a work counter).
    pub settled: usize,
}

impl FlowNetwork {
    pub fn node_count(&self) -> usize {
        self.first.len() - 1
    }

    pub fn arc_count(&self) -> usize {
        self.forward_slot.len()
    }

    pub fn set_potential(&mut self, n: Node, p: i64) {
        self.potential[n as usize] = p;
    }

    pub fn potential(&self, n: Node) -> i64 {
        self.potential[n as usize]
    }

    /// Flow on input arc `i` (as returned by `add_arc`).
    pub fn flow(&self, i: usize) -> i32 {
        self.capacity[i] - self.slots[self.forward_slot[i] as usize].residual
    }

    fn reduced(&self, u: usize, a: usize) -> i64 {
        let s = &self.slots[a];
        s.cost + self.potential[u] - self.potential[s.head as usize]
    }

    /// Checks dual feasibility: every arc with residual capacity has a non-negative reduced
    /// cost. With zero excess everywhere this certifies the flow optimal.
    pub fn certify(&self) -> Result<(), FlowError> {
        for u in 0..self.node_count() {
            for a in self.first[u] as usize..self.first[u + 1] as usize {
                if self.slots[a].residual > 0 {
                    let r = self.reduced(u, a);
                    if r < 0 {
                        return Err(FlowError::BadPotentials { arc: a, reduced: r });
                    }
                }
            }
        }
        Ok(())
    }

    /// Total cost of the current flow (i128: totals of big-M costs may exceed i64).
    pub fn total_cost(&self, arc_costs: impl Fn(usize) -> i64) -> i128 {
        (0..self.arc_count())
            .map(|i| self.flow(i) as i128 * arc_costs(i) as i128)
            .sum()
    }

    /// Prints the work counters of the last `solve` (only with timings on).
    pub fn report_counters(&self, what: &str) {
        super::timings::counter(&format!("{what}.nodes"), self.node_count());
        super::timings::counter(&format!("{what}.arcs"), self.arc_count());
        super::timings::counter(&format!("{what}.phases"), self.phases);
        super::timings::counter(&format!("{what}.rounds"), self.rounds);
        super::timings::counter(&format!("{what}.settled"), self.settled);
    }

    /// Routes all positive excess to negative-excess nodes at minimum cost.
    pub fn solve(&mut self) -> Result<(), FlowError> {
        let sum: i64 = self.excess.iter().sum();
        if sum != 0 {
            return Err(FlowError::Unbalanced(sum));
        }
        self.certify()?;
        let n = self.node_count();
        let mut dist = vec![INF; n];
        let mut level = vec![u32::MAX; n];
        let mut iter = vec![0u32; n];
        let mut queue: Vec<Node> = Vec::with_capacity(n);
        let mut heap = RadixHeap::new();
        let mut stack: Vec<(Node, Arc)> = Vec::new();
        self.phases = 0;
        self.rounds = 0;
        self.settled = 0;
        loop {
            if !self.excess.iter().any(|&e| e > 0) {
                return Ok(());
            }
            self.phases += 1;
            // Dijkstra from every excess node on reduced costs, stopping at the first
            // deficit node's distance (nodes beyond it keep reduced costs >= 0 by clipping).
            // The distances (hence the new potentials) do not depend on the order in which
            // nodes of equal distance leave the heap.
            dist.iter_mut().for_each(|d| *d = INF);
            heap.clear();
            for v in 0..n {
                if self.excess[v] > 0 {
                    dist[v] = 0;
                    heap.push(0, v as Node);
                }
            }
            let mut bound = INF;
            while let Some((d, u)) = heap.pop() {
                let u = u as usize;
                if d > dist[u] || d > bound {
                    continue;
                }
                self.settled += 1;
                if self.excess[u] < 0 && bound == INF {
                    bound = d;
                }
                let pu = self.potential[u];
                for s in &self.slots[self.first[u] as usize..self.first[u + 1] as usize] {
                    if s.residual <= 0 {
                        continue;
                    }
                    let v = s.head as usize;
                    let nd = d + (s.cost + pu - self.potential[v]);
                    if nd < dist[v] {
                        dist[v] = nd;
                        heap.push(nd, v as Node);
                    }
                }
            }
            if bound == INF {
                let unrouted = self.excess.iter().filter(|&&e| e > 0).sum();
                return Err(FlowError::Infeasible { unrouted });
            }
            for v in 0..n {
                self.potential[v] += dist[v].min(bound);
            }
            // Blocking flows (Dinic) on the admissible graph: residual arcs of reduced cost 0.
            loop {
                level.iter_mut().for_each(|l| *l = u32::MAX);
                queue.clear();
                for v in 0..n {
                    if self.excess[v] > 0 {
                        level[v] = 0;
                        queue.push(v as Node);
                    }
                }
                let mut qi = 0;
                let mut reached = false;
                while qi < queue.len() {
                    let u = queue[qi] as usize;
                    qi += 1;
                    if self.excess[u] < 0 {
                        reached = true;
                        continue;
                    }
                    let pu = self.potential[u];
                    for s in &self.slots[self.first[u] as usize..self.first[u + 1] as usize] {
                        let v = s.head as usize;
                        if s.residual > 0
                            && s.cost + pu == self.potential[v]
                            && level[v] == u32::MAX
                        {
                            level[v] = level[u] + 1;
                            queue.push(v as Node);
                        }
                    }
                }
                if !reached {
                    break;
                }
                self.rounds += 1;
                iter.copy_from_slice(&self.first[..n]);
                // Push from every excess node along level-increasing admissible arcs, with an
                // explicit stack (paths can be long; no recursion).
                for s in 0..n {
                    while self.excess[s] > 0 {
                        stack.clear();
                        let mut u = s;
                        let found = loop {
                            if self.excess[u] < 0 && u != s {
                                break true;
                            }
                            let mut advanced = false;
                            while (iter[u] as usize) < self.first[u + 1] as usize {
                                let a = iter[u] as usize;
                                let sl = self.slots[a];
                                let v = sl.head as usize;
                                if sl.residual > 0
                                    && level[v] == level[u].wrapping_add(1)
                                    && sl.cost + self.potential[u] == self.potential[v]
                                {
                                    stack.push((u as Node, a as Arc));
                                    u = v;
                                    advanced = true;
                                    break;
                                }
                                iter[u] += 1;
                            }
                            if !advanced {
                                // Dead end: retreat one arc and skip it.
                                level[u] = u32::MAX;
                                match stack.pop() {
                                    Some((p, _)) => {
                                        u = p as usize;
                                        iter[u] += 1;
                                    }
                                    None => break false,
                                }
                            }
                        };
                        if !found {
                            break;
                        }
                        let mut delta = self.excess[s].min(-self.excess[u]);
                        for &(_, a) in &stack {
                            delta = delta.min(self.slots[a as usize].residual as i64);
                        }
                        for &(_, a) in &stack {
                            let a = a as usize;
                            self.slots[a].residual -= delta as i32;
                            self.slots[self.rev[a] as usize].residual += delta as i32;
                        }
                        self.excess[s] -= delta;
                        self.excess[u] += delta;
                    }
                }
            }
        }
    }
}

/// Monotone priority queue for Dijkstra on non-negative integer keys (a radix heap): every
/// key pushed is at least the last key popped, so keys sit in buckets by the highest bit in
/// which they differ from it, and each key moves down at most 64 times. No `log n` sift per
/// push like a binary heap, and it holds `(key, node)` pairs in plain vectors.
struct RadixHeap {
    last: u64,
    len: usize,
    buckets: Vec<Vec<(u64, Node)>>,
}

impl RadixHeap {
    fn new() -> Self {
        RadixHeap {
            last: 0,
            len: 0,
            buckets: (0..65).map(|_| Vec::new()).collect(),
        }
    }

    fn clear(&mut self) {
        self.last = 0;
        self.len = 0;
        self.buckets.iter_mut().for_each(Vec::clear);
    }

    fn bucket(&self, key: u64) -> usize {
        (64 - (key ^ self.last).leading_zeros()) as usize
    }

    /// `key` must be non-negative and at least the last popped key (Dijkstra's order).
    fn push(&mut self, key: i64, node: Node) {
        debug_assert!(
            key >= 0 && key as u64 >= self.last,
            "radix heap key below the last pop"
        );
        let k = key as u64;
        let i = self.bucket(k);
        self.buckets[i].push((k, node));
        self.len += 1;
    }

    fn pop(&mut self) -> Option<(i64, Node)> {
        if self.len == 0 {
            return None;
        }
        if self.buckets[0].is_empty() {
            let i = (1..65).find(|&i| !self.buckets[i].is_empty())?;
            let moved = std::mem::take(&mut self.buckets[i]);
            self.last = moved.iter().map(|&(k, _)| k).min().unwrap_or(self.last);
            for &(k, v) in &moved {
                let j = self.bucket(k);
                self.buckets[j].push((k, v));
            }
            // Keep the emptied vector's allocation for later refills.
            let mut moved = moved;
            moved.clear();
            if self.buckets[i].is_empty() {
                self.buckets[i] = moved;
            }
        }
        self.len -= 1;
        self.buckets[0].pop().map(|(k, v)| (k as i64, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force over all integral flows of a tiny network (for cross-checking).
    fn brute_min_cost(arcs: &[(usize, usize, i32, i64)], supply: &[i64]) -> Option<i64> {
        fn rec(
            i: usize,
            arcs: &[(usize, usize, i32, i64)],
            bal: &mut Vec<i64>,
            cost: i64,
            best: &mut Option<i64>,
        ) {
            if i == arcs.len() {
                if bal.iter().all(|&b| b == 0) && best.is_none_or(|b| cost < b) {
                    *best = Some(cost);
                }
                return;
            }
            let (u, v, cap, c) = arcs[i];
            for f in 0..=cap {
                bal[u] -= f as i64;
                bal[v] += f as i64;
                rec(i + 1, arcs, bal, cost + f as i64 * c, best);
                bal[u] += f as i64;
                bal[v] -= f as i64;
            }
        }
        let mut bal = supply.to_vec();
        let mut best = None;
        rec(0, arcs, &mut bal, 0, &mut best);
        best
    }

    fn solve(arcs: &[(usize, usize, i32, i64)], supply: &[i64]) -> Result<i64, FlowError> {
        let mut b = FlowBuilder::new();
        for _ in 0..supply.len() {
            b.add_node();
        }
        for (i, s) in supply.iter().enumerate() {
            b.add_supply(i as Node, *s);
        }
        for &(u, v, cap, c) in arcs {
            b.add_arc(u as Node, v as Node, cap, c, 0);
        }
        let mut net = b.build();
        net.solve()?;
        net.certify()?;
        Ok(net.total_cost(|i| arcs[i].3) as i64)
    }

    #[test]
    fn radix_heap_pops_in_key_order() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = |m: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % m
        };
        let mut heap = RadixHeap::new();
        let mut popped = Vec::new();
        let mut last = 0i64;
        let mut pushed = 0;
        for round in 0..2000 {
            // Dijkstra-like: pushes never go below the last pop.
            for _ in 0..rnd(4) {
                heap.push(last + rnd(1 << (round % 40)) as i64, pushed);
                pushed += 1;
            }
            if let Some((k, _)) = heap.pop() {
                assert!(k >= last);
                last = k;
                popped.push(k);
            }
        }
        while let Some((k, _)) = heap.pop() {
            assert!(k >= last);
            last = k;
            popped.push(k);
        }
        assert_eq!(popped.len(), pushed as usize);
        assert!(heap.pop().is_none());
    }

    #[test]
    fn simple_path_choice() {
        // 0 -> 1 -> 3 (cost 1+1), 0 -> 2 -> 3 (cost 3+0), caps 1: two units cost 2 + 3.
        let arcs = [(0, 1, 1, 1), (1, 3, 1, 1), (0, 2, 5, 3), (2, 3, 5, 0)];
        assert_eq!(solve(&arcs, &[2, 0, 0, -2]).unwrap(), 5);
    }

    #[test]
    fn infeasible_is_reported() {
        let arcs = [(0, 1, 1, 1)];
        assert!(matches!(
            solve(&arcs, &[2, -2]),
            Err(FlowError::Infeasible { .. })
        ));
    }

    #[test]
    fn warm_start_with_initial_flow() {
        // Initial flow puts a unit on the expensive arc; the solver must not need to undo it
        // because the caller asked for the flow (it is a warm start, costs stay exact).
        let mut b = FlowBuilder::new();
        let s = b.add_node();
        let t = b.add_node();
        b.add_supply(s, 1);
        b.add_supply(t, -1);
        let cheap = b.add_arc(s, t, 1, 1, 0);
        let mut net = b.build();
        net.solve().unwrap();
        assert_eq!(net.flow(cheap), 1);
    }

    #[test]
    fn matches_brute_force_on_random_small_networks() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = |m: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % m
        };
        for _ in 0..300 {
            let n = 2 + rnd(4) as usize;
            let m = 1 + rnd(6) as usize;
            let mut arcs = Vec::new();
            for _ in 0..m {
                let u = rnd(n as u64) as usize;
                let mut v = rnd(n as u64) as usize;
                if u == v {
                    v = (v + 1) % n;
                }
                arcs.push((u, v, 1 + rnd(2) as i32, rnd(7) as i64));
            }
            let mut supply = vec![0i64; n];
            let amount = 1 + rnd(3) as i64;
            let s = rnd(n as u64) as usize;
            let t = (s + 1 + rnd(n as u64 - 1) as usize) % n;
            supply[s] += amount;
            supply[t] -= amount;
            let want = brute_min_cost(&arcs, &supply);
            let got = solve(&arcs, &supply).ok();
            assert_eq!(got, want, "arcs {arcs:?} supply {supply:?}");
        }
    }
}
