//! Conversions between rows and the backend's types, and error mapping.

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;

use crate::backend::codec::{corrupt, from_json, parse_status};
use crate::backend::{BackendError, InstanceRecord, Result};
use crate::history::FailureDetails;

/// The columns [`instance`] reads, in order.
pub(super) const INSTANCE_COLUMNS: &str = "instance_id, name, execution_id, status, input, \
     output, custom_status, failure, version, created_at, updated_at, history_len, lock_token, \
     attempts";

/// Maps a driver error. Lost connections, a server shutting down or refusing connections,
/// deadlocks and serialization failures are retryable; anything else is the server refusing
/// what it was given.
pub(super) fn pg_error(error: tokio_postgres::Error) -> BackendError {
    let retryable = match error.code() {
        Some(code) => {
            code.code().starts_with("08")
                || [
                    SqlState::T_R_SERIALIZATION_FAILURE,
                    SqlState::T_R_DEADLOCK_DETECTED,
                    SqlState::ADMIN_SHUTDOWN,
                    SqlState::CRASH_SHUTDOWN,
                    SqlState::CANNOT_CONNECT_NOW,
                    SqlState::TOO_MANY_CONNECTIONS,
                    SqlState::QUERY_CANCELED,
                ]
                .contains(code)
        }
        // No SQLSTATE: the connection failed (closed, I/O) rather than a statement.
        None => {
            error.is_closed()
                || std::error::Error::source(&error).is_some_and(|s| s.is::<std::io::Error>())
        }
    };
    BackendError::Store { message: format!("PostgreSQL: {}", describe(&error)), retryable }
}

/// A driver error with its causes (the server's own message is the source of "db error").
pub(super) fn describe(error: &tokio_postgres::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Maps a failure to get a pooled connection (the server is unreachable or the pool is
/// exhausted): retryable.
pub(super) fn pool_error(error: deadpool_postgres::PoolError) -> BackendError {
    BackendError::Store {
        message: format!("cannot get a PostgreSQL connection: {}", pool_cause(&error)),
        retryable: true,
    }
}

/// Why the pool could not hand out a connection.
pub(super) fn pool_cause(error: &deadpool_postgres::PoolError) -> String {
    match error {
        deadpool_postgres::PoolError::Backend(error) => describe(error),
        other => other.to_string(),
    }
}

/// A timestamp as stored: nanoseconds since the epoch (saturating past the year 2262).
pub(super) fn nanos(time: &DateTime<Utc>) -> i64 {
    time.timestamp_nanos_opt().unwrap_or(if time.timestamp() < 0 { i64::MIN } else { i64::MAX })
}

/// A stored timestamp.
pub(super) fn time(nanos: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(nanos)
}

/// A count or length as stored.
pub(super) fn count(value: i64, what: &str) -> Result<u64> {
    u64::try_from(value).map_err(|_| corrupt(what, format!("negative count {value}")))
}

/// Decodes the [`INSTANCE_COLUMNS`] of a row: the record, its history length and its
/// fencing token.
pub(super) fn instance(row: &Row) -> Result<(InstanceRecord, u64, u64)> {
    let instance_id: String = row.try_get(0).map_err(pg_error)?;
    let what = format!("instance `{instance_id}`");
    let text = |i: usize| -> Result<String> { row.try_get(i).map_err(pg_error) };
    let failure: Option<String> = row.try_get(7).map_err(pg_error)?;
    let failure: Option<FailureDetails> =
        failure.map(|text| from_json(&text, &what)).transpose()?;
    let record = InstanceRecord {
        name: text(1)?,
        execution_id: text(2)?,
        runtime_status: parse_status(&text(3)?, &what)?,
        input: from_json::<Value>(&text(4)?, &what)?,
        output: from_json::<Value>(&text(5)?, &what)?,
        custom_status: from_json::<Value>(&text(6)?, &what)?,
        failure,
        version: text(8)?,
        created_at: time(row.try_get(9).map_err(pg_error)?),
        last_updated_at: time(row.try_get(10).map_err(pg_error)?),
        instance_id,
    };
    let history_len = count(row.try_get(11).map_err(pg_error)?, &what)?;
    let token = count(row.try_get(12).map_err(pg_error)?, &what)?;
    Ok((record, history_len, token))
}
