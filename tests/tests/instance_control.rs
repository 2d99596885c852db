//! Instance control end to end: continue_as_new (with and without carried events),
//! suspend/resume, rewind, restart, versions, and operations refused in the wrong state.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use durable::OrchestrationRuntimeStatus::{Completed, Failed, Running, Suspended, Terminated};
use durable::history::EventKind;
use durable::prelude::*;
use durable_tests::{start_app, start_app_with, wait_for};
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(30);

/// Collects three "Value" events, one per execution.
#[orchestration_trigger(name = "Ctl_Collector")]
async fn collector(
    context: DurableOrchestrationContext,
    input: (Vec<i64>, bool),
) -> Result<Vec<i64>, FunctionFailed> {
    let (mut values, preserve) = input;
    values.push(context.wait_for_external_event("Value").await?);
    if values.len() < 3 {
        context.continue_as_new((values.clone(), preserve), preserve);
    }
    Ok(values)
}

#[orchestration_trigger(name = "Ctl_CountTo")]
async fn count_to(context: DurableOrchestrationContext, n: u32) -> Result<u32, FunctionFailed> {
    if n < 5 {
        context.continue_as_new(n + 1, false);
    }
    Ok(n)
}

/// Fails the first call for each key, then succeeds.
#[activity_trigger(name = "Ctl_FailOnce")]
fn fail_once(key: String) -> Result<String, String> {
    static CALLS: Mutex<BTreeMap<String, u32>> = Mutex::new(BTreeMap::new());
    let mut calls = CALLS.lock().unwrap();
    let n = calls.entry(key.clone()).or_default();
    *n += 1;
    if *n == 1 {
        Err(format!("{key}: first call fails"))
    } else {
        Ok(format!("{key}: ok on call {n}"))
    }
}

#[orchestration_trigger(name = "Ctl_Fragile")]
async fn fragile(
    context: DurableOrchestrationContext,
    key: String,
) -> Result<Vec<String>, FunctionFailed> {
    let first: String = context.call_activity("Ctl_FailOnce", format!("{key}-a")).await?;
    let second: String = context.call_activity("Ctl_FailOnce", format!("{key}-b")).await?;
    Ok(vec![first, second])
}

#[orchestration_trigger(name = "Ctl_FragileParent")]
async fn fragile_parent(
    context: DurableOrchestrationContext,
    key: String,
) -> Result<Vec<String>, FunctionFailed> {
    context.call_sub_orchestrator("Ctl_Fragile", Some(&format!("{key}-child")), key).await
}

/// Fails the first `n` calls for a key, then succeeds.
#[activity_trigger(name = "Ctl_FailTimes")]
fn fail_times(input: (String, u32)) -> Result<u32, String> {
    static CALLS: Mutex<BTreeMap<String, u32>> = Mutex::new(BTreeMap::new());
    let (key, fails) = input;
    let mut calls = CALLS.lock().unwrap();
    let n = calls.entry(key).or_default();
    *n += 1;
    if *n <= fails { Err(format!("call {n} failed")) } else { Ok(*n) }
}

#[orchestration_trigger(name = "Ctl_RetriesExhausted")]
async fn retries_exhausted(
    context: DurableOrchestrationContext,
    key: String,
) -> Result<u32, FunctionFailed> {
    let retry = RetryOptions::new(Duration::from_millis(10), 2);
    context.call_activity_with_retry("Ctl_FailTimes", retry, (key, 2)).await
}

