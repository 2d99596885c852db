//! App settings: the process environment, then `local.settings.json` (Azure Functions Core
//! Tools' file of local settings) in the app root. Its `Values` are settings as the
//! environment's are (a variable set in the environment wins, as on Azure, where app
//! settings are the environment); its `Host.LocalHttpPort` is the port to serve on.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use serde::Deserialize;

use super::Error;

/// The settings the app was configured from (set by [`HostConfig::from_env`]).
///
/// [`HostConfig::from_env`]: super::HostConfig::from_env
static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// The value of the app setting `name`: the environment variable, else the `Values` entry of
/// `local.settings.json` read when the app was configured ([`FunctionApp::from_env`]), as
/// `Environment.GetEnvironmentVariable` reads an app setting in C#.
///
/// ```no_run
/// let endpoint = durable::app_setting("BillingEndpoint").unwrap_or_default();
/// ```
///
/// [`FunctionApp::from_env`]: super::FunctionApp::from_env
pub fn app_setting(name: &str) -> Option<String> {
    match SETTINGS.get() {
        Some(settings) => settings.var(name),
        None => std::env::var(name).ok(),
    }
}

/// The environment with `local.settings.json` under it.
#[derive(Debug, Clone, Default)]
pub(super) struct Settings {
    /// `Values` of `local.settings.json`.
    values: BTreeMap<String, String>,
    /// `Host.LocalHttpPort` of `local.settings.json`.
    pub(super) local_http_port: Option<u16>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct LocalSettingsJson {
    values: BTreeMap<String, serde_json::Value>,
    host: LocalHostJson,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct LocalHostJson {
    local_http_port: Option<u16>,
}

impl Settings {
    /// Reads `local.settings.json` in `root`, if there is one.
    pub(super) fn load(root: &Path) -> Result<Settings, Error> {
        let path = root.join("local.settings.json");
        match std::fs::read_to_string(&path) {
            Ok(text) => Settings::parse(&text).map_err(|message| Error::Config {
                source_name: path.display().to_string(),
                message,
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
            Err(error) => Err(Error::Config {
                source_name: path.display().to_string(),
                message: error.to_string(),
            }),
        }
    }

    /// Parses `local.settings.json` text. Values may be strings, numbers or booleans (Core
    /// Tools takes them as their text).
    pub(super) fn parse(text: &str) -> Result<Settings, String> {
        let json: LocalSettingsJson = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut values = BTreeMap::new();
        for (name, value) in json.values {
            let text = match value {
                serde_json::Value::String(text) => text,
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                other => return Err(format!("Values.{name} must be a string, got {other}")),
            };
            values.insert(name, text);
        }
        Ok(Settings { values, local_http_port: json.host.local_http_port })
    }

    /// The setting `name`: the environment variable, else the `Values` entry.
    pub(super) fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().or_else(|| self.values.get(name).cloned())
    }

    /// As [`var`](Self::var), as an `OsString` (a path may not be UTF-8).
    pub(super) fn var_os(&self, name: &str) -> Option<std::ffi::OsString> {
        std::env::var_os(name).or_else(|| self.values.get(name).map(Into::into))
    }

    /// Makes these the settings [`app_setting`] reads (the first app configured wins).
    pub(super) fn install(&self) {
        let _ = SETTINGS.set(self.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_values_and_the_local_port() {
        let text = r#"{ "IsEncrypted": false, "Values": { "PATH": "from the file", "N": 5, "B": true },
                        "Host": { "LocalHttpPort": 7072, "CORS": "*" }, "ConnectionStrings": {} }"#;
        let settings = Settings::parse(text).unwrap_or_default();
        assert_eq!(settings.local_http_port, Some(7072));
        assert_eq!(settings.values.get("N").map(String::as_str), Some("5"));
        assert_eq!(settings.values.get("B").map(String::as_str), Some("true"));
        // The environment wins over the file.
        assert!(std::env::var("PATH").is_ok());
        assert_eq!(settings.var("PATH"), std::env::var("PATH").ok());
        assert_eq!(settings.var("N").as_deref(), Some("5"));
        let error = Settings::parse(r#"{ "Values": { "A": [1] } }"#).err().unwrap_or_default();
        assert!(error.contains("Values.A"), "{error}");
        assert!(Settings::parse("{").is_err());
    }
}
