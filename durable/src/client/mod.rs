//! [`DurableOrchestrationClient`]: start instances, read their status, wait for them,
//! terminate them, list and purge them (`IDurableOrchestrationClient` in C#).

mod cascade;
mod entities;
mod entity_storage;
mod error;
mod http_management;
mod instance_id;
mod local;
mod query;
mod status;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

pub use cascade::InstanceControl;
pub use entities::{ClientEntity, ClientSignal, EntityStateResponse};
pub use entity_storage::{CleanEntityStorageResult, EntityQuery, EntityQueryResult, EntityStatus};
pub use error::DurableError;
pub use http_management::HttpManagementPayload;
pub(crate) use http_management::{WEBHOOK_PATH, Webhook};
pub use instance_id::{MAX_INSTANCE_ID_LEN, validate_instance_id};
pub(crate) use local::LocalRuntime;
pub use query::{
    OrchestrationStatusQueryCondition, OrchestrationStatusQueryResult, PurgeHistoryResult,
};
pub use status::DurableOrchestrationStatus;

use crate::backend::{Backend, BackendError, InstanceRecord, NewInstance, QueueStats};
use crate::clock::Clock;
use crate::history::{
    EventKind, HistoryEvent, Limit, Limits, OrchestrationMessage, OrchestrationRuntimeStatus,
    TraceContext, new_id, quarantined_turn, rewindable_failures,
};
use crate::orchestration::OrchestratorHandle;
use crate::registry::Registry;

/// How often a waiting client re-reads the status when no in-process notification can reach
/// it (the instance runs in another process).
const STATUS_POLL_INTERVAL: Duration = Duration::from_millis(100);
/// How often it re-reads the status anyway when this process runs the instance and will
/// announce its completion: a safety net, not the mechanism.
const LOCAL_STATUS_POLL_INTERVAL: Duration = Duration::from_secs(1);
/// The shortest interval a caller may ask for.
const MIN_STATUS_POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Starts and manages orchestration instances.
///
/// Obtained from a running app ([`RunningApp::client`](crate::RunningApp::client)) or bound
/// into a client function. Cheap to clone.
#[derive(Clone)]
pub struct DurableOrchestrationClient {
    backend: Arc<dyn Backend>,
    registry: Arc<Registry>,
    /// The worker of this process, when it runs the task hub's functions (so instances start
    /// in-process and completions are announced).
    local: Option<Arc<dyn LocalRuntime>>,
    /// The version of instances started without one (`defaultVersion`).
    default_version: String,
    /// The size limits on what it writes.
    limits: Limits,
    clock: Clock,
    /// Where the management API is served, for management URLs.
    webhook: Arc<Webhook>,
}

impl std::fmt::Debug for DurableOrchestrationClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurableOrchestrationClient")
            .field("local_worker", &self.local.is_some())
            .finish_non_exhaustive()
    }
}

impl DurableOrchestrationClient {
    pub(crate) fn new(
        backend: Arc<dyn Backend>,
        registry: Arc<Registry>,
        local: Option<Arc<dyn LocalRuntime>>,
    ) -> Self {
        DurableOrchestrationClient {
            backend,
            registry,
            local,
            default_version: String::new(),
            limits: Limits::default(),
            clock: Clock::system(),
            webhook: Arc::default(),
        }
    }

    /// Gives instances started without a version this one.
    pub(crate) fn with_default_version(mut self, version: String) -> Self {
        self.default_version = version;
        self
    }

    /// The same client, refusing inputs and events over `limits`.
    pub(crate) fn with_limits(self, limits: Limits) -> Self {
        DurableOrchestrationClient { limits, ..self }
    }

    /// The same client, stamping what it writes with `clock`'s time.
    pub(crate) fn with_clock(self, clock: Clock) -> Self {
        DurableOrchestrationClient { clock, ..self }
    }

    /// Starts an orchestrator by name (`StartNewAsync` in C#) and returns the instance id:
    /// `instance_id` if given, else a new one.
    ///
    /// Nothing is written when the name is unknown, the instance id is invalid, the input does
    /// not deserialize into the orchestrator's declared input type, is over `maxInputSize`
    /// ([`DurableError::PayloadTooLarge`]), or an instance with that id is still running. A
    /// finished instance with that id is replaced.
    pub async fn start_new(
        &self,
        orchestrator_name: &str,
        instance_id: Option<&str>,
        input: impl Serialize,
    ) -> Result<String, DurableError> {
        let input = serde_json::to_value(input).map_err(DurableError::Serialization)?;
        let options = StartOrchestrationOptions {
            instance_id: instance_id.map(str::to_owned),
            ..StartOrchestrationOptions::default()
        };
        self.start_value(orchestrator_name, input, options).await
    }

