//! The embedded SQLite store: one file (or memory) per application, WAL, durable commits.
//!
//! - **One writer thread** owns the write connection. Every write is sent to it and
//!   committed in a group with whatever else is queued: one transaction, one fsync, however
//!   many operations. A caller is answered only after its commit is durable.
//! - **Reads** use separate connections (WAL lets them run beside the writer) on tokio's
//!   blocking pool. An in-memory store has a single connection and reads on the writer.
//! - **Dispatch**: exactly one process fetches the work of an SQLite task hub; it holds an
//!   exclusive lock on `<db path>.<hub>.dispatch.lock` (see [`Backend::acquire_dispatch`]) and keeps
//!   an in-memory index of the queues, so fetching never touches SQL. Any number of other
//!   processes may act as clients (create instances, send messages, read); the dispatching
//!   process picks up their rows at the start of each write transaction and every 50 ms
//!   when idle.
//! - Locks and leases live in the dispatching process's memory; a restart releases them.

mod codec;
mod index;
mod ops;
mod queries;
mod recovery;
mod schema;
mod writer;

#[cfg(test)]
mod tests;

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rusqlite::Connection;
use tokio::sync::oneshot;

use self::index::{Index, LockedInstance};
use self::writer::{Attempts, Op, Shared, WriteOp, Writer};
use super::{
    ActivityWorkItem, Backend, BackendError, InstancePage, InstanceQuery, InstanceRecord,
    NewInstance, OrchestrationCommit, OrchestrationWorkItem, PurgeFilter, QueueLimits, QueueSpec,
    QueueStats, Result, WorkItemLock, WorkState,
};
use crate::backend::wait::{deadline_after, until_due};
use crate::clock::Clock;
use crate::history::{HistoryEvent, OrchestrationMessage, OrchestrationRuntimeStatus};

/// How many idle read connections a file store keeps.
const MAX_IDLE_READERS: usize = 4;

/// How hard SQLite works to make each commit durable (`PRAGMA synchronous`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Synchronous {
    /// Every commit is fsynced before it is acknowledged: nothing acknowledged is lost, even
    /// on power loss (`synchronous = FULL`). The default.
    #[default]
    Full,
    /// Commits are fsynced at checkpoints only: an application crash loses nothing, a power
    /// loss or OS crash may lose the last commits (`synchronous = NORMAL`).
    Normal,
}

impl Synchronous {
    /// The `PRAGMA synchronous` level.
    pub(super) fn pragma(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

/// Options of a [`SqliteBackend`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    /// Commit durability; [`Synchronous::Full`] by default.
    pub synchronous: Synchronous,
    /// How long an activity work item stays leased to the worker that fetched it before it
    /// is handed out again, unless the worker renews it ([`Backend::renew_activity`]); 30
    /// seconds by default.
    pub activity_lease: Duration,
    /// The task hub: every row is scoped by it, so several applications can share a file;
    /// `"TestHubName"` by default (as in Azure's local development).
    pub hub_name: String,
    /// The time of durable semantics: when timers are due, record timestamps; the system
    /// clock by default. Activity leases and fetch waits stay on real time.
    pub clock: Clock,
    /// The most instances with no work whose records the dispatching handle keeps in memory
    /// (so that their next turn reads nothing); past it the longest idle are forgotten and
    /// read again when they next have work. 10,000 by default; the app uses its
    /// `maxCachedOrchestrations`, so the records match the live runs it keeps.
    pub max_idle_records: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            synchronous: Synchronous::Full,
            activity_lease: Duration::from_secs(30),
            hub_name: "TestHubName".to_owned(),
            clock: Clock::system(),
            max_idle_records: 10_000,
        }
    }
}

/// Idle read connections of a file store.
#[derive(Debug)]
struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    fn run<T>(&self, read: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => schema::open_reader(&self.path)?,
        };
        let result = read(&conn);
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        result
    }
}

