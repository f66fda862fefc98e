//! `ReplicaKey`: a topic partition, as the consumer-offset APIs name it.

wire_struct! {
    /// One partition of one topic.
    pub struct ReplicaKey {
        /// The topic name.
        pub topic: String,
        /// The partition index.
        pub partition: u32,
    }
}

impl Eq for ReplicaKey {}

impl ReplicaKey {
    /// The key of `partition` of `topic`.
    pub fn new(topic: impl Into<String>, partition: u32) -> Self {
        Self {
            topic: topic.into(),
            partition,
        }
    }
}
