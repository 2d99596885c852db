//! The functions registered by the trigger macros, collected at link time with `inventory`.

use std::collections::HashMap;

use crate::activity::ActivityRegistration;
use crate::backend::{QueueKind, QueueSpec};
use crate::orchestration::OrchestratorRegistration;

/// One registered function; the trigger macros submit these.
#[derive(Debug)]
pub enum Registration {
    /// An `#[activity_trigger]` fn.
    Activity(ActivityRegistration),
    /// An `#[orchestration_trigger]` fn.
    Orchestrator(OrchestratorRegistration),
}

impl Registration {
    fn name(&self) -> &'static str {
        match self {
            Registration::Activity(r) => r.name,
            Registration::Orchestrator(r) => r.name,
        }
    }

    fn rust_path(&self) -> &'static str {
        match self {
            Registration::Activity(r) => r.rust_path,
            Registration::Orchestrator(r) => r.rust_path,
        }
    }
}

inventory::collect!(Registration);

/// Two registrations share a function name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("function name `{name}` is registered twice: by `{first}` and by `{second}`")]
pub struct DuplicateFunction {
    /// The shared name.
    pub name: String,
    /// The Rust path of one registration.
    pub first: String,
    /// The Rust path of the other.
    pub second: String,
}

/// Refuses two functions of any kind (`(name, rust_path)`) with one name: a function app's
/// function names are unique, as in Azure.
pub(crate) fn check_unique_names(
    functions: impl IntoIterator<Item = (&'static str, &'static str)>,
) -> Result<(), DuplicateFunction> {
    let mut seen: HashMap<&'static str, &'static str> = HashMap::new();
    for (name, rust_path) in functions {
        if let Some(first) = seen.insert(name, rust_path) {
            // Report in a stable order regardless of link order.
            let mut paths = [first, rust_path];
            paths.sort_unstable();
            return Err(DuplicateFunction {
                name: name.to_owned(),
                first: paths[0].to_owned(),
                second: paths[1].to_owned(),
            });
        }
    }
    Ok(())
}

/// The registered functions of this binary, by name.
#[derive(Debug, Default)]
pub struct Registry {
    activities: HashMap<&'static str, &'static ActivityRegistration>,
    orchestrators: HashMap<&'static str, &'static OrchestratorRegistration>,
}

impl Registry {
    /// Collects every registration linked into the binary; refuses duplicate names.
    pub fn discover() -> Result<Self, DuplicateFunction> {
        Self::from_registrations(inventory::iter::<Registration>)
    }

    /// Builds a registry from the given registrations; refuses duplicate names.
    pub fn from_registrations(
        registrations: impl IntoIterator<Item = &'static Registration>,
    ) -> Result<Self, DuplicateFunction> {
        let registrations: Vec<&'static Registration> = registrations.into_iter().collect();
        check_unique_names(registrations.iter().map(|r| (r.name(), r.rust_path())))?;
        let mut registry = Registry::default();
        for registration in registrations {
            match registration {
                Registration::Activity(r) => {
                    registry.activities.insert(r.name, r);
                }
                Registration::Orchestrator(r) => {
                    registry.orchestrators.insert(r.name, r);
                }
            }
        }
        Ok(registry)
    }

    /// The name and Rust path of every registered function.
    pub(crate) fn names(&self) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
        let activities = self.activities.values().map(|r| (r.name, r.rust_path));
        let orchestrators = self.orchestrators.values().map(|r| (r.name, r.rust_path));
        activities.chain(orchestrators)
    }

    /// The activity registered under `name`.
    pub fn activity(&self, name: &str) -> Option<&'static ActivityRegistration> {
        self.activities.get(name).copied()
    }

    /// The orchestrator registered under `name`.
    pub fn orchestrator(&self, name: &str) -> Option<&'static OrchestratorRegistration> {
        self.orchestrators.get(name).copied()
    }

    /// One queue per registered function, sorted by name.
    pub fn queues(&self) -> Vec<QueueSpec> {
        let activities = self.activities.values().map(|r| (r.name, QueueKind::Activity));
        let orchestrators = self.orchestrators.values().map(|r| (r.name, QueueKind::Orchestrator));
        let mut queues: Vec<QueueSpec> = activities
            .chain(orchestrators)
            .map(|(name, kind)| QueueSpec { name: name.to_owned(), kind })
            .collect();
        queues.sort_by(|a, b| a.name.cmp(&b.name));
        queues
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::activity::DurableActivityContext;
    use crate::function::{BoxFuture, FunctionResult};

    fn noop(_: DurableActivityContext) -> BoxFuture<'static, FunctionResult> {
        Box::pin(async { Ok(Value::Null) })
    }

    static A: Registration = Registration::Activity(ActivityRegistration {
        name: "Same",
        rust_path: "app::a",
        invoke: noop,
    });
    static B: Registration = Registration::Activity(ActivityRegistration {
        name: "Same",
        rust_path: "app::b",
        invoke: noop,
    });

    #[test]
    fn duplicate_names_are_refused_naming_both() {
        let err = Registry::from_registrations([&B, &A]).err();
        assert_eq!(
            err.map(|e| e.to_string()),
            Some("function name `Same` is registered twice: by `app::a` and by `app::b`".into())
        );
    }

    #[test]
    fn one_queue_per_function() {
        let registry = Registry::from_registrations([&A]).unwrap_or_default();
        assert_eq!(
            registry.queues(),
            vec![QueueSpec { name: "Same".into(), kind: QueueKind::Activity }]
        );
    }
}
