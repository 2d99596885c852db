//! [`Clock`]: where the runtime reads the time of durable semantics (turn timestamps,
//! `current_utc_date_time`, when a durable timer is due, record timestamps).
//!
//! An app uses the [system clock](Clock::system). Tests can use a [`VirtualClock`] instead,
//! which stands still until they move it, so that a timer due in 72 hours fires as soon as the
//! test advances the clock past it (see [`crate::testing`]).
//!
//! Leases, fetch waits and other timeouts of the machinery itself stay on real time.
//!
//! This module has no internal imports.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

/// Errors moving a [`VirtualClock`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClockError {
    /// The requested time is before the clock's current time; a clock never goes back.
    #[error("a clock never goes back: it reads {now}, and {requested} is earlier")]
    Backwards {
        /// The clock's time.
        now: DateTime<Utc>,
        /// The time asked for.
        requested: DateTime<Utc>,
    },
    /// The requested time is beyond what a timestamp can represent.
    #[error("advancing the clock from {now} by {by:?} leaves the representable range")]
    OutOfRange {
        /// The clock's time.
        now: DateTime<Utc>,
        /// The advance asked for.
        by: Duration,
    },
}

/// The source of the current time for durable semantics. Cheap to clone; clones share the
/// same time source.
///
/// Two clocks are equal when they are both the system clock or share one virtual clock.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use durable::clock::{Clock, VirtualClock};
///
/// let system = Clock::system();
/// assert!(system.now() <= Utc::now());
///
/// let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
/// let virtual_clock = VirtualClock::new(start);
/// let clock = Clock::from(virtual_clock.clone());
/// virtual_clock.advance(std::time::Duration::from_secs(3600))?;
/// assert_eq!(clock.now(), start + chrono::Duration::hours(1));
/// # Ok::<(), durable::clock::ClockError>(())
/// ```
#[derive(Clone, Default)]
pub struct Clock {
    source: Source,
}

#[derive(Clone, Default)]
enum Source {
    #[default]
    System,
    Virtual(VirtualClock),
}

impl Clock {
    /// The operating system's clock ([`Utc::now`]); the default.
    pub fn system() -> Clock {
        Clock { source: Source::System }
    }

    /// A new virtual clock reading `start`, and the clock that reads it. Shorthand for
    /// [`VirtualClock::new`] followed by [`Clock::from`].
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use durable::clock::Clock;
    ///
    /// let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    /// let (clock, handle) = Clock::virtual_at(start);
    /// handle.set(start + chrono::Duration::days(3))?;
    /// assert_eq!(clock.now(), start + chrono::Duration::days(3));
    /// # Ok::<(), durable::clock::ClockError>(())
    /// ```
    pub fn virtual_at(start: DateTime<Utc>) -> (Clock, VirtualClock) {
        let handle = VirtualClock::new(start);
        (Clock::from(handle.clone()), handle)
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        match &self.source {
            Source::System => Utc::now(),
            Source::Virtual(clock) => clock.now(),
        }
    }

    /// The virtual clock behind this clock, if it is one.
    pub fn as_virtual(&self) -> Option<&VirtualClock> {
        match &self.source {
            Source::System => None,
            Source::Virtual(clock) => Some(clock),
        }
    }

    /// Waits until the clock reads `deadline` or later; returns at once if it already does.
    ///
    /// The system clock sleeps in real time. A virtual clock returns when it is moved to
    /// `deadline` or past it, however little real time that takes.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), durable::clock::ClockError> {
    /// use chrono::{TimeZone, Utc};
    /// use durable::clock::Clock;
    ///
    /// let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    /// let (clock, handle) = Clock::virtual_at(start);
    /// let due = start + chrono::Duration::hours(6);
    /// let waiter = tokio::spawn(async move { clock.sleep_until(due).await });
    /// handle.set(due)?;
    /// waiter.await.expect("the wait ends once the clock reads `due`");
    /// # Ok(()) }
    /// ```
    pub async fn sleep_until(&self, deadline: DateTime<Utc>) {
        match &self.source {
            Source::System => {
                // A deadline in the past (or too far off to represent) ends or never ends the
                // wait: `to_std` fails only for negative durations.
                if let Ok(wait) = (deadline - Utc::now()).to_std() {
                    tokio::time::sleep(wait).await;
                }
            }
            Source::Virtual(clock) => clock.sleep_until(deadline).await,
        }
    }
}

