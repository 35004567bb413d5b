//! `--topic-spread`: after the count flow (and any capacity repair), spread each topic's
//! replicas evenly over the allowed brokers. The count flow balances whole brokers but is
//! blind to topics, so one topic can pile up on a few brokers (its load then lands on few
//! disks and network links); the bench scorer's `topic_spread_max` measures that.
//!
//! A swap exchanges a replica of partition `p` (topic `t`) on broker `a` with a replica of
//! partition `q` (topic `u ≠ t`) on broker `b`: both brokers keep their replica counts (so
//! the count band the flow reached holds), the rack rule is checked for both partitions,
//! neither broker may already hold the partition it receives, and the broker whose bytes
//! grow stays under its capacity limit. With `c_xy` the replicas of topic `x` on broker `y`,
//! a swap is taken only when `c_ta − c_tb ≥ 2` and `c_ub − c_ua ≥ 1`: the four changed counts
//! then stay between the old counts of their topic on `a` and `b`, so no topic's spread grows,
//! and the potential Σ_topics Σ_brokers c² drops by at least 2, so the pass ends. Topics are
//! taken largest spread first; for each, swaps that move a replica from its most crowded
//! brokers to its emptiest ones are tried, preferring swaps that send replicas back to
//! brokers they started on (undoing a move of the flow) over swaps that add moves, then
//! swaps that copy fewer bytes. Local search: no optimality claimed.
//!
//! Which swap: the (source, destination) pairs of a topic are ranked by how uneven they are
//! (`c_ta − c_tb`, largest first), then by the cheapest replica of `t` the pair could send
//! (moves, bytes); partners are searched for the first pairs of that ranking
//! ([`PAIRS_TRIED`], stopping at [`PAIRS_FOUND`] found) and the cheapest swap among them is
//! taken. A pair's destination is, per replica, the emptiest broker of each rack that may
//! take it, or one of the replica's original brokers.
//!
//! Cost: the ranking is walked one unevenness level at a time, and a level looks only at the
//! sources and destinations whose counts give it: for the most uneven level (nearly always
//! the only one needed) that is the topic's replicas on its fullest brokers, each checked
//! against the racks whose emptiest brokers are at the topic's minimum and against its
//! original brokers. Each broker keeps its replicas as one sorted partition list per topic,
//! so the partner search walks a broker's topics in order without a tree search per topic,
//! and the buffers of the search are kept between swaps (no allocation per swap). Counts are
//! a dense topics × brokers table (4 bytes each).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use super::replicas::Topology;
use crate::model::Cluster;

/// (Source, destination) broker pairs whose partner search runs per swap, the most uneven
/// pairs first.
const PAIRS_TRIED: usize = 24;
/// Pairs with a partner found, among which the cheapest swap (in moves) is taken.
const PAIRS_FOUND: usize = 4;
/// Valid partner replicas examined per pair; the cheapest of them is kept.
const PARTNERS_SCANNED: usize = 16;
/// Passes over every uneven topic: a topic that found no swap is looked at again in the next
/// pass, as swaps elsewhere may have given it a partner. Later passes rarely find much.
const MAX_ROUNDS: usize = 4;

/// What the pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicSpreadRefinement {
    pub swaps: usize,
    /// Replica moves added (positive) or undone (negative) by the swaps.
    pub move_delta: i64,
    /// Largest topic spread (max − min replicas of one topic per allowed broker) before and
    /// after the pass.
    pub spread_before: usize,
    pub spread_after: usize,
}

/// One swap: `p` (topic `t`) goes from `a` to `b`, `q` (topic `u`) from `b` to `a`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Swap {
    p: usize,
    q: usize,
    t: usize,
    u: usize,
    a: usize,
    b: usize,
    /// Moves added (negative: undone).
    moves: i64,
    /// Bytes those moves add to the plan (negative: saved).
    bytes: i128,
    /// `(c_ta − c_tb) + (c_ub − c_ua)`: half the potential drop plus 2.
    gain: usize,
}

/// The cheapest replica of a topic a (source, destination) pair could send: (moves, bytes,
/// partition), compared in that order.
type PairKey = (i64, i128, usize);

/// One (source, destination) pair of the unevenness level being ranked.
#[derive(Debug, Clone, Copy)]
struct Pair {
    a: usize,
    b: usize,
    key: PairKey,
}

/// The partner searches of one swap search so far: pairs tried, pairs that had a partner, and
/// the cheapest swap among them.
#[derive(Default)]
struct Tries {
    tried: usize,
    found: usize,
    best: Option<Swap>,
}

impl Tries {
    fn done(&self) -> bool {
        self.tried >= PAIRS_TRIED || self.found >= PAIRS_FOUND
    }
}

