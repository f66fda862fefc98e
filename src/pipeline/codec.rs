//! Codecs for typed workers: how a record's key and value bytes become the types a worker
//! takes, and its outputs' types become bytes. JSON, UTF-8 text and raw bytes are built in;
//! implement [`Decode`] and [`Encode`] for others (bincode, Avro, Protobuf, ...).
//!
//! ```
//! use actix_fluvio::pipeline::{CodecError, Decode, Encode};
//! use bytes::Bytes;
//!
//! /// Little-endian u64 values.
//! struct U64Le;
//!
//! impl Decode<u64> for U64Le {
//!     fn decode(&self, bytes: &Bytes) -> Result<u64, CodecError> {
//!         let array: [u8; 8] = bytes[..].try_into().map_err(|_| CodecError::new("not 8 bytes"))?;
//!         Ok(u64::from_le_bytes(array))
//!     }
//! }
//!
//! impl Encode<u64> for U64Le {
//!     fn encode(&self, value: &u64) -> Result<Bytes, CodecError> {
//!         Ok(Bytes::copy_from_slice(&value.to_le_bytes()))
//!     }
//! }
//!
//! assert_eq!(U64Le.decode(&U64Le.encode(&7).unwrap()).unwrap(), 7);
//! assert!(U64Le.decode(&Bytes::from_static(b"short")).is_err());
//! ```

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Bytes that are not what a codec expects, or a value it cannot write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CodecError(pub String);

impl CodecError {
    /// An error saying `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// Turns a record's key or value bytes into a `T`.
pub trait Decode<T>: Send + Sync + 'static {
    /// `bytes` as a `T`.
    ///
    /// # Errors
    /// The bytes are not a `T`.
    fn decode(&self, bytes: &Bytes) -> Result<T, CodecError>;
}

/// Turns a `T` into an output's key or value bytes.
pub trait Encode<T>: Send + Sync + 'static {
    /// `value` as bytes.
    ///
    /// # Errors
    /// The value cannot be written.
    fn encode(&self, value: &T) -> Result<Bytes, CodecError>;
}

/// JSON, through serde.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json;

impl<T: DeserializeOwned> Decode<T> for Json {
    fn decode(&self, bytes: &Bytes) -> Result<T, CodecError> {
        serde_json::from_slice(bytes).map_err(|e| CodecError(format!("JSON: {e}")))
    }
}

impl<T: Serialize> Encode<T> for Json {
    fn encode(&self, value: &T) -> Result<Bytes, CodecError> {
        serde_json::to_vec(value)
            .map(Bytes::from)
            .map_err(|e| CodecError(format!("JSON: {e}")))
    }
}

/// UTF-8 text, as a `String`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Utf8;

impl Decode<String> for Utf8 {
    fn decode(&self, bytes: &Bytes) -> Result<String, CodecError> {
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|e| CodecError(format!("UTF-8: {e}")))
    }
}

impl Encode<String> for Utf8 {
    fn encode(&self, value: &String) -> Result<Bytes, CodecError> {
        Ok(Bytes::copy_from_slice(value.as_bytes()))
    }
}

/// The bytes as they are (no copy).
#[derive(Debug, Clone, Copy, Default)]
pub struct Raw;

impl Decode<Bytes> for Raw {
    fn decode(&self, bytes: &Bytes) -> Result<Bytes, CodecError> {
        Ok(bytes.clone())
    }
}

impl Encode<Bytes> for Raw {
    fn encode(&self, value: &Bytes) -> Result<Bytes, CodecError> {
        Ok(value.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Order {
        id: u64,
        amount: f64,
    }

    #[test]
    fn json_round_trips_and_names_what_is_wrong() {
        let order = Order { id: 7, amount: 9.5 };
        let bytes = Json.encode(&order).unwrap();
        assert_eq!(Decode::<Order>::decode(&Json, &bytes).unwrap(), order);
        let error = Decode::<Order>::decode(&Json, &Bytes::from_static(b"{\"id\":")).unwrap_err();
        assert!(error.0.starts_with("JSON: EOF"), "{error}");
        let error = Decode::<Order>::decode(&Json, &Bytes::from_static(b"{\"id\":1}")).unwrap_err();
        assert!(error.0.contains("missing field `amount`"), "{error}");
    }

    #[test]
    fn text_and_raw_bytes() {
        assert_eq!(Utf8.decode(&Bytes::from_static(b"k1")).unwrap(), "k1");
        assert!(Utf8.decode(&Bytes::from_static(b"\xff")).is_err());
        assert_eq!(Utf8.encode(&"k1".to_owned()).unwrap(), "k1");
        let raw = Bytes::from_static(b"\x00\xff");
        assert_eq!(Raw.decode(&raw).unwrap(), raw);
        assert_eq!(Raw.encode(&raw).unwrap(), raw);
    }
}
