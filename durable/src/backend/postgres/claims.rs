//! Claiming work: several instances or activity work items per round trip, each under a
//! lease judged by the database's clock and a fencing token taken from one sequence.

use std::collections::HashMap;

use super::Store;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::pipeline::Pipeline;
use super::rows::{INSTANCE_COLUMNS, count, instance, nanos, pool_error, time};
use crate::backend::codec::from_json;
use crate::backend::{
    ActivityRequest, ActivityWorkItem, InstanceRecord, OrchestrationWorkItem, Result, WorkItemLock,
};
use crate::history::OrchestrationMessage;

/// How many inbox messages one claim looks at to find instances with work: enough to see
/// past a few busy instances whose messages wait behind their lock.
const SCAN: i64 = 512;

/// The deliverable messages of one instance, in order.
const INBOX: &str = "SELECT id, instance_id, body FROM {s}.messages \
     WHERE instance_id = $1 AND visible_at <= $2 ORDER BY id";

/// The deliverable messages of several instances, in order.
const INBOXES: &str = "SELECT id, instance_id, body FROM {s}.messages \
     WHERE instance_id = ANY($1) AND visible_at <= $2 ORDER BY id";

impl Store {
    /// Claims up to `limit` unlocked instances with deliverable messages.
    pub(super) async fn claim_instances(&self, limit: usize) -> Result<Vec<OrchestrationWorkItem>> {
        let now = nanos(&self.now());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // Instances are claimed in the order of their oldest deliverable message.
        let rows = self
            .query(
                &self.sql(&format!(
                    "WITH ready AS ( \
                       SELECT m.instance_id, MIN(m.visible_at) AS first_visible, \
                         MIN(m.id) AS first_id \
                       FROM (SELECT instance_id, visible_at, id FROM {{s}}.messages m \
                             WHERE m.visible_at <= $1 AND NOT EXISTS ( \
                                 SELECT 1 FROM {{s}}.instances l \
                                 WHERE l.instance_id = m.instance_id \
                                   AND l.lock_until > clock_timestamp()) \
                             ORDER BY m.visible_at, m.id LIMIT {SCAN}) m \
                       GROUP BY m.instance_id), \
                     candidates AS MATERIALIZED ( \
                       SELECT c.instance_id, r.first_visible, r.first_id \
                       FROM {{s}}.instances c JOIN ready r ON r.instance_id = c.instance_id \
                       WHERE c.lock_until IS NULL OR c.lock_until <= clock_timestamp() \
                       ORDER BY r.first_visible, r.first_id \
                       LIMIT $2 FOR UPDATE OF c SKIP LOCKED) \
                     UPDATE {{s}}.instances i SET lock_token = nextval('{{s}}.fencing'), \
                       lock_owner = $3, \
                       lock_until = clock_timestamp() + make_interval(secs => $4) \
                     FROM candidates WHERE i.instance_id = candidates.instance_id \
                     RETURNING {}, candidates.first_visible, candidates.first_id",
                    prefixed("i", INSTANCE_COLUMNS)
                )),
                &[&now, &limit, &self.owner, &self.options.lease.as_secs_f64()],
            )
            .await?;
        let mut rows: Vec<_> = rows.iter().collect();
        rows.sort_by_key(|row| (row.get::<_, i64>(13), row.get::<_, i64>(14)));
        let claimed = rows.into_iter().map(instance).collect::<Result<Vec<_>>>()?;
        self.with_messages(claimed, now).await
    }

