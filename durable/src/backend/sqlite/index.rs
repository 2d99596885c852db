//! The dispatching process's in-memory view of its queues.
//!
//! The database is the truth; the index is what this process knows it holds, kept so that
//! fetching work never touches SQL: per instance its pending messages and lock, a FIFO of
//! ready instances, the activity work items with their leases. The writer thread updates it
//! only after a commit is durable; locks and leases live only here, so a restart (which
//! reloads the index from the tables) releases all of them.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::backend::{
    ActivityRequest, ActivityWorkItem, BackendError, InstanceRecord, QueueLimits, Result,
    WorkItemLock, WorkState,
};
use crate::clock::Clock;
use crate::history::OrchestrationMessage;

/// What this process knows about one instance.
#[derive(Debug, Default)]
struct InstanceEntry {
    /// Messages not yet handed to a worker, by id (= arrival order).
    pending: BTreeMap<i64, OrchestrationMessage>,
    /// The current lock, while a worker runs a turn.
    lock: Option<Lock>,
    /// Whether the instance sits in the ready FIFO.
    queued: bool,
    /// The stored record, when known to be current.
    record: Option<InstanceRecord>,
    /// `(execution id, events recorded)` of the execution last seen, when known.
    history: Option<(String, u64)>,
    /// Its place in `Index::idle` when it was last kept with no work (0: never).
    idle_since: u64,
}

impl InstanceEntry {
    /// Whether it has no work: nothing pending, queued or locked.
    fn is_idle(&self) -> bool {
        self.pending.is_empty() && self.lock.is_none() && !self.queued
    }

    /// An entry worth keeping: it has work, or caches a record a later turn will need.
    fn is_live(&self) -> bool {
        !self.pending.is_empty()
            || self.lock.is_some()
            || self.record.as_ref().is_some_and(|r| !r.runtime_status.is_terminal())
    }
}

#[derive(Debug)]
struct Lock {
    token: u64,
    /// The messages handed to the worker, kept to put them back on abandon.
    messages: Vec<(i64, OrchestrationMessage)>,
    /// A commit of this lock is in the writer's current batch.
    completing: bool,
}

#[derive(Debug)]
struct ActivityEntry {
    request: ActivityRequest,
    enqueued_at: DateTime<Utc>,
    lease: Option<Lease>,
    /// A completion of this item is in the writer's current batch.
    completing: bool,
}

#[derive(Debug, Clone, Copy)]
struct Lease {
    token: u64,
    deadline: Instant,
}

/// An instance just locked by [`Index::lock_next_instance`].
#[derive(Debug)]
pub(super) struct LockedInstance {
    pub(super) instance_id: String,
    pub(super) lock: WorkItemLock,
    pub(super) messages: Vec<OrchestrationMessage>,
    /// The cached record, if any.
    pub(super) record: Option<InstanceRecord>,
    /// The cached history length of the record's execution, if known.
    pub(super) history_len: Option<u64>,
}

/// What a commit of an orchestration lock needs from the index.
#[derive(Debug)]
pub(super) struct CompletingLock {
    pub(super) instance_id: String,
    /// The message ids the lock covers (consumed by the commit).
    pub(super) message_ids: Vec<i64>,
    /// `(execution id, events recorded)` if known.
    pub(super) history: Option<(String, u64)>,
}

/// The fields of a record that a turn's commit changes.
#[derive(Debug, Clone)]
pub(super) struct RecordUpdate {
    pub(super) execution_id: String,
    pub(super) started: Option<crate::backend::ExecutionStart>,
    pub(super) status: crate::history::OrchestrationRuntimeStatus,
    pub(super) output: serde_json::Value,
    pub(super) custom_status: serde_json::Value,
    pub(super) failure: Option<crate::history::FailureDetails>,
    /// `None` when the commit recorded nothing.
    pub(super) updated_at: Option<DateTime<Utc>>,
}

