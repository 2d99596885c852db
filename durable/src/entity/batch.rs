//! Running one operation of a batch against an entity's state.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt;
use serde_json::Value;

use super::context::Operation;
use super::{DurableEntityContext, EntityAction};
use crate::function::{BoxFuture, FunctionResult, panic_message};
use crate::history::{EntityId, FailureDetails, FailureKind, OperationRequest};

/// An entity function as registered: it runs one operation on the context it is given.
pub type EntityFunction = fn(DurableEntityContext) -> BoxFuture<'static, FunctionResult>;

/// How one operation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum OperationOutcome {
    /// It ran; what it returned with `return_value`, if anything.
    Succeeded(Option<Value>),
    /// It returned an error or panicked.
    Failed(FailureDetails),
}

/// What one operation left behind: the state after it and the actions it asked for (both as
/// they were before it when it failed and is rolled back), and how it ended.
pub(super) struct OperationRun {
    pub(super) state: Option<Value>,
    pub(super) actions: Vec<EntityAction>,
    pub(super) outcome: OperationOutcome,
}

/// Runs `request` against `state` with `function`. An operation that fails (returns an
/// error or panics) leaves the state as it was and takes back its actions when
/// `rollback_on_failure` (Azure's `rollbackEntityOperationsOnExceptions`, true by default).
pub(super) async fn run_operation(
    function: EntityFunction,
    id: &Arc<EntityId>,
    state: Option<Value>,
    request: &OperationRequest,
    rollback_on_failure: bool,
) -> OperationRun {
    let context = DurableEntityContext::new(
        Arc::clone(id),
        Operation {
            name: request.operation.clone(),
            input: request.input.clone(),
            state: state.clone(),
            ..Operation::default()
        },
    );
    let ran = AssertUnwindSafe(context.scope(function(context.clone()))).catch_unwind().await;
    let ran = ran.unwrap_or_else(|panic| {
        Err(FailureDetails::new(FailureKind::Panic, panic_message(panic.as_ref())))
    });
    let operation = context.finish();
    match ran {
        Ok(_) => OperationRun {
            state: operation.state,
            actions: operation.actions,
            outcome: OperationOutcome::Succeeded(operation.result),
        },
        Err(failure) if rollback_on_failure => {
            OperationRun { state, actions: Vec::new(), outcome: OperationOutcome::Failed(failure) }
        }
        Err(failure) => OperationRun {
            state: operation.state,
            actions: operation.actions,
            outcome: OperationOutcome::Failed(failure),
        },
    }
}
