//! Connections and their history. Status changes go through [`Store::apply_connection_event`], which asks the
//! domain state machine for the next status and writes it with a compare-and-set on the current one, so
//! concurrent changes cannot interleave; the partial unique index keeps a company to one Linked accounting
//! connection even when two links race.

use linkwell_domain::connection::{transition, ConnectionEvent, ConnectionStatus, SourceType};
use linkwell_domain::ids::{ClientId, CompanyId, ConnectionId};
use linkwell_domain::paging::{Page, PageRequest};
use linkwell_domain::query::{Expr, OrderBy};
use linkwell_domain::time::Timestamp;
use sqlx::Row;

use crate::companies::{bind_params, order_with_tiebreak};
use crate::database::Store;
use crate::error::StoreError;
use crate::events::{company_in_tx, ConnectionEventKind, DomainEvent};
use crate::filter::{compile_filter, Field, FieldKind, FieldMap, FieldSource, SqlParam};
use crate::records::{
    connection_from_row, optional_text, parsed, text, timestamp, ConnectionErrorRecord,
    ConnectionRecord, HistoryRecord, CONNECTION_COLUMNS,
};

/// What a new connection copies from its integration.
pub struct NewConnection {
    pub platform_key: String,
    pub integration_id: String,
    pub source_id: String,
    pub source_type: SourceType,
    pub platform_name: String,
}

impl NewConnection {
    /// A connection to this catalogue integration.
    pub fn for_integration(integration: &linkwell_domain::integration::Integration) -> Self {
        Self {
            platform_key: integration.key.clone(),
            integration_id: integration.integration_id.to_string(),
            source_id: integration.source_id.to_string(),
            source_type: integration.source_type,
            platform_name: integration.name.clone(),
        }
    }
}

/// The parsed `query` and `orderBy` of a connection listing.
#[derive(Default)]
pub struct ConnectionListing {
    pub query: Option<Expr>,
    pub order: Option<OrderBy>,
}

pub static CONNECTION_FIELDS: FieldMap = FieldMap {
    resource: "connections",
    fields: &[
        Field {
            path: "id",
            kind: FieldKind::Text,
            source: FieldSource::Column("x.id"),
        },
        Field {
            path: "integrationId",
            kind: FieldKind::Text,
            source: FieldSource::Column("x.integration_id"),
        },
        Field {
            path: "integrationKey",
            kind: FieldKind::Text,
            source: FieldSource::Column("x.platform_key"),
        },
        Field {
            path: "sourceId",
            kind: FieldKind::Text,
            source: FieldSource::Column("x.source_id"),
        },
        Field {
            path: "sourceType",
            kind: FieldKind::Enum(SourceType::NAMES),
            source: FieldSource::Column("x.source_type"),
        },
        Field {
            path: "platformName",
            kind: FieldKind::Text,
            source: FieldSource::Column("x.platform_name"),
        },
        Field {
            path: "status",
            kind: FieldKind::Enum(ConnectionStatus::NAMES),
            source: FieldSource::Column("x.status"),
        },
        Field {
            path: "created",
            kind: FieldKind::Timestamp,
            source: FieldSource::Column("x.created"),
        },
        Field {
            path: "lastSync",
            kind: FieldKind::Timestamp,
            source: FieldSource::Column("x.last_sync"),
        },
    ],
};

/// What is written together with a status change.
#[derive(Default)]
pub struct ChangeDetails {
    /// Credentials obtained by the authorization that links the connection.
    pub credentials: Option<crate::credentials::SealedCredentials>,
    /// The platform's HTTP status code, for the error an event records.
    pub status_code: Option<String>,
    /// The platform's non-numeric status (e.g. an OAuth2 error code), for the error an event records.
    pub status_text: Option<String>,
}

/// How often a status change is retried when another writer changed the connection between our read and
/// our write. Each retry re-reads, so it only repeats while others keep winning.
const TRANSITION_ATTEMPTS: usize = 8;

