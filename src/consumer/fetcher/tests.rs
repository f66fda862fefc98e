//! Unit tests of `fetcher.rs`, on the embedded cluster.

use super::*;
use crate::cluster::ClientConfig;
use crate::protocol::record::{BatchBuilder, Compression, RecordSet};
use crate::protocol::spu::FetchablePartitionResponse;
use crate::protocol::spu::{SmartModuleInvocation, SmartModuleWasm};
use crate::protocol::{SmartModuleErrorKind, SmartModuleRuntimeError};
use crate::testkit::{TestCluster, TestClusterConfig};

/// A fetcher of "numbers"/0 with `options` on a client of `cluster`; the ends of its
/// records and of its control channel.
async fn fetcher(
    cluster: &TestCluster,
    options: ConsumerOptions,
) -> (
    Fetcher,
    mpsc::UnboundedReceiver<Delivery>,
    mpsc::UnboundedSender<Control>,
) {
    let client = FluvioClient::connect(ClientConfig::new(cluster.sc_addr()))
        .await
        .unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let (control_tx, control) = mpsc::unbounded_channel();
    let reader = ReaderLink {
        tx,
        control,
        read_ahead: Arc::new(ReadAhead::new(10, 1 << 20)),
        status: StreamStatus::default(),
    };
    let fetcher = Fetcher::new(client, "numbers", 0, options, reader);
    (fetcher, rx, control_tx)
}

#[tokio::test]
async fn smartmodule_runtime_error_comes_after_the_records_before_it() {
    let cluster = TestCluster::start(TestClusterConfig::default())
        .await
        .unwrap();
    let options = ConsumerOptions {
        smartmodules: vec![SmartModuleInvocation::aggregate(
            SmartModuleWasm::predefined("sum"),
            "10",
        )],
        ..ConsumerOptions::default()
    };
    let (mut fetcher, mut rx, _control) = fetcher(&cluster, options).await;
    let client = fetcher.client.clone();
    // An aggregate from "10" over "1", "2", "x": two sums, then the error on offset 2.
    let mut builder = BatchBuilder::new(1_700_000_000_000);
    builder.push(None, b"11", 1_700_000_000_000);
    builder.push(None, b"13", 1_700_000_000_000);
    let error = SmartModuleRuntimeError {
        hint: "invalid digit found in string".into(),
        offset: 2,
        kind: SmartModuleErrorKind::Aggregate,
        ..Default::default()
    };
    let p = FetchablePartitionResponse {
        error_code: ErrorCode::SmartModuleRuntimeError(Box::new(error)),
        next_filter_offset: 2,
        records: RecordSet::new(vec![builder.build(Compression::None).unwrap()]),
        ..Default::default()
    };

    let outcome = fetcher.frame(p, client.sc(), 1).await;

    assert!(
        matches!(outcome, Err(ConsumerError::SmartModule { offset: 2, .. })),
        "{outcome:?}"
    );
    let delivered = rx.try_recv().expect("records before the error").unwrap();
    let got: Vec<_> = delivered
        .iter()
        .map(|r| (r.offset, r.value.clone()))
        .collect();
    assert_eq!(got, vec![(0, "11".into()), (1, "13".into())]);
    assert_eq!(fetcher.next, 2);
    let carried = &fetcher.options.smartmodules[0].kind;
    assert!(
        matches!(carried, SmartModuleKind::Aggregate { accumulator } if accumulator.as_ref() == b"13"),
        "the next stream continues from the last sum: {carried:?}"
    );
    cluster.shutdown().await;
}