/// Buffers of the swap search, kept from one swap to the next so a search allocates nothing.
struct Scratch {
    /// Per rack, its brokers by the topic's count (then index).
    by_rack: Vec<Vec<usize>>,
    /// Racks where a broker at the destination level can be the emptiest one a replica may
    /// go to.
    racks: Vec<usize>,
    /// The pairs of one unevenness level and stage (costly: of one replica size).
    pairs: Vec<Pair>,
    /// (Source, destination) of the level's free pairs, sorted.
    seen: Vec<(usize, usize)>,
    /// Costly candidates (source, destination, partition) of one replica size.
    batch: Vec<(usize, usize, usize)>,
    /// (Source, destination) of the level's costly pairs ranked so far.
    ranked: Vec<(usize, usize)>,
    /// Per destination broker: the cheapest replica found so far from the current source.
    to: Vec<Option<PairKey>>,
    /// Destinations set in `to` for the current source.
    touched: Vec<usize>,
}

struct State<'a> {
    cluster: &'a Cluster,
    topo: &'a Topology,
    limits: &'a [Option<u64>],
    nb: usize,
    /// Allowed broker indices.
    allowed: Vec<usize>,
    nt: usize,
    /// Replicas of topic `t` on broker `b` at `t * nb + b`: one topic's brokers side by side,
    /// for the searches over a topic's brokers.
    count: Vec<u32>,
    /// The same counts broker-major, at `b * nt + t`: the partner search walks the topics of
    /// two brokers in increasing order, so it reads two rows front to back.
    by_broker: Vec<u32>,
    /// Per topic, its partitions by (size, index): the order in which replicas that add a
    /// move are ranked, so that ranking stops once enough pairs are found.
    by_size: Vec<Vec<usize>>,
    /// Partitions of topic `t` on broker `b` in increasing order, at `b * nt + t` like
    /// `by_broker`: found by index (no map lookup per source broker), and the partner search
    /// walks one broker's topics in order, skipping those `by_broker` says are absent.
    on: Vec<Vec<usize>>,
    bytes: Vec<u64>,
    /// The brokers each partition is on now (before the plan), as indices.
    original: Vec<Vec<usize>>,
    /// The most replicas any partition has: the emptiest broker of a rack not holding a
    /// partition is among the first `max_rf + 1` of the rack by count.
    max_rf: usize,
}

impl<'a> State<'a> {
    fn new(
        cluster: &'a Cluster,
        topo: &'a Topology,
        limits: &'a [Option<u64>],
        sets: &[Vec<usize>],
        topic_of: &[usize],
        nt: usize,
    ) -> Self {
        let nb = topo.ids.len();
        let mut count = vec![0u32; nt * nb];
        let mut by_broker = vec![0u32; nt * nb];
        let mut on: Vec<Vec<usize>> = vec![Vec::new(); nt * nb];
        let mut bytes = vec![0u64; nb];
        let mut by_size: Vec<Vec<usize>> = vec![Vec::new(); nt];
        // Partitions are visited in increasing order, so every list is built sorted.
        for (p, (set, &t)) in sets.iter().zip(topic_of).enumerate() {
            by_size[t].push(p);
            for &b in set {
                count[t * nb + b] += 1;
                by_broker[b * nt + t] += 1;
                on[b * nt + t].push(p);
                bytes[b] = bytes[b].saturating_add(cluster.partitions[p].size_bytes);
            }
        }
        for parts in &mut by_size {
            parts.sort_by_key(|&p| (cluster.partitions[p].size_bytes, p));
        }
        State {
            cluster,
            topo,
            limits,
            nb,
            allowed: (0..nb).filter(|&b| topo.allowed[b]).collect(),
            nt,
            count,
            by_broker,
            by_size,
            on,
            bytes,
            original: topo.current_sets(cluster),
            max_rf: sets.iter().map(Vec::len).max().unwrap_or(0),
        }
    }

    fn scratch(&self) -> Scratch {
        Scratch {
            by_rack: self.topo.racks.clone(),
            racks: Vec::with_capacity(self.topo.racks.len()),
            pairs: Vec::new(),
            seen: Vec::new(),
            batch: Vec::new(),
            ranked: Vec::new(),
            to: vec![None; self.nb],
            touched: Vec::new(),
        }
    }

    fn c(&self, t: usize, b: usize) -> u32 {
        self.count[t * self.nb + b]
    }

    fn spread(&self, t: usize) -> usize {
        let mut max = 0u32;
        let mut min = u32::MAX;
        for &b in &self.allowed {
            let c = self.c(t, b);
            max = max.max(c);
            min = min.min(c);
        }
        max.saturating_sub(min) as usize
    }

    /// Leaving an original broker adds a move, arriving at one undoes one.
    fn move_cost(&self, p: usize, from: usize, to: usize) -> i64 {
        let leaves = self.original[p].contains(&from) as i64;
        let returns = self.original[p].contains(&to) as i64;
        leaves - returns
    }

