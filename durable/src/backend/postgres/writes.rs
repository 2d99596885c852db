//! The write transactions: creating instances, committing turns and activity results,
//! sending messages, purging. Each goes out as one pipeline of statements, then `COMMIT`.
//!
//! Lock order inside a transaction: the committing instance's row (fenced by its token),
//! then the completed activity's row (fenced by its token), then the rows it creates.
//! Senders only insert into a target's inbox; they never lock the target's row.

use tokio_postgres::Row;

use super::PostgresBackend;
use super::pipeline::{Answers, Params, Pipeline, Step, Tx};
use super::rows::nanos;
use crate::backend::codec::{parse_status, to_json};
use crate::backend::{
    BackendError, NewInstance, OrchestrationCommit, PurgeFilter, Result, SubOrchestrationStart,
    WorkItemLock,
};
use crate::history::{OrchestrationMessage, OrchestrationRuntimeStatus};

/// The statuses of finished instances, as an SQL list.
const FINISHED: &str = "('Completed', 'Failed', 'Canceled', 'Terminated')";

/// An instance to create, with its parameters as stored.
struct Creation {
    instance_id: String,
    name: String,
    execution_id: String,
    status: &'static str,
    input: String,
    output: String,
    custom_status: String,
    failure: Option<String>,
    version: String,
    created_at: i64,
    updated_at: i64,
    history_len: i64,
    /// When its start message is enqueued.
    now: i64,
    /// The `ExecutionStarted` message, unless its first turn comes with it.
    start_message: Option<String>,
}

impl Creation {
    fn new(new: &NewInstance, first_turn: Option<&OrchestrationCommit>, now: i64) -> Result<Self> {
        let start_message = match first_turn {
            Some(_) => None,
            None => Some(to_json(
                &OrchestrationMessage {
                    visible_at: None,
                    instance_id: new.instance_id.clone(),
                    execution_id: Some(new.execution_id.clone()),
                    event: new.started_event(),
                },
                "a message",
            )?),
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
            now,
            start_message,
        })
    }
}

/// What a turn produced, with its parameters as stored.
struct Outputs {
    now: i64,
    events: Vec<String>,
    queues: Vec<String>,
    callers: Vec<String>,
    executions: Vec<String>,
    task_ids: Vec<i64>,
    inputs: Vec<String>,
    targets: Vec<String>,
    bodies: Vec<String>,
    visible: Vec<i64>,
    children: Vec<(Creation, OrchestrationMessage)>,
}

