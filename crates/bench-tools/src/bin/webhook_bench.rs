#![forbid(unsafe_code)]
//! Webhook delivery benchmark for `bench/webhooks.sh`: N `company.created` events to C consumers on loopback,
//! all in this one process, wired as `linkwell serve` wires them.
//!
//! 1. A fresh database: a SQLite file in a temporary directory (opened with the read cache, as `serve` opens
//!    it), or a PostgreSQL database created for the run and dropped at the end.
//! 2. An [`AppState`] (which gives the store its event renderer), a client and an API key.
//! 3. A receiver: an axum server on 127.0.0.1 in this process, on the same tokio runtime. It notes when each
//!    request has been read in full and keeps the headers and body for the checks at the end.
//! 4. C consumers, created through `POST /webhooks` on the real router (in process, no socket), subscribed to
//!    `company.created` and pointing at `/hook/{i}` on the receiver. Their secrets come from the answers.
//! 5. One dispatcher as `serve` starts it: default `DispatcherConfig`, `Sender::new` (15 s timeout).
//! 6. W writers create N companies through `Store::create_company` (the API's write path), each event fanning
//!    out to C deliveries. The commit time of a company is taken when `create_company` returns.
//! 7. When C×N deliveries have arrived, it listens `--settle` seconds longer for duplicates, stops the
//!    dispatcher, and checks: each (consumer, company) received exactly once, every signature verifies with
//!    the consumer's secret, `webhook-id` is the event's id, and the outbox's rows all succeeded.
//!
//! Figures: deliveries/s from the first commit to the last delivery; the distribution of (receive − commit)
//! per delivery; companies/s of the writers alone. One JSON line on stdout; a summary on stderr.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use bytes::Bytes;
use clap::{Parser, ValueEnum};
use linkwell_api::state::WebhookSettings;
use linkwell_api::{AppState, Connectivity, BUILT_IN_CATALOGUE};
use linkwell_connectors::Keys;
use linkwell_domain::company::{CompanyName, Tags};
use linkwell_domain::ids::ClientId;
use linkwell_domain::integration::Catalogue;
use linkwell_store::{NewCompany, Store};
use linkwell_webhooks::{Dispatcher, DispatcherConfig, Sender, SigningSecret, UrlPolicy};
use serde_json::{json, Value};
use sqlx::{Connection, Executor, Row};
use tower::ServiceExt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BackendArg {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// The dispatcher runs while the writers create the companies (the scenario).
    Concurrent,
    /// The writers create every company first; then the dispatcher starts and drains the outbox: its
    /// throughput alone, with no writer competing for the database.
    Drain,
    /// No dispatcher: the writers' companies/s alone.
    WritersOnly,
}

#[derive(Parser)]
#[command(
    name = "webhook-bench",
    about = "Measure webhook delivery: events to consumers on loopback, deliveries/s and commit-to-delivery latency"
)]
struct Args {
    #[arg(long, value_enum)]
    backend: BackendArg,
    #[arg(long, value_enum, default_value = "concurrent")]
    mode: Mode,
    /// PostgreSQL server, without a database: the run creates `--postgres-database` there and drops it.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    postgres_server: String,
    /// Database the run connects to for CREATE/DROP DATABASE.
    #[arg(long, default_value = "postgres")]
    postgres_admin_database: String,
    /// Database created (dropped first if it exists) for the run, and dropped after it.
    #[arg(long, default_value = "linkwell_webhook_bench")]
    postgres_database: String,
    /// Events (companies created, one `company.created` each).
    #[arg(long, default_value_t = 10_000)]
    events: usize,
    /// Consumers subscribed to `company.created`; every event goes to each.
    #[arg(long, default_value_t = 10)]
    consumers: usize,
    /// Dispatchers sharing the outbox through leased claims (`linkwell serve` runs one per process).
    #[arg(long, default_value_t = 1)]
    dispatchers: usize,
    /// Concurrent writer tasks creating the companies.
    #[arg(long, default_value_t = 4)]
    writers: usize,
    /// Companies per second over all writers; 0 creates them as fast as the writers go.
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Give up waiting for the deliveries after this many seconds.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    /// Seconds to keep listening after the last expected delivery, to catch duplicates.
    #[arg(long, default_value_t = 2.0)]
    settle: f64,
    /// Check the signatures of every Nth delivery (1: all of them).
    #[arg(long, default_value_t = 1)]
    verify_every: usize,
    /// A label copied into the JSON line (the round, say).
    #[arg(long, default_value = "")]
    label: String,
}

