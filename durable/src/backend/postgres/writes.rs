//! The write transactions: creating instances, committing turns and activity results,
//! sending messages, purging. Each goes out as one pipeline of statements, then `COMMIT`.
//!
//! Lock order inside a transaction: the committing instance's row (fenced by its token),
//! then the completed activity's row (fenced by its token), then the rows it creates.
//! Senders only insert into a target's inbox; they never lock the target's row.

use tokio_postgres::Row;

use super::Store;
use super::batch::{Op, TurnOp};
use super::pipeline::Tx;
use super::rows::nanos;
use crate::backend::codec::{parse_status, to_json};
use crate::backend::{
    BackendError, NewInstance, OrchestrationCommit, PurgeFilter, Result, SubOrchestrationStart,
    WorkItemLock,
};
use crate::history::{OrchestrationMessage, OrchestrationRuntimeStatus};

/// The statuses of finished instances, as an SQL list.
pub(super) const FINISHED: &str = "('Completed', 'Failed', 'Canceled', 'Terminated')";

/// An instance to create, with its parameters as stored.
pub(super) struct Creation {
    pub(super) instance_id: String,
    pub(super) name: String,
    pub(super) execution_id: String,
    pub(super) status: &'static str,
    pub(super) input: String,
    pub(super) output: String,
    pub(super) custom_status: String,
    pub(super) failure: Option<String>,
    pub(super) version: String,
    pub(super) created_at: i64,
    pub(super) updated_at: i64,
    pub(super) history_len: i64,
    /// The `ExecutionStarted` message, unless its first turn comes with it.
    pub(super) start_message: Option<String>,
    /// When the start message becomes deliverable.
    pub(super) start_visible: i64,
}

impl Creation {
    pub(super) fn new(
        new: &NewInstance,
        first_turn: Option<&OrchestrationCommit>,
        now: i64,
    ) -> Result<Self> {
        let start_message = match first_turn {
            Some(_) => None,
            None => Some(to_json(&new.start_message(), "a message")?),
        };
        Ok(Creation {
            instance_id: new.instance_id.clone(),
            name: new.name.clone(),
            execution_id: new.execution_id.clone(),
            status: first_turn.map_or(OrchestrationRuntimeStatus::Pending, |t| t.status).as_str(),
            input: to_json(&new.input, "the instance input")?,
            output: to_json(&first_turn.map(|t| &t.output), "the output")?,
            custom_status: to_json(&first_turn.map(|t| &t.custom_status), "the custom status")?,
            failure: first_turn
                .and_then(|t| t.failure.as_ref())
                .map(|f| to_json(f, "the failure details"))
                .transpose()?,
            version: new.version.clone(),
            created_at: nanos(&new.created_at),
            updated_at: if first_turn.is_some() { now } else { nanos(&new.created_at) },
            history_len: first_turn.map_or(0, |t| t.new_events.len() as i64),
            start_message,
            start_visible: new.start_at.as_ref().map_or(now, nanos),
        })
    }
}

/// What a turn produced, with its parameters as stored.
pub(super) struct Outputs {
    pub(super) now: i64,
    pub(super) events: Vec<String>,
    pub(super) queues: Vec<String>,
    pub(super) callers: Vec<String>,
    pub(super) executions: Vec<String>,
    pub(super) task_ids: Vec<i64>,
    pub(super) inputs: Vec<String>,
    pub(super) targets: Vec<String>,
    pub(super) bodies: Vec<String>,
    pub(super) visible: Vec<i64>,
    pub(super) children: Vec<(Creation, OrchestrationMessage)>,
}

impl Outputs {
    /// Nothing yet: add to it.
    pub(super) fn empty(now: i64) -> Self {
        Outputs {
            now,
            events: Vec::new(),
            queues: Vec::new(),
            callers: Vec::new(),
            executions: Vec::new(),
            task_ids: Vec::new(),
            inputs: Vec::new(),
            targets: Vec::new(),
            bodies: Vec::new(),
            visible: Vec::new(),
            children: Vec::new(),
        }
    }

