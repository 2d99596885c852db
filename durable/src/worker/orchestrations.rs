//! The orchestration dispatcher: fetch an instance with its new messages, run a turn (from
//! the live-instance cache or by replaying history), commit what it produced.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::watch;

use super::{Counters, FETCH_WAIT, Shared, dispatch_loop};
use crate::backend::{
    ActivityRequest, BackendError, ExecutionStart, InstanceRecord, NewInstance,
    OrchestrationCommit, OrchestrationWorkItem, SubOrchestrationStart, WorkItemLock,
};
use crate::history::{
    EntityId, EntityMessage, EntityResponse, EventKind, FailureDetails, FailureKind, HistoryEvent,
    OrchestrationMessage, OrchestrationRuntimeStatus, ParentInstance, TraceContext, new_id,
};
use crate::orchestration::OrchestratorRegistration;
use crate::orchestration::engine::{OrchestrationRun, Outcome, SentEvent, Turn};

pub(super) async fn dispatch(shared: Arc<Shared>, stopped: watch::Receiver<bool>) {
    let backend = shared.backend.clone();
    dispatch_loop(
        "orchestration",
        &*shared.backend,
        shared.options.max_concurrent_orchestrator_functions,
        stopped,
        |max| {
            // The idle sweep: fetches return at least every FETCH_WAIT, so no run outlives
            // its idle timeout by much more, with no thread of its own.
            shared.cache.expire(Instant::now());
            let backend = backend.clone();
            async move { backend.fetch_orchestrations(max, FETCH_WAIT).await }
        },
        |item| {
            let shared = shared.clone();
            async move {
                run_turn(shared, item, None).await;
            }
        },
    )
    .await;
}

/// An activity result produced by this process, run as part of its instance's next turn and
/// committed with it.
pub(super) struct LocalResult {
    pub(super) message: OrchestrationMessage,
    pub(super) lease: WorkItemLock,
}

