//! Several copies of the sample app serve one PostgreSQL hub on a cluster of the test's own,
//! and things go wrong: a copy is SIGKILLed, a copy is SIGSTOPped past its lease and then
//! resumed, the server is restarted. Every instance completes with the right output, nothing
//! acknowledged is lost, and the invariant checker finds each history whole and each task
//! completed at most once.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use durable::DurableOrchestrationClient;
use durable::FunctionApp;
use durable::OrchestrationRuntimeStatus::Completed;
use durable::app::{HostConfig, StorageConfig};
use durable_tests::cluster::{PgCluster, check_invariants, count_lines};
use durable_tests::stores::{hub_schema, psql, unique_hub};
use serde_json::{Value, json};

// The test process starts instances as a client, so it needs the samples' registrations.
use durable_examples as _;

/// The lease of every copy: how long another copy waits for a silent one's work.
const LEASE_SECONDS: u64 = 3;
/// The site every backup copies: three files.
const FILES: [(&str, usize); 3] = [("a.txt", 100), ("b.txt", 200), ("c/d.txt", 300)];
const TOTAL_BYTES: u64 = 600;

/// One copy of the sample app, killed when the test ends however it ends.
struct App {
    child: Child,
    log: PathBuf,
}

impl App {
    fn serve(dir: &Path, name: &str, url: &str, hub: &str) -> App {
        let home = dir.join(name);
        std::fs::create_dir_all(&home).unwrap();
        std::fs::write(
            home.join("host.json"),
            json!({ "extensions": { "durableTask": { "storageProvider": {
                "type": "postgres", "connectionString": url, "leaseSeconds": LEASE_SECONDS } } } })
            .to_string(),
        )
        .unwrap();
        let log = home.join("app.log");
        let child = Command::new(env!("CARGO_BIN_EXE_durable-samples"))
            .arg("serve")
            .current_dir(&home)
            .env("DURABLE_HUB_NAME", hub)
            .env("DURABLE_LISTEN", "127.0.0.1:0")
            .env("DURABLE_BACKUP_DIR", home.join("backups"))
            .env("RUST_LOG", "durable::worker=debug,info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .unwrap();
        App { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The origin it serves HTTP on, once it serves.
    fn origin(&self) -> String {
        wait_until(Duration::from_secs(60), "the app serves", || {
            self.log()
                .lines()
                .find_map(|l| l.split("listening on ").nth(1).map(|o| o.trim().to_owned()))
        })
    }

    fn activity_starts(&self) -> usize {
        count_lines(&self.log, "activity started")
    }

    fn signal(&self, signal: &str) {
        let status =
            Command::new("kill").args([signal, &self.child.id().to_string()]).status().unwrap();
        assert!(status.success(), "kill {signal}");
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` until it gives a value; fails the test after `limit`.
fn wait_until<T>(limit: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let give_up = Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < give_up, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn site(dir: &Path) -> PathBuf {
    let site = dir.join("site");
    for (name, size) in FILES {
        let path = site.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, vec![b'x'; size]).unwrap();
    }
    site
}

async fn client(url: &str, hub: &str) -> DurableOrchestrationClient {
    let mut config = HostConfig {
        storage: StorageConfig::Postgres { url: url.to_owned() },
        hub_name: hub.to_owned(),
        ..HostConfig::default()
    };
    config.http.listen = None;
    FunctionApp::new(config).connect().await.unwrap()
}

/// Starts the backups `numbers`, in turn through each app's HTTP management API; returns
/// their ids once each start is acknowledged (202). A start the app could not acknowledge
/// (the store unreachable for a moment) is sent again; a 409 then means an earlier attempt
/// landed after all.
async fn start_backups(
    origins: Vec<String>,
    numbers: std::ops::Range<usize>,
    site: PathBuf,
) -> Vec<String> {
    let http =
        reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(30)).build().unwrap();
    let input = serde_json::to_string(&site).unwrap();
    let mut ids = Vec::with_capacity(numbers.len());
    for i in numbers {
        let id = format!("backup-{i}");
        let give_up = Instant::now() + Duration::from_secs(30);
        // As behind a load balancer: a copy that fails or does not answer is passed over
        // for the next. A start it took before it died answers 409 on the next.
        for attempt in 0.. {
            let origin = &origins[(i + attempt) % origins.len()];
            let reply = http
                .post(format!(
                    "{origin}/runtime/webhooks/durabletask/orchestrators/E2_BackupSiteContent/{id}"
                ))
                .header("Content-Type", "application/json")
                .body(input.clone())
                .send()
                .await;
            let status = match &reply {
                Ok(reply) => reply.status().as_u16(),
                Err(_) => 503,
            };
            if status == 202 || (status == 409 && attempt > 0) {
                break;
            }
            let body = match reply {
                Ok(reply) => reply.text().await.unwrap_or_default(),
                Err(error) => error.to_string(),
            };
            assert!(status >= 500 && Instant::now() < give_up, "starting {id}: {status} {body}");
            if attempt % origins.len() == origins.len() - 1 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        ids.push(id);
    }
    ids
}

/// Starts backups through `origin` one at a time until `gate` says it is paused; their ids.
async fn feed(origin: String, gate: Arc<tokio::sync::Mutex<bool>>, site: PathBuf) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0.. {
        let paused = gate.lock().await;
        if *paused {
            break;
        }
        ids.extend(start_backups(vec![origin.clone()], i..i + 1, site.clone()).await);
    }
    ids
}

fn origins(apps: &[App]) -> Vec<String> {
    apps.iter().map(App::origin).collect()
}

/// Waits until every instance completed; returns how long it took.
async fn wait_all_completed(
    client: &DurableOrchestrationClient,
    ids: &[String],
    limit: Duration,
) -> Duration {
    let started = Instant::now();
    loop {
        let mut done = 0;
        for id in ids {
            let status = client.get_status(id).await.ok().flatten();
            if status.is_some_and(|s| s.runtime_status == Completed) {
                done += 1;
            }
        }
        if done == ids.len() {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "{done} of {} completed within {limit:?}", ids.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn expected_output(id: &str) -> Option<Value> {
    id.starts_with("backup-").then(|| json!(TOTAL_BYTES))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_process_work_is_finished_by_the_survivors() {
    let cluster = PgCluster::start();
    let url = cluster.url("test");
    let hub = unique_hub("failover");
    let dir = tempfile::tempdir().unwrap();
    let site = site(dir.path());
    let apps: Vec<App> =
        (0..3).map(|n| App::serve(dir.path(), &format!("app{n}"), &url, &hub)).collect();
    let starting = tokio::spawn(start_backups(origins(&apps), 0..300, site));

    // Kill the first copy once it is busy, holding work, with starts still coming in.
    wait_until(Duration::from_secs(60), "app0 runs activities", || {
        (apps[0].activity_starts() >= 5).then_some(())
    });
    apps[0].signal("-KILL");
    let killed = Instant::now();
    let survivors_before: usize = apps[1..].iter().map(App::activity_starts).sum();

    let ids = starting.await.unwrap();
    let client = client(&url, &hub).await;
    wait_all_completed(&client, &ids, Duration::from_secs(60)).await;
    let took = killed.elapsed();
    let survivors_after: usize = apps[1..].iter().map(App::activity_starts).sum();
    println!(
        "300 backups completed {:.1} s after the kill (lease {LEASE_SECONDS} s); the survivors \
         ran {} activities after it",
        took.as_secs_f64(),
        survivors_after - survivors_before
    );
    assert!(survivors_after > survivors_before, "the survivors did the rest");
    // What the dead copy held waits out its lease, once; nothing waits longer.
    assert!(took < Duration::from_secs(2 * LEASE_SECONDS), "took {took:?} after the kill");
    let checked = check_invariants(&url, &hub, expected_output);
    assert_eq!(checked.instances, 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_process_late_commits_never_land() {
    let cluster = PgCluster::start();
    let url = cluster.url("test");
    let hub = unique_hub("paused");
    let dir = tempfile::tempdir().unwrap();
    let site = site(dir.path());
    let apps: Vec<App> =
        (0..3).map(|n| App::serve(dir.path(), &format!("app{n}"), &url, &hub)).collect();
    // Starts come in through the other two all along, and through the first copy one at a
    // time until it is paused while it holds an instance's lock (its owner column names
    // it): the gate keeps a start from being in flight to it when it stops.
    let others = tokio::spawn(start_backups(origins(&apps[1..]), 1000..1100, site.clone()));
    let gate = Arc::new(tokio::sync::Mutex::new(false));
    let feeder = tokio::spawn(feed(apps[0].origin(), Arc::clone(&gate), site));
    let owner = format!("%:{}:%", apps[0].child.id());
    let schema = hub_schema(&hub);
    let give_up = Instant::now() + Duration::from_secs(60);
    loop {
        let mut paused = gate.lock().await;
        if apps[0].activity_starts() > 0 {
            apps[0].signal("-STOP");
            let held = psql(
                &url,
                &format!(
                    "SELECT count(*) FROM \"{schema}\".instances \
                     WHERE lock_owner LIKE '{owner}' AND lock_until > now()"
                ),
            );
            if held != "0" {
                *paused = true;
                break;
            }
            apps[0].signal("-CONT");
        }
        drop(paused);
        assert!(Instant::now() < give_up, "timed out waiting until app0 is paused holding a lock");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut ids = feeder.await.unwrap();
    ids.extend(others.await.unwrap());
    let client = client(&url, &hub).await;
    // The others finish everything, including what the paused copy held once its leases
    // lapsed.
    let took = wait_all_completed(&client, &ids, Duration::from_secs(60)).await;
    apps[0].signal("-CONT");
    // Resumed, it tries to finish what it was doing: every such commit is refused, fenced by
    // its lost token or by the server having ended its stalled session.
    let refused = |app: &App| {
        count_lines(&app.log, "committing an orchestration turn failed")
            + count_lines(&app.log, "activity result dropped")
            + count_lines(&app.log, "activity stopped: its lease was taken over")
    };
    let late =
        wait_until(Duration::from_secs(30), "the resumed copy tries its late commits", || {
            let late = refused(&apps[0]);
            (late > 0).then_some(late)
        });
    // Give it the time to try all of them, then check that none landed.
    tokio::time::sleep(Duration::from_secs(1)).await;
    println!(
        "{} backups completed {:.1} s after the pause; the resumed copy's late commits \
         refused: {} (first count {late})",
        ids.len(),
        took.as_secs_f64(),
        refused(&apps[0])
    );
    check_invariants(&url, &hub, expected_output);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restart_is_survived() {
    let cluster = PgCluster::start();
    let url = cluster.url("test");
    let hub = unique_hub("restart");
    let dir = tempfile::tempdir().unwrap();
    let site = site(dir.path());
    let apps: Vec<App> =
        (0..2).map(|n| App::serve(dir.path(), &format!("app{n}"), &url, &hub)).collect();
    // Every start below is acknowledged (202) before the restart or after it.
    let mut ids = start_backups(origins(&apps), 0..100, site.clone()).await;
    wait_until(Duration::from_secs(60), "the apps run activities", || {
        (apps.iter().map(App::activity_starts).sum::<usize>() >= 10).then_some(())
    });
    cluster.restart_fast();
    // Starts right after the restart: each is acknowledged once an app reaches the server.
    ids.extend(start_backups(origins(&apps), 100..120, site).await);
    let client = client(&url, &hub).await;
    let took = wait_all_completed(&client, &ids, Duration::from_secs(90)).await;
    println!(
        "120 backups completed {:.1} s after a fast restart of PostgreSQL",
        took.as_secs_f64()
    );
    check_invariants(&url, &hub, expected_output);
}
