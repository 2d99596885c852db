//! Sub-orchestrations end to end: outputs, failures with the child's details, the parent /
//! child link in history, a taken instance id, and retries.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use durable::OrchestrationRuntimeStatus::{Completed, Failed};
use durable::history::EventKind;
use durable::prelude::*;
use durable_tests::start_app;
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(30);

#[activity_trigger(name = "Sub_Double")]
fn double(n: i64) -> i64 {
    n * 2
}

#[derive(Debug, thiserror::Error)]
#[error("the disk is on fire")]
struct DiskError {
    #[source]
    source: std::io::Error,
}

#[activity_trigger(name = "Sub_Explode")]
fn explode(path: String) -> Result<(), DiskError> {
    Err(DiskError { source: std::io::Error::other(format!("cannot write {path}")) })
}

/// Fails the first `fails` calls for a key, then succeeds.
#[activity_trigger(name = "Sub_Flaky")]
fn flaky(input: (String, u32)) -> Result<u32, String> {
    static CALLS: Mutex<BTreeMap<String, u32>> = Mutex::new(BTreeMap::new());
    let (key, fails) = input;
    let mut calls = CALLS.lock().unwrap();
    let n = calls.entry(key).or_default();
    *n += 1;
    if *n <= fails { Err(format!("attempt {n} failed")) } else { Ok(*n) }
}

#[orchestration_trigger(name = "Sub_Child")]
async fn child(context: DurableOrchestrationContext, n: i64) -> Result<Value, FunctionFailed> {
    let doubled: i64 = context.call_activity("Sub_Double", n).await?;
    Ok(json!({ "doubled": doubled, "parent": context.parent_instance_id() }))
}

#[orchestration_trigger(name = "Sub_FailingChild")]
async fn failing_child(context: DurableOrchestrationContext) -> Result<(), FunctionFailed> {
    context.call_activity::<()>("Sub_Explode", "/x").await
}

/// Catches the activity's failure and reports what it saw.
#[orchestration_trigger(name = "Sub_CatchingChild")]
async fn catching_child(context: DurableOrchestrationContext) -> Result<Value, FunctionFailed> {
    match context.call_activity::<()>("Sub_Explode", "/x").await {
        Ok(()) => Ok(json!("no failure")),
        Err(failed) => Ok(serde_json::to_value(&failed.details).unwrap()),
    }
}

#[orchestration_trigger(name = "Sub_FlakyChild")]
async fn flaky_child(
    context: DurableOrchestrationContext,
    input: (String, u32),
) -> Result<u32, FunctionFailed> {
    context.call_activity("Sub_Flaky", input).await
}

#[orchestration_trigger(name = "Sub_Waiter")]
async fn waiter(context: DurableOrchestrationContext) -> Result<(), FunctionFailed> {
    context.wait_for_external_event::<()>("Go").await
}

#[orchestration_trigger(name = "Sub_Parent")]
async fn parent(context: DurableOrchestrationContext) -> Result<Vec<Value>, FunctionFailed> {
    let tasks: Vec<_> =
        (1..=3).map(|n| context.call_sub_orchestrator::<Value>("Sub_Child", None, n)).collect();
    when_all(tasks).await
}

/// Catches the child's failure and reports what it saw.
#[orchestration_trigger(name = "Sub_CatchingParent")]
async fn catching_parent(context: DurableOrchestrationContext) -> Result<Value, FunctionFailed> {
    match context.call_sub_orchestrator::<()>("Sub_FailingChild", Some("failing-child"), ()).await {
        Ok(()) => Ok(json!("no failure")),
        Err(failed) => Ok(serde_json::to_value(&failed.details).unwrap()),
    }
}

#[orchestration_trigger(name = "Sub_UncaughtParent")]
async fn uncaught_parent(context: DurableOrchestrationContext) -> Result<(), FunctionFailed> {
    context.call_sub_orchestrator::<()>("Sub_FailingChild", None, ()).await
}

