//! HTTP-triggered functions over real HTTP: the HttpStart and HttpSyncStart samples, route
//! parameters, auth levels, errors and panics, and the sample app serving curl-style
//! requests as a child process.

use std::net::SocketAddr;
use std::time::Duration;

use durable::RunningApp;
use durable::http::Secret;
use durable::prelude::*;
use durable_tests::{start_app_with, wait_for};

// Links the samples: HttpStart, HttpSyncStart and the orchestrators they start.
use durable_examples as _;
use serde_json::{Value, json};

/// Echoes what the host bound: a typed route parameter, an optional one, the query, a header
/// and the body.
#[http_trigger(name = "EchoItem", methods = ["GET", "PUT"], route = "items/{id}/{tag?}", auth_level = "anonymous")]
async fn echo_item(req: &HttpRequest, id: u32, tag: Option<String>) -> HttpResponse {
    let body: Value = req.json().unwrap_or(Value::Null);
    HttpResponse::json(
        StatusCode::OK,
        &json!({
            "id": id,
            "tag": tag,
            "q": req.query("q"),
            "header": req.header("x-test"),
            "method": req.method(),
            "body": body,
        }),
    )
    .with_header("x-echo", "yes")
}

/// Needs the function key (the default level).
#[http_trigger(name = "Guarded", methods = ["GET"], route = "guarded")]
async fn guarded() -> HttpResponse {
    HttpResponse::text(StatusCode::OK, "in")
}

/// Needs the master key.
#[http_trigger(name = "AdminOnly", route = "admin-only", auth_level = "admin")]
async fn admin_only() -> HttpResponse {
    HttpResponse::text(StatusCode::OK, "admin")
}

/// Panics: the host answers 500 and keeps serving.
#[http_trigger(name = "Explodes", route = "explodes", auth_level = "anonymous")]
async fn explodes() -> HttpResponse {
    panic!("boom")
}

/// Fails with an error that is not a `DurableError`: a 500 with its message.
#[http_trigger(name = "Fails", route = "fails", auth_level = "anonymous")]
async fn fails() -> Result<HttpResponse, String> {
    Err("the database is down".to_owned())
}

async fn serving(dir: &std::path::Path, keys: bool) -> (RunningApp, SocketAddr) {
    let app = start_app_with(dir, |c| {
        c.http.listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        if keys {
            c.http.keys.master = Some(Secret::new("master-key"));
            c.http.keys.function = Some(Secret::new("function-key"));
        }
    })
    .await;
    let addr = app.http_addr().expect("the app serves HTTP");
    (app, addr)
}

async fn body(response: reqwest::Response) -> Value {
    let text = response.text().await.expect("a body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[tokio::test]
async fn http_start_answers_202_with_urls_that_lead_to_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let (app, addr) = serving(dir.path(), false).await;
    let http = reqwest::Client::new();

    let response = http
        .post(format!("http://{addr}/api/orchestrators/E1_HelloSequence"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    assert_eq!(response.headers()["retry-after"], "10");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let payload = body(response).await;
    assert_eq!(payload["statusQueryGetUri"], location.as_str());
    assert!(
        location.starts_with(&format!(
            "http://{addr}/runtime/webhooks/durabletask/instances/{}?taskHub=TestHubName&connection=Storage",
            payload["id"].as_str().unwrap()
        )),
        "{location}"
    );

    let output = wait_for("the status URL to report completion", Duration::from_secs(10), || {
        let (http, location) = (&http, &location);
        async move {
            let response = http.get(location).send().await.ok()?;
            (response.status() == 200).then_some(())?;
            Some(body(response).await)
        }
    })
    .await;
    assert_eq!(output["runtimeStatus"], "Completed");
    assert_eq!(output["output"], json!(["Hello Tokyo!", "Hello Seattle!", "Hello London!"]));
    app.shutdown().await;
}

#[tokio::test]
async fn http_sync_start_waits_for_the_output_or_answers_202_after_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let (app, addr) = serving(dir.path(), false).await;
    let http = reqwest::Client::new();

    let done = http
        .post(format!("http://{addr}/api/orchestrators/E1_HelloSequence/wait?timeout=10"))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    assert_eq!(body(done).await, json!(["Hello Tokyo!", "Hello Seattle!", "Hello London!"]));

    // The approval workflow waits for a human: the wait times out with the check-status 202.
    let waiting = http
        .post(format!(
            "http://{addr}/api/orchestrators/ApprovalWorkflow/wait?timeout=0.3&retryInterval=0.1"
        ))
        .json(&json!("purchase order 7"))
        .send()
        .await
        .unwrap();
    assert_eq!(waiting.status(), 202);
    let payload = body(waiting).await;
    let id = payload["id"].as_str().unwrap();
    let status = app.client().get_status(id).await.unwrap().unwrap();
    assert!(!status.runtime_status.is_terminal());

    let bad = http
        .post(format!("http://{addr}/api/orchestrators/E1_HelloSequence/wait?timeout=soon"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    app.shutdown().await;
}

#[tokio::test]
async fn bad_requests_get_json_errors_and_start_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (app, addr) = serving(dir.path(), false).await;
    let http = reqwest::Client::new();
    let start = format!("http://{addr}/api/orchestrators/E1_HelloSequence");

    let cases = [
        (http.post(format!("http://{addr}/api/orchestrators/NoSuchOrchestrator")), 404),
        (http.post(&start).body("{not json"), 400),
        (http.post(&start).header("content-type", "application/xml").body("<a/>"), 415),
        (http.get(&start), 405),
        (http.post(format!("http://{addr}/api/no/such/route")), 404),
    ];
    for (request, expected) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), expected);
        let error = body(response).await;
        assert!(error["Message"].is_string(), "{error}");
        assert!(error["ExceptionMessage"].is_string(), "{error}");
    }
    let listed = app.client().list_instances(&Default::default()).await.unwrap();
    assert!(listed.durable_orchestration_state.is_empty());
    app.shutdown().await;
}

