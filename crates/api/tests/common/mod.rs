//! The test harness: every test gets its own database (a SQLite file in a temporary directory, or a fresh
//! PostgreSQL schema), a client with an API key, and the real router on a port of its own.
//!
//! `backend_tests!` writes each test once and runs it on both databases. PostgreSQL is the local server
//! (`LINKWELL_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`); if it is unreachable the
//! PostgreSQL half fails, it never skips.

#![allow(dead_code)]

pub mod flow;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use base64::Engine;
use linkwell_api::{router, AppState, Connectivity, BUILT_IN_CATALOGUE};
use linkwell_connectors::{Keys, Platforms};
use linkwell_domain::ids::ClientId;
use linkwell_domain::integration::Catalogue;
use linkwell_sandbox::{ManualClock, OAuthClient, SandboxConfig};
use linkwell_store::Store;
use serde_json::Value;
use sqlx::Executor;

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base: String,
    pub store: Store,
    pub client: ClientId,
    pub key: String,
    pub http: reqwest::Client,
    /// The application's shared state (token manager, link flow...), for tests that act as a worker would.
    pub state: AppState,
    /// The sandbox platforms' clock, mounted at `{base}/sandbox`.
    pub clock: Arc<ManualClock>,
    /// Calls to any sandbox platform's token endpoint.
    pub token_calls: Arc<AtomicUsize>,
    /// A second pool on the test's database, for tests that must reach past the store.
    pub sql: sqlx::AnyPool,
    pub db: Db,
    pub keys: Arc<Keys>,
    pub job_offset: Arc<std::sync::atomic::AtomicI64>,
    background: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
    cleanup: Cleanup,
}

/// linkwell's client registration at the sandbox in tests.
pub const SANDBOX_CLIENT_ID: &str = "linkwell-test";
pub const SANDBOX_CLIENT_SECRET: &str = "sandbox-test-secret";

pub enum Cleanup {
    Directory(PathBuf),
    Schema(String),
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        uuid::Uuid::new_v4().simple()
    )
}

