//! Activities: [`DurableActivityContext`], typed [`ActivityHandle`]s and the registration type.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::watch;

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
    /// Turns true when the calling orchestration no longer waits for the result.
    cancellation: watch::Receiver<bool>,
}

impl DurableActivityContext {
    /// A context for invoking `name` on behalf of `instance_id` with `input`; it is never
    /// cancelled.
    pub fn new(name: impl Into<String>, instance_id: impl Into<String>, input: Value) -> Self {
        let (_, cancellation) = watch::channel(false);
        DurableActivityContext {
            name: name.into(),
            instance_id: instance_id.into(),
            input,
            cancellation,
        }
    }

    /// The context, cancelled when `cancellation` turns true.
    pub(crate) fn cancelled_by(self, cancellation: watch::Receiver<bool>) -> Self {
        DurableActivityContext { cancellation, ..self }
    }

    /// Whether the calling orchestration no longer needs the result: it was terminated (also
    /// while suspended), finished otherwise, started a new execution, or was purged. The
    /// activity may stop early; whatever it returns is then dropped.
    pub fn is_cancelled(&self) -> bool {
        *self.cancellation.borrow()
    }

    /// Completes once [`is_cancelled`](Self::is_cancelled) turns true (the `CancellationToken`
    /// of the newer SDKs); race it against the work to stop early.
    ///
    /// ```
    /// use durable::prelude::*;
    ///
    /// #[activity_trigger(name = "LongCopy")]
    /// async fn long_copy(context: DurableActivityContext) -> Result<String, std::io::Error> {
    ///     tokio::select! {
    ///         () = context.cancelled() => Ok("stopped: the orchestration went away".to_owned()),
    ///         () = tokio::time::sleep(std::time::Duration::from_secs(3600)) => Ok("copied".to_owned()),
    ///     }
    /// }
    /// ```
    pub fn cancelled(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut cancellation = self.cancellation.clone();
        async move {
            // A context nobody can cancel waits forever.
            if cancellation.wait_for(|cancelled| *cancelled).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
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
