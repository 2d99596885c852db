//! SQLite-specific tests (the shared behaviour is in the conformance suite), and an ignored
//! latency/throughput check:
//! `cargo test -p durable --release --lib backend::sqlite::tests::perf -- --ignored --nocapture`.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use rusqlite::Connection;
use serde_json::json;

use super::{SqliteBackend, SqliteOptions};
use crate::backend::{
    ActivityRequest, Backend, BackendError, NewInstance, OrchestrationCommit,
    OrchestrationWorkItem, PurgeFilter,
};
use crate::history::{EventKind, HistoryEvent, OrchestrationMessage, OrchestrationRuntimeStatus};

fn must<T, E: std::fmt::Display>(result: Result<T, E>, what: &str) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("{what}: {error}"),
    }
}

fn some<T>(value: Option<T>, what: &str) -> T {
    match value {
        Some(value) => value,
        None => panic!("{what}: got nothing"),
    }
}

fn new_instance(instance_id: &str) -> NewInstance {
    NewInstance {
        instance_id: instance_id.to_owned(),
        name: "Orchestrator".to_owned(),
        execution_id: "e1".to_owned(),
        input: json!(null),
        created_at: Utc::now(),
        version: String::new(),
        parent: None,
        start_at: None,
        trace: None,
    }
}

fn commit(status: OrchestrationRuntimeStatus) -> OrchestrationCommit {
    OrchestrationCommit {
        execution_id: "e1".to_owned(),
        new_execution: None,
        new_events: vec![HistoryEvent::new(Utc::now(), EventKind::OrchestratorStarted {})],
        status,
        output: json!(null),
        custom_status: json!(null),
        failure: None,
        activities: Vec::new(),
        messages: Vec::new(),
        sub_orchestrations: Vec::new(),
        completed_activity: None,
        replace_history: false,
    }
}

fn raw(path: &std::path::Path) -> Connection {
    must(Connection::open(path), "open the file directly")
}

#[tokio::test]
async fn reopening_applies_each_migration_once() {
    let dir = must(tempfile::tempdir(), "tempdir");
    let path = dir.path().join("durable.db");
    for _ in 0..3 {
        let store = must(SqliteBackend::open(&path, SqliteOptions::default()), "open");
        store.close().await;
    }
    let versions: Vec<i64> = must(
        raw(&path)
            .prepare("SELECT version FROM schema_version ORDER BY version")
            .and_then(|mut stmt| stmt.query_map([], |row| row.get(0))?.collect()),
        "read schema_version",
    );
    assert_eq!(versions, (1..=super::schema::latest_version()).collect::<Vec<_>>());
    let mode: String =
        must(raw(&path).query_row("PRAGMA journal_mode", [], |row| row.get(0)), "journal_mode");
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let dir = must(tempfile::tempdir(), "tempdir");
    let path = dir.path().join("durable.db");
    must(SqliteBackend::open(&path, SqliteOptions::default()), "open").close().await;
    must(
        raw(&path).execute("INSERT INTO schema_version (version) VALUES (999)", []),
        "bump the version",
    );
    let error = SqliteBackend::open(&path, SqliteOptions::default()).err().map(|e| e.to_string());
    let error = some(error, "opening a newer schema fails");
    assert!(error.contains("999"), "{error}");
}

#[tokio::test]
async fn unreadable_rows_are_reported_as_corrupt() {
    let dir = must(tempfile::tempdir(), "tempdir");
    let path = dir.path().join("durable.db");
    let store = must(SqliteBackend::open(&path, SqliteOptions::default()), "open");
    must(store.create_instance(new_instance("i1")).await, "create_instance");
    let conn = raw(&path);
    must(
        conn.execute(
            "INSERT INTO history (hub, instance_id, execution_id, seq, count, events) \
             VALUES ('TestHubName', 'i1', 'e1', 0, 1, '{not json')",
            [],
        ),
        "insert a bad event",
    );
    must(
        conn.execute("UPDATE instances SET status = 'Sleeping' WHERE instance_id = 'i1'", []),
        "break the status",
    );
    let error = store.get_history("i1", "e1").await.err();
    assert!(matches!(error, Some(BackendError::Corrupt { .. })), "{error:?}");
    let error = store.get_instance("i1").await.err();
    assert!(matches!(error, Some(BackendError::Corrupt { .. })), "{error:?}");
    store.close().await;
}

