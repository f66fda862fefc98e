//! What a server said in the ApiVersions handshake, and version negotiation.

use std::collections::HashMap;
use std::sync::Arc;

use super::error::ConnectionError;
use crate::protocol::{ApiVersionsResponse, Request};

/// The API versions a server advertises, and its platform version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerVersions {
    /// The platform version (an SPU reports `"0.0.0"`).
    pub platform: String,
    ranges: HashMap<u16, (i16, i16)>,
}

impl ServerVersions {
    /// From a handshake response.
    pub fn from_response(response: &ApiVersionsResponse) -> Self {
        Self {
            platform: response.platform_version.clone(),
            ranges: response
                .api_keys
                .iter()
                .map(|k| (k.api_key as u16, (k.min_version, k.max_version)))
                .collect(),
        }
    }

    /// The advertised `(min, max)` for `api_key`.
    pub fn range(&self, api_key: u16) -> Option<(i16, i16)> {
        self.ranges.get(&api_key).copied()
    }

    /// The version to send `R` at: the highest both sides speak. An API the server does not
    /// advertise is sent at our highest version (SPUs serve consumer-offset APIs they do not
    /// advertise).
    ///
    /// # Errors
    /// [`ConnectionError::UnsupportedVersion`] when the ranges do not overlap.
    pub fn negotiate<R: Request>(&self, addr: &Arc<str>) -> Result<i16, ConnectionError> {
        let Some((server_min, server_max)) = self.range(R::API_KEY) else {
            return Ok(R::MAX_API_VERSION);
        };
        let version = R::MAX_API_VERSION.min(server_max);
        if version < R::MIN_API_VERSION.max(server_min) {
            return Err(ConnectionError::UnsupportedVersion {
                addr: addr.clone(),
                api_key: R::API_KEY,
                client_min: R::MIN_API_VERSION,
                client_max: R::MAX_API_VERSION,
                server_min,
                server_max,
            });
        }
        Ok(version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ApiVersionKey, ApiVersionsRequest};

    fn server(min: i16, max: i16) -> ServerVersions {
        ServerVersions::from_response(&ApiVersionsResponse {
            api_keys: vec![ApiVersionKey {
                api_key: 18,
                min_version: min,
                max_version: max,
            }],
            platform_version: "0.18.1".into(),
            ..Default::default()
        })
    }

    #[test]
    fn picks_the_highest_common_version() {
        let addr: Arc<str> = "x".into();
        assert_eq!(
            server(0, 5).negotiate::<ApiVersionsRequest>(&addr).unwrap(),
            2
        );
        assert_eq!(
            server(0, 1).negotiate::<ApiVersionsRequest>(&addr).unwrap(),
            1
        );
    }

    #[test]
    fn no_overlap_names_both_ranges() {
        let addr: Arc<str> = "x".into();
        let err = server(3, 9)
            .negotiate::<ApiVersionsRequest>(&addr)
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("v3..=v9") && text.contains("v0..=v2"),
            "{text}"
        );
    }

    #[test]
    fn unadvertised_api_uses_our_highest() {
        let addr: Arc<str> = "x".into();
        assert_eq!(
            ServerVersions::default()
                .negotiate::<ApiVersionsRequest>(&addr)
                .unwrap(),
            2
        );
    }
}