impl Store {
    pub async fn create_connection(
        &self,
        client: ClientId,
        company: CompanyId,
        new: NewConnection,
    ) -> Result<ConnectionRecord, StoreError> {
        let record = ConnectionRecord {
            id: ConnectionId::new(),
            company_id: company,
            platform_key: new.platform_key,
            integration_id: new.integration_id,
            source_id: new.source_id,
            source_type: new.source_type,
            platform_name: new.platform_name,
            status: ConnectionStatus::PendingAuth,
            created: Timestamp::now(),
            last_sync: None,
            errors: Vec::new(),
        };
        let mut tx = self.pool.begin().await?;
        // Inserting from the client's own company row is the scope check: another client's company id
        // inserts nothing.
        let inserted = sqlx::query(
            "INSERT INTO connections (id, client_id, company_id, platform_key, integration_id, source_id, \
             source_type, platform_name, status, created) \
             SELECT $1, c.client_id, c.id, $4, $5, $6, $7, $8, $9, $10 FROM companies c \
             WHERE c.id = $2 AND c.client_id = $3",
        )
        .bind(record.id.to_string())
        .bind(company.to_string())
        .bind(client.to_string())
        .bind(record.platform_key.clone())
        .bind(record.integration_id.clone())
        .bind(record.source_id.clone())
        .bind(record.source_type.as_str())
        .bind(record.platform_name.clone())
        .bind(record.status.as_str())
        .bind(record.created.to_storage())
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        insert_history(
            &mut tx,
            record.id,
            None,
            record.status,
            "Connection created",
            record.created,
        )
        .await?;
        let owner = company_in_tx(&mut tx, client, company).await?;
        self.emit(
            &mut tx,
            client,
            DomainEvent::Connection {
                kind: ConnectionEventKind::Created,
                company: &owner,
                connection: &record,
            },
        )
        .await?;
        self.commit(tx).await?;
        Ok(record)
    }

    pub async fn get_connection(
        &self,
        client: ClientId,
        company: CompanyId,
        connection: ConnectionId,
    ) -> Result<ConnectionRecord, StoreError> {
        if let Some(record) = self
            .cache
            .as_ref()
            .and_then(|cache| cache.connection(client, company, connection))
        {
            return Ok(record);
        }
        let generation = self.cache.as_ref().map(|cache| cache.generation());
        let row = sqlx::query(&format!(
            "SELECT {CONNECTION_COLUMNS} FROM connections x \
             WHERE x.id = $1 AND x.company_id = $2 AND x.client_id = $3"
        ))
        .bind(connection.to_string())
        .bind(company.to_string())
        .bind(client.to_string())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        let record = connection_from_row(&row)?;
        if let (Some(cache), Some(generation)) = (&self.cache, generation) {
            cache.remember_connection(generation, client, &record);
        }
        Ok(record)
    }

    pub async fn list_connections(
        &self,
        client: ClientId,
        company: CompanyId,
        page: PageRequest,
        listing: &ConnectionListing,
    ) -> Result<Page<ConnectionRecord>, StoreError> {
        if !self.company_exists(client, company).await? {
            return Err(StoreError::NotFound);
        }
        let mut conditions = String::new();
        let mut params = vec![
            SqlParam::Text(client.to_string()),
            SqlParam::Text(company.to_string()),
        ];
        if let Some(expr) = &listing.query {
            let fragment =
                compile_filter(expr, &CONNECTION_FIELDS, 3).map_err(StoreError::Query)?;
            conditions = format!(" AND {}", fragment.sql);
            params.extend(fragment.params);
        }
        let order = match &listing.order {
            Some(order) => order_with_tiebreak(order, &CONNECTION_FIELDS, "x.seq")?,
            None => "x.seq".to_owned(),
        };
        let scope =
            format!("FROM connections x WHERE x.client_id = $1 AND x.company_id = $2{conditions}");
        let count_sql = format!("SELECT COUNT(*) {scope}");
        let total: i64 = bind_params(sqlx::query(&count_sql), params.clone())
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        let sql = format!(
            "SELECT {CONNECTION_COLUMNS} {scope} ORDER BY {order} LIMIT {} OFFSET {}",
            page.page_size(),
            page.offset()
        );
        let rows = bind_params(sqlx::query(&sql), params)
            .fetch_all(&self.pool)
            .await?;
        Ok(Page {
            items: rows
                .iter()
                .map(connection_from_row)
                .collect::<Result<_, _>>()?,
            request: page,
            total: total.max(0) as u64,
        })
    }