/// The embedded SQLite store.
///
/// Open it with [`SqliteBackend::open`] (a file) or [`SqliteBackend::in_memory`] (tests).
/// Dropping it, or calling [`SqliteBackend::close`], stops its writer thread after the
/// writes already sent are committed.
#[derive(Debug)]
pub struct SqliteBackend {
    shared: Arc<Shared>,
    options: SqliteOptions,
    path: Option<PathBuf>,
    sender: Mutex<Option<Sender<Op>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    readers: Option<Arc<Readers>>,
    dispatch_lock: Mutex<Option<File>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SqliteBackend {
    /// Opens (creating if needed) the database file at `path`, switches it to WAL and applies
    /// the schema migrations it lacks.
    ///
    /// Errors with [`BackendError::Store`] when the file cannot be opened or was written by
    /// a newer version of this crate.
    ///
    /// The path `:memory:` opens a private in-memory database, as [`SqliteBackend::in_memory`].
    pub fn open(path: impl AsRef<Path>, options: SqliteOptions) -> Result<SqliteBackend> {
        let path = path.as_ref();
        if path == Path::new(":memory:") {
            return Self::start(None, options);
        }
        Self::start(Some(path.to_path_buf()), options)
    }

    /// Opens a private in-memory database (for tests): nothing survives the handle, and no
    /// other handle can see it.
    pub fn in_memory(options: SqliteOptions) -> Result<SqliteBackend> {
        Self::start(None, options)
    }

    fn start(path: Option<PathBuf>, options: SqliteOptions) -> Result<SqliteBackend> {
        let conn = schema::open_writer(path.as_deref(), options.synchronous)?;
        let shared = Arc::new(Shared {
            hub: options.hub_name.clone(),
            index: Mutex::new(Index::new(options.clock.clone(), options.max_idle_records)),
            clock: options.clock.clone(),
            orchestrations: tokio::sync::Notify::new(),
            activities: tokio::sync::Notify::new(),
        });
        let (sender, rx) = mpsc::channel();
        let writer = Writer {
            conn,
            shared: Arc::clone(&shared),
            rx,
            file_backed: path.is_some(),
            data_version: 0,
            synchronous: options.synchronous.pragma(),
            synced: true,
        };
        let thread = std::thread::Builder::new()
            .name("durable-sqlite-writer".to_owned())
            .spawn(move || writer.run())
            .map_err(|e| BackendError::Store {
                message: format!("cannot start the SQLite writer thread: {e}"),
                retryable: false,
            })?;
        let readers = path
            .as_ref()
            .map(|path| Arc::new(Readers { path: path.clone(), idle: Mutex::new(Vec::new()) }));
        Ok(SqliteBackend {
            shared,
            options,
            path,
            sender: Mutex::new(Some(sender)),
            thread: Mutex::new(Some(thread)),
            readers,
            dispatch_lock: Mutex::new(None),
        })
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &SqliteOptions {
        &self.options
    }

    /// The database file, or `None` for an in-memory store.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Stops the writer thread once the writes already sent are committed, releases the
    /// dispatch lock, and makes every later call fail with [`BackendError::Closed`].
    /// Idempotent.
    pub async fn close(&self) {
        let thread = self.shut_down();
        if let Some(thread) = thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }

    /// Stops accepting work and wakes the fetchers; returns the writer thread to join.
    fn shut_down(&self) -> Option<JoinHandle<()>> {
        lock(&self.sender).take();
        lock(&self.shared.index).closed = true;
        self.shared.orchestrations.notify_waiters();
        self.shared.activities.notify_waiters();
        let thread = lock(&self.thread).take();
        lock(&self.dispatch_lock).take();
        thread
    }

    fn send(&self, op: Op) -> Result<()> {
        let sender = lock(&self.sender);
        match sender.as_ref() {
            Some(sender) => sender.send(op).map_err(|_| BackendError::Closed),
            None => Err(BackendError::Closed),
        }
    }

    async fn write(&self, op: WriteOp) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        self.send(Op::Write(op, reply))?;
        answer.await.map_err(|_| BackendError::Closed)?
    }

    /// Runs a read on a read connection (or on the writer, for an in-memory store).
    async fn read<T, F>(&self, read: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &str) -> Result<T> + Send + 'static,
    {
        let hub = self.options.hub_name.clone();
        match &self.readers {
            Some(readers) => {
                if lock(&self.sender).is_none() {
                    return Err(BackendError::Closed);
                }
                let readers = Arc::clone(readers);
                tokio::task::spawn_blocking(move || readers.run(|conn| read(conn, &hub)))
                    .await
                    .map_err(|e| BackendError::Store {
                        message: format!("a read task failed: {e}"),
                        retryable: false,
                    })?
            }
            None => {
                let (reply, answer) = oneshot::channel();
                self.send(Op::Read(Box::new(move |conn| {
                    let _ = reply.send(read(conn, &hub));
                })))?;
                answer.await.map_err(|_| BackendError::Closed)?
            }
        }
    }

    /// Checks that this handle may fetch work.
    fn check_dispatch(index: &Index) -> Result<()> {
        if index.closed {
            return Err(BackendError::Closed);
        }
        if !index.dispatching {
            return Err(BackendError::Store {
                message: "this handle does not dispatch the task hub: call \
                          `acquire_dispatch` before fetching work"
                    .to_owned(),
                retryable: false,
            });
        }
        Ok(())
    }

    /// Completes a locked instance into a work item, reading its record (and history length)
    /// when the index does not hold it. `None` when the lock was lost meanwhile or the
    /// instance does not exist (its messages are then deleted).
    async fn work_item(&self, locked: LockedInstance) -> Result<Option<OrchestrationWorkItem>> {
        let LockedInstance { instance_id, lock: work_lock, messages, record, history_len } = locked;
        let (record, history_len) = match (record, history_len) {
            // A finished instance's cached record is read again: another process may have
            // purged it (its messages are then orphans). Such turns are rare and cheap.
            (Some(record), Some(len)) if !record.runtime_status.is_terminal() => (record, len),
            _ => {
                let id = instance_id.clone();
                let read = self
                    .read(move |conn, hub| {
                        let Some(record) = codec::get_instance(conn, hub, &id)? else {
                            return Ok(None);
                        };
                        let len = codec::history_len(conn, hub, &id, &record.execution_id)?;
                        Ok(Some((record, len)))
                    })
                    .await;
                match read {
                    Ok(Some((record, len))) => {
                        if !lock(&self.shared.index).cache_for_lock(work_lock.token, &record, len) {
                            return Ok(None);
                        }
                        (record, len)
                    }
                    Ok(None) => {
                        tracing::warn!(
                            instance = %instance_id,
                            messages = messages.len(),
                            "deleting messages to an instance that does not exist"
                        );
                        let dropped =
                            self.write(WriteOp::DropOrphans { token: work_lock.token }).await;
                        if let Err(error) = dropped {
                            // Release the lock, or the messages would never be fetched again.
                            let _ = lock(&self.shared.index).abandon_instance(work_lock.token);
                            self.shared.orchestrations.notify_waiters();
                            return Err(error);
                        }
                        return Ok(None);
                    }
                    Err(error) => {
                        let _ = lock(&self.shared.index).abandon_instance(work_lock.token);
                        self.shared.orchestrations.notify_waiters();
                        return Err(error);
                    }
                }
            }
        };
        Ok(Some(OrchestrationWorkItem {
            instance: record,
            messages,
            history_len,
            // Counted by the fetch; a lock taken by `try_lock_orchestration` is not.
            attempt: 0,
            lock: work_lock,
        }))
    }
}

impl SqliteBackend {
    /// Records one more attempt (`delta` 1) of each item just handed out, before it runs
    /// (locks and leases live only in memory, so a crash would otherwise leave no trace), or
    /// takes one back (-1); the new counts, in order.
    async fn count_attempts(&self, of: Attempts, delta: i32) -> Result<Vec<u32>> {
        let counts = Arc::new(Mutex::new(Vec::new()));
        self.write(WriteOp::CountAttempts { of, delta, counts: Arc::clone(&counts) }).await?;
        Ok(std::mem::take(&mut *lock(&counts)))
    }

