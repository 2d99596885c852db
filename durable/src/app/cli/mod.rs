//! The app as its own command line: `serve`, and the `func durable` commands.

mod instances;

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};

use super::{Error, FunctionApp, StorageConfig};
use crate::client::{DurableError, EntityQuery, InstanceControl};
use crate::entity::EntityId;

/// A durable function app, on an embedded SQLite task hub or a PostgreSQL one that several
/// processes share.
///
/// Runs the app's orchestrator and activity functions and its HTTP- and timer-triggered client
/// functions; serves the HTTP ones under /api and Azure's management API under
/// /runtime/webhooks/durabletask; starts, inspects and controls instances from the command line.
/// Without a subcommand it serves.
#[derive(Parser, Debug)]
#[command(version)]
struct Cli {
    /// Where the task hub is stored: an SQLite file (`:memory:` for a throwaway one) or a
    /// PostgreSQL URL (`postgres://user@host:port/dbname`); overrides `DURABLE_DB` and
    /// host.json.
    #[arg(long, global = true)]
    db: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

/// The subcommands. Those of Azure Functions Core Tools' `func durable` keep its names and
/// flags (`start-new --function-name --id --input`, …); the short names of earlier versions
/// are aliases, and an instance id may also be given as the first argument.
#[derive(Subcommand, Debug)]
enum Command {
    /// Run the app's functions and serve HTTP until interrupted (the default).
    Serve(ServeArgs),
    /// Start an orchestration and print its output when it completes (`start-new` returns at
    /// once).
    Start {
        /// The orchestrator function name.
        name: String,
        #[command(flatten)]
        start: StartArgs,
        /// Print the instance id and return without waiting for completion.
        #[arg(long)]
        no_wait: bool,
        /// How long to wait for completion, in seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// Start an orchestration and print its instance id (`func durable start-new`).
    StartNew {
        /// The orchestrator function name.
        #[arg(long)]
        function_name: String,
        #[command(flatten)]
        start: StartArgs,
    },
    /// Print an instance's status as JSON (`func durable get-runtime-status`).
    #[command(alias = "status")]
    GetRuntimeStatus {
        #[command(flatten)]
        target: Target,
        /// Include the instance's input.
        #[arg(long)]
        show_input: bool,
        /// Include the instance's output.
        #[arg(long)]
        show_output: bool,
        /// Include the history too (as `get-history` prints it), with inputs and outputs.
        #[arg(long)]
        history: bool,
    },
    /// Print an instance's history as JSON, as the status API shows it (`func durable
    /// get-history`).
    GetHistory {
        #[command(flatten)]
        target: Target,
    },
    /// List instances as JSON, oldest first; prints the continuation token of the next page
    /// on stderr (`func durable get-instances`).
    #[command(alias = "list")]
    GetInstances {
        #[command(flatten)]
        range: CreatedRange,
        /// Only instances with these runtime statuses (comma-separated or repeated).
        #[arg(long, alias = "status", value_delimiter = ',')]
        runtime_status: Vec<String>,
        /// Only instances whose id starts with this.
        #[arg(long)]
        prefix: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        top: usize,
        /// The token printed with the previous page, to list the next one.
        #[arg(long)]
        continuation_token: Option<String>,
    },
    /// Send an event to an instance (`func durable raise-event`).
    RaiseEvent {
        #[command(flatten)]
        target: Target,
        /// The event name.
        #[arg(long = "event-name", value_name = "NAME")]
        event_name_flag: Option<String>,
        /// The event name, after the instance id.
        #[arg(value_name = "EVENT_NAME", conflicts_with = "event_name_flag")]
        event_name: Option<String>,
        /// The event data: JSON, or `@file.json`.
        #[arg(long, alias = "data")]
        event_data: Option<String>,
    },
    /// Terminate an instance (`func durable terminate`).
    Terminate(TreeControl),
    /// Suspend an instance.
    Suspend(TreeControl),
    /// Resume a suspended instance.
    Resume(TreeControl),
    /// Rewind a failed instance (`func durable rewind`).
    Rewind(Control),
    /// List, as JSON, failed instances that hold a quarantined work item (their own failure,
    /// or a call that failed with `Quarantined`); `rewind` retries one.
    Quarantined {
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        top: usize,
    },
    /// Delete finished instances with their histories: the one named, or those created in a
    /// range with the statuses given (all finished ones by default); prints the count as
    /// JSON (`func durable purge-history`).
    #[command(alias = "purge")]
    PurgeHistory {
        /// The instance id, to purge one.
        #[arg(long = "id", value_name = "ID")]
        id: Option<String>,
        /// The instance id, to purge one.
        #[arg(value_name = "INSTANCE_ID", conflicts_with_all = ["id", "created_after", "created_before", "runtime_status"])]
        instance_id: Option<String>,
        #[command(flatten)]
        range: CreatedRange,
        /// Only instances with these runtime statuses (comma-separated or repeated).
        #[arg(long, value_delimiter = ',')]
        runtime_status: Vec<String>,
    },
    /// Delete every instance of the task hub, finished or not, entities too; prints the
    /// count as JSON. Stop the processes serving the hub first (`func durable
    /// delete-task-hub`).
    DeleteTaskHub,
    /// List the task hub's queues with their depth.
    Queues,
    /// Signal an operation to an entity (creating it if need be).
    EntitySignal {
        /// The entity name (an entity function of this app).
        #[arg(long)]
        name: String,
        /// The entity key.
        #[arg(long)]
        key: String,
        /// The operation.
        #[arg(long)]
        op: String,
        /// The operation's input, as JSON.
        #[arg(long)]
        input: Option<String>,
    },
    /// Print an entity's state as JSON; fails when the entity has none.
    EntityGet {
        /// The entity name.
        #[arg(long)]
        name: String,
        /// The entity key.
        #[arg(long)]
        key: String,
    },
    /// List entities as JSON.
    EntityList {
        /// Only entities of this name.
        #[arg(long)]
        name: Option<String>,
        /// Include each entity's state.
        #[arg(long)]
        fetch_state: bool,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        top: usize,
    },
    /// Remove empty entities and release locks held for orchestrations that no longer run;
    /// prints the counts as JSON.
    EntityClean {
        /// Remove entities without state, lock or waiting messages.
        #[arg(long)]
        remove_empty: bool,
        /// Release locks whose owning orchestration no longer exists or has finished.
        #[arg(long)]
        release_orphaned_locks: bool,
    },
}

/// How to serve.
#[derive(clap::Args, Debug, Default)]
struct ServeArgs {
    /// The address to serve HTTP on (default 127.0.0.1:7071, or DURABLE_LISTEN); a bare
    /// port means 127.0.0.1. Beyond loopback, keys are required.
    #[arg(long)]
    listen: Option<String>,
    /// Create the keys file with random keys if it does not exist yet.
    #[arg(long)]
    generate_keys: bool,
}

/// The instance a command acts on: `--id`, or the first argument.
#[derive(clap::Args, Debug)]
struct Target {
    /// The instance id.
    #[arg(long = "id", value_name = "ID")]
    id: Option<String>,
    /// The instance id (instead of `--id`).
    #[arg(value_name = "INSTANCE_ID", conflicts_with = "id")]
    instance_id: Option<String>,
}

impl Target {
    fn instance_id(self) -> Result<String, Error> {
        self.id.or(self.instance_id).ok_or_else(|| Error::Config {
            source_name: "--id".to_owned(),
            message: "the instance id is missing: give it as `--id <ID>`".to_owned(),
        })
    }
}

/// A creation time range, `--created-after` to `--created-before` (RFC 3339 times).
#[derive(clap::Args, Debug)]
struct CreatedRange {
    /// Only instances created at or after this time (RFC 3339, e.g. 2026-12-01T00:00:00Z).
    #[arg(long)]
    created_after: Option<String>,
    /// Only instances created at or before this time (RFC 3339).
    #[arg(long)]
    created_before: Option<String>,
}

/// How `start` and `start-new` start an instance.
#[derive(clap::Args, Debug)]
struct StartArgs {
    /// The instance id (default: a new one).
    #[arg(long = "id", visible_alias = "instance-id", value_name = "ID")]
    id: Option<String>,
    /// The input: JSON, or `@file.json`.
    #[arg(long)]
    input: Option<String>,
    /// When it starts (RFC 3339); it is Pending until then. At once by default.
    #[arg(long)]
    start_at: Option<String>,
}

/// An instance and the reason for acting on it.
#[derive(clap::Args, Debug)]
struct Control {
    #[command(flatten)]
    target: Target,
    /// Why (recorded in the instance's history).
    #[arg(long, default_value = "")]
    reason: String,
}

/// A control that can take an instance's sub-orchestrations along.
#[derive(clap::Args, Debug)]
struct TreeControl {
    #[command(flatten)]
    control: Control,
    /// Apply it to the instance's sub-orchestrations too, recursively.
    #[arg(long)]
    recursive: bool,
}

impl TreeControl {
    async fn apply(self, app: FunctionApp, control: InstanceControl) -> Result<(), Error> {
        let TreeControl { control: Control { target, reason }, recursive } = self;
        let instance_id = target.instance_id()?;
        let client = app.connect().await?;
        Ok(client.control(&instance_id, reason, control, recursive).await?)
    }
}

pub(super) async fn run<I, T>(app: FunctionApp, args: I) -> Result<(), Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = Cli::parse_from(args);
    init_logging(&app.config.log_levels);
    let ran = run_command(app, cli).await;
    #[cfg(feature = "otel")]
    crate::telemetry::otel::shutdown();
    ran
}

async fn run_command(mut app: FunctionApp, cli: Cli) -> Result<(), Error> {
    if let Some(db) = &cli.db {
        app.config.storage = StorageConfig::parse(db.as_os_str());
    }
    match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Serve(args) => {
            if let Some(listen) = args.listen {
                let addr = super::config::parse_listen(&listen).map_err(|message| {
                    Error::Config { source_name: "--listen".to_owned(), message }
                })?;
                app.config.http.listen = Some(addr);
            }
            app.config.http.keys.generate |= args.generate_keys;
            serve(app).await
        }
        Command::Start { name, start, no_wait, timeout } => {
            let request = start.request(name, no_wait, Duration::from_secs(timeout))?;
            instances::start(app, request).await
        }
        Command::StartNew { function_name, start } => {
            let request = start.request(function_name, true, Duration::ZERO)?;
            instances::start(app, request).await
        }
        Command::GetRuntimeStatus { target, show_input, show_output, history } => {
            let client = app.connect().await?;
            let shown = instances::Shown { input: show_input, output: show_output, history };
            print_json(&instances::status(&client, &target.instance_id()?, shown).await?)
        }
        Command::GetHistory { target } => {
            let client = app.connect().await?;
            print_json(&instances::history(&client, &target.instance_id()?).await?)
        }
        Command::GetInstances { range, runtime_status, prefix, top, continuation_token } => {
            let condition = crate::client::OrchestrationStatusQueryCondition {
                runtime_status: statuses("--runtime-status", &runtime_status)?,
                created_time_from: range.from()?,
                created_time_to: range.to()?,
                instance_id_prefix: prefix,
                page_size: top,
                continuation_token,
                ..Default::default()
            };
            let page = app.connect().await?.list_instances(&condition).await?;
            print_json(&page.durable_orchestration_state)?;
            if let Some(token) = page.continuation_token {
                eprintln!("continuation token: {token}");
            }
            Ok(())
        }
        Command::RaiseEvent { target, event_name_flag, event_name, event_data } => {
            let event_name = event_name_flag.or(event_name).ok_or_else(|| Error::Config {
                source_name: "--event-name".to_owned(),
                message: "the event name is missing: give it as `--event-name <NAME>`".to_owned(),
            })?;
            let instance_id = target.instance_id()?;
            let data = json_arg("--event-data", event_data)?;
            let client = app.connect().await?;
            client.raise_event(&instance_id, &event_name, data).await?;
            Ok(())
        }
        Command::Terminate(c) => c.apply(app, InstanceControl::Terminate).await,
        Command::Suspend(c) => c.apply(app, InstanceControl::Suspend).await,
        Command::Resume(c) => c.apply(app, InstanceControl::Resume).await,
        Command::Rewind(Control { target, reason }) => {
            let instance_id = target.instance_id()?;
            Ok(app.connect().await?.rewind(&instance_id, reason).await?)
        }
        Command::Quarantined { top } => {
            let client = app.connect().await?;
            print_json(&instances::quarantined(&client, top).await?)
        }
        Command::PurgeHistory { id, instance_id, range, runtime_status } => {
            let client = app.connect().await?;
            let purged = match id.or(instance_id) {
                Some(instance_id) => client.purge_instance_history(&instance_id).await?,
                None => {
                    let statuses = statuses("--runtime-status", &runtime_status)?;
                    let from = range.from()?.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
                    instances::purge(&client, from, range.to()?, &statuses).await?
                }
            };
            print_json(&purged)
        }
        Command::DeleteTaskHub => print_json(&app.connect().await?.delete_task_hub().await?),
        Command::EntitySignal { name, key, op, input } => {
            let input = json_arg("--input", input)?;
            let client = app.connect().await?;
            client.check_entity_registered(&name)?;
            let id = EntityId::new(&name, key).map_err(DurableError::from)?;
            Ok(client.signal_entity(&id, &op, input).await?)
        }
        Command::EntityGet { name, key } => {
            let id = EntityId::new(&name, key).map_err(DurableError::from)?;
            let read = app.connect().await?.read_entity_state::<serde_json::Value>(&id).await?;
            match read.entity_state {
                Some(state) => print_json(&state),
                None => Err(Error::EntityNotFound { entity_id: id.to_string() }),
            }
        }
        Command::EntityList { name, fetch_state, top } => {
            let query = EntityQuery {
                entity_name: name,
                fetch_state,
                page_size: top,
                ..Default::default()
            };
            let page = app.connect().await?.list_entities(&query).await?;
            print_json(&page.entities)
        }
        Command::EntityClean { remove_empty, release_orphaned_locks } => {
            let client = app.connect().await?;
            print_json(&client.clean_entity_storage(remove_empty, release_orphaned_locks).await?)
        }
        Command::Queues => {
            let client = app.connect().await?;
            println!("{:<40} {:<13} {:>8}", "QUEUE", "KIND", "DEPTH");
            for queue in client.list_queues().await? {
                println!("{:<40} {:<13} {:>8}", queue.name, queue.kind.as_str(), queue.depth);
            }
            Ok(())
        }
    }
}

