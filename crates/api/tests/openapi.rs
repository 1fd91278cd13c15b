//! The OpenAPI document is generated from the code; the copy in the repository (`openapi.json`) must match
//! it, so a change to the wire contract is always a visible change in review. `UPDATE_SNAPSHOTS=1` rewrites it.

mod common;

use common::{Db, TestApp};

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.json");

#[test]
fn snapshot_matches_the_code() {
    let generated = linkwell_api::openapi::document_json();
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(SNAPSHOT, &generated).expect("write snapshot");
        return;
    }
    let stored = std::fs::read_to_string(SNAPSHOT).unwrap_or_default();
    assert!(
        stored == generated,
        "openapi.json is out of date: run `UPDATE_SNAPSHOTS=1 cargo test -p linkwell-api --test openapi` and review the diff"
    );
}

#[test]
fn document_declares_codat_operations() {
    let document: serde_json::Value =
        serde_json::from_str(&linkwell_api::openapi::document_json()).unwrap();
    let paths = document["paths"].as_object().unwrap();
    for (path, method, operation) in [
        ("/companies", "get", "list-companies"),
        ("/companies", "post", "create-company"),
        ("/companies/{companyId}", "delete", "delete-company"),
        (
            "/companies/{companyId}/connections/{connectionId}",
            "patch",
            "unlink-connection",
        ),
        (
            "/integrations/{platformKey}/branding",
            "get",
            "get-integrations-branding",
        ),
        ("/apiKeys", "post", "create-api-key"),
    ] {
        assert_eq!(
            paths[path][method]["operationId"], operation,
            "{method} {path}"
        );
    }
    assert_eq!(
        document["components"]["securitySchemes"]["auth_header"]["name"],
        "Authorization"
    );
}

#[tokio::test]
async fn served_document_is_the_generated_one() {
    let app = TestApp::start(Db::Sqlite).await;
    let response = app
        .http
        .get(format!("{}/openapi.json", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(
        response.text().await.unwrap(),
        linkwell_api::openapi::document_json()
    );
    app.finish().await;
}
