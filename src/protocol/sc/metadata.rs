//! What the SC answers with: [`Status`] for create / delete / update, [`Metadata`] objects
//! for list and watch, and the [`MetadataUpdate`] a watch frame carries.

use bytes::{Buf, BufMut};

use super::spec::ObjectSpec;
use crate::protocol::{Decode, DecodeError, Encode, EncodeError, ErrorCode, Version};

wire_struct! {
    /// The outcome of a create, delete or update (sent without an envelope).
    pub struct Status {
        /// The object's name.
        pub name: String,
        /// `None` on success.
        pub error_code: ErrorCode,
        /// A human-readable explanation.
        pub error_message: Option<String>,
    }
}

impl Status {
    /// Whether the request succeeded.
    pub fn is_ok(&self) -> bool {
        self.error_code == ErrorCode::None
    }
}

/// One stored object: its name, spec and status.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata<S: ObjectSpec> {
    /// The object's key (for partitions `"<topic>-<n>"`).
    pub name: String,
    /// The desired state.
    pub spec: S,
    /// The observed state.
    pub status: S::Status,
}

impl<S: ObjectSpec> Encode for Metadata<S> {
    fn encode<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError> {
        self.name.encode(buf, version)?;
        self.spec.encode(buf, version)?;
        self.status.encode(buf, version)
    }

    fn encoded_len(&self, version: Version) -> usize {
        self.name.encoded_len(version)
            + self.spec.encoded_len(version)
            + self.status.encoded_len(version)
    }
}

impl<S: ObjectSpec> Decode for Metadata<S> {
    fn decode<B: Buf>(buf: &mut B, version: Version) -> Result<Self, DecodeError> {
        Ok(Self {
            name: String::decode(buf, version)?,
            spec: S::decode(buf, version)?,
            status: S::Status::decode(buf, version)?,
        })
    }
}

wire_enum! {
    /// Whether a change adds or replaces an object, or removes it.
    pub enum MsgType: u8 {
        /// Added or changed.
        #[default]
        Update = 0,
        /// Removed.
        Delete = 1,
    }
}

/// One change in a watch frame.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Message<T> {
    /// Update or delete.
    pub header: MsgType,
    /// The object as it is now (or was, when deleted).
    pub content: T,
}

impl<T: Encode> Encode for Message<T> {
    fn encode<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError> {
        self.header.encode(buf, version)?;
        self.content.encode(buf, version)
    }

    fn encoded_len(&self, version: Version) -> usize {
        self.header.encoded_len(version) + self.content.encoded_len(version)
    }
}

impl<T: Decode> Decode for Message<T> {
    fn decode<B: Buf>(buf: &mut B, version: Version) -> Result<Self, DecodeError> {
        Ok(Self {
            header: MsgType::decode(buf, version)?,
            content: T::decode(buf, version)?,
        })
    }
}

/// One watch frame's contents: a full snapshot in `all` (replace the cache), else the
/// `changes` to apply; both empty means nothing changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetadataUpdate<S: ObjectSpec> {
    /// The store's epoch.
    pub epoch: i64,
    /// Changes since the previous frame.
    pub changes: Vec<Message<Metadata<S>>>,
    /// Every object, when the frame is a snapshot.
    pub all: Vec<Metadata<S>>,
}

impl<S: ObjectSpec> Encode for MetadataUpdate<S> {
    fn encode<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError> {
        self.epoch.encode(buf, version)?;
        self.changes.encode(buf, version)?;
        self.all.encode(buf, version)
    }

    fn encoded_len(&self, version: Version) -> usize {
        self.epoch.encoded_len(version)
            + self.changes.encoded_len(version)
            + self.all.encoded_len(version)
    }
}

impl<S: ObjectSpec> Decode for MetadataUpdate<S> {
    fn decode<B: Buf>(buf: &mut B, version: Version) -> Result<Self, DecodeError> {
        Ok(Self {
            epoch: i64::decode(buf, version)?,
            changes: Vec::decode(buf, version)?,
            all: Vec::decode(buf, version)?,
        })
    }
}
