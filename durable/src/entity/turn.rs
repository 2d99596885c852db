//! An entity turn: the messages an entity received, taken in arrival order against its
//! record. Operations run one at a time; a critical section's lock holds back everyone
//! else's messages until its release; a full batch leaves the rest for the next turn.
//! What the turn produced (the new record, signals, responses, lock grants and forwards) is
//! committed together by the worker.

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::batch::{OperationOutcome, run_operation};
use super::{EntityAction, EntityFunction, EntityRecord};
use crate::history::{
    EntityId, EntityMessage, EntityResponse, Limits, LockRelease, LockRequest, OperationRequest,
};

/// How a turn runs: Azure's `rollbackEntityOperationsOnExceptions` and
/// `maxEntityOperationBatchSize`.
#[derive(Debug, Clone, Copy)]
pub struct TurnOptions {
    /// Whether a failed operation's state changes and signals are taken back.
    pub rollback_on_failure: bool,
    /// The most operations one turn runs (at least 1).
    pub max_batch_size: usize,
    /// The limits an operation's new state and result are held to (`maxOutputSize`).
    pub limits: Limits,
}

impl Default for TurnOptions {
    /// Azure's defaults: failed operations are rolled back, 5,000 operations per batch, and
    /// the default limits.
    fn default() -> Self {
        TurnOptions { rollback_on_failure: true, max_batch_size: 5000, limits: Limits::default() }
    }
}

/// Something a turn sends, once it commits.
#[derive(Debug, Clone, PartialEq)]
pub enum Outgoing {
    /// A message to an entity (created to receive it if need be), delivered at `at` or at
    /// once.
    ToEntity {
        /// The receiving entity.
        target: EntityId,
        /// The message.
        message: EntityMessage,
        /// When to deliver it; at once when `None`.
        at: Option<DateTime<Utc>>,
    },
    /// The response to a call or a lock request, raised in `caller` as the event
    /// `request_id`.
    Response {
        /// The orchestration instance that asked.
        caller: String,
        /// The request the response answers.
        request_id: String,
        /// The result, failure or grant.
        response: EntityResponse,
    },
    /// An orchestration the entity started.
    StartOrchestration {
        /// The orchestrator function's name.
        name: String,
        /// The new instance's id.
        instance_id: String,
        /// Its input.
        input: Value,
    },
}

/// What a turn produced.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityTurn {
    /// The record to commit.
    pub record: EntityRecord,
    /// What to send, in order.
    pub outgoing: Vec<Outgoing>,
    /// Each operation that ran, with how it ended.
    pub outcomes: Vec<(String, OperationOutcome)>,
    /// The batch was full while messages that could run were left: the entity needs another
    /// turn even if nothing new arrives.
    pub more: bool,
}

/// Takes `messages` (after the record's backlog) in order against `record`.
pub async fn run_turn(
    function: EntityFunction,
    id: &EntityId,
    record: EntityRecord,
    messages: Vec<EntityMessage>,
    options: TurnOptions,
) -> EntityTurn {
    let id = Arc::new(id.clone());
    let mut record = record;
    let mut incoming: VecDeque<EntityMessage> =
        std::mem::take(&mut record.backlog).into_iter().chain(messages).collect();
    let mut turn = EntityTurn { record, outgoing: Vec::new(), outcomes: Vec::new(), more: false };
    // Messages held back by the lock, in arrival order.
    let mut waiting = Vec::new();
    while let Some(message) = incoming.pop_front() {
        if turn.outcomes.len() >= options.max_batch_size.max(1) {
            turn.more = true;
            waiting.push(message);
            waiting.extend(incoming.drain(..));
            break;
        }
        match message {
            EntityMessage::Operation(request) => {
                if turn.held_for_another(request.sender.as_deref()) {
                    waiting.push(EntityMessage::Operation(request));
                } else {
                    turn.run(function, &id, request, options).await;
                }
            }
            EntityMessage::Lock(request) => {
                if turn.record.lock.is_some() {
                    waiting.push(EntityMessage::Lock(request));
                } else {
                    turn.grant(request);
                }
            }
            EntityMessage::Release(release) => {
                if turn.release(&release) {
                    // What the lock held back runs first, in its order.
                    for held in waiting.drain(..).rev() {
                        incoming.push_front(held);
                    }
                } else {
                    // A critical section that ended before its lock came this far.
                    waiting.retain(|m| !is_lock_of(m, &release));
                }
            }
        }
    }
    turn.record.backlog = waiting;
    turn
}

fn is_lock_of(message: &EntityMessage, release: &LockRelease) -> bool {
    matches!(message, EntityMessage::Lock(lock)
        if lock.owner == release.owner && lock.request_id == release.request_id)
}

impl EntityTurn {
    /// Whether a critical section other than `sender`'s holds the lock.
    fn held_for_another(&self, sender: Option<&str>) -> bool {
        self.record.lock.as_ref().is_some_and(|lock| Some(lock.owner.as_str()) != sender)
    }

    async fn run(
        &mut self,
        function: EntityFunction,
        id: &Arc<EntityId>,
        request: OperationRequest,
        options: TurnOptions,
    ) {
        let state = self.record.state().cloned();
        let run = run_operation(function, id, state, &request, options).await;
        self.record.set_state(run.state);
        for action in run.actions {
            self.outgoing.push(match action {
                EntityAction::Signal { target, operation, input, at } => Outgoing::ToEntity {
                    target,
                    message: EntityMessage::Operation(OperationRequest::signal(operation, input)),
                    at,
                },
                EntityAction::StartOrchestration { name, instance_id, input } => {
                    Outgoing::StartOrchestration { name, instance_id, input }
                }
            });
        }
        if let (Some(caller), Some(request_id)) = (&request.sender, &request.request_id) {
            let response = match &run.outcome {
                OperationOutcome::Succeeded(result) => {
                    EntityResponse { result: result.clone().unwrap_or(Value::Null), failure: None }
                }
                OperationOutcome::Failed(failure) => {
                    EntityResponse { result: Value::Null, failure: Some(failure.clone()) }
                }
            };
            self.outgoing.push(Outgoing::Response {
                caller: caller.clone(),
                request_id: request_id.clone(),
                response,
            });
        }
        self.outcomes.push((request.operation, run.outcome));
    }

    /// Takes the lock for `request`, and passes the request on to the next entity of its
    /// set, or, from the last one, tells the owner it holds them all.
    fn grant(&mut self, request: LockRequest) {
        let next = request.position + 1;
        match request.lock_set.get(next) {
            Some(target) => self.outgoing.push(Outgoing::ToEntity {
                target: target.clone(),
                message: EntityMessage::Lock(LockRequest { position: next, ..request.clone() }),
                at: None,
            }),
            None => self.outgoing.push(Outgoing::Response {
                caller: request.owner.clone(),
                request_id: request.request_id.clone(),
                response: EntityResponse { result: Value::Null, failure: None },
            }),
        }
        self.record.lock = Some(request);
    }

    /// Releases the lock if `release` is for the critical section holding it; returns
    /// whether it was.
    fn release(&mut self, release: &LockRelease) -> bool {
        let Some(lock) = self
            .record
            .lock
            .take_if(|lock| lock.owner == release.owner && lock.request_id == release.request_id)
        else {
            return false;
        };
        if release.chain
            && let Some(target) = lock.lock_set.get(lock.position + 1)
        {
            self.outgoing.push(Outgoing::ToEntity {
                target: target.clone(),
                message: EntityMessage::Release(release.clone()),
                at: None,
            });
        }
        true
    }
}

#[cfg(test)]
mod tests;
