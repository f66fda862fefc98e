//! Long-running clients through the embedded cluster's faults: SPU outages longer than any
//! retry count, the SC going away and coming back, leaders moving to another SPU, commits
//! refused by a peer, and producers flushed or stopped in the middle of it all. Nothing
//! acknowledged or flushed may be lost, and nothing may give up while its delivery timeout
//! runs.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use actix_fluvio::admin::TopicConfig;
use actix_fluvio::cluster::{ClientConfig, FluvioClient};
use actix_fluvio::consumer::{ConsumerOptions, Offset};
use actix_fluvio::producer::{DeliveryGuarantee, ProducerError, ProducerOptions};
use actix_fluvio::protocol::Server;
use actix_fluvio::testkit::{TestCluster, TestClusterConfig};
use common::embedded::cluster_with_topics;
use common::within;

/// A one-SPU cluster with a one-partition topic "t".
async fn cluster_with_topic() -> (TestCluster, FluvioClient) {
    cluster_with_topics(1, &[("t", 1)]).await
}

/// The values of partition 0 of `topic` up to its end, with their offsets.
async fn stored(client: &FluvioClient, topic: &str) -> BTreeMap<i64, String> {
    let options = ConsumerOptions::builder().disable_continuous(true).build();
    let mut stream = client.partition_consumer(topic, 0, options).await.unwrap();
    let mut out = BTreeMap::new();
    while let Some(record) = stream.next().await {
        let record = record.unwrap();
        out.insert(
            record.offset,
            String::from_utf8(record.value.to_vec()).unwrap(),
        );
    }
    out
}

fn values(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("v{i}")).collect()
}

/// A new producer's first batch waits for its partition's leader to come online, outside
/// the accumulator and outside the requests in flight: `flush` still returns only once the
/// records are stored.
#[tokio::test]
async fn flush_waits_for_records_waiting_for_their_leader() {
    within(60, "the test", async {
        let (cluster, client) = cluster_with_topic().await;
        client
            .producer(ProducerOptions::default())
            .send("t", None, b"first")
            .await
            .unwrap();
        cluster.stop_spu(5001).await.unwrap();
        let producer = client.producer(ProducerOptions::default());
        for v in values(0..200) {
            producer.enqueue("t", None, v.as_bytes()).await.unwrap();
        }
        let restart = async {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            cluster.restart_spu(5001).await.unwrap();
        };
        let (flushed, ()) = tokio::join!(producer.flush(), restart);
        flushed.expect("flush after the SPU came back");
        let got = stored(&client, "t").await;
        assert_eq!(got.len(), 201, "every flushed record is stored");
        let want: Vec<String> = std::iter::once("first".to_string())
            .chain(values(0..200))
            .collect();
        assert_eq!(got.into_values().collect::<Vec<_>>(), want);
    })
    .await;
}

/// An SPU down for 10 s, ten times the client's request timeout and far past the old four
/// retries: the default delivery timeout (120 s) keeps every record alive until it comes
/// back.
#[tokio::test]
async fn a_producer_outlasts_an_spu_outage_within_its_delivery_timeout() {
    within(90, "the test", async {
        let cluster = TestCluster::start(TestClusterConfig::default())
            .await
            .unwrap();
        let mut config = ClientConfig::new(cluster.sc_addr());
        config.connection.request_timeout = Duration::from_secs(1);
        let client = FluvioClient::connect(config).await.unwrap();
        client
            .admin()
            .create_topic("t", TopicConfig::new(1))
            .await
            .unwrap();
        let producer = client.producer(ProducerOptions::default());
        producer.send("t", None, b"warm-up").await.unwrap();
        cluster.stop_spu(5001).await.unwrap();
        let started = Instant::now();
        let send = producer.send_batch("t", values(0..500).into_iter().map(|v| (None::<&[u8]>, v)));
        let restart = async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            cluster.restart_spu(5001).await.unwrap();
        };
        let (receipts, ()) = tokio::join!(send, restart);
        let receipts = receipts.expect("delivered after a 10 s outage");
        assert!(started.elapsed() >= Duration::from_secs(10));
        let offsets: Vec<i64> = receipts.iter().map(|r| r.offset).collect();
        assert_eq!(offsets, (1..501).collect::<Vec<_>>());
        assert_eq!(stored(&client, "t").await.len(), 501);
    })
    .await;
}

