use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use super::{Error, FunctionApp, StorageConfig};
use crate::client::{DurableError, DurableOrchestrationClient, EntityQuery, InstanceControl};
use crate::entity::EntityId;
use crate::history::{EventKind, FailureKind};

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

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the app's functions and serve HTTP until interrupted (the default).
    Serve(ServeArgs),
    /// Start an orchestration and print its output when it completes.
    Start {
        /// The orchestrator function name.
        name: String,
        /// The input, as JSON.
        #[arg(long)]
        input: Option<String>,
        /// The instance id (default: a new one).
        #[arg(long)]
        instance_id: Option<String>,
        /// Print the instance id and return without waiting for completion.
        #[arg(long)]
        no_wait: bool,
        /// How long to wait for completion, in seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// Print an instance's status as JSON.
    Status {
        /// The instance id.
        instance_id: String,
        /// Include the history.
        #[arg(long)]
        history: bool,
    },
    /// List instances as JSON, newest last.
    List {
        /// Only instances with this runtime status (repeatable).
        #[arg(long = "status")]
        statuses: Vec<String>,
        /// Only instances whose id starts with this.
        #[arg(long)]
        prefix: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        top: usize,
    },
    /// Send an event to an instance.
    RaiseEvent {
        /// The instance id.
        instance_id: String,
        /// The event name.
        event_name: String,
        /// The event data, as JSON.
        #[arg(long)]
        data: Option<String>,
    },
    /// Terminate an instance.
    Terminate(TreeControl),
    /// Suspend an instance.
    Suspend(TreeControl),
    /// Resume a suspended instance.
    Resume(TreeControl),
    /// Rewind a failed instance.
    Rewind(Control),
    /// List, as JSON, failed instances that hold a quarantined work item (their own failure,
    /// or a call that failed with `Quarantined`); `rewind` retries one.
    Quarantined {
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        top: usize,
    },
    /// Delete a finished instance and its history.
    Purge {
        /// The instance id.
        instance_id: String,
    },
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

/// An instance and the reason for acting on it.
#[derive(clap::Args, Debug)]
struct Control {
    /// The instance id.
    instance_id: String,
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
        let TreeControl { control: Control { instance_id, reason }, recursive } = self;
        let client = app.connect().await?;
        Ok(client.control(&instance_id, reason, control, recursive).await?)
    }
}

pub(super) async fn run<I, T>(mut app: FunctionApp, args: I) -> Result<(), Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = Cli::parse_from(args);
    init_logging();
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
        Command::Start { name, input, instance_id, no_wait, timeout } => {
            let request = StartRequest {
                name,
                input: json_arg("--input", input)?,
                instance_id,
                no_wait,
                timeout: Duration::from_secs(timeout),
            };
            start(app, request).await
        }
        Command::Status { instance_id, history } => {
            let client = app.connect().await?;
            let status = if history {
                client.get_status_with_history(&instance_id).await?
            } else {
                client.get_status(&instance_id).await?
            };
            match status {
                Some(status) => print_json(&status),
                None => Err(crate::client::DurableError::InstanceNotFound { instance_id }.into()),
            }
        }
        Command::List { statuses, prefix, top } => {
            let runtime_status = statuses
                .iter()
                .map(|name| {
                    crate::OrchestrationRuntimeStatus::parse(name).ok_or_else(|| Error::Config {
                        source_name: "--status".to_owned(),
                        message: format!("unknown runtime status `{name}`"),
                    })
                })
                .collect::<Result<_, _>>()?;
            let condition = crate::client::OrchestrationStatusQueryCondition {
                runtime_status,
                instance_id_prefix: prefix,
                page_size: top,
                ..Default::default()
            };
            let page = app.connect().await?.list_instances(&condition).await?;
            print_json(&page.durable_orchestration_state)
        }
        Command::RaiseEvent { instance_id, event_name, data } => {
            let data = json_arg("--data", data)?;
            let client = app.connect().await?;
            client.raise_event(&instance_id, &event_name, data).await?;
            Ok(())
        }
        Command::Terminate(c) => c.apply(app, InstanceControl::Terminate).await,
        Command::Suspend(c) => c.apply(app, InstanceControl::Suspend).await,
        Command::Resume(c) => c.apply(app, InstanceControl::Resume).await,
        Command::Rewind(c) => Ok(app.connect().await?.rewind(&c.instance_id, c.reason).await?),
        Command::Quarantined { top } => {
            let client = app.connect().await?;
            print_json(&quarantined(&client, top).await?)
        }
        Command::Purge { instance_id } => {
            let purged = app.connect().await?.purge_instance_history(&instance_id).await?;
            print_json(&purged)
        }
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