#[tokio::test]
async fn unreadable_messages_are_skipped_when_loading() {
    let dir = must(tempfile::tempdir(), "tempdir");
    let path = dir.path().join("durable.db");
    let store = must(SqliteBackend::open(&path, SqliteOptions::default()), "open");
    must(store.create_instance(new_instance("i1")).await, "create_instance");
    must(
        raw(&path).execute(
            "INSERT INTO messages (hub, instance_id, queue, body, enqueued_at) \
             VALUES ('TestHubName', 'i1', 'Orchestrator', 'garbage', '2026-01-01T00:00:00Z')",
            [],
        ),
        "insert a bad message",
    );
    assert!(must(store.acquire_dispatch().await, "acquire_dispatch"));
    let item = some(
        must(store.fetch_orchestration(Duration::from_secs(5)).await, "fetch"),
        "the instance",
    );
    assert_eq!(item.messages.len(), 1);
    store.close().await;
}

#[tokio::test]
async fn hubs_sharing_a_file_are_isolated() {
    let dir = must(tempfile::tempdir(), "tempdir");
    let path = dir.path().join("durable.db");
    let options =
        |hub: &str| SqliteOptions { hub_name: hub.to_owned(), ..SqliteOptions::default() };
    let a = must(SqliteBackend::open(&path, options("HubA")), "open A");
    let b = must(SqliteBackend::open(&path, options("HubB")), "open B");
    assert!(must(a.acquire_dispatch().await, "A dispatches"));
    assert!(must(b.acquire_dispatch().await, "B dispatches its own hub"));
    must(a.create_instance(new_instance("same-id")).await, "create in A");
    must(b.create_instance(new_instance("same-id")).await, "create in B");
    must(a.create_instance(new_instance("only-a")).await, "create in A");
    assert!(must(b.get_instance("only-a").await, "get").is_none());
    let mut seen_by_b = Vec::new();
    while let Some(item) = must(b.fetch_orchestration(Duration::from_millis(200)).await, "fetch") {
        seen_by_b.push(item.instance.instance_id);
    }
    assert_eq!(seen_by_b, vec!["same-id".to_owned()]);
    a.close().await;
    b.close().await;
}

#[tokio::test]
async fn closed_store_refuses_work() {
    let store = must(SqliteBackend::in_memory(SqliteOptions::default()), "open");
    assert!(must(store.acquire_dispatch().await, "acquire_dispatch"));
    let store = Arc::new(store);
    let waiting = Arc::clone(&store);
    let fetch =
        tokio::spawn(async move { waiting.fetch_orchestration(Duration::from_secs(30)).await });
    tokio::task::yield_now().await;
    store.close().await;
    let fetched = must(
        tokio::time::timeout(Duration::from_secs(5), fetch).await,
        "a waiting fetch returns when the store closes",
    );
    assert!(matches!(fetched, Ok(Err(BackendError::Closed))), "{fetched:?}");
    let error = store.create_instance(new_instance("i1")).await.err();
    assert!(matches!(error, Some(BackendError::Closed)), "{error:?}");
    let error = store.get_instance("i1").await.err();
    assert!(matches!(error, Some(BackendError::Closed)), "{error:?}");
}

#[tokio::test]
async fn finished_instances_leave_the_index() {
    let store = must(SqliteBackend::in_memory(SqliteOptions::default()), "open");
    assert!(must(store.acquire_dispatch().await, "acquire_dispatch"));
    for n in 0..20 {
        must(store.create_instance(new_instance(&format!("i{n}"))).await, "create");
    }
    while let Some(item) = must(store.fetch_orchestration(Duration::from_millis(50)).await, "fetch")
    {
        let status = if item.instance.instance_id.ends_with('0') {
            OrchestrationRuntimeStatus::Running
        } else {
            OrchestrationRuntimeStatus::Completed
        };
        must(store.complete_orchestration(&item.lock, commit(status)).await, "complete");
    }
    for n in 0..3 {
        one_activity_orchestration(&store, &format!("a{n}")).await;
    }
    // Only the two still running (i0, i10) keep an entry; no lease is left behind.
    assert_eq!(store.shared.index().sizes(), (2, 0, 0));
    store.close().await;
}

