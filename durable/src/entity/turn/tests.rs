use serde_json::json;

use super::*;
use crate::entity::{DurableEntityContext, EntityError};
use crate::function::{BoxFuture, FunctionResult};
use crate::history::{FailureDetails, FailureKind};

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

fn id(name: &str, key: &str) -> EntityId {
    EntityId::new(name, key).unwrap_or_else(|e| panic!("{e}"))
}

fn signal(operation: &str, input: Option<Value>) -> EntityMessage {
    EntityMessage::Operation(OperationRequest::signal(operation, input))
}

/// A call from orchestration `sender`, answered under `request_id`.
fn call(sender: &str, request_id: &str, operation: &str, input: Option<Value>) -> EntityMessage {
    EntityMessage::Operation(OperationRequest {
        operation: operation.to_owned(),
        input,
        sender: Some(sender.to_owned()),
        request_id: Some(request_id.to_owned()),
    })
}

fn lock(owner: &str, keys: &[&str], position: usize) -> EntityMessage {
    EntityMessage::Lock(LockRequest {
        owner: owner.to_owned(),
        request_id: format!("{owner}-lock"),
        lock_set: keys.iter().map(|k| id("Counter", k)).collect(),
        position,
    })
}

fn release(owner: &str, chain: bool) -> EntityMessage {
    EntityMessage::Release(LockRelease {
        owner: owner.to_owned(),
        request_id: format!("{owner}-lock"),
        chain,
    })
}

const OPTIONS: TurnOptions =
    TurnOptions { rollback_on_failure: true, max_batch_size: 100, limits: Limits::DEFAULT };

async fn turn(record: EntityRecord, messages: Vec<EntityMessage>) -> EntityTurn {
    run_turn(invoke_counter, &id("Counter", "a"), record, messages, OPTIONS).await
}

