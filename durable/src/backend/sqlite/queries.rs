//! Instance listing (a read) and purging (a write operation of the writer thread).
//!
//! Listings page by keyset on `(created_at, instance_id)`, which the `instances_by_created`
//! index serves in order; timestamps are fixed-width text, so text order is time order.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::codec::{INSTANCE_COLUMNS, format_time, parse_status, read_instance_row, sql_error};
use super::writer::{Batch, Effect, Failure, OpResult, Writer};
use crate::backend::query::PageKey;
use crate::backend::{
    BackendError, InstanceKind, InstancePage, InstanceQuery, PurgeFilter, Result,
};
use crate::history::OrchestrationRuntimeStatus;

/// Keeps entity instances (ids starting with [`ENTITY_ID_PREFIX`](crate::backend::ENTITY_ID_PREFIX)) out.
const NOT_AN_ENTITY: &str = " AND substr(instance_id, 1, 1) <> '@'";

/// Counts the hub's orchestration instances by runtime status.
pub(super) fn count_instances(
    conn: &Connection,
    hub: &str,
) -> Result<Vec<(OrchestrationRuntimeStatus, u64)>> {
    let sql = format!(
        "SELECT status, COUNT(*) FROM instances WHERE hub = ?1{NOT_AN_ENTITY} GROUP BY status"
    );
    let mut statement = conn.prepare_cached(&sql).map_err(sql_error)?;
    let rows = statement
        .query_map(params![hub], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))
        .map_err(sql_error)?;
    let mut counts = Vec::new();
    for row in rows {
        let (status, count) = row.map_err(sql_error)?;
        let status = parse_status(&status, "an instance's status")?;
        counts.push((status, u64::try_from(count).unwrap_or(0)));
    }
    Ok(counts)
}

