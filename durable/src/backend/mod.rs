//! The durable store: the [`Backend`] trait and its implementations.
//!
//! The contract is a lock/commit cycle. A worker fetches a work item (an orchestration
//! instance with its new messages, or an activity invocation) under a lock, runs it, and then
//! either commits its result atomically or abandons it. The store never interprets events: the
//! engine decides what a turn produced and the store persists it.
//!
//! All SQL of the crate lives below this module.
//!
//! # Writing a backend
//!
//! A store for one task hub implements [`Backend`]; the conformance suite
//! (`backend::conformance`, expanded per store by `conformance_suite!`) checks it. What the
//! trait's methods document comes down to these rules:
//!
//! - **Opaque payloads.** History events, message events and inputs are JSON to keep and hand
//!   back unchanged. Everything the store must act on is a field: the target instance and
//!   `visible_at` of an [`OrchestrationMessage`], the queue (`name`) of an
//!   [`ActivityRequest`], the status, output and failure of an [`OrchestrationCommit`], and a
//!   new execution's input and version in [`OrchestrationCommit::new_execution`] and
//!   [`NewInstance`]. A new instance's start message carries
//!   [`NewInstance::started_event`].
//! - **Inboxes.** Messages to an instance are handed out in arrival order; one
//!   `visible_at` in the future is held until then, judged by the store's clock. A fetch locks
//!   the instance with all its deliverable messages; messages arriving during the lock wait for
//!   the next fetch; [`Backend::abandon_orchestration`] puts the fetched ones back. Messages
//!   are delivered whatever their `execution_id`: the worker discards those of other
//!   executions. A commit's messages to an instance that does not exist are dropped.
//! - **Fencing.** A [`WorkItemLock`] is the store's own token. Every commit or abandon checks it
//!   in the same transaction and fails with [`BackendError::LockLost`], changing nothing, once
//!   the lock or lease is gone (expired and handed out again, or its instance purged or
//!   replaced; an orchestration commit whose instance another process deleted may answer
//!   [`BackendError::InstanceNotFound`] instead). So an activity result lands at most once,
//!   though the activity may run more than once.
//! - **Atomic commits.** Each `create_*` and `complete_*` call lands whole or not at all, and
//!   what it produced (messages, work items, wake-ups of other fetchers) becomes visible only
//!   once it is durable.
//! - **History** of an execution is appended to by each commit, with these exceptions, each
//!   in the same transaction as the rest of its call: a commit for a new execution deletes
//!   the other executions' histories; [`OrchestrationCommit::replace_history`] (a rewind)
//!   replaces the execution's history; and creating an instance over a finished one with its
//!   id deletes that one's history and leftover messages, so none reach the new instance.
//! - **Batches.** [`Backend::fetch_orchestrations`] and [`Backend::fetch_activities`] take up
//!   to `max` work items in one go (the worker asks for as many as it has free slots), waiting
//!   up to `wait` when there are none; a store should claim them in one round trip.
//! - **Leases** (stores several processes share). [`Backend::acquire_dispatch`] answers
//!   `true` for every handle. Instance locks expire after a lease that the store's own clock
//!   judges, then another handle may take the instance (with a new token). An activity work
//!   item's lease is [`Backend::activity_lease`]; the worker renews it through
//!   [`Backend::renew_activity`] while the activity runs and drops the run once that fails
//!   with `LockLost`. [`Backend::finished_instances`] lets a client wait for completion
//!   without polling when the store can announce it.
//! - **Errors** are [`BackendError`]s; each variant says what the worker does with it, and
//!   [`BackendError::is_retryable`] is how it asks.

mod codec;
#[cfg(test)]
mod conformance;
mod error;
pub mod postgres;
mod query;
pub mod sqlite;
mod wait;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

pub use error::BackendError;
pub use postgres::{PostgresBackend, PostgresOptions};
pub use query::{
    DEFAULT_PAGE_SIZE, ENTITY_ID_PREFIX, InstanceKind, InstancePage, InstanceQuery, PURGE_CHUNK,
    PURGEABLE_STATUSES, PurgeFilter, purge_in_chunks,
};
pub use sqlite::{SqliteBackend, SqliteOptions, Synchronous};

use crate::history::{
    EventKind, FailureDetails, HistoryEvent, OrchestrationMessage, OrchestrationRuntimeStatus,
    ParentInstance, TraceContext,
};

