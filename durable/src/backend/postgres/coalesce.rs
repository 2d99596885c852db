//! Callers that need the same kind of round trip at the same time share one: a caller joins
//! a queue and, while fewer than the allowed number of leaders run, starts one (in a task of
//! its own, so that a caller that gives up waiting strands nobody). A leader takes what is
//! queued, serves it, answers each caller, and goes on until the queue is empty.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use tokio::sync::oneshot;

use crate::backend::{BackendError, Result};

/// A caller's request and where its answer goes.
pub(super) struct Request<T, R> {
    pub(super) item: T,
    pub(super) reply: oneshot::Sender<Result<R>>,
}

/// Requests waiting for a leader, and how many leaders run.
pub(super) struct Coalescer<T, R> {
    state: Mutex<State<T, R>>,
    leaders: usize,
}

struct State<T, R> {
    waiting: VecDeque<Request<T, R>>,
    leading: usize,
}

impl<T, R> Coalescer<T, R> {
    /// A queue served by at most `leaders` leaders at once.
    pub(super) fn new(leaders: usize) -> Self {
        Coalescer { state: Mutex::new(State { waiting: VecDeque::new(), leading: 0 }), leaders }
    }

    /// Queues `item`; the receiver of its answer, and whether the caller must start a leader.
    pub(super) fn join(&self, item: T) -> (oneshot::Receiver<Result<R>>, bool) {
        let (reply, answer) = oneshot::channel();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.waiting.push_back(Request { item, reply });
        let lead = state.leading < self.leaders;
        state.leading += usize::from(lead);
        (answer, lead)
    }

    /// For a leader: what it serves next, chosen by `pick` from the queue (what `pick`
    /// leaves waits for a later round); `None` once nothing waits, and the leader is done.
    pub(super) fn next(
        &self,
        pick: impl FnOnce(&mut VecDeque<Request<T, R>>) -> Vec<Request<T, R>>,
    ) -> Option<Vec<Request<T, R>>> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.waiting.is_empty() {
            state.leading -= 1;
            return None;
        }
        Some(pick(&mut state.waiting))
    }
}

/// Waits for the answer to a request; a leader that ended without one means the store closed.
pub(super) async fn answer<R>(answer: oneshot::Receiver<Result<R>>) -> Result<R> {
    answer.await.map_err(|_| BackendError::Closed)?
}

/// The same error for each caller of a round trip that failed as a whole.
pub(super) fn copy(error: &BackendError) -> BackendError {
    match error {
        BackendError::Closed => BackendError::Closed,
        BackendError::Store { message, retryable } => {
            BackendError::Store { message: message.clone(), retryable: *retryable }
        }
        other => {
            BackendError::Store { message: other.to_string(), retryable: other.is_retryable() }
        }
    }
}
