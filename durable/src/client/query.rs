//! Listing instances page by page (`ListInstancesAsync` in C#) and purging finished ones
//! (`PurgeInstanceHistoryAsync`).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::{DurableError, DurableOrchestrationClient, DurableOrchestrationStatus};
use crate::backend::{
    BackendError, DEFAULT_PAGE_SIZE, InstanceKind, InstanceQuery, PurgeFilter, purge_in_chunks,
};
use crate::history::OrchestrationRuntimeStatus;

/// Which instances [`DurableOrchestrationClient::list_instances`] returns
/// (`OrchestrationStatusQueryCondition` in C#). Every filter is optional; they combine with
/// *and*. `Default` lists every instance, 100 per page, with inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrchestrationStatusQueryCondition {
    /// Only instances with one of these statuses; empty for every status.
    pub runtime_status: Vec<OrchestrationRuntimeStatus>,
    /// Only instances created at or after this time.
    pub created_time_from: Option<DateTime<Utc>>,
    /// Only instances created at or before this time.
    pub created_time_to: Option<DateTime<Utc>>,
    /// Only instances whose id starts with this (case-sensitive).
    pub instance_id_prefix: Option<String>,
    /// The most instances a page holds; at least 1, 100 by default. A page may hold fewer
    /// even when more follow: check [`OrchestrationStatusQueryResult::continuation_token`].
    pub page_size: usize,
    /// The token of the previous page, to fetch the next one with the same filters; `None`
    /// for the first page.
    pub continuation_token: Option<String>,
    /// Whether the results carry each instance's input (`true` by default); when `false`
    /// their `input` is `null`.
    pub show_input: bool,
}

impl Default for OrchestrationStatusQueryCondition {
    fn default() -> Self {
        OrchestrationStatusQueryCondition {
            runtime_status: Vec::new(),
            created_time_from: None,
            created_time_to: None,
            instance_id_prefix: None,
            page_size: DEFAULT_PAGE_SIZE,
            continuation_token: None,
            show_input: true,
        }
    }
}

/// One page of instances (`OrchestrationStatusQueryResult` in C#); serializes with the field
/// names of Azure's HTTP API.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrchestrationStatusQueryResult {
    /// The instances, ordered by creation time, then instance id.
    pub durable_orchestration_state: Vec<DurableOrchestrationStatus>,
    /// Pass it as [`OrchestrationStatusQueryCondition::continuation_token`] to fetch the next
    /// page; `None` when this is the last one.
    pub continuation_token: Option<String>,
}

/// What a purge deleted (`PurgeHistoryResult` in C#); serializes as
/// `{"instancesDeleted": n}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PurgeHistoryResult {
    /// How many instances were deleted, with their history.
    pub instances_deleted: u64,
}

impl DurableOrchestrationClient {
    /// Lists one page of the orchestration instances matching `condition`
    /// (`ListInstancesAsync` in C#), without their history, ordered by creation time, then
    /// instance id. Entities are not listed (see
    /// [`list_entities`](DurableOrchestrationClient::list_entities)). Follow the
    /// result's continuation token for the next page: every instance that exists throughout
    /// and keeps matching is returned exactly once, even while instances are created.
    ///
    /// Errors with [`DurableError::InvalidQuery`] when the page size is 0 or the continuation
    /// token is malformed.
    pub async fn list_instances(
        &self,
        condition: &OrchestrationStatusQueryCondition,
    ) -> Result<OrchestrationStatusQueryResult, DurableError> {
        let query = InstanceQuery {
            runtime_status: condition.runtime_status.clone(),
            created_from: condition.created_time_from,
            created_to: condition.created_time_to,
            instance_id_prefix: condition.instance_id_prefix.clone(),
            kind: InstanceKind::Orchestrations,
            page_size: condition.page_size,
            continuation_token: condition.continuation_token.clone(),
            ..InstanceQuery::default()
        };
        let page = self.backend.list_instances(&query).await.map_err(query_error)?;
        let durable_orchestration_state = page
            .instances
            .into_iter()
            .map(|record| {
                let mut status = DurableOrchestrationStatus::from_record(record, None);
                if !condition.show_input {
                    status.input = Value::Null;
                }
                status
            })
            .collect();
        Ok(OrchestrationStatusQueryResult {
            durable_orchestration_state,
            continuation_token: page.continuation_token,
        })
    }

