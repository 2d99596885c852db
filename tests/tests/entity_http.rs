//! The entity routes of the management API over real HTTP, as Azure's `HttpApiHandler`
//! serves them: read a state, list entities, signal an operation, delete; and the refusals,
//! each a JSON 400 (or 401, 404) that changes nothing.

use std::time::Duration;

use durable::app::HostConfig;
use durable::http::Secret;
use durable::prelude::*;
use durable::{EntityId, RunningApp};
use durable_tests::{start_app_with, wait_for};
use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;

// The samples' registrations, the Counter among them.
use durable_examples as _;

const TIMEOUT: Duration = Duration::from_secs(30);

/// Where the management API is served.
const WEBHOOK: &str = "/runtime/webhooks/durabletask";

/// A response, read whole.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Reply {
    #[track_caller]
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts this status and a JSON body in Azure's error shape; returns its body.
    #[track_caller]
    fn error(&self, status: StatusCode) -> Value {
        assert_eq!(self.status, status, "{self:?}");
        let body = self.json();
        assert!(body["Message"].is_string(), "no Message: {self:?}");
        assert!(body["ExceptionMessage"].is_string(), "no ExceptionMessage: {self:?}");
        body
    }
}

async fn send(request: RequestBuilder) -> Reply {
    let response = request.send().await.unwrap();
    Reply {
        status: response.status(),
        headers: response.headers().clone(),
        text: response.text().await.unwrap(),
    }
}

/// An app serving HTTP on a free loopback port.
struct Host {
    app: RunningApp,
    client: DurableOrchestrationClient,
    http: reqwest::Client,
    origin: String,
    _dir: TempDir,
}

