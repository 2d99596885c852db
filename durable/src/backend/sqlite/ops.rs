//! The write operations, as applied by the writer thread inside a batch transaction.
//!
//! Each operation validates before it writes and returns the [`Effect`] its commit will have
//! on the index; the writer applies effects only after the batch committed.

use std::sync::PoisonError;

use rusqlite::{OptionalExtension, params};

use super::codec::{corrupt, format_time, parse_status, to_json};
use super::index::{CompletingLock, RecordUpdate};
use super::writer::{Attempts, Batch, Effect, Failure, OpResult, WriteOp, Writer};
use crate::backend::{
    ActivityRequest, BackendError, InstanceRecord, NewInstance, OrchestrationCommit, QueueSpec,
    SubOrchestrationStart,
};
use crate::history::{HistoryEvent, OrchestrationMessage, OrchestrationRuntimeStatus};

/// Activity work items and messages with the ids they were stored under.
type Enqueued = (Vec<(i64, ActivityRequest)>, Vec<(i64, OrchestrationMessage)>);

impl Writer {
    /// Applies one operation inside the batch transaction.
    pub(super) fn apply(&self, op: WriteOp, batch: &mut Batch) -> OpResult<Effect> {
        match op {
            WriteOp::CreateQueues(queues) => self.create_queues(&queues),
            WriteOp::CreateInstance(new, first_turn) => {
                self.create_instance(new, first_turn, batch)
            }
            WriteOp::SendMessage(message) => {
                let id = self.insert_message_to_instance(&message, batch)?.ok_or_else(|| {
                    BackendError::InstanceNotFound { instance_id: message.instance_id.clone() }
                })?;
                Ok(Effect::Message(id, message))
            }
            WriteOp::CompleteOrchestration { token, commit } => {
                let lock = self.shared.index().begin_complete(token)?;
                let activity = match &commit.completed_activity {
                    None => None,
                    Some(lease) => {
                        // Bound first: the index guard must be gone before the error arm
                        // locks the index again.
                        let begun = self.shared.index().begin_complete_activity(lease.token);
                        match begun {
                            Ok(id) => Some(id),
                            Err(error) => {
                                self.shared.index().cancel_complete(token);
                                return Err(error.into());
                            }
                        }
                    }
                };
                let result = if batch.replaced.contains(&lock.instance_id) {
                    Err(Failure::Rejected(BackendError::LockLost {
                        what: format!(
                            "instance `{}` (it was replaced by a new instance or purged)",
                            lock.instance_id
                        ),
                    }))
                } else {
                    self.complete_orchestration(token, lock, commit, activity, batch)
                };
                if result.is_err() {
                    let mut index = self.shared.index();
                    index.cancel_complete(token);
                    if let Some(id) = activity {
                        index.cancel_complete_activity(id);
                    }
                }
                result
            }
            WriteOp::CompleteActivity { token, result } => {
                let id = self.shared.index().begin_complete_activity(token)?;
                let outcome = self.complete_activity(id, result, batch);
                if outcome.is_err() {
                    self.shared.index().cancel_complete_activity(id);
                }
                outcome
            }
            WriteOp::CountAttempts { of, delta, counts } => {
                let bumped = match of {
                    Attempts::Activities(ids) => self.bump_attempts(
                        "UPDATE activity_items SET attempts = MAX(attempts + ?3, 0) \
                         WHERE id = ?1 AND hub = ?2 RETURNING attempts",
                        ids,
                        delta,
                    )?,
                    Attempts::Instances(ids) => self.bump_attempts(
                        "UPDATE instances SET attempts = MAX(attempts + ?3, 0) \
                         WHERE instance_id = ?1 AND hub = ?2 RETURNING attempts",
                        ids,
                        delta,
                    )?,
                };
                *counts.lock().unwrap_or_else(PoisonError::into_inner) = bumped;
                Ok(Effect::Nothing)
            }
            WriteOp::DropOrphans { token } => {
                let lock = self.shared.index().begin_complete(token)?;
                let outcome = self.delete_messages(&lock.message_ids);
                if outcome.is_err() {
                    self.shared.index().cancel_complete(token);
                }
                outcome.map(|()| Effect::Orphans { token })
            }
            WriteOp::Purge { filter, deleted } => self.purge(&filter, &deleted, batch),
        }
    }

    /// Runs `bump` (an `UPDATE … RETURNING attempts` of the row `?1` of the hub `?2`, by
    /// `?3`) for each id; the new counts, in order, 0 for a row no longer stored (purged: its
    /// lock or lease is lost anyway).
    fn bump_attempts<Id: rusqlite::ToSql>(
        &self,
        bump: &str,
        ids: Vec<Id>,
        delta: i32,
    ) -> OpResult<Vec<u32>> {
        let mut bump = self.conn.prepare_cached(bump)?;
        let mut bumped = Vec::with_capacity(ids.len());
        for id in ids {
            let attempts: Option<u32> =
                bump.query_row(params![id, self.hub(), delta], |row| row.get(0)).optional()?;
            bumped.push(attempts.unwrap_or(0));
        }
        Ok(bumped)
    }

