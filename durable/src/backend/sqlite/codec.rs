//! Conversions between rows and the backend's types, error mapping, and the read queries.

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::ffi::ErrorCode;
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::Value;

pub(super) use crate::backend::codec::{corrupt, from_json, parse_kind, parse_status, to_json};
use crate::backend::{BackendError, InstanceRecord, QueueStats, Result};
use crate::history::{FailureDetails, HistoryEvent};

/// Maps an SQLite error to a [`BackendError::Store`]; busy and locked databases are retryable.
pub(super) fn sql_error(error: rusqlite::Error) -> BackendError {
    let retryable = matches!(
        error.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    );
    BackendError::Store { message: error.to_string(), retryable }
}

/// Whether an error leaves the rest of a write batch usable (a problem with one operation's
/// data) rather than the transaction or the file (I/O, disk full, busy, corruption).
pub(super) fn is_local_to_op(error: &rusqlite::Error) -> bool {
    match error.sqlite_error_code() {
        Some(code) => matches!(
            code,
            ErrorCode::ConstraintViolation | ErrorCode::TooBig | ErrorCode::TypeMismatch
        ),
        // Conversion and parameter errors raised by rusqlite itself, before SQLite ran.
        None => true,
    }
}

/// Formats a timestamp as fixed-width RFC 3339 text (so text order is time order).
pub(super) fn format_time(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// Parses a stored timestamp.
pub(super) fn parse_time(text: &str, what: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt(what, format!("bad timestamp `{text}`: {e}")))
}

/// The columns [`read_instance_row`] expects, in order.
pub(super) const INSTANCE_COLUMNS: &str = "instance_id, name, execution_id, status, input, \
     output, custom_status, failure, created_at, updated_at, version";

/// The raw text of an `instances` row, decoded outside rusqlite's row callback so decoding
/// errors become [`BackendError::Corrupt`].
pub(super) struct InstanceRow {
    instance_id: String,
    name: String,
    execution_id: String,
    status: String,
    input: String,
    output: String,
    custom_status: String,
    failure: Option<String>,
    created_at: String,
    updated_at: String,
    version: String,
}

/// Reads the [`INSTANCE_COLUMNS`] of a row.
pub(super) fn read_instance_row(row: &Row<'_>) -> rusqlite::Result<InstanceRow> {
    Ok(InstanceRow {
        instance_id: row.get(0)?,
        name: row.get(1)?,
        execution_id: row.get(2)?,
        status: row.get(3)?,
        input: row.get(4)?,
        output: row.get(5)?,
        custom_status: row.get(6)?,
        failure: row.get(7)?,
        created_at: row.get(8)?,
        updated_at: row.get(9)?,
        version: row.get(10)?,
    })
}

impl InstanceRow {
    /// Decodes the row.
    pub(super) fn decode(self) -> Result<InstanceRecord> {
        let what = format!("instance `{}`", self.instance_id);
        let failure: Option<FailureDetails> = match &self.failure {
            Some(text) => Some(from_json(text, &what)?),
            None => None,
        };
        Ok(InstanceRecord {
            runtime_status: parse_status(&self.status, &what)?,
            input: from_json::<Value>(&self.input, &what)?,
            version: self.version,
            output: from_json::<Value>(&self.output, &what)?,
            custom_status: from_json::<Value>(&self.custom_status, &what)?,
            failure,
            created_at: parse_time(&self.created_at, &what)?,
            last_updated_at: parse_time(&self.updated_at, &what)?,
            instance_id: self.instance_id,
            name: self.name,
            execution_id: self.execution_id,
        })
    }
}

/// Reads an instance.
pub(super) fn get_instance(
    conn: &Connection,
    hub: &str,
    instance_id: &str,
) -> Result<Option<InstanceRecord>> {
    let sql =
        format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE hub = ?1 AND instance_id = ?2");
    let row = conn
        .prepare_cached(&sql)
        .and_then(|mut stmt| {
            stmt.query_row(params![hub, instance_id], read_instance_row).optional()
        })
        .map_err(sql_error)?;
    row.map(InstanceRow::decode).transpose()
}

/// The number of events recorded for an execution (the next sequence number).
pub(super) fn history_len(
    conn: &Connection,
    hub: &str,
    instance_id: &str,
    execution_id: &str,
) -> Result<u64> {
    let next: i64 = conn
        .prepare_cached(
            "SELECT COALESCE(MAX(seq + count), 0) FROM history \
             WHERE hub = ?1 AND instance_id = ?2 AND execution_id = ?3",
        )
        .and_then(|mut stmt| stmt.query_row(params![hub, instance_id, execution_id], |r| r.get(0)))
        .map_err(sql_error)?;
    u64::try_from(next).map_err(|_| corrupt("history", format!("negative sequence number {next}")))
}

