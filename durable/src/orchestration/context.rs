use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Waker;

use chrono::{DateTime, SecondsFormat, Utc};
use futures::future::Either;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use super::action::Action;
use super::entities::CriticalSection;
use super::task::{DurableFuture, DurableTask};
use super::{OrchestratorHandle, RetryOptions};
use crate::activity::ActivityHandle;
use crate::error::{FunctionFailed, InputError};
use crate::history::{
    FailureDetails, FailureKind, Limit, Limits, ParentInstance, check_instance_id,
};

/// The orchestrator's view of its instance (`IDurableOrchestrationContext` in C#).
///
/// Cheap to clone; every clone refers to the same instance. Everything it returns is
/// deterministic: the same on every replay of the same history.
///
/// ```
/// use durable::prelude::*;
///
/// #[orchestration_trigger(name = "E1_HelloSequence")]
/// async fn hello_sequence(context: DurableOrchestrationContext) -> Result<Vec<String>, FunctionFailed> {
///     let mut outputs = Vec::new();
///     outputs.push(context.call_activity::<String>("E1_SayHello", "Tokyo").await?);
///     outputs.push(context.call_activity::<String>("E1_SayHello", "Seattle").await?);
///     Ok(outputs)
/// }
/// ```
#[derive(Clone)]
pub struct DurableOrchestrationContext {
    pub(super) state: SharedState,
}

impl std::fmt::Debug for DurableOrchestrationContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.state.with(|s| {
            f.debug_struct("DurableOrchestrationContext")
                .field("instance_id", &s.instance_id)
                .field("name", &s.name)
                .finish_non_exhaustive()
        })
    }
}

/// How a scheduled task ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TaskOutcome {
    Completed(Value),
    Failed(FailureDetails),
}

/// The mutable state of one orchestration execution, shared by the context, its tasks and the
/// engine.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) instance_id: String,
    pub(crate) name: String,
    pub(crate) execution_id: String,
    pub(crate) input: Value,
    pub(crate) current_time: DateTime<Utc>,
    pub(crate) is_replaying: bool,
    pub(crate) custom_status: Value,
    pub(crate) version: String,
    pub(crate) parent: Option<ParentInstance>,
    /// Set by `continue_as_new`: the next execution's input and whether unprocessed events
    /// carry over.
    pub(crate) continue_as_new: Option<(Value, bool)>,
    /// A value the orchestrator handed over that could not be serialized (custom status,
    /// `continue_as_new` input): the engine fails the execution with it after the poll.
    pub(crate) unserializable: Option<FailureDetails>,
    /// The size limits the execution's values are checked against.
    pub(crate) limits: Limits,
    next_event_id: i64,
    guid_counter: u64,
    /// Actions taken since the last match or commit, in `event_id` order.
    pub(crate) pending_actions: VecDeque<Action>,
    /// Outcomes delivered but not yet taken by their task.
    pub(crate) results: HashMap<i64, TaskOutcome>,
    /// Wakers of tasks waiting for an outcome.
    pub(crate) waiters: HashMap<i64, Waker>,
    /// External events that arrived before anyone waited for them, by name, in arrival order,
    /// each with its arrival number.
    buffered_events: HashMap<String, VecDeque<(u64, Value)>>,
    arrivals: u64,
    /// Waits for external events by name, in the order they were made (ids share the
    /// `results` and `waiters` maps with tasks, from their own negative range).
    event_waits: HashMap<String, VecDeque<i64>>,
    pub(super) next_wait_id: i64,
    /// Entity calls and lock requests awaiting their response, by request id, with the slot
    /// (in `results` and `waiters`) their outcome goes to.
    pub(super) entity_calls: HashMap<String, i64>,
    /// The critical section the orchestration is in (its lock requested or held).
    pub(super) critical_section: Option<CriticalSection>,
}

impl State {
    /// Delivers an external event to the oldest wait for its name, or buffers it.
    pub(crate) fn raise_event(&mut self, name: &str, data: Value) -> Option<Waker> {
        let wait = self.event_waits.get_mut(name).and_then(VecDeque::pop_front);
        match wait {
            Some(id) => {
                self.results.insert(id, TaskOutcome::Completed(data));
                self.waiters.remove(&id)
            }
            None => {
                self.arrivals += 1;
                self.buffered_events
                    .entry(name.to_owned())
                    .or_default()
                    .push_back((self.arrivals, data));
                None
            }
        }
    }

