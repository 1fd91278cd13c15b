//! Control endpoints: revoking an organisation's grants, expiring its tokens, injecting faults.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn control_revoke_kills_every_grant_of_the_organisation() {
    let app = spawn().await;
    let first = app.connect("mqjo", "acme").await;
    let second = app.connect("mqjo", "acme").await;
    let bystander = app.connect("mqjo", "demo-small").await;
    let same_name_elsewhere = app.connect("bnks", "acme").await;

    let response = app.control("/mqjo/control/orgs/acme/revoke", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json(response).await["revokedGrants"], 2);

    for tokens in [&first, &second] {
        assert_invalid_token(app.whoami("mqjo", &tokens.access).await).await;
        let refresh = app.refresh("mqjo", &tokens.refresh).await;
        assert_oauth_error(refresh, StatusCode::BAD_REQUEST, "invalid_grant").await;
    }
    assert_eq!(
        app.whoami("mqjo", &bystander.access).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.whoami("bnks", &same_name_elsewhere.access)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn control_expire_tokens_expires_access_but_not_refresh() {
    let app = spawn().await;
    let tokens = app.connect("aiwb", "demo-medium").await;
    let response = app
        .control("/aiwb/control/orgs/demo-medium/expire-tokens", None)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json(response).await["expiredAccessTokens"], 1);

    assert_invalid_token(app.whoami("aiwb", &tokens.access).await).await;
    let refreshed = app.refresh("aiwb", &tokens.refresh).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    let refreshed = tokens_from(refreshed).await;
    assert_eq!(
        app.whoami("aiwb", &refreshed.access).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn control_rejects_invalid_organisation_names() {
    let app = spawn().await;
    let response = app
        .control("/mqjo/control/orgs/not%20valid/revoke", None)
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn faults_fail_the_next_token_calls_then_clear() {
    let app = spawn().await;
    let tokens = app.connect("mqjo", "demo-small").await;
    let response = app
        .control(
            "/mqjo/control/faults",
            Some(json!({ "status": 503, "count": 2, "retryAfter": 7 })),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    // Faults are per platform.
    let other_platform = app.connect("bnks", "demo-small").await;
    assert_eq!(
        app.refresh("bnks", &other_platform.refresh).await.status(),
        StatusCode::OK
    );

    for _ in 0..2 {
        let response = app.refresh("mqjo", &tokens.refresh).await;
        assert_eq!(response.headers()["retry-after"], "7");
        assert_oauth_error(
            response,
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
        )
        .await;
    }
    // The faulted calls did not consume the refresh token.
    let response = app.refresh("mqjo", &tokens.refresh).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn faults_apply_to_data_calls_too() {
    let app = spawn().await;
    let tokens = app.connect("bnks", "demo-small").await;
    app.control(
        "/bnks/control/faults",
        Some(json!({ "status": 429, "count": 1 })),
    )
    .await;
    let response = app.whoami("bnks", &tokens.access).await;
    assert!(response.headers().get("retry-after").is_none());
    assert_oauth_error(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert_eq!(
        app.whoami("bnks", &tokens.access).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_zero_count_clears_pending_faults() {
    let app = spawn().await;
    let tokens = app.connect("aiwb", "demo-small").await;
    app.control(
        "/aiwb/control/faults",
        Some(json!({ "status": 500, "count": 5 })),
    )
    .await;
    app.control(
        "/aiwb/control/faults",
        Some(json!({ "status": 500, "count": 0 })),
    )
    .await;
    assert_eq!(
        app.whoami("aiwb", &tokens.access).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn fault_requests_are_validated() {
    let app = spawn().await;
    for body in [
        json!({ "status": 404, "count": 1 }),
        json!({ "status": 503 }),
        json!({ "status": 503, "count": -2 }),
        json!({ "status": "503", "count": 1 }),
        json!([1, 2]),
    ] {
        let response = app
            .control("/mqjo/control/faults", Some(body.clone()))
            .await;
        assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
    let empty = app.control("/mqjo/control/faults", None).await;
    assert_eq!(empty.status(), StatusCode::BAD_REQUEST);
}
