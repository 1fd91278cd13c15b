//! Paging for list endpoints: `limit`, an opaque `cursor` and `updated_since`, answered in
//! (updated, id) order. A cursor is the key of the last record served, so the next page starts
//! strictly after it; base records are in key order by index, so the first base record of a
//! page is found by binary search over indexes and nothing before it is generated. Changed
//! records come from the overlay's ordered index, entered at the cursor or at `updated_since`,
//! so an increment reads the changes it returns and no others.
//!
//! A page is chosen ([`select`]) while the overlay is locked, but its base records are generated
//! ([`Selection::render`]) after the lock is released: generating and serialising 500 records is
//! most of a page's cost, and pulls of other lists or organisations need not wait for it.

use std::cmp::Ordering;
use std::ops::Bound;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::DateTime;
use serde_json::Value;

use crate::data::model::Resource;
use crate::data::overlay::OrgOverlay;
use crate::data::Dataset;
use crate::error::SandboxError;

pub(crate) const DEFAULT_LIMIT: usize = 100;
pub(crate) const MAX_LIMIT: usize = 500;

/// A record's place in list order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Key {
    pub updated_ms: i64,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListQuery {
    pub limit: usize,
    pub after: Option<Key>,
    /// Only records updated strictly after this many milliseconds (fractions rounded down, so
    /// "strictly after" holds for a timestamp given to the microsecond).
    pub updated_since_ms: Option<i64>,
}

impl ListQuery {
    pub(crate) fn parse(
        resource: Resource,
        params: &[(String, String)],
    ) -> Result<Self, SandboxError> {
        let mut query = ListQuery {
            limit: DEFAULT_LIMIT,
            after: None,
            updated_since_ms: None,
        };
        for (name, value) in params {
            match name.as_str() {
                "limit" => {
                    query.limit = value
                        .parse::<usize>()
                        .ok()
                        .filter(|limit| (1..=MAX_LIMIT).contains(limit))
                        .ok_or_else(|| {
                            SandboxError::invalid_request(format!(
                                "limit must be an integer from 1 to {MAX_LIMIT}"
                            ))
                        })?;
                }
                "cursor" => {
                    query.after = Some(decode_cursor(resource, value).ok_or_else(|| {
                        SandboxError::invalid_request("cursor is not a cursor this list handed out")
                    })?);
                }
                "updated_since" => {
                    let since = DateTime::parse_from_rfc3339(value).map_err(|_| {
                        SandboxError::invalid_request(
                            "updated_since must be an RFC 3339 timestamp, e.g. 2024-05-01T12:00:00Z",
                        )
                    })?;
                    let micros = since.timestamp_micros();
                    query.updated_since_ms = Some(micros.div_euclid(1000));
                }
                // Unknown parameters are ignored, as most platforms do.
                _ => {}
            }
        }
        Ok(query)
    }
}

const CURSOR_VERSION: &str = "c1";

pub(crate) fn encode_cursor(resource: Resource, key: &Key) -> String {
    URL_SAFE_NO_PAD.encode(format!(
        "{CURSOR_VERSION}|{}|{}|{}",
        resource.path(),
        key.updated_ms,
        key.id
    ))
}

/// A cursor is accepted only for the list it came from.
pub(crate) fn decode_cursor(resource: Resource, cursor: &str) -> Option<Key> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.splitn(4, '|');
    let (version, path, updated_ms, id) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if version != CURSOR_VERSION || path != resource.path() || id.is_empty() {
        return None;
    }
    Some(Key {
        updated_ms: updated_ms.parse().ok()?,
        id: id.to_owned(),
    })
}

/// One page of a list.
pub(crate) struct Page {
    pub data: Vec<Value>,
    pub next: Option<Key>,
}

/// Where a record of a page comes from.
enum Row {
    /// Base record `index`, generated when the page is rendered.
    Base(u64),
    /// A record (or tombstone) from the overlay, copied out of it.
    Changed(Value),
}

/// The records of a page, chosen but not yet generated.
pub(crate) struct Selection {
    rows: Vec<Row>,
    next: Option<Key>,
}

impl Selection {
    pub(crate) fn render(self, dataset: &Dataset, resource: Resource) -> Page {
        let data = self
            .rows
            .into_iter()
            .map(|row| match row {
                Row::Base(index) => dataset.record(resource, index),
                Row::Changed(record) => record,
            })
            .collect();
        Page {
            data,
            next: self.next,
        }
    }
}