/// Past the delivery timeout a record fails with its typed error, and a producer stopped
/// at its drain deadline fails every unsettled record (waiting for a retry included):
/// nothing hangs.
#[tokio::test]
async fn delivery_timeouts_and_drain_deadlines_settle_every_record() {
    within(60, "the test", async {
        let (cluster, client) = cluster_with_topic().await;
        let mut options = ProducerOptions::default();
        if let DeliveryGuarantee::AtLeastOnce(policy) = &mut options.delivery {
            policy.timeout = Duration::from_secs(2);
        }
        let producer = client.producer(options);
        producer.send("t", None, b"warm-up").await.unwrap();
        cluster.stop_spu(5001).await.unwrap();
        let started = Instant::now();
        let error = producer.send("t", None, b"late").await.unwrap_err();
        assert!(
            matches!(error, ProducerError::DeliveryTimeout { .. }),
            "{error:?}"
        );
        assert!(
            started.elapsed() >= Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );

        let producer = client.producer(
            ProducerOptions::builder()
                .drain_deadline(Duration::from_millis(500))
                .build(),
        );
        let mut futures = Vec::new();
        for v in values(0..50) {
            futures.push(producer.enqueue("t", None, v.as_bytes()).await.unwrap());
        }
        // Let the batch fail once, so it waits for a retry outside the accumulator.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let closed = within(5, "close", producer.close()).await;
        assert!(
            matches!(closed, Err(ProducerError::DrainDeadline(_))),
            "{closed:?}"
        );
        for future in futures {
            let outcome = within(5, "a record's outcome", future.wait()).await;
            assert!(
                matches!(outcome, Err(ProducerError::DrainDeadline(_))),
                "{outcome:?}"
            );
        }
    })
    .await;
}

/// A continuous consumer through a 30 s SPU outage (the old default gave up after ten
/// attempts, 26 s): it resumes where it was, no gap, no duplicate.
#[tokio::test]
async fn a_consumer_outlasts_a_long_spu_outage() {
    within(120, "the test", async {
        let (cluster, client) = cluster_with_topic().await;
        let producer = client.producer(ProducerOptions::default());
        producer
            .send_batch("t", values(0..10).into_iter().map(|v| (None::<&[u8]>, v)))
            .await
            .unwrap();
        let mut stream = client
            .partition_consumer("t", 0, ConsumerOptions::default())
            .await
            .unwrap();
        for i in 0..10 {
            assert_eq!(stream.next().await.unwrap().unwrap().offset, i);
        }
        cluster.stop_spu(5001).await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
        cluster.restart_spu(5001).await.unwrap();
        producer
            .send_batch("t", values(10..20).into_iter().map(|v| (None::<&[u8]>, v)))
            .await
            .unwrap();
        for i in 10..20 {
            let record = within(30, "a record after the outage", stream.next())
                .await
                .expect("the stream goes on")
                .expect("no error after the outage");
            assert_eq!(record.offset, i);
        }
    })
    .await;
}

/// A producer's first record for a topic, sent while the SC is away, waits for the SC to
/// come back (within its delivery timeout) instead of failing at once: reading the topic's
/// metadata (its compression is asked of the SC) is retried, not given up.
#[tokio::test]
async fn a_first_record_for_a_topic_waits_out_a_short_sc_outage() {
    within(60, "the test", async {
        let (cluster, client) = cluster_with_topics(1, &[("t", 1)]).await;
        cluster.stop_sc().await;
        let producer = client.producer(ProducerOptions::default());
        let restart = async {
            tokio::time::sleep(Duration::from_secs(2)).await;
            cluster.restart_sc().await.unwrap();
        };
        let (sent, ()) = tokio::join!(producer.send("t", None, b"first"), restart);
        sent.expect("delivered once the SC was back");
        assert_eq!(client.partition_offsets("t", 0).await.unwrap(), (0, 1));
    })
    .await;
}

/// The same first record with a delivery timeout shorter than the outage fails at its
/// deadline: not at once, and not later because a metadata read it waited on (which may wait
/// the client's 60 s metadata timeout) outlasted it. With the SC gone (connections refused)
/// and with the SC paused (its connection open, nothing answered).
#[tokio::test]
async fn a_first_record_for_a_topic_fails_at_its_deadline_during_a_long_sc_outage() {
    for paused in [false, true] {
        within(60, "the test", async {
            let (cluster, client) = cluster_with_topic().await;
            if paused {
                cluster.stall_connections(Server::Sc);
            } else {
                cluster.stop_sc().await;
            }
            let timeout = Duration::from_secs(3);
            let mut options = ProducerOptions::default();
            if let DeliveryGuarantee::AtLeastOnce(policy) = &mut options.delivery {
                policy.timeout = timeout;
            }
            let producer = client.producer(options);
            let started = Instant::now();
            let error = producer
                .send("t", None, b"first")
                .await
                .expect_err("the SC never answered within its delivery timeout");
            let took = started.elapsed();
            assert!(
                took >= timeout - Duration::from_millis(100)
                    && took < timeout + Duration::from_secs(1),
                "SC paused {paused}: failed after {took:?}, its delivery timeout being {timeout:?}: {error}"
            );
            assert!(
                matches!(error, ProducerError::DeliveryTimeout { .. }),
                "SC paused {paused}: {error}"
            );
            if !paused {
                cluster.restart_sc().await.unwrap();
            }
            assert!(stored(&client, "t").await.is_empty());
        })
        .await;
    }
}

