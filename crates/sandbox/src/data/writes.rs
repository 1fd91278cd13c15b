//! Writes: validating a create or update body into a full record, the way a real platform
//! would. Every problem is collected and reported by field path (`lines[0].item_id`), and every
//! reference must point at a live record of the organisation.

mod ledger;

use chrono::NaiveDate;
use serde_json::{json, Map, Value};

use crate::data::accounting::{tax_on, ACCOUNT_TYPES};
use crate::data::commerce::variant_id;
use crate::data::model::{Profile, Resource};
use crate::data::View;
use crate::error::FieldError;

const MAX_LINES: usize = 100;

/// Reads typed fields out of a JSON object, collecting an error per bad field.
struct Input<'a> {
    fields: &'a Map<String, Value>,
    path: String,
    errors: &'a mut Vec<FieldError>,
}

impl<'a> Input<'a> {
    fn error(&mut self, name: &str, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: format!("{}{name}", self.path),
            message: message.into(),
        });
    }

    /// The value, `None` when absent or null.
    fn value(&self, name: &str) -> Option<&'a Value> {
        self.fields.get(name).filter(|value| !value.is_null())
    }

    fn string(&mut self, name: &str, required: bool, max_len: usize) -> Option<String> {
        match self.value(name) {
            None => {
                if required {
                    self.error(name, "is required");
                }
                None
            }
            Some(Value::String(text)) if text.trim().is_empty() && required => {
                self.error(name, "must not be empty");
                None
            }
            Some(Value::String(text)) if text.chars().count() > max_len => {
                self.error(name, format!("must be at most {max_len} characters"));
                None
            }
            Some(Value::String(text)) => Some(text.clone()),
            Some(_) => {
                self.error(name, "must be a string");
                None
            }
        }
    }

    fn one_of(&mut self, name: &str, allowed: &[&str], default: Option<&str>) -> Option<String> {
        match self.string(name, default.is_none(), 40) {
            Some(value) if allowed.contains(&value.as_str()) => Some(value),
            Some(_) => {
                self.error(name, format!("must be one of {}", allowed.join(", ")));
                None
            }
            None => default.map(str::to_owned),
        }
    }

    fn integer(&mut self, name: &str, required: bool, min: i64, max: i64) -> Option<i64> {
        match self.value(name) {
            None => {
                if required {
                    self.error(name, "is required");
                }
                None
            }
            Some(value) => match value.as_i64().filter(|n| (min..=max).contains(n)) {
                Some(n) => Some(n),
                None => {
                    self.error(name, format!("must be an integer from {min} to {max}"));
                    None
                }
            },
        }
    }

    fn date(&mut self, name: &str, required: bool) -> Option<NaiveDate> {
        let text = self.string(name, required, 10)?;
        let parsed = NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok();
        if parsed.is_none() {
            self.error(name, "must be a date as YYYY-MM-DD");
        }
        parsed
    }

    fn currency(&mut self, name: &str, default: &str) -> String {
        match self.string(name, false, 3) {
            Some(code) if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) => code,
            Some(_) => {
                self.error(name, "must be an ISO 4217 code such as GBP");
                default.to_owned()
            }
            None => default.to_owned(),
        }
    }

    /// A reference to a live record of `resource`, returned with the record.
    fn reference(
        &mut self,
        view: &View<'_>,
        name: &str,
        resource: Resource,
        required: bool,
    ) -> Option<(String, Value)> {
        let id = self.string(name, required, 64)?;
        match view.get(resource, &id) {
            Some(record) => Some((id, record)),
            None => {
                self.error(name, format!("no {} with id {id:?}", resource.singular()));
                None
            }
        }
    }

    fn array(&mut self, name: &str, max: usize) -> Option<&'a Vec<Value>> {
        match self.value(name) {
            None => {
                self.error(name, "is required");
                None
            }
            Some(Value::Array(items)) if items.is_empty() => {
                self.error(name, "must have at least one entry");
                None
            }
            Some(Value::Array(items)) if items.len() > max => {
                self.error(name, format!("must have at most {max} entries"));
                None
            }
            Some(Value::Array(items)) => Some(items),
            Some(_) => {
                self.error(name, "must be an array");
                None
            }
        }
    }

    /// The object at `items[position]`, as an input of its own.
    fn nested<'b>(&'b mut self, name: &str, position: usize, item: &'b Value) -> Option<Input<'b>> {
        match item.as_object() {
            Some(fields) => Some(Input {
                fields,
                path: format!("{}{name}[{position}].", self.path),
                errors: self.errors,
            }),
            None => {
                self.error(&format!("{name}[{position}]"), "must be an object");
                None
            }
        }
    }
}

