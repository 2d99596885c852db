//! The sample app binary as a user runs it: `start` prints the output, bad input fails
//! clearly, `status` and `queues` read the store. Every test runs on both stores: an SQLite
//! file and a PostgreSQL hub.

use std::process::{Command, Output};

use durable_tests::stores::TestStore;
use durable_tests::{Serving, on_both_stores};
use serde_json::{Value, json};

on_both_stores!(
    start_runs_hello_sequence_and_prints_its_output,
    backup_site_content_copies_every_file_and_prints_the_total,
    bad_input_fails_with_a_clear_message_and_writes_nothing,
    instances_are_controlled_from_the_command_line,
);

fn command(store: &TestStore, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_durable-samples"));
    command.args(args).env("DURABLE_BACKUP_DIR", store.path().join("backups"));
    store.apply(&mut command);
    command
}

fn samples(store: &TestStore, args: &[&str]) -> Output {
    command(store, args).env("RUST_LOG", "warn").output().unwrap()
}

fn stdout_ok(output: &Output) -> Vec<u8> {
    assert!(output.status.success(), "failed: {}", String::from_utf8_lossy(&output.stderr));
    output.stdout.clone()
}

fn stdout_json(output: &Output) -> Value {
    assert!(output.status.success(), "failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn start_runs_hello_sequence_and_prints_its_output(store: &TestStore) {
    // The largest timeout is accepted (it saturates instead of overflowing the clock).
    let output = samples(
        store,
        &[
            "start",
            "E1_HelloSequence",
            "--instance-id",
            "hello",
            "--timeout",
            "18446744073709551615",
        ],
    );
    assert_eq!(stdout_json(&output), json!(["Hello Tokyo!", "Hello Seattle!", "Hello London!"]));
    let status = stdout_json(&samples(store, &["status", "hello", "--history"]));
    assert_eq!(status["runtimeStatus"], "Completed");
    let types = durable_tests::event_types(&status["historyEvents"]);
    assert_eq!(types, durable_tests::HELLO_SEQUENCE_HISTORY);
}

fn backup_site_content_copies_every_file_and_prints_the_total(store: &TestStore) {
    let site = store.path().join("site");
    std::fs::create_dir_all(site.join("css/deep")).unwrap();
    let files = [("index.html", 1200usize), ("css/site.css", 300), ("css/deep/x.bin", 4096)];
    for (name, size) in files {
        std::fs::write(site.join(name), vec![b'x'; size]).unwrap();
    }
    let input = serde_json::to_string(&site).unwrap();
    let output = samples(store, &["start", "E2_BackupSiteContent", "--input", &input]);
    assert_eq!(stdout_json(&output), json!(1200 + 300 + 4096));
    let backup = store.path().join("backups").join(site.strip_prefix("/").unwrap());
    for (name, size) in files {
        let copied = std::fs::read(backup.join(name)).unwrap();
        assert_eq!(copied.len(), size, "{name}");
    }
}

fn bad_input_fails_with_a_clear_message_and_writes_nothing(store: &TestStore) {
    let cases: [(&[&str], &str); 4] = [
        (
            &["start", "E9_Missing", "--instance-id", "a"],
            "no orchestrator function named `E9_Missing`",
        ),
        (
            &["start", "E2_BackupSiteContent", "--input", "42", "--instance-id", "b"],
            "invalid input for `E2_BackupSiteContent`",
        ),
        (&["start", "E1_HelloSequence", "--instance-id", "../c"], "invalid instance id `../c`"),
        (&["start", "E1_HelloSequence", "--input", "{not json"], "--input"),
    ];
    for (args, expected) in cases {
        let output = samples(store, args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    for id in ["a", "b", "../c"] {
        let output = samples(store, &["status", id]);
        assert!(!output.status.success());
    }
    let queues = samples(store, &["queues"]);
    let listing = String::from_utf8_lossy(&queues.stdout);
    assert!(listing.contains("E1_HelloSequence"), "{listing}");
    assert!(listing.lines().skip(1).all(|line| line.trim_end().ends_with(" 0")), "{listing}");
}

fn status_of(store: &TestStore, id: &str) -> Value {
    stdout_json(&samples(store, &["status", id, "--show-output"]))
}

fn wait_for_status(store: &TestStore, id: &str, wanted: &str) -> Value {
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let status = status_of(store, id);
        if status["runtimeStatus"] == wanted {
            return status;
        }
        assert!(std::time::Instant::now() < give_up, "{id} never became {wanted}: {status}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn instances_are_controlled_from_the_command_line(store: &TestStore) {
    // Serving the hub before `start` below, which would else take the hub first.
    let _server = Serving::start(command(store, &["serve"]));
    // `start` hands the instance to the serving process.
    let started = samples(
        store,
        &[
            "start",
            "ApprovalWorkflow",
            "--input",
            "\"purchase order 17\"",
            "--instance-id",
            "po-17",
            "--no-wait",
        ],
    );
    let id = String::from_utf8(stdout_ok(&started)).unwrap().trim().to_owned();
    assert_eq!(id, "po-17");
    wait_for_status(store, &id, "Running");

    assert!(samples(store, &["suspend", &id, "--reason", "lunch"]).status.success());
    wait_for_status(store, &id, "Suspended");
    assert!(
        samples(store, &["raise-event", &id, "ApprovalEvent", "--data", "true"]).status.success()
    );
    // Held while suspended.
    assert_eq!(wait_for_status(store, &id, "Suspended")["output"], Value::Null);
    assert!(samples(store, &["resume", &id]).status.success());
    let done = wait_for_status(store, &id, "Completed");
    assert_eq!(done["output"], json!("Approved"));

    let listed = stdout_json(&samples(store, &["list", "--status", "completed"]));
    assert!(listed.as_array().unwrap().iter().any(|s| s["instanceId"] == "po-17"), "{listed}");
    // Refusals name what is wrong and change nothing.
    let refused = samples(store, &["rewind", &id]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("only failed instances can be rewound")
    );
    let refused = samples(store, &["raise-event", &id, "ApprovalEvent", "--data", "{oops"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--event-data"));

    let purged = stdout_json(&samples(store, &["purge", &id]));
    assert_eq!(purged, json!({ "instancesDeleted": 1 }));
    let gone = samples(store, &["status", &id]);
    assert!(!gone.status.success());
    assert!(String::from_utf8_lossy(&gone.stderr).contains("no instance with id `po-17`"));
}
