//! The connector's keys in `kontor.toml`, validated at build time; secrets resolved at run
//! time only.

use crate::error::PluginError;
use crate::secret::{Redactor, SecretRef};
use kontor_connector::{ConfigError, ConfigPart, ConnectorSpec, parse_duration, parse_table};
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long the plugin may stay silent on stdout when `timeout` is not set.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// The kind-specific keys of a `[[connector]]` entry with `kind = "plugin"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    command: Vec<String>,
    #[serde(default)]
    config: toml::Table,
    timeout: Option<String>,
    #[serde(default)]
    env: toml::Table,
    streams: Option<Vec<String>>,
}

/// A configuration value whose secret references are resolved when the plugin starts.
#[derive(Debug, Clone)]
pub enum ConfigValue {
    /// A plain value (no references inside).
    Plain(Value),
    /// `{ env = "NAME" }` or `{ file = "path" }`.
    Secret(SecretRef),
    Object(Vec<(String, ConfigValue)>),
    Array(Vec<ConfigValue>),
}

/// The validated configuration. `Debug` shows secret references, never values.
#[derive(Debug, Clone)]
pub struct PluginConfig {
    /// The program as configured (a name looked up on `PATH`, or a path).
    pub program: String,
    pub args: Vec<String>,
    pub config: ConfigValue,
    pub env: Vec<(String, ConfigValue)>,
    pub timeout: Duration,
    pub streams: Option<Vec<String>>,
    /// The config folder: relative program and secret file paths, and the plugin's working
    /// directory.
    pub base_dir: PathBuf,
}

/// The configuration with secrets filled in. Deliberately without `Debug`.
pub struct Resolved {
    /// The plugin's `--config` JSON.
    pub config: Value,
    pub env: Vec<(String, String)>,
    /// Scrubs every resolved secret value.
    pub redactor: Redactor,
}

fn setting_err(key: &[&str], msg: impl Into<String>) -> ConfigError {
    ConfigError::new(ConfigPart::Settings, key, msg)
}

/// Key names whose inline string values are refused: such values belong in the environment
/// or a file.
fn looks_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("password")
        || k.contains("secret")
        || k.ends_with("token")
        || k.ends_with("api_key")
        || k.ends_with("apikey")
        || k.ends_with("private_key")
}

/// Converts a TOML value, recognising secret references; `path` is the key path for errors.
fn convert(
    v: &toml::Value,
    path: &mut Vec<String>,
    base_dir: &Path,
) -> Result<ConfigValue, ConfigError> {
    let err = |path: &[String], msg: String| ConfigError {
        part: ConfigPart::Settings,
        key: path.to_vec(),
        message: msg,
    };
    Ok(match v {
        toml::Value::Table(t)
            if t.len() == 1 && (t.contains_key("env") || t.contains_key("file")) =>
        {
            let (k, inner) = t
                .iter()
                .next()
                .ok_or_else(|| err(path, "empty reference".into()))?;
            let Some(s) = inner.as_str().filter(|s| !s.trim().is_empty()) else {
                path.push(k.clone());
                return Err(err(path, format!("`{k}` must be a non-empty string")));
            };
            ConfigValue::Secret(if k == "env" {
                SecretRef::Env(s.to_owned())
            } else {
                SecretRef::File(base_dir.join(s))
            })
        }
        toml::Value::Table(t) => {
            let mut out = Vec::with_capacity(t.len());
            for (k, inner) in t {
                path.push(k.clone());
                if looks_secret(k) && inner.as_str().is_some_and(|s| !s.is_empty()) {
                    return Err(err(
                        path,
                        format!(
                            "`{k}` looks like a secret: write {{ env = \"VAR\" }} or {{ file = \"path\" }} instead of the value"
                        ),
                    ));
                }
                out.push((k.clone(), convert(inner, path, base_dir)?));
                path.pop();
            }
            ConfigValue::Object(out)
        }
        toml::Value::Array(a) => {
            let mut out = Vec::with_capacity(a.len());
            for (i, inner) in a.iter().enumerate() {
                path.push(i.to_string());
                out.push(convert(inner, path, base_dir)?);
                path.pop();
            }
            ConfigValue::Array(out)
        }
        toml::Value::String(s) => ConfigValue::Plain(Value::String(s.clone())),
        toml::Value::Integer(i) => ConfigValue::Plain(Value::from(*i)),
        toml::Value::Float(f) => ConfigValue::Plain(
            serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .ok_or_else(|| err(path, format!("{f} cannot be written as JSON")))?,
        ),
        toml::Value::Boolean(b) => ConfigValue::Plain(Value::Bool(*b)),
        toml::Value::Datetime(d) => ConfigValue::Plain(Value::String(d.to_string())),
    })
}