/// Validates `input` (the request body, merged over the existing record for an update) into the
/// fields of a `resource` record, without id and timestamps. `existing` is the record being
/// updated; `id` is the id the record has or will have.
pub(crate) fn build(
    view: &View<'_>,
    resource: Resource,
    id: &str,
    input: &Map<String, Value>,
    existing: Option<&Value>,
) -> Result<Value, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut fields = Input {
        fields: input,
        path: String::new(),
        errors: &mut errors,
    };
    let profile = view.dataset.profile();
    let record = match resource {
        Resource::Customers | Resource::Suppliers => party(&mut fields, profile),
        Resource::Items => item(&mut fields, view, profile),
        Resource::Accounts => account(&mut fields, view, profile, id),
        Resource::Invoices | Resource::Bills => {
            document(&mut fields, view, profile, resource, id, existing)
        }
        Resource::Payments => ledger::payment(&mut fields, view, profile),
        Resource::JournalEntries => ledger::journal_entry(&mut fields, view, profile, id),
        Resource::Products => product(&mut fields, profile, id, existing),
        _ => json!({}),
    };
    if errors.is_empty() {
        Ok(record)
    } else {
        Err(errors)
    }
}

/// Other records that change when `record`, a new `resource` record built by [`build`], is
/// created: a payment pays down its invoice. Each comes as (resource, id, new state); the caller
/// stamps and stores them with the record itself.
pub(crate) fn consequences(
    view: &View<'_>,
    resource: Resource,
    record: &Value,
) -> Vec<(Resource, String, Value)> {
    match resource {
        Resource::Payments => record["invoice_id"]
            .as_str()
            .and_then(|id| Some((id, view.get(Resource::Invoices, id)?)))
            .map(|(id, invoice)| {
                (
                    Resource::Invoices,
                    id.to_owned(),
                    ledger::paid_down(&invoice, record),
                )
            })
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

fn party(fields: &mut Input<'_>, profile: &Profile) -> Value {
    let name = fields.string("name", true, 200);
    let contact_name = fields.string("contact_name", false, 200);
    let email = fields.string("email", false, 254);
    if let Some(email) = &email {
        let at = email.find('@');
        if at.is_none_or(|at| at == 0 || at + 1 == email.len()) || email.contains(' ') {
            fields.error("email", "must be an e-mail address");
        }
    }
    let phone = fields.string("phone", false, 40);
    let address = match fields.value("billing_address") {
        None => Value::Null,
        Some(Value::Object(address)) => {
            let mut errors = Vec::new();
            let mut nested = Input {
                fields: address,
                path: "billing_address.".into(),
                errors: &mut errors,
            };
            let line1 = nested.string("line1", false, 200);
            let city = nested.string("city", false, 100);
            let postal_code = nested.string("postal_code", false, 20);
            let country = nested.string("country", false, 2);
            if country.as_ref().is_some_and(|code| {
                code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase())
            }) {
                nested.error("country", "must be an ISO 3166 alpha-2 code such as GB");
            }
            fields.errors.append(&mut errors);
            json!({ "line1": line1, "city": city, "postal_code": postal_code, "country": country })
        }
        Some(_) => {
            fields.error("billing_address", "must be an object");
            Value::Null
        }
    };
    let currency = fields.currency("currency", profile.currency);
    let tax_number = fields.string("tax_number", false, 40);
    let terms = fields
        .integer("payment_terms_days", false, 0, 365)
        .unwrap_or(30);
    let status = fields.one_of("status", &["active", "archived"], Some("active"));
    json!({
        "name": name,
        "contact_name": contact_name,
        "email": email,
        "phone": phone,
        "billing_address": address,
        "currency": currency,
        "tax_number": tax_number,
        "payment_terms_days": terms,
        "status": status,
    })
}

/// A reference to an account whose type is one of `types`.
fn account_of_type(
    fields: &mut Input<'_>,
    view: &View<'_>,
    name: &str,
    types: &[&str],
) -> Option<String> {
    let (id, account) = fields.reference(view, name, Resource::Accounts, false)?;
    let kind = account["type"].as_str().unwrap_or_default();
    if types.contains(&kind) {
        Some(id)
    } else {
        fields.error(
            name,
            format!(
                "account {id} is a {kind} account; this needs a {} account",
                types.join(" or ")
            ),
        );
        None
    }
}

const SALES_ACCOUNT: u64 = 11;

fn item(fields: &mut Input<'_>, view: &View<'_>, profile: &Profile) -> Value {
    let code = fields.string("code", true, 30);
    let name = fields.string("name", true, 200);
    let kind = fields.one_of("type", &["service", "inventory"], None);
    let description = fields.string("description", false, 1000);
    let unit_price = fields.integer("unit_price_minor", true, 0, i64::from(i32::MAX));
    let purchase_price = fields.integer("purchase_price_minor", false, 0, i64::from(i32::MAX));
    let currency = fields.currency("currency", profile.currency);
    let sales_account = if fields.value("sales_account_id").is_some() {
        account_of_type(fields, view, "sales_account_id", &["revenue"])
    } else {
        Some(Resource::Accounts.id(SALES_ACCOUNT))
    };
    let purchase_account =
        account_of_type(fields, view, "purchase_account_id", &["expense", "asset"]);
    let tax_rate = if fields.value("tax_rate_id").is_some() {
        fields
            .reference(view, "tax_rate_id", Resource::TaxRates, false)
            .map(|(id, _)| id)
    } else {
        Some(Resource::TaxRates.id(0))
    };
    let status = fields.one_of("status", &["active", "archived"], Some("active"));
    json!({
        "code": code,
        "name": name,
        "type": kind,
        "description": description,
        "unit_price_minor": unit_price,
        "purchase_price_minor": purchase_price,
        "currency": currency,
        "sales_account_id": sales_account,
        "purchase_account_id": purchase_account,
        "tax_rate_id": tax_rate,
        "status": status,
    })
}

fn account(fields: &mut Input<'_>, view: &View<'_>, profile: &Profile, id: &str) -> Value {
    let code = fields.string("code", true, 10);
    if let Some(code) = &code {
        if !code.bytes().all(|b| b.is_ascii_digit()) {
            fields.error("code", "must be digits only");
        } else if account_code_taken(view, code, id) {
            fields.error("code", format!("account code {code} is already used"));
        }
    }
    let name = fields.string("name", true, 150);
    let kind = fields.one_of("type", &ACCOUNT_TYPES, None);
    let sub_type = fields
        .string("sub_type", false, 40)
        .unwrap_or_else(|| "other".into());
    let description = fields.string("description", false, 1000);
    let currency = fields.currency("currency", profile.currency);
    let status = fields.one_of("status", &["active", "archived"], Some("active"));
    json!({
        "code": code,
        "name": name,
        "type": kind,
        "sub_type": sub_type,
        "description": description,
        "currency": currency,
        "status": status,
    })
}

/// Whether a live account other than `id` has `code`. The chart is small (tens of base
/// accounts plus the created ones), so it is scanned.
fn account_code_taken(view: &View<'_>, code: &str, id: &str) -> bool {
    let total = view.dataset.count(Resource::Accounts) + view.overlay.created(Resource::Accounts);
    (0..total)
        .map(|index| Resource::Accounts.id(index))
        .filter(|other| other != id)
        .filter_map(|other| view.get(Resource::Accounts, &other))
        .any(|account| account["code"] == code)
}

fn document(
    fields: &mut Input<'_>,
    view: &View<'_>,
    profile: &Profile,
    resource: Resource,
    id: &str,
    existing: Option<&Value>,
) -> Value {
    let bills = resource == Resource::Bills;
    let (party_field, party_resource) = if bills {
        ("supplier_id", Resource::Suppliers)
    } else {
        ("customer_id", Resource::Customers)
    };
    let party = fields.reference(view, party_field, party_resource, true);
    let issue_date = fields.date("issue_date", true);
    let due_date = fields.date("due_date", false);
    let terms = party
        .as_ref()
        .and_then(|(_, record)| record["payment_terms_days"].as_i64())
        .unwrap_or(30);
    let due_date = match (issue_date, due_date) {
        (Some(issue), Some(due)) if due < issue => {
            fields.error("due_date", "must not be before issue_date");
            None
        }
        (_, Some(due)) => Some(due),
        (Some(issue), None) => issue.checked_add_days(chrono::Days::new(terms as u64)),
        (None, None) => None,
    };
    let statuses: &[&str] = if existing.is_some() {
        &["draft", "open", "void"]
    } else {
        &["draft", "open"]
    };
    let status = fields.one_of("status", statuses, Some("draft"));
    let currency = fields.currency("currency", profile.currency);
    let reference = fields.string("reference", false, 100);
    let number = match existing {
        Some(record) => record["number"].clone(),
        None => {
            let index = resource.index_of(id).unwrap_or_default();
            json!(format!(
                "{}-{:07}",
                if bills { "BILL" } else { "INV" },
                index + 1
            ))
        }
    };
    let mut lines = Vec::new();
    let (mut subtotal, mut tax) = (0, 0);
    if let Some(items) = fields.array("lines", MAX_LINES) {
        for (position, item) in items.iter().enumerate() {
            let Some(mut line) = fields.nested("lines", position, item) else {
                continue;
            };
            if let Some(built) = document_line(&mut line, view, bills) {
                subtotal += built["subtotal_minor"].as_i64().unwrap_or(0);
                tax += built["tax_minor"].as_i64().unwrap_or(0);
                let mut built = built;
                built["line_number"] = json!(position + 1);
                lines.push(built);
            }
        }
    }
    let total = subtotal + tax;
    let status = status.unwrap_or_else(|| "draft".into());
    let amount_due = if status == "void" { 0 } else { total };
    let mut record = json!({
        "number": number,
        "status": status,
        "issue_date": issue_date.map(|date| date.to_string()),
        "due_date": due_date.map(|date| date.to_string()),
        "currency": currency,
        "reference": reference,
        "lines": lines,
        "subtotal_minor": subtotal,
        "tax_minor": tax,
        "total_minor": total,
        "amount_paid_minor": 0,
        "amount_due_minor": amount_due,
    });
    record[party_field] = json!(party.map(|(id, _)| id));
    record
}

fn document_line(line: &mut Input<'_>, view: &View<'_>, bills: bool) -> Option<Value> {
    // A line given an item takes its defaults from it; when the item is unknown, that is the
    // one error reported for them.
    let item_given = line.value("item_id").is_some();
    let item = line.reference(view, "item_id", Resource::Items, false);
    let item_record = item.as_ref().map(|(_, record)| record);
    let description = line
        .string("description", !item_given, 1000)
        .or_else(|| item_record.and_then(|record| record["name"].as_str().map(str::to_owned)));
    let quantity = match line.value("quantity") {
        None => {
            line.error("quantity", "is required");
            None
        }
        Some(value) => match value.as_f64().filter(|q| *q > 0.0 && *q <= 1_000_000.0) {
            Some(quantity) => Some((value.clone(), quantity)),
            None => {
                line.error("quantity", "must be a number above 0 and at most 1000000");
                None
            }
        },
    };
    let price_field = if bills {
        "purchase_price_minor"
    } else {
        "unit_price_minor"
    };
    let unit_price = match line.integer("unit_price_minor", false, 0, i64::from(i32::MAX)) {
        Some(price) => Some(price),
        None if line.value("unit_price_minor").is_some() => None,
        None => match item_record.and_then(|record| {
            record[price_field]
                .as_i64()
                .or_else(|| record["unit_price_minor"].as_i64())
        }) {
            Some(price) => Some(price),
            None => {
                if !item_given {
                    line.error(
                        "unit_price_minor",
                        "is required when the line has no item_id",
                    );
                }
                None
            }
        },
    };
    let account_types: &[&str] = if bills {
        &["expense", "asset"]
    } else {
        &["revenue"]
    };
    let account = if line.value("account_id").is_some() {
        account_of_type(line, view, "account_id", account_types)
    } else {
        let item_account = if bills {
            "purchase_account_id"
        } else {
            "sales_account_id"
        };
        let from_item =
            item_record.and_then(|record| record[item_account].as_str().map(str::to_owned));
        if from_item.is_none() && item.is_some() == item_given {
            line.error(
                "account_id",
                "is required when the line's item has no such account",
            );
        }
        from_item
    };
    let tax_rate = if line.value("tax_rate_id").is_some() {
        line.reference(view, "tax_rate_id", Resource::TaxRates, false)
            .map(|(id, record)| (Some(id), record["rate_basis_points"].as_i64().unwrap_or(0)))
    } else {
        let id = item_record.and_then(|record| record["tax_rate_id"].as_str().map(str::to_owned));
        let basis_points = id
            .as_ref()
            .and_then(|id| view.get(Resource::TaxRates, id))
            .and_then(|record| record["rate_basis_points"].as_i64())
            .unwrap_or(0);
        Some((id, basis_points))
    };
    let ((quantity_json, quantity), unit_price, account, (tax_rate_id, basis_points)) =
        (quantity?, unit_price?, account?, tax_rate?);
    let subtotal = (quantity * unit_price as f64).round() as i64;
    let tax = tax_on(subtotal, basis_points);
    Some(json!({
        "item_id": item.map(|(id, _)| id),
        "description": description,
        "quantity": quantity_json,
        "unit_price_minor": unit_price,
        "account_id": account,
        "tax_rate_id": tax_rate_id,
        "subtotal_minor": subtotal,
        "tax_minor": tax,
        "total_minor": subtotal + tax,
    }))
}

fn product(fields: &mut Input<'_>, profile: &Profile, id: &str, existing: Option<&Value>) -> Value {
    let title = fields.string("title", true, 255);
    let handle = fields
        .string("handle", false, 255)
        .or_else(|| title.as_ref().map(|title| crate::data::words::slug(title)));
    let product_type = fields.string("product_type", false, 255);
    let vendor = fields.string("vendor", false, 255);
    let status = fields.one_of("status", &["active", "draft", "archived"], Some("active"));
    let tags: Vec<String> = match fields.value("tags") {
        None => Vec::new(),
        Some(Value::Array(tags)) if tags.iter().all(Value::is_string) => tags
            .iter()
            .filter_map(|tag| tag.as_str().map(str::to_owned))
            .collect(),
        Some(_) => {
            fields.error("tags", "must be an array of strings");
            Vec::new()
        }
    };
    let existing_ids: Vec<String> = existing
        .and_then(|record| record["variants"].as_array())
        .map(|variants| {
            variants
                .iter()
                .filter_map(|variant| variant["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    // New variants are numbered after every id this product ever had, so ids are never reused.
    let mut next_position = existing_ids
        .iter()
        .filter_map(|id| {
            id.rsplit_once("_v")
                .and_then(|(_, n)| n.parse::<usize>().ok())
        })
        .max()
        .unwrap_or(0);
    let mut variants = Vec::new();
    if let Some(items) = fields.array("variants", MAX_LINES) {
        for (position, item) in items.iter().enumerate() {
            let Some(mut variant) = fields.nested("variants", position, item) else {
                continue;
            };
            let variant_id_value = match variant.string("id", false, 64) {
                Some(given) if existing_ids.contains(&given) => Some(given),
                Some(given) => {
                    variant.error("id", format!("no variant {given:?} on this product"));
                    None
                }
                None => {
                    next_position += 1;
                    Some(variant_id(id, next_position - 1))
                }
            };
            let title = variant
                .string("title", false, 255)
                .unwrap_or_else(|| "Default".into());
            let sku = variant.string("sku", false, 64);
            let price = variant.integer("price_cents", true, 0, i64::from(i32::MAX));
            let compare_at =
                variant.integer("compare_at_price_cents", false, 0, i64::from(i32::MAX));
            let inventory = variant
                .integer("inventory_quantity", false, -1_000_000, 1_000_000)
                .unwrap_or(0);
            let weight = variant.integer("weight_grams", false, 0, 1_000_000);
            variants.push(json!({
                "id": variant_id_value,
                "title": title,
                "sku": sku,
                "price_cents": price,
                "compare_at_price_cents": compare_at,
                "inventory_quantity": inventory,
                "weight_grams": weight,
            }));
        }
    }
    json!({
        "title": title,
        "handle": handle,
        "product_type": product_type,
        "vendor": vendor,
        "status": status,
        "tags": tags,
        "currency_code": profile.currency,
        "variants": variants,
    })
}
