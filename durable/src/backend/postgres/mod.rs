//! The PostgreSQL store: a task hub that many app processes on many machines share.
//!
//! - **A schema per hub** (`durable_<hub>`), created with versioned migrations that run
//!   under an advisory lock, so processes may start at once.
//! - **Claims** take several instances (with their deliverable messages) or activity work
//!   items per statement, skipping rows another process is claiming (`FOR UPDATE SKIP
//!   LOCKED`). Each claim takes a lease that the database's clock judges and a new fencing
//!   token from one sequence.
//! - **Affinity**: an activity work item goes first to the process whose turn scheduled it,
//!   which then applies the result to the instance it holds in memory (no message, no
//!   replay); the others take it only when they have nothing of their own and it has
//!   waited past a short window (its owner is saturated or gone).
//! - **Fencing**: every commit, abandon or renewal names its token and changes nothing when
//!   the token is no longer the row's (another process took the lease over, or the instance
//!   was purged or replaced): it fails with [`BackendError::LockLost`] and rolls back whole.
//! - **Wake-ups**: committing transactions `pg_notify` the hub's channels; each dispatching
//!   process listens on one connection, and polls with backoff as well.
//! - Timestamps of durable semantics (timers, record times) come from the app's clock;
//!   leases from the database's.

mod batch;
mod claims;
mod coalesce;
mod columns;
mod listen;
mod pipeline;
mod reads;
mod rows;
mod schema;
mod writes;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use tokio::sync::watch;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use self::batch::Op;
use self::listen::Wakeups;
use self::rows::{nanos, pg_error, pool_error};
use self::writes::{activity_lease, lock_lost};
use super::{
    ActivityWorkItem, Backend, BackendError, InstancePage, InstanceQuery, InstanceRecord,
    NewInstance, OrchestrationCommit, OrchestrationWorkItem, PurgeFilter, QueueLimits, QueueSpec,
    QueueStats, Result, WorkItemLock, WorkState,
};
use crate::clock::Clock;
use crate::history::{HistoryEvent, OrchestrationMessage, OrchestrationRuntimeStatus};

/// The longest hub name: a hub's schema and notification channels must fit PostgreSQL's
/// 63-byte identifiers (Azure's own limit is 45 characters too).
const MAX_HUB_NAME: usize = 45;
/// Connections for claims: a few fetchers claim at once.
const CLAIM_CONNECTIONS: usize = 4;

/// Options of a [`PostgresBackend`].
#[derive(Debug, Clone, PartialEq)]
pub struct PostgresOptions {
    /// The task hub: its tables live in the schema `durable_<hub in lower case>`, so several
    /// hubs share a database. `"TestHubName"` by default.
    pub hub_name: String,
    /// How long an instance claimed for a turn stays locked to the process that claimed it,
    /// should that process stop; 30 seconds by default.
    pub lease: Duration,
    /// How long an activity work item stays leased to the worker that fetched it before it
    /// is handed out again (the worker renews the lease while the activity runs); 30
    /// seconds by default.
    pub activity_lease: Duration,
    /// Connections in the pool; 16 by default (claims use four more of their own).
    pub pool_size: usize,
    /// The time of durable semantics: when timers are due, record timestamps; the system
    /// clock by default. Leases are judged by the database's clock.
    pub clock: Clock,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            hub_name: "TestHubName".to_owned(),
            lease: Duration::from_secs(30),
            activity_lease: Duration::from_secs(30),
            pool_size: 16,
            clock: Clock::system(),
        }
    }
}

/// What a handle holds: its dispatch state and the locks and leases it issued.
#[derive(Default)]
struct Held {
    dispatching: bool,
    closed: bool,
    /// The instance of each orchestration lock this handle issued, by fencing token.
    instances: HashMap<u64, String>,
    /// The work item of each activity lease this handle issued and has not settled.
    activities: HashMap<u64, i64>,
}

/// A task hub in PostgreSQL.
///
/// ```no_run
/// # async fn open() -> Result<(), durable::backend::BackendError> {
/// use durable::backend::{PostgresBackend, PostgresOptions};
///
/// let options = PostgresOptions { hub_name: "Orders".to_owned(), ..Default::default() };
/// let store = PostgresBackend::connect("postgres://app@db.internal/durable", options).await?;
/// # Ok(()) }
/// ```
pub struct PostgresBackend {
    store: Arc<Store>,
}