/// The first index in `0..count` for which `is_before` is false; `is_before` must be true on a
/// prefix of the indexes only.
fn partition_point(count: u64, is_before: impl Fn(u64) -> bool) -> u64 {
    let (mut low, mut high) = (0, count);
    while low < high {
        let middle = low + (high - low) / 2;
        if is_before(middle) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    low
}

/// Where a page starts in the overlay's (updated, id) order: after the cursor, and for an
/// increment at the first change after `updated_since`, whichever is later.
fn overlay_start(query: &ListQuery) -> Bound<(i64, String)> {
    let after_cursor = query
        .after
        .as_ref()
        .map(|after| (after.updated_ms, after.id.clone()));
    // Ids are never empty, so (since + 1, "") sorts before every change made after `since`.
    let after_since = query
        .updated_since_ms
        .map(|since| (since.saturating_add(1), String::new()));
    match (after_cursor, after_since) {
        (Some(cursor), Some(since)) if since > cursor => Bound::Included(since),
        (Some(cursor), _) => Bound::Excluded(cursor),
        (None, Some(since)) => Bound::Included(since),
        (None, None) => Bound::Unbounded,
    }
}

/// Chooses the records of one page: base records in index order, minus those the overlay
/// holds, merged with the overlay's changes in (updated, id) order.
pub(crate) fn select(
    dataset: &Dataset,
    overlay: &OrgOverlay,
    resource: Resource,
    query: &ListQuery,
) -> Selection {
    let count = dataset.count(resource);
    let base_key = |index: u64| Key {
        updated_ms: dataset.updated_ms(resource, index),
        id: resource.id(index),
    };
    let mut index = 0;
    if let Some(after) = &query.after {
        index = partition_point(count, |i| base_key(i) <= *after);
    }
    if let Some(since) = query.updated_since_ms {
        index = index.max(partition_point(count, |i| {
            dataset.updated_ms(resource, i) <= since
        }));
    }
    let changes = overlay.resource(resource);
    let overridden =
        |index: u64| changes.is_some_and(|changes| changes.entry(&resource.id(index)).is_some());
    let mut overlay_entries = changes
        .into_iter()
        .flat_map(|changes| {
            changes
                .ordered()
                .range((overlay_start(query), Bound::Unbounded))
                .filter_map(|(updated_ms, id)| Some((*updated_ms, id, changes.entry(id)?)))
        })
        // A plain listing leaves deleted records out; an incremental one reports them.
        .filter(|(_, _, entry)| query.updated_since_ms.is_some() || entry.record.is_some())
        .peekable();

    let mut picked: Vec<(Key, Row)> = Vec::with_capacity(query.limit + 1);
    while picked.len() <= query.limit {
        while index < count && overridden(index) {
            index += 1;
        }
        let from_base = (index < count).then(|| base_key(index));
        let take_base = match (&from_base, overlay_entries.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(base), Some((updated_ms, id, _))) => {
                (base.updated_ms, &base.id).cmp(&(*updated_ms, *id)) == Ordering::Less
            }
        };
        if take_base {
            if let Some(key) = from_base {
                picked.push((key, Row::Base(index)));
            }
            index += 1;
        } else if let Some((updated_ms, id, entry)) = overlay_entries.next() {
            let key = Key {
                updated_ms,
                id: id.clone(),
            };
            picked.push((key, Row::Changed(entry.to_json(id))));
        }
    }
    let next = if picked.len() > query.limit {
        picked.truncate(query.limit);
        picked.last().map(|(key, _)| key.clone())
    } else {
        None
    };
    Selection {
        rows: picked.into_iter().map(|(_, row)| row).collect(),
        next,
    }
}

/// One page of a list, chosen and generated at once.
#[cfg(test)]
pub(crate) fn list(
    dataset: &Dataset,
    overlay: &OrgOverlay,
    resource: Resource,
    query: &ListQuery,
) -> Page {
    select(dataset, overlay, resource, query).render(dataset, resource)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn cursors_round_trip_and_are_bound_to_their_list() {
        let key = Key {
            updated_ms: 1_700_000_000_123,
            id: "inv_0000000042".into(),
        };
        let cursor = encode_cursor(Resource::Invoices, &key);
        assert_eq!(decode_cursor(Resource::Invoices, &cursor), Some(key));
        assert_eq!(decode_cursor(Resource::Bills, &cursor), None);
        assert_eq!(decode_cursor(Resource::Invoices, "not a cursor"), None);
        assert_eq!(decode_cursor(Resource::Invoices, ""), None);
    }

    #[test]
    fn query_parameters_are_checked() {
        let parse = |pairs: &[(&str, &str)]| ListQuery::parse(Resource::Invoices, &params(pairs));
        assert_eq!(parse(&[]).map(|q| q.limit).ok(), Some(DEFAULT_LIMIT));
        assert_eq!(parse(&[("limit", "500")]).map(|q| q.limit).ok(), Some(500));
        for bad in ["0", "501", "-1", "ten", ""] {
            assert!(parse(&[("limit", bad)]).is_err(), "{bad}");
        }
        assert!(parse(&[("cursor", "garbage")]).is_err());
        assert!(parse(&[("updated_since", "yesterday")]).is_err());
        let since = parse(&[("updated_since", "2024-01-01T00:00:00.000999+00:00")])
            .ok()
            .and_then(|q| q.updated_since_ms);
        assert_eq!(since, Some(1_704_067_200_000));
    }
}
