//! The platforms' data APIs: deterministic generated datasets per organisation, served page by
//! page with cursors and `updated_since`, with an in-memory overlay of changes (from the
//! `advance` control endpoint and from writes) on top.
//!
//! A dataset is a pure function of (platform, organisation name): every base record is computed
//! from a seed and its index alone, so any page of even `bench-10000000` is made on demand and
//! nothing but the overlay is ever stored.

mod accounting;
mod advance;
mod banking;
mod commerce;
mod model;
mod names;
mod overlay;
mod paging;
mod rng;
pub(crate) mod routes;
mod words;
mod writes;

use serde_json::Value;

use crate::params::{OrganisationName, Platform};

pub(crate) use overlay::DataStore;

use accounting::Accounting;
use banking::Banking;
use commerce::Commerce;
use model::{Profile, Resource};
use overlay::OrgOverlay;

/// An organisation's generated base data on one platform.
pub(crate) enum Dataset {
    Accounting(Accounting),
    Banking(Banking),
    Commerce(Commerce),
}

impl Dataset {
    pub(crate) fn new(platform: Platform, organisation: &OrganisationName) -> Self {
        let profile = Profile::new(platform, organisation);
        match platform {
            Platform::Mqjo => Self::Accounting(Accounting::new(profile)),
            Platform::Bnks => Self::Banking(Banking::new(profile)),
            Platform::Aiwb => Self::Commerce(Commerce::new(profile)),
        }
    }

    pub(crate) fn platform(&self) -> Platform {
        match self {
            Self::Accounting(_) => Platform::Mqjo,
            Self::Banking(_) => Platform::Bnks,
            Self::Commerce(_) => Platform::Aiwb,
        }
    }

    pub(crate) fn profile(&self) -> &Profile {
        match self {
            Self::Accounting(data) => &data.profile,
            Self::Banking(data) => &data.profile,
            Self::Commerce(data) => &data.profile,
        }
    }

    /// How many base records `resource` has (0 for another platform's resource).
    pub(crate) fn count(&self, resource: Resource) -> u64 {
        match self {
            Self::Accounting(data) => data.count(resource),
            Self::Banking(data) => data.count(resource),
            Self::Commerce(data) => data.count(resource),
        }
    }

    /// When base record `index` was last updated; non-decreasing in `index`.
    pub(crate) fn updated_ms(&self, resource: Resource, index: u64) -> i64 {
        match self {
            Self::Accounting(data) => data.updated_ms(resource, index),
            Self::Banking(data) => data.updated_ms(resource, index),
            Self::Commerce(data) => data.updated_ms(resource, index),
        }
    }

    pub(crate) fn record(&self, resource: Resource, index: u64) -> Value {
        match self {
            Self::Accounting(data) => data.record(resource, index),
            Self::Banking(data) => data.record(resource, index),
            Self::Commerce(data) => data.record(resource, index),
        }
    }

    /// The name base record `index` of a named resource is served with (see `names`), made
    /// without generating the whole record; `None` for a resource without names.
    pub(crate) fn base_name(&self, resource: Resource, index: u64) -> Option<String> {
        match self {
            Self::Accounting(data) => data.base_name(resource, index),
            Self::Banking(data) => data.base_name(resource, index),
            Self::Commerce(data) => data.base_name(resource, index),
        }
    }

    /// Whether other base records refer to base record `index`.
    pub(crate) fn base_referenced(&self, resource: Resource, index: u64) -> bool {
        match self {
            Self::Accounting(data) => data.base_referenced(resource, index),
            Self::Banking(data) => data.base_referenced(resource, index),
            Self::Commerce(data) => data.base_referenced(resource, index),
        }
    }

    /// The platform's single-object resource: `company` on mqjo, `store` on aiwb.
    pub(crate) fn single(&self, path: &str) -> Option<Value> {
        match (self, path) {
            (Self::Accounting(data), "company") => Some(data.company()),
            (Self::Commerce(data), "store") => Some(data.store()),
            _ => None,
        }
    }
}

/// An organisation's data as a client sees it: the base with the overlay on top.
pub(crate) struct View<'a> {
    pub dataset: &'a Dataset,
    pub overlay: &'a OrgOverlay,
}

