//! List (key 1003): fetch objects of one type once, optionally filtered by name.

use std::marker::PhantomData;

use bytes::{Buf, BufMut};

use super::envelope::ObjectBody;
use super::metadata::Metadata;
use super::spec::ObjectSpec;
use super::{LIST_KEY, MAX_OBJECT_VERSION, MIN_OBJECT_VERSION};
use crate::protocol::{Decode, DecodeError, Encode, EncodeError, Request, Version};

const SUMMARY_SINCE: Version = 10;
const SYSTEM_SINCE: Version = 13;

/// List the objects of type `S`. On the wire: the envelope labelled `S::LABEL` around
/// `name_filters` (a vector of `{name}`), `[v10+] summary`, `[v13+] system`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListRequest<S> {
    /// Only objects with one of these names (all objects if empty).
    pub name_filters: Vec<String>,
    /// Ask for summaries (SmartModules: without the wasm) (v10+).
    pub summary: bool,
    /// List system objects (v13+).
    pub system: bool,
    spec: PhantomData<fn() -> S>,
}

impl<S> ListRequest<S> {
    /// List the objects named in `name_filters` (all if empty).
    pub fn new(name_filters: Vec<String>) -> Self {
        Self {
            name_filters,
            summary: false,
            system: false,
            spec: PhantomData,
        }
    }

    /// Ask for summaries.
    pub fn with_summary(mut self, summary: bool) -> Self {
        self.summary = summary;
        self
    }

    /// List system objects.
    pub fn with_system(mut self, system: bool) -> Self {
        self.system = system;
        self
    }
}

impl<S: ObjectSpec> ObjectBody for ListRequest<S> {
    const LABEL: &'static str = S::LABEL;

    fn encode_body<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError> {
        self.name_filters.encode(buf, version)?;
        if version >= SUMMARY_SINCE {
            self.summary.encode(buf, version)?;
        }
        if version >= SYSTEM_SINCE {
            self.system.encode(buf, version)?;
        }
        Ok(())
    }

    fn body_len(&self, version: Version) -> usize {
        self.name_filters.encoded_len(version)
            + usize::from(version >= SUMMARY_SINCE)
            + usize::from(version >= SYSTEM_SINCE)
    }

    fn decode_body<B: Buf>(buf: &mut B, version: Version) -> Result<Self, DecodeError> {
        let name_filters = Vec::decode(buf, version)?;
        let summary = version >= SUMMARY_SINCE && bool::decode(buf, version)?;
        let system = version >= SYSTEM_SINCE && bool::decode(buf, version)?;
        Ok(Self::new(name_filters)
            .with_summary(summary)
            .with_system(system))
    }
}

enveloped!(ListRequest<S: ObjectSpec>);

impl<S: ObjectSpec> Request for ListRequest<S> {
    const API_KEY: u16 = LIST_KEY;
    const API_NAME: &'static str = "list";
    const MIN_API_VERSION: Version = MIN_OBJECT_VERSION;
    const MAX_API_VERSION: Version = MAX_OBJECT_VERSION;
    type Response = ListResponse<S>;
}

/// The objects a [`ListRequest`] matched, in the envelope labelled `S::LABEL`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListResponse<S: ObjectSpec> {
    /// The matching objects.
    pub objects: Vec<Metadata<S>>,
}

impl<S: ObjectSpec> ObjectBody for ListResponse<S> {
    const LABEL: &'static str = S::LABEL;

    fn encode_body<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError> {
        self.objects.encode(buf, version)
    }

    fn body_len(&self, version: Version) -> usize {
        self.objects.encoded_len(version)
    }

    fn decode_body<B: Buf>(buf: &mut B, version: Version) -> Result<Self, DecodeError> {
        Ok(Self {
            objects: Vec::decode(buf, version)?,
        })
    }
}

enveloped!(ListResponse<S: ObjectSpec>);
