//! kafka-replan: plan and apply minimal, balanced, rack- and capacity-safe Kafka partition
//! reassignments.
//!
//! Layers (one direction): `formats` parse inputs into `model` types; `plan` is the pure
//! planning core (solve, bound, verify); `kafka` is the admin client (the only module doing
//! network I/O), which speaks to a live cluster behind the `kafka::Admin` trait in model
//! terms; the CLI writes the outputs.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod apply;
pub mod formats;
pub mod kafka;
pub mod model;
pub mod plan;
