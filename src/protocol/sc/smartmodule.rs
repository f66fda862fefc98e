//! SmartModules: [`SmartModuleSpec`] (package metadata, parameters, gzip-compressed wasm) and
//! its empty [`SmartModuleStatus`].
//!
//! Upstream encodes the spec by hand: below v10 it used an older layout, which this crate
//! does not speak (the object APIs start at v11 here); from v10 on it is `meta`, `summary`,
//! `wasm` in that order, which is what [`SmartModuleSpec`] writes at every version.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::spec::{CreatableSpec, DeletableSpec, ObjectSpec, UpdatableSpec};

wire_struct! {
    /// A SmartModule: optional package metadata, an optional summary (sent by the SC instead
    /// of the wasm when a list or watch asks for summaries) and the wasm itself.
    pub struct SmartModuleSpec {
        /// Package and parameters.
        pub meta: Option<SmartModuleMetadata>,
        /// Size of the wasm, when the SC sends a summary.
        pub summary: Option<SmartModuleWasmSummary>,
        /// The module.
        pub wasm: SmartModuleWasm,
    }
}

impl ObjectSpec for SmartModuleSpec {
    const LABEL: &'static str = "SmartModule";
    type Status = SmartModuleStatus;
}

impl CreatableSpec for SmartModuleSpec {}

impl DeletableSpec for SmartModuleSpec {
    type DeleteKey = String;
}

impl UpdatableSpec for SmartModuleSpec {
    type UpdateKey = String;
    type UpdateAction = String;
}

wire_struct! {
    /// Package metadata and declared parameters.
    pub struct SmartModuleMetadata {
        /// The package.
        pub package: SmartModulePackage,
        /// Declared parameters by name.
        pub params: BTreeMap<String, SmartModuleParam>,
    }
}

wire_struct! {
    /// A SmartModule package. `version` and `api_version` are semver strings: the official
    /// decoder rejects anything else, and re-encodes them in semver's canonical form.
    pub struct SmartModulePackage {
        /// Package name.
        pub name: String,
        /// Package group.
        pub group: String,
        /// Package version (semver).
        #[cfg_attr(test, proptest(strategy = "semver()"))]
        pub version: String,
        /// SmartModule API version (semver).
        #[cfg_attr(test, proptest(strategy = "semver()"))]
        pub api_version: String,
        /// Description.
        pub description: Option<String>,
        /// License.
        pub license: Option<String>,
        /// Hub visibility (v19+).
        pub visibility: SmartModuleVisibility => 19..,
        /// Source repository.
        pub repository: Option<String>,
    }
}

wire_enum! {
    /// Hub visibility of a package.
    pub enum SmartModuleVisibility: u8 {
        /// Private.
        #[default]
        Private = 0,
        /// Public.
        Public = 1,
    }
}

wire_struct! {
    /// A declared parameter.
    pub struct SmartModuleParam {
        /// What it does.
        pub description: Option<String>,
        /// Whether it may be left out.
        pub optional: bool,
    }
}

wire_struct! {
    /// The size of a SmartModule's wasm (sent instead of the wasm in summaries).
    pub struct SmartModuleWasmSummary {
        /// Length of the compressed payload in bytes.
        pub wasm_length: u32,
    }
}

wire_struct! {
    /// The module's code.
    pub struct SmartModuleWasm {
        /// Binary or text.
        pub format: SmartModuleWasmFormat,
        /// The **gzip-compressed** wasm.
        #[cfg_attr(test, proptest(strategy = "crate::conformance::bytes()"))]
        pub payload: Bytes,
    }
}

wire_enum! {
    /// Format of the wasm payload.
    pub enum SmartModuleWasmFormat: u8 {
        /// Binary wasm.
        #[default]
        Binary = 0,
        /// Text wasm.
        Text = 1,
    }
}

wire_struct! {
    /// A SmartModule's status: empty on the wire.
    pub struct SmartModuleStatus {}
}

/// Canonical semver strings (`major.minor.patch` with an optional pre-release).
#[cfg(test)]
fn semver() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    (
        0u32..1000,
        0u32..1000,
        0u32..1000,
        proptest::option::of("[a-z]{1,6}"),
    )
        .prop_map(|(a, b, c, pre)| match pre {
            Some(pre) => format!("{a}.{b}.{c}-{pre}"),
            None => format!("{a}.{b}.{c}"),
        })
}