impl From<VirtualClock> for Clock {
    fn from(clock: VirtualClock) -> Clock {
        Clock { source: Source::Virtual(clock) }
    }
}

impl PartialEq for Clock {
    fn eq(&self, other: &Clock) -> bool {
        match (&self.source, &other.source) {
            (Source::System, Source::System) => true,
            (Source::Virtual(a), Source::Virtual(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Clock {}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            Source::System => f.write_str("Clock::System"),
            Source::Virtual(clock) => write!(f, "Clock::Virtual({})", clock.now()),
        }
    }
}

/// A clock that stands still until it is moved: [`advance`](VirtualClock::advance) or
/// [`set`](VirtualClock::set), never backwards. Cheap to clone; clones move together.
///
/// Turn it into a [`Clock`] with [`Clock::from`] to hand it to the runtime.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use durable::clock::{ClockError, VirtualClock};
///
/// let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
/// let clock = VirtualClock::new(start);
/// clock.advance(std::time::Duration::from_secs(30 * 60))?;
/// assert_eq!(clock.now(), start + chrono::Duration::minutes(30));
/// assert!(matches!(clock.set(start), Err(ClockError::Backwards { .. })));
/// # Ok::<(), ClockError>(())
/// ```
#[derive(Clone)]
pub struct VirtualClock {
    now: Arc<watch::Sender<DateTime<Utc>>>,
}

impl VirtualClock {
    /// A virtual clock reading `start`.
    pub fn new(start: DateTime<Utc>) -> VirtualClock {
        VirtualClock { now: Arc::new(watch::Sender::new(start)) }
    }

    /// The current (virtual) time.
    pub fn now(&self) -> DateTime<Utc> {
        *self.now.borrow()
    }

    /// Moves the clock forward by `by` and returns the new time; wakes every
    /// [`Clock::sleep_until`] whose deadline is reached.
    ///
    /// Errors with [`ClockError::OutOfRange`] when the new time cannot be represented (the
    /// clock is then unchanged).
    pub fn advance(&self, by: Duration) -> Result<DateTime<Utc>, ClockError> {
        let mut result = Ok(self.now());
        self.now.send_if_modified(|now| {
            let later =
                chrono::Duration::from_std(by).ok().and_then(|by| now.checked_add_signed(by));
            match later {
                Some(later) => {
                    result = Ok(later);
                    let moved = later != *now;
                    *now = later;
                    moved
                }
                None => {
                    result = Err(ClockError::OutOfRange { now: *now, by });
                    false
                }
            }
        });
        result
    }

    /// Sets the clock to `to`; wakes every [`Clock::sleep_until`] whose deadline is reached.
    /// Setting it to the time it already reads changes nothing.
    ///
    /// Errors with [`ClockError::Backwards`] when `to` is earlier than the current time (the
    /// clock is then unchanged).
    pub fn set(&self, to: DateTime<Utc>) -> Result<(), ClockError> {
        let mut result = Ok(());
        self.now.send_if_modified(|now| {
            if to < *now {
                result = Err(ClockError::Backwards { now: *now, requested: to });
                false
            } else {
                let moved = to != *now;
                *now = to;
                moved
            }
        });
        result
    }

    /// Waits until the clock reads `deadline` or later.
    async fn sleep_until(&self, deadline: DateTime<Utc>) {
        let mut now = self.now.subscribe();
        // `wait_for` fails only once the sender is gone, and `self` holds it.
        let _ = now.wait_for(|now| *now >= deadline).await;
    }
}

impl PartialEq for VirtualClock {
    /// Whether both handles move the same clock.
    fn eq(&self, other: &VirtualClock) -> bool {
        Arc::ptr_eq(&self.now, &other.now)
    }
}

impl Eq for VirtualClock {}

impl std::fmt::Debug for VirtualClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("VirtualClock").field(&self.now()).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    use chrono::TimeZone;

    use super::*;

    fn start() -> DateTime<Utc> {
        match Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single() {
            Some(start) => start,
            None => panic!("a valid start time"),
        }
    }

    /// Polls a future once, without a runtime.
    fn is_ready<F: Future>(future: std::pin::Pin<&mut F>) -> bool {
        let mut context = Context::from_waker(Waker::noop());
        matches!(future.poll(&mut context), Poll::Ready(_))
    }

    #[test]
    fn a_virtual_clock_stands_still_until_moved() {
        let (clock, handle) = Clock::virtual_at(start());
        assert_eq!(clock.now(), start());
        assert_eq!(
            handle.advance(Duration::from_secs(90)),
            Ok(start() + chrono::Duration::seconds(90))
        );
        assert_eq!(clock.now(), start() + chrono::Duration::seconds(90));
        assert_eq!(handle.set(start() + chrono::Duration::hours(2)), Ok(()));
        assert_eq!(clock.now(), start() + chrono::Duration::hours(2));
    }

    #[test]
    fn a_virtual_clock_never_goes_back() {
        let (clock, handle) = Clock::virtual_at(start());
        let later = start() + chrono::Duration::hours(1);
        assert_eq!(handle.set(later), Ok(()));
        assert_eq!(
            handle.set(start()),
            Err(ClockError::Backwards { now: later, requested: start() })
        );
        assert_eq!(handle.set(later), Ok(()), "setting the same time is fine");
        assert!(matches!(handle.advance(Duration::MAX), Err(ClockError::OutOfRange { .. })));
        assert_eq!(clock.now(), later);
    }

    #[test]
    fn sleep_until_resolves_on_advance_and_not_before() {
        let (clock, handle) = Clock::virtual_at(start());
        let due = start() + chrono::Duration::hours(72);
        let mut sleep = pin!(clock.sleep_until(due));
        assert!(!is_ready(sleep.as_mut()), "resolved before any advance");
        let step = Duration::from_secs(71 * 3600);
        assert!(handle.advance(step).is_ok());
        assert!(!is_ready(sleep.as_mut()), "resolved an hour early");
        assert!(handle.advance(Duration::from_secs(3599)).is_ok());
        assert!(!is_ready(sleep.as_mut()), "resolved a second early");
        assert!(handle.advance(Duration::from_secs(1)).is_ok());
        assert!(is_ready(sleep.as_mut()), "did not resolve when due");
    }

    #[test]
    fn sleep_until_a_past_time_resolves_at_once() {
        let (clock, _handle) = Clock::virtual_at(start());
        assert!(is_ready(pin!(clock.sleep_until(start())).as_mut()));
        let system = Clock::system();
        let past = Utc::now() - chrono::Duration::seconds(1);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build();
        let Ok(runtime) = runtime else { panic!("a runtime") };
        runtime.block_on(async {
            let waited = tokio::time::timeout(Duration::from_secs(5), system.sleep_until(past));
            assert!(waited.await.is_ok(), "a past deadline must not wait");
        });
    }

    #[tokio::test]
    async fn a_sleeping_task_wakes_when_another_task_advances_the_clock() {
        let (clock, handle) = Clock::virtual_at(start());
        let due = start() + chrono::Duration::minutes(30);
        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move {
                clock.sleep_until(due).await;
                clock.now()
            }
        });
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        assert!(handle.set(due + chrono::Duration::seconds(1)).is_ok());
        let woke = tokio::time::timeout(Duration::from_secs(5), sleeper).await;
        match woke {
            Ok(Ok(at)) => assert!(at >= due),
            other => panic!("the sleeper did not wake: {other:?}"),
        }
    }

    #[test]
    fn clocks_compare_by_identity() {
        let (a, handle) = Clock::virtual_at(start());
        let (b, _) = Clock::virtual_at(start());
        assert_eq!(a, Clock::from(handle));
        assert_ne!(a, b);
        assert_ne!(a, Clock::system());
        assert_eq!(Clock::system(), Clock::default());
    }
}
