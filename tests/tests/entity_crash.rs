//! Critical sections survive a crash: the samples run as a child process on a SQLite file, an
//! orchestration locks one of four `Account` entities and holds it, 50 concurrent bank
//! transfers between the accounts are started (those that need the held account queue behind
//! its lock, the others run), the process is SIGKILLed while they run and restarted, and the holder is let go. Every transfer completes, the money is conserved,
//! and no account is left locked: a lock's grant and release are committed with the entity's
//! state, so a crash never orphans one.

use std::path::Path;
use std::process::Child;
use std::time::Duration;

use durable::OrchestrationRuntimeStatus::Completed;
use durable::app::{HostConfig, StorageConfig};
use durable::{DurableOrchestrationClient, EntityId, FunctionApp};
use durable_tests::wait_for;
use serde_json::{Value, json};

// The test process starts instances as a client, so it needs their registrations.
use durable_examples as _;
use durable_tests::test_app::HoldAccounts;

const TRANSFERS: usize = 50;
const ACCOUNTS: [&str; 4] = ["alice", "bob", "carol", "dave"];

fn serve(dir: &Path, log: &Path) -> Child {
    let binary = env!("CARGO_BIN_EXE_test_app");
    durable_tests::serve_app(binary, dir, log, &[("RUST_LOG", "warn".as_ref())])
}

async fn completed(client: &DurableOrchestrationClient) -> usize {
    let mut done = 0;
    for i in 0..TRANSFERS {
        let status = client.get_status(&format!("transfer-{i}")).await.unwrap();
        done += usize::from(status.is_some_and(|s| s.runtime_status == Completed));
    }
    done
}

/// An account's stored record: its balance, lock and backlog.
async fn record(client: &DurableOrchestrationClient, key: &str) -> Value {
    let id = EntityId::new("Account", key).unwrap().to_string();
    client.get_status(&id).await.unwrap().unwrap().input
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_transfers_conserves_money_and_orphans_no_lock() {
    let dir = tempfile::tempdir().unwrap();
    let first_log = dir.path().join("serve-1.log");
    let mut first = serve(dir.path(), &first_log);
    let client = FunctionApp::new(HostConfig {
        storage: StorageConfig::Sqlite { path: dir.path().join("durable.db") },
        ..HostConfig::default()
    })
    .connect()
    .await
    .unwrap();
    for key in ACCOUNTS {
        client.signal_entity(&EntityId::new("Account", key).unwrap(), "add", 100).await.unwrap();
    }
    wait_for("the accounts to be funded", Duration::from_secs(60), || async {
        let mut funded = 0;
        for key in ACCOUNTS {
            funded += usize::from(record(&client, key).await["state"] == json!(100));
        }
        (funded == ACCOUNTS.len()).then_some(())
    })
    .await;
    client
        .start(HoldAccounts, Some("holder"), vec!["alice".to_owned(), "carol".to_owned()])
        .await
        .unwrap();
    wait_for("the holder to lock alice", Duration::from_secs(60), || async {
        (record(&client, "alice").await["lock"]["owner"] == "holder").then_some(())
    })
    .await;
    for i in 0..TRANSFERS {
        let transfer = json!({
            "SourceId": ACCOUNTS[i % 4],
            "DestinationId": ACCOUNTS[(i * 3 + 1) % 4],
            "Amount": 30 + i % 7,
        });
        let id = format!("transfer-{i}");
        client.start_new("TransferFunds", Some(&id), transfer).await.unwrap();
    }
    // Killed while transfers wait behind the held lock and others run.
    wait_for("a transfer to wait for alice", Duration::from_secs(60), || async {
        record(&client, "alice").await.get("backlog").map(|_| ())
    })
    .await;
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let done_at_kill = completed(&client).await;
    println!("transfers completed when killed: {done_at_kill}/{TRANSFERS}");
    assert!(done_at_kill < TRANSFERS, "the kill came too late to test anything");

    let second_log = dir.path().join("serve-2.log");
    let mut second = serve(dir.path(), &second_log);
    client.raise_event("holder", "go", ()).await.unwrap();
    let holder = client.wait_for_completion("holder", Duration::from_secs(60)).await.unwrap();
    assert_eq!(holder.runtime_status, Completed);
    wait_for("every transfer to complete", Duration::from_secs(120), || async {
        (completed(&client).await == TRANSFERS).then_some(())
    })
    .await;
    // The last transfers' releases are sent with their completion; the accounts apply them
    // right after.
    wait_for("every account to be unlocked", Duration::from_secs(60), || async {
        for key in ACCOUNTS {
            let record = record(&client, key).await;
            if record.get("lock").is_some() || record.get("backlog").is_some() {
                return None;
            }
        }
        Some(())
    })
    .await;
    second.kill().unwrap();
    second.wait().unwrap();

    let mut total = 0;
    for key in ACCOUNTS {
        let record = record(&client, key).await;
        let balance = record["state"].as_i64().unwrap();
        assert!(balance >= 0, "{key} is overdrawn: {balance}");
        total += balance;
    }
    assert_eq!(total, 400, "money is conserved");
}
