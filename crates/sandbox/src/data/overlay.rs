//! Per-organisation changes on top of the generated base: every update, deletion and creation
//! (from `advance` or a write) is kept here, in memory, as the record's latest state. Base data
//! is never stored, so memory grows with the changes made, not with the dataset's size.
//!
//! Alongside, the overlay counts which ids its live records refer to, so asking whether a record
//! may be deleted is a lookup rather than a scan of every change: `advance` asks it many times
//! per batch, and an organisation with tens of thousands of changes must not slow down with each.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{json, Value};

use crate::data::model::{timestamp, Resource};
use crate::data::names::{is_named, name_of, OverlayNames};
use crate::data::Dataset;
use crate::params::{OrganisationName, Platform};

/// A record's latest state in the overlay.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub updated_ms: i64,
    /// `None` once deleted: a tombstone.
    pub record: Option<Value>,
}

impl Entry {
    pub(crate) fn to_json(&self, id: &str) -> Value {
        match &self.record {
            Some(record) => record.clone(),
            None => tombstone(id, self.updated_ms),
        }
    }
}

pub(crate) fn tombstone(id: &str, updated_ms: i64) -> Value {
    json!({ "id": id, "deleted": true, "updated_at": timestamp(updated_ms) })
}

#[derive(Debug, Default)]
pub(crate) struct ResourceOverlay {
    entries: HashMap<String, Entry>,
    /// The entries by (updated, id): the order lists are served in.
    order: BTreeSet<(i64, String)>,
    /// How many records were created, so new ids continue after the base ones.
    created: u64,
}

impl ResourceOverlay {
    pub(crate) fn entry(&self, id: &str) -> Option<&Entry> {
        self.entries.get(id)
    }

    pub(crate) fn ordered(&self) -> &BTreeSet<(i64, String)> {
        &self.order
    }

    /// Stores `entry` as the latest state of `id`, returning the state it replaces.
    fn set(&mut self, id: String, entry: Entry) -> Option<Entry> {
        if let Some(previous) = self.entries.get(&id) {
            self.order.remove(&(previous.updated_ms, id.clone()));
        }
        self.order.insert((entry.updated_ms, id.clone()));
        self.entries.insert(id, entry)
    }
}

