//! What a client makes of an [`ErrorCode`]: its name, whether retrying may get past it, and
//! the families callers branch on. The one place these lists live; the client layers'
//! `is_retriable` methods ask here.

use super::ErrorCode;

impl ErrorCode {
    /// The variant's name without its payload, as upstream spells it
    /// (`"NotLeaderForPartition"`, `"Other"`, `"FetchSessionNotFoud"`, ...): the `code`
    /// label of the metrics and the `error_code` field of the spans.
    pub fn name(&self) -> &'static str {
        use ErrorCode::*;
        match self {
            UnknownServerError => "UnknownServerError",
            None => "None",
            OffsetOutOfRange => "OffsetOutOfRange",
            Other(_) => "Other",
            NotLeaderForPartition => "NotLeaderForPartition",
            RequestTimedOut { .. } => "RequestTimedOut",
            MessageTooLarge => "MessageTooLarge",
            PermissionDenied => "PermissionDenied",
            StorageError => "StorageError",
            InvalidCreateRequest => "InvalidCreateRequest",
            InvalidDeleteRequest => "InvalidDeleteRequest",
            OffsetEvicted { .. } => "OffsetEvicted",
            PartitionFull { .. } => "PartitionFull",
            PartitionShortCircuited => "PartitionShortCircuited",
            SpuError => "SpuError",
            SpuRegisterationFailed => "SpuRegisterationFailed",
            SpuOffline => "SpuOffline",
            SpuNotFound => "SpuNotFound",
            SpuAlreadyExists => "SpuAlreadyExists",
            TopicError => "TopicError",
            TopicNotFound => "TopicNotFound",
            TopicAlreadyExists => "TopicAlreadyExists",
            TopicPendingInitialization => "TopicPendingInitialization",
            TopicInvalidConfiguration => "TopicInvalidConfiguration",
            TopicNotProvisioned => "TopicNotProvisioned",
            TopicInvalidName => "TopicInvalidName",
            TopicDeleted => "TopicDeleted",
            TopicInvalidReplicaType => "TopicInvalidReplicaType",
            PartitionPendingInitialization => "PartitionPendingInitialization",
            PartitionNotLeader => "PartitionNotLeader",
            FetchSessionNotFoud => "FetchSessionNotFoud",
            OffsetFlushRequestError(_) => "OffsetFlushRequestError",
            OffsetManagementDisabled => "OffsetManagementDisabled",
            MaxRetryReached => "MaxRetryReached",
            ManagedConnectorError => "ManagedConnectorError",
            ManagedConnectorNotFound => "ManagedConnectorNotFound",
            ManagedConnectorAlreadyExists => "ManagedConnectorAlreadyExists",
            SmartModuleError => "SmartModuleError",
            SmartModuleNotFound { .. } => "SmartModuleNotFound",
            SmartModuleInvalid { .. } => "SmartModuleInvalid",
            SmartModuleInvalidExports { .. } => "SmartModuleInvalidExports",
            SmartModuleRuntimeError(_) => "SmartModuleRuntimeError",
            SmartModuleChainInitError(_) => "SmartModuleChainInitError",
            SmartModuleInitError { .. } => "SmartModuleInitError",
            SmartModuleLookBackError(_) => "SmartModuleLookBackError",
            SmartModuleMemoryLimitExceeded { .. } => "SmartModuleMemoryLimitExceeded",
            TableFormatError => "TableFormatError",
            TableFormatNotFound => "TableFormatNotFound",
            TableFormatAlreadyExists => "TableFormatAlreadyExists",
            DerivedStreamObjectError => "DerivedStreamObjectError",
            DerivedStreamNotFound(_) => "DerivedStreamNotFound",
            DerivedStreamJoinFetchError => "DerivedStreamJoinFetchError",
            DerivedStreamInvalid(_) => "DerivedStreamInvalid",
            CompressionError => "CompressionError",
            DeduplicationSmartModuleNotLoaded => "DeduplicationSmartModuleNotLoaded",
            DeduplicationSmartModuleNameInvalid(_) => "DeduplicationSmartModuleNameInvalid",
            MirrorNotFound => "MirrorNotFound",
            MirrorAlreadyExists => "MirrorAlreadyExists",
            MirrorProduceFromHome => "MirrorProduceFromHome",
            MirrorDeleteFromRemote => "MirrorDeleteFromRemote",
            MirrorInvalidType => "MirrorInvalidType",
            MirrorProduceFromRemoteNotAllowed => "MirrorProduceFromRemoteNotAllowed",
            SystemSpecDeletionAttempt { .. } => "SystemSpecDeletionAttempt",
            SystemSpecUpdatingAttempt { .. } => "SystemSpecUpdatingAttempt",
        }
    }

    /// Whether a client should retry what the server refused with this code: the condition
    /// passes on its own, and the same request (or, for a stream, a new stream from the
    /// same offset) may then succeed.
    ///
    /// | code | why it passes |
    /// |---|---|
    /// | `NotLeaderForPartition` (6), `PartitionNotLeader` (3001) | the leader moved; ask the metadata again |
    /// | `SpuOffline` (1002) | the SPU restarts or reconnects to the SC |
    /// | `RequestTimedOut` (7) | the SPU did not see the replicas catch up in time |
    /// | `StorageError` (56) | the leader's write failed (its replica closing on a restart or a leader move; a disk error moves the leader, as in Kafka, whose code this is) |
    /// | `PartitionPendingInitialization` (3000), `TopicPendingInitialization` (2003) | the topic is being created |
    /// | `FetchSessionNotFoud` (3002) | the SPU lost the stream's session: a new stream has one |
    ///
    /// Every other code is final for the request that got it (a missing topic, a refused
    /// configuration, a SmartModule error, an evicted offset, which the consumer handles
    /// itself, ...).
    pub fn is_retriable(&self) -> bool {
        use ErrorCode::*;
        matches!(
            self,
            NotLeaderForPartition
                | PartitionNotLeader
                | SpuOffline
                | RequestTimedOut { .. }
                | StorageError
                | PartitionPendingInitialization
                | TopicPendingInitialization
                | FetchSessionNotFoud
        )
    }

    /// Whether an offset commit (`UpdateConsumerOffset`) that got this code may succeed when
    /// sent again: a [retriable](ErrorCode::is_retriable) code, or `Other`, which is how a
    /// 0.18 SPU reports that it could not reach the leader of the `consumer-offset`
    /// partition it forwards the commit to (`fluvio-spu` `consumer_handler.rs`,
    /// `update_offset_in_peer`; that leader's own storage failures come the same way).
    /// `OffsetManagementDisabled` and the rest are final.
    pub fn is_retriable_commit(&self) -> bool {
        self.is_retriable() || matches!(self, ErrorCode::Other(_))
    }

    /// Whether the code is one of the SmartModule family (6000–6999): a SmartModule was
    /// missing, invalid, or failed on a record. A consumer ends its stream with it.
    pub fn is_smartmodule(&self) -> bool {
        use ErrorCode::*;
        matches!(
            self,
            SmartModuleError
                | SmartModuleNotFound { .. }
                | SmartModuleInvalid { .. }
                | SmartModuleInvalidExports { .. }
                | SmartModuleRuntimeError(_)
                | SmartModuleChainInitError(_)
                | SmartModuleInitError { .. }
                | SmartModuleLookBackError(_)
                | SmartModuleMemoryLimitExceeded { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Metric labels and span fields stay what they were when they came from `Debug`.
        #[test]
        fn the_name_is_the_variant_as_debug_prints_it(code in any::<ErrorCode>()) {
            let debug = format!("{code:?}");
            prop_assert!(debug.starts_with(code.name()), "{debug}");
            let rest = &debug[code.name().len()..];
            prop_assert!(rest.is_empty() || rest.starts_with([' ', '(']), "{debug}");
        }

        #[test]
        fn the_smartmodule_family_is_the_6xxx_codes(code in any::<ErrorCode>()) {
            prop_assert_eq!(code.is_smartmodule(), code.code() / 1000 == 6, "{:?}", code);
        }
    }

    #[test]
    fn retriable_codes_are_the_transient_ones() {
        let retriable: Vec<i16> = crate::protocol::UNIT_CODES
            .iter()
            .map(|(_, code)| code)
            .chain(&[ErrorCode::RequestTimedOut {
                timeout_ms: 1500,
                kind: crate::protocol::RequestKind::Produce,
            }])
            .filter(|code| code.is_retriable())
            .map(ErrorCode::code)
            .collect();
        assert_eq!(retriable, [6, 56, 1002, 2003, 3000, 3001, 3002, 7]);
        assert!(!ErrorCode::Other("no answer".into()).is_retriable());
        assert!(!ErrorCode::OffsetEvicted {
            offset: 0,
            next_available: 1
        }
        .is_retriable());
    }
}
