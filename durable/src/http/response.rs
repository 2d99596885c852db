//! [`HttpResponse`]: what an HTTP-triggered function returns.

use axum::http::StatusCode;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The content type of every JSON body the host writes.
pub(crate) const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// An HTTP response (`IActionResult` / `HttpResponseMessage` in C#).
///
/// ```
/// use durable::http::{HttpResponse, StatusCode};
///
/// let response = HttpResponse::json(StatusCode::OK, &serde_json::json!({ "greeting": "Hello" }))
///     .with_header("Cache-Control", "no-store");
/// assert_eq!(response.status(), StatusCode::OK);
/// assert_eq!(response.header("content-type"), Some("application/json; charset=utf-8"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    status: StatusCode,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl HttpResponse {
    /// A response with this status and no body.
    pub fn new(status: StatusCode) -> Self {
        HttpResponse { status, headers: Vec::new(), body: Vec::new() }
    }

    /// A response whose body is `value` as JSON. A value that cannot be serialized (a map
    /// with non-string keys, say) gives a 500 whose JSON body says why.
    pub fn json(status: StatusCode, value: &impl Serialize) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => HttpResponse::new(status)
                .with_header("Content-Type", JSON_CONTENT_TYPE)
                .with_body(body),
            Err(e) => HttpResponse::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The response could not be serialized.",
                e.to_string(),
            ),
        }
    }

    /// A `text/plain` response.
    pub fn text(status: StatusCode, text: impl Into<String>) -> Self {
        HttpResponse::new(status)
            .with_header("Content-Type", "text/plain; charset=utf-8")
            .with_body(text.into().into_bytes())
    }

    /// An error in the JSON shape Azure's HTTP APIs use: `{"Message": …, "ExceptionMessage":
    /// …}`; `message` says what failed, `detail` why.
    pub fn error(status: StatusCode, message: &str, detail: impl Into<String>) -> Self {
        let body = serde_json::json!({ "Message": message, "ExceptionMessage": detail.into() });
        HttpResponse::json(status, &body)
    }

    /// The same response with one more header (a header already set is replaced).
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// The same response with this body.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// A header's value (names compare case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Every header, in the order set.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body parsed as JSON.
    pub fn body_json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

impl axum::response::IntoResponse for HttpResponse {
    fn into_response(self) -> axum::response::Response {
        let mut response = axum::response::Response::new(axum::body::Body::from(self.body));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        for (name, value) in self.headers {
            // A header a function set that HTTP cannot carry (a newline in its value, say)
            // is dropped rather than failing the whole response.
            match (
                axum::http::HeaderName::try_from(name.as_str()),
                axum::http::HeaderValue::try_from(value.as_str()),
            ) {
                (Ok(name), Ok(value)) => {
                    headers.append(name, value);
                }
                _ => tracing::warn!(header = %name, "dropped a response header HTTP cannot carry"),
            }
        }
        response
    }
}
