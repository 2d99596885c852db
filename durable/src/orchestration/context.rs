use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Waker;

use chrono::{DateTime, SecondsFormat, Utc};
use futures::future::Either;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use super::RetryOptions;
use super::task::DurableTask;
use crate::activity::ActivityHandle;
use crate::error::{FunctionFailed, InputError};
use crate::history::{EventKind, FailureDetails, HistoryEvent};

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
    state: SharedState,
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

/// An action the orchestrator took that has not yet been matched against history or
/// committed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    CallActivity {
        event_id: i64,
        name: Arc<str>,
        input: Value,
    },
    CreateTimer {
        event_id: i64,
        fire_at: DateTime<Utc>,
    },
}

impl Action {
    fn event_id(&self) -> i64 {
        match self {
            Action::CallActivity { event_id, .. } | Action::CreateTimer { event_id, .. } => {
                *event_id
            }
        }
    }

    /// The history event that records this action, taken at `now`.
    pub(crate) fn record(&self, now: DateTime<Utc>) -> HistoryEvent {
        let kind = match self {
            Action::CallActivity { name, input, .. } => EventKind::TaskScheduled {
                name: name.to_string(),
                input: input.clone(),
            },
            Action::CreateTimer { fire_at, .. } => EventKind::TimerCreated { fire_at: *fire_at },
        };
        HistoryEvent {
            event_id: self.event_id(),
            timestamp: now,
            kind,
        }
    }

    /// Whether a recorded scheduling event is the record of this action.
    pub(crate) fn is_recorded_by(&self, event: &HistoryEvent) -> bool {
        event.event_id == self.event_id()
            && match (self, &event.kind) {
                (
                    Action::CallActivity { name, .. },
                    EventKind::TaskScheduled { name: recorded, .. },
                ) => **name == **recorded,
                (Action::CreateTimer { .. }, EventKind::TimerCreated { .. }) => true,
                _ => false,
            }
    }

