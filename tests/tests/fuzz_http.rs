//! Random requests against the HTTP host over raw TCP: methods, management and `/api` paths
//! with odd segments and percent-encodings, query strings, continuation tokens, content types
//! and bodies (JSON, invalid UTF-8, huge numbers, deep nesting). Every request gets a whole
//! response with a status below 500, every 4xx has a JSON body in Azure's error shape, and
//! the host still answers afterwards.
//!
//! It runs `PROPTEST_CASES` requests (proptest's 256 when unset); for a longer run:
//! `PROPTEST_CASES=10000 cargo test -p durable-tests --test fuzz_http -- --nocapture`.

use std::time::{Duration, Instant};

use durable::prelude::*;
use durable_tests::start_app_with;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

#[orchestration_trigger(name = "FuzzHttp_Echo")]
async fn echo(
    _context: DurableOrchestrationContext,
    input: Value,
) -> Result<Value, FunctionFailed> {
    Ok(input)
}

/// Runs until it receives a "Go" event.
#[orchestration_trigger(name = "FuzzHttp_WaitGo")]
async fn wait_go(
    context: DurableOrchestrationContext,
    _input: Value,
) -> Result<Value, FunctionFailed> {
    context.wait_for_external_event::<Value>("Go").await
}

#[entity_trigger(name = "FuzzHttp_Counter")]
async fn counter(ctx: DurableEntityContext) -> Result<(), EntityError> {
    if ctx.operation_name() == "add" {
        ctx.set_state(ctx.get_state::<i64>()?.saturating_add(ctx.get_input::<i64>()?))?;
    }
    Ok(())
}

#[http_trigger(name = "FuzzHttp_Item", methods = ["GET", "POST"], route = "fuzz/{id}/{tag?}", auth_level = "anonymous")]
async fn item(req: &HttpRequest, id: u32, tag: Option<String>) -> HttpResponse {
    let body: Value = req.json().unwrap_or(Value::Null);
    HttpResponse::json(StatusCode::OK, &json!({ "id": id, "tag": tag, "body": body }))
}

/// Words the routes, queries and functions use (not `FuzzHttp_WaitGo`: a start of it with a
/// long `timeout` would wait that long).
const WORDS: &[&str] = &[
    "instances",
    "orchestrators",
    "entities",
    "raiseEvent",
    "terminate",
    "suspend",
    "resume",
    "rewind",
    "restart",
    "FuzzHttp_Echo",
    "FuzzHttp_Counter",
    "fuzzhttp_counter",
    "waiting",
    "echoed",
    "Go",
    "$",
    "..",
    ".",
    "@",
    "@fuzzhttp_counter@k",
    "%",
    "%2F",
    "%00",
    "%0A",
    "%ZZ",
    "%C3%A9",
    "%FF%FE",
    "%40",
    "%2e%2e",
    "fuzz",
    "api",
    "",
];

/// A path segment, percent-encoded where a URL requires it.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(WORDS).prop_map(str::to_owned),
        2 => any::<String>().prop_map(|s| encode(&s)),
        1 => "[a-zA-Z0-9._~@$%-]{0,12}",
        1 => (1usize..400).prop_map(|n| "x".repeat(n)),
    ]
}

/// Percent-encodes everything but unreserved characters.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An instance id: one of the instances started, or any segment.
fn instance_id() -> impl Strategy<Value = String> {
    prop_oneof![prop::sample::select(vec!["waiting", "echoed"]).prop_map(str::to_owned), segment(),]
}

/// A function to start: the echo (which finishes at once, so that a start with `timeout`
/// does not wait), or any segment.
fn function_name() -> impl Strategy<Value = String> {
    prop_oneof![Just("FuzzHttp_Echo".to_owned()), segment()]
}

/// A path: usually one of the routes with odd parameters, else random segments below the
/// management API, `/api` or the root.
fn path() -> impl Strategy<Value = String> {
    const WEBHOOK: &str = "/runtime/webhooks/durabletask";
    let operation = prop::sample::select(vec![
        "terminate",
        "suspend",
        "resume",
        "rewind",
        "restart",
        "raiseEvent",
        "purge",
    ]);
    let route = prop_oneof![
        Just(format!("{WEBHOOK}/instances")),
        instance_id().prop_map(|id| format!("{WEBHOOK}/instances/{id}")),
        (instance_id(), segment())
            .prop_map(|(id, name)| format!("{WEBHOOK}/instances/{id}/raiseEvent/{name}")),
        (instance_id(), operation).prop_map(|(id, op)| format!("{WEBHOOK}/instances/{id}/{op}")),
        (function_name(), prop::option::of(instance_id())).prop_map(|(name, id)| match id {
            Some(id) => format!("{WEBHOOK}/orchestrators/{name}/{id}"),
            None => format!("{WEBHOOK}/orchestrators/{name}"),
        }),
        (segment(), segment()).prop_map(|(name, key)| format!("{WEBHOOK}/entities/{name}/{key}")),
        prop::option::of(segment()).prop_map(|name| match name {
            Some(name) => format!("{WEBHOOK}/entities/{name}"),
            None => format!("{WEBHOOK}/entities"),
        }),
        (segment(), prop::option::of(segment())).prop_map(|(id, tag)| match tag {
            Some(tag) => format!("/api/fuzz/{id}/{tag}"),
            None => format!("/api/fuzz/{id}"),
        }),
    ];
    let prefix = prop_oneof![Just("/runtime/webhooks/durabletask/"), Just("/api/"), Just("/")];
    let random = (prefix, prop::collection::vec(segment(), 0..6))
        .prop_map(|(prefix, segments)| format!("{prefix}{}", segments.join("/")));
    (prop_oneof![4 => route, 1 => random], any::<bool>()).prop_map(|(mut path, slash)| {
        if slash {
            path.push('/');
        }
        path
    })
}

