//! How the configuration types ([`ClientConfig`](crate::cluster::ClientConfig),
//! [`ConnectionConfig`](crate::connection::ConnectionConfig),
//! [`ProducerOptions`](crate::producer::ProducerOptions),
//! [`ConsumerOptions`](crate::consumer::ConsumerOptions),
//! [`PipelineConfig`](crate::pipeline::PipelineConfig) and what they hold) are written in
//! files: durations as humantime strings (`"250ms"`, `"1m 30s"`), `"off"` for an optional
//! setting switched off (`idle_probe = "off"`), enum values by kebab-case names
//! (`isolation = "read-uncommitted"`, `compression = "zstd"`, `offset = { from-end = 10 }`).
//! Every type rejects a key it does not know (naming it) and keeps its default for a key
//! left out, and what one of them serializes to reads back equal.

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::protocol::record::Compression;
use crate::protocol::spu::Isolation;

/// What an optional setting switched off is written as.
const OFF: &str = "off";

/// `Duration` as a humantime string: `#[serde(with = "crate::config_serde::duration")]`.
pub(crate) mod duration {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_duration(*d))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        d.deserialize_str(DurationVisitor)
    }

    pub(super) struct DurationVisitor;

    impl Visitor<'_> for DurationVisitor {
        type Value = Duration;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a duration such as \"250ms\", \"5s\" or \"1m 30s\"")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
            humantime::parse_duration(v)
                .map_err(|e| E::invalid_value(de::Unexpected::Str(v), &format!("{e}").as_str()))
        }
    }
}

/// `Option<Duration>`: a humantime string, or `"off"` for `None` (so that a setting whose
/// default is on can be switched off in a file, and reads back off).
pub(crate) mod option_duration {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.collect_str(&humantime::format_duration(*d)),
            None => s.serialize_str(OFF),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        struct OptionVisitor;
        impl Visitor<'_> for OptionVisitor {
            type Value = Option<Duration>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"250ms\" or \"5s\", or \"off\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                if v == OFF {
                    return Ok(None);
                }
                super::duration::DurationVisitor.visit_str(v).map(Some)
            }
        }
        d.deserialize_str(OptionVisitor)
    }
}

/// `Option<T>` for a table `T`: the table, or `"off"` for `None`.
pub(crate) mod off_or {
    use super::*;

    pub(crate) fn serialize<T: Serialize, S: Serializer>(
        v: &Option<T>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => v.serialize(s),
            None => s.serialize_str(OFF),
        }
    }

    pub(crate) fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        struct OffOr<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for OffOr<T> {
            type Value = Option<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table, or \"off\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                match v {
                    OFF => Ok(None),
                    _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Some)
            }
        }
        d.deserialize_any(OffOr(PhantomData))
    }
}

/// `Vec<SmartModuleInvocation>` as a list of SmartModules stored on the cluster:
/// `{ name = "my-filter", kind = "filter", params = { k = "v" } }`, with `initial` (an
/// aggregate's accumulator, UTF-8), `lookback = { last = 10, age = "1h" }` and `label` (the
/// invocation's name) when wanted. The kinds are the CLI's: `filter`, `map`, `filter-map`,
/// `array-map`, `aggregate`, and `generic` (the SPU detects it). Ad-hoc modules (inline
/// WebAssembly) and the legacy joins have no file form: serializing one is an error.
pub(crate) mod smartmodules {
    use std::collections::BTreeMap;

    use bytes::Bytes;

    use super::*;
    use crate::protocol::spu::{
        Lookback, SmartModuleContextData, SmartModuleInvocation, SmartModuleKind,
        SmartModuleParams, SmartModuleWasm,
    };

