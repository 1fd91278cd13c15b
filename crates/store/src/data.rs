//! Pulled data and the pull operations that bring it in.
//!
//! A pull operation row is its own job: queued by a request, a link or the scheduler, claimed by a worker with
//! a lease that the worker renews, and written page by page. Each page is one transaction that upserts the
//! page's records and moves the operation's cursor together, so a worker that dies mid-pull leaves a
//! consistent state that the next worker resumes from once the lease runs out: no record is duplicated (a
//! record is keyed by connection, data type and the platform's id) or half-written.
//!
//! Records are numbered per connection and data type in the order they were first seen (`ordinal`, dense from
//! 1), so the default listing finds any page by range. Their JSON body is stored as the connector mapped it;
//! `modifiedDate`, `sourceModifiedDate` and `metadata.isDeleted` are kept in columns and spliced in on read.

use std::collections::{HashMap, HashSet};

use linkwell_domain::ids::{ClientId, CompanyId, ConnectionId};
use linkwell_domain::paging::{Page, PageRequest};
use linkwell_domain::query::{Expr, OrderBy};
use linkwell_domain::time::Timestamp;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::companies::bind_params;
use crate::data_filter::{compile_record_filter, compile_record_order};
use crate::database::{Backend, Store};
use crate::error::StoreError;
use crate::events::{company_in_tx, DomainEvent, ReadSummary};
use crate::filter::{compile_filter, Field, FieldKind, FieldMap, FieldSource, SqlParam};
use crate::records::{optional_text, text, timestamp};

/// Pull operation statuses this store writes (Codat's `PullOperation.status`).
pub mod pull_status {
    pub const QUEUED: &str = "Queued";
    pub const FETCHING: &str = "Fetching";
    pub const COMPLETE: &str = "Complete";
    pub const FETCH_ERROR: &str = "FetchError";
    pub const AUTH_ERROR: &str = "AuthError";
    pub const RATE_LIMIT_ERROR: &str = "RateLimitError";
    pub const NOT_SUPPORTED: &str = "NotSupported";
    pub const CANCELLED: &str = "Cancelled";
    pub const INTERNAL_ERROR: &str = "InternalError";

    /// Every status Codat defines, for queries on `status`.
    pub const ALL: &[&str] = &[
        "Initial",
        "Queued",
        "Fetching",
        "MapQueued",
        "Mapping",
        "Complete",
        "FetchError",
        "MapError",
        "InternalError",
        "ProcessingQueued",
        "Processing",
        "ProcessingError",
        "ValidationQueued",
        "Validating",
        "ValidationError",
        "AuthError",
        "Cancelled",
        "NotSupported",
        "RateLimitError",
        "PermissionsError",
        "PrerequisiteNotMet",
    ];

    pub fn is_errored(status: &str) -> bool {
        status.ends_with("Error")
    }

    pub fn is_finished(status: &str) -> bool {
        !matches!(status, QUEUED | FETCHING)
    }
}

/// A pull operation as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRecord {
    pub id: String,
    pub company_id: CompanyId,
    pub connection_id: ConnectionId,
    pub data_type: String,
    pub status: String,
    pub status_description: Option<String>,
    pub error_message: Option<String>,
    pub requested: Timestamp,
    pub completed: Option<Timestamp>,
    pub progress: i64,
}

/// A pull a worker holds the lease of, with what it needs to go on where the last worker stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedPull {
    pub seq: i64,
    pub id: String,
    pub client_id: ClientId,
    pub company_id: CompanyId,
    pub connection_id: ConnectionId,
    pub data_type: String,
    pub modified_since: Option<String>,
    pub cursor: Option<String>,
    pub high_water: Option<String>,
    pub pages: i64,
    /// How many times the operation has been claimed, this claim included.
    pub attempts: i64,
    pub owner: String,
    /// A full pull of a data set that holds no records of any earlier pull: it has nothing to sweep when it
    /// completes, and its pages are inserted as new records without first looking up what is stored.
    pub fresh: bool,
    /// Pages are inserted without a look-up first. Starts as `fresh`; a page that finds one of its records
    /// stored after all (a platform that lists a record on two pages) is written with the look-up, and so is
    /// every later page of the operation.
    pub insert_only: bool,
}

/// One record of a fetched page, in the standard model (`body` is its JSON text; `None` for a deletion).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PulledRecord {
    pub id: String,
    pub source_modified: Option<String>,
    pub deleted: bool,
    pub body: Option<String>,
}

/// What asking for a pull did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueOutcome {
    Queued(PullRecord),
    /// A pull of that data type for that connection is already queued or running: this one.
    AlreadyRunning(String),
}

/// A page write found the operation no longer in this worker's hands (its lease ran out and another worker
/// took it over, or it was finished elsewhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseLost;

/// Where one data type of a company stands (Codat's `DataStatus`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataStatusRecord {
    pub data_type: String,
    pub current_status: String,
    pub latest_sync_id: Option<String>,
    pub last_successful_sync: Option<String>,
    pub latest_successful_sync_id: Option<String>,
}

/// A listing of records: the JSON text of each, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordListing {
    pub query: Option<Expr>,
    pub order: Option<OrderBy>,
}

/// A data type can be read once a pull of it has been asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordsError {
    NotRequested,
    Store(String),
}

pub static PULL_FIELDS: FieldMap = FieldMap {
    resource: "pull operations",
    fields: &[
        Field {
            path: "id",
            kind: FieldKind::Text,
            source: FieldSource::Column("p.id"),
        },
        Field {
            path: "connectionId",
            kind: FieldKind::Text,
            source: FieldSource::Column("p.connection_id"),
        },
        Field {
            path: "dataType",
            kind: FieldKind::Text,
            source: FieldSource::Column("p.data_type"),
        },
        Field {
            path: "status",
            kind: FieldKind::Enum(pull_status::ALL),
            source: FieldSource::Column("p.status"),
        },
        Field {
            path: "requested",
            kind: FieldKind::Timestamp,
            source: FieldSource::Column("p.requested"),
        },
        Field {
            path: "completed",
            kind: FieldKind::Timestamp,
            source: FieldSource::Column("p.completed"),
        },
        Field {
            path: "progress",
            kind: FieldKind::Integer,
            source: FieldSource::Column("p.progress"),
        },
    ],
};

const PULL_COLUMNS: &str = "p.id, p.company_id, p.connection_id, p.data_type, p.status, \
     p.status_description, p.error_message, p.requested, p.completed, p.progress";