/// Result type of backend operations.
pub type Result<T, E = BackendError> = std::result::Result<T, E>;

/// What a queue feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueKind {
    /// Work items of one activity function.
    Activity,
    /// Inboxes of the instances of one orchestrator function.
    Orchestrator,
    /// Inboxes of the entities of one entity function.
    Entity,
}

impl QueueKind {
    /// `"activity"`, `"orchestrator"` or `"entity"`.
    pub fn as_str(self) -> &'static str {
        match self {
            QueueKind::Activity => "activity",
            QueueKind::Orchestrator => "orchestrator",
            QueueKind::Entity => "entity",
        }
    }
}

/// A queue to create at startup: one per registered function.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QueueSpec {
    /// The function name.
    pub name: String,
    /// What the queue feeds.
    pub kind: QueueKind,
}

/// Which activity queues one fetch may take work items from, and how many from each: a
/// worker's per-function concurrency limits, less what it already runs. Queues it does not
/// name are not limited.
///
/// A store never leases more items of a capped queue than its cap in one fetch, and none of
/// a queue capped at 0, so the work items of a saturated function stay queued (unleased) for
/// whoever has room, and never block the fetch of others.
#[derive(Debug, Clone, Default)]
pub struct QueueLimits {
    caps: BTreeMap<String, usize>,
    interrupt: Option<Arc<tokio::sync::Notify>>,
}

impl QueueLimits {
    /// No limit on any queue, and nothing to interrupt the wait.
    pub fn none() -> QueueLimits {
        QueueLimits::default()
    }

    /// Takes at most `cap` work items from queue `name` (none when 0).
    pub fn with_cap(mut self, name: impl Into<String>, cap: usize) -> QueueLimits {
        self.caps.insert(name.into(), cap);
        self
    }

    /// Ends the fetch's wait for work early, with nothing fetched, once `interrupt` is
    /// notified (`notify_one`, so a notification before the wait counts too): the caller's
    /// limits changed, and it fetches again with the new ones.
    pub fn with_interrupt(mut self, interrupt: Arc<tokio::sync::Notify>) -> QueueLimits {
        self.interrupt = Some(interrupt);
        self
    }

    /// The cap of queue `name`; `None` when it is not limited.
    pub fn cap(&self, name: &str) -> Option<usize> {
        self.caps.get(name).copied()
    }

    /// The capped queues with their caps, by name.
    pub fn caps(&self) -> impl Iterator<Item = (&str, usize)> {
        self.caps.iter().map(|(name, cap)| (name.as_str(), *cap))
    }

    /// Completes when the wait is interrupted (see [`QueueLimits::with_interrupt`]); never
    /// without an interrupt.
    pub async fn interrupted(&self) {
        match &self.interrupt {
            Some(interrupt) => interrupt.notified().await,
            None => std::future::pending().await,
        }
    }
}

/// The observable state of one queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStats {
    /// The function name.
    pub name: String,
    /// What the queue feeds.
    pub kind: QueueKind,
    /// Messages or work items waiting (including ones currently locked by a worker).
    pub depth: u64,
    /// When the oldest waiting entry was enqueued.
    pub oldest_enqueued_at: Option<DateTime<Utc>>,
}

/// An orchestration instance as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceRecord {
    /// The instance id.
    pub instance_id: String,
    /// The orchestrator function name.
    pub name: String,
    /// The current execution id.
    pub execution_id: String,
    /// The runtime status.
    pub runtime_status: OrchestrationRuntimeStatus,
    /// The input of the current execution.
    pub input: Value,
    /// The orchestration version of the current execution; empty if none.
    pub version: String,
    /// The output (or termination reason) once finished; `Null` before.
    pub output: Value,
    /// The custom status last set by the orchestrator; `Null` if none.
    pub custom_status: Value,
    /// Set when the instance failed.
    pub failure: Option<FailureDetails>,
    /// When the instance was created.
    pub created_at: DateTime<Utc>,
    /// When the instance last changed.
    pub last_updated_at: DateTime<Utc>,
}

