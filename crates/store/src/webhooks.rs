//! Webhook consumers, their sealed signing secrets, and the deliveries the dispatcher works through.
//!
//! A delivery is claimed with a lease (so several processes share the work and a crashed one's claims come
//! back), and only when it is the oldest pending delivery of its consumer and ordering key, so events about
//! one connection reach a consumer in the order they happened.

use linkwell_domain::ids::ClientId;
use linkwell_domain::paging::{Page, PageRequest};
use linkwell_domain::time::Timestamp;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::database::{Backend, Store};
use crate::error::StoreError;
use crate::records::{optional_text, text, timestamp};

/// At most this many consumers per client.
pub const MAX_WEBHOOK_CONSUMERS: i64 = 50;

/// A consumer as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerRecord {
    pub id: String,
    pub url: String,
    pub event_types: Vec<String>,
    pub company_tags: Option<Vec<String>>,
    pub disabled: bool,
    pub disabled_reason: Option<String>,
    pub created: Timestamp,
}

/// A new consumer and its first secret, sealed (bound to the consumer's id, chosen by the caller).
pub struct NewConsumer {
    pub id: String,
    pub url: String,
    pub event_types: Vec<String>,
    pub company_tags: Option<Vec<String>>,
    pub disabled: bool,
    pub secret: SealedSecret,
}

/// A signing secret in its sealed form. The row id is part of what it is bound to.
#[derive(Clone)]
pub struct SealedSecret {
    pub id: String,
    pub sealed: String,
    pub key_id: String,
}

impl std::fmt::Debug for SealedSecret {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SealedSecret")
            .field("id", &self.id)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// A delivery claimed for an attempt, with what sending it needs.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub seq: i64,
    pub id: String,
    pub consumer_id: String,
    pub url: String,
    /// The event's id: the `webhook-id` header, the same on every attempt so receivers can deduplicate.
    pub event_id: String,
    pub body: String,
    pub attempts: i64,
    /// The consumer's [`StoredSecret`]s as of this claim: a new version means the secrets were rotated.
    pub secret_version: i64,
}

/// A signing secret as stored: sealed, and when it stops signing (a rotated-out secret).
#[derive(Debug, Clone)]
pub struct StoredSecret {
    pub sealed: SealedSecret,
    pub retires_at: Option<Timestamp>,
}

/// How an attempt went.
#[derive(Debug, Clone)]
pub struct AttemptResult {
    pub success: bool,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// A delivery as listed, with its attempts.
#[derive(Debug, Clone)]
pub struct DeliveryRecord {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    pub status: String,
    pub created: Timestamp,
    pub completed: Option<Timestamp>,
    pub next_attempt_at: Option<Timestamp>,
    pub attempts: Vec<AttemptRecord>,
}

#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub attempted_at: Timestamp,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// What the dispatcher needs to know about failures.
#[derive(Debug, Clone, Copy)]
pub struct FailurePolicy<'a> {
    /// Delay before each retry; once they are used up, the delivery has failed.
    pub retries: &'a [std::time::Duration],
    /// A consumer that has failed every delivery for this long is disabled.
    pub disable_after: std::time::Duration,
}

const CONSUMER_COLUMNS: &str =
    "id, url, event_types, company_tags, disabled, disabled_reason, created";

fn consumer_from_row(row: &AnyRow) -> Result<ConsumerRecord, StoreError> {
    let parse = |value: &str| -> Result<Vec<String>, StoreError> {
        serde_json::from_str(value).map_err(|error| StoreError::Corrupt(error.to_string()))
    };
    Ok(ConsumerRecord {
        id: text(row, "id")?,
        url: text(row, "url")?,
        event_types: parse(&text(row, "event_types")?)?,
        company_tags: optional_text(row, "company_tags")?
            .map(|tags| parse(&tags))
            .transpose()?,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        disabled_reason: optional_text(row, "disabled_reason")?,
        created: timestamp(row, "created")?,
    })
}

fn json_list(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".to_owned())
}