    /// Bytes a replica's change of broker adds to the plan, given its move cost.
    fn moved_bytes(&self, p: usize, moves: i64) -> i128 {
        i128::from(moves) * i128::from(self.cluster.partitions[p].size_bytes)
    }

    /// Can broker `to` take `from`'s place in `set` (the partition's brokers)?
    fn rack_ok(&self, set: &[usize], from: usize, to: usize) -> bool {
        if set.contains(&to) || !self.topo.allowed[to] {
            return false;
        }
        let cap = self.topo.rack_cap(set.len());
        let r = self.topo.rack[to];
        let same = set
            .iter()
            .filter(|&&x| x != from && self.topo.rack[x] == r)
            .count();
        same < cap
    }

    fn fits(&self, b: usize, new_bytes: u64) -> bool {
        self.limits
            .get(b)
            .copied()
            .flatten()
            .is_none_or(|l| new_bytes <= l)
    }

    /// The best swap that moves a replica of topic `t` from a crowded broker to an emptier
    /// one, within `left` added moves (`None` = unlimited).
    ///
    /// The pairs are tried in the order (unevenness `c_ta − c_tb` descending, then the pair's
    /// cheapest replica: moves, bytes, then source and destination index), up to
    /// [`PAIRS_TRIED`] of them or until [`PAIRS_FOUND`] have a partner, and the cheapest swap
    /// found wins (moves, bytes, larger gain; the first of equals). The ranking is built one
    /// unevenness level at a time, and a level is built only when the levels above it did
    /// not give enough.
    fn find_swap(
        &self,
        sets: &[Vec<usize>],
        t: usize,
        left: Option<i64>,
        sc: &mut Scratch,
    ) -> Option<Swap> {
        let (mut min_t, mut max_t) = (u32::MAX, 0u32);
        for &b in &self.allowed {
            let c = self.c(t, b);
            min_t = min_t.min(c);
            max_t = max_t.max(c);
        }
        if max_t < min_t.saturating_add(2) {
            return None;
        }
        // Per rack, its brokers by this topic's count: the emptiest broker a replica may go to
        // in a rack is the first of the list that does not hold the partition already.
        for (v, members) in sc.by_rack.iter_mut().zip(&self.topo.racks) {
            v.clone_from(members);
            v.sort_unstable_by_key(|&b| (self.c(t, b), b));
        }
        let mut tries = Tries::default();
        for d_t in (2..=max_t - min_t).rev() {
            // First the replicas whose move costs no move (it undoes one or moves a replica
            // that had moved already), then, only when those are not enough, the ones that
            // add a move. Every pair of the first has a smaller rank than every pair of the
            // second, so the ranking is the same as one pass over both.
            sc.pairs.clear();
            for &a in &self.allowed {
                let ca = self.c(t, a);
                if ca >= min_t + d_t {
                    self.free_pairs(sets, t, a, ca - d_t, left, sc);
                }
            }
            sc.pairs
                .sort_unstable_by_key(|x| (x.key.0, x.key.1, x.a, x.b));
            self.try_pairs(sets, t, d_t, left, &sc.pairs, &mut tries);
            if tries.done() {
                break;
            }
            sc.seen.clear();
            sc.seen.extend(sc.pairs.iter().map(|x| (x.a, x.b)));
            sc.seen.sort_unstable();
            self.costly_pairs(sets, t, min_t, d_t, left, sc, &mut tries);
            if tries.done() {
                break;
            }
        }
        tries.best
    }

    /// Searches a partner for each pair in turn (in the order given) until enough pairs are
    /// tried or have a partner, keeping the cheapest swap (moves, bytes, larger gain; the
    /// first of equals).
    fn try_pairs(
        &self,
        sets: &[Vec<usize>],
        t: usize,
        d_t: u32,
        left: Option<i64>,
        pairs: &[Pair],
        tries: &mut Tries,
    ) {
        for &Pair {
            a,
            b,
            key: (mc_p, by_p, p),
        } in pairs
        {
            if tries.done() {
                return;
            }
            tries.tried += 1;
            let Some((q, u, mc_q, by_q, d_u)) =
                self.partner(sets, t, p, a, b, left.map(|l| l - mc_p))
            else {
                continue;
            };
            let swap = Swap {
                p,
                q,
                t,
                u,
                a,
                b,
                moves: mc_p + mc_q,
                bytes: by_p + by_q,
                gain: d_t as usize + d_u,
            };
            let key = |s: &Swap| (s.moves, s.bytes, Reverse(s.gain));
            if tries.best.as_ref().is_none_or(|s| key(&swap) < key(s)) {
                tries.best = Some(swap);
            }
            tries.found += 1;
        }
    }

