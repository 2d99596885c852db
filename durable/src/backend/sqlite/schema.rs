//! Connection setup and versioned schema migrations.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::Synchronous;
use super::codec::sql_error;
use crate::backend::{BackendError, Result};

/// How long a connection waits for another connection's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Prepared statements kept per connection (the store uses a few dozen distinct ones).
const STATEMENT_CACHE: usize = 64;

/// The migrations, in order; migration `n` (1-based) brings the schema to version `n`.
///
/// Never edit a released migration: append a new one.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: the initial schema. Every row is scoped by `hub`, so several task hubs can share a
    // file. Timestamps are RFC 3339 text with nanoseconds (fixed width, so they sort).
    r#"
    CREATE TABLE queues (
        hub  TEXT NOT NULL,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        PRIMARY KEY (hub, kind, name)
    ) WITHOUT ROWID;
    CREATE TABLE instances (
        hub           TEXT NOT NULL,
        instance_id   TEXT NOT NULL,
        name          TEXT NOT NULL,
        execution_id  TEXT NOT NULL,
        status        TEXT NOT NULL,
        input         TEXT NOT NULL,
        output        TEXT NOT NULL,
        custom_status TEXT NOT NULL,
        failure       TEXT,
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL,
        PRIMARY KEY (hub, instance_id)
    ) WITHOUT ROWID;
    -- One row per commit: the events it appended, as a JSON array; `seq` is the position of
    -- its first event in the execution's history.
    CREATE TABLE history (
        hub          TEXT NOT NULL,
        instance_id  TEXT NOT NULL,
        execution_id TEXT NOT NULL,
        seq          INTEGER NOT NULL,
        count        INTEGER NOT NULL,
        events       TEXT NOT NULL,
        PRIMARY KEY (hub, instance_id, execution_id, seq)
    ) WITHOUT ROWID;
    CREATE TABLE messages (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        hub         TEXT NOT NULL,
        instance_id TEXT NOT NULL,
        queue       TEXT NOT NULL,
        body        TEXT NOT NULL,
        enqueued_at TEXT NOT NULL
    );
    CREATE INDEX messages_by_instance ON messages (hub, instance_id);
    CREATE TABLE activity_items (
        id                INTEGER PRIMARY KEY AUTOINCREMENT,
        hub               TEXT NOT NULL,
        queue             TEXT NOT NULL,
        instance_id       TEXT NOT NULL,
        execution_id      TEXT NOT NULL,
        task_scheduled_id INTEGER NOT NULL,
        body              TEXT NOT NULL,
        enqueued_at       TEXT NOT NULL
    );
    -- No index by queue: queues hold only pending work, and only queue_stats reads by queue.
    "#,
    // 2: instance listings page in creation order (turns never change `created_at`, so the
    // index costs nothing on the hot path).
    r#"
    CREATE INDEX instances_by_created ON instances (hub, created_at, instance_id);
    "#,
    // 3: what the store used to read out of history events becomes columns the writer fills:
    // an instance's orchestration version, and whether a message creates its instance. The
    // versions of existing instances are filled in from their events, once (an execution's
    // `ExecutionStarted` is always in its first history row, `seq` 0, or still in its start
    // message). Existing messages need no flag: a process reads the flag only on rows other
    // processes write after it started dispatching.
    r#"
    ALTER TABLE instances ADD COLUMN version TEXT NOT NULL DEFAULT '';
    ALTER TABLE messages ADD COLUMN creates_instance INTEGER NOT NULL DEFAULT 0;
    UPDATE instances SET version = COALESCE(
        (SELECT json_extract(e.value, '$.Version')
           FROM history h, json_each(h.events) e
          WHERE h.hub = instances.hub AND h.instance_id = instances.instance_id
            AND h.execution_id = instances.execution_id AND h.seq = 0
            AND json_extract(e.value, '$.EventType') = 'ExecutionStarted'),
        (SELECT json_extract(m.body, '$.Event.Version')
           FROM messages m
          WHERE m.hub = instances.hub AND m.instance_id = instances.instance_id
            AND json_extract(m.body, '$.Event.EventType') = 'ExecutionStarted'
            AND json_extract(m.body, '$.Event.ExecutionId') = instances.execution_id),
        '');
    "#,
    // 4: how many times each activity work item was leased. Leases live in memory, so the
    // fetch writes the count before handing the item out: a run that crashes the process
    // still counts after the restart.
    r#"
    ALTER TABLE activity_items ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    "#,
    // 5: how many times each instance was locked for a turn since its last commit, written
    // by the fetch for the same reason: a turn that crashes the process still counts.
    r#"
    ALTER TABLE instances ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    "#,
];