    pub(super) fn new(turn: &OrchestrationCommit, now: i64) -> Result<Self> {
        let mut outputs = Outputs::empty(now);
        outputs.events =
            turn.new_events.iter().map(|e| to_json(e, "a history event")).collect::<Result<_>>()?;
        for request in &turn.activities {
            outputs.queues.push(request.name.clone());
            outputs.callers.push(request.instance_id.clone());
            outputs.executions.push(request.execution_id.clone());
            outputs.task_ids.push(request.task_scheduled_id);
            outputs.inputs.push(to_json(&request.input, "an activity input")?);
        }
        outputs.add_messages(&turn.messages)?;
        for SubOrchestrationStart { instance, if_exists } in &turn.sub_orchestrations {
            outputs.children.push((Creation::new(instance, None, now)?, if_exists.clone()));
        }
        Ok(outputs)
    }

    pub(super) fn add_messages(&mut self, messages: &[OrchestrationMessage]) -> Result<()> {
        for message in messages {
            self.targets.push(message.instance_id.clone());
            self.bodies.push(to_json(message, "a message")?);
            self.visible.push(message.visible_at.as_ref().map_or(self.now, nanos));
        }
        Ok(())
    }
}

impl Store {
    /// The error for a create refused because an unfinished instance has the id.
    pub(super) async fn exists_error(&self, instance_id: &str) -> BackendError {
        let status = match self.read_instance(instance_id).await {
            Ok(Some(record)) => record.runtime_status,
            Ok(None) => OrchestrationRuntimeStatus::Pending,
            Err(error) => return error,
        };
        BackendError::InstanceExists { instance_id: instance_id.to_owned(), status }
    }

    /// Deletes the finished instances (or the idle entity) `filter` names with everything
    /// stored for them; returns how many.
    pub(super) async fn purge(&self, filter: &PurgeFilter) -> Result<u64> {
        let tx = Tx::start(&self.pool).await?;
        let statuses: Vec<&str> = filter.statuses().iter().map(|s| s.as_str()).collect();
        let (from, to, before, limit) = match filter {
            PurgeFilter::Instance(_) | PurgeFilter::IdleEntity { .. } | PurgeFilter::Everything => {
                (None, None, None, None)
            }
            PurgeFilter::Created { created_from, created_to, finished_before, limit, .. } => (
                created_from.as_ref().map(nanos),
                created_to.as_ref().map(nanos),
                finished_before.as_ref().map(nanos),
                limit.map(|limit| i64::try_from(limit).unwrap_or(i64::MAX)),
            ),
        };
        let mut p = tx.pipeline(true)?;
        let selected = match filter {
            PurgeFilter::Instance(instance_id) => {
                p.push(
                    &self.sql("SELECT instance_id, status FROM {s}.instances WHERE instance_id = $1 FOR UPDATE"),
                    vec![instance_id],
                )
                .await?
            }
            PurgeFilter::Created { .. } => {
                p.push(
                    &self.sql(
                        "SELECT instance_id, status FROM {s}.instances WHERE status = ANY($1) \
                           AND ($2::bigint IS NULL OR created_at >= $2) \
                           AND ($3::bigint IS NULL OR created_at <= $3) \
                           AND ($4::bigint IS NULL OR updated_at <= $4) \
                           AND left(instance_id, 1) <> '@' LIMIT $5 FOR UPDATE",
                    ),
                    vec![&statuses, &from, &to, &before, &limit],
                )
                .await?
            }
            PurgeFilter::IdleEntity { instance_id, execution_id } => {
                p.push(
                    &self.sql(
                        "SELECT instance_id, status FROM {s}.instances \
                         WHERE instance_id = $1 AND execution_id = $2 \
                           AND NOT EXISTS (SELECT 1 FROM {s}.messages m \
                                           WHERE m.instance_id = $1) FOR UPDATE",
                    ),
                    vec![instance_id, execution_id],
                )
                .await?
            }
            PurgeFilter::Everything => {
                p.push(
                    &self.sql("SELECT instance_id, status FROM {s}.instances FOR UPDATE"),
                    vec![],
                )
                .await?
            }
        };
        let mut answers = p.run().await;
        answers.first_error()?;
        let rows: Vec<Row> = answers.rows(selected)?;
        let mut ids = Vec::with_capacity(rows.len());
        for row in &rows {
            let instance_id: String = row.get(0);
            let status = parse_status(row.get(1), &format!("instance `{instance_id}`"))?;
            let any_status =
                matches!(filter, PurgeFilter::IdleEntity { .. } | PurgeFilter::Everything);
            if !status.is_terminal() && !any_status {
                tx.rollback().await;
                return Err(BackendError::InstanceNotFinished { instance_id, status });
            }
            ids.push(instance_id);
        }
        if ids.is_empty() {
            tx.rollback().await;
            return Ok(0);
        }
        let mut p = tx.pipeline(false)?;
        for table in ["history", "messages", "activity_items"] {
            p.push(
                &self.sql(&format!("DELETE FROM {{s}}.{table} WHERE instance_id = ANY($1)")),
                vec![&ids],
            )
            .await?;
        }
        let deleted = p
            .push(
                &self.sql("DELETE FROM {s}.instances WHERE instance_id = ANY($1) RETURNING 1"),
                vec![&ids],
            )
            .await?;
        let mut answers = p.run().await;
        answers.first_error()?;
        let count = answers.rows(deleted)?.len() as u64;
        tx.commit().await?;
        Ok(count)
    }
}

