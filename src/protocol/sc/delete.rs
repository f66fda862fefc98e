//! Delete (key 1002): delete a topic, custom SPU or SmartModule; answered by a [`Status`].

use bytes::{Buf, BufMut};

use super::envelope::ObjectBody;
use super::metadata::Status;
use super::spec::DeletableSpec;
use super::{DELETE_KEY, MAX_OBJECT_VERSION, MIN_OBJECT_VERSION};
use crate::protocol::{Decode, DecodeError, Encode, EncodeError, Request, Version};

/// Delete the object of type `S` named by `key`. On the wire: the envelope labelled
/// `S::LABEL` around `key` and, from v13, `force`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeleteRequest<S: DeletableSpec> {
    /// Which object.
    pub key: S::DeleteKey,
    /// Delete even a system object (v13+).
    pub force: bool,
}

impl<S: DeletableSpec> DeleteRequest<S> {
    /// Delete the object named by `key`, without force.
    pub fn new(key: impl Into<S::DeleteKey>) -> Self {
        Self {
            key: key.into(),
            force: false,
        }
    }
}

const FORCE_SINCE: Version = 13;

impl<S: DeletableSpec> ObjectBody for DeleteRequest<S> {
    const LABEL: &'static str = S::LABEL;

    fn encode_body<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError> {
        self.key.encode(buf, version)?;
        if version >= FORCE_SINCE {
            self.force.encode(buf, version)?;
        }
        Ok(())
    }

    fn body_len(&self, version: Version) -> usize {
        self.key.encoded_len(version) + usize::from(version >= FORCE_SINCE)
    }

    fn decode_body<B: Buf>(buf: &mut B, version: Version) -> Result<Self, DecodeError> {
        let key = S::DeleteKey::decode(buf, version)?;
        let force = if version >= FORCE_SINCE {
            bool::decode(buf, version)?
        } else {
            false
        };
        Ok(Self { key, force })
    }
}

enveloped!(DeleteRequest<S: DeletableSpec>);

impl<S: DeletableSpec> Request for DeleteRequest<S> {
    const API_KEY: u16 = DELETE_KEY;
    const API_NAME: &'static str = "delete";
    const MIN_API_VERSION: Version = MIN_OBJECT_VERSION;
    const MAX_API_VERSION: Version = MAX_OBJECT_VERSION;
    type Response = Status;

    fn response_error_code(response: &Status) -> Option<&crate::protocol::ErrorCode> {
        Some(&response.error_code)
    }
}
