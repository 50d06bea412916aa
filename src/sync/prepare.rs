//! From configuration to a ready connector with its mappings.

use crate::config::{Config, ConnectorConfig};
use crate::diag::{Diagnostic, SpanMap};
use crate::mapping::Mapping;
use crate::registry;
use kontor_connector::{ConfigPart, ConnectorSpec, DynConnector};
use std::sync::Arc;

/// The mappings of a connector: one for all records, or one per stream.
#[derive(Debug, Clone, Default)]
pub struct MappingSet {
    pub default: Option<Arc<Mapping>>,
    pub by_stream: Vec<(String, Arc<Mapping>)>,
    /// Changes when any mapping changes (files are read again then).
    pub hash: String,
}

impl MappingSet {
    pub fn single(m: Mapping) -> Self {
        let hash = m.hash.clone();
        Self {
            default: Some(Arc::new(m)),
            by_stream: Vec::new(),
            hash,
        }
    }

    pub fn for_stream(&self, stream: Option<&str>) -> Option<&Mapping> {
        stream
            .and_then(|s| self.by_stream.iter().find(|(n, _)| n == s))
            .map(|(_, m)| m.as_ref())
            .or(self.default.as_deref())
    }

    pub fn all(&self) -> impl Iterator<Item = &Mapping> {
        self.default
            .iter()
            .map(|m| m.as_ref())
            .chain(self.by_stream.iter().map(|(_, m)| m.as_ref()))
    }
}

/// A connector ready to run.
#[derive(Clone)]
pub struct Prepared {
    pub cfg: ConnectorConfig,
    pub connector: DynConnector,
    pub mappings: MappingSet,
    /// `[identity] phone_region`: how phone numbers of erased people are recognised.
    pub phone_region: String,
    /// The mode of each entity, and why.
    pub modes: Vec<super::EntityMode>,
    /// The entities delivered as full lists (closed when missing from a newer file).
    pub snapshot: Vec<crate::model::Entity>,
    /// What a unit is loaded with (checkpoints): the mappings' hash, and the snapshot
    /// entities when there are any. A change reads the unit again (no --reprocess needed).
    pub unit_hash: String,
}

impl Prepared {
    /// Whether any entity of the connector is a snapshot.
    pub fn is_snapshot(&self) -> bool {
        !self.snapshot.is_empty()
    }
}

/// Loads the mapping, builds the connector, resolves built-in mappings. Every problem is a
/// diagnostic pointing into kontor.toml or the mapping file.
pub fn prepare(config: &Config, cfg: &ConnectorConfig) -> Result<Prepared, Vec<Diagnostic>> {
    let mut diags = config.path_problems(cfg);
    let mapping = match &cfg.mapping {
        Some(rel) => match Mapping::load(&config.path(rel), rel, registry::builtin_mapping) {
            Ok(m) => Some(m),
            Err(d) => {
                diags.extend(d);
                None
            }
        },
        None => None,
    };
    let Some(build) = registry::build_fn(&cfg.kind) else {
        let kinds: Vec<&str> = registry::kinds().iter().map(|(k, _)| *k).collect();
        diags.push(config.connector_diag(
            cfg.index,
            &["kind".into()],
            format!("unknown kind `{}` (one of {})", cfg.kind, kinds.join(", ")),
        ));
        return Err(diags);
    };
    if !diags.is_empty() {
        return Err(diags);
    }
    let spec = ConnectorSpec {
        name: cfg.name.clone(),
        settings: cfg.settings.clone(),
        source: mapping
            .as_ref()
            .map(|m| m.source.clone())
            .unwrap_or_default(),
        base_dir: config.base_dir.clone(),
        batch_size: cfg.batch_size,
        own: kontor_connector::OwnIdentity {
            vat_ids: config.identity.own_vat_ids.clone(),
            glns: config.identity.own_glns.clone(),
        },
    };
    let connector = match build(spec) {
        Ok(c) => c,
        Err(e) => {
            let d = match (e.part, &mapping) {
                (ConfigPart::Source, Some(m)) => {
                    let text = std::fs::read_to_string(
                        config.path(cfg.mapping.as_deref().unwrap_or_default()),
                    )
                    .unwrap_or_default();
                    let spans = SpanMap {
                        file: &m.label,
                        text: &text,
                    };
                    let mut path = vec!["source".to_owned()];
                    path.extend(e.key.iter().cloned());
                    spans.at(
                        spans.key_span(&path).or_else(|| spans.key_span(&path[..1])),
                        e.message,
                    )
                }
                _ => config.connector_diag(cfg.index, &e.key, e.message),
            };
            return Err(vec![d]);
        }
    };
    let mappings = match mapping {
        Some(m) => MappingSet::single(m),
        None => {
            let builtins = connector.describe().builtin_mappings;
            if builtins.is_empty() {
                return Err(vec![config.connector_diag(
                    cfg.index,
                    &["name".into()],
                    format!(
                        "connector `{}` needs a mapping: mapping = \"mappings/….toml\"",
                        cfg.name
                    ),
                )]);
            }
            let mut set = MappingSet::default();
            let mut hashes = Vec::new();
            for (stream, name) in builtins {
                match Mapping::builtin(&name, registry::builtin_mapping) {
                    Ok(m) => {
                        hashes.push(m.hash.clone());
                        match stream {
                            Some(s) => set.by_stream.push((s, Arc::new(m))),
                            None => set.default = Some(Arc::new(m)),
                        }
                    }
                    Err(d) => diags.extend(d),
                }
            }
            if !diags.is_empty() {
                return Err(diags);
            }
            hashes.sort();
            set.hash = blake3::hash(hashes.concat().as_bytes()).to_hex()[..32].to_string();
            set
        }
    };
    let modes = super::entity_modes(cfg, &mappings);
    let snapshot = super::snapshot::snapshot_entities(&modes);
    let unit_hash = if snapshot.is_empty() {
        mappings.hash.clone()
    } else {
        let names: Vec<&str> = snapshot.iter().map(|e| e.as_str()).collect();
        format!("{}+snapshot:{}", mappings.hash, names.join(","))
    };
    Ok(Prepared {
        cfg: cfg.clone(),
        connector,
        mappings,
        phone_region: config.identity.phone_region.clone(),
        modes,
        snapshot,
        unit_hash,
    })
}