    /// How a recorded scheduling event reads in a nondeterminism error.
    pub(crate) fn describe_recorded(event: &HistoryEvent) -> String {
        match &event.kind {
            EventKind::TaskScheduled { name, .. } => {
                format!("call_activity(\"{name}\") as action #{}", event.event_id)
            }
            EventKind::TimerCreated { .. } => format!("create_timer as action #{}", event.event_id),
            other => format!("{} as action #{}", other.type_name(), event.event_id),
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::CallActivity { event_id, name, .. } => {
                write!(f, "call_activity(\"{name}\") as action #{event_id}")
            }
            Action::CreateTimer { event_id, .. } => write!(f, "create_timer as action #{event_id}"),
        }
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
    next_event_id: i64,
    guid_counter: u64,
    /// Actions taken since the last match or commit, in `event_id` order.
    pub(crate) pending_actions: VecDeque<Action>,
    /// Outcomes delivered but not yet taken by their task.
    pub(crate) results: HashMap<i64, TaskOutcome>,
    /// Wakers of tasks waiting for an outcome.
    pub(crate) waiters: HashMap<i64, Waker>,
    /// External events that arrived before anyone waited for them, by name, in arrival order.
    buffered_events: HashMap<String, VecDeque<Value>>,
    /// Waits for external events by name, in the order they were made (ids share the
    /// `results` and `waiters` maps with tasks, from their own negative range).
    event_waits: HashMap<String, VecDeque<i64>>,
    next_wait_id: i64,
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
                self.buffered_events
                    .entry(name.to_owned())
                    .or_default()
                    .push_back(data);
                None
            }
        }
    }

    /// Withdraws a wait that was dropped before its event came, so the next event of that
    /// name goes to a wait that is still there.
    pub(crate) fn cancel_event_wait(&mut self, name: &str, id: i64) {
        if let Some(waits) = self.event_waits.get_mut(name) {
            waits.retain(|w| *w != id);
        }
        self.waiters.remove(&id);
        if let Some(TaskOutcome::Completed(data)) = self.results.remove(&id) {
            self.buffered_events
                .entry(name.to_owned())
                .or_default()
                .push_front(data);
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
        self.state
            .with(|s| T::deserialize(&s.input).map_err(|e| InputError::new(&s.name, e)))
    }

    /// Parses the input in place with `parse` (the macros' input parameter).
    pub(crate) fn parse_input<T>(
        &self,
        parse: fn(&Value) -> Result<T, serde_json::Error>,
    ) -> Result<T, InputError> {
        self.state
            .with(|s| parse(&s.input).map_err(|e| InputError::new(&s.name, e)))
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
    /// the instance id, the current turn's time and a per-execution counter.
    pub fn new_guid(&self) -> Uuid {
        self.state.with(|s| {
            let name = format!(
                "{}_{}_{}",
                s.instance_id,
                s.current_time.to_rfc3339_opts(SecondsFormat::Nanos, true),
                s.guid_counter
            );
            s.guid_counter += 1;
            Uuid::new_v5(&GUID_NAMESPACE, name.as_bytes())
        })
    }

    /// Sets the custom status that clients see (`SetCustomStatus` in C#); it is saved with
    /// the turn. A value that cannot be serialized is stored as its error message.
    pub fn set_custom_status(&self, status: impl Serialize) {
        let value = serde_json::to_value(status).unwrap_or_else(|e| Value::String(e.to_string()));
        self.state.with(|s| s.custom_status = value);
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
        let event_id = self.state.with(|s| {
            let event_id = s.next_event_id;
            s.next_event_id += 1;
            s.pending_actions
                .push_back(Action::CreateTimer { event_id, fire_at });
            event_id
        });
        DurableTask::waiting(self.state.clone(), event_id, Arc::from("timer"))
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
            match s
                .buffered_events
                .get_mut(&*name)
                .and_then(VecDeque::pop_front)
            {
                Some(data) => {
                    s.results.insert(id, TaskOutcome::Completed(data));
                }
                None => s
                    .event_waits
                    .entry(name.to_string())
                    .or_default()
                    .push_back(id),
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
    ) -> impl Future<Output = Result<T, FunctionFailed>> + Send + 'static {
        let name: Arc<str> = Arc::from(name);
        let input = serde_json::to_value(input);
        let first = self.schedule_activity::<T>(name.clone(), clone_input(&input));
        let context = self.clone();
        async move {
            let started = context.current_utc_date_time();
            let mut attempt = 1;
            let mut task = first;
            loop {
                let failed = match task.await {
                    Ok(output) => return Ok(output),
                    Err(failed) => failed,
                };
                if input.is_err() || !retry.retries(attempt, &failed) {
                    return Err(failed);
                }
                let delay = retry.delay_after(attempt);
                let next_at = context.after(delay);
                let deadline = chrono::Duration::from_std(retry.retry_timeout)
                    .ok()
                    .and_then(|timeout| started.checked_add_signed(timeout))
                    .unwrap_or(DateTime::<Utc>::MAX_UTC);
                if next_at > deadline {
                    return Err(failed);
                }
                context.create_timer(next_at).await?;
                attempt += 1;
                task = context.schedule_activity(name.clone(), clone_input(&input));
            }
        }
    }

    /// Waits for an event, or fails with a `Timeout` failure when `timeout` passes first
    /// (`WaitForExternalEvent<T>(name, timeout)` in C#, which throws `TimeoutException`).
    /// The wait and its durable timer are both created when this is called; whichever loses
    /// is cancelled.
    pub fn wait_for_external_event_with_timeout<T: DeserializeOwned + Send + 'static>(
        &self,
        name: &str,
        timeout: std::time::Duration,
    ) -> impl Future<Output = Result<T, FunctionFailed>> + Send + 'static {
        let event = self.wait_for_external_event::<T>(name);
        let timer = self.create_timer(self.after(timeout));
        let name = name.to_owned();
        async move {
            match futures::future::select(event, timer).await {
                Either::Left((received, _timer)) => received,
                Either::Right((_, _event)) => Err(FunctionFailed {
                    details: FailureDetails::new(
                        "Timeout",
                        format!("event `{name}` did not arrive within {timeout:?}"),
                    ),
                    function: name,
                }),
            }
        }
    }

    /// Waits for an event, or returns `default` when `timeout` passes first
    /// (`WaitForExternalEvent<T>(name, timeout, defaultValue)` in C#).
    pub fn wait_for_external_event_or_default<T: DeserializeOwned + Send + 'static>(
        &self,
        name: &str,
        timeout: std::time::Duration,
        default: T,
    ) -> impl Future<Output = Result<T, FunctionFailed>> + Send + 'static {
        let waiting = self.wait_for_external_event_with_timeout(name, timeout);
        async move {
            match waiting.await {
                Err(failed) if failed.details.error_type == "Timeout" => Ok(default),
                other => other,
            }
        }
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
                return DurableTask::failed(FunctionFailed {
                    details: FailureDetails::new(
                        "InvalidInput",
                        format!("the input for `{name}` could not be serialized: {e}"),
                    ),
                    function: name.to_string(),
                });
            }
        };
        let event_id = self.state.with(|s| {
            let event_id = s.next_event_id;
            s.next_event_id += 1;
            s.pending_actions.push_back(Action::CallActivity {
                event_id,
                name: name.clone(),
                input,
            });
            event_id
        });
        DurableTask::waiting(self.state.clone(), event_id, name)
    }
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