/// One request the receiver got.
struct Received {
    consumer: usize,
    at: Instant,
    unix: i64,
    webhook_id: String,
    timestamp: String,
    signature: String,
    body: Bytes,
}

#[derive(Default)]
struct Inbox {
    received: Mutex<Vec<Received>>,
    count: AtomicUsize,
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn receive(
    State(inbox): State<Arc<Inbox>>,
    Path(consumer): Path<usize>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let at = Instant::now();
    let received = Received {
        consumer,
        at,
        unix: chrono::Utc::now().timestamp(),
        webhook_id: header(&headers, "webhook-id"),
        timestamp: header(&headers, "webhook-timestamp"),
        signature: header(&headers, "webhook-signature"),
        body,
    };
    inbox.received.lock().unwrap().push(received);
    inbox.count.fetch_add(1, Ordering::Relaxed);
    StatusCode::NO_CONTENT
}

/// Where the run's database lives, and how to get rid of it.
enum Database {
    Sqlite {
        dir: PathBuf,
        url: String,
    },
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
}

impl Database {
    async fn create(args: &Args) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        match args.backend {
            BackendArg::Sqlite => {
                let dir = std::env::temp_dir().join(format!(
                    "linkwell-webhook-bench-{}-{}",
                    std::process::id(),
                    uuid::Uuid::new_v4().simple()
                ));
                std::fs::create_dir_all(&dir).context("creating the temporary directory")?;
                let url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
                Ok(Database::Sqlite { dir, url })
            }
            BackendArg::Postgres => {
                let name = &args.postgres_database;
                ensure!(
                    !name.is_empty()
                        && name
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                    "--postgres-database must be lower-case letters, digits and underscores"
                );
                let server = args.postgres_server.trim_end_matches('/');
                let admin_url = format!("{server}/{}", args.postgres_admin_database);
                let mut admin = sqlx::AnyConnection::connect(&admin_url)
                    .await
                    .with_context(|| format!("connecting to {admin_url}"))?;
                admin
                    .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await?;
                admin
                    .execute(format!("CREATE DATABASE {name}").as_str())
                    .await?;
                admin.close().await?;
                Ok(Database::Postgres {
                    url: format!("{server}/{name}"),
                    admin_url,
                    name: name.clone(),
                })
            }
        }
    }

    fn url(&self) -> &str {
        match self {
            Database::Sqlite { url, .. } | Database::Postgres { url, .. } => url,
        }
    }

    async fn drop_it(self) {
        match self {
            Database::Sqlite { dir, .. } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Database::Postgres {
                admin_url, name, ..
            } => match sqlx::AnyConnection::connect(&admin_url).await {
                Ok(mut admin) => {
                    if let Err(error) = admin
                        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                        .await
                    {
                        eprintln!("webhook-bench: could not drop database {name}: {error}");
                    }
                    let _ = admin.close().await;
                }
                Err(error) => {
                    eprintln!("webhook-bench: could not drop database {name}: {error}")
                }
            },
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LINKWELL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    ensure!(args.events > 0, "--events must be at least 1");
    ensure!(
        (1..=linkwell_store::MAX_WEBHOOK_CONSUMERS as usize).contains(&args.consumers),
        "--consumers must be between 1 and {}",
        linkwell_store::MAX_WEBHOOK_CONSUMERS
    );
    ensure!(args.writers > 0, "--writers must be at least 1");
    ensure!(args.dispatchers > 0, "--dispatchers must be at least 1");
    ensure!(args.verify_every > 0, "--verify-every must be at least 1");
    ensure!(
        args.rate >= 0.0 && args.rate.is_finite(),
        "--rate must be 0 or more"
    );
    let database = Database::create(&args).await?;
    let result = run(&args, database.url()).await;
    database.drop_it().await;
    let report = result?;
    println!("{report}");
    Ok(())
}

/// One consumer as created through the API.
struct Consumer {
    secret: SigningSecret,
}

async fn create_consumers(
    state: &AppState,
    key: &str,
    receiver: &str,
    count: usize,
) -> anyhow::Result<Vec<Consumer>> {
    let router = linkwell_api::router(state.clone());
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(key)
    );
    let mut consumers = Vec::with_capacity(count);
    for i in 0..count {
        let body =
            json!({"url": format!("{receiver}/hook/{i}"), "eventTypes": ["company.created"]});
        let request = axum::http::Request::builder()
            .method("POST")
            .uri("/webhooks")
            .header("authorization", &auth)
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.to_string()))?;
        let response = router.clone().oneshot(request).await?;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
        ensure!(
            status == StatusCode::CREATED,
            "POST /webhooks answered {status}: {}",
            String::from_utf8_lossy(&bytes)
        );
        let created: Value = serde_json::from_slice(&bytes)?;
        let secret = created["secret"]
            .as_str()
            .context("no secret in the created consumer")?;
        consumers.push(Consumer {
            secret: SigningSecret::parse(secret)
                .map_err(|error| anyhow::anyhow!("the returned secret does not parse: {error}"))?,
        });
    }
    Ok(consumers)
}

