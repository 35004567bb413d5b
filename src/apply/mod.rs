//! Executing plans against a cluster, over any `kafka::Admin` (the real client or the
//! in-memory fake, so every step can be tested with injected faults): `executor` runs a
//! plan in batches with throttles (`ledger`, built on Kafka's move map in `throttle`) and
//! a crash-safe `journal`; the other modules are the single operations (verify, status,
//! cancel, election). Batching itself lives in `plan::schedule`.

pub mod cancel;
pub mod elect;
pub mod executor;
pub mod journal;
pub mod ledger;
pub mod status;
pub mod throttle;
pub mod verify;
