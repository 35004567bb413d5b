//! Property tests for the capacity-planning scenarios, on random but valid clusters: 3–12
//! brokers over 1–4 racks (some brokers without a rack), known capacities (equal or mixed,
//! generous or snug), 5–80 partitions of four topics with RF 1–3, distinct replicas that
//! need not be rack-safe at the start, and sizes from 1 byte to 1 GB with some heavy ones.
//!
//! Every layout the planner returns is checked here by an independent check written in this
//! file (not the library's verifier): replication factors, distinct known allowed brokers,
//! the rack rule ⌈RF / allowed racks⌉ and capacities. Infeasibilities are checked to be real
//! where the claim can be checked from the cluster alone.
//!
//! Known library bugs these properties found are left out of the assertions, each where it
//! applies and as narrowly as it can be told apart (marked "Known library bug (X)"): a
//! rackless broker's replacement (B), budgets held against the flow's figures (D), capacity
//! infeasibility claims a search could refute (F). (A, stale band figures after the
//! capacity repair, C, the band flag after a rack repair, and E, budgets refused as a
//! capacity problem, are fixed.)

mod support;

use std::collections::{BTreeMap, BTreeSet};

use kafka_replan::model::{Broker, BrokerId, Cluster, Layout, Partition, TopicPartition};
use kafka_replan::plan::scenario::{
    add_brokers, parse_replacement, parse_rf_change, replace_brokers, set_replication_factors,
};
use kafka_replan::plan::{
    fixed_outcome, plan, Balance, Infeasible, PlanConfig, PlanError, PlanOutcome,
};
use proptest::prelude::*;
use proptest::sample::{subsequence, Index};
use proptest::test_runner::TestCaseError;
use support::clusters::SmallCluster;

const MODES: [Balance; 3] = [Balance::Count, Balance::CountBytes, Balance::Bytes];
const TOPICS: [&str; 4] = ["orders", "payments", "logs", "metrics"];
const CASES: u32 = 256;

// ---------------------------------------------------------------------------------------------
// Random clusters

/// A replica size: mostly small, some medium, one in ten heavy (0.5–1 GB).
fn arb_size() -> impl Strategy<Value = u64> {
    prop_oneof![
        6 => 1u64..1_000_000,
        3 => 1_000_000u64..100_000_000,
        1 => 500_000_000u64..=1_000_000_000,
    ]
}

/// The generated facts before they become a `Cluster`.
#[derive(Debug, Clone)]
struct Spec {
    /// Per broker: rack number, or none.
    racks: Vec<Option<usize>>,
    /// Per partition: topic number, replicas as broker positions (leader first), size.
    parts: Vec<(usize, Vec<usize>, u64)>,
    /// Per broker: capacity multiplier (all 1 = equal capacities).
    mults: Vec<u64>,
    /// Snug capacities (total 1.5 × the bytes) rather than generous ones (each broker half).
    snug: bool,
    /// Broker ids are `first_id + position × id_step`.
    first_id: i32,
    id_step: i32,
}

fn build(s: &Spec) -> Cluster {
    let id = |pos: usize| s.first_id + pos as i32 * s.id_step;
    let need: u64 = s
        .parts
        .iter()
        .map(|(_, reps, size)| size * reps.len() as u64)
        .sum();
    let largest = s.parts.iter().map(|p| p.2).max().unwrap_or(1);
    let base = if s.snug {
        (need * 3 / 2)
            .div_ceil(s.mults.iter().sum::<u64>())
            .max(largest)
    } else {
        need.div_ceil(2).max(largest)
    };
    let mut c = SmallCluster::new();
    for (pos, rack) in s.racks.iter().enumerate() {
        let rack = rack.map(|r| format!("rack-{r}"));
        c.add_broker(id(pos), rack.as_deref(), Some(base * s.mults[pos]));
    }
    let mut next = [0i32; TOPICS.len()];
    for (topic, reps, size) in &s.parts {
        next[*topic] += 1;
        let replicas = reps.iter().map(|&p| id(p)).collect();
        c.add_partition(TOPICS[*topic], next[*topic] - 1, replicas, *size);
    }
    c.build()
}

