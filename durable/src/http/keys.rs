//! Function keys: who may call an HTTP function or the management API.
//!
//! As on Azure, a key is presented as the `x-functions-key` header or the `code` query
//! parameter. The master key opens everything; the system key (Azure's
//! `durabletask_extension` key) opens the management API; the function key opens functions
//! whose auth level is `function`. With no key configured every request is let in, which the
//! host allows only on a loopback address.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// Who may call an HTTP-triggered function (`AuthorizationLevel` in C#).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthLevel {
    /// No key needed.
    Anonymous,
    /// The function key or the master key (the default, as in Azure).
    #[default]
    Function,
    /// The master key only.
    Admin,
}

/// What a request asks to reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// An HTTP-triggered function of this level.
    Function(AuthLevel),
    /// The management API under `/runtime/webhooks/durabletask`.
    Management,
}

/// A key: compared in constant time, never printed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a key's text.
    pub fn new(key: impl Into<String>) -> Self {
        Secret(key.into())
    }

    /// The key's text, to hand to a client.
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn matches(&self, presented: &str) -> bool {
        self.0.as_bytes().ct_eq(presented.as_bytes()).into()
    }

    fn generate() -> Result<Secret, KeysError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| KeysError::Random(e.to_string()))?;
        Ok(Secret(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where the keys come from: explicit values (from the environment: `DURABLE_MASTER_KEY`,
/// `DURABLE_SYSTEM_KEY`, `DURABLE_FUNCTION_KEY`), then the keys file, which is created with
/// fresh random keys when `generate` is set and it does not exist yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySettings {
    /// The master key.
    pub master: Option<Secret>,
    /// The system key of the management API.
    pub system: Option<Secret>,
    /// The function key.
    pub function: Option<Secret>,
    /// The keys file (default `durable-keys.json` in the working directory); readable by its
    /// owner only.
    pub file: PathBuf,
    /// Create the keys file with random keys if it does not exist.
    pub generate: bool,
}

impl Default for KeySettings {
    fn default() -> Self {
        KeySettings {
            master: None,
            system: None,
            function: None,
            file: PathBuf::from("durable-keys.json"),
            generate: false,
        }
    }
}

/// Errors reading or creating the keys file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeysError {
    /// The file could not be read or written.
    #[error("keys file {path}: {source}")]
    Io {
        /// The keys file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not the JSON the host writes.
    #[error("keys file {path} is malformed: {message}")]
    Malformed {
        /// The keys file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Other users may read the file.
    #[error("keys file {path} can be read by other users (mode {mode:o}); run `chmod 600 {path}`")]
    Insecure {
        /// The keys file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The operating system gave no random bytes.
    #[error("could not generate a key: {0}")]
    Random(String),
}

/// The keys file's content.
#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct KeysFile {
    master_key: Option<Secret>,
    system_key: Option<Secret>,
    function_key: Option<Secret>,
}

/// The keys in force.
#[derive(Debug, Clone, Default)]
pub struct HostKeys {
    master: Option<Secret>,
    system: Option<Secret>,
    function: Option<Secret>,
}

impl HostKeys {
    /// Loads the keys: explicit ones first, then the keys file's, generating the file when
    /// asked to and it is missing. Returns whether the file was generated.
    pub fn load(settings: &KeySettings) -> Result<(HostKeys, bool), KeysError> {
        let path = &settings.file;
        let (file, generated) = match read_keys_file(path)? {
            Some(file) => (file, false),
            None if settings.generate => (generate_keys_file(path)?, true),
            None => (KeysFile::default(), false),
        };
        let keys = HostKeys {
            master: settings.master.clone().or(file.master_key),
            system: settings.system.clone().or(file.system_key),
            function: settings.function.clone().or(file.function_key),
        };
        Ok((keys, generated))
    }

    /// Whether any key is configured; without one, every request is let in.
    pub fn enabled(&self) -> bool {
        self.master.is_some() || self.system.is_some() || self.function.is_some()
    }

    /// Whether `presented` (the request's key, if any) opens `access`.
    pub(crate) fn allows(&self, access: Access, presented: Option<&str>) -> bool {
        if !self.enabled() || access == Access::Function(AuthLevel::Anonymous) {
            return true;
        }
        let Some(presented) = presented else {
            return false;
        };
        let opens = |key: &Option<Secret>| key.as_ref().is_some_and(|k| k.matches(presented));
        // Every key is compared, so the time taken does not tell which one matched.
        let master = opens(&self.master);
        let system = opens(&self.system);
        let function = opens(&self.function);
        match access {
            Access::Function(AuthLevel::Anonymous) => true,
            Access::Function(AuthLevel::Function) => master | function,
            Access::Function(AuthLevel::Admin) => master,
            Access::Management => master | system,
        }
    }

    /// The key management URLs carry as `code=`: the system key, else the master key.
    pub(crate) fn management_code(&self) -> Option<&Secret> {
        self.system.as_ref().or(self.master.as_ref())
    }
}

fn read_keys_file(path: &Path) -> Result<Option<KeysFile>, KeysError> {
    let io_error = |source| KeysError::Io { path: path.to_owned(), source };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(e)),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_err(io_error)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeysError::Insecure { path: path.to_owned(), mode });
        }
    }
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| KeysError::Malformed { path: path.to_owned(), message: e.to_string() })
}

