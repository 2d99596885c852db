//! The plumbing every function type shares (activities, orchestrators, HTTP and timer
//! functions): the boxed futures registrations return, what running a function yields, and
//! the message of a caught panic.

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

use crate::history::FailureDetails;

/// A boxed `Send` future, as registrations return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What running a function yields: its serialized output, or why it failed.
pub type FunctionResult = Result<Value, FailureDetails>;

/// The message of a caught panic payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "panicked with a non-string payload".to_owned()
    }
}

/// A struct-based entity: the type `#[entity_trigger]` is put on the `impl` block of. Its
/// state is the value itself; each public method is an operation, and [`EntityType::Proxy`]
/// is the typed proxy the macro generates, with one method per operation.
///
/// Orchestrations reach it with `context.entity::<Counter>("k1")`, clients with
/// `client.entity::<Counter>("k1")`; the proxy checks each operation's name, input type and
/// output type at compile time.
pub trait EntityType:
    serde::Serialize + serde::de::DeserializeOwned + Default + Send + 'static
{
    /// The entity's name as registered (the entity id lower-cases it).
    const NAME: &'static str;

    /// The typed proxy over a channel: an orchestration's calls or signals, or a client's
    /// signals.
    type Proxy<C: EntityChannel>;

    /// The proxy sending its operations over `channel`.
    fn proxy<C: EntityChannel>(channel: C) -> Self::Proxy<C>;
}

/// How a typed entity proxy delivers an operation: called from an orchestration (its output
/// is awaited), signalled from an orchestration (nothing comes back) or signalled by a client
/// (stored before it returns).
pub trait EntityChannel {
    /// What sending an operation whose output is `T` gives the caller.
    type Output<T: serde::de::DeserializeOwned + Send + 'static>;

    /// Sends `operation` with `input` (`()` when the operation takes none).
    fn operation<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        operation: &'static str,
        input: impl serde::Serialize,
    ) -> Self::Output<T>;
}
