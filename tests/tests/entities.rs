//! Entities end to end, on both stores: Azure's Counter sample signalled through the client
//! is created by its first signal, runs its operations in order, and keeps its state in the
//! store; `delete` removes it.

use std::time::Duration;

use durable::{EntityId, FunctionApp};
use durable_tests::stores::TestStore;
use durable_tests::wait_for;

// The samples' registrations, the Counter among them.
use durable_examples as _;

fn signals_reach_the_counter_in_order(store: &TestStore) {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let mut config = store.config();
        config.http.listen = None;
        let app = FunctionApp::new(config).start().await.unwrap();
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

durable_tests::on_both_stores!(signals_reach_the_counter_in_order);