#[tokio::test]
async fn the_index_keeps_a_bounded_number_of_idle_records() {
    let options = SqliteOptions { max_idle_records: 5, ..SqliteOptions::default() };
    let store = must(SqliteBackend::in_memory(options), "open");
    assert!(must(store.acquire_dispatch().await, "acquire_dispatch"));
    for n in 0..20 {
        must(store.create_instance(new_instance(&format!("i{n}"))).await, "create");
    }
    while let Some(item) = must(store.fetch_orchestration(Duration::from_millis(50)).await, "fetch")
    {
        let running = commit(OrchestrationRuntimeStatus::Running);
        must(store.complete_orchestration(&item.lock, running).await, "complete");
    }
    // Twenty instances wait with no work; only the last five idle keep their records.
    assert_eq!(store.shared.index().sizes(), (5, 0, 0));
    // A forgotten one is read again when it next has work.
    let event = OrchestrationMessage {
        visible_at: None,
        instance_id: "i0".to_owned(),
        execution_id: Some("e1".to_owned()),
        event: HistoryEvent::new(Utc::now(), EventKind::OrchestratorStarted {}),
    };
    must(store.send_message(event).await, "send_message");
    let item = some(must(store.fetch_orchestration(Duration::from_secs(5)).await, "fetch"), "item");
    assert_eq!(item.instance.instance_id, "i0");
    assert_eq!(item.instance.runtime_status, OrchestrationRuntimeStatus::Running);
    assert_eq!(item.history_len, 1, "the first turn recorded one event");
    store.close().await;
}

#[tokio::test]
async fn purged_instances_leave_the_index() {
    let store = must(SqliteBackend::in_memory(SqliteOptions::default()), "open");
    assert!(must(store.acquire_dispatch().await, "acquire_dispatch"));
    let wait = Duration::from_secs(5);
    must(store.create_instance(new_instance("i1")).await, "create");
    let item = some(must(store.fetch_orchestration(wait).await, "fetch"), "item");
    // Two activities and a timer an hour out; one activity leased; a message arriving during
    // the instance's last turn.
    let mut turn = commit(OrchestrationRuntimeStatus::Running);
    for task_scheduled_id in 0..2 {
        turn.activities.push(ActivityRequest {
            instance_id: "i1".to_owned(),
            execution_id: "e1".to_owned(),
            task_scheduled_id,
            name: "Hello".to_owned(),
            input: json!(null),
        });
    }
    let due = Utc::now() + chrono::Duration::hours(1);
    turn.messages.push(OrchestrationMessage {
        visible_at: Some(due),
        instance_id: "i1".to_owned(),
        execution_id: Some("e1".to_owned()),
        event: HistoryEvent::new(due, EventKind::TimerFired { timer_id: 0, fire_at: due }),
    });
    must(store.complete_orchestration(&item.lock, turn).await, "turn 1");
    let leased = some(must(store.fetch_activity(wait).await, "fetch_activity"), "work");
    let locked = some(must(store.try_lock_orchestration("i1").await, "lock"), "lock");
    let late = OrchestrationMessage {
        visible_at: None,
        instance_id: "i1".to_owned(),
        execution_id: Some("e1".to_owned()),
        event: HistoryEvent::new(Utc::now(), EventKind::OrchestratorStarted {}),
    };
    must(store.send_message(late).await, "send_message");
    must(
        store
            .complete_orchestration(&locked.lock, commit(OrchestrationRuntimeStatus::Terminated))
            .await,
        "turn 2",
    );
    assert_eq!(store.shared.index().sizes(), (1, 2, 1));

    let purged =
        must(store.purge_instances(&PurgeFilter::Instance("i1".to_owned())).await, "purge");
    assert_eq!(purged, 1);
    assert_eq!(store.shared.index().sizes(), (0, 0, 0));
    assert_eq!(store.shared.index().next_timer_due(), None);
    let error = store.abandon_activity(&leased.lock).await.err();
    assert!(matches!(error, Some(BackendError::LockLost { .. })), "{error:?}");
    store.close().await;
}