async fn serve(app: FunctionApp) -> Result<(), Error> {
    let hub = app.config.hub_name.clone();
    let app_prefix = app.config.http.route_prefix.clone();
    let running = app.start().await?;
    if let Some(addr) = running.http_addr() {
        let origin = crate::http::listen_origin(addr);
        tracing::info!("listening on {origin}");
        for function in crate::http::registered() {
            let methods = match function.methods {
                [] => "*".to_owned(),
                methods => methods.join(","),
            };
            let prefix = match app_prefix.as_str() {
                "" => String::new(),
                prefix => format!("{prefix}/"),
            };
            tracing::info!("{}: [{methods}] {origin}/{prefix}{}", function.name, function.route);
        }
    }
    for function in crate::timer_trigger::registered() {
        tracing::info!("{}: timerTrigger ({})", function.name, function.schedule);
    }
    tracing::info!(hub, "serving; press Ctrl+C to stop");
    shutdown_signal().await?;
    tracing::info!("shutting down");
    running.shutdown().await;
    Ok(())
}

/// Parses a JSON command-line value, inline or `@file.json` (as Core Tools); `null` when
/// absent.
fn json_arg(name: &str, text: Option<String>) -> Result<serde_json::Value, Error> {
    let invalid = |message: String| Error::Config { source_name: name.to_owned(), message };
    let Some(text) = text else {
        return Ok(serde_json::Value::Null);
    };
    let (text, what) = match text.strip_prefix('@') {
        Some(path) => {
            let read = std::fs::read_to_string(path)
                .map_err(|e| invalid(format!("cannot read `{path}`: {e}")))?;
            (read, format!("`{path}` is not valid JSON"))
        }
        None => (text, "not valid JSON".to_owned()),
    };
    serde_json::from_str(&text).map_err(|e| invalid(format!("{what}: {e}")))
}

