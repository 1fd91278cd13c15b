use linkwell_domain::connection::TransitionError;
use linkwell_domain::ids::ConnectionId;
use thiserror::Error;

/// Errors the store reports to its callers. Database failures keep their cause for the logs; the API layer
/// turns them into a generic 500 without showing it.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("the client already has the maximum of {0} API keys")]
    ApiKeyLimit(i64),
    #[error("the client already has the maximum of {0} webhook consumers")]
    WebhookLimit(i64),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("the company already has a Linked accounting connection ({existing})")]
    AccountingAlreadyLinked { existing: ConnectionId },
    #[error("the connection changed while it was being updated; try again")]
    Contended,
    #[error("{0}")]
    Query(linkwell_domain::query::QueryError),
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
        error
            .as_database_error()
            .map(|db| db.is_unique_violation())
            .unwrap_or(false)
    }
}
