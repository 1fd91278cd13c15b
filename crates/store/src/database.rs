//! Connecting to the database, choosing the backend from the URL, and running migrations.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};

use crate::cache::ReadCache;
use crate::error::StoreError;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// What every connection to a SQLite file is set up with: write-ahead logging, syncs at checkpoints,
/// foreign keys enforced, and 10 s of waiting for another connection's write lock.
pub const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Which backend a database URL selects, or None when it selects neither.
    pub fn of_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }
}

/// The handle every use case works through. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) pool: AnyPool,
    backend: Backend,
    pub(crate) cache: Option<Arc<ReadCache>>,
    pub(crate) events: Arc<crate::events::EventHub>,
    /// On SQLite, this process's writers of the outbox take turns here rather than in SQLite's busy handler,
    /// which sleeps for up to 100 ms between tries and so starves whoever comes second.
    turn: Arc<tokio::sync::Mutex<()>>,
}

impl Store {
    /// Opens a pool on `url` (`sqlite:...` or `postgres://...`). A SQLite file is created if missing.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url).ok_or_else(|| {
            StoreError::Database(sqlx::Error::Configuration(
                "the database URL must start with sqlite: or postgres://".into(),
            ))
        })?;
        let options = AnyConnectOptions::from_str(url)?.disable_statement_logging();
        let pool_options = match backend {
            // SQLite serialises writers, and sqlx gives each connection a thread of its own: a few connections
            // give concurrent readers (WAL) without crowding a small machine with threads.
            // An in-memory database lives and dies with its one connection.
            Backend::Sqlite if url.contains(":memory:") || url.contains("mode=memory") => {
                AnyPoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .after_connect(|connection, _| {
                        Box::pin(async move {
                            connection.execute("PRAGMA foreign_keys = ON;").await?;
                            Ok(())
                        })
                    })
            }
            Backend::Sqlite => AnyPoolOptions::new()
                .max_connections(4)
                .min_connections(1)
                .after_connect(|connection, _| {
                    Box::pin(async move {
                        connection.execute(SQLITE_PRAGMAS).await?;
                        Ok(())
                    })
                }),
            Backend::Postgres => AnyPoolOptions::new().max_connections(16),
        };
        let pool = pool_options
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(Self {
            pool,
            backend,
            cache: None,
            events: Arc::default(),
            turn: Arc::default(),
        })
    }

    /// Serves hot reads from memory. Only sound while this process is the database's only writer: the caller
    /// must guarantee it (`linkwell serve` holds an exclusive lock on its SQLite file).
    pub fn with_read_cache(mut self) -> Self {
        self.cache = Some(Arc::new(ReadCache::default()));
        self
    }

    /// Commits a transaction that changed companies or connections, and tells the read cache.
    pub(crate) async fn commit(
        &self,
        tx: sqlx::Transaction<'_, sqlx::Any>,
    ) -> Result<(), StoreError> {
        tx.commit().await?;
        self.changed();
        self.announce_deliveries();
        Ok(())
    }

    /// Begins a transaction that will write after it reads. On SQLite its first statement takes the write
    /// lock: a transaction that read first could not upgrade once another connection had committed.
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Sqlite {
            // A write statement takes SQLite's write lock when it starts, even if it changes nothing.
            sqlx::query("UPDATE clients SET name = name WHERE 0 = 1")
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
    }

    /// On SQLite, waits for this process's turn to write and holds it until the guard is dropped (after the
    /// commit); first come, first served. Nothing on PostgreSQL, whose writers lock rows, not the database.
    /// Only taken by functions that call no other function taking it.
    pub(crate) async fn write_turn(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match self.backend {
            Backend::Sqlite => Some(self.turn.clone().lock_owned().await),
            Backend::Postgres => None,
        }
    }

    /// A condition that `column` is one of the integers in the JSON array bound as parameter `param`: one
    /// statement text whatever the number of values, probing `column`'s index for each of them.
    pub(crate) fn in_json_integers(&self, column: &str, param: usize) -> String {
        match self.backend {
            Backend::Postgres => format!(
                "{column} = ANY(ARRAY(SELECT CAST(json_array_elements_text(${param}::json) AS BIGINT)))"
            ),
            Backend::Sqlite => format!("{column} IN (SELECT value FROM json_each(${param}))"),
        }
    }

    /// Tells the read cache that companies or connections changed outside a transaction.
    pub(crate) fn changed(&self) {
        if let Some(cache) = &self.cache {
            cache.changed();
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    /// Checks that the database answers (used by readiness probes).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
