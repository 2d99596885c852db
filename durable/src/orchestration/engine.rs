//! The replay engine: drives one orchestration execution from history events.
//!
//! An [`OrchestrationRun`] owns the orchestrator's live future. Events are applied one at a
//! time; after each, the future is polled only if something woke it. A cached run therefore
//! costs one poll per new event, however long its history; a run rebuilt after a cache miss
//! replays the recorded history first, matching every action the function takes against the
//! recorded scheduling events.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::OrchestratorRegistration;
use super::action::Action;
pub(crate) use super::action::SentEvent;
use super::context::{DurableOrchestrationContext, SharedState, State, TaskOutcome};
use super::entities::is_release;
use super::spans::Spans;
use crate::function::{BoxFuture, FunctionResult};
use crate::history::{
    EventKind, FailureDetails, FailureKind, HistoryEvent, Limit, Limits,
    OrchestrationRuntimeStatus, ParentInstance, TraceContext,
};
use crate::telemetry::SpanRecord;

/// How an execution ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    Completed(Value),
    Failed(FailureDetails),
    Terminated(Value),
    /// `continue_as_new`: the next execution's input and the events it inherits (external
    /// events and client requests), in arrival order.
    ContinuedAsNew {
        input: Value,
        carried: Vec<EventKind>,
    },
}

impl Outcome {
    pub(crate) fn status(&self) -> OrchestrationRuntimeStatus {
        match self {
            Outcome::Completed(_) => OrchestrationRuntimeStatus::Completed,
            Outcome::Failed(_) => OrchestrationRuntimeStatus::Failed,
            Outcome::Terminated(_) => OrchestrationRuntimeStatus::Terminated,
            Outcome::ContinuedAsNew { .. } => OrchestrationRuntimeStatus::ContinuedAsNew,
        }
    }

    pub(crate) fn output(&self) -> Value {
        match self {
            Outcome::Completed(v)
            | Outcome::Terminated(v)
            | Outcome::ContinuedAsNew { input: v, .. } => v.clone(),
            Outcome::Failed(_) => Value::Null,
        }
    }

    pub(crate) fn failure(&self) -> Option<FailureDetails> {
        match self {
            Outcome::Failed(details) => Some(details.clone()),
            _ => None,
        }
    }
}

/// An activity call the turn scheduled.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScheduledActivity {
    pub(crate) event_id: i64,
    pub(crate) name: Arc<str>,
    pub(crate) input: Value,
}

/// A durable timer the turn created.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScheduledTimer {
    pub(crate) event_id: i64,
    pub(crate) fire_at: DateTime<Utc>,
}

/// A sub-orchestration the turn started.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScheduledSubOrchestration {
    pub(crate) event_id: i64,
    pub(crate) name: Arc<str>,
    pub(crate) instance_id: String,
    pub(crate) input: Value,
}

/// What one turn produced.
#[derive(Debug)]
pub(crate) struct Turn {
    /// Events to append to history, in order.
    pub(crate) new_events: Vec<HistoryEvent>,
    /// Activities to enqueue.
    pub(crate) activities: Vec<ScheduledActivity>,
    /// Durable timers to set.
    pub(crate) timers: Vec<ScheduledTimer>,
    /// Sub-orchestrations to start.
    pub(crate) sub_orchestrations: Vec<ScheduledSubOrchestration>,
    /// Events to other instances (entity operations, lock requests and releases), in the
    /// order they were sent.
    pub(crate) sent: Vec<SentEvent>,
    /// Whether the instance is suspended after the turn.
    pub(crate) suspended: bool,
    /// Set when the execution finished in this turn.
    pub(crate) outcome: Option<Outcome>,
    /// The custom status after the turn.
    pub(crate) custom_status: Value,
    /// How many times the orchestrator's future was polled in this turn.
    pub(crate) polls: u64,
    /// The spans that ended in this turn, to emit once it is committed.
    pub(crate) spans: Vec<SpanRecord>,
}