    /// Takes the events nobody waited for, in arrival order (carried over by
    /// `continue_as_new`).
    pub(crate) fn take_unprocessed_events(&mut self) -> Vec<(String, Value)> {
        let mut events: Vec<(u64, String, Value)> = self
            .buffered_events
            .drain()
            .flat_map(|(name, queue)| {
                queue.into_iter().map(move |(arrival, data)| (arrival, name.clone(), data))
            })
            .collect();
        events.sort_by_key(|(arrival, ..)| *arrival);
        events.into_iter().map(|(_, name, data)| (name, data)).collect()
    }

    /// Withdraws a wait that was dropped before its event came, so the next event of that
    /// name goes to a wait that is still there.
    pub(crate) fn cancel_event_wait(&mut self, name: &str, id: i64) {
        if let Some(waits) = self.event_waits.get_mut(name) {
            waits.retain(|w| *w != id);
        }
        self.waiters.remove(&id);
        if let Some(TaskOutcome::Completed(data)) = self.results.remove(&id) {
            // It arrived before everything still buffered under its name.
            let arrival = self
                .buffered_events
                .get(name)
                .and_then(|queue| queue.front())
                .map_or(self.arrivals, |(first, _)| first.saturating_sub(1));
            self.buffered_events.entry(name.to_owned()).or_default().push_front((arrival, data));
        }
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct SharedState(Arc<Mutex<State>>);

impl SharedState {
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        // No user code runs under this lock, so a poisoned lock still holds consistent state.
        let mut guard = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    }
}

impl DurableOrchestrationContext {
    pub(crate) fn new(state: SharedState) -> Self {
        DurableOrchestrationContext { state }
    }

    /// The instance id.
    pub fn instance_id(&self) -> String {
        self.state.with(|s| s.instance_id.clone())
    }

    /// The orchestrator function's name.
    pub fn name(&self) -> String {
        self.state.with(|s| s.name.clone())
    }

    /// The orchestration's input, deserialized as `T` (`GetInput<T>()` in C#).
    pub fn get_input<T: DeserializeOwned>(&self) -> Result<T, InputError> {
        self.state.with(|s| T::deserialize(&s.input).map_err(|e| InputError::new(&s.name, e)))
    }

    /// Parses the input in place with `parse` (the macros' input parameter).
    pub(crate) fn parse_input<T>(
        &self,
        parse: fn(&Value) -> Result<T, serde_json::Error>,
    ) -> Result<T, InputError> {
        self.state.with(|s| parse(&s.input).map_err(|e| InputError::new(&s.name, e)))
    }

    /// The current time as the orchestration sees it: the start time of the current turn,
    /// the same on every replay (`CurrentUtcDateTime` in C#).
    pub fn current_utc_date_time(&self) -> DateTime<Utc> {
        self.state.with(|s| s.current_time)
    }

    /// Whether the orchestrator is being replayed from history (its earlier actions are
    /// already recorded). Use it to avoid repeating side effects such as logging.
    pub fn is_replaying(&self) -> bool {
        self.state.with(|s| s.is_replaying)
    }

    /// A new UUID that is the same on every replay (`NewGuid()` in C#): a name-based UUID of
    /// the instance id, the execution id, the current turn's time and a per-execution counter.
    pub fn new_guid(&self) -> Uuid {
        self.state.with(|s| {
            // The execution id keeps `continue_as_new` executions apart when their turns
            // share a timestamp (a coarse or virtual clock).
            let name = format!(
                "{}_{}_{}_{}",
                s.instance_id,
                s.execution_id,
                s.current_time.to_rfc3339_opts(SecondsFormat::Nanos, true),
                s.guid_counter
            );
            s.guid_counter += 1;
            Uuid::new_v5(&GUID_NAMESPACE, name.as_bytes())
        })
    }

