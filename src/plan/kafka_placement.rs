//! Kafka's own `--generate` placement, reproduced exactly (spec §B): the legacy
//! `AdminUtils.assignReplicasToBrokers` (rack-unaware and rack-aware, Kafka ≤ 4.0) and the
//! `StripedReplicaPlacer` (Kafka 4.1+), driven by a `java.util.Random` with a chosen seed so
//! a user who wants Kafka's layout gets it reproducibly. Tests drive the same code with a
//! scripted random source to reproduce the spec's vectors draw for draw.
//!
//! Error messages are Kafka's text (the tool prints them as the cause of its failure).

use std::collections::BTreeMap;
use std::fmt;

use crate::model::BrokerId;

/// A source of `java.util.Random#nextInt(bound)` values. `bound` is always positive.
pub trait RandomSource {
    fn next_int(&mut self, bound: i32) -> i32;
}

/// `java.util.Random`: the 48-bit linear congruential generator of the JDK, bit for bit.
#[derive(Debug, Clone)]
pub struct JavaRandom {
    seed: u64,
}

const MULTIPLIER: u64 = 0x5_DEEC_E66D;
const ADDEND: u64 = 0xB;
const MASK: u64 = (1 << 48) - 1;

impl JavaRandom {
    /// `new Random(seed)`: the seed is scrambled with the multiplier, as the JDK does.
    pub fn new(seed: i64) -> Self {
        JavaRandom {
            seed: (seed as u64 ^ MULTIPLIER) & MASK,
        }
    }

    /// `Random#next(bits)`.
    fn next(&mut self, bits: u32) -> i32 {
        self.seed = (self.seed.wrapping_mul(MULTIPLIER).wrapping_add(ADDEND)) & MASK;
        (self.seed >> (48 - bits)) as i64 as i32
    }
}

impl RandomSource for JavaRandom {
    /// `Random#nextInt(bound)`: the power-of-two path takes the high bits; otherwise values
    /// from the biased top of the 31-bit range are rejected and redrawn.
    fn next_int(&mut self, bound: i32) -> i32 {
        if bound <= 0 {
            // Java throws here; callers never ask for it. 0 keeps this total.
            return 0;
        }
        if bound & bound.wrapping_neg() == bound {
            return ((i64::from(bound) * i64::from(self.next(31))) >> 31) as i32;
        }
        loop {
            let bits = self.next(31);
            let val = bits % bound;
            // Java's overflow test `bits - val + (bound - 1) < 0`, in 32-bit arithmetic.
            if bits.wrapping_sub(val).wrapping_add(bound - 1) >= 0 {
                return val;
            }
        }
    }
}

/// A random source that replays given values and records the bounds asked for, so tests can
/// check a placement against a vector's `nextInt` sequence. Past the script it returns 0.
#[derive(Debug, Clone, Default)]
pub struct ScriptedRandom {
    values: Vec<i32>,
    next: usize,
    /// Every `(bound, value)` handed out, in order.
    pub calls: Vec<(i32, i32)>,
}

impl ScriptedRandom {
    pub fn new(values: Vec<i32>) -> Self {
        ScriptedRandom {
            values,
            next: 0,
            calls: Vec::new(),
        }
    }
}

impl RandomSource for ScriptedRandom {
    fn next_int(&mut self, bound: i32) -> i32 {
        let v = self.values.get(self.next).copied().unwrap_or(0);
        self.next += 1;
        self.calls.push((bound, v));
        v
    }
}

/// Which of Kafka's algorithms `--generate` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KafkaAlgorithm {
    /// `AdminUtils.assignReplicasToBrokers` (Kafka ≤ 4.0).
    Legacy,
    /// `StripedReplicaPlacer` (Kafka 4.1+).
    Striped,
}

impl KafkaAlgorithm {
    /// The algorithm of a Kafka version `major.minor` (KAFKA-18798 switched in 4.1).
    pub fn for_version(major: u32, minor: u32) -> Self {
        if (major, minor) >= (4, 1) {
            KafkaAlgorithm::Striped
        } else {
            KafkaAlgorithm::Legacy
        }
    }
}

/// A broker as the placer sees it. `rack` is `None` for no rack (or in rack-unaware mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacementBroker {
    pub id: BrokerId,
    pub rack: Option<String>,
}

/// Kafka's refusal, with Kafka's message text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaPlacementError(pub String);

impl fmt::Display for KafkaPlacementError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for KafkaPlacementError {}

/// The tool's refusal when rack-aware placement meets brokers with and without racks.
pub const MIXED_RACKS_MESSAGE: &str = "Not all brokers have rack information. Add --disable-rack-aware in command line to make replica assignment without rack information.";

