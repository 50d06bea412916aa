//! How a connector is built from configuration.
//!
//! The core reads `kontor.toml` and the mapping file; it hands a connector kind its own keys
//! (`settings`: the `[[connector]]` entry without the common keys) and the mapping's
//! `[source]` section. The connector deserializes them into its own types; a failure names the
//! key path, which the core turns into `file:line:col`.

use serde::de::DeserializeOwned;
use std::path::PathBuf;
use std::time::Duration;

/// Everything a connector kind needs to build a connector.
#[derive(Debug, Clone, Default)]
pub struct ConnectorSpec {
    /// The connector's unique name (`[a-z0-9-]+`).
    pub name: String,
    /// Kind-specific keys of the `[[connector]]` entry.
    pub settings: toml::Table,
    /// The `[source]` section of the connector's mapping file (empty when there is none).
    pub source: toml::Table,
    /// Folder of the config file: relative paths are resolved against it.
    pub base_dir: PathBuf,
    /// Records per batch the engine would like.
    pub batch_size: usize,
    /// Who "we" are (`[identity] own_vat_ids`, `own_glns`): connectors of documents between
    /// two parties (e-invoices) tell sent from received by it.
    pub own: OwnIdentity,
}

/// The company's own identifiers, from `[identity]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnIdentity {
    /// The company's VAT IDs.
    pub vat_ids: Vec<String>,
    /// The company's GLNs.
    pub glns: Vec<String>,
}

/// Which part of the configuration a [`ConfigError`] points into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigPart {
    /// The `[[connector]]` entry in `kontor.toml`.
    Settings,
    /// The `[source]` section of the mapping file.
    Source,
}

/// A configuration error with the key path it concerns.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}: {message}", if key.is_empty() { "(config)".to_string() } else { key.join(".") })]
pub struct ConfigError {
    /// Which part of the configuration.
    pub part: ConfigPart,
    /// Path of keys below the part, e.g. `["auth", "token_env"]`; may be empty.
    pub key: Vec<String>,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    /// An error at `key` of `part`.
    pub fn new(part: ConfigPart, key: &[&str], message: impl Into<String>) -> Self {
        Self {
            part,
            key: key.iter().map(|k| (*k).to_owned()).collect(),
            message: message.into(),
        }
    }
}

/// Deserializes a table into `T`; unknown keys should be rejected by `T`
/// (`#[serde(deny_unknown_fields)]`). The error carries the key path.
pub fn parse_table<T: DeserializeOwned>(
    table: &toml::Table,
    part: ConfigPart,
) -> Result<T, ConfigError> {
    let value = toml::Value::Table(table.clone());
    serde_path_to_error::deserialize::<_, T>(value).map_err(|err| {
        let mut key: Vec<String> = err
            .path()
            .iter()
            .filter_map(|seg| match seg {
                serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
                serde_path_to_error::Segment::Enum { variant } => Some(variant.clone()),
                serde_path_to_error::Segment::Unknown => None,
            })
            .collect();
        let message = err.into_inner().to_string();
        // serde reports an unknown key at the parent's path; name the key itself.
        if let Some(name) = unknown_field_name(&message)
            && key.last() != Some(&name)
        {
            key.push(name);
        }
        ConfigError { part, key, message }
    })
}

/// `"30s"`, `"500ms"`, `"2m"`, `"1h"`, or a number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("invalid duration `{s}` (e.g. 30s, 500ms, 2m)"))?;
    let secs = match unit.trim() {
        "" | "s" | "sec" => n,
        "ms" => n / 1000.0,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("invalid duration unit in `{s}` (ms, s, m, h)")),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("invalid duration `{s}`"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `"5/s"`, `"300/min"`, `"1000/h"` → (requests, per period).
pub fn parse_rate(s: &str) -> Result<(u32, Duration), String> {
    let bad = || format!("invalid rate `{s}` (e.g. 5/s, 300/min, 1000/h)");
    let (n, unit) = s.split_once('/').ok_or_else(bad)?;
    let n: u32 = n.trim().parse().map_err(|_| bad())?;
    if n == 0 {
        return Err(bad());
    }
    let per = match unit.trim() {
        "s" | "sec" | "second" => Duration::from_secs(1),
        "m" | "min" | "minute" => Duration::from_secs(60),
        "h" | "hour" => Duration::from_secs(3600),
        _ => return Err(bad()),
    };
    Ok((n, per))
}

fn unknown_field_name(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(rest[..rest.find('`')?].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Auth {
        kind: String,
        token_env: Option<String>,
    }
    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Settings {
        path: String,
        auth: Option<Auth>,
    }

    #[test]
    fn unknown_nested_key_names_its_path() {
        let t: toml::Table =
            toml::from_str("path = 'x'\nauth = { kind = 'token', tokn_env = 'X' }").unwrap();
        let err = parse_table::<Settings>(&t, ConfigPart::Settings).unwrap_err();
        assert_eq!(err.key, ["auth", "tokn_env"]);
        assert!(err.message.contains("unknown field"), "{}", err.message);
    }

    #[test]
    fn wrong_type_names_its_key() {
        let t: toml::Table = toml::from_str("path = 3").unwrap();
        let err = parse_table::<Settings>(&t, ConfigPart::Settings).unwrap_err();
        assert_eq!(err.key, ["path"]);
    }
}