fn responses(turn: &EntityTurn) -> Vec<(String, Value)> {
    turn.outgoing
        .iter()
        .filter_map(|o| match o {
            Outgoing::Response { request_id, response, .. } => {
                Some((request_id.clone(), response.result.clone()))
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn operations_run_in_order_on_one_state_and_calls_are_answered() {
    let messages = vec![
        signal("add", Some(json!(5))),
        signal("add", Some(json!(3))),
        call("o1", "r1", "get", None),
        signal("reset", None),
        call("o1", "r2", "get", None),
    ];
    let done = turn(EntityRecord::default(), messages).await;
    assert_eq!(done.record.state(), Some(&json!(0)));
    assert_eq!(responses(&done), vec![("r1".into(), json!(8)), ("r2".into(), json!(0))]);
    assert_eq!(done.outcomes.len(), 5);
    let deleted = turn(done.record, vec![signal("delete", None)]).await;
    assert_eq!(deleted.record.state(), None, "delete_state removes the entity's state");
}

#[tokio::test]
async fn a_failed_operation_rolls_back_its_own_changes_and_the_caller_hears_why() {
    let messages = vec![signal("ok", None), call("o", "r", "fail", None), signal("panic", None)];
    let messages = [messages, vec![signal("ok", None)]].concat();
    let done = run_turn(
        invoke_fragile,
        &id("Fragile", "k"),
        EntityRecord::default(),
        messages.clone(),
        OPTIONS,
    )
    .await;
    assert_eq!(done.record.state(), Some(&json!(2)), "only the two successes count");
    let signalled = done.outgoing.iter().filter(|o| matches!(o, Outgoing::ToEntity { .. }));
    assert_eq!(signalled.count(), 2);
    let failure = done.outgoing.iter().find_map(|o| match o {
        Outgoing::Response { response, .. } => response.failure.clone(),
        _ => None,
    });
    assert!(failure.is_some_and(|f| f.error_message.contains("reading the state")));
    assert_eq!(
        done.outcomes[2].1,
        OperationOutcome::Failed(FailureDetails::new(FailureKind::Panic, "operation blew up"))
    );

    let options = TurnOptions { rollback_on_failure: false, ..OPTIONS };
    let kept =
        run_turn(invoke_fragile, &id("Fragile", "k"), EntityRecord::default(), messages, options)
            .await;
    assert_eq!(kept.record.state(), Some(&json!(4)), "without rollback every change stays");
}

#[tokio::test]
async fn a_lock_holds_back_everyone_else_until_its_release() {
    let messages = vec![
        lock("o1", &["a", "b"], 0),
        signal("add", Some(json!(1))),
        call("o2", "x", "get", None),
        lock("o2", &["a"], 0),
        call("o1", "y", "add", Some(json!(10))),
        call("o1", "z", "get", None),
    ];
    let locked = turn(EntityRecord::default(), messages).await;
    assert_eq!(locked.record.lock.as_ref().map(|l| l.owner.as_str()), Some("o1"));
    assert_eq!(locked.record.state(), Some(&json!(10)), "only the owner's operations ran");
    assert_eq!(responses(&locked), vec![("y".into(), Value::Null), ("z".into(), json!(10))]);
    let forwarded = &locked.outgoing[0];
    assert!(
        matches!(forwarded, Outgoing::ToEntity { target, message: EntityMessage::Lock(l), .. }
            if target.key() == "b" && l.position == 1),
        "the lock request goes on to the next entity: {forwarded:?}"
    );
    assert_eq!(locked.record.backlog.len(), 3);

    let released = turn(locked.record, vec![release("o1", false), call("o2", "w", "get", None)]);
    let released = released.await;
    assert_eq!(released.record.state(), Some(&json!(11)));
    assert_eq!(
        responses(&released),
        vec![("x".into(), json!(11)), ("o2-lock".into(), Value::Null), ("w".into(), json!(11))],
        "what waited runs first, in order; o2's lock (last of its set) is granted"
    );
    assert_eq!(released.record.lock.as_ref().map(|l| l.owner.as_str()), Some("o2"));
    assert!(released.record.backlog.is_empty());
}

#[tokio::test]
async fn a_release_chains_along_the_lock_set_and_aborts_a_lock_not_yet_granted() {
    let record = EntityRecord {
        lock: match lock("o1", &["a", "b"], 0) {
            EntityMessage::Lock(l) => Some(l),
            _ => None,
        },
        backlog: vec![lock("o2", &["a", "b"], 0)],
        ..EntityRecord::default()
    };
    let done = turn(record, vec![release("o1", true), release("o2", true)]).await;
    assert!(done.record.lock.is_none() && done.record.backlog.is_empty());
    let sent: Vec<_> = done
        .outgoing
        .iter()
        .filter_map(|o| match o {
            Outgoing::ToEntity { target, message, .. } => Some((target.key(), message.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        sent,
        vec![
            ("b", release("o1", true)),
            ("b", lock("o2", &["a", "b"], 1)),
            ("b", release("o2", true))
        ],
        "o1's release goes on to b; o2 was granted a and passed on, then released"
    );
}

#[tokio::test]
async fn a_full_batch_leaves_the_rest_for_the_next_turn_in_order() {
    let options = TurnOptions { max_batch_size: 2, ..OPTIONS };
    let messages = (1..=5).map(|n| signal("add", Some(json!(n)))).collect();
    let first =
        run_turn(invoke_counter, &id("Counter", "a"), EntityRecord::default(), messages, options)
            .await;
    assert!(first.more);
    assert_eq!(first.record.state(), Some(&json!(3)));
    assert_eq!(first.record.backlog.len(), 3);
    let second = run_turn(
        invoke_counter,
        &id("Counter", "a"),
        first.record,
        vec![call("o", "r", "get", None)],
        options,
    )
    .await;
    assert_eq!(second.record.state(), Some(&json!(10)), "1 + 2, then 3 + 4: the call waits");
    assert!(second.more);
}

#[tokio::test]
async fn a_state_over_the_output_limit_fails_the_operation_and_is_always_rolled_back() {
    let limits = Limits { max_output_size: 2, ..Limits::DEFAULT };
    let options = TurnOptions { rollback_on_failure: false, limits, ..OPTIONS };
    let mut record = EntityRecord::default();
    record.set_state(Some(json!(98)));
    let messages = vec![signal("inc", None), signal("inc", None)];
    let done = run_turn(invoke_fragile, &id("Fragile", "k"), record, messages, options).await;
    assert_eq!(done.record.state(), Some(&json!(99)), "the second change is taken back");
    assert_eq!(done.outgoing.len(), 1, "so is its signal");
    let OperationOutcome::Failed(failure) = &done.outcomes[1].1 else {
        panic!("{:?}", done.outcomes);
    };
    assert_eq!(failure.error_type, FailureKind::PayloadTooLarge);
    assert!(failure.error_message.contains("`maxOutputSize`"), "{failure:?}");
}
