//! Claiming work: several instances or activity work items per round trip, each under a
//! lease judged by the database's clock and a fencing token taken from one sequence.

use super::Store;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::coalesce::{Coalescer, Request, answer, copy};
use super::rows::{INSTANCE_COLUMNS, count, instance, nanos, pg_error, pool_error, time};
use crate::backend::codec::{corrupt, from_json};
use crate::backend::wait::{deadline_after, until_due};
use crate::backend::{
    ActivityRequest, ActivityWorkItem, OrchestrationWorkItem, QueueLimits, Result, WorkItemLock,
};
use crate::history::OrchestrationMessage;

/// How many inbox messages one claim looks at to find instances with work: enough to see
/// past a few busy instances whose messages wait behind their lock.
const SCAN: i64 = 512;

/// Instances whose claim by id is asked for, claimed together by one leader at a time.
pub(super) type Claims = Coalescer<String, Option<OrchestrationWorkItem>>;

/// A new queue of claims by id.
pub(super) fn claims() -> Claims {
    Coalescer::new(1)
}

/// The deliverable messages (`$2` is now) of the instances in `$1`, in order. It runs as a
/// statement of its own after the claim: a claim that waited for a committing turn to
/// release the row sees that turn's commit only in a later statement's snapshot, and reading
/// the inbox in the claim's own snapshot would hand out messages the turn had just consumed.
const INBOXES: &str = "SELECT instance_id, array_agg(id ORDER BY id), array_agg(body ORDER BY id) \
     FROM {s}.messages WHERE instance_id = ANY($1) AND visible_at <= $2 GROUP BY instance_id";

/// How long an activity work item waits for the process whose turn scheduled it before any
/// process may take it. That process then applies the result to the instance it holds in
/// memory, with no message and no replay; the window only delays the others when it is
/// saturated or gone.
pub(super) const AFFINITY: Duration = Duration::from_millis(200);
/// [`AFFINITY`] as the database takes it.
pub(super) const AFFINITY_SECS: f64 = AFFINITY.as_secs_f64();

/// The first and the longest pause between polls while no work comes (the fallback for a
/// missed notification).
const POLL_MIN: Duration = Duration::from_millis(50);
const POLL_MAX: Duration = Duration::from_secs(2);

impl Store {
    /// Runs a claim: on a connection that does not wait for the WAL flush (see
    /// `Store::claim_pool`).
    async fn claim(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        super::query_on(&self.claim_pool, sql, params).await
    }

    /// Claims with `claim` until it gives work or `wait` has passed. Between tries it waits
    /// for a wake-up on `wake`, for the next timer to be due (when `timers`), or for a poll,
    /// backing off while nothing comes. Returns nothing as soon as `interrupted` completes
    /// while it waits.
    pub(super) async fn claim_or_wait<T, Fut>(
        &self,
        wait: Duration,
        wake: &Notify,
        timers: bool,
        interrupted: impl Future<Output = ()>,
        claim: impl Fn() -> Fut,
    ) -> Result<Vec<T>>
    where
        Fut: Future<Output = Result<Vec<T>>>,
    {
        let deadline = deadline_after(wait);
        let mut pause = POLL_MIN;
        tokio::pin!(interrupted);
        loop {
            let notified = wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            self.check_open(true)?;
            let claimed = claim().await?;
            if !claimed.is_empty() || Instant::now() >= deadline {
                return Ok(claimed);
            }
            let next_timer = if timers { self.next_timer().await? } else { None };
            let poll = deadline.min(Instant::now() + pause);
            tokio::select! {
                _ = notified => pause = POLL_MIN,
                _ = until_due(&self.options.clock, next_timer) => {}
                _ = tokio::time::sleep_until(poll.into()) => pause = (pause * 2).min(POLL_MAX),
                () = &mut interrupted => return Ok(Vec::new()),
            }
        }
    }

