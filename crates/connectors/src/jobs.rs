//! The data worker: runs queued pull and push operations through the connectors, and the scheduler that
//! queues pulls when a data type's sync schedule says it is due.
//!
//! Operations are claimed from the database with a lease that a heartbeat renews while the work runs, so any
//! number of workers in any number of processes share the queue and a worker that dies mid-operation only
//! delays it: once the lease runs out another worker resumes the pull from its last written page. Transient
//! platform failures put the operation back in the queue with a backoff (never shorter than the platform's
//! Retry-After) until the attempts run out.

use std::sync::Arc;
use std::time::Duration;

use linkwell_domain::connection::ConnectionStatus;
use linkwell_domain::time::Timestamp;
use linkwell_store::{
    pull_status, ClaimedPull, ClaimedPush, PullRecord, PulledRecord, PushOutcome, Store, StoreError,
};
use serde_json::{json, Value};

use crate::data::{Connector, ConnectorError, PushKind, UnmappedPage};
use crate::tokens::ConnectionRef;

/// Finds the connector of a platform.
pub trait ConnectorSource: Send + Sync {
    fn connector(&self, platform_key: &str) -> Option<Arc<dyn Connector>>;
}

/// The current time; tests move it to make retries due without waiting.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

#[derive(Clone)]
pub struct WorkerConfig {
    /// How long a claim holds an operation without a heartbeat.
    pub lease: Duration,
    /// Records asked for per page.
    pub page_size: u32,
    /// Delays before each retry of a transiently failing operation; when they are used up it fails.
    pub backoff: Vec<Duration>,
    /// How often the queue is polled for work queued by other processes.
    pub poll: Duration,
    /// Operations run at once by one worker.
    pub concurrency: usize,
    pub clock: Clock,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(60),
            page_size: 500,
            backoff: vec![
                Duration::from_secs(5),
                Duration::from_secs(30),
                Duration::from_secs(120),
                Duration::from_secs(600),
            ],
            poll: Duration::from_secs(1),
            concurrency: 4,
            clock: Arc::new(Timestamp::now),
        }
    }
}

/// Runs pull and push operations.
#[derive(Clone)]
pub struct DataWorker {
    store: Store,
    connectors: Arc<dyn ConnectorSource>,
    config: WorkerConfig,
    owner: String,
}

