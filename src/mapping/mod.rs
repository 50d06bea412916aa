//! The mapping engine: declarative files (`mappings/*.toml`) that turn raw records into
//! canonical records. See `docs/mapping-format.md`.

mod assemble;
mod columns;
mod compile;
mod compiled;
mod dates;
mod eval;
pub mod fixtures;
mod path;
pub mod propose;
mod propose_render;
mod spec;
mod synonyms;

pub use columns::{MissingColumn, did_you_mean, fold_name};
pub use compile::{DENIED_FIELD_PATTERNS, is_denied_name};
pub use eval::{ColumnCache, Outcome, Rejection};
pub use path::TreePath;
pub use spec::TestSpec;

use crate::diag::{Diagnostic, SpanMap};
use compile::Compiler;
use compiled::{Cond, Target};
use kontor_connector::RawRecord;
use spec::MappingDoc;
use std::path::Path;

/// Built-in mappings (XML document profiles, REST ERP profiles): name → TOML text.
pub type Builtins = fn(&str) -> Option<&'static str>;

/// A compiled mapping.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// File stem or built-in name.
    pub name: String,
    /// How to refer to the file in messages.
    pub label: String,
    /// Hash of the mapping text (and its base): a changed mapping re-reads processed files.
    pub hash: String,
    pub description: Option<String>,
    /// The `[source]` section, handed to the connector.
    pub source: toml::Table,
    pub tests: Vec<(usize, TestSpec)>,
    skip_if: Vec<Cond>,
    targets: Vec<Target>,
    /// Where each column name is written in this file: (column, line, key).
    column_sites: Vec<(String, usize, String)>,
}