fn arb_spec() -> impl Strategy<Value = Spec> {
    (3usize..=12, 1usize..=4).prop_flat_map(|(nb, nr)| {
        let racks = prop::collection::vec(prop::option::weighted(0.85, 0..nr), nb);
        let part = (1usize..=3).prop_flat_map(move |rf| {
            (
                0..TOPICS.len(),
                subsequence((0..nb).collect::<Vec<_>>(), rf).prop_shuffle(),
                arb_size(),
            )
        });
        let parts = prop::collection::vec(part, 5..=80);
        let mults = prop_oneof![Just(vec![1u64; nb]), prop::collection::vec(1u64..=3, nb)];
        (
            racks,
            parts,
            mults,
            prop::bool::weighted(0.3),
            0i32..3,
            1i32..=2,
        )
            .prop_map(|(racks, parts, mults, snug, first_id, id_step)| Spec {
                racks,
                parts,
                mults,
                snug,
                first_id,
                id_step,
            })
    })
}

fn arb_cluster() -> impl Strategy<Value = Cluster> {
    arb_spec().prop_map(|s| build(&s))
}

fn arb_mode() -> impl Strategy<Value = Balance> {
    prop::sample::select(MODES.to_vec())
}

/// No exclusion, or one random broker excluded.
fn excluded_from(c: &Cluster, pick: Option<Index>) -> BTreeSet<BrokerId> {
    pick.map(|i| c.brokers[i.index(c.brokers.len())].id)
        .into_iter()
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The independent check

/// The rack a broker counts in: its rack, or a rack of its own without one.
fn rack_of(b: &Broker) -> String {
    match &b.rack {
        Some(r) => format!("rack {r}"),
        None => format!("own rack of broker {}", b.id),
    }
}

/// Checks `after` against the hard rules from scratch: partition `i` has `want_rf[i]`
/// distinct replicas, all on known brokers outside `excluded`; no rack holds more than
/// ⌈RF / racks⌉ of them (racks counted over the brokers not excluded); no allowed broker
/// holds more bytes than its capacity.
fn check_layout(
    c: &Cluster,
    excluded: &BTreeSet<BrokerId>,
    after: &Layout,
    want_rf: &[usize],
) -> Result<(), TestCaseError> {
    prop_assert_eq!(after.replicas.len(), c.partitions.len());
    let by_id: BTreeMap<BrokerId, &Broker> = c.brokers.iter().map(|b| (b.id, b)).collect();
    let racks = c
        .brokers
        .iter()
        .filter(|b| !excluded.contains(&b.id))
        .map(rack_of)
        .collect::<BTreeSet<_>>()
        .len();
    prop_assert!(racks > 0);
    let mut bytes: BTreeMap<BrokerId, u64> = BTreeMap::new();
    for ((p, reps), &rf) in c.partitions.iter().zip(&after.replicas).zip(want_rf) {
        prop_assert_eq!(reps.len(), rf, "{}: replication factor {:?}", p.tp, reps);
        let distinct: BTreeSet<BrokerId> = reps.iter().copied().collect();
        prop_assert_eq!(
            distinct.len(),
            reps.len(),
            "{}: repeated broker {:?}",
            p.tp,
            reps
        );
        let mut per_rack: BTreeMap<String, usize> = BTreeMap::new();
        for b in reps {
            let Some(broker) = by_id.get(b) else {
                return Err(TestCaseError::fail(format!(
                    "{}: unknown broker {b} in {reps:?}",
                    p.tp
                )));
            };
            prop_assert!(
                !excluded.contains(b),
                "{}: replica on excluded broker {} in {:?}",
                p.tp,
                b,
                reps
            );
            *per_rack.entry(rack_of(broker)).or_default() += 1;
            *bytes.entry(*b).or_default() += p.size_bytes;
        }
        let cap = rf.div_ceil(racks);
        for (rack, n) in per_rack {
            prop_assert!(
                n <= cap,
                "{}: {} replicas in {} (at most {} over {} racks): {:?}",
                p.tp,
                n,
                rack,
                cap,
                racks,
                reps
            );
        }
    }
    for b in c.brokers.iter().filter(|b| !excluded.contains(&b.id)) {
        if let Some(capacity) = b.capacity_bytes {
            let used = bytes.get(&b.id).copied().unwrap_or(0);
            prop_assert!(
                used <= capacity,
                "broker {}: {} bytes over its capacity {}",
                b.id,
                used,
                capacity
            );
        }
    }
    Ok(())
}

fn rfs(c: &Cluster) -> Vec<usize> {
    c.partitions.iter().map(|p| p.replicas.len()).collect()
}

/// (moves, bytes copied, preferred-leader changes) from `before` to `after`, counted here.
fn figures(c: &Cluster, before: &Layout, after: &Layout) -> (usize, u64, usize) {
    let mut out = (0, 0, 0);
    for ((p, old), new) in c
        .partitions
        .iter()
        .zip(&before.replicas)
        .zip(&after.replicas)
    {
        let added = new.iter().filter(|b| !old.contains(b)).count();
        out.0 += added;
        out.1 += added as u64 * p.size_bytes;
        out.2 += usize::from(old.first() != new.first());
    }
    out
}

/// Everything an unbudgeted `Ok` must satisfy: the hard rules on `after`, figures that match
/// the layouts, the plan turning `before` into `after`, a bytes bound not above the bytes.
fn check_outcome(
    c: &Cluster,
    excluded: &BTreeSet<BrokerId>,
    out: &PlanOutcome,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(&out.before, &c.current_layout());
    check_layout(c, excluded, &out.after, &rfs(c))?;
    let (moves, bytes, leaders) = figures(c, &out.before, &out.after);
    prop_assert_eq!(out.moves, moves, "moves");
    prop_assert_eq!(out.bytes_moved, bytes, "bytes moved");
    prop_assert_eq!(out.leader_changes, leaders, "leader changes");
    prop_assert_eq!(&out.before.apply(c, &out.plan).unwrap(), &out.after);
    check_band_flags(c, excluded, out)?;
    // The bound is for the counts the plan ends with (after any capacity repair).
    if let Some(bound) = out.bytes_bound.as_ref() {
        prop_assert!(
            bound.bytes <= out.bytes_moved,
            "bytes bound {} above the {} bytes the plan copies",
            bound.bytes,
            out.bytes_moved
        );
    }
    Ok(())
}

/// `replica_band_reached` / `leader_band_reached` say every allowed broker ends inside the
/// uniform band `[⌊avg⌋, ⌈avg⌉]` of replicas / preferred leaders: check that they do.
fn check_band_flags(
    c: &Cluster,
    excluded: &BTreeSet<BrokerId>,
    out: &PlanOutcome,
) -> Result<(), TestCaseError> {
    let allowed: Vec<BrokerId> = c
        .brokers
        .iter()
        .map(|b| b.id)
        .filter(|id| !excluded.contains(id))
        .collect();
    let n = allowed.len();
    let in_band = |counts: BTreeMap<BrokerId, usize>, total: usize| -> Vec<(BrokerId, usize)> {
        allowed
            .iter()
            .map(|id| (*id, counts.get(id).copied().unwrap_or(0)))
            .filter(|(_, k)| *k < total / n || *k > total.div_ceil(n))
            .collect()
    };
    // The flag describes the layout as it ends (after any capacity repair).
    if out.replica_band_reached {
        let outside = in_band(out.after.replica_counts(), c.total_replicas());
        prop_assert!(
            outside.is_empty(),
            "replica band reported reached, but (broker, replicas) {:?} are outside \
             [{}, {}]; capacity repair {:?}",
            outside,
            c.total_replicas() / n,
            c.total_replicas().div_ceil(n),
            out.capacity_repair
        );
    }
    if out.leader_band_reached {
        let outside = in_band(out.after.leader_counts(), c.partitions.len());
        prop_assert!(
            outside.is_empty(),
            "leader band reported reached, but (broker, leaders) {:?} are outside [{}, {}]",
            outside,
            c.partitions.len() / n,
            c.partitions.len().div_ceil(n)
        );
    }
    Ok(())
}

/// An infeasibility without a budget must be real where the cluster alone shows it.
fn check_infeasible(
    c: &Cluster,
    excluded: &BTreeSet<BrokerId>,
    list: &[Infeasible],
) -> Result<(), TestCaseError> {
    prop_assert!(!list.is_empty());
    let allowed: Vec<&Broker> = c
        .brokers
        .iter()
        .filter(|b| !excluded.contains(&b.id))
        .collect();
    let mut rack_sizes: BTreeMap<String, usize> = BTreeMap::new();
    for b in &allowed {
        *rack_sizes.entry(rack_of(b)).or_default() += 1;
    }
    let capacities: Vec<u64> = allowed.iter().filter_map(|b| b.capacity_bytes).collect();
    for item in list {
        match item {
            Infeasible::NoAllowedBrokers => prop_assert!(allowed.is_empty()),
            Infeasible::NotEnoughBrokers { rf, allowed: n, .. } => {
                prop_assert_eq!(*n, allowed.len());
                prop_assert!(*rf > *n, "{}", item);
            }
            Infeasible::RackSpread { rf, .. } => {
                let cap = rf.div_ceil(rack_sizes.len());
                let slots: usize = rack_sizes.values().map(|&n| n.min(cap)).sum();
                prop_assert!(slots < *rf, "not a real rack-spread problem: {}", item);
            }
            Infeasible::PartitionTooLarge {
                size,
                largest_limit,
                ..
            } => {
                prop_assert_eq!(*largest_limit, capacities.iter().copied().max().unwrap());
                prop_assert!(size > largest_limit);
            }
            Infeasible::TotalCapacity { need, have } => {
                let total: u64 = c
                    .partitions
                    .iter()
                    .map(|p| p.size_bytes * p.replicas.len() as u64)
                    .sum();
                prop_assert_eq!(*need, total);
                prop_assert_eq!(*have, capacities.iter().sum::<u64>());
                prop_assert!(need > have);
            }
            // Needs a search to refute, so only the broker is checked. Known library bug (F):
            // such claims are not reliable (a count mode can claim one where the bytes mode
            // finds a valid layout, and the other way round), so no property compares modes.
            Infeasible::BrokerOverCapacity { broker, .. } => {
                prop_assert!(allowed.iter().any(|b| b.id == *broker))
            }
            Infeasible::Rule(_) | Infeasible::OverBudget { .. } => {
                prop_assert!(false, "unexpected without a budget: {}", item)
            }
        }
    }
    Ok(())
}

/// Plans with `config`: `Ok` passes every check and is deterministic, `Infeasible` is real,
/// `Internal` fails the case. Returns the outcome when there is one.
fn plan_checked(c: &Cluster, config: &PlanConfig) -> Result<Option<PlanOutcome>, TestCaseError> {
    match plan(c, config) {
        Ok(out) => {
            check_outcome(c, &config.excluded, &out).map_err(|e| {
                TestCaseError::fail(format!(
                    "{:?} excluded {:?}: {e}",
                    config.balance, config.excluded
                ))
            })?;
            let again = plan(c, config).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&again.plan, &out.plan, "not deterministic");
            Ok(Some(out))
        }
        Err(PlanError::Infeasible(list)) => {
            check_infeasible(c, &config.excluded, &list)?;
            Ok(None)
        }
        Err(e @ PlanError::Internal(_)) => Err(TestCaseError::fail(format!(
            "{:?} excluded {:?}: {e}",
            config.balance, config.excluded
        ))),
    }
}