/// Places `n_partitions` partitions of replication factor `rf` on `brokers` (in the order
/// Kafka would list them) with the chosen algorithm. Racks are used when every broker has
/// one; the caller applies the tool's mixed-rack check and `--disable-rack-aware` first.
pub fn place_topic(
    algorithm: KafkaAlgorithm,
    brokers: &[PlacementBroker],
    n_partitions: usize,
    rf: usize,
    rnd: &mut dyn RandomSource,
) -> Result<Vec<Vec<BrokerId>>, KafkaPlacementError> {
    match algorithm {
        KafkaAlgorithm::Legacy => place_legacy(brokers, n_partitions, rf, rnd),
        KafkaAlgorithm::Striped => place_striped(brokers, n_partitions, rf, rnd),
    }
}

/// `AdminUtils.assignReplicasToBrokers` (spec §B2, §B3).
pub fn place_legacy(
    brokers: &[PlacementBroker],
    n_partitions: usize,
    rf: usize,
    rnd: &mut dyn RandomSource,
) -> Result<Vec<Vec<BrokerId>>, KafkaPlacementError> {
    let rack_aware = !brokers.is_empty() && brokers.iter().all(|b| b.rack.is_some());
    let (order, rack_of): (Vec<BrokerId>, BTreeMap<BrokerId, &str>) = if rack_aware {
        let rack_of: BTreeMap<BrokerId, &str> = brokers
            .iter()
            .filter_map(|b| b.rack.as_deref().map(|r| (b.id, r)))
            .collect();
        (rack_alternated(brokers), rack_of)
    } else {
        (brokers.iter().map(|b| b.id).collect(), BTreeMap::new())
    };
    let n = order.len();
    if n_partitions == 0 {
        return Err(KafkaPlacementError(
            "Number of partitions must be larger than 0.".into(),
        ));
    }
    if rf == 0 {
        return Err(KafkaPlacementError(
            "Replication factor must be larger than 0.".into(),
        ));
    }
    if rf > n {
        return Err(KafkaPlacementError(format!(
            "Replication factor: {rf} larger than available brokers: {n}."
        )));
    }
    let bound = to_bound(n)?;
    let start = draw_index(rnd, bound);
    let mut shift = draw_index(rnd, bound);
    let num_racks = {
        let mut racks: Vec<&str> = rack_of.values().copied().collect();
        racks.sort_unstable();
        racks.dedup();
        racks.len()
    };
    // Java's `% (n - 1)` is only reached for a follower, which needs n ≥ 2 (rf ≤ n).
    let follower = |first: usize, shift: usize, k: usize| -> usize {
        (first + 1 + (shift + k) % (n - 1).max(1)) % n
    };
    let mut out = Vec::with_capacity(n_partitions);
    for p in 0..n_partitions {
        if p > 0 && p % n == 0 {
            shift += 1;
        }
        let first = (p + start) % n;
        let leader = order[first];
        let mut replicas = vec![leader];
        if !rack_aware {
            for j in 0..rf - 1 {
                replicas.push(order[follower(first, shift, j)]);
            }
        } else {
            let mut used_racks = vec![rack_of.get(&leader).copied().unwrap_or_default()];
            let mut k = 0usize;
            for _ in 0..rf - 1 {
                // Each round takes one broker within one lap of the n-1 other slots (an
                // unused broker always exists while fewer than n are taken); the step cap
                // only guards against a bug looping forever.
                let mut steps = 0usize;
                loop {
                    steps += 1;
                    let b = order[follower(first, shift * num_racks, k)];
                    k += 1;
                    let rack = rack_of.get(&b).copied().unwrap_or_default();
                    let rack_ok = !used_racks.contains(&rack) || used_racks.len() == num_racks;
                    let broker_ok = !replicas.contains(&b) || replicas.len() == n;
                    if rack_ok && broker_ok {
                        replicas.push(b);
                        if !used_racks.contains(&rack) {
                            used_racks.push(rack);
                        }
                        break;
                    }
                    if steps > 2 * n + 2 {
                        return Err(KafkaPlacementError(format!(
                            "no eligible follower found for partition {p}"
                        )));
                    }
                }
            }
        }
        out.push(replicas);
    }
    Ok(out)
}

/// Racks sorted by name, brokers sorted by id in each; one broker from each rack in turn,
/// skipping racks already exhausted (`r1:{0,5} r2:{3,4} r3:{1,2}` → `0,3,1,5,4,2`).
pub fn rack_alternated(brokers: &[PlacementBroker]) -> Vec<BrokerId> {
    let mut per_rack: BTreeMap<Vec<u16>, Vec<BrokerId>> = BTreeMap::new();
    for b in brokers {
        let key = b.rack.as_deref().map(utf16).unwrap_or_default();
        per_rack.entry(key).or_default().push(b.id);
    }
    let mut lists: Vec<Vec<BrokerId>> = per_rack.into_values().collect();
    for l in &mut lists {
        l.sort_unstable();
    }
    let mut out = Vec::with_capacity(brokers.len());
    let mut depth = 0;
    while out.len() < brokers.len() {
        for l in &lists {
            if let Some(&b) = l.get(depth) {
                out.push(b);
            }
        }
        depth += 1;
    }
    out
}

