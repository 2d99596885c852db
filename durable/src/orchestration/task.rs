use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde::de::DeserializeOwned;

use super::context::{SharedState, TaskOutcome};
use crate::error::FunctionFailed;
use crate::function::BoxFuture;
use crate::history::{FailureDetails, FailureKind};

/// A composite durable operation (a call with retries, an event wait with a timeout): await it
/// for the output. It owns everything it needs, so it can be collected, stored or raced like
/// any other task; what it does is scheduled as it goes.
pub type DurableFuture<T> = BoxFuture<'static, Result<T, FunctionFailed>>;

/// The pending result of a durable call (`Task<T>` in C#); await it for the output.
///
/// The call is scheduled when the task is created, not when it is awaited, so creating several
/// tasks and then awaiting [`when_all`] runs them in parallel.
#[must_use = "a durable task does nothing useful unless awaited"]
pub struct DurableTask<T> {
    inner: Inner,
    _output: PhantomData<fn() -> T>,
}

enum Inner {
    Waiting {
        state: SharedState,
        id: i64,
        /// The called function, or the awaited event's name.
        label: Arc<str>,
        source: Source,
    },
    Failed(Option<FunctionFailed>),
    Done,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    /// A call (activity): its outcome is recorded in history.
    Call,
    /// A wait for an external event.
    Event,
}

impl<T> DurableTask<T> {
    pub(super) fn waiting(state: SharedState, event_id: i64, function: Arc<str>) -> Self {
        Self::with(Inner::Waiting { state, id: event_id, label: function, source: Source::Call })
    }

    pub(super) fn event_wait(state: SharedState, id: i64, name: Arc<str>) -> Self {
        Self::with(Inner::Waiting { state, id, label: name, source: Source::Event })
    }

    pub(super) fn failed(error: FunctionFailed) -> Self {
        Self::with(Inner::Failed(Some(error)))
    }

    fn with(inner: Inner) -> Self {
        DurableTask { inner, _output: PhantomData }
    }
}

impl<T> Drop for DurableTask<T> {
    /// A dropped event wait is withdrawn; an event already handed to it goes back to the
    /// front of its buffer, so no event is lost to a wait nobody awaits.
    fn drop(&mut self) {
        if let Inner::Waiting { state, id, label, source: Source::Event } = &self.inner {
            state.with(|s| s.cancel_event_wait(label, *id));
        }
    }
}

impl<T> Unpin for DurableTask<T> {}

/// Why a `DurableTask` awaited again panics: its output was already taken, and waiting for a
/// second one would hang the orchestration forever.
const POLLED_AFTER_COMPLETION: &str = "`DurableTask` polled after it completed: its output \
     was already returned; await each task once";

impl<T: DeserializeOwned> Future for DurableTask<T> {
    type Output = Result<T, FunctionFailed>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let result = match &mut self.inner {
            Inner::Waiting { state, id, label, source } => {
                let outcome = state.with(|s| {
                    let outcome = s.results.remove(id);
                    if outcome.is_none() {
                        s.waiters.insert(*id, cx.waker().clone());
                    }
                    outcome
                });
                let what = match source {
                    Source::Call => format!("the output of `{label}`"),
                    Source::Event => format!("the data of event `{label}`"),
                };
                match outcome {
                    None => return Poll::Pending,
                    Some(TaskOutcome::Completed(value)) => {
                        T::deserialize(value).map_err(|e| FunctionFailed {
                            function: label.to_string(),
                            details: FailureDetails::new(
                                FailureKind::OutputTypeMismatch,
                                format!("{what} does not deserialize into the awaited type: {e}"),
                            ),
                        })
                    }
                    Some(TaskOutcome::Failed(details)) => {
                        Err(FunctionFailed { function: label.to_string(), details })
                    }
                }
            }
            Inner::Failed(error) => match error.take() {
                Some(error) => Err(error),
                None => panic!("{POLLED_AFTER_COMPLETION}"),
            },
            Inner::Done => panic!("{POLLED_AFTER_COMPLETION}"),
        };
        self.inner = Inner::Done;
        Poll::Ready(result)
    }
}

/// Waits for every task, then returns their outputs in order, or the first error in order
/// (`Task.WhenAll` in C#: it also waits for all before reporting a failure).
///
/// Cost is proportional to the number of tasks that complete, not to tasks × completions, so
/// fanning out to thousands of activities stays cheap.
///
/// ```no_run
/// # use durable::prelude::*;
/// # async fn f(context: DurableOrchestrationContext) -> Result<u64, FunctionFailed> {
/// let tasks: Vec<_> = ["a.txt", "b.txt"]
///     .iter()
///     .map(|file| context.call_activity::<u64>("E2_CopyFileToBlob", file))
///     .collect();
/// let sizes = when_all(tasks).await?;
/// Ok(sizes.iter().sum())
/// # }
/// ```
pub async fn when_all<F, T, E>(tasks: impl IntoIterator<Item = F>) -> Result<Vec<T>, E>
where
    F: Future<Output = Result<T, E>>,
{
    futures::future::join_all(tasks).await.into_iter().collect()
}

/// Waits for the first task to finish and returns its index and output (`Task.WhenAny` in
/// C#). The other tasks are dropped; their results, when they arrive, are ignored.
///
/// # Panics
///
/// Panics when given no tasks, since none could ever finish; in an orchestrator the panic
/// fails the instance with that message.
pub async fn when_any<F: Future>(tasks: impl IntoIterator<Item = F>) -> (usize, F::Output) {
    let mut racing: FuturesUnordered<_> = tasks
        .into_iter()
        .enumerate()
        .map(|(index, task)| async move { (index, task.await) })
        .collect();
    match racing.next().await {
        Some(first) => first,
        None => panic!("when_any needs at least one task"),
    }
}
