//! Record sets and batches from arbitrary bytes: decoding must return an error, never panic,
//! and whatever decodes must re-encode and decode to the same value.
#![no_main]

use actix_fluvio::protocol::record::{Batch, RecordIter, RecordSet};
use actix_fluvio::protocol::{Decode, Encode};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = Bytes::copy_from_slice(data);
    if let Ok(set) = RecordSet::decode(&mut input, 0) {
        let again = set.to_bytes(0).expect("a decoded set re-encodes");
        let back = RecordSet::decode(&mut again.freeze(), 0).expect("and decodes");
        assert_eq!(back.batches, set.batches);
        for batch in &set.batches {
            if let Ok(raw) = batch.raw_records() {
                if let Ok(iter) = RecordIter::new(&raw) {
                    for record in iter {
                        if record.is_err() {
                            break;
                        }
                    }
                }
            }
            let _ = batch.records();
        }
    }
    let _ = Batch::decode(&mut &data[..], 0);
    if let Ok(iter) = RecordIter::new(data) {
        iter.take_while(Result::is_ok).for_each(drop);
    }
});
