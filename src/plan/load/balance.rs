//! `--balance load`: a deterministic descent on the brokers' excess traffic. The potential is
//! the sum over allowed brokers of the squared excess (relative to the mean) of network in,
//! network out and leader bytes-in over their targets (mean × (1 + tolerance), or the
//! network limit when lower), with excess over a hard limit weighted far above the rest.
//! Each step takes the single change that lowers the potential most:
//!
//! 1. a leadership change (another replica of the partition becomes its preferred leader:
//!    the replica list is only reordered, no data is copied) whenever one lowers it;
//! 2. only when none does, a replica move (off a broker with excess, onto any allowed broker
//!    the rack rule and the disk limit accept; a moved leader replica stays the leader), the
//!    least bytes first among equal gains.
//!
//! It stops once every broker is within its targets (so a balanced cluster gets no change and
//! a leadership-only fix gets no move) or when no single change helps.

use crate::model::Cluster;
use crate::plan::replicas::Topology;

use super::{leader_out, rates, LoadConfig};

/// Gains below this are rounding noise, not progress (the potential is O(brokers)).
const MIN_GAIN: f64 = 1e-12;

/// A change of the potential: excess over the hard network limits first, then excess over
/// the balance targets (the limits are hard, the tolerance is a goal).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Gain {
    limits: f64,
    balance: f64,
}

impl Gain {
    /// Lowers the potential: the limit excess drops, or stays and the balance excess drops.
    fn improves(&self) -> bool {
        self.limits > MIN_GAIN || (self.limits >= -MIN_GAIN && self.balance > MIN_GAIN)
    }

    fn better_than(&self, other: &Gain) -> bool {
        if (self.limits - other.limits).abs() > MIN_GAIN {
            self.limits > other.limits
        } else {
            self.balance > other.balance
        }
    }
}

/// What the descent did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Descent {
    pub leadership_steps: usize,
    pub replica_steps: usize,
    /// Every allowed broker within its balance targets.
    pub target_reached: bool,
}

/// Loads of one broker: network in, network out, leader bytes-in.
type Load = [i128; 3];

#[derive(Clone)]
struct State<'a> {
    topo: &'a Topology,
    /// Per partition: produce rate, what its leader sends, bytes of one replica.
    bytes_in: Vec<i128>,
    out_lead: Vec<i128>,
    size: Vec<u64>,
    load: Vec<Load>,
    target: Vec<Load>,
    /// Hard limits of network in and out (`i128::MAX` when none).
    limit: Vec<[i128; 2]>,
    scale: [f64; 3],
    disk: Vec<u64>,
    disk_limit: &'a [Option<u64>],
    /// Partitions with a replica on each broker, and those each broker leads (kept up to
    /// date by the steps).
    on: Vec<Vec<usize>>,
    led: Vec<Vec<usize>>,
}

impl State<'_> {
    fn phi(&self, b: usize, l: &Load) -> (f64, f64) {
        let sq = |x: i128, s: f64| {
            if x > 0 {
                let r = x as f64 / s;
                r * r
            } else {
                0.0
            }
        };
        let t = &self.target[b];
        let c = &self.limit[b];
        let mut balance = 0.0;
        for d in 0..3 {
            balance += sq(l[d] - t[d], self.scale[d]);
        }
        let mut limits = 0.0;
        for d in 0..2 {
            limits += sq(l[d].saturating_sub(c[d]), self.scale[d]);
        }
        (limits, balance)
    }

    fn hot(&self, b: usize) -> bool {
        let (l, bal) = self.phi(b, &self.load[b]);
        self.topo.allowed[b] && (l > 0.0 || bal > 0.0)
    }

    /// Gain of shifting `delta` from broker `a` to broker `c`.
    fn gain(&self, a: usize, c: usize, delta: &Load) -> Gain {
        let (la, lc) = (&self.load[a], &self.load[c]);
        let na = [la[0] - delta[0], la[1] - delta[1], la[2] - delta[2]];
        let nc = [lc[0] + delta[0], lc[1] + delta[1], lc[2] + delta[2]];
        let (pa, pc) = (self.phi(a, la), self.phi(c, lc));
        let (qa, qc) = (self.phi(a, &na), self.phi(c, &nc));
        Gain {
            limits: pa.0 + pc.0 - qa.0 - qc.0,
            balance: pa.1 + pc.1 - qa.1 - qc.1,
        }
    }

    fn shift(&mut self, a: usize, c: usize, delta: &Load) {
        for d in 0..3 {
            self.load[a][d] -= delta[d];
            self.load[c][d] += delta[d];
        }
    }

    /// Every allowed broker within its balance targets.
    fn reached(&self, goal_in: &[i128], goal: &Load) -> bool {
        (0..self.load.len()).all(|b| {
            let l = &self.load[b];
            !self.topo.allowed[b] || (l[0] <= goal_in[b] && l[1] <= goal[1] && l[2] <= goal[2])
        })
    }

    fn leader_delta(&self, p: usize) -> Load {
        [0, self.out_lead[p], self.bytes_in[p]]
    }
}

