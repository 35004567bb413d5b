use std::collections::BTreeSet;

use serde_json::Value;

use super::python::*;
use super::stats::*;
use super::*;
use crate::model::{Broker, BrokerId, Cluster, Layout, Partition, TopicPartition};
use serde_json::json;

/// Brokers `(id, rack, capacity)`, partitions `(topic, partition, replicas, size)`.
fn cluster(
    brokers: &[(BrokerId, Option<&str>, Option<u64>)],
    parts: &[(&str, i32, &[BrokerId], u64)],
) -> Cluster {
    Cluster::new(
        brokers
            .iter()
            .map(|&(id, rack, cap)| Broker {
                id,
                rack: rack.map(str::to_string),
                capacity_bytes: cap,
                log_dirs: Vec::new(),
            })
            .collect(),
        parts
            .iter()
            .map(|&(t, p, reps, size)| Partition {
                tp: TopicPartition::new(t, p),
                replicas: reps.to_vec(),
                size_bytes: size,
                leader: None,
                isr: None,
                in_flight: None,
                log_dirs: Vec::new(),
                rates: None,
            })
            .collect(),
    )
}

fn none() -> BTreeSet<BrokerId> {
    BTreeSet::new()
}

#[test]
fn counts_disk_and_leaders() {
    let c = cluster(
        &[
            (1, Some("a"), Some(100)),
            (2, Some("b"), Some(100)),
            (3, Some("c"), Some(50)),
        ],
        &[
            ("t", 0, &[1, 2], 10),
            ("t", 1, &[1, 3], 20),
            ("u", 0, &[2], 60),
        ],
    );
    let s = layout_stats(&c, &c.current_layout(), &none());
    assert_eq!(
        (s.replicas_max, s.replicas_min, s.replicas_spread),
        (2, 1, 1)
    );
    assert_eq!((s.leaders_max, s.leaders_min, s.leaders_spread), (2, 0, 2));
    assert_eq!((s.disk_max_bytes, s.disk_min_bytes), (70, 20));
    // mean = 120 / 3 = 40; 70 / 40.
    assert_eq!(s.disk_max_mean_ratio, Some(1.75));
    assert_eq!(s.disk_util_max, Some(0.7));
    assert_eq!(s.capacity_violations, 0);
    // t: counts 2,1,1 -> 1; u: 0,1,0 -> 1.
    assert_eq!(s.topic_spread_max, 1);
    assert_eq!(s.topic_spread_mean, 1.0);
    assert_eq!(s.rack_violations, 0);
    assert_eq!(s.replicas_on_excluded, 0);
}

#[test]
fn rack_violations_use_allowed_racks_but_count_every_replica() {
    // Racks a,a,b,c; broker 4 (rack c) excluded -> 2 allowed racks, cap for RF 3 is 2.
    let c = cluster(
        &[
            (1, Some("a"), None),
            (2, Some("a"), None),
            (3, Some("b"), None),
            (4, Some("c"), None),
        ],
        &[
            ("t", 0, &[1, 2, 3], 1), // a:2 <= 2
            ("t", 1, &[1, 2], 1),    // RF 2, cap 1, a:2 -> violation
            ("t", 2, &[3, 4], 1),    // b:1, c:1 -> fine
        ],
    );
    let ex: BTreeSet<BrokerId> = [4].into();
    let s = layout_stats(&c, &c.current_layout(), &ex);
    assert_eq!(s.rack_violations, 1);
    assert_eq!(s.replicas_on_excluded, 1);
    // Without exclusions: 3 racks, RF 3 cap 1 -> t-0 violates too.
    let s = layout_stats(&c, &c.current_layout(), &none());
    assert_eq!(s.rack_violations, 2);
}

#[test]
fn rackless_brokers_are_racks_of_their_own() {
    let c = cluster(
        &[(1, None, None), (2, None, None), (3, Some("a"), None)],
        &[("t", 0, &[1, 2], 1), ("t", 1, &[3, 1], 1)],
    );
    let s = layout_stats(&c, &c.current_layout(), &none());
    assert_eq!(s.rack_violations, 0);
    assert_eq!(s.disk_util_max, None);
    assert_eq!(s.capacity_violations, 0);
}

