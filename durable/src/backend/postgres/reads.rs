//! The reads: instances, histories, listings, queue depths and the work state.

use tokio_postgres::types::ToSql;

use super::Store;
use super::rows::{INSTANCE_COLUMNS, count, instance, nanos, time};
use crate::backend::codec::{from_json, parse_kind, parse_status};
use crate::backend::query::PageKey;
use crate::backend::{
    InstanceKind, InstancePage, InstanceQuery, InstanceRecord, QueueStats, Result, WorkState,
};
use crate::history::{HistoryEvent, OrchestrationRuntimeStatus};

impl Store {
    pub(super) async fn read_instance(&self, instance_id: &str) -> Result<Option<InstanceRecord>> {
        let row = self
            .query_opt(
                &self.sql(&format!(
                    "SELECT {INSTANCE_COLUMNS} FROM {{s}}.instances WHERE instance_id = $1"
                )),
                &[&instance_id],
            )
            .await?;
        row.map(|row| instance(&row).map(|(record, _, _)| record)).transpose()
    }

    pub(super) async fn read_history(
        &self,
        instance_id: &str,
        execution_id: &str,
    ) -> Result<Vec<HistoryEvent>> {
        let rows = self
            .query(
                &self.sql(
                    "SELECT seq, event FROM {s}.history \
                     WHERE instance_id = $1 AND execution_id = $2 ORDER BY seq",
                ),
                &[&instance_id, &execution_id],
            )
            .await?;
        rows.iter()
            .map(|row| {
                let seq: i64 = row.get(0);
                from_json(
                    row.get(1),
                    &format!(
                        "history event {seq} of instance `{instance_id}` execution `{execution_id}`"
                    ),
                )
            })
            .collect()
    }

    /// How many orchestration instances hold each status.
    pub(super) async fn read_counts(&self) -> Result<Vec<(OrchestrationRuntimeStatus, u64)>> {
        let rows = self
            .query(
                &self.sql(
                    "SELECT status, COUNT(*) FROM {s}.instances \
                     WHERE left(instance_id, 1) <> '@' GROUP BY status",
                ),
                &[],
            )
            .await?;
        rows.iter()
            .map(|row| {
                let status = parse_status(row.get(0), "an instance's status")?;
                Ok((status, count(row.get(1), "an instance count")?))
            })
            .collect()
    }

    /// One page of the instances matching `query`, after `after`, by keyset on
    /// `(created_at, instance_id)`.
    pub(super) async fn read_page(
        &self,
        query: &InstanceQuery,
        after: Option<&PageKey>,
    ) -> Result<InstancePage> {
        let statuses: Vec<&str> = query.runtime_status.iter().map(|s| s.as_str()).collect();
        let from = query.created_from.as_ref().map(nanos);
        let to = query.created_to.as_ref().map(nanos);
        let prefix = query.prefix();
        let after_time = after.map(|key| nanos(&key.created_at));
        let after_id = after.map(|key| key.instance_id.as_str());
        // One row more than the page tells whether another page follows.
        let limit = i64::try_from(query.page_size).unwrap_or(i64::MAX).saturating_add(1);
        let updated_from = query.updated_from.as_ref().map(nanos);
        let updated_to = query.updated_to.as_ref().map(nanos);
        // Whether ids must (true) or must not (false) start with `@`; either when NULL.
        let entities = match query.kind {
            InstanceKind::All => None,
            InstanceKind::Orchestrations => Some(false),
            InstanceKind::Entities => Some(true),
        };
        let params: [&(dyn ToSql + Sync); 10] = [
            &statuses,
            &from,
            &to,
            &prefix,
            &after_time,
            &after_id,
            &limit,
            &updated_from,
            &updated_to,
            &entities,
        ];
        let rows = self
            .query(
                &self.sql(&format!(
                    "SELECT {INSTANCE_COLUMNS} FROM {{s}}.instances \
                     WHERE (cardinality($1::text[]) = 0 OR status = ANY($1)) \
                       AND ($2::bigint IS NULL OR created_at >= $2) \
                       AND ($3::bigint IS NULL OR created_at <= $3) \
                       AND ($4::text IS NULL OR left(instance_id, length($4)) = $4) \
                       AND ($5::bigint IS NULL OR (created_at, instance_id) > ($5, $6::text)) \
                       AND ($8::bigint IS NULL OR updated_at >= $8) \
                       AND ($9::bigint IS NULL OR updated_at <= $9) \
                       AND ($10::boolean IS NULL OR (left(instance_id, 1) = '@') = $10) \
                     ORDER BY created_at, instance_id LIMIT $7"
                )),
                &params,
            )
            .await?;
        let more = rows.len() > query.page_size;
        let instances = rows
            .iter()
            .take(query.page_size)
            .map(|row| instance(row).map(|(record, _, _)| record))
            .collect::<Result<Vec<_>>>()?;
        let continuation_token =
            if more { instances.last().map(|last| PageKey::of(last).encode()) } else { None };
        Ok(InstancePage { instances, continuation_token })
    }

    pub(super) async fn read_queue_stats(&self) -> Result<Vec<QueueStats>> {
        let rows = self
            .query(
                &self.sql(
                    "SELECT q.kind, q.name, \
                       CASE q.kind WHEN 'activity' \
                         THEN (SELECT COUNT(*) FROM {s}.activity_items a WHERE a.queue = q.name) \
                         ELSE (SELECT COUNT(*) FROM {s}.messages m WHERE m.queue = q.name) END, \
                       CASE q.kind WHEN 'activity' \
                         THEN (SELECT MIN(enqueued_at) FROM {s}.activity_items a WHERE a.queue = q.name) \
                         ELSE (SELECT MIN(enqueued_at) FROM {s}.messages m WHERE m.queue = q.name) END \
                     FROM {s}.queues q ORDER BY q.kind, q.name",
                ),
                &[],
            )
            .await?;
        rows.iter()
            .map(|row| {
                let name: String = row.get(1);
                let what = format!("queue `{name}`");
                Ok(QueueStats {
                    kind: parse_kind(row.get(0), &what)?,
                    depth: count(row.get(2), &what)?,
                    oldest_enqueued_at: row.get::<_, Option<i64>>(3).map(time),
                    name,
                })
            })
            .collect()
    }

    /// The work of the whole hub, in one snapshot: a commit that moves work on is seen
    /// before or after, never halfway. A timer is a message enqueued before it is due; the
    /// next one is the earliest still queued, due or not.
    pub(super) async fn read_work_state(&self) -> Result<WorkState> {
        let row = self
            .query_one(
                &self.sql(
                    "SELECT EXISTS (SELECT 1 FROM {s}.messages m \
                                    JOIN {s}.instances i ON i.instance_id = m.instance_id \
                                    WHERE m.visible_at <= $1) \
                         OR EXISTS (SELECT 1 FROM {s}.instances \
                                    WHERE lock_until > clock_timestamp()) \
                         OR EXISTS (SELECT 1 FROM {s}.activity_items), \
                       (SELECT MIN(visible_at) FROM {s}.messages \
                        WHERE visible_at > enqueued_at)",
                ),
                &[&nanos(&self.now())],
            )
            .await?;
        Ok(WorkState { runnable: row.get(0), next_timer: row.get::<_, Option<i64>>(1).map(time) })
    }
}