/// The schema version this build writes.
pub(super) fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Opens the connection the writer thread owns: WAL (for files), the configured
/// `synchronous` level, a busy timeout, and the schema brought up to date.
pub(super) fn open_writer(path: Option<&Path>, synchronous: Synchronous) -> Result<Connection> {
    let conn = match path {
        Some(path) => Connection::open(path),
        None => Connection::open_in_memory(),
    }
    .map_err(|e| open_error(path, &e))?;
    configure(&conn)?;
    if path.is_some() {
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(sql_error)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(BackendError::Store {
                message: format!("could not switch the database to WAL mode (it is in `{mode}`)"),
                retryable: false,
            });
        }
    }
    conn.pragma_update(None, "synchronous", synchronous.pragma()).map_err(sql_error)?;
    // The writer touches the recent end of every table on each commit: keep those pages in
    // memory (64 MiB) rather than re-reading them from the OS, keep the per-operation
    // savepoint journals in memory, and checkpoint the WAL every ~16 MiB instead of ~4 MiB.
    // (Measured: a smaller WAL checkpoints too often; a larger one stays longer in its
    // growth phase, where every fsync must also commit the file's new size.)
    conn.pragma_update(None, "cache_size", -65_536).map_err(sql_error)?;
    conn.pragma_update(None, "temp_store", "MEMORY").map_err(sql_error)?;
    conn.pragma_update(None, "wal_autocheckpoint", 4_000).map_err(sql_error)?;
    migrate(&conn)?;
    Ok(conn)
}

/// Opens a connection for reads (a file store only; in-memory stores read on the writer).
pub(super) fn open_reader(path: &Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| open_error(Some(path), &e))?;
    configure(&conn)?;
    conn.pragma_update(None, "query_only", true).map_err(sql_error)?;
    Ok(conn)
}

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql_error)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}

fn open_error(path: Option<&Path>, error: &rusqlite::Error) -> BackendError {
    let target = match path {
        Some(path) => format!("`{}`", path.display()),
        None => "an in-memory database".to_owned(),
    };
    BackendError::Store { message: format!("cannot open {target}: {error}"), retryable: false }
}

/// Applies every migration the database lacks, each in its own `BEGIN IMMEDIATE`
/// transaction, so two processes opening the same file at once do not both apply one.
fn migrate(conn: &Connection) -> Result<()> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        .map_err(sql_error)?;
    loop {
        conn.execute_batch("BEGIN IMMEDIATE").map_err(sql_error)?;
        let step = migrate_one(conn);
        match step {
            Ok(true) => conn.execute_batch("COMMIT").map_err(sql_error)?,
            Ok(false) => {
                conn.execute_batch("COMMIT").map_err(sql_error)?;
                return Ok(());
            }
            Err(error) => {
                if !conn.is_autocommit() {
                    let _ = conn.execute_batch("ROLLBACK");
                }
                return Err(error);
            }
        }
    }
}

/// Applies the next missing migration; `Ok(false)` when the schema is current.
fn migrate_one(conn: &Connection) -> Result<bool> {
    let current: i64 = conn
        .query_row("SELECT MAX(version) FROM schema_version", [], |row| {
            row.get::<_, Option<i64>>(0)
        })
        .optional()
        .map_err(sql_error)?
        .flatten()
        .unwrap_or(0);
    if current > latest_version() {
        return Err(BackendError::Store {
            message: format!(
                "the database has schema version {current}, newer than this build supports ({}); \
                 upgrade the application",
                latest_version()
            ),
            retryable: false,
        });
    }
    let Some(sql) = usize::try_from(current).ok().and_then(|i| MIGRATIONS.get(i)) else {
        return Ok(false);
    };
    conn.execute_batch(sql).map_err(sql_error)?;
    conn.execute("INSERT INTO schema_version (version) VALUES (?1)", [current + 1])
        .map_err(sql_error)?;
    tracing::debug!(version = current + 1, "applied SQLite schema migration");
    Ok(true)
}
