//! Pulling, reading and pushing data against the sandbox platforms, with the job queue driven step by step
//! (`drain` runs every due operation to its end; the workers' clock is moved instead of waiting). Runs on
//! SQLite and PostgreSQL.

mod common;

use common::{assert_error, TestApp};
use serde_json::{json, Value};

backend_tests!(
    linking_queues_first_link_pulls_and_a_drain_fills_every_type,
    incremental_pulls_fetch_only_changes_and_mark_deletions,
    a_type_in_progress_cannot_be_queued_twice,
    pulls_need_a_linked_connection,
    reading_a_type_never_requested_is_a_conflict,
    records_page_filter_and_order_like_other_lists,
    a_platform_refusal_ends_the_pull_in_auth_error,
    rate_limits_are_retried_after_the_platforms_delay,
    banking_and_commerce_data_are_read_per_connection,
    a_pushed_invoice_reaches_the_platform_and_the_next_pull,
    an_invalid_push_fails_without_reaching_the_platform,
    pushes_need_a_linked_connection_and_a_supported_type,
    data_goes_with_its_connection_and_company,
    sync_settings_are_validated_and_scheduled,
    another_clients_data_is_not_found,
    payments_and_journal_entries_are_pushed,
    sync_from_utc_starts_the_first_pull,
    a_creation_whose_answer_was_lost_is_made_once,
);

async fn linked(app: &TestApp, platform: &str, organisation: &str) -> (String, String) {
    let (company, connection) = app.company_with_connection(platform).await;
    let done = app.link(&company, &connection, organisation).await;
    assert!(done.ends_with("outcome=linked"), "{done}");
    (company, connection)
}

async fn sandbox_control(app: &TestApp, path: &str, body: Option<Value>) -> Value {
    let mut request = app.http.post(format!("{}/sandbox{path}", app.base));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let answer = request.send().await.unwrap();
    assert!(answer.status().is_success(), "{path}: {}", answer.status());
    answer.json().await.unwrap_or(Value::Null)
}

/// Every page of a list, following `pageSize=5000`.
async fn all_records(app: &TestApp, path: &str) -> Vec<Value> {
    let (status, body) = app.get(&format!("{path}?pageSize=5000")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["totalResults"].as_u64().unwrap() <= 5000);
    body["results"].as_array().unwrap().clone()
}

async fn history(app: &TestApp, company: &str) -> Vec<Value> {
    let (status, body) = app
        .get(&format!("/companies/{company}/data/history?pageSize=500"))
        .await;
    assert_eq!(status, 200, "{body}");
    body["results"].as_array().unwrap().clone()
}

async fn event_types(app: &TestApp) -> Vec<String> {
    use sqlx::Row;
    sqlx::query("SELECT event_type FROM events ORDER BY seq")
        .fetch_all(&app.sql)
        .await
        .unwrap()
        .iter()
        .map(|row| row.get::<String, _>(0))
        .collect()
}

async fn event_bodies(app: &TestApp, event_type: &str) -> Vec<Value> {
    use sqlx::Row;
    sqlx::query("SELECT body FROM events WHERE event_type = $1 ORDER BY seq")
        .bind(event_type)
        .fetch_all(&app.sql)
        .await
        .unwrap()
        .iter()
        .map(|row| serde_json::from_str(&row.get::<String, _>(0)).unwrap())
        .collect()
}

