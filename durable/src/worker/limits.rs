//! Per-function concurrency limits of the activity dispatcher, held across the process: each
//! fetch asks the store only for what the limited functions have room for, so a saturated
//! function's work items stay queued (never leased and held) and the others' keep flowing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

use crate::backend::QueueLimits;
use crate::registry::Registry;

/// The limited functions with how many invocations of each run now.
#[derive(Debug)]
pub(super) struct FunctionLimits {
    /// The limit of each limited function, by name.
    limits: HashMap<String, usize>,
    /// Invocations running now, by function name (limited functions only).
    running: Mutex<HashMap<String, usize>>,
    /// Notified when a saturated function gets room again: it ends a fetch waiting with
    /// limits that left that function out.
    freed: Arc<Notify>,
}

impl FunctionLimits {
    /// The limits of the registered activities (`max_concurrency`), overridden by
    /// `configured` (host.json's `functions.<name>.maxConcurrency`).
    pub(super) fn new<'a>(
        registry: &Registry,
        configured: impl IntoIterator<Item = (&'a String, &'a usize)>,
    ) -> FunctionLimits {
        let mut limits: HashMap<String, usize> = registry
            .activities()
            .filter_map(|registration| {
                registration.max_concurrency.map(|limit| (registration.name.to_owned(), limit))
            })
            .collect();
        limits.extend(configured.into_iter().map(|(name, limit)| (name.clone(), *limit)));
        FunctionLimits { limits, running: Mutex::default(), freed: Arc::new(Notify::new()) }
    }

    fn running(&self) -> MutexGuard<'_, HashMap<String, usize>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What the next fetch may take of each limited function: its free slots.
    pub(super) fn queue_limits(&self) -> QueueLimits {
        let running = self.running();
        self.limits.iter().fold(
            QueueLimits::none().with_interrupt(self.freed.clone()),
            |limits, (name, max)| {
                let busy = running.get(name).copied().unwrap_or(0);
                limits.with_cap(name.as_str(), max.saturating_sub(busy))
            },
        )
    }

    /// Counts an invocation of `name` as running until the returned guard drops (nothing to
    /// count when the function is not limited).
    pub(super) fn start(self: &Arc<Self>, name: &str) -> Option<Running> {
        self.limits.contains_key(name).then(|| {
            *self.running().entry(name.to_owned()).or_default() += 1;
            Running { limits: self.clone(), name: name.to_owned() }
        })
    }
}

/// One running invocation of a limited function.
#[derive(Debug)]
pub(super) struct Running {
    limits: Arc<FunctionLimits>,
    name: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let mut running = self.limits.running();
        let Some(busy) = running.get_mut(&self.name) else {
            return;
        };
        let was_saturated = self.limits.limits.get(&self.name).is_some_and(|max| *busy >= *max);
        *busy = busy.saturating_sub(1);
        if *busy == 0 {
            running.remove(&self.name);
        }
        drop(running);
        if was_saturated {
            self.limits.freed.notify_one();
        }
    }
}
