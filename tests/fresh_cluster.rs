//! A fresh or changed cluster under a running client (issue 23, item 8): an SC restarted
//! with empty state, a topic deleted and recreated with another partition count, a
//! partition log that went backwards, an SPU removed from the cluster.

mod common;

use std::time::Duration;

use actix_fluvio::admin::TopicConfig;
use actix_fluvio::cluster::{ClientError, FluvioClient, MetadataCache};

use common::bounded;
use common::embedded::{client, cluster};

/// Poll the client's metadata cache until `done` holds (every 20 ms).
async fn cache_until(client: &FluvioClient, done: impl Fn(&MetadataCache) -> bool) {
    loop {
        if done(&client.metadata().await.unwrap()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_sc_restarted_with_empty_state_empties_the_cache_and_closes_spu_connections() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        client
            .admin()
            .create_topic("t", TopicConfig::new(2))
            .await
            .unwrap();
        let spu = client.leader_connection("t", 0).await.unwrap();
        cache_until(&client, |c| c.partition_count("t") == Some(2)).await;
        let mut topology = client.topology_changes();
        topology.borrow_and_update();

        cluster.restart_sc_empty().await.unwrap();

        // The resumed watches start with empty snapshots: nothing is left.
        cache_until(&client, |c| {
            c.spus.values().count() == 0
                && c.partitions.values().count() == 0
                && c.topics.values().count() == 0
        })
        .await;
        assert!(
            topology.has_changed().unwrap(),
            "topics and partitions went"
        );
        let err = client.partition_leader("t", 0).await.unwrap_err();
        assert!(matches!(err, ClientError::TopicNotFound(_)), "{err}");
        // The SPU is no longer listed: its pooled connection is closed, not kept retrying.
        while !spu.is_closed() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn connections_to_an_spu_removed_from_the_cluster_are_closed() {
    let cluster = cluster(2).await;
    bounded(async {
        let client = client(&cluster).await;
        client
            .admin()
            .create_topic("t", TopicConfig::new(2))
            .await
            .unwrap();
        let (first, second) = (cluster.spu_ids()[0], cluster.spu_ids()[1]);
        let leaders = [
            client.partition_leader("t", 0).await.unwrap(),
            client.partition_leader("t", 1).await.unwrap(),
        ];
        let kept = client.spu_connection(leaders[0].clone()).await.unwrap();
        let removed = client.spu_connection(leaders[1].clone()).await.unwrap();
        assert_eq!((leaders[0].id, leaders[1].id), (first, second));

        cluster.remove_spu(second).await.unwrap();

        while !removed.is_closed() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let cache = client.metadata().await.unwrap();
        assert!(cache.spus.values().all(|s| s.spec.id != second));
        assert!(
            !kept.is_closed(),
            "the SPU still listed keeps its connection"
        );
        // The pool opens a new connection when the SPU comes back.
        cluster.restart_spu(second).await.unwrap();
        let leader = client.fresh_partition_leader("t", 1).await.unwrap();
        let again = client.spu_connection(leader).await.unwrap();
        assert!(!again.is_closed());
    })
    .await;
}