    /// Counts an attempt of each activity work item just leased and sets its
    /// [`attempt`](ActivityWorkItem::attempt); see [`Self::count_fetched`].
    async fn count_activity_attempts(
        &self,
        items: Vec<ActivityWorkItem>,
    ) -> Result<Vec<ActivityWorkItem>> {
        let ids = items.iter().map(|item| item.lock.ids.first().copied().unwrap_or(0)).collect();
        let release = |index: &mut Index, item: &ActivityWorkItem| {
            let _ = index.abandon_activity(item.lock.token);
        };
        let attempt = |item: &mut ActivityWorkItem, count| item.attempt = count;
        let wake = &self.shared.activities;
        self.count_fetched(items, Attempts::Activities(ids), attempt, release, wake).await
    }

    /// Counts an attempt of each instance just locked for a turn and sets its
    /// [`attempt`](OrchestrationWorkItem::attempt); see [`Self::count_fetched`].
    async fn count_instance_attempts(
        &self,
        items: Vec<OrchestrationWorkItem>,
    ) -> Result<Vec<OrchestrationWorkItem>> {
        let ids = items.iter().map(|item| item.instance.instance_id.clone()).collect();
        let release = |index: &mut Index, item: &OrchestrationWorkItem| {
            let _ = index.abandon_instance(item.lock.token);
        };
        let attempt = |item: &mut OrchestrationWorkItem, count| item.attempt = count;
        let wake = &self.shared.orchestrations;
        self.count_fetched(items, Attempts::Instances(ids), attempt, release, wake).await
    }

