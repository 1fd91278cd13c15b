//! The protocol around every request: error bodies for everything the router itself refuses, correlation ids
//! in headers, bodies and logs, no internal detail in bodies, and idempotency keys.

mod common;

use common::{assert_error, read, read_correlated, TestApp};
use serde_json::json;

backend_tests!(
    router_errors_are_error_messages,
    bodies_must_be_json,
    idempotency_key_replays_the_first_answer,
    idempotency_key_with_another_body_is_422,
    internal_errors_hide_their_cause,
    integrations_come_from_the_catalogue,
);

async fn router_errors_are_error_messages(app: TestApp) -> TestApp {
    let (status, body) = app.get("/no/such/route").await;
    assert_error(status, &body, 404, "/no/such/route");
    let (status, body) = app.call(reqwest::Method::PUT, "/apiKeys", None).await;
    assert_error(status, &body, 405, "method");
    let (status, body) = app.call(reqwest::Method::DELETE, "/companies", None).await;
    assert_error(status, &body, 405, "method");
    app
}

async fn bodies_must_be_json(app: TestApp) -> TestApp {
    let malformed = app
        .request(reqwest::Method::POST, "/companies")
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    let (status, body) = read(malformed).await;
    assert_error(status, &body, 400, "JSON");
    let wrong_type = app
        .request(reqwest::Method::POST, "/companies")
        .header("content-type", "text/plain")
        .body("{\"name\": \"x\"}")
        .send()
        .await
        .unwrap();
    let (status, body) = read(wrong_type).await;
    assert_error(status, &body, 415, "application/json");
    let (status, body) = app.post("/companies", json!({"name": ["array"]})).await;
    assert_error(status, &body, 400, "name");
    let (_, list) = app.get("/companies").await;
    assert_eq!(list["totalResults"], 0);
    app
}

async fn idempotency_key_replays_the_first_answer(app: TestApp) -> TestApp {
    let send = |key: &'static str, name: &'static str| {
        app.request(reqwest::Method::POST, "/companies")
            .header("Idempotency-Key", key)
            .json(&json!({ "name": name }))
            .send()
    };
    let first = send("key-1", "Once").await.unwrap();
    assert!(first.headers().get("idempotent-replayed").is_none());
    let (status, first) = read(first).await;
    assert_eq!(status, 200);
    let again = send("key-1", "Once").await.unwrap();
    assert_eq!(again.headers().get("idempotent-replayed").unwrap(), "true");
    let (status, again) = read(again).await;
    assert_eq!(status, 200);
    assert_eq!(again, first, "the replay is the first answer");
    let (_, list) = app.get("/companies").await;
    assert_eq!(list["totalResults"], 1, "the company was created once");
    // Another key is another request.
    let (status, other) = read(send("key-2", "Once").await.unwrap()).await;
    assert_eq!(status, 200);
    assert_ne!(other["id"], first["id"]);
    // PATCH too, and error answers replay as well.
    let path = format!("/companies/{}", first["id"].as_str().unwrap());
    let patch = |name: &'static str| {
        app.request(reqwest::Method::PATCH, &path)
            .header("Idempotency-Key", "patch-1")
            .json(&json!({ "name": name }))
            .send()
    };
    let (status, patched) = read(patch("Renamed").await.unwrap()).await;
    assert_eq!(status, 200);
    app.patch(&path, json!({"name": "Changed since"})).await;
    let (status, replayed) = read(patch("Renamed").await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(replayed, patched);
    let (_, now) = app.get(&path).await;
    assert_eq!(
        now["name"], "Changed since",
        "a replay does not run the request again"
    );
    // Keys belong to a client: another client's identical key is a different key.
    let (_, other_key) = app.other_client("neighbour").await;
    let response = app
        .request_as(&other_key, reqwest::Method::POST, "/companies")
        .header("Idempotency-Key", "key-1")
        .json(&json!({"name": "Once"}))
        .send()
        .await
        .unwrap();
    let (status, theirs) = read(response).await;
    assert_eq!(status, 200);
    assert_ne!(theirs["id"], first["id"]);
    app
}

async fn idempotency_key_with_another_body_is_422(app: TestApp) -> TestApp {
    let send = |name: &'static str| {
        app.request(reqwest::Method::POST, "/companies")
            .header("Idempotency-Key", "reused")
            .json(&json!({ "name": name }))
            .send()
    };
    let (status, _) = read(send("First").await.unwrap()).await;
    assert_eq!(status, 200);
    let (status, body) = read(send("Second").await.unwrap()).await;
    assert_error(status, &body, 422, "Idempotency-Key");
    let (_, list) = app.get("/companies").await;
    assert_eq!(list["totalResults"], 1);
    // Keys inside the replay window are kept.
    assert_eq!(app.store.purge_expired_idempotency_keys().await.unwrap(), 0);
    let (status, _) = read(send("Second").await.unwrap()).await;
    assert_eq!(status, 422);
    let too_long = app
        .request(reqwest::Method::POST, "/companies")
        .header("Idempotency-Key", "k".repeat(300))
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    let (status, body) = read(too_long).await;
    assert_error(status, &body, 400, "Idempotency-Key");
    app
}

async fn internal_errors_hide_their_cause(app: TestApp) -> TestApp {
    // Warm the key cache, then take the database away.
    let (status, _) = app.get("/companies").await;
    assert_eq!(status, 200);
    app.store.close().await;
    let response = app
        .request(reqwest::Method::GET, "/companies")
        .send()
        .await
        .unwrap();
    let (status, body, header) = read_correlated(response).await;
    assert_error(status, &body, 500, "correlation id");
    assert_eq!(body["correlationId"], header);
    let text = body.to_string().to_lowercase();
    for leak in [
        "sqlx", "pool", "sql", "database", "select", ".rs", "panicked",
    ] {
        assert!(!text.contains(leak), "error body leaks '{leak}': {body}");
    }
    app
}

async fn integrations_come_from_the_catalogue(app: TestApp) -> TestApp {
    let (status, list) = app.get("/integrations").await;
    assert_eq!(status, 200);
    let keys: Vec<&str> = list["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["mqjo", "bnks", "aiwb"]);
    assert_eq!(list["totalResults"], 3);
    let (_, banking) = app.get("/integrations?query=sourceType%3DBanking").await;
    assert_eq!(banking["results"][0]["key"], "bnks");
    assert_eq!(banking["totalResults"], 1);
    let (_, paged) = app.get("/integrations?pageSize=2&page=2&orderBy=key").await;
    assert_eq!(paged["results"][0]["key"], "mqjo");
    assert!(paged["_links"]["previous"].is_object());
    let (status, body) = app.get("/integrations?query=flavour%3Dsweet").await;
    assert_error(status, &body, 400, "flavour");
    let (status, mqjo) = app.get("/integrations/mqjo").await;
    assert_eq!(status, 200);
    assert_eq!(mqjo["sourceType"], "Accounting");
    assert_eq!(mqjo["enabled"], true);
    let logo = mqjo["logoUrl"].as_str().unwrap();
    assert!(logo.starts_with(&app.base));
    let svg = app.http.get(logo).send().await.unwrap();
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    assert!(svg.text().await.unwrap().starts_with("<svg"));
    let (status, branding) = app.get("/integrations/bnks/branding").await;
    assert_eq!(status, 200);
    assert!(branding["logo"]["square"]["image"]["src"]
        .as_str()
        .unwrap()
        .ends_with(".svg"));
    assert_eq!(branding["sourceId"], list["results"][1]["sourceId"]);
    let (status, body) = app.get("/integrations/zzzz").await;
    assert_error(status, &body, 404, "zzzz");
    app
}
