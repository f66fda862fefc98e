//! `Admin`: topics, partitions, SPUs, SmartModules and consumer offsets.

use bytes::Bytes;

use super::error::{check, AdminError};
use super::info::{PartitionInfo, SpuInfo, TopicWatch};
use crate::cluster::{ClientError, FluvioClient};
use crate::protocol::record::Compression;
use crate::protocol::sc::{
    AddPartition, CreateRequest, CustomSpuKey, CustomSpuSpec, DeleteRequest, EncryptionType,
    Endpoint, IngressAddr, IngressPort, ListRequest, Metadata, PartitionSpec, SmartModuleMetadata,
    SmartModuleSpec, SmartModuleWasm, SmartModuleWasmFormat, SpuSpec, TopicSpec, UpdateRequest,
    UpdateTopicAction, WatchRequest,
};
use crate::protocol::spu::{
    ConsumerOffset, DeleteConsumerOffsetRequest, FetchConsumerOffsetsRequest,
};
use crate::protocol::ErrorCode;

/// Cluster administration over the SC (and, for consumer offsets, the SPU that leads the
/// consumer-offset topic). Cheap to clone.
///
/// ```no_run
/// # async fn demo(client: actix_fluvio::cluster::FluvioClient) -> Result<(), actix_fluvio::admin::AdminError> {
/// use actix_fluvio::admin::TopicConfig;
///
/// let admin = client.admin();
/// admin.create_topic("orders", TopicConfig::new(3)).await?;
/// for topic in admin.list_topics().await? {
///     println!("{}", topic.name);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Admin {
    client: FluvioClient,
}

impl FluvioClient {
    /// The admin API of this cluster.
    pub fn admin(&self) -> Admin {
        Admin {
            client: self.clone(),
        }
    }
}

impl Admin {
    pub(crate) fn client(&self) -> &FluvioClient {
        &self.client
    }

    /// Create topic `name`.
    ///
    /// # Errors
    /// [`AdminError::TopicAlreadyExists`], [`AdminError::InvalidConfiguration`],
    /// [`AdminError::InvalidTopicName`], ...
    pub async fn create_topic(
        &self,
        name: &str,
        spec: impl Into<TopicSpec>,
    ) -> Result<(), AdminError> {
        self.create_topic_with(name, spec.into(), false).await
    }

    /// Create topic `name`; with `dry_run` the SC only validates the request.
    ///
    /// # Errors
    /// As [`Admin::create_topic`].
    pub async fn create_topic_with(
        &self,
        name: &str,
        spec: TopicSpec,
        dry_run: bool,
    ) -> Result<(), AdminError> {
        let mut request = CreateRequest::new(name, spec);
        request.common.dry_run = dry_run;
        check(self.client.sc().request(&request).await?)
    }

    /// Delete topic `name`.
    ///
    /// # Errors
    /// [`AdminError::TopicNotFound`], ...
    pub async fn delete_topic(&self, name: &str) -> Result<(), AdminError> {
        check(
            self.client
                .sc()
                .request(&DeleteRequest::<TopicSpec>::new(name))
                .await?,
        )
    }

    /// Add `count` partitions to topic `name`.
    ///
    /// # Errors
    /// [`AdminError::TopicNotFound`], or the server's refusal.
    pub async fn add_partitions(&self, name: &str, count: u32) -> Result<(), AdminError> {
        let action = UpdateTopicAction::AddPartition(AddPartition { count });
        check(
            self.client
                .sc()
                .request(&UpdateRequest::<TopicSpec>::new(name, action))
                .await?,
        )
    }

    /// Every topic.
    ///
    /// # Errors
    /// A connection failure.
    pub async fn list_topics(&self) -> Result<Vec<Metadata<TopicSpec>>, AdminError> {
        Ok(self.list::<TopicSpec>(vec![]).await?)
    }

    /// Topic `name`, or `None` when it does not exist.
    ///
    /// # Errors
    /// A connection failure.
    pub async fn get_topic(&self, name: &str) -> Result<Option<Metadata<TopicSpec>>, AdminError> {
        let topics = self.list::<TopicSpec>(vec![name.to_owned()]).await?;
        Ok(topics.into_iter().find(|t| t.name == name))
    }

    /// Topic changes as they happen: first a snapshot, then updates and deletions.
    ///
    /// # Errors
    /// A connection failure.
    pub async fn watch_topics(&self) -> Result<TopicWatch, AdminError> {
        let stream = self
            .client
            .sc()
            .stream(&WatchRequest::<TopicSpec>::new())
            .await?;
        Ok(TopicWatch::new(stream))
    }

    /// Every partition (of `topic` only, when given), with leader, replicas and offsets.
    ///
    /// # Errors
    /// A connection failure.
    pub async fn list_partitions(
        &self,
        topic: Option<&str>,
    ) -> Result<Vec<PartitionInfo>, AdminError> {
        let mut partitions: Vec<PartitionInfo> = self
            .list::<PartitionSpec>(vec![])
            .await?
            .into_iter()
            .filter_map(PartitionInfo::from_metadata)
            .filter(|p| topic.is_none_or(|t| p.topic == t))
            .collect();
        partitions.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
        Ok(partitions)
    }

    /// Every SPU, with its public endpoint and whether it is online.
    ///
    /// # Errors
    /// A connection failure.
    pub async fn list_spus(&self) -> Result<Vec<SpuInfo>, AdminError> {
        let mut spus: Vec<SpuInfo> = self
            .list::<SpuSpec>(vec![])
            .await?
            .into_iter()
            .map(SpuInfo::from_metadata)
            .collect();
        spus.sort_by_key(|s| s.id);
        Ok(spus)
    }

