//! proptest strategies for wire types whose std `Arbitrary` does not fit the wire's limits.

use bytes::Bytes;
use proptest::prelude::*;

use crate::protocol::VarBytes;

/// Any byte buffer up to 64 bytes.
pub(crate) fn bytes() -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..64).prop_map(Bytes::from)
}

impl Arbitrary for VarBytes {
    type Parameters = ();
    type Strategy = BoxedStrategy<Self>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        bytes().prop_map(VarBytes).boxed()
    }
}

impl Arbitrary for crate::protocol::ErrorCode {
    type Parameters = ();
    type Strategy = BoxedStrategy<Self>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        use crate::protocol::{ErrorCode::*, SmartModuleRuntimeError, UNIT_CODES};
        let s = || "[a-z0-9 ]{0,12}";
        prop_oneof![
            (0..UNIT_CODES.len()).prop_map(|i| UNIT_CODES[i].1.clone()),
            s().prop_map(Other),
            (any::<u64>(), any::<crate::protocol::RequestKind>())
                .prop_map(|(timeout_ms, kind)| RequestTimedOut { timeout_ms, kind }),
            (any::<i64>(), any::<i64>()).prop_map(|(offset, next_available)| OffsetEvicted {
                offset,
                next_available
            }),
            (s(), any::<u32>()).prop_map(|(topic, partition)| PartitionFull { topic, partition }),
            s().prop_map(OffsetFlushRequestError),
            s().prop_map(|name| SmartModuleNotFound { name }),
            (s(), proptest::option::of(s()))
                .prop_map(|(error, name)| SmartModuleInvalid { error, name }),
            (s(), s()).prop_map(|(error, kind)| SmartModuleInvalidExports { error, kind }),
            any::<SmartModuleRuntimeError>().prop_map(|e| SmartModuleRuntimeError(Box::new(e))),
            s().prop_map(SmartModuleChainInitError),
            s().prop_map(|hint| SmartModuleInitError { hint }),
            s().prop_map(SmartModuleLookBackError),
            (any::<u64>(), any::<u64>())
                .prop_map(|(requested, max)| SmartModuleMemoryLimitExceeded { requested, max }),
            s().prop_map(DerivedStreamNotFound),
            s().prop_map(DerivedStreamInvalid),
            s().prop_map(DeduplicationSmartModuleNameInvalid),
            (s(), s()).prop_map(|(kind, name)| SystemSpecDeletionAttempt { kind, name }),
            (s(), s()).prop_map(|(kind, name)| SystemSpecUpdatingAttempt { kind, name }),
        ]
        .boxed()
    }
}
