//! Push operations: records written back to a platform. The operation row is its job, claimed by a worker
//! with a lease like a pull; finishing it and reporting `{dataType}.write.*` happen in one transaction.

use linkwell_domain::ids::{ClientId, CompanyId, ConnectionId};
use linkwell_domain::paging::{Page, PageRequest};
use linkwell_domain::query::{Expr, OrderBy};
use linkwell_domain::time::Timestamp;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::companies::bind_params;
use crate::database::{Backend, Store};
use crate::error::StoreError;
use crate::events::{company_in_tx, DomainEvent};
use crate::filter::{compile_filter, Field, FieldKind, FieldMap, FieldSource, SqlParam};
use crate::records::{optional_text, parsed, text, timestamp};

/// Codat's push operation statuses.
pub const PUSH_STATUSES: &[&str] = &["Pending", "Failed", "Success", "TimedOut"];

/// A push operation as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushRecord {
    pub id: String,
    pub company_id: CompanyId,
    pub connection_id: ConnectionId,
    pub data_type: String,
    /// `Create`, `Update` or `Delete`.
    pub kind: String,
    pub record_id: Option<String>,
    pub status: String,
    pub status_code: i64,
    pub error_message: Option<String>,
    /// Codat's `validation` object, as JSON text.
    pub validation: Option<String>,
    /// Codat's `changes` array, as JSON text.
    pub changes: Option<String>,
    pub requested: Timestamp,
    pub completed: Option<Timestamp>,
    pub timeout_minutes: Option<i64>,
}

/// A push to queue. With `validation` set the record was refused before reaching the platform: the operation
/// is written as `Failed` with status code 400 and reported at once.
#[derive(Debug, Clone)]
pub struct NewPush {
    pub connection: ConnectionId,
    pub data_type: String,
    pub kind: String,
    pub record_id: Option<String>,
    /// The record to send, as JSON text.
    pub body: Option<String>,
    pub timeout_minutes: Option<i64>,
    pub validation: Option<String>,
}

/// A push a worker holds the lease of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedPush {
    pub seq: i64,
    pub record: PushRecord,
    pub client_id: ClientId,
    pub body: Option<String>,
    pub attempts: i64,
    pub owner: String,
}

/// How a push ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushOutcome {
    /// `Success`, `Failed` or `TimedOut`.
    pub status: &'static str,
    pub status_code: i64,
    pub error_message: Option<String>,
    pub validation: Option<String>,
    pub changes: Option<String>,
    /// The id of the record the platform created (for creates).
    pub record_id: Option<String>,
}

pub static PUSH_FIELDS: FieldMap = FieldMap {
    resource: "push operations",
    fields: &[
        Field {
            path: "pushOperationKey",
            kind: FieldKind::Text,
            source: FieldSource::Column("o.id"),
        },
        Field {
            path: "dataConnectionKey",
            kind: FieldKind::Text,
            source: FieldSource::Column("o.connection_id"),
        },
        Field {
            path: "dataType",
            kind: FieldKind::Text,
            source: FieldSource::Column("o.data_type"),
        },
        Field {
            path: "status",
            kind: FieldKind::Enum(PUSH_STATUSES),
            source: FieldSource::Column("o.status"),
        },
        Field {
            path: "statusCode",
            kind: FieldKind::Integer,
            source: FieldSource::Column("o.status_code"),
        },
        Field {
            path: "requestedOnUtc",
            kind: FieldKind::Timestamp,
            source: FieldSource::Column("o.requested"),
        },
        Field {
            path: "completedOnUtc",
            kind: FieldKind::Timestamp,
            source: FieldSource::Column("o.completed"),
        },
    ],
};

const PUSH_COLUMNS: &str =
    "o.seq, o.id, o.client_id, o.company_id, o.connection_id, o.data_type, o.kind, \
     o.record_id, o.status, o.status_code, o.error_message, o.validation, o.changes, o.requested, \
     o.completed, o.timeout_minutes";

fn push_from_row(row: &AnyRow) -> Result<PushRecord, StoreError> {
    Ok(PushRecord {
        id: text(row, "id")?,
        company_id: parsed(row, "company_id")?,
        connection_id: parsed(row, "connection_id")?,
        data_type: text(row, "data_type")?,
        kind: text(row, "kind")?,
        record_id: optional_text(row, "record_id")?,
        status: text(row, "status")?,
        status_code: row.try_get("status_code")?,
        error_message: optional_text(row, "error_message")?,
        validation: optional_text(row, "validation")?,
        changes: optional_text(row, "changes")?,
        requested: timestamp(row, "requested")?,
        completed: crate::records::optional_timestamp(row, "completed")?,
        timeout_minutes: row.try_get("timeout_minutes")?,
    })
}