    /// Deletes a finished instance with its history, every execution's
    /// (`PurgeInstanceHistoryAsync(instanceId)` in C#). The id can then be used again.
    ///
    /// Deletes nothing (`instances_deleted: 0`) when there is no such instance. Errors with
    /// [`DurableError::InstanceNotFinished`] when the instance is pending, running,
    /// suspended or continuing as new (terminate it first), and with
    /// [`DurableError::InvalidInstanceId`] for an id no instance can have; nothing is
    /// deleted then.
    pub async fn purge_instance_history(
        &self,
        instance_id: &str,
    ) -> Result<PurgeHistoryResult, DurableError> {
        super::validate_instance_id(instance_id)?;
        self.purge(PurgeFilter::Instance(instance_id.to_owned())).await
    }

    /// Deletes every finished orchestration instance (never an entity) created between `created_time_from` and
    /// `created_time_to` (both inclusive; no upper bound when `None`) whose status is among
    /// `runtime_status` (empty for every finished status), with their histories
    /// (`PurgeInstanceHistoryAsync(createdTimeFrom, createdTimeTo, runtimeStatus)` in C#).
    /// Instances that have not finished are skipped, as in Azure.
    ///
    /// Errors with [`DurableError::InvalidQuery`] when `runtime_status` names a status other
    /// than Completed, Failed, Canceled or Terminated; nothing is deleted then.
    pub async fn purge_instance_history_by(
        &self,
        created_time_from: DateTime<Utc>,
        created_time_to: Option<DateTime<Utc>>,
        runtime_status: &[OrchestrationRuntimeStatus],
    ) -> Result<PurgeHistoryResult, DurableError> {
        self.purge_instance_history_by_with_progress(
            created_time_from,
            created_time_to,
            runtime_status,
            |_| {},
        )
        .await
    }

    /// [`purge_instance_history_by`](Self::purge_instance_history_by), telling `progress`
    /// how many instances are deleted so far after each chunk of the purge (a purge of many
    /// runs in chunks of 500).
    pub async fn purge_instance_history_by_with_progress(
        &self,
        created_time_from: DateTime<Utc>,
        created_time_to: Option<DateTime<Utc>>,
        runtime_status: &[OrchestrationRuntimeStatus],
        mut progress: impl FnMut(u64) + Send,
    ) -> Result<PurgeHistoryResult, DurableError> {
        let filter = PurgeFilter::Created {
            created_from: Some(created_time_from),
            created_to: created_time_to,
            runtime_status: runtime_status.to_vec(),
            finished_before: None,
            limit: None,
        };
        self.purge_reporting(filter, &mut progress).await
    }

    /// Deletes every instance of the task hub, finished or not, entities too, with their
    /// histories, messages and work items (`func durable delete-task-hub`); returns how many.
    /// The hub stays usable, empty. Processes serving it lose the work they hold.
    pub async fn delete_task_hub(&self) -> Result<PurgeHistoryResult, DurableError> {
        self.purge(PurgeFilter::Everything).await
    }

    async fn purge(&self, filter: PurgeFilter) -> Result<PurgeHistoryResult, DurableError> {
        self.purge_reporting(filter, &mut |_| {}).await
    }

    async fn purge_reporting(
        &self,
        filter: PurgeFilter,
        progress: &mut (dyn FnMut(u64) + Send),
    ) -> Result<PurgeHistoryResult, DurableError> {
        let instances_deleted =
            purge_in_chunks(self.backend.as_ref(), &filter, progress).await.map_err(query_error)?;
        Ok(PurgeHistoryResult { instances_deleted })
    }
}

/// Maps the backend's refusals of a query or purge to their client errors.
pub(super) fn query_error(error: BackendError) -> DurableError {
    match error {
        BackendError::InstanceNotFinished { instance_id, status } => {
            DurableError::InstanceNotFinished { instance_id, status }
        }
        BackendError::InvalidQuery { message } => DurableError::InvalidQuery { message },
        other => DurableError::Store(other),
    }
}
