//! How a [`DurableError`] reads over HTTP: a status code and Azure's JSON error body.

use axum::http::StatusCode;

use super::HttpResponse;
use crate::client::DurableError;

/// The status code a client error answers with.
pub(crate) fn status_of(error: &DurableError) -> StatusCode {
    match error {
        DurableError::InvalidInstanceId { .. }
        | DurableError::InvalidInput { .. }
        | DurableError::InvalidQuery { .. }
        | DurableError::InvalidEventName
        | DurableError::InvalidRequest { .. } => StatusCode::BAD_REQUEST,
        DurableError::UnknownOrchestrator { .. } | DurableError::InstanceNotFound { .. } => {
            StatusCode::NOT_FOUND
        }
        DurableError::InstanceFinished { .. } => StatusCode::GONE,
        DurableError::InstanceAlreadyExists { .. }
        | DurableError::InvalidState { .. }
        | DurableError::InstanceNotFinished { .. } => StatusCode::CONFLICT,
        DurableError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        DurableError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
        DurableError::Serialization(_) | DurableError::Store(_) => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

/// A short, fixed summary of the error's kind, for the `Message` field.
pub(crate) fn summary(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "One or more of the arguments submitted is incorrect",
        StatusCode::NOT_FOUND => "Not found.",
        StatusCode::GONE => "The instance has already finished.",
        StatusCode::CONFLICT => "The request conflicts with the instance's current state.",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "Unsupported content type.",
        _ => "An error has occurred.",
    }
}

/// The response for a client error: its status and `{"Message", "ExceptionMessage"}`.
pub(crate) fn error_response(error: &DurableError) -> HttpResponse {
    let status = status_of(error);
    if status.is_server_error() {
        tracing::error!(%error, "request failed");
    }
    HttpResponse::error(status, summary(status), error.to_string())
}

impl From<DurableError> for HttpResponse {
    fn from(error: DurableError) -> Self {
        error_response(&error)
    }
}