struct Writing {
    store: Store,
    client: ClientId,
    events: usize,
    rate: f64,
    started: Instant,
    next: AtomicU64,
    created: AtomicU64,
}

/// One writer: creates companies until N are claimed; answers (company id, commit time) for each.
async fn writer(work: Arc<Writing>) -> anyhow::Result<Vec<(String, Instant)>> {
    let mut commits = Vec::new();
    loop {
        let number = work.next.fetch_add(1, Ordering::Relaxed) as usize;
        if number >= work.events {
            return Ok(commits);
        }
        if work.rate > 0.0 {
            let due = work.started + Duration::from_secs_f64(number as f64 / work.rate);
            tokio::time::sleep_until(due.into()).await;
        }
        let company = work
            .store
            .create_company(
                work.client,
                NewCompany {
                    name: CompanyName::parse(&format!("Webhook bench company {number:07}"))?,
                    description: None,
                    tags: Tags::default(),
                },
            )
            .await
            .with_context(|| format!("creating company {number}"))?;
        commits.push((company.id.to_string(), Instant::now()));
        work.created.fetch_add(1, Ordering::Relaxed);
    }
}

/// User + system CPU seconds of this process so far (Linux; clock ticks taken as 100 per second).
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat(5), counted from 3 after the command name.
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) / 100.0)
}

/// The one-minute load average (Linux): other work on the machine skews every figure.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