/// What running one operation came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ran {
    /// Nothing was due.
    Idle,
    /// An operation was worked on (finished, failed, or put back for a retry).
    Worked,
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl DataWorker {
    pub fn new(store: Store, connectors: Arc<dyn ConnectorSource>, config: WorkerConfig) -> Self {
        Self {
            store,
            connectors,
            config,
            owner: format!("worker-{}", uuid::Uuid::new_v4()),
        }
    }

    fn now(&self) -> Timestamp {
        (self.config.clock)()
    }

    fn lease_until(&self) -> Timestamp {
        self.now().plus_millis(millis(self.config.lease))
    }

    /// Runs due operations until none is left (pulls first, then pushes). For tests and tools: the queue is
    /// driven step by step, with no timers.
    pub async fn drain(&self) -> Result<usize, StoreError> {
        let mut worked = 0;
        loop {
            let pulled = self.run_pull_once().await?;
            let pushed = self.run_push_once().await?;
            if pulled == Ran::Idle && pushed == Ran::Idle {
                return Ok(worked);
            }
            worked += 1;
        }
    }

    /// Works until `shutdown` resolves: `concurrency` loops, each claiming and running one operation at a
    /// time, woken by work queued in this process and by the poll interval.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()> + Send) {
        let mut loops = tokio::task::JoinSet::new();
        for _ in 0..self.config.concurrency.max(1) {
            let worker = self.clone();
            loops.spawn(async move { worker.work_loop().await });
        }
        shutdown.await;
        loops.shutdown().await;
    }

    async fn work_loop(&self) {
        loop {
            let ran = async {
                let pulled = self.run_pull_once().await?;
                let pushed = self.run_push_once().await?;
                Ok::<_, StoreError>(pulled == Ran::Worked || pushed == Ran::Worked)
            }
            .await;
            match ran {
                Ok(true) => continue,
                Ok(false) => {}
                Err(error) => tracing::warn!(%error, "data worker could not reach the database"),
            }
            tokio::select! {
                _ = self.store.work_queued() => {}
                _ = tokio::time::sleep(self.config.poll) => {}
            }
        }
    }

    /// Claims the oldest due pull and runs it until it finishes, fails, or is put back for a retry.
    pub async fn run_pull_once(&self) -> Result<Ran, StoreError> {
        let Some(mut pull) = self
            .store
            .claim_pull(&self.owner, self.now(), self.lease_until())
            .await?
        else {
            return Ok(Ran::Idle);
        };
        let heartbeat = self.heartbeat(pull.clone());
        let result = self.run_pull(&mut pull).await;
        heartbeat.abort();
        result?;
        Ok(Ran::Worked)
    }

    /// Renews the lease of a running pull every third of the lease.
    fn heartbeat(&self, pull: ClaimedPull) -> tokio::task::JoinHandle<()> {
        let store = self.store.clone();
        let lease = self.config.lease;
        let clock = self.config.clock.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(lease / 3).await;
                let until = clock().plus_millis(millis(lease));
                match store.renew_pull_lease(&pull, until).await {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(error) => tracing::warn!(%error, "could not renew a pull's lease"),
                }
            }
        })
    }

    async fn run_pull(&self, pull: &mut ClaimedPull) -> Result<(), StoreError> {
        let connection = match self
            .store
            .get_connection(pull.client_id, pull.company_id, pull.connection_id)
            .await
        {
            Ok(connection) => connection,
            Err(StoreError::NotFound) => return Ok(()),
            Err(error) => return Err(error),
        };
        if connection.status != ConnectionStatus::Linked {
            let status = if connection.status == ConnectionStatus::Deauthorized {
                pull_status::AUTH_ERROR
            } else {
                pull_status::CANCELLED
            };
            let message = format!("the connection is {}", connection.status.as_str());
            self.store.fail_pull(pull, status, &message).await?.ok();
            return Ok(());
        }
        let Some(connector) = self
            .connectors
            .connector(&connection.platform_key)
            .filter(|connector| connector.readable().contains(&pull.data_type.as_str()))
        else {
            let message = format!(
                "{} does not offer {}",
                connection.platform_name, pull.data_type
            );
            self.store
                .fail_pull(pull, pull_status::NOT_SUPPORTED, &message)
                .await?
                .ok();
            return Ok(());
        };
        let at = ConnectionRef::new(pull.client_id, pull.company_id, pull.connection_id);
        // Three things happen at once: a task of its own asks the platform for the pages ahead and has each
        // mapped into the standard model on a thread of its own as soon as it arrives (so pages are mapped side
        // by side when mapping is the slowest step), and this task has the database write the current one.
        let (pages, mut fetched) = tokio::sync::mpsc::channel(PAGES_AHEAD);
        let fetcher = tokio::spawn(fetch_pages(
            connector,
            at,
            pull.data_type.clone(),
            pull.cursor.clone(),
            pull.modified_since.clone(),
            self.config.page_size,
            pages,
        ));
        let _stop_fetching = AbortOnDrop(fetcher);
        let mut next = next_page(&mut fetched).await;
        loop {
            let (records, next_cursor) = match next {
                Ok(page) => page,
                Err(error) => return self.pull_failed(pull, error).await,
            };
            let write = self.store.write_pull_page(
                pull,
                &records,
                next_cursor.as_deref(),
                self.lease_until(),
            );
            if next_cursor.is_some() {
                let (written, following) = tokio::join!(write, next_page(&mut fetched));
                if written?.is_err() {
                    // Another worker has it now; it goes on from the last written page.
                    return Ok(());
                }
                next = following;
                continue;
            }
            if write.await?.is_ok() && self.store.complete_pull(pull).await?.is_ok() {
                tracing::info!(
                    pull = %pull.id,
                    data_type = %pull.data_type,
                    pages = pull.pages,
                    worker = %self.owner,
                    "pull complete"
                );
            }
            return Ok(());
        }
    }

    async fn pull_failed(
        &self,
        pull: &ClaimedPull,
        error: ConnectorError,
    ) -> Result<(), StoreError> {
        let (status, message) = match &error {
            ConnectorError::Refused(_) => (pull_status::AUTH_ERROR, error.to_string()),
            ConnectorError::NotSupported(_) => (pull_status::NOT_SUPPORTED, error.to_string()),
            ConnectorError::Transient {
                reason,
                retry_after,
                rate_limited,
            } => {
                let used = usize::try_from(pull.attempts.max(1) - 1).unwrap_or(usize::MAX);
                if let Some(delay) = self.config.backoff.get(used) {
                    let delay = retry_after.map_or(*delay, |asked| asked.max(*delay));
                    let run_after = self.now().plus_millis(millis(delay));
                    self.store.retry_pull(pull, run_after, reason).await?.ok();
                    return Ok(());
                }
                let status = if *rate_limited {
                    pull_status::RATE_LIMIT_ERROR
                } else {
                    pull_status::FETCH_ERROR
                };
                (status, error.to_string())
            }
            _ => (pull_status::FETCH_ERROR, error.to_string()),
        };
        self.store.fail_pull(pull, status, &message).await?.ok();
        Ok(())
    }

    /// Claims the oldest due push and runs it.
    pub async fn run_push_once(&self) -> Result<Ran, StoreError> {
        let Some(push) = self
            .store
            .claim_push(&self.owner, self.now(), self.lease_until())
            .await?
        else {
            return Ok(Ran::Idle);
        };
        let outcome = self.run_push(&push).await?;
        if let Some(outcome) = outcome {
            self.store.finish_push(&push, outcome).await?;
        }
        Ok(Ran::Worked)
    }

    /// How a push ended, or `None` when it was put back for a retry.
    async fn run_push(&self, push: &ClaimedPush) -> Result<Option<PushOutcome>, StoreError> {
        let failed = |status_code: i64, message: String| PushOutcome {
            status: "Failed",
            status_code,
            error_message: Some(message),
            validation: None,
            changes: None,
            record_id: None,
        };
        if let Some(deadline) = self.store.push_deadline(push).await? {
            if deadline <= self.now() {
                return Ok(Some(PushOutcome {
                    status: "TimedOut",
                    ..failed(
                        504,
                        "The push did not complete within its timeout".to_owned(),
                    )
                }));
            }
        }
        let record = &push.record;
        let connection = match self
            .store
            .get_connection(push.client_id, record.company_id, record.connection_id)
            .await
        {
            Ok(connection) => connection,
            Err(StoreError::NotFound) => {
                return Ok(Some(failed(404, "The connection was deleted".to_owned())))
            }
            Err(error) => return Err(error),
        };
        if connection.status != ConnectionStatus::Linked {
            return Ok(Some(failed(
                409,
                format!("The connection is {}", connection.status.as_str()),
            )));
        }
        let kind = match (record.kind.as_str(), &record.record_id) {
            ("Update", Some(id)) => PushKind::Update { id: id.clone() },
            ("Delete", Some(id)) => PushKind::Delete { id: id.clone() },
            _ => PushKind::Create,
        };
        let Some(connector) = self
            .connectors
            .connector(&connection.platform_key)
            .filter(|connector| connector.supports_push(&record.data_type, &kind))
        else {
            return Ok(Some(failed(
                400,
                format!(
                    "{} does not accept this push of {}",
                    connection.platform_name, record.data_type
                ),
            )));
        };
        let body: Value = match push.body.as_deref().map(serde_json::from_str).transpose() {
            Ok(body) => body.unwrap_or(Value::Null),
            Err(_) => return Ok(Some(failed(400, "The record is not JSON".to_owned()))),
        };
        let at = ConnectionRef::new(push.client_id, record.company_id, record.connection_id);
        // The operation's id is the platform's idempotency key: a retry after a lost answer (or after this
        // process died before recording the outcome) does not create the record twice.
        match connector
            .push(at, &record.data_type, &kind, &body, &record.id)
            .await
        {
            Ok(stored) => {
                let id = stored
                    .as_ref()
                    .map(|stored| stored.id.clone())
                    .or_else(|| record.record_id.clone());
                let change = match kind {
                    PushKind::Create => "Created",
                    PushKind::Update { .. } => "Modified",
                    PushKind::Delete { .. } => "Deleted",
                };
                let changes = json!([{
                    "type": change,
                    "recordRef": {"id": id, "dataType": record.data_type},
                    "attachmentId": null,
                }]);
                Ok(Some(PushOutcome {
                    status: "Success",
                    status_code: 200,
                    error_message: None,
                    validation: None,
                    changes: Some(changes.to_string()),
                    record_id: id,
                }))
            }
            Err(ConnectorError::Invalid(fields)) => Ok(Some(PushOutcome {
                validation: Some(validation_json(&fields).to_string()),
                ..failed(
                    400,
                    "The platform refused the record; see validation.errors".to_owned(),
                )
            })),
            Err(ConnectorError::Transient {
                reason,
                retry_after,
                ..
            }) => {
                let used = usize::try_from(push.attempts.max(1) - 1).unwrap_or(usize::MAX);
                match self.config.backoff.get(used) {
                    Some(delay) => {
                        let delay = retry_after.map_or(*delay, |asked| asked.max(*delay));
                        let run_after = self.now().plus_millis(millis(delay));
                        self.store.retry_push(push, run_after, &reason).await?;
                        Ok(None)
                    }
                    None => Ok(Some(failed(503, reason))),
                }
            }
            Err(error @ ConnectorError::Refused(_)) => Ok(Some(failed(401, error.to_string()))),
            Err(error @ ConnectorError::Conflict(_)) => Ok(Some(failed(409, error.to_string()))),
            Err(error @ ConnectorError::NotFound(_)) => Ok(Some(failed(404, error.to_string()))),
            Err(error) => Ok(Some(failed(400, error.to_string()))),
        }
    }
}

