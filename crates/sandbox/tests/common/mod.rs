//! The test harness: a sandbox nested at `/sandbox` (as linkwell mounts it) on 127.0.0.1:0,
//! driven by a manual clock, and helpers that read like the steps of an OAuth flow.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

pub mod data;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use linkwell_sandbox::{router_with_clock, ManualClock, OAuthClient, SandboxConfig};
use rand::RngCore as _;
use reqwest::{Response, StatusCode, Url};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

pub const CLIENT_ID: &str = "linkwell-test";
pub const CLIENT_SECRET: &str = "test-secret";
pub const REDIRECT_URI: &str = "http://localhost:9999/callback";
pub const OTHER_CLIENT_ID: &str = "other-client";
pub const OTHER_CLIENT_SECRET: &str = "other-secret";
pub const ACCESS_TTL: Duration = Duration::from_secs(30 * 60);
pub const REFRESH_IDLE_TTL: Duration = Duration::from_secs(30 * 24 * 60 * 60);
pub const PLATFORMS: [&str; 3] = ["mqjo", "bnks", "aiwb"];

pub struct TestApp {
    pub base: String,
    pub clock: ManualClock,
    pub http: reqwest::Client,
}

pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl Pkce {
    pub fn new() -> Self {
        let mut bytes = [0_u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        let verifier = URL_SAFE_NO_PAD.encode(bytes);
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Self {
            verifier,
            challenge,
        }
    }
}

pub async fn spawn() -> TestApp {
    let clock = ManualClock::default();
    let config = SandboxConfig {
        access_token_ttl: ACCESS_TTL,
        refresh_token_idle_ttl: REFRESH_IDLE_TTL,
        clients: vec![
            OAuthClient {
                client_id: CLIENT_ID.into(),
                client_secret: CLIENT_SECRET.into(),
                redirect_uris: vec![REDIRECT_URI.into()],
            },
            OAuthClient {
                client_id: OTHER_CLIENT_ID.into(),
                client_secret: OTHER_CLIENT_SECRET.into(),
                redirect_uris: vec!["http://localhost:9999/other?keep=1".into()],
            },
        ],
    };
    let app = axum::Router::new().nest(
        "/sandbox",
        router_with_clock(config, Arc::new(clock.clone())),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a port");
    let address = listener.local_addr().expect("local address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client");
    TestApp {
        base: format!("http://{address}/sandbox"),
        clock,
        http,
    }
}

/// The standard authorization request parameters for `state` and `challenge`.
pub fn authorize_params(state: &str, challenge: &str) -> Vec<(String, String)> {
    [
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT_URI),
        ("state", state),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect()
}

/// The query parameters of a redirect's `Location`, asserting it goes to `expected_base`.
pub fn redirect_params(response: &Response, expected_base: &str) -> HashMap<String, String> {
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "expected a redirect"
    );
    let location = response
        .headers()
        .get("location")
        .expect("a Location header")
        .to_str()
        .expect("an ASCII Location");
    assert!(
        location.starts_with(expected_base),
        "{location} does not start with {expected_base}"
    );
    let url = Url::parse(location).expect("an absolute Location");
    url.query_pairs().into_owned().collect()
}

pub async fn json(response: Response) -> Value {
    response.json().await.expect("a JSON body")
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get_authorize(&self, platform: &str, params: &[(String, String)]) -> Response {
        self.http
            .get(self.url(&format!("/{platform}/oauth/authorize")))
            .query(params)
            .send()
            .await
            .expect("GET authorize")
    }

    pub async fn post_consent(&self, platform: &str, form: &[(String, String)]) -> Response {
        self.http
            .post(self.url(&format!("/{platform}/oauth/authorize")))
            .form(form)
            .send()
            .await
            .expect("POST authorize")
    }

    /// Allows access for `organisation` and returns the code from the redirect.
    pub async fn obtain_code(&self, platform: &str, organisation: &str, pkce: &Pkce) -> String {
        let mut form = authorize_params("some-state", &pkce.challenge);
        form.push(("organisation".into(), organisation.into()));
        form.push(("decision".into(), "allow".into()));
        let response = self.post_consent(platform, &form).await;
        let params = redirect_params(&response, REDIRECT_URI);
        assert_eq!(params.get("state").map(String::as_str), Some("some-state"));
        params.get("code").expect("a code").clone()
    }

    pub async fn post_token(&self, platform: &str, form: &[(&str, &str)]) -> Response {
        self.http
            .post(self.url(&format!("/{platform}/oauth/token")))
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
            .form(form)
            .send()
            .await
            .expect("POST token")
    }

    pub async fn exchange_code(&self, platform: &str, code: &str, verifier: &str) -> Response {
        self.post_token(
            platform,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", verifier),
            ],
        )
        .await
    }

    pub async fn refresh(&self, platform: &str, refresh_token: &str) -> Response {
        self.post_token(
            platform,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }

    /// Runs the whole flow for `organisation` and returns the tokens.
    pub async fn connect(&self, platform: &str, organisation: &str) -> Tokens {
        let pkce = Pkce::new();
        let code = self.obtain_code(platform, organisation, &pkce).await;
        let response = self.exchange_code(platform, &code, &pkce.verifier).await;
        assert_eq!(response.status(), StatusCode::OK);
        tokens_from(response).await
    }

    pub async fn whoami(&self, platform: &str, access_token: &str) -> Response {
        self.http
            .get(self.url(&format!("/{platform}/api/whoami")))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("GET whoami")
    }

    pub async fn control(&self, path: &str, body: Option<Value>) -> Response {
        let request = self.http.post(self.url(path));
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        request.send().await.expect("POST control")
    }
}

pub async fn tokens_from(response: Response) -> Tokens {
    let body = json(response).await;
    Tokens {
        access: body["access_token"].as_str().expect("access_token").into(),
        refresh: body["refresh_token"]
            .as_str()
            .expect("refresh_token")
            .into(),
    }
}

/// Asserts an OAuth error response with this status and `error` code.
pub async fn assert_oauth_error(response: Response, status: StatusCode, error: &str) {
    assert_eq!(response.status(), status);
    let body = json(response).await;
    assert_eq!(body["error"], error, "{body}");
    assert!(body["error_description"].is_string(), "{body}");
}

pub async fn assert_invalid_token(response: Response) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer error=\"invalid_token\""
    );
}
