//! SPU public API messages: produce, fetch, offsets, stream fetch, SmartModule invocations, consumer offsets.
