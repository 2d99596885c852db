//! Ports of `HttpStart.cs` and `HttpSyncStart.cs`: HTTP-triggered client functions that start
//! any orchestrator by name with the request body as its input.
//!
//! With the app serving (`cargo run -p durable-examples`):
//!
//! ```text
//! curl -i -X POST http://localhost:7071/api/orchestrators/E1_HelloSequence
//! curl -i -X POST "http://localhost:7071/api/orchestrators/E1_HelloSequence/wait?timeout=10"
//! ```
//!
//! The first answers 202 with the instance's management URLs; the second waits for the
//! instance and answers 200 with its output, or 202 with the URLs after `timeout` seconds.

use std::time::Duration;

use durable::prelude::*;

/// Starts `function_name` with the request body as its input and answers with the URLs to
/// follow it.
#[orchestration_client]
#[http_trigger(name = "HttpStart", methods = ["POST"], route = "orchestrators/{function_name}")]
pub async fn http_start(
    req: HttpRequest,
    starter: DurableOrchestrationClient,
    function_name: String,
) -> Result<HttpResponse, DurableError> {
    // Function input comes from the request content.
    let event_data: serde_json::Value = req.json()?;
    let instance_id = starter.start_new(&function_name, None, event_data).await?;

    tracing::info!("Started orchestration with ID = '{instance_id}'.");

    Ok(starter.create_check_status_response(&req, &instance_id))
}

/// Starts `function_name` and waits up to `timeout` seconds (default 30) for its output,
/// re-checking every `retryInterval` seconds (default 1).
#[orchestration_client]
#[http_trigger(name = "HttpSyncStart", methods = ["POST"], route = "orchestrators/{function_name}/wait")]
pub async fn http_sync_start(
    req: HttpRequest,
    starter: DurableOrchestrationClient,
    function_name: String,
) -> Result<HttpResponse, DurableError> {
    let event_data: serde_json::Value = req.json()?;
    let instance_id = starter.start_new(&function_name, None, event_data).await?;

    tracing::info!("Started orchestration with ID = '{instance_id}'.");

    let timeout = seconds(&req, "timeout")?.unwrap_or(Duration::from_secs(30));
    let retry_interval = seconds(&req, "retryInterval")?.unwrap_or(Duration::from_secs(1));

    starter
        .wait_for_completion_or_create_check_status_response(
            &req,
            &instance_id,
            timeout,
            retry_interval,
        )
        .await
}

/// A query parameter in seconds; a value that is not a number of seconds is a 400.
fn seconds(req: &HttpRequest, name: &str) -> Result<Option<Duration>, DurableError> {
    req.query(name)
        .map(|value| {
            value.parse::<f64>().ok().and_then(|s| Duration::try_from_secs_f64(s).ok()).ok_or_else(
                || DurableError::InvalidRequest {
                    message: format!("`{name}` must be a number of seconds, not `{value}`"),
                },
            )
        })
        .transpose()
}
