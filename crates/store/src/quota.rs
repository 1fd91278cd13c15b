//! Daily request quotas per client (when one is configured), and the `client.rateLimit.*` events that go
//! with them, written in the same transaction as the count that causes them.

use linkwell_domain::ids::ClientId;
use linkwell_domain::time::Timestamp;
use sqlx::Row;

use crate::database::Store;
use crate::error::StoreError;
use crate::events::DomainEvent;
use crate::records::text;

/// What counting one request found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaUse {
    /// Requests counted today, this one included.
    pub used: i64,
    pub quota: i64,
}

impl QuotaUse {
    /// Whether this request is within the quota.
    pub fn allowed(&self) -> bool {
        self.used <= self.quota
    }

    pub fn remaining(&self) -> i64 {
        (self.quota - self.used).max(0)
    }
}

/// The UTC day of `at` (`YYYY-MM-DD`), and when the next one starts.
pub fn quota_day(at: Timestamp) -> (String, Timestamp) {
    let date = at.datetime().date_naive();
    let next = date
        .succ_opt()
        .and_then(|next| next.and_hms_opt(0, 0, 0))
        .map(|next| Timestamp::from_datetime(next.and_utc()))
        .unwrap_or(at);
    (date.format("%Y-%m-%d").to_string(), next)
}

impl Store {
    /// Counts one request of `client` against its daily `quota`. The request that uses the last of it
    /// reports `client.rateLimit.reached`.
    pub async fn count_request(
        &self,
        client: ClientId,
        quota: i64,
        now: Timestamp,
    ) -> Result<QuotaUse, StoreError> {
        let (day, renewal) = quota_day(now);
        let mut tx = self.pool.begin().await?;
        // The upsert is the first statement: it takes the write lock (SQLite) or the row lock (PostgreSQL).
        let used: i64 = sqlx::query(
            "INSERT INTO client_quota (client_id, day, used) VALUES ($1, $2, 1) \
             ON CONFLICT (client_id, day) DO UPDATE SET used = client_quota.used + 1 RETURNING used",
        )
        .bind(client.to_string())
        .bind(day.clone())
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        if used == quota {
            sqlx::query("UPDATE client_quota SET reached = 1 WHERE client_id = $1 AND day = $2")
                .bind(client.to_string())
                .bind(day)
                .execute(&mut *tx)
                .await?;
            self.emit(
                &mut tx,
                client,
                DomainEvent::RateLimit {
                    reached: true,
                    daily_quota: quota,
                    remaining: 0,
                    expiry: renewal,
                },
            )
            .await?;
            self.commit(tx).await?;
        } else {
            tx.commit().await?;
        }
        Ok(QuotaUse { used, quota })
    }

    /// Reports `client.rateLimit.reset` for every client that used up a quota on a day before `now`'s. Answers
    /// how many were reported.
    pub async fn report_quota_resets(&self, quota: i64, now: Timestamp) -> Result<u64, StoreError> {
        let (today, renewal) = quota_day(now);
        let due = sqlx::query(
            "SELECT client_id, day FROM client_quota WHERE reached = 1 AND reset_sent = 0 AND day < $1",
        )
        .bind(today.clone())
        .fetch_all(&self.pool)
        .await?;
        let mut reported = 0;
        for row in &due {
            let client: ClientId = crate::records::parsed(row, "client_id")?;
            let day = text(row, "day")?;
            let mut tx = self.pool.begin().await?;
            let marked = sqlx::query(
                "UPDATE client_quota SET reset_sent = 1 WHERE client_id = $1 AND day = $2 AND reset_sent = 0",
            )
            .bind(client.to_string())
            .bind(day)
            .execute(&mut *tx)
            .await?;
            if marked.rows_affected() == 0 {
                // Another process reported it.
                tx.rollback().await?;
                continue;
            }
            let used_today: i64 = sqlx::query(
                "SELECT COALESCE(MAX(used), 0) FROM client_quota WHERE client_id = $1 AND day = $2",
            )
            .bind(client.to_string())
            .bind(today.clone())
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
            self.emit(
                &mut tx,
                client,
                DomainEvent::RateLimit {
                    reached: false,
                    daily_quota: quota,
                    remaining: (quota - used_today).max(0),
                    expiry: renewal,
                },
            )
            .await?;
            self.commit(tx).await?;
            reported += 1;
        }
        // Days before yesterday have nothing more to report.
        sqlx::query("DELETE FROM client_quota WHERE day < $1 AND (reached = 0 OR reset_sent = 1)")
            .bind(today)
            .execute(&self.pool)
            .await?;
        Ok(reported)
    }
}
