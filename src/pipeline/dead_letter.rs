//! The dead-letter envelope: a record a pipeline gave up on, with where it came from and why
//! it failed, as the JSON value of a record on the dead-letter topic. Fluvio records carry
//! no headers, so everything travels in the value; the dead-letter record's key is the
//! source record's key.

use base64::Engine as _;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::failure::Failure;
use crate::consumer::ConsumerRecord;

/// A dead-lettered record: the value of a record on a dead-letter topic, as JSON.
///
/// ```json
/// {
///   "version": 1,
///   "consumer": "billing",
///   "topic": "orders",
///   "partition": 1,
///   "offset": 4242,
///   "timestamp": 1764806400000,
///   "key": {"utf8": "customer-7"},
///   "value": {"base64": "AAEC/w=="},
///   "error": {"kind": "decode", "message": "expected value at line 1 column 1"},
///   "attempts": 1,
///   "failed_at": 1764806400123
/// }
/// ```
///
/// `key` is `null` when the record had none; a key or value that is valid UTF-8 is stored as
/// `{"utf8": text}`, any other as `{"base64": standard base64}`. `timestamp` is the source
/// record's (ms since the epoch, -1 when its producer set none); `failed_at` is when the
/// pipeline gave up (ms since the epoch); `attempts` counts the attempts that failed;
/// `error.kind` is a [`FailureKind`](super::FailureKind) name. Readers should ignore fields
/// they do not know: later versions may add some.
///
/// ```
/// use actix_fluvio::pipeline::DeadLetter;
///
/// let json = br#"{"version":1,"consumer":"c","topic":"t","partition":0,"offset":5,
///     "timestamp":-1,"key":null,"value":{"utf8":"{oops"},
///     "error":{"kind":"decode","message":"EOF"},"attempts":1,"failed_at":0}"#;
/// let letter = DeadLetter::from_json(json).unwrap();
/// assert_eq!(letter.value_bytes().unwrap(), "{oops".as_bytes());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The envelope's format version (1).
    pub version: u32,
    /// The pipeline's consumer id (or group name).
    pub consumer: String,
    /// The source topic.
    pub topic: String,
    /// The source partition.
    pub partition: u32,
    /// The record's offset in the source partition.
    pub offset: i64,
    /// The record's timestamp (ms since the epoch; -1: none).
    pub timestamp: i64,
    /// The record's key.
    pub key: Option<Payload>,
    /// The record's value.
    pub value: Payload,
    /// Why it failed, the last time.
    pub error: ErrorInfo,
    /// Attempts that failed.
    pub attempts: u32,
    /// When the pipeline gave up on it (ms since the epoch).
    pub failed_at: i64,
}

/// A key or value: text when it is valid UTF-8, else base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Payload {
    /// The bytes, which are valid UTF-8.
    Utf8(String),
    /// The bytes in standard base64 (with padding).
    Base64(String),
}

/// Why a dead-lettered record failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfo {
    /// The [`FailureKind`](super::FailureKind) name: `worker`, `panic`, `timeout`, `sink`,
    /// `decode` or `encode`.
    pub kind: String,
    /// The error text.
    pub message: String,
}

/// An envelope that is not one (a record on a dead-letter topic that something else wrote).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a dead-letter envelope: {0}")]
pub struct EnvelopeError(pub String);

impl Payload {
    /// `bytes`, as text when they are valid UTF-8.
    pub fn new(bytes: &[u8]) -> Self {
        match std::str::from_utf8(bytes) {
            Ok(text) => Payload::Utf8(text.to_owned()),
            Err(_) => Payload::Base64(base64::engine::general_purpose::STANDARD.encode(bytes)),
        }
    }

    /// The bytes.
    ///
    /// # Errors
    /// Base64 that does not decode.
    pub fn bytes(&self) -> Result<Bytes, EnvelopeError> {
        match self {
            Payload::Utf8(text) => Ok(Bytes::copy_from_slice(text.as_bytes())),
            Payload::Base64(data) => base64::engine::general_purpose::STANDARD
                .decode(data)
                .map(Bytes::from)
                .map_err(|e| EnvelopeError(format!("bad base64: {e}"))),
        }
    }
}

