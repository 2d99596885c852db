//! Durable timers end to end: they fire when due, never early, survive a restart of the app,
//! and a timer that loses a race does not hold the instance open.

use std::time::Duration;

use chrono::Utc;
use durable::OrchestrationRuntimeStatus::Completed;
use durable::prelude::*;
use durable_tests::{start_app, wait_for};
use serde_json::json;

#[orchestration_trigger(name = "Sleeper")]
async fn sleeper(
    context: DurableOrchestrationContext,
    millis: i64,
) -> Result<String, FunctionFailed> {
    let fire_at = context.current_utc_date_time() + chrono::Duration::milliseconds(millis);
    context.create_timer(fire_at).await?;
    Ok(fire_at.to_rfc3339())
}

#[orchestration_trigger(name = "ApproveOrTimeOut")]
async fn approve_or_time_out(
    context: DurableOrchestrationContext,
) -> Result<String, FunctionFailed> {
    let timeout =
        context.create_timer(context.current_utc_date_time() + chrono::Duration::hours(72));
    let approval = context.wait_for_external_event::<bool>("Approval");
    let approval = async move { approval.await.map(|_| ()) };
    let (winner, _) = when_any([
        Box::pin(timeout) as durable::function::BoxFuture<'static, _>,
        Box::pin(approval),
    ])
    .await;
    Ok(if winner == 0 { "timed out" } else { "approved" }.to_owned())
}

const TIMEOUT: Duration = Duration::from_secs(30);

fn fire_time(status: &durable::DurableOrchestrationStatus) -> chrono::DateTime<Utc> {
    let text = status.output.as_str().unwrap();
    chrono::DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timer_fires_when_due_and_not_before() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path()).await;
    let client = app.client();
    let id = client.start(Sleeper, None, 400).await.unwrap();
    let status = client.wait_for_completion(&id, TIMEOUT).await.unwrap();
    assert_eq!(status.runtime_status, Completed);
    assert!(status.last_updated_time >= fire_time(&status), "fired early");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timer_survives_a_restart_of_the_app() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path()).await;
    let id = app.client().start(Sleeper, None, 1500).await.unwrap();
    let status = app.client().get_status_with_history(&id).await.unwrap().unwrap();
    assert!(status.history.unwrap().iter().any(|e| e.kind.type_name() == "TimerCreated"));
    app.shutdown().await;

    let app = start_app(dir.path()).await;
    let client = app.client();
    let status = client.wait_for_completion(&id, TIMEOUT).await.unwrap();
    assert_eq!(status.runtime_status, Completed);
    assert!(status.last_updated_time >= fire_time(&status), "fired early");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timer_that_loses_a_race_does_not_hold_the_instance() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path()).await;
    let client = app.client();
    let id = client.start(ApproveOrTimeOut, None, json!(null)).await.unwrap();
    wait_for("the orchestrator to wait", TIMEOUT, || async {
        let status = client.get_status(&id).await.unwrap()?;
        (status.runtime_status == durable::OrchestrationRuntimeStatus::Running).then_some(())
    })
    .await;
    client.raise_event(&id, "Approval", true).await.unwrap();
    let status = client.wait_for_completion(&id, TIMEOUT).await.unwrap();
    assert_eq!((status.runtime_status, status.output), (Completed, json!("approved")));
    app.shutdown().await;
}

static FLAKY_CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

#[activity_trigger(name = "FailsTwice")]
async fn fails_twice() -> Result<u32, String> {
    let call = FLAKY_CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
    if call <= 2 { Err(format!("attempt {call} failed")) } else { Ok(call) }
}

#[orchestration_trigger(name = "RetriesFailsTwice")]
async fn retries_fails_twice(context: DurableOrchestrationContext) -> Result<u32, FunctionFailed> {
    let retry = RetryOptions::new(Duration::from_millis(100), 5).with_backoff_coefficient(2.0);
    context.call_activity_with_retry("FailsTwice", retry, ()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_activity_succeeds_and_its_waits_are_in_history() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path()).await;
    let client = app.client();
    let id = client.start(RetriesFailsTwice, None, json!(null)).await.unwrap();
    let status = client.wait_for_completion(&id, TIMEOUT).await.unwrap();
    assert_eq!((status.runtime_status, status.output), (Completed, json!(3)));
    let history = client.get_status_with_history(&id).await.unwrap().unwrap().history.unwrap();
    let count = |kind: &str| history.iter().filter(|e| e.kind.type_name() == kind).count();
    assert_eq!(
        (count("TaskFailed"), count("TimerCreated"), count("TimerFired"), count("TaskCompleted")),
        (2, 2, 2, 1)
    );
    app.shutdown().await;
}
