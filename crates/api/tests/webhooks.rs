//! Webhooks end to end with a local receiver: every company and connection event at the moment it happens
//! with Codat's payload, type and tag filters, retries on 500 and on timeouts, replay, secret rotation, order
//! per connection, deleted consumers, disabling after failures, and refusal of private addresses. Runs on
//! SQLite and PostgreSQL.

mod common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use common::TestApp;
use linkwell_webhooks::{DispatcherConfig, RetrySchedule, SigningSecret, UrlPolicy};
use serde_json::{json, Value};

backend_tests!(
    company_and_connection_events_fire_with_codat_payloads,
    consumers_receive_only_their_types_and_tags,
    a_failing_consumer_is_retried_until_it_answers,
    a_slow_consumer_times_out_and_is_retried,
    failed_deliveries_can_be_replayed,
    both_secrets_sign_while_a_rotation_overlaps,
    events_about_one_connection_arrive_in_order,
    a_deleted_consumer_receives_nothing,
    a_consumer_failing_for_too_long_is_disabled,
    consumers_are_validated_and_limited,
    private_addresses_are_refused_unless_allowed,
    old_finished_events_are_purged_and_pending_ones_kept,
    the_daily_quota_reports_reached_and_reset,
    dispatchers_share_the_outbox_without_duplicates_or_disorder,
);

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
            .unwrap_or_default()
    }

    fn verifies_with(&self, secret: &str) -> bool {
        let secret = SigningSecret::parse(secret).unwrap();
        linkwell_webhooks::signing::verify_headers(
            &secret,
            self.headers
                .iter()
                .map(|(key, value)| (key.as_str(), value.as_str())),
            self.body.as_bytes(),
            chrono::Utc::now().timestamp(),
            Duration::from_secs(300),
        )
        .is_ok()
    }
}

/// A local webhook receiver: records what arrives and answers with the scripted statuses (then 200).
#[derive(Clone, Default)]
struct Receiver {
    received: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<(u16, Duration)>>>,
    base: String,
}

