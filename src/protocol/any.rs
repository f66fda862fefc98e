//! Decode any frame of either server by its API key: the request side (what a server reads)
//! and the response side (what a client reads).

use bytes::{Buf, BufMut};

use super::sc::{ScRequest, ScResponse};
use super::spu::{SpuRequest, SpuResponse};
use super::{
    ApiVersionsRequest, ApiVersionsResponse, Decode, DecodeError, Encode, EncodeError,
    RequestHeader, RequestMessage, ResponseMessage, Version, API_VERSIONS_KEY,
};

/// Which server a frame belongs to: SC and SPU reuse API keys for different messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Server {
    /// The streaming controller (admin and metadata).
    Sc,
    /// A streaming processing unit (data).
    Spu,
}

/// Any request body of either server.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum AnyRequest {
    /// ApiVersions, served by both.
    ApiVersions(ApiVersionsRequest),
    /// An SC object API request.
    Sc(ScRequest),
    /// An SPU request.
    Spu(SpuRequest),
}

/// Any response body of either server.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum AnyResponse {
    /// ApiVersions.
    ApiVersions(ApiVersionsResponse),
    /// An SC object API response.
    Sc(ScResponse),
    /// An SPU response.
    Spu(SpuResponse),
}

impl AnyRequest {
    /// Decode a body that `server` received under `api_key` at `version`.
    ///
    /// # Errors
    /// An API key that server does not serve, or a malformed body.
    pub fn decode_body<B: Buf>(
        server: Server,
        api_key: u16,
        buf: &mut B,
        version: Version,
    ) -> Result<Self, DecodeError> {
        Ok(match (api_key, server) {
            (API_VERSIONS_KEY, _) => Self::ApiVersions(ApiVersionsRequest::decode(buf, version)?),
            (_, Server::Sc) => Self::Sc(ScRequest::decode_body(api_key, buf, version)?),
            (_, Server::Spu) => Self::Spu(SpuRequest::decode_body(api_key, buf, version)?),
        })
    }

    /// Decode a whole request frame (header, then body at the header's version).
    ///
    /// # Errors
    /// As [`AnyRequest::decode_body`].
    pub fn decode_frame<B: Buf>(
        server: Server,
        buf: &mut B,
    ) -> Result<RequestMessage<Self>, DecodeError> {
        let header = RequestHeader::decode(buf, 0)?;
        let request = Self::decode_body(server, header.api_key, buf, header.api_version)?;
        Ok(RequestMessage { header, request })
    }
}

impl AnyResponse {
    /// Decode the body of `server`'s response to a request sent under `api_key` at `version`.
    ///
    /// # Errors
    /// An API key that server does not serve, or a malformed body.
    pub fn decode_body<B: Buf>(
        server: Server,
        api_key: u16,
        buf: &mut B,
        version: Version,
    ) -> Result<Self, DecodeError> {
        Ok(match (api_key, server) {
            (API_VERSIONS_KEY, _) => Self::ApiVersions(ApiVersionsResponse::decode(buf, version)?),
            (_, Server::Sc) => Self::Sc(ScResponse::decode_body(api_key, buf, version)?),
            (_, Server::Spu) => Self::Spu(SpuResponse::decode_body(api_key, buf, version)?),
        })
    }

    /// Decode a whole response frame (correlation id, then the body).
    ///
    /// # Errors
    /// As [`AnyResponse::decode_body`].
    pub fn decode_frame<B: Buf>(
        server: Server,
        api_key: u16,
        version: Version,
        buf: &mut B,
    ) -> Result<ResponseMessage<Self>, DecodeError> {
        let correlation_id = i32::decode(buf, version)?;
        let response = Self::decode_body(server, api_key, buf, version)?;
        Ok(ResponseMessage {
            correlation_id,
            response,
        })
    }
}

macro_rules! delegate_encode {
    ($ty:ident) => {
        impl Encode for $ty {
            fn encode<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError> {
                match self {
                    Self::ApiVersions(m) => m.encode(buf, version),
                    Self::Sc(m) => m.encode(buf, version),
                    Self::Spu(m) => m.encode(buf, version),
                }
            }

            fn encoded_len(&self, version: Version) -> usize {
                match self {
                    Self::ApiVersions(m) => m.encoded_len(version),
                    Self::Sc(m) => m.encoded_len(version),
                    Self::Spu(m) => m.encoded_len(version),
                }
            }
        }
    };
}

delegate_encode!(AnyRequest);
delegate_encode!(AnyResponse);
