//! What every handler shares.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use linkwell_connectors::jobs::ConnectorSource;
use linkwell_connectors::{Keys, LinkFlow, OAuthHttp, Platforms, TokenManager, TokenPolicy};
use linkwell_domain::ids::ClientId;
use linkwell_domain::integration::Catalogue;
use linkwell_store::Store;

/// The catalogue shipped with linkwell.
pub const BUILT_IN_CATALOGUE: &str = include_str!("../../../catalogue/integrations.json");

/// Cloned for every request, so it is one reference count, not one per field.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub store: Store,
    pub catalogue: Catalogue,
    /// Base of every URL the API hands out, without a trailing slash.
    pub public_url: String,
    pub(crate) keys: KeyCache,
    /// Authorization through the Link pages, and the tokens it obtains.
    pub link: LinkFlow,
    pub webhooks: WebhookSettings,
    /// Requests each client may make per UTC day; None for no limit.
    pub daily_quota: Option<i64>,
    /// The platforms' data APIs.
    pub connectors: Arc<dyn ConnectorSource>,
}

/// Builds the connectors over the token manager the API uses.
pub type ConnectorFactory = fn(TokenManager) -> Arc<dyn ConnectorSource>;

/// The connectors of the built-in platforms.
pub fn platform_connectors(tokens: TokenManager) -> Arc<dyn ConnectorSource> {
    Arc::new(linkwell_connectors::data::Connectors::sandbox(tokens))
}

/// What the webhooks API checks consumer URLs against.
#[derive(Debug, Clone, Default)]
pub struct WebhookSettings {
    /// `LINKWELL_WEBHOOKS_ALLOW_PRIVATE`: allow consumers on private, loopback and link-local addresses.
    pub allow_private: bool,
}

impl WebhookSettings {
    /// A consumer URL as stored: http(s), a host, no credentials, and (unless private addresses are allowed)
    /// not a literal private address. Names are checked on their resolved addresses at every delivery.
    pub fn check_consumer_url(&self, url: &str) -> Result<String, String> {
        let policy = linkwell_webhooks::UrlPolicy {
            allow_private: self.allow_private,
        };
        policy
            .check(url.trim())
            .map(|url| url.to_string())
            .map_err(|refusal| format!("url: {refusal}"))
    }
}

/// How linkwell reaches platforms: which ones, with which encryption keys and token policy.
pub struct Connectivity {
    pub platforms: Platforms,
    pub keys: Arc<Keys>,
    pub policy: TokenPolicy,
    /// How long a person has to complete authorization at a platform.
    pub attempt_ttl: std::time::Duration,
    pub webhooks: WebhookSettings,
    /// `LINKWELL_DAILY_QUOTA`: requests each client may make per UTC day; None for no limit.
    pub daily_quota: Option<i64>,
    pub connectors: ConnectorFactory,
}

impl Default for Connectivity {
    /// No platform to link to, and a throwaway key.
    fn default() -> Self {
        Self {
            platforms: Platforms::default(),
            keys: Arc::new(Keys::ephemeral()),
            policy: TokenPolicy::default(),
            attempt_ttl: linkwell_connectors::link::ATTEMPT_TTL,
            webhooks: WebhookSettings::default(),
            daily_quota: None,
            connectors: platform_connectors,
        }
    }
}

impl AppState {
    pub fn new(store: Store, catalogue: Catalogue, public_url: &str) -> Self {
        Self::with_connectivity(store, catalogue, public_url, Connectivity::default())
    }

    pub fn with_connectivity(
        store: Store,
        catalogue: Catalogue,
        public_url: &str,
        connectivity: Connectivity,
    ) -> Self {
        let public_url = public_url.trim_end_matches('/').to_owned();
        store.set_event_renderer(Arc::new(crate::events::CodatEvents {
            public_url: public_url.clone(),
        }));
        let tokens = TokenManager::new(
            store.clone(),
            Arc::new(connectivity.platforms),
            connectivity.keys,
            OAuthHttp::new(),
            connectivity.policy,
        );
        let connectors = (connectivity.connectors)(tokens.clone());
        let readable = connectors.clone();
        store.set_readable_data_types(Arc::new(move |platform: &str| {
            readable
                .connector(platform)
                .map(|connector| {
                    connector
                        .readable()
                        .iter()
                        .map(|t| (*t).to_owned())
                        .collect()
                })
                .unwrap_or_default()
        }));
        let link = LinkFlow::new(tokens, store.clone(), format!("{public_url}/link/callback"))
            .with_attempt_ttl(connectivity.attempt_ttl);
        Self(Arc::new(Shared {
            store,
            catalogue,
            public_url,
            keys: KeyCache::default(),
            link,
            webhooks: connectivity.webhooks,
            daily_quota: connectivity.daily_quota,
            connectors,
        }))
    }

    pub fn tokens(&self) -> &TokenManager {
        self.link.tokens()
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// How long a verified key is trusted without asking the database again. A key deleted through this process
/// stops working at once; one deleted through another process stops within this time.
const KEY_CACHE_TTL: Duration = Duration::from_secs(10);
const KEY_CACHE_CAPACITY: usize = 10_000;

/// Verified key hashes, so authentication costs no query on the hot path.
#[derive(Default)]
pub(crate) struct KeyCache {
    entries: RwLock<HashMap<String, (ClientId, Instant)>>,
}

impl KeyCache {
    pub(crate) fn get(&self, hash: &str) -> Option<ClientId> {
        let entries = self.entries.read().ok()?;
        let (client, at) = entries.get(hash)?;
        (at.elapsed() < KEY_CACHE_TTL).then_some(*client)
    }

    pub(crate) fn insert(&self, hash: String, client: ClientId) {
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= KEY_CACHE_CAPACITY {
                entries.retain(|_, (_, at)| at.elapsed() < KEY_CACHE_TTL);
                if entries.len() >= KEY_CACHE_CAPACITY {
                    entries.clear();
                }
            }
            entries.insert(hash, (client, Instant::now()));
        }
    }

    pub(crate) fn remove(&self, hash: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(hash);
        }
    }
}
