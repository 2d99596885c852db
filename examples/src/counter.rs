//! The function-based Counter entity of the Durable Functions documentation
//! (`durable-functions-entities`, "Function-based syntax"):
//!
//! ```csharp
//! [FunctionName("Counter")]
//! public static void Counter([EntityTrigger] IDurableEntityContext ctx)
//! {
//!     switch (ctx.OperationName.ToLowerInvariant())
//!     {
//!         case "add": ctx.SetState(ctx.GetState<int>() + ctx.GetInput<int>()); break;
//!         case "reset": ctx.SetState(0); break;
//!         case "get": ctx.Return(ctx.GetState<int>()); break;
//!         case "delete": ctx.DeleteState(); break;
//!     }
//! }
//! ```
//!
//! Its state is the bare integer; signal it with
//! `client.signal_entity(&EntityId::new("Counter", "myCounter")?, "add", 5)`.

use durable::prelude::*;

/// `Counter`: `add` (an integer), `reset`, `get` (returns the count), `delete`.
#[entity_trigger(name = "Counter")]
pub async fn counter(ctx: DurableEntityContext) -> Result<(), EntityError> {
    match ctx.operation_name().to_lowercase().as_str() {
        "add" => ctx.set_state(ctx.get_state::<i32>()? + ctx.get_input::<i32>()?)?,
        "reset" => ctx.set_state(0)?,
        "get" => ctx.return_value(ctx.get_state::<i32>()?)?,
        "delete" => ctx.delete_state(),
        _ => {}
    }
    Ok(())
}
