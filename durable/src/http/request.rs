//! [`HttpRequest`]: what an HTTP-triggered function receives.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::http::HeaderMap;
use serde::de::DeserializeOwned;

use crate::client::DurableError;

/// An HTTP request to a function (`HttpRequest` in C#): method, URL, query, headers, route
/// parameters and the whole body.
///
/// ```
/// use durable::http::HttpRequest;
///
/// let req = HttpRequest::new("POST", "http://localhost:7071/api/orchestrators/E1_HelloSequence?x=1")
///     .with_header("Content-Type", "application/json")
///     .with_body(r#"{"city":"Tokyo"}"#);
/// assert_eq!(req.query("x"), Some("1"));
/// let input: serde_json::Value = req.json()?;
/// assert_eq!(input["city"], "Tokyo");
/// # Ok::<(), durable::DurableError>(())
/// ```
#[derive(Debug, Clone)]
pub struct HttpRequest {
    method: String,
    origin: String,
    path: String,
    query_string: String,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    route_params: HashMap<String, String>,
    body: Bytes,
}

impl HttpRequest {
    /// A request for unit tests of HTTP-triggered functions: `url` is absolute
    /// (`http://host[:port]/path?query`); a URL without a scheme and host is taken as a path
    /// on `http://localhost`.
    pub fn new(method: &str, url: &str) -> Self {
        let (origin, rest) = match url.split_once("://") {
            Some((scheme, rest)) => {
                let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                (format!("{scheme}://{host}"), path)
            }
            None => ("http://localhost".to_owned(), url),
        };
        let (path, query_string) = rest.split_once('?').unwrap_or((rest, ""));
        let path = if path.is_empty() { "/" } else { path };
        HttpRequest::from_parts(
            method.to_ascii_uppercase(),
            origin,
            path.to_owned(),
            query_string.to_owned(),
            HeaderMap::new(),
            Bytes::new(),
        )
    }

    pub(crate) fn from_parts(
        method: String,
        origin: String,
        path: String,
        query_string: String,
        headers: HeaderMap,
        body: Bytes,
    ) -> Self {
        // A query that does not decode (invalid UTF-8 after unescaping) reads as empty.
        let query = serde_urlencoded::from_str(&query_string).unwrap_or_default();
        HttpRequest {
            method,
            origin,
            path,
            query_string,
            query,
            headers,
            route_params: HashMap::new(),
            body,
        }
    }

    /// The same request with one more header; a name or value HTTP cannot carry is ignored.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        if let (Ok(name), Ok(value)) =
            (axum::http::HeaderName::try_from(name), axum::http::HeaderValue::try_from(value))
        {
            self.headers.append(name, value);
        }
        self
    }

    /// The same request with this body.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// The same request with a route parameter set, as the host sets those of the matched
    /// route.
    pub fn with_route_param(mut self, name: &str, value: &str) -> Self {
        self.route_params.insert(name.to_owned(), value.to_owned());
        self
    }

    /// The method, upper case (`GET`, `POST`, …).
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The path, still percent-encoded, e.g. `/api/orchestrators/E1_HelloSequence`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The scheme and authority the client used, e.g. `http://localhost:7071`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The absolute URL of the request.
    pub fn url(&self) -> String {
        if self.query_string.is_empty() {
            format!("{}{}", self.origin, self.path)
        } else {
            format!("{}{}?{}", self.origin, self.path, self.query_string)
        }
    }

    /// The raw query string, without `?`.
    pub(crate) fn query_string(&self) -> &str {
        &self.query_string
    }

    /// The first value of a query parameter, decoded; names compare case-insensitively, as
    /// ASP.NET's do.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Every query parameter, decoded, in order.
    pub fn query_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.query.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// A header's value; `None` when absent or not visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(crate) fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// A parameter of the matched route (`{functionName}` in `orchestrators/{functionName}`),
    /// decoded.
    pub fn route_param(&self, name: &str) -> Option<&str> {
        self.route_params.get(name).map(String::as_str)
    }

    pub(crate) fn set_route_params(&mut self, params: HashMap<String, String>) {
        self.route_params = params;
    }

    /// The raw body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body as text. Errors with [`DurableError::InvalidRequest`] when it is not
    /// UTF-8.
    pub fn text(&self) -> Result<&str, DurableError> {
        std::str::from_utf8(&self.body).map_err(|e| DurableError::InvalidRequest {
            message: format!("the request body is not UTF-8 text: {e}"),
        })
    }

    /// The body parsed as JSON into `T`; an empty body reads as `null` (whatever its
    /// `Content-Type`), so `Option<T>` and `serde_json::Value` accept it.
    ///
    /// Errors with [`DurableError::UnsupportedMediaType`] when the `Content-Type` names
    /// something other than JSON or text (a missing one is fine, and so is curl's default
    /// `application/x-www-form-urlencoded`), and with [`DurableError::InvalidRequest`]
    /// when the body is not JSON or does not fit `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, DurableError> {
        let text = self.text()?;
        // No body is no input, whatever the content type says (aiohttp labels an empty body
        // `application/octet-stream`).
        let text = if text.trim().is_empty() {
            "null"
        } else {
            self.check_json_content_type()?;
            text
        };
        serde_json::from_str(text).map_err(|e| DurableError::InvalidRequest {
            message: format!("the request body is not valid JSON for this function: {e}"),
        })
    }

    fn check_json_content_type(&self) -> Result<(), DurableError> {
        let Some(content_type) = self.headers.get(axum::http::header::CONTENT_TYPE) else {
            return Ok(());
        };
        let content_type = content_type.to_str().unwrap_or_default();
        let essence =
            content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        let accepted = matches!(
            essence.as_str(),
            "" | "application/json"
                | "text/json"
                | "text/plain"
                | "application/x-www-form-urlencoded"
        ) || essence.ends_with("+json");
        if accepted {
            Ok(())
        } else {
            Err(DurableError::UnsupportedMediaType {
                content_type: content_type.chars().take(100).collect(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_json_text_query_and_route_params() {
        let req = HttpRequest::new("post", "http://h:1/api/x/y?ShowInput=True&a=%20b")
            .with_route_param("name", "y")
            .with_body("[1, 2]");
        assert_eq!(req.method(), "POST");
        assert_eq!(req.origin(), "http://h:1");
        assert_eq!(req.path(), "/api/x/y");
        assert_eq!(req.query("showinput"), Some("True"));
        assert_eq!(req.query("a"), Some(" b"));
        assert_eq!(req.route_param("name"), Some("y"));
        assert_eq!(req.json::<Vec<u32>>().ok(), Some(vec![1, 2]));
        assert_eq!(HttpRequest::new("GET", "/x").json::<Option<u32>>().ok(), Some(None));
    }

    #[test]
    fn refuses_malformed_json_and_foreign_content_types() {
        let bad = HttpRequest::new("POST", "/x").with_body("{nope");
        assert!(matches!(
            bad.json::<serde_json::Value>(),
            Err(DurableError::InvalidRequest { .. })
        ));
        let xml = HttpRequest::new("POST", "/x")
            .with_header("Content-Type", "application/xml")
            .with_body("<a/>");
        assert!(matches!(
            xml.json::<serde_json::Value>(),
            Err(DurableError::UnsupportedMediaType { .. })
        ));
        let problem = HttpRequest::new("POST", "/x")
            .with_header("Content-Type", "application/problem+json; charset=utf-8")
            .with_body("{}");
        assert!(problem.json::<serde_json::Value>().is_ok());
    }
}
