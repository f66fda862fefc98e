//! Watch (key 1004): a stream of [`MetadataUpdate`] frames for one object type, all on the
//! request's correlation id: a snapshot first, then one frame per change.

use std::marker::PhantomData;

use bytes::{Buf, BufMut};

use super::envelope::ObjectBody;
use super::metadata::MetadataUpdate;
use super::spec::ObjectSpec;
use super::{MAX_OBJECT_VERSION, MIN_OBJECT_VERSION, WATCH_KEY};
use crate::protocol::{Decode, DecodeError, Encode, EncodeError, Request, Version};

const SUMMARY_SINCE: Version = 10;

/// Watch the objects of type `S`. On the wire: the envelope labelled `S::LABEL` around
/// `epoch i64` and `[v10+] summary`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WatchRequest<S> {
    /// Unused by the SC; the official client sends 0.
    pub epoch: i64,
    /// Ask for summaries (SmartModules: without the wasm) (v10+).
    pub summary: bool,
    spec: PhantomData<fn() -> S>,
}

impl<S> WatchRequest<S> {
    /// Watch every object, in full.
    pub fn new() -> Self {
        Self::with_summary(false)
    }

    /// Watch every object, as summaries if `summary`.
    pub fn with_summary(summary: bool) -> Self {
        Self {
            epoch: 0,
            summary,
            spec: PhantomData,
        }
    }
}

impl<S: ObjectSpec> ObjectBody for WatchRequest<S> {
    const LABEL: &'static str = S::LABEL;

    fn encode_body<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError> {
        self.epoch.encode(buf, version)?;
        if version >= SUMMARY_SINCE {
            self.summary.encode(buf, version)?;
        }
        Ok(())
    }

    fn body_len(&self, version: Version) -> usize {
        8 + usize::from(version >= SUMMARY_SINCE)
    }

    fn decode_body<B: Buf>(buf: &mut B, version: Version) -> Result<Self, DecodeError> {
        let epoch = i64::decode(buf, version)?;
        let summary = version >= SUMMARY_SINCE && bool::decode(buf, version)?;
        Ok(Self {
            epoch,
            ..Self::with_summary(summary)
        })
    }
}

enveloped!(WatchRequest<S: ObjectSpec>);

impl<S: ObjectSpec> Request for WatchRequest<S> {
    const API_KEY: u16 = WATCH_KEY;
    const API_NAME: &'static str = "watch";
    const MIN_API_VERSION: Version = MIN_OBJECT_VERSION;
    const MAX_API_VERSION: Version = MAX_OBJECT_VERSION;
    type Response = WatchResponse<S>;
}

/// One frame of a watch stream, in the envelope labelled `S::LABEL`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WatchResponse<S: ObjectSpec> {
    /// The snapshot or changes.
    pub update: MetadataUpdate<S>,
}

impl<S: ObjectSpec> ObjectBody for WatchResponse<S> {
    const LABEL: &'static str = S::LABEL;

    fn encode_body<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError> {
        self.update.encode(buf, version)
    }

    fn body_len(&self, version: Version) -> usize {
        self.update.encoded_len(version)
    }

    fn decode_body<B: Buf>(buf: &mut B, version: Version) -> Result<Self, DecodeError> {
        Ok(Self {
            update: MetadataUpdate::decode(buf, version)?,
        })
    }
}

enveloped!(WatchResponse<S: ObjectSpec>);