/// What a [`PostgresBackend`] handle shares with the batches it commits in the background.
struct Store {
    pool: Pool,
    /// Connections for claims, which commit without waiting for the WAL flush: a claim
    /// that a server crash loses only means the work is claimed again, and the commit it
    /// leads to (flushed, and so flushing the claim first) names its owner as well as its
    /// token, so that a token the sequence hands out again after the crash fences nothing
    /// it should not.
    claim_pool: Pool,
    config: tokio_postgres::Config,
    options: PostgresOptions,
    schema: String,
    channels: [String; 3],
    /// Names this handle in `lock_owner` (host, process id, and a nonce, so that no other
    /// handle, now or after a restart, ever has the same), and in activity work items it
    /// schedules.
    owner: String,
    wakeups: Arc<Wakeups>,
    held: Mutex<Held>,
    stop: watch::Sender<bool>,
    /// Writes waiting to be committed together.
    queue: batch::Queue,
    /// Instances waiting to be claimed by id together.
    claims: claims::Claims,
}

impl std::fmt::Debug for PostgresBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresBackend")
            .field("target", &schema::target(&self.store.config))
            .field("schema", &self.store.schema)
            .finish_non_exhaustive()
    }
}

impl PostgresBackend {
    /// Connects to the server at `url` (`postgres://user[:password]@host[:port]/dbname`, or
    /// libpq's `key=value` form), and creates or upgrades the hub's schema.
    ///
    /// Errors with [`BackendError::Store`] naming the server (never the password) when it
    /// cannot be reached, refuses the login or lacks the database, and when the hub's schema
    /// was written by a newer version of this crate.
    pub async fn connect(url: &str, options: PostgresOptions) -> Result<PostgresBackend> {
        let hub = &options.hub_name;
        if hub.is_empty() || hub.len() > MAX_HUB_NAME {
            return Err(BackendError::Store {
                message: format!(
                    "task hub name `{hub}` must be 1 to {MAX_HUB_NAME} characters on PostgreSQL"
                ),
                retryable: false,
            });
        }
        let mut config = schema::parse_url(url)?;
        if config.get_application_name().is_none() {
            config.application_name("durable");
        }
        // A process stalled inside a transaction (paused, swapped out) must not keep its row
        // locks past its lease: the server ends such a session, and the rows are claimable.
        let timeout =
            format!("-c idle_in_transaction_session_timeout={}", options.lease.as_millis().max(1));
        let session_options = match config.get_options() {
            Some(given) => format!("{given} {timeout}"),
            None => timeout,
        };
        config.options(&session_options);
        let target = schema::target(&config);
        let pool = schema::pool(config.clone(), options.pool_size.max(2))?;
        schema::migrate(&pool, hub, &target).await?;
        let mut claim_config = config.clone();
        claim_config.options(format!("{session_options} -c synchronous_commit=off"));
        let claim_pool = schema::pool(claim_config, CLAIM_CONNECTIONS)?;
        let schema = schema::schema_name(hub);
        let owner = format!(
            "{}:{}:{}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".to_owned()),
            std::process::id(),
            &crate::history::new_id()[..8]
        );
        Ok(PostgresBackend {
            store: Arc::new(Store {
                pool,
                claim_pool,
                channels: listen::channels(&schema),
                config,
                options,
                schema,
                owner,
                wakeups: Arc::new(Wakeups::default()),
                held: Mutex::new(Held::default()),
                stop: watch::Sender::new(false),
                queue: batch::queue(),
                claims: claims::claims(),
            }),
        })
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &PostgresOptions {
        &self.store.options
    }