    /// Sets the custom status that clients see (`SetCustomStatus` in C#); it is saved with
    /// the turn. A value that cannot be serialized (a map with non-string keys, say) fails the
    /// orchestration with an `InvalidOutput` failure saying so, as an unhandled exception
    /// would in C#; the custom status stays as it was. So does one over `maxCustomStatusSize`
    /// (16 KiB by default, as on Azure), with a `PayloadTooLarge` failure.
    pub fn set_custom_status(&self, status: impl Serialize) {
        match serde_json::to_value(status) {
            Ok(value) => match self.check(Limit::CustomStatus, "the custom status", &value) {
                Ok(()) => self.state.with(|s| s.custom_status = value),
                Err(failure) => self.fail_with(failure),
            },
            Err(e) => self.unserializable("the custom status", &e),
        }
    }

    /// Checks `value` against `limit`: the failure to report when it is over.
    pub(super) fn check(
        &self,
        limit: Limit,
        what: &str,
        value: &Value,
    ) -> Result<(), FailureDetails> {
        let limits = self.state.with(|s| s.limits);
        limits.check(limit, what, value).map_err(|exceeded| exceeded.failure())
    }

    /// Checks the input of a call to `function`: the task that fails at once when it is over
    /// `maxInputSize`.
    pub(super) fn check_input<T>(
        &self,
        function: &str,
        input: &Value,
    ) -> Result<(), DurableTask<T>> {
        self.check(Limit::Input, &format!("the input of `{function}`"), input).map_err(|details| {
            DurableTask::failed(FunctionFailed { details, function: function.to_owned() })
        })
    }

    pub(super) fn unserializable(&self, what: &str, error: &serde_json::Error) {
        self.fail_with(FailureDetails::new(
            FailureKind::InvalidOutput,
            format!("{what} could not be serialized: {error}"),
        ));
    }

    /// Fails the execution with `details` once the current poll returns.
    pub(super) fn fail_with(&self, details: FailureDetails) {
        self.state.with(|s| {
            s.unserializable.get_or_insert(details);
        });
    }

    /// The orchestration version fixed when the instance started (`context.Version` in the
    /// Durable Task Framework): the `defaultVersion` from `host.json` unless the client gave
    /// one; empty if neither did. Branch on it to keep instances started by older code on
    /// their old path.
    ///
    /// ```no_run
    /// # use durable::prelude::*;
    /// # async fn f(context: DurableOrchestrationContext) -> Result<(), FunctionFailed> {
    /// if context.version().as_str() < "2.0" {
    ///     context.call_activity::<()>("LegacyStep", ()).await?;
    /// } else {
    ///     context.call_activity::<()>("NewStep", ()).await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn version(&self) -> String {
        self.state.with(|s| s.version.clone())
    }

    /// The instance id of the orchestration that started this one as a sub-orchestration.
    pub fn parent_instance_id(&self) -> Option<String> {
        self.state.with(|s| s.parent.as_ref().map(|p| p.instance_id.clone()))
    }

    /// Restarts the orchestration with a new input and a fresh history once the orchestrator
    /// function returns (`ContinueAsNew` in C#): the eternal-orchestration pattern. The
    /// function's return value is then ignored; the instance passes through
    /// `ContinuedAsNew` and its next execution starts at once. External events that arrived
    /// but were not yet waited for are carried into the next execution when
    /// `preserve_unprocessed_events` is set, and dropped otherwise. An input that cannot be
    /// serialized fails the orchestration with an `InvalidOutput` failure saying so, and one
    /// over `maxInputSize` with a `PayloadTooLarge` failure.
    ///
    /// ```no_run
    /// # use durable::prelude::*;
    /// #[orchestration_trigger(name = "Periodic_Cleanup")]
    /// async fn periodic_cleanup(context: DurableOrchestrationContext, round: u32) -> Result<(), FunctionFailed> {
    ///     context.call_activity::<()>("DoCleanup", round).await?;
    ///     let next = context.current_utc_date_time() + chrono::Duration::hours(1);
    ///     context.create_timer(next).await?;
    ///     context.continue_as_new(round + 1, false);
    ///     Ok(())
    /// }
    /// ```
    pub fn continue_as_new(&self, input: impl Serialize, preserve_unprocessed_events: bool) {
        match serde_json::to_value(input) {
            Ok(input) => match self.check(Limit::Input, "the input of `continue_as_new`", &input) {
                Ok(()) => self
                    .state
                    .with(|s| s.continue_as_new = Some((input, preserve_unprocessed_events))),
                Err(failure) => self.fail_with(failure),
            },
            Err(e) => self.unserializable("the input of `continue_as_new`", &e),
        }
    }

