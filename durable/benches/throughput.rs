//! Throughput and latency of the store with full durability: the embedded SQLite store
//! (`synchronous=FULL`: every acknowledged commit is on disk), or a PostgreSQL hub
//! (`synchronous_commit = on`, the server's default) served by one or more processes.
//!
//! Run with: `cargo bench -p durable --bench throughput`, or
//! `cargo bench -p durable --bench throughput -- --db postgres://postgres@127.0.0.1/test`
//! (or `DURABLE_BENCH_DB=…`); `DURABLE_BENCH_PROCESSES=3` serves the hub from three
//! processes (this one and two copies of it), each starting and awaiting a third of W1.
//!
//! - W1: 1,000 orchestrations × 3 sequential activities, started together.
//! - W2: one orchestration fanning out to 1,000 activities and summing.
//! - W3: 200 one-activity orchestrations in sequence: start→completion latency.
//! - W4: 100 entities × 100 signals each from clients, until every entity has run all of its
//!   operations: operations/s.
//! - W5: one orchestration calling an entity 500 times in sequence: the round trip of each
//!   `call_entity` (sent, run by the entity, answered, seen by the orchestration).
//! - W6 (only when selected: `DURABLE_BENCH_ONLY=w6`): many instances started and left waiting
//!   for an external event (100,000, or `DURABLE_BENCH_W6_INSTANCES`), then the event raised to
//!   1,000 of them: the start rate, the memory the waiting instances hold (the live-instance
//!   cache is bounded by `maxCachedOrchestrations`), and that the evicted ones replay correctly.
//!
//! `DURABLE_BENCH_ONLY=w1,w3` runs a subset (for profiling one workload);
//! `DURABLE_BENCH_SYNC=normal` measures without an fsync per commit, for comparison.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

use durable::app::{HostConfig, StorageConfig};
use durable::prelude::*;
use durable::{FunctionApp, RunningApp};

#[activity_trigger(name = "Bench_Echo")]
async fn echo(value: u64) -> u64 {
    value
}

#[orchestration_trigger(name = "Bench_Sequence")]
async fn sequence(context: DurableOrchestrationContext, value: u64) -> Result<u64, FunctionFailed> {
    let a = context.call(Echo, value).await?;
    let b = context.call(Echo, a + 1).await?;
    context.call(Echo, b + 1).await
}

#[orchestration_trigger(name = "Bench_FanOut")]
async fn fan_out(context: DurableOrchestrationContext, count: u64) -> Result<u64, FunctionFailed> {
    let tasks: Vec<_> = (0..count).map(|i| context.call(Echo, i)).collect();
    Ok(when_all(tasks).await?.iter().sum())
}

#[orchestration_trigger(name = "Bench_Single")]
async fn single(context: DurableOrchestrationContext) -> Result<u64, FunctionFailed> {
    context.call(Echo, 1u64).await
}

/// Adds its input to its state (a number).
#[entity_trigger(name = "Bench_Counter")]
async fn bench_counter(ctx: DurableEntityContext) -> Result<(), EntityError> {
    let count: u64 = ctx.get_state()?;
    ctx.set_state(count + ctx.get_input::<u64>().unwrap_or(0))?;
    ctx.return_value(count)
}

/// When each of W5's calls came back, as the orchestration saw it (outside replay).
static W5_RETURNS: Mutex<Vec<Instant>> = Mutex::new(Vec::new());

#[orchestration_trigger(name = "Bench_CallEntity")]
async fn call_entity_loop(
    context: DurableOrchestrationContext,
    calls: u64,
) -> Result<u64, FunctionFailed> {
    let id = EntityId::new("Bench_Counter", "w5")?;
    let mut last = 0;
    for _ in 0..calls {
        last = context.call_entity(&id, "add", 1).await?;
        if !context.is_replaying() {
            W5_RETURNS.lock().unwrap_or_else(PoisonError::into_inner).push(Instant::now());
        }
    }
    Ok(last + 1)
}

#[orchestration_trigger(name = "Bench_WaitsForGo")]
async fn waits_for_go(
    context: DurableOrchestrationContext,
    base: u64,
) -> Result<u64, FunctionFailed> {
    let added: u64 = context.wait_for_external_event("go").await?;
    Ok(base + added)
}

const TIMEOUT: Duration = Duration::from_secs(300);

type BenchResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// W1's orchestrations: `0..N` split over the processes, each starting and awaiting its own
/// share (the `share`th of `of`).
const W1_N: u64 = 1_000;

async fn w1_share(app: &RunningApp, share: u64, of: u64) -> BenchResult<u64> {
    let mut runs = tokio::task::JoinSet::new();
    for i in (0..W1_N).filter(|i| i % of == share) {
        let client = app.client();
        runs.spawn(async move {
            let id = client.start(Sequence, None, i).await?;
            let status = client.wait_for_completion(&id, TIMEOUT).await?;
            Ok::<_, DurableError>(status.output == serde_json::json!(i + 2))
        });
    }
    let mut correct = 0;
    while let Some(run) = runs.join_next().await {
        correct += u64::from(run??);
    }
    Ok(correct)
}

async fn w1(app: &RunningApp, helpers: &mut Helpers) -> BenchResult {
    let of = helpers.children.len() as u64 + 1;
    let started = Instant::now();
    for helper in &mut helpers.children {
        helper.send("go").await?;
    }
    let mut correct = w1_share(app, 0, of).await?;
    for helper in &mut helpers.children {
        correct += helper.receive().await?.parse::<u64>()?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(correct, W1_N, "every W1 output is right");
    println!(
        "W1  {W1_N} orchestrations x 3 sequential activities: {elapsed:.3} s  {:.0} orchestrations/s  {:.0} activities/s",
        W1_N as f64 / elapsed,
        3.0 * W1_N as f64 / elapsed
    );
    Ok(())
}

async fn w2(app: &RunningApp) -> BenchResult {
    const N: u64 = 1_000;
    let client = app.client();
    let started = Instant::now();
    let id = client.start(FanOut, None, N).await?;
    let status = client.wait_for_completion(&id, TIMEOUT).await?;
    let elapsed = started.elapsed();
    assert_eq!(status.output, serde_json::json!(N * (N - 1) / 2));
    println!(
        "W2  1 orchestration fanning out to {N} activities: {:.1} ms wall time",
        elapsed.as_secs_f64() * 1e3
    );
    Ok(())
}

async fn w3(app: &RunningApp) -> BenchResult {
    const N: usize = 200;
    let client = app.client();
    let mut latencies = Vec::with_capacity(N);
    for _ in 0..N {
        let started = Instant::now();
        let id = client.start(Single, None, serde_json::Value::Null).await?;
        client.wait_for_completion(&id, TIMEOUT).await?;
        latencies.push(started.elapsed());
    }
    latencies.sort();
    let pct = |p: f64| latencies[((N as f64 * p).ceil() as usize).min(N) - 1].as_secs_f64() * 1e3;
    println!(
        "W3  {N} sequential one-activity orchestrations: p50 {:.2} ms  p99 {:.2} ms",
        pct(0.50),
        pct(0.99)
    );
    Ok(())
}

async fn w4(app: &RunningApp) -> BenchResult {
    const ENTITIES: u64 = 100;
    const SIGNALS: u64 = 100;
    let started = Instant::now();
    let mut senders = tokio::task::JoinSet::new();
    for e in 0..ENTITIES {
        let client = app.client();
        senders.spawn(async move {
            let id = EntityId::new("Bench_Counter", format!("w4-{e}"))?;
            for _ in 0..SIGNALS {
                client.signal_entity(&id, "add", 1).await?;
            }
            Ok::<_, DurableError>(())
        });
    }
    while let Some(sent) = senders.join_next().await {
        sent??;
    }
    let sent = started.elapsed().as_secs_f64();
    let client = app.client();
    for e in 0..ENTITIES {
        let id = EntityId::new("Bench_Counter", format!("w4-{e}"))?;
        loop {
            let state = client.read_entity_state::<u64>(&id).await?.entity_state;
            if state == Some(SIGNALS) {
                break;
            }
            if started.elapsed() > TIMEOUT {
                return Err(format!("entity {id} stopped at {state:?}").into());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let operations = (ENTITIES * SIGNALS) as f64;
    println!(
        "W4  {ENTITIES} entities x {SIGNALS} signals: {elapsed:.3} s  {:.0} operations/s  (signals stored at {:.0}/s)",
        operations / elapsed,
        operations / sent
    );
    Ok(())
}

async fn w5(app: &RunningApp) -> BenchResult {
    const CALLS: u64 = 500;
    let client = app.client();
    let started = Instant::now();
    let id = client.start_new("Bench_CallEntity", None, CALLS).await?;
    let status = client.wait_for_completion(&id, TIMEOUT).await?;
    assert_eq!(status.output, serde_json::json!(CALLS), "every call was answered in order");
    let returns = W5_RETURNS.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let mut latencies: Vec<Duration> =
        returns.windows(2).map(|pair| pair[1].duration_since(pair[0])).collect();
    latencies.sort();
    let n = latencies.len();
    let pct =
        |p: f64| latencies[((n as f64 * p).ceil() as usize).clamp(1, n) - 1].as_secs_f64() * 1e3;
    println!(
        "W5  {CALLS} sequential call_entity round trips: p50 {:.2} ms  p99 {:.2} ms  ({:.0} ms in all)",
        pct(0.50),
        pct(0.99),
        started.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}

/// W6's instances waiting at once.
const W6_DEFAULT_INSTANCES: u64 = 100_000;
/// W6's instances that then get their event.
const W6_RAISED: u64 = 1_000;
/// Starts in flight at once in W6: enough for the store to batch its commits.
const W6_CONCURRENCY: u64 = 256;

async fn w6(app: &RunningApp) -> BenchResult {
    let n: u64 = match std::env::var("DURABLE_BENCH_W6_INSTANCES") {
        Ok(n) => n.parse()?,
        Err(_) => W6_DEFAULT_INSTANCES,
    };
    let id = |i: u64| format!("w6-{i}");
    let before = app.stats();
    let started = Instant::now();
    let mut starters = tokio::task::JoinSet::new();
    for first in 0..W6_CONCURRENCY.min(n) {
        let client = app.client();
        starters.spawn(async move {
            // Instance ids are derived, so that W6 itself holds no per-instance state.
            for i in (first..n).step_by(W6_CONCURRENCY as usize) {
                client.start(WaitsForGo, Some(&id(i)), i).await?;
            }
            Ok::<_, DurableError>(())
        });
    }
    while let Some(done) = starters.join_next().await {
        done??;
    }
    // A start in this process runs the first turn and commits it with the instance.
    let turns = app.stats().orchestrator_turns - before.orchestrator_turns;
    assert!(turns >= n, "{turns} first turns for {n} instances");
    let elapsed = started.elapsed().as_secs_f64();
    let waiting = app.stats();
    println!(
        "W6  {n} instances started and waiting on an event: {elapsed:.1} s  {:.0} starts/s  RSS {:.1} MiB (peak {:.1} MiB)  {} cached, {} evicted",
        n as f64 / elapsed,
        rss_mib("VmRSS:").unwrap_or(f64::NAN),
        rss_mib("VmHWM:").unwrap_or(f64::NAN),
        waiting.cached_orchestrations,
        waiting.cache_evictions,
    );

    let raised = Instant::now();
    let client = app.client();
    let chosen: Vec<u64> = (0..W6_RAISED.min(n)).map(|k| k * n / W6_RAISED.min(n)).collect();
    for &i in &chosen {
        client.raise_event(&id(i), "go", 1_000_000_000u64).await?;
    }
    for &i in &chosen {
        let status = client.wait_for_completion(&id(i), TIMEOUT).await?;
        assert_eq!(status.output, serde_json::json!(i + 1_000_000_000), "the output of {}", id(i));
    }
    let after = app.stats();
    println!(
        "W6  event raised to {} of them: all completed correctly in {:.2} s  ({} replays)",
        chosen.len(),
        raised.elapsed().as_secs_f64(),
        after.replays - waiting.replays
    );
    Ok(())
}

/// A memory figure of this process from `/proc/self/status` (`VmRSS:` now, `VmHWM:` peak), in
/// MiB.
fn rss_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Where the benchmark runs: `--db postgres://…` (or `DURABLE_BENCH_DB`) for PostgreSQL,
/// else a fresh SQLite file.
fn bench_db() -> Option<String> {
    let mut args = std::env::args().skip_while(|a| a != "--db").skip(1);
    args.next().or_else(|| std::env::var("DURABLE_BENCH_DB").ok())
}

/// The other processes of a PostgreSQL run: copies of this binary serving the same hub,
/// each told over its stdin to run its share of W1 and answering on its stdout.
struct Helpers {
    children: Vec<Helper>,
}

struct Helper {
    /// Killed when dropped.
    _child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    stdout: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
}

impl Helper {
    /// Starts a copy serving `hub` as the `share`th of `of`; returns once it serves.
    async fn spawn(hub: &str, share: u64, of: u64) -> BenchResult<Helper> {
        let mut child = tokio::process::Command::new(std::env::current_exe()?)
            .args(std::env::args().skip(1))
            .env("DURABLE_BENCH_HUB", hub)
            .env("DURABLE_BENCH_SHARE", format!("{share}/{of}"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("a helper without pipes".into());
        };
        let mut helper =
            Helper { _child: child, stdin, stdout: tokio::io::BufReader::new(stdout).lines() };
        helper.receive().await?;
        Ok(helper)
    }

    async fn send(&mut self, line: &str) -> BenchResult {
        self.stdin.write_all(format!("{line}\n").as_bytes()).await?;
        Ok(self.stdin.flush().await?)
    }

    async fn receive(&mut self) -> BenchResult<String> {
        Ok(self.stdout.next_line().await?.ok_or("a helper process ended")?)
    }
}

/// A helper's life: serve the hub, run its share of W1 when told, then serve until killed.
async fn serve_share(app: &RunningApp, share: &str) -> BenchResult {
    let (share, of) = share.split_once('/').ok_or("DURABLE_BENCH_SHARE is share/of")?;
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    println!("ready");
    while let Some(line) = stdin.next_line().await? {
        if line == "go" {
            println!("{}", w1_share(app, share.parse()?, of.parse()?).await?);
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> BenchResult {
    let dir = tempfile::tempdir()?;
    let db = bench_db();
    let mut config = HostConfig {
        storage: match &db {
            Some(url) => StorageConfig::Postgres { url: url.clone() },
            None => StorageConfig::Sqlite { path: dir.path().join("bench.db") },
        },
        full_durability: std::env::var("DURABLE_BENCH_SYNC").as_deref() != Ok("normal"),
        ..HostConfig::default()
    };
    config.http.listen = None;
    if let Ok(hub) = std::env::var("DURABLE_BENCH_HUB") {
        config.hub_name = hub;
        let app = FunctionApp::new(config).start().await?;
        let share = std::env::var("DURABLE_BENCH_SHARE").unwrap_or_default();
        let served = serve_share(&app, &share).await;
        app.shutdown().await;
        return served;
    }
    let processes: usize = match std::env::var("DURABLE_BENCH_PROCESSES") {
        Ok(n) => n.parse()?,
        Err(_) => 1,
    };
    match &db {
        Some(_) => {
            config.hub_name = format!("bench_{}", std::process::id());
            println!(
                "durable throughput benchmark: PostgreSQL, {processes} process(es) on hub {}, {} cores",
                config.hub_name,
                std::thread::available_parallelism().map_or(1, |n| n.get())
            );
        }
        None => println!(
            "durable throughput benchmark: SQLite, synchronous={}, {} cores",
            if config.full_durability { "FULL" } else { "NORMAL" },
            std::thread::available_parallelism().map_or(1, |n| n.get())
        ),
    }
    let app = FunctionApp::new(config.clone()).start().await?;
    let mut helpers = Helpers { children: Vec::new() };
    for share in 1..processes as u64 {
        helpers.children.push(Helper::spawn(&config.hub_name, share, processes as u64).await?);
    }
    let only = std::env::var("DURABLE_BENCH_ONLY").unwrap_or_default();
    let selected = |name: &str| only.is_empty() || only.split(',').any(|w| w.trim() == name);
    if selected("w1") {
        w1(&app, &mut helpers).await?;
    }
    if selected("w2") {
        w2(&app).await?;
    }
    if selected("w3") {
        w3(&app).await?;
    }
    if selected("w4") {
        w4(&app).await?;
    }
    if selected("w5") {
        w5(&app).await?;
    }
    if only.split(',').any(|w| w.trim() == "w6") {
        w6(&app).await?;
    }
    drop(helpers);
    app.shutdown().await;
    if let Some(rss) = rss_mib("VmHWM:") {
        println!("peak RSS (this process): {rss:.1} MiB");
    }
    if let Some(url) = &db {
        drop_hub(url, &config.hub_name).await?;
    }
    Ok(())
}

/// Drops the benchmark's hub (its schema) from the database.
async fn drop_hub(url: &str, hub: &str) -> BenchResult {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let schema = format!("durable_{}", hub.to_ascii_lowercase());
    client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")).await?;
    Ok(())
}