pub fn postgres_url() -> String {
    std::env::var("LINKWELL_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

/// A store on a database of its own.
pub async fn fresh_store(db: Db) -> (Store, Cleanup) {
    let (store, cleanup, _) = fresh_store_with_url(db).await;
    (store, cleanup)
}

/// [`fresh_store`], with the URL of its database.
pub async fn fresh_store_with_url(db: Db) -> (Store, Cleanup, String) {
    sqlx::any::install_default_drivers();
    match db {
        Db::Sqlite => {
            let dir = std::env::temp_dir().join(unique("linkwell_test"));
            std::fs::create_dir_all(&dir).expect("temporary directory");
            let url = format!("sqlite://{}?mode=rwc", dir.join("test.db").display());
            // As `linkwell serve` runs it: the only writer, with the read cache on.
            let store = Store::connect(&url)
                .await
                .expect("open SQLite")
                .with_read_cache();
            store.migrate().await.expect("migrate SQLite");
            (store, Cleanup::Directory(dir), url)
        }
        Db::Postgres => {
            let admin_url = postgres_url();
            let schema = unique("lw");
            let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url)
                .await
                .unwrap_or_else(|error| {
                    panic!("PostgreSQL at {admin_url} is required for these tests: {error}")
                });
            admin
                .execute(format!("CREATE SCHEMA {schema}").as_str())
                .await
                .expect("create schema");
            let separator = if admin_url.contains('?') { '&' } else { '?' };
            let url = format!("{admin_url}{separator}options=-c%20search_path%3D{schema}");
            let store = Store::connect(&url).await.expect("open PostgreSQL");
            store.migrate().await.expect("migrate PostgreSQL");
            (store, Cleanup::Schema(schema), url)
        }
    }
}

impl TestApp {
    pub async fn start(db: Db) -> Self {
        Self::start_with(db, |_| {}).await
    }

    /// Starts with the sandbox platforms mounted at `/sandbox` (on a manual clock) and linkable; `adjust`
    /// may change the connectivity (keys, token policy, attempt lifetime) first.
    pub async fn start_with(db: Db, adjust: impl FnOnce(&mut Connectivity)) -> Self {
        let (store, cleanup, url) = fresh_store_with_url(db).await;
        let sql = sqlx::any::AnyPoolOptions::new()
            .max_connections(2)
            .connect(&url)
            .await
            .expect("second pool");
        let client = store.ensure_client("test-client").await.expect("client");
        let key = store
            .create_api_key(client, Some("test"))
            .await
            .expect("key")
            .raw_key;
        let catalogue = Catalogue::parse(BUILT_IN_CATALOGUE).expect("catalogue");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let base = format!("http://{address}");
        let mut connectivity = Connectivity {
            platforms: Platforms::sandbox(
                &format!("{base}/sandbox"),
                SANDBOX_CLIENT_ID,
                SANDBOX_CLIENT_SECRET,
            ),
            keys: Arc::new(Keys::ephemeral()),
            ..Connectivity::default()
        };
        // Tests deliver webhooks to receivers on this machine.
        connectivity.webhooks.allow_private = true;
        adjust(&mut connectivity);
        let keys = connectivity.keys.clone();
        let state = AppState::with_connectivity(store.clone(), catalogue, &base, connectivity);
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        let token_calls = Arc::new(AtomicUsize::new(0));
        let sandbox = linkwell_sandbox::router_with_clock(
            SandboxConfig {
                clients: vec![OAuthClient {
                    client_id: SANDBOX_CLIENT_ID.to_owned(),
                    client_secret: SANDBOX_CLIENT_SECRET.to_owned(),
                    redirect_uris: vec![format!("{base}/link/callback")],
                }],
                ..SandboxConfig::default()
            },
            clock.clone(),
        );
        let counter = token_calls.clone();
        let sandbox = sandbox.layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                let counter = counter.clone();
                async move {
                    if request.method() == axum::http::Method::POST
                        && request.uri().path().ends_with("/oauth/token")
                    {
                        counter.fetch_add(1, Ordering::SeqCst);
                    }
                    next.run(request).await
                }
            },
        ));
        let app = router(state.clone()).nest("/sandbox", sandbox);
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        Self {
            base,
            store,
            client,
            key,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("http client"),
            state,
            clock,
            token_calls,
            sql,
            db,
            keys,
            job_offset: Arc::default(),
            background: std::sync::Mutex::new(Vec::new()),
            cleanup,
        }
    }

    /// Starts a webhook dispatcher on this app's database, stopped by [`TestApp::finish`].
    pub fn start_dispatcher(
        &self,
        config: linkwell_webhooks::DispatcherConfig,
        policy: linkwell_webhooks::UrlPolicy,
        timeout: std::time::Duration,
    ) {
        let dispatcher = linkwell_webhooks::Dispatcher::new(
            self.store.clone(),
            self.keys.clone(),
            linkwell_webhooks::Sender::with_timeout(policy, timeout),
            config,
        );
        self.background
            .lock()
            .unwrap()
            .push(tokio::spawn(dispatcher.run()));
    }

    /// A data worker on this app's database, whose clock runs [`TestApp::advance_jobs`] ahead of real time.
    pub fn worker(&self) -> linkwell_connectors::jobs::DataWorker {
        linkwell_connectors::jobs::DataWorker::new(
            self.store.clone(),
            self.state.connectors.clone(),
            linkwell_connectors::jobs::WorkerConfig {
                clock: self.job_clock(),
                ..linkwell_connectors::jobs::WorkerConfig::default()
            },
        )
    }

    /// The sync scheduler on this app's database, on the same clock as [`TestApp::worker`].
    pub fn scheduler(&self) -> linkwell_connectors::jobs::Scheduler {
        linkwell_connectors::jobs::Scheduler::new(self.store.clone(), self.job_clock())
    }

    fn job_clock(&self) -> linkwell_connectors::jobs::Clock {
        let offset = self.job_offset.clone();
        Arc::new(move || {
            linkwell_domain::time::Timestamp::now().plus_seconds(offset.load(Ordering::SeqCst))
        })
    }

    /// Moves the workers' and scheduler's clock forward, so retries and schedules fall due.
    pub fn advance_jobs(&self, seconds: i64) {
        self.job_offset.fetch_add(seconds, Ordering::SeqCst);
    }

    /// Runs every due pull and push to its end.
    pub async fn drain(&self) -> usize {
        self.worker().drain().await.expect("drain the job queue")
    }

    /// Another client with its own key on the same database.
    pub async fn other_client(&self, name: &str) -> (ClientId, String) {
        let client = self.store.ensure_client(name).await.expect("client");
        let key = self
            .store
            .create_api_key(client, None)
            .await
            .expect("key")
            .raw_key;
        (client, key)
    }

    pub fn auth(key: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(key)
        )
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.request_as(&self.key, method, path)
    }

    pub fn request_as(
        &self,
        key: &str,
        method: reqwest::Method,
        path: &str,
    ) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .header("Authorization", Self::auth(key))
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::PATCH, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::DELETE, path, None).await
    }

    pub async fn create_company(&self, name: &str) -> Value {
        let (status, body) = self
            .post("/companies", serde_json::json!({ "name": name }))
            .await;
        assert_eq!(status, 200, "create company: {body}");
        body
    }

    pub async fn create_connection(&self, company: &str, platform_key: &str) -> Value {
        let (status, body) = self
            .post(
                &format!("/companies/{company}/connections"),
                serde_json::json!({ "platformKey": platform_key }),
            )
            .await;
        assert_eq!(status, 200, "create connection: {body}");
        body
    }

    /// Drops the test's database. Called at the end of each passing test.
    pub async fn finish(self) {
        for task in self.background.lock().unwrap().drain(..) {
            task.abort();
        }
        self.sql.close().await;
        self.store.close().await;
        self.cleanup.run().await;
    }
}

