//! Orchestrations and entities, on both stores: calls await results (and failures), signals
//! are one-way, and critical sections lock entities in one global order, keep to their rules,
//! and release their locks however the orchestration ends.

use std::time::Duration;

use durable::EntityId;
use durable::OrchestrationRuntimeStatus::{Completed, Failed, Terminated};
use durable::prelude::*;
use durable_tests::stores::TestStore;
use durable_tests::wait_for;
use serde_json::{Value, json};

// The samples' registrations: the Counter, the Account and TransferFunds among them.
use durable_examples as _;

const DEADLINE: Duration = Duration::from_secs(60);

fn counter(key: &str) -> EntityId {
    EntityId::new("Counter", key).unwrap()
}

#[derive(Debug)]
struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("picky refuses")
    }
}

impl std::error::Error for Refused {}

impl From<EntityError> for Refused {
    fn from(_: EntityError) -> Self {
        Refused
    }
}

/// Fails when asked to `fail`: the caller sees the failure, the entity goes on.
#[entity_trigger(name = "Picky")]
async fn picky(ctx: DurableEntityContext) -> Result<(), Refused> {
    if ctx.operation_name() == "fail" {
        return Err(Refused);
    }
    ctx.set_state(ctx.get_state::<i64>()? + 1)?;
    Ok(ctx.return_value(ctx.get_state::<i64>()?)?)
}

/// Calls and signals the Counter named by its input; reports what it saw.
#[orchestration_trigger(name = "UseCounter")]
async fn use_counter(
    ctx: DurableOrchestrationContext,
    key: String,
) -> Result<Value, FunctionFailed> {
    let id = EntityId::new("Counter", key)?;
    ctx.call_entity::<()>(&id, "add", 5).await?;
    ctx.signal_entity(&id, "add", 3);
    // Messages from one orchestration to one entity keep their order: the signal ran first.
    let after_signal: i32 = ctx.call_entity(&id, "get", ()).await?;
    let picky = EntityId::new("Picky", "p")?;
    let failed = ctx.call_entity::<i64>(&picky, "fail", ()).await.err();
    let picky_after: i64 = ctx.call_entity(&picky, "count", ()).await?;
    let missing = EntityId::new("NoSuchEntity", "x")?;
    let not_found = ctx.call_entity::<()>(&missing, "get", ()).await.err();
    Ok(json!({
        "afterSignal": after_signal,
        "failure": failed.map(|f| f.details.to_string()),
        "pickyAfter": picky_after,
        "notFound": not_found.map(|f| f.details.error_type.to_string()),
    }))
}

fn calls_await_results_and_failures(store: &TestStore) {
    durable_tests::runtime().block_on(async {
        let app = store.start_app().await;
        let client = app.client();
        let id = client.start_new("UseCounter", None, "calls").await.unwrap();
        let status = client.wait_for_completion(&id, DEADLINE).await.unwrap();
        assert_eq!(status.runtime_status, Completed, "{:?}", status.failure_details);
        assert_eq!(
            status.output,
            json!({
                "afterSignal": 8,
                "failure": "entity_orchestrations::Refused: picky refuses",
                "pickyAfter": 1,
                "notFound": "FunctionNotFound",
            })
        );
        let read = client.read_entity_state::<i32>(&counter("calls")).await.unwrap();
        assert_eq!(read.entity_state, Some(8));
        // The calls are in the orchestration's history as events sent to the entities.
        let history = client.get_status_with_history(&id).await.unwrap().unwrap().history;
        let sent = history.iter().flatten().filter(|e| e.kind.type_name() == "EventSent").count();
        assert_eq!(sent, 6, "add, the signal, get, fail, count, and the call to NoSuchEntity");
        app.shutdown().await;
    });
}

/// Locks the two Counters of its input (in the order given), adds one to each inside, and
/// checks the rules of critical sections along the way.
#[orchestration_trigger(name = "LockBoth")]
async fn lock_both(
    ctx: DurableOrchestrationContext,
    keys: (String, String),
) -> Result<Value, FunctionFailed> {
    let first = EntityId::new("Counter", keys.0)?;
    let second = EntityId::new("Counter", keys.1)?;
    let outsider = EntityId::new("Counter", "outsider")?;
    assert!(!ctx.is_locked());
    let guard = ctx.lock(&[first.clone(), second.clone()]).await?;
    let locked = ctx.is_locked();
    let locked_entities = ctx.locked_entities();
    let outside = ctx.call_entity::<()>(&outsider, "add", 1).await.err();
    let nested = ctx.lock(&[outsider]).await.err();
    let sub = ctx.call_sub_orchestrator::<Value>("E1_HelloSequence", None, ()).await.err();
    // Locked entities may be called in parallel.
    let adds = [ctx.call_entity::<()>(&first, "add", 1), ctx.call_entity::<()>(&second, "add", 1)];
    when_all(adds).await?;
    drop(guard);
    let rule = |f: Option<FunctionFailed>| f.map(|f| f.details.error_type.to_string());
    Ok(json!({
        "locked": locked,
        "lockedEntities": locked_entities,
        "unlockedAfter": !ctx.is_locked(),
        "outside": rule(outside),
        "nested": rule(nested),
        "sub": rule(sub),
    }))
}

