//! The host's own HTTP failures as types, one per kind (axum's `extract/rejection.rs` habit):
//! each knows its status code and the fixed summary of its kind, and answers with Azure's JSON
//! error body, `{"Message": <summary>, "ExceptionMessage": <what went wrong this time>}`.
//!
//! Handlers return [`ApiError`], which composes them; `?` turns each type, and a
//! [`DurableError`](crate::client::DurableError) (mapped in `error.rs`), into one.

use axum::http::StatusCode;

use super::HttpResponse;

/// The summary of every 400, as Azure words it.
const INCORRECT_ARGUMENTS: &str = "One or more of the arguments submitted is incorrect";

/// What a failure type tells: its status, the summary of its kind, and what went wrong.
pub(crate) trait Reject: Sized {
    /// The status code it answers with.
    const STATUS: StatusCode;
    /// The short, fixed summary of its kind: the body's `Message`.
    const MESSAGE: &'static str;

    /// What went wrong this time: the body's `ExceptionMessage`.
    fn into_detail(self) -> String;

    /// The response: [`STATUS`](Self::STATUS) and Azure's JSON error body.
    fn into_response(self) -> HttpResponse {
        HttpResponse::error(Self::STATUS, Self::MESSAGE, self.into_detail())
    }
}

/// Defines a failure type that carries its detail as text.
macro_rules! rejection {
    ($(#[$doc:meta])* $name:ident: $status:ident, $message:expr;) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub(crate) struct $name(String);

        impl $name {
            /// The failure; `detail` says what went wrong.
            pub(crate) fn new(detail: impl Into<String>) -> Self {
                $name(detail.into())
            }
        }

        impl Reject for $name {
            const STATUS: StatusCode = StatusCode::$status;
            const MESSAGE: &'static str = $message;

            fn into_detail(self) -> String {
                self.0
            }
        }
    };
}

rejection! {
    /// 400: a request body that cannot be read, is not UTF-8 or JSON, or is JSON of another
    /// shape than the function (or the orchestrator) takes.
    InvalidBody: BAD_REQUEST, INCORRECT_ARGUMENTS;
}

rejection! {
    /// 400: a query string that does not decode, or a query parameter that is missing or does
    /// not parse (a boolean, a time, a count, a runtime status, a continuation token, …).
    InvalidQuery: BAD_REQUEST, INCORRECT_ARGUMENTS;
}

rejection! {
    /// 400: a path that does not decode, or a value in it that no instance, function or event
    /// can have (an invalid instance id, an empty event name, a route parameter that does
    /// not parse, an unknown orchestrator to start).
    InvalidPath: BAD_REQUEST, INCORRECT_ARGUMENTS;
}

rejection! {
    /// 404: no route, function or instance answers to the request.
    NotFound: NOT_FOUND, "Not found.";
}

rejection! {
    /// 409: the request conflicts with the instance's current state (an instance with this id
    /// is already running, or the operation does not apply to its status).
    Conflict: CONFLICT, "The request conflicts with the instance's current state.";
}

rejection! {
    /// 410: the operation needs a running instance, and this one has finished.
    Gone: GONE, "The instance has already finished.";
}

rejection! {
    /// 410: a rewind of an instance that has not failed, as Azure documents and its clients
    /// expect.
    NotRewindable: GONE, "Only failed instances can be rewound.";
}

rejection! {
    /// 412: a purge of an instance that has not finished, as in Azure.
    NotPurgeable: PRECONDITION_FAILED, "Only finished instances can be purged.";
}

rejection! {
    /// 415: a body whose `Content-Type` is neither JSON nor text.
    UnsupportedMediaType: UNSUPPORTED_MEDIA_TYPE, "Unsupported content type.";
}

rejection! {
    /// 500: the host failed (the store, a serialization, or an HTTP function's error or
    /// panic); the request may have been fine.
    InternalError: INTERNAL_SERVER_ERROR, "An error has occurred.";
}

rejection! {
    /// 504: the instance did not finish within the time the client allowed.
    GatewayTimeout: GATEWAY_TIMEOUT, "An error has occurred.";
}

impl InternalError {
    /// The 500 for an error an HTTP function returned; logged, since nobody else may see it.
    pub(crate) fn function_failed(error: &impl std::fmt::Display) -> Self {
        tracing::error!(%error, "HTTP function failed");
        InternalError::new(error.to_string())
    }
}

/// 400: a signal to an entity name no entity function answers to. Azure's body carries the
/// whole explanation as its `Message` (the `ArgumentException`'s message); it is the
/// `ExceptionMessage` too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnknownEntity(String);

impl UnknownEntity {
    /// The failure; `message` is Azure's explanation.
    pub(crate) fn new(message: impl Into<String>) -> Self {
        UnknownEntity(message.into())
    }
}

impl Reject for UnknownEntity {
    const STATUS: StatusCode = StatusCode::BAD_REQUEST;
    const MESSAGE: &'static str = INCORRECT_ARGUMENTS;

    fn into_detail(self) -> String {
        self.0
    }

    fn into_response(self) -> HttpResponse {
        HttpResponse::error(Self::STATUS, &self.0.clone(), self.into_detail())
    }
}

/// 401: the request does not present a key that opens what it asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unauthorized;

impl Reject for Unauthorized {
    const STATUS: StatusCode = StatusCode::UNAUTHORIZED;
    const MESSAGE: &'static str = "Unauthorized.";

    fn into_detail(self) -> String {
        "a valid key is required: send it as the `x-functions-key` header or the `code` query \
         parameter"
            .to_owned()
    }
}

rejection! {
    /// 413: a body over the host's limit, or a value in it over its configured size limit
    /// (an input, an event's data, a reason).
    PayloadTooLarge: PAYLOAD_TOO_LARGE, "The request body is too large.";
}

impl PayloadTooLarge {
    /// The 413 of a body over `limit` bytes.
    pub(crate) fn body_over(limit: usize) -> Self {
        PayloadTooLarge::new(format!("the request body is larger than the limit of {limit} bytes"))
    }
}

/// 405: the route exists, not for this method; the response's `Allow` header lists the
/// methods it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MethodNotAllowed {
    method: String,
    allow: String,
}

