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