async fn run(args: &Args, url: &str) -> anyhow::Result<Value> {
    let store = Store::connect(url).await.context("opening the database")?;
    // As `linkwell serve` opens it: the SQLite file belongs to this process, so hot reads come from memory.
    let store = match args.backend {
        BackendArg::Sqlite => store.with_read_cache(),
        BackendArg::Postgres => store,
    };
    store.migrate().await.context("migrating")?;
    let keys = Arc::new(Keys::ephemeral());
    let catalogue = Catalogue::parse(BUILT_IN_CATALOGUE)?;
    let state = AppState::with_connectivity(
        store.clone(),
        catalogue,
        "http://127.0.0.1",
        Connectivity {
            keys: keys.clone(),
            webhooks: WebhookSettings {
                allow_private: true,
            },
            ..Connectivity::default()
        },
    );
    let client = store.ensure_client("webhook-bench").await?;
    let key = store.create_api_key(client, Some("bench")).await?.raw_key;

    let inbox = Arc::new(Inbox::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let receiver_url = format!("http://{}", listener.local_addr()?);
    let app = axum::Router::new()
        .route("/hook/{consumer}", axum::routing::post(receive))
        .with_state(inbox.clone());
    let receiver = tokio::spawn(async move { axum::serve(listener, app).await });

    let consumers = create_consumers(&state, &key, &receiver_url, args.consumers).await?;
    // As `linkwell serve` builds it; several share one sender, as they would share one process's.
    let sender = Sender::new(UrlPolicy {
        allow_private: true,
    });
    let dispatchers: Vec<Dispatcher> = (0..args.dispatchers)
        .map(|_| {
            Dispatcher::new(
                store.clone(),
                keys.clone(),
                sender.clone(),
                DispatcherConfig::default(),
            )
        })
        .collect();
    let start_dispatchers = || {
        dispatchers
            .iter()
            .map(|dispatcher| tokio::spawn(dispatcher.clone().run()))
            .collect::<Vec<_>>()
    };
    let mut dispatching = Vec::new();
    if args.mode == Mode::Concurrent {
        dispatching = start_dispatchers();
    }
    eprintln!(
        "webhook-bench: {:?}, {:?}, {} events x {} consumers = {} deliveries, {} writers, {} dispatcher(s){}, \
         receiver {receiver_url}",
        store.backend(),
        args.mode,
        args.events,
        args.consumers,
        args.events * args.consumers,
        args.writers,
        args.dispatchers,
        if args.rate > 0.0 {
            format!(" at {} companies/s", args.rate)
        } else {
            String::new()
        }
    );

    let expected = args.events * args.consumers;
    let load_before = load_average();
    let cpu_before = process_cpu_seconds();
    let started = Instant::now();
    let work = Arc::new(Writing {
        store: store.clone(),
        client,
        events: args.events,
        rate: args.rate,
        started,
        next: AtomicU64::new(0),
        created: AtomicU64::new(0),
    });
    let writers: Vec<_> = (0..args.writers)
        .map(|_| tokio::spawn(writer(work.clone())))
        .collect();
    let capacity = args.events;
    let writing = async move {
        let mut commits: Vec<(String, Instant)> = Vec::with_capacity(capacity);
        for handle in writers {
            commits.extend(handle.await.context("a writer task panicked")??);
        }
        anyhow::Ok(commits)
    };
    tokio::pin!(writing);
    let mut ticker = tokio::time::interval(Duration::from_secs(5));
    ticker.tick().await;
    let progress = |label: &str| {
        eprintln!(
            "webhook-bench: {label} {:.1}s: {}/{} companies, {}/{expected} deliveries",
            started.elapsed().as_secs_f64(),
            work.created.load(Ordering::Relaxed),
            args.events,
            inbox.count.load(Ordering::Relaxed)
        );
    };
    let commits = loop {
        tokio::select! {
            result = &mut writing => break result?,
            _ = ticker.tick() => progress("writing"),
        }
    };
    let writers_done = Instant::now();
    let cpu_writers = process_cpu_seconds();
    let mut dispatch_started = started;
    if args.mode == Mode::Drain {
        dispatch_started = Instant::now();
        dispatching = start_dispatchers();
    }
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let mut all_arrived = true;
    let awaited = if args.mode == Mode::WritersOnly {
        0
    } else {
        expected
    };
    while inbox.count.load(Ordering::Relaxed) < awaited {
        if Instant::now() > deadline {
            all_arrived = false;
            eprintln!(
                "webhook-bench: timed out after {} s with {} of {expected} deliveries",
                args.timeout,
                inbox.count.load(Ordering::Relaxed)
            );
            break;
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(5)) => {}
            _ = ticker.tick() => progress("delivering"),
        }
    }
    let arrived = Instant::now();
    let cpu_after = process_cpu_seconds();
    let load_after = load_average();
    if !dispatching.is_empty() {
        tokio::time::sleep(Duration::from_secs_f64(args.settle)).await;
        for task in &dispatching {
            task.abort();
        }
        for task in dispatching {
            let _ = task.await;
        }
        for dispatcher in &dispatchers {
            dispatcher.release().await?;
        }
    }
    receiver.abort();
    let received = std::mem::take(&mut *inbox.received.lock().unwrap());

    // The outbox's own account.
    let outbox = outbox_counts(url).await?;
    store.close().await;

    // ---------------------------------------------------------------------------------------- analysis
    ensure!(
        commits.len() == args.events,
        "{} companies committed",
        commits.len()
    );
    let index: HashMap<&str, usize> = commits
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (id.as_str(), i))
        .collect();
    let first_commit = commits.iter().map(|(_, at)| *at).min().unwrap();
    let last_commit = commits.iter().map(|(_, at)| *at).max().unwrap();
    let mut received = received;
    received.sort_by_key(|delivery| delivery.at);
    let mut counts = vec![0u32; args.events * args.consumers];
    let mut latencies_ms = Vec::with_capacity(expected);
    let (mut unmatched, mut early, mut id_mismatch) = (0usize, 0usize, 0usize);
    let (mut verified, mut verify_failed) = (0usize, 0usize);
    let mut last_unique = first_commit;
    let mut before_last_commit = 0usize;
    for (n, delivery) in received.iter().enumerate() {
        let event: Value = serde_json::from_slice(&delivery.body).unwrap_or(Value::Null);
        let company = event["payload"]["id"].as_str().unwrap_or_default();
        let Some(&i) = index.get(company) else {
            unmatched += 1;
            continue;
        };
        if delivery.consumer >= args.consumers || event["eventType"] != "company.created" {
            unmatched += 1;
            continue;
        }
        if event["id"].as_str() != Some(delivery.webhook_id.as_str()) {
            id_mismatch += 1;
        }
        if n % args.verify_every == 0 {
            let headers = [
                ("webhook-id", delivery.webhook_id.as_str()),
                ("webhook-timestamp", delivery.timestamp.as_str()),
                ("webhook-signature", delivery.signature.as_str()),
            ];
            match linkwell_webhooks::signing::verify_headers(
                &consumers[delivery.consumer].secret,
                headers,
                &delivery.body,
                delivery.unix,
                Duration::from_secs(300),
            ) {
                Ok(()) => verified += 1,
                Err(_) => verify_failed += 1,
            }
        }
        let slot = &mut counts[i * args.consumers + delivery.consumer];
        *slot += 1;
        if *slot > 1 {
            continue;
        }
        let committed = commits[i].1;
        let latency = match delivery.at.checked_duration_since(committed) {
            Some(latency) => latency,
            None => {
                // Delivered before create_company had returned to its writer.
                early += 1;
                Duration::ZERO
            }
        };
        latencies_ms.push(millis(latency));
        last_unique = last_unique.max(delivery.at);
        if delivery.at <= last_commit {
            before_last_commit += 1;
        }
    }
    let unique = counts.iter().filter(|&&count| count > 0).count();
    let missing = counts.iter().filter(|&&count| count == 0).count();
    let duplicates: u64 = counts
        .iter()
        .map(|&count| u64::from(count.saturating_sub(1)))
        .sum();
    latencies_ms.sort_by(f64::total_cmp);
    // Concurrent: from the first commit. Drain: from the dispatcher's start, every event being committed.
    let measured_from = match args.mode {
        Mode::Drain => dispatch_started,
        Mode::Concurrent | Mode::WritersOnly => first_commit,
    };
    let span = last_unique.saturating_duration_since(measured_from);
    let deliveries_per_s = unique as f64 / span.as_secs_f64().max(1e-9);
    let writing_span = last_commit.saturating_duration_since(started);
    let companies_per_s = args.events as f64 / writing_span.as_secs_f64().max(1e-9);
    let cpu = |from: Option<f64>, to: Option<f64>| match (from, to) {
        (Some(from), Some(to)) => Some(round(to - from, 2)),
        _ => None,
    };
    let ok = if args.mode == Mode::WritersOnly {
        received.is_empty()
            && outbox.deliveries == expected as i64
            && outbox.pending == expected as i64
    } else {
        all_arrived
            && missing == 0
            && duplicates == 0
            && unmatched == 0
            && verify_failed == 0
            && id_mismatch == 0
            && outbox.deliveries == expected as i64
            && outbox.succeeded == expected as i64
    };

    let report = json!({
        "label": args.label,
        "backend": format!("{:?}", args.backend).to_lowercase(),
        "mode": match args.mode {
            Mode::Concurrent => "concurrent",
            Mode::Drain => "drain",
            Mode::WritersOnly => "writers-only",
        },
        "events": args.events,
        "consumers": args.consumers,
        "writers": args.writers,
        "dispatchers": args.dispatchers,
        "rate": args.rate,
        "expected": expected,
        "delivered": unique,
        "missing": missing,
        "duplicates": duplicates,
        "unmatched": unmatched,
        "deliveriesPerSecond": round(deliveries_per_s, 1),
        "companiesPerSecond": round(companies_per_s, 1),
        "seconds": round(span.as_secs_f64(), 3),
        "writingSeconds": round(writing_span.as_secs_f64(), 3),
        "drainSeconds": round(last_unique.saturating_duration_since(last_commit).as_secs_f64(), 3),
        "deliveredBeforeLastCommit": before_last_commit,
        "backlogAtLastCommit": expected.saturating_sub(before_last_commit),
        "latencyMs": {
            "p50": round(percentile(&latencies_ms, 50.0), 1),
            "p90": round(percentile(&latencies_ms, 90.0), 1),
            "p99": round(percentile(&latencies_ms, 99.0), 1),
            "max": round(latencies_ms.last().copied().unwrap_or(f64::NAN), 1),
        },
        "deliveredBeforeCommitReturned": early,
        "signatures": { "checked": verified + verify_failed, "failed": verify_failed },
        "webhookIdMismatches": id_mismatch,
        "outbox": {
            "deliveries": outbox.deliveries,
            "succeeded": outbox.succeeded,
            "pending": outbox.pending,
            "failed": outbox.failed,
            "attempts": outbox.attempts,
            "failedAttempts": outbox.failed_attempts,
        },
        "processCpuSeconds": cpu(cpu_before, cpu_after),
        "loadAverage": { "before": load_before, "after": load_after },
        "writersCpuSeconds": cpu(cpu_before, cpu_writers),
        "waitedSeconds": round(arrived.saturating_duration_since(writers_done).as_secs_f64(), 3),
        "ok": ok,
    });
    eprintln!(
        "webhook-bench: {unique}/{expected} deliveries in {:.2}s from the {}: {:.0} deliveries/s; \
         writers {:.0} companies/s over {:.2}s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; \
         backlog at the last commit {}; duplicates {duplicates}, missing {missing}, signatures {}/{} ok; {}",
        span.as_secs_f64(),
        if args.mode == Mode::Drain {
            "dispatcher's start"
        } else {
            "first commit"
        },
        deliveries_per_s,
        companies_per_s,
        writing_span.as_secs_f64(),
        percentile(&latencies_ms, 50.0),
        percentile(&latencies_ms, 99.0),
        latencies_ms.last().copied().unwrap_or(f64::NAN),
        expected.saturating_sub(before_last_commit),
        verified,
        verified + verify_failed,
        if ok { "all checks passed" } else { "CHECKS FAILED" }
    );
    if !all_arrived {
        bail!("not every delivery arrived: {report}");
    }
    Ok(report)
}

