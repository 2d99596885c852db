//! An activity that runs longer than its lease keeps it: the worker renews the lease while the
//! activity runs, so the item is not handed out again and runs exactly once. (A lease whose
//! worker stops renewing it, a hung or killed process, expires and the item runs again: the
//! store conformance suite and the PostgreSQL failover tests show that.)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use durable::OrchestrationRuntimeStatus::Completed;
use durable::prelude::*;
use durable_tests::start_app_with;
use serde_json::json;

static ATTEMPTS: AtomicUsize = AtomicUsize::new(0);

/// The lease of the test; the activity runs for three of them.
const LEASE: Duration = Duration::from_secs(1);

#[activity_trigger(name = "OutlastsItsLease")]
async fn outlasts_its_lease() -> usize {
    let attempt = ATTEMPTS.fetch_add(1, Ordering::SeqCst) + 1;
    tokio::time::sleep(LEASE * 3).await;
    attempt
}

#[orchestration_trigger(name = "CallsOutlastsItsLease")]
async fn calls_outlasts_its_lease(
    context: DurableOrchestrationContext,
) -> Result<usize, FunctionFailed> {
    context.call(OutlastsItsLease, ()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_activity_keeps_its_lease() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app_with(dir.path(), |config| {
        config.activity_lease = LEASE;
    })
    .await;
    let client = app.client();
    let id = client.start(CallsOutlastsItsLease, None, ()).await.unwrap();
    let status = client.wait_for_completion(&id, Duration::from_secs(20)).await.unwrap();
    assert_eq!((status.runtime_status, status.output), (Completed, json!(1)));
    assert_eq!(ATTEMPTS.load(Ordering::SeqCst), 1, "the activity ran again while it still ran");
}
