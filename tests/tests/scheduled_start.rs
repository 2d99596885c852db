//! Scheduled starts (the isolated SDK's `StartAt`) from the client, the HTTP API and the
//! CLI: each instance is Pending until its time, and its first turn runs no earlier.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use durable::OrchestrationRuntimeStatus::{Completed, Pending};
use durable::history::EventKind;
use durable::{DurableOrchestrationClient, StartOrchestrationOptions};
use durable_examples as _; // E1_HelloSequence
use durable_tests::{start_app_with, wait_for};
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(30);

/// When the instance's first turn ran.
async fn first_turn(client: &DurableOrchestrationClient, id: &str) -> DateTime<Utc> {
    let status = client.get_status_with_history(id).await.unwrap().unwrap();
    let history = status.history.unwrap_or_default();
    let started = history.iter().find(|e| matches!(e.kind, EventKind::OrchestratorStarted {}));
    started.map(|e| e.timestamp).unwrap_or_else(|| panic!("{id} never ran: {history:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_instances_wait_for_their_time_from_client_http_and_cli() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app_with(dir.path(), |config| {
        config.http.listen = Some("127.0.0.1:0".parse().unwrap());
        config.http.keys.file = dir.path().join("keys.json");
    })
    .await;
    let client = app.client();
    let start_at = Utc::now() + chrono::Duration::seconds(2);
    let at_text = start_at.to_rfc3339_opts(SecondsFormat::Micros, true);

    let options = StartOrchestrationOptions {
        instance_id: Some("client".into()),
        start_at: Some(start_at),
        ..Default::default()
    };
    client.schedule_new_orchestration_instance("E1_HelloSequence", (), options).await.unwrap();

    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let base = format!("http://{}/runtime/webhooks/durabletask", app.http_addr().unwrap());
    let url = format!("{base}/orchestrators/E1_HelloSequence/http?startAt={at_text}");
    let response = http.post(url).json(&json!(null)).send().await.unwrap();
    assert_eq!(response.status(), 202);
    let refused = http
        .post(format!("{base}/orchestrators/E1_HelloSequence/bad?startAt=tomorrow"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400, "an invalid startAt is refused");
    assert!(client.get_status("bad").await.unwrap().is_none(), "and nothing is written");

    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_durable-samples"))
        .args([
            "start-new",
            "--function-name",
            "E1_HelloSequence",
            "--id",
            "cli",
            "--start-at",
            &at_text,
        ])
        .env("DURABLE_DB", dir.path().join("durable.db"))
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(cli.status.success(), "{}", String::from_utf8_lossy(&cli.stderr));

    let ids = ["client", "http", "cli"];
    for id in ids {
        let status = client.get_status(id).await.unwrap().unwrap();
        assert_eq!(status.runtime_status, Pending, "{id} waits for its time");
    }
    assert!(Utc::now() < start_at, "the checks ran before the start time");
    for id in ids {
        let done = wait_for(&format!("{id} to complete"), TIMEOUT, || async {
            let status = client.get_status(id).await.unwrap()?;
            (status.runtime_status == Completed).then_some(status)
        })
        .await;
        assert_eq!(done.output, json!(["Hello Tokyo!", "Hello Seattle!", "Hello London!"]));
        let ran = first_turn(&client, id).await;
        assert!(ran >= start_at, "{id} ran at {ran}, before {start_at}");
    }
    app.shutdown().await;
}
