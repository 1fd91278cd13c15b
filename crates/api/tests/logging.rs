//! The correlation id of a request is in its log line, and credentials never are.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{read, Db, TestApp};

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
async fn each_request_logs_its_correlation_id_and_no_credentials() {
    let captured = Captured::default();
    let writer = captured.clone();
    // This binary holds this one test, so the global subscriber is ours alone.
    tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    let app = TestApp::start(Db::Sqlite).await;
    let mut ids = Vec::new();
    for path in [
        "/companies",
        "/companies/00000000-0000-0000-0000-000000000000",
        "/nowhere",
    ] {
        let response = app
            .request(reqwest::Method::GET, path)
            .send()
            .await
            .unwrap();
        ids.push(
            response.headers()["x-correlation-id"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
        read(response).await;
    }
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for id in &ids {
        let line = logs
            .lines()
            .find(|line| line.contains(id.as_str()))
            .unwrap_or_else(|| panic!("no log line with correlation id {id} in:\n{logs}"));
        assert!(
            line.contains("status="),
            "the line reports the outcome: {line}"
        );
    }
    assert!(!logs.contains(&app.key), "the API key must never be logged");
    assert!(
        !logs.contains(&TestApp::auth(&app.key)),
        "the Authorization header must never be logged"
    );
    app.finish().await;
}
