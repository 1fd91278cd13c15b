//! `advance`: a deterministic batch of changes to an organisation, as if its users had been at
//! work between two pulls. Batch k of an organisation is seeded by (dataset seed, k), so the
//! same sequence of calls changes the same records everywhere; changes are stamped with the
//! sandbox clock's now.

use std::collections::{BTreeMap, HashSet};

use serde_json::{json, Map, Value};

use crate::data::banking::{random_movement, transaction_json, TransactionFields};
use crate::data::commerce::{tax_basis_points, transaction_json as sale_json};
use crate::data::model::{date, timestamp, Resource};
use crate::data::overlay::OrgOverlay;
use crate::data::rng::{fnv1a, Rng};
use crate::data::{words, writes, Dataset, View};

/// What a batch changed, by kind and resource path.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    pub created: BTreeMap<&'static str, Vec<String>>,
    pub updated: BTreeMap<&'static str, Vec<String>>,
    pub deleted: BTreeMap<&'static str, Vec<String>>,
    pub changes: u64,
}

impl Summary {
    pub(crate) fn to_json(&self) -> Value {
        let count = |kind: &BTreeMap<&str, Vec<String>>| kind.values().map(Vec::len).sum::<usize>();
        json!({
            "changes": self.changes,
            "counts": {
                "created": count(&self.created),
                "updated": count(&self.updated),
                "deleted": count(&self.deleted),
            },
            "created": self.created,
            "updated": self.updated,
            "deleted": self.deleted,
        })
    }
}

struct Batch<'a> {
    dataset: &'a Dataset,
    overlay: &'a mut OrgOverlay,
    now_ms: i64,
    rng: Rng,
    summary: Summary,
    /// Records this batch already changed: each change is to a different record.
    touched: HashSet<String>,
}

/// How many random records a change looks at to find one it applies to.
const PICK_TRIES: usize = 64;

impl Batch<'_> {
    fn view(&self) -> View<'_> {
        View {
            dataset: self.dataset,
            overlay: self.overlay,
        }
    }

    /// A random live record of `resource` that `wanted` accepts.
    fn pick(
        &mut self,
        resource: Resource,
        wanted: impl Fn(&View<'_>, &str, &Value) -> bool,
    ) -> Option<(String, Value)> {
        let total = self.dataset.count(resource) + self.overlay.created(resource);
        if total == 0 {
            return None;
        }
        for _ in 0..PICK_TRIES {
            let id = resource.id(self.rng.below(total));
            if self.touched.contains(&id) {
                continue;
            }
            let view = self.view();
            if let Some(record) = view.get(resource, &id) {
                if wanted(&view, &id, &record) {
                    return Some((id, record));
                }
            }
        }
        None
    }

    fn update(&mut self, resource: Resource, id: String, mut record: Value) {
        record["updated_at"] = json!(timestamp(self.now_ms));
        self.touched.insert(id.clone());
        self.summary
            .updated
            .entry(resource.path())
            .or_default()
            .push(id.clone());
        self.summary.changes += 1;
        self.overlay.put(resource, id, self.now_ms, record);
    }

    fn create(&mut self, resource: Resource, fields: Value) -> String {
        let id = self.overlay.new_id(self.dataset, resource);
        let mut record = fields;
        record["id"] = json!(id);
        record["created_at"] = json!(timestamp(self.now_ms));
        record["updated_at"] = json!(timestamp(self.now_ms));
        self.touched.insert(id.clone());
        self.summary
            .created
            .entry(resource.path())
            .or_default()
            .push(id.clone());
        self.summary.changes += 1;
        self.overlay.put(resource, id.clone(), self.now_ms, record);
        id
    }

    /// Builds a record through the same validation as the write API, then creates it.
    fn create_valid(&mut self, resource: Resource, input: Value) -> Option<String> {
        let id = resource.id(self.dataset.count(resource) + self.overlay.created(resource));
        let input: Map<String, Value> = input.as_object().cloned().unwrap_or_default();
        let fields = writes::build(&self.view(), resource, &id, &input, None).ok()?;
        Some(self.create(resource, fields))
    }

    fn delete(&mut self, resource: Resource, id: String) {
        self.touched.insert(id.clone());
        self.summary
            .deleted
            .entry(resource.path())
            .or_default()
            .push(id.clone());
        self.summary.changes += 1;
        self.overlay.delete(resource, id, self.now_ms);
    }

    fn remaining(&self, target: u64) -> u64 {
        target.saturating_sub(self.summary.changes)
    }
}