impl View<'_> {
    /// A live record, `None` when unknown or deleted.
    pub(crate) fn get(&self, resource: Resource, id: &str) -> Option<Value> {
        if let Some(entry) = self
            .overlay
            .resource(resource)
            .and_then(|changes| changes.entry(id))
        {
            return entry.record.clone();
        }
        let index = resource.index_of(id)?;
        (index < self.dataset.count(resource)).then(|| self.dataset.record(resource, index))
    }

    /// Whether anything live (other than `id` itself) refers to `id`: base records by
    /// construction, or any record in the overlay that mentions it.
    pub(crate) fn is_referenced(&self, resource: Resource, id: &str) -> bool {
        let in_base = resource.index_of(id).is_some_and(|index| {
            index < self.dataset.count(resource) && self.dataset.base_referenced(resource, index)
        });
        in_base || self.overlay.is_mentioned(id)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::data::overlay::EMPTY_OVERLAY;
    use crate::data::paging::{list, Key, ListQuery};

    fn organisation(name: &str) -> OrganisationName {
        OrganisationName::parse(name).unwrap_or_else(|error| panic!("{error}"))
    }

    fn query(limit: usize, after: Option<Key>, updated_since_ms: Option<i64>) -> ListQuery {
        ListQuery {
            limit,
            after,
            updated_since_ms,
        }
    }

    fn page_ids(page: &paging::Page) -> Vec<&str> {
        page.data
            .iter()
            .map(|record| record["id"].as_str().unwrap_or_default())
            .collect()
    }

    #[test]
    fn the_end_of_a_ten_million_record_list_is_reached_by_cursor() {
        for (platform, resource) in [
            (Platform::Mqjo, Resource::Invoices),
            (Platform::Bnks, Resource::Transactions),
            (Platform::Aiwb, Resource::Orders),
        ] {
            let dataset = Dataset::new(platform, &organisation("bench-10000000"));
            assert_eq!(dataset.count(resource), 10_000_000);
            let index = 9_999_997;
            let after = Key {
                updated_ms: dataset.updated_ms(resource, index),
                id: resource.id(index),
            };
            let page = list(
                &dataset,
                &EMPTY_OVERLAY,
                resource,
                &query(100, Some(after), None),
            );
            assert_eq!(
                page_ids(&page),
                [resource.id(9_999_998), resource.id(9_999_999)]
            );
            assert_eq!(page.next, None);
            let first = list(&dataset, &EMPTY_OVERLAY, resource, &query(3, None, None));
            assert_eq!(
                page_ids(&first),
                [resource.id(0), resource.id(1), resource.id(2)]
            );
            assert_eq!(first.next.map(|key| key.id), Some(resource.id(2)));
        }
    }

    #[test]
    fn derived_collections_of_a_bench_organisation_are_lazy_too() {
        let accounting = Dataset::new(Platform::Mqjo, &organisation("bench-10000000"));
        // Half of each block of ten invoices is (partly) paid.
        assert_eq!(accounting.count(Resource::Payments), 5_000_000);
        let last = accounting.record(Resource::Payments, 4_999_999);
        let invoice = last["invoice_id"].as_str().unwrap_or_default();
        assert!(
            invoice >= Resource::Invoices.id(9_999_990).as_str(),
            "{invoice}"
        );
        assert_eq!(accounting.count(Resource::Customers), 10_000);
        let commerce = Dataset::new(Platform::Aiwb, &organisation("bench-10000000"));
        assert_eq!(commerce.count(Resource::ShopPayments), 9_000_000);
        assert_eq!(commerce.count(Resource::ShopTransactions), 10_000_000);
        let refund = commerce.record(Resource::ShopTransactions, 9_999_999);
        assert_eq!(refund["kind"], "refund");
    }

    #[test]
    fn overlay_changes_merge_into_list_order() {
        let dataset = Dataset::new(Platform::Mqjo, &organisation("demo-small"));
        let mut overlay = OrgOverlay::default();
        let resource = Resource::Customers;
        let count = dataset.count(resource);
        let late = dataset.updated_ms(resource, count - 1) + 1_000;
        // Base record 0 is updated after every base record, record 1 deleted, one created.
        let mut updated = dataset.record(resource, 0);
        updated["name"] = json!("Renamed");
        overlay.put(resource, resource.id(0), late, updated);
        overlay.delete(resource, resource.id(1), late);
        let created = overlay.new_id(&dataset, resource);
        assert_eq!(created, resource.id(count));
        overlay.put(resource, created.clone(), late, json!({ "id": created }));

        let all = list(&dataset, &overlay, resource, &query(500, None, None));
        let ids = page_ids(&all);
        assert_eq!(ids.len() as u64, count);
        assert_eq!(ids[0], resource.id(2));
        assert_eq!(&ids[ids.len() - 2..], [resource.id(0), created.clone()]);
        assert!(!ids.contains(&resource.id(1).as_str()));

        let changes = list(
            &dataset,
            &overlay,
            resource,
            &query(500, None, Some(late - 1)),
        );
        assert_eq!(
            page_ids(&changes),
            [resource.id(0), resource.id(1), created.clone()]
        );
        assert_eq!(changes.data[1]["deleted"], true);

        // Paging one record at a time gives the same sequence.
        let mut after = None;
        let mut walked = Vec::new();
        loop {
            let page = list(&dataset, &overlay, resource, &query(1, after, None));
            walked.extend(page_ids(&page).into_iter().map(str::to_owned));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(walked, ids);

        let view = View {
            dataset: &dataset,
            overlay: &overlay,
        };
        assert!(view.get(resource, &resource.id(1)).is_none());
        assert_eq!(
            view.get(resource, &resource.id(0))
                .map(|record| record["name"].clone()),
            Some(json!("Renamed"))
        );
        assert!(view.get(resource, &resource.id(count + 1)).is_none());
    }

    #[test]
    fn datasets_depend_only_on_platform_and_organisation() {
        let one = Dataset::new(Platform::Mqjo, &organisation("acme"));
        let two = Dataset::new(Platform::Mqjo, &organisation("acme"));
        let other = Dataset::new(Platform::Mqjo, &organisation("acme-2"));
        assert_eq!(
            one.record(Resource::Invoices, 3),
            two.record(Resource::Invoices, 3)
        );
        assert_ne!(
            one.record(Resource::Invoices, 3),
            other.record(Resource::Invoices, 3)
        );
        // The seed is a stable hash, so this dataset's first customer never changes between
        // builds; if this fails, every fixture built on the sandbox changes too.
        let demo = Dataset::new(Platform::Mqjo, &organisation("demo-small"));
        assert_eq!(
            demo.profile().seed,
            crate::data::rng::fnv1a(b"linkwell-sandbox/mqjo/demo-small")
        );
        let customer = demo.record(Resource::Customers, 0);
        assert_eq!(customer["name"], "Beacon Dental Group");
        assert_eq!(customer["email"], "mateo@beacon-dental-group.example.com");
    }
}
