//! `kontor check` against the real data: the header of each CSV connector's current files
//! compared with the columns its mapping reads (as the sync compares them before it refuses
//! a file), with the header found and the column most likely meant.

use kontor::config::{Config, ConnectorConfig};
use kontor::diag::Diagnostic;
use kontor::mapping::MissingColumn;
use kontor::sync::{first_row, prepare};
use std::collections::BTreeMap;

use super::check_layout as layout;

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
    let opts = p
        .mappings
        .all()
        .next()
        .and_then(|m| kontor_csv::resolve_options(&c.settings, &m.source).ok());
    let mut layout = Vec::new();
    // (mapping label, column) → (problem, header, files)
    let mut found: BTreeMap<(String, String), Found> = BTreeMap::new();
    for unit in units {
        let first = match p.connector.open(&unit, None).await {
            Ok(mut reader) => reader.next_batch().await,
            Err(e) => Err(e),
        };
        let batch = match first {
            Ok(Some(batch)) => batch,
            Ok(None) => continue,
            Err(e) => {
                let what = format!("cannot be read ({e})");
                layout.push(layout_diag(cfg, c, &unit.label, &what, None));
                continue;
            }
        };
        let Some((rec, header)) = first_row(&batch.items) else {
            // Nothing but rejects: the file's layout is not what the mapping says.
            let Some(mapping) = p.mappings.default.as_deref() else {
                continue;
            };
            let reason = batch
                .items
                .iter()
                .find_map(|i| match i {
                    kontor_connector::Item::Reject(r) => Some(r.reason.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            let hint = layout::hint(&cfg.path(&unit.label), mapping, None, opts.as_ref(), None);
            let what = format!("the first rows do not parse ({reason})");
            layout.push(layout_diag(cfg, c, &unit.label, &what, hint));
            continue;
        };
        let Some(mapping) = p.mappings.for_stream(rec.stream.as_deref()) else {
            continue;
        };
        let problems = mapping.header_problems(header, rec.stream.as_deref());
        if problems.is_empty() {
            continue;
        }
        let expected = mapping.columns(rec.stream.as_deref()).len();
        let datev = rec
            .stream
            .as_deref()
            .is_some_and(|s| s.starts_with("datev/"));
        let hint = (!datev)
            .then(|| {
                let path = cfg.path(&unit.label);
                layout::hint(
                    &path,
                    mapping,
                    rec.stream.as_deref(),
                    opts.as_ref(),
                    Some(header),
                )
            })
            .flatten();
        if hint.is_some() || (header.len() == 1 && expected > 1) {
            let what = if header.len() == 1 {
                format!(
                    "header has 1 column (`{}`), the mapping reads {expected}",
                    layout::shorten(&header[0])
                )
            } else {
                format!(
                    "the header lacks {} of the {expected} columns the mapping reads",
                    problems.len()
                )
            };
            layout.push(layout_diag(cfg, c, &unit.label, &what, hint));
            continue;
        }
        for problem in problems {
            found
                .entry((mapping.label.clone(), problem.column.clone()))
                .or_insert_with(|| (problem, header.to_vec(), Vec::new()))
                .2
                .push(unit.label.clone());
        }
    }
    let at = cfg.connector_diag(c.index, &["mapping".into()], "");
    layout.extend(found.into_iter()
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
        }));
    layout
}

/// One error for a file whose layout (delimiter, header line) is not what the mapping says.
fn layout_diag(
    cfg: &Config,
    c: &ConnectorConfig,
    file: &str,
    what: &str,
    hint: Option<String>,
) -> Diagnostic {
    let hint = hint.unwrap_or_else(|| "check delimiter, skip_lines and header".into());
    cfg.connector_diag(
        c.index,
        &["mapping".into()],
        format!("connector `{}`: {file}: {what}; {hint}", c.name),
    )
}
