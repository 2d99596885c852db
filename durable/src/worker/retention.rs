//! Retention: finished instances older than their status's retention period
//! (`retentionInDays` in host.json) are purged in the background, in chunks.

use std::sync::Arc;

use tokio::sync::watch;

use super::Shared;
use crate::backend::{PurgeFilter, purge_in_chunks};

/// How often, in the app's time, the retention periods are applied.
const SWEEP_EVERY: chrono::Duration = chrono::Duration::minutes(10);

/// Applies the retention periods now and then every [`SWEEP_EVERY`], until `stopped`.
pub(super) async fn sweep(shared: Arc<Shared>, mut stopped: watch::Receiver<bool>) {
    if shared.options.retention.is_empty() {
        return;
    }
    loop {
        let now = shared.clock.now();
        for &(status, period) in &shared.options.retention {
            let Some(cutoff) =
                chrono::Duration::from_std(period).ok().and_then(|p| now.checked_sub_signed(p))
            else {
                continue;
            };
            let filter = PurgeFilter::Created {
                created_from: None,
                created_to: None,
                runtime_status: vec![status],
                finished_before: Some(cutoff),
                limit: None,
            };
            match purge_in_chunks(shared.backend.as_ref(), &filter, &mut |_| {}).await {
                Ok(0) => {}
                Ok(purged) => {
                    tracing::info!(%status, purged, "retention: purged finished instances")
                }
                Err(error) => {
                    tracing::warn!(%status, %error, "retention: purging failed; it is tried again later")
                }
            }
        }
        let next = now + SWEEP_EVERY;
        tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => return,
            () = shared.clock.sleep_until(next) => {}
        }
    }
}