impl Op {
    /// A new instance, with its first turn when it already ran.
    pub(super) fn create(
        new: &NewInstance,
        first_turn: Option<&OrchestrationCommit>,
        now: i64,
    ) -> Result<Op> {
        Ok(Op::Create {
            creation: Box::new(Creation::new(new, first_turn, now)?),
            outputs: first_turn.map(|turn| Outputs::new(turn, now)).transpose()?,
        })
    }

    /// A turn of `instance_id`, locked under `token`, consuming `message_ids`.
    pub(super) fn turn(
        instance_id: &str,
        token: i64,
        message_ids: &[i64],
        commit: &OrchestrationCommit,
        now: i64,
    ) -> Result<Op> {
        Ok(Op::Turn(Box::new(TurnOp {
            instance_id: instance_id.to_owned(),
            token,
            message_ids: message_ids.to_vec(),
            execution_id: commit.execution_id.clone(),
            status: commit.status.as_str(),
            output: to_json(&commit.output, "the output")?,
            custom_status: to_json(&commit.custom_status, "the custom status")?,
            failure: commit
                .failure
                .as_ref()
                .map(|f| to_json(f, "the failure details"))
                .transpose()?,
            // A commit that records nothing (it only consumes late messages) leaves the
            // instance's last-updated time alone.
            updated_at: (!commit.new_events.is_empty()).then_some(now),
            input: commit
                .new_execution
                .as_ref()
                .map(|s| to_json(&s.input, "the instance input"))
                .transpose()?,
            version: commit.new_execution.as_ref().map(|s| s.version.clone()),
            replace_history: commit.replace_history,
            new_execution: commit.new_execution.is_some(),
            activity: commit.completed_activity.as_ref().map(activity_lease).transpose()?,
            outputs: Outputs::new(commit, now)?,
        })))
    }

    /// An activity result delivered in place of its work item.
    pub(super) fn result(
        lease: &WorkItemLock,
        message: &OrchestrationMessage,
        now: i64,
    ) -> Result<Op> {
        let mut outputs = Outputs::empty(now);
        outputs.add_messages(std::slice::from_ref(message))?;
        Ok(Op::Result { activity: activity_lease(lease)?, outputs })
    }

    /// A message to an existing instance.
    pub(super) fn send(message: &OrchestrationMessage, now: i64) -> Result<Op> {
        let mut outputs = Outputs::empty(now);
        outputs.add_messages(std::slice::from_ref(message))?;
        Ok(Op::Send { outputs })
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
