use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::Error;
use super::log_levels::LogLevels;
use super::settings::Settings;
use crate::clock::Clock;
use crate::history::OrchestrationRuntimeStatus;
use crate::http::{KeySettings, Secret};
use crate::worker::WorkerOptions;

/// Where the task hub is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageConfig {
    /// An SQLite file (the default: `durable.db` in the working directory).
    Sqlite {
        /// The database file.
        path: PathBuf,
    },
    /// An in-memory SQLite database: nothing survives the process. For tests.
    InMemory,
    /// A PostgreSQL database that several app processes may share; the hub is a schema in it.
    Postgres {
        /// The connection string: `postgres://user[:password]@host[:port]/dbname`.
        url: String,
    },
}

impl StorageConfig {
    /// Reads a `--db` / `DURABLE_DB` value: a `postgres://` (or `postgresql://`) URL, `:memory:`,
    /// or the path of an SQLite file.
    pub fn parse(arg: &std::ffi::OsStr) -> StorageConfig {
        match arg.to_str() {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                StorageConfig::Postgres { url: url.to_owned() }
            }
            Some(":memory:") => StorageConfig::InMemory,
            _ => StorageConfig::Sqlite { path: PathBuf::from(arg) },
        }
    }
}

/// The app's configuration: `host.json` (Azure's shape) overlaid with environment variables.
///
/// Recognised `host.json` keys, under `extensions.durableTask`: `hubName`,
/// `maxConcurrentActivityFunctions`, `maxConcurrentOrchestratorFunctions`,
/// `extendedSessionsEnabled`, `extendedSessionIdleTimeoutInSeconds`,
/// `maxCachedOrchestrations` (ours: the most live orchestrations kept in memory),
/// `defaultVersion`, `maxWorkItemAttempts` (how often a work item may be fetched before it is
/// quarantined, 5 by default), and `storageProvider` with `type` (`"sqlite"`
/// or `"postgres"`), `path` (SQLite), `connectionString` (PostgreSQL), `synchronous`
/// (`"full"` or `"normal"`, SQLite), `leaseSeconds` and `activityLeaseSeconds`. Environment
/// variables `DURABLE_DB` (a path, `:memory:`, or a `postgres://` URL) and
/// `DURABLE_HUB_NAME` override them; see
/// [`HttpConfig`] for the HTTP host's variables.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// The task hub name: the namespace of this app's instances and queues in the store.
    pub hub_name: String,
    /// Where the task hub is stored.
    pub storage: StorageConfig,
    /// `synchronous=FULL` (every commit survives power loss) when true, `NORMAL` otherwise.
    pub full_durability: bool,
    /// How long an activity work item stays leased to a worker before it is handed out again
    /// (the worker renews it while the activity runs).
    pub activity_lease: Duration,
    /// How long an instance claimed for a turn stays locked to its process, should that
    /// process stop (a shared store: PostgreSQL).
    pub lease: Duration,
    /// Dispatcher settings.
    pub worker: WorkerOptions,
    /// The time of durable semantics: turn timestamps (`current_utc_date_time`), when
    /// timers are due, record timestamps. The system clock, unless a test host runs the app
    /// on virtual time ([`crate::testing`]).
    pub clock: Clock,
    /// The HTTP host.
    pub http: HttpConfig,
    /// The log levels by category (host.json `logging.logLevel`); `RUST_LOG` overrides them.
    pub log_levels: LogLevels,
}

