//! The check-status responses of client functions: `create_check_status_response` (202 with
//! the management URLs) and the HttpSyncStart wait.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::Value;

use super::management::status_response;
use super::{HttpRequest, HttpResponse};
use crate::client::{DurableError, DurableOrchestrationClient};
use crate::history::HistoryView;
use crate::history::OrchestrationRuntimeStatus;

impl DurableOrchestrationClient {
    /// A 202 response that tells the caller where to follow the instance
    /// (`CreateCheckStatusResponse` in C#): the management URLs as JSON (`id`,
    /// `statusQueryGetUri`, `sendEventPostUri`, `terminatePostUri`, `purgeHistoryDeleteUri`,
    /// `restartPostUri`, `suspendPostUri`, `resumePostUri`), absolute under the origin the
    /// request came in on, with `Location` set to the status URL and `Retry-After: 10`.
    ///
    /// ```
    /// use durable::prelude::*;
    ///
    /// #[orchestration_client]
    /// #[http_trigger(methods = ["POST"], route = "orchestrators/{function_name}")]
    /// async fn http_start(
    ///     req: HttpRequest,
    ///     starter: DurableOrchestrationClient,
    ///     function_name: String,
    /// ) -> Result<HttpResponse, DurableError> {
    ///     let input: serde_json::Value = req.json()?;
    ///     let instance_id = starter.start_new(&function_name, None, input).await?;
    ///     Ok(starter.create_check_status_response(&req, &instance_id))
    /// }
    /// ```
    pub fn create_check_status_response(
        &self,
        request: &HttpRequest,
        instance_id: &str,
    ) -> HttpResponse {
        let payload = self.http_management_payload_at(request.origin(), instance_id);
        let location = payload.status_query_get_uri.clone();
        // Azure's 202 body lists every URL but the rewind one.
        let mut body = serde_json::to_value(&payload).unwrap_or(Value::Null);
        if let Value::Object(fields) = &mut body {
            fields.remove("rewindPostUri");
        }
        HttpResponse::json(StatusCode::ACCEPTED, &body)
            .with_header("Location", location)
            .with_header("Retry-After", "10")
    }

    /// Waits up to `timeout` for the instance to finish
    /// (`WaitForCompletionOrCreateCheckStatusResponseAsync` in C#): a completed instance
    /// answers 200 with its output as the body; a failed, canceled or terminated one 200
    /// with its status object; one still running after `timeout`, the 202 of
    /// [`create_check_status_response`](Self::create_check_status_response).
    ///
    /// The wait ends as soon as the instance finishes: this process hears of it at once, and
    /// re-reads the status at least every `retry_interval` for an instance another process
    /// runs.
    pub async fn wait_for_completion_or_create_check_status_response(
        &self,
        request: &HttpRequest,
        instance_id: &str,
        timeout: Duration,
        retry_interval: Duration,
    ) -> Result<HttpResponse, DurableError> {
        match self.wait_for_completion_polling(instance_id, timeout, retry_interval).await {
            Ok(status) if status.runtime_status == OrchestrationRuntimeStatus::Completed => {
                Ok(HttpResponse::json(StatusCode::OK, &status.output))
            }
            // Failed, canceled or terminated: the status object, as a status request with
            // `returnInternalServerErrorOnFailure=false` answers.
            Ok(status) => {
                let view = HistoryView { show_input: true, show_output: false };
                Ok(status_response(&status, view, false))
            }
            Err(DurableError::Timeout { .. }) => {
                Ok(self.create_check_status_response(request, instance_id))
            }
            Err(other) => Err(other),
        }
    }
}