#[derive(Default)]
struct WakeFlag(AtomicBool);

impl WakeFlag {
    fn take(&self) -> bool {
        self.0.swap(false, Ordering::AcqRel)
    }
}

impl Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }
}

/// One orchestration execution with its live future.
pub(crate) struct OrchestrationRun {
    registration: &'static OrchestratorRegistration,
    state: SharedState,
    future: Option<BoxFuture<'static, FunctionResult>>,
    woken: Arc<WakeFlag>,
    waker: Waker,
    outcome: Option<Outcome>,
    outcome_recorded: bool,
    polls: u64,
    /// Set between `ExecutionSuspended` and `ExecutionResumed`.
    suspended: bool,
    /// Events that arrived while suspended, applied in order on resume.
    held: Vec<HistoryEvent>,
    /// The history events of the execution so far (replayed and recorded by turns).
    recorded: u64,
    /// Its spans.
    spans: Spans,
}

impl Drop for OrchestrationRun {
    /// Dropping the live future runs user destructors: a panic there must not escape into
    /// the worker (see `finish_future`).
    fn drop(&mut self) {
        self.finish_future();
    }
}

impl OrchestrationRun {
    /// A run that has seen no event yet; its first event must be `ExecutionStarted`. Its
    /// values and its history are held to `limits`.
    pub(crate) fn new(
        registration: &'static OrchestratorRegistration,
        instance_id: &str,
        limits: Limits,
    ) -> Self {
        let state = SharedState::default();
        state.with(|s| {
            s.instance_id = instance_id.to_owned();
            s.name = registration.name.to_owned();
            s.limits = limits;
        });
        let woken = Arc::new(WakeFlag::default());
        OrchestrationRun {
            registration,
            state,
            future: None,
            waker: Waker::from(woken.clone()),
            woken,
            outcome: None,
            outcome_recorded: false,
            polls: 0,
            suspended: false,
            held: Vec::new(),
            recorded: 0,
            spans: Spans::new(instance_id),
        }
    }

    /// Replays recorded history (a cache miss). Returns how many times the future was polled.
    pub(crate) fn replay(&mut self, history: &[HistoryEvent]) -> u64 {
        let before = self.polls;
        self.state.with(|s| s.is_replaying = true);
        // Every recorded event is applied, even after the code finished: an action recorded
        // after that point means the code changed.
        for event in history {
            self.apply(event);
            if matches!(event.kind, EventKind::ExecutionCompleted { .. }) {
                self.outcome_recorded = true;
            }
        }
        self.state.with(|s| s.is_replaying = false);
        self.recorded += history.len() as u64;
        self.polls - before
    }

