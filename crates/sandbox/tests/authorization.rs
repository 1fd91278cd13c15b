//! The authorization endpoint: consent page, allow/deny, and refusing untrusted requests.

mod common;

use common::*;
use reqwest::StatusCode;

#[tokio::test]
async fn full_pkce_flow_works_on_every_platform() {
    let app = spawn().await;
    for platform in PLATFORMS {
        let pkce = Pkce::new();
        let mut params = authorize_params("state-123", &pkce.challenge);
        params.push(("scope".into(), "read write".into()));

        let page = app.get_authorize(platform, &params).await;
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.expect("page body");
        assert!(html.contains("<meta name=\"viewport\""));
        assert!(html.contains("<form method=\"post\" action=\"authorize\">"));
        assert!(html.contains("name=\"decision\" value=\"allow\""));
        assert!(html.contains("name=\"decision\" value=\"deny\""));
        assert!(html.contains("value=\"demo-small\""));
        assert!(html.contains("value=\"demo-medium\""));
        assert!(html.contains("name=\"organisation_other\""));
        assert!(html.contains(CLIENT_ID));
        assert!(html.contains(platform));

        // What the browser submits: the hidden fields plus the user's choices.
        params.push(("organisation".into(), "demo-medium".into()));
        params.push(("decision".into(), "allow".into()));
        let redirect = app.post_consent(platform, &params).await;
        let query = redirect_params(&redirect, REDIRECT_URI);
        assert_eq!(query["state"], "state-123");
        let code = &query["code"];

        let response = app.exchange_code(platform, code, &pkce.verifier).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body = json(response).await;
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], ACCESS_TTL.as_secs());
        assert_eq!(body["scope"], "read write");
        let access = body["access_token"].as_str().expect("access_token");
        assert!(access.len() >= 43, "at least 32 bytes of entropy");
        assert!(body["refresh_token"].is_string());

        let whoami = app.whoami(platform, access).await;
        assert_eq!(whoami.status(), StatusCode::OK);
        let whoami = json(whoami).await;
        assert_eq!(whoami["platform"], platform);
        assert_eq!(whoami["organisation"], "demo-medium");
        assert_eq!(whoami["scopes"], serde_json::json!(["read", "write"]));

        // A token is only good on the platform that issued it.
        let elsewhere = PLATFORMS.iter().find(|other| **other != platform);
        assert_invalid_token(
            app.whoami(elsewhere.expect("another platform"), access)
                .await,
        )
        .await;
    }
}

#[tokio::test]
async fn deny_redirects_with_access_denied() {
    let app = spawn().await;
    let pkce = Pkce::new();
    let mut form = authorize_params("deny-state", &pkce.challenge);
    form.push(("organisation".into(), "demo-small".into()));
    form.push(("decision".into(), "deny".into()));
    let response = app.post_consent("bnks", &form).await;
    let query = redirect_params(&response, REDIRECT_URI);
    assert_eq!(query["error"], "access_denied");
    assert_eq!(query["state"], "deny-state");
    assert!(!query.contains_key("code"));
}

#[tokio::test]
async fn untrusted_client_or_redirect_uri_gets_a_page_not_a_redirect() {
    let app = spawn().await;
    let pkce = Pkce::new();
    let cases = [
        ("redirect_uri", "http://evil.example/callback"),
        ("redirect_uri", "http://localhost:9999/callback/extra"),
        ("client_id", "no-such-client"),
        // Another client's registered URI is not this client's.
        ("redirect_uri", "http://localhost:9999/other?keep=1"),
    ];
    for (name, value) in cases {
        let mut params = authorize_params("s", &pkce.challenge);
        for param in &mut params {
            if param.0 == name {
                param.1 = value.into();
            }
        }
        for response in [
            app.get_authorize("mqjo", &params).await,
            app.post_consent("mqjo", &{
                let mut form = params.clone();
                form.push(("decision".into(), "allow".into()));
                form.push(("organisation".into(), "demo-small".into()));
                form
            })
            .await,
        ] {
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{name}={value}");
            assert!(response.headers().get("location").is_none());
            let html = response.text().await.expect("body");
            assert!(html.contains("cannot be completed"));
        }
    }
}

