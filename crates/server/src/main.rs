#![forbid(unsafe_code)]
//! The `linkwell` binary.

mod config;
mod connect;

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use linkwell_api::{router, AppState, Connectivity, BUILT_IN_CATALOGUE};
use linkwell_connectors::TokenPolicy;
use linkwell_domain::integration::Catalogue;
use linkwell_store::Store;
use tracing_subscriber::EnvFilter;

use crate::config::Config;

// Pulls turn millions of small JSON values over; mimalloc serves such allocations faster than the system's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "linkwell",
    version,
    about = "A self-hosted, Codat-compatible data-connections platform"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API (migrating the database first).
    Serve,
    /// Create or update the database schema, then exit.
    Migrate,
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Run only the sandbox platforms (mqjo, bnks, aiwb) under /sandbox, on LINKWELL_SANDBOX_LISTEN.
    Sandbox,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create an API key (and the client, if new); prints the raw key as the only line on stdout.
    Create {
        /// The client (tenant) the key belongs to.
        #[arg(long)]
        client: String,
        /// A name for the key, at most 50 characters.
        #[arg(long)]
        name: Option<String>,
    },
    /// Re-encrypt every stored credential to a new encryption key, while servers keep running. With a key
    /// file, a new key is generated and put first in it; with LINKWELL_ENCRYPTION_KEY, put the new key first
    /// there (keeping the old ones after it) and run this.
    RotateEncryption,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logs go to stderr so stdout stays clean for commands that print a result.
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("LINKWELL_LOG")
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(cli.command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("linkwell: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    if let Command::Openapi = command {
        print!("{}", linkwell_api::openapi::document_json());
        return Ok(());
    }
    let config = Config::from_env()?;
    if let Command::Sandbox = command {
        return serve_sandbox(config).await;
    }
    let store = Store::connect(&config.database_url)
        .await
        .map_err(|error| {
            anyhow::anyhow!("LINKWELL_DATABASE_URL: cannot open the database: {error}")
        })?;
    store.migrate().await?;
    match command {
        Command::Migrate => {
            tracing::info!(backend = ?store.backend(), "database is up to date");
        }
        Command::Keys {
            command: KeysCommand::Create { client, name },
        } => {
            if name.as_ref().is_some_and(|name| name.chars().count() > 50) {
                anyhow::bail!("--name: at most 50 characters");
            }
            if client.trim().is_empty() {
                anyhow::bail!("--client: must not be empty");
            }
            let client = store.ensure_client(client.trim()).await?;
            let key = store.create_api_key(client, name.as_deref()).await?;
            println!("{}", key.raw_key);
        }
        Command::Keys {
            command: KeysCommand::RotateEncryption,
        } => {
            let keys = connect::load_keys(&config)?;
            let previous = keys.ring().current_key_id().to_string();
            if config.encryption_keys.is_none() {
                keys.add_new_current_key()
                    .map_err(|error| anyhow::anyhow!("LINKWELL_ENCRYPTION_KEY_FILE: {error}"))?;
            }
            let (resealed, key) = connect::rotate(&store, &keys).await?;
            tracing::info!(previous = %previous, current = %key, resealed, "encryption key rotated");
            println!("{resealed} stored values are now encrypted with key {key}");
        }
        Command::Serve => serve(config, store).await?,
        Command::Openapi | Command::Sandbox => unreachable!("handled above"),
    }
    Ok(())
}

