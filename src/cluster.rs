//! One configuration across nodes.
//!
//! Nodes sharing a store must run the same connectors with the same mappings and the same
//! identity rules: a node with a partial configuration would otherwise resolve identities
//! without half of the sources (and empty the merged customers), and two nodes with different
//! mappings would flip fields depending on which node took a slot. So the store records a
//! fingerprint of the effective configuration and its mappings (one per part, so that a
//! difference can be named); a node or command whose fingerprint differs changes nothing —
//! no schedules, no runs, no identity resolution — and says which part differs, until its
//! configuration matches again or it is started with `--take-over-config`, which makes its
//! configuration the cluster's.

use crate::config::Config;
use crate::store::{ClusterConfig, DynStore, StoreError};
use std::collections::BTreeMap;

/// The fingerprint of a configuration: one per part, and one of them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub digest: String,
    /// `connector:NAME` (its settings), `mapping:NAME` (its mapping file), `identity`
    /// (with the cross-reference files), `sync`, `privacy`, `reminders`, `complaints`.
    pub parts: BTreeMap<String, String>,
}

/// Sections whose values are shared behaviour of the cluster (not `[store]`, `[server]`:
/// those may differ per node).
const SHARED_SECTIONS: &[&str] = &["sync", "privacy", "reminders", "complaints"];

fn hash(text: &[u8]) -> String {
    blake3::hash(text).to_hex()[..16].to_string()
}

/// Canonical text of a TOML value (keys sorted).
fn canonical(v: Option<&toml::Value>) -> String {
    v.and_then(|v| serde_json::to_value(v).ok())
        .map(|j| j.to_string())
        .unwrap_or_default()
}

fn file_hash(cfg: &Config, rel: &str) -> String {
    match std::fs::read(cfg.path(rel)) {
        Ok(bytes) => hash(&bytes),
        Err(_) => "unreadable".into(),
    }
}

impl Fingerprint {
    /// The fingerprint of `cfg` as it is on disk now (mapping and cross-reference files read).
    pub fn of(cfg: &Config) -> Fingerprint {
        let mut parts = BTreeMap::new();
        let entries = cfg
            .effective
            .get("connector")
            .and_then(toml::Value::as_array);
        for c in &cfg.connectors {
            let entry = entries.and_then(|a| a.get(c.index));
            parts.insert(
                format!("connector:{}", c.name),
                hash(canonical(entry).as_bytes()),
            );
            if let Some(m) = &c.mapping {
                // The compiled mapping's hash covers a built-in base it extends.
                let h = crate::mapping::Mapping::load(
                    &cfg.path(m),
                    m,
                    crate::registry::builtin_mapping,
                )
                .map(|m| m.hash)
                .unwrap_or_else(|_| file_hash(cfg, m));
                parts.insert(format!("mapping:{}", c.name), h);
            }
        }
        let mut identity = canonical(cfg.effective.get("identity"));
        for x in &cfg.identity.xref {
            identity.push('\0');
            identity.push_str(&file_hash(cfg, x));
        }
        parts.insert("identity".into(), hash(identity.as_bytes()));
        for s in SHARED_SECTIONS {
            parts.insert(
                (*s).to_owned(),
                hash(canonical(cfg.effective.get(*s)).as_bytes()),
            );
        }
        let all: String = parts.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        Fingerprint {
            digest: hash(all.as_bytes()),
            parts,
        }
    }

    /// What differs between this configuration (`cfg`) and the cluster's, one line per part.
    pub fn differences(&self, cfg: &Config, cluster: &BTreeMap<String, String>) -> Vec<String> {
        let mut out = Vec::new();
        let keys: std::collections::BTreeSet<&String> =
            self.parts.keys().chain(cluster.keys()).collect();
        for k in keys {
            let (ours, theirs) = (self.parts.get(k), cluster.get(k));
            if ours == theirs {
                continue;
            }
            let (kind, name) = k.split_once(':').unwrap_or((k.as_str(), ""));
            let line = match (kind, ours.is_some(), theirs.is_some()) {
                ("connector", true, false) => {
                    format!(
                        "connector `{name}` is configured here but not in the cluster's configuration"
                    )
                }
                ("connector", false, true) => {
                    format!(
                        "connector `{name}` is in the cluster's configuration but not configured here"
                    )
                }
                ("connector", _, _) => format!("connector `{name}`: its settings differ"),
                ("mapping", true, true) => {
                    let file = cfg
                        .connector(name)
                        .and_then(|c| c.mapping.clone())
                        .unwrap_or_default();
                    format!("connector `{name}`: its mapping {file} differs")
                }
                ("mapping", true, false) => {
                    if !cluster.contains_key(&format!("connector:{name}")) {
                        continue; // said with the connector
                    }
                    format!(
                        "connector `{name}`: has a mapping file here, a built-in mapping in the cluster"
                    )
                }
                ("mapping", false, _) => {
                    if !self.parts.contains_key(&format!("connector:{name}")) {
                        continue;
                    }
                    format!(
                        "connector `{name}`: has a built-in mapping here, a mapping file in the cluster"
                    )
                }
                ("identity", _, _) => {
                    "[identity] differs (rules, priorities or the cross-reference files)".to_owned()
                }
                (section, _, _) => format!("[{section}] differs"),
            };
            out.push(line);
        }
        out
    }
}

