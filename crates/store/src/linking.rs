//! What the hosted Link pages need: who owns a company (the pages are reached by a company's URL, without an
//! API key), authorization attempts with their single-use `state`, and the client's profile.

use linkwell_domain::ids::{ClientId, CompanyId, ConnectionId};
use linkwell_domain::time::Timestamp;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::database::Store;
use crate::error::StoreError;
use crate::records::{optional_text, parsed, text, timestamp};

/// A new authorization attempt for a connection.
pub struct NewLinkAttempt {
    pub id: String,
    pub client: ClientId,
    pub company: CompanyId,
    pub connection: ConnectionId,
    /// SHA-256 of the random value in the browser's cookie: the callback must come from the same browser.
    pub browser_hash: String,
    /// The PKCE verifier, sealed.
    pub sealed_verifier: String,
    pub key_id: String,
    pub expires_at: Timestamp,
}

/// An attempt whose `state` was just used.
#[derive(Debug, Clone)]
pub struct LinkAttempt {
    pub id: String,
    pub client: ClientId,
    pub company: CompanyId,
    pub connection: ConnectionId,
    pub browser_hash: String,
    pub sealed_verifier: String,
}

/// What using an attempt's `state` found.
#[derive(Debug, Clone)]
pub enum AttemptUse {
    /// First use, in time: the attempt, now spent.
    Fresh(LinkAttempt),
    /// The attempt was already used (a replayed `state`).
    Replayed(LinkAttempt),
    /// The attempt expired before it was used; it is now spent.
    Expired(LinkAttempt),
    Unknown,
}

/// Codat's `Profile`, per client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileRecord {
    pub name: String,
    pub logo_url: Option<String>,
    pub icon_url: Option<String>,
    /// Empty when none is set: Link then shows its own result page.
    pub redirect_url: String,
    pub white_list_urls: Vec<String>,
}

impl Store {
    /// The client that owns `company`, for pages reached by the company's own URL.
    pub async fn company_owner(&self, company: CompanyId) -> Result<ClientId, StoreError> {
        let row = sqlx::query("SELECT client_id FROM companies WHERE id = $1")
            .bind(company.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        parsed(&row, "client_id")
    }

    pub async fn create_link_attempt(&self, attempt: &NewLinkAttempt) -> Result<(), StoreError> {
        let now = Timestamp::now();
        // Spent and expired attempts of the connection have no further use.
        sqlx::query(
            "DELETE FROM link_attempts WHERE connection_id = $1 AND (used_at IS NOT NULL OR expires_at < $2)",
        )
        .bind(attempt.connection.to_string())
        .bind(now.plus_seconds(-3600).to_storage())
        .execute(&self.pool)
        .await?;
        sqlx::query(
            "INSERT INTO link_attempts (id, client_id, company_id, connection_id, browser_hash, \
             sealed_verifier, key_id, created, expires_at, used_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL)",
        )
        .bind(attempt.id.clone())
        .bind(attempt.client.to_string())
        .bind(attempt.company.to_string())
        .bind(attempt.connection.to_string())
        .bind(attempt.browser_hash.clone())
        .bind(attempt.sealed_verifier.clone())
        .bind(attempt.key_id.clone())
        .bind(now.to_storage())
        .bind(attempt.expires_at.to_storage())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Spends the attempt `id`: a `state` works once, and only before it expires.
    pub async fn use_link_attempt(
        &self,
        id: &str,
        now: Timestamp,
    ) -> Result<AttemptUse, StoreError> {
        let row = sqlx::query(
            "SELECT client_id, company_id, connection_id, browser_hash, sealed_verifier, expires_at, used_at \
             FROM link_attempts WHERE id = $1",
        )
        .bind(id.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(AttemptUse::Unknown);
        };
        let attempt = LinkAttempt {
            id: id.to_owned(),
            client: parsed(&row, "client_id")?,
            company: parsed(&row, "company_id")?,
            connection: parsed(&row, "connection_id")?,
            browser_hash: text(&row, "browser_hash")?,
            sealed_verifier: text(&row, "sealed_verifier")?,
        };
        if optional_text(&row, "used_at")?.is_some() {
            return Ok(AttemptUse::Replayed(attempt));
        }
        // Compare-and-set, so two callbacks racing with one `state` cannot both get it. The verifier is
        // needed only by the caller from now on, so it is not kept.
        let spent = sqlx::query(
            "UPDATE link_attempts SET used_at = $1, sealed_verifier = '' WHERE id = $2 AND used_at IS NULL",
        )
                .bind(now.to_storage())
                .bind(id.to_owned())
                .execute(&self.pool)
                .await?;
        if spent.rows_affected() == 0 {
            return Ok(AttemptUse::Replayed(attempt));
        }
        if timestamp(&row, "expires_at")? <= now {
            return Ok(AttemptUse::Expired(attempt));
        }
        Ok(AttemptUse::Fresh(attempt))
    }

    /// Deletes attempts that expired before `before`; answers how many.
    pub async fn purge_link_attempts(&self, before: Timestamp) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM link_attempts WHERE expires_at < $1")
            .bind(before.to_storage())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// The client's profile; a client that never set one gets its name and no redirect URL.
    pub async fn get_profile(&self, client: ClientId) -> Result<ProfileRecord, StoreError> {
        let row = sqlx::query(
            "SELECT name, logo_url, icon_url, redirect_url, white_list_urls FROM client_profiles \
             WHERE client_id = $1",
        )
        .bind(client.to_string())
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = row {
            let white_list: String = text(&row, "white_list_urls")?;
            return Ok(ProfileRecord {
                name: text(&row, "name")?,
                logo_url: optional_text(&row, "logo_url")?,
                icon_url: optional_text(&row, "icon_url")?,
                redirect_url: text(&row, "redirect_url")?,
                white_list_urls: serde_json::from_str(&white_list)
                    .map_err(|error| StoreError::Corrupt(error.to_string()))?,
            });
        }
        let row = sqlx::query("SELECT name FROM clients WHERE id = $1")
            .bind(client.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(ProfileRecord {
            name: row.try_get("name")?,
            logo_url: None,
            icon_url: None,
            redirect_url: String::new(),
            white_list_urls: Vec::new(),
        })
    }

    pub async fn put_profile(
        &self,
        client: ClientId,
        profile: &ProfileRecord,
    ) -> Result<(), StoreError> {
        let white_list = serde_json::to_string(&profile.white_list_urls)
            .map_err(|error| StoreError::Corrupt(error.to_string()))?;
        sqlx::query(
            "INSERT INTO client_profiles (client_id, name, logo_url, icon_url, redirect_url, white_list_urls, updated) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (client_id) DO UPDATE SET name = excluded.name, logo_url = excluded.logo_url, \
             icon_url = excluded.icon_url, redirect_url = excluded.redirect_url, \
             white_list_urls = excluded.white_list_urls, updated = excluded.updated",
        )
        .bind(client.to_string())
        .bind(profile.name.clone())
        .bind(profile.logo_url.clone())
        .bind(profile.icon_url.clone())
        .bind(profile.redirect_url.clone())
        .bind(white_list)
        .bind(Timestamp::now().to_storage())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