    /// Starts an orchestrator with an explicit orchestration version, which the orchestrator
    /// reads with [`DurableOrchestrationContext::version`](crate::DurableOrchestrationContext::version);
    /// [`start_new`](Self::start_new) uses the configured `defaultVersion`.
    pub async fn start_new_with_version(
        &self,
        orchestrator_name: &str,
        instance_id: Option<&str>,
        version: &str,
        input: impl Serialize,
    ) -> Result<String, DurableError> {
        let input = serde_json::to_value(input).map_err(DurableError::Serialization)?;
        let options = StartOrchestrationOptions {
            instance_id: instance_id.map(str::to_owned),
            version: Some(version.to_owned()),
            start_at: None,
        };
        self.start_value(orchestrator_name, input, options).await
    }

    /// Starts an orchestrator through its typed handle, so that its name and input type are
    /// checked at compile time.
    pub async fn start<H: OrchestratorHandle>(
        &self,
        _orchestrator: H,
        instance_id: Option<&str>,
        input: impl Into<H::Input>,
    ) -> Result<String, DurableError> {
        let input = serde_json::to_value(input.into()).map_err(DurableError::Serialization)?;
        let options = StartOrchestrationOptions {
            instance_id: instance_id.map(str::to_owned),
            ..StartOrchestrationOptions::default()
        };
        self.start_value(H::NAME, input, options).await
    }

    /// Starts an orchestrator with `options` (`ScheduleNewOrchestrationInstanceAsync` of the
    /// isolated SDK): its instance id, its version, and when it starts. Scheduled for later,
    /// the instance is `Pending` until then, and a restart in between does not lose it.
    ///
    /// ```no_run
    /// # async fn later(client: durable::DurableOrchestrationClient) -> Result<(), durable::DurableError> {
    /// use durable::StartOrchestrationOptions;
    ///
    /// let start_at = chrono::Utc::now() + chrono::Duration::hours(1);
    /// let options = StartOrchestrationOptions { start_at: Some(start_at), ..Default::default() };
    /// let id = client.schedule_new_orchestration_instance("E1_HelloSequence", (), options).await?;
    /// # Ok(()) }
    /// ```
    pub async fn schedule_new_orchestration_instance(
        &self,
        orchestrator_name: &str,
        input: impl Serialize,
        options: StartOrchestrationOptions,
    ) -> Result<String, DurableError> {
        let input = serde_json::to_value(input).map_err(DurableError::Serialization)?;
        self.start_value(orchestrator_name, input, options).await
    }

    async fn start_value(
        &self,
        name: &str,
        input: Value,
        options: StartOrchestrationOptions,
    ) -> Result<String, DurableError> {
        let StartOrchestrationOptions { instance_id, version, start_at } = options;
        let instance_id = instance_id.as_deref();
        let registration = self
            .registry
            .orchestrator(name)
            .ok_or_else(|| DurableError::UnknownOrchestrator { name: name.to_owned() })?;
        self.limits.check(Limit::Input, format_args!("the input of `{name}`"), &input)?;
        if let Some(validate) = registration.validate_input {
            validate(&input).map_err(|message| DurableError::InvalidInput {
                function: name.to_owned(),
                message,
            })?;
        }
        let instance_id = match instance_id {
            Some(id) => {
                validate_instance_id(id)?;
                id.to_owned()
            }
            None => new_id(),
        };
        let created = NewInstance {
            instance_id: instance_id.clone(),
            name: name.to_owned(),
            execution_id: new_id(),
            input,
            created_at: self.clock.now(),
            version: version.unwrap_or_else(|| self.default_version.clone()),
            parent: None,
            start_at: start_at.filter(|at| *at > self.clock.now()),
            // Below the request being served, when it came with a `traceparent`.
            trace: Some(crate::telemetry::incoming().unwrap_or_else(TraceContext::new_root)),
        };
        let created = match &self.local {
            // Its first turn runs here at once, unless it is scheduled for later.
            Some(local) if created.start_at.is_none() => local.start(registration, created).await,
            _ => self.backend.create_instance(created).await,
        };
        match created {
            Ok(()) => Ok(instance_id),
            Err(BackendError::InstanceExists { instance_id, status }) => {
                Err(DurableError::InstanceAlreadyExists { instance_id, status })
            }
            Err(error) => Err(error.into()),
        }
    }

