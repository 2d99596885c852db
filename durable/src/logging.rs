//! Replay-safe logging: log lines written by orchestrator code appear once, not once per
//! replay.
//!
//! An orchestrator function runs again from the top whenever its instance is rebuilt from
//! history, so a plain `tracing::info!` in it would repeat for every replay. The engine marks
//! the thread while it polls an orchestrator that is replaying recorded history, and
//! [`replay_safe`] is a `tracing-subscriber` filter that drops what is logged then. The app's
//! own logging (`FunctionApp::run`) installs it; an app that sets up its own subscriber adds
//! it to its layers:
//!
//! ```
//! use tracing_subscriber::filter::LevelFilter;
//! use tracing_subscriber::prelude::*;
//!
//! let _ = tracing_subscriber::registry()
//!     .with(
//!         tracing_subscriber::fmt::layer()
//!             .with_filter(LevelFilter::INFO)
//!             .with_filter(durable::logging::replay_safe()),
//!     )
//!     .try_init();
//! ```
//!
//! In orchestrator code, `tracing::info!("…")` is then logged once per step, as with C#'s
//! `context.CreateReplaySafeLogger(log)`. (`context.is_replaying()` remains for other side
//! effects.)

use std::cell::Cell;

use tracing::Metadata;
use tracing::subscriber::Interest;
use tracing_subscriber::layer::{Context, Filter};

thread_local! {
    static REPLAYING: Cell<bool> = const { Cell::new(false) };
}

/// Whether the current thread is running orchestrator code that replays recorded history.
pub fn is_replaying() -> bool {
    REPLAYING.get()
}

/// A filter that drops spans and events recorded while orchestrator code replays history.
pub fn replay_safe() -> ReplaySafe {
    ReplaySafe
}

/// The [`replay_safe`] filter.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReplaySafe;

impl<S> Filter<S> for ReplaySafe {
    fn enabled(&self, _: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        !is_replaying()
    }

    /// The answer changes from one call to the next, so no callsite may cache it.
    fn callsite_enabled(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::sometimes()
    }
}

/// Runs `poll` with the thread marked as replaying (or not); the mark is restored after.
pub(crate) fn polling<R>(replaying: bool, poll: impl FnOnce() -> R) -> R {
    let before = REPLAYING.replace(replaying);
    let result = poll();
    REPLAYING.set(before);
    result
}