#[tokio::test]
async fn hostile_numbers_in_a_frame_are_clear_errors() {
    let cluster = TestCluster::start(TestClusterConfig::default())
        .await
        .unwrap();
    let (mut fetcher, mut rx, _control) = fetcher(&cluster, ConsumerOptions::default()).await;
    let conn = fetcher.client.sc().clone();
    let batch = |base: i64, records: usize| {
        let mut builder = BatchBuilder::new(1_700_000_000_000);
        for _ in 0..records {
            builder.push(None, b"v", 1_700_000_000_000);
        }
        let mut batch = builder.build(Compression::None).unwrap();
        batch.base_offset = base;
        RecordSet::new(vec![batch])
    };

    // Records numbered past i64::MAX.
    fetcher.next = i64::MAX - 1;
    let p = FetchablePartitionResponse {
        records: batch(i64::MAX - 1, 3),
        ..Default::default()
    };
    let outcome = fetcher.frame(p, &conn, 1).await;
    assert!(
        matches!(
            outcome,
            Err(ConsumerError::Corrupt {
                cause: crate::protocol::DecodeError::Overflow { .. },
                ..
            })
        ),
        "{outcome:?}"
    );

    // An eviction that would send the stream back (or nowhere).
    fetcher.next = 100;
    for next_available in [100, 5, i64::MIN] {
        let p = FetchablePartitionResponse {
            error_code: ErrorCode::OffsetEvicted {
                offset: 100,
                next_available,
            },
            ..Default::default()
        };
        let outcome = fetcher.frame(p, &conn, 1).await;
        assert!(
            matches!(outcome, Err(ConsumerError::OffsetOutOfRange { offset, .. }) if offset == next_available),
            "{outcome:?}"
        );
    }
    assert_eq!(fetcher.next, 100);

    // A high watermark far below the position: the lag is 0, the records are delivered.
    fetcher.next = 1;
    let p = FetchablePartitionResponse {
        high_watermark: i64::MIN,
        records: batch(0, 3),
        ..Default::default()
    };
    assert!(fetcher.frame(p, &conn, 1).await.unwrap().is_none());
    assert_eq!(rx.try_recv().unwrap().unwrap().len(), 2);
    cluster.shutdown().await;
}

#[tokio::test]
async fn a_fetch_grown_for_a_large_batch_shrinks_back_once_it_is_in() {
    let cluster = TestCluster::start(TestClusterConfig::default())
        .await
        .unwrap();
    let options = ConsumerOptions {
        max_bytes: 4096,
        ..ConsumerOptions::default()
    };
    let (mut fetcher, mut rx, _control) = fetcher(&cluster, options).await;
    let conn = fetcher.client.sc().clone();
    let truncated = || FetchablePartitionResponse {
        records: RecordSet {
            truncated_bytes: 100,
            ..RecordSet::default()
        },
        ..Default::default()
    };
    let mut builder = BatchBuilder::new(1_700_000_000_000);
    builder.push(None, &[7u8; 10_000], 1_700_000_000_000);
    let large = RecordSet::new(vec![builder.build(Compression::None).unwrap()]);

    // Two frames with no whole batch: the fetch doubles twice, a new stream each time.
    for grown in [8192, 16384] {
        let flow = fetcher.frame(truncated(), &conn, 1).await.unwrap();
        assert!(matches!(flow, Some(Flow::Restart)), "{flow:?}");
        assert_eq!(fetcher.max_bytes, grown);
    }
    // The batch arrives: delivered, then a new stream at the configured size.
    let p = FetchablePartitionResponse {
        records: large,
        ..Default::default()
    };
    let flow = fetcher.frame(p, &conn, 1).await.unwrap();
    assert!(matches!(flow, Some(Flow::Restart)), "{flow:?}");
    assert_eq!((fetcher.max_bytes, fetcher.next), (4096, 1));
    assert_eq!(rx.try_recv().unwrap().unwrap()[0].value.len(), 10_000);
    // At the configured size, a frame keeps its stream.
    let mut builder = BatchBuilder::new(1_700_000_000_000);
    builder.push(None, b"small", 1_700_000_000_000);
    let mut batch = builder.build(Compression::None).unwrap();
    batch.base_offset = 1;
    let p = FetchablePartitionResponse {
        records: RecordSet::new(vec![batch]),
        ..Default::default()
    };
    assert!(fetcher.frame(p, &conn, 1).await.unwrap().is_none());
    assert_eq!((fetcher.max_bytes, fetcher.next), (4096, 2));
    cluster.shutdown().await;
}