impl Cleanup {
    pub async fn run(self) {
        match self {
            Cleanup::Directory(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Schema(schema) => drop_schema(&schema).await,
        }
    }
}

async fn drop_schema(schema: &str) {
    if let Ok(mut admin) = <sqlx::AnyConnection as sqlx::Connection>::connect(&postgres_url()).await
    {
        let _ = admin
            .execute(format!("DROP SCHEMA {schema} CASCADE").as_str())
            .await;
    }
}

/// Status and JSON body (Null when the body is empty).
pub async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("body is not JSON: {text}"))
    };
    (status, body)
}

/// Like [`read`], with the `X-Correlation-Id` header of the response.
pub async fn read_correlated(response: reqwest::Response) -> (u16, Value, String) {
    let header = response
        .headers()
        .get("x-correlation-id")
        .expect("every response has a correlation id")
        .to_str()
        .expect("ASCII correlation id")
        .to_owned();
    let (status, body) = read(response).await;
    (status, body, header)
}

/// Asserts that `body` is a Codat ErrorMessage with this status and an error text containing `needle`.
pub fn assert_error(status: u16, body: &Value, expected: u16, needle: &str) {
    assert_eq!(status, expected, "unexpected status; body: {body}");
    assert_eq!(body["statusCode"], expected, "statusCode in {body}");
    let error = body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error text in {body}"));
    assert!(
        error.to_lowercase().contains(&needle.to_lowercase()),
        "error '{error}' does not mention '{needle}'"
    );
    assert!(
        body["correlationId"]
            .as_str()
            .is_some_and(|id| id.len() >= 16),
        "correlationId in {body}"
    );
    for field in ["service", "canBeRetried", "detailedErrorCode"] {
        assert!(body.get(field).is_some(), "{field} missing from {body}");
    }
    assert!(
        body.get("validation").is_some(),
        "validation missing from {body}"
    );
}

/// Runs each listed `async fn name(app: TestApp) -> TestApp` on SQLite and on PostgreSQL, each on a database
/// of its own.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::common::TestApp::start($crate::common::Db::Sqlite).await;
                    super::$name(app).await.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::common::TestApp::start($crate::common::Db::Postgres).await;
                    super::$name(app).await.finish().await;
                }
            )*
        }
    };
}