/// Runs a fetched work item's turn and commits it; returns whether the commit succeeded.
pub(super) async fn run_turn(
    shared: Arc<Shared>,
    item: OrchestrationWorkItem,
    local: Option<LocalResult>,
) -> bool {
    let OrchestrationWorkItem { instance, mut messages, history_len, attempt, lock } = item;
    let completed_activity = local.map(|local| {
        messages.push(local.message);
        local.lease
    });
    // Locked more often than allowed since its last commit: its turns crashed the process
    // or were abandoned each time, so running the code again would only loop.
    let quarantined = attempt > shared.options.max_work_item_attempts;
    if instance.instance_id.starts_with('@') {
        return super::entities::run_turn(
            shared,
            instance,
            messages,
            lock,
            completed_activity,
            quarantined,
        )
        .await;
    }
    let instance_id = instance.instance_id.clone();
    if instance.runtime_status == OrchestrationRuntimeStatus::Failed
        && let Some(at) =
            messages.iter().position(|m| matches!(m.event.kind, EventKind::ExecutionRewound { .. }))
    {
        let rewound = messages.swap_remove(at).event;
        return super::rewind::rewind(shared, instance, lock, rewound, completed_activity).await;
    }
    // `continue_as_new` queues the `ExecutionStarted` of the next execution: from that
    // message on, the next execution is the current one.
    let next_execution = messages.iter().find_map(|m| match &m.event.kind {
        EventKind::ExecutionStarted { execution_id, .. }
            if *execution_id != instance.execution_id =>
        {
            Some(execution_id.clone())
        }
        _ => None,
    });
    let (execution_id, history_len) = match &next_execution {
        Some(next) => (next.clone(), 0),
        None => (instance.execution_id.clone(), history_len),
    };
    if next_execution.is_some() {
        // The next execution starts, then takes what the previous one handed over (it
        // arrived first), then what was sent to the instance meanwhile.
        messages.sort_by_key(|m| match (&m.event.kind, &m.execution_id) {
            (EventKind::ExecutionStarted { .. }, _) => 0,
            (_, Some(_)) => 1,
            (_, None) => 2,
        });
    }
    let events: Vec<HistoryEvent> = messages
        .into_iter()
        .filter(|m| m.execution_id.as_ref().is_none_or(|e| *e == execution_id))
        .map(|m| m.event)
        .collect();

    if instance.runtime_status.is_terminal() || events.is_empty() {
        // Late results for a finished execution, or messages for an old one: consume them.
        if instance.runtime_status.is_terminal() {
            shared.cache.remove(&instance_id);
        }
        let consume = OrchestrationCommit { completed_activity, ..unchanged(&instance) };
        return commit(&shared, &instance, &lock, consume, None, &Failing::current(&instance))
            .await;
    }

    // What a failure without running the code must record (see `failed`).
    let started =
        events.first().filter(|e| matches!(e.kind, EventKind::ExecutionStarted { .. })).cloned();
    let mut failing = Failing {
        execution_id: execution_id.clone(),
        parent: started.as_ref().and_then(parent_of),
        started,
    };
    let registration = match shared.registry.orchestrator(&instance.name) {
        Some(registration) if !quarantined => registration,
        _ => {
            let (failure, recorded) = if quarantined {
                tracing::error!(%instance_id, attempt, "orchestration work item quarantined");
                shared.cache.remove(&instance_id);
                // Its messages are recorded, so that a rewind can deliver them again.
                (quarantined_failure(&instance.name, attempt - 1), events)
            } else {
                let started = failing.started.iter().cloned().collect();
                (not_registered("orchestrator", &instance.name), started)
            };
            if failing.started.is_none() {
                // An execution under way: its parent, if any, is named in its history.
                match shared.backend.get_history(&instance_id, &execution_id).await {
                    Ok(history) => failing.parent = history.iter().find_map(parent_of),
                    Err(error) => {
                        tracing::error!(%instance_id, %error, "loading history failed");
                        abandon(&shared, &lock).await;
                        return false;
                    }
                }
            }
            let fail = OrchestrationCommit {
                completed_activity,
                ..failed(&instance, &failing, recorded, failure, shared.clock.now())
            };
            return commit(&shared, &instance, &lock, fail, None, &failing).await;
        }
    };

    let cached = shared.cache.take(&instance_id, &execution_id, history_len);
    let mut run = match cached {
        Some(run) => run,
        None => {
            let mut run = OrchestrationRun::new(registration, &instance_id, shared.options.limits);
            if history_len > 0 {
                match shared.backend.get_history(&instance_id, &execution_id).await {
                    Ok(history) => {
                        let polls = run.replay(&history);
                        Counters::add(&shared.counters.replays, 1);
                        Counters::add(&shared.counters.replayed_events, history.len() as u64);
                        Counters::add(&shared.counters.orchestrator_polls, polls);
                    }
                    Err(error) => {
                        tracing::error!(%instance_id, %error, "loading history failed");
                        abandon(&shared, &lock).await;
                        return false;
                    }
                }
            }
            run
        }
    };

    let mut turn = run.turn(shared.clock.now(), events);
    Counters::add(&shared.counters.orchestrator_polls, turn.polls);
    let spans = std::mem::take(&mut turn.spans);
    let commit_data =
        OrchestrationCommit { completed_activity, ..turn_commit(&shared, &run, turn) };
    let new_len = history_len + commit_data.new_events.len() as u64;
    let finished = run.is_finished();
    failing.parent = run.parent();
    let keep = (!finished && shared.options.extended_sessions_enabled).then_some((run, new_len));
    let committed = commit(&shared, &instance, &lock, commit_data, keep, &failing).await;
    if committed {
        crate::telemetry::emit(&spans);
    }
    committed
}