/// Up to `top` failed instances that hold a quarantined work item: failed with
/// [`FailureKind::Quarantined`] themselves, or holding a `TaskFailed` of that kind (a
/// quarantined activity whose failure the orchestrator did not catch).
async fn quarantined(
    client: &DurableOrchestrationClient,
    top: usize,
) -> Result<Vec<serde_json::Value>, Error> {
    let mut found = Vec::new();
    let mut condition = crate::client::OrchestrationStatusQueryCondition {
        runtime_status: vec![crate::OrchestrationRuntimeStatus::Failed],
        ..Default::default()
    };
    loop {
        let page = client.list_instances(&condition).await?;
        for status in page.durable_orchestration_state {
            let Some(full) = client.get_status_with_history(&status.instance_id).await? else {
                continue;
            };
            let failed_call = full.history.iter().flatten().find_map(|event| match &event.kind {
                EventKind::TaskFailed { failure_details, .. }
                    if failure_details.error_type == FailureKind::Quarantined =>
                {
                    Some(failure_details.error_message.clone())
                }
                _ => None,
            });
            let own = full
                .failure_details
                .as_ref()
                .filter(|failure| failure.error_type == FailureKind::Quarantined)
                .map(|failure| failure.error_message.clone());
            if let Some(message) = own.or(failed_call) {
                found.push(serde_json::json!({
                    "instanceId": full.instance_id,
                    "name": full.name,
                    "lastUpdatedTime": full.last_updated_time,
                    "quarantined": message,
                }));
                if found.len() >= top {
                    return Ok(found);
                }
            }
        }
        match page.continuation_token {
            Some(token) => condition.continuation_token = Some(token),
            None => return Ok(found),
        }
    }
}

async fn serve(app: FunctionApp) -> Result<(), Error> {
    let hub = app.config.hub_name.clone();
    let running = app.start().await?;
    if let Some(addr) = running.http_addr() {
        let origin = crate::http::listen_origin(addr);
        tracing::info!("listening on {origin}");
        for function in crate::http::registered() {
            let methods = match function.methods {
                [] => "*".to_owned(),
                methods => methods.join(","),
            };
            tracing::info!("{}: [{methods}] {origin}/api/{}", function.name, function.route);
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

/// What `start` was asked to do.
struct StartRequest {
    name: String,
    input: serde_json::Value,
    instance_id: Option<String>,
    no_wait: bool,
    timeout: Duration,
}

/// Starts an instance; runs it in this process (without serving HTTP) unless another process
/// serves the hub.
async fn start(mut app: FunctionApp, request: StartRequest) -> Result<(), Error> {
    app.config.http.listen = None;
    let (client, running) = match app.clone().start().await {
        Ok(running) => (running.client(), Some(running)),
        Err(Error::HubBusy { .. }) => (app.connect().await?, None),
        Err(other) => return Err(other),
    };
    let result = start_and_wait(&client, request).await;
    if let Some(running) = running {
        running.shutdown().await;
    }
    result
}

async fn start_and_wait(
    client: &DurableOrchestrationClient,
    request: StartRequest,
) -> Result<(), Error> {
    let instance_id =
        client.start_new(&request.name, request.instance_id.as_deref(), request.input).await?;
    if request.no_wait {
        println!("{instance_id}");
        return Ok(());
    }
    eprintln!("started instance {instance_id}; waiting for it to finish");
    let status = client.wait_for_completion(&instance_id, request.timeout).await?;
    if status.runtime_status != crate::OrchestrationRuntimeStatus::Completed {
        return Err(Error::InstanceNotCompleted {
            instance_id,
            status: status.runtime_status,
            output: status.output,
        });
    }
    print_json(&status.output)
}

/// Parses a JSON command-line value; `null` when absent.
fn json_arg(name: &str, text: Option<String>) -> Result<serde_json::Value, Error> {
    match text {
        None => Ok(serde_json::Value::Null),
        Some(text) => serde_json::from_str(&text).map_err(|e| Error::Config {
            source_name: name.to_owned(),
            message: format!("not valid JSON: {e}"),
        }),
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

/// Logs to stderr, filtered by `RUST_LOG` (default `info`), without the lines orchestrator
/// code writes while it replays (see [`crate::logging`]).
fn init_logging() {
    use tracing_subscriber::prelude::*;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(filter)
                .with_filter(crate::logging::replay_safe()),
        )
        .try_init();
}
