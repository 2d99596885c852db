//! Query parameters of the management API, read as Azure reads them: names in any case,
//! booleans `true`/`false` in any case, ISO-8601 times (fractional seconds, `Z` or an offset,
//! or none for UTC), runtime statuses as a comma-separated list, durations in seconds. A value
//! that does not parse is an [`InvalidQuery`] naming the parameter.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use super::rejection::InvalidQuery;
use crate::history::OrchestrationRuntimeStatus;

/// The decoded query of a request.
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    /// Decodes a raw query string.
    pub(crate) fn parse(raw: Option<&str>) -> Result<Query, InvalidQuery> {
        serde_urlencoded::from_str(raw.unwrap_or_default())
            .map(Query)
            .map_err(|e| InvalidQuery::new(format!("the query string is malformed: {e}")))
    }

    /// The first non-blank value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, v)| n.eq_ignore_ascii_case(name) && !v.trim().is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Every non-blank value of `name`.
    fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter(move |(n, v)| n.eq_ignore_ascii_case(name) && !v.trim().is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// A boolean, `default` when absent.
    pub(crate) fn flag(&self, name: &str, default: bool) -> Result<bool, InvalidQuery> {
        match self.get(name).map(str::trim) {
            None => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(invalid(name, "true or false", v)),
        }
    }

    /// A time.
    pub(crate) fn time(&self, name: &str) -> Result<Option<DateTime<Utc>>, InvalidQuery> {
        self.parsed(name, "an ISO-8601 time such as 2026-01-31T12:00:00.000Z", parse_time)
    }

    /// A positive count.
    pub(crate) fn count(&self, name: &str) -> Result<Option<usize>, InvalidQuery> {
        self.parsed(name, "a positive integer", |v| v.parse::<usize>().ok().filter(|n| *n > 0))
    }

    /// A duration in seconds (fractions allowed).
    pub(crate) fn seconds(&self, name: &str) -> Result<Option<Duration>, InvalidQuery> {
        self.parsed(name, "a number of seconds", |v| {
            v.parse::<f64>().ok().and_then(|s| Duration::try_from_secs_f64(s).ok())
        })
    }

    /// `name` read by `parse` (which gets the value trimmed); `None` when absent.
    fn parsed<T>(
        &self,
        name: &str,
        expected: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<Option<T>, InvalidQuery> {
        self.get(name)
            .map(|v| parse(v.trim()).ok_or_else(|| invalid(name, expected, v)))
            .transpose()
    }

    /// Runtime statuses: every value, each a comma-separated list of names in any case.
    pub(crate) fn statuses(
        &self,
        name: &str,
    ) -> Result<Vec<OrchestrationRuntimeStatus>, InvalidQuery> {
        let mut statuses = Vec::new();
        for item in self.all(name).flat_map(|v| v.split(',')).map(str::trim) {
            if item.is_empty() {
                continue;
            }
            let status = OrchestrationRuntimeStatus::parse(item).ok_or_else(|| {
                InvalidQuery::new(format!(
                    "`{item}` in `{name}` is not a runtime status; expected Pending, Running, \
                     Completed, ContinuedAsNew, Failed, Canceled, Terminated or Suspended"
                ))
            })?;
            if !statuses.contains(&status) {
                statuses.push(status);
            }
        }
        Ok(statuses)
    }
}

/// The failure for a `value` of `name` that is not `expected`.
fn invalid(name: &str, expected: &str, value: &str) -> InvalidQuery {
    InvalidQuery::new(format!("the query parameter `{name}` must be {expected}, not `{value}`"))
}

/// RFC 3339 (any fractional digits), or a time without offset (read as UTC), or a date.
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    if let Ok(time) = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(time.and_utc());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|time| time.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(raw: &str) -> Query {
        Query::parse(Some(raw)).unwrap_or_else(|_| Query(Vec::new()))
    }

    #[test]
    fn reads_values_as_azure_clients_send_them() {
        let q = query(
            "ShowHistory=True&showInput=FALSE&createdTimeFrom=2026-01-02T03:04:05.123456Z\
             &runtimeStatus=Running,completed&runtimeStatus=Failed&top=5&blank=",
        );
        assert_eq!(q.flag("showHistory", false).ok(), Some(true));
        assert_eq!(q.flag("showinput", true).ok(), Some(false));
        assert_eq!(q.flag("missing", true).ok(), Some(true));
        assert_eq!(q.flag("blank", true).ok(), Some(true));
        let from = q.time("createdTimeFrom").ok().flatten();
        assert_eq!(
            from.map(|t| t.to_rfc3339()),
            Some("2026-01-02T03:04:05.123456+00:00".to_owned())
        );
        assert_eq!(
            q.statuses("runtimeStatus").ok(),
            Some(vec![
                OrchestrationRuntimeStatus::Running,
                OrchestrationRuntimeStatus::Completed,
                OrchestrationRuntimeStatus::Failed
            ])
        );
        assert_eq!(q.count("top").ok().flatten(), Some(5));
        assert!(parse_time("2026-01-02T03:04:05").is_some());
        assert!(parse_time("2026-01-02").is_some());
    }

    #[test]
    fn refuses_values_that_do_not_parse() {
        let q = query("showHistory=yes&createdTimeFrom=yesterday&runtimeStatus=Runing&top=0");
        assert!(q.flag("showHistory", false).is_err());
        assert!(q.time("createdTimeFrom").is_err());
        assert!(q.statuses("runtimeStatus").is_err());
        assert!(q.count("top").is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_query_string_reads_without_panics(
            raw in proptest::prelude::any::<String>(),
            value in crate::history::fuzz_tests::text(),
        ) {
            for raw in [raw, format!("top={value}&timeout={value}&createdTimeFrom={value}&\
                runtimeStatus={value}&showHistory={value}")] {
                if let Ok(q) = Query::parse(Some(&raw)) {
                    let _ = q.flag("showHistory", false);
                    let _ = q.time("createdTimeFrom");
                    let _ = q.count("top");
                    let _ = q.seconds("timeout");
                    let _ = q.statuses("runtimeStatus");
                }
            }
        }
    }
}