#[tokio::test]
async fn route_parameters_query_headers_and_body_reach_the_function() {
    let dir = tempfile::tempdir().unwrap();
    let (app, addr) = serving(dir.path(), false).await;
    let http = reqwest::Client::new();

    let response = http
        .put(format!("http://{addr}/api/ITEMS/42/blue?q=a%20b"))
        .header("x-test", "t")
        .json(&json!({"n": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-echo"], "yes");
    assert_eq!(
        body(response).await,
        json!({"id": 42, "tag": "blue", "q": "a b", "header": "t", "method": "PUT", "body": {"n": 1}})
    );

    let untagged = http.get(format!("http://{addr}/api/items/7")).send().await.unwrap();
    assert_eq!(body(untagged).await["tag"], Value::Null);

    let not_a_number = http.get(format!("http://{addr}/api/items/seven")).send().await.unwrap();
    assert_eq!(not_a_number.status(), 400);
    assert!(body(not_a_number).await["ExceptionMessage"].as_str().unwrap().contains("`id`"));
    app.shutdown().await;
}

#[tokio::test]
async fn panics_and_errors_are_500s_and_the_host_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let (app, addr) = serving(dir.path(), false).await;
    let http = reqwest::Client::new();

    let panicked = http.get(format!("http://{addr}/api/explodes")).send().await.unwrap();
    assert_eq!(panicked.status(), 500);
    assert!(body(panicked).await["ExceptionMessage"].as_str().unwrap().contains("boom"));
    let failed = http.get(format!("http://{addr}/api/fails")).send().await.unwrap();
    assert_eq!(failed.status(), 500);
    assert_eq!(body(failed).await["ExceptionMessage"], "the database is down");

    let still = http.get(format!("http://{addr}/api/items/1")).send().await.unwrap();
    assert_eq!(still.status(), 200);
    app.shutdown().await;
}

#[tokio::test]
async fn auth_levels_take_their_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (app, addr) = serving(dir.path(), true).await;
    let http = reqwest::Client::new();
    let status = |path: &str, key: Option<&str>| {
        let mut request = http.get(format!("http://{addr}/api/{path}"));
        if let Some(key) = key {
            request = request.header("x-functions-key", key);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };

    assert_eq!(status("items/1", None).await, 200, "anonymous");
    assert_eq!(status("guarded", None).await, 401);
    assert_eq!(status("guarded", Some("wrong")).await, 401);
    assert_eq!(status("guarded", Some("function-key")).await, 200);
    assert_eq!(status("guarded", Some("master-key")).await, 200);
    assert_eq!(status("guarded?code=function-key", None).await, 200);
    assert_eq!(status("admin-only", Some("function-key")).await, 401);
    assert_eq!(status("admin-only", Some("master-key")).await, 200);

    let unauthorized = http.get(format!("http://{addr}/api/guarded")).send().await.unwrap();
    assert!(
        body(unauthorized).await["ExceptionMessage"].as_str().unwrap().contains("x-functions-key")
    );
    app.shutdown().await;
}

/// The sample app as a user runs it: `durable-samples serve`, then plain HTTP requests.
#[tokio::test]
async fn the_sample_app_serves_http_start_to_curl_style_requests() {
    use tokio::io::AsyncBufReadExt;

    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_durable-samples"))
        .arg("serve")
        .env("DURABLE_LISTEN", "127.0.0.1:0")
        .env("DURABLE_DB", dir.path().join("durable.db"))
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .current_dir(dir.path())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let origin = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some((_, origin)) = line.split_once("listening on ") {
                return origin.trim().to_owned();
            }
        }
        panic!("the app exited without listening")
    })
    .await
    .expect("the app listens within 30 s");
    // Keep draining the log so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    let http = reqwest::Client::new();
    let done = http
        .post(format!("{origin}/api/orchestrators/E1_HelloSequence/wait?timeout=20"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("\"ignored input\"")
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    assert_eq!(body(done).await, json!(["Hello Tokyo!", "Hello Seattle!", "Hello London!"]));
    child.kill().await.unwrap();
}
