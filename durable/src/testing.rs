//! A test host with virtual time: run an app's functions in-process, on an in-memory store,
//! with a clock the test moves.
//!
//! [`TestHost`] starts every function registered in the binary (the same registrations
//! [`FunctionApp`] runs) on a private in-memory SQLite store whose durable time is a
//! [`VirtualClock`]. The clock stands still until the test [advances](TestHost::advance) it,
//! so an orchestrator waiting on a 72-hour timer, or a monitor polling every 30 minutes for
//! six hours, runs in milliseconds. Turn timestamps
//! ([`current_utc_date_time`](crate::DurableOrchestrationContext::current_utc_date_time)),
//! timer due times and every timestamp in history and status follow the virtual clock.
//!
//! [`advance`](TestHost::advance) moves time in steps: it waits until the app has nothing to
//! do but wait for a timer ([`wait_for_idle`](TestHost::wait_for_idle)), moves the clock to
//! the next timer due within the advance, lets the app run what that timer released, and so on,
//! then moves the clock to the end of the advance and waits for idle once more. Every timer
//! thus fires in order, at its own time, and whatever it starts (activities, new timers) runs
//! before time moves on.
//!
//! Only the time of durable semantics is virtual: activities run in real time, and a
//! [`wait_for_idle`](TestHost::wait_for_idle) that does not see the app settle within a
//! real-time deadline (30 s by default) fails instead of hanging.
//!
//! ```standalone_crate
//! use std::time::Duration;
//!
//! use durable::OrchestrationRuntimeStatus;
//! use durable::prelude::*;
//! use durable::testing::TestHost;
//!
//! #[activity_trigger(name = "Escalate")]
//! async fn escalate(request: String) -> String {
//!     format!("escalated {request}")
//! }
//!
//! #[orchestration_trigger(name = "ApprovalWorkflow")]
//! async fn approval_workflow(
//!     context: DurableOrchestrationContext,
//!     request: String,
//! ) -> Result<String, FunctionFailed> {
//!     let deadline = context.current_utc_date_time() + chrono::Duration::hours(72);
//!     context.create_timer(deadline).await?;
//!     context.call(Escalate, request).await
//! }
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let host = TestHost::start().await?;
//! let client = host.client();
//! let id = client.start(ApprovalWorkflow, None, "order 17".to_owned()).await?;
//!
//! host.advance(Duration::from_secs(71 * 3600)).await?;
//! let status = client.get_status(&id).await?.ok_or("no such instance")?;
//! assert_eq!(status.runtime_status, OrchestrationRuntimeStatus::Running);
//!
//! host.advance(Duration::from_secs(3600)).await?; // 72 hours in, in milliseconds
//! let status = client.get_status(&id).await?.ok_or("no such instance")?;
//! assert_eq!(status.runtime_status, OrchestrationRuntimeStatus::Completed);
//! assert_eq!(status.output, "escalated order 17");
//! host.shutdown().await;
//! # Ok(()) }
//! ```

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use crate::app::{Error, FunctionApp, HostConfig, RunningApp, StorageConfig};
use crate::backend::WorkState;
use crate::client::DurableOrchestrationClient;
use crate::clock::{Clock, ClockError, VirtualClock};

/// How long [`TestHost::wait_for_idle`] waits, in real time, by default.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// How often the host re-reads the store's work state while the app is busy.
const IDLE_POLL: Duration = Duration::from_millis(1);

/// An app running in-process on an in-memory store with a virtual clock; see the
/// [module documentation](self).
///
/// ```standalone_crate
/// # #[tokio::main]
/// # async fn main() -> Result<(), durable::Error> {
/// use chrono::TimeZone;
/// use durable::testing::TestHost;
///
/// let start = chrono::Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0).unwrap();
/// let host = TestHost::start_at(start).await?;
/// host.advance(std::time::Duration::from_secs(6 * 3600)).await?;
/// assert_eq!(host.now(), start + chrono::Duration::hours(6));
/// host.shutdown().await;
/// # Ok(()) }
/// ```
pub struct TestHost {
    app: RunningApp,
    clock: VirtualClock,
    idle_timeout: Duration,
}

impl std::fmt::Debug for TestHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestHost")
            .field("now", &self.clock.now())
            .field("idle_timeout", &self.idle_timeout)
            .finish_non_exhaustive()
    }
}

impl TestHost {
    /// Starts every function registered in this binary on a fresh in-memory store, with a
    /// virtual clock reading the current real time.
    ///
    /// Errors as [`FunctionApp::start`] (two functions sharing a name, say).
    pub async fn start() -> Result<TestHost, Error> {
        Self::start_at(Utc::now()).await
    }

    /// As [`TestHost::start`], with the virtual clock reading `start`.
    pub async fn start_at(start: DateTime<Utc>) -> Result<TestHost, Error> {
        let mut config = HostConfig::default();
        config.http.listen = None;
        Self::start_with(config, start).await
    }

