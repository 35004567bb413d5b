//! Plan metrics, defined exactly as the bench scorer's (`../shared/bench/score.py`), with the
//! same names, so a plan scored here and by the scorer gives the same figures.
//!
//! * [`layout_stats`]: the balance metrics of one layout (score.py's `_layout_stats`).
//! * [`summarize`]: moves, bytes, leader changes, lower bounds and both layouts' metrics of a
//!   change from one layout to another ([`ScoreSummary`]; the planner's report reuses it).
//! * [`score_plan`]: lenient validation of a reassignment JSON value plus the summary
//!   (score.py's `score`), with the scorer's error strings.
//!
//! Semantics carried over from the scorer on purpose:
//! * balance figures (replicas, leaders, disk, utilisation, topic spread) are over the allowed
//!   brokers (known minus excluded); capacity violations are over *all* brokers;
//! * the rack rule counts the replicas of a partition per rack over all its brokers, excluded
//!   ones included, against the cap `ceil(RF / racks)` where `racks` counts allowed racks only;
//! * `replicas_on_excluded` counts every replica on a broker that is not allowed (an unknown
//!   id in a layout counts too).
//!
//! The model is slightly more general than the scorer's snapshots: a broker without a rack
//! counts as a rack of its own ([`crate::model::Cluster::rack_key`]), and a broker with an unknown capacity
//! (`None`) never violates capacity and has no utilisation.
//!
//! The parts, one file each:
//! * `stats`: the layout statistics and the summary of a change;
//! * `score`: validation of a reassignment JSON with the scorer's messages;
//! * `output`: the JSON forms, with the scorer's keys in its order;
//! * `python`: Python's number and `repr` semantics that make the figures and messages
//!   match the scorer's byte for byte.
//!
//! Pure: no I/O.

mod output;
mod python;
mod score;
mod stats;
#[cfg(test)]
mod tests;

pub use python::py_round;
pub use score::{score_plan, Score, MAX_ERRORS, MORE_ERRORS_OMITTED};
pub use stats::{layout_stats, summarize, ClusterStats, LayoutStats, ScoreSummary};
