//! ApiVersions (key 18): the handshake on every SC and SPU connection.

use super::{header::Request, ErrorCode};

/// API key of ApiVersions.
pub const API_VERSIONS_KEY: u16 = 18;

wire_struct! {
    /// Asks the server which API versions it speaks. The SC requires a semver
    /// `client_version` (v1+) and drops the connection otherwise.
    pub struct ApiVersionsRequest {
        /// The client's version, semver (v1+).
        pub client_version: String => 1..,
        /// The client's operating system (v1+).
        pub client_os: String => 1..,
        /// The client's CPU architecture (v1+).
        pub client_arch: String => 1..,
    }
}

impl Eq for ApiVersionsRequest {}

impl Request for ApiVersionsRequest {
    const API_KEY: u16 = API_VERSIONS_KEY;
    const API_NAME: &'static str = "api_versions";
    const MIN_API_VERSION: i16 = 0;
    const MAX_API_VERSION: i16 = 2;
    type Response = ApiVersionsResponse;

    fn response_error_code(response: &ApiVersionsResponse) -> Option<&ErrorCode> {
        Some(&response.error_code)
    }
}

wire_struct! {
    /// The range of versions the server speaks for one API key.
    pub struct ApiVersionKey {
        /// The API key.
        pub api_key: i16,
        /// The lowest version served.
        pub min_version: i16,
        /// The highest version served.
        pub max_version: i16,
    }
}

impl Eq for ApiVersionKey {}

wire_struct! {
    /// The server's versions and platform.
    pub struct ApiVersionsResponse {
        /// Non-`None` when the handshake failed.
        pub error_code: ErrorCode,
        /// One entry per API the server advertises.
        pub api_keys: Vec<ApiVersionKey>,
        /// The platform version (semver; an SPU reports `"0.0.0"`).
        pub platform_version: String,
    }
}

impl Eq for ApiVersionsResponse {}

impl ApiVersionsResponse {
    /// The advertised range for `api_key`, if any.
    pub fn range(&self, api_key: u16) -> Option<(i16, i16)> {
        self.api_keys
            .iter()
            .find(|k| k.api_key as u16 == api_key)
            .map(|k| (k.min_version, k.max_version))
    }
}
