//! The `[[connector]]` entries of `kontor.toml`: their common keys, each checked by a small
//! named check; everything else is the connector kind's own settings.

use super::{ConnectorConfig, IdentitySection, SyncMode, SyncSection};
use kontor_connector::{ConfigPart, parse_table};
use serde::Deserialize;

/// A problem at a key path of the file (`["connector", "2", "mode"]`) and its message.
pub(super) type Problem = (Vec<String>, String);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Common {
    name: String,
    kind: String,
    system: Option<String>,
    label: Option<String>,
    mapping: Option<String>,
    schedule: Option<String>,
    enabled: Option<bool>,
    max_reject_ratio: Option<f64>,
    mode: Option<String>,
    min_snapshot_ratio: Option<f64>,
    batch_size: Option<usize>,
}

const COMMON_KEYS: &[&str] = &[
    "name",
    "kind",
    "system",
    "label",
    "mapping",
    "schedule",
    "enabled",
    "max_reject_ratio",
    "mode",
    "min_snapshot_ratio",
    "batch_size",
];

/// Reads every `[[connector]]` entry; the problems found go to `problems` (an entry whose
/// common keys do not parse is left out).
pub(super) fn read(
    doc: &toml::Table,
    sync: &SyncSection,
    problems: &mut Vec<Problem>,
) -> Vec<ConnectorConfig> {
    let entries = match doc.get("connector") {
        None => Vec::new(),
        Some(toml::Value::Array(a)) => a.clone(),
        Some(_) => {
            problems.push((vec!["connector".into()], "use [[connector]] entries".into()));
            Vec::new()
        }
    };
    let mut connectors: Vec<ConnectorConfig> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let at = Path(i);
        let Some(table) = entry.as_table() else {
            problems.push((at.key(&[]), "a [[connector]] entry must be a table".into()));
            continue;
        };
        let (common_t, settings): (toml::Table, toml::Table) = table
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .partition(|(k, _)| COMMON_KEYS.contains(&k.as_str()));
        let common: Common = match parse_table(&common_t, ConfigPart::Settings) {
            Ok(c) => c,
            Err(e) => {
                let keys: Vec<&str> = e.key.iter().map(String::as_str).collect();
                problems.push((at.key(&keys), e.message));
                continue;
            }
        };
        name_problems(&common.name, &connectors, at, problems);
        let mode = sync_mode(common.mode.as_deref(), at, problems);
        ratio_problems(&common, at, problems);
        if let Some(Err(e)) = common.schedule.as_deref().map(crate::schedule::parse) {
            problems.push((at.key(&["schedule"]), e));
        }
        system_problems(common.system.as_deref(), at, problems);
        connectors.push(ConnectorConfig {
            index: i,
            system_set: common.system.is_some(),
            system: common.system.unwrap_or_else(|| common.name.clone()),
            label: common
                .label
                .map(|l| l.trim().to_owned())
                .filter(|l| !l.is_empty()),
            name: common.name,
            kind: common.kind,
            mapping: common.mapping,
            schedule: common.schedule,
            enabled: common.enabled.unwrap_or(true),
            max_reject_ratio: common.max_reject_ratio.unwrap_or(sync.max_reject_ratio),
            mode,
            min_snapshot_ratio: common.min_snapshot_ratio.unwrap_or(0.5),
            batch_size: common.batch_size.unwrap_or(sync.batch_size),
            settings,
        });
    }
    connectors
}

/// The key path of entry `i`.
#[derive(Clone, Copy)]
struct Path(usize);

impl Path {
    fn key(self, key: &[&str]) -> Vec<String> {
        let mut p = vec!["connector".to_owned(), self.0.to_string()];
        p.extend(key.iter().map(|k| (*k).to_owned()));
        p
    }
}

/// A name of `[a-z0-9-]`, used once.
fn name_problems(name: &str, taken: &[ConnectorConfig], at: Path, problems: &mut Vec<Problem>) {
    if !valid_name(name) {
        problems.push((
            at.key(&["name"]),
            format!("connector name `{name}`: use a-z, 0-9 and -"),
        ));
    }
    if taken.iter().any(|c| c.name == name) {
        problems.push((
            at.key(&["name"]),
            format!("connector name `{name}` is used twice"),
        ));
    }
}

/// `mode`: incremental or snapshot.
fn sync_mode(mode: Option<&str>, at: Path, problems: &mut Vec<Problem>) -> Option<SyncMode> {
    match mode {
        None => None,
        Some("incremental") => Some(SyncMode::Incremental),
        Some("snapshot") => Some(SyncMode::Snapshot),
        Some(other) => {
            problems.push((
                at.key(&["mode"]),
                format!("mode `{other}`: use \"incremental\" or \"snapshot\""),
            ));
            None
        }
    }
}

/// The ratios are between 0 and 1.
fn ratio_problems(common: &Common, at: Path, problems: &mut Vec<Problem>) {
    for (key, v) in [
        ("max_reject_ratio", common.max_reject_ratio),
        ("min_snapshot_ratio", common.min_snapshot_ratio),
    ] {
        if v.is_some_and(|v| !(0.0..=1.0).contains(&v)) {
            problems.push((at.key(&[key]), format!("{key} must be between 0 and 1")));
        }
    }
}

/// `system`: a name, and `:` between parts.
fn system_problems(system: Option<&str>, at: Path, problems: &mut Vec<Problem>) {
    if let Some(system) = system
        && !valid_system(system)
    {
        problems.push((
            at.key(&["system"]),
            format!("system `{system}`: use a-z, 0-9, - and : (as in datev:1001:456)"),
        ));
    }
}

/// Connector names in `[identity]` lists that no `[[connector]]` has.
pub(super) fn unknown_in_identity(
    identity: &IdentitySection,
    connectors: &[ConnectorConfig],
) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (key, names) in identity.connector_lists() {
        for (j, n) in names.iter().enumerate() {
            if !connectors.iter().any(|c| &c.name == n) {
                let mut p = vec!["identity".to_owned()];
                p.extend(key.iter().cloned());
                p.push(j.to_string());
                problems.push((p, format!("no connector named `{n}`")));
            }
        }
    }
    problems
}

/// Connector and system names: `[a-z0-9-]+`.
/// A system: like a name, and `:` (DATEV's `datev:<Berater>:<Mandant>`).
fn valid_system(name: &str) -> bool {
    !name.starts_with(':') && name.split(':').all(valid_name)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}
