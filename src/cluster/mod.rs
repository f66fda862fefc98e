//! The cluster client: where the SC is (explicit options, `FLUVIO_SC_ADDR`, the `fluvio`
//! CLI's profile, or the default), the metadata cache fed by the SC's watch streams, leader
//! discovery and the pool of SPU connections.

mod actor;
mod client;
mod config;
mod error;
pub mod low_level;
mod metadata;
mod mirror;
pub mod profile;

pub use client::FluvioClient;
pub use config::{
    ClientConfig, ClientConfigBuilder, EndpointSource, ResolvedConfig, DEFAULT_SC_ADDR,
};
pub use error::ClientError;
pub use low_level::LowLevel;
pub use metadata::{Lookup, MetadataCache, SpuTarget, Store};
