//! The token lifecycle against the sandbox platforms: refresh once under concurrency, access lost for good
//! moves a connection to Deauthorized (keeping its history), outages do not, and key rotation keeps every
//! connection working. Runs on SQLite and PostgreSQL.

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use common::{Db, TestApp};
use linkwell_connectors::{Keys, TokenError};
use serde_json::{json, Value};

backend_tests!(
    revoking_at_the_platform_deauthorizes_on_next_use,
    an_expired_refresh_token_deauthorizes,
    twenty_concurrent_token_requests_refresh_once,
    platform_outages_keep_the_connection_linked,
    a_token_rejected_on_a_data_call_is_refreshed,
    refresh_ahead_of_expiry_renews_due_tokens,
    credentials_moved_to_another_row_do_not_open,
);

async fn linked(app: &TestApp, platform: &str) -> (String, String) {
    let (company, connection) = app.company_with_connection(platform).await;
    let done = app.link(&company, &connection, "demo-small").await;
    assert!(done.ends_with("outcome=linked"), "{done}");
    (company, connection)
}

async fn sandbox_control(app: &TestApp, path: &str, body: Option<Value>) {
    let mut request = app.http.post(format!("{}/sandbox{path}", app.base));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let answer = request.send().await.unwrap();
    assert!(answer.status().is_success(), "{path}: {}", answer.status());
}

async fn revoking_at_the_platform_deauthorizes_on_next_use(app: TestApp) -> TestApp {
    let (company, connection) = linked(&app, "mqjo").await;
    let at = app.connection_ref(&company, &connection);
    sandbox_control(&app, "/mqjo/control/orgs/demo-small/revoke", None).await;
    let error = app.state.tokens().check_access(at).await.unwrap_err();
    assert!(matches!(error, TokenError::Deauthorized(_)), "{error:?}");
    let record = app.connection(&company, &connection).await;
    assert_eq!(record["status"], "Deauthorized");
    let errors = record["dataConnectionErrors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{record}");
    assert_eq!(errors[0]["statusCode"], "400");
    assert!(
        errors[0]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("invalid_grant"),
        "{record}"
    );
    // The connection, its company and its history are all kept.
    let (status, history) = app
        .get(&format!(
            "/companies/{company}/connections/{connection}/history"
        ))
        .await;
    assert_eq!(status, 200);
    let entries = history["results"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[2]["previousStatus"], "Linked");
    assert_eq!(entries[2]["status"], "Deauthorized");
    assert!(entries[2]["reason"]
        .as_str()
        .unwrap()
        .contains("refused to refresh"));
    let (_, company_body) = app.get(&format!("/companies/{company}")).await;
    assert_eq!(company_body["dataConnections"][0]["status"], "Deauthorized");
    // Later uses answer at once, without calling the platform again.
    let calls = app.token_calls.load(Ordering::SeqCst);
    assert!(matches!(
        app.state.tokens().access_token(at).await,
        Err(TokenError::Deauthorized(_))
    ));
    assert_eq!(app.token_calls.load(Ordering::SeqCst), calls);
    app
}

async fn an_expired_refresh_token_deauthorizes(app: TestApp) -> TestApp {
    let (company, connection) = linked(&app, "aiwb").await;
    let at = app.connection_ref(&company, &connection);
    app.state
        .tokens()
        .check_access(at)
        .await
        .expect("works now");
    // Beyond the sandbox's idle lifetime of refresh tokens (30 days): the access token has long expired and
    // the refresh token is dead.
    app.clock.advance(Duration::from_secs(31 * 24 * 3600));
    let error = app.state.tokens().check_access(at).await.unwrap_err();
    assert!(matches!(error, TokenError::Deauthorized(_)), "{error:?}");
    assert_eq!(
        app.connection(&company, &connection).await["status"],
        "Deauthorized"
    );
    app
}