async fn subscribe_everything(app: &TestApp) {
    let (status, body) = app
        .post(
            "/webhooks",
            json!({"url": "http://127.0.0.1:9/hooks", "eventTypes": [
                "read.completed", "read.completed.initial", "invoices.write.successful",
                "invoices.write.unsuccessful", "customers.write.successful"
            ]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

async fn queue(app: &TestApp, company: &str, data_type: &str) -> (u16, Value) {
    app.post(
        &format!("/companies/{company}/data/queue/{data_type}"),
        json!({}),
    )
    .await
}

/// A company whose settings sync invoices from a date gets, on its first pull, the invoices modified since
/// then and no others; a date that is not one is refused.
async fn sync_from_utc_starts_the_first_pull(app: TestApp) -> TestApp {
    let (everything, _) = linked(&app, "mqjo", "demo-small").await;
    app.drain().await;
    let all = all_records(&app, &format!("/companies/{everything}/data/invoices")).await;
    let mut dates: Vec<&str> = all
        .iter()
        .map(|invoice| invoice["sourceModifiedDate"].as_str().unwrap())
        .collect();
    dates.sort_unstable();
    let from = dates[dates.len() - 10].to_owned();
    let mut expected: Vec<&str> = all
        .iter()
        .filter(|invoice| invoice["sourceModifiedDate"].as_str().unwrap() >= from.as_str())
        .map(|invoice| invoice["id"].as_str().unwrap())
        .collect();
    expected.sort_unstable();
    assert!(expected.len() >= 10 && expected.len() < all.len());

    let (company, connection) = app.company_with_connection("mqjo").await;
    let (status, body) = app
        .post(
            &format!("/companies/{company}/syncSettings"),
            json!({"companyId": company, "settings": [
                {"dataType": "invoices", "fetchOnFirstLink": true, "syncSchedule": 24, "syncOrder": 0,
                 "syncFromUtc": "yesterday"}
            ], "overridesDefaults": false}),
        )
        .await;
    assert_error(status, &body, 400, "syncFromUtc");
    let (status, body) = app
        .post(
            &format!("/companies/{company}/syncSettings"),
            json!({"companyId": company, "settings": [
                {"dataType": "invoices", "fetchOnFirstLink": true, "syncSchedule": 24, "syncOrder": 0,
                 "syncFromUtc": from}
            ], "overridesDefaults": false}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let done = app.link(&company, &connection, "demo-small").await;
    assert!(done.ends_with("outcome=linked"), "{done}");
    app.drain().await;
    let since = all_records(&app, &format!("/companies/{company}/data/invoices")).await;
    let mut got: Vec<&str> = since
        .iter()
        .map(|invoice| invoice["id"].as_str().unwrap())
        .collect();
    got.sort_unstable();
    assert_eq!(got, expected);
    // Other types are not limited by the invoices' setting.
    let customers = all_records(&app, &format!("/companies/{company}/data/customers")).await;
    let every_customer =
        all_records(&app, &format!("/companies/{everything}/data/customers")).await;
    assert_eq!(customers.len(), every_customer.len());
    app
}

async fn linking_queues_first_link_pulls_and_a_drain_fills_every_type(app: TestApp) -> TestApp {
    subscribe_everything(&app).await;
    let (company, connection) = linked(&app, "mqjo", "demo-small").await;
    // Linking queued one pull per accounting type the platform offers, in the linking transaction.
    let queued = history(&app, &company).await;
    assert_eq!(queued.len(), 13, "{queued:?}");
    assert!(queued.iter().all(|pull| pull["status"] == "Queued"
        && pull["connectionId"] == connection.as_str()
        && pull["isCompleted"] == false
        && pull["progress"] == 0));

    app.drain().await;
    let done = history(&app, &company).await;
    assert_eq!(done.len(), 13);
    assert!(
        done.iter().all(|pull| pull["status"] == "Complete"
            && pull["isCompleted"] == true
            && pull["isErrored"] == false
            && pull["progress"] == 100
            && pull["completed"].is_string()),
        "{done:?}"
    );
    let invoices = all_records(&app, &format!("/companies/{company}/data/invoices")).await;
    assert_eq!(invoices.len(), 80);
    let first = &invoices[0];
    for field in [
        "id",
        "invoiceNumber",
        "customerRef",
        "lineItems",
        "totalAmount",
        "status",
    ] {
        assert!(first.get(field).is_some(), "invoice lacks {field}: {first}");
    }
    assert_eq!(first["metadata"]["isDeleted"], false);
    assert!(first["modifiedDate"].is_string() && first["sourceModifiedDate"].is_string());
    let (status, one) = app
        .get(&format!(
            "/companies/{company}/data/invoices/{}",
            first["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!((status, &one), (200, first));
    let (status, info) = app.get(&format!("/companies/{company}/data/info")).await;
    assert_eq!(status, 200, "{info}");
    assert!(info["companyName"].is_string(), "{info}");
    let (status, accounts) = app
        .get(&format!("/companies/{company}/data/accounts"))
        .await;
    assert_eq!(status, 200);
    assert!(accounts["totalResults"].as_u64().unwrap() > 0);

    let (status, statuses) = app.get(&format!("/companies/{company}/dataStatus")).await;
    assert_eq!(status, 200);
    assert_eq!(statuses["invoices"]["currentStatus"], "Complete");
    assert_eq!(
        statuses["invoices"]["latestSyncId"],
        statuses["invoices"]["latestSuccessfulSyncId"]
    );
    assert!(statuses["invoices"]["lastSuccessfulSync"].is_string());
    let (_, record) = app.get(&format!("/companies/{company}")).await;
    assert!(record["lastSync"].is_string(), "{record}");

    // The batch reported once, as the initial read and as a read, naming every type.
    let types = event_types(&app).await;
    assert_eq!(
        types
            .iter()
            .filter(|t| *t == "read.completed.initial")
            .count(),
        1
    );
    assert_eq!(types.iter().filter(|t| *t == "read.completed").count(), 1);
    let event = &event_bodies(&app, "read.completed.initial").await[0];
    assert_eq!(event["payload"]["referenceCompany"]["id"], company.as_str());
    let summaries = event["payload"]["dataTypes"].as_array().unwrap();
    assert_eq!(summaries.len(), 13);
    assert!(summaries.iter().any(|s| s["dataType"] == "invoices"
        && s["recordsModified"] == true
        && s["status"] == "Complete"));
    app
}

async fn incremental_pulls_fetch_only_changes_and_mark_deletions(app: TestApp) -> TestApp {
    let (company, _) = linked(&app, "mqjo", "demo-small").await;
    app.drain().await;
    let before = all_records(&app, &format!("/companies/{company}/data/invoices")).await;
    let advanced = sandbox_control(
        &app,
        "/mqjo/control/orgs/demo-small/advance",
        Some(json!({"changes": 40})),
    )
    .await;
    assert!(
        advanced["counts"]["deleted"].as_u64().unwrap() > 0,
        "{advanced}"
    );
    let (status, pull) = queue(&app, &company, "invoices").await;
    assert_eq!(status, 200, "{pull}");
    assert_eq!(pull["status"], "Queued");
    app.drain().await;
    let (_, done) = app
        .get(&format!(
            "/companies/{company}/data/history/{}",
            pull["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(done["status"], "Complete", "{done}");
    // Only what changed came over the wire.
    use sqlx::Row;
    let fetched: i64 = sqlx::query("SELECT records FROM pull_operations WHERE id = $1")
        .bind(pull["id"].as_str().unwrap())
        .fetch_one(&app.sql)
        .await
        .unwrap()
        .get(0);
    assert!(fetched > 0 && fetched < 40, "fetched {fetched} invoices");

    let after = all_records(&app, &format!("/companies/{company}/data/invoices")).await;
    let deleted: Vec<&Value> = after
        .iter()
        .filter(|invoice| invoice["metadata"]["isDeleted"] == true)
        .collect();
    let changed = after
        .iter()
        .filter(|invoice| {
            before
                .iter()
                .find(|old| old["id"] == invoice["id"])
                .is_some_and(|old| old["sourceModifiedDate"] != invoice["sourceModifiedDate"])
        })
        .count();
    let created = after.len() - before.len();
    assert!(!deleted.is_empty(), "deletions are kept, marked deleted");
    assert!(changed + created > 0);
    // Nothing is duplicated, and records keep their place in the list.
    let mut ids: Vec<&str> = after.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(
        &after[..before.len()]
            .iter()
            .map(|i| i["id"].clone())
            .collect::<Vec<_>>(),
        &before.iter().map(|i| i["id"].clone()).collect::<Vec<_>>()
    );
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), after.len());
    let (_, live) = app
        .get(&format!(
            "/companies/{company}/data/invoices?query=metadata.isDeleted%3Dfalse&pageSize=1"
        ))
        .await;
    assert_eq!(
        live["totalResults"].as_u64().unwrap() as usize,
        after.len() - deleted.len()
    );
    app
}

async fn a_type_in_progress_cannot_be_queued_twice(app: TestApp) -> TestApp {
    let (company, _) = linked(&app, "mqjo", "demo-small").await;
    // The first-link pull of invoices is still queued.
    let (status, body) = queue(&app, &company, "invoices").await;
    assert_error(status, &body, 409, "already in progress");
    let running = history(&app, &company)
        .await
        .into_iter()
        .find(|pull| pull["dataType"] == "invoices")
        .unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains(running["id"].as_str().unwrap()),
        "{body}"
    );
    app.drain().await;
    let (status, _) = queue(&app, &company, "invoices").await;
    assert_eq!(status, 200);
    let (status, body) = app
        .post(&format!("/companies/{company}/data/all"), json!({}))
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = queue(&app, &company, "widgets").await;
    assert_error(status, &body, 400, "widgets");
    app
}

async fn pulls_need_a_linked_connection(app: TestApp) -> TestApp {
    let (company, connection) = app.company_with_connection("mqjo").await;
    let (status, body) = app
        .post(
            &format!("/companies/{company}/data/queue/invoices?connectionId={connection}"),
            json!({}),
        )
        .await;
    assert_error(status, &body, 409, "PendingAuth");
    let (status, body) = queue(&app, &company, "invoices").await;
    assert_error(status, &body, 409, "no Linked connection");
    let (status, body) = app
        .post(&format!("/companies/{company}/data/all"), json!({}))
        .await;
    assert_error(status, &body, 409, "no Linked connection");
    let (status, _) = app
        .post(
            "/companies/00000000-0000-4000-8000-000000000000/data/queue/invoices",
            json!({}),
        )
        .await;
    assert_eq!(status, 404);
    // Unlinking after a pull was queued cancels it rather than running it.
    let (company, connection) = linked(&app, "mqjo", "demo-small").await;
    let (status, _) = app
        .patch(
            &format!("/companies/{company}/connections/{connection}"),
            json!({"status": "Unlinked"}),
        )
        .await;
    assert_eq!(status, 200);
    app.drain().await;
    let cancelled = history(&app, &company).await;
    assert_eq!(cancelled.len(), 13);
    assert!(cancelled.iter().all(|pull| pull["status"] == "Cancelled"
        && pull["errorMessage"] == "the connection is Unlinked"));
    app
}

async fn reading_a_type_never_requested_is_a_conflict(app: TestApp) -> TestApp {
    let company = app.create_company("Nothing pulled").await;
    let company = company["id"].as_str().unwrap();
    let (status, body) = app.get(&format!("/companies/{company}/data/bills")).await;
    assert_error(status, &body, 409, "not been requested yet");
    let (status, body) = app.get(&format!("/companies/{company}/data/widgets")).await;
    assert_error(status, &body, 404, "widgets");
    let (status, _) = app
        .get("/companies/00000000-0000-4000-8000-000000000000/data/bills")
        .await;
    assert_eq!(status, 404);
    app
}

async fn records_page_filter_and_order_like_other_lists(app: TestApp) -> TestApp {
    let (company, _) = linked(&app, "mqjo", "demo-small").await;
    app.drain().await;
    let path = format!("/companies/{company}/data/invoices");
    let all = all_records(&app, &path).await;
    let (status, page) = app.get(&format!("{path}?page=3&pageSize=7")).await;
    assert_eq!(status, 200);
    assert_eq!(page["results"].as_array().unwrap(), &all[14..21].to_vec());
    assert_eq!(page["pageNumber"], 3);
    assert_eq!(page["totalResults"], 80);
    assert!(page["_links"]["next"]["href"]
        .as_str()
        .unwrap()
        .contains("page=4"));

    let paid = all.iter().filter(|i| i["status"] == "Paid").count();
    let (_, filtered) = app
        .get(&format!("{path}?query=status%3DPaid&pageSize=500"))
        .await;
    assert_eq!(filtered["totalResults"].as_u64().unwrap() as usize, paid);
    assert!(paid > 0);
    let large = all
        .iter()
        .filter(|i| i["totalAmount"].as_f64().unwrap() > 500.0)
        .count();
    let (_, filtered) = app
        .get(&format!("{path}?query=totalAmount%3E500&pageSize=500"))
        .await;
    assert_eq!(filtered["totalResults"].as_u64().unwrap() as usize, large);
    let (_, nested) = app
        .get(&format!(
            "{path}?query=customerRef.id%3D{}&pageSize=500",
            all[0]["customerRef"]["id"].as_str().unwrap()
        ))
        .await;
    assert!(nested["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["customerRef"]["id"] == all[0]["customerRef"]["id"]));
    let (_, ordered) = app
        .get(&format!("{path}?orderBy=-totalAmount&pageSize=500"))
        .await;
    let amounts: Vec<f64> = ordered["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["totalAmount"].as_f64().unwrap())
        .collect();
    assert!(amounts.windows(2).all(|w| w[0] >= w[1]), "{amounts:?}");
    let (status, body) = app.get(&format!("{path}?query=%7Bstatus%3DPaid")).await;
    assert_eq!(status, 400, "{body}");
    app
}

async fn a_platform_refusal_ends_the_pull_in_auth_error(app: TestApp) -> TestApp {
    let (company, connection) = linked(&app, "mqjo", "demo-small").await;
    app.drain().await;
    sandbox_control(&app, "/mqjo/control/orgs/demo-small/revoke", None).await;
    let (status, pull) = queue(&app, &company, "invoices").await;
    assert_eq!(status, 200);
    app.drain().await;
    let (_, done) = app
        .get(&format!(
            "/companies/{company}/data/history/{}",
            pull["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(done["status"], "AuthError", "{done}");
    assert_eq!(done["isErrored"], true);
    assert_eq!(
        app.connection(&company, &connection).await["status"],
        "Deauthorized"
    );
    // What was pulled stays readable.
    let (status, invoices) = app
        .get(&format!("/companies/{company}/data/invoices"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(invoices["totalResults"], 80);
    app
}

async fn rate_limits_are_retried_after_the_platforms_delay(app: TestApp) -> TestApp {
    let (company, _) = linked(&app, "bnks", "demo-small").await;
    app.drain().await;
    sandbox_control(
        &app,
        "/bnks/control/faults",
        Some(json!({"status": 429, "count": 1, "retryAfter": 120})),
    )
    .await;
    let (_, pull) = queue(&app, &company, "banking-transactions").await;
    let id = pull["id"].as_str().unwrap().to_owned();
    app.drain().await;
    let (_, waiting) = app
        .get(&format!("/companies/{company}/data/history/{id}"))
        .await;
    assert_eq!(waiting["status"], "Queued", "{waiting}");
    assert!(waiting["statusDescription"]
        .as_str()
        .unwrap()
        .starts_with("Retrying after"));
    // Not before the platform's delay...
    app.advance_jobs(60);
    app.drain().await;
    let (_, still) = app
        .get(&format!("/companies/{company}/data/history/{id}"))
        .await;
    assert_eq!(still["status"], "Queued");
    // ...and then it completes.
    app.advance_jobs(61);
    app.drain().await;
    let (_, done) = app
        .get(&format!("/companies/{company}/data/history/{id}"))
        .await;
    assert_eq!(done["status"], "Complete", "{done}");

    // A platform that keeps refusing exhausts the retries: RateLimitError.
    sandbox_control(
        &app,
        "/bnks/control/faults",
        Some(json!({"status": 429, "count": 10})),
    )
    .await;
    let (_, pull) = queue(&app, &company, "banking-accounts").await;
    for _ in 0..6 {
        app.drain().await;
        app.advance_jobs(3600);
    }
    let (_, failed) = app
        .get(&format!(
            "/companies/{company}/data/history/{}",
            pull["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(failed["status"], "RateLimitError", "{failed}");
    app
}

async fn banking_and_commerce_data_are_read_per_connection(app: TestApp) -> TestApp {
    let (company, bank) = linked(&app, "bnks", "demo-small").await;
    let shop = app.create_connection(&company, "aiwb").await;
    let shop = shop["id"].as_str().unwrap().to_owned();
    let done = app.link(&company, &shop, "demo-small").await;
    assert!(done.ends_with("outcome=linked"), "{done}");
    app.drain().await;
    let base = format!("/companies/{company}/connections/{bank}/data");
    let transactions = all_records(&app, &format!("{base}/banking-transactions")).await;
    assert_eq!(transactions.len(), 120);
    let accounts = all_records(&app, &format!("{base}/banking-accounts")).await;
    assert!(!accounts.is_empty());
    let (status, one) = app
        .get(&format!(
            "{base}/banking-transactions/{}",
            transactions[5]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!((status, &one), (200, &transactions[5]));
    let orders = all_records(
        &app,
        &format!("/companies/{company}/connections/{shop}/data/commerce-orders"),
    )
    .await;
    assert_eq!(orders.len(), 80);
    let (status, info) = app
        .get(&format!(
            "/companies/{company}/connections/{shop}/data/commerce-info"
        ))
        .await;
    assert_eq!(status, 200, "{info}");
    // Each connection holds only its own types.
    let (status, body) = app
        .get(&format!(
            "/companies/{company}/connections/{shop}/data/banking-transactions"
        ))
        .await;
    assert_error(status, &body, 409, "not been requested yet");
    // Connection-scoped types are not read at the company's level.
    let (status, _) = app
        .get(&format!("/companies/{company}/data/banking-transactions"))
        .await;
    assert_eq!(status, 404);
    app
}

fn invoice(customer: &str, item: &str) -> Value {
    json!({
        "customerRef": {"id": customer},
        "issueDate": "2026-11-01T00:00:00",
        "dueDate": "2026-12-01T00:00:00",
        "currency": "GBP",
        "status": "Submitted",
        "lineItems": [{"itemRef": {"id": item}, "quantity": 3, "description": "Widgets"}]
    })
}

async fn push_status(app: &TestApp, company: &str, key: &str) -> Value {
    let (status, body) = app.get(&format!("/companies/{company}/push/{key}")).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn a_pushed_invoice_reaches_the_platform_and_the_next_pull(app: TestApp) -> TestApp {
    subscribe_everything(&app).await;
    let (company, connection) = linked(&app, "mqjo", "demo-small").await;
    app.drain().await;
    let customers = all_records(&app, &format!("/companies/{company}/data/customers")).await;
    let items = all_records(&app, &format!("/companies/{company}/data/items")).await;
    let customer = customers[0]["id"].as_str().unwrap();
    let item = items[0]["id"].as_str().unwrap();
    let path = format!("/companies/{company}/connections/{connection}/push/invoices");
    let send = || {
        app.request(reqwest::Method::POST, &path)
            .header("Idempotency-Key", "push-1")
            .json(&invoice(customer, item))
            .send()
    };
    let (status, pushed) = common::read(send().await.unwrap()).await;
    assert_eq!(status, 200, "{pushed}");
    assert_eq!(pushed["status"], "Pending");
    assert_eq!(pushed["dataType"], "invoices");
    assert_eq!(pushed["data"]["customerRef"]["id"], customer);
    // A retried request is the same push, not a second one.
    let (status, again) = common::read(send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(again["pushOperationKey"], pushed["pushOperationKey"]);
    app.drain().await;
    let key = pushed["pushOperationKey"].as_str().unwrap();
    let done = push_status(&app, &company, key).await;
    assert_eq!(done["status"], "Success", "{done}");
    assert_eq!(done["statusCode"], 200);
    let created = done["changes"][0]["recordRef"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(done["changes"][0]["type"], "Created");
    let (_, pushes) = app.get(&format!("/companies/{company}/push")).await;
    assert_eq!(pushes["totalResults"], 1);

    // The next pull brings it in.
    queue(&app, &company, "invoices").await;
    app.drain().await;
    let (status, record) = app
        .get(&format!("/companies/{company}/data/invoices/{created}"))
        .await;
    assert_eq!(status, 200, "{record}");
    assert_eq!(record["customerRef"]["id"], customer);
    // The reference names what it points at, as pulled from the platform.
    assert_eq!(
        record["customerRef"]["companyName"],
        customers[0]["customerName"]
    );
    assert_eq!(record["lineItems"][0]["itemRef"]["name"], items[0]["name"]);
    assert_eq!(record["lineItems"][0]["quantity"], 3);

    // Update (the whole record, as Codat's updates take it) and delete go the same way.
    let mut changed = invoice(customer, item);
    changed["note"] = json!("Thanks for your order");
    let (status, updated) = app.put(&format!("{path}/{created}"), changed).await;
    assert_eq!(status, 200, "{updated}");
    app.drain().await;
    let key = updated["pushOperationKey"].as_str().unwrap();
    let done = push_status(&app, &company, key).await;
    assert_eq!(done["status"], "Success", "{done}");
    let (status, deleted) = app.delete(&format!("{path}/{created}")).await;
    assert_eq!(status, 200, "{deleted}");
    app.drain().await;
    let key = deleted["pushOperationKey"].as_str().unwrap();
    let done = push_status(&app, &company, key).await;
    assert_eq!(done["status"], "Success", "{done}");
    queue(&app, &company, "invoices").await;
    app.drain().await;
    let (_, record) = app
        .get(&format!("/companies/{company}/data/invoices/{created}"))
        .await;
    assert_eq!(record["metadata"]["isDeleted"], true, "{record}");

    let written = event_bodies(&app, "invoices.write.successful").await;
    assert_eq!(written.len(), 3);
    assert_eq!(written[0]["payload"]["type"], "Create");
    assert_eq!(written[0]["payload"]["status"], "Success");
    assert_eq!(written[0]["payload"]["record"]["id"], created.as_str());
    assert_eq!(written[0]["payload"]["connectionId"], connection.as_str());
    app
}

async fn an_invalid_push_fails_without_reaching_the_platform(app: TestApp) -> TestApp {
    subscribe_everything(&app).await;
    let (company, connection) = linked(&app, "mqjo", "demo-small").await;
    app.drain().await;
    let before = sandbox_invoice_count(&app, &company).await;
    let path = format!("/companies/{company}/connections/{connection}/push/invoices");
    let (status, pushed) = app
        .post(&path, json!({"lineItems": [{"quantity": -1}]}))
        .await;
    assert_eq!(status, 200, "{pushed}");
    assert_eq!(pushed["status"], "Failed");
    assert_eq!(pushed["statusCode"], 400);
    let fields: Vec<&str> = pushed["validation"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| error["itemId"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"customerRef.id"), "{fields:?}");
    assert!(
        fields.iter().any(|f| f.starts_with("lineItems[0]")),
        "{fields:?}"
    );
    assert_eq!(app.drain().await, 0, "nothing was queued for the platform");
    assert_eq!(sandbox_invoice_count(&app, &company).await, before);
    let failed = event_bodies(&app, "invoices.write.unsuccessful").await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["payload"]["status"], "Failed");

    // A record the platform refuses (an unknown customer) fails after the call, naming the field.
    let (_, pushed) = app
        .post(&path, invoice("cus_9999999999", "itm_9999999999"))
        .await;
    app.drain().await;
    let done = push_status(&app, &company, pushed["pushOperationKey"].as_str().unwrap()).await;
    assert_eq!(done["status"], "Failed", "{done}");
    assert_eq!(done["statusCode"], 400);
    assert!(
        done["validation"]["errors"]
            .to_string()
            .contains("customerRef"),
        "{done}"
    );
    app
}

/// Invoices at the sandbox, counted by pulling them afresh.
async fn sandbox_invoice_count(app: &TestApp, company: &str) -> usize {
    queue(app, company, "invoices").await;
    app.drain().await;
    let (_, live) = app
        .get(&format!(
            "/companies/{company}/data/invoices?query=metadata.isDeleted%3Dfalse&pageSize=1"
        ))
        .await;
    live["totalResults"].as_u64().unwrap() as usize
}

/// The platform creates the record but its answer is lost (it answers 503 afterwards): the push is retried
/// with the same idempotency key, and the platform holds the record once.
async fn a_creation_whose_answer_was_lost_is_made_once(app: TestApp) -> TestApp {
    let (company, connection) = linked(&app, "mqjo", "demo-small").await;
    app.drain().await;
    sandbox_control(
        &app,
        "/mqjo/control/faults",
        Some(json!({"status": 503, "count": 1, "afterWrite": true})),
    )
    .await;
    let (status, pushed) = app
        .post(
            &format!("/companies/{company}/connections/{connection}/push/customers"),
            json!({"customerName": "Lost Answer Ltd"}),
        )
        .await;
    assert_eq!(status, 200, "{pushed}");
    let key = pushed["pushOperationKey"].as_str().unwrap().to_owned();
    app.drain().await;
    let waiting = push_status(&app, &company, &key).await;
    assert_eq!(
        waiting["status"], "Pending",
        "retried after the 503: {waiting}"
    );
    app.advance_jobs(3600);
    app.drain().await;
    let done = push_status(&app, &company, &key).await;
    assert_eq!(done["status"], "Success", "{done}");
    let created = done["changes"][0]["recordRef"]["id"].as_str().unwrap();

    queue(&app, &company, "customers").await;
    app.drain().await;
    let customers = all_records(&app, &format!("/companies/{company}/data/customers")).await;
    let made: Vec<&str> = customers
        .iter()
        .filter(|customer| customer["customerName"] == "Lost Answer Ltd")
        .map(|customer| customer["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        made,
        [created],
        "created once, and that is the record the push reports"
    );
    app
}

async fn pushes_need_a_linked_connection_and_a_supported_type(app: TestApp) -> TestApp {
    let (company, connection) = app.company_with_connection("mqjo").await;
    let path = format!("/companies/{company}/connections/{connection}/push/customers");
    let (status, body) = app.post(&path, json!({"customerName": "Acme"})).await;
    assert_error(status, &body, 409, "PendingAuth");
    let (company, connection) = linked(&app, "mqjo", "demo-small").await;
    let (status, body) = app
        .post(
            &format!("/companies/{company}/connections/{connection}/push/taxRates"),
            json!({"name": "Zero"}),
        )
        .await;
    assert_error(status, &body, 400, "taxRates");
    let (status, options) = app
        .get(&format!(
            "/companies/{company}/connections/{connection}/options/invoices"
        ))
        .await;
    assert_eq!(status, 200, "{options}");
    // Exactly the shape the document gives (unknown members are refused).
    let described: linkwell_api::routes::push::PushOption =
        serde_json::from_value(options.clone()).expect("a PushOption as documented");
    assert_eq!(
        described.kind,
        linkwell_api::routes::push::PushOptionType::Object
    );
    assert_eq!(options["type"], "Object");
    assert!(
        options["properties"]["customerRef"].is_object(),
        "{options}"
    );
    let (status, _) = app
        .get(&format!(
            "/companies/{company}/connections/{connection}/options/taxRates"
        ))
        .await;
    assert_eq!(status, 404);
    let (status, body) = app
        .post(
            &format!(
                "/companies/{company}/connections/{connection}/push/customers?timeoutInMinutes=0"
            ),
            json!({"customerName": "Acme"}),
        )
        .await;
    assert_error(status, &body, 400, "timeoutInMinutes");
    // A push not done within its timeout ends TimedOut.
    let (status, pushed) = app
        .post(
            &format!(
                "/companies/{company}/connections/{connection}/push/customers?timeoutInMinutes=1"
            ),
            json!({"customerName": "Acme"}),
        )
        .await;
    assert_eq!(status, 200, "{pushed}");
    assert_eq!(pushed["timeoutInMinutes"], 1);
    app.advance_jobs(120);
    app.drain().await;
    let done = push_status(&app, &company, pushed["pushOperationKey"].as_str().unwrap()).await;
    assert_eq!(done["status"], "TimedOut", "{done}");
    app
}

async fn data_goes_with_its_connection_and_company(app: TestApp) -> TestApp {
    use sqlx::Row;
    let count = |app: &TestApp| {
        let sql = app.sql.clone();
        async move {
            sqlx::query("SELECT COUNT(*) FROM data_records")
                .fetch_one(&sql)
                .await
                .unwrap()
                .get::<i64, _>(0)
        }
    };
    let (company, connection) = linked(&app, "mqjo", "demo-small").await;
    app.drain().await;
    // Unlinked: still readable.
    app.patch(
        &format!("/companies/{company}/connections/{connection}"),
        json!({"status": "Unlinked"}),
    )
    .await;
    let (status, _) = app
        .get(&format!("/companies/{company}/data/invoices"))
        .await;
    assert_eq!(status, 200);
    assert!(count(&app).await > 0);
    let (status, _) = app
        .delete(&format!("/companies/{company}/connections/{connection}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(count(&app).await, 0);

    let (company, _) = linked(&app, "bnks", "demo-small").await;
    app.drain().await;
    assert!(count(&app).await > 0);
    let (status, _) = app.delete(&format!("/companies/{company}")).await;
    assert_eq!(status, 204);
    assert_eq!(count(&app).await, 0);
    app
}

async fn sync_settings_are_validated_and_scheduled(app: TestApp) -> TestApp {
    let (status, defaults) = app.get("/profile/syncSettings").await;
    assert_eq!(status, 200);
    assert_eq!(defaults["clientId"], app.client.to_string());
    let invoices = defaults["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["dataType"] == "invoices")
        .unwrap()
        .clone();
    assert_eq!(invoices["fetchOnFirstLink"], true);
    assert_eq!(invoices["syncSchedule"], 24);

    // The client fetches only invoices and customers on first link, and locks invoices at 1 hour.
    let mut settings: Vec<Value> = defaults["settings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let mut s = s.clone();
            s["fetchOnFirstLink"] =
                json!(s["dataType"] == "invoices" || s["dataType"] == "customers");
            s
        })
        .collect();
    for setting in &mut settings {
        if setting["dataType"] == "invoices" {
            setting["syncSchedule"] = json!(1);
            setting["isLocked"] = json!(true);
        }
    }
    let (status, body) = app
        .post(
            "/profile/syncSettings",
            json!({"clientId": app.client.to_string(), "settings": settings, "overridesDefaults": true}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = app
        .post(
            "/profile/syncSettings",
            json!({"settings": [{"dataType": "widgets", "fetchOnFirstLink": true, "syncSchedule": 1, "syncOrder": 0}]}),
        )
        .await;
    assert_error(status, &body, 400, "widgets");

    let (company, _) = linked(&app, "mqjo", "demo-small").await;
    let queued: Vec<String> = history(&app, &company)
        .await
        .iter()
        .map(|p| p["dataType"].as_str().unwrap().to_owned())
        .collect();
    let mut sorted = queued.clone();
    sorted.sort();
    assert_eq!(sorted, ["customers", "invoices"]);

    // The company may change customers' schedule, not the locked invoices'.
    let (status, body) = app
        .post(
            &format!("/companies/{company}/syncSettings"),
            json!({"companyId": company, "settings": [
                {"dataType": "invoices", "fetchOnFirstLink": true, "syncSchedule": 48, "syncOrder": 0},
                {"dataType": "customers", "fetchOnFirstLink": true, "syncSchedule": 2, "syncOrder": 1}
            ], "overridesDefaults": true}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (_, effective) = app.get(&format!("/companies/{company}/syncSettings")).await;
    let setting = |data_type: &str| {
        effective["settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["dataType"] == data_type)
            .unwrap()
            .clone()
    };
    assert_eq!(setting("invoices")["syncSchedule"], 1);
    assert_eq!(setting("customers")["syncSchedule"], 2);
    assert_eq!(effective["companyId"], company.as_str());
    app.drain().await;

    // Nothing is due right after the first pulls; after 90 minutes invoices are, after 3 hours customers too.
    let scheduler = app.scheduler();
    let due: Vec<String> = scheduler
        .tick()
        .await
        .unwrap()
        .iter()
        .map(|p| p.data_type.clone())
        .collect();
    assert!(!due.contains(&"invoices".to_owned()), "{due:?}");
    app.advance_jobs(90 * 60);
    let due: Vec<String> = scheduler
        .tick()
        .await
        .unwrap()
        .iter()
        .map(|p| p.data_type.clone())
        .collect();
    assert!(due.contains(&"invoices".to_owned()), "{due:?}");
    assert!(!due.contains(&"customers".to_owned()), "{due:?}");
    app.drain().await;
    app.advance_jobs(2 * 3600);
    let due: Vec<String> = scheduler
        .tick()
        .await
        .unwrap()
        .iter()
        .map(|p| p.data_type.clone())
        .collect();
    assert!(due.contains(&"customers".to_owned()), "{due:?}");
    let (status, _) = app
        .get("/companies/00000000-0000-4000-8000-000000000000/syncSettings")
        .await;
    assert_eq!(status, 404);
    app
}

async fn another_clients_data_is_not_found(app: TestApp) -> TestApp {
    let (company, connection) = linked(&app, "mqjo", "demo-small").await;
    app.drain().await;
    let (_, other_key) = app.other_client("someone-else").await;
    for path in [
        format!("/companies/{company}/data/invoices"),
        format!("/companies/{company}/data/history"),
        format!("/companies/{company}/dataStatus"),
        format!("/companies/{company}/push"),
        format!("/companies/{company}/syncSettings"),
        format!("/companies/{company}/connections/{connection}/options/invoices"),
    ] {
        let (status, _) = common::read(
            app.request_as(&other_key, reqwest::Method::GET, &path)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 404, "{path}");
    }
    let (status, _) = common::read(
        app.request_as(
            &other_key,
            reqwest::Method::POST,
            &format!("/companies/{company}/data/queue/invoices"),
        )
        .json(&json!({}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    app
}

async fn payments_and_journal_entries_are_pushed(app: TestApp) -> TestApp {
    let (company, connection) = linked(&app, "mqjo", "demo-small").await;
    app.drain().await;
    let invoices = all_records(&app, &format!("/companies/{company}/data/invoices")).await;
    let open = invoices
        .iter()
        .find(|invoice| invoice["status"] == "Submitted")
        .expect("an open invoice");
    let due = open["amountDue"].as_f64().unwrap();
    let id = open["id"].as_str().unwrap();
    let base = format!("/companies/{company}/connections/{connection}/push");
    let (status, pushed) = app
        .post(
            &format!("{base}/payments"),
            json!({
                "customerRef": open["customerRef"],
                "totalAmount": due,
                "currency": open["currency"],
                "date": "2026-11-20T00:00:00",
                "lines": [{"amount": due, "links": [{"type": "Invoice", "id": id, "amount": -due}]}]
            }),
        )
        .await;
    assert_eq!(status, 200, "{pushed}");
    app.drain().await;
    let done = push_status(&app, &company, pushed["pushOperationKey"].as_str().unwrap()).await;
    assert_eq!(done["status"], "Success", "{done}");
    // The paid invoice and the new payment arrive with the next pulls.
    queue(&app, &company, "invoices").await;
    queue(&app, &company, "payments").await;
    app.drain().await;
    let (_, paid) = app
        .get(&format!("/companies/{company}/data/invoices/{id}"))
        .await;
    assert_eq!(paid["status"], "Paid", "{paid}");
    let payment = done["changes"][0]["recordRef"]["id"].as_str().unwrap();
    let (status, payment) = app
        .get(&format!("/companies/{company}/data/payments/{payment}"))
        .await;
    assert_eq!(status, 200, "{payment}");

    let accounts = all_records(&app, &format!("/companies/{company}/data/accounts")).await;
    let (debit, credit) = (&accounts[0]["id"], &accounts[1]["id"]);
    let (status, pushed) = app
        .post(
            &format!("{base}/journalEntries"),
            json!({
                "postedOn": "2026-11-20T00:00:00",
                "description": "Accrual",
                "journalLines": [
                    {"netAmount": 125.5, "accountRef": {"id": debit}, "description": "Debit"},
                    {"netAmount": -125.5, "accountRef": {"id": credit}, "description": "Credit"}
                ]
            }),
        )
        .await;
    assert_eq!(status, 200, "{pushed}");
    app.drain().await;
    let done = push_status(&app, &company, pushed["pushOperationKey"].as_str().unwrap()).await;
    assert_eq!(done["status"], "Success", "{done}");
    let entry = done["changes"][0]["recordRef"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    queue(&app, &company, "journalEntries").await;
    app.drain().await;
    let (status, pulled) = app
        .get(&format!("/companies/{company}/data/journalEntries/{entry}"))
        .await;
    assert_eq!(status, 200, "{pulled}");
    assert_eq!(pulled["journalLines"].as_array().unwrap().len(), 2);
    // An unbalanced entry is refused before reaching the platform.
    let (_, refused) = app
        .post(
            &format!("{base}/journalEntries"),
            json!({
                "postedOn": "2026-11-20T00:00:00",
                "journalLines": [
                    {"netAmount": 125.5, "accountRef": {"id": debit}},
                    {"netAmount": -100, "accountRef": {"id": credit}}
                ]
            }),
        )
        .await;
    assert_eq!(refused["status"], "Failed", "{refused}");
    assert!(refused["validation"]["errors"]
        .to_string()
        .contains("journalLines"));
    let (status, deleted) = app.delete(&format!("{base}/journalEntries/{entry}")).await;
    assert_eq!(status, 200, "{deleted}");
    app.drain().await;
    let done = push_status(
        &app,
        &company,
        deleted["pushOperationKey"].as_str().unwrap(),
    )
    .await;
    assert_eq!(done["status"], "Success", "{done}");
    queue(&app, &company, "journalEntries").await;
    app.drain().await;
    let (_, gone) = app
        .get(&format!("/companies/{company}/data/journalEntries/{entry}"))
        .await;
    assert_eq!(gone["metadata"]["isDeleted"], true, "{gone}");
    app
}
