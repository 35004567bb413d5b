//! The capacity repair's move-neutral exchanges (`capacity::repair_with_exchanges`, the
//! default plan's repair) against the plain repair, on cases counted by hand.

use std::collections::BTreeSet;

use kafka_replan::model::{Broker, Cluster, Partition, TopicPartition};
use kafka_replan::plan::capacity::{bytes_per_broker, limits, repair, repair_with_exchanges};
use kafka_replan::plan::replicas::Topology;

/// Brokers 1 and 2 without racks, of the given capacities; RF-1 partitions of the given
/// sizes, all on broker 1.
fn two_brokers(sizes: &[u64], capacity: [u64; 2]) -> Cluster {
    let brokers = (1..=2)
        .map(|id| Broker {
            id,
            rack: None,
            capacity_bytes: Some(capacity[id as usize - 1]),
            log_dirs: Vec::new(),
        })
        .collect();
    let partitions = sizes
        .iter()
        .enumerate()
        .map(|(i, &size)| Partition {
            tp: TopicPartition::new("t", i as i32),
            replicas: vec![1],
            size_bytes: size,
            leader: None,
            isr: None,
            in_flight: None,
            log_dirs: Vec::new(),
            rates: None,
        })
        .collect();
    Cluster::new(brokers, partitions)
}

fn moves(cluster: &Cluster, topo: &Topology, sets: &[Vec<usize>]) -> usize {
    sets.iter()
        .enumerate()
        .map(|(p, s)| {
            s.iter()
                .filter(|&&b| !cluster.partitions[p].replicas.contains(&topo.ids[b]))
                .count()
        })
        .sum()
}

#[test]
fn the_over_limit_broker_sheds_the_large_replica_instead_of_the_small_one() {
    // Broker 1 holds 100 + 10 bytes, limit 50; the count plan moves the small one to
    // broker 2. Shedding the large one instead is one move; the plain repair keeps the
    // small move and relocates the large one as well: two.
    let c = two_brokers(&[100, 10], [50, 200]);
    let topo = Topology::new(&c, &BTreeSet::new());
    let limit = limits(&c, 1.0);
    let planned = vec![vec![0], vec![1]];
    let mut plain = planned.clone();
    repair(&c, &topo, &limit, &mut plain, &[2, 2]);
    assert_eq!(plain, vec![vec![1], vec![1]]);
    assert_eq!(moves(&c, &topo, &plain), 2);
    let mut exchanged = planned;
    let rep = repair_with_exchanges(&c, &topo, &limit, &mut exchanged, &[2, 2]);
    assert_eq!(exchanged, vec![vec![1], vec![0]]);
    assert_eq!(moves(&c, &topo, &exchanged), 1);
    assert_eq!((rep.swaps, rep.extra_moves), (1, 0));
    let bytes = bytes_per_broker(&c, 2, &exchanged);
    assert_eq!(bytes, vec![10, 100]);
}

#[test]
fn nothing_over_its_limit_is_left_as_it_is() {
    let c = two_brokers(&[100, 10], [200, 200]);
    let topo = Topology::new(&c, &BTreeSet::new());
    let limit = limits(&c, 1.0);
    let mut sets = vec![vec![0], vec![1]];
    let rep = repair_with_exchanges(&c, &topo, &limit, &mut sets, &[2, 2]);
    assert_eq!(sets, vec![vec![0], vec![1]]);
    assert_eq!((rep.redirected, rep.swaps, rep.extra_moves), (0, 0, 0));
}
