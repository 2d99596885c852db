//! Route templates of HTTP functions in Azure's syntax (`orchestrators/{functionName}/{id?}`),
//! parsed and checked here, at compile time, only: the registration carries the segments the
//! runtime matches requests against.

/// A valid route template.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Route {
    /// The template without leading and trailing `/`.
    pub(crate) template: String,
    /// Its parameters, in order.
    pub(crate) params: Vec<RouteParam>,
    /// Its segments, in order: what the registration carries, so that the runtime matches
    /// requests without parsing the template again.
    pub(crate) segments: Vec<Segment>,
}

/// One segment of a route.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Segment {
    /// Literal text.
    Literal(String),
    /// A `{parameter}`.
    Param(RouteParam),
}

/// A `{parameter}` of a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RouteParam {
    /// Its name.
    pub(crate) name: String,
    /// Whether it may be absent.
    pub(crate) kind: ParamKind,
}

/// The kinds of route parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamKind {
    /// `{name}`: one segment.
    Required,
    /// `{name?}`: one segment or nothing (last segment only).
    Optional,
    /// `{*name}`: the rest of the path, possibly empty (last segment only).
    CatchAll,
}

impl Route {
    /// Parses a template; the error says what is wrong with it.
    pub(crate) fn parse(template: &str) -> Result<Route, String> {
        let trimmed = template.trim_matches('/');
        let parts: Vec<&str> =
            if trimmed.is_empty() { Vec::new() } else { trimmed.split('/').collect() };
        let mut params: Vec<RouteParam> = Vec::new();
        let mut segments = Vec::new();
        for (index, part) in parts.iter().enumerate() {
            let last = index + 1 == parts.len();
            match parse_segment(part, last)? {
                Some(param) => {
                    if params.iter().any(|p| p.name == param.name) {
                        return Err(format!("route parameter `{}` appears twice", param.name));
                    }
                    params.push(param.clone());
                    segments.push(Segment::Param(param));
                }
                None => segments.push(Segment::Literal((*part).to_owned())),
            }
        }
        Ok(Route { template: trimmed.to_owned(), params, segments })
    }

    /// The parameter named `name`.
    pub(crate) fn param(&self, name: &str) -> Option<&RouteParam> {
        self.params.iter().find(|param| param.name == name)
    }
}

/// A segment's parameter, or `None` for literal text.
fn parse_segment(part: &str, last: bool) -> Result<Option<RouteParam>, String> {
    let Some(inner) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) else {
        if part.is_empty() {
            return Err("a route may not contain an empty segment (`//`)".to_owned());
        }
        if part.contains(['{', '}', '?', '#', '%', '\\']) || part.chars().any(char::is_whitespace) {
            return Err(format!(
                "route segment `{part}` must be literal text or a whole `{{parameter}}`"
            ));
        }
        return Ok(None);
    };
    let (inner, catch_all) = match inner.strip_prefix('*') {
        Some(rest) => (rest, true),
        None => (inner, false),
    };
    let (name, optional) = match inner.strip_suffix('?') {
        Some(name) => (name, true),
        None => (inner, false),
    };
    if let Some((name, _)) = name.split_once(':') {
        return Err(format!(
            "route constraints are not supported: `{part}`; take the parameter as a typed fn parameter instead, e.g. `{name}: u32`"
        ));
    }
    let valid_name = name.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_alphanumeric() || c == '_');
    if !valid_name {
        return Err(format!("route parameter name `{name}` is not an identifier"));
    }
    if (optional || catch_all) && !last {
        return Err(format!(
            "only the last route segment may be optional or a catch-all: `{part}`"
        ));
    }
    if catch_all && optional {
        return Err(format!("a catch-all is already optional: `{part}`"));
    }
    let kind = if catch_all {
        ParamKind::CatchAll
    } else if optional {
        ParamKind::Optional
    } else {
        ParamKind::Required
    };
    Ok(Some(RouteParam { name: name.to_owned(), kind }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(template: &str) -> Route {
        Route::parse(template).unwrap_or_else(|e| panic!("{template}: {e}"))
    }

    #[test]
    fn parameters_of_every_kind() {
        let start = route("/orchestrators/{function_name}/{instance_id?}/");
        assert_eq!(start.template, "orchestrators/{function_name}/{instance_id?}");
        let kinds: Vec<_> = start.params.iter().map(|p| (p.name.as_str(), p.kind)).collect();
        assert_eq!(
            kinds,
            [("function_name", ParamKind::Required), ("instance_id", ParamKind::Optional)]
        );
        assert_eq!(route("files/{*path}").param("path").map(|p| p.kind), Some(ParamKind::CatchAll));
        assert!(route("").params.is_empty());
        assert!(route("a/b-c.d").params.is_empty());
    }

    #[test]
    fn rejects_malformed_templates() {
        for (bad, message) in [
            ("a//b", "empty segment"),
            ("a/{x?}/b", "only the last route segment"),
            ("{*rest}/more", "only the last route segment"),
            ("{*rest?}", "already optional"),
            ("{x}/{x}", "appears twice"),
            ("{id:int}", "route constraints are not supported: `{id:int}`"),
            ("a{b}", "must be literal text"),
            ("a b", "must be literal text"),
            ("{1x}", "not an identifier"),
            ("{}", "not an identifier"),
        ] {
            match Route::parse(bad) {
                Ok(_) => panic!("{bad} accepted"),
                Err(e) => assert!(e.contains(message), "{bad}: {e}"),
            }
        }
    }
}
