//! `Isolation`: how far a write must be replicated before the SPU answers (produce) or which
//! records a consumer may read (fetch, stream fetch).

use bytes::{Buf, BufMut};

use crate::protocol::{Decode, DecodeError, Encode, EncodeError, Version};

wire_enum! {
    /// Read or write isolation, a `u8` on the wire (except in produce, see [`Acks`]).
    pub enum Isolation: u8 {
        /// Leader-only: a write is acknowledged once the leader has it; reads see everything
        /// the leader stored.
        #[default]
        ReadUncommitted = 0,
        /// Committed: a write is acknowledged once replicated up to the high watermark; reads
        /// stop at the high watermark.
        ReadCommitted = 1,
    }
}

/// A produce request's isolation, carried as Kafka's `i16 acks`: `1` for
/// [`Isolation::ReadUncommitted`], `-1` for [`Isolation::ReadCommitted`]. Any negative value
/// decodes as committed, anything else as uncommitted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Acks(pub Isolation);

impl Acks {
    /// The `acks` value written for `isolation`.
    pub fn value(self) -> i16 {
        match self.0 {
            Isolation::ReadUncommitted => 1,
            Isolation::ReadCommitted => -1,
        }
    }
}

impl Encode for Acks {
    fn encode<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError> {
        self.value().encode(buf, version)
    }
    fn encoded_len(&self, _: Version) -> usize {
        2
    }
}

impl Decode for Acks {
    fn decode<B: Buf>(buf: &mut B, version: Version) -> Result<Self, DecodeError> {
        let acks = i16::decode(buf, version)?;
        Ok(Acks(if acks < 0 {
            Isolation::ReadCommitted
        } else {
            Isolation::ReadUncommitted
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acks_maps_isolation_to_kafka_values() {
        assert_eq!(Acks(Isolation::ReadUncommitted).value(), 1);
        assert_eq!(Acks(Isolation::ReadCommitted).value(), -1);
    }

    #[test]
    fn any_negative_acks_decodes_as_committed() {
        for (raw, expected) in [
            (-5i16, Isolation::ReadCommitted),
            (0, Isolation::ReadUncommitted),
            (7, Isolation::ReadUncommitted),
        ] {
            let bytes = raw.to_be_bytes();
            let mut slice = &bytes[..];
            assert_eq!(Acks::decode(&mut slice, 0).unwrap(), Acks(expected));
        }
    }
}
