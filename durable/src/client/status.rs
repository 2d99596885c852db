use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::backend::InstanceRecord;
use crate::history::{FailureDetails, HistoryEvent, OrchestrationRuntimeStatus};

/// The status of an orchestration instance (`DurableOrchestrationStatus` in C#); serializes
/// with the field names of Azure's HTTP API.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DurableOrchestrationStatus {
    /// The orchestrator function name.
    pub name: String,
    /// The instance id.
    pub instance_id: String,
    /// The runtime status.
    pub runtime_status: OrchestrationRuntimeStatus,
    /// The input.
    pub input: Value,
    /// The custom status set by the orchestrator.
    pub custom_status: Value,
    /// The output; for a failed instance, the failure message (as Azure reports it).
    pub output: Value,
    /// Why the instance failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_details: Option<FailureDetails>,
    /// When the instance was created.
    #[serde(serialize_with = "azure_time")]
    pub created_time: DateTime<Utc>,
    /// When the instance last changed.
    #[serde(serialize_with = "azure_time")]
    pub last_updated_time: DateTime<Utc>,
    /// The history of the current execution, when requested.
    #[serde(rename = "historyEvents", skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<HistoryEvent>>,
}

/// Azure's status times: `yyyy-MM-ddTHH:mm:ssZ`, whole seconds.
fn azure_time<S: serde::Serializer>(
    time: &DateTime<Utc>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&time.format("%Y-%m-%dT%H:%M:%SZ"))
}

impl DurableOrchestrationStatus {
    pub(crate) fn from_record(record: InstanceRecord, history: Option<Vec<HistoryEvent>>) -> Self {
        let output = match &record.failure {
            Some(failure) => Value::String(failure.to_string()),
            None => record.output,
        };
        DurableOrchestrationStatus {
            name: record.name,
            instance_id: record.instance_id,
            runtime_status: record.runtime_status,
            input: record.input,
            custom_status: record.custom_status,
            output,
            failure_details: record.failure,
            created_time: record.created_at,
            last_updated_time: record.last_updated_at,
            history,
        }
    }

    /// The output deserialized as `T`.
    pub fn output_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.output)
    }
}
