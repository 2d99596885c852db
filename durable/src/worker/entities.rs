//! Entity turns: an entity's fetched requests run as one batch against its record, and the
//! batch commits as one turn: the new record (as the input of a fresh execution), the
//! signals it sent and the orchestrations it started.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Counters, Shared};
use crate::backend::{
    ExecutionStart, InstanceRecord, NewInstance, OrchestrationCommit, SubOrchestrationStart,
    WorkItemLock,
};
use crate::entity::{
    EntityAction, EntityId, EntityRecord, OperationOutcome, OperationRequest, operation_message,
    operation_of, run_batch,
};
use crate::history::{
    EventKind, HistoryEvent, OrchestrationMessage, OrchestrationRuntimeStatus, new_id,
};

/// The event an entity receives when an orchestration it started could not be created
/// because its id was taken; it is logged and dropped.
const START_REFUSED_EVENT: &str = "StartOrchestrationRefused";

/// Runs the fetched requests of the entity `instance` and commits them; returns whether the
/// commit succeeded.
pub(super) async fn run_turn(
    shared: Arc<Shared>,
    instance: InstanceRecord,
    messages: Vec<OrchestrationMessage>,
    lock: WorkItemLock,
    completed_activity: Option<WorkItemLock>,
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
    let record = match EntityRecord::read(&instance.input) {
        Ok(record) => record,
        Err(error) => {
            tracing::error!(%instance_id, %error, "an entity's stored record does not read");
            return commit(&shared, &instance_id, &lock, consume_only, None).await;
        }
    };

    // Requests in arrival order; those handed over at creation come with its start message.
    let mut requests = Vec::new();
    let mut later = Vec::new();
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
                            later.push(operation_message(&id, &queued.request, Some(at), now))
                        }
                        _ => requests.push(queued.request),
                    }
                }
            }
            EventKind::EventRaised { name, input } if name == START_REFUSED_EVENT => {
                tracing::warn!(%instance_id, %input, "an orchestration the entity started had a taken id");
            }
            kind => match operation_of(kind) {
                Some(Ok(request)) => requests.push(request),
                Some(Err(error)) => {
                    tracing::error!(%instance_id, %error, "dropping a malformed operation request");
                }
                None => {
                    tracing::debug!(%instance_id, event = kind.type_name(), "ignoring an event sent to an entity")
                }
            },
        }
    }

    let batch = run_batch(
        registration.invoke,
        &id,
        record.state().cloned(),
        &requests,
        shared.options.rollback_entity_operations_on_exceptions,
    )
    .await;
    for (request, outcome) in requests.iter().zip(&batch.outcomes) {
        if let OperationOutcome::Failed(failure) = outcome {
            tracing::warn!(%instance_id, operation = %request.operation, %failure, "an entity operation failed");
        }
    }
    let messages = later;
    let mut sub_orchestrations = Vec::new();
    for action in batch.actions {
        match action {
            EntityAction::Signal { target, operation, input, at } => {
                let request = OperationRequest { operation, input };
                sub_orchestrations.push(create_or_deliver(&target, request, at, now));
            }
            EntityAction::StartOrchestration { name, instance_id: child, input } => {
                sub_orchestrations.push(SubOrchestrationStart {
                    instance: NewInstance {
                        instance_id: child.clone(),
                        name,
                        execution_id: new_id(),
                        input,
                        created_at: now,
                        version: String::new(),
                        parent: None,
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
            input: EntityRecord::with_state(batch.state).to_value(),
            version: instance.version.clone(),
        }),
        // Entities show as running, as in Azure, from their first batch on.
        status: OrchestrationRuntimeStatus::Running,
        messages,
        sub_orchestrations,
        ..consume_only
    };
    commit(&shared, &instance_id, &lock, turn, Some(fallback)).await
}

/// A signal to `target`: the entity is created to run it, or, when it exists, receives it.
fn create_or_deliver(
    target: &EntityId,
    request: OperationRequest,
    at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> SubOrchestrationStart {
    let if_exists = operation_message(target, &request, at, now);
    SubOrchestrationStart {
        instance: new_entity(target, EntityRecord::created_for(request, at), now),
        if_exists,
    }
}

/// The instance of a new entity `id` with `record`.
fn new_entity(id: &EntityId, record: EntityRecord, now: DateTime<Utc>) -> NewInstance {
    NewInstance {
        instance_id: id.to_string(),
        name: id.name().to_owned(),
        execution_id: new_id(),
        input: record.to_value(),
        created_at: now,
        version: String::new(),
        parent: None,
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
