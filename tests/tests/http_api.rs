//! Azure's management API over real HTTP: routes, status codes, headers and JSON bodies, with
//! the store read through the client before and after every refused request to show that
//! the refusal changed nothing.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use chrono::NaiveDateTime;
use durable::OrchestrationRuntimeStatus::{Completed, Failed, Running, Suspended, Terminated};
use durable::app::HostConfig;
use durable::prelude::*;
use durable::{OrchestrationStatusQueryCondition, RunningApp};
use durable_examples as _; // E1_HelloSequence
use durable_tests::{start_app_with, wait_for};
use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;

const TIMEOUT: Duration = Duration::from_secs(30);

/// Where the management API is served.
const WEBHOOK: &str = "/runtime/webhooks/durabletask";

/// The query every management URL carries.
const HUB_QUERY: &str = "taskHub=TestHubName&connection=Storage";

/// E1_HelloSequence's history as the status API shows it: calls folded into their answers.
const HELLO_SEQUENCE_EVENTS: [&str; 5] =
    ["ExecutionStarted", "TaskCompleted", "TaskCompleted", "TaskCompleted", "ExecutionCompleted"];

#[orchestration_trigger(name = "HttpApi_Echo")]
async fn echo(
    _context: DurableOrchestrationContext,
    input: Value,
) -> Result<Value, FunctionFailed> {
    Ok(input)
}

/// Runs until it receives a "Go" event, and returns the event's data.
#[orchestration_trigger(name = "HttpApi_WaitGo")]
async fn wait_go(
    context: DurableOrchestrationContext,
    _input: Value,
) -> Result<Value, FunctionFailed> {
    context.wait_for_external_event::<Value>("Go").await
}

#[orchestration_trigger(name = "HttpApi_Fails")]
async fn fails(_context: DurableOrchestrationContext) -> Result<(), String> {
    Err("HttpApi_Fails gave up".to_owned())
}

static FLAKY_HAS_FAILED: AtomicBool = AtomicBool::new(false);

/// Fails the first time it runs (in this process), then greets.
#[activity_trigger(name = "HttpApi_FlakyGreet")]
fn flaky_greet(city: String) -> Result<String, String> {
    if FLAKY_HAS_FAILED.swap(true, Ordering::SeqCst) {
        Ok(format!("Hello {city}!"))
    } else {
        Err("the first call fails".to_owned())
    }
}

#[orchestration_trigger(name = "HttpApi_Flaky")]
async fn flaky(context: DurableOrchestrationContext) -> Result<String, FunctionFailed> {
    context.call_activity("HttpApi_FlakyGreet", "Tokyo").await
}

static RUNS: AtomicU64 = AtomicU64::new(0);

/// Counts the executions of `HttpApi_Counted` in this process.
#[activity_trigger(name = "HttpApi_CountRun")]
fn count_run() -> u64 {
    RUNS.fetch_add(1, Ordering::SeqCst) + 1
}

/// Returns its input and which run (in this process) it was.
#[orchestration_trigger(name = "HttpApi_Counted")]
async fn counted(
    context: DurableOrchestrationContext,
    input: Value,
) -> Result<Value, FunctionFailed> {
    let run: u64 = context.call_activity("HttpApi_CountRun", ()).await?;
    Ok(json!({ "input": input, "run": run }))
}

/// A response, read whole.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Reply {
    #[track_caller]
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts this status and a JSON body in Azure's error shape; returns its
    /// `ExceptionMessage`.
    #[track_caller]
    fn error(&self, status: StatusCode) -> String {
        assert_eq!(self.status, status, "{self:?}");
        let body = self.json();
        assert!(body["Message"].is_string(), "no Message: {self:?}");
        match body["ExceptionMessage"].as_str() {
            Some(message) => message.to_owned(),
            None => panic!("no ExceptionMessage: {self:?}"),
        }
    }

    /// The `id` of a check-status response.
    #[track_caller]
    fn id(&self) -> String {
        assert_eq!(self.status, StatusCode::ACCEPTED, "{self:?}");
        match self.json()["id"].as_str() {
            Some(id) => id.to_owned(),
            None => panic!("no id: {self:?}"),
        }
    }
}

