//! The sandbox connector against the sandbox platforms over HTTP: paging, increments with deletions, the
//! standard model's shapes, pushes and their failures, and the platform's rate limits and refusals.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::{walk, Harness};
use linkwell_connectors::{ConnectorError, PushKind, SourceRecord};
use serde_json::{json, Map, Value};

/// mqjo's lists by data type, with the platform's resource name.
const ACCOUNTING_LISTS: [(&str, &str); 12] = [
    ("chartOfAccounts", "accounts"),
    ("bankAccounts", "bank-accounts"),
    ("billPayments", "bill-payments"),
    ("bills", "bills"),
    ("creditNotes", "credit-notes"),
    ("customers", "customers"),
    ("invoices", "invoices"),
    ("items", "items"),
    ("journalEntries", "journal-entries"),
    ("payments", "payments"),
    ("suppliers", "suppliers"),
    ("taxRates", "tax-rates"),
];

/// bnks's and aiwb's lists by data type, with the platform's resource name.
const BANKING_LISTS: [(&str, &str); 4] = [
    ("banking-accounts", "accounts"),
    ("banking-accountBalances", "balances"),
    ("banking-transactions", "transactions"),
    ("banking-transactionCategories", "transaction-categories"),
];
const COMMERCE_LISTS: [(&str, &str); 6] = [
    ("commerce-customers", "customers"),
    ("commerce-locations", "locations"),
    ("commerce-orders", "orders"),
    ("commerce-payments", "payments"),
    ("commerce-products", "products"),
    ("commerce-transactions", "transactions"),
];

fn ids(records: &[SourceRecord]) -> Vec<&str> {
    records.iter().map(|record| record.id.as_str()).collect()
}

