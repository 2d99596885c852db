//! A claim that waits behind another process's commit must see what that commit did.
//!
//! The failover tests found, now and then, an activity result applied twice to one
//! instance's history (the same `TaskCompleted`, same timestamp, two turns in a row, no
//! warning logged). This test makes the suspected interleaving happen on purpose, against
//! the PostgreSQL backend itself: one session stands for a process committing a turn (it
//! consumes the instance's inbox and releases the instance's lock, in one transaction, and
//! holds the row lock until it commits), while the backend claims the same instance by id
//! (`try_lock_orchestration`, what a worker does for a local turn after an activity). The
//! claim waits for the row; once the other transaction commits, it must not hand out the
//! messages that transaction consumed.
//!
//! Runs on the machine's shared server (it stops nothing), in a hub of its own.

use std::sync::Arc;
use std::time::Duration;

use durable::backend::{Backend, NewInstance, PostgresBackend, PostgresOptions};
use durable_tests::stores::{TestStore, hub_schema};
use durable_tests::wait_for;

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_waiting_behind_a_commit_does_not_hand_out_what_it_consumed() {
    let store = TestStore::postgres();
    let url = store.db.clone();
    let options = PostgresOptions { hub_name: store.hub.clone(), ..PostgresOptions::default() };
    let backend = Arc::new(PostgresBackend::connect(&url, options).await.unwrap());
    assert!(backend.acquire_dispatch().await.unwrap(), "a shared store lets every handle dispatch");
    let instance_id = "race-1";
    backend
        .create_instance(NewInstance {
            instance_id: instance_id.to_owned(),
            name: "Fan_Out".to_owned(),
            execution_id: "e1".to_owned(),
            input: serde_json::json!(5),
            created_at: chrono::Utc::now(),
            version: String::new(),
            parent: None,
            start_at: None,
            trace: None,
        })
        .await
        .unwrap();
    let schema = format!("\"{}\"", hub_schema(&store.hub));

    // "Another process" commits a turn: it consumes the inbox (the start message) and
    // releases the instance, in one transaction that holds the instance's row meanwhile.
    let mut other = connect(&url).await;
    let turn = other.transaction().await.unwrap();
    let consumed = turn
        .execute(&format!("DELETE FROM {schema}.messages WHERE instance_id = $1"), &[&instance_id])
        .await
        .unwrap();
    assert_eq!(consumed, 1, "the start message was in the inbox");
    turn.execute(
        &format!(
            "UPDATE {schema}.instances SET lock_until = NULL, lock_owner = NULL, \
             history_len = history_len WHERE instance_id = $1"
        ),
        &[&instance_id],
    )
    .await
    .unwrap();

    // Meanwhile this process claims the instance by id; the claim waits for the row.
    let claim = {
        let backend = Arc::clone(&backend);
        tokio::spawn(async move { backend.try_lock_orchestration(instance_id).await })
    };
    let observer = connect(&url).await;
    let like = format!("%{}%", schema.trim_matches('"'));
    let waited =
        wait_for("the claim to wait for the instance's row", Duration::from_secs(10), || async {
            let waiting: i64 = observer
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity \
                 WHERE wait_event_type = 'Lock' AND query LIKE $1 AND query LIKE '%UPDATE%'",
                    &[&like],
                )
                .await
                .unwrap()
                .get(0);
            // A claim that finished without waiting fails below, with what it returned.
            if claim.is_finished() {
                return Some(false);
            }
            (waiting > 0).then_some(true)
        })
        .await;
    println!("the claim waited for the row: {waited}");
    turn.commit().await.unwrap();

    let claimed = tokio::time::timeout(Duration::from_secs(10), claim)
        .await
        .expect("the claim returns once the row is free")
        .unwrap()
        .unwrap();
    let Some(item) = claimed else {
        // Declining the claim is fine: the instance had no work left.
        println!("the claim declined the instance");
        return;
    };
    let kinds: Vec<String> = item
        .messages
        .iter()
        .map(|m| {
            serde_json::to_value(&m.event).unwrap()["EventType"].as_str().unwrap_or("?").to_owned()
        })
        .collect();
    println!("the claim handed out {} message(s): {kinds:?}", item.messages.len());
    let _ = backend.abandon_orchestration(&item.lock).await;
    assert!(
        item.messages.is_empty(),
        "the claim handed out {} message(s) ({kinds:?}) that the transaction it waited for had \
         already consumed: a worker would apply them a second time",
        item.messages.len()
    );
}
