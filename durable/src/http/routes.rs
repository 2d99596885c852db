//! Route templates of HTTP-triggered functions (`orchestrators/{functionName}/{instanceId?}`)
//! and matching request paths against them.

use std::collections::HashMap;

use percent_encoding::percent_decode_str;

/// One segment of a route template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// Literal text, compared case-insensitively as ASP.NET routing does.
    Literal(String),
    /// `{name}`, or `{name?}` when optional (only last).
    Param { name: String, optional: bool },
    /// `{*name}`: the rest of the path (only last).
    CatchAll(String),
}

/// A parsed route template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RouteTemplate {
    segments: Vec<Segment>,
}

impl RouteTemplate {
    /// Parses a template such as `orchestrators/{functionName}/{instanceId?}`; the error says
    /// what is wrong with it.
    pub(crate) fn parse(template: &str) -> Result<RouteTemplate, String> {
        let trimmed = template.trim_matches('/');
        let parts: Vec<&str> = if trimmed.is_empty() {
            Vec::new()
        } else {
            trimmed.split('/').collect()
        };
        let mut segments = Vec::with_capacity(parts.len());
        let mut names = Vec::new();
        for (index, part) in parts.iter().enumerate() {
            let last = index + 1 == parts.len();
            let segment = parse_segment(part, last)?;
            if let Segment::Param { name, .. } | Segment::CatchAll(name) = &segment {
                if names.contains(name) {
                    return Err(format!("route parameter `{name}` appears twice"));
                }
                names.push(name.clone());
            }
            segments.push(segment);
        }
        Ok(RouteTemplate { segments })
    }

    /// The route parameters when `path` (below `/api/`, still percent-encoded) matches.
    pub(crate) fn matches(&self, path: &str) -> Option<HashMap<String, String>> {
        let trimmed = path.trim_matches('/');
        let parts: Vec<&str> = if trimmed.is_empty() {
            Vec::new()
        } else {
            trimmed.split('/').collect()
        };
        let mut params = HashMap::new();
        for (index, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Literal(text) => {
                    if !parts.get(index)?.eq_ignore_ascii_case(text) {
                        return None;
                    }
                }
                Segment::Param { name, optional } => match parts.get(index) {
                    Some(part) => {
                        params.insert(name.clone(), decode(part)?);
                    }
                    None if *optional => {}
                    None => return None,
                },
                Segment::CatchAll(name) => {
                    let rest = parts.get(index..).unwrap_or_default();
                    let rest: Option<Vec<String>> = rest.iter().map(|p| decode(p)).collect();
                    params.insert(name.clone(), rest?.join("/"));
                    return Some(params);
                }
            }
        }
        (parts.len() <= self.segments.len()).then_some(params)
    }

    /// Orders templates so that the most specific one matching a path wins: literals before
    /// parameters before optional parameters before catch-alls, segment by segment.
    pub(crate) fn specificity(&self) -> Vec<u8> {
        self.segments
            .iter()
            .map(|s| match s {
                Segment::Literal(_) => 0,
                Segment::Param {
                    optional: false, ..
                } => 1,
                Segment::Param { optional: true, .. } => 2,
                Segment::CatchAll(_) => 3,
            })
            .collect()
    }

    /// The template with parameter names erased, lower case: two templates with the same
    /// shape match the same paths.
    pub(crate) fn shape(&self) -> String {
        self.segments
            .iter()
            .map(|s| match s {
                Segment::Literal(text) => text.to_ascii_lowercase(),
                Segment::Param {
                    optional: false, ..
                } => "{}".to_owned(),
                Segment::Param { optional: true, .. } => "{?}".to_owned(),
                Segment::CatchAll(_) => "{*}".to_owned(),
            })
            .collect::<Vec<_>>()
            .join("/")
    }
}

fn parse_segment(part: &str, last: bool) -> Result<Segment, String> {
    let Some(inner) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) else {
        if part.is_empty() {
            return Err("a route may not contain an empty segment (`//`)".to_owned());
        }
        if part.contains(['{', '}', '?', '#', '%', '\\']) || part.chars().any(char::is_whitespace) {
            return Err(format!(
                "route segment `{part}` must be literal text or a whole `{{parameter}}`"
            ));
        }
        return Ok(Segment::Literal(part.to_owned()));
    };
    let (inner, catch_all) = match inner.strip_prefix('*') {
        Some(rest) => (rest, true),
        None => (inner, false),
    };
    let (name, optional) = match inner.strip_suffix('?') {
        Some(name) => (name, true),
        None => (inner, false),
    };
    if name.contains(':') {
        return Err(format!(
            "route constraints such as `{{{inner}}}` are not supported; take the parameter as \
             a typed fn parameter instead"
        ));
    }
    let valid_name = name
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_alphanumeric() || c == '_');
    if !valid_name {
        return Err(format!(
            "route parameter name `{name}` is not an identifier"
        ));
    }
    if (optional || catch_all) && !last {
        return Err(format!(
            "only the last route segment may be optional or a catch-all: `{part}`"
        ));
    }
    if catch_all && optional {
        return Err(format!("a catch-all is already optional: `{part}`"));
    }
    Ok(if catch_all {
        Segment::CatchAll(name.to_owned())
    } else {
        Segment::Param {
            name: name.to_owned(),
            optional,
        }
    })
}

fn decode(part: &str) -> Option<String> {
    percent_decode_str(part)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(template: &str) -> RouteTemplate {
        RouteTemplate::parse(template).unwrap_or_else(|e| panic!("{template}: {e}"))
    }

    #[test]
    fn matches_literals_parameters_optional_and_catch_all() {
        let start = route("orchestrators/{functionName}/{instanceId?}");
        let one = start.matches("Orchestrators/E1_HelloSequence");
        assert_eq!(
            one.and_then(|p| p.get("functionName").cloned()).as_deref(),
            Some("E1_HelloSequence")
        );
        let two = start.matches("orchestrators/f/id%201/");
        assert_eq!(
            two.and_then(|p| p.get("instanceId").cloned()).as_deref(),
            Some("id 1")
        );
        assert!(start.matches("orchestrators").is_none());
        assert!(start.matches("orchestrators/f/i/extra").is_none());
        let files = route("files/{*path}");
        assert_eq!(
            files
                .matches("files/a/b.txt")
                .and_then(|p| p.get("path").cloned())
                .as_deref(),
            Some("a/b.txt")
        );
        assert!(route("").matches("").is_some());
    }

    #[test]
    fn rejects_malformed_templates() {
        for bad in [
            "a//b",
            "a/{x?}/b",
            "{x}/{x}",
            "{id:int}",
            "a{b}",
            "{*rest}/more",
            "{1x}",
        ] {
            assert!(RouteTemplate::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn shapes_and_specificity() {
        assert_eq!(route("a/{x}").shape(), route("A/{y}").shape());
        assert!(route("a/b").specificity() < route("a/{x}").specificity());
    }
}