/// Starts an instance by running its first turn here and committing it together with the
/// instance's creation: one commit instead of two, and no dispatch. The start is still
/// acknowledged only once that commit is durable.
pub(super) async fn start_instance(
    shared: &Shared,
    registration: &'static OrchestratorRegistration,
    new: NewInstance,
) -> Result<(), BackendError> {
    let instance_id = new.instance_id.clone();
    if shared.cache.contains(&instance_id) {
        // A live run holds this id, so it is most likely taken: let the store decide.
        return shared.backend.create_instance(new).await;
    }
    let plain = new.clone();
    let mut run = OrchestrationRun::new(registration, &instance_id, shared.options.limits);
    let mut turn = run.turn(shared.clock.now(), vec![new.started_event()]);
    Counters::add(&shared.counters.orchestrator_polls, turn.polls);
    let spans = std::mem::take(&mut turn.spans);
    let first_turn = turn_commit(shared, &run, turn);
    let finished = run.is_finished();
    let cached = !finished && shared.options.extended_sessions_enabled;
    if cached {
        // Cached before the commit, for the same reason as in `commit`.
        let history_len = first_turn.new_events.len() as u64;
        shared.cache.put(instance_id.clone(), run, history_len, Instant::now());
    }
    match shared.backend.create_instance_with_turn(new, first_turn).await {
        Ok(()) => {
            Counters::add(&shared.counters.orchestrator_turns, 1);
            crate::telemetry::emit(&spans);
            if finished {
                shared.completions.notify(&instance_id);
            }
            Ok(())
        }
        Err(error) => {
            if cached {
                shared.cache.remove(&instance_id);
            }
            match error {
                // The caller's answer: the id is taken.
                BackendError::InstanceExists { .. } => Err(error),
                // The store refused what the first turn produced (say, an output too large):
                // create the instance plainly; its worker turn will record the failure.
                error if !error.is_retryable() => shared.backend.create_instance(plain).await,
                error => Err(error),
            }
        }
    }
}

/// Whether a live run of the instance is cached here (so a local turn needs no replay).
pub(super) fn is_cached(shared: &Shared, instance_id: &str) -> bool {
    shared.cache.contains(instance_id)
}

/// Commits a turn; on success caches the live run (if given) and announces a final status.
pub(super) async fn commit(
    shared: &Shared,
    instance: &InstanceRecord,
    lock: &WorkItemLock,
    commit: OrchestrationCommit,
    keep: Option<(OrchestrationRun, u64)>,
    failing: &Failing,
) -> bool {
    let instance_id = instance.instance_id.as_str();
    let completed_activity = commit.completed_activity.clone();
    let finished = commit.status.is_terminal()
        && commit.new_events.iter().any(|e| matches!(e.kind, EventKind::ExecutionCompleted { .. }));
    // Cache before committing: the commit releases the instance, and its next work item may
    // be fetched before this task runs again. Until then the instance is locked to us.
    let cached = keep.is_some();
    if let Some((run, history_len)) = keep {
        shared.cache.put(instance_id.to_owned(), run, history_len, Instant::now());
    }
    match shared.backend.complete_orchestration(lock, commit).await {
        Ok(()) => {
            Counters::add(&shared.counters.orchestrator_turns, 1);
            if finished {
                shared.completions.notify(instance_id);
            }
            true
        }
        Err(error) => {
            // The cached run is ahead of the store now; the next turn must replay.
            if cached {
                shared.cache.remove(instance_id);
            }
            if !error.is_retryable() {
                // Running the turn again would produce the same rejected commit (say, an
                // output too large to store): fail the instance instead of looping.
                let failure = FailureDetails::new(
                    FailureKind::StoreRejected,
                    format!("the turn's result could not be stored: {error}"),
                );
                let started = failing.started.iter().cloned().collect();
                let fail = OrchestrationCommit {
                    completed_activity,
                    ..failed(instance, failing, started, failure, shared.clock.now())
                };
                if shared.backend.complete_orchestration(lock, fail).await.is_ok() {
                    Counters::add(&shared.counters.orchestrator_turns, 1);
                    shared.completions.notify(instance_id);
                    return true;
                }
            }
            tracing::warn!(%instance_id, %error, "committing an orchestration turn failed; it will run again");
            // The lock may still be held (when what was lost is a completed activity's lease).
            abandon(shared, lock).await;
            false
        }
    }
}

pub(super) async fn abandon(shared: &Shared, lock: &WorkItemLock) {
    match shared.backend.abandon_orchestration(lock).await {
        Ok(()) => {}
        // The lock is already gone (or the store is closing): nothing is left to release.
        Err(error) if error.is_retryable() => {
            tracing::debug!(%error, "abandoning an orchestration work item: nothing to release");
        }
        Err(error) => tracing::error!(%error, "abandoning an orchestration work item failed"),
    }
}