    /// Claims up to `limit` unlocked instances with deliverable messages, in the order of
    /// their oldest deliverable message, with those messages.
    pub(super) async fn claim_instances(&self, limit: usize) -> Result<Vec<OrchestrationWorkItem>> {
        let now = nanos(&self.now());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .claim(
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
                         lock_owner = $3, attempts = i.attempts + 1, \
                         lock_until = clock_timestamp() + make_interval(secs => $4) \
                       FROM candidates WHERE i.instance_id = candidates.instance_id \
                       RETURNING {}, candidates.first_visible, candidates.first_id) \
                     SELECT {INSTANCE_COLUMNS} FROM claimed \
                     ORDER BY first_visible, first_id",
                    prefixed("i", INSTANCE_COLUMNS)
                )),
                &[&now, &limit, &self.owner, &self.options.lease.as_secs_f64()],
            )
            .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
        let inboxes = self.query(&self.sql(INBOXES), &[&ids, &now]).await?;
        self.work_items(&rows, &inboxes, true)
    }

    /// Claims one instance right away, with its pending messages (possibly none), when its
    /// lock is free. Claims asked for meanwhile go out together.
    pub(super) async fn claim_instance(
        self: &Arc<Self>,
        instance_id: &str,
    ) -> Result<Option<OrchestrationWorkItem>> {
        let (reply, lead) = self.claims.join(instance_id.to_owned());
        if lead {
            tokio::spawn(Arc::clone(self).claim_waiting());
        }
        answer(reply).await
    }

    /// Claims the instances asked for until none is waiting.
    async fn claim_waiting(self: Arc<Self>) {
        while let Some(waiting) = self.claims.next(|waiting| waiting.drain(..).collect()) {
            let ids: Vec<&str> = waiting.iter().map(|r| r.item.as_str()).collect();
            let mut claimed: HashMap<String, OrchestrationWorkItem> =
                match self.claim_by_id(&ids).await {
                    Ok(items) => items
                        .into_iter()
                        .map(|item| (item.instance.instance_id.clone(), item))
                        .collect(),
                    Err(error) => {
                        for request in waiting {
                            let _ = request.reply.send(Err(copy(&error)));
                        }
                        continue;
                    }
                };
            for Request { item: id, reply } in waiting {
                let item: Option<OrchestrationWorkItem> = claimed.remove(&id);
                if let Err(Ok(Some(item))) = reply.send(Ok(item)) {
                    // Its caller is gone: release the lock it would have held.
                    let _ = self.release_instance(&item.lock, false).await;
                }
            }
        }
    }

    /// Claims the instances among `ids` whose lock is free, with their pending messages.
    /// The claim and the inbox read go out together, as two statements.
    async fn claim_by_id(&self, ids: &[&str]) -> Result<Vec<OrchestrationWorkItem>> {
        let now = nanos(&self.now());
        let lease = self.options.lease.as_secs_f64();
        let client = self.claim_pool.get().await.map_err(pool_error)?;
        let claim = client
            .prepare_cached(&self.sql(&format!(
                "UPDATE {{s}}.instances SET lock_token = nextval('{{s}}.fencing'), \
                   lock_owner = $2, lock_until = clock_timestamp() + make_interval(secs => $3) \
                 WHERE instance_id = ANY($1) \
                   AND (lock_until IS NULL OR lock_until <= clock_timestamp()) \
                 RETURNING {INSTANCE_COLUMNS}"
            )))
            .await
            .map_err(pg_error)?;
        let inbox = client.prepare_cached(&self.sql(INBOXES)).await.map_err(pg_error)?;
        let claim_params: [&(dyn ToSql + Sync); 3] = [&ids, &self.owner, &lease];
        let inbox_params: [&(dyn ToSql + Sync); 2] = [&ids, &now];
        let (claimed, inboxes) =
            tokio::join!(client.query(&claim, &claim_params), client.query(&inbox, &inbox_params),);
        self.work_items(&claimed.map_err(pg_error)?, &inboxes.map_err(pg_error)?, false)
    }

    /// The work items of claimed instances: their rows (the [`INSTANCE_COLUMNS`]) and the
    /// rows of [`INBOXES`] (instance id, message ids, message bodies); in the order of `claimed`.
    /// Their `attempt` is the stored count when the claim `counted` it, else 0.
    fn work_items(
        &self,
        claimed: &[Row],
        inboxes: &[Row],
        counted: bool,
    ) -> Result<Vec<OrchestrationWorkItem>> {
        let mut inboxes: HashMap<String, (Vec<i64>, Vec<String>)> =
            inboxes.iter().map(|row| (row.get(0), (row.get(1), row.get(2)))).collect();
        let mut items = Vec::with_capacity(claimed.len());
        for row in claimed {
            let (record, history_len, token) = instance(row)?;
            let (ids, bodies) = inboxes.remove(&record.instance_id).unwrap_or_default();
            let messages = ids
                .iter()
                .zip(&bodies)
                .map(|(id, body)| from_json(body, &format!("message {id}")))
                .collect::<Result<Vec<OrchestrationMessage>>>()?;
            let attempt = if counted {
                let attempts: i32 = row.try_get(13).map_err(pg_error)?;
                u32::try_from(attempts).unwrap_or(0)
            } else {
                0
            };
            self.hold(token, &record.instance_id);
            items.push(OrchestrationWorkItem {
                instance: record,
                messages,
                history_len,
                attempt,
                lock: WorkItemLock { token, ids },
            });
        }
        Ok(items)
    }

    /// Leases up to `limit` activity work items that nobody holds: those this process
    /// scheduled first, then those of others whose affinity window has passed. A process
    /// busy with its own work so leaves the others' to them, and helps only when it has
    /// room to spare; but another's item that has waited an activity lease past its window
    /// (its owner is gone, and everyone else busy) comes before all, so none waits forever.
    pub(super) async fn claim_activities(
        &self,
        limit: usize,
        limits: &QueueLimits,
    ) -> Result<Vec<ActivityWorkItem>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let (capped, caps): (Vec<String>, Vec<i64>) = limits
            .caps()
            .map(|(name, cap)| (name.to_owned(), i64::try_from(cap).unwrap_or(i64::MAX)))
            .unzip();
        // Candidates skip the queues capped at 0; of the others, a capped queue gives no
        // more than its cap (the candidates past it are left unleased).
        let rows = self
            .claim(
                &self.sql(
                    "WITH caps AS (SELECT * FROM unnest($4::text[], $5::int8[]) AS c(queue, cap)), \
                     stale AS MATERIALIZED ( \
                       SELECT id FROM {s}.activity_items \
                       WHERE owner <> $3 \
                         AND shared_at <= clock_timestamp() - make_interval(secs => $2) \
                         AND (lock_until IS NULL OR lock_until <= clock_timestamp()) \
                         AND queue NOT IN (SELECT queue FROM caps WHERE cap = 0) \
                       ORDER BY shared_at LIMIT $1 FOR UPDATE SKIP LOCKED), \
                     mine AS MATERIALIZED ( \
                       SELECT id FROM {s}.activity_items \
                       WHERE owner = $3 \
                         AND (lock_until IS NULL OR lock_until <= clock_timestamp()) \
                         AND queue NOT IN (SELECT queue FROM caps WHERE cap = 0) \
                       ORDER BY owner, id LIMIT $1 - (SELECT count(*) FROM stale) \
                       FOR UPDATE SKIP LOCKED), \
                     theirs AS MATERIALIZED ( \
                       SELECT id FROM {s}.activity_items \
                       WHERE owner <> $3 AND shared_at <= clock_timestamp() \
                         AND shared_at > clock_timestamp() - make_interval(secs => $2) \
                         AND (lock_until IS NULL OR lock_until <= clock_timestamp()) \
                         AND queue NOT IN (SELECT queue FROM caps WHERE cap = 0) \
                       ORDER BY id \
                       LIMIT $1 - (SELECT count(*) FROM stale) - (SELECT count(*) FROM mine) \
                       FOR UPDATE SKIP LOCKED), \
                     picked AS ( \
                       SELECT r.id FROM ( \
                         SELECT a.id, a.queue, \
                           row_number() OVER (PARTITION BY a.queue ORDER BY a.id) AS n \
                         FROM {s}.activity_items a \
                         JOIN (SELECT id FROM stale UNION ALL SELECT id FROM mine \
                               UNION ALL SELECT id FROM theirs) c ON c.id = a.id) r \
                       LEFT JOIN caps ON caps.queue = r.queue \
                       WHERE caps.cap IS NULL OR r.n <= caps.cap) \
                     UPDATE {s}.activity_items a SET lock_token = nextval('{s}.fencing'), \
                       lock_until = clock_timestamp() + make_interval(secs => $2), \
                       attempts = a.attempts + 1 \
                     FROM picked c \
                     WHERE a.id = c.id \
                     RETURNING a.id, a.queue, a.instance_id, a.execution_id, \
                       a.task_scheduled_id, a.body, a.enqueued_at, a.lock_token, a.attempts",
                ),
                &[&limit, &self.options.activity_lease.as_secs_f64(), &self.owner, &capped, &caps],
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
                    attempt: u32::try_from(row.get::<_, i32>(8))
                        .map_err(|_| corrupt(&what, "a negative attempt count"))?,
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
