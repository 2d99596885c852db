//! The functions registered by the trigger macros, collected at link time with `inventory`.

use std::collections::HashMap;

use crate::activity::ActivityRegistration;
use crate::backend::{QueueKind, QueueSpec};
use crate::entity::EntityRegistration;
use crate::orchestration::OrchestratorRegistration;

/// One registered function; the trigger macros submit these.
#[derive(Debug)]
pub enum Registration {
    /// An `#[activity_trigger]` fn.
    Activity(ActivityRegistration),
    /// An `#[orchestration_trigger]` fn.
    Orchestrator(OrchestratorRegistration),
    /// An `#[entity_trigger]` fn.
    Entity(EntityRegistration),
}

impl Registration {
    fn name(&self) -> &'static str {
        match self {
            Registration::Activity(r) => r.name,
            Registration::Orchestrator(r) => r.name,
            Registration::Entity(r) => r.name,
        }
    }

    fn rust_path(&self) -> &'static str {
        match self {
            Registration::Activity(r) => r.rust_path,
            Registration::Orchestrator(r) => r.rust_path,
            Registration::Entity(r) => r.rust_path,
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
pub(crate) fn check_unique_names<N: AsRef<str> + Eq + std::hash::Hash>(
    functions: impl IntoIterator<Item = (N, &'static str)>,
) -> Result<(), DuplicateFunction> {
    let mut seen: HashMap<N, &'static str> = HashMap::new();
    for (name, rust_path) in functions {
        if let Some(first) = seen.get(&name).copied() {
            // Report in a stable order regardless of link order.
            let mut paths = [first, rust_path];
            paths.sort_unstable();
            return Err(DuplicateFunction {
                name: name.as_ref().to_owned(),
                first: paths[0].to_owned(),
                second: paths[1].to_owned(),
            });
        }
        seen.insert(name, rust_path);
    }
    Ok(())
}

/// The registered functions of this binary, by name.
#[derive(Debug, Default)]
pub struct Registry {
    activities: HashMap<&'static str, &'static ActivityRegistration>,
    orchestrators: HashMap<&'static str, &'static OrchestratorRegistration>,
    /// By entity name: the function name lower-cased, as entity ids write it.
    entities: HashMap<String, &'static EntityRegistration>,
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
        // Entity names compare without case (`Counter` and `counter` name one entity).
        let entities = registrations.iter().filter_map(|r| match r {
            Registration::Entity(e) => Some((e.name, e.rust_path)),
            _ => None,
        });
        check_unique_names(entities.map(|(name, path)| (name.to_lowercase(), path)))?;
        let mut registry = Registry::default();
        for registration in registrations {
            match registration {
                Registration::Activity(r) => {
                    registry.activities.insert(r.name, r);
                }
                Registration::Orchestrator(r) => {
                    registry.orchestrators.insert(r.name, r);
                }
                Registration::Entity(r) => {
                    registry.entities.insert(r.name.to_lowercase(), r);
                }
            }
        }
        Ok(registry)
    }

    /// The name and Rust path of every registered function.
    pub(crate) fn names(&self) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
        let activities = self.activities.values().map(|r| (r.name, r.rust_path));
        let orchestrators = self.orchestrators.values().map(|r| (r.name, r.rust_path));
        let entities = self.entities.values().map(|r| (r.name, r.rust_path));
        activities.chain(orchestrators).chain(entities)
    }

    /// Every registered activity, in no particular order.
    pub(crate) fn activities(&self) -> impl Iterator<Item = &'static ActivityRegistration> + '_ {
        self.activities.values().copied()
    }

    /// The activity registered under `name`.
    pub fn activity(&self, name: &str) -> Option<&'static ActivityRegistration> {
        self.activities.get(name).copied()
    }

    /// The orchestrator registered under `name`.
    pub fn orchestrator(&self, name: &str) -> Option<&'static OrchestratorRegistration> {
        self.orchestrators.get(name).copied()
    }

    /// The entity function of the entity name `name` (any case).
    pub fn entity(&self, name: &str) -> Option<&'static EntityRegistration> {
        self.entities.get(&name.to_lowercase()).copied()
    }

    /// The names of the entity functions, as registered, sorted.
    pub fn entity_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.entities.values().map(|r| r.name.to_owned()).collect();
        names.sort_unstable();
        names
    }

    /// One queue per registered function, sorted by name; an entity function's is named
    /// as its entities' ids name it, in lower case.
    pub fn queues(&self) -> Vec<QueueSpec> {
        let activities = self.activities.values().map(|r| (r.name.to_owned(), QueueKind::Activity));
        let orchestrators =
            self.orchestrators.values().map(|r| (r.name.to_owned(), QueueKind::Orchestrator));
        let entities = self.entities.keys().map(|name| (name.clone(), QueueKind::Entity));
        let mut queues: Vec<QueueSpec> = activities
            .chain(orchestrators)
            .chain(entities)
            .map(|(name, kind)| QueueSpec { name, kind })
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
        max_concurrency: None,
    });
    static B: Registration = Registration::Activity(ActivityRegistration {
        name: "Same",
        rust_path: "app::b",
        invoke: noop,
        max_concurrency: None,
    });

    #[test]
    fn duplicate_names_are_refused_naming_both() {
        let err = Registry::from_registrations([&B, &A]).err();
        assert_eq!(
            err.map(|e| e.to_string()),
            Some("function name `Same` is registered twice: by `app::a` and by `app::b`".into())
        );
    }

    fn entity_noop(_: crate::entity::DurableEntityContext) -> BoxFuture<'static, FunctionResult> {
        Box::pin(async { Ok(Value::Null) })
    }

    static COUNTER: Registration = Registration::Entity(EntityRegistration {
        name: "Counter",
        rust_path: "app::counter",
        invoke: entity_noop,
    });
    static COUNTER_LOWER: Registration = Registration::Entity(EntityRegistration {
        name: "counter",
        rust_path: "app::other_counter",
        invoke: entity_noop,
    });

    #[test]
    fn entities_are_found_and_told_apart_without_case() {
        let registry = Registry::from_registrations([&A, &COUNTER]).unwrap_or_default();
        assert_eq!(registry.entity("COUNTER").map(|r| r.rust_path), Some("app::counter"));
        assert!(
            registry
                .queues()
                .contains(&QueueSpec { name: "counter".into(), kind: QueueKind::Entity })
        );
        let err = Registry::from_registrations([&COUNTER, &COUNTER_LOWER]).err();
        assert_eq!(
            err.map(|e| e.to_string()),
            Some(
                "function name `counter` is registered twice: by `app::counter` and by \
                 `app::other_counter`"
                    .into()
            )
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
