//! The worker of this process as its clients see it: the app joins the two floors, so that
//! neither `client` nor `worker` imports the other.

use async_trait::async_trait;
use tokio::sync::oneshot;

use crate::backend::{BackendError, NewInstance};
use crate::client::LocalRuntime;
use crate::orchestration::OrchestratorRegistration;
use crate::worker::LocalWorker;

#[async_trait]
impl LocalRuntime for LocalWorker {
    async fn start(
        &self,
        registration: &'static OrchestratorRegistration,
        instance: NewInstance,
    ) -> Result<(), BackendError> {
        LocalWorker::start(self, registration, instance).await
    }

    fn subscribe(&self, instance_id: &str) -> oneshot::Receiver<()> {
        LocalWorker::subscribe(self, instance_id)
    }

    fn unsubscribe_closed(&self, instance_id: &str) {
        LocalWorker::unsubscribe_closed(self, instance_id);
    }
}