fn pull_from_row(row: &AnyRow) -> Result<PullRecord, StoreError> {
    Ok(PullRecord {
        id: text(row, "id")?,
        company_id: crate::records::parsed(row, "company_id")?,
        connection_id: crate::records::parsed(row, "connection_id")?,
        data_type: text(row, "data_type")?,
        status: text(row, "status")?,
        status_description: optional_text(row, "status_description")?,
        error_message: optional_text(row, "error_message")?,
        requested: timestamp(row, "requested")?,
        completed: crate::records::optional_timestamp(row, "completed")?,
        progress: row.try_get("progress")?,
    })
}

/// Changes stamped at the same instant as the newest one already pulled (or a little before it, by a
/// platform clock that is not strictly monotonic across its servers) would be missed by a strict "after":
/// incremental pulls reach this far back, and records that did not change are recognised and left alone.
const INCREMENTAL_OVERLAP_SECONDS: i64 = 300;

fn overlap(high_water: &str) -> String {
    crate::filter::normalize_timestamp(high_water)
        .and_then(|storage| Timestamp::parse_storage(&storage))
        .map(|at| at.plus_seconds(-INCREMENTAL_OVERLAP_SECONDS).to_storage())
        .unwrap_or_else(|| high_water.to_owned())
}

/// Progress of a fetch whose size is unknown: rises with each page and never reaches 100 before the end.
fn fetch_progress(pages: i64) -> i64 {
    10 + (80 * pages) / (pages + 10)
}

impl Store {
    /// Queues pulls of `data_types` on `connections` of a company, as one batch that reports read.completed
    /// (and read.completed.initial when `initial`) when its last operation finishes. A type already queued or
    /// running on a connection is not queued again. `modified_since` of each new operation is where the last
    /// successful pull of that connection and type got to; for the first, where the company's sync settings
    /// start (`None`: fetch everything).
    pub async fn queue_pulls(
        &self,
        client: ClientId,
        company: CompanyId,
        requests: &[(ConnectionId, String)],
        initial: bool,
    ) -> Result<Vec<QueueOutcome>, StoreError> {
        let mut tx = self.begin_write().await?;
        let outcomes = self
            .queue_pulls_in_tx(&mut tx, client, company, requests, initial)
            .await?;
        self.commit(tx).await?;
        self.announce_work();
        Ok(outcomes)
    }

    pub(crate) async fn queue_pulls_in_tx(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        client: ClientId,
        company: CompanyId,
        requests: &[(ConnectionId, String)],
        initial: bool,
    ) -> Result<Vec<QueueOutcome>, StoreError> {
        let now = Timestamp::now();
        let batch = uuid::Uuid::new_v4().to_string();
        sqlx::query(
            "INSERT INTO pull_batches (id, client_id, company_id, initial, remaining, created) \
             VALUES ($1, $2, $3, $4, 0, $5)",
        )
        .bind(batch.clone())
        .bind(client.to_string())
        .bind(company.to_string())
        .bind(i64::from(initial))
        .bind(now.to_storage())
        .execute(&mut **tx)
        .await?;
        // A data set's first pull starts where the company's settings say (syncFromUtc, syncFromWindow).
        // Read once, when the batch holds a data set's first pull.
        let mut settings: Option<Vec<linkwell_domain::sync::SyncSetting>> = None;
        let mut outcomes = Vec::with_capacity(requests.len());
        let mut queued = 0_i64;
        for (connection, data_type) in requests {
            let active = sqlx::query(
                "SELECT id FROM pull_operations WHERE connection_id = $1 AND data_type = $2 \
                 AND status IN ('Queued', 'Fetching')",
            )
            .bind(connection.to_string())
            .bind(data_type.clone())
            .fetch_optional(&mut **tx)
            .await?;
            if let Some(active) = active {
                outcomes.push(QueueOutcome::AlreadyRunning(text(&active, "id")?));
                continue;
            }
            sqlx::query(
                "INSERT INTO data_sets (connection_id, company_id, data_type) VALUES ($1, $2, $3) \
                 ON CONFLICT (connection_id, data_type) DO NOTHING",
            )
            .bind(connection.to_string())
            .bind(company.to_string())
            .bind(data_type.clone())
            .execute(&mut **tx)
            .await?;
            let set = sqlx::query(
                "SELECT high_water, last_success FROM data_sets WHERE connection_id = $1 AND data_type = $2",
            )
            .bind(connection.to_string())
            .bind(data_type.clone())
            .fetch_one(&mut **tx)
            .await?;
            let modified_since = match optional_text(&set, "last_success")? {
                Some(_) => {
                    optional_text(&set, "high_water")?.map(|high_water| overlap(&high_water))
                }
                None => {
                    if settings.is_none() {
                        settings =
                            Some(crate::sync_settings::effective_in_tx(tx, client, company).await?);
                    }
                    settings
                        .iter()
                        .flatten()
                        .find(|setting| setting.data_type == *data_type)
                        .and_then(|setting| setting.sync_from(now))
                        // Platforms answer what changed after the time given; a record changed at the very
                        // time the settings name belongs in too.
                        .map(|from| from.plus_millis(-1).to_storage())
                }
            };
            let id = uuid::Uuid::new_v4().to_string();
            sqlx::query(
                "INSERT INTO pull_operations (id, client_id, company_id, connection_id, batch_id, data_type, \
                 status, requested, progress, modified_since, run_after) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'Queued', $7, 0, $8, $7)",
            )
            .bind(id.clone())
            .bind(client.to_string())
            .bind(company.to_string())
            .bind(connection.to_string())
            .bind(batch.clone())
            .bind(data_type.clone())
            .bind(now.to_storage())
            .bind(modified_since)
            .execute(&mut **tx)
            .await?;
            sqlx::query(
                "UPDATE data_sets SET latest_pull = $1, latest_status = 'Queued', latest_requested = $2 \
                 WHERE connection_id = $3 AND data_type = $4",
            )
            .bind(id.clone())
            .bind(now.to_storage())
            .bind(connection.to_string())
            .bind(data_type.clone())
            .execute(&mut **tx)
            .await?;
            queued += 1;
            outcomes.push(QueueOutcome::Queued(PullRecord {
                id,
                company_id: company,
                connection_id: *connection,
                data_type: data_type.clone(),
                status: pull_status::QUEUED.to_owned(),
                status_description: None,
                error_message: None,
                requested: now,
                completed: None,
                progress: 0,
            }));
        }
        if queued == 0 {
            sqlx::query("DELETE FROM pull_batches WHERE id = $1")
                .bind(batch)
                .execute(&mut **tx)
                .await?;
        } else {
            sqlx::query("UPDATE pull_batches SET remaining = $1 WHERE id = $2")
                .bind(queued)
                .bind(batch)
                .execute(&mut **tx)
                .await?;
        }
        Ok(outcomes)
    }

