//! Terminating, suspending and resuming an instance together with its sub-orchestrations,
//! as the newer Durable Task SDKs do with `Recursive = true`.

use serde::Serialize;
use serde_json::Value;

use super::{DurableError, DurableOrchestrationClient};
use crate::history::EventKind;

/// A change of an instance's run that can take its sub-orchestrations along.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceControl {
    /// [`terminate`](DurableOrchestrationClient::terminate).
    Terminate,
    /// [`suspend`](DurableOrchestrationClient::suspend).
    Suspend,
    /// [`resume`](DurableOrchestrationClient::resume).
    Resume,
}

impl DurableOrchestrationClient {
    /// Terminates, suspends or resumes an instance, and with `recursive` its unfinished
    /// sub-orchestrations too, depth first (`TerminateInstanceAsync` with `Recursive = true`
    /// in the newer Durable Task SDKs); each records `reason`. Errors as the single control
    /// does for `instance_id`; sub-orchestrations that finished, or are already in the state
    /// asked for, are left as they are.
    ///
    /// ```no_run
    /// # async fn f(client: durable::DurableOrchestrationClient) -> Result<(), durable::DurableError> {
    /// use durable::client::InstanceControl;
    ///
    /// client.control("order-17", "cancelled by the customer", InstanceControl::Terminate, true).await?;
    /// # Ok(()) }
    /// ```
    pub async fn control(
        &self,
        instance_id: &str,
        reason: impl Serialize,
        control: InstanceControl,
        recursive: bool,
    ) -> Result<(), DurableError> {
        let reason = serde_json::to_value(reason).map_err(DurableError::Serialization)?;
        let mut pending = match recursive {
            true => self.sub_orchestrations(instance_id).await?,
            false => Vec::new(),
        };
        self.control_one(instance_id, &reason, control).await?;
        let mut seen = std::collections::HashSet::from([instance_id.to_owned()]);
        while let Some(child) = pending.pop() {
            if !seen.insert(child.clone()) {
                continue;
            }
            pending.extend(self.sub_orchestrations(&child).await?);
            match self.control_one(&child, &reason, control).await {
                Ok(())
                | Err(
                    DurableError::InstanceFinished { .. }
                    | DurableError::InvalidState { .. }
                    | DurableError::InstanceNotFound { .. },
                ) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    async fn control_one(
        &self,
        instance_id: &str,
        reason: &Value,
        control: InstanceControl,
    ) -> Result<(), DurableError> {
        match control {
            InstanceControl::Terminate => self.terminate(instance_id, reason).await,
            InstanceControl::Suspend => self.suspend(instance_id, reason).await,
            InstanceControl::Resume => self.resume(instance_id, reason).await,
        }
    }

    /// The instances the current execution of `instance_id` started as sub-orchestrations.
    async fn sub_orchestrations(&self, instance_id: &str) -> Result<Vec<String>, DurableError> {
        let Some(record) = self.backend.get_instance(instance_id).await? else {
            return Ok(Vec::new());
        };
        let history = self.backend.get_history(instance_id, &record.execution_id).await?;
        Ok(history
            .into_iter()
            .filter_map(|event| match event.kind {
                EventKind::SubOrchestrationInstanceCreated { instance_id, .. } => Some(instance_id),
                _ => None,
            })
            .collect())
    }
}
