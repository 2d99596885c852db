//! The entity subcommands of the sample app binary, against a store an app in this process
//! serves: `entity-signal`, `entity-get`, `entity-list` and `entity-clean`.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use durable_tests::{start_app, wait_for};
use serde_json::{Value, json};

// The samples' registrations, the Counter among them.
use durable_examples as _;

const DEADLINE: Duration = Duration::from_secs(30);

/// Runs the sample binary on the store in `dir`.
fn samples(dir: &Path, args: &[&str]) -> Output {
    let db = dir.join("durable.db");
    Command::new(env!("CARGO_BIN_EXE_durable-samples"))
        .args(args)
        .arg("--db")
        .arg(&db)
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .env_remove("DURABLE_DB")
        .env_remove("DURABLE_HUB_NAME")
        .output()
        .unwrap()
}

#[track_caller]
fn stdout_json(output: &Output) -> Value {
    assert!(output.status.success(), "failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[track_caller]
fn fails_with(output: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "succeeded: {}", String::from_utf8_lossy(&output.stdout));
    assert!(stderr.contains(expected), "{stderr}");
}

async fn wait_for_state(dir: &Path, key: &str, want: Value) {
    wait_for(&format!("counter {key} to be {want}"), DEADLINE, || async {
        let output = samples(dir, &["entity-get", "--name", "Counter", "--key", key]);
        (output.status.success() && stdout_json(&output) == want).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entities_are_signalled_read_listed_and_cleaned_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path()).await;
    let dir = dir.path();

    // entity-get of an entity that does not exist fails.
    fails_with(
        &samples(dir, &["entity-get", "--name", "Counter", "--key", "c1"]),
        "does not exist",
    );

    // entity-signal, then entity-get prints the state.
    for (key, input) in [("c1", "5"), ("c2", "2")] {
        let args =
            ["entity-signal", "--name", "Counter", "--key", key, "--op", "add", "--input", input];
        let output = samples(dir, &args);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        assert!(output.stdout.is_empty());
    }
    wait_for_state(dir, "c1", json!(5)).await;
    wait_for_state(dir, "c2", json!(2)).await;

    // Refused signals: an unknown entity function (Azure's words), input that is not JSON.
    fails_with(
        &samples(dir, &["entity-signal", "--name", "Nope", "--key", "k", "--op", "add"]),
        "The function 'Nope' doesn't exist, is disabled, or is not an entity function",
    );
    fails_with(
        &samples(
            dir,
            &["entity-signal", "--name", "Counter", "--key", "k", "--op", "add", "--input", "{x"],
        ),
        "--input",
    );

    // entity-list: every entity; by name, with states, at most --top.
    let listed = stdout_json(&samples(dir, &["entity-list"]));
    assert_eq!(
        listed.as_array().unwrap().iter().map(|e| e["entityId"].clone()).collect::<Vec<_>>(),
        [json!({ "name": "counter", "key": "c1" }), json!({ "name": "counter", "key": "c2" })]
    );
    assert!(listed[0].get("state").is_none(), "{listed}");
    let one = stdout_json(&samples(
        dir,
        &["entity-list", "--name", "counter", "--fetch-state", "--top", "1"],
    ));
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0]["state"], json!(5));
    assert_eq!(stdout_json(&samples(dir, &["entity-list", "--name", "Other"])), json!([]));

    // entity-clean prints the counts: nothing asked, nothing done; then the deleted c2 goes.
    let nothing = stdout_json(&samples(dir, &["entity-clean"]));
    assert_eq!(nothing, json!({ "numOfEmptyEntitiesRemoved": 0, "numOfOrphanedLocksRemoved": 0 }));
    let output =
        samples(dir, &["entity-signal", "--name", "Counter", "--key", "c2", "--op", "delete"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    wait_for("c2 to be deleted", DEADLINE, || async {
        let output = samples(dir, &["entity-get", "--name", "Counter", "--key", "c2"]);
        (!output.status.success()).then_some(())
    })
    .await;
    let cleaned =
        stdout_json(&samples(dir, &["entity-clean", "--remove-empty", "--release-orphaned-locks"]));
    assert_eq!(cleaned, json!({ "numOfEmptyEntitiesRemoved": 1, "numOfOrphanedLocksRemoved": 0 }));
    // Gone from the store (read by a fresh process: the serving one keeps the records of
    // the instances it ran cached, and learns of another process's purge only when work
    // for the instance comes).
    fails_with(&samples(dir, &["status", "@counter@c2"]), "no instance with id `@counter@c2`");
    assert_eq!(
        stdout_json(&samples(dir, &["entity-get", "--name", "counter", "--key", "c1"])),
        json!(5)
    );
    app.shutdown().await;
}
