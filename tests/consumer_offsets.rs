//! Consumer offsets against the embedded test cluster: commits across reconnects, resuming
//! after a committed offset, topic consumers that auto-commit only what they handed out,
//! and consumer actors that commit once the user's actor handled a batch or by message.
//!
//! (Above 400 lines on purpose: one test per commit path (stream, topic consumer, consumer
//! actor), with the actors they need.)

mod common;

use std::collections::HashMap;
use std::time::Duration;

use actix_fluvio::admin::{AdminError, TopicConfig};
use actix_fluvio::cluster::FluvioClient;
use actix_fluvio::consumer::{ConsumerError, ConsumerOptions};
use actix_fluvio::producer::{PartitionerKind, ProducerOptions};

use common::bounded;
use common::embedded::{client, cluster};

/// Commit `offset`, retrying retriable failures (no session yet) for up to 10 s.
/// Every stored consumer offset. Right after dropped connections, calls fail fast with a
/// retriable error until the connection is back: ask again for up to 10 s.
async fn consumer_offsets(
    client: &FluvioClient,
) -> Vec<actix_fluvio::protocol::spu::ConsumerOffset> {
    let started = std::time::Instant::now();
    loop {
        match client.admin().list_consumer_offsets().await {
            Ok(offsets) => return offsets,
            Err(AdminError::Client(e))
                if e.is_retriable() && started.elapsed() < Duration::from_secs(10) =>
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("listing consumer offsets: {e}"),
        }
    }
}

async fn commit_within_10s(stream: &actix_fluvio::consumer::PartitionStream, offset: i64) {
    let started = std::time::Instant::now();
    loop {
        match stream.commit(offset).await {
            Ok(()) => return,
            Err(error) if error.is_retriable() && started.elapsed() < Duration::from_secs(10) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(other) => panic!("no commit of {offset}: {other}"),
        }
    }
}

#[tokio::test]
async fn a_consumer_at_the_end_can_commit_again_soon_after_a_reconnect() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        client
            .admin()
            .create_topic("idle", TopicConfig::new(1))
            .await
            .unwrap();
        let producer = client.producer(ProducerOptions::default());
        producer
            .send_batch("idle", (0..20).map(|i| (None::<&[u8]>, i.to_string())))
            .await
            .unwrap();
        let options = ConsumerOptions::builder().consumer_id("idler").build();
        let mut stream = client.partition_consumer("idle", 0, options).await.unwrap();
        for _ in 0..20 {
            stream.next().await.unwrap().unwrap();
        }
        // The stream is at the end; its session goes with the connection. No new record will
        // come, yet the resumed stream must bring a session to commit on.
        cluster.drop_connections();
        commit_within_10s(&stream, 19).await;
        let offsets = consumer_offsets(&client).await;
        assert!(
            offsets
                .iter()
                .any(|o| o.consumer_id == "idler" && o.offset == 19),
            "{offsets:?}"
        );
        producer.send("idle", None::<&[u8]>, b"20").await.unwrap();
        let next = stream.next().await.unwrap().unwrap();
        assert_eq!(next.offset, 20, "the re-read record is not delivered again");
    })
    .await;
}