    /// Ranks and tries the level's pairs whose replica adds a move (it leaves an original
    /// broker for the emptiest broker of a rack, not an original one), pairs with a free
    /// replica excepted (they were ranked with that one). All of them cost one move and the
    /// replica's bytes, so they rank by the replica's size, then source and destination, with
    /// the smallest partition of that size as the pair's replica: the topic's partitions are
    /// walked by size, one size at a time, and the walk stops once enough pairs were tried.
    #[allow(clippy::too_many_arguments)]
    fn costly_pairs(
        &self,
        sets: &[Vec<usize>],
        t: usize,
        min_t: u32,
        d_t: u32,
        left: Option<i64>,
        sc: &mut Scratch,
        tries: &mut Tries,
    ) {
        let parts = &self.by_size[t];
        let size = |p: usize| self.cluster.partitions[p].size_bytes;
        sc.ranked.clear();
        let mut i = 0;
        while i < parts.len() && !tries.done() {
            let sp = size(parts[i]);
            let same = parts[i..].iter().take_while(|&&p| size(p) == sp).count();
            let run = &parts[i..i + same];
            i += same;
            sc.batch.clear();
            for &p in run {
                let set = &sets[p];
                let original = &self.original[p];
                for &a in set {
                    let ca = self.c(t, a);
                    if ca < min_t + d_t || !original.contains(&a) {
                        continue;
                    }
                    let level = ca - d_t;
                    for members in &sc.by_rack {
                        let Some(&b) = members.iter().find(|b| !set.contains(b)) else {
                            continue;
                        };
                        if self.c(t, b) != level
                            || original.contains(&b)
                            || !self.rack_ok(set, a, b)
                        {
                            continue;
                        }
                        let mc = self.move_cost(p, a, b);
                        if left.is_some_and(|l| mc - 1 > l) {
                            continue;
                        }
                        sc.batch.push((a, b, p));
                    }
                }
            }
            if sc.batch.is_empty() {
                continue;
            }
            // Per pair the smallest partition of this size; pairs of a smaller size or with a
            // free replica were ranked before.
            sc.batch.sort_unstable();
            sc.batch.dedup_by_key(|x| (x.0, x.1));
            sc.pairs.clear();
            for &(a, b, p) in &sc.batch {
                if sc.seen.binary_search(&(a, b)).is_ok() || sc.ranked.contains(&(a, b)) {
                    continue;
                }
                let mc = self.move_cost(p, a, b);
                sc.pairs.push(Pair {
                    a,
                    b,
                    key: (mc, self.moved_bytes(p, mc), p),
                });
            }
            sc.ranked.extend(sc.pairs.iter().map(|x| (x.a, x.b)));
            self.try_pairs(sets, t, d_t, left, &sc.pairs, tries);
        }
    }

    /// Adds to `sc.pairs` the pairs (`a`, destination at count `level` of topic `t`) for the
    /// replicas of `t` on source `a` whose move costs no move: a replica off its original
    /// brokers goes to the emptiest broker of each rack it may go to or back to an original
    /// one (undoing a move), a replica on an original broker only to another original one,
    /// where those are at that level; per pair the cheapest replica is kept.
    fn free_pairs(
        &self,
        sets: &[Vec<usize>],
        t: usize,
        a: usize,
        level: u32,
        left: Option<i64>,
        sc: &mut Scratch,
    ) {
        let parts = &self.on[a * self.nt + t];
        if parts.is_empty() {
            return;
        }
        // A rack's emptiest broker not holding a partition is among its first `max_rf + 1`:
        // racks with none of those at the level cannot give a destination.
        sc.racks.clear();
        for (r, members) in sc.by_rack.iter().enumerate() {
            let head = &members[..members.len().min(self.max_rf + 1)];
            if head.iter().any(|&b| self.c(t, b) == level) {
                sc.racks.push(r);
            }
        }
        for &p in parts {
            let set = &sets[p];
            let original = &self.original[p];
            // Leaving an original broker costs a move unless the replica goes to another
            // original one: a replica on an original broker is free only towards those.
            let leaves = original.contains(&a);
            let emptiest = sc
                .racks
                .iter()
                .take(if leaves { 0 } else { sc.racks.len() })
                .filter_map(|&r| sc.by_rack[r].iter().find(|b| !set.contains(b)));
            for &b in emptiest.chain(original) {
                if self.c(t, b) != level || !self.rack_ok(set, a, b) {
                    continue;
                }
                let mc = self.move_cost(p, a, b);
                // A partner undoes at most one move: a replica that cannot fit the budget
                // even so is no candidate.
                if left.is_some_and(|l| mc - 1 > l) {
                    continue;
                }
                let key = (mc, self.moved_bytes(p, mc), p);
                match &mut sc.to[b] {
                    Some(e) => {
                        if key < *e {
                            *e = key;
                        }
                    }
                    slot @ None => {
                        *slot = Some(key);
                        sc.touched.push(b);
                    }
                }
            }
        }
        for &b in &sc.touched {
            if let Some(key) = sc.to[b].take() {
                sc.pairs.push(Pair { a, b, key });
            }
        }
        sc.touched.clear();
    }

