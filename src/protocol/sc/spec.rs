//! The traits that tie an object type to its envelope label, status, and the keys used to
//! delete and update it.

use std::fmt::Debug;

use crate::protocol::{Decode, Encode};

/// An object type the SC stores: its envelope label and its status type.
pub trait ObjectSpec: Encode + Decode + Clone + Debug + Default + PartialEq {
    /// The exact type label in the envelope (`"Topic"`, `"SPU"`, ...).
    const LABEL: &'static str;
    /// The status the SC reports next to the spec.
    type Status: Encode + Decode + Clone + Debug + Default + PartialEq;
}

/// An object type a client can create.
pub trait CreatableSpec: ObjectSpec {}

/// An object type a client can delete, and the key that names it.
pub trait DeletableSpec: ObjectSpec {
    /// How a delete request names the object.
    type DeleteKey: Encode + Decode + Clone + Debug + Default + PartialEq;
}

/// An object type a client can update, with the key that names it and the change to apply.
pub trait UpdatableSpec: ObjectSpec {
    /// How an update request names the object.
    type UpdateKey: Encode + Decode + Clone + Debug + Default + PartialEq;
    /// The change to apply.
    type UpdateAction: Encode + Decode + Clone + Debug + Default + PartialEq;
}