impl Mapping {
    /// The entities this mapping makes of records of `stream` (a target without a stream
    /// applies to every stream).
    pub fn stream_entities(&self, stream: Option<&str>) -> Vec<crate::model::Entity> {
        let mut out: Vec<crate::model::Entity> = self
            .targets
            .iter()
            .filter(|t| t.stream.is_none() || t.stream.as_deref() == stream)
            .map(|t| t.entity)
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Whether a target of `entity` maps the canonical field `field` itself (derived values
    /// do not count).
    pub fn maps_field(&self, entity: crate::model::Entity, field: &str) -> bool {
        self.targets
            .iter()
            .filter(|t| t.entity == entity)
            .any(|t| t.fields.iter().any(|f| f.name == field))
    }

    /// The canonical fields this mapping fills for `entity` (`address.city` also counts as
    /// `address`).
    pub fn field_names(&self, entity: crate::model::Entity) -> std::collections::BTreeSet<String> {
        let mut out = std::collections::BTreeSet::new();
        for t in self.targets.iter().filter(|t| t.entity == entity) {
            for f in &t.fields {
                out.insert(f.name.clone());
                if let Some((head, _)) = f.name.split_once('.') {
                    out.insert(head.to_owned());
                }
            }
        }
        // What the engine derives (an invoice's status and open amount) is filled too.
        if !out.is_empty() {
            let derived = assemble::derived_fields(entity, &out);
            out.extend(derived.into_iter().map(String::from));
        }
        out
    }

    /// Reads and compiles a mapping file.
    pub fn load(path: &Path, label: &str, builtins: Builtins) -> Result<Mapping, Vec<Diagnostic>> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![Diagnostic {
                file: label.to_owned(),
                line: 1,
                col: 1,
                message: format!("cannot read mapping: {e}"),
                warning: false,
            }]
        })?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self::from_text(&name, label, &text, builtins)
    }

    /// Compiles a built-in mapping by name.
    pub fn builtin(name: &str, builtins: Builtins) -> Result<Mapping, Vec<Diagnostic>> {
        let text = builtins(name).ok_or_else(|| {
            vec![Diagnostic {
                file: format!("builtin:{name}"),
                line: 1,
                col: 1,
                message: format!("no built-in mapping `{name}`"),
                warning: false,
            }]
        })?;
        Self::from_text(name, &format!("builtin:{name}"), text, builtins)
    }

    /// Compiles mapping text; all problems are returned as diagnostics.
    pub fn from_text(
        name: &str,
        label: &str,
        text: &str,
        builtins: Builtins,
    ) -> Result<Mapping, Vec<Diagnostic>> {
        let spans = SpanMap { file: label, text };
        let doc: MappingDoc = toml::from_str(text).map_err(|e| {
            let mut d = spans.toml_error(&e);
            if d.message.starts_with("unknown field") {
                d.message
                    .push_str(" (every key: docs/mapping-format.md, \"Every key\")");
            }
            vec![d]
        })?;
        let mut c = Compiler::new();
        let (base, mut hash_input) = match &doc.extends {
            None => (None, String::new()),
            Some(ext) => match Mapping::builtin(ext.get_ref(), builtins) {
                Ok(b) => {
                    let h = b.hash.clone();
                    (Some(b), h)
                }
                Err(_) => {
                    return Err(vec![spans.at(
                        Some(ext.span()),
                        format!("extends: no built-in mapping `{}`", ext.get_ref()),
                    )]);
                }
            },
        };
        hash_input.push_str(text);
        let skip_if = c.conds(&doc.skip_if);
        let mut targets = if base.is_some() && doc.targets.is_empty() {
            Vec::new()
        } else {
            c.targets(&doc)
        };
        let mut source = doc
            .source
            .as_ref()
            .map(|s| s.get_ref().clone())
            .unwrap_or_default();
        let mut skip = skip_if;
        if let Some(base) = base {
            // Drop "key not mapped" errors of override targets: the base maps the keys.
            c.errors.retain(|(_, m)| {
                !m.ends_with("is not mapped") && !m.ends_with("is required but not mapped")
            });
            targets = merge_targets(base.targets, targets);
            for (k, v) in base.source {
                source.entry(k).or_insert(v);
            }
            skip.extend(base.skip_if);
        }
        let mut diags: Vec<Diagnostic> = c
            .errors
            .into_iter()
            .map(|(span, m)| spans.at(span, m))
            .collect();
        for t in &doc.tests {
            let spec = t.get_ref();
            if spec.expect.is_empty() && spec.reject.is_none() && !spec.skipped {
                diags.push(spans.at(
                    Some(t.span()),
                    format!(
                        "test `{}` expects nothing: add [[test.expect]], reject or skipped",
                        spec.name
                    ),
                ));
            }
        }
        if !diags.is_empty() {
            return Err(diags);
        }
        Ok(Mapping {
            name: name.to_owned(),
            label: label.to_owned(),
            hash: blake3::hash(hash_input.as_bytes()).to_hex()[..32].to_string(),
            description: doc.description.clone(),
            source,
            tests: doc
                .tests
                .iter()
                .map(|t| {
                    (
                        crate::diag::line_col(text, t.span().start).0,
                        t.get_ref().clone(),
                    )
                })
                .collect(),
            skip_if: skip,
            targets,
            column_sites: c
                .sites
                .iter()
                .map(|(col, span, key)| {
                    let line = span
                        .as_ref()
                        .map_or(1, |s| crate::diag::line_col(text, s.start).0);
                    (col.clone(), line, key.clone())
                })
                .collect(),
        })
    }

    /// Maps one raw record.
    pub fn apply(&self, rec: &RawRecord, cache: &mut ColumnCache) -> Outcome {
        eval::apply_targets(&self.targets, &self.skip_if, rec, cache)
    }

    /// The canonical fields this mapping fills, as `entity.field` (for change warnings).
    pub fn produced_fields(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .targets
            .iter()
            .flat_map(|t| {
                t.fields
                    .iter()
                    .map(move |f| format!("{}.{}", t.entity, f.name))
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The `label` of each `extra.<name>` field that has one: (entity, name, label).
    pub fn extra_labels(&self) -> Vec<(crate::model::Entity, String, String)> {
        let mut out: Vec<_> = self
            .targets
            .iter()
            .flat_map(|t| {
                t.fields.iter().filter_map(move |f| {
                    let name = f.name.strip_prefix("extra.")?;
                    Some((t.entity, name.to_owned(), f.caption.clone()?))
                })
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Entities this mapping produces.
    pub fn entities(&self) -> Vec<crate::model::Entity> {
        let mut e: Vec<_> = self.targets.iter().map(|t| t.entity).collect();
        e.sort();
        e.dedup();
        e
    }
}

/// Overrides base targets with user targets of the same entity and stream, field by field.
fn merge_targets(base: Vec<Target>, user: Vec<Target>) -> Vec<Target> {
    let mut out = base;
    for u in user {
        match out
            .iter_mut()
            .find(|b| b.entity == u.entity && b.stream == u.stream)
        {
            Some(b) => {
                for f in u.fields {
                    match b.fields.iter_mut().find(|bf| bf.name == f.name) {
                        Some(bf) => *bf = f,
                        None => b.fields.push(f),
                    }
                }
                if !u.when.is_empty() {
                    b.when = u.when;
                }
                if u.each.is_some() {
                    b.each = u.each;
                }
            }
            None => out.push(u),
        }
    }
    out
}

/// No built-in mappings (for tests and tools that don't need them).
pub fn no_builtins(_: &str) -> Option<&'static str> {
    None
}

#[cfg(test)]
mod keys_tests;
#[cfg(test)]
mod tests;
