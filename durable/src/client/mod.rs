//! [`DurableOrchestrationClient`]: start instances, read their status, wait for them,
//! terminate them, list and purge them (`IDurableOrchestrationClient` in C#).

mod error;
mod instance_id;
mod query;
mod status;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

pub use error::DurableError;
pub use instance_id::{MAX_INSTANCE_ID_LEN, validate_instance_id};
pub use query::{
    OrchestrationStatusQueryCondition, OrchestrationStatusQueryResult, PurgeHistoryResult,
};
pub use status::DurableOrchestrationStatus;

use crate::backend::{Backend, BackendError, NewInstance, QueueStats};
use crate::history::{EventKind, HistoryEvent, OrchestrationMessage};
use crate::orchestration::OrchestratorHandle;
use crate::registry::Registry;
use crate::worker::{Completions, LocalStarter};

/// How often a waiting client re-reads the status when no in-process notification can reach
/// it (the instance runs in another process).
const STATUS_POLL_INTERVAL: Duration = Duration::from_millis(100);
/// How often it re-reads the status anyway when this process runs the instance and will
/// announce its completion: a safety net, not the mechanism.
const LOCAL_STATUS_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Starts and manages orchestration instances.
///
/// Obtained from a running app ([`RunningApp::client`](crate::RunningApp::client)) or bound
/// into a client function. Cheap to clone.
#[derive(Clone)]
pub struct DurableOrchestrationClient {
    backend: Arc<dyn Backend>,
    registry: Arc<Registry>,
    completions: Arc<Completions>,
    /// The worker of this process, when it runs the task hub's functions (so instances start
    /// in-process and completions are announced).
    local_worker: Option<LocalStarter>,
}

impl std::fmt::Debug for DurableOrchestrationClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurableOrchestrationClient")
            .field("local_worker", &self.local_worker.is_some())
            .finish_non_exhaustive()
    }
}

impl DurableOrchestrationClient {
    pub(crate) fn new(
        backend: Arc<dyn Backend>,
        registry: Arc<Registry>,
        completions: Arc<Completions>,
        local_worker: Option<LocalStarter>,
    ) -> Self {
        DurableOrchestrationClient {
            backend,
            registry,
            completions,
            local_worker,
        }
    }

    /// Starts an orchestrator by name (`StartNewAsync` in C#) and returns the instance id:
    /// `instance_id` if given, else a new one.
    ///
    /// Nothing is written when the name is unknown, the instance id is invalid, the input does
    /// not deserialize into the orchestrator's declared input type, or an instance with that
    /// id is still running. A finished instance with that id is replaced.
    pub async fn start_new(
        &self,
        orchestrator_name: &str,
        instance_id: Option<&str>,
        input: impl Serialize,
    ) -> Result<String, DurableError> {
        let input = serde_json::to_value(input).map_err(DurableError::Serialization)?;
        self.start_value(orchestrator_name, instance_id, input)
            .await
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
        self.start_value(H::NAME, instance_id, input).await
    }

    async fn start_value(
        &self,
        name: &str,
        instance_id: Option<&str>,
        input: Value,
    ) -> Result<String, DurableError> {
        let registration =
            self.registry
                .orchestrator(name)
                .ok_or_else(|| DurableError::UnknownOrchestrator {
                    name: name.to_owned(),
                })?;
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
            created_at: Utc::now(),
        };
        let created = match &self.local_worker {
            Some(worker) => worker.start(registration, created).await,
            None => self.backend.create_instance(created).await,
        };
        match created {
            Ok(()) => Ok(instance_id),
            Err(BackendError::InstanceExists {
                instance_id,
                status,
            }) => Err(DurableError::InstanceAlreadyExists {
                instance_id,
                status,
            }),
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
        let history = self
            .backend
            .get_history(instance_id, &record.execution_id)
            .await?;
        Ok(Some(DurableOrchestrationStatus::from_record(
            record,
            Some(history),
        )))
    }

    /// Waits until the instance finishes (completed, failed or terminated) and returns its
    /// final status; errors with [`DurableError::Timeout`] after `timeout`.
    pub async fn wait_for_completion(
        &self,
        instance_id: &str,
        timeout: Duration,
    ) -> Result<DurableOrchestrationStatus, DurableError> {
        // Saturates: a timeout too long to add to now waits "forever" (a century).
        let deadline = Instant::now()
            .checked_add(timeout)
            .or_else(|| Instant::now().checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
            .unwrap_or_else(Instant::now);
        let result = self
            .wait_until_finished(instance_id, deadline, timeout)
            .await;
        self.completions.unsubscribe_closed(instance_id);
        result
    }

    async fn wait_until_finished(
        &self,
        instance_id: &str,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<DurableOrchestrationStatus, DurableError> {
        loop {
            // Subscribe before reading, so a completion between the two is not missed.
            let finished = self.completions.subscribe(instance_id);
            let status = self.get_status(instance_id).await?.ok_or_else(|| {
                DurableError::InstanceNotFound {
                    instance_id: instance_id.to_owned(),
                }
            })?;
            if status.runtime_status.is_terminal() {
                return Ok(status);
            }
            let interval = if self.local_worker.is_some() {
                LOCAL_STATUS_POLL_INTERVAL
            } else {
                STATUS_POLL_INTERVAL
            };
            let next_check = (Instant::now() + interval).min(deadline);
            let _ = tokio::time::timeout_at(next_check, finished).await;
            if Instant::now() >= deadline {
                return Err(DurableError::Timeout {
                    instance_id: instance_id.to_owned(),
                    timeout,
                });
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
        let reason = serde_json::to_value(reason).map_err(DurableError::Serialization)?;
        self.send_to_unfinished(
            instance_id,
            EventKind::ExecutionTerminated { input: reason },
        )
        .await
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
        let event = EventKind::EventRaised {
            name: event_name.to_owned(),
            input,
        };
        self.send_to_unfinished(instance_id, event).await
    }

    /// Delivers an event to an instance that exists and has not finished.
    async fn send_to_unfinished(
        &self,
        instance_id: &str,
        event: EventKind,
    ) -> Result<(), DurableError> {
        let record = self
            .backend
            .get_instance(instance_id)
            .await?
            .ok_or_else(|| DurableError::InstanceNotFound {
                instance_id: instance_id.to_owned(),
            })?;
        if record.runtime_status.is_terminal() {
            return Err(DurableError::InstanceFinished {
                instance_id: instance_id.to_owned(),
                status: record.runtime_status,
            });
        }
        let message = OrchestrationMessage {
            visible_at: None,
            instance_id: instance_id.to_owned(),
            execution_id: Some(record.execution_id),
            event: HistoryEvent::new(Utc::now(), event),
        };
        self.backend
            .send_message(message)
            .await
            .map_err(|e| match e {
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
}

/// A new instance or execution id: 32 lowercase hex digits, as Azure generates them.
fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
