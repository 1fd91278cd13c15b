#![forbid(unsafe_code)]
//! Data pull benchmark for `bench/pulls.sh`, against a running `linkwell serve` whose sandbox platforms run in
//! a `linkwell sandbox` process of their own. Every round:
//!
//! 1. Creates a company and an accounting (`mqjo`) connection and links it to the sandbox organisation
//!    `bench-N` through the Link pages, as a person would. The client's sync settings pull only invoices on
//!    first link, so linking queues one full pull of N invoices.
//! 2. Waits for it and takes its duration from the operation itself (`completed` − `requested`), and the
//!    server's peak memory (`VmHWM` of its process).
//! 3. Plain bulk insert: the same rows, read back from `data_records` (not timed), inserted into the same
//!    table of the same database for a second connection of the company, in transactions of one pull page with
//!    multi-row `INSERT`s. Only the inserts and commits are timed.
//! 4. Incremental pull: the sandbox changes 1% of the organisation (`advance`), then the invoices are queued
//!    again; it fetches only what changed since the full pull.
//! 5. Reads: `GET /companies/{c}/data/invoices?page=1` and `?page=1000` (100 records a page), alternated,
//!    one at a time on a kept-alive connection; the median and 99th percentile of each.
//! 6. Deletes the company (and with it its connections and records), so that every round starts alike.
//!
//! One JSON line per round on stdout; a summary on stderr.

use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use base64::Engine;
use chrono::{DateTime, Utc};
use clap::Parser;
use serde_json::{json, Value};
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor, Row};

#[derive(Debug, Parser)]
struct Args {
    /// linkwell's base URL.
    #[arg(long)]
    base: String,
    /// An API key of linkwell.
    #[arg(long)]
    key: String,
    /// The sandbox platforms' base URL (ending in /sandbox).
    #[arg(long)]
    sandbox: String,
    /// linkwell's database, for the plain insert.
    #[arg(long)]
    database: String,
    /// The process id of `linkwell serve`, for its peak memory.
    #[arg(long)]
    server_pid: u32,
    /// Invoices in the organisation (`bench-N`).
    #[arg(long, default_value_t = 1_000_000)]
    records: u64,
    #[arg(long, default_value_t = 1)]
    rounds: u32,
    /// Share of the records changed before the incremental pull, in percent.
    #[arg(long, default_value_t = 1.0)]
    changed_percent: f64,
    /// Requests per page in the read measurement.
    #[arg(long, default_value_t = 300)]
    reads: usize,
    /// The deep page read next to page 1 (100 records a page).
    #[arg(long, default_value_t = 1000)]
    deep_page: u64,
    /// Records per page of the plain insert's transactions (linkwell's pull page size).
    #[arg(long, default_value_t = 500)]
    page_size: usize,
    /// Longest wait for one pull, in seconds.
    #[arg(long, default_value_t = 3600)]
    timeout: u64,
}

struct Api {
    base: String,
    authorization: String,
    http: reqwest::Client,
}

