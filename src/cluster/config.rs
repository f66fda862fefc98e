//! Client configuration and where the SC address comes from.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::ClientError;
use super::profile;
use crate::builder::builder;
use crate::connection::ConnectionConfig;

/// The SC address used when nothing else names one.
pub const DEFAULT_SC_ADDR: &str = "127.0.0.1:9003";

/// How to reach and talk to a Fluvio cluster.
///
/// The SC endpoint is, in order: [`ClientConfig::sc_endpoint`], else `FLUVIO_SC_ADDR`, else
/// the current profile of `~/.fluvio/config` (endpoint and TLS), else `127.0.0.1:9003`.
///
/// It reads from a file (any serde format; durations as humantime strings, see
/// [`ConnectionConfig`]), a key left out keeping its default and a misspelt key an error
/// naming it:
///
/// ```
/// use std::time::Duration;
/// use actix_fluvio::cluster::ClientConfig;
///
/// let config: ClientConfig = toml::from_str(r#"
///     sc_endpoint = "127.0.0.1:9003"
///     metadata_timeout = "30s"
///     [connection]
///     request_timeout = "5s"
///     reconnect = { max_attempts = 10 }
/// "#).unwrap();
/// assert_eq!(config.connection.request_timeout, Duration::from_secs(5));
/// assert_eq!(config.connection.reconnect.max_attempts, Some(10));
///
/// let typo = toml::from_str::<ClientConfig>("metadata_timout = \"30s\"").unwrap_err();
/// assert!(typo.to_string().contains("metadata_timout"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The SC's `host:port`, when set explicitly.
    pub sc_endpoint: Option<String>,
    /// Timeouts, in-flight bound, reconnect policy, TLS, client id.
    pub connection: ConnectionConfig,
    /// Connect to SPUs through their local endpoints (as the profile option of that name).
    pub use_spu_local_address: bool,
    /// Longest wait for metadata (a topic, a partition leader) to appear.
    #[serde(with = "crate::config_serde::duration")]
    pub metadata_timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            sc_endpoint: None,
            connection: ConnectionConfig::default(),
            use_spu_local_address: false,
            metadata_timeout: Duration::from_secs(60),
        }
    }
}

/// Where the endpoint came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointSource {
    /// [`ClientConfig::sc_endpoint`].
    Explicit,
    /// The `FLUVIO_SC_ADDR` environment variable.
    Environment,
    /// A profile of the `fluvio` CLI's config file.
    Profile(String),
    /// [`DEFAULT_SC_ADDR`].
    Default,
}

/// A configuration with its endpoint decided.
#[derive(Debug, Clone)]
pub struct ResolvedConfig {
    /// The SC's `host:port`.
    pub endpoint: String,
    /// Where it came from.
    pub source: EndpointSource,
    /// The settings, TLS from the profile when the profile supplied the endpoint.
    pub config: ClientConfig,
}

impl ClientConfig {
    /// A configuration for the SC at `endpoint`.
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self {
            sc_endpoint: Some(endpoint.into()),
            ..Self::default()
        }
    }

    /// A builder from the defaults (the endpoint from the environment, a profile or the
    /// default address, unless [`ClientConfigBuilder::sc_endpoint`] names one).
    pub fn builder() -> ClientConfigBuilder {
        Self::default().into_builder()
    }

    /// Decide the endpoint (and, from a profile, TLS).
    ///
    /// # Errors
    /// A profile file that exists but cannot be read or parsed.
    pub fn resolve(&self) -> Result<ResolvedConfig, ClientError> {
        let mut config = self.clone();
        if let Some(endpoint) = &self.sc_endpoint {
            return Ok(ResolvedConfig {
                endpoint: endpoint.clone(),
                source: EndpointSource::Explicit,
                config,
            });
        }
        if let Ok(endpoint) = std::env::var("FLUVIO_SC_ADDR") {
            if !endpoint.trim().is_empty() {
                return Ok(ResolvedConfig {
                    endpoint: endpoint.trim().to_owned(),
                    source: EndpointSource::Environment,
                    config,
                });
            }
        }
        if let Some(path) = profile::default_path() {
            if let Some(profile) =
                profile::load(&path).map_err(|e| ClientError::Config(e.to_string()))?
            {
                config.connection.tls = profile.tls.clone();
                config.use_spu_local_address |= profile.use_spu_local_address;
                return Ok(ResolvedConfig {
                    endpoint: profile.endpoint.clone(),
                    source: EndpointSource::Profile(profile.name),
                    config,
                });
            }
        }
        Ok(ResolvedConfig {
            endpoint: DEFAULT_SC_ADDR.into(),
            source: EndpointSource::Default,
            config,
        })
    }
}

builder! {
    /// Builds a [`ClientConfig`], a setter per field:
    ///
    /// ```
    /// use std::time::Duration;
    /// use actix_fluvio::cluster::ClientConfig;
    /// use actix_fluvio::connection::ConnectionConfig;
    ///
    /// let config = ClientConfig::builder()
    ///     .sc_endpoint("127.0.0.1:9003")
    ///     .connection(ConnectionConfig::builder().request_timeout(Duration::from_secs(5)).build())
    ///     .metadata_timeout(Duration::from_secs(10))
    ///     .build();
    /// assert_eq!(config, {
    ///     let mut expected = ClientConfig::new("127.0.0.1:9003");
    ///     expected.connection.request_timeout = Duration::from_secs(5);
    ///     expected.metadata_timeout = Duration::from_secs(10);
    ///     expected
    /// });
    /// ```
    ClientConfigBuilder => ClientConfig {
        sc_endpoint: String => some_into,
        connection: ConnectionConfig,
        use_spu_local_address: bool,
        metadata_timeout: Duration,
    }
}
