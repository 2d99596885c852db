//! The client API against instances whose progress the test controls: an activity that waits
//! at a gate keeps its orchestration running until the test opens the gate.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use durable::OrchestrationRuntimeStatus::{Completed, Running, Terminated};
use durable::prelude::*;
use durable_tests::{start_app, wait_for};
use serde_json::json;
use tokio::sync::Semaphore;

static GATE: Semaphore = Semaphore::const_new(0);
static ENTERED: AtomicUsize = AtomicUsize::new(0);

#[activity_trigger(name = "Gate")]
async fn gate(label: String) -> String {
    ENTERED.fetch_add(1, Ordering::SeqCst);
    if let Ok(permit) = GATE.acquire().await {
        permit.forget();
    }
    format!("passed {label}")
}

#[orchestration_trigger(name = "Gated")]
async fn gated(
    context: DurableOrchestrationContext,
    label: String,
) -> Result<String, FunctionFailed> {
    context.set_custom_status("waiting at the gate");
    let passed = context.call(Gate, label).await?;
    context.set_custom_status("through");
    Ok(passed)
}

const TIMEOUT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_status_terminate_and_restart_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path()).await;
    let client = app.client();

    let id = client.start(Gated, Some("job-1"), "one").await.unwrap();
    assert_eq!(id, "job-1");
    wait_for("the activity to start", TIMEOUT, || async {
        (ENTERED.load(Ordering::SeqCst) == 1).then_some(())
    })
    .await;

    let status = client.get_status("job-1").await.unwrap().unwrap();
    assert_eq!(status.runtime_status, Running);
    assert_eq!(status.input, json!("one"));
    assert_eq!(status.custom_status, json!("waiting at the gate"));
    assert_eq!(status.output, json!(null));
    assert!(status.history.is_none());

    let err = client.start(Gated, Some("job-1"), "again").await.unwrap_err();
    assert!(
        matches!(&err, DurableError::InstanceAlreadyExists { instance_id, status } if instance_id == "job-1" && *status == Running),
        "{err}"
    );
    assert_eq!(
        client.get_status("job-1").await.unwrap().unwrap().input,
        json!("one"),
        "a refused start changes nothing"
    );

    let err = client.wait_for_completion("job-1", Duration::from_millis(100)).await.unwrap_err();
    assert!(matches!(err, DurableError::Timeout { .. }), "{err}");

    client.terminate("job-1", "operator said stop").await.unwrap();
    let status = client.wait_for_completion("job-1", TIMEOUT).await.unwrap();
    assert_eq!(status.runtime_status, Terminated);
    assert_eq!(status.output, json!("operator said stop"));
    let err = client.terminate("job-1", "again").await.unwrap_err();
    assert!(matches!(err, DurableError::InstanceFinished { .. }), "{err}");

    // The activity's late result is discarded: the instance stays terminated.
    GATE.add_permits(1);
    let status = client.get_status_with_history("job-1").await.unwrap().unwrap();
    assert_eq!(status.runtime_status, Terminated);

    // A finished id can be started again; it runs a new execution.
    GATE.add_permits(1);
    client.start(Gated, Some("job-1"), "two").await.unwrap();
    let status = client.wait_for_completion("job-1", TIMEOUT).await.unwrap();
    assert_eq!(status.runtime_status, Completed);
    assert_eq!(status.output, json!("passed two"));
    assert_eq!(status.custom_status, json!("through"));
    app.shutdown().await;
}

#[orchestration_trigger(name = "AwaitApproval")]
async fn await_approval(context: DurableOrchestrationContext) -> Result<String, FunctionFailed> {
    let approved: bool = context.wait_for_external_event("Approval").await?;
    Ok(if approved { "approved" } else { "rejected" }.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raise_event_reaches_a_waiting_orchestrator() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path()).await;
    let client = app.client();

    let id = client.start(AwaitApproval, None, json!(null)).await.unwrap();
    client.raise_event(&id, "Approval", true).await.unwrap();
    let status = client.wait_for_completion(&id, TIMEOUT).await.unwrap();
    assert_eq!((status.runtime_status, status.output), (Completed, json!("approved")));
    let history = client.get_status_with_history(&id).await.unwrap().unwrap();
    let raised: Vec<_> = history
        .history
        .unwrap()
        .into_iter()
        .filter(|e| e.kind.type_name() == "EventRaised")
        .collect();
    assert_eq!(raised.len(), 1);

    let err = client.raise_event(&id, "Approval", true).await.unwrap_err();
    assert!(matches!(err, DurableError::InstanceFinished { .. }), "{err}");
    let err = client.raise_event("nobody", "Approval", true).await.unwrap_err();
    assert!(matches!(err, DurableError::InstanceNotFound { .. }), "{err}");
    let err = client.raise_event(&id, "", true).await.unwrap_err();
    assert!(matches!(err, DurableError::InvalidEventName), "{err}");
    app.shutdown().await;
}
