//! Entity turns: an entity's fetched messages run as one turn against its record, which
//! commits as one: the new record (as the input of a fresh execution), the responses to its
//! callers, the signals and lock messages it sent and the orchestrations it started.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Counters, Shared};
use crate::backend::{
    ExecutionStart, InstanceRecord, NewInstance, OrchestrationCommit, SubOrchestrationStart,
    WorkItemLock,
};
use crate::entity::{
    self, DurableEntityContext, EntityId, EntityRecord, OperationOutcome, Outgoing, TurnOptions,
};
use crate::function::{BoxFuture, FunctionResult};
use crate::history::{
    EntityMessage, EventKind, FailureDetails, FailureKind, HistoryEvent, OrchestrationMessage,
    OrchestrationRuntimeStatus, new_id,
};

/// The event an entity receives when an orchestration it started could not be created
/// because its id was taken; it is logged and dropped.
const START_REFUSED_EVENT: &str = "StartOrchestrationRefused";

/// The event an entity sends itself when its batch was full: it only wakes it for another
/// turn.
const CONTINUE_EVENT: &str = "continue";

/// Runs the messages fetched for the entity `instance` as one turn and commits it; returns
/// whether the commit succeeded. A `quarantined` turn (its entity was locked too often since
/// its last commit) runs none of its operations: each fails with `Quarantined`, while lock
/// requests and releases go on as usual.
pub(super) async fn run_turn(
    shared: Arc<Shared>,
    instance: InstanceRecord,
    messages: Vec<OrchestrationMessage>,
    lock: WorkItemLock,
    completed_activity: Option<WorkItemLock>,
    quarantined: bool,
) -> bool {
    let instance_id = instance.instance_id.clone();
    let now = shared.clock.now();
    let consume_only = OrchestrationCommit {
        completed_activity: completed_activity.clone(),
        ..super::orchestrations::unchanged(&instance)
    };
    let (id, registration) = match instance_id.parse::<EntityId>() {
        Ok(id) => {
            let registration = shared.registry.entity(id.name());
            (id, registration)
        }
        Err(error) => {
            tracing::error!(%instance_id, %error, "dropping the messages of a malformed entity id");
            return commit(&shared, &instance_id, &lock, consume_only, None).await;
        }
    };
    let (Some(registration), false) = (registration, instance.runtime_status.is_terminal()) else {
        tracing::error!(
            %instance_id,
            status = %instance.runtime_status,
            "dropping operations for an entity that is not registered in this app or has ended"
        );
        return commit(&shared, &instance_id, &lock, consume_only, None).await;
    };
    let mut record = match EntityRecord::read(&instance.input) {
        Ok(record) => record,
        Err(error) => {
            tracing::error!(%instance_id, %error, "an entity's stored record does not read");
            return commit(&shared, &instance_id, &lock, consume_only, None).await;
        }
    };
    // The messages it was created with come with its start message, below.
    record.queue.clear();

    // Messages in arrival order; those handed over at creation come with its start message.
    let mut received = Vec::new();
    let mut sends = Vec::new();
    for message in messages {
        match &message.event.kind {
            EventKind::ExecutionStarted { input, .. } => {
                let queue = EntityRecord::read(input).map(|r| r.queue).unwrap_or_else(|error| {
                    tracing::error!(%instance_id, %error, "dropping a malformed entity creation");
                    Vec::new()
                });
                for queued in queue {
                    match queued.at {
                        Some(at) if at > now => {
                            sends.push(queued.message.to_message(&id, Some(at), now))
                        }
                        _ => received.push(queued.message),
                    }
                }
            }
            EventKind::EventRaised { name, input } => {
                match EntityMessage::from_event(name, input) {
                    Some(Ok(message)) => received.push(message),
                    Some(Err(error)) => {
                        tracing::error!(%instance_id, %error, "dropping a malformed entity message");
                    }
                    None if name == START_REFUSED_EVENT => {
                        tracing::warn!(%instance_id, %input, "an orchestration the entity started had a taken id");
                    }
                    None if name == CONTINUE_EVENT => {}
                    None => {
                        tracing::debug!(%instance_id, %name, "ignoring an event sent to an entity")
                    }
                }
            }
            kind => {
                tracing::debug!(%instance_id, event = kind.type_name(), "ignoring an event sent to an entity")
            }
        }
    }

    let options = TurnOptions {
        rollback_on_failure: shared.options.rollback_entity_operations_on_exceptions,
        max_batch_size: shared.options.max_entity_operation_batch_size,
        limits: shared.options.limits,
    };
    let function = if quarantined {
        tracing::error!(%instance_id, "entity work item quarantined: its operations fail");
        quarantined_operation
    } else {
        registration.invoke
    };
    let turn = entity::run_turn(function, &id, record, received, options).await;
    for (operation, outcome) in &turn.outcomes {
        if let OperationOutcome::Failed(failure) = outcome {
            tracing::warn!(%instance_id, %operation, %failure, "an entity operation failed");
        }
    }
    if turn.more {
        let wake = EventKind::EventRaised { name: CONTINUE_EVENT.to_owned(), input: Value::Null };
        sends.push(OrchestrationMessage {
            visible_at: None,
            instance_id: instance_id.clone(),
            execution_id: None,
            event: HistoryEvent::new(now, wake),
        });
    }
    let mut sub_orchestrations = Vec::new();
    for outgoing in turn.outgoing {
        match outgoing {
            Outgoing::ToEntity { target, message, at } => {
                sub_orchestrations.push(create_or_deliver(&target, message, at, now));
            }
            Outgoing::Response { caller, request_id, response } => {
                sends.push(response.to_message(&caller, &request_id, now));
            }
            Outgoing::StartOrchestration { name, instance_id: child, input } => {
                sub_orchestrations.push(SubOrchestrationStart {
                    instance: NewInstance {
                        instance_id: child.clone(),
                        name,
                        execution_id: new_id(),
                        input,
                        created_at: now,
                        version: String::new(),
                        parent: None,
                        start_at: None,
                        trace: Some(crate::history::TraceContext::new_root()),
                    },
                    if_exists: OrchestrationMessage {
                        visible_at: None,
                        instance_id: instance_id.clone(),
                        execution_id: None,
                        event: HistoryEvent::new(
                            now,
                            EventKind::EventRaised {
                                name: START_REFUSED_EVENT.to_owned(),
                                input: Value::String(child),
                            },
                        ),
                    },
                });
            }
        }
    }
    let fallback = consume_only.clone();
    let turn = OrchestrationCommit {
        new_execution: Some(ExecutionStart {
            input: turn.record.to_value(),
            version: instance.version.clone(),
        }),
        // Entities show as running, as in Azure, from their first batch on.
        status: OrchestrationRuntimeStatus::Running,
        messages: sends,
        sub_orchestrations,
        ..consume_only
    };
    commit(&shared, &instance_id, &lock, turn, Some(fallback)).await
}