/// A rewind rewrites the failed execution's history (see docs/design-notes.md, "Rewind"):
/// the stored history is deleted and written anew in the commit. When anything in that commit
/// fails after the delete, none of it lands: the old history, status and queues stay as they
/// were, and the same rewind commits once the fault is gone.
#[tokio::test]
async fn a_history_rewrite_is_all_or_nothing() {
    let dir = must(tempfile::tempdir(), "tempdir");
    let path = dir.path().join("durable.db");
    let store = must(SqliteBackend::open(&path, SqliteOptions::default()), "open");
    assert!(must(store.acquire_dispatch().await, "acquire_dispatch"));
    let wait = Duration::from_secs(5);
    let event = |kind| HistoryEvent::new(Utc::now(), kind);
    let to_i1 = |kind| OrchestrationMessage {
        visible_at: None,
        instance_id: "i1".to_owned(),
        execution_id: Some("e1".to_owned()),
        event: event(kind),
    };
    must(store.create_instance(new_instance("i1")).await, "create");
    let item = some(must(store.fetch_orchestration(wait).await, "fetch"), "item");
    let mut scheduled = event(EventKind::TaskScheduled { name: "Hello".into(), input: json!(1) });
    scheduled.event_id = 0;
    let turn1 = OrchestrationCommit {
        new_events: vec![item.messages[0].event.clone(), scheduled.clone()],
        ..commit(OrchestrationRuntimeStatus::Running)
    };
    must(store.complete_orchestration(&item.lock, turn1).await, "turn 1");
    let failure = crate::history::FailureDetails::new("Boom", "it broke");
    let task_failed =
        EventKind::TaskFailed { task_scheduled_id: 0, failure_details: failure.clone() };
    must(store.send_message(to_i1(task_failed)).await, "deliver the failure");
    let item = some(must(store.fetch_orchestration(wait).await, "fetch"), "item");
    let completed = event(EventKind::ExecutionCompleted {
        orchestration_status: OrchestrationRuntimeStatus::Failed,
        result: json!(null),
        failure_details: Some(failure.clone()),
    });
    let turn2 = OrchestrationCommit {
        new_events: vec![item.messages[0].event.clone(), completed],
        failure: Some(failure),
        ..commit(OrchestrationRuntimeStatus::Failed)
    };
    must(store.complete_orchestration(&item.lock, turn2).await, "turn 2");
    let failed_history = must(store.get_history("i1", "e1").await, "history");
    assert_eq!(failed_history.len(), 4);

    must(
        store.send_message(to_i1(EventKind::ExecutionRewound { input: json!("retry") })).await,
        "rewind",
    );
    let item = some(must(store.fetch_orchestration(wait).await, "fetch"), "item");
    let mut rewritten = failed_history[..2].to_vec();
    rewritten.push(item.messages[0].event.clone());
    let rewrite = OrchestrationCommit {
        new_events: rewritten.clone(),
        replace_history: true,
        activities: vec![ActivityRequest {
            instance_id: "i1".to_owned(),
            execution_id: "e1".to_owned(),
            task_scheduled_id: 0,
            name: "Hello".to_owned(),
            input: json!(1),
        }],
        ..commit(OrchestrationRuntimeStatus::Running)
    };
    // A fault late in the commit: after the history was deleted and written anew and the
    // instance updated, when the re-run call is queued.
    let fault = "CREATE TRIGGER fault BEFORE INSERT ON activity_items \
                 BEGIN SELECT RAISE(ABORT, 'injected fault'); END;";
    must(raw(&path).execute_batch(fault), "install the fault");
    let error = store.complete_orchestration(&item.lock, rewrite.clone()).await.err();
    assert!(error.as_ref().is_some_and(|e| e.to_string().contains("injected fault")), "{error:?}");
    assert_eq!(must(store.get_history("i1", "e1").await, "history"), failed_history);
    let record = some(must(store.get_instance("i1").await, "get_instance"), "record");
    assert_eq!(record.runtime_status, OrchestrationRuntimeStatus::Failed);
    let queued = must(store.fetch_activity(Duration::from_millis(100)).await, "fetch_activity");
    assert!(queued.is_none(), "{queued:?}");

    must(raw(&path).execute_batch("DROP TRIGGER fault"), "remove the fault");
    must(store.abandon_orchestration(&item.lock).await, "abandon");
    let item = some(must(store.fetch_orchestration(wait).await, "fetch again"), "item");
    must(store.complete_orchestration(&item.lock, rewrite).await, "rewrite");
    assert_eq!(must(store.get_history("i1", "e1").await, "history"), rewritten);
    let queued = must(store.fetch_activity(wait).await, "fetch_activity");
    assert_eq!(some(queued, "the re-queued call").request.task_scheduled_id, 0);
    store.close().await;
}