/// Runs the descent on `sets` (broker indices per partition, ordered like the current
/// lists) and `leader_pos` (position of each preferred leader in its set), in place.
pub fn descend(
    cluster: &Cluster,
    topo: &Topology,
    config: &LoadConfig,
    disk_limit: &[Option<u64>],
    sets: &mut [Vec<usize>],
    leader_pos: &mut [usize],
) -> Descent {
    let nb = topo.ids.len();
    let np = sets.len();
    let bytes_in: Vec<i128> = cluster
        .partitions
        .iter()
        .map(|p| rates(p).0 as i128)
        .collect();
    let out_lead: Vec<i128> = cluster
        .partitions
        .iter()
        .zip(sets.iter())
        .map(|(p, s)| leader_out(p, s.len()) as i128)
        .collect();
    let mut load = vec![[0i128; 3]; nb];
    for p in 0..np {
        for (k, &b) in sets[p].iter().enumerate() {
            load[b][0] += bytes_in[p];
            if k == leader_pos[p] {
                load[b][1] += out_lead[p];
                load[b][2] += bytes_in[p];
            }
        }
    }
    let allowed = topo.allowed_count().max(1) as i128;
    let mut total = [0i128; 3];
    for l in &load {
        for d in 0..3 {
            total[d] += l[d];
        }
    }
    let mean: Vec<f64> = total.iter().map(|&t| t as f64 / allowed as f64).collect();
    let scale = [mean[0].max(1.0), mean[1].max(1.0), mean[2].max(1.0)];
    let goal: Load = [
        (mean[0] * (1.0 + config.tolerance)).floor() as i128,
        (mean[1] * (1.0 + config.tolerance)).floor() as i128,
        (mean[2] * (1.0 + config.tolerance)).floor() as i128,
    ];
    let limit: Vec<[i128; 2]> = topo
        .ids
        .iter()
        .map(|&id| {
            let (i, o) = config.limits(id);
            [
                i.map_or(i128::MAX, i128::from),
                o.map_or(i128::MAX, i128::from),
            ]
        })
        .collect();
    // The rack rule can force a rack to take more than its brokers' share of network in
    // (a rack with fewer brokers still holds a replica of every partition): its brokers'
    // target is then their forced level plus the tolerance.
    let forced_in = rack_forced_in(cluster, topo, config.tolerance);
    let goal_in: Vec<i128> = (0..nb)
        .map(|b| goal[0].max(forced_in.get(topo.rack[b]).copied().unwrap_or(0)))
        .collect();
    let target: Vec<Load> = (0..nb)
        .map(|b| {
            [
                goal_in[b].min(limit[b][0]),
                goal[1].min(limit[b][1]),
                goal[2],
            ]
        })
        .collect();
    let disk = crate::plan::capacity::bytes_per_broker(cluster, nb, sets);
    let mut st = State {
        topo,
        bytes_in,
        out_lead,
        size: cluster.partitions.iter().map(|p| p.size_bytes).collect(),
        load,
        target,
        limit,
        scale,
        disk,
        disk_limit,
        on: {
            let mut on = vec![Vec::new(); nb];
            for (p, set) in sets.iter().enumerate() {
                for &b in set {
                    on[b].push(p);
                }
            }
            on
        },
        led: {
            let mut led = vec![Vec::new(); nb];
            for (p, set) in sets.iter().enumerate() {
                if let Some(&b) = set.get(leader_pos[p]) {
                    led[b].push(p);
                }
            }
            led
        },
    };
    // Leadership alone first: when it reaches the targets the plan copies no data. Network
    // in does not depend on leadership, so it is tried only when network in is already in.
    let in_ok =
        (0..nb).all(|b| !topo.allowed[b] || st.load[b][0] <= goal_in[b].min(st.limit[b][0]));
    if in_ok {
        let (mut trial_sets, mut trial_pos) = (sets.to_vec(), leader_pos.to_vec());
        let mut trial = st.clone();
        let mut done = Descent::default();
        steps(
            &mut trial,
            &mut trial_sets,
            &mut trial_pos,
            false,
            &mut done,
        );
        if trial.reached(&goal_in, &goal) {
            done.target_reached = true;
            leader_pos.copy_from_slice(&trial_pos);
            return done;
        }
    }
    let mut done = Descent::default();
    steps(&mut st, sets, leader_pos, true, &mut done);
    done.target_reached = st.reached(&goal_in, &goal);
    done
}

