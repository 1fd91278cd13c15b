//! Timestamps. Stored and compared as fixed-width UTC text (`YYYY-MM-DDTHH:MM:SS.mmmZ`) so that text order is
//! time order on every database, and the query language can compare them without database-specific functions.

use chrono::{DateTime, SecondsFormat, Utc};

/// A point in time, truncated to milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    pub fn now() -> Self {
        Self::from_datetime(Utc::now())
    }

    pub fn from_datetime(value: DateTime<Utc>) -> Self {
        let millis = value.timestamp_millis();
        Self(DateTime::from_timestamp_millis(millis).unwrap_or(value))
    }

    pub fn datetime(&self) -> DateTime<Utc> {
        self.0
    }

    /// The storage form, also used on the wire.
    pub fn to_storage(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    pub fn parse_storage(text: &str) -> Option<Self> {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|value| Self::from_datetime(value.with_timezone(&Utc)))
    }

    pub fn plus_seconds(&self, seconds: i64) -> Self {
        Self(self.0 + chrono::Duration::seconds(seconds))
    }

    pub fn plus_millis(&self, millis: i64) -> Self {
        Self(self.0 + chrono::Duration::milliseconds(millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_form_is_fixed_width_and_round_trips() {
        let at = Timestamp::parse_storage("2024-02-03T04:05:06Z").unwrap();
        assert_eq!(at.to_storage(), "2024-02-03T04:05:06.000Z");
        assert_eq!(Timestamp::parse_storage(&at.to_storage()), Some(at));
        let later = at.plus_seconds(1);
        assert!(later.to_storage() > at.to_storage());
    }
}
