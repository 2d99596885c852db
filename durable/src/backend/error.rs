use crate::history::OrchestrationRuntimeStatus;

/// Errors returned by a [`Backend`](super::Backend).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// An instance with this id exists and has not finished.
    #[error("an instance with id `{instance_id}` already exists and is {status}")]
    InstanceExists {
        /// The instance id.
        instance_id: String,
        /// Its current status.
        status: OrchestrationRuntimeStatus,
    },
    /// No instance has this id.
    #[error("no instance with id `{instance_id}`")]
    InstanceNotFound {
        /// The instance id.
        instance_id: String,
    },
    /// The operation needs a finished instance (Completed, Failed, Canceled or Terminated),
    /// and this one has not finished: a purge by id.
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
    /// of 0, a purge of unfinished statuses); nothing was read or changed.
    #[error("invalid instance query: {message}")]
    InvalidQuery {
        /// What is wrong with it.
        message: String,
    },
    /// The lock or lease of a work item is no longer held (expired, re-leased, or completed).
    #[error("the lock on {what} is no longer held")]
    LockLost {
        /// What was locked.
        what: String,
    },
    /// The store holds data this version cannot read.
    #[error("the store holds unreadable data ({what}): {message}")]
    Corrupt {
        /// Where the data was.
        what: String,
        /// Why it could not be read.
        message: String,
    },
    /// The store could not be opened or written.
    #[error("store error: {message}")]
    Store {
        /// What failed.
        message: String,
        /// Whether retrying the operation may succeed (busy, locked, connection lost).
        retryable: bool,
    },
    /// The store was closed.
    #[error("the store is closed")]
    Closed,
}

impl BackendError {
    /// Whether the caller may retry the operation.
    pub fn is_retryable(&self) -> bool {
        match self {
            BackendError::Store { retryable, .. } => *retryable,
            _ => false,
        }
    }
}
