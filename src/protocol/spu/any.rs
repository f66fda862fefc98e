//! Untyped SPU messages: decode any SPU request or response by API key (for servers, captures
//! and fuzzing).

use bytes::{Buf, BufMut};

use super::*;
use crate::protocol::{Decode, DecodeError, Encode, EncodeError, Version};

macro_rules! any_message {
    ($(#[$meta:meta])* $name:ident { $($variant:ident($ty:ty) = $key:path,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        #[allow(clippy::large_enum_variant)]
        pub enum $name {
            $(
                #[doc = concat!("`", stringify!($ty), "`")]
                $variant($ty),
            )*
        }

        impl $name {
            /// The API key of this message.
            pub fn api_key(&self) -> u16 {
                match self {
                    $(Self::$variant(_) => $key,)*
                }
            }

            /// Decode a body sent under `api_key` at `version`.
            ///
            /// # Errors
            /// An API key the SPU does not serve, or a malformed body.
            pub fn decode_body<B: Buf>(
                api_key: u16,
                buf: &mut B,
                version: Version,
            ) -> Result<Self, DecodeError> {
                Ok(match api_key {
                    $($key => Self::$variant(Decode::decode(buf, version)?),)*
                    other => {
                        return Err(DecodeError::UnknownTag {
                            what: "SPU api key",
                            tag: i64::from(other),
                        })
                    }
                })
            }
        }

        impl Encode for $name {
            fn encode<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError> {
                match self {
                    $(Self::$variant(m) => m.encode(buf, version),)*
                }
            }

            fn encoded_len(&self, version: Version) -> usize {
                match self {
                    $(Self::$variant(m) => m.encoded_len(version),)*
                }
            }
        }
    };
}

any_message! {
    /// Any SPU public API request body.
    SpuRequest {
        Produce(ProduceRequest) = PRODUCE_KEY,
        Fetch(FetchRequest) = FETCH_KEY,
        FetchOffsets(FetchOffsetsRequest) = FETCH_OFFSETS_KEY,
        StreamFetch(StreamFetchRequest) = STREAM_FETCH_KEY,
        UpdateOffsets(UpdateOffsetsRequest) = UPDATE_OFFSETS_KEY,
        UpdateConsumerOffset(UpdateConsumerOffsetRequest) = UPDATE_CONSUMER_OFFSET_KEY,
        DeleteConsumerOffset(DeleteConsumerOffsetRequest) = DELETE_CONSUMER_OFFSET_KEY,
        FetchConsumerOffsets(FetchConsumerOffsetsRequest) = FETCH_CONSUMER_OFFSETS_KEY,
    }
}

any_message! {
    /// Any SPU public API response body.
    SpuResponse {
        Produce(ProduceResponse) = PRODUCE_KEY,
        Fetch(FetchResponse) = FETCH_KEY,
        FetchOffsets(FetchOffsetsResponse) = FETCH_OFFSETS_KEY,
        StreamFetch(StreamFetchResponse) = STREAM_FETCH_KEY,
        UpdateOffsets(UpdateOffsetsResponse) = UPDATE_OFFSETS_KEY,
        UpdateConsumerOffset(UpdateConsumerOffsetResponse) = UPDATE_CONSUMER_OFFSET_KEY,
        DeleteConsumerOffset(DeleteConsumerOffsetResponse) = DELETE_CONSUMER_OFFSET_KEY,
        FetchConsumerOffsets(FetchConsumerOffsetsResponse) = FETCH_CONSUMER_OFFSETS_KEY,
    }
}
