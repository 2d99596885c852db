//! host.json's `logging.logLevel` as `tracing` filter directives.
//!
//! Azure's categories map onto Rust targets: `default` is the level of everything;
//! `Host…`, `DurableTask…`, `Microsoft…` and `Azure…` name this runtime (target `durable`);
//! `Function` names every registered function's module and `Function.<Name>` the module of
//! that function (functions sharing a module share its level); any other category is taken
//! as a Rust target (`my_app::billing`).

use std::collections::BTreeMap;

/// The log levels by category, as host.json gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogLevels {
    /// `(category, level)`, the level as `tracing` names it (`off` for Azure's `None`).
    levels: Vec<(String, &'static str)>,
}

impl LogLevels {
    /// Reads `logging.logLevel`: Azure's level names (`Trace`, `Debug`, `Information`,
    /// `Warning`, `Error`, `Critical`, `None`), any case. Errors name the category.
    pub(super) fn parse(levels: BTreeMap<String, String>) -> Result<LogLevels, String> {
        let mut parsed = Vec::with_capacity(levels.len());
        for (category, level) in levels {
            let filter = match level.to_ascii_lowercase().as_str() {
                "trace" => "trace",
                "debug" => "debug",
                "information" | "info" => "info",
                "warning" | "warn" => "warn",
                "error" | "critical" => "error",
                "none" | "off" => "off",
                _ => {
                    return Err(format!(
                        "logging.logLevel.{category}: `{level}` is not a level; expected Trace, \
                         Debug, Information, Warning, Error, Critical or None"
                    ));
                }
            };
            let plain = category.chars().all(|c| c.is_ascii_alphanumeric() || "_:.".contains(c));
            if category.is_empty() || !plain {
                return Err(format!(
                    "logging.logLevel: `{category}` is not a category (letters, digits, `_`, \
                     `.` and `::` only)"
                ));
            }
            parsed.push((category, filter));
        }
        Ok(LogLevels { levels: parsed })
    }

    /// The filter directives (`warn,durable=debug,my_app::orders=trace`) for the registered
    /// `functions` (`(name, Rust path of the fn)`); `None` when no level is set.
    pub(crate) fn directives<'a>(
        &self,
        functions: impl Iterator<Item = (&'a str, &'a str)> + Clone,
    ) -> Option<String> {
        if self.levels.is_empty() {
            return None;
        }
        let module = |path: &'a str| path.rsplit_once("::").map_or(path, |(module, _)| module);
        let mut targets: BTreeMap<String, &str> = BTreeMap::new();
        let mut default = None;
        // Broad categories first, so that `Function.<Name>` overrides `Function`.
        let mut levels: Vec<&(String, &str)> = self.levels.iter().collect();
        levels.sort_by_key(|(category, _)| category.matches('.').count());
        for (category, level) in levels {
            let runtime = ["Host", "DurableTask", "Microsoft", "Azure"]
                .iter()
                .any(|prefix| category == prefix || category.starts_with(&format!("{prefix}.")));
            if category.eq_ignore_ascii_case("default") {
                default = Some(*level);
            } else if runtime {
                targets.insert("durable".to_owned(), level);
            } else if category == "Function" {
                for (_, path) in functions.clone() {
                    targets.insert(module(path).to_owned(), level);
                }
            } else if let Some(rest) = category.strip_prefix("Function.") {
                let name = rest.split('.').next().unwrap_or(rest);
                for (_, path) in functions.clone().filter(|(n, _)| *n == name) {
                    targets.insert(module(path).to_owned(), level);
                }
            } else {
                targets.insert(category.clone(), level);
            }
        }
        let mut directives: Vec<String> = default.map(str::to_owned).into_iter().collect();
        directives.extend(targets.into_iter().map(|(target, level)| format!("{target}={level}")));
        Some(directives.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels(pairs: &[(&str, &str)]) -> Result<LogLevels, String> {
        LogLevels::parse(pairs.iter().map(|(c, l)| (c.to_string(), l.to_string())).collect())
    }

    #[test]
    fn azure_categories_become_targets() {
        let functions = [("E1_SayHello", "app::hello::say_hello"), ("Other", "app::other::run")];
        let parsed = levels(&[
            ("default", "Warning"),
            ("Host.Results", "Error"),
            ("DurableTask.Core", "Debug"),
            ("Function", "Information"),
            ("Function.E1_SayHello.User", "Trace"),
            ("my_app::billing", "None"),
        ])
        .unwrap_or_default();
        let directives = parsed.directives(functions.into_iter()).unwrap_or_default();
        let mut parts: Vec<&str> = directives.split(',').collect();
        assert_eq!(parts.remove(0), "warn");
        parts.sort();
        // `Host.Results` and `DurableTask.Core` both name the runtime; the later by name wins.
        assert_eq!(
            parts,
            ["app::hello=trace", "app::other=info", "durable=error", "my_app::billing=off"]
        );
        assert!(tracing_subscriber::EnvFilter::try_new(&directives).is_ok(), "{directives}");
        assert_eq!(LogLevels::default().directives(functions.into_iter()), None);
    }

    #[test]
    fn bad_levels_and_categories_are_named() {
        let error = levels(&[("Function", "Loud")]).err().unwrap_or_default();
        assert!(error.contains("logging.logLevel.Function") && error.contains("`Loud`"), "{error}");
        let error = levels(&[("a b", "Debug")]).err().unwrap_or_default();
        assert!(error.contains("`a b`"), "{error}");
    }
}
