//! Matching request paths against the routes of HTTP-triggered functions. The macro parses
//! and checks a route template (`orchestrators/{functionName}/{instanceId?}`) at compile time
//! and registers its segments; nothing here parses a template.

use std::collections::HashMap;

use percent_encoding::percent_decode_str;

/// One segment of a route, as `#[http_trigger]` registers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteSegment {
    /// Literal text, compared case-insensitively as ASP.NET routing does.
    Literal(&'static str),
    /// `{name}`: one segment.
    Param(&'static str),
    /// `{name?}`: one segment or nothing (last only).
    OptionalParam(&'static str),
    /// `{*name}`: the rest of the path, possibly empty (last only).
    CatchAll(&'static str),
}

/// A registered route.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RouteTemplate {
    segments: &'static [RouteSegment],
}

impl RouteTemplate {
    pub(crate) fn new(segments: &'static [RouteSegment]) -> Self {
        RouteTemplate { segments }
    }

    /// The route parameters when `path` (below `/api/`, still percent-encoded) matches.
    pub(crate) fn matches(&self, path: &str) -> Option<HashMap<String, String>> {
        let trimmed = path.trim_matches('/');
        let parts: Vec<&str> =
            if trimmed.is_empty() { Vec::new() } else { trimmed.split('/').collect() };
        let mut params = HashMap::new();
        for (index, segment) in self.segments.iter().enumerate() {
            match *segment {
                RouteSegment::Literal(text) => {
                    if !parts.get(index)?.eq_ignore_ascii_case(text) {
                        return None;
                    }
                }
                RouteSegment::Param(name) => {
                    params.insert(name.to_owned(), decode(parts.get(index)?)?);
                }
                RouteSegment::OptionalParam(name) => {
                    if let Some(part) = parts.get(index) {
                        params.insert(name.to_owned(), decode(part)?);
                    }
                }
                RouteSegment::CatchAll(name) => {
                    let rest = parts.get(index..).unwrap_or_default();
                    let rest: Option<Vec<String>> = rest.iter().map(|p| decode(p)).collect();
                    params.insert(name.to_owned(), rest?.join("/"));
                    return Some(params);
                }
            }
        }
        (parts.len() <= self.segments.len()).then_some(params)
    }

    /// Orders routes so that the most specific one matching a path wins: literals before
    /// parameters before optional parameters before catch-alls, segment by segment.
    pub(crate) fn specificity(&self) -> Vec<u8> {
        self.segments
            .iter()
            .map(|s| match s {
                RouteSegment::Literal(_) => 0,
                RouteSegment::Param(_) => 1,
                RouteSegment::OptionalParam(_) => 2,
                RouteSegment::CatchAll(_) => 3,
            })
            .collect()
    }

    /// The route with parameter names erased, lower case: two routes with the same shape
    /// match the same paths.
    pub(crate) fn shape(&self) -> String {
        self.segments
            .iter()
            .map(|s| match s {
                RouteSegment::Literal(text) => text.to_ascii_lowercase(),
                RouteSegment::Param(_) => "{}".to_owned(),
                RouteSegment::OptionalParam(_) => "{?}".to_owned(),
                RouteSegment::CatchAll(_) => "{*}".to_owned(),
            })
            .collect::<Vec<_>>()
            .join("/")
    }
}

fn decode(part: &str) -> Option<String> {
    percent_decode_str(part).decode_utf8().ok().map(|s| s.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use RouteSegment::{CatchAll, Literal, OptionalParam, Param};

    const START: &[RouteSegment] =
        &[Literal("orchestrators"), Param("functionName"), OptionalParam("instanceId")];

    #[test]
    fn matches_literals_parameters_optional_and_catch_all() {
        let start = RouteTemplate::new(START);
        let one = start.matches("Orchestrators/E1_HelloSequence");
        assert_eq!(
            one.and_then(|p| p.get("functionName").cloned()).as_deref(),
            Some("E1_HelloSequence")
        );
        let two = start.matches("orchestrators/f/id%201/");
        assert_eq!(two.and_then(|p| p.get("instanceId").cloned()).as_deref(), Some("id 1"));
        assert!(start.matches("orchestrators").is_none());
        assert!(start.matches("orchestrators/f/i/extra").is_none());
        let files = RouteTemplate::new(&[Literal("files"), CatchAll("path")]);
        assert_eq!(
            files.matches("files/a/b.txt").and_then(|p| p.get("path").cloned()).as_deref(),
            Some("a/b.txt")
        );
        assert!(RouteTemplate::new(&[]).matches("").is_some());
    }

    #[test]
    fn shapes_and_specificity() {
        let a_x = RouteTemplate::new(&[Literal("a"), Param("x")]);
        let a_y = RouteTemplate::new(&[Literal("A"), Param("y")]);
        assert_eq!(a_x.shape(), a_y.shape());
        let a_b = RouteTemplate::new(&[Literal("a"), Literal("b")]);
        assert!(a_b.specificity() < a_x.specificity());
    }

    /// A path segment: literal-like words, raw text, percent-encodings valid and not.
    fn part() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![
            prop::sample::select(vec!["orchestrators", "ORCHESTRATORS", "files", "", "%", "%FF"])
                .prop_map(str::to_owned),
            "[a-zA-Z0-9%/._-]{0,12}",
            any::<String>(),
        ]
    }

    proptest::proptest! {
        #[test]
        fn matching_any_path_never_panics(path in proptest::collection::vec(part(), 0..6)) {
            let path = path.join("/");
            for template in [START, &[Literal("files"), CatchAll("path")], &[]] {
                let _ = RouteTemplate::new(template).matches(&path);
            }
        }

        #[test]
        fn parameters_come_back_decoded(name in "(?s).+", id in "(?s).+") {
            use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
            let path = format!(
                "orchestrators/{}/{}",
                utf8_percent_encode(&name, NON_ALPHANUMERIC),
                utf8_percent_encode(&id, NON_ALPHANUMERIC)
            );
            let params = RouteTemplate::new(START).matches(&path);
            proptest::prop_assert_eq!(
                params.as_ref().and_then(|p| p.get("functionName")),
                Some(&name)
            );
            proptest::prop_assert_eq!(params.as_ref().and_then(|p| p.get("instanceId")), Some(&id));
        }
    }
}
