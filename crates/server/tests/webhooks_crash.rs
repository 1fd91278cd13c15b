//! The outbox survives a crash: `linkwell serve` is killed (SIGKILL) while events are committed but not yet
//! delivered — some in flight to a receiver that does not answer, the rest waiting — and the next server on
//! the same database delivers every one of them. None is lost.

mod support;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use support::{create_key, Api, Server, TempDir};

const EVENTS: usize = 30;

/// A receiver that hangs (never answers) until told to answer, recording each request's event id with the
/// life of the server that sent it (0 before the crash, 1 after).
#[derive(Clone, Default)]
struct Receiver {
    hang: Arc<AtomicBool>,
    life: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<(usize, String)>>>,
    base: String,
}

impl Receiver {
    async fn start() -> Self {
        let mut receiver = Receiver {
            hang: Arc::new(AtomicBool::new(true)),
            ..Receiver::default()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        receiver.base = format!("http://{}", listener.local_addr().unwrap());
        let state = receiver.clone();
        let app = axum::Router::new().fallback(move |headers: axum::http::HeaderMap| {
            let state = state.clone();
            async move {
                let id = headers
                    .get("webhook-id")
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let life = state.life.load(Ordering::SeqCst);
                state.seen.lock().unwrap().push((life, id));
                while state.hang.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                axum::http::StatusCode::NO_CONTENT
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        receiver
    }

    /// The distinct event ids sent by the server of `life`.
    fn distinct(&self, life: usize) -> HashSet<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(sent_by, _)| *sent_by == life)
            .map(|(_, id)| id.clone())
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_committed_event_is_delivered_after_a_crash() {
    let work = TempDir::new("linkwell-webhooks-crash");
    let database = work.path.join("linkwell.db");
    let key = create_key(&database);
    let env = [
        ("LINKWELL_WEBHOOKS_ALLOW_PRIVATE", "true"),
        (
            "LINKWELL_ENCRYPTION_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        ),
    ];
    let receiver = Receiver::start().await;
    let server = Server::start_with(&database, &work.path, &env);
    let api = Api::new(&server, key.clone());
    let consumer = api
        .post(
            "/webhooks",
            json!({"url": format!("{}/hook", receiver.base), "eventTypes": ["company.created"]}),
        )
        .await;
    let mut companies = HashSet::new();
    for index in 0..EVENTS {
        let company = api
            .post("/companies", json!({"name": format!("Crash {index}")}))
            .await;
        companies.insert(company["id"].as_str().unwrap().to_owned());
    }
    // Wait until deliveries are in flight (the receiver holds them), then kill the server.
    for _ in 0..200 {
        if !receiver.distinct(0).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        !receiver.distinct(0).is_empty(),
        "deliveries were in flight at the crash"
    );
    // None of them was answered: every event is committed and undelivered when the server dies.
    drop(server); // SIGKILL
    receiver.life.store(1, Ordering::SeqCst);
    receiver.hang.store(false, Ordering::SeqCst);

    let restarted = Server::start_with(&database, &work.path, &env);
    let api = Api::new(&restarted, key);
    for _ in 0..400 {
        if receiver.distinct(1).len() >= EVENTS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        receiver.distinct(1).len(),
        EVENTS,
        "the restarted server delivered every event committed before the crash"
    );
    // And the outbox agrees: each company's event is delivered, none left pending or failed.
    let consumer_id = consumer["id"].as_str().unwrap();
    let mut delivered = HashSet::new();
    for _ in 0..100 {
        let listed: Value = api
            .http
            .get(format!(
                "{}/webhooks/{consumer_id}/deliveries?pageSize=500",
                api.base
            ))
            .header("authorization", api.authorization())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let results = listed["results"].as_array().unwrap();
        delivered = results
            .iter()
            .filter(|delivery| delivery["status"] == "Succeeded")
            .map(|delivery| delivery["eventId"].as_str().unwrap().to_owned())
            .collect();
        if delivered.len() == EVENTS && results.len() == EVENTS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(delivered, receiver.distinct(1));
    assert_eq!(companies.len(), EVENTS);
}
