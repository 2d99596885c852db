//! Poison quarantine with a real process, restarted after every crash:
//! - an activity that aborts the process each time it runs is run exactly
//!   `maxWorkItemAttempts` times, then set aside: its call fails with `Quarantined`, which the
//!   orchestration catches, and every instance started alongside completes;
//! - an orchestration whose turn overflows the stack on an event is run exactly that often,
//!   then fails as `Quarantined` with the event kept in its history; the CLI lists it, and a
//!   rewind once the bug is gone delivers the event again and the instance completes;
//! - an activity quarantined and not caught fails its orchestration; rewound, it runs again.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use durable::OrchestrationRuntimeStatus::{Completed, Failed, Running};
use durable::app::{HostConfig, StorageConfig};
use durable::history::{EventKind, FailureKind};
use durable::{DurableOrchestrationClient, FunctionApp};
use durable_tests::cluster::count_lines;
use durable_tests::serve_app;
use durable_tests::test_app::{CrashOrchestration, PoisonActivity, PoisonEvent};
use serde_json::{Value, json};

/// How often a work item may be fetched before it is quarantined, in this test's host.json.
const MAX_ATTEMPTS: usize = 3;

/// Instances that never crash, started with the poisoned one.
const HEALTHY: usize = 5;

/// A task hub in a fresh directory whose host.json allows `MAX_ATTEMPTS`, and a client on it.
async fn hub() -> (tempfile::TempDir, DurableOrchestrationClient) {
    let dir = tempfile::tempdir().unwrap();
    let host = json!({ "version": "2.0", "extensions": { "durableTask": {
        "maxWorkItemAttempts": MAX_ATTEMPTS,
        "storageProvider": { "type": "sqlite" }
    } } });
    std::fs::write(dir.path().join("host.json"), host.to_string()).unwrap();
    let config = HostConfig {
        storage: StorageConfig::Sqlite { path: dir.path().join("durable.db") },
        ..HostConfig::default()
    };
    let client = FunctionApp::new(config).connect().await.unwrap();
    (dir, client)
}

/// Whether every instance reached a final status, `Completed` for those of `completing`.
async fn all_finished(client: &DurableOrchestrationClient, ids: &[String]) -> bool {
    all_done(client, ids, &[]).await
}

async fn all_done(
    client: &DurableOrchestrationClient,
    ids: &[String],
    completing: &[&str],
) -> bool {
    for id in ids {
        let Some(status) = client.get_status(id).await.unwrap() else {
            return false;
        };
        let done = if completing.contains(&id.as_str()) {
            status.runtime_status == Completed
        } else {
            status.runtime_status.is_terminal()
        };
        if !done {
            return false;
        }
    }
    true
}

/// The test app serving `dir`, restarted whenever it dies, until every instance of `ids`
/// finished (those of `completing` as `Completed`); it is stopped then. Returns how often it
/// crashed and the logs of its runs.
async fn serve_until_finished(
    dir: &Path,
    client: &DurableOrchestrationClient,
    ids: &[String],
    completing: &[&str],
) -> (usize, Vec<PathBuf>) {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut logs: Vec<PathBuf> = Vec::new();
    let mut crashes = 0;
    loop {
        let log = dir.join(format!("serve-{}.log", logs.len() + 1));
        let mut child = serve_app(env!("CARGO_BIN_EXE_test_app"), dir, &log, &[]);
        logs.push(log);
        let exited = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if all_done(client, ids, completing).await {
                break None;
            }
            assert!(Instant::now() < deadline, "the instances did not finish in time");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        match exited {
            Some(status) => {
                assert!(!status.success(), "the app exits only by crashing: {status}");
                crashes += 1;
                assert!(crashes <= MAX_ATTEMPTS, "the poisoned item kept running");
            }
            None => {
                child.kill().unwrap();
                child.wait().unwrap();
                return (crashes, logs);
            }
        }
    }
}

/// How many lines of the logs hold `needle`.
fn lines(logs: &[PathBuf], needle: &str) -> usize {
    logs.iter().map(|log| count_lines(log, needle)).sum()
}

