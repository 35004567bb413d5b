//! Shared code for integration tests. Each file under `tests/` is its own crate and uses only
//! part of this module, hence the `dead_code` allowance.
#![allow(dead_code)]

pub mod apply;
pub mod cli;
pub mod clusters;
pub mod fake_apply;
pub mod hostile;
pub mod kafka;
pub mod versions;
