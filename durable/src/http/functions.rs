//! HTTP-triggered functions: their registrations (submitted by `#[http_trigger]`) and the
//! dispatch of requests under `/api/` to them.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;

use super::keys::{Access, AuthLevel, HostKeys};
use super::rejection::{ApiError, InternalError, MethodNotAllowed, NotFound, Unauthorized};
use super::routes::{RouteSegment, RouteTemplate};
use super::{HttpRequest, HttpResponse};
use crate::client::DurableOrchestrationClient;
use crate::function::{BoxFuture, panic_message};

/// An `#[http_trigger]` fn, as the macro registers it.
#[derive(Debug)]
pub struct HttpFunctionRegistration {
    /// The function name.
    pub name: &'static str,
    /// The Rust path of the annotated fn, for diagnostics.
    pub rust_path: &'static str,
    /// The route below `/api/` (Azure's template syntax: `orchestrators/{functionName}`).
    pub route: &'static str,
    /// The route's segments, as the macro parsed them.
    pub segments: &'static [RouteSegment],
    /// The methods it answers, upper case; empty for every method.
    pub methods: &'static [&'static str],
    /// Who may call it.
    pub auth_level: AuthLevel,
    /// Runs the function.
    pub invoke: fn(HttpRequest, DurableOrchestrationClient) -> BoxFuture<'static, HttpResponse>,
}

inventory::collect!(HttpFunctionRegistration);

/// Every registered HTTP function.
pub(crate) fn registered() -> impl Iterator<Item = &'static HttpFunctionRegistration> {
    inventory::iter::<HttpFunctionRegistration>.into_iter()
}

/// Two HTTP functions answer the same requests.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    /// Two functions share a route and a method.
    #[error("HTTP functions `{first}` and `{second}` both answer {method} /api/{route}")]
    Conflict {
        /// One function.
        first: String,
        /// The other.
        second: String,
        /// The shared method.
        method: String,
        /// The shared route.
        route: String,
    },
}

struct Route {
    template: RouteTemplate,
    function: &'static HttpFunctionRegistration,
}

/// The HTTP functions by route, most specific first.
pub(crate) struct ApiRoutes {
    routes: Vec<Route>,
}

impl ApiRoutes {
    /// Orders the functions' routes; refuses two functions answering the same method on
    /// routes of the same shape.
    pub(crate) fn new(
        functions: impl IntoIterator<Item = &'static HttpFunctionRegistration>,
    ) -> Result<ApiRoutes, RouteError> {
        let mut routes = Vec::new();
        let mut taken: HashMap<(String, String), &'static HttpFunctionRegistration> =
            HashMap::new();
        for function in functions {
            let template = RouteTemplate::new(function.segments);
            let methods: Vec<String> = if function.methods.is_empty() {
                vec!["*".to_owned()]
            } else {
                function.methods.iter().map(|m| m.to_ascii_uppercase()).collect()
            };
            for method in methods {
                let conflict = taken
                    .iter()
                    .find(|((shape, m), _)| {
                        *shape == template.shape() && (*m == method || *m == "*" || method == "*")
                    })
                    .map(|(_, f)| *f);
                if let Some(other) = conflict {
                    let mut names = [other.name, function.name];
                    names.sort_unstable();
                    return Err(RouteError::Conflict {
                        first: names[0].to_owned(),
                        second: names[1].to_owned(),
                        method,
                        route: function.route.to_owned(),
                    });
                }
                taken.insert((template.shape(), method), function);
            }
            routes.push(Route { template, function });
        }
        routes.sort_by_key(|r| r.template.specificity());
        Ok(ApiRoutes { routes })
    }

    /// Answers a request whose path is below `/api/`: 404 when no route matches, 405 when
    /// routes match but not for this method, 401 without the key the function needs.
    pub(crate) async fn dispatch(
        &self,
        api_path: &str,
        mut request: HttpRequest,
        keys: &HostKeys,
        client: &DurableOrchestrationClient,
    ) -> Result<HttpResponse, ApiError> {
        let mut allowed = Vec::new();
        for route in &self.routes {
            let Some(params) = route.template.matches(api_path) else {
                continue;
            };
            let function = route.function;
            let answers = function.methods.is_empty()
                || function.methods.iter().any(|m| m.eq_ignore_ascii_case(request.method()));
            if !answers {
                allowed.extend(function.methods.iter().map(|m| m.to_ascii_uppercase()));
                continue;
            }
            let presented = super::presented_key(request.headers(), request.query("code"));
            if !keys.allows(Access::Function(function.auth_level), presented) {
                return Err(Unauthorized.into());
            }
            request.set_route_params(params);
            return Ok(invoke(function, request, client.clone()).await);
        }
        if allowed.is_empty() {
            return Err(NotFound::new(format!("no function answers /api/{api_path}")).into());
        }
        allowed.sort();
        allowed.dedup();
        Err(MethodNotAllowed::new(request.method(), allowed.join(", ")).into())
    }
}

/// Runs a function; a panic becomes a 500 and is logged, the host stays up.
async fn invoke(
    function: &'static HttpFunctionRegistration,
    request: HttpRequest,
    client: DurableOrchestrationClient,
) -> HttpResponse {
    match AssertUnwindSafe((function.invoke)(request, client)).catch_unwind().await {
        Ok(response) => response,
        Err(payload) => {
            let message = panic_message(payload.as_ref());
            tracing::error!(function = function.name, panic = %message, "HTTP function panicked");
            InternalError::new(format!("function `{}` panicked: {message}", function.name)).into()
        }
    }
}