    pub async fn get_pull(
        &self,
        client: ClientId,
        company: CompanyId,
        id: &str,
    ) -> Result<PullRecord, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {PULL_COLUMNS} FROM pull_operations p \
             WHERE p.id = $1 AND p.company_id = $2 AND p.client_id = $3"
        ))
        .bind(id.to_owned())
        .bind(company.to_string())
        .bind(client.to_string())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        pull_from_row(&row)
    }

    /// A company's pull operations, newest first unless `order` says otherwise.
    pub async fn list_pulls(
        &self,
        client: ClientId,
        company: CompanyId,
        page: PageRequest,
        query: Option<&Expr>,
        order: Option<&OrderBy>,
    ) -> Result<Page<PullRecord>, StoreError> {
        if !self.company_exists(client, company).await? {
            return Err(StoreError::NotFound);
        }
        let mut params = vec![
            SqlParam::Text(client.to_string()),
            SqlParam::Text(company.to_string()),
        ];
        let mut conditions = String::new();
        if let Some(expr) = query {
            let fragment = compile_filter(expr, &PULL_FIELDS, 3).map_err(StoreError::Query)?;
            conditions = format!(" AND {}", fragment.sql);
            params.extend(fragment.params);
        }
        let order = match order {
            Some(order) => crate::companies::order_with_tiebreak(order, &PULL_FIELDS, "p.seq")?,
            None => "p.seq DESC".to_owned(),
        };
        let scope = format!(
            "FROM pull_operations p WHERE p.client_id = $1 AND p.company_id = $2{conditions}"
        );
        let total: i64 = bind_params(
            sqlx::query(&format!("SELECT COUNT(*) {scope}")),
            params.clone(),
        )
        .fetch_one(&self.pool)
        .await?
        .try_get(0)?;
        let sql = format!(
            "SELECT {PULL_COLUMNS} {scope} ORDER BY {order} LIMIT {} OFFSET {}",
            page.page_size(),
            page.offset()
        );
        let rows = bind_params(sqlx::query(&sql), params)
            .fetch_all(&self.pool)
            .await?;
        Ok(Page {
            items: rows.iter().map(pull_from_row).collect::<Result<_, _>>()?,
            request: page,
            total: total.max(0) as u64,
        })
    }

    /// The state of each data type ever requested for the company: for a type pulled from several
    /// connections, the most recent request speaks for it.
    pub async fn data_statuses(
        &self,
        client: ClientId,
        company: CompanyId,
    ) -> Result<Vec<DataStatusRecord>, StoreError> {
        if !self.company_exists(client, company).await? {
            return Err(StoreError::NotFound);
        }
        let rows = sqlx::query(
            "SELECT data_type, latest_pull, latest_status, latest_requested, last_success_pull, last_success \
             FROM data_sets WHERE company_id = $1 AND latest_pull IS NOT NULL \
             ORDER BY data_type, latest_requested",
        )
        .bind(company.to_string())
        .fetch_all(&self.pool)
        .await?;
        let mut by_type: Vec<DataStatusRecord> = Vec::new();
        for row in &rows {
            let record = DataStatusRecord {
                data_type: text(row, "data_type")?,
                current_status: optional_text(row, "latest_status")?
                    .unwrap_or_else(|| pull_status::QUEUED.to_owned()),
                latest_sync_id: optional_text(row, "latest_pull")?,
                last_successful_sync: optional_text(row, "last_success")?,
                latest_successful_sync_id: optional_text(row, "last_success_pull")?,
            };
            match by_type.last_mut() {
                Some(last) if last.data_type == record.data_type => {
                    let success = record
                        .last_successful_sync
                        .clone()
                        .or(last.last_successful_sync.take());
                    let success_id = if record.last_successful_sync.is_some() {
                        record.latest_successful_sync_id.clone()
                    } else {
                        last.latest_successful_sync_id.take()
                    };
                    *last = DataStatusRecord {
                        last_successful_sync: success,
                        latest_successful_sync_id: success_id,
                        ..record
                    };
                }
                _ => by_type.push(record),
            }
        }
        Ok(by_type)
    }

    /// Takes the oldest due pull, with a lease until `lease_until`.
    pub async fn claim_pull(
        &self,
        owner: &str,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Option<ClaimedPull>, StoreError> {
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let mut tx = self.begin_write().await?;
        let candidate = sqlx::query(&format!(
            "SELECT seq FROM pull_operations WHERE status IN ('Queued', 'Fetching') AND run_after <= $1 \
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
        let row = sqlx::query(
            "UPDATE pull_operations SET status = 'Fetching', lease_owner = $1, lease_until = $2, \
             attempts = attempts + 1, status_description = NULL, \
             progress = CASE WHEN progress < 10 THEN 10 ELSE progress END \
             WHERE seq = $3 RETURNING seq, id, client_id, company_id, connection_id, data_type, \
             modified_since, cursor, high_water, pages, attempts",
        )
        .bind(owner.to_owned())
        .bind(lease_until.to_storage())
        .bind(seq)
        .fetch_one(&mut *tx)
        .await?;
        let claimed = ClaimedPull {
            seq: row.try_get("seq")?,
            id: text(&row, "id")?,
            client_id: crate::records::parsed(&row, "client_id")?,
            company_id: crate::records::parsed(&row, "company_id")?,
            connection_id: crate::records::parsed(&row, "connection_id")?,
            data_type: text(&row, "data_type")?,
            modified_since: optional_text(&row, "modified_since")?,
            cursor: optional_text(&row, "cursor")?,
            high_water: optional_text(&row, "high_water")?,
            pages: row.try_get("pages")?,
            attempts: row.try_get("attempts")?,
            owner: owner.to_owned(),
            fresh: false,
            insert_only: false,
        };
        let mut claimed = claimed;
        if claimed.modified_since.is_none() {
            // Only this operation's own earlier pages (before a worker stopped) may be stored.
            let older = sqlx::query(
                "SELECT 1 FROM data_records WHERE connection_id = $1 AND data_type = $2 AND pull_seq <> $3 \
                 LIMIT 1",
            )
            .bind(claimed.connection_id.to_string())
            .bind(claimed.data_type.clone())
            .bind(claimed.seq)
            .fetch_optional(&mut *tx)
            .await?;
            claimed.fresh = older.is_none();
            claimed.insert_only = claimed.fresh;
        }
        sqlx::query(
            "UPDATE data_sets SET latest_status = 'Fetching' WHERE connection_id = $1 AND data_type = $2 \
             AND latest_pull = $3",
        )
        .bind(claimed.connection_id.to_string())
        .bind(claimed.data_type.clone())
        .bind(claimed.id.clone())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(claimed))
    }

    /// Makes every claimed pull and push due again at once: for a process that knows no other process can
    /// be working (it holds the SQLite database's lock), so leases left by a stopped process are void.
    pub async fn release_job_leases(&self) -> Result<u64, StoreError> {
        let pulls = sqlx::query(
            "UPDATE pull_operations SET lease_owner = NULL, lease_until = NULL              WHERE status IN ('Queued', 'Fetching') AND lease_owner IS NOT NULL",
        )
        .execute(&self.pool)
        .await?;
        let pushes = sqlx::query(
            "UPDATE push_operations SET lease_owner = NULL, lease_until = NULL              WHERE status = 'Pending' AND lease_owner IS NOT NULL",
        )
        .execute(&self.pool)
        .await?;
        Ok(pulls.rows_affected() + pushes.rows_affected())
    }

    /// Extends a held lease. `false`: the lease is no longer this worker's.
    pub async fn renew_pull_lease(
        &self,
        pull: &ClaimedPull,
        lease_until: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE pull_operations SET lease_until = $1 WHERE seq = $2 AND lease_owner = $3 \
             AND status = 'Fetching'",
        )
        .bind(lease_until.to_storage())
        .bind(pull.seq)
        .bind(pull.owner.clone())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Writes one fetched page and moves the operation past it, in one transaction. `next_cursor` is where
    /// the next page starts (`None` after the last page).
    pub async fn write_pull_page(
        &self,
        pull: &mut ClaimedPull,
        records: &[PulledRecord],
        next_cursor: Option<&str>,
        lease_until: Timestamp,
    ) -> Result<Result<(), LeaseLost>, StoreError> {
        let now = Timestamp::now();
        let mut high_water = pull.high_water.clone();
        for record in records {
            if let Some(modified) = &record.source_modified {
                if high_water.as_ref().is_none_or(|seen| modified > seen) {
                    high_water = Some(modified.clone());
                }
            }
        }
        let pages = pull.pages + 1;
        let mut insert_only = pull.insert_only && records.iter().all(|record| !record.deleted);
        loop {
            let mut tx = self.begin_write().await?;
            let moved = self
                .move_pull_past_page(
                    &mut tx,
                    pull,
                    records.len(),
                    pages,
                    &high_water,
                    next_cursor,
                    lease_until,
                )
                .await?;
            if !moved {
                tx.rollback().await?;
                return Ok(Err(LeaseLost));
            }
            let modified = if insert_only {
                match self.insert_records(&mut tx, pull, records, now).await? {
                    Some(inserted) => inserted,
                    None => {
                        // A record of this page is stored already: again, looking up what is stored.
                        tx.rollback().await?;
                        pull.insert_only = false;
                        insert_only = false;
                        continue;
                    }
                }
            } else {
                self.upsert_records(&mut tx, pull, records, now).await?
            };
            if modified > 0 {
                sqlx::query(
                    "UPDATE pull_operations SET records_modified = records_modified + $1 WHERE seq = $2",
                )
                .bind(modified)
                .bind(pull.seq)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            break;
        }
        pull.pages = pages;
        pull.cursor = next_cursor.map(str::to_owned);
        pull.high_water = high_water;
        Ok(Ok(()))
    }

    /// Moves the operation past a page: its cursor, high-water mark, counters and lease. `false`: the lease is
    /// no longer this worker's.
    #[allow(clippy::too_many_arguments)]
    async fn move_pull_past_page(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        pull: &ClaimedPull,
        records: usize,
        pages: i64,
        high_water: &Option<String>,
        next_cursor: Option<&str>,
        lease_until: Timestamp,
    ) -> Result<bool, StoreError> {
        let moved = sqlx::query(
            "UPDATE pull_operations SET cursor = $1, high_water = $2, pages = $3, \
             records = records + $4, progress = $5, lease_until = $6 \
             WHERE seq = $7 AND lease_owner = $8 AND status = 'Fetching'",
        )
        .bind(next_cursor.map(str::to_owned))
        .bind(high_water.clone())
        .bind(pages)
        .bind(records as i64)
        .bind(fetch_progress(pages))
        .bind(lease_until.to_storage())
        .bind(pull.seq)
        .bind(pull.owner.clone())
        .execute(&mut **tx)
        .await?;
        Ok(moved.rows_affected() == 1)
    }

    /// Inserts a page of records as new ones, numbered after the data set's last. `None`: one of them is
    /// stored already (nothing is to be kept of this attempt: the caller rolls the transaction back).
    async fn insert_records(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        pull: &ClaimedPull,
        records: &[PulledRecord],
        now: Timestamp,
    ) -> Result<Option<i64>, StoreError> {
        let connection = pull.connection_id.to_string();
        let mut seen: HashSet<&str> = HashSet::with_capacity(records.len());
        let mut rows: Vec<&PulledRecord> = Vec::with_capacity(records.len());
        for record in records {
            if !seen.insert(record.id.as_str()) {
                // Listed twice on one page: the look-up path keeps the last version.
                return Ok(None);
            }
            if record.body.is_some() {
                rows.push(record);
            }
        }
        if rows.is_empty() {
            return Ok(Some(0));
        }
        let next_ordinal = self.next_ordinal(tx, &connection, &pull.data_type).await?;
        let stamp = now.to_storage();
        let mut ordinal = next_ordinal;
        for chunk in rows.chunks(self.record_rows_per_statement()) {
            let sql = format!(
                "INSERT INTO data_records (connection_id, data_type, record_id, ordinal, company_id, modified, \
                 source_modified, is_deleted, pull_seq, body) VALUES {} \
                 ON CONFLICT (connection_id, data_type, record_id) DO NOTHING",
                values_with_constants(chunk.len())
            );
            let mut query = sqlx::query(&sql)
                .bind(connection.clone())
                .bind(pull.data_type.clone())
                .bind(pull.company_id.to_string())
                .bind(pull.seq);
            for record in chunk {
                query = query
                    .bind(record.id.clone())
                    .bind(ordinal)
                    .bind(stamp.clone())
                    .bind(record.source_modified.clone())
                    .bind(record.body.clone());
                ordinal += 1;
            }
            let inserted = query.execute(&mut **tx).await?;
            if inserted.rows_affected() != chunk.len() as u64 {
                return Ok(None);
            }
        }
        self.set_next_ordinal(tx, &connection, &pull.data_type, ordinal)
            .await?;
        Ok(Some(rows.len() as i64))
    }

    /// The data set's next ordinal, with its row locked for the rest of the transaction.
    async fn next_ordinal(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        connection: &str,
        data_type: &str,
    ) -> Result<i64, StoreError> {
        let next = sqlx::query(
            "UPDATE data_sets SET next_ordinal = next_ordinal WHERE connection_id = $1 AND data_type = $2 \
             RETURNING next_ordinal",
        )
        .bind(connection.to_owned())
        .bind(data_type.to_owned())
        .fetch_one(&mut **tx)
        .await?;
        Ok(next.try_get(0)?)
    }

    async fn set_next_ordinal(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        connection: &str,
        data_type: &str,
        next_ordinal: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE data_sets SET next_ordinal = $1 WHERE connection_id = $2 AND data_type = $3",
        )
        .bind(next_ordinal)
        .bind(connection.to_owned())
        .bind(data_type.to_owned())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// On SQLite, deletes the stored records of the company's connections (or of one of them) a bounded
    /// batch at a time, inside the caller's transaction, before the cascade from the connection would: one
    /// cascading statement first lists every row it deletes, which for a connection with a million records
    /// takes tens of megabytes at once. PostgreSQL's cascade needs no help.
    pub(crate) async fn delete_records_in_batches(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        company: CompanyId,
        connection: Option<ConnectionId>,
    ) -> Result<(), StoreError> {
        const BATCH: u64 = 10_000;
        if self.backend() != Backend::Sqlite {
            return Ok(());
        }
        let connections: Vec<String> = match connection {
            Some(connection) => vec![connection.to_string()],
            None => sqlx::query("SELECT id FROM connections WHERE company_id = $1")
                .bind(company.to_string())
                .fetch_all(&mut **tx)
                .await?
                .iter()
                .map(|row| row.try_get::<String, _>(0))
                .collect::<Result<_, _>>()?,
        };
        for connection in connections {
            loop {
                let deleted = sqlx::query(&format!(
                    "DELETE FROM data_records WHERE rowid IN \
                     (SELECT rowid FROM data_records WHERE connection_id = $1 LIMIT {BATCH})"
                ))
                .bind(connection.clone())
                .execute(&mut **tx)
                .await?
                .rows_affected();
                if deleted < BATCH {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Records per multi-row statement. SQLite looks a numbered parameter up by a walk over all of the
    /// statement's parameters, so its statements stay short; PostgreSQL takes long ones at no such cost.
    fn record_rows_per_statement(&self) -> usize {
        match self.backend() {
            Backend::Sqlite => 100,
            Backend::Postgres => 1000,
        }
    }

    /// Upserts a page of records; answers how many were new, changed or deleted.
    async fn upsert_records(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        pull: &ClaimedPull,
        records: &[PulledRecord],
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        if records.is_empty() {
            return Ok(0);
        }
        let connection = pull.connection_id.to_string();
        // A record appears once per page; should a platform repeat one, its last version stands.
        let mut latest: HashMap<&str, &PulledRecord> = HashMap::with_capacity(records.len());
        let mut order: Vec<&str> = Vec::with_capacity(records.len());
        for record in records {
            if latest.insert(record.id.as_str(), record).is_none() {
                order.push(record.id.as_str());
            }
        }
        // What is stored already: (source_modified, is_deleted, modified, ordinal). The ids go in as one JSON
        // array, in a shape that each database answers with one primary-key probe per id whatever its
        // statistics say (a plain join lets either walk the whole data set when they are stale).
        let mut existing: HashMap<String, (Option<String>, bool, String, i64)> = HashMap::new();
        let sql = match self.backend() {
            Backend::Postgres => {
                "SELECT r.record_id, r.source_modified, r.is_deleted, r.modified, r.ordinal \
                 FROM data_records r WHERE r.connection_id = $1 AND r.data_type = $2 \
                 AND r.record_id = ANY(ARRAY(SELECT json_array_elements_text($3::json)))"
            }
            Backend::Sqlite => {
                "SELECT r.record_id, r.source_modified, r.is_deleted, r.modified, r.ordinal \
                 FROM json_each($3) AS k CROSS JOIN data_records r \
                 ON r.connection_id = $1 AND r.data_type = $2 AND r.record_id = k.value"
            }
        };
        let rows = sqlx::query(sql)
            .bind(connection.clone())
            .bind(pull.data_type.clone())
            .bind(
                serde_json::to_string(&order)
                    .map_err(|error| StoreError::Corrupt(error.to_string()))?,
            )
            .fetch_all(&mut **tx)
            .await?;
        for row in rows {
            let deleted: i64 = row.try_get("is_deleted")?;
            existing.insert(
                text(&row, "record_id")?,
                (
                    optional_text(&row, "source_modified")?,
                    deleted != 0,
                    text(&row, "modified")?,
                    row.try_get("ordinal")?,
                ),
            );
        }
        let mut next_ordinal = self.next_ordinal(tx, &connection, &pull.data_type).await?;
        let first_ordinal = next_ordinal;
        let stamp = now.to_storage();
        let mut modified_count = 0_i64;
        // Rows to upsert: (id, ordinal, modified, source_modified, body).
        let mut upserts: Vec<(&str, i64, String, Option<String>, &str)> = Vec::new();
        let mut deletions: Vec<(&str, Option<String>)> = Vec::new();
        for id in &order {
            let record = latest[id];
            let known = existing.get(*id);
            if record.deleted {
                if let Some((_, false, _, _)) = known {
                    deletions.push((id, record.source_modified.clone()));
                    modified_count += 1;
                }
                continue;
            }
            let Some(body) = record.body.as_deref() else {
                continue;
            };
            let (ordinal, modified) = match known {
                None => {
                    next_ordinal += 1;
                    modified_count += 1;
                    (next_ordinal - 1, stamp.clone())
                }
                Some((source_modified, deleted, modified, ordinal)) => {
                    if *deleted || *source_modified != record.source_modified {
                        modified_count += 1;
                        (*ordinal, stamp.clone())
                    } else {
                        (*ordinal, modified.clone())
                    }
                }
            };
            upserts.push((id, ordinal, modified, record.source_modified.clone(), body));
        }
        for chunk in upserts.chunks(self.record_rows_per_statement()) {
            let sql = format!(
                "INSERT INTO data_records (connection_id, data_type, record_id, ordinal, company_id, modified, \
                 source_modified, is_deleted, pull_seq, body) VALUES {} \
                 ON CONFLICT (connection_id, data_type, record_id) DO UPDATE SET \
                 modified = excluded.modified, source_modified = excluded.source_modified, is_deleted = 0, \
                 pull_seq = excluded.pull_seq, body = excluded.body",
                values_with_constants(chunk.len())
            );
            let mut query = sqlx::query(&sql)
                .bind(connection.clone())
                .bind(pull.data_type.clone())
                .bind(pull.company_id.to_string())
                .bind(pull.seq);
            for (id, ordinal, modified, source_modified, body) in chunk {
                query = query
                    .bind((*id).to_owned())
                    .bind(*ordinal)
                    .bind(modified.clone())
                    .bind(source_modified.clone())
                    .bind((*body).to_owned());
            }
            query.execute(&mut **tx).await?;
        }
        for (id, source_modified) in deletions {
            sqlx::query(
                "UPDATE data_records SET is_deleted = 1, modified = $1, \
                 source_modified = COALESCE($2, source_modified), pull_seq = $3 \
                 WHERE connection_id = $4 AND data_type = $5 AND record_id = $6",
            )
            .bind(stamp.clone())
            .bind(source_modified)
            .bind(pull.seq)
            .bind(connection.clone())
            .bind(pull.data_type.clone())
            .bind(id.to_owned())
            .execute(&mut **tx)
            .await?;
        }
        if next_ordinal != first_ordinal {
            self.set_next_ordinal(tx, &connection, &pull.data_type, next_ordinal)
                .await?;
        }
        Ok(modified_count)
    }

    /// Finishes a fetched pull: a full pull marks the records it no longer saw as deleted at the source. The
    /// data type's state, the connection's and company's `lastSync`, and the batch's read.completed event
    /// are written in the same transaction.
    pub async fn complete_pull(
        &self,
        pull: &ClaimedPull,
    ) -> Result<Result<(), LeaseLost>, StoreError> {
        let now = Timestamp::now();
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE pull_operations SET status = 'Complete', progress = 100, completed = $1, \
             lease_owner = NULL, lease_until = NULL, cursor = NULL \
             WHERE seq = $2 AND lease_owner = $3 AND status = 'Fetching'",
        )
        .bind(now.to_storage())
        .bind(pull.seq)
        .bind(pull.owner.clone())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(Err(LeaseLost));
        }
        if pull.modified_since.is_none() && !pull.fresh {
            let swept = sqlx::query(
                "UPDATE data_records SET is_deleted = 1, modified = $1 WHERE connection_id = $2 \
                 AND data_type = $3 AND pull_seq <> $4 AND is_deleted = 0",
            )
            .bind(now.to_storage())
            .bind(pull.connection_id.to_string())
            .bind(pull.data_type.clone())
            .bind(pull.seq)
            .execute(&mut *tx)
            .await?;
            if swept.rows_affected() > 0 {
                sqlx::query(
                    "UPDATE pull_operations SET records_modified = records_modified + $1 WHERE seq = $2",
                )
                .bind(swept.rows_affected() as i64)
                .bind(pull.seq)
                .execute(&mut *tx)
                .await?;
            }
        }
        sqlx::query(
            "UPDATE data_sets SET last_success = $1, last_success_pull = $2, \
             high_water = COALESCE($3, high_water), \
             latest_status = CASE WHEN latest_pull = $2 THEN 'Complete' ELSE latest_status END \
             WHERE connection_id = $4 AND data_type = $5",
        )
        .bind(now.to_storage())
        .bind(pull.id.clone())
        .bind(pull.high_water.clone())
        .bind(pull.connection_id.to_string())
        .bind(pull.data_type.clone())
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE connections SET last_sync = $1 WHERE id = $2")
            .bind(now.to_storage())
            .bind(pull.connection_id.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE companies SET last_sync = $1 WHERE id = $2")
            .bind(now.to_storage())
            .bind(pull.company_id.to_string())
            .execute(&mut *tx)
            .await?;
        self.finish_in_batch(&mut tx, pull).await?;
        self.commit(tx).await?;
        Ok(Ok(()))
    }

    /// Ends a pull in an error (or `NotSupported`/`Cancelled`) status.
    pub async fn fail_pull(
        &self,
        pull: &ClaimedPull,
        status: &str,
        error_message: &str,
    ) -> Result<Result<(), LeaseLost>, StoreError> {
        let now = Timestamp::now();
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE pull_operations SET status = $1, error_message = $2, completed = $3, \
             lease_owner = NULL, lease_until = NULL WHERE seq = $4 AND lease_owner = $5 \
             AND status = 'Fetching'",
        )
        .bind(status.to_owned())
        .bind(error_message.to_owned())
        .bind(now.to_storage())
        .bind(pull.seq)
        .bind(pull.owner.clone())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(Err(LeaseLost));
        }
        sqlx::query(
            "UPDATE data_sets SET latest_status = $1 WHERE connection_id = $2 AND data_type = $3 \
             AND latest_pull = $4",
        )
        .bind(status.to_owned())
        .bind(pull.connection_id.to_string())
        .bind(pull.data_type.clone())
        .bind(pull.id.clone())
        .execute(&mut *tx)
        .await?;
        self.finish_in_batch(&mut tx, pull).await?;
        self.commit(tx).await?;
        Ok(Ok(()))
    }

    /// Puts a pull back in the queue after a transient failure, to run again at `run_after` from where it
    /// stopped.
    pub async fn retry_pull(
        &self,
        pull: &ClaimedPull,
        run_after: Timestamp,
        reason: &str,
    ) -> Result<Result<(), LeaseLost>, StoreError> {
        let done = sqlx::query(
            "UPDATE pull_operations SET status = 'Queued', run_after = $1, status_description = $2, \
             lease_owner = NULL, lease_until = NULL WHERE seq = $3 AND lease_owner = $4 \
             AND status = 'Fetching'",
        )
        .bind(run_after.to_storage())
        .bind(format!("Retrying after {}: {reason}", run_after.to_storage()))
        .bind(pull.seq)
        .bind(pull.owner.clone())
        .execute(&self.pool)
        .await?;
        Ok(if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(LeaseLost)
        })
    }

    /// Counts a finished operation off its batch; the last one reports the batch's read.completed.
    async fn finish_in_batch(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        pull: &ClaimedPull,
    ) -> Result<(), StoreError> {
        let row = sqlx::query(
            "UPDATE pull_batches SET remaining = remaining - 1 WHERE id = \
             (SELECT batch_id FROM pull_operations WHERE seq = $1) RETURNING id, remaining, initial",
        )
        .bind(pull.seq)
        .fetch_optional(&mut **tx)
        .await?;
        let Some(row) = row else {
            return Ok(());
        };
        let remaining: i64 = row.try_get("remaining")?;
        if remaining > 0 {
            return Ok(());
        }
        let batch = text(&row, "id")?;
        let initial: i64 = row.try_get("initial")?;
        let operations = sqlx::query(
            "SELECT connection_id, data_type, status, records_modified, modified_since \
             FROM pull_operations WHERE batch_id = $1 ORDER BY seq",
        )
        .bind(batch.clone())
        .fetch_all(&mut **tx)
        .await?;
        let mut summaries = Vec::with_capacity(operations.len());
        let mut modified_from: Option<String> = None;
        for operation in &operations {
            let records_modified: i64 = operation.try_get("records_modified")?;
            if let Some(since) = optional_text(operation, "modified_since")? {
                if modified_from.as_ref().is_none_or(|known| &since < known) {
                    modified_from = Some(since);
                }
            }
            summaries.push(ReadSummary {
                connection_id: text(operation, "connection_id")?,
                data_type: text(operation, "data_type")?,
                status: text(operation, "status")?,
                records_modified: records_modified > 0,
            });
        }
        let company = company_in_tx(tx, pull.client_id, pull.company_id).await?;
        let event = |initial| DomainEvent::ReadCompleted {
            company: &company,
            initial,
            modified_from: modified_from.as_deref(),
            data_types: &summaries,
        };
        if initial != 0 {
            self.emit(tx, pull.client_id, event(true)).await?;
        }
        self.emit(tx, pull.client_id, event(false)).await?;
        Ok(())
    }

    /// Whether `data_type` has ever been requested for the company (on `connection` when given): reading a
    /// type never requested is refused rather than answered with an empty list.
    async fn data_type_requested(
        &self,
        company: CompanyId,
        connection: Option<ConnectionId>,
        data_type: &str,
    ) -> Result<Vec<ConnectionId>, StoreError> {
        let rows =
            match connection {
                Some(connection) => sqlx::query(
                    "SELECT connection_id FROM data_sets WHERE company_id = $1 AND data_type = $2 \
                     AND connection_id = $3",
                )
                .bind(company.to_string())
                .bind(data_type.to_owned())
                .bind(connection.to_string())
                .fetch_all(&self.pool)
                .await?,
                None => sqlx::query(
                    "SELECT connection_id FROM data_sets WHERE company_id = $1 AND data_type = $2",
                )
                .bind(company.to_string())
                .bind(data_type.to_owned())
                .fetch_all(&self.pool)
                .await?,
            };
        rows.iter()
            .map(|row| crate::records::parsed(row, "connection_id"))
            .collect()
    }

    /// One page of a company's records of `data_type` (of one connection when given), each as its JSON text.
    /// `Err(RecordsError::NotRequested)` when no pull of the type was ever asked for.
    pub async fn list_records(
        &self,
        client: ClientId,
        company: CompanyId,
        connection: Option<ConnectionId>,
        data_type: &str,
        page: PageRequest,
        listing: &RecordListing,
    ) -> Result<Result<Page<String>, RecordsError>, StoreError> {
        self.ensure_scope(client, company, connection).await?;
        let sources = self
            .data_type_requested(company, connection, data_type)
            .await?;
        if sources.is_empty() {
            return Ok(Err(RecordsError::NotRequested));
        }
        let backend = self.backend();
        // The common case, one source and the default order without a filter, is served by ordinal range:
        // the page is found through the index however deep it is.
        if sources.len() == 1 && listing.query.is_none() && listing.order.is_none() {
            let source = sources[0].to_string();
            let total: i64 = sqlx::query(
                "SELECT next_ordinal - 1 FROM data_sets WHERE connection_id = $1 AND data_type = $2",
            )
            .bind(source.clone())
            .bind(data_type.to_owned())
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
            let first = page.offset() as i64 + 1;
            let rows = sqlx::query(
                "SELECT r.body, r.modified, r.source_modified, r.is_deleted FROM data_records r \
                 WHERE r.connection_id = $1 AND r.data_type = $2 AND r.ordinal >= $3 \
                 ORDER BY r.ordinal LIMIT $4",
            )
            .bind(source)
            .bind(data_type.to_owned())
            .bind(first)
            .bind(i64::from(page.page_size()))
            .fetch_all(&self.pool)
            .await?;
            return Ok(Ok(Page {
                items: rows.iter().map(record_json).collect::<Result<_, _>>()?,
                request: page,
                total: total.max(0) as u64,
            }));
        }
        let mut params = vec![
            SqlParam::Text(company.to_string()),
            SqlParam::Text(data_type.to_owned()),
        ];
        let mut conditions = String::new();
        if let Some(connection) = connection {
            params.push(SqlParam::Text(connection.to_string()));
            conditions.push_str(" AND r.connection_id = $3");
        }
        if let Some(expr) = &listing.query {
            let fragment = compile_record_filter(expr, backend, params.len() + 1)
                .map_err(StoreError::Query)?;
            conditions.push_str(&format!(" AND {}", fragment.sql));
            params.extend(fragment.params);
        }
        let order = match &listing.order {
            Some(order) => format!(
                "{}, r.connection_id, r.ordinal",
                compile_record_order(order, backend)
            ),
            None => "r.connection_id, r.ordinal".to_owned(),
        };
        // The company is the scope: records carry it, and it was checked to be the client's above.
        let scope =
            format!("FROM data_records r WHERE r.company_id = $1 AND r.data_type = $2{conditions}");
        let total: i64 = bind_params(
            sqlx::query(&format!("SELECT COUNT(*) {scope}")),
            params.clone(),
        )
        .fetch_one(&self.pool)
        .await?
        .try_get(0)?;
        let sql = format!(
            "SELECT r.body, r.modified, r.source_modified, r.is_deleted {scope} ORDER BY {order} \
             LIMIT {} OFFSET {}",
            page.page_size(),
            page.offset()
        );
        let rows = bind_params(sqlx::query(&sql), params)
            .fetch_all(&self.pool)
            .await?;
        Ok(Ok(Page {
            items: rows.iter().map(record_json).collect::<Result<_, _>>()?,
            request: page,
            total: total.max(0) as u64,
        }))
    }

    /// One record by its id, as JSON text. `Ok(Ok(None))`: the type was pulled but holds no such record.
    pub async fn get_record(
        &self,
        client: ClientId,
        company: CompanyId,
        connection: Option<ConnectionId>,
        data_type: &str,
        id: &str,
    ) -> Result<Result<Option<String>, RecordsError>, StoreError> {
        self.ensure_scope(client, company, connection).await?;
        let sources = self
            .data_type_requested(company, connection, data_type)
            .await?;
        if sources.is_empty() {
            return Ok(Err(RecordsError::NotRequested));
        }
        let mut sql =
            "SELECT r.body, r.modified, r.source_modified, r.is_deleted FROM data_records r \
                       WHERE r.company_id = $1 AND r.data_type = $2 AND r.record_id = $3"
                .to_owned();
        if connection.is_some() {
            sql.push_str(" AND r.connection_id = $4");
        }
        sql.push_str(" ORDER BY r.is_deleted, r.modified DESC LIMIT 1");
        let mut query = sqlx::query(&sql)
            .bind(company.to_string())
            .bind(data_type.to_owned())
            .bind(id.to_owned());
        if let Some(connection) = connection {
            query = query.bind(connection.to_string());
        }
        let row = query.fetch_optional(&self.pool).await?;
        Ok(Ok(row.as_ref().map(record_json).transpose()?))
    }

    /// 404 unless the company is the client's (and the connection the company's).
    async fn ensure_scope(
        &self,
        client: ClientId,
        company: CompanyId,
        connection: Option<ConnectionId>,
    ) -> Result<(), StoreError> {
        match connection {
            Some(connection) => {
                self.get_connection(client, company, connection).await?;
            }
            None => {
                if !self.company_exists(client, company).await? {
                    return Err(StoreError::NotFound);
                }
            }
        }
        Ok(())
    }

    /// Pulls due by the sync schedule: for each Linked connection and data type whose latest pull was
    /// requested at least `schedule_hours` ago (or never). The caller decides which types each platform
    /// offers and what the schedule is; this answers the candidates' last request times.
    pub async fn linked_connections_page(
        &self,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<LinkedConnection>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, id, client_id, company_id, platform_key FROM connections \
             WHERE status = 'Linked' AND seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after_seq)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut linked = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: ConnectionId = crate::records::parsed(row, "id")?;
            let sets = sqlx::query(
                "SELECT data_type, latest_requested FROM data_sets WHERE connection_id = $1",
            )
            .bind(id.to_string())
            .fetch_all(&self.pool)
            .await?;
            let mut requested = HashMap::new();
            for set in &sets {
                if let Some(at) = optional_text(set, "latest_requested")? {
                    requested.insert(text(set, "data_type")?, at);
                }
            }
            linked.push(LinkedConnection {
                seq: row.try_get("seq")?,
                id,
                client_id: crate::records::parsed(row, "client_id")?,
                company_id: crate::records::parsed(row, "company_id")?,
                platform_key: text(row, "platform_key")?,
                last_requested: requested,
            });
        }
        Ok(linked)
    }
}