/// Reads one page of the hub's instances matching `query`, after `after`.
pub(super) fn list_instances(
    conn: &Connection,
    hub: &str,
    query: &InstanceQuery,
    after: Option<&PageKey>,
) -> Result<InstancePage> {
    let mut sql = format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE hub = ?");
    let mut args: Vec<SqlValue> = vec![SqlValue::Text(hub.to_owned())];
    let mut statuses = query.runtime_status.clone();
    statuses.sort_by_key(|s| s.as_str());
    statuses.dedup();
    push_status_filter(&mut sql, &mut args, &statuses);
    push_created_filter(&mut sql, &mut args, query.created_from, query.created_to);
    if let Some(prefix) = query.prefix() {
        sql.push_str(" AND substr(instance_id, 1, length(?)) = ?");
        args.push(SqlValue::Text(prefix.to_owned()));
        args.push(SqlValue::Text(prefix.to_owned()));
    }
    if let Some(from) = query.updated_from {
        sql.push_str(" AND updated_at >= ?");
        args.push(SqlValue::Text(format_time(&from)));
    }
    if let Some(to) = query.updated_to {
        sql.push_str(" AND updated_at <= ?");
        args.push(SqlValue::Text(format_time(&to)));
    }
    match query.kind {
        InstanceKind::All => {}
        InstanceKind::Orchestrations => sql.push_str(NOT_AN_ENTITY),
        InstanceKind::Entities => sql.push_str(" AND substr(instance_id, 1, 1) = '@'"),
    }
    if let Some(after) = after {
        sql.push_str(" AND (created_at, instance_id) > (?, ?)");
        args.push(SqlValue::Text(format_time(&after.created_at)));
        args.push(SqlValue::Text(after.instance_id.clone()));
    }
    // One row more than the page tells whether another page follows.
    sql.push_str(" ORDER BY created_at, instance_id LIMIT ?");
    let limit = i64::try_from(query.page_size).unwrap_or(i64::MAX).saturating_add(1);
    args.push(SqlValue::Integer(limit));
    // Not cached: the text varies with the filters, and an in-memory store reads on the
    // writer's connection, whose cache holds the hot statements.
    let rows = conn
        .prepare(&sql)
        .and_then(|mut stmt| {
            stmt.query_map(params_from_iter(args), read_instance_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(sql_error)?;
    let more = rows.len() > query.page_size;
    let instances = rows
        .into_iter()
        .take(query.page_size)
        .map(|row| row.decode())
        .collect::<Result<Vec<_>>>()?;
    let continuation_token =
        if more { instances.last().map(|last| PageKey::of(last).encode()) } else { None };
    Ok(InstancePage { instances, continuation_token })
}

/// Appends `AND status IN (…)` unless `statuses` is empty.
fn push_status_filter(
    sql: &mut String,
    args: &mut Vec<SqlValue>,
    statuses: &[OrchestrationRuntimeStatus],
) {
    if statuses.is_empty() {
        return;
    }
    sql.push_str(" AND status IN (");
    for (i, status) in statuses.iter().enumerate() {
        sql.push_str(if i == 0 { "?" } else { ", ?" });
        args.push(SqlValue::Text(status.as_str().to_owned()));
    }
    sql.push(')');
}

/// Appends the creation-time range, both ends inclusive (Azure's `CreatedTimeFrom`/`To`).
fn push_created_filter(
    sql: &mut String,
    args: &mut Vec<SqlValue>,
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
) {
    if let Some(from) = from {
        sql.push_str(" AND created_at >= ?");
        args.push(SqlValue::Text(format_time(&from)));
    }
    if let Some(to) = to {
        sql.push_str(" AND created_at <= ?");
        args.push(SqlValue::Text(format_time(&to)));
    }
}

impl Writer {
    /// Deletes the finished instances `filter` names, with their history, messages and
    /// activity work items; stores how many in `deleted`.
    pub(super) fn purge(
        &self,
        filter: &PurgeFilter,
        deleted: &Arc<AtomicU64>,
        batch: &mut Batch,
    ) -> OpResult<Effect> {
        filter.validate()?;
        let hub = self.shared.hub.as_str();
        let instance_ids: Vec<String> = match filter {
            PurgeFilter::Instance(instance_id) => {
                let status: Option<String> = self
                    .conn
                    .prepare_cached(
                        "SELECT status FROM instances WHERE hub = ?1 AND instance_id = ?2",
                    )?
                    .query_row(params![hub, instance_id], |row| row.get(0))
                    .optional()?;
                let Some(status) = status else {
                    deleted.store(0, Ordering::Release);
                    return Ok(Effect::Nothing);
                };
                let status = parse_status(&status, &format!("instance `{instance_id}`"))?;
                if !status.is_terminal() {
                    return Err(Failure::Rejected(BackendError::InstanceNotFinished {
                        instance_id: instance_id.clone(),
                        status,
                    }));
                }
                vec![instance_id.clone()]
            }
            PurgeFilter::Created { created_from, created_to, finished_before, limit, .. } => {
                let mut sql = "SELECT instance_id FROM instances WHERE hub = ?".to_owned();
                let mut args = vec![SqlValue::Text(hub.to_owned())];
                push_status_filter(&mut sql, &mut args, &filter.statuses());
                push_created_filter(&mut sql, &mut args, *created_from, *created_to);
                if let Some(before) = finished_before {
                    sql.push_str(" AND updated_at <= ?");
                    args.push(SqlValue::Text(format_time(before)));
                }
                sql.push_str(NOT_AN_ENTITY);
                if let Some(limit) = limit {
                    sql.push_str(" LIMIT ?");
                    args.push(SqlValue::Integer(i64::try_from(*limit).unwrap_or(i64::MAX)));
                }
                self.conn
                    .prepare(&sql)?
                    .query_map(params_from_iter(args), |row| row.get(0))?
                    .collect::<rusqlite::Result<_>>()?
            }
            PurgeFilter::IdleEntity { instance_id, execution_id } => self
                .conn
                .prepare_cached(
                    "SELECT instance_id FROM instances i \
                     WHERE hub = ?1 AND instance_id = ?2 AND execution_id = ?3 \
                       AND NOT EXISTS (SELECT 1 FROM messages m \
                                       WHERE m.hub = ?1 AND m.instance_id = ?2)",
                )?
                .query_map(params![hub, instance_id, execution_id], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()?,
            PurgeFilter::Everything => self
                .conn
                .prepare_cached("SELECT instance_id FROM instances WHERE hub = ?1")?
                .query_map(params![hub], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()?,
        };
        if instance_ids.is_empty() {
            deleted.store(0, Ordering::Release);
            return Ok(Effect::Nothing);
        }
        let ids = serde_json::Value::from(instance_ids.clone()).to_string();
        for table in ["history", "messages", "activity_items"] {
            self.conn
                .prepare_cached(&format!(
                    "DELETE FROM {table} WHERE hub = ?1 \
                     AND instance_id IN (SELECT value FROM json_each(?2))"
                ))?
                .execute(params![hub, ids])?;
        }
        let count = self
            .conn
            .prepare_cached(
                "DELETE FROM instances WHERE hub = ?1 \
                 AND instance_id IN (SELECT value FROM json_each(?2))",
            )?
            .execute(params![hub, ids])?;
        deleted.store(count as u64, Ordering::Release);
        // A commit of a purged instance later in this batch must fail as a lost lock.
        batch.replaced.extend(instance_ids.iter().cloned());
        Ok(Effect::Purged { instance_ids })
    }
}
