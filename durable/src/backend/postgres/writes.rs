//! The write transactions: creating instances, committing turns and activity results,
//! sending messages, purging.
//!
//! Lock order inside a transaction: the committing instance's row (fenced by its token),
//! then the completed activity's row (fenced by its token), then rows it creates. Senders
//! only insert into a target's inbox; they never lock the target's row.

use deadpool_postgres::Transaction;
use tokio_postgres::types::ToSql;

use super::PostgresBackend;
use super::rows::{nanos, pg_error};
use crate::backend::codec::{parse_status, to_json};
use crate::backend::{
    ActivityRequest, BackendError, NewInstance, OrchestrationCommit, PurgeFilter, Result,
    SubOrchestrationStart, WorkItemLock,
};
use crate::history::{HistoryEvent, OrchestrationMessage, OrchestrationRuntimeStatus};

/// Which fetchers a committed transaction must wake.
#[derive(Default, Clone, Copy)]
pub(super) struct Wake {
    pub(super) orchestrations: bool,
    pub(super) activities: bool,
}

impl PostgresBackend {
    /// Creates an instance (and its first turn, when given) in `tx`.
    pub(super) async fn create_in(
        &self,
        tx: &Transaction<'_>,
        new: &NewInstance,
        first_turn: Option<&OrchestrationCommit>,
        wake: &mut Wake,
    ) -> Result<()> {
        let now = self.now();
        let (status, output, custom_status, failure, updated_at) = match first_turn {
            Some(turn) => (
                turn.status,
                to_json(&turn.output, "the output")?,
                to_json(&turn.custom_status, "the custom status")?,
                turn.failure.as_ref().map(|f| to_json(f, "the failure details")).transpose()?,
                nanos(&now),
            ),
            None => (
                OrchestrationRuntimeStatus::Pending,
                "null".to_owned(),
                "null".to_owned(),
                None,
                nanos(&new.created_at),
            ),
        };
        let history_len = first_turn.map_or(0, |turn| turn.new_events.len() as i64);
        // Inserts, or replaces a finished instance (taking a new fencing token, so whoever
        // still holds its lock loses it); an unfinished one is left alone.
        let upserted = tx
            .query_opt(
                &self.sql(
                    "INSERT INTO {s}.instances (instance_id, name, execution_id, status, input, \
                       output, custom_status, failure, version, created_at, updated_at, \
                       history_len, lock_token) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
                       nextval('{s}.fencing')) \
                     ON CONFLICT (instance_id) DO UPDATE SET name = excluded.name, \
                       execution_id = excluded.execution_id, status = excluded.status, \
                       input = excluded.input, output = excluded.output, \
                       custom_status = excluded.custom_status, failure = excluded.failure, \
                       version = excluded.version, created_at = excluded.created_at, \
                       updated_at = excluded.updated_at, history_len = excluded.history_len, \
                       lock_token = excluded.lock_token, lock_owner = NULL, lock_until = NULL \
                     WHERE {s}.instances.status IN ('Completed', 'Failed', 'Canceled', 'Terminated') \
                     RETURNING xmax = 0",
                ),
                &[
                    &new.instance_id,
                    &new.name,
                    &new.execution_id,
                    &status.as_str(),
                    &to_json(&new.input, "the instance input")?,
                    &output,
                    &custom_status,
                    &failure,
                    &new.version,
                    &nanos(&new.created_at),
                    &updated_at,
                    &history_len,
                ],
            )
            .await
            .map_err(pg_error)?;
        let Some(upserted) = upserted else {
            let status: String = tx
                .query_one(
                    &self.sql("SELECT status FROM {s}.instances WHERE instance_id = $1"),
                    &[&new.instance_id],
                )
                .await
                .map_err(pg_error)?
                .get(0);
            return Err(BackendError::InstanceExists {
                instance_id: new.instance_id.clone(),
                status: parse_status(&status, &format!("instance `{}`", new.instance_id))?,
            });
        };
        let inserted: bool = upserted.get(0);
        if !inserted {
            // The finished instance it replaces leaves nothing behind for the new one.
            for table in ["history", "messages"] {
                tx.execute(
                    &self.sql(&format!("DELETE FROM {{s}}.{table} WHERE instance_id = $1")),
                    &[&new.instance_id],
                )
                .await
                .map_err(pg_error)?;
            }
        }
        match first_turn {
            None => {
                let message = OrchestrationMessage {
                    visible_at: None,
                    instance_id: new.instance_id.clone(),
                    execution_id: Some(new.execution_id.clone()),
                    event: new.started_event(),
                };
                tx.execute(
                    &self.sql(
                        "INSERT INTO {s}.messages (instance_id, queue, body, visible_at, \
                           enqueued_at, creates_instance) VALUES ($1, $2, $3, $4, $4, true)",
                    ),
                    &[&new.instance_id, &new.name, &to_json(&message, "a message")?, &nanos(&now)],
                )
                .await
                .map_err(pg_error)?;
                wake.orchestrations = true;
            }
            Some(turn) => {
                self.append_history(tx, &new.instance_id, &new.execution_id, 0, &turn.new_events)
                    .await?;
                self.enqueue_outputs(tx, &new.instance_id, &turn.activities, &turn.messages, wake)
                    .await?;
                Box::pin(self.start_sub_orchestrations(tx, &turn.sub_orchestrations, wake)).await?;
            }
        }
        Ok(())
    }

    /// Creates a turn's sub-orchestrations; for each whose id an unfinished instance holds,
    /// delivers its `if_exists` message instead.
    async fn start_sub_orchestrations(
        &self,
        tx: &Transaction<'_>,
        starts: &[SubOrchestrationStart],
        wake: &mut Wake,
    ) -> Result<()> {
        for start in starts {
            match self.create_in(tx, &start.instance, None, wake).await {
                Ok(()) => {}
                // Refused before anything was written, so the transaction goes on.
                Err(BackendError::InstanceExists { .. }) => {
                    self.enqueue_outputs(
                        tx,
                        &start.instance.instance_id,
                        &[],
                        std::slice::from_ref(&start.if_exists),
                        wake,
                    )
                    .await?;
                }
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// Appends events to an execution's history from position `start`, one row each.
    async fn append_history(
        &self,
        tx: &Transaction<'_>,
        instance_id: &str,
        execution_id: &str,
        start: i64,
        events: &[HistoryEvent],
    ) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let texts =
            events.iter().map(|e| to_json(e, "a history event")).collect::<Result<Vec<_>>>()?;
        tx.execute(
            &self.sql(
                "INSERT INTO {s}.history (instance_id, execution_id, seq, event) \
                 SELECT $1, $2, $3 + t.ord - 1, t.event \
                 FROM unnest($4::text[]) WITH ORDINALITY AS t(event, ord)",
            ),
            &[&instance_id, &execution_id, &start, &texts],
        )
        .await
        .map_err(pg_error)?;
        Ok(())
    }

    /// Enqueues what a turn of `from` produced: activity work items, and messages to the
    /// instances that exist (the others are dropped, as the contract says).
    async fn enqueue_outputs(
        &self,
        tx: &Transaction<'_>,
        from: &str,
        requests: &[ActivityRequest],
        messages: &[OrchestrationMessage],
        wake: &mut Wake,
    ) -> Result<()> {
        let now = nanos(&self.now());
        if !requests.is_empty() {
            let mut queues = Vec::with_capacity(requests.len());
            let mut instances = Vec::with_capacity(requests.len());
            let mut executions = Vec::with_capacity(requests.len());
            let mut task_ids = Vec::with_capacity(requests.len());
            let mut bodies = Vec::with_capacity(requests.len());
            for request in requests {
                queues.push(request.name.as_str());
                instances.push(request.instance_id.as_str());
                executions.push(request.execution_id.as_str());
                task_ids.push(request.task_scheduled_id);
                bodies.push(to_json(&request.input, "an activity input")?);
            }
            tx.execute(
                &self.sql(
                    "INSERT INTO {s}.activity_items (queue, instance_id, execution_id, \
                       task_scheduled_id, body, enqueued_at) \
                     SELECT t.queue, t.instance_id, t.execution_id, t.task_id, t.body, $1 \
                     FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[]) \
                       WITH ORDINALITY AS t(queue, instance_id, execution_id, task_id, body, ord) \
                     ORDER BY t.ord",
                ),
                &[&now, &queues, &instances, &executions, &task_ids, &bodies],
            )
            .await
            .map_err(pg_error)?;
            wake.activities = true;
        }
        if !messages.is_empty() {
            let mut targets = Vec::with_capacity(messages.len());
            let mut bodies = Vec::with_capacity(messages.len());
            let mut visible = Vec::with_capacity(messages.len());
            for message in messages {
                targets.push(message.instance_id.as_str());
                bodies.push(to_json(message, "a message")?);
                visible.push(message.visible_at.as_ref().map_or(now, nanos));
            }
            let delivered = tx
                .execute(
                    &self.sql(
                        "INSERT INTO {s}.messages (instance_id, queue, body, visible_at, \
                           enqueued_at) \
                         SELECT t.instance_id, i.name, t.body, t.visible_at, $1 \
                         FROM unnest($2::text[], $3::text[], $4::bigint[]) \
                           WITH ORDINALITY AS t(instance_id, body, visible_at, ord) \
                         JOIN {s}.instances i ON i.instance_id = t.instance_id \
                         ORDER BY t.ord",
                    ),
                    &[&now, &targets, &bodies, &visible],
                )
                .await
                .map_err(pg_error)?;
            if delivered < messages.len() as u64 {
                tracing::warn!(
                    %from,
                    dropped = messages.len() as u64 - delivered,
                    "dropped messages to instances that do not exist"
                );
            }
            wake.orchestrations |= delivered > 0;
        }
        Ok(())
    }

    /// Commits a turn of the instance `instance_id`, locked under `token`.
    pub(super) async fn commit_turn(
        &self,
        tx: &Transaction<'_>,
        instance_id: &str,
        token: i64,
        message_ids: &[i64],
        commit: &OrchestrationCommit,
        wake: &mut Wake,
    ) -> Result<()> {
        let events = commit.new_events.len() as i64;
        let restarts_history = commit.replace_history || commit.new_execution.is_some();
        let updated_at = (!commit.new_events.is_empty()).then(|| nanos(&self.now()));
        let new_len: Option<i64> = tx
            .query_opt(
                &self.sql(
                    "UPDATE {s}.instances SET execution_id = $3, status = $4, output = $5, \
                       custom_status = $6, failure = $7, updated_at = COALESCE($8, updated_at), \
                       input = COALESCE($9, input), version = COALESCE($10, version), \
                       history_len = CASE WHEN $11 OR execution_id <> $3 THEN $12 \
                         ELSE history_len + $12 END, \
                       lock_owner = NULL, lock_until = NULL \
                     WHERE instance_id = $1 AND lock_token = $2 \
                     RETURNING history_len",
                ),
                &[
                    &instance_id,
                    &token,
                    &commit.execution_id,
                    &commit.status.as_str(),
                    &to_json(&commit.output, "the output")?,
                    &to_json(&commit.custom_status, "the custom status")?,
                    &commit
                        .failure
                        .as_ref()
                        .map(|f| to_json(f, "the failure details"))
                        .transpose()?,
                    &updated_at,
                    &commit
                        .new_execution
                        .as_ref()
                        .map(|s| to_json(&s.input, "the instance input"))
                        .transpose()?,
                    &commit.new_execution.as_ref().map(|s| s.version.as_str()),
                    &restarts_history,
                    &events,
                ],
            )
            .await
            .map_err(pg_error)?
            .map(|row| row.get(0));
        let Some(new_len) = new_len else {
            return Err(lock_lost(format!("instance `{instance_id}`")));
        };
        if let Some(lease) = &commit.completed_activity {
            self.delete_activity(tx, lease).await?;
        }
        if commit.replace_history {
            tx.execute(
                &self.sql("DELETE FROM {s}.history WHERE instance_id = $1"),
                &[&instance_id],
            )
            .await
            .map_err(pg_error)?;
        } else if commit.new_execution.is_some() {
            tx.execute(
                &self.sql("DELETE FROM {s}.history WHERE instance_id = $1 AND execution_id <> $2"),
                &[&instance_id, &commit.execution_id],
            )
            .await
            .map_err(pg_error)?;
        }
        self.append_history(
            tx,
            instance_id,
            &commit.execution_id,
            new_len - events,
            &commit.new_events,
        )
        .await?;
        self.enqueue_outputs(tx, instance_id, &commit.activities, &commit.messages, wake).await?;
        self.start_sub_orchestrations(tx, &commit.sub_orchestrations, wake).await?;
        if !message_ids.is_empty() {
            tx.execute(&self.sql("DELETE FROM {s}.messages WHERE id = ANY($1)"), &[&message_ids])
                .await
                .map_err(pg_error)?;
        }
        Ok(())
    }

    /// Deletes a leased activity work item; `LockLost` when its lease was taken over or it is
    /// gone.
    pub(super) async fn delete_activity(
        &self,
        tx: &Transaction<'_>,
        lease: &WorkItemLock,
    ) -> Result<()> {
        let (id, token) = activity_lease(lease)?;
        let deleted = tx
            .execute(
                &self.sql("DELETE FROM {s}.activity_items WHERE id = $1 AND lock_token = $2"),
                &[&id, &token],
            )
            .await
            .map_err(pg_error)?;
        if deleted == 0 {
            return Err(lock_lost(format!("activity work item {id}")));
        }
        Ok(())
    }

    /// Delivers an activity's result in place of its work item.
    pub(super) async fn deliver_result(
        &self,
        tx: &Transaction<'_>,
        lease: &WorkItemLock,
        result: &OrchestrationMessage,
        wake: &mut Wake,
    ) -> Result<()> {
        self.delete_activity(tx, lease).await?;
        self.enqueue_outputs(tx, &result.instance_id, &[], std::slice::from_ref(result), wake).await
    }

    /// Sends a message to an existing instance.
    pub(super) async fn send_in(
        &self,
        tx: &Transaction<'_>,
        message: &OrchestrationMessage,
        wake: &mut Wake,
    ) -> Result<()> {
        let now = nanos(&self.now());
        let inserted = tx
            .execute(
                &self.sql(
                    "INSERT INTO {s}.messages (instance_id, queue, body, visible_at, enqueued_at) \
                     SELECT $1, name, $2, $3, $4 FROM {s}.instances WHERE instance_id = $1",
                ),
                &[
                    &message.instance_id,
                    &to_json(message, "a message")?,
                    &message.visible_at.as_ref().map_or(now, nanos),
                    &now,
                ],
            )
            .await
            .map_err(pg_error)?;
        if inserted == 0 {
            return Err(BackendError::InstanceNotFound {
                instance_id: message.instance_id.clone(),
            });
        }
        wake.orchestrations = true;
        Ok(())
    }

    /// Deletes the finished instances `filter` names with everything stored for them;
    /// returns how many.
    pub(super) async fn purge_in(&self, tx: &Transaction<'_>, filter: &PurgeFilter) -> Result<u64> {
        let ids: Vec<String> = match filter {
            PurgeFilter::Instance(instance_id) => {
                let row = tx
                    .query_opt(
                        &self.sql(
                            "SELECT status FROM {s}.instances WHERE instance_id = $1 FOR UPDATE",
                        ),
                        &[instance_id],
                    )
                    .await
                    .map_err(pg_error)?;
                let Some(row) = row else { return Ok(0) };
                let status = parse_status(row.get(0), &format!("instance `{instance_id}`"))?;
                if !status.is_terminal() {
                    return Err(BackendError::InstanceNotFinished {
                        instance_id: instance_id.clone(),
                        status,
                    });
                }
                vec![instance_id.clone()]
            }
            PurgeFilter::Created { created_from, created_to, .. } => {
                let statuses: Vec<&str> = filter.statuses().iter().map(|s| s.as_str()).collect();
                let from = created_from.as_ref().map(nanos);
                let to = created_to.as_ref().map(nanos);
                let params: [&(dyn ToSql + Sync); 3] = [&statuses, &from, &to];
                tx.query(
                    &self.sql(
                        "SELECT instance_id FROM {s}.instances WHERE status = ANY($1) \
                           AND ($2::bigint IS NULL OR created_at >= $2) \
                           AND ($3::bigint IS NULL OR created_at <= $3) FOR UPDATE",
                    ),
                    &params,
                )
                .await
                .map_err(pg_error)?
                .iter()
                .map(|row| row.get(0))
                .collect()
            }
        };
        if ids.is_empty() {
            return Ok(0);
        }
        for table in ["history", "messages", "activity_items"] {
            tx.execute(
                &self.sql(&format!("DELETE FROM {{s}}.{table} WHERE instance_id = ANY($1)")),
                &[&ids],
            )
            .await
            .map_err(pg_error)?;
        }
        tx.execute(&self.sql("DELETE FROM {s}.instances WHERE instance_id = ANY($1)"), &[&ids])
            .await
            .map_err(pg_error)
    }
}

/// The id and fencing token of an activity lease.
pub(super) fn activity_lease(lease: &WorkItemLock) -> Result<(i64, i64)> {
    match (lease.ids.first(), i64::try_from(lease.token)) {
        (Some(id), Ok(token)) => Ok((*id, token)),
        _ => Err(lock_lost(format!("activity lease {lease:?}"))),
    }
}

pub(super) fn lock_lost(what: String) -> BackendError {
    BackendError::LockLost { what }
}
