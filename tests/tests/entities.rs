//! Entities end to end, on both stores: Azure's Counter sample signalled through the client
//! is created by its first signal, runs its operations in order, and keeps its state in the
//! store; `delete` removes it.

use std::time::Duration;

use chrono::Utc;
use durable::OrchestrationRuntimeStatus::Completed;
use durable::prelude::*;
use durable::{DurableError, EntityId};
use durable_tests::stores::TestStore;
use durable_tests::wait_for;

// The samples' registrations, the Counter among them.
use durable_examples as _;

fn signals_reach_the_counter_in_order(store: &TestStore) {
    durable_tests::runtime().block_on(async {
        let app = store.start_app().await;
        let client = app.client();
        let counter = EntityId::new("Counter", "k1").unwrap();
        assert_eq!(counter.to_string(), "@counter@k1");

        let before = client.read_entity_state::<i32>(&counter).await.unwrap();
        assert!(!before.entity_exists, "nothing signalled it yet");
        for amount in [5, 3, 2] {
            client.signal_entity(&counter, "add", amount).await.unwrap();
        }
        let state = wait_for("the counter to reach 10", Duration::from_secs(30), || async {
            let read = client.read_entity_state::<i32>(&counter).await.unwrap();
            (read.entity_state == Some(10)).then_some(read)
        })
        .await;
        assert!(state.entity_exists);

        // Bad input from the client: a clear error, and nothing written.
        let wrong_type = client.read_entity_state::<String>(&counter).await.err();
        assert!(
            matches!(&wrong_type, Some(DurableError::EntityState { entity_id, .. }) if entity_id == "@counter@k1"),
            "{wrong_type:?}"
        );
        let unnamed = client.signal_entity(&counter, "", 1).await.err();
        assert!(
            matches!(&unnamed, Some(DurableError::InvalidRequest { message }) if message.contains("operation name")),
            "{unnamed:?}"
        );

        // Operation names ignore case, as the sample lower-cases them; an input of the wrong
        // type fails that operation only.
        client.signal_entity(&counter, "Reset", ()).await.unwrap();
        client.signal_entity(&counter, "add", "not a number").await.unwrap();
        client.signal_entity(&counter, "ADD", 7).await.unwrap();
        wait_for("reset then add 7", Duration::from_secs(30), || async {
            let read = client.read_entity_state::<i32>(&counter).await.unwrap();
            (read.entity_state == Some(7)).then_some(())
        })
        .await;

        client.signal_entity(&counter, "delete", ()).await.unwrap();
        wait_for("the counter to be deleted", Duration::from_secs(30), || async {
            let read = client.read_entity_state::<i32>(&counter).await.unwrap();
            (!read.entity_exists).then_some(())
        })
        .await;
        // A signal after deletion creates it afresh.
        client.signal_entity(&counter, "add", 1).await.unwrap();
        wait_for("the counter to come back at 1", Duration::from_secs(30), || async {
            let read = client.read_entity_state::<i32>(&counter).await.unwrap();
            (read.entity_state == Some(1)).then_some(())
        })
        .await;
        app.shutdown().await;
    });
}

/// Forwards: signals the Counter named by its input, now and again a little later, and
/// starts a HelloSequence under the id `hello-<key>`.
#[entity_trigger(name = "Relay")]
async fn relay(ctx: DurableEntityContext) -> Result<(), EntityError> {
    let key: String = ctx.get_input()?;
    let counter = EntityId::new("Counter", key).expect("`Counter` is a valid entity name");
    ctx.signal_entity(&counter, "add", 1)?;
    let later = Utc::now() + chrono::Duration::milliseconds(300);
    ctx.signal_entity_at(&counter, later, "add", 10)?;
    let started = ctx.start_new_orchestration("E1_HelloSequence", ())?;
    ctx.set_state(started)?;
    Ok(())
}

fn entities_signal_entities_and_start_orchestrations(store: &TestStore) {
    durable_tests::runtime().block_on(async {
        let app = store.start_app().await;
        let client = app.client();
        let relay = EntityId::new("Relay", "r1").unwrap();
        let counter = EntityId::new("Counter", "fresh").unwrap();
        let signalled = Utc::now();
        client.signal_entity(&relay, "forward", "fresh").await.unwrap();

        // The counter did not exist: the relay's signal created it.
        wait_for("the relay's first signal", Duration::from_secs(30), || async {
            let read = client.read_entity_state::<i32>(&counter).await.unwrap();
            (read.entity_state.is_some()).then_some(())
        })
        .await;
        // The scheduled one lands no earlier than it was due.
        wait_for("the relay's scheduled signal", Duration::from_secs(30), || async {
            let read = client.read_entity_state::<i32>(&counter).await.unwrap();
            (read.entity_state == Some(11)).then_some(())
        })
        .await;
        assert!(Utc::now() - signalled >= chrono::Duration::milliseconds(300));

        let started: String = client.read_entity_state(&relay).await.unwrap().entity_state.unwrap();
        let status = client.wait_for_completion(&started, Duration::from_secs(30)).await.unwrap();
        assert_eq!(status.runtime_status, Completed);
        assert_eq!(status.name, "E1_HelloSequence");
        app.shutdown().await;
    });
}

durable_tests::on_both_stores!(
    signals_reach_the_counter_in_order,
    entities_signal_entities_and_start_orchestrations
);