/// Codat's push `validation` object for field errors.
pub fn validation_json(fields: &[crate::data::FieldError]) -> Value {
    json!({
        "errors": fields.iter().map(|field| json!({
            "itemId": field.field,
            "message": field.message,
            "validatorName": "linkwell",
        })).collect::<Vec<_>>(),
        "warnings": [],
    })
}

/// Queues the pulls the sync schedule says are due.
#[derive(Clone)]
pub struct Scheduler {
    store: Store,
    clock: Clock,
}

impl Scheduler {
    pub fn new(store: Store, clock: Clock) -> Self {
        Self { store, clock }
    }

    /// One pass over every Linked connection: for each data type its platform offers whose schedule is set,
    /// queues a pull when the last one was requested at least `syncSchedule` hours ago (or never). Answers
    /// the pulls queued.
    pub async fn tick(&self) -> Result<Vec<PullRecord>, StoreError> {
        let now = (self.clock)();
        let mut queued = Vec::new();
        let mut after = 0;
        loop {
            let connections = self.store.linked_connections_page(after, 200).await?;
            let Some(last) = connections.last() else {
                return Ok(queued);
            };
            after = last.seq;
            for connection in &connections {
                let readable = self.store.readable_data_types(&connection.platform_key);
                let settings = self
                    .store
                    .effective_sync_settings(connection.client_id, connection.company_id)
                    .await?;
                let due: Vec<_> = settings
                    .iter()
                    .filter(|setting| setting.sync_schedule > 0)
                    .filter(|setting| readable.contains(&setting.data_type))
                    .filter(|setting| {
                        connection
                            .last_requested
                            .get(&setting.data_type)
                            .and_then(|at| Timestamp::parse_storage(at))
                            .is_none_or(|at| {
                                at.plus_seconds(setting.sync_schedule.saturating_mul(3600)) <= now
                            })
                    })
                    .map(|setting| (connection.id, setting.data_type.clone()))
                    .collect();
                if due.is_empty() {
                    continue;
                }
                let outcomes = self
                    .store
                    .queue_pulls(connection.client_id, connection.company_id, &due, false)
                    .await?;
                queued.extend(outcomes.into_iter().filter_map(|outcome| match outcome {
                    linkwell_store::QueueOutcome::Queued(pull) => Some(pull),
                    linkwell_store::QueueOutcome::AlreadyRunning(_) => None,
                }));
            }
        }
    }