#[tokio::test]
async fn a_finished_consumer_commits_after_its_connection_was_lost() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        client
            .admin()
            .create_topic("done", TopicConfig::new(1))
            .await
            .unwrap();
        let producer = client.producer(ProducerOptions::default());
        producer
            .send_batch("done", (0..10).map(|i| (None::<&[u8]>, i.to_string())))
            .await
            .unwrap();
        let options = ConsumerOptions::builder()
            .consumer_id("finisher")
            .disable_continuous(true)
            .build();
        let mut stream = client.partition_consumer("done", 0, options).await.unwrap();
        let mut last = -1;
        while let Some(record) = stream.next().await {
            last = record.unwrap().offset;
        }
        // The stream ended (nothing left to read); its session dies with the connection.
        cluster.drop_connections();
        commit_within_10s(&stream, last).await;
        let offsets = consumer_offsets(&client).await;
        assert!(
            offsets
                .iter()
                .any(|o| o.consumer_id == "finisher" && o.offset == 9),
            "{offsets:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_consumer_id_resumes_after_its_committed_offset() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        client
            .admin()
            .create_topic("c", TopicConfig::new(1))
            .await
            .unwrap();
        let producer = client.producer(ProducerOptions::default());
        producer
            .send_batch("c", (0..20).map(|i| (None::<&[u8]>, i.to_string())))
            .await
            .unwrap();
        let options = ConsumerOptions::builder().consumer_id("group-a").build();
        let mut stream = client
            .partition_consumer("c", 0, options.clone())
            .await
            .unwrap();
        for _ in 0..8 {
            stream.next().await.unwrap().unwrap();
        }
        stream.commit(7).await.unwrap();
        drop(stream);
        let offsets = consumer_offsets(&client).await;
        assert!(
            offsets
                .iter()
                .any(|o| o.consumer_id == "group-a" && o.offset == 7),
            "{offsets:?}"
        );

        let mut resumed = client.partition_consumer("c", 0, options).await.unwrap();
        assert_eq!(resumed.next().await.unwrap().unwrap().offset, 8);

        let anonymous = client
            .partition_consumer("c", 0, ConsumerOptions::default())
            .await
            .unwrap();
        assert!(matches!(
            anonymous.commit(1).await,
            Err(ConsumerError::NoConsumerId)
        ));
        client
            .admin()
            .delete_consumer_offset("group-a", "c", 0)
            .await
            .unwrap();
        assert!(client
            .admin()
            .list_consumer_offsets()
            .await
            .unwrap()
            .is_empty());
    })
    .await;
}

/// The offsets `consumer_id` has stored for `topic`, by partition.
async fn committed(client: &FluvioClient, consumer_id: &str, topic: &str) -> HashMap<u32, i64> {
    let offsets = consumer_offsets(client).await;
    offsets
        .iter()
        .filter(|o| o.consumer_id == consumer_id && o.replica_id.topic == topic)
        .map(|o| (o.replica_id.partition, o.offset))
        .collect()
}

/// Wait up to 5 s for `consumer_id`'s stored offsets of `topic` to be `expected`.
async fn wait_for_commits(
    client: &FluvioClient,
    consumer_id: &str,
    topic: &str,
    expected: &HashMap<u32, i64>,
) {
    let started = std::time::Instant::now();
    loop {
        let stored = committed(client, consumer_id, topic).await;
        if &stored == expected {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "stored {stored:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `topic` with `partitions` partitions of `records` records each ("0", "1", ...).
async fn topic_of(client: &FluvioClient, topic: &str, partitions: u32, records: usize) {
    client
        .admin()
        .create_topic(topic, TopicConfig::new(partitions))
        .await
        .unwrap();
    for p in 0..partitions {
        let producer = client.producer(
            ProducerOptions::builder()
                .partitioner(PartitionerKind::Specific(p))
                .build(),
        );
        producer
            .send_batch(topic, (0..records).map(|i| (None::<&[u8]>, i.to_string())))
            .await
            .unwrap();
    }
}

/// A topic consumer of "handed" (2 partitions of 50 records) as `consumer_id`, committing
/// every `auto_commit`, after `n` records read; the last offset read of each partition.
async fn read_handed(
    client: &FluvioClient,
    consumer_id: &str,
    auto_commit: Duration,
    n: usize,
) -> (actix_fluvio::consumer::TopicStream, HashMap<u32, i64>) {
    topic_of(client, "handed", 2, 50).await;
    let options = ConsumerOptions::builder()
        .consumer_id(consumer_id)
        .auto_commit(Some(auto_commit))
        .build();
    let mut stream = client.topic_consumer("handed", options).await.unwrap();
    let mut got = HashMap::new();
    take(&mut stream, n, &mut got).await;
    (stream, got)
}

/// The last offset of each partition among the next `n` records of `stream`.
async fn take(
    stream: &mut actix_fluvio::consumer::TopicStream,
    n: usize,
    got: &mut HashMap<u32, i64>,
) {
    for _ in 0..n {
        let record = stream.next().await.unwrap().unwrap();
        got.insert(record.partition, record.offset);
    }
}

#[tokio::test]
async fn a_topic_consumer_auto_commits_only_records_it_handed_out() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        let interval = Duration::from_millis(20);
        let (mut stream, mut got) = read_handed(&client, "handed-id", interval, 10).await;
        // Many auto-commit intervals: what is stored is what the reader got, not the
        // batches the topic stream holds for it.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(committed(&client, "handed-id", "handed").await, got);
        take(&mut stream, 5, &mut got).await;
        wait_for_commits(&client, "handed-id", "handed", &got).await;
    })
    .await;
}