/// Writes a new keys file readable by its owner only; never replaces an existing one.
fn generate_keys_file(path: &Path) -> Result<KeysFile, KeysError> {
    let io_error = |source| KeysError::Io { path: path.to_owned(), source };
    let keys = KeysFile {
        master_key: Some(Secret::generate()?),
        system_key: Some(Secret::generate()?),
        function_key: Some(Secret::generate()?),
    };
    let text = serde_json::to_string_pretty(&keys)
        .map_err(|e| KeysError::Malformed { path: path.to_owned(), message: e.to_string() })?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io_error)?;
    file.write_all(text.as_bytes()).map_err(io_error)?;
    file.sync_all().map_err(io_error)?;
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(master: &str, system: &str, function: &str) -> HostKeys {
        HostKeys {
            master: Some(Secret::new(master)),
            system: Some(Secret::new(system)),
            function: Some(Secret::new(function)),
        }
    }

    #[test]
    fn each_level_takes_its_keys() {
        let keys = keys("m", "s", "f");
        let function = Access::Function(AuthLevel::Function);
        let admin = Access::Function(AuthLevel::Admin);
        let anonymous = Access::Function(AuthLevel::Anonymous);
        assert!(keys.allows(anonymous, None));
        assert!(keys.allows(function, Some("f")) && keys.allows(function, Some("m")));
        assert!(!keys.allows(function, Some("s")) && !keys.allows(function, None));
        assert!(keys.allows(admin, Some("m")) && !keys.allows(admin, Some("f")));
        assert!(keys.allows(Access::Management, Some("s")));
        assert!(keys.allows(Access::Management, Some("m")));
        assert!(!keys.allows(Access::Management, Some("f")));
        assert!(!keys.allows(Access::Management, Some("s ")));
        assert!(HostKeys::default().allows(Access::Management, None));
    }

    #[test]
    fn generated_keys_are_kept_owner_only_and_reused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let settings = KeySettings {
            file: dir.path().join("keys.json"),
            generate: true,
            ..KeySettings::default()
        };
        let (first, generated) = HostKeys::load(&settings).unwrap_or_else(|e| panic!("{e}"));
        assert!(generated && first.enabled());
        let (again, generated) = HostKeys::load(&settings).unwrap_or_else(|e| panic!("{e}"));
        assert!(!generated);
        assert_eq!(first.master, again.master);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&settings.file)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or_default();
            assert_eq!(mode, 0o600);
            let _ =
                std::fs::set_permissions(&settings.file, std::fs::Permissions::from_mode(0o644));
            assert!(matches!(HostKeys::load(&settings), Err(KeysError::Insecure { .. })));
        }
        assert!(
            !format!("{first:?}")
                .contains(first.master.as_ref().map(Secret::expose).unwrap_or("missing"))
        );
    }
}
