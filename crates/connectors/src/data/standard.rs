//! The building blocks of records in the standard model: amounts in major units, dates, references, and the
//! rule that a mapped record never carries `null` (a value the platform does not have is left out).

use linkwell_domain::time::Timestamp;
use serde::ser::{SerializeMap as _, Serializer};
use serde::Serialize;
use serde_json::{json, Map, Number, Value};

use crate::data::SourceRecord;

/// Minor units per major unit. Every currency the platforms linkwell maps today use two decimals.
const MINOR_PER_MAJOR: i64 = 100;

/// An integer amount of minor units as a decimal number of major units (1234 → 12.34); `Null` when the value
/// is not an integer.
pub(crate) fn amount(minor: &Value) -> Value {
    minor.as_i64().map_or(Value::Null, amount_of)
}

/// [`amount`] for a known integer. Whole amounts stay integers in JSON (1200 → 12).
pub(crate) fn amount_of(minor: i64) -> Value {
    if minor % MINOR_PER_MAJOR == 0 {
        return json!(minor / MINOR_PER_MAJOR);
    }
    Number::from_f64(minor as f64 / MINOR_PER_MAJOR as f64).map_or(Value::Null, Value::Number)
}

/// An amount of minor units, written as [`amount_of`] writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Amount(pub i64);

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0 % MINOR_PER_MAJOR == 0 {
            serializer.serialize_i64(self.0 / MINOR_PER_MAJOR)
        } else {
            serializer.serialize_f64(self.0 as f64 / MINOR_PER_MAJOR as f64)
        }
    }
}

/// A decimal number of major units as integer minor units, when it has no more than two decimals.
pub(crate) fn minor_units(major: f64) -> Option<i64> {
    let scaled = major * MINOR_PER_MAJOR as f64;
    let rounded = scaled.round();
    ((scaled - rounded).abs() < 1e-6 && rounded.abs() < 9.0e15).then_some(rounded as i64)
}

/// A `YYYY-MM-DD` date as Codat's date-time at midnight (`2024-03-01T00:00:00`).
pub(crate) fn date(value: &Value) -> Value {
    value
        .as_str()
        .and_then(date_text)
        .map_or(Value::Null, Value::String)
}

/// [`date`] of a string; `None` when it is not a `YYYY-MM-DD` date.
pub(crate) fn date_text(day: &str) -> Option<String> {
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .ok()
        .map(|_| format!("{day}T00:00:00"))
}

/// An RFC 3339 timestamp as UTC with milliseconds (`2024-03-01T10:00:00.000Z`).
pub(crate) fn timestamp(value: &Value) -> Value {
    value
        .as_str()
        .and_then(timestamp_text)
        .map_or(Value::Null, Value::String)
}

/// [`timestamp`] of a string; `None` when it is not an RFC 3339 timestamp.
pub(crate) fn timestamp_text(at: &str) -> Option<String> {
    Timestamp::parse_storage(at).map(|at| at.to_storage())
}

/// A reference object `{"id": ...}`; `Null` when there is no id.
pub(crate) fn reference(id: &Value) -> Value {
    match id.as_str() {
        Some(id) => json!({ "id": id }),
        None => Value::Null,
    }
}

/// A reference with the referenced record's name under `name_field` (`name`, `companyName`,
/// ...), when the platform gave one; `Null` when there is no id.
pub(crate) fn named_reference(id: &Value, name_field: &str, name: &Value) -> Value {
    let mut reference = reference(id);
    if let (Some(fields), Some(name)) = (reference.as_object_mut(), name.as_str()) {
        fields.insert(name_field.to_owned(), json!(name));
    }
    reference
}

/// A reference object of the standard model: the id, and the referenced record's name under `name_field`
/// when the platform gave one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ref<'a> {
    id: &'a str,
    name_field: &'static str,
    name: Option<&'a str>,
}

impl<'a> Ref<'a> {
    /// `None` when there is no id.
    pub(crate) fn named(
        id: Option<&'a str>,
        name_field: &'static str,
        name: Option<&'a str>,
    ) -> Option<Self> {
        id.map(|id| Self {
            id,
            name_field,
            name,
        })
    }
}

impl Serialize for Ref<'_> {
    /// Members in name order, as [`named_reference`] has them.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1 + usize::from(self.name.is_some())))?;
        let name = self.name.map(|name| (self.name_field, name));
        if let Some((field, name)) = name.filter(|(field, _)| *field < "id") {
            map.serialize_entry(field, name)?;
        }
        map.serialize_entry("id", self.id)?;
        if let Some((field, name)) = name.filter(|(field, _)| *field > "id") {
            map.serialize_entry(field, name)?;
        }
        map.end()
    }
}