/// A Linked connection seen by the scheduler, with when each data type was last requested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedConnection {
    pub seq: i64,
    pub id: ConnectionId,
    pub client_id: ClientId,
    pub company_id: CompanyId,
    pub platform_key: String,
    pub last_requested: HashMap<String, String>,
}

/// Row placeholders for the record upsert: the connection, data type, company and pull sequence are bound
/// once ($1..$4) and shared by every row; each row has five of its own.
fn values_with_constants(rows: usize) -> String {
    let mut sql = String::with_capacity(rows * 48);
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        let base = 5 + row * 5;
        sql.push_str(&format!(
            "($1, $2, ${}, ${}, $3, ${}, ${}, 0, $4, ${})",
            base,
            base + 1,
            base + 2,
            base + 3,
            base + 4
        ));
    }
    sql
}

/// A stored record as the API shows it: its body with `modifiedDate`, `sourceModifiedDate` and `metadata`
/// spliced in (the body is a JSON object, so its closing brace is replaced).
fn record_json(row: &AnyRow) -> Result<String, StoreError> {
    let body = text(row, "body")?;
    let modified = text(row, "modified")?;
    let source_modified = optional_text(row, "source_modified")?;
    let deleted: i64 = row.try_get("is_deleted")?;
    let trimmed = body.trim_end();
    let Some(inner) = trimmed.strip_suffix('}') else {
        return Err(StoreError::Corrupt(
            "a record body is not a JSON object".to_owned(),
        ));
    };
    let inner = inner.trim_end();
    let mut json = String::with_capacity(body.len() + 128);
    json.push_str(inner);
    if !inner.ends_with('{') {
        json.push(',');
    }
    json.push_str("\"modifiedDate\":");
    json.push_str(&serde_json::Value::String(modified).to_string());
    if let Some(source) = source_modified {
        json.push_str(",\"sourceModifiedDate\":");
        json.push_str(&serde_json::Value::String(source).to_string());
    }
    json.push_str(",\"metadata\":{\"isDeleted\":");
    json.push_str(if deleted != 0 { "true" } else { "false" });
    json.push_str("}}");
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_rows_in_order() {
        assert_eq!(
            values_with_constants(2),
            "($1, $2, $5, $6, $3, $7, $8, 0, $4, $9), ($1, $2, $10, $11, $3, $12, $13, 0, $4, $14)"
        );
    }

    #[test]
    fn progress_rises_but_stays_below_complete() {
        assert_eq!(fetch_progress(0), 10);
        assert!(fetch_progress(1) > 10);
        assert!(fetch_progress(1_000_000) < 100);
    }
}

#[cfg(test)]
mod write_tests;
