#![forbid(unsafe_code)]
//! Fills a linkwell database for `bench/run.sh`: one client with N companies, each with K connections, written
//! through `linkwell-store` (the same code path as the API) by several concurrent tasks. Then it creates an API
//! key and prints one JSON line on stdout: the key, a sample company and connection from the middle of the
//! listing, and the counts. Progress goes to stderr.
//!
//! Running it again on the same database tops the client up to N companies instead of adding N more, so an
//! interrupted seed can be resumed; each run does create one more API key (a client may hold ten).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use linkwell_domain::company::{CompanyName, Tags};
use linkwell_domain::ids::ClientId;
use linkwell_domain::integration::{Catalogue, Integration, PlatformKey};
use linkwell_domain::paging::PageRequest;
use linkwell_store::{CompanyFilter, NewCompany, NewConnection, Store};

#[derive(Parser)]
#[command(
    name = "seed",
    about = "Fill a linkwell database with companies and connections for benchmarking"
)]
struct Args {
    /// `sqlite:///path/file.db?mode=rwc` or `postgres://user@host:port/db`.
    #[arg(long, env = "LINKWELL_DATABASE_URL")]
    database_url: String,
    /// The client (tenant) that owns the companies; created if missing.
    #[arg(long, default_value = "bench")]
    client: String,
    /// How many companies the client should have when the seed is done.
    #[arg(long)]
    companies: u64,
    /// Connections created for each new company.
    #[arg(long, default_value_t = 1)]
    connections_per_company: u32,
    /// Platform keys the connections cycle through (comma-separated, from the built-in catalogue).
    #[arg(long, default_value = "mqjo,bnks,aiwb", value_delimiter = ',')]
    platforms: Vec<String>,
    /// Concurrent writer tasks.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Name of the API key created at the end.
    #[arg(long, default_value = "bench")]
    key_name: String,
}

fn new_connection(integration: &Integration) -> NewConnection {
    NewConnection::for_integration(integration)
}

async fn company_count(store: &Store, client: ClientId) -> anyhow::Result<u64> {
    let page = PageRequest::new(Some(1), Some(1))?;
    Ok(store
        .list_companies(client, page, &CompanyFilter::default())
        .await?
        .total)
}

struct Work {
    store: Store,
    client: ClientId,
    target: u64,
    connections_per_company: u32,
    integrations: Vec<Integration>,
    next: AtomicU64,
    companies_done: AtomicU64,
}

/// One writer: claims company numbers until the target is reached.
async fn writer(work: Arc<Work>) -> anyhow::Result<()> {
    loop {
        let number = work.next.fetch_add(1, Ordering::Relaxed);
        if number >= work.target {
            return Ok(());
        }
        let company = work
            .store
            .create_company(
                work.client,
                NewCompany {
                    name: CompanyName::parse(&format!("Bench company {number:07}"))?,
                    description: None,
                    tags: Tags::default(),
                },
            )
            .await
            .with_context(|| format!("creating company {number}"))?;
        for k in 0..u64::from(work.connections_per_company) {
            let integration =
                &work.integrations[((number + k) % work.integrations.len() as u64) as usize];
            work.store
                .create_connection(work.client, company.id, new_connection(integration))
                .await
                .with_context(|| format!("creating connection {k} of company {number}"))?;
        }
        work.companies_done.fetch_add(1, Ordering::Relaxed);
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    let catalogue = Catalogue::parse(linkwell_api::BUILT_IN_CATALOGUE)?;
    let mut integrations = Vec::new();
    for key in &args.platforms {
        let parsed = PlatformKey::parse(key.trim())
            .map_err(|_| anyhow::anyhow!("--platforms: '{key}' is not a platform key"))?;
        let integration = catalogue
            .get(&parsed)
            .with_context(|| format!("--platforms: '{key}' is not in the built-in catalogue"))?;
        integrations.push(integration.clone());
    }
    if integrations.is_empty() && args.connections_per_company > 0 {
        bail!("--platforms: name at least one platform");
    }

    let store = Store::connect(&args.database_url)
        .await
        .context("opening the database")?;
    store.migrate().await.context("migrating the database")?;
    let client = store.ensure_client(&args.client).await?;
    let existing = company_count(&store, client).await?;
    let to_create = args.companies.saturating_sub(existing);
    eprintln!(
        "seed: {:?}, client '{}' has {existing} companies; creating {to_create} \
         with {} connection(s) each, {} writers",
        store.backend(),
        args.client,
        args.connections_per_company,
        args.concurrency
    );

    let started = Instant::now();
    let work = Arc::new(Work {
        store: store.clone(),
        client,
        target: args.companies,
        connections_per_company: args.connections_per_company,
        integrations,
        next: AtomicU64::new(existing),
        companies_done: AtomicU64::new(0),
    });
    let writers: Vec<_> = (0..args.concurrency)
        .map(|_| tokio::spawn(writer(work.clone())))
        .collect();
    let all_done = async {
        for handle in writers {
            handle.await.context("a writer task panicked")??;
        }
        anyhow::Ok(())
    };
    tokio::pin!(all_done);
    let mut ticker = tokio::time::interval(Duration::from_secs(5));
    ticker.tick().await;
    loop {
        tokio::select! {
            result = &mut all_done => { result?; break; }
            _ = ticker.tick() => {
                let done = work.companies_done.load(Ordering::Relaxed);
                let seconds = started.elapsed().as_secs_f64();
                eprintln!(
                    "seed: {done}/{to_create} companies in {seconds:.0}s ({:.0} companies/s)",
                    done as f64 / seconds
                );
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let total = company_count(&store, client).await?;
    eprintln!(
        "seed: created {to_create} companies in {seconds:.1}s ({:.0}/s); the client now has {total}",
        to_create as f64 / seconds.max(1e-9)
    );
    if total < args.companies {
        bail!("expected {} companies, found {total}", args.companies);
    }

    // A sample from the middle of the default listing, so lookups are not all at one end of the indexes.
    let middle = PageRequest::new(Some((total / 2 + 1) as i64), Some(1))?;
    let sample = store
        .list_companies(client, middle, &CompanyFilter::default())
        .await?
        .items
        .into_iter()
        .next();
    let company_id = sample.as_ref().map(|company| company.id.to_string());
    let connection_id = sample
        .as_ref()
        .and_then(|company| company.connections.first())
        .map(|connection| connection.id.to_string());
    let key = store.create_api_key(client, Some(&args.key_name)).await?;
    store.close().await;
    let line = serde_json::json!({
        "apiKey": key.raw_key,
        "client": args.client,
        "backend": format!("{:?}", store.backend()).to_lowercase(),
        "companies": total,
        "created": to_create,
        "connectionsPerCompany": args.connections_per_company,
        "companyId": company_id,
        "connectionId": connection_id,
        "seconds": (seconds * 10.0).round() / 10.0,
    });
    println!("{line}");
    Ok(())
}