/// A replica move is taken over the best leadership change only when it lowers the
/// potential at least this many times as much: leadership changes copy no data, but a
/// leader replica moved off a hot broker fixes network in, out and leader bytes-in at once
/// (where leadership changes alone would only spread the excess over the old brokers).
const MOVE_OVER_LEADERSHIP: f64 = 2.0;

/// The descent proper (see the module comment), with replica moves or leadership only.
fn steps(
    st: &mut State,
    sets: &mut [Vec<usize>],
    leader_pos: &mut [usize],
    moves: bool,
    done: &mut Descent,
) {
    let nb = st.topo.ids.len();
    // Every step lowers the potential, so the descent ends; the cap only bounds the time on
    // a pathological input.
    let replicas: usize = sets.iter().map(Vec::len).sum();
    let max_steps = 4 * replicas + 16;
    for _ in 0..max_steps {
        let hot: Vec<bool> = (0..nb).map(|b| st.hot(b)).collect();
        if !hot.iter().any(|h| *h) {
            break;
        }
        // Sources hottest first: the first broker with an improving change gives it.
        let mut order: Vec<usize> = (0..nb).filter(|&b| hot[b]).collect();
        let phi: Vec<(f64, f64)> = (0..nb).map(|b| st.phi(b, &st.load[b])).collect();
        order.sort_by(|&x, &y| {
            phi[y]
                .0
                .total_cmp(&phi[x].0)
                .then(phi[y].1.total_cmp(&phi[x].1))
                .then(x.cmp(&y))
        });
        let lead = order
            .iter()
            .find_map(|&a| best_leadership(st, sets, leader_pos, a));
        // No move gains more than its source's whole potential (adding load never lowers a
        // broker's), so the moves are searched only when that could beat the leadership
        // change found.
        let could_beat = |lead: &Option<(Gain, usize, usize)>| match (lead, order.first()) {
            (None, _) => true,
            (_, None) => false,
            (Some((lg, ..)), Some(&a)) => Gain {
                limits: phi[a].0 / MOVE_OVER_LEADERSHIP,
                balance: phi[a].1 / MOVE_OVER_LEADERSHIP,
            }
            .better_than(lg),
        };
        let mv = if moves && could_beat(&lead) {
            order
                .iter()
                .find_map(|&a| best_move(st, sets, leader_pos, a))
        } else {
            None
        };
        let take_move = match (&lead, &mv) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some((lg, ..)), Some((mg, ..))) => Gain {
                limits: mg.limits / MOVE_OVER_LEADERSHIP,
                balance: mg.balance / MOVE_OVER_LEADERSHIP,
            }
            .better_than(lg),
        };
        if take_move {
            let Some((_, p, k, c)) = mv else { break };
            let a = sets[p][k];
            let mut delta = [st.bytes_in[p], 0, 0];
            if k == leader_pos[p] {
                delta[1] = st.out_lead[p];
                delta[2] = st.bytes_in[p];
            }
            st.shift(a, c, &delta);
            st.disk[a] -= st.size[p];
            st.disk[c] += st.size[p];
            st.on[a].retain(|&q| q != p);
            st.on[c].push(p);
            if k == leader_pos[p] {
                st.led[a].retain(|&q| q != p);
                st.led[c].push(p);
            }
            sets[p][k] = c;
            done.replica_steps += 1;
        } else if let Some((_, p, k)) = lead {
            let (a, c) = (sets[p][leader_pos[p]], sets[p][k]);
            let delta = st.leader_delta(p);
            st.shift(a, c, &delta);
            st.led[a].retain(|&q| q != p);
            st.led[c].push(p);
            leader_pos[p] = k;
            done.leadership_steps += 1;
        } else {
            break;
        }
    }
}