impl DeadLetter {
    /// The envelope of `record`, given up on after `attempts` failed attempts, the last with
    /// `failure`, by the pipeline with consumer id `consumer`.
    pub fn new(consumer: &str, record: &ConsumerRecord, failure: &Failure, attempts: u32) -> Self {
        let failed_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Self {
            version: 1,
            consumer: consumer.to_owned(),
            topic: record.topic.to_string(),
            partition: record.partition,
            offset: record.offset,
            timestamp: record.timestamp,
            key: record.key.as_deref().map(Payload::new),
            value: Payload::new(&record.value),
            error: ErrorInfo {
                kind: failure.kind.as_str().to_owned(),
                message: failure.message.clone(),
            },
            attempts,
            failed_at,
        }
    }

    /// The envelope as JSON.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an envelope of strings and numbers serializes")
    }

    /// The envelope in `json`.
    ///
    /// # Errors
    /// `json` is not an envelope.
    pub fn from_json(json: &[u8]) -> Result<Self, EnvelopeError> {
        serde_json::from_slice(json).map_err(|e| EnvelopeError(e.to_string()))
    }

    /// The source record's key.
    ///
    /// # Errors
    /// Base64 that does not decode.
    pub fn key_bytes(&self) -> Result<Option<Bytes>, EnvelopeError> {
        self.key.as_ref().map(Payload::bytes).transpose()
    }

    /// The source record's value.
    ///
    /// # Errors
    /// Base64 that does not decode.
    pub fn value_bytes(&self) -> Result<Bytes, EnvelopeError> {
        self.value.bytes()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::pipeline::failure::FailureKind;

    fn record(key: Option<&[u8]>, value: &[u8]) -> ConsumerRecord {
        ConsumerRecord {
            topic: Arc::from("orders"),
            partition: 3,
            offset: 41,
            timestamp: 1_700_000_000_000,
            key: key.map(Bytes::copy_from_slice),
            value: Bytes::copy_from_slice(value),
        }
    }

    #[test]
    fn text_stays_text_and_binary_goes_base64_both_ways() {
        let failure = Failure::new(FailureKind::Worker, "no \"such\" customer");
        let letter = DeadLetter::new(
            "billing",
            &record(Some(b"k\xff"), b"{\"a\":1}"),
            &failure,
            4,
        );
        let json = letter.to_json();
        let parsed: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(parsed["value"]["utf8"], "{\"a\":1}");
        assert_eq!(parsed["key"]["base64"], "a/8=");
        assert_eq!(parsed["error"]["kind"], "worker");
        assert_eq!(parsed["error"]["message"], "no \"such\" customer");
        assert_eq!(
            (parsed["topic"].as_str(), parsed["partition"].as_u64()),
            (Some("orders"), Some(3))
        );
        assert_eq!(
            (parsed["offset"].as_i64(), parsed["attempts"].as_u64()),
            (Some(41), Some(4))
        );
        let back = DeadLetter::from_json(&json).unwrap();
        assert_eq!(back, letter);
        assert_eq!(back.key_bytes().unwrap().as_deref(), Some(&b"k\xff"[..]));
        assert_eq!(back.value_bytes().unwrap(), &b"{\"a\":1}"[..]);
        assert!(letter.failed_at > 1_700_000_000_000);
    }

    #[test]
    fn no_key_is_null_and_junk_is_refused() {
        let failure = Failure::new(FailureKind::Decode, "EOF");
        let letter = DeadLetter::new("c", &record(None, &[0, 1, 2]), &failure, 1);
        let parsed: serde_json::Value = serde_json::from_slice(&letter.to_json()).unwrap();
        assert!(parsed["key"].is_null());
        assert_eq!(letter.value_bytes().unwrap(), &[0u8, 1, 2][..]);
        assert!(DeadLetter::from_json(b"plain text").is_err());
        let bad = Payload::Base64("!!".into());
        assert!(bad.bytes().is_err());
    }
}
