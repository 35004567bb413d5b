//! Executing plans against a cluster, over any `kafka::Admin` (the real client or the
//! in-memory fake, so every step can be tested with injected faults). This module has the
//! preferred-leader election, the in-flight status, cancel, verify and Kafka's throttle
//! values; batching lives in `plan::schedule`.

pub mod cancel;
pub mod elect;
pub mod status;
pub mod throttle;
pub mod verify;