/// The in-memory queue index. Guarded by a mutex; never held across an await.
#[derive(Debug, Default)]
pub(super) struct Index {
    /// Whether this handle dispatches (the index is maintained only then).
    pub(super) dispatching: bool,
    /// Set when the store closes; fetchers return [`BackendError::Closed`].
    pub(super) closed: bool,
    /// The largest `messages.id` known (any hub).
    pub(super) max_message_id: i64,
    /// The largest `activity_items.id` known (any hub).
    pub(super) max_activity_id: i64,
    instances: HashMap<String, InstanceEntry>,
    ready: VecDeque<String>,
    /// Timer messages not yet due, by due time.
    timers: BTreeMap<(DateTime<Utc>, i64), OrchestrationMessage>,
    locks: HashMap<u64, String>,
    activities: HashMap<i64, ActivityEntry>,
    ready_activities: VecDeque<i64>,
    leases: HashMap<u64, i64>,
    /// `(deadline, token)` of every lease that can expire (held, not being completed).
    lease_deadlines: BTreeSet<(Instant, u64)>,
    next_token: u64,
    /// The time of durable semantics: when a timer message is due.
    clock: Clock,
    /// Instances kept only for their record, oldest first, each with its `idle_since`. An
    /// instance is pushed again each time it goes idle; older pushes of it are then stale and
    /// skipped.
    idle: VecDeque<(String, u64)>,
    /// The last `idle_since` given out.
    idle_seq: u64,
    /// The most entries of `idle` (stale ones included): past it the oldest idle instances
    /// are forgotten, so that instances waiting for a long time cost no memory here.
    max_idle_records: usize,
}

impl Index {
    /// An empty index whose timers follow `clock`, keeping the records of at most
    /// `max_idle_records` instances with no work.
    pub(super) fn new(clock: Clock, max_idle_records: usize) -> Index {
        Index { clock, max_idle_records, ..Index::default() }
    }

    fn mark_ready(&mut self, instance_id: &str) {
        if let Some(entry) = self.instances.get_mut(instance_id)
            && entry.lock.is_none()
            && !entry.queued
            && !entry.pending.is_empty()
        {
            entry.queued = true;
            self.ready.push_back(instance_id.to_owned());
        }
    }

    /// Forgets an instance with no work, or keeps its record among the most recently idle
    /// ones (its next turn then needs no read) and forgets the oldest idle ones past the bound:
    /// a million instances waiting for an event must not hold a million records here.
    fn evict_if_idle(&mut self, instance_id: &str) {
        let Some(entry) = self.instances.get_mut(instance_id) else {
            return;
        };
        if !entry.is_idle() {
            return;
        }
        if !entry.is_live() {
            self.instances.remove(instance_id);
            return;
        }
        self.idle_seq += 1;
        entry.idle_since = self.idle_seq;
        self.idle.push_back((instance_id.to_owned(), self.idle_seq));
        while self.idle.len() > self.max_idle_records {
            let Some((oldest, since)) = self.idle.pop_front() else {
                break;
            };
            if self.instances.get(&oldest).is_some_and(|e| e.idle_since == since && e.is_idle()) {
                self.instances.remove(&oldest);
            }
        }
    }

    // ---- orchestrations -------------------------------------------------------------------

    /// Adds a committed message. Returns whether the instance became ready.
    pub(super) fn add_message(&mut self, id: i64, message: OrchestrationMessage) -> bool {
        self.max_message_id = self.max_message_id.max(id);
        if let Some(due) = message.visible_at
            && due > self.clock.now()
        {
            // A durable timer: it stays out of the instance's queue until it is due.
            self.timers.insert((due, id), message);
            return false;
        }
        let instance_id = message.instance_id.clone();
        let entry = self.instances.entry(instance_id.clone()).or_default();
        entry.pending.insert(id, message);
        let was_queued = entry.queued;
        self.mark_ready(&instance_id);
        !was_queued && self.instances.get(&instance_id).is_some_and(|e| e.queued)
    }

    /// Records a committed instance creation: forgets any leftover messages and lock of a
    /// replaced instance (the commit deleted them), caches the new record and adds its
    /// start message.
    pub(super) fn instance_created(
        &mut self,
        record: InstanceRecord,
        start: Option<(i64, OrchestrationMessage)>,
        history_len: u64,
    ) {
        let instance_id = record.instance_id.clone();
        if let Some(lock) = self.instances.get_mut(&instance_id).and_then(|entry| entry.lock.take())
        {
            self.locks.remove(&lock.token);
        }
        let entry = self.instances.entry(instance_id.clone()).or_default();
        entry.pending.clear();
        entry.history = Some((record.execution_id.clone(), history_len));
        entry.record = Some(record);
        if let Some((message_id, message)) = start {
            self.add_message(message_id, message);
        }
        self.evict_if_idle(&instance_id);
    }