impl Host {
    async fn start(adjust: impl FnOnce(&mut HostConfig)) -> Host {
        let dir = tempfile::tempdir().unwrap();
        let keys_file = dir.path().join("keys.json");
        let app = start_app_with(dir.path(), |config| {
            config.http.listen = Some("127.0.0.1:0".parse().unwrap());
            config.http.keys.file = keys_file;
            adjust(config);
        })
        .await;
        Host {
            client: app.client(),
            origin: format!("http://{}", app.http_addr().unwrap()),
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            app,
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{WEBHOOK}{path}", self.origin)
    }

    async fn get(&self, path: &str) -> Reply {
        send(self.http.get(self.url(path))).await
    }

    /// POSTs `body` with `content_type` (none when `None`).
    async fn post(&self, path: &str, content_type: Option<&str>, body: &str) -> Reply {
        let mut request = self.http.post(self.url(path)).body(body.to_owned());
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        send(request).await
    }

    async fn delete(&self, path: &str) -> Reply {
        send(self.http.delete(self.url(path))).await
    }

    /// Waits until `GET /entities/{path}` answers 200 with `want`.
    async fn wait_for_state(&self, path: &str, want: Value) {
        wait_for(&format!("{path} to be {want}"), TIMEOUT, || async {
            let reply = self.get(&format!("/entities/{path}")).await;
            (reply.status == StatusCode::OK && reply.json() == want).then_some(())
        })
        .await;
    }

    /// Waits until `GET /entities/{path}` answers 404.
    async fn wait_for_absence(&self, path: &str) {
        wait_for(&format!("{path} to be gone"), TIMEOUT, || async {
            (self.get(&format!("/entities/{path}")).await.status == StatusCode::NOT_FOUND)
                .then_some(())
        })
        .await;
    }

    /// The ids of the entities the store holds, deleted ones too.
    async fn stored_entities(&self) -> Vec<String> {
        let all = durable::EntityQuery { include_deleted: true, ..Default::default() };
        let page = self.client.list_entities(&all).await.unwrap();
        page.entities.iter().map(|e| e.entity_id.to_string()).collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_reach_the_counter_and_states_read_back() {
    let host = Host::start(|_| {}).await;

    // Not there yet: 404 with a JSON body.
    host.get("/entities/Counter/h1").await.error(StatusCode::NOT_FOUND);

    // JSON input.
    let reply = host.post("/entities/Counter/h1?op=add", Some("application/json"), "5").await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{reply:?}");
    assert_eq!(reply.text, "");
    host.wait_for_state("Counter/h1", json!(5)).await;
    // Text input arrives as a JSON string; the Counter still reads it as a number (as
    // Json.NET converts it), and so it does a JSON string holding a number (as Azure's
    // Python client sends it).
    let reply = host.post("/entities/counter/h1?op=add", Some("text/plain"), "3").await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{reply:?}");
    host.wait_for_state("counter/h1", json!(8)).await;
    let reply = host.post("/entities/COUNTER/h1?op=add", Some("application/json"), "\"2\"").await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{reply:?}");
    host.wait_for_state("Counter/h1", json!(10)).await;
    // No body, no input: `reset` takes none.
    let reply = host.post("/entities/Counter/h1?op=reset", None, "").await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{reply:?}");
    host.wait_for_state("Counter/h1", json!(0)).await;
    let reply = host
        .post("/entities/Counter/h1?op=add", Some("application/json; charset=utf-8"), "4")
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{reply:?}");
    host.wait_for_state("Counter/h1", json!(4)).await;
    // The body of a 200 is the raw state as JSON.
    let reply = host.get("/entities/Counter/h1").await;
    assert_eq!(reply.header("content-type"), Some("application/json; charset=utf-8"));
    assert_eq!(reply.text, "4");

    // `$` is the empty key.
    let empty = EntityId::new("Counter", "").unwrap();
    host.client.signal_entity(&empty, "add", 7).await.unwrap();
    host.wait_for_state("Counter/$", json!(7)).await;

    // DELETE signals `delete`: the state goes, 404 after.
    let reply = host.delete("/entities/Counter/h1").await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{reply:?}");
    host.wait_for_absence("Counter/h1").await;

    // Entities are not orchestration instances.
    let instances = host.get("/instances").await;
    assert_eq!(instances.status, StatusCode::OK);
    assert_eq!(instances.json(), json!([]));
    host.get("/instances/@counter@h1").await.error(StatusCode::BAD_REQUEST);
    host.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entities_are_listed_with_azure_shape_and_paging() {
    let host = Host::start(|_| {}).await;
    for (key, amount) in [("a", 1), ("b", 2)] {
        let path = format!("/entities/Counter/{key}?op=add");
        let reply = host.post(&path, Some("application/json"), &amount.to_string()).await;
        assert_eq!(reply.status, StatusCode::ACCEPTED);
        host.wait_for_state(&format!("Counter/{key}"), json!(amount)).await;
    }

    // Every entity, without states by default.
    let reply = host.get("/entities").await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.header("x-ms-continuation-token"), Some(""));
    let listed = reply.json();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["entityId"], json!({ "name": "counter", "key": "a" }));
    assert_eq!(listed[1]["entityId"], json!({ "name": "counter", "key": "b" }));
    assert!(listed[0]["lastOperationTime"].as_str().unwrap().ends_with('Z'), "{listed:?}");
    assert!(listed[0].get("state").is_none(), "{listed:?}");
    assert_eq!(host.get("/entities/").await.json(), reply.json());

    // By name, with states, one per page: the token travels in the header.
    let first = host.get("/entities/Counter?fetchState=true&top=1").await;
    assert_eq!(first.status, StatusCode::OK, "{first:?}");
    assert_eq!(first.json()[0]["state"], json!(1));
    let token = first.header("x-ms-continuation-token").unwrap().to_owned();
    assert!(!token.is_empty());
    let second = send(
        host.http
            .get(host.url("/entities/counter?fetchState=true&top=1"))
            .header("x-ms-continuation-token", &token),
    )
    .await;
    assert_eq!(second.json()[0]["entityId"]["key"], "b");
    assert_eq!(second.json()[0]["state"], json!(2));
    assert_eq!(second.header("x-ms-continuation-token"), Some(""));

    // Another name; the last operation time.
    assert_eq!(host.get("/entities/Relay").await.json(), json!([]));
    let b_time = listed[1]["lastOperationTime"].as_str().unwrap().to_owned();
    let since = host.get(&format!("/entities?lastOperationTimeFrom={b_time}")).await;
    let keys: Vec<Value> =
        since.json().as_array().unwrap().iter().map(|e| e["entityId"]["key"].clone()).collect();
    assert_eq!(keys, [json!("b")]);
    let until = host.get("/entities?lastOperationTimeTo=2000-01-01T00:00:00Z").await;
    assert_eq!(until.json(), json!([]));

    // Malformed parameters: 400, JSON.
    for query in [
        "fetchState=maybe",
        "top=0",
        "top=many",
        "lastOperationTimeFrom=yesterday",
        "lastOperationTimeTo=soon",
    ] {
        host.get(&format!("/entities?{query}")).await.error(StatusCode::BAD_REQUEST);
    }
    let bad_token =
        send(host.http.get(host.url("/entities")).header("x-ms-continuation-token", "not-a-token"))
            .await;
    bad_token.error(StatusCode::BAD_REQUEST);
    host.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_signals_are_json_400s_that_change_nothing() {
    let host = Host::start(|_| {}).await;

    // An entity name no entity function answers to: Azure's words, whole, as the Message.
    let reply = host.post("/entities/Nope/k?op=add", Some("application/json"), "1").await;
    let body = reply.error(StatusCode::BAD_REQUEST);
    let message = body["Message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "The function 'Nope' doesn't exist, is disabled, or is not an entity function. \
             Additional info: The following are the known entity functions: '"
        ),
        "{message}"
    );
    assert!(message.contains("'Counter'"), "{message}");
    assert_eq!(body["ExceptionMessage"], body["Message"]);
    host.delete("/entities/Nope/k").await.error(StatusCode::BAD_REQUEST);

    // No operation, malformed JSON, a name with `@`, a path that does not decode.
    let no_op = host.post("/entities/Counter/k", Some("application/json"), "1").await;
    let detail = no_op.error(StatusCode::BAD_REQUEST)["ExceptionMessage"].clone();
    assert!(detail.as_str().unwrap().contains("`op`"), "{detail}");
    let bad_json =
        host.post("/entities/Counter/k?op=add", Some("application/json"), "{not json").await;
    let detail = bad_json.error(StatusCode::BAD_REQUEST)["ExceptionMessage"].clone();
    assert!(detail.as_str().unwrap().starts_with("Could not parse JSON content"), "{detail}");
    host.post("/entities/a%40b/k?op=add", None, "").await.error(StatusCode::BAD_REQUEST);
    host.get("/entities/a%40b/k").await.error(StatusCode::BAD_REQUEST);
    host.post("/entities/Counter/%FF?op=add", None, "").await.error(StatusCode::BAD_REQUEST);
    host.post("/entities/Counter/k?op=add&taskHub=Other", None, "")
        .await
        .error(StatusCode::BAD_REQUEST);

    // None of them wrote anything.
    assert!(host.stored_entities().await.is_empty());
    host.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entity_routes_need_the_management_key() {
    const SYSTEM: &str = "entity-http-system-key";
    let host = Host::start(|config| {
        config.http.keys.system = Some(Secret::new(SYSTEM));
        config.http.keys.master = Some(Secret::new("entity-http-master-key"));
    })
    .await;
    let signal = "/entities/Counter/k?op=add";
    let refused = [
        host.get("/entities").await,
        host.get("/entities/Counter").await,
        host.get("/entities/Counter/k").await,
        host.post(signal, Some("application/json"), "1").await,
        host.delete("/entities/Counter/k").await,
    ];
    for reply in refused {
        reply.error(StatusCode::UNAUTHORIZED);
    }
    assert!(host.stored_entities().await.is_empty());

    let with_key = send(
        host.http
            .post(host.url(signal))
            .header("x-functions-key", SYSTEM)
            .header("Content-Type", "application/json")
            .body("6"),
    )
    .await;
    assert_eq!(with_key.status, StatusCode::ACCEPTED, "{with_key:?}");
    wait_for("the keyed signal", TIMEOUT, || async {
        let reply = host.get(&format!("/entities/Counter/k?code={SYSTEM}")).await;
        (reply.status == StatusCode::OK && reply.json() == json!(6)).then_some(())
    })
    .await;
    host.app.shutdown().await;
}