/// The commit of a turn. Scheduled activities become work items, or an immediate
/// `TaskFailed` when no activity of that name is registered (as Azure fails such a call);
/// sub-orchestrations become new instances; a finished sub-orchestration reports to its
/// parent; `continue_as_new` queues the next execution's start.
fn turn_commit(shared: &Shared, run: &OrchestrationRun, turn: Turn) -> OrchestrationCommit {
    let instance_id = run.instance_id();
    let execution_id = run.execution_id();
    let now = shared.clock.now();
    let to_self = |event: EventKind| OrchestrationMessage {
        visible_at: None,
        instance_id: instance_id.clone(),
        execution_id: Some(execution_id.clone()),
        event: HistoryEvent::new(now, event),
    };
    let mut activities = Vec::with_capacity(turn.activities.len());
    let mut messages = Vec::new();
    for scheduled in turn.activities {
        if shared.registry.activity(&scheduled.name).is_some() {
            activities.push(ActivityRequest {
                instance_id: instance_id.clone(),
                execution_id: execution_id.clone(),
                task_scheduled_id: scheduled.event_id,
                name: scheduled.name.to_string(),
                input: scheduled.input,
            });
        } else {
            messages.push(to_self(EventKind::TaskFailed {
                task_scheduled_id: scheduled.event_id,
                failure_details: not_registered("activity", &scheduled.name),
            }));
        }
    }
    let mut sub_orchestrations = Vec::with_capacity(turn.sub_orchestrations.len());
    for child in turn.sub_orchestrations {
        let parent = ParentInstance {
            name: run.name(),
            instance_id: instance_id.clone(),
            execution_id: execution_id.clone(),
            task_scheduled_id: child.event_id,
        };
        let trace = run.trace();
        let call = (&*child.name, child.instance_id, child.input, trace.as_ref());
        start_child(shared, parent, call, now, &mut sub_orchestrations, &mut messages);
    }
    for event in turn.sent {
        send(shared, event, &to_self, now, &mut sub_orchestrations, &mut messages);
    }
    for timer in turn.timers {
        messages.push(OrchestrationMessage {
            visible_at: Some(timer.fire_at),
            ..to_self(EventKind::TimerFired { timer_id: timer.event_id, fire_at: timer.fire_at })
        });
    }
    let (status, output, failure) = match &turn.outcome {
        Some(outcome) => (outcome.status(), outcome.output(), outcome.failure()),
        None if turn.suspended => (OrchestrationRuntimeStatus::Suspended, Value::Null, None),
        None => (OrchestrationRuntimeStatus::Running, Value::Null, None),
    };
    match turn.outcome {
        Some(Outcome::ContinuedAsNew { input, carried }) => {
            let next = new_id();
            let started = EventKind::ExecutionStarted {
                name: run.name(),
                execution_id: next.clone(),
                input,
                version: run.version(),
                parent_instance: run.parent(),
                trace_context: run.trace().as_ref().map(TraceContext::sibling),
            };
            let to_next = |event: EventKind| OrchestrationMessage {
                execution_id: Some(next.clone()),
                ..to_self(event)
            };
            messages.push(to_next(started));
            messages.extend(carried.into_iter().map(to_next));
        }
        Some(outcome) => {
            if let Some(parent) = run.parent()
                && let Some(report) = report_to_parent(&parent, &run.name(), &outcome)
            {
                messages.push(OrchestrationMessage {
                    visible_at: None,
                    instance_id: parent.instance_id,
                    execution_id: Some(parent.execution_id),
                    event: HistoryEvent::new(now, report),
                });
            }
        }
        None => {}
    }
    OrchestrationCommit {
        execution_id,
        new_execution: turn.new_events.iter().find_map(execution_start),
        new_events: turn.new_events,
        status,
        output,
        custom_status: turn.custom_status,
        failure,
        activities,
        messages,
        sub_orchestrations,
        completed_activity: None,
        replace_history: false,
    }
}

