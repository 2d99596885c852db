//! The ported samples, run end to end in-process on a SQLite file with full durability.

use std::time::Duration;

use durable::OrchestrationRuntimeStatus::Completed;
use durable::backend::QueueKind;
use durable::{DurableError, DurableOrchestrationStatus};
use durable_tests::start_app;
use serde_json::json;

// Linking the samples registers their functions.
use durable_examples as _;

const TIMEOUT: Duration = Duration::from_secs(20);

fn event_types(status: &DurableOrchestrationStatus) -> Vec<&'static str> {
    status
        .history
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|e| e.kind.type_name())
        .filter(|t| *t != "OrchestratorStarted")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_sequence_returns_three_greetings_with_full_history() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path()).await;
    let client = app.client();

    let id = client.start_new("E1_HelloSequence", None, ()).await.unwrap();
    let status = client.wait_for_completion(&id, TIMEOUT).await.unwrap();
    assert_eq!(status.runtime_status, Completed);
    assert_eq!(status.output, json!(["Hello Tokyo!", "Hello Seattle!", "Hello London!"]));
    assert_eq!(status.name, "E1_HelloSequence");
    assert_eq!(status.instance_id, id);
    assert!(status.created_time <= status.last_updated_time);

    let status = client.get_status_with_history(&id).await.unwrap().unwrap();
    assert_eq!(event_types(&status), durable_tests::HELLO_SEQUENCE_HISTORY);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn startup_creates_one_queue_per_function() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path()).await;
    let queues = app.client().list_queues().await.unwrap();
    let find = |name: &str| queues.iter().find(|q| q.name == name);
    for (name, kind) in [
        ("E1_HelloSequence", QueueKind::Orchestrator),
        ("E1_SayHello", QueueKind::Activity),
        ("E1_SayHello_DirectInput", QueueKind::Activity),
        ("E2_BackupSiteContent", QueueKind::Orchestrator),
        ("E2_GetFileList", QueueKind::Activity),
        ("E2_CopyFileToBlob", QueueKind::Activity),
    ] {
        let queue = find(name).unwrap_or_else(|| panic!("no queue for {name}: {queues:?}"));
        assert_eq!((queue.kind, queue.depth), (kind, 0));
    }
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_starts_are_refused_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path()).await;
    let client = app.client();

    let err = client.start_new("E1_NoSuchOrchestrator", Some("x1"), ()).await.unwrap_err();
    assert!(
        matches!(&err, DurableError::UnknownOrchestrator { name } if name == "E1_NoSuchOrchestrator"),
        "{err}"
    );
    let err = client.start_new("E2_BackupSiteContent", Some("x2"), 42).await.unwrap_err();
    assert!(
        matches!(&err, DurableError::InvalidInput { function, .. } if function == "E2_BackupSiteContent"),
        "{err}"
    );
    assert!(err.to_string().contains("invalid type: integer `42`"), "{err}");
    for bad_id in ["", "../x", "a/b", "@entity@x"] {
        let err = client.start_new("E1_HelloSequence", Some(bad_id), ()).await.unwrap_err();
        assert!(matches!(err, DurableError::InvalidInstanceId { .. }), "{err}");
    }
    for id in ["x1", "x2", "../x", "a/b"] {
        assert!(client.get_status(id).await.unwrap().is_none(), "{id} exists");
    }
    assert!(client.list_queues().await.unwrap().iter().all(|q| q.depth == 0));
    app.shutdown().await;
}
