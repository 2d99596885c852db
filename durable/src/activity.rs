//! Activities: [`DurableActivityContext`], typed [`ActivityHandle`]s and the registration type.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::InputError;
use crate::function::{BoxFuture, FunctionResult};

/// What an activity function receives when it takes the context instead of its input
/// (`IDurableActivityContext` in C#).
///
/// ```
/// use durable::prelude::*;
///
/// #[activity_trigger(name = "E1_SayHello_DirectInput")]
/// async fn say_hello_direct_input(context: DurableActivityContext) -> Result<String, InputError> {
///     let name: String = context.get_input()?;
///     Ok(format!("Hello {name}!"))
/// }
/// ```
#[derive(Debug, Clone)]
pub struct DurableActivityContext {
    name: String,
    instance_id: String,
    input: Value,
}

impl DurableActivityContext {
    /// A context for invoking `name` on behalf of `instance_id` with `input`.
    pub fn new(name: impl Into<String>, instance_id: impl Into<String>, input: Value) -> Self {
        DurableActivityContext { name: name.into(), instance_id: instance_id.into(), input }
    }

    /// The activity's input, deserialized as `T` (`GetInput<T>()` in C#).
    pub fn get_input<T: DeserializeOwned>(&self) -> Result<T, InputError> {
        T::deserialize(&self.input).map_err(|source| InputError::new(&self.name, source))
    }

    /// The id of the orchestration instance that called this activity.
    pub fn instance_id(&self) -> &str {
        &self.instance_id
    }

    /// The activity function's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A typed reference to an activity function: its name and its input and output types.
///
/// `#[activity_trigger]` generates one per activity (the fn's name in CamelCase), so a call
/// with the wrong input or output type does not compile. Implement it by hand to call an
/// activity hosted by another app with types.
///
/// ```
/// struct SayHello;
/// impl durable::ActivityHandle for SayHello {
///     type Input = String;
///     type Output = String;
///     const NAME: &'static str = "E1_SayHello";
/// }
/// ```
pub trait ActivityHandle {
    /// The input type.
    type Input: Serialize;
    /// The output type.
    type Output: DeserializeOwned;
    /// The function name.
    const NAME: &'static str;
}

/// An activity function registered with `#[activity_trigger]`.
#[derive(Debug)]
pub struct ActivityRegistration {
    /// The function name.
    pub name: &'static str,
    /// The Rust path of the annotated fn, for diagnostics.
    pub rust_path: &'static str,
    /// Runs the function.
    pub invoke: fn(DurableActivityContext) -> BoxFuture<'static, FunctionResult>,
    /// How many invocations of it run at once in this process
    /// (`#[activity_trigger(max_concurrency = N)]`); `None` for no limit of its own (the
    /// global `maxConcurrentActivityFunctions` still holds). host.json's
    /// `functions.<name>.maxConcurrency` overrides it.
    pub max_concurrency: Option<usize>,
}
