//! Re-exports and helpers for the output of the trigger macros. Not public API.

use std::fmt::Display;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use crate::activity::{ActivityHandle, ActivityRegistration, DurableActivityContext};
pub use crate::entity::{DurableEntityContext, EntityRegistration};
pub use crate::function::{BoxFuture, EntityChannel, EntityType, FunctionResult};
pub use crate::history::{FailureDetails, FailureKind};
pub use crate::orchestration::{
    DurableOrchestrationContext, OrchestratorHandle, OrchestratorRegistration,
};
pub use crate::registry::Registration;
pub use inventory;
pub use serde;
pub use serde_json;
pub use serde_json::Value;

/// Deserializes an activity's declared input parameter.
pub fn activity_input<T: DeserializeOwned>(
    context: &DurableActivityContext,
) -> Result<T, FailureDetails> {
    context.get_input().map_err(invalid_input)
}

/// Deserializes `input` as `T`. The macros wrap it in one local fn per orchestrator and use
/// that fn for both [`orchestrator_input_with`] and [`validate_with`], so that an input type
/// that is not `DeserializeOwned` is reported once, on the user's type.
pub fn deserialize<T: DeserializeOwned>(input: &Value) -> Result<T, serde_json::Error> {
    T::deserialize(input)
}

/// Deserializes an orchestrator's declared input with `parse`.
pub fn orchestrator_input_with<T>(
    context: &DurableOrchestrationContext,
    parse: fn(&Value) -> Result<T, serde_json::Error>,
) -> Result<T, FailureDetails> {
    context.parse_input(parse).map_err(invalid_input)
}

/// Checks that a value parses with `parse` (an orchestrator's `validate_input`).
pub fn validate_with<T>(
    input: &Value,
    parse: fn(&Value) -> Result<T, serde_json::Error>,
) -> Result<(), String> {
    parse(input).map(drop).map_err(|e| e.to_string())
}

fn invalid_input(error: crate::error::InputError) -> FailureDetails {
    FailureDetails::new(FailureKind::InvalidInput, error.to_string())
}

/// Serializes a function's output.
pub fn output<T: Serialize>(function: &str, output: T) -> FunctionResult {
    serde_json::to_value(output).map_err(|e| {
        FailureDetails::new(
            FailureKind::InvalidOutput,
            format!("the output of `{function}` could not be serialized: {e}"),
        )
    })
}

/// Turns a function's `Err` into failure details: the error's type, its message and its
/// causes: `causes` when the error is a `std::error::Error` (its `source()` chain, see
/// [`Causes`]), else those its alternate form (`{:#}`, which `anyhow` uses for the chain)
/// lists.
pub fn error<E: Display>(error: E, causes: Option<Vec<String>>) -> FailureDetails {
    let message = error.to_string();
    let error_type = match std::any::type_name::<E>() {
        // A plain message has no type worth naming.
        "alloc::string::String" | "&str" | "alloc::borrow::Cow<str>" => {
            FailureKind::Error("Error".to_owned())
        }
        "durable::error::FunctionFailed" => FailureKind::FunctionFailed,
        name => FailureKind::Error(name.to_owned()),
    };
    let mut details = FailureDetails::new(error_type, message.clone());
    details.causes = causes.unwrap_or_else(|| {
        let full = format!("{error:#}");
        full.strip_prefix(&message)
            .and_then(|r| r.strip_prefix(": "))
            .map(|rest| rest.split(": ").map(str::to_owned).collect())
            .unwrap_or_default()
    });
    details
}

/// Picks how to read an error's causes by what the error type implements (autoref
/// specialization): the macros call `(&Causes(&error)).causes()` with both traits in scope.
/// A `std::error::Error` yields its `source()` chain through [`StdErrorCauses`]; any other
/// type falls through to [`NoCauses`].
pub struct Causes<'a, E>(pub &'a E);

/// The `source()` chain of a `std::error::Error`.
pub trait StdErrorCauses {
    /// The causes, outermost first.
    fn causes(&self) -> Option<Vec<String>>;
}

impl<E: std::error::Error> StdErrorCauses for Causes<'_, E> {
    fn causes(&self) -> Option<Vec<String>> {
        let mut causes = Vec::new();
        let mut next = self.0.source();
        while let Some(cause) = next {
            causes.push(cause.to_string());
            next = cause.source();
        }
        Some(causes)
    }
}

/// The fallback for errors that are not `std::error::Error`.
pub trait NoCauses {
    /// Always `None`.
    fn causes(&self) -> Option<Vec<String>>;
}

impl<E> NoCauses for &Causes<'_, E> {
    fn causes(&self) -> Option<Vec<String>> {
        None
    }
}

/// Whether the operation a caller asked for, `requested`, is the struct-based entity's
/// `operation`: names match case-insensitively, as Azure's `DispatchAsync` matches them, so
/// that `Add` from a C# or HTTP caller reaches `add`.
pub fn is_operation(requested: &str, operation: &str) -> bool {
    requested.eq_ignore_ascii_case(operation)
}

/// A struct-based entity's state, or `S::default()` when the entity has none yet.
pub fn entity_state<S: EntityType>(context: &DurableEntityContext) -> Result<S, FailureDetails> {
    context.get_state_or_else(S::default).map_err(|e| error(e, None))
}