    const KINDS: &[&str] = &[
        "filter",
        "map",
        "filter-map",
        "array-map",
        "aggregate",
        "generic",
    ];

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Stored {
        name: String,
        kind: String,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        params: BTreeMap<String, String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        initial: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lookback: Option<StoredLookback>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        label: Option<String>,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct StoredLookback {
        #[serde(default)]
        last: u64,
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            with = "super::option_duration"
        )]
        age: Option<Duration>,
    }

    fn accumulator(bytes: &Bytes) -> Result<Option<String>, String> {
        match std::str::from_utf8(bytes) {
            Ok("") => Ok(None),
            Ok(text) => Ok(Some(text.to_owned())),
            Err(_) => Err("an aggregate accumulator that is not UTF-8 has no file form".into()),
        }
    }

    fn stored(invocation: &SmartModuleInvocation) -> Result<Stored, String> {
        let SmartModuleWasm::Predefined(name) = &invocation.wasm else {
            return Err(
                "an ad-hoc SmartModule (inline WebAssembly) has no file form: \
                        store it on the cluster and name it"
                    .into(),
            );
        };
        let (kind, initial) = match &invocation.kind {
            SmartModuleKind::Filter => ("filter", None),
            SmartModuleKind::Map => ("map", None),
            SmartModuleKind::FilterMap => ("filter-map", None),
            SmartModuleKind::ArrayMap => ("array-map", None),
            SmartModuleKind::Aggregate { accumulator: a } => ("aggregate", accumulator(a)?),
            SmartModuleKind::Generic(SmartModuleContextData::None) => ("generic", None),
            SmartModuleKind::Generic(SmartModuleContextData::Aggregate { accumulator: a }) => {
                ("generic", accumulator(a)?)
            }
            other => return Err(format!("SmartModule kind {other:?} has no file form")),
        };
        Ok(Stored {
            name: name.clone(),
            kind: kind.into(),
            params: invocation.params.params.clone(),
            initial,
            lookback: invocation.params.lookback.as_ref().map(|l| StoredLookback {
                last: l.last,
                age: l.age,
            }),
            label: invocation.name.clone(),
        })
    }

    fn invocation<E: de::Error>(stored: Stored) -> Result<SmartModuleInvocation, E> {
        let initial = Bytes::from(stored.initial.unwrap_or_default());
        let kind = match stored.kind.as_str() {
            "generic" if initial.is_empty() => {
                SmartModuleKind::Generic(SmartModuleContextData::None)
            }
            "generic" => SmartModuleKind::Generic(SmartModuleContextData::Aggregate {
                accumulator: initial,
            }),
            name => SmartModuleKind::from_name(name, initial)
                .ok_or_else(|| E::unknown_variant(name, KINDS))?,
        };
        Ok(SmartModuleInvocation {
            wasm: SmartModuleWasm::Predefined(stored.name),
            kind,
            params: SmartModuleParams {
                params: stored.params,
                lookback: stored.lookback.map(|l| Lookback {
                    last: l.last,
                    age: l.age,
                }),
            },
            name: stored.label,
        })
    }

    pub(crate) fn serialize<S: Serializer>(
        invocations: &[SmartModuleInvocation],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let stored: Result<Vec<_>, _> = invocations.iter().map(stored).collect();
        stored.map_err(serde::ser::Error::custom)?.serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<SmartModuleInvocation>, D::Error> {
        Vec::<Stored>::deserialize(d)?
            .into_iter()
            .map(invocation)
            .collect()
    }
}

/// Serialize and deserialize a fieldless enum by fixed names.
macro_rules! by_name {
    ($ty:ty { $($variant:path => $name:literal),* $(,)? }) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(match self { $($variant => $name,)* })
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Names;
                impl Visitor<'_> for Names {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str(concat!("one of" $(, " \"", $name, "\"")*))
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$ty, E> {
                        match v {
                            $($name => Ok($variant),)*
                            _ => Err(E::unknown_variant(v, &[$($name),*])),
                        }
                    }
                }
                d.deserialize_str(Names)
            }
        }
    };
}

by_name!(Isolation {
    Isolation::ReadCommitted => "read-committed",
    Isolation::ReadUncommitted => "read-uncommitted",
});

by_name!(Compression {
    Compression::None => "none",
    Compression::Gzip => "gzip",
    Compression::Snappy => "snappy",
    Compression::Lz4 => "lz4",
    Compression::Zstd => "zstd",
});

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        #[serde(with = "duration")]
        every: Duration,
        #[serde(with = "option_duration")]
        probe: Option<Duration>,
        isolation: Isolation,
        compression: Compression,
    }

    #[test]
    fn durations_are_humantime_strings_and_off_is_none() {
        let sample: Sample = toml::from_str(
            "every = \"1m 30s\"\nprobe = \"off\"\nisolation = \"read-uncommitted\"\n\
             compression = \"zstd\"\n",
        )
        .unwrap();
        assert_eq!(
            sample,
            Sample {
                every: Duration::from_secs(90),
                probe: None,
                isolation: Isolation::ReadUncommitted,
                compression: Compression::Zstd,
            }
        );
        let text = toml::to_string(&sample).unwrap();
        assert!(text.contains("every = \"1m 30s\""), "{text}");
        assert_eq!(toml::from_str::<Sample>(&text).unwrap(), sample);
    }

    #[test]
    fn a_bad_duration_or_name_says_what_was_expected() {
        let err = toml::from_str::<Sample>(
            "every = \"5 parsecs\"\nprobe = \"off\"\nisolation = \"read-committed\"\n\
             compression = \"none\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("5 parsecs"), "{err}");
        let err = toml::from_str::<Sample>(
            "every = \"5s\"\nprobe = \"off\"\nisolation = \"committed\"\ncompression = \"none\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("committed") && err.contains("read-uncommitted"),
            "{err}"
        );
    }
}
