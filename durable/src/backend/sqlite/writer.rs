//! The writer thread: owns the write connection and commits operations in groups.
//!
//! The thread blocks for the first operation, drains whatever else is queued (up to
//! [`MAX_BATCH`]), applies all of it in one `BEGIN IMMEDIATE` transaction with a savepoint
//! per operation, commits (one fsync), and only then updates the in-memory index, wakes the
//! fetchers and answers every caller. An operation that is rejected (validation, a constraint)
//! is rolled back to its savepoint and answered with its own error; an I/O error fails the
//! whole batch with a retryable error and leaves the index untouched.

use std::collections::HashSet;
use std::sync::atomic::AtomicU64;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use tokio::sync::{Notify, oneshot};

use super::codec::{format_time, is_local_to_op};
use super::index::{Index, RecordUpdate};
use crate::backend::{
    ActivityRequest, BackendError, InstanceRecord, NewInstance, OrchestrationCommit, PurgeFilter,
    QueueSpec, Result,
};
use crate::clock::Clock;
use crate::history::OrchestrationMessage;

/// The most operations committed in one transaction.
pub(super) const MAX_BATCH: usize = 1024;

/// How long the writer looks for a next operation before it sleeps.
const SPIN_BEFORE_SLEEP: Duration = Duration::from_micros(300);

/// How often an idle dispatching writer looks for rows committed by other processes.
const IDLE_POLL: Duration = Duration::from_millis(50);

/// State shared by the handle (fetchers) and the writer thread.
#[derive(Debug)]
pub(super) struct Shared {
    /// The task hub every row is scoped by.
    pub(super) hub: String,
    /// The queue index.
    pub(super) index: Mutex<Index>,
    /// Woken when an instance may have become ready.
    pub(super) orchestrations: Notify,
    /// Woken when an activity work item may have become ready.
    pub(super) activities: Notify,
    /// The time of durable semantics (timers, timestamps).
    pub(super) clock: Clock,
}

impl Shared {
    /// Locks the index (a panic elsewhere never leaves it half-updated in a way that matters
    /// more than stopping dispatch would, so poisoning is ignored).
    pub(super) fn index(&self) -> MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A request to the writer thread.
// Nearly every request is a write: boxing it would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub(super) enum Op {
    /// A write, answered once committed (or rejected).
    Write(WriteOp, oneshot::Sender<Result<()>>),
    /// A read on the writer connection (in-memory stores have no other connection).
    Read(Box<dyn FnOnce(&Connection) + Send>),
    /// Load the index from the tables and start maintaining it.
    AcquireDispatch(oneshot::Sender<Result<()>>),
}

/// The write operations.
// Each is moved once, into the writer's channel: boxing the large variants buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(super) enum WriteOp {
    CreateQueues(Vec<QueueSpec>),
    /// A new instance, with its first turn when the caller already ran it.
    CreateInstance(NewInstance, Option<OrchestrationCommit>),
    SendMessage(OrchestrationMessage),
    CompleteOrchestration {
        token: u64,
        commit: OrchestrationCommit,
    },
    CompleteActivity {
        token: u64,
        result: OrchestrationMessage,
    },
    /// Adds `delta` to the attempt counts of work items: 1 for items just handed out, -1
    /// for items given back unrun. The new counts, in the order given (0 for an item no
    /// longer stored), are put in `counts` (read by the caller once the write is
    /// acknowledged). A batch of nothing else commits without an fsync: the count must
    /// survive the crash of this process, which it does once written, and not that of the
    /// machine.
    CountAttempts {
        of: Attempts,
        delta: i32,
        counts: Arc<Mutex<Vec<u32>>>,
    },
    /// Deletes the messages of a lock whose instance does not exist.
    DropOrphans {
        token: u64,
    },
    /// Deletes finished instances with all their rows; how many is stored in `deleted`
    /// (read by the caller once the write is acknowledged).
    Purge {
        filter: PurgeFilter,
        deleted: Arc<AtomicU64>,
    },
}