    /// Calls an activity by name and returns its pending output (`CallActivityAsync<T>` in C#).
    ///
    /// The name is checked when the turn commits: a name that no registered activity has
    /// fails the task with `FunctionNotFound`.
    pub fn call_activity<T: DeserializeOwned>(
        &self,
        name: &str,
        input: impl Serialize,
    ) -> DurableTask<T> {
        self.schedule_activity(Arc::from(name), serde_json::to_value(input))
    }

    /// Calls an activity through its typed handle, so that its name and its input and output
    /// types are checked at compile time.
    ///
    /// ```no_run
    /// # use durable::prelude::*;
    /// #[activity_trigger(name = "E1_SayHello")]
    /// async fn say_hello(name: String) -> String {
    ///     format!("Hello {name}!")
    /// }
    ///
    /// # async fn f(context: DurableOrchestrationContext) -> Result<(), FunctionFailed> {
    /// let greeting: String = context.call(SayHello, "Tokyo").await?;
    /// # Ok(()) }
    /// ```
    pub fn call<H: ActivityHandle>(
        &self,
        _activity: H,
        input: impl Into<H::Input>,
    ) -> DurableTask<H::Output> {
        self.schedule_activity(Arc::from(H::NAME), serde_json::to_value(input.into()))
    }

    /// Starts another orchestrator as a sub-orchestration and returns its pending output
    /// (`CallSubOrchestratorAsync<T>` in C#). The child runs as its own instance, with
    /// `instance_id` if given (replacing a finished instance of that id) or a new
    /// deterministic id; its status names this instance as its parent. A child that fails,
    /// is terminated, or cannot start because an unfinished instance holds its id fails the
    /// task with [`FunctionFailed`] carrying the child's failure details.
    ///
    /// ```no_run
    /// # use durable::prelude::*;
    /// # async fn f(context: DurableOrchestrationContext) -> Result<(), FunctionFailed> {
    /// let greetings: Vec<String> =
    ///     context.call_sub_orchestrator("E1_HelloSequence", None, ()).await?;
    /// # Ok(()) }
    /// ```
    pub fn call_sub_orchestrator<T: DeserializeOwned>(
        &self,
        name: &str,
        instance_id: Option<&str>,
        input: impl Serialize,
    ) -> DurableTask<T> {
        self.schedule_sub_orchestrator(
            Arc::from(name),
            instance_id.map(str::to_owned),
            serde_json::to_value(input),
        )
    }

    /// Starts a sub-orchestration through the orchestrator's typed handle, so that its name
    /// and its input and output types are checked at compile time.
    pub fn call_sub<H: OrchestratorHandle>(
        &self,
        _orchestrator: H,
        instance_id: Option<&str>,
        input: impl Into<H::Input>,
    ) -> DurableTask<H::Output> {
        self.schedule_sub_orchestrator(
            Arc::from(H::NAME),
            instance_id.map(str::to_owned),
            serde_json::to_value(input.into()),
        )
    }