    /// Ticks every `interval` until `shutdown` resolves.
    pub async fn run(self, interval: Duration, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            if let Err(error) = self.tick().await {
                tracing::warn!(%error, "the sync scheduler could not queue pulls");
            }
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tokio::time::sleep(interval) => {}
            }
        }
    }
}

impl ConnectorSource for crate::data::Connectors {
    fn connector(&self, platform_key: &str) -> Option<Arc<dyn Connector>> {
        self.get(platform_key)
    }
}

/// Pages fetched (and being mapped) ahead of the one being written, besides the one awaited next.
const PAGES_AHEAD: usize = 2;

/// A page in the standard model, as the store takes it: each record as JSON text, and the next cursor.
type MappedPage = Result<(Vec<PulledRecord>, Option<String>), ConnectorError>;

/// A page handed from the fetching task to the writing one: being mapped, or failed.
enum PageAhead {
    Mapping(tokio::task::JoinHandle<MappedPage>),
    Failed(ConnectorError),
}

/// The next page, once mapped.
async fn next_page(fetched: &mut tokio::sync::mpsc::Receiver<PageAhead>) -> MappedPage {
    match fetched.recv().await {
        Some(PageAhead::Mapping(mapping)) => mapping
            .await
            .unwrap_or_else(|_| Err(ConnectorError::Failed("mapping a page failed".to_owned()))),
        Some(PageAhead::Failed(error)) => Err(error),
        None => Err(ConnectorError::Failed(
            "the platform's pages stopped before the last".to_owned(),
        )),
    }
}