#[test]
fn capacity_counts_excluded_brokers_util_does_not() {
    let c = cluster(
        &[
            (1, Some("a"), Some(10)),
            (2, Some("b"), Some(0)),
            (3, Some("c"), None),
            (4, Some("d"), Some(5)),
        ],
        &[("t", 0, &[1, 2, 3, 4], 8)],
    );
    let ex: BTreeSet<BrokerId> = [4].into();
    let s = layout_stats(&c, &c.current_layout(), &ex);
    // 2 has capacity 0 < 8, 4 is excluded but still over its 5; 3 is unknown.
    assert_eq!(s.capacity_violation_brokers, vec![2, 4]);
    assert_eq!(s.capacity_violations, 2);
    // Only broker 1 has a non-zero known capacity among the allowed: 8 / 10.
    assert_eq!(s.disk_util_max, Some(0.8));
}

#[test]
fn topic_spread_over_allowed_brokers() {
    let c = cluster(
        &[
            (1, Some("a"), None),
            (2, Some("b"), None),
            (3, Some("c"), None),
        ],
        &[
            ("t", 0, &[1, 2], 1),
            ("t", 1, &[1, 2], 1),
            ("t", 2, &[1, 3], 1),
            ("u", 0, &[3], 1),
        ],
    );
    let s = layout_stats(&c, &c.current_layout(), &none());
    // t: 3,2,1 -> 2; u: 0,0,1 -> 1.
    assert_eq!(s.topic_spread_max, 2);
    assert_eq!(s.topic_spread_mean, 1.5);
    let ex: BTreeSet<BrokerId> = [1].into();
    let s = layout_stats(&c, &c.current_layout(), &ex);
    // t over 2,3: 2,1 -> 1; u: 0,1 -> 1.
    assert_eq!(s.topic_spread_max, 1);
    assert_eq!(s.replicas_on_excluded, 3);
    assert_eq!(s.replicas_max, 2);
}

#[test]
fn unsorted_partitions_still_group_topics() {
    let mut c = cluster(
        &[(1, Some("a"), None), (2, Some("b"), None)],
        &[("t", 0, &[1], 1), ("t", 1, &[1], 1), ("u", 0, &[2], 1)],
    );
    c.partitions.swap(1, 2);
    let s = layout_stats(&c, &c.current_layout(), &none());
    assert_eq!(s.topic_spread_max, 2);
    assert_eq!(s.topic_spread_mean, 1.5);
}

#[test]
fn unknown_ids_in_a_layout_count_as_not_allowed() {
    let c = cluster(
        &[(1, Some("a"), None), (2, Some("b"), None)],
        &[("t", 0, &[1, 2], 1)],
    );
    let layout = Layout {
        replicas: vec![vec![1, 7, 8, 9]],
    };
    let s = layout_stats(&c, &layout, &none());
    assert_eq!(s.replicas_on_excluded, 3);
    // 7, 8 and 9 share the scorer's `None` rack: 3 > ceil(4 / 2).
    assert_eq!(s.rack_violations, 1);
    assert_eq!((s.replicas_max, s.replicas_min), (1, 0));
    // A layout shorter than the partition list: the missing entries are empty.
    let s = layout_stats(&c, &Layout { replicas: vec![] }, &none());
    assert_eq!(s.replicas_max, 0);
    assert_eq!(s.topic_spread_mean, 0.0);
}

#[test]
fn no_allowed_brokers() {
    let c = cluster(&[(1, Some("a"), Some(1))], &[("t", 0, &[1], 5)]);
    let ex: BTreeSet<BrokerId> = [1].into();
    let s = layout_stats(&c, &c.current_layout(), &ex);
    assert_eq!(s.replicas_max, 0);
    assert_eq!(s.disk_max_mean_ratio, None);
    assert_eq!(s.disk_util_max, None);
    assert_eq!(s.topic_spread_max, 0);
    assert_eq!(s.capacity_violation_brokers, vec![1]);
    assert_eq!(s.replicas_on_excluded, 1);
    assert_eq!(s.rack_violations, 0);
}