impl Outputs {
    /// Nothing yet: add to it.
    fn empty(now: i64) -> Self {
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

    fn new(turn: &OrchestrationCommit, now: i64) -> Result<Self> {
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

    fn add_messages(&mut self, messages: &[OrchestrationMessage]) -> Result<()> {
        for message in messages {
            self.targets.push(message.instance_id.clone());
            self.bodies.push(to_json(message, "a message")?);
            self.visible.push(message.visible_at.as_ref().map_or(self.now, nanos));
        }
        Ok(())
    }

    /// Whether inboxes get new messages (or new instances their start messages).
    fn wakes_orchestrations(&self) -> bool {
        !self.targets.is_empty() || !self.children.is_empty()
    }
}

/// Where the answers of a turn's outputs are.
struct OutputSteps {
    messages: Option<Step>,
    children: Vec<Step>,
}

impl PostgresBackend {
    /// Queues the creation of an instance: its row (replacing a finished instance, whose
    /// history and messages go, and taking a new fencing token so that whoever still holds
    /// its lock loses it) and its start message. The answer of the returned step is empty
    /// when an unfinished instance has the id; then nothing was written.
    async fn push_creation<'a>(&self, p: &mut Pipeline<'a>, c: &'a Creation) -> Result<Step> {
        let id: Params<'a> = vec![&c.instance_id];
        p.push(
            &self.sql("SELECT 1 FROM {s}.instances WHERE instance_id = $1 FOR UPDATE"),
            id.clone(),
        )
        .await?;
        for table in ["history", "messages"] {
            p.push(
                &self.sql(&format!(
                    "DELETE FROM {{s}}.{table} WHERE instance_id = $1 AND EXISTS ( \
                       SELECT 1 FROM {{s}}.instances WHERE instance_id = $1 AND status IN {FINISHED})"
                )),
                id.clone(),
            )
            .await?;
        }
        let upsert = p
            .push(
                &self.sql(&format!(
                    "INSERT INTO {{s}}.instances (instance_id, name, execution_id, status, input, \
                       output, custom_status, failure, version, created_at, updated_at, \
                       history_len, lock_token) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
                       nextval('{{s}}.fencing')) \
                     ON CONFLICT (instance_id) DO UPDATE SET name = excluded.name, \
                       execution_id = excluded.execution_id, status = excluded.status, \
                       input = excluded.input, output = excluded.output, \
                       custom_status = excluded.custom_status, failure = excluded.failure, \
                       version = excluded.version, created_at = excluded.created_at, \
                       updated_at = excluded.updated_at, history_len = excluded.history_len, \
                       lock_token = excluded.lock_token, lock_owner = NULL, lock_until = NULL \
                     WHERE {{s}}.instances.status IN {FINISHED} \
                     RETURNING 1"
                )),
                vec![
                    &c.instance_id,
                    &c.name,
                    &c.execution_id,
                    &c.status,
                    &c.input,
                    &c.output,
                    &c.custom_status,
                    &c.failure,
                    &c.version,
                    &c.created_at,
                    &c.updated_at,
                    &c.history_len,
                ],
            )
            .await?;
        if let Some(body) = &c.start_message {
            // Only into the instance just written (an unfinished one with the id has
            // another execution id).
            p.push(
                &self.sql(
                    "INSERT INTO {s}.messages (instance_id, queue, body, visible_at, \
                       enqueued_at, creates_instance) \
                     SELECT $1, $2, $3, $4, $4, true FROM {s}.instances \
                     WHERE instance_id = $1 AND execution_id = $5 AND history_len = 0",
                ),
                vec![&c.instance_id, &c.name, body, &c.now, &c.execution_id],
            )
            .await?;
        }
        Ok(upsert)
    }

