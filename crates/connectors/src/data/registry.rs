//! Which connector serves which platform.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::data::sandbox::{SandboxConnector, SandboxPlatform};
use crate::data::Connector;
use crate::tokens::TokenManager;

/// The connectors of the platforms linkwell can read and write, by platform key. Cheap to clone.
#[derive(Clone, Default)]
pub struct Connectors {
    by_key: BTreeMap<String, Arc<dyn Connector>>,
}

impl Connectors {
    /// No connectors; add them with [`Connectors::with`].
    pub fn new() -> Self {
        Self::default()
    }

    /// The three sandbox platforms (`mqjo`, `bnks`, `aiwb`), calling them with `tokens`.
    pub fn sandbox(tokens: TokenManager) -> Self {
        SandboxPlatform::ALL
            .into_iter()
            .fold(Self::new(), |connectors, platform| {
                connectors.with(
                    platform.key(),
                    Arc::new(SandboxConnector::new(platform, tokens.clone())),
                )
            })
    }

    /// These connectors, with `connector` serving `platform_key` (replacing any other).
    pub fn with(mut self, platform_key: &str, connector: Arc<dyn Connector>) -> Self {
        self.by_key.insert(platform_key.to_owned(), connector);
        self
    }

    /// The connector of `platform_key`, if linkwell has one.
    pub fn get(&self, platform_key: &str) -> Option<Arc<dyn Connector>> {
        self.by_key.get(platform_key).cloned()
    }

    /// The platform keys served, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.by_key.keys().map(String::as_str)
    }
}

impl std::fmt::Debug for Connectors {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_list().entries(self.keys()).finish()
    }
}