    /// As [`TestHost::start_at`], with the hub name, worker and HTTP settings of `config`
    /// (its storage and clock are replaced by a fresh in-memory store and the virtual clock).
    /// It serves HTTP when `config.http.listen` is set (port 0 picks a free port; see
    /// [`RunningApp::http_addr`]).
    ///
    /// ```standalone_crate
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), durable::Error> {
    /// use durable::app::HostConfig;
    /// use durable::testing::TestHost;
    ///
    /// let mut config = HostConfig::default();
    /// config.worker.extended_sessions_enabled = false; // replay every turn from history
    /// config.http.listen = None; // no HTTP host
    /// let host = TestHost::start_with(config, chrono::Utc::now()).await?;
    /// host.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub async fn start_with(config: HostConfig, start: DateTime<Utc>) -> Result<TestHost, Error> {
        Self::start_on(HostConfig { storage: StorageConfig::InMemory, ..config }, start).await
    }

    /// As [`TestHost::start_with`], on the store `config.storage` names (a PostgreSQL hub,
    /// say, or an SQLite file); only the clock is replaced, by the virtual one.
    ///
    /// The virtual clock is this host's: other processes sharing the hub keep their own
    /// clocks, so timers they create follow real time.
    pub async fn start_on(config: HostConfig, start: DateTime<Utc>) -> Result<TestHost, Error> {
        let clock = VirtualClock::new(start);
        let config = HostConfig { clock: Clock::from(clock.clone()), ..config };
        let app = FunctionApp::new(config).start().await?;
        Ok(TestHost { app, clock, idle_timeout: DEFAULT_IDLE_TIMEOUT })
    }

    /// The same host, with [`wait_for_idle`](TestHost::wait_for_idle) (and so
    /// [`advance`](TestHost::advance)) giving up after `timeout` of real time instead of
    /// [`DEFAULT_IDLE_TIMEOUT`].
    pub fn with_idle_timeout(self, timeout: Duration) -> TestHost {
        TestHost { idle_timeout: timeout, ..self }
    }

    /// A client bound to the app's task hub; what it writes is stamped with virtual time.
    pub fn client(&self) -> DurableOrchestrationClient {
        self.app.client()
    }

    /// The running app (for its [`stats`](RunningApp::stats), or to
    /// [clear its instance cache](RunningApp::clear_instance_cache)).
    pub fn app(&self) -> &RunningApp {
        &self.app
    }

    /// The virtual time.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Waits until the app has nothing to do but wait for a timer: no instance has messages
    /// to process or is running a turn, no activity is queued or running, and no timer is due.
    ///
    /// Work counts from the moment the call that caused it returned (a `start_new` or
    /// `raise_event` awaited before this call is seen). Errors with [`Error::NotIdle`] when
    /// the app is still busy after the idle timeout of real time (an activity that never
    /// returns, say), and with [`Error::Store`] when the store fails.
    pub async fn wait_for_idle(&self) -> Result<(), Error> {
        self.idle_state().await.map(|_| ())
    }

    /// Moves virtual time forward by `by`, one timer at a time; see
    /// [`advance_to`](TestHost::advance_to).
    ///
    /// Errors with [`Error::Clock`] when the end time cannot be represented.
    pub async fn advance(&self, by: Duration) -> Result<(), Error> {
        let now = self.clock.now();
        let target = chrono::Duration::from_std(by)
            .ok()
            .and_then(|by| now.checked_add_signed(by))
            .ok_or(ClockError::OutOfRange { now, by })?;
        self.advance_to(target).await
    }

    /// Moves virtual time forward to `target` in steps: waits for idle, moves the clock to the
    /// next timer due at or before `target` and repeats; then moves the clock to `target` and
    /// waits for idle once more. A timer set by a turn that a step released fires in a later
    /// step if it is due by `target`.
    ///
    /// Errors with [`Error::Clock`] when `target` is earlier than [`now`](TestHost::now), and
    /// as [`wait_for_idle`](TestHost::wait_for_idle).
    pub async fn advance_to(&self, target: DateTime<Utc>) -> Result<(), Error> {
        let now = self.clock.now();
        if target < now {
            return Err(ClockError::Backwards { now, requested: target }.into());
        }
        loop {
            let state = self.idle_state().await?;
            match state.next_timer {
                // Idle means no timer is due, so `due` is ahead of the clock.
                Some(due) if due <= target => self.clock.set(due)?,
                _ => break,
            }
        }
        self.clock.set(target)?;
        self.wait_for_idle().await
    }

    /// Stops the app and waits for the work in flight.
    pub async fn shutdown(self) {
        self.app.shutdown().await;
    }

    /// Waits for idle and returns the idle state.
    async fn idle_state(&self) -> Result<WorkState, Error> {
        let started = Instant::now();
        // A timeout too long to add to now never gives up.
        let give_up = started.checked_add(self.idle_timeout);
        loop {
            let state = self.app.backend().work_state().await?;
            if !state.runnable {
                return Ok(state);
            }
            if give_up.is_some_and(|give_up| Instant::now() >= give_up) {
                return Err(Error::NotIdle {
                    waited: started.elapsed(),
                    state: self.describe(state).await,
                });
            }
            tokio::time::sleep(IDLE_POLL).await;
        }
    }

    /// What the store holds, for an error message.
    async fn describe(&self, state: WorkState) -> String {
        let mut text = match state.next_timer {
            Some(due) => format!(
                "work is in progress (virtual time {}, next timer due {due})",
                self.clock.now()
            ),
            None => format!("work is in progress (virtual time {})", self.clock.now()),
        };
        if let Ok(queues) = self.app.client().list_queues().await {
            let busy: Vec<String> = queues
                .iter()
                .filter(|queue| queue.depth > 0)
                .map(|queue| format!("{} {} ({})", queue.kind.as_str(), queue.name, queue.depth))
                .collect();
            if !busy.is_empty() {
                text.push_str("; queued: ");
                text.push_str(&busy.join(", "));
            }
        }
        text
    }
}