fn three_racks() -> Cluster {
    cluster(
        &[
            (1, Some("a"), Some(1000)),
            (2, Some("b"), Some(1000)),
            (3, Some("c"), Some(1000)),
            (4, Some("a"), Some(1000)),
        ],
        &[
            ("t", 0, &[1, 2, 3], 10),
            ("t", 1, &[2, 3, 4], 20),
            ("u", 0, &[3, 4], 30),
        ],
    )
}

#[test]
fn moves_bytes_and_leader_changes() {
    let c = three_racks();
    let plan = json!({"version": 1, "partitions": [
        {"topic": "t", "partition": 0, "replicas": [2, 1, 3]},   // reorder: leader change
        {"topic": "t", "partition": 1, "replicas": [2, 3, 1]},   // 4 -> 1: one move
        {"topic": "u", "partition": 0, "replicas": [1, 2]}       // two moves, leader change
    ]});
    let s = score_plan(&c, &none(), &plan);
    assert!(s.valid, "{:?}", s.errors);
    let m = &s.summary;
    assert_eq!(m.partitions_changed, 3);
    assert_eq!(m.replica_moves, 3);
    assert_eq!(m.bytes_moved, 20 + 2 * 30);
    assert_eq!(m.leader_changes, 2);
    assert_eq!(m.after.replicas_on_excluded, 0);
    assert_eq!(s.plan_entries, 3);
    assert_eq!(s.invalid_entries, 0);
}

#[test]
fn excluded_brokers_must_be_emptied() {
    let c = three_racks();
    let ex: BTreeSet<BrokerId> = [4].into();
    let s = score_plan(&c, &ex, &json!({"version": 1, "partitions": []}));
    assert!(!s.valid);
    assert_eq!(s.errors, vec!["2 replicas remain on excluded brokers [4]"]);
    let plan = json!({"partitions": [
        {"topic": "t", "partition": 1, "replicas": [2, 3, 1]},
        {"topic": "u", "partition": 0, "replicas": [3, 4]}
    ]});
    let s = score_plan(&c, &ex, &plan);
    assert_eq!(
        s.errors,
        vec![
            "u-0: uses excluded brokers [4]",
            "1 replicas remain on excluded brokers [4]"
        ]
    );
    assert_eq!(s.invalid_entries, 1);
    assert_eq!(s.summary.bounds.forced_moves, 2);
    assert_eq!(s.summary.cluster.allowed_brokers, 3);
}

#[test]
fn validation_messages_match_the_scorer() {
    let c = three_racks();
    let plan = json!({"version": 2, "partitions": [
        {"topic": "t", "partition": 0, "replicas": [1, 1, 2]},
        {"topic": "t", "partition": 0, "replicas": [1, 2]},
        {"topic": "t", "partition": 1, "replicas": [2, 3, 99]},
        {"topic": "x", "partition": 0, "replicas": [1]},
        {"topic": "u", "partition": 0.0, "replicas": [1, 2.0]},
        {"topic": "u", "partition": 1.5, "replicas": [1]},
        {"topic": "t"},
        [1, 2]
    ]});
    let s = score_plan(&c, &none(), &plan);
    assert_eq!(
        s.errors,
        vec![
            "plan version 2 is not 1",
            "t-0: duplicate brokers in [1, 1, 2]",
            "t-0: listed more than once",
            "t-0: replication factor 3 -> 2",
            "t-1: unknown brokers [99]",
            "x-0: no such partition in the snapshot",
            "u-0.0: replicas must be a list of broker ids",
            "u-1.5: no such partition in the snapshot",
            "entry 6 lacks topic/partition/replicas",
            "entry 7 lacks topic/partition/replicas",
        ]
    );
    assert_eq!(s.invalid_entries, 8);
    assert_eq!(s.plan_entries, 8);
    // Invalid but applicable entries are applied (t-0 twice: the last wins); t-1 is not.
    assert_eq!(s.summary.after.replicas_max, 2);
    assert_eq!(s.summary.partitions_changed, 1);
}

