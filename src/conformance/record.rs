//! Records, batches and record sets against `fluvio-protocol`, with every compression codec
//! in both directions.

use bytes::Bytes;
use proptest::prelude::*;

use super::{bytes, conform, round_trip};
use crate::protocol::record::{Batch, BatchBuilder, Compression, Record, RecordSet};
use crate::protocol::{Decode, Encode};

use fluvio_protocol::record::{
    Batch as TheirBatch, RawRecords, Record as TheirRecord, RecordSet as TheirRecordSet,
};
use fluvio_protocol::{Decoder as _, Encoder as _};

type TheirCompression = fluvio_compression::Compression;

fn their_codec(c: Compression) -> TheirCompression {
    match c {
        Compression::None => TheirCompression::None,
        Compression::Gzip => TheirCompression::Gzip,
        Compression::Snappy => TheirCompression::Snappy,
        Compression::Lz4 => TheirCompression::Lz4,
        Compression::Zstd => TheirCompression::Zstd,
    }
}

fn key_values() -> impl Strategy<Value = Vec<(Option<Bytes>, Bytes)>> {
    proptest::collection::vec((proptest::option::of(bytes()), bytes()), 0..20)
}

proptest! {
    #[test]
    fn record_conforms(r in any::<Record>()) {
        conform::<_, TheirRecord>(&r, 0);
    }

    #[test]
    fn raw_record_set_conforms(set in any::<RecordSet>(), v in 0i16..=25) {
        conform::<_, TheirRecordSet<RawRecords>>(&set, v);
        round_trip(&set, v);
    }

    #[test]
    fn our_compressed_batches_decode_with_theirs(
        kvs in key_values(),
        codec in any::<Compression>(),
        base in 0i64..1 << 40,
    ) {
        let mut builder = BatchBuilder::new(1_700_000_000_000);
        for (i, (k, v)) in kvs.iter().enumerate() {
            builder.push(k.as_deref(), v, 1_700_000_000_000 + i as i64);
        }
        let mut batch = builder.build(codec).unwrap();
        batch.base_offset = base;
        let bytes = batch.to_bytes(0).unwrap();

        let mut theirs = TheirBatch::<RawRecords>::default();
        theirs.decode(&mut std::io::Cursor::new(&bytes[..]), 0).unwrap();
        prop_assert_eq!(theirs.get_compression().unwrap(), their_codec(codec));
        prop_assert_eq!(theirs.get_base_offset(), base);
        let records = theirs.memory_records().unwrap();
        prop_assert_eq!(records.len(), kvs.len());
        for (i, (r, (k, v))) in records.iter().zip(&kvs).enumerate() {
            prop_assert_eq!(r.offset_delta(), i as i64);
            prop_assert_eq!(r.timestamp_delta(), i as i64);
            prop_assert_eq!(r.key().map(|k| k.as_ref().to_vec()), k.as_ref().map(|k| k.to_vec()));
            prop_assert_eq!(r.value().as_ref(), &v[..]);
        }
    }

    #[test]
    fn their_compressed_batches_decode_with_ours(kvs in key_values(), codec in any::<Compression>()) {
        let mut theirs = TheirBatch::default();
        for (k, v) in &kvs {
            let record = match k {
                Some(k) => TheirRecord::new_key_value(k.to_vec(), v.to_vec()),
                None => TheirRecord::new(v.to_vec()),
            };
            theirs.add_record(record);
        }
        theirs.get_mut_header().set_compression(their_codec(codec));
        let raw: TheirBatch<RawRecords> = theirs.try_into().unwrap();
        let mut bytes = Vec::new();
        raw.encode(&mut bytes, 0).unwrap();

        let ours = Batch::decode(&mut Bytes::from(bytes), 0).unwrap();
        prop_assert_eq!(ours.compression().unwrap(), codec);
        prop_assert_eq!(ours.records_len(), kvs.len());
        let records = ours.records().unwrap();
        prop_assert_eq!(records.len(), kvs.len());
        for (i, (r, (k, v))) in records.iter().zip(&kvs).enumerate() {
            prop_assert_eq!(r.offset_delta, i as i64);
            prop_assert_eq!(&r.key, k);
            prop_assert_eq!(&r.value, v);
        }
    }

    #[test]
    fn batch_from_records_matches_builder(kvs in key_values(), codec in any::<Compression>()) {
        let mut builder = BatchBuilder::new(5);
        let records: Vec<Record> = kvs
            .iter()
            .enumerate()
            .map(|(i, (k, v))| {
                builder.push(k.as_deref(), v, 5);
                Record { offset_delta: i as i64, key: k.clone(), value: v.clone(), ..Record::default() }
            })
            .collect();
        let built = builder.build(Compression::None).unwrap();
        let from = Batch::from_records(&records, 5, Compression::None).unwrap();
        prop_assert_eq!(&built, &from);
        let packed = Batch::from_records(&records, 5, codec).unwrap();
        prop_assert_eq!(packed.records().unwrap(), records);
    }
}

#[test]
fn corrupted_batch_is_a_crc_error() {
    let mut builder = BatchBuilder::new(0);
    builder.push(None, b"hello", 0);
    let batch = builder.build(Compression::None).unwrap();
    let mut bytes = batch.to_bytes(0).unwrap().to_vec();
    let last = bytes.len() - 2;
    bytes[last] ^= 0xff;
    let err = Batch::decode(&mut &bytes[..], 0).unwrap_err();
    assert!(
        matches!(err, crate::protocol::DecodeError::CrcMismatch { .. }),
        "{err}"
    );
}

#[test]
fn truncated_trailing_batch_is_skipped_and_counted() {
    let mut builder = BatchBuilder::new(0);
    builder.push(None, b"hello", 0);
    let batch = builder.build(Compression::None).unwrap();
    let one = batch.to_bytes(0).unwrap();
    let mut body = one.to_vec();
    body.extend_from_slice(&one[..20]);
    let mut wire = (body.len() as i32).to_be_bytes().to_vec();
    wire.extend_from_slice(&body);
    let set = RecordSet::decode(&mut &wire[..], 0).unwrap();
    assert_eq!(set.batches, vec![batch]);
    assert_eq!(set.truncated_bytes, 20);
}