/// Applies `target` changes (creates, updates and deletes) to the organisation.
pub(crate) fn advance(
    dataset: &Dataset,
    overlay: &mut OrgOverlay,
    now_ms: i64,
    target: u64,
) -> Summary {
    let seed = dataset.profile().seed;
    let rng = Rng::for_record(seed, fnv1a(b"advance"), overlay.batches);
    overlay.batches += 1;
    let mut batch = Batch {
        dataset,
        overlay,
        now_ms,
        rng,
        summary: Summary::default(),
        touched: HashSet::new(),
    };
    // Some changes find nothing to apply to (no draft invoice left…); another is tried, within
    // a bound so a batch always ends.
    let mut attempts = 0;
    while batch.remaining(target) > 0 && attempts < target * 20 + 20 {
        attempts += 1;
        let action = batch.rng.below(100);
        match dataset {
            Dataset::Accounting(_) => accounting_change(&mut batch, action, target),
            Dataset::Banking(_) => banking_change(&mut batch, action),
            Dataset::Commerce(_) => commerce_change(&mut batch, action, target),
        }
    }
    batch.summary
}

fn status_is(record: &Value, status: &str) -> bool {
    record["status"] == status
}

fn unpaid(record: &Value) -> bool {
    record["amount_paid_minor"].as_i64() == Some(0)
}

fn accounting_change(batch: &mut Batch<'_>, action: u64, target: u64) {
    let today = date(batch.now_ms);
    match action {
        // A customer's contact details change.
        0..=14 => {
            if let Some((id, mut record)) = batch.pick(Resource::Customers, |_, _, _| true) {
                let mut rng = batch.rng.clone();
                record["phone"] = json!(words::phone(&mut rng, batch.dataset.profile().country));
                let (first, last) = words::person(&mut rng);
                record["contact_name"] = json!(format!("{first} {last}"));
                batch.rng = rng;
                batch.update(Resource::Customers, id, record);
            }
        }
        // A draft invoice is approved.
        15..=29 => {
            if let Some((id, mut record)) = batch.pick(Resource::Invoices, |_, _, record| {
                status_is(record, "draft")
            }) {
                record["status"] = json!("open");
                batch.update(Resource::Invoices, id, record);
            }
        }
        // An open invoice is paid in full: a payment and the invoice change.
        30..=44 if batch.remaining(target) >= 2 => {
            if let Some((id, mut record)) = batch.pick(Resource::Invoices, |_, _, record| {
                status_is(record, "open") && record["amount_due_minor"].as_i64().unwrap_or(0) > 0
            }) {
                let due = record["amount_due_minor"].as_i64().unwrap_or(0);
                let paid = record["amount_paid_minor"].as_i64().unwrap_or(0);
                let payment = json!({
                    "invoice_id": id,
                    "customer_id": record["customer_id"],
                    "amount_minor": due,
                    "currency": record["currency"],
                    "paid_on": today,
                    "method": "bank_transfer",
                    "account_id": Resource::Accounts.id(0),
                    "reference": record["number"],
                });
                batch.create(Resource::Payments, payment);
                record["amount_paid_minor"] = json!(paid + due);
                record["amount_due_minor"] = json!(0);
                record["status"] = json!("paid");
                batch.update(Resource::Invoices, id, record);
            }
        }
        // A new invoice for an existing customer.
        45..=59 => {
            let customer = batch.pick(Resource::Customers, |_, _, record| {
                status_is(record, "active")
            });
            let items: Vec<String> = (0..batch.rng.between(1, 3))
                .filter_map(|_| {
                    batch.pick(Resource::Items, |_, _, record| status_is(record, "active"))
                })
                .map(|(id, _)| id)
                .collect();
            if let (Some((customer, _)), false) = (customer, items.is_empty()) {
                let lines: Vec<Value> = items
                    .iter()
                    .map(|item| json!({ "item_id": item, "quantity": batch.rng.between(1, 5) }))
                    .collect();
                batch.create_valid(
                    Resource::Invoices,
                    json!({ "customer_id": customer, "issue_date": today, "status": "open", "lines": lines }),
                );
            }
        }
        // A new customer.
        60..=69 => {
            let mut rng = batch.rng.clone();
            let name = words::company_name(&mut rng);
            let (first, last) = words::person(&mut rng);
            batch.rng = rng;
            batch.create_valid(
                Resource::Customers,
                json!({
                    "name": name,
                    "contact_name": format!("{first} {last}"),
                    "email": format!("{}@{}.example.com", words::slug(first), words::slug(&name)),
                }),
            );
        }
        // An item's price goes up 5%.
        70..=79 => {
            if let Some((id, mut record)) = batch.pick(Resource::Items, |_, _, _| true) {
                let price = record["unit_price_minor"].as_i64().unwrap_or(0);
                record["unit_price_minor"] = json!(price + price / 20);
                batch.update(Resource::Items, id, record);
            }
        }
        // A draft invoice is deleted.
        80..=89 => {
            if let Some((id, _)) = batch.pick(Resource::Invoices, |_, _, record| {
                status_is(record, "draft") && unpaid(record)
            }) {
                batch.delete(Resource::Invoices, id);
            }
        }
        // A customer nothing refers to is deleted.
        _ => {
            if let Some((id, _)) = batch.pick(Resource::Customers, |view, id, _| {
                !view.is_referenced(Resource::Customers, id)
            }) {
                batch.delete(Resource::Customers, id);
            }
        }
    }
}