struct OutboxCounts {
    deliveries: i64,
    succeeded: i64,
    pending: i64,
    failed: i64,
    attempts: i64,
    failed_attempts: i64,
}

/// Counts the outbox's rows through a connection of its own.
async fn outbox_counts(url: &str) -> anyhow::Result<OutboxCounts> {
    let mut connection = sqlx::AnyConnection::connect(url).await?;
    let mut counts = OutboxCounts {
        deliveries: 0,
        succeeded: 0,
        pending: 0,
        failed: 0,
        attempts: 0,
        failed_attempts: 0,
    };
    let rows = sqlx::query(
        "SELECT status, CAST(COUNT(*) AS BIGINT) AS n FROM webhook_deliveries GROUP BY status",
    )
    .fetch_all(&mut connection)
    .await?;
    for row in &rows {
        let status: String = row.try_get("status")?;
        let n: i64 = row.try_get("n")?;
        counts.deliveries += n;
        match status.as_str() {
            "Succeeded" => counts.succeeded += n,
            "Pending" => counts.pending += n,
            _ => counts.failed += n,
        }
    }
    let row = sqlx::query(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n, \
         CAST(COALESCE(SUM(CASE WHEN status_code IS NULL OR status_code >= 300 THEN 1 ELSE 0 END), 0) AS BIGINT) AS bad \
         FROM webhook_attempts",
    )
    .fetch_one(&mut connection)
    .await?;
    counts.attempts = row.try_get("n")?;
    counts.failed_attempts = row.try_get("bad")?;
    connection.close().await?;
    Ok(counts)
}
