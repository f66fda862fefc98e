//! Buffers follow the data, not the configured maxima: a consumer allowed 32 MiB frames on an
//! empty topic, and a producer with 32 MiB batches holding one small record, each hold well
//! under 1 MiB of heap; a consumer of small records that does not read holds about
//! `buffer_records` of them, not whole frames of the configured fetch size.
//!
//! Measured with a counting global allocator, so the numbers are this process's heap, not RSS
//! noise. The embedded cluster shares the process, so each check is the heap's growth across
//! one step with everything else idle; the checks run in one test, one after the other (tests
//! of one binary run in parallel and would count each other's allocations).

mod common;

use std::alloc::System;
use std::time::Duration;

use actix_fluvio::consumer::{ConsumerOptions, StreamState};
use actix_fluvio::producer::ProducerOptions;
use cap::Cap;

use common::bounded;
use common::embedded::cluster_with_topics;

#[global_allocator]
static HEAP: Cap<System> = Cap::new(System, usize::MAX);

const MIB: usize = 1 << 20;

/// Heap bytes now allocated, after the process has had `settle` to finish what it started.
async fn heap_after(settle: Duration) -> usize {
    tokio::time::sleep(settle).await;
    HEAP.allocated()
}

#[tokio::test]
async fn buffers_are_not_allocated_at_their_configured_maximum_before_data_arrives() {
    let (_cluster, client) =
        cluster_with_topics(1, &[("empty", 1), ("trickle", 1), ("full", 1)]).await;
    bounded(async {
        let settle = Duration::from_millis(300);

        let before = heap_after(settle).await;
        let options = ConsumerOptions::builder()
            .max_bytes(32 * MIB as i32)
            .max_bytes_ceiling(32 * MIB as i32)
            .buffer_bytes(16 * MIB)
            .build();
        let stream = client
            .partition_consumer("empty", 0, options)
            .await
            .unwrap();
        while stream.status().state() != StreamState::Streaming {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let consumer = heap_after(settle).await.saturating_sub(before);
        assert!(
            consumer < MIB,
            "a consumer allowed 32 MiB frames on an empty topic holds {consumer} B"
        );

        let producer = client.producer(
            ProducerOptions::builder()
                .batch_size(32 * MIB)
                .max_request_size(64 * MIB)
                .linger(Duration::from_secs(30))
                .build(),
        );
        // The producer's first record looks the topic up: done before counting.
        let warm = producer.enqueue("trickle", None, b"warm").await.unwrap();
        producer.flush().await.unwrap();
        warm.await.unwrap();
        let before = heap_after(settle).await;
        let delivery = producer
            .enqueue("trickle", None, &[b'x'; 100])
            .await
            .unwrap();
        let open_batch = heap_after(settle).await.saturating_sub(before);
        assert!(
            open_batch < MIB,
            "a producer with 32 MiB batches holding one 100 B record holds {open_batch} B"
        );
        producer.flush().await.unwrap();
        delivery.await.unwrap();
        drop(stream);

        // 100,000 records of 100 B (11 MB on the wire) that nobody reads: the consumer
        // fetches ahead about `buffer_records` (2,500) of them, not whole 4 MiB frames of
        // 36,000 records, three at a time: 1.5 MB (a read-ahead of 10,000 held 2.9 MB).
        let records = 100_000;
        client
            .producer(ProducerOptions::default())
            .send_batch("full", (0..records).map(|_| (None::<&[u8]>, [b'x'; 100])))
            .await
            .unwrap();
        let before = heap_after(settle).await;
        let mut stream = client
            .partition_consumer("full", 0, ConsumerOptions::default())
            .await
            .unwrap();
        let first = stream.next().await.unwrap().unwrap();
        let ahead = heap_after(settle).await.saturating_sub(before);
        assert!(
            ahead < 2 * MIB,
            "a consumer that read one record of 100,000 holds {ahead} B ({} records buffered)",
            stream.buffered()
        );
        assert_eq!(first.offset, 0);
    })
    .await;
}
