//! Typed ids: an account's, a consumer's, an integration's, a connection's. Functions take
//! the id they mean, so two ids cannot be passed in each other's place. Each is a type
//! prefix and 128 random bits in base32 (`con_3q2x…`, see [`crate::token::new_id`]); on
//! the wire and in the store it is the plain string.

use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};

macro_rules! id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
            schemars::JsonSchema,
        )]
        #[serde(transparent)]
        #[schemars(inline)]
        pub struct $name(String);

        impl $name {
            /// A fresh, unguessable id.
            pub fn generate() -> Self {
                Self(crate::token::new_id($prefix))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        /// Reads as the plain id wherever text is wanted (keys, URLs, log fields).
        impl Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        /// An id as it arrives (a path segment, a token's claim): unchecked, because one
        /// that names nothing simply finds nothing.
        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl From<&$name> for String {
            fn from(id: &$name) -> Self {
                id.0.clone()
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

id!(
    /// A vendor's account (`acc_…`).
    AccountId,
    "acc"
);
id!(
    /// A consumer, the vendor's customer (`csm_…`).
    ConsumerId,
    "csm"
);
id!(
    /// An integration of an account's catalog (`int_…`).
    IntegrationId,
    "int"
);
id!(
    /// A consumer's connection to an integration (`con_…`).
    ConnectionId,
    "con"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefixed_unguessable_and_plain_on_the_wire() {
        let a = ConnectionId::generate();
        assert!(a.starts_with("con_") && a.len() == 30, "{a}");
        assert_ne!(a, ConnectionId::generate());
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, format!("\"{a}\""));
        assert_eq!(serde_json::from_str::<ConnectionId>(&json).unwrap(), a);
    }
}