/// The work items whose attempts a [`WriteOp::CountAttempts`] counts.
#[derive(Debug)]
pub(super) enum Attempts {
    /// Activity work items, by id.
    Activities(Vec<i64>),
    /// Instances just locked for a turn, by id.
    Instances(Vec<String>),
}

/// What a committed operation changes in the index.
// One lives per operation of a batch, briefly: boxing the large variants buys nothing.
#[allow(clippy::large_enum_variant)]
pub(super) enum Effect {
    Nothing,
    Created {
        record: InstanceRecord,
        /// The queued `ExecutionStarted` message, unless the first turn was committed.
        start: Option<(i64, OrchestrationMessage)>,
        history_len: u64,
        activities: Vec<(i64, ActivityRequest)>,
        messages: Vec<(i64, OrchestrationMessage)>,
        /// The sub-orchestrations the first turn created (`Effect::Created` each).
        created: Vec<Effect>,
    },
    Message(i64, OrchestrationMessage),
    Completed {
        token: u64,
        update: RecordUpdate,
        history_len: u64,
        completed_activity: Option<i64>,
        activities: Vec<(i64, ActivityRequest)>,
        enqueued_at: DateTime<Utc>,
        messages: Vec<(i64, OrchestrationMessage)>,
        /// The sub-orchestrations the turn created (`Effect::Created` each).
        created: Vec<Effect>,
    },
    ActivityCompleted {
        id: i64,
        message: Option<(i64, OrchestrationMessage)>,
    },
    Orphans {
        token: u64,
    },
    /// These instances and everything queued for them are gone.
    Purged {
        instance_ids: Vec<String>,
    },
}

/// Why an operation failed.
pub(super) enum Failure {
    /// This operation alone is rejected; the batch goes on.
    Rejected(BackendError),
    /// The transaction is unusable; the whole batch fails.
    Fatal(rusqlite::Error),
}

impl From<BackendError> for Failure {
    fn from(error: BackendError) -> Self {
        Failure::Rejected(error)
    }
}

impl From<rusqlite::Error> for Failure {
    fn from(error: rusqlite::Error) -> Self {
        if is_local_to_op(&error) {
            Failure::Rejected(BackendError::Store { message: error.to_string(), retryable: false })
        } else {
            Failure::Fatal(error)
        }
    }
}

pub(super) type OpResult<T> = std::result::Result<T, Failure>;

/// Per-batch state.
pub(super) struct Batch {
    pub(super) now: DateTime<Utc>,
    pub(super) now_text: String,
    /// Instances created, replaced or purged by an earlier operation of this batch.
    pub(super) replaced: HashSet<String>,
}

/// The writer thread's state.
pub(super) struct Writer {
    pub(super) conn: Connection,
    pub(super) shared: Arc<Shared>,
    pub(super) rx: Receiver<Op>,
    /// Whether other processes may write the database (a file), so it must be scanned.
    pub(super) file_backed: bool,
    /// The last `PRAGMA data_version` seen (changes when another connection commits).
    pub(super) data_version: i64,
    /// The configured `PRAGMA synchronous` level.
    pub(super) synchronous: &'static str,
    /// Whether commits wait for the disk now (see [`Writer::set_synced`]).
    pub(super) synced: bool,
}

