//! Wiring linkwell to platforms: the encryption keys, the sandbox platforms and the background work that
//! keeps tokens fresh.

use std::sync::Arc;
use std::time::Duration;

use linkwell_connectors::keys::parse_key_list;
use linkwell_connectors::{Keys, Platforms, TokenManager};
use linkwell_domain::time::Timestamp;
use linkwell_sandbox::{OAuthClient, SandboxConfig};
use linkwell_store::Store;
use rand::RngCore;

use crate::config::Config;

/// The keys credentials are sealed with: `LINKWELL_ENCRYPTION_KEY`, else the key file, created with a new
/// key on first run.
pub fn load_keys(config: &Config) -> anyhow::Result<Arc<Keys>> {
    if let Some(keys) = &config.encryption_keys {
        let ring = parse_key_list(keys, "LINKWELL_ENCRYPTION_KEY")
            .map_err(|error| anyhow::anyhow!("LINKWELL_ENCRYPTION_KEY: {error}"))?;
        return Ok(Arc::new(Keys::fixed(ring)));
    }
    let path = &config.encryption_key_file;
    let (keys, created) = Keys::load_or_create_file(path)
        .map_err(|error| anyhow::anyhow!("LINKWELL_ENCRYPTION_KEY_FILE: {error}"))?;
    if created {
        tracing::warn!(
            file = %path.display(),
            "LINKWELL_ENCRYPTION_KEY is not set, so a new encryption key was generated into this file \
             (readable by its owner only). Back it up: without it stored credentials cannot be read."
        );
    }
    Ok(Arc::new(keys))
}

/// The sandbox's client secret for this run: the configured one, or a random one.
pub fn sandbox_secret(config: &Config) -> String {
    config.sandbox.client_secret.clone().unwrap_or_else(|| {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        bytes.iter().map(|byte| format!("{byte:02x}")).collect()
    })
}

/// The platforms linkwell can link: the sandbox ones, when reachable.
pub fn platforms(config: &Config, secret: &str) -> Platforms {
    match &config.sandbox.url {
        Some(url) => Platforms::sandbox(url, &config.sandbox.client_id, secret),
        None => Platforms::default(),
    }
}

/// The sandbox platforms' router, with linkwell registered as their OAuth client.
pub fn sandbox_router(config: &Config, secret: &str) -> axum::Router {
    linkwell_sandbox::router(SandboxConfig {
        access_token_ttl: config.sandbox.access_token_ttl,
        refresh_token_idle_ttl: config.sandbox.refresh_token_idle_ttl,
        clients: vec![OAuthClient {
            client_id: config.sandbox.client_id.clone(),
            client_secret: secret.to_owned(),
            redirect_uris: vec![format!("{}/link/callback", config.public_url)],
        }],
    })
}

/// Refreshes tokens that expire soon, every minute, so data calls rarely wait for a refresh.
pub async fn refresh_tokens_ahead(tokens: TokenManager) {
    let mut every = tokio::time::interval(Duration::from_secs(60));
    loop {
        every.tick().await;
        match tokens.refresh_expiring(200).await {
            Ok((0, 0)) => {}
            Ok((refreshed, lost)) => {
                tracing::info!(refreshed, lost, "tokens refreshed ahead of expiry")
            }
            Err(error) => tracing::warn!(%error, "refreshing tokens ahead of expiry failed"),
        }
    }
}

/// Picks up a key file changed by `linkwell keys rotate-encryption`, so new values are sealed with the new key.
pub async fn watch_key_file(keys: Arc<Keys>) {
    let mut every = tokio::time::interval(Duration::from_secs(5));
    loop {
        every.tick().await;
        match keys.reload_if_changed() {
            Ok(true) => tracing::info!(
                key = %keys.ring().current_key_id(),
                "encryption keys reloaded"
            ),
            Ok(false) => {}
            Err(error) => tracing::warn!(%error, "the encryption key file could not be read"),
        }
    }
}

/// Forgets authorization attempts a day after they expired.
pub async fn purge_link_attempts(store: &Store) {
    match store
        .purge_link_attempts(Timestamp::now().plus_seconds(-24 * 3600))
        .await
    {
        Ok(0) => {}
        Ok(purged) => tracing::info!(purged, "expired link attempts purged"),
        Err(error) => tracing::warn!(%error, "purging expired link attempts failed"),
    }
}

/// Re-encrypts every stored credential to the current key: after a new key is added to the key file (or
/// put first in `LINKWELL_ENCRYPTION_KEY`). Servers still sealing with the old key pick up a changed key
/// file within seconds, so the passes repeat until nothing is left under an older key.
pub async fn rotate(store: &Store, keys: &Keys) -> anyhow::Result<(u64, String)> {
    let mut total = 0;
    for pass in 0..30 {
        let report = linkwell_connectors::keys::reseal_all(store, keys).await?;
        total += report.resealed;
        if report.remaining == 0 {
            return Ok((total, keys.ring().current_key_id().to_string()));
        }
        tracing::info!(
            pass,
            remaining = report.remaining,
            "values sealed meanwhile under an older key; going again"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    anyhow::bail!("values are still being sealed with an older key; is a server running with an old LINKWELL_ENCRYPTION_KEY?")
}