    /// Releases every lock and lease this handle holds (so other processes take the work
    /// over at once), stops listening, and makes every later call fail with
    /// [`BackendError::Closed`]. Idempotent.
    pub async fn close(&self) {
        let (instances, activities) = {
            let mut held = self.store.held();
            if held.closed {
                return;
            }
            let instances: Vec<(u64, String)> = held.instances.drain().collect();
            let activities: Vec<(u64, i64)> = held.activities.drain().collect();
            (instances, activities)
        };
        for (token, instance_id) in instances {
            let _ = self.store.unlock_instance(&instance_id, token, false).await;
        }
        for (token, id) in activities {
            let _ = self.store.unlock_activity(id, token, false).await;
        }
        self.store.held().closed = true;
        self.store.stop.send_replace(true);
        self.store.wakeups.wake_all();
        self.store.pool.close();
    }
}

impl Store {
    fn held(&self) -> MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now(&self) -> DateTime<Utc> {
        self.options.clock.now()
    }

    /// `sql` with `{s}` replaced by the hub's schema.
    fn sql(&self, sql: &str) -> String {
        sql.replace("{s}", &self.schema)
    }

    fn hold(&self, token: u64, instance_id: &str) {
        self.held().instances.insert(token, instance_id.to_owned());
    }

    /// The instance an orchestration lock of this handle covers.
    fn locked_instance(&self, lock: &WorkItemLock) -> Result<(String, i64)> {
        let held = self.held();
        if held.closed {
            return Err(BackendError::Closed);
        }
        match (held.instances.get(&lock.token), i64::try_from(lock.token)) {
            (Some(instance_id), Ok(token)) => Ok((instance_id.clone(), token)),
            _ => Err(lock_lost(format!("orchestration lock {}", lock.token))),
        }
    }

    fn check_open(&self, dispatch: bool) -> Result<()> {
        let held = self.held();
        if held.closed {
            return Err(BackendError::Closed);
        }
        if dispatch && !held.dispatching {
            return Err(BackendError::Store {
                message: "this handle does not dispatch the task hub: call `acquire_dispatch` \
                          before fetching work"
                    .to_owned(),
                retryable: false,
            });
        }
        Ok(())
    }

    /// Runs one statement (prepared once per pooled connection) on its own.
    async fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        query_on(&self.pool, sql, params).await
    }

    async fn query_opt(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Option<Row>> {
        Ok(self.query(sql, params).await?.into_iter().next())
    }

    async fn query_one(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Row> {
        self.query_opt(sql, params).await?.ok_or_else(|| BackendError::Store {
            message: "PostgreSQL answered no row where one was due".to_owned(),
            retryable: false,
        })
    }

    /// Runs one statement; returns how many rows it changed.
    async fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let statement = client.prepare_cached(sql).await.map_err(pg_error)?;
        client.execute(&statement, params).await.map_err(pg_error)
    }

    /// Wakes this process's fetchers after a commit (others hear its `pg_notify`).
    fn wake_local(&self, orchestrations: bool, activities: bool) {
        if orchestrations {
            self.wakeups.orchestrations.notify_waiters();
        }
        if activities {
            self.wakeups.activities.notify_waiters();
        }
    }

    /// Releases an instance lock without consuming its messages; with `take_back`, also the
    /// attempt its claim counted (the turn never ran).
    async fn release_instance(&self, lock: &WorkItemLock, take_back: bool) -> Result<()> {
        let (instance_id, _) = self.locked_instance(lock)?;
        self.held().instances.remove(&lock.token);
        if self.unlock_instance(&instance_id, lock.token, take_back).await? == 0 {
            return Err(lock_lost(format!("instance `{instance_id}`")));
        }
        Ok(())
    }

    /// Releases an activity lease; with `take_back`, also the attempt its claim counted.
    async fn release_activity(&self, lock: &WorkItemLock, take_back: bool) -> Result<()> {
        let (id, _) = activity_lease(lock)?;
        self.held().activities.remove(&lock.token);
        if self.unlock_activity(id, lock.token, take_back).await? == 0 {
            return Err(lock_lost(format!("activity work item {id}")));
        }
        Ok(())
    }

    /// Clears an instance's lock if `token` still holds it, taking back one attempt when
    /// `take_back`; returns whether it did (1 or 0).
    async fn unlock_instance(&self, instance_id: &str, token: u64, take_back: bool) -> Result<u64> {
        let released = self
            .execute(
                &self.sql(
                    "UPDATE {s}.instances SET lock_owner = NULL, lock_until = NULL, \
                       attempts = CASE WHEN $4 THEN greatest(attempts - 1, 0) ELSE attempts END \
                     WHERE instance_id = $1 AND lock_token = $2 AND lock_owner = $3",
                ),
                &[&instance_id, &i64::try_from(token).unwrap_or(-1), &self.owner, &take_back],
            )
            .await?;
        self.wakeups.orchestrations.notify_waiters();
        Ok(released)
    }

    /// Clears an activity work item's lease if `token` still holds it, taking back one
    /// attempt when `take_back`.
    async fn unlock_activity(&self, id: i64, token: u64, take_back: bool) -> Result<u64> {
        let released = self
            .execute(
                &self.sql(
                    "UPDATE {s}.activity_items \
                     SET lock_until = NULL, shared_at = clock_timestamp(), \
                       attempts = CASE WHEN $3 THEN greatest(attempts - 1, 0) ELSE attempts END \
                     WHERE id = $1 AND lock_token = $2",
                ),
                &[&id, &i64::try_from(token).unwrap_or(-1), &take_back],
            )
            .await?;
        self.wakeups.activities.notify_waiters();
        Ok(released)
    }
}

