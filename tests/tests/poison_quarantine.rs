//! Poison quarantine with a real process: an activity that aborts the process each time it
//! runs is run exactly `maxWorkItemAttempts` times (one process each, restarted after every
//! crash), then set aside: its call fails with `Quarantined`, which the orchestration
//! catches, and every instance started alongside completes.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use durable::OrchestrationRuntimeStatus::Completed;
use durable::app::{HostConfig, StorageConfig};
use durable::{DurableOrchestrationClient, FunctionApp};
use durable_tests::cluster::count_lines;
use durable_tests::test_app::CrashOrchestration;
use serde_json::json;

/// How often a work item may be fetched before it is quarantined, in this test's host.json.
const MAX_ATTEMPTS: usize = 3;

/// Instances that never crash, started with the poisoned one.
const HEALTHY: usize = 5;

fn serve(dir: &Path, log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_test_app"))
        .arg("serve")
        .current_dir(dir)
        .env("DURABLE_LISTEN", "127.0.0.1:0")
        .env("DURABLE_DB", dir.join("durable.db"))
        .env("RUST_LOG", "warn")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(File::create(log).unwrap())
        .spawn()
        .unwrap()
}

async fn client(dir: &Path) -> DurableOrchestrationClient {
    let config = HostConfig {
        storage: StorageConfig::Sqlite { path: dir.join("durable.db") },
        ..HostConfig::default()
    };
    FunctionApp::new(config).connect().await.unwrap()
}

/// Whether every instance reached a final status.
async fn all_finished(client: &DurableOrchestrationClient, ids: &[String]) -> bool {
    for id in ids {
        let status = client.get_status(id).await.unwrap();
        if !status.is_some_and(|s| s.runtime_status.is_terminal()) {
            return false;
        }
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activity_that_crashes_the_process_is_quarantined_after_exactly_n_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let host = json!({ "version": "2.0", "extensions": { "durableTask": {
        "maxWorkItemAttempts": MAX_ATTEMPTS,
        "storageProvider": { "type": "sqlite" }
    } } });
    std::fs::write(dir.path().join("host.json"), host.to_string()).unwrap();

    let client = client(dir.path()).await;
    client.start(CrashOrchestration, Some("poison"), true).await.unwrap();
    let mut ids = vec!["poison".to_owned()];
    for n in 0..HEALTHY {
        let id = format!("healthy-{n}");
        client.start(CrashOrchestration, Some(id.as_str()), false).await.unwrap();
        ids.push(id);
    }

    // Run the app, restarting it whenever it dies, until every instance finished.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut logs: Vec<PathBuf> = Vec::new();
    let mut crashes = 0;
    loop {
        let log = dir.path().join(format!("serve-{}.log", logs.len() + 1));
        let mut child = serve(dir.path(), &log);
        logs.push(log);
        let exited = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if all_finished(&client, &ids).await {
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
                break;
            }
        }
    }

    let aborts: usize = logs.iter().map(|log| count_lines(log, "crash activity aborting")).sum();
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
