//! An orchestrator whose code changed under a running instance fails it with an error naming
//! the recorded and the new action, and leaves the recorded history untouched.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use durable::OrchestrationRuntimeStatus::Failed;
use durable::prelude::*;
use durable_tests::{start_app, wait_for};
use tokio::sync::Semaphore;

static NEW_CODE: AtomicBool = AtomicBool::new(false);
static ENTERED: AtomicBool = AtomicBool::new(false);
static GATE: Semaphore = Semaphore::const_new(0);

#[activity_trigger(name = "OldStep")]
async fn old_step() -> String {
    ENTERED.store(true, Ordering::SeqCst);
    if let Ok(permit) = GATE.acquire().await {
        permit.forget();
    }
    "old".to_owned()
}

#[activity_trigger(name = "NewStep")]
async fn new_step() -> String {
    "new".to_owned()
}

#[orchestration_trigger(name = "Fickle")]
async fn fickle(context: DurableOrchestrationContext) -> Result<String, FunctionFailed> {
    if NEW_CODE.load(Ordering::SeqCst) {
        context.call(NewStep, ()).await
    } else {
        context.call(OldStep, ()).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_code_fails_the_instance_without_rewriting_history() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path()).await;
    let client = app.client();
    let id = client.start_new("Fickle", None, ()).await.unwrap();
    wait_for("the first step to run", Duration::from_secs(20), || async {
        ENTERED.load(Ordering::SeqCst).then_some(())
    })
    .await;
    let recorded = client.get_status_with_history(&id).await.unwrap().unwrap().history.unwrap();

    // "Deploy" new code: the next turn must replay from history.
    NEW_CODE.store(true, Ordering::SeqCst);
    app.clear_instance_cache();
    GATE.add_permits(1);

    let status = client.wait_for_completion(&id, Duration::from_secs(20)).await.unwrap();
    assert_eq!(status.runtime_status, Failed);
    let failure = status.failure_details.clone().unwrap();
    assert_eq!(failure.error_type, "NonDeterminism");
    assert!(
        failure.error_message.contains(r#"call_activity("OldStep") as action #0"#)
            && failure.error_message.contains(r#"call_activity("NewStep") as action #0"#),
        "{}",
        failure.error_message
    );

    let history = client.get_status_with_history(&id).await.unwrap().unwrap().history.unwrap();
    assert_eq!(&history[..recorded.len()], &recorded[..], "recorded events changed");
    let appended: Vec<_> = history[recorded.len()..].iter().map(|e| e.kind.type_name()).collect();
    assert_eq!(appended, ["OrchestratorStarted", "ExecutionCompleted"]);
    app.shutdown().await;
}
