#![forbid(unsafe_code)]
//! linkwell's storage. One implementation serves SQLite and PostgreSQL through sqlx's `Any` driver: the SQL is
//! written once in the common subset both databases speak (`$n` placeholders, partial unique indexes,
//! `ON CONFLICT`), and each database has its own migrations for the few places where their DDL differs.
//!
//! Every query that reads or changes a tenant's data takes the [`ClientId`](linkwell_domain::ids::ClientId) and
//! filters on it; a row of another client is indistinguishable from a missing row.
//!
//! Timestamps are fixed-width UTC text (see `linkwell_domain::time`), ids are hyphenated UUID text.

mod cache;
mod clients;
mod companies;
mod connections;
mod credentials;
mod data;
mod data_filter;
mod database;
mod error;
mod events;
pub mod filter;
mod idempotency;
mod linking;
mod push;
mod quota;
mod records;
mod sync_settings;
#[cfg(test)]
mod test_support;
mod webhooks;

pub use cache::ListingCacheStats;
pub use clients::{hash_api_key, ApiKeyRecord, NewApiKey, MAX_API_KEYS_PER_CLIENT};
pub use companies::{CompanyChanges, CompanyFilter, CompanyPageJson, NewCompany};
pub use connections::{ChangeDetails, ConnectionListing, NewConnection};
pub use credentials::{SealedCredentials, SealedRow, SealedTable, StoredCredentials};
pub use data::{
    pull_status, ClaimedPull, DataStatusRecord, LeaseLost, LinkedConnection, PullRecord,
    PulledRecord, QueueOutcome, RecordListing, RecordsError, PULL_FIELDS,
};
pub use database::{Backend, Store, SQLITE_PRAGMAS};
pub use error::StoreError;
pub use events::{
    is_known_event_type, ConnectionEventKind, DomainEvent, EventRenderer, ReadSummary, EVENT_TYPES,
};
pub use idempotency::{IdempotencyBegin, IDEMPOTENCY_WINDOW_SECONDS};
pub use linking::{AttemptUse, LinkAttempt, NewLinkAttempt, ProfileRecord};
pub use push::{ClaimedPush, NewPush, PushOutcome, PushRecord, PUSH_FIELDS, PUSH_STATUSES};
pub use quota::{quota_day, QuotaUse};
pub use records::{CompanyRecord, ConnectionErrorRecord, ConnectionRecord, HistoryRecord};
pub use sync_settings::StoredSyncSettings;
pub use webhooks::{
    AttemptRecord, AttemptResult, ClaimedDelivery, ConsumerRecord, DeliveryRecord, FailurePolicy,
    NewConsumer, SealedSecret, StoredSecret, MAX_WEBHOOK_CONSUMERS,
};
