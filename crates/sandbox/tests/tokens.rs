//! The token and revocation endpoints: PKCE, single-use codes, rotation, expiry, client auth.

mod common;

use std::time::Duration;

use common::*;
use reqwest::StatusCode;

#[tokio::test]
async fn wrong_code_verifier_is_invalid_grant() {
    let app = spawn().await;
    let pkce = Pkce::new();
    let code = app.obtain_code("mqjo", "demo-small", &pkce).await;
    let wrong = Pkce::new();
    let response = app.exchange_code("mqjo", &code, &wrong.verifier).await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn code_must_match_redirect_uri_and_platform() {
    let app = spawn().await;
    let pkce = Pkce::new();
    let code = app.obtain_code("mqjo", "demo-small", &pkce).await;
    let response = app
        .post_token(
            "mqjo",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "http://localhost:9999/elsewhere"),
                ("code_verifier", &pkce.verifier),
            ],
        )
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    let response = app.exchange_code("bnks", &code, &pkce.verifier).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn reusing_a_code_is_invalid_grant_and_revokes_its_tokens() {
    let app = spawn().await;
    let pkce = Pkce::new();
    let code = app.obtain_code("bnks", "demo-small", &pkce).await;
    let first = app.exchange_code("bnks", &code, &pkce.verifier).await;
    assert_eq!(first.status(), StatusCode::OK);
    let tokens = tokens_from(first).await;
    assert_eq!(
        app.whoami("bnks", &tokens.access).await.status(),
        StatusCode::OK
    );

    let replay = app.exchange_code("bnks", &code, &pkce.verifier).await;
    assert_oauth_error(replay, StatusCode::BAD_REQUEST, "invalid_grant").await;
    assert_invalid_token(app.whoami("bnks", &tokens.access).await).await;
    let refresh = app.refresh("bnks", &tokens.refresh).await;
    assert_oauth_error(refresh, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn codes_expire_after_sixty_seconds() {
    let app = spawn().await;
    let pkce = Pkce::new();
    let code = app.obtain_code("aiwb", "demo-small", &pkce).await;
    app.clock.advance(Duration::from_secs(61));
    let response = app.exchange_code("aiwb", &code, &pkce.verifier).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn refresh_tokens_rotate() {
    let app = spawn().await;
    let first = app.connect("mqjo", "demo-small").await;
    let response = app.refresh("mqjo", &first.refresh).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let second = tokens_from(response).await;
    assert_ne!(second.refresh, first.refresh);
    assert_ne!(second.access, first.access);
    assert_eq!(
        app.whoami("mqjo", &second.access).await.status(),
        StatusCode::OK
    );

    let old = app.refresh("mqjo", &first.refresh).await;
    assert_oauth_error(old, StatusCode::BAD_REQUEST, "invalid_grant").await;
    let third = app.refresh("mqjo", &second.refresh).await;
    assert_eq!(third.status(), StatusCode::OK);
}

#[tokio::test]
async fn access_tokens_expire_and_refresh_still_works() {
    let app = spawn().await;
    let tokens = app.connect("bnks", "demo-medium").await;
    app.clock.advance(ACCESS_TTL - Duration::from_secs(1));
    assert_eq!(
        app.whoami("bnks", &tokens.access).await.status(),
        StatusCode::OK
    );
    app.clock.advance(Duration::from_secs(1));
    assert_invalid_token(app.whoami("bnks", &tokens.access).await).await;

    let refreshed = tokens_from(app.refresh("bnks", &tokens.refresh).await).await;
    assert_eq!(
        app.whoami("bnks", &refreshed.access).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn refresh_tokens_expire_when_idle() {
    let app = spawn().await;
    let tokens = app.connect("aiwb", "demo-small").await;
    // Using it inside the idle window resets the window (rotation issues a fresh token).
    app.clock
        .advance(REFRESH_IDLE_TTL - Duration::from_secs(60));
    let rotated = app.refresh("aiwb", &tokens.refresh).await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let rotated = tokens_from(rotated).await;

    app.clock.advance(REFRESH_IDLE_TTL);
    let response = app.refresh("aiwb", &rotated.refresh).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn client_authentication_is_required_and_checked() {
    let app = spawn().await;
    let tokens = app.connect("mqjo", "demo-small").await;
    let url = app.url("/mqjo/oauth/token");
    let grant = [
        ("grant_type", "refresh_token"),
        ("refresh_token", tokens.refresh.as_str()),
    ];

    let anonymous = app.http.post(&url).form(&grant).send().await.expect("POST");
    assert_oauth_error(anonymous, StatusCode::UNAUTHORIZED, "invalid_client").await;

    let wrong_secret = app
        .http
        .post(&url)
        .basic_auth(CLIENT_ID, Some("not-the-secret"))
        .form(&grant)
        .send()
        .await
        .expect("POST");
    assert_eq!(
        wrong_secret.headers()["www-authenticate"],
        "Basic realm=\"linkwell-sandbox\""
    );
    assert_oauth_error(wrong_secret, StatusCode::UNAUTHORIZED, "invalid_client").await;

    // Another client cannot use this client's refresh token.
    let other = app
        .http
        .post(&url)
        .basic_auth(OTHER_CLIENT_ID, Some(OTHER_CLIENT_SECRET))
        .form(&grant)
        .send()
        .await
        .expect("POST");
    assert_oauth_error(other, StatusCode::BAD_REQUEST, "invalid_grant").await;

    // Credentials in the form body work as well as Basic.
    let mut in_body = grant.to_vec();
    in_body.push(("client_id", CLIENT_ID));
    in_body.push(("client_secret", CLIENT_SECRET));
    let response = app
        .http
        .post(&url)
        .form(&in_body)
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn malformed_token_requests_are_rejected() {
    let app = spawn().await;
    let unsupported = app.post_token("mqjo", &[("grant_type", "password")]).await;
    assert_oauth_error(
        unsupported,
        StatusCode::BAD_REQUEST,
        "unsupported_grant_type",
    )
    .await;
    let missing = app
        .post_token("mqjo", &[("grant_type", "authorization_code")])
        .await;
    assert_oauth_error(missing, StatusCode::BAD_REQUEST, "invalid_request").await;
    let no_grant_type = app.post_token("mqjo", &[]).await;
    assert_oauth_error(no_grant_type, StatusCode::BAD_REQUEST, "invalid_request").await;
    let not_a_form = app
        .http
        .post(app.url("/mqjo/oauth/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .body("{}")
        .header("content-type", "application/json")
        .send()
        .await
        .expect("POST");
    assert_oauth_error(not_a_form, StatusCode::BAD_REQUEST, "invalid_request").await;
}

async fn revoke(app: &TestApp, token: &str, hint: Option<&str>) -> reqwest::Response {
    let mut form = vec![("token", token)];
    if let Some(hint) = hint {
        form.push(("token_type_hint", hint));
    }
    app.http
        .post(app.url("/mqjo/oauth/revoke"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&form)
        .send()
        .await
        .expect("POST revoke")
}

#[tokio::test]
async fn revoking_an_access_token_kills_only_that_token() {
    let app = spawn().await;
    let tokens = app.connect("mqjo", "demo-small").await;
    assert_eq!(
        revoke(&app, &tokens.access, Some("access_token"))
            .await
            .status(),
        StatusCode::OK
    );
    assert_invalid_token(app.whoami("mqjo", &tokens.access).await).await;
    assert_eq!(
        app.refresh("mqjo", &tokens.refresh).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn revoking_a_refresh_token_kills_its_access_tokens() {
    let app = spawn().await;
    let tokens = app.connect("mqjo", "demo-small").await;
    assert_eq!(
        revoke(&app, &tokens.refresh, None).await.status(),
        StatusCode::OK
    );
    assert_invalid_token(app.whoami("mqjo", &tokens.access).await).await;
    let refresh = app.refresh("mqjo", &tokens.refresh).await;
    assert_oauth_error(refresh, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn revoke_answers_200_for_unknown_tokens_but_needs_a_client() {
    let app = spawn().await;
    assert_eq!(
        revoke(&app, "never-issued", None).await.status(),
        StatusCode::OK
    );
    let anonymous = app
        .http
        .post(app.url("/mqjo/oauth/revoke"))
        .form(&[("token", "never-issued")])
        .send()
        .await
        .expect("POST");
    assert_oauth_error(anonymous, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

#[tokio::test]
async fn whoami_needs_a_bearer_token() {
    let app = spawn().await;
    let missing = app
        .http
        .get(app.url("/mqjo/api/whoami"))
        .send()
        .await
        .expect("GET");
    assert_invalid_token(missing).await;
    assert_invalid_token(app.whoami("mqjo", "made-up").await).await;
}