    /// The status of an instance, without its history (`GetStatusAsync` in C#); `None` when
    /// there is no such instance.
    pub async fn get_status(
        &self,
        instance_id: &str,
    ) -> Result<Option<DurableOrchestrationStatus>, DurableError> {
        let record = self.backend.get_instance(instance_id).await?;
        Ok(record.map(|r| DurableOrchestrationStatus::from_record(r, None)))
    }

    /// The status of an instance with the history of its current execution.
    pub async fn get_status_with_history(
        &self,
        instance_id: &str,
    ) -> Result<Option<DurableOrchestrationStatus>, DurableError> {
        let Some(record) = self.backend.get_instance(instance_id).await? else {
            return Ok(None);
        };
        let history = self.backend.get_history(instance_id, &record.execution_id).await?;
        Ok(Some(DurableOrchestrationStatus::from_record(record, Some(history))))
    }

    /// Waits until the instance finishes (completed, failed or terminated) and returns its
    /// final status; errors with [`DurableError::Timeout`] after `timeout`.
    pub async fn wait_for_completion(
        &self,
        instance_id: &str,
        timeout: Duration,
    ) -> Result<DurableOrchestrationStatus, DurableError> {
        self.wait_for_completion_polling(instance_id, timeout, STATUS_POLL_INTERVAL).await
    }

