//! A struct-based entity (Azure's class-based Counter, ported): its `pub fn`s are operations,
//! dispatched by name (ignoring case), with the implicit `delete`; its typed proxy is used from
//! an orchestrator and a client function.

use durable::entity::{
    EntityMessage, EntityRecord, OperationOutcome, OperationRequest, TurnOptions, run_turn,
};
use durable::prelude::*;
use durable::registry::Registry;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug)]
pub struct TooBig(i32);

impl std::fmt::Display for TooBig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is too big to double", self.0)
    }
}

#[derive(Serialize, Deserialize, Default)]
pub struct Counter {
    value: i32,
}

#[entity_trigger(name = "CounterClass")]
impl Counter {
    /// Adds `amount`.
    pub fn add(&mut self, amount: i32) {
        self.value += amount;
    }

    pub fn reset(&mut self) {
        self.value = 0;
    }

    pub fn get(&self) -> i32 {
        self.value
    }

    /// Async, fallible, and taking its input by pattern.
    pub async fn fetch_and_double(&mut self, (limit, _unused): (i32, bool)) -> Result<i32, TooBig> {
        if self.value > limit {
            return Err(TooBig(self.value));
        }
        self.value = self.helper();
        Ok(self.value)
    }

    /// A value built from `Self`.
    pub fn snapshot(&self) -> Self {
        Counter { value: self.value }
    }

    /// Not `pub`: not an operation.
    fn helper(&self) -> i32 {
        self.value * 2
    }
}

/// Defines its own `delete`, so there is no implicit one.
#[derive(Serialize, Deserialize, Default)]
struct Latch {
    closed: bool,
}

#[entity_trigger]
impl Latch {
    pub fn close(&mut self) -> Option<String> {
        self.closed = true;
        DurableEntityContext::current().map(|ctx| ctx.entity_key().to_owned())
    }

    pub fn delete(&mut self) -> Result<(), EntityError> {
        if let Some(ctx) = DurableEntityContext::current() {
            ctx.delete_state();
        }
        Ok(())
    }
}

#[orchestration_trigger]
async fn use_counter(context: DurableOrchestrationContext) -> Result<i32, FunctionFailed> {
    let counter = context.entity::<Counter>("k1");
    counter.add(5).await?;
    counter.signal().reset();
    let doubled: i32 = counter.fetch_and_double((10, false)).await?;
    let snapshot: Counter = counter.snapshot().await?;
    let () = context.entity::<Latch>("l1").delete().await?;
    Ok(doubled + snapshot.value + context.entity::<Counter>("k1").get().await?)
}

#[orchestration_client]
#[http_trigger(methods = ["POST"], route = "counters/{key}")]
async fn bump(starter: DurableOrchestrationClient, key: String) -> Result<HttpResponse, DurableError> {
    let counter = starter.entity::<Counter>(&key);
    counter.signal().add(5).await?;
    counter.signal().delete().await?;
    let state = counter.read_state().await?;
    Ok(HttpResponse::text(StatusCode::OK, state.entity_state.map(|c| c.value).unwrap_or(0).to_string()))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(<Counter as EntityType>::NAME, "CounterClass");
    assert_eq!(<Latch as EntityType>::NAME, "Latch");
    let registry = Registry::discover().unwrap();
    let registration = registry.entity("counterclass").unwrap();
    assert_eq!(registration.name, "CounterClass");
    assert!(registration.rust_path.ends_with("::Counter"), "{}", registration.rust_path);

    let id = EntityId::new("CounterClass", "k1").unwrap();
    let op = |name: &str, input: Option<serde_json::Value>| {
        EntityMessage::Operation(OperationRequest::signal(name, input))
    };
    let turn = run_turn(
        registration.invoke,
        &id,
        EntityRecord::default(),
        vec![
            op("Add", Some(json!(5))),
            op("fetch_and_double", Some(json!([1, false]))),
            op("FETCH_AND_DOUBLE", Some(json!([10, false]))),
            op("get", None),
            op("add", Some(json!("five"))),
            op("nope", None),
        ],
        TurnOptions::default(),
    )
    .await;
    assert_eq!(turn.record.state(), Some(&json!({ "value": 10 })));
    let outcome = |i: usize| &turn.outcomes[i].1;
    assert_eq!(outcome(0), &OperationOutcome::Succeeded(Some(json!(null))));
    assert!(
        matches!(outcome(1), OperationOutcome::Failed(f) if f.error_message == "5 is too big to double"),
        "{:?}",
        outcome(1)
    );
    assert_eq!(outcome(2), &OperationOutcome::Succeeded(Some(json!(10))));
    assert_eq!(outcome(3), &OperationOutcome::Succeeded(Some(json!(10))));
    assert!(
        matches!(outcome(4), OperationOutcome::Failed(f) if f.error_type == FailureKind::InvalidInput && f.error_message.contains("`add`")),
        "{:?}",
        outcome(4)
    );
    assert!(
        matches!(outcome(5), OperationOutcome::Failed(f) if f.error_message.contains("`nope`") && f.error_message.contains("`delete`")),
        "{:?}",
        outcome(5)
    );

    // The implicit `delete`.
    let turn = run_turn(registration.invoke, &id, turn.record, vec![op("delete", None)], TurnOptions::default()).await;
    assert_eq!(turn.record.state(), None);

    // A user-defined `delete` that deletes through `current()`; `close` reads the key there.
    let latch = registry.entity("latch").unwrap();
    let id = EntityId::new("Latch", "l1").unwrap();
    let turn = run_turn(latch.invoke, &id, EntityRecord::default(), vec![op("close", None)], TurnOptions::default()).await;
    assert_eq!(turn.record.state(), Some(&json!({ "closed": true })));
    assert_eq!(turn.outcomes[0].1, OperationOutcome::Succeeded(Some(json!("l1"))));
    let turn = run_turn(latch.invoke, &id, turn.record, vec![op("Delete", None)], TurnOptions::default()).await;
    assert_eq!(turn.record.state(), None);
}
