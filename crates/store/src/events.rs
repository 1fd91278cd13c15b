//! The outbox. A change that clients hear about writes its event, and one delivery per matching webhook
//! consumer, in the same transaction as the change itself: a change is never reported without having
//! happened, and never happens without being reported.
//!
//! The store decides *when* an event happens; how its payload looks (Codat's shapes, public URLs) is the API
//! layer's business, given to the store once as an [`EventRenderer`].

use std::sync::Arc;

use linkwell_domain::ids::{ClientId, CompanyId, ConnectionId};
use linkwell_domain::time::Timestamp;
use sqlx::Row;

use crate::database::Store;
use crate::error::StoreError;
use crate::records::{text, CompanyRecord, ConnectionRecord};

/// Something that happened, with the records as they are at that moment.
#[derive(Debug, Clone, Copy)]
pub enum DomainEvent<'a> {
    CompanyCreated(&'a CompanyRecord),
    CompanyDeleted(&'a CompanyRecord),
    Connection {
        kind: ConnectionEventKind,
        company: &'a CompanyRecord,
        connection: &'a ConnectionRecord,
    },
    /// Every pull of a batch (one request, one link, one scheduled sync) has finished; `initial` for the
    /// batch queued when a connection was first linked.
    ReadCompleted {
        company: &'a CompanyRecord,
        initial: bool,
        modified_from: Option<&'a str>,
        data_types: &'a [ReadSummary],
    },
    /// A push operation finished (`Success`, `Failed` or `TimedOut`).
    Write {
        company: &'a CompanyRecord,
        push: &'a crate::push::PushRecord,
    },
    /// The client used the last request of its daily quota (`reached`), or a new day gave it back.
    RateLimit {
        reached: bool,
        daily_quota: i64,
        remaining: i64,
        /// When the current quota is renewed.
        expiry: Timestamp,
    },
}

/// One pull of a finished batch, for read.completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadSummary {
    pub connection_id: String,
    pub data_type: String,
    pub status: String,
    pub records_modified: bool,
}

/// Codat's connection event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionEventKind {
    Created,
    /// Linked for the first time.
    Connected,
    /// Linked again after being Unlinked or Deauthorized.
    Reconnected,
    /// Unlinked or Deauthorized.
    Disconnected,
    /// An authorization attempt failed.
    Failed,
    Deleted,
}

impl<'a> DomainEvent<'a> {
    pub fn event_type(&self) -> String {
        match self {
            DomainEvent::ReadCompleted { initial: true, .. } => "read.completed.initial".to_owned(),
            DomainEvent::ReadCompleted { .. } => "read.completed".to_owned(),
            DomainEvent::Write { push, .. } => {
                if push.status == "Success" {
                    format!("{}.write.successful", push.data_type)
                } else {
                    format!("{}.write.unsuccessful", push.data_type)
                }
            }
            _ => self.fixed_event_type().to_owned(),
        }
    }

    fn fixed_event_type(&self) -> &'static str {
        match self {
            DomainEvent::ReadCompleted { .. } | DomainEvent::Write { .. } => "",
            DomainEvent::CompanyCreated(_) => "company.created",
            DomainEvent::CompanyDeleted(_) => "company.deleted",
            DomainEvent::Connection { kind, .. } => match kind {
                ConnectionEventKind::Created => "connection.created",
                ConnectionEventKind::Connected => "connection.connected",
                ConnectionEventKind::Reconnected => "connection.reconnected",
                ConnectionEventKind::Disconnected => "connection.disconnected",
                ConnectionEventKind::Failed => "connection.failed",
                ConnectionEventKind::Deleted => "connection.deleted",
            },
            DomainEvent::RateLimit { reached: true, .. } => "client.rateLimit.reached",
            DomainEvent::RateLimit { reached: false, .. } => "client.rateLimit.reset",
        }
    }

    /// The company the event is about; client-wide events have none.
    pub fn company(&self) -> Option<&'a CompanyRecord> {
        match self {
            DomainEvent::CompanyCreated(company) | DomainEvent::CompanyDeleted(company) => {
                Some(company)
            }
            DomainEvent::Connection { company, .. }
            | DomainEvent::ReadCompleted { company, .. }
            | DomainEvent::Write { company, .. } => Some(company),
            DomainEvent::RateLimit { .. } => None,
        }
    }

    pub fn connection_id(&self) -> Option<ConnectionId> {
        match self {
            DomainEvent::Connection { connection, .. } => Some(connection.id),
            DomainEvent::Write { push, .. } => Some(push.connection_id),
            _ => None,
        }
    }
}

