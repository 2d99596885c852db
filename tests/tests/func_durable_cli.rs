//! The sample app's CLI under the names and flags of Azure Functions Core Tools' `func
//! durable`: every command, against a serving process, on both stores; progress shows on a
//! terminal only.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use durable_tests::stores::TestStore;
use durable_tests::{Serving, on_both_stores};
use serde_json::{Value, json};

on_both_stores!(every_func_durable_command_works, progress_shows_on_a_terminal_only);

fn command(store: &TestStore, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_durable-samples"));
    command.args(args);
    store.apply(&mut command);
    command
}

fn run(store: &TestStore, args: &[&str]) -> Output {
    command(store, args).env("RUST_LOG", "warn").output().unwrap()
}

#[track_caller]
fn ok(output: &Output) -> String {
    assert!(output.status.success(), "failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[track_caller]
fn json_of(output: &Output) -> Value {
    serde_json::from_str(&ok(output)).unwrap()
}

#[track_caller]
fn refused(output: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && stderr.contains(expected), "{stderr}");
}

fn status(store: &TestStore, id: &str) -> Value {
    json_of(&run(store, &["get-runtime-status", "--id", id, "--show-input", "--show-output"]))
}

fn wait_for(store: &TestStore, id: &str, wanted: &str) -> Value {
    let give_up = Instant::now() + Duration::from_secs(30);
    loop {
        let status = status(store, id);
        if status["runtimeStatus"] == wanted {
            return status;
        }
        assert!(Instant::now() < give_up, "{id} never became {wanted}: {status}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn every_func_durable_command_works(store: &TestStore) {
    let server = Serving::start(command(store, &["serve"]));
    let input_file = store.path().join("input.json");
    std::fs::write(&input_file, "\"purchase order 17\"").unwrap();
    let event_file = store.path().join("event.json");
    std::fs::write(&event_file, "true").unwrap();
    let at = |path: &std::path::Path| format!("@{}", path.display());

    // start-new: prints the id; the serving process runs it.
    let id = ok(&run(store, &["start-new", "--function-name", "E1_HelloSequence", "--id", "hs-1"]));
    assert_eq!(id.trim(), "hs-1");
    wait_for(store, "hs-1", "Completed");
    let input = at(&input_file);
    let started = run(
        store,
        &["start-new", "--function-name", "ApprovalWorkflow", "--id", "ap-1", "--input", &input],
    );
    assert_eq!(ok(&started).trim(), "ap-1");
    wait_for(store, "ap-1", "Running");
    refused(&run(store, &["start-new", "--function-name", "E9_Missing"]), "E9_Missing");
    refused(
        &run(
            store,
            &["start-new", "--function-name", "E1_HelloSequence", "--input", "@/nonexistent.json"],
        ),
        "--input",
    );

    // get-runtime-status: input and output only when asked for.
    let plain = json_of(&run(store, &["get-runtime-status", "--id", "hs-1"]));
    assert_eq!(
        (plain["runtimeStatus"].clone(), plain["output"].clone()),
        (json!("Completed"), Value::Null)
    );
    let shown = json_of(&run(store, &["get-runtime-status", "--id", "hs-1", "--show-output"]));
    assert_eq!(shown["output"], json!(["Hello Tokyo!", "Hello Seattle!", "Hello London!"]));
    let with_input = json_of(&run(store, &["get-runtime-status", "--id", "ap-1", "--show-input"]));
    assert_eq!(with_input["input"], json!("purchase order 17"));
    refused(&run(store, &["get-runtime-status", "--id", "nope"]), "no instance with id `nope`");
    refused(&run(store, &["get-runtime-status"]), "--id");

    // get-history: the stored events, in order.
    let history = json_of(&run(store, &["get-history", "--id", "hs-1"]));
    let types = durable_tests::event_types(&history);
    assert_eq!(types, durable_tests::HELLO_SEQUENCE_HISTORY);

    // suspend / resume / raise-event (data from a file).
    ok(&run(store, &["suspend", "--id", "ap-1", "--reason", "lunch"]));
    wait_for(store, "ap-1", "Suspended");
    ok(&run(store, &["resume", "--id", "ap-1", "--reason", "back"]));
    wait_for(store, "ap-1", "Running");
    let data = at(&event_file);
    ok(&run(
        store,
        &["raise-event", "--id", "ap-1", "--event-name", "ApprovalEvent", "--event-data", &data],
    ));
    assert_eq!(wait_for(store, "ap-1", "Completed")["output"], json!("Approved"));
    refused(&run(store, &["raise-event", "--id", "ap-1", "--event-data", "true"]), "--event-name");

    // terminate, and a rewind refused for an instance that did not fail.
    ok(&run(
        store,
        &[
            "start-new",
            "--function-name",
            "ApprovalWorkflow",
            "--id",
            "ap-2",
            "--input",
            "\"order\"",
        ],
    ));
    wait_for(store, "ap-2", "Running");
    ok(&run(store, &["terminate", "--id", "ap-2", "--reason", "no longer needed"]));
    assert_eq!(wait_for(store, "ap-2", "Terminated")["output"], json!("no longer needed"));
    refused(
        &run(store, &["rewind", "--id", "ap-2", "--reason", "again"]),
        "only failed instances can be rewound",
    );

    // get-instances: filters, pages and their continuation token (on stderr).
    let first =
        run(store, &["get-instances", "--runtime-status", "Completed,Terminated", "--top", "2"]);
    let page: Vec<String> = ids(&json_of(&first));
    assert_eq!(page, ["hs-1", "ap-1"]);
    let stderr = String::from_utf8_lossy(&first.stderr).into_owned();
    let token = stderr
        .lines()
        .find_map(|line| line.strip_prefix("continuation token: "))
        .unwrap_or_else(|| panic!("no continuation token: {stderr}"))
        .to_owned();
    let next = run(
        store,
        &[
            "get-instances",
            "--runtime-status",
            "Completed,Terminated",
            "--top",
            "2",
            "--continuation-token",
            &token,
        ],
    );
    assert_eq!(ids(&json_of(&next)), ["ap-2"]);
    assert!(!String::from_utf8_lossy(&next.stderr).contains("continuation token"), "the last page");
    let terminated = run(store, &["get-instances", "--runtime-status", "terminated"]);
    assert_eq!(ids(&json_of(&terminated)), ["ap-2"]);
    let future = run(store, &["get-instances", "--created-after", "2999-01-01T00:00:00Z"]);
    assert!(ids(&json_of(&future)).is_empty());
    let past = run(store, &["get-instances", "--created-before", "2000-01-01"]);
    assert!(ids(&json_of(&past)).is_empty());
    refused(&run(store, &["get-instances", "--created-after", "yesterday"]), "--created-after");
    refused(
        &run(store, &["get-instances", "--runtime-status", "Sleeping"]),
        "unknown runtime status `Sleeping`",
    );

    // purge-history by filter: piped, no progress is drawn.
    let purged = run(
        store,
        &[
            "purge-history",
            "--runtime-status",
            "Terminated",
            "--created-after",
            "2000-01-01T00:00:00Z",
        ],
    );
    assert_eq!(json_of(&purged), json!({ "instancesDeleted": 1 }));
    assert!(String::from_utf8_lossy(&purged.stderr).trim().is_empty(), "quiet when piped");
    refused(&run(store, &["get-runtime-status", "--id", "ap-2"]), "no instance with id `ap-2`");
    refused(&run(store, &["purge-history", "--runtime-status", "Running"]), "Running");

    // delete-task-hub, once nothing serves it: everything goes, running instances too.
    ok(&run(
        store,
        &[
            "start-new",
            "--function-name",
            "ApprovalWorkflow",
            "--id",
            "ap-3",
            "--input",
            "\"order\"",
        ],
    ));
    wait_for(store, "ap-3", "Running");
    drop(server);
    assert_eq!(json_of(&run(store, &["delete-task-hub"])), json!({ "instancesDeleted": 3 }));
    assert!(ids(&json_of(&run(store, &["get-instances"]))).is_empty());
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|status| status["instanceId"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Waiting for an instance that never finishes, from `start`: on a terminal (a pseudo
/// terminal made by `script`) stderr shows the wait; piped, it shows nothing.
fn progress_shows_on_a_terminal_only(store: &TestStore) {
    let _server = Serving::start(command(store, &["serve"]));
    let binary = env!("CARGO_BIN_EXE_durable-samples");
    let wait = "start ApprovalWorkflow --id never --input '\"order\"' --timeout 2";
    let mut on_terminal = Command::new("script");
    on_terminal.args(["-qec", &format!("{binary} {wait}"), "/dev/null"]).env("RUST_LOG", "warn");
    store.apply(&mut on_terminal);
    let shown = on_terminal.output().unwrap();
    let terminal = String::from_utf8_lossy(&shown.stdout);
    assert!(terminal.contains("waiting for instance never to finish"), "{terminal}");

    let piped = run(
        store,
        &["start", "ApprovalWorkflow", "--id", "never-2", "--input", "\"order\"", "--timeout", "2"],
    );
    assert!(!piped.status.success(), "the wait times out");
    let stderr = String::from_utf8_lossy(&piped.stderr);
    assert!(!stderr.contains("waiting for instance"), "{stderr}");
}
