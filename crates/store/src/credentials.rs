//! Connection credentials, stored sealed. The store never sees plain credentials: callers seal them with
//! `linkwell-encryption` (bound to the company and connection ids) and hand over the text form with the id of
//! the key that sealed it.
//!
//! Refreshing tokens is guarded by a lease on the credentials row, not by a lock in one process: whoever sets
//! an unexpired `lease_until` refreshes, everyone else waits for the new tokens. A crashed holder's lease runs
//! out by itself.

use linkwell_domain::ids::{ClientId, CompanyId, ConnectionId};
use linkwell_domain::time::Timestamp;
use sqlx::Row;

use crate::database::Store;
use crate::error::StoreError;
use crate::records::{optional_text, parsed, text};

/// Credentials in their sealed text form, ready to store.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedCredentials {
    pub sealed: String,
    pub key_id: String,
    /// When the access token inside stops working, if the platform said.
    pub access_expires_at: Option<Timestamp>,
}

/// The sealed text is not secret, but it has no business in logs either.
impl std::fmt::Debug for SealedCredentials {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SealedCredentials")
            .field("key_id", &self.key_id)
            .field("access_expires_at", &self.access_expires_at)
            .finish_non_exhaustive()
    }
}

/// A credentials row as stored.
#[derive(Debug, Clone)]
pub struct StoredCredentials {
    pub company_id: CompanyId,
    pub credentials: SealedCredentials,
    pub lease_until: Option<Timestamp>,
}

/// One sealed value to re-seal during key rotation, and where it lives.
#[derive(Debug, Clone)]
pub struct SealedRow {
    /// The row's primary key.
    pub id: String,
    /// The ids the value is bound to, in binding order (see `SealedTable`).
    pub owners: Vec<String>,
    pub sealed: String,
}

/// The tables that hold sealed values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedTable {
    /// Bound to (company, connection).
    Credentials,
    /// Bound to (company, connection, attempt).
    LinkAttempts,
    /// Bound to (consumer, secret).
    WebhookSecrets,
}

impl SealedTable {
    pub const ALL: [SealedTable; 3] = [
        SealedTable::Credentials,
        SealedTable::LinkAttempts,
        SealedTable::WebhookSecrets,
    ];

    fn select(self) -> &'static str {
        match self {
            SealedTable::Credentials => {
                "SELECT x.connection_id AS id, c.company_id AS o1, x.connection_id AS o2, '' AS o3, x.sealed \
                 FROM connection_credentials x JOIN connections c ON c.id = x.connection_id \
                 WHERE x.key_id <> $1 AND x.connection_id > $2 ORDER BY x.connection_id LIMIT $3"
            }
            SealedTable::LinkAttempts => {
                "SELECT x.id, x.company_id AS o1, x.connection_id AS o2, x.id AS o3, \
                 x.sealed_verifier AS sealed FROM link_attempts x \
                 WHERE x.used_at IS NULL AND x.key_id <> $1 AND x.id > $2 ORDER BY x.id LIMIT $3"
            }
            SealedTable::WebhookSecrets => {
                "SELECT x.id, x.consumer_id AS o1, x.id AS o2, '' AS o3, x.sealed FROM webhook_secrets x \
                 WHERE x.key_id <> $1 AND x.id > $2 ORDER BY x.id LIMIT $3"
            }
        }
    }

    fn replace(self) -> &'static str {
        match self {
            SealedTable::Credentials => {
                "UPDATE connection_credentials SET sealed = $1, key_id = $2 \
                 WHERE connection_id = $3 AND sealed = $4"
            }
            SealedTable::LinkAttempts => {
                "UPDATE link_attempts SET sealed_verifier = $1, key_id = $2 \
                 WHERE id = $3 AND sealed_verifier = $4"
            }
            SealedTable::WebhookSecrets => {
                "UPDATE webhook_secrets SET sealed = $1, key_id = $2 WHERE id = $3 AND sealed = $4"
            }
        }
    }

    fn count_other_keys(self) -> &'static str {
        match self {
            SealedTable::Credentials => {
                "SELECT COUNT(*) FROM connection_credentials WHERE key_id <> $1"
            }
            SealedTable::LinkAttempts => {
                "SELECT COUNT(*) FROM link_attempts WHERE used_at IS NULL AND key_id <> $1"
            }
            SealedTable::WebhookSecrets => {
                "SELECT COUNT(*) FROM webhook_secrets WHERE key_id <> $1"
            }
        }
    }
}

