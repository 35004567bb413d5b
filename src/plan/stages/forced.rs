//! Stage 1, scope and forced moves: guarantees that the allowed brokers can hold every
//! partition under the hard rules (enough brokers, rack spread, total and per-replica disk
//! capacity), or names every partition and rule that cannot be met; fixes the disk limits
//! and the move bounds the plan is measured against.

use super::{Problem, ShedChoice};
use crate::model::Cluster;
use crate::plan::bounds::move_bounds;
use crate::plan::replicas::{self, PlacementError, Topology};
use crate::plan::{capacity, scope, Infeasible, PlanConfig, PlanError};

pub(super) fn run<'a>(
    cluster: &'a Cluster,
    config: &'a PlanConfig,
    base: Option<&'a scope::BaseLoad>,
    shed: ShedChoice,
) -> Result<Problem<'a>, PlanError> {
    let mut topo = Topology::new(cluster, &config.excluded);
    topo.prefer_follower_moves = shed.followers;
    topo.prefer_small_moves = shed.small;
    if topo.allowed_count() == 0 {
        return Err(PlanError::Infeasible(vec![Infeasible::NoAllowedBrokers]));
    }
    let before = cluster.current_layout();
    let bounds = match base {
        None => move_bounds(cluster, &before, &config.excluded),
        Some(b) => scope::scoped_bounds(cluster, &topo, b),
    };
    let mut problems = Vec::new();
    for e in replicas::check_feasible(cluster, &topo) {
        problems.push(match e {
            PlacementError::NotEnoughBrokers {
                partition,
                rf,
                allowed,
            } => Infeasible::NotEnoughBrokers {
                tp: cluster.partitions[partition].tp.clone(),
                rf,
                allowed,
            },
            PlacementError::RackSpreadImpossible {
                partition,
                rf,
                cap,
                slots,
            } => Infeasible::RackSpread {
                tp: cluster.partitions[partition].tp.clone(),
                rf,
                cap,
                slots,
                racks: topo.racks.len(),
            },
            PlacementError::Flow(f) => return Err(PlanError::Internal(f.to_string())),
        });
    }
    let limits = match base {
        Some(b) => b.limits.clone(),
        None => capacity::limits(cluster, config.max_disk_util),
    };
    let capacity_checked = limits.iter().any(|l| l.is_some());
    if capacity_checked {
        problems.extend(capacity_precheck(cluster, &topo, &limits));
    }
    if !problems.is_empty() {
        return Err(PlanError::Infeasible(problems));
    }
    Ok(Problem {
        cluster,
        config,
        base,
        shed,
        topo,
        before,
        bounds,
        limits,
        capacity_checked,
    })
}

fn capacity_precheck(
    cluster: &Cluster,
    topo: &Topology,
    limits: &[Option<u64>],
) -> Vec<Infeasible> {
    let mut out = Vec::new();
    let allowed_limits: Vec<u64> = (0..topo.ids.len())
        .filter(|&b| topo.allowed[b])
        .filter_map(|b| limits[b])
        .collect();
    // Only meaningful when every allowed broker has a known capacity.
    let all_known = (0..topo.ids.len())
        .filter(|&b| topo.allowed[b])
        .all(|b| limits[b].is_some());
    if !all_known {
        return out;
    }
    let largest = allowed_limits.iter().copied().max().unwrap_or(0);
    let have: u64 = allowed_limits.iter().sum();
    let need: u64 = cluster
        .partitions
        .iter()
        .map(|p| p.size_bytes.saturating_mul(p.replicas.len() as u64))
        .sum();
    for p in &cluster.partitions {
        if p.size_bytes > largest {
            out.push(Infeasible::PartitionTooLarge {
                tp: p.tp.clone(),
                size: p.size_bytes,
                largest_limit: largest,
            });
        }
    }
    if need > have {
        out.push(Infeasible::TotalCapacity { need, have });
    }
    out
}
