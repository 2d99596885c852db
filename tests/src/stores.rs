//! The stores the end-to-end tests run on: a fresh SQLite file, or a fresh task hub on the
//! machine's PostgreSQL (`DURABLE_TEST_POSTGRES` names another server), dropped afterwards.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use durable::app::{HostConfig, StorageConfig};
use durable::{FunctionApp, RunningApp};

/// The machine's PostgreSQL, as `.ci/run` starts it.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The PostgreSQL server the tests use.
pub fn postgres_url() -> String {
    std::env::var("DURABLE_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

/// Fails the test (never skips it) when the server cannot be reached, saying how to start it.
pub fn require_postgres(url: &str) {
    let reachable = Command::new("psql")
        .args([url, "-Atc", "SELECT 1"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        reachable,
        "PostgreSQL is not reachable at {url}: start the machine's server with \
         `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, \
         or point DURABLE_TEST_POSTGRES at another one"
    );
}

/// Runs one SQL command on the server with `psql`.
pub fn psql(url: &str, sql: &str) -> String {
    let output = Command::new("psql").args([url, "-Atc", sql]).output().unwrap();
    assert!(output.status.success(), "psql `{sql}`: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// A task hub name no other test run uses.
pub fn unique_hub(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    format!("{prefix}_{}_{stamp:x}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The schema that holds a hub on PostgreSQL.
pub fn hub_schema(hub: &str) -> String {
    format!("durable_{}", hub.to_ascii_lowercase())
}

/// A fresh store in a temporary directory (the app's working directory).
pub struct TestStore {
    /// The working directory of the app under test.
    pub dir: tempfile::TempDir,
    /// `DURABLE_DB`: the SQLite file or the PostgreSQL URL.
    pub db: String,
    /// `DURABLE_HUB_NAME`.
    pub hub: String,
    postgres: bool,
}

impl TestStore {
    /// A fresh SQLite file.
    pub fn sqlite() -> TestStore {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("durable.db").display().to_string();
        TestStore { dir, db, hub: "TestHubName".to_owned(), postgres: false }
    }

    /// A fresh hub on the PostgreSQL server.
    pub fn postgres() -> TestStore {
        let url = postgres_url();
        require_postgres(&url);
        TestStore {
            dir: tempfile::tempdir().unwrap(),
            db: url,
            hub: unique_hub("e2e"),
            postgres: true,
        }
    }

    /// The app's working directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Points a child process of the app at this store.
    pub fn apply(&self, command: &mut Command) {
        command
            .current_dir(self.path())
            .env("DURABLE_DB", &self.db)
            .env("DURABLE_HUB_NAME", &self.hub);
    }

    /// A configuration on this store.
    pub fn config(&self) -> HostConfig {
        let storage = match self.postgres {
            true => StorageConfig::Postgres { url: self.db.clone() },
            false => StorageConfig::Sqlite { path: self.db.clone().into() },
        };
        HostConfig { storage, hub_name: self.hub.clone(), ..HostConfig::default() }
    }

    /// The app on this store, serving no HTTP.
    pub async fn start_app(&self) -> RunningApp {
        let mut config = self.config();
        config.http.listen = None;
        match FunctionApp::new(config).start().await {
            Ok(app) => app,
            Err(e) => panic!("the app did not start: {e}"),
        }
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        if self.postgres {
            let schema = hub_schema(&self.hub);
            let _ = Command::new("psql")
                .args([
                    self.db.as_str(),
                    "-qc",
                    &format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"),
                ])
                .output();
        }
    }
}

/// Expands a test body `fn name(store: &TestStore)` into one test per store.
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $name() {
                super::$name(&$crate::stores::TestStore::sqlite());
            })+
        }
        mod postgres {
            $(#[test]
            fn $name() {
                super::$name(&$crate::stores::TestStore::postgres());
            })+
        }
    };
}