#[tokio::test]
async fn bad_parameters_redirect_back_with_invalid_request() {
    let app = spawn().await;
    let pkce = Pkce::new();
    let cases: [(&str, Option<&str>, &str); 5] = [
        ("code_challenge_method", Some("plain"), "invalid_request"),
        ("code_challenge_method", None, "invalid_request"),
        ("code_challenge", None, "invalid_request"),
        ("response_type", None, "invalid_request"),
        ("response_type", Some("token"), "unsupported_response_type"),
    ];
    for (name, value, error) in cases {
        let params: Vec<(String, String)> = authorize_params("keep-me", &pkce.challenge)
            .into_iter()
            .filter_map(|(param, original)| match (param == name, value) {
                (false, _) => Some((param, original)),
                (true, Some(value)) => Some((param, value.to_owned())),
                (true, None) => None,
            })
            .collect();
        let response = app.get_authorize("aiwb", &params).await;
        let query = redirect_params(&response, REDIRECT_URI);
        assert_eq!(query["error"], error, "{name}={value:?}");
        assert_eq!(query["state"], "keep-me");
    }

    let without_state: Vec<_> = authorize_params("x", &pkce.challenge)
        .into_iter()
        .filter(|(name, _)| name != "state")
        .collect();
    let response = app.get_authorize("aiwb", &without_state).await;
    let query = redirect_params(&response, REDIRECT_URI);
    assert_eq!(query["error"], "invalid_request");
    assert!(!query.contains_key("state"));
}

#[tokio::test]
async fn redirect_keeps_an_existing_query_on_the_registered_uri() {
    let app = spawn().await;
    let pkce = Pkce::new();
    let mut form: Vec<(String, String)> = authorize_params("st", &pkce.challenge)
        .into_iter()
        .map(|(name, value)| match name.as_str() {
            "client_id" => (name, OTHER_CLIENT_ID.to_owned()),
            "redirect_uri" => (name, "http://localhost:9999/other?keep=1".to_owned()),
            _ => (name, value),
        })
        .collect();
    form.push(("decision".into(), "deny".into()));
    let response = app.post_consent("mqjo", &form).await;
    let query = redirect_params(&response, "http://localhost:9999/other?keep=1&");
    assert_eq!(query["keep"], "1");
    assert_eq!(query["error"], "access_denied");
}

#[tokio::test]
async fn echoed_values_are_html_escaped() {
    let app = spawn().await;
    let pkce = Pkce::new();
    let hostile = "\"><script>alert('x')</script>";
    let mut params = authorize_params(hostile, &pkce.challenge);
    params.push(("scope".into(), "<b>read</b>".into()));
    let page = app.get_authorize("mqjo", &params).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()["content-security-policy"]
        .to_str()
        .expect("ascii")
        .contains("default-src 'none'"));
    let html = page.text().await.expect("body");
    assert!(!html.contains("<script>"));
    assert!(!html.contains("<b>read"));
    assert!(html.contains("&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));

    // The escaped state still round-trips unchanged through the form.
    params.push(("organisation".into(), "demo-small".into()));
    params.push(("decision".into(), "allow".into()));
    let response = app.post_consent("mqjo", &params).await;
    assert_eq!(redirect_params(&response, REDIRECT_URI)["state"], hostile);
}

#[tokio::test]
async fn organisation_names_are_validated_and_free_text_is_accepted() {
    let app = spawn().await;
    let pkce = Pkce::new();
    for bad in ["", "has space", "<script>", &"x".repeat(65)] {
        let mut form = authorize_params("s", &pkce.challenge);
        form.push(("organisation".into(), ":other".into()));
        form.push(("organisation_other".into(), bad.into()));
        form.push(("decision".into(), "allow".into()));
        let response = app.post_consent("mqjo", &form).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad:?}");
        assert!(response.headers().get("location").is_none());
        let html = response.text().await.expect("body");
        assert!(html.contains("role=\"alert\""));
        assert!(html.contains("name=\"decision\" value=\"allow\""));
        assert!(!html.contains("<script>"));
    }

    let mut form = authorize_params("s", &pkce.challenge);
    form.push(("organisation".into(), ":other".into()));
    form.push(("organisation_other".into(), "Acme_Trading-2".into()));
    form.push(("decision".into(), "allow".into()));
    let response = app.post_consent("mqjo", &form).await;
    let code = redirect_params(&response, REDIRECT_URI)["code"].clone();
    let tokens = tokens_from(app.exchange_code("mqjo", &code, &pkce.verifier).await).await;
    let whoami = json(app.whoami("mqjo", &tokens.access).await).await;
    assert_eq!(whoami["organisation"], "Acme_Trading-2");
}

#[tokio::test]
async fn unknown_platforms_and_routes_are_json_404s() {
    let app = spawn().await;
    for path in [
        "/xero/oauth/authorize",
        "/xero/api/whoami",
        "/mqjo/nothing-here",
    ] {
        let response = app.http.get(app.url(path)).send().await.expect("GET");
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(json(response).await["error"], "not_found");
    }
    let response = app.control("/xero/control/faults", None).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