/// How this configuration stands to the cluster's.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// The store had none: this one is the cluster's now.
    Recorded,
    /// The same as the cluster's.
    Same,
    /// It differed, and was made the cluster's (`--take-over-config`).
    TookOver {
        previous: ClusterConfig,
        differences: Vec<String>,
    },
    /// It differs: change nothing.
    Differs {
        cluster: ClusterConfig,
        differences: Vec<String>,
    },
}

impl Verdict {
    pub fn allows_changes(&self) -> bool {
        !matches!(self, Verdict::Differs { .. })
    }

    /// The refusal to show: which parts differ, who recorded the cluster's configuration,
    /// what to do.
    pub fn refusal(&self) -> Option<String> {
        let Verdict::Differs {
            cluster,
            differences,
        } = self
        else {
            return None;
        };
        Some(format!(
            "this configuration differs from the cluster's (recorded by {} at {}): {}. Nothing was changed. \
             Give the nodes the same configuration, or — if this one is the new configuration for all nodes — \
             run with --take-over-config",
            cluster.node,
            cluster.updated_at.format("%Y-%m-%d %H:%M:%S UTC"),
            differences.join("; ")
        ))
    }
}

/// Compares `cfg` with the cluster's configuration: records it when the store has none, or
/// when `take_over` is set and it differs.
pub async fn reconcile(
    store: &DynStore,
    cfg: &Config,
    ours: &Fingerprint,
    node: &str,
    take_over: bool,
) -> Result<Verdict, StoreError> {
    for _ in 0..5 {
        let current = store.cluster_config().await?;
        let new = ClusterConfig {
            fingerprint: ours.digest.clone(),
            parts: ours.parts.clone(),
            node: node.to_owned(),
            updated_at: chrono::Utc::now(),
        };
        match current {
            None => {
                if store.set_cluster_config(None, &new).await? {
                    return Ok(Verdict::Recorded);
                }
            }
            Some(c) if c.fingerprint == ours.digest => return Ok(Verdict::Same),
            Some(c) => {
                let differences = ours.differences(cfg, &c.parts);
                if !take_over {
                    return Ok(Verdict::Differs {
                        cluster: c,
                        differences,
                    });
                }
                if store.set_cluster_config(Some(&c.fingerprint), &new).await? {
                    return Ok(Verdict::TookOver {
                        previous: c,
                        differences,
                    });
                }
            }
        }
    }
    Err(StoreError::Data(
        "the cluster configuration kept changing while it was read; try again".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(dir: &std::path::Path, text: &str) -> Config {
        Config::parse("kontor.toml", text, dir.to_path_buf(), Vec::new()).unwrap()
    }

    #[test]
    fn parts_name_what_differs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("m")).unwrap();
        let mapping = "[[target]]\nentity = \"stock\"\n[target.fields]\nsku = \"Artikel\"\n";
        std::fs::write(dir.path().join("m/lager.toml"), mapping).unwrap();
        let full = "[store]\nurl = \"sqlite://k.db\"\n[[connector]]\nname = \"lager\"\nkind = \"csv\"\npath = \"in\"\nmapping = \"m/lager.toml\"\n\
                    [[connector]]\nname = \"kunden\"\nkind = \"csv\"\npath = \"in2\"\nmapping = \"m/lager.toml\"\n";
        let a = cfg(dir.path(), full);
        let fa = Fingerprint::of(&a);
        // The same configuration with other [store] and [server]: the same fingerprint.
        let b = cfg(
            dir.path(),
            &full.replace(
                "[store]\nurl = \"sqlite://k.db\"",
                "[server]\nlisten = \"0.0.0.0:9\"\n[store]\nurl = \"postgres://x@y/z\"",
            ),
        );
        assert_eq!(Fingerprint::of(&b), fa);
        // Only [store] and [server]: both connectors missing.
        let partial = cfg(
            dir.path(),
            "[store]\nurl = \"sqlite://k.db\"\n[server]\nlisten = \"127.0.0.1:1\"\n",
        );
        let fp = Fingerprint::of(&partial);
        assert_ne!(fp.digest, fa.digest);
        let d = fp.differences(&partial, &fa.parts);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(
            d[0].contains("`kunden` is in the cluster's configuration but not configured here"),
            "{d:?}"
        );
        // A changed mapping file is named.
        std::fs::write(
            dir.path().join("m/lager.toml"),
            mapping.replace("Artikel", "Art-Nr"),
        )
        .unwrap();
        let changed = Fingerprint::of(&a);
        let d = changed.differences(&a, &fa.parts);
        assert!(
            d.contains(&"connector `lager`: its mapping m/lager.toml differs".to_owned()),
            "{d:?}"
        );
        // An environment override counts (it is the effective configuration).
        let env = Config::parse(
            "kontor.toml",
            full,
            dir.path().to_path_buf(),
            vec![(
                "KONTOR_CONNECTOR__KUNDEN__PATH".to_owned(),
                "elsewhere".to_owned(),
            )],
        )
        .unwrap();
        let d = Fingerprint::of(&env).differences(&env, &changed.parts);
        assert_eq!(
            d,
            vec!["connector `kunden`: its settings differ".to_owned()]
        );
    }
}