    /// Queues what a turn of `instance_id` produced: its history events (after the
    /// instance's `history_len` was updated in this transaction), activity work items,
    /// messages to the instances that exist (the others are dropped, as the contract says),
    /// and sub-orchestrations.
    async fn push_outputs<'a>(
        &self,
        p: &mut Pipeline<'a>,
        instance_id: &'a String,
        execution_id: &'a String,
        o: &'a Outputs,
    ) -> Result<OutputSteps> {
        if !o.events.is_empty() {
            p.push(
                &self.sql(
                    "INSERT INTO {s}.history (instance_id, execution_id, seq, event) \
                     SELECT $1, $2, (SELECT history_len FROM {s}.instances WHERE instance_id = $1) \
                       - cardinality($3::text[]) + t.ord - 1, t.event \
                     FROM unnest($3::text[]) WITH ORDINALITY AS t(event, ord)",
                ),
                vec![instance_id, execution_id, &o.events],
            )
            .await?;
        }
        if !o.queues.is_empty() {
            p.push(
                &self.sql(
                    "INSERT INTO {s}.activity_items (queue, instance_id, execution_id, \
                       task_scheduled_id, body, enqueued_at) \
                     SELECT t.queue, t.instance_id, t.execution_id, t.task_id, t.body, $1 \
                     FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[]) \
                       WITH ORDINALITY AS t(queue, instance_id, execution_id, task_id, body, ord) \
                     ORDER BY t.ord",
                ),
                vec![&o.now, &o.queues, &o.callers, &o.executions, &o.task_ids, &o.inputs],
            )
            .await?;
        }
        let messages = match o.targets.is_empty() {
            true => None,
            false => Some(self.push_messages(p, &o.now, &o.targets, &o.bodies, &o.visible).await?),
        };
        let mut children = Vec::with_capacity(o.children.len());
        for (child, _) in &o.children {
            children.push(self.push_creation(p, child).await?);
        }
        Ok(OutputSteps { messages, children })
    }

    /// Queues messages to existing instances; the step answers one row per delivered one.
    async fn push_messages<'a>(
        &self,
        p: &mut Pipeline<'a>,
        now: &'a i64,
        targets: &'a Vec<String>,
        bodies: &'a Vec<String>,
        visible: &'a Vec<i64>,
    ) -> Result<Step> {
        p.push(
            &self.sql(
                "INSERT INTO {s}.messages (instance_id, queue, body, visible_at, enqueued_at) \
                 SELECT t.instance_id, i.name, t.body, t.visible_at, $1 \
                 FROM unnest($2::text[], $3::text[], $4::bigint[]) \
                   WITH ORDINALITY AS t(instance_id, body, visible_at, ord) \
                 JOIN {s}.instances i ON i.instance_id = t.instance_id \
                 ORDER BY t.ord RETURNING 1",
            ),
            vec![now, targets, bodies, visible],
        )
        .await
    }

    /// Queues the `pg_notify` of the fetchers a transaction wakes.
    async fn push_wakeups<'a>(
        &'a self,
        p: &mut Pipeline<'a>,
        orchestrations: bool,
        activities: bool,
    ) -> Result<()> {
        for (channel, wanted) in self.channels.iter().zip([orchestrations, activities]) {
            if wanted {
                p.push("SELECT pg_notify($1, '')", vec![channel]).await?;
            }
        }
        Ok(())
    }

    /// Checks the answers of a turn's outputs; delivers the parent's notice for each
    /// sub-orchestration whose id an unfinished instance holds (a second pipeline, in the
    /// same transaction).
    async fn settle_outputs(
        &self,
        tx: &Tx,
        answers: &mut Answers,
        steps: OutputSteps,
        outputs: &Outputs,
        from: &str,
    ) -> Result<()> {
        if let Some(step) = steps.messages {
            let delivered = answers.rows(step)?.len();
            if delivered < outputs.targets.len() {
                tracing::warn!(
                    %from,
                    dropped = outputs.targets.len() - delivered,
                    "dropped messages to instances that do not exist"
                );
            }
        }
        let mut refused = Outputs::empty(outputs.now);
        for (step, (_, if_exists)) in steps.children.into_iter().zip(&outputs.children) {
            if answers.rows(step)?.is_empty() {
                refused.add_messages(std::slice::from_ref(if_exists))?;
            }
        }
        if !refused.targets.is_empty() {
            let mut p = tx.pipeline(false)?;
            let step = self
                .push_messages(
                    &mut p,
                    &refused.now,
                    &refused.targets,
                    &refused.bodies,
                    &refused.visible,
                )
                .await?;
            let mut answers = p.run().await;
            answers.rows(step)?;
        }
        Ok(())
    }

    /// Creates an instance (and its first turn, when given).
    pub(super) async fn create(
        &self,
        new: &NewInstance,
        first_turn: Option<&OrchestrationCommit>,
    ) -> Result<()> {
        let now = nanos(&self.now());
        let creation = Creation::new(new, first_turn, now)?;
        let outputs = first_turn.map(|turn| Outputs::new(turn, now)).transpose()?;
        let tx = Tx::start(&self.pool).await?;
        let mut p = tx.pipeline(true)?;
        let upsert = self.push_creation(&mut p, &creation).await?;
        let steps = match &outputs {
            Some(o) => Some(
                self.push_outputs(&mut p, &creation.instance_id, &creation.execution_id, o).await?,
            ),
            None => None,
        };
        let wakes_activities = outputs.as_ref().is_some_and(|o| !o.queues.is_empty());
        self.push_wakeups(&mut p, true, wakes_activities).await?;
        let mut answers = p.run().await;
        let created = !answers.rows(upsert)?.is_empty();
        answers.first_error()?;
        if !created {
            tx.rollback().await;
            return Err(self.exists_error(&new.instance_id).await);
        }
        if let (Some(steps), Some(o)) = (steps, &outputs) {
            self.settle_outputs(&tx, &mut answers, steps, o, &new.instance_id).await?;
        }
        tx.commit().await?;
        self.wake_local(true, wakes_activities);
        Ok(())
    }

    /// The error for a create refused because an unfinished instance has the id.
    async fn exists_error(&self, instance_id: &str) -> BackendError {
        let status = match self.read_instance(instance_id).await {
            Ok(Some(record)) => record.runtime_status,
            Ok(None) => OrchestrationRuntimeStatus::Pending,
            Err(error) => return error,
        };
        BackendError::InstanceExists { instance_id: instance_id.to_owned(), status }
    }

    /// Commits a turn of the instance `instance_id`, locked under `token`.
    pub(super) async fn commit_turn(
        &self,
        instance_id: &str,
        token: i64,
        message_ids: &[i64],
        commit: &OrchestrationCommit,
    ) -> Result<()> {
        let instance_id = instance_id.to_owned();
        let outputs = Outputs::new(commit, nanos(&self.now()))?;
        let restarts_history = commit.replace_history || commit.new_execution.is_some();
        let updated_at = (!commit.new_events.is_empty()).then_some(outputs.now);
        let events = commit.new_events.len() as i64;
        let status = commit.status.as_str();
        let output = to_json(&commit.output, "the output")?;
        let custom_status = to_json(&commit.custom_status, "the custom status")?;
        let failure =
            commit.failure.as_ref().map(|f| to_json(f, "the failure details")).transpose()?;
        let input = commit
            .new_execution
            .as_ref()
            .map(|s| to_json(&s.input, "the instance input"))
            .transpose()?;
        let version = commit.new_execution.as_ref().map(|s| s.version.clone());
        let activity = commit.completed_activity.as_ref().map(activity_lease).transpose()?;
        let message_ids = message_ids.to_vec();

        let tx = Tx::start(&self.pool).await?;
        let mut p = tx.pipeline(true)?;
        let fenced = p
            .push(
                &self.sql(
                    "UPDATE {s}.instances SET execution_id = $3, status = $4, output = $5, \
                       custom_status = $6, failure = $7, updated_at = COALESCE($8, updated_at), \
                       input = COALESCE($9, input), version = COALESCE($10, version), \
                       history_len = CASE WHEN $11 OR execution_id <> $3 THEN $12 \
                         ELSE history_len + $12 END, \
                       lock_owner = NULL, lock_until = NULL \
                     WHERE instance_id = $1 AND lock_token = $2 RETURNING 1",
                ),
                vec![
                    &instance_id,
                    &token,
                    &commit.execution_id,
                    &status,
                    &output,
                    &custom_status,
                    &failure,
                    &updated_at,
                    &input,
                    &version,
                    &restarts_history,
                    &events,
                ],
            )
            .await?;
        let deleted_activity = match &activity {
            Some((id, token)) => Some(self.push_activity_delete(&mut p, id, token).await?),
            None => None,
        };
        if commit.replace_history {
            p.push(&self.sql("DELETE FROM {s}.history WHERE instance_id = $1"), vec![&instance_id])
                .await?;
        } else if commit.new_execution.is_some() {
            p.push(
                &self.sql("DELETE FROM {s}.history WHERE instance_id = $1 AND execution_id <> $2"),
                vec![&instance_id, &commit.execution_id],
            )
            .await?;
        }
        let steps = self.push_outputs(&mut p, &instance_id, &commit.execution_id, &outputs).await?;
        if !message_ids.is_empty() {
            p.push(&self.sql("DELETE FROM {s}.messages WHERE id = ANY($1)"), vec![&message_ids])
                .await?;
        }
        let wakes = (outputs.wakes_orchestrations(), !outputs.queues.is_empty());
        self.push_wakeups(&mut p, wakes.0, wakes.1).await?;
        let mut answers = p.run().await;
        // A lost lock explains any error after it (the history rows it would collide with).
        if answers.rows(fenced).map_or(true, |rows| rows.is_empty()) {
            tx.rollback().await;
            return Err(lock_lost(format!("instance `{instance_id}`")));
        }
        if let (Some(step), Some((id, _))) = (deleted_activity, activity) {
            if answers.rows(step).map_or(true, |rows| rows.is_empty()) {
                tx.rollback().await;
                return Err(lock_lost(format!("activity work item {id}")));
            }
        }
        answers.first_error()?;
        self.settle_outputs(&tx, &mut answers, steps, &outputs, &instance_id).await?;
        tx.commit().await?;
        self.wake_local(wakes.0, wakes.1);
        Ok(())
    }

    /// Queues the deletion of a leased activity work item; the step's answer is empty when
    /// its lease was taken over or it is gone.
    async fn push_activity_delete<'a>(
        &self,
        p: &mut Pipeline<'a>,
        id: &'a i64,
        token: &'a i64,
    ) -> Result<Step> {
        p.push(
            &self.sql(
                "DELETE FROM {s}.activity_items WHERE id = $1 AND lock_token = $2 RETURNING id",
            ),
            vec![id, token],
        )
        .await
    }

    /// Delivers an activity's result in place of its work item.
    pub(super) async fn deliver_result(
        &self,
        lease: &WorkItemLock,
        result: &OrchestrationMessage,
    ) -> Result<()> {
        let (id, token) = activity_lease(lease)?;
        let mut outputs = Outputs::empty(nanos(&self.now()));
        outputs.add_messages(std::slice::from_ref(result))?;
        let tx = Tx::start(&self.pool).await?;
        let mut p = tx.pipeline(true)?;
        let deleted = self.push_activity_delete(&mut p, &id, &token).await?;
        let delivered = self
            .push_messages(
                &mut p,
                &outputs.now,
                &outputs.targets,
                &outputs.bodies,
                &outputs.visible,
            )
            .await?;
        self.push_wakeups(&mut p, true, false).await?;
        let mut answers = p.run().await;
        if answers.rows(deleted).map_or(true, |rows| rows.is_empty()) {
            tx.rollback().await;
            return Err(lock_lost(format!("activity work item {id}")));
        }
        if answers.rows(delivered)?.is_empty() {
            tracing::warn!(
                to = %result.instance_id,
                "dropped an activity result for an instance that does not exist"
            );
        }
        answers.first_error()?;
        tx.commit().await?;
        self.wake_local(true, false);
        Ok(())
    }

    /// Sends a message to an existing instance.
    pub(super) async fn send(&self, message: &OrchestrationMessage) -> Result<()> {
        let mut outputs = Outputs::empty(nanos(&self.now()));
        outputs.add_messages(std::slice::from_ref(message))?;
        let tx = Tx::start(&self.pool).await?;
        let mut p = tx.pipeline(true)?;
        let delivered = self
            .push_messages(
                &mut p,
                &outputs.now,
                &outputs.targets,
                &outputs.bodies,
                &outputs.visible,
            )
            .await?;
        self.push_wakeups(&mut p, true, false).await?;
        let mut answers = p.run().await;
        if answers.rows(delivered)?.is_empty() {
            tx.rollback().await;
            return Err(BackendError::InstanceNotFound {
                instance_id: message.instance_id.clone(),
            });
        }
        answers.first_error()?;
        tx.commit().await?;
        self.wake_local(true, false);
        Ok(())
    }

    /// Deletes the finished instances `filter` names with everything stored for them;
    /// returns how many.
    pub(super) async fn purge(&self, filter: &PurgeFilter) -> Result<u64> {
        let tx = Tx::start(&self.pool).await?;
        let statuses: Vec<&str> = filter.statuses().iter().map(|s| s.as_str()).collect();
        let (from, to) = match filter {
            PurgeFilter::Instance(_) => (None, None),
            PurgeFilter::Created { created_from, created_to, .. } => {
                (created_from.as_ref().map(nanos), created_to.as_ref().map(nanos))
            }
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
                           AND ($3::bigint IS NULL OR created_at <= $3) FOR UPDATE",
                    ),
                    vec![&statuses, &from, &to],
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
            if !status.is_terminal() {
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
