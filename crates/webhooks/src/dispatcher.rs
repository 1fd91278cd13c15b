//! The dispatcher: works through due deliveries in the outbox, signs and sends them, and records each
//! attempt. Any number of dispatchers (in one process or several on one PostgreSQL) share the work through
//! leased claims; each delivery is attempted by one of them at a time, and events about one connection reach
//! a consumer in order.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use linkwell_connectors::keys::webhook_secret_binding;
use linkwell_connectors::Keys;
use linkwell_domain::time::Timestamp;
use linkwell_store::{AttemptResult, ClaimedDelivery, FailurePolicy, Store, StoreError};

use crate::schedule::RetrySchedule;
use crate::secret::SigningSecret;
use crate::sender::Sender;

/// How a dispatcher behaves.
#[derive(Debug, Clone)]
pub struct DispatcherConfig {
    pub retries: RetrySchedule,
    /// A consumer failing every delivery for this long is disabled.
    pub disable_after: Duration,
    /// How long a claim lasts; longer than a delivery's timeout.
    pub lease: Duration,
    /// Deliveries claimed at once.
    pub batch: i64,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// How often to look for work committed by other processes (or retries coming due).
    pub poll: Duration,
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        Self {
            retries: RetrySchedule::default(),
            disable_after: Duration::from_secs(5 * 24 * 3600),
            lease: Duration::from_secs(60),
            batch: 256,
            concurrency: 64,
            poll: Duration::from_millis(250),
        }
    }
}

/// Sends the outbox's deliveries.
#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    keys: Arc<Keys>,
    sender: Sender,
    config: DispatcherConfig,
    owner: String,
}

impl Dispatcher {
    pub fn new(store: Store, keys: Arc<Keys>, sender: Sender, config: DispatcherConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                keys,
                sender,
                config,
                owner: format!("dispatcher-{}", uuid::Uuid::new_v4()),
            }),
        }
    }

    /// Runs until the task is dropped: delivers whatever is due, then waits for new work.
    pub async fn run(self) {
        loop {
            match self.run_once().await {
                Ok(0) => {
                    tokio::select! {
                        () = self.inner.store.deliveries_committed() => {}
                        () = tokio::time::sleep(self.inner.config.poll) => {}
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, "webhook dispatch failed; trying again shortly");
                    tokio::time::sleep(self.inner.config.poll).await;
                }
            }
        }
    }

    /// Claims one batch of due deliveries and attempts each. Answers how many were attempted.
    pub async fn run_once(&self) -> Result<usize, StoreError> {
        let inner = &self.inner;
        let now = Timestamp::now();
        let lease_until = now.plus_millis(inner.config.lease.as_millis() as i64);
        let claimed = inner
            .store
            .claim_deliveries(&inner.owner, now, lease_until, inner.config.batch)
            .await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        let mut secrets: HashMap<String, Arc<Vec<SigningSecret>>> = HashMap::new();
        for delivery in &claimed {
            if !secrets.contains_key(&delivery.consumer_id) {
                let opened = self.consumer_secrets(&delivery.consumer_id, now).await?;
                secrets.insert(delivery.consumer_id.clone(), Arc::new(opened));
            }
        }
        let count = claimed.len();
        let results: Vec<Result<(), StoreError>> = futures::stream::iter(claimed)
            .map(|delivery| {
                let secrets = secrets
                    .get(&delivery.consumer_id)
                    .cloned()
                    .unwrap_or_default();
                async move { self.attempt(delivery, &secrets).await }
            })
            .buffer_unordered(inner.config.concurrency.max(1))
            .collect()
            .await;
        results.into_iter().collect::<Result<(), StoreError>>()?;
        Ok(count)
    }

    async fn consumer_secrets(
        &self,
        consumer: &str,
        now: Timestamp,
    ) -> Result<Vec<SigningSecret>, StoreError> {
        let sealed = self.inner.store.webhook_secrets(consumer, now).await?;
        let mut opened = Vec::with_capacity(sealed.len());
        for secret in sealed {
            let plain = self.inner.keys.open(
                &secret.sealed,
                &webhook_secret_binding(consumer, &secret.id),
            );
            match plain
                .ok()
                .and_then(|plain| String::from_utf8(plain.to_vec()).ok())
                .and_then(|text| SigningSecret::parse(&text).ok())
            {
                Some(secret) => opened.push(secret),
                None => tracing::error!(
                    consumer,
                    "a webhook signing secret does not open; check the encryption keys"
                ),
            }
        }
        Ok(opened)
    }

    async fn attempt(
        &self,
        delivery: ClaimedDelivery,
        secrets: &[SigningSecret],
    ) -> Result<(), StoreError> {
        let inner = &self.inner;
        let result = if secrets.is_empty() {
            AttemptResult {
                success: false,
                status_code: None,
                error: Some("the consumer's signing secret is not readable".to_owned()),
                duration_ms: 0,
            }
        } else {
            let signers: Vec<&SigningSecret> = secrets.iter().collect();
            let outcome = inner
                .sender
                .deliver(
                    &delivery.url,
                    &delivery.event_id,
                    chrono::Utc::now().timestamp(),
                    delivery.body.clone().into_bytes(),
                    &signers,
                )
                .await;
            AttemptResult {
                success: outcome.success,
                status_code: outcome.status,
                error: outcome.error,
                duration_ms: outcome.duration.as_millis() as i64,
            }
        };
        if !result.success {
            tracing::info!(delivery = %delivery.id, status = ?result.status_code, error = ?result.error, "webhook delivery failed");
        }
        inner
            .store
            .record_delivery_attempt(
                &delivery,
                &result,
                FailurePolicy {
                    retries: inner.config.retries.delays(),
                    disable_after: inner.config.disable_after,
                },
            )
            .await
    }

    /// Gives this dispatcher's claims back (on shutdown).
    pub async fn release(&self) -> Result<u64, StoreError> {
        self.inner
            .store
            .release_delivery_leases(Some(&self.inner.owner))
            .await
    }
}
