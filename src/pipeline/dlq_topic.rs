//! A pipeline's dead-letter topic, created when the first record goes there.

use std::sync::Arc;

use tokio::sync::OnceCell;

use crate::admin::{AdminError, TopicConfig};
use crate::cluster::{ClientError, FluvioClient};

/// The dead-letter topic of a pipeline: its name, and its partition count once known
/// (created if missing, see [`GiveUp::DeadLetter`](super::GiveUp::DeadLetter)).
pub(crate) struct DeadLetterTopic {
    client: FluvioClient,
    pub(crate) name: Arc<str>,
    source: String,
    /// The topic whose replication a created dead-letter topic copies.
    template: String,
    partitions: OnceCell<u32>,
}

impl DeadLetterTopic {
    pub(crate) fn new(client: FluvioClient, name: &str, source: &str, template: &str) -> Self {
        Self {
            client,
            name: Arc::from(name),
            source: source.to_owned(),
            template: template.to_owned(),
            partitions: OnceCell::new(),
        }
    }

    /// The topic's partition count, creating the topic first when it does not exist.
    ///
    /// # Errors
    /// The cluster could not be asked, or refused the topic: the message.
    pub(crate) async fn partitions(&self) -> Result<u32, String> {
        self.partitions
            .get_or_try_init(|| self.ensure())
            .await
            .copied()
    }

    async fn ensure(&self) -> Result<u32, String> {
        match self.client.partition_count(&self.name).await {
            Ok(count) => return Ok(count),
            Err(ClientError::TopicNotFound(_)) => {}
            Err(error) => return Err(format!("dead-letter topic {}: {error}", self.name)),
        }
        let failed =
            |e: &dyn std::fmt::Display| format!("creating dead-letter topic {}: {e}", self.name);
        let partitions = self
            .client
            .partition_count(&self.source)
            .await
            .map_err(|e| failed(&e))?;
        let admin = self.client.admin();
        let replicas = admin
            .list_partitions(Some(&self.template))
            .await
            .map_err(|e| failed(&e))?
            .first()
            .map_or(1, |p| p.replicas.len().max(1)) as u32;
        match admin
            .create_topic(
                &self.name,
                TopicConfig::new(partitions).replication(replicas),
            )
            .await
        {
            Ok(()) => {
                tracing::info!(topic = %self.name, partitions, replicas, "created the dead-letter topic");
            }
            Err(AdminError::TopicAlreadyExists(_)) => {}
            Err(error) => return Err(failed(&error)),
        }
        self.client
            .partition_count(&self.name)
            .await
            .map_err(|e| failed(&e))
    }
}
