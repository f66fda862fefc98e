//! Picking a mirror topic's partition by its partner's name: what the official consumer's
//! `mirror` option and `fluvio consume --mirror` / `fluvio produce --mirror` do, with an
//! error where they fall back to every partition or look at other topics.

use super::client::FluvioClient;
use super::error::ClientError;
use crate::protocol::sc::{ListRequest, MirrorPartition, TopicSpec};

impl FluvioClient {
    /// The partition of mirror topic `topic` that belongs to `mirror`: on a home cluster
    /// the remote `mirror`'s, on a remote cluster (where `mirror` is the home's id) its one
    /// partition. Asks the SC, so a remote added a moment ago is found.
    /// [`MirrorPartition::accepts_produce`] says whether this side may write it.
    ///
    /// ```no_run
    /// # async fn demo(client: actix_fluvio::cluster::FluvioClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use actix_fluvio::consumer::ConsumerOptions;
    ///
    /// // At home: read what the remote `edge1` mirrors into `telemetry`.
    /// let edge1 = client.mirror_partition("telemetry", "edge1").await?;
    /// let mut stream = client
    ///     .partition_consumer("telemetry", edge1.partition, ConsumerOptions::default())
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ClientError::TopicNotFound`], [`ClientError::NotAMirrorTopic`],
    /// [`ClientError::MirrorNotFound`] (naming the topic's partners), or a connection
    /// failure.
    pub async fn mirror_partition(
        &self,
        topic: &str,
        mirror: &str,
    ) -> Result<MirrorPartition, ClientError> {
        let request = ListRequest::<TopicSpec>::new(vec![topic.to_owned()]);
        let topics = self.sc().request(&request).await?.objects;
        let spec = topics
            .into_iter()
            .find(|t| t.name == topic)
            .ok_or_else(|| ClientError::TopicNotFound(topic.to_owned()))?
            .spec;
        let config = spec
            .mirror()
            .ok_or_else(|| ClientError::NotAMirrorTopic(topic.to_owned()))?;
        config
            .partition_of(mirror)
            .ok_or_else(|| ClientError::MirrorNotFound {
                topic: topic.to_owned(),
                mirror: mirror.to_owned(),
                partners: config.partners(),
            })
    }
}
