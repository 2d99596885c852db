//! Connecting, and the versioned schema of a task hub, applied under an advisory lock.

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

use super::rows::{pg_error, pool_cause};
use crate::backend::{BackendError, Result};

/// The migrations, in order; migration `n` (1-based) brings a hub's schema to version `n`.
/// `{schema}` is replaced by the hub's quoted schema name.
///
/// Never edit a released migration: append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: the initial schema. Timestamps of durable semantics (created, updated, due) are
    // nanoseconds since the epoch on the app's clock; lease expiries are `timestamptz` on the
    // database's clock, the only clock that judges them.
    r#"
    CREATE SEQUENCE {schema}.fencing;
    CREATE TABLE {schema}.queues (
        kind text NOT NULL,
        name text NOT NULL,
        PRIMARY KEY (kind, name)
    );
    CREATE TABLE {schema}.instances (
        -- Byte order, as listings page by it (and as SQLite compares).
        instance_id   text COLLATE "C" PRIMARY KEY,
        name          text NOT NULL,
        execution_id  text NOT NULL,
        status        text NOT NULL,
        input         text NOT NULL,
        output        text NOT NULL,
        custom_status text NOT NULL,
        failure       text,
        version       text NOT NULL,
        created_at    bigint NOT NULL,
        updated_at    bigint NOT NULL,
        -- Events in the current execution's history.
        history_len   bigint NOT NULL DEFAULT 0,
        -- The fencing token of the last acquisition: every claim takes a new one, and
        -- every commit names the one it holds.
        lock_token    bigint NOT NULL DEFAULT 0,
        lock_owner    text,
        lock_until    timestamptz
    );
    CREATE INDEX instances_by_created ON {schema}.instances (created_at, instance_id);
    CREATE TABLE {schema}.history (
        instance_id  text NOT NULL,
        execution_id text NOT NULL,
        seq          bigint NOT NULL,
        event        text NOT NULL,
        PRIMARY KEY (instance_id, execution_id, seq)
    );
    CREATE TABLE {schema}.messages (
        id               bigserial PRIMARY KEY,
        instance_id      text NOT NULL,
        queue            text NOT NULL,
        body             text NOT NULL,
        -- When the message may be delivered: its enqueue time, or a timer's due time.
        visible_at       bigint NOT NULL,
        enqueued_at      bigint NOT NULL,
        creates_instance boolean NOT NULL DEFAULT false
    );
    CREATE INDEX messages_by_visibility ON {schema}.messages (visible_at, id);
    CREATE INDEX messages_by_instance ON {schema}.messages (instance_id, id);
    CREATE TABLE {schema}.activity_items (
        id                bigserial PRIMARY KEY,
        queue             text NOT NULL,
        instance_id       text NOT NULL,
        execution_id      text NOT NULL,
        task_scheduled_id bigint NOT NULL,
        body              text NOT NULL,
        enqueued_at       bigint NOT NULL,
        lock_token        bigint NOT NULL DEFAULT 0,
        lock_until        timestamptz,
        -- The process whose turn scheduled it takes it first; any process may once
        -- `shared_at` has passed (or once that process releases it).
        owner             text NOT NULL DEFAULT '',
        shared_at         timestamptz NOT NULL DEFAULT clock_timestamp()
    );
    CREATE INDEX activity_items_by_instance ON {schema}.activity_items (instance_id);
    CREATE INDEX activity_items_by_owner ON {schema}.activity_items (owner, id);
    CREATE INDEX activity_items_by_shared_at ON {schema}.activity_items (shared_at);
    "#,
    // 2: how many times each activity work item was claimed, bumped by the claim itself, so
    // poison handling counts a run that crashed its process and never depends on a lease.
    r#"
    ALTER TABLE {schema}.activity_items ADD COLUMN attempts integer NOT NULL DEFAULT 0;
    "#,
    // 3: how many times each instance was claimed for a turn since its last commit, bumped
    // by the claim and reset by the commit, for the same reason.
    r#"
    ALTER TABLE {schema}.instances ADD COLUMN attempts integer NOT NULL DEFAULT 0;
    "#,
];

/// The key of the advisory lock that serializes migrations: one for every hub of a
/// database, so that two processes starting at once never both apply one.
const MIGRATION_LOCK: i64 = 0x6475_7261_626c_6501;

/// The schema that holds a hub: `durable_<hub in lower case>`, quoted (hub names may hold
/// `-`). Azure treats hub names case-insensitively, and so does this.
pub(super) fn schema_name(hub: &str) -> String {
    format!("\"durable_{}\"", hub.to_ascii_lowercase())
}

/// `user@host:port/dbname` of a connection configuration: what errors name, never the
/// password.
pub(super) fn target(config: &tokio_postgres::Config) -> String {
    let user = config.get_user().unwrap_or("(default user)");
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let dbname = config.get_dbname().unwrap_or(user);
    format!("{user}@{host}:{port}/{dbname}")
}

/// Parses a connection string (a `postgres://` URL or `key=value` pairs).
pub(super) fn parse_url(url: &str) -> Result<tokio_postgres::Config> {
    url.parse::<tokio_postgres::Config>().map_err(|e| BackendError::Store {
        // The parser's message never repeats the string, which may hold a password.
        message: format!("invalid PostgreSQL connection string: {e}"),
        retryable: false,
    })
}

/// A pool of connections to the server; nothing is connected yet.
pub(super) fn pool(config: tokio_postgres::Config, size: usize) -> Result<Pool> {
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig { recycling_method: RecyclingMethod::Fast },
    );
    Pool::builder(manager).max_size(size).build().map_err(|e| BackendError::Store {
        message: format!("cannot create the PostgreSQL connection pool: {e}"),
        retryable: false,
    })
}

/// Creates the hub's schema and applies the migrations it lacks, under the advisory lock.
/// `target` names the server in errors.
pub(super) async fn migrate(pool: &Pool, hub: &str, target: &str) -> Result<()> {
    let mut client = pool.get().await.map_err(|e| BackendError::Store {
        message: format!("cannot connect to PostgreSQL at {target}: {}", pool_cause(&e)),
        retryable: false,
    })?;
    let schema = schema_name(hub);
    let tx = client.transaction().await.map_err(pg_error)?;
    // Released at commit; a second process waits here and then finds the schema current.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(pg_error)?;
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {schema}; \
         CREATE TABLE IF NOT EXISTS {schema}.schema_version (version integer NOT NULL)"
    ))
    .await
    .map_err(pg_error)?;
    let current: Option<i32> = tx
        .query_one(&format!("SELECT MAX(version) FROM {schema}.schema_version"), &[])
        .await
        .map_err(pg_error)?
        .get(0);
    let current = usize::try_from(current.unwrap_or(0)).unwrap_or(0);
    if current > MIGRATIONS.len() {
        return Err(BackendError::Store {
            message: format!(
                "task hub `{hub}` has schema version {current}, newer than this build supports \
                 ({}); upgrade the application",
                MIGRATIONS.len()
            ),
            retryable: false,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        tx.batch_execute(&sql.replace("{schema}", &schema)).await.map_err(pg_error)?;
        let version = i32::try_from(index + 1).unwrap_or(i32::MAX);
        tx.execute(
            &format!("INSERT INTO {schema}.schema_version (version) VALUES ($1)"),
            &[&version],
        )
        .await
        .map_err(pg_error)?;
        tracing::debug!(hub, version, "applied PostgreSQL schema migration");
    }
    tx.commit().await.map_err(pg_error)
}