#[orchestration_trigger(name = "Sub_ParentOfTakenId")]
async fn parent_of_taken_id(
    context: DurableOrchestrationContext,
) -> Result<String, FunctionFailed> {
    match context.call_sub_orchestrator::<()>("Sub_Waiter", Some("taken"), ()).await {
        Ok(()) => Ok("started".to_owned()),
        Err(failed) => Ok(failed.details.error_type.to_string()),
    }
}

/// Tries to start a child under its own instance id.
#[orchestration_trigger(name = "Sub_SelfNamed")]
async fn self_named(context: DurableOrchestrationContext) -> Result<String, FunctionFailed> {
    let own = context.instance_id();
    match context.call_sub_orchestrator::<Value>("Sub_Child", Some(&own), 1).await {
        Ok(_) => Ok("started".to_owned()),
        Err(failed) => Ok(failed.details.error_message),
    }
}

#[orchestration_trigger(name = "Sub_RetryingParent")]
async fn retrying_parent(
    context: DurableOrchestrationContext,
    input: (String, u32),
) -> Result<u32, FunctionFailed> {
    let retry = RetryOptions::new(Duration::from_millis(50), 3);
    context
        .call_sub_orchestrator_with_retry("Sub_FlakyChild", retry, Some("flaky-child"), input)
        .await
}

