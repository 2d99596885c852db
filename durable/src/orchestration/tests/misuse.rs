//! Orchestrator code that misuses the API fails its instance with a clear failure: it neither
//! hangs nor stores garbage.

use serde_json::{Value, json};

use super::{completed, failure_of, run, started, t, to_json};
use crate::function::{BoxFuture, FunctionResult};
use crate::history::FailureKind;
use crate::orchestration::{DurableOrchestrationContext, OrchestratorRegistration};

fn awaits_twice(context: DurableOrchestrationContext) -> BoxFuture<'static, FunctionResult> {
    Box::pin(async move {
        let mut task = context.call_activity::<String>("SayHello", "Tokyo");
        let first = (&mut task).await.map_err(|e| e.details)?;
        let second = (&mut task).await.map_err(|e| e.details)?;
        to_json([first, second])
    })
}

static AWAITS_TWICE: OrchestratorRegistration = OrchestratorRegistration {
    name: "AwaitsTwice",
    rust_path: "tests::awaits_twice",
    invoke: awaits_twice,
    validate_input: None,
};

#[test]
fn a_task_awaited_again_fails_the_orchestration_instead_of_hanging() {
    let mut run = run(&AWAITS_TWICE);
    run.turn(t(0), vec![started(Value::Null)]);
    let turn = run.turn(t(1), vec![completed(0, json!("Hello Tokyo!"))]);
    let failure = failure_of(&turn);
    assert_eq!(failure.error_type, FailureKind::Panic);
    assert!(failure.error_message.contains("polled after it completed"), "{failure}");
}

/// A map with non-string keys, which JSON cannot hold.
fn unserializable() -> std::collections::HashMap<(u8, u8), u8> {
    [((1, 2), 3)].into_iter().collect()
}

fn bad_custom_status(context: DurableOrchestrationContext) -> BoxFuture<'static, FunctionResult> {
    Box::pin(async move {
        context.set_custom_status("started");
        context.set_custom_status(unserializable());
        context.call_activity::<String>("SayHello", "Tokyo").await.map_err(|e| e.details)?;
        to_json("done")
    })
}

static BAD_CUSTOM_STATUS: OrchestratorRegistration = OrchestratorRegistration {
    name: "BadCustomStatus",
    rust_path: "tests::bad_custom_status",
    invoke: bad_custom_status,
    validate_input: None,
};

fn bad_next_input(context: DurableOrchestrationContext) -> BoxFuture<'static, FunctionResult> {
    Box::pin(async move {
        context.continue_as_new(unserializable(), false);
        to_json(())
    })
}

static BAD_NEXT_INPUT: OrchestratorRegistration = OrchestratorRegistration {
    name: "BadNextInput",
    rust_path: "tests::bad_next_input",
    invoke: bad_next_input,
    validate_input: None,
};

#[test]
fn values_that_do_not_serialize_fail_the_orchestration_saying_which() {
    let mut status_run = run(&BAD_CUSTOM_STATUS);
    let turn = status_run.turn(t(0), vec![started(Value::Null)]);
    let failure = failure_of(&turn);
    assert_eq!(failure.error_type, FailureKind::InvalidOutput);
    assert!(failure.error_message.starts_with("the custom status could not be serialized"));
    assert_eq!(turn.custom_status, json!("started"));
    assert!(turn.activities.is_empty(), "a failed turn schedules nothing");

    let mut next_run = run(&BAD_NEXT_INPUT);
    let failure = failure_of(&next_run.turn(t(0), vec![started(Value::Null)]));
    assert_eq!(failure.error_type, FailureKind::InvalidOutput);
    assert!(failure.error_message.contains("the input of `continue_as_new`"), "{failure}");
}
