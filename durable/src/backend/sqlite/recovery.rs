//! Loading the index when a handle starts dispatching, and picking up rows that other
//! processes (clients of the same file) committed.
//!
//! Message and work-item ids come from `AUTOINCREMENT`, so they grow in commit order across
//! processes: everything another process wrote has an id above the largest one this process
//! knows. The writer looks for such rows at the start of each of its write transactions
//! (after `BEGIN IMMEDIATE`, so nobody can commit in between) and, when idle, whenever
//! `PRAGMA data_version` says another connection committed.

use std::collections::{HashMap, HashSet};

use rusqlite::params;

use super::codec::{from_json, parse_time};
use super::writer::Writer;
use crate::backend::{ActivityRequest, Result};
use crate::history::OrchestrationMessage;

use super::codec::sql_error;

/// An `activity_items` row: id, hub, queue, instance, execution, task id, input, enqueued.
type ActivityRow = (i64, String, String, String, String, i64, String, String);

/// Rows read from the tables, decoded.
#[derive(Default)]
struct Loaded {
    messages: Vec<(i64, OrchestrationMessage)>,
    /// The instances that a loaded message created (or replaced), in message order.
    created: Vec<String>,
    activities: Vec<(i64, ActivityRequest, chrono::DateTime<chrono::Utc>)>,
    max_message_id: i64,
    max_activity_id: i64,
}

impl Writer {
    fn read_data_version(&self) -> rusqlite::Result<i64> {
        self.conn.prepare_cached("PRAGMA data_version")?.query_row([], |row| row.get(0))
    }

    /// Picks up rows other processes committed, if any connection committed since last time.
    pub(super) fn scan_if_changed(&mut self) -> rusqlite::Result<()> {
        let version = self.read_data_version()?;
        if version == self.data_version {
            return Ok(());
        }
        self.data_version = version;
        self.scan_foreign()
    }

    /// The idle poll of a dispatching writer.
    pub(super) fn idle_scan(&mut self) -> rusqlite::Result<()> {
        self.scan_if_changed()
    }

    /// Reads the hub's messages and work items with ids above `after_*` (all of them for 0).
    fn load_rows(&self, after_message: i64, after_activity: i64) -> rusqlite::Result<Loaded> {
        let hub = self.shared.hub.as_str();
        let mut loaded = Loaded {
            max_message_id: after_message,
            max_activity_id: after_activity,
            ..Loaded::default()
        };
        let rows: Vec<(i64, String, String, bool)> = self
            .conn
            .prepare_cached(
                "SELECT id, hub, body, creates_instance FROM messages WHERE id > ?1 ORDER BY id",
            )?
            .query_map([after_message], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        for (id, row_hub, body, creates_instance) in rows {
            loaded.max_message_id = loaded.max_message_id.max(id);
            if row_hub != hub {
                continue;
            }
            match from_json::<OrchestrationMessage>(&body, &format!("message {id}")) {
                Ok(message) => {
                    if creates_instance {
                        loaded.created.push(message.instance_id.clone());
                    }
                    loaded.messages.push((id, message));
                }
                Err(error) => tracing::error!(%error, "skipping an unreadable message"),
            }
        }
        let rows: Vec<ActivityRow> = self
            .conn
            .prepare_cached(
                "SELECT id, hub, queue, instance_id, execution_id, task_scheduled_id, body, \
                   enqueued_at FROM activity_items WHERE id > ?1 ORDER BY id",
            )?
            .query_map([after_activity], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                    row.get(5)?,
                    row.get(6)?,
                    row.get(7)?,
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        for (id, row_hub, name, instance_id, execution_id, task_scheduled_id, body, enqueued) in
            rows
        {
            loaded.max_activity_id = loaded.max_activity_id.max(id);
            if row_hub != hub {
                continue;
            }
            let what = format!("activity work item {id}");
            let decoded = from_json(&body, &what).and_then(|input| {
                Ok((
                    ActivityRequest { instance_id, execution_id, task_scheduled_id, name, input },
                    parse_time(&enqueued, &what)?,
                ))
            });
            match decoded {
                Ok((request, enqueued_at)) => loaded.activities.push((id, request, enqueued_at)),
                Err(error) => tracing::error!(%error, "skipping an unreadable activity work item"),
            }
        }
        Ok(loaded)
    }

    /// Adds rows other processes committed to the index and wakes the fetchers.
    fn scan_foreign(&mut self) -> rusqlite::Result<()> {
        let (after_message, after_activity) = {
            let index = self.shared.index();
            (index.max_message_id, index.max_activity_id)
        };
        let loaded = self.load_rows(after_message, after_activity)?;
        // Another process created (or replaced) these instances: find which of their
        // messages still exist, to reconcile what this process holds for them.
        let mut started: HashMap<String, HashSet<i64>> = HashMap::new();
        for instance_id in &loaded.created {
            if !started.contains_key(instance_id) {
                let ids = self
                    .conn
                    .prepare_cached("SELECT id FROM messages WHERE hub = ?1 AND instance_id = ?2")?
                    .query_map(params![self.shared.hub, instance_id], |row| row.get(0))?
                    .collect::<rusqlite::Result<HashSet<i64>>>()?;
                started.insert(instance_id.clone(), ids);
            }
        }
        let found_messages = !loaded.messages.is_empty();
        let found_activities = !loaded.activities.is_empty();
        {
            let mut index = self.shared.index();
            index.max_message_id = index.max_message_id.max(loaded.max_message_id);
            index.max_activity_id = index.max_activity_id.max(loaded.max_activity_id);
            for (id, message) in loaded.messages {
                index.add_message(id, message);
            }
            for (instance_id, ids) in &started {
                index.reconcile_foreign_start(instance_id, ids);
            }
            for (id, request, enqueued_at) in loaded.activities {
                index.add_activity(id, request, enqueued_at);
            }
        }
        if found_messages {
            tracing::trace!("picked up messages written by another process");
            self.shared.orchestrations.notify_waiters();
        }
        if found_activities {
            self.shared.activities.notify_waiters();
        }
        Ok(())
    }

    /// Starts dispatching: loads every message and work item of the hub into a fresh index
    /// (releasing all locks and leases: this is crash recovery). Idempotent.
    pub(super) fn acquire_dispatch(&mut self) -> Result<()> {
        if self.shared.index().dispatching {
            return Ok(());
        }
        self.exec("BEGIN").map_err(sql_error)?;
        let loaded = self.load_rows(0, 0).and_then(|loaded| {
            let version = self.read_data_version()?;
            self.exec("COMMIT")?;
            Ok((loaded, version))
        });
        let (loaded, version) = match loaded {
            Ok(ok) => ok,
            Err(error) => {
                self.rollback();
                return Err(sql_error(error));
            }
        };
        self.data_version = version;
        let (messages, activities) = (loaded.messages.len(), loaded.activities.len());
        {
            let mut index = self.shared.index();
            index.reset_for_dispatch();
            index.max_message_id = loaded.max_message_id;
            index.max_activity_id = loaded.max_activity_id;
            for (id, message) in loaded.messages {
                index.add_message(id, message);
            }
            for (id, request, enqueued_at) in loaded.activities {
                index.add_activity(id, request, enqueued_at);
            }
        }
        tracing::debug!(
            hub = %self.shared.hub,
            messages,
            activities,
            "dispatching the SQLite task hub"
        );
        self.shared.orchestrations.notify_waiters();
        self.shared.activities.notify_waiters();
        Ok(())
    }
}