fn config(mode: Balance, excluded: &BTreeSet<BrokerId>) -> PlanConfig {
    PlanConfig {
        excluded: excluded.clone(),
        balance: mode,
        ..PlanConfig::default()
    }
}

/// Largest utilisation (bytes / capacity) over allowed brokers, divided by (arithmetic mean
/// of the utilisations, capacity-weighted mean = all bytes / all capacity).
fn util_max_over_mean(c: &Cluster, excluded: &BTreeSet<BrokerId>, after: &Layout) -> (f64, f64) {
    let bytes = after.bytes_per_broker(c);
    let allowed: Vec<(f64, f64)> = c
        .brokers
        .iter()
        .filter(|b| !excluded.contains(&b.id))
        .map(|b| {
            (
                bytes.get(&b.id).copied().unwrap_or(0) as f64,
                b.capacity_bytes.unwrap() as f64,
            )
        })
        .collect();
    let max = allowed.iter().map(|(b, c)| b / c).fold(0.0, f64::max);
    let arithmetic = allowed.iter().map(|(b, c)| b / c).sum::<f64>() / allowed.len() as f64;
    let weighted =
        allowed.iter().map(|x| x.0).sum::<f64>() / allowed.iter().map(|x| x.1).sum::<f64>();
    (max / arithmetic, max / weighted)
}