/// The HTTP host's settings. Environment variables: `DURABLE_LISTEN` (an address such as
/// `0.0.0.0:7071`), `FUNCTIONS_REQUEST_BODY_SIZE_LIMIT` (bytes, Azure's name),
/// `DURABLE_MASTER_KEY`, `DURABLE_SYSTEM_KEY`, `DURABLE_FUNCTION_KEY`, `DURABLE_KEYS_FILE`
/// and `DURABLE_GENERATE_KEYS` (`true` to create the keys file on first run).
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Where to serve; `None` serves no HTTP. Default `127.0.0.1:7071`, the port of
    /// `func start`. An address beyond loopback is refused unless keys are configured.
    pub listen: Option<SocketAddr>,
    /// The largest request body accepted; larger ones get 413. Default 16 MiB.
    pub max_request_body: usize,
    /// The function keys.
    pub keys: KeySettings,
    /// The path HTTP-triggered functions are served under (host.json
    /// `extensions.http.routePrefix`); `api` by default, empty for the root.
    pub route_prefix: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: Some(SocketAddr::from(([127, 0, 0, 1], 7071))),
            max_request_body: 16 * 1024 * 1024,
            keys: KeySettings::default(),
            route_prefix: "api".to_owned(),
        }
    }
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            hub_name: "TestHubName".to_owned(),
            storage: StorageConfig::Sqlite { path: PathBuf::from("durable.db") },
            full_durability: true,
            activity_lease: Duration::from_secs(30),
            lease: Duration::from_secs(30),
            worker: WorkerOptions::default(),
            clock: Clock::system(),
            http: HttpConfig::default(),
            log_levels: LogLevels::default(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct HostJson {
    extensions: Extensions,
    logging: LoggingJson,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Extensions {
    durable_task: DurableTaskJson,
    http: HttpJson,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct HttpJson {
    route_prefix: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct LoggingJson {
    log_level: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct DurableTaskJson {
    hub_name: Option<String>,
    max_concurrent_activity_functions: Option<usize>,
    max_concurrent_orchestrator_functions: Option<usize>,
    extended_sessions_enabled: Option<bool>,
    extended_session_idle_timeout_in_seconds: Option<u64>,
    max_cached_orchestrations: Option<usize>,
    default_version: Option<String>,
    rollback_entity_operations_on_exceptions: Option<bool>,
    max_entity_operation_batch_size: Option<usize>,
    graceful_shutdown_timeout_in_seconds: Option<u64>,
    retention_in_days: std::collections::BTreeMap<String, f64>,
    max_input_size: Option<u64>,
    max_output_size: Option<u64>,
    max_event_size: Option<u64>,
    max_custom_status_size: Option<u64>,
    max_orchestration_actions: Option<u64>,
    max_work_item_attempts: Option<u32>,
    storage_provider: StorageProviderJson,
    /// Settings of single functions, by function name.
    functions: BTreeMap<String, FunctionJson>,
}

/// `extensions.durableTask.functions.<name>`.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct FunctionJson {
    /// Kept as JSON so that a bad value gets a message naming the function.
    max_concurrency: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct StorageProviderJson {
    #[serde(rename = "type")]
    kind: Option<String>,
    path: Option<PathBuf>,
    connection_string: Option<String>,
    synchronous: Option<String>,
    activity_lease_seconds: Option<u64>,
    lease_seconds: Option<u64>,
}

impl HostConfig {
    /// Reads `host.json` from the app root (`AzureWebJobsScriptRoot`, else the working
    /// directory) if present, then applies the environment overrides.
    ///
    /// The environment here is the process environment over the `Values` of
    /// `local.settings.json` in the app root (see [`app_setting`](crate::app_setting)); its
    /// `Host.LocalHttpPort` sets the port to serve on, under `DURABLE_LISTEN`.
    pub fn from_env() -> Result<Self, Error> {
        let root =
            std::env::var_os("AzureWebJobsScriptRoot").map(PathBuf::from).unwrap_or_default();
        let settings = Settings::load(&root)?;
        let host_json = root.join("host.json");
        let mut config = if host_json.exists() {
            Self::from_host_json_file(&host_json)?
        } else {
            HostConfig::default()
        };
        config.apply_settings(&settings)?;
        settings.install();
        Ok(config)
    }

    /// Applies the settings (environment over `local.settings.json`) over `host.json`.
    pub(super) fn apply_settings(&mut self, settings: &Settings) -> Result<(), Error> {
        if let Some(port) = settings.local_http_port {
            self.http.listen = Some(SocketAddr::from(([127, 0, 0, 1], port)));
        }
        if let Some(db) = settings.var_os("DURABLE_DB") {
            self.storage = StorageConfig::parse(&db);
        }
        if let Some(hub) = settings.var("DURABLE_HUB_NAME") {
            self.hub_name = hub;
        }
        self.http.read_env(settings)?;
        self.validate()
    }

    /// Reads a `host.json` file.
    pub fn from_host_json_file(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
            source_name: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::from_host_json(&text).map_err(|e| match e {
            Error::Config { message, .. } => {
                Error::Config { source_name: path.display().to_string(), message }
            }
            other => other,
        })
    }

    /// Parses `host.json` text.
    pub fn from_host_json(text: &str) -> Result<Self, Error> {
        let config_error =
            |message: String| Error::Config { source_name: "host.json".to_owned(), message };
        let json: HostJson = serde_json::from_str(text).map_err(|e| config_error(e.to_string()))?;
        let durable = json.extensions.durable_task;
        let mut config = HostConfig::default();
        if let Some(prefix) = json.extensions.http.route_prefix {
            config.http.route_prefix = prefix.trim_matches('/').to_owned();
        }
        config.log_levels = LogLevels::parse(json.logging.log_level).map_err(config_error)?;
        if let Some(hub) = durable.hub_name {
            config.hub_name = hub;
        }
        if let Some(n) = durable.max_concurrent_activity_functions {
            config.worker.max_concurrent_activity_functions = n;
        }
        if let Some(n) = durable.max_concurrent_orchestrator_functions {
            config.worker.max_concurrent_orchestrator_functions = n;
        }
        if let Some(enabled) = durable.extended_sessions_enabled {
            config.worker.extended_sessions_enabled = enabled;
        }
        if let Some(seconds) = durable.extended_session_idle_timeout_in_seconds {
            config.worker.extended_session_idle_timeout = std::time::Duration::from_secs(seconds);
        }
        if let Some(n) = durable.max_cached_orchestrations {
            config.worker.max_cached_orchestrations = n;
        }
        if let Some(version) = durable.default_version {
            config.worker.default_version = version;
        }
        if let Some(rollback) = durable.rollback_entity_operations_on_exceptions {
            config.worker.rollback_entity_operations_on_exceptions = rollback;
        }
        if let Some(size) = durable.max_entity_operation_batch_size {
            config.worker.max_entity_operation_batch_size = size.max(1);
        }
        if let Some(seconds) = durable.graceful_shutdown_timeout_in_seconds {
            config.worker.graceful_shutdown_timeout = std::time::Duration::from_secs(seconds);
        }
        for (status, days) in durable.retention_in_days {
            let finished = OrchestrationRuntimeStatus::parse(&status)
                .filter(|s| s.is_terminal())
                .ok_or_else(|| {
                config_error(format!(
                    "retentionInDays: `{status}` is not a finished status (Completed, \
                         Failed, Canceled or Terminated)"
                ))
            })?;
            let period = Duration::try_from_secs_f64(days * 86_400.0).map_err(|_| {
                config_error(format!("retentionInDays.{status}: {days} is not a number of days"))
            })?;
            config.worker.retention.push((finished, period));
        }
        if let Some(attempts) = durable.max_work_item_attempts {
            config.worker.max_work_item_attempts = attempts;
        }
        let limits = &mut config.worker.limits;
        let given = [
            (&mut limits.max_input_size, durable.max_input_size),
            (&mut limits.max_output_size, durable.max_output_size),
            (&mut limits.max_event_size, durable.max_event_size),
            (&mut limits.max_custom_status_size, durable.max_custom_status_size),
            (&mut limits.max_orchestration_actions, durable.max_orchestration_actions),
        ];
        for (limit, value) in given {
            if let Some(value) = value {
                *limit = value;
            }
        }
        for (name, function) in durable.functions {
            let Some(value) = function.max_concurrency else {
                continue;
            };
            match value.as_u64().and_then(|n| usize::try_from(n).ok()) {
                Some(limit) if limit > 0 => {
                    config.worker.function_max_concurrency.insert(name, limit);
                }
                _ => {
                    return Err(config_error(format!(
                        "functions.{name}.maxConcurrency must be a positive integer, got {value}"
                    )));
                }
            }
        }
        let provider = durable.storage_provider;
        match provider.kind.as_deref() {
            None => {}
            Some(kind) if kind.eq_ignore_ascii_case("sqlite") => {}
            Some(kind) if kind.eq_ignore_ascii_case("postgres") => {
                let Some(url) = provider.connection_string else {
                    return Err(config_error(
                        "storageProvider.type \"postgres\" needs a connectionString \
                         (postgres://user@host:port/dbname)"
                            .to_owned(),
                    ));
                };
                config.storage = StorageConfig::Postgres { url };
            }
            Some(kind) => {
                return Err(config_error(format!(
                    "storageProvider.type `{kind}` is not supported; expected \"sqlite\" or \"postgres\""
                )));
            }
        }
        if let Some(path) = provider.path {
            config.storage = StorageConfig::parse(path.as_os_str());
        }
        match provider.synchronous.as_deref() {
            None => {}
            Some(s) if s.eq_ignore_ascii_case("full") => config.full_durability = true,
            Some(s) if s.eq_ignore_ascii_case("normal") => config.full_durability = false,
            Some(other) => {
                return Err(config_error(format!(
                    "storageProvider.synchronous `{other}` is not supported; expected \"full\" or \"normal\""
                )));
            }
        }
        // `leaseSeconds` sets both leases; `activityLeaseSeconds` then the activities' own.
        if let Some(seconds) = provider.lease_seconds {
            config.lease = Duration::from_secs(seconds);
            config.activity_lease = Duration::from_secs(seconds);
        }
        if let Some(seconds) = provider.activity_lease_seconds {
            config.activity_lease = Duration::from_secs(seconds);
        }
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), Error> {
        let config_error = |message: &str| {
            Err(Error::Config {
                source_name: "configuration".to_owned(),
                message: message.to_owned(),
            })
        };
        if self.hub_name.is_empty()
            || !self.hub_name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return config_error(
                "hubName must be non-empty and use only letters, digits, `-` and `_`",
            );
        }
        if self.worker.max_concurrent_activity_functions == 0
            || self.worker.max_concurrent_orchestrator_functions == 0
        {
            return config_error("maxConcurrent*Functions must be at least 1");
        }
        if self.worker.function_max_concurrency.values().any(|limit| *limit == 0) {
            return config_error("functions.<name>.maxConcurrency must be at least 1");
        }
        if self.worker.max_work_item_attempts == 0 {
            return config_error("maxWorkItemAttempts must be at least 1");
        }
        if self.activity_lease.is_zero() || self.lease.is_zero() {
            return config_error("leaseSeconds and activityLeaseSeconds must be at least 1");
        }
        Ok(())
    }
}

impl HttpConfig {
    fn read_env(&mut self, settings: &Settings) -> Result<(), Error> {
        let env_error =
            |name: &str, message: String| Error::Config { source_name: name.to_owned(), message };
        if let Some(listen) = settings.var("DURABLE_LISTEN") {
            self.listen = Some(parse_listen(&listen).map_err(|m| env_error("DURABLE_LISTEN", m))?);
        }
        if let Some(limit) = settings.var("FUNCTIONS_REQUEST_BODY_SIZE_LIMIT") {
            self.max_request_body = limit.trim().parse().map_err(|e| {
                env_error("FUNCTIONS_REQUEST_BODY_SIZE_LIMIT", format!("`{limit}`: {e}"))
            })?;
        }
        let key = |name: &str| settings.var(name).filter(|k| !k.is_empty()).map(Secret::new);
        self.keys.master = key("DURABLE_MASTER_KEY").or(self.keys.master.take());
        self.keys.system = key("DURABLE_SYSTEM_KEY").or(self.keys.system.take());
        self.keys.function = key("DURABLE_FUNCTION_KEY").or(self.keys.function.take());
        if let Some(file) = settings.var_os("DURABLE_KEYS_FILE") {
            self.keys.file = PathBuf::from(file);
        }
        if let Some(generate) = settings.var("DURABLE_GENERATE_KEYS") {
            self.keys.generate =
                generate.trim().eq_ignore_ascii_case("true") || generate.trim() == "1";
        }
        Ok(())
    }
}

/// An address to listen on: `host:port`, or a bare port (on 127.0.0.1).
pub(super) fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    text.parse().map_err(|_| {
        format!(
            "`{text}` is not an address to listen on; expected e.g. 127.0.0.1:7071 or 0.0.0.0:8080"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_azure_host_json() {
        let config = HostConfig::from_host_json(
            r#"{ "version": "2.0", "logging": {}, "extensions": { "durableTask": {
                "hubName": "MyHub", "maxConcurrentActivityFunctions": 7, "defaultVersion": "2.0",
                "rollbackEntityOperationsOnExceptions": false, "maxEntityOperationBatchSize": 20,
                "gracefulShutdownTimeoutInSeconds": 5,
                "retentionInDays": { "Completed": 7, "failed": 30.5 },
                "extendedSessionIdleTimeoutInSeconds": 60, "maxCachedOrchestrations": 500,
                "storageProvider": { "type": "sqlite", "path": "x.db", "synchronous": "normal" } } } }"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.hub_name, "MyHub");
        assert_eq!(config.worker.max_concurrent_activity_functions, 7);
        assert_eq!(config.worker.default_version, "2.0");
        assert!(!config.worker.rollback_entity_operations_on_exceptions);
        assert_eq!(config.worker.max_entity_operation_batch_size, 20);
        assert_eq!(config.worker.graceful_shutdown_timeout, std::time::Duration::from_secs(5));
        let day = 86_400;
        assert_eq!(
            config.worker.retention,
            [
                (OrchestrationRuntimeStatus::Completed, Duration::from_secs(7 * day)),
                (OrchestrationRuntimeStatus::Failed, Duration::from_secs(30 * day + day / 2)),
            ]
        );
        for bad in [r#"{"Running": 1}"#, r#"{"Completed": -1}"#] {
            let text =
                format!(r#"{{"extensions": {{"durableTask": {{"retentionInDays": {bad}}}}}}}"#);
            let error = HostConfig::from_host_json(&text).err().map(|e| e.to_string());
            assert!(error.as_deref().is_some_and(|e| e.contains("retentionInDays")), "{error:?}");
        }
        assert_eq!(config.worker.extended_session_idle_timeout, std::time::Duration::from_secs(60));
        assert_eq!(config.worker.max_cached_orchestrations, 500);
        assert_eq!(config.storage, StorageConfig::Sqlite { path: "x.db".into() });
        assert!(!config.full_durability);
    }

    #[test]
    fn reads_the_limits() {
        let config = HostConfig::from_host_json(
            r#"{ "extensions": { "durableTask": { "maxInputSize": 10, "maxOutputSize": 11,
                "maxEventSize": 12, "maxCustomStatusSize": 13, "maxOrchestrationActions": 14 } } }"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let limits = config.worker.limits;
        assert_eq!(
            (limits.max_input_size, limits.max_output_size, limits.max_event_size),
            (10, 11, 12)
        );
        assert_eq!((limits.max_custom_status_size, limits.max_orchestration_actions), (13, 14));
        let defaults = HostConfig::from_host_json("{}").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(defaults.worker.limits, crate::history::Limits::default());
    }

    #[test]
    fn reads_the_work_item_attempts() {
        let read = |text: &str| HostConfig::from_host_json(text).map(|c| c.worker);
        let config = read(r#"{ "extensions": { "durableTask": { "maxWorkItemAttempts": 3 } } }"#);
        assert_eq!(config.map(|w| w.max_work_item_attempts).ok(), Some(3));
        assert_eq!(read("{}").map(|w| w.max_work_item_attempts).ok(), Some(5));
        let zero = read(r#"{ "extensions": { "durableTask": { "maxWorkItemAttempts": 0 } } }"#);
        assert!(zero.is_err(), "0 attempts would quarantine every item");
    }

    #[test]
    fn bad_host_json_names_the_problem() {
        let err = HostConfig::from_host_json(
            r#"{ "extensions": { "durableTask": { "maxConcurrentActivityFunctions": "ten" } } }"#,
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("host.json") && err.contains("invalid type"), "{err}");
        let err = HostConfig::from_host_json(
            r#"{ "extensions": { "durableTask": { "storageProvider": { "type": "AzureStorage" } } } }"#,
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("AzureStorage"), "{err}");
    }

    #[test]
    fn reads_per_function_limits() {
        let config = HostConfig::from_host_json(
            r#"{ "extensions": { "durableTask": {
                "functions": { "SlowActivity": { "maxConcurrency": 2 }, "Other": {} } } } }"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            config.worker.function_max_concurrency,
            BTreeMap::from([("SlowActivity".to_owned(), 2)])
        );
        for bad in ["0", "2.5", "-1", "\"two\""] {
            let err = HostConfig::from_host_json(&format!(
                r#"{{ "extensions": {{ "durableTask": {{
                    "functions": {{ "SlowActivity": {{ "maxConcurrency": {bad} }} }} }} }} }}"#
            ))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
            assert!(
                err.contains("host.json")
                    && err.contains(
                        "functions.SlowActivity.maxConcurrency must be a positive integer"
                    ),
                "{bad}: {err}"
            );
        }
    }
}