pub(crate) async fn upsert_credentials(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    connection: ConnectionId,
    credentials: &SealedCredentials,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO connection_credentials \
         (connection_id, sealed, key_id, access_expires_at, lease_owner, lease_until, updated) \
         VALUES ($1, $2, $3, $4, NULL, NULL, $5) \
         ON CONFLICT (connection_id) DO UPDATE SET sealed = excluded.sealed, key_id = excluded.key_id, \
         access_expires_at = excluded.access_expires_at, lease_owner = NULL, lease_until = NULL, \
         updated = excluded.updated",
    )
    .bind(connection.to_string())
    .bind(credentials.sealed.clone())
    .bind(credentials.key_id.clone())
    .bind(credentials.access_expires_at.map(|at| at.to_storage()))
    .bind(now.to_storage())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// The connection's credentials, if it has any; scoped to the client like every tenant read.
    pub async fn load_credentials(
        &self,
        client: ClientId,
        connection: ConnectionId,
    ) -> Result<Option<StoredCredentials>, StoreError> {
        let row = sqlx::query(
            "SELECT c.company_id, x.sealed, x.key_id, x.access_expires_at, x.lease_until \
             FROM connection_credentials x JOIN connections c ON c.id = x.connection_id \
             WHERE x.connection_id = $1 AND c.client_id = $2",
        )
        .bind(connection.to_string())
        .bind(client.to_string())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(StoredCredentials {
            company_id: parsed(&row, "company_id")?,
            credentials: SealedCredentials {
                sealed: text(&row, "sealed")?,
                key_id: text(&row, "key_id")?,
                access_expires_at: optional_timestamp(&row, "access_expires_at")?,
            },
            lease_until: optional_timestamp(&row, "lease_until")?,
        }))
    }

    /// Takes the refresh lease on the connection's credentials until `until`, unless someone else holds an
    /// unexpired one. True when the caller now holds it.
    pub async fn acquire_refresh_lease(
        &self,
        client: ClientId,
        connection: ConnectionId,
        owner: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE connection_credentials SET lease_owner = $1, lease_until = $2 \
             WHERE connection_id = $3 AND (lease_until IS NULL OR lease_until <= $4) \
             AND connection_id IN (SELECT id FROM connections WHERE id = $3 AND client_id = $5)",
        )
        .bind(owner.to_owned())
        .bind(until.to_storage())
        .bind(connection.to_string())
        .bind(now.to_storage())
        .bind(client.to_string())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives the lease back without changing the credentials.
    pub async fn release_refresh_lease(
        &self,
        connection: ConnectionId,
        owner: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE connection_credentials SET lease_owner = NULL, lease_until = NULL \
             WHERE connection_id = $1 AND lease_owner = $2",
        )
        .bind(connection.to_string())
        .bind(owner.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Saves credentials obtained by a refresh and releases the lease. The platform has already retired the
    /// refresh token these replace, so they are saved even if the lease ran out meanwhile. Answers false when
    /// the connection has no credentials row any more (it was unlinked or deleted meanwhile).
    pub async fn save_refreshed_credentials(
        &self,
        client: ClientId,
        connection: ConnectionId,
        credentials: &SealedCredentials,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE connection_credentials SET sealed = $1, key_id = $2, access_expires_at = $3, \
             lease_owner = NULL, lease_until = NULL, updated = $4 \
             WHERE connection_id = $5 \
             AND connection_id IN (SELECT id FROM connections WHERE id = $5 AND client_id = $6)",
        )
        .bind(credentials.sealed.clone())
        .bind(credentials.key_id.clone())
        .bind(credentials.access_expires_at.map(|at| at.to_storage()))
        .bind(Timestamp::now().to_storage())
        .bind(connection.to_string())
        .bind(client.to_string())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Linked connections whose access token expires before `before`, oldest expiry first: the ones to refresh
    /// ahead of time. Each comes with its owning client, for the scoped calls that follow.
    pub async fn credentials_expiring(
        &self,
        before: Timestamp,
        limit: i64,
    ) -> Result<Vec<(ClientId, CompanyId, ConnectionId)>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.client_id, c.company_id, c.id FROM connection_credentials x \
             JOIN connections c ON c.id = x.connection_id \
             WHERE c.status = 'Linked' AND x.access_expires_at IS NOT NULL AND x.access_expires_at < $1 \
             ORDER BY x.access_expires_at LIMIT $2",
        )
        .bind(before.to_storage())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    parsed(row, "client_id")?,
                    parsed(row, "company_id")?,
                    parsed(row, "id")?,
                ))
            })
            .collect()
    }

    /// A batch of sealed values in `table` not sealed with `current_key_id`, after `after` in key order.
    pub async fn sealed_rows_to_rotate(
        &self,
        table: SealedTable,
        current_key_id: &str,
        after: &str,
        limit: i64,
    ) -> Result<Vec<SealedRow>, StoreError> {
        let rows = sqlx::query(table.select())
            .bind(current_key_id.to_owned())
            .bind(after.to_owned())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let owners = ["o1", "o2", "o3"]
                    .iter()
                    .map(|column| text(row, column))
                    .collect::<Result<Vec<_>, _>>()?
                    .into_iter()
                    .filter(|owner| !owner.is_empty())
                    .collect();
                Ok(SealedRow {
                    id: text(row, "id")?,
                    owners,
                    sealed: text(row, "sealed")?,
                })
            })
            .collect()
    }

    /// Replaces one sealed value, only if it still holds what was read (a refresh may have written a new
    /// one meanwhile, already under the current key). True when it was replaced.
    pub async fn replace_sealed(
        &self,
        table: SealedTable,
        row: &SealedRow,
        resealed: &str,
        key_id: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(table.replace())
            .bind(resealed.to_owned())
            .bind(key_id.to_owned())
            .bind(row.id.clone())
            .bind(row.sealed.clone())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// How many sealed values in `table` are under a key other than `current_key_id`.
    pub async fn count_sealed_under_other_keys(
        &self,
        table: SealedTable,
        current_key_id: &str,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query(table.count_other_keys())
            .bind(current_key_id.to_owned())
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }
}

fn optional_timestamp(
    row: &sqlx::any::AnyRow,
    column: &str,
) -> Result<Option<Timestamp>, StoreError> {
    optional_text(row, column)?
        .map(|value| {
            Timestamp::parse_storage(&value)
                .ok_or_else(|| StoreError::Corrupt(format!("{column} holds '{value}'")))
        })
        .transpose()
}
