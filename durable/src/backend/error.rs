use crate::history::OrchestrationRuntimeStatus;

/// Errors returned by a [`Backend`](super::Backend).
///
/// Each variant says what the worker does when a call on its behalf returns it. The worker
/// asks only [`is_retryable`](Self::is_retryable). A retryable error means the work runs again
/// (the worker abandons its lock, or its lease lapses), here, wherever it is now held, or after
/// a restart. Any other error is final for what the call carried: an orchestrator turn that
/// cannot be stored fails its instance with `StoreRejected`; an activity result the store
/// refuses is logged as an error and the activity runs again. The variants a client call can
/// return are mapped to [`DurableError`](crate::DurableError)s.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// An instance with this id exists and has not finished. Not retryable: the caller asked
    /// for something that conflicts (the worker reports it to whoever started the instance).
    #[error("an instance with id `{instance_id}` already exists and is {status}")]
    InstanceExists {
        /// The instance id.
        instance_id: String,
        /// Its current status.
        status: OrchestrationRuntimeStatus,
    },
    /// No instance has this id. Not retryable.
    #[error("no instance with id `{instance_id}`")]
    InstanceNotFound {
        /// The instance id.
        instance_id: String,
    },
    /// The operation needs a finished instance (Completed, Failed, Canceled or Terminated),
    /// and this one has not finished: a purge by id. Not retryable (client calls only).
    #[error(
        "instance `{instance_id}` is {status}: only a finished instance (Completed, Failed, \
         Canceled or Terminated) can be purged"
    )]
    InstanceNotFinished {
        /// The instance id.
        instance_id: String,
        /// Its current status.
        status: OrchestrationRuntimeStatus,
    },
    /// A query or purge filter is not acceptable (a malformed continuation token, a page size
    /// of 0, a purge of unfinished statuses); nothing was read or changed. Not retryable
    /// (client calls only).
    #[error("invalid instance query: {message}")]
    InvalidQuery {
        /// What is wrong with it.
        message: String,
    },
    /// The lock or lease of a work item is no longer held (expired, re-leased, completed, or
    /// its instance purged or replaced); nothing of the call landed. Retryable: the worker
    /// drops its attempt (and any live instance it cached) and the work runs again under
    /// whoever holds it now. A lease renewal that answers this stops the activity run it
    /// was for.
    #[error("the lock on {what} is no longer held")]
    LockLost {
        /// What was locked.
        what: String,
    },
    /// The store holds data this version cannot read. Not retryable: reading it again gives
    /// the same answer; a turn that cannot be stored fails its instance.
    #[error("the store holds unreadable data ({what}): {message}")]
    Corrupt {
        /// Where the data was.
        what: String,
        /// Why it could not be read.
        message: String,
    },
    /// The store could not be opened or written. Retryable when `retryable` says so (busy,
    /// locked, connection lost: the worker abandons and the work runs again); otherwise the
    /// store refused what it was given (a value it cannot hold), and a turn that produced it
    /// fails its instance.
    #[error("store error: {message}")]
    Store {
        /// What failed.
        message: String,
        /// Whether retrying the operation may succeed (busy, locked, connection lost).
        retryable: bool,
    },
    /// The store was closed (the process is shutting down). Retryable in the worker's sense:
    /// the work runs again after a restart, never on this handle (every later call returns
    /// `Closed` too). The call's commit may have landed before its answer was lost; the
    /// fencing of the lock/commit cycle makes running it again safe.
    #[error("the store is closed")]
    Closed,
}

impl BackendError {
    /// Whether the work the failed call was for should run again (under a new lock or lease,
    /// or after a restart) rather than be given up; `false` when the answer is final. Not a
    /// promise that repeating the same call on this handle succeeds. See each variant.
    pub fn is_retryable(&self) -> bool {
        match self {
            BackendError::Store { retryable, .. } => *retryable,
            BackendError::LockLost { .. } | BackendError::Closed => true,
            BackendError::InstanceExists { .. }
            | BackendError::InstanceNotFound { .. }
            | BackendError::InstanceNotFinished { .. }
            | BackendError::InvalidQuery { .. }
            | BackendError::Corrupt { .. } => false,
        }
    }
}