impl Writer {
    /// Runs until every sender is gone.
    pub(super) fn run(mut self) {
        loop {
            let poll = self.file_backed && self.shared.index().dispatching;
            let first = if let Some(op) = self.spin_for_next() {
                op
            } else if poll {
                match self.rx.recv_timeout(IDLE_POLL) {
                    Ok(op) => op,
                    Err(RecvTimeoutError::Timeout) => {
                        if let Err(error) = self.idle_scan() {
                            tracing::warn!(%error, "scanning the SQLite store for new work failed");
                        }
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            } else {
                match self.rx.recv() {
                    Ok(op) => op,
                    Err(_) => break,
                }
            };
            let mut ops = vec![first];
            while ops.len() < MAX_BATCH {
                match self.rx.try_recv() {
                    Ok(op) => ops.push(op),
                    Err(_) => break,
                }
            }
            self.process(ops);
        }
        tracing::debug!("SQLite writer thread stopped");
    }

    /// Waits briefly for the next operation without sleeping: a pipeline of dependent steps
    /// (commit, run the next turn, commit) sends it within microseconds, and waking a parked
    /// thread costs far more than that on virtual machines. Yields between checks so that the
    /// threads producing the operation get the core.
    fn spin_for_next(&self) -> Option<Op> {
        let started = std::time::Instant::now();
        while started.elapsed() < SPIN_BEFORE_SLEEP {
            match self.rx.try_recv() {
                Ok(op) => return Some(op),
                Err(std::sync::mpsc::TryRecvError::Empty) => std::thread::yield_now(),
                Err(std::sync::mpsc::TryRecvError::Disconnected) => return None,
            }
        }
        None
    }

    fn process(&mut self, ops: Vec<Op>) {
        let mut writes = Vec::new();
        for op in ops {
            match op {
                Op::Write(write, reply) => writes.push((write, reply)),
                Op::Read(read) => {
                    self.commit_batch(std::mem::take(&mut writes));
                    read(&self.conn);
                }
                Op::AcquireDispatch(reply) => {
                    self.commit_batch(std::mem::take(&mut writes));
                    let _ = reply.send(self.acquire_dispatch());
                }
            }
        }
        self.commit_batch(writes);
    }

    pub(super) fn exec(&self, sql: &str) -> rusqlite::Result<()> {
        self.conn.prepare_cached(sql)?.execute([])?;
        Ok(())
    }

    /// Makes the next commits wait for the disk (`synchronous` as configured) or not
    /// (`OFF`), when that changes; only between transactions.
    fn set_synced(&mut self, synced: bool) -> rusqlite::Result<()> {
        if self.synced != synced {
            let level = if synced { self.synchronous } else { "OFF" };
            self.conn.pragma_update(None, "synchronous", level)?;
            self.synced = synced;
        }
        Ok(())
    }

    pub(super) fn rollback(&self) {
        if !self.conn.is_autocommit()
            && let Err(error) = self.conn.execute_batch("ROLLBACK")
        {
            tracing::warn!(%error, "rolling back an SQLite transaction failed");
        }
    }

    fn commit_batch(&mut self, writes: Vec<(WriteOp, oneshot::Sender<Result<()>>)>) {
        if writes.is_empty() {
            return;
        }
        let now = self.shared.clock.now();
        let mut batch = Batch { now, now_text: format_time(&now), replaced: HashSet::new() };
        let mut replies = Vec::with_capacity(writes.len());
        let mut outcomes: Vec<Result<Effect>> = Vec::with_capacity(writes.len());
        let dispatching = self.shared.index().dispatching;
        let counts_only = writes.iter().all(|(op, _)| matches!(op, WriteOp::CountAttempts { .. }));
        let mut fatal = self.set_synced(!counts_only).err();
        if fatal.is_none() {
            fatal = self.exec("BEGIN IMMEDIATE").err();
        }
        if fatal.is_none() && dispatching && self.file_backed {
            fatal = self.scan_if_changed().err();
        }
        for (op, reply) in writes {
            replies.push(reply);
            if fatal.is_some() {
                continue;
            }
            if let Err(error) = self.exec("SAVEPOINT op") {
                fatal = Some(error);
                continue;
            }
            match self.apply(op, &mut batch) {
                Ok(effect) => {
                    outcomes.push(Ok(effect));
                    fatal = self.exec("RELEASE op").err();
                }
                Err(Failure::Rejected(error)) => {
                    outcomes.push(Err(error));
                    fatal =
                        self.exec("ROLLBACK TO op").and_then(|()| self.exec("RELEASE op")).err();
                }
                Err(Failure::Fatal(error)) => fatal = Some(error),
            }
        }
        let committed = match fatal {
            Some(error) => Err(error),
            None => self.exec("COMMIT"),
        };
        if let Err(error) = committed {
            self.rollback();
            self.cancel_marks(&outcomes);
            tracing::warn!(%error, ops = replies.len(), "an SQLite write batch failed");
            for reply in replies {
                let _ = reply.send(Err(BackendError::Store {
                    message: format!("the write was not committed: {error}"),
                    retryable: true,
                }));
            }
            return;
        }
        let mut results = Vec::with_capacity(outcomes.len());
        let mut effects = Vec::with_capacity(outcomes.len());
        for outcome in outcomes {
            match outcome {
                Ok(effect) => {
                    effects.push(effect);
                    results.push(Ok(()));
                }
                Err(error) => results.push(Err(error)),
            }
        }
        if dispatching {
            self.apply_effects(effects);
        }
        for (reply, result) in replies.into_iter().zip(results) {
            let _ = reply.send(result);
        }
    }

    /// Releases the marks set by operations of a batch that did not commit.
    fn cancel_marks(&self, outcomes: &[Result<Effect>]) {
        let mut index = self.shared.index();
        for outcome in outcomes {
            match outcome {
                Ok(Effect::Completed { token, completed_activity, .. }) => {
                    index.cancel_complete(*token);
                    if let Some(id) = completed_activity {
                        index.cancel_complete_activity(*id);
                    }
                }
                Ok(Effect::Orphans { token }) => index.cancel_complete(*token),
                Ok(Effect::ActivityCompleted { id, .. }) => index.cancel_complete_activity(*id),
                _ => {}
            }
        }
    }

    fn apply_effects(&self, effects: Vec<Effect>) {
        let mut index = self.shared.index();
        let first_timer = index.next_timer_due();
        for effect in effects {
            apply_effect(&mut index, effect);
        }
        // A new earliest timer must reach fetchers that sleep until the previous one.
        let wake_orchestrations =
            index.has_ready_instance() || index.next_timer_due() != first_timer;
        let wake_activities = index.has_ready_activity();
        drop(index);
        if wake_orchestrations {
            self.shared.orchestrations.notify_waiters();
        }
        if wake_activities {
            self.shared.activities.notify_waiters();
        }
    }
}

/// Applies one committed operation's effect to the index.
fn apply_effect(index: &mut Index, effect: Effect) {
    match effect {
        Effect::Nothing => {}
        Effect::Created { record, start, history_len, activities, messages, created } => {
            let enqueued_at = record.created_at;
            index.instance_created(record, start, history_len);
            for effect in created {
                apply_effect(index, effect);
            }
            for (id, request) in activities {
                index.add_activity(id, request, enqueued_at);
            }
            for (id, message) in messages {
                index.add_message(id, message);
            }
        }
        Effect::Message(id, message) => {
            index.add_message(id, message);
        }
        Effect::Completed {
            token,
            update,
            history_len,
            completed_activity,
            activities,
            enqueued_at,
            messages,
            created,
        } => {
            index.finish_complete(token, update, history_len);
            for effect in created {
                apply_effect(index, effect);
            }
            if let Some(id) = completed_activity {
                index.finish_complete_activity(id);
            }
            for (id, request) in activities {
                index.add_activity(id, request, enqueued_at);
            }
            for (id, message) in messages {
                index.add_message(id, message);
            }
        }
        Effect::ActivityCompleted { id, message } => {
            index.finish_complete_activity(id);
            if let Some((id, message)) = message {
                index.add_message(id, message);
            }
        }
        Effect::Orphans { token } => index.drop_lock(token),
        Effect::Purged { instance_ids } => index.instances_purged(&instance_ids),
    }
}
