//! The invariant checker the failover tests rely on finds what it looks for: a whole hub
//! passes, and each kind of damage, written into the tables by hand, is reported.

use std::time::Duration;

use durable::FunctionApp;
use durable::OrchestrationRuntimeStatus::Completed;
use durable_tests::cluster::check_invariants;
use durable_tests::stores::{TestStore, hub_schema, psql};
use serde_json::json;

// The samples' registrations.
use durable_examples as _;

const HELLO: [&str; 3] = ["Hello Tokyo!", "Hello Seattle!", "Hello London!"];

/// Whether the checker rejects the hub, and with which message.
fn rejected(store: &TestStore) -> Option<String> {
    let (url, hub) = (store.db.clone(), store.hub.clone());
    let checked = std::panic::catch_unwind(move || {
        check_invariants(&url, &hub, |id| (id == "hello").then(|| json!(HELLO)));
    });
    checked.err().map(|panic| {
        panic.downcast_ref::<String>().cloned().unwrap_or_else(|| "(no message)".to_owned())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checker_reports_each_kind_of_damage() {
    let store = TestStore::postgres();
    let mut config = store.config();
    config.http.listen = None;
    let app = FunctionApp::new(config).start().await.unwrap();
    let client = app.client();
    client.start_new("E1_HelloSequence", Some("hello"), json!(null)).await.unwrap();
    let status = client.wait_for_completion("hello", Duration::from_secs(30)).await.unwrap();
    assert_eq!(status.runtime_status, Completed);
    app.shutdown().await;
    assert_eq!(rejected(&store), None, "a whole hub passes");

    let schema = hub_schema(&store.hub);
    let history = format!("\"{schema}\".history");
    let last = psql(&store.db, &format!("SELECT max(seq) FROM {history}"));
    let completion = psql(
        &store.db,
        &format!("SELECT event FROM {history} WHERE event LIKE '%\"TaskCompleted\"%' LIMIT 1"),
    );
    let damages = [
        // A completion applied twice.
        (
            format!(
                "INSERT INTO {history} SELECT instance_id, execution_id, {last} + 1, event \
                 FROM {history} WHERE event = '{}' LIMIT 1; \
                 UPDATE \"{schema}\".instances SET history_len = history_len + 1",
                completion.replace('\'', "''")
            ),
            "completed 2 times",
        ),
        // A missing event: a gap in the sequence numbers.
        (format!("DELETE FROM {history} WHERE seq = 1"), "sequence numbers"),
        // A wrong output.
        (format!("UPDATE \"{schema}\".instances SET output = '\"nope\"'"), "expected Completed"),
    ];
    for (damage, report) in damages {
        psql(&store.db, &damage);
        let message = rejected(&store).unwrap_or_else(|| panic!("`{damage}` went unnoticed"));
        assert!(message.contains(report), "`{damage}`: {message}");
    }
}
