//! [`LocalRuntime`]: how a client reaches the worker of its own process, without knowing it.

use async_trait::async_trait;
use tokio::sync::oneshot;

use crate::backend::{BackendError, NewInstance};
use crate::orchestration::OrchestratorRegistration;

/// The worker of this process, as a client sees it when the process runs the task hub's
/// functions: it starts instances in-process (the first turn is committed with the
/// instance) and announces the instances that finish here, so a waiting client wakes at once
/// instead of polling the store.
#[async_trait]
pub(crate) trait LocalRuntime: Send + Sync {
    /// Creates `instance` and runs its first turn, committing both at once.
    ///
    /// Errors as [`Backend::create_instance`](crate::backend::Backend::create_instance).
    async fn start(
        &self,
        registration: &'static OrchestratorRegistration,
        instance: NewInstance,
    ) -> Result<(), BackendError>;

    /// A receiver that fires when `instance_id` next finishes in this process.
    fn subscribe(&self, instance_id: &str) -> oneshot::Receiver<()>;

    /// Forgets the subscriptions to `instance_id` whose receivers were dropped.
    fn unsubscribe_closed(&self, instance_id: &str);
}
