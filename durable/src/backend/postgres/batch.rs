//! Group commit: the writes of concurrent turns, activity results, starts and messages are
//! committed together, a few statements per batch whatever its size.
//!
//! A write joins the queue; while fewer than [`LEADERS`] batches are being committed, it
//! also starts one, which takes everything queued. A batch is one pipeline and a `COMMIT`:
//! under a savepoint, the **fenced rows** (one `UPDATE` of every committing instance whose
//! lock token still matches, the new instances' upsert, one `DELETE` of every completed
//! activity whose lease token still matches), then their **effects** (history rows,
//! activity work items, messages, consumed messages, wake-ups). A write whose token no
//! longer matches fails with `LockLost` (a create an unfinished instance refuses, with
//! `InstanceExists`): the savepoint is rolled back and the pipeline sent again without it,
//! so nothing of it lands. Sub-orchestrations follow, one by one (they are rare).
//!
//! A batch that fails as a whole for a reason that is not a lost connection (a value the
//! server refuses) is retried one write at a time, so that one bad write fails alone.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use tokio_postgres::types::ToSql;

use super::Store;
use super::claims::AFFINITY_SECS;
use super::coalesce::{Coalescer, Request, answer, copy};
use super::columns::{ActivityColumns, CreateColumns, HistoryColumns, MessageColumns, TurnColumns};
use super::pipeline::{Pipeline, Step, Tx};
use super::rows::nanos;
use super::writes::{Creation, FINISHED, Outputs, lock_lost};
use crate::backend::codec::to_json;
use crate::backend::{BackendError, Result};
use crate::history::{OrchestrationMessage, OrchestrationRuntimeStatus};

/// How many batches may be committed at once.
const LEADERS: usize = 2;
/// The most writes one batch takes.
const MAX_BATCH: usize = 256;

/// Writes waiting to be committed together.
pub(super) type Queue = Coalescer<Op, ()>;

/// A new queue of writes.
pub(super) fn queue() -> Queue {
    Coalescer::new(LEADERS)
}

type Queued = Request<Op, ()>;

/// One write.
pub(super) enum Op {
    /// A new instance, with its first turn or its start message.
    Create { creation: Box<Creation>, outputs: Option<Outputs> },
    /// A turn of a locked instance.
    Turn(Box<TurnOp>),
    /// An activity's result, in place of its work item.
    Result { activity: (i64, i64), outputs: Outputs },
    /// A message to an existing instance.
    Send { outputs: Outputs },
}

/// A turn's commit, as stored.
pub(super) struct TurnOp {
    pub(super) instance_id: String,
    pub(super) token: i64,
    pub(super) message_ids: Vec<i64>,
    pub(super) execution_id: String,
    pub(super) status: &'static str,
    pub(super) output: String,
    pub(super) custom_status: String,
    pub(super) failure: Option<String>,
    pub(super) updated_at: Option<i64>,
    pub(super) input: Option<String>,
    pub(super) version: Option<String>,
    /// The history is rewritten (a rewind): all of it goes first.
    pub(super) replace_history: bool,
    /// The commit begins a new execution: the other executions' histories go.
    pub(super) new_execution: bool,
    pub(super) activity: Option<(i64, i64)>,
    pub(super) outputs: Outputs,
}

impl Op {
    /// The instance whose row the write locks: two writes of one instance never share a
    /// batch (one statement cannot change a row twice).
    fn locks(&self) -> Option<&str> {
        match self {
            Op::Create { creation, .. } => Some(&creation.instance_id),
            Op::Turn(turn) => Some(&turn.instance_id),
            Op::Result { .. } | Op::Send { .. } => None,
        }
    }

    fn outputs(&self) -> Option<&Outputs> {
        match self {
            Op::Create { outputs, .. } => outputs.as_ref(),
            Op::Turn(turn) => Some(&turn.outputs),
            Op::Result { outputs, .. } | Op::Send { outputs } => Some(outputs),
        }
    }
}

impl Store {
    /// Commits `op` with whatever else is queued; answers once it is durable (or refused).
    pub(super) async fn submit(self: &Arc<Self>, op: Op) -> Result<()> {
        let (reply, lead) = self.queue.join(op);
        if lead {
            tokio::spawn(Arc::clone(self).drain());
        }
        answer(reply).await
    }