impl Store {
    /// Records a push: `Pending` for a worker to send, or `Failed` at once when it carries validation errors
    /// (reported as `{dataType}.write.unsuccessful` in the same transaction).
    pub async fn create_push(
        &self,
        client: ClientId,
        company: CompanyId,
        push: NewPush,
    ) -> Result<PushRecord, StoreError> {
        let now = Timestamp::now();
        let id = uuid::Uuid::new_v4().to_string();
        let refused = push.validation.is_some();
        let (status, status_code, completed, error_message) = if refused {
            (
                "Failed",
                400_i64,
                Some(now),
                Some("The record is not valid; see validation.errors".to_owned()),
            )
        } else {
            ("Pending", 202_i64, None, None)
        };
        let deadline = push
            .timeout_minutes
            .map(|minutes| now.plus_seconds(minutes.saturating_mul(60)).to_storage());
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO push_operations (id, client_id, company_id, connection_id, data_type, kind, record_id, \
             body, status, status_code, error_message, validation, requested, completed, timeout_minutes, \
             deadline, run_after) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $13)",
        )
        .bind(id.clone())
        .bind(client.to_string())
        .bind(company.to_string())
        .bind(push.connection.to_string())
        .bind(push.data_type.clone())
        .bind(push.kind.clone())
        .bind(push.record_id.clone())
        .bind(push.body.clone())
        .bind(status)
        .bind(status_code)
        .bind(error_message.clone())
        .bind(push.validation.clone())
        .bind(now.to_storage())
        .bind(completed.map(|at| at.to_storage()))
        .bind(push.timeout_minutes)
        .bind(deadline)
        .execute(&mut *tx)
        .await?;
        let record = PushRecord {
            id,
            company_id: company,
            connection_id: push.connection,
            data_type: push.data_type,
            kind: push.kind,
            record_id: push.record_id,
            status: status.to_owned(),
            status_code,
            error_message,
            validation: push.validation,
            changes: None,
            requested: now,
            completed,
            timeout_minutes: push.timeout_minutes,
        };
        if refused {
            let owner = company_in_tx(&mut tx, client, company).await?;
            self.emit(
                &mut tx,
                client,
                DomainEvent::Write {
                    company: &owner,
                    push: &record,
                },
            )
            .await?;
        }
        self.commit(tx).await?;
        if !refused {
            self.announce_work();
        }
        Ok(record)
    }

    pub async fn get_push(
        &self,
        client: ClientId,
        company: CompanyId,
        id: &str,
    ) -> Result<PushRecord, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {PUSH_COLUMNS} FROM push_operations o WHERE o.id = $1 AND o.company_id = $2 \
             AND o.client_id = $3"
        ))
        .bind(id.to_owned())
        .bind(company.to_string())
        .bind(client.to_string())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        push_from_row(&row)
    }

    /// A company's push operations, newest first unless `order` says otherwise.
    pub async fn list_pushes(
        &self,
        client: ClientId,
        company: CompanyId,
        page: PageRequest,
        query: Option<&Expr>,
        order: Option<&OrderBy>,
    ) -> Result<Page<PushRecord>, StoreError> {
        if !self.company_exists(client, company).await? {
            return Err(StoreError::NotFound);
        }
        let mut params = vec![
            SqlParam::Text(client.to_string()),
            SqlParam::Text(company.to_string()),
        ];
        let mut conditions = String::new();
        if let Some(expr) = query {
            let fragment = compile_filter(expr, &PUSH_FIELDS, 3).map_err(StoreError::Query)?;
            conditions = format!(" AND {}", fragment.sql);
            params.extend(fragment.params);
        }
        let order = match order {
            Some(order) => crate::companies::order_with_tiebreak(order, &PUSH_FIELDS, "o.seq")?,
            None => "o.seq DESC".to_owned(),
        };
        let scope = format!(
            "FROM push_operations o WHERE o.client_id = $1 AND o.company_id = $2{conditions}"
        );
        let total: i64 = bind_params(
            sqlx::query(&format!("SELECT COUNT(*) {scope}")),
            params.clone(),
        )
        .fetch_one(&self.pool)
        .await?
        .try_get(0)?;
        let sql = format!(
            "SELECT {PUSH_COLUMNS} {scope} ORDER BY {order} LIMIT {} OFFSET {}",
            page.page_size(),
            page.offset()
        );
        let rows = bind_params(sqlx::query(&sql), params)
            .fetch_all(&self.pool)
            .await?;
        Ok(Page {
            items: rows.iter().map(push_from_row).collect::<Result<_, _>>()?,
            request: page,
            total: total.max(0) as u64,
        })
    }

    /// Takes the oldest due push, with a lease until `lease_until`.
    pub async fn claim_push(
        &self,
        owner: &str,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Option<ClaimedPush>, StoreError> {
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let mut tx = self.begin_write().await?;
        let candidate = sqlx::query(&format!(
            "SELECT seq FROM push_operations WHERE status = 'Pending' AND run_after <= $1 \
             AND (lease_until IS NULL OR lease_until <= $1) ORDER BY seq LIMIT 1{lock}"
        ))
        .bind(now.to_storage())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(candidate) = candidate else {
            tx.rollback().await?;
            return Ok(None);
        };
        let seq: i64 = candidate.try_get("seq")?;
        sqlx::query(
            "UPDATE push_operations SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 \
             WHERE seq = $3",
        )
        .bind(owner.to_owned())
        .bind(lease_until.to_storage())
        .bind(seq)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(&format!(
            "SELECT {PUSH_COLUMNS}, o.body, o.attempts, o.deadline FROM push_operations o WHERE o.seq = $1"
        ))
        .bind(seq)
        .fetch_one(&mut *tx)
        .await?;
        let claimed = ClaimedPush {
            seq,
            record: push_from_row(&row)?,
            client_id: parsed(&row, "client_id")?,
            body: optional_text(&row, "body")?,
            attempts: row.try_get("attempts")?,
            owner: owner.to_owned(),
        };
        tx.commit().await?;
        Ok(Some(claimed))
    }

    /// When a claimed push must be finished by, if it has a timeout.
    pub async fn push_deadline(&self, push: &ClaimedPush) -> Result<Option<Timestamp>, StoreError> {
        let row = sqlx::query("SELECT deadline FROM push_operations WHERE seq = $1")
            .bind(push.seq)
            .fetch_one(&self.pool)
            .await?;
        Ok(optional_text(&row, "deadline")?
            .as_deref()
            .and_then(Timestamp::parse_storage))
    }

    /// Finishes a claimed push and reports it.
    pub async fn finish_push(
        &self,
        push: &ClaimedPush,
        outcome: PushOutcome,
    ) -> Result<Option<PushRecord>, StoreError> {
        let now = Timestamp::now();
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE push_operations SET status = $1, status_code = $2, error_message = $3, validation = $4, \
             changes = $5, record_id = COALESCE($6, record_id), completed = $7, lease_owner = NULL, \
             lease_until = NULL WHERE seq = $8 AND lease_owner = $9 AND status = 'Pending'",
        )
        .bind(outcome.status)
        .bind(outcome.status_code)
        .bind(outcome.error_message.clone())
        .bind(outcome.validation.clone())
        .bind(outcome.changes.clone())
        .bind(outcome.record_id.clone())
        .bind(now.to_storage())
        .bind(push.seq)
        .bind(push.owner.clone())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(None);
        }
        let record = PushRecord {
            status: outcome.status.to_owned(),
            status_code: outcome.status_code,
            error_message: outcome.error_message,
            validation: outcome.validation,
            changes: outcome.changes,
            record_id: outcome.record_id.or_else(|| push.record.record_id.clone()),
            completed: Some(now),
            ..push.record.clone()
        };
        let owner = company_in_tx(&mut tx, push.client_id, record.company_id).await?;
        self.emit(
            &mut tx,
            push.client_id,
            DomainEvent::Write {
                company: &owner,
                push: &record,
            },
        )
        .await?;
        self.commit(tx).await?;
        Ok(Some(record))
    }

    /// Puts a push back in the queue after a transient failure.
    pub async fn retry_push(
        &self,
        push: &ClaimedPush,
        run_after: Timestamp,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE push_operations SET run_after = $1, error_message = $2, lease_owner = NULL, \
             lease_until = NULL WHERE seq = $3 AND lease_owner = $4 AND status = 'Pending'",
        )
        .bind(run_after.to_storage())
        .bind(reason.to_owned())
        .bind(push.seq)
        .bind(push.owner.clone())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
