//! The harness of the sandbox connector's tests: the sandbox platforms served on 127.0.0.1 with a manual
//! clock, an in-memory store, and connections linked through the platforms' real OAuth flow, so every data
//! call goes through [`TokenManager::call`] as it does in production.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use linkwell_connectors::oauth::Pkce;
use linkwell_connectors::tokens::ConnectionRef;
use linkwell_connectors::{
    Connector, Connectors, FetchedPage, Keys, OAuthHttp, Platforms, SourceRecord, TokenManager,
    TokenPolicy,
};
use linkwell_domain::company::{CompanyName, Tags};
use linkwell_domain::connection::SourceType;
use linkwell_domain::ids::{ClientId, CompanyId};
use linkwell_sandbox::{ManualClock, OAuthClient, SandboxConfig};
use linkwell_store::{NewCompany, NewConnection, Store};
use serde_json::{json, Value};

pub const CLIENT_ID: &str = "linkwell-connector-test";
pub const CLIENT_SECRET: &str = "connector-test-secret";
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/link/callback";

pub struct Harness {
    /// Where the sandbox is mounted, e.g. `http://127.0.0.1:40000/sandbox`.
    pub sandbox: String,
    pub clock: ManualClock,
    pub http: reqwest::Client,
    pub store: Store,
    pub tokens: TokenManager,
    pub connectors: Connectors,
    client: ClientId,
    company: CompanyId,
}

impl Harness {
    pub async fn start() -> Self {
        let clock = ManualClock::default();
        let config = SandboxConfig {
            clients: vec![OAuthClient {
                client_id: CLIENT_ID.into(),
                client_secret: CLIENT_SECRET.into(),
                redirect_uris: vec![REDIRECT_URI.into()],
            }],
            ..SandboxConfig::default()
        };
        let app = axum::Router::new().nest(
            "/sandbox",
            linkwell_sandbox::router_with_clock(config, Arc::new(clock.clone())),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a port");
        let address = listener.local_addr().expect("local address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        let sandbox = format!("http://{address}/sandbox");

        let store = Store::connect("sqlite::memory:").await.expect("store");
        store.migrate().await.expect("migrate");
        let client = store
            .ensure_client("connector-tests")
            .await
            .expect("client");
        let company = store
            .create_company(
                client,
                NewCompany {
                    name: CompanyName::parse("Connector tests Ltd").expect("name"),
                    description: None,
                    tags: Tags::default(),
                },
            )
            .await
            .expect("company")
            .id;
        let tokens = TokenManager::new(
            store.clone(),
            Arc::new(Platforms::sandbox(&sandbox, CLIENT_ID, CLIENT_SECRET)),
            Arc::new(Keys::ephemeral()),
            OAuthHttp::new(),
            TokenPolicy::default(),
        );
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        Self {
            sandbox,
            clock,
            http,
            store,
            connectors: Connectors::sandbox(tokens.clone()),
            tokens,
            client,
            company,
        }
    }

    pub fn connector(&self, platform: &str) -> Arc<dyn Connector> {
        self.connectors.get(platform).expect("a sandbox connector")
    }

    /// A connection to `platform` linked to `organisation`, authorized through the platform's consent
    /// form and code exchange.
    pub async fn link(&self, platform: &str, organisation: &str) -> ConnectionRef {
        let connection = self
            .store
            .create_connection(
                self.client,
                self.company,
                NewConnection {
                    platform_key: platform.to_owned(),
                    integration_id: format!("sandbox-{platform}"),
                    source_id: format!("sandbox-{platform}"),
                    source_type: SourceType::Other,
                    platform_name: format!("Sandbox {platform}"),
                },
            )
            .await
            .expect("connection")
            .id;
        let at = ConnectionRef::new(self.client, self.company, connection);
        let pkce = Pkce::generate();
        let consent = self
            .http
            .post(format!("{}/{platform}/oauth/authorize", self.sandbox))
            .form(&[
                ("response_type", "code"),
                ("client_id", CLIENT_ID),
                ("redirect_uri", REDIRECT_URI),
                ("state", "connector-test"),
                ("code_challenge", pkce.challenge.as_str()),
                ("code_challenge_method", "S256"),
                ("organisation", organisation),
                ("decision", "allow"),
            ])
            .send()
            .await
            .expect("consent");
        let location = consent
            .headers()
            .get("location")
            .and_then(|value| value.to_str().ok())
            .expect("a redirect with the code")
            .to_owned();
        let code = url::Url::parse(&location)
            .expect("a URL")
            .query_pairs()
            .find(|(name, _)| name == "code")
            .map(|(_, code)| code.into_owned())
            .expect("a code");
        let registration = self.tokens.platforms().get(platform).expect("platform");
        let granted = self
            .tokens
            .oauth()
            .exchange_code(registration, &code, REDIRECT_URI, &pkce.verifier)
            .await
            .expect("tokens");
        self.tokens
            .import_tokens(at, granted)
            .await
            .expect("linked");
        at
    }

    /// Now on the sandbox's clock, RFC 3339 with milliseconds.
    pub fn now(&self) -> String {
        use linkwell_sandbox::Clock as _;
        self.clock
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }

    /// Applies a batch of `changes` to `organisation` at `platform`, a second after the last one.
    pub async fn advance(&self, platform: &str, organisation: &str, changes: u64) -> Value {
        self.clock.advance(Duration::from_secs(1));
        let answer = self
            .http
            .post(format!(
                "{}/{platform}/control/orgs/{organisation}/advance",
                self.sandbox
            ))
            .json(&json!({ "changes": changes }))
            .send()
            .await
            .expect("advance");
        assert!(answer.status().is_success(), "advance: {}", answer.status());
        answer.json().await.expect("advance summary")
    }

    /// Makes the next `count` calls to `platform` answer `status`, with `Retry-After: retry_after`.
    pub async fn fault(&self, platform: &str, status: u16, count: u32, retry_after: u32) {
        let answer = self
            .http
            .post(format!("{}/{platform}/control/faults", self.sandbox))
            .json(&json!({ "status": status, "count": count, "retryAfter": retry_after }))
            .send()
            .await
            .expect("faults");
        assert!(answer.status().is_success());
    }

    pub async fn revoke(&self, platform: &str, organisation: &str) {
        let answer = self
            .http
            .post(format!(
                "{}/{platform}/control/orgs/{organisation}/revoke",
                self.sandbox
            ))
            .send()
            .await
            .expect("revoke");
        assert!(answer.status().is_success());
    }
}

/// Every record of `data_type`, page after page of `page_size`.
pub async fn walk(
    connector: &dyn Connector,
    at: ConnectionRef,
    data_type: &str,
    modified_since: Option<&str>,
    page_size: u32,
) -> Vec<SourceRecord> {
    let mut records = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10_000 {
        let FetchedPage {
            records: page,
            next_cursor,
        } = connector
            .fetch_page(at, data_type, cursor.as_deref(), modified_since, page_size)
            .await
            .unwrap_or_else(|error| panic!("{data_type}: {error}"));
        assert!(page.len() <= page_size as usize);
        records.extend(page);
        match next_cursor {
            Some(next) => cursor = Some(next),
            None => return records,
        }
    }
    panic!("{data_type} never ended");
}