    /// Runs one turn: applies `messages` (new events, in arrival order) at time `now`.
    pub(crate) fn turn(&mut self, now: DateTime<Utc>, messages: Vec<HistoryEvent>) -> Turn {
        let before = self.polls;
        let mut new_events = Vec::with_capacity(messages.len() + 2);
        let started = HistoryEvent::new(now, EventKind::OrchestratorStarted {});
        self.apply(&started);
        new_events.push(started);
        let mut messages = messages.into_iter();
        while self.outcome.is_none() {
            let Some(message) = messages.next() else {
                break;
            };
            self.apply(&message);
            new_events.push(message);
        }
        // What the finished execution did not take goes to the next one, in arrival order:
        // client requests (terminate, suspend, resume) always, external events (buffered,
        // held while suspended, or not yet applied) when `continue_as_new` preserves them.
        if let Some(Outcome::ContinuedAsNew { carried, .. }) = &mut self.outcome {
            let preserve = self.state.with(|s| s.continue_as_new.as_ref().is_some_and(|c| c.1));
            if preserve {
                let buffered = self.state.with(State::take_unprocessed_events);
                carried.extend(
                    buffered
                        .into_iter()
                        .map(|(name, input)| EventKind::EventRaised { name, input }),
                );
            }
            let unapplied = std::mem::take(&mut self.held).into_iter().chain(messages);
            carried.extend(unapplied.map(|event| event.kind).filter(|kind| match kind {
                EventKind::EventRaised { .. } => preserve,
                EventKind::ExecutionTerminated { .. }
                | EventKind::ExecutionSuspended { .. }
                | EventKind::ExecutionResumed { .. } => true,
                _ => false,
            }));
        }

        let mut activities = Vec::new();
        let mut timers = Vec::new();
        let mut sub_orchestrations = Vec::new();
        let mut sent = Vec::new();
        let pending = self.state.with(|s| std::mem::take(&mut s.pending_actions));
        self.check_history_limit(new_events.len() + pending.len());
        if matches!(self.outcome, Some(Outcome::Failed(_) | Outcome::Terminated(_))) {
            // Nothing the failed code asked for happens, but the locks it held are released.
            sent.extend(pending.into_iter().filter_map(|action| match action {
                Action::SendEvent { event, .. } if is_release(&event) => Some(event),
                _ => None,
            }));
        } else {
            for action in pending {
                let recorded = action.record(now);
                self.spans.apply(&recorded, true);
                new_events.push(recorded);
                match action {
                    Action::CallActivity { event_id, name, input } => {
                        activities.push(ScheduledActivity { event_id, name, input })
                    }
                    Action::CreateTimer { event_id, fire_at } => {
                        timers.push(ScheduledTimer { event_id, fire_at });
                    }
                    Action::CallSubOrchestrator { event_id, name, instance_id, input } => {
                        sub_orchestrations.push(ScheduledSubOrchestration {
                            event_id,
                            name,
                            instance_id,
                            input,
                        })
                    }
                    Action::SendEvent { event, .. } => sent.push(event),
                }
            }
        }
        if self.outcome.is_some() && !self.outcome_recorded {
            // An execution that ends inside a critical section releases its locks.
            sent.extend(self.state.with(State::end_critical_section));
        }

        let mut outcome = None;
        if let Some(finished) = &self.outcome
            && !self.outcome_recorded
        {
            new_events.push(HistoryEvent::new(
                now,
                EventKind::ExecutionCompleted {
                    orchestration_status: finished.status(),
                    result: finished.output(),
                    failure_details: finished.failure(),
                },
            ));
            let failed = matches!(finished, Outcome::Failed(_));
            self.spans.execution_ended(self.registration.name, now, failed);
            self.outcome_recorded = true;
            outcome = Some(finished.clone());
        }
        self.recorded += new_events.len() as u64;
        Turn {
            new_events,
            activities,
            timers,
            sub_orchestrations,
            sent,
            suspended: self.suspended && self.outcome.is_none(),
            outcome,
            custom_status: self.state.with(|s| s.custom_status.clone()),
            polls: self.polls - before,
            spans: self.spans.take(),
        }
    }

    /// Fails the execution when recording `new` more events (and, eventually, its
    /// `ExecutionCompleted`) would take its history over `maxOrchestrationActions`. The
    /// failing turn records only what it applied and the failure, which may pass the limit by
    /// those few events.
    fn check_history_limit(&mut self, new: usize) {
        if self.outcome_recorded
            || matches!(self.outcome, Some(Outcome::Failed(_) | Outcome::Terminated(_)))
        {
            return;
        }
        let limits = self.state.with(|s| s.limits);
        let total = self.recorded + new as u64 + 1;
        let what = format!("orchestration `{}`", self.registration.name);
        if let Err(exceeded) = limits.check_count(Limit::OrchestrationActions, what, total) {
            self.outcome = Some(Outcome::Failed(exceeded.failure()));
            self.finish_future();
        }
    }

    /// Whether the execution has finished.
    pub(crate) fn is_finished(&self) -> bool {
        self.outcome.is_some()
    }

