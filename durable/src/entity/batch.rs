//! Running a batch of operations against an entity's state, one at a time, in order.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::context::Operation;
use super::{DurableEntityContext, EntityAction, EntityId};
use crate::function::{BoxFuture, FunctionResult, panic_message};
use crate::history::{FailureDetails, FailureKind};

/// An entity function as registered: it runs one operation on the context it is given.
pub type EntityFunction = fn(DurableEntityContext) -> BoxFuture<'static, FunctionResult>;

/// One operation of a batch: its name and input, as the entity's inbox holds them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationRequest {
    /// The operation's name.
    pub operation: String,
    /// Its input, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
}

/// How one operation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum OperationOutcome {
    /// It ran; what it returned with `return_value`, if anything.
    Succeeded(Option<Value>),
    /// It returned an error or panicked.
    Failed(FailureDetails),
}

/// What a batch produced, to be committed together: the state after the last operation
/// (`None`: the entity has none, or was deleted), each operation's outcome in order, and
/// the actions of the operations that count.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchOutcome {
    /// The entity's state once the batch ran.
    pub state: Option<Value>,
    /// One outcome per request, in order.
    pub outcomes: Vec<OperationOutcome>,
    /// The signals and orchestration starts to send, in the order they were asked for.
    pub actions: Vec<EntityAction>,
}

/// Runs `requests` one at a time against `state` with `function`. An operation that fails
/// (returns an error or panics) leaves the state and actions as they were before it when
/// `rollback_on_failure` (Azure's `rollbackEntityOperationsOnExceptions`, true by default);
/// the next operation runs either way.
pub async fn run_batch(
    function: EntityFunction,
    id: &EntityId,
    state: Option<Value>,
    requests: &[OperationRequest],
    rollback_on_failure: bool,
) -> BatchOutcome {
    let id = Arc::new(id.clone());
    let mut batch = BatchOutcome { state, outcomes: Vec::new(), actions: Vec::new() };
    for request in requests {
        let context = DurableEntityContext::new(
            Arc::clone(&id),
            Operation {
                name: request.operation.clone(),
                input: request.input.clone(),
                state: batch.state.clone(),
                ..Operation::default()
            },
        );
        let ran = AssertUnwindSafe(function(context.clone())).catch_unwind().await;
        let ran = ran.unwrap_or_else(|panic| {
            Err(FailureDetails::new(FailureKind::Panic, panic_message(panic.as_ref())))
        });
        let operation = context.finish();
        let keep = ran.is_ok() || !rollback_on_failure;
        if keep {
            batch.state = operation.state;
            batch.actions.extend(operation.actions);
        }
        batch.outcomes.push(match ran {
            Ok(_) => OperationOutcome::Succeeded(operation.result),
            Err(failure) => OperationOutcome::Failed(failure),
        });
    }
    batch
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::entity::EntityError;

    /// Azure's function-based Counter, ported.
    async fn counter(ctx: DurableEntityContext) -> Result<(), EntityError> {
        match ctx.operation_name().to_lowercase().as_str() {
            "add" => {
                let amount: i64 = ctx.get_input().unwrap_or_default();
                ctx.set_state(ctx.get_state::<i64>()? + amount)?;
            }
            "reset" => ctx.set_state(0)?,
            "get" => ctx.return_value(ctx.get_state::<i64>()?)?,
            "delete" => ctx.delete_state(),
            _ => {}
        }
        Ok(())
    }

    /// Operations that fail after changing the state and signalling.
    async fn fragile(ctx: DurableEntityContext) -> Result<(), EntityError> {
        let me = ctx.entity_id().clone();
        ctx.set_state(ctx.get_state::<i64>()? + 1)?;
        ctx.signal_entity(&me, "echo", ctx.operation_name())?;
        match ctx.operation_name().as_str() {
            "panic" => panic!("operation blew up"),
            // The state is a number: reading it as text fails.
            "fail" => ctx.get_state::<String>().map(drop),
            _ => Ok(()),
        }
    }

    /// What `#[entity_trigger]` emits around an entity fn, by hand.
    fn registered(
        operation: impl Future<Output = Result<(), EntityError>> + Send + 'static,
    ) -> BoxFuture<'static, FunctionResult> {
        Box::pin(async move {
            operation.await.map(|()| Value::Null).map_err(|e| {
                FailureDetails::new(FailureKind::Error("EntityError".to_owned()), e.to_string())
            })
        })
    }

    fn invoke_counter(ctx: DurableEntityContext) -> BoxFuture<'static, FunctionResult> {
        registered(counter(ctx))
    }

    fn invoke_fragile(ctx: DurableEntityContext) -> BoxFuture<'static, FunctionResult> {
        registered(fragile(ctx))
    }

    fn op(operation: &str, input: Option<Value>) -> OperationRequest {
        OperationRequest { operation: operation.to_owned(), input }
    }

    fn id(name: &str) -> EntityId {
        EntityId::new(name, "k1").unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test]
    async fn a_batch_runs_its_operations_in_order_on_one_state() {
        let requests = [
            op("add", Some(json!(5))),
            op("add", Some(json!(3))),
            op("get", None),
            op("reset", None),
            op("get", None),
        ];
        let batch = run_batch(invoke_counter, &id("Counter"), None, &requests, true).await;
        assert_eq!(batch.state, Some(json!(0)));
        assert_eq!(
            batch.outcomes,
            vec![
                OperationOutcome::Succeeded(None),
                OperationOutcome::Succeeded(None),
                OperationOutcome::Succeeded(Some(json!(8))),
                OperationOutcome::Succeeded(None),
                OperationOutcome::Succeeded(Some(json!(0))),
            ]
        );
        let deleted =
            run_batch(invoke_counter, &id("Counter"), Some(json!(7)), &[op("delete", None)], true)
                .await;
        assert_eq!(deleted.state, None, "delete_state removes the entity");
    }

    #[tokio::test]
    async fn a_failed_operation_rolls_back_its_own_changes_and_the_entity_goes_on() {
        let requests = [op("ok", None), op("fail", None), op("panic", None), op("ok", None)];
        let batch = run_batch(invoke_fragile, &id("Fragile"), None, &requests, true).await;
        assert_eq!(batch.state, Some(json!(2)), "only the two successful increments count");
        let signalled: Vec<_> = batch
            .actions
            .iter()
            .map(|a| match a {
                EntityAction::Signal { input, .. } => input.clone(),
                EntityAction::StartOrchestration { .. } => None,
            })
            .collect();
        assert_eq!(signalled, vec![Some(json!("ok")), Some(json!("ok"))]);
        let OperationOutcome::Failed(failed) = &batch.outcomes[1] else {
            panic!("`fail` failed: {:?}", batch.outcomes[1]);
        };
        assert!(failed.error_message.contains("reading the state"), "{failed}");
        assert_eq!(
            batch.outcomes[2],
            OperationOutcome::Failed(FailureDetails::new(FailureKind::Panic, "operation blew up"))
        );

        let kept = run_batch(invoke_fragile, &id("Fragile"), None, &requests, false).await;
        assert_eq!(kept.state, Some(json!(4)), "without rollback every change stays");
        assert_eq!(kept.actions.len(), 4);
    }
}
