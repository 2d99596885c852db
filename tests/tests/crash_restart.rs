//! Durability: the sample app runs as a child process on a SQLite file; 50 fan-out
//! orchestrations are started, the process is SIGKILLed mid-run and restarted, and every
//! instance must complete with the right output. Activities run at least once: the test
//! counts (from the app's own logs) how many ran more than once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

use durable::OrchestrationRuntimeStatus::Completed;
use durable::app::{HostConfig, StorageConfig};
use durable::{DurableOrchestrationClient, FunctionApp};
use durable_tests::wait_for;
use serde_json::json;

// The test process starts instances as a client, so it needs the samples' registrations.
use durable_examples as _;

const INSTANCES: usize = 50;
const FILES: usize = 40;
/// Activity starts to see before the kill: well inside the 50 × (1 + 40) the run needs.
const KILL_AFTER_STARTS: usize = 300;

fn serve(dir: &Path, log: &Path) -> Child {
    let backups = dir.join("backups");
    let env = [
        ("DURABLE_BACKUP_DIR", backups.as_os_str()),
        ("RUST_LOG", "durable::worker=debug,warn".as_ref()),
    ];
    durable_tests::serve_app(env!("CARGO_BIN_EXE_durable-samples"), dir, log, &env)
}

/// (instance id, task id) of every "activity started" line in a log.
fn activity_starts(log: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter(|line| line.contains("activity started"))
        .filter_map(|line| {
            let field = |name: &str| {
                line.split_whitespace().find_map(|w| w.strip_prefix(name)).map(str::to_owned)
            };
            Some((field("instance_id=")?, field("task_scheduled_id=")?))
        })
        .collect()
}

async fn completed_count(client: &DurableOrchestrationClient) -> usize {
    let mut done = 0;
    for i in 0..INSTANCES {
        let status = client.get_status(&format!("backup-{i}")).await.unwrap();
        if status.is_some_and(|s| s.runtime_status == Completed) {
            done += 1;
        }
    }
    done
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_run_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    std::fs::create_dir_all(&site).unwrap();
    let mut expected_total = 0u64;
    for i in 0..FILES {
        let size = 1000 + i * 37;
        std::fs::write(site.join(format!("file-{i:02}.txt")), vec![b'a'; size]).unwrap();
        expected_total += size as u64;
    }

    let first_log = dir.path().join("serve-1.log");
    let mut first = serve(dir.path(), &first_log);

    let client = FunctionApp::new(HostConfig {
        storage: StorageConfig::Sqlite { path: dir.path().join("durable.db") },
        ..HostConfig::default()
    })
    .connect()
    .await
    .unwrap();
    for i in 0..INSTANCES {
        client
            .start_new("E2_BackupSiteContent", Some(&format!("backup-{i}")), site.to_string_lossy())
            .await
            .unwrap();
    }

    wait_for("activities to get going", Duration::from_secs(60), || async {
        (activity_starts(&first_log).len() >= KILL_AFTER_STARTS).then_some(())
    })
    .await;
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let done_at_kill = completed_count(&client).await;
    println!("completed when killed: {done_at_kill}/{INSTANCES}");
    assert!(done_at_kill < INSTANCES, "the kill came too late to test anything");

    let second_log = dir.path().join("serve-2.log");
    let mut second = serve(dir.path(), &second_log);
    wait_for("every instance to complete", Duration::from_secs(120), || async {
        (completed_count(&client).await == INSTANCES).then_some(())
    })
    .await;
    second.kill().unwrap();
    second.wait().unwrap();

    for i in 0..INSTANCES {
        let status = client.get_status(&format!("backup-{i}")).await.unwrap().unwrap();
        assert_eq!(status.output, json!(expected_total), "backup-{i}");
    }
    let backups: PathBuf = dir.path().join("backups").join(site.strip_prefix("/").unwrap());
    for i in 0..FILES {
        let copied = std::fs::metadata(backups.join(format!("file-{i:02}.txt"))).unwrap();
        assert_eq!(copied.len(), 1000 + i as u64 * 37);
    }

    let mut runs: HashMap<(String, String), usize> = HashMap::new();
    for start in activity_starts(&first_log).into_iter().chain(activity_starts(&second_log)) {
        *runs.entry(start).or_default() += 1;
    }
    assert_eq!(runs.len(), INSTANCES * (1 + FILES), "every activity ran");
    let repeated = runs.values().filter(|n| **n > 1).count();
    println!(
        "activities run: {} distinct, {} ran more than once (at-least-once after the kill)",
        runs.len(),
        repeated
    );
}