    /// Commits batches until the queue is empty: each takes up to [`MAX_BATCH`] writes, at
    /// most one per instance (a second write to an instance waits for the next batch).
    async fn drain(self: Arc<Self>) {
        while let Some(batch) = self.queue.next(|waiting| {
            let mut locked = HashSet::new();
            let mut batch = Vec::new();
            let mut deferred = VecDeque::new();
            while let Some(queued) = waiting.pop_front() {
                if batch.len() == MAX_BATCH {
                    deferred.push_back(queued);
                    continue;
                }
                match queued.item.locks() {
                    Some(id) if !locked.insert(id.to_owned()) => deferred.push_back(queued),
                    _ => batch.push(queued),
                }
            }
            *waiting = deferred;
            batch
        }) {
            self.commit_batch(batch).await;
        }
    }

    async fn commit_batch(&self, batch: Vec<Queued>) {
        let ops: Vec<&Op> = batch.iter().map(|q| &q.item).collect();
        let outcomes = match self.try_batch(&ops).await {
            Ok(outcomes) => outcomes,
            Err(error) if !error.is_retryable() && ops.len() > 1 => {
                let mut outcomes = Vec::with_capacity(ops.len());
                for op in &ops {
                    outcomes.push(match self.try_batch(&[op]).await {
                        Ok(mut one) => one.pop().unwrap_or(Ok(())),
                        Err(error) => Err(error),
                    });
                }
                outcomes
            }
            Err(error) => ops.iter().map(|_| Err(copy(&error))).collect(),
        };
        for (queued, outcome) in batch.into_iter().zip(outcomes) {
            let _ = queued.reply.send(outcome);
        }
    }

    /// Commits the writes in one transaction; the outcome of each, in order.
    async fn try_batch(&self, ops: &[&Op]) -> Result<Vec<Result<()>>> {
        let mut outcomes: Vec<Option<Result<()>>> = ops.iter().map(|_| None).collect();
        let tx = Tx::start(&self.pool).await?;
        let mut first = true;
        let mut replacing = HashSet::new();
        let (wake_orchestrations, wake_activities) = loop {
            if let Some(wakes) =
                self.attempt(&tx, ops, &mut outcomes, &mut replacing, first).await?
            {
                break wakes;
            }
            first = false;
        };
        for (op, outcome) in ops.iter().zip(&outcomes) {
            match (op, outcome) {
                (Op::Turn(turn), None) => {
                    self.start_children(&tx, &turn.outputs, &turn.instance_id).await?;
                }
                // A new instance whose first turn ran with its creation.
                (Op::Create { creation, outputs: Some(outputs) }, None) => {
                    self.start_children(&tx, outputs, &creation.instance_id).await?;
                }
                _ => {}
            }
        }
        tx.commit().await?;
        self.wake_local(wake_orchestrations, wake_activities);
        let mut results: Vec<Result<()>> =
            outcomes.into_iter().map(|outcome| outcome.unwrap_or(Ok(()))).collect();
        // Refused creates report the status of the instance that has their id.
        for result in &mut results {
            if let Err(BackendError::InstanceExists { instance_id, .. }) = &*result {
                *result = Err(self.exists_error(&instance_id.clone()).await);
            }
        }
        Ok(results)
    }

