//! Entity ids: an entity's name (its function's, lower-cased as Azure does) and a key.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Identifies one entity: the name of its entity function and a key. Its instance id in the
/// store is `@name@key`, with the name lower-cased, as Azure writes it; so `Counter` and
/// `counter` name the same entity.
///
/// ```
/// use durable::entity::EntityId;
///
/// let id = EntityId::new("Counter", "myCounter")?;
/// assert_eq!(id.to_string(), "@counter@myCounter");
/// assert_eq!("@counter@myCounter".parse::<EntityId>()?, id);
/// # Ok::<(), durable::entity::EntityIdError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntityId {
    name: String,
    key: String,
}

/// Why a string is not an entity id, or a name and key cannot make one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntityIdError {
    /// The entity name is empty.
    #[error("an entity name must not be empty")]
    EmptyName,
    /// The entity name holds `@`, which separates the name from the key.
    #[error("entity name `{0}` must not contain `@`")]
    AtInName(String),
    /// The string does not have the form `@name@key`.
    #[error("`{0}` is not an entity id: entity ids have the form `@name@key`")]
    NotAnEntityId(String),
}

impl EntityId {
    /// The entity `key` of the entity function `name` (compared case-insensitively).
    pub fn new(name: &str, key: impl Into<String>) -> Result<Self, EntityIdError> {
        if name.is_empty() {
            return Err(EntityIdError::EmptyName);
        }
        if name.contains('@') {
            return Err(EntityIdError::AtInName(name.to_owned()));
        }
        Ok(EntityId { name: name.to_lowercase(), key: key.into() })
    }

    /// The entity's name, lower-cased.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The entity's key.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl fmt::Display for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "@{}@{}", self.name, self.key)
    }
}

impl FromStr for EntityId {
    type Err = EntityIdError;

    /// Reads `@name@key`; the key may hold `@` itself.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let not_one = || EntityIdError::NotAnEntityId(s.to_owned());
        let (name, key) =
            s.strip_prefix('@').and_then(|rest| rest.split_once('@')).ok_or_else(not_one)?;
        EntityId::new(name, key).map_err(|_| not_one())
    }
}

impl Serialize for EntityId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EntityId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lower_cased_and_keys_kept() {
        let id = EntityId::new("BankAccount", "Alice@Home").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(id.name(), "bankaccount");
        assert_eq!(id.key(), "Alice@Home");
        assert_eq!(id.to_string(), "@bankaccount@Alice@Home");
        assert_eq!("@BankAccount@Alice@Home".parse::<EntityId>(), Ok(id.clone()));
        let json = serde_json::to_string(&id).unwrap_or_default();
        assert_eq!(json, "\"@bankaccount@Alice@Home\"");
        assert_eq!(serde_json::from_str::<EntityId>(&json).ok(), Some(id));
    }

    #[test]
    fn malformed_ids_say_what_is_wrong() {
        assert_eq!(EntityId::new("", "k"), Err(EntityIdError::EmptyName));
        assert_eq!(EntityId::new("a@b", "k"), Err(EntityIdError::AtInName("a@b".to_owned())));
        for text in ["counter", "counter@k", "@counter", "@@k"] {
            let error = text.parse::<EntityId>().err();
            assert_eq!(error, Some(EntityIdError::NotAnEntityId(text.to_owned())), "{text}");
        }
        let message = "x".parse::<EntityId>().err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(message, "`x` is not an entity id: entity ids have the form `@name@key`");
    }
}