#[tokio::test]
async fn dropping_a_topic_consumer_commits_what_it_handed_out_and_stops() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        // No commit on the interval after the first (empty) one: only the stop commits.
        let interval = Duration::from_secs(3600);
        let (stream, got) = read_handed(&client, "dropped-id", interval, 15).await;
        drop(stream);
        wait_for_commits(&client, "dropped-id", "handed", &got).await;
    })
    .await;
}

/// Tells the test when a batch arrives and holds it until the test opens the gate.
struct Gate {
    arrived: tokio::sync::mpsc::UnboundedSender<usize>,
    open: std::sync::Arc<tokio::sync::Notify>,
}

impl actix::Actor for Gate {
    type Context = actix::Context<Self>;
}

impl actix::Handler<actix_fluvio::consumer::Records> for Gate {
    type Result = actix::ResponseFuture<()>;

    fn handle(
        &mut self,
        msg: actix_fluvio::consumer::Records,
        _: &mut actix::Context<Self>,
    ) -> Self::Result {
        let _ = self.arrived.send(msg.0.len());
        let open = self.open.clone();
        Box::pin(async move { open.notified().await })
    }
}

#[actix_rt::test]
async fn a_consumer_actor_auto_commits_a_batch_once_the_user_actor_handled_it() {
    use actix::Actor as _;
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        topic_of(&client, "gated", 1, 20).await;
        let options = ConsumerOptions::builder()
            .consumer_id("gated-id")
            .auto_commit(Some(Duration::from_millis(20)))
            .build();
        let stream = client
            .partition_consumer("gated", 0, options)
            .await
            .unwrap();
        let (arrived, mut arrivals) = tokio::sync::mpsc::unbounded_channel();
        let open = std::sync::Arc::new(tokio::sync::Notify::new());
        let gate = Gate {
            arrived,
            open: open.clone(),
        }
        .start();
        let _consumer =
            actix_fluvio::consumer::PartitionConsumerActor::new(stream, gate.recipient(), None)
                .start();
        assert_eq!(arrivals.recv().await, Some(20));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            committed(&client, "gated-id", "gated").await,
            HashMap::new(),
            "nothing handled yet, nothing committed"
        );
        open.notify_one();
        wait_for_commits(&client, "gated-id", "gated", &HashMap::from([(0, 19)])).await;
    })
    .await;
}

/// Receives records and the consumer's address; commits each batch's last record by message.
struct CommitsByMessage {
    consumer: Option<actix::Addr<actix_fluvio::consumer::PartitionConsumerActor>>,
    results: tokio::sync::mpsc::UnboundedSender<Result<(), ConsumerError>>,
}

impl actix::Actor for CommitsByMessage {
    type Context = actix::Context<Self>;
}

#[derive(actix::Message)]
#[rtype(result = "()")]
struct ConsumerIs(actix::Addr<actix_fluvio::consumer::PartitionConsumerActor>);

impl actix::Handler<ConsumerIs> for CommitsByMessage {
    type Result = ();

    fn handle(&mut self, msg: ConsumerIs, _: &mut actix::Context<Self>) {
        self.consumer = Some(msg.0);
    }
}

impl actix::Handler<actix_fluvio::consumer::Records> for CommitsByMessage {
    type Result = actix::ResponseFuture<()>;

