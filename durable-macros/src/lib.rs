//! The trigger attribute macros of [`durable`](https://docs.rs/durable): `#[activity_trigger]`,
//! `#[orchestration_trigger]` and `#[entity_trigger]`, and for client functions `#[http_trigger]`,
//! `#[timer_trigger]` and `#[orchestration_client]`.
//!
//! Use them through `durable` (`use durable::prelude::*;`), never directly: the code they emit
//! names `::durable::__private`.
//!
//! Each macro parses the annotated fn into a small model (`model`), checks it (`validate`,
//! which reports every mistake at once, on the tokens the user wrote), and emits (`expand`):
//!
//! 1. the fn, unchanged, so it stays directly callable in unit tests;
//! 2. a typed handle: a unit struct named after the fn in CamelCase that carries the function
//!    name and its input and output types;
//! 3. a registration, collected at link time with `inventory`.
//!
//! Client functions (`client`) have no typed handle, since nothing calls them but the host;
//! `http` and `timer` check and expand them, with the help of `route` for route templates.
//! `args` checks every attribute's `key = value` arguments; `ctxt` collects the errors.

mod args;
mod client;
mod ctxt;
mod expand;
mod http;
mod model;
mod route;
mod timer;
mod validate;

use proc_macro::TokenStream;

use crate::client::{Attribute, TriggerKind};
use crate::model::Kind;

/// Registers an activity function (`[FunctionName]` + `[ActivityTrigger]` in C#).
///
/// ```
/// use durable::prelude::*;
///
/// #[activity_trigger(name = "E1_SayHello")]
/// async fn say_hello(name: String) -> String {
///     format!("Hello {name}!")
/// }
///
/// // The typed handle `SayHello` checks the name and the types of a call.
/// #[orchestration_trigger]
/// async fn greet(context: DurableOrchestrationContext) -> Result<String, FunctionFailed> {
///     context.call(SayHello, "Tokyo").await
/// }
///
/// assert_eq!(<SayHello as ActivityHandle>::NAME, "E1_SayHello");
/// // The fn stays an ordinary fn, callable in a unit test.
/// let _greeting = say_hello("Tokyo".to_owned());
/// ```
///
/// The function name defaults to the fn's name; `name = "…"` sets another one. Function names
/// start with a letter and have at most 128 letters, digits, `_` and `-`.
///
/// # Accepted forms
///
/// An activity is an `async fn` or a plain `fn` (which runs on the blocking thread pool). It
/// takes one of:
///
/// - its input, of any owned type that implements `serde::Deserialize`: `fn(name: String)`;
/// - its context, to read the input later or see the calling instance:
///   `fn(context: DurableActivityContext)`;
/// - nothing: `fn()`.
///
/// It returns a value that implements `serde::Serialize` (nothing means `null`), or a
/// `Result<T, E>` whose error implements `Display`: an `Err` fails the activity with the
/// error's message, and the calling orchestrator sees a `FunctionFailed`.
///
/// # The typed handle
///
/// The macro also defines a unit struct named after the fn in CamelCase (`say_hello` →
/// `SayHello`), with the fn's visibility, that implements `ActivityHandle`: an orchestrator that
/// calls `context.call(SayHello, "Tokyo")` gets the activity's name and its input and output
/// types checked at compile time.
#[proc_macro_attribute]
pub fn activity_trigger(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::trigger(Kind::Activity, args.into(), item.into()).into()
}

/// Registers an orchestrator function (`[FunctionName]` + `[OrchestrationTrigger]` in C#).
///
/// ```
/// use durable::prelude::*;
///
/// #[orchestration_trigger(name = "E1_HelloSequence")]
/// async fn hello_sequence(context: DurableOrchestrationContext) -> Result<Vec<String>, FunctionFailed> {
///     let mut outputs = Vec::new();
///     outputs.push(context.call_activity::<String>("E1_SayHello", "Tokyo").await?);
///     outputs.push(context.call_activity::<String>("E1_SayHello", "Seattle").await?);
///     Ok(outputs)
/// }
/// ```
///
/// The function name defaults to the fn's name; `name = "…"` sets another one.
///
/// # Accepted forms
///
/// An orchestrator is an `async fn` whose future is `Send`. It takes its context first, then
/// optionally its input, of any owned type that implements `serde::Deserialize`:
///
/// - `async fn(context: DurableOrchestrationContext)`: read the input with
///   `context.get_input::<T>()`;
/// - `async fn(context: DurableOrchestrationContext, input: T)`: the input is deserialized
///   before the fn runs, and a client that starts the orchestrator with an input that does not
///   deserialize as `T` is refused before an instance is created.
///
/// It returns a value that implements `serde::Serialize`, or a `Result<T, E>` whose error
/// implements `Display`: an `Err` fails the orchestration with the error's message.
///
/// # The typed handle
///
/// The macro also defines a unit struct named after the fn in CamelCase (`hello_sequence` →
/// `HelloSequence`), with the fn's visibility, that implements `OrchestratorHandle`.
#[proc_macro_attribute]
pub fn orchestration_trigger(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::trigger(Kind::Orchestrator, args.into(), item.into()).into()
}

