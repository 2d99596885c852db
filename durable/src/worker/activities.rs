use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use tokio::sync::{oneshot, watch};

use super::limits::FunctionLimits;
use super::orchestrations::{self, LocalResult};
use super::{Counters, FETCH_WAIT, Shared, dispatch_loop};
use crate::activity::DurableActivityContext;
use crate::backend::{ActivityWorkItem, BackendError, OrchestrationWorkItem, WorkItemLock};
use crate::function::panic_message;
use crate::history::{
    EventKind, FailureDetails, FailureKind, HistoryEvent, Limit, OrchestrationMessage,
};

pub(super) async fn dispatch(shared: Arc<Shared>, stopped: watch::Receiver<bool>) {
    let backend = shared.backend.clone();
    let limits =
        Arc::new(FunctionLimits::new(&shared.registry, &shared.options.function_max_concurrency));
    dispatch_loop(
        "activity",
        &*shared.backend,
        shared.options.max_concurrent_activity_functions,
        stopped,
        |max| {
            let backend = backend.clone();
            // Only what the limited functions have room for: the store leaves the rest queued.
            let queue_limits = limits.queue_limits();
            async move { backend.fetch_activities(max, &queue_limits, FETCH_WAIT).await }
        },
        |item| {
            let running = limits.start(&item.request.name);
            let run = run_activity(shared.clone(), item);
            async move {
                run.await;
                drop(running);
            }
        },
    )
    .await;
}

/// Runs one activity invocation and reports its outcome to the calling instance. An `Err`,
/// a panic or a missing function all become `TaskFailed`.
async fn run_activity(shared: Arc<Shared>, item: ActivityWorkItem) {
    let ActivityWorkItem { request, lock, attempt, .. } = item;
    Counters::add(&shared.counters.activities_run, 1);
    tracing::debug!(
        instance_id = %request.instance_id,
        task_scheduled_id = request.task_scheduled_id,
        name = %request.name,
        "activity started"
    );
    let task_scheduled_id = request.task_scheduled_id;
    let max_attempts = shared.options.max_work_item_attempts;
    let registration = shared.registry.activity(&request.name);
    let outcome = match registration {
        // Fetched more often than allowed: its runs crashed the process or were abandoned
        // each time, so running it again would only loop. Fail the call instead.
        _ if attempt > max_attempts => {
            tracing::error!(
                instance_id = %request.instance_id,
                task_scheduled_id,
                name = %request.name,
                attempt,
                "activity work item quarantined"
            );
            Err(quarantined(&request.name, attempt - 1))
        }
        None => Err(FailureDetails::new(
            FailureKind::FunctionNotFound,
            format!("no activity function named `{}` is registered in this app", request.name),
        )),
        Some(registration) => {
            let (cancel, cancellation) = watch::channel(false);
            // Dropped with this run, which ends the watch.
            let (_running, done) = oneshot::channel::<()>();
            tokio::spawn(watch_caller(
                shared.clone(),
                request.instance_id.clone(),
                request.execution_id.clone(),
                cancel,
                done,
            ));
            let context = DurableActivityContext::new(
                request.name.as_str(),
                request.instance_id.as_str(),
                request.input,
            )
            .cancelled_by(cancellation);
            let run = AssertUnwindSafe((registration.invoke)(context)).catch_unwind();
            let mut past_deadline = shared.past_deadline.clone();
            let shutdown = async move {
                let _ = past_deadline.wait_for(|past| *past).await;
            };
            let ran = tokio::select! {
                ran = renewing_lease(&shared, &lock, run) => Some(ran),
                () = shutdown => None,
            };
            let Some(ran) = ran else {
                tracing::warn!(
                    task_scheduled_id,
                    "activity stopped by shutdown; its work item is released to run again"
                );
                // The shutdown stopped it, not its own doing: the attempt does not count.
                if let Err(error) = shared.backend.release_activity(&lock).await {
                    tracing::debug!(%error, "releasing an activity work item: nothing to release");
                }
                return;
            };
            let Some(outcome) = ran else {
                tracing::warn!(
                    task_scheduled_id,
                    "activity stopped: its lease was taken over, so its result would not count"
                );
                return;
            };
            outcome.unwrap_or_else(|panic| {
                Err(FailureDetails::new(FailureKind::Panic, panic_message(panic.as_ref())))
            })
        }
    };
    // An output over `maxOutputSize` fails the task rather than reach the store.
    let what = || format!("the output of activity `{}`", request.name);
    let outcome = outcome.and_then(|result| {
        let checked = shared.options.limits.check(Limit::Output, what(), &result);
        checked.map(|()| result).map_err(|exceeded| exceeded.failure())
    });
    let kind = match outcome {
        Ok(result) => EventKind::TaskCompleted { task_scheduled_id, result },
        Err(failure_details) => EventKind::TaskFailed { task_scheduled_id, failure_details },
    };
    let message = OrchestrationMessage {
        visible_at: None,
        instance_id: request.instance_id,
        execution_id: Some(request.execution_id),
        event: HistoryEvent::new(shared.clock.now(), kind),
    };
    // Only a first attempt runs its caller's turn here: should that turn crash the process,
    // the result is then delivered as a message, whose turn counts its own attempts.
    let local =
        if attempt == 1 { lock_for_local_turn(&shared, &message.instance_id).await } else { None };
    if let Some(item) = local {
        let local = LocalResult { message: message.clone(), lease: lock.clone() };
        if orchestrations::run_turn(shared.clone(), item, Some(local)).await {
            return;
        }
        // The local turn did not commit: deliver the result the ordinary way below, rather
        // than run a successful activity again.
    }
    match shared.backend.complete_activity(&lock, message).await {
        Ok(()) => {}
        // Nothing was recorded. If the lease lapsed, the item was handed out again and that
        // run reports instead.
        Err(error) if error.is_retryable() => {
            tracing::warn!(task_scheduled_id, %error, "activity result dropped; it will run again");
            abandon(&shared, &lock).await;
        }
        Err(error) => {
            tracing::error!(%error, "the store refused an activity result; it will run again");
            abandon(&shared, &lock).await;
        }
    }
}