    /// One pipeline with every write still in (`outcomes` not yet set), under a savepoint:
    /// the fenced rows first, then their effects. When a token no longer matches (or an
    /// unfinished instance refuses a create), that write's outcome is set, the savepoint is
    /// rolled back and `None` returned, to try again without it. So is a create that
    /// replaces a finished instance unless it is among `replacing` (whose leftovers are
    /// deleted first): the rare case costs a second try, the common one three statements
    /// less. Otherwise returns which fetchers to wake.
    async fn attempt(
        &self,
        tx: &Tx,
        ops: &[&Op],
        outcomes: &mut [Option<Result<()>>],
        replacing: &mut HashSet<String>,
        first: bool,
    ) -> Result<Option<(bool, bool)>> {
        let live: Vec<usize> = (0..ops.len()).filter(|&i| outcomes[i].is_none()).collect();
        let mut turns: Vec<(usize, &TurnOp)> = Vec::new();
        let mut leases: Vec<(usize, (i64, i64))> = Vec::new();
        let mut creates: Vec<(usize, &Creation)> = Vec::new();
        let mut history = HistoryColumns::default();
        let mut replaced: Vec<&str> = Vec::new();
        let (mut restarted, mut restarted_executions): (Vec<&str>, Vec<&str>) = Default::default();
        let mut consumed: Vec<i64> = Vec::new();
        let mut starts = CreateColumns::default();
        let mut activities = ActivityColumns::default();
        let mut messages = MessageColumns::default();
        for &i in &live {
            match ops[i] {
                Op::Turn(turn) => {
                    turns.push((i, turn));
                    if let Some(lease) = turn.activity {
                        leases.push((i, lease));
                    }
                    history.add(&turn.instance_id, &turn.execution_id, &turn.outputs);
                    if turn.replace_history {
                        replaced.push(&turn.instance_id);
                    } else if turn.new_execution {
                        restarted.push(&turn.instance_id);
                        restarted_executions.push(&turn.execution_id);
                    }
                    consumed.extend(&turn.message_ids);
                }
                Op::Create { creation, outputs } => {
                    creates.push((i, creation));
                    match outputs {
                        Some(o) => history.add(&creation.instance_id, &creation.execution_id, o),
                        None => starts.add(creation),
                    }
                }
                Op::Result { activity, .. } => leases.push((i, *activity)),
                Op::Send { .. } => {}
            }
            if let Some(outputs) = ops[i].outputs() {
                activities.add(outputs);
                messages.add(i, outputs);
            }
        }
        let t = TurnColumns::of(&turns);
        let lease_ids: Vec<i64> = leases.iter().map(|(_, (id, _))| *id).collect();
        let lease_tokens: Vec<i64> = leases.iter().map(|(_, (_, token))| *token).collect();
        let c = CreateColumns::of(&creates);
        let now = nanos(&self.now());
        let wake_orchestrations = !messages.targets.is_empty() || !starts.ids.is_empty();
        let wake_activities = !activities.queues.is_empty();
        let finished = finished_payloads(
            turns
                .iter()
                .map(|(_, t)| (t.instance_id.as_str(), t.status))
                .chain(creates.iter().map(|(_, c)| (c.instance_id.as_str(), c.status))),
        );

        let replaced_ids: Vec<&str> = creates
            .iter()
            .map(|(_, c)| c.instance_id.as_str())
            .filter(|id| replacing.contains(*id))
            .collect();
        let mut p = tx.pipeline(first)?;
        p.push("SAVEPOINT fencing", Vec::new()).await?;
        // The fenced rows, in lock order: instances, then activity work items.
        let turn_step = match turns.is_empty() {
            true => None,
            false => {
                let mut params = t.params();
                params.push(&self.owner);
                Some(p.push(&self.sql(FENCED_UPDATE), params).await?)
            }
        };
        if !replaced_ids.is_empty() {
            self.push_leftovers_deletion(&mut p, &replaced_ids).await?;
        }
        let create_step = match creates.is_empty() {
            true => None,
            false => Some(p.push(&self.sql(UPSERT), c.params()).await?),
        };
        let lease_step = match leases.is_empty() {
            true => None,
            false => Some(
                p.push(
                    &self.sql(
                        "DELETE FROM {s}.activity_items a \
                         USING unnest($1::bigint[], $2::bigint[]) AS t(id, token) \
                         WHERE a.id = t.id AND a.lock_token = t.token RETURNING a.id",
                    ),
                    vec![&lease_ids, &lease_tokens],
                )
                .await?,
            ),
        };
        // Their effects.
        if !replaced.is_empty() {
            p.push(
                &self.sql("DELETE FROM {s}.history WHERE instance_id = ANY($1)"),
                vec![&replaced],
            )
            .await?;
        }
        if !restarted.is_empty() {
            p.push(
                &self.sql(
                    "DELETE FROM {s}.history h \
                     USING unnest($1::text[], $2::text[]) AS t(instance_id, execution_id) \
                     WHERE h.instance_id = t.instance_id AND h.execution_id <> t.execution_id",
                ),
                vec![&restarted, &restarted_executions],
            )
            .await?;
        }
        if !history.events.is_empty() {
            // Positions follow the history length the fenced update just wrote.
            p.push(
                &self.sql(
                    "INSERT INTO {s}.history (instance_id, execution_id, seq, event) \
                     SELECT t.instance_id, t.execution_id, i.history_len - t.count + t.n, \
                       t.event \
                     FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], \
                       $5::text[]) AS t(instance_id, execution_id, count, n, event) \
                     JOIN {s}.instances i ON i.instance_id = t.instance_id",
                ),
                vec![
                    &history.instances,
                    &history.executions,
                    &history.counts,
                    &history.positions,
                    &history.events,
                ],
            )
            .await?;
        }
        if !activities.queues.is_empty() {
            p.push(
                &self.sql(
                    "INSERT INTO {s}.activity_items (queue, instance_id, execution_id, \
                       task_scheduled_id, body, enqueued_at, owner, shared_at) \
                     SELECT t.queue, t.instance_id, t.execution_id, t.task_id, t.body, $1, $7, \
                       clock_timestamp() + make_interval(secs => $8) \
                     FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[]) \
                       WITH ORDINALITY AS t(queue, instance_id, execution_id, task_id, body, ord) \
                     ORDER BY t.ord",
                ),
                vec![
                    &now,
                    &activities.queues,
                    &activities.callers,
                    &activities.executions,
                    &activities.task_ids,
                    &activities.inputs,
                    &self.owner,
                    &AFFINITY_SECS,
                ],
            )
            .await?;
        }
        let delivery = match messages.targets.is_empty() {
            true => None,
            false => {
                let delivered = self.push_messages(&mut p, &now, &messages).await?;
                // Which targets exist: the messages to the others were dropped.
                let existing = p
                    .push(
                        &self.sql(
                            "SELECT instance_id FROM {s}.instances WHERE instance_id = ANY($1)",
                        ),
                        vec![&messages.targets],
                    )
                    .await?;
                Some((delivered, existing))
            }
        };
        if !starts.ids.is_empty() {
            self.push_start_messages(&mut p, &now, &starts).await?;
        }
        if !consumed.is_empty() {
            p.push(&self.sql("DELETE FROM {s}.messages WHERE id = ANY($1)"), vec![&consumed])
                .await?;
        }
        for payload in &finished {
            p.push("SELECT pg_notify($1, $2)", vec![&self.channels[2], payload]).await?;
        }
        if wake_orchestrations {
            p.push("SELECT pg_notify($1, '')", vec![&self.channels[0]]).await?;
        }
        if wake_activities {
            // Signed, so that the others wait out the affinity window before they look.
            p.push("SELECT pg_notify($1, $2)", vec![&self.channels[1], &self.owner]).await?;
        }
        let mut answers = p.run().await;

        // The fencing first: a write that lost its token explains any error after it.
        let mut lost = false;
        if let Some(step) = turn_step {
            let fenced: HashSet<String> =
                answers.rows(step)?.iter().map(|row| row.get(0)).collect();
            for (i, turn) in &turns {
                if !fenced.contains(&turn.instance_id) {
                    outcomes[*i] = Some(Err(lock_lost(format!("instance `{}`", turn.instance_id))));
                    lost = true;
                }
            }
        }
        if let Some(step) = create_step {
            let mut created = HashSet::new();
            for row in answers.rows(step)? {
                let (instance_id, inserted): (String, bool) = (row.get(0), row.get(1));
                if !inserted && replacing.insert(instance_id.clone()) {
                    lost = true;
                }
                created.insert(instance_id);
            }
            for (i, creation) in &creates {
                if !created.contains(&creation.instance_id) {
                    outcomes[*i] = Some(Err(BackendError::InstanceExists {
                        instance_id: creation.instance_id.clone(),
                        status: OrchestrationRuntimeStatus::Pending,
                    }));
                    lost = true;
                }
            }
        }
        if let Some(step) = lease_step {
            let deleted: HashSet<i64> = answers.rows(step)?.iter().map(|row| row.get(0)).collect();
            for (i, (id, _)) in &leases {
                if !deleted.contains(id) && outcomes[*i].is_none() {
                    outcomes[*i] = Some(Err(lock_lost(format!("activity work item {id}"))));
                    lost = true;
                }
            }
        }
        if lost {
            let mut p = tx.pipeline(false)?;
            p.push("ROLLBACK TO SAVEPOINT fencing", Vec::new()).await?;
            p.run().await.first_error()?;
            return Ok(None);
        }
        answers.first_error()?;
        if let Some((delivered, existing)) = delivery
            && answers.rows(delivered)?.len() < messages.targets.len()
        {
            let existing: HashSet<String> =
                answers.rows(existing)?.iter().map(|row| row.get(0)).collect();
            for (target, op) in messages.targets.iter().zip(&messages.ops) {
                if existing.contains(*target) {
                    continue;
                }
                match ops[*op] {
                    Op::Send { .. } => {
                        outcomes[*op] = Some(Err(BackendError::InstanceNotFound {
                            instance_id: (*target).to_owned(),
                        }));
                    }
                    _ => tracing::warn!(
                        to = %target,
                        "dropped a message to an instance that does not exist"
                    ),
                }
            }
        }
        Ok(Some((wake_orchestrations, wake_activities)))
    }