impl Api {
    async fn send(&self, request: reqwest::RequestBuilder, what: &str) -> anyhow::Result<Value> {
        let answer = request
            .header("authorization", &self.authorization)
            .send()
            .await
            .with_context(|| what.to_owned())?;
        let status = answer.status();
        let text = answer.text().await?;
        ensure!(status.is_success(), "{what}: {status}: {text}");
        Ok(if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).with_context(|| format!("{what}: not JSON"))?
        })
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.send(self.http.get(format!("{}{path}", self.base)), path)
            .await
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.send(
            self.http.post(format!("{}{path}", self.base)).json(&body),
            path,
        )
        .await
    }

    async fn delete(&self, path: &str) -> anyhow::Result<()> {
        self.send(self.http.delete(format!("{}{path}", self.base)), path)
            .await?;
        Ok(())
    }

    async fn connection(&self, company: &str) -> anyhow::Result<String> {
        let connection = self
            .post(
                &format!("/companies/{company}/connections"),
                json!({"platformKey": "mqjo"}),
            )
            .await?;
        Ok(connection["id"]
            .as_str()
            .context("connection id")?
            .to_owned())
    }

    /// Start, allow at the sandbox with the organisation, come back.
    async fn link(
        &self,
        company: &str,
        connection: &str,
        organisation: &str,
    ) -> anyhow::Result<()> {
        let start = self
            .http
            .get(format!(
                "{}/link/companies/{company}/connections/{connection}/start",
                self.base
            ))
            .send()
            .await?;
        ensure!(start.status() == 303, "link start: {}", start.status());
        let cookie = header(&start, "set-cookie")?
            .split(';')
            .next()
            .unwrap_or_default()
            .to_owned();
        let authorize = header(&start, "location")?;
        let consent = self.http.get(&authorize).send().await?;
        ensure!(
            consent.status() == 200,
            "consent page: {}",
            consent.status()
        );
        let html = consent.text().await?;
        let mut form: Vec<(String, String)> = Vec::new();
        for input in html.split("<input type=\"hidden\" name=\"").skip(1) {
            let (name, rest) = input.split_once('"').context("consent form")?;
            let value = rest
                .split_once("value=\"")
                .and_then(|(_, value)| value.split_once('"'))
                .context("consent form value")?
                .0;
            form.push((name.to_owned(), value.replace("&amp;", "&")));
        }
        form.push(("organisation".into(), organisation.into()));
        form.push(("decision".into(), "allow".into()));
        let decided = self
            .http
            .post(authorize.split('?').next().unwrap_or_default())
            .form(&form)
            .send()
            .await?;
        ensure!(decided.status() == 303, "consent: {}", decided.status());
        let done = self
            .http
            .get(header(&decided, "location")?)
            .header("cookie", cookie)
            .send()
            .await?;
        ensure!(done.status() == 303, "link callback: {}", done.status());
        let outcome = header(&done, "location")?;
        ensure!(
            outcome.ends_with("outcome=linked"),
            "linking ended at {outcome}"
        );
        Ok(())
    }

    /// Waits until the company's only pull of invoices that is not `skip` has finished: its duration.
    async fn wait_pull(
        &self,
        company: &str,
        skip: &[String],
        timeout: u64,
    ) -> anyhow::Result<(String, f64)> {
        let started = Instant::now();
        loop {
            let history = self
                .get(&format!(
                    "/companies/{company}/data/history?pageSize=100&query=dataType%3Dinvoices"
                ))
                .await?;
            let pull = history["results"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|pull| !skip.iter().any(|id| pull["id"] == id.as_str()));
            if let Some(pull) = pull {
                if pull["isErrored"] == true {
                    bail!("the pull failed: {pull}");
                }
                if pull["isCompleted"] == true {
                    let requested = timestamp(&pull["requested"])?;
                    let completed = timestamp(&pull["completed"])?;
                    let seconds =
                        (completed - requested).num_microseconds().unwrap_or(0) as f64 / 1e6;
                    return Ok((pull["id"].as_str().unwrap_or_default().to_owned(), seconds));
                }
            }
            ensure!(
                started.elapsed().as_secs() < timeout,
                "no pull completed in {timeout} s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn header(response: &reqwest::Response, name: &str) -> anyhow::Result<String> {
    Ok(response
        .headers()
        .get(name)
        .with_context(|| format!("no {name} header"))?
        .to_str()?
        .to_owned())
}

fn timestamp(value: &Value) -> anyhow::Result<DateTime<Utc>> {
    let text = value
        .as_str()
        .with_context(|| format!("not a time: {value}"))?;
    Ok(DateTime::parse_from_rfc3339(text)
        .with_context(|| format!("not a time: {text}"))?
        .with_timezone(&Utc))
}

/// Peak resident memory of a process, in MiB.
fn peak_mib(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("process {pid}"))?;
    let line = status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .context("no VmHWM")?;
    let kib: f64 = line.split_whitespace().nth(1).context("VmHWM")?.parse()?;
    Ok(kib / 1024.0)
}

/// The same rows again, for another connection: read a page (not timed), insert it in one transaction.
async fn plain_insert(
    pool: &AnyPool,
    sqlite: bool,
    from: &str,
    to: &str,
    page_size: usize,
) -> anyhow::Result<(u64, f64)> {
    let rows_per_statement = if sqlite { 100 } else { 1000 };
    let mut after = 0_i64;
    let mut rows_done = 0_u64;
    let mut timed = Duration::ZERO;
    loop {
        let rows = sqlx::query(
            "SELECT record_id, ordinal, company_id, modified, source_modified, body FROM data_records \
             WHERE connection_id = $1 AND data_type = 'invoices' AND ordinal > $2 ORDER BY ordinal LIMIT $3",
        )
        .bind(from.to_owned())
        .bind(after)
        .bind(page_size as i64)
        .fetch_all(pool)
        .await?;
        let Some(last) = rows.last() else {
            break;
        };
        after = last.try_get("ordinal")?;
        let started = Instant::now();
        let mut tx = pool.begin().await?;
        for chunk in rows.chunks(rows_per_statement) {
            let mut sql = String::from(
                "INSERT INTO data_records (connection_id, data_type, record_id, ordinal, company_id, modified, \
                 source_modified, is_deleted, pull_seq, body) VALUES ",
            );
            for index in 0..chunk.len() {
                let base = 2 + index * 6;
                if index > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!(
                    "($1, 'invoices', ${}, ${}, ${}, ${}, ${}, 0, 0, ${})",
                    base,
                    base + 1,
                    base + 2,
                    base + 3,
                    base + 4,
                    base + 5
                ));
            }
            let mut query = sqlx::query(&sql).bind(to.to_owned());
            for row in chunk {
                query = query
                    .bind(row.try_get::<String, _>("record_id")?)
                    .bind(row.try_get::<i64, _>("ordinal")?)
                    .bind(row.try_get::<String, _>("company_id")?)
                    .bind(row.try_get::<String, _>("modified")?)
                    .bind(row.try_get::<Option<String>, _>("source_modified")?)
                    .bind(row.try_get::<String, _>("body")?);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        timed += started.elapsed();
        rows_done += rows.len() as u64;
    }
    Ok((rows_done, timed.as_secs_f64()))
}

/// Latencies in milliseconds of the two pages, requested alternately.
async fn read_pages(
    api: &Api,
    company: &str,
    deep_page: u64,
    reads: usize,
) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let mut first = Vec::with_capacity(reads);
    let mut deep = Vec::with_capacity(reads);
    for round in 0..reads + 20 {
        for (page, into) in [(1, &mut first), (deep_page, &mut deep)] {
            let url = format!(
                "{}/companies/{company}/data/invoices?page={page}&pageSize=100",
                api.base
            );
            let started = Instant::now();
            let answer = api
                .http
                .get(url)
                .header("authorization", &api.authorization)
                .send()
                .await?;
            ensure!(answer.status() == 200, "page {page}: {}", answer.status());
            let body = answer.bytes().await?;
            let elapsed = started.elapsed().as_secs_f64() * 1e3;
            ensure!(body.len() > 1000, "page {page} is nearly empty");
            if round >= 20 {
                into.push(elapsed);
            }
        }
    }
    Ok((first, deep))
}

fn percentile(values: &[f64], share: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let index = ((sorted.len() as f64 - 1.0) * share).round() as usize;
    sorted.get(index).copied().unwrap_or(f64::NAN)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    sqlx::any::install_default_drivers();
    let sqlite = args.database.starts_with("sqlite:");
    let pool = if sqlite {
        AnyPoolOptions::new()
            .max_connections(1)
            .after_connect(|connection, _| {
                Box::pin(async move {
                    // Set up as the store sets up its own connections, so the insert is timed alike.
                    connection.execute(linkwell_store::SQLITE_PRAGMAS).await?;
                    Ok(())
                })
            })
            .connect(&args.database)
            .await?
    } else {
        AnyPoolOptions::new()
            .max_connections(1)
            .connect(&args.database)
            .await?
    };
    let api = Api {
        base: args.base.trim_end_matches('/').to_owned(),
        authorization: format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(&args.key)
        ),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?,
    };
    let organisation = format!("bench-{}", args.records);
    let answer = api
        .http
        .post(format!("{}/profile/syncSettings", api.base))
        .header("authorization", &api.authorization)
        .json(&json!({"settings": [
            {"dataType": "invoices", "fetchOnFirstLink": true, "syncSchedule": 24, "syncOrder": 0}
        ], "overridesDefaults": true}))
        .send()
        .await?;
    ensure!(answer.status() == 204, "sync settings: {}", answer.status());
    let http = reqwest::Client::new();
    for round in 1..=args.rounds {
        let company = api
            .post("/companies", json!({"name": format!("Pull bench {round}")}))
            .await?;
        let company = company["id"].as_str().context("company id")?.to_owned();
        let connection = api.connection(&company).await?;
        eprintln!("[round {round}] linking to {organisation}; the full pull starts");
        api.link(&company, &connection, &organisation).await?;
        let (full_id, full_seconds) = api.wait_pull(&company, &[], args.timeout).await?;
        let stored = api
            .get(&format!("/companies/{company}/data/invoices?pageSize=1"))
            .await?["totalResults"]
            .as_u64()
            .unwrap_or(0);
        // Later rounds find the organisation as the earlier rounds' changes left it (a few more invoices).
        ensure!(
            stored >= args.records,
            "{stored} invoices stored, at least {} expected",
            args.records
        );
        let peak_after_full = peak_mib(args.server_pid)?;
        eprintln!(
            "[round {round}] full pull of {stored} invoices: {full_seconds:.1} s, {:.0} records/s, peak {peak_after_full:.0} MiB",
            stored as f64 / full_seconds
        );

        let plain_connection = api.connection(&company).await?;
        let (plain_rows, plain_seconds) = plain_insert(
            &pool,
            sqlite,
            &connection,
            &plain_connection,
            args.page_size,
        )
        .await?;
        ensure!(plain_rows == stored, "plain insert wrote {plain_rows} rows");
        api.delete(&format!(
            "/companies/{company}/connections/{plain_connection}"
        ))
        .await?;
        eprintln!(
            "[round {round}] plain insert: {plain_seconds:.1} s, {:.0} rows/s",
            plain_rows as f64 / plain_seconds
        );

        let mut to_change = ((args.records as f64) * args.changed_percent / 100.0).round() as u64;
        let mut changed = 0_u64;
        while to_change > 0 {
            let changes = to_change.min(1000);
            let answer: Value = http
                .post(format!(
                    "{}/mqjo/control/orgs/{organisation}/advance",
                    args.sandbox.trim_end_matches('/')
                ))
                .json(&json!({"changes": changes}))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            changed += answer["changes"].as_u64().unwrap_or(0);
            to_change -= changes;
        }
        api.post(
            &format!("/companies/{company}/data/queue/invoices"),
            json!({}),
        )
        .await?;
        let (_, incremental_seconds) = api.wait_pull(&company, &[full_id], args.timeout).await?;
        eprintln!(
            "[round {round}] incremental pull after {changed} changes: {incremental_seconds:.2} s ({:.2}% of the full pull)",
            incremental_seconds / full_seconds * 100.0
        );

        let (first, deep) = read_pages(&api, &company, args.deep_page, args.reads).await?;
        let (first_median, deep_median) = (percentile(&first, 0.5), percentile(&deep, 0.5));
        eprintln!(
            "[round {round}] page 1: {first_median:.2} ms median; page {}: {deep_median:.2} ms median",
            args.deep_page
        );
        let peak = peak_mib(args.server_pid)?;
        api.delete(&format!("/companies/{company}")).await?;
        println!(
            "{}",
            json!({
                "round": round,
                "records": stored,
                "full_seconds": full_seconds,
                "full_records_per_second": stored as f64 / full_seconds,
                "plain_seconds": plain_seconds,
                "plain_rows_per_second": plain_rows as f64 / plain_seconds,
                "ratio": (stored as f64 / full_seconds) / (plain_rows as f64 / plain_seconds),
                "peak_mib_after_full": peak_after_full,
                "peak_mib": peak,
                "changes": changed,
                "incremental_seconds": incremental_seconds,
                "incremental_share": incremental_seconds / full_seconds,
                "page1_median_ms": first_median,
                "page1_p99_ms": percentile(&first, 0.99),
                "deep_page": args.deep_page,
                "deep_median_ms": deep_median,
                "deep_p99_ms": percentile(&deep, 0.99),
                "deep_ratio": deep_median / first_median,
            })
        );
    }
    Ok(())
}