/// Parses runtime status names (any case).
fn statuses(flag: &str, names: &[String]) -> Result<Vec<crate::OrchestrationRuntimeStatus>, Error> {
    names
        .iter()
        .map(|name| {
            crate::OrchestrationRuntimeStatus::parse(name.trim()).ok_or_else(|| Error::Config {
                source_name: flag.to_owned(),
                message: format!("unknown runtime status `{name}`"),
            })
        })
        .collect()
}

impl CreatedRange {
    fn from(&self) -> Result<Option<DateTime<Utc>>, Error> {
        time_arg("--created-after", self.created_after.as_deref())
    }

    fn to(&self) -> Result<Option<DateTime<Utc>>, Error> {
        time_arg("--created-before", self.created_before.as_deref())
    }
}

/// Parses an RFC 3339 time (a bare date means its midnight, UTC).
fn time_arg(flag: &str, text: Option<&str>) -> Result<Option<DateTime<Utc>>, Error> {
    let Some(text) = text else {
        return Ok(None);
    };
    let parsed =
        DateTime::parse_from_rfc3339(text).map(|time| time.with_timezone(&Utc)).or_else(|_| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(|date| date.and_time(chrono::NaiveTime::MIN).and_utc())
        });
    parsed.map(Some).map_err(|_| Error::Config {
        source_name: flag.to_owned(),
        message: format!("`{text}` is not a time: expected RFC 3339, e.g. 2026-12-01T00:00:00Z"),
    })
}