fn to_bound(n: usize) -> Result<i32, KafkaPlacementError> {
    i32::try_from(n).map_err(|_| KafkaPlacementError(format!("{n} brokers are too many")))
}

/// A draw in `[0, bound)` as an index. A scripted source may hand out anything; clamp it.
fn draw_index(rnd: &mut dyn RandomSource, bound: i32) -> usize {
    let v = rnd.next_int(bound);
    usize::try_from(v.clamp(0, bound.max(1) - 1)).unwrap_or(0)
}

fn utf16(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

/// Java's `String#hashCode` (over UTF-16 code units, wrapping).
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// The iteration order of a `java.util.HashMap` whose keys were inserted in the given order
/// (`Optional<String>` keys: an absent rack hashes to 0). Returns indices into `keys`.
pub fn java_hashmap_order(keys: &[Option<String>]) -> Vec<usize> {
    let hashes: Vec<i32> = keys
        .iter()
        .map(|k| k.as_deref().map(java_string_hash).unwrap_or(0))
        .collect();
    java_hash_order(&hashes)
}

/// The iteration order of a `java.util.HashMap`/`HashSet` of distinct keys with the given
/// `hashCode`s, inserted in order: buckets in index order; keys sharing a bucket keep their
/// insertion order (resizes preserve it). Returns indices into `hashes`.
pub fn java_hash_order(hashes: &[i32]) -> Vec<usize> {
    let mut capacity = 16usize;
    for size in 1..=hashes.len() {
        // The table doubles when the size exceeds 0.75 × capacity.
        if size * 4 > capacity * 3 {
            capacity *= 2;
        }
    }
    let bucket = |h: i32| -> usize {
        let spread = (h as u32) ^ ((h as u32) >> 16);
        spread as usize & (capacity - 1)
    };
    let mut idx: Vec<usize> = (0..hashes.len()).collect();
    // Stable: equal buckets keep insertion order.
    idx.sort_by_key(|&i| bucket(hashes[i]));
    idx
}

/// One broker list of a rack in the striped placer (`BrokerList`).
#[derive(Debug, Clone)]
struct BrokerList {
    brokers: Vec<BrokerId>,
    epoch: usize,
    index: usize,
    offset: usize,
}

impl BrokerList {
    fn new(mut brokers: Vec<BrokerId>) -> Self {
        brokers.sort_unstable();
        BrokerList {
            brokers,
            epoch: 0,
            index: 0,
            offset: 0,
        }
    }

    fn next(&mut self, epoch: usize) -> Option<BrokerId> {
        let size = self.brokers.len();
        if size == 0 {
            return None;
        }
        if self.epoch != epoch {
            self.epoch = epoch;
            self.index = 0;
            self.offset = (self.offset + 1) % size;
        }
        if self.index >= size {
            return None;
        }
        let r = self.brokers[(self.index + self.offset) % size];
        self.index += 1;
        Some(r)
    }

    fn shuffle(&mut self, rnd: &mut dyn RandomSource) {
        java_shuffle(&mut self.brokers, rnd);
    }
}

/// `Collections.shuffle(list, rnd)` for a random-access list.
fn java_shuffle<T>(list: &mut [T], rnd: &mut dyn RandomSource) {
    let mut i = list.len();
    while i > 1 {
        let j = draw_index(rnd, i as i32);
        list.swap(i - 1, j);
        i -= 1;
    }
}

/// `StripedReplicaPlacer` (spec §B4). `--generate` marks every broker unfenced, so each rack
/// has only its unfenced list (the fenced one is empty: no draws, no shuffle draws).
pub fn place_striped(
    brokers: &[PlacementBroker],
    n_partitions: usize,
    rf: usize,
    rnd: &mut dyn RandomSource,
) -> Result<Vec<Vec<BrokerId>>, KafkaPlacementError> {
    // Racks keyed as Kafka's `Optional<String>`, in insertion (broker iteration) order.
    let mut keys: Vec<Option<String>> = Vec::new();
    let mut members: Vec<Vec<BrokerId>> = Vec::new();
    for b in brokers {
        match keys.iter().position(|k| *k == b.rack) {
            Some(i) => members[i].push(b.id),
            None => {
                keys.push(b.rack.clone());
                members.push(vec![b.id]);
            }
        }
    }
    let mut lists: Vec<BrokerList> = members.into_iter().map(BrokerList::new).collect();
    let hash_order = java_hashmap_order(&keys);
    // Construction draws: per rack in HashMap order, the (empty) fenced list draws nothing,
    // the unfenced list draws its offset; then the rack offset.
    for &r in &hash_order {
        let size = lists[r].brokers.len();
        if size > 0 {
            lists[r].offset = draw_index(rnd, to_bound(size)?);
        }
    }
    // Rack names sorted with the absent rack first (Optional ordering, then String order).
    let mut rack_names: Vec<usize> = (0..keys.len()).collect();
    rack_names.sort_by(|&a, &b| {
        let ka = keys[a].as_deref().map(utf16);
        let kb = keys[b].as_deref().map(utf16);
        ka.cmp(&kb)
    });
    let num_racks = rack_names.len();
    let mut rack_offset = if num_racks > 0 {
        draw_index(rnd, to_bound(num_racks)?)
    } else {
        0
    };
    let num_unfenced = brokers.len();
    if rf == 0 {
        return Err(KafkaPlacementError(format!(
            "Invalid replication factor {rf}: the replication factor must be positive."
        )));
    }
    if num_unfenced == 0 {
        return Err(KafkaPlacementError(
            "All brokers are currently fenced.".into(),
        ));
    }
    if rf > num_unfenced {
        return Err(KafkaPlacementError(format!(
            "The target replication factor of {rf} cannot be reached because only {num_unfenced} broker(s) are registered."
        )));
    }
    let stuck = || KafkaPlacementError("the striped placer found no broker to place".into());
    let mut epoch = 0usize;
    let mut out = Vec::with_capacity(n_partitions);
    for _ in 0..n_partitions {
        if epoch == num_unfenced && num_unfenced > 1 {
            java_shuffle(&mut rack_names, rnd);
            for &r in &hash_order {
                // The fenced list is empty: its shuffle draws nothing.
                lists[r].shuffle(rnd);
            }
            epoch = 0;
        }
        if rack_offset == num_racks {
            rack_offset = 0;
        }
        let mut first = rack_offset;
        let mut replicas = Vec::with_capacity(rf);
        let mut tries = 0;
        loop {
            if let Some(b) = lists[rack_names[first]].next(epoch) {
                replicas.push(b);
                break;
            }
            first = (first + 1) % num_racks;
            tries += 1;
            if tries > num_racks {
                return Err(stuck());
            }
        }
        let mut first_rack = Some(first);
        let mut r = rack_offset;
        for _ in 1..rf {
            let mut tries = 0;
            loop {
                let mut got = None;
                if first_rack == Some(r) {
                    first_rack = None;
                } else {
                    got = lists[rack_names[r]].next(epoch);
                }
                r = (r + 1) % num_racks;
                if let Some(b) = got {
                    replicas.push(b);
                    break;
                }
                tries += 1;
                if tries > 2 * num_racks + 2 {
                    return Err(stuck());
                }
            }
        }
        out.push(replicas);
        epoch += 1;
        rack_offset += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values printed by a JDK (java.util.Random, HashMap, Collections.shuffle).
    #[test]
    fn java_random_matches_the_jdk() {
        let mut r = JavaRandom::new(42);
        let got: Vec<i32> = (0..5).map(|_| r.next_int(10)).collect();
        assert_eq!(got, vec![0, 3, 8, 4, 0]);
        // Power-of-two path.
        assert_eq!(JavaRandom::new(0).next_int(16), 11);
        // A bound near 2^30 exercises the remainder path.
        let mut r = JavaRandom::new(7);
        let got: Vec<i32> = (0..6).map(|_| r.next_int(1_000_000_007)).collect();
        assert_eq!(
            got,
            vec![569164229, 371249157, 608829478, 20678044, 747989380, 53566247]
        );
    }

    #[test]
    fn shuffle_matches_collections_shuffle() {
        let mut l: Vec<i32> = (0..8).collect();
        java_shuffle(&mut l, &mut JavaRandom::new(5));
        assert_eq!(l, vec![3, 0, 7, 1, 6, 2, 4, 5]);
    }

    #[test]
    fn hashmap_order_matches_the_jdk() {
        let names = [
            "C",
            "A",
            "B",
            "rack-b",
            "rack-a",
            "zone1",
            "us-east-1a",
            "us-east-1b",
            "us-east-1c",
        ];
        let mut keys: Vec<Option<String>> = names.iter().map(|s| Some(s.to_string())).collect();
        keys.push(None);
        let order: Vec<String> = java_hashmap_order(&keys)
            .into_iter()
            .map(|i| keys[i].clone().unwrap_or_else(|| "<none>".into()))
            .collect();
        assert_eq!(
            order.join(","),
            "<none>,A,rack-b,B,C,rack-a,us-east-1a,us-east-1b,us-east-1c,zone1"
        );
        assert_eq!(java_string_hash("rack1"), 108269626);
    }
}
