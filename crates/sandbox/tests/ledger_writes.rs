//! Ledger writes on mqjo: payments recorded against invoices pay them down, journal entries must
//! balance and can be deleted, and every change shows up in increments.

mod common;

use std::time::Duration;

use common::data::*;
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const ORGANISATION: &str = "demo-small";

impl TestApp {
    async fn post(&self, token: &str, path: &str, body: Value) -> reqwest::Response {
        self.data_send(Method::POST, "mqjo", path, token, Some(body))
            .await
    }

    async fn invoices(&self, token: &str) -> Vec<Value> {
        self.walk("mqjo", "invoices", token, 500, None).await
    }

    async fn invoice(&self, token: &str, id: &str) -> Value {
        self.page("mqjo", &format!("invoices/{id}"), token, &[])
            .await
    }
}

/// The first invoice `wanted` accepts.
fn invoice_where(invoices: &[Value], wanted: impl Fn(&Value) -> bool) -> &Value {
    invoices
        .iter()
        .find(|invoice| wanted(invoice))
        .expect("demo-small has such an invoice")
}

fn open_and_unpaid(invoice: &Value) -> bool {
    invoice["status"] == "open" && int_of(invoice, "amount_paid_minor") == 0
}

#[tokio::test]
async fn payments_pay_down_their_invoice_and_show_up_in_increments() {
    let app = spawn().await;
    let token = app.connect("mqjo", ORGANISATION).await.access;
    let invoices = app.invoices(&token).await;
    let invoice = invoice_where(&invoices, open_and_unpaid).clone();
    let invoice_id = str_of(&invoice, "id");
    let due = int_of(&invoice, "amount_due_minor");
    let since = now_rfc3339(&app);
    app.clock.advance(Duration::from_secs(1));

    // A first, partial payment: the platform fills in the customer, account and reference.
    let created = app
        .post(
            &token,
            "payments",
            json!({ "invoice_id": invoice_id, "amount_minor": due / 2, "paid_on": "2025-03-01" }),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let first = json(created).await;
    assert!(str_of(&first, "id").starts_with("pay_"));
    assert_eq!(first["customer_id"], invoice["customer_id"]);
    assert_eq!(first["currency"], invoice["currency"]);
    assert_eq!(first["amount_minor"], due / 2);
    assert_eq!(first["paid_on"], "2025-03-01");
    assert_eq!(first["account_id"], "acc_0000000000");
    assert_eq!(first["method"], "bank_transfer");
    assert_eq!(first["reference"], invoice["number"]);
    assert_eq!(first["created_at"], first["updated_at"]);
    assert_eq!(now_rfc3339(&app), str_of(&first, "updated_at"));
    assert_eq!(
        app.page(
            "mqjo",
            &format!("payments/{}", str_of(&first, "id")),
            &token,
            &[]
        )
        .await,
        first
    );

    let partly = app.invoice(&token, invoice_id).await;
    assert_eq!(partly["status"], "open");
    assert_eq!(partly["amount_paid_minor"], due / 2);
    assert_eq!(partly["amount_due_minor"], due - due / 2);
    assert_eq!(partly["updated_at"], first["updated_at"]);
    assert_eq!(partly["created_at"], invoice["created_at"]);
    assert_eq!(partly["lines"], invoice["lines"]);

    // The rest, into the savings account by card: the invoice is paid.
    app.clock.advance(Duration::from_secs(1));
    let created = app
        .post(
            &token,
            "payments",
            json!({
                "invoice_id": invoice_id,
                "amount_minor": due - due / 2,
                "paid_on": "2025-03-02",
                "account_id": "acc_0000000001",
                "method": "card",
                "reference": "CARD-991",
                "currency": invoice["currency"],
                "customer_id": invoice["customer_id"],
            }),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let second = json(created).await;
    assert_eq!(second["account_id"], "acc_0000000001");
    assert_eq!(second["method"], "card");
    assert_eq!(second["reference"], "CARD-991");
    let paid = app.invoice(&token, invoice_id).await;
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["amount_paid_minor"], due);
    assert_eq!(paid["amount_due_minor"], 0);
    assert_eq!(paid["updated_at"], second["updated_at"]);

    // Nothing is left to pay, and a paid invoice is no longer editable.
    let again = app
        .post(
            &token,
            "payments",
            json!({ "invoice_id": invoice_id, "amount_minor": 1, "paid_on": "2025-03-03" }),
        )
        .await;
    assert_eq!(rejected_fields(again).await, ["invoice_id"]);
    let edit = app
        .data_send(
            Method::PUT,
            "mqjo",
            &format!("invoices/{invoice_id}"),
            &token,
            Some(json!({ "reference": "changed" })),
        )
        .await;
    assert_oauth_error(edit, StatusCode::CONFLICT, "conflict").await;

    // An incremental pull sees the invoice once, in its latest state, and both payments.
    let changed = app
        .walk("mqjo", "invoices", &token, 100, Some(&since))
        .await;
    assert_eq!(changed, std::slice::from_ref(&paid));
    let payments = app
        .walk("mqjo", "payments", &token, 100, Some(&since))
        .await;
    assert_eq!(payments, [first.clone(), second.clone()]);
    // A full pull lists the invoice after every base record, and the payments add up.
    let all = app.invoices(&token).await;
    assert_eq!(all.len(), invoices.len());
    assert_eq!(all.last(), Some(&paid));
    let all_payments = app.walk("mqjo", "payments", &token, 500, None).await;
    let paid_in: i64 = all_payments
        .iter()
        .filter(|payment| payment["invoice_id"] == invoice_id)
        .map(|payment| int_of(payment, "amount_minor"))
        .sum();
    assert_eq!(paid_in, due);

    // Payments are recorded, never edited or removed.
    let payment_path = format!("payments/{}", str_of(&first, "id"));
    for method in [Method::PUT, Method::DELETE] {
        let refused = app
            .data_send(
                method,
                "mqjo",
                &payment_path,
                &token,
                Some(json!({ "amount_minor": 1 })),
            )
            .await;
        assert_oauth_error(
            refused,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        )
        .await;
    }
}

#[tokio::test]
async fn payment_validation_names_each_bad_field() {
    let app = spawn().await;
    let token = app.connect("mqjo", ORGANISATION).await.access;
    let invoices = app.invoices(&token).await;
    let open = invoice_where(&invoices, open_and_unpaid);
    let open_id = str_of(open, "id");
    let due = int_of(open, "amount_due_minor");
    let issued = str_of(open, "issue_date");
    let since = now_rfc3339(&app);
    app.clock.advance(Duration::from_secs(1));
    let reject = |body: Value| {
        let (app, token) = (&app, token.clone());
        async move { rejected_fields(app.post(&token, "payments", body).await).await }
    };
    let on = |changes: Value| {
        let mut body =
            json!({ "invoice_id": open_id, "amount_minor": 100, "paid_on": "2025-03-01" });
        for (name, value) in changes.as_object().expect("an object") {
            body[name] = value.clone();
        }
        body
    };

    assert_eq!(
        reject(json!({})).await,
        ["invoice_id", "amount_minor", "paid_on"]
    );
    assert_eq!(
        reject(on(json!({ "invoice_id": "inv_0000099999" }))).await,
        ["invoice_id"]
    );
    for status in ["draft", "void", "paid"] {
        let invoice = invoice_where(&invoices, |invoice| invoice["status"] == status);
        assert_eq!(
            reject(on(json!({ "invoice_id": invoice["id"] }))).await,
            ["invoice_id"],
            "{status}"
        );
    }
    for amount in [json!(0), json!(-5), json!("ten"), json!(due + 1)] {
        assert_eq!(
            reject(on(json!({ "amount_minor": amount }))).await,
            ["amount_minor"],
            "{amount}"
        );
    }
    assert_eq!(
        reject(on(json!({ "paid_on": "2025-13-01" }))).await,
        ["paid_on"]
    );
    let before_issue = chrono::NaiveDate::parse_from_str(issued, "%Y-%m-%d")
        .expect("a date")
        .pred_opt()
        .expect("a day before")
        .to_string();
    assert_eq!(
        reject(on(json!({ "paid_on": before_issue }))).await,
        ["paid_on"]
    );
    assert_eq!(reject(on(json!({ "currency": "EUR" }))).await, ["currency"]);
    // Sales is a revenue account; money is received into an asset account.
    for account in ["acc_0000000011", "acc_0000099999"] {
        assert_eq!(
            reject(on(json!({ "account_id": account }))).await,
            ["account_id"]
        );
    }
    assert_eq!(
        reject(on(json!({ "customer_id": "cus_0000000029" }))).await,
        ["customer_id"]
    );
    assert_eq!(reject(on(json!({ "method": "barter" }))).await, ["method"]);

    // No refused payment was recorded or touched the invoice.
    assert_eq!(&app.invoice(&token, open_id).await, open);
    assert!(app
        .walk("mqjo", "payments", &token, 100, Some(&since))
        .await
        .is_empty());
}

#[tokio::test]
async fn journal_entries_balance_and_can_be_deleted() {
    let app = spawn().await;
    let token = app.connect("mqjo", ORGANISATION).await.access;
    let base = app.walk("mqjo", "journal-entries", &token, 500, None).await;
    let since = now_rfc3339(&app);
    app.clock.advance(Duration::from_secs(1));

    let created = app
        .post(
            &token,
            "journal-entries",
            json!({
                "entry_date": "2025-03-31",
                "memo": "March payroll accrual",
                "lines": [
                    { "account_id": "acc_0000000023", "debit_minor": 12_000 },
                    { "account_id": "acc_0000000008", "credit_minor": 12_000, "debit_minor": 0,
                      "description": "Wages owed" }
                ]
            }),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let entry = json(created).await;
    let id = str_of(&entry, "id").to_owned();
    assert_eq!(id, format!("jnl_{:010}", base.len()));
    assert_eq!(entry["number"], format!("JE-{:06}", base.len() + 1));
    assert_eq!(entry["entry_date"], "2025-03-31");
    assert_eq!(entry["currency"], "GBP");
    assert_eq!(entry["total_minor"], 12_000);
    assert_eq!(
        entry["lines"],
        json!([
            { "account_id": "acc_0000000023", "account_name": "Wages and Salaries",
              "description": "March payroll accrual", "debit_minor": 12_000, "credit_minor": 0 },
            { "account_id": "acc_0000000008", "account_name": "Accrued Liabilities",
              "description": "Wages owed", "debit_minor": 0, "credit_minor": 12_000 }
        ])
    );
    assert_eq!(
        app.page("mqjo", &format!("journal-entries/{id}"), &token, &[])
            .await,
        entry
    );
    assert_eq!(
        app.walk("mqjo", "journal-entries", &token, 100, Some(&since))
            .await,
        std::slice::from_ref(&entry)
    );

    // Entries are posted or removed, never edited.
    let edit = app
        .data_send(
            Method::PUT,
            "mqjo",
            &format!("journal-entries/{id}"),
            &token,
            Some(json!({ "memo": "changed" })),
        )
        .await;
    assert_oauth_error(edit, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;

    app.clock.advance(Duration::from_secs(1));
    let mid = now_rfc3339(&app);
    app.clock.advance(Duration::from_secs(1));
    for deleted in [id.as_str(), "jnl_0000000000"] {
        let response = app
            .data_send(
                Method::DELETE,
                "mqjo",
                &format!("journal-entries/{deleted}"),
                &token,
                None,
            )
            .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "{deleted}");
        let gone = app
            .data_get("mqjo", &format!("journal-entries/{deleted}"), &token, &[])
            .await;
        assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    }
    let increment = app
        .walk("mqjo", "journal-entries", &token, 100, Some(&mid))
        .await;
    assert_eq!(ids(&increment), ["jnl_0000000000", id.as_str()]);
    assert!(increment.iter().all(|record| record["deleted"] == true));
    let remaining = app.walk("mqjo", "journal-entries", &token, 500, None).await;
    assert_eq!(remaining.len(), base.len() - 1);
}

#[tokio::test]
async fn journal_entry_validation_names_each_bad_field() {
    let app = spawn().await;
    let token = app.connect("mqjo", ORGANISATION).await.access;
    let reject = |body: Value| {
        let (app, token) = (&app, token.clone());
        async move { rejected_fields(app.post(&token, "journal-entries", body).await).await }
    };
    let debit = |amount: i64| json!({ "account_id": "acc_0000000005", "debit_minor": amount });
    let credit = |amount: i64| json!({ "account_id": "acc_0000000000", "credit_minor": amount });
    let entry = |lines: Value| json!({ "entry_date": "2025-03-31", "lines": lines });

    assert_eq!(reject(json!({})).await, ["entry_date", "lines"]);
    assert_eq!(
        reject(json!({ "entry_date": "31/03/2025", "lines": [debit(100), credit(100)] })).await,
        ["entry_date"]
    );
    assert_eq!(reject(entry(json!([]))).await, ["lines"]);
    assert_eq!(reject(entry(json!([debit(100)]))).await, ["lines"]);
    // Unbalanced: the entry as a whole is refused.
    assert_eq!(
        reject(entry(json!([debit(100), credit(90)]))).await,
        ["lines"]
    );
    assert_eq!(
        reject(entry(json!([debit(100), debit(100)]))).await,
        ["lines"]
    );
    // Line by line.
    assert_eq!(
        reject(entry(json!([
            { "account_id": "acc_0000099999", "debit_minor": 100 },
            credit(100)
        ])))
        .await,
        ["lines[0].account_id"]
    );
    assert_eq!(
        reject(entry(json!([{ "debit_minor": 100 }, credit(100)]))).await,
        ["lines[0].account_id"]
    );
    assert_eq!(
        reject(entry(json!([
            { "account_id": "acc_0000000005" },
            { "account_id": "acc_0000000000", "debit_minor": 100, "credit_minor": 100 },
            { "account_id": "acc_0000000000", "debit_minor": -100 },
            "a line"
        ])))
        .await,
        [
            "lines[0].debit_minor",
            "lines[1].credit_minor",
            "lines[2].debit_minor",
            "lines[3]"
        ]
    );
    // Nothing was posted.
    let since = "2025-01-01T00:00:00Z";
    assert!(app
        .walk("mqjo", "journal-entries", &token, 100, Some(since))
        .await
        .is_empty());
}