#[test]
fn not_a_plan_and_version_reprs() {
    let c = three_racks();
    for v in [
        json!([]),
        json!({"version": 1}),
        json!(null),
        json!({"partitions": {}}),
    ] {
        let s = score_plan(&c, &none(), &v);
        assert_eq!(
            s.errors,
            vec!["plan is not a reassignment JSON object with a 'partitions' list"]
        );
        assert_eq!(s.plan_entries, 0);
    }
    let cases = [
        (json!("1"), Some("plan version '1' is not 1")),
        (json!(null), Some("plan version None is not 1")),
        (json!(1.5), Some("plan version 1.5 is not 1")),
        (json!([1]), Some("plan version [1] is not 1")),
        (json!("it's"), Some("plan version \"it's\" is not 1")),
        (json!(1.0), None),
        (json!(true), None),
    ];
    for (v, want) in cases {
        let s = score_plan(&c, &none(), &json!({"version": v, "partitions": []}));
        assert_eq!(s.errors.first().map(String::as_str), want, "{v}");
    }
}

#[test]
fn errors_are_capped() {
    let c = three_racks();
    let entries: Vec<Value> = (0..30)
        .map(|i| json!({"topic": "nope", "partition": i, "replicas": [1]}))
        .collect();
    let s = score_plan(&c, &none(), &json!({"partitions": entries}));
    assert_eq!(s.errors.len(), MAX_ERRORS + 1);
    assert_eq!(s.errors[MAX_ERRORS], MORE_ERRORS_OMITTED);
    assert_eq!(s.invalid_entries, 30);
}

#[test]
fn booleans_are_ints_like_in_python() {
    let c = three_racks();
    let plan = json!({"partitions": [{"topic": "u", "partition": 0, "replicas": [true, 1]}]});
    let s = score_plan(&c, &none(), &plan);
    assert_eq!(s.errors, vec!["u-0: duplicate brokers in [True, 1]"]);
}

#[test]
fn json_has_the_scorer_keys() {
    let c = three_racks();
    let mut s = score_plan(&c, &none(), &json!({"version": 1, "partitions": []}));
    s.snapshot = Some("x".into());
    let v = s.to_json();
    let keys: BTreeSet<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    for k in [
        "snapshot",
        "valid",
        "errors",
        "invalid_entries",
        "plan_entries",
        "partitions_changed",
        "replica_moves",
        "bytes_moved",
        "leader_changes",
        "lower_bound_moves",
        "lb_excess",
        "lb_deficit",
        "lb_forced_moves",
        "band",
        "moves_over_lb",
        "lb_combined",
        "after",
        "before",
        "cluster",
        "replicas_max",
        "replicas_min",
        "replicas_spread",
        "leaders_spread",
        "disk_max_bytes",
        "disk_min_bytes",
        "disk_max_mean_ratio",
        "capacity_violations",
        "rack_violations",
        "topic_spread_max",
    ] {
        assert!(keys.contains(k), "{k}");
    }
    assert_eq!(keys.len(), 29);
    assert_eq!(v["after"].as_object().unwrap().len(), 16);
    assert_eq!(v["cluster"]["racks"], 3);
    assert_eq!(v["valid"], true);
}

#[test]
fn serialises_in_the_scorer_key_order() {
    let c = three_racks();
    let s = score_plan(&c, &none(), &json!({"version": 1, "partitions": []}));
    let text = serde_json::to_string(&s).unwrap();
    let order = [
        "\"snapshot\"",
        "\"valid\"",
        "\"errors\"",
        "\"invalid_entries\"",
        "\"plan_entries\"",
        "\"partitions_changed\"",
        "\"replica_moves\"",
        "\"lower_bound_moves\"",
        "\"band\"",
        "\"moves_over_lb\"",
        "\"lb_combined\"",
        "\"after\":{\"replicas_max\"",
        "\"replicas_on_excluded\"",
        "\"before\"",
        "\"cluster\":{\"brokers\"",
        "\"total_bytes\"",
        "},\"replicas_max\"",
        "\"topic_spread_max\":1}",
    ];
    let pos: Vec<usize> = order
        .iter()
        .map(|k| text.find(k).unwrap_or_else(|| panic!("{k} in {text}")))
        .collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "{text}");
}