async fn twenty_concurrent_token_requests_refresh_once(app: TestApp) -> TestApp {
    let (company, connection) = linked(&app, "mqjo").await;
    let at = app.connection_ref(&company, &connection);
    let before = app.state.tokens().access_token(at).await.unwrap();
    app.expire_stored_access_token(&connection).await;
    let calls = app.token_calls.load(Ordering::SeqCst);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let tokens = app.state.tokens().clone();
            tokio::spawn(async move {
                tokens
                    .access_token(at)
                    .await
                    .map(|token| token.secret().to_owned())
            })
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    for task in tasks {
        seen.insert(task.await.unwrap().expect("every request gets a token"));
    }
    assert_eq!(
        app.token_calls.load(Ordering::SeqCst) - calls,
        1,
        "exactly one refresh call reached the platform"
    );
    assert_eq!(seen.len(), 1, "everyone got the same new token");
    assert!(!seen.contains(before.secret()));
    // The refreshed token works, and the rotated refresh token was saved: another refresh succeeds.
    app.state.tokens().check_access(at).await.unwrap();
    app.expire_stored_access_token(&connection).await;
    app.state.tokens().access_token(at).await.unwrap();
    assert_eq!(app.token_calls.load(Ordering::SeqCst) - calls, 2);
    app
}

async fn platform_outages_keep_the_connection_linked(app: TestApp) -> TestApp {
    let (company, connection) = linked(&app, "bnks").await;
    let at = app.connection_ref(&company, &connection);
    // Every attempt of a refresh answers 503 (the policy tries three times).
    sandbox_control(
        &app,
        "/bnks/control/faults",
        Some(json!({"status": 503, "count": 3})),
    )
    .await;
    app.expire_stored_access_token(&connection).await;
    let calls = app.token_calls.load(Ordering::SeqCst);
    let error = app.state.tokens().access_token(at).await.unwrap_err();
    assert!(matches!(error, TokenError::Transient { .. }), "{error:?}");
    assert_eq!(app.token_calls.load(Ordering::SeqCst) - calls, 3);
    let record = app.connection(&company, &connection).await;
    assert_eq!(record["status"], "Linked");
    assert_eq!(record["dataConnectionErrors"], json!([]));

    // A 429 with Retry-After is waited out, then the refresh succeeds.
    sandbox_control(
        &app,
        "/bnks/control/faults",
        Some(json!({"status": 429, "count": 1, "retryAfter": 1})),
    )
    .await;
    let started = std::time::Instant::now();
    app.state.tokens().access_token(at).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));

    // A data call answering 503 is an outage, not a refusal.
    sandbox_control(
        &app,
        "/bnks/control/faults",
        Some(json!({"status": 503, "count": 1})),
    )
    .await;
    let error = app.state.tokens().check_access(at).await.unwrap_err();
    assert!(matches!(error, TokenError::Transient { .. }), "{error:?}");
    assert_eq!(
        app.connection(&company, &connection).await["status"],
        "Linked"
    );
    app.state.tokens().check_access(at).await.unwrap();
    app
}

async fn a_token_rejected_on_a_data_call_is_refreshed(app: TestApp) -> TestApp {
    let (company, connection) = linked(&app, "mqjo").await;
    let at = app.connection_ref(&company, &connection);
    // The platform expires every access token of the organisation; linkwell still thinks its token is good.
    sandbox_control(&app, "/mqjo/control/orgs/demo-small/expire-tokens", None).await;
    let calls = app.token_calls.load(Ordering::SeqCst);
    app.state
        .tokens()
        .check_access(at)
        .await
        .expect("the 401 leads to one refresh and a retry");
    assert_eq!(app.token_calls.load(Ordering::SeqCst) - calls, 1);
    assert_eq!(
        app.connection(&company, &connection).await["status"],
        "Linked"
    );
    app
}

async fn refresh_ahead_of_expiry_renews_due_tokens(app: TestApp) -> TestApp {
    let (company, connection) = linked(&app, "aiwb").await;
    let (_, fresh) = linked(&app, "bnks").await;
    let at = app.connection_ref(&company, &connection);
    let before = app.state.tokens().access_token(at).await.unwrap();
    app.expire_stored_access_token(&connection).await;
    let calls = app.token_calls.load(Ordering::SeqCst);
    let (refreshed, lost) = app.state.tokens().refresh_expiring(100).await.unwrap();
    assert_eq!((refreshed, lost), (1, 0), "only the due token is refreshed");
    assert_eq!(app.token_calls.load(Ordering::SeqCst) - calls, 1);
    let after = app.state.tokens().access_token(at).await.unwrap();
    assert_ne!(before.secret(), after.secret());
    let _ = fresh;
    app
}

