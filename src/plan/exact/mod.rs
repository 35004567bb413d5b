//! Exact models for what the count flow cannot express (docs/exactness.md): the disk floor
//! the rack rule forces (a parametric max-flow), and the LP / MILP models of the
//! capacity-constrained plan solved through good_lp.

pub mod floor;
