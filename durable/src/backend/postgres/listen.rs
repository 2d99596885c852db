//! Wake-ups: one `LISTEN` connection per process turns the `pg_notify` that committing
//! transactions send into in-process wake-ups. A hint only: fetchers also poll, with
//! backoff, so a lost connection or a missed notification delays work but never loses it.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::{Notify, broadcast, mpsc, watch};
use tokio_postgres::{AsyncMessage, NoTls};

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

/// Keeps a `LISTEN` connection open until `stop`, reconnecting with backoff.
pub(super) async fn listen(
    config: tokio_postgres::Config,
    channels: [String; 3],
    wakeups: Arc<Wakeups>,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            () = session(&config, &channels, &wakeups) => {}
        }
        tokio::select! {
            _ = stop.changed() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// One connection's life: listen, and forward notifications until the connection ends.
async fn session(config: &tokio_postgres::Config, channels: &[String; 3], wakeups: &Wakeups) {
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
    while let Some((channel, payload)) = rx.recv().await {
        if channel == channels[0] {
            wakeups.orchestrations.notify_waiters();
        } else if channel == channels[1] {
            wakeups.activities.notify_waiters();
        } else {
            for instance_id in payload.lines() {
                // Nobody waiting is not an error.
                let _ = wakeups.finished.send(instance_id.to_owned());
            }
        }
    }
    driver.abort();
}
