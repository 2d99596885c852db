//! [`FunctionApp`]: configuration, startup, the CLI and shutdown.

mod cli;
mod config;
mod local;
mod log_levels;
mod settings;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{HostConfig, HttpConfig, StorageConfig};
pub use log_levels::LogLevels;
pub use settings::app_setting;

use crate::backend::{
    Backend, BackendError, PostgresBackend, PostgresOptions, SqliteBackend, SqliteOptions,
    Synchronous,
};
use crate::client::{DurableError, DurableOrchestrationClient, Webhook};
use crate::http::{ApiRoutes, HostKeys, HostState, KeysError, RouteError};
use crate::registry::{DuplicateFunction, Registry, check_unique_names};
use crate::timer_trigger::ScheduleError;
use crate::worker::{RuntimeStats, Worker};

/// Errors starting or running a function app.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid.
    #[error("invalid configuration in {source_name}: {message}")]
    Config {
        /// Where the bad setting came from.
        source_name: String,
        /// What is wrong.
        message: String,
    },
    /// Two functions share a name.
    #[error(transparent)]
    DuplicateFunction(#[from] DuplicateFunction),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] BackendError),
    /// Another process already runs the functions of this task hub (the embedded store allows
    /// one).
    #[error("another process is already serving task hub `{hub_name}` from this store")]
    HubBusy {
        /// The task hub.
        hub_name: String,
    },
    /// A client operation failed.
    #[error(transparent)]
    Client(#[from] DurableError),
    /// An orchestration started from the command line did not complete.
    #[error("instance `{instance_id}` {status}: {output}")]
    InstanceNotCompleted {
        /// The instance id.
        instance_id: String,
        /// Its final status.
        status: crate::OrchestrationRuntimeStatus,
        /// Its output or failure message.
        output: serde_json::Value,
    },
    /// An entity read from the command line has no state.
    #[error("entity `{entity_id}` does not exist")]
    EntityNotFound {
        /// The entity's id (`@name@key`).
        entity_id: String,
    },
    /// Serving failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A test host's app still had work in progress after the real-time deadline
    /// ([`TestHost::wait_for_idle`](crate::testing::TestHost::wait_for_idle)).
    #[error("the app was still busy after {waited:?} (real time): {state}")]
    NotIdle {
        /// How long the host waited.
        waited: std::time::Duration,
        /// What the store held at the deadline.
        state: String,
    },
    /// A virtual clock could not be moved.
    #[error(transparent)]
    Clock(#[from] crate::clock::ClockError),
    /// The keys could not be read or created.
    #[error(transparent)]
    Keys(#[from] KeysError),
    /// An HTTP function's route is malformed or taken.
    #[error(transparent)]
    Route(#[from] RouteError),
    /// A timer function's schedule is malformed.
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    /// The app was asked to listen beyond loopback without keys.
    #[error(
        "refusing to serve on {addr} without keys: anyone who can reach it could start and \
         terminate instances. Set DURABLE_MASTER_KEY (and DURABLE_SYSTEM_KEY / \
         DURABLE_FUNCTION_KEY), or pass --generate-keys (DURABLE_GENERATE_KEYS=true) to create \
         them in {keys_file}, readable only by you; or serve on 127.0.0.1"
    )]
    KeysRequired {
        /// The address asked for.
        addr: SocketAddr,
        /// Where generated keys would go.
        keys_file: String,
    },
}

// `main` returning `Err` prints the `Debug` form; make it the readable message.
impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// A function app: every function registered in this binary, run against one task hub.
///
/// ```no_run
/// #[tokio::main]
/// async fn main() -> Result<(), durable::Error> {
///     durable::FunctionApp::from_env()?.run().await // serve, or a CLI subcommand
/// }
/// ```
#[derive(Debug, Clone)]
pub struct FunctionApp {
    config: HostConfig,
}

impl FunctionApp {
    /// An app configured from `host.json` and the environment (see [`HostConfig`]).
    pub fn from_env() -> Result<Self, Error> {
        Ok(FunctionApp { config: HostConfig::from_env()? })
    }

    /// An app with the given configuration.
    pub fn new(config: HostConfig) -> Self {
        FunctionApp { config }
    }

    /// The configuration.
    pub fn config(&self) -> &HostConfig {
        &self.config
    }

    /// Runs the command line of this process: `serve` (the default) or a subcommand; see
    /// `--help`.
    pub async fn run(self) -> Result<(), Error> {
        self.run_with_args(std::env::args_os()).await
    }

    /// Runs the given command line (the first item is the program name).
    pub async fn run_with_args<I, T>(self, args: I) -> Result<(), Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        cli::run(self, args).await
    }

    /// Opens the store, creates a queue per registered function and starts running them.
    ///
    /// Errors with [`Error::HubBusy`] when another process already runs this task hub's
    /// functions from the same SQLite file, and with [`Error::DuplicateFunction`] when two
    /// registrations share a name.
    pub async fn start(self) -> Result<RunningApp, Error> {
        let (backend, registry) = self.open().await?;
        let api = ApiRoutes::new(crate::http::registered())?;
        let keys = self.keys()?;
        let listener = match self.config.http.listen {
            Some(addr) => Some(tokio::net::TcpListener::bind(addr).await?),
            None => None,
        };
        let http_addr = listener.as_ref().map(|l| l.local_addr()).transpose()?;
        if !backend.acquire_dispatch().await? {
            return Err(Error::HubBusy { hub_name: self.config.hub_name });
        }
        let worker = Worker::start(
            backend.clone(),
            registry.clone(),
            self.config.worker.clone(),
            self.config.clock.clone(),
        );
        let origin = crate::http::listen_origin(
            http_addr.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 7071))),
        );
        let client = DurableOrchestrationClient::new(
            backend.clone(),
            registry,
            Some(Arc::new(worker.local())),
        )
        .with_default_version(self.config.worker.default_version.clone())
        .with_limits(self.config.worker.limits)
        .with_clock(self.config.clock.clone())
        .with_webhook(self.webhook(origin.clone(), &keys));
        let (stop, stopped) = watch::channel(false);
        let timers = crate::timer_trigger::start(
            crate::timer_trigger::registered(),
            client.clone(),
            self.config.clock.clone(),
            stopped.clone(),
        )?;
        let http = listener.map(|listener| {
            let state = HostState {
                client: client.clone(),
                keys,
                api,
                max_request_body: self.config.http.max_request_body,
                hub_name: self.config.hub_name.clone(),
                origin,
                route_prefix: self.config.http.route_prefix.clone(),
            };
            crate::http::serve(listener, Arc::new(state), stopped)
        });
        Ok(RunningApp { client, worker, backend, http_addr, stop, http, timers })
    }

    /// The keys in force; refuses to listen beyond loopback without any.
    fn keys(&self) -> Result<HostKeys, Error> {
        let settings = &self.config.http.keys;
        let (keys, generated) = HostKeys::load(settings)?;
        if generated {
            tracing::info!(file = %settings.file.display(), "generated function keys (readable only by this user)");
        }
        if let Some(addr) = self.config.http.listen
            && !addr.ip().is_loopback()
            && !keys.enabled()
        {
            return Err(Error::KeysRequired {
                addr,
                keys_file: settings.file.display().to_string(),
            });
        }
        Ok(keys)
    }

    fn webhook(&self, origin: String, keys: &HostKeys) -> Webhook {
        Webhook {
            origin,
            hub_name: self.config.hub_name.clone(),
            connection: "Storage".to_owned(),
            code: keys.management_code().map(|k| k.expose().to_owned()),
        }
    }

    /// Opens the store as a client only, without running any function: for tools that start
    /// or inspect instances that another process runs.
    pub async fn connect(self) -> Result<DurableOrchestrationClient, Error> {
        let (backend, registry) = self.open().await?;
        // Management URLs made here carry no key: a tool has no business reading them.
        let origin = crate::http::listen_origin(
            self.config.http.listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 7071))),
        );
        Ok(DurableOrchestrationClient::new(backend, registry, None)
            .with_default_version(self.config.worker.default_version.clone())
            .with_limits(self.config.worker.limits)
            .with_clock(self.config.clock.clone())
            .with_webhook(self.webhook(origin, &HostKeys::default())))
    }

    async fn open(&self) -> Result<(Arc<dyn Backend>, Arc<Registry>), Error> {
        let registry = Arc::new(Registry::discover()?);
        let http_functions = crate::http::registered().map(|f| (f.name, f.rust_path));
        let timer_functions = crate::timer_trigger::registered().map(|f| (f.name, f.rust_path));
        check_unique_names(registry.names().chain(http_functions).chain(timer_functions))?;
        let config = &self.config;
        let sqlite = || SqliteOptions {
            synchronous: if config.full_durability {
                Synchronous::Full
            } else {
                Synchronous::Normal
            },
            activity_lease: config.activity_lease,
            hub_name: config.hub_name.clone(),
            clock: config.clock.clone(),
            max_idle_records: config.worker.max_cached_orchestrations,
        };
        let backend: Arc<dyn Backend> = match &config.storage {
            StorageConfig::Sqlite { path } => Arc::new(SqliteBackend::open(path, sqlite())?),
            StorageConfig::InMemory => Arc::new(SqliteBackend::in_memory(sqlite())?),
            StorageConfig::Postgres { url } => {
                let options = PostgresOptions {
                    hub_name: config.hub_name.clone(),
                    lease: config.lease,
                    activity_lease: config.activity_lease,
                    clock: config.clock.clone(),
                    ..PostgresOptions::default()
                };
                Arc::new(PostgresBackend::connect(url, options).await?)
            }
        };
        backend.create_queues(&registry.queues()).await?;
        Ok((backend, registry))
    }
}