    /// The execution id, once `ExecutionStarted` has been applied.
    pub(crate) fn execution_id(&self) -> String {
        self.state.with(|s| s.execution_id.clone())
    }

    /// The instance id.
    pub(crate) fn instance_id(&self) -> String {
        self.state.with(|s| s.instance_id.clone())
    }

    /// The orchestrator function name.
    pub(crate) fn name(&self) -> String {
        self.registration.name.to_owned()
    }

    /// The orchestration version, once `ExecutionStarted` has been applied.
    pub(crate) fn version(&self) -> String {
        self.state.with(|s| s.version.clone())
    }

    /// The parent, when this is a sub-orchestration.
    pub(crate) fn parent(&self) -> Option<ParentInstance> {
        self.state.with(|s| s.parent.clone())
    }

    /// The execution's trace context, once `ExecutionStarted` has been applied.
    pub(crate) fn trace(&self) -> Option<TraceContext> {
        self.spans.trace().cloned()
    }

    fn apply(&mut self, event: &HistoryEvent) {
        if self.suspended && Self::held_while_suspended(&event.kind) {
            self.held.push(event.clone());
            return;
        }
        let replaying = self.state.with(|s| s.is_replaying);
        self.spans.apply(event, !replaying);
        match &event.kind {
            EventKind::ExecutionStarted {
                execution_id, input, version, parent_instance, ..
            } => {
                self.state.with(|s| {
                    s.execution_id = execution_id.clone();
                    s.input = input.clone();
                    s.version = version.clone();
                    s.parent = parent_instance.clone();
                });
                let context = DurableOrchestrationContext::new(self.state.clone());
                self.future = Some((self.registration.invoke)(context));
                self.woken.wake_by_ref();
            }
            EventKind::OrchestratorStarted {} => {
                self.state.with(|s| s.current_time = event.timestamp);
            }
            EventKind::TaskScheduled { .. }
            | EventKind::TimerCreated { .. }
            | EventKind::SubOrchestrationInstanceCreated { .. }
            | EventKind::EventSent { .. } => {
                let taken = self.state.with(|s| s.pending_actions.pop_front());
                if !taken.as_ref().is_some_and(|a| a.is_recorded_by(event)) {
                    let recorded = Action::describe_recorded(event);
                    let now = match taken {
                        Some(action) => format!("the orchestrator now does {action}"),
                        None => "the orchestrator now does nothing there".to_owned(),
                    };
                    self.fail_nondeterministic(format!(
                        "non-deterministic orchestrator `{}`: history recorded {recorded}, but {now}",
                        self.registration.name
                    ));
                }
            }
            EventKind::TaskCompleted { task_scheduled_id, result } => {
                self.deliver(*task_scheduled_id, TaskOutcome::Completed(result.clone()))
            }
            EventKind::TaskFailed { task_scheduled_id, failure_details } => {
                self.deliver(*task_scheduled_id, TaskOutcome::Failed(failure_details.clone()))
            }
            EventKind::SubOrchestrationInstanceCompleted { task_scheduled_id, result } => {
                self.deliver(*task_scheduled_id, TaskOutcome::Completed(result.clone()))
            }
            EventKind::SubOrchestrationInstanceFailed { task_scheduled_id, failure_details } => {
                self.deliver(*task_scheduled_id, TaskOutcome::Failed(failure_details.clone()))
            }
            EventKind::TimerFired { timer_id, .. } => {
                self.deliver(*timer_id, TaskOutcome::Completed(Value::Null));
            }
            EventKind::ExecutionSuspended { .. } => self.suspended = true,
            EventKind::ExecutionResumed { .. } => {
                if self.suspended {
                    self.suspended = false;
                    let mut held = std::mem::take(&mut self.held).into_iter();
                    while self.outcome.is_none() {
                        let Some(event) = held.next() else {
                            break;
                        };
                        self.apply(&event);
                    }
                    // Whatever the finished execution did not take (see `turn`).
                    self.held.extend(held);
                }
            }
            EventKind::ExecutionRewound { .. } => {}
            EventKind::EventRaised { name, input } => {
                let (woken, raised) = self.state.with(|s| match s.entity_response(name, input) {
                    Some(woken) => (woken, false),
                    None => (s.raise_event(name, input.clone()), true),
                });
                if raised && !replaying {
                    self.spans.event_received(name, event.timestamp);
                }
                if let Some(waker) = woken {
                    waker.wake();
                }
            }
            EventKind::ExecutionTerminated { input } => {
                self.finish(Outcome::Terminated(input.clone()));
            }
            EventKind::ExecutionCompleted { .. } => {}
        }
        self.poll();
    }

