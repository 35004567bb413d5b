//! JSON output, with the scorer's keys in the scorer's order.
//!
//! The types serialise their keys in the scorer's order (so `score --json` and `score.py
//! --pretty` can be diffed line by line), whatever serde_json's `preserve_order` feature says;
//! `to_json` gives a `Value`, whose key order is serde_json's (sorted by default).

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::Value;

use super::score::Score;
use super::stats::{ClusterStats, LayoutStats, ScoreSummary};

/// The `after` metrics the scorer repeats at the top level.
const HEADLINE_KEYS: [&str; 10] = [
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
];

impl LayoutStats {
    /// The scorer's `after`/`before` object.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// One headline metric by its scorer name.
    fn headline(&self, key: &str) -> Value {
        match key {
            "replicas_max" => self.replicas_max.into(),
            "replicas_min" => self.replicas_min.into(),
            "replicas_spread" => self.replicas_spread.into(),
            "leaders_spread" => self.leaders_spread.into(),
            "disk_max_bytes" => self.disk_max_bytes.into(),
            "disk_min_bytes" => self.disk_min_bytes.into(),
            "disk_max_mean_ratio" => self.disk_max_mean_ratio.into(),
            "capacity_violations" => self.capacity_violations.into(),
            "rack_violations" => self.rack_violations.into(),
            "topic_spread_max" => self.topic_spread_max.into(),
            _ => Value::Null,
        }
    }
}

impl ClusterStats {
    /// The scorer's `cluster` object.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl ScoreSummary {
    /// The scorer's keys from `partitions_changed` on: moves, bounds, `after`, `before`,
    /// `cluster` and the flattened headline metrics.
    fn serialize_entries<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        let b = &self.bounds;
        m.serialize_entry("partitions_changed", &self.partitions_changed)?;
        m.serialize_entry("replica_moves", &self.replica_moves)?;
        m.serialize_entry("bytes_moved", &self.bytes_moved)?;
        m.serialize_entry("leader_changes", &self.leader_changes)?;
        m.serialize_entry("lower_bound_moves", &b.lower_bound_moves)?;
        m.serialize_entry("lb_excess", &b.excess)?;
        m.serialize_entry("lb_deficit", &b.deficit)?;
        m.serialize_entry("lb_forced_moves", &b.forced_moves)?;
        m.serialize_entry("band", &b.band.map(|(lo, hi)| [lo, hi]))?;
        m.serialize_entry("moves_over_lb", &self.moves_over_lb)?;
        m.serialize_entry("lb_combined", &self.lb_combined)?;
        m.serialize_entry("after", &self.after)?;
        m.serialize_entry("before", &self.before)?;
        m.serialize_entry("cluster", &self.cluster)?;
        for k in HEADLINE_KEYS {
            m.serialize_entry(k, &self.after.headline(k))?;
        }
        Ok(())
    }

    /// The summary's part of the scorer's object (no validity keys).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl Serialize for ScoreSummary {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        self.serialize_entries(&mut m)?;
        m.end()
    }
}

impl Score {
    /// The scorer's output object: same keys, same values (`snapshot` is this score's label).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl Serialize for Score {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("snapshot", &self.snapshot)?;
        m.serialize_entry("valid", &self.valid)?;
        m.serialize_entry("errors", &self.errors)?;
        m.serialize_entry("invalid_entries", &self.invalid_entries)?;
        m.serialize_entry("plan_entries", &self.plan_entries)?;
        self.summary.serialize_entries(&mut m)?;
        m.end()
    }
}