    /// A turn's sub-orchestrations, each created or (when an unfinished instance has its
    /// id) answered with its `if_exists` notice to the parent.
    async fn start_children(&self, tx: &Tx, outputs: &Outputs, from: &str) -> Result<()> {
        for (child, if_exists) in &outputs.children {
            if if_exists.instance_id == child.instance_id
                && self.deliver_to_unfinished(tx, outputs.now, if_exists).await?
            {
                continue;
            }
            let c = CreateColumns::of(&[(0, child)]);
            let mut p = tx.pipeline(false)?;
            self.push_leftovers_deletion(&mut p, &c.ids).await?;
            let upsert = p.push(&self.sql(UPSERT), c.params()).await?;
            let mut answers = p.run().await;
            answers.first_error()?;
            let created = !answers.rows(upsert)?.is_empty();
            let mut notice = Outputs::empty(outputs.now);
            notice.add_messages(std::slice::from_ref(if_exists))?;
            let mut m = MessageColumns::default();
            m.add(0, &notice);
            let mut p = tx.pipeline(false)?;
            let delivered = match created {
                true => {
                    self.push_start_messages(&mut p, &outputs.now, &c).await?;
                    None
                }
                false => Some(self.push_messages(&mut p, &notice.now, &m).await?),
            };
            p.push("SELECT pg_notify($1, '')", vec![&self.channels[0]]).await?;
            let mut answers = p.run().await;
            answers.first_error()?;
            if let Some(step) = delivered
                && answers.rows(step)?.is_empty()
            {
                tracing::warn!(%from, "dropped a message to an instance that does not exist");
            }
        }
        Ok(())
    }

