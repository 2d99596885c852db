//! The sample app binary as a user runs it: `start` prints the output, bad input fails
//! clearly, `status` and `queues` read the store.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

fn samples(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_durable-samples"))
        .args(args)
        .current_dir(dir)
        .env("DURABLE_DB", dir.join("durable.db"))
        .env("DURABLE_BACKUP_DIR", dir.join("backups"))
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn stdout_json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn start_runs_hello_sequence_and_prints_its_output() {
    let dir = tempfile::tempdir().unwrap();
    // The largest timeout is accepted (it saturates instead of overflowing the clock).
    let output = samples(
        dir.path(),
        &[
            "start",
            "E1_HelloSequence",
            "--instance-id",
            "hello",
            "--timeout",
            "18446744073709551615",
        ],
    );
    assert_eq!(
        stdout_json(&output),
        json!(["Hello Tokyo!", "Hello Seattle!", "Hello London!"])
    );
    let status = stdout_json(&samples(dir.path(), &["status", "hello", "--history"]));
    assert_eq!(status["runtimeStatus"], "Completed");
    let types: Vec<&str> = status["historyEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["EventType"].as_str())
        .filter(|t| *t != "OrchestratorStarted")
        .collect();
    assert_eq!(types, durable_tests::HELLO_SEQUENCE_HISTORY);
}

#[test]
fn backup_site_content_copies_every_file_and_prints_the_total() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    std::fs::create_dir_all(site.join("css/deep")).unwrap();
    let files = [
        ("index.html", 1200usize),
        ("css/site.css", 300),
        ("css/deep/x.bin", 4096),
    ];
    for (name, size) in files {
        std::fs::write(site.join(name), vec![b'x'; size]).unwrap();
    }
    let input = serde_json::to_string(&site).unwrap();
    let output = samples(
        dir.path(),
        &["start", "E2_BackupSiteContent", "--input", &input],
    );
    assert_eq!(stdout_json(&output), json!(1200 + 300 + 4096));
    let backup = dir
        .path()
        .join("backups")
        .join(site.strip_prefix("/").unwrap());
    for (name, size) in files {
        let copied = std::fs::read(backup.join(name)).unwrap();
        assert_eq!(copied.len(), size, "{name}");
    }
}

#[test]
fn bad_input_fails_with_a_clear_message_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (
            &["start", "E9_Missing", "--instance-id", "a"],
            "no orchestrator function named `E9_Missing`",
        ),
        (
            &[
                "start",
                "E2_BackupSiteContent",
                "--input",
                "42",
                "--instance-id",
                "b",
            ],
            "invalid input for `E2_BackupSiteContent`",
        ),
        (
            &["start", "E1_HelloSequence", "--instance-id", "../c"],
            "invalid instance id `../c`",
        ),
        (
            &["start", "E1_HelloSequence", "--input", "{not json"],
            "--input",
        ),
    ];
    for (args, expected) in cases {
        let output = samples(dir.path(), args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    for id in ["a", "b", "../c"] {
        let output = samples(dir.path(), &["status", id]);
        assert!(!output.status.success());
    }
    let queues = samples(dir.path(), &["queues"]);
    let listing = String::from_utf8_lossy(&queues.stdout);
    assert!(listing.contains("E1_HelloSequence"), "{listing}");
    assert!(
        listing
            .lines()
            .skip(1)
            .all(|line| line.trim_end().ends_with(" 0")),
        "{listing}"
    );
}
