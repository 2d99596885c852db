//! OTLP export (the `otel` feature): when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, the spans of
//! [`super::emit`] go out over OTLP (HTTP/JSON) with their own ids and times, so a span
//! emitted after a restart, or by another process, still joins its orchestration's; the
//! app's other `tracing` spans go through `tracing-opentelemetry`.

use std::cell::Cell;
use std::sync::OnceLock;
use std::time::SystemTime;

use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, SpanKind as OtelKind, Status, TraceContextExt as _, TraceFlags,
    TraceId, TraceState, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator, SdkTracer, SdkTracerProvider};

use super::{SpanKind, SpanRecord};

static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

thread_local! {
    /// The ids the span being built takes instead of random ones.
    static ASSIGNED: Cell<Option<(TraceId, SpanId)>> = const { Cell::new(None) };
}

/// Random ids, except for the span [`export`] builds, which keeps those its record names.
#[derive(Debug, Default)]
struct Assigned(RandomIdGenerator);

impl IdGenerator for Assigned {
    fn new_trace_id(&self) -> TraceId {
        ASSIGNED.with(Cell::get).map_or_else(|| self.0.new_trace_id(), |(trace, _)| trace)
    }

    fn new_span_id(&self) -> SpanId {
        ASSIGNED.with(Cell::get).map_or_else(|| self.0.new_span_id(), |(_, span)| span)
    }
}

/// Sets the exporter up when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the service name comes
/// from `OTEL_SERVICE_NAME`); the tracer the `tracing-opentelemetry` layer should use.
pub(crate) fn install() -> Option<SdkTracer> {
    std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT")?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpJson)
        .build();
    let exporter = match exporter {
        Ok(exporter) => exporter,
        Err(error) => {
            eprintln!("OpenTelemetry export is off: {error}");
            return None;
        }
    };
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_id_generator(Assigned::default())
        .with_resource(Resource::builder().build())
        .build();
    let tracer = provider.tracer("durable");
    PROVIDER.set(provider).ok()?;
    Some(tracer)
}

/// Exports one span, when the exporter is set up.
pub(super) fn export(span: &SpanRecord) {
    let Some(provider) = PROVIDER.get() else {
        return;
    };
    let ids = (TraceId::from_hex(&span.context.trace_id), SpanId::from_hex(&span.context.span_id));
    let (Ok(trace_id), Ok(span_id)) = ids else {
        return;
    };
    let parent = match span.context.parent_span_id.as_deref().map(SpanId::from_hex) {
        Some(Ok(parent)) => {
            let remote = SpanContext::new(
                trace_id,
                parent,
                TraceFlags::SAMPLED,
                true,
                TraceState::default(),
            );
            Context::new().with_remote_span_context(remote)
        }
        _ => Context::new(),
    };
    let tracer = provider.tracer("durable");
    let mut attributes = vec![
        KeyValue::new("durabletask.type", span.kind.as_str()),
        KeyValue::new("durabletask.task.name", span.task_name.clone()),
        KeyValue::new("durabletask.task.instance_id", span.instance_id.clone()),
    ];
    if let Some(task_id) = span.task_id {
        attributes.push(KeyValue::new("durabletask.task.task_id", task_id));
    }
    let kind = match span.kind {
        SpanKind::Orchestration => OtelKind::Server,
        SpanKind::Activity => OtelKind::Client,
        SpanKind::Timer | SpanKind::Event => OtelKind::Internal,
    };
    ASSIGNED.with(|assigned| assigned.set(Some((trace_id, span_id))));
    let mut exported = tracer
        .span_builder(span.name.clone())
        .with_kind(kind)
        .with_start_time(SystemTime::from(span.start))
        .with_attributes(attributes)
        .start_with_context(&tracer, &parent);
    ASSIGNED.with(|assigned| assigned.set(None));
    if span.failed {
        exported.set_status(Status::error("failed"));
    }
    exported.end_with_timestamp(SystemTime::from(span.end));
}

/// Sends what is still buffered (at exit).
pub(crate) fn shutdown() {
    if let Some(provider) = PROVIDER.get()
        && let Err(error) = provider.shutdown()
    {
        eprintln!("exporting the last spans failed: {error}");
    }
}
