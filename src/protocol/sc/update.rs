//! Update (key 1006): change an existing object (for topics: add partitions or a mirror);
//! answered by a [`Status`].

use bytes::{Buf, BufMut};

use super::envelope::ObjectBody;
use super::metadata::Status;
use super::spec::UpdatableSpec;
use super::{MAX_OBJECT_VERSION, MIN_OBJECT_VERSION, UPDATE_KEY};
use crate::protocol::{Decode, DecodeError, Encode, EncodeError, Request, Version};

/// Apply `action` to the object of type `S` named by `key`. On the wire: the envelope
/// labelled `S::LABEL` around `key` then `action`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpdateRequest<S: UpdatableSpec> {
    /// Which object.
    pub key: S::UpdateKey,
    /// What to change.
    pub action: S::UpdateAction,
}

impl<S: UpdatableSpec> UpdateRequest<S> {
    /// Apply `action` to the object named by `key`.
    pub fn new(key: impl Into<S::UpdateKey>, action: S::UpdateAction) -> Self {
        Self {
            key: key.into(),
            action,
        }
    }
}

impl<S: UpdatableSpec> ObjectBody for UpdateRequest<S> {
    const LABEL: &'static str = S::LABEL;

    fn encode_body<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError> {
        self.key.encode(buf, version)?;
        self.action.encode(buf, version)
    }

    fn body_len(&self, version: Version) -> usize {
        self.key.encoded_len(version) + self.action.encoded_len(version)
    }

    fn decode_body<B: Buf>(buf: &mut B, version: Version) -> Result<Self, DecodeError> {
        Ok(Self {
            key: S::UpdateKey::decode(buf, version)?,
            action: S::UpdateAction::decode(buf, version)?,
        })
    }
}

enveloped!(UpdateRequest<S: UpdatableSpec>);

impl<S: UpdatableSpec> Request for UpdateRequest<S> {
    const API_KEY: u16 = UPDATE_KEY;
    const API_NAME: &'static str = "update";
    const MIN_API_VERSION: Version = MIN_OBJECT_VERSION;
    const MAX_API_VERSION: Version = MAX_OBJECT_VERSION;
    type Response = Status;

    fn response_error_code(response: &Status) -> Option<&crate::protocol::ErrorCode> {
        Some(&response.error_code)
    }
}
