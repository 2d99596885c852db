//! Size limits (`maxInputSize`, `maxOutputSize`, `maxEventSize`, `maxCustomStatusSize`,
//! `maxOrchestrationActions`): refused at the client and over HTTP with nothing written;
//! inside an orchestration, a call over a limit fails with `PayloadTooLarge` and an
//! execution over a limit fails, naming the limit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use durable::OrchestrationRuntimeStatus::{Completed, Failed, Running};
use durable::app::HostConfig;
use durable::prelude::*;
use durable::{DurableOrchestrationStatus, Limit, RunningApp};
use durable_tests::{start_app_with, wait_for};
use serde_json::{Value, json};
use tempfile::TempDir;

const TIMEOUT: Duration = Duration::from_secs(30);

/// The small limits every test runs under.
fn small_limits(config: &mut HostConfig) {
    let limits = &mut config.worker.limits;
    limits.max_input_size = 100;
    limits.max_output_size = 300;
    limits.max_event_size = 100;
    limits.max_custom_status_size = 50;
    limits.max_orchestration_actions = 30;
}

/// A string whose JSON is `len + 2` bytes.
fn text(len: usize) -> String {
    "x".repeat(len)
}

#[orchestration_trigger(name = "Limits_WaitGo")]
async fn wait_go(context: DurableOrchestrationContext) -> Result<Value, FunctionFailed> {
    context.wait_for_external_event::<Value>("Go").await
}

static ECHO_RUNS: AtomicU64 = AtomicU64::new(0);

#[activity_trigger(name = "Limits_Echo")]
fn echo(input: String) -> String {
    ECHO_RUNS.fetch_add(1, Ordering::SeqCst);
    input
}

/// Calls `Limits_Echo` with an input of the given length and reports how the call ended.
#[orchestration_trigger(name = "Limits_CallEcho")]
async fn call_echo(
    context: DurableOrchestrationContext,
    len: usize,
) -> Result<String, FunctionFailed> {
    match context.call_activity::<String>("Limits_Echo", text(len)).await {
        Ok(output) => Ok(format!("ok: {}", output.len())),
        Err(failed) => {
            Ok(format!("{}: {}", failed.details.error_type, failed.details.error_message))
        }
    }
}

#[activity_trigger(name = "Limits_Big")]
fn big(len: usize) -> String {
    text(len)
}

/// Calls `Limits_Big` for an output of the given length and reports how the call ended.
#[orchestration_trigger(name = "Limits_CallBig")]
async fn call_big(
    context: DurableOrchestrationContext,
    len: usize,
) -> Result<String, FunctionFailed> {
    match context.call_activity::<String>("Limits_Big", len).await {
        Ok(output) => Ok(format!("ok: {}", output.len())),
        Err(failed) => {
            Ok(format!("{}: {}", failed.details.error_type, failed.details.error_message))
        }
    }
}

#[orchestration_trigger(name = "Limits_Status")]
async fn status(context: DurableOrchestrationContext, len: usize) -> Result<(), FunctionFailed> {
    context.set_custom_status(text(len));
    context.call_activity::<String>("Limits_Echo", "after").await?;
    Ok(())
}

#[orchestration_trigger(name = "Limits_Output")]
async fn output(
    _context: DurableOrchestrationContext,
    len: usize,
) -> Result<String, FunctionFailed> {
    Ok(text(len))
}

/// Calls `Limits_Echo` `n` times in sequence.
#[orchestration_trigger(name = "Limits_Loop")]
async fn call_loop(context: DurableOrchestrationContext, n: u32) -> Result<u32, FunctionFailed> {
    for i in 0..n {
        context.call_activity::<String>("Limits_Echo", i.to_string()).await?;
    }
    Ok(n)
}

/// Calls a sub-orchestration and an entity with inputs over `maxInputSize`; reports the
/// failure kinds.
#[orchestration_trigger(name = "Limits_CallOthers")]
async fn call_others(context: DurableOrchestrationContext) -> Result<Vec<String>, FunctionFailed> {
    let sub = context.call_sub_orchestrator::<String>("Limits_Output", None, text(200)).await;
    let entity = EntityId::new("Limits_Nobody", "k")?;
    let call = context.call_entity::<()>(&entity, "op", text(200)).await;
    let kinds = [sub.err(), call.err()];
    Ok(kinds
        .into_iter()
        .map(|e| e.map(|e| e.details.error_type.to_string()).unwrap_or_default())
        .collect())
}

