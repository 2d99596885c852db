//! The PostgreSQL harness: a fresh task hub (schema) on the machine's server per test,
//! dropped when the test ends. `DURABLE_TEST_POSTGRES` names another server.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::json;

use super::{
    Harness, Must, StoreConfig, create_and_fetch, dispatcher, new_instance, orchestrator_started,
    running, start_with_activities,
};
use crate::backend::{
    Backend, BackendError, PostgresBackend, PostgresOptions, QueueKind, QueueLimits, QueueSpec,
};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

pub(crate) struct PostgresHub {
    url: String,
    hub: String,
}

impl PostgresHub {
    pub(crate) fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let url = std::env::var("DURABLE_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_URL.to_owned());
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros());
        let hub = format!(
            "conformance_{}_{stamp:x}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        PostgresHub { url, hub }
    }
}

impl Harness for PostgresHub {
    type Store = PostgresBackend;

    async fn open(&self, config: StoreConfig) -> Self::Store {
        let options = PostgresOptions {
            hub_name: self.hub.clone(),
            lease: config.lease,
            activity_lease: config.activity_lease,
            clock: config.clock,
            ..PostgresOptions::default()
        };
        match PostgresBackend::connect(&self.url, options).await {
            Ok(store) => store,
            Err(error) => panic!(
                "the PostgreSQL conformance suite needs a server at {}: {error}\n\
                 Start the machine's server with \
                 `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, \
                 or point DURABLE_TEST_POSTGRES at another one.",
                self.url
            ),
        }
    }

    async fn close(&self, store: Self::Store) {
        store.close().await;
    }
}

impl Drop for PostgresHub {
    /// Drops the hub's schema (on a thread of its own: the test's runtime is ending).
    fn drop(&mut self) {
        let url = self.url.clone();
        let schema = format!("durable_{}", self.hub.to_ascii_lowercase());
        let schema_name = schema.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                    .await
                    .map_err(std::io::Error::other)?;
                tokio::spawn(connection);
                client
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                    .await
                    .map_err(std::io::Error::other)
            })
        });
        // Never panic here: the test may be unwinding already.
        if let Ok(Err(error)) = dropped.join() {
            eprintln!("could not drop the test hub's schema `{schema_name}`: {error}");
        }
    }
}

mod postgres_hub {
    crate::backend::conformance::conformance_suite!(super::PostgresHub::new());
    crate::backend::conformance::shared_store_suite!(super::PostgresHub::new());
}

/// Claims commit without waiting for the WAL flush, so a server crash may lose one, and the
/// fencing sequence may then hand its token out again to another process. The lock then
/// holds the first holder's token under another owner: the first holder's commit must still
/// be refused and change nothing.
#[tokio::test]
async fn a_token_handed_out_again_after_a_crash_fences_its_first_holder() {
    let harness = PostgresHub::new();
    let store = dispatcher(&harness, StoreConfig::default()).await;
    let held = create_and_fetch(&store, new_instance("i1", "e1", json!("in"))).await;
    let (client, connection) =
        tokio_postgres::connect(&harness.url, tokio_postgres::NoTls).await.must("connect");
    tokio::spawn(connection);
    let schema = format!("\"durable_{}\"", harness.hub.to_ascii_lowercase());
    let changed = client
        .execute(
            &format!(
                "UPDATE {schema}.instances SET lock_owner = 'elsewhere:1:00000000' \
                 WHERE instance_id = 'i1'"
            ),
            &[],
        )
        .await
        .must("hand the lock to another owner under the same token");
    assert_eq!(changed, 1);

    let error = store
        .complete_orchestration(&held.lock, running("e1", vec![orchestrator_started(1)]))
        .await
        .err()
        .must("a commit fenced by the owner");
    assert!(matches!(error, BackendError::LockLost { .. }), "{error:?}");
    assert!(store.get_history("i1", "e1").await.must("get_history").is_empty());
    let error = store.abandon_orchestration(&held.lock).await.err().must("a fenced abandon");
    assert!(matches!(error, BackendError::LockLost { .. }), "{error:?}");
    harness.close(store).await;
}