    fn hub(&self) -> &str {
        &self.shared.hub
    }

    fn create_queues(&self, queues: &[QueueSpec]) -> OpResult<Effect> {
        let mut insert = self
            .conn
            .prepare_cached("INSERT OR IGNORE INTO queues (hub, kind, name) VALUES (?1, ?2, ?3)")?;
        for queue in queues {
            insert.execute(params![self.hub(), queue.kind.as_str(), queue.name])?;
        }
        Ok(Effect::Nothing)
    }

    fn create_instance(
        &self,
        new: NewInstance,
        first_turn: Option<OrchestrationCommit>,
        batch: &mut Batch,
    ) -> OpResult<Effect> {
        let hub = self.hub();
        let existing: Option<String> = self
            .conn
            .prepare_cached("SELECT status FROM instances WHERE hub = ?1 AND instance_id = ?2")?
            .query_row(params![hub, new.instance_id], |row| row.get(0))
            .optional()?;
        if let Some(status) = existing {
            let status = parse_status(&status, &format!("instance `{}`", new.instance_id))?;
            if !status.is_terminal() {
                return Err(Failure::Rejected(BackendError::InstanceExists {
                    instance_id: new.instance_id,
                    status,
                }));
            }
            // Replace the finished instance: its history and leftover messages go.
            self.conn
                .prepare_cached("DELETE FROM history WHERE hub = ?1 AND instance_id = ?2")?
                .execute(params![hub, new.instance_id])?;
            self.conn
                .prepare_cached("DELETE FROM messages WHERE hub = ?1 AND instance_id = ?2")?
                .execute(params![hub, new.instance_id])?;
        }
        let mut record = InstanceRecord {
            instance_id: new.instance_id.clone(),
            name: new.name.clone(),
            execution_id: new.execution_id.clone(),
            runtime_status: OrchestrationRuntimeStatus::Pending,
            input: new.input.clone(),
            version: new.version.clone(),
            output: serde_json::Value::Null,
            custom_status: serde_json::Value::Null,
            failure: None,
            created_at: new.created_at,
            last_updated_at: new.created_at,
        };
        if let Some(turn) = &first_turn {
            record.runtime_status = turn.status;
            record.output = turn.output.clone();
            record.custom_status = turn.custom_status.clone();
            record.failure = turn.failure.clone();
            record.last_updated_at = batch.now;
        }
        let failure_json = record
            .failure
            .as_ref()
            .map(|failure| to_json(failure, "the failure details"))
            .transpose()?;
        self.conn
            .prepare_cached(
                "INSERT INTO instances (hub, instance_id, name, execution_id, status, input, \
                   output, custom_status, failure, created_at, updated_at, version) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
                 ON CONFLICT (hub, instance_id) DO UPDATE SET name = excluded.name, \
                   execution_id = excluded.execution_id, status = excluded.status, \
                   input = excluded.input, output = excluded.output, \
                   custom_status = excluded.custom_status, failure = excluded.failure, \
                   created_at = excluded.created_at, updated_at = excluded.updated_at, \
                   version = excluded.version, attempts = 0",
            )?
            .execute(params![
                hub,
                record.instance_id,
                record.name,
                record.execution_id,
                record.runtime_status.as_str(),
                to_json(&record.input, "the instance input")?,
                to_json(&record.output, "the output")?,
                to_json(&record.custom_status, "the custom status")?,
                failure_json,
                format_time(&record.created_at),
                format_time(&record.last_updated_at),
                record.version,
            ])?;
        batch.replaced.insert(new.instance_id.clone());
        let Some(turn) = first_turn else {
            let message = new.start_message();
            let message_id = self.insert_start_message(&message, &new.name, batch)?;
            return Ok(Effect::Created {
                record,
                start: Some((message_id, message)),
                history_len: 0,
                activities: Vec::new(),
                messages: Vec::new(),
                created: Vec::new(),
            });
        };
        let history_len =
            self.append_history(&new.instance_id, &new.execution_id, 0, &turn.new_events)?;
        let (activities, mut messages) =
            self.enqueue_outputs(&new.instance_id, turn.activities, turn.messages, batch)?;
        let created =
            self.start_sub_orchestrations(turn.sub_orchestrations, &mut messages, batch)?;
        Ok(Effect::Created { record, start: None, history_len, activities, messages, created })
    }