/// A first record waiting on a paused SC (its connection open, nothing answered) when that
/// connection is reset (a load balancer, NAT): the read is asked again on a new connection,
/// which the SC answers, and the record is stored at once rather than at its deadline.
#[tokio::test]
async fn a_first_record_waiting_on_a_paused_sc_goes_on_after_a_reset() {
    within(60, "the test", async {
        let (cluster, client) = cluster_with_topic().await;
        cluster.stall_connections(Server::Sc);
        let producer = client.producer(ProducerOptions::default());
        let started = Instant::now();
        let reset = async {
            tokio::time::sleep(Duration::from_secs(2)).await;
            cluster.drop_connections();
        };
        let (sent, ()) = tokio::join!(producer.send("t", None, b"first"), reset);
        sent.expect("stored once a new connection reached the SC");
        let took = started.elapsed();
        assert!(
            took >= Duration::from_secs(2) && took < Duration::from_secs(10),
            "stored {took:?} after it was sent, the reset at 2 s (it waits for the SC until then)"
        );
        assert_eq!(stored(&client, "t").await.len(), 1);
    })
    .await;
}

/// While the SC is down, records for known partitions still flow; lookups and admin calls
/// that need the SC fail at once with a retriable error instead of hanging; once it is back,
/// a topic created afterwards works.
#[tokio::test]
async fn an_sc_outage_fails_fast_and_is_forgotten_once_the_sc_is_back() {
    within(90, "the test", async {
        let (cluster, client) = cluster_with_topics(1, &[]).await;
        client
            .admin()
            .create_topic("known", TopicConfig::new(1))
            .await
            .unwrap();
        let producer = client.producer(ProducerOptions::default());
        producer.send("known", None, b"before").await.unwrap();
        cluster.stop_sc().await;
        tokio::time::sleep(Duration::from_millis(500)).await;

        producer
            .send("known", None, b"during")
            .await
            .expect("known partitions keep working");
        let started = Instant::now();
        let lookup = within(
            5,
            "a lookup while the SC is down",
            client.partition_count("unknown"),
        )
        .await;
        let error = lookup.expect_err("no SC to ask");
        assert!(error.is_retriable(), "{error:?}");
        let listed = within(
            5,
            "an admin call while the SC is down",
            client.admin().list_topics(),
        )
        .await;
        assert!(listed.is_err(), "{listed:?}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "failed fast: {:?}",
            started.elapsed()
        );

        tokio::time::sleep(Duration::from_secs(3)).await;
        cluster.restart_sc().await.unwrap();
        let created = common::create_when_ready(&client, "after", TopicConfig::new(1));
        within(20, "creating a topic after the SC came back", created).await;
        within(20, "producing to it", producer.send("after", None, b"new"))
            .await
            .unwrap();
        assert_eq!(stored(&client, "after").await.len(), 1);
        assert_eq!(stored(&client, "known").await.len(), 2);
    })
    .await;
}

/// A connection reset (a load balancer, NAT) while the SC is away: the SPU still leads,
/// and the producer and a continuous consumer go back to it at once from the cached
/// metadata instead of waiting for the SC to confirm it.
#[tokio::test]
async fn a_connection_reset_while_the_sc_is_away_stalls_nothing() {
    within(90, "the test", async {
        let (cluster, client) = cluster_with_topic().await;
        let producer = client.producer(ProducerOptions::default());
        producer.send("t", None, b"v0").await.unwrap();
        let mut stream = client
            .partition_consumer("t", 0, ConsumerOptions::default())
            .await
            .unwrap();
        assert_eq!(stream.next().await.unwrap().unwrap().offset, 0);
        cluster.stop_sc().await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        for round in 1..=3 {
            cluster.drop_connections();
            let started = Instant::now();
            let value = format!("v{round}");
            let sent = within(
                5,
                "a send after the reset",
                producer.send("t", None, value.as_bytes()),
            )
            .await
            .expect("delivered to the cached leader");
            assert_eq!(sent.offset, round);
            let read = within(5, "a read after the reset", stream.next())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(read.offset, round, "no gap, no duplicate");
            assert!(
                started.elapsed() < Duration::from_secs(3),
                "round {round} took {:?} with the SC away",
                started.elapsed()
            );
        }
        cluster.restart_sc().await.unwrap();
    })
    .await;
}

