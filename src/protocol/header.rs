//! Request and response headers, and the [`Request`] trait tying a request to its API key,
//! versions and response type.

use bytes::{Buf, BufMut};

use super::{Decode, DecodeError, Encode, EncodeError, Version};

/// A request body: its API key, the versions this crate speaks, and its response type.
pub trait Request: Encode + Decode {
    /// The API key in the request header.
    const API_KEY: u16;
    /// The API's name as a metric label (`produce`, `stream_fetch`, `list`, ...): snake case,
    /// unique among the APIs of one server kind.
    const API_NAME: &'static str;
    /// The lowest version this crate can encode.
    const MIN_API_VERSION: Version;
    /// The highest version this crate can encode (the one it prefers).
    const MAX_API_VERSION: Version;
    /// The response type, decoded at the request's version.
    type Response: Encode + Decode;

    /// The server's error code in `response`, for APIs whose answer carries one at the top
    /// (or, for produce, the first failed partition's); recorded on the request's span.
    fn response_error_code(response: &Self::Response) -> Option<&super::ErrorCode> {
        let _ = response;
        None
    }
}

wire_struct! {
    /// The header in front of every request body.
    pub struct RequestHeader {
        /// Which API the body belongs to.
        pub api_key: u16,
        /// The version the body is encoded at (and the response must be decoded at).
        pub api_version: i16,
        /// Matches the response to its request on one connection.
        pub correlation_id: i32,
        /// Free-form client name (the official client sends `"fluvio"`).
        pub client_id: String,
    }
}

impl Eq for RequestHeader {}

wire_struct! {
    /// The header in front of every response body: only the correlation id.
    pub struct ResponseHeader {
        /// The correlation id of the request this answers.
        pub correlation_id: i32,
    }
}

impl Eq for ResponseHeader {}

/// A request header and body, as one frame carries them (without the size prefix).
#[derive(Debug, Clone, PartialEq)]
pub struct RequestMessage<R> {
    /// The header; its `api_version` sets how the body is encoded.
    pub header: RequestHeader,
    /// The body.
    pub request: R,
}

impl<R: Request> RequestMessage<R> {
    /// A message for `request` at `version` with correlation id `correlation_id`.
    pub fn new(request: R, version: Version, correlation_id: i32, client_id: &str) -> Self {
        Self {
            header: RequestHeader {
                api_key: R::API_KEY,
                api_version: version,
                correlation_id,
                client_id: client_id.to_owned(),
            },
            request,
        }
    }
}

impl<R: Encode> Encode for RequestMessage<R> {
    fn encode<B: BufMut>(&self, buf: &mut B, _: Version) -> Result<(), EncodeError> {
        let version = self.header.api_version;
        self.header.encode(buf, version)?;
        self.request.encode(buf, version)
    }
    fn encoded_len(&self, _: Version) -> usize {
        let version = self.header.api_version;
        self.header.encoded_len(version) + self.request.encoded_len(version)
    }
}

impl<R: Decode> Decode for RequestMessage<R> {
    /// Decodes the header, then the body at the header's version (`version` is ignored).
    fn decode<B: Buf>(buf: &mut B, version: Version) -> Result<Self, DecodeError> {
        let header = RequestHeader::decode(buf, version)?;
        let request = R::decode(buf, header.api_version)?;
        Ok(Self { header, request })
    }
}

/// A response header and body.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseMessage<R> {
    /// The correlation id of the request this answers.
    pub correlation_id: i32,
    /// The body.
    pub response: R,
}

impl<R: Encode> Encode for ResponseMessage<R> {
    fn encode<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError> {
        buf.put_i32(self.correlation_id);
        self.response.encode(buf, version)
    }
    fn encoded_len(&self, version: Version) -> usize {
        4 + self.response.encoded_len(version)
    }
}

impl<R: Decode> Decode for ResponseMessage<R> {
    /// Decodes the body at `version`, which must be the request's version.
    fn decode<B: Buf>(buf: &mut B, version: Version) -> Result<Self, DecodeError> {
        let correlation_id = i32::decode(buf, version)?;
        let response = R::decode(buf, version)?;
        Ok(Self {
            correlation_id,
            response,
        })
    }
}
