//! Names beside references. A record that points at a customer, supplier, account, item, tax
//! rate, transaction category or location carries that record's current name next to its id
//! (`customer_id` and `customer_name`), as most platforms embed them, so a reader need not fetch
//! every referenced record to show a document.
//!
//! Names are added when a record is served and never stored: a renamed customer shows its new
//! name on every document that points at it, including generated ones. A base record's name is
//! computed from its index (cheaply: no whole record is generated for it); the overlay keeps the
//! names of the named records it holds, so a rename or a created record is found by id.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::data::model::Resource;
use crate::data::Dataset;
use crate::params::Platform;

/// Names of the named records an overlay holds live, by id (ids are unique across resources).
pub(crate) type OverlayNames = Arc<HashMap<String, String>>;

/// Whether other records refer to `resource` by id and show its name beside the id.
pub(crate) fn is_named(resource: Resource) -> bool {
    matches!(
        resource,
        Resource::Customers
            | Resource::Suppliers
            | Resource::Accounts
            | Resource::Items
            | Resource::TaxRates
            | Resource::TransactionCategories
            | Resource::ShopCustomers
            | Resource::Locations
    )
}

/// The name a `resource` record goes by: its `name`, or a shop customer's first and last name.
pub(crate) fn name_of(resource: Resource, record: &Value) -> Option<String> {
    if resource == Resource::ShopCustomers {
        let parts: Vec<&str> = ["first_name", "last_name"]
            .iter()
            .filter_map(|field| record[*field].as_str())
            .filter(|part| !part.is_empty())
            .collect();
        return (!parts.is_empty()).then(|| parts.join(" "));
    }
    record["name"].as_str().map(str::to_owned)
}

/// The named resource a `field` of a `platform` record refers to, with the field its name goes in.
fn target(platform: Platform, field: &str) -> Option<(Resource, &'static str)> {
    let target = match (platform, field) {
        (Platform::Mqjo, "customer_id") => (Resource::Customers, "customer_name"),
        (Platform::Mqjo, "supplier_id") => (Resource::Suppliers, "supplier_name"),
        (Platform::Mqjo, "account_id") => (Resource::Accounts, "account_name"),
        (Platform::Mqjo, "sales_account_id") => (Resource::Accounts, "sales_account_name"),
        (Platform::Mqjo, "purchase_account_id") => (Resource::Accounts, "purchase_account_name"),
        (Platform::Mqjo, "item_id") => (Resource::Items, "item_name"),
        (Platform::Mqjo, "tax_rate_id") => (Resource::TaxRates, "tax_rate_name"),
        (Platform::Bnks, "category_id") => (Resource::TransactionCategories, "category_name"),
        (Platform::Aiwb, "customer_id") => (Resource::ShopCustomers, "customer_name"),
        (Platform::Aiwb, "location_id") => (Resource::Locations, "location_name"),
        _ => return None,
    };
    Some(target)
}

/// Where the names of one organisation's records come from while records are served.
pub(crate) struct Names<'a> {
    dataset: &'a Dataset,
    overlay: Option<OverlayNames>,
}

impl<'a> Names<'a> {
    pub(crate) fn new(dataset: &'a Dataset, overlay: Option<OverlayNames>) -> Self {
        Self { dataset, overlay }
    }

    /// The current name of record `id` of `resource`: the overlay's if it holds the record,
    /// otherwise the base record's (a deleted base record keeps its name). `None` for an id
    /// that never existed or a created record since deleted.
    pub(crate) fn name(&self, resource: Resource, id: &str) -> Option<String> {
        if let Some(name) = self.overlay.as_ref().and_then(|names| names.get(id)) {
            return Some(name.clone());
        }
        let index = resource.index_of(id)?;
        if index < self.dataset.count(resource) {
            self.dataset.base_name(resource, index)
        } else {
            None
        }
    }

    /// Adds the names of the records `record` refers to, at its top level and on its lines.
    pub(crate) fn embed(&self, record: &mut Value) {
        let platform = self.dataset.platform();
        let Some(fields) = record.as_object_mut() else {
            return;
        };
        self.embed_fields(platform, fields);
        if let Some(Value::Array(lines)) = fields.get_mut("lines") {
            for line in lines {
                if let Some(line) = line.as_object_mut() {
                    self.embed_fields(platform, line);
                }
            }
        }
    }

