//! No token, authorization code or `state` value ever appears in an API response, a Link page or a log line,
//! through a whole link, a refresh, a re-link and an import, with every log level switched on.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use base64::Engine;
use common::flow::{location, query_value};
use common::{Db, TestApp};
use serde_json::json;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_a_response_a_page_or_a_log() {
    let captured = Captured::default();
    let writer = captured.clone();
    // This binary holds this one test, so the global subscriber is ours alone.
    tracing_subscriber::fmt()
        .with_ansi(false)
        .with_env_filter("trace")
        .with_writer(move || writer.clone())
        .init();
    let app = TestApp::start(Db::Sqlite).await;
    let mut secrets: Vec<String> = Vec::new();
    let mut seen: Vec<String> = Vec::new();

    let (company, connection) = app.company_with_connection("mqjo").await;
    // Link, keeping every code and state that passes.
    let attempt = app.start_link(&company, &connection).await;
    secrets.push(query_value(&attempt.authorize_url, "state"));
    secrets.push(attempt.cookie.split('=').nth(1).unwrap().to_owned());
    let back = app.decide(&attempt, "allow", "demo-small").await;
    secrets.push(query_value(&back, "code"));
    let done = app.callback(&back, Some(&attempt.cookie)).await;
    seen.push(format!("{:?}", done.headers()));
    let result_page = location(&done);
    let (access, refresh) = app.stored_tokens(&company, &connection).await;
    secrets.push(access);
    secrets.push(refresh);

    // A refresh, then a revocation, a re-link and an import.
    let at = app.connection_ref(&company, &connection);
    app.expire_stored_access_token(&connection).await;
    app.state.tokens().check_access(at).await.unwrap();
    let (access, refresh) = app.stored_tokens(&company, &connection).await;
    secrets.push(access);
    secrets.push(refresh);
    app.http
        .post(format!(
            "{}/sandbox/mqjo/control/orgs/demo-small/revoke",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert!(app.state.tokens().check_access(at).await.is_err());
    let attempt = app.start_link(&company, &connection).await;
    secrets.push(query_value(&attempt.authorize_url, "state"));
    let back = app.decide(&attempt, "allow", "demo-small").await;
    secrets.push(query_value(&back, "code"));
    app.callback(&back, Some(&attempt.cookie)).await;
    // A replayed callback, which is refused.
    let refused = app.callback(&back, Some(&attempt.cookie)).await;
    seen.push(refused.text().await.unwrap());
    let (access, refresh) = app.stored_tokens(&company, &connection).await;
    secrets.push(access.clone());
    secrets.push(refresh.clone());
    let (status, body) = app
        .put(
            &format!("/companies/{company}/connections/{connection}/authorization"),
            json!({"accessToken": access, "refreshToken": refresh}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    seen.push(body.to_string());

    // Everything a client or a person can read.
    for path in [
        format!("/companies/{company}"),
        format!("/companies/{company}/connections"),
        format!("/companies/{company}/connections/{connection}"),
        format!("/companies/{company}/connections/{connection}/history"),
        "/companies".to_owned(),
        "/profile".to_owned(),
    ] {
        let (_, body) = app.get(&path).await;
        seen.push(body.to_string());
    }
    for page in [format!("/link/companies/{company}"), result_page] {
        let response = app.browse(&page, None).await;
        seen.push(format!("{:?}", response.headers()));
        seen.push(response.text().await.unwrap());
    }

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("access token refreshed") && logs.contains("connection deauthorized"),
        "the log is being captured: {logs}"
    );
    let encoded = |secret: &str| {
        [
            secret.to_owned(),
            base64::engine::general_purpose::STANDARD.encode(secret),
        ]
    };
    for secret in &secrets {
        assert!(secret.len() >= 16, "a real secret: {secret}");
        for form in encoded(secret) {
            assert!(!logs.contains(&form), "a secret is in the log:\n{logs}");
            for text in &seen {
                assert!(
                    !text.contains(&form),
                    "a secret is in what a client sees: {text}"
                );
            }
        }
    }
    app.finish().await;
}
