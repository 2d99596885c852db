//! Claiming work: several instances or activity work items per round trip, each under a
//! lease judged by the database's clock and a fencing token taken from one sequence.

use super::Store;
use std::collections::HashMap;
use std::sync::{Arc, PoisonError};

use tokio::sync::oneshot;
use tokio_postgres::Row;

use super::rows::{INSTANCE_COLUMNS, count, instance, nanos, time};
use crate::backend::codec::from_json;
use crate::backend::{
    ActivityRequest, ActivityWorkItem, BackendError, OrchestrationWorkItem, Result, WorkItemLock,
};
use crate::history::OrchestrationMessage;

/// How many inbox messages one claim looks at to find instances with work: enough to see
/// past a few busy instances whose messages wait behind their lock.
const SCAN: i64 = 512;

/// The message columns of a claim: the ids and bodies of the claimed instance's deliverable
/// messages (`$1` is now), in order, read with the claim.
/// Instances whose claim by id is asked for, and whether a claim is under way.
#[derive(Default)]
pub(super) struct Claims {
    waiting: Vec<(String, oneshot::Sender<Result<Option<OrchestrationWorkItem>>>)>,
    leading: bool,
}

const INBOX: &str = "inbox.ids, inbox.bodies";
const WITH_INBOX: &str = "LEFT JOIN LATERAL ( \
       SELECT array_agg(m.id ORDER BY m.id) AS ids, array_agg(m.body ORDER BY m.id) AS bodies \
       FROM {s}.messages m WHERE m.instance_id = c.instance_id AND m.visible_at <= $1) inbox \
     ON true";

impl Store {
    /// Claims up to `limit` unlocked instances with deliverable messages, in the order of
    /// their oldest deliverable message, with those messages: one statement.
    pub(super) async fn claim_instances(&self, limit: usize) -> Result<Vec<OrchestrationWorkItem>> {
        let now = nanos(&self.now());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
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
                       LIMIT $2 FOR UPDATE OF c SKIP LOCKED), \
                     claimed AS ( \
                       UPDATE {{s}}.instances i SET lock_token = nextval('{{s}}.fencing'), \
                         lock_owner = $3, \
                         lock_until = clock_timestamp() + make_interval(secs => $4) \
                       FROM candidates WHERE i.instance_id = candidates.instance_id \
                       RETURNING {}, candidates.first_visible, candidates.first_id) \
                     SELECT {INSTANCE_COLUMNS}, {INBOX} FROM claimed c {WITH_INBOX} \
                     ORDER BY c.first_visible, c.first_id",
                    prefixed("i", INSTANCE_COLUMNS)
                )),
                &[&now, &limit, &self.owner, &self.options.lease.as_secs_f64()],
            )
            .await?;
        rows.iter().map(|row| self.work_item(row)).collect()
    }

    /// Claims one instance right away, with its pending messages (possibly none), when its
    /// lock is free. Claims asked for meanwhile go out together, in one statement.
    pub(super) async fn claim_instance(
        self: &Arc<Self>,
        instance_id: &str,
    ) -> Result<Option<OrchestrationWorkItem>> {
        let (reply, answer) = oneshot::channel();
        let lead = {
            let mut claims = self.claims.lock().unwrap_or_else(PoisonError::into_inner);
            claims.waiting.push((instance_id.to_owned(), reply));
            !std::mem::replace(&mut claims.leading, true)
        };
        if lead {
            // Its own task: a caller that gives up waiting must not strand the others.
            tokio::spawn(Arc::clone(self).claim_waiting());
        }
        answer.await.map_err(|_| BackendError::Closed)?
    }

    /// Claims the instances asked for until none is waiting.
    async fn claim_waiting(self: Arc<Self>) {
        loop {
            let waiting = {
                let mut claims = self.claims.lock().unwrap_or_else(PoisonError::into_inner);
                if claims.waiting.is_empty() {
                    claims.leading = false;
                    return;
                }
                std::mem::take(&mut claims.waiting)
            };
            let ids: Vec<&str> = waiting.iter().map(|(id, _)| id.as_str()).collect();
            let mut claimed: HashMap<String, OrchestrationWorkItem> =
                match self.claim_by_id(&ids).await {
                    Ok(items) => items
                        .into_iter()
                        .map(|item| (item.instance.instance_id.clone(), item))
                        .collect(),
                    Err(error) => {
                        for (_, reply) in waiting {
                            let _ = reply.send(Err(BackendError::Store {
                                message: error.to_string(),
                                retryable: error.is_retryable(),
                            }));
                        }
                        continue;
                    }
                };
            for (id, reply) in waiting {
                let item: Option<OrchestrationWorkItem> = claimed.remove(&id);
                if let Err(Ok(Some(item))) = reply.send(Ok(item)) {
                    // Its caller is gone: release the lock it would have held.
                    let _ = self.release_instance(&item.lock).await;
                }
            }
        }
    }

    /// Claims the instances among `ids` whose lock is free, with their pending messages.
    async fn claim_by_id(&self, ids: &[&str]) -> Result<Vec<OrchestrationWorkItem>> {
        let now = nanos(&self.now());
        let rows = self
            .query(
                &self.sql(&format!(
                    "WITH claimed AS ( \
                       UPDATE {{s}}.instances SET lock_token = nextval('{{s}}.fencing'), \
                         lock_owner = $3, \
                         lock_until = clock_timestamp() + make_interval(secs => $4) \
                       WHERE instance_id = ANY($2) \
                         AND (lock_until IS NULL OR lock_until <= clock_timestamp()) \
                       RETURNING {INSTANCE_COLUMNS}) \
                     SELECT {INSTANCE_COLUMNS}, {INBOX} FROM claimed c {WITH_INBOX}"
                )),
                &[&now, &ids, &self.owner, &self.options.lease.as_secs_f64()],
            )
            .await?;
        rows.iter().map(|row| self.work_item(row)).collect()
    }

    /// A claimed instance's work item from its row: the [`INSTANCE_COLUMNS`], then the ids
    /// and bodies of its deliverable messages, in order.
    fn work_item(&self, row: &Row) -> Result<OrchestrationWorkItem> {
        let (record, history_len, token) = instance(row)?;
        let ids: Vec<i64> = row.get::<_, Option<Vec<i64>>>(13).unwrap_or_default();
        let bodies: Vec<String> = row.get::<_, Option<Vec<String>>>(14).unwrap_or_default();
        let messages = ids
            .iter()
            .zip(&bodies)
            .map(|(id, body)| from_json(body, &format!("message {id}")))
            .collect::<Result<Vec<OrchestrationMessage>>>()?;
        self.hold(token, &record.instance_id);
        Ok(OrchestrationWorkItem {
            instance: record,
            messages,
            history_len,
            lock: WorkItemLock { token, ids },
        })
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
