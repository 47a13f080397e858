use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A point in time: epoch seconds, sent as an RFC 3339 UTC timestamp
/// (`2027-01-15T08:30:00Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub i64);

impl From<i64> for Timestamp {
    fn from(secs: i64) -> Self {
        Self(secs)
    }
}

impl Timestamp {
    /// An RFC 3339 time (any offset), as given in a request.
    pub fn parse(text: &str) -> Option<Self> {
        OffsetDateTime::parse(text, &Rfc3339)
            .ok()
            .map(|t| Self(t.unix_timestamp()))
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = OffsetDateTime::from_unix_timestamp(self.0).map_err(|_| std::fmt::Error)?;
        f.write_str(&at.format(&Rfc3339).map_err(|_| std::fmt::Error)?)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        let at = OffsetDateTime::from_unix_timestamp(self.0).map_err(S::Error::custom)?;
        serializer.serialize_str(&at.format(&Rfc3339).map_err(S::Error::custom)?)
    }
}

impl JsonSchema for Timestamp {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Timestamp".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "format": "date-time"})
    }
}

#[cfg(test)]
mod tests {
    use super::Timestamp;

    #[test]
    fn serializes_as_rfc3339_utc() {
        let text = |secs| serde_json::to_value(Timestamp(secs)).unwrap();
        assert_eq!(text(0), "1970-01-01T00:00:00Z");
        assert_eq!(text(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(text(1_800_000_000), "2027-01-15T08:00:00Z");
        assert_eq!(text(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn parses_rfc3339_with_any_offset() {
        assert_eq!(
            Timestamp::parse("2027-01-15T08:00:00Z"),
            Some(Timestamp(1_800_000_000))
        );
        assert_eq!(
            Timestamp::parse("2027-01-15T10:00:00+02:00"),
            Some(Timestamp(1_800_000_000))
        );
        assert_eq!(Timestamp::parse("2027-01-15"), None);
        assert_eq!(Timestamp::parse("tomorrow"), None);
    }
}
