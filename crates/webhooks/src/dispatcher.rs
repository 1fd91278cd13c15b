//! The dispatcher: works through due deliveries in the outbox, signs and sends them, and records each
//! attempt. Any number of dispatchers (in one process or several on one PostgreSQL) share the work through
//! leased claims; each delivery is attempted by one of them at a time, and events about one connection reach
//! a consumer in order.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use linkwell_connectors::keys::webhook_secret_binding;
use linkwell_connectors::Keys;
use linkwell_domain::time::Timestamp;
use linkwell_store::{AttemptResult, ClaimedDelivery, FailurePolicy, Store, StoreError};
use tokio::sync::{mpsc, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

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
    /// Deliveries claimed at once, at most.
    pub batch: i64,
    /// Deliveries claimed and not yet recorded (being sent, or sent and waiting for their record), at most.
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
            concurrency: 256,
            poll: Duration::from_millis(250),
        }
    }
}

/// Attempts recorded in one transaction, at most.
const RECORD_BATCH: usize = 512;

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
    /// Opened signing secrets by consumer, with the version they are of.
    secrets: Mutex<HashMap<String, VersionedSecrets>>,
}

/// A consumer's opened signing secrets and the version of them (see [`ClaimedDelivery::secret_version`]).
type VersionedSecrets = (i64, Arc<[OpenedSecret]>);

#[derive(Clone)]
struct OpenedSecret {
    secret: SigningSecret,
    retires_at: Option<Timestamp>,
}

