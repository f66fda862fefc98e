//! Declarative helpers that write the `Encode`/`Decode` impls of plain wire structs and
//! fieldless enums, so each message file states only its fields and their version ranges.

/// A struct whose fields are encoded in declaration order.
///
/// A field followed by `=> RANGE` is on the wire only when the API version is in `RANGE`
/// (e.g. `=> 3..` or `=> 11..=18`); otherwise it keeps its default when decoding.
macro_rules! wire_struct {
    (@in $v:ident) => { true };
    (@in $v:ident, $range:expr) => { ($range).contains(&$v) };
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                $fvis:vis $field:ident : $ty:ty $(=> $range:expr)?
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq)]
        #[cfg_attr(test, derive(proptest_derive::Arbitrary))]
        $vis struct $name {
            $( $(#[$fmeta])* $fvis $field: $ty, )*
        }

        impl $crate::protocol::Encode for $name {
            #[allow(unused_variables)]
            fn encode<B: ::bytes::BufMut>(
                &self,
                buf: &mut B,
                version: $crate::protocol::Version,
            ) -> ::std::result::Result<(), $crate::protocol::EncodeError> {
                $(
                    if wire_struct!(@in version $(, $range)?) {
                        $crate::protocol::Encode::encode(&self.$field, buf, version)?;
                    }
                )*
                Ok(())
            }

            #[allow(unused_variables)]
            fn encoded_len(&self, version: $crate::protocol::Version) -> usize {
                0 $(
                    + if wire_struct!(@in version $(, $range)?) {
                        $crate::protocol::Encode::encoded_len(&self.$field, version)
                    } else {
                        0
                    }
                )*
            }
        }

        impl $crate::protocol::Decode for $name {
            #[allow(unused_variables)]
            fn decode<B: ::bytes::Buf>(
                buf: &mut B,
                version: $crate::protocol::Version,
            ) -> ::std::result::Result<Self, $crate::protocol::DecodeError> {
                Ok(Self {
                    $(
                        $field: if wire_struct!(@in version $(, $range)?) {
                            $crate::protocol::Decode::decode(buf, version)?
                        } else {
                            ::std::default::Default::default()
                        },
                    )*
                })
            }
        }
    };
}

/// A fieldless enum carried as its tag (`u8` unless another integer type is named).
/// The variant marked `#[default]` is the default.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident : $repr:ty {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $tag:literal
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
        #[cfg_attr(test, derive(proptest_derive::Arbitrary))]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )*
        }

        impl $name {
            /// The tag this value has on the wire.
            pub fn tag(self) -> $repr {
                match self {
                    $( Self::$variant => $tag, )*
                }
            }

            /// The value with wire tag `tag`, if there is one.
            pub fn from_tag(tag: $repr) -> Option<Self> {
                match tag {
                    $( $tag => Some(Self::$variant), )*
                    _ => None,
                }
            }
        }

        impl $crate::protocol::Encode for $name {
            fn encode<B: ::bytes::BufMut>(
                &self,
                buf: &mut B,
                version: $crate::protocol::Version,
            ) -> ::std::result::Result<(), $crate::protocol::EncodeError> {
                $crate::protocol::Encode::encode(&self.tag(), buf, version)
            }

            fn encoded_len(&self, _: $crate::protocol::Version) -> usize {
                ::std::mem::size_of::<$repr>()
            }
        }

        impl $crate::protocol::Decode for $name {
            fn decode<B: ::bytes::Buf>(
                buf: &mut B,
                version: $crate::protocol::Version,
            ) -> ::std::result::Result<Self, $crate::protocol::DecodeError> {
                let tag = <$repr as $crate::protocol::Decode>::decode(buf, version)?;
                Self::from_tag(tag).ok_or($crate::protocol::DecodeError::UnknownTag {
                    what: stringify!($name),
                    tag: tag as i64,
                })
            }
        }
    };
}
