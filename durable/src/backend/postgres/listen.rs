//! Wake-ups: one `LISTEN` connection per process turns the `pg_notify` that committing
//! transactions send into in-process wake-ups. A hint only: fetchers also poll, with
//! backoff, so a lost connection or a missed notification delays work but never loses it.

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::{Notify, broadcast, mpsc, watch};
use tokio::time::{Instant, sleep_until};
use tokio_postgres::{AsyncMessage, NoTls};

use super::claims::AFFINITY;

/// The fetchers to wake, per kind of work, and the waiters on finished instances.
#[derive(Debug)]
pub(super) struct Wakeups {
    pub(super) orchestrations: Notify,
    pub(super) activities: Notify,
    pub(super) finished: broadcast::Sender<String>,
}

impl Default for Wakeups {
    fn default() -> Self {
        Wakeups {
            orchestrations: Notify::new(),
            activities: Notify::new(),
            finished: broadcast::Sender::new(1024),
        }
    }
}

impl Wakeups {
    pub(super) fn wake_all(&self) {
        self.orchestrations.notify_waiters();
        self.activities.notify_waiters();
    }
}

/// The notification channels of a hub's schema: inboxes, activities, and finished
/// instances (whose payload is their ids, one per line).
pub(super) fn channels(schema: &str) -> [String; 3] {
    let name = schema.trim_matches('"');
    [format!("{name}:orchestrations"), format!("{name}:activities"), format!("{name}:finished")]
}

/// Who listens: the connection, the channels, this process's `owner` (as activity
/// notifications name it) and whom to wake.
pub(super) struct Listener {
    pub(super) config: tokio_postgres::Config,
    pub(super) channels: [String; 3],
    pub(super) owner: String,
    pub(super) wakeups: Arc<Wakeups>,
}

/// Keeps a `LISTEN` connection open until `stop`, reconnecting with backoff.
pub(super) async fn listen(listener: Listener, mut stop: watch::Receiver<bool>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            () = session(&listener) => {}
        }
        tokio::select! {
            _ = stop.changed() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// One connection's life: listen, and forward notifications until the connection ends.
async fn session(listener: &Listener) {
    let Listener { config, channels, owner, wakeups } = listener;
    let (client, mut connection) = match config.connect(NoTls).await {
        Ok(connected) => connected,
        Err(error) => {
            tracing::debug!(%error, "cannot open the PostgreSQL LISTEN connection");
            return;
        }
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(notification)) => {
                    let received =
                        (notification.channel().to_owned(), notification.payload().to_owned());
                    if tx.send(received).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::debug!(%error, "the PostgreSQL LISTEN connection ended");
                    return;
                }
            }
        }
    });
    let listen = channels.iter().map(|c| format!("LISTEN \"{c}\";")).collect::<String>();
    if let Err(error) = client.batch_execute(&listen).await {
        tracing::debug!(%error, "LISTEN failed");
        driver.abort();
        return;
    }
    // Whatever was committed while no connection listened is found by this round.
    wakeups.wake_all();
    // Another process's activity work items are ours to take only once their affinity
    // window has passed: one wake-up then covers every notification until it.
    let mut shared = pin!(sleep_until(Instant::now()));
    let mut sharing = false;
    loop {
        let (channel, payload) = tokio::select! {
            received = rx.recv() => match received {
                Some(received) => received,
                None => break,
            },
            () = &mut shared, if sharing => {
                sharing = false;
                wakeups.activities.notify_waiters();
                continue;
            }
        };
        if channel == channels[0] {
            wakeups.orchestrations.notify_waiters();
        } else if channel == channels[1] {
            if payload.is_empty() || payload == *owner {
                wakeups.activities.notify_waiters();
            } else if !sharing {
                sharing = true;
                shared.as_mut().reset(Instant::now() + AFFINITY);
            }
        } else {
            for instance_id in payload.lines() {
                // Nobody waiting is not an error.
                let _ = wakeups.finished.send(instance_id.to_owned());
            }
        }
    }
    driver.abort();
}