impl StartArgs {
    fn request(
        self,
        name: String,
        no_wait: bool,
        timeout: Duration,
    ) -> Result<instances::StartRequest, Error> {
        Ok(instances::StartRequest {
            name,
            input: json_arg("--input", self.input)?,
            options: crate::client::StartOrchestrationOptions {
                instance_id: self.id,
                version: None,
                start_at: time_arg("--start-at", self.start_at.as_deref())?,
            },
            no_wait,
            timeout,
        })
    }
}

fn print_json(value: &impl serde::Serialize) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    println!("{text}");
    Ok(())
}

async fn shutdown_signal() -> Result<(), Error> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    Ok(())
}

/// Logs to stderr, filtered by `RUST_LOG`, else by host.json's `logging.logLevel`, else at
/// `info`; without the lines orchestrator code writes while it replays (see
/// [`crate::logging`]).
fn init_logging(levels: &super::LogLevels) {
    use tracing_subscriber::prelude::*;
    let mut functions: Vec<(&str, &str)> = match crate::registry::Registry::discover() {
        Ok(registry) => registry.names().collect(),
        // Refused again, with its message, when the app starts.
        Err(_) => Vec::new(),
    };
    functions.extend(crate::http::registered().map(|f| (f.name, f.rust_path)));
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        let directives =
            levels.directives(functions.iter().copied()).unwrap_or_else(|| "info".to_owned());
        tracing_subscriber::EnvFilter::new(directives)
    });
    let registry = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .with_filter(crate::logging::replay_safe()),
    );
    // The runtime's own spans are exported with their recorded ids (`telemetry::otel`).
    #[cfg(feature = "otel")]
    let registry = registry.with(crate::telemetry::otel::install().map(|tracer| {
        tracing_opentelemetry::layer().with_tracer(tracer).with_filter(
            tracing_subscriber::filter::filter_fn(|meta| meta.target() != "durable::telemetry"),
        )
    }));
    let _ = registry.try_init();
}