/// Runs one statement on a connection of `pool`; the rows it answers.
async fn query_on(pool: &Pool, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
    let client = pool.get().await.map_err(pool_error)?;
    let statement = client.prepare_cached(sql).await.map_err(pg_error)?;
    client.query(&statement, params).await.map_err(pg_error)
}

impl Drop for PostgresBackend {
    fn drop(&mut self) {
        // What it still holds is released by its leases expiring.
        self.store.stop.send_replace(true);
    }
}

#[async_trait]
impl Backend for PostgresBackend {
    async fn acquire_dispatch(&self) -> Result<bool> {
        let mut held = self.store.held();
        if held.closed {
            return Err(BackendError::Closed);
        }
        if !held.dispatching {
            held.dispatching = true;
            let listener = listen::Listener {
                config: self.store.config.clone(),
                channels: self.store.channels.clone(),
                owner: self.store.owner.clone(),
                wakeups: Arc::clone(&self.store.wakeups),
            };
            tokio::spawn(listen::listen(listener, self.store.stop.subscribe()));
        }
        Ok(true)
    }

    async fn create_queues(&self, queues: &[QueueSpec]) -> Result<()> {
        self.store.check_open(false)?;
        let kinds: Vec<&str> = queues.iter().map(|q| q.kind.as_str()).collect();
        let names: Vec<&str> = queues.iter().map(|q| q.name.as_str()).collect();
        self.store
            .execute(
                &self.store.sql(
                    "INSERT INTO {s}.queues (kind, name) \
                     SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING",
                ),
                &[&kinds, &names],
            )
            .await?;
        Ok(())
    }

    async fn queue_stats(&self) -> Result<Vec<QueueStats>> {
        self.store.check_open(false)?;
        self.store.read_queue_stats().await
    }

    async fn create_instance(&self, instance: NewInstance) -> Result<()> {
        self.store.check_open(false)?;
        self.store.submit(Op::create(&instance, None, nanos(&self.store.now()))?).await
    }

    async fn create_instance_with_turn(
        &self,
        instance: NewInstance,
        first_turn: OrchestrationCommit,
    ) -> Result<()> {
        self.store.check_open(false)?;
        let now = nanos(&self.store.now());
        self.store.submit(Op::create(&instance, Some(&first_turn), now)?).await
    }

    async fn send_message(&self, message: OrchestrationMessage) -> Result<()> {
        self.store.check_open(false)?;
        self.store.submit(Op::send(&message, nanos(&self.store.now()))?).await
    }

