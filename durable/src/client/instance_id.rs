use super::DurableError;
pub use crate::history::MAX_INSTANCE_ID_LEN;

/// Checks that a user-supplied instance id is acceptable (see
/// [`check_instance_id`](crate::history::check_instance_id)).
pub fn validate_instance_id(instance_id: &str) -> Result<(), DurableError> {
    crate::history::check_instance_id(instance_id).map_err(|reason| {
        DurableError::InvalidInstanceId {
            instance_id: instance_id.chars().take(64).collect(),
            reason,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_ids_and_rejects_path_tricks() {
        assert!(validate_instance_id("backup-42_a.b").is_ok());
        for bad in ["", "../etc", "a/b", "a\\b", "a?b", "a#b", "@counter@x", " a", "a\n"] {
            assert!(validate_instance_id(bad).is_err(), "{bad:?} accepted");
        }
        assert!(validate_instance_id(&"x".repeat(257)).is_err());
    }
}