/// A request to create an instance (client `start_new`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewInstance {
    /// The instance id.
    pub instance_id: String,
    /// The orchestrator function name.
    pub name: String,
    /// The execution id of the first execution.
    pub execution_id: String,
    /// The input.
    pub input: Value,
    /// Creation time; also the timestamp of the `ExecutionStarted` message.
    pub created_at: DateTime<Utc>,
    /// The orchestration version; empty if none.
    pub version: String,
    /// The orchestration that started this one, for a sub-orchestration.
    pub parent: Option<ParentInstance>,
    /// When its first turn may run (a scheduled start); it stays `Pending` until then,
    /// judged by the store's clock. `None`: at once.
    pub start_at: Option<DateTime<Utc>>,
    /// Its first execution's span in a distributed trace, recorded in its `ExecutionStarted`.
    pub trace: Option<TraceContext>,
}

impl NewInstance {
    /// The message that starts the instance: its [`started_event`](Self::started_event),
    /// deliverable from [`start_at`](Self::start_at).
    pub fn start_message(&self) -> OrchestrationMessage {
        OrchestrationMessage {
            visible_at: self.start_at,
            instance_id: self.instance_id.clone(),
            execution_id: Some(self.execution_id.clone()),
            event: self.started_event(),
        }
    }

    /// The `ExecutionStarted` event that begins the instance's first execution.
    pub fn started_event(&self) -> HistoryEvent {
        HistoryEvent::new(
            self.created_at,
            EventKind::ExecutionStarted {
                name: self.name.clone(),
                execution_id: self.execution_id.clone(),
                input: self.input.clone(),
                version: self.version.clone(),
                parent_instance: self.parent.clone(),
                trace_context: self.trace.clone(),
            },
        )
    }
}

/// The execution a commit begins (an instance's first turn, or the first turn after
/// `continue_as_new`): what the store records about it on the instance. The worker fills it,
/// so the store never reads it out of the execution's `ExecutionStarted` event.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionStart {
    /// The execution's input.
    pub input: Value,
    /// The execution's orchestration version; empty if none.
    pub version: String,
}

/// A sub-orchestration to start with a turn's commit.
#[derive(Debug, Clone, PartialEq)]
pub struct SubOrchestrationStart {
    /// The child instance. Created (replacing a finished instance with that id) with its
    /// `ExecutionStarted` message queued, as [`Backend::create_instance`] does.
    pub instance: NewInstance,
    /// Delivered instead when an unfinished instance already has the child's id: the
    /// parent's notice that the call failed.
    pub if_exists: OrchestrationMessage,
}

/// The opaque lock of a fetched work item. Only the backend that issued it reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkItemLock {
    /// Backend-specific lock token (fencing value).
    pub token: u64,
    /// Backend-specific ids of the messages or work item covered by the lock.
    pub ids: Vec<i64>,
}

/// An orchestration instance with the new messages of its next turn, locked for one worker.
#[derive(Debug, Clone)]
pub struct OrchestrationWorkItem {
    /// The instance's stored state when it was fetched.
    pub instance: InstanceRecord,
    /// New messages, in arrival order.
    pub messages: Vec<OrchestrationMessage>,
    /// How many events the current execution's history holds.
    pub history_len: u64,
    /// How many times [`Backend::fetch_orchestrations`] has locked the instance since its
    /// last commit, this time included (1 when its previous turn committed). The store
    /// records it durably before handing the item out, so a turn that crashes its process
    /// still counts; abandons and expired locks count too, and every commit resets it. The
    /// worker quarantines an instance locked more often than its configured limit instead
    /// of running the turn again. 0 from [`Backend::try_lock_orchestration`], which does not
    /// count.
    pub attempt: u32,
    /// The lock to pass back on commit or abandon.
    pub lock: WorkItemLock,
}

/// Everything one orchestrator turn produced, committed atomically.
#[derive(Debug, Clone, PartialEq)]
pub struct OrchestrationCommit {
    /// The execution the turn ran.
    pub execution_id: String,
    /// Set when this commit begins `execution_id`: its input and version become the
    /// instance's. `None` for a turn of an execution already under way.
    pub new_execution: Option<ExecutionStart>,
    /// Events to append to that execution's history, in order.
    pub new_events: Vec<HistoryEvent>,
    /// The instance's status after the turn.
    pub status: OrchestrationRuntimeStatus,
    /// The output when the execution finished.
    pub output: Value,
    /// The custom status after the turn.
    pub custom_status: Value,
    /// Failure details when the execution failed.
    pub failure: Option<FailureDetails>,
    /// Activity invocations to enqueue.
    pub activities: Vec<ActivityRequest>,
    /// Messages to deliver to instances (this one or others).
    pub messages: Vec<OrchestrationMessage>,
    /// Sub-orchestrations to create.
    pub sub_orchestrations: Vec<SubOrchestrationStart>,
    /// `new_events` is the execution's whole history, replacing what is stored (a rewind
    /// rewrites history); otherwise they are appended.
    pub replace_history: bool,
    /// An activity work item whose result is among `new_events` (the turn was run by the
    /// worker that produced the result, see [`Backend::try_lock_orchestration`]); it is removed
    /// in the same transaction, and the commit fails with [`BackendError::LockLost`] if its
    /// lease is no longer held.
    pub completed_activity: Option<WorkItemLock>,
}

