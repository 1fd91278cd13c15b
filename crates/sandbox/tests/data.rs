//! The platforms' data APIs: deterministic datasets, paging, increments with tombstones,
//! `advance`, bench organisations, writes, and the same auth and fault behaviour as every other
//! data call.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use common::data::*;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const MQJO_LISTS: [&str; 12] = [
    "accounts",
    "customers",
    "suppliers",
    "items",
    "tax-rates",
    "invoices",
    "bills",
    "credit-notes",
    "payments",
    "bill-payments",
    "journal-entries",
    "bank-accounts",
];
const BNKS_LISTS: [&str; 4] = [
    "accounts",
    "balances",
    "transactions",
    "transaction-categories",
];
const AIWB_LISTS: [&str; 6] = [
    "customers",
    "orders",
    "products",
    "payments",
    "transactions",
    "locations",
];

fn lists(platform: &str) -> &'static [&'static str] {
    match platform {
        "mqjo" => &MQJO_LISTS,
        "bnks" => &BNKS_LISTS,
        _ => &AIWB_LISTS,
    }
}

#[tokio::test]
async fn same_organisation_serves_identical_pages_on_two_routers() {
    let first = spawn().await;
    let second = spawn().await;
    for platform in PLATFORMS {
        let one = first.connect(platform, "demo-small").await;
        let two = second.connect(platform, "demo-small").await;
        for path in lists(platform) {
            let a = first.walk(platform, path, &one.access, 7, None).await;
            let b = second.walk(platform, path, &two.access, 7, None).await;
            assert_eq!(a, b, "{platform}/{path}");
            assert!(!a.is_empty(), "{platform}/{path} is empty");
        }
    }
    let one = first.connect("mqjo", "demo-small").await;
    let two = second.connect("mqjo", "demo-small").await;
    assert_eq!(
        first.page("mqjo", "company", &one.access, &[]).await,
        second.page("mqjo", "company", &two.access, &[]).await
    );
}

#[tokio::test]
async fn different_organisations_get_different_data() {
    let app = spawn().await;
    for platform in PLATFORMS {
        let small = app.connect(platform, "demo-small").await;
        let acme = app.connect(platform, "acme").await;
        let globex = app.connect(platform, "globex").await;
        let main = match platform {
            "mqjo" => "invoices",
            "bnks" => "transactions",
            _ => "orders",
        };
        let a = app
            .page(platform, main, &small.access, &[("limit", "20")])
            .await;
        let b = app
            .page(platform, main, &acme.access, &[("limit", "20")])
            .await;
        let c = app
            .page(platform, main, &globex.access, &[("limit", "20")])
            .await;
        assert_ne!(a["data"], b["data"], "{platform}");
        assert_ne!(b["data"], c["data"], "{platform}");
    }
    let small = app.connect("mqjo", "demo-small").await;
    let acme = app.connect("mqjo", "acme").await;
    let small_company = app.page("mqjo", "company", &small.access, &[]).await;
    let acme_company = app.page("mqjo", "company", &acme.access, &[]).await;
    assert_eq!(small_company["name"], "Demo Small Ltd");
    assert_ne!(small_company["id"], acme_company["id"]);
    let store = app
        .page(
            "aiwb",
            "store",
            &app.connect("aiwb", "acme").await.access,
            &[],
        )
        .await;
    assert_eq!(store["organisation"], "acme");
}

#[tokio::test]
async fn walking_every_page_returns_each_record_once_in_order() {
    let app = spawn().await;
    for platform in PLATFORMS {
        let tokens = app.connect(platform, "demo-small").await;
        for path in lists(platform) {
            let whole = app.walk(platform, path, &tokens.access, 500, None).await;
            let paged = app.walk(platform, path, &tokens.access, 7, None).await;
            assert_eq!(ids(&whole), ids(&paged), "{platform}/{path}");
            let unique: HashSet<String> = ids(&paged).into_iter().collect();
            assert_eq!(
                unique.len(),
                paged.len(),
                "{platform}/{path} repeats a record"
            );
            let keys: Vec<(String, String)> = paged
                .iter()
                .map(|record| {
                    (
                        str_of(record, "updated_at").to_owned(),
                        str_of(record, "id").to_owned(),
                    )
                })
                .collect();
            assert!(
                keys.windows(2).all(|pair| pair[0] < pair[1]),
                "{platform}/{path} is out of order"
            );
        }
    }
    // demo-small is small and demo-medium a few thousand records.
    let small = app.connect("mqjo", "demo-small").await;
    let invoices = app.walk("mqjo", "invoices", &small.access, 500, None).await;
    let customers = app
        .walk("mqjo", "customers", &small.access, 500, None)
        .await;
    assert!((50..=100).contains(&invoices.len()), "{}", invoices.len());
    assert!((10..100).contains(&customers.len()), "{}", customers.len());
    let medium = app.connect("mqjo", "demo-medium").await;
    let mut total = 0;
    for path in MQJO_LISTS {
        total += app
            .walk("mqjo", path, &medium.access, 500, None)
            .await
            .len();
    }
    assert!((2_000..20_000).contains(&total), "{total}");
}

#[tokio::test]
async fn accounting_references_are_consistent_before_and_after_changes() {
    let app = spawn().await;
    let tokens = app.connect("mqjo", "demo-small").await;
    check_accounting_references(&app, &tokens.access).await;
    for _ in 0..5 {
        app.clock.advance(Duration::from_secs(60));
        app.advance("mqjo", "demo-small", 40).await;
    }
    check_accounting_references(&app, &tokens.access).await;
}