/// Adds an event the orchestration sent to what its commit delivers. A message to an entity
/// creates the entity if need be; one to an entity no function of this app implements is
/// answered at once with a `FunctionNotFound` failure when the orchestration awaits a
/// response, and dropped with an error otherwise.
fn send(
    shared: &Shared,
    event: SentEvent,
    to_self: &impl Fn(EventKind) -> OrchestrationMessage,
    now: DateTime<Utc>,
    starts: &mut Vec<SubOrchestrationStart>,
    messages: &mut Vec<OrchestrationMessage>,
) {
    let entity = event
        .instance_id
        .parse::<EntityId>()
        .ok()
        .zip(EntityMessage::from_event(&event.name, &event.input).and_then(Result::ok));
    let Some((target, message)) = entity else {
        messages.push(OrchestrationMessage {
            visible_at: event.at,
            instance_id: event.instance_id,
            execution_id: None,
            event: HistoryEvent::new(
                now,
                EventKind::EventRaised { name: event.name, input: event.input },
            ),
        });
        return;
    };
    if shared.registry.entity(target.name()).is_some() {
        starts.push(super::entities::create_or_deliver(&target, message, event.at, now));
        return;
    }
    let awaited = match &message {
        EntityMessage::Operation(request) => request.request_id.clone(),
        EntityMessage::Lock(request) => Some(request.request_id.clone()),
        EntityMessage::Release(_) => None,
    };
    match awaited {
        Some(request_id) => {
            let response = EntityResponse {
                result: Value::Null,
                failure: Some(not_registered("entity", target.name())),
            };
            messages.push(to_self(response.to_event(&request_id)));
        }
        None => {
            tracing::error!(entity = %target, "dropping a message to an entity no function of this app implements")
        }
    }
}

/// Adds a sub-orchestration to create with the parent's commit to `starts`, or, when no
/// orchestrator of that name is registered, the parent's notice that the call failed to
/// `messages`. The child's span descends from the parent's (`trace`, when it has one).
pub(super) fn start_child(
    shared: &Shared,
    parent: ParentInstance,
    (name, instance_id, input, trace): (&str, String, Value, Option<&TraceContext>),
    now: DateTime<Utc>,
    starts: &mut Vec<SubOrchestrationStart>,
    messages: &mut Vec<OrchestrationMessage>,
) {
    let notice = |failure_details| OrchestrationMessage {
        visible_at: None,
        instance_id: parent.instance_id.clone(),
        execution_id: Some(parent.execution_id.clone()),
        event: HistoryEvent::new(
            now,
            EventKind::SubOrchestrationInstanceFailed {
                task_scheduled_id: parent.task_scheduled_id,
                failure_details,
            },
        ),
    };
    if shared.registry.orchestrator(name).is_none() {
        messages.push(notice(not_registered("orchestrator", name)));
        return;
    }
    let if_exists = notice(FailureDetails::new(
        FailureKind::InstanceExists,
        format!(
            "sub-orchestration `{name}` could not start: an unfinished instance with id `{instance_id}` exists"
        ),
    ));
    starts.push(SubOrchestrationStart {
        instance: NewInstance {
            instance_id,
            name: name.to_owned(),
            execution_id: new_id(),
            input,
            created_at: now,
            version: shared.options.default_version.clone(),
            parent: Some(parent),
            start_at: None,
            trace: Some(trace.map_or_else(TraceContext::new_root, TraceContext::child)),
        },
        if_exists,
    });
}

/// The event that tells a parent how its sub-orchestration ended; `None` while it goes on
/// (`continue_as_new`).
fn report_to_parent(parent: &ParentInstance, name: &str, outcome: &Outcome) -> Option<EventKind> {
    let task_scheduled_id = parent.task_scheduled_id;
    Some(match outcome {
        Outcome::Completed(result) => EventKind::SubOrchestrationInstanceCompleted {
            task_scheduled_id,
            result: result.clone(),
        },
        Outcome::Failed(details) => EventKind::SubOrchestrationInstanceFailed {
            task_scheduled_id,
            failure_details: details.clone(),
        },
        Outcome::Terminated(reason) => EventKind::SubOrchestrationInstanceFailed {
            task_scheduled_id,
            failure_details: FailureDetails::new(
                FailureKind::Terminated,
                format!("sub-orchestration `{name}` was terminated: {reason}"),
            ),
        },
        Outcome::ContinuedAsNew { .. } => return None,
    })
}

