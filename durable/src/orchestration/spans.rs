//! The spans of an execution (see [`crate::telemetry`]): what the engine learns from the
//! events it applies, and the spans of the calls, timers and events a turn saw end.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::history::{EventKind, HistoryEvent, TraceContext};
use crate::telemetry::{SpanKind, SpanRecord};

/// A call's span in the making: what it is and since when.
struct Open {
    kind: SpanKind,
    name: String,
    since: DateTime<Utc>,
}

/// An execution's spans: its trace context, and the calls under way.
pub(super) struct Spans {
    trace: Option<TraceContext>,
    started_at: Option<DateTime<Utc>>,
    instance_id: String,
    open: HashMap<i64, Open>,
    finished: Vec<SpanRecord>,
}

impl Spans {
    /// The spans of an execution of `instance_id`, which has seen no event yet.
    pub(super) fn new(instance_id: &str) -> Spans {
        Spans {
            trace: None,
            started_at: None,
            instance_id: instance_id.to_owned(),
            open: HashMap::new(),
            finished: Vec::new(),
        }
    }

    /// The execution's trace context (from its `ExecutionStarted`).
    pub(super) fn trace(&self) -> Option<&TraceContext> {
        self.trace.as_ref()
    }

    /// Notes what an event tells about the execution's spans; a `live` event (applied by a
    /// turn, not replayed) that ends a call, a timer or a wait ends its span.
    pub(super) fn apply(&mut self, event: &HistoryEvent, live: bool) {
        let (kind, name) = match &event.kind {
            EventKind::ExecutionStarted { trace_context, .. } => {
                self.trace = trace_context.clone();
                self.started_at = Some(event.timestamp);
                return;
            }
            EventKind::TaskScheduled { name, .. } => (SpanKind::Activity, name.clone()),
            EventKind::TimerCreated { .. } => (SpanKind::Timer, String::new()),
            EventKind::TaskCompleted { task_scheduled_id, .. } => {
                return self.end(*task_scheduled_id, event.timestamp, false, live);
            }
            EventKind::TaskFailed { task_scheduled_id, .. } => {
                return self.end(*task_scheduled_id, event.timestamp, true, live);
            }
            EventKind::TimerFired { timer_id, .. } => {
                return self.end(*timer_id, event.timestamp, false, live);
            }
            _ => return,
        };
        self.open.insert(event.event_id, Open { kind, name, since: event.timestamp });
    }

    /// An external event the orchestration received in a turn.
    pub(super) fn event_received(&mut self, name: &str, at: DateTime<Utc>) {
        self.push(
            SpanKind::Event,
            format!("orchestration_event:{name}"),
            name,
            None,
            (at, at),
            false,
        );
    }

    /// The execution ended, at `at`, named `name`.
    pub(super) fn execution_ended(&mut self, name: &str, at: DateTime<Utc>, failed: bool) {
        let (Some(trace), Some(since)) = (self.trace.clone(), self.started_at) else {
            return;
        };
        self.finished.push(SpanRecord {
            kind: SpanKind::Orchestration,
            name: format!("orchestration:{name}"),
            task_name: name.to_owned(),
            instance_id: self.instance_id.clone(),
            task_id: None,
            context: trace,
            start: since,
            end: at,
            failed,
        });
    }

    /// The spans ended since the last call.
    pub(super) fn take(&mut self) -> Vec<SpanRecord> {
        std::mem::take(&mut self.finished)
    }

    fn end(&mut self, id: i64, at: DateTime<Utc>, failed: bool, live: bool) {
        let Some(open) = self.open.remove(&id) else {
            return;
        };
        if !live {
            return;
        }
        let name = match open.kind {
            SpanKind::Timer => "timer".to_owned(),
            _ => format!("activity:{}", open.name),
        };
        self.push(open.kind, name, &open.name, Some(id), (open.since, at), failed);
    }

    fn push(
        &mut self,
        kind: SpanKind,
        name: String,
        task_name: &str,
        task_id: Option<i64>,
        (start, end): (DateTime<Utc>, DateTime<Utc>),
        failed: bool,
    ) {
        let Some(trace) = &self.trace else {
            return;
        };
        self.finished.push(SpanRecord {
            kind,
            name,
            task_name: task_name.to_owned(),
            instance_id: self.instance_id.clone(),
            task_id,
            context: trace.child(),
            start,
            end,
            failed,
        });
    }
}