/// One activity invocation requested by an orchestrator.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityRequest {
    /// The calling instance.
    pub instance_id: String,
    /// The calling execution.
    pub execution_id: String,
    /// `event_id` of the `TaskScheduled` event.
    pub task_scheduled_id: i64,
    /// Activity function name (also its queue).
    pub name: String,
    /// The activity's input.
    pub input: Value,
}

/// An activity invocation leased to one worker.
#[derive(Debug, Clone)]
pub struct ActivityWorkItem {
    /// What to run.
    pub request: ActivityRequest,
    /// When it was enqueued.
    pub enqueued_at: DateTime<Utc>,
    /// How many times the item has been leased, this time included (1 on its first fetch).
    /// The store records it durably before handing the item out, so a run that crashes its
    /// process still counts; abandons and expired leases count too. The worker quarantines
    /// an item leased more often than its configured limit instead of running it again.
    pub attempt: u32,
    /// The lease to pass back on completion or abandon.
    pub lock: WorkItemLock,
}

/// What a dispatching store holds that is not yet done: see [`Backend::work_state`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkState {
    /// Whether any work is ready or in progress: an instance with messages to process or
    /// locked for a turn, an activity work item queued or leased, or a timer already due.
    pub runnable: bool,
    /// When the earliest timer message not yet delivered is due.
    pub next_timer: Option<DateTime<Utc>>,
}