    /// [`wait_for_completion`](Self::wait_for_completion), re-reading the status every
    /// `poll_interval` when another process runs the instance.
    pub(crate) async fn wait_for_completion_polling(
        &self,
        instance_id: &str,
        timeout: Duration,
        poll_interval: Duration,
    ) -> Result<DurableOrchestrationStatus, DurableError> {
        // Saturates: a timeout too long to add to now waits "forever" (a century).
        let deadline = Instant::now()
            .checked_add(timeout)
            .or_else(|| Instant::now().checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
            .unwrap_or_else(Instant::now);
        let interval = if self.local.is_some() {
            LOCAL_STATUS_POLL_INTERVAL
        } else {
            poll_interval.max(MIN_STATUS_POLL_INTERVAL)
        };
        let result = self.wait_until_finished(instance_id, deadline, timeout, interval).await;
        if let Some(local) = &self.local {
            local.unsubscribe_closed(instance_id);
        }
        result
    }

    async fn wait_until_finished(
        &self,
        instance_id: &str,
        deadline: Instant,
        timeout: Duration,
        interval: Duration,
    ) -> Result<DurableOrchestrationStatus, DurableError> {
        loop {
            // Subscribe before reading, so a completion between the two is not missed.
            let finished = self.local.as_ref().map(|local| local.subscribe(instance_id));
            let status = self.get_status(instance_id).await?.ok_or_else(|| {
                DurableError::InstanceNotFound { instance_id: instance_id.to_owned() }
            })?;
            if status.runtime_status.is_terminal() {
                return Ok(status);
            }
            let next_check = (Instant::now() + interval).min(deadline);
            match finished {
                Some(finished) => drop(tokio::time::timeout_at(next_check, finished).await),
                None => tokio::time::sleep_until(next_check).await,
            }
            if Instant::now() >= deadline {
                return Err(DurableError::Timeout { instance_id: instance_id.to_owned(), timeout });
            }
        }
    }

    /// Terminates a running instance (`TerminateAsync` in C#); it stops at its next turn and
    /// records `reason` as its output.
    pub async fn terminate(
        &self,
        instance_id: &str,
        reason: impl Serialize,
    ) -> Result<(), DurableError> {
        let reason = self.reason("terminate", reason)?;
        self.send_to_unfinished(instance_id, EventKind::ExecutionTerminated { input: reason }).await
    }

    /// Suspends a running instance (`SuspendAsync` in C#): from its next turn on, its status
    /// is `Suspended` and the events that reach it (activity results, timers, external
    /// events) wait, in order, until [`resume`](Self::resume).
    ///
    /// Errors with [`DurableError::InstanceFinished`] for a finished instance and with
    /// [`DurableError::InvalidState`] for one already suspended; nothing is sent then.
    pub async fn suspend(
        &self,
        instance_id: &str,
        reason: impl Serialize,
    ) -> Result<(), DurableError> {
        self.set_suspended(instance_id, reason, true).await
    }

    /// Resumes a suspended instance (`ResumeAsync` in C#): the events that waited are
    /// processed, in arrival order.
    ///
    /// Errors with [`DurableError::InvalidState`] unless the instance is suspended.
    pub async fn resume(
        &self,
        instance_id: &str,
        reason: impl Serialize,
    ) -> Result<(), DurableError> {
        self.set_suspended(instance_id, reason, false).await
    }

    /// Sends a suspend (or resume) request to an unfinished instance that is not (or is)
    /// suspended.
    async fn set_suspended(
        &self,
        instance_id: &str,
        reason: impl Serialize,
        suspend: bool,
    ) -> Result<(), DurableError> {
        let input = self.reason(if suspend { "suspend" } else { "resume" }, reason)?;
        let record = self.unfinished(instance_id).await?;
        let suspended = record.runtime_status == OrchestrationRuntimeStatus::Suspended;
        let request = match (suspend, suspended) {
            (true, true) => {
                return Err(invalid_state(&record, "suspend", "it is already suspended"));
            }
            (false, false) => return Err(invalid_state(&record, "resume", "it is not suspended")),
            (true, false) => EventKind::ExecutionSuspended { input },
            (false, true) => EventKind::ExecutionResumed { input },
        };
        self.send(instance_id, request).await
    }

    /// Rewinds a failed instance (`RewindAsync` in C#): the activities and
    /// sub-orchestrations whose failure ended it run again (failed sub-orchestrations are
    /// rewound themselves), and the instance goes on from there as if they had not failed.
    /// Its status becomes `Running` at its next turn.
    ///
    /// Errors with [`DurableError::InvalidState`] unless the instance has failed.
    pub async fn rewind(
        &self,
        instance_id: &str,
        reason: impl Serialize,
    ) -> Result<(), DurableError> {
        let reason = self.reason("rewind", reason)?;
        let record = self.existing(instance_id).await?;
        if record.runtime_status != OrchestrationRuntimeStatus::Failed {
            return Err(invalid_state(&record, "rewind", "only failed instances can be rewound"));
        }
        let history = self.backend.get_history(instance_id, &record.execution_id).await?;
        if rewindable_failures(&history).is_empty() && quarantined_turn(&history).is_none() {
            return Err(invalid_state(
                &record,
                "rewind",
                "it failed in its own code, not in a call that could run again",
            ));
        }
        self.send(instance_id, EventKind::ExecutionRewound { input: reason }).await
    }

    /// Starts a finished instance again with its original input and version
    /// (`RestartAsync` in C#), under the same id or, with `restart_with_new_instance_id`, a
    /// new one; returns the id it runs under.
    ///
    /// Restarting under the same id errors with [`DurableError::InstanceAlreadyExists`] while
    /// the instance has not finished.
    pub async fn restart(
        &self,
        instance_id: &str,
        restart_with_new_instance_id: bool,
    ) -> Result<String, DurableError> {
        let record = self.existing(instance_id).await?;
        if !restart_with_new_instance_id && !record.runtime_status.is_terminal() {
            return Err(DurableError::InstanceAlreadyExists {
                instance_id: record.instance_id,
                status: record.runtime_status,
            });
        }
        let options = StartOrchestrationOptions {
            instance_id: (!restart_with_new_instance_id).then(|| instance_id.to_owned()),
            version: Some(record.version),
            start_at: None,
        };
        self.start_value(&record.name, record.input, options).await
    }

    /// Sends an event to an instance (`RaiseEventAsync` in C#). It goes to the instance's
    /// oldest wait for `event_name`, or is kept, in arrival order, until a wait takes it.
    ///
    /// Errors with [`DurableError::InstanceNotFound`] for an unknown instance and with
    /// [`DurableError::InstanceFinished`] for one that has finished; nothing is sent then.
    pub async fn raise_event(
        &self,
        instance_id: &str,
        event_name: &str,
        event_data: impl Serialize,
    ) -> Result<(), DurableError> {
        if event_name.is_empty() {
            return Err(DurableError::InvalidEventName);
        }
        let input = serde_json::to_value(event_data).map_err(DurableError::Serialization)?;
        let what = format!("the data of event `{event_name}`");
        self.limits.check(Limit::Event, what, &input)?;
        let event = EventKind::EventRaised { name: event_name.to_owned(), input };
        self.send_to_unfinished(instance_id, event).await
    }

    /// The reason given to `operation`, serialized and held to `maxEventSize`.
    fn reason(&self, operation: &str, reason: impl Serialize) -> Result<Value, DurableError> {
        let reason = serde_json::to_value(reason).map_err(DurableError::Serialization)?;
        self.limits.check(Limit::Event, format_args!("the reason to {operation}"), &reason)?;
        Ok(reason)
    }

    /// Delivers an event to an instance that exists and has not finished.
    async fn send_to_unfinished(
        &self,
        instance_id: &str,
        event: EventKind,
    ) -> Result<(), DurableError> {
        self.unfinished(instance_id).await?;
        self.send(instance_id, event).await
    }

    /// The instance, or [`DurableError::InstanceNotFound`].
    async fn existing(&self, instance_id: &str) -> Result<InstanceRecord, DurableError> {
        self.backend
            .get_instance(instance_id)
            .await?
            .ok_or_else(|| DurableError::InstanceNotFound { instance_id: instance_id.to_owned() })
    }

    /// The instance, or an error when there is none or it has finished.
    async fn unfinished(&self, instance_id: &str) -> Result<InstanceRecord, DurableError> {
        let record = self.existing(instance_id).await?;
        if record.runtime_status.is_terminal() {
            return Err(DurableError::InstanceFinished {
                instance_id: instance_id.to_owned(),
                status: record.runtime_status,
            });
        }
        Ok(record)
    }

    /// Delivers an event to an instance's current execution (whichever that is when the
    /// event is processed: after `continue_as_new`, the next one).
    async fn send(&self, instance_id: &str, event: EventKind) -> Result<(), DurableError> {
        let message = OrchestrationMessage {
            visible_at: None,
            instance_id: instance_id.to_owned(),
            execution_id: None,
            event: HistoryEvent::new(self.clock.now(), event),
        };
        self.backend.send_message(message).await.map_err(|e| match e {
            BackendError::InstanceNotFound { instance_id } => {
                DurableError::InstanceNotFound { instance_id }
            }
            other => other.into(),
        })
    }

    /// Every queue of the task hub (one per registered function) with its depth.
    pub async fn list_queues(&self) -> Result<Vec<QueueStats>, DurableError> {
        Ok(self.backend.queue_stats().await?)
    }

    /// How many orchestration instances (entities left out) hold each runtime status, every
    /// status in declaration order (0 when no instance has it).
    pub async fn count_instances(
        &self,
    ) -> Result<Vec<(OrchestrationRuntimeStatus, u64)>, DurableError> {
        let stored = self.backend.count_instances().await?;
        Ok(OrchestrationRuntimeStatus::ALL
            .into_iter()
            .map(|status| {
                let count = stored.iter().find(|(s, _)| *s == status).map_or(0, |(_, n)| *n);
                (status, count)
            })
            .collect())
    }
}

/// How [`DurableOrchestrationClient::schedule_new_orchestration_instance`] starts an
/// instance (`StartOrchestrationOptions` of the isolated SDK). `Default` starts one now,
/// under a new id, with the configured `defaultVersion`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartOrchestrationOptions {
    /// The instance id; a new one when `None`.
    pub instance_id: Option<String>,
    /// The orchestration version; the configured `defaultVersion` when `None`.
    pub version: Option<String>,
    /// When its first turn runs (`StartAt`); at once when `None` or past.
    pub start_at: Option<DateTime<Utc>>,
}

/// The error for an operation that does not apply to the instance's status.
fn invalid_state(
    record: &InstanceRecord,
    operation: &'static str,
    reason: &'static str,
) -> DurableError {
    DurableError::InvalidState {
        instance_id: record.instance_id.clone(),
        status: record.runtime_status,
        operation,
        reason,
    }
}