    /// Queues the deletion of what the finished instances among `ids` (a text array) left
    /// behind (history and messages), before new instances with their ids replace them.
    async fn push_leftovers_deletion<'a>(
        &self,
        p: &mut Pipeline<'a>,
        ids: &'a (dyn ToSql + Sync),
    ) -> Result<()> {
        for table in ["history", "messages"] {
            p.push(
                &self.sql(&format!(
                    "DELETE FROM {{s}}.{table} WHERE instance_id IN ( \
                       SELECT instance_id FROM {{s}}.instances \
                       WHERE instance_id = ANY($1) AND status IN {FINISHED})"
                )),
                vec![ids],
            )
            .await?;
        }
        Ok(())
    }

    /// Queues the start messages of new instances.
    async fn push_start_messages<'a>(
        &self,
        p: &mut Pipeline<'a>,
        now: &'a i64,
        c: &'a CreateColumns<'a>,
    ) -> Result<()> {
        p.push(
            &self.sql(
                "INSERT INTO {s}.messages (instance_id, queue, body, visible_at, enqueued_at, \
                   creates_instance) \
                 SELECT t.instance_id, t.name, t.body, t.visible_at, $1, true \
                 FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[]) \
                   WITH ORDINALITY AS t(instance_id, name, body, visible_at, ord) ORDER BY t.ord",
            ),
            vec![now, &c.ids, &c.names, &c.start_messages, &c.start_visible],
        )
        .await?;
        Ok(())
    }

    /// Queues messages to the instances that exist (the others are dropped, as the contract
    /// says); the step answers one row per message delivered.
    /// Delivers `message` to its instance if that instance exists and is unfinished; returns
    /// whether it did. A message that creates its target when missing (an entity's) usually
    /// finds it there: this insert then spares the create, and never locks the target's row,
    /// which concurrent turns sending to each other would otherwise deadlock on.
    async fn deliver_to_unfinished(
        &self,
        tx: &Tx,
        now: i64,
        message: &OrchestrationMessage,
    ) -> Result<bool> {
        let body = to_json(message, "a message")?;
        let visible = message.visible_at.as_ref().map_or(now, nanos);
        let mut p = tx.pipeline(false)?;
        let delivered = p
            .push(
                &self.sql(&format!(
                    "INSERT INTO {{s}}.messages (instance_id, queue, body, visible_at, enqueued_at) \
                     SELECT i.instance_id, i.name, $2, $3, $1 FROM {{s}}.instances i \
                     WHERE i.instance_id = $4 AND i.status NOT IN {FINISHED} RETURNING 1"
                )),
                vec![&now, &body, &visible, &message.instance_id],
            )
            .await?;
        p.push("SELECT pg_notify($1, '')", vec![&self.channels[0]]).await?;
        let mut answers = p.run().await;
        answers.first_error()?;
        Ok(!answers.rows(delivered)?.is_empty())
    }

    async fn push_messages<'a>(
        &self,
        p: &mut Pipeline<'a>,
        now: &'a i64,
        m: &'a MessageColumns<'a>,
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
            vec![now, &m.targets, &m.bodies, &m.visible],
        )
        .await
    }
}