#[test]
fn python_number_semantics() {
    assert_eq!(py_round(0.125, 2), 0.12);
    assert_eq!(py_round(0.375, 2), 0.38);
    assert_eq!(py_round(2.675, 2), 2.67);
    assert_eq!(py_round(1.00005, 4), 1.0001);
    for (x, want) in [
        (1e16, "1e+16"),
        (1.5e-5, "1.5e-05"),
        (123.456, "123.456"),
        (1e15, "1000000000000000.0"),
        (0.0001, "0.0001"),
        (-2.5, "-2.5"),
        (1.2345678901234568e17, "1.2345678901234568e+17"),
        (5e-324, "5e-324"),
    ] {
        assert_eq!(py_float_repr(x), want);
    }
    // Correct rounding above 2^53, where converting first would round twice.
    let a: u128 = (1 << 60) + 1;
    assert_eq!(int_div_f64(a, 3), 384307168202282325.6666_f64);
    assert_eq!(int_div_f64(u64::MAX as u128 * 7, 7), u64::MAX as f64);
    assert_eq!(int_div_f64(u128::MAX, u64::MAX), 18446744073709551617.0);
    assert_eq!(int_div_f64(1, u64::MAX), 1.0 / u64::MAX as f64);
    assert!(int_div_f64(1, 0).is_nan());
    assert_eq!(int_div_f64(10, 4), 2.5);
    assert_eq!(int_div_f64(1, 1 << 60), 2f64.powi(-60));
    // A pair where converting first differs from Python's exact `int / int`.
    let (a, b) = (133841408858490651857u128, 14046286627791492475u64);
    assert_ne!(a as f64 / b as f64, 9.528597301558458);
    assert_eq!(int_div_f64(a, b), 9.528597301558458);
}

/// A line-by-line transliteration of score.py's `_layout_stats` over maps, to check the
/// indexed implementation against on random inputs.
fn naive_stats(c: &Cluster, layout: &Layout, excluded: &BTreeSet<BrokerId>) -> LayoutStats {
    use std::collections::BTreeMap as M;
    let allowed: Vec<BrokerId> = allowed_brokers_sorted(c, excluded);
    let rack_of: M<BrokerId, String> = c
        .brokers
        .iter()
        .map(|b| (b.id, Cluster::rack_key(b)))
        .collect();
    let num_racks = allowed
        .iter()
        .map(|b| rack_of[b].clone())
        .collect::<BTreeSet<_>>()
        .len();
    let (mut rc, mut lc, mut dk) = (M::new(), M::new(), M::<BrokerId, u64>::new());
    let mut topic_counts: M<&str, M<BrokerId, usize>> = M::new();
    let mut rack_viol = 0;
    for (p, reps) in c.partitions.iter().zip(&layout.replicas) {
        if let Some(b) = reps.first() {
            *lc.entry(*b).or_insert(0usize) += 1;
        }
        let tc = topic_counts.entry(p.tp.topic.as_str()).or_default();
        let mut racks: M<Option<&String>, usize> = M::new();
        for b in reps {
            *rc.entry(*b).or_insert(0usize) += 1;
            *dk.entry(*b).or_insert(0) += p.size_bytes;
            *tc.entry(*b).or_insert(0) += 1;
            *racks.entry(rack_of.get(b)).or_insert(0) += 1;
        }
        if !reps.is_empty() && num_racks > 0 {
            let cap = reps.len().div_ceil(num_racks);
            if racks.values().max().copied().unwrap_or(0) > cap {
                rack_viol += 1;
            }
        }
    }
    let get = |m: &M<BrokerId, usize>, b: &BrokerId| m.get(b).copied().unwrap_or(0);
    let r: Vec<usize> = allowed.iter().map(|b| get(&rc, b)).collect();
    let l: Vec<usize> = allowed.iter().map(|b| get(&lc, b)).collect();
    let d: Vec<u64> = allowed
        .iter()
        .map(|b| dk.get(b).copied().unwrap_or(0))
        .collect();
    let sum: u64 = d.iter().sum();
    let mx = |v: &[usize]| v.iter().max().copied().unwrap_or(0);
    let mn = |v: &[usize]| v.iter().min().copied().unwrap_or(0);
    let dmax = d.iter().max().copied().unwrap_or(0);
    let cap_viol: Vec<BrokerId> = c
        .brokers
        .iter()
        .filter(
            |b| matches!(b.capacity_bytes, Some(cap) if dk.get(&b.id).copied().unwrap_or(0) > cap),
        )
        .map(|b| b.id)
        .collect();
    let util = allowed
        .iter()
        .filter_map(|b| match c.broker(*b).and_then(|x| x.capacity_bytes) {
            Some(cap) if cap > 0 => Some(dk.get(b).copied().unwrap_or(0) as f64 / cap as f64),
            _ => None,
        })
        .fold(None, |a: Option<f64>, u| Some(a.map_or(u, |a| a.max(u))));
    let mut spread_max = 0;
    let mut spread_sum = 0;
    for tc in topic_counts.values() {
        let vals: Vec<usize> = allowed.iter().map(|b| get(tc, b)).collect();
        let sp = mx(&vals) - mn(&vals);
        spread_max = spread_max.max(sp);
        spread_sum += sp;
    }
    LayoutStats {
        replicas_max: mx(&r),
        replicas_min: mn(&r),
        replicas_spread: mx(&r) - mn(&r),
        leaders_max: mx(&l),
        leaders_min: mn(&l),
        leaders_spread: mx(&l) - mn(&l),
        disk_max_bytes: dmax,
        disk_min_bytes: d.iter().min().copied().unwrap_or(0),
        disk_max_mean_ratio: (!d.is_empty() && sum > 0)
            .then(|| py_round(dmax as f64 / (sum as f64 / d.len() as f64), 4)),
        disk_util_max: util.map(|u| py_round(u, 4)),
        capacity_violations: cap_viol.len(),
        capacity_violation_brokers: cap_viol,
        rack_violations: rack_viol,
        topic_spread_max: spread_max,
        topic_spread_mean: if topic_counts.is_empty() {
            0.0
        } else {
            py_round(spread_sum as f64 / topic_counts.len() as f64, 3)
        },
        replicas_on_excluded: rc
            .iter()
            .filter(|(b, _)| !allowed.contains(b))
            .map(|(_, n)| n)
            .sum(),
    }
}