fn critical_sections_lock_in_one_order_and_keep_their_rules(store: &TestStore) {
    durable_tests::runtime().block_on(async {
        let app = store.start_app().await;
        let client = app.client();
        // Twenty pairs lock {a, b} as (a, b), twenty as (b, a): no deadlock, no lost update.
        let mut ids = Vec::new();
        for i in 0..40 {
            let keys = if i % 2 == 0 { ("a", "b") } else { ("b", "a") };
            ids.push(client.start_new("LockBoth", None, keys).await.unwrap());
        }
        for id in &ids {
            let status = client.wait_for_completion(id, DEADLINE).await.unwrap();
            assert_eq!(status.runtime_status, Completed, "{id}: {:?}", status.failure_details);
            assert_eq!(
                status.output,
                json!({
                    "locked": true,
                    "lockedEntities": ["@counter@a", "@counter@b"],
                    "unlockedAfter": true,
                    "outside": "LockingRulesViolation",
                    "nested": "LockingRulesViolation",
                    "sub": "LockingRulesViolation",
                })
            );
        }
        for key in ["a", "b"] {
            let read = client.read_entity_state::<i32>(&counter(key)).await.unwrap();
            assert_eq!(read.entity_state, Some(40), "counter {key}");
        }
        let outsider = client.read_entity_state::<i32>(&counter("outsider")).await.unwrap();
        assert!(!outsider.entity_exists, "a refused call sends nothing");
        app.shutdown().await;
    });
}

/// Locks the Counter of its input, then waits for an event it never gets, or panics.
#[orchestration_trigger(name = "HoldLock")]
async fn hold_lock(
    ctx: DurableOrchestrationContext,
    how: (String, String),
) -> Result<(), FunctionFailed> {
    let id = EntityId::new("Counter", how.0)?;
    let _guard = ctx.lock(std::slice::from_ref(&id)).await?;
    ctx.call_entity::<()>(&id, "add", 1).await?;
    if how.1 == "panic" {
        panic!("the orchestration fails inside its critical section");
    }
    ctx.wait_for_external_event::<()>("never").await
}

fn locks_are_released_when_the_orchestration_ends(store: &TestStore) {
    durable_tests::runtime().block_on(async {
        let app = store.start_app().await;
        let client = app.client();
        for (key, how) in [("held-t", "wait"), ("held-p", "panic")] {
            let holder = client.start_new("HoldLock", None, (key, how)).await.unwrap();
            wait_for("the holder's add", DEADLINE, || async {
                let read = client.read_entity_state::<i32>(&counter(key)).await.unwrap();
                (read.entity_state == Some(1)).then_some(())
            })
            .await;
            // Someone else's signal waits for the lock…
            client.signal_entity(&counter(key), "add", 10).await.unwrap();
            if how == "wait" {
                // The entity took the signal in and set it aside: the lock holds it back.
                let entity = counter(key).to_string();
                wait_for("the signal to wait for the lock", DEADLINE, || async {
                    let record = client.get_status(&entity).await.unwrap().unwrap().input;
                    (record["backlog"].as_array().map(Vec::len) == Some(1)).then_some(())
                })
                .await;
                let read = client.read_entity_state::<i32>(&counter(key)).await.unwrap();
                assert_eq!(read.entity_state, Some(1), "the held-back signal has not run");
                client.terminate(&holder, "stop").await.unwrap();
            }
            let status = client.wait_for_completion(&holder, DEADLINE).await.unwrap();
            let expected = if how == "wait" { Terminated } else { Failed };
            assert_eq!(status.runtime_status, expected);
            // …and runs once the orchestration's end released it.
            wait_for("the held-back signal", DEADLINE, || async {
                let read = client.read_entity_state::<i32>(&counter(key)).await.unwrap();
                (read.entity_state == Some(11)).then_some(())
            })
            .await;
        }
        app.shutdown().await;
    });
}

fn concurrent_transfers_conserve_money(store: &TestStore) {
    durable_tests::runtime().block_on(async {
        let app = store.start_app().await;
        let client = app.client();
        let accounts = ["alice", "bob", "carol", "dave"];
        for key in accounts {
            client
                .signal_entity(&EntityId::new("Account", key).unwrap(), "add", 100)
                .await
                .unwrap();
        }
        let mut ids = Vec::new();
        for i in 0..50 {
            let transfer = json!({
                "SourceId": accounts[i % 4],
                "DestinationId": accounts[(i * 3 + 1) % 4],
                "Amount": 30 + i % 7,
            });
            ids.push(client.start_new("TransferFunds", None, transfer).await.unwrap());
        }
        let mut moved = 0;
        for id in &ids {
            let status = client.wait_for_completion(id, DEADLINE).await.unwrap();
            assert_eq!(status.runtime_status, Completed, "{id}: {:?}", status.failure_details);
            moved += usize::from(status.output == json!(true));
        }
        let mut total = 0;
        for key in accounts {
            let id = EntityId::new("Account", key).unwrap();
            let balance = client.read_entity_state::<i64>(&id).await.unwrap().entity_state;
            let balance = balance.unwrap();
            assert!(balance >= 0, "{key} overdrawn: {balance}");
            total += balance;
        }
        assert_eq!(total, 400, "money is conserved ({moved} transfers moved money)");
        assert!(moved > 0);
        app.shutdown().await;
    });
}

durable_tests::on_both_stores!(
    calls_await_results_and_failures,
    critical_sections_lock_in_one_order_and_keep_their_rules,
    locks_are_released_when_the_orchestration_ends,
    concurrent_transfers_conserve_money
);