struct App {
    app: RunningApp,
    client: DurableOrchestrationClient,
    _dir: TempDir,
}

impl App {
    async fn start(adjust: impl FnOnce(&mut HostConfig)) -> App {
        let dir = tempfile::tempdir().unwrap();
        let app = start_app_with(dir.path(), |config| {
            small_limits(config);
            adjust(config);
        })
        .await;
        App { client: app.client(), app, _dir: dir }
    }

    async fn run(&self, name: &str, id: &str, input: Value) -> DurableOrchestrationStatus {
        self.client.start_new(name, Some(id), input).await.unwrap();
        self.client.wait_for_completion(id, TIMEOUT).await.unwrap()
    }

    async fn wait_running(&self, id: &str) {
        wait_for(&format!("{id} to run"), TIMEOUT, || async move {
            let status = self.client.get_status(id).await.unwrap();
            status.filter(|s| s.runtime_status == Running)
        })
        .await;
    }

    async fn history_len(&self, id: &str) -> usize {
        let status = self.client.get_status_with_history(id).await.unwrap().unwrap();
        status.history.unwrap().len()
    }
}

#[track_caller]
fn too_large(result: Result<impl std::fmt::Debug, DurableError>, limit: Limit) -> String {
    match result {
        Err(DurableError::PayloadTooLarge(exceeded)) => {
            assert_eq!(exceeded.limit, limit);
            let message = exceeded.to_string();
            assert!(message.contains(&format!("`{}` in host.json", limit.key())), "{message}");
            message
        }
        other => panic!("expected PayloadTooLarge, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_refuses_what_is_over_a_limit_and_writes_nothing() {
    let app = App::start(|_| {}).await;
    let client = &app.client;

    let refused = client.start_new("Limits_WaitGo", Some("big"), text(200)).await;
    let message = too_large(refused, Limit::Input);
    assert!(message.starts_with("the input of `Limits_WaitGo` is 202 bytes"), "{message}");
    assert!(client.get_status("big").await.unwrap().is_none(), "an instance was written");

    client.start_new("Limits_WaitGo", Some("waiting"), Value::Null).await.unwrap();
    app.wait_running("waiting").await;
    let before = app.history_len("waiting").await;
    too_large(client.raise_event("waiting", "Go", text(200)).await, Limit::Event);
    too_large(client.terminate("waiting", text(200)).await, Limit::Event);
    too_large(client.suspend("waiting", text(200)).await, Limit::Event);
    let counter = EntityId::new("Counter", "c").unwrap();
    too_large(client.signal_entity(&counter, "add", text(200)).await, Limit::Event);
    assert!(client.get_status(&counter.to_string()).await.unwrap().is_none());

    // Nothing reached the instance: it still waits, and takes an event within the limit.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.history_len("waiting").await, before);
    client.raise_event("waiting", "Go", "small").await.unwrap();
    let done = client.wait_for_completion("waiting", TIMEOUT).await.unwrap();
    assert_eq!((done.runtime_status, done.output), (Completed, json!("small")));
    app.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_answers_413_naming_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let keys_file = dir.path().join("keys.json");
    let app = start_app_with(dir.path(), |config| {
        small_limits(config);
        config.http.listen = Some("127.0.0.1:0".parse().unwrap());
        config.http.keys.file = keys_file;
    })
    .await;
    let client = app.client();
    let origin = format!("http://{}/runtime/webhooks/durabletask", app.http_addr().unwrap());
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let post = |path: &str, body: String| {
        http.post(format!("{origin}{path}"))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };

    let response = post("/orchestrators/Limits_WaitGo/big", json!(text(200)).to_string());
    let response = response.await.unwrap();
    assert_eq!(response.status().as_u16(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["Message"], "The request body is too large.");
    let detail = body["ExceptionMessage"].as_str().unwrap();
    assert!(detail.contains("202 bytes") && detail.contains("`maxInputSize`"), "{detail}");
    assert!(client.get_status("big").await.unwrap().is_none(), "an instance was written");

    client.start_new("Limits_WaitGo", Some("waiting"), Value::Null).await.unwrap();
    let response = post("/instances/waiting/raiseEvent/Go", json!(text(200)).to_string());
    let response = response.await.unwrap();
    assert_eq!(response.status().as_u16(), 413);
    let body: Value = response.json().await.unwrap();
    let detail = body["ExceptionMessage"].as_str().unwrap();
    assert!(detail.contains("`maxEventSize`"), "{detail}");
    let status = client.get_status_with_history("waiting").await.unwrap().unwrap();
    let raised =
        status.history.unwrap().iter().filter(|e| e.kind.type_name() == "EventRaised").count();
    assert_eq!(raised, 0);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activity_input_over_the_limit_fails_the_call_which_can_be_caught() {
    let app = App::start(|_| {}).await;
    let runs = ECHO_RUNS.load(Ordering::SeqCst);
    let done = app.run("Limits_CallEcho", "input", json!(200)).await;
    assert_eq!(done.runtime_status, Completed);
    let output = done.output.as_str().unwrap().to_owned();
    assert!(
        output.starts_with("PayloadTooLarge: the input of `Limits_Echo` is 202 bytes"),
        "{output}"
    );
    assert!(output.contains("`maxInputSize` in host.json"), "{output}");
    // The call was never made, nor recorded.
    let history = app.client.get_status_with_history("input").await.unwrap().unwrap();
    assert!(!history.history.unwrap().iter().any(|e| e.kind.type_name() == "TaskScheduled"));
    let small = app.run("Limits_CallEcho", "small", json!(10)).await;
    assert_eq!(small.output, json!("ok: 10"));
    assert!(ECHO_RUNS.load(Ordering::SeqCst) > runs);
    app.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activity_output_over_the_limit_fails_the_task() {
    let app = App::start(|_| {}).await;
    let done = app.run("Limits_CallBig", "output", json!(400)).await;
    assert_eq!(done.runtime_status, Completed);
    let output = done.output.as_str().unwrap().to_owned();
    assert!(
        output.starts_with("PayloadTooLarge: the output of activity `Limits_Big` is 402 bytes"),
        "{output}"
    );
    assert!(output.contains("`maxOutputSize`"), "{output}");
    let history = app.client.get_status_with_history("output").await.unwrap().unwrap();
    assert!(history.history.unwrap().iter().any(|e| e.kind.type_name() == "TaskFailed"));
    app.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_status_or_an_output_over_the_limit_fails_the_instance() {
    let app = App::start(|_| {}).await;
    let done = app.run("Limits_Status", "status", json!(60)).await;
    assert_eq!(done.runtime_status, Failed);
    let failure = done.failure_details.unwrap();
    assert_eq!(failure.error_type, FailureKind::PayloadTooLarge);
    assert!(failure.error_message.starts_with("the custom status is 62 bytes"), "{failure:?}");
    assert!(failure.error_message.contains("`maxCustomStatusSize`"), "{failure:?}");
    assert_eq!(done.custom_status, Value::Null);

    let done = app.run("Limits_Output", "output", json!(400)).await;
    assert_eq!(done.runtime_status, Failed);
    let failure = done.failure_details.unwrap();
    assert_eq!(failure.error_type, FailureKind::PayloadTooLarge);
    assert!(failure.error_message.contains("`maxOutputSize`"), "{failure:?}");
    assert_eq!(app.run("Limits_Output", "small", json!(10)).await.runtime_status, Completed);
    app.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_execution_over_max_orchestration_actions_fails() {
    // Uncached too, so the limit also holds for a run rebuilt from history.
    for cached in [true, false] {
        let app = App::start(|config| config.worker.extended_sessions_enabled = cached).await;
        let done = app.run("Limits_Loop", "long", json!(50)).await;
        assert_eq!(done.runtime_status, Failed, "cached: {cached}");
        let failure = done.failure_details.unwrap();
        assert_eq!(failure.error_type, FailureKind::PayloadTooLarge);
        assert!(failure.error_message.contains("`maxOrchestrationActions`"), "{failure:?}");
        let len = app.history_len("long").await;
        assert!(len <= 32, "history of {len} events");
        assert_eq!(app.run("Limits_Loop", "short", json!(3)).await.runtime_status, Completed);
        app.app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sub_orchestration_and_entity_inputs_over_the_limit_fail_the_calls() {
    let app = App::start(|_| {}).await;
    let done = app.run("Limits_CallOthers", "others", Value::Null).await;
    assert_eq!(done.runtime_status, Completed, "{:?}", done.failure_details);
    assert_eq!(done.output, json!(["PayloadTooLarge", "PayloadTooLarge"]));
    // Neither call was made.
    let page = app.client.list_instances(&Default::default()).await.unwrap();
    assert_eq!(page.durable_orchestration_state.len(), 1);
    app.app.shutdown().await;
}
