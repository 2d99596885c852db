//! Every accepted client function form: `#[orchestration_client]` before or after its
//! trigger; HTTP functions taking the request by value or by reference, typed, optional and
//! catch-all route parameters, every method and auth level; timer functions with and without
//! the timer info and the client; `HttpResponse` and `Result`s with `DurableError` and with a
//! `String` error. The registrations run the fns.

use chrono::Utc;
use durable::http::{HttpFunctionRegistration, StatusCode};
use durable::prelude::*;
use durable::testing::TestHost;
use durable::timer_trigger::{ScheduleStatus, TimerFunctionRegistration};
use serde_json::{Value, json};

#[orchestration_trigger]
async fn hello(context: DurableOrchestrationContext, city: String) -> String {
    let _ = context;
    format!("Hello {city}!")
}

// The client attribute first.
#[orchestration_client]
#[http_trigger(methods = ["POST"], route = "orchestrators/{function_name}")]
async fn http_start(
    req: HttpRequest,
    starter: DurableOrchestrationClient,
    function_name: String,
) -> Result<HttpResponse, DurableError> {
    let input: Value = req.json()?;
    let instance_id = starter.start_new(&function_name, None, input).await?;
    Ok(starter.create_check_status_response(&req, &instance_id))
}

// The trigger first, with a path, the parameters in another order and the request by
// reference.
#[durable::http_trigger(name = "StatusOf", route = "/status/{instance_id}/", methods = ["get", "Head"], auth_level = "ANONYMOUS")]
#[orchestration_client]
pub async fn status_of(
    starter: DurableOrchestrationClient,
    instance_id: String,
    req: &HttpRequest,
) -> Result<HttpResponse, DurableError> {
    let _ = req;
    match starter.get_status(&instance_id).await? {
        Some(status) => Ok(HttpResponse::json(StatusCode::OK, &status.runtime_status)),
        None => Err(DurableError::InstanceNotFound { instance_id }),
    }
}

// A typed and an optional route parameter.
#[http_trigger(route = "items/{id}/{tag?}", auth_level = "function")]
async fn item(id: u32, tag: Option<String>, req: &HttpRequest) -> HttpResponse {
    HttpResponse::json(
        StatusCode::OK,
        &json!({ "id": id, "tag": tag, "method": req.method() }),
    )
}

// A catch-all; an empty list of methods is every method.
#[http_trigger(route = "files/{*path}", auth_level = "admin", methods = [])]
pub(crate) async fn file(path: String) -> HttpResponse {
    HttpResponse::text(StatusCode::OK, path)
}

// A `String` error, the other methods, a keyword as a route parameter.
#[http_trigger(route = "fails/{type}", methods = ["DELETE", "put", "PATCH", "options"])]
async fn fails(r#type: String) -> Result<HttpResponse, String> {
    Err(format!("{type} is down", type = r#type))
}

// No parameters; a client that is not used.
#[orchestration_client]
#[http_trigger]
async fn ping() -> HttpResponse {
    HttpResponse::text(StatusCode::OK, "pong")
}

#[orchestration_client]
#[timer_trigger(schedule = "0 */5 * * * *")]
async fn every_five_minutes(
    timer: TimerInfo,
    starter: DurableOrchestrationClient,
) -> Result<(), DurableError> {
    if timer.is_past_due {
        starter.start_new("hello", None, "Tokyo").await?;
    }
    Ok(())
}

#[timer_trigger(schedule = "0 30 9 * * MON-FRI", run_on_startup = false, name = "Weekdays")]
async fn weekdays(timer: TimerInfo) {
    let _ = timer;
}

#[timer_trigger(schedule = "*/30 * * * * *")]
async fn no_params() -> Result<(), String> {
    Err("nothing to do".to_owned())
}

#[timer_trigger(schedule = "0 0 0 1 1 *")]
#[orchestration_client]
async fn client_only(starter: DurableOrchestrationClient) -> () {
    let _ = starter;
}

// There is no public listing of these registrations; the macros' own path finds them.
fn http(name: &str) -> &'static HttpFunctionRegistration {
    durable::__private::inventory::iter::<HttpFunctionRegistration>
        .into_iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no HTTP function {name}"))
}

fn timer(name: &str) -> &'static TimerFunctionRegistration {
    durable::__private::inventory::iter::<TimerFunctionRegistration>
        .into_iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no timer function {name}"))
}

