use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use tokio::sync::oneshot;

/// In-process notifications of instances reaching a final status, so that a client waiting
/// for completion wakes at once instead of polling the store.
#[derive(Debug, Default)]
pub(crate) struct Completions {
    waiters: Mutex<HashMap<String, Vec<oneshot::Sender<()>>>>,
}

impl Completions {
    /// A receiver that fires when `instance_id` next finishes in this process.
    pub(crate) fn subscribe(&self, instance_id: &str) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        let mut waiters = self.waiters.lock().unwrap_or_else(PoisonError::into_inner);
        let list = waiters.entry(instance_id.to_owned()).or_default();
        list.retain(|w| !w.is_closed());
        list.push(tx);
        rx
    }

    /// Forgets waiters that gave up on `instance_id`.
    pub(crate) fn unsubscribe_closed(&self, instance_id: &str) {
        let mut waiters = self.waiters.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(list) = waiters.get_mut(instance_id) {
            list.retain(|w| !w.is_closed());
            if list.is_empty() {
                waiters.remove(instance_id);
            }
        }
    }

    /// Wakes every waiter of `instance_id`.
    pub(crate) fn notify(&self, instance_id: &str) {
        let list = self.waiters.lock().unwrap_or_else(PoisonError::into_inner).remove(instance_id);
        for waiter in list.into_iter().flatten() {
            let _ = waiter.send(());
        }
    }
}
