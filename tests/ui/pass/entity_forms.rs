//! A function-based entity (Azure's Counter, ported) registers under its lower-cased name,
//! and its registration runs operations in a turn.

use durable::entity::{
    EntityMessage, EntityRecord, OperationOutcome, OperationRequest, TurnOptions, run_turn,
};
use durable::prelude::*;
use durable::registry::Registry;
use serde_json::json;

#[entity_trigger(name = "Counter")]
async fn counter(ctx: DurableEntityContext) -> Result<(), EntityError> {
    match ctx.operation_name().to_lowercase().as_str() {
        "add" => {
            let amount: i64 = ctx.get_input().unwrap_or_default();
            ctx.set_state(ctx.get_state::<i64>()? + amount)?;
        }
        "reset" => ctx.set_state(0)?,
        "get" => ctx.return_value(ctx.get_state::<i64>()?)?,
        "delete" => ctx.delete_state(),
        _ => {}
    }
    Ok(())
}

/// Returns nothing at all: also accepted.
#[entity_trigger]
async fn doorbell(ctx: DurableEntityContext) {
    let rings: u32 = ctx.get_state().unwrap_or_default();
    let _ = ctx.set_state(rings + 1);
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let registry = Registry::discover().unwrap();
    let registration = registry.entity("counter").unwrap();
    assert_eq!(registration.name, "Counter");
    assert!(registry.entity("COUNTER").is_some(), "entity names ignore case");
    assert!(registry.entity("doorbell").is_some());

    let id = EntityId::new("Counter", "k1").unwrap();
    let op = |name: &str, input: Option<serde_json::Value>| {
        EntityMessage::Operation(OperationRequest::signal(name, input))
    };
    let turn = run_turn(
        registration.invoke,
        &id,
        EntityRecord::default(),
        vec![op("add", Some(json!(5))), op("Add", Some(json!(2))), op("get", None)],
        TurnOptions::default(),
    )
    .await;
    assert_eq!(turn.record.state(), Some(&json!(7)));
    assert_eq!(turn.outcomes[2].1, OperationOutcome::Succeeded(Some(json!(7))));
}
