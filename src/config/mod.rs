//! `kontor.toml`: store, server and connectors. Unknown keys are errors; every error names
//! file, line and key. Any key can be overridden from the environment:
//! `KONTOR_<SECTION>__<KEY>` (e.g. `KONTOR_STORE__URL`) and
//! `KONTOR_CONNECTOR__<NAME>__<KEY>` (name upper-cased, `-` as `_`).

mod auth;
mod complaints;
mod connectors;
mod cti;
mod identity;
mod sections;

pub use auth::{AuthSection, AuthTimes, OidcSection};
pub use complaints::{ComplaintsSection, MAX_STEP_DAYS, ProcessStep, parse_cost};
pub use cti::{CtiSection, DIAL_PROVIDERS, DialSection};
pub use identity::*;
pub use sections::*;

use crate::diag::{Diagnostic, SpanMap};
use kontor_connector::{ConfigError, ConfigPart, parse_table};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Config {
    /// The config file as shown in messages.
    pub label: String,
    /// Paths in the config are relative to this folder.
    pub base_dir: PathBuf,
    pub store: StoreSection,
    pub server: ServerSection,
    pub sync: SyncSection,
    pub identity: IdentitySection,
    pub complaints: ComplaintsSection,
    pub reminders: RemindersSection,
    pub cti: CtiSection,
    pub privacy: PrivacySection,
    /// `[auth]`: sessions and lockout of people who sign in (per node, like `[server]`).
    pub auth: AuthSection,
    pub connectors: Vec<ConnectorConfig>,
    pub text: String,
    /// The configuration as parsed, environment overrides applied (what the cluster
    /// fingerprint is taken of: the values written, not the defaults).
    pub effective: toml::Table,
}

/// One `[[connector]]` entry.
#[derive(Debug, Clone)]
pub struct ConnectorConfig {
    pub index: usize,
    pub name: String,
    pub kind: String,
    /// The system whose customer numbers this connector delivers (connectors of one ERP
    /// share it); default: the connector's name (or, see [`ConnectorConfig::system_set`],
    /// the system its files name: `datev:<Berater>:<Mandant>`).
    pub system: String,
    /// `system` was given in the config; without it a connector whose files name their
    /// system (DATEV EXTF) takes that one.
    pub system_set: bool,
    /// What people call the source (`label = "Warenwirtschaft"`), shown on the sales card
    /// instead of the connector's name (default: by kind and profile, see `view::source_labels`).
    pub label: Option<String>,
    pub mapping: Option<String>,
    pub schedule: Option<String>,
    pub enabled: bool,
    pub max_reject_ratio: f64,
    /// `mode` as given; `None`: per entity (see [`crate::sync::entity_modes`]).
    pub mode: Option<SyncMode>,
    pub min_snapshot_ratio: f64,
    pub batch_size: usize,
    /// Kind-specific keys, handed to the connector.
    pub settings: toml::Table,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// Records are upserted; records missing from the source stay.
    Incremental,
    /// Every run delivers the full list; records missing from it are closed.
    Snapshot,
}