    /// Reconciles an instance after another process wrote a message that creates it
    /// (created or replaced it): forgets the cached record, drops pending messages that no
    /// longer exist, and drops the lock if its messages were deleted (the instance was
    /// replaced under it, so its commit must fail).
    pub(super) fn reconcile_foreign_start(
        &mut self,
        instance_id: &str,
        existing_ids: &std::collections::HashSet<i64>,
    ) {
        let Some(entry) = self.instances.get_mut(instance_id) else {
            return;
        };
        entry.record = None;
        entry.history = None;
        entry.pending.retain(|id, _| existing_ids.contains(id));
        // Any lock predates the replacement, so its commit must fail: drop it (a lock may
        // cover no message at all, when taken for a local turn). Its messages that still
        // exist go back to the queue.
        if let Some(lock) = entry.lock.take() {
            entry
                .pending
                .extend(lock.messages.into_iter().filter(|(id, _)| existing_ids.contains(id)));
            self.locks.remove(&lock.token);
            self.mark_ready(instance_id);
        }
    }

    /// Locks the next ready instance, handing out all its pending messages.
    pub(super) fn lock_next_instance(&mut self) -> Option<LockedInstance> {
        while let Some(instance_id) = self.ready.pop_front() {
            let Some(entry) = self.instances.get_mut(&instance_id) else {
                continue;
            };
            entry.queued = false;
            if entry.lock.is_some() || entry.pending.is_empty() {
                continue;
            }
            let messages: Vec<(i64, OrchestrationMessage)> =
                std::mem::take(&mut entry.pending).into_iter().collect();
            let history_len = match (&entry.record, &entry.history) {
                (Some(record), Some((execution_id, len)))
                    if *execution_id == record.execution_id =>
                {
                    Some(*len)
                }
                _ => None,
            };
            let record = entry.record.clone();
            return Some(self.lock_entry(instance_id, messages, record, history_len));
        }
        None
    }

    fn lock_entry(
        &mut self,
        instance_id: String,
        messages: Vec<(i64, OrchestrationMessage)>,
        record: Option<InstanceRecord>,
        history_len: Option<u64>,
    ) -> LockedInstance {
        self.next_token += 1;
        let token = self.next_token;
        let lock = WorkItemLock { token, ids: messages.iter().map(|(id, _)| *id).collect() };
        let handed = messages.iter().map(|(_, m)| m.clone()).collect();
        if let Some(entry) = self.instances.get_mut(&instance_id) {
            entry.lock = Some(Lock { token, messages, completing: false });
        }
        self.locks.insert(token, instance_id.clone());
        LockedInstance { instance_id, lock, messages: handed, record, history_len }
    }

    /// Locks `instance_id` now, with whatever messages it has pending (possibly none), if it
    /// is unlocked and its current record and history length are cached.
    pub(super) fn lock_instance(&mut self, instance_id: &str) -> Option<LockedInstance> {
        let entry = self.instances.get_mut(instance_id)?;
        let (Some(record), Some((execution_id, len))) = (&entry.record, &entry.history) else {
            return None;
        };
        if entry.lock.is_some() || *execution_id != record.execution_id {
            return None;
        }
        let history_len = Some(*len);
        let record = Some(record.clone());
        // A stale entry in the ready FIFO is skipped when popped: the instance is locked or
        // has no messages left.
        let messages: Vec<(i64, OrchestrationMessage)> =
            std::mem::take(&mut entry.pending).into_iter().collect();
        Some(self.lock_entry(instance_id.to_owned(), messages, record, history_len))
    }

    /// The cached record of an instance, when this process holds its current state.
    pub(super) fn cached_record(&self, instance_id: &str) -> Option<InstanceRecord> {
        self.instances.get(instance_id)?.record.clone()
    }

    /// Caches a record read for a lock, if the lock is still held (a replacement may have
    /// dropped it meanwhile, and then the read record is stale). Returns whether it is.
    pub(super) fn cache_for_lock(
        &mut self,
        token: u64,
        record: &InstanceRecord,
        history_len: u64,
    ) -> bool {
        let Some(entry) = self.locks.get(&token).and_then(|id| self.instances.get_mut(id)) else {
            return false;
        };
        entry.record = Some(record.clone());
        entry.history = Some((record.execution_id.clone(), history_len));
        true
    }