/// The SC moves a partition's leader to the other SPU while the SC itself is away, so no
/// watch says so for seconds: the old leader answers NotLeader, the cached leader is stale,
/// and only a fresh answer from the SC, once back, tells where to go. The producer and a
/// continuous consumer with commits follow without losing or repeating a record.
#[tokio::test]
async fn producer_and_consumer_follow_a_leader_moved_during_an_sc_outage() {
    within(90, "the test", async {
        let (cluster, client) = cluster_with_topics(2, &[]).await;
        client
            .admin()
            .create_topic("moving", TopicConfig::assigned([(0, vec![5001, 5002])]))
            .await
            .unwrap();
        let producer = client.producer(ProducerOptions::default());
        producer
            .send_batch(
                "moving",
                values(0..100).into_iter().map(|v| (None::<&[u8]>, v)),
            )
            .await
            .unwrap();
        let options = ConsumerOptions::builder()
            .consumer_id("follower")
            .offset(Offset::Beginning)
            .build();
        let mut stream = client
            .partition_consumer("moving", 0, options)
            .await
            .unwrap();
        for i in 0..100 {
            assert_eq!(stream.next().await.unwrap().unwrap().offset, i);
        }
        cluster.stop_sc().await;
        cluster.move_leader("moving", 0, 5002).unwrap();
        let send = producer.send_batch(
            "moving",
            values(100..200).into_iter().map(|v| (None::<&[u8]>, v)),
        );
        let restart = async {
            tokio::time::sleep(Duration::from_secs(4)).await;
            cluster.restart_sc().await.unwrap();
        };
        let (receipts, ()) = tokio::join!(send, restart);
        let receipts = receipts.expect("delivered to the new leader");
        assert_eq!(receipts.last().unwrap().offset, 199);
        for i in 100..200 {
            let record = within(30, "a record from the new leader", stream.next())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(record.offset, i, "no gap, no duplicate");
        }
        within(30, "a commit on the new leader", async {
            loop {
                match stream.commit(199).await {
                    Ok(()) => break,
                    Err(e) if e.is_retriable() => {
                        tokio::time::sleep(Duration::from_millis(100)).await
                    }
                    Err(e) => panic!("commit: {e}"),
                }
            }
        })
        .await;
        let stored = client.admin().list_consumer_offsets().await.unwrap();
        assert!(stored
            .iter()
            .any(|o| o.consumer_id == "follower" && o.offset == 199));
    })
    .await;
}

/// Two batches of one partition queued while its SPU is down: the first fails at its delivery
/// timeout, and the second must still be sent (it timed out too, here) rather than wait
/// behind the first for ever; once the SPU is back, the partition takes records again.
/// (After a failed leader lookup nothing sent the partition's next batch: the partition
/// stalled for good.)
#[actix_rt::test]
async fn a_batch_behind_one_that_timed_out_is_not_stranded() {
    let cluster = common::embedded::cluster(2).await;
    let client = common::embedded::client(&cluster).await;
    let spu = cluster.spu_ids()[1];
    let placed = TopicConfig::assigned([(0, vec![spu])]);
    client.admin().create_topic("t", placed).await.unwrap();
    let producer = client.producer(
        ProducerOptions::builder()
            .delivery(DeliveryGuarantee::AtLeastOnce(
                actix_fluvio::producer::RetryPolicy {
                    timeout: Duration::from_secs(3),
                    ..Default::default()
                },
            ))
            .build(),
    );
    producer
        .send("t", None, b"before".as_slice())
        .await
        .unwrap();
    cluster.stop_spu(spu).await.unwrap();
    let first = producer.enqueue("t", None, b"a".as_slice()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = producer.enqueue("t", None, b"b".as_slice()).await.unwrap();
    let timed_out =
        |r: Result<_, ProducerError>| matches!(r, Err(ProducerError::DeliveryTimeout { .. }));
    assert!(timed_out(within(10, "the first batch", first.wait()).await));
    assert!(timed_out(
        within(10, "the second batch", second.wait()).await
    ));
    cluster.restart_spu(spu).await.unwrap();
    within(30, "a send once the SPU is back", async {
        loop {
            match producer.send("t", None, b"after".as_slice()).await {
                Ok(_) => break,
                Err(ProducerError::DeliveryTimeout { .. }) => continue,
                Err(other) => panic!("{other}"),
            }
        }
    })
    .await;
    let values: Vec<String> = stored(&client, "t").await.into_values().collect();
    assert_eq!(values.first().map(String::as_str), Some("before"));
    assert_eq!(values.last().map(String::as_str), Some("after"));
}
