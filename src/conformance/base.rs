//! Headers, ApiVersions and ErrorCode against `fluvio-protocol`.

use proptest::prelude::*;

use super::{conform, round_trip};
use crate::protocol::*;

use fluvio_protocol::api::RequestHeader as TheirRequestHeader;
use fluvio_protocol::link::versions::{
    ApiVersionsRequest as TheirApiVersionsRequest, ApiVersionsResponse as TheirApiVersionsResponse,
};
use fluvio_protocol::link::ErrorCode as TheirErrorCode;

fn error_code() -> impl Strategy<Value = ErrorCode> {
    prop_oneof![any::<ErrorCode>(), ".*".prop_map(ErrorCode::Other),]
}

proptest! {
    #[test]
    fn request_header_conforms(h in any::<RequestHeader>()) {
        conform::<_, TheirRequestHeader>(&h, 0);
    }

    #[test]
    fn api_versions_request_conforms(r in any::<ApiVersionsRequest>(), v in 0i16..=2) {
        conform::<_, TheirApiVersionsRequest>(&r, v);
    }

    #[test]
    fn api_versions_response_conforms(mut r in any::<ApiVersionsResponse>(), v in 0i16..=2) {
        r.platform_version = "0.18.2-dev-1".into();
        conform::<_, TheirApiVersionsResponse>(&r, v);
    }

    #[test]
    fn error_code_conforms(e in error_code(), v in 0i16..=25) {
        conform::<_, TheirErrorCode>(&e, v);
        round_trip(&e, v);
    }
}