    fn embed_fields(&self, platform: Platform, fields: &mut Map<String, Value>) {
        let mut found = Vec::new();
        for (field, value) in fields.iter() {
            let (Some((resource, name_field)), Some(id)) =
                (target(platform, field), value.as_str())
            else {
                continue;
            };
            if let Some(name) = self.name(resource, id) {
                found.push((name_field, name));
            }
        }
        for (field, name) in found {
            fields.insert(field.to_owned(), Value::String(name));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::data::overlay::OrgOverlay;
    use crate::params::OrganisationName;

    fn dataset(platform: Platform, name: &str) -> Dataset {
        let organisation = OrganisationName::parse(name).unwrap_or_else(|error| panic!("{error}"));
        Dataset::new(platform, &organisation)
    }

    #[test]
    fn a_base_name_is_the_name_its_record_is_served_with() {
        for platform in [Platform::Mqjo, Platform::Bnks, Platform::Aiwb] {
            let dataset = dataset(platform, "demo-medium");
            let mut named = 0;
            for resource in Resource::of(platform).filter(|resource| is_named(*resource)) {
                named += 1;
                let count = dataset.count(resource);
                assert!(count > 0, "{resource:?}");
                for index in (0..count).step_by((count as usize / 40).max(1)) {
                    let record = dataset.record(resource, index);
                    let name = dataset.base_name(resource, index);
                    assert!(name.is_some(), "{resource:?} {index}");
                    assert_eq!(name, name_of(resource, &record), "{resource:?} {index}");
                }
            }
            assert!(named > 0, "{platform} has no named resource");
        }
    }

    #[test]
    fn documents_show_the_current_names_of_what_they_refer_to() {
        let dataset = dataset(Platform::Mqjo, "demo-small");
        let mut invoice = dataset.record(Resource::Invoices, 4);
        let customer = invoice["customer_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let customer_index = Resource::Customers.index_of(&customer).unwrap_or(u64::MAX);
        let base_name = name_of(
            Resource::Customers,
            &dataset.record(Resource::Customers, customer_index),
        );

        let names = Names::new(&dataset, None);
        names.embed(&mut invoice);
        assert_eq!(invoice["customer_name"].as_str(), base_name.as_deref());
        let lines = invoice["lines"].as_array().cloned().unwrap_or_default();
        assert!(!lines.is_empty());
        for line in &lines {
            let account = line["account_id"].as_str().unwrap_or_default();
            let account_index = Resource::Accounts.index_of(account).unwrap_or(u64::MAX);
            assert_eq!(
                line["account_name"],
                dataset.record(Resource::Accounts, account_index)["name"]
            );
            let tax_rate = line["tax_rate_id"].as_str().unwrap_or_default();
            let tax_index = Resource::TaxRates.index_of(tax_rate).unwrap_or(u64::MAX);
            assert_eq!(
                line["tax_rate_name"],
                dataset.record(Resource::TaxRates, tax_index)["name"]
            );
            if let Some(item) = line["item_id"].as_str() {
                let item_index = Resource::Items.index_of(item).unwrap_or(u64::MAX);
                assert_eq!(
                    line["item_name"],
                    dataset.record(Resource::Items, item_index)["name"]
                );
            } else {
                assert!(line.get("item_name").is_none(), "{line}");
            }
        }

        // Renamed in the overlay: the same generated invoice now shows the new name.
        let mut overlay = OrgOverlay::default();
        let mut renamed = dataset.record(Resource::Customers, customer_index);
        renamed["name"] = json!("Renamed Trading Ltd");
        overlay.put(Resource::Customers, customer.clone(), 1, renamed);
        let mut again = dataset.record(Resource::Invoices, 4);
        Names::new(&dataset, overlay.names()).embed(&mut again);
        assert_eq!(again["customer_name"], "Renamed Trading Ltd");

        // Deleted: a base customer keeps its last base name; a created one that is gone has none.
        overlay.delete(Resource::Customers, customer.clone(), 2);
        let names = Names::new(&dataset, overlay.names());
        assert_eq!(names.name(Resource::Customers, &customer), base_name);
        let created = overlay.new_id(&dataset, Resource::Customers);
        overlay.put(
            Resource::Customers,
            created.clone(),
            3,
            json!({ "name": "New Customer Ltd" }),
        );
        assert_eq!(
            Names::new(&dataset, overlay.names())
                .name(Resource::Customers, &created)
                .as_deref(),
            Some("New Customer Ltd")
        );
        overlay.delete(Resource::Customers, created.clone(), 4);
        assert_eq!(
            Names::new(&dataset, overlay.names()).name(Resource::Customers, &created),
            None
        );
        assert_eq!(names.name(Resource::Customers, "cus_9999999999"), None);
    }

    #[test]
    fn banking_and_commerce_references_are_named_too() {
        let banking = dataset(Platform::Bnks, "demo-small");
        let mut transaction = banking.record(Resource::Transactions, 0);
        Names::new(&banking, None).embed(&mut transaction);
        let category = transaction["category_id"].as_str().unwrap_or_default();
        let index = Resource::TransactionCategories
            .index_of(category)
            .unwrap_or(u64::MAX);
        assert_eq!(
            transaction["category_name"],
            banking.record(Resource::TransactionCategories, index)["name"]
        );
        // An account is not a named target on the banking platform.
        assert!(transaction.get("account_name").is_none(), "{transaction}");

        let commerce = dataset(Platform::Aiwb, "demo-small");
        let mut order = commerce.record(Resource::Orders, 0);
        Names::new(&commerce, None).embed(&mut order);
        let customer = order["customer_id"].as_str().unwrap_or_default();
        let index = Resource::ShopCustomers
            .index_of(customer)
            .unwrap_or(u64::MAX);
        let record = commerce.record(Resource::ShopCustomers, index);
        assert_eq!(
            order["customer_name"],
            format!(
                "{} {}",
                record["first_name"].as_str().unwrap_or_default(),
                record["last_name"].as_str().unwrap_or_default()
            )
        );
        assert!(order["location_name"].is_string(), "{order}");
    }
}