/// The `quarantined` CLI listing of the task hub in `dir`, as JSON.
fn cli_quarantined(dir: &Path) -> Vec<Value> {
    let output = Command::new(env!("CARGO_BIN_EXE_test_app"))
        .arg("quarantined")
        .current_dir(dir)
        .env("DURABLE_DB", dir.join("durable.db"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activity_that_crashes_the_process_is_quarantined_after_exactly_n_attempts() {
    let (dir, client) = hub().await;
    client.start(CrashOrchestration, Some("poison"), true).await.unwrap();
    let mut ids = vec!["poison".to_owned()];
    for n in 0..HEALTHY {
        let id = format!("healthy-{n}");
        client.start(CrashOrchestration, Some(id.as_str()), false).await.unwrap();
        ids.push(id);
    }

    let (crashes, logs) = serve_until_finished(dir.path(), &client, &ids, &[]).await;
    let aborts = lines(&logs, "crash activity aborting");
    assert_eq!((crashes, aborts), (MAX_ATTEMPTS, MAX_ATTEMPTS), "one run per attempt, no more");
    let poisoned = client.get_status("poison").await.unwrap().unwrap();
    assert_eq!(poisoned.runtime_status, Completed);
    let answer = poisoned.output.as_str().unwrap_or_default().to_owned();
    assert!(
        answer.starts_with("quarantined: ")
            && answer.contains(&format!("quarantined after {MAX_ATTEMPTS} attempts")),
        "the call failed as quarantined: {answer}"
    );
    for id in &ids[1..] {
        let status = client.get_status(id).await.unwrap().unwrap();
        assert_eq!((status.runtime_status, status.output), (Completed, json!("ok")), "{id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orchestration_whose_turn_crashes_the_process_is_quarantined_then_rewound() {
    let (dir, client) = hub().await;
    let marker = dir.path().join("bug");
    client.start(PoisonEvent, Some("poison"), ()).await.unwrap();
    let mut ids = Vec::new();
    for n in 0..HEALTHY {
        let id = format!("healthy-{n}");
        client.start(CrashOrchestration, Some(id.as_str()), false).await.unwrap();
        ids.push(id);
    }
    // The poisoned instance runs a healthy first turn (it waits for its event); the event,
    // once raised, makes every turn that takes it crash.
    let log = dir.path().join("serve-0.log");
    let mut first = serve_app(env!("CARGO_BIN_EXE_test_app"), dir.path(), &log, &[]);
    durable_tests::wait_for("the first turns", Duration::from_secs(60), || async {
        let poisoned = client.get_status("poison").await.unwrap()?;
        (poisoned.runtime_status == Running && all_finished(&client, &ids).await).then_some(())
    })
    .await;
    first.kill().unwrap();
    first.wait().unwrap();
    std::fs::write(&marker, "present").unwrap();
    client.raise_event("poison", "poke", marker.to_string_lossy()).await.unwrap();
    for n in HEALTHY..2 * HEALTHY {
        let id = format!("healthy-{n}");
        client.start(CrashOrchestration, Some(id.as_str()), false).await.unwrap();
        ids.push(id);
    }
    ids.push("poison".to_owned());

    let (crashes, logs) = serve_until_finished(dir.path(), &client, &ids, &[]).await;
    let overflows = lines(&logs, "poison orchestration overflowing its stack");
    assert_eq!((crashes, overflows), (MAX_ATTEMPTS, MAX_ATTEMPTS), "one turn per attempt");
    assert_eq!(
        lines(&logs, "has overflowed its stack"),
        MAX_ATTEMPTS,
        "the crashes were overflows"
    );
    for id in &ids[..ids.len() - 1] {
        let status = client.get_status(id).await.unwrap().unwrap();
        assert_eq!((status.runtime_status, status.output), (Completed, json!("ok")), "{id}");
    }
    let poisoned = client.get_status_with_history("poison").await.unwrap().unwrap();
    assert_eq!(poisoned.runtime_status, Failed);
    let failure = poisoned.failure_details.clone().unwrap();
    assert_eq!(failure.error_type, FailureKind::Quarantined);
    assert!(
        failure.error_message.contains(&format!("quarantined after {MAX_ATTEMPTS} attempts")),
        "{}",
        failure.error_message
    );
    let history = poisoned.history.unwrap();
    assert!(
        history
            .iter()
            .any(|e| matches!(&e.kind, EventKind::EventRaised { name, .. } if name == "poke")),
        "the event set aside is kept in the history: {history:?}"
    );

    let listed = cli_quarantined(dir.path());
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["instanceId"], "poison");
    assert!(listed[0]["quarantined"].as_str().unwrap().contains("quarantined after"));

    // The bug is fixed: a rewind delivers the event again, and the instance handles it.
    std::fs::remove_file(&marker).unwrap();
    client.rewind("poison", "fixed").await.unwrap();
    let (crashes, _) = serve_until_finished(dir.path(), &client, &ids, &["poison"]).await;
    assert_eq!(crashes, 0);
    let rewound = client.get_status_with_history("poison").await.unwrap().unwrap();
    assert_eq!((rewound.runtime_status, rewound.output), (Completed, json!("handled")));
    let history = rewound.history.unwrap();
    let raised = history
        .iter()
        .filter(|e| matches!(&e.kind, EventKind::EventRaised { name, .. } if name == "poke"))
        .count();
    assert_eq!(raised, 1, "the event is recorded once: {history:?}");
    assert!(history.iter().any(|e| matches!(e.kind, EventKind::ExecutionRewound { .. })));
    assert!(cli_quarantined(dir.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quarantined_activity_runs_again_when_its_orchestration_is_rewound() {
    let (dir, client) = hub().await;
    let marker = dir.path().join("bug");
    std::fs::write(&marker, "present").unwrap();
    let marker_path = marker.to_string_lossy().into_owned();
    client.start(PoisonActivity, Some("poison"), marker_path).await.unwrap();
    let ids = vec!["poison".to_owned()];

    let (crashes, logs) = serve_until_finished(dir.path(), &client, &ids, &[]).await;
    assert_eq!(
        (crashes, lines(&logs, "crash-while activity aborting")),
        (MAX_ATTEMPTS, MAX_ATTEMPTS)
    );
    let failed = client.get_status("poison").await.unwrap().unwrap();
    assert_eq!(failed.runtime_status, Failed);
    let listed = cli_quarantined(dir.path());
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["instanceId"], "poison");

    std::fs::remove_file(&marker).unwrap();
    client.rewind("poison", "fixed").await.unwrap();
    let (crashes, logs) = serve_until_finished(dir.path(), &client, &ids, &["poison"]).await;
    assert_eq!(crashes, 0);
    assert_eq!(lines(&logs, "crash-while activity aborting"), 0);
    let rewound = client.get_status("poison").await.unwrap().unwrap();
    assert_eq!((rewound.runtime_status, rewound.output), (Completed, json!("ran")));
}
