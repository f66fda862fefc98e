//! A record set: an `i32` byte count followed by whole batches.

use bytes::{Buf, BufMut};

use super::batch::Batch;
use crate::protocol::{need, Decode, DecodeError, Encode, EncodeError, Version};

/// The batches of one partition in a produce request or a fetch response.
///
/// A stream fetch cuts its data at `max_bytes` without regard for batch boundaries, so a
/// trailing partial batch is not an error: it is skipped and its size is kept in
/// [`RecordSet::truncated_bytes`] (a consumer that sees it with no whole batch must fetch with
/// a larger `max_bytes`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordSet {
    /// The whole batches, in offset order.
    pub batches: Vec<Batch>,
    /// Bytes of a trailing partial batch that were skipped while decoding (never encoded).
    pub truncated_bytes: usize,
}

impl RecordSet {
    /// A set of `batches`.
    pub fn new(batches: Vec<Batch>) -> Self {
        Self {
            batches,
            truncated_bytes: 0,
        }
    }

    /// Total number of records the batch headers announce.
    pub fn records_len(&self) -> usize {
        self.batches.iter().map(Batch::records_len).sum()
    }

    fn body_len(&self) -> usize {
        self.batches.iter().map(|b| b.encoded_len(0)).sum()
    }
}

impl Encode for RecordSet {
    fn encode<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError> {
        let len = self.body_len();
        if len > i32::MAX as usize {
            return Err(EncodeError::TooLong {
                what: "record set",
                len,
                max: i32::MAX as usize,
            });
        }
        buf.put_i32(len as i32);
        for batch in &self.batches {
            batch.encode(buf, version)?;
        }
        Ok(())
    }

    fn encoded_len(&self, _: Version) -> usize {
        4 + self.body_len()
    }
}

impl Decode for RecordSet {
    fn decode<B: Buf>(buf: &mut B, version: Version) -> Result<Self, DecodeError> {
        need(buf, 4, "record set length")?;
        let len = buf.get_i32();
        if len < 0 {
            return Err(DecodeError::InvalidLength {
                what: "record set",
                length: i64::from(len),
            });
        }
        need(buf, len as usize, "record set")?;
        let mut body = buf.copy_to_bytes(len as usize);
        let mut batches = Vec::new();
        while body.has_remaining() {
            // A batch is whole only if its preamble and announced length fit.
            let whole = body.remaining() >= 12 && {
                let batch_len = i32::from_be_bytes([body[8], body[9], body[10], body[11]]);
                batch_len >= 0 && body.remaining() - 12 >= batch_len as usize
            };
            if !whole {
                break;
            }
            batches.push(Batch::decode(&mut body, version)?);
        }
        Ok(Self {
            batches,
            truncated_bytes: body.remaining(),
        })
    }
}

#[cfg(test)]
impl proptest::arbitrary::Arbitrary for RecordSet {
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        use proptest::prelude::*;
        proptest::collection::vec(any::<Batch>(), 0..4)
            .prop_map(RecordSet::new)
            .boxed()
    }
}