    /// Deletes the connection and everything recorded about it.
    pub async fn delete_connection(
        &self,
        client: ClientId,
        company: CompanyId,
        connection: ConnectionId,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        // As it was, for the event that reports its deletion.
        let row = sqlx::query(&format!(
            "SELECT {CONNECTION_COLUMNS} FROM connections x \
             WHERE x.id = $1 AND x.company_id = $2 AND x.client_id = $3"
        ))
        .bind(connection.to_string())
        .bind(company.to_string())
        .bind(client.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let before = connection_from_row(&row)?;
        self.delete_records_in_batches(&mut tx, company, Some(connection))
            .await?;
        sqlx::query("DELETE FROM connections WHERE id = $1 AND company_id = $2 AND client_id = $3")
            .bind(connection.to_string())
            .bind(company.to_string())
            .bind(client.to_string())
            .execute(&mut *tx)
            .await?;
        let owner = company_in_tx(&mut tx, client, company).await?;
        self.emit(
            &mut tx,
            client,
            DomainEvent::Connection {
                kind: ConnectionEventKind::Deleted,
                company: &owner,
                connection: &before,
            },
        )
        .await?;
        self.commit(tx).await?;
        Ok(())
    }

    /// The one way a connection's status changes: the state machine decides, the store records the change and
    /// its reason in the history in the same transaction.
    pub async fn apply_connection_event(
        &self,
        client: ClientId,
        company: CompanyId,
        connection: ConnectionId,
        event: &ConnectionEvent,
    ) -> Result<ConnectionRecord, StoreError> {
        self.change_connection(client, company, connection, event, ChangeDetails::default())
            .await
    }

    /// [`Store::apply_connection_event`] with what travels with the change, written in the same transaction:
    /// the credentials a completed authorization obtained, and the platform's status for a recorded error.
    /// Credentials are deleted whenever the connection ends up in any status but `Linked`, and errors still
    /// active are marked resolved when it becomes `Linked`.
    pub async fn change_connection(
        &self,
        client: ClientId,
        company: CompanyId,
        connection: ConnectionId,
        event: &ConnectionEvent,
        details: ChangeDetails,
    ) -> Result<ConnectionRecord, StoreError> {
        for _ in 0..TRANSITION_ATTEMPTS {
            let current = self.get_connection(client, company, connection).await?;
            let change = transition(current.status, event)?;
            let now = Timestamp::now();
            let mut errors = current.errors.clone();
            if let ConnectionEvent::AuthorizationFailed { reason }
            | ConnectionEvent::AccessLost { reason } = event
            {
                errors.push(ConnectionErrorRecord {
                    status_code: details.status_code.clone(),
                    status_text: details.status_text.clone(),
                    error_message: Some(reason.clone()),
                    errored_on_utc: now.to_storage(),
                    status: Some("Active".to_owned()),
                    resolved_on_utc: None,
                });
            }
            let becomes_linked =
                change.to == ConnectionStatus::Linked && change.from != ConnectionStatus::Linked;
            if becomes_linked {
                for error in errors
                    .iter_mut()
                    .filter(|error| error.resolved_on_utc.is_none())
                {
                    error.status = Some("Resolved".to_owned());
                    error.resolved_on_utc = Some(now.to_storage());
                }
            }
            let errors_json = serde_json::to_string(&errors)
                .map_err(|error| StoreError::Corrupt(error.to_string()))?;
            let mut tx = self.pool.begin().await?;
            // Compare-and-set on the status we read: the first statement of the transaction is a write, so
            // SQLite takes its write lock up front and PostgreSQL row-locks the connection.
            let updated = sqlx::query(
                "UPDATE connections SET status = $1, errors = $2 \
                 WHERE id = $3 AND company_id = $4 AND client_id = $5 AND status = $6",
            )
            .bind(change.to.as_str())
            .bind(errors_json)
            .bind(connection.to_string())
            .bind(company.to_string())
            .bind(client.to_string())
            .bind(current.status.as_str())
            .execute(&mut *tx)
            .await;
            let updated = match updated {
                Ok(done) => done,
                Err(error) if StoreError::is_unique_violation(&error) => {
                    tx.rollback().await?;
                    let existing = self.linked_accounting_connection(client, company).await?;
                    return Err(match existing {
                        Some(existing) => StoreError::AccountingAlreadyLinked { existing },
                        // The other link was undone in between: let the caller try again.
                        None => StoreError::Contended,
                    });
                }
                Err(error) => return Err(error.into()),
            };
            if updated.rows_affected() == 0 {
                tx.rollback().await?;
                continue;
            }
            insert_history(
                &mut tx,
                connection,
                Some(change.from),
                change.to,
                &change.reason,
                now,
            )
            .await?;
            let kind = match (change.from, change.to) {
                (ConnectionStatus::PendingAuth, ConnectionStatus::Linked) => {
                    Some(ConnectionEventKind::Connected)
                }
                (_, ConnectionStatus::Linked) if becomes_linked => {
                    Some(ConnectionEventKind::Reconnected)
                }
                (
                    ConnectionStatus::Linked,
                    ConnectionStatus::Unlinked | ConnectionStatus::Deauthorized,
                ) => Some(ConnectionEventKind::Disconnected),
                _ if matches!(event, ConnectionEvent::AuthorizationFailed { .. }) => {
                    Some(ConnectionEventKind::Failed)
                }
                _ => None,
            };
            if let Some(kind) = kind {
                let owner = company_in_tx(&mut tx, client, company).await?;
                let changed = ConnectionRecord {
                    status: change.to,
                    errors: errors.clone(),
                    ..current.clone()
                };
                self.emit(
                    &mut tx,
                    client,
                    DomainEvent::Connection {
                        kind,
                        company: &owner,
                        connection: &changed,
                    },
                )
                .await?;
            }
            if kind == Some(ConnectionEventKind::Connected) {
                self.queue_first_link_pulls(
                    &mut tx,
                    client,
                    company,
                    connection,
                    &current.platform_key,
                )
                .await?;
            }
            if becomes_linked {
                if let Some(credentials) = &details.credentials {
                    crate::credentials::upsert_credentials(&mut tx, connection, credentials, now)
                        .await?;
                }
            } else if change.to != ConnectionStatus::Linked {
                sqlx::query("DELETE FROM connection_credentials WHERE connection_id = $1")
                    .bind(connection.to_string())
                    .execute(&mut *tx)
                    .await?;
            }
            self.commit(tx).await?;
            if kind == Some(ConnectionEventKind::Connected) {
                self.announce_work();
            }
            return Ok(ConnectionRecord {
                status: change.to,
                errors,
                ..current
            });
        }
        Err(StoreError::Contended)
    }

    /// The company's Linked accounting connection, if it has one.
    pub async fn linked_accounting_connection(
        &self,
        client: ClientId,
        company: CompanyId,
    ) -> Result<Option<ConnectionId>, StoreError> {
        let row = sqlx::query(
            "SELECT id FROM connections WHERE company_id = $1 AND client_id = $2 \
             AND source_type = 'Accounting' AND status = 'Linked'",
        )
        .bind(company.to_string())
        .bind(client.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| parsed(&row, "id")).transpose()
    }

    pub async fn connection_history(
        &self,
        client: ClientId,
        company: CompanyId,
        connection: ConnectionId,
        page: PageRequest,
    ) -> Result<Page<HistoryRecord>, StoreError> {
        // Resolving the connection first scopes the history to the client.
        self.get_connection(client, company, connection).await?;
        let total: i64 =
            sqlx::query("SELECT COUNT(*) FROM connection_history WHERE connection_id = $1")
                .bind(connection.to_string())
                .fetch_one(&self.pool)
                .await?
                .try_get(0)?;
        let rows = sqlx::query(&format!(
            "SELECT previous_status, status, reason, changed_at FROM connection_history \
             WHERE connection_id = $1 ORDER BY seq LIMIT {} OFFSET {}",
            page.page_size(),
            page.offset()
        ))
        .bind(connection.to_string())
        .fetch_all(&self.pool)
        .await?;
        let items = rows
            .iter()
            .map(|row| {
                let previous = optional_text(row, "previous_status")?
                    .map(|value| {
                        value.parse().map_err(|_| {
                            StoreError::Corrupt(format!("previous_status holds '{value}'"))
                        })
                    })
                    .transpose()?;
                Ok(HistoryRecord {
                    previous_status: previous,
                    status: parsed(row, "status")?,
                    reason: text(row, "reason")?,
                    changed_at: timestamp(row, "changed_at")?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Page {
            items,
            request: page,
            total: total.max(0) as u64,
        })
    }
}

async fn insert_history(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    connection: ConnectionId,
    previous: Option<ConnectionStatus>,
    status: ConnectionStatus,
    reason: &str,
    at: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO connection_history (connection_id, previous_status, status, reason, changed_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(connection.to_string())
    .bind(previous.map(|status| status.as_str().to_owned()))
    .bind(status.as_str())
    .bind(reason.to_owned())
    .bind(at.to_storage())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod history_tests {
    use super::*;
    use crate::test_support;

    /// History rows can be added, and go with their connection, but can never be rewritten.
    async fn history_is_append_only(store: Store) {
        let client = store.ensure_client("history").await.unwrap();
        let company = test_support::company(&store, client, "History").await;
        let connection =
            test_support::connection(&store, client, company.id, "bnks", SourceType::Banking).await;
        let rewrite = sqlx::query("UPDATE connection_history SET reason = 'rewritten'")
            .execute(&store.pool)
            .await;
        assert!(rewrite.is_err(), "history rows must not be updatable");
        let page = store
            .connection_history(client, company.id, connection.id, PageRequest::default())
            .await
            .unwrap();
        assert_eq!(page.items[0].reason, "Connection created");
        store
            .delete_connection(client, company.id, connection.id)
            .await
            .unwrap();
        let left: i64 = sqlx::query("SELECT COUNT(*) FROM connection_history")
            .fetch_one(&store.pool)
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
        assert_eq!(left, 0, "history goes with its connection");
    }

    #[tokio::test]
    async fn history_is_append_only_on_sqlite() {
        history_is_append_only(crate::test_support::sqlite().await).await;
    }

    #[tokio::test]
    async fn history_is_append_only_on_postgres() {
        crate::test_support::on_postgres("history", history_is_append_only).await;
    }
}