/// Processes that open a new hub at the same moment apply its migrations once, under the
/// advisory lock; a hub whose schema is newer than the build is refused with a clear error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_starting_at_once_migrate_a_hub_once_and_a_newer_schema_is_refused() {
    let harness = PostgresHub::new();
    let opened =
        futures::future::join_all((0..6).map(|_| harness.open(StoreConfig::default()))).await;
    let (client, connection) =
        tokio_postgres::connect(&harness.url, tokio_postgres::NoTls).await.must("connect");
    tokio::spawn(connection);
    let schema = format!("\"durable_{}\"", harness.hub.to_ascii_lowercase());
    let versions: Vec<i32> = client
        .query(&format!("SELECT version FROM {schema}.schema_version ORDER BY version"), &[])
        .await
        .must("read the schema versions")
        .iter()
        .map(|row| row.get(0))
        .collect();
    let expected: Vec<i32> = (1..=versions.len() as i32).collect();
    assert!(!versions.is_empty());
    assert_eq!(versions, expected, "each migration applied once, in order");
    for store in opened {
        harness.close(store).await;
    }

    client
        .execute(&format!("INSERT INTO {schema}.schema_version (version) VALUES (999)"), &[])
        .await
        .must("pretend a newer build migrated the hub");
    let options = PostgresOptions { hub_name: harness.hub.clone(), ..PostgresOptions::default() };
    let error = PostgresBackend::connect(&harness.url, options).await.err().must("a refusal");
    assert!(
        error.to_string().contains("schema version 999, newer than this build supports"),
        "{error}"
    );
}

/// A process takes its own activity work items before others' (affinity), except an item
/// another process scheduled that has waited past its window for longer than an activity
/// lease: that one comes first, so a dead owner's work never waits on busy survivors.
#[tokio::test]
async fn an_activity_left_waiting_by_its_owner_comes_before_a_process_own() {
    let harness = PostgresHub::new();
    let config = StoreConfig { activity_lease: Duration::from_secs(5), ..StoreConfig::default() };
    let gone = dispatcher(&harness, config.clone()).await;
    let busy = dispatcher(&harness, config).await;
    gone.create_queues(&[QueueSpec { name: "Hello".to_owned(), kind: QueueKind::Activity }])
        .await
        .must("create_queues");
    start_with_activities(&gone, "left", 1).await;
    start_with_activities(&busy, "own", 1).await;
    let own_first = busy
        .fetch_activities(1, &QueueLimits::none(), Duration::ZERO)
        .await
        .must("fetch_activities");
    assert_eq!(own_first[0].request.instance_id, "own", "its own item first");
    busy.abandon_activity(&own_first[0].lock).await.must("abandon_activity");

    let (client, connection) =
        tokio_postgres::connect(&harness.url, tokio_postgres::NoTls).await.must("connect");
    tokio::spawn(connection);
    let schema = format!("\"durable_{}\"", harness.hub.to_ascii_lowercase());
    client
        .execute(
            &format!(
                "UPDATE {schema}.activity_items SET shared_at = now() - interval '1 minute' \
                 WHERE instance_id = 'left'"
            ),
            &[],
        )
        .await
        .must("let the other's item wait a minute past its window");
    let stale_first = busy
        .fetch_activities(1, &QueueLimits::none(), Duration::ZERO)
        .await
        .must("fetch_activities");
    assert_eq!(stale_first[0].request.instance_id, "left", "the long-waiting item first");
    let then_own = busy
        .fetch_activities(1, &QueueLimits::none(), Duration::ZERO)
        .await
        .must("fetch_activities");
    assert_eq!(then_own[0].request.instance_id, "own");
    harness.close(gone).await;
    harness.close(busy).await;
}