    /// Creates a turn's sub-orchestrations; for each whose id an unfinished instance holds,
    /// delivers its `if_exists` message instead (added to `messages`).
    fn start_sub_orchestrations(
        &self,
        starts: Vec<SubOrchestrationStart>,
        messages: &mut Vec<(i64, OrchestrationMessage)>,
        batch: &mut Batch,
    ) -> OpResult<Vec<Effect>> {
        let mut created = Vec::with_capacity(starts.len());
        for start in starts {
            match self.create_instance(start.instance, None, batch) {
                Ok(effect) => created.push(effect),
                // Checked before anything is written, so the operation can go on.
                Err(Failure::Rejected(BackendError::InstanceExists { .. })) => {
                    if let Some(id) = self.insert_message_to_instance(&start.if_exists, batch)? {
                        messages.push((id, start.if_exists));
                    }
                }
                Err(failure) => return Err(failure),
            }
        }
        Ok(created)
    }

    /// Inserts the message that starts a new instance into `queue` (its orchestrator name),
    /// marked so that another process reading it knows the instance was (re)created.
    fn insert_start_message(
        &self,
        message: &OrchestrationMessage,
        queue: &str,
        batch: &Batch,
    ) -> OpResult<i64> {
        let body = to_json(message, "a message")?;
        let id = self
            .conn
            .prepare_cached(
                "INSERT INTO messages (hub, instance_id, queue, body, enqueued_at, \
                   creates_instance) VALUES (?1, ?2, ?3, ?4, ?5, 1)",
            )?
            .insert(params![self.hub(), message.instance_id, queue, body, batch.now_text])?;
        Ok(id)
    }

    /// Inserts a message for an existing instance; `None` when there is no such instance.
    fn insert_message_to_instance(
        &self,
        message: &OrchestrationMessage,
        batch: &Batch,
    ) -> OpResult<Option<i64>> {
        let body = to_json(message, "a message")?;
        let inserted = self
            .conn
            .prepare_cached(
                "INSERT INTO messages (hub, instance_id, queue, body, enqueued_at) \
                 SELECT ?1, ?2, name, ?3, ?4 FROM instances WHERE hub = ?1 AND instance_id = ?2",
            )?
            .execute(params![self.hub(), message.instance_id, body, batch.now_text])?;
        Ok((inserted > 0).then(|| self.conn.last_insert_rowid()))
    }

    fn delete_messages(&self, ids: &[i64]) -> OpResult<()> {
        let mut delete =
            self.conn.prepare_cached("DELETE FROM messages WHERE id = ?1 AND hub = ?2")?;
        for id in ids {
            delete.execute(params![id, self.hub()])?;
        }
        Ok(())
    }

    fn complete_orchestration(
        &self,
        token: u64,
        lock: CompletingLock,
        commit: OrchestrationCommit,
        completed_activity: Option<i64>,
        batch: &mut Batch,
    ) -> OpResult<Effect> {
        let hub = self.hub();
        if let Some(id) = completed_activity {
            self.delete_activity(id)?;
        }
        let instance_id = &lock.instance_id;
        let execution_id = &commit.execution_id;
        let start = match &lock.history {
            _ if commit.replace_history => {
                self.conn
                    .prepare_cached("DELETE FROM history WHERE hub = ?1 AND instance_id = ?2")?
                    .execute(params![hub, instance_id])?;
                0
            }
            Some((known, len)) if known == execution_id => *len,
            _ => {
                // Possibly a new execution: it replaces the history of the previous ones.
                self.conn
                    .prepare_cached(
                        "DELETE FROM history \
                         WHERE hub = ?1 AND instance_id = ?2 AND execution_id <> ?3",
                    )?
                    .execute(params![hub, instance_id, execution_id])?;
                let next: i64 = self
                    .conn
                    .prepare_cached(
                        "SELECT COALESCE(MAX(seq + count), 0) FROM history \
                         WHERE hub = ?1 AND instance_id = ?2 AND execution_id = ?3",
                    )?
                    .query_row(params![hub, instance_id, execution_id], |row| row.get(0))?;
                u64::try_from(next)
                    .map_err(|_| corrupt("history", format!("negative sequence number {next}")))?
            }
        };
        let seq = self.append_history(instance_id, execution_id, start, &commit.new_events)?;
        let input_json = commit
            .new_execution
            .as_ref()
            .map(|started| to_json(&started.input, "the instance input"))
            .transpose()?;
        let failure_json = commit
            .failure
            .as_ref()
            .map(|failure| to_json(failure, "the failure details"))
            .transpose()?;
        // A commit that records nothing (it only consumes late messages) leaves the instance's
        // last-updated time alone.
        let updated_at = (!commit.new_events.is_empty()).then_some(batch.now);
        let updated = self
            .conn
            .prepare_cached(
                "UPDATE instances SET execution_id = ?3, status = ?4, output = ?5, \
                   custom_status = ?6, failure = ?7, updated_at = COALESCE(?8, updated_at), \
                   input = COALESCE(?9, input), version = COALESCE(?10, version), \
                   attempts = 0 \
                 WHERE hub = ?1 AND instance_id = ?2",
            )?
            .execute(params![
                hub,
                instance_id,
                execution_id,
                commit.status.as_str(),
                to_json(&commit.output, "the output")?,
                to_json(&commit.custom_status, "the custom status")?,
                failure_json,
                updated_at.map(|_| batch.now_text.as_str()),
                input_json,
                commit.new_execution.as_ref().map(|started| started.version.as_str()),
            ])?;
        if updated == 0 {
            return Err(Failure::Rejected(BackendError::InstanceNotFound {
                instance_id: instance_id.clone(),
            }));
        }
        let (activities, mut messages) =
            self.enqueue_outputs(instance_id, commit.activities, commit.messages, batch)?;
        let created =
            self.start_sub_orchestrations(commit.sub_orchestrations, &mut messages, batch)?;
        self.delete_messages(&lock.message_ids)?;
        Ok(Effect::Completed {
            token,
            update: RecordUpdate {
                execution_id: commit.execution_id,
                started: commit.new_execution,
                status: commit.status,
                output: commit.output,
                custom_status: commit.custom_status,
                failure: commit.failure,
                updated_at,
            },
            history_len: seq,
            completed_activity,
            activities,
            enqueued_at: batch.now,
            messages,
            created,
        })
    }