async fn check_accounting_references(app: &TestApp, token: &str) {
    let mut all: HashMap<&str, HashMap<String, Value>> = HashMap::new();
    for path in MQJO_LISTS {
        all.insert(path, by_id(&app.walk("mqjo", path, token, 100, None).await));
    }
    let exists = |path: &str, id: &Value| id.as_str().is_some_and(|id| all[path].contains_key(id));
    // Every reference carries the referenced record's name beside its id.
    let named = |record: &Value, field: &str, path: &str| {
        let id = str_of(record, &format!("{field}_id"));
        assert_eq!(
            record[format!("{field}_name")],
            all[path][id]["name"],
            "{field} of {record}"
        );
    };
    for (kind, party, party_path) in [
        ("invoices", "customer", "customers"),
        ("bills", "supplier", "suppliers"),
        ("credit-notes", "customer", "customers"),
    ] {
        for document in all[kind].values() {
            assert!(
                exists(party_path, &document[format!("{party}_id")]),
                "{document}"
            );
            named(document, party, party_path);
            let mut total = 0;
            for line in document["lines"].as_array().expect("lines") {
                if line["item_id"].is_null() {
                    assert!(line.get("item_name").is_none(), "{line}");
                } else {
                    assert!(exists("items", &line["item_id"]), "{line}");
                    named(line, "item", "items");
                }
                assert!(exists("accounts", &line["account_id"]), "{line}");
                assert!(exists("tax-rates", &line["tax_rate_id"]), "{line}");
                named(line, "account", "accounts");
                named(line, "tax_rate", "tax-rates");
                total += int_of(line, "total_minor");
            }
            assert_eq!(total, int_of(document, "total_minor"), "{document}");
            assert!(str_of(document, "issue_date").len() == 10);
        }
    }
    let mut paid: HashMap<String, i64> = HashMap::new();
    for payment in all["payments"].values() {
        let invoice = &all["invoices"][str_of(payment, "invoice_id")];
        assert_eq!(invoice["customer_id"], payment["customer_id"]);
        named(payment, "customer", "customers");
        named(payment, "account", "accounts");
        *paid
            .entry(str_of(payment, "invoice_id").to_owned())
            .or_default() += int_of(payment, "amount_minor");
        assert!(str_of(payment, "paid_on") >= str_of(invoice, "issue_date"));
    }
    for invoice in all["invoices"].values() {
        let id = str_of(invoice, "id");
        let paid_amount = paid.get(id).copied().unwrap_or(0);
        assert_eq!(
            paid_amount,
            int_of(invoice, "amount_paid_minor"),
            "{invoice}"
        );
        let status = str_of(invoice, "status");
        assert!(["draft", "open", "paid", "void"].contains(&status));
        if status == "paid" {
            assert_eq!(int_of(invoice, "amount_due_minor"), 0);
        }
        if status != "void" {
            assert_eq!(
                int_of(invoice, "amount_due_minor"),
                int_of(invoice, "total_minor") - paid_amount
            );
        }
    }
    for payment in all["bill-payments"].values() {
        let bill = &all["bills"][str_of(payment, "bill_id")];
        assert_eq!(bill["supplier_id"], payment["supplier_id"]);
        named(payment, "supplier", "suppliers");
    }
    for entry in all["journal-entries"].values() {
        let lines = entry["lines"].as_array().expect("lines");
        let debits: i64 = lines.iter().map(|line| int_of(line, "debit_minor")).sum();
        let credits: i64 = lines.iter().map(|line| int_of(line, "credit_minor")).sum();
        assert_eq!(debits, credits, "{entry}");
        for line in lines {
            assert!(exists("accounts", &line["account_id"]), "{line}");
            named(line, "account", "accounts");
        }
    }
    for account in all["bank-accounts"].values() {
        assert!(exists("accounts", &account["ledger_account_id"]));
    }
    for item in all["items"].values() {
        assert!(exists("accounts", &item["sales_account_id"]));
        assert!(exists("tax-rates", &item["tax_rate_id"]));
        named(item, "sales_account", "accounts");
        named(item, "tax_rate", "tax-rates");
        if !item["purchase_account_id"].is_null() {
            named(item, "purchase_account", "accounts");
        }
    }
}

#[tokio::test]
async fn banking_and_commerce_references_are_consistent_before_and_after_changes() {
    let app = spawn().await;
    check_banking_and_commerce_references(&app).await;
    for _ in 0..5 {
        app.clock.advance(Duration::from_secs(60));
        app.advance("bnks", "demo-small", 40).await;
        app.advance("aiwb", "demo-small", 40).await;
    }
    check_banking_and_commerce_references(&app).await;
}