/// A durable store for one task hub.
///
/// Implementations must make every `complete_*` call atomic: either everything it names is
/// durable when it returns `Ok`, or nothing is. Fetching waits for work with in-process
/// wake-ups, up to `wait`.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Makes this handle able to fetch work items (`fetch_orchestration`, `fetch_activity`);
    /// call it once before fetching. Returns `Ok(false)` when another process already
    /// dispatches this task hub and this store allows only one (SQLite); shared stores
    /// return `Ok(true)`. Idempotent.
    ///
    /// Fetching on a handle that has not acquired dispatch errors with
    /// [`BackendError::Store`].
    async fn acquire_dispatch(&self) -> Result<bool> {
        Ok(true)
    }

    /// Creates the queues (idempotent; existing queues keep their contents).
    async fn create_queues(&self, queues: &[QueueSpec]) -> Result<()>;

    /// Lists every queue of the task hub with its depth.
    async fn queue_stats(&self) -> Result<Vec<QueueStats>>;

    /// Creates an instance (with `instance.input` and `instance.version` on its record) and
    /// enqueues its [start message](NewInstance::start_message), held until
    /// [`start_at`](NewInstance::start_at) when that is set.
    ///
    /// Errors with [`BackendError::InstanceExists`] when an instance with that id exists and
    /// has not finished. A finished instance with that id is replaced: its history and its
    /// leftover messages are deleted in the same transaction.
    async fn create_instance(&self, instance: NewInstance) -> Result<()>;

    /// Creates an instance whose first turn has already run, in one transaction: the
    /// instance (with the turn's status), the turn's history (starting with its
    /// `ExecutionStarted`), its activities and messages. No `ExecutionStarted` message is
    /// queued. Errors as [`Backend::create_instance`]; `first_turn.completed_activity` must be
    /// `None`.
    ///
    /// A process that hosts the orchestrator uses it to start an instance with one commit
    /// instead of two.
    async fn create_instance_with_turn(
        &self,
        instance: NewInstance,
        first_turn: OrchestrationCommit,
    ) -> Result<()>;

    /// Enqueues a message to an existing instance.
    ///
    /// Errors with [`BackendError::InstanceNotFound`] when there is no such instance.
    async fn send_message(&self, message: OrchestrationMessage) -> Result<()>;

    /// Locks up to `max` instances that have messages (at least one when `max` is 0), in
    /// arrival order of their oldest message, waiting up to `wait` for the first; empty when
    /// none came. A shared store claims them in one round trip.
    ///
    /// Each lock bumps the instance's [`attempt`](OrchestrationWorkItem::attempt) count
    /// before the item is returned (in the claim's own transaction where the store has one).
    /// The write need only survive a crash of the process, not of the machine: it is the
    /// process's own crashes that it counts.
    async fn fetch_orchestrations(
        &self,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<OrchestrationWorkItem>>;

    /// Locks the next instance that has messages, waiting up to `wait` for one:
    /// [`fetch_orchestrations`](Backend::fetch_orchestrations) of one.
    async fn fetch_orchestration(&self, wait: Duration) -> Result<Option<OrchestrationWorkItem>> {
        Ok(self.fetch_orchestrations(1, wait).await?.pop())
    }

    /// Appends a turn's events, updates the instance, enqueues what it produced, creates the
    /// sub-orchestrations it started and removes the messages it consumed, in one
    /// transaction; then releases the lock.
    ///
    /// A commit for an execution other than the instance's current one (`continue_as_new`)
    /// makes it current and deletes the histories of the instance's other executions; its
    /// [`new_execution`](OrchestrationCommit::new_execution) gives the instance's new input
    /// and version. A commit with [`replace_history`](OrchestrationCommit::replace_history)
    /// replaces the execution's stored history with its `new_events`, in the same
    /// transaction (a rewind).
    ///
    /// Errors with [`BackendError::LockLost`] if the lock is no longer held.
    async fn complete_orchestration(
        &self,
        lock: &WorkItemLock,
        commit: OrchestrationCommit,
    ) -> Result<()>;

    /// Releases the lock without consuming the messages; they are fetched again. The attempt
    /// the fetch counted stands: the turn ran, or tried to.
    async fn abandon_orchestration(&self, lock: &WorkItemLock) -> Result<()>;

    /// Puts a fetched instance back without having run its turn: as
    /// [`abandon_orchestration`](Backend::abandon_orchestration), and the attempt the fetch
    /// counted is taken back. A worker that runs suspect items one at a time gives back the
    /// others it fetched with one.
    async fn release_orchestration(&self, lock: &WorkItemLock) -> Result<()>;

    /// Locks one instance right away, with its pending messages (possibly none), when nobody
    /// holds its lock and this store has its state at hand; `Ok(None)` otherwise.
    ///
    /// A worker that has just produced an activity result uses it to run the instance's next
    /// turn itself and commit both at once (see [`OrchestrationCommit::completed_activity`]),
    /// saving a commit and a dispatch. The lock is not counted as an attempt (the item's
    /// `attempt` is 0): the activity whose result the turn applies counts its own. The
    /// default never locks.
    async fn try_lock_orchestration(
        &self,
        _instance_id: &str,
    ) -> Result<Option<OrchestrationWorkItem>> {
        Ok(None)
    }

    /// Leases up to `max` activity work items (at least one when `max` is 0), oldest first,
    /// waiting up to `wait` for the first; empty when none came. Of a queue that `limits`
    /// caps it leases at most the cap (none when 0), leaving the rest queued and unleased;
    /// the wait also ends, with nothing leased, when `limits` is interrupted. A lease lasts the
    /// backend's configured lease duration unless renewed ([`Backend::renew_activity`]); an
    /// item whose lease expires is fetched again.
    ///
    /// Each lease bumps the item's [`attempt`](ActivityWorkItem::attempt) count, durably and
    /// before the item is returned (in the claim's own transaction where the store has one),
    /// so that an item whose run crashes the process is counted even though nothing
    /// abandons it.
    async fn fetch_activities(
        &self,
        max: usize,
        limits: &QueueLimits,
        wait: Duration,
    ) -> Result<Vec<ActivityWorkItem>>;

    /// Leases the next activity work item of any queue, waiting up to `wait` for one:
    /// [`fetch_activities`](Backend::fetch_activities) of one.
    async fn fetch_activity(&self, wait: Duration) -> Result<Option<ActivityWorkItem>> {
        Ok(self.fetch_activities(1, &QueueLimits::none(), wait).await?.pop())
    }

    /// How long an activity lease lasts unless renewed; a worker running an activity renews
    /// its lease well within it. `None` when leases never expire while the process holding
    /// them lives.
    fn activity_lease(&self) -> Option<Duration>;

    /// Extends an activity work item's lease by the lease duration, from now.
    ///
    /// Errors with [`BackendError::LockLost`] when the lease is gone (expired and taken over,
    /// completed, or its instance purged): the worker stops waiting for that run's result.
    async fn renew_activity(&self, lock: &WorkItemLock) -> Result<()>;

    /// Removes the work item and delivers its result message, in one transaction.
    ///
    /// Errors with [`BackendError::LockLost`] if the lease expired and the item was re-leased
    /// or already completed; the result is then dropped.
    async fn complete_activity(
        &self,
        lock: &WorkItemLock,
        result: OrchestrationMessage,
    ) -> Result<()>;

    /// Releases the lease; the item is fetched again. The attempt the fetch counted stands.
    async fn abandon_activity(&self, lock: &WorkItemLock) -> Result<()>;

    /// Releases the lease of an activity work item whose run did not count: never started,
    /// or stopped by a shutdown. As [`abandon_activity`](Backend::abandon_activity), and the
    /// attempt the fetch counted is taken back.
    async fn release_activity(&self, lock: &WorkItemLock) -> Result<()>;

    /// For a store that several processes share: the ids of instances that reach a final
    /// status, in commits of any process on the store, as a hint (a lagging receiver misses
    /// some), so that a process's waiting clients wake at once. `None` (the default) where
    /// only this process runs the instances.
    fn finished_instances(&self) -> Option<tokio::sync::broadcast::Receiver<String>> {
        None
    }

    /// What this dispatching handle holds that is not yet done (for a test host with
    /// virtual time: when nothing is runnable, the app waits for the next timer).
    ///
    /// The state must never read idle while work exists: moving work on (a commit that
    /// consumes a message and produces others, an activity result replacing its work item)
    /// must be atomic with respect to it.
    ///
    /// Errors with [`BackendError::Store`] when the handle does not dispatch, or when the
    /// store does not support it (the default).
    async fn work_state(&self) -> Result<WorkState> {
        Err(BackendError::Store {
            message: "this store does not report its work state".to_owned(),
            retryable: false,
        })
    }

    /// Reads an instance.
    async fn get_instance(&self, instance_id: &str) -> Result<Option<InstanceRecord>>;

    /// Reads the history of an instance's execution, in order.
    async fn get_history(&self, instance_id: &str, execution_id: &str)
    -> Result<Vec<HistoryEvent>>;

    /// Lists one page of the instances matching `query`, ordered by creation time, then
    /// instance id; the page's continuation token (`None` on the last page) fetches the next.
    /// Paging is stable: an instance that exists throughout and keeps matching is returned
    /// exactly once, however many instances are created between pages.
    ///
    /// Errors with [`BackendError::InvalidQuery`] when the page size is 0 or the continuation
    /// token is malformed (not one this backend issued).
    async fn list_instances(&self, query: &InstanceQuery) -> Result<InstancePage>;

    /// How many orchestration instances (entities left out) the task hub holds in each
    /// runtime status; statuses no instance has are left out.
    async fn count_instances(&self) -> Result<Vec<(OrchestrationRuntimeStatus, u64)>>;

    /// Deletes finished instances with everything stored for them (every execution's
    /// history, pending messages and activity work items), in one transaction; returns how
    /// many instances were deleted. A purged id can be used again.
    ///
    /// [`PurgeFilter::Instance`] of an unfinished instance errors with
    /// [`BackendError::InstanceNotFinished`], and one of an unknown instance deletes nothing.
    /// [`PurgeFilter::Created`] skips unfinished instances and entities, and errors with
    /// [`BackendError::InvalidQuery`] when its statuses name an unfinished one.
    /// [`PurgeFilter::IdleEntity`] deletes the entity only while its execution is the one
    /// named and its inbox is empty. [`PurgeFilter::Everything`] deletes every instance,
    /// whatever its status. Nothing is changed when it errors.
    ///
    /// A worker still holding a lock or lease on a purged instance loses it: its commit fails
    /// with [`BackendError::LockLost`].
    async fn purge_instances(&self, filter: &PurgeFilter) -> Result<u64>;
}