fn allowed_brokers_sorted(c: &Cluster, excluded: &BTreeSet<BrokerId>) -> Vec<BrokerId> {
    crate::model::allowed_brokers(c, excluded)
}

proptest::proptest! {
    #[test]
    fn indexed_stats_equal_the_transliteration(
        brokers in proptest::collection::vec((0u8..4, proptest::option::of(0u64..3000)), 1..7),
        sparse_ids in proptest::bool::ANY,
        parts in proptest::collection::vec(
            (0u8..3, 1u64..500, proptest::collection::vec(0usize..8, 0..5)),
            0..25,
        ),
        excluded_mask in 0u8..128,
    ) {
        // Rack 0 means "no rack"; ids dense or sparse (both lookup paths); layout entries
        // may repeat a broker or name one that does not exist (index >= broker count).
        let id = |i: usize| if sparse_ids { i as BrokerId * 100_000 } else { i as BrokerId + 1 };
        let bs: Vec<Broker> = brokers
            .iter()
            .enumerate()
            .map(|(i, (r, cap))| Broker {
                id: id(i),
                rack: (*r > 0).then(|| format!("r{r}")),
                capacity_bytes: *cap, log_dirs: Vec::new(),
            })
            .collect();
        let ps: Vec<Partition> = parts
            .iter()
            .enumerate()
            .map(|(i, (t, size, _))| Partition {
                tp: TopicPartition::new(format!("t{t}"), i as i32),
                replicas: vec![],
                size_bytes: *size,
                leader: None,
                isr: None,
                in_flight: None, log_dirs: Vec::new(), rates: None,
            })
            .collect();
        let c = Cluster::new(bs, ps);
        let layout = Layout {
            replicas: c
                .partitions
                .iter()
                .map(|p| {
                    let i = p.tp.partition as usize;
                    parts[i].2.iter().map(|&j| id(j)).collect()
                })
                .collect(),
        };
        let excluded: BTreeSet<BrokerId> = (0..7)
            .filter(|i| excluded_mask & (1 << i) != 0)
            .map(|i| id(i as usize))
            .collect();
        let fast = layout_stats(&c, &layout, &excluded);
        let slow = naive_stats(&c, &layout, &excluded);
        proptest::prop_assert_eq!(fast, slow);
    }
}
