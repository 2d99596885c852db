//! Waiting for work, as every store's fetches do.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::clock::Clock;

/// The longest a fetch waits in one go when asked to wait "forever".
const LONGEST_WAIT: Duration = Duration::from_secs(24 * 60 * 60);

/// When a fetch asked to wait `wait` gives up.
pub(super) fn deadline_after(wait: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(wait.min(LONGEST_WAIT)).unwrap_or(now)
}

/// Waits until `clock` reaches `due`; forever when there is no timer.
pub(super) async fn until_due(clock: &Clock, due: Option<DateTime<Utc>>) {
    match due {
        Some(due) => clock.sleep_until(due).await,
        None => std::future::pending().await,
    }
}