    /// Starts a sub-orchestration, starting it again on failure as `retry` says
    /// (`CallSubOrchestratorWithRetryAsync<T>` in C#). Every attempt uses `instance_id` when
    /// given (each replaces the failed one), or a new id; each wait is a durable timer.
    pub fn call_sub_orchestrator_with_retry<T: DeserializeOwned + Send + 'static>(
        &self,
        name: &str,
        retry: RetryOptions,
        instance_id: Option<&str>,
        input: impl Serialize,
    ) -> DurableFuture<T> {
        let name: Arc<str> = Arc::from(name);
        let instance_id = instance_id.map(str::to_owned);
        let input = serde_json::to_value(input);
        self.with_retry(retry, move |context| {
            context.schedule_sub_orchestrator(
                name.clone(),
                instance_id.clone(),
                clone_input(&input),
            )
        })
    }

    /// A durable timer that fires at `fire_at` (`CreateTimer` in C#). It survives restarts
    /// and never fires early. Dropping the task cancels the wait (the C#
    /// `CancellationTokenSource` pattern: a timer that loses a `when_any` does not hold the
    /// instance open).
    ///
    /// ```no_run
    /// # use durable::prelude::*;
    /// # async fn f(context: DurableOrchestrationContext) -> Result<(), FunctionFailed> {
    /// let deadline = context.current_utc_date_time() + chrono::Duration::hours(72);
    /// context.create_timer(deadline).await?;
    /// # Ok(()) }
    /// ```
    pub fn create_timer(&self, fire_at: DateTime<Utc>) -> DurableTask<()> {
        self.schedule(Arc::from("timer"), |event_id| Action::CreateTimer { event_id, fire_at })
    }

    /// Waits for an event raised by a client (`WaitForExternalEvent<T>` in C#). Events are
    /// delivered by name in arrival order; an event that arrives before anyone waits for it is
    /// kept until a wait takes it. Dropping the returned task withdraws the wait.
    ///
    /// ```no_run
    /// # use durable::prelude::*;
    /// # async fn f(context: DurableOrchestrationContext) -> Result<(), FunctionFailed> {
    /// let approved: bool = context.wait_for_external_event("Approval").await?;
    /// # Ok(()) }
    /// ```
    pub fn wait_for_external_event<T: DeserializeOwned>(&self, name: &str) -> DurableTask<T> {
        let name: Arc<str> = Arc::from(name);
        let id = self.state.with(|s| {
            s.next_wait_id -= 1;
            let id = s.next_wait_id;
            match s.buffered_events.get_mut(&*name).and_then(VecDeque::pop_front) {
                Some((_, data)) => {
                    s.results.insert(id, TaskOutcome::Completed(data));
                }
                None => s.event_waits.entry(name.to_string()).or_default().push_back(id),
            }
            id
        });
        DurableTask::event_wait(self.state.clone(), id, name)
    }

    /// Calls an activity, retrying it on failure as `retry` says
    /// (`CallActivityWithRetryAsync<T>` in C#). The first attempt is scheduled at once; each
    /// wait between attempts is a durable timer.
    pub fn call_activity_with_retry<T: DeserializeOwned + Send + 'static>(
        &self,
        name: &str,
        retry: RetryOptions,
        input: impl Serialize,
    ) -> DurableFuture<T> {
        let name: Arc<str> = Arc::from(name);
        let input = serde_json::to_value(input);
        self.with_retry(retry, move |context| {
            context.schedule_activity(name.clone(), clone_input(&input))
        })
    }

    /// Runs the call `attempt` makes, and makes it again after a durable timer each time it
    /// fails and `retry` allows another attempt. The first attempt is scheduled at once.
    fn with_retry<T: DeserializeOwned + Send + 'static>(
        &self,
        retry: RetryOptions,
        attempt: impl Fn(&Self) -> DurableTask<T> + Send + 'static,
    ) -> DurableFuture<T> {
        let first = attempt(self);
        let context = self.clone();
        Box::pin(async move {
            let started = context.current_utc_date_time();
            let mut attempts = 1;
            let mut task = first;
            loop {
                let failed = match task.await {
                    Ok(output) => return Ok(output),
                    Err(failed) => failed,
                };
                // A call that could not even be made (its input did not serialize, or is too
                // large) is not retried: it would fail the same way.
                let unmade = [FailureKind::InvalidInput, FailureKind::PayloadTooLarge];
                if unmade.contains(&failed.details.error_type) || !retry.retries(attempts, &failed)
                {
                    return Err(failed);
                }
                let delay = retry.delay_after(attempts);
                let next_at = context.after(delay);
                let deadline = chrono::Duration::from_std(retry.retry_timeout)
                    .ok()
                    .and_then(|timeout| started.checked_add_signed(timeout))
                    .unwrap_or(DateTime::<Utc>::MAX_UTC);
                if next_at > deadline {
                    return Err(failed);
                }
                context.create_timer(next_at).await?;
                attempts += 1;
                task = attempt(&context);
            }
        })
    }

    /// Waits for an event, or fails with a `Timeout` failure when `timeout` passes first
    /// (`WaitForExternalEvent<T>(name, timeout)` in C#, which throws `TimeoutException`).
    /// The wait and its durable timer are both created when this is called; whichever loses
    /// is cancelled.
    pub fn wait_for_external_event_with_timeout<T: DeserializeOwned + Send + 'static>(
        &self,
        name: &str,
        timeout: std::time::Duration,
    ) -> DurableFuture<T> {
        let event = self.wait_for_external_event::<T>(name);
        let timer = self.create_timer(self.after(timeout));
        let name = name.to_owned();
        Box::pin(async move {
            match futures::future::select(event, timer).await {
                Either::Left((received, _timer)) => received,
                Either::Right((_, _event)) => Err(FunctionFailed {
                    details: FailureDetails::new(
                        FailureKind::Timeout,
                        format!("event `{name}` did not arrive within {timeout:?}"),
                    ),
                    function: name,
                }),
            }
        })
    }

    /// Waits for an event, or returns `default` when `timeout` passes first
    /// (`WaitForExternalEvent<T>(name, timeout, defaultValue)` in C#).
    pub fn wait_for_external_event_or_default<T: DeserializeOwned + Send + 'static>(
        &self,
        name: &str,
        timeout: std::time::Duration,
        default: T,
    ) -> DurableFuture<T> {
        let waiting = self.wait_for_external_event_with_timeout(name, timeout);
        Box::pin(async move {
            match waiting.await {
                Err(failed) if failed.details.error_type == FailureKind::Timeout => Ok(default),
                other => other,
            }
        })
    }

    /// The orchestration's current time plus `delay`, saturating far in the future.
    fn after(&self, delay: std::time::Duration) -> DateTime<Utc> {
        let now = self.current_utc_date_time();
        chrono::Duration::from_std(delay)
            .ok()
            .and_then(|delay| now.checked_add_signed(delay))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    fn schedule_activity<T>(
        &self,
        name: Arc<str>,
        input: Result<Value, serde_json::Error>,
    ) -> DurableTask<T> {
        let input = match input {
            Ok(input) => input,
            Err(e) => {
                return invalid_input(&name, format!("its input could not be serialized: {e}"));
            }
        };
        if let Err(refused) = self.check_input(&name, &input) {
            return refused;
        }
        self.schedule(name.clone(), |event_id| Action::CallActivity { event_id, name, input })
    }

    fn schedule_sub_orchestrator<T>(
        &self,
        name: Arc<str>,
        instance_id: Option<String>,
        input: Result<Value, serde_json::Error>,
    ) -> DurableTask<T> {
        if let Some(refused) = self.check_sub_orchestration(&name) {
            return refused;
        }
        let input = match input {
            Ok(input) => input,
            Err(e) => {
                return invalid_input(&name, format!("its input could not be serialized: {e}"));
            }
        };
        if let Err(refused) = self.check_input(&name, &input) {
            return refused;
        }
        let instance_id = match instance_id {
            Some(id) => match check_instance_id(&id) {
                Ok(()) if id == self.instance_id() => {
                    return invalid_input(&name, format!("`{id}` is the caller's own instance id"));
                }
                Ok(()) => id,
                Err(reason) => {
                    return invalid_input(&name, format!("invalid instance id `{id}`: {reason}"));
                }
            },
            None => self.new_guid().simple().to_string(),
        };
        self.schedule(name.clone(), |event_id| Action::CallSubOrchestrator {
            event_id,
            name,
            instance_id,
            input,
        })
    }

    /// Records an action under the next sequence number and returns the task awaiting its
    /// outcome.
    pub(super) fn schedule<T>(
        &self,
        label: Arc<str>,
        action: impl FnOnce(i64) -> Action,
    ) -> DurableTask<T> {
        let event_id = self.state.with(|s| {
            let event_id = s.next_event_id;
            s.next_event_id += 1;
            s.pending_actions.push_back(action(event_id));
            event_id
        });
        DurableTask::waiting(self.state.clone(), event_id, label)
    }
}

/// A task that failed before it was scheduled.
pub(super) fn invalid_input<T>(function: &str, message: String) -> DurableTask<T> {
    DurableTask::failed(FunctionFailed {
        details: FailureDetails::new(
            FailureKind::InvalidInput,
            format!("cannot call `{function}`: {message}"),
        ),
        function: function.to_owned(),
    })
}

/// A copy of a serialized input for another attempt; a serialization error stays an error.
fn clone_input(input: &Result<Value, serde_json::Error>) -> Result<Value, serde_json::Error> {
    match input {
        Ok(value) => Ok(value.clone()),
        Err(error) => Err(serde::ser::Error::custom(error.to_string())),
    }
}

/// Namespace of [`DurableOrchestrationContext::new_guid`] UUIDs.
const GUID_NAMESPACE: Uuid = Uuid::from_u128(0x9e95_2958_5e33_4daf_827f_2fa1_2937_b875);
