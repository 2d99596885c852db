//! Distributed tracing, as Durable Functions' tracing v2 shapes it: one span per
//! orchestration execution (`orchestration:{name}`), whose identity is fixed at start and
//! recorded in history ([`TraceContext`]), and below it a span per activity call
//! (`activity:{name}`), timer (`timer`) and external event (`orchestration_event:{name}`);
//! a sub-orchestration's span is a child of its parent's. Replays emit nothing: a turn's
//! spans are emitted once its commit is durable, so none is ever emitted twice (a crash
//! between the commit and the emission loses them instead).
//!
//! Each span is emitted as a `tracing` span of target `durable::telemetry`, named
//! `durabletask`, whose fields carry the ids, the times and the attributes (`otel.name`,
//! `durabletask.type`, `durabletask.task.name`, `durabletask.task.instance_id`,
//! `durabletask.task.task_id`, `trace_id`, `span_id`, `parent_span_id`, `start_time`,
//! `end_time`, `otel.status_code`). With the `otel` feature and `OTEL_EXPORTER_OTLP_ENDPOINT`
//! set, they are also exported over OTLP with those ids and times (see `otel`).

#[cfg(feature = "otel")]
pub(crate) mod otel;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::history::TraceContext;

tokio::task_local! {
    /// The span of the request being served (from its `traceparent`).
    static INCOMING: Option<TraceContext>;
}

/// Runs `future` for the request whose span is `request`: what it starts descends from it.
pub(crate) async fn serving<F: Future>(request: Option<TraceContext>, future: F) -> F::Output {
    INCOMING.scope(request, future).await
}

/// A new span below the request being served, if it came with a trace context; each call
/// gives another, so two instances one request starts are two spans.
pub(crate) fn incoming() -> Option<TraceContext> {
    INCOMING.try_with(|request| request.as_ref().map(TraceContext::child)).ok().flatten()
}

/// What a span is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SpanKind {
    Orchestration,
    Activity,
    Timer,
    Event,
}

impl SpanKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SpanKind::Orchestration => "orchestration",
            SpanKind::Activity => "activity",
            SpanKind::Timer => "timer",
            SpanKind::Event => "event",
        }
    }
}

/// A finished span, to emit once the turn that produced it is committed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SpanRecord {
    pub(crate) kind: SpanKind,
    /// `orchestration:E1_HelloSequence`, `activity:E1_SayHello`, `timer`, …
    pub(crate) name: String,
    /// The function or event name.
    pub(crate) task_name: String,
    pub(crate) instance_id: String,
    /// The sequence number of the call, timer or event within its execution.
    pub(crate) task_id: Option<i64>,
    /// Its own ids.
    pub(crate) context: TraceContext,
    pub(crate) start: DateTime<Utc>,
    pub(crate) end: DateTime<Utc>,
    /// Whether it ended in failure.
    pub(crate) failed: bool,
}

/// Emits `spans` (see the module docs).
pub(crate) fn emit(spans: &[SpanRecord]) {
    let time = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Micros, true);
    for span in spans {
        let parent = span.context.parent_span_id.as_deref().unwrap_or_default();
        let emitted = tracing::info_span!(
            target: "durable::telemetry",
            "durabletask",
            otel.name = %span.name,
            otel.status_code = if span.failed { "ERROR" } else { "OK" },
            durabletask.r#type = span.kind.as_str(),
            durabletask.task.name = %span.task_name,
            durabletask.task.instance_id = %span.instance_id,
            durabletask.task.task_id = span.task_id,
            trace_id = %span.context.trace_id,
            span_id = %span.context.span_id,
            parent_span_id = %parent,
            start_time = %time(&span.start),
            end_time = %time(&span.end),
        );
        drop(emitted);
        #[cfg(feature = "otel")]
        otel::export(span);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_start_in_a_request_is_its_own_span_below_it() {
        assert!(incoming().is_none(), "no request, no parent");
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let request = TraceContext::from_traceparent(header, None);
        let (first, second) = serving(request, async { (incoming(), incoming()) }).await;
        let (Some(first), Some(second)) = (first, second) else { panic!("two contexts") };
        for span in [&first, &second] {
            assert_eq!(span.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
            assert_eq!(span.parent_span_id.as_deref(), Some("00f067aa0ba902b7"));
        }
        assert_ne!(first.span_id, second.span_id);
    }
}
