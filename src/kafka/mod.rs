//! The Kafka admin client: client properties, SASL, connections and the `Admin` calls
//! kafka-replan needs, with wire types converted to model types at this boundary.

pub mod admin;
pub mod conn;
pub mod error;
pub mod fake;
pub mod properties;
pub mod rates;
pub mod sasl;
pub mod snapshot;
#[cfg(test)]
mod testbroker;
pub mod tls;

pub use admin::{Admin, KafkaAdmin};
pub use error::Error;
