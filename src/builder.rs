//! The builders of the configuration types: one setter per field, named as the field (as
//! the official client's `TopicProducerConfigBuilder` and `ConsumerConfigExtBuilder` name
//! theirs), starting from the type's defaults, and `build`. The types are
//! `#[non_exhaustive]`, so a field added later breaks no user.

/// A builder `$builder` of `$target` with a setter per listed field. A field's setter takes
/// its type as is; `into` takes `impl Into<T>`; `some` takes the `T` of an `Option<T>`
/// field; `some_into` takes `impl Into<T>` for an `Option<T>` field.
macro_rules! builder {
    (
        $(#[$meta:meta])*
        $builder:ident => $target:ident {
            $($field:ident: $ty:ty $(=> $how:ident)?),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        #[must_use]
        pub struct $builder($target);

        impl $builder {
            $(builder!(@setter $target, $field, $ty $(, $how)?);)*

            #[doc = concat!("The [`", stringify!($target), "`] so far.")]
            pub fn build(self) -> $target {
                self.0
            }
        }

        impl From<$target> for $builder {
            fn from(config: $target) -> Self {
                Self(config)
            }
        }

        impl $target {
            #[doc = concat!("A [`", stringify!($builder), "`] starting from these settings.")]
            pub fn into_builder(self) -> $builder {
                $builder(self)
            }
        }
    };
    (@setter $target:ident, $field:ident, $ty:ty) => {
        #[doc = concat!("Sets [`", stringify!($target), "::", stringify!($field), "`].")]
        pub fn $field(mut self, $field: $ty) -> Self {
            self.0.$field = $field;
            self
        }
    };
    (@setter $target:ident, $field:ident, $ty:ty, into) => {
        #[doc = concat!("Sets [`", stringify!($target), "::", stringify!($field), "`].")]
        pub fn $field(mut self, $field: impl Into<$ty>) -> Self {
            self.0.$field = $field.into();
            self
        }
    };
    (@setter $target:ident, $field:ident, $ty:ty, some) => {
        #[doc = concat!("Sets [`", stringify!($target), "::", stringify!($field), "`].")]
        pub fn $field(mut self, $field: $ty) -> Self {
            self.0.$field = Some($field);
            self
        }
    };
    (@setter $target:ident, $field:ident, $ty:ty, some_into) => {
        #[doc = concat!("Sets [`", stringify!($target), "::", stringify!($field), "`].")]
        pub fn $field(mut self, $field: impl Into<$ty>) -> Self {
            self.0.$field = Some($field.into());
            self
        }
    };
}

pub(crate) use builder;