/// Per rack, the network in each of its brokers must take at least under the rack rule, plus
/// the tolerance (0 where the rule forces nothing above the mean).
pub fn rack_forced_in(cluster: &Cluster, topo: &Topology, tolerance: f64) -> Vec<i128> {
    let (rack_min, _) = crate::plan::replicas::rack_slot_limits(cluster, topo, |p| rates(p).0);
    rack_min
        .iter()
        .zip(&topo.racks)
        .map(|(&m, members)| {
            let level = m as f64 / members.len().max(1) as f64;
            (level * (1.0 + tolerance)).floor() as i128
        })
        .collect()
}

/// The leadership change off broker `source` that lowers the potential most: (gain,
/// partition, new leader position).
fn best_leadership(
    st: &State,
    sets: &[Vec<usize>],
    leader_pos: &[usize],
    source: usize,
) -> Option<(Gain, usize, usize)> {
    let mut best: Option<(Gain, usize, usize)> = None;
    for &p in &st.led[source] {
        let set = &sets[p];
        let lp = leader_pos[p];
        if set.get(lp) != Some(&source) || (st.out_lead[p] == 0 && st.bytes_in[p] == 0) {
            continue;
        }
        let delta = st.leader_delta(p);
        for (k, &c) in set.iter().enumerate() {
            if k == lp || !st.topo.allowed[c] {
                continue;
            }
            let g = st.gain(source, c, &delta);
            let better = match &best {
                None => true,
                Some((bg, bp, _)) => g.better_than(bg) || (!bg.better_than(&g) && p < *bp),
            };
            if g.improves() && better {
                best = Some((g, p, k));
            }
        }
    }
    best
}

/// Brokers with the most room left under their targets, per figure (and the roomiest of
/// each rack): the receivers a move is tried onto. The best receiver of a replica is usually
/// one of them, and trying only these keeps a step linear in the source's replicas.
const RECEIVERS_PER_FIGURE: usize = 6;

fn receivers(st: &State) -> Vec<usize> {
    let nb = st.topo.ids.len();
    let allowed: Vec<usize> = (0..nb).filter(|&b| st.topo.allowed[b]).collect();
    let mut out = Vec::new();
    for d in 0..3 {
        let mut by_room = allowed.clone();
        by_room.sort_by_key(|&b| (st.load[b][d] - st.target[b][d], b));
        // The roomiest few, and the roomiest of every rack (the rack rule may allow only
        // one rack for a replica).
        let mut rack_seen = vec![false; st.topo.racks.len()];
        for (i, b) in by_room.into_iter().enumerate() {
            let r = st.topo.rack[b];
            let first_of_rack = rack_seen.get(r).is_some_and(|seen| !seen);
            if i < RECEIVERS_PER_FIGURE || first_of_rack {
                out.push(b);
            }
            if let Some(seen) = rack_seen.get_mut(r) {
                *seen = true;
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The replica move off broker `source` that lowers the potential most (the fewest bytes
/// among equal gains): (gain, partition, position in its set, new broker).
fn best_move(
    st: &State,
    sets: &[Vec<usize>],
    leader_pos: &[usize],
    source: usize,
) -> Option<(Gain, usize, usize, usize)> {
    let topo = st.topo;
    let targets = receivers(st);
    let mut best: Option<(Gain, u64, usize, usize, usize)> = None;
    for &p in &st.on[source] {
        let set = &sets[p];
        if st.bytes_in[p] == 0 && st.out_lead[p] == 0 {
            continue;
        }
        let cap = topo.rack_cap(set.len());
        for (k, &a) in set.iter().enumerate() {
            if a != source {
                continue;
            }
            let mut delta = [st.bytes_in[p], 0, 0];
            if k == leader_pos[p] {
                delta[1] = st.out_lead[p];
                delta[2] = st.bytes_in[p];
            }
            for &c in &targets {
                if set.contains(&c) {
                    continue;
                }
                if st.disk_limit[c].is_some_and(|l| st.disk[c].saturating_add(st.size[p]) > l) {
                    continue;
                }
                let in_rack = set
                    .iter()
                    .filter(|&&x| x != a && topo.rack[x] == topo.rack[c])
                    .count();
                if in_rack >= cap {
                    continue;
                }
                let g = st.gain(a, c, &delta);
                if !g.improves() {
                    continue;
                }
                let better = match best {
                    None => true,
                    Some((bg, bs, bp, bk, bc)) => {
                        g.better_than(&bg)
                            || (!bg.better_than(&g) && (st.size[p], p, k, c) < (bs, bp, bk, bc))
                    }
                };
                if better {
                    best = Some((g, st.size[p], p, k, c));
                }
            }
        }
    }
    best.map(|(g, _, p, k, c)| (g, p, k, c))
}