/// Every event type a webhook consumer can subscribe to.
pub const EVENT_TYPES: &[&str] = &[
    "company.created",
    "company.deleted",
    "connection.created",
    "connection.connected",
    "connection.failed",
    "connection.disconnected",
    "connection.reconnected",
    "connection.deleted",
    "read.completed",
    "read.completed.initial",
    "client.rateLimit.reached",
    "client.rateLimit.reset",
];

/// Whether `event_type` is one a consumer may subscribe to: one of [`EVENT_TYPES`], or
/// `{dataType}.write.successful` / `{dataType}.write.unsuccessful` for a known data type.
pub fn is_known_event_type(event_type: &str) -> bool {
    if EVENT_TYPES.contains(&event_type) {
        return true;
    }
    let data_type = event_type
        .strip_suffix(".write.successful")
        .or_else(|| event_type.strip_suffix(".write.unsuccessful"));
    data_type.is_some_and(|data_type| linkwell_domain::integration::DATA_TYPES.contains(&data_type))
}

/// Turns an event into its payload, in the API's shapes.
pub trait EventRenderer: Send + Sync {
    fn payload(&self, event: &DomainEvent<'_>) -> serde_json::Value;
}

/// Reads the tags of a company inside a transaction, for events about it.
pub(crate) async fn company_in_tx(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    client: ClientId,
    company: CompanyId,
) -> Result<CompanyRecord, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {} FROM companies c WHERE c.id = $1 AND c.client_id = $2",
        crate::companies::COMPANY_COLUMNS
    ))
    .bind(company.to_string())
    .bind(client.to_string())
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(StoreError::NotFound)?;
    crate::companies::company_from_row(&row)
}

impl Store {
    /// Sets how event payloads are rendered (once, at start-up). Until it is set, no event is written.
    pub fn set_event_renderer(&self, renderer: Arc<dyn EventRenderer>) {
        let _ = self.events.renderer.set(renderer);
    }

