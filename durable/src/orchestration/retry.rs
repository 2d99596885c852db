use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::FunctionFailed;

type Handle = Arc<dyn Fn(&FunctionFailed) -> bool + Send + Sync>;

/// How a failed call is retried (`RetryOptions` in C#): attempt `n + 1` starts
/// `first_retry_interval × backoff_coefficient^(n-1)` (at most `max_retry_interval`) after
/// attempt `n` failed, until `max_number_of_attempts` attempts have been made, the next
/// attempt would start later than `retry_timeout` after the first, or `handle` declines the
/// failure. The waits are durable timers, visible in the history.
///
/// ```
/// use std::time::Duration;
/// use durable::{FailureKind, RetryOptions};
///
/// let retry = RetryOptions::new(Duration::from_secs(5), 3)
///     .with_backoff_coefficient(2.0)
///     .with_handle(|failed| failed.details.error_type != FailureKind::InvalidInput);
/// ```
#[derive(Clone)]
pub struct RetryOptions {
    /// The wait before the first retry.
    pub first_retry_interval: Duration,
    /// How many attempts in all, the first included.
    pub max_number_of_attempts: u32,
    /// The factor each wait grows by; 1 (constant waits) by default.
    pub backoff_coefficient: f64,
    /// The longest wait; unbounded by default.
    pub max_retry_interval: Duration,
    /// How long after the first attempt a retry may still start; unbounded by default.
    pub retry_timeout: Duration,
    handle: Option<Handle>,
}

impl fmt::Debug for RetryOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryOptions")
            .field("first_retry_interval", &self.first_retry_interval)
            .field("max_number_of_attempts", &self.max_number_of_attempts)
            .field("backoff_coefficient", &self.backoff_coefficient)
            .field("max_retry_interval", &self.max_retry_interval)
            .field("retry_timeout", &self.retry_timeout)
            .field("handle", &self.handle.is_some())
            .finish()
    }
}

impl RetryOptions {
    /// Retries `max_number_of_attempts - 1` times, `first_retry_interval` apart.
    pub fn new(first_retry_interval: Duration, max_number_of_attempts: u32) -> Self {
        RetryOptions {
            first_retry_interval,
            max_number_of_attempts,
            backoff_coefficient: 1.0,
            max_retry_interval: Duration::MAX,
            retry_timeout: Duration::MAX,
            handle: None,
        }
    }

    /// Sets the factor each wait grows by.
    pub fn with_backoff_coefficient(mut self, coefficient: f64) -> Self {
        self.backoff_coefficient = coefficient;
        self
    }

    /// Caps each wait.
    pub fn with_max_retry_interval(mut self, interval: Duration) -> Self {
        self.max_retry_interval = interval;
        self
    }

    /// Bounds how long after the first attempt a retry may start.
    pub fn with_retry_timeout(mut self, timeout: Duration) -> Self {
        self.retry_timeout = timeout;
        self
    }

    /// Retries only the failures for which `handle` returns true (`Handle` in C#).
    pub fn with_handle(
        mut self,
        handle: impl Fn(&FunctionFailed) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.handle = Some(Arc::new(handle));
        self
    }

    /// Whether this failure of attempt `attempt` (1-based) may be retried at all.
    pub(crate) fn retries(&self, attempt: u32, failed: &FunctionFailed) -> bool {
        attempt < self.max_number_of_attempts && self.handle.as_ref().is_none_or(|h| h(failed))
    }

    /// The wait after attempt `attempt` (1-based) failed.
    pub(crate) fn delay_after(&self, attempt: u32) -> Duration {
        let exponent = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
        let factor = self.backoff_coefficient.max(0.0).powi(exponent);
        let seconds = self.first_retry_interval.as_secs_f64() * factor;
        Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX).min(self.max_retry_interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_by_the_coefficient_up_to_the_cap() {
        let retry = RetryOptions::new(Duration::from_secs(1), 5)
            .with_backoff_coefficient(2.0)
            .with_max_retry_interval(Duration::from_secs(5));
        let waits: Vec<u64> = (1..=4).map(|a| retry.delay_after(a).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 5]);
    }
}
