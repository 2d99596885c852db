//! An activity whose lease expires (its worker hung) is handed out again and its orchestration
//! completes with the second run's result.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use durable::OrchestrationRuntimeStatus::Completed;
use durable::prelude::*;
use durable_tests::start_app_with;
use serde_json::json;

static ATTEMPTS: AtomicUsize = AtomicUsize::new(0);

#[activity_trigger(name = "HangsOnce")]
async fn hangs_once() -> usize {
    let attempt = ATTEMPTS.fetch_add(1, Ordering::SeqCst) + 1;
    if attempt == 1 {
        std::future::pending::<()>().await;
    }
    attempt
}

#[orchestration_trigger(name = "CallsHangsOnce")]
async fn calls_hangs_once(context: DurableOrchestrationContext) -> Result<usize, FunctionFailed> {
    context.call(HangsOnce, ()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_lease_runs_the_activity_again() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app_with(dir.path(), |config| {
        config.activity_lease = Duration::from_secs(1);
    })
    .await;
    let client = app.client();
    let id = client.start(CallsHangsOnce, None, ()).await.unwrap();
    let status = client.wait_for_completion(&id, Duration::from_secs(20)).await.unwrap();
    assert_eq!((status.runtime_status, status.output), (Completed, json!(2)));
    assert_eq!(ATTEMPTS.load(Ordering::SeqCst), 2);
}