/// A delivery that has been attempted, holding its place among the in-flight ones until it is recorded.
struct Attempted {
    delivery: ClaimedDelivery,
    result: AttemptResult,
    _slot: OwnedSemaphorePermit,
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
                secrets: Mutex::default(),
            }),
        }
    }

    /// Runs until the task is dropped. Deliveries are claimed while earlier ones are still being sent, up to
    /// `concurrency` at once; each is sent as soon as it is claimed, and the attempts that have finished are
    /// recorded together, in one transaction, while the next ones are sent.
    pub async fn run(self) {
        let inner = &self.inner;
        let slots = Arc::new(Semaphore::new(inner.config.concurrency.max(1)));
        let (finished, to_record) = mpsc::unbounded_channel();
        let recorded = Arc::new(Notify::new());
        let mut sending = JoinSet::new();
        sending.spawn(self.clone().record(to_record, recorded.clone()));
        loop {
            while sending.try_join_next().is_some() {}
            let free = slots.available_permits();
            if free == 0 {
                recorded.notified().await;
                continue;
            }
            let limit = (free as i64).min(inner.config.batch.max(1));
            match self.claim(limit).await {
                Ok(claimed) if claimed.is_empty() => {
                    tokio::select! {
                        () = inner.store.deliveries_committed() => {}
                        () = recorded.notified() => {}
                        () = tokio::time::sleep(inner.config.poll) => {}
                    }
                }
                Ok(claimed) => {
                    for (delivery, secrets) in claimed {
                        // Free: no more were claimed than there were free places.
                        let Ok(slot) = slots.clone().acquire_owned().await else {
                            return;
                        };
                        let this = self.clone();
                        let finished = finished.clone();
                        sending.spawn(async move {
                            let result = this.attempt(&delivery, &secrets).await;
                            let _ = finished.send(Attempted {
                                delivery,
                                result,
                                _slot: slot,
                            });
                        });
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "claiming webhook deliveries failed; trying again shortly");
                    tokio::time::sleep(inner.config.poll).await;
                }
            }
        }
    }

    /// Claims up to `limit` due deliveries, each with the consumer's current signing secrets.
    async fn claim(
        &self,
        limit: i64,
    ) -> Result<Vec<(ClaimedDelivery, Arc<[OpenedSecret]>)>, StoreError> {
        let inner = &self.inner;
        let now = Timestamp::now();
        let lease_until = now.plus_millis(inner.config.lease.as_millis() as i64);
        let claimed = inner
            .store
            .claim_deliveries(&inner.owner, now, lease_until, limit)
            .await?;
        let mut with_secrets = Vec::with_capacity(claimed.len());
        for delivery in claimed {
            let secrets = self.secrets_of(&delivery, now).await?;
            with_secrets.push((delivery, secrets));
        }
        Ok(with_secrets)
    }

    /// The consumer's signing secrets: opened once per version of them.
    async fn secrets_of(
        &self,
        delivery: &ClaimedDelivery,
        now: Timestamp,
    ) -> Result<Arc<[OpenedSecret]>, StoreError> {
        let consumer = &delivery.consumer_id;
        if let Some((version, secrets)) = self.cached_secrets(consumer) {
            if version == delivery.secret_version {
                return Ok(secrets);
            }
        }
        let sealed = self.inner.store.webhook_secrets(consumer, now).await?;
        let mut opened = Vec::with_capacity(sealed.len());
        let mut all_open = true;
        for stored in sealed {
            let plain = self.inner.keys.open(
                &stored.sealed.sealed,
                &webhook_secret_binding(consumer, &stored.sealed.id),
            );
            match plain
                .ok()
                .and_then(|plain| String::from_utf8(plain.to_vec()).ok())
                .and_then(|text| SigningSecret::parse(&text).ok())
            {
                Some(secret) => opened.push(OpenedSecret {
                    secret,
                    retires_at: stored.retires_at,
                }),
                None => {
                    all_open = false;
                    tracing::error!(
                        consumer,
                        "a webhook signing secret does not open; check the encryption keys"
                    );
                }
            }
        }
        let opened: Arc<[OpenedSecret]> = opened.into();
        // Secrets that did not all open are not kept: the next claim tries again (the keys may be fixed).
        if all_open {
            self.inner
                .secrets
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(consumer.clone(), (delivery.secret_version, opened.clone()));
        }
        Ok(opened)
    }

    fn cached_secrets(&self, consumer: &str) -> Option<VersionedSecrets> {
        self.inner
            .secrets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(consumer)
            .cloned()
    }

    /// Signs and sends one delivery with the secrets that sign now.
    async fn attempt(&self, delivery: &ClaimedDelivery, secrets: &[OpenedSecret]) -> AttemptResult {
        let now = Timestamp::now();
        let signers: Vec<&SigningSecret> = secrets
            .iter()
            .filter(|opened| opened.retires_at.is_none_or(|at| at > now))
            .map(|opened| &opened.secret)
            .collect();
        let result = if signers.is_empty() {
            AttemptResult {
                success: false,
                status_code: None,
                error: Some("the consumer's signing secret is not readable".to_owned()),
                duration_ms: 0,
            }
        } else {
            let outcome = self
                .inner
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
        result
    }

    /// Records finished attempts, as many at once as have finished (up to [`RECORD_BATCH`]), and wakes the
    /// claiming loop: their places are free, and the deliveries queued behind them may be due.
    async fn record(
        self,
        mut to_record: mpsc::UnboundedReceiver<Attempted>,
        recorded: Arc<Notify>,
    ) {
        let inner = &self.inner;
        let policy = FailurePolicy {
            retries: inner.config.retries.delays(),
            disable_after: inner.config.disable_after,
        };
        let mut batch: Vec<Attempted> = Vec::new();
        while let Some(first) = to_record.recv().await {
            batch.push(first);
            while batch.len() < RECORD_BATCH {
                match to_record.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            let attempts: Vec<(&ClaimedDelivery, &AttemptResult)> = batch
                .iter()
                .map(|done| (&done.delivery, &done.result))
                .collect();
            // Until the database takes the records, their places stay taken and nothing more is claimed.
            while let Err(error) = inner
                .store
                .record_delivery_attempts(&attempts, policy)
                .await
            {
                tracing::warn!(%error, "recording webhook attempts failed; trying again shortly");
                tokio::time::sleep(inner.config.poll).await;
            }
            batch.clear();
            recorded.notify_one();
        }
    }

    /// Gives this dispatcher's claims back (on shutdown).
    pub async fn release(&self) -> Result<u64, StoreError> {
        self.inner
            .store
            .release_delivery_leases(Some(&self.inner.owner))
            .await
    }
}
