//! The planning core: pure functions from a `Cluster` to a `Layout`, with bounds and an
//! independent verifier. No I/O.

pub mod bounds;
pub mod metrics;