/// A query string of parameters the routes read, and others, with odd values.
fn query() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        4 => prop::sample::select(vec![
            "top", "runtimeStatus", "createdTimeFrom", "createdTimeTo", "showHistory",
            "showHistoryOutput", "showInput", "recursive", "fetchState", "op", "timeout",
            "reason", "instanceIdPrefix", "taskHub", "connection", "code", "version",
            "continuationToken", "pageSize", "pollingInterval",
            "returnInternalServerErrorOnFailure",
        ])
        .prop_map(str::to_owned),
        1 => "[a-zA-Z%=&]{0,6}",
    ];
    let value = prop_oneof![
        prop::sample::select(vec![
            "true",
            "FALSE",
            "1",
            "0",
            "-1",
            "18446744073709551616",
            "1e308",
            "1e9",
            "NaN",
            "inf",
            "0.001",
            "Running,Completed",
            "running",
            ",",
            "Pending,,Nope",
            "add",
            "TestHubName",
            "2026-01-31T12:00:00Z",
            "2026-01-31",
            "+262143-01-01T00:00:00Z",
            "%",
            "%FF",
            "a%00b",
            "",
            "v1.5b5d",
            "v1.",
        ])
        .prop_map(str::to_owned),
        any::<String>().prop_map(|s| encode(&s)),
    ];
    prop::collection::vec((name, value, any::<bool>()), 0..5).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(n, v, with_value)| if with_value { format!("{n}={v}") } else { n })
            .collect::<Vec<_>>()
            .join("&")
    })
}

/// A JSON value, possibly large or nested.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-z]{0,4}", inner), 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// A request body: none, JSON, bytes, huge numbers, deep nesting, broken JSON.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => Just(Vec::new()),
        4 => json_value().prop_map(|v| v.to_string().into_bytes()),
        1 => any::<Vec<u8>>(),
        1 => (1usize..2000).prop_map(|n| format!("1{}", "0".repeat(n)).into_bytes()),
        1 => Just(b"1e999999".to_vec()),
        1 => (1usize..5000).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes()),
        1 => (1usize..5000).prop_map(|n| "{\"a\":".repeat(n).into_bytes()),
        1 => Just(b"{\"op\":".to_vec()),
        1 => Just(b"\"\xff\xfe\"".to_vec()),
    ]
}

/// One request.
#[derive(Debug, Clone)]
struct Fuzzed {
    method: String,
    target: String,
    content_type: Option<String>,
    continuation: Option<String>,
    body: Vec<u8>,
}

fn request() -> impl Strategy<Value = Fuzzed> {
    let method = prop_oneof![
        4 => prop::sample::select(vec!["GET", "POST", "DELETE"]).prop_map(str::to_owned),
        1 => prop::sample::select(vec!["PUT", "PATCH", "HEAD", "OPTIONS", "TRACE", "FUZZ"])
            .prop_map(str::to_owned),
    ];
    let content_type = prop::option::of(prop_oneof![
        Just("application/json".to_owned()),
        Just("application/json; charset=utf-8".to_owned()),
        Just("text/plain".to_owned()),
        Just("application/x-www-form-urlencoded".to_owned()),
        "[a-z/;= -]{0,20}",
    ]);
    let continuation =
        prop::option::of(prop_oneof![Just("v1.".to_owned()), "v1\\.[0-9a-f]{0,40}", "[!-~]{0,20}"]);
    (method, path(), query(), content_type, continuation, body()).prop_map(
        |(method, path, query, content_type, continuation, body)| Fuzzed {
            method,
            target: if query.is_empty() { path } else { format!("{path}?{query}") },
            content_type,
            continuation,
            body,
        },
    )
}

/// A response, read whole.
#[derive(Debug)]
struct Reply {
    status: u16,
    body: Vec<u8>,
}