    fn handle(
        &mut self,
        msg: actix_fluvio::consumer::Records,
        _: &mut actix::Context<Self>,
    ) -> Self::Result {
        let consumer = self.consumer.clone().expect("told the consumer first");
        let results = self.results.clone();
        let last = msg.0.last().map(actix_fluvio::consumer::Commit::record);
        Box::pin(async move {
            if let Some(commit) = last {
                let result = consumer.send(commit).await.expect("consumer answers");
                let _ = results.send(result);
            }
        })
    }
}

#[actix_rt::test]
async fn an_actor_holding_the_consumers_address_commits_by_message() {
    use actix::Actor as _;
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        topic_of(&client, "by-message", 1, 30).await;
        let options = ConsumerOptions::builder()
            .consumer_id("by-message-id")
            .build();
        let stream = client
            .partition_consumer("by-message", 0, options)
            .await
            .unwrap();
        let (results, mut committed_rx) = tokio::sync::mpsc::unbounded_channel();
        let user = CommitsByMessage {
            consumer: None,
            results,
        }
        .start();
        // The user actor learns the consumer's address before the consumer starts reading.
        let recipient = user.clone().recipient();
        actix_fluvio::consumer::PartitionConsumerActor::create(|ctx| {
            user.do_send(ConsumerIs(actix::AsyncContext::address(ctx)));
            actix_fluvio::consumer::PartitionConsumerActor::new(stream, recipient, None)
        });
        committed_rx
            .recv()
            .await
            .unwrap()
            .expect("the commit by message is stored");
        wait_for_commits(
            &client,
            "by-message-id",
            "by-message",
            &HashMap::from([(0, 29)]),
        )
        .await;
    })
    .await;
}

/// A guarded commit stores nothing once its guard stops holding, and never moves the
/// stored offset backwards (a stale owner's commit behind the new owner's is refused).
#[tokio::test]
async fn a_guarded_commit_is_refused_when_its_guard_fails_or_a_later_offset_is_stored() {
    use actix_fluvio::consumer::CommitGuard;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        client
            .admin()
            .create_topic("guarded", TopicConfig::new(1))
            .await
            .unwrap();
        let producer = client.producer(ProducerOptions::default());
        producer
            .send_batch(
                "guarded",
                (0..100).map(|i| (None::<String>, format!("r{i}"))),
            )
            .await
            .unwrap();
        producer.flush().await.unwrap();
        let options = || {
            ConsumerOptions::builder()
                .consumer_id("guarded-owner")
                .build()
        };
        let stale = client
            .partition_consumer("guarded", 0, options())
            .await
            .unwrap();
        let fresh = client
            .partition_consumer("guarded", 0, options())
            .await
            .unwrap();
        let holds = Arc::new(AtomicBool::new(true));
        let guard = {
            let holds = holds.clone();
            CommitGuard::new(move || holds.load(Ordering::SeqCst))
        };
        let stored = |c| async move {
            committed(c, "guarded-owner", "guarded")
                .await
                .get(&0)
                .copied()
        };
        // Guard holding, nothing stored yet: stored.
        let committer = stale.committer();
        let started = std::time::Instant::now();
        while let Err(error) = committer.commit_guarded(10, &guard).await {
            assert!(
                error.is_retriable() && started.elapsed() < Duration::from_secs(10),
                "{error}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(stored(&client).await, Some(10));
        // The new owner moves on; the stale one's commit behind it is refused.
        commit_within_10s(&fresh, 60).await;
        match committer.commit_guarded(40, &guard).await {
            Err(ConsumerError::CommitBehind {
                offset: 40,
                stored: 60,
            }) => {}
            other => panic!("a commit behind the stored offset: {other:?}"),
        }
        assert_eq!(stored(&client).await, Some(60));
        // The guard no longer holds: refused, even ahead of the stored offset.
        holds.store(false, Ordering::SeqCst);
        match committer.commit_guarded(80, &guard).await {
            Err(ConsumerError::Fenced { offset: 80 }) => {}
            other => panic!("a commit without the guard: {other:?}"),
        }
        assert_eq!(stored(&client).await, Some(60));
        // An unguarded commit still goes through, backwards or not (the caller's choice).
        commit_within_10s(&stale, 30).await;
        assert_eq!(stored(&client).await, Some(30));
    })
    .await;
}