    /// A replica on `b` of another topic `u` with `c_ub − c_ua ≥ 1` that can take `p`'s
    /// place on `a`: (partition, topic, moves, bytes, c_ub − c_ua), fewest moves (then bytes)
    /// first, within `left` added moves.
    fn partner(
        &self,
        sets: &[Vec<usize>],
        t: usize,
        p: usize,
        a: usize,
        b: usize,
        left: Option<i64>,
    ) -> Option<(usize, usize, i64, i128, usize)> {
        let sp = self.cluster.partitions[p].size_bytes;
        let mut best: Option<(i64, i128, Reverse<usize>, usize, usize)> = None;
        let mut scanned = 0;
        let row = |x: usize| &self.by_broker[x * self.nt..(x + 1) * self.nt];
        let (on_b, on_a) = (row(b), row(a));
        let lists = &self.on[b * self.nt..(b + 1) * self.nt];
        for (u, (qs, (&cub, &cua))) in lists.iter().zip(on_b.iter().zip(on_a)).enumerate() {
            if u == t || cub <= cua {
                continue;
            }
            let d_u = (cub - cua) as usize;
            for &q in qs {
                let Some((mc, by)) = self.partner_cost(sets, sp, q, a, b, left) else {
                    continue;
                };
                let key = (mc, by, Reverse(d_u), q, u);
                if best.is_none_or(|k| key < k) {
                    best = Some(key);
                }
                scanned += 1;
                // Undoing a move is the best a partner can do; enough candidates seen.
                if mc < 0 || scanned >= PARTNERS_SCANNED {
                    break;
                }
            }
            if best.is_some_and(|k| k.0 < 0) || scanned >= PARTNERS_SCANNED {
                break;
            }
        }
        best.map(|(mc, by, Reverse(d), q, u)| (q, u, mc, by, d))
    }

    /// What sending partner `q` from `b` to `a` in exchange for a replica of `sp` bytes costs
    /// (moves, bytes), or `None` when the rack rule, the move budget `left` or the byte limit
    /// of the broker whose bytes grow forbids it.
    fn partner_cost(
        &self,
        sets: &[Vec<usize>],
        sp: u64,
        q: usize,
        a: usize,
        b: usize,
        left: Option<i64>,
    ) -> Option<(i64, i128)> {
        if !self.rack_ok(&sets[q], b, a) {
            return None;
        }
        let mc = self.move_cost(q, b, a);
        if left.is_some_and(|l| mc > l) {
            return None;
        }
        let sq = self.cluster.partitions[q].size_bytes;
        let fits = if sp > sq {
            self.fits(b, self.bytes[b].saturating_add(sp - sq))
        } else {
            self.fits(a, self.bytes[a].saturating_add(sq - sp))
        };
        fits.then(|| (mc, self.moved_bytes(q, mc)))
    }

    /// Moves partition `p` of topic `t` from broker `from` to broker `to` in the per-broker
    /// lists.
    fn relist(&mut self, t: usize, p: usize, from: usize, to: usize) {
        let nt = self.nt;
        let list = &mut self.on[from * nt + t];
        if let Ok(i) = list.binary_search(&p) {
            list.remove(i);
        }
        let list = &mut self.on[to * nt + t];
        if let Err(i) = list.binary_search(&p) {
            list.insert(i, p);
        }
    }

    fn apply(&mut self, sets: &mut [Vec<usize>], s: &Swap) {
        let nb = self.nb;
        for x in sets[s.p].iter_mut() {
            if *x == s.a {
                *x = s.b;
            }
        }
        for x in sets[s.q].iter_mut() {
            if *x == s.b {
                *x = s.a;
            }
        }
        self.relist(s.t, s.p, s.a, s.b);
        self.relist(s.u, s.q, s.b, s.a);
        let nt = self.nt;
        self.count[s.t * nb + s.a] -= 1;
        self.count[s.t * nb + s.b] += 1;
        self.count[s.u * nb + s.b] -= 1;
        self.count[s.u * nb + s.a] += 1;
        self.by_broker[s.a * nt + s.t] -= 1;
        self.by_broker[s.b * nt + s.t] += 1;
        self.by_broker[s.b * nt + s.u] -= 1;
        self.by_broker[s.a * nt + s.u] += 1;
        let sp = self.cluster.partitions[s.p].size_bytes;
        let sq = self.cluster.partitions[s.q].size_bytes;
        self.bytes[s.a] = self.bytes[s.a].saturating_sub(sp).saturating_add(sq);
        self.bytes[s.b] = self.bytes[s.b].saturating_sub(sq).saturating_add(sp);
    }
}