/// The input of `operation`, deserialized as its method's parameter type.
pub fn entity_input<I: DeserializeOwned>(
    context: &DurableEntityContext,
    operation: &str,
) -> Result<I, FailureDetails> {
    context.get_input().map_err(|e| {
        FailureDetails::new(
            FailureKind::InvalidInput,
            format!("the input of the operation `{operation}` is invalid: {e}"),
        )
    })
}

/// Ends a struct-based entity's `operation`: writes `state` back (unless the operation
/// deleted it through [`DurableEntityContext::current`]), then sets what a caller receives,
/// or fails with the method's error. The state is written even then: when failed operations
/// are not rolled back (`rollbackEntityOperationsOnExceptions: false`), what the method
/// changed before failing stays, as with Azure's class-based entities.
pub fn entity_finish<S: EntityType, T: Serialize>(
    context: &DurableEntityContext,
    operation: &str,
    state: S,
    output: Result<T, FailureDetails>,
) -> FunctionResult {
    let unwritable = |what: &str, e: crate::entity::EntityError| {
        FailureDetails::new(
            FailureKind::InvalidOutput,
            format!("the operation `{operation}`: {what} could not be serialized: {e}"),
        )
    };
    if !context.state_deleted() {
        context.set_state(state).map_err(|e| unwritable("the state", e))?;
    }
    context.return_value(output?).map_err(|e| unwritable("the return value", e))?;
    Ok(Value::Null)
}

/// The implicit `delete` operation of a struct-based entity that defines none: deletes the
/// state, as Azure's `DispatchAsync` does.
pub fn entity_delete(context: &DurableEntityContext) -> FunctionResult {
    context.delete_state();
    Ok(Value::Null)
}

/// The failure of an operation that a struct-based entity does not have, naming the entity,
/// the operation and the ones it has.
pub fn unknown_operation(context: &DurableEntityContext, known: &[&str]) -> FunctionResult {
    Err(FailureDetails::new(
        FailureKind::Error("UnknownOperation".to_owned()),
        format!(
            "the entity `{entity}` has no operation `{operation}`; its operations are `{known}`",
            entity = context.entity_id(),
            operation = context.operation_name(),
            known = known.join("`, `"),
        ),
    ))
}

/// Runs a synchronous activity fn on the blocking pool, re-raising its panic so that the
/// worker records it like any other.
pub async fn run_blocking<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    match tokio::task::spawn_blocking(f).await {
        Ok(value) => value,
        Err(join_error) => match join_error.try_into_panic() {
            Ok(payload) => std::panic::resume_unwind(payload),
            Err(cancelled) => std::panic::panic_any(cancelled.to_string()),
        },
    }
}

pub use crate::client::{DurableError, DurableOrchestrationClient};
pub use crate::http::{
    AuthLevel, HttpFunctionRegistration, HttpRequest, HttpResponse, RouteSegment,
};
pub use crate::timer_trigger::{TimerFunctionRegistration, TimerInfo};

/// Reads a route parameter of an HTTP function as `T`; a missing or unparsable value is a 400
/// naming the parameter.
pub fn route_param<T>(request: &HttpRequest, name: &str) -> Result<T, HttpResponse>
where
    T: std::str::FromStr,
    T::Err: Display,
{
    let text = request.route_param(name).ok_or_else(|| {
        crate::http::InvalidPath::new(format!("the route parameter `{name}` is missing"))
    })?;
    text.parse().map_err(|e| {
        crate::http::InvalidPath::new(format!(
            "the route parameter `{name}` (`{text}`) is invalid: {e}"
        ))
        .into()
    })
}

/// Reads an optional (`{name?}`) route parameter of an HTTP function as `T`.
pub fn optional_route_param<T>(request: &HttpRequest, name: &str) -> Result<Option<T>, HttpResponse>
where
    T: std::str::FromStr,
    T::Err: Display,
{
    match request.route_param(name) {
        None => Ok(None),
        Some(_) => route_param(request, name).map(Some),
    }
}

/// What an HTTP function's `Ok` value may be.
pub trait IntoHttpResponse {
    /// The response.
    fn into_http_response(self) -> HttpResponse;
}

impl IntoHttpResponse for HttpResponse {
    fn into_http_response(self) -> HttpResponse {
        self
    }
}

/// Picks how an HTTP function's error becomes a response, by its type (autoref
/// specialization, as [`Causes`]): `(&ErrorResponse(&error)).error_response()` with both
/// traits in scope. A [`DurableError`] answers with its own status (404 for an unknown
/// instance, 400 for a bad body, …); any other `Display` error is a 500.
pub struct ErrorResponse<'a, E>(pub &'a E);

/// The response for a [`DurableError`].
pub trait DurableErrorResponse {
    /// The response.
    fn error_response(&self) -> HttpResponse;
}

impl DurableErrorResponse for ErrorResponse<'_, DurableError> {
    fn error_response(&self) -> HttpResponse {
        crate::http::ApiError::from(self.0).into()
    }
}

/// The response for any other error: a 500 with its message.
pub trait DisplayErrorResponse {
    /// The response.
    fn error_response(&self) -> HttpResponse;
}

impl<E: Display> DisplayErrorResponse for &ErrorResponse<'_, E> {
    fn error_response(&self) -> HttpResponse {
        crate::http::InternalError::function_failed(self.0).into()
    }
}