// ---- performance --------------------------------------------------------------------------

/// Runs one `start → activity → completion` orchestration by hand, as the worker would.
async fn one_activity_orchestration(store: &SqliteBackend, instance_id: &str) {
    let wait = Duration::from_secs(5);
    must(store.create_instance(new_instance(instance_id)).await, "create");
    let item: OrchestrationWorkItem =
        some(must(store.fetch_orchestration(wait).await, "fetch"), "item");
    let mut turn = commit(OrchestrationRuntimeStatus::Running);
    turn.activities.push(ActivityRequest {
        instance_id: instance_id.to_owned(),
        execution_id: "e1".to_owned(),
        task_scheduled_id: 0,
        name: "Hello".to_owned(),
        input: json!("Tokyo"),
    });
    must(store.complete_orchestration(&item.lock, turn).await, "turn 1");
    let work = some(must(store.fetch_activity(wait).await, "fetch_activity"), "work");
    let result = OrchestrationMessage {
        visible_at: None,
        instance_id: instance_id.to_owned(),
        execution_id: Some("e1".to_owned()),
        event: HistoryEvent::new(
            Utc::now(),
            EventKind::TaskCompleted { task_scheduled_id: 0, result: json!("Hello Tokyo!") },
        ),
    };
    must(store.complete_activity(&work.lock, result).await, "complete_activity");
    let item = some(must(store.fetch_orchestration(wait).await, "fetch"), "item");
    let done = commit(OrchestrationRuntimeStatus::Completed);
    must(store.complete_orchestration(&item.lock, done).await, "turn 2");
}

#[tokio::test]
async fn upgrading_fills_in_instance_versions_from_their_events() {
    let dir = must(tempfile::tempdir(), "tempdir");
    let path = dir.path().join("durable.db");
    let conn = raw(&path);
    // A store at schema version 2, as an earlier build left it: `i1` has run a turn (its
    // version is only in its history), `i2` waits for its first turn (only in its message).
    let started = |execution_id: &str, version: &str| {
        json!({ "EventId": -1, "Timestamp": "2026-01-01T00:00:00Z", "EventType": "ExecutionStarted",
                "Name": "Orchestrator", "ExecutionId": execution_id, "Input": null,
                "Version": version })
    };
    let setup = format!(
        "CREATE TABLE schema_version (version INTEGER NOT NULL); {} {} \
         INSERT INTO schema_version (version) VALUES (1), (2);",
        super::schema::MIGRATIONS[0],
        super::schema::MIGRATIONS[1]
    );
    must(conn.execute_batch(&setup), "create a version 2 store");
    for (instance_id, status) in [("i1", "Running"), ("i2", "Pending")] {
        must(
            conn.execute(
                "INSERT INTO instances VALUES ('TestHubName', ?1, 'Orchestrator', 'e1', ?2, \
                 'null', 'null', 'null', NULL, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
                [instance_id, status],
            ),
            "insert an instance",
        );
    }
    let history = json!([{ "EventId": -1, "Timestamp": "2026-01-01T00:00:00Z",
                           "EventType": "OrchestratorStarted" }, started("e1", "1.5")]);
    must(
        conn.execute(
            "INSERT INTO history VALUES ('TestHubName', 'i1', 'e1', 0, 2, ?1)",
            [history.to_string()],
        ),
        "insert a history",
    );
    let message = json!({ "InstanceId": "i2", "ExecutionId": "e1", "Event": started("e1", "2.0") });
    must(
        conn.execute(
            "INSERT INTO messages (hub, instance_id, queue, body, enqueued_at) \
             VALUES ('TestHubName', 'i2', 'Orchestrator', ?1, '2026-01-01T00:00:00Z')",
            [message.to_string()],
        ),
        "insert a start message",
    );
    drop(conn);

    let store = must(SqliteBackend::open(&path, SqliteOptions::default()), "open and upgrade");
    for (instance_id, version) in [("i1", "1.5"), ("i2", "2.0")] {
        let record = some(must(store.get_instance(instance_id).await, "get_instance"), "record");
        assert_eq!(record.version, version, "{instance_id}");
    }
    store.close().await;
}