/// Registers an entity (`[FunctionName]` + `[EntityTrigger]` in C#): on an `impl` block, a
/// struct-based entity whose methods are its operations (C#'s class-based entities); on a fn,
/// a function-based entity that runs each operation, choosing what to do by its name.
///
/// # Struct-based entities
///
/// ```
/// use durable::prelude::*;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Default, Serialize, Deserialize)]
/// pub struct Counter {
///     value: i32,
/// }
///
/// #[entity_trigger(name = "Counter")]
/// impl Counter {
///     /// Adds `amount` to the count.
///     pub fn add(&mut self, amount: i32) {
///         self.value += amount;
///     }
///
///     /// The count.
///     pub fn get(&self) -> i32 {
///         self.value
///     }
/// }
///
/// // The typed proxy checks operation names and types at compile time.
/// #[orchestration_trigger]
/// async fn add_five(context: DurableOrchestrationContext) -> Result<i32, FunctionFailed> {
///     context.entity::<Counter>("k1").add(5).await?;
///     context.entity::<Counter>("k1").get().await
/// }
/// ```
///
/// The state is the value itself, stored as it serializes; an entity with no state starts
/// from `Default`. The function name defaults to the type's name; `name = "…"` sets another.
///
/// Each `pub fn` of the block is an operation named after it; an incoming operation name
/// matches it ignoring case, so `Add` from a C# caller reaches `add`. Other fns are helpers.
/// An operation:
///
/// - takes `&self` or `&mut self`, then optionally one input, of a type that implements
///   `Serialize` (for the proxy) and `DeserializeOwned`: an input that does not deserialize
///   fails the operation with `InvalidInput`;
/// - returns nothing, a value that implements `Serialize` and `DeserializeOwned`, or a
///   `Result<T, E>` whose error implements `Display`: an `Err` fails the operation and rolls
///   back what it changed;
/// - may be `async`. A plain `fn` runs on the entity's task, so it should be quick.
///
/// After each operation the value is saved back, unless the operation deleted the state. A
/// method reaches the entity's context, to signal other entities or start orchestrations,
/// with `DurableEntityContext::current()`.
/// Unless a method is named `delete`, the operation `delete` deletes the state. An unknown
/// operation fails, naming the operations there are.
///
/// The macro implements `EntityType` for the type and defines its typed proxy, `{Type}Proxy`,
/// with one method per operation (and `delete`): `context.entity::<Counter>(key)` calls them
/// from an orchestration (`.signal()` signals them), `client.entity::<Counter>(key).signal()`
/// signals them from a client.
///
/// # Function-based entities
///
/// ```
/// use durable::prelude::*;
///
/// #[entity_trigger(name = "Counter")]
/// async fn counter(ctx: DurableEntityContext) -> Result<(), EntityError> {
///     match ctx.operation_name().to_lowercase().as_str() {
///         "add" => {
///             let amount: i64 = ctx.get_input().unwrap_or_default();
///             ctx.set_state(ctx.get_state::<i64>()? + amount)?;
///         }
///         "reset" => ctx.set_state(0)?,
///         "get" => ctx.return_value(ctx.get_state::<i64>()?)?,
///         "delete" => ctx.delete_state(),
///         _ => {}
///     }
///     Ok(())
/// }
/// ```
///
/// The function name defaults to the fn's name; `name = "…"` sets another one. The entity
/// name is the function name in lower case: the entity above is `@counter@{key}`.
///
/// An `async fn` that takes its context by value, `ctx: DurableEntityContext`, and returns
/// nothing or `Result<(), E>` whose error implements `Display`: an `Err` (or a panic) fails
/// the operation, rolls back what it changed, and its caller sees a `FunctionFailed`.
#[proc_macro_attribute]
pub fn entity_trigger(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::trigger(Kind::Entity, args.into(), item.into()).into()
}