impl Store {
    pub async fn list_webhook_consumers(
        &self,
        client: ClientId,
    ) -> Result<Vec<ConsumerRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {CONSUMER_COLUMNS} FROM webhook_consumers WHERE client_id = $1 ORDER BY created, id"
        ))
        .bind(client.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(consumer_from_row).collect()
    }

    pub async fn get_webhook_consumer(
        &self,
        client: ClientId,
        id: &str,
    ) -> Result<ConsumerRecord, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {CONSUMER_COLUMNS} FROM webhook_consumers WHERE id = $1 AND client_id = $2"
        ))
        .bind(id.to_owned())
        .bind(client.to_string())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        consumer_from_row(&row)
    }

    /// Creates a consumer; the client's 51st is refused with [`StoreError::WebhookLimit`].
    pub async fn create_webhook_consumer(
        &self,
        client: ClientId,
        new: NewConsumer,
    ) -> Result<ConsumerRecord, StoreError> {
        let record = ConsumerRecord {
            id: new.id,
            url: new.url,
            event_types: new.event_types,
            company_tags: new.company_tags,
            disabled: new.disabled,
            disabled_reason: None,
            created: Timestamp::now(),
        };
        let mut tx = self.pool.begin().await?;
        // The counter's compare-and-set holds the limit under concurrent creations.
        let counted = sqlx::query(
            "UPDATE clients SET webhook_count = webhook_count + 1 WHERE id = $1 AND webhook_count < $2",
        )
        .bind(client.to_string())
        .bind(MAX_WEBHOOK_CONSUMERS)
        .execute(&mut *tx)
        .await?;
        if counted.rows_affected() == 0 {
            tx.rollback().await?;
            return Err(StoreError::WebhookLimit(MAX_WEBHOOK_CONSUMERS));
        }
        sqlx::query(
            "INSERT INTO webhook_consumers (id, client_id, url, event_types, company_tags, disabled, created) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(record.id.clone())
        .bind(client.to_string())
        .bind(record.url.clone())
        .bind(json_list(&record.event_types))
        .bind(record.company_tags.as_deref().map(json_list))
        .bind(i64::from(record.disabled))
        .bind(record.created.to_storage())
        .execute(&mut *tx)
        .await?;
        insert_secret(&mut tx, &record.id, &new.secret, record.created, None).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// Deletes a consumer; its pending deliveries go with it, so nothing more is sent to it.
    pub async fn delete_webhook_consumer(
        &self,
        client: ClientId,
        id: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let deleted = sqlx::query("DELETE FROM webhook_consumers WHERE id = $1 AND client_id = $2")
            .bind(id.to_owned())
            .bind(client.to_string())
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            tx.rollback().await?;
            return Err(StoreError::NotFound);
        }
        sqlx::query("UPDATE clients SET webhook_count = webhook_count - 1 WHERE id = $1")
            .bind(client.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Enables or disables a consumer. Enabling clears the record of failures that may have disabled it.
    pub async fn set_webhook_consumer_disabled(
        &self,
        client: ClientId,
        id: &str,
        disabled: bool,
    ) -> Result<ConsumerRecord, StoreError> {
        let done = sqlx::query(
            "UPDATE webhook_consumers SET disabled = $1, disabled_reason = NULL, failing_since = NULL \
             WHERE id = $2 AND client_id = $3",
        )
        .bind(i64::from(disabled))
        .bind(id.to_owned())
        .bind(client.to_string())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.get_webhook_consumer(client, id).await
    }

    /// Adds a new signing secret; the ones still current keep signing until `overlap_until`.
    pub async fn rotate_webhook_secret(
        &self,
        client: ClientId,
        id: &str,
        secret: &SealedSecret,
        overlap_until: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        // A new version tells dispatchers that the secrets they hold are out of date.
        let owned = sqlx::query(
            "UPDATE webhook_consumers SET secret_version = secret_version + 1 WHERE id = $1 AND client_id = $2",
        )
        .bind(id.to_owned())
        .bind(client.to_string())
        .execute(&mut *tx)
        .await?;
        if owned.rows_affected() == 0 {
            tx.rollback().await?;
            return Err(StoreError::NotFound);
        }
        let now = Timestamp::now();
        sqlx::query(
            "UPDATE webhook_secrets SET retires_at = $1 WHERE consumer_id = $2 \
             AND (retires_at IS NULL OR retires_at > $1)",
        )
        .bind(overlap_until.to_storage())
        .bind(id.to_owned())
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM webhook_secrets WHERE consumer_id = $1 AND retires_at <= $2")
            .bind(id.to_owned())
            .bind(now.to_storage())
            .execute(&mut *tx)
            .await?;
        insert_secret(&mut tx, id, secret, now, None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The consumer's secrets that sign at `now`, newest first, with the version they are of.
    pub async fn webhook_secrets(
        &self,
        consumer_id: &str,
        now: Timestamp,
    ) -> Result<Vec<StoredSecret>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, sealed, key_id, retires_at FROM webhook_secrets WHERE consumer_id = $1 \
             AND (retires_at IS NULL OR retires_at > $2) ORDER BY created DESC, id",
        )
        .bind(consumer_id.to_owned())
        .bind(now.to_storage())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StoredSecret {
                    sealed: SealedSecret {
                        id: text(row, "id")?,
                        sealed: text(row, "sealed")?,
                        key_id: text(row, "key_id")?,
                    },
                    retires_at: optional_text(row, "retires_at")?
                        .and_then(|at| Timestamp::parse_storage(&at)),
                })
            })
            .collect()
    }

    /// Begins a transaction of the dispatcher's bookkeeping. On PostgreSQL it commits without waiting for
    /// the disk: a claim or an attempt record lost in a crash only means that delivery is sent again, which
    /// at-least-once delivery allows.
    async fn begin_dispatch(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        let mut tx = self.pool.begin().await?;
        if self.backend() == Backend::Postgres {
            sqlx::query("SET LOCAL synchronous_commit = off")
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
    }

    /// Claims up to `limit` due deliveries for `owner` until `lease_until`: each the oldest pending one of its
    /// consumer and ordering key. Claims of a crashed process come back when their lease runs out.
    pub async fn claim_deliveries(
        &self,
        owner: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: i64,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE OF d SKIP LOCKED",
            Backend::Sqlite => "",
        };
        // Due deliveries, oldest first, through the partial index on (next_attempt_at, seq): delivered rows and
        // retries not yet due are never read. The ordering check probes the other partial index.
        let claim = format!(
            "UPDATE webhook_deliveries SET lease_owner = $1, lease_until = $2 WHERE seq IN (\
             SELECT d.seq FROM webhook_deliveries d WHERE d.status = 'Pending' AND d.next_attempt_at <= $3 \
             AND (d.lease_until IS NULL OR d.lease_until <= $3) \
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.status = 'Pending' \
             AND e.consumer_id = d.consumer_id AND e.ordering_key = d.ordering_key AND e.seq < d.seq) \
             ORDER BY d.next_attempt_at, d.seq LIMIT $4{lock}) RETURNING seq"
        );
        let _turn = self.write_turn().await;
        let mut tx = self.begin_dispatch().await?;
        let claimed = sqlx::query(&claim)
            .bind(owner.to_owned())
            .bind(lease_until.to_storage())
            .bind(now.to_storage())
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
        if claimed.is_empty() {
            tx.rollback().await?;
            return Ok(Vec::new());
        }
        let seqs: Vec<i64> = claimed
            .iter()
            .map(|row| row.try_get::<i64, _>(0))
            .collect::<Result<_, _>>()?;
        let rows = sqlx::query(&format!(
            "SELECT d.seq, d.id, d.consumer_id, c.url, c.secret_version, e.id AS event_id, e.body, d.attempts \
             FROM webhook_deliveries d JOIN webhook_consumers c ON c.id = d.consumer_id \
             JOIN events e ON e.seq = d.event_seq WHERE {} ORDER BY d.seq",
            self.in_json_integers("d.seq", 1)
        ))
        .bind(json_integers(&seqs))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter()
            .map(|row| {
                Ok(ClaimedDelivery {
                    seq: row.try_get("seq")?,
                    id: text(row, "id")?,
                    consumer_id: text(row, "consumer_id")?,
                    url: text(row, "url")?,
                    event_id: text(row, "event_id")?,
                    body: text(row, "body")?,
                    attempts: row.try_get("attempts")?,
                    secret_version: row.try_get("secret_version")?,
                })
            })
            .collect()
    }

    /// Records the attempts of claimed deliveries, all in one transaction: a success completes its
    /// delivery; a failure schedules the next retry or, when they are used up, marks it failed. A consumer
    /// failing every delivery for long enough is disabled.
    pub async fn record_delivery_attempts(
        &self,
        attempts: &[(&ClaimedDelivery, &AttemptResult)],
        policy: FailurePolicy<'_>,
    ) -> Result<(), StoreError> {
        if attempts.is_empty() {
            return Ok(());
        }
        let now = Timestamp::now();
        let _turn = self.write_turn().await;
        let mut tx = self.begin_dispatch().await?;
        let per_statement = match self.backend() {
            Backend::Sqlite => 100,
            Backend::Postgres => 500,
        };
        for chunk in attempts.chunks(per_statement) {
            let rows = (0..chunk.len())
                .map(|i| {
                    let p = 2 + 5 * i;
                    format!("(${p}, ${}, $1, ${}, ${}, ${})", p + 1, p + 2, p + 3, p + 4)
                })
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO webhook_attempts (delivery_seq, attempt, attempted_at, status_code, error, duration_ms) \
                 VALUES {rows} ON CONFLICT (delivery_seq, attempt) DO NOTHING"
            );
            let mut insert = sqlx::query(&sql).bind(now.to_storage());
            for (delivery, result) in chunk {
                insert = insert
                    .bind(delivery.seq)
                    .bind(delivery.attempts + 1)
                    .bind(result.status_code.map(i64::from))
                    .bind(result.error.clone())
                    .bind(result.duration_ms);
            }
            insert.execute(&mut *tx).await?;
        }
        // Successes, one statement per status code (almost always one).
        let mut succeeded: std::collections::BTreeMap<Option<u16>, Vec<i64>> = Default::default();
        let mut recovered: std::collections::BTreeSet<&str> = Default::default();
        for (delivery, result) in attempts.iter().filter(|(_, result)| result.success) {
            succeeded
                .entry(result.status_code)
                .or_default()
                .push(delivery.seq);
            recovered.insert(&delivery.consumer_id);
        }
        for (status_code, seqs) in &succeeded {
            sqlx::query(&format!(
                "UPDATE webhook_deliveries SET status = 'Succeeded', attempts = attempts + 1, completed = $1, \
                 lease_owner = NULL, lease_until = NULL, last_status_code = $2, last_error = NULL WHERE {}",
                self.in_json_integers("seq", 3)
            ))
            .bind(now.to_storage())
            .bind(status_code.map(i64::from))
            .bind(json_integers(seqs))
            .execute(&mut *tx)
            .await?;
        }
        // Only consumers that were failing are written to: the others' rows stay untouched (on PostgreSQL an
        // update that changes nothing still writes a new row version, and every delivery would queue on it).
        for consumer in recovered {
            sqlx::query(
                "UPDATE webhook_consumers SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL",
            )
            .bind(consumer.to_owned())
            .execute(&mut *tx)
            .await?;
        }
        for (delivery, result) in attempts.iter().filter(|(_, result)| !result.success) {
            record_failure(&mut tx, delivery, result, policy, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Gives claimed deliveries back at once (on shutdown, or at start-up on SQLite, where the serving
    /// process is the only one).
    pub async fn release_delivery_leases(&self, owner: Option<&str>) -> Result<u64, StoreError> {
        let done = match owner {
            Some(owner) => {
                sqlx::query(
                    "UPDATE webhook_deliveries SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1",
                )
                .bind(owner.to_owned())
                .execute(&self.pool)
                .await?
            }
            None => {
                sqlx::query(
                    "UPDATE webhook_deliveries SET lease_owner = NULL, lease_until = NULL \
                     WHERE lease_owner IS NOT NULL",
                )
                .execute(&self.pool)
                .await?
            }
        };
        Ok(done.rows_affected())
    }

    /// Forgets events generated before `before` whose deliveries are all finished, with those deliveries
    /// and their attempts (delivery history is kept that long). Answers how many events went.
    pub async fn purge_events(&self, before: Timestamp) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM events WHERE generated < $1 AND NOT EXISTS \
             (SELECT 1 FROM webhook_deliveries d WHERE d.event_seq = events.seq AND d.status = 'Pending')",
        )
        .bind(before.to_storage())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// A consumer's deliveries, newest first, with their attempts.
    pub async fn list_deliveries(
        &self,
        client: ClientId,
        consumer_id: &str,
        page: PageRequest,
    ) -> Result<Page<DeliveryRecord>, StoreError> {
        self.get_webhook_consumer(client, consumer_id).await?;
        let total: i64 =
            sqlx::query("SELECT COUNT(*) FROM webhook_deliveries WHERE consumer_id = $1")
                .bind(consumer_id.to_owned())
                .fetch_one(&self.pool)
                .await?
                .try_get(0)?;
        let rows = sqlx::query(&format!(
            "SELECT d.seq, d.id, e.id AS event_id, e.event_type, d.status, d.created, d.completed, \
             d.next_attempt_at FROM webhook_deliveries d JOIN events e ON e.seq = d.event_seq \
             WHERE d.consumer_id = $1 ORDER BY d.seq DESC LIMIT {} OFFSET {}",
            page.page_size(),
            page.offset()
        ))
        .bind(consumer_id.to_owned())
        .fetch_all(&self.pool)
        .await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in &rows {
            let seq: i64 = row.try_get("seq")?;
            let status = text(row, "status")?;
            let attempts = sqlx::query(
                "SELECT attempted_at, status_code, error, duration_ms FROM webhook_attempts \
                 WHERE delivery_seq = $1 ORDER BY attempt",
            )
            .bind(seq)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|attempt| {
                Ok(AttemptRecord {
                    attempted_at: timestamp(attempt, "attempted_at")?,
                    status_code: attempt.try_get("status_code")?,
                    error: optional_text(attempt, "error")?,
                    duration_ms: attempt.try_get("duration_ms")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
            items.push(DeliveryRecord {
                id: text(row, "id")?,
                event_id: text(row, "event_id")?,
                event_type: text(row, "event_type")?,
                next_attempt_at: if status == "Pending" {
                    Some(timestamp(row, "next_attempt_at")?)
                } else {
                    None
                },
                status,
                created: timestamp(row, "created")?,
                completed: optional_text(row, "completed")?
                    .and_then(|value| Timestamp::parse_storage(&value)),
                attempts,
            });
        }
        Ok(Page {
            items,
            request: page,
            total: total as u64,
        })
    }

    /// Sends a delivery's event again, as a new delivery (the old one and its attempts stay as they were).
    /// Answers the new delivery's id.
    pub async fn replay_delivery(
        &self,
        client: ClientId,
        consumer_id: &str,
        delivery_id: &str,
    ) -> Result<String, StoreError> {
        self.get_webhook_consumer(client, consumer_id).await?;
        let mut tx = self.pool.begin().await?;
        let id = uuid::Uuid::new_v4().to_string();
        let now = Timestamp::now().to_storage();
        let inserted = sqlx::query(
            "INSERT INTO webhook_deliveries (id, consumer_id, event_seq, ordering_key, status, attempts, \
             next_attempt_at, created) SELECT $1, d.consumer_id, d.event_seq, d.ordering_key, 'Pending', 0, $2, $2 \
             FROM webhook_deliveries d WHERE d.id = $3 AND d.consumer_id = $4",
        )
        .bind(id.clone())
        .bind(now)
        .bind(delivery_id.to_owned())
        .bind(consumer_id.to_owned())
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            tx.rollback().await?;
            return Err(StoreError::NotFound);
        }
        self.events
            .pending
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.commit(tx).await?;
        Ok(id)
    }

    /// Sends again every failed delivery of the consumer created at or after `since`. Answers how many.
    pub async fn replay_failed_deliveries(
        &self,
        client: ClientId,
        consumer_id: &str,
        since: Timestamp,
    ) -> Result<u64, StoreError> {
        self.get_webhook_consumer(client, consumer_id).await?;
        let mut tx = self.begin_write().await?;
        let now = Timestamp::now().to_storage();
        let failed = sqlx::query(
            "SELECT seq FROM webhook_deliveries WHERE consumer_id = $1 AND status = 'Failed' AND created >= $2 \
             ORDER BY seq",
        )
        .bind(consumer_id.to_owned())
        .bind(since.to_storage())
        .fetch_all(&mut *tx)
        .await?;
        for row in &failed {
            let seq: i64 = row.try_get(0)?;
            sqlx::query(
                "INSERT INTO webhook_deliveries (id, consumer_id, event_seq, ordering_key, status, attempts, \
                 next_attempt_at, created) SELECT $1, d.consumer_id, d.event_seq, d.ordering_key, 'Pending', 0, $2, $2 \
                 FROM webhook_deliveries d WHERE d.seq = $3",
            )
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(now.clone())
            .bind(seq)
            .execute(&mut *tx)
            .await?;
            // A replayed failure is not replayed again by the next bulk replay.
            sqlx::query("UPDATE webhook_deliveries SET status = 'Replayed' WHERE seq = $1")
                .bind(seq)
                .execute(&mut *tx)
                .await?;
        }
        if !failed.is_empty() {
            self.events
                .pending
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        self.commit(tx).await?;
        Ok(failed.len() as u64)
    }
}

/// A failed attempt: the next retry, or the delivery's failure once they are used up; and the consumer's run
/// of failures, which disables it when it has lasted long enough.
async fn record_failure(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    delivery: &ClaimedDelivery,
    result: &AttemptResult,
    policy: FailurePolicy<'_>,
    now: Timestamp,
) -> Result<(), StoreError> {
    let attempt = delivery.attempts + 1;
    let retry = usize::try_from(delivery.attempts)
        .ok()
        .and_then(|used| policy.retries.get(used));
    match retry {
        Some(delay) => {
            sqlx::query(
                "UPDATE webhook_deliveries SET attempts = $1, next_attempt_at = $2, lease_owner = NULL, \
                 lease_until = NULL, last_status_code = $3, last_error = $4 WHERE seq = $5",
            )
            .bind(attempt)
            .bind(now.plus_millis(delay.as_millis() as i64).to_storage())
            .bind(result.status_code.map(i64::from))
            .bind(result.error.clone())
            .bind(delivery.seq)
            .execute(&mut **tx)
            .await?;
        }
        None => {
            sqlx::query(
                "UPDATE webhook_deliveries SET status = 'Failed', attempts = $1, completed = $2, \
                 lease_owner = NULL, lease_until = NULL, last_status_code = $3, last_error = $4 WHERE seq = $5",
            )
            .bind(attempt)
            .bind(now.to_storage())
            .bind(result.status_code.map(i64::from))
            .bind(result.error.clone())
            .bind(delivery.seq)
            .execute(&mut **tx)
            .await?;
        }
    }
    sqlx::query(
        "UPDATE webhook_consumers SET failing_since = $1 WHERE id = $2 AND failing_since IS NULL",
    )
    .bind(now.to_storage())
    .bind(delivery.consumer_id.clone())
    .execute(&mut **tx)
    .await?;
    let cutoff = now.plus_seconds(-(policy.disable_after.as_secs() as i64));
    sqlx::query(
        "UPDATE webhook_consumers SET disabled = 1, disabled_reason = $1 \
         WHERE id = $2 AND disabled = 0 AND failing_since <= $3",
    )
    .bind(format!(
        "every delivery failed for {} days",
        policy.disable_after.as_secs() / 86_400
    ))
    .bind(delivery.consumer_id.clone())
    .bind(cutoff.to_storage())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Integers as a JSON array, for [`Store::in_json_integers`].
fn json_integers(values: &[i64]) -> String {
    serde_json::to_string(values).unwrap_or_else(|_| "[]".to_owned())
}

async fn insert_secret(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    consumer_id: &str,
    secret: &SealedSecret,
    created: Timestamp,
    retires_at: Option<Timestamp>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO webhook_secrets (id, consumer_id, sealed, key_id, created, retires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(secret.id.clone())
    .bind(consumer_id.to_owned())
    .bind(secret.sealed.clone())
    .bind(secret.key_id.clone())
    .bind(created.to_storage())
    .bind(retires_at.map(|at| at.to_storage()))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod dispatch_tests;