fn banking_change(batch: &mut Batch<'_>, action: u64) {
    let currency = batch.dataset.profile().currency;
    match action {
        // A new transaction on an account.
        0..=39 => {
            if let Some((account, _)) = batch.pick(Resource::BankingAccounts, |_, _, _| true) {
                let account = Resource::BankingAccounts.index_of(&account).unwrap_or(0);
                let (category, counterparty, amount) = random_movement(&mut batch.rng);
                let pending = batch.rng.chance(30);
                let reference = batch.rng.below(1_000_000);
                let record = transaction_json(&TransactionFields {
                    account,
                    category,
                    amount,
                    currency,
                    description: format!("{} {reference}", counterparty.to_uppercase()),
                    counterparty,
                    pending,
                    booking_date: date(batch.now_ms),
                    value_date: date(batch.now_ms),
                });
                batch.create(Resource::Transactions, record);
            }
        }
        // A pending transaction is booked.
        40..=59 => {
            if let Some((id, mut record)) = batch.pick(Resource::Transactions, |_, _, record| {
                status_is(record, "pending")
            }) {
                record["status"] = json!("booked");
                record["booking_date"] = json!(date(batch.now_ms));
                batch.update(Resource::Transactions, id, record);
            }
        }
        // A pending transaction disappears (an authorisation that was never taken).
        60..=69 => {
            if let Some((id, _)) = batch.pick(Resource::Transactions, |_, _, record| {
                status_is(record, "pending")
            }) {
                batch.delete(Resource::Transactions, id);
            }
        }
        // A transaction is recategorised.
        70..=84 => {
            if let Some((id, mut record)) = batch.pick(Resource::Transactions, |_, _, record| {
                status_is(record, "booked")
            }) {
                let uncategorised = Resource::TransactionCategories.id(15);
                let category = if record["category_id"] == uncategorised.as_str() {
                    Resource::TransactionCategories.id(14)
                } else {
                    uncategorised
                };
                record["category_id"] = json!(category);
                batch.update(Resource::Transactions, id, record);
            }
        }
        // A balance moves.
        _ => {
            if let Some((id, mut record)) = batch.pick(Resource::Balances, |_, _, _| true) {
                let change = batch.rng.between(-50_000, 50_000);
                for field in ["current", "available"] {
                    let value = record[field]["minor_units"].as_i64().unwrap_or(0);
                    record[field]["minor_units"] = json!(value + change);
                }
                record["as_of"] = json!(timestamp(batch.now_ms));
                batch.update(Resource::Balances, id, record);
            }
        }
    }
}