/// What the store records about the execution an `ExecutionStarted` event begins.
fn execution_start(event: &HistoryEvent) -> Option<ExecutionStart> {
    match &event.kind {
        EventKind::ExecutionStarted { input, version, .. } => {
            Some(ExecutionStart { input: input.clone(), version: version.clone() })
        }
        _ => None,
    }
}

/// The parent named by an `ExecutionStarted` event.
fn parent_of(event: &HistoryEvent) -> Option<ParentInstance> {
    match &event.kind {
        EventKind::ExecutionStarted { parent_instance, .. } => parent_instance.clone(),
        _ => None,
    }
}

/// The failure of an orchestration whose turn was set aside after `attempts` tries.
fn quarantined_failure(name: &str, attempts: u32) -> FailureDetails {
    FailureDetails::new(
        FailureKind::Quarantined,
        format!(
            "orchestration `{name}` quarantined after {attempts} attempts: its turn crashed the \
             process or was abandoned each time; the messages of that turn are in its history, \
             and a rewind delivers them again"
        ),
    )
}

fn not_registered(kind: &str, name: &str) -> FailureDetails {
    FailureDetails::new(
        FailureKind::FunctionNotFound,
        format!("no {kind} function named `{name}` is registered in this app"),
    )
}

/// A commit that only consumes the fetched messages.
pub(super) fn unchanged(instance: &InstanceRecord) -> OrchestrationCommit {
    OrchestrationCommit {
        execution_id: instance.execution_id.clone(),
        new_execution: None,
        new_events: Vec::new(),
        status: instance.runtime_status,
        output: instance.output.clone(),
        custom_status: instance.custom_status.clone(),
        failure: instance.failure.clone(),
        activities: Vec::new(),
        messages: Vec::new(),
        sub_orchestrations: Vec::new(),
        completed_activity: None,
        replace_history: false,
    }
}

/// The execution a commit that fails it without running its code must record.
pub(super) struct Failing {
    execution_id: String,
    /// The execution's `ExecutionStarted`, when this turn was to start it.
    started: Option<HistoryEvent>,
    /// Whom to tell, for a sub-orchestration.
    parent: Option<ParentInstance>,
}

impl Failing {
    /// The instance's current execution, already started, with no parent to tell.
    pub(super) fn current(instance: &InstanceRecord) -> Self {
        Failing { execution_id: instance.execution_id.clone(), started: None, parent: None }
    }
}

/// A commit that fails the execution without running its code, and tells the parent. Its
/// turn records `recorded` (at least the execution's `ExecutionStarted`, when the turn was
/// to start it) before the failure.
fn failed(
    instance: &InstanceRecord,
    failing: &Failing,
    recorded: Vec<HistoryEvent>,
    failure: FailureDetails,
    now: DateTime<Utc>,
) -> OrchestrationCommit {
    let mut new_events = Vec::with_capacity(recorded.len() + 2);
    new_events.push(HistoryEvent::new(now, EventKind::OrchestratorStarted {}));
    new_events.extend(recorded);
    new_events.push(HistoryEvent::new(
        now,
        EventKind::ExecutionCompleted {
            orchestration_status: OrchestrationRuntimeStatus::Failed,
            result: Value::Null,
            failure_details: Some(failure.clone()),
        },
    ));
    let outcome = Outcome::Failed(failure.clone());
    let messages = failing
        .parent
        .iter()
        .filter_map(|parent| {
            let report = report_to_parent(parent, &instance.name, &outcome)?;
            Some(OrchestrationMessage {
                visible_at: None,
                instance_id: parent.instance_id.clone(),
                execution_id: Some(parent.execution_id.clone()),
                event: HistoryEvent::new(now, report),
            })
        })
        .collect();
    OrchestrationCommit {
        execution_id: failing.execution_id.clone(),
        new_execution: failing.started.as_ref().and_then(execution_start),
        new_events,
        status: OrchestrationRuntimeStatus::Failed,
        failure: Some(failure),
        messages,
        ..unchanged(instance)
    }
}