    /// Register a custom SPU (one started by hand, e.g. `fluvio-run spu -i ID`) as
    /// `custom-spu-ID`, like `fluvio cluster spu register`: `public` is where clients
    /// connect, `private` where the SC connects, both `host:port`, plaintext.
    ///
    /// # Errors
    /// [`AdminError::InvalidConfiguration`] for an address without a port, the server's
    /// refusal (e.g. the id is taken), or a connection failure.
    pub async fn register_spu(
        &self,
        id: i32,
        public: &str,
        private: &str,
    ) -> Result<(), AdminError> {
        let (public_host, public_port) = host_port(public)?;
        let (private_host, private_port) = host_port(private)?;
        let spec = CustomSpuSpec {
            id,
            public_endpoint: IngressPort {
                port: public_port,
                ingress: vec![IngressAddr {
                    hostname: Some(public_host.to_owned()),
                    ip: None,
                }],
                encryption: EncryptionType::Plaintext,
            },
            private_endpoint: Endpoint {
                port: private_port,
                host: private_host.to_owned(),
                encryption: EncryptionType::Plaintext,
            },
            rack: None,
            public_endpoint_local: None,
        };
        let request = CreateRequest::new(format!("custom-spu-{id}"), spec);
        check(self.client.sc().request(&request).await?)
    }

    /// Remove custom SPU `id` from the cluster's SPUs.
    ///
    /// # Errors
    /// The server's refusal (e.g. no such SPU), or a connection failure.
    pub async fn unregister_spu(&self, id: i32) -> Result<(), AdminError> {
        let request = DeleteRequest::<CustomSpuSpec>::new(CustomSpuKey::Id(id));
        check(self.client.sc().request(&request).await?)
    }

    /// Store a SmartModule from its raw wasm bytes (compressed here as the SC expects).
    ///
    /// # Errors
    /// The server's refusal, or a connection failure.
    pub async fn create_smartmodule(
        &self,
        name: &str,
        wasm: &[u8],
        meta: Option<SmartModuleMetadata>,
    ) -> Result<(), AdminError> {
        let payload = Compression::Gzip
            .compress(wasm)
            .map_err(|e| AdminError::Server {
                name: name.to_owned(),
                code: ErrorCode::Other(e.to_string()),
                message: None,
            })?;
        let spec = SmartModuleSpec {
            meta,
            summary: None,
            wasm: SmartModuleWasm {
                format: SmartModuleWasmFormat::Binary,
                payload: Bytes::from(payload),
            },
        };
        check(
            self.client
                .sc()
                .request(&CreateRequest::new(name, spec))
                .await?,
        )
    }

    /// Every SmartModule (summaries: no wasm payloads).
    ///
    /// # Errors
    /// A connection failure.
    pub async fn list_smartmodules(&self) -> Result<Vec<Metadata<SmartModuleSpec>>, AdminError> {
        let request = ListRequest::<SmartModuleSpec>::new(vec![]).with_summary(true);
        Ok(self.client.sc().request(&request).await?.objects)
    }

    /// Delete SmartModule `name`.
    ///
    /// # Errors
    /// [`AdminError::SmartModuleNotFound`], ...
    pub async fn delete_smartmodule(&self, name: &str) -> Result<(), AdminError> {
        check(
            self.client
                .sc()
                .request(&DeleteRequest::<SmartModuleSpec>::new(name))
                .await?,
        )
    }

    /// Every stored consumer offset.
    ///
    /// # Errors
    /// A connection failure, or the server's error.
    pub async fn list_consumer_offsets(&self) -> Result<Vec<ConsumerOffset>, AdminError> {
        let spu = self.consumer_offset_leader().await?;
        let response = spu
            .request(&FetchConsumerOffsetsRequest::with_opts(None, None))
            .await?;
        if response.error_code != ErrorCode::None {
            return Err(ClientError::Server {
                code: response.error_code,
                message: None,
            }
            .into());
        }
        Ok(response.consumers)
    }

    /// Delete the offset of `consumer_id` on `topic`/`partition`.
    ///
    /// # Errors
    /// A connection failure, or the server's error.
    pub async fn delete_consumer_offset(
        &self,
        consumer_id: &str,
        topic: &str,
        partition: u32,
    ) -> Result<(), AdminError> {
        let spu = self.consumer_offset_leader().await?;
        let response = spu
            .request(&DeleteConsumerOffsetRequest::new(
                topic,
                partition,
                consumer_id,
            ))
            .await?;
        match response.error_code {
            ErrorCode::None => Ok(()),
            code => Err(ClientError::Server {
                code,
                message: Some(format!(
                    "deleting the offset of {consumer_id} on {topic}-{partition}"
                )),
            }
            .into()),
        }
    }

    async fn consumer_offset_leader(&self) -> Result<crate::connection::Connection, AdminError> {
        Ok(self.client.consumer_offset_connection().await?)
    }

    async fn list<S: crate::protocol::sc::ObjectSpec>(
        &self,
        filters: Vec<String>,
    ) -> Result<Vec<Metadata<S>>, ClientError> {
        Ok(self
            .client
            .sc()
            .request(&ListRequest::<S>::new(filters))
            .await?
            .objects)
    }
}

/// `host:port` split at the last colon.
fn host_port(addr: &str) -> Result<(&str, u16), AdminError> {
    addr.rsplit_once(':')
        .and_then(|(host, port)| Some((host, port.parse().ok()?)))
        .filter(|(host, _)| !host.is_empty())
        .ok_or_else(|| AdminError::InvalidConfiguration {
            name: addr.to_owned(),
            code: ErrorCode::InvalidCreateRequest,
            message: Some("expected host:port".into()),
        })
}
