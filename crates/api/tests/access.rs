//! Authentication, API keys and isolation between clients.

mod common;

use common::{assert_error, read, read_correlated, TestApp};
use serde_json::json;

backend_tests!(
    requests_without_a_valid_key_are_401,
    api_keys_are_created_listed_and_deleted,
    api_key_names_and_limits,
    replayed_key_creation_never_shows_the_secret_again,
    clients_never_see_each_other,
);

async fn requests_without_a_valid_key_are_401(app: TestApp) -> TestApp {
    let url = format!("{}/companies", app.base);
    let cases = [
        app.http.get(&url),
        app.http
            .get(&url)
            .header("Authorization", TestApp::auth("wrong-key")),
        app.http
            .get(&url)
            .header("Authorization", format!("Bearer {}", app.key)),
        app.http
            .get(&url)
            .header("Authorization", "Basic %%%not-base64"),
    ];
    for request in cases {
        let response = request.send().await.unwrap();
        let (status, body, header) = read_correlated(response).await;
        assert_error(status, &body, 401, "unauthorized");
        assert_eq!(
            body["correlationId"], header,
            "header and body carry the same correlation id"
        );
    }
    let (status, _) = app.get("/companies").await;
    assert_eq!(status, 200);
    app
}

async fn api_keys_are_created_listed_and_deleted(app: TestApp) -> TestApp {
    let (status, created) = app
        .post(
            "/apiKeys",
            json!({"name": "azure-invoice-finance-processor"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let raw = created["apiKey"].as_str().unwrap().to_owned();
    assert!(raw.len() >= 32);
    assert_eq!(created["name"], "azure-invoice-finance-processor");
    let new_id = created["id"].as_str().unwrap().to_owned();
    // The new key works.
    let (status, _) = read(
        app.request_as(&raw, reqwest::Method::GET, "/companies")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let (_, list) = app.get("/apiKeys").await;
    let results = list["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert!(
        results.iter().all(|key| key.get("apiKey").is_none()),
        "secrets are never listed"
    );
    assert!(results.iter().any(|key| key["id"] == new_id.as_str()));
    // The raw key is stored only as a hash.
    assert!(!format!("{:?}", app.store.list_api_keys(app.client).await.unwrap()).contains(&raw));
    let (status, _) = app.delete(&format!("/apiKeys/{new_id}")).await;
    assert_eq!(status, 204);
    let (status, body) = read(
        app.request_as(&raw, reqwest::Method::GET, "/companies")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(status, &body, 401, "unauthorized");
    let (status, body) = app.delete(&format!("/apiKeys/{new_id}")).await;
    assert_error(status, &body, 404, &new_id);
    // A key without a name, and without a body at all.
    let response = app
        .request(reqwest::Method::POST, "/apiKeys")
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_eq!(status, 201, "{body}");
    assert!(body["name"].is_null());
    app
}

async fn api_key_names_and_limits(app: TestApp) -> TestApp {
    let (status, body) = app.post("/apiKeys", json!({"name": "x".repeat(51)})).await;
    assert_error(status, &body, 400, "50");
    // The harness made one key; nine more fill the ten.
    for i in 0..9 {
        let (status, body) = app.post("/apiKeys", json!({"name": format!("k{i}")})).await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, body) = app.post("/apiKeys", json!({"name": "eleventh"})).await;
    assert_error(status, &body, 409, "10");
    let (_, list) = app.get("/apiKeys").await;
    assert_eq!(list["results"].as_array().unwrap().len(), 10);
    app
}

async fn clients_never_see_each_other(app: TestApp) -> TestApp {
    let company = app.create_company("Private").await;
    let company_id = company["id"].as_str().unwrap();
    let connection = app.create_connection(company_id, "mqjo").await;
    let connection_path = format!(
        "/companies/{company_id}/connections/{}",
        connection["id"].as_str().unwrap()
    );
    let (_, other_key) = app.other_client("intruder").await;
    let as_other = |method: reqwest::Method, path: &str| app.request_as(&other_key, method, path);
    let (status, list) = read(
        as_other(reqwest::Method::GET, "/companies")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list["totalResults"], 0);
    let company_path = format!("/companies/{company_id}");
    for (method, path) in [
        (reqwest::Method::GET, company_path.clone()),
        (reqwest::Method::DELETE, company_path.clone()),
        (reqwest::Method::GET, format!("{company_path}/connections")),
        (reqwest::Method::GET, connection_path.clone()),
        (reqwest::Method::DELETE, connection_path.clone()),
        (reqwest::Method::GET, format!("{connection_path}/history")),
    ] {
        let (status, body) = read(as_other(method.clone(), &path).send().await.unwrap()).await;
        assert_error(status, &body, 404, "");
        assert_eq!(status, 404, "{method} {path}");
    }
    let (status, _) = read(
        as_other(reqwest::Method::PATCH, &company_path)
            .json(&json!({"name": "Stolen"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = read(
        as_other(
            reqwest::Method::POST,
            &format!("{company_path}/connections"),
        )
        .json(&json!({"platformKey": "bnks"}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    // Keys are per client too.
    let (_, own_keys) = app.get("/apiKeys").await;
    let own_key_id = own_keys["results"][0]["id"].as_str().unwrap();
    let (status, _) = read(
        as_other(reqwest::Method::DELETE, &format!("/apiKeys/{own_key_id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    let (_, other_keys) = read(
        as_other(reqwest::Method::GET, "/apiKeys")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(other_keys["results"].as_array().unwrap().len(), 1);
    // Nothing changed for the owner.
    let (_, mine) = app.get(&company_path).await;
    assert_eq!(mine["name"], "Private");
    assert_eq!(mine["dataConnections"].as_array().unwrap().len(), 1);
    app
}

async fn replayed_key_creation_never_shows_the_secret_again(app: TestApp) -> TestApp {
    let create = || {
        app.request(reqwest::Method::POST, "/apiKeys")
            .header("Idempotency-Key", "new-key")
            .json(&json!({"name": "once"}))
            .send()
    };
    let (status, first) = read(create().await.unwrap()).await;
    assert_eq!(status, 201);
    let secret = first["apiKey"].as_str().unwrap().to_owned();
    let (status, replay) = read(create().await.unwrap()).await;
    assert_eq!(status, 201, "the replay reports the same creation");
    assert_eq!(replay["id"], first["id"]);
    assert!(
        replay.get("apiKey").is_none(),
        "the secret is shown once: {replay}"
    );
    assert!(!replay.to_string().contains(&secret));
    let (_, list) = app.get("/apiKeys").await;
    assert_eq!(
        list["results"].as_array().unwrap().len(),
        2,
        "one key was created"
    );
    app
}
