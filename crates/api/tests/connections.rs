//! Connections over HTTP, the state machine behind them, and the one-Linked-accounting-connection rule.

mod common;

use common::{assert_error, TestApp};
use linkwell_domain::connection::{ConnectionEvent, ConnectionStatus};
use linkwell_domain::ids::{CompanyId, ConnectionId};
use linkwell_store::StoreError;
use serde_json::{json, Value};

backend_tests!(
    create_connection_is_pending_with_a_link_url,
    create_connection_validates_the_platform_key,
    unlink_only_from_linked,
    history_records_every_change,
    delete_connection_removes_it_everywhere,
    one_linked_accounting_connection_per_company,
    concurrent_links_leave_exactly_one_linked,
    connections_list_pages_and_filters,
);

fn ids(company: &Value, connection: &Value) -> (CompanyId, ConnectionId) {
    (
        company["id"].as_str().unwrap().parse().unwrap(),
        connection["id"].as_str().unwrap().parse().unwrap(),
    )
}

/// Links a connection the way the Link flow will: through the state machine in the store.
async fn link(app: &TestApp, company: &Value, connection: &Value) -> Result<(), StoreError> {
    let (company, connection) = ids(company, connection);
    app.store
        .apply_connection_event(
            app.client,
            company,
            connection,
            &ConnectionEvent::AuthorizationCompleted,
        )
        .await
        .map(|_| ())
}

