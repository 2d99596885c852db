//! The instance commands that do more than one client call: starting (and waiting), the
//! status with what it shows, the history, a purge by filter with its progress, and the
//! quarantined instances. Progress shows on stderr, and only when it is a terminal.

use std::time::Duration;

use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use super::{Error, FunctionApp, print_json};
use crate::OrchestrationRuntimeStatus;
use crate::client::{
    DurableError, DurableOrchestrationClient, PurgeHistoryResult, StartOrchestrationOptions,
};
use crate::history::{EventKind, FailureKind, HistoryEvent};

/// How often a spinner redraws.
const TICK: Duration = Duration::from_millis(120);

/// A spinner on stderr saying `message`; drawn only when stderr is a terminal.
fn spinner(message: String) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        bar.set_style(style);
    }
    bar.set_message(message);
    bar.enable_steady_tick(TICK);
    bar
}

/// What `start` and `start-new` were asked to do.
pub(super) struct StartRequest {
    pub(super) name: String,
    pub(super) input: Value,
    pub(super) options: StartOrchestrationOptions,
    pub(super) no_wait: bool,
    pub(super) timeout: Duration,
}

/// Starts an instance; runs it in this process (without serving HTTP) unless another process
/// serves the hub, or unless it is not waited for (then whoever serves the hub runs it).
pub(super) async fn start(mut app: FunctionApp, request: StartRequest) -> Result<(), Error> {
    if request.no_wait {
        let client = app.connect().await?;
        let instance_id = client
            .schedule_new_orchestration_instance(&request.name, request.input, request.options)
            .await?;
        println!("{instance_id}");
        return Ok(());
    }
    app.config.http.listen = None;
    let (client, running) = match app.clone().start().await {
        Ok(running) => (running.client(), Some(running)),
        Err(Error::HubBusy { .. }) => (app.connect().await?, None),
        Err(other) => return Err(other),
    };
    let result = start_and_wait(&client, request).await;
    if let Some(running) = running {
        running.shutdown().await;
    }
    result
}

async fn start_and_wait(
    client: &DurableOrchestrationClient,
    request: StartRequest,
) -> Result<(), Error> {
    let instance_id = client
        .schedule_new_orchestration_instance(&request.name, request.input, request.options)
        .await?;
    let waiting = spinner(format!("waiting for instance {instance_id} to finish"));
    let status = client.wait_for_completion(&instance_id, request.timeout).await;
    waiting.finish_and_clear();
    let status = status?;
    if status.runtime_status != OrchestrationRuntimeStatus::Completed {
        return Err(Error::InstanceNotCompleted {
            instance_id,
            status: status.runtime_status,
            output: status.output,
        });
    }
    print_json(&status.output)
}

/// What `get-runtime-status` shows besides the status.
pub(super) struct Shown {
    pub(super) input: bool,
    pub(super) output: bool,
    /// The history, with inputs and outputs whatever the other two say.
    pub(super) history: bool,
}

/// The status of an instance as JSON, with its input and output only when asked for (they
/// read `null` otherwise, as the status API's `showInput=false`).
pub(super) async fn status(
    client: &DurableOrchestrationClient,
    instance_id: &str,
    shown: Shown,
) -> Result<Value, Error> {
    let status = if shown.history {
        client.get_status_with_history(instance_id).await?
    } else {
        client.get_status(instance_id).await?
    };
    let status = status
        .ok_or_else(|| DurableError::InstanceNotFound { instance_id: instance_id.to_owned() })?;
    let mut json = serde_json::to_value(&status).map_err(std::io::Error::other)?;
    if let Value::Object(fields) = &mut json {
        for (field, show) in [("input", shown.input), ("output", shown.output)] {
            if !show {
                fields.insert(field.to_owned(), Value::Null);
            }
        }
    }
    Ok(json)
}

/// The history of an instance's current execution, as stored.
pub(super) async fn history(
    client: &DurableOrchestrationClient,
    instance_id: &str,
) -> Result<Vec<HistoryEvent>, Error> {
    let status = client
        .get_status_with_history(instance_id)
        .await?
        .ok_or_else(|| DurableError::InstanceNotFound { instance_id: instance_id.to_owned() })?;
    Ok(status.history.unwrap_or_default())
}

/// Purges the finished instances created from `from` to `to` with `statuses`, counting the
/// deleted ones on a spinner.
pub(super) async fn purge(
    client: &DurableOrchestrationClient,
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
    statuses: &[OrchestrationRuntimeStatus],
) -> Result<PurgeHistoryResult, Error> {
    let purging = spinner("purging: 0 instances deleted".to_owned());
    let progress = purging.clone();
    let purged = client
        .purge_instance_history_by_with_progress(from, to, statuses, move |deleted| {
            progress.set_message(format!("purging: {deleted} instances deleted"));
        })
        .await;
    purging.finish_and_clear();
    Ok(purged?)
}

/// Up to `top` failed instances that hold a quarantined work item: failed with
/// [`FailureKind::Quarantined`] themselves, or holding a `TaskFailed` of that kind (a
/// quarantined activity whose failure the orchestrator did not catch).
pub(super) async fn quarantined(
    client: &DurableOrchestrationClient,
    top: usize,
) -> Result<Vec<Value>, Error> {
    let mut found = Vec::new();
    let mut condition = crate::client::OrchestrationStatusQueryCondition {
        runtime_status: vec![OrchestrationRuntimeStatus::Failed],
        ..Default::default()
    };
    loop {
        let page = client.list_instances(&condition).await?;
        for status in page.durable_orchestration_state {
            let Some(full) = client.get_status_with_history(&status.instance_id).await? else {
                continue;
            };
            let failed_call = full.history.iter().flatten().find_map(|event| match &event.kind {
                EventKind::TaskFailed { failure_details, .. }
                    if failure_details.error_type == FailureKind::Quarantined =>
                {
                    Some(failure_details.error_message.clone())
                }
                _ => None,
            });
            let own = full
                .failure_details
                .as_ref()
                .filter(|failure| failure.error_type == FailureKind::Quarantined)
                .map(|failure| failure.error_message.clone());
            if let Some(message) = own.or(failed_call) {
                found.push(serde_json::json!({
                    "instanceId": full.instance_id,
                    "name": full.name,
                    "lastUpdatedTime": full.last_updated_time,
                    "quarantined": message,
                }));
                if found.len() >= top {
                    return Ok(found);
                }
            }
        }
        match page.continuation_token {
            Some(token) => condition.continuation_token = Some(token),
            None => return Ok(found),
        }
    }
}
