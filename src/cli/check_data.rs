//! `kontor check` against the real data: the header of each CSV connector's current files
//! compared with the columns its mapping reads (as the sync compares them before it refuses
//! a file), with the header found and the column most likely meant.

use kontor::config::{Config, ConnectorConfig};
use kontor::diag::Diagnostic;
use kontor::mapping::MissingColumn;
use kontor::sync::{first_row, prepare};
use std::collections::BTreeMap;

/// One diagnostic per mapped column missing from a current file's header (files with the
/// same problem are named together).
pub async fn real_headers(cfg: &Config) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for c in cfg.connectors.iter().filter(|c| c.kind == "csv") {
        out.extend(connector_headers(cfg, c).await);
    }
    out
}

/// A missing column, the header it was missing from, and the files.
type Found = (MissingColumn, Vec<String>, Vec<String>);

async fn connector_headers(cfg: &Config, c: &ConnectorConfig) -> Vec<Diagnostic> {
    let Ok(p) = prepare(cfg, c) else {
        return Vec::new();
    };
    // Connector problems (no folder, unreadable files) are reported by the connector check.
    let Ok(units) = p.connector.discover().await else {
        return Vec::new();
    };
    // (mapping label, column) → (problem, header, files)
    let mut found: BTreeMap<(String, String), Found> = BTreeMap::new();
    for unit in units {
        let Ok(mut reader) = p.connector.open(&unit, None).await else {
            continue;
        };
        let Ok(Some(batch)) = reader.next_batch().await else {
            continue;
        };
        let Some((rec, header)) = first_row(&batch.items) else {
            continue;
        };
        let Some(mapping) = p.mappings.for_stream(rec.stream.as_deref()) else {
            continue;
        };
        for problem in mapping.header_problems(header, rec.stream.as_deref()) {
            found
                .entry((mapping.label.clone(), problem.column.clone()))
                .or_insert_with(|| (problem, header.to_vec(), Vec::new()))
                .2
                .push(unit.label.clone());
        }
    }
    let at = cfg.connector_diag(c.index, &["mapping".into()], "");
    found
        .into_iter()
        .map(|((label, column), (problem, header, files))| {
            let key = problem
                .key
                .as_deref()
                .map(|k| format!(" (`{k}`)"))
                .unwrap_or_default();
            let more = match files.len() {
                1 => String::new(),
                n => format!(" and {} other file(s)", n - 1),
            };
            let hint = problem
                .suggestion
                .as_deref()
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            let headers: Vec<String> = header.iter().map(|h| format!("`{}`", h.trim())).collect();
            Diagnostic {
                file: label,
                line: problem.line,
                col: 1,
                message: format!(
                    "connector `{}` ({}:{}): column `{column}`{key} is not in the header of {}{more}{hint}; headers are: {}",
                    c.name,
                    at.file,
                    at.line,
                    files[0],
                    headers.join(", ")
                ),
                warning: false,
            }
        })
        .collect()
}