    /// Puts a lock's messages back and makes the instance ready again.
    pub(super) fn abandon_instance(&mut self, token: u64) -> Result<()> {
        let instance_id = self.lock_owner(token)?;
        if let Some(entry) = self.instances.get_mut(&instance_id)
            && let Some(lock) = entry.lock.take()
        {
            entry.pending.extend(lock.messages);
        }
        self.locks.remove(&token);
        self.mark_ready(&instance_id);
        Ok(())
    }

    pub(super) fn lock_owner(&self, token: u64) -> Result<String> {
        let lost = || BackendError::LockLost { what: format!("orchestration work item {token}") };
        let instance_id = self.locks.get(&token).ok_or_else(lost)?;
        let held = self
            .instances
            .get(instance_id)
            .and_then(|entry| entry.lock.as_ref())
            .is_some_and(|lock| lock.token == token && !lock.completing);
        if held { Ok(instance_id.clone()) } else { Err(lost()) }
    }

    /// Marks a lock as being committed by the current batch (so a second commit with it
    /// fails) and returns what the commit needs.
    pub(super) fn begin_complete(&mut self, token: u64) -> Result<CompletingLock> {
        let instance_id = self.lock_owner(token)?;
        let entry = self.instances.get_mut(&instance_id).ok_or_else(|| BackendError::LockLost {
            what: format!("orchestration work item {token}"),
        })?;
        let mut message_ids = Vec::new();
        if let Some(lock) = entry.lock.as_mut() {
            lock.completing = true;
            message_ids = lock.messages.iter().map(|(id, _)| *id).collect();
        }
        Ok(CompletingLock { instance_id, message_ids, history: entry.history.clone() })
    }

    /// Undoes [`Index::begin_complete`] after the commit failed; the lock stays held.
    pub(super) fn cancel_complete(&mut self, token: u64) {
        if let Some(lock) = self
            .locks
            .get(&token)
            .and_then(|id| self.instances.get_mut(id))
            .and_then(|entry| entry.lock.as_mut())
        {
            lock.completing = false;
        }
    }

    /// Applies a committed turn: releases the lock, updates the cached record and history
    /// length, and makes the instance ready again if messages arrived meanwhile.
    pub(super) fn finish_complete(&mut self, token: u64, update: RecordUpdate, history_len: u64) {
        let Some(instance_id) = self.locks.remove(&token) else {
            return;
        };
        if let Some(entry) = self.instances.get_mut(&instance_id) {
            entry.lock = None;
            entry.history = Some((update.execution_id.clone(), history_len));
            if let Some(record) = entry.record.as_mut() {
                record.execution_id = update.execution_id;
                if let Some(started) = update.started {
                    record.input = started.input;
                    record.version = started.version;
                }
                record.runtime_status = update.status;
                record.output = update.output;
                record.custom_status = update.custom_status;
                record.failure = update.failure;
                if let Some(updated_at) = update.updated_at {
                    record.last_updated_at = updated_at;
                }
            }
        }
        self.mark_ready(&instance_id);
        self.evict_if_idle(&instance_id);
    }

    /// Forgets a lock whose messages were deleted (orphaned messages of a missing instance).
    pub(super) fn drop_lock(&mut self, token: u64) {
        if let Some(instance_id) = self.locks.remove(&token) {
            if let Some(entry) = self.instances.get_mut(&instance_id) {
                entry.lock = None;
                entry.record = None;
                entry.history = None;
            }
            self.mark_ready(&instance_id);
            self.evict_if_idle(&instance_id);
        }
    }

    /// Forgets purged instances (their rows are deleted): their pending messages, lock and
    /// timers, and their activity work items with any lease. A worker holding one of those
    /// locks or leases has lost it.
    pub(super) fn instances_purged(&mut self, instance_ids: &[String]) {
        let purged: HashSet<&str> = instance_ids.iter().map(String::as_str).collect();
        for instance_id in &purged {
            if let Some(lock) = self.instances.remove(*instance_id).and_then(|entry| entry.lock) {
                self.locks.remove(&lock.token);
            }
        }
        // Stale ids left in the ready FIFOs are skipped when popped.
        self.timers.retain(|_, message| !purged.contains(message.instance_id.as_str()));
        let items: Vec<i64> = self
            .activities
            .iter()
            .filter(|(_, entry)| purged.contains(entry.request.instance_id.as_str()))
            .map(|(id, _)| *id)
            .collect();
        for id in items {
            if let Some(lease) = self.activities.remove(&id).and_then(|entry| entry.lease) {
                self.leases.remove(&lease.token);
                self.lease_deadlines.remove(&(lease.deadline, lease.token));
            }
        }
    }