async fn check_banking_and_commerce_references(app: &TestApp) {
    let bank = app.connect("bnks", "demo-small").await;
    let accounts = by_id(&app.walk("bnks", "accounts", &bank.access, 100, None).await);
    let categories = by_id(
        &app.walk("bnks", "transaction-categories", &bank.access, 100, None)
            .await,
    );
    for balance in app.walk("bnks", "balances", &bank.access, 100, None).await {
        assert!(accounts.contains_key(str_of(&balance, "account_id")));
        assert!(balance["current"]["minor_units"].is_i64());
    }
    for transaction in app
        .walk("bnks", "transactions", &bank.access, 100, None)
        .await
    {
        let account = &accounts[str_of(&transaction, "account_id")];
        let category = &categories[str_of(&transaction, "category_id")];
        assert_eq!(transaction["category_name"], category["name"]);
        assert_eq!(transaction["amount"]["currency"], account["currency"]);
        let amount = transaction["amount"]["minor_units"]
            .as_i64()
            .expect("minor units");
        assert_eq!(
            transaction["direction"],
            if amount >= 0 { "credit" } else { "debit" }
        );
    }

    let shop = app.connect("aiwb", "demo-small").await;
    let customers = by_id(&app.walk("aiwb", "customers", &shop.access, 100, None).await);
    let products = by_id(&app.walk("aiwb", "products", &shop.access, 100, None).await);
    let locations = by_id(&app.walk("aiwb", "locations", &shop.access, 100, None).await);
    let orders = by_id(&app.walk("aiwb", "orders", &shop.access, 100, None).await);
    let payments = by_id(&app.walk("aiwb", "payments", &shop.access, 100, None).await);
    for order in orders.values() {
        let customer = &customers[str_of(order, "customer_id")];
        assert_eq!(
            str_of(order, "customer_name"),
            format!(
                "{} {}",
                str_of(customer, "first_name"),
                str_of(customer, "last_name")
            )
        );
        let location = &locations[str_of(order, "location_id")];
        assert_eq!(order["location_name"], location["name"]);
        let mut subtotal = 0;
        for line in order["line_items"].as_array().expect("line items") {
            let product = &products[str_of(line, "product_id")];
            assert_eq!(product["status"], "active");
            let variants = product["variants"].as_array().expect("variants");
            assert!(
                variants
                    .iter()
                    .any(|variant| variant["id"] == line["variant_id"]),
                "{line}"
            );
            subtotal += int_of(line, "total_cents");
        }
        assert_eq!(subtotal, int_of(order, "subtotal_cents"));
        assert_eq!(
            int_of(order, "total_cents"),
            subtotal + int_of(order, "shipping_cents") + int_of(order, "tax_cents")
        );
    }
    let mut paid_orders = HashSet::new();
    for payment in payments.values() {
        let order = &orders[str_of(payment, "order_id")];
        assert_ne!(order["financial_status"], "pending");
        assert_eq!(payment["amount_cents"], order["total_cents"]);
        assert!(
            paid_orders.insert(str_of(payment, "order_id").to_owned()),
            "two payments for one order"
        );
    }
    let unpaid = orders
        .values()
        .filter(|order| order["financial_status"] == "pending")
        .count();
    assert_eq!(paid_orders.len() + unpaid, orders.len());
    for transaction in app
        .walk("aiwb", "transactions", &shop.access, 100, None)
        .await
    {
        let payment = &payments[str_of(&transaction, "payment_id")];
        assert_eq!(payment["order_id"], transaction["order_id"]);
        let order = &orders[str_of(&transaction, "order_id")];
        if transaction["kind"] == "refund" {
            assert_eq!(order["financial_status"], "refunded");
        }
    }
}