async fn send(request: RequestBuilder) -> Reply {
    let response = request.send().await.unwrap();
    Reply {
        status: response.status(),
        headers: response.headers().clone(),
        text: response.text().await.unwrap(),
    }
}

/// An app serving HTTP on a free loopback port, without keys.
struct Host {
    app: RunningApp,
    client: DurableOrchestrationClient,
    http: reqwest::Client,
    origin: String,
    _dir: TempDir,
}

impl Host {
    async fn start() -> Host {
        Host::start_with(|_| {}).await
    }

    async fn start_with(adjust: impl FnOnce(&mut HostConfig)) -> Host {
        let dir = tempfile::tempdir().unwrap();
        let keys_file = dir.path().join("keys.json");
        let app = start_app_with(dir.path(), |config| {
            config.http.listen = Some("127.0.0.1:0".parse().unwrap());
            // No keys, whatever keys file the working directory may hold.
            config.http.keys.file = keys_file;
            adjust(config);
        })
        .await;
        Host {
            client: app.client(),
            origin: format!("http://{}", app.http_addr().unwrap()),
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            app,
            _dir: dir,
        }
    }

    /// The absolute URL of a management path such as `/instances/x`.
    fn url(&self, path: &str) -> String {
        format!("{}{WEBHOOK}{path}", self.origin)
    }

    async fn get(&self, path: &str) -> Reply {
        send(self.http.get(self.url(path))).await
    }

    /// POSTs `body` as JSON.
    async fn post(&self, path: &str, body: &str) -> Reply {
        send(
            self.http
                .post(self.url(path))
                .header("Content-Type", "application/json")
                .body(body.to_owned()),
        )
        .await
    }

    async fn delete(&self, path: &str) -> Reply {
        send(self.http.delete(self.url(path))).await
    }

    async fn start_instance(&self, name: &str, id: &str, input: Value) {
        self.client.start_new(name, Some(id), input).await.unwrap();
    }

    async fn status(&self, id: &str) -> Option<DurableOrchestrationStatus> {
        self.client.get_status(id).await.unwrap()
    }

    async fn wait_until(
        &self,
        id: &str,
        wanted: OrchestrationRuntimeStatus,
    ) -> DurableOrchestrationStatus {
        wait_for(&format!("{id} to be {wanted}"), TIMEOUT, || async move {
            self.status(id).await.filter(|s| s.runtime_status == wanted)
        })
        .await
    }

    /// Every instance in the store, as (id, status, input, output, last update).
    async fn instances(&self) -> Vec<(String, OrchestrationRuntimeStatus, Value, Value, String)> {
        let page = self
            .client
            .list_instances(&OrchestrationStatusQueryCondition::default())
            .await
            .unwrap();
        assert!(page.continuation_token.is_none(), "more than one page");
        page.durable_orchestration_state
            .into_iter()
            .map(|s| {
                let updated = s.last_updated_time.to_rfc3339();
                (s.instance_id, s.runtime_status, s.input, s.output, updated)
            })
            .collect()
    }

    /// How many `EventRaised` events the instance's history holds.
    async fn events_raised(&self, id: &str) -> usize {
        let status = self.client.get_status_with_history(id).await.unwrap().unwrap();
        status.history.unwrap().iter().filter(|e| e.kind.type_name() == "EventRaised").count()
    }

    async fn stop(self) {
        self.app.shutdown().await;
    }
}

/// The instance ids of a list response, sorted.
#[track_caller]
fn ids(reply: &Reply) -> Vec<String> {
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let mut ids: Vec<String> = match reply.json().as_array() {
        Some(items) => items.iter().map(|s| s["instanceId"].as_str().unwrap().to_owned()).collect(),
        None => panic!("not an array: {reply:?}"),
    };
    ids.sort();
    ids
}

#[track_caller]
fn assert_azure_time(value: &Value) {
    let text = value.as_str().unwrap_or_default();
    assert!(
        NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%SZ").is_ok(),
        "not yyyy-MM-ddTHH:mm:ssZ: {value}"
    );
}