impl Receiver {
    async fn start() -> Self {
        let mut receiver = Receiver::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        receiver.base = format!("http://{}", listener.local_addr().unwrap());
        let state = receiver.clone();
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: HeaderMap, body: String| {
                let state = state.clone();
                async move {
                    let (status, delay) = state
                        .script
                        .lock()
                        .unwrap()
                        .pop_front()
                        .unwrap_or((200, Duration::ZERO));
                    tokio::time::sleep(delay).await;
                    state.received.lock().unwrap().push(Received {
                        path: uri.path().to_owned(),
                        headers: headers
                            .iter()
                            .map(|(key, value)| {
                                (
                                    key.to_string(),
                                    value.to_str().unwrap_or_default().to_owned(),
                                )
                            })
                            .collect(),
                        body,
                    });
                    StatusCode::from_u16(status).unwrap()
                }
            },
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        receiver
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn answer(&self, status: u16, delay: Duration) {
        self.script.lock().unwrap().push_back((status, delay));
    }

    fn all(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    fn at(&self, path: &str) -> Vec<Received> {
        self.all().into_iter().filter(|r| r.path == path).collect()
    }

    /// Waits until `path` has received `count` requests (or fails after 20 s).
    async fn wait_for(&self, path: &str, count: usize) -> Vec<Received> {
        for _ in 0..400 {
            let got = self.at(path);
            if got.len() >= count {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{path} received {} of {count} requests: {:?}",
            self.at(path).len(),
            self.at(path)
        );
    }
}

fn fast_dispatch() -> DispatcherConfig {
    DispatcherConfig {
        retries: RetrySchedule::new(vec![Duration::from_millis(100); 3]),
        poll: Duration::from_millis(50),
        ..DispatcherConfig::default()
    }
}

async fn start(app: &TestApp, config: DispatcherConfig, timeout: Duration) {
    app.start_dispatcher(
        config,
        UrlPolicy {
            allow_private: true,
        },
        timeout,
    );
}

async fn subscribe(
    app: &TestApp,
    url: &str,
    types: &[&str],
    tags: Option<&[&str]>,
) -> (String, String) {
    let mut body = json!({"url": url, "eventTypes": types});
    if let Some(tags) = tags {
        body["companyTags"] = json!(tags);
    }
    let (status, created) = app.post("/webhooks", body).await;
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    (created["id"].as_str().unwrap().to_owned(), secret)
}

const CONNECTION_EVENTS: [&str; 6] = [
    "connection.created",
    "connection.connected",
    "connection.failed",
    "connection.disconnected",
    "connection.reconnected",
    "connection.deleted",
];

async fn company_and_connection_events_fire_with_codat_payloads(app: TestApp) -> TestApp {
    start(&app, fast_dispatch(), Duration::from_secs(5)).await;
    let receiver = Receiver::start().await;
    let mut types = vec!["company.created", "company.deleted"];
    types.extend(CONNECTION_EVENTS);
    let (_, secret) = subscribe(&app, &receiver.url("/all"), &types, None).await;

    let (status, company) = app
        .post(
            "/companies",
            json!({"name": "Events Ltd", "tags": {"region": "uk"}}),
        )
        .await;
    assert_eq!(status, 200);
    let company_id = company["id"].as_str().unwrap().to_owned();
    let got = receiver.wait_for("/all", 1).await;
    let event = got[0].json();
    assert_eq!(event["eventType"], "company.created");
    assert_eq!(event["payload"]["id"], company_id);
    assert_eq!(event["payload"]["name"], "Events Ltd");
    assert_eq!(event["payload"]["tags"]["region"], "uk");
    assert!(event["payload"].get("dataConnections").is_none());
    assert_eq!(got[0].header("webhook-id"), event["id"].as_str().unwrap());
    assert!(
        got[0].verifies_with(&secret),
        "signed with the consumer's secret"
    );
    assert!(event["generatedDate"].is_string());

    let connection = app.create_connection(&company_id, "mqjo").await;
    let connection_id = connection["id"].as_str().unwrap().to_owned();
    let got = receiver.wait_for("/all", 2).await;
    let event = got[1].json();
    assert_eq!(event["eventType"], "connection.created");
    assert_eq!(event["payload"]["referenceCompany"]["id"], company_id);
    assert_eq!(event["payload"]["referenceCompany"]["tags"]["region"], "uk");
    assert_eq!(event["payload"]["connection"]["id"], connection_id);
    assert_eq!(event["payload"]["connection"]["status"], "PendingAuth");

    // A denied attempt, then a link, an unlink, a re-link, a lost grant, and the deletions.
    let attempt = app.start_link(&company_id, &connection_id).await;
    let back = app.decide(&attempt, "deny", "demo-small").await;
    app.callback(&back, Some(&attempt.cookie)).await;
    app.link(&company_id, &connection_id, "demo-small").await;
    app.patch(
        &format!("/companies/{company_id}/connections/{connection_id}"),
        json!({"status": "Unlinked"}),
    )
    .await;
    app.link(&company_id, &connection_id, "demo-small").await;
    app.http
        .post(format!(
            "{}/sandbox/mqjo/control/orgs/demo-small/revoke",
            app.base
        ))
        .send()
        .await
        .unwrap();
    let _ = app
        .state
        .tokens()
        .check_access(app.connection_ref(&company_id, &connection_id))
        .await;
    let (status, _) = app
        .delete(&format!(
            "/companies/{company_id}/connections/{connection_id}"
        ))
        .await;
    assert_eq!(status, 200);
    let (status, body) = app.delete(&format!("/companies/{company_id}")).await;
    assert_eq!(status, 204, "{body}");
    let got = receiver.wait_for("/all", 9).await;
    let kinds: Vec<(String, Value)> = got
        .iter()
        .map(|r| {
            let event = r.json();
            (
                event["eventType"].as_str().unwrap().to_owned(),
                event["payload"]["connection"]["status"].clone(),
            )
        })
        .collect();
    let expected: Vec<(String, Value)> = [
        ("company.created", Value::Null),
        ("connection.created", json!("PendingAuth")),
        ("connection.failed", json!("PendingAuth")),
        ("connection.connected", json!("Linked")),
        ("connection.disconnected", json!("Unlinked")),
        ("connection.reconnected", json!("Linked")),
        ("connection.disconnected", json!("Deauthorized")),
        ("connection.deleted", json!("Deauthorized")),
        ("company.deleted", Value::Null),
    ]
    .into_iter()
    .map(|(kind, status)| (kind.to_owned(), status))
    .collect();
    assert_eq!(kinds, expected);

    let failed = got[2].json();
    assert_eq!(
        failed["payload"]["connection"]["dataConnectionErrors"][0]["statusText"],
        "access_denied"
    );
    let deleted = got[8].json();
    assert_eq!(deleted["payload"]["id"], company_id);
    assert!(got.iter().all(|r| r.verifies_with(&secret)));
    // Every event has its own id.
    let mut ids: Vec<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 9);
    app
}

async fn consumers_receive_only_their_types_and_tags(app: TestApp) -> TestApp {
    start(&app, fast_dispatch(), Duration::from_secs(5)).await;
    let receiver = Receiver::start().await;
    subscribe(&app, &receiver.url("/every"), &["company.created"], None).await;
    subscribe(
        &app,
        &receiver.url("/uk"),
        &["company.created"],
        Some(&["region:uk", "tier:gold"]),
    )
    .await;
    subscribe(
        &app,
        &receiver.url("/connections"),
        &["connection.created"],
        None,
    )
    .await;
    for (name, tags) in [
        ("Us Co", json!({"region": "us"})),
        ("Uk Co", json!({"region": "uk"})),
        ("Gold Co", json!({"tier": "gold"})),
        ("Plain Co", json!({})),
    ] {
        let (status, _) = app
            .post("/companies", json!({"name": name, "tags": tags}))
            .await;
        assert_eq!(status, 200);
    }
    let every = receiver.wait_for("/every", 4).await;
    let uk = receiver.wait_for("/uk", 2).await;
    // Events about different companies may arrive in any order.
    let names = |got: &[Received]| -> Vec<String> {
        let mut names: Vec<String> = got
            .iter()
            .map(|r| r.json()["payload"]["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(names(&every), ["Gold Co", "Plain Co", "Uk Co", "Us Co"]);
    assert_eq!(names(&uk), ["Gold Co", "Uk Co"]);
    assert!(receiver.at("/connections").is_empty());
    app
}

async fn deliveries(app: &TestApp, consumer: &str) -> Vec<Value> {
    let (status, body) = app.get(&format!("/webhooks/{consumer}/deliveries")).await;
    assert_eq!(status, 200, "{body}");
    body["results"].as_array().unwrap().clone()
}

async fn wait_for_status(app: &TestApp, consumer: &str, status: &str) -> Vec<Value> {
    for _ in 0..400 {
        let listed = deliveries(app, consumer).await;
        if listed.first().is_some_and(|d| d["status"] == status) {
            return listed;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "no delivery reached {status}: {:?}",
        deliveries(app, consumer).await
    );
}

async fn a_failing_consumer_is_retried_until_it_answers(app: TestApp) -> TestApp {
    start(&app, fast_dispatch(), Duration::from_secs(5)).await;
    let receiver = Receiver::start().await;
    receiver.answer(500, Duration::ZERO);
    receiver.answer(503, Duration::ZERO);
    let (consumer, _) = subscribe(&app, &receiver.url("/flaky"), &["company.created"], None).await;
    app.create_company("Retry Co").await;
    let got = receiver.wait_for("/flaky", 3).await;
    // The same event, with the same id, every time.
    assert!(got
        .iter()
        .all(|r| r.header("webhook-id") == got[0].header("webhook-id")));
    let listed = wait_for_status(&app, &consumer, "Succeeded").await;
    let codes: Vec<Value> = listed[0]["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["statusCode"].clone())
        .collect();
    assert_eq!(codes, [json!(500), json!(503), json!(200)]);
    assert_eq!(listed[0]["eventType"], "company.created");
    app
}

async fn a_slow_consumer_times_out_and_is_retried(app: TestApp) -> TestApp {
    start(&app, fast_dispatch(), Duration::from_millis(300)).await;
    let receiver = Receiver::start().await;
    receiver.answer(200, Duration::from_secs(2));
    let (consumer, _) = subscribe(&app, &receiver.url("/slow"), &["company.created"], None).await;
    app.create_company("Slow Co").await;
    let listed = wait_for_status(&app, &consumer, "Succeeded").await;
    let attempts = listed[0]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert_eq!(attempts[0]["statusCode"], Value::Null);
    assert!(
        attempts[0]["error"].as_str().unwrap().contains("time"),
        "{attempts:?}"
    );
    assert_eq!(attempts[1]["statusCode"], 200);
    app
}

async fn failed_deliveries_can_be_replayed(app: TestApp) -> TestApp {
    start(&app, fast_dispatch(), Duration::from_secs(5)).await;
    let receiver = Receiver::start().await;
    for _ in 0..8 {
        receiver.answer(500, Duration::ZERO);
    }
    let (consumer, _) = subscribe(&app, &receiver.url("/down"), &["company.created"], None).await;
    let since = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    app.create_company("First").await;
    app.create_company("Second").await;
    // One attempt and three retries each: eight 500s, then both have failed for good.
    receiver.wait_for("/down", 8).await;
    for _ in 0..200 {
        if deliveries(&app, &consumer)
            .await
            .iter()
            .all(|d| d["status"] == "Failed")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let listed = deliveries(&app, &consumer).await;
    assert!(listed.iter().all(|d| d["status"] == "Failed"), "{listed:?}");
    assert_eq!(listed[0]["attempts"].as_array().unwrap().len(), 4);

    // One by hand...
    let first = listed.iter().find(|d| d["status"] == "Failed").unwrap();
    let (status, replay) = app
        .post(
            &format!(
                "/webhooks/{consumer}/deliveries/{}/replay",
                first["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(status, 202, "{replay}");
    let got = receiver.wait_for("/down", 9).await;
    assert_eq!(
        got[8].header("webhook-id"),
        first["eventId"].as_str().unwrap()
    );
    // ...and every failure since a date.
    let (status, replayed) = app
        .post(
            &format!("/webhooks/{consumer}/replay?since={since}"),
            json!({}),
        )
        .await;
    assert_eq!(status, 202, "{replayed}");
    assert_eq!(replayed["replayed"], 2);
    receiver.wait_for("/down", 11).await;
    let (status, again) = app
        .post(
            &format!("/webhooks/{consumer}/replay?since={since}"),
            json!({}),
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(
        again["replayed"], 0,
        "a replayed failure is not replayed twice"
    );
    let (status, body) = app
        .post(
            &format!("/webhooks/{consumer}/replay?since=yesterday"),
            json!({}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    app
}

async fn both_secrets_sign_while_a_rotation_overlaps(app: TestApp) -> TestApp {
    start(&app, fast_dispatch(), Duration::from_secs(5)).await;
    let receiver = Receiver::start().await;
    let (consumer, old) = subscribe(&app, &receiver.url("/rot"), &["company.created"], None).await;
    app.create_company("Before").await;
    let before = receiver.wait_for("/rot", 1).await;
    assert_eq!(before[0].header("webhook-signature").split(' ').count(), 1);
    let (status, rotated) = app
        .post(&format!("/webhooks/{consumer}/secret/rotate"), json!({}))
        .await;
    assert_eq!(status, 200, "{rotated}");
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    app.create_company("During").await;
    let during = receiver.wait_for("/rot", 2).await;
    assert_eq!(during[1].header("webhook-signature").split(' ').count(), 2);
    assert!(
        during[1].verifies_with(&old),
        "the old secret still verifies"
    );
    assert!(during[1].verifies_with(&new), "the new secret verifies");
    let other = SigningSecret::generate().to_whsec().to_string();
    assert!(!during[1].verifies_with(&other));
    app
}

async fn events_about_one_connection_arrive_in_order(app: TestApp) -> TestApp {
    start(&app, fast_dispatch(), Duration::from_secs(5)).await;
    let receiver = Receiver::start().await;
    // The first delivery fails once: everything after it about the same connection waits for it.
    receiver.answer(500, Duration::ZERO);
    subscribe(&app, &receiver.url("/ordered"), &CONNECTION_EVENTS, None).await;
    let (company, connection) = app.company_with_connection("bnks").await;
    for _ in 0..3 {
        app.link(&company, &connection, "demo-small").await;
        app.patch(
            &format!("/companies/{company}/connections/{connection}"),
            json!({"status": "Unlinked"}),
        )
        .await;
    }
    let got = receiver.wait_for("/ordered", 8).await;
    let kinds: Vec<String> = got
        .iter()
        .map(|r| r.json()["eventType"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "connection.created",
            "connection.created",
            "connection.connected",
            "connection.disconnected",
            "connection.reconnected",
            "connection.disconnected",
            "connection.reconnected",
            "connection.disconnected",
        ],
        "the first answer was a 500, so connection.created came twice, and nothing overtook it"
    );
    app
}

/// Two dispatchers on one database, as two `linkwell serve` processes would run: each delivery goes out once,
/// and a company's deletion never overtakes its creation.
async fn dispatchers_share_the_outbox_without_duplicates_or_disorder(app: TestApp) -> TestApp {
    let small = DispatcherConfig {
        batch: 3,
        concurrency: 4,
        ..fast_dispatch()
    };
    start(&app, small.clone(), Duration::from_secs(5)).await;
    start(&app, small, Duration::from_secs(5)).await;
    let receiver = Receiver::start().await;
    subscribe(
        &app,
        &receiver.url("/shared"),
        &["company.created", "company.deleted"],
        None,
    )
    .await;
    const COMPANIES: usize = 12;
    let mut ids = Vec::new();
    for i in 0..COMPANIES {
        let company = app.create_company(&format!("Shared {i}")).await;
        ids.push(company["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        let (status, _) = app.delete(&format!("/companies/{id}")).await;
        assert_eq!(status, 204);
    }
    receiver.wait_for("/shared", 2 * COMPANIES).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = receiver.at("/shared");
    assert_eq!(got.len(), 2 * COMPANIES, "no delivery went out twice");
    let events: Vec<Value> = got.iter().map(Received::json).collect();
    let distinct: std::collections::HashSet<&str> = events
        .iter()
        .map(|event| event["id"].as_str().unwrap())
        .collect();
    assert_eq!(distinct.len(), 2 * COMPANIES);
    for id in &ids {
        let about: Vec<&str> = events
            .iter()
            .filter(|event| event["payload"]["id"] == id.as_str())
            .map(|event| event["eventType"].as_str().unwrap())
            .collect();
        assert_eq!(about, ["company.created", "company.deleted"], "{id}");
    }
    app
}

async fn a_deleted_consumer_receives_nothing(app: TestApp) -> TestApp {
    start(&app, fast_dispatch(), Duration::from_secs(5)).await;
    let receiver = Receiver::start().await;
    let (gone, _) = subscribe(&app, &receiver.url("/gone"), &["company.created"], None).await;
    subscribe(&app, &receiver.url("/kept"), &["company.created"], None).await;
    let (status, _) = app.delete(&format!("/webhooks/{gone}")).await;
    assert_eq!(status, 204);
    let (status, _) = app.delete(&format!("/webhooks/{gone}")).await;
    assert_eq!(status, 404);
    app.create_company("After").await;
    receiver.wait_for("/kept", 1).await;
    // Deliveries go out in creation order; give the deleted one's a moment more anyway.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(receiver.at("/gone").is_empty());
    let (_, listed) = app.get("/webhooks").await;
    assert_eq!(listed["results"].as_array().unwrap().len(), 1);
    app
}

async fn a_consumer_failing_for_too_long_is_disabled(app: TestApp) -> TestApp {
    let config = DispatcherConfig {
        retries: RetrySchedule::new(Vec::new()),
        disable_after: Duration::ZERO,
        ..fast_dispatch()
    };
    start(&app, config, Duration::from_secs(5)).await;
    let receiver = Receiver::start().await;
    receiver.answer(500, Duration::ZERO);
    let (consumer, _) =
        subscribe(&app, &receiver.url("/failing"), &["company.created"], None).await;
    app.create_company("Doomed").await;
    wait_for_status(&app, &consumer, "Failed").await;
    let (_, listed) = app.get("/webhooks").await;
    assert_eq!(listed["results"][0]["disabled"], true, "{listed}");
    // Disabled: the next event is not sent to it.
    app.create_company("Unsent").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.at("/failing").len(), 1);
    // Re-enabled by the client, it receives again.
    let (status, body) = app
        .patch(&format!("/webhooks/{consumer}"), json!({"disabled": false}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["disabled"], false);
    app.create_company("Sent").await;
    let got = receiver.wait_for("/failing", 2).await;
    assert_eq!(got[1].json()["payload"]["name"], "Sent");
    app
}

async fn consumers_are_validated_and_limited(app: TestApp) -> TestApp {
    for (body, says) in [
        (
            json!({"eventTypes": ["company.created"]}),
            "url is required",
        ),
        (
            json!({"url": "ftp://x.example", "eventTypes": ["company.created"]}),
            "url",
        ),
        (
            json!({"url": "https://x.example", "eventTypes": []}),
            "eventTypes",
        ),
        (
            json!({"url": "https://x.example", "eventTypes": ["nope"]}),
            "'nope'",
        ),
        (
            json!({"url": "https://x.example", "eventTypes": ["company.created"], "companyTags": ["novalue"]}),
            "tagKey:tagValue",
        ),
    ] {
        let (status, error) = app.post("/webhooks", body).await;
        assert_eq!(status, 400, "{error}");
        assert!(error["error"].as_str().unwrap().contains(says), "{error}");
    }
    let (status, created) = app
        .post(
            "/webhooks",
            json!({"url": "https://x.example/hook", "eventTypes": ["invoices.write.successful", "read.completed"]}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    for _ in 1..50 {
        let (status, _) = app
            .post(
                "/webhooks",
                json!({"url": "https://x.example/hook", "eventTypes": ["company.created"]}),
            )
            .await;
        assert_eq!(status, 201);
    }
    let (status, error) = app
        .post(
            "/webhooks",
            json!({"url": "https://x.example/hook", "eventTypes": ["company.created"]}),
        )
        .await;
    assert_eq!(status, 409, "{error}");
    // Another client has its own consumers and cannot touch these.
    let (_, other_key) = app.other_client("webhook-other").await;
    let response = app
        .request_as(
            &other_key,
            reqwest::Method::DELETE,
            &format!("/webhooks/{}", created["id"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    app
}

async fn private_addresses_are_refused_unless_allowed(app: TestApp) -> TestApp {
    // Set up like production: private addresses are not allowed, neither in the API nor at delivery.
    let strict = TestApp::start_with(app.db, |connectivity| {
        connectivity.webhooks.allow_private = false;
    })
    .await;
    strict.start_dispatcher(
        fast_dispatch(),
        UrlPolicy {
            allow_private: false,
        },
        Duration::from_secs(2),
    );
    let receiver = Receiver::start().await;
    let (status, error) = strict
        .post(
            "/webhooks",
            json!({"url": receiver.url("/direct"), "eventTypes": ["company.created"]}),
        )
        .await;
    assert_eq!(
        status, 400,
        "a literal loopback address is refused at once: {error}"
    );
    // A name is accepted, but what it resolves to is checked at every delivery.
    let port = receiver.base.rsplit(':').next().unwrap();
    let (consumer, _) = subscribe(
        &strict,
        &format!("http://localhost:{port}/named"),
        &["company.created"],
        None,
    )
    .await;
    strict.create_company("Private").await;
    let listed = wait_for_status(&strict, &consumer, "Failed").await;
    let attempts = listed[0]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 4, "{attempts:?}");
    assert!(
        attempts
            .iter()
            .all(|a| a["error"].as_str().unwrap_or_default().contains("private")),
        "{attempts:?}"
    );
    assert!(receiver.all().is_empty(), "nothing reached the receiver");
    strict.finish().await;
    app
}

async fn old_finished_events_are_purged_and_pending_ones_kept(app: TestApp) -> TestApp {
    let receiver = Receiver::start().await;
    let (consumer, _) = subscribe(&app, &receiver.url("/purge"), &["company.created"], None).await;
    app.create_company("First").await;
    app.create_company("Second").await;
    let later = linkwell_domain::time::Timestamp::now().plus_seconds(5);
    // No dispatcher yet: both deliveries are pending, so their events stay.
    assert_eq!(app.store.purge_events(later).await.unwrap(), 0);
    assert_eq!(deliveries(&app, &consumer).await.len(), 2);
    start(&app, fast_dispatch(), Duration::from_secs(5)).await;
    receiver.wait_for("/purge", 2).await;
    for _ in 0..200 {
        if deliveries(&app, &consumer)
            .await
            .iter()
            .all(|d| d["status"] == "Succeeded")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // Delivered, and older than the cut-off: gone with their deliveries.
    assert_eq!(app.store.purge_events(later).await.unwrap(), 2);
    assert!(deliveries(&app, &consumer).await.is_empty());
    // Newer than the cut-off: kept.
    app.create_company("Third").await;
    receiver.wait_for("/purge", 3).await;
    assert_eq!(
        app.store
            .purge_events(linkwell_domain::time::Timestamp::now().plus_seconds(-60))
            .await
            .unwrap(),
        0
    );
    app
}

async fn the_daily_quota_reports_reached_and_reset(app: TestApp) -> TestApp {
    let limited = TestApp::start_with(app.db, |connectivity| {
        connectivity.daily_quota = Some(4);
    })
    .await;
    start(&limited, fast_dispatch(), Duration::from_secs(5)).await;
    let receiver = Receiver::start().await;
    // Request 1. Client-wide events pass any company tag filter.
    subscribe(
        &limited,
        &receiver.url("/quota"),
        &["client.rateLimit.reached", "client.rateLimit.reset"],
        Some(&["region:uk"]),
    )
    .await;
    limited.create_company("Counted").await; // 2
    for _ in 0..2 {
        let (status, _) = limited.get("/companies").await; // 3, 4
        assert_eq!(status, 200);
    }
    let response = limited
        .request(reqwest::Method::GET, "/companies")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=86_400).contains(&retry_after));
    let (_, body) = common::read(response).await;
    assert_eq!(body["statusCode"], 429);
    assert_eq!(body["canBeRetried"], "True");
    // Another client has its own quota.
    let (_, other_key) = limited.other_client("quota-other").await;
    let response = limited
        .request_as(&other_key, reqwest::Method::GET, "/companies")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let got = receiver.wait_for("/quota", 1).await;
    let reached = got[0].json();
    assert_eq!(reached["eventType"], "client.rateLimit.reached");
    assert_eq!(reached["payload"]["dailyQuota"], 4);
    assert_eq!(reached["payload"]["quotaRemaining"], 0);
    let (_, renewal) = linkwell_store::quota_day(linkwell_domain::time::Timestamp::now());
    assert_eq!(reached["payload"]["expiryDate"], renewal.to_storage());

    // The next day, the reset is reported once.
    let tomorrow = renewal.plus_seconds(60);
    assert_eq!(
        limited
            .store
            .report_quota_resets(4, tomorrow)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        limited
            .store
            .report_quota_resets(4, tomorrow)
            .await
            .unwrap(),
        0
    );
    let got = receiver.wait_for("/quota", 2).await;
    let reset = got[1].json();
    assert_eq!(reset["eventType"], "client.rateLimit.reset");
    assert_eq!(reset["payload"]["quotaRemaining"], 4);
    limited.finish().await;
    app
}