    /// Moves the timer messages due by `now` into their instances' queues.
    pub(super) fn release_due_timers(&mut self, now: DateTime<Utc>) {
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let ((_, id), message) = entry.remove_entry();
            let instance_id = message.instance_id.clone();
            self.instances.entry(instance_id.clone()).or_default().pending.insert(id, message);
            self.mark_ready(&instance_id);
        }
    }

    /// When the next timer message is due.
    pub(super) fn next_timer_due(&self) -> Option<DateTime<Utc>> {
        self.timers.first_key_value().map(|((due, _), _)| *due)
    }

    /// Whether anything is ready, locked or leased, and when the next timer is due.
    ///
    /// Every change to the index that hands work on (a commit's effects, a fetch, an
    /// abandon) happens under its mutex, so a state read under it never sees work in
    /// between: an instance's messages stay counted while it is locked, and an activity
    /// item while it is leased or its completion is being committed.
    pub(super) fn work_state(&self) -> WorkState {
        let next_timer = self.next_timer_due();
        let runnable = self
            .instances
            .values()
            .any(|entry| !entry.pending.is_empty() || entry.lock.is_some())
            || !self.activities.is_empty()
            // A timer due but not yet moved to its instance's queue by a fetcher.
            || next_timer.is_some_and(|due| due <= self.clock.now());
        WorkState { runnable, next_timer }
    }

    /// Whether any instance is ready to be locked.
    pub(super) fn has_ready_instance(&self) -> bool {
        !self.ready.is_empty()
    }

    // ---- activities -----------------------------------------------------------------------

    /// Adds a committed activity work item.
    pub(super) fn add_activity(
        &mut self,
        id: i64,
        request: ActivityRequest,
        enqueued_at: DateTime<Utc>,
    ) {
        self.max_activity_id = self.max_activity_id.max(id);
        self.activities
            .insert(id, ActivityEntry { request, enqueued_at, lease: None, completing: false });
        self.ready_activities.push_back(id);
    }

    /// Makes items whose lease expired ready again (at the front: they are the oldest).
    pub(super) fn expire_leases(&mut self, now: Instant) {
        while let Some(&(deadline, token)) = self.lease_deadlines.first() {
            if deadline > now {
                break;
            }
            self.lease_deadlines.remove(&(deadline, token));
            let Some(id) = self.leases.remove(&token) else {
                continue;
            };
            if let Some(entry) = self.activities.get_mut(&id) {
                entry.lease = None;
                self.ready_activities.push_front(id);
                tracing::debug!(item = id, "activity lease expired; the item is ready again");
            }
        }
    }

    /// When the next lease expires, if any item is leased.
    pub(super) fn next_lease_deadline(&self) -> Option<Instant> {
        self.lease_deadlines.first().map(|(deadline, _)| *deadline)
    }

    /// Leases up to `max` ready activity work items for `lease`, oldest first, taking no
    /// more from a queue than `limits` allows; the items it passes over stay ready, in order.
    pub(super) fn lease_activities(
        &mut self,
        now: Instant,
        lease: Duration,
        max: usize,
        limits: &QueueLimits,
    ) -> Vec<ActivityWorkItem> {
        self.expire_leases(now);
        let mut items = Vec::new();
        let mut taken: HashMap<String, usize> = HashMap::new();
        let mut passed_over = Vec::new();
        while items.len() < max {
            let Some(id) = self.ready_activities.pop_front() else {
                break;
            };
            let Some(entry) = self.activities.get_mut(&id) else {
                continue;
            };
            if entry.lease.is_some() || entry.completing {
                continue;
            }
            if let Some(cap) = limits.cap(&entry.request.name) {
                let taken = taken.entry(entry.request.name.clone()).or_default();
                if *taken >= cap {
                    passed_over.push(id);
                    continue;
                }
                *taken += 1;
            }
            let token = self.next_token + 1;
            self.next_token = token;
            let deadline = now.checked_add(lease).unwrap_or_else(|| far_future(now));
            entry.lease = Some(Lease { token, deadline });
            items.push(ActivityWorkItem {
                request: entry.request.clone(),
                enqueued_at: entry.enqueued_at,
                // The stored count is bumped, and this set from it, by the fetch.
                attempt: 1,
                lock: WorkItemLock { token, ids: vec![id] },
            });
            self.leases.insert(token, id);
            self.lease_deadlines.insert((deadline, token));
        }
        for id in passed_over.into_iter().rev() {
            self.ready_activities.push_front(id);
        }
        items
    }

    /// Whether any activity work item is ready to be leased.
    pub(super) fn has_ready_activity(&self) -> bool {
        !self.ready_activities.is_empty()
    }

    fn lease_owner(&self, token: u64) -> Result<i64> {
        let lost = || BackendError::LockLost { what: format!("activity work item lease {token}") };
        let id = *self.leases.get(&token).ok_or_else(lost)?;
        let held = self.activities.get(&id).is_some_and(|entry| {
            !entry.completing && entry.lease.is_some_and(|lease| lease.token == token)
        });
        if held { Ok(id) } else { Err(lost()) }
    }

    /// Releases a lease; the item is ready again.
    pub(super) fn abandon_activity(&mut self, token: u64) -> Result<()> {
        let id = self.lease_owner(token)?;
        self.leases.remove(&token);
        if let Some(entry) = self.activities.get_mut(&id)
            && let Some(lease) = entry.lease.take()
        {
            self.lease_deadlines.remove(&(lease.deadline, lease.token));
        }
        self.ready_activities.push_front(id);
        Ok(())
    }

    /// Moves a held lease's deadline to `deadline`.
    pub(super) fn renew_activity(&mut self, token: u64, deadline: Instant) -> Result<()> {
        let id = self.lease_owner(token)?;
        if let Some(entry) = self.activities.get_mut(&id)
            && let Some(lease) = entry.lease.as_mut()
        {
            self.lease_deadlines.remove(&(lease.deadline, lease.token));
            lease.deadline = deadline;
            self.lease_deadlines.insert((deadline, token));
        }
        Ok(())
    }

    /// Marks a leased item as being completed by the current batch (its lease cannot expire
    /// meanwhile); returns its id.
    pub(super) fn begin_complete_activity(&mut self, token: u64) -> Result<i64> {
        let id = self.lease_owner(token)?;
        if let Some(entry) = self.activities.get_mut(&id) {
            entry.completing = true;
            if let Some(lease) = entry.lease {
                self.lease_deadlines.remove(&(lease.deadline, lease.token));
            }
        }
        Ok(id)
    }

    /// Undoes [`Index::begin_complete_activity`] after the commit failed; the lease stays
    /// held with its deadline (expiring now if the deadline passed meanwhile).
    pub(super) fn cancel_complete_activity(&mut self, id: i64) {
        if let Some(entry) = self.activities.get_mut(&id) {
            entry.completing = false;
            if let Some(lease) = entry.lease {
                self.lease_deadlines.insert((lease.deadline, lease.token));
            }
        }
    }

    /// Removes a completed item.
    pub(super) fn finish_complete_activity(&mut self, id: i64) {
        if let Some(entry) = self.activities.remove(&id)
            && let Some(lease) = entry.lease
        {
            self.leases.remove(&lease.token);
            self.lease_deadlines.remove(&(lease.deadline, lease.token));
        }
    }

    /// A fresh index for a dispatching handle (all locks and leases released).
    pub(super) fn reset_for_dispatch(&mut self) {
        let next_token = self.next_token;
        let clock = self.clock.clone();
        let max_idle_records = self.max_idle_records;
        *self =
            Index { dispatching: true, next_token, clock, max_idle_records, ..Index::default() };
    }

    /// How many instances, activity items and lease deadlines the index tracks (for tests).
    #[cfg(test)]
    pub(super) fn sizes(&self) -> (usize, usize, usize) {
        (self.instances.len(), self.activities.len(), self.lease_deadlines.len())
    }
}

/// A deadline that never comes in practice, for durations too long to add to `now`.
fn far_future(now: Instant) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    now.checked_add(CENTURY).unwrap_or(now)
}