/// Whether `text` has the shape of a record id, `<letters>_<10 digits>`. Only such strings are
/// counted as references; names and descriptions never are.
fn is_record_id(text: &str) -> bool {
    text.rsplit_once('_').is_some_and(|(prefix, digits)| {
        !prefix.is_empty()
            && prefix.bytes().all(|b| b.is_ascii_lowercase())
            && digits.len() == 10
            && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

/// Every record id `value` mentions anywhere, other than `own` (a record's own id is no
/// reference to it).
fn referenced_ids<'a>(value: &'a Value, own: &str, found: &mut Vec<&'a str>) {
    match value {
        Value::String(text) if text != own && is_record_id(text) => found.push(text),
        Value::Array(items) => items
            .iter()
            .for_each(|item| referenced_ids(item, own, found)),
        Value::Object(fields) => fields
            .values()
            .for_each(|field| referenced_ids(field, own, found)),
        _ => {}
    }
}

/// One organisation's changes, per resource.
#[derive(Debug, Default)]
pub(crate) struct OrgOverlay {
    /// How many `advance` batches ran: the next batch's seed.
    pub batches: u64,
    resources: BTreeMap<Resource, ResourceOverlay>,
    /// For each id, how many times live overlay records (other than its own) mention it.
    references: BTreeMap<String, u64>,
    /// Creations by `Idempotency-Key`: what was asked, and the record it made.
    idempotent: BTreeMap<String, Remembered>,
    /// The names of the live named records held here (see `names`). Shared with the pages being
    /// rendered after the lock is released; a change copies it only while one is.
    names: Option<OverlayNames>,
}

/// A creation made under an `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Remembered {
    pub resource: Resource,
    pub request: Vec<u8>,
    pub id: String,
}

/// What a read sees for an organisation nothing was ever changed in.
pub(crate) static EMPTY_OVERLAY: OrgOverlay = OrgOverlay {
    batches: 0,
    resources: BTreeMap::new(),
    references: BTreeMap::new(),
    idempotent: BTreeMap::new(),
    names: None,
};

impl OrgOverlay {
    pub(crate) fn resource(&self, resource: Resource) -> Option<&ResourceOverlay> {
        self.resources.get(&resource)
    }

    pub(crate) fn put(&mut self, resource: Resource, id: String, updated_ms: i64, record: Value) {
        self.set(
            resource,
            id,
            Entry {
                updated_ms,
                record: Some(record),
            },
        );
    }

    pub(crate) fn delete(&mut self, resource: Resource, id: String, updated_ms: i64) {
        self.set(
            resource,
            id,
            Entry {
                updated_ms,
                record: None,
            },
        );
    }

    fn set(&mut self, resource: Resource, id: String, entry: Entry) {
        if is_named(resource) {
            let names = std::sync::Arc::make_mut(self.names.get_or_insert_with(Default::default));
            match entry
                .record
                .as_ref()
                .and_then(|record| name_of(resource, record))
            {
                Some(name) => names.insert(id.clone(), name),
                None => names.remove(&id),
            };
        }
        if let Some(record) = &entry.record {
            let mut found = Vec::new();
            referenced_ids(record, &id, &mut found);
            for referenced in found {
                *self.references.entry(referenced.to_owned()).or_default() += 1;
            }
        }
        let previous = self
            .resources
            .entry(resource)
            .or_default()
            .set(id.clone(), entry);
        if let Some(record) = previous.and_then(|previous| previous.record) {
            let mut found = Vec::new();
            referenced_ids(&record, &id, &mut found);
            for referenced in found {
                if let Some(count) = self.references.get_mut(referenced) {
                    *count -= 1;
                    if *count == 0 {
                        self.references.remove(referenced);
                    }
                }
            }
        }
    }

    /// The names of the live named records held here, for serving records that refer to them.
    pub(crate) fn names(&self) -> Option<OverlayNames> {
        self.names.clone()
    }

    /// Whether a live overlay record other than `id`'s own mentions `id`.
    pub(crate) fn is_mentioned(&self, id: &str) -> bool {
        self.references.get(id).is_some_and(|count| *count > 0)
    }

    /// A fresh id for a record about to be created.
    pub(crate) fn new_id(&mut self, dataset: &Dataset, resource: Resource) -> String {
        let overlay = self.resources.entry(resource).or_default();
        let index = dataset.count(resource) + overlay.created;
        overlay.created += 1;
        resource.id(index)
    }

    /// The creation made earlier under `key`, if any.
    pub(crate) fn remembered(&self, key: &str) -> Option<&Remembered> {
        self.idempotent.get(key)
    }

    /// Remembers a creation made under `key`.
    pub(crate) fn remember(&mut self, key: String, creation: Remembered) {
        self.idempotent.insert(key, creation);
    }

    /// How many ids were handed out for new records of `resource`.
    pub(crate) fn created(&self, resource: Resource) -> u64 {
        self.resource(resource).map_or(0, |overlay| overlay.created)
    }
}

/// Every organisation's overlay, per platform. Only organisations something was written to or
/// advanced have an entry.
#[derive(Debug, Default)]
pub(crate) struct DataStore {
    orgs: HashMap<(Platform, OrganisationName), OrgOverlay>,
}

impl DataStore {
    pub(crate) fn get(&self, platform: Platform, organisation: &OrganisationName) -> &OrgOverlay {
        self.orgs
            .get(&(platform, organisation.clone()))
            .unwrap_or(&EMPTY_OVERLAY)
    }

    pub(crate) fn get_mut(
        &mut self,
        platform: Platform,
        organisation: &OrganisationName,
    ) -> &mut OrgOverlay {
        self.orgs
            .entry((platform, organisation.clone()))
            .or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_follow_the_latest_state_of_each_record() {
        let mut overlay = OrgOverlay::default();
        let customer = Resource::Customers.id(3);
        let invoice = Resource::Invoices.id(7);
        overlay.put(
            Resource::Customers,
            customer.clone(),
            1,
            json!({ "id": customer, "name": "Acme" }),
        );
        assert!(
            !overlay.is_mentioned(&customer),
            "a record's own id is no reference"
        );
        overlay.put(
            Resource::Invoices,
            invoice.clone(),
            2,
            json!({ "id": invoice, "customer_id": customer, "lines": [{ "item_id": "itm_0000000001" }] }),
        );
        assert!(overlay.is_mentioned(&customer));
        assert!(overlay.is_mentioned("itm_0000000001"));
        assert!(!overlay.is_mentioned("Acme"));
        // Moved to another customer, then deleted: nothing refers to either any more.
        overlay.put(
            Resource::Invoices,
            invoice.clone(),
            3,
            json!({ "id": invoice, "customer_id": "cus_0000000004", "lines": [] }),
        );
        assert!(!overlay.is_mentioned(&customer));
        assert!(overlay.is_mentioned("cus_0000000004"));
        overlay.delete(Resource::Invoices, invoice, 4);
        assert!(!overlay.is_mentioned("cus_0000000004"));
        assert!(!overlay.is_mentioned("itm_0000000001"));
    }

    #[test]
    fn only_id_shaped_strings_are_references() {
        assert!(is_record_id("inv_0000000042"));
        assert!(is_record_id("acct_0000000001"));
        assert!(!is_record_id("inv_42"));
        assert!(!is_record_id("_0000000042"));
        assert!(!is_record_id("INV_0000000042"));
        assert!(!is_record_id("var_0000000001_v1"));
    }
}