fn commerce_change(batch: &mut Batch<'_>, action: u64, target: u64) {
    let profile = batch.dataset.profile().clone();
    match action {
        // A new order, paid at once: the order, its payment and the sale.
        0..=29 if batch.remaining(target) >= 3 => {
            let Some((customer, customer_record)) =
                batch.pick(Resource::ShopCustomers, |_, _, _| true)
            else {
                return;
            };
            let Some((product, product_record)) = batch.pick(Resource::Products, |_, _, record| {
                status_is(record, "active")
            }) else {
                return;
            };
            let Some(variant) = product_record["variants"]
                .as_array()
                .and_then(|variants| variants.first())
                .cloned()
            else {
                return;
            };
            let quantity = batch.rng.between(1, 3);
            let price = variant["price_cents"].as_i64().unwrap_or(0);
            let subtotal = price * quantity;
            let shipping = if subtotal >= 5_000 { 0 } else { 495 };
            let tax = crate::data::accounting::tax_on(
                subtotal + shipping,
                tax_basis_points(profile.country),
            );
            let total = subtotal + shipping + tax;
            let order_index =
                batch.dataset.count(Resource::Orders) + batch.overlay.created(Resource::Orders);
            let order_id = Resource::Orders.id(order_index);
            let location =
                Resource::Locations.id(batch.rng.below(batch.dataset.count(Resource::Locations)));
            let order = json!({
                "order_number": 1001 + order_index,
                "name": format!("#{}", 1001 + order_index),
                "customer_id": customer,
                "email": customer_record["email"],
                "location_id": location,
                "currency_code": profile.currency,
                "financial_status": "paid",
                "fulfillment_status": "unfulfilled",
                "line_items": [{
                    "id": format!("{}_l1", order_id.replacen("ord_", "li_", 1)),
                    "product_id": product,
                    "variant_id": variant["id"],
                    "title": product_record["title"],
                    "variant_title": variant["title"],
                    "sku": variant["sku"],
                    "quantity": quantity,
                    "price_cents": price,
                    "total_cents": subtotal,
                }],
                "subtotal_cents": subtotal,
                "shipping_cents": shipping,
                "tax_cents": tax,
                "total_cents": total,
                "placed_at": timestamp(batch.now_ms),
                "cancelled_at": null,
            });
            let order_id = batch.create(Resource::Orders, order);
            let payment = json!({
                "order_id": order_id,
                "amount_cents": total,
                "currency_code": profile.currency,
                "gateway": "card",
                "status": "captured",
                "card_brand": "visa",
                "card_last4": format!("{:04}", batch.rng.below(10_000)),
                "processed_at": timestamp(batch.now_ms),
            });
            let payment_id = batch.create(Resource::ShopPayments, payment);
            let mut sale = sale_json(&profile, order_index, 0, false, total, batch.now_ms);
            sale["payment_id"] = json!(payment_id);
            batch.create(Resource::ShopTransactions, sale);
        }
        // An order ships.
        30..=49 => {
            if let Some((id, mut record)) = batch.pick(Resource::Orders, |_, _, record| {
                record["financial_status"] == "paid"
                    && record["fulfillment_status"] == "unfulfilled"
            }) {
                record["fulfillment_status"] = json!("fulfilled");
                batch.update(Resource::Orders, id, record);
            }
        }
        // Stock is counted again.
        50..=64 => {
            if let Some((id, mut record)) = batch.pick(Resource::Products, |_, _, _| true) {
                let quantity = batch.rng.between(0, 300);
                if let Some(variant) = record["variants"].get_mut(0) {
                    variant["inventory_quantity"] = json!(quantity);
                }
                batch.update(Resource::Products, id, record);
            }
        }
        // A customer changes their marketing preference.
        65..=79 => {
            if let Some((id, mut record)) = batch.pick(Resource::ShopCustomers, |_, _, _| true) {
                let accepts = record["accepts_marketing"].as_bool().unwrap_or(false);
                record["accepts_marketing"] = json!(!accepts);
                batch.update(Resource::ShopCustomers, id, record);
            }
        }
        // A new customer signs up.
        80..=89 => {
            let (first, last) = words::person(&mut batch.rng);
            let number = batch.rng.below(1_000_000);
            batch.create(
                Resource::ShopCustomers,
                json!({
                    "first_name": first,
                    "last_name": last,
                    "email": format!("{}.{}{number}@mail.example.com", words::slug(first), words::slug(last)),
                    "phone": null,
                    "accepts_marketing": false,
                    "state": "enabled",
                    "default_address": null,
                    "tags": [],
                }),
            );
        }
        // An unpaid order is deleted.
        _ => {
            if let Some((id, _)) = batch.pick(Resource::Orders, |view, id, record| {
                record["financial_status"] == "pending" && !view.is_referenced(Resource::Orders, id)
            }) {
                batch.delete(Resource::Orders, id);
            }
        }
    }
}