impl MethodNotAllowed {
    /// A request with `method` where `allow` (the `Allow` header's value) is what is taken.
    pub(crate) fn new(method: impl Into<String>, allow: impl Into<String>) -> Self {
        MethodNotAllowed { method: method.into(), allow: allow.into() }
    }
}

impl Reject for MethodNotAllowed {
    const STATUS: StatusCode = StatusCode::METHOD_NOT_ALLOWED;
    const MESSAGE: &'static str = "Method not allowed.";

    fn into_detail(self) -> String {
        format!("{} is not allowed here; allowed: {}", self.method, self.allow)
    }

    fn into_response(self) -> HttpResponse {
        let allow = self.allow.clone();
        HttpResponse::error(Self::STATUS, Self::MESSAGE, self.into_detail())
            .with_header("Allow", allow)
    }
}

/// Defines [`ApiError`] over the failure types, with a `From` for each.
macro_rules! api_error {
    ($(#[$doc:meta])* pub(crate) enum $name:ident { $($kind:ident,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub(crate) enum $name {
            $(
                #[doc = concat!("A [`", stringify!($kind), "`].")]
                $kind($kind),
            )*
        }

        $(
            impl From<$kind> for $name {
                fn from(failure: $kind) -> Self {
                    $name::$kind(failure)
                }
            }

            impl From<$kind> for HttpResponse {
                fn from(failure: $kind) -> Self {
                    failure.into_response()
                }
            }
        )*

        impl From<$name> for HttpResponse {
            fn from(error: $name) -> Self {
                match error {
                    $($name::$kind(failure) => failure.into_response(),)*
                }
            }
        }
    };
}

api_error! {
    /// Every failure the host answers with: what handlers return as their error.
    pub(crate) enum ApiError {
        InvalidBody,
        InvalidQuery,
        InvalidPath,
        UnknownEntity,
        Unauthorized,
        NotFound,
        MethodNotAllowed,
        Conflict,
        Gone,
        NotRewindable,
        NotPurgeable,
        PayloadTooLarge,
        UnsupportedMediaType,
        InternalError,
        GatewayTimeout,
    }
}

impl axum::response::IntoResponse for ApiError {
    fn into_response(self) -> axum::response::Response {
        axum::response::IntoResponse::into_response(HttpResponse::from(self))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::http::response::JSON_CONTENT_TYPE;

    #[test]
    fn each_failure_has_its_status_and_azure_body() {
        const INCORRECT: &str = "One or more of the arguments submitted is incorrect";
        let cases: Vec<(ApiError, u16, &str, &str)> = vec![
            (InvalidBody::new("b").into(), 400, INCORRECT, "b"),
            (InvalidQuery::new("q").into(), 400, INCORRECT, "q"),
            (InvalidPath::new("p").into(), 400, INCORRECT, "p"),
            (
                UnknownEntity::new("The function 'x' …").into(),
                400,
                "The function 'x' …",
                "The function 'x' …",
            ),
            (
                Unauthorized.into(),
                401,
                "Unauthorized.",
                "a valid key is required: send it as the `x-functions-key` header or the \
                 `code` query parameter",
            ),
            (NotFound::new("n").into(), 404, "Not found.", "n"),
            (
                MethodNotAllowed::new("PUT", "GET, POST").into(),
                405,
                "Method not allowed.",
                "PUT is not allowed here; allowed: GET, POST",
            ),
            (
                Conflict::new("c").into(),
                409,
                "The request conflicts with the instance's current state.",
                "c",
            ),
            (Gone::new("g").into(), 410, "The instance has already finished.", "g"),
            (NotRewindable::new("r").into(), 410, "Only failed instances can be rewound.", "r"),
            (NotPurgeable::new("u").into(), 412, "Only finished instances can be purged.", "u"),
            (
                PayloadTooLarge::body_over(10).into(),
                413,
                "The request body is too large.",
                "the request body is larger than the limit of 10 bytes",
            ),
            (UnsupportedMediaType::new("m").into(), 415, "Unsupported content type.", "m"),
            (InternalError::new("i").into(), 500, "An error has occurred.", "i"),
            (GatewayTimeout::new("t").into(), 504, "An error has occurred.", "t"),
        ];
        for (error, status, message, detail) in cases {
            let case = format!("{error:?}");
            let response = HttpResponse::from(error);
            assert_eq!(response.status().as_u16(), status, "{case}");
            assert_eq!(response.header("content-type"), Some(JSON_CONTENT_TYPE), "{case}");
            let body: Value = response.body_json().unwrap();
            assert_eq!(body, json!({ "Message": message, "ExceptionMessage": detail }), "{case}");
        }
    }

    #[test]
    fn method_not_allowed_names_the_allowed_methods() {
        let response = HttpResponse::from(MethodNotAllowed::new("PUT", "GET, POST"));
        assert_eq!(response.header("allow"), Some("GET, POST"));
        let others = HttpResponse::from(ApiError::from(NotFound::new("n")));
        assert_eq!(others.header("allow"), None);
    }

    #[test]
    fn axum_answers_the_same_response() {
        use axum::response::IntoResponse;
        let response = ApiError::from(MethodNotAllowed::new("PUT", "GET")).into_response();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers().get("allow").and_then(|v| v.to_str().ok()), Some("GET"));
    }
}
