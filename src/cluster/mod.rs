//! The cluster client: where the SC is (explicit options, `FLUVIO_SC_ADDR`, the `fluvio`
//! CLI's profile, or the default), the metadata cache fed by the SC's watch streams, leader
//! discovery and the pool of SPU connections.

mod actor;
mod client;
mod config;
mod error;
mod metadata;
mod mirror;
pub mod profile;

pub use client::FluvioClient;
pub use config::{
    ClientConfig, ClientConfigBuilder, EndpointSource, ResolvedConfig, DEFAULT_SC_ADDR,
};
pub use error::ClientError;
pub use metadata::{Lookup, MetadataCache, SpuTarget, Store};
