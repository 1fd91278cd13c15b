//! Sync settings as the client (or one company) set them: Codat's `settings` array kept as JSON text, with
//! `overridesDefaults`. Defaults and validation are the API layer's business.

use linkwell_domain::ids::{ClientId, CompanyId, ConnectionId};
use linkwell_domain::sync::{effective, Layer, SyncSetting};
use sqlx::Row;

use crate::database::Store;
use crate::error::StoreError;
use crate::records::text;

/// Stored settings: the JSON array and whether they override the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSyncSettings {
    pub settings: String,
    pub overrides_defaults: bool,
}

type Stored = Option<(Vec<SyncSetting>, bool)>;

fn layer(stored: &Stored) -> Option<Layer<'_>> {
    stored.as_ref().map(|(settings, overrides)| Layer {
        settings,
        overrides: *overrides,
    })
}

async fn stored_in(
    executor: impl sqlx::Executor<'_, Database = sqlx::Any>,
    client: ClientId,
    company: CompanyId,
) -> Result<(Stored, Stored), StoreError> {
    let rows = sqlx::query(
        "SELECT company_id, settings, overrides_defaults FROM sync_settings \
         WHERE client_id = $1 AND company_id IN ('', $2)",
    )
    .bind(client.to_string())
    .bind(company.to_string())
    .fetch_all(executor)
    .await?;
    let (mut client_settings, mut company_settings) = (None, None);
    for row in &rows {
        let settings: Vec<SyncSetting> = serde_json::from_str(&text(row, "settings")?)
            .map_err(|error| StoreError::Corrupt(error.to_string()))?;
        let overrides: i64 = row.try_get("overrides_defaults")?;
        let stored = Some((settings, overrides != 0));
        if text(row, "company_id")?.is_empty() {
            client_settings = stored;
        } else {
            company_settings = stored;
        }
    }
    Ok((client_settings, company_settings))
}

/// The settings in force for a company, read inside `tx`.
pub(crate) async fn effective_in_tx(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    client: ClientId,
    company: CompanyId,
) -> Result<Vec<SyncSetting>, StoreError> {
    let (client_settings, company_settings) = stored_in(&mut **tx, client, company).await?;
    Ok(effective(layer(&client_settings), layer(&company_settings)))
}

impl Store {
    /// Tells the store which data types each platform can be pulled for (once, at start-up). Until it is
    /// set, linking queues no pulls.
    pub fn set_readable_data_types(&self, readable: crate::events::ReadableTypes) {
        let _ = self.events.readable.set(readable);
    }

    /// The data types `platform_key` can be pulled for.
    pub fn readable_data_types(&self, platform_key: &str) -> Vec<String> {
        self.events
            .readable
            .get()
            .map(|readable| readable(platform_key))
            .unwrap_or_default()
    }

    /// The settings in force for a company: defaults, the client's, then the company's.
    pub async fn effective_sync_settings(
        &self,
        client: ClientId,
        company: CompanyId,
    ) -> Result<Vec<SyncSetting>, StoreError> {
        let (client_settings, company_settings) = stored_in(&self.pool, client, company).await?;
        Ok(effective(layer(&client_settings), layer(&company_settings)))
    }

    /// On a connection's first link: queues, in the linking transaction, every data type its platform offers
    /// that the company's settings fetch on first link, as the batch reporting read.completed.initial.
    pub(crate) async fn queue_first_link_pulls(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        client: ClientId,
        company: CompanyId,
        connection: ConnectionId,
        platform_key: &str,
    ) -> Result<(), StoreError> {
        let readable = self.readable_data_types(platform_key);
        if readable.is_empty() {
            return Ok(());
        }
        let settings = effective_in_tx(tx, client, company).await?;
        let requests: Vec<(ConnectionId, String)> = settings
            .into_iter()
            .filter(|setting| setting.fetch_on_first_link && readable.contains(&setting.data_type))
            .map(|setting| (connection, setting.data_type))
            .collect();
        if !requests.is_empty() {
            self.queue_pulls_in_tx(tx, client, company, &requests, true)
                .await?;
        }
        Ok(())
    }

    /// The client's settings (`company` `None`) or one company's, if set.
    pub async fn sync_settings(
        &self,
        client: ClientId,
        company: Option<CompanyId>,
    ) -> Result<Option<StoredSyncSettings>, StoreError> {
        let row = sqlx::query(
            "SELECT settings, overrides_defaults FROM sync_settings WHERE client_id = $1 AND company_id = $2",
        )
        .bind(client.to_string())
        .bind(company.map(|id| id.to_string()).unwrap_or_default())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let overrides: i64 = row.try_get("overrides_defaults")?;
            Ok(StoredSyncSettings {
                settings: text(&row, "settings")?,
                overrides_defaults: overrides != 0,
            })
        })
        .transpose()
    }

    pub async fn set_sync_settings(
        &self,
        client: ClientId,
        company: Option<CompanyId>,
        settings: &StoredSyncSettings,
    ) -> Result<(), StoreError> {
        if let Some(company) = company {
            if !self.company_exists(client, company).await? {
                return Err(StoreError::NotFound);
            }
        }
        sqlx::query(
            "INSERT INTO sync_settings (client_id, company_id, settings, overrides_defaults) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (client_id, company_id) \
             DO UPDATE SET settings = excluded.settings, overrides_defaults = excluded.overrides_defaults",
        )
        .bind(client.to_string())
        .bind(company.map(|id| id.to_string()).unwrap_or_default())
        .bind(settings.settings.clone())
        .bind(i64::from(settings.overrides_defaults))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
