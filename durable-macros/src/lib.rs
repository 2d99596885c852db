//! The trigger attribute macros of [`durable`](https://docs.rs/durable): `#[activity_trigger]`
//! and `#[orchestration_trigger]`.
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

mod expand;
mod model;
mod validate;

use proc_macro::TokenStream;

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
