//! `AdminActor`: the admin API as actix messages, for pipelines built of actors.

use actix::prelude::*;

use super::error::AdminError;
use super::handle::Admin;
use super::info::{PartitionInfo, SpuInfo};
use crate::protocol::sc::{Metadata, TopicSpec};

/// Serves admin messages by delegating to an [`Admin`] handle.
#[derive(Debug)]
pub struct AdminActor {
    admin: Admin,
}

impl AdminActor {
    /// An actor over `admin`.
    pub fn new(admin: Admin) -> Self {
        Self { admin }
    }
}

impl Actor for AdminActor {
    type Context = Context<Self>;
}

macro_rules! admin_message {
    ($(#[$meta:meta])* $name:ident { $($field:ident: $ty:ty),* } -> $out:ty => |$admin:ident, $msg:ident| $body:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        pub struct $name { $(#[allow(missing_docs)] pub $field: $ty,)* }

        impl Message for $name {
            type Result = Result<$out, AdminError>;
        }

        impl Handler<$name> for AdminActor {
            type Result = ResponseFuture<Result<$out, AdminError>>;

            fn handle(&mut self, $msg: $name, _: &mut Context<Self>) -> Self::Result {
                let $admin = self.admin.clone();
                Box::pin(async move { $body })
            }
        }
    };
}

admin_message!(
    /// Create a topic.
    CreateTopic { name: String, spec: TopicSpec, dry_run: bool } -> ()
    => |admin, msg| admin.create_topic_with(&msg.name, msg.spec, msg.dry_run).await
);
admin_message!(
    /// Delete a topic.
    DeleteTopic { name: String } -> ()
    => |admin, msg| admin.delete_topic(&msg.name).await
);
admin_message!(
    /// List topics.
    ListTopics {} -> Vec<Metadata<TopicSpec>>
    => |admin, _msg| admin.list_topics().await
);
admin_message!(
    /// List partitions (of one topic, when given).
    ListPartitions { topic: Option<String> } -> Vec<PartitionInfo>
    => |admin, msg| admin.list_partitions(msg.topic.as_deref()).await
);
admin_message!(
    /// List SPUs.
    ListSpus {} -> Vec<SpuInfo>
    => |admin, _msg| admin.list_spus().await
);