    /// Claims one instance right away, with its pending messages (possibly none), when its
    /// lock is free: one round trip, the claim and the read of its inbox pipelined.
    pub(super) async fn claim_instance(
        &self,
        instance_id: &str,
    ) -> Result<Option<OrchestrationWorkItem>> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let now = nanos(&self.now());
        let owner = &self.owner;
        let lease = self.options.lease.as_secs_f64();
        let mut p = Pipeline::on(&client);
        let claim = p
            .push(
                &self.sql(&format!(
                    "UPDATE {{s}}.instances SET lock_token = nextval('{{s}}.fencing'), \
                       lock_owner = $2, \
                       lock_until = clock_timestamp() + make_interval(secs => $3) \
                     WHERE instance_id = $1 \
                       AND (lock_until IS NULL OR lock_until <= clock_timestamp()) \
                     RETURNING {INSTANCE_COLUMNS}"
                )),
                vec![&instance_id as &(dyn ToSql + Sync), owner, &lease],
            )
            .await?;
        // Read after the claim: what it returns is covered by the lock.
        let inbox =
            p.push(&self.sql(INBOX), vec![&instance_id as &(dyn ToSql + Sync), &now]).await?;
        let mut answers = p.run().await;
        answers.first_error()?;
        let Some(row) = answers.rows(claim)?.into_iter().next() else {
            return Ok(None);
        };
        let claimed = vec![instance(&row)?];
        Ok(self.work_items(claimed, &answers.rows(inbox)?)?.pop())
    }

    /// Reads the deliverable messages of claimed instances and makes work items of them.
    async fn with_messages(
        &self,
        claimed: Vec<(InstanceRecord, u64, u64)>,
        now: i64,
    ) -> Result<Vec<OrchestrationWorkItem>> {
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = claimed.iter().map(|(r, _, _)| r.instance_id.as_str()).collect();
        let rows = self.query(&self.sql(INBOXES), &[&ids, &now]).await?;
        self.work_items(claimed, &rows)
    }

    /// Work items of claimed instances from the rows of their inboxes (`id, instance_id,
    /// body`, in order).
    fn work_items(
        &self,
        claimed: Vec<(InstanceRecord, u64, u64)>,
        inbox: &[Row],
    ) -> Result<Vec<OrchestrationWorkItem>> {
        let mut inboxes: HashMap<String, (Vec<i64>, Vec<OrchestrationMessage>)> = HashMap::new();
        for row in inbox {
            let id: i64 = row.get(0);
            let instance_id: String = row.get(1);
            let message: OrchestrationMessage = from_json(row.get(2), &format!("message {id}"))?;
            let inbox = inboxes.entry(instance_id).or_default();
            inbox.0.push(id);
            inbox.1.push(message);
        }
        let mut items = Vec::with_capacity(claimed.len());
        for (record, history_len, token) in claimed {
            let (ids, messages) = inboxes.remove(&record.instance_id).unwrap_or_default();
            self.hold(token, &record.instance_id);
            items.push(OrchestrationWorkItem {
                instance: record,
                messages,
                history_len,
                lock: WorkItemLock { token, ids },
            });
        }
        Ok(items)
    }

    /// Leases up to `limit` activity work items that nobody holds.
    pub(super) async fn claim_activities(&self, limit: usize) -> Result<Vec<ActivityWorkItem>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .query(
                &self.sql(
                    "WITH candidates AS MATERIALIZED ( \
                       SELECT id FROM {s}.activity_items \
                       WHERE lock_until IS NULL OR lock_until <= clock_timestamp() \
                       ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) \
                     UPDATE {s}.activity_items a SET lock_token = nextval('{s}.fencing'), \
                       lock_until = clock_timestamp() + make_interval(secs => $2) \
                     FROM candidates WHERE a.id = candidates.id \
                     RETURNING a.id, a.queue, a.instance_id, a.execution_id, \
                       a.task_scheduled_id, a.body, a.enqueued_at, a.lock_token",
                ),
                &[&limit, &self.options.activity_lease.as_secs_f64()],
            )
            .await?;
        let mut items: Vec<ActivityWorkItem> = rows
            .iter()
            .map(|row| {
                let id: i64 = row.get(0);
                let what = format!("activity work item {id}");
                Ok(ActivityWorkItem {
                    request: ActivityRequest {
                        name: row.get(1),
                        instance_id: row.get(2),
                        execution_id: row.get(3),
                        task_scheduled_id: row.get(4),
                        input: from_json(row.get(5), &what)?,
                    },
                    enqueued_at: time(row.get(6)),
                    lock: WorkItemLock { token: count(row.get(7), &what)?, ids: vec![id] },
                })
            })
            .collect::<Result<_>>()?;
        items.sort_by_key(|item| item.lock.ids.first().copied());
        let mut held = self.held();
        for item in &items {
            if let Some(id) = item.lock.ids.first() {
                held.activities.insert(item.lock.token, *id);
            }
        }
        Ok(items)
    }

    /// When the earliest message not yet deliverable (a timer) is due.
    pub(super) async fn next_timer(&self) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
        let due: Option<i64> = self
            .query_one(
                &self.sql("SELECT MIN(visible_at) FROM {s}.messages WHERE visible_at > $1"),
                &[&nanos(&self.now())],
            )
            .await?
            .get(0);
        Ok(due.map(time))
    }
}

/// `a, b` → `t.a, t.b`.
fn prefixed(table: &str, columns: &str) -> String {
    columns.split(',').map(|c| format!("{table}.{}", c.trim())).collect::<Vec<_>>().join(", ")
}
