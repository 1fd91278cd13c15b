//! Idempotency keys, as Codat defines them: the same key with the same request within 90 minutes replays the
//! first answer; the same key with a different request is refused. The first request claims the key with an
//! insert, so two concurrent requests with one key cannot both run.

use linkwell_domain::ids::ClientId;
use linkwell_domain::time::Timestamp;
use sqlx::Row;

use crate::database::Store;
use crate::error::StoreError;

pub const IDEMPOTENCY_WINDOW_SECONDS: i64 = 90 * 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyBegin {
    /// The key is ours: run the request, then `complete` or `abandon` it.
    Claimed,
    /// Seen before with the same request: answer this.
    Replay { status: u16, body: String },
    /// Seen before with a different request.
    Mismatch,
    /// The first request with this key has not finished yet.
    InProgress,
}

impl Store {
    pub async fn begin_idempotent(
        &self,
        client: ClientId,
        key: &str,
        fingerprint: &str,
    ) -> Result<IdempotencyBegin, StoreError> {
        let now = Timestamp::now();
        let expired_before = now.plus_seconds(-IDEMPOTENCY_WINDOW_SECONDS).to_storage();
        // An expired key is free again.
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE client_id = $1 AND key = $2 AND created < $3",
        )
        .bind(client.to_string())
        .bind(key.to_owned())
        .bind(expired_before)
        .execute(&self.pool)
        .await?;
        let claimed = sqlx::query(
            "INSERT INTO idempotency_keys (client_id, key, fingerprint, created) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (client_id, key) DO NOTHING",
        )
        .bind(client.to_string())
        .bind(key.to_owned())
        .bind(fingerprint.to_owned())
        .bind(now.to_storage())
        .execute(&self.pool)
        .await?;
        if claimed.rows_affected() == 1 {
            return Ok(IdempotencyBegin::Claimed);
        }
        let row = sqlx::query(
            "SELECT fingerprint, status_code, response_body FROM idempotency_keys WHERE client_id = $1 AND key = $2",
        )
        .bind(client.to_string())
        .bind(key.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            // Abandoned between our insert and our read: the caller may simply retry.
            return Ok(IdempotencyBegin::InProgress);
        };
        if row.try_get::<String, _>("fingerprint")? != fingerprint {
            return Ok(IdempotencyBegin::Mismatch);
        }
        match (
            row.try_get::<Option<i64>, _>("status_code")?,
            row.try_get::<Option<String>, _>("response_body")?,
        ) {
            (Some(status), Some(body)) => Ok(IdempotencyBegin::Replay {
                status: u16::try_from(status)
                    .map_err(|_| StoreError::Corrupt("status_code".into()))?,
                body,
            }),
            _ => Ok(IdempotencyBegin::InProgress),
        }
    }

    pub async fn complete_idempotent(
        &self,
        client: ClientId,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE idempotency_keys SET status_code = $1, response_body = $2 WHERE client_id = $3 AND key = $4",
        )
        .bind(i64::from(status))
        .bind(body.to_owned())
        .bind(client.to_string())
        .bind(key.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets keys older than the replay window; returns how many.
    pub async fn purge_expired_idempotency_keys(&self) -> Result<u64, StoreError> {
        let expired_before = Timestamp::now()
            .plus_seconds(-IDEMPOTENCY_WINDOW_SECONDS)
            .to_storage();
        let purged = sqlx::query("DELETE FROM idempotency_keys WHERE created < $1")
            .bind(expired_before)
            .execute(&self.pool)
            .await?;
        Ok(purged.rows_affected())
    }

    /// Releases a claimed key without recording an answer (the request failed in a way worth retrying).
    pub async fn abandon_idempotent(&self, client: ClientId, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM idempotency_keys WHERE client_id = $1 AND key = $2 AND status_code IS NULL")
            .bind(client.to_string())
            .bind(key.to_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> (Store, ClientId) {
        sqlx::any::install_default_drivers();
        let store = Store::connect("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        let client = store.ensure_client("idempotency").await.unwrap();
        (store, client)
    }

    async fn age_key(store: &Store, key: &str, seconds: i64) {
        sqlx::query("UPDATE idempotency_keys SET created = $1 WHERE key = $2")
            .bind(Timestamp::now().plus_seconds(-seconds).to_storage())
            .bind(key.to_owned())
            .execute(&store.pool)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_key_replays_within_ninety_minutes_and_is_free_after() {
        let (store, client) = store().await;
        assert_eq!(
            store.begin_idempotent(client, "k", "first").await.unwrap(),
            IdempotencyBegin::Claimed
        );
        assert_eq!(
            store.begin_idempotent(client, "k", "first").await.unwrap(),
            IdempotencyBegin::InProgress
        );
        store
            .complete_idempotent(client, "k", 200, "{}")
            .await
            .unwrap();
        age_key(&store, "k", IDEMPOTENCY_WINDOW_SECONDS - 60).await;
        assert_eq!(
            store.begin_idempotent(client, "k", "first").await.unwrap(),
            IdempotencyBegin::Replay {
                status: 200,
                body: "{}".into()
            }
        );
        assert_eq!(
            store.begin_idempotent(client, "k", "second").await.unwrap(),
            IdempotencyBegin::Mismatch
        );
        age_key(&store, "k", IDEMPOTENCY_WINDOW_SECONDS + 60).await;
        assert_eq!(store.purge_expired_idempotency_keys().await.unwrap(), 1);
        assert_eq!(
            store.begin_idempotent(client, "k", "second").await.unwrap(),
            IdempotencyBegin::Claimed,
            "after the window the key is new again"
        );
    }

    #[tokio::test]
    async fn an_abandoned_key_can_be_claimed_again() {
        let (store, client) = store().await;
        assert_eq!(
            store.begin_idempotent(client, "k", "f").await.unwrap(),
            IdempotencyBegin::Claimed
        );
        store.abandon_idempotent(client, "k").await.unwrap();
        assert_eq!(
            store.begin_idempotent(client, "k", "f").await.unwrap(),
            IdempotencyBegin::Claimed
        );
    }
}
