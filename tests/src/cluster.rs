//! A PostgreSQL cluster of a test's own (so that it may stop, restart or kill it), and an
//! invariant checker that reads a hub's tables after a test.

use std::collections::{BTreeMap, HashMap};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::stores::{hub_schema, psql};

/// A private cluster: its own data directory (owned by `postgres`) and port, started with the
/// machine's `initdb` and `pg_ctl`. Dropping it stops it and removes the directory.
pub struct PgCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

impl PgCluster {
    /// Creates and starts a cluster with a database `test`, `synchronous_commit = on`.
    pub fn start() -> PgCluster {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL's binaries under /usr/lib/postgresql (apt-get install postgresql)")
            .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
            .filter(|bin| bin.join("pg_ctl").exists())
            .max()
            .expect("pg_ctl under /usr/lib/postgresql/*/bin");
        let dir = tempfile::Builder::new().prefix("durable-pg-").tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let cluster = PgCluster { dir, bin, port };
        // initdb refuses to run as root: the cluster belongs to `postgres`.
        if is_root() {
            run(Command::new("chown").args(["-R", "postgres:postgres"]).arg(cluster.dir.path()));
        }
        run(cluster
            .as_postgres("initdb")
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(cluster.data()));
        let settings = format!(
            "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n\
             synchronous_commit = on\nmax_connections = 200\nfsync = on\n",
            cluster.dir.path().display()
        );
        let conf = cluster.data().join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).unwrap();
        text.push_str(&settings);
        std::fs::write(&conf, text).unwrap();
        cluster.pg_ctl(&["start", "-w", "-t", "60"]);
        psql(&cluster.url("postgres"), "CREATE DATABASE test");
        cluster
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A command run as `postgres` when the tests run as root.
    fn as_postgres(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    fn pg_ctl(&self, args: &[&str]) {
        let log = self.dir.path().join("server.log");
        run(self.as_postgres("pg_ctl").arg("-D").arg(self.data()).arg("-l").arg(log).args(args));
    }

    /// The URL of a database on this cluster.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Stops the server with a fast shutdown (connections are cut, nothing committed is lost)
    /// and starts it again.
    pub fn restart_fast(&self) {
        self.pg_ctl(&["restart", "-m", "fast", "-w", "-t", "60"]);
    }

    /// Adds a login `user` that must give `password` (SCRAM) and may create schemas in
    /// database `test`; the URL with credentials is `url_as`.
    pub fn require_password(&self, user: &str, password: &str) {
        psql(
            &self.url("test"),
            &format!(
                "CREATE ROLE {user} LOGIN PASSWORD '{password}'; \
                 GRANT ALL ON DATABASE test TO {user}"
            ),
        );
        let hba = self.data().join("pg_hba.conf");
        let rules = std::fs::read_to_string(&hba).unwrap();
        std::fs::write(&hba, format!("host all {user} 127.0.0.1/32 scram-sha-256\n{rules}"))
            .unwrap();
        self.pg_ctl(&["reload"]);
    }

    /// The URL of `database` on this cluster, logging in as `user` with `password`.
    pub fn url_as(&self, user: &str, password: &str, database: &str) -> String {
        format!("postgres://{user}:{password}@127.0.0.1:{}/{database}", self.port)
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's log.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self
            .as_postgres("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["stop", "-m", "immediate", "-w"])
            .output();
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

fn run(command: &mut Command) -> Output {
    let output = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Rows of a query, each split on tabs (stored JSON escapes its tabs).
fn rows(url: &str, sql: &str) -> Vec<Vec<String>> {
    let output = run(Command::new("psql").args([url, "-At", "-F", "\t", "-c", sql]));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| line.split('\t').map(str::to_owned).collect())
        .collect()
}

/// What [`check_invariants`] counted.
#[derive(Debug, Default)]
pub struct Checked {
    pub instances: usize,
    pub events: usize,
    pub scheduled: usize,
    pub completions: usize,
}

/// Reads a hub's tables and checks, per instance: history sequence numbers gapless and
/// unique from 0 in every execution, `history_len` equal to the current execution's events,
/// every task (activity, sub-orchestration, timer) scheduled once and completed or failed at
/// most once and only if scheduled, and the status `Completed` with the output `expected`
/// gives (when it gives one). Prints what it checked; panics listing every violation.
pub fn check_invariants(url: &str, hub: &str, expected: impl Fn(&str) -> Option<Value>) -> Checked {
    let schema = hub_schema(hub);
    let mut violations = Vec::new();
    let mut checked = Checked::default();
    let mut seqs: BTreeMap<(String, String), Vec<i64>> = BTreeMap::new();
    let mut events: HashMap<String, Vec<Value>> = HashMap::new();
    for row in rows(
        url,
        &format!(
            "SELECT instance_id, execution_id, seq, event FROM \"{schema}\".history ORDER BY 1, 2, 3"
        ),
    ) {
        let [instance, execution, seq, event] = &row[..] else { panic!("history row {row:?}") };
        seqs.entry((instance.clone(), execution.clone())).or_default().push(seq.parse().unwrap());
        events.entry(instance.clone()).or_default().push(serde_json::from_str(event).unwrap());
        checked.events += 1;
    }
    for ((instance, execution), seqs) in &seqs {
        let expected: Vec<i64> = (0..seqs.len() as i64).collect();
        if *seqs != expected {
            violations.push(format!("{instance}/{execution}: sequence numbers {seqs:?}"));
        }
    }
    for row in rows(
        url,
        &format!(
            "SELECT instance_id, execution_id, status, output, history_len FROM \"{schema}\".instances"
        ),
    ) {
        let [instance, execution, status, output, length] = &row[..] else {
            panic!("instance row {row:?}")
        };
        checked.instances += 1;
        let stored = seqs.get(&(instance.clone(), execution.clone())).map_or(0, Vec::len);
        if length.parse::<usize>().ok() != Some(stored) {
            violations.push(format!("{instance}: history_len {length}, {stored} events stored"));
        }
        if let Some(want) = expected(instance) {
            let output: Value = serde_json::from_str(output).unwrap();
            if status != "Completed" || output != want {
                violations.push(format!(
                    "{instance}: {status} with {output}, expected Completed with {want}"
                ));
            }
        }
        let mut scheduled: HashMap<i64, usize> = HashMap::new();
        let mut completed: HashMap<i64, usize> = HashMap::new();
        for event in events.get(instance).into_iter().flatten() {
            let kind = event["EventType"].as_str().unwrap_or_default();
            match kind {
                "TaskScheduled" | "SubOrchestrationInstanceCreated" | "TimerCreated" => {
                    *scheduled.entry(event["EventId"].as_i64().unwrap_or(-1)).or_default() += 1;
                }
                "TaskCompleted"
                | "TaskFailed"
                | "SubOrchestrationInstanceCompleted"
                | "SubOrchestrationInstanceFailed" => {
                    *completed
                        .entry(event["TaskScheduledId"].as_i64().unwrap_or(-1))
                        .or_default() += 1;
                }
                "TimerFired" => {
                    *completed.entry(event["TimerId"].as_i64().unwrap_or(-1)).or_default() += 1;
                }
                _ => {}
            }
        }
        checked.scheduled += scheduled.len();
        checked.completions += completed.values().sum::<usize>();
        for (id, times) in &scheduled {
            if *times > 1 {
                violations.push(format!("{instance}: task {id} scheduled {times} times"));
            }
        }
        for (id, times) in &completed {
            if *times > 1 {
                violations.push(format!("{instance}: task {id} completed {times} times"));
            }
            if !scheduled.contains_key(id) {
                violations.push(format!("{instance}: task {id} completed but never scheduled"));
            }
        }
    }
    println!(
        "invariants of hub {hub}: {} instances, {} history events, {} tasks scheduled, {} completions \
         checked: sequence numbers gapless and unique, history_len, each task completed at most once, outputs",
        checked.instances, checked.events, checked.scheduled, checked.completions
    );
    assert!(violations.is_empty(), "{} violations:\n{}", violations.len(), violations.join("\n"));
    checked
}

/// Lines of a log file containing `needle`.
pub fn count_lines(log: &Path, needle: &str) -> usize {
    std::fs::read_to_string(log).unwrap_or_default().lines().filter(|l| l.contains(needle)).count()
}
