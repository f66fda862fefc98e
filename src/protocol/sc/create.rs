//! Create (key 1001): create a topic, custom SPU or SmartModule; answered by a [`Status`].

use bytes::{Buf, BufMut};

use super::envelope::ObjectBody;
use super::metadata::Status;
use super::spec::CreatableSpec;
use super::{CREATE_KEY, MAX_OBJECT_VERSION, MIN_OBJECT_VERSION};
use crate::protocol::{Decode, DecodeError, Encode, EncodeError, Request, Version};

wire_struct! {
    /// The part of every create request that does not depend on the object type.
    pub struct CommonCreateRequest {
        /// The new object's name.
        pub name: String,
        /// Validate only; create nothing.
        pub dry_run: bool,
        /// How long the SC may wait for the object to be ready, in milliseconds (v7+).
        pub timeout: Option<u32> => 7..,
    }
}

/// Create an object of type `S`. On the wire: the envelope labelled `S::LABEL` around
/// `common` then `spec`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CreateRequest<S> {
    /// Name, dry run and timeout.
    pub common: CommonCreateRequest,
    /// The object to create.
    pub spec: S,
}

impl<S> CreateRequest<S> {
    /// Create `spec` under `name` (not a dry run, the server's default timeout).
    pub fn new(name: impl Into<String>, spec: S) -> Self {
        Self {
            common: CommonCreateRequest {
                name: name.into(),
                ..CommonCreateRequest::default()
            },
            spec,
        }
    }
}

impl<S: CreatableSpec> ObjectBody for CreateRequest<S> {
    const LABEL: &'static str = S::LABEL;

    fn encode_body<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError> {
        self.common.encode(buf, version)?;
        self.spec.encode(buf, version)
    }

    fn body_len(&self, version: Version) -> usize {
        self.common.encoded_len(version) + self.spec.encoded_len(version)
    }

    fn decode_body<B: Buf>(buf: &mut B, version: Version) -> Result<Self, DecodeError> {
        Ok(Self {
            common: CommonCreateRequest::decode(buf, version)?,
            spec: S::decode(buf, version)?,
        })
    }
}

enveloped!(CreateRequest<S: CreatableSpec>);

impl<S: CreatableSpec> Request for CreateRequest<S> {
    const API_KEY: u16 = CREATE_KEY;
    const API_NAME: &'static str = "create";
    const MIN_API_VERSION: Version = MIN_OBJECT_VERSION;
    const MAX_API_VERSION: Version = MAX_OBJECT_VERSION;
    type Response = Status;

    fn response_error_code(response: &Status) -> Option<&crate::protocol::ErrorCode> {
        Some(&response.error_code)
    }
}
