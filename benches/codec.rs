//! Encode and decode a 1,000-record batch of 100-byte values: ours and the official
//! `fluvio-protocol`, side by side in the same run.
//!
//! `cargo bench --bench codec` prints both; compare the pairs (`ours/…` vs `official/…`).

use std::hint::black_box;
use std::io::Cursor;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_main, BatchSize, Criterion, Throughput};

use actix_fluvio::protocol::record::{Batch, BatchBuilder, Compression, RecordIter, RecordRef};
use actix_fluvio::protocol::{Decode, Encode};

use fluvio_protocol::record::{Batch as TheirBatch, Record as TheirRecord};
use fluvio_protocol::{Decoder as _, Encoder as _};

const RECORDS: usize = 1_000;
const VALUE_LEN: usize = 100;

fn values() -> Vec<Vec<u8>> {
    (0..RECORDS)
        .map(|i| {
            let mut v = format!("record-{i:06}-").into_bytes();
            v.resize(VALUE_LEN, b'x');
            v
        })
        .collect()
}

fn ours_encode(values: &[Vec<u8>]) -> BytesMut {
    let mut builder = BatchBuilder::with_capacity(-1, RECORDS * (VALUE_LEN + 8));
    for v in values {
        builder.push(None, v, -1);
    }
    let batch = builder.build(Compression::None).expect("build");
    batch.to_bytes(0).expect("encode")
}

fn theirs_encode(values: &[Vec<u8>]) -> Vec<u8> {
    // One `add_records` call: `add_record` per record renumbers the whole batch each time.
    let mut records: Vec<TheirRecord> =
        values.iter().map(|v| TheirRecord::new(v.clone())).collect();
    let mut batch = TheirBatch::default();
    batch.add_records(&mut records);
    let mut out = Vec::with_capacity(batch.write_size(0));
    batch.encode(&mut out, 0).expect("encode");
    out
}

/// Panic unless both decoders read every record of `wire` back as `values`.
fn assert_round_trip(wire: &Bytes, values: &[Vec<u8>]) {
    let batch = Batch::decode(&mut wire.clone(), 0).expect("decode");
    let ours: Vec<Bytes> = batch
        .records()
        .expect("records")
        .into_iter()
        .map(|r| r.value)
        .collect();
    assert!(
        ours.iter()
            .map(|v| &v[..])
            .eq(values.iter().map(|v| &v[..])),
        "ours decodes every record"
    );
    let mut theirs: TheirBatch = TheirBatch::default();
    theirs
        .decode(&mut Cursor::new(&wire[..]), 0)
        .expect("decode");
    assert!(
        theirs
            .records()
            .iter()
            .map(|r| r.value().as_ref())
            .eq(values.iter().map(|v| &v[..])),
        "the official decoder reads every record"
    );
}

fn codec(c: &mut Criterion) {
    let values = values();
    let wire: Bytes = ours_encode(&values).freeze();
    assert!(
        wire[..] == theirs_encode(&values)[..],
        "both sides must produce the same bytes"
    );
    assert_round_trip(&wire, &values);

    let mut group = c.benchmark_group("batch_1000x100B");
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.bench_function("ours/encode", |b| {
        b.iter(|| black_box(ours_encode(&values)))
    });
    group.bench_function("official/encode", |b| {
        b.iter(|| black_box(theirs_encode(&values)))
    });
    group.bench_function("ours/decode", |b| {
        b.iter_batched(
            || wire.clone(),
            |mut bytes| {
                let batch = Batch::decode(&mut bytes, 0).expect("decode");
                let raw = batch.raw_records().expect("payload");
                let records: Vec<RecordRef<'_>> = RecordIter::new(&raw)
                    .expect("records")
                    .collect::<Result<_, _>>()
                    .expect("records");
                black_box(records.len())
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("official/decode", |b| {
        b.iter(|| {
            let mut batch: TheirBatch = TheirBatch::default();
            batch
                .decode(&mut Cursor::new(&wire[..]), 0)
                .expect("decode");
            black_box(batch)
        })
    });
    group.bench_function("ours/decode_owned", |b| {
        b.iter_batched(
            || wire.clone(),
            |mut bytes| {
                let batch = Batch::decode(&mut bytes, 0).expect("decode");
                black_box(batch.records().expect("records"))
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

/// The benchmark groups.
mod group {
    #![allow(missing_docs)]
    criterion::criterion_group!(benches, super::codec);
}

criterion_main!(group::benches);