/// Asks the platform for one page after another, from `cursor` to the last page or the first failure, and
/// hands them over in order, each already being mapped on a blocking thread. Stops when the receiving side is
/// gone.
async fn fetch_pages(
    connector: Arc<dyn Connector>,
    at: ConnectionRef,
    data_type: String,
    mut cursor: Option<String>,
    modified_since: Option<String>,
    page_size: u32,
    pages: tokio::sync::mpsc::Sender<PageAhead>,
) {
    loop {
        let page = connector
            .fetch_unmapped_page(
                at,
                &data_type,
                cursor.as_deref(),
                modified_since.as_deref(),
                page_size,
            )
            .await;
        let (next, ahead) = match page {
            Ok(page) => (
                page.next_cursor.clone(),
                PageAhead::Mapping(tokio::task::spawn_blocking(move || mapped(page))),
            ),
            Err(error) => (None, PageAhead::Failed(error)),
        };
        if pages.send(ahead).await.is_err() {
            return;
        }
        match next {
            Some(next) => cursor = Some(next),
            None => return,
        }
    }
}

/// A fetched page as the store takes it: each record in the standard model as JSON text.
fn mapped(page: UnmappedPage) -> MappedPage {
    let next_cursor = page.next_cursor.clone();
    let records = page
        .map_json()?
        .into_iter()
        .map(|record| PulledRecord {
            id: record.id,
            source_modified: Some(record.source_modified),
            deleted: record.deleted,
            body: record.body,
        })
        .collect();
    Ok((records, next_cursor))
}

/// Aborts a task when dropped, so that no fetching outlives the pull it was for.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