    /// Events that wait while the instance is suspended: whatever would let the orchestrator
    /// make progress.
    fn held_while_suspended(kind: &EventKind) -> bool {
        matches!(
            kind,
            EventKind::TaskCompleted { .. }
                | EventKind::TaskFailed { .. }
                | EventKind::TimerFired { .. }
                | EventKind::EventRaised { .. }
                | EventKind::SubOrchestrationInstanceCompleted { .. }
                | EventKind::SubOrchestrationInstanceFailed { .. }
        )
    }

    fn deliver(&mut self, event_id: i64, outcome: TaskOutcome) {
        let waiter = self.state.with(|s| {
            s.results.insert(event_id, outcome);
            s.waiters.remove(&event_id)
        });
        if let Some(waker) = waiter {
            waker.wake();
        }
    }

    fn poll(&mut self) {
        if !self.woken.take() {
            return;
        }
        let Some(future) = self.future.as_mut() else {
            return;
        };
        self.polls += 1;
        let mut cx = Context::from_waker(&self.waker);
        let replaying = self.state.with(|s| s.is_replaying);
        let polled = crate::logging::polling(replaying, || {
            catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx)))
        });
        if let Some(details) = self.state.with(|s| s.unserializable.take()) {
            self.finish(Outcome::Failed(details));
            return;
        }
        match polled {
            Ok(Poll::Pending) => {}
            Ok(Poll::Ready(Ok(output))) => {
                let (next, limits) = self.state.with(|s| (s.continue_as_new.clone(), s.limits));
                let what = format!("the output of orchestrator `{}`", self.registration.name);
                self.finish(match next {
                    Some((input, _)) => Outcome::ContinuedAsNew { input, carried: Vec::new() },
                    None => match limits.check(Limit::Output, what, &output) {
                        Ok(()) => Outcome::Completed(output),
                        Err(exceeded) => Outcome::Failed(exceeded.failure()),
                    },
                });
            }
            Ok(Poll::Ready(Err(details))) => self.finish(Outcome::Failed(details)),
            Err(panic) => self.finish(Outcome::Failed(FailureDetails::new(
                FailureKind::Panic,
                crate::function::panic_message(panic.as_ref()),
            ))),
        }
    }

    /// Fails the run with the first mismatch found. It replaces an outcome the code reached
    /// during replay: that outcome was never recorded, and the code no longer matches history.
    fn fail_nondeterministic(&mut self, message: String) {
        let already = matches!(&self.outcome, Some(Outcome::Failed(d)) if d.error_type == FailureKind::NonDeterminism);
        if !already && !self.outcome_recorded {
            self.outcome =
                Some(Outcome::Failed(FailureDetails::new(FailureKind::NonDeterminism, message)));
        }
        self.finish_future();
    }

    fn finish(&mut self, outcome: Outcome) {
        if self.outcome.is_none() {
            self.outcome = Some(outcome);
        }
        self.finish_future();
    }

    fn finish_future(&mut self) {
        // Dropping the future may run user destructors; a panic there must not escape.
        if let Some(future) = self.future.take() {
            let _ = catch_unwind(AssertUnwindSafe(move || drop(future)));
        }
    }
}
