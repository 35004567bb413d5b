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
    };
    let mut done = Descent::default();
    // Every step lowers the potential, so the descent ends; the cap only bounds the time on
    // a pathological input.
    let max_steps = 4 * cluster.total_replicas() + 16;
    for _ in 0..max_steps {
        let hot: Vec<bool> = (0..nb).map(|b| st.hot(b)).collect();
        if !hot.iter().any(|h| *h) {
            break;
        }
        if let Some((p, k)) = best_leadership(&st, sets, leader_pos, &hot) {
            let (a, c) = (sets[p][leader_pos[p]], sets[p][k]);
            let delta = st.leader_delta(p);
            st.shift(a, c, &delta);
            leader_pos[p] = k;
            done.leadership_steps += 1;
            continue;
        }
        match best_move(&st, sets, leader_pos, &hot) {
            Some((p, k, c)) => {
                let a = sets[p][k];
                let mut delta = [st.bytes_in[p], 0, 0];
                if k == leader_pos[p] {
                    delta[1] = st.out_lead[p];
                    delta[2] = st.bytes_in[p];
                }
                st.shift(a, c, &delta);
                st.disk[a] -= st.size[p];
                st.disk[c] += st.size[p];
                sets[p][k] = c;
                done.replica_steps += 1;
            }
            None => break,
        }
    }
    done.target_reached = (0..nb).all(|b| {
        !topo.allowed[b]
            || (st.load[b][0] <= goal_in[b] && st.load[b][1] <= goal[1] && st.load[b][2] <= goal[2])
    });
    done
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

/// The leadership change that lowers the potential most: (partition, new leader position).
fn best_leadership(
    st: &State,
    sets: &[Vec<usize>],
    leader_pos: &[usize],
    hot: &[bool],
) -> Option<(usize, usize)> {
    let mut best: Option<(Gain, usize, usize)> = None;
    for (p, set) in sets.iter().enumerate() {
        let lp = leader_pos[p];
        let Some(&a) = set.get(lp) else { continue };
        if !hot[a] || (st.out_lead[p] == 0 && st.bytes_in[p] == 0) {
            continue;
        }
        let delta = st.leader_delta(p);
        for (k, &c) in set.iter().enumerate() {
            if k == lp || !st.topo.allowed[c] {
                continue;
            }
            let g = st.gain(a, c, &delta);
            if g.improves() && best.is_none_or(|(bg, _, _)| g.better_than(&bg)) {
                best = Some((g, p, k));
            }
        }
    }
    best.map(|(_, p, k)| (p, k))
}

/// The replica move that lowers the potential most (the fewest bytes among equal gains):
/// (partition, position in its set, new broker).
fn best_move(
    st: &State,
    sets: &[Vec<usize>],
    leader_pos: &[usize],
    hot: &[bool],
) -> Option<(usize, usize, usize)> {
    let topo = st.topo;
    let nb = topo.ids.len();
    let mut best: Option<(Gain, u64, usize, usize, usize)> = None;
    for (p, set) in sets.iter().enumerate() {
        if st.bytes_in[p] == 0 && st.out_lead[p] == 0 {
            continue;
        }
        let cap = topo.rack_cap(set.len());
        for (k, &a) in set.iter().enumerate() {
            if !hot[a] {
                continue;
            }
            let mut delta = [st.bytes_in[p], 0, 0];
            if k == leader_pos[p] {
                delta[1] = st.out_lead[p];
                delta[2] = st.bytes_in[p];
            }
            for c in 0..nb {
                if !topo.allowed[c] || set.contains(&c) {
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
                    Some((bg, bs, ..)) => {
                        g.better_than(&bg) || (!bg.better_than(&g) && st.size[p] < bs)
                    }
                };
                if better {
                    best = Some((g, st.size[p], p, k, c));
                }
            }
        }
    }
    best.map(|(_, _, p, k, c)| (p, k, c))
}