/// Where the config file is: `--config`, `KONTOR_CONFIG`, or `./kontor.toml`.
pub fn locate(explicit: Option<&Path>) -> PathBuf {
    explicit
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("KONTOR_CONFIG").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("kontor.toml"))
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, Vec<Diagnostic>> {
        let label = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![Diagnostic {
                file: label.clone(),
                line: 1,
                col: 1,
                message: format!("cannot read the config: {e} (pass --config PATH, set KONTOR_CONFIG, or run `kontor demo`)"),
                warning: false,
            }]
        })?;
        let base_dir = path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        Self::parse(&label, &text, base_dir, std::env::vars())
    }

    /// Parses config text; `env` supplies `KONTOR_*__*` overrides.
    pub fn parse(
        label: &str,
        text: &str,
        base_dir: PathBuf,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, Vec<Diagnostic>> {
        let spans = SpanMap { file: label, text };
        let mut doc: toml::Table = toml::from_str(text).map_err(|e| vec![spans.toml_error(&e)])?;
        let mut diags = Vec::new();
        apply_env(&mut doc, env, label, &mut diags);
        let at = |path: &[String], msg: String| spans.at(spans.key_span(path), msg);
        for key in doc.keys() {
            if !SECTIONS.contains(&key.as_str()) && key != "connector" {
                diags.push(at(
                    std::slice::from_ref(key),
                    format!(
                        "unknown key `{key}` (expected {}, connector)",
                        SECTIONS.join(", ")
                    ),
                ));
            }
        }
        let mut section = |name: &str| -> toml::Table {
            match doc.get(name) {
                None => toml::Table::new(),
                Some(toml::Value::Table(t)) => t.clone(),
                Some(_) => {
                    diags.push(at(
                        &[name.to_owned()],
                        format!("`{name}` must be a table: [{name}]"),
                    ));
                    toml::Table::new()
                }
            }
        };
        let tables: std::collections::BTreeMap<&str, toml::Table> =
            SECTIONS.iter().map(|n| (*n, section(n))).collect();
        let mut sub = |name: &str, e: ConfigError| {
            let mut path = vec![name.to_owned()];
            path.extend(e.key.iter().cloned());
            diags.push(at(&path, e.message));
        };
        // A section that does not parse is reported and its defaults stand in.
        macro_rules! parsed {
            ($name:literal, $ty:ty) => {
                parse_table::<$ty>(&tables[$name], ConfigPart::Settings).unwrap_or_else(|e| {
                    sub($name, e);
                    <$ty>::default()
                })
            };
        }
        let store = parsed!("store", StoreSection);
        if tables["store"].contains_key("url") && tables["store"].contains_key("url_file") {
            sub(
                "store",
                ConfigError::new(
                    ConfigPart::Settings,
                    &["url_file"],
                    "give either url or url_file, not both",
                ),
            );
        }
        let server = parsed!("server", ServerSection);
        let sync = parsed!("sync", SyncSection);
        let identity = parsed!("identity", IdentitySection);
        let complaints = parsed!("complaints", ComplaintsSection);
        let reminders = parsed!("reminders", RemindersSection);
        let privacy = parsed!("privacy", PrivacySection);
        let auth = parsed!("auth", AuthSection);
        let cti = parsed!("cti", CtiSection);
        for problem in server
            .problems()
            .into_iter()
            .chain(auth.problems())
            .chain(identity.problems())
            .chain(sync.problems())
            .chain(complaints.problems())
            .chain(reminders.problems())
            .chain(privacy.problems())
            .chain(cti.problems())
        {
            diags.push(at(&problem.0, problem.1));
        }
        let mut problems = Vec::new();
        let connectors = connectors::read(&doc, &sync, &mut problems);
        problems.extend(connectors::unknown_in_identity(&identity, &connectors));
        diags.extend(problems.into_iter().map(|(path, msg)| at(&path, msg)));
        if !diags.is_empty() {
            return Err(diags);
        }
        Ok(Config {
            label: label.to_owned(),
            base_dir,
            store: resolve_store(store, &spans_dir(label)),
            server,
            sync,
            identity,
            complaints,
            reminders,
            privacy,
            auth,
            cti,
            connectors,
            text: text.to_owned(),
            effective: doc,
        })
    }

    /// A diagnostic for a key of connector `index` (`["auth", "token_env"]`).
    pub fn connector_diag(
        &self,
        index: usize,
        key: &[String],
        message: impl Into<String>,
    ) -> Diagnostic {
        let spans = SpanMap {
            file: &self.label,
            text: &self.text,
        };
        let mut path = vec!["connector".to_owned(), index.to_string()];
        path.extend(key.iter().cloned());
        let span = spans.key_span(&path).or_else(|| spans.key_span(&path[..2]));
        spans.at(span, message)
    }

    /// A file connector's `path` and `archive` must stay inside the config's folder or a
    /// `[sync] allowed_roots` folder, after `..` and symlinks: one diagnostic per key that
    /// leaves them.
    pub fn path_problems(&self, c: &ConnectorConfig) -> Vec<Diagnostic> {
        if !["csv", "xml"].contains(&c.kind.as_str()) {
            return Vec::new();
        }
        let mut roots = vec![self.base_dir.clone()];
        roots.extend(self.sync.allowed_roots.iter().map(|r| self.path(r)));
        let roots: Vec<PathBuf> = roots.iter().map(|r| real_path(r)).collect();
        let mut out = Vec::new();
        for key in ["path", "archive"] {
            let Some(p) = c.settings.get(key).and_then(|v| v.as_str()) else {
                continue;
            };
            // The folder part of a glob.
            let folder: PathBuf = Path::new(p)
                .components()
                .take_while(|x| !x.as_os_str().to_string_lossy().contains(['*', '?', '[']))
                .collect();
            let real = real_path(&self.path(&folder.to_string_lossy()));
            if !roots.iter().any(|r| real.starts_with(r)) {
                out.push(self.connector_diag(
                    c.index,
                    &[key.to_owned()],
                    format!(
                        "{key} `{p}` resolves to {}, outside the config's folder {}: move the files there or list their folder in [sync] allowed_roots",
                        real.display(),
                        roots[0].display()
                    ),
                ));
            }
        }
        out
    }

    pub fn connector(&self, name: &str) -> Option<&ConnectorConfig> {
        self.connectors.iter().find(|c| c.name == name)
    }

    /// A path from the config, relative to the config's folder.
    pub fn path(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }
}