    /// Counts one more attempt of each of `items` (their rows in `of`, in order) and sets it
    /// on them. When the write fails, `release` gives each back and `wake` tells the
    /// fetchers, so the items are fetched again.
    async fn count_fetched<T>(
        &self,
        mut items: Vec<T>,
        of: Attempts,
        attempt: impl Fn(&mut T, u32),
        release: impl Fn(&mut Index, &T),
        wake: &tokio::sync::Notify,
    ) -> Result<Vec<T>> {
        match self.count_attempts(of, 1).await {
            Ok(counts) => {
                for (item, count) in items.iter_mut().zip(counts) {
                    attempt(item, count);
                }
                Ok(items)
            }
            Err(error) => {
                let mut index = lock(&self.shared.index);
                for item in &items {
                    release(&mut index, item);
                }
                drop(index);
                wake.notify_waiters();
                Err(error)
            }
        }
    }
}

impl Drop for SqliteBackend {
    fn drop(&mut self) {
        if let Some(thread) = self.shut_down() {
            let _ = thread.join();
        }
    }
}

/// `<db path>.<hub>.dispatch.lock`: one dispatcher per task hub, so applications sharing a
/// file with different hubs each dispatch their own.
fn dispatch_lock_path(path: &Path, hub: &str) -> PathBuf {
    let hub: String = hub
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .collect();
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(format!(".{hub}.dispatch.lock"));
    PathBuf::from(lock_path)
}

#[async_trait]
impl Backend for SqliteBackend {
    async fn acquire_dispatch(&self) -> Result<bool> {
        {
            let index = lock(&self.shared.index);
            if index.closed {
                return Err(BackendError::Closed);
            }
            if index.dispatching {
                return Ok(true);
            }
        }
        if let Some(path) = &self.path {
            let mut held = lock(&self.dispatch_lock);
            if held.is_none() {
                let lock_path = dispatch_lock_path(path, &self.options.hub_name);
                let file = OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .read(true)
                    .write(true)
                    .open(&lock_path)
                    .map_err(|e| BackendError::Store {
                        message: format!(
                            "cannot open the dispatch lock `{}`: {e}",
                            lock_path.display()
                        ),
                        retryable: false,
                    })?;
                match file.try_lock() {
                    Ok(()) => *held = Some(file),
                    Err(std::fs::TryLockError::WouldBlock) => return Ok(false),
                    Err(std::fs::TryLockError::Error(e)) => {
                        return Err(BackendError::Store {
                            message: format!("cannot lock `{}`: {e}", lock_path.display()),
                            retryable: false,
                        });
                    }
                }
            }
        }
        let (reply, answer) = oneshot::channel();
        self.send(Op::AcquireDispatch(reply))?;
        answer.await.map_err(|_| BackendError::Closed)??;
        Ok(true)
    }