/// The operation that replaces an entity's own in a quarantined turn.
fn quarantined_operation(_: DurableEntityContext) -> BoxFuture<'static, FunctionResult> {
    Box::pin(async {
        Err(FailureDetails::new(
            FailureKind::Quarantined,
            "entity operation quarantined: the entity's turns crashed the process or were \
             abandoned more often than maxWorkItemAttempts allows",
        ))
    })
}

/// `message` to the entity `target`: the entity is created to receive it, or, when it
/// exists, receives it.
pub(super) fn create_or_deliver(
    target: &EntityId,
    message: EntityMessage,
    at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> SubOrchestrationStart {
    let if_exists = message.to_message(target, at, now);
    SubOrchestrationStart {
        instance: NewInstance {
            instance_id: target.to_string(),
            name: target.name().to_owned(),
            execution_id: new_id(),
            input: EntityRecord::created_for(message, at).to_value(),
            created_at: now,
            version: String::new(),
            parent: None,
            start_at: None,
            trace: None,
        },
        if_exists,
    }
}

/// Commits an entity turn. A turn the store refuses for good (say, a state too large) is
/// replaced by `fallback`, which only consumes the requests, so the entity does not loop on
/// them.
async fn commit(
    shared: &Shared,
    instance_id: &str,
    lock: &WorkItemLock,
    turn: OrchestrationCommit,
    fallback: Option<OrchestrationCommit>,
) -> bool {
    let error = match shared.backend.complete_orchestration(lock, turn).await {
        Ok(()) => {
            Counters::add(&shared.counters.orchestrator_turns, 1);
            return true;
        }
        Err(error) => error,
    };
    if let Some(fallback) = fallback.filter(|_| !error.is_retryable()) {
        tracing::error!(%instance_id, %error, "the store refused an entity batch; its operations are dropped");
        if shared.backend.complete_orchestration(lock, fallback).await.is_ok() {
            Counters::add(&shared.counters.orchestrator_turns, 1);
            return true;
        }
    } else {
        tracing::warn!(%instance_id, %error, "committing an entity turn failed; it will run again");
    }
    super::orchestrations::abandon(shared, lock).await;
    false
}