/// Topic index of each partition (topics numbered in order of first appearance) and the
/// number of topics.
fn topic_indices(cluster: &Cluster) -> (Vec<usize>, usize) {
    let mut topic_ids: BTreeMap<&str, usize> = BTreeMap::new();
    let topic_of: Vec<usize> = cluster
        .partitions
        .iter()
        .map(|p| {
            let next = topic_ids.len();
            *topic_ids.entry(p.tp.topic.as_str()).or_insert(next)
        })
        .collect();
    (topic_of, topic_ids.len())
}

/// Evens out each topic's replicas over the allowed brokers in place, keeping every
/// broker's replica count. `sets`: per partition its broker indices (allowed brokers only);
/// `limits`: per broker its byte limit; `max_added_moves`: how many extra replica moves the
/// swaps may add in total (`None` = no limit; budgets pass what is left of theirs).
pub fn spread_topics(
    cluster: &Cluster,
    topo: &Topology,
    limits: &[Option<u64>],
    sets: &mut [Vec<usize>],
    max_added_moves: Option<usize>,
) -> TopicSpreadRefinement {
    let (topic_of, nt) = topic_indices(cluster);
    let mut st = State::new(cluster, topo, limits, sets, &topic_of, nt);
    run(
        &mut st,
        sets,
        nt,
        max_added_moves,
        |st, sets, t, left, sc| st.find_swap(sets, t, left, sc),
    )
}