/// The fenced update of every committing instance: one row per turn; `$13` is this handle's
/// owner, which the lock must still name beside the token.
const FENCED_UPDATE: &str = "UPDATE {s}.instances i SET execution_id = t.execution_id, \
       status = t.status, output = t.output, custom_status = t.custom_status, \
       failure = t.failure, updated_at = COALESCE(t.updated_at, i.updated_at), \
       input = COALESCE(t.input, i.input), version = COALESCE(t.version, i.version), \
       history_len = CASE WHEN t.restarts OR i.execution_id <> t.execution_id THEN t.events \
         ELSE i.history_len + t.events END, \
       lock_owner = NULL, lock_until = NULL, attempts = 0 \
     FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], \
       $7::text[], $8::bigint[], $9::text[], $10::text[], $11::bool[], $12::bigint[]) \
       AS t(instance_id, token, execution_id, status, output, custom_status, failure, \
         updated_at, input, version, restarts, events) \
     WHERE i.instance_id = t.instance_id AND i.lock_token = t.token AND i.lock_owner = $13 \
     RETURNING i.instance_id, i.history_len";

/// The new instances' rows: inserted, or replacing finished instances (with a new fencing
/// token, so that whoever still holds a finished instance's lock loses it).
const UPSERT: &str = "INSERT INTO {s}.instances (instance_id, name, execution_id, status, \
       input, output, custom_status, failure, version, created_at, updated_at, history_len, \
       lock_token) \
     SELECT t.*, nextval('{s}.fencing') \
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
       $7::text[], $8::text[], $9::text[], $10::bigint[], $11::bigint[], $12::bigint[]) AS t \
     ON CONFLICT (instance_id) DO UPDATE SET name = excluded.name, \
       execution_id = excluded.execution_id, status = excluded.status, \
       input = excluded.input, output = excluded.output, \
       custom_status = excluded.custom_status, failure = excluded.failure, \
       version = excluded.version, created_at = excluded.created_at, \
       updated_at = excluded.updated_at, history_len = excluded.history_len, \
       lock_token = excluded.lock_token, lock_owner = NULL, lock_until = NULL, attempts = 0 \
     WHERE {s}.instances.status IN ('Completed', 'Failed', 'Canceled', 'Terminated') \
     RETURNING instance_id, xmax = 0";

/// The ids of the instances that finish, one per line, in payloads that fit `pg_notify`
/// (under 8,000 bytes).
fn finished_payloads<'a>(instances: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<String> {
    const FINAL: [&str; 4] = ["Completed", "Failed", "Canceled", "Terminated"];
    let mut payloads = vec![String::new()];
    for (instance_id, _) in instances.filter(|(_, status)| FINAL.contains(status)) {
        if payloads.last().is_some_and(|p| p.len() + instance_id.len() >= 7_000) {
            payloads.push(String::new());
        }
        if let Some(payload) = payloads.last_mut() {
            payload.push_str(instance_id);
            payload.push('\n');
        }
    }
    payloads.retain(|p| !p.is_empty());
    payloads
}
