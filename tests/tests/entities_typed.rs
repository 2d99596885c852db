//! Struct-based entities end to end, on both stores: the class-based Counter sample
//! (`CounterClass`) driven through its typed proxies, by a client and by an orchestration; its
//! implicit `delete`; an unknown operation; and `DurableEntityContext::current()` in a method.

use std::time::Duration;

use durable::OrchestrationRuntimeStatus::Completed;
use durable::prelude::*;
use durable_examples::counter_class::Counter;
use durable_tests::stores::TestStore;
use durable_tests::wait_for;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Waits until the `CounterClass` `key` holds `value`.
async fn wait_for_count(client: &DurableOrchestrationClient, key: &str, value: i32) {
    wait_for(&format!("counter `{key}` to reach {value}"), Duration::from_secs(30), || async {
        let read = client.entity::<Counter>(key).read_state().await.unwrap();
        read.entity_state.filter(|c| c.current_value == value).map(drop)
    })
    .await;
}

fn typed_signals_reach_the_struct_counter(store: &TestStore) {
    durable_tests::runtime().block_on(async {
        let app = store.start_app().await;
        let client = app.client();
        let counter = client.entity::<Counter>("k1");
        assert!(!counter.read_state().await.unwrap().entity_exists, "nothing signalled it yet");

        counter.signal().add(5).await.unwrap();
        counter.signal().add(3).await.unwrap();
        wait_for_count(&client, "k1", 8).await;
        counter.signal().reset().await.unwrap();
        counter.signal().add(4).await.unwrap();
        wait_for_count(&client, "k1", 4).await;

        // The state is Azure's shape, under the lower-cased name.
        let id = EntityId::new("CounterClass", "k1").unwrap();
        assert_eq!(id.to_string(), "@counterclass@k1");
        let raw = client.read_entity_state::<serde_json::Value>(&id).await.unwrap();
        assert_eq!(raw.entity_state, Some(json!({ "value": 4 })));

        // Operation names ignore case, as C# callers send `Add`; an operation the entity does
        // not have fails alone, and the entity runs the next ones.
        client.signal_entity(&id, "multiply", 2).await.unwrap();
        client.signal_entity(&id, "Add", 6).await.unwrap();
        wait_for_count(&client, "k1", 10).await;

        // The implicit `delete`.
        counter.signal().delete().await.unwrap();
        wait_for("the counter to be deleted", Duration::from_secs(30), || async {
            (!counter.read_state().await.unwrap().entity_exists).then_some(())
        })
        .await;
        app.shutdown().await;
    });
}

/// Calls `key`'s counter from an orchestration through the typed proxy: `add(5)`, then
/// `get()`.
#[orchestration_trigger]
async fn add_then_get(
    context: DurableOrchestrationContext,
    key: String,
) -> Result<i32, FunctionFailed> {
    let counter = context.entity::<Counter>(&key);
    counter.add(5).await?;
    counter.get().await
}

/// Calls an operation the counter does not have, then `add(1)` and `get()`: returns the
/// failure's message and the count.
#[orchestration_trigger]
async fn call_unknown_then_add(
    context: DurableOrchestrationContext,
    key: String,
) -> Result<(String, i32), FunctionFailed> {
    let id = EntityId::new("CounterClass", &key).expect("`CounterClass` is a valid entity name");
    let unknown = context.call_entity::<()>(&id, "multiply", 2).await;
    let message = match unknown {
        Ok(()) => "no failure".to_owned(),
        Err(failed) => failed.details.error_message,
    };
    context.entity::<Counter>(&key).add(1).await?;
    Ok((message, context.entity::<Counter>(&key).get().await?))
}

fn orchestrations_call_the_struct_counter(store: &TestStore) {
    durable_tests::runtime().block_on(async {
        let app = store.start_app().await;
        let client = app.client();

        let id = client.start_new("add_then_get", None, "k2").await.unwrap();
        let status = client.wait_for_completion(&id, Duration::from_secs(30)).await.unwrap();
        assert_eq!(status.runtime_status, Completed, "{status:?}");
        assert_eq!(status.output, json!(5));

        // An unknown operation fails that call only: the entity runs the next ones.
        let id = client.start_new("call_unknown_then_add", None, "k2").await.unwrap();
        let status = client.wait_for_completion(&id, Duration::from_secs(30)).await.unwrap();
        assert_eq!(status.runtime_status, Completed, "{status:?}");
        let (message, count): (String, i32) = serde_json::from_value(status.output).unwrap();
        assert!(
            message.contains("@counterclass@k2")
                && message.contains("`multiply`")
                && message.contains("`add`, `reset`, `get`, `delete`"),
            "{message}"
        );
        assert_eq!(count, 6);
        app.shutdown().await;
    });
}

/// Forwards what it is given to the `CounterClass` of the same key, through
/// `DurableEntityContext::current()`, and counts what it forwarded.
#[derive(Default, Serialize, Deserialize)]
pub struct Forwarder {
    forwarded: i32,
    key: String,
}

#[entity_trigger]
impl Forwarder {
    /// Signals `add(amount)` to the counter keyed like this forwarder.
    pub fn forward(&mut self, amount: i32) -> Result<(), EntityError> {
        let ctx = DurableEntityContext::current().expect("a method runs inside an operation");
        let counter = EntityId::new("CounterClass", ctx.entity_key())
            .expect("`CounterClass` is a valid entity name");
        ctx.signal_entity(&counter, "add", amount)?;
        self.forwarded += amount;
        self.key = ctx.entity_key().to_owned();
        Ok(())
    }
}

fn methods_reach_their_context(store: &TestStore) {
    durable_tests::runtime().block_on(async {
        let app = store.start_app().await;
        let client = app.client();
        let forwarder = client.entity::<Forwarder>("k3");
        forwarder.signal().forward(2).await.unwrap();
        forwarder.signal().forward(5).await.unwrap();
        wait_for_count(&client, "k3", 7).await;
        let state = forwarder.read_state().await.unwrap().entity_state.unwrap();
        assert_eq!((state.forwarded, state.key.as_str()), (7, "k3"));
        app.shutdown().await;
    });
}

durable_tests::on_both_stores!(
    typed_signals_reach_the_struct_counter,
    methods_reach_their_context,
    orchestrations_call_the_struct_counter
);
