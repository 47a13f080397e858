//! Opaque pagination cursors: the position after the last item returned, base64url JSON.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::{Key, Query, Record, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Position {
    pk: String,
    sk: String,
    /// The index sort key of the last item, for index queries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    isk: Option<IndexSort>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum IndexSort {
    Text(String),
    Number(i64),
}

/// Where the next page starts. Clients see only the encoded string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(String);

impl Cursor {
    /// Parses a cursor a client sent back. Garbage is `BadCursor`, never a panic.
    pub fn parse(raw: &str) -> Result<Self, StoreError> {
        let cursor = Self(raw.to_owned());
        cursor.position()?;
        Ok(cursor)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn after(record: &Record, query: &Query) -> Self {
        let isk = match query {
            Query::Partition { .. } => None,
            Query::Lookup { .. } => record
                .lookup
                .as_ref()
                .map(|(_, s)| IndexSort::Text(s.clone())),
            Query::Due { .. } => record
                .schedule
                .as_ref()
                .map(|(_, at)| IndexSort::Number(*at)),
            Query::Inventory { .. } => record
                .inventory
                .as_ref()
                .map(|(_, s)| IndexSort::Text(s.clone())),
        };
        Self::encode(&Position {
            pk: record.key.pk.clone(),
            sk: record.key.sk.clone(),
            isk,
        })
    }

    /// The position of a partition item with this key (the next page starts after it).
    pub(crate) fn at(key: &Key) -> Self {
        Self::encode(&Position {
            pk: key.pk.clone(),
            sk: key.sk.clone(),
            isk: None,
        })
    }

    /// The position after an inventory sort key: the one cursor every connection listing
    /// answers, whichever index or partition served the page.
    pub(crate) fn after_sort(sort: &str) -> Self {
        Self::encode(&Position {
            pk: String::new(),
            sk: String::new(),
            isk: Some(IndexSort::Text(sort.to_owned())),
        })
    }

    /// The inventory sort key a cursor of [`Cursor::after_sort`] is after.
    pub(crate) fn sort_after(&self) -> Result<String, StoreError> {
        match self.position()? {
            Position {
                isk: Some(IndexSort::Text(sort)),
                pk,
                ..
            } if pk.is_empty() && is_sort_key(&sort) => Ok(sort),
            _ => Err(StoreError::BadCursor),
        }
    }

    fn encode(position: &Position) -> Self {
        let json = serde_json::to_vec(position).expect("a position always serializes");
        Self(URL_SAFE_NO_PAD.encode(json))
    }

    fn position(&self) -> Result<Position, StoreError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(&self.0)
            .map_err(|_| StoreError::BadCursor)?;
        serde_json::from_slice(&bytes).map_err(|_| StoreError::BadCursor)
    }

    /// The start position for `query`, checked to belong to it.
    pub(crate) fn start_for(&self, query: &Query) -> Result<(Key, Option<IndexSort>), StoreError> {
        let p = self.position()?;
        let fits = match (query, &p.isk) {
            (Query::Partition { pk, .. }, None) => &p.pk == pk,
            (Query::Lookup { .. } | Query::Inventory { .. }, Some(IndexSort::Text(_))) => true,
            (Query::Due { .. }, Some(IndexSort::Number(_))) => true,
            _ => false,
        };
        if !fits {
            return Err(StoreError::BadCursor);
        }
        Ok((Key::new(p.pk, p.sk), p.isk))
    }
}

/// `{11 digits}#{connection or event id}`, as `keys::newest_first` writes it: anything else in a
/// client's cursor is refused before it reaches a key condition.
fn is_sort_key(sort: &str) -> bool {
    match sort.split_once('#') {
        Some((time, id)) => {
            time.len() == 11
                && time.bytes().all(|b| b.is_ascii_digit())
                && (id.starts_with("con_") || id.starts_with("evt_"))
                && id.len() > 4
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encoded(pk: &str, sk: &str, isk: Option<&str>) -> String {
        let position = Position {
            pk: pk.to_owned(),
            sk: sk.to_owned(),
            isk: isk.map(|s| IndexSort::Text(s.to_owned())),
        };
        Cursor::encode(&position).0
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        /// Any string a client sends as a cursor parses or is refused, never panics; a
        /// cursor accepted for a partition starts inside that very partition (a cursor
        /// never moves a listing to another account's items); an inventory cursor is only
        /// ever a sort key Latchkey writes.
        #[test]
        fn client_cursors_never_panic_nor_cross_partitions(
            raw in "\\PC{0,80}",
            pk in "[A-Z#a-z_0-9]{0,20}",
            sk in "\\PC{0,20}",
            isk in proptest::option::of("[0-9#a-z_]{0,24}"),
        ) {
            let mine = Query::Partition { pk: "ACCOUNT#acc_mine".into(), sk_prefix: "CONSUMER#".into() };
            for text in [raw.clone(), encoded(&pk, &sk, isk.as_deref())] {
                if let Ok(cursor) = Cursor::parse(&text) {
                    if let Ok((key, _)) = cursor.start_for(&mine) {
                        prop_assert_eq!(key.pk, "ACCOUNT#acc_mine");
                    }
                    if let Ok(sort) = cursor.sort_after() {
                        prop_assert!(is_sort_key(&sort), "{:?}", sort);
                    }
                }
            }
        }
    }
}