async fn credentials_moved_to_another_row_do_not_open(app: TestApp) -> TestApp {
    let (first_company, first) = linked(&app, "mqjo").await;
    let (second_company, second) = linked(&app, "bnks").await;
    sqlx::query(
        "UPDATE connection_credentials SET sealed = \
         (SELECT sealed FROM connection_credentials WHERE connection_id = $1) WHERE connection_id = $2",
    )
    .bind(first.clone())
    .bind(second.clone())
    .execute(&app.sql)
    .await
    .unwrap();
    let error = app
        .state
        .tokens()
        .access_token(app.connection_ref(&second_company, &second))
        .await
        .unwrap_err();
    assert!(matches!(error, TokenError::Unreadable), "{error:?}");
    app.state
        .tokens()
        .check_access(app.connection_ref(&first_company, &first))
        .await
        .unwrap();
    app
}

/// Rotation with a key file, as `linkwell keys rotate-encryption` does it, while the server keeps running.
async fn rotation(db: Db) {
    let directory = std::env::temp_dir().join(format!("linkwell_keys_{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&directory).unwrap();
    let path = directory.join("test.db.key");
    let (keys, created) = Keys::load_or_create_file(&path).unwrap();
    assert!(created);
    let keys = Arc::new(keys);
    let server_keys = keys.clone();
    let app = TestApp::start_with(db, move |connectivity| connectivity.keys = server_keys).await;
    let mut linked_connections = Vec::new();
    for platform in ["mqjo", "bnks", "aiwb"] {
        linked_connections.push(linked(&app, platform).await);
    }
    // An authorization in progress across the rotation.
    let (pending_company, pending) = app.company_with_connection("bnks").await;
    let attempt = app.start_link(&pending_company, &pending).await;
    let old_key = keys.ring().current_key_id().to_string();

    // The operator's command runs in its own process, with its own view of the key file.
    let operator = Keys::from_file(&path).unwrap();
    let new_key = operator.add_new_current_key().unwrap();
    assert_ne!(new_key, old_key);
    let report = linkwell_connectors::keys::reseal_all(&app.store, &operator)
        .await
        .unwrap();
    assert_eq!(report.resealed, 4, "three credentials and one attempt");
    assert_eq!(report.remaining, 0);
    let (under_old,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM connection_credentials WHERE key_id <> $1")
            .bind(new_key.clone())
            .fetch_one(&app.sql)
            .await
            .unwrap();
    assert_eq!(under_old, 0);

    // The running server has not re-read its key file yet: it learns the new key on first sight of it.
    assert_eq!(keys.ring().current_key_id().as_str(), old_key);
    for (company, connection) in &linked_connections {
        app.state
            .tokens()
            .check_access(app.connection_ref(company, connection))
            .await
            .expect("every connection keeps working");
    }
    assert_eq!(keys.ring().current_key_id().as_str(), new_key);
    let back = app.decide(&attempt, "allow", "demo-small").await;
    let done = app.callback(&back, Some(&attempt.cookie)).await;
    assert!(common::flow::location(&done).ends_with("outcome=linked"));
    // New values are sealed with the new key.
    app.expire_stored_access_token(&linked_connections[0].1)
        .await;
    let (company, connection) = &linked_connections[0];
    app.state
        .tokens()
        .access_token(app.connection_ref(company, connection))
        .await
        .unwrap();
    let (key_id,): (String,) =
        sqlx::query_as("SELECT key_id FROM connection_credentials WHERE connection_id = $1")
            .bind(connection.clone())
            .fetch_one(&app.sql)
            .await
            .unwrap();
    assert_eq!(key_id, new_key);
    app.finish().await;
    let _ = std::fs::remove_dir_all(directory);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_rotation_keeps_every_connection_working_sqlite() {
    rotation(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_rotation_keeps_every_connection_working_postgres() {
    rotation(Db::Postgres).await;
}
