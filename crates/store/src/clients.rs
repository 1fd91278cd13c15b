//! Clients (tenants) and their API keys. A raw key is shown once, when it is created; only its SHA-256 is
//! stored. Keys are 40 random alphanumeric characters, so a fast hash is enough: there is nothing to brute-force.

use linkwell_domain::ids::{ApiKeyId, ClientId};
use linkwell_domain::time::Timestamp;
use rand::distributions::Alphanumeric;
use rand::Rng;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::database::Store;
use crate::error::StoreError;
use crate::records::{optional_text, parsed, timestamp};

pub const MAX_API_KEYS_PER_CLIENT: i64 = 10;
const API_KEY_LENGTH: usize = 40;

#[derive(Debug, Clone, PartialEq)]
pub struct ApiKeyRecord {
    pub id: ApiKeyId,
    pub name: Option<String>,
    pub created: Timestamp,
}

/// A key just created: the record and the raw secret, which exists nowhere else.
#[derive(Debug)]
pub struct NewApiKey {
    pub record: ApiKeyRecord,
    pub raw_key: String,
}

pub fn hash_api_key(raw: &str) -> String {
    let digest = Sha256::digest(raw.as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

impl Store {
    /// Finds the client named `name`, creating it if needed.
    pub async fn ensure_client(&self, name: &str) -> Result<ClientId, StoreError> {
        let id = ClientId::new();
        sqlx::query(
            "INSERT INTO clients (id, name, created) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
        )
        .bind(id.to_string())
        .bind(name)
        .bind(Timestamp::now().to_storage())
        .execute(&self.pool)
        .await?;
        let row = sqlx::query("SELECT id FROM clients WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await?;
        parsed(&row, "id")
    }

    /// Creates a key for the client, refusing an eleventh. The count is claimed with a conditional update
    /// before the key is written, so concurrent requests cannot both take the last slot.
    pub async fn create_api_key(
        &self,
        client: ClientId,
        name: Option<&str>,
    ) -> Result<NewApiKey, StoreError> {
        let raw_key: String = rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(API_KEY_LENGTH)
            .map(char::from)
            .collect();
        let record = ApiKeyRecord {
            id: ApiKeyId::new(),
            name: name.map(str::to_owned),
            created: Timestamp::now(),
        };
        let mut tx = self.pool.begin().await?;
        let claimed = sqlx::query(
            "UPDATE clients SET api_key_count = api_key_count + 1 WHERE id = $1 AND api_key_count < $2",
        )
        .bind(client.to_string())
        .bind(MAX_API_KEYS_PER_CLIENT)
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() == 0 {
            tx.rollback().await?;
            return Err(StoreError::ApiKeyLimit(MAX_API_KEYS_PER_CLIENT));
        }
        sqlx::query(
            "INSERT INTO api_keys (id, client_id, name, key_hash, created) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(record.id.to_string())
        .bind(client.to_string())
        .bind(record.name.clone())
        .bind(hash_api_key(&raw_key))
        .bind(record.created.to_storage())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(NewApiKey { record, raw_key })
    }

    pub async fn list_api_keys(&self, client: ClientId) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, created FROM api_keys WHERE client_id = $1 ORDER BY created, id",
        )
        .bind(client.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ApiKeyRecord {
                    id: parsed(row, "id")?,
                    name: optional_text(row, "name")?,
                    created: timestamp(row, "created")?,
                })
            })
            .collect()
    }

    /// Deletes one of the client's keys. Returns the deleted key's hash so callers can drop cached lookups.
    pub async fn delete_api_key(
        &self,
        client: ClientId,
        key: ApiKeyId,
    ) -> Result<String, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row =
            sqlx::query("DELETE FROM api_keys WHERE id = $1 AND client_id = $2 RETURNING key_hash")
                .bind(key.to_string())
                .bind(client.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        let Some(row) = row else {
            return Err(StoreError::NotFound);
        };
        sqlx::query("UPDATE clients SET api_key_count = api_key_count - 1 WHERE id = $1")
            .bind(client.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(row.try_get::<String, _>("key_hash")?)
    }

    /// The client a key hash belongs to, if any.
    pub async fn client_for_key_hash(&self, hash: &str) -> Result<Option<ClientId>, StoreError> {
        let row = sqlx::query("SELECT client_id FROM api_keys WHERE key_hash = $1")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| parsed(&row, "client_id")).transpose()
    }
}
