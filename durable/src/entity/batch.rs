//! Running one operation of a batch against an entity's state.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt;
use serde_json::Value;

use super::context::Operation;
use super::turn::TurnOptions;
use super::{DurableEntityContext, EntityAction};
use crate::function::{BoxFuture, FunctionResult, panic_message};
use crate::history::{
    EntityId, FailureDetails, FailureKind, Limit, LimitExceeded, Limits, OperationRequest,
};

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
/// One whose new state or result is over `maxOutputSize` fails with `PayloadTooLarge` and is
/// always rolled back: what it left cannot be stored.
pub(super) async fn run_operation(
    function: EntityFunction,
    id: &Arc<EntityId>,
    state: Option<Value>,
    request: &OperationRequest,
    options: TurnOptions,
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
    if ran.is_ok()
        && let Err(exceeded) = check_sizes(&options.limits, id, request, &operation)
    {
        let failure = OperationOutcome::Failed(exceeded.failure());
        return OperationRun { state, actions: Vec::new(), outcome: failure };
    }
    match ran {
        Ok(_) => OperationRun {
            state: operation.state,
            actions: operation.actions,
            outcome: OperationOutcome::Succeeded(operation.result),
        },
        Err(failure) if options.rollback_on_failure => {
            OperationRun { state, actions: Vec::new(), outcome: OperationOutcome::Failed(failure) }
        }
        Err(failure) => OperationRun {
            state: operation.state,
            actions: operation.actions,
            outcome: OperationOutcome::Failed(failure),
        },
    }
}

/// Checks what a successful operation left against `maxOutputSize`: the entity's new state
/// and the operation's result.
fn check_sizes(
    limits: &Limits,
    id: &EntityId,
    request: &OperationRequest,
    operation: &Operation,
) -> Result<(), LimitExceeded> {
    if let Some(state) = &operation.state {
        let what = format!("the state of entity `{id}` after `{}`", request.operation);
        limits.check(Limit::Output, what, state)?;
    }
    if let Some(result) = &operation.result {
        let what = format!("the result of operation `{}` on `{id}`", request.operation);
        limits.check(Limit::Output, what, result)?;
    }
    Ok(())
}