/// Marks a client function (`[DurableClient]` in C#): one that takes a
/// `DurableOrchestrationClient` to start and manage orchestrations.
///
/// It goes with the function's trigger, `#[http_trigger(…)]` or `#[timer_trigger(…)]`, in
/// either order; a client function without a trigger does not compile, nor does a
/// `DurableOrchestrationClient` parameter without `#[orchestration_client]`.
///
/// ```
/// use durable::prelude::*;
///
/// #[orchestration_client]
/// #[http_trigger(methods = ["POST"], route = "orchestrators/{function_name}")]
/// async fn http_start(
///     req: HttpRequest,
///     starter: DurableOrchestrationClient,
///     function_name: String,
/// ) -> Result<HttpResponse, DurableError> {
///     let input: serde_json::Value = req.json()?;
///     let instance_id = starter.start_new(&function_name, None, input).await?;
///     Ok(starter.create_check_status_response(&req, &instance_id))
/// }
/// ```
///
/// The client is the one the host runs with: same task hub, same backend.
#[proc_macro_attribute]
pub fn orchestration_client(args: TokenStream, item: TokenStream) -> TokenStream {
    client::attribute(Attribute::Client, args.into(), item.into()).into()
}

/// Registers an HTTP-triggered function (`[FunctionName]` + `[HttpTrigger]` in C#), served
/// under `/api/{route}`.
///
/// ```
/// use durable::prelude::*;
///
/// #[http_trigger(route = "greetings/{name}/{times?}", methods = ["GET"], auth_level = "anonymous")]
/// async fn greet(name: String, times: Option<u32>) -> HttpResponse {
///     let greeting = format!("Hello {name}! ").repeat(times.unwrap_or(1) as usize);
///     HttpResponse::text(StatusCode::OK, greeting)
/// }
/// ```
///
/// # Arguments
///
/// All optional:
///
/// - `route = "…"`: the route below `/api/`, in Azure's syntax: segments separated by `/`, each
///   literal text or a whole parameter, `{name}`, `{name?}` (optional, last segment only) or
///   `{*name}` (the rest of the path, last segment only). Route constraints (`{id:int}`) are
///   not supported: take the parameter as a typed fn parameter instead. The default is the
///   function name.
/// - `methods = ["GET", "POST"]`: the methods it answers, among GET, POST, PUT, DELETE, PATCH,
///   HEAD and OPTIONS, in any case; every method when absent or empty.
/// - `auth_level = "anonymous"`: the key a caller needs: `"anonymous"` (none), `"function"`
///   (the function key or the master key; the default, as in Azure) or `"admin"` (the master
///   key).
/// - `name = "…"`: the function name; the fn's name by default.
///
/// # Accepted forms
///
/// An HTTP function is an `async fn` whose future is `Send`. Its parameters, in any order, are
/// recognized by their types:
///
/// - the request: `req: HttpRequest` or `req: &HttpRequest`;
/// - the client, with `#[orchestration_client]`: `starter: DurableOrchestrationClient`;
/// - route parameters, bound by name: `function_name: String` takes `{function_name}` of the
///   route, parsed with `FromStr` (a value that does not parse answers 400 before the fn runs).
///   An optional `{name?}` is taken as an `Option`: `name: Option<u32>`.
///
/// It returns an `HttpResponse`, or a `Result<HttpResponse, E>`: an `Err` answers with its
/// status for a `DurableError` (404 for an unknown instance, 400 for a bad body, …) and 500
/// with its message for any other `Display` error.
#[proc_macro_attribute]
pub fn http_trigger(args: TokenStream, item: TokenStream) -> TokenStream {
    client::attribute(Attribute::Trigger(TriggerKind::Http), args.into(), item.into()).into()
}

/// Registers a timer-triggered function (`[FunctionName]` + `[TimerTrigger]` in C#), run on a
/// schedule.
///
/// ```
/// use durable::prelude::*;
///
/// #[orchestration_client]
/// #[timer_trigger(schedule = "0 0 * * * *")]
/// async fn hourly_report(timer: TimerInfo, starter: DurableOrchestrationClient) -> Result<(), DurableError> {
///     if !timer.is_past_due {
///         starter.start_new("Report", None, ()).await?;
///     }
///     Ok(())
/// }
/// ```
///
/// # Arguments
///
/// - `schedule = "…"` (required): a six-field NCRONTAB expression,
///   `{second} {minute} {hour} {day} {month} {day-of-week}`, in UTC: `"0 */5 * * * *"` is
///   every five minutes. It is checked at compile time.
/// - `run_on_startup = true`: also run once when the app starts (`false` by default).
/// - `name = "…"`: the function name; the fn's name by default.
///
/// # Accepted forms
///
/// A timer function is an `async fn` whose future is `Send`. It takes, in any order and each
/// optionally, `timer: TimerInfo` (the occurrence it runs for) and, with
/// `#[orchestration_client]`, `starter: DurableOrchestrationClient`. It returns nothing, or a
/// `Result<(), E>` whose error implements `Display`: an `Err` is logged as the run's failure.
#[proc_macro_attribute]
pub fn timer_trigger(args: TokenStream, item: TokenStream) -> TokenStream {
    client::attribute(Attribute::Trigger(TriggerKind::Timer), args.into(), item.into()).into()
}
