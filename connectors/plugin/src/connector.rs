//! The connector: configuration → one incremental unit → a running plugin.

use crate::config::PluginConfig;
use crate::error::PluginError;
use crate::process::{self, SpawnSpec};
use crate::reader::{ReaderSpec, SingerReader, state_of};
use crate::secret::Redactor;
use async_trait::async_trait;
use kontor_connector::{
    BatchReader, CommitMode, ConfigError, Connector, ConnectorError, ConnectorSpec, Description,
    DynConnector, Unit,
};
use std::io::Write;
use std::sync::Arc;

/// The connector kind name in `kontor.toml`.
pub const KIND: &str = "plugin";

/// The key of the one unit: the plugin's STATE is its checkpoint.
pub const UNIT_KEY: &str = "plugin";

/// Builds a plugin connector (`kontor_connector::BuildFn`).
pub fn build(spec: ConnectorSpec) -> Result<DynConnector, ConfigError> {
    Ok(Arc::new(PluginConnector::from_spec(spec)?))
}

/// Runs an external program that speaks the Singer protocol. `Debug` shows the configuration
/// with its secret references, never secret values.
#[derive(Debug)]
pub struct PluginConnector {
    name: String,
    cfg: PluginConfig,
}

impl PluginConnector {
    pub fn from_spec(spec: ConnectorSpec) -> Result<PluginConnector, ConfigError> {
        Ok(PluginConnector {
            cfg: PluginConfig::from_spec(&spec)?,
            name: spec.name,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Writes `value` as JSON to a new temporary file (mode 0600, removed when dropped).
fn temp_json(
    what: &str,
    value: &serde_json::Value,
) -> Result<tempfile::NamedTempFile, PluginError> {
    let io_err = |e: std::io::Error| PluginError::Io {
        path: format!("temporary {what} file"),
        message: e.to_string(),
    };
    let mut f = tempfile::Builder::new()
        .prefix(&format!("kontor-plugin-{what}-"))
        .suffix(".json")
        .tempfile()
        .map_err(io_err)?;
    let bytes = serde_json::to_vec(value).map_err(|e| PluginError::Io {
        path: format!("temporary {what} file"),
        message: e.to_string(),
    })?;
    f.write_all(&bytes).map_err(io_err)?;
    f.flush().map_err(io_err)?;
    Ok(f)
}

#[async_trait]
impl Connector for PluginConnector {
    fn describe(&self) -> Description {
        Description {
            kind: KIND,
            streams: self.cfg.streams.clone().unwrap_or_default(),
            builtin_mappings: Vec::new(),
        }
    }

    async fn check(&self) -> Result<Vec<String>, ConnectorError> {
        let none = Redactor::default();
        let resolved = self.cfg.resolve().map_err(|e| e.into_connector(&none))?;
        self.cfg
            .resolve_program(&resolved.env)
            .map_err(|e| e.into_connector(&resolved.redactor))?;
        let mut warnings = Vec::new();
        if self.cfg.streams.is_none() {
            warnings.push(format!(
                "connector `{}`: no `streams` list; records of every stream the plugin emits are read",
                self.name
            ));
        }
        Ok(warnings)
    }

    async fn discover(&self) -> Result<Vec<Unit>, ConnectorError> {
        Ok(vec![Unit {
            key: UNIT_KEY.to_owned(),
            label: self.cfg.label(),
            fingerprint: None,
            size: None,
            commit: CommitMode::Incremental,
            stream: None,
            modified: None,
        }])
    }

    async fn open(
        &self,
        unit: &Unit,
        state: Option<serde_json::Value>,
    ) -> Result<Box<dyn BatchReader>, ConnectorError> {
        if unit.key != UNIT_KEY {
            return Err(ConnectorError::Config(format!(
                "unknown unit `{}`",
                unit.key
            )));
        }
        let none = Redactor::default();
        let resolved = self.cfg.resolve().map_err(|e| e.into_connector(&none))?;
        let redactor = resolved.redactor.clone();
        let fail = |e: PluginError| e.into_connector(&redactor);
        let program = self.cfg.resolve_program(&resolved.env).map_err(fail)?;
        let state = state_of(state);
        let mut args: Vec<std::ffi::OsString> = self.cfg.args.iter().map(Into::into).collect();
        let mut files = Vec::new();
        let config_file = temp_json("config", &resolved.config).map_err(fail)?;
        args.push("--config".into());
        args.push(config_file.path().into());
        files.push(config_file);
        if let Some(s) = &state {
            let state_file = temp_json("state", s).map_err(fail)?;
            args.push("--state".into());
            args.push(state_file.path().into());
            files.push(state_file);
        }
        let label = self.cfg.label();
        let tap = process::spawn(SpawnSpec {
            program: program.clone(),
            args,
            env: resolved.env,
            cwd: self.cfg.base_dir.clone(),
            label: label.clone(),
            redactor: redactor.clone(),
        })
        .await
        .map_err(|e| {
            fail(PluginError::Io {
                path: program.display().to_string(),
                message: format!("cannot start the plugin: {e}"),
            })
        })?;
        tracing::info!(connector = %self.name, plugin = %redactor.redact(&label), pid = ?tap.pid(),
            resumed = state.is_some(), "plugin started");
        Ok(Box::new(SingerReader::new(
            tap,
            ReaderSpec {
                plugin: self.cfg.source_name(),
                timeout: self.cfg.timeout,
                streams: self.cfg.streams.clone(),
                state,
                redactor,
                files,
            },
        )))
    }
}