fn field_names(error: &ConnectorError) -> Vec<&str> {
    match error {
        ConnectorError::Invalid(fields) => {
            fields.iter().map(|field| field.field.as_str()).collect()
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn walking_every_page_of_invoices_gives_each_invoice_once() {
    let harness = Harness::start().await;
    let at = harness.link("mqjo", "demo-small").await;
    let connector = harness.connector("mqjo");
    let invoices = walk(connector.as_ref(), at, "invoices", None, 7).await;
    assert_eq!(invoices.len(), 80);
    let unique: BTreeSet<&str> = ids(&invoices).into_iter().collect();
    assert_eq!(unique.len(), 80, "an invoice came twice");
    let mut previous = String::new();
    for invoice in &invoices {
        assert!(!invoice.deleted);
        let body = invoice.body.as_ref().expect("a body");
        assert_eq!(body["id"], invoice.id.as_str());
        assert_eq!(body["sourceModifiedDate"], invoice.source_modified.as_str());
        assert!(invoice.source_modified >= previous, "oldest change first");
        previous = invoice.source_modified.clone();
    }
    // One big page holds the same invoices.
    let whole = walk(connector.as_ref(), at, "invoices", None, 500).await;
    assert_eq!(whole, invoices);
}

#[tokio::test]
async fn after_advance_modified_since_returns_exactly_the_changes() {
    let harness = Harness::start().await;
    let mut deletions = 0;
    for (platform, lists, single) in [
        ("mqjo", &ACCOUNTING_LISTS[..], "company"),
        ("bnks", &BANKING_LISTS[..], ""),
        ("aiwb", &COMMERCE_LISTS[..], "commerce-companyInfo"),
    ] {
        let at = harness.link(platform, "demo-small").await;
        let connector = harness.connector(platform);
        let since = harness.now();
        let summary = harness.advance(platform, "demo-small", 30).await;
        let changed = |kind: &str, resource: &str| -> BTreeSet<String> {
            summary[kind][resource]
                .as_array()
                .map(|ids| {
                    ids.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        for (data_type, resource) in lists {
            let records = walk(connector.as_ref(), at, data_type, Some(&since), 4).await;
            let deleted = changed("deleted", resource);
            let mut expected = deleted.clone();
            expected.extend(changed("created", resource));
            expected.extend(changed("updated", resource));
            let got: BTreeSet<String> = records.iter().map(|record| record.id.clone()).collect();
            assert_eq!(got, expected, "{platform} {data_type}");
            assert_eq!(got.len(), records.len(), "{data_type}: a record came twice");
            for record in &records {
                assert!(record.source_modified > since, "{record:?}");
                if deleted.contains(&record.id) {
                    deletions += 1;
                    assert!(record.deleted, "{record:?}");
                    assert_eq!(record.body, None);
                } else {
                    assert!(!record.deleted);
                    assert!(record.body.is_some());
                }
            }
        }
        // Nothing changed since the batch.
        let later = harness.now();
        for (data_type, _) in lists {
            assert!(walk(connector.as_ref(), at, data_type, Some(&later), 50)
                .await
                .is_empty());
        }
        if !single.is_empty() {
            assert!(walk(connector.as_ref(), at, single, Some(&later), 50)
                .await
                .is_empty());
            assert_eq!(
                walk(connector.as_ref(), at, single, None, 50).await.len(),
                1
            );
        }
    }
    assert!(deletions > 0, "the batches deleted nothing");
}

/// The allowed property paths of each data type's Codat schema (`lineItems[].itemRef.id`), derived from
/// Codat's specifications by `fixtures/derive_codat_properties.py`.
fn codat_properties() -> BTreeMap<String, Map<String, Value>> {
    let fixture: Value =
        serde_json::from_str(include_str!("fixtures/codat_properties.json")).expect("fixture");
    fixture
        .as_object()
        .expect("an object")
        .iter()
        .map(|(data_type, schema)| {
            let properties = schema["properties"]
                .as_object()
                .expect("properties")
                .clone();
            (data_type.clone(), properties)
        })
        .collect()
}

/// Every way `value` strays from the declared properties: undeclared paths, wrong JSON types, values
/// outside an enum, and nulls.
fn strays(declared: &Map<String, Value>, value: &Value, path: &str, found: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            for (name, field) in fields {
                let child = if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}.{name}")
                };
                check_declared(declared, field, &child, found);
                strays(declared, field, &child, found);
            }
        }
        Value::Array(items) => {
            let child = format!("{path}[]");
            for item in items {
                if item.is_object() {
                    strays(declared, item, &child, found);
                    continue;
                }
                match declared.get(path).map(|array| &array["items"]) {
                    Some(Value::Object(scalar)) => {
                        let scalars =
                            Map::from_iter([(child.clone(), Value::Object(scalar.clone()))]);
                        check_declared(&scalars, item, &child, found);
                    }
                    _ => found.push(format!(
                        "{child} is {item}; the schema has no scalars there"
                    )),
                }
            }
        }
        _ => {}
    }
}

fn check_declared(
    declared: &Map<String, Value>,
    value: &Value,
    path: &str,
    found: &mut Vec<String>,
) {
    let Some(property) = declared.get(path) else {
        found.push(format!("{path} is not a property of the schema"));
        return;
    };
    let fits = match property["type"].as_str() {
        Some("string") => value.is_string(),
        Some("number") => value.is_number(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("boolean") => value.is_boolean(),
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        _ => !value.is_null(),
    };
    if !fits {
        found.push(format!("{path} is {value}, not a {}", property["type"]));
    }
    if let Some(allowed) = property["enum"].as_array() {
        if !allowed.contains(value) {
            found.push(format!("{path} is {value}, not one of {property}"));
        }
    }
}

#[tokio::test]
async fn every_record_of_every_data_type_uses_only_codat_properties() {
    let harness = Harness::start().await;
    let properties = codat_properties();
    let mut found = Vec::new();
    let wrong = json!({"invoiceNo": "1", "status": "Open", "customerRef": {"id": 7}, "note": null, "lineItems": [1]});
    strays(&properties["invoices"], &wrong, "", &mut found);
    assert_eq!(found.len(), 5, "the check itself: {found:?}");
    for platform in ["mqjo", "bnks", "aiwb"] {
        let at = harness.link(platform, "demo-small").await;
        // A batch of changes first, so records the platform created or changed are checked too.
        harness.advance(platform, "demo-small", 40).await;
        let connector = harness.connector(platform);
        for data_type in connector.readable() {
            let declared = properties
                .get(*data_type)
                .unwrap_or_else(|| panic!("no schema for {data_type}"));
            let records = walk(connector.as_ref(), at, data_type, None, 500).await;
            assert!(!records.is_empty(), "{platform} {data_type} is empty");
            let mut found = Vec::new();
            for record in &records {
                let body = record.body.as_ref().expect("a body");
                assert!(body.get("modifiedDate").is_none() && body.get("metadata").is_none());
                strays(declared, body, "", &mut found);
            }
            found.sort();
            found.dedup();
            assert!(
                found.is_empty(),
                "{platform} {data_type}:\n{}",
                found.join("\n")
            );
        }
    }
}

/// Every `...Ref` object under `value` with its key, depth first.
fn references<'a>(key: &str, value: &'a Value, found: &mut Vec<(String, &'a Value)>) {
    match value {
        Value::Object(fields) => {
            if key.ends_with("Ref") {
                found.push((key.to_owned(), value));
            }
            for (field, inner) in fields {
                references(field, inner, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| references(key, item, found)),
        _ => {}
    }
}

#[tokio::test]
async fn references_carry_the_names_of_the_records_they_point_at() {
    let harness = Harness::start().await;
    // (platform, reference key, the data type it points at, that type's name field, the
    // reference's name field).
    let kinds = [
        (
            "mqjo",
            "customerRef",
            "customers",
            "customerName",
            "companyName",
        ),
        (
            "mqjo",
            "supplierRef",
            "suppliers",
            "supplierName",
            "supplierName",
        ),
        ("mqjo", "accountRef", "chartOfAccounts", "name", "name"),
        ("mqjo", "itemRef", "items", "name", "name"),
        ("mqjo", "taxRateRef", "taxRates", "name", "name"),
        (
            "bnks",
            "transactionCategoryRef",
            "banking-transactionCategories",
            "name",
            "name",
        ),
        (
            "aiwb",
            "customerRef",
            "commerce-customers",
            "customerName",
            "name",
        ),
        ("aiwb", "locationRef", "commerce-locations", "name", "name"),
    ];
    for platform in ["mqjo", "bnks", "aiwb"] {
        let at = harness.link(platform, "demo-small").await;
        // Changes first: records the platform created refer to records it created.
        harness.advance(platform, "demo-small", 60).await;
        let connector = harness.connector(platform);
        let mut bodies: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
        for data_type in connector.readable() {
            let records = walk(connector.as_ref(), at, data_type, None, 500).await;
            bodies.insert(
                data_type,
                records
                    .into_iter()
                    .filter_map(|record| record.body)
                    .collect(),
            );
        }
        let mut checked: BTreeMap<&str, usize> = BTreeMap::new();
        for (data_type, records) in &bodies {
            for record in records {
                let mut found = Vec::new();
                references("", record, &mut found);
                for (key, reference) in found {
                    let Some(&(_, key, target, name_field, ref_name)) = kinds
                        .iter()
                        .find(|kind| kind.0 == platform && kind.1 == key)
                    else {
                        continue;
                    };
                    let id = reference["id"].as_str().expect("a reference id");
                    let referenced = bodies[target]
                        .iter()
                        .find(|candidate| candidate["id"] == id)
                        .unwrap_or_else(|| panic!("{data_type}: {key} {id} is not a {target}"));
                    assert_eq!(
                        reference[ref_name], referenced[name_field],
                        "{platform} {data_type}: {key} in {record}"
                    );
                    assert!(reference[ref_name].is_string(), "{reference}");
                    *checked.entry(key).or_default() += 1;
                }
            }
        }
        for (_, key, ..) in kinds.iter().filter(|kind| kind.0 == platform) {
            assert!(
                checked.get(key).copied().unwrap_or(0) > 0,
                "{platform}: no {key} was checked ({checked:?})"
            );
        }
    }
}

#[tokio::test]
async fn single_objects_are_one_record_pages() {
    let harness = Harness::start().await;
    for (platform, data_type, name_field) in [
        ("mqjo", "company", "companyName"),
        ("aiwb", "commerce-companyInfo", "companyName"),
    ] {
        let at = harness.link(platform, "demo-small").await;
        let connector = harness.connector(platform);
        let page = connector
            .fetch_page(at, data_type, None, None, 100)
            .await
            .expect("the object");
        assert_eq!(page.records.len(), 1);
        assert_eq!(page.next_cursor, None);
        let record = &page.records[0];
        assert!(!record.id.is_empty());
        let body = record.body.as_ref().expect("a body");
        assert!(
            body[name_field]
                .as_str()
                .is_some_and(|name| name.starts_with("Demo Small")),
            "{body}"
        );
        let again = connector
            .fetch_page(at, data_type, None, None, 100)
            .await
            .expect("the object");
        assert_eq!(again.records[0].id, record.id, "a stable id");
    }
}

#[tokio::test]
async fn a_customer_is_created_updated_and_deleted() {
    let harness = Harness::start().await;
    let at = harness.link("mqjo", "demo-small").await;
    let connector = harness.connector("mqjo");
    let since = harness.now();
    harness.clock.advance(Duration::from_secs(1));
    let customer = json!({
        "customerName": "Fenwick Joinery Ltd",
        "contactName": "Ola Fenwick",
        "emailAddress": "ola@fenwick-joinery.example.com",
        "phone": "+44 113 496 0000",
        "addresses": [{"type": "Billing", "line1": "3 Canal Wharf", "city": "Leeds", "postalCode": "LS11 5PS", "country": "GB"}],
        "defaultCurrency": "GBP",
        "status": "Active",
    });
    assert!(connector
        .validate("customers", &PushKind::Create, &customer)
        .is_empty());
    let created = connector
        .push(at, "customers", &PushKind::Create, &customer, "key-1")
        .await
        .expect("created")
        .expect("the stored customer");
    let body = created.body.clone().expect("a body");
    assert_eq!(body["id"], created.id.as_str());
    for field in [
        "customerName",
        "contactName",
        "emailAddress",
        "phone",
        "addresses",
        "defaultCurrency",
        "status",
    ] {
        assert_eq!(body[field], customer[field], "{field}");
    }
    // The same creation again under its key (a retry after a lost answer) is the record made the first
    // time; the key with another record is refused.
    let again = connector
        .push(at, "customers", &PushKind::Create, &customer, "key-1")
        .await
        .expect("the earlier creation")
        .expect("the stored customer");
    assert_eq!(again.id, created.id);
    let mut other = customer.clone();
    other["customerName"] = json!("Another Ltd");
    let reused = connector
        .push(at, "customers", &PushKind::Create, &other, "key-1")
        .await;
    assert!(reused.is_err(), "{reused:?}");

    harness.clock.advance(Duration::from_secs(1));
    let mut changed = body.clone();
    changed["phone"] = json!("+44 113 496 0999");
    changed["status"] = json!("Archived");
    let update = PushKind::Update {
        id: created.id.clone(),
    };
    let updated = connector
        .push(at, "customers", &update, &changed, "key-2")
        .await
        .expect("updated")
        .expect("the stored customer");
    assert_eq!(updated.id, created.id);
    let updated_body = updated.body.expect("a body");
    assert_eq!(updated_body["phone"], "+44 113 496 0999");
    assert_eq!(updated_body["status"], "Archived");
    assert_eq!(updated_body["customerName"], "Fenwick Joinery Ltd");
    assert!(updated.source_modified > created.source_modified);

    harness.clock.advance(Duration::from_secs(1));
    let delete = PushKind::Delete {
        id: created.id.clone(),
    };
    let deleted = connector
        .push(at, "customers", &delete, &Value::Null, "key-3")
        .await
        .expect("deleted");
    assert_eq!(deleted, None);
    let changes = walk(connector.as_ref(), at, "customers", Some(&since), 100).await;
    assert_eq!(ids(&changes), [created.id.as_str()]);
    assert!(changes[0].deleted && changes[0].body.is_none());
    let gone = connector
        .push(at, "customers", &update, &changed, "key-4")
        .await;
    assert!(matches!(gone, Err(ConnectorError::NotFound(_))), "{gone:?}");
}

#[tokio::test]
async fn an_invalid_record_names_codat_fields_without_calling_the_platform() {
    let harness = Harness::start().await;
    let at = harness.link("mqjo", "demo-small").await;
    let connector = harness.connector("mqjo");
    let invoice = json!({
        "customerRef": {"id": "cus_0000000001"},
        "issueDate": "2024-03-01T00:00:00",
        "status": "Paid",
        "lineItems": [
            {"itemRef": {"id": "itm_0000000001"}, "quantity": 0},
            {"description": "Consulting", "quantity": 2},
        ],
    });
    let expected = [
        "status",
        "lineItems[0].quantity",
        "lineItems[1].unitAmount",
        "lineItems[1].accountRef.id",
    ];
    let fields: Vec<String> = connector
        .validate("invoices", &PushKind::Create, &invoice)
        .into_iter()
        .map(|error| error.field)
        .collect();
    assert_eq!(fields, expected);
    // A platform failure waits for the next call: the push must not make one.
    harness.fault("mqjo", 503, 1, 1).await;
    let refused = connector
        .push(at, "invoices", &PushKind::Create, &invoice, "key-5")
        .await
        .expect_err("invalid");
    assert_eq!(field_names(&refused), expected);
    let next = connector.fetch_page(at, "invoices", None, None, 1).await;
    assert!(
        matches!(next, Err(ConnectorError::Transient { .. })),
        "{next:?}"
    );
}

#[tokio::test]
async fn the_platforms_field_errors_name_codat_fields() {
    let harness = Harness::start().await;
    let at = harness.link("mqjo", "demo-small").await;
    let connector = harness.connector("mqjo");
    let invoice = json!({
        "customerRef": {"id": "cus_0000009999"},
        "issueDate": "2024-03-01",
        "lineItems": [
            {"itemRef": {"id": "itm_0000000001"}, "quantity": 1},
            {"description": "Consulting", "quantity": 2, "unitAmount": 150, "accountRef": {"id": "acc_0000000000"}},
        ],
    });
    assert!(connector
        .validate("invoices", &PushKind::Create, &invoice)
        .is_empty());
    let refused = connector
        .push(at, "invoices", &PushKind::Create, &invoice, "key-6")
        .await
        .expect_err("unknown customer, asset account");
    assert_eq!(
        field_names(&refused),
        ["customerRef.id", "lineItems[1].accountRef.id"]
    );
    let ConnectorError::Invalid(fields) = refused else {
        unreachable!()
    };
    assert!(fields[0].message.contains("cus_0000009999"), "{fields:?}");
}

#[tokio::test]
async fn an_invoice_is_drafted_approved_and_voided_with_a_new_account_and_item() {
    let harness = Harness::start().await;
    let at = harness.link("mqjo", "demo-small").await;
    let connector = harness.connector("mqjo");
    let account = connector
        .push(
            at,
            "chartOfAccounts",
            &PushKind::Create,
            &json!({"nominalCode": "4090", "name": "Workshop income", "type": "Income"}),
            "account-1",
        )
        .await
        .expect("account")
        .expect("the stored account");
    let account_body = account.body.expect("a body");
    assert_eq!(account_body["type"], "Income");
    assert_eq!(account_body["nominalCode"], "4090");
    let item = connector
        .push(
            at,
            "items",
            &PushKind::Create,
            &json!({
                "name": "Joinery workshop", "code": "WS-001", "type": "Service",
                "invoiceItem": {"unitPrice": 120.5, "accountRef": {"id": account.id}},
            }),
            "item-1",
        )
        .await
        .expect("item")
        .expect("the stored item");
    let item_body = item.body.expect("a body");
    assert_eq!(item_body["invoiceItem"]["unitPrice"], json!(120.5));
    assert_eq!(
        item_body["invoiceItem"]["accountRef"]["id"],
        account.id.as_str()
    );

    let draft = json!({
        "customerRef": {"id": "cus_0000000001"},
        "issueDate": "2024-05-01T00:00:00",
        "note": "PO-1234",
        "lineItems": [{"itemRef": {"id": item.id}, "quantity": 2}],
    });
    let created = connector
        .push(at, "invoices", &PushKind::Create, &draft, "key-7")
        .await
        .expect("invoice")
        .expect("the stored invoice");
    let body = created.body.expect("a body");
    assert_eq!(body["status"], "Draft");
    assert_eq!(body["note"], "PO-1234");
    assert_eq!(body["issueDate"], "2024-05-01T00:00:00");
    assert_eq!(body["lineItems"][0]["unitAmount"], json!(120.5));
    assert_eq!(
        body["lineItems"][0]["accountRef"]["id"],
        account.id.as_str()
    );
    assert_eq!(body["subTotal"], json!(241));
    assert!(body["invoiceNumber"]
        .as_str()
        .is_some_and(|number| number.starts_with("INV-")));

    let update = PushKind::Update {
        id: created.id.clone(),
    };
    let mut approved = body.clone();
    approved["status"] = json!("Submitted");
    let approved = connector
        .push(at, "invoices", &update, &approved, "key-8")
        .await
        .expect("approved")
        .expect("the stored invoice");
    assert_eq!(
        approved.body.as_ref().expect("a body")["status"],
        "Submitted"
    );
    let mut voided = approved.body.expect("a body");
    voided["status"] = json!("Void");
    let voided = connector
        .push(at, "invoices", &update, &voided, "key-9")
        .await
        .expect("voided")
        .expect("the stored invoice");
    let voided = voided.body.expect("a body");
    assert_eq!(voided["status"], "Void");
    assert_eq!(voided["amountDue"], json!(0));
    let again = connector
        .push(at, "invoices", &update, &voided, "key-10")
        .await;
    assert!(
        matches!(again, Err(ConnectorError::Conflict(_))),
        "{again:?}"
    );
}

#[tokio::test]
async fn the_platforms_refusals_are_sorted() {
    let harness = Harness::start().await;
    let at = harness.link("mqjo", "demo-small").await;
    let connector = harness.connector("mqjo");
    let paid = walk(connector.as_ref(), at, "invoices", None, 500)
        .await
        .into_iter()
        .find(|invoice| {
            invoice
                .body
                .as_ref()
                .is_some_and(|body| body["status"] == "Paid")
        })
        .expect("a paid invoice");
    let delete = PushKind::Delete {
        id: paid.id.clone(),
    };
    let conflict = connector
        .push(at, "invoices", &delete, &Value::Null, "key-11")
        .await;
    assert!(
        matches!(conflict, Err(ConnectorError::Conflict(_))),
        "{conflict:?}"
    );
    let missing = PushKind::Delete {
        id: "inv_9999999999".into(),
    };
    let not_found = connector
        .push(at, "invoices", &missing, &Value::Null, "key-12")
        .await;
    assert!(
        matches!(not_found, Err(ConnectorError::NotFound(_))),
        "{not_found:?}"
    );
    let credit_note = connector
        .push(at, "creditNotes", &PushKind::Create, &json!({}), "key-13")
        .await;
    assert!(
        matches!(credit_note, Err(ConnectorError::NotSupported(_))),
        "{credit_note:?}"
    );
    let banking = harness.connector("bnks");
    let other = banking.fetch_page(at, "invoices", None, None, 10).await;
    assert!(
        matches!(other, Err(ConnectorError::NotSupported(_))),
        "{other:?}"
    );
}

#[tokio::test]
async fn rate_limits_and_outages_are_transient_with_retry_after() {
    let harness = Harness::start().await;
    let at = harness.link("aiwb", "demo-small").await;
    let connector = harness.connector("aiwb");
    harness.fault("aiwb", 429, 1, 7).await;
    let limited = connector
        .fetch_page(at, "commerce-orders", None, None, 10)
        .await;
    assert_eq!(
        limited.as_ref().err().map(|error| matches!(
            error,
            ConnectorError::Transient { retry_after: Some(wait), rate_limited: true, .. } if *wait == Duration::from_secs(7)
        )),
        Some(true),
        "{limited:?}"
    );
    harness.fault("aiwb", 503, 1, 2).await;
    let down = connector
        .fetch_page(at, "commerce-orders", None, None, 10)
        .await;
    assert!(
        matches!(
            &down,
            Err(ConnectorError::Transient { retry_after: Some(wait), rate_limited: false, .. }) if *wait == Duration::from_secs(2)
        ),
        "{down:?}"
    );
    let page = connector
        .fetch_page(at, "commerce-orders", None, None, 10)
        .await
        .expect("the platform is back");
    assert_eq!(page.records.len(), 10);
}

#[tokio::test]
async fn a_revoked_grant_is_refused_and_the_connection_deauthorized() {
    let harness = Harness::start().await;
    let at = harness.link("bnks", "demo-small").await;
    let connector = harness.connector("bnks");
    assert!(connector
        .fetch_page(at, "banking-accounts", None, None, 10)
        .await
        .is_ok());
    harness.revoke("bnks", "demo-small").await;
    let refused = connector
        .fetch_page(at, "banking-accounts", None, None, 10)
        .await;
    assert!(
        matches!(refused, Err(ConnectorError::Refused(_))),
        "{refused:?}"
    );
    let connection = harness
        .store
        .get_connection(at.client, at.company, at.connection)
        .await
        .expect("connection");
    assert_eq!(connection.status.as_str(), "Deauthorized");
}
