//! Per-organisation changes on top of the generated base: every update, deletion and creation
//! (from `advance` or a write) is kept here, in memory, as the record's latest state. Base data
//! is never stored, so memory grows with the changes made, not with the dataset's size.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{json, Value};

use crate::data::model::{timestamp, Resource};
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

    pub(crate) fn entries(&self) -> impl Iterator<Item = (&String, &Entry)> {
        self.entries.iter()
    }

    fn set(&mut self, id: String, entry: Entry) {
        if let Some(previous) = self.entries.get(&id) {
            self.order.remove(&(previous.updated_ms, id.clone()));
        }
        self.order.insert((entry.updated_ms, id.clone()));
        self.entries.insert(id, entry);
    }
}

/// One organisation's changes, per resource.
#[derive(Debug, Default)]
pub(crate) struct OrgOverlay {
    /// How many `advance` batches ran: the next batch's seed.
    pub batches: u64,
    resources: BTreeMap<Resource, ResourceOverlay>,
}

/// What a read sees for an organisation nothing was ever changed in.
pub(crate) static EMPTY_OVERLAY: OrgOverlay = OrgOverlay {
    batches: 0,
    resources: BTreeMap::new(),
};

impl OrgOverlay {
    pub(crate) fn resource(&self, resource: Resource) -> Option<&ResourceOverlay> {
        self.resources.get(&resource)
    }

    pub(crate) fn resources(&self) -> impl Iterator<Item = (&Resource, &ResourceOverlay)> {
        self.resources.iter()
    }

    pub(crate) fn put(&mut self, resource: Resource, id: String, updated_ms: i64, record: Value) {
        self.resources.entry(resource).or_default().set(
            id,
            Entry {
                updated_ms,
                record: Some(record),
            },
        );
    }

    pub(crate) fn delete(&mut self, resource: Resource, id: String, updated_ms: i64) {
        self.resources.entry(resource).or_default().set(
            id,
            Entry {
                updated_ms,
                record: None,
            },
        );
    }

    /// A fresh id for a record about to be created.
    pub(crate) fn new_id(&mut self, dataset: &Dataset, resource: Resource) -> String {
        let overlay = self.resources.entry(resource).or_default();
        let index = dataset.count(resource) + overlay.created;
        overlay.created += 1;
        resource.id(index)
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