#[tokio::test]
async fn list_parameters_and_ids_are_checked() {
    let app = spawn().await;
    let tokens = app.connect("mqjo", "demo-small").await;
    for limit in ["0", "501", "-3", "ten"] {
        let response = app
            .data_get("mqjo", "invoices", &tokens.access, &[("limit", limit)])
            .await;
        assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
    let medium = app.connect("mqjo", "demo-medium").await;
    let page = app.page("mqjo", "invoices", &medium.access, &[]).await;
    assert_eq!(
        page["data"].as_array().map(Vec::len),
        Some(100),
        "the default limit"
    );
    let bad = app
        .data_get(
            "mqjo",
            "invoices",
            &tokens.access,
            &[("cursor", "bm90IGEgY3Vyc29y")],
        )
        .await;
    assert_oauth_error(bad, StatusCode::BAD_REQUEST, "invalid_request").await;
    let first = app
        .page("mqjo", "invoices", &tokens.access, &[("limit", "5")])
        .await;
    let cursor = first["next_cursor"].as_str().expect("a cursor").to_owned();
    let elsewhere = app
        .data_get("mqjo", "bills", &tokens.access, &[("cursor", &cursor)])
        .await;
    assert_oauth_error(elsewhere, StatusCode::BAD_REQUEST, "invalid_request").await;
    let since = app
        .data_get(
            "mqjo",
            "invoices",
            &tokens.access,
            &[("updated_since", "2024-13-01")],
        )
        .await;
    assert_oauth_error(since, StatusCode::BAD_REQUEST, "invalid_request").await;
    let unknown = app.data_get("mqjo", "widgets", &tokens.access, &[]).await;
    assert_oauth_error(unknown, StatusCode::NOT_FOUND, "not_found").await;
    let missing = app
        .data_get("mqjo", "invoices/inv_0000999999", &tokens.access, &[])
        .await;
    assert_oauth_error(missing, StatusCode::NOT_FOUND, "not_found").await;
    let malformed = app
        .data_get("mqjo", "invoices/42", &tokens.access, &[])
        .await;
    assert_oauth_error(malformed, StatusCode::NOT_FOUND, "not_found").await;
    let one = app
        .page("mqjo", "invoices/inv_0000000003", &tokens.access, &[])
        .await;
    assert_eq!(one["id"], "inv_0000000003");
    assert_eq!(one, first["data"][3]);
    // updated_since is strictly after: the invoice's own timestamp excludes it.
    let after = app
        .page(
            "mqjo",
            "invoices",
            &tokens.access,
            &[
                ("updated_since", str_of(&one, "updated_at")),
                ("limit", "1"),
            ],
        )
        .await;
    assert_eq!(after["data"][0]["id"], "inv_0000000004");
}

/// For each resource, the ids in `summary[kind]`.
fn summary_ids(summary: &Value, kind: &str) -> BTreeMap<String, BTreeSet<String>> {
    summary[kind]
        .as_object()
        .expect("a summary kind")
        .iter()
        .map(|(path, ids)| {
            let ids = ids
                .as_array()
                .expect("ids")
                .iter()
                .map(|id| id.as_str().unwrap_or_default().to_owned())
                .collect();
            (path.clone(), ids)
        })
        .collect()
}

#[tokio::test]
async fn advance_then_updated_since_returns_exactly_the_changes() {
    let app = spawn().await;
    for platform in PLATFORMS {
        let tokens = app.connect(platform, "demo-small").await;
        let before: HashMap<&str, Vec<Value>> = {
            let mut before = HashMap::new();
            for path in lists(platform) {
                before.insert(
                    *path,
                    app.walk(platform, path, &tokens.access, 500, None).await,
                );
            }
            before
        };
        let since = now_rfc3339(&app);
        app.clock.advance(Duration::from_secs(1));
        let summary = app.advance(platform, "demo-small", 30).await;
        assert_eq!(summary["changes"], 30, "{summary}");
        assert_eq!(summary["batch"], 1);
        let created = summary_ids(&summary, "created");
        let updated = summary_ids(&summary, "updated");
        let deleted = summary_ids(&summary, "deleted");
        let counted: usize = [&created, &updated, &deleted]
            .iter()
            .flat_map(|kind| kind.values())
            .map(BTreeSet::len)
            .sum();
        assert_eq!(counted, 30);
        assert!(
            !created.is_empty() && !updated.is_empty(),
            "{platform}: {summary}"
        );

        for path in lists(platform) {
            let changes = app
                .walk(platform, path, &tokens.access, 3, Some(&since))
                .await;
            let expected: BTreeSet<String> = [&created, &updated, &deleted]
                .iter()
                .filter_map(|kind| kind.get(*path))
                .flatten()
                .cloned()
                .collect();
            let got: BTreeSet<String> = ids(&changes).into_iter().collect();
            assert_eq!(got, expected, "{platform}/{path}");
            assert_eq!(got.len(), changes.len());
            let before_ids: HashSet<String> = ids(&before[path]).into_iter().collect();
            for record in &changes {
                let id = str_of(record, "id");
                assert!(str_of(record, "updated_at") > since.as_str());
                if deleted.get(*path).is_some_and(|ids| ids.contains(id)) {
                    assert_eq!(record["deleted"], true, "{record}");
                    assert_eq!(
                        record.as_object().map(|fields| fields.len()),
                        Some(3),
                        "{record}"
                    );
                    assert!(before_ids.contains(id));
                } else if created.get(*path).is_some_and(|ids| ids.contains(id)) {
                    assert!(!before_ids.contains(id), "{id} was not new");
                    assert!(record.get("deleted").is_none());
                } else {
                    assert!(before_ids.contains(id));
                    let old = before[path]
                        .iter()
                        .find(|old| old["id"] == id)
                        .expect("old version");
                    assert_ne!(old, record);
                }
            }
            // A plain listing leaves deleted records out and has the new ones.
            let after = app.walk(platform, path, &tokens.access, 500, None).await;
            let after_ids: HashSet<String> = ids(&after).into_iter().collect();
            for id in deleted.get(*path).into_iter().flatten() {
                assert!(!after_ids.contains(id));
                let response = app
                    .data_get(platform, &format!("{path}/{id}"), &tokens.access, &[])
                    .await;
                assert_eq!(response.status(), StatusCode::NOT_FOUND);
            }
            for id in created.get(*path).into_iter().flatten() {
                assert!(after_ids.contains(id));
                let one = app
                    .page(platform, &format!("{path}/{id}"), &tokens.access, &[])
                    .await;
                assert_eq!(one["id"], id.as_str());
            }
        }
        // Nothing changed after the batch.
        let later = now_rfc3339(&app);
        for path in lists(platform) {
            let page = app
                .page(platform, path, &tokens.access, &[("updated_since", &later)])
                .await;
            assert_eq!(page["data"], json!([]), "{platform}/{path}");
            assert_eq!(page["next_cursor"], Value::Null);
        }
    }
}

#[tokio::test]
async fn advance_is_deterministic_and_validated() {
    let first = spawn().await;
    let second = spawn().await;
    for platform in PLATFORMS {
        for _ in 0..3 {
            let a = first.advance(platform, "acme", 12).await;
            let b = second.advance(platform, "acme", 12).await;
            for kind in ["created", "updated", "deleted", "counts", "batch"] {
                assert_eq!(a[kind], b[kind], "{platform} {kind}");
            }
        }
    }
    let app = spawn().await;
    let default = app.control("/mqjo/control/orgs/acme/advance", None).await;
    assert_eq!(default.status(), StatusCode::OK);
    assert_eq!(json(default).await["changes"], 10);
    for body in [
        json!({ "changes": 0 }),
        json!({ "changes": 1_000_000 }),
        json!({ "change": 3 }),
    ] {
        let response = app
            .control("/mqjo/control/orgs/acme/advance", Some(body))
            .await;
        assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
    let bad_org = app
        .control("/mqjo/control/orgs/bad%20name/advance", None)
        .await;
    assert_oauth_error(bad_org, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn data_calls_need_a_live_token() {
    let app = spawn().await;
    let missing = app
        .http
        .get(app.url("/mqjo/api/v1/invoices"))
        .send()
        .await
        .expect("GET");
    assert_invalid_token(missing).await;
    assert_invalid_token(app.data_get("mqjo", "invoices", "not-a-token", &[]).await).await;

    // Expired, by the clock.
    let tokens = app.connect("mqjo", "demo-small").await;
    assert_eq!(
        app.data_get("mqjo", "invoices", &tokens.access, &[])
            .await
            .status(),
        StatusCode::OK
    );
    app.clock.advance(ACCESS_TTL + Duration::from_secs(1));
    assert_invalid_token(app.data_get("mqjo", "invoices", &tokens.access, &[]).await).await;
    assert_invalid_token(
        app.data_get("mqjo", "invoices/inv_0000000001", &tokens.access, &[])
            .await,
    )
    .await;

    // Revoked through the control endpoint.
    let tokens = app.connect("bnks", "acme").await;
    assert_eq!(
        app.data_get("bnks", "transactions", &tokens.access, &[])
            .await
            .status(),
        StatusCode::OK
    );
    let revoked = app.control("/bnks/control/orgs/acme/revoke", None).await;
    assert_eq!(revoked.status(), StatusCode::OK);
    assert_invalid_token(
        app.data_get("bnks", "transactions", &tokens.access, &[])
            .await,
    )
    .await;

    // A token only works on its own platform.
    let tokens = app.connect("aiwb", "acme").await;
    assert_invalid_token(app.data_get("mqjo", "customers", &tokens.access, &[]).await).await;
    let create = app
        .data_send(
            reqwest::Method::POST,
            "mqjo",
            "customers",
            &tokens.access,
            Some(json!({ "name": "X" })),
        )
        .await;
    assert_invalid_token(create).await;
}

#[tokio::test]
async fn injected_faults_apply_to_data_calls() {
    let app = spawn().await;
    let tokens = app.connect("aiwb", "demo-small").await;
    let set = app
        .control(
            "/aiwb/control/faults",
            Some(json!({ "status": 429, "count": 1, "retryAfter": 3 })),
        )
        .await;
    assert_eq!(set.status(), StatusCode::OK);
    let limited = app.data_get("aiwb", "orders", &tokens.access, &[]).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.headers()["retry-after"], "3");
    assert_eq!(json(limited).await["error"], "rate_limited");
    // Faults come before credentials, as on a failing platform.
    app.control(
        "/aiwb/control/faults",
        Some(json!({ "status": 503, "count": 2, "retryAfter": 5 })),
    )
    .await;
    let down = app
        .data_get("aiwb", "orders/ord_0000000001", "no-token", &[])
        .await;
    assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(down.headers()["retry-after"], "5");
    let down = app
        .data_send(
            reqwest::Method::PUT,
            "aiwb",
            "products/prod_0000000001",
            &tokens.access,
            Some(json!({})),
        )
        .await;
    assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        app.data_get("aiwb", "orders", &tokens.access, &[])
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn bench_ten_million_serves_both_ends_without_materialising() {
    let app = spawn().await;
    let n: u64 = 10_000_000;
    for (platform, path, prefix) in [
        ("mqjo", "invoices", "inv"),
        ("bnks", "transactions", "txn"),
        ("aiwb", "orders", "ord"),
    ] {
        let tokens = app.connect(platform, "bench-10000000").await;
        let started = Instant::now();
        let first = app
            .page(platform, path, &tokens.access, &[("limit", "500")])
            .await;
        let data = first["data"].as_array().expect("data");
        assert_eq!(data.len(), 500);
        assert_eq!(data[0]["id"], format!("{prefix}_0000000000"));
        assert_eq!(data[499]["id"], format!("{prefix}_0000000499"));
        assert!(first["next_cursor"].is_string());

        let last_id = format!("{prefix}_{:010}", n - 1);
        let last = app
            .page(platform, &format!("{path}/{last_id}"), &tokens.access, &[])
            .await;
        assert_eq!(last["id"], last_id.as_str());
        let beyond = app
            .data_get(
                platform,
                &format!("{path}/{prefix}_{n:010}"),
                &tokens.access,
                &[],
            )
            .await;
        assert_eq!(beyond.status(), StatusCode::NOT_FOUND);

        // Reach the end: start just before record n-5 with updated_since, then follow cursors.
        let near_end = app
            .page(
                platform,
                &format!("{path}/{prefix}_{:010}", n - 5),
                &tokens.access,
                &[],
            )
            .await;
        let stamp = chrono::DateTime::parse_from_rfc3339(str_of(&near_end, "updated_at"))
            .expect("a timestamp");
        let since = (stamp - chrono::TimeDelta::milliseconds(1))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let tail = app
            .walk(platform, path, &tokens.access, 2, Some(&since))
            .await;
        let expected: Vec<String> = (n - 5..n)
            .map(|index| format!("{prefix}_{index:010}"))
            .collect();
        assert_eq!(ids(&tail), expected, "{platform}");
        let elapsed = started.elapsed();
        assert!(
            elapsed < Duration::from_secs(5),
            "{platform} took {elapsed:?}"
        );
    }
    // The other resources of a bench organisation stay modest.
    let tokens = app.connect("mqjo", "bench-10000000").await;
    let customers = app
        .page("mqjo", "customers/cus_0000009999", &tokens.access, &[])
        .await;
    assert_eq!(customers["id"], "cus_0000009999");
    let capped = app
        .data_get("mqjo", "customers/cus_0000010000", &tokens.access, &[])
        .await;
    assert_eq!(capped.status(), StatusCode::NOT_FOUND);

    // Small bench organisations hold exactly N.
    let tokens = app.connect("mqjo", "bench-1234").await;
    assert_eq!(
        app.walk("mqjo", "invoices", &tokens.access, 500, None)
            .await
            .len(),
        1234
    );
    let tokens = app.connect("aiwb", "bench-7").await;
    assert_eq!(
        app.walk("aiwb", "orders", &tokens.access, 3, None)
            .await
            .len(),
        7
    );
}

#[tokio::test]
async fn writes_create_update_and_delete_with_tombstones() {
    let app = spawn().await;
    let tokens = app.connect("mqjo", "demo-small").await;
    let since = now_rfc3339(&app);
    app.clock.advance(Duration::from_secs(1));

    let created = app
        .data_send(
            reqwest::Method::POST,
            "mqjo",
            "customers",
            &tokens.access,
            Some(json!({ "name": "Wayne Enterprises", "email": "ap@wayne.example.com", "payment_terms_days": 14 })),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let customer = json(created).await;
    let customer_id = str_of(&customer, "id").to_owned();
    assert_eq!(customer["currency"], "GBP");
    assert_eq!(customer["status"], "active");
    assert_eq!(
        app.page(
            "mqjo",
            &format!("customers/{customer_id}"),
            &tokens.access,
            &[]
        )
        .await,
        customer
    );

    let invoice = app
        .data_send(
            reqwest::Method::POST,
            "mqjo",
            "invoices",
            &tokens.access,
            Some(json!({
                "customer_id": customer_id,
                "issue_date": "2025-03-01",
                "status": "open",
                "lines": [
                    { "item_id": "itm_0000000001", "quantity": 2 },
                    { "description": "Call-out fee", "quantity": 1, "unit_price_minor": 5000,
                      "account_id": "acc_0000000012", "tax_rate_id": "tax_0000000000" }
                ]
            })),
        )
        .await;
    assert_eq!(invoice.status(), StatusCode::CREATED);
    let invoice = json(invoice).await;
    let invoice_id = str_of(&invoice, "id").to_owned();
    assert_eq!(invoice["due_date"], "2025-03-15");
    assert_eq!(invoice["lines"][1]["total_minor"], 6000);
    assert_eq!(invoice["amount_due_minor"], invoice["total_minor"]);
    assert_eq!(
        int_of(&invoice, "total_minor"),
        int_of(&invoice["lines"][0], "total_minor") + 6000
    );

    let changed = app
        .walk("mqjo", "customers", &tokens.access, 10, Some(&since))
        .await;
    assert_eq!(ids(&changed), vec![customer_id.clone()]);

    // Update: fields sent replace, others stay.
    app.clock.advance(Duration::from_secs(1));
    let updated = app
        .data_send(
            reqwest::Method::PUT,
            "mqjo",
            &format!("customers/{customer_id}"),
            &tokens.access,
            Some(json!({ "name": "Wayne Enterprises Inc" })),
        )
        .await;
    assert_eq!(updated.status(), StatusCode::OK);
    let updated = json(updated).await;
    assert_eq!(updated["name"], "Wayne Enterprises Inc");
    assert_eq!(updated["email"], "ap@wayne.example.com");
    assert_eq!(updated["created_at"], customer["created_at"]);
    assert!(str_of(&updated, "updated_at") > str_of(&customer, "updated_at"));
    // The invoice, unchanged, shows the customer's new name; so does a generated one when its
    // base customer is renamed.
    let current = app
        .page(
            "mqjo",
            &format!("invoices/{invoice_id}"),
            &tokens.access,
            &[],
        )
        .await;
    assert_eq!(current["customer_name"], "Wayne Enterprises Inc");
    // A name sent in a write is not stored: the served one is the customer's.
    let sent = app
        .data_send(
            reqwest::Method::PUT,
            "mqjo",
            &format!("invoices/{invoice_id}"),
            &tokens.access,
            Some(json!({ "customer_name": "Someone Else", "reference": "PO-1" })),
        )
        .await;
    assert_eq!(sent.status(), StatusCode::OK);
    let sent = json(sent).await;
    assert_eq!(sent["reference"], "PO-1");
    assert_eq!(sent["customer_name"], "Wayne Enterprises Inc");
    assert_eq!(
        current["lines"][0]["item_name"],
        current["lines"][0]["description"]
    );
    let generated = app
        .page("mqjo", "invoices/inv_0000000000", &tokens.access, &[])
        .await;
    let base_customer = str_of(&generated, "customer_id").to_owned();
    let renamed = app
        .data_send(
            reqwest::Method::PUT,
            "mqjo",
            &format!("customers/{base_customer}"),
            &tokens.access,
            Some(json!({ "name": "Renamed Dental Group" })),
        )
        .await;
    assert_eq!(renamed.status(), StatusCode::OK);
    let listed = app
        .walk("mqjo", "invoices", &tokens.access, 500, None)
        .await;
    let shown = by_id(&listed);
    assert_eq!(
        shown["inv_0000000000"]["customer_name"],
        "Renamed Dental Group"
    );
    assert_eq!(
        shown["inv_0000000000"]["updated_at"], generated["updated_at"],
        "a rename does not change the documents that show it"
    );

    // A base record can be updated too.
    let item = app
        .data_send(
            reqwest::Method::PUT,
            "mqjo",
            "items/itm_0000000002",
            &tokens.access,
            Some(json!({ "unit_price_minor": 1234 })),
        )
        .await;
    assert_eq!(item.status(), StatusCode::OK);
    assert_eq!(json(item).await["unit_price_minor"], 1234);

    // Delete: 204, gone from reads, a tombstone for increments.
    app.clock.advance(Duration::from_secs(1));
    let mid = now_rfc3339(&app);
    app.clock.advance(Duration::from_secs(1));
    let deleted = app
        .data_send(
            reqwest::Method::DELETE,
            "mqjo",
            &format!("invoices/{invoice_id}"),
            &tokens.access,
            None,
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = app
        .data_get(
            "mqjo",
            &format!("invoices/{invoice_id}"),
            &tokens.access,
            &[],
        )
        .await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    let plain = app
        .walk("mqjo", "invoices", &tokens.access, 500, None)
        .await;
    assert!(!ids(&plain).contains(&invoice_id));
    let increment = app
        .walk("mqjo", "invoices", &tokens.access, 500, Some(&mid))
        .await;
    assert_eq!(increment.len(), 1);
    assert_eq!(increment[0]["id"], invoice_id.as_str());
    assert_eq!(increment[0]["deleted"], true);

    // The customer, no longer referenced, can be deleted; a base customer with invoices cannot.
    let deleted = app
        .data_send(
            reqwest::Method::DELETE,
            "mqjo",
            &format!("customers/{customer_id}"),
            &tokens.access,
            None,
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let again = app
        .data_send(
            reqwest::Method::DELETE,
            "mqjo",
            &format!("customers/{customer_id}"),
            &tokens.access,
            None,
        )
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    let referenced = app
        .data_send(
            reqwest::Method::DELETE,
            "mqjo",
            "customers/cus_0000000000",
            &tokens.access,
            None,
        )
        .await;
    assert_oauth_error(referenced, StatusCode::CONFLICT, "conflict").await;
}

#[tokio::test]
async fn paid_invoices_cannot_be_changed_or_deleted() {
    let app = spawn().await;
    let tokens = app.connect("mqjo", "demo-small").await;
    let invoices = app
        .walk("mqjo", "invoices", &tokens.access, 500, None)
        .await;
    let paid = invoices
        .iter()
        .find(|invoice| invoice["status"] == "paid")
        .expect("a paid invoice");
    let id = str_of(paid, "id");
    let delete = app
        .data_send(
            reqwest::Method::DELETE,
            "mqjo",
            &format!("invoices/{id}"),
            &tokens.access,
            None,
        )
        .await;
    assert_oauth_error(delete, StatusCode::CONFLICT, "conflict").await;
    let put = app
        .data_send(
            reqwest::Method::PUT,
            "mqjo",
            &format!("invoices/{id}"),
            &tokens.access,
            Some(json!({ "reference": "x" })),
        )
        .await;
    assert_oauth_error(put, StatusCode::CONFLICT, "conflict").await;
    // A draft can be approved.
    let draft = invoices
        .iter()
        .find(|invoice| invoice["status"] == "draft")
        .expect("a draft invoice");
    let approved = app
        .data_send(
            reqwest::Method::PUT,
            "mqjo",
            &format!("invoices/{}", str_of(draft, "id")),
            &tokens.access,
            Some(json!({ "status": "open" })),
        )
        .await;
    assert_eq!(approved.status(), StatusCode::OK);
    let approved = json(approved).await;
    assert_eq!(approved["status"], "open");
    assert_eq!(approved["lines"], draft["lines"]);
    assert_eq!(approved["number"], draft["number"]);
}

#[tokio::test]
async fn validation_names_every_bad_field_and_refuses_unknown_references() {
    let app = spawn().await;
    let tokens = app.connect("mqjo", "demo-small").await;
    let post = |path: &'static str, body: Value| {
        let app = &app;
        let token = tokens.access.clone();
        async move {
            app.data_send(reqwest::Method::POST, "mqjo", path, &token, Some(body))
                .await
        }
    };
    let fields = rejected_fields(
        post(
            "invoices",
            json!({
                "issue_date": "2025-02-30",
                "lines": [
                    { "item_id": "itm_0000099999", "quantity": 0 },
                    { "description": "Misc", "quantity": 1, "unit_price_minor": 100, "account_id": "acc_0000000015" },
                    "not an object"
                ]
            }),
        )
        .await,
    )
    .await;
    assert_eq!(
        fields,
        [
            "customer_id",
            "issue_date",
            "lines[0].item_id",
            "lines[0].quantity",
            "lines[1].account_id",
            "lines[2]",
        ]
    );
    let unknown = rejected_fields(
        post(
            "bills",
            json!({ "supplier_id": "sup_0000999999", "issue_date": "2025-01-01", "lines": [{ "item_id": "itm_0000000001", "quantity": 1 }] }),
        )
        .await,
    )
    .await;
    assert_eq!(unknown, ["supplier_id"]);
    assert_eq!(
        rejected_fields(post("customers", json!({ "email": "nope" })).await).await,
        ["name", "email"]
    );
    assert_eq!(
        rejected_fields(
            post(
                "items",
                json!({ "code": "X1", "name": "Widget", "type": "gadget", "unit_price_minor": -1 })
            )
            .await
        )
        .await,
        ["type", "unit_price_minor"]
    );
    assert_eq!(
        rejected_fields(
            post(
                "accounts",
                json!({ "code": "4000", "name": "Sales again", "type": "revenue" })
            )
            .await
        )
        .await,
        ["code"]
    );
    let account = post(
        "accounts",
        json!({ "code": "4100", "name": "Online Sales", "type": "revenue" }),
    )
    .await;
    assert_eq!(account.status(), StatusCode::CREATED);
    let not_json = app
        .http
        .post(app.url("/mqjo/api/v1/customers"))
        .bearer_auth(&tokens.access)
        .body("{")
        .send()
        .await
        .expect("POST");
    assert_oauth_error(not_json, StatusCode::BAD_REQUEST, "invalid_request").await;
    let read_only = app
        .data_send(
            reqwest::Method::POST,
            "bnks",
            "transactions",
            &app.connect("bnks", "demo-small").await.access,
            Some(json!({})),
        )
        .await;
    assert_oauth_error(
        read_only,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
    let patch = app
        .data_send(
            reqwest::Method::PATCH,
            "mqjo",
            "customers/cus_0000000001",
            &tokens.access,
            Some(json!({})),
        )
        .await;
    assert_oauth_error(patch, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
}

#[tokio::test]
async fn writes_need_the_write_scope_when_scopes_were_named() {
    let app = spawn().await;
    let reader = app.connect_with_scope("mqjo", "demo-small", "read").await;
    let body = json!({ "name": "Read Only Ltd" });
    let refused = app
        .data_send(
            reqwest::Method::POST,
            "mqjo",
            "customers",
            &reader.access,
            Some(body.clone()),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        refused.headers()["www-authenticate"],
        "Bearer error=\"insufficient_scope\", scope=\"write\""
    );
    assert_eq!(json(refused).await["error"], "insufficient_scope");
    assert_eq!(
        app.data_get("mqjo", "customers", &reader.access, &[])
            .await
            .status(),
        StatusCode::OK
    );
    let writer = app
        .connect_with_scope("mqjo", "demo-small", "read write")
        .await;
    let created = app
        .data_send(
            reqwest::Method::POST,
            "mqjo",
            "customers",
            &writer.access,
            Some(body),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn commerce_products_can_be_written() {
    let app = spawn().await;
    let tokens = app.connect("aiwb", "demo-small").await;
    let created = app
        .data_send(
            reqwest::Method::POST,
            "aiwb",
            "products",
            &tokens.access,
            Some(json!({ "title": "Canvas Apron", "variants": [{ "price_cents": 2500, "sku": "APR-1" }, { "title": "Kids", "price_cents": 1800 }] })),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let product = json(created).await;
    let id = str_of(&product, "id").to_owned();
    assert_eq!(product["status"], "active");
    assert_eq!(product["handle"], "canvas-apron");
    let first_variant = product["variants"][0]["id"].clone();
    assert_eq!(
        first_variant,
        format!("{}_v1", id.replacen("prod_", "var_", 1))
    );

    let updated = app
        .data_send(
            reqwest::Method::PUT,
            "aiwb",
            &format!("products/{id}"),
            &tokens.access,
            Some(json!({ "variants": [{ "id": first_variant, "price_cents": 2700 }, { "title": "XL", "price_cents": 2900 }] })),
        )
        .await;
    assert_eq!(updated.status(), StatusCode::OK);
    let updated = json(updated).await;
    assert_eq!(updated["variants"][0]["id"], first_variant);
    assert_eq!(
        updated["variants"][1]["id"],
        format!("{}_v3", id.replacen("prod_", "var_", 1))
    );

    let bad = app
        .data_send(
            reqwest::Method::POST,
            "aiwb",
            "products",
            &tokens.access,
            Some(json!({ "variants": [{ "price_cents": "free" }] })),
        )
        .await;
    assert_eq!(
        rejected_fields(bad).await,
        ["title", "variants[0].price_cents"]
    );

    let referenced = app
        .data_send(
            reqwest::Method::DELETE,
            "aiwb",
            "products/prod_0000000000",
            &tokens.access,
            None,
        )
        .await;
    assert_oauth_error(referenced, StatusCode::CONFLICT, "conflict").await;
    let deleted = app
        .data_send(
            reqwest::Method::DELETE,
            "aiwb",
            &format!("products/{id}"),
            &tokens.access,
            None,
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let orders = app
        .data_send(
            reqwest::Method::POST,
            "aiwb",
            "orders",
            &tokens.access,
            Some(json!({})),
        )
        .await;
    assert_oauth_error(orders, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
}