/// The pass over the topics, with `find` choosing each swap.
fn run(
    st: &mut State,
    sets: &mut [Vec<usize>],
    nt: usize,
    max_added_moves: Option<usize>,
    mut find: impl FnMut(&State, &[Vec<usize>], usize, Option<i64>, &mut Scratch) -> Option<Swap>,
) -> TopicSpreadRefinement {
    let mut sc = st.scratch();
    let mut spreads: Vec<usize> = (0..nt).map(|t| st.spread(t)).collect();
    let spread_before = spreads.iter().copied().max().unwrap_or(0);
    let uneven = |spreads: &[usize]| -> BTreeSet<(Reverse<usize>, usize)> {
        (0..nt)
            .filter(|&t| spreads[t] >= 2)
            .map(|t| (Reverse(spreads[t]), t))
            .collect()
    };
    let mut out = TopicSpreadRefinement {
        spread_before,
        ..TopicSpreadRefinement::default()
    };
    let mut added: i64 = 0;
    // Every swap lowers Σ c² by at least 2 and every other step drops a topic from the
    // round, so the pass ends; the cap only guards against a bug looping.
    let mut steps_left = 4 * st.cluster.total_replicas() + 100;
    for _ in 0..MAX_ROUNDS {
        // Each round starts from every uneven topic: the ones found stuck in the last round
        // may have partners now that others moved.
        let mut active = uneven(&spreads);
        let mut swaps_this_round = 0usize;
        while let Some(&(Reverse(s), t)) = active.first() {
            if steps_left == 0 {
                break;
            }
            steps_left -= 1;
            let left = max_added_moves.map(|m| m as i64 - added);
            let Some(swap) = find(st, sets, t, left, &mut sc) else {
                active.remove(&(Reverse(s), t));
                continue;
            };
            st.apply(sets, &swap);
            added += swap.moves;
            out.swaps += 1;
            swaps_this_round += 1;
            for x in [swap.t, swap.u] {
                active.remove(&(Reverse(spreads[x]), x));
                spreads[x] = st.spread(x);
                // A partner topic is looked at again too: its counts changed.
                if spreads[x] >= 2 {
                    active.insert((Reverse(spreads[x]), x));
                }
            }
        }
        if swaps_this_round == 0 {
            break;
        }
    }
    out.move_delta = added;
    out.spread_after = spreads.iter().copied().max().unwrap_or(0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Broker, BrokerId, Partition, TopicPartition};

    /// A small deterministic generator (xorshift) for the random layouts.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    /// `racks` racks of `per_rack` brokers; topics of random size piled onto a few brokers,
    /// RF 2 or 3, random partition sizes, some brokers with a byte limit.
    fn random_case(seed: u64) -> (Cluster, Vec<Option<u64>>) {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let racks = 2 + rng.below(3);
        let per_rack = 2 + rng.below(3);
        let nb = racks * per_rack;
        let brokers: Vec<Broker> = (0..nb)
            .map(|i| Broker {
                id: i as BrokerId + 1,
                rack: Some(format!("r{}", i % racks)),
                capacity_bytes: None,
                log_dirs: Vec::new(),
            })
            .collect();
        let mut partitions = Vec::new();
        for t in 0..2 + rng.below(5) {
            // Each topic starts on a few brokers only, so its spread is large.
            let home: Vec<usize> = (0..2 + rng.below(3)).map(|_| rng.below(nb)).collect();
            for i in 0..3 + rng.below(14) {
                let rf = 2 + rng.below(2);
                let mut replicas: Vec<BrokerId> = Vec::new();
                while replicas.len() < rf {
                    let b = if rng.below(3) > 0 {
                        home[rng.below(home.len())]
                    } else {
                        rng.below(nb)
                    };
                    let id = b as BrokerId + 1;
                    if !replicas.contains(&id) {
                        replicas.push(id);
                    }
                }
                partitions.push(Partition {
                    tp: TopicPartition::new(format!("t{t}"), i as i32),
                    replicas,
                    size_bytes: 1 + rng.below(5) as u64 * 1_000,
                    leader: None,
                    isr: None,
                    in_flight: None,
                    log_dirs: Vec::new(),
                    rates: None,
                });
            }
        }
        let limits = (0..nb)
            .map(|_| (rng.below(4) == 0).then(|| 20_000 + rng.below(20) as u64 * 1_000))
            .collect();
        (Cluster::new(brokers, partitions), limits)
    }

    /// The current layout with some replicas moved elsewhere (as the count flow would), so
    /// that swaps can both undo and add moves.
    fn moved_sets(topo: &Topology, cluster: &Cluster, seed: u64) -> Vec<Vec<usize>> {
        let mut rng = Rng(seed.wrapping_mul(0xD1B5_4A32_D192_ED03) | 1);
        let nb = topo.ids.len();
        let mut sets = topo.current_sets(cluster);
        for set in &mut sets {
            for k in 0..set.len() {
                if rng.below(4) == 0 {
                    let to = rng.below(nb);
                    if !set.contains(&to) {
                        set[k] = to;
                    }
                }
            }
        }
        sets
    }

    /// The swap search as specified, by brute force: every pair of every source (every
    /// partition of the topic looked at), ranked in one sort; partners from every partition.
    fn reference_swap(
        st: &State,
        sets: &[Vec<usize>],
        t: usize,
        left: Option<i64>,
    ) -> Option<Swap> {
        let topic_of = topic_indices(st.cluster).0;
        let min_t = st.allowed.iter().map(|&b| st.c(t, b)).min()?;
        let by_rack: Vec<Vec<usize>> = st
            .topo
            .racks
            .iter()
            .map(|m| {
                let mut v = m.clone();
                v.sort_by_key(|&b| (st.c(t, b), b));
                v
            })
            .collect();
        let mut pairs: BTreeMap<(usize, usize), PairKey> = BTreeMap::new();
        for &a in &st.allowed {
            let ca = st.c(t, a);
            if ca < min_t + 2 {
                continue;
            }
            for p in (0..sets.len()).filter(|&p| topic_of[p] == t && sets[p].contains(&a)) {
                let set = &sets[p];
                let emptiest = by_rack
                    .iter()
                    .filter_map(|m| m.iter().find(|b| !set.contains(b)));
                for &b in emptiest.chain(&st.original[p]) {
                    if st.c(t, b) + 2 > ca || !st.rack_ok(set, a, b) {
                        continue;
                    }
                    let mc = st.move_cost(p, a, b);
                    if left.is_some_and(|l| mc - 1 > l) {
                        continue;
                    }
                    let key = (mc, st.moved_bytes(p, mc), p);
                    let e = pairs.entry((a, b)).or_insert(key);
                    *e = (*e).min(key);
                }
            }
        }
        let d = |a: usize, b: usize| (st.c(t, a) - st.c(t, b)) as usize;
        let mut ranked: Vec<((usize, usize), PairKey)> = pairs.into_iter().collect();
        ranked.sort_by_key(|&((a, b), (mc, by, _))| (Reverse(d(a, b)), mc, by, a, b));
        let mut best: Option<Swap> = None;
        let mut found = 0;
        for ((a, b), (mc_p, by_p, p)) in ranked.into_iter().take(PAIRS_TRIED) {
            if found >= PAIRS_FOUND {
                break;
            }
            let Some((q, u, mc_q, by_q, d_u)) =
                reference_partner(st, sets, &topic_of, t, p, a, b, left.map(|l| l - mc_p))
            else {
                continue;
            };
            let swap = Swap {
                p,
                q,
                t,
                u,
                a,
                b,
                moves: mc_p + mc_q,
                bytes: by_p + by_q,
                gain: d(a, b) + d_u,
            };
            let key = |s: &Swap| (s.moves, s.bytes, Reverse(s.gain));
            if best.as_ref().is_none_or(|s| key(&swap) < key(s)) {
                best = Some(swap);
            }
            found += 1;
        }
        best
    }

    /// The partner search from every partition on `b`, in (topic, partition) order.
    #[allow(clippy::too_many_arguments)]
    fn reference_partner(
        st: &State,
        sets: &[Vec<usize>],
        topic_of: &[usize],
        t: usize,
        p: usize,
        a: usize,
        b: usize,
        left: Option<i64>,
    ) -> Option<(usize, usize, i64, i128, usize)> {
        let mut on_b: Vec<(usize, usize)> = (0..sets.len())
            .filter(|&q| sets[q].contains(&b))
            .map(|q| (topic_of[q], q))
            .collect();
        on_b.sort_unstable();
        let sp = st.cluster.partitions[p].size_bytes;
        let mut best: Option<(i64, i128, Reverse<usize>, usize, usize)> = None;
        let mut scanned = 0;
        let mut i = 0;
        while i < on_b.len() {
            let u = on_b[i].0;
            let end = i + on_b[i..].iter().take_while(|x| x.0 == u).count();
            let topic = &on_b[i..end];
            i = end;
            let (cub, cua) = (st.c(u, b), st.c(u, a));
            if u == t || cub <= cua {
                continue;
            }
            for &(_, q) in topic {
                let Some((mc, by)) = st.partner_cost(sets, sp, q, a, b, left) else {
                    continue;
                };
                let key = (mc, by, Reverse((cub - cua) as usize), q, u);
                best = Some(best.map_or(key, |k| k.min(key)));
                scanned += 1;
                if mc < 0 || scanned >= PARTNERS_SCANNED {
                    break;
                }
            }
            if best.is_some_and(|k| k.0 < 0) || scanned >= PARTNERS_SCANNED {
                break;
            }
        }
        best.map(|(mc, by, Reverse(d), q, u)| (q, u, mc, by, d))
    }

    /// Counts, per-broker lists and bytes recounted from the layout.
    fn assert_state_matches(st: &State, sets: &[Vec<usize>], topic_of: &[usize], nt: usize) {
        let nb = st.nb;
        let mut count = vec![0u32; nt * nb];
        let mut by_broker = vec![0u32; nt * nb];
        let mut on: Vec<Vec<usize>> = vec![Vec::new(); nt * nb];
        let mut bytes = vec![0u64; nb];
        for (p, set) in sets.iter().enumerate() {
            for &b in set {
                count[topic_of[p] * nb + b] += 1;
                by_broker[b * nt + topic_of[p]] += 1;
                on[b * nt + topic_of[p]].push(p);
                bytes[b] += st.cluster.partitions[p].size_bytes;
            }
        }
        assert_eq!(st.count, count, "per-topic per-broker counts went stale");
        assert_eq!(
            st.by_broker, by_broker,
            "per-broker per-topic counts went stale"
        );
        for (t, parts) in st.by_size.iter().enumerate() {
            let mut want: Vec<usize> = (0..sets.len()).filter(|&p| topic_of[p] == t).collect();
            want.sort_by_key(|&p| (st.cluster.partitions[p].size_bytes, p));
            assert_eq!(parts, &want, "topic {t}: partitions out of size order");
        }
        assert_eq!(st.on, on, "per-broker partition lists went stale");
        assert_eq!(st.bytes, bytes, "per-broker bytes went stale");
    }

    #[test]
    fn every_swap_is_the_one_the_brute_force_ranking_picks_and_the_state_stays_in_step() {
        let mut swaps = 0;
        let mut compared = 0;
        for seed in 0..300u64 {
            let (cluster, limits) = random_case(seed);
            let excluded = if seed % 5 == 0 {
                BTreeSet::from([cluster.brokers[0].id])
            } else {
                BTreeSet::new()
            };
            let topo = Topology::new(&cluster, &excluded);
            let mut sets = moved_sets(&topo, &cluster, seed);
            // Excluded brokers hold no replica when the pass runs.
            for set in &mut sets {
                set.retain(|&b| topo.allowed[b]);
            }
            let budget = (seed % 3 == 0).then_some(seed as usize % 7);
            let (topic_of, nt) = topic_indices(&cluster);
            let mut st = State::new(&cluster, &topo, &limits, &sets, &topic_of, nt);
            let done = run(&mut st, &mut sets, nt, budget, |st, sets, t, left, sc| {
                let fast = st.find_swap(sets, t, left, sc);
                assert_eq!(
                    fast,
                    reference_swap(st, sets, t, left),
                    "seed {seed} topic {t}"
                );
                assert_state_matches(st, sets, &topic_of, nt);
                compared += 1;
                fast
            });
            assert_state_matches(&st, &sets, &topic_of, nt);
            assert!(done.spread_after <= done.spread_before);
            if let Some(b) = budget {
                assert!(done.move_delta <= b as i64, "seed {seed}: over the budget");
            }
            swaps += done.swaps;
        }
        // The random layouts must exercise the search, not only stuck topics.
        assert!(swaps > 300, "only {swaps} swaps");
        assert!(compared > swaps);
    }
}