    async fn create_queues(&self, queues: &[QueueSpec]) -> Result<()> {
        self.write(WriteOp::CreateQueues(queues.to_vec())).await
    }

    async fn queue_stats(&self) -> Result<Vec<QueueStats>> {
        self.read(codec::queue_stats).await
    }

    async fn create_instance(&self, instance: NewInstance) -> Result<()> {
        self.write(WriteOp::CreateInstance(instance, None)).await
    }

    async fn create_instance_with_turn(
        &self,
        instance: NewInstance,
        first_turn: OrchestrationCommit,
    ) -> Result<()> {
        self.write(WriteOp::CreateInstance(instance, Some(first_turn))).await
    }

    async fn send_message(&self, message: OrchestrationMessage) -> Result<()> {
        self.write(WriteOp::SendMessage(message)).await
    }

    async fn fetch_orchestrations(
        &self,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<OrchestrationWorkItem>> {
        let deadline = deadline_after(wait);
        loop {
            let notified = self.shared.orchestrations.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let (locked, next_timer) = {
                let mut index = lock(&self.shared.index);
                Self::check_dispatch(&index)?;
                index.release_due_timers(self.shared.clock.now());
                let locked: Vec<LockedInstance> =
                    std::iter::from_fn(|| index.lock_next_instance()).take(max.max(1)).collect();
                (locked, index.next_timer_due())
            };
            let mut items = Vec::with_capacity(locked.len());
            let mut locked = locked.into_iter();
            while let Some(instance) = locked.next() {
                match self.work_item(instance).await {
                    Ok(Some(item)) => items.push(item),
                    Ok(None) => {}
                    Err(error) => {
                        // Release what this call locked and has not handed out.
                        let mut index = lock(&self.shared.index);
                        for rest in locked.by_ref() {
                            let _ = index.abandon_instance(rest.lock.token);
                        }
                        for item in &items {
                            let _ = index.abandon_instance(item.lock.token);
                        }
                        drop(index);
                        self.shared.orchestrations.notify_waiters();
                        return Err(error);
                    }
                }
            }
            if !items.is_empty() {
                return self.count_instance_attempts(items).await;
            }
            if Instant::now() >= deadline {
                return Ok(items);
            }
            // Wake for new work, when the clock reaches the next timer (never before), or at
            // the deadline (real time).
            tokio::select! {
                _ = notified => {}
                _ = until_due(&self.shared.clock, next_timer) => {}
                _ = tokio::time::sleep_until(deadline.into()) => {}
            }
        }
    }

    async fn complete_orchestration(
        &self,
        lock: &WorkItemLock,
        commit: OrchestrationCommit,
    ) -> Result<()> {
        self.write(WriteOp::CompleteOrchestration { token: lock.token, commit }).await
    }

    async fn try_lock_orchestration(
        &self,
        instance_id: &str,
    ) -> Result<Option<OrchestrationWorkItem>> {
        let locked = {
            let mut index = lock(&self.shared.index);
            Self::check_dispatch(&index)?;
            index.lock_instance(instance_id)
        };
        match locked {
            Some(locked) => self.work_item(locked).await,
            None => Ok(None),
        }
    }

    async fn abandon_orchestration(&self, work_lock: &WorkItemLock) -> Result<()> {
        lock(&self.shared.index).abandon_instance(work_lock.token)?;
        self.shared.orchestrations.notify_waiters();
        Ok(())
    }

    async fn release_orchestration(&self, work_lock: &WorkItemLock) -> Result<()> {
        // Taken back while the lock still holds, so that no fetch counts it meanwhile.
        let instance_id = lock(&self.shared.index).lock_owner(work_lock.token)?;
        if let Err(error) = self.count_attempts(Attempts::Instances(vec![instance_id]), -1).await {
            tracing::warn!(%error, "taking back an orchestration's attempt failed; it counts");
        }
        self.abandon_orchestration(work_lock).await
    }

    async fn fetch_activities(
        &self,
        max: usize,
        limits: &QueueLimits,
        wait: Duration,
    ) -> Result<Vec<ActivityWorkItem>> {
        let deadline = deadline_after(wait);
        let interrupted = limits.interrupted();
        tokio::pin!(interrupted);
        loop {
            let notified = self.shared.activities.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let now = Instant::now();
            let (items, next_expiry) = {
                let mut index = lock(&self.shared.index);
                Self::check_dispatch(&index)?;
                let lease = self.options.activity_lease;
                let items = index.lease_activities(now, lease, max.max(1), limits);
                (items, index.next_lease_deadline())
            };
            if !items.is_empty() {
                return self.count_activity_attempts(items).await;
            }
            if now >= deadline {
                return Ok(items);
            }
            let wake = next_expiry.map_or(deadline, |expiry| expiry.min(deadline));
            tokio::select! {
                _ = tokio::time::timeout_at(wake.into(), notified) => {}
                () = &mut interrupted => return Ok(Vec::new()),
            }
        }
    }

    fn activity_lease(&self) -> Option<Duration> {
        Some(self.options.activity_lease)
    }

    async fn renew_activity(&self, work_lock: &WorkItemLock) -> Result<()> {
        let deadline = deadline_after(self.options.activity_lease);
        let mut index = lock(&self.shared.index);
        Self::check_dispatch(&index)?;
        index.renew_activity(work_lock.token, deadline)
    }

    async fn complete_activity(
        &self,
        lock: &WorkItemLock,
        result: OrchestrationMessage,
    ) -> Result<()> {
        self.write(WriteOp::CompleteActivity { token: lock.token, result }).await
    }

    async fn abandon_activity(&self, work_lock: &WorkItemLock) -> Result<()> {
        lock(&self.shared.index).abandon_activity(work_lock.token)?;
        self.shared.activities.notify_waiters();
        Ok(())
    }

    async fn release_activity(&self, work_lock: &WorkItemLock) -> Result<()> {
        // Taken back while the lease still holds, so that no fetch counts it meanwhile.
        let ids = work_lock.ids.clone();
        if let Err(error) = self.count_attempts(Attempts::Activities(ids), -1).await {
            tracing::warn!(%error, "taking back an activity's attempt failed; it counts");
        }
        self.abandon_activity(work_lock).await
    }

    async fn work_state(&self) -> Result<WorkState> {
        let index = lock(&self.shared.index);
        Self::check_dispatch(&index)?;
        Ok(index.work_state())
    }

    async fn get_instance(&self, instance_id: &str) -> Result<Option<InstanceRecord>> {
        // The dispatching process holds the current record of every instance it runs.
        if let Some(record) = lock(&self.shared.index).cached_record(instance_id) {
            return Ok(Some(record));
        }
        let instance_id = instance_id.to_owned();
        self.read(move |conn, hub| codec::get_instance(conn, hub, &instance_id)).await
    }

    async fn get_history(
        &self,
        instance_id: &str,
        execution_id: &str,
    ) -> Result<Vec<HistoryEvent>> {
        let instance_id = instance_id.to_owned();
        let execution_id = execution_id.to_owned();
        self.read(move |conn, hub| codec::get_history(conn, hub, &instance_id, &execution_id)).await
    }

    async fn list_instances(&self, query: &InstanceQuery) -> Result<InstancePage> {
        let after = query.validate()?;
        let query = query.clone();
        self.read(move |conn, hub| queries::list_instances(conn, hub, &query, after.as_ref())).await
    }

    async fn count_instances(&self) -> Result<Vec<(OrchestrationRuntimeStatus, u64)>> {
        self.read(queries::count_instances).await
    }

    async fn purge_instances(&self, filter: &PurgeFilter) -> Result<u64> {
        filter.validate()?;
        let deleted = Arc::new(AtomicU64::new(0));
        self.write(WriteOp::Purge { filter: filter.clone(), deleted: Arc::clone(&deleted) })
            .await?;
        Ok(deleted.load(Ordering::Acquire))
    }
}