async fn serve(config: Config, store: Store) -> anyhow::Result<()> {
    let catalogue = Catalogue::parse(BUILT_IN_CATALOGUE)?;
    // An embedded SQLite database belongs to one serving process; holding that is what lets the process keep
    // hot reads in memory. PostgreSQL is shared by any number of processes and always read afresh.
    let (store, _lock) = match config.sqlite_path() {
        Some(path) => {
            let lock = lock_database(&path)?;
            (store.with_read_cache(), Some(lock))
        }
        None => (store, None),
    };
    let keys = connect::load_keys(&config)?;
    let secret = connect::sandbox_secret(&config);
    let state = AppState::with_connectivity(
        store.clone(),
        catalogue,
        &config.public_url,
        Connectivity {
            platforms: connect::platforms(&config, &secret),
            keys: keys.clone(),
            policy: TokenPolicy::default(),
            attempt_ttl: linkwell_connectors::link::ATTEMPT_TTL,
            webhooks: linkwell_api::state::WebhookSettings {
                allow_private: config.webhooks.allow_private,
            },
            daily_quota: config.daily_quota,
            connectors: linkwell_api::state::platform_connectors,
        },
    );
    if config.sqlite_path().is_some() {
        let released = store.release_job_leases().await?;
        if released > 0 {
            tracing::info!(
                released,
                "pull and push operations held by a stopped process are due again"
            );
        }
        // This process holds the database's lock: claims left by a previous process are void.
        let released = store.release_delivery_leases(None).await?;
        if released > 0 {
            tracing::info!(
                released,
                "webhook deliveries claimed by a stopped process are due again"
            );
        }
    }
    let dispatcher = linkwell_webhooks::Dispatcher::new(
        store.clone(),
        keys.clone(),
        linkwell_webhooks::Sender::new(linkwell_webhooks::UrlPolicy {
            allow_private: config.webhooks.allow_private,
        }),
        linkwell_webhooks::DispatcherConfig {
            retries: config.webhooks.retries.clone(),
            ..linkwell_webhooks::DispatcherConfig::default()
        },
    );
    let background = [
        tokio::spawn(purge_expired(store.clone())),
        tokio::spawn(connect::refresh_tokens_ahead(state.tokens().clone())),
        tokio::spawn(connect::watch_key_file(keys)),
        tokio::spawn(dispatcher.clone().run()),
        tokio::spawn(report_quota_resets(store.clone(), config.daily_quota)),
        tokio::spawn(
            linkwell_connectors::jobs::DataWorker::new(
                store.clone(),
                state.connectors.clone(),
                linkwell_connectors::jobs::WorkerConfig::default(),
            )
            .run(std::future::pending()),
        ),
        tokio::spawn(
            linkwell_connectors::jobs::Scheduler::new(
                store.clone(),
                Arc::new(linkwell_domain::time::Timestamp::now),
            )
            .run(std::time::Duration::from_secs(60), std::future::pending()),
        ),
    ];
    let mut app = router(state);
    if config.sandbox.serve {
        app = app.nest("/sandbox", connect::sandbox_router(&config, &secret));
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|error| {
            anyhow::anyhow!(
                "LINKWELL_LISTEN: cannot listen on {}: {error}",
                config.listen
            )
        })?;
    tracing::info!(listen = %listener.local_addr()?, public_url = %config.public_url, backend = ?store.backend(), "linkwell is serving");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    for task in background {
        task.abort();
    }
    let _ = dispatcher.release().await;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Idempotency keys only matter for 90 minutes, link attempts for minutes and events for 30 days; forget
/// older ones every ten minutes so the tables stay small.
async fn purge_expired(store: Store) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        every.tick().await;
        match store.purge_expired_idempotency_keys().await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "expired idempotency keys purged"),
            Err(error) => tracing::warn!(%error, "purging expired idempotency keys failed"),
        }
        connect::purge_link_attempts(&store).await;
        // Delivery history and replays reach back 30 days.
        let cutoff = linkwell_domain::time::Timestamp::now().plus_seconds(-30 * 24 * 3600);
        match store.purge_events(cutoff).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "events older than 30 days purged"),
            Err(error) => tracing::warn!(%error, "purging old events failed"),
        }
    }
}

/// With a daily quota, reports `client.rateLimit.reset` soon after midnight UTC to clients that used theirs up.
async fn report_quota_resets(store: Store, quota: Option<i64>) {
    let Some(quota) = quota else {
        return;
    };
    let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        every.tick().await;
        match store
            .report_quota_resets(quota, linkwell_domain::time::Timestamp::now())
            .await
        {
            Ok(0) => {}
            Ok(reported) => tracing::info!(reported, "daily quotas renewed"),
            Err(error) => tracing::warn!(%error, "reporting renewed quotas failed"),
        }
    }
}

/// `linkwell sandbox`: the sandbox platforms alone, for a linkwell elsewhere that points
/// LINKWELL_SANDBOX_URL here. Both sides need the same LINKWELL_SANDBOX_CLIENT_SECRET, and
/// LINKWELL_PUBLIC_URL must be the linkwell whose /link/callback the sandbox accepts.
async fn serve_sandbox(config: Config) -> anyhow::Result<()> {
    let Some(secret) = config.sandbox.client_secret.clone() else {
        anyhow::bail!(
            "LINKWELL_SANDBOX_CLIENT_SECRET: must be set (the same value as for linkwell serve) to run the sandbox alone"
        );
    };
    let app = axum::Router::new().nest("/sandbox", connect::sandbox_router(&config, &secret));
    let listener = tokio::net::TcpListener::bind(config.sandbox.listen)
        .await
        .map_err(|error| {
            anyhow::anyhow!(
                "LINKWELL_SANDBOX_LISTEN: cannot listen on {}: {error}",
                config.sandbox.listen
            )
        })?;
    tracing::info!(listen = %listener.local_addr()?, "sandbox platforms are serving under /sandbox");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

/// Takes an exclusive lock on `<database>.lock`, held until the process exits.
fn lock_database(path: &std::path::Path) -> anyhow::Result<std::fs::File> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|error| {
            anyhow::anyhow!(
                "LINKWELL_DATABASE_URL: cannot create {}: {error}",
                path.display()
            )
        })?;
    file.try_lock().map_err(|_| {
        anyhow::anyhow!(
            "LINKWELL_DATABASE_URL: another linkwell serve is using {}; run one server per SQLite file, or use PostgreSQL",
            path.display()
        )
    })?;
    Ok(file)
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}