// ---- start --------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_answers_202_with_the_management_urls() {
    let host = Host::start().await;
    let reply =
        host.post("/orchestrators/HttpApi_WaitGo/order-1", r#"{"item":"book","qty":2}"#).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{reply:?}");
    let instance = host.url("/instances/order-1");
    let status_uri = format!("{instance}?{HUB_QUERY}");
    // Exactly Azure's eight fields: no rewindPostUri.
    assert_eq!(
        reply.json(),
        json!({
            "id": "order-1",
            "statusQueryGetUri": status_uri,
            "sendEventPostUri": format!("{instance}/raiseEvent/{{eventName}}?{HUB_QUERY}"),
            "terminatePostUri": format!("{instance}/terminate?reason={{text}}&{HUB_QUERY}"),
            "purgeHistoryDeleteUri": format!("{instance}?{HUB_QUERY}"),
            "restartPostUri": format!("{instance}/restart?{HUB_QUERY}"),
            "suspendPostUri": format!("{instance}/suspend?reason={{text}}&{HUB_QUERY}"),
            "resumePostUri": format!("{instance}/resume?reason={{text}}&{HUB_QUERY}"),
        })
    );
    assert_eq!(reply.header("Location"), Some(status_uri.as_str()));
    assert_eq!(reply.header("Retry-After"), Some("10"));
    assert!(
        reply.header("Content-Type").is_some_and(|t| t.starts_with("application/json")),
        "{reply:?}"
    );

    let status = host.status("order-1").await.unwrap();
    assert_eq!(status.name, "HttpApi_WaitGo");
    assert_eq!(status.input, json!({"item": "book", "qty": 2}));
    // The URL works as given.
    let followed = send(host.http.get(&status_uri)).await;
    assert_eq!(followed.status, StatusCode::ACCEPTED, "{followed:?}");
    assert_eq!(followed.json()["instanceId"], "order-1");

    // Without an id in the path the host makes one.
    let id = host.post("/orchestrators/HttpApi_WaitGo", "[1, 2]").await.id();
    assert_ne!(id, "order-1");
    assert_eq!(host.status(&id).await.unwrap().input, json!([1, 2]));
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_string_holding_json_stays_a_string() {
    let host = Host::start().await;
    let id = host.post("/orchestrators/HttpApi_Echo/wrapped", r#""{\"a\":1}""#).await.id();
    let done = host.client.wait_for_completion(&id, TIMEOUT).await.unwrap();
    assert_eq!(done.input, json!(r#"{"a":1}"#));
    assert_eq!(done.output, json!(r#"{"a":1}"#));
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_with_a_timeout_answers_200_with_the_output() {
    let host = Host::start().await;
    let reply = host.post("/orchestrators/E1_HelloSequence?timeout=5", "").await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.json(), json!(["Hello Tokyo!", "Hello Seattle!", "Hello London!"]));
    assert_eq!(reply.header("Location"), None);

    // A failed instance answers with its status object, still 200, as Azure's sync start does.
    let failed = host.post("/orchestrators/HttpApi_Fails?timeout=5", "").await;
    assert_eq!(failed.status, StatusCode::OK, "{failed:?}");
    let body = failed.json();
    assert_eq!(body["runtimeStatus"], "Failed", "{body}");
    assert_eq!(body["name"], "HttpApi_Fails", "{body}");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starting_a_running_id_again_is_409_and_leaves_it_alone() {
    let host = Host::start().await;
    host.start_instance("HttpApi_WaitGo", "busy", json!("first")).await;
    host.wait_until("busy", Running).await;
    let before = host.instances().await;

    let message = host
        .post("/orchestrators/HttpApi_WaitGo/busy", r#""second""#)
        .await
        .error(StatusCode::CONFLICT);
    assert!(message.contains("busy"), "{message}");
    assert_eq!(host.instances().await, before);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_starts_are_400_and_create_nothing() {
    let host = Host::start().await;
    let too_long = "x".repeat(300);
    let cases = [
        // (path, body, what ExceptionMessage names)
        ("/orchestrators/HttpApi_NoSuchThing/ghost".to_owned(), "{}", "HttpApi_NoSuchThing"),
        ("/orchestrators/HttpApi_Echo/ghost".to_owned(), r#"{"item":"#, "JSON"),
        ("/orchestrators/HttpApi_Echo/ghost".to_owned(), "{'a': 1}", "JSON"),
        ("/orchestrators/HttpApi_Echo/bad%2Fid".to_owned(), "{}", "bad/id"),
        (format!("/orchestrators/HttpApi_Echo/{too_long}"), "{}", "invalid instance id"),
    ];
    for (path, body, named) in cases {
        let reply = host.post(&path, body).await;
        let message = reply.error(StatusCode::BAD_REQUEST);
        assert!(message.contains(named), "{path} {body}: {message}");
    }
    assert!(host.status("ghost").await.is_none());
    assert!(host.instances().await.is_empty());
    host.stop().await;
}

// ---- status -------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_of_a_running_instance_is_202_with_location() {
    let host = Host::start().await;
    host.start_instance("HttpApi_WaitGo", "waiting", json!({"n": 1})).await;
    host.wait_until("waiting", Running).await;

    let path = format!("/instances/waiting?{HUB_QUERY}&showInput=true");
    let reply = host.get(&path).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{reply:?}");
    assert_eq!(reply.header("Location"), Some(host.url(&path).as_str()));
    assert_eq!(reply.header("Retry-After"), Some("5"));
    let body = reply.json();
    assert_eq!(body["runtimeStatus"], "Running");
    assert_eq!(body["input"], json!({"n": 1}));
    assert_eq!(body["output"], Value::Null);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_of_a_completed_instance_is_200_with_azures_fields() {
    let host = Host::start().await;
    host.start_instance("E1_HelloSequence", "hello", Value::Null).await;
    host.client.wait_for_completion("hello", TIMEOUT).await.unwrap();

    let reply = host.get("/instances/hello").await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.header("Location"), None);
    let body = reply.json();
    let fields: BTreeSet<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        fields,
        BTreeSet::from([
            "name",
            "instanceId",
            "runtimeStatus",
            "input",
            "customStatus",
            "output",
            "createdTime",
            "lastUpdatedTime"
        ])
    );
    assert_eq!(body["name"], "E1_HelloSequence");
    assert_eq!(body["instanceId"], "hello");
    assert_eq!(body["runtimeStatus"], "Completed");
    assert_eq!(body["input"], Value::Null);
    assert_eq!(body["customStatus"], Value::Null);
    assert_eq!(body["output"], json!(["Hello Tokyo!", "Hello Seattle!", "Hello London!"]));
    assert_azure_time(&body["createdTime"]);
    assert_azure_time(&body["lastUpdatedTime"]);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_history_folds_calls_into_their_answers() {
    let host = Host::start().await;
    host.start_instance("E1_HelloSequence", "hello", Value::Null).await;
    host.client.wait_for_completion("hello", TIMEOUT).await.unwrap();

    let completed_tasks = |body: &Value| -> Vec<Value> {
        body["historyEvents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["EventType"] == "TaskCompleted")
            .cloned()
            .collect()
    };
    for flag in ["true", "True"] {
        let body = host.get(&format!("/instances/hello?showHistory={flag}")).await.json();
        let types: Vec<&str> = body["historyEvents"]
            .as_array()
            .unwrap_or_else(|| panic!("no historyEvents: {body}"))
            .iter()
            .map(|e| e["EventType"].as_str().unwrap())
            .collect();
        assert_eq!(types, HELLO_SEQUENCE_EVENTS, "showHistory={flag}");
        for task in completed_tasks(&body) {
            assert_eq!(task["FunctionName"], "E1_SayHello", "{task}");
            assert!(task["ScheduledTime"].is_string(), "{task}");
            assert!(task.get("Result").is_none(), "{task}");
        }
    }

    let body = host.get("/instances/hello?showHistory=true&showHistoryOutput=true").await.json();
    let results: Vec<Value> =
        completed_tasks(&body).into_iter().map(|t| t["Result"].clone()).collect();
    assert_eq!(results, [json!("Hello Tokyo!"), json!("Hello Seattle!"), json!("Hello London!")]);
    // The plain status has no history.
    assert!(host.get("/instances/hello").await.json().get("historyEvents").is_none());
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_input_false_hides_the_input() {
    let host = Host::start().await;
    host.start_instance("HttpApi_Echo", "secretive", json!({"card": "1234"})).await;
    host.client.wait_for_completion("secretive", TIMEOUT).await.unwrap();

    let shown = host.get("/instances/secretive").await.json();
    assert_eq!(shown["input"], json!({"card": "1234"}));
    let hidden = host.get("/instances/secretive?showInput=false").await.json();
    assert_eq!(hidden["input"], Value::Null);
    assert_eq!(hidden["output"], json!({"card": "1234"}));
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_instance_is_200_or_500_on_request() {
    let host = Host::start().await;
    host.start_instance("HttpApi_Fails", "broken", Value::Null).await;
    host.wait_until("broken", Failed).await;

    for (query, expected) in [
        ("", StatusCode::OK),
        ("?returnInternalServerErrorOnFailure=false", StatusCode::OK),
        ("?returnInternalServerErrorOnFailure=true", StatusCode::INTERNAL_SERVER_ERROR),
    ] {
        let reply = host.get(&format!("/instances/broken{query}")).await;
        assert_eq!(reply.status, expected, "{query}: {reply:?}");
        let body = reply.json();
        assert_eq!(body["runtimeStatus"], "Failed", "{query}");
        let output = body["output"].as_str().unwrap_or_default();
        assert!(output.contains("HttpApi_Fails gave up"), "{query}: {body}");
    }
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_of_an_unknown_instance_is_404() {
    let host = Host::start().await;
    let message = host.get("/instances/nobody").await.error(StatusCode::NOT_FOUND);
    assert!(message.contains("nobody"), "{message}");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unparsable_query_values_are_400_naming_the_parameter() {
    let host = Host::start().await;
    host.start_instance("HttpApi_Echo", "done", json!(1)).await;
    host.client.wait_for_completion("done", TIMEOUT).await.unwrap();
    let before = host.instances().await;

    for (path, parameter) in [
        ("/instances/done?showHistory=yes", "showHistory"),
        ("/instances/done?showInput=1", "showInput"),
        ("/instances?createdTimeFrom=yesterday", "createdTimeFrom"),
        ("/instances?createdTimeTo=2020-13-45T00:00:00Z", "createdTimeTo"),
        ("/instances?runtimeStatus=Runing", "runtimeStatus"),
        ("/instances?top=0", "top"),
    ] {
        let message = host.get(path).await.error(StatusCode::BAD_REQUEST);
        assert!(message.contains(parameter), "{path}: {message}");
    }
    let message = host
        .delete("/instances?createdTimeFrom=2020-01-01T00:00:00Z&runtimeStatus=Done")
        .await
        .error(StatusCode::BAD_REQUEST);
    assert!(message.contains("runtimeStatus"), "{message}");
    assert_eq!(host.instances().await, before);
    host.stop().await;
}

// ---- list ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filters_by_status_prefix_and_creation_time() {
    let host = Host::start().await;
    for id in ["done-a", "done-b"] {
        host.start_instance("HttpApi_Echo", id, json!({"id": id})).await;
        host.client.wait_for_completion(id, TIMEOUT).await.unwrap();
    }
    for id in ["wait-a", "wait-b"] {
        host.start_instance("HttpApi_WaitGo", id, json!({"id": id})).await;
        host.wait_until(id, Running).await;
    }
    host.start_instance("HttpApi_Fails", "fail-a", Value::Null).await;
    host.wait_until("fail-a", Failed).await;
    let all = ["done-a", "done-b", "fail-a", "wait-a", "wait-b"];

    for path in ["/instances", "/instances/"] {
        let reply = host.get(path).await;
        assert_eq!(ids(&reply), all, "{path}");
        assert_eq!(reply.header("x-ms-continuation-token"), Some(""), "{path}");
    }
    for (query, expected) in [
        ("runtimeStatus=Completed,Running", &["done-a", "done-b", "wait-a", "wait-b"][..]),
        ("runtimeStatus=Completed", &["done-a", "done-b"]),
        ("runtimeStatus=Failed&runtimeStatus=Running", &["fail-a", "wait-a", "wait-b"]),
        ("instanceIdPrefix=wait-", &["wait-a", "wait-b"]),
        ("instanceIdPrefix=done-&runtimeStatus=Running", &[]),
        ("createdTimeFrom=2020-01-01T00:00:00.000000Z", &all),
        ("createdTimeFrom=2999-01-01T00:00:00.000000Z", &[]),
        ("createdTimeTo=2020-01-01T00:00:00.000000Z", &[]),
    ] {
        let reply = host.get(&format!("/instances?{query}")).await;
        assert_eq!(ids(&reply), expected, "{query}");
    }

    let inputs = |reply: Reply| -> Vec<Value> {
        let mut inputs: Vec<Value> =
            reply.json().as_array().unwrap().iter().map(|s| s["input"].clone()).collect();
        inputs.sort_by_key(Value::to_string);
        inputs
    };
    let shown = inputs(host.get("/instances?instanceIdPrefix=done-").await);
    assert_eq!(shown, [json!({"id": "done-a"}), json!({"id": "done-b"})]);
    let hidden = inputs(host.get("/instances?instanceIdPrefix=done-&showInput=false").await);
    assert_eq!(hidden, [Value::Null, Value::Null]);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_pages_follow_the_continuation_token() {
    let host = Host::start().await;
    let mut expected: Vec<String> = (0..7).map(|i| format!("page-{i}")).collect();
    for id in &expected {
        host.start_instance("HttpApi_Echo", id, json!(id)).await;
    }

    let mut seen = Vec::new();
    let mut token = String::new();
    for _ in 0..expected.len() + 1 {
        let mut request = host.http.get(host.url("/instances?top=2"));
        if !token.is_empty() {
            request = request.header("x-ms-continuation-token", &token);
        }
        let reply = send(request).await;
        let page = ids(&reply);
        assert!(page.len() <= 2, "{reply:?}");
        seen.extend(page);
        token = match reply.header("x-ms-continuation-token") {
            Some(next) => next.to_owned(),
            None => panic!("no x-ms-continuation-token header: {reply:?}"),
        };
        if token.is_empty() {
            break;
        }
    }
    assert!(token.is_empty(), "the pages did not end");
    seen.sort();
    expected.sort();
    assert_eq!(seen, expected, "each instance exactly once");
    host.stop().await;
}

// ---- purge --------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purging_one_instance() {
    let host = Host::start().await;
    host.start_instance("HttpApi_Echo", "old", json!(1)).await;
    host.client.wait_for_completion("old", TIMEOUT).await.unwrap();
    host.start_instance("HttpApi_WaitGo", "live", json!(2)).await;
    host.wait_until("live", Running).await;

    let reply = host.delete(&format!("/instances/old?{HUB_QUERY}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.json(), json!({"instancesDeleted": 1}));
    assert!(host.status("old").await.is_none());

    host.delete("/instances/old").await.error(StatusCode::NOT_FOUND);
    let before = host.instances().await;
    let message = host.delete("/instances/live").await.error(StatusCode::PRECONDITION_FAILED);
    assert!(message.contains("live"), "{message}");
    assert_eq!(host.instances().await, before);
    assert_eq!(host.status("live").await.unwrap().runtime_status, Running);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purging_by_filter() {
    let host = Host::start().await;
    for id in ["done-a", "done-b"] {
        host.start_instance("HttpApi_Echo", id, json!(id)).await;
        host.client.wait_for_completion(id, TIMEOUT).await.unwrap();
    }
    host.start_instance("HttpApi_Fails", "failed", Value::Null).await;
    host.wait_until("failed", Failed).await;
    host.start_instance("HttpApi_WaitGo", "live", Value::Null).await;
    host.wait_until("live", Running).await;

    let before = host.instances().await;
    for path in ["/instances", "/instances?runtimeStatus=Completed"] {
        let message = host.delete(path).await.error(StatusCode::BAD_REQUEST);
        assert!(message.contains("createdTimeFrom"), "{path}: {message}");
    }
    assert_eq!(host.instances().await, before);

    let reply = host
        .delete("/instances?createdTimeFrom=2020-01-01T00:00:00Z&runtimeStatus=Completed")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.json(), json!({"instancesDeleted": 2}));
    let left: Vec<String> = host.instances().await.into_iter().map(|i| i.0).collect();
    assert_eq!(left, ["failed", "live"]);
    host.stop().await;
}

// ---- raise event --------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raised_event_data_reaches_the_orchestrator() {
    let host = Host::start().await;
    host.start_instance("HttpApi_WaitGo", "listener", Value::Null).await;
    host.wait_until("listener", Running).await;

    // A JSON string holding JSON arrives as that string.
    let reply = host.post("/instances/listener/raiseEvent/Go", r#""{\"approved\":true}""#).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{reply:?}");
    let done = host.client.wait_for_completion("listener", TIMEOUT).await.unwrap();
    assert_eq!(done.runtime_status, Completed);
    assert_eq!(done.output, json!(r#"{"approved":true}"#));
    assert_eq!(host.events_raised("listener").await, 1);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_events_are_not_delivered() {
    let host = Host::start().await;
    host.start_instance("HttpApi_WaitGo", "listener", Value::Null).await;
    host.wait_until("listener", Running).await;
    let go = "/instances/listener/raiseEvent/Go";

    host.post("/instances/nobody/raiseEvent/Go", "1").await.error(StatusCode::NOT_FOUND);
    host.post(go, r#"{"approved":"#).await.error(StatusCode::BAD_REQUEST);
    let xml = host
        .http
        .post(host.url(go))
        .header("Content-Type", "application/xml")
        .body("<approved>true</approved>");
    send(xml).await.error(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(host.events_raised("listener").await, 0);
    assert!(host.status("nobody").await.is_none());

    // The instance still waits, and the first event it receives is the accepted one.
    let reply = host.post(go, r#"{"accepted":true}"#).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{reply:?}");
    let done = host.client.wait_for_completion("listener", TIMEOUT).await.unwrap();
    assert_eq!(done.output, json!({"accepted": true}));
    assert_eq!(host.events_raised("listener").await, 1);

    let before = host.instances().await;
    host.post(go, "2").await.error(StatusCode::GONE);
    assert_eq!(host.events_raised("listener").await, 1);
    assert_eq!(host.instances().await, before);
    host.stop().await;
}

// ---- instance operations ------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_resume_and_terminate_take_effect() {
    let host = Host::start().await;
    host.start_instance("HttpApi_WaitGo", "job", Value::Null).await;
    host.wait_until("job", Running).await;

    let accepted = |reply: Reply| assert_eq!(reply.status, StatusCode::ACCEPTED, "{reply:?}");
    accepted(host.post("/instances/job/suspend?reason=maintenance", "").await);
    host.wait_until("job", Suspended).await;
    host.post("/instances/job/suspend?reason=again", "").await.error(StatusCode::CONFLICT);

    accepted(host.post("/instances/job/resume?reason=done", "").await);
    host.wait_until("job", Running).await;
    host.post("/instances/job/resume?reason=again", "").await.error(StatusCode::CONFLICT);

    accepted(host.post("/instances/job/terminate?reason=no%20longer%20needed", "").await);
    let terminated = host.wait_until("job", Terminated).await;
    assert_eq!(terminated.output, json!("no longer needed"));

    let before = host.instances().await;
    for operation in ["terminate?reason=again", "suspend?reason=x", "resume?reason=x"] {
        host.post(&format!("/instances/job/{operation}"), "").await.error(StatusCode::GONE);
    }
    assert_eq!(host.instances().await, before);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_on_an_unknown_instance_are_404() {
    let host = Host::start().await;
    for operation in [
        "terminate?reason=x",
        "suspend?reason=x",
        "resume?reason=x",
        "rewind?reason=x",
        "restart",
        "restart?restartWithNewInstanceId=false",
        "raiseEvent/Go",
    ] {
        let message = host
            .post(&format!("/instances/nobody/{operation}"), "1")
            .await
            .error(StatusCode::NOT_FOUND);
        assert!(message.contains("nobody"), "{operation}: {message}");
    }
    assert!(host.instances().await.is_empty());
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewind_reruns_a_failed_instance_only() {
    let host = Host::start().await;
    host.start_instance("HttpApi_WaitGo", "steady", Value::Null).await;
    host.wait_until("steady", Running).await;
    host.start_instance("HttpApi_Flaky", "flaky", Value::Null).await;
    host.wait_until("flaky", Failed).await;

    let before = host.instances().await;
    host.post("/instances/steady/rewind?reason=why", "").await.error(StatusCode::GONE);
    assert_eq!(host.instances().await, before);

    let reply = host.post("/instances/flaky/rewind?reason=the%20activity%20is%20fixed", "").await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{reply:?}");
    let done = host.wait_until("flaky", Completed).await;
    assert_eq!(done.output, json!("Hello Tokyo!"));
    host.stop().await;
}

/// Waits until `id` has completed its `run`-th run of `HttpApi_Counted`.
async fn completed_run(host: &Host, id: &str, run: u64) -> DurableOrchestrationStatus {
    wait_for(&format!("{id} to complete run {run}"), TIMEOUT, || async {
        host.status(id).await.filter(|s| s.runtime_status == Completed && s.output["run"] == run)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_runs_a_finished_instance_again() {
    let host = Host::start().await;
    let input = json!({"order": 7});
    host.start_instance("HttpApi_Counted", "counted", input.clone()).await;
    let first = host.client.wait_for_completion("counted", TIMEOUT).await.unwrap();
    let run = first.output["run"].as_u64().unwrap();
    let reply = host.post("/instances/counted/restart?restartWithNewInstanceId=false", "").await;
    assert_eq!(reply.id(), "counted");
    assert_eq!(reply.header("Retry-After"), Some("10"));
    let again = completed_run(&host, "counted", run + 1).await;
    assert_eq!(again.output["input"], input);

    let reply = host.post("/instances/counted/restart", "").await;
    let new_id = reply.id();
    assert_ne!(new_id, "counted");
    let status_uri = format!("{}?{HUB_QUERY}", host.url(&format!("/instances/{new_id}")));
    assert_eq!(reply.header("Location"), Some(status_uri.as_str()));
    let restarted = host.client.wait_for_completion(&new_id, TIMEOUT).await.unwrap();
    assert_eq!(restarted.output, json!({"input": input, "run": run + 2}));
    assert_eq!(host.status("counted").await.unwrap().output["run"], run + 1);
    host.stop().await;
}

// ---- refusals of the whole request --------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_methods_are_405_and_unknown_paths_404() {
    let host = Host::start().await;
    host.get("/orchestrators/E1_HelloSequence").await.error(StatusCode::METHOD_NOT_ALLOWED);
    for path in [
        "/nope",
        "/runtime/webhooks/durabletask/nope",
        "/runtime/webhooks/durabletask/instances/x/y/z",
    ] {
        let reply = send(host.http.get(format!("{}{path}", host.origin))).await;
        reply.error(StatusCode::NOT_FOUND);
    }
    assert!(host.instances().await.is_empty());
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_is_413() {
    let host = Host::start_with(|c| c.http.max_request_body = 1024).await;
    let body = |len: usize| format!("\"{}\"", "x".repeat(len - 2));

    host.post("/orchestrators/HttpApi_Echo/too-big", &body(2000))
        .await
        .error(StatusCode::PAYLOAD_TOO_LARGE);
    assert!(host.instances().await.is_empty());

    let id = host.post("/orchestrators/HttpApi_Echo/fits", &body(1000)).await.id();
    assert_eq!(host.status(&id).await.unwrap().input, json!("x".repeat(998)));
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_task_hub_is_400() {
    let host = Host::start().await;
    let message = host
        .get("/instances?taskHub=OtherHub&connection=Storage")
        .await
        .error(StatusCode::BAD_REQUEST);
    assert!(message.contains("OtherHub"), "{message}");
    host.post("/orchestrators/HttpApi_Echo/elsewhere?taskHub=OtherHub", "1")
        .await
        .error(StatusCode::BAD_REQUEST);
    assert!(host.instances().await.is_empty());
    host.stop().await;
}
