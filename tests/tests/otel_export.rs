//! OTLP export (feature `otel`; run with `cargo test -p durable-tests --features otel --test
//! otel_export`): the sample app, pointed by `OTEL_EXPORTER_OTLP_ENDPOINT` at a receiver
//! here, exports HelloSequence's spans over OTLP/HTTP JSON: one orchestration span and three
//! activity spans below it, with the ids its history records.
#![cfg(feature = "otel")]

use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Accepts OTLP/HTTP posts and keeps their JSON bodies.
async fn receive(listener: TcpListener, bodies: Arc<Mutex<Vec<Value>>>) {
    loop {
        let Ok((mut socket, _)) = listener.accept().await else { return };
        let bodies = bodies.clone();
        tokio::spawn(async move {
            let mut request = Vec::new();
            let mut buf = [0u8; 8192];
            loop {
                let Ok(n) = socket.read(&mut buf).await else { return };
                if n == 0 {
                    return;
                }
                request.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&request).into_owned();
                let Some(end) = text.find("\r\n\r\n") else { continue };
                let length = text[..end]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                    })
                    .unwrap_or(0);
                if request.len() < end + 4 + length {
                    continue;
                }
                if let Ok(body) = serde_json::from_slice(&request[end + 4..end + 4 + length]) {
                    bodies.lock().unwrap().push(body);
                }
                let reply = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}";
                let _ = socket.write_all(reply.as_bytes()).await;
                return;
            }
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_sequence_spans_are_exported_over_otlp() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let bodies = Arc::new(Mutex::new(Vec::new()));
    tokio::spawn(receive(listener, bodies.clone()));
    let dir = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_durable-samples"))
        .args(["start", "E1_HelloSequence", "--id", "otel-1"])
        .current_dir(dir.path())
        .env("DURABLE_DB", dir.path().join("durable.db"))
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        .env("OTEL_SERVICE_NAME", "durable-samples")
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

    let spans: Vec<Value> = bodies
        .lock()
        .unwrap()
        .iter()
        .flat_map(|body| body["resourceSpans"].as_array().cloned().unwrap_or_default())
        .flat_map(|resource| resource["scopeSpans"].as_array().cloned().unwrap_or_default())
        .flat_map(|scope| scope["spans"].as_array().cloned().unwrap_or_default())
        .collect();
    let named =
        |name: &str| spans.iter().filter(|s| s["name"] == name).cloned().collect::<Vec<_>>();
    let orchestrations = named("orchestration:E1_HelloSequence");
    assert_eq!(orchestrations.len(), 1, "{spans:#?}");
    let orchestration = &orchestrations[0];
    let activities = named("activity:E1_SayHello");
    assert_eq!(activities.len(), 3, "{spans:#?}");
    for activity in &activities {
        assert_eq!(activity["traceId"], orchestration["traceId"]);
        assert_eq!(activity["parentSpanId"], orchestration["spanId"]);
    }
    let text = serde_json::to_string(&bodies.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("durable-samples") && text.contains("otel-1"),
        "service name and instance id"
    );
}
