//! Graceful shutdown of a real process: SIGTERM while an activity runs. Within the grace
//! period (host.json `gracefulShutdownTimeoutInSeconds`) the activity finishes and its result
//! is kept; past it the process exits anyway, releasing the activity's work item, so after a
//! restart it runs again at once rather than after its (here one-minute) lease.

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use durable::OrchestrationRuntimeStatus::Completed;
use durable::app::{HostConfig, StorageConfig};
use durable::{DurableOrchestrationClient, FunctionApp};
use durable_tests::cluster::count_lines;
use durable_tests::test_app::SlowOrchestration;
use durable_tests::wait_for;
use serde_json::json;

const LEASE_SECONDS: u64 = 60;

fn serve(dir: &Path, log: &Path, fast: bool) -> Child {
    let mut env = vec![("RUST_LOG", "warn".as_ref())];
    if fast {
        env.push(("SLOW_APP_FAST", "1".as_ref()));
    }
    durable_tests::serve_app(env!("CARGO_BIN_EXE_test_app"), dir, log, &env)
}

fn host_json(dir: &Path, grace_seconds: u64) {
    let host = json!({ "version": "2.0", "extensions": { "durableTask": {
        "gracefulShutdownTimeoutInSeconds": grace_seconds,
        "storageProvider": { "type": "sqlite", "activityLeaseSeconds": LEASE_SECONDS }
    } } });
    std::fs::write(dir.join("host.json"), host.to_string()).unwrap();
}

async fn client(dir: &Path) -> DurableOrchestrationClient {
    let config = HostConfig {
        storage: StorageConfig::Sqlite { path: dir.join("durable.db") },
        ..HostConfig::default()
    };
    FunctionApp::new(config).connect().await.unwrap()
}

fn sigterm(child: &Child) {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
}

/// Waits for `child` to exit, failing after `deadline`; returns how long it took.
async fn exit_within(child: &mut Child, deadline: Duration) -> Duration {
    let sent = Instant::now();
    let child = std::sync::Mutex::new(child);
    wait_for("the process to exit", deadline, || async {
        child.lock().unwrap().try_wait().unwrap().map(|_| ())
    })
    .await;
    sent.elapsed()
}

/// Starts the app, starts an orchestration whose activity takes `millis`, and sends SIGTERM
/// once the activity runs.
async fn terminate_mid_activity(
    dir: &Path,
    log: &Path,
    millis: u64,
) -> (Child, DurableOrchestrationClient) {
    let child = serve(dir, log, false);
    let client = client(dir).await;
    client.start(SlowOrchestration, Some("slow"), millis).await.unwrap();
    wait_for("the activity to start", Duration::from_secs(30), || async {
        (count_lines(log, "slow activity started") == 1).then_some(())
    })
    .await;
    sigterm(&child);
    (child, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_an_activity_finish_within_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    host_json(dir.path(), 30);
    let first_log = dir.path().join("serve-1.log");
    let (mut first, client) = terminate_mid_activity(dir.path(), &first_log, 1_500).await;
    exit_within(&mut first, Duration::from_secs(20)).await;
    assert_eq!(count_lines(&first_log, "slow activity finished"), 1, "it finished before exit");

    let second_log = dir.path().join("serve-2.log");
    let mut second = serve(dir.path(), &second_log, true);
    let status = client.wait_for_completion("slow", Duration::from_secs(30)).await.unwrap();
    assert_eq!((status.runtime_status, status.output), (Completed, json!(1_500)));
    assert_eq!(count_lines(&second_log, "slow activity started"), 0, "its result was kept");
    second.kill().unwrap();
    second.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_past_the_grace_period_exits_and_the_activity_runs_again_at_once() {
    let dir = tempfile::tempdir().unwrap();
    host_json(dir.path(), 1);
    let first_log = dir.path().join("serve-1.log");
    let (mut first, client) = terminate_mid_activity(dir.path(), &first_log, 600_000).await;
    let took = exit_within(&mut first, Duration::from_secs(15)).await;
    println!("exited {took:?} after SIGTERM");
    assert_eq!(count_lines(&first_log, "slow activity finished"), 0);
    assert_eq!(count_lines(&first_log, "activity stopped by shutdown"), 1);

    let restarted = Instant::now();
    let second_log = dir.path().join("serve-2.log");
    let mut second = serve(dir.path(), &second_log, true);
    let status = client.wait_for_completion("slow", Duration::from_secs(30)).await.unwrap();
    assert_eq!(status.runtime_status, Completed);
    assert!(
        restarted.elapsed() < Duration::from_secs(LEASE_SECONDS / 2),
        "the activity ran again without waiting out its lease: {:?}",
        restarted.elapsed()
    );
    assert_eq!(count_lines(&second_log, "slow activity started"), 1);
    second.kill().unwrap();
    second.wait().unwrap();
}