/// The failure of an activity call whose work item was set aside after `attempts` runs.
fn quarantined(name: &str, attempts: u32) -> FailureDetails {
    FailureDetails::new(
        FailureKind::Quarantined,
        format!(
            "activity `{name}` quarantined after {attempts} attempts: its processing crashed \
             or was abandoned each time"
        ),
    )
}

/// How often a running activity's caller is looked at, besides the notices of instances
/// finishing: a purge or a finish in another process is noticed within this.
const CALLER_CHECK: Duration = Duration::from_secs(5);

/// Cancels a running activity (`cancel`) once its caller, execution `execution_id` of
/// `instance_id`, no longer waits for it: finished (terminated, also while suspended, or
/// otherwise), replaced by a new execution, or purged. Returns when the activity is `done`.
async fn watch_caller(
    shared: Arc<Shared>,
    instance_id: String,
    execution_id: String,
    cancel: watch::Sender<bool>,
    mut done: oneshot::Receiver<()>,
) {
    loop {
        let finished = shared.completions.subscribe(&instance_id);
        tokio::select! {
            _ = &mut done => break,
            _ = finished => {}
            () = tokio::time::sleep(CALLER_CHECK) => {}
        }
        let waits = match shared.backend.get_instance(&instance_id).await {
            Ok(Some(record)) => {
                record.execution_id == execution_id && !record.runtime_status.is_terminal()
            }
            Ok(None) => false,
            // The store is unreachable: no news, look again later.
            Err(_) => true,
        };
        if !waits {
            let _ = cancel.send(true);
            break;
        }
    }
    shared.completions.unsubscribe_closed(&instance_id);
}

/// Runs `work` while renewing its lease (at a third of the lease period); `None` when the
/// lease is lost meanwhile: another worker runs the item now, and this run is dropped.
/// A renewal that fails for another reason (a lost connection) is tried again at the next
/// tick: the lease may well still hold.
async fn renewing_lease<F: Future>(
    shared: &Shared,
    lock: &WorkItemLock,
    work: F,
) -> Option<F::Output> {
    let Some(lease) = shared.backend.activity_lease() else {
        return Some(work.await);
    };
    let every = (lease / 3).max(Duration::from_millis(10));
    tokio::pin!(work);
    loop {
        tokio::select! {
            output = &mut work => return Some(output),
            () = tokio::time::sleep(every) => match shared.backend.renew_activity(lock).await {
                Ok(()) => {}
                Err(BackendError::LockLost { .. }) => return None,
                Err(error) => tracing::warn!(%error, "renewing an activity lease failed"),
            },
        }
    }
}

/// Locks the calling instance for a turn run right here, when its live run is cached in this
/// process and nobody holds its lock: the result then reaches the orchestrator without a
/// separate commit and dispatch.
async fn lock_for_local_turn(shared: &Shared, instance_id: &str) -> Option<OrchestrationWorkItem> {
    if !orchestrations::is_cached(shared, instance_id) {
        return None;
    }
    match shared.backend.try_lock_orchestration(instance_id).await {
        Ok(item) => item,
        Err(error) => {
            tracing::warn!(%error, "locking an instance for a local turn failed");
            None
        }
    }
}

async fn abandon(shared: &Shared, lock: &WorkItemLock) {
    match shared.backend.abandon_activity(lock).await {
        Ok(()) => {}
        // The lease is already gone (or the store is closing): nothing is left to release.
        Err(error) if error.is_retryable() => {
            tracing::debug!(%error, "abandoning an activity work item: nothing to release");
        }
        Err(error) => tracing::error!(%error, "abandoning an activity work item failed"),
    }
}