async fn create_connection_is_pending_with_a_link_url(app: TestApp) -> TestApp {
    let company = app.create_company("Linker").await;
    let company_id = company["id"].as_str().unwrap();
    let connection = app.create_connection(company_id, "mqjo").await;
    let id = connection["id"].as_str().unwrap();
    assert_eq!(connection["status"], "PendingAuth");
    assert_eq!(connection["integrationKey"], "mqjo");
    assert_eq!(connection["sourceType"], "Accounting");
    assert_eq!(connection["platformName"], "Sandbox Accounting");
    assert_eq!(
        connection["linkUrl"],
        format!(
            "{}/link/companies/{company_id}/connections/{id}/start",
            app.base
        )
    );
    for field in ["integrationId", "sourceId", "created"] {
        assert!(
            connection[field].as_str().is_some_and(|v| !v.is_empty()),
            "{field}"
        );
    }
    let (status, fetched) = app
        .get(&format!("/companies/{company_id}/connections/{id}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(fetched, connection);
    let (_, company) = app.get(&format!("/companies/{company_id}")).await;
    assert_eq!(company["dataConnections"], json!([connection]));
    app
}

async fn create_connection_validates_the_platform_key(app: TestApp) -> TestApp {
    let company = app.create_company("Picky").await;
    let path = format!("/companies/{}/connections", company["id"].as_str().unwrap());
    let (status, body) = app.post(&path, json!({"platformKey": "zzzz"})).await;
    assert_error(status, &body, 404, "zzzz");
    let (status, body) = app.post(&path, json!({"platformKey": "NOT-A-KEY"})).await;
    assert_error(status, &body, 404, "NOT-A-KEY");
    let (status, body) = app.post(&path, json!({})).await;
    assert_error(status, &body, 400, "platformKey");
    let missing = uuid::Uuid::new_v4();
    let (status, body) = app
        .post(
            &format!("/companies/{missing}/connections"),
            json!({"platformKey": "mqjo"}),
        )
        .await;
    assert_error(status, &body, 404, "company");
    let (_, list) = app.get(&path).await;
    assert_eq!(
        list["totalResults"], 0,
        "failed creations leave nothing behind"
    );
    app
}

async fn unlink_only_from_linked(app: TestApp) -> TestApp {
    let company = app.create_company("Unlinker").await;
    let connection = app
        .create_connection(company["id"].as_str().unwrap(), "bnks")
        .await;
    let path = format!(
        "/companies/{}/connections/{}",
        company["id"].as_str().unwrap(),
        connection["id"].as_str().unwrap()
    );
    let (status, body) = app.patch(&path, json!({"status": "Unlinked"})).await;
    assert_error(status, &body, 409, "PendingAuth");
    link(&app, &company, &connection).await.unwrap();
    let (status, body) = app.patch(&path, json!({"status": "Linked"})).await;
    assert_error(status, &body, 400, "Unlinked");
    let (status, body) = app.patch(&path, json!({"status": "Sideways"})).await;
    assert_error(status, &body, 400, "status");
    let (status, body) = app.patch(&path, json!({"status": "Unlinked"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "Unlinked");
    let (status, body) = app.patch(&path, json!({"status": "Unlinked"})).await;
    assert_error(status, &body, 409, "Unlinked");
    // Re-linking an unlinked connection brings the same connection back.
    link(&app, &company, &connection).await.unwrap();
    let (_, body) = app.get(&path).await;
    assert_eq!(body["status"], "Linked");
    assert_eq!(body["id"], connection["id"]);
    app
}

async fn history_records_every_change(app: TestApp) -> TestApp {
    let company = app.create_company("Historic").await;
    let connection = app
        .create_connection(company["id"].as_str().unwrap(), "mqjo")
        .await;
    let path = format!(
        "/companies/{}/connections/{}",
        company["id"].as_str().unwrap(),
        connection["id"].as_str().unwrap()
    );
    link(&app, &company, &connection).await.unwrap();
    let (company_id, connection_id) = ids(&company, &connection);
    app.store
        .apply_connection_event(
            app.client,
            company_id,
            connection_id,
            &ConnectionEvent::AccessLost {
                reason: "refresh token expired".into(),
            },
        )
        .await
        .unwrap();
    link(&app, &company, &connection).await.unwrap();
    app.patch(&path, json!({"status": "Unlinked"})).await;
    let (status, history) = app.get(&format!("{path}/history")).await;
    assert_eq!(status, 200, "{history}");
    let steps: Vec<(Value, Value)> = history["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| (item["previousStatus"].clone(), item["status"].clone()))
        .collect();
    assert_eq!(
        steps,
        [
            (Value::Null, json!("PendingAuth")),
            (json!("PendingAuth"), json!("Linked")),
            (json!("Linked"), json!("Deauthorized")),
            (json!("Deauthorized"), json!("Linked")),
            (json!("Linked"), json!("Unlinked")),
        ]
    );
    assert_eq!(history["results"][2]["reason"], "refresh token expired");
    assert!(history["results"][0]["changedOnUtc"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    assert_eq!(history["totalResults"], 5);
    let (_, page) = app.get(&format!("{path}/history?pageSize=2&page=3")).await;
    assert_eq!(page["results"].as_array().unwrap().len(), 1);
    assert_eq!(page["results"][0]["status"], "Unlinked");
    let (_, deauthorized) = app.get(&path).await;
    assert_eq!(
        deauthorized["dataConnectionErrors"][0]["errorMessage"],
        "refresh token expired"
    );
    app
}

async fn delete_connection_removes_it_everywhere(app: TestApp) -> TestApp {
    let company = app.create_company("Pruned").await;
    let company_id = company["id"].as_str().unwrap();
    let doomed = app.create_connection(company_id, "aiwb").await;
    let kept = app.create_connection(company_id, "bnks").await;
    let path = format!(
        "/companies/{company_id}/connections/{}",
        doomed["id"].as_str().unwrap()
    );
    let response = app
        .request(reqwest::Method::DELETE, &path)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.text().await.unwrap(),
        "",
        "delete answers 200 with an empty body"
    );
    let (status, body) = app.get(&path).await;
    assert_error(status, &body, 404, doomed["id"].as_str().unwrap());
    let (_, list) = app
        .get(&format!("/companies/{company_id}/connections"))
        .await;
    assert_eq!(list["totalResults"], 1);
    assert_eq!(list["results"][0]["id"], kept["id"]);
    let (_, company) = app.get(&format!("/companies/{company_id}")).await;
    assert_eq!(company["dataConnections"].as_array().unwrap().len(), 1);
    let (status, _) = app.get(&format!("{path}/history")).await;
    assert_eq!(status, 404);
    let (status, _) = app.delete(&path).await;
    assert_eq!(status, 404);
    app
}

async fn one_linked_accounting_connection_per_company(app: TestApp) -> TestApp {
    let company = app.create_company("Strict").await;
    let company_id = company["id"].as_str().unwrap();
    let first = app.create_connection(company_id, "mqjo").await;
    let second = app.create_connection(company_id, "mqjo").await;
    link(&app, &company, &first).await.unwrap();
    match link(&app, &company, &second).await {
        Err(StoreError::AccountingAlreadyLinked { existing }) => {
            assert_eq!(existing.to_string(), first["id"].as_str().unwrap())
        }
        other => panic!("second accounting link must conflict, got {other:?}"),
    }
    let (_, second_now) = app
        .get(&format!(
            "/companies/{company_id}/connections/{}",
            second["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(second_now["status"], "PendingAuth");
    // Banking and commerce: any number at once.
    for key in ["bnks", "bnks", "aiwb", "aiwb"] {
        let connection = app.create_connection(company_id, key).await;
        link(&app, &company, &connection).await.unwrap();
    }
    // Another company is not affected.
    let other = app.create_company("Other").await;
    let other_connection = app
        .create_connection(other["id"].as_str().unwrap(), "mqjo")
        .await;
    link(&app, &other, &other_connection).await.unwrap();
    // Once the first is unlinked, the second may link.
    let path = format!(
        "/companies/{company_id}/connections/{}",
        first["id"].as_str().unwrap()
    );
    let (status, _) = app.patch(&path, json!({"status": "Unlinked"})).await;
    assert_eq!(status, 200);
    link(&app, &company, &second).await.unwrap();
    app
}

async fn concurrent_links_leave_exactly_one_linked(app: TestApp) -> TestApp {
    let company = app.create_company("Racy").await;
    let company_id = company["id"].as_str().unwrap();
    let mut connections = Vec::new();
    for _ in 0..20 {
        connections.push(app.create_connection(company_id, "mqjo").await);
    }
    let attempts = connections.iter().map(|connection| {
        let store = app.store.clone();
        let client = app.client;
        let (company, connection) = ids(&company, connection);
        tokio::spawn(async move {
            store
                .apply_connection_event(
                    client,
                    company,
                    connection,
                    &ConnectionEvent::AuthorizationCompleted,
                )
                .await
        })
    });
    let results = futures::future::join_all(attempts).await;
    let mut won = 0;
    for result in results {
        match result.expect("task") {
            Ok(record) => {
                assert_eq!(record.status, ConnectionStatus::Linked);
                won += 1;
            }
            Err(StoreError::AccountingAlreadyLinked { .. }) => {}
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!(won, 1, "exactly one of 20 concurrent links wins");
    let (_, list) = app
        .get(&format!(
            "/companies/{company_id}/connections?query=status%3DLinked"
        ))
        .await;
    assert_eq!(list["totalResults"], 1);
    app
}

async fn connections_list_pages_and_filters(app: TestApp) -> TestApp {
    let company = app.create_company("Busy").await;
    let company_id = company["id"].as_str().unwrap();
    for key in ["mqjo", "bnks", "aiwb", "bnks"] {
        app.create_connection(company_id, key).await;
    }
    let path = format!("/companies/{company_id}/connections");
    let (_, page) = app.get(&format!("{path}?pageSize=3")).await;
    assert_eq!(page["totalResults"], 4);
    assert_eq!(page["results"].as_array().unwrap().len(), 3);
    assert_eq!(
        page["_links"]["next"]["href"],
        format!("{path}?page=2&pageSize=3")
    );
    let (_, banking) = app.get(&format!("{path}?query=sourceType%3DBanking")).await;
    assert_eq!(banking["totalResults"], 2);
    let (_, ordered) = app.get(&format!("{path}?orderBy=-integrationKey")).await;
    let keys: Vec<&str> = ordered["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["integrationKey"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["mqjo", "bnks", "bnks", "aiwb"]);
    let (status, body) = app.get(&format!("{path}?query=status%3DBroken")).await;
    assert_error(status, &body, 400, "Broken");
    app
}
