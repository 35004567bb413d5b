//! The Kafka admin client: client properties, SASL, connections and the `Admin` calls
//! kafka-replan needs, with wire types converted to model types at this boundary.

pub mod conn;
pub mod error;
pub mod properties;
pub mod sasl;
#[cfg(test)]
mod testbroker;
pub mod tls;

pub use error::Error;