/// A started app: its functions run, and its HTTP host serves, until
/// [`shutdown`](RunningApp::shutdown).
pub struct RunningApp {
    client: DurableOrchestrationClient,
    worker: Worker,
    backend: Arc<dyn Backend>,
    http_addr: Option<SocketAddr>,
    /// Tells the HTTP host and the timer functions to stop.
    stop: watch::Sender<bool>,
    http: Option<JoinHandle<std::io::Result<()>>>,
    timers: Vec<JoinHandle<()>>,
}

impl RunningApp {
    /// A client bound to this app's task hub.
    pub fn client(&self) -> DurableOrchestrationClient {
        self.client.clone()
    }

    /// The address the HTTP host listens on, when it serves.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http_addr
    }

    /// Counters of the work done so far.
    pub fn stats(&self) -> RuntimeStats {
        self.worker.stats()
    }

    /// Drops every live orchestration kept in memory; their next turns replay from history.
    pub fn clear_instance_cache(&self) {
        self.worker.clear_instance_cache();
    }

    /// The store this app dispatches.
    pub(crate) fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// Stops taking new work (HTTP requests, timer runs, work items) and waits for the work
    /// in flight.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Some(http) = self.http {
            match http.await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::error!(%error, "the HTTP host failed"),
                Err(error) => tracing::error!(%error, "the HTTP host panicked"),
            }
        }
        for timer in self.timers {
            let _ = timer.await;
        }
        self.worker.shutdown().await;
    }
}
