//! [`TraceContext`]: the trace identity of an orchestration execution, recorded in its
//! `ExecutionStarted` event (as Durable Functions' distributed tracing v2 records it), so
//! that every turn, in any process, before and after restarts, names the same span.

use serde::{Deserialize, Serialize};

/// An execution's place in a distributed trace (W3C Trace Context ids, lower-case hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TraceContext {
    /// The trace (32 hex digits).
    pub trace_id: String,
    /// The execution's own span (16 hex digits).
    pub span_id: String,
    /// The span it descends from: the request that started it, or the parent orchestration's
    /// span for a sub-orchestration; `None` for a trace's root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_span_id: Option<String>,
    /// The W3C `tracestate` that came with the parent, passed on unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_state: Option<String>,
}

impl TraceContext {
    /// The root of a new trace.
    pub fn new_root() -> TraceContext {
        TraceContext {
            trace_id: uuid::Uuid::new_v4().simple().to_string(),
            span_id: new_span_id(),
            parent_span_id: None,
            trace_state: None,
        }
    }

    /// A new span in this trace, below this one.
    pub fn child(&self) -> TraceContext {
        TraceContext {
            trace_id: self.trace_id.clone(),
            span_id: new_span_id(),
            parent_span_id: Some(self.span_id.clone()),
            trace_state: self.trace_state.clone(),
        }
    }

    /// A new span in this trace, beside this one (the next execution after
    /// `continue_as_new`).
    pub fn sibling(&self) -> TraceContext {
        TraceContext { span_id: new_span_id(), ..self.clone() }
    }

    /// The span a W3C `traceparent` header names (`00-<trace id>-<span id>-<flags>`), as a
    /// remote parent: what it starts takes a [`child`](Self::child) of it. `None` when the
    /// header is not one (W3C: ignore it).
    pub fn from_traceparent(traceparent: &str, trace_state: Option<&str>) -> Option<TraceContext> {
        let mut parts = traceparent.trim().split('-');
        let (version, trace_id, span_id, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let hex = |text: &str, len: usize| {
            text.len() == len
                && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        let valid = hex(version, 2)
            && version != "ff"
            && hex(trace_id, 32)
            && hex(span_id, 16)
            && hex(flags, 2)
            && trace_id.bytes().any(|b| b != b'0')
            && span_id.bytes().any(|b| b != b'0')
            && (version != "00" || parts.next().is_none());
        valid.then(|| TraceContext {
            trace_id: trace_id.to_owned(),
            span_id: span_id.to_owned(),
            parent_span_id: None,
            trace_state: trace_state.map(str::to_owned).filter(|s| !s.is_empty()),
        })
    }

    /// This span as a W3C `traceparent` (sampled).
    pub fn traceparent(&self) -> String {
        format!("00-{}-{}-01", self.trace_id, self.span_id)
    }
}

/// 16 random hex digits, never all zeros.
fn new_span_id() -> String {
    let bits = uuid::Uuid::new_v4().as_u64_pair().0 | 1;
    format!("{bits:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparents_are_read_and_written() {
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let context = TraceContext::from_traceparent(header, Some("congo=t61rcWkgMzE"));
        let Some(context) = context else { panic!("a valid traceparent") };
        assert_eq!(context.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(context.span_id, "00f067aa0ba902b7");
        assert_eq!(context.trace_state.as_deref(), Some("congo=t61rcWkgMzE"));
        assert_eq!(context.traceparent(), header);
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            assert!(TraceContext::from_traceparent(bad, None).is_none(), "{bad}");
        }
        let root = TraceContext::new_root();
        let child = root.child();
        assert_eq!(
            (child.trace_id.as_str(), child.parent_span_id.as_deref()),
            (root.trace_id.as_str(), Some(root.span_id.as_str()))
        );
        assert_eq!(root.span_id.len(), 16);
        assert_eq!(root.trace_id.len(), 32);
    }
}