    async fn fetch_orchestrations(
        &self,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<OrchestrationWorkItem>> {
        let store = &self.store;
        store
            .claim_or_wait(
                wait,
                &store.wakeups.orchestrations,
                true,
                std::future::pending(),
                || store.claim_instances(max.max(1)),
            )
            .await
    }

    async fn complete_orchestration(
        &self,
        lock: &WorkItemLock,
        commit: OrchestrationCommit,
    ) -> Result<()> {
        let (instance_id, token) = self.store.locked_instance(lock)?;
        let now = nanos(&self.store.now());
        self.store.submit(Op::turn(&instance_id, token, &lock.ids, &commit, now)?).await?;
        let mut held = self.store.held();
        held.instances.remove(&lock.token);
        if let Some(lease) = &commit.completed_activity {
            held.activities.remove(&lease.token);
        }
        Ok(())
    }

    async fn abandon_orchestration(&self, lock: &WorkItemLock) -> Result<()> {
        self.store.release_instance(lock, false).await
    }

    async fn release_orchestration(&self, lock: &WorkItemLock) -> Result<()> {
        self.store.release_instance(lock, true).await
    }

    async fn try_lock_orchestration(
        &self,
        instance_id: &str,
    ) -> Result<Option<OrchestrationWorkItem>> {
        self.store.check_open(true)?;
        self.store.claim_instance(instance_id).await
    }

    async fn fetch_activities(
        &self,
        max: usize,
        limits: &QueueLimits,
        wait: Duration,
    ) -> Result<Vec<ActivityWorkItem>> {
        let store = &self.store;
        store
            .claim_or_wait(wait, &store.wakeups.activities, false, limits.interrupted(), || {
                store.claim_activities(max.max(1), limits)
            })
            .await
    }

    fn activity_lease(&self) -> Option<Duration> {
        Some(self.store.options.activity_lease)
    }

    async fn renew_activity(&self, lock: &WorkItemLock) -> Result<()> {
        let (id, token) = activity_lease(lock)?;
        self.store.check_open(false)?;
        let renewed = self
            .store
            .execute(
                &self.store.sql(
                    "UPDATE {s}.activity_items \
                     SET lock_until = clock_timestamp() + make_interval(secs => $3) \
                     WHERE id = $1 AND lock_token = $2",
                ),
                &[&id, &token, &self.store.options.activity_lease.as_secs_f64()],
            )
            .await?;
        if renewed == 0 {
            self.store.held().activities.remove(&lock.token);
            return Err(lock_lost(format!("activity work item {id}")));
        }
        Ok(())
    }

    async fn complete_activity(
        &self,
        lock: &WorkItemLock,
        result: OrchestrationMessage,
    ) -> Result<()> {
        self.store.check_open(false)?;
        let op = Op::result(lock, &result, nanos(&self.store.now()))?;
        let delivered = self.store.submit(op).await;
        if matches!(delivered, Ok(()) | Err(BackendError::LockLost { .. })) {
            self.store.held().activities.remove(&lock.token);
        }
        delivered
    }

    async fn abandon_activity(&self, lock: &WorkItemLock) -> Result<()> {
        self.store.check_open(false)?;
        self.store.release_activity(lock, false).await
    }

    async fn release_activity(&self, lock: &WorkItemLock) -> Result<()> {
        self.store.check_open(false)?;
        self.store.release_activity(lock, true).await
    }

    fn finished_instances(&self) -> Option<tokio::sync::broadcast::Receiver<String>> {
        Some(self.store.wakeups.finished.subscribe())
    }

    async fn work_state(&self) -> Result<WorkState> {
        self.store.check_open(true)?;
        self.store.read_work_state().await
    }

    async fn get_instance(&self, instance_id: &str) -> Result<Option<InstanceRecord>> {
        self.store.check_open(false)?;
        self.store.read_instance(instance_id).await
    }

    async fn get_history(
        &self,
        instance_id: &str,
        execution_id: &str,
    ) -> Result<Vec<HistoryEvent>> {
        self.store.check_open(false)?;
        self.store.read_history(instance_id, execution_id).await
    }

    async fn list_instances(&self, query: &InstanceQuery) -> Result<InstancePage> {
        let after = query.validate()?;
        self.store.check_open(false)?;
        self.store.read_page(query, after.as_ref()).await
    }

    async fn count_instances(&self) -> Result<Vec<(OrchestrationRuntimeStatus, u64)>> {
        self.store.check_open(false)?;
        self.store.read_counts().await
    }

    async fn purge_instances(&self, filter: &PurgeFilter) -> Result<u64> {
        filter.validate()?;
        self.store.check_open(false)?;
        self.store.purge(filter).await
    }
}
