//! The class-based Counter entity of the Durable Functions documentation
//! (`durable-functions-dotnet-entities`, "Class-based syntax"), ported method for method:
//!
//! ```csharp
//! [JsonObject(MemberSerialization.OptIn)]
//! public class Counter
//! {
//!     [JsonProperty("value")]
//!     public int CurrentValue { get; set; }
//!
//!     public void Add(int amount) => this.CurrentValue += amount;
//!     public void Reset() => this.CurrentValue = 0;
//!     public int Get() => this.CurrentValue;
//!
//!     [FunctionName(nameof(Counter))]
//!     public static Task Run([EntityTrigger] IDurableEntityContext ctx)
//!         => ctx.DispatchAsync<Counter>();
//! }
//! ```
//!
//! It is registered as `CounterClass`, since the function-based port in [`crate::counter`]
//! keeps the name `Counter`. Its state is Azure's, `{"value": n}`; `delete` is the implicit
//! operation every struct-based entity without a `delete` method has. Signal it through its
//! typed proxy: `client.entity::<Counter>("myCounter").signal().add(5).await?`.
//!
//! Run with `cargo run -p durable-examples`, then signal and read it over HTTP:
//! `curl -X POST -H 'Content-Type: application/json' -d 5
//! 'http://127.0.0.1:7071/runtime/webhooks/durabletask/entities/CounterClass/myCounter?op=add'`
//! and `curl http://127.0.0.1:7071/runtime/webhooks/durabletask/entities/CounterClass/myCounter`.

use durable::prelude::*;
use serde::{Deserialize, Serialize};

/// `CounterClass`: `add` (an integer), `reset`, `get` (returns the count) and the implicit
/// `delete`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Counter {
    /// The count (`CurrentValue`), stored as `value`.
    #[serde(rename = "value")]
    pub current_value: i32,
}

#[entity_trigger(name = "CounterClass")]
impl Counter {
    /// Adds `amount` to the count.
    pub fn add(&mut self, amount: i32) {
        self.current_value += amount;
    }

    /// Sets the count back to 0.
    pub fn reset(&mut self) {
        self.current_value = 0;
    }

    /// The count.
    pub fn get(&self) -> i32 {
        self.current_value
    }
}