/// Retrying calls own their arguments, so they can be built from temporaries and collected.
#[orchestration_trigger(name = "Sub_FanOutWithRetry")]
async fn fan_out_with_retry(
    context: DurableOrchestrationContext,
) -> Result<Vec<u32>, FunctionFailed> {
    let retry = RetryOptions::new(Duration::from_millis(10), 2);
    let calls: Vec<DurableFuture<u32>> = (0..3)
        .map(|n| {
            let child_id = format!("fan-out-child-{n}");
            let input = (format!("fan-out-{n}"), 0_u32);
            context.call_sub_orchestrator_with_retry(
                "Sub_FlakyChild",
                retry.clone(),
                Some(&child_id),
                &input,
            )
        })
        .collect();
    when_all(calls).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retrying_calls_can_be_collected() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path()).await;
    let client = app.client();
    let id = client.start_new("Sub_FanOutWithRetry", None, ()).await.unwrap();
    let status = client.wait_for_completion(&id, TIMEOUT).await.unwrap();
    assert_eq!(status.output, json!([1, 1, 1]));
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_return_their_outputs_and_name_their_parent() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path()).await;
    let client = app.client();
    let id = client.start_new("Sub_Parent", None, ()).await.unwrap();
    let status = client.wait_for_completion(&id, TIMEOUT).await.unwrap();
    assert_eq!(status.runtime_status, Completed, "{:?}", status.output);
    let outputs: Vec<Value> = status.output_as().unwrap();
    assert_eq!(
        outputs,
        (1..=3).map(|n| json!({ "doubled": n * 2, "parent": id })).collect::<Vec<_>>()
    );

    // The parent's history names each child; each child's history names the parent.
    let history = client.get_status_with_history(&id).await.unwrap().unwrap().history.unwrap();
    let children: Vec<String> = history
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::SubOrchestrationInstanceCreated { name, instance_id, .. } => {
                assert_eq!(name, "Sub_Child");
                Some(instance_id.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(children.len(), 3);
    let completions = history
        .iter()
        .filter(|e| e.kind.type_name() == "SubOrchestrationInstanceCompleted")
        .count();
    assert_eq!(completions, 3);
    for child in children {
        let child_status = client.get_status_with_history(&child).await.unwrap().unwrap();
        assert_eq!(child_status.runtime_status, Completed);
        match &child_status.history.unwrap()[1].kind {
            EventKind::ExecutionStarted { parent_instance: Some(parent), .. } => {
                assert_eq!(parent.instance_id, id);
                assert_eq!(parent.name, "Sub_Parent");
            }
            other => panic!("expected ExecutionStarted naming the parent, got {other:?}"),
        }
    }
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_failure_reaches_the_parent_with_its_details() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path()).await;
    let client = app.client();

    // An activity's error reaches its orchestrator with its type, message and causes.
    let id = client.start_new("Sub_CatchingChild", None, ()).await.unwrap();
    let status = client.wait_for_completion(&id, TIMEOUT).await.unwrap();
    let details: FailureDetails = status.output_as().unwrap();
    assert!(details.error_type.as_str().ends_with("DiskError"), "{details:?}");
    assert_eq!(details.error_message, "the disk is on fire");
    assert_eq!(details.causes, ["cannot write /x"]);

    // A child that fails by passing that failure on: the parent gets the child's details.
    let id = client.start_new("Sub_CatchingParent", None, ()).await.unwrap();
    let status = client.wait_for_completion(&id, TIMEOUT).await.unwrap();
    assert_eq!(status.runtime_status, Completed);
    let details: FailureDetails = status.output_as().unwrap();
    let child = client.get_status("failing-child").await.unwrap().unwrap();
    assert_eq!(child.runtime_status, Failed);
    assert_eq!(Some(&details), child.failure_details.as_ref());
    for part in ["Sub_Explode", "DiskError", "the disk is on fire", "cannot write /x"] {
        assert!(details.error_message.contains(part), "{details:?}");
    }

    // Uncaught, the child's failure fails the parent with those details in turn.
    let id = client.start_new("Sub_UncaughtParent", None, ()).await.unwrap();
    let status = client.wait_for_completion(&id, TIMEOUT).await.unwrap();
    assert_eq!(status.runtime_status, Failed);
    let failure = status.failure_details.unwrap();
    for part in ["Sub_FailingChild", "the disk is on fire", "cannot write /x"] {
        assert!(failure.error_message.contains(part), "{failure:?}");
    }
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_id_held_by_a_running_instance_fails_the_call() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path()).await;
    let client = app.client();
    client.start_new("Sub_Waiter", Some("taken"), ()).await.unwrap();
    let id = client.start_new("Sub_ParentOfTakenId", None, ()).await.unwrap();
    let status = client.wait_for_completion(&id, TIMEOUT).await.unwrap();
    assert_eq!(status.output, json!("InstanceExists"));
    // The running instance is untouched.
    let taken = client.get_status_with_history("taken").await.unwrap().unwrap();
    assert_eq!(taken.runtime_status, durable::OrchestrationRuntimeStatus::Running);
    assert!(matches!(
        &taken.history.unwrap()[1].kind,
        EventKind::ExecutionStarted { parent_instance: None, .. }
    ));
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_may_not_take_its_callers_id() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path()).await;
    let client = app.client();
    let id = client.start_new("Sub_SelfNamed", Some("self-named"), ()).await.unwrap();
    let status = client.wait_for_completion(&id, TIMEOUT).await.unwrap();
    assert_eq!(status.runtime_status, Completed);
    assert!(
        status.output.as_str().unwrap().contains("`self-named` is the caller's own instance id"),
        "{:?}",
        status.output
    );
    // Nothing was scheduled: the instance's history has no sub-orchestration.
    let history = client.get_status_with_history(&id).await.unwrap().unwrap();
    assert!(
        !history
            .history
            .unwrap()
            .iter()
            .any(|e| e.kind.type_name() == "SubOrchestrationInstanceCreated")
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_child_is_retried_under_the_same_id() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path()).await;
    let client = app.client();
    let id = client.start_new("Sub_RetryingParent", None, ("twice", 2)).await.unwrap();
    let status = client.wait_for_completion(&id, TIMEOUT).await.unwrap();
    assert_eq!(status.runtime_status, Completed, "{:?}", status.output);
    assert_eq!(status.output, json!(3));
    let history = client.get_status_with_history(&id).await.unwrap().unwrap().history.unwrap();
    let count = |kind: &str| history.iter().filter(|e| e.kind.type_name() == kind).count();
    assert_eq!(count("SubOrchestrationInstanceCreated"), 3);
    assert_eq!(count("SubOrchestrationInstanceFailed"), 2);
    assert_eq!(count("TimerFired"), 2);

    // Out of attempts, the last failure is the parent's.
    let id = client.start_new("Sub_RetryingParent", None, ("always", 10)).await.unwrap();
    let status = client.wait_for_completion(&id, TIMEOUT).await.unwrap();
    assert_eq!(status.runtime_status, Failed);
    assert!(status.failure_details.unwrap().error_message.contains("attempt 3 failed"));
    app.shutdown().await;
}