static SLOW_RELEASED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static SLOW_DONE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Returns once the test releases it.
#[activity_trigger(name = "Ctl_Slow")]
async fn slow() -> String {
    while !SLOW_RELEASED.load(std::sync::atomic::Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    SLOW_DONE.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    "slow done".to_owned()
}

/// Fails on its first call while its second is still running.
#[orchestration_trigger(name = "Ctl_FailsWhileBusy")]
async fn fails_while_busy(
    context: DurableOrchestrationContext,
) -> Result<Vec<String>, FunctionFailed> {
    let first = context.call_activity::<String>("Ctl_FailOnce", "busy-a");
    let second = context.call_activity::<String>("Ctl_Slow", ());
    Ok(vec![first.await?, second.await?])
}

#[orchestration_trigger(name = "Ctl_OwnError")]
async fn own_error(_context: DurableOrchestrationContext) -> Result<(), String> {
    Err("the orchestrator itself gave up".to_owned())
}

#[orchestration_trigger(name = "Ctl_Version")]
async fn version(context: DurableOrchestrationContext) -> Result<Vec<String>, FunctionFailed> {
    let child: Vec<String> = if context.parent_instance_id().is_none() {
        context.call_sub_orchestrator("Ctl_Version", None, ()).await?
    } else {
        Vec::new()
    };
    Ok(std::iter::once(context.version()).chain(child).collect())
}

#[orchestration_trigger(name = "Ctl_Echo")]
async fn echo(context: DurableOrchestrationContext, input: Value) -> Result<Value, FunctionFailed> {
    Ok(json!({ "input": input, "instance": context.instance_id() }))
}

async fn status(client: &DurableOrchestrationClient, id: &str) -> DurableOrchestrationStatus {
    client.get_status(id).await.unwrap().unwrap()
}

async fn wait_for_status(
    client: &DurableOrchestrationClient,
    id: &str,
    wanted: OrchestrationRuntimeStatus,
) {
    wait_for(&format!("{id} to be {wanted}"), TIMEOUT, || async move {
        (status(client, id).await.runtime_status == wanted).then_some(())
    })
    .await;
}

fn event_types(status: &DurableOrchestrationStatus) -> Vec<&'static str> {
    status
        .history
        .as_ref()
        .unwrap()
        .iter()
        .map(|e| e.kind.type_name())
        .filter(|t| *t != "OrchestratorStarted")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continue_as_new_restarts_history_with_the_new_input() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path()).await;
    let client = app.client();
    let id = client.start_new("Ctl_CountTo", None, 1).await.unwrap();
    let done = client.wait_for_completion(&id, TIMEOUT).await.unwrap();
    assert_eq!(done.runtime_status, Completed);
    assert_eq!(done.output, json!(5));
    assert_eq!(done.input, json!(5));
    // Only the last execution's history is kept.
    let done = client.get_status_with_history(&id).await.unwrap().unwrap();
    assert_eq!(event_types(&done), ["ExecutionStarted", "ExecutionCompleted"]);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspended_events_wait_for_resume_and_are_carried_across_continue_as_new() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path()).await;
    let client = app.client();

    for preserve in [true, false] {
        let id =
            client.start_new("Ctl_Collector", None, (Vec::<i64>::new(), preserve)).await.unwrap();
        client.suspend(&id, "maintenance").await.unwrap();
        wait_for_status(&client, &id, Suspended).await;
        for value in [1, 2, 3] {
            client.raise_event(&id, "Value", value).await.unwrap();
        }
        // Held while suspended: the events are recorded but nothing moves.
        wait_for("the events to be recorded", TIMEOUT, || async {
            let status = client.get_status_with_history(&id).await.unwrap().unwrap();
            let raised = event_types(&status).iter().filter(|t| **t == "EventRaised").count();
            (raised == 3).then_some(())
        })
        .await;
        let held = status(&client, &id).await;
        assert_eq!(held.runtime_status, Suspended);
        assert_eq!(held.input, json!([[], preserve]));
        // Refused in this state, and nothing changes.
        assert!(matches!(
            client.suspend(&id, "again").await,
            Err(DurableError::InvalidState { .. })
        ));

        client.resume(&id, "done").await.unwrap();
        if preserve {
            // The two events the first execution did not take are carried over.
            let done = client.wait_for_completion(&id, TIMEOUT).await.unwrap();
            assert_eq!(done.output, json!([1, 2, 3]));
        } else {
            // They are dropped: the second execution waits for a new one.
            wait_for("the second execution", TIMEOUT, || async {
                let status = status(&client, &id).await;
                (status.runtime_status == Running && status.input == json!([[1], false]))
                    .then_some(())
            })
            .await;
            client.raise_event(&id, "Value", 7).await.unwrap();
            wait_for("the third execution", TIMEOUT, || async {
                (status(&client, &id).await.input == json!([[1, 7], false])).then_some(())
            })
            .await;
            client.terminate(&id, "enough").await.unwrap();
            let done = client.wait_for_completion(&id, TIMEOUT).await.unwrap();
            assert_eq!(done.runtime_status, Terminated);
        }
    }
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_instance_can_be_terminated_but_not_resumed_twice() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path()).await;
    let client = app.client();
    let id = client.start_new("Ctl_Collector", None, (Vec::<i64>::new(), false)).await.unwrap();
    assert!(matches!(
        client.resume(&id, "not suspended").await,
        Err(DurableError::InvalidState { status: Running, .. })
    ));
    client.suspend(&id, "pause").await.unwrap();
    wait_for_status(&client, &id, Suspended).await;
    client.terminate(&id, "stop").await.unwrap();
    let done = client.wait_for_completion(&id, TIMEOUT).await.unwrap();
    assert_eq!(done.runtime_status, Terminated);
    assert_eq!(done.output, json!("stop"));
    for refused in [
        client.suspend(&id, "late").await,
        client.resume(&id, "late").await,
        client.terminate(&id, "late").await,
        client.raise_event(&id, "Value", 1).await,
    ] {
        assert!(
            matches!(refused, Err(DurableError::InstanceFinished { status: Terminated, .. })),
            "{refused:?}"
        );
    }
    assert!(matches!(
        client.suspend("no-such-instance", "x").await,
        Err(DurableError::InstanceNotFound { .. })
    ));
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewind_retries_the_failed_activity_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path()).await;
    let client = app.client();
    let id = client.start_new("Ctl_Fragile", None, "solo").await.unwrap();
    let failed = client.wait_for_completion(&id, TIMEOUT).await.unwrap();
    assert_eq!(failed.runtime_status, Failed);
    assert!(failed.output.as_str().unwrap().contains("solo-a: first call fails"));

    client.rewind(&id, "fixed the disk").await.unwrap();
    // Rewound, it fails again at its second activity (which fails once too), and again
    // rewound it completes. (A rewind takes effect at the instance's next turn.)
    let failed = wait_for("the second failure", TIMEOUT, || async {
        let status = status(&client, &id).await;
        (status.runtime_status == Failed && status.output.as_str().unwrap().contains("solo-b"))
            .then_some(status)
    })
    .await;
    assert!(failed.failure_details.is_some());
    client.rewind(&id, "again").await.unwrap();
    wait_for_status(&client, &id, Completed).await;
    let done = status(&client, &id).await;
    assert_eq!(done.output, json!(["solo-a: ok on call 2", "solo-b: ok on call 2"]));
    let history = client.get_status_with_history(&id).await.unwrap().unwrap();
    let types = event_types(&history);
    assert_eq!(types.iter().filter(|t| **t == "ExecutionRewound").count(), 2);
    assert!(!types.contains(&"TaskFailed"), "{types:?}");

    // Only a failed instance can be rewound.
    assert!(matches!(
        client.rewind(&id, "not failed").await,
        Err(DurableError::InvalidState { status: Completed, .. })
    ));
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewinding_a_parent_rewinds_its_failed_child() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path()).await;
    let client = app.client();
    let id = client.start_new("Ctl_FragileParent", None, "nested").await.unwrap();
    let failed = client.wait_for_completion(&id, TIMEOUT).await.unwrap();
    assert_eq!(failed.runtime_status, Failed);
    let child = "nested-child";
    assert_eq!(status(&client, child).await.runtime_status, Failed);

    // Each rewind of the parent rewinds the child, whose activities each fail once.
    client.rewind(&id, "retry").await.unwrap();
    wait_for("the child's second failure", TIMEOUT, || async {
        let status = status(&client, &id).await;
        (status.runtime_status == Failed && status.output.as_str().unwrap().contains("nested-b"))
            .then_some(())
    })
    .await;
    client.rewind(&id, "retry").await.unwrap();
    wait_for_status(&client, &id, Completed).await;
    let done = status(&client, &id).await;
    assert_eq!(done.output, json!(["nested-a: ok on call 2", "nested-b: ok on call 2"]));
    assert_eq!(status(&client, child).await.runtime_status, Completed);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_runs_a_finished_instance_again_under_the_same_or_a_new_id() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path()).await;
    let client = app.client();
    let id = client.start_new("Ctl_Echo", Some("echo-1"), json!({ "n": 1 })).await.unwrap();
    let first = client.wait_for_completion(&id, TIMEOUT).await.unwrap();
    assert_eq!(first.output, json!({ "input": { "n": 1 }, "instance": "echo-1" }));

    let same = client.restart(&id, false).await.unwrap();
    assert_eq!(same, "echo-1");
    let again = client.wait_for_completion(&same, TIMEOUT).await.unwrap();
    assert_eq!(again.output, first.output);
    assert!(again.created_time >= first.created_time);

    let new = client.restart(&id, true).await.unwrap();
    assert_ne!(new, "echo-1");
    let other = client.wait_for_completion(&new, TIMEOUT).await.unwrap();
    assert_eq!(other.output, json!({ "input": { "n": 1 }, "instance": new }));

    // A running instance cannot be restarted under its own id.
    let running =
        client.start_new("Ctl_Collector", None, (Vec::<i64>::new(), false)).await.unwrap();
    assert!(matches!(
        client.restart(&running, false).await,
        Err(DurableError::InstanceAlreadyExists { .. })
    ));
    assert!(matches!(
        client.restart("no-such-instance", true).await,
        Err(DurableError::InstanceNotFound { .. })
    ));
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_version_is_fixed_at_start_from_configuration_or_the_client() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app_with(dir.path(), |config| {
        config.worker.default_version = "1.0".to_owned();
    })
    .await;
    let client = app.client();
    let id = client.start_new("Ctl_Version", None, ()).await.unwrap();
    let done = client.wait_for_completion(&id, TIMEOUT).await.unwrap();
    assert_eq!(done.output, json!(["1.0", "1.0"]));

    let id = client.start_new_with_version("Ctl_Version", None, "2.0", ()).await.unwrap();
    let done = client.wait_for_completion(&id, TIMEOUT).await.unwrap();
    // The child gets the configured default.
    assert_eq!(done.output, json!(["2.0", "1.0"]));
    let history = client.get_status_with_history(&id).await.unwrap().unwrap();
    assert!(matches!(
        &history.history.unwrap()[1].kind,
        EventKind::ExecutionStarted { version, .. } if version == "2.0"
    ));
    // A restart keeps the instance's version.
    let restarted = client.restart(&id, true).await.unwrap();
    let done = client.wait_for_completion(&restarted, TIMEOUT).await.unwrap();
    assert_eq!(done.output, json!(["2.0", "1.0"]));
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewind_after_exhausted_retries_runs_only_the_last_attempt_again() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path()).await;
    let client = app.client();
    let id = client.start_new("Ctl_RetriesExhausted", None, "exhausted").await.unwrap();
    let failed = client.wait_for_completion(&id, TIMEOUT).await.unwrap();
    assert_eq!(failed.runtime_status, Failed);
    client.rewind(&id, "try once more").await.unwrap();
    wait_for_status(&client, &id, Completed).await;
    let done = client.get_status_with_history(&id).await.unwrap().unwrap();
    // The handled first failure and its retry timer stay; the third call succeeded.
    assert_eq!(done.output, json!(3));
    let types = event_types(&done);
    assert_eq!(types.iter().filter(|t| **t == "TaskFailed").count(), 1, "{types:?}");
    assert_eq!(types.iter().filter(|t| **t == "TimerFired").count(), 1, "{types:?}");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewind_runs_again_work_whose_result_came_while_failed() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path()).await;
    let client = app.client();
    let id = client.start_new("Ctl_FailsWhileBusy", None, ()).await.unwrap();
    let failed = client.wait_for_completion(&id, TIMEOUT).await.unwrap();
    assert_eq!(failed.runtime_status, Failed);
    // The slow call finishes while the instance is failed: its result is dropped.
    SLOW_RELEASED.store(true, std::sync::atomic::Ordering::SeqCst);
    wait_for("the slow call", TIMEOUT, || async {
        (SLOW_DONE.load(std::sync::atomic::Ordering::SeqCst) == 1).then_some(())
    })
    .await;
    client.rewind(&id, "again").await.unwrap();
    wait_for_status(&client, &id, Completed).await;
    let done = status(&client, &id).await;
    assert_eq!(done.output, json!(["busy-a: ok on call 2", "slow done"]));
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_failed_in_its_own_code_cannot_be_rewound() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path()).await;
    let client = app.client();
    let id = client.start_new("Ctl_OwnError", None, ()).await.unwrap();
    let failed = client.wait_for_completion(&id, TIMEOUT).await.unwrap();
    assert_eq!(failed.runtime_status, Failed);
    let refused = client.rewind(&id, "no").await;
    assert!(
        matches!(&refused, Err(DurableError::InvalidState { operation: "rewind", .. })),
        "{refused:?}"
    );
    assert_eq!(status(&client, &id).await.runtime_status, Failed);
    app.shutdown().await;
}
