//! Mapping fixtures: input rows → expected canonical records (`kontor test-mappings`).

use super::{ColumnCache, Mapping, Outcome};
use kontor_connector::{Fields, Position, RawRecord, Row};
use serde_json::{Map, Value};
use std::sync::Arc;

/// The result of one fixture case.
#[derive(Debug)]
pub struct CaseResult {
    pub name: String,
    /// `file:line` of the case.
    pub location: String,
    /// A readable diff when the case failed.
    pub failure: Option<String>,
}

/// A mapping outcome in the comparable JSON form: one object per record
/// (`{"entity": …, <fields>}`), or `{"rejected": {field, reason}}`, or `{"skipped": true}`.
pub fn outcome_json(outcome: &Outcome) -> Vec<Value> {
    match outcome {
        Outcome::Records(recs) => recs
            .iter()
            .map(|r| {
                let mut m = Map::new();
                m.insert("entity".into(), Value::String(r.entity.as_str().into()));
                if let Value::Object(data) = &r.data {
                    m.extend(data.clone());
                }
                Value::Object(m)
            })
            .collect(),
        Outcome::Skipped => vec![serde_json::json!({"skipped": true})],
        Outcome::Rejected(rej) => {
            vec![serde_json::json!({"rejected": {"field": rej.field, "reason": rej.reason}})]
        }
    }
}

/// Runs the `[[test]]` cases of a mapping.
pub fn run_inline(mapping: &Mapping) -> Vec<CaseResult> {
    let mut cache = ColumnCache::default();
    mapping
        .tests
        .iter()
        .map(|(line, t)| {
            let rec = RawRecord {
                fields: input_fields(&t.input),
                position: Position::line(Arc::from(mapping.label.as_str()), *line as u64),
                context: Arc::new(t.context.clone().into_iter().collect()),
                stream: t.stream.as_deref().map(Arc::from),
            };
            let outcome = mapping.apply(&rec, &mut cache);
            let failure = match (&outcome, &t.reject, t.skipped) {
                (Outcome::Rejected(rej), Some(want), _) if rej.reason.contains(want.as_str()) => {
                    None
                }
                (_, Some(want), _) => Some(format!(
                    "expected a rejection containing `{want}`, got:\n{}",
                    pretty(&outcome_json(&outcome))
                )),
                (Outcome::Skipped, None, true) => None,
                (_, None, true) => Some(format!(
                    "expected the row to be skipped, got:\n{}",
                    pretty(&outcome_json(&outcome))
                )),
                (_, None, false) => {
                    let expected: Vec<Value> = t.expect.iter().map(toml_to_json).collect();
                    diff(&expected, &outcome_json(&outcome))
                }
            };
            CaseResult {
                name: t.name.clone(),
                location: format!("{}:{line}", mapping.label),
                failure,
            }
        })
        .collect()
}

/// A flat input table becomes a row (so column names with `/` work); nested input a tree.
fn input_fields(input: &toml::Table) -> Fields {
    let flat = input
        .values()
        .all(|v| !matches!(v, toml::Value::Table(_) | toml::Value::Array(_)));
    if flat {
        let header: Vec<String> = input.keys().cloned().collect();
        let values: Row = input
            .values()
            .map(|v| match v {
                toml::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect();
        Fields::Row {
            header: Arc::new(header),
            values,
        }
    } else {
        Fields::Tree(toml_to_json(input))
    }
}

pub fn toml_to_json(t: &toml::Table) -> Value {
    serde_json::to_value(t).unwrap_or(Value::Null)
}

fn pretty(v: &[Value]) -> String {
    v.iter()
        .map(|x| serde_json::to_string_pretty(x).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// `None` when equal; otherwise a unified diff of the pretty-printed records.
pub fn diff(expected: &[Value], actual: &[Value]) -> Option<String> {
    if expected == actual {
        return None;
    }
    let (e, a) = (pretty(expected), pretty(actual));
    let mut out = String::from("--- expected\n+++ actual\n");
    for change in similar::TextDiff::from_lines(&e, &a).iter_all_changes() {
        let sign = match change.tag() {
            similar::ChangeTag::Delete => '-',
            similar::ChangeTag::Insert => '+',
            similar::ChangeTag::Equal => ' ',
        };
        out.push(sign);
        out.push_str(change.value());
        if !change.value().ends_with('\n') {
            out.push('\n');
        }
    }
    Some(out)
}
