//! The SC's rule for resource names (topics, groups' coordination topics, ...).

/// The longest resource name the SC accepts.
pub const MAX_NAME_LEN: usize = 63;

/// Whether the SC accepts `name` for a topic: 1 to [`MAX_NAME_LEN`] lowercase ASCII
/// letters, digits and `-`, not starting or ending with `-`.
///
/// ```
/// use actix_fluvio::admin::is_valid_name;
///
/// assert!(is_valid_name("orders-dlq"));
/// assert!(!is_valid_name("Orders_DLQ"));
/// assert!(!is_valid_name("-orders"));
/// ```
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_NAME_LEN && has_valid_chars(name)
}

/// [`is_valid_name`] but for the length: only lowercase ASCII letters, digits and `-`, not
/// at either end (an empty name passes).
pub(crate) fn has_valid_chars(name: &str) -> bool {
    name.bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}