fn timer_info() -> TimerInfo {
    let now = Utc::now();
    TimerInfo {
        schedule_status: ScheduleStatus {
            last: now,
            next: now,
            last_updated: now,
        },
        is_past_due: false,
    }
}

#[tokio::main]
async fn main() {
    let host = TestHost::start().await.unwrap();
    let client = host.client();

    // Registrations, as the attributes wrote them.
    let start = http("http_start");
    assert_eq!(start.route, "orchestrators/{function_name}");
    assert_eq!(start.methods, ["POST"]);
    assert_eq!(start.auth_level, AuthLevel::Function);
    assert!(start.rust_path.ends_with("::http_start"), "{}", start.rust_path);
    let status_of = http("StatusOf");
    assert_eq!(status_of.route, "status/{instance_id}");
    assert_eq!(status_of.methods, ["GET", "HEAD"]);
    assert_eq!(status_of.auth_level, AuthLevel::Anonymous);
    assert_eq!(http("item").methods, [] as [&str; 0]);
    assert_eq!(http("file").auth_level, AuthLevel::Admin);
    assert_eq!(http("fails").methods, ["DELETE", "PUT", "PATCH", "OPTIONS"]);
    assert_eq!(http("ping").route, "ping");
    let weekly = timer("Weekdays");
    assert_eq!(weekly.schedule, "0 30 9 * * MON-FRI");
    assert!(!weekly.run_on_startup);
    assert_eq!(timer("every_five_minutes").schedule, "0 */5 * * * *");
    assert!(timer("client_only").rust_path.ends_with("::client_only"));

    // A `DurableError` answers with its own status; `Ok` is the response.
    let request = |function: &str| {
        HttpRequest::new("POST", &format!("http://localhost:7071/api/orchestrators/{function}"))
            .with_header("Content-Type", "application/json")
            .with_body("\"Tokyo\"")
            .with_route_param("function_name", function)
    };
    let started = (start.invoke)(request("hello"), client.clone()).await;
    assert_eq!(started.status(), StatusCode::ACCEPTED);
    let unknown = (start.invoke)(request("nope"), client.clone()).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let missing = HttpRequest::new("GET", "/api/status/none").with_route_param("instance_id", "none");
    let missing = (status_of.invoke)(missing, client.clone()).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    // Route parameters: parsed, optional, or a 400 before the fn runs.
    let item = http("item");
    let one = HttpRequest::new("PUT", "/api/items/7").with_route_param("id", "7");
    let one = (item.invoke)(one, client.clone()).await;
    assert_eq!(one.status(), StatusCode::OK);
    assert_eq!(
        one.body_json::<Value>().unwrap(),
        json!({ "id": 7, "tag": null, "method": "PUT" })
    );
    let tagged = HttpRequest::new("GET", "/api/items/7/new")
        .with_route_param("id", "7")
        .with_route_param("tag", "new");
    let tagged = (item.invoke)(tagged, client.clone()).await;
    assert_eq!(tagged.body_json::<Value>().unwrap()["tag"], "new");
    let bad = HttpRequest::new("GET", "/api/items/seven").with_route_param("id", "seven");
    assert_eq!((item.invoke)(bad, client.clone()).await.status(), StatusCode::BAD_REQUEST);
    let path = HttpRequest::new("GET", "/api/files/a/b.txt").with_route_param("path", "a/b.txt");
    let path = (http("file").invoke)(path, client.clone()).await;
    assert_eq!(path.body(), b"a/b.txt");

    // Any other error is a 500 with its message.
    let down = HttpRequest::new("DELETE", "/api/fails/db").with_route_param("type", "db");
    let down = (http("fails").invoke)(down, client.clone()).await;
    assert_eq!(down.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(String::from_utf8_lossy(down.body()).contains("db is down"));
    let pong = (http("ping").invoke)(HttpRequest::new("GET", "/api/ping"), client.clone()).await;
    assert_eq!(pong.body(), b"pong");

    // Timer functions: `Ok`, nothing, or failure details.
    assert!((timer("every_five_minutes").invoke)(timer_info(), client.clone()).await.is_ok());
    assert!((timer("Weekdays").invoke)(timer_info(), client.clone()).await.is_ok());
    let failure = (timer("no_params").invoke)(timer_info(), client.clone())
        .await
        .unwrap_err();
    assert_eq!(failure.error_message, "nothing to do");

    // The fns stay directly callable.
    assert_eq!(ping().await.body(), b"pong");
    weekdays(timer_info()).await;
    host.shutdown().await;
}
