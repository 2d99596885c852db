//! How a [`DurableError`] reads over HTTP: the one place that maps each variant to the failure
//! type it answers with. The match names every variant, so a new one does not compile until
//! it is given its response here.

use super::HttpResponse;
use super::rejection::{
    ApiError, Conflict, GatewayTimeout, Gone, InternalError, InvalidBody, InvalidPath,
    InvalidQuery, NotFound, PayloadTooLarge, UnknownEntity, UnsupportedMediaType,
};
use crate::client::DurableError;

impl From<&DurableError> for ApiError {
    fn from(error: &DurableError) -> Self {
        let detail = error.to_string();
        match error {
            DurableError::InvalidInstanceId { .. }
            | DurableError::InvalidEventName
            | DurableError::InvalidEntityId(_) => InvalidPath::new(detail).into(),
            DurableError::UnknownEntity { .. } => UnknownEntity::new(detail).into(),
            DurableError::InvalidInput { .. } | DurableError::InvalidRequest { .. } => {
                InvalidBody::new(detail).into()
            }
            DurableError::InvalidQuery { .. } => InvalidQuery::new(detail).into(),
            DurableError::UnknownOrchestrator { .. } | DurableError::InstanceNotFound { .. } => {
                NotFound::new(detail).into()
            }
            DurableError::InstanceAlreadyExists { .. }
            | DurableError::InvalidState { .. }
            | DurableError::InstanceNotFinished { .. } => Conflict::new(detail).into(),
            DurableError::InstanceFinished { .. } => Gone::new(detail).into(),
            DurableError::UnsupportedMediaType { .. } => UnsupportedMediaType::new(detail).into(),
            DurableError::PayloadTooLarge(_) => PayloadTooLarge::new(detail).into(),
            DurableError::Timeout { .. } => {
                tracing::error!(%error, "request failed");
                GatewayTimeout::new(detail).into()
            }
            DurableError::Serialization(_)
            | DurableError::EntityState { .. }
            | DurableError::Store(_) => {
                tracing::error!(%error, "request failed");
                InternalError::new(detail).into()
            }
        }
    }
}

impl From<DurableError> for ApiError {
    fn from(error: DurableError) -> Self {
        ApiError::from(&error)
    }
}

impl From<DurableError> for HttpResponse {
    fn from(error: DurableError) -> Self {
        ApiError::from(&error).into()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::backend::BackendError;
    use crate::history::OrchestrationRuntimeStatus;

    #[test]
    fn each_variant_answers_its_status() {
        let id = || "i".to_owned();
        let running = OrchestrationRuntimeStatus::Running;
        let not_json = serde_json::from_str::<u8>("x").unwrap_err();
        let store = BackendError::LockLost { what: "w".to_owned() };
        let limits = crate::history::Limits { max_event_size: 1, ..Default::default() };
        let Err(too_large) = limits.check(crate::history::Limit::Event, "data", &"ab") else {
            panic!("accepted");
        };
        let cases = [
            (DurableError::InvalidInstanceId { instance_id: id(), reason: "r" }, 400),
            (DurableError::UnknownOrchestrator { name: "f".to_owned() }, 404),
            (DurableError::UnknownEntity { name: "e".to_owned(), known: Vec::new() }, 400),
            (DurableError::InvalidInput { function: "f".to_owned(), message: "m".to_owned() }, 400),
            (DurableError::InstanceAlreadyExists { instance_id: id(), status: running }, 409),
            (DurableError::InstanceNotFound { instance_id: id() }, 404),
            (DurableError::InstanceFinished { instance_id: id(), status: running }, 410),
            (
                DurableError::InvalidState {
                    instance_id: id(),
                    status: running,
                    operation: "rewind",
                    reason: "r",
                },
                409,
            ),
            (DurableError::InstanceNotFinished { instance_id: id(), status: running }, 409),
            (DurableError::InvalidQuery { message: "m".to_owned() }, 400),
            (DurableError::InvalidEventName, 400),
            (DurableError::Timeout { instance_id: id(), timeout: Duration::from_secs(1) }, 504),
            (DurableError::InvalidRequest { message: "m".to_owned() }, 400),
            (DurableError::UnsupportedMediaType { content_type: "a/b".to_owned() }, 415),
            (DurableError::Serialization(not_json), 500),
            (DurableError::PayloadTooLarge(too_large), 413),
            (DurableError::Store(store), 500),
        ];
        for (error, status) in cases {
            let detail = error.to_string();
            let response = HttpResponse::from(error);
            assert_eq!(response.status().as_u16(), status, "{detail}");
            let body: serde_json::Value = response.body_json().unwrap();
            assert_eq!(body["ExceptionMessage"], detail.as_str());
        }
    }
}