impl ConfigValue {
    /// The JSON value with secrets filled in; every secret value is added to `secrets`.
    pub fn resolve(&self, secrets: &mut Vec<String>) -> Result<Value, PluginError> {
        Ok(match self {
            ConfigValue::Plain(v) => v.clone(),
            ConfigValue::Secret(r) => {
                let s = r.resolve()?;
                secrets.push(s.clone());
                Value::String(s)
            }
            ConfigValue::Object(fields) => {
                let mut m = serde_json::Map::new();
                for (k, v) in fields {
                    m.insert(k.clone(), v.resolve(secrets)?);
                }
                Value::Object(m)
            }
            ConfigValue::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| v.resolve(secrets))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }
}

impl PluginConfig {
    pub fn from_spec(spec: &ConnectorSpec) -> Result<PluginConfig, ConfigError> {
        let s: Settings = parse_table(&spec.settings, ConfigPart::Settings)?;
        if let Some(key) = spec.source.keys().next() {
            return Err(ConfigError::new(
                ConfigPart::Source,
                &[key],
                "the plugin connector takes no [source] section: the plugin reads its own `config`",
            ));
        }
        let (program, args) = match s.command.split_first() {
            Some((p, args)) if !p.trim().is_empty() => (p.clone(), args.to_vec()),
            _ => {
                return Err(setting_err(
                    &["command"],
                    "give the program and its arguments: command = [\"tap-x\", \"--flag\"]",
                ));
            }
        };
        let mut path = vec!["config".to_owned()];
        let config = convert(&toml::Value::Table(s.config), &mut path, &spec.base_dir)?;
        let mut env = Vec::with_capacity(s.env.len());
        for (name, v) in &s.env {
            let key = ["env", name.as_str()];
            if name.is_empty() || name.contains('=') || name.contains('\0') {
                return Err(setting_err(
                    &key,
                    format!("`{name}` is not a valid environment variable name"),
                ));
            }
            let value = match v {
                toml::Value::String(text) if looks_secret(name) && !text.is_empty() => {
                    return Err(setting_err(
                        &key,
                        format!(
                            "`{name}` looks like a secret: write {{ env = \"VAR\" }} or {{ file = \"path\" }} instead of the value"
                        ),
                    ));
                }
                toml::Value::String(text) => ConfigValue::Plain(Value::String(text.clone())),
                toml::Value::Table(_) => {
                    let mut p = vec!["env".to_owned(), name.clone()];
                    match convert(v, &mut p, &spec.base_dir)? {
                        r @ ConfigValue::Secret(_) => r,
                        _ => {
                            return Err(setting_err(
                                &key,
                                "a string, { env = \"VAR\" } or { file = \"path\" }",
                            ));
                        }
                    }
                }
                _ => {
                    return Err(setting_err(
                        &key,
                        "a string, { env = \"VAR\" } or { file = \"path\" }",
                    ));
                }
            };
            env.push((name.clone(), value));
        }
        let timeout = match &s.timeout {
            Some(t) => parse_duration(t).map_err(|e| setting_err(&["timeout"], e))?,
            None => DEFAULT_TIMEOUT,
        };
        if timeout.is_zero() {
            return Err(setting_err(&["timeout"], "must be more than 0"));
        }
        if let Some(streams) = &s.streams
            && let Some(i) = streams.iter().position(|n| n.trim().is_empty())
        {
            return Err(setting_err(
                &["streams", &i.to_string()],
                "empty stream name",
            ));
        }
        Ok(PluginConfig {
            program,
            args,
            config,
            env,
            timeout,
            streams: s.streams,
            base_dir: spec.base_dir.clone(),
        })
    }

    /// The command line as shown to people (no config values: those go into a file).
    pub fn label(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The program's file name: the `source` of every record's position.
    pub fn source_name(&self) -> String {
        Path::new(&self.program)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.program.clone())
    }

    /// Resolves every secret reference of `config` and `env`.
    pub fn resolve(&self) -> Result<Resolved, PluginError> {
        let mut secrets = Vec::new();
        let config = self.config.resolve(&mut secrets)?;
        let mut env = Vec::with_capacity(self.env.len());
        for (name, v) in &self.env {
            let value = match v.resolve(&mut secrets)? {
                Value::String(s) => s,
                other => other.to_string(),
            };
            env.push((name.clone(), value));
        }
        Ok(Resolved {
            config,
            env,
            redactor: Redactor::new(secrets),
        })
    }