/// Sends `request` on a fresh connection and reads the whole response.
async fn send(addr: std::net::SocketAddr, request: &Fuzzed) -> Result<Reply, String> {
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        request.method,
        request.target,
        request.body.len()
    );
    if let Some(content_type) = &request.content_type {
        head.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    if let Some(token) = &request.continuation {
        head.push_str(&format!("x-ms-continuation-token: {token}\r\n"));
    }
    head.push_str("\r\n");
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&request.body).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    };
    let response = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .map_err(|_| "no response in time".to_owned())?
        .map_err(|e| format!("the connection failed: {e}"))?;
    parse(&response, request.method == "HEAD")
}

/// Parses an HTTP/1.1 response: its status and its body (by `Content-Length`, chunked, or to
/// the end).
fn parse(response: &[u8], head_only: bool) -> Result<Reply, String> {
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no complete head in {:?}", String::from_utf8_lossy(response)))?;
    let head = std::str::from_utf8(&response[..split]).map_err(|e| e.to_string())?;
    let rest = &response[split + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let header = |name: &str| {
        head.split("\r\n").skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    };
    let body = if head_only {
        Vec::new()
    } else if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        dechunk(rest)?
    } else if let Some(length) = header("content-length") {
        let length: usize = length.parse().map_err(|_| format!("bad length {length}"))?;
        rest.get(..length).ok_or("a truncated body")?.to_vec()
    } else {
        rest.to_vec()
    };
    Ok(Reply { status, body })
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let end = data.windows(2).position(|w| w == b"\r\n").ok_or("a truncated chunk")?;
        let size = std::str::from_utf8(&data[..end]).map_err(|e| e.to_string())?;
        let size = usize::from_str_radix(size.split(';').next().unwrap_or_default().trim(), 16)
            .map_err(|e| format!("bad chunk size {size:?}: {e}"))?;
        data = &data[end + 2..];
        if size == 0 {
            return Ok(body);
        }
        body.extend_from_slice(data.get(..size).ok_or("a truncated chunk")?);
        data = data.get(size + 2..).ok_or("a truncated chunk")?;
    }
}

/// The properties of one response. (A status request answers 500 for a failed instance with
/// `returnInternalServerErrorOnFailure=true`, as in Azure; no instance here fails.)
fn check(request: &Fuzzed, reply: &Reply) -> Result<(), TestCaseError> {
    let shown = String::from_utf8_lossy(&reply.body);
    prop_assert!(reply.status < 500, "{request:?} got {}: {shown}", reply.status);
    if (400..500).contains(&reply.status) && request.method != "HEAD" {
        let error: Value = serde_json::from_slice(&reply.body).map_err(|e| {
            TestCaseError::fail(format!(
                "{request:?} got {} without JSON ({e}): {shown}",
                reply.status
            ))
        })?;
        prop_assert!(error["Message"].is_string(), "{request:?} got {}: {shown}", reply.status);
    }
    Ok(())
}

#[test]
fn random_requests_get_whole_answers_below_500_and_json_errors() {
    let rt = durable_tests::runtime();
    let dir = tempfile::tempdir().unwrap();
    let keys_file = dir.path().join("keys.json");
    let app = rt.block_on(start_app_with(dir.path(), |config| {
        config.http.listen = Some("127.0.0.1:0".parse().unwrap());
        config.http.keys.file = keys_file;
    }));
    let addr = app.http_addr().unwrap();
    let client = app.client();
    rt.block_on(async {
        client.start_new("FuzzHttp_WaitGo", Some("waiting"), json!(null)).await.unwrap();
        client.start_new("FuzzHttp_Echo", Some("echoed"), json!({ "a": [1] })).await.unwrap();
    });

    let started = Instant::now();
    // How many responses had each status.
    let statuses = std::cell::RefCell::new(std::collections::BTreeMap::<u16, u64>::new());
    let config = Config { failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&request(), |request| {
        let reply = rt
            .block_on(send(addr, &request))
            .map_err(|e| TestCaseError::fail(format!("{request:?}: {e}")))?;
        *statuses.borrow_mut().entry(reply.status).or_default() += 1;
        check(&request, &reply)
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
    let statuses = statuses.into_inner();
    let cases: u64 = statuses.values().sum();
    eprintln!("{cases} requests in {:.1?}, none failed; statuses {statuses:?}", started.elapsed());

    // Still serving.
    let health = Fuzzed {
        method: "GET".to_owned(),
        target: "/runtime/webhooks/durabletask/instances".to_owned(),
        content_type: None,
        continuation: None,
        body: Vec::new(),
    };
    let reply = rt.block_on(send(addr, &health)).unwrap();
    assert_eq!(reply.status, 200, "{:?}", String::from_utf8_lossy(&reply.body));
    rt.block_on(app.shutdown());
}
