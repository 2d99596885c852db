//! Distributed tracing across restarts: an orchestration started over HTTP with a W3C
//! `traceparent` runs its three activities across two restarts of the app; the spans
//! collected form one tree: one orchestration span below the request's, three activity
//! spans below it, none twice.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use durable::OrchestrationRuntimeStatus::Completed;
use durable::history::EventKind;
use durable::prelude::*;
use durable::{DurableOrchestrationClient, RunningApp};
use durable_tests::{start_app_with, wait_for};
use serde_json::json;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

const TIMEOUT: Duration = Duration::from_secs(30);
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const REQUEST_SPAN: &str = "00f067aa0ba902b7";

/// How many steps may finish so far.
static ALLOWED: AtomicU64 = AtomicU64::new(0);

#[activity_trigger(name = "Trace_Step")]
async fn trace_step(n: u64) -> u64 {
    while ALLOWED.load(Ordering::SeqCst) < n {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    n
}

#[orchestration_trigger(name = "Trace_Sequence")]
async fn trace_sequence(context: DurableOrchestrationContext) -> Result<u64, FunctionFailed> {
    let mut total = 0;
    for n in 1..=3u64 {
        total += context.call(TraceStep, n).await?;
    }
    Ok(total)
}

/// The fields of every span of target `durable::telemetry`.
static SPANS: Mutex<Vec<BTreeMap<String, String>>> = Mutex::new(Vec::new());

struct Collect;

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: tracing::Subscriber> Layer<S> for Collect {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: Context<'_, S>,
    ) {
        if attrs.metadata().target() == "durable::telemetry" {
            let mut fields = BTreeMap::new();
            attrs.record(&mut Fields(&mut fields));
            SPANS.lock().unwrap().push(fields);
        }
    }
}

async fn app(dir: &std::path::Path, http: bool) -> RunningApp {
    start_app_with(dir, |config| {
        if http {
            config.http.listen = Some("127.0.0.1:0".parse().unwrap());
            config.http.keys.file = dir.join("keys.json");
        }
        config.worker.graceful_shutdown_timeout = Duration::from_millis(200);
    })
    .await
}

async fn completed_steps(client: &DurableOrchestrationClient) -> usize {
    let status = client.get_status_with_history("traced").await.unwrap().unwrap();
    let history = status.history.unwrap_or_default();
    history.iter().filter(|e| matches!(e.kind, EventKind::TaskCompleted { .. })).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_orchestration_span_and_one_span_per_activity_across_restarts() {
    tracing_subscriber::registry().with(Collect).init();
    let dir = tempfile::tempdir().unwrap();
    let first = app(dir.path(), true).await;
    let url = format!(
        "http://{}/runtime/webhooks/durabletask/orchestrators/Trace_Sequence/traced",
        first.http_addr().unwrap()
    );
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let response = http
        .post(url)
        .header("traceparent", format!("00-{TRACE_ID}-{REQUEST_SPAN}-01"))
        .json(&json!(null))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);

    // Step 1 finishes; the app stops while step 2 waits, twice.
    let mut running = first;
    for step in 1..=2 {
        ALLOWED.store(step, Ordering::SeqCst);
        let client = running.client();
        wait_for(&format!("step {step}"), TIMEOUT, || async {
            (completed_steps(&client).await == step as usize).then_some(())
        })
        .await;
        // The store's dispatch lock goes with the last handle on it.
        drop(client);
        running.shutdown().await;
        running = app(dir.path(), false).await;
    }
    ALLOWED.store(3, Ordering::SeqCst);
    let client = running.client();
    let done = client.wait_for_completion("traced", TIMEOUT).await.unwrap();
    assert_eq!((done.runtime_status, done.output), (Completed, json!(6)));
    running.shutdown().await;

    let history = client.get_status_with_history("traced").await.unwrap().unwrap();
    let recorded = history.history.unwrap_or_default().into_iter().find_map(|e| match e.kind {
        EventKind::ExecutionStarted { trace_context, .. } => trace_context,
        _ => None,
    });
    let recorded = recorded.expect("the trace context is recorded in history");
    let spans: Vec<BTreeMap<String, String>> = SPANS
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.get("durabletask.task.instance_id").map(String::as_str) == Some("traced"))
        .cloned()
        .collect();
    let field =
        |span: &BTreeMap<String, String>, name: &str| span.get(name).cloned().unwrap_or_default();
    let orchestrations: Vec<_> =
        spans.iter().filter(|s| field(s, "durabletask.type") == "orchestration").collect();
    assert_eq!(orchestrations.len(), 1, "one orchestration span: {spans:#?}");
    let orchestration = orchestrations[0];
    assert_eq!(field(orchestration, "otel.name"), "orchestration:Trace_Sequence");
    assert_eq!(field(orchestration, "trace_id"), TRACE_ID);
    assert_eq!(field(orchestration, "parent_span_id"), REQUEST_SPAN, "below the request's span");
    assert_eq!(field(orchestration, "span_id"), recorded.span_id, "the span recorded at start");
    let activities: Vec<_> =
        spans.iter().filter(|s| field(s, "durabletask.type") == "activity").collect();
    assert_eq!(activities.len(), 3, "one span per activity: {spans:#?}");
    for activity in &activities {
        assert_eq!(field(activity, "otel.name"), "activity:Trace_Step");
        assert_eq!(field(activity, "trace_id"), TRACE_ID);
        assert_eq!(field(activity, "parent_span_id"), recorded.span_id);
        assert!(field(activity, "start_time") <= field(activity, "end_time"));
    }
    assert_eq!(spans.len(), 4, "nothing else: {spans:#?}");
    let ids: HashSet<String> = spans.iter().map(|s| field(s, "span_id")).collect();
    assert_eq!(ids.len(), 4, "no span twice");
    let tasks: HashSet<String> =
        activities.iter().map(|s| field(s, "durabletask.task.task_id")).collect();
    assert_eq!(tasks.len(), 3);
}
