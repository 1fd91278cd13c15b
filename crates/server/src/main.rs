#![forbid(unsafe_code)]
//! The `linkwell` binary.

mod config;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use linkwell_api::{router, AppState, BUILT_IN_CATALOGUE};
use linkwell_domain::integration::Catalogue;
use linkwell_store::Store;
use tracing_subscriber::EnvFilter;

use crate::config::Config;

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
        Command::Serve => serve(config, store).await?,
        Command::Openapi => unreachable!("handled above"),
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
    let state = AppState::new(store.clone(), catalogue, &config.public_url);
    let purger = tokio::spawn(purge_idempotency_keys(store.clone()));
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|error| {
            anyhow::anyhow!(
                "LINKWELL_LISTEN: cannot listen on {}: {error}",
                config.listen
            )
        })?;
    tracing::info!(listen = %listener.local_addr()?, public_url = %config.public_url, backend = ?store.backend(), "linkwell is serving");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    purger.abort();
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Idempotency keys only matter for 90 minutes; forget older ones every ten minutes so the table stays small.
async fn purge_idempotency_keys(store: Store) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        every.tick().await;
        match store.purge_expired_idempotency_keys().await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "expired idempotency keys purged"),
            Err(error) => tracing::warn!(%error, "purging expired idempotency keys failed"),
        }
    }
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