/// A path with `.` and `..` resolved and, as far as it exists, symlinks followed.
fn real_path(p: &Path) -> PathBuf {
    let abs;
    let p = if p.is_absolute() {
        p
    } else {
        abs = std::env::current_dir().unwrap_or_default().join(p);
        &abs
    };
    let mut lexical = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                lexical.pop();
            }
            std::path::Component::CurDir => {}
            other => lexical.push(other),
        }
    }
    // The longest existing prefix, canonicalised, plus the rest.
    let mut existing = lexical.clone();
    let mut rest = Vec::new();
    while !existing.as_os_str().is_empty() {
        if let Ok(real) = std::fs::canonicalize(&existing) {
            let mut out = real;
            for r in rest.iter().rev() {
                out.push(r);
            }
            return out;
        }
        match (
            existing.file_name().map(|f| f.to_owned()),
            existing.parent(),
        ) {
            (Some(f), Some(parent)) => {
                rest.push(f);
                existing = parent.to_path_buf();
            }
            _ => break,
        }
    }
    lexical
}

/// The plain sections (besides `[[connector]]`).
const SECTIONS: &[&str] = &[
    "store",
    "server",
    "sync",
    "identity",
    "complaints",
    "reminders",
    "privacy",
    "auth",
    "cti",
];

fn spans_dir(label: &str) -> PathBuf {
    Path::new(label)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// A relative SQLite path (and secret file) is relative to the config's folder.
fn resolve_store(mut s: StoreSection, dir: &Path) -> StoreSection {
    s.url = sections::resolve_sqlite(&s.url, dir);
    s.base_dir = dir.to_path_buf();
    s
}

/// `KONTOR_STORE__URL=…` → `store.url`; `KONTOR_CONNECTOR__WAWI_INVOICES__PATH=…` → the
/// connector named `wawi-invoices`.
fn apply_env(
    doc: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
    label: &str,
    diags: &mut Vec<Diagnostic>,
) {
    for (name, raw) in env {
        let Some(rest) = name.strip_prefix("KONTOR_") else {
            continue;
        };
        let parts: Vec<&str> = rest.split("__").collect();
        if parts.len() < 2 {
            continue;
        }
        let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or(toml::Value::String(raw.clone()));
        let section = parts[0].to_lowercase();
        let env_diag = |msg: String| Diagnostic {
            file: format!("{label} (environment {name})"),
            line: 1,
            col: 1,
            message: msg,
            warning: false,
        };
        if section == "connector" {
            if parts.len() != 3 {
                diags.push(env_diag("use KONTOR_CONNECTOR__<NAME>__<KEY>".into()));
                continue;
            }
            let want = parts[1].to_lowercase().replace('_', "-");
            let entry = doc
                .get_mut("connector")
                .and_then(|c| c.as_array_mut())
                .and_then(|a| {
                    a.iter_mut()
                        .find(|e| e.get("name").and_then(|n| n.as_str()) == Some(want.as_str()))
                });
            match entry.and_then(|e| e.as_table_mut()) {
                Some(t) => {
                    t.insert(parts[2].to_lowercase(), value);
                }
                None => diags.push(env_diag(format!("no connector named `{want}`"))),
            }
        } else if parts.len() == 2 && SECTIONS.contains(&section.as_str()) {
            let t = doc
                .entry(section)
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let Some(t) = t.as_table_mut() {
                t.insert(parts[1].to_lowercase(), value);
            }
        } else {
            diags.push(env_diag(format!(
                "unknown section `{}`",
                parts[0].to_lowercase()
            )));
        }
    }
}

#[cfg(test)]
mod tests;