/// The capacity repair or the count+bytes swaps changed the count flow's layout.
fn after_the_flow(out: &PlanOutcome) -> bool {
    let r = &out.capacity_repair;
    r.redirected + r.swaps + r.extra_moves > 0
        || out.bytes_refinement.as_ref().is_some_and(|b| b.swaps > 0)
}

fn over_budget(list: &[Infeasible]) -> bool {
    list.iter()
        .any(|i| matches!(i, Infeasible::OverBudget { .. }))
}

// ---------------------------------------------------------------------------------------------
// Properties

/// `CASES` cases per property, or `PROPTEST_CASES` when set (for a deeper run).
fn proptest_config() -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = CASES;
    }
    config
}

proptest! {
    #![proptest_config(proptest_config())]

    /// Every balance mode, with and without an excluded broker, either plans or says why it
    /// cannot (never an internal error, never a panic). A plan keeps every partition's
    /// replication factor on distinct known brokers outside the exclusion, at most
    /// ⌈RF / allowed racks⌉ per rack and no allowed broker over its capacity (checked here,
    /// not by the library's verifier); its moves, bytes and leader changes are those of its
    /// layouts; its bytes lower bound is not above the bytes it copies; planning twice gives
    /// the same plan. An infeasibility is real wherever the cluster alone can show it.
    #[test]
    fn every_mode_plans_within_the_rules_or_is_really_infeasible(
        c in arb_cluster(),
        pick in any::<Index>(),
    ) {
        for excluded in [BTreeSet::new(), excluded_from(&c, Some(pick))] {
            for mode in MODES {
                plan_checked(&c, &config(mode, &excluded))?;
            }
        }
    }

    /// `--balance bytes`: when no broker is reported over its threshold, the largest
    /// utilisation (bytes / capacity) of an allowed broker over their mean utilisation is
    /// within the reported tolerance of the floor the rack rule forces
    /// (`ratio_floor × (1 + tolerance)`). The mean is all their bytes over all their capacity
    /// (capacity-weighted), as `ratio_floor` is defined; with mixed capacities the plain
    /// mean of the utilisations can be lower and the ratio over it above the target (e.g.
    /// 1.00500000102 > 1.005 with 1.0033 over the weighted mean), which this does not claim.
    #[test]
    fn bytes_mode_reaches_its_disk_balance(
        c in arb_cluster(),
        pick in prop::option::of(any::<Index>()),
    ) {
        let excluded = excluded_from(&c, pick);
        if let Some(out) = plan_checked(&c, &config(Balance::Bytes, &excluded))? {
            let balance = out.disk_balance.expect("bytes mode reports its disk balance");
            if balance.over_threshold.is_empty() {
                let (ratio, weighted) = util_max_over_mean(&c, &excluded, &out.after);
                let target = balance.ratio_floor * (1.0 + balance.tolerance) + 1e-9;
                prop_assert!(
                    weighted <= target,
                    "utilisation max/mean {} > {} (floor {}, tolerance {}); over the \
                     arithmetic mean {}",
                    weighted, target, balance.ratio_floor, balance.tolerance, ratio
                );
            }
        }
    }

    /// Move and byte budgets are never exceeded, in every mode: with a random `max_moves`
    /// and a random `max_bytes` between 0 and what the unbudgeted plan makes, a plan keeps
    /// the budget and the hard rules, and a refusal names the budget (`OverBudget`). A budget
    /// that covers the unbudgeted plan is never refused (and in count mode changes nothing).
    #[test]
    fn move_and_byte_budgets_are_never_exceeded(
        c in arb_cluster(),
        mode in arb_mode(),
        pick in prop::option::of(any::<Index>()),
        moves_pick in any::<Index>(),
        bytes_pick in any::<Index>(),
    ) {
        let excluded = excluded_from(&c, pick);
        let Some(full) = plan_checked(&c, &config(mode, &excluded))? else {
            return Ok(());
        };
        let max_moves = moves_pick.index(full.moves + 1);
        let max_bytes = bytes_pick.index(full.bytes_moved as usize + 1) as u64;
        let budgets = [
            (Some(max_moves), None),
            (None, Some(max_bytes)),
            (Some(full.moves), None),
            (None, Some(full.bytes_moved)),
        ];
        for (m, b) in budgets {
            let cfg = PlanConfig { max_moves: m, max_bytes: b, ..config(mode, &excluded) };
            match plan(&c, &cfg) {
                Ok(out) => {
                    check_layout(&c, &excluded, &out.after, &rfs(&c))?;
                    let (moves, bytes, _) = figures(&c, &out.before, &out.after);
                    prop_assert_eq!((out.moves, out.bytes_moved), (moves, bytes));
                    if let Some(m) = m {
                        prop_assert!(moves <= m, "{} moves over the budget of {}", moves, m);
                    }
                    if let Some(b) = b {
                        prop_assert!(bytes <= b, "{} bytes over the budget of {}", bytes, b);
                    }
                    // Not where the flow's figures were changed afterwards (bug D).
                    let covering = m == Some(full.moves) || b == Some(full.bytes_moved);
                    if mode == Balance::Count && covering && !after_the_flow(&full) {
                        prop_assert_eq!(
                            &out.plan, &full.plan, "a covering budget changed the plan"
                        );
                    }
                }
                Err(PlanError::Infeasible(list)) => {
                    let covering = m == Some(full.moves) || b == Some(full.bytes_moved);
                    // A budget the plan cannot keep is refused as over the budget (also when
                    // the layout it allows leaves no room under the disk limits).
                    prop_assert!(
                        over_budget(&list),
                        "{:?} excluded {:?}, budget {:?}/{:?} (full {}/{}) refused \
                         without OverBudget: {:?}",
                        mode, excluded, m, b, full.moves, full.bytes_moved, list
                    );
                    // Known library bug (D): a budget is held against the figures of the count
                    // flow, before the capacity repair and the count+bytes swaps change them, so
                    // a budget equal to what the unbudgeted plan makes can be refused.
                    let bug_d = covering && after_the_flow(&full);
                    if !bug_d {
                        prop_assert!(
                            !covering,
                            "{:?} excluded {:?}: a budget covering the unbudgeted plan ({} \
                             moves, {} bytes) was refused: {:?}; optimum {}, repair {:?}, \
                             swaps {:?}",
                            mode, excluded, full.moves, full.bytes_moved, list,
                            full.optimum_moves, full.capacity_repair, full.bytes_refinement
                        );
                    }
                }
                Err(e) => prop_assert!(
                    false, "{:?} excluded {:?}, budget {:?}/{:?}: {}", mode, excluded, m, b, e
                ),
            }
        }
    }

    /// Leader-change budgets are never exceeded: with `max_leader_changes` between 0 and the
    /// unbudgeted plan's changes, a plan changes at most that many preferred leaders and keeps
    /// the hard rules; a refusal names the budget.
    #[test]
    fn leader_change_budgets_are_never_exceeded(
        c in arb_cluster(),
        mode in arb_mode(),
        pick in prop::option::of(any::<Index>()),
        leaders_pick in any::<Index>(),
    ) {
        let excluded = excluded_from(&c, pick);
        let Some(full) = plan_checked(&c, &config(mode, &excluded))? else {
            return Ok(());
        };
        let budget = leaders_pick.index(full.leader_changes + 1);
        let cfg = PlanConfig { max_leader_changes: Some(budget), ..config(mode, &excluded) };
        match plan(&c, &cfg) {
            Ok(out) => {
                check_layout(&c, &excluded, &out.after, &rfs(&c))?;
                let (_, _, changes) = figures(&c, &out.before, &out.after);
                prop_assert_eq!(out.leader_changes, changes);
                prop_assert!(
                    changes <= budget,
                    "{} leader changes over the budget of {}", changes, budget
                );
            }
            Err(PlanError::Infeasible(list)) => {
                prop_assert!(
                    over_budget(&list),
                    "{:?} excluded {:?}, {} leader changes refused without OverBudget: {:?}",
                    mode, excluded, budget, list
                )
            }
            Err(e) => prop_assert!(false, "{}", e),
        }
    }

    /// `add_brokers` (1–3 brokers in an existing rack, a new rack or none): the new brokers
    /// are in the cluster with ids after the largest, the rack asked for and the most common
    /// capacity; planning the grown cluster, in any mode, keeps every rule above (a plan
    /// that reports the uniform band reached gives every new broker its share).
    #[test]
    fn added_brokers_join_and_plans_keep_the_rules(
        c in arb_cluster(),
        mode in arb_mode(),
        count in 1usize..=3,
        rack_pick in prop::option::of(any::<Index>()),
        rackless in prop::bool::weighted(0.15),
    ) {
        let rack: Option<String> = if rackless {
            None
        } else {
            Some(match rack_pick {
                Some(i) => c.brokers[i.index(c.brokers.len())]
                    .rack
                    .clone()
                    .unwrap_or_else(|| "rack-new".into()),
                None => "rack-new".into(),
            })
        };
        let mut freq: BTreeMap<u64, usize> = BTreeMap::new();
        for b in &c.brokers {
            *freq.entry(b.capacity_bytes.unwrap()).or_default() += 1;
        }
        let most = *freq.values().max().unwrap();
        let common = *freq.iter().find(|(_, n)| **n == most).unwrap().0;
        let max_id = c.brokers.iter().map(|b| b.id).max().unwrap();

        let mut grown = c.clone();
        let ids = add_brokers(&mut grown, count, rack.as_deref(), None);
        prop_assert_eq!(&ids, &(1..=count as i32).map(|k| max_id + k).collect::<Vec<_>>());
        prop_assert_eq!(grown.brokers.len(), c.brokers.len() + count);
        for id in &ids {
            let b = grown.broker(*id).expect("a new broker is in the cluster");
            prop_assert_eq!(&b.rack, &rack);
            prop_assert_eq!(b.capacity_bytes, Some(common));
        }
        // `plan_checked` holds the grown cluster to every rule of the first property, and
        // a reported band to every allowed broker, the new ones included.
        plan_checked(&grown, &config(mode, &BTreeSet::new()))?;
    }

    /// `replace_brokers` onto a new broker added in the same rack (with the same capacity):
    /// the new layout is the old one with the id swapped in place (same positions, so the
    /// preferred leaders move with it) and nothing else; `fixed_outcome`, as the CLI runs it,
    /// accepts it with exactly those moves, bytes and leader changes, and empties the old
    /// broker.
    #[test]
    fn replacement_swaps_the_id_in_place(
        c in arb_cluster(),
        from_pick in any::<Index>(),
    ) {
        let from = c.brokers[from_pick.index(c.brokers.len())].clone();
        let mut grown = c.clone();
        let to = add_brokers(&mut grown, 1, from.rack.as_deref(), from.capacity_bytes)[0];
        prop_assert_eq!(parse_replacement(&format!("{}={to}", from.id)), Ok((from.id, to)));
        let after = replace_brokers(&grown, &[(from.id, to)], false)
            .map_err(|e| TestCaseError::fail(e.join("; ")))?;
        let before = grown.current_layout();
        prop_assert_eq!(after.replicas.len(), before.replicas.len());
        for (old, new) in before.replicas.iter().zip(&after.replicas) {
            let swapped: Vec<BrokerId> =
                old.iter().map(|&b| if b == from.id { to } else { b }).collect();
            prop_assert_eq!(new, &swapped);
        }
        let emptied: BTreeSet<BrokerId> = [from.id].into();
        let outcome = fixed_outcome(
            &grown,
            after.clone(),
            &emptied,
            1.0,
            false,
            &BTreeMap::new(),
            format!("broker replacement {} -> {to}", from.id),
        );
        let from_bytes = before.bytes_per_broker(&grown).get(&from.id).copied().unwrap_or(0);
        let over_before = from_bytes > from.capacity_bytes.unwrap();
        let out = match outcome {
            Err(PlanError::Infeasible(list)) => {
                for item in &list {
                    let Infeasible::Rule(rule) = item else {
                        return Err(TestCaseError::fail(format!("{item:?}")));
                    };
                    // A broker already over its capacity hands that excess on to its
                    // replacement, which is refused under the replacement's id.
                    let handed_on = over_before
                        && rule.starts_with(&format!("broker {to}: {from_bytes} bytes exceed"));
                    // Known library bug (B): replacing a broker without a rack,
                    // `fixed_outcome` counts the racks of the current layout with both the
                    // old and the new broker (each a rack of its own) but those of the new
                    // layout without the old one, so a rack violation the cluster already
                    // has is worded with another cap and blamed on the replacement.
                    let bug_b = from.rack.is_none()
                        && rule.contains(" replicas in rack ")
                        && rule.ends_with(" allowed)");
                    prop_assert!(
                        handed_on || bug_b,
                        "replacement {} -> {to} refused: {}",
                        from.id,
                        rule
                    );
                }
                return Ok(());
            }
            Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
            Ok(out) => out,
        };
        prop_assert_eq!(&out.after, &after);
        let on_from: Vec<&Partition> =
            grown.partitions.iter().filter(|p| p.replicas.contains(&from.id)).collect();
        prop_assert_eq!(out.moves, on_from.len());
        prop_assert_eq!(out.bytes_moved, on_from.iter().map(|p| p.size_bytes).sum::<u64>());
        prop_assert_eq!(
            out.leader_changes,
            on_from.iter().filter(|p| p.replicas[0] == from.id).count()
        );
        prop_assert!(!out.after.replica_counts().contains_key(&from.id));
        prop_assert_eq!(out.plan.len(), on_from.len());
    }

    /// `set_replication_factors` with a regex over some topics and N in 1..=3, planned as
    /// the CLI does (stand-in brokers excluded, then `fixed_outcome` on the real cluster), in
    /// any mode and with or without an excluded broker: every matched partition ends with
    /// exactly N replicas, every other keeps its replication factor, and the hard rules
    /// hold; or the change is refused as really infeasible.
    #[test]
    fn replication_factor_changes_end_exact_and_within_the_rules(
        c in arb_cluster(),
        mode in arb_mode(),
        pick in prop::option::of(any::<Index>()),
        topic_mask in 1u8..16,
        n in 1usize..=3,
    ) {
        let present: BTreeSet<&str> = c.partitions.iter().map(|p| p.tp.topic.as_str()).collect();
        let chosen: Vec<&str> = TOPICS
            .iter()
            .enumerate()
            .filter(|(i, t)| topic_mask & (1 << i) != 0 && present.contains(**t))
            .map(|(_, t)| *t)
            .collect();
        prop_assume!(!chosen.is_empty());
        let target = parse_rf_change(&format!("{}={n}", chosen.join("|")))
            .map_err(TestCaseError::fail)?;
        let prepared = set_replication_factors(&c, &[target]).map_err(TestCaseError::fail)?;
        let matched = |p: &Partition| chosen.contains(&p.tp.topic.as_str());
        let want: Vec<usize> = c
            .partitions
            .iter()
            .map(|p| if matched(p) { n } else { p.replicas.len() })
            .collect();
        let changed: BTreeMap<TopicPartition, (usize, usize)> = c
            .partitions
            .iter()
            .filter(|p| matched(p) && p.replicas.len() != n)
            .map(|p| (p.tp.clone(), (p.replicas.len(), n)))
            .collect();
        prop_assert_eq!(&prepared.changed, &changed);

        let excluded = excluded_from(&c, pick);
        let mut with_stand_ins = config(mode, &excluded);
        with_stand_ins.excluded.extend(prepared.stand_ins.iter().copied());
        let planned = match plan(&prepared.cluster, &with_stand_ins) {
            Ok(out) => out,
            Err(PlanError::Infeasible(list)) => {
                // Judged on the cluster the planner saw: its replicas include the stand-ins.
                check_infeasible(&prepared.cluster, &with_stand_ins.excluded, &list)?;
                return Ok(());
            }
            Err(e) => return Err(TestCaseError::fail(format!("{mode:?}: {e}"))),
        };
        let after = Layout { replicas: planned.after.replicas };
        check_layout(&c, &excluded, &after, &want)?;
        let out = fixed_outcome(
            &c,
            after.clone(),
            &excluded,
            1.0,
            false,
            &prepared.changed,
            "replication factor change".into(),
        )
        .map_err(|e| TestCaseError::fail(format!("the planned RF change was refused: {e}")))?;
        prop_assert_eq!(&out.after, &after);
        let rb = out.after.apply(&c, &out.rollback).unwrap();
        prop_assert_eq!(&rb, &c.current_layout(), "the rollback restores the old factors");
    }
}