    fn complete_activity(
        &self,
        id: i64,
        result: OrchestrationMessage,
        batch: &Batch,
    ) -> OpResult<Effect> {
        self.delete_activity(id)?;
        let message = match self.insert_message_to_instance(&result, batch)? {
            Some(message_id) => Some((message_id, result)),
            None => {
                tracing::warn!(
                    to = %result.instance_id,
                    "dropped an activity result for an instance that does not exist"
                );
                None
            }
        };
        Ok(Effect::ActivityCompleted { id, message })
    }

    /// Deletes a leased activity work item; `LockLost` if it is already gone.
    fn delete_activity(&self, id: i64) -> OpResult<()> {
        let deleted = self
            .conn
            .prepare_cached("DELETE FROM activity_items WHERE id = ?1 AND hub = ?2")?
            .execute(params![id, self.hub()])?;
        if deleted == 0 {
            return Err(Failure::Rejected(BackendError::LockLost {
                what: format!("activity work item {id} (it is gone)"),
            }));
        }
        Ok(())
    }

    /// Appends events to an execution's history from position `start`, as one row; returns
    /// the new length.
    fn append_history(
        &self,
        instance_id: &str,
        execution_id: &str,
        start: u64,
        events: &[HistoryEvent],
    ) -> OpResult<u64> {
        if events.is_empty() {
            return Ok(start);
        }
        let too_long = || BackendError::Store {
            message: format!("history of instance `{instance_id}` is too long"),
            retryable: false,
        };
        let end = start + events.len() as u64;
        let position = i64::try_from(start).map_err(|_| too_long())?;
        let count = i64::try_from(events.len()).map_err(|_| too_long())?;
        self.conn
            .prepare_cached(
                "INSERT INTO history (hub, instance_id, execution_id, seq, count, events) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                self.hub(),
                instance_id,
                execution_id,
                position,
                count,
                to_json(&events, "history events")?,
            ])?;
        Ok(end)
    }

    /// Enqueues what a turn of `from` produced: activity work items and messages (messages
    /// to instances that do not exist are dropped).
    fn enqueue_outputs(
        &self,
        from: &str,
        requests: Vec<ActivityRequest>,
        outgoing: Vec<OrchestrationMessage>,
        batch: &Batch,
    ) -> OpResult<Enqueued> {
        let mut activities = Vec::with_capacity(requests.len());
        let mut insert_activity = self.conn.prepare_cached(
            "INSERT INTO activity_items (hub, queue, instance_id, execution_id, \
               task_scheduled_id, body, enqueued_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for request in requests {
            let body = to_json(&request.input, "an activity input")?;
            let id = insert_activity.insert(params![
                self.hub(),
                request.name,
                request.instance_id,
                request.execution_id,
                request.task_scheduled_id,
                body,
                batch.now_text,
            ])?;
            activities.push((id, request));
        }
        let mut messages = Vec::with_capacity(outgoing.len());
        for message in outgoing {
            match self.insert_message_to_instance(&message, batch)? {
                Some(id) => messages.push((id, message)),
                None => tracing::warn!(
                    %from,
                    to = %message.instance_id,
                    event = message.event.kind.type_name(),
                    "dropped a message to an instance that does not exist"
                ),
            }
        }
        Ok((activities, messages))
    }
}
