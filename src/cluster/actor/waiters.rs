//! Lookups waiting for metadata, and when the cache can answer them. No I/O: the actor
//! decides when to ask.

use std::time::Instant;

use tokio::sync::oneshot;

use crate::cluster::error::ClientError;
use crate::cluster::metadata::{Lookup, MetadataCache, SpuTarget};

/// A lookup that metadata answers.
pub(super) enum Waiter {
    Leader {
        topic: String,
        partition: u32,
        tx: oneshot::Sender<Result<SpuTarget, ClientError>>,
    },
    Count {
        topic: String,
        tx: oneshot::Sender<Result<u32, ClientError>>,
    },
}

impl Waiter {
    /// Answer this waiter if `cache` can (`listed`: a listing since the waiter came confirmed
    /// the cache; `current`: a leader found may be answered); else give it back.
    pub(super) fn answer(
        self,
        cache: &MetadataCache,
        local_spus: bool,
        listed: bool,
        current: bool,
    ) -> Option<Waiter> {
        match self {
            Waiter::Leader {
                topic,
                partition,
                tx,
            } => match cache.leader(&topic, partition, local_spus) {
                Lookup::Found(target) if current => {
                    let _ = tx.send(Ok(target));
                    None
                }
                Lookup::Missing if listed => {
                    let _ = tx.send(Err(missing(cache, &topic, partition)));
                    None
                }
                _ => Some(Waiter::Leader {
                    topic,
                    partition,
                    tx,
                }),
            },
            Waiter::Count { topic, tx } => {
                let missing = cache.topics.is_synced() && cache.topics.get(&topic).is_none();
                match cache.partition_count(&topic) {
                    Some(n) => {
                        let _ = tx.send(Ok(n));
                        None
                    }
                    None if missing && listed => {
                        let _ = tx.send(Err(ClientError::TopicNotFound(topic)));
                        None
                    }
                    None => Some(Waiter::Count { topic, tx }),
                }
            }
        }
    }

    /// What the lookup waits for, for its timeout error.
    pub(super) fn what(&self) -> String {
        match self {
            Waiter::Leader {
                topic, partition, ..
            } => format!("the leader of {topic}-{partition}"),
            Waiter::Count { topic, .. } => format!("topic '{topic}'"),
        }
    }

    pub(super) fn fail(self, error: ClientError) {
        match self {
            Waiter::Leader { tx, .. } => {
                let _ = tx.send(Err(error));
            }
            Waiter::Count { tx, .. } => {
                let _ = tx.send(Err(error));
            }
        }
    }
}

/// A lookup waiting for metadata.
pub(super) struct Pending {
    pub(super) deadline: Instant,
    /// The first listing started after it came: "missing" is only answered from it on.
    pub(super) since: u64,
    /// Answer "found" only from that listing on too (the cached leader failed the caller).
    pub(super) fresh: bool,
    pub(super) waiter: Waiter,
}

fn missing(cache: &MetadataCache, topic: &str, partition: u32) -> ClientError {
    if cache.topics.get(topic).is_none() && cache.topics.is_synced() {
        ClientError::TopicNotFound(topic.to_owned())
    } else {
        ClientError::PartitionNotFound {
            topic: topic.to_owned(),
            partition,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::metadata::tests::cache;

    fn leader(
        topic: &str,
        partition: u32,
    ) -> (Waiter, oneshot::Receiver<Result<SpuTarget, ClientError>>) {
        let (tx, rx) = oneshot::channel();
        let topic = topic.into();
        (
            Waiter::Leader {
                topic,
                partition,
                tx,
            },
            rx,
        )
    }

    fn count(topic: &str) -> (Waiter, oneshot::Receiver<Result<u32, ClientError>>) {
        let (tx, rx) = oneshot::channel();
        (
            Waiter::Count {
                topic: topic.into(),
                tx,
            },
            rx,
        )
    }

    #[test]
    fn a_leader_is_answered_when_known_and_current_and_absence_only_after_a_listing() {
        let cache = cache();
        let (waiter, mut rx) = leader("t", 0);
        // A fresh lookup is not answered from the cache it distrusts.
        let waiter = waiter.answer(&cache, false, false, false).expect("kept");
        assert!(waiter.answer(&cache, false, false, true).is_none());
        assert_eq!(rx.try_recv().unwrap().unwrap().id, 5001);

        // The leader of t-1 is offline: wait, listed or not.
        let (waiter, _rx) = leader("t", 1);
        assert!(waiter.answer(&cache, false, true, true).is_some());

        // A topic the watch does not know yet may just have been created.
        let (waiter, mut rx) = leader("new", 0);
        let waiter = waiter.answer(&cache, false, false, true).expect("kept");
        assert!(waiter.answer(&cache, false, true, true).is_none());
        assert!(matches!(rx.try_recv().unwrap(), Err(ClientError::TopicNotFound(t)) if t == "new"));

        let (waiter, mut rx) = leader("t", 7);
        assert!(waiter.answer(&cache, false, true, true).is_none());
        assert!(matches!(
            rx.try_recv().unwrap(),
            Err(ClientError::PartitionNotFound { partition: 7, .. })
        ));
    }

    #[test]
    fn a_partition_count_is_answered_when_known_and_absence_only_after_a_listing() {
        let cache = cache();
        let (waiter, mut rx) = count("t");
        assert!(waiter.answer(&cache, false, false, false).is_none());
        assert_eq!(rx.try_recv().unwrap().unwrap(), 2);

        let (waiter, mut rx) = count("new");
        let waiter = waiter.answer(&cache, false, false, true).expect("kept");
        assert_eq!(waiter.what(), "topic 'new'");
        assert!(waiter.answer(&cache, false, true, true).is_none());
        assert!(matches!(
            rx.try_recv().unwrap(),
            Err(ClientError::TopicNotFound(_))
        ));
    }
}