    /// The program's absolute path: a path (with `/`) is taken relative to the config folder,
    /// a bare name is looked up on `PATH` (the plugin's own `env.PATH` when set).
    pub fn resolve_program(&self, env: &[(String, String)]) -> Result<PathBuf, PluginError> {
        let fail = |reason: String| PluginError::Program {
            program: self.program.clone(),
            reason,
        };
        if self.program.contains('/') || self.program.contains(std::path::MAIN_SEPARATOR) {
            let p = self.base_dir.join(&self.program);
            return match is_executable(&p) {
                Ok(()) => Ok(p),
                Err(reason) => Err(fail(format!("{}: {reason}", p.display()))),
            };
        }
        let path = env
            .iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| std::ffi::OsString::from(v))
            .or_else(|| std::env::var_os("PATH"))
            .unwrap_or_default();
        std::env::split_paths(&path)
            .map(|dir| self.base_dir.join(dir).join(&self.program))
            .find(|p| is_executable(p).is_ok())
            .ok_or_else(|| fail("not found on PATH (or not executable)".into()))
    }
}

/// Whether `p` is a file kontor may execute.
fn is_executable(p: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(p).map_err(|e| e.kind().to_string())?;
    if !meta.is_file() {
        return Err("not a file".into());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o111 == 0 {
            return Err("not executable (chmod +x)".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(settings: &str) -> ConnectorSpec {
        ConnectorSpec {
            name: "tap".into(),
            settings: toml::from_str(settings).unwrap(),
            base_dir: PathBuf::from("/etc/kontor"),
            ..ConnectorSpec::default()
        }
    }

    #[test]
    fn references_are_recognised_and_paths_resolved() {
        let c = PluginConfig::from_spec(&spec(
            "command = ['bin/tap-x', '--about']\ntimeout = '2m'\n\
             config = { user = 'u', password = { env = 'PW' }, key = { file = 'secrets/key' }, n = [1, 2.5, true] }\n\
             env = { LOG_LEVEL = 'debug', API_TOKEN = { env = 'T' } }",
        ))
        .unwrap();
        assert_eq!(c.label(), "bin/tap-x --about");
        assert_eq!(c.source_name(), "tap-x");
        assert_eq!(c.timeout, Duration::from_secs(120));
        let ConfigValue::Object(fields) = &c.config else {
            panic!("object expected")
        };
        let key = fields.iter().find(|(k, _)| k == "key").map(|(_, v)| v);
        assert!(
            matches!(key, Some(ConfigValue::Secret(SecretRef::File(p))) if p == Path::new("/etc/kontor/secrets/key"))
        );
        let token = c.env.iter().find(|(k, _)| k == "API_TOKEN").map(|(_, v)| v);
        assert!(matches!(token, Some(ConfigValue::Secret(SecretRef::Env(n))) if n == "T"));
        let dbg = format!("{c:?}");
        assert!(dbg.contains("Env(\"PW\")"), "{dbg}");
    }

    #[test]
    fn inline_secrets_and_bad_keys_are_refused() {
        let err = PluginConfig::from_spec(&spec(
            "command = ['t']\nconfig = { auth = { api_token = 'abc123' } }",
        ))
        .unwrap_err();
        assert_eq!(err.key, ["config", "auth", "api_token"]);
        assert!(!err.to_string().contains("abc123"), "{err}");
        let err = PluginConfig::from_spec(&spec("command = ['t']\nenv = { DB_PASSWORD = 'x' }"))
            .unwrap_err();
        assert_eq!(err.key, ["env", "DB_PASSWORD"]);
        let err = PluginConfig::from_spec(&spec("command = ['t']\nconfig = { a = { env = 3 } }"))
            .unwrap_err();
        assert_eq!(err.key, ["config", "a", "env"]);
        let err = PluginConfig::from_spec(&spec("command = []")).unwrap_err();
        assert_eq!(err.key, ["command"]);
        let err = PluginConfig::from_spec(&spec("command = ['t']\ntimout = '1s'")).unwrap_err();
        assert_eq!(err.key, ["timout"]);
        let err = PluginConfig::from_spec(&spec("command = ['t']\ntimeout = '0s'")).unwrap_err();
        assert_eq!(err.key, ["timeout"]);
    }

    #[test]
    fn program_lookup_on_path_and_relative_to_the_config_folder() {
        let c = PluginConfig::from_spec(&spec("command = ['sh']")).unwrap();
        let p = c.resolve_program(&[]).unwrap();
        assert!(p.is_absolute() && p.ends_with("sh"), "{}", p.display());
        let err = c
            .resolve_program(&[("PATH".into(), "/nonexistent".into())])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "program `sh`: not found on PATH (or not executable)"
        );
        let c = PluginConfig::from_spec(&spec("command = ['./tap-x']")).unwrap();
        let err = c.resolve_program(&[]).unwrap_err().to_string();
        assert!(err.contains("/etc/kontor/./tap-x"), "{err}");
    }
}