    /// Writes `event` and its deliveries inside `tx`.
    pub(crate) async fn emit(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        client: ClientId,
        event: DomainEvent<'_>,
    ) -> Result<(), StoreError> {
        let Some(renderer) = self.events.renderer.get() else {
            return Ok(());
        };
        let id = uuid::Uuid::new_v4().to_string();
        let now = Timestamp::now();
        let event_type = event.event_type();
        let body = serde_json::json!({
            "id": id,
            "eventType": event_type,
            "generatedDate": now.to_storage(),
            "payload": renderer.payload(&event),
        });
        let connection = event.connection_id().map(|id| id.to_string());
        let company = event.company();
        let row = sqlx::query(
            "INSERT INTO events (id, client_id, event_type, company_id, connection_id, generated, body) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq",
        )
        .bind(id)
        .bind(client.to_string())
        .bind(event_type.clone())
        .bind(company.map(|company| company.id.to_string()))
        .bind(connection.clone())
        .bind(now.to_storage())
        .bind(body.to_string())
        .fetch_one(&mut **tx)
        .await?;
        let event_seq: i64 = row.try_get(0)?;
        let consumers = sqlx::query(
            "SELECT id, event_types, company_tags FROM webhook_consumers \
             WHERE client_id = $1 AND disabled = 0",
        )
        .bind(client.to_string())
        .fetch_all(&mut **tx)
        .await?;
        // Events about one company, and so about each of its connections, reach a consumer in the order they
        // happened (a connection's deletion before its company's, say).
        let ordering_key =
            company.map_or_else(|| "client".to_owned(), |company| company.id.to_string());
        let mut subscribers = Vec::new();
        for consumer in &consumers {
            let event_types: Vec<String> = parse_json(&text(consumer, "event_types")?)?;
            if !event_types.contains(&event_type) {
                continue;
            }
            let company_tags: Option<String> = consumer.try_get("company_tags")?;
            let company_tags: Vec<String> = match company_tags {
                Some(tags) => parse_json(&tags)?,
                None => Vec::new(),
            };
            // The tag filter selects companies; client-wide events go to every subscriber.
            if let Some(company) = company.filter(|_| !company_tags.is_empty()) {
                if !company_tags.iter().any(|tag| {
                    tag.split_once(':').is_some_and(|(key, value)| {
                        company.tags.get(key).is_some_and(|held| held == value)
                    })
                }) {
                    continue;
                }
            }
            subscribers.push(text(consumer, "id")?);
        }
        let delivered = !subscribers.is_empty();
        // One statement for all of the event's deliveries (a client has at most 50 consumers).
        if delivered {
            let rows = (0..subscribers.len())
                .map(|i| {
                    format!(
                        "(${}, ${}, $1, $2, 'Pending', 0, $3, $3)",
                        4 + 2 * i,
                        5 + 2 * i
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO webhook_deliveries (id, consumer_id, event_seq, ordering_key, status, attempts, \
                 next_attempt_at, created) VALUES {rows}"
            );
            let mut insert = sqlx::query(&sql)
                .bind(event_seq)
                .bind(ordering_key)
                .bind(now.to_storage());
            for consumer in subscribers {
                insert = insert.bind(uuid::Uuid::new_v4().to_string()).bind(consumer);
            }
            insert.execute(&mut **tx).await?;
        }
        if delivered {
            self.events
                .pending
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        Ok(())
    }

    /// Wakes the dispatcher of this process if a committed transaction wrote deliveries.
    pub(crate) fn announce_deliveries(&self) {
        if self
            .events
            .pending
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            self.events.wake.notify_waiters();
            self.events.wake.notify_one();
        }
    }

    /// Resolves when this process commits new deliveries (or at once if some were committed since the last
    /// wait). Other processes' deliveries are found by polling.
    pub async fn deliveries_committed(&self) {
        self.events.wake.notified().await;
    }

    /// Wakes this process's data workers: a pull or push was queued.
    pub(crate) fn announce_work(&self) {
        self.events.work.notify_waiters();
        self.events.work.notify_one();
    }

    /// Resolves when this process queues a pull or push (other processes' work is found by polling).
    pub async fn work_queued(&self) {
        self.events.work.notified().await;
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|error| StoreError::Corrupt(error.to_string()))
}

/// The data types a platform can be pulled for, by platform key.
pub type ReadableTypes = Arc<dyn Fn(&str) -> Vec<String> + Send + Sync>;

/// What the store keeps for events: the renderer and the dispatcher's wake-up call.
#[derive(Default)]
pub struct EventHub {
    pub(crate) renderer: std::sync::OnceLock<Arc<dyn EventRenderer>>,
    pub(crate) pending: std::sync::atomic::AtomicBool,
    pub(crate) wake: tokio::sync::Notify,
    pub(crate) work: tokio::sync::Notify,
    /// The data types each platform can be pulled for, by platform key: linking a connection queues the ones
    /// its sync settings fetch on first link.
    pub(crate) readable: std::sync::OnceLock<ReadableTypes>,
}

impl std::fmt::Debug for EventHub {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("EventHub")
            .field("renderer", &self.renderer.get().is_some())
            .finish_non_exhaustive()
    }
}
