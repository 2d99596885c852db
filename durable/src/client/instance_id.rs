use super::DurableError;

/// The longest accepted instance id, in bytes.
pub const MAX_INSTANCE_ID_LEN: usize = 256;

/// Checks that a user-supplied instance id is acceptable: 1 to 256 bytes, no control
/// characters, none of `/ \ # ?` (they break URLs and paths, as in Azure), and not starting
/// with `@` (reserved for entity ids).
pub fn validate_instance_id(instance_id: &str) -> Result<(), DurableError> {
    let reason = if instance_id.is_empty() {
        Some("it is empty")
    } else if instance_id.len() > MAX_INSTANCE_ID_LEN {
        Some("it is longer than 256 bytes")
    } else if instance_id.chars().any(char::is_control) {
        Some("it contains a control character")
    } else if instance_id.contains(['/', '\\', '#', '?']) {
        Some("it contains one of `/ \\ # ?`")
    } else if instance_id.starts_with('@') {
        Some("ids starting with `@` are reserved for entities")
    } else if instance_id.trim() != instance_id {
        Some("it starts or ends with whitespace")
    } else {
        None
    };
    match reason {
        None => Ok(()),
        Some(reason) => Err(DurableError::InvalidInstanceId {
            instance_id: instance_id.chars().take(64).collect(),
            reason,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_ids_and_rejects_path_tricks() {
        assert!(validate_instance_id("backup-42_a.b").is_ok());
        for bad in [
            "",
            "../etc",
            "a/b",
            "a\\b",
            "a?b",
            "a#b",
            "@counter@x",
            " a",
            "a\n",
        ] {
            assert!(validate_instance_id(bad).is_err(), "{bad:?} accepted");
        }
        assert!(validate_instance_id(&"x".repeat(257)).is_err());
    }
}