/// `value` translated through `(platform value, standard value)` pairs; `otherwise` for anything else.
pub(crate) fn choice(value: &Value, pairs: &[(&str, &'static str)], otherwise: &str) -> Value {
    let found = value
        .as_str()
        .and_then(|value| pairs.iter().find(|(from, _)| *from == value))
        .map_or(otherwise, |(_, to)| to);
    json!(found)
}

/// Leaves out every `null` member, and every object or array left empty by that, at any depth: the standard
/// model has no nulls of linkwell's making.
pub(crate) fn compact(value: Value) -> Value {
    match value {
        Value::Object(fields) => {
            let kept: Map<String, Value> = fields
                .into_iter()
                .map(|(name, value)| (name, compact(value)))
                .filter(|(_, value)| !is_empty(value))
                .collect();
            Value::Object(kept)
        }
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(compact)
                .filter(|value| !is_empty(value))
                .collect(),
        ),
        other => other,
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(fields) => fields.is_empty(),
        _ => false,
    }
}

/// Why a platform record could not be mapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unmappable(pub String);

/// A platform record with its mapped body as a [`SourceRecord`]; the platform record must carry `id` and
/// `updated_at`.
pub(crate) fn source_record(record: &Value, body: Value) -> Result<SourceRecord, Unmappable> {
    let (id, source_modified) = identity(record)?;
    Ok(SourceRecord {
        id,
        source_modified,
        deleted: false,
        body: Some(body),
    })
}

/// A platform tombstone (`{"id", "deleted": true, "updated_at"}`) as a deleted [`SourceRecord`].
pub(crate) fn tombstone(record: &Value) -> Result<SourceRecord, Unmappable> {
    let (id, source_modified) = identity(record)?;
    Ok(SourceRecord {
        id,
        source_modified,
        deleted: true,
        body: None,
    })
}

fn identity(record: &Value) -> Result<(String, String), Unmappable> {
    identity_of(record["id"].as_str(), record["updated_at"].as_str())
}

/// A platform record's id and when it last changed (RFC 3339 UTC with milliseconds), from its `id` and
/// `updated_at`.
pub(crate) fn identity_of(
    id: Option<&str>,
    updated_at: Option<&str>,
) -> Result<(String, String), Unmappable> {
    let id = id
        .filter(|id| !id.is_empty())
        .ok_or_else(|| Unmappable("a record has no id".to_owned()))?;
    let modified = updated_at
        .and_then(timestamp_text)
        .ok_or_else(|| Unmappable(format!("record {id} has no valid updated_at")))?;
    Ok((id.to_owned(), modified))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_move_between_minor_and_major_units() {
        assert_eq!(amount(&json!(1234)), json!(12.34));
        assert_eq!(amount(&json!(-5)), json!(-0.05));
        assert_eq!(amount(&json!(1200)), json!(12));
        assert_eq!(amount(&json!(0)), json!(0));
        assert_eq!(amount(&json!(null)), Value::Null);
        assert_eq!(amount(&json!("12")), Value::Null);
        assert_eq!(amount(&json!(1234)).to_string(), "12.34");
        assert_eq!(minor_units(12.34), Some(1234));
        assert_eq!(minor_units(0.1 + 0.2), Some(30));
        assert_eq!(minor_units(-99.99), Some(-9999));
        assert_eq!(minor_units(12.345), None);
    }

    #[test]
    fn dates_and_timestamps_take_codat_forms() {
        assert_eq!(date(&json!("2024-03-01")), json!("2024-03-01T00:00:00"));
        assert_eq!(date(&json!("2024-13-01")), Value::Null);
        assert_eq!(
            timestamp(&json!("2024-03-01T10:00:00Z")),
            json!("2024-03-01T10:00:00.000Z")
        );
        assert_eq!(timestamp(&json!("yesterday")), Value::Null);
    }

    #[test]
    fn compact_drops_nulls_and_what_they_leave_empty() {
        let record = json!({
            "a": null,
            "b": {"id": null},
            "c": [null, {"x": 1, "y": null}],
            "d": [],
            "e": 0,
        });
        assert_eq!(compact(record), json!({"c": [{"x": 1}], "d": [], "e": 0}));
    }

    #[test]
    fn source_records_need_an_id_and_a_timestamp() {
        let record = json!({"id": "cus_1", "updated_at": "2024-03-01T10:00:00Z"});
        let mapped = source_record(&record, json!({"id": "cus_1"})).unwrap();
        assert_eq!(mapped.source_modified, "2024-03-01T10:00:00.000Z");
        assert!(!mapped.deleted);
        let gone = tombstone(
            &json!({"id": "cus_1", "deleted": true, "updated_at": "2024-03-02T00:00:00.000Z"}),
        )
        .unwrap();
        assert!(gone.deleted && gone.body.is_none());
        assert!(source_record(&json!({"updated_at": "2024-03-01T10:00:00Z"}), json!({})).is_err());
        assert!(source_record(&json!({"id": "x"}), json!({})).is_err());
    }
}