/// Reads an execution's history, in order.
pub(super) fn get_history(
    conn: &Connection,
    hub: &str,
    instance_id: &str,
    execution_id: &str,
) -> Result<Vec<HistoryEvent>> {
    let rows: Vec<(i64, String)> = conn
        .prepare_cached(
            "SELECT seq, events FROM history \
             WHERE hub = ?1 AND instance_id = ?2 AND execution_id = ?3 ORDER BY seq",
        )
        .and_then(|mut stmt| {
            stmt.query_map(params![hub, instance_id, execution_id], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })?
            .collect()
        })
        .map_err(sql_error)?;
    let mut events = Vec::new();
    for (seq, text) in rows {
        let batch: Vec<HistoryEvent> = from_json(
            &text,
            &format!(
                "history events from {seq} of instance `{instance_id}` execution `{execution_id}`"
            ),
        )?;
        events.extend(batch);
    }
    Ok(events)
}

/// Lists the hub's queues with their depth and oldest entry.
pub(super) fn queue_stats(conn: &Connection, hub: &str) -> Result<Vec<QueueStats>> {
    let rows: Vec<(String, String, i64, Option<String>)> = conn
        .prepare_cached(
            "SELECT q.kind, q.name, \
               CASE q.kind WHEN 'activity' \
                 THEN (SELECT COUNT(*) FROM activity_items a WHERE a.hub = q.hub AND a.queue = q.name) \
                 ELSE (SELECT COUNT(*) FROM messages m WHERE m.hub = q.hub AND m.queue = q.name) END, \
               CASE q.kind WHEN 'activity' \
                 THEN (SELECT MIN(enqueued_at) FROM activity_items a WHERE a.hub = q.hub AND a.queue = q.name) \
                 ELSE (SELECT MIN(enqueued_at) FROM messages m WHERE m.hub = q.hub AND m.queue = q.name) END \
             FROM queues q WHERE q.hub = ?1 ORDER BY q.kind, q.name",
        )
        .and_then(|mut stmt| {
            stmt.query_map([hub], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })?
            .collect()
        })
        .map_err(sql_error)?;
    rows.into_iter()
        .map(|(kind, name, depth, oldest)| {
            let what = format!("queue `{name}`");
            let kind = parse_kind(&kind, &what)?;
            Ok(QueueStats {
                depth: u64::try_from(depth).unwrap_or(0),
                oldest_enqueued_at: oldest.map(|t| parse_time(&t, &what)).transpose()?,
                name,
                kind,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::history::fuzz_tests::{json, text};

    /// A JSON column's text: any, or a JSON document.
    fn json_column() -> impl Strategy<Value = String> {
        prop_oneof![1 => text(), 3 => json().prop_map(|v| v.to_string())]
    }

    proptest! {
        #[test]
        fn any_instance_row_decodes_or_is_corrupt(
            names in prop::collection::vec(text(), 3),
            status in prop_oneof![Just("Running".to_owned()), text()],
            documents in prop::collection::vec(json_column(), 4),
            times in prop::collection::vec(text(), 2),
            has_failure in any::<bool>(),
        ) {
            let [instance_id, name, execution_id] = <[String; 3]>::try_from(names)
                .unwrap_or_else(|_| unreachable!("three columns"));
            let [input, output, custom_status, failure] = <[String; 4]>::try_from(documents)
                .unwrap_or_else(|_| unreachable!("four columns"));
            let [created_at, updated_at] = <[String; 2]>::try_from(times)
                .unwrap_or_else(|_| unreachable!("two columns"));
            let row = InstanceRow {
                instance_id,
                name,
                execution_id,
                status,
                input,
                output,
                custom_status,
                failure: has_failure.then_some(failure),
                created_at,
                updated_at,
                version: String::new(),
            };
            if let Err(error) = row.decode() {
                prop_assert!(matches!(error, BackendError::Corrupt { .. }), "{error:?}");
            }
        }

        #[test]
        fn any_stored_text_parses_or_is_corrupt(text in text()) {
            for result in [
                parse_time(&text, "t").map(drop),
                parse_status(&text, "t").map(drop),
                parse_kind(&text, "t").map(drop),
                from_json::<HistoryEvent>(&text, "t").map(drop),
                from_json::<FailureDetails>(&text, "t").map(drop),
            ] {
                if let Err(error) = result {
                    prop_assert!(matches!(error, BackendError::Corrupt { .. }), "{error:?}");
                }
            }
        }
    }
}
